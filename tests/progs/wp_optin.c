// SPDX-License-Identifier: GPL-2.0
/*
 * wp_optin: the uffd_wpu module's control surface (include/uapi/linux/
 * uffd-wpu.h): /dev/uffd-wpu VERSION/STATUS/OPTIN/OPTOUT, their error
 * rules, and the sysfs toggles transparent/enabled.  Skipped where there
 * is no /dev/uffd-wpu (native kernels, module not loaded).
 *
 * Changes /sys/kernel/uffd_wpu/{transparent,enabled}; restores both at the
 * end and from the watchdog.
 */
#include "uffd_util.h"

#include <sys/wait.h>
#include <linux/uffd-wpu.h>

#define SYS_ENABLED	UFFD_WPU_SYSFS "/enabled"
#define SYS_TRANSPARENT	UFFD_WPU_SYSFS "/transparent"

static struct u_env env;
static int dev = -1;
static char saved_enabled[8] = "1", saved_transparent[8] = "1";

static void restore_sysfs(void)
{
	u_write_file(SYS_ENABLED, saved_enabled);
	u_write_file(SYS_TRANSPARENT, saved_transparent);
}

static int xioctl(unsigned long cmd, void *arg)
{
	return ioctl(dev, cmd, arg) ? -errno : 0;
}

static int optin_cmd(unsigned long cmd, uint32_t flags, uint64_t features)
{
	struct uffd_wpu_optin o = {
		.size = sizeof(o), .flags = flags, .features = features,
	};

	return xioctl(cmd, &o);
}

static int status(struct uffd_wpu_status *s)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	return xioctl(UFFD_WPU_IOC_STATUS, s);
}

/* Protect a fresh hole with a context of features; does a write fault? */
static int hole_write_faults(uint64_t features, const char *name)
{
	struct uffd_msg m;
	char buf[160];
	int fd = uffd_new(features), n;
	char *p = map_anon(PAGE);

	if (fd < 0 || !p || uffd_register_wp(fd, p, PAGE) || uffd_wp(fd, p, PAGE, 1)) {
		t_fail(name, "setup: uffd %d: %s", fd, strerror(errno));
		return -1;
	}
	n = access_and_watch(fd, p, ACC_WRITE, 0x5a, 2000, &m, NULL, NULL);
	if (n == 1 && !msg_is_wp_write(&m, p)) {
		t_fail(name, "unexpected message %s", msg_str(&m, buf, sizeof(buf)));
		n = -1;
	}
	if (n >= 0 && p[0] != 0x5a) {
		t_fail(name, "byte did not land (%#x)", (unsigned char)p[0]);
		n = -1;
	}
	close(fd);
	munmap(p, PAGE);
	return n;
}

static int api_bit13(void)
{
	int fd = uffd_open(), r;

	if (fd < 0)
		return fd;
	r = u_api_bit13(fd);
	close(fd);
	return r;
}

static void t_version_status(void)
{
	struct uffd_wpu_version v;
	struct uffd_wpu_status s;
	char tr[8] = "";
	int r;

	u_current = "version";
	memset(&v, 0xff, sizeof(v));
	v.size = sizeof(v);
	r = xioctl(UFFD_WPU_IOC_VERSION, &v);
	T_CHECK("version", r == 0, "VERSION: %s", strerror(-r));
	if (r)
		return;
	T_CHECK("version-abi", v.abi_major == UFFD_WPU_ABI_MAJOR && v.size == sizeof(v),
		"abi %u.%u size %u", v.abi_major, v.abi_minor, v.size);
	T_CHECK("version-backend",
		(v.backend == UFFD_WPU_BACKEND_MARKER && !strcmp(env.backend, "marker")) ||
		(v.backend == UFFD_WPU_BACKEND_ZEROPAGE && !strcmp(env.backend, "zeropage")),
		"backend %u, sysfs says '%s'", v.backend, env.backend);
	T_CHECK("version-features", v.features & UFFD_WPU_FEATURE_WP_UNPOPULATED,
		"features %#llx", (unsigned long long)v.features);
	T_CHECK("version-string",
		memchr(v.module_version, 0, sizeof(v.module_version)) && v.module_version[0],
		"module_version empty or not NUL-terminated");
	fprintf(stderr, "wp_optin: module version '%.32s' abi %u.%u\n",
		v.module_version, v.abi_major, v.abi_minor);

	u_current = "status";
	r = status(&s);
	T_CHECK("status", r == 0 && s.size == sizeof(s), "STATUS: %s, size %u",
		strerror(-r), s.size);
	u_read_file(SYS_TRANSPARENT, tr, sizeof(tr));
	T_CHECK("status-flags",
		(s.flags & UFFD_WPU_STATUS_ENABLED) && (s.flags & UFFD_WPU_STATUS_HOOKED) &&
		!!(s.flags & UFFD_WPU_STATUS_TRANSPARENT) == (tr[0] == '1') &&
		!(s.flags & UFFD_WPU_STATUS_OPTED_IN),
		"flags %#x (transparent file '%s')", s.flags, tr);
	T_CHECK("status-features", !!(s.features & UFFD_WPU_FEATURE_WP_UNPOPULATED) ==
		(tr[0] == '1'), "features %#llx", (unsigned long long)s.features);
}

