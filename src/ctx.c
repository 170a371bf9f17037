// SPDX-License-Identifier: GPL-2.0
/*
 * The userfaultfd context as the module reads it.
 *
 * struct userfaultfd_ctx is private to fs/userfaultfd.c; compat.h mirrors
 * it (struct wpu_uffd_ctx).  This file checks the mirror against the
 * running kernel before anything else uses it, and answers the questions
 * every path asks of a context: does it protect holes, is it WP_ASYNC.
 * All of them are lockless, since ftrace callbacks ask them too.
 */
#include <linux/mm.h>
#include <linux/slab.h>

#include "wpu_kernel.h"

static unsigned long wpu_ctx_cachep;

static const struct wpu_sym wpu_ctx_syms[] = {
	{ "userfaultfd_ctx_cachep", &wpu_ctx_cachep, .data = true },
};

/*
 * The slab cache of the contexts knows the real size: a mismatch means this
 * kernel's structure differs from the mirror, and the module must not load.
 * This is the only layout check, and nothing a program does can influence
 * it.
 */
static int wpu_ctx_check_layout(void)
{
	struct kmem_cache *cache = *(struct kmem_cache **)wpu_ctx_cachep;
	unsigned int size = cache ? kmem_cache_size(cache) : 0;

	if (size == sizeof(struct wpu_uffd_ctx))
		return 0;
	pr_err("struct userfaultfd_ctx is %u bytes on %s, expected %zu; refusing to load\n",
	       size, wpu_kernel_release(), sizeof(struct wpu_uffd_ctx));
	return -ENOEXEC;
}

/* First in main.c's table: every other part may read a context. */
const struct wpu_part wpu_ctx_part = {
	.name = "ctx",
	.syms = wpu_ctx_syms,
	.nr_syms = ARRAY_SIZE(wpu_ctx_syms),
	.check = wpu_ctx_check_layout,
};

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

/*
 * The feature word UFFDIO_API stores for @features (UFFD_FEATURE_* as the
 * user asked, ours included): ours go where compat.h says they are kept.
 */
unsigned int wpu_ctx_word(u64 features)
{
	unsigned int word = (unsigned int)(features & ~(u64)WPU_FEATURES);

	if (features & WPU_FEATURE_WP_UNPOPULATED)
		word |= WPU_CTX_HOLES;
	if (features & WPU_FEATURE_WP_ASYNC)
		word |= WPU_CTX_ASYNC;
	return word | WPU_UFFD_FEATURE_INITIALIZED;
}

/* Lockless: also called from ftrace callbacks. */
bool wpu_ctx_protects_holes(struct wpu_uffd_ctx *ctx)
{
	return (READ_ONCE(ctx->features) & WPU_CTX_HOLES) ||
	       wpu_mm_opted_in(ctx->mm);
}

bool wpu_ctx_wants_holes(struct vm_area_struct *vma)
{
	struct wpu_uffd_ctx *ctx = wpu_compat_vma_ctx(vma);

	return ctx && wpu_ctx_protects_holes(ctx);
}

/* Lockless: the VMA's context cannot change while its mmap_lock is held. */
bool wpu_vma_wp_async(struct vm_area_struct *vma)
{
	struct wpu_uffd_ctx *ctx = wpu_compat_vma_ctx(vma);

	return ctx && (READ_ONCE(ctx->features) & WPU_CTX_ASYNC);
}
