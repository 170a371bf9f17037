// SPDX-License-Identifier: GPL-2.0
/*
 * wp_gup: kernel-side accesses into protected holes.
 *
 * Native 6.4+ (reference), with a handler thread that resolves WP faults:
 *  - read(2) from a pipe into a protected hole: a WP message (the faulting
 *    reader's tid), then the data lands;
 *  - process_vm_writev into a hole: a WP message, then the data lands;
 *  - process_vm_readv from a hole: zeros, no message;
 *  - pwrite to /proc/self/mem at a hole: that path's GUP may not drop the
 *    mmap lock, so the kernel cannot wait for the handler: the write fails
 *    with EIO, no message, nothing lands, the page stays protected;
 *  - MADV_POPULATE_READ (5.14+): succeeds, no message, protection kept;
 *  - MADV_POPULATE_WRITE: one WP message per page, then success;
 *  - mlock of a private writable range populates for writing: likewise;
 *  - MADV_COLLAPSE (6.1+) over a 2 MiB region of populated unprotected
 *    pages and protected holes returns (it fails on 6.12) and the holes
 *    stay protected.
 */
#include "uffd_util.h"

#include <sys/uio.h>

static struct u_env env;

#define FEATURES (UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_THREAD_ID)
#define NPAGES 32

static int uffd = -1;
static char *area;
static struct uh h;

static char *page(int i)
{
	return area + (size_t)i * PAGE;
}

/*
 * Whether the kernel knows madvise advice @advice: it checks the advice
 * before the range, so an empty range at a page-aligned address fails with
 * EINVAL only where the advice is unknown.  A fact, not a version number.
 */
static int madv_known(int advice)
{
	static char pg[PAGE] __attribute__((aligned(PAGE)));

	return madvise(pg, 0, advice) == 0;
}

/* One check: pagemap bit 57 of @addr is @want_wp (SKIP without bit 57). */
#define pm_check(name, addr, want_wp) u_pm_check(&env, name, addr, want_wp)

static void pm_check_range(const char *name, const char *p, int n, int want_wp)
{
	int i;

	if (!env.pm_uffd_wp) {
		t_skip(name, NO_PM_REASON);
		return;
	}
	for (i = 0; i < n; i++)
		if (pm_wp(p + (size_t)i * PAGE) != want_wp)
			break;
	T_CHECK(name, i == n, "page %d: pagemap %#llx, want PM_UFFD_WP %s", i,
		i < n ? (unsigned long long)pagemap(p + (size_t)i * PAGE) : 0ULL,
		want_wp ? "set" : "clear");
}

/*
 * Messages the handler saw since the last uh_reset(), against the pages
 * [first, first+n) of base: per-page WP|WRITE counts in per[], returns the
 * number of other messages (text of the last in buf).
 */
static int tally(struct uh *hh, const char *base, int first, int n, int *per,
		 char *buf, size_t len)
{
	int c = uh_count(hh), i, other = 0;

	memset(per, 0, sizeof(*per) * n);
	for (i = 0; i < c && i < UH_MAX_MSGS; i++) {
		struct uffd_msg m = uh_msg(hh, i);
		uintptr_t a = (uintptr_t)m.arg.pagefault.address;
		uintptr_t s = (uintptr_t)base + (size_t)first * PAGE;

		if (m.event == UFFD_EVENT_PAGEFAULT && m.arg.pagefault.flags == WP_WRITE_FLAGS &&
		    a >= s && a < s + (size_t)n * PAGE && !(a & (PAGE - 1))) {
			per[(a - s) / PAGE]++;
		} else {
			other++;
			msg_str(&m, buf, len);
		}
	}
	return other;
}

static int protect(const char *name, char *p, size_t len)
{
	int r = uffd_wp(uffd, p, len, 1);

	if (r)
		t_fail(name, "UFFDIO_WRITEPROTECT: %s", strerror(-r));
	return r;
}

