// SPDX-License-Identifier: GPL-2.0
/*
 * The PAGEMAP_SCAN engine (Linux 6.7), for /proc/PID/pagemap (pagemap.c)
 * and /dev/uffd-wpu (ctl.c).  The scan runs on the mm it is given, with the
 * upstream ABI and semantics:
 *
 *   - every page of [start, end) gets categories (PAGE_IS_*) from its pte,
 *     THP pmd or hugetlb entry; a page matches when, after XOR with
 *     category_inverted, it has all of category_mask and (if non-zero) one
 *     of category_anyof_mask;
 *   - matching pages are reported as merged ranges in vec, categories
 *     restricted to return_mask, at most max_pages pages;
 *   - PM_SCAN_WP_MATCHING write-protects what matched and was written,
 *     under the same page-table lock that read it, so a write is either
 *     reported now or faults (async.c) and is reported by the next scan;
 *   - "written" means "not write-protected": holes of a uffd-wp VMA are
 *     written (nobody protected them since they were zapped), protected
 *     holes (markers, or the zero-page backend's entries) are not.
 *
 * Only VMAs of async uffd-wp contexts can be write-protected here
 * (PAGE_IS_WPALLOWED); hugetlb VMAs are reported but never protected by a
 * scan (see the README's table of differences).
 */
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/pagewalk.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "wpu_holes.h"

#define WPU_SCAN_CATEGORIES	(PAGE_IS_WPALLOWED | PAGE_IS_WRITTEN | \
				 PAGE_IS_FILE | PAGE_IS_PRESENT | \
				 PAGE_IS_SWAPPED | PAGE_IS_PFNZERO | \
				 PAGE_IS_HUGE | PAGE_IS_SOFT_DIRTY)
#define WPU_SCAN_FLAGS		(PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC)

struct wpu_scan {
	struct pm_scan_arg arg;
	unsigned long interest;		/* categories any mask looks at */
	unsigned long vma_cats;		/* categories of the VMA being walked */
	struct page_region *buf;	/* bounce buffer; NULL: no output */
	unsigned long buf_len;		/* usable entries of buf */
	unsigned long buf_idx;		/* the entry being filled */
	unsigned long found;		/* pages reported so far */
	struct page_region __user *out;	/* where buf goes next */
};

/* --- matching and output ------------------------------------------------ */

static bool wpu_scan_match(const struct wpu_scan *s, unsigned long cats)
{
	cats ^= s->arg.category_inverted;
	if ((cats & s->arg.category_mask) != s->arg.category_mask)
		return false;
	return !s->arg.category_anyof_mask ||
	       (cats & s->arg.category_anyof_mask);
}

/* Only WPALLOWED is known per VMA: a VMA without it can be skipped whole. */
static bool wpu_scan_vma_match(const struct wpu_scan *s, unsigned long cats)
{
	unsigned long need = s->arg.category_mask & PAGE_IS_WPALLOWED;

	return ((cats ^ s->arg.category_inverted) & need) == need;
}

/* Append [addr, end) to the buffer, merging with the last range if it can. */
static bool wpu_scan_push(struct wpu_scan *s, unsigned long cats,
			  unsigned long addr, unsigned long end)
{
	struct page_region *r = &s->buf[s->buf_idx];

	if (r->end == addr && r->categories == cats) {
		r->end = end;
		return true;
	}
	if (r->end) {
		if (s->buf_idx + 1 >= s->buf_len)
			return false;
		r = &s->buf[++s->buf_idx];
	}
	r->start = addr;
	r->end = end;
	r->categories = cats;
	return true;
}

/*
 * Report [addr, *end).  When max_pages or the buffer ends the scan, *end is
 * cut back to what was reported, walk_end says where, and -ENOSPC stops the
 * walk; the caller must not touch pages past the new *end.
 */
static int wpu_scan_output(struct wpu_scan *s, unsigned long cats,
			   unsigned long addr, unsigned long *end)
{
	unsigned long n = (*end - addr) >> PAGE_SHIFT, total;
	int ret = 0;

	if (!s->buf)
		return 0;
	cats &= s->arg.return_mask;
	if (check_add_overflow(s->found, n, &total) ||
	    total > s->arg.max_pages) {
		unsigned long over = total - s->arg.max_pages;

		*end -= over << PAGE_SHIFT;
		n -= over;
		ret = -ENOSPC;
	}
	if (!wpu_scan_push(s, cats, addr, *end)) {
		*end = addr;
		n = 0;
		ret = -ENOSPC;
	}
	s->found += n;
	if (ret)
		s->arg.walk_end = *end;
	return ret;
}

