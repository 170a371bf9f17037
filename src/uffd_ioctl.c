// SPDX-License-Identifier: GPL-2.0
/*
 * The userfaultfd_ioctl() hook.
 *
 * UFFDIO_API: let a userfaultfd context negotiate UFFD_FEATURE_WP_UNPOPULATED
 * (bit 13) and UFFD_FEATURE_WP_ASYNC (bit 15, which implies bit 13, as on
 * 6.7+).
 *
 * Stock kernels reject both bits as unknown.  For a context that may have
 * them the whole call is answered here, as 6.7+ answers it: the stock
 * handler would read the user's structure a second time, and another
 * thread could change it in between.  One read, one decision, one cmpxchg
 * of the context's feature word.  That word is what fork (EVENT_FORK)
 * copies into a child's context, so inheritance needs no further work.
 * Contexts that may not have the bits go to the stock handler untouched.
 *
 * The other commands are only bracketed: UFFDIO_WRITEPROTECT passes the
 * protect pass's error on (track.c), UFFDIO_REGISTER and UFFDIO_COPY let
 * holes.c follow up, UFFDIO_UNREGISTER lets reset.c reset.
 */
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "wpu_paths.h"

static unsigned long wpu_orig_userfaultfd_ioctl;
static long wpu_userfaultfd_ioctl(struct file *file, unsigned int cmd,
				  unsigned long arg);

/*
 * May @ctx have the feature?  Transparent mode, or its mm opted in.  Only
 * the process that created the context (whose mm it serves) may negotiate
 * it; a context handed to another process before UFFDIO_API is refused the
 * bit, which keeps every decision about an mm inside that mm.  ctx->mm is
 * written by the kernel alone: a mirror that misplaced it would fail this
 * test, and the call would be stock's.
 */
static bool wpu_api_grants(struct wpu_uffd_ctx *ctx)
{
	if (!READ_ONCE(wpu_enabled))
		return false;
	if (ctx->mm != current->mm)
		return false;
	return READ_ONCE(wpu_transparent) || wpu_mm_opted_in(current->mm);
}

/*
 * The answer to a failed UFFDIO_API is a zeroed structure, as stock gives.
 */
static long wpu_api_fail(struct uffdio_api __user *uapi, long err)
{
	struct uffdio_api zero = {};

	return copy_to_user(uapi, &zero, sizeof(zero)) ? -EFAULT : err;
}

/*
 * The checks and their order are those of 6.7+ userfaultfd_api(); the
 * features other than ours are what this kernel's stock handler accepts.
 * Returns -ENODEV when the module is on its way out: the caller then lets
 * the stock handler answer, as a kernel without the module would.
 */
static long wpu_api(struct wpu_uffd_ctx *ctx, struct uffdio_api __user *uapi)
{
	u64 offered = wpu_compat_api_features() | WPU_FEATURES;
	struct uffdio_api api;
	u64 features;
	long ret;

	if (copy_from_user(&api, uapi, sizeof(api)))
		return -EFAULT;
	features = api.features;
	if (api.api != UFFD_API)
		return wpu_api_fail(uapi, -EINVAL);
	if ((features & UFFD_FEATURE_EVENT_FORK) && !capable(CAP_SYS_PTRACE))
		return wpu_api_fail(uapi, -EPERM);
	if (features & WPU_FEATURE_WP_ASYNC)
		features |= WPU_FEATURE_WP_UNPOPULATED;
	if (features & ~offered)
		return wpu_api_fail(uapi, -EINVAL);

	/* The mm must pin the module before any hole can be protected. */
	if (features & WPU_FEATURES) {
		ret = wpu_track_mm(current->mm);
		if (ret)
			return ret;
	}

	api.features = offered;
	api.ioctls = UFFD_API_IOCTLS;
	if (copy_to_user(uapi, &api, sizeof(api)))
		return -EFAULT;
	/* A second UFFDIO_API, or another thread's won: stock's EINVAL. */
	if (cmpxchg(&ctx->features, 0, wpu_ctx_word(features)))
		return wpu_api_fail(uapi, -EINVAL);
	if (features & WPU_FEATURES)
		wpu_count(api_granted);
	return 0;
}

/* UFFDIO_WRITEPROTECT of a context that protects holes: pass errors on. */
static long wpu_writeprotect(struct file *file, unsigned long arg)
{
	struct wpu_uffd_ctx *ctx = file->private_data;
	struct mm_struct *mm = ctx->mm;
	struct wpu_protect_req req;
	long ret, err;

	if (!mmget_not_zero(mm))
		return WPU_CALL_ORIG(wpu_orig_userfaultfd_ioctl, wpu_userfaultfd_ioctl,
				     file, UFFDIO_WRITEPROTECT, arg);
	wpu_protect_begin(mm, &req);
	ret = WPU_CALL_ORIG(wpu_orig_userfaultfd_ioctl, wpu_userfaultfd_ioctl,
			    file, UFFDIO_WRITEPROTECT, arg);
	err = wpu_protect_end(mm, &req);
	mmput(mm);
	return ret ?: err;
}

