// SPDX-License-Identifier: GPL-2.0
/*
 * wpu-snapshot: live-snapshot integrity check, the way QEMU's background
 * snapshot uses userfaultfd write protection.
 *
 * A region (--size, default 64 MiB) is split into four zones, each its own
 * mapping: populated pages, pages swapped out with MADV_PAGEOUT, a
 * MADV_HUGEPAGE zone (THPs in every other 2 MiB block, holes in the others)
 * and never-touched holes.  Writer threads keep writing checkable pages
 * into random pages: per page a generation number, the page index, a
 * pattern derived from both and a checksum; each writer owns the pages
 * i % writers == its number and logs the generation it last wrote.
 *
 * A round: all writers pause at a barrier, the generation log is copied (it
 * is what memory holds at this instant: the expected snapshot), every zone
 * is write-protected -- with UFFD_FEATURE_WP_UNPOPULATED, or plain with
 * --plain -- and the writers resume.  A saver thread copies every page out
 * and unprotects it; a fault-handler thread, on a WP fault, first saves
 * that page, then unprotects it (which wakes the writer).  Each page is
 * saved once, by whoever claims it first.  Then every saved page is
 * compared with what the page held at the snapshot point, byte for byte,
 * holes included (a hole must be saved as zeros).  Between rounds the hole
 * zone is dropped again (MADV_DONTNEED) and the swap zone paged out again.
 * At the end memory itself is compared with the writers' log.
 *
 * Plain write protection does not protect holes: a hole written after the
 * snapshot point is saved with the new data, and the check says so.  With
 * WP_UNPOPULATED (native 6.4+, or uffd_wpu.ko) the snapshot must be exact.
 *
 * --chaos also, during each snapshot window: MADV_PAGEOUT of random ranges,
 * MADV_COLLAPSE of THP-zone blocks, fork() of a child that writes its own
 * copy and exits, move_pages() to the other NUMA node; and between rounds:
 * MADV_DONTNEED of random ranges (new holes) and mremap() of every zone to
 * a new address (the registration is dropped -- no EVENT_REMAP -- and made
 * again).  With /dev/uffd-wpu (the module) the chaos thread also opts the
 * process in and out all the time: contexts that negotiated the feature
 * keep it.
 *
 * Output: "pages checked N, wrong pages M".  Exit status: 0 snapshot exact
 * and memory consistent, 1 wrong pages or inconsistent memory, 2 setup
 * failure (e.g. WP_UNPOPULATED not offered).
 *
 * --test: follow the tests/progs protocol (t.h): with WP_UNPOPULATED
 * offered, 0 wrong pages (SKIP if it is not); with plain protection, the
 * corruption must be detected (wrong pages > 0); memory consistent in both.
 * --test --plain: the plain check only.
 */
#include "../tests/progs/uffd_util.h"
#include "../include/uapi/linux/uffd-wpu.h"

#include <getopt.h>
#include <sys/wait.h>

#define MAGIC		0x5750552d534e4150ULL	/* "WPU-SNAP" */
#define WORDS		(PAGE / 8)
#define SAVE_RUN	16		/* saver: pages per unprotect at most */
#define MAX_WRITERS	64
#define NZONES		4

#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE	(1 << 1)
#endif

enum { Z_POP, Z_SWAP, Z_THP, Z_HOLE };
static const char *const zone_name[NZONES] = { "populated", "swapped", "thp", "holes" };

struct opts {
	size_t size;
	int writers;
	int rounds;
	int plain;
	int chaos;
	int no_swap;
	int api_retry;
	int watchdog;
	int test;
	int verbose;
	unsigned long seed;
};

/* Per round and totals. */
struct result {
	long checked;		/* pages compared */
	long wrong;		/* saved page != page at snapshot point */
	long wrong_hole;	/* ... of which were holes at the snapshot point */
	long wrong_zone[NZONES];
	long holes;		/* pages that were holes at the snapshot point */
	long saver_saved, fault_saved, fault_saved_hole;
	long mem_wrong;		/* memory != writers' log (end of run) */
	long writes;
	long faults;		/* WP fault messages read (bounces) */
	long stale_wakes;	/* messages for pages already saved */
	long chaos_pageout, chaos_collapse, chaos_collapse_ok, chaos_fork;
	long chaos_migrate, chaos_dontneed, chaos_mremap, chaos_opt;
	long chaos_ms[5];	/* time spent per chaos operation */
	long errors;		/* failed ioctls etc. (always a failure) */
	char error[256];	/* the first of them */
};

/* ---- shared state of one run --------------------------------------------- */

static struct opts O;
static int uffd = -1;
static size_t npages, zpages;
static char *zbase[NZONES];			/* may move (mremap) while paused */
static uint32_t *cur_gen;			/* writers' log: gen in memory now */
static uint32_t *snap_gen;			/* the log at the snapshot point */
static uint8_t *claim;				/* 0 free, 1 saver, 2 fault handler */
static long nsaved;				/* copies of this round complete */
static char *snapbuf;
static struct result R;				/* counters of the current run */
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;

