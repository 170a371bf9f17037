// SPDX-License-Identifier: GPL-2.0
/* The huge zero page is a folio: mm_get_huge_zero_folio() (6.10+). */
#include <linux/mm.h>
#include <linux/huge_mm.h>

struct folio *wpu_probe(struct mm_struct *mm);
struct folio *wpu_probe(struct mm_struct *mm)
{
	return mm_get_huge_zero_folio(mm);
}
