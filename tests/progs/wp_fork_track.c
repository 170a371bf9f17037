// SPDX-License-Identifier: GPL-2.0
/*
 * wp_fork_track: protected holes that outlive what made them.
 *
 * A hole stays protected after the context that protected it stops asking
 * for holes (opt-out), after the range loses uffd-wp (re-registered
 * MISSING-only) or its registration (unregister), and fork with
 * UFFD_FEATURE_EVENT_FORK copies it into the child whenever the child's
 * VMA stays uffd-wp.  Native 6.4+ (reference):
 *
 *  - fork-a: opt in (module; native: a context with bit 13), a context
 *    with EVENT_FORK but without bit 13 protects untouched pages, opt out,
 *    fork.  In the child: MADV_DONTNEED drops a protected hole (bit 57
 *    clear, a write lands silently), a write to another hole is a WP fault
 *    on the child's userfaultfd;
 *  - fork-b: context A (bit 13) protects holes, A re-registers the range
 *    MISSING-only (drops WP, keeps the holes) and unregisters it, context B
 *    (EVENT_FORK, WP, no bit 13) registers it and forks: the same in the
 *    child, and the hole is a WP fault in the parent too;
 *  - fork-lazy: the parent may protect holes but has none yet; the
 *    monitor protects the child's range through the child's context: the
 *    child's hole is a WP fault;
 *  - fork-plain: without EVENT_FORK the child's holes are plain holes
 *    (writes land silently), and the module does not track the child;
 *  - fork-async: a child whose context has WP_ASYNC but no hole yet can
 *    PAGEMAP_SCAN itself (with the module: even with transparent=0);
 *  - fork-eintr (module only): registering the child's notifier fails with
 *    EINTR at fork (the fail_track knob, as with a signal pending); it is
 *    tracked anyway (by a worker);
 *  - stale: after a MISSING-only re-registration a write to a hole is a
 *    MISSING fault (never WP); after unregister a write lands silently;
 *  - fork-stale: as fork-a, then the monitor re-registers the child's
 *    range MISSING-only through the child's context and closes it, and the
 *    parent exits: the child's next read gives zeros and its writes land
 *    (no signal).  "--hold" stops after the parent exited, until SIGUSR1,
 *    so that tests/guest/15-fork-pin.sh can see rmmod refuse meanwhile.
 *
 * With the module, every process that may hold a protected hole is
 * tracked (UFFD_WPU_STATUS_TRACKED), which pins the module.
 */
#include "uffd_util.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static struct u_env env;

#define N	4
#define HELD_FILE "/tmp/wp_fork_track.held"

