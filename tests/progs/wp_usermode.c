// SPDX-License-Identifier: GPL-2.0
/*
 * wp_usermode: userfaultfd(UFFD_USER_MODE_ONLY) as 5.11+ defines it, on
 * 5.10 with the module (src/umode.c), against native 6.x.
 *
 *   pin, stock       5.10: rmmod is refused while a user-mode-only
 *                    context is open, works after close; without the module
 *                    the flag is EINVAL (stock 5.10).  6.1: the module has
 *                    nothing to do with the flag: rmmod works with one open.
 *   open-*           the flag with O_CLOEXEC / O_NONBLOCK
 *   api-wp-async     UFFDIO_API grants WP_ASYNC|WP_UNPOPULATED to it
 *   user-wp-hole     a user-mode write into a protected hole: a WP message
 *   kernel-*         faults that do not come from user mode (read(2) from a
 *                    pipe into registered memory, write(2) from it,
 *                    /proc/self/mem) are not delivered: EFAULT/EIO at once;
 *                    without the flag they are delivered as before
 *   kernel-async     ... except write-protect faults of a WP_ASYNC context,
 *                    which are resolved in the kernel (6.7+ checks async
 *                    first)
 *   unpriv-*         vm.unprivileged_userfaultfd=0: an unprivileged caller
 *                    (nobody, no capabilities) gets EPERM without the flag,
 *                    a context with it; =1: both
 *   invalid-*        unknown flags stay EINVAL, with or without the flag
 *   wine-watch       Wine's write watches: the flag, WP_ASYNC, PAGEMAP_SCAN;
 *                    pages written by user mode and by read(2) are reported
 *
 * Every expectation is 5.11's when the kernel has the flag (5.11+) or the
 * module is loaded (5.10), stock 5.10's otherwise.
 */
#include "uffd_util.h"

#include <grp.h>

#define UMO		1	/* UFFD_USER_MODE_ONLY (5.11 uapi) */
#define SYSCTL		"/proc/sys/vm/unprivileged_userfaultfd"
#define NOBODY		65534

static struct u_env env;
static int umo;		/* the flag is expected to work */

static int uffd_flags(int flags)
{
	int fd = (int)syscall(__NR_userfaultfd, flags);

	return fd < 0 ? -errno : fd;
}

static int module_loaded(void)
{
	return u_exists(UFFD_WPU_SYSFS_DIR);
}

static int rmmod(void)
{
	return system("rmmod uffd_wpu 2>/dev/null") == 0 && !module_loaded();
}

/* --- the module: pin and stock behaviour (before anything pins the mm) --- */

static void check_module(void)
{
	int fd;

	if (env.kind != U_MODULE) {
		t_skip("pin", "no module loaded");
		fd = uffd_flags(UMO | O_CLOEXEC);
		T_CHECK("stock", u_kernel_at_least(&env, 5, 11) ? fd >= 0 :
			fd == -EINVAL, "userfaultfd(USER_MODE_ONLY) = %d", fd);
		if (fd >= 0)
			close(fd);
		return;
	}
	u_current = "pin";
	fd = uffd_flags(UMO | O_CLOEXEC);
	if (fd < 0) {
		t_fail("pin", "userfaultfd(USER_MODE_ONLY) = %d", fd);
		return;
	}
	if (u_kernel_at_least(&env, 5, 11)) {
		/* Native flag: the module must not hold on to it. */
		int unloaded = u_rmmod_eventually();
		int api = uffd_api(fd, 0, NULL);

		T_CHECK("pin", unloaded && !api,
			"native context: rmmod %s, UFFDIO_API after it %d",
			unloaded ? "worked" : "refused", api);
		close(fd);
	} else {
		int refused = !rmmod();

		close(fd);
		T_CHECK("pin", refused && u_rmmod_eventually(),
			"rmmod %s while a user-mode-only context was open, %s after close",
			refused ? "refused" : "worked",
			module_loaded() ? "refused" : "worked");
	}
	if (!module_loaded()) {
		fd = uffd_flags(UMO | O_CLOEXEC);
		T_CHECK("stock", u_kernel_at_least(&env, 5, 11) ? fd >= 0 :
			fd == -EINVAL,
			"without the module: userfaultfd(USER_MODE_ONLY) = %d",
			fd);
		if (fd >= 0)
			close(fd);
		if (system("insmod /uffd_wpu.ko") != 0 || !module_loaded())
			t_fail("reload", "insmod /uffd_wpu.ko failed");
	} else {
		t_skip("stock", "the module could not be unloaded");
	}
}

