// SPDX-License-Identifier: GPL-2.0
/*
 * wp_hugehole_read: a protected, empty, THP-eligible 2 MiB after a read.
 *
 * Native 6.4+ (reference): protecting an empty range writes 512 markers
 * per 2 MiB whatever the THP mode.  A read of one page (by the CPU, or by
 * GUP from process_vm_readv/ptrace) maps a read-only, uffd-wp zero page for
 * that 4 KiB page only; every other page stays a hole.  So after a read of
 * p[0]:
 *  - UFFDIO_COPY to another page of the 2 MiB succeeds and lands, onto p[0]
 *    fails with EEXIST; UFFDIO_ZEROPAGE fails with EEXIST on both;
 *  - the pages not copied to stay protected (a write: one WP message);
 *  - MISSING registered over the 2 MiB: a never-touched page sends a
 *    MISSING message and gets what the handler copies; p[0] reads zero;
 *  - pagemap: p[0] present + bit 57 (no PM_FILE, not swapped), untouched
 *    pages bit 57 + swapped, not present (zero-page backend: present, a
 *    documented difference of that backend), never PM_FILE;
 *  - unprotecting the 2 MiB leaves the untouched pages none.
 * Run with THP "always" and "never" (restored at exit).  With the module,
 * this is the default configuration: huge holes (the module parameter
 * huge_holes) are opt-in because a read of one would make the whole 2 MiB
 * behave as read (README, "Huge holes").
 */
#include "uffd_util.h"

#include <sys/uio.h>

static struct u_env env;
static char pattern[PAGE] __attribute__((aligned(4096)));

#define FEATURES (UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_THREAD_ID)
#define PM_FILE (1ULL << 61)

#define ZP_COPY_REASON \
	"zero-page backend: a protected hole is a present zero page (UFFDIO_COPY: EEXIST)"
#define ZP_GUP_REASON \
	"zero-page backend: a GUP read does not mark a hole read (README)"

static const char *mode;	/* "always" or "never" */
static char name_buf[128];

/* A check name with the THP mode in front. */
static const char *tn(const char *name)
{
	snprintf(name_buf, sizeof(name_buf), "%s-%s", mode, name);
	return name_buf;
}

/* 2 MiB, 2 MiB aligned, THP eligible, registered WP and protected. */
static char *setup(const char *name, int *fd)
{
	char *p = map_anon_aligned(HPAGE, HPAGE, MADV_HUGEPAGE);
	int r;

	*fd = uffd_new(FEATURES);
	if (!p || *fd < 0) {
		t_fail(tn(name), "setup: mmap %p, uffd %d", p, *fd);
		return NULL;
	}
	r = uffd_register(*fd, p, HPAGE, UFFDIO_REGISTER_MODE_WP);
	if (!r)
		r = uffd_wp(*fd, p, HPAGE, 1);
	if (r) {
		t_fail(tn(name), "setup: register/protect: %s", strerror(-r));
		close(*fd);
		return NULL;
	}
	return p;
}

static void done(int fd, char *p)
{
	close(fd);
	munmap(p, HPAGE);
}

/* A read of p[0] by this thread: zeros, no message (WP-only range). */
static void cpu_read(char *p)
{
	if (*(volatile char *)p)
		t_fail(tn("read"), "p[0] is %#x", (unsigned char)*p);
}

/* The same read done by GUP (FOLL_TOUCH), as a debugger would. */
static void gup_read(const char *name, char *p)
{
	char buf[64] = { 1 };
	struct iovec l = { buf, sizeof(buf) }, r = { p, sizeof(buf) };
	ssize_t n = process_vm_readv(getpid(), &l, 1, &r, 1, 0);

	if (n != (ssize_t)sizeof(buf) || buf[0] || buf[63])
		t_fail(tn(name), "process_vm_readv: %zd (%s), byte %#x", n,
		       n < 0 ? strerror(errno) : "", (unsigned char)buf[0]);
}

/* A write to @addr: exactly one WP message, then the byte lands. */
static void write_faults(const char *name, int fd, char *addr)
{
	char *pg = (char *)((uintptr_t)addr & ~(PAGE - 1));
	struct uffd_msg m;
	char buf[160];
	int n;

	n = access_and_watch(fd, addr, ACC_WRITE, 0x5a, 10000, &m, NULL, NULL);
	T_CHECK(tn(name), n == 1 && msg_is_wp_write(&m, pg) && *addr == 0x5a,
		"n=%d %s, byte %#x", n,
		n > 0 ? msg_str(&m, buf, sizeof(buf)) : "no message",
		(unsigned char)*addr);
}

static void wp_bit(const char *name, const void *addr, int want)
{
	u_pm_check(&env, tn(name), addr, want);
}

