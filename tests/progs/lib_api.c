// SPDX-License-Identifier: GPL-2.0
// build: -I include lib/uffd-wpu.c
/*
 * lib_api: libuffd-wpu (include/uffd-wpu.h), linked in statically.
 *
 *   native 6.4+: probe says NATIVE; uffd_wpu_api() gets bit 13 from the
 *                kernel; opt-in has no device (ENODEV).
 *   module:      probe says MODULE with the backend, version and knobs of
 *                sysfs; uffd_wpu_api() gets bit 13 transparently, and with
 *                transparent=0 by opting the mm in first; with enabled=0
 *                it fails with EOPNOTSUPP, a reason and a message, and the
 *                userfaultfd is left usable; a non-root process without
 *                access to /dev/uffd-wpu is told so.
 *   everywhere:  no descriptor leaks, thread-safe probes, thread-local last
 *                error, vm.unprivileged_userfaultfd=0 is reported.
 *
 * The "// build:" line above is read by tests/run (extra gcc arguments,
 * relative to the tree).  Changes /sys/kernel/uffd_wpu/{enabled,transparent},
 * /dev/uffd-wpu's mode and vm.unprivileged_userfaultfd; restores all of
 * them at the end and from the watchdog.
 */
#include "uffd_util.h"

#include <dirent.h>
#include <sys/wait.h>
#include <linux/uffd-wpu.h>
#include <uffd-wpu.h>

#define SYS_ENABLED	UFFD_WPU_SYSFS "/enabled"
#define SYS_TRANSPARENT	UFFD_WPU_SYSFS "/transparent"
#define SYSCTL_UNPRIV	"/proc/sys/vm/unprivileged_userfaultfd"
#define BIT13		UFFD_WPU_FEATURE_WP_UNPOPULATED

static struct u_env env;
static int is_module, is_native;
static int no_uffd;	/* userfaultfd() itself fails (e.g. under valgrind) */
static uint32_t root_support;	/* the verdict for this (root) process */
static char saved_enabled[8] = "1", saved_transparent[8] = "1", saved_unpriv[8];

/*
 * A userfaultfd as this process may have one: UFFD_USER_MODE_ONLY when
 * vm.unprivileged_userfaultfd=0 refuses a plain one (5.11+; e.g. a package
 * build as non-root).  fd or -errno.
 */
static int lib_uffd_open(void)
{
	int fd = uffd_open();

	if (fd == -EPERM) {
		fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | 1 /* USER_MODE_ONLY */);
		if (fd < 0)
			fd = -EPERM;
	}
	return fd;
}

/* Does a features=0 query list bit 13? */
static int query_bit13(void)
{
	uint64_t f = 0;
	int fd = lib_uffd_open(), r;

	if (fd < 0)
		return 0;
	r = uffd_api(fd, 0, &f);
	close(fd);
	return !r && (f & BIT13);
}

