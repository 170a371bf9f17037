// SPDX-License-Identifier: GPL-2.0
/*
 * UFFDIO_API: let a userfaultfd context negotiate UFFD_FEATURE_WP_UNPOPULATED
 * (bit 13) and UFFD_FEATURE_WP_ASYNC (bit 15, which implies bit 13, as on
 * 6.7+).
 *
 * Stock kernels reject both bits as unknown.  When the module grants them,
 * the bits are hidden from the original handler, which then does everything else
 * exactly as before (other unknown bits, a second UFFDIO_API, EVENT_FORK
 * permission all fail as they always did), and are recorded in the context's
 * own feature word afterwards.  That word is what fork (EVENT_FORK) copies
 * into a child's context, so inheritance needs no further work.
 */
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "uffd_wpu.h"

static unsigned long wpu_orig_userfaultfd_ioctl;
static long wpu_api_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg);

/* Once the layout check has failed the module never writes a ctx again. */
static bool wpu_ctx_layout_bad;

static unsigned long wpu_ctx_cachep;

const struct wpu_sym wpu_api_syms[] = {
	{ "userfaultfd_ctx_cachep", &wpu_ctx_cachep, .data = true },
};

const unsigned int wpu_api_nr_syms = ARRAY_SIZE(wpu_api_syms);

/*
 * struct userfaultfd_ctx is private to fs/userfaultfd.c; compat.h mirrors
 * it.  Its slab cache knows the real size: a mismatch means this kernel's
 * structure differs from the mirror, and the module must not load.
 */
int wpu_api_check_layout(void)
{
	struct kmem_cache *cache = *(struct kmem_cache **)wpu_ctx_cachep;
	unsigned int size = cache ? kmem_cache_size(cache) : 0;

	if (size == sizeof(struct wpu_uffd_ctx))
		return 0;
	pr_err("struct userfaultfd_ctx is %u bytes on %s, expected %zu; refusing to load\n",
	       size, wpu_kernel_release(), sizeof(struct wpu_uffd_ctx));
	return -ENOEXEC;
}

void wpu_ctx_add_features(struct wpu_uffd_ctx *ctx, unsigned int features)
{
	unsigned int old = READ_ONCE(ctx->features);

	/* Stock code only ever reads the word after UFFDIO_API; be exact anyway. */
	for (;;) {
		unsigned int seen = cmpxchg(&ctx->features, old, old | features);

		if (seen == old)
			return;
		old = seen;
	}
}

/* Lockless: also called from ftrace callbacks. */
bool wpu_ctx_protects_holes(struct wpu_uffd_ctx *ctx)
{
	return (READ_ONCE(ctx->features) & WPU_FEATURE_WP_UNPOPULATED) ||
	       wpu_mm_opted_in(ctx->mm);
}

bool wpu_ctx_wants_holes(struct vm_area_struct *vma)
{
	struct wpu_uffd_ctx *ctx = wpu_compat_vma_ctx(vma);

	return ctx && wpu_ctx_protects_holes(ctx);
}

/*
 * May @ctx have the feature?  Transparent mode, or its mm opted in.  Only
 * the process that created the context (whose mm it serves) may negotiate
 * it; a context handed to another process before UFFDIO_API is refused the
 * bit, which keeps every decision about an mm inside that mm.
 */
static bool wpu_api_grants(struct wpu_uffd_ctx *ctx)
{
	if (!READ_ONCE(wpu_enabled) || READ_ONCE(wpu_ctx_layout_bad))
		return false;
	if (ctx->mm != current->mm)
		return false;
	return READ_ONCE(wpu_transparent) || wpu_mm_opted_in(current->mm);
}

/*
 * The original stored exactly uffd_ctx_features(requested) in the context.
 * Anything else means our mirror of the private structure is wrong for this
 * kernel; then nothing is written and bit 13 is never granted again.
 */
static bool wpu_ctx_layout_ok(struct wpu_uffd_ctx *ctx, u64 requested)
{
	unsigned int expect = (unsigned int)requested | WPU_UFFD_FEATURE_INITIALIZED;

	if (READ_ONCE(ctx->features) == expect && ctx->mm)
		return true;
	WRITE_ONCE(wpu_ctx_layout_bad, true);
	pr_err("struct userfaultfd_ctx layout does not match %s; not granting WP_UNPOPULATED\n",
	       wpu_kernel_release());
	return false;
}

