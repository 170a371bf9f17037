// SPDX-License-Identifier: GPL-2.0
/*
 * UFFDIO_UNREGISTER and close() reset write protection (kernels < 5.19).
 *
 * Since 6.0 the kernel clears uffd-wp from every pte of a range that stops
 * being write-protect registered.  Older kernels only drop the registration
 * and leave the bits (and our zero-page holes) behind: registering the range
 * again then reports writes nobody protected, and a snapshot tool that
 * reuses the range sees faults that are not its own.  For contexts that use
 * the module, do what 6.0+ does: on close just before the original runs,
 * on UNREGISTER just after it, where it really unregistered.
 *
 * The same holds for mremap() of a range whose context did not ask for
 * UFFD_FEATURE_EVENT_REMAP: the moved range loses its registration, and
 * 6.0+ (and Debian's 6.1) clears its uffd-wp state with it.
 *
 * Built only where the kernel does not reset by itself and change_protection()
 * still takes no mmu_gather (5.7 - 5.18).
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>

#include "wpu_paths.h"

static unsigned long wpu_orig_userfaultfd_release;
static unsigned long wpu_orig_mremap_prep;
static unsigned long wpu_change_protection_fn;

static const struct wpu_sym wpu_reset_syms[] = {
	{ "change_protection", &wpu_change_protection_fn },
};

/* What UFFDIO_WRITEPROTECT with mode 0 does to the range. */
static void wpu_reset_wp(struct vm_area_struct *vma, unsigned long start,
			 unsigned long end)
{
	typeof(change_protection) *fn = (void *)wpu_change_protection_fn;

	fn(vma, start, end, vm_get_page_prot(vma->vm_flags),
	   MM_CP_UFFD_WP_RESOLVE);
}

/*
 * Clear uffd-wp in [start, end) of every VMA of @ctx.  Holds mmap_lock for
 * read like UFFDIO_WRITEPROTECT, so protect and reset cannot interleave on
 * one page table; the caller holds an mm_users reference.
 */
static void wpu_reset_range(struct wpu_uffd_ctx *ctx, unsigned long start,
			    unsigned long end)
{
	struct mm_struct *mm = ctx->mm;
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	for (vma = find_vma(mm, start); vma && vma->vm_start < end;
	     vma = find_vma(mm, vma->vm_end)) {
		unsigned long s = max(start, vma->vm_start);
		unsigned long e = min(end, vma->vm_end);

		if (wpu_compat_vma_ctx(vma) != ctx || !userfaultfd_wp(vma) ||
		    !vma_is_anonymous(vma))
			continue;
		wpu_clear_holes(vma, s, e);
		wpu_reset_wp(vma, s, e);
		cond_resched();
	}
	mmap_read_unlock(mm);
}

/*
 * UFFDIO_UNREGISTER, in two halves around the original, which may reject
 * the range (an incompatible VMA in it, a misaligned start) or stop part-way
 * (-ENOMEM splitting a VMA).  Before it, under mmap_lock: the part of the
 * range that holds write-protect registered anonymous VMAs of @ctx, in
 * *@span.  Returns false when there is none (nothing to reset after).
 */
bool wpu_unregister_begin(struct wpu_uffd_ctx *ctx, unsigned long arg,
			  struct uffdio_range *span)
{
	struct mm_struct *mm = ctx->mm;
	struct vm_area_struct *vma;
	struct uffdio_range range;
	unsigned long end, lo = 0, hi = 0;

	if (!wpu_ctx_protects_holes(ctx) ||
	    copy_from_user(&range, (void __user *)arg, sizeof(range)))
		return false;
	end = range.start + range.len;
	/* Bad ranges are the original's to reject; just note nothing. */
	if ((range.start | range.len) & ~PAGE_MASK || !range.len ||
	    end < range.start || end > TASK_SIZE || !mmget_not_zero(mm))
		return false;
	mmap_read_lock(mm);
	for (vma = find_vma(mm, range.start); vma && vma->vm_start < end;
	     vma = find_vma(mm, vma->vm_end)) {
		if (wpu_compat_vma_ctx(vma) != ctx || !userfaultfd_wp(vma) ||
		    !vma_is_anonymous(vma))
			continue;
		if (!hi)
			lo = max_t(unsigned long, range.start, vma->vm_start);
		hi = min(end, vma->vm_end);
	}
	mmap_read_unlock(mm);
	mmput(mm);
	span->start = lo;
	span->len = hi - lo;
	return hi;
}

