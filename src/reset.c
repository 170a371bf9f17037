// SPDX-License-Identifier: GPL-2.0
/*
 * UFFDIO_UNREGISTER, close() and mremap() reset write protection.
 *
 * 6.4+ clears uffd-wp from every pte of a range that stops being
 * write-protect registered.  Older kernels drop the registration and may
 * leave the bits (and our holes) behind: registering the range again then
 * reports writes nobody protected, and a snapshot tool that reuses the
 * range sees faults that are not its own.  For contexts that use the
 * module, do what 6.4+ does where the kernel does not:
 *
 *  - UFFDIO_UNREGISTER: stock from 6.0 on; before, just after the original,
 *    where it really unregistered (uffd_ioctl.c calls in here);
 *  - close(): stock from 6.5 on, and in 6.1.y once backported; nothing a
 *    module can compile against or look up tells whether a kernel has it,
 *    so it is always done, just before the original.  Where the kernel
 *    does it too, its pass finds nothing left;
 *  - mremap() of a range whose context did not ask for EVENT_REMAP: the
 *    moved range loses its registration.  Stock from 6.8 on, and in 6.1.y
 *    and 6.6.y once backported (compat probe mremap_resets_wp).
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>

#include "wpu_paths.h"

static unsigned long wpu_orig_userfaultfd_release;
static unsigned long wpu_orig_mremap_prep;
static unsigned long wpu_change_protection_fn;

/* Resolved where change_protection() takes an mmu_gather (compat.h). */
void (*wpu_compat_tlb_gather_fn)(struct mmu_gather *tlb,
				 struct mm_struct *mm) __ro_after_init;
void (*wpu_compat_tlb_finish_fn)(struct mmu_gather *tlb) __ro_after_init;

static const struct wpu_sym wpu_reset_syms[] = {
	{ "change_protection", &wpu_change_protection_fn },
	WPU_TLB_SYMS
};

/*
 * What UFFDIO_WRITEPROTECT with mode 0 does to the range.  Called from the
 * module, so change_protection() runs without protect.c's hook.
 */
static void wpu_reset_wp(struct vm_area_struct *vma, unsigned long start,
			 unsigned long end)
{
	wpu_compat_cp_resolve((void *)wpu_change_protection_fn, vma, start,
			      end);
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
};

const struct wpu_part wpu_reset_part = {
	.name = "reset",
	.syms = wpu_reset_syms,
	.nr_syms = ARRAY_SIZE(wpu_reset_syms),
	.hooks = wpu_reset_hooks,
	.nr_hooks = ARRAY_SIZE(wpu_reset_hooks),
};

static struct wpu_hook wpu_remap_hooks[] = {
	{
		.name = "mremap_userfaultfd_prep",
		.wrapper = wpu_mremap_userfaultfd_prep,
		.orig = &wpu_orig_mremap_prep,
		.wants = wpu_mremap_wants,
	},
};

static bool wpu_remap_needed(void)
{
	return WPU_RESET_MREMAP;
}

/* After "reset": it calls wpu_reset_wp(), whose symbols that part holds. */
const struct wpu_part wpu_remap_part = {
	.name = "remap",
	.hooks = wpu_remap_hooks,
	.nr_hooks = ARRAY_SIZE(wpu_remap_hooks),
	.needed = wpu_remap_needed,
};
