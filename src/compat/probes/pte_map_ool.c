// SPDX-License-Identifier: GPL-2.0
/*
 * pte_offset_map() and pte_offset_map_lock() are out of line and may fail
 * (6.5+): __pte_offset_map_lock() is not exported.
 */
#include <linux/mm.h>

pte_t *wpu_probe(struct mm_struct *mm, pmd_t *pmd, spinlock_t **ptlp);
pte_t *wpu_probe(struct mm_struct *mm, pmd_t *pmd, spinlock_t **ptlp)
{
	return __pte_offset_map_lock(mm, pmd, 0, ptlp) ?:
	       __pte_offset_map(pmd, 0, NULL);
}
