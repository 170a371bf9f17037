// SPDX-License-Identifier: GPL-2.0
/* huge_ptep_get() takes the mm and the address (6.11+). */
#include <linux/mm.h>
#include <linux/hugetlb.h>

pte_t wpu_probe(struct mm_struct *mm, pte_t *ptep);
pte_t wpu_probe(struct mm_struct *mm, pte_t *ptep)
{
	return huge_ptep_get(mm, 0, ptep);
}
