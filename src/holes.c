// SPDX-License-Identifier: GPL-2.0
/*
 * Protected holes: filling and clearing them.  The engine behind
 * UFFDIO_WRITEPROTECT (protect.c), UFFDIO_REGISTER and UFFDIO_COPY
 * (uffd_ioctl.c), unregister and close (reset.c) and PAGEMAP_SCAN (scan.c);
 * huge holes are hugehole.c's.
 *
 * Stock change_protection() skips none ptes and missing page tables of
 * anonymous VMAs, so a later first touch maps a writable page (or a THP)
 * without a write-protect fault.  For VMAs whose context wants holes
 * protected, a pass before the original allocates the page tables of the
 * whole range (as 6.4+ does: no THP can then appear in a protected hole)
 * and fills every none pte with the backend's "protected hole":
 *
 *   marker    a PTE_MARKER_UFFD_WP swap-type entry, exactly what 6.4+
 *             installs; fault.c and zap.c teach the rest of the kernel
 *             the anonymous-memory semantics of 6.4+.
 *   zeropage  a present, read-only, special zero-page pte with the uffd-wp
 *             bit: what stock produces after a read of a hole followed by
 *             UFFDIO_WRITEPROTECT, so every stock path already handles it.
 *
 * Ordering: holes first, original second.  A pte that is none during our
 * pass gets its protected-hole entry under the page-table lock, so a racing
 * fault sees it; a pte that is populated is protected by the original.  The
 * other order would let a fault fill a hole between the two passes.  When
 * our pass saw nothing but holes, the original would only re-walk what we
 * just wrote, so it is skipped.
 */
#include <linux/huge_mm.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/rmap.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>

#include "wpu_holes.h"

static bool wpu_vma_protects_holes(struct vm_area_struct *vma);

/* A zero-page hole of ours that no CPU has read since it was installed. */
static bool wpu_is_unread_hole(pte_t pte)
{
	return pte_present(pte) && is_zero_pfn(pte_pfn(pte)) &&
	       pte_uffd_wp(pte) && !pte_young(pte);
}

/*
 * Fill the none ptes of one page table with @hole.  Returns the number
 * filled; sets *others when anything else (present, swap, marker) was seen.
 * Called with mmap_lock held; takes the page-table lock.
 */
static long wpu_fill_table(struct vm_area_struct *vma, pmd_t *pmd,
			   unsigned long addr, unsigned long end, pte_t hole,
			   bool *others)
{
	struct mm_struct *mm = vma->vm_mm;
	pte_t *start_pte, *pte;
	spinlock_t *ptl;	/* of this page table */
	long filled = 0;

	wpu_mmap_assert_locked(mm);
	start_pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!start_pte) {		/* 6.5+: the table went away */
		*others = true;
		return 0;
	}
	for (pte = start_pte; addr < end; addr += PAGE_SIZE, pte++) {
		if (!pte_none(*pte)) {
			*others = true;
			continue;
		}
		set_pte_at(mm, addr, pte, hole);
		filled++;
	}
	pte_unmap_unlock(start_pte, ptl);
	return filled;
}

/*
 * THPs are write-protected (and unprotected) as 512 ptes, on every kernel
 * the module loads on:
 *
 * - Before 6.5, change_pmd_range() reads a pmd twice without its lock:
 *   is_swap_pmd(*pmd), then pmd_none_or_clear_bad_unless_trans_huge().  A
 *   THP whose migration (move_pages(), NUMA balancing, compaction) installs
 *   its pmd migration entry between the two reads is taken for a bad pmd
 *   and cleared: the THP leaks ("BUG: Bad rss-counter state", "non-zero
 *   pgtables_bytes" at exit) and its protection is gone.  6.5 reads the pmd
 *   once (commit 670ddd8cdcbd, not in the stable trees this module serves).
 *   A pmd that points to a page table keeps doing so while mmap_lock is
 *   held (a collapse needs it for write), so once the THPs of the range are
 *   pte-mapped the original never meets a huge pmd there.
 * - Before 5.19 set_pmd_migration_entry() does not carry the uffd-wp bit of
 *   a huge pmd; the pte migration entries of a pte-mapped THP do.
 *
 * A THP that is a pmd migration entry right now is split as well, into 512
 * pte migration entries that keep the bit when the migration completes.
 * The THP itself stays whole; only its mapping changes.  The huge zero page
 * never migrates: huge holes stay huge.  Returns whether it split.
 */
