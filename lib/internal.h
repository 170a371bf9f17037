/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internals of libuffd-wpu shared with the LD_PRELOAD shim (preload.c).
 * Not installed; nothing here is exported from libuffd-wpu.so.
 */
#ifndef UFFD_WPU_LIB_INTERNAL_H
#define UFFD_WPU_LIB_INTERNAL_H

#define UFFD_WPU_EXPORT	__attribute__((visibility("default")))
#define UFFD_WPU_HIDDEN	__attribute__((visibility("hidden")))

/* Results of uffd_wpu__prepare() */
enum {
	WPU_PREP_FAILED = -1,	/* module loaded, bit 13 cannot be had (last error set) */
	WPU_PREP_NO_MODULE = 0,	/* no module: native kernel or stock */
	WPU_PREP_MODULE = 1,	/* module will grant bit 13 to this mm */
};

/*
 * Before a UFFDIO_API that asks for WP_UNPOPULATED: if the uffd_wpu module
 * is loaded and in transparent mode, nothing to do; if transparent mode is
 * off, opt the calling mm in (unless it is already).  *opted_now is set to
 * 1 if this call opted the mm in.  Never leaves a file descriptor open.
 */
UFFD_WPU_HIDDEN int uffd_wpu__prepare(int *opted_now);

#endif
