/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libuffd-wpu: use UFFD_FEATURE_WP_UNPOPULATED wherever it can be had.
 *
 * On Linux 6.4 and later the kernel offers the feature itself ("native").
 * On older kernels (5.7 - 6.3) the uffd_wpu module emulates it, either
 * transparently (any UFFDIO_API that asks for it gets it) or for processes
 * that opted in through /dev/uffd-wpu.  This library hides the difference:
 *
 *	int uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
 *	uint64_t got;
 *
 *	if (uffd_wpu_api(uffd, UFFD_WPU_FEATURE_WP_UNPOPULATED, &got))
 *		fprintf(stderr, "%s\n", uffd_wpu_strerror(errno));
 *
 * Every function is thread-safe and keeps no file descriptor open after it
 * returns.  Structures have fixed-width fields only.  See uffd_wpu(3).
 *
 * This header does not need <linux/userfaultfd.h> and can be included with
 * or without the module's <linux/uffd-wpu.h>.
 */
#ifndef UFFD_WPU_H
#define UFFD_WPU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UFFD_WPU_LIB_VERSION_MAJOR	1
#define UFFD_WPU_LIB_VERSION_MINOR	0

/* Userfaultfd feature bits (values as upstream <linux/userfaultfd.h>). */
#ifndef UFFD_WPU_FEATURE_WP_UNPOPULATED
#define UFFD_WPU_FEATURE_WP_UNPOPULATED	(1ULL << 13)
#endif
#ifndef UFFD_WPU_FEATURE_WP_ASYNC
#define UFFD_WPU_FEATURE_WP_ASYNC	(1ULL << 15)	/* implies bit 13 */
#endif
#define UFFD_WPU_FEATURE_PAGEFAULT_FLAG_WP	(1ULL << 0)

/* Module backends (same values as <linux/uffd-wpu.h>). */
#define UFFD_WPU_BACKEND_NONE		0	/* native kernel, or no module */
#ifndef UFFD_WPU_BACKEND_MARKER
#define UFFD_WPU_BACKEND_MARKER		1	/* pte markers (6.1 - 6.3) */
#endif
#ifndef UFFD_WPU_BACKEND_ZEROPAGE
#define UFFD_WPU_BACKEND_ZEROPAGE	2	/* zero-page ptes (5.7 - 6.0) */
#endif

/* How this kernel provides WP_UNPOPULATED (struct uffd_wpu_probe.support). */
enum uffd_wpu_support {
	UFFD_WPU_UNAVAILABLE	= 0,	/* not at all: see .reason */
	UFFD_WPU_NATIVE		= 1,	/* the kernel offers bit 13 (6.4+) */
	UFFD_WPU_MODULE		= 2,	/* the uffd_wpu module emulates it */
};

/* Why something is unavailable or failed (probe .reason, uffd_wpu_last_error). */
enum uffd_wpu_reason {
	UFFD_WPU_REASON_NONE		= 0,	/* no failure */
	UFFD_WPU_REASON_NO_MODULE	= 1,	/* kernel < 6.4 and uffd_wpu not loaded */
	UFFD_WPU_REASON_MODULE_DISABLED	= 2,	/* /sys/kernel/uffd_wpu/enabled is 0 */
	UFFD_WPU_REASON_KERNEL_TOO_OLD	= 3,	/* no uffd-wp (UFFD_FEATURE_PAGEFAULT_FLAG_WP) */
	UFFD_WPU_REASON_NO_USERFAULTFD	= 4,	/* userfaultfd() fails with ENOSYS */
	UFFD_WPU_REASON_UFFD_NOT_PERMITTED = 5,	/* userfaultfd() fails with EPERM */
	UFFD_WPU_REASON_DEVICE_DENIED	= 6,	/* /dev/uffd-wpu cannot be opened */
	UFFD_WPU_REASON_MODULE_ABI	= 7,	/* the module speaks another ABI */
	UFFD_WPU_REASON_API_FAILED	= 8,	/* UFFDIO_API itself failed (.sys_errno) */
	UFFD_WPU_REASON_SYSTEM_ERROR	= 9,	/* any other failure (.sys_errno) */
};

/* struct uffd_wpu_probe.flags */
#define UFFD_WPU_PROBE_DEVICE		(1U << 0) /* /dev/uffd-wpu usable */
#define UFFD_WPU_PROBE_OPTED_IN		(1U << 1) /* this process's mm is opted in */
#define UFFD_WPU_PROBE_HOOKED		(1U << 2) /* module: all hooks attached */
#define UFFD_WPU_PROBE_NEEDS_OPTIN	(1U << 3) /* module: transparent off, so
						     uffd_wpu_api() opts the mm in */
#define UFFD_WPU_PROBE_USER_MODE_ONLY	(1U << 4) /* only UFFD_USER_MODE_ONLY
						     userfaultfds are permitted */

#define UFFD_WPU_MESSAGE_LEN		192

