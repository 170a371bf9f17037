/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uffd_wpu layer 0, the base: module parameters and counters (param.c),
 * symbol resolution, the ftrace redirect machinery and the registry of
 * parts (hooks.c).  Every other file builds on this one; it calls nothing
 * above it.  The layer map is src/README.
 */
#ifndef WPU_BASE_H
#define WPU_BASE_H

#include <linux/atomic.h>
#include <linux/ftrace.h>
#include <linux/types.h>
#include <uapi/linux/userfaultfd.h>
#include <linux/uffd-wpu.h>

#define WPU_FEATURE_WP_UNPOPULATED	UFFD_WPU_FEATURE_WP_UNPOPULATED
#define WPU_FEATURE_WP_ASYNC		UFFD_WPU_FEATURE_WP_ASYNC
/* What the module can grant a context: async implies unpopulated. */
#define WPU_FEATURES	(WPU_FEATURE_WP_UNPOPULATED | WPU_FEATURE_WP_ASYNC)

enum wpu_backend {
	WPU_BACKEND_MARKER = UFFD_WPU_BACKEND_MARKER,
	WPU_BACKEND_ZEROPAGE = UFFD_WPU_BACKEND_ZEROPAGE,
};

/* param.c: knobs (module parameters, also under /sys/kernel/uffd_wpu) */
extern bool wpu_enabled;
extern bool wpu_transparent;
extern bool wpu_huge_holes;
extern enum wpu_backend wpu_backend;
extern char *wpu_require_symbol;
extern char *wpu_require_traceable;
extern atomic_t wpu_fail_protect;
extern atomic_t wpu_fail_track;

/* Constant false where the marker backend cannot be, so its code drops out. */
static inline bool wpu_markers(void)
{
	return WPU_HAVE_MARKER_BACKEND && wpu_backend == WPU_BACKEND_MARKER;
}

int wpu_parse_backend(void);
int wpu_parse_huge_holes(bool avail);
const char *wpu_huge_holes_param_name(void);
const char *wpu_backend_name(void);
const char *wpu_backend_param_name(void);

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

/*
 * One part of the module: the kernel symbols it calls, the functions it
 * hooks, whether this kernel needs it, and a check that runs once its
 * symbols are resolved.  main.c lists the parts; they are resolved, and
 * then attached, in that order.  See src/README for how to add one.
 */
struct wpu_part {
	const char *name;
	const struct wpu_sym *syms;
	unsigned int nr_syms;
	struct wpu_hook *hooks;
	unsigned int nr_hooks;
	bool (*needed)(void);		/* NULL: on every kernel */
	int (*check)(void);		/* NULL: nothing to check */
};

int wpu_parts_resolve(const struct wpu_part *const *parts, unsigned int n);
int wpu_parts_attach(const struct wpu_part *const *parts, unsigned int n);
void wpu_parts_detach(const struct wpu_part *const *parts, unsigned int n);
void wpu_hooks_go_live(void);
int wpu_require_sym(const char *name);
int wpu_check_traceable(const char *name);
unsigned int wpu_hooks_count(void);
const char *wpu_kernel_release(void);

/*
 * The last thing every wrapper does, and only wrappers do: drops the module
 * reference the ftrace callback took for the call (see hooks.c).
 */
void wpu_leave(void);

/* Call the function a wrapper replaces, at its resolved address. */
#define WPU_CALL_ORIG(addr, wrapper, ...) \
	(((typeof(wrapper) *)(addr))(__VA_ARGS__))

#endif /* WPU_BASE_H */
