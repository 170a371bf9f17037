// SPDX-License-Identifier: GPL-2.0
/*
 * Huge holes: protecting a whole empty 2 MiB at pmd level.
 *
 * The pte-level pre-pass (holes.c) allocates a page table per 2 MiB and
 * writes 512 entries into it, as 6.4+ does.  Where the range covers a whole
 * 2 MiB-aligned part of a THP-eligible VMA that has no page table yet, one
 * pmd can say the same: the huge zero page, read-only, with the uffd-wp bit.
 * That is what stock produces when a read fault maps the huge zero page and
 * UFFDIO_WRITEPROTECT then protects it (MADV_POPULATE_READ + protect), so
 * every stock path already handles it:
 *
 *   read         no fault, zeros; the pmd stays protected
 *   write        wp_huge_pmd() -> handle_userfault(VM_UFFD_WP), the
 *                faulting address in the message; after unprotect the
 *                stock COW falls back to ptes (do_huge_pmd_wp_page())
 *   split        __split_huge_zero_page_pmd() carries uffd-wp into every
 *                pte (5.10, 6.1; kernel map 4.12; not 5.19.0: compat.h)
 *   fork         copy_huge_pmd() keeps the bit for an EVENT_FORK child and
 *                clears it otherwise
 *   migration    the huge zero page never migrates, so 5.10's loss of the
 *                bit on THP migration does not apply
 *   khugepaged   does not scan huge pmds
 *
 * What 6.4+ does differently with its 512 markers is made the same here
 * where it can be observed by a program through more than pagemap/mincore:
 * a huge hole that no CPU has read (its accessed bit is clear: installed
 * old) is turned back into none when it is unprotected whole, into 512
 * ordinary protected holes when only part of it is unprotected, and into
 * 512 ordinary holes when MISSING is registered over it.
 *
 * That cannot be done once it has been read: the accessed bit covers the
 * 2 MiB, not the page that was read, and a read huge hole looks exactly
 * like what MADV_POPULATE_READ + protect gives, which 6.4+ leaves huge
 * too.  So it stays a read huge zero page, and UFFDIO_COPY into it fails
 * and a MISSING registration over it sends no message, where 6.4+ has 511
 * holes.  Hence huge holes are opt-in (huge_holes=on; compat.h); the
 * differences that remain are listed in the README.
 *
 * Never for MISSING|WP VMAs: a read of a huge hole would satisfy what must
 * be a MISSING fault.
 */
#include <linux/huge_mm.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/oom.h>
#include <asm/pgalloc.h>

#include "wpu_holes.h"

static unsigned long wpu_thp_flags_addr, wpu_huge_zero_pfn_addr;
static unsigned long wpu_get_huge_zero_fn, wpu_pte_alloc_one_fn;
static unsigned long wpu_deposit_fn, wpu_withdraw_fn, wpu_thp_vma_fn;
/* 6.8+: the anonymous THP orders enabled in sysfs (compat.h) */
unsigned long wpu_compat_thp_orders[3];

#if ALLOC_SPLIT_PTLOCKS
/*
 * With lockdep or spinlock debugging (tests/debug-kernel) the page-table
 * lock does not fit in struct page, and the inline pte_free() calls
 * ptlock_free(), which is not exported: link it to the kernel's own,
 * resolved like the rest (huge holes stay unavailable without it).
 */
static unsigned long wpu_ptlock_free_fn;

void ptlock_free(struct page *page)
{
	typeof(ptlock_free) *fn = (void *)wpu_ptlock_free_fn;

	fn(page);
}

#define WPU_PTLOCK_FREE_SYM { "ptlock_free", &wpu_ptlock_free_fn, true },
#else
#define WPU_PTLOCK_FREE_SYM
#endif

static const struct wpu_sym wpu_huge_syms[] = {
	{ "transparent_hugepage_flags", &wpu_thp_flags_addr, true, true },
	{ "huge_zero_pfn", &wpu_huge_zero_pfn_addr, true, true },
	{ WPU_HUGE_ZERO_SYM, &wpu_get_huge_zero_fn, true },
	{ "pte_alloc_one", &wpu_pte_alloc_one_fn, true },
	{ "pgtable_trans_huge_deposit", &wpu_deposit_fn, true },
	{ "pgtable_trans_huge_withdraw", &wpu_withdraw_fn, true },
	{ WPU_THP_VMA_SYM, &wpu_thp_vma_fn, true },
	WPU_THP_ORDER_SYMS
	WPU_PTLOCK_FREE_SYM
};

/* Set once the first huge hole is installed; never cleared. */
static bool wpu_huge_used;

bool wpu_huge_holes_seen(void)
{
	return READ_ONCE(wpu_huge_used);
}

/* Every symbol resolved, on a kernel whose split keeps them protected. */
bool wpu_huge_available(void)
{
	unsigned int i;

	if (!IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE) || !WPU_HUGE_SPLIT_KEEPS_WP)
		return false;
	for (i = 0; i < ARRAY_SIZE(wpu_huge_syms); i++)
		if (!*wpu_huge_syms[i].addr)
			return false;
	return true;
}

