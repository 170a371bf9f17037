// SPDX-License-Identifier: GPL-2.0
/*
 * wp_fork_mremap: protected holes across fork, mremap and mprotect.
 *
 * Native 6.4+ (reference):
 *  - fork without UFFD_FEATURE_EVENT_FORK: the child's VMA is not
 *    registered and its copy of a protected hole is a plain hole (pagemap
 *    bit 57 clear, writes land); the parent keeps its protection;
 *  - fork with EVENT_FORK: the parent reads UFFD_EVENT_FORK with the
 *    child's userfaultfd; the child's protected hole has bit 57 and a
 *    child write sends a WP message on the child's userfaultfd;
 *  - mremap (move) without EVENT_REMAP: the protection is dropped at the
 *    new address (even when the new range is registered again);
 *  - with EVENT_REMAP: UFFD_EVENT_REMAP (from, to, len) and the protection
 *    moves with the pages;
 *  - mprotect(PROT_READ) and back to RW keeps the protection.
 */
#include "uffd_util.h"

#include <sys/wait.h>

static struct u_env env;

#define FEATURES (UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_THREAD_ID)

/* One check: pagemap bit 57 of @addr is @want_wp (SKIP without bit 57). */
#define pm_check(name, addr, want_wp) u_pm_check(&env, name, addr, want_wp)

/* Child-side bits (exit code). */
enum {
	C_PM_HOLE = 1,		/* hole's bit 57 not as expected */
	C_PM_POP = 2,		/* populated page's bit 57 not as expected */
	C_WRITE_HOLE = 4,	/* byte did not land in the hole */
	C_WRITE_POP = 8,	/* byte did not land in the populated page */
	C_CONTENT = 16,		/* populated page lost its content */
};

/* In the child: check pagemap, write both pages, check the bytes. */
static int child_body(char *p, int want_wp)
{
	int code = 0;
	uint64_t e;

	if (env.pm_uffd_wp) {
		if (pagemap_of(0, p, &e) || !!(e & PM_UFFD_WP) != want_wp)
			code |= C_PM_HOLE;
		if (pagemap_of(0, p + PAGE, &e) || !!(e & PM_UFFD_WP) != want_wp)
			code |= C_PM_POP;
	}
	if (p[PAGE] != 0x17)
		code |= C_CONTENT;
	p[10] = 0x21;
	p[PAGE + 10] = 0x22;
	if (p[10] != 0x21)
		code |= C_WRITE_HOLE;
	if (p[PAGE + 10] != 0x22)
		code |= C_WRITE_POP;
	return code;
}

static void report_child(const char *pfx, int code, int want_wp)
{
	char name[96];

	if (code < 0 || code >= 64) {
		snprintf(name, sizeof(name), "%s-child", pfx);
		t_fail(name, "child %s (status %d)", code < 0 ? "hung and was killed" :
		       "died", code);
		return;
	}
	snprintf(name, sizeof(name), "%s-child-pagemap", pfx);
	if (!env.pm_uffd_wp)
		t_skip(name, NO_PM_REASON);
	else
		T_CHECK(name, !(code & (C_PM_HOLE | C_PM_POP)),
			"child pagemap: hole bit 57 %s, populated bit 57 %s (want %s)",
			(code & C_PM_HOLE) ? "wrong" : "ok", (code & C_PM_POP) ? "wrong" : "ok",
			want_wp ? "set" : "clear");
	snprintf(name, sizeof(name), "%s-child-writes-land", pfx);
	T_CHECK(name, !(code & (C_WRITE_HOLE | C_WRITE_POP | C_CONTENT)),
		"child code %#x", code);
}

