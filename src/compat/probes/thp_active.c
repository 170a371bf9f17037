// SPDX-License-Identifier: GPL-2.0
/* transparent_hugepage_active(vma): the THP check before hugepage_vma_check(). */
#include <linux/mm.h>
#include <linux/huge_mm.h>

bool wpu_probe(struct vm_area_struct *vma);
bool wpu_probe(struct vm_area_struct *vma)
{
	return transparent_hugepage_active(vma);
}
