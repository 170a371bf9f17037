// SPDX-License-Identifier: GPL-2.0
/*
 * libuffd-wpu-preload.so: UFFD_FEATURE_WP_UNPOPULATED for unmodified,
 * dynamically linked programs on kernels where the uffd_wpu module runs
 * with transparent mode off.
 *
 *	LD_PRELOAD=libuffd-wpu-preload.so program ...
 *
 * - At load (constructor): if the uffd_wpu module is loaded, enabled and
 *   not in transparent mode, opt the process's mm in through /dev/uffd-wpu.
 *   Without the module (native 6.4+ kernels, stock kernels) it does nothing.
 * - ioctl() is interposed: before a UFFDIO_API whose features ask for bit
 *   13 the same check runs again (a fork child has a new mm that is not
 *   opted in; the module may have been loaded or switched since), then
 *   the call goes to the next ioctl() unchanged.  Every other ioctl goes
 *   straight through.  errno is what the real ioctl() left.
 *
 * UFFD_WPU_PRELOAD_DEBUG=1 prints what the shim did to stderr.
 *
 * The library code is linked in (hidden), so the shim is one file and
 * exports nothing but ioctl.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/userfaultfd.h>

#include "uffd-wpu.h"
#include "internal.h"

typedef int (*ioctl_fn)(int, unsigned long, ...);

static ioctl_fn next_ioctl;	/* set once; every value stored is the same */

static ioctl_fn get_next_ioctl(void)
{
	ioctl_fn f = __atomic_load_n(&next_ioctl, __ATOMIC_ACQUIRE);

	if (!f) {
		f = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
		__atomic_store_n(&next_ioctl, f, __ATOMIC_RELEASE);
	}
	return f;
}

static int debug(void)
{
	const char *d = getenv("UFFD_WPU_PRELOAD_DEBUG");

	return d && *d && strcmp(d, "0");
}

static void say(const char *what)
{
	struct uffd_wpu_error e;
	char buf[320];
	int n;

	if (!debug())
		return;
	uffd_wpu_last_error(&e);
	n = snprintf(buf, sizeof(buf), "uffd-wpu-preload[%d]: %s%s%s\n",
		     (int)getpid(), what, e.reason ? ": " : "",
		     e.reason ? e.message : "");
	if (n > 0 && write(2, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1) < 0)
		return;
}

/* Opt in if the module needs it; never fails, keeps errno. */
static void prepare(const char *when)
{
	char what[96];
	int saved = errno, opted = 0, r;

	r = uffd_wpu__prepare(&opted);
	if (debug()) {
		snprintf(what, sizeof(what), "%s: %s", when,
			 r == WPU_PREP_NO_MODULE ? "no uffd_wpu module, nothing to do" :
			 r == WPU_PREP_FAILED ? "cannot get WP_UNPOPULATED" :
			 opted ? "opted in" : "module grants it already");
		say(what);
	}
	errno = saved;
}

__attribute__((constructor)) static void uffd_wpu_preload_init(void)
{
	get_next_ioctl();
	prepare("load");
}

/*
 * The features word of a UFFDIO_API argument, read without faulting:
 * a bad pointer must still give the program EFAULT from the kernel, not
 * SIGSEGV from us.  0 if it cannot be read.
 */
static uint64_t api_features(void *arg)
{
	struct uffdio_api a;
	struct iovec local = { &a, sizeof(a) }, remote = { arg, sizeof(a) };

	int saved = errno;
	long n;

	if (!arg)
		return 0;
	n = syscall(SYS_process_vm_readv, getpid(), &local, 1UL, &remote, 1UL, 0UL);
	if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
		/* no CONFIG_CROSS_MEMORY_ATTACH, or seccomp: read it directly */
		errno = saved;
		return ((struct uffdio_api *)arg)->features;
	}
	errno = saved;
	return n == (long)sizeof(a) ? a.features : 0;
}

/* glibc: int ioctl(int fd, unsigned long request, ...) */
__attribute__((visibility("default"))) int ioctl(int fd, unsigned long req, ...)
{
	ioctl_fn f = get_next_ioctl();
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);

	if (req == UFFDIO_API) {
		uint64_t want = api_features(arg);

		if (want & UFFD_WPU_FEATURE_WP_ASYNC)
			prepare("UFFDIO_API asks for WP_ASYNC");
		else if (want & UFFD_WPU_FEATURE_WP_UNPOPULATED)
			prepare("UFFDIO_API asks for WP_UNPOPULATED");
	}
	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	return f(fd, req, arg);
}