/*
 * UFFDIO_REGISTER: a MISSING registration over protected holes is followed
 * up only after the original (holes.c), and only in VMAs it really made
 * MISSING: a registration it rejects leaves the holes as they are, one
 * that fails part-way (-ENOMEM splitting, -EFAULT writing the answer) is
 * followed up where it got.  The argument as read before the call goes
 * along, in case another thread changes it meanwhile.
 */
static long wpu_register(struct file *file, unsigned long arg)
{
	struct uffdio_register seen;
	bool have;
	long ret;

	have = !copy_from_user(&seen, (void __user *)arg, sizeof(seen));
	ret = WPU_CALL_ORIG(wpu_orig_userfaultfd_ioctl, wpu_userfaultfd_ioctl,
			    file, UFFDIO_REGISTER, arg);
	if (have)
		wpu_after_register(file->private_data, &seen, arg);
	return ret;
}

/*
 * UFFDIO_UNREGISTER (reset.c): note before, reset after, and only what the
 * original really unregistered, also when it failed part-way.
 */
static long wpu_unregister(struct file *file, unsigned long arg)
{
	struct uffdio_range span;
	bool reset;
	long ret;

	reset = wpu_unregister_begin(file->private_data, arg, &span);
	ret = WPU_CALL_ORIG(wpu_orig_userfaultfd_ioctl, wpu_userfaultfd_ioctl,
			    file, UFFDIO_UNREGISTER, arg);
	if (reset)
		wpu_unregister_end(file->private_data, &span);
	return ret;
}

static long wpu_userfaultfd_ioctl(struct file *file, unsigned int cmd,
				  unsigned long arg)
{
	struct wpu_uffd_ctx *ctx = file->private_data;
	long ret;

	if (cmd == UFFDIO_API) {
		ret = wpu_api_grants(ctx) ?
		      wpu_api(ctx, (void __user *)arg) : -ENODEV;
		if (ret == -ENODEV)	/* stock's answer */
			ret = WPU_CALL_ORIG(wpu_orig_userfaultfd_ioctl,
					    wpu_userfaultfd_ioctl, file, cmd, arg);
	} else if (cmd == UFFDIO_WRITEPROTECT) {
		ret = wpu_writeprotect(file, arg);
	} else if (cmd == UFFDIO_REGISTER) {	/* zero-page, huge holes */
		ret = wpu_register(file, arg);
	} else if (WPU_RESET_UNREGISTER && cmd == UFFDIO_UNREGISTER) {
		ret = wpu_unregister(file, arg);
	} else {
		if (cmd == UFFDIO_COPY)		/* huge holes */
			wpu_before_copy(ctx, arg);
		ret = WPU_CALL_ORIG(wpu_orig_userfaultfd_ioctl, wpu_userfaultfd_ioctl,
				    file, cmd, arg);
	}
	wpu_leave();
	return ret;
}

/*
 * Only UFFDIO_API, UFFDIO_WRITEPROTECT of contexts that protect holes
 * (and their UFFDIO_COPY once huge holes exist), UFFDIO_REGISTER with the
 * zero-page backend or huge holes, and UFFDIO_UNREGISTER where reset.c is
 * needed, leave the original: every other command never sees us.
 */
static bool wpu_uffd_ioctl_wants(struct pt_regs *regs)
{
	unsigned int cmd = regs_get_kernel_argument(regs, 1);

	if (cmd == UFFDIO_WRITEPROTECT ||
	    (cmd == UFFDIO_COPY && wpu_huge_holes_seen())) {
		struct file *file = (void *)regs_get_kernel_argument(regs, 0);

		return wpu_ctx_protects_holes(file->private_data);
	}
	return cmd == UFFDIO_API ||
	       (cmd == UFFDIO_REGISTER &&
		(!wpu_markers() || wpu_huge_holes_seen())) ||
	       (WPU_RESET_UNREGISTER && cmd == UFFDIO_UNREGISTER);
}

static struct wpu_hook wpu_uffd_ioctl_hooks[] = {
	{
		.name = "userfaultfd_ioctl",
		.wrapper = wpu_userfaultfd_ioctl,
		.orig = &wpu_orig_userfaultfd_ioctl,
		.wants = wpu_uffd_ioctl_wants,
	},
};

/* Last in main.c's table: granting the feature is what makes holes appear. */
const struct wpu_part wpu_uffd_ioctl_part = {
	.name = "uffd_ioctl",
	.hooks = wpu_uffd_ioctl_hooks,
	.nr_hooks = ARRAY_SIZE(wpu_uffd_ioctl_hooks),
};
