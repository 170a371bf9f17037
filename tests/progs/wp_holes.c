// SPDX-License-Identifier: GPL-2.0
/*
 * wp_holes: core semantics of protected holes in a private anonymous,
 * uffd-wp registered range whose context negotiated WP_UNPOPULATED.
 *
 * Native 6.4+ (reference):
 *  - UFFDIO_WRITEPROTECT of a never-touched page installs a uffd-wp pte
 *    marker: pagemap PM_UFFD_WP|PM_SWAP, not PM_PRESENT;
 *  - a read returns zeros without a message (zero page, still uffd-wp);
 *  - a write sends UFFD_PAGEFAULT_FLAG_WP|WRITE with the page address (and
 *    the writer's tid with THREAD_ID) before the byte lands; after
 *    unprotect the page holds only that byte;
 *  - unprotect, UFFDIO_UNREGISTER, close, MADV_DONTNEED and munmap all
 *    remove the protection of a hole;
 *  - page tables are allocated at protect time: no THP can appear in a
 *    protected 2 MiB hole.
 * On the zero-page backend (5.10) a protected hole is a present zero page
 * and pagemap has no bit 57: those asserts are skipped with a reason.
 */
#include "uffd_util.h"

#include <setjmp.h>

static struct u_env env;

#define FEATURES (UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_THREAD_ID)

struct fx {
	int uffd;
	char *p;
	size_t len;
};

