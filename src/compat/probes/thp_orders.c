// SPDX-License-Identifier: GPL-2.0
/*
 * THP eligibility by orders: __thp_vma_allowable_orders(vma, vm_flags,
 * tva_flags, orders) and thp_vma_suitable_order() (6.8+).
 */
#include <linux/mm.h>
#include <linux/huge_mm.h>

unsigned long wpu_probe(struct vm_area_struct *vma);
unsigned long wpu_probe(struct vm_area_struct *vma)
{
	return __thp_vma_allowable_orders(vma, vma->vm_flags,
					  TVA_IN_PF | TVA_ENFORCE_SYSFS,
					  BIT(PMD_ORDER)) +
	       thp_vma_suitable_order(vma, 0, PMD_ORDER);
}
