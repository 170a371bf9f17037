// SPDX-License-Identifier: GPL-2.0
/*
 * The dup_userfaultfd_complete() hook: fork children of an mm that uses
 * the module.
 *
 * A child that may hold protected holes (stock fork copied its parent's)
 * must be tracked, and so pin the module, before it can run: the invariant
 * of track.c.  A child whose parent's context protects holes because the
 * parent opted in gets the feature bit in its own context instead, as a
 * negotiated bit is copied by fork.
 */
#include <linux/list.h>
#include <linux/sched/mm.h>

#include "wpu_paths.h"

/*
 * The parent of @fctx may hold holes (it protected some, or inherited
 * some): stock fork copies them into the child wherever the child's VMA
 * stays uffd-wp registered.  Lockless, also called from the ftrace callback.
 */
static bool wpu_fork_copies_holes(struct wpu_uffd_fork_ctx *fctx)
{
	return wpu_mm_may_hold_holes(fctx->orig->mm);
}

/*
 * The parent context protects holes because its mm opted in: its child
 * gets the feature bit instead, as a negotiated bit is copied by fork.
 */
static bool wpu_fork_carries_optin(struct wpu_uffd_fork_ctx *fctx)
{
	return !(READ_ONCE(fctx->orig->features) & WPU_CTX_HOLES) &&
	       wpu_mm_opted_in(fctx->orig->mm);
}

/*
 * A WP_ASYNC context is used with PAGEMAP_SCAN, which is offered to a
 * tracked mm whatever the module's toggles say by then: its child must
 * not lose that because it has not protected anything yet.
 */
static bool wpu_fork_async(struct wpu_uffd_fork_ctx *fctx)
{
	return READ_ONCE(fctx->orig->features) & WPU_CTX_ASYNC;
}

static bool wpu_fork_matters(struct wpu_uffd_fork_ctx *fctx)
{
	return fctx->new && (wpu_fork_copies_holes(fctx) ||
			     wpu_fork_carries_optin(fctx) ||
			     wpu_fork_async(fctx));
}

/*
 * fork() with UFFD_FEATURE_EVENT_FORK lists the child's new contexts here,
 * after dup_mmap() copied the page tables and dropped the mmap locks, and
 * before the child can run.  Without EVENT_FORK (the parent's contexts are
 * then not on the list) no hole needs the module in the child: its VMAs
 * lose the registration, stock fork drops markers there (6.1:
 * copy_nonpresent_pte()), and a zero-page hole (5.10) is copied as a
 * read-only zero page, which stock code handles in an unregistered VMA.
 */
static unsigned long wpu_orig_dup_complete;

static void wpu_dup_userfaultfd_complete(struct list_head *fcs)
{
	struct wpu_uffd_fork_ctx *fctx;

	list_for_each_entry(fctx, fcs, list) {
		if (!fctx->new)
			continue;
		if (wpu_fork_carries_optin(fctx))
			wpu_ctx_add_features(fctx->new, WPU_CTX_HOLES);
		if (wpu_fork_copies_holes(fctx))
			wpu_track_child(fctx->new->mm, true);
		else if (wpu_fork_async(fctx))
			wpu_track_child(fctx->new->mm, false);
	}
	WPU_CALL_ORIG(wpu_orig_dup_complete, wpu_dup_userfaultfd_complete, fcs);
	wpu_leave();
}

/*
 * Only forks of an mm that may hold holes or is opted in, or of a WP_ASYNC
 * context (which only the module grants, to a tracked mm), enter the
 * wrapper; every other fork, EVENT_FORK or not, stays in the original
 * (which may sleep until the monitor reads the fork event).  The list is
 * the forking task's own, built by dup_mmap().
 */
static bool wpu_dup_complete_wants(struct pt_regs *regs)
{
	struct list_head *fcs = (void *)regs_get_kernel_argument(regs, 0);
	struct wpu_uffd_fork_ctx *fctx;

	list_for_each_entry(fctx, fcs, list)
		if (wpu_fork_matters(fctx))
			return true;
	return false;
}

static struct wpu_hook wpu_fork_hooks[] = {
	{
		.name = "dup_userfaultfd_complete",
		.wrapper = wpu_dup_userfaultfd_complete,
		.orig = &wpu_orig_dup_complete,
		.wants = wpu_dup_complete_wants,
	},
};

const struct wpu_part wpu_fork_part = {
	.name = "fork",
	.hooks = wpu_fork_hooks,
	.nr_hooks = ARRAY_SIZE(wpu_fork_hooks),
};