static long wpu_api(struct file *file, unsigned long arg)
{
	struct uffdio_api __user *uapi = (struct uffdio_api __user *)arg;
	struct wpu_uffd_ctx *ctx = file->private_data;
	u64 features, want;
	bool grant;
	long ret;

	grant = wpu_api_grants(ctx);
	if (!grant || get_user(features, &uapi->features))
		return WPU_CALL_ORIG(wpu_orig_userfaultfd_ioctl,
				     wpu_api_ioctl, file, UFFDIO_API, arg);

	want = features & WPU_FEATURES;
	if (want & WPU_FEATURE_WP_ASYNC)
		want |= WPU_FEATURE_WP_UNPOPULATED;
	if (want) {
		/*
		 * The mm must pin the module before any hole can be protected.
		 * A module on its way out (-ENODEV) offers nothing: the
		 * original then answers as a stock kernel does (EINVAL).
		 */
		ret = wpu_track_mm(current->mm);
		if (ret == -ENODEV)
			return WPU_CALL_ORIG(wpu_orig_userfaultfd_ioctl,
					     wpu_api_ioctl, file, UFFDIO_API, arg);
		if (ret)
			return ret;
		features &= ~WPU_FEATURES;
		if (put_user(features, &uapi->features))
			return -EFAULT;
	}

	ret = WPU_CALL_ORIG(wpu_orig_userfaultfd_ioctl, wpu_api_ioctl,
			    file, UFFDIO_API, arg);
	if (ret)
		return ret;	/* the original already zeroed the reply */

	/*
	 * Between the original's cmpxchg and ours another thread could use
	 * the context; a program does not, before UFFDIO_API has returned.
	 */
	if (want) {
		if (!wpu_ctx_layout_ok(ctx, features))
			return -EINVAL;
		wpu_ctx_add_features(ctx, want);
		wpu_count(api_granted);
	}

	/* Advertise the bits the way a native kernel lists all it supports. */
	if (get_user(features, &uapi->features) ||
	    put_user(features | WPU_FEATURES, &uapi->features))
		return -EFAULT;
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
		return WPU_CALL_ORIG(wpu_orig_userfaultfd_ioctl, wpu_api_ioctl,
				     file, UFFDIO_WRITEPROTECT, arg);
	wpu_protect_begin(mm, &req);
	ret = WPU_CALL_ORIG(wpu_orig_userfaultfd_ioctl, wpu_api_ioctl,
			    file, UFFDIO_WRITEPROTECT, arg);
	err = wpu_protect_end(mm, &req);
	mmput(mm);
	return ret ?: err;
}

static long wpu_api_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	long ret;

	wpu_enter();
	if (cmd == UFFDIO_API) {
		ret = wpu_api(file, arg);
	} else if (cmd == UFFDIO_WRITEPROTECT) {
		ret = wpu_writeprotect(file, arg);
	} else {
		if (cmd == UFFDIO_REGISTER)	/* zero-page, huge holes */
			wpu_before_register(file->private_data, arg);
		else if (cmd == UFFDIO_COPY)	/* huge holes */
			wpu_before_copy(file->private_data, arg);
		else if (WPU_RESET)	/* UFFDIO_UNREGISTER (reset.c) */
			wpu_reset_unregister(file, arg);
		ret = WPU_CALL_ORIG(wpu_orig_userfaultfd_ioctl, wpu_api_ioctl,
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
static bool wpu_api_wants(struct pt_regs *regs)
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
	       (WPU_RESET && cmd == UFFDIO_UNREGISTER);
}

struct wpu_hook wpu_api_hooks[] = {
	{
		.name = "userfaultfd_ioctl",
		.wrapper = wpu_api_ioctl,
		.orig = &wpu_orig_userfaultfd_ioctl,
		.wants = wpu_api_wants,
	},
};

const unsigned int wpu_api_nr_hooks = ARRAY_SIZE(wpu_api_hooks);
