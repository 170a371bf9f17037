// SPDX-License-Identifier: GPL-2.0
/* Required: userfaultfd write-protect of anonymous memory (5.7). */
#include <linux/mm.h>
#include <linux/userfaultfd_k.h>

bool wpu_probe(struct vm_area_struct *vma, pte_t pte);
bool wpu_probe(struct vm_area_struct *vma, pte_t pte)
{
	return userfaultfd_wp(vma) && pte_uffd_wp(pte) &&
	       UFFDIO_WRITEPROTECT && UFFD_FEATURE_PAGEFAULT_FLAG_WP;
}
