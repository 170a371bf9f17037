// SPDX-License-Identifier: GPL-2.0
/*
 * hugepage_vma_check(vma, vm_flags, smaps, in_pf, enforce_sysfs) decides
 * whether a fault may map a THP (6.1; 6.0 and RHEL 9.3 have fewer flags).
 */
#include <linux/mm.h>
#include <linux/huge_mm.h>

bool wpu_probe(struct vm_area_struct *vma);
bool wpu_probe(struct vm_area_struct *vma)
{
	return hugepage_vma_check(vma, vma->vm_flags, false, true, true);
}