static volatile int stop_writers, stop_handler, stop_chaos, window_open;
static long window_writes;			/* writes since the snapshot point */
static pthread_mutex_t pause_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pause_cond = PTHREAD_COND_INITIALIZER;
static int pause_req, npaused;

static void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void error(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&err_lock);
	if (!R.errors++) {
		va_start(ap, fmt);
		vsnprintf(R.error, sizeof(R.error), fmt, ap);
		va_end(ap);
		fprintf(stderr, "wpu-snapshot: error: %s\n", R.error);
	}
	pthread_mutex_unlock(&err_lock);
}

static inline void count(long *c, long n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

static inline char *page_addr(size_t i)
{
	size_t z = i / zpages;

	return __atomic_load_n(&zbase[z], __ATOMIC_ACQUIRE) + (i % zpages) * PAGE;
}

/* Page index of addr, or -1 if it is in no zone. */
static long page_index(uintptr_t addr)
{
	size_t z;

	for (z = 0; z < NZONES; z++) {
		uintptr_t b = (uintptr_t)__atomic_load_n(&zbase[z], __ATOMIC_ACQUIRE);

		if (addr >= b && addr < b + zpages * PAGE)
			return (long)(z * zpages + (addr - b) / PAGE);
	}
	return -1;
}

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* ---- page contents ------------------------------------------------------- */

static inline uint64_t pat_base(uint64_t idx, uint64_t gen)
{
	uint64_t x = idx * 0x9E3779B97F4A7C15ULL ^ (gen + 1) * 0xC2B2AE3D27D4EB4FULL;

	x ^= x >> 31;
	return x * 0xBF58476D1CE4E5B9ULL;
}

/* Page idx, generation gen (>= 1): header, pattern, checksum. */
static void fill_page(volatile uint64_t *w, uint64_t idx, uint64_t gen)
{
	uint64_t b = pat_base(idx, gen), sum, k;

	w[0] = MAGIC;	/* first store: the one that faults */
	w[1] = idx;
	w[2] = gen;
	sum = MAGIC ^ idx ^ gen;
	for (k = 3; k < WORDS - 1; k++) {
		uint64_t v = b + k * 0x100000001B3ULL;

		w[k] = v;
		sum ^= v;
	}
	w[WORDS - 1] = sum;
}

/* Does p hold page idx at generation gen (0: all zeros)? */
static int page_ok(const uint64_t *p, uint64_t idx, uint64_t gen)
{
	uint64_t b = pat_base(idx, gen), sum, k;

	if (!gen) {
		for (k = 0; k < WORDS; k++)
			if (p[k])
				return 0;
		return 1;
	}
	if (p[0] != MAGIC || p[1] != idx || p[2] != gen)
		return 0;
	sum = MAGIC ^ idx ^ gen;
	for (k = 3; k < WORDS - 1; k++) {
		if (p[k] != b + k * 0x100000001B3ULL)
			return 0;
		sum ^= p[k];
	}
	return p[WORDS - 1] == sum;
}

/* What does p hold?  For diagnostics. */
static const char *page_what(const uint64_t *p, uint64_t idx, char *buf, size_t len)
{
	uint64_t k;

	for (k = 0; k < WORDS && !p[k]; k++)
		;
	if (k == WORDS)
		snprintf(buf, len, "zeros");
	else if (p[0] == MAGIC && p[1] == idx && page_ok(p, idx, p[2]))
		snprintf(buf, len, "generation %llu", (unsigned long long)p[2]);
	else if (p[0] == MAGIC)
		snprintf(buf, len, "torn/garbage (header idx %llu gen %llu)",
			 (unsigned long long)p[1], (unsigned long long)p[2]);
	else
		snprintf(buf, len, "garbage (first word %#llx)", (unsigned long long)p[0]);
	return buf;
}

/* ---- writers --------------------------------------------------------------- */

static void writer_pause_point(void)
{
	if (!__atomic_load_n(&pause_req, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&pause_lock);
	npaused++;
	pthread_cond_broadcast(&pause_cond);
	while (pause_req && !stop_writers)
		pthread_cond_wait(&pause_cond, &pause_lock);
	npaused--;
	pthread_mutex_unlock(&pause_lock);
}

static void *writer_fn(void *arg)
{
	long w = (long)arg;
	uint64_t s = O.seed * 0x9E3779B97F4A7C15ULL + (uint64_t)w + 1;
	size_t mine = (npages - (size_t)w + (size_t)O.writers - 1) / (size_t)O.writers;
	long n = 0;

	while (!stop_writers) {
		size_t i = (size_t)(rnd(&s) % mine) * (size_t)O.writers + (size_t)w;
		uint32_t gen;

		writer_pause_point();
		if (stop_writers)
			break;
		gen = cur_gen[i] + 1;
		fill_page((volatile uint64_t *)page_addr(i), i, gen);
		__atomic_store_n(&cur_gen[i], gen, __ATOMIC_RELEASE);
		__atomic_add_fetch(&window_writes, 1, __ATOMIC_RELAXED);
		n++;
		if (!(n & 7))
			sched_yield();
	}
	count(&R.writes, n);
	return NULL;
}

/* All writers stopped between two page writes. */
static void pause_writers(void)
{
	pthread_mutex_lock(&pause_lock);
	__atomic_store_n(&pause_req, 1, __ATOMIC_RELEASE);
	while (npaused < O.writers)
		pthread_cond_wait(&pause_cond, &pause_lock);
	pthread_mutex_unlock(&pause_lock);
}

static void resume_writers(void)
{
	pthread_mutex_lock(&pause_lock);
	__atomic_store_n(&pause_req, 0, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&pause_cond);
	pthread_mutex_unlock(&pause_lock);
}

/* ---- saving ---------------------------------------------------------------- */

static int wp_range(size_t first, size_t n, int protect)
{
	int r, tries = 0;

	do {
		r = uffd_wp(uffd, page_addr(first), n * PAGE, protect);
	} while (r == -EAGAIN && ++tries < 1000);
	return r;
}

static void save_page(size_t i)
{
	memcpy(snapbuf + i * PAGE, page_addr(i), PAGE);
	__atomic_add_fetch(&nsaved, 1, __ATOMIC_RELEASE);
}

/*
 * The snapshot is complete when every page's copy is: the saver claims the
 * pages nobody else has, but a fault handler may still be copying one it
 * claimed first.
 */
static void wait_saved(void)
{
	long long end = u_now_ms() + 10000;

	while (__atomic_load_n(&nsaved, __ATOMIC_ACQUIRE) < (long)npages) {
		if (u_now_ms() > end) {
			error("%ld of %zu pages saved 10 s after the saver finished",
			      __atomic_load_n(&nsaved, __ATOMIC_ACQUIRE), npages);
			return;
		}
		u_sleep_ms(1);
	}
}

/* Fault handler: save the page before unprotecting it. */
static void handle_fault(const struct uffd_msg *m)
{
	uintptr_t a = m->arg.pagefault.address & ~(PAGE - 1);
	long i = page_index(a);
	uint8_t free_ = 0;
	int r;

	count(&R.faults, 1);
	if (i < 0) {
		error("WP fault at %#lx, outside the region", (unsigned long)a);
		uffd_wake(uffd, (void *)a, PAGE);
		return;
	}
	if (__atomic_load_n(&window_open, __ATOMIC_ACQUIRE) &&
	    __atomic_compare_exchange_n(&claim[i], &free_, 2, 0,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		save_page((size_t)i);
		r = wp_range((size_t)i, 1, 0);
		if (r)
			error("unprotect of page %ld (fault) failed: %s", i, strerror(-r));
		count(&R.fault_saved, 1);
		if (!snap_gen[i])
			count(&R.fault_saved_hole, 1);
		return;
	}
	/* saved already: whoever saved it unprotects it; just wake */
	count(&R.stale_wakes, 1);
	uffd_wake(uffd, (void *)a, PAGE);
}

static void *handler_fn(void *arg)
{
	struct uffd_msg msgs[32];

	(void)arg;
	while (!stop_handler) {
		struct pollfd p = { .fd = uffd, .events = POLLIN };
		ssize_t n;
		int k;

		if (poll(&p, 1, 50) <= 0)
			continue;
		n = read(uffd, msgs, sizeof(msgs));
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				error("read from userfaultfd: %s", strerror(errno));
			continue;
		}
		for (k = 0; k < (int)(n / (ssize_t)sizeof(msgs[0])); k++) {
			if (msgs[k].event != UFFD_EVENT_PAGEFAULT ||
			    !(msgs[k].arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP)) {
				char b[128];

				error("unexpected message %s", msg_str(&msgs[k], b, sizeof(b)));
				continue;
			}
			handle_fault(&msgs[k]);
		}
	}
	return NULL;
}

/* Saver: copy out every page not saved yet, unprotect in short runs. */
static void *saver_fn(void *arg)
{
	size_t i = 0, j, run;

	(void)arg;
	while (i < npages) {
		size_t zend = (i / zpages + 1) * zpages;
		size_t end = i + SAVE_RUN < zend ? i + SAVE_RUN : zend;

		run = (size_t)-1;
		for (j = i; j <= end; j++) {
			uint8_t free_ = 0;
			int mine = j < end &&
				__atomic_compare_exchange_n(&claim[j], &free_, 1, 0,
							    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);

			if (mine) {
				save_page(j);
				R.saver_saved++;
				if (run == (size_t)-1)
					run = j;
			} else if (run != (size_t)-1) {
				int r = wp_range(run, j - run, 0);

				if (r)
					error("unprotect of pages %zu-%zu failed: %s",
					      run, j - 1, strerror(-r));
				run = (size_t)-1;
			}
		}
		i = end;
	}
	return NULL;
}

/* ---- chaos ------------------------------------------------------------------ */

static size_t rnd_range(uint64_t *s, size_t maxpages, size_t *first)
{
	size_t z = rnd(s) % NZONES;
	size_t n = 1 + rnd(s) % maxpages;
	size_t off;

	if (n > zpages)
		n = zpages;
	off = rnd(s) % (zpages - n + 1);
	*first = z * zpages + off;
	return n;
}

/*
 * An opted-in mm protects holes for every context (module): a plain run
 * must start opted out, and chaos leaves the mm opted out.
 */
static void opt_out(int dev)
{
	struct uffd_wpu_optin o = { .size = sizeof(o) };

	if (ioctl(dev, UFFD_WPU_IOC_OPTOUT, &o))
		error("UFFD_WPU_IOC_OPTOUT: %s", strerror(errno));
}

/* During a snapshot window: operations that must not change any content. */
static void *chaos_fn(void *arg)
{
	uint64_t s = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ULL + 7;
	int dev = open(UFFD_WPU_DEVICE, O_RDWR | O_CLOEXEC);
	size_t first, n;

	while (!stop_chaos) {
		unsigned int op = (unsigned int)(rnd(&s) % (dev >= 0 ? 5 : 4));
		long long t0 = u_now_ms();

		/* MADV_COLLAPSE may compact memory for a huge page: rarely */
		if (op == 1 && rnd(&s) % 4)
			op = 0;
		if (op == 0 && O.no_swap)
			op = 3;
		switch (op) {
		case 0:		/* swap out */
			n = rnd_range(&s, 64, &first);
			madvise(page_addr(first), n * PAGE, MADV_PAGEOUT);
			count(&R.chaos_pageout, 1);
			break;
		case 1: {	/* collapse a THP-zone block (6.1+; EINVAL before) */
			size_t blk = rnd(&s) % (zpages * PAGE / HPAGE);

			if (!madvise(zbase[Z_THP] + blk * HPAGE, HPAGE, MADV_COLLAPSE))
				count(&R.chaos_collapse_ok, 1);
			count(&R.chaos_collapse, 1);
			break;
		}
		case 2: {	/* fork: the child writes its own copy and exits */
			pid_t pid;
			int st;

			rnd_range(&s, 1, &first);
			pid = fork();
			if (pid == 0) {
				volatile char *p = page_addr(first);

				p[100] = 1;
				_exit(p[100] == 1 ? 0 : 1);
			}
			if (pid > 0 && waitpid(pid, &st, 0) == pid &&
			    !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
				error("fork child failed (status %#x)", st);
			count(&R.chaos_fork, 1);
			break;
		}
		case 3: {	/* NUMA migration to a random node */
			void *pages[16];
			int nodes[16], status[16], k;

			for (k = 0; k < 16; k++) {
				rnd_range(&s, 1, &first);
				pages[k] = page_addr(first);
				nodes[k] = (int)(rnd(&s) % 2);
			}
			if (syscall(SYS_move_pages, 0, 16, pages, nodes, status,
				    MPOL_MF_MOVE) >= 0)
				count(&R.chaos_migrate, 1);
			break;
		}
		case 4: {	/* opt this mm in or out (module) */
			struct uffd_wpu_optin o = { .size = sizeof(o) };
			int in = (int)(rnd(&s) % 2);

			if (ioctl(dev, in ? UFFD_WPU_IOC_OPTIN : UFFD_WPU_IOC_OPTOUT, &o) &&
			    !(in && (errno == EPERM || errno == ENOMEM)))
				error("UFFD_WPU_IOC_OPT%s: %s", in ? "IN" : "OUT", strerror(errno));
			count(&R.chaos_opt, 1);
			break;
		}
		}
		count(&R.chaos_ms[op], (long)(u_now_ms() - t0));
		u_sleep_ms(5);
	}
	if (dev >= 0) {
		opt_out(dev);
		close(dev);
	}
	return NULL;
}

/* Between rounds (writers paused, nothing protected). */
static int remap_zone(size_t z)
{
	size_t len = zpages * PAGE;
	void *dst = map_anon_aligned(len, HPAGE, MADV_NOHUGEPAGE);
	void *p;

	if (!dst)
		return -ENOMEM;
	p = mremap(zbase[z], len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	if (p == MAP_FAILED) {
		int e = errno;

		munmap(dst, len);
		return -e;
	}
	__atomic_store_n(&zbase[z], (char *)p, __ATOMIC_RELEASE);
	return 0;
}

static void chaos_between(uint64_t *s)
{
	size_t z, first, n, k;
	int r;

	for (k = 0; k < 8; k++) {
		n = rnd_range(s, 64, &first);
		madvise(page_addr(first), n * PAGE, MADV_DONTNEED);
		memset(&cur_gen[first], 0, n * sizeof(*cur_gen));
		count(&R.chaos_dontneed, 1);
	}
	for (z = 0; z < NZONES; z++) {
		r = remap_zone(z);
		if (r)
			error("mremap of zone %s: %s", zone_name[z], strerror(-r));
		else
			count(&R.chaos_mremap, 1);
	}
}

/* ---- one run --------------------------------------------------------------- */

static int setup_region(char *why, size_t len)
{
	static const int advice[NZONES] = {
		MADV_NOHUGEPAGE, MADV_NOHUGEPAGE, MADV_HUGEPAGE, MADV_NOHUGEPAGE
	};
	size_t z, i;

	zpages = O.size / NZONES / HPAGE * HPAGE / PAGE;
	if (zpages < HPAGE / PAGE) {
		snprintf(why, len, "--size must be at least 8 MiB");
		return -1;
	}
	npages = zpages * NZONES;
	cur_gen = calloc(npages, sizeof(*cur_gen));
	snap_gen = calloc(npages, sizeof(*snap_gen));
	claim = calloc(npages, 1);
	snapbuf = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!cur_gen || !snap_gen || !claim || snapbuf == MAP_FAILED) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	for (z = 0; z < NZONES; z++) {
		zbase[z] = map_anon_aligned(zpages * PAGE, HPAGE, advice[z]);
		if (!zbase[z]) {
			snprintf(why, len, "mmap: %s", strerror(errno));
			return -1;
		}
	}
	/* populated and swapped zones: every page; thp zone: every other block */
	for (i = 0; i < npages; i++) {
		size_t zi = i / zpages, off = (i % zpages) * PAGE;

		if (zi == Z_HOLE || (zi == Z_THP && (off / HPAGE) % 2))
			continue;
		fill_page((uint64_t *)page_addr(i), i, 1);
		cur_gen[i] = 1;
	}
	if (!O.no_swap)
		madvise(zbase[Z_SWAP], zpages * PAGE, MADV_PAGEOUT);
	return 0;
}

static void free_region(void)
{
	size_t z;

	for (z = 0; z < NZONES; z++)
		if (zbase[z])
			munmap(zbase[z], zpages * PAGE);
	memset(zbase, 0, sizeof(zbase));
	if (snapbuf && snapbuf != MAP_FAILED)
		munmap(snapbuf, npages * PAGE);
	snapbuf = NULL;
	free(cur_gen);
	free(snap_gen);
	free(claim);
	cur_gen = snap_gen = NULL;
	claim = NULL;
}

static void verify_round(int round)
{
	size_t i;
	int shown = 0;

	for (i = 0; i < npages; i++) {
		const uint64_t *p = (const uint64_t *)(snapbuf + i * PAGE);
		size_t z = i / zpages;

		R.checked++;
		if (!snap_gen[i])
			R.holes++;
		if (page_ok(p, i, snap_gen[i]))
			continue;
		R.wrong++;
		R.wrong_zone[z]++;
		if (!snap_gen[i])
			R.wrong_hole++;
		if (O.verbose || shown < 3) {
			char b[96], want[32];

			if (snap_gen[i])
				snprintf(want, sizeof(want), "generation %u", snap_gen[i]);
			else
				snprintf(want, sizeof(want), "zeros (a hole)");
			fprintf(stderr, "  round %d: page %zu (%s zone, saved by %s): "
				"expected %s, saved %s\n", round, i, zone_name[z],
				claim[i] == 2 ? "fault handler" : "saver", want,
				page_what(p, i, b, sizeof(b)));
			shown++;
		}
	}
}

/* Memory now vs. the writers' log (writers stopped). */
static void verify_memory(void)
{
	size_t i;
	int shown = 0;

	for (i = 0; i < npages; i++) {
		const uint64_t *p = (const uint64_t *)page_addr(i);

		if (page_ok(p, i, cur_gen[i]))
			continue;
		R.mem_wrong++;
		if (shown++ < 3) {
			char b[96];

			fprintf(stderr, "  memory: page %zu (%s zone): expected generation %u "
				"(0: zeros), holds %s\n", i, zone_name[i / zpages], cur_gen[i],
				page_what(p, i, b, sizeof(b)));
		}
	}
}

static const char *env_name(const struct u_env *e, char *b, size_t len)
{
	if (e->kind == U_MODULE)
		snprintf(b, len, "uffd_wpu module, %s backend", e->backend);
	else
		snprintf(b, len, "%s", e->kind == U_NATIVE ? "native" : "stock, no module");
	return b;
}

/*
 * One run with the options in O.  Returns 0 (R filled), 2 if it could not
 * start (why says why; -EINVAL in *api_err if bit 13 was refused).
 */
static int run(char *why, size_t len, int *api_err)
{
	pthread_t wt[MAX_WRITERS], ht, st, ct;
	uint64_t features = O.plain ? 0 : UFFD_FEATURE_WP_UNPOPULATED, got = 0;
	uint64_t s = O.seed ^ 0xA5A5A5A5ULL;
	long prev_wrong = 0;
	size_t z;
	int round, r, tries;
	long w;

	memset(&R, 0, sizeof(R));
	stop_writers = stop_handler = stop_chaos = window_open = 0;
	pause_req = npaused = 0;
	*api_err = 0;

	if (O.plain) {
		int dev = open(UFFD_WPU_DEVICE, O_RDWR | O_CLOEXEC);

		if (dev >= 0) {
			opt_out(dev);
			close(dev);
		}
	}
	uffd = uffd_open();
	if (uffd < 0) {
		snprintf(why, len, "userfaultfd: %s", strerror(-uffd));
		return 2;
	}
	r = uffd_api(uffd, features, &got);
	/* a context whose UFFDIO_API failed may try again */
	for (tries = 0; r == -EINVAL && tries < O.api_retry; tries++) {
		u_sleep_ms(20);
		r = uffd_api(uffd, features, &got);
	}
	/* 6.0.y ignores bits it lacks: success, without them in the reply */
	if (!r && (got & features) != features)
		r = -EINVAL;
	if (r) {
		*api_err = r;
		snprintf(why, len, "UFFDIO_API(%s): %s", O.plain ? "plain WP" :
			 "WP_UNPOPULATED", strerror(-r));
		close(uffd);
		return 2;
	}
	if (setup_region(why, len)) {
		close(uffd);
		free_region();
		return 2;
	}
	for (z = 0; z < NZONES; z++) {
		r = uffd_register_wp(uffd, zbase[z], zpages * PAGE);
		if (r) {
			snprintf(why, len, "UFFDIO_REGISTER: %s", strerror(-r));
			close(uffd);
			free_region();
			return 2;
		}
	}
	pthread_create(&ht, NULL, handler_fn, NULL);
	/* writers start paused */
	__atomic_store_n(&pause_req, 1, __ATOMIC_RELEASE);
	for (w = 0; w < O.writers; w++)
		pthread_create(&wt[w], NULL, writer_fn, (void *)w);

	for (round = 1; round <= O.rounds; round++) {
		long t0 = (long)u_now_ms(), fs0 = R.fault_saved, fh0 = R.fault_saved_hole;
		long holes0 = R.holes, t_pause, t_prot, t_head, t_save;

		pause_writers();
		t_pause = (long)u_now_ms();
		if (round > 1) {
			/* the hole zone becomes holes again, the swap zone swapped */
			madvise(zbase[Z_HOLE], zpages * PAGE, MADV_DONTNEED);
			memset(&cur_gen[Z_HOLE * zpages], 0, zpages * sizeof(*cur_gen));
			if (!O.no_swap)
				madvise(zbase[Z_SWAP], zpages * PAGE, MADV_PAGEOUT);
			if (O.chaos)
				chaos_between(&s);
		}
		for (z = 0; z < NZONES; z++) {
			r = uffd_register_wp(uffd, zbase[z], zpages * PAGE);
			if (r)
				error("UFFDIO_REGISTER of zone %s: %s", zone_name[z], strerror(-r));
		}
		/* the snapshot point: memory holds exactly what the log says */
		memcpy(snap_gen, cur_gen, npages * sizeof(*cur_gen));
		memset(claim, 0, npages);
		__atomic_store_n(&nsaved, 0, __ATOMIC_RELEASE);
		for (z = 0; z < NZONES; z++) {
			r = wp_range(z * zpages, zpages, 1);
			if (r)
				error("UFFDIO_WRITEPROTECT of zone %s: %s", zone_name[z], strerror(-r));
		}
		t_prot = (long)u_now_ms();
		__atomic_store_n(&window_open, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&window_writes, 0, __ATOMIC_RELAXED);
		resume_writers();
		/*
		 * The writers get a head start, as they would in a real
		 * snapshot (saving a whole region takes time): some writes land
		 * on pages the saver has not reached, holes included.
		 */
		{
			long want = (long)npages / 32 > 64 ? (long)npages / 32 : 64;
			long long end = u_now_ms() + 1000;

			while (__atomic_load_n(&window_writes, __ATOMIC_RELAXED) < want &&
			       u_now_ms() < end)
				u_sleep_ms(1);
		}

		stop_chaos = 0;
		if (O.chaos)
			pthread_create(&ct, NULL, chaos_fn, (void *)(uintptr_t)(O.seed + (unsigned long)round));
		t_head = (long)u_now_ms();
		pthread_create(&st, NULL, saver_fn, NULL);
		pthread_join(st, NULL);
		wait_saved();
		t_save = (long)u_now_ms();
		if (O.chaos) {
			stop_chaos = 1;
			pthread_join(ct, NULL);
		}
		__atomic_store_n(&window_open, 0, __ATOMIC_RELEASE);

		verify_round(round);
		if (O.verbose || O.rounds <= 5)
			fprintf(stderr, "  round %d: %zu pages, %ld holes at the snapshot point; "
				"saved on WP faults %ld (%ld holes); wrong %ld; %ld ms (pause and "
				"prepare %ld, protect %ld, head start %ld, save %ld, verify %ld)\n",
				round, npages, R.holes - holes0, R.fault_saved - fs0,
				R.fault_saved_hole - fh0, R.wrong - prev_wrong,
				(long)u_now_ms() - t0, t_pause - t0, t_prot - t_pause,
				t_head - t_prot, t_save - t_head, (long)u_now_ms() - t_save);
		prev_wrong = R.wrong;
		u_sleep_ms(20);	/* let the writers make new data */
	}

	pause_writers();
	stop_writers = 1;
	resume_writers();
	for (w = 0; w < O.writers; w++)
		pthread_join(wt[w], NULL);
	stop_handler = 1;
	pthread_join(ht, NULL);
	verify_memory();
	close(uffd);
	uffd = -1;
	free_region();
	return 0;
}

static void print_result(const char *label, const struct u_env *e)
{
	char b[64];

	printf("wpu-snapshot: %s on %s (%s), %zu MiB, %d writers, %d rounds%s, seed %lu\n",
	       label, e->release, env_name(e, b, sizeof(b)), O.size >> 20, O.writers,
	       O.rounds, O.chaos ? ", chaos" : "", O.seed);
	printf("  writes %ld, WP faults %ld (pages saved on a fault %ld, of them holes %ld; "
	       "saved by the saver %ld), holes at snapshot points %ld\n",
	       R.writes, R.faults, R.fault_saved, R.fault_saved_hole, R.saver_saved, R.holes);
	if (O.chaos)
		printf("  chaos: pageout %ld, collapse %ld (%ld ok), fork %ld, move_pages %ld, "
		       "dontneed %ld, mremap %ld, opt-in/out %ld (ms: pageout %ld, collapse %ld, "
		       "fork %ld, move_pages %ld)\n", R.chaos_pageout,
		       R.chaos_collapse, R.chaos_collapse_ok, R.chaos_fork, R.chaos_migrate,
		       R.chaos_dontneed, R.chaos_mremap, R.chaos_opt, R.chaos_ms[0],
		       R.chaos_ms[1], R.chaos_ms[2], R.chaos_ms[3]);
	printf("  pages checked %ld, wrong pages %ld (holes %ld; populated %ld, swapped %ld, "
	       "thp %ld, holes zone %ld); memory vs log: %ld wrong; errors %ld%s%s\n",
	       R.checked, R.wrong, R.wrong_hole, R.wrong_zone[Z_POP], R.wrong_zone[Z_SWAP],
	       R.wrong_zone[Z_THP], R.wrong_zone[Z_HOLE], R.mem_wrong, R.errors,
	       R.errors ? ": " : "", R.error);
	fflush(stdout);
}

/* ---- --test -------------------------------------------------------------- */

static void test_mode(const struct u_env *e, int plain_only)
{
	char why[256];
	int api_err, r;

	if (!plain_only) {
		O.plain = 0;
		r = run(why, sizeof(why), &api_err);
		if (r && api_err == -EINVAL && !e->holes) {
			t_skip("wp-unpopulated-exact", "%s", NO_HOLES_REASON);
		} else if (r) {
			t_fail("wp-unpopulated-exact", "could not run: %s", why);
		} else {
			print_result("WP_UNPOPULATED", e);
			T_CHECK("wp-unpopulated-exact", R.wrong == 0 && R.checked > 0,
				"pages checked %ld, wrong pages %ld (holes %ld)",
				R.checked, R.wrong, R.wrong_hole);
			T_CHECK("wp-unpopulated-holes-faulted", R.fault_saved_hole > 0,
				"no write into a protected hole was caught (%ld WP faults)", R.faults);
			T_CHECK("wp-unpopulated-memory", R.mem_wrong == 0 && R.errors == 0,
				"memory vs writers' log: %ld wrong pages; %ld errors%s%s",
				R.mem_wrong, R.errors, R.errors ? ", first: " : "", R.error);
		}
	}
	/*
	 * Plain protection without chaos: every wrong page must then be a hole
	 * (stock 5.10 loses the protection of THPs that migrate, for example;
	 * that is not what this check is about).
	 */
	O.plain = 1;
	O.chaos = 0;
	r = run(why, sizeof(why), &api_err);
	if (r) {
		t_fail("plain-detected", "could not run: %s", why);
		return;
	}
	print_result("plain WP", e);
	T_CHECK("plain-detected", R.wrong > 0 && R.wrong == R.wrong_hole,
		"plain WP: pages checked %ld, wrong pages %ld, of them holes %ld "
		"(want > 0, all holes)", R.checked, R.wrong, R.wrong_hole);
	T_CHECK("plain-memory", R.mem_wrong == 0 && R.errors == 0,
		"memory vs writers' log: %ld wrong pages; %ld errors%s%s",
		R.mem_wrong, R.errors, R.errors ? ", first: " : "", R.error);
}

/* ---- main ------------------------------------------------------------------ */

static size_t parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	switch (*end) {
	case 'k': case 'K': return (size_t)(v * 1024);
	case 'g': case 'G': return (size_t)(v * (1 << 30));
	case 0: case 'm': case 'M': return (size_t)(v * (1 << 20));
	default: return 0;
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: wpu-snapshot [--size SIZE] [--writers N] [--rounds N] [--plain]\n"
		"                    [--chaos] [--no-swap] [--api-retry N] [--watchdog S]\n"
		"                    [--seed N] [--test] [-v] [--probe]\n"
		"  --size SIZE   region size, MiB unless K/M/G follows (default 64)\n"
		"  --writers N   writer threads (default 3)\n"
		"  --rounds N    snapshots taken (default 3)\n"
		"  --plain       plain UFFDIO_WRITEPROTECT, without WP_UNPOPULATED\n"
		"  --chaos       pageout/collapse/fork/move_pages during snapshots,\n"
		"                dontneed/mremap between them\n"
		"  --no-swap     no MADV_PAGEOUT (the swapped zone stays populated)\n"
		"  --probe       only say (exit 0 / 3) whether WP_UNPOPULATED is offered\n"
		"  --api-retry N retry a refused UFFDIO_API N times, 20 ms apart (the\n"
		"                module's enabled/transparent may be off for a moment)\n"
		"  --watchdog S  give up (exit 2) after S seconds, 0: never (default 3600,\n"
		"                240 with --test)\n"
		"  --seed N      random seed (default: time)\n"
		"  --test        test protocol (@@ PASS|FAIL|SKIP lines, t.h)\n"
		"  -v            every wrong page, every round\n");
}

int wpu_snapshot_main(int argc, char **argv);
int wpu_snapshot_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "size", 1, NULL, 's' }, { "writers", 1, NULL, 'w' },
		{ "rounds", 1, NULL, 'r' }, { "plain", 0, NULL, 'p' },
		{ "chaos", 0, NULL, 'c' }, { "seed", 1, NULL, 'S' },
		{ "no-swap", 0, NULL, 'n' }, { "probe", 0, NULL, 'P' },
		{ "api-retry", 1, NULL, 'A' }, { "watchdog", 1, NULL, 'W' },
		{ "test", 0, NULL, 't' }, { "verbose", 0, NULL, 'v' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *base = strrchr(argv[0], '/');
	struct u_env e;
	char why[256];
	int c, api_err, r, seeded = 0;

	t_prog = base ? base + 1 : argv[0];
	O.size = 64UL << 20;
	O.writers = 3;
	O.rounds = 3;
	O.watchdog = -1;
	while ((c = getopt_long(argc, argv, "s:w:r:pcnS:tvhPA:W:", lo, NULL)) != -1) {
		switch (c) {
		case 's': O.size = parse_size(optarg); break;
		case 'w': O.writers = atoi(optarg); break;
		case 'r': O.rounds = atoi(optarg); break;
		case 'p': O.plain = 1; break;
		case 'c': O.chaos = 1; break;
		case 'n': O.no_swap = 1; break;
		case 'A': O.api_retry = atoi(optarg); break;
		case 'W': O.watchdog = atoi(optarg); break;
		case 'S': O.seed = strtoul(optarg, NULL, 0); seeded = 1; break;
		case 't': O.test = 1; break;
		case 'v': O.verbose = 1; break;
		case 'h': usage(stdout); return 0;
		case 'P':	/* is WP_UNPOPULATED offered?  0 yes, 3 no */
			return u_query_holes() ? 0 : 3;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || O.size < (8UL << 20) || O.writers < 1 ||
	    O.writers > MAX_WRITERS || O.rounds < 1) {
		usage(stderr);
		return 2;
	}
	if (!seeded)
		O.seed = (unsigned long)time(NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (O.watchdog < 0)
		O.watchdog = O.test ? 240 : 3600;
	if (O.watchdog > 0)
		u_watchdog((unsigned int)O.watchdog);
	e = u_env_get();

	if (O.test) {
		test_mode(&e, O.plain);
		return t_exit();
	}
	r = run(why, sizeof(why), &api_err);
	if (r) {
		fprintf(stderr, "wpu-snapshot: %s\n", why);
		printf("wpu-snapshot: %s: %s\n", O.plain ? "plain WP" : "WP_UNPOPULATED",
		       api_err == -EINVAL ? "not offered by this kernel (Invalid argument)" : why);
		return 2;
	}
	print_result(O.plain ? "plain WP" : "WP_UNPOPULATED", &e);
	return R.wrong || R.mem_wrong || R.errors ? 1 : 0;
}

#ifndef WPU_SNAPSHOT_NO_MAIN
int main(int argc, char **argv)
{
	return wpu_snapshot_main(argc, argv);
}
#endif