/*
 * After the original, whatever it returned: clear uffd-wp in the anonymous
 * VMAs of *@span that are no longer write-protect registered, as 6.0+ does
 * while it unregisters them.  What is still registered (the original
 * failed, or another thread registered it again meanwhile) keeps its
 * protection.  uffd-wp in a VMA that is not write-protect registered is
 * stale by definition, whoever left it.  If another thread changed the
 * argument during the call, the original may have unregistered something
 * else, which then keeps stale bits: extra WP faults after a later
 * registration, never a missing one.
 */
void wpu_unregister_end(struct wpu_uffd_ctx *ctx,
			const struct uffdio_range *span)
{
	unsigned long start = span->start, end = span->start + span->len;
	struct mm_struct *mm = ctx->mm;
	struct vm_area_struct *vma;

	if (!mmget_not_zero(mm))
		return;
	mmap_read_lock(mm);
	for (vma = find_vma(mm, start); vma && vma->vm_start < end;
	     vma = find_vma(mm, vma->vm_end)) {
		unsigned long s = max(start, vma->vm_start);
		unsigned long e = min(end, vma->vm_end);

		if (userfaultfd_wp(vma) || !vma_is_anonymous(vma))
			continue;
		wpu_clear_holes(vma, s, e);
		wpu_reset_wp(vma, s, e);
		cond_resched();
	}
	mmap_read_unlock(mm);
	mmput(mm);
}

static int wpu_userfaultfd_release(struct inode *inode, struct file *file)
{
	struct wpu_uffd_ctx *ctx = file->private_data;
	int ret;

	/* At exit the mm is already gone: nothing to reset then. */
	if (mmget_not_zero(ctx->mm)) {
		wpu_reset_range(ctx, 0, TASK_SIZE);
		mmput(ctx->mm);
	}
	ret = WPU_CALL_ORIG(wpu_orig_userfaultfd_release,
			    wpu_userfaultfd_release, inode, file);
	wpu_leave();
	return ret;
}

static bool wpu_release_wants(struct pt_regs *regs)
{
	struct file *file = (void *)regs_get_kernel_argument(regs, 1);

	return wpu_ctx_protects_holes(file->private_data);
}

/*
 * After move_vma() moved the page tables, under mmap_lock for writing.  A
 * context without EVENT_REMAP is about to be dropped from the new VMA.
 */
static void wpu_mremap_userfaultfd_prep(struct vm_area_struct *vma,
					struct vm_userfaultfd_ctx *vm_ctx)
{
	wpu_mmap_assert_write_locked(vma->vm_mm);
	if (userfaultfd_wp(vma) && vma_is_anonymous(vma)) {
		wpu_clear_holes(vma, vma->vm_start, vma->vm_end);
		wpu_reset_wp(vma, vma->vm_start, vma->vm_end);
	}
	WPU_CALL_ORIG(wpu_orig_mremap_prep, wpu_mremap_userfaultfd_prep,
		      vma, vm_ctx);
	wpu_leave();
}

static bool wpu_mremap_wants(struct pt_regs *regs)
{
	struct vm_area_struct *vma = (void *)regs_get_kernel_argument(regs, 0);
	struct wpu_uffd_ctx *ctx = wpu_compat_vma_ctx(vma);

	return ctx && !(READ_ONCE(ctx->features) & UFFD_FEATURE_EVENT_REMAP) &&
	       wpu_ctx_protects_holes(ctx);
}

static struct wpu_hook wpu_reset_hooks[] = {
	{
		.name = "userfaultfd_release",
		.wrapper = wpu_userfaultfd_release,
		.orig = &wpu_orig_userfaultfd_release,
		.wants = wpu_release_wants,
	},
	{
		.name = "mremap_userfaultfd_prep",
		.wrapper = wpu_mremap_userfaultfd_prep,
		.orig = &wpu_orig_mremap_prep,
		.wants = wpu_mremap_wants,
	},
};

/* Built, and listed in main.c, only where WPU_RESET (Kbuild). */
const struct wpu_part wpu_reset_part = {
	.name = "reset",
	.syms = wpu_reset_syms,
	.nr_syms = ARRAY_SIZE(wpu_reset_syms),
	.hooks = wpu_reset_hooks,
	.nr_hooks = ARRAY_SIZE(wpu_reset_hooks),
};
