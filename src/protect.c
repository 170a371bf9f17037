// SPDX-License-Identifier: GPL-2.0
/*
 * The change_protection() hook: UFFDIO_WRITEPROTECT over holes.
 *
 * A protect request fills the holes of the range before the original runs,
 * an unprotect request clears them (holes.c says how and why in that
 * order); when only holes were there, the original is skipped.  Both map
 * the THPs of the range by ptes first, for the original's sake (holes.c).
 */
#include <linux/mm.h>

#include "wpu_paths.h"

static unsigned long wpu_orig_change_protection;

static wpu_cp_ret_t wpu_change_protection(WPU_CP_PARAMS)
{
	wpu_cp_ret_t ret = 0;

	if (wpu_holes_change_protection(vma, start, end, cp_flags))
		ret = WPU_CALL_ORIG(wpu_orig_change_protection,
				    wpu_change_protection, WPU_CP_ARGS);
	wpu_leave();
	return ret;
}

/*
 * Only uffd-wp requests (protect and unprotect) leave the original;
 * mprotect() and NUMA hinting are not ours.
 */
static bool wpu_cp_wants(struct pt_regs *regs)
{
	unsigned long flags = regs_get_kernel_argument(regs, WPU_CP_ARG_FLAGS);

	return flags & (MM_CP_UFFD_WP | MM_CP_UFFD_WP_RESOLVE);
}

static struct wpu_hook wpu_protect_hooks[] = {
	{
		.name = "change_protection",
		.wrapper = wpu_change_protection,
		.orig = &wpu_orig_change_protection,
		.wants = wpu_cp_wants,
	},
};

const struct wpu_part wpu_protect_part = {
	.name = "protect",
	.hooks = wpu_protect_hooks,
	.nr_hooks = ARRAY_SIZE(wpu_protect_hooks),
};