static void t_transparent_optin(void)
{
	struct uffd_wpu_status s;
	int r, n, fdk;
	char *p;

	u_current = "transparent-off";
	r = u_write_file(SYS_TRANSPARENT, "0");
	if (r) {
		t_fail("transparent-off", "write %s: %s", SYS_TRANSPARENT, strerror(-r));
		return;
	}
	t_pass("transparent-off");
	r = status(&s);
	T_CHECK("transparent-off-status", r == 0 &&
		!(s.flags & UFFD_WPU_STATUS_TRANSPARENT) && !(s.features & UFFD_WPU_FEATURE_WP_UNPOPULATED),
		"flags %#x features %#llx", s.flags, (unsigned long long)s.features);
	r = api_bit13();
	T_CHECK("transparent-off-api-einval", u_api_refused(r),
		"UFFDIO_API(bit 13) = %s, want EINVAL", u_api_str(r));
	T_CHECK("transparent-off-query-no-bit13", !u_query_holes(),
		"features=0 query still lists bit 13");
	n = hole_write_faults(0, "transparent-off-hole-unprotected");
	T_CHECK("transparent-off-hole-unprotected", n == 0, "write %s",
		n == 1 ? "faulted" : "failed");

	u_current = "optin";
	r = optin_cmd(UFFD_WPU_IOC_OPTIN, 0, 0);
	T_CHECK("optin", r == 0, "OPTIN: %s", strerror(-r));
	r = status(&s);
	T_CHECK("optin-status", r == 0 && (s.flags & UFFD_WPU_STATUS_OPTED_IN) &&
		(s.features & UFFD_WPU_FEATURE_WP_UNPOPULATED) && s.tracked_mms >= 1,
		"flags %#x features %#llx tracked %llu", s.flags,
		(unsigned long long)s.features, (unsigned long long)s.tracked_mms);
	r = api_bit13();
	T_CHECK("optin-api-ok", r == 0, "UFFDIO_API(bit 13) = %s", u_api_str(r));
	T_CHECK("optin-query-bit13", u_query_holes(), "features=0 query lacks bit 13");
	n = hole_write_faults(UFFD_FEATURE_WP_UNPOPULATED, "optin-bit13-ctx-faults");
	T_CHECK("optin-bit13-ctx-faults", n == 1, "write into protected hole %s",
		n == 0 ? "was silent" : "failed");
	n = hole_write_faults(0, "optin-plain-ctx-faults");
	T_CHECK("optin-plain-ctx-faults", n == 1,
		"context without bit 13 in an opted-in mm: write %s",
		n == 0 ? "was silent" : "failed");
	r = optin_cmd(UFFD_WPU_IOC_OPTIN, 0, UFFD_WPU_FEATURE_WP_UNPOPULATED);
	T_CHECK("optin-twice", r == 0, "second OPTIN: %s", strerror(-r));

	/* a context that negotiated bit 13 and a protected hole outlive OPTOUT */
	fdk = uffd_new(UFFD_FEATURE_WP_UNPOPULATED);
	p = map_anon(2 * PAGE);
	if (fdk < 0 || !p || uffd_register_wp(fdk, p, 2 * PAGE) || uffd_wp(fdk, p, PAGE, 1))
		t_fail("optout-setup", "uffd %d: %s", fdk, strerror(errno));

	u_current = "optout";
	r = optin_cmd(UFFD_WPU_IOC_OPTOUT, 0, 0);
	T_CHECK("optout", r == 0, "OPTOUT: %s", strerror(-r));
	r = optin_cmd(UFFD_WPU_IOC_OPTOUT, 0, 0);
	T_CHECK("optout-twice", r == 0, "second OPTOUT: %s", strerror(-r));
	r = status(&s);
	T_CHECK("optout-status", r == 0 && !(s.flags & UFFD_WPU_STATUS_OPTED_IN) &&
		!(s.features & UFFD_WPU_FEATURE_WP_UNPOPULATED),
		"flags %#x features %#llx", s.flags, (unsigned long long)s.features);
	r = api_bit13();
	T_CHECK("optout-api-einval", u_api_refused(r), "UFFDIO_API(bit 13) = %s",
		u_api_str(r));
	n = hole_write_faults(0, "optout-plain-ctx-unprotected");
	T_CHECK("optout-plain-ctx-unprotected", n == 0, "write %s",
		n == 1 ? "faulted" : "failed");
	if (fdk >= 0 && p) {
		struct uffd_msg m;

		n = access_and_watch(fdk, p, ACC_WRITE, 1, 5000, &m, NULL, NULL);
		T_CHECK("optout-protected-hole-stays", n == 1 && msg_is_wp_write(&m, p),
			"write into a hole protected before OPTOUT: n=%d", n);
		r = uffd_wp(fdk, p + PAGE, PAGE, 1);
		n = r ? -1 : access_and_watch(fdk, p + PAGE, ACC_WRITE, 1, 5000, &m, NULL, NULL);
		T_CHECK("optout-negotiated-ctx-keeps-bit13", n == 1 && msg_is_wp_write(&m, p + PAGE),
			"hole protected after OPTOUT by a bit-13 context: n=%d", n);
		close(fdk);
		munmap(p, 2 * PAGE);
	}

	r = u_write_file(SYS_TRANSPARENT, saved_transparent);
	T_CHECK("transparent-restore", r == 0, "%s", strerror(-r));
}