static void t_fork_plain(void)
{
	struct uffd_msg m;
	char buf[160];
	int uffd, code, n;
	pid_t pid;
	char *p;

	u_current = "fork-plain";
	uffd = uffd_new(FEATURES);
	p = map_anon(2 * PAGE);
	if (uffd < 0 || !p || uffd_register_wp(uffd, p, 2 * PAGE)) {
		t_fail("fork-plain", "setup: %s", strerror(errno));
		return;
	}
	p[PAGE] = 0x17;
	if (uffd_wp(uffd, p, 2 * PAGE, 1)) {
		t_fail("fork-plain", "protect: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0)
		_exit(child_body(p, 0));
	if (pid < 0) {
		t_fail("fork-plain", "fork: %s", strerror(errno));
		return;
	}
	code = u_wait_child(pid, 20000);
	t_pass("fork-plain");
	report_child("fork-plain", code, 0);
	n = uffd_read_msg(uffd, &m, 200);
	T_CHECK("fork-plain-parent-no-message", n == 0, "%s",
		n == 1 ? msg_str(&m, buf, sizeof(buf)) : "read error");
	pm_check("fork-plain-parent-keeps-wp", p, 1);
	n = access_and_watch(uffd, p, ACC_WRITE, 0x31, 10000, &m, NULL, NULL);
	T_CHECK("fork-plain-parent-write-faults", n == 1 && msg_is_wp_write(&m, p),
		"n=%d %s", n, n == 1 ? msg_str(&m, buf, sizeof(buf)) : "");
	T_CHECK("fork-plain-parent-unchanged", p[10] == 0 && p[PAGE + 10] == 0 &&
		p[PAGE] == 0x17, "the child's writes are visible in the parent");
	close(uffd);
	munmap(p, 2 * PAGE);
}

static void t_fork_event(void)
{
	struct uffd_msg m;
	struct uh h;
	char buf[160];
	int uffd, cfd = -1, code, n, i, nfork = 0, nother = 0;
	pid_t pid;
	char *p;

	u_current = "fork-event";
	uffd = uffd_new(FEATURES | UFFD_FEATURE_EVENT_FORK);
	p = map_anon(2 * PAGE);
	if (uffd < 0 || !p || uffd_register_wp(uffd, p, 2 * PAGE)) {
		t_fail("fork-event", "setup: uffd %d: %s", uffd, strerror(errno));
		return;
	}
	p[PAGE] = 0x17;
	if (uffd_wp(uffd, p, 2 * PAGE, 1)) {
		t_fail("fork-event", "protect: %s", strerror(errno));
		return;
	}
	/* fork() waits until the FORK event is read: read it from a thread */
	if (uh_start(&h, uffd, 1, UH_MISSING_NONE)) {
		t_fail("fork-event", "handler thread");
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0)
		_exit(child_body(p, 1));
	if (pid < 0) {
		t_fail("fork-event", "fork: %s", strerror(errno));
		uh_stop(&h);
		return;
	}
	n = uh_wait(&h, 1, 10000);
	for (i = 0; i < n && i < UH_MAX_MSGS; i++) {
		struct uffd_msg x = uh_msg(&h, i);

		if (x.event == UFFD_EVENT_FORK) {
			nfork++;
			cfd = (int)x.arg.fork.ufd;
		} else {
			nother++;
			msg_str(&x, buf, sizeof(buf));
		}
	}
	T_CHECK("fork-event", nfork == 1 && cfd >= 0 && !nother,
		"%d FORK events, %d others (%s)", nfork, nother, nother ? buf : "");
	if (cfd < 0) {
		kill(pid, SIGKILL);
		u_wait_child(pid, 5000);
		uh_stop(&h);
		return;
	}
	/* the child's write into its protected hole arrives on its uffd */
	n = uffd_read_msg(cfd, &m, 10000);
	T_CHECK("fork-event-child-write-faults", n == 1 && msg_is_wp_write(&m, p),
		"on the child's uffd: %s", n == 1 ? msg_str(&m, buf, sizeof(buf)) :
		"no message");
	T_CHECK("fork-event-child-ptid", n == 1 && (pid_t)m.arg.pagefault.feat.ptid == pid,
		"ptid %u, child pid %d", n == 1 ? m.arg.pagefault.feat.ptid : 0, (int)pid);
	if (n == 1)
		uffd_wp(cfd, p, PAGE, 0);
	/* the child's populated page is protected as well */
	n = uffd_read_msg(cfd, &m, 10000);
	T_CHECK("fork-event-child-populated-write-faults",
		n == 1 && msg_is_wp_write(&m, p + PAGE),
		"on the child's uffd: %s", n == 1 ? msg_str(&m, buf, sizeof(buf)) :
		"no message");
	if (n == 1)
		uffd_wp(cfd, p + PAGE, PAGE, 0);
	/* anything else unblocks too, so a failure can't hang the child */
	while (uffd_read_msg(cfd, &m, 100) == 1)
		uffd_wp(cfd, (void *)(uintptr_t)(m.arg.pagefault.address & ~(PAGE - 1)), PAGE, 0);
	code = u_wait_child(pid, 20000);
	report_child("fork-event", code, 1);
	T_CHECK("fork-event-parent-no-fault", uh_count(&h) == 1,
		"parent uffd got %d messages", uh_count(&h));
	uh_stop(&h);
	pm_check("fork-event-parent-keeps-wp", p, 1);
	n = access_and_watch(uffd, p, ACC_WRITE, 0x31, 10000, &m, NULL, NULL);
	T_CHECK("fork-event-parent-write-faults", n == 1 && msg_is_wp_write(&m, p),
		"n=%d %s", n, n == 1 ? msg_str(&m, buf, sizeof(buf)) : "");
	close(cfd);
	close(uffd);
	munmap(p, 2 * PAGE);
}

/* Reserve len bytes of address space (PROT_NONE) as an mremap target. */
static char *reserve(size_t len)
{
	void *q = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return q == MAP_FAILED ? NULL : q;
}

static void t_mremap_plain(void)
{
	enum { N = 4 };
	struct uffd_msg m;
	char buf[160];
	int uffd, n;
	char *p, *q, *r;

	u_current = "mremap-plain";
	uffd = uffd_new(FEATURES);
	p = map_anon(N * PAGE);
	q = reserve(N * PAGE);
	if (uffd < 0 || !p || !q || uffd_register_wp(uffd, p, N * PAGE) ||
	    uffd_wp(uffd, p, N * PAGE, 1)) {
		t_fail("mremap-plain", "setup: %s", strerror(errno));
		return;
	}
	r = mremap(p, N * PAGE, N * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, q);
	T_CHECK("mremap-plain", r == q, "mremap: %s", strerror(errno));
	if (r != q)
		return;
	pm_check("mremap-plain-new-not-wp", q, 0);
	n = access_and_watch(uffd, q, ACC_WRITE, 0x41, 300, &m, NULL, NULL);
	T_CHECK("mremap-plain-write-silent", n == 0 && q[0] == 0x41, "n=%d %s", n,
		n == 1 ? msg_str(&m, buf, sizeof(buf)) : "");
	/* registered again, without protecting: nothing may be left */
	if (uffd_register_wp(uffd, q, N * PAGE)) {
		t_fail("mremap-plain-reregister-write-silent", "register: %s", strerror(errno));
		return;
	}
	n = access_and_watch(uffd, q + PAGE, ACC_WRITE, 0x42, 300, &m, NULL, NULL);
	T_CHECK("mremap-plain-reregister-write-silent", n == 0 && q[PAGE] == 0x42,
		"n=%d %s", n, n == 1 ? msg_str(&m, buf, sizeof(buf)) : "");
	close(uffd);
	munmap(q, N * PAGE);
}

static void t_mremap_event(void)
{
	enum { N = 4 };
	struct uffd_msg m;
	struct uh h;
	char buf[160];
	int uffd, n;
	char *p, *q, *r;

	u_current = "mremap-event";
	uffd = uffd_new(FEATURES | UFFD_FEATURE_EVENT_REMAP);
	p = map_anon(N * PAGE);
	q = reserve(N * PAGE);
	if (uffd < 0 || !p || !q || uffd_register_wp(uffd, p, N * PAGE)) {
		t_fail("mremap-event", "setup: uffd %d: %s", uffd, strerror(errno));
		return;
	}
	p[3 * PAGE] = 0x19;	/* one populated page */
	if (uffd_wp(uffd, p, N * PAGE, 1)) {
		t_fail("mremap-event", "protect: %s", strerror(errno));
		return;
	}
	/* mremap waits until the REMAP event is read */
	if (uh_start(&h, uffd, 1, UH_MISSING_NONE)) {
		t_fail("mremap-event", "handler thread");
		return;
	}
	r = mremap(p, N * PAGE, N * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, q);
	T_CHECK("mremap-event", r == q, "mremap: %s", strerror(errno));
	n = uh_wait(&h, 1, 10000);
	m = n >= 1 ? uh_msg(&h, 0) : (struct uffd_msg){ 0 };
	T_CHECK("mremap-event-message", n == 1 && m.event == UFFD_EVENT_REMAP &&
		m.arg.remap.from == (uintptr_t)p && m.arg.remap.to == (uintptr_t)q &&
		m.arg.remap.len == N * PAGE,
		"%d messages, first %s (want REMAP %p -> %p len %#lx)", n,
		n ? msg_str(&m, buf, sizeof(buf)) : "-", (void *)p, (void *)q, N * PAGE);
	if (r != q) {
		uh_stop(&h);
		return;
	}
	pm_check("mremap-event-new-wp", q + PAGE, 1);
	pm_check("mremap-event-new-populated-wp", q + 3 * PAGE, 1);
	q[PAGE + 5] = 0x43;	/* the handler resolves */
	n = uh_wait(&h, 2, 10000);
	m = n >= 2 ? uh_msg(&h, 1) : (struct uffd_msg){ 0 };
	T_CHECK("mremap-event-write-faults", n == 2 && msg_is_wp_write(&m, q + PAGE),
		"%d messages, second %s", n, n >= 2 ? msg_str(&m, buf, sizeof(buf)) : "-");
	q[3 * PAGE + 5] = 0x44;
	n = uh_wait(&h, 3, 10000);
	m = n >= 3 ? uh_msg(&h, 2) : (struct uffd_msg){ 0 };
	T_CHECK("mremap-event-populated-write-faults",
		n == 3 && msg_is_wp_write(&m, q + 3 * PAGE),
		"%d messages, third %s", n, n >= 3 ? msg_str(&m, buf, sizeof(buf)) : "-");
	uh_stop(&h);
	T_CHECK("mremap-event-contents", q[PAGE + 5] == 0x43 && q[3 * PAGE] == 0x19 &&
		q[3 * PAGE + 5] == 0x44 && q[0] == 0, "contents differ");
	close(uffd);
	munmap(q, N * PAGE);
}

static void t_mprotect(void)
{
	struct uffd_msg m;
	char buf[160];
	int uffd, n, r;
	char *p;

	u_current = "mprotect";
	uffd = uffd_new(FEATURES);
	p = map_anon(2 * PAGE);
	if (uffd < 0 || !p || uffd_register_wp(uffd, p, 2 * PAGE) ||
	    uffd_wp(uffd, p, 2 * PAGE, 1)) {
		t_fail("mprotect", "setup: %s", strerror(errno));
		return;
	}
	r = mprotect(p, 2 * PAGE, PROT_READ);
	T_CHECK("mprotect-ro", r == 0, "mprotect(PROT_READ): %s", strerror(errno));
	pm_check("mprotect-ro-keeps-wp", p, 1);
	n = access_and_watch(uffd, p + PAGE, ACC_READ, 0, 300, &m, NULL, NULL);
	T_CHECK("mprotect-ro-read-silent", n == 0 && p[PAGE] == 0, "n=%d %s", n,
		n == 1 ? msg_str(&m, buf, sizeof(buf)) : "");
	r = mprotect(p, 2 * PAGE, PROT_READ | PROT_WRITE);
	T_CHECK("mprotect-rw", r == 0, "mprotect(RW): %s", strerror(errno));
	pm_check("mprotect-rw-keeps-wp", p, 1);
	n = access_and_watch(uffd, p, ACC_WRITE, 0x51, 10000, &m, NULL, NULL);
	T_CHECK("mprotect-rw-write-faults", n == 1 && msg_is_wp_write(&m, p),
		"n=%d %s", n, n == 1 ? msg_str(&m, buf, sizeof(buf)) : "");
	n = access_and_watch(uffd, p + PAGE, ACC_WRITE, 0x52, 10000, &m, NULL, NULL);
	T_CHECK("mprotect-rw-read-page-write-faults", n == 1 && msg_is_wp_write(&m, p + PAGE),
		"n=%d %s", n, n == 1 ? msg_str(&m, buf, sizeof(buf)) : "");
	T_CHECK("mprotect-contents", p[0] == 0x51 && p[PAGE] == 0x52, "contents differ");
	close(uffd);
	munmap(p, 2 * PAGE);

	/* holes protected while the mapping is read-only */
	u_current = "mprotect-protect-ro";
	uffd = uffd_new(FEATURES);
	p = map_anon(2 * PAGE);
	if (uffd < 0 || !p || uffd_register_wp(uffd, p, 2 * PAGE) ||
	    mprotect(p, 2 * PAGE, PROT_READ)) {
		t_fail("mprotect-protect-ro", "setup: %s", strerror(errno));
		return;
	}
	r = uffd_wp(uffd, p, 2 * PAGE, 1);
	T_CHECK("mprotect-protect-ro", r == 0, "UFFDIO_WRITEPROTECT on a read-only range: %s",
		strerror(-r));
	pm_check("mprotect-protect-ro-pagemap-wp", p, 1);
	r = mprotect(p, 2 * PAGE, PROT_READ | PROT_WRITE);
	n = access_and_watch(uffd, p + PAGE, ACC_WRITE, 0x53, 10000, &m, NULL, NULL);
	T_CHECK("mprotect-protect-ro-then-rw-write-faults",
		r == 0 && n == 1 && msg_is_wp_write(&m, p + PAGE),
		"mprotect %d, n=%d %s", r, n, n == 1 ? msg_str(&m, buf, sizeof(buf)) : "");
	T_CHECK("mprotect-protect-ro-write-lands", p[PAGE] == 0x53, "byte %#x",
		(unsigned char)p[PAGE]);
	close(uffd);
	munmap(p, 2 * PAGE);
}

int main(void)
{
	t_prog = "wp_fork_mremap";
	u_watchdog(180);
	env = u_env_get();
	if (!env.holes) {
		t_skip("all", NO_HOLES_REASON);
		return t_exit();
	}
	t_fork_plain();
	t_fork_event();
	t_mremap_plain();
	t_mremap_event();
	t_mprotect();
	return t_exit();
}
