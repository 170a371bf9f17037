// SPDX-License-Identifier: GPL-2.0
/*
 * scan-bench: dirty tracking of a populated private anonymous range with
 * UFFD_FEATURE_WP_ASYNC + the PAGEMAP_SCAN ioctl (6.7+ natively, or the
 * uffd_wpu module), against the old way on the same kernel, soft-dirty;
 * and what the PAGEMAP_SCAN interception costs an unrelated ioctl.
 *
 * Methods (--methods, comma-separated; default all):
 *
 *   scan       a range registered in an async context, fully populated and
 *              protected; then per run: write 1 %, 10 % or 100 % of its
 *              pages (every 100th / 10th / every page: the worst case for
 *              the number of regions), and time one PAGEMAP_SCAN of the
 *              whole range, category and return mask PAGE_IS_WRITTEN, with
 *              a vector big enough for every region:
 *                scan-wp   with PM_SCAN_WP_MATCHING: find the written pages
 *                          and protect them again (Wine's GetWriteWatch with
 *                          WRITE_WATCH_FLAG_RESET; a snapshot's next round)
 *                scan      without it: find only (then reset, not timed)
 *   softdirty  the same range and writes, tracked with soft-dirty bits:
 *                softdirty-find   pread of the range's /proc/self/pagemap
 *                                 entries, test bit 55 of each
 *                softdirty-clear  write "4" to /proc/self/clear_refs (it
 *                                 clears the whole process, not a range)
 *                softdirty-wp     find + clear: the equivalent of scan-wp
 *   ioctl      ns per call of ioctl(FIONREAD) on a pipe (through
 *              vfs_ioctl(), like PAGEMAP_SCAN) and, for scale, of getppid();
 *              the method name ends in ".mod" when /sys/module/uffd_wpu
 *              exists, ".nomod" otherwise
 *
 * Output, one line per value, then a table unless --quiet:
 *
 *   SCAN <kernel> <method> <written> <value>
 *
 * <written> is 1%, 10%, 100% (value: ms, median of --reps runs) or "-" for
 * the ioctl lines (value: ns per call).  "n/a" where the kernel cannot do
 * it (no WP_ASYNC / PAGEMAP_SCAN; no soft-dirty).  A scan that finds another
 * number of pages than was written is reported on stderr and makes the exit
 * status 1; there are no timing assertions.
 *
 * Build: gcc -O2 -static -o scan-bench scan-bench.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
#include <linux/userfaultfd.h>

#define BENCH_PROG "scan-bench"
#include "bench.h"

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC	(1ULL << 15)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY	1
#endif

/* PAGEMAP_SCAN ABI (include/uapi/linux/fs.h of 6.7+) */
#ifndef PAGEMAP_SCAN
struct page_region {
	uint64_t start, end, categories;
};

struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN		_IOWR('f', 16, struct pm_scan_arg)
#endif
#ifndef PAGE_IS_WRITTEN
#define PAGE_IS_WRITTEN		(1ULL << 1)
#endif
#ifndef PM_SCAN_WP_MATCHING
#define PM_SCAN_WP_MATCHING	(1ULL << 0)
#define PM_SCAN_CHECK_WPASYNC	(1ULL << 1)
#endif

#define PAGE		4096UL
#define MiB		(1024UL * 1024)
#define GiB		(1024 * MiB)
#define PM_SOFT_DIRTY	(1ULL << 55)

static const char *kernel_name;
static int reps = 3;
static int quiet;
static unsigned long size = GiB;
static long ioctl_calls = 200000;
static const int pcts[] = { 1, 10, 100 };
#define NPCT ((int)(sizeof(pcts) / sizeof(pcts[0])))

/* ---- results ------------------------------------------------------------ */

#define MAX_RESULTS 64
static struct {
	char method[40];
	int pct;		/* -1: ioctl line */
	double v;		/* < 0: n/a */
} results[MAX_RESULTS];
static int nresults;

static void report(const char *method, int pct, double v)
{
	char p[16];

	if (pct < 0)
		snprintf(p, sizeof(p), "-");
	else
		snprintf(p, sizeof(p), "%d%%", pct);
	if (v < 0)
		bench_line("SCAN %s %s %s n/a\n", kernel_name, method, p);
	else
		bench_line("SCAN %s %s %s %.6f\n", kernel_name, method, p, v);
	fflush(stdout);
	if (nresults < MAX_RESULTS) {
		snprintf(results[nresults].method, sizeof(results[0].method), "%s", method);
		results[nresults].pct = pct;
		results[nresults].v = v;
		nresults++;
	}
}

