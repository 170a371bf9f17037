// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile and failing sequences around the ioctls the module hooks.  Each
 * check asserts what native 6.12 does, and must pass there unchanged:
 *
 *  - an ioctl that fails (bad range, bad mode, misaligned start, a range
 *    with an incompatible VMA, a range owned by another context) changes
 *    nothing: a protected hole stays protected, and the next write to it
 *    is one WP message;
 *  - a thread that rewrites uffdio_api.features while UFFDIO_API runs gets
 *    an answer for one of the values it wrote, never an error, and cannot
 *    take WP_UNPOPULATED / WP_ASYNC away from anybody else;
 *  - REGISTER, UNREGISTER and WRITEPROTECT racing with munmap, mremap and
 *    fork in other threads return only what a native kernel returns, and
 *    leave the feature working.
 */
#include "uffd_util.h"

#define NPAGES	16

static struct u_env env;

/* A write from another thread: the number of WP messages it raised. */
static int wp_writes(int fd, char *p, char val, uint64_t *flags)
{
	struct uffd_msg m;
	int n = access_and_watch(fd, p, ACC_WRITE, val, 1000, &m, NULL, NULL);

	*flags = n > 0 ? m.arg.pagefault.flags : 0;
	return n;
}

/*
 * A context with WP_UNPOPULATED and NPAGES untouched pages, registered WP
 * and protected.  0 on success; the caller closes *fd and unmaps *p.
 */
static int setup_protected(const char *name, int *fd, char **p)
{
	*p = map_anon(NPAGES * PAGE);
	*fd = uffd_new(UFFD_FEATURE_WP_UNPOPULATED);
	if (!*p || *fd < 0) {
		t_fail(name, "setup: map %p, uffd %d", (void *)*p, *fd);
		return -1;
	}
	if (uffd_register_wp(*fd, *p, NPAGES * PAGE) ||
	    uffd_wp(*fd, *p, NPAGES * PAGE, 1)) {
		t_fail(name, "setup: register/protect failed");
		return -1;
	}
	return 0;
}

/* After a failed ioctl: the protected hole at p must still report a write. */
static void expect_still_protected(const char *name, int fd, char *p,
				   int ret, int want_err)
{
	uint64_t flags;
	int n;

	if (ret != -want_err) {
		t_fail(name, "ioctl returned %d (%s), native 6.12 gives %s",
		       ret, strerror(-ret), strerror(want_err));
		return;
	}
	n = wp_writes(fd, p, 7, &flags);
	T_CHECK(name, n == 1 && flags == WP_WRITE_FLAGS,
		"%d messages (flags %#llx) for a write to a protected hole after the failed ioctl; native 6.12: one WP message",
		n, (unsigned long long)flags);
}

/* uh_stop() that leaves the messages for the caller (who frees them). */
static void uh_stop_keep(struct uh *h)
{
	h->stop = 1;
	pthread_join(h->th, NULL);
	h->started = 0;
}

static int register_raw(int fd, uint64_t start, uint64_t len, uint64_t mode)
{
	struct uffdio_register r = {
		.range = { .start = start, .len = len }, .mode = mode,
	};

	return ioctl(fd, UFFDIO_REGISTER, &r) ? -errno : 0;
}

static int unregister_raw(int fd, uint64_t start, uint64_t len)
{
	struct uffdio_range r = { .start = start, .len = len };

	return ioctl(fd, UFFDIO_UNREGISTER, &r) ? -errno : 0;
}

static int wp_raw(int fd, uint64_t start, uint64_t len, uint64_t mode)
{
	struct uffdio_writeprotect w = {
		.range = { .start = start, .len = len }, .mode = mode,
	};

	return ioctl(fd, UFFDIO_WRITEPROTECT, &w) ? -errno : 0;
}

#define MODE_MW (UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP)

/* REGISTER(MISSING|WP) that the kernel rejects, in several ways. */
static void check_register_fails(void)
{
	static const struct {
		const char *name;
		uint64_t off, len, mode;
		int err;
	} c[] = {
		{ "register_misaligned_start", 1, NPAGES * PAGE, MODE_MW, EINVAL },
		{ "register_misaligned_len", 0, NPAGES * PAGE - 1, MODE_MW, EINVAL },
		{ "register_zero_len", 0, 0, MODE_MW, EINVAL },
		{ "register_len_overflow", 0, -PAGE, MODE_MW, EINVAL },
		{ "register_bad_mode", 0, NPAGES * PAGE, MODE_MW | (1ULL << 5), EINVAL },
	};
	unsigned int i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *p;
		int fd, r;

		u_current = c[i].name;
		if (setup_protected(c[i].name, &fd, &p))
			return;
		r = register_raw(fd, (uintptr_t)p + c[i].off, c[i].len,
				 c[i].mode);
		expect_still_protected(c[i].name, fd, p + 3 * PAGE, r, c[i].err);
		close(fd);
		munmap(p, NPAGES * PAGE);
	}
}

