// SPDX-License-Identifier: GPL-2.0
/* change_protection(vma, start, end, newprot, cp_flags): 5.7 - 5.18. */
#include <linux/mm.h>

void wpu_probe(struct vm_area_struct *vma, pgprot_t newprot);
void wpu_probe(struct vm_area_struct *vma, pgprot_t newprot)
{
	change_protection(vma, 0, 0, newprot, MM_CP_UFFD_WP);
}
