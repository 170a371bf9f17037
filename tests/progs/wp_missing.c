// SPDX-License-Identifier: GPL-2.0
/*
 * wp_missing: protected holes in MISSING|WP registered ranges.
 *
 * Native 6.4+ (reference):
 *  - any access to a protected hole sends a MISSING message first (flags
 *    without UFFD_PAGEFAULT_FLAG_WP; WRITE for a write);
 *  - UFFDIO_COPY onto a protected hole succeeds (the marker is replaced),
 *    mode 0 leaves the page writable, UFFDIO_COPY_MODE_WP protects it;
 *  - UFFDIO_ZEROPAGE onto a protected hole fails with EEXIST.
 * Zero-page backend (5.10): holes in MISSING|WP ranges are left as they
 * are (they trap as MISSING anyway), so UFFDIO_ZEROPAGE on them succeeds
 * like on a stock kernel; that expectation is checked separately.
 */
#include "uffd_util.h"

static struct u_env env;
static char pattern[PAGE] __attribute__((aligned(4096)));

#define FEATURES (UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_THREAD_ID)

#define ZP_MISSING_REASON \
	"zero-page backend leaves holes in MISSING|WP ranges unprotected (they trap as MISSING)"

#define NPAGES 8

static int uffd = -1;
static char *area;

static char *page(int i)
{
	return area + (size_t)i * PAGE;
}

static void protect(const char *name, char *pg)
{
	int r = uffd_wp(uffd, pg, PAGE, 1);

	if (r)
		t_fail(name, "UFFDIO_WRITEPROTECT: %s", strerror(-r));
}

/* One check: pagemap bit 57 of @addr is @want_wp (SKIP without bit 57). */
#define pm_check(name, addr, want_wp) u_pm_check(&env, name, addr, want_wp)

static int all_bytes(const char *pg, char v, size_t skip)
{
	size_t i;

	for (i = 0; i < PAGE; i++)
		if (i != skip && pg[i] != v)
			return 0;
	return 1;
}

/* A read of a protected hole: a MISSING message, resolved by UFFDIO_COPY. */
static void t_read_missing_first(void)
{
	struct accessor a;
	struct uffd_msg m;
	char buf[160];
	int r;
	char *pg = page(0);

	u_current = "read-missing-first";
	protect("read-missing-first", pg);
	if (env.zeropage)
		t_skip("read-protect-pagemap-wp", "%s", ZP_MISSING_REASON);
	else
		pm_check("read-protect-pagemap-wp", pg, 1);
	accessor_start(&a, pg + 9, ACC_READ, 0);
	r = uffd_read_msg(uffd, &m, 10000);
	if (r != 1) {
		t_fail("read-missing-first", "no message (%d); reader done=%d", r, a.done);
		/* let it finish, in case it is blocked */
		uffd_zeropage(uffd, pg, PAGE, 0, NULL);
		uffd_wake(uffd, pg, PAGE);
		accessor_join(&a, 5000);
		return;
	}
	T_CHECK("read-missing-first", m.event == UFFD_EVENT_PAGEFAULT &&
		m.arg.pagefault.flags == 0 &&
		m.arg.pagefault.address == (uintptr_t)pg &&
		(pid_t)m.arg.pagefault.feat.ptid == a.tid,
		"got %s (want flags 0, addr %p, ptid %d)",
		msg_str(&m, buf, sizeof(buf)), (void *)pg, (int)a.tid);
	memset(pattern, 0xab, PAGE);
	r = uffd_copy(uffd, pg, pattern, PAGE, 0, NULL);
	T_CHECK("read-missing-resolve-copy", r == 0, "UFFDIO_COPY: %s", strerror(-r));
	if (r)
		uffd_wake(uffd, pg, PAGE);
	r = accessor_join(&a, 10000);
	T_CHECK("read-missing-reader-gets-copy", r == 0 && (unsigned char)a.val == 0xab,
		"reader %s, read %#x", r ? "still blocked" : "done", (unsigned char)a.val);
	/* a COPY without MODE_WP leaves the page writable */
	r = access_and_watch(uffd, pg, ACC_WRITE, 0x11, 300, &m, NULL, NULL);
	T_CHECK("read-missing-then-write-silent", r == 0 && pg[0] == 0x11,
		"n=%d %s byte %#x", r, r > 0 ? msg_str(&m, buf, sizeof(buf)) : "",
		(unsigned char)pg[0]);
}

/*
 * A write to a protected hole: MISSING (flags WRITE) first; resolved with
 * UFFDIO_COPY_MODE_WP, the retried write then gets a WP message.
 */