static bool wpu_split_thp(struct vm_area_struct *vma, pmd_t *pmd,
			  pmd_t pmdval, unsigned long addr)
{
	if (wpu_is_huge_zero_pmd(pmdval) ||
	    !(pmd_trans_huge(pmdval) || is_pmd_migration_entry(pmdval)))
		return false;
	wpu_split_huge_pmd(vma, pmd, addr & HPAGE_PMD_MASK);
	return true;
}

/*
 * Called with mmap_lock held (read for UFFDIO_WRITEPROTECT).  With the lock
 * held for read an anonymous page table cannot be freed or collapsed into a
 * THP under us (both need it for write), so once a pmd points to a table it
 * keeps pointing to that table.
 */
static long wpu_protect_holes(struct vm_area_struct *vma, unsigned long addr,
			      unsigned long end, bool *others)
{
	/* One zero page on x86 and one vm_page_prot: the same entry throughout. */
	pte_t hole = wpu_hole_pte(vma, addr);
	bool huge = wpu_huge_eligible(vma);
	struct mm_struct *mm = vma->vm_mm;
	pgtable_t table = NULL;		/* for the next huge hole */
	unsigned long next;
	long filled = 0;

	wpu_mmap_assert_locked(mm);
	/*
	 * The stock read fault prepares the anon_vma before it maps the huge
	 * zero page, and the stock write fault on a huge zero pmd relies on
	 * it (do_huge_pmd_wp_page(): VM_BUG_ON_VMA on DEBUG_VM kernels).
	 */
	if (huge && wpu_anon_vma_prepare(vma))
		return -ENOMEM;
	for (; addr < end; addr = next) {
		pmd_t *pmd, pmdval;

		next = pmd_addr_end(addr, end);
		if (atomic_dec_if_positive(&wpu_fail_protect) >= 0) {
			filled = -ENOMEM;	/* fault injection (tests) */
			break;
		}
		pmd = wpu_pmd_alloc(mm, addr);
		if (!pmd) {
			filled = -ENOMEM;
			break;
		}
		/* A whole empty 2 MiB: one protected huge zero pmd (hugehole.c). */
		if (huge && !(addr & ~HPAGE_PMD_MASK) &&
		    next - addr == HPAGE_PMD_SIZE && pmd_none(READ_ONCE(*pmd))) {
			int ret = wpu_huge_hole_install(vma, pmd, addr, &table);

			if (ret < 0) {
				filled = ret;
				break;
			}
			if (ret) {
				filled += HPAGE_PMD_NR;
				continue;
			}
		}
		if (wpu_pte_alloc(mm, pmd)) {
			filled = -ENOMEM;
			break;
		}

		pmdval = READ_ONCE(*pmd);
		if (wpu_split_thp(vma, pmd, pmdval, addr))
			pmdval = READ_ONCE(*pmd);
		if (!pmd_present(pmdval) || pmd_trans_huge(pmdval) ||
		    pmd_devmap(pmdval) || pmd_bad(pmdval)) {
			/* THP, huge zero page, migration entry: the original's */
			*others = true;
			continue;
		}
		filled += wpu_fill_table(vma, pmd, addr, next, hole, others);
		cond_resched();
	}
	wpu_huge_free_table(mm, table);
	return filled;
}

/* --- zero-page backend: holes that stop being protected ------------------ */

/*
 * Is there an unread hole in this page table?  *others is set when the
 * part scanned held anything else that is not none.  Unlocked: the caller
 * looks again under the lock.  The table is unmapped before the caller
 * may sleep (6.5+ maps it inside an RCU read-side section).
 */
