// SPDX-License-Identifier: GPL-2.0
/*
 * wpu-bench: how long it takes to write-protect an empty-but-mapped private
 * anonymous range, four ways, and what the protection costs afterwards.
 *
 *   plain     UFFDIO_WRITEPROTECT, features 0: holes stay unprotected
 *             (fast, but a snapshot misses every write into a hole)
 *   preread   read one byte of every page, then protect (features 0)
 *   populate  MADV_POPULATE_READ, then protect (features 0; 5.14+)
 *   wpu       UFFD_FEATURE_WP_UNPOPULATED, then protect (native 6.4+, or
 *             the uffd_wpu module)
 *   wpu-zp    the same, refused unless the uffd_wpu module runs its
 *             zero-page backend (insmod uffd_wpu.ko backend=zeropage)
 *
 * and the operations around it, at one size (the largest of --sizes, at
 * most 1 GiB):
 *
 *   access    read / write of a protected hole and of a protected
 *             populated page, per page (writes: until the WP message has
 *             been resolved by a handler thread); unprotected baselines
 *   unprotect UFFDIO_WRITEPROTECT mode 0 of a range protected by wpu /
 *             by preread
 *   fork      fork() of a process with the range protected (EVENT_FORK off)
 *   (with --methods wpu-zp but not wpu, access/unprotect/fork measure only
 *   the wpu-zp cases, named "*-zp" / "*.wpu-zp")
 *   other     work of a process that never opened a userfaultfd (64 MiB):
 *             MADV_DONTNEED of populated memory, mprotect RW->RO->RW,
 *             first-touch page faults; the method name ends in ".mod" when
 *             /sys/module/uffd_wpu exists, ".nomod" otherwise
 *
 * Every measurement: fresh mmap, (register, prep, protect), munmap; the
 * median of --reps runs (--big-reps for preread/populate above 1 GiB).  Times are CLOCK_MONOTONIC.  Output, one line per
 * value, then readable tables:
 *
 *   BENCH <kernel> <thp> <method> <size> <ms>
 *
 * <method> alone is the total (prep + protect); for preread and populate
 * "<method>.prep" and "<method>.wp" are its parts.  Access costs are per page ("4K").  <ms> is
 * "n/a" where the kernel cannot do it.  THP is chosen per range with
 * MADV_NOHUGEPAGE / MADV_HUGEPAGE ("always" needs THP enabled = always or
 * madvise).
 *
 * Build: gcc -O2 -static -pthread -o wpu-bench wpu-bench.c
 * Exit status 0 unless an operation that must work failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/userfaultfd.h>

#define BENCH_PROG "wpu-bench"
#include "bench.h"

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1ULL << 13)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY	1
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#endif

#define PAGE		4096UL
#define KiB		1024ULL
#define MiB		(1024 * KiB)
#define GiB		(1024 * MiB)
#define ACCESS_SIZE	(16 * MiB)
#define OTHER_SIZE	(64 * MiB)
#define MAX_OPS_SIZE	GiB

static const char *kernel_name;
static int reps = 3;
static int big_reps;		/* preread/populate above 1 GiB; 0: reps */
static int quiet;

/* ---- small things ------------------------------------------------------- */

static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

static const char *size_str(unsigned long long s)
{
	static char bufs[4][24];
	static int i;
	char *b = bufs[i++ & 3];

	if (s % GiB == 0)
		snprintf(b, 24, "%lluG", s / GiB);
	else if (s % MiB == 0)
		snprintf(b, 24, "%lluM", s / MiB);
	else
		snprintf(b, 24, "%lluK", s / KiB);
	return b;
}

static unsigned long long parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	switch (*end) {
	case 'G': case 'g': v *= GiB; end++; break;
	case 'M': case 'm': v *= MiB; end++; break;
	case 'K': case 'k': v *= KiB; end++; break;
	}
	if (*end || !v || v % PAGE)
		return 0;
	return v;
}

/* ---- results: printed as they come, tabulated at the end ---------------- */

#define MAX_RESULTS	512

struct result {
	char thp[8];
	char method[32];
	unsigned long long size;
	double ms;		/* < 0: n/a */
};

