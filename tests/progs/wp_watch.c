// SPDX-License-Identifier: GPL-2.0
/*
 * wp_watch: write watches the way Wine / Proton implement GetWriteWatch and
 * ResetWriteWatch on 6.7+: an async uffd-wp context plus the PAGEMAP_SCAN
 * ioctl on /proc/PID/pagemap.
 *
 * A 32 MiB region of holes, present 4 KiB pages, THPs and swapped-out pages
 * is registered (UFFDIO_REGISTER_MODE_WP, context with WP_ASYNC) and
 * protected by one PAGEMAP_SCAN with PM_SCAN_WP_MATCHING |
 * PM_SCAN_CHECK_WPASYNC (category and return mask PAGE_IS_WRITTEN, no
 * output vector).  Then, round after round, threads write a random known
 * set of pages (the truth; a page written twice counts once, a page
 * dropped with MADV_DONTNEED counts as written, reads and MADV_PAGEOUT do
 * not count), and the written pages are collected with PAGEMAP_SCAN:
 *
 *   wpmatch-vec1     WP_MATCHING, a one-entry vector: one region per call
 *   wpmatch-vec7     WP_MATCHING, seven entries
 *   wpmatch-maxpages WP_MATCHING, a big vector but max_pages 1..64
 *   getwritewatch    no WP_MATCHING (GetWriteWatch without reset), twice
 *                    (same answer), then the reset (WP_MATCHING, no vector)
 *   scan-then-uffdio-writeprotect
 *                    a scan without flags, the reset by UFFDIO_WRITEPROTECT
 *                    (one call per VMA)
 *   concurrent       writers keep writing (and a thread drops pages with
 *                    MADV_DONTNEED and swaps some out) while the scans
 *                    run; in the end the union of all answers is the set
 *                    of pages written or dropped
 *
 * A call that filled its vector or reached max_pages is partial: the next
 * one starts where it stopped (walk_end; see scan_all() for 6.7+'s stale
 * walk_end); each result is compared with the truth: 0 missed, 0 false
 * positives, no page reported twice, regions sorted and inside the range,
 * categories == PAGE_IS_WRITTEN; after a WP_MATCHING round a scan finds
 * nothing.  Then the ABI: error codes, categories, THPs cut by max_pages,
 * the meaning of "written", the pagemap file of another process and one
 * inherited from another process.
 *
 * Kernels without WP_ASYNC or PAGEMAP_SCAN: one SKIP line.
 */
#include "uffd_util.h"

#include <sys/wait.h>

static struct u_env env;

#define ASYNC		UFFD_FEATURE_WP_ASYNC
#define W		PAGE_IS_WRITTEN

#define NPAGES		8192			/* 32 MiB */
#define REGION		(NPAGES * PAGE)
#define Q		(NPAGES / 4)		/* pages per quarter */
#define NTHREADS	4
#define ROUNDS		50

static char *base;
static int uffd = -1, pmfd = -1;
static uint32_t rnd_state = 0x2545f491;

static uint32_t rnd(void)
{
	return u_xorshift32(&rnd_state);
}

/* ---- the scan loop ------------------------------------------------------ */

struct scan_res {
	long calls;
	long regions;
	long pages;
	long dups;		/* pages reported twice */
	int err;		/* first -errno of a call, 0 */
	char bad[200];		/* first malformed region / stuck walk, "" */
};

/*
 * Scan [lo, hi) with flags until the whole range is done; mark the
 * reported pages in seen[] (page index relative to base).  vec_len 0: no
 * vector.
 *
 * A call is partial when its vector is full or it reported max_pages
 * pages; then the next call starts where it stopped.  Otherwise the walk
 * reached hi.  walk_end is not trusted for the latter: 6.7 - 6.18 (native
 * 6.12 here) leave walk_end at the stop of an earlier internal pass when the
 * kernel's 512-entry bounce buffer filled and the last pass then finished
 * (more than 512 regions in one call): regions past walk_end come back
 * with a walk_end before them.  After a full vector the next call starts at
 * max(walk_end, end of the last region): everything before it was walked.
 */
static void scan_all(int fd, char *lo, char *hi, uint64_t flags, size_t vec_len,
		     uint64_t max_pages, unsigned char *seen, struct scan_res *r)
{
	static struct page_region vec[4096];
	uint64_t start = (uintptr_t)lo, end = (uintptr_t)hi;

	memset(r, 0, sizeof(*r));
	while (start < end) {
		uint64_t walk_end = 0, prev_end = start, got = 0, next;
		long n, i;
		int partial;

		n = pm_scan(fd, (void *)(uintptr_t)start, hi, flags,
			    vec_len ? vec : NULL, vec_len, max_pages, W, W, &walk_end);
		r->calls++;
		if (n < 0) {
			r->err = (int)n;
			return;
		}
		if ((size_t)n > vec_len) {
			snprintf(r->bad, sizeof(r->bad), "call %ld returned %ld > vec_len %zu",
				 r->calls, n, vec_len);
			return;
		}
		for (i = 0; i < n; i++) {
			struct page_region *v = &vec[i];
			uint64_t a;

			if (v->start >= v->end || v->start % PAGE || v->end % PAGE ||
			    v->start < prev_end || v->end > end || v->categories != W) {
				snprintf(r->bad, sizeof(r->bad),
					 "call %ld region %ld [%#llx, %#llx) cat %#llx: not sorted, not inside [%#llx, %#llx) or categories != WRITTEN",
					 r->calls, i, (unsigned long long)v->start,
					 (unsigned long long)v->end, (unsigned long long)v->categories,
					 (unsigned long long)prev_end, (unsigned long long)end);
				return;
			}
			prev_end = v->end;
			for (a = v->start; a < v->end; a += PAGE) {
				size_t pg = (a - (uintptr_t)base) / PAGE;

				if (seen[pg])
					r->dups++;
				seen[pg] = 1;
				got++;
			}
		}
		r->regions += n;
		r->pages += (long)got;
		if (max_pages && got > max_pages) {
			snprintf(r->bad, sizeof(r->bad), "call %ld: %llu pages > max_pages %llu",
				 r->calls, (unsigned long long)got, (unsigned long long)max_pages);
			return;
		}
		partial = vec_len && ((size_t)n == vec_len || (max_pages && got == max_pages));
		if (!partial)
			break;
		next = walk_end > prev_end ? walk_end : prev_end;
		if (next <= start || next > end) {
			snprintf(r->bad, sizeof(r->bad),
				 "call %ld from %#llx: partial (%ld regions, %llu pages), walk_end %#llx, last region end %#llx: no progress",
				 r->calls, (unsigned long long)start, n, (unsigned long long)got,
				 (unsigned long long)walk_end, (unsigned long long)prev_end);
			return;
		}
		start = next;
	}
}

/* Compare seen[] with truth[]; 1 if equal.  why: first difference. */
static int compare(const unsigned char *seen, const unsigned char *truth,
		   long *missed, long *falsep, char *why, size_t len)
{
	long i;

	*missed = *falsep = 0;
	for (i = 0; i < NPAGES; i++) {
		if (truth[i] && !seen[i]) {
			if (!*missed && !*falsep)
				snprintf(why, len, "page %ld (quarter %ld) written, not reported",
					 i, i / Q);
			(*missed)++;
		} else if (!truth[i] && seen[i]) {
			if (!*missed && !*falsep)
				snprintf(why, len, "page %ld (quarter %ld) reported, not written",
					 i, i / Q);
			(*falsep)++;
		}
	}
	return !*missed && !*falsep;
}

/* ---- writers ----------------------------------------------------------- */

struct writer {
	pthread_t th;
	int *pages;
	int n;
	unsigned char val;
	pthread_barrier_t *bar;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	int i;

	pthread_barrier_wait(w->bar);
	for (i = 0; i < w->n; i++)
		base[(size_t)w->pages[i] * PAGE + (size_t)(w->pages[i] % 4000)] = (char)w->val;
	return NULL;
}

