// SPDX-License-Identifier: GPL-2.0
/*
 * Faults on anonymous uffd-wp pte markers (marker backend).
 *
 * Stock 5.19-6.3 kernels only expect markers in file-backed memory; on an
 * anonymous one handle_pte_marker() WARNs and sends SIGBUS.  do_swap_page()
 * is the single place every fault on a non-present pte goes through (the
 * marker handling inside it is inlined), so markers in anonymous VMAs are
 * taken out of it here and get what 6.4+ gives them in do_anonymous_page():
 *
 *  - VMA still uffd-wp and MISSING registered: a MISSING fault first;
 *  - VMA still uffd-wp: the zero page, read-only, with the uffd-wp bit.  A
 *    read is then done; a write faults again into do_wp_page(), which sends
 *    the WP message (UFFD_PAGEFAULT_FLAG_WP|WRITE) before any byte lands and
 *    copies a fresh zeroed page once the range is unprotected.  6.4+ maps a
 *    fresh page at once instead; what user space sees is the same, and no
 *    page has to be allocated and charged in here;
 *  - a write in a WP_ASYNC context: the marker goes and the fault is
 *    retried, which maps a fresh page (async.c);
 *  - VMA no longer uffd-wp: the marker is stale; drop it and retry.
 *
 * Everything else (real swap, migration, hwpoison, file markers) goes to the
 * original untouched and never even enters this file (wpu_fault_wants()).
 */
#include <linux/mm.h>
#include <linux/sched/coredump.h>
#include <linux/userfaultfd_k.h>

#include "wpu_paths.h"

static unsigned long wpu_orig_do_swap_page;
static unsigned long wpu_handle_userfault_fn;

static const struct wpu_sym wpu_fault_syms[] = {
	{ "handle_userfault", &wpu_handle_userfault_fn },
};

static bool wpu_is_anon_marker(struct vm_area_struct *vma, pte_t pte)
{
	return vma_is_anonymous(vma) && pte_marker_uffd_wp(pte);
}

/* Called from this module: async.c's hook lets it through. */
static vm_fault_t wpu_call_handle_userfault(struct vm_fault *vmf,
					    unsigned long reason)
{
	typeof(handle_userfault) *fn = (void *)wpu_handle_userfault_fn;

	return fn(vmf, reason);
}

/* The pte still holds the marker the fault saw?  Returns it locked. */
static pte_t *wpu_lock_same(struct vm_fault *vmf, spinlock_t **ptl)
{
	pte_t *pte = pte_offset_map_lock(vmf->vma->vm_mm, vmf->pmd,
					 vmf->address, ptl);

	if (pte && !pte_same(*pte, vmf->orig_pte)) {
		pte_unmap_unlock(pte, *ptl);
		return NULL;
	}
	return pte;
}

/* The VMA lost uffd-wp (re-registered without it): forget the marker. */
static vm_fault_t wpu_drop_stale(struct vm_fault *vmf)
{
	spinlock_t *ptl;	/* of the faulting page table */
	pte_t *pte = wpu_lock_same(vmf, &ptl);

	if (pte) {
		pte_clear(vmf->vma->vm_mm, vmf->address, pte);
		pte_unmap_unlock(pte, ptl);
		wpu_count(fault_stale);
	}
	return 0;
}

static vm_fault_t wpu_fault_marker(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	spinlock_t *ptl;	/* of the faulting page table */
	pte_t *pte, zero;

	pte = wpu_lock_same(vmf, &ptl);
	if (!pte)
		return 0;	/* raced with another fault, COPY or unprotect */

	if (unlikely(test_bit(MMF_UNSTABLE, &vma->vm_mm->flags))) {
		/* The OOM reaper is tearing the mm down. */
		pte_unmap_unlock(pte, ptl);
		return VM_FAULT_SIGBUS;
	}
	if (userfaultfd_missing(vma)) {
		/* As 6.4+: decided under the page-table lock, sent without it. */
		pte_unmap_unlock(pte, ptl);
		wpu_count(fault_missing);
		return wpu_call_handle_userfault(vmf, VM_UFFD_MISSING);
	}

	if ((vmf->flags & FAULT_FLAG_WRITE) && wpu_vma_wp_async(vma)) {
		/* WP_ASYNC: the write may go on; the retry maps a fresh page. */
		pte_clear(vma->vm_mm, vmf->address, pte);
		pte_unmap_unlock(pte, ptl);
		wpu_count(async_resolved);
		return 0;
	}

	zero = pfn_pte(my_zero_pfn(vmf->address), vma->vm_page_prot);
	zero = pte_mkuffd_wp(pte_wrprotect(pte_mkspecial(zero)));
	set_pte_at(vma->vm_mm, vmf->address, pte, zero);
	/* Was not present: nothing to flush. */
	update_mmu_cache(vma, vmf->address, pte);
	pte_unmap_unlock(pte, ptl);
	wpu_count(fault_read);
	return 0;
}

/*
 * Entry contract of do_swap_page(): mmap_lock held for read, vmf->pte mapped
 * but not locked, vmf->orig_pte read without the lock.  On return the pte
 * is unmapped; after VM_FAULT_RETRY from handle_userfault() the mmap_lock
 * has been released and the VMA must not be touched.
 */
static vm_fault_t wpu_do_swap_page(struct vm_fault *vmf)
{
	vm_fault_t ret;

	wpu_mmap_assert_locked(vmf->vma->vm_mm);
	pte_unmap(vmf->pte);
	vmf->pte = NULL;

	if (!(vmf->flags & FAULT_FLAG_ORIG_PTE_VALID)) {
		/*
		 * khugepaged / MADV_COLLAPSE swapping in before a collapse
		 * (its vmf is not a user fault).  6.4+ never gets here: it
		 * refuses to collapse over uffd-wp entries.  Fail the swap-in
		 * quietly; the collapse is abandoned and the marker stays.
		 */
		wpu_count(fault_collapse);
		ret = VM_FAULT_SIGBUS;
	} else if (!userfaultfd_wp(vmf->vma)) {
		ret = wpu_drop_stale(vmf);
	} else {
		ret = wpu_fault_marker(vmf);
	}
	wpu_leave();
	return ret;
}

/*
 * Decided in the ftrace callback from the fault's own snapshot of the pte,
 * so real swap-ins never leave do_swap_page().
 */
static bool wpu_fault_wants(struct pt_regs *regs)
{
	struct vm_fault *vmf = (void *)regs_get_kernel_argument(regs, 0);

	return wpu_is_anon_marker(vmf->vma, vmf->orig_pte);
}

static struct wpu_hook wpu_fault_hooks[] = {
	{
		.name = "do_swap_page",
		.wrapper = wpu_do_swap_page,
		.orig = &wpu_orig_do_swap_page,
		.wants = wpu_fault_wants,
	},
};

static bool wpu_fault_needed(void)
{
	return wpu_markers();
}

/* Marker backend only: its symbol is resolved only then. */
const struct wpu_part wpu_fault_part = {
	.name = "fault",
	.syms = wpu_fault_syms,
	.nr_syms = ARRAY_SIZE(wpu_fault_syms),
	.hooks = wpu_fault_hooks,
	.nr_hooks = ARRAY_SIZE(wpu_fault_hooks),
	.needed = wpu_fault_needed,
};
