// SPDX-License-Identifier: GPL-2.0
/*
 * libuffd-wpu: probe for UFFD_FEATURE_WP_UNPOPULATED (native 6.4+, or the
 * uffd_wpu module), negotiate it, opt in, report status.  API and
 * semantics: include/uffd-wpu.h and man/uffd_wpu.3.
 *
 * Thread-safety: there is no global mutable state; the only per-thread
 * state is the last error (thread-local).  Every file descriptor opened
 * here is O_CLOEXEC and closed before the function returns.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <linux/userfaultfd.h>
#include <linux/uffd-wpu.h>

#include "uffd-wpu.h"
#include "internal.h"

/*
 * lib/lib.mk passes the version of dkms.conf; only a build outside it (the
 * test programs of tests/run) gets this.
 */
#ifndef UFFD_WPU_VERSION
#define UFFD_WPU_VERSION "unknown"
#endif

/* Constants older uapi headers lack. */
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

#define BIT13		UFFD_WPU_FEATURE_WP_UNPOPULATED
/* Bits the module can provide (bit 15, WP_ASYNC, implies bit 13). */
#define MODULE_BITS	(UFFD_WPU_FEATURE_WP_UNPOPULATED | UFFD_WPU_FEATURE_WP_ASYNC)
#define SYSFS_DIR	UFFD_WPU_SYSFS
#define DEVICE		UFFD_WPU_DEVICE

/* ---- errors ---------------------------------------------------------- */

static __thread struct uffd_wpu_error tl_err;

/* Thread-safe strerror (GNU or XSI strerror_r). */
static const char *errtext(int e, char *buf, size_t len)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
	return strerror_r(e, buf, len);
#else
	if (strerror_r(e, buf, len))
		snprintf(buf, len, "error %d", e);
	return buf;
#endif
}

static void err_clear(void)
{
	tl_err.reason = UFFD_WPU_REASON_NONE;
	tl_err.sys_errno = 0;
	tl_err.message[0] = 0;
}

static void __attribute__((format(printf, 3, 0)))
err_vset(uint32_t reason, int sys_errno, const char *fmt, va_list ap)
{
	tl_err.reason = reason;
	tl_err.sys_errno = sys_errno;
	vsnprintf(tl_err.message, sizeof(tl_err.message), fmt, ap);
}