/*
 * One round of writes: a random set (random pages, some contiguous runs,
 * some pages written by two threads), MADV_DONTNEED of a few pages, reads
 * and MADV_PAGEOUT of some others.  truth[] gets every page written.
 */
static int write_round(int round, unsigned char *truth)
{
	static int list[NTHREADS][4096];
	struct writer w[NTHREADS];
	pthread_barrier_t bar;
	int n[NTHREADS] = { 0 }, k, i, t;
	volatile char sink = 0;

	memset(truth, 0, NPAGES);
	k = (int)(rnd() % 700);
	for (i = 0; i < k; i++) {
		int pg = (int)(rnd() % NPAGES);

		t = (int)(rnd() % NTHREADS);
		list[t][n[t]++] = pg;
		truth[pg] = 1;
		if (rnd() % 8 == 0) {		/* the same page from another thread */
			t = (t + 1) % NTHREADS;
			list[t][n[t]++] = pg;
		}
	}
	if (rnd() % 3 == 0) {			/* a contiguous run */
		int len = 1 + (int)(rnd() % 600), pg0 = (int)(rnd() % (NPAGES - len));

		for (i = 0; i < len; i++) {
			t = i % NTHREADS;
			if (n[t] < 4096) {
				list[t][n[t]++] = pg0 + i;
				truth[pg0 + i] = 1;
			}
		}
	}
	pthread_barrier_init(&bar, NULL, NTHREADS);
	for (t = 0; t < NTHREADS; t++) {
		w[t].pages = list[t];
		w[t].n = n[t];
		w[t].val = (unsigned char)(round + 1);
		w[t].bar = &bar;
		if (pthread_create(&w[t].th, NULL, writer_fn, &w[t]))
			return -1;
	}
	for (t = 0; t < NTHREADS; t++)
		pthread_join(w[t].th, NULL);
	pthread_barrier_destroy(&bar);

	/* reads: never "written" */
	for (i = 0; i < 64; i++)
		sink += base[(size_t)(rnd() % NPAGES) * PAGE];
	(void)sink;
	/* MADV_PAGEOUT of 512 KiB somewhere: written or not, it stays so */
	i = (int)(rnd() % (NPAGES - 128));
	madvise(base + (size_t)i * PAGE, 128 * PAGE, MADV_PAGEOUT);
	/* MADV_DONTNEED drops a page: it counts as written (the data changed) */
	if (round % 5 == 2) {
		for (i = 0; i < 3; i++) {
			int pg = (int)(rnd() % NPAGES);

			if (!madvise(base + (size_t)pg * PAGE, PAGE, MADV_DONTNEED))
				truth[pg] = 1;
		}
	}
	return 0;
}

/* ---- setup ------------------------------------------------------------- */

static int setup_region(void)
{
	int i;
	uint64_t e;

	base = map_anon_aligned(REGION, HPAGE, MADV_NOHUGEPAGE);
	if (!base)
		return -1;
	/* quarter 0: holes; 1: present (every 5th page a hole); 2: THP; 3: swapped */
	madvise(base + 2 * Q * PAGE, Q * PAGE, MADV_HUGEPAGE);
	for (i = Q; i < 2 * Q; i++)
		if (i % 5)
			base[(size_t)i * PAGE] = 1;
	for (i = 2 * Q; i < 4 * Q; i++)
		base[(size_t)i * PAGE] = 2;
	madvise(base + 3 * Q * PAGE, Q * PAGE, MADV_PAGEOUT);
	e = pagemap(base + 3 * Q * PAGE);
	fprintf(stderr, "wp_watch: THP quarter AnonHugePages %ld kB, swap quarter first page %s\n",
		u_anon_huge_kb(base + 2 * Q * PAGE), (e & PM_SWAP) ? "swapped" : "not swapped");
	if (uffd_register_wp(uffd, base, REGION))
		return -1;
	return 0;
}

/* ---- the rounds -------------------------------------------------------- */

enum { V_VEC1, V_VEC7, V_MAXPAGES, V_GWW, V_UFFDIO, V_N };
static const char *const vname[V_N] = {
	"wpmatch-vec1", "wpmatch-vec7", "wpmatch-maxpages", "getwritewatch",
	"scan-then-uffdio-writeprotect",
};

struct vstat {
	int rounds;
	long missed, falsep, dups, pages, calls;
	char why[240];
	int failed;
};

