/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Force-included into every object: the only place that knows how the
 * kernels we support differ.  Logic files use the wpu_compat_* names and
 * never look at LINUX_VERSION_CODE.  The -D flags come from
 * compat/Kbuild.include, which compiles the probes in compat/probes/
 * against the kernel being built for.
 */
#ifndef WPU_COMPAT_H
#define WPU_COMPAT_H

#include <linux/version.h>
#include <linux/ftrace.h>
#include <linux/mm.h>
#include <linux/hugetlb.h>
#include <linux/mmu_notifier.h>
#include <linux/swap.h>		/* before swapops.h: MAX_SWAPFILES_SHIFT */
#include <linux/swapops.h>
#include <linux/userfaultfd_k.h>
#include <linux/uaccess.h>

/* --- ftrace callback ---------------------------------------------------- */

#ifdef WPU_HAVE_FTRACE_REGS
typedef struct ftrace_regs wpu_ftrace_regs_t;
static __always_inline struct pt_regs *wpu_compat_regs(wpu_ftrace_regs_t *f)
{
	return ftrace_get_regs(f);
}

/* The callback only rewrites regs->ip; ftrace may guard recursion for us. */
#define WPU_FTRACE_OPS_FLAGS	FTRACE_OPS_FL_RECURSION
#else
typedef struct pt_regs wpu_ftrace_regs_t;
static __always_inline struct pt_regs *wpu_compat_regs(wpu_ftrace_regs_t *r)
{
	return r;
}

/* Before 5.11 the flag says "callback is recursion safe"; it is. */
#define WPU_FTRACE_OPS_FLAGS	FTRACE_OPS_FL_RECURSION_SAFE
#endif

/* --- IBT ------------------------------------------------------------------ */

/*
 * With CONFIG_X86_KERNEL_IBT the kernel "seals" (overwrites) the ENDBR of
 * functions whose address is never taken; an indirect call to one of them
 * faults on CPUs that enforce IBT.  We call the functions we resolve through
 * pointers, so refuse any whose ENDBR is gone.  A kprobe on an IBT kernel
 * reports the address after the ENDBR; wpu_compat_func_start() undoes that.
 */
#ifdef CONFIG_X86_KERNEL_IBT
#include <asm/ibt.h>
static inline bool wpu_compat_is_endbr(unsigned long addr)
{
	u32 insn;

	if (copy_from_kernel_nofault(&insn, (void *)addr, sizeof(insn)))
		return false;
	return is_endbr(insn);
}

static inline unsigned long wpu_compat_func_start(unsigned long addr)
{
	return wpu_compat_is_endbr(addr - ENDBR_INSN_SIZE) ?
		addr - ENDBR_INSN_SIZE : addr;
}

static inline bool wpu_compat_callable(unsigned long addr)
{
	return !cpu_feature_enabled(X86_FEATURE_IBT) || wpu_compat_is_endbr(addr);
}
#else
static inline unsigned long wpu_compat_func_start(unsigned long addr)
{
	return addr;
}

static inline bool wpu_compat_callable(unsigned long addr)
{
	return true;
}
#endif

/* --- change_protection() ----------------------------------------------- */

/*
 * Its parameter list changed twice; wrappers are declared with the list of
 * the kernel being built (WPU_CP_PARAMS) and pass it on (WPU_CP_ARGS).
 * WPU_CP_ARG_FLAGS is the index of cp_flags, for the ftrace predicate.
 */
#if defined(WPU_CP_HAS_TLB) && defined(WPU_CP_HAS_NEWPROT)
/* 5.19 - 6.1 */
typedef long wpu_cp_ret_t;
#define WPU_CP_PARAMS	struct mmu_gather *tlb, struct vm_area_struct *vma, \
			unsigned long start, unsigned long end, \
			pgprot_t newprot, unsigned long cp_flags
