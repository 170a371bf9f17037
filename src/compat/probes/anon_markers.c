// SPDX-License-Identifier: GPL-2.0
/* uffd-wp pte markers in anonymous VMAs: what WP_UNPOPULATED needs (6.4). */
#include <linux/mm.h>
#include <linux/userfaultfd_k.h>

bool wpu_probe(struct vm_area_struct *vma);
bool wpu_probe(struct vm_area_struct *vma)
{
	return userfaultfd_wp_use_markers(vma);
}