/* ---- the range ---------------------------------------------------------- */

static char *map_populated(void)
{
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	unsigned long i;

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, size, MADV_NOHUGEPAGE);
	for (i = 0; i < size; i += PAGE)
		p[i] = 1;
	return p;
}

/* Write pct % of the pages: every (100 / pct)-th.  Returns the count. */
static unsigned long write_pct(char *p, int pct, char val)
{
	unsigned long stride = 100 / (unsigned long)pct, i, n = 0;

	for (i = 0; i < size / PAGE; i += stride, n++)
		p[i * PAGE + 8] = val;
	return n;
}

/* ---- PAGEMAP_SCAN ------------------------------------------------------- */

static struct page_region *vec;
static unsigned long vec_len;

/* One PAGEMAP_SCAN of [p, p + size); pages found, or -errno. */
static long scan(int pmfd, char *p, uint64_t flags, int with_vec)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .flags = flags,
		.start = (uintptr_t)p, .end = (uintptr_t)p + size,
		.vec = with_vec ? (uintptr_t)vec : 0, .vec_len = with_vec ? vec_len : 0,
		.category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN,
	};
	long n = ioctl(pmfd, PAGEMAP_SCAN, &a), i, pages = 0;

	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++)
		pages += (long)((vec[i].end - vec[i].start) / PAGE);
	/* the vector has room for every region: n < vec_len, the walk is done */
	if (with_vec && (unsigned long)n >= vec_len)
		fail("PAGEMAP_SCAN filled the whole vector (%ld regions)", n);
	return pages;
}

static void bench_scan(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	double t[16];
	int uffd, pmfd, i, r, w;
	char *p;

	uffd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 && errno == EPERM)
		uffd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	pmfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (uffd < 0 || pmfd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
		printf("# scan: no UFFD_FEATURE_WP_ASYNC (%s)\n", strerror(errno));
		goto na;
	}
	p = map_populated();
	if (!p) {
		fail("mmap: %s", strerror(errno));
		goto na;
	}
	reg.range.start = (uintptr_t)p;
	reg.range.len = size;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		fail("UFFDIO_REGISTER: %s", strerror(errno));
		goto na;
	}
	/* protect everything: Wine's first ResetWriteWatch */
	if (scan(pmfd, p, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, 0) < 0) {
		printf("# scan: no PAGEMAP_SCAN (%s)\n", strerror(errno));
		munmap(p, size);
		goto na;
	}
	for (w = 0; w < 2; w++) {
		uint64_t flags = (w ? PM_SCAN_WP_MATCHING : 0) | PM_SCAN_CHECK_WPASYNC;

		for (i = 0; i < NPCT; i++) {
			for (r = 0; r < reps; r++) {
				unsigned long n = write_pct(p, pcts[i], (char)(r + 2));
				double t0 = now_ms();
				long found = scan(pmfd, p, flags, 1);

				t[r] = now_ms() - t0;
				if (found != (long)n)
					fail("%s %d%%: found %ld pages, wrote %lu",
					     w ? "scan-wp" : "scan", pcts[i], found, n);
				if (!w)	/* reset for the next run, not timed */
					scan(pmfd, p, PM_SCAN_WP_MATCHING, 0);
			}
			report(w ? "scan-wp" : "scan", pcts[i], median(t, reps));
		}
	}
	munmap(p, size);
	close(uffd);
	close(pmfd);
	return;
na:
	for (w = 0; w < 2; w++)
		for (i = 0; i < NPCT; i++)
			report(w ? "scan-wp" : "scan", pcts[i], -1);
	if (uffd >= 0)
		close(uffd);
	if (pmfd >= 0)
		close(pmfd);
}

/* ---- soft-dirty --------------------------------------------------------- */

static int clear_refs(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -1;
	r = write(fd, "4", 1) == 1 ? 0 : -1;
	close(fd);
	return r;
}

