// SPDX-License-Identifier: GPL-2.0
/*
 * MADV_DONTNEED over protected holes (marker backend).
 *
 * 6.4+ drops anonymous uffd-wp markers on every zap: for anonymous memory
 * "zapped" means "never touched", and a never-touched page is not
 * protected.  Stock 5.19-6.3 keep markers unless the zap asks for
 * ZAP_FLAG_DROP_MARKER, which munmap/exit do and MADV_DONTNEED
 * (zap_page_range_single() with no details) does not.  Ask for it on
 * anonymous VMAs.  { .even_cows = true } is what "no details" means to the
 * rest of zap_pte_range(), so nothing but the markers changes.
 */
#include <linux/mm.h>

#include "wpu_paths.h"

static unsigned long wpu_orig_zap_page_range_single;

static const struct zap_details wpu_drop_markers = {
	.even_cows = true,
	.zap_flags = ZAP_FLAG_DROP_MARKER,
};

static void wpu_zap_page_range_single(struct vm_area_struct *vma,
				      unsigned long address, unsigned long size,
				      struct zap_details *details)
{
	wpu_count(zap_dropped);
	/* Huge holes partly zapped: as 512 markers, of which some are dropped. */
	wpu_huge_holes_release(vma, address, address + size, false);
	WPU_CALL_ORIG(wpu_orig_zap_page_range_single, wpu_zap_page_range_single,
		      vma, address, size, (struct zap_details *)&wpu_drop_markers);
	wpu_leave();
}

/*
 * Only detail-less zaps of anonymous VMAs that can hold our markers: the
 * mm is tracked (stale markers may outlive a registration there).
 */
static bool wpu_zap_wants(struct pt_regs *regs)
{
	struct vm_area_struct *vma = (void *)regs_get_kernel_argument(regs, 0);

	return !regs_get_kernel_argument(regs, 3) && vma_is_anonymous(vma) &&
	       wpu_mm_tracked(vma->vm_mm);
}

static struct wpu_hook wpu_zap_hooks[] = {
	{
		.name = "zap_page_range_single",
		.wrapper = wpu_zap_page_range_single,
		.orig = &wpu_orig_zap_page_range_single,
		.wants = wpu_zap_wants,
	},
};

static bool wpu_zap_needed(void)
{
	return wpu_markers();
}

const struct wpu_part wpu_zap_part = {
	.name = "zap",
	.hooks = wpu_zap_hooks,
	.nr_hooks = ARRAY_SIZE(wpu_zap_hooks),
	.needed = wpu_zap_needed,
};