static void restore(void)
{
	if (is_module) {
		u_write_file(SYS_ENABLED, saved_enabled);
		u_write_file(SYS_TRANSPARENT, saved_transparent);
		chmod(UFFD_WPU_DEVICE, 0666);
	}
	if (saved_unpriv[0])
		u_write_file(SYSCTL_UNPRIV, saved_unpriv);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static const char *reason_of_last(void)
{
	static struct uffd_wpu_error e;

	uffd_wpu_last_error(&e);
	return e.message;
}

/* Raw UFFDIO_API with bit 13 on a fresh userfaultfd: 0 or -errno. */
static int raw_bit13(void)
{
	int fd = lib_uffd_open(), r;

	if (fd < 0)
		return fd;
	r = u_api_bit13(fd);
	close(fd);
	return r;
}

/* fd has done UFFDIO_API with bit 13: does a write into a protected hole fault? */
static void check_hole(int fd, const char *name)
{
	struct uffd_msg m;
	char buf[160];
	char *p = map_anon(PAGE);
	int n;

	if (!p || uffd_register_wp(fd, p, PAGE) || uffd_wp(fd, p, PAGE, 1)) {
		t_fail(name, "setup: %s", strerror(errno));
		return;
	}
	n = access_and_watch(fd, p, ACC_WRITE, 0x5a, 2000, &m, NULL, NULL);
	if (n < 0)
		t_fail(name, "the write never finished");
	else if (n == 0)
		t_fail(name, "write into a protected hole raised no fault");
	else if (!msg_is_wp_write(&m, p))
		t_fail(name, "unexpected message %s", msg_str(&m, buf, sizeof(buf)));
	else if (p[0] != 0x5a)
		t_fail(name, "byte did not land (%#x)", (unsigned char)p[0]);
	else
		t_pass(name);
	munmap(p, PAGE);
}

/* uffd_wpu_api(bit 13) on a fresh userfaultfd, then the hole check. */
static void check_api_bit13(const char *name, const char *hole_name)
{
	uint64_t f = 0;
	int fd = lib_uffd_open(), r;

	if (fd < 0) {
		t_fail(name, "userfaultfd: %s", strerror(-fd));
		return;
	}
	r = uffd_wpu_api(fd, BIT13, &f);
	T_CHECK(name, r == 0 && (f & BIT13), "uffd_wpu_api = %d (%s: %s), features %#llx",
		r, r ? strerror(errno) : "ok", r ? reason_of_last() : "",
		(unsigned long long)f);
	if (!r)
		check_hole(fd, hole_name);
	close(fd);
}

static void t_probe(struct uffd_wpu_probe *p)
{
	char sysver[32] = "", tr[8] = "";
	int r;

	u_current = "probe";
	memset(p, 0xa5, sizeof(*p));
	r = uffd_wpu_probe(p);
	fprintf(stderr, "lib_api: probe: %s (%s), reason %u, flags %#x: %s\n",
		uffd_wpu_support_str(p->support), uffd_wpu_backend_str(p->backend),
		p->reason, p->flags, p->message);
	T_CHECK("probe", r == 0 && p->message[0] && memchr(p->message, 0, sizeof(p->message)),
		"uffd_wpu_probe = %d, message '%.40s'", r, p->message);
	if (is_native) {
		T_CHECK("probe-native", p->support == UFFD_WPU_NATIVE &&
			p->reason == UFFD_WPU_REASON_NONE && !p->module_loaded &&
			(p->kernel_features & BIT13) && p->backend == UFFD_WPU_BACKEND_NONE,
			"support %u reason %u module %u features %#llx", p->support,
			p->reason, p->module_loaded, (unsigned long long)p->kernel_features);
	} else if (is_module) {
		u_read_file(UFFD_WPU_SYSFS "/version", sysver, sizeof(sysver));
		u_read_file(SYS_TRANSPARENT, tr, sizeof(tr));
		T_CHECK("probe-module", p->support == UFFD_WPU_MODULE &&
			p->reason == UFFD_WPU_REASON_NONE && p->module_loaded &&
			p->enabled == 1 && p->transparent == (tr[0] == '1') &&
			(p->flags & UFFD_WPU_PROBE_DEVICE) && (p->flags & UFFD_WPU_PROBE_HOOKED),
			"support %u reason %u loaded %u enabled %u transparent %u flags %#x",
			p->support, p->reason, p->module_loaded, p->enabled,
			p->transparent, p->flags);
		T_CHECK("probe-module-backend",
			!strcmp(uffd_wpu_backend_str(p->backend), env.backend) &&
			p->abi_major == UFFD_WPU_ABI_MAJOR &&
			!strcmp(p->module_version, sysver),
			"backend %s (sysfs %s), abi %u, version '%s' (sysfs '%s')",
			uffd_wpu_backend_str(p->backend), env.backend, p->abi_major,
			p->module_version, sysver);
	} else if (no_uffd) {
		T_CHECK("probe-no-userfaultfd", p->support == UFFD_WPU_UNAVAILABLE &&
			(p->reason == UFFD_WPU_REASON_NO_USERFAULTFD ||
			 p->reason == UFFD_WPU_REASON_UFFD_NOT_PERMITTED),
			"support %u reason %u", p->support, p->reason);
	} else {
		T_CHECK("probe-unavailable", p->support == UFFD_WPU_UNAVAILABLE &&
			(p->reason == UFFD_WPU_REASON_NO_MODULE ||
			 p->reason == UFFD_WPU_REASON_KERNEL_TOO_OLD),
			"support %u reason %u", p->support, p->reason);
	}
	r = uffd_wpu_probe(NULL);
	T_CHECK("probe-null", r == -1 && errno == EINVAL &&
		uffd_wpu_last_error(NULL) == UFFD_WPU_REASON_SYSTEM_ERROR,
		"uffd_wpu_probe(NULL) = %d errno %d", r, errno);
}

static void t_strings(void)
{
	uint32_t i, j;
	int distinct = 1;

	for (i = 0; i <= UFFD_WPU_REASON_SYSTEM_ERROR; i++)
		for (j = 0; j < i; j++)
			if (!strcmp(uffd_wpu_reason_str(i), uffd_wpu_reason_str(j)))
				distinct = 0;
	T_CHECK("strings", distinct && uffd_wpu_library_version()[0] &&
		!strcmp(uffd_wpu_reason_str(12345), "unknown reason") &&
		strstr(uffd_wpu_strerror(EOPNOTSUPP), "WP_UNPOPULATED") &&
		strstr(uffd_wpu_strerror(ENODEV), "not loaded") &&
		!strcmp(uffd_wpu_support_str(UFFD_WPU_NATIVE), "native") &&
		!strcmp(uffd_wpu_backend_str(UFFD_WPU_BACKEND_ZEROPAGE), "zeropage") &&
		uffd_wpu_strerror(EIO)[0],
		"reason/support/backend strings or strerror wrong");
}

/* ---- threads --------------------------------------------------------- */

struct th {
	pthread_t t;
	struct uffd_wpu_probe want;
	int bad;
	uint32_t tls_reason;
};

static void *probe_thread(void *arg)
{
	struct th *t = arg;
	struct uffd_wpu_probe p;
	int i;

	for (i = 0; i < 60; i++) {
		if (uffd_wpu_probe(&p) || p.support != t->want.support ||
		    p.reason != t->want.reason || p.backend != t->want.backend ||
		    strcmp(p.message, t->want.message))
			t->bad++;
	}
	/* A failure here must not show in another thread's last error. */
	uffd_wpu_probe(NULL);
	t->tls_reason = uffd_wpu_last_error(NULL);
	return NULL;
}

static void t_threads(const struct uffd_wpu_probe *want)
{
	struct th th[8];
	int i, bad = 0, tls_ok = 1, fds0 = count_fds();
	struct uffd_wpu_probe p;

	u_current = "threads";
	uffd_wpu_probe(&p);	/* this thread: last error NONE */
	for (i = 0; i < 8; i++) {
		memset(&th[i], 0, sizeof(th[i]));
		th[i].want = *want;
		pthread_create(&th[i].t, NULL, probe_thread, &th[i]);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(th[i].t, NULL);
		bad += th[i].bad;
		if (th[i].tls_reason != UFFD_WPU_REASON_SYSTEM_ERROR)
			tls_ok = 0;
	}
	T_CHECK("probe-threads", bad == 0 && count_fds() == fds0,
		"%d of 480 concurrent probes disagreed; fds %d -> %d", bad, fds0, count_fds());
	T_CHECK("last-error-thread-local",
		tls_ok && uffd_wpu_last_error(NULL) == UFFD_WPU_REASON_NONE,
		"threads' reasons wrong, or main thread's last error changed to %u",
		uffd_wpu_last_error(NULL));
}

static void t_no_leaks(void)
{
	struct uffd_wpu_status_info st;
	struct uffd_wpu_probe p;
	int fds0 = count_fds(), i, fd;

	u_current = "fd-leaks";
	for (i = 0; i < 100; i++) {
		uffd_wpu_probe(&p);
		uffd_wpu_status(&st);
		uffd_wpu_optin();
		uffd_wpu_optout();
		fd = lib_uffd_open();
		if (fd >= 0) {
			uffd_wpu_api(fd, i & 1 ? BIT13 : 0, NULL);
			close(fd);
		}
	}
	T_CHECK("no-fd-leaks", count_fds() == fds0, "open fds %d -> %d", fds0, count_fds());
}

static void t_api_common(int available)
{
	uint64_t f = 0;
	int fd, r;

	u_current = "api";
	if (no_uffd) {
		t_skip("api", "userfaultfd() fails here: %s", strerror(no_uffd));
		return;
	}
	if (available)
		check_api_bit13("api-bit13", "api-bit13-hole-faults");
	else {
		fd = lib_uffd_open();
		r = uffd_wpu_api(fd, BIT13, &f);
		T_CHECK("api-bit13-unavailable", r == -1 && errno == EOPNOTSUPP &&
			uffd_wpu_last_error(NULL) != UFFD_WPU_REASON_NONE &&
			!uffd_api(fd, 0, NULL),
			"uffd_wpu_api = %d errno %d; fd not usable afterwards?", r, errno);
		close(fd);
	}

	fd = lib_uffd_open();
	r = uffd_wpu_api(fd, 0, &f);
	T_CHECK("api-plain", r == 0 && (f & UFFD_WPU_FEATURE_PAGEFAULT_FLAG_WP) &&
		uffd_wpu_last_error(NULL) == UFFD_WPU_REASON_NONE,
		"uffd_wpu_api(0) = %d (%s), features %#llx", r, r ? strerror(errno) : "ok",
		(unsigned long long)f);
	r = uffd_wpu_api(fd, available ? BIT13 : 0, &f);
	T_CHECK("api-twice-einval", r == -1 && errno == EINVAL && f == 0 &&
		uffd_wpu_last_error(NULL) == UFFD_WPU_REASON_API_FAILED,
		"second uffd_wpu_api = %d errno %d reason %u", r, errno,
		uffd_wpu_last_error(NULL));
	close(fd);
	if (available) {
		r = uffd_wpu_api(-1, BIT13, NULL);
		T_CHECK("api-ebadf", r == -1 && errno == EBADF, "uffd_wpu_api(-1) = %d errno %d",
			r, errno);
	}
}

static void t_status(void)
{
	struct uffd_wpu_status_info st;
	char hooks[16] = "";
	struct utsname u;
	uint32_t i;
	int r, tracked = 0;

	u_current = "status";
	uname(&u);
	r = uffd_wpu_status(&st);
	T_CHECK("status", r == 0 && !strcmp(st.kernel_release, u.release) &&
		st.probe.message[0], "uffd_wpu_status = %d, release '%s'", r, st.kernel_release);
	if (is_module) {
		u_read_file(UFFD_WPU_SYSFS "/hooks", hooks, sizeof(hooks));
		for (i = 0; i < st.nstats; i++)
			if (!strcmp(st.stats[i].name, "tracked_mms"))
				tracked = 1;
		T_CHECK("status-module", st.hooks == (uint32_t)atoi(hooks) && st.hooks > 0 &&
			tracked && st.nstats >= 5,
			"hooks %u (sysfs %s), %u stats, tracked_mms %s", st.hooks, hooks,
			st.nstats, tracked ? "listed" : "missing");
	} else {
		T_CHECK("status-no-module", st.hooks == 0 && st.nstats == 0 &&
			!st.probe.module_loaded, "hooks %u stats %u", st.hooks, st.nstats);
	}
	T_CHECK("status-null", uffd_wpu_status(NULL) == -1 && errno == EINVAL,
		"uffd_wpu_status(NULL) did not fail with EINVAL");
}

/* ---- module only --------------------------------------------------- */

static int opted_in(void)
{
	struct uffd_wpu_probe p;

	uffd_wpu_probe(&p);
	return !!(p.flags & UFFD_WPU_PROBE_OPTED_IN);
}

static void t_transparent_off(void)
{
	struct uffd_wpu_probe p;
	int r;

	u_current = "transparent-off";
	r = u_write_file(SYS_TRANSPARENT, "0");
	if (r) {
		t_fail("t0-setup", "write %s: %s", SYS_TRANSPARENT, strerror(-r));
		return;
	}
	uffd_wpu_probe(&p);
	T_CHECK("t0-probe", p.support == UFFD_WPU_MODULE && !p.transparent &&
		(p.flags & UFFD_WPU_PROBE_NEEDS_OPTIN) && !(p.flags & UFFD_WPU_PROBE_OPTED_IN),
		"support %u transparent %u flags %#x: %s", p.support, p.transparent,
		p.flags, p.message);
	r = raw_bit13();
	T_CHECK("t0-raw-api-einval", u_api_refused(r),
		"raw UFFDIO_API(bit 13) = %s, want EINVAL (not opted in yet)",
		u_api_str(r));
	check_api_bit13("t0-api-optin", "t0-api-hole-faults");
	T_CHECK("t0-opted-in", opted_in(), "uffd_wpu_api did not leave the mm opted in");

	r = uffd_wpu_optout();
	T_CHECK("optout", r == 0 && !opted_in() && u_api_refused(raw_bit13()),
		"uffd_wpu_optout = %d (%s); opted in %d", r, r ? reason_of_last() : "",
		opted_in());
	r = uffd_wpu_optin();
	T_CHECK("optin", r == 0 && opted_in() && raw_bit13() == 0,
		"uffd_wpu_optin = %d (%s); opted in %d; raw UFFDIO_API(bit 13) %d",
		r, r ? reason_of_last() : "", opted_in(), raw_bit13());
	uffd_wpu_optout();
	u_write_file(SYS_TRANSPARENT, saved_transparent);
}

static void t_disabled(void)
{
	struct uffd_wpu_error e;
	struct uffd_wpu_probe p;
	uint64_t f = 1;
	int r, fd;

	u_current = "disabled";
	r = u_write_file(SYS_ENABLED, "0");
	if (r) {
		t_fail("disabled-setup", "write %s: %s", SYS_ENABLED, strerror(-r));
		return;
	}
	uffd_wpu_probe(&p);
	T_CHECK("disabled-probe", p.support == UFFD_WPU_UNAVAILABLE &&
		p.reason == UFFD_WPU_REASON_MODULE_DISABLED && p.module_loaded &&
		!p.enabled && strstr(p.message, "disabled"),
		"support %u reason %u: %s", p.support, p.reason, p.message);

	fd = lib_uffd_open();
	r = uffd_wpu_api(fd, BIT13, &f);
	uffd_wpu_last_error(&e);
	fprintf(stderr, "lib_api: enabled=0: uffd_wpu_api: %s; %s\n",
		uffd_wpu_strerror(errno), e.message);
	T_CHECK("disabled-api-eopnotsupp", r == -1 && errno == EOPNOTSUPP && f == 0 &&
		e.reason == UFFD_WPU_REASON_MODULE_DISABLED && strstr(e.message, "disabled"),
		"uffd_wpu_api = %d errno %d reason %u message '%s'", r, errno, e.reason,
		e.message);
	r = uffd_wpu_api(fd, 0, &f);
	T_CHECK("disabled-fd-untouched", r == 0,
		"uffd_wpu_api(0) after the refusal = %d (%s): the fd was consumed",
		r, strerror(errno));
	close(fd);

	r = uffd_wpu_optin();
	T_CHECK("disabled-optin-eperm", r == -1 && errno == EPERM &&
		uffd_wpu_last_error(NULL) == UFFD_WPU_REASON_MODULE_DISABLED,
		"uffd_wpu_optin = %d errno %d reason %u", r, errno, uffd_wpu_last_error(NULL));
	u_write_file(SYS_ENABLED, saved_enabled);
}

/* ---- other users ------------------------------------------------------ */

/* Run fn as uid/gid 65534 in a child; its checks print their own lines. */
static void as_nobody(const char *name, void (*fn)(void))
{
	pid_t pid;
	int st;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		t_fail(name, "fork: %s", strerror(errno));
		return;
	}
	if (!pid) {
		if (setgid(65534) || setuid(65534)) {
			t_fail(name, "setuid: %s", strerror(errno));
			_exit(1);
		}
		fn();
		fflush(stdout);
		_exit(t_exit());
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		t_fail(name, "child died (status %#x)", st);
}

static void nobody_unpriv0(void)
{
	struct uffd_wpu_probe p;

	uffd_wpu_probe(&p);
	fprintf(stderr, "lib_api: uid 65534, unprivileged_userfaultfd=0: %s\n", p.message);
	/*
	 * 5.11+ still permit UFFD_USER_MODE_ONLY userfaultfds; stock 5.10 does
	 * not, 5.10 with the module does (umode.c).
	 */
	if (u_kernel_at_least(&env, 5, 11) || root_support == UFFD_WPU_MODULE)
		T_CHECK("nonroot-unpriv0", p.support == root_support &&
			(p.flags & UFFD_WPU_PROBE_USER_MODE_ONLY),
			"support %u flags %#x reason %u: %s", p.support, p.flags, p.reason,
			p.message);
	else
		T_CHECK("nonroot-unpriv0", p.support == UFFD_WPU_UNAVAILABLE &&
			p.reason == UFFD_WPU_REASON_UFFD_NOT_PERMITTED && p.sys_errno == EPERM,
			"support %u reason %u errno %d: %s", p.support, p.reason, p.sys_errno,
			p.message);
}

static void nobody_unpriv1(void)
{
	struct uffd_wpu_probe p;

	uffd_wpu_probe(&p);
	T_CHECK("nonroot-unpriv1", p.support == root_support &&
		!(p.flags & UFFD_WPU_PROBE_USER_MODE_ONLY),
		"support %u flags %#x: %s", p.support, p.flags, p.message);
}

static void nobody_device_denied(void)
{
	struct uffd_wpu_error e;
	struct uffd_wpu_probe p;
	int fd, r;

	uffd_wpu_probe(&p);
	T_CHECK("nonroot-device-denied-probe", p.support == UFFD_WPU_UNAVAILABLE &&
		p.reason == UFFD_WPU_REASON_DEVICE_DENIED && p.sys_errno == EACCES,
		"support %u reason %u errno %d: %s", p.support, p.reason, p.sys_errno,
		p.message);
	fd = lib_uffd_open();
	r = uffd_wpu_api(fd, BIT13, NULL);
	uffd_wpu_last_error(&e);
	T_CHECK("nonroot-device-denied-api", r == -1 && errno == EOPNOTSUPP &&
		e.reason == UFFD_WPU_REASON_DEVICE_DENIED,
		"uffd_wpu_api = %d errno %d reason %u: %s", r, errno, e.reason, e.message);
	close(fd);
	r = uffd_wpu_optin();
	T_CHECK("nonroot-device-denied-optin", r == -1 && errno == EACCES &&
		uffd_wpu_last_error(NULL) == UFFD_WPU_REASON_DEVICE_DENIED,
		"uffd_wpu_optin = %d errno %d", r, errno);
}

static void nobody_device_denied_transparent(void)
{
	struct uffd_wpu_probe p;

	uffd_wpu_probe(&p);
	T_CHECK("nonroot-device-denied-transparent", p.support == UFFD_WPU_MODULE &&
		!(p.flags & UFFD_WPU_PROBE_DEVICE),
		"support %u flags %#x: %s", p.support, p.flags, p.message);
	check_api_bit13("nonroot-device-denied-transparent-api",
			"nonroot-device-denied-transparent-hole");
}

static void t_other_users(void)
{
	u_current = "nonroot";
	if (no_uffd) {
		t_skip("nonroot", "userfaultfd() fails here: %s", strerror(no_uffd));
		return;
	}
	if (getuid() != 0) {
		t_skip("nonroot", "not running as root");
		return;
	}
	if (u_read_file(SYSCTL_UNPRIV, saved_unpriv, sizeof(saved_unpriv))) {
		saved_unpriv[0] = 0;
		t_skip("nonroot", "no %s", SYSCTL_UNPRIV);
		return;
	}
	if (!u_write_file(SYSCTL_UNPRIV, "0"))
		as_nobody("nonroot-unpriv0", nobody_unpriv0);
	if (!u_write_file(SYSCTL_UNPRIV, "1"))
		as_nobody("nonroot-unpriv1", nobody_unpriv1);
	if (is_module) {
		if (chmod(UFFD_WPU_DEVICE, 0600)) {
			t_fail("nonroot-device-denied", "chmod: %s", strerror(errno));
		} else {
			u_write_file(SYS_TRANSPARENT, "0");
			as_nobody("nonroot-device-denied", nobody_device_denied);
			u_write_file(SYS_TRANSPARENT, "1");
			as_nobody("nonroot-device-denied-transparent",
				  nobody_device_denied_transparent);
			u_write_file(SYS_TRANSPARENT, saved_transparent);
			chmod(UFFD_WPU_DEVICE, 0666);
		}
	}
	u_write_file(SYSCTL_UNPRIV, saved_unpriv);
}

/*
 * uffd_wpu_pagemap_scan(): the calling process (-1) or a pagemap fd; where
 * neither the kernel nor the module offers PAGEMAP_SCAN, EOPNOTSUPP.
 */
static void t_pagemap_scan(void)
{
	struct page_region v[8];
	struct pm_scan_arg a;
	char *p = map_anon(8 * PAGE);
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int offered;
	long r;

	if (!p || pm < 0) {
		t_fail("pagemap-scan", "setup: %s", strerror(errno));
		return;
	}
	p[2 * PAGE] = 1;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.start = (uintptr_t)p;
	a.end = (uintptr_t)(p + 8 * PAGE);
	a.vec = (uintptr_t)v;
	a.vec_len = 8;
	a.category_mask = PAGE_IS_PRESENT;
	a.return_mask = PAGE_IS_PRESENT;
	offered = ioctl(pm, PAGEMAP_SCAN, &a) >= 0 || is_module;
	memset(v, 0, sizeof(v));
	r = uffd_wpu_pagemap_scan(-1, &a);
	if (offered)
		T_CHECK("pagemap-scan-self", r == 1 &&
			v[0].start == (uintptr_t)(p + 2 * PAGE) &&
			v[0].end == (uintptr_t)(p + 3 * PAGE) &&
			v[0].categories == PAGE_IS_PRESENT,
			"r %ld errno %d, region [%#llx, %#llx)", r, errno,
			(unsigned long long)v[0].start, (unsigned long long)v[0].end);
	else
		T_CHECK("pagemap-scan-unavailable", r == -1 && errno == EOPNOTSUPP,
			"r %ld errno %d", r, errno);
	if (offered) {
		r = uffd_wpu_pagemap_scan(pm, &a);
		T_CHECK("pagemap-scan-fd", r == 1, "r %ld errno %d", r, errno);
		a.size = 8;
		r = uffd_wpu_pagemap_scan(pm, &a);
		T_CHECK("pagemap-scan-einval", r == -1 && errno == EINVAL,
			"size 8: r %ld errno %d", r, errno);
	}
	r = uffd_wpu_pagemap_scan(-1, NULL);
	T_CHECK("pagemap-scan-null", r == -1 && errno == EINVAL,
		"NULL: r %ld errno %d", r, errno);
	close(pm);
	munmap(p, 8 * PAGE);
}

int main(void)
{
	struct uffd_wpu_probe p;
	int r;

	t_prog = "lib_api";
	u_watchdog(240);
	env = u_env_get();
	r = lib_uffd_open();
	if (r < 0)
		no_uffd = -r;
	else
		close(r);
	is_module = u_exists(UFFD_WPU_SYSFS);
	is_native = !is_module && query_bit13();
	if (is_module) {
		u_read_file(SYS_ENABLED, saved_enabled, sizeof(saved_enabled));
		u_read_file(SYS_TRANSPARENT, saved_transparent, sizeof(saved_transparent));
	}
	u_cleanup = restore;
	atexit(restore);

	t_probe(&p);
	root_support = p.support;
	t_strings();
	t_threads(&p);
	t_status();
	t_api_common(p.support != UFFD_WPU_UNAVAILABLE);
	t_pagemap_scan();
	if (!is_module) {
		r = uffd_wpu_optin();
		T_CHECK("optin-no-module", r == -1 && errno == ENODEV &&
			uffd_wpu_last_error(NULL) == UFFD_WPU_REASON_NO_MODULE,
			"uffd_wpu_optin = %d errno %d reason %u", r, errno,
			uffd_wpu_last_error(NULL));
	} else if (getuid() != 0) {
		t_skip("module-toggles", "not running as root");
	} else {
		t_transparent_off();
		t_disabled();
	}
	t_other_users();
	t_no_leaks();
	restore();
	return t_exit();
}