/*
 * The same over an empty THP-eligible 2 MiB (a huge hole where the module
 * makes one): a rejected REGISTER(MISSING|WP) leaves it protected.
 */
static void check_register_fails_huge(void)
{
	const char *name = "register_misaligned_huge_range";
	char *p = map_anon_aligned(HPAGE, HPAGE, MADV_HUGEPAGE);
	int fd = uffd_new(UFFD_FEATURE_WP_UNPOPULATED), r;

	u_current = name;
	if (!p || fd < 0 || uffd_register_wp(fd, p, HPAGE) ||
	    uffd_wp(fd, p, HPAGE, 1)) {
		t_fail(name, "setup failed");
		return;
	}
	r = register_raw(fd, (uintptr_t)p + 1, HPAGE, MODE_MW);
	expect_still_protected(name, fd, p + 100 * PAGE, r, EINVAL);
	close(fd);
	munmap(p, HPAGE);
}

/* REGISTER(MISSING|WP) by a second context: the range is not its own. */
static void check_register_busy(void)
{
	const char *name = "register_other_ctx_busy";
	char *p;
	int fd, fd2, r;

	u_current = name;
	if (setup_protected(name, &fd, &p))
		return;
	fd2 = uffd_new(UFFD_FEATURE_WP_UNPOPULATED);
	r = fd2 < 0 ? fd2 : register_raw(fd2, (uintptr_t)p, NPAGES * PAGE,
					 MODE_MW);
	expect_still_protected(name, fd, p + 5 * PAGE, r, EBUSY);
	if (fd2 >= 0)
		close(fd2);
	close(fd);
	munmap(p, NPAGES * PAGE);
}

/*
 * REGISTER(MISSING|WP) whose argument is read-only: the kernel registers,
 * then cannot write the answer (EFAULT).  The registration stands, so a
 * read of a protected hole is a MISSING fault, as on 6.4+.
 */
static void check_register_efault(void)
{
	const char *name = "register_readonly_arg_efault";
	struct uffdio_register *r;
	struct uffd_msg m;
	char *p;
	int fd, ret, n;

	u_current = name;
	if (setup_protected(name, &fd, &p))
		return;
	r = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED) {
		t_fail(name, "mmap");
		return;
	}
	r->range.start = (uintptr_t)p;
	r->range.len = NPAGES * PAGE;
	r->mode = MODE_MW;
	mprotect(r, PAGE, PROT_READ);
	ret = ioctl(fd, UFFDIO_REGISTER, r) ? -errno : 0;
	if (ret != -EFAULT) {
		t_fail(name, "REGISTER with a read-only argument returned %d (%s), native 6.12 gives EFAULT",
		       ret, strerror(-ret));
	} else {
		n = access_and_watch(fd, p + 6 * PAGE, ACC_READ, 0, 1000, &m,
				     NULL, NULL);
		T_CHECK(name, n == 1 && m.arg.pagefault.flags == 0,
			"%d messages (flags %#llx) for a read of a protected hole after the registration; native 6.12: one MISSING message",
			n, n > 0 ? (unsigned long long)m.arg.pagefault.flags : 0ULL);
	}
	munmap(r, PAGE);
	close(fd);
	munmap(p, NPAGES * PAGE);
}

/*
 * Writes racing a REGISTER(MISSING|WP) over protected holes: the first
 * write to each hole is a WP or a MISSING message, never silent (on 6.4+
 * the hole is a marker before, during and after the registration).  The
 * offset between the writes and the ioctl varies from round to round.
 */
struct writer {
	char *p;
	volatile int go;
	volatile int ready;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	int j;

	w->ready = 1;
	while (!w->go)
		;
	for (j = 0; j < NPAGES; j++)
		w->p[j * PAGE] = 1;
	return NULL;
}

