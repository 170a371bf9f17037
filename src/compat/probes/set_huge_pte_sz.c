// SPDX-License-Identifier: GPL-2.0
/* set_huge_pte_at() takes the size of the huge page (6.6+). */
#include <linux/mm.h>
#include <linux/hugetlb.h>

void wpu_probe(struct mm_struct *mm, pte_t *ptep, pte_t pte);
void wpu_probe(struct mm_struct *mm, pte_t *ptep, pte_t pte)
{
	set_huge_pte_at(mm, 0, ptep, pte, PMD_SIZE);
}
