/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the userfaultfd write-protect test programs:
 * opening and negotiating a userfaultfd, (un)registering and
 * (un)protecting ranges, reading messages with a timeout, pagemap, a
 * fault-handler thread that records every message and resolves faults,
 * a writer thread, a watchdog, and detection of the environment
 * (native WP_UNPOPULATED, the uffd_wpu module and its backend, or neither).
 *
 * Include this header first (it defines _GNU_SOURCE).  The functions are
 * in uffd_util.c, which tests/progs/Makefile links into every program.  It
 * includes "t.h" itself.
 */
#ifndef UFFD_UTIL_H
#define UFFD_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/userfaultfd.h>

#include "t.h"

/* ---- constants the 6.1 uapi headers of the build host lack ------------ */

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1ULL << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC		(1ULL << 15)
#endif
#ifndef UFFD_FEATURE_THREAD_ID
#define UFFD_FEATURE_THREAD_ID		(1ULL << 8)
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif

#define PM_UFFD_WP	(1ULL << 57)
#define PM_FLAG_BITS	(~((1ULL << 55) - 1))
#define PM_SWAP		(1ULL << 62)
#define PM_PRESENT	(1ULL << 63)

#define UFFD_WPU_SYSFS_DIR	"/sys/kernel/uffd_wpu"

#define PAGE		4096UL
#define HPAGE		(2UL << 20)

/* Flags of a write fault on a write-protected page. */
#define WP_WRITE_FLAGS	(UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE)

/* ---- small utilities -------------------------------------------------- */

pid_t u_gettid(void);

long long u_now_ms(void);

void u_sleep_ms(int ms);

/* Read a small sysfs/proc file into buf (trailing newline removed). */
int u_read_file(const char *path, char *buf, size_t len);

/* Write a string to a file; returns 0 or -errno. Async-signal-safe. */
int u_write_file(const char *path, const char *s);

#define U_THP_ENABLED "/sys/kernel/mm/transparent_hugepage/enabled"

/* Remember "always [madvise] never" as "madvise", then set @mode. */
int u_thp_set(const char *mode);

/* Put back the THP mode u_thp_set() found.  Async-signal-safe. */
void u_thp_restore(void);

int u_exists(const char *path);
/* rmmod uffd_wpu, retried for 5 s: 1 once it worked. */
int u_rmmod_eventually(void);

/* ---- mappings ----------------------------------------------------------- */

/* Private anonymous RW mapping, no THP.  NULL on failure. */
void *map_anon(size_t len);

/*
 * Private anonymous RW mapping of len bytes aligned to align (a power of
 * two), with the given madvise advice (MADV_HUGEPAGE / MADV_NOHUGEPAGE).
 */
void *map_anon_aligned(size_t len, size_t align, int advice);

/* ---- userfaultfd basics --------------------------------------------- */

/* A new userfaultfd (no UFFDIO_API yet); fd or -errno. */
int uffd_open(void);

/* UFFDIO_API; 0 or -errno.  *out gets the returned features (if out). */
int uffd_api_raw(int fd, uint64_t api, uint64_t features,
		 uint64_t *out, uint64_t *ioctls);

int uffd_api(int fd, uint64_t features, uint64_t *out);

/* Open + UFFDIO_API with features; fd or -errno. */
int uffd_new(uint64_t features);

int uffd_register(int fd, void *addr, size_t len, uint64_t mode);

int uffd_register_wp(int fd, void *addr, size_t len);

int uffd_unregister(int fd, void *addr, size_t len);

/* UFFDIO_WRITEPROTECT: protect (1) or unprotect and wake (0). */
int uffd_wp(int fd, void *addr, size_t len, int protect);

/* UFFDIO_COPY of len bytes; 0 or -errno; *copied gets copy.copy. */
int uffd_copy(int fd, void *dst, const void *src, size_t len,
	      uint64_t mode, int64_t *copied);

int uffd_zeropage(int fd, void *dst, size_t len, uint64_t mode,
		  int64_t *zeroed);

int uffd_wake(int fd, void *addr, size_t len);

