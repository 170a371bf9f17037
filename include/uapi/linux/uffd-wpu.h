/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * uffd-wpu: ioctl ABI of /dev/uffd-wpu.
 *
 * Every argument structure starts with a __u32 'size' that the caller sets
 * to sizeof() of the structure it was compiled with.  The kernel accepts any
 * size >= the first published size; bytes it does not know must be zero
 * (like clone3()/openat2()).  All fields have fixed widths so 32-bit and
 * 64-bit callers share one layout.
 *
 * Errors common to every command:
 *   ENOTTY  unknown command (wrong magic, number or direction)
 *   EFAULT  the argument pointer cannot be read or written
 *   EINVAL  'size' smaller than the first published size, 'size' different
 *           from the size encoded in the command, or an unknown flag
 *   E2BIG   'size' larger than known and the unknown tail is not zero
 */
#ifndef _UAPI_LINUX_UFFD_WPU_H
#define _UAPI_LINUX_UFFD_WPU_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define UFFD_WPU_DEVICE		"/dev/uffd-wpu"
#define UFFD_WPU_SYSFS		"/sys/kernel/uffd_wpu"

#define UFFD_WPU_ABI_MAJOR	1
#define UFFD_WPU_ABI_MINOR	2

/* Userfaultfd feature bits this ABI speaks about (values as upstream). */
#define UFFD_WPU_FEATURE_WP_UNPOPULATED	(1ULL << 13)
#define UFFD_WPU_FEATURE_WP_ASYNC	(1ULL << 15)

struct uffd_wpu_version {
	__u32 size;		/* in: sizeof(struct uffd_wpu_version) */
	__u32 abi_major;	/* out: UFFD_WPU_ABI_MAJOR of the module */
	__u32 abi_minor;	/* out: UFFD_WPU_ABI_MINOR of the module */
	__u32 backend;		/* out: UFFD_WPU_BACKEND_* */
	__u64 features;		/* out: UFFD_WPU_FEATURE_* the module emulates */
	char module_version[32];	/* out: NUL-terminated module version */
};

#define UFFD_WPU_BACKEND_MARKER		1	/* pte markers (6.1+ kernels) */
#define UFFD_WPU_BACKEND_ZEROPAGE	2	/* zero-page ptes with uffd-wp */

/*
 * Opt the calling process's own mm in or out.  There is no way to name
 * another process: the target is always current->mm.
 *
 *   UFFD_WPU_IOC_OPTIN   EPERM  the module is disabled (enabled=0)
 *                        ENOMEM no memory to track the mm
 *   UFFD_WPU_IOC_OPTOUT  always succeeds (opting out twice is fine)
 *
 * Opt-out stops new userfaultfd contexts of the mm from getting the
 * semantics implicitly; contexts that negotiated a feature bit keep it, and
 * ranges already protected stay protected.
 */
struct uffd_wpu_optin {
	__u32 size;		/* in: sizeof(struct uffd_wpu_optin) */
	__u32 flags;		/* in: must be 0 */
	__u64 features;		/* in: UFFD_WPU_FEATURE_* wanted; 0 = all */
};

#define UFFD_WPU_STATUS_ENABLED		(1U << 0)	/* module accepts opt-ins */
#define UFFD_WPU_STATUS_TRANSPARENT	(1U << 1)	/* UFFDIO_API grants bit 13 */
#define UFFD_WPU_STATUS_OPTED_IN	(1U << 2)	/* caller's mm is opted in */
#define UFFD_WPU_STATUS_HOOKED		(1U << 3)	/* all hooks attached */
#define UFFD_WPU_STATUS_TRACKED		(1U << 4)	/* caller's mm pins the module */

struct uffd_wpu_status {
	__u32 size;		/* in: sizeof(struct uffd_wpu_status) */
	__u32 flags;		/* out: UFFD_WPU_STATUS_* */
	__u64 features;		/* out: features granted to the caller's mm */
	__u64 tracked_mms;	/* out: mms that pin the module */
};

#define UFFD_WPU_IOC_MAGIC	0xF7

#define UFFD_WPU_IOC_VERSION	_IOWR(UFFD_WPU_IOC_MAGIC, 0x00, struct uffd_wpu_version)
#define UFFD_WPU_IOC_OPTIN	_IOW(UFFD_WPU_IOC_MAGIC, 0x01, struct uffd_wpu_optin)
#define UFFD_WPU_IOC_OPTOUT	_IOW(UFFD_WPU_IOC_MAGIC, 0x02, struct uffd_wpu_optin)
#define UFFD_WPU_IOC_STATUS	_IOWR(UFFD_WPU_IOC_MAGIC, 0x03, struct uffd_wpu_status)

/*
 * PAGEMAP_SCAN on the caller's own mm, for programs that prefer the device
 * to /proc/self/pagemap.  The argument is struct pm_scan_arg (below), whose
 * own 'size' field (a __u64) is checked as PAGEMAP_SCAN checks it; results,
 * return value and errors are those of PAGEMAP_SCAN.
 */
#define UFFD_WPU_IOC_PAGEMAP_SCAN _IOWR(UFFD_WPU_IOC_MAGIC, 0x04, struct pm_scan_arg)

/*
 * The PAGEMAP_SCAN ioctl of /proc/PID/pagemap (Linux 6.7), which the module
 * provides on older kernels.  Kernel headers older than 6.7 lack it; the
 * names and values below are the upstream ABI (include/uapi/linux/fs.h).
 */
#ifndef PAGEMAP_SCAN
#define PAGEMAP_SCAN		_IOWR('f', 16, struct pm_scan_arg)

#define PAGE_IS_WPALLOWED	(1 << 0)	/* uffd-wp async VMA */
#define PAGE_IS_WRITTEN		(1 << 1)	/* not write-protected */
#define PAGE_IS_FILE		(1 << 2)	/* page cache page */
#define PAGE_IS_PRESENT		(1 << 3)
#define PAGE_IS_SWAPPED		(1 << 4)	/* swap, migration or marker */
#define PAGE_IS_PFNZERO		(1 << 5)	/* the (huge) zero page */
#define PAGE_IS_HUGE		(1 << 6)	/* THP or hugetlb mapping */
#define PAGE_IS_SOFT_DIRTY	(1 << 7)

struct page_region {
	__u64 start;		/* first byte */
	__u64 end;		/* first byte after */
	__u64 categories;	/* PAGE_IS_*, restricted to return_mask */
};

#define PM_SCAN_WP_MATCHING	(1 << 0)	/* write-protect what matched */
#define PM_SCAN_CHECK_WPASYNC	(1 << 1)	/* EPERM on a non-async VMA */

struct pm_scan_arg {
	__u64 size;		/* sizeof(struct pm_scan_arg) */
	__u64 flags;		/* PM_SCAN_* */
	__u64 start;		/* page aligned */
	__u64 end;
	__u64 walk_end;		/* out: where the scan stopped */
	__u64 vec;		/* struct page_region [vec_len] */
	__u64 vec_len;
	__u64 max_pages;	/* 0: no limit */
	__u64 category_inverted;	/* categories that match when clear */
	__u64 category_mask;	/* all of these must match */
	__u64 category_anyof_mask;	/* one of these must match */
	__u64 return_mask;	/* categories reported in vec */
};
#endif /* PAGEMAP_SCAN */

#endif /* _UAPI_LINUX_UFFD_WPU_H */