#define WPU_CP_ARGS	tlb, vma, start, end, newprot, cp_flags
#define WPU_CP_ARG_FLAGS	5
#elif defined(WPU_CP_HAS_TLB)
/* 6.2 - 6.3 */
typedef long wpu_cp_ret_t;
#define WPU_CP_PARAMS	struct mmu_gather *tlb, struct vm_area_struct *vma, \
			unsigned long start, unsigned long end, \
			unsigned long cp_flags
#define WPU_CP_ARGS	tlb, vma, start, end, cp_flags
#define WPU_CP_ARG_FLAGS	4
#else
/* 5.7 - 5.18 */
typedef unsigned long wpu_cp_ret_t;
#define WPU_CP_PARAMS	struct vm_area_struct *vma, unsigned long start, \
			unsigned long end, pgprot_t newprot, \
			unsigned long cp_flags
#define WPU_CP_ARGS	vma, start, end, newprot, cp_flags
#define WPU_CP_ARG_FLAGS	4
#endif

/* --- mapping a page table --------------------------------------------- */

/*
 * 6.5 moved pte_offset_map() and pte_offset_map_lock() out of line (they
 * may now fail: NULL when the pmd no longer points to a table) and did not
 * export them.  The resolved functions (kcall.c, WPU_PTE_MAP_SYMS) stand
 * in under the same names, so that the callers, which check for NULL on
 * every kernel, read as kernel code does.
 */
#ifdef WPU_HAVE_PTE_MAP_OOL
extern pte_t *(*wpu_compat_pte_map_fn)(pmd_t *pmd, unsigned long addr,
				       pmd_t *pmdvalp);
extern pte_t *(*wpu_compat_pte_map_lock_fn)(struct mm_struct *mm, pmd_t *pmd,
					    unsigned long addr, spinlock_t **ptlp);
#define WPU_PTE_MAP_SYMS						\
	{ "__pte_offset_map", (unsigned long *)&wpu_compat_pte_map_fn },	\
	{ "__pte_offset_map_lock",					\
	  (unsigned long *)&wpu_compat_pte_map_lock_fn },

static inline pte_t *wpu_compat_pte_map(pmd_t *pmd, unsigned long addr)
{
	return wpu_compat_pte_map_fn(pmd, addr, NULL);
}

static inline pte_t *wpu_compat_pte_map_lock(struct mm_struct *mm,
					     pmd_t *pmd, unsigned long addr,
					     spinlock_t **ptlp)
{
	return wpu_compat_pte_map_lock_fn(mm, pmd, addr, ptlp);
}

#define pte_offset_map(pmd, addr)	wpu_compat_pte_map(pmd, addr)
#define pte_offset_map_lock(mm, pmd, addr, ptlp) \
	wpu_compat_pte_map_lock(mm, pmd, addr, ptlp)
#else
#define WPU_PTE_MAP_SYMS
#endif

/* --- mmu notifier ranges ---------------------------------------------- */

/* 6.3 dropped the VMA from mmu_notifier_range_init(); callers still pass it. */
static inline void wpu_mn_range_init(struct mmu_notifier_range *range,
				     enum mmu_notifier_event event,
				     struct vm_area_struct *vma,
				     struct mm_struct *mm, unsigned long start,
				     unsigned long end)
{
#ifdef WPU_MN_RANGE_HAS_VMA
	mmu_notifier_range_init(range, event, 0, vma, mm, start, end);
#else
	mmu_notifier_range_init(range, event, 0, mm, start, end);
#endif
}

/* 6.6 dropped only_end from the out-of-line half of _range_end(). */
#ifdef WPU_MN_END_HAS_ONLY_END
#define wpu_compat_mn_end(fn, range)	(fn)(range, false)
#else
#define wpu_compat_mn_end(fn, range)	(fn)(range)
#endif

/* --- resetting uffd-wp (reset.c) ----------------------------------------- */

/* 6.0+: UFFDIO_UNREGISTER clears uffd-wp itself. */
#ifdef WPU_KERNEL_RESETS_WP
#define WPU_RESET_UNREGISTER	0
#else
#define WPU_RESET_UNREGISTER	1
#endif