/*
 * Wait up to timeout_ms for one message.  1: got it, 0: timeout,
 * -errno: error.
 */
int uffd_read_msg(int fd, struct uffd_msg *m, int timeout_ms);

const char *msg_str(const struct uffd_msg *m, char *buf,
		    size_t len);

/* ---- /proc/self/pagemap ---------------------------------------------- */

/* Pagemap entry of addr in process pid (0 = self); 0 on success. */
int pagemap_of(pid_t pid, const void *addr, uint64_t *ent);

/* Pagemap entry of addr in this process; all ones if it can't be read. */
uint64_t pagemap(const void *addr);

int pm_wp(const void *addr);

/* ---- the environment ------------------------------------------------ */

enum u_kind { U_STOCK, U_NATIVE, U_MODULE };

struct u_env {
	enum u_kind kind;
	int holes;		/* a context can negotiate WP_UNPOPULATED */
	int zeropage;		/* module with the zero-page backend */
	int pm_uffd_wp;		/* pagemap reports bit 57 (probed) */
	int kmaj, kmin;
	char backend[32];	/* module backend, "" if no module */
	char release[65];
};

int u_kernel_at_least(const struct u_env *e, int maj, int min);

/*
 * What the kernel offers by itself (wp_api --facts, recorded by the guest's
 * boot step before any module is loaded): NAME's 0 or 1, or -1 when it was
 * not recorded (not in the test guest, or the module was already loaded).
 */
#define U_FACTS_FILE	"/tmp/wpu-kernel-facts"
int u_kernel_fact(const char *name);

/* Does a features=0 UFFDIO_API query report WP_UNPOPULATED? */
int u_query_holes(void);

/*
 * UFFDIO_API asking for WP_UNPOPULATED on @fd: 0 granted, -errno refused,
 * or U_API_IGNORED: success without the bit in the reply, which is how
 * kernels that ignore bits they lack (6.0.y; fact api_ignores_unknown)
 * say no.  u_api_refused(): the answer a kernel without the feature gives
 * (EINVAL, or U_API_IGNORED where it ignores); u_api_str() names it.
 */
#define U_API_IGNORED	1
int u_api_bit13(int fd);
int u_api_refused(int r);
const char *u_api_str(int r);

struct u_env u_env_get(void);

#define NO_HOLES_REASON "kernel has no WP_UNPOPULATED (stock, module not loaded)"
#define NO_PM_REASON "5.10 pagemap has no PM_UFFD_WP"

/* A check that bit 57 of @addr's pagemap entry is @want_wp. */
void u_pm_check(const struct u_env *e, const char *name,
		const void *addr, int want_wp);

/* ---- watchdog ----------------------------------------------------------- */

/* Name of the check running now: the watchdog names it in its FAIL line. */
extern const char *volatile u_current;
/* Called (async-signal context) before the watchdog exits, if set. */
extern void (*volatile u_cleanup)(void);

/* Arm a global watchdog: a hang becomes a FAIL line, then exit. */
void u_watchdog(unsigned int secs);

/* ---- a thread that performs one access --------------------------------- */

enum { ACC_READ, ACC_WRITE };

struct accessor {
	pthread_t th;
	volatile char *addr;
	char val;		/* byte to write / byte read */
	int kind;
	volatile pid_t tid;
	volatile int done;
	int started;
};

int accessor_start(struct accessor *a, void *addr, int kind,
		   char val);

/* Join with a timeout: 0 joined, -1 still blocked. */
int accessor_join(struct accessor *a, int timeout_ms);

/* Wait until the accessor is done (or timeout); 1 if done. */
int accessor_wait_done(struct accessor *a, int timeout_ms);

/* ---- the fault-handler thread ----------------------------------------- */

#define UH_MAX_MSGS 8192

enum uh_missing {
	UH_MISSING_NONE,	/* record only */
	UH_MISSING_ZEROPAGE,	/* UFFDIO_ZEROPAGE the page */
	UH_MISSING_COPY,	/* UFFDIO_COPY a page of fill bytes */
	UH_MISSING_COPY_WP,	/* same, with UFFDIO_COPY_MODE_WP */
};