/* Record the failure, set errno to err and return -1. */
static int __attribute__((format(printf, 4, 5)))
fail(int err, uint32_t reason, int sys_errno, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(reason, sys_errno, fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

/* ---- small helpers ----------------------------------------------------- */

/* Read a small file (trailing whitespace removed); 0 or -errno. */
static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

/* 0/1 from a sysfs boolean, -errno if unreadable. */
static int read_bool(const char *name)
{
	char path[96], buf[16];
	int r;

	snprintf(path, sizeof(path), "%s/%s", SYSFS_DIR, name);
	r = read_file(path, buf, sizeof(buf));
	if (r)
		return r;
	return buf[0] == '1' || buf[0] == 'Y' || buf[0] == 'y';
}

static int sysfs_present(void)
{
	struct stat st;

	return stat(SYSFS_DIR, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Errors of open(DEVICE) that mean "there is no such device". */
static int no_device_errno(int e)
{
	return e == ENOENT || e == ENODEV || e == ENXIO;
}

static void kernel_release(char *buf, size_t len)
{
	struct utsname u;

	if (uname(&u))
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%s", u.release);
}

/*
 * A scratch userfaultfd for a features=0 query; fd or -errno.  Tries a
 * plain one, then UFFD_USER_MODE_ONLY (what vm.unprivileged_userfaultfd=0
 * still permits on 5.11+), then /dev/userfaultfd (6.1+, file mode decides).
 */
static int scratch_uffd(int *user_mode_only)
{
	int fd, dev, e;

	fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		return fd;
	e = errno;
	if (e != EPERM)
		return -e;
	fd = (int)syscall(__NR_userfaultfd,
			  O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd >= 0) {
		*user_mode_only = 1;
		return fd;
	}
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		close(dev);
		if (fd >= 0)
			return fd;
	}
	return -EPERM;
}

/* features=0 UFFDIO_API on a scratch userfaultfd: 0, or -errno. */
static int query_features(uint64_t *features, int *user_mode_only)
{
	struct uffdio_api a = { .api = UFFD_API, .features = 0 };
	int fd = scratch_uffd(user_mode_only);
	int r = 0;

	if (fd < 0)
		return fd;
	if (ioctl(fd, UFFDIO_API, &a))
		r = -errno;
	else
		*features = a.features;
	close(fd);
	return r;
}

/* UFFDIO_API on the caller's userfaultfd; 0 or -errno. */
static int do_api(int uffd, uint64_t features, uint64_t *out)
{
	struct uffdio_api a = { .api = UFFD_API, .features = features };

	if (ioctl(uffd, UFFDIO_API, &a))
		return -errno;
	if (out)
		*out = a.features;
	return 0;
}

/* ---- what the module says ------------------------------------------- */

struct modinfo {
	int loaded;		/* module present */
	int dev_errno;		/* 0: /dev/uffd-wpu opened */
	int abi_ok;		/* the device speaks ABI major 1 */
	int have_status;	/* STATUS ioctl answered */
	uint32_t status;	/* UFFD_WPU_STATUS_* (ioctl, else sysfs) */
	uint64_t granted;	/* STATUS.features */
	uint64_t tracked;	/* STATUS.tracked_mms */
	uint32_t backend, abi_major, abi_minor;
	char version[32];
};

static void module_info(struct modinfo *m)
{
	struct uffd_wpu_version v;
	struct uffd_wpu_status s;
	char buf[32];
	int dev, r;

	memset(m, 0, sizeof(*m));
	dev = open(DEVICE, O_RDONLY | O_CLOEXEC);
	if (dev < 0) {
		m->dev_errno = errno;
		if (no_device_errno(m->dev_errno) && !sysfs_present())
			return;
	} else {
		memset(&v, 0, sizeof(v));
		v.size = sizeof(v);
		if (!ioctl(dev, UFFD_WPU_IOC_VERSION, &v)) {
			m->abi_major = v.abi_major;
			m->abi_minor = v.abi_minor;
			m->abi_ok = v.abi_major == UFFD_WPU_ABI_MAJOR;
			m->backend = v.backend;
			memcpy(m->version, v.module_version, sizeof(m->version));
			m->version[sizeof(m->version) - 1] = 0;
		}
		memset(&s, 0, sizeof(s));
		s.size = sizeof(s);
		if (m->abi_ok && !ioctl(dev, UFFD_WPU_IOC_STATUS, &s)) {
			m->have_status = 1;
			m->status = s.flags;
			m->granted = s.features;
			m->tracked = s.tracked_mms;
		}
		close(dev);
	}
	m->loaded = 1;

	/* sysfs tells what the device could not */
	if (!m->have_status) {
		if (read_bool("enabled") == 1)
			m->status |= UFFD_WPU_STATUS_ENABLED;
		if (read_bool("transparent") == 1)
			m->status |= UFFD_WPU_STATUS_TRANSPARENT;
		r = read_file(SYSFS_DIR "/hooks", buf, sizeof(buf));
		if (!r && atoi(buf) > 0)
			m->status |= UFFD_WPU_STATUS_HOOKED;
	}
	if (!m->backend && !read_file(SYSFS_DIR "/backend", buf, sizeof(buf))) {
		if (!strcmp(buf, "marker"))
			m->backend = UFFD_WPU_BACKEND_MARKER;
		else if (!strcmp(buf, "zeropage"))
			m->backend = UFFD_WPU_BACKEND_ZEROPAGE;
	}
	if (!m->version[0])
		read_file(SYSFS_DIR "/version", m->version, sizeof(m->version));
}

/* ---- probe ------------------------------------------------------------- */

static void __attribute__((format(printf, 4, 5)))
verdict(struct uffd_wpu_probe *p, uint32_t support, uint32_t reason,
	const char *fmt, ...)
{
	va_list ap;

	p->support = support;
	p->reason = reason;
	va_start(ap, fmt);
	vsnprintf(p->message, sizeof(p->message), fmt, ap);
	va_end(ap);
}

static void probe_fill(struct uffd_wpu_probe *p, struct modinfo *m)
{
	char rel[72], eb[64];
	uint64_t kf = 0;
	int umo = 0, q, dev_ok, optin;

	memset(p, 0, sizeof(*p));
	kernel_release(rel, sizeof(rel));
	module_info(m);
	dev_ok = m->loaded && !m->dev_errno && m->abi_ok;
	if (m->loaded) {
		p->module_loaded = 1;
		p->backend = m->backend;
		p->enabled = !!(m->status & UFFD_WPU_STATUS_ENABLED);
		p->transparent = !!(m->status & UFFD_WPU_STATUS_TRANSPARENT);
		p->abi_major = m->abi_major;
		p->abi_minor = m->abi_minor;
		memcpy(p->module_version, m->version, sizeof(p->module_version));
		if (dev_ok)
			p->flags |= UFFD_WPU_PROBE_DEVICE;
		if (m->status & UFFD_WPU_STATUS_OPTED_IN)
			p->flags |= UFFD_WPU_PROBE_OPTED_IN;
		if (m->status & UFFD_WPU_STATUS_HOOKED)
			p->flags |= UFFD_WPU_PROBE_HOOKED;
	}

	q = query_features(&kf, &umo);
	if (!q)
		p->kernel_features = kf;
	if (umo)
		p->flags |= UFFD_WPU_PROBE_USER_MODE_ONLY;

	if (q == -ENOSYS) {
		p->sys_errno = ENOSYS;
		verdict(p, UFFD_WPU_UNAVAILABLE, UFFD_WPU_REASON_NO_USERFAULTFD,
			"userfaultfd() is not available on kernel %s (CONFIG_USERFAULTFD off, or blocked by seccomp)",
			rel);
	} else if (q == -EPERM) {
		p->sys_errno = EPERM;
		verdict(p, UFFD_WPU_UNAVAILABLE, UFFD_WPU_REASON_UFFD_NOT_PERMITTED,
			"userfaultfd() not permitted: vm.unprivileged_userfaultfd is 0 and the process lacks CAP_SYS_PTRACE");
	} else if (q < 0) {
		p->sys_errno = -q;
		verdict(p, UFFD_WPU_UNAVAILABLE, UFFD_WPU_REASON_SYSTEM_ERROR,
			"cannot create or query a userfaultfd: %s",
			errtext(-q, eb, sizeof(eb)));
	} else if (!(kf & UFFD_WPU_FEATURE_PAGEFAULT_FLAG_WP)) {
		verdict(p, UFFD_WPU_UNAVAILABLE, UFFD_WPU_REASON_KERNEL_TOO_OLD,
			"kernel %s has no userfaultfd write-protect (UFFD_FEATURE_PAGEFAULT_FLAG_WP, Linux 5.7+)",
			rel);
	} else if (m->loaded) {
		optin = !p->transparent && !(p->flags & UFFD_WPU_PROBE_OPTED_IN);
		if (!p->enabled) {
			verdict(p, UFFD_WPU_UNAVAILABLE, UFFD_WPU_REASON_MODULE_DISABLED,
				"the uffd_wpu module is disabled (%s/enabled is 0)", SYSFS_DIR);
		} else if (optin && !dev_ok && m->dev_errno) {
			p->sys_errno = m->dev_errno;
			verdict(p, UFFD_WPU_UNAVAILABLE, UFFD_WPU_REASON_DEVICE_DENIED,
				"uffd_wpu transparent mode is off and %s cannot be opened: %s",
				DEVICE, errtext(m->dev_errno, eb, sizeof(eb)));
		} else if (optin && !dev_ok) {
			verdict(p, UFFD_WPU_UNAVAILABLE, UFFD_WPU_REASON_MODULE_ABI,
				"uffd_wpu transparent mode is off and %s speaks ABI %u, this library %u",
				DEVICE, m->abi_major, UFFD_WPU_ABI_MAJOR);
		} else {
			if (optin)
				p->flags |= UFFD_WPU_PROBE_NEEDS_OPTIN;
			verdict(p, UFFD_WPU_MODULE, UFFD_WPU_REASON_NONE,
				"emulated by the uffd_wpu module %s (%s backend) on %s, %s",
				m->version[0] ? m->version : "?",
				uffd_wpu_backend_str(m->backend), rel,
				p->transparent ? "transparent mode" :
				!optin ? "this process opted in" :
				"transparent mode off: uffd_wpu_api() opts the process in");
		}
	} else if (kf & BIT13) {
		p->enabled = 1;
		p->transparent = 1;
		verdict(p, UFFD_WPU_NATIVE, UFFD_WPU_REASON_NONE,
			"kernel %s offers WP_UNPOPULATED natively", rel);
	} else {
		verdict(p, UFFD_WPU_UNAVAILABLE, UFFD_WPU_REASON_NO_MODULE,
			"kernel %s has no native WP_UNPOPULATED (6.4+) and the uffd_wpu module is not loaded",
			rel);
	}
}

UFFD_WPU_EXPORT int uffd_wpu_probe(struct uffd_wpu_probe *out)
{
	struct modinfo m;
	int saved = errno;

	if (!out)
		return fail(EINVAL, UFFD_WPU_REASON_SYSTEM_ERROR, EINVAL,
			    "uffd_wpu_probe: NULL argument");
	probe_fill(out, &m);
	err_clear();
	errno = saved;
	return 0;
}

/* ---- opt-in ------------------------------------------------------------ */

/* OPTIN/OPTOUT on an open device; 0 or -1 with the last error set. */
static int opt_cmd(int dev, unsigned long cmd)
{
	struct uffd_wpu_optin o;
	char eb[64];
	int e;

	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	if (!ioctl(dev, cmd, &o))
		return 0;
	e = errno;
	if (e == EPERM)
		return fail(EPERM, UFFD_WPU_REASON_MODULE_DISABLED, EPERM,
			    "the uffd_wpu module is disabled (%s/enabled is 0)", SYSFS_DIR);
	if (e == ENOTTY || e == EINVAL || e == E2BIG)
		return fail(e, UFFD_WPU_REASON_MODULE_ABI, e,
			    "%s refused the opt-%s command (%s): module ABI mismatch?",
			    DEVICE, cmd == UFFD_WPU_IOC_OPTIN ? "in" : "out",
			    errtext(e, eb, sizeof(eb)));
	return fail(e, UFFD_WPU_REASON_SYSTEM_ERROR, e, "opt-%s through %s: %s",
		    cmd == UFFD_WPU_IOC_OPTIN ? "in" : "out", DEVICE,
		    errtext(e, eb, sizeof(eb)));
}

/* open(DEVICE); fd, or -1 with errno and the last error set. */
static int open_device(void)
{
	char eb[64];
	int dev = open(DEVICE, O_RDONLY | O_CLOEXEC), e;

	if (dev >= 0)
		return dev;
	e = errno;
	if (no_device_errno(e) && !sysfs_present())
		return fail(ENODEV, UFFD_WPU_REASON_NO_MODULE, e,
			    "the uffd_wpu module is not loaded (no %s)", DEVICE);
	return fail(no_device_errno(e) ? ENODEV : e, UFFD_WPU_REASON_DEVICE_DENIED, e,
		    "cannot open %s: %s", DEVICE, errtext(e, eb, sizeof(eb)));
}

static int optin_out(unsigned long cmd)
{
	int dev = open_device(), r;

	if (dev < 0)
		return -1;
	r = opt_cmd(dev, cmd);
	close(dev);
	if (!r)
		err_clear();
	return r;
}

UFFD_WPU_EXPORT int uffd_wpu_optin(void)
{
	return optin_out(UFFD_WPU_IOC_OPTIN);
}

UFFD_WPU_EXPORT int uffd_wpu_optout(void)
{
	return optin_out(UFFD_WPU_IOC_OPTOUT);
}

/* ---- UFFDIO_API ------------------------------------------------------ */

UFFD_WPU_HIDDEN int uffd_wpu__prepare(int *opted_now)
{
	struct uffd_wpu_status s;
	char eb[64];
	int dev, e, en, tr;

	*opted_now = 0;
	dev = open(DEVICE, O_RDONLY | O_CLOEXEC);
	if (dev < 0) {
		e = errno;
		if (no_device_errno(e) && !sysfs_present())
			return WPU_PREP_NO_MODULE;
		/* loaded, device unusable: only transparent mode can work */
		en = read_bool("enabled");
		tr = read_bool("transparent");
		if (en == 0) {
			fail(EOPNOTSUPP, UFFD_WPU_REASON_MODULE_DISABLED, 0,
			     "the uffd_wpu module is disabled (%s/enabled is 0)", SYSFS_DIR);
			return WPU_PREP_FAILED;
		}
		if (tr == 1)
			return WPU_PREP_MODULE;
		fail(EOPNOTSUPP, UFFD_WPU_REASON_DEVICE_DENIED, e,
		     "uffd_wpu transparent mode is off and %s cannot be opened: %s",
		     DEVICE, errtext(e, eb, sizeof(eb)));
		return WPU_PREP_FAILED;
	}

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	if (ioctl(dev, UFFD_WPU_IOC_STATUS, &s)) {
		e = errno;
		close(dev);
		fail(EOPNOTSUPP, UFFD_WPU_REASON_MODULE_ABI, e,
		     "%s refused the status command (%s): module ABI mismatch?",
		     DEVICE, errtext(e, eb, sizeof(eb)));
		return WPU_PREP_FAILED;
	}
	if (!(s.flags & UFFD_WPU_STATUS_ENABLED)) {
		close(dev);
		fail(EOPNOTSUPP, UFFD_WPU_REASON_MODULE_DISABLED, 0,
		     "the uffd_wpu module is disabled (%s/enabled is 0)", SYSFS_DIR);
		return WPU_PREP_FAILED;
	}
	if (s.flags & (UFFD_WPU_STATUS_TRANSPARENT | UFFD_WPU_STATUS_OPTED_IN)) {
		close(dev);
		return WPU_PREP_MODULE;
	}
	/* Transparent mode off: opt in now, before the one UFFDIO_API. */
	e = opt_cmd(dev, UFFD_WPU_IOC_OPTIN);
	close(dev);
	if (e) {
		errno = EOPNOTSUPP;
		return WPU_PREP_FAILED;
	}
	*opted_now = 1;
	return WPU_PREP_MODULE;
}

UFFD_WPU_EXPORT int uffd_wpu_api(int uffd, uint64_t features,
				 uint64_t *out_features)
{
	char rel[72], eb[64];
	uint64_t kf = 0;
	int opted = 0, umo = 0, prep, r;

	if (out_features)
		*out_features = 0;
	/* no opt-in as a side effect of a call that cannot succeed */
	if (fcntl(uffd, F_GETFD) < 0)
		return fail(errno, UFFD_WPU_REASON_API_FAILED, errno, "UFFDIO_API: %s",
			    errtext(errno, eb, sizeof(eb)));
	if (features & MODULE_BITS) {
		prep = uffd_wpu__prepare(&opted);
		if (prep == WPU_PREP_FAILED)
			return -1;	/* errno EOPNOTSUPP, last error set */
		if (prep == WPU_PREP_NO_MODULE && !query_features(&kf, &umo) &&
		    (kf & features & MODULE_BITS) != (features & MODULE_BITS)) {
			kernel_release(rel, sizeof(rel));
			if (!(kf & UFFD_WPU_FEATURE_PAGEFAULT_FLAG_WP))
				return fail(EOPNOTSUPP, UFFD_WPU_REASON_KERNEL_TOO_OLD, 0,
					    "kernel %s has no userfaultfd write-protect (Linux 5.7+)",
					    rel);
			return fail(EOPNOTSUPP, UFFD_WPU_REASON_NO_MODULE, 0,
				    "kernel %s has no native %s (%s) and the uffd_wpu module is not loaded",
				    rel, (features & ~kf & UFFD_WPU_FEATURE_WP_ASYNC) ?
				    "WP_ASYNC" : "WP_UNPOPULATED",
				    (features & ~kf & UFFD_WPU_FEATURE_WP_ASYNC) ?
				    "6.7+" : "6.4+");
		}
		/* native, module granting, or no scratch userfaultfd: try */
	}
	r = do_api(uffd, features, &kf);
	/*
	 * Transparent mode switched off between the check and the call: a
	 * refused UFFDIO_API leaves the context as it was, so opt in (only
	 * if really needed now) and try once more.
	 */
	if (r == -EINVAL && (features & MODULE_BITS) && !opted &&
	    uffd_wpu__prepare(&opted) == WPU_PREP_MODULE && opted)
		r = do_api(uffd, features, &kf);
	if (r)
		return fail(-r, UFFD_WPU_REASON_API_FAILED, -r, "UFFDIO_API: %s",
			    errtext(-r, eb, sizeof(eb)));
	/*
	 * Some kernels (6.0.y) answer a request for bits they lack with
	 * success and a reply without them, instead of EINVAL: the context
	 * then has neither.  Say so rather than let the caller go on.
	 */
	if ((kf & features & MODULE_BITS) != (features & MODULE_BITS))
		return fail(EOPNOTSUPP, UFFD_WPU_REASON_API_FAILED, 0,
			    "UFFDIO_API: the kernel ignored %s (features %#llx)",
			    (features & ~kf & UFFD_WPU_FEATURE_WP_UNPOPULATED) ?
			    "WP_UNPOPULATED" : "WP_ASYNC",
			    (unsigned long long)kf);
	if (out_features)
		*out_features = kf;
	err_clear();
	return 0;
}

/* ---- PAGEMAP_SCAN ------------------------------------------------------ */

UFFD_WPU_EXPORT long uffd_wpu_pagemap_scan(int pagemap_fd, void *arg)
{
	int fd = pagemap_fd, dev, e;
	char eb[64];
	long r;

	if (!arg)
		return fail(EINVAL, UFFD_WPU_REASON_SYSTEM_ERROR, EINVAL,
			    "uffd_wpu_pagemap_scan: NULL argument");
	if (fd < 0) {
		fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return fail(errno, UFFD_WPU_REASON_SYSTEM_ERROR, errno,
				    "cannot open /proc/self/pagemap: %s",
				    errtext(errno, eb, sizeof(eb)));
	}
	r = ioctl(fd, PAGEMAP_SCAN, arg);
	e = errno;
	if (fd != pagemap_fd)
		close(fd);
	/* No native PAGEMAP_SCAN, and the module's is not offered to this mm. */
	if (r < 0 && e == ENOTTY && pagemap_fd < 0) {
		dev = open(DEVICE, O_RDONLY | O_CLOEXEC);
		if (dev >= 0) {
			r = ioctl(dev, UFFD_WPU_IOC_PAGEMAP_SCAN, arg);
			e = errno;
			close(dev);
		}
	}
	if (r < 0) {
		if (e == ENOTTY)
			return fail(EOPNOTSUPP, sysfs_present() ?
				    UFFD_WPU_REASON_SYSTEM_ERROR :
				    UFFD_WPU_REASON_NO_MODULE, e,
				    "PAGEMAP_SCAN: not offered by this kernel (6.7+) or by a uffd_wpu module");
		return fail(e, UFFD_WPU_REASON_SYSTEM_ERROR, e, "PAGEMAP_SCAN: %s",
			    errtext(e, eb, sizeof(eb)));
	}
	err_clear();
	return r;
}

/* ---- status ------------------------------------------------------------ */

static void read_stats(struct uffd_wpu_status_info *st)
{
	char buf[2048], *line, *save = NULL;
	long long v;
	char name[64];

	if (read_file(SYSFS_DIR "/stats", buf, sizeof(buf)))
		return;
	for (line = strtok_r(buf, "\n", &save); line && st->nstats < UFFD_WPU_MAX_STATS;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%63s %lld", name, &v) != 2)
			continue;
		name[sizeof(st->stats[0].name) - 1] = 0;	/* truncate */
		memcpy(st->stats[st->nstats].name, name, sizeof(st->stats[0].name));
		st->stats[st->nstats].value = v;
		st->nstats++;
	}
}

UFFD_WPU_EXPORT int uffd_wpu_status(struct uffd_wpu_status_info *out)
{
	struct modinfo m;
	char buf[32];
	uint32_t i;
	int saved = errno;

	if (!out)
		return fail(EINVAL, UFFD_WPU_REASON_SYSTEM_ERROR, EINVAL,
			    "uffd_wpu_status: NULL argument");
	memset(out, 0, sizeof(*out));
	probe_fill(&out->probe, &m);
	kernel_release(out->kernel_release, sizeof(out->kernel_release));
	if (m.loaded) {
		if (!read_file(SYSFS_DIR "/hooks", buf, sizeof(buf)))
			out->hooks = (uint32_t)strtoul(buf, NULL, 10);
		read_stats(out);
		out->granted_features = m.granted;
		out->tracked_mms = m.tracked;
		if (!m.have_status)
			for (i = 0; i < out->nstats; i++)
				if (!strcmp(out->stats[i].name, "tracked_mms"))
					out->tracked_mms = (uint64_t)out->stats[i].value;
	}
	err_clear();
	errno = saved;
	return 0;
}

/* ---- sysfs toggles ----------------------------------------------------- */

static int set_knob(const char *name, int on)
{
	char path[96], eb[64];
	const char *val = on ? "1\n" : "0\n";
	ssize_t n;
	int fd, e;

	snprintf(path, sizeof(path), "%s/%s", SYSFS_DIR, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT && !sysfs_present())
			return fail(ENODEV, UFFD_WPU_REASON_NO_MODULE, e,
				    "the uffd_wpu module is not loaded (no %s)", SYSFS_DIR);
		return fail(e, UFFD_WPU_REASON_SYSTEM_ERROR, e, "%s: %s%s", path,
			    errtext(e, eb, sizeof(eb)),
			    e == EACCES || e == EPERM ? " (root only)" : "");
	}
	n = write(fd, val, 2);
	e = errno;
	close(fd);
	if (n != 2)
		return fail(n < 0 ? e : EIO, UFFD_WPU_REASON_SYSTEM_ERROR,
			    n < 0 ? e : EIO, "writing %s: %s", path,
			    errtext(n < 0 ? e : EIO, eb, sizeof(eb)));
	err_clear();
	return 0;
}

UFFD_WPU_EXPORT int uffd_wpu_set_enabled(int on)
{
	return set_knob("enabled", on);
}

UFFD_WPU_EXPORT int uffd_wpu_set_transparent(int on)
{
	return set_knob("transparent", on);
}

/* ---- strings ----------------------------------------------------------- */

UFFD_WPU_EXPORT const char *uffd_wpu_strerror(int err)
{
	static __thread char buf[96];

	switch (err) {
	case 0:
		return "success";
	case EOPNOTSUPP:
		return "UFFD_FEATURE_WP_UNPOPULATED is not available: no native support and no usable uffd_wpu module";
	case ENODEV:
		return "the uffd_wpu module is not loaded";
	case EPERM:
		return "operation not permitted: uffd_wpu disabled, userfaultfd not permitted, or not root";
	case EACCES:
		return "permission denied (/dev/uffd-wpu or /sys/kernel/uffd_wpu)";
	case EINVAL:
		return "invalid argument: unknown feature bits, UFFDIO_API already done on this userfaultfd, or a userfaultfd of another process";
	case EBADF:
		return "not an open file descriptor";
	case ENOTTY:
		return "not a userfaultfd, or the uffd_wpu module speaks another ABI";
	default:
		return errtext(err, buf, sizeof(buf));
	}
}

UFFD_WPU_EXPORT const char *uffd_wpu_reason_str(uint32_t reason)
{
	switch (reason) {
	case UFFD_WPU_REASON_NONE:
		return "no error";
	case UFFD_WPU_REASON_NO_MODULE:
		return "kernel has no native WP_UNPOPULATED and the uffd_wpu module is not loaded";
	case UFFD_WPU_REASON_MODULE_DISABLED:
		return "the uffd_wpu module is disabled";
	case UFFD_WPU_REASON_KERNEL_TOO_OLD:
		return "kernel has no userfaultfd write-protect";
	case UFFD_WPU_REASON_NO_USERFAULTFD:
		return "userfaultfd() is not available";
	case UFFD_WPU_REASON_UFFD_NOT_PERMITTED:
		return "userfaultfd() is not permitted (vm.unprivileged_userfaultfd)";
	case UFFD_WPU_REASON_DEVICE_DENIED:
		return "/dev/uffd-wpu cannot be opened";
	case UFFD_WPU_REASON_MODULE_ABI:
		return "the uffd_wpu module speaks another ABI";
	case UFFD_WPU_REASON_API_FAILED:
		return "UFFDIO_API failed";
	case UFFD_WPU_REASON_SYSTEM_ERROR:
		return "system error";
	default:
		return "unknown reason";
	}
}

UFFD_WPU_EXPORT const char *uffd_wpu_support_str(uint32_t support)
{
	switch (support) {
	case UFFD_WPU_NATIVE:
		return "native";
	case UFFD_WPU_MODULE:
		return "module";
	case UFFD_WPU_UNAVAILABLE:
		return "unavailable";
	default:
		return "unknown";
	}
}

UFFD_WPU_EXPORT const char *uffd_wpu_backend_str(uint32_t backend)
{
	switch (backend) {
	case UFFD_WPU_BACKEND_MARKER:
		return "marker";
	case UFFD_WPU_BACKEND_ZEROPAGE:
		return "zeropage";
	case UFFD_WPU_BACKEND_NONE:
		return "none";
	default:
		return "unknown";
	}
}

UFFD_WPU_EXPORT uint32_t uffd_wpu_last_error(struct uffd_wpu_error *out)
{
	if (out)
		*out = tl_err;
	return tl_err.reason;
}

UFFD_WPU_EXPORT const char *uffd_wpu_library_version(void)
{
	return UFFD_WPU_VERSION;
}
