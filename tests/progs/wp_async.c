// SPDX-License-Identifier: GPL-2.0
/*
 * wp_async: UFFD_FEATURE_WP_ASYNC semantics on private anonymous memory.
 *
 * Native 6.7+ (reference; Debian 6.12 here):
 *  - UFFDIO_API with WP_ASYNC succeeds; the features it reports include
 *    WP_ASYNC and WP_UNPOPULATED, and WP_ASYNC implies WP_UNPOPULATED: a
 *    never-touched page protected in a context that asked only for
 *    WP_ASYNC gets the uffd-wp bit (pagemap bit 57);
 *  - in an async context a write to a protected present page, protected
 *    hole, protected THP or protected swapped-out page is resolved in the
 *    kernel: it completes, nothing is queued (read() of the O_NONBLOCK
 *    userfaultfd fails with EAGAIN), the data lands and bit 57 is cleared
 *    on exactly the written 4 KiB page (a protected THP is split);
 *  - reads clear nothing; with MISSING|WP, missing faults still send
 *    messages (a write to a protected hole first faults as missing);
 *  - a synchronous context of the same process still gets its messages;
 *  - fork without EVENT_FORK: the child's copy is not protected, its
 *    writes complete; the parent keeps its protection; with EVENT_FORK the
 *    child's context is async as well: its copy stays protected and its
 *    writes complete without a message;
 *  - writes by the kernel for the process (read(2) into the buffer,
 *    MADV_POPULATE_WRITE, /proc/self/mem) complete as well;
 *  - mprotect RO and back keeps the protection;
 *  - MADV_DONTNEED drops the protection of anonymous pages;
 *  - mremap: without EVENT_REMAP the protection is dropped at the new
 *    address; with EVENT_REMAP it moves with the pages;
 *  - UFFDIO_WRITEPROTECT unprotect/reprotect cycles and concurrent
 *    re-protection while threads write; UFFDIO_WRITEPROTECT of a range of
 *    several VMAs protects them all (6.5+);
 * Kernels without WP_ASYNC (stock 5.10/6.1, or the module without its
 * async part): UFFDIO_API fails with EINVAL, one SKIP line.
 */
#include "uffd_util.h"

#include <sys/wait.h>

static struct u_env env;

#define ASYNC	UFFD_FEATURE_WP_ASYNC

/* One check: pagemap bit 57 of @addr is @want_wp (SKIP without bit 57). */
#define pm_check(name, addr, want_wp) u_pm_check(&env, name, addr, want_wp)

/* "<pfx>-<suffix>" in one of 4 static buffers, used in turn. */
static const char *nm(const char *pfx, const char *suffix)
{
	static char bufs[4][128];
	static int i;
	char *b = bufs[i++ & 3];

	snprintf(b, sizeof(bufs[0]), "%s-%s", pfx, suffix);
	return b;
}

/* read() of the O_NONBLOCK userfaultfd: 0 if EAGAIN (nothing queued). */
static int queue_empty(int uffd, char *why, size_t len)
{
	struct uffd_msg m;
	ssize_t n = read(uffd, &m, sizeof(m));

	if (n < 0 && errno == EAGAIN)
		return 1;
	if (n == (ssize_t)sizeof(m))
		msg_str(&m, why, len);
	else
		snprintf(why, len, "read returned %zd (%s)", n,
			 n < 0 ? strerror(errno) : "short");
	return 0;
}

/*
 * A write of val to addr from another thread in an async context: checks
 * "<pfx>-silent" (no message while it ran, the writer finished, the queue
 * is empty after it), "<pfx>-lands" (the byte is there).
 */
static void async_write(const char *pfx, int uffd, char *addr, char val)
{
	struct uffd_msg m;
	char buf[160] = "";
	int n = access_and_watch(uffd, addr, ACC_WRITE, val, 200, &m, NULL, NULL);
	int empty = n == 0 ? queue_empty(uffd, buf, sizeof(buf)) : 0;

	if (n > 0)
		msg_str(&m, buf, sizeof(buf));
	T_CHECK(nm(pfx, "silent"), n == 0 && empty,
		"%s: %s", n < 0 ? "writer never finished" :
		n > 0 ? "message queued" : "queue not empty after the write", buf);
	T_CHECK(nm(pfx, "lands"), *addr == val, "byte %#x, want %#x",
		(unsigned char)*addr, (unsigned char)val);
}

/*
 * Bit 57 over npages pages at p: set on every page except those with
 * clear[i] != 0.  One check.  Returns 1 if it matched.
 */
static int pm_expect(const char *name, char *p, size_t npages, const char *clear)
{
	size_t i;

	if (!env.pm_uffd_wp) {
		t_skip(name, NO_PM_REASON);
		return 0;
	}
	for (i = 0; i < npages; i++) {
		uint64_t e = pagemap(p + i * PAGE);
		int want = !(clear && clear[i]);

		if (e == ~0ULL || !!(e & PM_UFFD_WP) != want) {
			t_fail(name, "page %zu of %zu: pagemap %#llx, want bit 57 %s",
			       i, npages, (unsigned long long)e, want ? "set" : "clear");
			return 0;
		}
	}
	t_pass(name);
	return 1;
}

struct ax {
	int uffd;
	char *p;
	size_t len;
};