struct uh {
	int uffd;
	int resolve_wp;		/* unprotect the faulting page on WP faults */
	enum uh_missing missing;
	char fill;		/* byte for UH_MISSING_COPY* */
	pthread_t th;
	volatile int stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int nmsgs;		/* total messages seen */
	int nstored;		/* min(nmsgs, UH_MAX_MSGS) */
	int nerr;		/* failed resolutions */
	char err[160];		/* first failure */
	struct uffd_msg *msgs;
	int started;
};

int uh_start(struct uh *h, int uffd, int resolve_wp,
	     enum uh_missing missing);

void uh_stop(struct uh *h);

/* Wait until at least n messages were seen; returns the count. */
int uh_wait(struct uh *h, int n, int timeout_ms);

int uh_count(struct uh *h);

/* Copy of message i (0 <= i < nstored). */
struct uffd_msg uh_msg(struct uh *h, int i);

/* Forget the messages seen so far. */
void uh_reset(struct uh *h);

/* Is m a WP write fault on the page at pg? */
int msg_is_wp_write(const struct uffd_msg *m, const void *pg);

/*
 * Resolve the fault of message x so the faulting thread can go on: a WP
 * fault by unprotecting the page, a MISSING one by UFFDIO_COPY of a zero
 * page (COPY replaces a protected-hole marker, ZEROPAGE would not).
 */
void resolve_any(int uffd, const struct uffd_msg *x);

/*
 * Make one access of kind to addr from another thread and report what was
 * seen on uffd (which nobody else reads): the first message within
 * timeout_ms is copied to *m.  Every fault is resolved (resolve_any) so
 * the access can finish.  Returns the number of messages seen in total
 * (0 = silent access), -1 if the access could not be started or never
 * finished.  *blocked_val gets the byte at addr while the accessor waited
 * on the first message; *tid the accessor's tid.
 */
int access_and_watch(int uffd, void *addr, int kind, char val,
		     int timeout_ms, struct uffd_msg *m,
		     char *blocked_val, pid_t *tid);

/* xorshift32: a small, seedable PRNG for the tests (state must not be 0). */
uint32_t u_xorshift32(uint32_t *state);

/* Wait for a child, at most timeout_ms; kill it on timeout. -1 if killed. */
int u_wait_child(pid_t pid, int timeout_ms);

/* ---- PAGEMAP_SCAN (6.7+; the build host's 6.1 uapi headers lack it) ---- */

/* struct pm_scan_arg, page_region, PAGE_IS_*, PM_SCAN_*: pre-6.7 fallbacks. */
#include <linux/uffd-wpu.h>

/*
 * One PAGEMAP_SCAN call on pagemap fd pmfd: the ioctl's return value (number
 * of page_regions written to vec) or -errno; *walk_end (if not NULL) gets
 * arg.walk_end.  max_pages 0 = no limit.
 */
long pm_scan(int pmfd, const void *start, const void *end,
	     uint64_t flags, struct page_region *vec,
	     size_t vec_len, uint64_t max_pages,
	     uint64_t category_mask, uint64_t return_mask,
	     uint64_t *walk_end);

/* Open /proc/PID/pagemap (pid 0: self) read-only; fd or -errno. */
int pm_open(pid_t pid);

/* A field of the smaps entry of the VMA containing addr, in kB; -1 if none. */
long u_smaps_kb(const void *addr, const char *field);

/* AnonHugePages of the VMA containing addr, in kB; -1 if none. */
long u_anon_huge_kb(const void *addr);

/*
 * A 2 MiB-aligned MADV_HUGEPAGE region, populated by fill(p, arg).  When no
 * THP backs it (memory fragmented by earlier tests) memory is compacted and
 * the region made once more.  NULL if mmap fails; *kb: its AnonHugePages.
 */
char *u_map_thp(void (*fill)(char *p, int arg), int arg,
		long *kb);

/* u_map_thp() fills */
void u_fill_byte(char *p, int v);

#endif /* UFFD_UTIL_H */