/* The huge_holes= parameter, once it is known whether it can be had. */
static int wpu_huge_check(void)
{
	int ret = wpu_parse_huge_holes(wpu_huge_available());

	if (ret)
		pr_err("huge_holes=%s is not available on %s; refusing to load\n",
		       wpu_huge_holes_param_name(), wpu_kernel_release());
	return ret;
}

/* Its symbols are all optional: without them huge_holes is off. */
const struct wpu_part wpu_huge_part = {
	.name = "hugehole",
	.syms = wpu_huge_syms,
	.nr_syms = ARRAY_SIZE(wpu_huge_syms),
	.check = wpu_huge_check,
};

/* --- the protected-hole entry ------------------------------------------- */

/*
 * The entry that protects one hole, for the backend in use.  Here rather
 * than in holes.c because a huge hole that is split becomes 512 of them,
 * and holes.c builds on this file, not the other way round.
 */
pte_t wpu_hole_pte(struct vm_area_struct *vma, unsigned long addr)
{
	pte_t pte;

	if (wpu_markers())
		return wpu_compat_marker_pte();
	pte = pfn_pte(my_zero_pfn(addr), vma->vm_page_prot);
	/*
	 * Old: the CPU sets the accessed bit on the first read, which tells a
	 * hole nobody read (still "none" to 6.4+) from a zero page a read
	 * mapped (present to 6.4+ too).  Before 6.5 pte_mkuffd_wp() does not
	 * clear the write bit itself.
	 */
	return pte_mkuffd_wp(pte_wrprotect(pte_mkold(pte_mkspecial(pte))));
}

bool wpu_is_huge_zero_pmd(pmd_t pmd)
{
	return wpu_huge_zero_pfn_addr && pmd_present(pmd) &&
	       pmd_trans_huge(pmd) &&
	       pmd_pfn(pmd) == READ_ONCE(*(unsigned long *)wpu_huge_zero_pfn_addr);
}

static bool wpu_is_huge_hole(pmd_t pmd)
{
	return wpu_is_huge_zero_pmd(pmd) && pmd_uffd_wp(pmd);
}

/* A huge hole of ours that no CPU has read since it was installed. */
static bool wpu_is_unread_huge_hole(pmd_t pmd)
{
	return wpu_is_huge_hole(pmd) && !pmd_young(pmd);
}

/*
 * May holes of @vma be protected at pmd level?  Asked once per protect
 * pass: the same question the fault path asks before it maps the huge zero
 * page on a read (THP allowed for the VMA, the huge zero page in use).
 */
bool wpu_huge_eligible(struct vm_area_struct *vma)
{
	unsigned long flags;

	if (!READ_ONCE(wpu_huge_holes) || userfaultfd_missing(vma))
		return false;
	flags = READ_ONCE(*(unsigned long *)wpu_thp_flags_addr);
	if (!(flags & BIT(TRANSPARENT_HUGEPAGE_USE_ZERO_PAGE_FLAG)))
		return false;
	return wpu_compat_thp_vma(wpu_thp_vma_fn, flags, vma);
}

/* A page table pte_alloc_one() gave us and nobody used. */
void wpu_huge_free_table(struct mm_struct *mm, pgtable_t table)
{
	if (table)
		pte_free(mm, table);
}

/*
 * Install a protected huge hole in the none pmd of [haddr, haddr + 2 MiB),
 * as do_huge_pmd_anonymous_page() maps the huge zero page on a read fault,
 * plus uffd-wp and a clear accessed bit.  *@table is a page table to
 * deposit (allocated here when NULL; consumed on success).  Returns 1 when
 * installed, 0 when the caller should protect the range with ptes (the pmd
 * is no longer none, or there is no huge zero page), -ENOMEM.  Called with
 * mmap_lock held.
 */
int wpu_huge_hole_install(struct vm_area_struct *vma, pmd_t *pmd,
			  unsigned long haddr, pgtable_t *table)
{
	typeof(pte_alloc_one) *alloc = (void *)wpu_pte_alloc_one_fn;
	typeof(pgtable_trans_huge_deposit) *deposit = (void *)wpu_deposit_fn;
	struct mm_struct *mm = vma->vm_mm;
	struct page *zero;
	spinlock_t *ptl;	/* of this pmd */
	pmd_t entry;

	wpu_mmap_assert_locked(mm);
	if (!wpu_compat_thp_suitable(vma, haddr) || check_stable_address_space(mm))
		return 0;
	if (!*table) {
		*table = alloc(mm);
		if (!*table)
			return -ENOMEM;
	}
	zero = wpu_compat_huge_zero(wpu_get_huge_zero_fn, mm);
	if (!zero)
		return 0;
	entry = pmd_mkhuge(mk_pmd(zero, vma->vm_page_prot));
	entry = pmd_mkuffd_wp(pmd_wrprotect(pmd_mkold(entry)));
	/* Before the first one is visible: unprotect and zap look for them. */
	if (!READ_ONCE(wpu_huge_used))
		WRITE_ONCE(wpu_huge_used, true);

	ptl = pmd_lock(mm, pmd);
	if (!pmd_none(*pmd)) {
		spin_unlock(ptl);
		return 0;
	}
	deposit(mm, pmd, *table);
	set_pmd_at(mm, haddr, pmd, entry);
	mm_inc_nr_ptes(mm);
	spin_unlock(ptl);
	*table = NULL;
	wpu_count(huge_holes);
	return 1;
}

