// SPDX-License-Identifier: GPL-2.0
/*
 * The two /proc/PID/pagemap hooks.
 *
 * pagemap_open(): PAGEMAP_SCAN (Linux 6.7).  Stock kernels before 6.7 give
 * pagemap files no ioctl handler at all, so ioctl(2) ends in -ENOTTY; a
 * later one built without uffd-wp markers has its own, without WP_ASYNC.
 * Every pagemap file opened while the module is loaded gets ours instead:
 * the open is taken here (pagemap_open(), reached by nothing but opens of
 * /proc/PID/pagemap) and the file's operations are replaced by a copy of
 * the kernel's own plus an ioctl handler, the way a driver's open() uses
 * replace_fops().  No other ioctl of the system passes through the module.
 * Each such file holds a reference on the module until it is closed.  The
 * scan itself is scan.c's.
 *
 * pagemap_pmd_range(): bit 57 (PM_UFFD_WP) for kernels that lack it (< 5.13).
 *
 * Since 5.13 pagemap reports which pages are uffd-wp protected; snapshot
 * and dirty-tracking tools (and upstream's own selftests) read it.  Older
 * kernels have the bit in their ptes but never report it.  While the module
 * is loaded, pagemap reports it as 5.13+ does, for every process (the bit
 * is always 0 on stock 5.10, so nothing that worked before changes): the
 * original fills the entries of one pmd range, then bit 57 is set on those
 * whose pte (or huge pmd) carries uffd-wp.
 *
 * The pte is read again after the original: a fault in between can make the
 * bit stale, exactly as any pagemap entry can be stale by the time it is read.
 */
#include <linux/fs.h>
#include <linux/huge_mm.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagewalk.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "wpu_paths.h"

#define WPU_PM_UFFD_WP	BIT_ULL(57)

static unsigned long wpu_orig_pagemap_open;
/* The kernel's pagemap operations plus an ioctl (wpu_pagemap_init()). */
static const struct file_operations *wpu_pagemap_fops_ioctl;

/* --- PAGEMAP_SCAN: pagemap_open() ----------------------------------------- */

/*
 * Offered where UFFDIO_API would offer WP_ASYNC (to the scanned mm, or to
 * the scanning one), and always for an mm that already has a context with
 * a granted feature: switching the module off must not break it.
 */
static bool wpu_scan_offered(struct mm_struct *mm)
{
	if (mm && wpu_mm_tracked(mm))
		return true;
	if (!READ_ONCE(wpu_enabled))
		return false;
	return READ_ONCE(wpu_transparent) || (mm && wpu_mm_opted_in(mm)) ||
	       (current->mm && wpu_mm_opted_in(current->mm));
}

/*
 * Not a wrapper: the file holds the module (wpu_pagemap_open()).  A kernel
 * that has an ioctl of its own (6.7+, or one built without uffd-wp markers
 * and so without WP_ASYNC) answers whatever we do not: its PAGEMAP_SCAN
 * cannot write-protect in the contexts we serve, whose WP_ASYNC is ours.
 */
static long wpu_pagemap_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	const struct file_operations *own = wpu_kc.proc_pagemap_operations;

	if (cmd == PAGEMAP_SCAN && wpu_scan_offered(file->private_data))
		return wpu_pagemap_scan(file->private_data, arg);
	if (own->unlocked_ioctl)
		return own->unlocked_ioctl(file, cmd, arg);
	if (!wpu_scan_offered(file->private_data))
		return -ENOTTY;	/* what stock says */
	return -EINVAL;
}

/* The kernel's pagemap operations, plus the ioctl: see the top of the file. */
int wpu_pagemap_init(void)
{
	struct file_operations *f;

	f = kmemdup(wpu_kc.proc_pagemap_operations, sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	f->owner = THIS_MODULE;
	f->unlocked_ioctl = wpu_pagemap_ioctl;
	/* No pointers in the ABI, and the kernel's own handles both alike. */
	f->compat_ioctl = wpu_pagemap_ioctl;
	wpu_pagemap_fops_ioctl = f;
	return 0;
}

/*
 * Every file that used them held a reference on the module, so none is
 * left on unload; a load that failed never gave them out.
 */
void wpu_pagemap_exit(void)
{
	kfree(wpu_pagemap_fops_ioctl);
}

static int wpu_pagemap_open(struct inode *inode, struct file *file)
{
	int ret;

	ret = WPU_CALL_ORIG(wpu_orig_pagemap_open, wpu_pagemap_open,
			    inode, file);
	/*
	 * Only what the kernel set up is replaced, and not while the module
	 * is going; a wrapper runs only once the load cannot fail any more
	 * (hooks.c), so no file gets these operations from a failed load.
	 * The reference taken here is the one fput() drops (fops_put() of
	 * the file's operations); the kernel's own need none.
	 */
	if (!ret && file->f_op == wpu_kc.proc_pagemap_operations &&
	    try_module_get(THIS_MODULE))
		file->f_op = wpu_pagemap_fops_ioctl;
	wpu_leave();
	return ret;
}

static struct wpu_hook wpu_pagemap_open_hooks[] = {
	{
		.name = "pagemap_open",
		.wrapper = wpu_pagemap_open,
		.orig = &wpu_orig_pagemap_open,
	},
};

const struct wpu_part wpu_pagemap_open_part = {
	.name = "pagemap_open",
	.hooks = wpu_pagemap_open_hooks,
	.nr_hooks = ARRAY_SIZE(wpu_pagemap_open_hooks),
};

/* --- bit 57: pagemap_pmd_range() ------------------------------------------ */

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
	if (!start_pte)
		return;
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

static struct wpu_hook wpu_pagemap_bit57_hooks[] = {
	{
		.name = "pagemap_pmd_range",
		.wrapper = wpu_pagemap_pmd_range,
		.orig = &wpu_orig_pagemap_pmd_range,
	},
};

static bool wpu_pagemap_bit57_needed(void)
{
	return WPU_PAGEMAP;
}

const struct wpu_part wpu_pagemap_bit57_part = {
	.name = "pagemap_bit57",
	.hooks = wpu_pagemap_bit57_hooks,
	.nr_hooks = ARRAY_SIZE(wpu_pagemap_bit57_hooks),
	.needed = wpu_pagemap_bit57_needed,
};
