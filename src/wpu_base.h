/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uffd_wpu internals shared between the files of the module.
 *
 * One file per kernel path we touch:
 *   hooks.c    symbol resolution and the ftrace redirect machinery
 *   uffd_ioctl.c UFFDIO_API: granting UFFD_FEATURE_WP_UNPOPULATED
 *   holes.c    UFFDIO_WRITEPROTECT: protecting holes (both backends)
 *   hugehole.c protecting a whole empty 2 MiB with one huge zero pmd
 *   fault.c    faults on anonymous uffd-wp pte markers (marker backend)
 *   zap.c      MADV_DONTNEED drops anonymous markers (marker backend)
 *   reset.c    unregister/close clear uffd-wp (kernels before 6.0)
 *   pagemap.c  pagemap bit 57 (kernels before 5.19)
 *   async.c    UFFD_FEATURE_WP_ASYNC: write faults resolved in the kernel
 *   scan.c     PAGEMAP_SCAN on /proc/PID/pagemap
 *   track.c    per-mm state: opt-in, and the lifetime pin on the module
 *   ctl.c      /dev/uffd-wpu, /sys/kernel/uffd_wpu, module parameters
 */
#ifndef WPU_BASE_H
#define WPU_BASE_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/types.h>
#include <uapi/linux/userfaultfd.h>
#include <linux/uffd-wpu.h>

#define WPU_VERSION	"0.1.0"

#define WPU_FEATURE_WP_UNPOPULATED	UFFD_WPU_FEATURE_WP_UNPOPULATED
#define WPU_FEATURE_WP_ASYNC		UFFD_WPU_FEATURE_WP_ASYNC
/* What the module can grant a context: async implies unpopulated. */
#define WPU_FEATURES	(WPU_FEATURE_WP_UNPOPULATED | WPU_FEATURE_WP_ASYNC)

enum wpu_backend {
	WPU_BACKEND_MARKER = UFFD_WPU_BACKEND_MARKER,
	WPU_BACKEND_ZEROPAGE = UFFD_WPU_BACKEND_ZEROPAGE,
};

/* ctl.c: knobs (module parameters, also under /sys/kernel/uffd_wpu) */
extern bool wpu_enabled;
extern bool wpu_transparent;
extern bool wpu_huge_holes;
extern enum wpu_backend wpu_backend;
extern char *wpu_require_symbol;
extern char *wpu_require_traceable;
extern atomic_t wpu_fail_protect;
extern atomic_t wpu_fail_track;

/* Constant false where markers do not exist, so their code drops out. */
static inline bool wpu_markers(void)
{
	return WPU_HAVE_MARKERS && wpu_backend == WPU_BACKEND_MARKER;
}

int wpu_parse_backend(void);
int wpu_parse_huge_holes(void);
const char *wpu_huge_holes_param_name(void);
const char *wpu_backend_name(void);
const char *wpu_backend_param_name(void);
int wpu_ctl_init(void);
void wpu_ctl_exit(void);

/* Counters shown in /sys/kernel/uffd_wpu/stats. */
struct wpu_stats {
	atomic64_t api_granted;		/* UFFDIO_API calls that got bit 13 */
	atomic64_t protect_calls;	/* protect passes over opted-in ranges */
	atomic64_t holes_protected;	/* none ptes turned into protected holes */
	atomic64_t huge_holes;		/* none pmds turned into huge holes */
	atomic64_t protect_enomem;	/* passes stopped by page-table ENOMEM */
	atomic64_t fault_read;		/* marker faults resolved to zero page */
	atomic64_t fault_missing;	/* marker faults sent as MISSING */
	atomic64_t fault_stale;		/* markers dropped outside uffd-wp */
	atomic64_t fault_collapse;	/* khugepaged swap-in refused */
	atomic64_t zap_dropped;		/* DONTNEED zaps told to drop markers */
	atomic64_t fork_tracked;	/* fork children tracked (EVENT_FORK) */
	atomic64_t async_resolved;	/* WP_ASYNC faults resolved in kernel */
	atomic64_t scans;		/* PAGEMAP_SCAN calls */
};

extern struct wpu_stats wpu_stats;

#define wpu_count(field) atomic64_inc(&wpu_stats.field)

/* hooks.c */
struct pt_regs;
struct wpu_hook {
	const char *name;
	void *wrapper;			/* replacement; calls *orig */
	unsigned long *orig;		/* resolved address of the target */
	/* optional: redirect only calls for which this returns true */
	bool (*wants)(struct pt_regs *regs);
	struct ftrace_ops ops;
	bool attached;
};

struct wpu_sym {
	const char *name;
	unsigned long *addr;
	bool optional;
	bool data;		/* a variable: never called */
};

int wpu_resolve(const struct wpu_sym *syms, unsigned int n);
int wpu_hooks_attach(struct wpu_hook **hooks, unsigned int n);
void wpu_hooks_go_live(void);
void wpu_hooks_detach(struct wpu_hook **hooks, unsigned int n);
int wpu_check_traceable(const char *name);
unsigned int wpu_hooks_count(void);
const char *wpu_kernel_release(void);

/*
 * The last thing every wrapper does, and only wrappers do: drops the module
 * reference the ftrace callback took for the call (see hooks.c).
 */
void wpu_leave(void);