static void check_register_vs_writes(void)
{
	const char *name = "register_missing_vs_writes";
	int round, silent = 0, bad_ret = 0, first_ret = 0;

	u_current = name;
	for (round = 0; round < 100 && !silent; round++) {
		struct writer w = { 0 };
		int seen[NPAGES] = { 0 }, fd, i, r;
		pthread_t th;
		struct uh h;
		char *p;

		if (setup_protected(name, &fd, &p))
			return;
		if (uh_start(&h, fd, 1, UH_MISSING_COPY)) {
			t_fail(name, "handler thread");
			return;
		}
		w.p = p;
		if (pthread_create(&th, NULL, writer_fn, &w)) {
			t_fail(name, "pthread_create");
			return;
		}
		while (!w.ready)
			;
		w.go = 1;
		for (i = 0; i < (round % 20) * 500; i++)
			__asm__ volatile("" ::: "memory");
		r = register_raw(fd, (uintptr_t)p, NPAGES * PAGE, MODE_MW);
		if (r && !bad_ret++)
			first_ret = r;
		pthread_join(th, NULL);
		uh_stop_keep(&h);
		for (i = 0; i < h.nstored; i++) {
			uintptr_t a = h.msgs[i].arg.pagefault.address;

			if (h.msgs[i].event == UFFD_EVENT_PAGEFAULT &&
			    a >= (uintptr_t)p && a < (uintptr_t)p + NPAGES * PAGE)
				seen[(a - (uintptr_t)p) / PAGE]++;
		}
		free(h.msgs);
		for (i = 0; i < NPAGES; i++)
			if (!seen[i])
				silent++;
		close(fd);
		munmap(p, NPAGES * PAGE);
	}
	if (bad_ret)
		t_fail(name, "%d REGISTER calls failed (first: %s)", bad_ret,
		       strerror(-first_ret));
	else
		T_CHECK(name, !silent,
			"round %d: %d writes to protected holes raised no message while REGISTER(MISSING|WP) ran; native 6.12: every one raises WP or MISSING",
			round, silent);
}

/* UFFDIO_API whose argument is read-only: EFAULT, and it can be retried. */
static void check_api_efault(void)
{
	const char *name = "api_readonly_arg_efault";
	struct uffdio_api *a;
	int fd = uffd_open(), r1, r2;

	u_current = name;
	a = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || a == MAP_FAILED) {
		t_fail(name, "setup failed");
		return;
	}
	a->api = UFFD_API;
	a->features = UFFD_FEATURE_WP_UNPOPULATED;
	mprotect(a, PAGE, PROT_READ);
	r1 = ioctl(fd, UFFDIO_API, a) ? -errno : 0;
	r2 = uffd_api(fd, UFFD_FEATURE_WP_UNPOPULATED, NULL);
	T_CHECK(name, r1 == -EFAULT && !r2,
		"read-only argument: %d, then writable: %d; native 6.12: EFAULT, then 0",
		r1, r2);
	munmap(a, PAGE);
	close(fd);
}

/* UNREGISTER / WRITEPROTECT(0) with bad ranges change nothing. */
static void check_range_fails(void)
{
	static const struct {
		const char *name;
		int unreg;
		uint64_t off, len;
	} c[] = {
		{ "unregister_misaligned_start", 1, 1, NPAGES * PAGE },
		{ "unregister_zero_len", 1, 0, 0 },
		{ "unregister_len_overflow", 1, 0, -PAGE },
		{ "unprotect_misaligned_start", 0, 1, NPAGES * PAGE },
		{ "unprotect_len_overflow", 0, 0, -PAGE },
	};
	unsigned int i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *p;
		int fd, r;

		u_current = c[i].name;
		if (setup_protected(c[i].name, &fd, &p))
			return;
		if (c[i].unreg)
			r = unregister_raw(fd, (uintptr_t)p + c[i].off, c[i].len);
		else
			r = wp_raw(fd, (uintptr_t)p + c[i].off, c[i].len, 0);
		expect_still_protected(c[i].name, fd, p + 2 * PAGE, r, EINVAL);
		close(fd);
		munmap(p, NPAGES * PAGE);
	}
}

/*
 * A special mapping ([vvar], [vdso], ...): neither anonymous nor shmem, so
 * no userfaultfd range may contain one.
 */
static int find_special(uintptr_t *start, uintptr_t *end)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int found = 0;

	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx", &s, &e) == 2 &&
		    (strstr(line, "[vvar") || strstr(line, "[vdso]"))) {
			*start = s;
			*end = e;
			found = 1;
		}
	}
	fclose(f);
	return found ? 0 : -1;
}

/*
 * UNREGISTER over a range from a protected anonymous VMA to a special
 * mapping (whatever lies between): EINVAL, and the protected VMA stays
 * registered and protected.
 */
