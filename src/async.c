// SPDX-License-Identifier: GPL-2.0
/*
 * UFFD_FEATURE_WP_ASYNC (Linux 6.7): write faults on write-protected memory
 * of an async context are resolved in the kernel.  No message is queued and
 * nobody waits; the page simply stops being protected, which is what
 * PAGEMAP_SCAN (scan.c) later reports as PAGE_IS_WRITTEN.
 *
 * Every write-protect fault of a stock kernel ends in one call,
 * handle_userfault(vmf, VM_UFFD_WP): from do_wp_page() for a pte, from
 * wp_huge_pmd() for a THP, from hugetlb_fault() for hugetlb.  For async
 * contexts that call is taken here: the uffd-wp bit is removed under the
 * page-table lock and the fault returns 0, so the access is retried and the
 * stock write path (reuse or copy-on-write) completes it.  6.7+ does the
 * same inline, without the retry.
 *
 * A THP is split first, as 6.7+ does, so that "written" stays per 4 KiB
 * page: the split carries the bit into all 512 ptes and only the faulting
 * one loses it on the retry.  Markers (marker backend) become a zero page
 * with uffd-wp on their first fault (fault.c), or go away at once on a
 * write (fault.c), and then take the pte path.
 */
#include <linux/huge_mm.h>
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/userfaultfd_k.h>

#include "wpu_paths.h"

static unsigned long wpu_orig_handle_userfault;
static void wpu_async_pte(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	spinlock_t *ptl;	/* of the faulting page table */
	pte_t *pte, entry;

	pte = pte_offset_map_lock(mm, vmf->pmd, vmf->address, &ptl);
	if (!pte)
		return;
	entry = *pte;
	/*
	 * Only a software bit goes: the pte stays read-only, so no TLB can
	 * hold a translation that would now be wrong.
	 */
	if (pte_present(entry) && pte_uffd_wp(entry)) {
		set_pte_at(mm, vmf->address, pte, pte_clear_uffd_wp(entry));
		wpu_count(async_resolved);
	}
	pte_unmap_unlock(pte, ptl);
}

static void wpu_async_pmd(struct vm_fault *vmf, pmd_t pmdval)
{
	if (pmd_uffd_wp(pmdval))
		wpu_split_huge_pmd(vmf->vma, vmf->pmd,
				   vmf->address & HPAGE_PMD_MASK);
}

static void wpu_async_hugetlb(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct hstate *h = hstate_vma(vma);
	unsigned long addr = vmf->address & huge_page_mask(h);
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *ptl;	/* of the huge pte */
	pte_t *ptep, entry;

	ptep = wpu_kc.huge_pte_offset(mm, addr, huge_page_size(h));
	if (!ptep)
		return;
	ptl = huge_pte_lock(h, mm, ptep);
	entry = wpu_compat_huge_ptep_get(mm, addr, ptep);
	if (pte_present(entry) && wpu_compat_huge_pte_uffd_wp(entry)) {
		wpu_compat_set_huge_pte(mm, addr, ptep,
					wpu_compat_huge_pte_clear_uffd_wp(entry),
					huge_page_size(h));
		wpu_count(async_resolved);
	}
	spin_unlock(ptl);
}

/*
 * Replaces handle_userfault() for write-protect faults of async contexts.
 * Called with mmap_lock held for read (or the per-VMA lock); returning 0
 * keeps it held, as the callers expect of a fault that did not retry.
 */
static vm_fault_t wpu_async_handle_userfault(struct vm_fault *vmf,
					     unsigned long reason)
{
	pmd_t pmdval;

	/* Not async, so a kernel-mode fault that umode.c refuses. */
	if (reason != VM_UFFD_WP || !wpu_vma_wp_async(vmf->vma)) {
		wpu_leave();
		return VM_FAULT_SIGBUS;
	}
	if (is_vm_hugetlb_page(vmf->vma)) {
		wpu_async_hugetlb(vmf);
	} else {
		pmdval = READ_ONCE(*vmf->pmd);
		if (pmd_trans_huge(pmdval))
			wpu_async_pmd(vmf, pmdval);
		else if (pmd_present(pmdval) && !pmd_bad(pmdval))
			wpu_async_pte(vmf);
		/* else: the table changed under us; the retry sees what now is */
	}
	wpu_leave();
	return 0;
}

/*
 * Every other userfault (MISSING, MINOR, sync WP) never leaves the original,
 * except a kernel-mode one of a UFFD_USER_MODE_ONLY context on a kernel
 * without that flag (umode.c): 6.7+ resolves async faults before it looks
 * at the flag, so async comes first.
 */
static bool wpu_async_wants(struct pt_regs *regs)
{
	struct vm_fault *vmf = (void *)regs_get_kernel_argument(regs, 0);
	unsigned long reason = regs_get_kernel_argument(regs, 1);

	return (reason == VM_UFFD_WP && wpu_vma_wp_async(vmf->vma)) ||
	       wpu_umode_refuses(vmf);
}

static struct wpu_hook wpu_async_hooks[] = {
	{
		.name = "handle_userfault",
		.wrapper = wpu_async_handle_userfault,
		.orig = &wpu_orig_handle_userfault,
		.wants = wpu_async_wants,
	},
};

const struct wpu_part wpu_async_part = {
	.name = "async",
	.hooks = wpu_async_hooks,
	.nr_hooks = ARRAY_SIZE(wpu_async_hooks),
};