struct uffd_wpu_probe {
	uint32_t support;	/* enum uffd_wpu_support */
	uint32_t reason;	/* enum uffd_wpu_reason; NONE unless UNAVAILABLE */
	int32_t sys_errno;	/* errno behind .reason, 0 if none */
	uint32_t flags;		/* UFFD_WPU_PROBE_* */
	uint32_t module_loaded;	/* 1 if the uffd_wpu module is loaded */
	uint32_t backend;	/* UFFD_WPU_BACKEND_* */
	uint32_t enabled;	/* module: sysfs enabled; native: 1 */
	uint32_t transparent;	/* module: sysfs transparent; native: 1 */
	uint32_t abi_major;	/* module ioctl ABI, 0 if unknown */
	uint32_t abi_minor;
	uint64_t kernel_features; /* features a features=0 UFFDIO_API lists,
				     for this process; 0 if it could not run */
	char module_version[32];	/* NUL-terminated, "" without module */
	char message[UFFD_WPU_MESSAGE_LEN];	/* one human-readable line */
	uint32_t reserved[8];	/* zero */
};

/* One line of /sys/kernel/uffd_wpu/stats. */
struct uffd_wpu_stat {
	char name[24];		/* NUL-terminated */
	int64_t value;
};

#define UFFD_WPU_MAX_STATS	32

struct uffd_wpu_status_info {
	struct uffd_wpu_probe probe;
	char kernel_release[72];	/* uname -r */
	uint32_t hooks;		/* module: hooks attached (sysfs hooks) */
	uint32_t nstats;	/* entries used in .stats */
	uint64_t tracked_mms;	/* module: mms that pin it */
	uint64_t granted_features; /* module: features granted to this mm */
	struct uffd_wpu_stat stats[UFFD_WPU_MAX_STATS];
	uint32_t reserved[8];	/* zero */
};

/* Details of the last failure of a uffd_wpu_* call in this thread. */
struct uffd_wpu_error {
	uint32_t reason;	/* enum uffd_wpu_reason */
	int32_t sys_errno;	/* errno behind it (may differ from errno) */
	char message[UFFD_WPU_MESSAGE_LEN];
};

/*
 * How this kernel supports WP_UNPOPULATED, for the calling process.
 * Returns 0 (even when the verdict is UNAVAILABLE), -1 with errno EINVAL if
 * out is NULL.
 */
int uffd_wpu_probe(struct uffd_wpu_probe *out);

/*
 * Drop-in replacement for ioctl(uffd, UFFDIO_API) with api = UFFD_API.
 * With UFFD_WPU_FEATURE_WP_UNPOPULATED or UFFD_WPU_FEATURE_WP_ASYNC in
 * features, gets them natively, from the module transparently, or by
 * opting the mm in first.  Returns 0 and
 * stores the features the kernel returned in *out_features (if not NULL),
 * or -1 with errno set: EOPNOTSUPP when the feature cannot be had (the
 * userfaultfd is then left untouched: UFFDIO_API was not called on it),
 * else the errno of UFFDIO_API.
 */
int uffd_wpu_api(int uffd, uint64_t features, uint64_t *out_features);

/*
 * PAGEMAP_SCAN (Linux 6.7; the module provides it on 5.7 - 6.3).  arg is a
 * struct pm_scan_arg (from <linux/fs.h> 6.7+, or <linux/uffd-wpu.h>).
 * With pagemap_fd >= 0 it is the ioctl on that /proc/PID/pagemap file; with
 * pagemap_fd < 0 it scans the calling process, through /proc/self/pagemap
 * or, where the module does not offer the ioctl to this process (transparent
 * mode off, not opted in), through /dev/uffd-wpu.  Returns what PAGEMAP_SCAN
 * returns (the number of page_region entries filled), or -1 with errno:
 * PAGEMAP_SCAN's own errors, or EOPNOTSUPP where nobody offers it.
 */
long uffd_wpu_pagemap_scan(int pagemap_fd, void *arg);

/* Opt the calling process's mm in / out through /dev/uffd-wpu. */
int uffd_wpu_optin(void);
int uffd_wpu_optout(void);

/* Everything uffd-wpu(1) shows.  0, or -1 with errno EINVAL (NULL). */
int uffd_wpu_status(struct uffd_wpu_status_info *out);

/* Root: write /sys/kernel/uffd_wpu/{enabled,transparent}.  0 or -1. */
int uffd_wpu_set_enabled(int on);
int uffd_wpu_set_transparent(int on);

/* Static text for an errno returned by a uffd_wpu_* function. */
const char *uffd_wpu_strerror(int err);
/* Static text for an enum uffd_wpu_reason; "unknown reason" otherwise. */
const char *uffd_wpu_reason_str(uint32_t reason);
/* Static names: "native", "module", "unavailable"; "marker", "zeropage", "none". */
const char *uffd_wpu_support_str(uint32_t support);
const char *uffd_wpu_backend_str(uint32_t backend);

/*
 * Copy this thread's last failure into *out (if not NULL) and return its
 * reason.  Every other uffd_wpu_* function sets it: reason NONE when it
 * succeeds.
 */
uint32_t uffd_wpu_last_error(struct uffd_wpu_error *out);

/* Version of the library, e.g. "0.1.0". */
const char *uffd_wpu_library_version(void);

#ifdef __cplusplus
}
#endif

#endif /* UFFD_WPU_H */