static void check_unregister_incompatible(void)
{
	const char *name = "unregister_incompatible_vma";
	uintptr_t s, e, lo, hi;
	char *p;
	int fd, r;

	u_current = name;
	if (find_special(&s, &e)) {
		t_skip(name, "no [vvar]/[vdso] mapping");
		return;
	}
	if (setup_protected(name, &fd, &p))
		return;
	lo = (uintptr_t)p < s ? (uintptr_t)p : s;
	hi = (uintptr_t)p + NPAGES * PAGE > e ? (uintptr_t)p + NPAGES * PAGE : e;
	r = unregister_raw(fd, lo, hi - lo);
	expect_still_protected(name, fd, p + 4 * PAGE, r, EINVAL);
	close(fd);
	munmap(p, NPAGES * PAGE);
}

/* ---- UFFDIO_API with a thread rewriting the argument ------------------ */

#define API_A	(UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_THREAD_ID)
#define API_B	0ULL

struct flipper {
	volatile __u64 *features;
	volatile int stop;
};

static void *flip_fn(void *arg)
{
	struct flipper *f = arg;

	while (!f->stop) {
		*f->features = API_A;
		*f->features = API_B;
	}
	return NULL;
}

/* In a new process: does a fresh context get bits 13 and 15? */
static int fresh_ctx_gets_bits(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		uint64_t want = UFFD_FEATURE_WP_UNPOPULATED |
				UFFD_FEATURE_WP_ASYNC, out = 0;
		int fd = uffd_open();

		if (fd < 0 || uffd_api(fd, want, &out))
			_exit(1);
		_exit((out & want) == want ? 0 : 2);
	}
	return u_wait_child(pid, 10000);
}

static void check_api_flip(void)
{
	const char *name = "api_features_flipped";
	struct uffdio_api a;
	struct flipper f = { .features = &a.features };
	int i, bad = 0, first = 0, r;
	pthread_t th;

	u_current = name;
	if (!env.holes) {
		t_skip(name, NO_HOLES_REASON);
		t_skip("api_flip_fresh_ctx", NO_HOLES_REASON);
		return;
	}
	memset(&a, 0, sizeof(a));
	if (pthread_create(&th, NULL, flip_fn, &f)) {
		t_fail(name, "pthread_create");
		return;
	}
	for (i = 0; i < 20000; i++) {
		int fd = uffd_open();

		if (fd < 0)
			break;
		a.api = UFFD_API;
		a.features = API_A;
		r = ioctl(fd, UFFDIO_API, &a) ? -errno : 0;
		if (r && !bad++)
			first = r;
		close(fd);
	}
	f.stop = 1;
	pthread_join(th, NULL);
	T_CHECK(name, !bad,
		"%d of %d UFFDIO_API calls failed (first: %s); native 6.12 answers every one with 0",
		bad, i, strerror(-first));
	r = fresh_ctx_gets_bits();
	T_CHECK("api_flip_fresh_ctx", r == 0,
		"after the race a fresh context in another process does not get WP_UNPOPULATED|WP_ASYNC (child status %d)",
		r);
}

/* ---- REGISTER/UNREGISTER/WRITEPROTECT racing munmap, mremap, fork ----- */

#define RACE_LEN	(64 * PAGE)

struct racer {
	char *volatile base;
	int uffd;
	volatile int stop;
	volatile int stop_handler;
	unsigned long ops;
};

