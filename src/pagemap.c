// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/PID/pagemap bit 57 (PM_UFFD_WP) for kernels that lack it (< 5.19).
 *
 * Since 5.19 pagemap reports which pages are uffd-wp protected; snapshot
 * and dirty-tracking tools (and upstream's own selftests) read it.  Older
 * kernels have the bit in their ptes but never report it.  While the module
 * is loaded, pagemap reports it as 5.19+ does, for every process (the bit
 * is always 0 on stock 5.10, so nothing that worked before changes): the
 * original fills the entries of one pmd range, then bit 57 is set on those
 * whose pte (or huge pmd) carries uffd-wp.
 *
 * The pte is read again after the original: a fault in between can make the
 * bit stale, exactly as any pagemap entry can be stale by the time it is read.
 */
#include <linux/huge_mm.h>
#include <linux/mm.h>
#include <linux/pagewalk.h>

#include "wpu_base.h"

#define WPU_PM_UFFD_WP	BIT_ULL(57)

/* fs/proc/task_mmu.c, identical in 4.x - 5.18 */
struct wpu_pagemapread {
	int pos, len;		/* in entries */
	u64 *buffer;
	bool show_pfn;
};

static unsigned long wpu_orig_pagemap_pmd_range;

static bool wpu_pte_uffd_wp(pte_t pte)
{
	if (pte_present(pte))
		return pte_uffd_wp(pte);
	return !pte_none(pte) && pte_swp_uffd_wp(pte);
}

static bool wpu_pmd_uffd_wp(pmd_t pmd)
{
	if (pmd_present(pmd))
		return pmd_uffd_wp(pmd);
	return is_swap_pmd(pmd) && pmd_swp_uffd_wp(pmd);
}

/* Mark the @n entries the original just wrote for [addr, addr + n pages). */
static void wpu_mark_entries(u64 *pme, pmd_t *pmdp, unsigned long addr,
			     int n, struct mm_walk *walk)
{
	pte_t *start_pte, *pte;
	spinlock_t *ptl;	/* of this page table or huge pmd */
	pmd_t pmd;
	int i;

	wpu_mmap_assert_locked(walk->mm);
	/* pmd_trans_huge_lock() calls a helper modules cannot link against. */
	ptl = pmd_lock(walk->mm, pmdp);
	pmd = *pmdp;
	if (pmd_trans_huge(pmd) || is_swap_pmd(pmd) || pmd_devmap(pmd)) {
		if (wpu_pmd_uffd_wp(pmd))
			for (i = 0; i < n; i++)
				pme[i] |= WPU_PM_UFFD_WP;
		spin_unlock(ptl);
		return;
	}
	spin_unlock(ptl);
	/* A page table stays one under mmap_lock (pagemap_read() holds it). */
	if (pmd_none(pmd) || pmd_bad(pmd))
		return;
	start_pte = pte_offset_map_lock(walk->mm, pmdp, addr, &ptl);
	for (i = 0, pte = start_pte; i < n; i++, pte++)
		if (wpu_pte_uffd_wp(*pte))
			pme[i] |= WPU_PM_UFFD_WP;
	pte_unmap_unlock(start_pte, ptl);
}

static int wpu_pagemap_pmd_range(pmd_t *pmdp, unsigned long addr,
				 unsigned long end, struct mm_walk *walk)
{
	struct wpu_pagemapread *pm = walk->private;
	int pos = pm->pos, ret;

	ret = WPU_CALL_ORIG(wpu_orig_pagemap_pmd_range, wpu_pagemap_pmd_range,
			    pmdp, addr, end, walk);
	if (pm->pos > pos)
		wpu_mark_entries(pm->buffer + pos, pmdp, addr, pm->pos - pos,
				 walk);
	wpu_leave();
	return ret;
}

struct wpu_hook wpu_pagemap_hooks[] = {
	{
		.name = "pagemap_pmd_range",
		.wrapper = wpu_pagemap_pmd_range,
		.orig = &wpu_orig_pagemap_pmd_range,
	},
};

const unsigned int wpu_pagemap_nr_hooks = ARRAY_SIZE(wpu_pagemap_hooks);