struct optin_big {
	struct uffd_wpu_optin o;
	__u64 extra;
};

struct status_big {
	struct uffd_wpu_status s;
	__u64 extra[2];
};

struct optin_small {
	__u32 size;
	__u32 flags;
};

static void t_bad_inputs(void)
{
	struct uffd_wpu_version v;
	struct uffd_wpu_optin o;
	struct optin_big ob;
	struct status_big sb;
	struct optin_small os;
	void *gone;
	int r;

	u_current = "bad-inputs";
	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);
	r = xioctl(_IOWR(UFFD_WPU_IOC_MAGIC, 0x3e, struct uffd_wpu_version), &v);
	T_CHECK("bad-unknown-nr-enotty", r == -ENOTTY, "got %s", strerror(-r));
	r = xioctl(_IOWR('x', 0x00, struct uffd_wpu_version), &v);
	T_CHECK("bad-magic-enotty", r == -ENOTTY, "got %s", strerror(-r));
	o = (struct uffd_wpu_optin){ .size = sizeof(o) };
	r = xioctl(_IOR(UFFD_WPU_IOC_MAGIC, 0x01, struct uffd_wpu_optin), &o);
	T_CHECK("bad-direction-enotty", r == -ENOTTY, "got %s", strerror(-r));
	r = xioctl(0x5401 /* TCGETS */, &v);
	T_CHECK("bad-tcgets-enotty", r == -ENOTTY, "got %s", strerror(-r));

	v.size = sizeof(v) - 8;
	r = xioctl(UFFD_WPU_IOC_VERSION, &v);
	T_CHECK("bad-size-small-einval", r == -EINVAL, "got %s", strerror(-r));
	v.size = sizeof(v) + 8;
	r = xioctl(UFFD_WPU_IOC_VERSION, &v);
	T_CHECK("bad-size-large-einval", r == -EINVAL, "got %s", strerror(-r));
	o = (struct uffd_wpu_optin){ .size = 0 };
	r = xioctl(UFFD_WPU_IOC_OPTIN, &o);
	T_CHECK("bad-size-zero-einval", r == -EINVAL, "got %s", strerror(-r));
	os = (struct optin_small){ .size = sizeof(os) };
	r = xioctl(_IOW(UFFD_WPU_IOC_MAGIC, 0x01, struct optin_small), &os);
	T_CHECK("bad-short-struct-einval", r == -EINVAL, "got %s", strerror(-r));

	r = optin_cmd(UFFD_WPU_IOC_OPTIN, 1, 0);
	T_CHECK("bad-optin-flags-einval", r == -EINVAL, "got %s", strerror(-r));
	r = optin_cmd(UFFD_WPU_IOC_OPTOUT, 0x80000000u, 0);
	T_CHECK("bad-optout-flags-einval", r == -EINVAL, "got %s", strerror(-r));
	r = optin_cmd(UFFD_WPU_IOC_OPTIN, 0, 1ULL << 40);
	T_CHECK("bad-optin-feature-einval", r == -EINVAL, "got %s", strerror(-r));

	r = xioctl(UFFD_WPU_IOC_VERSION, NULL);
	T_CHECK("bad-null-efault", r == -EFAULT, "got %s", strerror(-r));
	r = xioctl(UFFD_WPU_IOC_OPTIN, NULL);
	T_CHECK("bad-null-optin-efault", r == -EFAULT, "got %s", strerror(-r));
	gone = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(gone, PAGE);
	r = xioctl(UFFD_WPU_IOC_STATUS, gone);
	T_CHECK("bad-unmapped-efault", r == -EFAULT, "got %s", strerror(-r));
	{
		/* readable but not writable: the reply cannot be written */
		struct uffd_wpu_status *ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
						  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		ro->size = sizeof(*ro);
		mprotect(ro, PAGE, PROT_READ);
		r = xioctl(UFFD_WPU_IOC_STATUS, ro);
		T_CHECK("bad-readonly-reply-efault", r == -EFAULT, "got %s", strerror(-r));
		munmap(ro, PAGE);
	}

	memset(&ob, 0, sizeof(ob));
	ob.o.size = sizeof(ob);
	ob.extra = 1;
	r = xioctl(_IOW(UFFD_WPU_IOC_MAGIC, 0x02, struct optin_big), &ob);
	T_CHECK("bad-big-nonzero-tail-e2big", r == -E2BIG, "got %s", strerror(-r));
	ob.extra = 0;
	r = xioctl(_IOW(UFFD_WPU_IOC_MAGIC, 0x02, struct optin_big), &ob);
	T_CHECK("big-zero-tail-accepted", r == 0, "got %s", strerror(-r));
	memset(&sb, 0, sizeof(sb));
	sb.s.size = sizeof(sb);
	r = xioctl(_IOWR(UFFD_WPU_IOC_MAGIC, 0x03, struct status_big), &sb);
	T_CHECK("big-status-accepted", r == 0 && (sb.s.flags & UFFD_WPU_STATUS_HOOKED),
		"got %s, flags %#x", strerror(-r), sb.s.flags);
	memset(&sb, 0, sizeof(sb));
	sb.s.size = sizeof(sb);
	sb.extra[1] = 7;
	r = xioctl(_IOWR(UFFD_WPU_IOC_MAGIC, 0x03, struct status_big), &sb);
	T_CHECK("bad-big-status-tail-e2big", r == -E2BIG, "got %s", strerror(-r));
}