/* 6.8+, 6.6.y, 6.1.y: mremap() without EVENT_REMAP clears uffd-wp itself. */
#ifdef WPU_KERNEL_RESETS_MREMAP
#define WPU_RESET_MREMAP	0
#else
#define WPU_RESET_MREMAP	1
#endif

typedef wpu_cp_ret_t wpu_cp_fn_t(WPU_CP_PARAMS);

/*
 * change_protection(..., MM_CP_UFFD_WP_RESOLVE) over [start, end).  From
 * 5.19 the caller gathers and flushes the TLB (tlb_gather_mmu() and
 * tlb_finish_mmu(), resolved: not exported); before, it flushes itself.
 */
extern void (*wpu_compat_tlb_gather_fn)(struct mmu_gather *tlb,
					struct mm_struct *mm);
extern void (*wpu_compat_tlb_finish_fn)(struct mmu_gather *tlb);
#ifdef WPU_CP_HAS_TLB
/*
 * For struct mmu_gather.  x86's asm/tlb.h has an inline that calls
 * flush_tlb_mm_range(), which asm/tlbflush.h declares for built-in code
 * only; declare it too.  Nothing here calls it (kcall.c resolves it).
 */
void flush_tlb_mm_range(struct mm_struct *mm, unsigned long start,
			unsigned long end, unsigned int stride_shift,
			bool freed_tables);
#include <asm/tlb.h>
#define WPU_TLB_SYMS							\
	{ "tlb_gather_mmu", (unsigned long *)&wpu_compat_tlb_gather_fn },	\
	{ "tlb_finish_mmu", (unsigned long *)&wpu_compat_tlb_finish_fn },
#else
#define WPU_TLB_SYMS
#endif

static inline void wpu_compat_cp_resolve(wpu_cp_fn_t *fn,
					 struct vm_area_struct *vma,
					 unsigned long start, unsigned long end)
{
#ifdef WPU_CP_HAS_TLB
	struct mmu_gather tlb;

	wpu_compat_tlb_gather_fn(&tlb, vma->vm_mm);
#ifdef WPU_CP_HAS_NEWPROT
	fn(&tlb, vma, start, end, vm_get_page_prot(vma->vm_flags),
	   MM_CP_UFFD_WP_RESOLVE);
#else
	fn(&tlb, vma, start, end, MM_CP_UFFD_WP_RESOLVE);
#endif
	wpu_compat_tlb_finish_fn(&tlb);
#else
	fn(vma, start, end, vm_get_page_prot(vma->vm_flags),
	   MM_CP_UFFD_WP_RESOLVE);
#endif
}

/* --- pagemap ---------------------------------------------------------- */

#ifdef WPU_HAVE_PM_UFFD_WP
#define WPU_PAGEMAP	0	/* the kernel reports bit 57 itself (5.13+) */
#else
#define WPU_PAGEMAP	1
#endif

/* --- UFFD_USER_MODE_ONLY (5.11) ------------------------------------------ */

#ifdef WPU_HAVE_USER_MODE_ONLY
#define WPU_UMODE	0	/* the kernel has it */
#else
#define WPU_UMODE	1	/* umode.c */
#endif

/* --- struct userfaultfd_ctx (private to fs/userfaultfd.c) ---------------- */

/*
 * Mirror of the private definition, field for field, so that offsets follow
 * the configuration (lockdep grows the wait queues) exactly as the kernel's
 * own.  Only 'features' and 'mm' are ever read or written; both are checked
 * against known values before the module trusts the layout (see ctx.c).
 * 6.8 made the definition public: then it is the kernel's own.
 */
#ifdef WPU_HAVE_CTX_PUBLIC
#define wpu_uffd_ctx	userfaultfd_ctx
#else
struct wpu_uffd_ctx {
	wait_queue_head_t fault_pending_wqh;
	wait_queue_head_t fault_wqh;
	wait_queue_head_t fd_wqh;
	wait_queue_head_t event_wqh;
	seqcount_spinlock_t refile_seq;
	refcount_t refcount;
	unsigned int flags;
	unsigned int features;
	bool released;
#ifdef WPU_MMAP_CHANGING_ATOMIC
	atomic_t mmap_changing;
#else
	bool mmap_changing;
#endif
	struct mm_struct *mm;
};
#endif