static struct result results[MAX_RESULTS];
static int nresults;

static void report(const char *thp, const char *method, unsigned long long size,
		   double ms)
{
	if (ms < 0)
		bench_line("BENCH %s %s %s %s n/a\n", kernel_name, thp, method,
			   size_str(size));
	else
		bench_line("BENCH %s %s %s %s %.6f\n", kernel_name, thp, method,
			   size_str(size), ms);
	fflush(stdout);
	if (nresults < MAX_RESULTS) {
		struct result *r = &results[nresults++];

		snprintf(r->thp, sizeof(r->thp), "%s", thp);
		snprintf(r->method, sizeof(r->method), "%s", method);
		r->size = size;
		r->ms = ms;
	}
}

/* ---- userfaultfd -------------------------------------------------------- */

/* A userfaultfd with these features; -errno if the kernel refuses them. */
static int uffd_new(uint64_t features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	int e;

	/* Not root, vm.unprivileged_userfaultfd=0: user faults only (5.11+). */
	if (fd < 0 && errno == EPERM)
		fd = (int)syscall(__NR_userfaultfd,
				  O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api)) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static int uffd_register_wp(int fd, void *p, size_t len)
{
	struct uffdio_register r = {
		.range = { .start = (uintptr_t)p, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	return ioctl(fd, UFFDIO_REGISTER, &r) ? -errno : 0;
}

static int uffd_wp(int fd, void *p, size_t len, int protect)
{
	struct uffdio_writeprotect w = {
		.range = { .start = (uintptr_t)p, .len = len },
		.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(fd, UFFDIO_WRITEPROTECT, &w) ? -errno : 0;
}

/* ---- the environment ---------------------------------------------------- */

static int have_wpu;		/* the kernel grants WP_UNPOPULATED */
static int have_populate;	/* MADV_POPULATE_READ works */
static char backend[32] = "none";	/* /sys/kernel/uffd_wpu/backend */
static int module_loaded;

static void probe(void)
{
	struct stat st;
	void *p;
	int fd;

	fd = uffd_new(0);
	if (fd < 0) {
		fprintf(stderr, "wpu-bench: cannot open a userfaultfd: %s (run as root, "
			"or sysctl vm.unprivileged_userfaultfd=1)\n", strerror(-fd));
		exit(2);
	}
	close(fd);
	fd = uffd_new(UFFD_FEATURE_WP_UNPOPULATED);
	have_wpu = fd >= 0;
	if (fd >= 0)
		close(fd);
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	have_populate = p != MAP_FAILED && !madvise(p, PAGE, MADV_POPULATE_READ);
	if (p != MAP_FAILED)
		munmap(p, PAGE);
	module_loaded = stat("/sys/module/uffd_wpu", &st) == 0;
	if (read_file("/sys/kernel/uffd_wpu/backend", backend, sizeof(backend)))
		snprintf(backend, sizeof(backend), "%s",
			 have_wpu ? "native" : "none");
}

/* ---- mappings ----------------------------------------------------------- */

/* A fresh private anonymous range, 2 MiB aligned, with THP advice. */
static char *map_range(unsigned long long size, const char *thp)
{
	size_t total = size + 2 * MiB;
	char *p = mmap(NULL, total, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)p + 2 * MiB - 1) & ~(uintptr_t)(2 * MiB - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	if ((uintptr_t)p + total > a + size)
		munmap((void *)(a + size), (uintptr_t)p + total - (a + size));
	if (madvise((void *)a, size,
		    strcmp(thp, "always") ? MADV_NOHUGEPAGE : MADV_HUGEPAGE))
		fail("madvise(%s) of %s: %s", thp, size_str(size), strerror(errno));
	return (char *)a;
}

static void preread(char *p, unsigned long long size)
{
	unsigned long long off;
	volatile char sink;

	for (off = 0; off < size; off += PAGE)
		sink = p[off];
	(void)sink;
}

static void touch(char *p, unsigned long long size)
{
	unsigned long long off;

	for (off = 0; off < size; off += PAGE)
		((volatile char *)p)[off] = 1;
}

/* ---- 1. protect an empty range ------------------------------------------ */

enum method { M_PLAIN, M_PREREAD, M_POPULATE, M_WPU, M_WPU_ZP, M_NR };
static const char *method_names[M_NR] = {
	"plain", "preread", "populate", "wpu", "wpu-zp",
};

/*
 * The WP_UNPOPULATED method of access/unprotect/fork: wpu-zp when only it
 * was asked for; then only the cases that depend on it run (the others
 * were measured with the default backend already).
 */
static enum method wpu_m = M_WPU;
#define ZP_ONLY	(wpu_m == M_WPU_ZP)

static int method_available(enum method m, const char **why)
{
	switch (m) {
	case M_POPULATE:
		*why = "MADV_POPULATE_READ not supported (5.14+)";
		return have_populate;
	case M_WPU:
		*why = "UFFD_FEATURE_WP_UNPOPULATED not offered";
		return have_wpu;
	case M_WPU_ZP:
		*why = "uffd_wpu zero-page backend not loaded";
		return have_wpu && !strcmp(backend, "zeropage");
	default:
		return 1;
	}
}

/*
 * Map (and register and protect as method m does) a range; returns the
 * uffd, or -errno with the range unmapped.  *prep and *wp get the times.
 */
static int protect_range(enum method m, const char *thp, char **pp,
			 unsigned long long size, double *prep, double *wp)
{
	uint64_t features = m >= M_WPU ? UFFD_FEATURE_WP_UNPOPULATED : 0;
	double t0, t1, t2;
	char *p;
	int fd, e;

	p = map_range(size, thp);
	if (!p)
		return -errno;
	fd = uffd_new(features);
	if (fd < 0) {
		munmap(p, size);
		return fd;
	}
	e = uffd_register_wp(fd, p, size);
	if (e)
		goto out;
	t0 = now_ms();
	if (m == M_PREREAD)
		preread(p, size);
	else if (m == M_POPULATE && madvise(p, size, MADV_POPULATE_READ))
		e = -errno;
	t1 = now_ms();
	if (!e)
		e = uffd_wp(fd, p, size, 1);
	t2 = now_ms();
	if (!e) {
		*pp = p;
		*prep = t1 - t0;
		*wp = t2 - t1;
		return fd;
	}
out:
	close(fd);
	munmap(p, size);
	return e;
}

static void bench_protect(enum method m, const char *thp, unsigned long long size)
{
	const char *name = method_names[m], *why = "";
	int prepped = m == M_PREREAD || m == M_POPULATE;
	int n = prepped && size > GiB ? big_reps : reps;
	double prep[16], wp[16], tot[16];
	char part[40];
	int i;

	if (!method_available(m, &why)) {
		note("%s %s: %s", name, size_str(size), why);
		report(thp, name, size, -1);
		return;
	}
	for (i = 0; i < n; i++) {
		char *p;
		int fd = protect_range(m, thp, &p, size, &prep[i], &wp[i]);

		if (fd < 0) {
			/* Sizes past the guest's memory may not work: skip. */
			note("%s %s: skipped: %s", name, size_str(size),
			     strerror(-fd));
			if (size <= GiB)
				fail("%s %s failed: %s", name, size_str(size),
				     strerror(-fd));
			report(thp, name, size, -1);
			return;
		}
		tot[i] = prep[i] + wp[i];
		close(fd);
		munmap(p, size);
	}
	if (prepped) {
		snprintf(part, sizeof(part), "%s.prep", name);
		report(thp, part, size, median(prep, n));
		snprintf(part, sizeof(part), "%s.wp", name);
		report(thp, part, size, median(wp, n));
	}
	report(thp, name, size, median(tot, n));
}

/* ---- 2. access costs ---------------------------------------------------- */

struct handler {
	int fd;
	volatile int stop;
	long resolved;
};

/* Resolve every WP fault by unprotecting (and waking) its page. */
static void *handler_main(void *arg)
{
	struct handler *h = arg;

	while (!h->stop) {
		struct pollfd pfd = { .fd = h->fd, .events = POLLIN };
		struct uffd_msg msg;

		if (poll(&pfd, 1, 20) <= 0)
			continue;
		if (read(h->fd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		if (uffd_wp(h->fd, (void *)(uintptr_t)(msg.arg.pagefault.address &
				       ~(PAGE - 1)), PAGE, 0))
			fail("handler: unprotect: %s", strerror(errno));
		h->resolved++;
	}
	return NULL;
}

/*
 * One access run: a fresh range, populated (written) or not, protected with
 * WP_UNPOPULATED if protect, then every page read or written once.  Returns
 * ms per page, or -1.
 */
static double access_once(const char *thp, int populated, int protect, int write)
{
	unsigned long long size = ACCESS_SIZE, npages = size / PAGE;
	struct handler h = { .fd = -1 };
	pthread_t th;
	double t0, t1;
	char *p;

	p = map_range(size, thp);
	if (!p) {
		fail("access: mmap: %s", strerror(errno));
		return -1;
	}
	if (populated)
		touch(p, size);
	if (protect) {
		h.fd = uffd_new(UFFD_FEATURE_WP_UNPOPULATED);
		if (h.fd < 0 || uffd_register_wp(h.fd, p, size) ||
		    uffd_wp(h.fd, p, size, 1)) {
			fail("access: protect: %s", strerror(errno));
			goto out;
		}
		if (pthread_create(&th, NULL, handler_main, &h)) {
			fail("access: pthread_create failed");
			goto out;
		}
	}
	t0 = now_ms();
	if (write)
		touch(p, size);
	else
		preread(p, size);
	t1 = now_ms();
	if (protect) {
		h.stop = 1;
		pthread_join(th, NULL);
		if (write && h.resolved < (long)npages)
			fail("access: %ld WP faults for %llu written pages",
			     h.resolved, npages);
		if (!write && h.resolved)
			fail("access: %ld WP faults for reads", h.resolved);
	}
	if (h.fd >= 0)
		close(h.fd);
	munmap(p, size);
	return (t1 - t0) / npages;
out:
	if (h.fd >= 0)
		close(h.fd);
	munmap(p, size);
	return -1;
}

static void bench_access(const char *thp)
{
	static const struct {
		const char *name;
		int populated, protect, write, needs_wpu;
	} cases[] = {
		{ "read.none",	0, 0, 0, 0 },	/* first read of a hole */
		{ "read.hole",	0, 1, 0, 1 },	/* ... of a protected hole */
		{ "read.page",	1, 1, 0, 1 },	/* ... of a protected page */
		{ "write.none",	0, 0, 1, 0 },	/* first write of a hole */
		{ "write.hole",	0, 1, 1, 1 },	/* WP fault on a hole, resolved */
		{ "write.page",	1, 1, 1, 1 },	/* WP fault on a page, resolved */
	};
	const char *why;
	unsigned int c;
	int i;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char name[40];
		double v[16];

		if (ZP_ONLY && !cases[c].needs_wpu)
			continue;
		snprintf(name, sizeof(name), "%s%s", cases[c].name,
			 ZP_ONLY ? "-zp" : "");
		if (cases[c].needs_wpu && !method_available(wpu_m, &why)) {
			report(thp, name, PAGE, -1);
			continue;
		}
		for (i = 0; i < reps; i++) {
			v[i] = access_once(thp, cases[c].populated,
					   cases[c].protect, cases[c].write);
			if (v[i] < 0)
				break;
		}
		report(thp, name, PAGE, i < reps ? -1 : median(v, reps));
	}
}

/* ---- 3. unprotect, fork -------------------------------------------------- */

static void bench_unprotect(const char *thp, unsigned long long size)
{
	const enum method ms[] = { wpu_m, M_PREREAD };
	unsigned int k;
	int i;

	for (k = 0; k < (ZP_ONLY ? 1 : sizeof(ms) / sizeof(ms[0])); k++) {
		const char *why;
		char name[40];
		double v[16], prep, wp;

		snprintf(name, sizeof(name), "unprotect.%s", method_names[ms[k]]);
		if (!method_available(ms[k], &why)) {
			report(thp, name, size, -1);
			continue;
		}
		for (i = 0; i < reps; i++) {
			char *p;
			int fd = protect_range(ms[k], thp, &p, size, &prep, &wp);
			double t0;

			if (fd < 0) {
				fail("%s %s: %s", name, size_str(size), strerror(-fd));
				break;
			}
			t0 = now_ms();
			if (uffd_wp(fd, p, size, 0))
				fail("%s: %s", name, strerror(errno));
			v[i] = now_ms() - t0;
			close(fd);
			munmap(p, size);
		}
		report(thp, name, size, i < reps ? -1 : median(v, reps));
	}
}

/* fork() with the range prepared as method m (-1: mapped, untouched). */
static void bench_fork(const char *thp, unsigned long long size)
{
	const int ms[] = { -1, M_PREREAD, wpu_m };
	unsigned int k;
	int i;

	for (k = ZP_ONLY ? 2 : 0; k < sizeof(ms) / sizeof(ms[0]); k++) {
		const char *why, *mname = ms[k] < 0 ? "empty" : method_names[ms[k]];
		char name[40], name2[40];
		double v[16], w[16], prep, wp;

		snprintf(name, sizeof(name), "fork.%s", mname);
		snprintf(name2, sizeof(name2), "forkwait.%s", mname);
		if (ms[k] >= 0 && !method_available(ms[k], &why)) {
			report(thp, name, size, -1);
			report(thp, name2, size, -1);
			continue;
		}
		for (i = 0; i < reps; i++) {
			char *p;
			int fd = -1, st;
			double t0, t1;
			pid_t pid;

			if (ms[k] < 0) {
				p = map_range(size, thp);
				if (!p) {
					fail("%s: mmap: %s", name, strerror(errno));
					break;
				}
			} else {
				fd = protect_range(ms[k], thp, &p, size, &prep, &wp);
				if (fd < 0) {
					fail("%s: %s", name, strerror(-fd));
					break;
				}
			}
			t0 = now_ms();
			pid = fork();
			if (pid == 0)
				_exit(0);
			t1 = now_ms();
			if (pid < 0 || waitpid(pid, &st, 0) != pid)
				fail("%s: fork/wait: %s", name, strerror(errno));
			v[i] = t1 - t0;
			w[i] = now_ms() - t0;
			if (fd >= 0)
				close(fd);
			munmap(p, size);
		}
		report(thp, name, size, i < reps ? -1 : median(v, reps));
		report(thp, name2, size, i < reps ? -1 : median(w, reps));
	}
}

/* ---- 4. unrelated work of a process without userfaultfd ------------------ */

static void bench_other(const char *thp)
{
	const char *suffix = module_loaded ? "mod" : "nomod";
	unsigned long long size = OTHER_SIZE;
	double dn[16], mp[16], pf[16];
	char name[40];
	int i;

	for (i = 0; i < reps; i++) {
		double t0;
		char *p = map_range(size, thp);

		if (!p) {
			fail("other: mmap: %s", strerror(errno));
			return;
		}
		t0 = now_ms();
		touch(p, size);
		pf[i] = now_ms() - t0;

		t0 = now_ms();
		if (mprotect(p, size, PROT_READ) ||
		    mprotect(p, size, PROT_READ | PROT_WRITE))
			fail("other: mprotect: %s", strerror(errno));
		mp[i] = now_ms() - t0;

		t0 = now_ms();
		if (madvise(p, size, MADV_DONTNEED))
			fail("other: MADV_DONTNEED: %s", strerror(errno));
		dn[i] = now_ms() - t0;
		munmap(p, size);
	}
	snprintf(name, sizeof(name), "fault.%s", suffix);
	report(thp, name, size, median(pf, reps));
	snprintf(name, sizeof(name), "mprotect.%s", suffix);
	report(thp, name, size, median(mp, reps));
	snprintf(name, sizeof(name), "dontneed.%s", suffix);
	report(thp, name, size, median(dn, reps));
}

/* ---- tables ------------------------------------------------------------- */

static void print_tables(void)
{
	unsigned long long sizes[16];
	int nsizes = 0, i, j, k, t;
	const char *thps[2] = { "never", "always" };

	for (i = 0; i < nresults; i++) {
		for (j = 0; j < nsizes && sizes[j] != results[i].size; j++)
			;
		if (j == nsizes && nsizes < 16 && results[i].size != PAGE)
			sizes[nsizes++] = results[i].size;
	}
	for (t = 0; t < 2; t++) {
		char seen[MAX_RESULTS][32];
		int nseen = 0;

		for (i = 0; i < nresults; i++)
			if (!strcmp(results[i].thp, thps[t]))
				break;
		if (i == nresults)
			continue;
		printf("\n%s, THP %s, backend %s: ms (access: us per page)\n",
		       kernel_name, thps[t], backend);
		printf("%-20s", "method");
		for (j = 0; j < nsizes; j++)
			printf(" %10s", size_str(sizes[j]));
		printf(" %10s\n", "4K");
		for (i = 0; i < nresults; i++) {
			const struct result *r = &results[i];

			if (strcmp(r->thp, thps[t]))
				continue;
			for (k = 0; k < nseen && strcmp(seen[k], r->method); k++)
				;
			if (k < nseen)
				continue;
			snprintf(seen[nseen++], 32, "%s", r->method);
			printf("%-20s", r->method);
			for (j = 0; j <= nsizes; j++) {
				unsigned long long s = j < nsizes ? sizes[j] : PAGE;
				const struct result *f = NULL;

				for (k = 0; k < nresults; k++)
					if (!strcmp(results[k].thp, thps[t]) &&
					    !strcmp(results[k].method, r->method) &&
					    results[k].size == s)
						f = &results[k];
				if (!f)
					printf(" %10s", "");
				else if (f->ms < 0)
					printf(" %10s", "n/a");
				else if (s == PAGE)
					printf(" %10.3f", f->ms * 1e3);
				else
					printf(" %10.3f", f->ms);
			}
			printf("\n");
		}
	}
}

/* ---- main --------------------------------------------------------------- */

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
"usage: wpu-bench [--kernel NAME] [--thp never|always|both] [--sizes LIST]\n"
"                 [--methods LIST] [--reps N] [--big-reps N] [--quiet]\n"
"                 [--wpu-name NAME]\n"
"  --kernel NAME  name in the BENCH lines (default: major.minor of uname -r)\n"
"  --thp MODE     THP per range (MADV_NOHUGEPAGE / MADV_HUGEPAGE); default both\n"
"  --sizes LIST   comma-separated, e.g. 64M,256M,1G,4G,10G (default 64M,256M,1G)\n"
"  --methods LIST comma-separated from: plain preread populate wpu wpu-zp\n"
"                 access unprotect fork other; 'protect' = plain,preread,\n"
"                 populate,wpu; 'all' = protect + access,unprotect,fork,other\n"
"                 (default all)\n"
"  --reps N       runs per value, the median is reported (default 3)\n"
"  --big-reps N   runs of preread/populate above 1G (default: --reps; under\n"
"                 emulation 10G page by page takes a minute)\n"
"  --quiet        no tables, only BENCH lines\n"
"  --wpu-name N   report method wpu as N (e.g. wpu-huge: module with\n"
"                 huge_holes on, compared in the same boot)\n"
"access (16M) is per page; unprotect/fork use the largest of --sizes up to 1G;\n"
"other uses 64M.  With wpu-zp but not wpu, access/unprotect/fork measure only\n"
"the wpu-zp cases.\n");
	exit(status);
}

int main(int argc, char **argv)
{
	static char kbuf[sizeof(((struct utsname *)0)->release)];
	const char *wpu_name = NULL;
	const char *thp_arg = "both", *sizes_arg = "64M,256M,1G", *methods_arg = "all";
	unsigned long long sizes[16], ops_size = 0;
	int nsizes = 0, want[M_NR] = { 0 };
	int want_access = 0, want_unprotect = 0, want_fork = 0, want_other = 0;
	const char *thps[2];
	int nthp = 0, i, t;
	char *list, *tok, *save;
	struct utsname u;
	char thp_sys[128] = "?";

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			usage(0);
		if (!strcmp(a, "--quiet")) {
			quiet = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage(2);
		if (!strcmp(a, "--kernel"))
			kernel_name = argv[++i];
		else if (!strcmp(a, "--thp"))
			thp_arg = argv[++i];
		else if (!strcmp(a, "--sizes"))
			sizes_arg = argv[++i];
		else if (!strcmp(a, "--methods"))
			methods_arg = argv[++i];
		else if (!strcmp(a, "--reps"))
			reps = atoi(argv[++i]);
		else if (!strcmp(a, "--big-reps"))
			big_reps = atoi(argv[++i]);
		else if (!strcmp(a, "--wpu-name"))
			wpu_name = argv[++i];
		else
			usage(2);
	}
	if (!big_reps)
		big_reps = reps;
	if (reps < 1 || reps > 16 || big_reps < 1 || big_reps > 16)
		usage(2);
	if (!kernel_name) {
		char *dot;

		uname(&u);
		snprintf(kbuf, sizeof(kbuf), "%s", u.release);
		dot = strchr(kbuf, '.');
		if (dot && (dot = strchr(dot + 1, '.')))
			*dot = 0;
		kernel_name = kbuf;
	}
	if (!strcmp(thp_arg, "both")) {
		thps[nthp++] = "never";
		thps[nthp++] = "always";
	} else if (!strcmp(thp_arg, "never") || !strcmp(thp_arg, "always")) {
		thps[nthp++] = thp_arg;
	} else {
		usage(2);
	}

	list = strdup(sizes_arg);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned long long s = parse_size(tok);

		if (!s || nsizes == 16) {
			fprintf(stderr, "wpu-bench: bad size '%s'\n", tok);
			usage(2);
		}
		sizes[nsizes++] = s;
		if (s <= MAX_OPS_SIZE && s > ops_size)
			ops_size = s;
	}
	if (!ops_size)
		ops_size = MAX_OPS_SIZE;
	list = strdup(methods_arg);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int all = !strcmp(tok, "all"), prot = all || !strcmp(tok, "protect");
		int m, ok = all || prot;

		for (m = 0; m < M_NR; m++)
			if (!strcmp(tok, method_names[m]) || (prot && m != M_WPU_ZP))
				want[m] = ok = 1;
		if (all || !strcmp(tok, "access"))
			want_access = ok = 1;
		if (all || !strcmp(tok, "unprotect"))
			want_unprotect = ok = 1;
		if (all || !strcmp(tok, "fork"))
			want_fork = ok = 1;
		if (all || !strcmp(tok, "other"))
			want_other = ok = 1;
		if (!ok) {
			fprintf(stderr, "wpu-bench: unknown method '%s'\n", tok);
			usage(2);
		}
	}

	if (want[M_WPU_ZP] && !want[M_WPU])
		wpu_m = M_WPU_ZP;
	if (wpu_name)
		method_names[M_WPU] = wpu_name;
	probe();
	uname(&u);
	read_file("/sys/kernel/mm/transparent_hugepage/enabled", thp_sys,
		  sizeof(thp_sys));
	note("wpu-bench: kernel %s (%s), WP_UNPOPULATED %s, backend %s, "
	     "MADV_POPULATE_READ %s, uffd_wpu module %s", kernel_name, u.release,
	     have_wpu ? "yes" : "no", backend, have_populate ? "yes" : "no",
	     module_loaded ? "loaded" : "not loaded");
	note("THP enabled: %s; median of %d runs (preread/populate above 1G: %d)",
	     thp_sys, reps, big_reps);
	if (strstr(thp_sys, "[never]"))
		note("THP is off system-wide: 'always' rows are THP never");

	for (t = 0; t < nthp; t++) {
		for (i = 0; i < nsizes; i++) {
			int m;

			for (m = 0; m < M_NR; m++)
				if (want[m])
					bench_protect(m, thps[t], sizes[i]);
		}
		if (want_access)
			bench_access(thps[t]);
		if (want_unprotect)
			bench_unprotect(thps[t], ops_size);
		if (want_fork)
			bench_fork(thps[t], ops_size);
		if (want_other)
			bench_other(thps[t]);
	}
	if (!quiet)
		print_tables();
	return failed;
}