/* An async context with p (len bytes, map_anon) registered for WP. */
static int ax_new(struct ax *a, const char *name, size_t len, uint64_t features)
{
	a->len = len;
	a->uffd = uffd_new(features);
	a->p = map_anon(len);
	if (a->uffd < 0 || !a->p) {
		t_fail(name, "setup: uffd %s, mmap %p", strerror(-a->uffd), (void *)a->p);
		return -1;
	}
	if (uffd_register_wp(a->uffd, a->p, len)) {
		t_fail(name, "setup: register: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void ax_del(struct ax *a)
{
	if (a->uffd >= 0)
		close(a->uffd);
	if (a->p)
		munmap(a->p, a->len);
}

/* ---- the checks --------------------------------------------------------- */

static void t_api(void)
{
	uint64_t out = 0;
	int fd = uffd_open(), r;
	char *p;

	u_current = "api";
	r = fd < 0 ? fd : uffd_api(fd, ASYNC, &out);
	T_CHECK("api-granted", r == 0, "UFFDIO_API(WP_ASYNC): %s", strerror(-r));
	T_CHECK("api-reports-async", r == 0 && (out & ASYNC),
		"features %#llx", (unsigned long long)out);
	T_CHECK("api-reports-wp-unpopulated", r == 0 && (out & UFFD_FEATURE_WP_UNPOPULATED),
		"features %#llx", (unsigned long long)out);
	if (r) {
		if (fd >= 0)
			close(fd);
		return;
	}
	/* async implies WP_UNPOPULATED: protecting a hole protects it */
	p = map_anon(2 * PAGE);
	if (!p || uffd_register_wp(fd, p, 2 * PAGE) || uffd_wp(fd, p, 2 * PAGE, 1)) {
		t_fail("api-implies-wp-unpopulated", "setup: %s", strerror(errno));
	} else {
		pm_check("api-implies-wp-unpopulated", p + PAGE, 1);
		munmap(p, 2 * PAGE);
	}
	close(fd);

	/* asking for both explicitly is fine too */
	fd = uffd_new(ASYNC | UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_THREAD_ID);
	T_CHECK("api-async-with-unpopulated", fd >= 0, "UFFDIO_API: %s", strerror(-fd));
	if (fd >= 0)
		close(fd);
}

static void t_present(void)
{
	enum { N = 4 };
	char clear[N] = { 0 };
	struct ax a;
	int i;

	u_current = "present";
	if (ax_new(&a, "present", N * PAGE, ASYNC))
		return;
	for (i = 0; i < N; i++)
		a.p[i * PAGE] = (char)(0x10 + i);
	T_CHECK("present-protect", uffd_wp(a.uffd, a.p, a.len, 1) == 0,
		"UFFDIO_WRITEPROTECT: %s", strerror(errno));
	pm_expect("present-protected-wp", a.p, N, NULL);
	async_write("present-write", a.uffd, a.p + PAGE + 100, 0x55);
	clear[1] = 1;
	pm_expect("present-write-clears-only-that-page", a.p, N, clear);
	T_CHECK("present-contents", a.p[0] == 0x10 && a.p[PAGE] == 0x11 &&
		a.p[2 * PAGE] == 0x12 && a.p[3 * PAGE] == 0x13, "contents differ");
	/* the written page is writable now, a second write is silent as well */
	async_write("present-rewrite", a.uffd, a.p + PAGE + 101, 0x56);
	ax_del(&a);
}

static void t_hole(void)
{
	enum { N = 4 };
	char clear[N] = { 0 };
	struct ax a;
	int i, ok = 1;

	u_current = "hole";
	if (ax_new(&a, "hole", N * PAGE, ASYNC))
		return;
	T_CHECK("hole-protect", uffd_wp(a.uffd, a.p, a.len, 1) == 0,
		"UFFDIO_WRITEPROTECT: %s", strerror(errno));
	pm_expect("hole-protected-wp", a.p, N, NULL);
	async_write("hole-write", a.uffd, a.p + 2 * PAGE + 7, 0x66);
	clear[2] = 1;
	pm_expect("hole-write-clears-only-that-page", a.p, N, clear);
	for (i = 0; i < (int)PAGE; i++)
		if (a.p[2 * PAGE + i] != (i == 7 ? 0x66 : 0))
			ok = 0;
	T_CHECK("hole-page-content", ok, "the written hole holds more than the byte");
	ax_del(&a);
}

static void t_read(void)
{
	enum { N = 3 };
	struct uffd_msg m;
	char buf[160] = "";
	struct ax a;
	int n1, n2;

	u_current = "read";
	if (ax_new(&a, "read", N * PAGE, ASYNC))
		return;
	a.p[0] = 0x21;		/* page 0 present, pages 1 and 2 holes */
	if (uffd_wp(a.uffd, a.p, a.len, 1)) {
		t_fail("read", "protect: %s", strerror(errno));
		return;
	}
	n1 = access_and_watch(a.uffd, a.p, ACC_READ, 0, 200, &m, NULL, NULL);
	n2 = access_and_watch(a.uffd, a.p + PAGE, ACC_READ, 0, 200, &m, NULL, NULL);
	if (n1 > 0 || n2 > 0)
		msg_str(&m, buf, sizeof(buf));
	T_CHECK("read-silent", n1 == 0 && n2 == 0, "n=%d,%d %s", n1, n2, buf);
	T_CHECK("read-values", a.p[0] == 0x21 && a.p[PAGE] == 0, "read %#x %#x",
		(unsigned char)a.p[0], (unsigned char)a.p[PAGE]);
	pm_expect("read-keeps-wp", a.p, N, NULL);
	/* a read hole (now the zero page, protected) is written silently */
	async_write("read-then-write-hole", a.uffd, a.p + PAGE, 0x22);
	{
		char clear[N] = { 0, 1, 0 };

		pm_expect("read-then-write-clears-only-that-page", a.p, N, clear);
	}
	ax_del(&a);
}

/* u_map_thp() fill: each page's first byte is its index */
static void fill_page_index(char *p, int unused)
{
	size_t i;

	(void)unused;
	for (i = 0; i < HPAGE / PAGE; i++)
		p[i * PAGE] = (char)i;
}

static void t_thp(void)
{
	enum { NP = HPAGE / PAGE, W = 7 };
	char mode[128] = "", *p, *clear;
	int uffd, i, ok = 1;
	long kb;

	u_current = "thp";
	u_read_file("/sys/kernel/mm/transparent_hugepage/enabled", mode, sizeof(mode));
	if (!mode[0] || strstr(mode, "[never]")) {
		t_skip("thp", "THP unavailable (enabled: '%s')", mode);
		return;
	}
	uffd = uffd_new(ASYNC);
	p = u_map_thp(fill_page_index, 0, &kb);
	if (!p || uffd < 0) {
		t_fail("thp", "setup: %s", strerror(errno));
		if (uffd >= 0)
			close(uffd);
		return;
	}
	if (kb < 2048) {
		t_skip("thp", "no THP in the region (AnonHugePages %ld kB)", kb);
		close(uffd);
		munmap(p, HPAGE);
		return;
	}
	if (uffd_register_wp(uffd, p, HPAGE) || uffd_wp(uffd, p, HPAGE, 1)) {
		t_fail("thp", "register/protect: %s", strerror(errno));
		return;
	}
	t_pass("thp");
	pm_expect("thp-protected-wp", p, NP, NULL);
	async_write("thp-write", uffd, p + W * PAGE + 9, 0x77);
	clear = calloc(NP, 1);
	clear[W] = 1;
	pm_expect("thp-write-clears-only-that-4k-page", p, NP, clear);
	for (i = 0; i < NP; i++)
		if (p[i * PAGE] != (char)i)
			ok = 0;
	T_CHECK("thp-contents", ok && p[W * PAGE + 9] == 0x77, "contents differ");
	/* a second page of the (split) THP */
	async_write("thp-write-2", uffd, p + (NP - 1) * PAGE, 0x78);
	clear[NP - 1] = 1;
	pm_expect("thp-write-2-clears-only-that-4k-page", p, NP, clear);
	free(clear);
	close(uffd);
	munmap(p, HPAGE);
}

static void t_swap(void)
{
	enum { N = 4 };
	char clear[N] = { 0 };
	struct ax a;
	uint64_t e;
	int r, i;

	u_current = "swap";
	if (ax_new(&a, "swap", N * PAGE, ASYNC))
		return;
	for (i = 0; i < N; i++)
		a.p[i * PAGE + 1] = (char)(0x40 + i);
	/* pages 0, 1: protected, then swapped out; 2, 3: swapped, then protected */
	if (uffd_wp(a.uffd, a.p, 2 * PAGE, 1)) {
		t_fail("swap", "protect: %s", strerror(errno));
		return;
	}
	r = madvise(a.p, a.len, MADV_PAGEOUT);
	e = pagemap(a.p);
	if (r || e == ~0ULL || !(e & PM_SWAP) || !(pagemap(a.p + 2 * PAGE) & PM_SWAP)) {
		t_skip("swap", "pages not swapped out (MADV_PAGEOUT %s, pagemap %#llx)",
		       r ? strerror(errno) : "ok", (unsigned long long)e);
		ax_del(&a);
		return;
	}
	if (uffd_wp(a.uffd, a.p + 2 * PAGE, 2 * PAGE, 1)) {
		t_fail("swap", "protect swapped pages: %s", strerror(errno));
		return;
	}
	t_pass("swap");
	pm_expect("swap-protected-wp", a.p, N, NULL);
	async_write("swap-write-protected-then-swapped", a.uffd, a.p + PAGE + 2, 0x31);
	async_write("swap-write-swapped-then-protected", a.uffd, a.p + 3 * PAGE + 2, 0x32);
	clear[1] = clear[3] = 1;
	pm_expect("swap-write-clears-only-those-pages", a.p, N, clear);
	T_CHECK("swap-contents", a.p[1] == 0x40 && a.p[PAGE + 1] == 0x41 &&
		a.p[2 * PAGE + 1] == 0x42 && a.p[3 * PAGE + 1] == 0x43,
		"contents differ");
	ax_del(&a);
}

static void t_sync_and_async(void)
{
	struct uffd_msg m;
	char buf[160] = "";
	struct ax as, sy;
	int n;

	u_current = "sync-async";
	if (ax_new(&as, "mixed", 2 * PAGE, ASYNC) ||
	    ax_new(&sy, "mixed", 2 * PAGE, UFFD_FEATURE_WP_UNPOPULATED))
		return;
	as.p[0] = 1;
	sy.p[0] = 2;
	if (uffd_wp(as.uffd, as.p, as.len, 1) || uffd_wp(sy.uffd, sy.p, sy.len, 1)) {
		t_fail("mixed", "protect: %s", strerror(errno));
		return;
	}
	n = access_and_watch(sy.uffd, sy.p, ACC_WRITE, 0x12, 10000, &m, NULL, NULL);
	T_CHECK("mixed-sync-present-faults", n == 1 && msg_is_wp_write(&m, sy.p),
		"n=%d %s", n, n > 0 ? msg_str(&m, buf, sizeof(buf)) : "");
	n = access_and_watch(sy.uffd, sy.p + PAGE, ACC_WRITE, 0x13, 10000, &m, NULL, NULL);
	T_CHECK("mixed-sync-hole-faults", n == 1 && msg_is_wp_write(&m, sy.p + PAGE),
		"n=%d %s", n, n > 0 ? msg_str(&m, buf, sizeof(buf)) : "");
	async_write("mixed-async-present", as.uffd, as.p, 0x14);
	async_write("mixed-async-hole", as.uffd, as.p + PAGE, 0x15);
	T_CHECK("mixed-sync-queue-empty", queue_empty(sy.uffd, buf, sizeof(buf)),
		"sync context has a stray message: %s", buf);
	T_CHECK("mixed-contents", sy.p[0] == 0x12 && sy.p[PAGE] == 0x13,
		"sync contents %#x %#x", (unsigned char)sy.p[0], (unsigned char)sy.p[PAGE]);
	ax_del(&as);
	ax_del(&sy);
}

static void t_fork(void)
{
	enum { N = 4 };
	struct ax a;
	pid_t pid;
	int code, i;

	u_current = "fork";
	if (ax_new(&a, "fork", N * PAGE, ASYNC))
		return;
	a.p[0] = 0x01;		/* 0, 1 present; 2, 3 holes */
	a.p[PAGE] = 0x02;
	if (uffd_wp(a.uffd, a.p, a.len, 1)) {
		t_fail("fork", "protect: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		int c = 0;

		alarm(20);
		/* bit 1: child's copy still protected; bit 2: a write lost */
		for (i = 0; i < N; i++)
			if (env.pm_uffd_wp && pm_wp(a.p + i * PAGE))
				c |= 1;
		for (i = 0; i < N; i++)
			a.p[i * PAGE + 3] = (char)(0x60 + i);
		for (i = 0; i < N; i++)
			if (a.p[i * PAGE + 3] != (char)(0x60 + i))
				c |= 2;
		if (a.p[0] != 0x01 || a.p[PAGE] != 0x02)
			c |= 2;
		_exit(c);
	}
	if (pid < 0) {
		t_fail("fork", "fork: %s", strerror(errno));
		return;
	}
	code = u_wait_child(pid, 30000);
	T_CHECK("fork-child-writes-complete", code >= 0 && code < 64,
		"child %s (status %d)", code < 0 ? "hung and was killed" : "died", code);
	if (!env.pm_uffd_wp)
		t_skip("fork-child-not-wp", NO_PM_REASON);
	else
		T_CHECK("fork-child-not-wp", code >= 0 && !(code & 1),
			"child's copy has bit 57 (status %d)", code);
	T_CHECK("fork-child-writes-land", code >= 0 && !(code & 2), "status %d", code);
	pm_expect("fork-parent-keeps-wp", a.p, N, NULL);
	T_CHECK("fork-parent-contents", a.p[0] == 0x01 && a.p[PAGE] == 0x02 &&
		a.p[3] == 0 && a.p[2 * PAGE + 3] == 0, "child's writes seen in the parent");
	async_write("fork-parent-write-shared", a.uffd, a.p + 5, 0x03);
	async_write("fork-parent-write-hole", a.uffd, a.p + 3 * PAGE + 5, 0x04);
	{
		char clear[N] = { 1, 0, 0, 1 };

		pm_expect("fork-parent-write-clears-only-those", a.p, N, clear);
	}
	ax_del(&a);
}

static void t_dontneed(void)
{
	enum { N = 4 };
	char clear[N] = { 0 };
	struct ax a;
	int r;

	u_current = "dontneed";
	if (ax_new(&a, "dontneed", N * PAGE, ASYNC))
		return;
	a.p[0] = 0x01;
	a.p[PAGE] = 0x02;
	if (uffd_wp(a.uffd, a.p, a.len, 1)) {
		t_fail("dontneed", "protect: %s", strerror(errno));
		return;
	}
	/* page 0 present, page 2 a hole: both lose their protection */
	r = madvise(a.p, PAGE, MADV_DONTNEED) || madvise(a.p + 2 * PAGE, PAGE, MADV_DONTNEED);
	T_CHECK("dontneed", r == 0, "MADV_DONTNEED: %s", strerror(errno));
	clear[0] = clear[2] = 1;
	pm_expect("dontneed-drops-wp", a.p, N, clear);
	async_write("dontneed-write-present", a.uffd, a.p + 9, 0x33);
	async_write("dontneed-write-hole", a.uffd, a.p + 2 * PAGE + 9, 0x34);
	T_CHECK("dontneed-contents", a.p[0] == 0 && a.p[PAGE] == 0x02,
		"dropped page %#x, kept page %#x", (unsigned char)a.p[0],
		(unsigned char)a.p[PAGE]);
	/* the neighbours are still protected: written silently and cleared */
	async_write("dontneed-write-neighbour", a.uffd, a.p + PAGE + 9, 0x35);
	clear[1] = 1;
	pm_expect("dontneed-neighbour-cleared", a.p, N, clear);
	ax_del(&a);
}

/*
 * fork with EVENT_FORK: the parent reads UFFD_EVENT_FORK (fork() waits for
 * it, so a thread forks); the child's context is async too: its copy keeps
 * bit 57 and its writes complete silently, clearing exactly their pages.
 */
struct fork_thr {
	pthread_t th;
	char *p;
	pid_t pid;
};

static void *fork_fn(void *arg)
{
	struct fork_thr *t = arg;
	int i, c = 0;

	t->pid = fork();
	if (t->pid)
		return NULL;
	/* the child: bit 1 copy not protected, 2 write lost, 4 write cleared
	 * the wrong bits */
	alarm(20);
	for (i = 0; i < 4; i++)
		if (env.pm_uffd_wp && !pm_wp(t->p + i * PAGE))
			c |= 1;
	t->p[PAGE + 3] = 0x61;
	t->p[2 * PAGE + 3] = 0x62;
	if (t->p[PAGE + 3] != 0x61 || t->p[2 * PAGE + 3] != 0x62 || t->p[0] != 0x01)
		c |= 2;
	if (env.pm_uffd_wp && (!pm_wp(t->p) || pm_wp(t->p + PAGE) ||
			       pm_wp(t->p + 2 * PAGE) || !pm_wp(t->p + 3 * PAGE)))
		c |= 4;
	_exit(c);
}

static void t_fork_event(void)
{
	enum { N = 4 };
	struct fork_thr t;
	struct uffd_msg m;
	char buf[160] = "";
	struct ax a;
	int n, code, cfd = -1;

	u_current = "fork-event";
	if (ax_new(&a, "fork-event", N * PAGE, ASYNC | UFFD_FEATURE_EVENT_FORK))
		return;
	a.p[0] = 0x01;		/* 0, 1 present; 2, 3 holes */
	a.p[PAGE] = 0x02;
	if (uffd_wp(a.uffd, a.p, a.len, 1)) {
		t_fail("fork-event", "protect: %s", strerror(errno));
		return;
	}
	t.p = a.p;
	fflush(stdout);
	fflush(stderr);
	if (pthread_create(&t.th, NULL, fork_fn, &t)) {
		t_fail("fork-event", "thread");
		return;
	}
	n = uffd_read_msg(a.uffd, &m, 10000);
	pthread_join(t.th, NULL);
	if (n == 1 && m.event == UFFD_EVENT_FORK)
		cfd = (int)m.arg.fork.ufd;
	T_CHECK("fork-event-message", cfd >= 0, "n=%d %s", n,
		n == 1 ? msg_str(&m, buf, sizeof(buf)) : "");
	if (t.pid < 0) {
		t_fail("fork-event-child", "fork: %s", strerror(errno));
		return;
	}
	code = u_wait_child(t.pid, 30000);
	T_CHECK("fork-event-child-writes-complete", code >= 0 && code < 64,
		"child %s (status %d)", code < 0 ? "hung and was killed" : "died", code);
	if (!env.pm_uffd_wp) {
		t_skip("fork-event-child-copy-wp", NO_PM_REASON);
		t_skip("fork-event-child-write-clears-only-those", NO_PM_REASON);
	} else {
		T_CHECK("fork-event-child-copy-wp", code >= 0 && !(code & 1),
			"child's copy lost bit 57 (status %d)", code);
		T_CHECK("fork-event-child-write-clears-only-those", code >= 0 && !(code & 4),
			"child's bits after its writes wrong (status %d)", code);
	}
	T_CHECK("fork-event-child-writes-land", code >= 0 && !(code & 2), "status %d", code);
	if (cfd >= 0) {
		T_CHECK("fork-event-child-queue-empty", queue_empty(cfd, buf, sizeof(buf)),
			"the child's context has a message: %s", buf);
		close(cfd);
	}
	pm_expect("fork-event-parent-keeps-wp", a.p, N, NULL);
	T_CHECK("fork-event-parent-queue-empty", queue_empty(a.uffd, buf, sizeof(buf)),
		"%s", buf);
	ax_del(&a);
}

/*
 * Writes by the kernel on the process's behalf (get_user_pages / uaccess):
 * read(2) into a protected buffer, MADV_POPULATE_WRITE, a write through
 * /proc/self/mem.  Async: they complete, the data lands, the bits go.
 */
static void t_kernel_writes(void)
{
	enum { N = 6 };
	char clear[N] = { 0 }, buf[160] = "";
	int pfd[2], mfd, r;
	struct ax a;
	ssize_t n;

	u_current = "kernel-writes";
	if (ax_new(&a, "kernel-writes", N * PAGE, ASYNC))
		return;
	a.p[0] = 1;
	a.p[2 * PAGE] = 1;
	a.p[4 * PAGE] = 1;	/* even pages present, odd ones holes */
	if (uffd_wp(a.uffd, a.p, a.len, 1) || pipe(pfd)) {
		t_fail("kernel-writes", "setup: %s", strerror(errno));
		return;
	}
	/* read(2) into page 0 (present) and 1 (hole): copy_to_user */
	if (write(pfd[1], "abcdefgh", 8) != 8 || write(pfd[1], "ijklmnop", 8) != 8) {
		t_fail("kernel-writes", "pipe write");
		return;
	}
	n = read(pfd[0], a.p + 100, 8);
	r = read(pfd[0], a.p + PAGE + 100, 8) == 8;
	T_CHECK("read-syscall-into-protected", n == 8 && r &&
		!memcmp(a.p + 100, "abcdefgh", 8) && !memcmp(a.p + PAGE + 100, "ijklmnop", 8),
		"read %zd: data differs", n);
	/* MADV_POPULATE_WRITE of pages 2, 3 (5.14+) */
	r = madvise(a.p + 2 * PAGE, 2 * PAGE, MADV_POPULATE_WRITE);
	if (r && errno == EINVAL) {
		t_skip("populate-write-protected", "no MADV_POPULATE_WRITE");
	} else {
		T_CHECK("populate-write-protected", r == 0, "MADV_POPULATE_WRITE: %s",
			strerror(errno));
		clear[2] = clear[3] = !r;
	}
	/* /proc/self/mem into pages 4 (present) and 5 (hole): GUP with FOLL_FORCE */
	mfd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	r = mfd >= 0 && pwrite(mfd, "QRST", 4, (off_t)(uintptr_t)(a.p + 4 * PAGE + 8)) == 4 &&
	    pwrite(mfd, "UVWX", 4, (off_t)(uintptr_t)(a.p + 5 * PAGE + 8)) == 4;
	T_CHECK("proc-mem-write-protected", r && !memcmp(a.p + 4 * PAGE + 8, "QRST", 4) &&
		!memcmp(a.p + 5 * PAGE + 8, "UVWX", 4), "pwrite /proc/self/mem: %s",
		strerror(errno));
	if (mfd >= 0)
		close(mfd);
	T_CHECK("kernel-writes-silent", queue_empty(a.uffd, buf, sizeof(buf)), "%s", buf);
	clear[0] = clear[1] = 1;
	clear[4] = clear[5] = r;
	pm_expect("kernel-writes-clear-only-those", a.p, N, clear);
	close(pfd[0]);
	close(pfd[1]);
	ax_del(&a);
}

/* mprotect RO and back keeps the protection; the write afterwards is silent */
static void t_mprotect(void)
{
	enum { N = 2 };
	char clear[N] = { 0, 1 };
	struct ax a;
	int r;

	u_current = "mprotect";
	if (ax_new(&a, "mprotect", N * PAGE, ASYNC))
		return;
	a.p[0] = 1;
	if (uffd_wp(a.uffd, a.p, a.len, 1)) {
		t_fail("mprotect", "protect: %s", strerror(errno));
		return;
	}
	r = mprotect(a.p, a.len, PROT_READ) || mprotect(a.p, a.len, PROT_READ | PROT_WRITE);
	T_CHECK("mprotect", r == 0, "mprotect: %s", strerror(errno));
	pm_expect("mprotect-keeps-wp", a.p, N, NULL);
	async_write("mprotect-write-hole", a.uffd, a.p + PAGE, 0x71);
	pm_expect("mprotect-write-clears-only-that-page", a.p, N, clear);
	async_write("mprotect-write-present", a.uffd, a.p, 0x72);
	ax_del(&a);
}

/* Reserve len bytes of address space (PROT_NONE) as an mremap target. */
static char *reserve(size_t len)
{
	void *q = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return q == MAP_FAILED ? NULL : q;
}

struct remap_thr {
	pthread_t th;
	char *p, *q;
	size_t len;
	void *r;
};

static void *remap_fn(void *arg)
{
	struct remap_thr *t = arg;

	t->r = mremap(t->p, t->len, t->len, MREMAP_MAYMOVE | MREMAP_FIXED, t->q);
	return NULL;
}

static void t_mremap(int event)
{
	enum { N = 4 };
	const char *pfx = event ? "mremap-event" : "mremap-plain";
	char clear[N] = { 0 }, buf[160] = "";
	struct remap_thr t;
	struct uffd_msg m;
	struct ax a;
	int n;

	u_current = pfx;
	if (ax_new(&a, pfx, N * PAGE, ASYNC | (event ? UFFD_FEATURE_EVENT_REMAP : 0)))
		return;
	a.p[PAGE] = 0x19;	/* page 1 present, the others holes */
	t.q = reserve(a.len);
	if (!t.q || uffd_wp(a.uffd, a.p, a.len, 1)) {
		t_fail(pfx, "setup: %s", strerror(errno));
		return;
	}
	t.p = a.p;
	t.len = a.len;
	/* with EVENT_REMAP mremap waits until the event is read */
	if (pthread_create(&t.th, NULL, remap_fn, &t)) {
		t_fail(pfx, "thread");
		return;
	}
	n = uffd_read_msg(a.uffd, &m, event ? 10000 : 300);
	pthread_join(t.th, NULL);
	T_CHECK(pfx, t.r == t.q, "mremap: %p", t.r);
	if (t.r != t.q)
		return;
	a.p = t.q;
	if (event)
		T_CHECK(nm(pfx, "message"), n == 1 && m.event == UFFD_EVENT_REMAP &&
			m.arg.remap.to == (uintptr_t)t.q, "n=%d %s", n,
			n == 1 ? msg_str(&m, buf, sizeof(buf)) : "");
	else
		T_CHECK(nm(pfx, "no-message"), n == 0, "n=%d %s", n,
			n == 1 ? msg_str(&m, buf, sizeof(buf)) : "");
	if (event) {
		pm_expect(nm(pfx, "new-wp"), a.p, N, NULL);
	} else {
		memset(clear, 1, N);
		pm_expect(nm(pfx, "new-not-wp"), a.p, N, clear);
	}
	async_write(nm(pfx, "write-present"), a.uffd, a.p + PAGE + 1, 0x41);
	async_write(nm(pfx, "write-hole"), a.uffd, a.p + 2 * PAGE + 1, 0x42);
	if (event) {
		memset(clear, 0, N);
		clear[1] = clear[2] = 1;
		pm_expect(nm(pfx, "write-clears-only-those"), a.p, N, clear);
	}
	T_CHECK(nm(pfx, "contents"), a.p[PAGE] == 0x19 && a.p[0] == 0,
		"contents differ");
	ax_del(&a);
}

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	return u_xorshift32(&rnd_state);
}

static void t_cycles(void)
{
	enum { N = 64, CYCLES = 20 };
	char clear[N], none[N];
	struct ax a;
	int c, i, bad = 0, silent = 1;
	char why[200] = "";

	u_current = "cycles";
	if (ax_new(&a, "cycles", N * PAGE, ASYNC))
		return;
	for (i = 0; i < N; i += 2)
		a.p[i * PAGE] = 1;	/* even pages present, odd ones holes */
	memset(none, 1, N);
	for (c = 0; c < CYCLES && !bad; c++) {
		if (uffd_wp(a.uffd, a.p, a.len, 1)) {
			snprintf(why, sizeof(why), "cycle %d: protect: %s", c, strerror(errno));
			bad = 1;
			break;
		}
		memset(clear, 0, N);
		for (i = 0; i < 8; i++) {
			int pg = (int)(rnd() % N);

			a.p[pg * PAGE + c] = (char)c;	/* async: no handler needed */
			clear[pg] = 1;
		}
		for (i = 0; i < N; i++) {
			uint64_t e = pagemap(a.p + i * PAGE);

			if (env.pm_uffd_wp && (e == ~0ULL || !!(e & PM_UFFD_WP) == clear[i])) {
				snprintf(why, sizeof(why), "cycle %d page %d: pagemap %#llx, want bit 57 %s",
					 c, i, (unsigned long long)e, clear[i] ? "clear" : "set");
				bad = 1;
				break;
			}
		}
		if (!queue_empty(a.uffd, why, sizeof(why)))
			silent = 0;
		if (bad)
			break;
		if (uffd_wp(a.uffd, a.p, a.len, 0)) {
			snprintf(why, sizeof(why), "cycle %d: unprotect: %s", c, strerror(errno));
			bad = 1;
			break;
		}
		for (i = 0; i < N && env.pm_uffd_wp; i++) {
			if (pm_wp(a.p + i * PAGE)) {
				snprintf(why, sizeof(why), "cycle %d page %d: bit 57 set after unprotect",
					 c, i);
				bad = 1;
				break;
			}
		}
	}
	T_CHECK("cycles-pagemap", !bad, "%s", why);
	T_CHECK("cycles-silent", silent, "message queued: %s", why);
	ax_del(&a);
}

/*
 * UFFDIO_WRITEPROTECT of a range of several VMAs (registered together):
 * 6.5+ (native 6.12) protects all of them; 6.4 and older fail with ENOENT,
 * with the module too (README, known differences): SKIP there.
 */
static void t_across_vmas(void)
{
	enum { N = 6 };
	struct ax a;
	int r;

	u_current = "across-vmas";
	if (ax_new(&a, "writeprotect-across-vmas", N * PAGE, ASYNC))
		return;
	/* three VMAs: [0, 2) [2, 4) [4, 6) */
	if (madvise(a.p + 2 * PAGE, 2 * PAGE, MADV_HUGEPAGE) ||
	    uffd_register_wp(a.uffd, a.p, a.len)) {
		t_fail("writeprotect-across-vmas", "setup: %s", strerror(errno));
		return;
	}
	a.p[0] = a.p[5 * PAGE] = 1;
	r = uffd_wp(a.uffd, a.p, a.len, 1);
	if (r == -ENOENT && !u_kernel_at_least(&env, 6, 5)) {
		/* README, known differences: as stock 6.1 / 5.10 */
		t_skip("writeprotect-across-vmas",
		       "kernel %d.%d: UFFDIO_WRITEPROTECT takes one VMA only before 6.5 (ENOENT)",
		       env.kmaj, env.kmin);
		ax_del(&a);
		return;
	}
	T_CHECK("writeprotect-across-vmas", r == 0,
		"UFFDIO_WRITEPROTECT of 3 VMAs: %s (6.5+ protects every VMA of the range)",
		strerror(-r));
	if (!r) {
		pm_expect("writeprotect-across-vmas-pagemap", a.p, N, NULL);
		async_write("writeprotect-across-vmas-write", a.uffd, a.p + 3 * PAGE, 0x11);
	}
	ax_del(&a);
}

/*
 * An async context with MISSING|WP: only write-protect faults are resolved
 * in the kernel.  A write to a protected present page is silent; a read of
 * an unprotected hole and a write to a protected hole (6.4+: the marker
 * becomes a missing page first) send MISSING messages.
 */
static void t_missing_async(void)
{
	enum { N = 3 };
	struct uffd_msg m;
	char buf[160] = "";
	struct ax a;
	int n;

	u_current = "missing-async";
	a.len = N * PAGE;
	a.uffd = uffd_new(ASYNC);
	a.p = map_anon(a.len);
	if (a.uffd < 0 || !a.p) {
		t_fail("missing-async", "setup: %s", strerror(errno));
		return;
	}
	a.p[0] = 1;	/* page 0 present; 1 protected hole; 2 unprotected hole */
	if (uffd_register(a.uffd, a.p, a.len,
			  UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP) ||
	    uffd_wp(a.uffd, a.p, 2 * PAGE, 1)) {
		t_fail("missing-async", "register/protect: %s", strerror(errno));
		return;
	}
	async_write("missing-async-write-present", a.uffd, a.p + 1, 0x31);
	n = access_and_watch(a.uffd, a.p + 2 * PAGE, ACC_READ, 0, 10000, &m, NULL, NULL);
	T_CHECK("missing-async-read-hole-missing", n == 1 && m.event == UFFD_EVENT_PAGEFAULT &&
		!(m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) &&
		m.arg.pagefault.address == (uintptr_t)(a.p + 2 * PAGE),
		"n=%d %s", n, n > 0 ? msg_str(&m, buf, sizeof(buf)) : "");
	n = access_and_watch(a.uffd, a.p + PAGE, ACC_WRITE, 0x32, 10000, &m, NULL, NULL);
	T_CHECK("missing-async-write-protected-hole-missing", n == 1 &&
		m.event == UFFD_EVENT_PAGEFAULT &&
		!(m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) &&
		m.arg.pagefault.address == (uintptr_t)(a.p + PAGE),
		"n=%d %s", n, n > 0 ? msg_str(&m, buf, sizeof(buf)) : "");
	T_CHECK("missing-async-contents", a.p[1] == 0x31 && a.p[PAGE] == 0x32,
		"bytes %#x %#x", (unsigned char)a.p[1], (unsigned char)a.p[PAGE]);
	ax_del(&a);
}

/* ---- concurrency: writers vs a thread re-protecting --------------------- */

enum { CN = 256, CW = 3 };

struct cw {
	pthread_t th;
	char *p;
	int id;
	volatile int *stop;
	long iters;
	uint32_t seed;
	unsigned char last[CN];	/* last value this writer put at its offset */
};

static void *cw_fn(void *arg)
{
	struct cw *w = arg;
	uint32_t s = w->seed;

	while (!*w->stop) {
		int pg;

		u_xorshift32(&s);
		pg = (int)(s % CN);
		w->last[pg] = (unsigned char)(w->last[pg] + 1);
		/* each writer owns byte id of every page */
		w->p[pg * PAGE + 64 * w->id] = (char)w->last[pg];
		__atomic_store_n(&w->iters, w->iters + 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void t_concurrent(void)
{
	struct cw w[CW];
	volatile int stop = 0;
	struct ax a;
	char why[200] = "";
	long long start, end;
	int i, pg, reprot = 0, errs = 0, silent = 1, ok = 1;
	long total = 0;

	u_current = "concurrent";
	if (ax_new(&a, "concurrent", CN * PAGE, ASYNC))
		return;
	for (i = 0; i < CN; i += 3)
		a.p[i * PAGE + 4000] = 1;	/* some present, the rest holes */
	if (uffd_wp(a.uffd, a.p, a.len, 1)) {
		t_fail("concurrent", "protect: %s", strerror(errno));
		return;
	}
	for (i = 0; i < CW; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].p = a.p;
		w[i].id = i;
		w[i].stop = &stop;
		w[i].seed = 0x9e3779b9u * (uint32_t)(i + 1);
		if (pthread_create(&w[i].th, NULL, cw_fn, &w[i])) {
			t_fail("concurrent", "thread");
			stop = 1;
			return;
		}
	}
	/*
	 * 3 s and at least 2000 writes; a starved guest (loaded host) gets up
	 * to 60 s for them, a livelock does not get them at all.
	 */
	start = u_now_ms();
	end = start + 3000;
	for (;;) {
		long sofar = 0;

		for (i = 0; i < CW; i++)
			sofar += __atomic_load_n(&w[i].iters, __ATOMIC_RELAXED);
		if ((u_now_ms() >= end && sofar >= 2000) || u_now_ms() >= start + 60000)
			break;
		if (uffd_wp(a.uffd, a.p, a.len, 1))
			errs++;
		reprot++;
		if (!queue_empty(a.uffd, why, sizeof(why)))
			silent = 0;
		if (reprot % 4 == 0)
			u_sleep_ms(1);
	}
	stop = 1;
	for (i = 0; i < CW; i++) {
		pthread_join(w[i].th, NULL);
		total += w[i].iters;
	}
	fprintf(stderr, "wp_async: concurrent: %d re-protections, %ld writes\n", reprot, total);
	T_CHECK("concurrent-reprotect", errs == 0, "%d of %d UFFDIO_WRITEPROTECT failed",
		errs, reprot);
	T_CHECK("concurrent-silent", silent, "message queued: %s", why);
	T_CHECK("concurrent-writers-progress", total >= 2000,
		"only %ld writes in %lld ms (livelock?)", total, u_now_ms() - start);
	for (i = 0; i < CW && ok; i++)
		for (pg = 0; pg < CN; pg++)
			if ((unsigned char)a.p[pg * PAGE + 64 * i] != w[i].last[pg]) {
				snprintf(why, sizeof(why), "writer %d page %d: byte %#x, last written %#x",
					 i, pg, (unsigned char)a.p[pg * PAGE + 64 * i], w[i].last[pg]);
				ok = 0;
				break;
			}
	T_CHECK("concurrent-no-lost-write", ok, "%s", why);
	/* quiescent again: protect all, write a known set, exact bits */
	if (uffd_wp(a.uffd, a.p, a.len, 1)) {
		t_fail("concurrent-after", "protect: %s", strerror(errno));
	} else {
		char *clear = calloc(CN, 1);

		for (pg = 5; pg < CN; pg += 17) {
			a.p[pg * PAGE + 1] = 9;
			clear[pg] = 1;
		}
		pm_expect("concurrent-after-exact", a.p, CN, clear);
		free(clear);
	}
	ax_del(&a);
}

int main(void)
{
	uint64_t out = 0;
	int fd, r;

	t_prog = "wp_async";
	u_watchdog(240);
	env = u_env_get();
	fd = uffd_open();
	r = fd < 0 ? fd : uffd_api(fd, ASYNC, &out);
	if (fd >= 0)
		close(fd);
	if (r == -EINVAL) {
		t_skip("all", "kernel has no UFFD_FEATURE_WP_ASYNC (UFFDIO_API: EINVAL; %s)",
		       env.kind == U_MODULE ? "module without its async part" :
		       "stock kernel before 6.7, module not loaded");
		return t_exit();
	}
	t_api();
	if (r)
		return t_exit();
	t_present();
	t_hole();
	t_read();
	t_thp();
	t_swap();
	t_sync_and_async();
	t_fork();
	t_fork_event();
	t_dontneed();
	t_kernel_writes();
	t_mprotect();
	t_mremap(0);
	t_mremap(1);
	t_cycles();
	t_across_vmas();
	t_missing_async();
	t_concurrent();
	return t_exit();
}