/* read p[0], then COPY to p + PAGE (and onto p[0]) */
static void t_copy(void)
{
	int64_t copied = 0;
	char *p;
	int fd, r;

	u_current = "copy";
	p = setup("copy", &fd);
	if (!p)
		return;
	cpu_read(p);
	memset(pattern, 0x3c, PAGE);
	r = uffd_copy(fd, p + PAGE, pattern, PAGE, 0, &copied);
	if (env.zeropage && r == -EEXIST) {
		t_skip(tn("copy-after-read"), ZP_COPY_REASON);
	} else {
		T_CHECK(tn("copy-after-read"), r == 0 && copied == (int64_t)PAGE &&
			p[PAGE] == 0x3c && p[2 * PAGE - 1] == 0x3c,
			"UFFDIO_COPY: %s, copied %lld, byte %#x",
			r ? strerror(-r) : "success", (long long)copied,
			(unsigned char)p[PAGE]);
		wp_bit("copy-after-read-not-wp", p + PAGE, 0);
	}
	r = uffd_copy(fd, p, pattern, PAGE, 0, NULL);
	T_CHECK(tn("copy-onto-read-page-eexist"), r == -EEXIST && p[0] == 0,
		"UFFDIO_COPY: %s, byte %#x", r ? strerror(-r) : "success",
		(unsigned char)p[0]);
	wp_bit("copy-neighbour-wp", p + 2 * PAGE, 1);
	write_faults("copy-neighbour-write-faults", fd, p + 2 * PAGE + 1);
	write_faults("copy-far-write-faults", fd, p + 400 * PAGE);
	done(fd, p);
}

/* read p[0], then ZEROPAGE p + PAGE and p */
static void t_zeropage(void)
{
	char *p;
	int fd, r;

	u_current = "zeropage";
	p = setup("zeropage", &fd);
	if (!p)
		return;
	cpu_read(p);
	r = uffd_zeropage(fd, p + PAGE, PAGE, 0, NULL);
	T_CHECK(tn("zeropage-after-read-eexist"), r == -EEXIST,
		"UFFDIO_ZEROPAGE: %s", r ? strerror(-r) : "success");
	r = uffd_zeropage(fd, p, PAGE, 0, NULL);
	T_CHECK(tn("zeropage-onto-read-page-eexist"), r == -EEXIST,
		"UFFDIO_ZEROPAGE: %s", r ? strerror(-r) : "success");
	wp_bit("zeropage-neighbour-wp", p + PAGE, 1);
	write_faults("zeropage-neighbour-write-faults", fd, p + PAGE + 3);
	done(fd, p);
}

/*
 * A read of @addr from another thread: want_msg: one MISSING message for
 * its page, answered with UFFDIO_COPY of 0x77 bytes, which the reader must
 * get; otherwise no message and a zero (or a SKIP saying @known, a
 * documented difference, when that is not what happened).
 */
static void missing_read(const char *name, int fd, char *addr, int want_msg,
			 const char *known)
{
	char *pg = (char *)((uintptr_t)addr & ~(PAGE - 1));
	struct accessor a;
	struct uffd_msg m;
	char buf[160] = "";
	int n = 0, r = 0, tries = 0;

	if (accessor_start(&a, addr, ACC_READ, 0)) {
		t_fail(tn(name), "reader thread");
		return;
	}
	/* until a message, or the reader is done (no message then) */
	while (!n && !accessor_wait_done(&a, 0) && tries++ < 50) {
		n = uffd_read_msg(fd, &m, 200) == 1;
		if (n && want_msg) {
			memset(pattern, 0x77, PAGE);
			r = uffd_copy(fd, pg, pattern, PAGE, 0, NULL);
		} else if (n) {
			resolve_any(fd, &m);
		}
	}
	if (n)
		msg_str(&m, buf, sizeof(buf));
	if (accessor_join(&a, 10000)) {
		t_fail(tn(name), "reader still blocked (%s)", buf);
		return;
	}
	if (want_msg)
		T_CHECK(tn(name), n && m.event == UFFD_EVENT_PAGEFAULT &&
			m.arg.pagefault.flags == 0 &&
			m.arg.pagefault.address == (uintptr_t)pg && !r &&
			(unsigned char)a.val == 0x77,
			"%s, COPY %s, reader got %#x (want one MISSING message, then 0x77)",
			n ? buf : "no message", r ? strerror(-r) : "ok",
			(unsigned char)a.val);
	else if ((n || a.val) && known)
		t_skip(tn(name), "%s (%s, reader got %#x)", known,
		       n ? buf : "no message", (unsigned char)a.val);
	else
		T_CHECK(tn(name), !n && a.val == 0, "%s, reader got %#x",
			n ? buf : "no message", (unsigned char)a.val);
}