/* Take back what wpu_scan_output() just reported for [addr, end). */
static void wpu_scan_backout(struct wpu_scan *s, unsigned long addr,
			     unsigned long end)
{
	struct page_region *r;

	if (!s->buf)
		return;
	r = &s->buf[s->buf_idx];
	if (r->start != addr) {
		r->end = addr;
	} else {
		r->start = 0;
		r->end = 0;
	}
	s->found -= (end - addr) >> PAGE_SHIFT;
}

/* --- categories ---------------------------------------------------------- */

static bool wpu_page_is_file(struct page *page)
{
	return page && !PageAnon(page);
}

static unsigned long wpu_pte_cats(const struct wpu_scan *s,
				  struct vm_area_struct *vma,
				  unsigned long addr, pte_t pte)
{
	unsigned long cats;

	/* Nothing protects a none pte: written, whatever the VMA. */
	if (pte_none(pte))
		return PAGE_IS_WRITTEN;
	if (pte_present(pte)) {
		cats = PAGE_IS_PRESENT;
		if (!pte_uffd_wp(pte))
			cats |= PAGE_IS_WRITTEN;
		if ((s->interest & PAGE_IS_FILE) &&
		    wpu_page_is_file(wpu_kc.vm_normal_page(vma, addr, pte)))
			cats |= PAGE_IS_FILE;
		if (is_zero_pfn(pte_pfn(pte)))
			cats |= PAGE_IS_PFNZERO;
		if (pte_soft_dirty(pte))
			cats |= PAGE_IS_SOFT_DIRTY;
		return cats;
	}
	/* swap, migration, markers */
	cats = PAGE_IS_SWAPPED;
	if (!wpu_compat_swp_uffd_wp(pte))
		cats |= PAGE_IS_WRITTEN;
	if ((s->interest & PAGE_IS_FILE) &&
	    wpu_page_is_file(wpu_compat_swp_page(pte_to_swp_entry(pte))))
		cats |= PAGE_IS_FILE;
	if (pte_swp_soft_dirty(pte))
		cats |= PAGE_IS_SOFT_DIRTY;
	return cats;
}

static unsigned long wpu_pmd_cats(const struct wpu_scan *s,
				  struct vm_area_struct *vma,
				  unsigned long addr, pmd_t pmd)
{
	unsigned long cats = PAGE_IS_HUGE;

	if (pmd_present(pmd)) {
		cats |= PAGE_IS_PRESENT;
		if (!pmd_uffd_wp(pmd))
			cats |= PAGE_IS_WRITTEN;
		if ((s->interest & PAGE_IS_FILE) &&
		    wpu_page_is_file(wpu_kc.vm_normal_page_pmd(vma, addr, pmd)))
			cats |= PAGE_IS_FILE;
		if (wpu_is_huge_zero_pmd(pmd))
			cats |= PAGE_IS_PFNZERO;
		if (pmd_soft_dirty(pmd))
			cats |= PAGE_IS_SOFT_DIRTY;
		return cats;
	}
	cats |= PAGE_IS_SWAPPED;
	if (!pmd_swp_uffd_wp(pmd))
		cats |= PAGE_IS_WRITTEN;
	if ((s->interest & PAGE_IS_FILE) &&
	    wpu_page_is_file(wpu_compat_swp_page(pmd_to_swp_entry(pmd))))
		cats |= PAGE_IS_FILE;
	if (pmd_swp_soft_dirty(pmd))
		cats |= PAGE_IS_SOFT_DIRTY;
	return cats;
}

static unsigned long wpu_hugetlb_cats(pte_t pte)
{
	unsigned long cats = PAGE_IS_HUGE;

	if (pte_present(pte)) {
		cats |= PAGE_IS_PRESENT;
		if (!wpu_compat_huge_pte_uffd_wp(pte))
			cats |= PAGE_IS_WRITTEN;
		if (!PageAnon(pte_page(pte)))
			cats |= PAGE_IS_FILE;
		if (is_zero_pfn(pte_pfn(pte)))
			cats |= PAGE_IS_PFNZERO;
		if (pte_soft_dirty(pte))
			cats |= PAGE_IS_SOFT_DIRTY;
	} else if (is_swap_pte(pte)) {
		cats |= PAGE_IS_SWAPPED;
		if (!wpu_compat_swp_uffd_wp(pte))
			cats |= PAGE_IS_WRITTEN;
		if (pte_swp_soft_dirty(pte))
			cats |= PAGE_IS_SOFT_DIRTY;
	}
	return cats;
}

