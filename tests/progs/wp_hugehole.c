// SPDX-License-Identifier: GPL-2.0
/*
 * wp_hugehole: protected holes in THP-eligible memory (THP "always").
 *
 * With huge_holes on, the module protects a whole empty 2 MiB-aligned part
 * of a THP-eligible range with one protected huge zero pmd instead of 512
 * holes.  Whatever the representation, a program must see what native
 * 6.4+ shows it with its 512 markers:
 *  - reads give zeros without a message, writes a WP message (WP|WRITE,
 *    the page's address) before the byte lands, no THP appears;
 *  - unprotecting (or unregistering) a whole untouched 2 MiB, or one page
 *    of it, leaves those pages none (not present, not resident), the rest
 *    protected;
 *  - MADV_DONTNEED drops the protection of what it zaps and only that;
 *  - fork: an EVENT_FORK child keeps the protection, another child not;
 *  - mremap without EVENT_REMAP: the moved range is unprotected;
 *  - MISSING|WP ranges, and MISSING registered over protected holes: an
 *    access is a MISSING fault;
 *  - UFFDIO_ZEROPAGE onto a protected hole fails with EEXIST, UFFDIO_COPY
 *    replaces it (not on the zero-page backend: a known difference);
 *  - a VMA split (mprotect) keeps the protection of both halves.
 * Not checked (documented differences): the present/swap bits of pagemap
 * and mincore() of a protected hole.  The THP mode is set to "always" for
 * the run and restored at exit; with the module, huge holes (opt-in since
 * they cannot be exact after a read: wp_hugehole_read.c) are switched on
 * for the run and restored too.
 */
#include "uffd_util.h"

#include <sys/wait.h>

static struct u_env env;

#define FEATURES (UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_THREAD_ID)

#define pm_check(name, addr, want_wp) u_pm_check(&env, name, addr, want_wp)

#define HUGE_HOLES UFFD_WPU_SYSFS_DIR "/huge_holes"

static char huge_saved[8];

static void thp_restore(void)
{
	u_thp_restore();
	if (huge_saved[0])
		u_write_file(HUGE_HOLES, huge_saved);
}

/* Opt in to the module's huge holes for this run (nothing without it). */
static void huge_opt_in(void)
{
	if (env.kind != U_MODULE ||
	    u_read_file(HUGE_HOLES, huge_saved, sizeof(huge_saved)))
		return;
	if (u_write_file(HUGE_HOLES, "1"))
		fprintf(stderr, "wp_hugehole: cannot switch huge holes on\n");
}

/* The module's huge_holes counter; -1 without the module. */
static long huge_stat(void)
{
	FILE *fp = fopen(UFFD_WPU_SYSFS_DIR "/stats", "r");
	char line[128];
	long v = -1;

	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "huge_holes %ld", &v) == 1)
			break;
	fclose(fp);
	return v;
}

static int huge_on(void)
{
	char buf[16] = "";

	return !u_read_file(UFFD_WPU_SYSFS_DIR "/huge_holes", buf, sizeof(buf)) &&
	       buf[0] == '1';
}

/* White box: did the module protect @want huge holes since @before? */
static void huge_check(const char *name, long before, long want)
{
	long d = huge_stat() - before;

	if (env.kind != U_MODULE)
		t_skip(name, "no module: nothing to count");
	else if (!huge_on() && want)
		t_skip(name, "module has huge_holes off");
	else
		T_CHECK(name, d == want, "%ld huge holes protected, want %ld", d, want);
}

/* Neither present nor swapped nor protected: a page as if never touched. */
static void none_check(const char *name, const void *addr)
{
	uint64_t e = pagemap(addr);
	unsigned char vec = 0xff;
	int r = mincore((void *)((uintptr_t)addr & ~(PAGE - 1)), PAGE, &vec);

	T_CHECK(name, e != ~0ULL && !(e & (PM_PRESENT | PM_SWAP | PM_UFFD_WP)) &&
		!r && !(vec & 1), "pagemap %#llx, mincore %d/%#x",
		(unsigned long long)e, r, vec);
}