/* --- huge holes that stop being whole, or stop being protected ---------- */

/* The pmd of @addr if there is a page-table page for it; no allocation. */
pmd_t *wpu_pmd_lookup(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;

	if (pgd_none(*pgd))
		return NULL;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(*p4d))
		return NULL;
	pud = pud_offset(p4d, addr);
	if (pud_none(*pud) || !pud_present(*pud) || pud_trans_huge(*pud))
		return NULL;
	return pmd_offset(pud, addr);
}

/*
 * Replace the unread huge hole at @haddr by none (@whole) or by a page
 * table of 512 protected holes, the deposited table.  A hole read since the
 * caller looked stays as it is: stock code handles read huge zero pages.
 */
static void wpu_huge_hole_put(struct vm_area_struct *vma, pmd_t *pmd,
			      unsigned long haddr, bool whole)
{
	typeof(pgtable_trans_huge_withdraw) *withdraw = (void *)wpu_withdraw_fn;
	unsigned long end = haddr + HPAGE_PMD_SIZE, addr;
	struct mm_struct *mm = vma->vm_mm;
	struct mmu_notifier_range range;
	spinlock_t *ptl;	/* of this pmd */
	pgtable_t table;
	pmd_t old, tmp;
	pte_t hole, *start_pte, *pte;

	wpu_mn_range_init(&range, MMU_NOTIFY_CLEAR, vma, mm, haddr, end);
	wpu_mn_start(&range);
	ptl = pmd_lock(mm, pmd);
	if (!wpu_is_unread_huge_hole(*pmd))
		goto unlock;
	old = pmdp_huge_get_and_clear(mm, haddr, pmd);
	if (pmd_young(old)) {		/* read just now: it stays */
		set_pmd_at(mm, haddr, pmd, old);
		goto unlock;
	}
	table = withdraw(mm, pmd);
	if (whole) {
		pte_free(mm, table);
		mm_dec_nr_ptes(mm);
		goto unlock;
	}
	/* As __split_huge_zero_page_pmd(), with holes instead of zero ptes. */
	hole = wpu_hole_pte(vma, haddr);
	pmd_populate(mm, &tmp, table);
	/* @tmp points to a table: this cannot fail. */
	start_pte = pte_offset_map(&tmp, haddr);
	for (addr = haddr, pte = start_pte; addr < end; addr += PAGE_SIZE, pte++)
		set_pte_at(mm, addr, pte, hole);
	pte_unmap(start_pte);
	smp_wmb();	/* the ptes before the pmd that points to them */
	pmd_populate(mm, pmd, table);
unlock:
	spin_unlock(ptl);
	wpu_flush_tlb_range(mm, haddr, end, PMD_SHIFT);
	wpu_mn_end(&range);
}

/*
 * If @pmdval (of @pmd, for [addr, next) within one pmd) is an unread huge
 * hole, turn it into what 6.4+ has there: none where the whole 2 MiB is
 * covered and !@keep (unprotect, unregister, zap), 512 protected holes
 * otherwise (part of it unprotected or zapped; MISSING registered over it;
 * UFFDIO_COPY into it).  Returns whether it was one.  mmap_lock held.
 */
bool wpu_huge_hole_release(struct vm_area_struct *vma, pmd_t *pmd,
			   pmd_t pmdval, unsigned long addr, unsigned long next,
			   bool keep)
{
	unsigned long haddr = addr & HPAGE_PMD_MASK;

	wpu_mmap_assert_locked(vma->vm_mm);
	if (!wpu_huge_holes_seen() || !wpu_is_unread_huge_hole(pmdval))
		return false;
	wpu_huge_hole_put(vma, pmd, haddr, !keep && addr == haddr &&
			  next == haddr + HPAGE_PMD_SIZE);
	return true;
}

/* wpu_huge_hole_release() over a range. */
void wpu_huge_holes_release(struct vm_area_struct *vma, unsigned long addr,
			    unsigned long end, bool keep)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long next;

	if (!wpu_huge_holes_seen())
		return;
	for (; addr < end; addr = next) {
		pmd_t *pmd;

		next = pmd_addr_end(addr, end);
		pmd = wpu_pmd_lookup(mm, addr);
		if (pmd && wpu_huge_hole_release(vma, pmd, READ_ONCE(*pmd),
						 addr, next, keep))
			cond_resched();
	}
}
