// SPDX-License-Identifier: GPL-2.0
/*
 * uffd_wp_range(mm, vma, start, len, enable_wp), the form the module calls
 * through a resolved pointer (6.0 - 6.4; later kernels drop the mm).
 */
#include <linux/userfaultfd_k.h>

void wpu_probe(struct mm_struct *mm, struct vm_area_struct *vma);
void wpu_probe(struct mm_struct *mm, struct vm_area_struct *vma)
{
	uffd_wp_range(mm, vma, 0, 0, true);
}