static bool wpu_table_has_unread_holes(pmd_t *pmd, unsigned long addr,
				       unsigned long end, bool *others)
{
	pte_t *start_pte = pte_offset_map(pmd, addr), *pte;
	bool found = false;

	if (!start_pte) {		/* 6.5+: the table went away */
		*others = true;
		return false;
	}
	for (pte = start_pte; addr < end; addr += PAGE_SIZE, pte++) {
		pte_t v = READ_ONCE(*pte);

		if (wpu_is_unread_hole(v)) {
			found = true;
			break;
		}
		if (!pte_none(v))
			*others = true;
	}
	pte_unmap(start_pte);
	return found;
}

/* Clear the unread holes of one page table; *others as above. */
static void wpu_clear_table(struct vm_area_struct *vma, pmd_t *pmd,
			    unsigned long addr, unsigned long end, bool *others)
{
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	unsigned long a = addr;
	pte_t *start_pte, *pte;
	spinlock_t *ptl;	/* of this page table */

	/* A secondary MMU (KVM) may map the zero page without setting 'young'. */
	wpu_mn_range_init(&range, MMU_NOTIFY_CLEAR, vma, mm, addr, end);
	wpu_mn_start(&range);
	start_pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!start_pte) {		/* 6.5+: the table went away */
		*others = true;
		goto out;
	}
	for (pte = start_pte; a < end; a += PAGE_SIZE, pte++) {
		pte_t old;

		if (!wpu_is_unread_hole(*pte)) {
			if (!pte_none(*pte))
				*others = true;
			continue;
		}
		old = ptep_get_and_clear(mm, a, pte);
		if (pte_young(old)) {	/* read just now: it stays */
			set_pte_at(mm, a, pte, old);
			*others = true;
		}
	}
	pte_unmap_unlock(start_pte, ptl);
	/* No TLB caches a translation whose accessed bit is clear: belt and braces. */
	wpu_flush_tlb_range(mm, addr, end, PAGE_SHIFT);
out:
	wpu_mn_end(&range);
}

/*
 * The zero-page backend's holes outlive their protection: after unprotect,
 * unregister or close, or when MISSING is registered over them, a hole that
 * nobody read is "none" again on 6.4+ (not resident, a MISSING fault on the
 * next access).  Turn such holes back into none ptes, and unread huge holes
 * (any backend) back into none pmds.  Whatever the backend, the THPs of
 * the range are mapped by ptes on the way (wpu_split_thp()), for the
 * original that unprotects after us.  mmap_lock held.
 *
 * Returns false when the range held nothing else (it is all none now), so
 * that an unprotect has nothing left for the original to do: the same
 * ordering argument as for protect holds, a fault cannot make a protected
 * entry appear.
 */
bool wpu_clear_holes(struct vm_area_struct *vma, unsigned long addr,
		     unsigned long end)
{
	/* Markers need no clearing; huge holes (any backend) do. */
	bool clear = !wpu_markers() || wpu_huge_holes_seen();
	struct mm_struct *mm = vma->vm_mm;
	bool others = !clear;
	unsigned long next;

	wpu_mmap_assert_locked(mm);
	for (; addr < end; addr = next) {
		pmd_t *pmd, pmdval;

		next = pmd_addr_end(addr, end);
		pmd = wpu_pmd_lookup(mm, addr);
		if (!pmd)
			continue;
		pmdval = READ_ONCE(*pmd);
		if (wpu_split_thp(vma, pmd, pmdval, addr)) {
			pmdval = READ_ONCE(*pmd);
			cond_resched();
		}
		if (!clear)
			continue;
		if (wpu_huge_hole_release(vma, pmd, pmdval, addr, next, false))
			pmdval = READ_ONCE(*pmd);
		if (pmd_none(pmdval))
			continue;
		if (wpu_markers() || !pmd_present(pmdval) ||
		    pmd_trans_huge(pmdval) || pmd_devmap(pmdval) ||
		    pmd_bad(pmdval)) {
			others = true;	/* markers, read huge holes: the original's */
			continue;
		}
		if (wpu_table_has_unread_holes(pmd, addr, next, &others))
			wpu_clear_table(vma, pmd, addr, next, &others);
		cond_resched();
	}
	return others;
}