/* Same in every supported kernel: fs/userfaultfd.c */
struct wpu_uffd_fork_ctx {
	struct wpu_uffd_ctx *orig;
	struct wpu_uffd_ctx *new;
	struct list_head list;
};

#define WPU_UFFD_FEATURE_INITIALIZED	BIT(31)

/*
 * Where a context's feature word records what the module granted (fork
 * copies the word into the child's context).  A kernel whose uapi lacks
 * bits 13 and 15 never reads them: they are kept there, as 6.4+ and 6.7+
 * keep them, and /proc's fdinfo reads as on those kernels.  A kernel whose
 * uapi names them without offering them (CONFIG_PTE_MARKER_UFFD_WP off:
 * RHEL 9.4 - 9.6, or 6.4+ built so) acts on them in stock code: bit 13
 * would make change_protection() write markers into holes, which such a
 * kernel then meets unprepared, and bit 15 would resolve faults behind our
 * back.  There the module keeps two bits of its own, below
 * UFFD_FEATURE_INITIALIZED, which no kernel uses.
 */
#ifdef WPU_UAPI_NAMES_WP_UNPOPULATED
#define WPU_CTX_HOLES	BIT(29)
#define WPU_CTX_ASYNC	BIT(30)
#else
#define WPU_CTX_HOLES	((unsigned int)UFFD_WPU_FEATURE_WP_UNPOPULATED)
#define WPU_CTX_ASYNC	((unsigned int)UFFD_WPU_FEATURE_WP_ASYNC)
#endif

/*
 * The features this kernel's stock userfaultfd_api() accepts: its uapi
 * list, less what the configuration cannot do (the masks came with the
 * features they mask, 5.13 and 5.19).  PAGEFAULT_FLAG_WP needs no mask:
 * the module is only built with CONFIG_HAVE_ARCH_USERFAULTFD_WP (dkms.conf).
 */
static inline u64 wpu_compat_api_features(void)
{
	u64 features = UFFD_API_FEATURES;

#if defined(UFFD_FEATURE_MINOR_HUGETLBFS) && \
	!defined(CONFIG_HAVE_ARCH_USERFAULTFD_MINOR)
	features &= ~(u64)(UFFD_FEATURE_MINOR_HUGETLBFS |
			   UFFD_FEATURE_MINOR_SHMEM);
#endif
#if defined(UFFD_FEATURE_WP_HUGETLBFS_SHMEM) && \
	!defined(CONFIG_PTE_MARKER_UFFD_WP)
	features &= ~(u64)UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
#endif
	return features;
}

static inline struct wpu_uffd_ctx *wpu_compat_vma_ctx(struct vm_area_struct *vma)
{
	return (struct wpu_uffd_ctx *)vma->vm_userfaultfd_ctx.ctx;
}

/* --- page-table allocation ------------------------------------------------ */

/*
 * The p?d_alloc() inlines call __p?d_alloc(), which modules cannot link
 * against; these take the resolved function instead.
 */
#ifdef __PAGETABLE_P4D_FOLDED
#define WPU_HAVE_P4D_ALLOC 0	/* 4-level kernel: p4d_alloc() cannot fail */
#else
#define WPU_HAVE_P4D_ALLOC 1
#endif

/* x86 declares flush_tlb_mm_range() for built-in code only. */
typedef void wpu_flush_tlb_mm_range_t(struct mm_struct *mm, unsigned long start,
				      unsigned long end,
				      unsigned int stride_shift,
				      bool freed_tables);

/* --- pte markers (5.19+ with CONFIG_PTE_MARKER_UFFD_WP) ----------------- */

#ifdef CONFIG_PTE_MARKER_UFFD_WP
#define WPU_HAVE_MARKERS	1
static inline pte_t wpu_compat_marker_pte(void)
{
	return make_pte_marker(PTE_MARKER_UFFD_WP);
}
#else
#define WPU_HAVE_MARKERS	0
/* Never called: the marker backend cannot be selected on this kernel. */
static inline pte_t wpu_compat_marker_pte(void)
{
	return __pte(0);
}
#endif