static void note_fail(struct vstat *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note_fail(struct vstat *s, const char *fmt, ...)
{
	va_list ap;

	if (s->failed++)
		return;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

static void t_rounds(void)
{
	static unsigned char truth[NPAGES], seen[NPAGES], seen2[NPAGES];
	struct vstat st[V_N];
	struct vstat reset = { 0 };
	struct scan_res r;
	long missed, falsep;
	char why[160];
	int round, v;

	memset(st, 0, sizeof(st));
	for (round = 0; round < ROUNDS; round++) {
		uint64_t flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
		size_t vec_len = 4096;
		uint64_t max_pages = 0;
		struct vstat *s;

		v = round % V_N;
		s = &st[v];
		u_current = vname[v];
		if (write_round(round, truth)) {
			note_fail(s, "round %d: writer threads", round);
			continue;
		}
		s->rounds++;
		if (v == V_VEC1)
			vec_len = 1;
		else if (v == V_VEC7)
			vec_len = 7;
		else if (v == V_MAXPAGES)
			max_pages = 1 + rnd() % 64;
		else if (v == V_UFFDIO)
			flags = 0;
		else
			flags = PM_SCAN_CHECK_WPASYNC;
		memset(seen, 0, NPAGES);
		scan_all(pmfd, base, base + REGION, flags, vec_len, max_pages, seen, &r);
		s->calls += r.calls;
		s->pages += r.pages;
		s->dups += r.dups;
		if (r.err) {
			note_fail(s, "round %d: PAGEMAP_SCAN call %ld: %s", round, r.calls,
				  strerror(-r.err));
			continue;
		}
		if (r.bad[0]) {
			note_fail(s, "round %d: %s", round, r.bad);
			continue;
		}
		if (!compare(seen, truth, &missed, &falsep, why, sizeof(why))) {
			s->missed += missed;
			s->falsep += falsep;
			note_fail(s, "round %d: %ld missed, %ld false: %s", round, missed,
				  falsep, why);
		}
		if (v == V_GWW) {
			/* GetWriteWatch again: the same answer, nothing was reset */
			memset(seen2, 0, NPAGES);
			scan_all(pmfd, base, base + REGION, flags, 64, 0, seen2, &r);
			if (r.err || r.bad[0] || memcmp(seen, seen2, NPAGES))
				note_fail(s, "round %d: second GetWriteWatch differs (%s%s)", round,
					  r.err ? strerror(-r.err) : "", r.bad);
			/* ResetWriteWatch: WP_MATCHING without a vector */
			if (pm_scan(pmfd, base, base + REGION,
				    PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
				    NULL, 0, 0, W, W, NULL) != 0)
				note_fail(s, "round %d: reset scan: %s", round, strerror(errno));
		}
		/* one call per VMA: before 6.5 UFFDIO_WRITEPROTECT takes one VMA only
		 * (wp_async/writeprotect-across-vmas checks the 6.5+ behaviour) */
		if (v == V_UFFDIO && (uffd_wp(uffd, base, 2 * Q * PAGE, 1) ||
				      uffd_wp(uffd, base + 2 * Q * PAGE, Q * PAGE, 1) ||
				      uffd_wp(uffd, base + 3 * Q * PAGE, Q * PAGE, 1)))
			note_fail(s, "round %d: UFFDIO_WRITEPROTECT: %s", round, strerror(errno));
		/* reset worked: nothing is written now */
		memset(seen2, 0, NPAGES);
		scan_all(pmfd, base, base + REGION, PM_SCAN_CHECK_WPASYNC, 4096, 0, seen2, &r);
		reset.rounds++;
		if (r.err || r.bad[0] || r.pages)
			note_fail(&reset, "after round %d (%s): %ld pages still written%s%s", round,
				  vname[v], r.pages, r.err ? ", error " : "", r.bad);
	}
	for (v = 0; v < V_N; v++) {
		struct vstat *s = &st[v];

		fprintf(stderr, "wp_watch: %s: %d rounds, %ld pages reported in %ld calls\n",
			vname[v], s->rounds, s->pages, s->calls);
		T_CHECK(vname[v], !s->failed && !s->dups && s->rounds,
			"%d bad rounds of %d, %ld missed, %ld false, %ld reported twice; first: %s",
			s->failed, s->rounds, s->missed, s->falsep, s->dups, s->why);
	}
	T_CHECK("reset-leaves-nothing-written", !reset.failed, "%d rounds: %s",
		reset.failed, reset.why);
}

/* Writers keep writing while the scans run. */
struct cwriter {
	pthread_t th;
	volatile int *stop;
	uint32_t seed;
	unsigned char *written;		/* shared truth, set before the write */
	long n;
};

static void *cwriter_fn(void *arg)
{
	struct cwriter *w = arg;
	uint32_t s = w->seed;

	while (!*w->stop) {
		int pg;

		u_xorshift32(&s);
		pg = (int)(s % 1500) * 5 % NPAGES;	/* a pool of 1500 pages */
		__atomic_store_n(&w->written[pg], 1, __ATOMIC_SEQ_CST);
		base[(size_t)pg * PAGE + 100] = (char)s;
		w->n++;
		if (w->n % 16 == 0)
			sched_yield();
	}
	return NULL;
}

/* MADV_DONTNEED (counts as written) and MADV_PAGEOUT while the scans run */
struct chaos {
	pthread_t th;
	volatile int *stop;
	unsigned char *written;
	long n;
};

static void *chaos_fn(void *arg)
{
	struct chaos *c = arg;
	uint32_t s = 0xdeadbeef;

	while (!*c->stop) {
		int pg;

		u_xorshift32(&s);
		pg = (int)(s % (NPAGES - 16));
		if (s & 0x100) {
			__atomic_store_n(&c->written[pg], 1, __ATOMIC_SEQ_CST);
			madvise(base + (size_t)pg * PAGE, PAGE, MADV_DONTNEED);
		} else {
			madvise(base + (size_t)pg * PAGE, 16 * PAGE, MADV_PAGEOUT);
		}
		c->n++;
		u_sleep_ms(1);
	}
	return NULL;
}

static void t_concurrent(void)
{
	struct chaos ch;
	static unsigned char written[NPAGES], seen[NPAGES];
	struct cwriter w[2];
	volatile int stop = 0;
	struct scan_res r;
	long missed, falsep, scans = 0, nw = 0;
	char why[160] = "", bad[240] = "";
	long long end;
	int i;

	u_current = "concurrent";
	/* start clean: protect everything */
	if (pm_scan(pmfd, base, base + REGION, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		    NULL, 0, 0, W, W, NULL)) {
		t_fail("concurrent", "reset: %s", strerror(errno));
		return;
	}
	memset(written, 0, NPAGES);
	memset(seen, 0, NPAGES);
	ch.stop = &stop;
	ch.written = written;
	ch.n = 0;
	if (pthread_create(&ch.th, NULL, chaos_fn, &ch)) {
		t_fail("concurrent", "thread");
		return;
	}
	for (i = 0; i < 2; i++) {
		w[i].stop = &stop;
		w[i].seed = 0x1234567u * (uint32_t)(i + 3);
		w[i].written = written;
		w[i].n = 0;
		if (pthread_create(&w[i].th, NULL, cwriter_fn, &w[i])) {
			t_fail("concurrent", "thread");
			stop = 1;
			return;
		}
	}
	end = u_now_ms() + 3000;
	while ((u_now_ms() < end || scans < 5) && !bad[0]) {
		if (u_now_ms() > end + 60000)	/* a starved guest: enough */
			break;
		/* seen[] accumulates: a page may be reported by several scans */
		static unsigned char once[NPAGES];

		memset(once, 0, NPAGES);
		scan_all(pmfd, base, base + REGION, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
			 1 + rnd() % 16, 0, once, &r);
		scans++;
		if (r.err || r.bad[0] || r.dups)
			snprintf(bad, sizeof(bad), "scan %ld: %s%s, %ld dups", scans,
				 r.err ? strerror(-r.err) : "", r.bad, r.dups);
		for (i = 0; i < NPAGES; i++)
			if (once[i]) {
				seen[i] = 1;
				/* reported: it must have been written already */
				if (!__atomic_load_n(&written[i], __ATOMIC_SEQ_CST) && !bad[0])
					snprintf(bad, sizeof(bad),
						 "scan %ld reported page %d, never written", scans, i);
			}
	}
	stop = 1;
	for (i = 0; i < 2; i++) {
		pthread_join(w[i].th, NULL);
		nw += w[i].n;
	}
	pthread_join(ch.th, NULL);
	/* the last scan, writers stopped */
	scan_all(pmfd, base, base + REGION, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		 4096, 0, seen, &r);
	fprintf(stderr, "wp_watch: concurrent: %ld scans, %ld writes, %ld madvise\n", scans + 1,
		nw, ch.n);
	T_CHECK("concurrent-scans-valid", !bad[0] && !r.err && !r.bad[0], "%s%s",
		bad, r.bad);
	compare(seen, written, &missed, &falsep, why, sizeof(why));
	T_CHECK("concurrent", !missed && !falsep && scans > 1,
		"%ld scans: %ld missed, %ld false: %s", scans, missed, falsep, why);
}

/* ---- the ABI ----------------------------------------------------------- */

static long scan_raw(int fd, struct pm_scan_arg *a)
{
	return ioctl(fd, PAGEMAP_SCAN, a) < 0 ? -errno : 0;
}

static struct pm_scan_arg good_arg(void *lo, void *hi)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .start = (uintptr_t)lo, .end = (uintptr_t)hi,
		.category_mask = W, .return_mask = W,
	};

	return a;
}