/*
 * UFFDIO_REGISTER adding MISSING over protected holes: on 6.4+ the next
 * access to such a hole is a MISSING fault, so zero-page holes must be none
 * again, and huge holes (any backend) must stop satisfying reads.  Done
 * after the original, in the VMAs it made MISSING (with WP or without): a
 * registration it rejects leaves the VMA write-protect only, where the
 * holes must stay.  Until then a write to a hole is a WP fault and a read
 * sees zeros, what 6.4+ gives an access just before the registration.  (A
 * MISSING VMA never gets new holes, so in one registered earlier there is
 * nothing to find.)
 * UFFDIO_COPY onto a protected hole: 6.4+ replaces the marker, and stock
 * refuses a huge pmd (EEXIST), so huge holes become 512 holes first.
 * That one runs before the original.  No lock held by the callers.
 */
static bool wpu_vma_missing_holes(struct wpu_uffd_ctx *ctx,
				  struct vm_area_struct *vma)
{
	return wpu_compat_vma_ctx(vma) == ctx && vma_is_anonymous(vma) &&
	       !(vma->vm_flags & VM_SHARED) && userfaultfd_missing(vma) &&
	       wpu_ctx_protects_holes(ctx);
}

static void wpu_before_fill(struct wpu_uffd_ctx *ctx, unsigned long start,
			    unsigned long len, bool missing)
{
	struct mm_struct *mm = ctx->mm;
	struct vm_area_struct *vma;
	unsigned long end = start + len;

	/* Checked by the original too; the argument may have changed since. */
	if ((start | len) & ~PAGE_MASK || end <= start || end > TASK_SIZE ||
	    !mmget_not_zero(mm))
		return;
	mmap_read_lock(mm);
	for (vma = find_vma(mm, start); vma && vma->vm_start < end;
	     vma = find_vma(mm, vma->vm_end)) {
		unsigned long s = max(start, vma->vm_start);
		unsigned long e = min(end, vma->vm_end);

		if (missing ? !wpu_vma_missing_holes(ctx, vma) :
		    wpu_compat_vma_ctx(vma) != ctx || !wpu_vma_protects_holes(vma))
			continue;
		wpu_huge_holes_release(vma, s, e, true);
		if (missing && !wpu_markers())
			wpu_clear_holes(vma, s, e);
	}
	mmap_read_unlock(mm);
	mmput(mm);
}

static bool wpu_same_register(const struct uffdio_register *a,
			      const struct uffdio_register *b)
{
	return a->range.start == b->range.start &&
	       a->range.len == b->range.len && a->mode == b->mode;
}

static void wpu_missing_registered(struct wpu_uffd_ctx *ctx,
				   const struct uffdio_register *reg)
{
	if (reg->mode & UFFDIO_REGISTER_MODE_MISSING)
		wpu_before_fill(ctx, reg->range.start, reg->range.len, true);
}

/*
 * After UFFDIO_REGISTER, whatever it returned.  @seen is the argument as it
 * was before the original read it; if it reads differently now, another
 * thread changed it, and the original registered one of the two: both are
 * done.  Only VMAs that are MISSING registered with @ctx now are touched.
 */
void wpu_after_register(struct wpu_uffd_ctx *ctx,
			const struct uffdio_register *seen, unsigned long arg)
{
	struct uffdio_register now;

	if (wpu_markers() && !wpu_huge_holes_seen())
		return;
	wpu_missing_registered(ctx, seen);
	if (!copy_from_user(&now, (void __user *)arg, sizeof(now)) &&
	    !wpu_same_register(&now, seen))
		wpu_missing_registered(ctx, &now);
}

void wpu_before_copy(struct wpu_uffd_ctx *ctx, unsigned long arg)
{
	struct uffdio_copy __user *ucopy = (void __user *)arg;
	struct uffdio_copy copy;

	if (!wpu_huge_holes_seen() ||
	    copy_from_user(&copy, ucopy, sizeof(copy)))
		return;
	wpu_before_fill(ctx, copy.dst, copy.len, false);
}