static void t_pipe_read(void)
{
	char src[100], buf[160] = "";
	int pfd[2], per[1], other, i;
	struct uffd_msg m;
	ssize_t n;

	u_current = "pipe-read";
	for (i = 0; i < 100; i++)
		src[i] = (char)(i + 1);
	if (protect("pipe-read", page(0), PAGE) || pipe(pfd)) {
		t_fail("pipe-read", "setup: %s", strerror(errno));
		return;
	}
	if (write(pfd[1], src, sizeof(src)) != (ssize_t)sizeof(src)) {
		t_fail("pipe-read", "pipe write: %s", strerror(errno));
		return;
	}
	uh_reset(&h);
	n = read(pfd[0], page(0) + 10, sizeof(src));
	T_CHECK("pipe-read", n == (ssize_t)sizeof(src), "read: %zd (%s)", n,
		n < 0 ? strerror(errno) : "short");
	other = tally(&h, area, 0, 1, per, buf, sizeof(buf));
	T_CHECK("pipe-read-one-wp-message", per[0] == 1 && !other,
		"%d WP messages, %d others %s", per[0], other, buf);
	m = uh_count(&h) ? uh_msg(&h, 0) : (struct uffd_msg){ 0 };
	T_CHECK("pipe-read-ptid", (pid_t)m.arg.pagefault.feat.ptid == u_gettid(),
		"ptid %u, reader tid %d", m.arg.pagefault.feat.ptid, (int)u_gettid());
	T_CHECK("pipe-read-data", !memcmp(page(0) + 10, src, sizeof(src)) &&
		page(0)[9] == 0 && page(0)[110] == 0, "data differs");
	close(pfd[0]);
	close(pfd[1]);
}

static void t_vm_writev(void)
{
	char src[64], buf[160] = "";
	struct iovec l, r;
	int per[1], other;
	ssize_t n;

	u_current = "process_vm_writev";
	memset(src, 0x6d, sizeof(src));
	if (protect("process_vm_writev", page(2), PAGE))
		return;
	uh_reset(&h);
	l = (struct iovec){ src, sizeof(src) };
	r = (struct iovec){ page(2) + 20, sizeof(src) };
	n = process_vm_writev(getpid(), &l, 1, &r, 1, 0);
	T_CHECK("process_vm_writev", n == (ssize_t)sizeof(src), "returned %zd (%s)", n,
		n < 0 ? strerror(errno) : "short");
	other = tally(&h, area, 2, 1, per, buf, sizeof(buf));
	T_CHECK("process_vm_writev-one-wp-message", per[0] == 1 && !other,
		"%d WP messages, %d others %s", per[0], other, buf);
	T_CHECK("process_vm_writev-data", !memcmp(page(2) + 20, src, sizeof(src)) &&
		page(2)[19] == 0, "data differs");
}

static void t_proc_mem(void)
{
	char src[16], buf[160] = "";
	int fd, per[1], other, e, i, n;
	ssize_t w;
	struct uffd_msg m;

	u_current = "proc-mem";
	memset(src, 0x7e, sizeof(src));
	if (protect("proc-mem", page(3), PAGE))
		return;
	fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		t_fail("proc-mem", "open /proc/self/mem: %s", strerror(errno));
		return;
	}
	uh_reset(&h);
	w = pwrite(fd, src, sizeof(src), (off_t)(uintptr_t)(page(3) + 30));
	e = errno;
	close(fd);
	T_CHECK("proc-mem-write-eio", w < 0 && e == EIO,
		"pwrite returned %zd (%s); native 6.12 fails with EIO", w,
		w < 0 ? strerror(e) : "success");
	other = tally(&h, area, 3, 1, per, buf, sizeof(buf));
	T_CHECK("proc-mem-no-message", per[0] == 0 && !other,
		"%d WP messages, %d others %s", per[0], other, buf);
	for (i = 0; i < (int)PAGE && !page(3)[i]; i++)
		;
	T_CHECK("proc-mem-nothing-landed", i == (int)PAGE, "byte %d is %#x", i,
		i < (int)PAGE ? (unsigned char)page(3)[i] : 0);
	pm_check("proc-mem-keeps-wp", page(3), 1);
	/* still protected for a normal write (handler is running: use it) */
	uh_reset(&h);
	page(3)[1] = 0x11;
	n = uh_wait(&h, 1, 5000);
	m = n ? uh_msg(&h, 0) : (struct uffd_msg){ 0 };
	T_CHECK("proc-mem-then-write-faults", n == 1 && msg_is_wp_write(&m, page(3)),
		"%d messages %s", n, n ? msg_str(&m, buf, sizeof(buf)) : "");
}