static void bench_softdirty(void)
{
	uint64_t *ent;
	size_t nent = size / PAGE;
	double tf[16], tc[16], tt[16];
	int pmfd, i, r;
	char *p;

	pmfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ent = malloc(nent * sizeof(*ent));
	p = map_populated();
	if (pmfd < 0 || !ent || !p) {
		fail("softdirty setup: %s", strerror(errno));
		goto na;
	}
	memset(ent, 0, nent * sizeof(*ent));
	if (clear_refs()) {
		printf("# softdirty: cannot write /proc/self/clear_refs (%s)\n", strerror(errno));
		goto na;
	}
	/* does the kernel track soft-dirty at all (CONFIG_MEM_SOFT_DIRTY)? */
	p[0] = 9;
	if (pread(pmfd, ent, sizeof(*ent), (off_t)((uintptr_t)p / PAGE * 8)) != 8 ||
	    !(ent[0] & PM_SOFT_DIRTY)) {
		printf("# softdirty: pagemap bit 55 not set by a write (no CONFIG_MEM_SOFT_DIRTY?)\n");
		goto na;
	}
	for (i = 0; i < NPCT; i++) {
		for (r = 0; r < reps; r++) {
			unsigned long n, found = 0, k;
			double t0, t1, t2;
			ssize_t got;

			t0 = now_ms();
			if (clear_refs())
				fail("clear_refs: %s", strerror(errno));
			t1 = now_ms();
			n = write_pct(p, pcts[i], (char)(r + 2));
			t2 = now_ms();
			got = pread(pmfd, ent, nent * sizeof(*ent),
				    (off_t)((uintptr_t)p / PAGE * sizeof(*ent)));
			for (k = 0; got == (ssize_t)(nent * sizeof(*ent)) && k < nent; k++)
				found += !!(ent[k] & PM_SOFT_DIRTY);
			tf[r] = now_ms() - t2;
			tc[r] = t1 - t0;
			tt[r] = tf[r] + tc[r];
			if (found != n)
				fail("softdirty %d%%: found %lu pages, wrote %lu (pread %zd)",
				     pcts[i], found, n, got);
		}
		report("softdirty-find", pcts[i], median(tf, reps));
		report("softdirty-clear", pcts[i], median(tc, reps));
		report("softdirty-wp", pcts[i], median(tt, reps));
	}
	munmap(p, size);
	free(ent);
	close(pmfd);
	return;
na:
	for (i = 0; i < NPCT; i++) {
		report("softdirty-find", pcts[i], -1);
		report("softdirty-clear", pcts[i], -1);
		report("softdirty-wp", pcts[i], -1);
	}
	if (p)
		munmap(p, size);
	free(ent);
	if (pmfd >= 0)
		close(pmfd);
}

/* ---- an unrelated ioctl ------------------------------------------------- */

static void bench_ioctl(void)
{
	const char *sfx = access("/sys/module/uffd_wpu", F_OK) ? "nomod" : "mod";
	char name[40];
	double t[16], u[16];
	int fds[2], r, avail;
	long i;

	if (pipe(fds)) {
		fail("pipe: %s", strerror(errno));
		return;
	}
	if (write(fds[1], "x", 1) != 1)
		fail("pipe write");
	for (r = 0; r < reps; r++) {
		double t0 = now_ms();

		for (i = 0; i < ioctl_calls; i++)
			if (ioctl(fds[0], FIONREAD, &avail) || avail != 1)
				break;
		t[r] = (now_ms() - t0) * 1e6 / (double)ioctl_calls;
		if (i != ioctl_calls)
			fail("FIONREAD: %s", strerror(errno));
		t0 = now_ms();
		for (i = 0; i < ioctl_calls; i++)
			syscall(SYS_getppid);
		u[r] = (now_ms() - t0) * 1e6 / (double)ioctl_calls;
	}
	snprintf(name, sizeof(name), "ioctl-fionread.%s", sfx);
	report(name, -1, median(t, reps));
	snprintf(name, sizeof(name), "getppid.%s", sfx);
	report(name, -1, median(u, reps));
	close(fds[0]);
	close(fds[1]);
}

/* ---- main --------------------------------------------------------------- */

