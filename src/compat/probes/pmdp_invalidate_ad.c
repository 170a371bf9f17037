// SPDX-License-Identifier: GPL-2.0
/* pmdp_invalidate_ad() keeps accessed/dirty of a THP being changed (5.18). */
#include <linux/mm.h>
#include <linux/pgtable.h>

pmd_t wpu_probe(struct vm_area_struct *vma, pmd_t *pmdp);
pmd_t wpu_probe(struct vm_area_struct *vma, pmd_t *pmdp)
{
	return pmdp_invalidate_ad(vma, 0, pmdp);
}