static void t_vm_readv(void)
{
	char dst[32], buf[160] = "";
	struct iovec l, r;
	int per[2], other, i;
	ssize_t n;

	u_current = "process_vm_readv";
	page(5)[0] = 0x66;
	if (protect("process_vm_readv", page(4), 2 * PAGE))
		return;
	uh_reset(&h);
	memset(dst, 0x55, sizeof(dst));
	l = (struct iovec){ dst, sizeof(dst) };
	r = (struct iovec){ page(4), sizeof(dst) };
	n = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
	for (i = 0; i < (int)sizeof(dst) && !dst[i]; i++)
		;
	T_CHECK("process_vm_readv-hole-zeros", n == (ssize_t)sizeof(dst) &&
		i == (int)sizeof(dst), "returned %zd, byte %d = %#x", n, i,
		i < (int)sizeof(dst) ? (unsigned char)dst[i] : 0);
	r = (struct iovec){ page(5), sizeof(dst) };
	n = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
	T_CHECK("process_vm_readv-populated", n == (ssize_t)sizeof(dst) &&
		dst[0] == 0x66 && dst[1] == 0, "returned %zd, %#x", n, (unsigned char)dst[0]);
	u_sleep_ms(100);
	other = tally(&h, area, 4, 2, per, buf, sizeof(buf));
	T_CHECK("process_vm_readv-no-message", !per[0] && !per[1] && !other,
		"%d/%d WP messages, %d others %s", per[0], per[1], other, buf);
	pm_check("process_vm_readv-keeps-wp", page(4), 1);
}

static void t_populate(void)
{
	enum { N = 8 };
	char buf[160] = "";
	int per[N], other, i, r;

	u_current = "populate";
	if (!madv_known(MADV_POPULATE_READ) || !madv_known(MADV_POPULATE_WRITE)) {
		t_skip("populate-read", "kernel %s has no MADV_POPULATE_READ (5.14+)", env.release);
		t_skip("populate-write", "kernel %s has no MADV_POPULATE_WRITE (5.14+)", env.release);
		return;
	}
	if (protect("populate-read", page(8), N * PAGE))
		return;
	uh_reset(&h);
	r = madvise(page(8), N * PAGE, MADV_POPULATE_READ);
	T_CHECK("populate-read", r == 0, "MADV_POPULATE_READ: %s", strerror(errno));
	u_sleep_ms(100);
	other = tally(&h, area, 8, N, per, buf, sizeof(buf));
	for (i = 0; i < N && !per[i]; i++)
		;
	T_CHECK("populate-read-no-message", i == N && !other,
		"page %d got a WP message; %d others %s", i, other, buf);
	pm_check_range("populate-read-keeps-wp", page(8), N, 1);

	if (protect("populate-write", page(16), N * PAGE))
		return;
	uh_reset(&h);
	r = madvise(page(16), N * PAGE, MADV_POPULATE_WRITE);
	T_CHECK("populate-write", r == 0, "MADV_POPULATE_WRITE: %s", strerror(errno));
	other = tally(&h, area, 16, N, per, buf, sizeof(buf));
	for (i = 0; i < N && per[i] == 1; i++)
		;
	T_CHECK("populate-write-one-message-per-page", i == N && !other,
		"page %d got %d WP messages; %d others %s", i, i < N ? per[i] : 0, other, buf);
	pm_check_range("populate-write-resolved", page(16), N, 0);
	for (i = 0; i < (int)(N * PAGE) && !page(16)[i]; i++)
		;
	T_CHECK("populate-write-zeros", i == (int)(N * PAGE), "byte %d non-zero", i);
}

/* mlock populates a private writable range for writing: one WP message per hole. */
static void t_mlock(void)
{
	enum { N = 4 };
	char buf[160] = "";
	int per[N], other, i, r;

	u_current = "mlock";
	if (protect("mlock", page(24), N * PAGE))
		return;
	uh_reset(&h);
	r = mlock(page(24), N * PAGE);
	T_CHECK("mlock", r == 0, "mlock: %s", strerror(errno));
	other = tally(&h, area, 24, N, per, buf, sizeof(buf));
	for (i = 0; i < N && per[i] == 1; i++)
		;
	T_CHECK("mlock-one-message-per-page", i == N && !other,
		"page %d got %d WP messages; %d others %s", i, i < N ? per[i] : 0, other, buf);
	pm_check_range("mlock-resolved", page(24), N, 0);
	munlock(page(24), N * PAGE);
}