/* p[0] read by the CPU (@gup 0) or by process_vm_readv, then MISSING */
static void t_missing(int gup)
{
	const char *pfx = gup ? "gup-missing" : "read-missing";
	char name[64];
	char *p;
	int fd, r;

	u_current = pfx;
	p = setup(pfx, &fd);
	if (!p)
		return;
	if (gup)
		gup_read(pfx, p);
	else
		cpu_read(p);
	r = uffd_register(fd, p, HPAGE, UFFDIO_REGISTER_MODE_MISSING |
			  UFFDIO_REGISTER_MODE_WP);
	snprintf(name, sizeof(name), "%s-register", pfx);
	T_CHECK(tn(name), r == 0, "%s", strerror(-r));
	snprintf(name, sizeof(name), "%s-untouched-page", pfx);
	missing_read(name, fd, p + 100 * PAGE + 5, 1, NULL);
	snprintf(name, sizeof(name), "%s-next-page", pfx);
	missing_read(name, fd, p + PAGE, 1, NULL);
	snprintf(name, sizeof(name), "%s-read-page-silent", pfx);
	missing_read(name, fd, p + 9, 0,
		     gup && env.zeropage ? ZP_GUP_REASON : NULL);
	done(fd, p);
}

/* pagemap of the read page and of untouched pages */
static void pm_entry(const char *name, const void *addr, int read)
{
	uint64_t e = pagemap(addr), want, mask;

	mask = PM_PRESENT | PM_SWAP | PM_FILE | PM_UFFD_WP;
	if (read || env.zeropage)
		want = PM_PRESENT | PM_UFFD_WP;
	else
		want = PM_SWAP | PM_UFFD_WP;
	if (!env.pm_uffd_wp) {
		mask &= ~PM_UFFD_WP;
		want &= ~PM_UFFD_WP;
	}
	T_CHECK(tn(name), e != ~0ULL && (e & mask) == want,
		"pagemap %#llx: present %d swap %d file %d wp %d, want %#llx",
		(unsigned long long)e, !!(e & PM_PRESENT), !!(e & PM_SWAP),
		!!(e & PM_FILE), !!(e & PM_UFFD_WP), (unsigned long long)want);
}

static void t_pagemap(void)
{
	char *p;
	int fd;

	u_current = "pagemap";
	p = setup("pagemap", &fd);
	if (!p)
		return;
	cpu_read(p + 3);
	pm_entry("pagemap-read-page", p, 1);
	pm_entry("pagemap-next-page", p + PAGE, 0);
	pm_entry("pagemap-far-page", p + 511 * PAGE, 0);
	done(fd, p);
}

/* read p[0], unprotect the 2 MiB: the untouched pages are none again */
static void t_unprotect(void)
{
	unsigned char vec = 0xff;
	uint64_t e;
	char *p;
	int fd, r;

	u_current = "unprotect";
	p = setup("unprotect", &fd);
	if (!p)
		return;
	cpu_read(p);
	r = uffd_wp(fd, p, HPAGE, 0);
	T_CHECK(tn("unprotect-after-read"), r == 0, "%s", strerror(-r));
	e = pagemap(p + 77 * PAGE);
	r = mincore(p + 77 * PAGE, PAGE, &vec);
	T_CHECK(tn("unprotect-untouched-none"), e != ~0ULL &&
		!(e & (PM_PRESENT | PM_SWAP | PM_UFFD_WP)) && !r && !(vec & 1),
		"pagemap %#llx, mincore %d/%#x", (unsigned long long)e, r, vec);
	e = pagemap(p);
	T_CHECK(tn("unprotect-read-page-present"), e != ~0ULL &&
		(e & (PM_PRESENT | PM_UFFD_WP | PM_FILE)) == PM_PRESENT,
		"pagemap %#llx", (unsigned long long)e);
	done(fd, p);
}

static void run_mode(const char *m)
{
	mode = m;
	if (u_thp_set(m)) {
		t_skip(m, "cannot set %s to %s", U_THP_ENABLED, m);
		return;
	}
	t_copy();
	t_zeropage();
	t_missing(0);
	t_missing(1);
	t_pagemap();
	t_unprotect();
}

int main(void)
{
	t_prog = "wp_hugehole_read";
	u_watchdog(120);
	u_cleanup = u_thp_restore;
	env = u_env_get();
	if (!env.holes) {
		t_skip("all", NO_HOLES_REASON);
		return t_exit();
	}
	atexit(u_thp_restore);
	run_mode("always");
	run_mode("never");
	return t_exit();
}