/* --- opening -------------------------------------------------------------- */

static void check_open(void)
{
	int fd, fdfl, flfl;

	u_current = "open";
	fd = uffd_flags(UMO | O_CLOEXEC);
	fdfl = fd >= 0 ? fcntl(fd, F_GETFD) : -1;
	if (!umo)
		T_CHECK("open-cloexec", fd == -EINVAL, "got %d, stock 5.10 says EINVAL", fd);
	else
		T_CHECK("open-cloexec", fd >= 0 && (fdfl & FD_CLOEXEC),
			"fd %d, F_GETFD %#x", fd, fdfl);
	if (fd >= 0)
		close(fd);
	fd = uffd_flags(UMO | O_NONBLOCK);
	fdfl = fd >= 0 ? fcntl(fd, F_GETFD) : -1;
	flfl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
	if (!umo)
		T_CHECK("open-nonblock", fd == -EINVAL, "got %d", fd);
	else
		T_CHECK("open-nonblock",
			fd >= 0 && (flfl & O_NONBLOCK) && !(fdfl & FD_CLOEXEC),
			"fd %d, F_GETFL %#x, F_GETFD %#x", fd, flfl, fdfl);
	if (fd >= 0)
		close(fd);
}

static void check_invalid(void)
{
	static const int bad[] = { 2, 0x10, UMO | 2, UMO | O_CLOEXEC | 0x10,
				   UMO | (int)0x80000000, -1 };
	char what[64] = "";
	unsigned int i;
	int fd;

	u_current = "invalid";
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = uffd_flags(bad[i]);
		if (fd != -EINVAL && !what[0])
			snprintf(what, sizeof(what), "flags %#x gave %d",
				 bad[i], fd);
		if (fd >= 0)
			close(fd);
	}
	T_CHECK("invalid-flags", !what[0], "%s", what);
}

/* --- faults ----------------------------------------------------------------- */

/* A thread that answers every message of a context until told to stop. */
struct monitor {
	pthread_t th;
	int uffd;
	volatile int stop;
	int delivered;
	struct uffd_msg first;
};

static void *monitor_fn(void *arg)
{
	struct monitor *m = arg;
	struct uffd_msg x;

	while (!m->stop) {
		if (uffd_read_msg(m->uffd, &x, 20) != 1)
			continue;
		if (!m->delivered++)
			m->first = x;
		resolve_any(m->uffd, &x);
	}
	return NULL;
}

static void monitor_start(struct monitor *m, int uffd)
{
	memset(m, 0, sizeof(*m));
	m->uffd = uffd;
	pthread_create(&m->th, NULL, monitor_fn, m);
}

static int monitor_stop(struct monitor *m)
{
	m->stop = 1;
	pthread_join(m->th, NULL);
	return m->delivered;
}

enum kop { K_PIPE_READ, K_PIPE_WRITE, K_PROCMEM };