static void remap_anon(char *p, size_t len)
{
	mmap(p, len, PROT_READ | PROT_WRITE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

static void *race_vm_fn(void *arg)
{
	struct racer *r = arg;
	uint32_t seed = 12345;

	while (!r->stop) {
		char *b = r->base;
		uint32_t x = u_xorshift32(&seed);
		size_t off = (x % 64) * PAGE, len = ((x >> 8) % 8 + 1) * PAGE;

		if (off + len > RACE_LEN)
			len = RACE_LEN - off;
		switch ((x >> 16) % 4) {
		case 0:		/* punch a hole, then fill it again */
			munmap(b + off, len);
			remap_anon(b + off, len);
			break;
		case 1:		/* move a piece away and back */
			/*
			 * A failed mremap() may have unmapped its target
			 * (several VMAs in the source: EFAULT): map again.
			 */
			if (mremap(b + off, len, len,
				   MREMAP_MAYMOVE | MREMAP_FIXED,
				   b + RACE_LEN + off) == MAP_FAILED)
				remap_anon(b + RACE_LEN + off, len);
			if (mremap(b + RACE_LEN + off, len, len,
				   MREMAP_MAYMOVE | MREMAP_FIXED,
				   b + off) == MAP_FAILED)
				remap_anon(b + off, len);
			break;
		case 2:
			b[off] = (char)x;	/* may fault: the handler runs */
			break;
		default:
			madvise(b + off, len, MADV_DONTNEED);
		}
		r->ops++;
	}
	return NULL;
}

static void *race_fork_fn(void *arg)
{
	struct racer *r = arg;

	while (!r->stop) {
		pid_t pid = fork();

		if (!pid)
			_exit(0);
		if (pid > 0)
			u_wait_child(pid, 10000);
	}
	return NULL;
}

/*
 * Resolve every fault and always wake: a WP fault whose range another
 * thread just unregistered is never woken by the kernel itself.
 */
static void *race_handler_fn(void *arg)
{
	struct racer *r = arg;

	while (!r->stop_handler) {
		struct uffd_msg m;
		void *pg;

		if (uffd_read_msg(r->uffd, &m, 50) != 1 ||
		    m.event != UFFD_EVENT_PAGEFAULT)
			continue;
		pg = (void *)(uintptr_t)(m.arg.pagefault.address & ~(PAGE - 1));
		if (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP)
			uffd_wp(r->uffd, pg, PAGE, 0);
		else
			uffd_zeropage(r->uffd, pg, PAGE, 0, NULL);
		uffd_wake(r->uffd, pg, PAGE);
	}
	return NULL;
}

static int race_errno_ok(int r)
{
	/* What native returns when the VMAs change under a range ioctl. */
	return !r || r == -EINVAL || r == -ENOENT || r == -EAGAIN ||
	       r == -ENOMEM || r == -EBUSY;
}

static void check_race(void)
{
	const char *name = "range_ioctls_vs_munmap_mremap_fork";
	struct racer rc = { 0 };
	pthread_t vm, fk, hd;
	int fd, i, r, odd = 0, first = 0;
	char *p;

	u_current = name;
	/* The range and the same length above it, for mremap to move into. */
	p = map_anon(2 * RACE_LEN);
	fd = uffd_new(env.holes ? UFFD_FEATURE_WP_UNPOPULATED : 0);
	if (!p || fd < 0) {
		t_fail(name, "setup failed");
		return;
	}
	rc.base = p;
	rc.uffd = fd;
	if (pthread_create(&hd, NULL, race_handler_fn, &rc) ||
	    pthread_create(&vm, NULL, race_vm_fn, &rc) ||
	    pthread_create(&fk, NULL, race_fork_fn, &rc)) {
		t_fail(name, "pthread_create");
		return;
	}
	for (i = 0; i < 3000; i++) {
		uint32_t seed = (uint32_t)i * 2654435761u + 1;
		uint32_t x = u_xorshift32(&seed);
		size_t off = (x % 64) * PAGE, len = ((x >> 8) % 32 + 1) * PAGE;

		if (off + len > RACE_LEN)
			len = RACE_LEN - off;
		switch ((x >> 16) % 4) {
		case 0:
			r = register_raw(fd, (uintptr_t)p + off, len,
					 UFFDIO_REGISTER_MODE_WP);
			break;
		case 1:
			r = register_raw(fd, (uintptr_t)p + off, len, MODE_MW);
			break;
		case 2:
			r = unregister_raw(fd, (uintptr_t)p + off, len);
			break;
		default:
			r = wp_raw(fd, (uintptr_t)p + off, len,
				   x & (1u << 24) ? UFFDIO_WRITEPROTECT_MODE_WP : 0);
		}
		if (!race_errno_ok(r) && !odd++)
			first = r;
	}
	rc.stop = 1;
	pthread_join(vm, NULL);
	pthread_join(fk, NULL);
	unregister_raw(fd, (uintptr_t)p, 2 * RACE_LEN);
	rc.stop_handler = 1;
	pthread_join(hd, NULL);
	close(fd);
	munmap(p, 2 * RACE_LEN);
	T_CHECK(name, !odd, "%d ioctls returned an error native 6.12 does not (first: %s)",
		odd, strerror(-first));

	/* And the feature still works afterwards. */
	name = "after_race_protect_works";
	if (!env.holes) {
		t_skip(name, NO_HOLES_REASON);
		return;
	}
	if (setup_protected(name, &fd, &p))
		return;
	expect_still_protected(name, fd, p + PAGE, 0, 0);
	close(fd);
	munmap(p, NPAGES * PAGE);
}

int main(void)
{
	t_prog = "wp_hostile";
	u_watchdog(600);
	env = u_env_get();
	if (!env.holes) {
		/* Every case protects holes: nothing to compare with. */
		t_skip("all", NO_HOLES_REASON);
		check_race();
		return t_exit();
	}
	check_register_fails();
	check_register_fails_huge();
	check_register_busy();
	check_register_efault();
	check_register_vs_writes();
	check_api_efault();
	check_range_fails();
	check_unregister_incompatible();
	check_race();
	check_api_flip();	/* last: before the fix it broke the module */
	return t_exit();
}
