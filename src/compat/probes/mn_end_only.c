// SPDX-License-Identifier: GPL-2.0
/*
 * __mmu_notifier_invalidate_range_end() takes only_end (until 6.5; 6.6
 * dropped it with the invalidate_range callback).
 */
#include <linux/mmu_notifier.h>

void wpu_probe(struct mmu_notifier_range *range);
void wpu_probe(struct mmu_notifier_range *range)
{
	__mmu_notifier_invalidate_range_end(range, false);
}