/* One kernel-mode access of 64 bytes at p; its result, or -errno. */
static long kernel_access(enum kop op, char *p)
{
	char buf[64];
	int pfd[2], fd;
	long r;

	memset(buf, 'k', sizeof(buf));
	if (op == K_PROCMEM) {
		fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		r = pwrite(fd, buf, sizeof(buf), (off_t)(uintptr_t)p);
		r = r < 0 ? -errno : r;
		close(fd);
		return r;
	}
	if (pipe(pfd))
		return -errno;
	if (op == K_PIPE_READ) {
		/* The kernel writes into p. */
		if (write(pfd[1], buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			r = -EIO;
		else
			r = read(pfd[0], p, sizeof(buf));
	} else {
		/* The kernel reads from p. */
		r = write(pfd[1], p, sizeof(buf));
	}
	r = r < 0 ? -errno : r;
	close(pfd[0]);
	close(pfd[1]);
	return r;
}

/*
 * A context (user-mode-only or not), one page registered in mode, made
 * present and protected first for WP; then the kernel accesses it.
 * Returns the access's result; *delivered the messages the context got.
 */
static long kernel_fault(int flags, uint64_t mode, uint64_t features,
			 enum kop op, int *delivered)
{
	struct monitor m;
	char *p = map_anon(PAGE);
	/* poll() on a blocking userfaultfd says POLLERR */
	int fd = uffd_flags(flags | O_NONBLOCK);
	long r = -ENOTRECOVERABLE;

	*delivered = -1;
	if (!p || fd < 0 || uffd_api(fd, features, NULL))
		goto out;
	if (mode == UFFDIO_REGISTER_MODE_WP)
		memset(p, 'x', PAGE);
	if (uffd_register(fd, p, PAGE, mode) ||
	    (mode == UFFDIO_REGISTER_MODE_WP && uffd_wp(fd, p, PAGE, 1)))
		goto out;
	monitor_start(&m, fd);
	r = kernel_access(op, p);
	*delivered = monitor_stop(&m);
out:
	if (fd >= 0)
		close(fd);
	if (p)
		munmap(p, PAGE);
	return r;
}

static void check_kernel(const char *name, uint64_t mode, enum kop op)
{
	char n[64];
	long r;
	int d;

	u_current = name;
	snprintf(n, sizeof(n), "kernel-%s", name);
	if (!umo) {
		t_skip(n, "no UFFD_USER_MODE_ONLY on stock %s", env.release);
	} else {
		r = kernel_fault(UMO | O_CLOEXEC, mode, 0, op, &d);
		if (op == K_PROCMEM)	/* GUP: no retry, SIGBUS on every kernel */
			T_CHECK(n, r < 0 && r != -ENOTRECOVERABLE && d == 0,
				"access %ld, %d message(s)", r, d);
		else
			T_CHECK(n, r == -EFAULT && d == 0,
				"access %ld (want EFAULT), %d message(s) delivered",
				r, d);
	}
	if (op == K_PROCMEM)
		return;
	/* The same without the flag: delivered, resolved, done. */
	snprintf(n, sizeof(n), "kernel-%s-noflag", name);
	r = kernel_fault(O_CLOEXEC, mode, 0, op, &d);
	T_CHECK(n, r == 64 && d == 1, "access %ld, %d message(s)", r, d);
}

/* Async write-protect faults are resolved even in kernel mode (6.7+). */
static void check_kernel_async(void)
{
	uint64_t f = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
	long r;
	int d;

	u_current = "kernel-async";
	if (!umo || !env.holes) {
		t_skip("kernel-async", "no user-mode-only WP_ASYNC context here");
		return;
	}
	r = kernel_fault(UMO | O_CLOEXEC, UFFDIO_REGISTER_MODE_WP, f,
			 K_PIPE_READ, &d);
	T_CHECK("kernel-async", r == 64 && d == 0,
		"read(2) into an async-protected page: %ld, %d message(s)",
		r, d);
}

/* --- features --------------------------------------------------------------- */

static void check_features(void)
{
	uint64_t want = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
	uint64_t got = 0;
	struct uffd_msg m;
	char *p;
	int fd, r, n;

	u_current = "api";
	if (!umo || !env.holes) {
		t_skip("api-wp-async", "%s", !umo ? "no UFFD_USER_MODE_ONLY" :
		       NO_HOLES_REASON);
		t_skip("user-wp-hole", "%s", !umo ? "no UFFD_USER_MODE_ONLY" :
		       NO_HOLES_REASON);
		return;
	}
	fd = uffd_flags(UMO | O_CLOEXEC | O_NONBLOCK);
	r = fd < 0 ? fd : uffd_api(fd, want, &got);
	T_CHECK("api-wp-async", !r && (got & want) == want,
		"UFFDIO_API: %d, features %#llx", r,
		(unsigned long long)got);
	if (fd >= 0)
		close(fd);

	u_current = "user-wp-hole";
	p = map_anon(PAGE);
	fd = uffd_flags(UMO | O_CLOEXEC | O_NONBLOCK);
	r = fd < 0 ? fd : uffd_api(fd, UFFD_FEATURE_WP_UNPOPULATED, NULL);
	if (!r)
		r = uffd_register_wp(fd, p, PAGE) ?: uffd_wp(fd, p, PAGE, 1);
	n = r ? -1 : access_and_watch(fd, p, ACC_WRITE, 'u', 5000, &m,
				      NULL, NULL);
	T_CHECK("user-wp-hole", n == 1 && msg_is_wp_write(&m, p) && *p == 'u',
		"setup %d, %d message(s), byte %#x", r, n, *p);
	if (fd >= 0)
		close(fd);
	munmap(p, PAGE);
}

/* --- unprivileged ----------------------------------------------------------- */

/* In a child that became nobody: userfaultfd() with each of flags[]. */
static void unpriv_child(int out, const int *flags, int n)
{
	char status[4096];
	int res[8], i, fd;
	char *cap;

	memset(res, 0, sizeof(res));
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		_exit(3);
	/* Not root any more: no capability left (no keepcaps). */
	if (u_read_file("/proc/self/status", status, sizeof(status)))
		_exit(4);
	cap = strstr(status, "CapEff:");
	if (!cap || strtoull(cap + 7, NULL, 16))
		_exit(5);
	for (i = 0; i < n; i++) {
		fd = uffd_flags(flags[i]);
		/* A context that was created must also work. */
		if (fd >= 0)
			res[i] = uffd_api(fd, 0, NULL) ?: 1;
		else
			res[i] = fd;
		if (fd >= 0)
			close(fd);
	}
	_exit(write(out, res, sizeof(res)) == sizeof(res) ? 0 : 6);
}

static const char *res_str(int r, char *buf, size_t len)
{
	if (r == 1)
		snprintf(buf, len, "a context");
	else
		snprintf(buf, len, "%s", strerror(-r));
	return buf;
}

static void check_unpriv(int sysctl)
{
	static const int flags[] = { O_CLOEXEC, UMO | O_CLOEXEC, 0x10,
				     UMO | 0x10 };
	int want[4], got[8], pfd[2], st, i;
	char name[64], a[64], b[64];
	pid_t pid;

	/* 5.11+: the flag is always allowed, then bad flags are EINVAL. */
	want[0] = sysctl ? 1 : -EPERM;
	want[1] = umo ? 1 : sysctl ? -EINVAL : -EPERM;
	want[2] = sysctl ? -EINVAL : -EPERM;
	want[3] = umo ? -EINVAL : sysctl ? -EINVAL : -EPERM;

	snprintf(name, sizeof(name), "unpriv-sysctl%d", sysctl);
	u_current = name;
	if (pipe(pfd)) {
		t_fail(name, "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (!pid) {
		close(pfd[0]);
		unpriv_child(pfd[1], flags, 4);
	}
	close(pfd[1]);
	memset(got, 0, sizeof(got));
	i = read(pfd[0], got, sizeof(got)) == sizeof(got);
	close(pfd[0]);
	waitpid(pid, &st, 0);
	if (!i || !WIFEXITED(st) || WEXITSTATUS(st)) {
		t_fail(name, "child: status %#x", st);
		return;
	}
	for (i = 0; i < 4 && got[i] == want[i]; i++)
		;
	if (i < 4)
		t_fail(name, "flags %#x: %s, want %s", flags[i],
		       res_str(got[i], a, sizeof(a)),
		       res_str(want[i], b, sizeof(b)));
	else
		t_pass(name);
}

static void check_unprivileged(void)
{
	char saved[16];

	if (u_read_file(SYSCTL, saved, sizeof(saved))) {
		t_skip("unpriv-sysctl0", "no " SYSCTL);
		t_skip("unpriv-sysctl1", "no " SYSCTL);
		return;
	}
	if (u_write_file(SYSCTL, "0"))
		t_fail("unpriv-sysctl0", "cannot write " SYSCTL);
	else
		check_unpriv(0);
	if (u_write_file(SYSCTL, "1"))
		t_fail("unpriv-sysctl1", "cannot write " SYSCTL);
	else
		check_unpriv(1);
	u_write_file(SYSCTL, saved);
}

/* --- Wine ------------------------------------------------------------------- */

#define WN	16

/*
 * Wine's write watches (dlls/ntdll/unix/virtual.c, 10.7+): a user-mode-only
 * context with WP_ASYNC, PAGEMAP_SCAN to reset and to read them.  Half the
 * pages are present, half holes; user mode writes two, read(2) two.
 */
static void check_wine(void)
{
	static const int user[] = { 1, 12 }, kern[] = { 3, 9 };
	const uint64_t W = PAGE_IS_WRITTEN;
	struct page_region vec[WN];
	char *p, buf[64], seen[WN + 1];
	int fd, pmfd, pfd[2], i, j;
	long r, n = 0;

	u_current = "wine-watch";
	if (!umo || !env.holes) {
		t_skip("wine-watch", "%s", !umo ? "no UFFD_USER_MODE_ONLY" :
		       NO_HOLES_REASON);
		return;
	}
	p = map_anon(WN * PAGE);
	madvise(p, WN * PAGE, MADV_NOHUGEPAGE);
	for (i = 0; i < WN / 2; i++)
		p[i * PAGE] = 1;
	fd = uffd_flags(UMO | O_CLOEXEC | O_NONBLOCK);
	pmfd = pm_open(0);
	r = fd < 0 ? fd : uffd_api(fd, UFFD_FEATURE_WP_ASYNC, NULL);
	if (!r)
		r = uffd_register_wp(fd, p, WN * PAGE);
	if (!r)		/* ResetWriteWatch */
		r = pm_scan(pmfd, p, p + WN * PAGE,
			    PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
			    NULL, 0, 0, W, W, NULL);
	if (r < 0) {
		t_fail("wine-watch", "setup: %ld", r);
		goto out;
	}
	for (i = 0; i < 2; i++) {
		p[user[i] * PAGE + 5] = 'u';
		memset(buf, 'k', sizeof(buf));
		if (pipe(pfd) || write(pfd[1], buf, sizeof(buf)) != 64 ||
		    read(pfd[0], p + kern[i] * PAGE, 64) != 64) {
			t_fail("wine-watch", "read(2) into page %d: %s",
			       kern[i], strerror(errno));
			goto out;
		}
		close(pfd[0]);
		close(pfd[1]);
	}
	/* GetWriteWatch */
	r = pm_scan(pmfd, p, p + WN * PAGE, 0, vec, WN, 0, W, W, NULL);
	memset(seen, '.', WN);
	seen[WN] = 0;
	for (i = 0; i < r; i++)
		for (j = (int)((vec[i].start - (uintptr_t)p) / PAGE);
		     j < (int)((vec[i].end - (uintptr_t)p) / PAGE) && j < WN;
		     j++, n++)
			seen[j] = 'W';
	T_CHECK("wine-watch", r >= 0 && n == 4 && seen[1] == 'W' &&
		seen[3] == 'W' && seen[9] == 'W' && seen[12] == 'W',
		"PAGEMAP_SCAN %ld, written %s (want .W.W.....W..W...)", r,
		seen);
out:
	if (fd >= 0)
		close(fd);
	if (pmfd >= 0)
		close(pmfd);
	munmap(p, WN * PAGE);
}

int main(void)
{
	t_prog = "wp_usermode";
	u_watchdog(300);
	env = u_env_get();
	/* First: rmmod must not be held by anything of this process yet. */
	check_module();
	env = u_env_get();
	umo = u_kernel_at_least(&env, 5, 11) || env.kind == U_MODULE;
	fprintf(stderr, "wp_usermode: UFFD_USER_MODE_ONLY expected to %s\n",
		umo ? "work" : "be EINVAL");

	/* Diagnostics: what the module hooks of userfaultfd(2), and could. */
	if (system("cd /sys/kernel/debug/tracing && "
		   "grep -E '^(__x64_sys_userfaultfd|__ia32_sys_userfaultfd|handle_userfault)( |$)' "
		   "available_filter_functions enabled_functions >&2"))
		fprintf(stderr, "wp_usermode: none traceable or hooked\n");

	check_open();
	check_invalid();
	check_features();
	check_kernel("pipe-read", UFFDIO_REGISTER_MODE_MISSING, K_PIPE_READ);
	check_kernel("pipe-write", UFFDIO_REGISTER_MODE_MISSING, K_PIPE_WRITE);
	check_kernel("wp-pipe-read", UFFDIO_REGISTER_MODE_WP, K_PIPE_READ);
	check_kernel("procmem", UFFDIO_REGISTER_MODE_MISSING, K_PROCMEM);
	check_kernel_async();
	check_unprivileged();
	check_wine();
	return t_exit();
}