static void t_disabled(void)
{
	struct uffd_wpu_status s;
	struct uffd_msg m;
	int fd, r, n;
	char *p;

	u_current = "disabled";
	/* protected before disabling */
	fd = uffd_new(UFFD_FEATURE_WP_UNPOPULATED);
	p = map_anon(PAGE);
	if (fd < 0 || !p || uffd_register_wp(fd, p, PAGE) || uffd_wp(fd, p, PAGE, 1)) {
		t_fail("disabled-setup", "uffd %d: %s", fd, strerror(errno));
		return;
	}
	r = u_write_file(SYS_ENABLED, "0");
	T_CHECK("disabled", r == 0, "write %s: %s", SYS_ENABLED, strerror(-r));
	if (r)
		return;
	r = optin_cmd(UFFD_WPU_IOC_OPTIN, 0, 0);
	T_CHECK("disabled-optin-eperm", r == -EPERM, "OPTIN: %s",
		r ? strerror(-r) : "success");
	T_CHECK("disabled-query-no-bit13", !u_query_holes(),
		"features=0 query still lists bit 13");
	r = api_bit13();
	T_CHECK("disabled-api-einval", u_api_refused(r), "UFFDIO_API(bit 13) = %s",
		u_api_str(r));
	r = status(&s);
	T_CHECK("disabled-status", r == 0 && !(s.flags & UFFD_WPU_STATUS_ENABLED) &&
		!(s.features & UFFD_WPU_FEATURE_WP_UNPOPULATED),
		"flags %#x features %#llx", s.flags, (unsigned long long)s.features);
	r = optin_cmd(UFFD_WPU_IOC_OPTOUT, 0, 0);
	T_CHECK("disabled-optout-ok", r == 0, "OPTOUT: %s", strerror(-r));
	n = access_and_watch(fd, p, ACC_WRITE, 0x44, 5000, &m, NULL, NULL);
	T_CHECK("disabled-old-protection-holds", n == 1 && msg_is_wp_write(&m, p) &&
		p[0] == 0x44, "write into a hole protected before disabling: n=%d byte %#x",
		n, (unsigned char)p[0]);
	close(fd);
	munmap(p, PAGE);

	r = u_write_file(SYS_ENABLED, saved_enabled);
	T_CHECK("enabled-restore", r == 0, "%s", strerror(-r));
	T_CHECK("enabled-query-bit13-again", saved_enabled[0] != '1' ||
		saved_transparent[0] != '1' || u_query_holes(),
		"features=0 query lacks bit 13 after re-enabling");
}

