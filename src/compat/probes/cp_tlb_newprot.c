// SPDX-License-Identifier: GPL-2.0
/* change_protection(tlb, vma, start, end, newprot, cp_flags): 5.19 - 6.1. */
#include <linux/mm.h>

void wpu_probe(struct mmu_gather *tlb, struct vm_area_struct *vma,
	       pgprot_t newprot);
void wpu_probe(struct mmu_gather *tlb, struct vm_area_struct *vma,
	       pgprot_t newprot)
{
	change_protection(tlb, vma, 0, 0, newprot, MM_CP_UFFD_WP);
}