/* --- write-protecting ----------------------------------------------------- */

/*
 * Protect one written pte; page-table lock held.  Returns true when a TLB
 * may hold the old (writable) translation.  Before 6.5 pte_mkuffd_wp()
 * leaves the write bit alone, hence the explicit wrprotect.
 */
static bool wpu_scan_wp_pte(struct vm_area_struct *vma, unsigned long addr,
			    pte_t *pte, pte_t entry)
{
	struct mm_struct *mm = vma->vm_mm;
	pte_t hole;

	if (pte_present(entry)) {
		pte_t old = ptep_modify_prot_start(vma, addr, pte);

		ptep_modify_prot_commit(vma, addr, pte, old,
					pte_mkuffd_wp(pte_wrprotect(old)));
		return true;
	}
	if (is_swap_pte(entry)) {
		set_pte_at(mm, addr, pte, pte_swp_mkuffd_wp(entry));
	} else if (vma_is_anonymous(vma)) {
		if (wpu_hole_entry(vma, addr, &hole))
			set_pte_at(mm, addr, pte, hole);
	} else if (WPU_HAVE_MARKERS) {
		/* file memory: what stock UFFDIO_WRITEPROTECT installs */
		set_pte_at(mm, addr, pte, wpu_compat_marker_pte());
	}
	return false;
}

static void wpu_scan_wp_pmd(struct vm_area_struct *vma, unsigned long addr,
			    pmd_t *pmd, pmd_t val)
{
	if (pmd_present(val)) {
		pmd_t old = wpu_kc.pmdp_invalidate(vma, addr, pmd);

		set_pmd_at(vma->vm_mm, addr, pmd,
			   pmd_mkuffd_wp(pmd_wrprotect(old)));
	} else if (is_migration_entry(pmd_to_swp_entry(val))) {
		set_pmd_at(vma->vm_mm, addr, pmd, pmd_swp_mkuffd_wp(val));
	}
}

/* A range of @vma without page tables; mmap_lock held, no other lock. */
static int wpu_scan_wp_unpopulated(struct vm_area_struct *vma,
				   unsigned long addr, unsigned long end)
{
	wpu_mmap_assert_locked(vma->vm_mm);

	if (vma_is_anonymous(vma))
		return wpu_protect_unpopulated(vma, addr, end);
	/* Stock code installs file markers (and allocates their tables). */
	if (WPU_HAVE_UFFD_WP_RANGE)
		wpu_kc.uffd_wp_range(vma->vm_mm, vma, addr, end - addr, true);
	return 0;
}

/* --- the walk --------------------------------------------------------------- */

static int wpu_scan_test_walk(unsigned long start, unsigned long end,
			      struct mm_walk *walk)
{
	struct vm_area_struct *vma = walk->vma;
	struct wpu_scan *s = walk->private;
	unsigned long cats = 0;
	bool wp_allowed;

	wp_allowed = userfaultfd_wp(vma) && wpu_vma_wp_async(vma) &&
		     !is_vm_hugetlb_page(vma);
	if (!wp_allowed) {
		if (s->arg.flags & PM_SCAN_CHECK_WPASYNC)
			return -EPERM;
		if (s->arg.flags & PM_SCAN_WP_MATCHING)
			return 1;	/* skip it quietly */
	}
	if (vma->vm_flags & VM_PFNMAP)
		return 1;
	if (wp_allowed)
		cats |= PAGE_IS_WPALLOWED;
	if (vma->vm_flags & VM_SOFTDIRTY)
		cats |= PAGE_IS_SOFT_DIRTY;
	if (!wpu_scan_vma_match(s, cats))
		return 1;
	if (s->arg.flags & PM_SCAN_WP_MATCHING) {
		int ret = wpu_holes_prepare(vma);

		if (ret)
			return ret;
	}
	s->vma_cats = cats;
	return 0;
}

static bool wpu_pmd_is_leaf(pmd_t val)
{
	return pmd_trans_huge(val) || pmd_devmap(val) || is_swap_pmd(val);
}