/* Map len bytes (2 MiB aligned, THP eligible), register, protect. */
static char *setup(const char *name, int *fd, size_t len, uint64_t mode,
		   uint64_t features)
{
	char *p = map_anon_aligned(len, HPAGE, MADV_HUGEPAGE);
	int r;

	*fd = uffd_new(features);
	if (!p || *fd < 0) {
		t_fail(name, "setup: mmap %p, uffd %d", p, *fd);
		return NULL;
	}
	r = uffd_register(*fd, p, len, mode);
	if (!r)
		r = uffd_wp(*fd, p, len, 1);
	if (r) {
		t_fail(name, "setup: register/protect: %s", strerror(-r));
		close(*fd);
		return NULL;
	}
	return p;
}

static void done(int fd, char *p, size_t len)
{
	close(fd);
	munmap(p, len);
}

/* One write from another thread; want_fault: exactly one WP message. */
static void write_check(const char *name, int fd, char *addr, int want_fault)
{
	char *pg = (char *)((uintptr_t)addr & ~(PAGE - 1));
	struct uffd_msg m;
	char buf[160], blocked = 0;
	int n;

	n = access_and_watch(fd, addr, ACC_WRITE, 0x5a, want_fault ? 10000 : 300,
			     &m, &blocked, NULL);
	if (want_fault)
		T_CHECK(name, n == 1 && msg_is_wp_write(&m, pg) && !blocked &&
			*addr == 0x5a, "n=%d %s, byte before %#x, after %#x", n,
			n > 0 ? msg_str(&m, buf, sizeof(buf)) : "no message",
			(unsigned char)blocked, (unsigned char)*addr);
	else
		T_CHECK(name, n == 0 && *addr == 0x5a, "n=%d %s, byte %#x", n,
			n > 0 ? msg_str(&m, buf, sizeof(buf)) : "",
			(unsigned char)*addr);
}

static void t_read_write(void)
{
	const size_t len = 2 * HPAGE;
	char *p, *w = NULL;
	long before = huge_stat(), kb;
	struct uffd_msg m;
	size_t i;
	int fd, n, good;

	u_current = "read-write";
	p = setup("protect", &fd, len, UFFDIO_REGISTER_MODE_WP, FEATURES);
	if (!p)
		return;
	t_pass("protect");
	huge_check("module-protects-huge", before, 2);
	pm_check("protect-pagemap-wp-first", p, 1);
	pm_check("protect-pagemap-wp-last", p + len - PAGE, 1);
	pm_check("protect-pagemap-wp-middle", p + HPAGE + 123 * PAGE, 1);

	n = access_and_watch(fd, p + 7 * PAGE + 3, ACC_READ, 0, 300, &m, NULL, NULL);
	T_CHECK("read-silent-zero", n == 0 && p[7 * PAGE + 3] == 0, "n=%d", n);
	pm_check("read-keeps-wp", p + 7 * PAGE, 1);
	write_check("read-then-write-faults", fd, p + 7 * PAGE + 9, 1);

	w = p + HPAGE + 5 * PAGE + 17;
	write_check("write-faults-first", fd, w, 1);
	pm_check("write-neighbour-below-wp", w - PAGE, 1);
	pm_check("write-neighbour-above-wp", w + PAGE, 1);
	pm_check("write-other-half-wp", p + 300 * PAGE, 1);
	write_check("write-neighbour-faults", fd, w + PAGE, 1);
	kb = u_anon_huge_kb(p);
	T_CHECK("no-thp-after-writes", kb == 0, "AnonHugePages %ld kB", kb);
	good = 1;
	for (i = 0; i < len; i++) {
		char *c = p + i;

		if (c == w || c == w + PAGE || c == p + 7 * PAGE + 9)
			good &= *c == 0x5a;
		else
			good &= *c == 0;
	}
	T_CHECK("contents", good, "unexpected bytes");
	done(fd, p, len);
}