/*
 * The marker backend puts markers into anonymous memory, which stock code
 * must then tolerate where the module does not hook it.  5.19 and 6.0 do
 * not: fork copies an anonymous marker into a child VMA that lost uffd-wp
 * (a WARN in copy_nonpresent_pte(), inlined, so not hookable), and 5.19's
 * MADV_DONTNEED cannot be told to drop markers (struct zap_details is
 * private).  6.1 fixed both; a probe cannot see the fork fix, so the
 * /dev/userfaultfd that came with 6.1 stands for it (Kbuild picks fault.o
 * and zap.o by the same facts).  Elsewhere: the zero-page backend.
 */
#if WPU_HAVE_MARKERS && defined(WPU_HAVE_ZAP_FLAGS) && \
	defined(WPU_HAVE_DEV_USERFAULTFD)
#define WPU_HAVE_MARKER_BACKEND	1
#else
#define WPU_HAVE_MARKER_BACKEND	0
#endif

/*
 * Huge holes rely on a THP split of a protected huge zero pmd carrying
 * uffd-wp into its 512 ptes.  Upstream 5.19.0 and 6.0.19 drop it there
 * (docs/kernels.md: the matrix kernels up5.19, up6.0), 6.1 does not, and
 * nothing outside __split_huge_pmd() shows which a kernel does: no huge
 * holes on the 5.19/6.0 interface (change_protection() with an
 * mmu_gather, no /dev/userfaultfd).
 */
#if defined(WPU_CP_HAS_TLB) && !defined(WPU_HAVE_DEV_USERFAULTFD)
#define WPU_HUGE_SPLIT_KEEPS_WP	0
#else
#define WPU_HUGE_SPLIT_KEEPS_WP	1
#endif

/* --- PAGEMAP_SCAN (scan.c) ----------------------------------------------- */

/* Invalidating a THP pmd before changing it: the name the kernel has. */
#ifdef WPU_HAVE_PMDP_INVALIDATE_AD
#define WPU_PMDP_INVALIDATE	"pmdp_invalidate_ad"
#else
#define WPU_PMDP_INVALIDATE	"pmdp_invalidate"
#endif

/* A swap-type pte that carries uffd-wp: a swap entry's bit, or a marker. */
static inline bool wpu_compat_swp_uffd_wp(pte_t pte)
{
#ifdef CONFIG_PTE_MARKER_UFFD_WP
	return pte_swp_uffd_wp_any(pte);
#else
	return is_swap_pte(pte) && pte_swp_uffd_wp(pte);
#endif
}

/* The page behind a migration (or device) entry, if the entry has one. */
static inline struct page *wpu_compat_swp_page(swp_entry_t entry)
{
#ifdef WPU_HAVE_PFN_SWAP_ENTRY
	return is_pfn_swap_entry(entry) ? pfn_swap_entry_to_page(entry) : NULL;
#else
	return is_migration_entry(entry) ? migration_entry_to_page(entry) : NULL;
#endif
}

/*
 * UFFDIO_WRITEPROTECT of file-backed (shmem, hugetlb) memory, which stock
 * 5.19+ kernels do themselves: uffd_wp_range() exists from 6.0 on, and
 * before 5.19 only anonymous memory can be write-protected at all.  It is
 * called through a resolved pointer, so only in the form probed for.
 */
#ifdef WPU_UFFD_WP_RANGE_HAS_MM
#define WPU_HAVE_UFFD_WP_RANGE	1
#else
#define WPU_HAVE_UFFD_WP_RANGE	0
#endif
typedef void wpu_uffd_wp_range_t(struct mm_struct *mm,
				  struct vm_area_struct *vma,
				  unsigned long start, unsigned long len,
				  bool enable_wp);