static void print_table(void)
{
	static const char *const rows[] = {
		"scan-wp", "scan", "softdirty-wp", "softdirty-find", "softdirty-clear",
	};
	unsigned k;
	int i, j, any = 0;

	for (j = 0; j < nresults; j++)
		if (results[j].pct >= 0)
			any = 1;
	if (any) {
		printf("\n== %s: ms per scan of %lu MiB, populated (median of %d)\n",
		       kernel_name, size / MiB, reps);
		printf("%-18s", "written");
		for (i = 0; i < NPCT; i++)
			printf(" %9d%%", pcts[i]);
		printf("\n");
		for (k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
			int row = 0;

			for (j = 0; j < nresults; j++)
				if (!strcmp(results[j].method, rows[k]))
					row = 1;
			if (!row)
				continue;
			printf("%-18s", rows[k]);
			for (i = 0; i < NPCT; i++) {
				const char *s = "";
				char b[24];

				for (j = 0; j < nresults; j++)
					if (!strcmp(results[j].method, rows[k]) &&
					    results[j].pct == pcts[i]) {
						if (results[j].v < 0)
							s = "n/a";
						else {
							snprintf(b, sizeof(b), "%.3f", results[j].v);
							s = b;
						}
					}
				printf(" %10s", s);
			}
			printf("\n");
		}
	}
	for (j = 0; j < nresults; j++)
		if (results[j].pct < 0)
			printf("%-22s %8.1f ns per call\n", results[j].method, results[j].v);
}

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
"usage: scan-bench [--kernel NAME] [--size SIZE] [--methods LIST] [--reps N]\n"
"                  [--calls N] [--quiet]\n"
"  --kernel NAME  name in the SCAN lines (default: major.minor of uname -r)\n"
"  --size SIZE    range to track, e.g. 64M, 1G (default 1G)\n"
"  --methods LIST comma-separated from: scan softdirty ioctl all (default all)\n"
"  --reps N       runs per value, the median is reported (default 3)\n"
"  --calls N      ioctl/getppid calls per run (default 200000)\n"
"  --quiet        no table, only SCAN lines\n");
	exit(status);
}

int main(int argc, char **argv)
{
	static char kbuf[sizeof(((struct utsname *)0)->release)];
	const char *methods = "all";
	int want_scan = 0, want_sd = 0, want_ioctl = 0, i;
	char *list, *tok, *save;
	struct utsname u;

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
		if (!strcmp(a, "--kernel")) {
			kernel_name = argv[++i];
		} else if (!strcmp(a, "--size")) {
			char *end;

			size = strtoul(argv[++i], &end, 10);
			if (*end == 'G' || *end == 'g')
				size *= GiB;
			else if (*end == 'M' || *end == 'm')
				size *= MiB;
			else if (*end)
				usage(2);
			if (size < 100 * PAGE || size % PAGE)
				usage(2);
		} else if (!strcmp(a, "--methods")) {
			methods = argv[++i];
		} else if (!strcmp(a, "--reps")) {
			reps = atoi(argv[++i]);
		} else if (!strcmp(a, "--calls")) {
			ioctl_calls = atol(argv[++i]);
		} else {
			usage(2);
		}
	}
	if (reps < 1 || reps > 16 || ioctl_calls < 1)
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
	list = strdup(methods);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int all = !strcmp(tok, "all");

		if (all || !strcmp(tok, "scan"))
			want_scan = 1;
		if (all || !strcmp(tok, "softdirty"))
			want_sd = 1;
		if (all || !strcmp(tok, "ioctl"))
			want_ioctl = 1;
		if (!all && strcmp(tok, "scan") && strcmp(tok, "softdirty") && strcmp(tok, "ioctl"))
			usage(2);
	}
	uname(&u);
	printf("# scan-bench: kernel %s (%s), uffd_wpu module %s, %lu MiB, median of %d\n",
	       kernel_name, u.release,
	       access("/sys/module/uffd_wpu", F_OK) ? "not loaded" : "loaded",
	       size / MiB, reps);
	if (want_ioctl)
		bench_ioctl();
	if (want_scan || want_sd) {
		vec_len = size / PAGE / 2 + 1;	/* every other page written: the most regions */
		vec = calloc(vec_len, sizeof(*vec));
		if (!vec) {
			fail("vector: %s", strerror(errno));
			return 1;
		}
		memset(vec, 0, vec_len * sizeof(*vec));
	}
	if (want_scan)
		bench_scan();
	if (want_sd)
		bench_softdirty();
	if (!quiet)
		print_table();
	return failed;
}