static bool wpu_vma_protects_holes(struct vm_area_struct *vma)
{
	if (!vma_is_anonymous(vma) || (vma->vm_flags & VM_SHARED) ||
	    !userfaultfd_wp(vma) || !wpu_ctx_wants_holes(vma) ||
	    !wpu_mm_protects(vma->vm_mm))	/* pins the module (track.c) */
		return false;
	/*
	 * A zero-page pte would satisfy reads that a MISSING registration
	 * must see, and UFFDIO_COPY refuses to replace it (-EEXIST): in
	 * MISSING|WP VMAs the holes already trap every access, so they stay.
	 */
	if (!wpu_markers() && userfaultfd_missing(vma))
		return false;
	return true;
}

static int wpu_prepare_vma(struct vm_area_struct *vma)
{
	/*
	 * Zero-page holes are present ptes, and before 5.19 fork copies the
	 * page tables of an anonymous VMA only when it has an anon_vma: without
	 * one an EVENT_FORK child would lose the protection of every hole.
	 * Without EVENT_FORK the child must get plain holes (as 6.4+ drops
	 * markers), which is also what skipping the copy gives, cheaply.
	 */
	if (wpu_markers() || vma->anon_vma ||
	    !(READ_ONCE(wpu_compat_vma_ctx(vma)->features) &
	      UFFD_FEATURE_EVENT_FORK))
		return 0;
	return wpu_anon_vma_prepare(vma);
}

/*
 * The protect pass of change_protection() (protect.c): before the original,
 * fill the holes of a range that gets protected, clear those of one that
 * gets unprotected.  Returns whether the original still has work there.
 */
bool wpu_holes_change_protection(struct vm_area_struct *vma,
				 unsigned long start, unsigned long end,
				 unsigned long cp_flags)
{
	bool others = true;

	if ((cp_flags & MM_CP_UFFD_WP_RESOLVE) && wpu_vma_protects_holes(vma)) {
		others = wpu_clear_holes(vma, start, end);
	} else if ((cp_flags & MM_CP_UFFD_WP) && wpu_vma_protects_holes(vma)) {
		long filled;

		others = false;
		filled = wpu_prepare_vma(vma) ?:
			 wpu_protect_holes(vma, start, end, &others);
		wpu_count(protect_calls);
		if (filled < 0) {
			/*
			 * As 6.4+: what was reached stays protected, and
			 * UFFDIO_WRITEPROTECT fails with the error (uffd_ioctl.c).
			 */
			wpu_count(protect_enomem);
			wpu_protect_report(vma->vm_mm, filled);
			others = true;
		} else {
			atomic64_add(filled, &wpu_stats.holes_protected);
		}
	}
	return others;
}

/* --- PAGEMAP_SCAN with PM_SCAN_WP_MATCHING (scan.c) ---------------------- */

/* Before a scan write-protects holes of @vma; may sleep. */
int wpu_holes_prepare(struct vm_area_struct *vma)
{
	return wpu_vma_protects_holes(vma) ? wpu_prepare_vma(vma) : 0;
}

/* The entry that protects a none pte of @vma, if its holes are protected. */
bool wpu_hole_entry(struct vm_area_struct *vma, unsigned long addr,
		    pte_t *entry)
{
	if (!wpu_vma_protects_holes(vma))
		return false;
	*entry = wpu_hole_pte(vma, addr);
	return true;
}

/* Protect a range of @vma that has no page table yet.  mmap_lock held. */
int wpu_protect_unpopulated(struct vm_area_struct *vma, unsigned long addr,
			    unsigned long end)
{
	bool others = false;
	long filled;

	wpu_mmap_assert_locked(vma->vm_mm);
	if (!wpu_vma_protects_holes(vma))
		return 0;
	filled = wpu_protect_holes(vma, addr, end, &others);
	if (filled < 0)
		return filled;
	atomic64_add(filled, &wpu_stats.holes_protected);
	return 0;
}