/* A THP or huge migration entry: -ENOENT when there is none (any more). */
static int wpu_scan_thp(pmd_t *pmd, unsigned long start, unsigned long end,
			struct mm_walk *walk)
{
	struct vm_area_struct *vma = walk->vma;
	struct wpu_scan *s = walk->private;
	unsigned long cats;
	spinlock_t *ptl;	/* of the pmd */
	pmd_t val;
	int ret = 0;

	/* Most pmds point to a page table: no lock for them. */
	if (!wpu_pmd_is_leaf(READ_ONCE(*pmd)))
		return -ENOENT;
	ptl = pmd_lock(vma->vm_mm, pmd);
	val = *pmd;
	if (!wpu_pmd_is_leaf(val)) {
		spin_unlock(ptl);
		return -ENOENT;
	}
	cats = s->vma_cats | wpu_pmd_cats(s, vma, start, val);
	if (!wpu_scan_match(s, cats))
		goto unlock;
	ret = wpu_scan_output(s, cats, start, &end);
	if (start == end || !(s->arg.flags & PM_SCAN_WP_MATCHING) ||
	    !(cats & PAGE_IS_WRITTEN))
		goto unlock;
	if (end != start + HPAGE_PMD_SIZE) {
		/* Only part of it is to be protected: go on at pte level. */
		spin_unlock(ptl);
		wpu_split_huge_pmd(vma, pmd, start);
		wpu_scan_backout(s, start, end);
		return -ENOENT;
	}
	wpu_scan_wp_pmd(vma, start, pmd, val);
	wpu_flush_tlb_range(vma->vm_mm, start, end, PAGE_SHIFT);
unlock:
	spin_unlock(ptl);
	return ret;
}

static bool wpu_pte_protected(pte_t pte)
{
	return pte_present(pte) ? pte_uffd_wp(pte) : wpu_compat_swp_uffd_wp(pte);
}

/*
 * The two scans a dirty tracker makes (Wine's GetWriteWatch and
 * ResetWriteWatch): "written pages, report only that", with or without
 * WP_MATCHING, and WP_MATCHING alone without a vector.  Such a scan needs
 * one test per pte, no categories; as on 6.7+, the second protects every
 * pte that is not protected yet.
 */
static bool wpu_scan_written_only(const struct wpu_scan *s)
{
	if ((s->arg.flags & PM_SCAN_WP_MATCHING) && !s->buf)
		return true;
	return !s->arg.category_anyof_mask && !s->arg.category_inverted &&
	       s->arg.category_mask == PAGE_IS_WRITTEN &&
	       s->arg.return_mask == PAGE_IS_WRITTEN;
}

/* wpu_scan_ptes() for those; page-table lock held. */
static int wpu_scan_written_ptes(struct mm_walk *walk, pte_t *pte,
				 unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma = walk->vma;
	struct wpu_scan *s = walk->private;
	bool wp = s->arg.flags & PM_SCAN_WP_MATCHING;
	unsigned long addr, next, fstart = 0, fend = 0;
	int ret = 0;

	for (addr = start; addr < end; addr = next, pte++) {
		pte_t entry = *pte;

		next = addr + PAGE_SIZE;
		if (wpu_pte_protected(entry))
			continue;
		ret = wpu_scan_output(s, s->vma_cats | PAGE_IS_WRITTEN, addr,
				      &next);
		if (next == addr)
			break;
		if (wp && wpu_scan_wp_pte(vma, addr, pte, entry)) {
			if (!fend)
				fstart = addr;
			fend = next;
		}
	}
	if (fend)
		wpu_flush_tlb_range(vma->vm_mm, fstart, fend, PAGE_SHIFT);
	return ret;
}

static int wpu_scan_ptes(pmd_t *pmd, unsigned long start, unsigned long end,
			 struct mm_walk *walk)
{
	struct vm_area_struct *vma = walk->vma;
	struct wpu_scan *s = walk->private;
	unsigned long addr, fstart = 0, fend = 0;
	pmd_t val = READ_ONCE(*pmd);
	pte_t *start_pte, *pte;
	spinlock_t *ptl;	/* of this page table */
	int ret = 0;

