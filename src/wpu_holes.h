/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uffd_wpu layer 2, the engines: huge holes and the hole entry
 * (hugehole.c), filling and clearing holes (holes.c), and PAGEMAP_SCAN
 * (scan.c), in that order: each of them calls only the ones before it, and
 * layers 0 and 1.  The layer map is src/README.
 */
#ifndef WPU_HOLES_H
#define WPU_HOLES_H

#include "wpu_kernel.h"

/* hugehole.c */
extern const struct wpu_part wpu_huge_part;
pte_t wpu_hole_pte(struct vm_area_struct *vma, unsigned long addr);
bool wpu_huge_available(void);
bool wpu_huge_holes_seen(void);
bool wpu_is_huge_zero_pmd(pmd_t pmd);
bool wpu_huge_eligible(struct vm_area_struct *vma);
pmd_t *wpu_pmd_lookup(struct mm_struct *mm, unsigned long addr);
bool wpu_huge_hole_release(struct vm_area_struct *vma, pmd_t *pmd,
			   pmd_t pmdval, unsigned long addr, unsigned long next,
			   bool keep);
int wpu_huge_hole_install(struct vm_area_struct *vma, pmd_t *pmd,
			  unsigned long haddr, pgtable_t *table);
void wpu_huge_free_table(struct mm_struct *mm, pgtable_t table);
void wpu_huge_holes_release(struct vm_area_struct *vma, unsigned long addr,
			    unsigned long end, bool keep);

/* holes.c */
bool wpu_holes_change_protection(struct vm_area_struct *vma,
				 unsigned long start, unsigned long end,
				 unsigned long cp_flags);
bool wpu_clear_holes(struct vm_area_struct *vma, unsigned long addr,
		     unsigned long end);
void wpu_after_register(struct wpu_uffd_ctx *ctx,
			const struct uffdio_register *seen, unsigned long arg);
void wpu_before_copy(struct wpu_uffd_ctx *ctx, unsigned long arg);
int wpu_holes_prepare(struct vm_area_struct *vma);
bool wpu_hole_entry(struct vm_area_struct *vma, unsigned long addr,
		    pte_t *entry);
int wpu_protect_unpopulated(struct vm_area_struct *vma, unsigned long addr,
			    unsigned long end);

/* scan.c */
long wpu_pagemap_scan(struct mm_struct *mm, unsigned long uarg);

#endif /* WPU_HOLES_H */