/* Before 5.19 hugetlb memory cannot be write-protected at all. */
#ifdef WPU_HAVE_HUGETLB_WP
static inline bool wpu_compat_huge_pte_uffd_wp(pte_t pte)
{
	return huge_pte_uffd_wp(pte);
}

static inline pte_t wpu_compat_huge_pte_clear_uffd_wp(pte_t pte)
{
	return huge_pte_clear_uffd_wp(pte);
}
#else
static inline bool wpu_compat_huge_pte_uffd_wp(pte_t pte)
{
	return false;
}

static inline pte_t wpu_compat_huge_pte_clear_uffd_wp(pte_t pte)
{
	return pte;
}
#endif

/* 6.6 gave set_huge_pte_at() the page size, 6.11 huge_ptep_get() the mm. */
static inline pte_t wpu_compat_huge_ptep_get(struct mm_struct *mm,
					     unsigned long addr, pte_t *ptep)
{
#ifdef WPU_HUGE_PTEP_GET_HAS_MM
	return huge_ptep_get(mm, addr, ptep);
#else
	return huge_ptep_get(ptep);
#endif
}

static inline void wpu_compat_set_huge_pte(struct mm_struct *mm,
					   unsigned long addr, pte_t *ptep,
					   pte_t pte, unsigned long size)
{
#ifdef WPU_SET_HUGE_PTE_HAS_SZ
	set_huge_pte_at(mm, addr, ptep, pte, size);
#else
	set_huge_pte_at(mm, addr, ptep, pte);
#endif
}

/* --- huge holes: is a VMA THP-eligible for a page fault? ----------------- */

/*
 * What the fault path asks before it maps a huge zero page: 6.8+ calls
 * thp_vma_allowable_order(vma, vm_flags, TVA_IN_PF | TVA_ENFORCE_SYSFS,
 * PMD_ORDER), 6.1 hugepage_vma_check(vma, vm_flags, smaps=false,
 * in_pf=true, enforce_sysfs=true); 5.10 inlines __transparent_hugepage_enabled(),
 * whose out-of-line twin is transparent_hugepage_active().  Neither is
 * exported: @fn is the address resolved by name (WPU_THP_VMA_SYM).
 */
#ifdef WPU_HAVE_THP_ORDERS
/*
 * For anonymous memory the sysfs part is in the inline: the PMD order must
 * be enabled (always, madvise, or inherit from the global setting @flags,
 * transparent_hugepage_flags) before the out-of-line check is asked.
 */
extern unsigned long wpu_compat_thp_orders[3];
#define WPU_THP_VMA_SYM	"__thp_vma_allowable_orders"
#define WPU_THP_ORDER_SYMS						\
	{ "huge_anon_orders_always", &wpu_compat_thp_orders[0], true, true }, \
	{ "huge_anon_orders_madvise", &wpu_compat_thp_orders[1], true, true }, \
	{ "huge_anon_orders_inherit", &wpu_compat_thp_orders[2], true, true },

static inline unsigned long wpu_compat_thp_order_mask(int i)
{
	return READ_ONCE(*(unsigned long *)wpu_compat_thp_orders[i]);
}

static inline bool wpu_compat_thp_vma(unsigned long fn, unsigned long flags,
				      struct vm_area_struct *vma)
{
	typeof(__thp_vma_allowable_orders) *orders = (void *)fn;
	unsigned long vm_flags = vma->vm_flags;
	unsigned long mask = wpu_compat_thp_order_mask(0);

	if (vm_flags & VM_HUGEPAGE)
		mask |= wpu_compat_thp_order_mask(1);
	if ((flags & BIT(TRANSPARENT_HUGEPAGE_FLAG)) ||
	    ((vm_flags & VM_HUGEPAGE) &&
	     (flags & BIT(TRANSPARENT_HUGEPAGE_REQ_MADV_FLAG))))
		mask |= wpu_compat_thp_order_mask(2);
	if (!(mask & BIT(PMD_ORDER)))
		return false;
	return orders(vma, vm_flags, TVA_IN_PF | TVA_ENFORCE_SYSFS,
		      BIT(PMD_ORDER));
}
#elif defined(WPU_HAVE_HUGEPAGE_VMA_CHECK)
#define WPU_THP_ORDER_SYMS
#define WPU_THP_VMA_SYM	"hugepage_vma_check"
static inline bool wpu_compat_thp_vma(unsigned long fn, unsigned long flags,
				      struct vm_area_struct *vma)
{
	typeof(hugepage_vma_check) *check = (void *)fn;