static void t_collapse(void)
{
	const int half = (int)(HPAGE / PAGE / 2);
	struct uh hc;
	char buf[160] = "", *c;
	int fd, r, e, i, n, ok;
	long long t0;
	struct uffd_msg m;

	u_current = "collapse";
	if (!madv_known(MADV_COLLAPSE)) {
		t_skip("collapse", "kernel %s has no MADV_COLLAPSE (6.1+)", env.release);
		return;
	}
	/* pte-mapped first half (NOHUGEPAGE while populating) */
	c = map_anon_aligned(HPAGE, HPAGE, MADV_NOHUGEPAGE);
	if (!c) {
		t_fail("collapse", "mmap: %s", strerror(errno));
		return;
	}
	for (i = 0; i < half; i++)
		c[(size_t)i * PAGE] = (char)(i + 1);
	madvise(c, HPAGE, MADV_HUGEPAGE);
	fd = uffd_new(FEATURES);
	if (fd < 0 || uffd_register_wp(fd, c, HPAGE) || uffd_wp(fd, c, HPAGE, 1) ||
	    uffd_wp(fd, c, HPAGE / 2, 0)) {
		t_fail("collapse", "setup: uffd %d: %s", fd, strerror(errno));
		return;
	}
	if (uh_start(&hc, fd, 1, UH_MISSING_NONE)) {
		t_fail("collapse", "handler thread");
		return;
	}
	/* write the unprotected half again, so its ptes are writable */
	for (i = 0; i < half; i++)
		c[(size_t)i * PAGE + 1] = 0x77;
	n = uh_wait(&hc, 1, 200);
	T_CHECK("collapse-unprotected-half-silent", n == 0, "%d messages", n);
	pm_check_range("collapse-holes-wp-before", c + HPAGE / 2, half, 1);

	t0 = u_now_ms();
	r = madvise(c, HPAGE, MADV_COLLAPSE);
	e = errno;
	fprintf(stderr, "wp_collapse: MADV_COLLAPSE returned %d (%s) after %lld ms\n",
		r, r ? strerror(e) : "success", u_now_ms() - t0);
	t_pass("collapse-returns");
	T_CHECK("collapse-no-message", uh_count(&hc) == 0, "%d messages", uh_count(&hc));
	pm_check_range("collapse-holes-keep-wp", c + HPAGE / 2, half, 1);
	ok = 1;
	for (i = 0; i < half; i++)
		if (c[(size_t)i * PAGE] != (char)(i + 1) || c[(size_t)i * PAGE + 1] != 0x77)
			ok = 0;
	T_CHECK("collapse-populated-intact", ok, "populated half changed");
	c[HPAGE / 2 + 3 * PAGE + 5] = 0x12;
	n = uh_wait(&hc, 1, 10000);
	m = n ? uh_msg(&hc, 0) : (struct uffd_msg){ 0 };
	T_CHECK("collapse-hole-write-faults", n == 1 &&
		msg_is_wp_write(&m, c + HPAGE / 2 + 3 * PAGE),
		"%d messages %s", n, n ? msg_str(&m, buf, sizeof(buf)) : "");
	uh_stop(&hc);
	T_CHECK("collapse-hole-write-lands", c[HPAGE / 2 + 3 * PAGE + 5] == 0x12,
		"byte %#x", (unsigned char)c[HPAGE / 2 + 3 * PAGE + 5]);
	close(fd);
	munmap(c, HPAGE);
}

int main(void)
{
	t_prog = "wp_gup";
	u_watchdog(180);
	env = u_env_get();
	if (!env.holes) {
		t_skip("all", NO_HOLES_REASON);
		return t_exit();
	}
	uffd = uffd_new(FEATURES);
	area = map_anon(NPAGES * PAGE);
	if (uffd < 0 || !area || uffd_register_wp(uffd, area, NPAGES * PAGE) ||
	    uh_start(&h, uffd, 1, UH_MISSING_NONE)) {
		t_fail("setup", "uffd %d: %s", uffd, strerror(errno));
		return t_exit();
	}
	t_pipe_read();
	t_vm_writev();
	t_proc_mem();
	t_vm_readv();
	t_populate();
	t_mlock();
	uh_stop(&h);
	if (h.nerr)
		t_fail("handler", "%s", h.err);
	t_collapse();
	return t_exit();
}