	if (pmd_bad(val))
		return 0;
	if (!pmd_present(val) || pmd_trans_huge(val) || pmd_devmap(val)) {
		/* Split into nothing (file THP) or changed: look again. */
		walk->action = ACTION_AGAIN;
		return 0;
	}
	start_pte = pte_offset_map_lock(vma->vm_mm, pmd, start, &ptl);
	if (!start_pte) {
		walk->action = ACTION_AGAIN;
		return 0;
	}
	if (wpu_scan_written_only(s)) {
		ret = wpu_scan_written_ptes(walk, start_pte, start, end);
		goto out;
	}
	for (addr = start, pte = start_pte; addr < end;
	     addr += PAGE_SIZE, pte++) {
		pte_t entry = *pte;
		unsigned long cats = s->vma_cats |
				     wpu_pte_cats(s, vma, addr, entry);
		unsigned long next = addr + PAGE_SIZE;

		if (!wpu_scan_match(s, cats))
			continue;
		ret = wpu_scan_output(s, cats, addr, &next);
		if (next == addr)
			break;
		if (!(s->arg.flags & PM_SCAN_WP_MATCHING) ||
		    !(cats & PAGE_IS_WRITTEN))
			continue;
		if (wpu_scan_wp_pte(vma, addr, pte, entry)) {
			if (!fend)
				fstart = addr;
			fend = next;
		}
	}
	/* Under the lock: no write through an old TLB entry after we report. */
	if (fend)
		wpu_flush_tlb_range(vma->vm_mm, fstart, fend, PAGE_SHIFT);
out:
	pte_unmap_unlock(start_pte, ptl);
	cond_resched();
	return ret;
}

static int wpu_scan_pmd_entry(pmd_t *pmd, unsigned long start,
			      unsigned long end, struct mm_walk *walk)
{
	int ret = wpu_scan_thp(pmd, start, end, walk);

	return ret == -ENOENT ? wpu_scan_ptes(pmd, start, end, walk) : ret;
}

/* Never write-protects: hugetlb VMAs are not PAGE_IS_WPALLOWED here. */
static int wpu_scan_hugetlb_entry(pte_t *ptep, unsigned long hmask,
				  unsigned long start, unsigned long end,
				  struct mm_walk *walk)
{
	struct wpu_scan *s = walk->private;
	pte_t pte = wpu_compat_huge_ptep_get(walk->mm, start, ptep);
	unsigned long cats = s->vma_cats | wpu_hugetlb_cats(pte);

	if (!wpu_scan_match(s, cats))
		return 0;
	return wpu_scan_output(s, cats, start, &end);
}

static int wpu_scan_pte_hole(unsigned long addr, unsigned long end,
			     int depth, struct mm_walk *walk)
{
	struct vm_area_struct *vma = walk->vma;
	struct wpu_scan *s = walk->private;
	unsigned long cats;
	int ret, err;

	if (!vma)
		return 0;
	/* In a uffd-wp VMA nothing protects a range without page tables. */
	cats = s->vma_cats;
	if (userfaultfd_wp(vma) && !is_vm_hugetlb_page(vma))
		cats |= PAGE_IS_WRITTEN;
	if (!wpu_scan_match(s, cats))
		return 0;
	ret = wpu_scan_output(s, cats, addr, &end);
	if (addr == end || !(s->arg.flags & PM_SCAN_WP_MATCHING))
		return ret;
	err = wpu_scan_wp_unpopulated(vma, addr, end);
	return err ?: ret;
}

static const struct mm_walk_ops wpu_scan_ops = {
	.test_walk	= wpu_scan_test_walk,
	.pmd_entry	= wpu_scan_pmd_entry,
	.pte_hole	= wpu_scan_pte_hole,
	.hugetlb_entry	= wpu_scan_hugetlb_entry,
};

/* --- the ioctl -------------------------------------------------------------- */

static int wpu_scan_get_args(struct pm_scan_arg *arg, unsigned long uarg)
{
	if (copy_from_user(arg, (void __user *)uarg, sizeof(*arg)))
		return -EFAULT;
	if (arg->size != sizeof(*arg))
		return -EINVAL;
	if (arg->flags & ~WPU_SCAN_FLAGS)
		return -EINVAL;
	if ((arg->category_inverted | arg->category_mask |
	     arg->category_anyof_mask | arg->return_mask) & ~WPU_SCAN_CATEGORIES)
		return -EINVAL;

	arg->start = untagged_addr((unsigned long)arg->start);
	arg->end = untagged_addr((unsigned long)arg->end);
	arg->vec = untagged_addr((unsigned long)arg->vec);
	if (!IS_ALIGNED(arg->start, PAGE_SIZE))
		return -EINVAL;
	if (!access_ok((void __user *)(unsigned long)arg->start,
		       arg->end - arg->start))
		return -EFAULT;
	if (!arg->vec && arg->vec_len)
		return -EINVAL;
	if (arg->vec && !access_ok((void __user *)(unsigned long)arg->vec,
				   array_size(arg->vec_len,
					      sizeof(struct page_region))))
		return -EFAULT;

	arg->end = ALIGN(arg->end, PAGE_SIZE);
	arg->walk_end = 0;
	if (!arg->max_pages)
		arg->max_pages = ULONG_MAX;
	return 0;
}