static void t_unprotect(void)
{
	const size_t len = 2 * HPAGE;
	char *p, *q;
	int fd;

	u_current = "unprotect";
	p = setup("unprotect", &fd, len, UFFDIO_REGISTER_MODE_WP, FEATURES);
	if (!p)
		return;
	q = p + HPAGE;
	T_CHECK("unprotect-whole", uffd_wp(fd, p, HPAGE, 0) == 0, "%s", strerror(errno));
	none_check("unprotect-whole-none", p + 9 * PAGE);
	pm_check("unprotect-whole-next-still-wp", q, 1);
	write_check("unprotect-whole-write-silent", fd, p + 9 * PAGE, 0);

	T_CHECK("unprotect-page", uffd_wp(fd, q + 3 * PAGE, PAGE, 0) == 0, "%s",
		strerror(errno));
	none_check("unprotect-page-none", q + 3 * PAGE);
	pm_check("unprotect-page-neighbour-wp", q + 4 * PAGE, 1);
	pm_check("unprotect-page-far-wp", q + 400 * PAGE, 1);
	write_check("unprotect-page-write-silent", fd, q + 3 * PAGE + 1, 0);
	write_check("unprotect-page-neighbour-faults", fd, q + 4 * PAGE, 1);

	/* unregister clears the protection of what is left */
	T_CHECK("unregister", uffd_unregister(fd, p, len) == 0, "%s", strerror(errno));
	none_check("unregister-none", q + 100 * PAGE);
	done(fd, p, len);
}

static void t_dontneed(void)
{
	const size_t len = 2 * HPAGE;
	char *p, *q;
	int fd;

	u_current = "dontneed";
	p = setup("dontneed", &fd, len, UFFDIO_REGISTER_MODE_WP, FEATURES);
	if (!p)
		return;
	q = p + HPAGE;
	T_CHECK("dontneed-page", madvise(p + 2 * PAGE, PAGE, MADV_DONTNEED) == 0,
		"%s", strerror(errno));
	pm_check("dontneed-page-not-wp", p + 2 * PAGE, 0);
	pm_check("dontneed-page-neighbour-wp", p + 3 * PAGE, 1);
	write_check("dontneed-page-write-silent", fd, p + 2 * PAGE + 5, 0);
	write_check("dontneed-page-neighbour-faults", fd, p + 3 * PAGE, 1);

	T_CHECK("dontneed-whole", madvise(q, HPAGE, MADV_DONTNEED) == 0, "%s",
		strerror(errno));
	none_check("dontneed-whole-none", q + 77 * PAGE);
	write_check("dontneed-whole-write-silent", fd, q + 77 * PAGE, 0);
	done(fd, p, len);
}