static void t_errors(void)
{
	static struct page_region vec[8];
	static const uint64_t bad_sizes[] = { 0, 8, sizeof(struct pm_scan_arg) - 8,
					       sizeof(struct pm_scan_arg) + 8 };
	static const uint64_t bad_flags[] = { 1ULL << 2, 1ULL << 31, 1ULL << 63 };
	static const uint64_t bad_cats[] = { 1ULL << 31, 1ULL << 48, 1ULL << 63 };
	struct pm_scan_arg a;
	char *lo = base, *hi = base + 16 * PAGE;
	char why[200] = "";
	unsigned i, m;
	long r;
	int ok;

	u_current = "errors";
	a = good_arg(lo, hi);
	r = scan_raw(pmfd, &a);
	T_CHECK("einval-control-good-arg", r == 0, "the valid argument: %s", strerror((int)-r));

	ok = 1;
	for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		a = good_arg(lo, hi);
		a.size = bad_sizes[i];
		r = scan_raw(pmfd, &a);
		if (r != -EINVAL && ok) {
			snprintf(why, sizeof(why), "size %llu: %s", (unsigned long long)a.size,
				 r ? strerror((int)-r) : "accepted");
			ok = 0;
		}
	}
	T_CHECK("einval-size", ok, "%s", why);

	ok = 1;
	for (i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		a = good_arg(lo, hi);
		a.flags = bad_flags[i];
		r = scan_raw(pmfd, &a);
		if (r != -EINVAL && ok) {
			snprintf(why, sizeof(why), "flags %#llx: %s", (unsigned long long)a.flags,
				 r ? strerror((int)-r) : "accepted");
			ok = 0;
		}
	}
	T_CHECK("einval-flags", ok, "%s", why);

	ok = 1;
	for (i = 0; i < sizeof(bad_cats) / sizeof(bad_cats[0]); i++)
		for (m = 0; m < 4; m++) {
			a = good_arg(lo, hi);
			*(&a.category_inverted + m) |= bad_cats[i];
			r = scan_raw(pmfd, &a);
			if (r != -EINVAL && ok) {
				snprintf(why, sizeof(why), "%s |= %#llx: %s",
					 (const char *[]){ "category_inverted", "category_mask",
						"category_anyof_mask", "return_mask" }[m],
					 (unsigned long long)bad_cats[i],
					 r ? strerror((int)-r) : "accepted");
				ok = 0;
			}
		}
	T_CHECK("einval-category-bits", ok, "%s", why);

	a = good_arg(lo + 1, hi);
	r = scan_raw(pmfd, &a);
	T_CHECK("einval-unaligned-start", r == -EINVAL, "start %p: %s", (void *)(lo + 1),
		r ? strerror((int)-r) : "accepted");

	a = good_arg(lo, hi);
	a.vec = 0;
	a.vec_len = 4;
	r = scan_raw(pmfd, &a);
	T_CHECK("einval-vec-null-with-len", r == -EINVAL, "vec NULL, vec_len 4: %s",
		r ? strerror((int)-r) : "accepted");

	/* an unaligned end is rounded up, not refused */
	a = good_arg(lo, hi - 100);
	a.vec = (uintptr_t)vec;
	a.vec_len = 8;
	r = ioctl(pmfd, PAGEMAP_SCAN, &a);
	T_CHECK("unaligned-end-accepted", r >= 0 && a.walk_end == (uintptr_t)hi,
		"ret %ld (%s), walk_end %#llx, want %p", r, r < 0 ? strerror(errno) : "",
		(unsigned long long)a.walk_end, (void *)hi);
}

static void t_wpasync_checks(void)
{
	char *plain = map_anon(4 * PAGE), *sync_p = map_anon(4 * PAGE);
	int sfd = uffd_new(UFFD_FEATURE_WP_UNPOPULATED);
	struct page_region vec[4];
	long r;

	u_current = "wpasync";
	if (!plain || !sync_p || sfd < 0 || uffd_register_wp(sfd, sync_p, 4 * PAGE)) {
		t_fail("eperm-check-wpasync", "setup: %s", strerror(errno));
		return;
	}
	plain[0] = 1;
	sync_p[0] = 1;
	r = pm_scan(pmfd, plain, plain + 4 * PAGE, PM_SCAN_CHECK_WPASYNC, vec, 4, 0, W, W, NULL);
	T_CHECK("eperm-check-wpasync-unregistered", r == -EPERM,
		"unregistered anonymous VMA: %s", r < 0 ? strerror((int)-r) : "accepted");
	r = pm_scan(pmfd, sync_p, sync_p + 4 * PAGE,
		    PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, vec, 4, 0, W, W, NULL);
	T_CHECK("eperm-check-wpasync-sync-context", r == -EPERM,
		"VMA of a context without WP_ASYNC: %s", r < 0 ? strerror((int)-r) : "accepted");
	/* the async region itself passes the check */
	r = pm_scan(pmfd, base, base + REGION, PM_SCAN_CHECK_WPASYNC, vec, 4, 0, W, W, NULL);
	T_CHECK("check-wpasync-async-ok", r >= 0, "async region: %s",
		r < 0 ? strerror((int)-r) : "");
	/* WP_MATCHING without CHECK_WPASYNC skips a non-async VMA silently */
	r = pm_scan(pmfd, plain, plain + 4 * PAGE, PM_SCAN_WP_MATCHING, vec, 4, 0, W, W, NULL);
	T_CHECK("wp-matching-skips-non-async", r == 0, "ret %ld (%s)", r,
		r < 0 ? strerror((int)-r) : "regions reported");
	if (env.pm_uffd_wp)
		T_CHECK("wp-matching-skips-non-async-not-protected",
			!pm_wp(plain) && !pm_wp(sync_p), "pagemap %#llx %#llx",
			(unsigned long long)pagemap(plain), (unsigned long long)pagemap(sync_p));
	else
		t_skip("wp-matching-skips-non-async-not-protected", NO_PM_REASON);
	/* without WP flags a non-async VMA can be scanned */
	r = pm_scan(pmfd, plain, plain + 4 * PAGE, 0, vec, 4, 0, PAGE_IS_PRESENT,
		    PAGE_IS_PRESENT, NULL);
	T_CHECK("scan-non-async-present", r == 1 && vec[0].start == (uintptr_t)plain &&
		vec[0].end == (uintptr_t)(plain + PAGE) && vec[0].categories == PAGE_IS_PRESENT,
		"ret %ld, vec[0] [%#llx, %#llx) %#llx, want [%p, +4K) PRESENT", r,
		(unsigned long long)vec[0].start, (unsigned long long)vec[0].end,
		(unsigned long long)vec[0].categories, (void *)plain);
	/* no WPALLOWED outside async VMAs; inside, every page has it */
	r = pm_scan(pmfd, sync_p, sync_p + 4 * PAGE, 0, vec, 4, 0, PAGE_IS_WPALLOWED,
		    PAGE_IS_WPALLOWED, NULL);
	T_CHECK("category-wpallowed-sync", r == 0, "ret %ld", r);
	r = pm_scan(pmfd, base, base + 8 * PAGE, 0, vec, 4, 0, PAGE_IS_WPALLOWED,
		    PAGE_IS_WPALLOWED, NULL);
	T_CHECK("category-wpallowed-async", r == 1 && vec[0].start == (uintptr_t)base &&
		vec[0].end == (uintptr_t)(base + 8 * PAGE) &&
		vec[0].categories == PAGE_IS_WPALLOWED,
		"ret %ld, vec[0] [%#llx, %#llx) %#llx", r, (unsigned long long)vec[0].start,
		(unsigned long long)vec[0].end, (unsigned long long)vec[0].categories);
	close(sfd);
	munmap(plain, 4 * PAGE);
	munmap(sync_p, 4 * PAGE);

	/* registered by an async context, but for MISSING only: no WP */
	{
		int afd = uffd_new(ASYNC);
		char *m = map_anon(4 * PAGE);

		if (afd < 0 || !m || uffd_register(afd, m, 4 * PAGE, UFFDIO_REGISTER_MODE_MISSING)) {
			t_fail("eperm-check-wpasync-missing-only", "setup: %s", strerror(errno));
			return;
		}
		r = pm_scan(pmfd, m, m + 4 * PAGE, PM_SCAN_CHECK_WPASYNC, vec, 4, 0, W, W, NULL);
		T_CHECK("eperm-check-wpasync-missing-only", r == -EPERM,
			"async context, MODE_MISSING only: %s", r < 0 ? strerror((int)-r) : "accepted");
		r = pm_scan(pmfd, m, m + 4 * PAGE, PM_SCAN_WP_MATCHING, vec, 4, 0, W, W, NULL);
		if (env.pm_uffd_wp)
			T_CHECK("wp-matching-skips-missing-only", r == 0 && !pm_wp(m) &&
				!pm_wp(m + 3 * PAGE), "ret %ld, bit 57 %d %d", r, pm_wp(m),
				pm_wp(m + 3 * PAGE));
		else
			T_CHECK("wp-matching-skips-missing-only", r == 0, "ret %ld", r);
		close(afd);
		munmap(m, 4 * PAGE);
	}
}