static int fx_new(struct fx *f, const char *name, size_t npages)
{
	f->len = npages * PAGE;
	f->uffd = uffd_new(FEATURES);
	f->p = map_anon(f->len);
	if (f->uffd < 0 || !f->p) {
		t_fail(name, "setup: uffd %s, mmap %p", strerror(-f->uffd), (void *)f->p);
		return -1;
	}
	if (uffd_register_wp(f->uffd, f->p, f->len)) {
		t_fail(name, "setup: register: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void fx_del(struct fx *f)
{
	if (f->uffd >= 0)
		close(f->uffd);
	if (f->p)
		munmap(f->p, f->len);
}

/* Check a pagemap expectation or skip it where pagemap can't tell. */
/* One check: pagemap bit 57 of @addr is @want_wp (SKIP without bit 57). */
#define pm_check(name, addr, want_wp) u_pm_check(&env, name, addr, want_wp)

/* A write to p+off from a thread must be silent and land. */
static void expect_silent_write(const char *name, int uffd, char *p, char val)
{
	struct uffd_msg m;
	char buf[160];
	int n = access_and_watch(uffd, p, ACC_WRITE, val, 300, &m, NULL, NULL);

	T_CHECK(name, n == 0 && *p == val, "n=%d %s byte=%#x", n,
		n > 0 ? msg_str(&m, buf, sizeof(buf)) : "", (unsigned char)*p);
}

/*
 * A write to pg+off from a thread must give exactly one WP message for pg
 * with the writer's tid, not land before the resolve, land after it.
 */
static void expect_wp_write(const char *name, int uffd, char *pg, size_t off,
			    char val)
{
	struct uffd_msg m;
	char buf[160], seen = 0x7f;
	pid_t tid = 0;
	int n = access_and_watch(uffd, pg + off, ACC_WRITE, val, 10000, &m,
				 &seen, &tid);

	memset(buf, 0, sizeof(buf));
	if (n != 1) {
		t_fail(name, "%s", n == 0 ? "no WP message: the write was silent" :
		       "writer never finished");
		return;
	}
	if (!msg_is_wp_write(&m, pg)) {
		t_fail(name, "got %s, want flags %#x addr %p",
		       msg_str(&m, buf, sizeof(buf)), WP_WRITE_FLAGS, (void *)pg);
		return;
	}
	if ((pid_t)m.arg.pagefault.feat.ptid != tid) {
		t_fail(name, "ptid %u, writer tid %d", m.arg.pagefault.feat.ptid, (int)tid);
		return;
	}
	if (seen == val) {
		t_fail(name, "byte already %#x before the fault was resolved",
		       (unsigned char)seen);
		return;
	}
	T_CHECK(name, pg[off] == val, "after resolve the byte is %#x, want %#x",
		(unsigned char)pg[off], (unsigned char)val);
}

static int page_only_byte(const char *pg, size_t off, char val)
{
	size_t i;

	for (i = 0; i < PAGE; i++)
		if (pg[i] != (i == off ? val : 0))
			return 0;
	return 1;
}

static void t_protect_and_read(void)
{
	struct fx f;
	struct uffd_msg m;
	char buf[160];
	uint64_t e;
	int n;

	u_current = "protect-read";
	if (fx_new(&f, "protect", 2))
		return;
	T_CHECK("protect", uffd_wp(f.uffd, f.p, f.len, 1) == 0,
		"UFFDIO_WRITEPROTECT: %s", strerror(errno));
	pm_check("protect-pagemap-wp", f.p, 1);
	e = pagemap(f.p);
	if (env.zeropage) {
		t_skip("protect-pagemap-marker",
		       "zero-page backend: a protected hole is a present zero page, not a marker");
		T_CHECK("protect-pagemap-zeropage-present", e != ~0ULL && (e & PM_PRESENT),
			"pagemap %#llx", (unsigned long long)e);
	} else {
		T_CHECK("protect-pagemap-marker",
			e != ~0ULL && (e & PM_SWAP) && !(e & PM_PRESENT),
			"pagemap %#llx, want PM_SWAP set, PM_PRESENT clear",
			(unsigned long long)e);
	}

	/* read: zeros, no message, still protected */
	n = access_and_watch(f.uffd, f.p + 123, ACC_READ, 0x11, 300, &m, NULL, NULL);
	T_CHECK("read-hole-silent", n == 0, "n=%d %s", n,
		n > 0 ? msg_str(&m, buf, sizeof(buf)) : "");
	T_CHECK("read-hole-zero", f.p[123] == 0 && f.p[0] == 0 && f.p[PAGE - 1] == 0,
		"read %#x", (unsigned char)f.p[123]);
	pm_check("read-hole-keeps-wp", f.p, 1);
	e = pagemap(f.p);
	T_CHECK("read-hole-pagemap-present", e != ~0ULL && (e & PM_PRESENT),
		"pagemap %#llx: a read hole maps the zero page", (unsigned long long)e);

	/* a write after the read still faults */
	expect_wp_write("write-after-read-faults", f.uffd, f.p, 5, 0x42);
	T_CHECK("write-after-read-page-content", page_only_byte(f.p, 5, 0x42),
		"page has other non-zero bytes");
	fx_del(&f);
}

static void t_write(void)
{
	struct fx f;

	u_current = "write";
	if (fx_new(&f, "write", 4))
		return;
	if (uffd_wp(f.uffd, f.p, f.len, 1)) {
		t_fail("write-setup", "protect: %s", strerror(errno));
		return;
	}
	/* write into the middle of page 2: the message names the page */
	expect_wp_write("write-hole-faults", f.uffd, f.p + 2 * PAGE, 1000, 0x5a);
	T_CHECK("write-hole-page-content", page_only_byte(f.p + 2 * PAGE, 1000, 0x5a),
		"page has other non-zero bytes");
	pm_check("write-hole-resolved-clears-wp", f.p + 2 * PAGE, 0);
	pm_check("write-hole-neighbour-still-wp", f.p + 3 * PAGE, 1);
	/* the neighbour is still protected */
	expect_wp_write("write-hole-neighbour-faults", f.uffd, f.p + 3 * PAGE, 0, 0x33);
	/* the resolved page is writable now */
	expect_silent_write("write-resolved-page-silent", f.uffd, f.p + 2 * PAGE, 0x77);
	fx_del(&f);
}

static void t_unprotect(void)
{
	struct fx f;

	u_current = "unprotect";
	if (fx_new(&f, "unprotect", 1))
		return;
	if (uffd_wp(f.uffd, f.p, PAGE, 1) || uffd_wp(f.uffd, f.p, PAGE, 0)) {
		t_fail("unprotect", "protect/unprotect: %s", strerror(errno));
		return;
	}
	t_pass("unprotect");
	pm_check("unprotect-clears-wp", f.p, 0);
	{
		uint64_t e = pagemap(f.p);

		T_CHECK("unprotect-hole-is-none", e != ~0ULL && !(e & (PM_SWAP | PM_PRESENT)),
			"pagemap %#llx, want neither PM_SWAP nor PM_PRESENT", (unsigned long long)e);
	}
	expect_silent_write("unprotect-write-silent", f.uffd, f.p, 0x21);
	fx_del(&f);
}

static void t_unregister(void)
{
	struct fx f;

	u_current = "unregister";
	if (fx_new(&f, "unregister", 1))
		return;
	if (uffd_wp(f.uffd, f.p, PAGE, 1) || uffd_unregister(f.uffd, f.p, PAGE)) {
		t_fail("unregister", "protect/unregister: %s", strerror(errno));
		return;
	}
	t_pass("unregister");
	pm_check("unregister-clears-wp", f.p, 0);
	/* registered again (not protected): nothing may be left */
	if (uffd_register_wp(f.uffd, f.p, PAGE)) {
		t_fail("unregister-reregister-write-silent", "register: %s", strerror(errno));
		return;
	}
	expect_silent_write("unregister-reregister-write-silent", f.uffd, f.p, 0x22);
	fx_del(&f);
}

static void t_close(void)
{
	struct fx f;
	int fd2;

	u_current = "close";
	if (fx_new(&f, "close", 1))
		return;
	if (uffd_wp(f.uffd, f.p, PAGE, 1)) {
		t_fail("close", "protect: %s", strerror(errno));
		return;
	}
	close(f.uffd);
	f.uffd = -1;
	pm_check("close-clears-wp", f.p, 0);
	fd2 = uffd_new(FEATURES);
	if (fd2 < 0 || uffd_register_wp(fd2, f.p, PAGE)) {
		t_fail("close-new-ctx-write-silent", "new ctx/register: %s", strerror(errno));
		return;
	}
	expect_silent_write("close-new-ctx-write-silent", fd2, f.p, 0x23);
	close(fd2);
	fx_del(&f);
}

static void t_dontneed(void)
{
	struct fx f;

	u_current = "dontneed";
	if (fx_new(&f, "dontneed", 1))
		return;
	if (uffd_wp(f.uffd, f.p, PAGE, 1)) {
		t_fail("dontneed", "protect: %s", strerror(errno));
		return;
	}
	T_CHECK("dontneed", madvise(f.p, PAGE, MADV_DONTNEED) == 0,
		"MADV_DONTNEED: %s", strerror(errno));
	pm_check("dontneed-clears-wp", f.p, 0);
	expect_silent_write("dontneed-write-silent", f.uffd, f.p, 0x24);
	fx_del(&f);
}

static void t_remap(void)
{
	struct fx f;
	void *q;

	u_current = "munmap-remap";
	if (fx_new(&f, "munmap-remap", 1))
		return;
	if (uffd_wp(f.uffd, f.p, PAGE, 1)) {
		t_fail("munmap-remap", "protect: %s", strerror(errno));
		return;
	}
	munmap(f.p, PAGE);
	q = mmap(f.p, PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (q != f.p) {
		t_fail("munmap-remap", "mmap MAP_FIXED: %s", strerror(errno));
		f.p = NULL;
		return;
	}
	madvise(q, PAGE, MADV_NOHUGEPAGE);
	t_pass("munmap-remap");
	pm_check("munmap-remap-clean", f.p, 0);
	if (uffd_register_wp(f.uffd, f.p, PAGE)) {
		t_fail("munmap-remap-register-write-silent", "register: %s", strerror(errno));
		return;
	}
	expect_silent_write("munmap-remap-register-write-silent", f.uffd, f.p, 0x25);
	fx_del(&f);
}

/* 16 pages, even ones populated: every page gives exactly one WP message. */
static void t_mixed(void)
{
	enum { N = 16 };
	struct fx f;
	struct uh h;
	int per[N], i, n, allwp = 1, badflags = 0, stray = 0;
	char buf[160] = "";

	u_current = "mixed";
	if (fx_new(&f, "mixed", N))
		return;
	for (i = 0; i < N; i += 2)
		f.p[i * PAGE] = (char)(i + 1);
	if (uffd_wp(f.uffd, f.p, f.len, 1)) {
		t_fail("mixed", "protect: %s", strerror(errno));
		return;
	}
	if (env.pm_uffd_wp) {
		for (i = 0; i < N; i++)
			allwp &= pm_wp(f.p + i * PAGE);
		T_CHECK("mixed-pagemap-all-wp", allwp, "some page lacks PM_UFFD_WP");
	} else {
		t_skip("mixed-pagemap-all-wp", NO_PM_REASON);
	}
	if (uh_start(&h, f.uffd, 1, UH_MISSING_NONE)) {
		t_fail("mixed", "handler thread");
		return;
	}
	/* the main thread writes; the handler resolves */
	for (i = 0; i < N; i++)
		f.p[i * PAGE + 7] = (char)(0x80 + i);
	/* late or duplicate messages would show up in this window */
	n = uh_wait(&h, N + 1, 300);
	memset(per, 0, sizeof(per));
	for (i = 0; i < n && i < UH_MAX_MSGS; i++) {
		struct uffd_msg m = uh_msg(&h, i);
		uintptr_t a = (uintptr_t)m.arg.pagefault.address;

		if (m.event != UFFD_EVENT_PAGEFAULT || a < (uintptr_t)f.p ||
		    a >= (uintptr_t)f.p + f.len || (a & (PAGE - 1))) {
			stray++;
			msg_str(&m, buf, sizeof(buf));
			continue;
		}
		if (m.arg.pagefault.flags != WP_WRITE_FLAGS)
			badflags++;
		per[(a - (uintptr_t)f.p) / PAGE]++;
	}
	uh_stop(&h);
	for (i = 0; i < N; i++)
		if (per[i] != 1)
			break;
	T_CHECK("mixed-one-message-per-page", i == N && !stray && !h.nerr,
		"%d messages for %d pages; page %d got %d; %d stray %s%s%s", n, N,
		i, i < N ? per[i] : 0, stray, buf, h.nerr ? "; handler: " : "", h.err);
	T_CHECK("mixed-flags-wp-write", !badflags, "%d messages without flags WP|WRITE",
		badflags);
	for (i = 0; i < N; i++) {
		char first = f.p[i * PAGE], mark = f.p[i * PAGE + 7];

		if (mark != (char)(0x80 + i) || first != ((i % 2) ? 0 : (char)(i + 1)))
			break;
	}
	T_CHECK("mixed-contents", i == N, "page %d wrong", i);
	fx_del(&f);
}

static void t_thp(void)
{
	char mode[128] = "";
	char *ctl, *p;
	struct uh h;
	int uffd, n, i, good;
	long kb;

	u_current = "thp";
	u_read_file("/sys/kernel/mm/transparent_hugepage/enabled", mode, sizeof(mode));
	if (!mode[0] || strstr(mode, "[never]")) {
		t_skip("thp", "THP unavailable (enabled: '%s')", mode);
		return;
	}
	/* control: an unregistered MADV_HUGEPAGE region gets a THP on a write */
	ctl = map_anon_aligned(HPAGE, HPAGE, MADV_HUGEPAGE);
	if (ctl) {
		ctl[0] = 1;
		kb = u_anon_huge_kb(ctl);
		if (kb >= 2048)
			t_pass("thp-control-gets-thp");
		else
			t_skip("thp-control-gets-thp",
			       "no THP allocated in the control region (AnonHugePages %ld kB); the THP check proves less", kb);
		munmap(ctl, HPAGE);
	}

	p = map_anon_aligned(HPAGE, HPAGE, MADV_HUGEPAGE);
	uffd = uffd_new(FEATURES);
	if (!p || uffd < 0 || uffd_register_wp(uffd, p, HPAGE) ||
	    uffd_wp(uffd, p, HPAGE, 1)) {
		t_fail("thp", "setup: %s", strerror(errno));
		return;
	}
	t_pass("thp");
	pm_check("thp-protect-pagemap-wp", p + HPAGE / 2, 1);
	if (uh_start(&h, uffd, 1, UH_MISSING_NONE)) {
		t_fail("thp-write-faults", "handler thread");
		return;
	}
	p[0] = 0x61;
	n = uh_wait(&h, 1, 10000);
	{
		struct uffd_msg m = n >= 1 ? uh_msg(&h, 0) : (struct uffd_msg){ 0 };
		char buf[160];

		T_CHECK("thp-write-faults", n == 1 && msg_is_wp_write(&m, p),
			"%d messages; first %s", n, n ? msg_str(&m, buf, sizeof(buf)) : "-");
	}
	kb = u_anon_huge_kb(p);
	T_CHECK("thp-no-huge-page", kb == 0, "AnonHugePages %ld kB in the protected region", kb);
	pm_check("thp-rest-still-wp", p + HPAGE / 2, 1);
	p[HPAGE / 2] = 0x62;
	n = uh_wait(&h, 2, 10000);
	{
		struct uffd_msg m = n >= 2 ? uh_msg(&h, 1) : (struct uffd_msg){ 0 };
		char buf[160];

		T_CHECK("thp-second-page-faults", n == 2 && msg_is_wp_write(&m, p + HPAGE / 2),
			"%d messages; second %s", n, n >= 2 ? msg_str(&m, buf, sizeof(buf)) : "-");
	}
	uh_stop(&h);
	good = p[0] == 0x61 && p[HPAGE / 2] == 0x62;
	for (i = 1; good && i < (int)(HPAGE / PAGE); i++)
		if (i != (int)(HPAGE / 2 / PAGE) && p[i * PAGE])
			good = 0;
	T_CHECK("thp-contents", good, "unexpected bytes in the region");
	close(uffd);
	munmap(p, HPAGE);
}


/* Protecting twice is the same as once; read holes unprotect like others. */
static void t_reprotect(void)
{
	struct fx f;
	struct uffd_msg m;
	char buf[160];
	int n;

	u_current = "reprotect";
	if (fx_new(&f, "reprotect", 2))
		return;
	if (uffd_wp(f.uffd, f.p, f.len, 1) || uffd_wp(f.uffd, f.p, f.len, 1)) {
		t_fail("reprotect-twice", "protect: %s", strerror(errno));
		return;
	}
	t_pass("reprotect-twice");
	expect_wp_write("reprotect-twice-write-faults", f.uffd, f.p, 0, 0x26);
	/* page 1: read (zero page, protected), unprotect, write: silent */
	n = access_and_watch(f.uffd, f.p + PAGE, ACC_READ, 0, 300, &m, NULL, NULL);
	T_CHECK("read-then-unprotect-read-silent", n == 0, "n=%d %s", n,
		n > 0 ? msg_str(&m, buf, sizeof(buf)) : "");
	if (uffd_wp(f.uffd, f.p + PAGE, PAGE, 0))
		t_fail("read-then-unprotect", "unprotect: %s", strerror(errno));
	pm_check("read-then-unprotect-clears-wp", f.p + PAGE, 0);
	expect_silent_write("read-then-unprotect-write-silent", f.uffd, f.p + PAGE, 0x27);
	fx_del(&f);
}

/* MADV_FREE leaves protected holes alone (they are not pages). */
static void t_madv_free(void)
{
	struct fx f;
	int r;

	u_current = "madv-free";
	if (fx_new(&f, "madv-free", 2))
		return;
	if (uffd_wp(f.uffd, f.p, f.len, 1)) {
		t_fail("madv-free", "protect: %s", strerror(errno));
		return;
	}
	r = madvise(f.p, f.len, MADV_FREE);
	T_CHECK("madv-free", r == 0, "MADV_FREE: %s", strerror(errno));
	pm_check("madv-free-keeps-wp", f.p, 1);
	expect_wp_write("madv-free-write-faults", f.uffd, f.p + PAGE, 3, 0x28);
	fx_del(&f);
}

/* mincore: a protected hole is not resident (it is a marker, not a page). */
static void t_mincore(void)
{
	unsigned char vec[2] = { 0xff, 0xff };
	struct fx f;
	int r;

	u_current = "mincore";
	if (fx_new(&f, "mincore", 2))
		return;
	if (uffd_wp(f.uffd, f.p, f.len, 1)) {
		t_fail("mincore", "protect: %s", strerror(errno));
		return;
	}
	(void)*(volatile char *)(f.p + PAGE);	/* page 1: read, zero page */
	r = mincore(f.p, f.len, vec);
	if (env.zeropage) {
		t_skip("mincore-protected-hole-not-resident",
		       "zero-page backend: mincore reports the zero page of a protected hole as resident");
	} else {
		T_CHECK("mincore-protected-hole-not-resident", r == 0 && !(vec[0] & 1),
			"mincore %d, vec[0] %#x", r, vec[0]);
	}
	T_CHECK("mincore-read-hole-resident", r == 0 && (vec[1] & 1),
		"mincore %d, vec[1] %#x", r, vec[1]);
	fx_del(&f);
}

/*
 * A writer blocked on a protected hole: closing the userfaultfd releases
 * it.  UFFDIO_UNREGISTER of a WP-only range does not wake it (native only
 * wakes MISSING ranges on unregister); a UFFDIO_WAKE then does.  Either
 * way the byte lands.
 */
static void t_wake(int by_close)
{
	const char *name = by_close ? "close-wakes-writer" : "unregister-then-wake-writer";
	struct accessor a;
	struct uffd_msg m;
	struct fx f;
	char buf[160];
	int r, done;

	u_current = name;
	if (fx_new(&f, name, 1))
		return;
	if (uffd_wp(f.uffd, f.p, PAGE, 1)) {
		t_fail(name, "protect: %s", strerror(errno));
		return;
	}
	accessor_start(&a, f.p + 1, ACC_WRITE, 0x29);
	r = uffd_read_msg(f.uffd, &m, 10000);
	if (r != 1 || !msg_is_wp_write(&m, f.p)) {
		t_fail(name, "no WP message first: %s", r == 1 ? msg_str(&m, buf, sizeof(buf)) :
		       "nothing");
		uffd_wp(f.uffd, f.p, PAGE, 0);
		accessor_join(&a, 5000);
		fx_del(&f);
		return;
	}
	if (by_close) {
		close(f.uffd);
		f.uffd = -1;
	} else {
		r = uffd_unregister(f.uffd, f.p, PAGE);
		if (r)
			t_fail(name, "UFFDIO_UNREGISTER: %s", strerror(-r));
		done = accessor_wait_done(&a, 300);
		T_CHECK("unregister-wp-does-not-wake", !done,
			"the writer finished on UFFDIO_UNREGISTER (native wakes only MISSING ranges)");
		r = uffd_wake(f.uffd, f.p, PAGE);
		if (r)
			t_fail(name, "UFFDIO_WAKE: %s", strerror(-r));
	}
	r = accessor_join(&a, 10000);
	T_CHECK(name, r == 0 && f.p[1] == 0x29, "writer %s, byte %#x",
		r ? "still blocked" : "done", (unsigned char)f.p[1]);
	if (r && f.uffd >= 0) {
		/* release it: closing wakes every waiter */
		close(f.uffd);
		f.uffd = -1;
		accessor_join(&a, 5000);
	}
	fx_del(&f);
}

/* With UFFD_FEATURE_EXACT_ADDRESS the message names the exact byte. */
static void t_exact(void)
{
	struct uffd_msg m;
	char buf[160];
	uint64_t f = 0;
	int fd, n;
	char *p;

	u_current = "exact-address";
	fd = uffd_open();
	n = fd >= 0 && !uffd_api(fd, 0, &f) && (f & UFFD_FEATURE_EXACT_ADDRESS);
	if (fd >= 0)
		close(fd);
	if (!n) {
		t_skip("exact-address", "kernel %s does not offer UFFD_FEATURE_EXACT_ADDRESS (5.18+)",
		       env.release);
		return;
	}
	fd = uffd_new(FEATURES | UFFD_FEATURE_EXACT_ADDRESS);
	p = map_anon(2 * PAGE);
	if (fd < 0 || !p || uffd_register_wp(fd, p, 2 * PAGE) || uffd_wp(fd, p, 2 * PAGE, 1)) {
		t_fail("exact-address", "setup: uffd %d: %s", fd, strerror(errno));
		return;
	}
	n = access_and_watch(fd, p + PAGE + 123, ACC_WRITE, 0x2a, 10000, &m, NULL, NULL);
	T_CHECK("exact-address", n == 1 && m.event == UFFD_EVENT_PAGEFAULT &&
		m.arg.pagefault.flags == WP_WRITE_FLAGS &&
		m.arg.pagefault.address == (uintptr_t)(p + PAGE + 123),
		"n=%d %s, want address %p", n, n ? msg_str(&m, buf, sizeof(buf)) : "",
		(void *)(p + PAGE + 123));
	close(fd);
	munmap(p, 2 * PAGE);
}

/* With UFFD_FEATURE_SIGBUS a write into a protected hole raises SIGBUS. */
static sigjmp_buf sigbus_jmp;
static void *volatile sigbus_addr;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	sigbus_addr = si->si_addr;
	siglongjmp(sigbus_jmp, 1);
}

static void t_sigbus(void)
{
	struct sigaction sa, old;
	volatile int got = 0;
	volatile char rd = 0x7f;
	int fd;
	char *p;

	u_current = "sigbus";
	fd = uffd_new(UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_SIGBUS);
	p = map_anon(2 * PAGE);
	if (fd < 0 || !p || uffd_register_wp(fd, p, 2 * PAGE) || uffd_wp(fd, p, 2 * PAGE, 1)) {
		t_fail("sigbus", "setup: uffd %d: %s", fd, strerror(errno));
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(sigbus_jmp, 1) == 0)
		rd = *(volatile char *)p;
	else
		got = 1;
	T_CHECK("sigbus-read-hole-ok", !got && rd == 0, "read %s",
		got ? "raised SIGBUS" : "returned non-zero");
	got = 0;
	sigbus_addr = NULL;
	if (sigsetjmp(sigbus_jmp, 1) == 0)
		*(volatile char *)(p + PAGE + 9) = 1;
	else
		got = 1;
	T_CHECK("sigbus-write-hole", got && sigbus_addr == p + PAGE + 9 && p[PAGE + 9] == 0,
		"got SIGBUS %d at %p (want %p), byte %#x", got, sigbus_addr,
		(void *)(p + PAGE + 9), (unsigned char)p[PAGE + 9]);
	got = 0;
	if (sigsetjmp(sigbus_jmp, 1) == 0)
		*(volatile char *)p = 2;
	else
		got = 1;
	T_CHECK("sigbus-write-read-hole", got && p[0] == 0, "write after read: SIGBUS %d", got);
	uffd_wp(fd, p, 2 * PAGE, 0);
	got = 0;
	if (sigsetjmp(sigbus_jmp, 1) == 0)
		*(volatile char *)(p + PAGE + 9) = 3;
	else
		got = 1;
	T_CHECK("sigbus-after-unprotect-write-lands", !got && p[PAGE + 9] == 3,
		"SIGBUS %d byte %#x", got, (unsigned char)p[PAGE + 9]);
	sigaction(SIGBUS, &old, NULL);
	close(fd);
	munmap(p, 2 * PAGE);
}

/*
 * A huge zero page (read of an untouched THP-eligible region), then part
 * of it protected: the pmd is split, the protected part faults, the rest
 * does not.  Then the whole of another huge zero page.
 */
static void t_thp_zero(void)
{
	char mode[128] = "", zp[16] = "";
	struct uffd_msg m;
	char buf[160];
	int fd, n;
	char *c;

	u_current = "thp-zero";
	u_read_file("/sys/kernel/mm/transparent_hugepage/enabled", mode, sizeof(mode));
	u_read_file("/sys/kernel/mm/transparent_hugepage/use_zero_page", zp, sizeof(zp));
	if (!mode[0] || strstr(mode, "[never]")) {
		t_skip("thp-zero", "THP unavailable (enabled: '%s')", mode);
		return;
	}
	c = map_anon_aligned(2 * HPAGE, HPAGE, MADV_HUGEPAGE);
	fd = uffd_new(FEATURES);
	if (!c || fd < 0 || uffd_register_wp(fd, c, 2 * HPAGE)) {
		t_fail("thp-zero", "setup: %s", strerror(errno));
		return;
	}
	(void)*(volatile char *)c;
	(void)*(volatile char *)(c + HPAGE);
	if (zp[0] != '1')
		fprintf(stderr, "wp_holes: use_zero_page=%s: no huge zero page, plain zero ptes\n", zp);
	if (uffd_wp(fd, c, 16 * PAGE, 1) || uffd_wp(fd, c + HPAGE, HPAGE, 1)) {
		t_fail("thp-zero", "protect: %s", strerror(errno));
		return;
	}
	t_pass("thp-zero");
	n = access_and_watch(fd, c + 3 * PAGE, ACC_WRITE, 1, 10000, &m, NULL, NULL);
	T_CHECK("thp-zero-partial-protected-faults", n == 1 && msg_is_wp_write(&m, c + 3 * PAGE),
		"n=%d %s", n, n ? msg_str(&m, buf, sizeof(buf)) : "");
	n = access_and_watch(fd, c + 100 * PAGE, ACC_WRITE, 2, 300, &m, NULL, NULL);
	T_CHECK("thp-zero-partial-rest-silent", n == 0 && c[100 * PAGE] == 2,
		"n=%d %s", n, n ? msg_str(&m, buf, sizeof(buf)) : "");
	n = access_and_watch(fd, c + HPAGE + 200 * PAGE, ACC_WRITE, 3, 10000, &m, NULL, NULL);
	T_CHECK("thp-zero-full-faults", n == 1 && msg_is_wp_write(&m, c + HPAGE + 200 * PAGE),
		"n=%d %s", n, n ? msg_str(&m, buf, sizeof(buf)) : "");
	T_CHECK("thp-zero-contents", c[3 * PAGE] == 1 && c[100 * PAGE] == 2 &&
		c[HPAGE + 200 * PAGE] == 3 && c[4 * PAGE] == 0, "contents differ");
	close(fd);
	munmap(c, 2 * HPAGE);
}


/*
 * Protected populated pages swapped out (MADV_PAGEOUT) next to protected
 * holes: reads bring the data back without a message; every write gives
 * one WP message; contents survive.
 */
static void t_swap(void)
{
	enum { N = 4 };
	struct uh h;
	struct fx f;
	uint64_t e;
	struct uffd_msg md;
	char buf[160] = "";
	int i, n, ok, r;

	u_current = "swap";
	if (fx_new(&f, "swap", N))
		return;
	f.p[0] = 0x70;
	f.p[2 * PAGE] = 0x72;
	if (uffd_wp(f.uffd, f.p, f.len, 1)) {
		t_fail("swap", "protect: %s", strerror(errno));
		return;
	}
	r = madvise(f.p, f.len, MADV_PAGEOUT);
	e = pagemap(f.p);
	if (r || e == ~0ULL || !(e & PM_SWAP)) {
		t_skip("swap", "page not swapped out (MADV_PAGEOUT %s, pagemap %#llx)",
		       r ? strerror(errno) : "ok", (unsigned long long)e);
	} else {
		t_pass("swap");
		if (env.pm_uffd_wp)
			T_CHECK("swap-pagemap-wp", (e & PM_UFFD_WP) && pm_wp(f.p + PAGE),
				"swapped page %#llx, hole %#llx", (unsigned long long)e,
				(unsigned long long)pagemap(f.p + PAGE));
		else
			t_skip("swap-pagemap-wp", NO_PM_REASON);
	}
	n = access_and_watch(f.uffd, f.p + 2 * PAGE, ACC_READ, 0, 300, &md, NULL, NULL);
	T_CHECK("swap-read-silent", n == 0 && f.p[2 * PAGE] == 0x72, "n=%d byte %#x", n,
		(unsigned char)f.p[2 * PAGE]);
	if (uh_start(&h, f.uffd, 1, UH_MISSING_NONE)) {
		t_fail("swap", "handler thread");
		return;
	}
	for (i = 0; i < N; i++)
		f.p[i * PAGE + 1] = (char)(0x30 + i);
	n = uh_wait(&h, N + 1, 300);
	ok = n == N;
	for (i = 0; ok && i < N; i++) {
		struct uffd_msg m = uh_msg(&h, i);

		if (!msg_is_wp_write(&m, f.p + i * PAGE)) {
			ok = 0;
			msg_str(&m, buf, sizeof(buf));
		}
	}
	uh_stop(&h);
	T_CHECK("swap-writes-fault", ok, "%d messages for %d writes %s", n, N, buf);
	T_CHECK("swap-contents", f.p[0] == 0x70 && f.p[2 * PAGE] == 0x72 && f.p[PAGE] == 0 &&
		f.p[3 * PAGE] == 0 && f.p[1] == 0x30 && f.p[3 * PAGE + 1] == 0x33,
		"contents differ");
	fx_del(&f);
}

int main(void)
{
	t_prog = "wp_holes";
	u_watchdog(200);
	env = u_env_get();
	if (!env.holes) {
		t_skip("all", NO_HOLES_REASON);
		return t_exit();
	}
	t_protect_and_read();
	t_write();
	t_unprotect();
	t_unregister();
	t_close();
	t_dontneed();
	t_remap();
	t_reprotect();
	t_madv_free();
	t_mincore();
	t_wake(0);
	t_wake(1);
	t_exact();
	t_sigbus();
	t_mixed();
	t_swap();
	t_thp();
	t_thp_zero();
	return t_exit();
}
