// SPDX-License-Identifier: GPL-2.0
/*
 * mmu_notifier_range_init() takes the VMA (until 6.2); 6.3 dropped the
 * argument (compat.h wpu_mn_range_init()).
 */
#include <linux/mmu_notifier.h>

void wpu_probe(struct mmu_notifier_range *range, struct vm_area_struct *vma);
void wpu_probe(struct mmu_notifier_range *range, struct vm_area_struct *vma)
{
	mmu_notifier_range_init(range, MMU_NOTIFY_CLEAR, 0, vma, vma->vm_mm,
				0, PAGE_SIZE);
}