/* Categories of single pages in a fresh async region. */
static void t_categories(void)
{
	enum { N = 8 };
	struct page_region vec[N];
	int fd = uffd_new(ASYNC);
	char *p = map_anon(N * PAGE), *h;
	volatile char sink;
	const uint64_t P = PAGE_IS_PRESENT, Z = PAGE_IS_PFNZERO;
	/* 0: written; 1: written, then protected; 2: read hole (zero page);
	 * 3: written; 4..7: holes */
	const uint64_t want[4][3] = {
		{ 0, 1, P | W }, { 1, 2, P }, { 2, 3, P | W | Z }, { 3, 4, P | W },
	};
	char why[200] = "";
	long r, kb;
	int i, ok;

	u_current = "categories";
	if (fd < 0 || !p || uffd_register_wp(fd, p, N * PAGE)) {
		t_fail("categories", "setup: %s", strerror(errno));
		return;
	}
	p[0] = 1;
	p[PAGE] = 1;
	p[3 * PAGE] = 3;
	sink = p[2 * PAGE];
	(void)sink;
	if (pm_scan(pmfd, p + PAGE, p + 2 * PAGE, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		    NULL, 0, 0, W, W, NULL)) {
		t_fail("categories", "protect page 1: %s", strerror(errno));
		return;
	}
	memset(vec, 0, sizeof(vec));
	r = pm_scan(pmfd, p, p + N * PAGE, 0, vec, N, 0, P, P | W | Z, NULL);
	ok = r == 4;
	for (i = 0; ok && i < 4; i++)
		if (vec[i].start != (uintptr_t)(p + want[i][0] * PAGE) ||
		    vec[i].end != (uintptr_t)(p + want[i][1] * PAGE) ||
		    vec[i].categories != want[i][2])
			ok = 0;
	if (!ok)
		snprintf(why, sizeof(why), "ret %ld; vec[%d] = [+%#llx, +%#llx) %#llx", r,
			 i ? i - 1 : 0,
			 (unsigned long long)(vec[i ? i - 1 : 0].start - (uintptr_t)p),
			 (unsigned long long)(vec[i ? i - 1 : 0].end - (uintptr_t)p),
			 (unsigned long long)vec[i ? i - 1 : 0].categories);
	T_CHECK("category-present-written-pfnzero", ok, "%s", why);

	/* inverted: the pages that are not present, reported with no category */
	memset(vec, 0, sizeof(vec));
	{
		struct pm_scan_arg a = {
			.size = sizeof(a), .start = (uintptr_t)p, .end = (uintptr_t)(p + N * PAGE),
			.vec = (uintptr_t)vec, .vec_len = N,
			.category_inverted = P, .category_mask = P, .return_mask = P,
		};

		r = ioctl(pmfd, PAGEMAP_SCAN, &a);
	}
	T_CHECK("category-inverted", r == 1 && vec[0].start == (uintptr_t)(p + 4 * PAGE) &&
		vec[0].end == (uintptr_t)(p + N * PAGE) && vec[0].categories == 0,
		"ret %ld; [+%#llx, +%#llx) %#llx, want [+0x4000, +0x8000) 0", r,
		(unsigned long long)(vec[0].start - (uintptr_t)p),
		(unsigned long long)(vec[0].end - (uintptr_t)p),
		(unsigned long long)vec[0].categories);

	/*
	 * A protected hole: a uffd-wp marker, a swap entry (SWAPPED); on the
	 * zero-page backend a protected zero page (PRESENT|PFNZERO; README,
	 * known differences).
	 */
	{
		const uint64_t mask = P | PAGE_IS_SWAPPED | Z | W;
		const uint64_t want_hole = env.zeropage ? (P | Z) : PAGE_IS_SWAPPED;

		r = pm_scan(pmfd, p + 4 * PAGE, p + 5 * PAGE, 0, vec, N, 0, 0, mask, NULL);
		T_CHECK("category-unprotected-hole", r == 1 && vec[0].categories == W,
			"ret %ld, categories %#llx, want WRITTEN only", r,
			(unsigned long long)vec[0].categories);
		if (uffd_wp(fd, p + 4 * PAGE, PAGE, 1))
			t_fail("category-protected-hole", "protect: %s", strerror(errno));
		r = pm_scan(pmfd, p + 4 * PAGE, p + 5 * PAGE, 0, vec, N, 0, 0, mask, NULL);
		T_CHECK("category-protected-hole", r == 1 && vec[0].categories == want_hole,
			"ret %ld, categories %#llx, want %#llx", r,
			(unsigned long long)vec[0].categories, (unsigned long long)want_hole);
	}

	/* anyof: present or swapped */
	madvise(p + 3 * PAGE, PAGE, MADV_PAGEOUT);
	if (!(pagemap(p + 3 * PAGE) & PM_SWAP)) {
		t_skip("category-swapped", "page not swapped out by MADV_PAGEOUT (no swap?)");
	} else {
		/* pages 0-3 only: the protected hole at 4 is a swap entry too */
		r = pm_scan(pmfd, p, p + 4 * PAGE, 0, vec, N, 0, PAGE_IS_SWAPPED,
			    PAGE_IS_SWAPPED | W, NULL);
		T_CHECK("category-swapped", r == 1 &&
			vec[0].start == (uintptr_t)(p + 3 * PAGE) &&
			vec[0].end == (uintptr_t)(p + 4 * PAGE) &&
			vec[0].categories == (PAGE_IS_SWAPPED | W),
			"ret %ld; [+%#llx, +%#llx) %#llx", r,
			(unsigned long long)(vec[0].start - (uintptr_t)p),
			(unsigned long long)(vec[0].end - (uintptr_t)p),
			(unsigned long long)vec[0].categories);
	}
	close(fd);
	munmap(p, N * PAGE);

	/* a THP: PAGE_IS_HUGE over its 2 MiB */
	fd = uffd_new(ASYNC);
	h = u_map_thp(u_fill_byte, 1, &kb);
	if (!h || fd < 0) {
		t_fail("category-huge", "setup: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	if (kb < 2048 || uffd_register_wp(fd, h, HPAGE)) {
		t_skip("category-huge", "no THP (AnonHugePages %ld kB)", kb);
	} else {
		r = pm_scan(pmfd, h, h + HPAGE, 0, vec, N, 0, PAGE_IS_HUGE,
			    PAGE_IS_HUGE | P | W, NULL);
		T_CHECK("category-huge", r == 1 && vec[0].start == (uintptr_t)h &&
			vec[0].end == (uintptr_t)(h + HPAGE) &&
			vec[0].categories == (PAGE_IS_HUGE | P | W),
			"ret %ld; [+%#llx, +%#llx) %#llx", r,
			(unsigned long long)(vec[0].start - (uintptr_t)h),
			(unsigned long long)(vec[0].end - (uintptr_t)h),
			(unsigned long long)vec[0].categories);
		/* protect it whole, write one 4K page: exactly that page is written */
		r = pm_scan(pmfd, h, h + HPAGE, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
			    NULL, 0, 0, W, W, NULL);
		h[5 * PAGE + 1] = 2;
		r = r ? r : pm_scan(pmfd, h, h + HPAGE, 0, vec, N, 0, W, W, NULL);
		T_CHECK("thp-write-one-4k-page", r == 1 &&
			vec[0].start == (uintptr_t)(h + 5 * PAGE) &&
			vec[0].end == (uintptr_t)(h + 6 * PAGE),
			"ret %ld; [+%#llx, +%#llx)", r,
			(unsigned long long)(vec[0].start - (uintptr_t)h),
			(unsigned long long)(vec[0].end - (uintptr_t)h));
	}
	close(fd);
	munmap(h, HPAGE);
}

/*
 * "Written" means "not write-protected": a registered range nobody
 * protected is written, holes without page tables included; so is
 * everything after UFFDIO_WRITEPROTECT mode 0 and a page after
 * MADV_DONTNEED, in the PAGE_IS_WRITTEN-only path and in the general one.
 */
static void t_written_meaning(void)
{
	enum { N = 1024 };	/* 4 MiB: page tables only where touched */
	struct page_region vec[8];
	char *p = map_anon_aligned(N * PAGE, HPAGE, MADV_NOHUGEPAGE);
	int fd = uffd_new(ASYNC);
	uint64_t we = 0;
	long r;

	u_current = "written-meaning";
	if (!p || fd < 0 || uffd_register_wp(fd, p, N * PAGE)) {
		t_fail("fresh-registered-all-written", "setup: %s", strerror(errno));
		return;
	}
	p[5 * PAGE] = 1;
	r = pm_scan(pmfd, p, p + N * PAGE, PM_SCAN_CHECK_WPASYNC, vec, 8, 0, W, W, &we);
	T_CHECK("fresh-registered-all-written", r == 1 && vec[0].start == (uintptr_t)p &&
		vec[0].end == (uintptr_t)(p + N * PAGE),
		"ret %ld, [+%#llx, +%#llx), want the whole 4 MiB", r,
		(unsigned long long)(vec[0].start - (uintptr_t)p),
		(unsigned long long)(vec[0].end - (uintptr_t)p));
	r = pm_scan(pmfd, p, p + N * PAGE, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		    NULL, 0, 0, W, W, NULL);
	r = r ? r : pm_scan(pmfd, p, p + N * PAGE, 0, vec, 8, 0, W, W, NULL);
	T_CHECK("fresh-registered-protect", r == 0, "ret %ld after WP_MATCHING", r);
	if (uffd_wp(fd, p, N * PAGE, 0)) {
		t_fail("unprotect-all-written", "UFFDIO_WRITEPROTECT 0: %s", strerror(errno));
	} else {
		r = pm_scan(pmfd, p, p + N * PAGE, 0, vec, 8, 0, W, W, NULL);
		T_CHECK("unprotect-all-written", r == 1 && vec[0].start == (uintptr_t)p &&
			vec[0].end == (uintptr_t)(p + N * PAGE),
			"ret %ld, [+%#llx, +%#llx)", r,
			(unsigned long long)(vec[0].start - (uintptr_t)p),
			(unsigned long long)(vec[0].end - (uintptr_t)p));
	}
	/* the general path (return_mask has more than WRITTEN) */
	uffd_wp(fd, p, N * PAGE, 1);
	madvise(p + 5 * PAGE, PAGE, MADV_DONTNEED);
	madvise(p + 9 * PAGE, PAGE, MADV_DONTNEED);	/* a protected hole */
	r = pm_scan(pmfd, p, p + N * PAGE, 0, vec, 8, 0, W, W | PAGE_IS_PRESENT, NULL);
	T_CHECK("dontneed-written-general-path", r == 2 &&
		vec[0].start == (uintptr_t)(p + 5 * PAGE) && vec[0].end == vec[0].start + PAGE &&
		vec[0].categories == W && vec[1].start == (uintptr_t)(p + 9 * PAGE) &&
		vec[1].categories == W,
		"ret %ld, [+%#llx, +%#llx) %#llx, want +0x5000 and +0x9000, WRITTEN", r,
		(unsigned long long)(vec[0].start - (uintptr_t)p),
		(unsigned long long)(vec[0].end - (uintptr_t)p),
		(unsigned long long)vec[0].categories);
	r = pm_scan(pmfd, p, p + N * PAGE, 0, vec, 8, 0, W, W, NULL);
	T_CHECK("dontneed-written-fast-path", r == 2 &&
		vec[0].start == (uintptr_t)(p + 5 * PAGE) &&
		vec[1].start == (uintptr_t)(p + 9 * PAGE),
		"ret %ld, [+%#llx, +%#llx)", r,
		(unsigned long long)(vec[0].start - (uintptr_t)p),
		(unsigned long long)(vec[0].end - (uintptr_t)p));
	close(fd);
	munmap(p, N * PAGE);
}

/* An unmapped gap inside the scanned range: skipped, CHECK_WPASYNC or not. */
static void t_gap(void)
{
	enum { N = 64 };
	static unsigned char seen[NPAGES];
	struct scan_res r;
	char *saved = base, *p = map_anon(N * PAGE);
	int fd = uffd_new(ASYNC);

	u_current = "gap";
	if (!p || fd < 0 || uffd_register_wp(fd, p, N * PAGE) ||
	    munmap(p + 20 * PAGE, 10 * PAGE)) {
		t_fail("gap", "setup: %s", strerror(errno));
		return;
	}
	base = p;
	r.err = (int)pm_scan(pmfd, p, p + N * PAGE, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
			     NULL, 0, 0, W, W, NULL);
	T_CHECK("gap-protect", r.err == 0, "%s", strerror(-r.err));
	p[3 * PAGE] = p[19 * PAGE] = p[30 * PAGE] = p[63 * PAGE] = 1;
	memset(seen, 0, NPAGES);
	scan_all(pmfd, p, p + N * PAGE, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, 1, 0,
		 seen, &r);
	T_CHECK("gap-scan", !r.err && !r.bad[0] && r.pages == 4 && seen[3] && seen[19] &&
		seen[30] && seen[63], "%s%s; %ld pages", r.err ? strerror(-r.err) : "", r.bad,
		r.pages);
	base = saved;
	close(fd);
	munmap(p, N * PAGE);
}

/*
 * WP_MATCHING that stops inside a written THP (max_pages): the THP is
 * split, exactly the reported pages are protected, the rest stays written.
 */
static void t_thp_partial(void)
{
	struct page_region vec[4];
	int fd = uffd_new(ASYNC);
	uint64_t we = 0;
	long r, kb = 0;
	char *h = u_map_thp(u_fill_byte, 3, &kb);

	u_current = "thp-partial";
	if (!h || fd < 0) {
		t_fail("thp-partial", "setup: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	if (kb < 2048 || uffd_register_wp(fd, h, HPAGE)) {
		t_skip("thp-partial", "no THP (AnonHugePages %ld kB)", kb);
		goto out;
	}
	r = pm_scan(pmfd, h, h + HPAGE, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, vec, 4, 3,
		    W, W, &we);
	T_CHECK("thp-partial-reports-max-pages", r == 1 && vec[0].start == (uintptr_t)h &&
		vec[0].end == (uintptr_t)(h + 3 * PAGE) && we == (uintptr_t)(h + 3 * PAGE),
		"ret %ld, [+%#llx, +%#llx), walk_end +%#llx; want [0, +0x3000), +0x3000", r,
		(unsigned long long)(vec[0].start - (uintptr_t)h),
		(unsigned long long)(vec[0].end - (uintptr_t)h),
		(unsigned long long)(we - (uintptr_t)h));
	if (env.pm_uffd_wp)
		T_CHECK("thp-partial-pagemap", pm_wp(h) && pm_wp(h + 2 * PAGE) &&
			!pm_wp(h + 3 * PAGE) && !pm_wp(h + HPAGE - PAGE),
			"bit 57 of pages 0, 2, 3, 511: %d %d %d %d", pm_wp(h),
			pm_wp(h + 2 * PAGE), pm_wp(h + 3 * PAGE), pm_wp(h + HPAGE - PAGE));
	else
		t_skip("thp-partial-pagemap", NO_PM_REASON);
	r = pm_scan(pmfd, h, h + HPAGE, 0, vec, 4, 0, W, W, NULL);
	T_CHECK("thp-partial-rest-written", r == 1 && vec[0].start == (uintptr_t)(h + 3 * PAGE) &&
		vec[0].end == (uintptr_t)(h + HPAGE), "ret %ld, [+%#llx, +%#llx)", r,
		(unsigned long long)(vec[0].start - (uintptr_t)h),
		(unsigned long long)(vec[0].end - (uintptr_t)h));
	T_CHECK("thp-partial-contents", h[0] == 3 && h[HPAGE - 1] == 3 && h[3 * PAGE] == 3,
		"contents differ");
out:
	close(fd);
	munmap(h, HPAGE);
}

/* More error codes: EFAULT, ESRCH, ENOTTY on files that are not pagemap. */
static void t_errors2(void)
{
	struct pm_scan_arg a;
	char path[64];
	int fd, st;
	pid_t pid;
	long r;

	u_current = "errors2";
	a = good_arg(base, (void *)(uintptr_t)(1ULL << 62));
	r = scan_raw(pmfd, &a);
	T_CHECK("efault-end-beyond-user", r == -EFAULT, "end 1<<62: %s",
		r ? strerror((int)-r) : "accepted");
	/* a vector the process cannot write; written pages to report */
	base[7] = 1;
	a = good_arg(base, base + 16 * PAGE);
	a.vec = 4096;
	a.vec_len = 4;
	r = scan_raw(pmfd, &a);
	T_CHECK("efault-bad-vec", r == -EFAULT, "vec 0x1000: %s",
		r ? strerror((int)-r) : "accepted");
	r = ioctl(pmfd, PAGEMAP_SCAN, (void *)8) < 0 ? -errno : 0;
	T_CHECK("efault-bad-arg", r == -EFAULT, "arg 0x8: %s",
		r ? strerror((int)-r) : "accepted");
	/* another command on a pagemap file: 6.7+ pagemap has an ioctl handler,
	 * which refuses what it does not know: EINVAL, or ENOTTY since 6.12.118
	 * (-ENOIOCTLCMD); with the module, what the kernel's own handler says,
	 * or EINVAL where the kernel has none */
	r = ioctl(pmfd, _IOWR('f', 17, struct pm_scan_arg), &a) < 0 ? -errno : 0;
	T_CHECK("einval-unknown-command",
		r == -EINVAL || (u_kernel_fact("pagemap_scan") != 0 && r == -ENOTTY),
		"_IOWR('f', 17) on pagemap: %s",
		r ? strerror((int)-r) : "accepted");
	/* PAGEMAP_SCAN is for pagemap files only */
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	a = good_arg(base, base + 16 * PAGE);
	r = fd < 0 ? -errno : ioctl(fd, PAGEMAP_SCAN, &a) < 0 ? -errno : 0;
	T_CHECK("enotty-proc-maps", r == -ENOTTY, "/proc/self/maps: %s",
		r ? strerror((int)-r) : "accepted");
	if (fd >= 0)
		close(fd);
	fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	r = fd < 0 ? -errno : ioctl(fd, PAGEMAP_SCAN, &a) < 0 ? -errno : 0;
	T_CHECK("enotty-regular-file", r == -ENOTTY || r == -EOPNOTSUPP, "tmpfs file: %s",
		r ? strerror((int)-r) : "accepted");
	if (fd >= 0)
		close(fd);
	/* the pagemap of a process that has exited: ESRCH */
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	r = fd < 0 ? -1000 : ioctl(fd, PAGEMAP_SCAN, &a) < 0 ? -errno : 0;
	T_CHECK("esrch-exited-process", r == -ESRCH, "%s",
		r == -1000 ? "cannot open its pagemap" : r ? strerror((int)-r) : "accepted");
	if (fd >= 0)
		close(fd);
}

/*
 * A pagemap fd belongs to the mm it was opened for, not to the caller: a
 * child that inherited the parent's /proc/self/pagemap fd scans (and
 * protects) the parent.  The child's own copy of the region is not
 * registered (no EVENT_FORK), so a scan of the wrong mm fails with EPERM.
 */
static void t_inherited_fd(void)
{
	struct page_region vec[8];
	char *p = base + 200 * PAGE;
	int st;
	pid_t pid;
	long r;

	u_current = "inherited-fd";
	if (pm_scan(pmfd, base, base + REGION, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		    NULL, 0, 0, W, W, NULL)) {
		t_fail("inherited-fd", "reset: %s", strerror(errno));
		return;
	}
	p[0] = p[2 * PAGE] = 1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		/* 1: scan failed, 2: wrong answer */
		alarm(20);
		r = pm_scan(pmfd, base, base + REGION,
			    PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, vec, 8, 0, W, W, NULL);
		if (r < 0)
			_exit(r == -EPERM ? 3 : 1);
		_exit(r == 2 && vec[0].start == (uintptr_t)p &&
		      vec[1].start == (uintptr_t)(p + 2 * PAGE) ? 0 : 2);
	}
	waitpid(pid, &st, 0);
	T_CHECK("inherited-fd-scans-opener", WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"child: %s (status %#x)", WIFEXITED(st) && WEXITSTATUS(st) == 3 ?
		"EPERM: the scan looked at the caller's mm, not the file's" :
		WIFEXITED(st) && WEXITSTATUS(st) == 2 ? "wrong pages" : "failed", st);
	/* the child's WP_MATCHING protected the parent's pages */
	r = pm_scan(pmfd, base, base + REGION, PM_SCAN_CHECK_WPASYNC, vec, 8, 0, W, W, NULL);
	T_CHECK("inherited-fd-protected-opener", r == 0, "ret %ld: still written", r);
}

/* ---- another process's pagemap ------------------------------------------ */

static void t_other_process(void)
{
	static unsigned char seen[NPAGES], truth[NPAGES];
	int to_child[2], to_parent[2], cfd;
	struct scan_res r;
	long missed, falsep;
	uintptr_t addr[2] = { 0, 0 };
	char why[160], cmd = 0, *saved = base;
	pid_t pid;
	int st, i;
	long rr;

	u_current = "other-process";
	if (pipe(to_child) || pipe(to_parent)) {
		t_fail("other-process", "pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		/* the child: its own async context and region */
		int fd = uffd_new(ASYNC), pfd = pm_open(0);
		char *q = map_anon_aligned(REGION, HPAGE, MADV_NOHUGEPAGE);
		char *plain = map_anon(4 * PAGE);
		int k;

		alarm(60);
		if (fd < 0 || pfd < 0 || !q || !plain || uffd_register_wp(fd, q, REGION) ||
		    pm_scan(pfd, q, q + REGION, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
			    NULL, 0, 0, W, W, NULL))
			_exit(3);
		plain[0] = 1;
		addr[0] = (uintptr_t)q;
		addr[1] = (uintptr_t)plain;
		for (k = 0; k < 2; k++) {
			/* round k: pages i with i % 97 == k * 13 */
			if (read(to_child[0], &cmd, 1) != 1)
				_exit(4);
			for (i = 0; i < NPAGES; i++)
				if (i % 97 == k * 13)
					q[(size_t)i * PAGE] = 5;
			if (write(to_parent[1], addr, sizeof(addr)) != sizeof(addr))
				_exit(5);
		}
		if (read(to_child[0], &cmd, 1) != 1)
			_exit(6);
		_exit(0);
	}
	if (pid < 0) {
		t_fail("other-process", "fork: %s", strerror(errno));
		return;
	}
	cfd = -1;
	for (i = 0; i < 2; i++) {
		int j;
		char name[64];

		cmd = 'w';
		if (write(to_child[1], &cmd, 1) != 1 ||
		    read(to_parent[0], addr, sizeof(addr)) != sizeof(addr)) {
			t_fail("other-process", "child died (setup failed?)");
			break;
		}
		if (cfd < 0)
			cfd = pm_open(pid);
		if (cfd < 0) {
			t_fail("other-process", "open /proc/%d/pagemap: %s", (int)pid,
			       strerror(-cfd));
			break;
		}
		memset(truth, 0, NPAGES);
		for (j = 0; j < NPAGES; j++)
			if (j % 97 == i * 13)
				truth[j] = 1;
		memset(seen, 0, NPAGES);
		base = (char *)addr[0];		/* scan_all() counts pages from base */
		scan_all(cfd, base, base + REGION, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
			 5, 0, seen, &r);
		base = saved;
		snprintf(name, sizeof(name), "other-process-round%d", i + 1);
		if (r.err || r.bad[0]) {
			t_fail(name, "%s%s", r.err ? strerror(-r.err) : "", r.bad);
			continue;
		}
		compare(seen, truth, &missed, &falsep, why, sizeof(why));
		T_CHECK(name, !missed && !falsep && !r.dups,
			"%ld missed, %ld false, %ld dups: %s", missed, falsep, r.dups, why);
	}
	if (cfd >= 0) {
		struct page_region v[2];
		char *plain = (char *)addr[1];

		rr = pm_scan(cfd, plain, plain + 4 * PAGE, PM_SCAN_CHECK_WPASYNC, v, 2, 0,
			     W, W, NULL);
		T_CHECK("other-process-eperm-non-async", rr == -EPERM, "%s",
			rr < 0 ? strerror((int)-rr) : "accepted");
		close(cfd);
	}
	cmd = 'q';
	if (write(to_child[1], &cmd, 1) != 1)
		kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	T_CHECK("other-process-child-exit", WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"child status %#x", st);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
}

/*
 * More regions than the kernel's 512-entry bounce buffer in one call with
 * a big enough vector: every one comes back, in order, in that one call.
 */
static void t_big_vector(void)
{
	static struct page_region vec[4096];
	char *p = base + Q * PAGE;	/* 2048 pages */
	long r, i;
	int ok;

	u_current = "big-vector";
	if (pm_scan(pmfd, base, base + REGION, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		    NULL, 0, 0, W, W, NULL)) {
		t_fail("big-vector", "reset: %s", strerror(errno));
		return;
	}
	for (i = 0; i < 2048; i += 2)
		p[i * PAGE + 3] = 4;
	r = pm_scan(pmfd, base, base + REGION, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		    vec, 4096, 0, W, W, NULL);
	ok = r == 1024;
	for (i = 0; ok && i < r; i++)
		if (vec[i].start != (uintptr_t)(p + 2 * i * PAGE) ||
		    vec[i].end != vec[i].start + PAGE || vec[i].categories != W)
			ok = 0;
	T_CHECK("big-vector-one-call", ok, "ret %ld (want 1024 regions, every other page); first bad: %ld",
		r, i - 1);
	r = pm_scan(pmfd, base, base + REGION, PM_SCAN_CHECK_WPASYNC, vec, 4096, 0, W, W, NULL);
	T_CHECK("big-vector-all-reprotected", r == 0, "ret %ld regions still written", r);
}

/* Three adjacent written pages come back as one region. */
static void t_merge(void)
{
	struct page_region vec[4];
	char *p = base + 100 * PAGE;
	long r;

	u_current = "merge";
	if (pm_scan(pmfd, base, base + REGION, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		    NULL, 0, 0, W, W, NULL)) {
		t_fail("merge", "reset: %s", strerror(errno));
		return;
	}
	p[0] = p[PAGE] = p[2 * PAGE] = p[4 * PAGE] = 7;
	r = pm_scan(pmfd, base, base + REGION, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		    vec, 4, 0, W, W, NULL);
	T_CHECK("merge-adjacent", r == 2 && vec[0].start == (uintptr_t)p &&
		vec[0].end == (uintptr_t)(p + 3 * PAGE) && vec[1].start == (uintptr_t)(p + 4 * PAGE) &&
		vec[1].end == (uintptr_t)(p + 5 * PAGE),
		"ret %ld, [%#llx, %#llx), [%#llx, %#llx); want [%p, +12K), [+16K, +20K)", r,
		(unsigned long long)vec[0].start, (unsigned long long)vec[0].end,
		(unsigned long long)vec[1].start, (unsigned long long)vec[1].end, (void *)p);
	/* max_pages cuts inside a region: walk_end right after the last page */
	p[0] = p[PAGE] = p[2 * PAGE] = 8;
	{
		uint64_t we = 0;

		r = pm_scan(pmfd, base, base + REGION, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
			    vec, 4, 2, W, W, &we);
		T_CHECK("max-pages-cuts-region", r == 1 && vec[0].start == (uintptr_t)p &&
			vec[0].end == (uintptr_t)(p + 2 * PAGE) && we == (uintptr_t)(p + 2 * PAGE),
			"ret %ld, [%#llx, %#llx), walk_end %#llx; want [%p, +8K), walk_end +8K", r,
			(unsigned long long)vec[0].start, (unsigned long long)vec[0].end,
			(unsigned long long)we, (void *)p);
		r = pm_scan(pmfd, base, base + REGION, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
			    vec, 4, 0, W, W, &we);
		T_CHECK("max-pages-rest-still-written", r == 1 &&
			vec[0].start == (uintptr_t)(p + 2 * PAGE) &&
			vec[0].end == (uintptr_t)(p + 3 * PAGE) && we == (uintptr_t)(base + REGION),
			"ret %ld, [%#llx, %#llx), walk_end %#llx", r,
			(unsigned long long)vec[0].start, (unsigned long long)vec[0].end,
			(unsigned long long)we);
	}
}

int main(void)
{
	uint64_t out = 0;
	long r;
	char *probe;

	t_prog = "wp_watch";
	u_watchdog(600);
	env = u_env_get();
	uffd = uffd_open();
	r = uffd < 0 ? uffd : uffd_api(uffd, ASYNC, &out);
	if (r == -EINVAL) {
		t_skip("all", "kernel has no UFFD_FEATURE_WP_ASYNC (UFFDIO_API: EINVAL; %s)",
		       env.kind == U_MODULE ? "module without its async part" :
		       "stock kernel before 6.7, module not loaded");
		return t_exit();
	}
	if (r) {
		t_fail("setup", "userfaultfd / UFFDIO_API(WP_ASYNC): %s", strerror((int)-r));
		return t_exit();
	}
	pmfd = pm_open(0);
	probe = map_anon(PAGE);
	r = pmfd < 0 ? pmfd : pm_scan(pmfd, probe, probe + PAGE, 0, NULL, 0, 0, W, W, NULL);
	if (r == -ENOTTY || r == -EINVAL || r == -EOPNOTSUPP) {
		t_skip("all", "WP_ASYNC granted but /proc/self/pagemap has no PAGEMAP_SCAN (%s)",
		       strerror((int)-r));
		return t_exit();
	}
	T_CHECK("pagemap-scan-available", r == 0, "probe: %s", strerror((int)-r));
	if (setup_region()) {
		t_fail("setup", "region: %s", strerror(errno));
		return t_exit();
	}
	/* initial protection, as Wine does it */
	u_current = "initial";
	r = pm_scan(pmfd, base, base + REGION, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		    NULL, 0, 0, W, W, NULL);
	T_CHECK("initial-protect", r == 0, "PAGEMAP_SCAN: %s",
		r < 0 ? strerror((int)-r) : "non-zero return without a vector");
	{
		static unsigned char seen[NPAGES];
		struct scan_res sr;

		memset(seen, 0, NPAGES);
		scan_all(pmfd, base, base + REGION, PM_SCAN_CHECK_WPASYNC, 4096, 0, seen, &sr);
		T_CHECK("initial-nothing-written", !sr.err && !sr.bad[0] && !sr.pages,
			"%ld pages written right after protecting (%s%s)", sr.pages,
			sr.err ? strerror(-sr.err) : "", sr.bad);
		if (env.pm_uffd_wp)
			T_CHECK("initial-pagemap-wp", pm_wp(base) && pm_wp(base + Q * PAGE) &&
				pm_wp(base + 2 * Q * PAGE + 5 * PAGE) &&
				pm_wp(base + 3 * Q * PAGE + 7 * PAGE),
				"bit 57: hole %d present %d thp %d swapped %d", pm_wp(base),
				pm_wp(base + Q * PAGE), pm_wp(base + 2 * Q * PAGE + 5 * PAGE),
				pm_wp(base + 3 * Q * PAGE + 7 * PAGE));
		else
			t_skip("initial-pagemap-wp", NO_PM_REASON);
	}
	t_rounds();
	t_concurrent();
	t_merge();
	t_big_vector();
	t_written_meaning();
	t_gap();
	t_thp_partial();
	t_inherited_fd();
	t_errors();
	t_errors2();
	t_wpasync_checks();
	t_categories();
	t_other_process();
	return t_exit();
}