	return check(vma, vma->vm_flags, false, true, true);
}
#elif defined(WPU_HAVE_THP_ACTIVE)
#define WPU_THP_ORDER_SYMS
#define WPU_THP_VMA_SYM	"transparent_hugepage_active"
static inline bool wpu_compat_thp_vma(unsigned long fn, unsigned long flags,
				      struct vm_area_struct *vma)
{
	typeof(transparent_hugepage_active) *active = (void *)fn;

	return active(vma);
}
#else
/* Unknown (native kernels build native.c only): no huge holes. */
#define WPU_THP_ORDER_SYMS
#define WPU_THP_VMA_SYM	"wpu_no_thp_vma_check"
static inline bool wpu_compat_thp_vma(unsigned long fn, unsigned long flags,
				      struct vm_area_struct *vma)
{
	return false;
}
#endif

/* Does [haddr, haddr + 2 MiB) fit the VMA, suitably aligned? */
static inline bool wpu_compat_thp_suitable(struct vm_area_struct *vma,
					   unsigned long haddr)
{
#ifdef WPU_HAVE_THP_ORDERS
	return thp_vma_suitable_order(vma, haddr, PMD_ORDER);
#else
	return transhuge_vma_suitable(vma, haddr);
#endif
}

/* The huge zero page, allocated on first use and pinned for @mm. */
#ifdef WPU_HAVE_HUGE_ZERO_FOLIO
#define WPU_HUGE_ZERO_SYM	"mm_get_huge_zero_folio"
static inline struct page *wpu_compat_huge_zero(unsigned long fn,
						struct mm_struct *mm)
{
	typeof(mm_get_huge_zero_folio) *get = (void *)fn;
	struct folio *zero = get(mm);

	return zero ? &zero->page : NULL;
}
#else
#define WPU_HUGE_ZERO_SYM	"mm_get_huge_zero_page"
static inline struct page *wpu_compat_huge_zero(unsigned long fn,
						struct mm_struct *mm)
{
	typeof(mm_get_huge_zero_page) *get = (void *)fn;

	return get(mm);
}
#endif

/*
 * huge_holes=auto: off on every kernel.  A huge hole cannot be exact: one
 * read (or GUP touch) of any of its pages marks the whole 2 MiB read, so
 * UFFDIO_COPY, MISSING registration, unprotect and pagemap then treat 512
 * pages as read where 6.4+ has one zero page and 511 holes (README, "Huge
 * holes"; tests/progs/wp_hugehole_read.c).  huge_holes=on is opt-in.
 */
#define WPU_HUGE_HOLES_AUTO	0

/*
 * The kernel's mmap_assert_locked() calls dump_mm() through VM_BUG_ON_MM()
 * on CONFIG_DEBUG_VM kernels, and dump_mm() is not exported.  Ours checks
 * the same (lockdep, then the rwsem itself) and warns instead of killing
 * the machine from a module.
 */
#define wpu_mmap_assert_locked(mm) do {					\
	struct rw_semaphore *__wpu_lock = &(mm)->mmap_lock;		\
	lockdep_assert_held(__wpu_lock);				\
	VM_WARN_ON_ONCE(!rwsem_is_locked(__wpu_lock));			\
} while (0)

#define wpu_mmap_assert_write_locked(mm) do {				\
	struct rw_semaphore *__wpu_lock = &(mm)->mmap_lock;		\
	lockdep_assert_held_write(__wpu_lock);				\
	VM_WARN_ON_ONCE(!rwsem_is_locked(__wpu_lock));			\
} while (0)

#endif /* WPU_COMPAT_H */