static int wpu_scan_buf_init(struct wpu_scan *s)
{
	if (!s->arg.vec_len)
		return 0;
	/* One pmd's worth of ranges at most between two copies out. */
	s->buf_len = min_t(unsigned long, PTRS_PER_PTE, s->arg.vec_len);
	s->buf = kmalloc_array(s->buf_len, sizeof(*s->buf), GFP_KERNEL);
	if (!s->buf)
		return -ENOMEM;
	s->buf->start = 0;
	s->buf->end = 0;
	s->out = (struct page_region __user *)(unsigned long)s->arg.vec;
	return 0;
}

/* Copy the finished ranges out; returns how many, or -EFAULT. */
static long wpu_scan_buf_flush(struct wpu_scan *s)
{
	long n = s->buf_idx;

	if (!s->buf)
		return 0;
	if (s->buf[n].end != s->buf[n].start)
		n++;
	if (!n)
		return 0;
	if (copy_to_user(s->out, s->buf, n * sizeof(*s->buf)))
		return -EFAULT;
	s->arg.vec_len -= n;
	s->out += n;
	s->buf_idx = 0;
	s->buf_len = min_t(unsigned long, s->buf_len, s->arg.vec_len);
	s->buf->start = 0;
	s->buf->end = 0;
	return n;
}

/* One pass under mmap_lock, from @start to where the walk stops. */
static int wpu_scan_pass(struct mm_struct *mm, struct wpu_scan *s,
			 unsigned long start)
{
	bool wp = s->arg.flags & PM_SCAN_WP_MATCHING;
	struct mmu_notifier_range range;
	int ret;

	ret = mmap_read_lock_killable(mm);
	if (ret)
		return ret;
	/* Secondary MMUs (KVM) must stop writing what we protect. */
	wpu_mn_range_init(&range, MMU_NOTIFY_PROTECTION_VMA, NULL, mm, start,
			  s->arg.end);
	if (wp)
		wpu_mn_start(&range);
	ret = wpu_kc.walk_page_range(mm, start, s->arg.end, &wpu_scan_ops, s);
	if (wp)
		wpu_mn_end(&range);
	mmap_read_unlock(mm);
	return ret;
}

long wpu_pagemap_scan(struct mm_struct *mm, unsigned long uarg)
{
	struct pm_scan_arg __user *uargp = (void __user *)uarg;
	struct wpu_scan s = { 0 };
	unsigned long start;
	long ret, n, ranges = 0;

	if (!mm || !mmget_not_zero(mm))
		return -ESRCH;
	ret = wpu_scan_get_args(&s.arg, uarg);
	if (ret)
		goto out_mm;
	/* A fork child may not be tracked yet (track.c). */
	if (s.arg.flags & PM_SCAN_WP_MATCHING) {
		ret = wpu_track_holes(mm);
		if (ret)
			goto out_mm;
	}
	s.interest = s.arg.category_mask | s.arg.category_anyof_mask |
		     s.arg.return_mask;
	ret = wpu_scan_buf_init(&s);
	if (ret)
		goto out_mm;
	wpu_count(scans);

	/* The buffer holds one pmd of ranges: walk again until done or full. */
	for (start = s.arg.start; start < s.arg.end; start = s.arg.walk_end) {
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		ret = wpu_scan_pass(mm, &s, start);
		n = wpu_scan_buf_flush(&s);
		if (n < 0)
			ret = n;
		else
			ranges += n;
		if (ret != -ENOSPC || !s.arg.vec_len ||
		    s.found == s.arg.max_pages)
			break;
	}
	if (!ret || ret == -ENOSPC)
		ret = ranges;
	if (!s.arg.walk_end)
		s.arg.walk_end = s.arg.end;
	if (put_user(s.arg.walk_end, &uargp->walk_end))
		ret = -EFAULT;
	kfree(s.buf);
out_mm:
	mmput(mm);
	return ret;
}