/* As nobody: the sysfs toggles are refused, the device works on its own mm. */
static void t_nonroot(void)
{
	pid_t pid;
	int st = 0;

	u_current = "nonroot";
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		t_fail("nonroot", "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		int code = 0, fd, e;
		struct uffd_wpu_optin o = { .size = sizeof(o) };
		struct uffd_wpu_status s = { .size = sizeof(s) };

		if (setgid(65534) || setuid(65534))
			_exit(64);
		fd = open(SYS_ENABLED, O_WRONLY);
		e = errno;
		if (fd >= 0 || e != EACCES)
			code |= 1;
		fd = open(SYS_TRANSPARENT, O_WRONLY);
		e = errno;
		if (fd >= 0 || e != EACCES)
			code |= 2;
		fd = open(UFFD_WPU_DEVICE, O_RDWR);
		if (fd < 0)
			_exit(code | 4 | 8);
		if (ioctl(fd, UFFD_WPU_IOC_OPTIN, &o))
			code |= 8;
		if (ioctl(fd, UFFD_WPU_IOC_STATUS, &s) || !(s.flags & UFFD_WPU_STATUS_OPTED_IN))
			code |= 16;
		_exit(code);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
		t_fail("nonroot", "child status %#x", st);
		return;
	}
	st = WEXITSTATUS(st);
	if (st == 64) {
		t_fail("nonroot", "setuid(65534) failed");
		return;
	}
	T_CHECK("nonroot-sysfs-enabled-eacces", !(st & 1), "open(enabled, O_WRONLY) not EACCES");
	T_CHECK("nonroot-sysfs-transparent-eacces", !(st & 2),
		"open(transparent, O_WRONLY) not EACCES");
	T_CHECK("nonroot-device-open", !(st & 4), "open(%s) failed", UFFD_WPU_DEVICE);
	T_CHECK("nonroot-optin", !(st & 8), "OPTIN failed");
	T_CHECK("nonroot-status-opted-in", !(st & 16), "STATUS lacks OPTED_IN");
}

/* PAGEMAP_SCAN of 8 pages for PAGE_IS_PRESENT through fd, with cmd. */
static long scan_present(int fd, unsigned long cmd, char *p,
			 struct page_region *v)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .start = (uintptr_t)p,
		.end = (uintptr_t)(p + 8 * PAGE), .vec = (uintptr_t)v,
		.vec_len = 8, .category_mask = PAGE_IS_PRESENT,
		.return_mask = PAGE_IS_PRESENT,
	};

	return ioctl(fd, cmd, &a);
}