/* Hook tables of the logic files, registered together by main.c. */
extern struct wpu_hook wpu_api_hooks[];
extern const unsigned int wpu_api_nr_hooks;
extern struct wpu_hook wpu_protect_hooks[];
extern const unsigned int wpu_protect_nr_hooks;
extern struct wpu_hook wpu_track_hooks[];
extern const unsigned int wpu_track_nr_hooks;
extern struct wpu_hook wpu_fault_hooks[];
extern const unsigned int wpu_fault_nr_hooks;
extern struct wpu_hook wpu_zap_hooks[];
extern const unsigned int wpu_zap_nr_hooks;
extern struct wpu_hook wpu_pagemap_hooks[];
extern const unsigned int wpu_pagemap_nr_hooks;
extern struct wpu_hook wpu_reset_hooks[];
extern const unsigned int wpu_reset_nr_hooks;
extern struct wpu_hook wpu_async_hooks[];
extern const unsigned int wpu_async_nr_hooks;
extern struct wpu_hook wpu_scan_hooks[];
extern const unsigned int wpu_scan_nr_hooks;

/* reset.c (kernels that keep uffd-wp after unregister/close) */
extern const struct wpu_sym wpu_reset_syms[];
extern const unsigned int wpu_reset_nr_syms;
bool wpu_unregister_begin(struct wpu_uffd_ctx *ctx, unsigned long arg,
			  struct uffdio_range *span);
void wpu_unregister_end(struct wpu_uffd_ctx *ctx,
			const struct uffdio_range *span);

extern const struct wpu_sym wpu_protect_syms[];
extern const unsigned int wpu_protect_nr_syms;
extern const struct wpu_sym wpu_fault_syms[];
extern const unsigned int wpu_fault_nr_syms;
extern const struct wpu_sym wpu_async_syms[];
extern const unsigned int wpu_async_nr_syms;
extern const struct wpu_sym wpu_scan_syms[];
extern const unsigned int wpu_scan_nr_syms;

/* track.c */
int wpu_track_init(void);
void wpu_track_exit(void);
int wpu_track_mm(struct mm_struct *mm);
int wpu_track_holes(struct mm_struct *mm);
bool wpu_mm_protects(struct mm_struct *mm);
int wpu_optin(struct mm_struct *mm);
void wpu_optout(struct mm_struct *mm);
bool wpu_mm_opted_in(struct mm_struct *mm);
bool wpu_mm_tracked(struct mm_struct *mm);
u64 wpu_tracked_mms(void);

struct wpu_protect_req {
	struct list_head node;
	struct task_struct *task;
	int err;
};

void wpu_protect_begin(struct mm_struct *mm, struct wpu_protect_req *req);
int wpu_protect_end(struct mm_struct *mm, struct wpu_protect_req *req);
void wpu_protect_report(struct mm_struct *mm, int err);

/* api.c */
struct wpu_uffd_ctx;
extern const struct wpu_sym wpu_api_syms[];
extern const unsigned int wpu_api_nr_syms;
int wpu_api_check_layout(void);
bool wpu_ctx_wants_holes(struct vm_area_struct *vma);
bool wpu_ctx_protects_holes(struct wpu_uffd_ctx *ctx);
void wpu_ctx_add_features(struct wpu_uffd_ctx *ctx, unsigned int features);

/* protect.c */
struct mmu_notifier_range;
void wpu_split_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd,
			unsigned long addr);
void wpu_flush_tlb_range(struct mm_struct *mm, unsigned long start,
			 unsigned long end, unsigned int stride_shift);
void wpu_mn_start(struct mmu_notifier_range *range);
void wpu_mn_end(struct mmu_notifier_range *range);
pte_t wpu_hole_pte(struct vm_area_struct *vma, unsigned long addr);
bool wpu_clear_holes(struct vm_area_struct *vma, unsigned long addr,
		     unsigned long end);
void wpu_after_register(struct wpu_uffd_ctx *ctx,
			const struct uffdio_register *seen, unsigned long arg);
int wpu_holes_prepare(struct vm_area_struct *vma);
bool wpu_hole_entry(struct vm_area_struct *vma, unsigned long addr,
		    pte_t *entry);
int wpu_protect_unpopulated(struct vm_area_struct *vma, unsigned long addr,
			    unsigned long end);
void wpu_before_copy(struct wpu_uffd_ctx *ctx, unsigned long arg);

/* hugehole.c */
extern const struct wpu_sym wpu_huge_syms[];
extern const unsigned int wpu_huge_nr_syms;
bool wpu_huge_available(void);
bool wpu_huge_holes_seen(void);
bool wpu_is_huge_zero_pmd(pmd_t pmd);
bool wpu_huge_eligible(struct vm_area_struct *vma);
pmd_t *wpu_pmd_lookup(struct mm_struct *mm, unsigned long addr);
bool wpu_huge_hole_release(struct vm_area_struct *vma, pmd_t *pmd,
			   pmd_t pmdval, unsigned long addr, unsigned long next,
			   bool keep);
int wpu_huge_hole_install(struct vm_area_struct *vma, pmd_t *pmd,
			  unsigned long haddr, pgtable_t *table);
void wpu_huge_free_table(struct mm_struct *mm, pgtable_t table);
void wpu_huge_holes_release(struct vm_area_struct *vma, unsigned long addr,
			    unsigned long end, bool keep);

/* async.c */
bool wpu_vma_wp_async(struct vm_area_struct *vma);

/* scan.c */
int wpu_scan_init(void);
void wpu_scan_exit(void);
long wpu_pagemap_scan(struct mm_struct *mm, unsigned long uarg);

/* Call the function a wrapper replaces, at its resolved address. */
#define WPU_CALL_ORIG(addr, wrapper, ...) \
	(((typeof(&(wrapper)))(addr))(__VA_ARGS__))

#endif /* WPU_BASE_H */