static int dev_ioctl(unsigned long cmd, void *arg)
{
	int fd = open(UFFD_WPU_DEVICE, O_RDWR | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	r = ioctl(fd, cmd, arg) ? -errno : 0;
	close(fd);
	return r;
}

static int opt(int in)
{
	struct uffd_wpu_optin o = { .size = sizeof(o) };

	return dev_ioctl(in ? UFFD_WPU_IOC_OPTIN : UFFD_WPU_IOC_OPTOUT, &o);
}

/* 1 if this process pins the module, 0 if not, -1 without the module. */
static int tracked(void)
{
	struct uffd_wpu_status s = { .size = sizeof(s) };

	if (env.kind != U_MODULE || dev_ioctl(UFFD_WPU_IOC_STATUS, &s))
		return -1;
	return !!(s.flags & UFFD_WPU_STATUS_TRACKED);
}

/*
 * Sequence (a) up to the fork: a context with EVENT_FORK (and without
 * bit 13 where the module can opt the process in) protects N untouched
 * pages.  Returns the context, or -1 after reporting.
 */
static int setup_a(const char *name, char **pp)
{
	uint64_t f = UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_THREAD_ID;
	int optin = env.kind == U_MODULE, uffd, r;
	char *p;

	if (optin && (r = opt(1))) {
		t_fail(name, "OPTIN: %s", strerror(-r));
		return -1;
	}
	uffd = uffd_new(optin ? f : f | UFFD_FEATURE_WP_UNPOPULATED);
	p = map_anon(N * PAGE);
	if (uffd < 0 || !p || uffd_register_wp(uffd, p, N * PAGE) ||
	    uffd_wp(uffd, p, N * PAGE, 1)) {
		t_fail(name, "setup: uffd %d: %s", uffd, strerror(errno));
		return -1;
	}
	if (optin && (r = opt(0))) {
		t_fail(name, "OPTOUT: %s", strerror(-r));
		return -1;
	}
	*pp = p;
	return uffd;
}

/* Sequence (b) up to the fork: B registers what A protected. */
static int setup_b(const char *name, char **pp)
{
	int a, b;
	char *p;

	a = uffd_new(UFFD_FEATURE_WP_UNPOPULATED);
	b = uffd_new(UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_THREAD_ID);
	p = map_anon(N * PAGE);
	if (a < 0 || b < 0 || !p || uffd_register_wp(a, p, N * PAGE) ||
	    uffd_wp(a, p, N * PAGE, 1) ||
	    uffd_register(a, p, N * PAGE, UFFDIO_REGISTER_MODE_MISSING) ||
	    uffd_unregister(a, p, N * PAGE) ||
	    uffd_register_wp(b, p, N * PAGE)) {
		t_fail(name, "setup: a %d b %d: %s", a, b, strerror(errno));
		return -1;
	}
	close(a);
	*pp = p;
	return b;
}

/* Child-side bits (exit code). */
enum {
	C_UNTRACKED = 1,	/* the module does not track the child */
	C_PM_KEPT = 2,		/* MADV_DONTNEED kept the hole protected */
	C_CONTENT = 4,		/* a read or write gave the wrong byte */
	C_EAGER = 8,		/* tracked before any hole could exist */
};

#define FAIL_TRACK "/sys/module/uffd_wpu/parameters/fail_track"


/*
 * In a child whose VMA is still uffd-wp: drop hole 1, write it (silent),
 * write hole 0 (a WP fault the monitor resolves), read hole 2.
 */
static int child_wp_body(char *p)
{
	int code = 0;
	uint64_t e;

	if (tracked() == 0)
		code |= C_UNTRACKED;
	madvise(p + PAGE, PAGE, MADV_DONTNEED);
	if (env.pm_uffd_wp && (pagemap_of(0, p + PAGE, &e) || (e & PM_UFFD_WP)))
		code |= C_PM_KEPT;
	p[PAGE] = 0x11;
	p[0] = 0x22;
	if (p[PAGE] != 0x11 || p[0] != 0x22 || p[2 * PAGE] != 0)
		code |= C_CONTENT;
	return code;
}

/* Read the FORK event from the parent's handler: the child's uffd. */
static int fork_event_fd(struct uh *h)
{
	int i, n = uh_wait(h, 1, 10000);

	for (i = 0; i < n && i < UH_MAX_MSGS; i++) {
		struct uffd_msg x = uh_msg(h, i);

		if (x.event == UFFD_EVENT_FORK)
			return (int)x.arg.fork.ufd;
	}
	return -1;
}

/* The child's messages: WP writes to hole 0, anything else. */
static void count_msgs(struct uh *h, char *p, int *wp0, int *other)
{
	int i, n = uh_count(h);

	*wp0 = *other = 0;
	for (i = 0; i < n && i < UH_MAX_MSGS; i++) {
		struct uffd_msg x = uh_msg(h, i);

		if (msg_is_wp_write(&x, p))
			(*wp0)++;
		else
			(*other)++;
	}
}

static void fork_wp(const char *pfx, int (*setup)(const char *, char **))
{
	struct uh h, hc;
	char name[96];
	int uffd, cfd, code, wp0, other;
	pid_t pid;
	char *p;

	u_current = pfx;
	uffd = setup(pfx, &p);
	if (uffd < 0)
		return;
	if (uh_start(&h, uffd, 1, UH_MISSING_NONE)) {
		t_fail(pfx, "handler thread");
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0)
		_exit(child_wp_body(p));
	cfd = pid < 0 ? -1 : fork_event_fd(&h);
	T_CHECK(pfx, pid > 0 && cfd >= 0, "fork %d, child uffd %d", (int)pid, cfd);
	if (cfd < 0) {
		if (pid > 0)
			kill(pid, SIGKILL);
		return;
	}
	if (uh_start(&hc, cfd, 1, UH_MISSING_NONE)) {
		t_fail(pfx, "child handler thread");
		kill(pid, SIGKILL);
		return;
	}
	code = u_wait_child(pid, 20000);
	count_msgs(&hc, p, &wp0, &other);
	uh_stop(&hc);
	snprintf(name, sizeof(name), "%s-child", pfx);
	if (code < 0 || code >= 16) {
		t_fail(name, "child %s (status %d)", code < 0 ? "hung" : "died", code);
		return;
	}
	t_pass(name);
	snprintf(name, sizeof(name), "%s-child-tracked", pfx);
	if (env.kind != U_MODULE)
		t_skip(name, "no module");
	else
		T_CHECK(name, !(code & C_UNTRACKED), "the child does not pin the module");
	snprintf(name, sizeof(name), "%s-child-dontneed-drops", pfx);
	if (!env.pm_uffd_wp)
		t_skip(name, NO_PM_REASON);
	else
		T_CHECK(name, !(code & C_PM_KEPT), "bit 57 still set after MADV_DONTNEED");
	snprintf(name, sizeof(name), "%s-child-content", pfx);
	T_CHECK(name, !(code & C_CONTENT), "a byte was wrong in the child");
	snprintf(name, sizeof(name), "%s-child-messages", pfx);
	if (env.zeropage && setup == setup_b)
		t_skip(name, "zero-page backend: MISSING registration made the holes none (%d WP writes)",
		       wp0);
	else
		T_CHECK(name, wp0 == 1 && !other,
			"%d WP writes to hole 0, %d other messages (want 1, 0)", wp0, other);
	uh_stop(&h);
	close(cfd);
	close(uffd);
}

/*
 * fork-lazy: the parent may protect holes but has none yet, so the child
 * is not tracked at fork; the monitor's first protect through the child's
 * context tracks it, and the child's hole is then a WP fault.
 */
static void t_fork_lazy(void)
{
	uint64_t f = UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_THREAD_ID;
	int optin = env.kind == U_MODULE, uffd, cfd, go[2], ready[2], code;
	int wp0, other;
	char c;
	struct uh h, hc;
	pid_t pid;
	char *p;

	u_current = "fork-lazy";
	if ((optin && opt(1)) || pipe(go) || pipe(ready)) {
		t_fail("fork-lazy", "setup: %s", strerror(errno));
		return;
	}
	uffd = uffd_new(optin ? f : f | UFFD_FEATURE_WP_UNPOPULATED);
	p = map_anon(N * PAGE);
	if (uffd < 0 || !p || uffd_register_wp(uffd, p, N * PAGE) ||
	    uh_start(&h, uffd, 1, UH_MISSING_NONE)) {
		t_fail("fork-lazy", "setup: uffd %d: %s", uffd, strerror(errno));
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		code = tracked() == 1 ? C_EAGER : 0;
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(64);
		if (tracked() == 0)
			code |= C_UNTRACKED;
		p[0] = 0x61;
		if (p[0] != 0x61 || p[PAGE] != 0)
			code |= C_CONTENT;
		_exit(code);
	}
	cfd = pid < 0 ? -1 : fork_event_fd(&h);
	T_CHECK("fork-lazy", cfd >= 0, "fork %d, child uffd %d", (int)pid, cfd);
	if (cfd < 0 || uh_start(&hc, cfd, 1, UH_MISSING_NONE)) {
		if (pid > 0)
			kill(pid, SIGKILL);
		return;
	}
	/* only once the child has looked: the protect below tracks it */
	if (read(ready[0], &c, 1) != 1)
		t_fail("fork-lazy-ready", "the child did not get going");
	T_CHECK("fork-lazy-protect", !uffd_wp(cfd, p, N * PAGE, 1),
		"UFFDIO_WRITEPROTECT through the child's uffd: %s", strerror(errno));
	if (write(go[1], "g", 1) != 1)
		kill(pid, SIGKILL);
	code = u_wait_child(pid, 20000);
	count_msgs(&hc, p, &wp0, &other);
	uh_stop(&hc);
	uh_stop(&h);
	T_CHECK("fork-lazy-child", code >= 0 && code < 16, "child status %d", code);
	if (code < 0 || code >= 16)
		return;
	if (env.kind != U_MODULE) {
		t_skip("fork-lazy-child-not-tracked-at-fork", "no module");
		t_skip("fork-lazy-child-tracked-by-protect", "no module");
	} else {
		T_CHECK("fork-lazy-child-not-tracked-at-fork", !(code & C_EAGER),
			"tracked before any hole could exist");
		T_CHECK("fork-lazy-child-tracked-by-protect", !(code & C_UNTRACKED),
			"not tracked after holes were protected");
	}
	T_CHECK("fork-lazy-child-content", !(code & C_CONTENT), "a byte was wrong");
	T_CHECK("fork-lazy-child-messages", wp0 == 1 && !other,
		"%d WP writes to hole 0, %d other messages (want 1, 0)", wp0, other);
	close(cfd);
	close(uffd);
}

/*
 * fork-plain: without EVENT_FORK the child's range is not registered and
 * its holes are plain holes: nothing there needs the module, so the child
 * is not tracked (no notifier registration per fork).
 */
static void t_fork_plain(void)
{
	int uffd, code;
	pid_t pid;
	char *p;

	u_current = "fork-plain";
	uffd = uffd_new(UFFD_FEATURE_WP_UNPOPULATED);
	p = map_anon(N * PAGE);
	if (uffd < 0 || !p || uffd_register_wp(uffd, p, N * PAGE) ||
	    uffd_wp(uffd, p, N * PAGE, 1)) {
		t_fail("fork-plain", "setup: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		code = tracked() == 1 ? C_EAGER : 0;
		p[0] = 0x71;
		if (p[0] != 0x71 || p[PAGE] != 0)
			code |= C_CONTENT;
		_exit(code);
	}
	code = u_wait_child(pid, 20000);
	T_CHECK("fork-plain-child", code >= 0 && code < 16, "child status %d", code);
	if (code < 0 || code >= 16)
		return;
	if (env.kind != U_MODULE)
		t_skip("fork-plain-child-not-tracked", "no module");
	else
		T_CHECK("fork-plain-child-not-tracked", !(code & C_EAGER),
			"a child without registered ranges pins the module");
	T_CHECK("fork-plain-child-content", !(code & C_CONTENT), "a byte was wrong");
	close(uffd);
}

/*
 * fork-async: a WP_ASYNC context with EVENT_FORK, nothing protected yet.
 * With the module, transparent mode is then switched off: the child, whose
 * context has the feature, still gets PAGEMAP_SCAN on its own pagemap (as
 * on 6.7+), so it must be tracked although it holds no hole.
 */
#define TRANSPARENT UFFD_WPU_SYSFS_DIR "/transparent"

static void t_fork_async(void)
{
	uint64_t f = UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_WP_ASYNC;
	int module = env.kind == U_MODULE, uffd, cfd, code;
	struct uh h;
	pid_t pid;
	char *p;

	u_current = "fork-async";
	uffd = uffd_new(f);
	p = map_anon(N * PAGE);
	if (uffd < 0 || !p || uffd_register_wp(uffd, p, N * PAGE) ||
	    uh_start(&h, uffd, 1, UH_MISSING_NONE)) {
		t_fail("fork-async", "setup: uffd %d: %s", uffd, strerror(errno));
		return;
	}
	if (module && u_write_file(TRANSPARENT, "0")) {
		t_skip("fork-async", "cannot write %s", TRANSPARENT);
		uh_stop(&h);
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		struct page_region v[4];
		int pm = pm_open(0);
		long n = pm < 0 ? pm : pm_scan(pm, p, p + N * PAGE, 0, v, 4, 0,
					       PAGE_IS_WPALLOWED,
					       PAGE_IS_WPALLOWED, NULL);

		code = tracked() == 0 ? C_UNTRACKED : 0;
		if (n != 1)
			code |= C_CONTENT;
		_exit(code);
	}
	cfd = pid < 0 ? -1 : fork_event_fd(&h);
	code = pid < 0 ? -1 : u_wait_child(pid, 20000);
	if (module)
		u_write_file(TRANSPARENT, "1");
	uh_stop(&h);
	T_CHECK("fork-async", cfd >= 0 && code >= 0 && code < 16,
		"child uffd %d, child status %d", cfd, code);
	if (cfd < 0 || code < 0 || code >= 16)
		return;
	if (!module)
		t_skip("fork-async-child-tracked", "no module");
	else
		T_CHECK("fork-async-child-tracked", !(code & C_UNTRACKED),
			"a child with a WP_ASYNC context does not pin the module");
	T_CHECK("fork-async-child-scan", !(code & C_CONTENT),
		"PAGEMAP_SCAN of the child's own range did not give one WPALLOWED range");
	close(cfd);
	close(uffd);
}

/* Sequence (a), then the next notifier registration (the child's) fails. */
static int setup_a_eintr(const char *name, char **pp)
{
	int uffd = setup_a(name, pp);

	if (uffd >= 0 && u_write_file(FAIL_TRACK, "1")) {
		t_fail(name, "cannot write %s", FAIL_TRACK);
		return -1;
	}
	return uffd;
}

/* fork-eintr: tracking the child at fork gets EINTR, a worker does it. */
static void t_fork_eintr(void)
{
	char left[16];

	if (env.kind != U_MODULE) {
		t_skip("fork-eintr", "no module");
		return;
	}
	if (u_write_file(FAIL_TRACK, "0")) {
		t_skip("fork-eintr", "no %s (not root?)", FAIL_TRACK);
		return;
	}
	fork_wp("fork-eintr", setup_a_eintr);
	/* the child's registration, and only it, met the injected EINTR */
	if (u_read_file(FAIL_TRACK, left, sizeof(left)))
		left[0] = '?';
	T_CHECK("fork-eintr-injected", left[0] == '0', "fail_track still %c", left[0]);
	u_write_file(FAIL_TRACK, "0");
}

/* What a write to hole i of p gives: 'M'issing, 'W'p, '-' silent, '?'. */
static char write_kind(int uffd, char *p, int i, char val)
{
	struct uffd_msg m;
	int n = access_and_watch(uffd, p + i * PAGE, ACC_WRITE, val, 300, &m,
				 NULL, NULL);

	if (n < 0 || p[i * PAGE] != val)
		return '?';
	if (n == 0)
		return '-';
	if (m.event != UFFD_EVENT_PAGEFAULT ||
	    m.arg.pagefault.address != (uintptr_t)(p + i * PAGE))
		return '?';
	return (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) ? 'W' : 'M';
}

/*
 * Holes left behind by a MISSING-only re-registration and an unregister:
 * MISSING faults, then silence; a new WP registration protects them again.
 */
static void t_stale(void)
{
	int a, b;
	char k, *p;

	u_current = "stale";
	a = uffd_new(UFFD_FEATURE_WP_UNPOPULATED);
	p = map_anon(N * PAGE);
	if (a < 0 || !p || uffd_register_wp(a, p, N * PAGE) ||
	    uffd_wp(a, p, N * PAGE, 1) ||
	    uffd_register(a, p, N * PAGE, UFFDIO_REGISTER_MODE_MISSING)) {
		t_fail("stale", "setup: %s", strerror(errno));
		return;
	}
	k = write_kind(a, p, 0, 0x31);
	T_CHECK("stale-missing-write", k == 'M', "got '%c', want a MISSING fault", k);
	madvise(p + PAGE, PAGE, MADV_DONTNEED);
	k = write_kind(a, p, 1, 0x32);
	T_CHECK("stale-missing-dontneed-write", k == 'M',
		"got '%c', want a MISSING fault", k);
	if (uffd_unregister(a, p, N * PAGE)) {
		t_fail("stale-unregister", "%s", strerror(errno));
		return;
	}
	/* pure reads and writes of the process itself: a SIGBUS kills us */
	T_CHECK("stale-unregistered-read", p[2 * PAGE] == 0, "read %d", p[2 * PAGE]);
	p[2 * PAGE] = 0x33;
	T_CHECK("stale-unregistered-write", p[2 * PAGE] == 0x33, "write lost");
	/* B (no bit 13) registers WP: the last untouched hole is protected */
	b = uffd_new(0);
	if (b < 0 || uffd_register_wp(b, p, N * PAGE)) {
		t_fail("stale-reregister", "%s", strerror(errno));
		return;
	}
	k = write_kind(b, p, 3, 0x34);
	if (env.zeropage)
		t_skip("stale-reregister-write",
		       "zero-page backend: MISSING registration made the hole none (got '%c')", k);
	else
		T_CHECK("stale-reregister-write", k == 'W', "got '%c', want a WP fault", k);
	close(b);
	close(a);
}

/* fork-b also checks the parent: B's registration protects A's holes. */
static void t_fork_b_parent(void)
{
	char k, *p;
	int b;

	u_current = "fork-b-parent";
	b = setup_b("fork-b-parent", &p);
	if (b < 0)
		return;
	k = write_kind(b, p, 0, 0x41);
	if (env.zeropage)
		t_skip("fork-b-parent-write",
		       "zero-page backend: MISSING registration made the hole none (got '%c')", k);
	else
		T_CHECK("fork-b-parent-write", k == 'W', "got '%c', want a WP fault", k);
	close(b);
}

/* fork-stale, in the process that exits before the child goes on. */
static int stale_parent(int go_rd)
{
	struct uffdio_register r;
	struct uh h;
	int uffd, cfd;
	pid_t pid;
	char *p;

	uffd = setup_a("fork-stale", &p);
	if (uffd < 0 || uh_start(&h, uffd, 1, UH_MISSING_NONE))
		return 1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		int code = tracked() == 0 ? C_UNTRACKED : 0;
		char c;

		/* wait until the parent is gone (and rmmod was tried) */
		if (read(go_rd, &c, 1) != 1)
			_exit(64);
		if (p[0] != 0 || p[PAGE] != 0)
			code |= C_CONTENT;
		p[0] = 0x51;
		madvise(p + 2 * PAGE, PAGE, MADV_DONTNEED);
		p[2 * PAGE] = 0x52;
		if (p[0] != 0x51 || p[2 * PAGE] != 0x52)
			code |= C_CONTENT;
		_exit(code);
	}
	cfd = pid < 0 ? -1 : fork_event_fd(&h);
	if (cfd < 0)
		return 2;
	/* through the child's context: its range drops WP, keeps the holes */
	memset(&r, 0, sizeof(r));
	r.range.start = (uintptr_t)p;
	r.range.len = N * PAGE;
	r.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(cfd, UFFDIO_REGISTER, &r))
		return 3;
	close(cfd);
	uh_stop(&h);
	return 0;
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static void t_fork_stale(int hold)
{
	int go[2], st, code;
	pid_t s, c;

	u_current = "fork-stale";
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || pipe(go)) {
		t_fail("fork-stale", "setup: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	fflush(stderr);
	s = fork();
	if (s == 0) {
		close(go[1]);
		_exit(stale_parent(go[0]));
	}
	close(go[0]);
	if (s < 0 || waitpid(s, &st, 0) != s || !WIFEXITED(st) ||
	    WEXITSTATUS(st)) {
		t_fail("fork-stale", "parent failed (status %#x)", st);
		close(go[1]);
		return;
	}
	t_pass("fork-stale");
	if (hold) {
		/* the parent is gone: 15-fork-pin.sh tries rmmod now */
		sigset_t usr1, old;
		int fd;

		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		sigprocmask(SIG_BLOCK, &usr1, &old);
		signal(SIGUSR1, on_usr1);
		fd = open(HELD_FILE, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			t_fail("fork-stale-hold", "cannot create " HELD_FILE);
		else
			close(fd);
		while (fd >= 0 && !got_usr1)
			sigsuspend(&old);
		sigprocmask(SIG_SETMASK, &old, NULL);
		unlink(HELD_FILE);
	}
	if (write(go[1], "g", 1) != 1)
		t_fail("fork-stale-go", "%s", strerror(errno));
	close(go[1]);
	/* the child is ours (subreaper) now that its parent exited */
	c = waitpid(-1, &st, 0);
	code = c > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	T_CHECK("fork-stale-child", code >= 0 && code < 8,
		"child %s %d", code < 0 ? "killed by signal" : "exit",
		code < 0 && c > 0 ? WTERMSIG(st) : code);
	if (code < 0 || code >= 8)
		return;
	if (env.kind != U_MODULE)
		t_skip("fork-stale-child-tracked", "no module");
	else
		T_CHECK("fork-stale-child-tracked", !(code & C_UNTRACKED),
			"the child does not pin the module");
	T_CHECK("fork-stale-child-content", !(code & C_CONTENT),
		"a byte was wrong in the child");
}

/* Each case in its own process: opt-in and tracking start afresh. */
static void run(void (*fn)(void))
{
	pid_t pid;
	int st;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		fn();
		fflush(stdout);
		_exit(t_exit());
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st))
		t_failed = 1;
}

static void t_fork_a(void)
{
	fork_wp("fork-a", setup_a);
}

static void t_fork_b(void)
{
	fork_wp("fork-b", setup_b);
}

/*
 * --fork-block: an EVENT_FORK context without bit 13 (nothing tracked)
 * and a fork whose event nobody reads, so that it sleeps in fork until the
 * process is killed.  15-fork-pin.sh unloads the module meanwhile: such a
 * fork must not be inside module code.
 */
static int fork_block(void)
{
	int uffd = uffd_new(UFFD_FEATURE_EVENT_FORK);
	char *p = map_anon(PAGE);

	if (uffd < 0 || !p || uffd_register(uffd, p, PAGE,
					    UFFDIO_REGISTER_MODE_MISSING)) {
		fprintf(stderr, "fork-block: setup: uffd %d: %s\n", uffd,
			strerror(errno));
		return 1;
	}
	fflush(stdout);
	fflush(stderr);
	if (fork() == 0)
		_exit(0);
	return 0;
}

int main(int argc, char **argv)
{
	int hold = argc > 1 && !strcmp(argv[1], "--hold");

	if (argc > 1 && !strcmp(argv[1], "--fork-block"))
		return fork_block();

	t_prog = hold ? "wp_fork_track-hold" : "wp_fork_track";
	env = u_env_get();
	if (!env.holes) {
		t_skip("all", NO_HOLES_REASON);
		return 0;
	}
	u_watchdog(120);
	if (!hold) {
		run(t_fork_a);
		run(t_fork_b);
		run(t_fork_b_parent);
		run(t_fork_lazy);
		run(t_fork_plain);
		run(t_fork_async);
		run(t_fork_eintr);
		run(t_stale);
	}
	/* in this process: it must not pin the module itself */
	t_fork_stale(hold);
	return t_exit();
}
