// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel functions and data a module cannot link against, resolved by name
 * at load (hooks.c) and called through the typed pointers of wpu_kc.  This
 * part holds every such symbol that each load needs; a part whose symbols
 * are optional or needed only on some kernels carries them itself
 * (hugehole.c, fault.c, reset.c), and so does ctx.c, whose one symbol goes
 * with the layout check.  Resolved once during init, read-only after.
 *
 * Also the small helpers around them that several files share: the
 * p?d_alloc() inlines, anon_vma_prepare(), splitting a THP pmd, flushing a
 * TLB range, and the mmu notifier range calls.
 */
#include <linux/huge_mm.h>
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/pagewalk.h>
#include <linux/rmap.h>

#include "wpu_kernel.h"

struct wpu_kcall wpu_kc __ro_after_init;

/* Resolved on 6.5+ only (compat.h, "mapping a page table"). */
pte_t *(*wpu_compat_pte_map_fn)(pmd_t *pmd, unsigned long addr,
				pmd_t *pmdvalp) __ro_after_init;
pte_t *(*wpu_compat_pte_map_lock_fn)(struct mm_struct *mm, pmd_t *pmd,
				     unsigned long addr,
				     spinlock_t **ptlp) __ro_after_init;

/* The resolver stores an address; the field is a pointer of that size. */
#define WPU_KC(field)	((unsigned long *)&wpu_kc.field)

static const struct wpu_sym wpu_kcall_syms[] = {
	/* page tables (holes.c) */
	{ "__p4d_alloc", WPU_KC(__p4d_alloc), !WPU_HAVE_P4D_ALLOC },
	{ "__pud_alloc", WPU_KC(__pud_alloc) },
	{ "__pmd_alloc", WPU_KC(__pmd_alloc) },
	{ "__pte_alloc", WPU_KC(__pte_alloc) },
	WPU_PTE_MAP_SYMS
	{ "__anon_vma_prepare", WPU_KC(__anon_vma_prepare) },
	{ "__split_huge_pmd", WPU_KC(__split_huge_pmd) },
	{ "flush_tlb_mm_range", WPU_KC(flush_tlb_mm_range) },
	{ "__mmu_notifier_invalidate_range_start", WPU_KC(invalidate_range_start) },
	{ "__mmu_notifier_invalidate_range_end", WPU_KC(invalidate_range_end) },
	/* WP_ASYNC on hugetlb (async.c) */
	{ "huge_pte_offset", WPU_KC(huge_pte_offset) },
	/* PAGEMAP_SCAN (scan.c, pagemap.c) */
	{ "proc_pagemap_operations", WPU_KC(proc_pagemap_operations), .data = true },
	{ "walk_page_range", WPU_KC(walk_page_range) },
	{ "vm_normal_page", WPU_KC(vm_normal_page) },
	{ "vm_normal_page_pmd", WPU_KC(vm_normal_page_pmd) },
	{ WPU_PMDP_INVALIDATE, WPU_KC(pmdp_invalidate) },
	{ "uffd_wp_range", WPU_KC(uffd_wp_range), !WPU_HAVE_UFFD_WP_RANGE },
};

const struct wpu_part wpu_kcall_part = {
	.name = "kcall",
	.syms = wpu_kcall_syms,
	.nr_syms = ARRAY_SIZE(wpu_kcall_syms),
};

void wpu_split_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd,
			unsigned long addr)
{
	wpu_kc.__split_huge_pmd(vma, pmd, addr, false, NULL);
}

/* flush_tlb_range(), entries of 1 << stride_shift bytes, no table freed */
void wpu_flush_tlb_range(struct mm_struct *mm, unsigned long start,
			 unsigned long end, unsigned int stride_shift)
{
	wpu_kc.flush_tlb_mm_range(mm, start, end, stride_shift, false);
}

/*
 * mmu_notifier_invalidate_range_start()/_end() for a blocking caller.  The
 * notifier list cannot change between the two: registering one takes the
 * mmap_lock for write, and every caller holds it.
 */
void wpu_mn_start(struct mmu_notifier_range *range)
{
	wpu_mmap_assert_locked(range->mm);
	if (!mm_has_notifiers(range->mm))
		return;
	range->flags |= MMU_NOTIFIER_RANGE_BLOCKABLE;
	wpu_kc.invalidate_range_start(range);
}

void wpu_mn_end(struct mmu_notifier_range *range)
{
	if (mm_has_notifiers(range->mm))
		wpu_compat_mn_end(wpu_kc.invalidate_range_end, range);
}

/* The p?d_alloc() inlines, calling the resolved allocators. */
pmd_t *wpu_pmd_alloc(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;

	if (WPU_HAVE_P4D_ALLOC && unlikely(pgd_none(*pgd)) &&
	    wpu_kc.__p4d_alloc(mm, pgd, addr))
		return NULL;
	p4d = p4d_offset(pgd, addr);
	if (unlikely(p4d_none(*p4d)) && wpu_kc.__pud_alloc(mm, p4d, addr))
		return NULL;
	pud = pud_offset(p4d, addr);
	if (unlikely(pud_none(*pud)) && wpu_kc.__pmd_alloc(mm, pud, addr))
		return NULL;
	return pmd_offset(pud, addr);
}

int wpu_pte_alloc(struct mm_struct *mm, pmd_t *pmd)
{
	return unlikely(pmd_none(*pmd)) && wpu_kc.__pte_alloc(mm, pmd) ?
	       -ENOMEM : 0;
}

/* anon_vma_prepare(), whose slow part is not exported: 0 or -ENOMEM. */
int wpu_anon_vma_prepare(struct vm_area_struct *vma)
{
	if (likely(vma->anon_vma))
		return 0;
	return wpu_kc.__anon_vma_prepare(vma) ? -ENOMEM : 0;
}