static int two_present(long r, struct page_region *v, char *p)
{
	return r == 2 && v[0].start == (uintptr_t)(p + PAGE) &&
	       v[0].end == (uintptr_t)(p + 2 * PAGE) &&
	       v[1].start == (uintptr_t)(p + 5 * PAGE) &&
	       v[1].end == (uintptr_t)(p + 6 * PAGE) &&
	       v[0].categories == PAGE_IS_PRESENT &&
	       v[1].categories == PAGE_IS_PRESENT;
}

/*
 * PAGEMAP_SCAN with transparent mode off, in a fresh mm (a fork child:
 * not opted in, no context): /proc/self/pagemap answers as stock does
 * (ENOTTY before 6.7; a kernel built without uffd-wp markers has its own
 * scan, which cannot write-protect in our contexts), the
 * device scans the caller's own memory anyway, and after an opt-in the
 * pagemap file (opened before it) answers too.
 */
static void t_pagemap_scan(void)
{
	int st = 0, bits = 0, own;
	pid_t pid;

	u_current = "pagemap-scan";
	u_write_file(SYS_TRANSPARENT, "0");
	pid = fork();
	if (pid == 0) {
		struct page_region v[8];
		struct pm_scan_arg small = { .size = 8 };
		char *p = map_anon(8 * PAGE);
		int pm = open("/proc/self/pagemap", O_RDONLY);
		long r;

		if (!p || pm < 0)
			_exit(0);
		p[PAGE] = 1;
		p[5 * PAGE] = 1;
		r = scan_present(pm, PAGEMAP_SCAN, p, v);
		if (r == -1 && errno == ENOTTY)
			bits |= 1;
		else if (two_present(r, v, p))
			bits |= 16;	/* the kernel's own PAGEMAP_SCAN */
		memset(v, 0, sizeof(v));
		if (two_present(scan_present(dev, UFFD_WPU_IOC_PAGEMAP_SCAN, p, v), v, p))
			bits |= 2;
		if (ioctl(dev, UFFD_WPU_IOC_PAGEMAP_SCAN, &small) == -1 && errno == EINVAL)
			bits |= 4;
		memset(v, 0, sizeof(v));
		if (!optin_cmd(UFFD_WPU_IOC_OPTIN, 0, 0) &&
		    two_present(scan_present(pm, PAGEMAP_SCAN, p, v), v, p))
			bits |= 8;
		_exit(bits);
	}
	if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st))
		bits = WEXITSTATUS(st);
	u_write_file(SYS_TRANSPARENT, saved_transparent);
	/* not offered: the pagemap file answers as without the module */
	own = u_kernel_fact("pagemap_scan");
	T_CHECK("pagemap-scan-not-offered",
		own < 0 ? bits & 17 : own ? bits & 16 : bits & 1,
		"/proc/self/pagemap PAGEMAP_SCAN with transparent off, not opted in: want %s (child bits %#x)",
		own < 0 ? "ENOTTY or the kernel's own scan" :
		own ? "the kernel's own scan" : "ENOTTY", bits);
	T_CHECK("pagemap-scan-device", bits & 2,
		"UFFD_WPU_IOC_PAGEMAP_SCAN: want the two present pages (child bits %#x)", bits);
	T_CHECK("pagemap-scan-device-size", bits & 4,
		"UFFD_WPU_IOC_PAGEMAP_SCAN with size 8: want EINVAL (child bits %#x)", bits);
	T_CHECK("pagemap-scan-after-optin", bits & 8,
		"pagemap PAGEMAP_SCAN after opt-in: want the two present pages (child bits %#x)", bits);
}

int main(void)
{
	t_prog = "wp_optin";
	u_watchdog(120);
	env = u_env_get();
	if (!u_exists(UFFD_WPU_DEVICE)) {
		t_skip("all", "no %s (native kernel, or module not loaded)", UFFD_WPU_DEVICE);
		return t_exit();
	}
	dev = open(UFFD_WPU_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		t_fail("open", "%s: %s", UFFD_WPU_DEVICE, strerror(errno));
		return t_exit();
	}
	u_read_file(SYS_ENABLED, saved_enabled, sizeof(saved_enabled));
	u_read_file(SYS_TRANSPARENT, saved_transparent, sizeof(saved_transparent));
	u_cleanup = restore_sysfs;

	t_version_status();
	t_bad_inputs();
	t_transparent_optin();
	t_disabled();
	t_nonroot();
	t_pagemap_scan();
	restore_sysfs();
	return t_exit();
}