static int wait_child(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Child: bit 57 of p as @want_wp (1 if not), zeros (2 if not), write p. */
static int child_body(char *p, int want_wp)
{
	uint64_t e;
	int code = 0;

	if (env.pm_uffd_wp &&
	    (pagemap_of(0, p, &e) || !!(e & PM_UFFD_WP) != want_wp))
		code |= 1;
	if (p[1] || p[HPAGE - 1])
		code |= 2;
	p[10] = 0x21;
	return code;
}

static void t_fork(int event)
{
	const char *pfx = event ? "fork-event" : "fork-plain";
	uint64_t features = FEATURES | (event ? UFFD_FEATURE_EVENT_FORK : 0);
	struct uffd_msg m;
	char name[64], buf[160];
	int fd, cfd = -1, n, code;
	struct uh h;
	pid_t pid;
	char *p;

	u_current = pfx;
	p = setup(pfx, &fd, HPAGE, UFFDIO_REGISTER_MODE_WP, features);
	if (!p)
		return;
	if (event && uh_start(&h, fd, 1, UH_MISSING_NONE)) {
		t_fail(pfx, "handler thread");
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0)
		_exit(child_body(p, event));
	if (pid < 0) {
		t_fail(pfx, "fork: %s", strerror(errno));
		return;
	}
	if (event) {
		n = uh_wait(&h, 1, 10000);
		m = n >= 1 ? uh_msg(&h, 0) : (struct uffd_msg){ 0 };
		if (n >= 1 && m.event == UFFD_EVENT_FORK)
			cfd = (int)m.arg.fork.ufd;
		snprintf(name, sizeof(name), "%s-event", pfx);
		T_CHECK(name, cfd >= 0, "no FORK event (%d messages)", n);
		uh_stop(&h);
		if (cfd < 0) {
			kill(pid, SIGKILL);
			wait_child(pid);
			done(fd, p, HPAGE);
			return;
		}
		n = uffd_read_msg(cfd, &m, 10000);
		snprintf(name, sizeof(name), "%s-child-write-faults", pfx);
		T_CHECK(name, n == 1 && msg_is_wp_write(&m, p), "on the child's uffd: %s",
			n == 1 ? msg_str(&m, buf, sizeof(buf)) : "no message");
		while (n == 1) {
			uffd_wp(cfd, (void *)(uintptr_t)(m.arg.pagefault.address &
							 ~(PAGE - 1)), PAGE, 0);
			n = uffd_read_msg(cfd, &m, 100);
		}
	}
	code = wait_child(pid);
	snprintf(name, sizeof(name), "%s-child", pfx);
	T_CHECK(name, code == 0, "child exit %d (1: bit 57 not %d, 2: not zero)",
		code, event);
	snprintf(name, sizeof(name), "%s-parent-wp", pfx);
	pm_check(name, p + 10, 1);
	snprintf(name, sizeof(name), "%s-parent-write-faults", pfx);
	write_check(name, fd, p + 10, 1);
	if (cfd >= 0)
		close(cfd);
	done(fd, p, HPAGE);
}

static void t_mremap(void)
{
	char *p, *t, *q;
	int fd;

	u_current = "mremap";
	p = setup("mremap", &fd, HPAGE, UFFDIO_REGISTER_MODE_WP, FEATURES);
	if (!p)
		return;
	t = map_anon_aligned(HPAGE, HPAGE, MADV_HUGEPAGE);
	q = t ? mremap(p, HPAGE, HPAGE, MREMAP_MAYMOVE | MREMAP_FIXED, t) : MAP_FAILED;
	T_CHECK("mremap", q != MAP_FAILED, "%s", strerror(errno));
	if (q == MAP_FAILED) {
		done(fd, p, HPAGE);
		return;
	}
	pm_check("mremap-moved-not-wp", q + 5 * PAGE, 0);
	T_CHECK("mremap-moved-zero", q[5 * PAGE] == 0, "byte %#x", q[5 * PAGE]);
	q[6 * PAGE] = 1;
	T_CHECK("mremap-moved-write", q[6 * PAGE] == 1, "byte lost");
	done(fd, q, HPAGE);
}

/* A MISSING message for a read of @addr. */
static void missing_check(const char *name, int fd, char *addr)
{
	char *pg = (char *)((uintptr_t)addr & ~(PAGE - 1));
	struct uffd_msg m;
	char buf[160];
	int n;

	n = access_and_watch(fd, addr, ACC_READ, 0, 10000, &m, NULL, NULL);
	T_CHECK(name, n == 1 && m.event == UFFD_EVENT_PAGEFAULT &&
		m.arg.pagefault.flags == 0 &&
		m.arg.pagefault.address == (uintptr_t)pg,
		"n=%d %s (want one MISSING message)", n,
		n > 0 ? msg_str(&m, buf, sizeof(buf)) : "");
}

static void t_missing(void)
{
	long before = huge_stat();
	char *p;
	int fd, r;

	u_current = "missing";
	p = setup("missing-wp", &fd, HPAGE, UFFDIO_REGISTER_MODE_MISSING |
		  UFFDIO_REGISTER_MODE_WP, FEATURES);
	if (!p)
		return;
	huge_check("missing-wp-no-huge", before, 0);
	missing_check("missing-wp-read-missing", fd, p + 33 * PAGE);
	done(fd, p, HPAGE);

	u_current = "reregister";
	p = setup("reregister", &fd, HPAGE, UFFDIO_REGISTER_MODE_WP, FEATURES);
	if (!p)
		return;
	r = uffd_register(fd, p, HPAGE, UFFDIO_REGISTER_MODE_MISSING |
			  UFFDIO_REGISTER_MODE_WP);
	T_CHECK("reregister-missing", r == 0, "%s", strerror(-r));
	missing_check("reregister-read-missing", fd, p + 44 * PAGE + 1);
	missing_check("reregister-read-other-missing", fd, p + 500 * PAGE);
	done(fd, p, HPAGE);
}

static void t_fill(void)
{
	static char src[PAGE] __attribute__((aligned(4096)));
	int64_t copied = 0;
	char *p;
	int fd, r;

	u_current = "fill";
	p = setup("fill", &fd, HPAGE, UFFDIO_REGISTER_MODE_WP, FEATURES);
	if (!p)
		return;
	r = uffd_zeropage(fd, p + 8 * PAGE, PAGE, 0, NULL);
	if (env.zeropage && !r)
		t_skip("zeropage-eexist", "zero-page backend: UFFDIO_ZEROPAGE as on a stock kernel");
	else
		T_CHECK("zeropage-eexist", r == -EEXIST, "UFFDIO_ZEROPAGE: %s",
			r ? strerror(-r) : "success");
	memset(src, 0x3c, PAGE);
	r = uffd_copy(fd, p + 9 * PAGE, src, PAGE, 0, &copied);
	if (env.zeropage && r == -EEXIST) {
		t_skip("copy-onto-hole", "zero-page backend: a protected hole is a present zero page (EEXIST)");
	} else {
		T_CHECK("copy-onto-hole", r == 0 && p[9 * PAGE + 7] == 0x3c,
			"UFFDIO_COPY: %s, copied %lld", r ? strerror(-r) : "success",
			(long long)copied);
		pm_check("copy-not-wp", p + 9 * PAGE, 0);
	}
	pm_check("fill-neighbour-wp", p + 10 * PAGE, 1);
	write_check("fill-neighbour-faults", fd, p + 10 * PAGE, 1);
	done(fd, p, HPAGE);
}

/* mprotect() of one page splits the VMA (and a huge pmd with it). */
static void t_split(void)
{
	char *p;
	int fd, r;

	u_current = "split";
	p = setup("split", &fd, HPAGE, UFFDIO_REGISTER_MODE_WP, FEATURES);
	if (!p)
		return;
	r = mprotect(p + 256 * PAGE, PAGE, PROT_READ);
	T_CHECK("split-mprotect", r == 0, "%s", strerror(errno));
	pm_check("split-low-wp", p + 3 * PAGE, 1);
	pm_check("split-high-wp", p + 300 * PAGE, 1);
	write_check("split-low-faults", fd, p + 3 * PAGE, 1);
	write_check("split-high-faults", fd, p + 300 * PAGE, 1);
	done(fd, p, HPAGE);
}

static void t_thp_never(void)
{
	long before = huge_stat();
	char *p;
	int fd;

	u_current = "thp-never";
	if (u_thp_set("never")) {
		t_skip("thp-never", "cannot set THP to never");
		return;
	}
	p = setup("thp-never", &fd, HPAGE, UFFDIO_REGISTER_MODE_WP, FEATURES);
	if (p) {
		huge_check("thp-never-no-huge", before, 0);
		pm_check("thp-never-wp", p + 5 * PAGE, 1);
		write_check("thp-never-write-faults", fd, p + 5 * PAGE, 1);
		done(fd, p, HPAGE);
	}
	u_thp_set("always");
}

int main(void)
{
	t_prog = "wp_hugehole";
	u_watchdog(120);
	u_cleanup = thp_restore;
	env = u_env_get();
	if (!env.holes) {
		t_skip("all", NO_HOLES_REASON);
		return t_exit();
	}
	if (u_thp_set("always")) {
		t_skip("all", "no THP (cannot set %s to always)", U_THP_ENABLED);
		return t_exit();
	}
	atexit(thp_restore);
	huge_opt_in();
	t_read_write();
	t_unprotect();
	t_dontneed();
	t_fork(0);
	t_fork(1);
	t_mremap();
	t_missing();
	t_fill();
	t_split();
	t_thp_never();
	return t_exit();
}