static void t_write_missing_first(void)
{
	struct accessor a;
	struct uffd_msg m;
	char buf[160];
	int r;
	char *pg = page(1);

	u_current = "write-missing-first";
	protect("write-missing-first", pg);
	accessor_start(&a, pg + 100, ACC_WRITE, 0x5a);
	r = uffd_read_msg(uffd, &m, 10000);
	if (r != 1) {
		t_fail("write-missing-first", "no message (%d); writer done=%d", r, a.done);
		uffd_wp(uffd, pg, PAGE, 0);
		accessor_join(&a, 5000);
		return;
	}
	T_CHECK("write-missing-first", m.event == UFFD_EVENT_PAGEFAULT &&
		m.arg.pagefault.flags == UFFD_PAGEFAULT_FLAG_WRITE &&
		m.arg.pagefault.address == (uintptr_t)pg,
		"got %s (want flags WRITE only, addr %p)", msg_str(&m, buf, sizeof(buf)),
		(void *)pg);
	memset(pattern, 0xcd, PAGE);
	r = uffd_copy(uffd, pg, pattern, PAGE, UFFDIO_COPY_MODE_WP, NULL);
	T_CHECK("write-missing-resolve-copy-wp", r == 0, "UFFDIO_COPY(WP): %s",
		strerror(-r));
	r = uffd_read_msg(uffd, &m, 10000);
	if (r != 1) {
		t_fail("write-missing-then-wp", "no WP message after COPY_MODE_WP (%d)", r);
	} else {
		T_CHECK("write-missing-then-wp", msg_is_wp_write(&m, pg),
			"got %s", msg_str(&m, buf, sizeof(buf)));
		T_CHECK("write-missing-then-wp-not-landed", pg[100] == (char)0xcd,
			"byte %#x before the WP fault was resolved", (unsigned char)pg[100]);
	}
	uffd_wp(uffd, pg, PAGE, 0);
	r = accessor_join(&a, 10000);
	T_CHECK("write-missing-lands", r == 0 && pg[100] == 0x5a &&
		all_bytes(pg, (char)0xcd, 100),
		"writer %s, byte %#x", r ? "still blocked" : "done", (unsigned char)pg[100]);
}

/* UFFDIO_COPY onto a protected hole nobody touched. */
static void t_copy(void)
{
	struct uffd_msg m;
	char buf[160];
	int64_t copied = 0;
	int r;
	char *pg = page(2), *pg2 = page(3);

	u_current = "copy";
	protect("copy-onto-protected-hole", pg);
	memset(pattern, 0x3c, PAGE);
	r = uffd_copy(uffd, pg, pattern, PAGE, 0, &copied);
	T_CHECK("copy-onto-protected-hole", r == 0 && copied == (int64_t)PAGE,
		"UFFDIO_COPY: %s, copied %lld", strerror(-r), (long long)copied);
	T_CHECK("copy-contents", r == 0 && all_bytes(pg, 0x3c, PAGE), "contents differ");
	pm_check("copy-mode0-not-wp", pg, 0);
	r = access_and_watch(uffd, pg, ACC_WRITE, 0x12, 300, &m, NULL, NULL);
	T_CHECK("copy-mode0-write-silent", r == 0 && pg[0] == 0x12,
		"n=%d %s", r, r > 0 ? msg_str(&m, buf, sizeof(buf)) : "");

	protect("copy-wp-onto-protected-hole", pg2);
	memset(pattern, 0x4d, PAGE);
	copied = 0;
	r = uffd_copy(uffd, pg2, pattern, PAGE, UFFDIO_COPY_MODE_WP, &copied);
	T_CHECK("copy-wp-onto-protected-hole", r == 0 && copied == (int64_t)PAGE,
		"UFFDIO_COPY(WP): %s, copied %lld", strerror(-r), (long long)copied);
	pm_check("copy-wp-pagemap-wp", pg2, 1);
	r = access_and_watch(uffd, pg2 + 8, ACC_WRITE, 0x13, 10000, &m, NULL, NULL);
	T_CHECK("copy-wp-write-faults", r == 1 && msg_is_wp_write(&m, pg2),
		"n=%d %s", r, r > 0 ? msg_str(&m, buf, sizeof(buf)) : "no message");
	T_CHECK("copy-wp-write-lands", r >= 0 && pg2[8] == 0x13 &&
		all_bytes(pg2, 0x4d, 8), "byte %#x", (unsigned char)pg2[8]);
}

