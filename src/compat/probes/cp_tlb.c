// SPDX-License-Identifier: GPL-2.0
/* change_protection(tlb, vma, start, end, cp_flags): 6.2+. */
#include <linux/mm.h>

void wpu_probe(struct mmu_gather *tlb, struct vm_area_struct *vma);
void wpu_probe(struct mmu_gather *tlb, struct vm_area_struct *vma)
{
	change_protection(tlb, vma, 0, 0, MM_CP_UFFD_WP);
}