/* UFFDIO_ZEROPAGE onto a protected hole. */
static void t_zeropage(void)
{
	struct accessor a;
	struct uffd_msg m;
	char buf[160];
	int r;
	char *pg = page(4), *ctl = page(5);

	u_current = "zeropage";
	/* control: an unprotected hole takes a zero page */
	r = uffd_zeropage(uffd, ctl, PAGE, 0, NULL);
	T_CHECK("zeropage-control-unprotected-hole", r == 0, "UFFDIO_ZEROPAGE: %s",
		strerror(-r));

	protect("zeropage-onto-protected-hole", pg);
	r = uffd_zeropage(uffd, pg, PAGE, 0, NULL);
	if (env.zeropage) {
		t_skip("zeropage-onto-protected-hole-eexist",
		       "%s; UFFDIO_ZEROPAGE works as on a stock kernel", ZP_MISSING_REASON);
		T_CHECK("zeropage-backend-zeropage-succeeds", r == 0,
			"UFFDIO_ZEROPAGE: %s", strerror(-r));
		return;
	}
	T_CHECK("zeropage-onto-protected-hole-eexist", r == -EEXIST,
		"UFFDIO_ZEROPAGE: %s, want EEXIST", r ? strerror(-r) : "success");
	if (r)
		pm_check("zeropage-eexist-keeps-wp", pg, 1);
	/* still a protected hole: a read traps as MISSING */
	accessor_start(&a, pg, ACC_READ, 0);
	r = uffd_read_msg(uffd, &m, 10000);
	T_CHECK("zeropage-eexist-then-read-missing", r == 1 &&
		m.event == UFFD_EVENT_PAGEFAULT && m.arg.pagefault.flags == 0 &&
		m.arg.pagefault.address == (uintptr_t)pg,
		"%s", r == 1 ? msg_str(&m, buf, sizeof(buf)) : "no message");
	memset(pattern, 0x5e, PAGE);
	if (uffd_copy(uffd, pg, pattern, PAGE, 0, NULL))
		uffd_wake(uffd, pg, PAGE);
	r = accessor_join(&a, 10000);
	T_CHECK("zeropage-eexist-then-copy", r == 0 && (unsigned char)a.val == 0x5e,
		"reader %s, read %#x", r ? "blocked" : "done", (unsigned char)a.val);
}


/*
 * Holes protected in a WP-only range, then the range registered again by
 * the same context with MISSING (replacing WP) or MISSING|WP: an access to
 * such a hole is a MISSING fault, as for any hole of a MISSING range.
 */
static void t_reregister(int keep_wp)
{
	const char *pfx = keep_wp ? "reregister-missing-wp" : "reregister-missing-only";
	struct uffd_msg m;
	char name[96], buf[160];
	int fd, n, r;
	char *p;

	u_current = pfx;
	fd = uffd_new(FEATURES);
	p = map_anon(2 * PAGE);
	if (fd < 0 || !p || uffd_register_wp(fd, p, 2 * PAGE) || uffd_wp(fd, p, 2 * PAGE, 1)) {
		t_fail(pfx, "setup: uffd %d: %s", fd, strerror(errno));
		return;
	}
	r = uffd_register(fd, p, 2 * PAGE, UFFDIO_REGISTER_MODE_MISSING |
			  (keep_wp ? UFFDIO_REGISTER_MODE_WP : 0));
	T_CHECK(pfx, r == 0, "UFFDIO_REGISTER again: %s", strerror(-r));
	if (r)
		return;
	n = access_and_watch(fd, p, ACC_READ, 0, 5000, &m, NULL, NULL);
	snprintf(name, sizeof(name), "%s-read-missing", pfx);
	T_CHECK(name, n == 1 && m.event == UFFD_EVENT_PAGEFAULT && m.arg.pagefault.flags == 0 &&
		m.arg.pagefault.address == (uintptr_t)p,
		"n=%d %s (want one MISSING message, flags 0)", n,
		n ? msg_str(&m, buf, sizeof(buf)) : "");
	n = access_and_watch(fd, p + PAGE + 1, ACC_WRITE, 0x61, 5000, &m, NULL, NULL);
	snprintf(name, sizeof(name), "%s-write-missing", pfx);
	T_CHECK(name, n == 1 && m.event == UFFD_EVENT_PAGEFAULT &&
		m.arg.pagefault.flags == UFFD_PAGEFAULT_FLAG_WRITE &&
		m.arg.pagefault.address == (uintptr_t)(p + PAGE),
		"n=%d %s (want one MISSING message, flags WRITE)", n,
		n ? msg_str(&m, buf, sizeof(buf)) : "");
	snprintf(name, sizeof(name), "%s-write-lands", pfx);
	T_CHECK(name, n >= 0 && p[PAGE + 1] == 0x61, "byte %#x", (unsigned char)p[PAGE + 1]);
	close(fd);
	munmap(p, 2 * PAGE);
}

int main(void)
{
	t_prog = "wp_missing";
	u_watchdog(120);
	env = u_env_get();
	if (!env.holes) {
		t_skip("all", NO_HOLES_REASON);
		return t_exit();
	}
	uffd = uffd_new(FEATURES);
	area = map_anon(NPAGES * PAGE);
	if (uffd < 0 || !area ||
	    uffd_register(uffd, area, NPAGES * PAGE,
			  UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP)) {
		t_fail("setup", "uffd %d, area %p: %s", uffd, (void *)area, strerror(errno));
		return t_exit();
	}
	t_pass("setup");
	t_read_missing_first();
	t_write_missing_first();
	t_copy();
	t_zeropage();
	t_reregister(0);
	t_reregister(1);
	return t_exit();
}
