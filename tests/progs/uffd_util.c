// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the userfaultfd write-protect test programs (the
 * declarations, with what each does, are in uffd_util.h).  Linked into
 * every program of tests/progs (tests/progs/Makefile).
 */
#include "uffd_util.h"

pid_t u_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

long long u_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void u_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int u_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

int u_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	e = n < 0 ? -errno : 0;
	close(fd);
	return e;
}

/* The THP mode found by the first u_thp_set(), for u_thp_restore(). */
static char *u_thp_saved(void)
{
	static char saved[32];

	return saved;
}

int u_thp_set(const char *mode)
{
	char buf[128] = "", *saved = u_thp_saved(), *a, *b;

	if (!saved[0]) {
		if (u_read_file(U_THP_ENABLED, buf, sizeof(buf)))
			return -1;
		a = strchr(buf, '[');
		b = a ? strchr(a, ']') : NULL;
		if (!a || !b || b - a - 1 >= 32)
			return -1;
		memcpy(saved, a + 1, b - a - 1);
		saved[b - a - 1] = 0;
	}
	return u_write_file(U_THP_ENABLED, mode);
}

void u_thp_restore(void)
{
	if (u_thp_saved()[0])
		u_write_file(U_THP_ENABLED, u_thp_saved());
}

int u_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

void *map_anon_aligned(size_t len, size_t align, int advice)
{
	size_t total = len + align;
	char *p = mmap(NULL, total, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	if ((uintptr_t)p + total > a + len)
		munmap((void *)(a + len), (uintptr_t)p + total - (a + len));
	madvise((void *)a, len, advice);
	return (void *)a;
}

int uffd_open(void)
{
	int fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

int uffd_api_raw(int fd, uint64_t api, uint64_t features,
		 uint64_t *out, uint64_t *ioctls)
{
	struct uffdio_api a = { .api = api, .features = features };
	int r = ioctl(fd, UFFDIO_API, &a);
	int e = r ? -errno : 0;

	if (out)
		*out = a.features;
	if (ioctls)
		*ioctls = a.ioctls;
	return e;
}

int uffd_api(int fd, uint64_t features, uint64_t *out)
{
	return uffd_api_raw(fd, UFFD_API, features, out, NULL);
}

int uffd_new(uint64_t features)
{
	int fd = uffd_open();
	int r;

	if (fd < 0)
		return fd;
	r = uffd_api(fd, features, NULL);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

int uffd_register(int fd, void *addr, size_t len, uint64_t mode)
{
	struct uffdio_register r = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = mode,
	};

	return ioctl(fd, UFFDIO_REGISTER, &r) ? -errno : 0;
}

int uffd_register_wp(int fd, void *addr, size_t len)
{
	return uffd_register(fd, addr, len, UFFDIO_REGISTER_MODE_WP);
}

int uffd_unregister(int fd, void *addr, size_t len)
{
	struct uffdio_range r = { .start = (uintptr_t)addr, .len = len };

	return ioctl(fd, UFFDIO_UNREGISTER, &r) ? -errno : 0;
}

int uffd_wp(int fd, void *addr, size_t len, int protect)
{
	struct uffdio_writeprotect w = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(fd, UFFDIO_WRITEPROTECT, &w) ? -errno : 0;
}

int uffd_copy(int fd, void *dst, const void *src, size_t len,
	      uint64_t mode, int64_t *copied)
{
	struct uffdio_copy c = {
		.dst = (uintptr_t)dst, .src = (uintptr_t)src,
		.len = len, .mode = mode,
	};
	int e = ioctl(fd, UFFDIO_COPY, &c) ? -errno : 0;

	if (copied)
		*copied = c.copy;
	return e;
}

int uffd_zeropage(int fd, void *dst, size_t len, uint64_t mode,
		  int64_t *zeroed)
{
	struct uffdio_zeropage z = {
		.range = { .start = (uintptr_t)dst, .len = len },
		.mode = mode,
	};
	int e = ioctl(fd, UFFDIO_ZEROPAGE, &z) ? -errno : 0;

	if (zeroed)
		*zeroed = z.zeropage;
	return e;
}

int uffd_wake(int fd, void *addr, size_t len)
{
	struct uffdio_range r = { .start = (uintptr_t)addr, .len = len };

	return ioctl(fd, UFFDIO_WAKE, &r) ? -errno : 0;
}

int uffd_read_msg(int fd, struct uffd_msg *m, int timeout_ms)
{
	long long end = u_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = end - u_now_ms();
		ssize_t n;
		int r;

		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return 0;
		if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
			return -EIO;
		n = read(fd, m, sizeof(*m));
		if (n == (ssize_t)sizeof(*m))
			return 1;
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (u_now_ms() >= end)
				return 0;
			continue;
		}
		return n < 0 ? -errno : -EIO;
	}
}

const char *msg_str(const struct uffd_msg *m, char *buf,
		    size_t len)
{
	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT:
		snprintf(buf, len, "PAGEFAULT addr=%#llx flags=%#llx ptid=%u",
			 (unsigned long long)m->arg.pagefault.address,
			 (unsigned long long)m->arg.pagefault.flags,
			 m->arg.pagefault.feat.ptid);
		break;
	case UFFD_EVENT_FORK:
		snprintf(buf, len, "FORK ufd=%u", m->arg.fork.ufd);
		break;
	case UFFD_EVENT_REMAP:
		snprintf(buf, len, "REMAP from=%#llx to=%#llx len=%#llx",
			 (unsigned long long)m->arg.remap.from,
			 (unsigned long long)m->arg.remap.to,
			 (unsigned long long)m->arg.remap.len);
		break;
	default:
		snprintf(buf, len, "event %#x", m->event);
	}
	return buf;
}

int pagemap_of(pid_t pid, const void *addr, uint64_t *ent)
{
	char path[64];
	int fd;
	ssize_t n;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/pagemap");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, ent, sizeof(*ent),
		  (off_t)((uintptr_t)addr / PAGE * sizeof(*ent)));
	close(fd);
	if (n != (ssize_t)sizeof(*ent))
		return n < 0 ? -errno : -EIO;
	return 0;
}

uint64_t pagemap(const void *addr)
{
	uint64_t e;

	return pagemap_of(0, addr, &e) ? ~0ULL : e;
}

int pm_wp(const void *addr)
{
	uint64_t e = pagemap(addr);

	return e != ~0ULL && (e & PM_UFFD_WP);
}

int u_api_bit13(int fd)
{
	uint64_t got = 0;
	int r = uffd_api(fd, UFFD_FEATURE_WP_UNPOPULATED, &got);

	return !r && !(got & UFFD_FEATURE_WP_UNPOPULATED) ? U_API_IGNORED : r;
}

int u_api_refused(int r)
{
	return r == -EINVAL ||
	       (r == U_API_IGNORED && u_kernel_fact("api_ignores_unknown") == 1);
}

const char *u_api_str(int r)
{
	if (r == U_API_IGNORED)
		return "success without bit 13";
	return r ? strerror(-r) : "success";
}

int u_kernel_fact(const char *name)
{
	char line[128];
	size_t n = strlen(name);
	int v = -1;
	FILE *f = fopen(U_FACTS_FILE, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == '=') {
			v = atoi(line + n + 1);
			break;
		}
	fclose(f);
	return v;
}

int u_kernel_at_least(const struct u_env *e, int maj, int min)
{
	return e->kmaj > maj || (e->kmaj == maj && e->kmin >= min);
}

int u_query_holes(void)
{
	uint64_t f = 0;
	int fd = uffd_open();
	int r;

	if (fd < 0)
		return 0;
	r = uffd_api(fd, 0, &f);
	close(fd);
	return !r && (f & UFFD_FEATURE_WP_UNPOPULATED);
}

/*
 * Does pagemap report uffd-wp (bit 57)?  Asked of the kernel, not of its
 * version (5.13 upstream, earlier in some distribution kernels): a page
 * written, registered, protected, and its pagemap entry read.
 */
static int u_probe_pm_uffd_wp(void)
{
	long psz = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, psz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd, r = 0;

	if (p == MAP_FAILED)
		return 0;
	p[0] = 1;
	fd = uffd_new(0);
	if (fd >= 0) {
		r = !uffd_register_wp(fd, p, psz) && !uffd_wp(fd, p, psz, 1) &&
		    pm_wp(p);
		close(fd);
	}
	munmap(p, psz);
	return r;
}

struct u_env u_env_get(void)
{
	struct u_env e;
	struct utsname u;

	memset(&e, 0, sizeof(e));
	if (!uname(&u)) {
		snprintf(e.release, sizeof(e.release), "%s", u.release);
		sscanf(u.release, "%d.%d", &e.kmaj, &e.kmin);
	}
	e.holes = u_query_holes();
	if (u_exists(UFFD_WPU_SYSFS_DIR)) {
		e.kind = U_MODULE;
		if (u_read_file(UFFD_WPU_SYSFS_DIR "/backend", e.backend,
				sizeof(e.backend)))
			snprintf(e.backend, sizeof(e.backend), "?");
		e.zeropage = !strcmp(e.backend, "zeropage");
	} else {
		e.kind = e.holes ? U_NATIVE : U_STOCK;
	}
	/* The module reports it where the kernel does not. */
	e.pm_uffd_wp = e.kind == U_MODULE || u_probe_pm_uffd_wp();
	fprintf(stderr, "%s: kernel %s, %s%s%s, WP_UNPOPULATED %s, pagemap bit 57 %s\n",
		t_prog, e.release,
		e.kind == U_NATIVE ? "native" :
		e.kind == U_MODULE ? "module backend " : "stock",
		e.backend, "", e.holes ? "offered" : "not offered",
		e.pm_uffd_wp ? "yes" : "no");
	return e;
}

void u_pm_check(const struct u_env *e, const char *name,
		const void *addr, int want_wp)
{
	uint64_t ent;

	if (!e->pm_uffd_wp) {
		t_skip(name, NO_PM_REASON);
		return;
	}
	ent = pagemap(addr);
	T_CHECK(name, ent != ~0ULL && !!(ent & PM_UFFD_WP) == want_wp,
		"pagemap %#llx, want PM_UFFD_WP %s", (unsigned long long)ent,
		want_wp ? "set" : "clear");
}

const char *volatile u_current = "start";

void (*volatile u_cleanup)(void);

static void u_sigalrm(int sig)
{
	char buf[256];
	int n;

	(void)sig;
	n = snprintf(buf, sizeof(buf),
		     "@@ FAIL %s/watchdog: no progress, still in '%s' (hang?)\n",
		     t_prog, u_current);
	t_write_line(buf, (size_t)n);
	if (u_cleanup)
		u_cleanup();
	_exit(2);
}

void u_watchdog(unsigned int secs)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = u_sigalrm;
	sigaction(SIGALRM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	t_results_open();	/* the handler writes there too */
	alarm(secs);
}

static void *accessor_fn(void *arg)
{
	struct accessor *a = arg;

	a->tid = u_gettid();
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (a->kind == ACC_WRITE)
		*a->addr = a->val;
	else
		a->val = *a->addr;
	__atomic_store_n(&a->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

int accessor_start(struct accessor *a, void *addr, int kind,
		   char val)
{
	memset(a, 0, sizeof(*a));
	a->addr = addr;
	a->kind = kind;
	a->val = val;
	if (pthread_create(&a->th, NULL, accessor_fn, a))
		return -1;
	a->started = 1;
	return 0;
}

int accessor_join(struct accessor *a, int timeout_ms)
{
	struct timespec ts;

	if (!a->started)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(a->th, NULL, &ts))
		return -1;
	a->started = 0;
	return 0;
}

int accessor_wait_done(struct accessor *a, int timeout_ms)
{
	long long end = u_now_ms() + timeout_ms;

	while (!__atomic_load_n(&a->done, __ATOMIC_SEQ_CST)) {
		if (u_now_ms() >= end)
			return 0;
		u_sleep_ms(2);
	}
	return 1;
}

static void uh_error(struct uh *h, const char *what, int e)
{
	pthread_mutex_lock(&h->lock);
	if (!h->nerr++)
		snprintf(h->err, sizeof(h->err), "%s: %s", what, strerror(-e));
	pthread_mutex_unlock(&h->lock);
}

static void uh_handle(struct uh *h, struct uffd_msg *m)
{
	static char page[PAGE] __attribute__((aligned(4096)));
	void *pg = (void *)(uintptr_t)(m->arg.pagefault.address & ~(PAGE - 1));
	int r;

	if (m->event != UFFD_EVENT_PAGEFAULT)
		return;

	if (m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
		if (!h->resolve_wp)
			return;
		r = uffd_wp(h->uffd, pg, PAGE, 0);
		if (r)
			uh_error(h, "unprotect", r);
		return;
	}
	switch (h->missing) {
	case UH_MISSING_NONE:
		return;
	case UH_MISSING_ZEROPAGE:
		r = uffd_zeropage(h->uffd, pg, PAGE, 0, NULL);
		break;
	case UH_MISSING_COPY:
	case UH_MISSING_COPY_WP:
		memset(page, h->fill, PAGE);
		r = uffd_copy(h->uffd, pg, page, PAGE,
			      h->missing == UH_MISSING_COPY_WP ?
			      UFFDIO_COPY_MODE_WP : 0, NULL);
		break;
	default:
		return;
	}
	if (r == -EEXIST)	/* raced: someone else filled it; just wake */
		r = uffd_wake(h->uffd, pg, PAGE);
	if (r)
		uh_error(h, "resolve missing", r);
}

static void *uh_fn(void *arg)
{
	struct uh *h = arg;

	while (!h->stop) {
		struct uffd_msg m;
		int r = uffd_read_msg(h->uffd, &m, 50);

		if (r < 0) {
			uh_error(h, "read", r);
			break;
		}
		if (r == 0)
			continue;
		/* record before resolving: the faulting thread may look at once */
		pthread_mutex_lock(&h->lock);
		if (h->nstored < UH_MAX_MSGS)
			h->msgs[h->nstored++] = m;
		h->nmsgs++;
		pthread_cond_broadcast(&h->cond);
		pthread_mutex_unlock(&h->lock);
		uh_handle(h, &m);
	}
	return NULL;
}

int uh_start(struct uh *h, int uffd, int resolve_wp,
	     enum uh_missing missing)
{
	memset(h, 0, sizeof(*h));
	h->uffd = uffd;
	h->resolve_wp = resolve_wp;
	h->missing = missing;
	h->msgs = calloc(UH_MAX_MSGS, sizeof(*h->msgs));
	if (!h->msgs)
		return -1;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	if (pthread_create(&h->th, NULL, uh_fn, h))
		return -1;
	h->started = 1;
	return 0;
}

void uh_stop(struct uh *h)
{
	if (!h->started)
		return;
	h->stop = 1;
	pthread_join(h->th, NULL);
	h->started = 0;
	free(h->msgs);
	h->msgs = NULL;
}

int uh_wait(struct uh *h, int n, int timeout_ms)
{
	long long end = u_now_ms() + timeout_ms;
	int c;

	pthread_mutex_lock(&h->lock);
	while (h->nmsgs < n) {
		struct timespec ts;
		long long left = end - u_now_ms();

		if (left <= 0)
			break;
		if (left > 50)
			left = 50;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)left * 1000000L;
		while (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&h->cond, &h->lock, &ts);
	}
	c = h->nmsgs;
	pthread_mutex_unlock(&h->lock);
	return c;
}

int uh_count(struct uh *h)
{
	int c;

	pthread_mutex_lock(&h->lock);
	c = h->nmsgs;
	pthread_mutex_unlock(&h->lock);
	return c;
}

struct uffd_msg uh_msg(struct uh *h, int i)
{
	struct uffd_msg m;

	pthread_mutex_lock(&h->lock);
	m = h->msgs[i];
	pthread_mutex_unlock(&h->lock);
	return m;
}

void uh_reset(struct uh *h)
{
	pthread_mutex_lock(&h->lock);
	h->nmsgs = h->nstored = 0;
	pthread_mutex_unlock(&h->lock);
}

int msg_is_wp_write(const struct uffd_msg *m, const void *pg)
{
	return m->event == UFFD_EVENT_PAGEFAULT &&
	       m->arg.pagefault.flags == WP_WRITE_FLAGS &&
	       m->arg.pagefault.address == (uintptr_t)pg;
}

void resolve_any(int uffd, const struct uffd_msg *x)
{
	static char zero[PAGE] __attribute__((aligned(4096)));
	void *pg;

	if (x->event != UFFD_EVENT_PAGEFAULT)
		return;
	pg = (void *)(uintptr_t)(x->arg.pagefault.address & ~(PAGE - 1));
	if (x->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP)
		uffd_wp(uffd, pg, PAGE, 0);
	else if (uffd_copy(uffd, pg, zero, PAGE, 0, NULL))
		uffd_wake(uffd, pg, PAGE);
}

int access_and_watch(int uffd, void *addr, int kind, char val,
		     int timeout_ms, struct uffd_msg *m,
		     char *blocked_val, pid_t *tid)
{
	struct accessor a;
	struct uffd_msg x;
	long long end;
	int r, n = 0;

	if (accessor_start(&a, addr, kind, val))
		return -1;
	r = uffd_read_msg(uffd, m, timeout_ms);
	if (r == 1) {
		n = 1;
		if (blocked_val)
			*blocked_val = *(volatile char *)addr;
		resolve_any(uffd, m);
	}
	/*
	 * Late or repeated faults of the same access: count and resolve them
	 * until the access is done.  A short @timeout_ms only bounds the
	 * first window; an accessor that TCG has not run yet is waited for
	 * (10 s), not taken for one that is blocked for ever.
	 */
	end = u_now_ms() + 10000;
	while (n < 16 && !accessor_wait_done(&a, 0) && u_now_ms() < end) {
		r = uffd_read_msg(uffd, &x, 100);
		if (r < 0)
			break;
		if (r == 0)
			continue;
		if (!n)
			*m = x;
		n++;
		resolve_any(uffd, &x);
	}
	if (accessor_join(&a, 10000))
		return -1;
	if (tid)
		*tid = a.tid;
	return n;
}

uint32_t u_xorshift32(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

int u_wait_child(pid_t pid, int timeout_ms)
{
	long long end = u_now_ms() + timeout_ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0)
			return -1;
		if (u_now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		u_sleep_ms(5);
	}
}

long pm_scan(int pmfd, const void *start, const void *end,
	     uint64_t flags, struct page_region *vec,
	     size_t vec_len, uint64_t max_pages,
	     uint64_t category_mask, uint64_t return_mask,
	     uint64_t *walk_end)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .flags = flags,
		.start = (uintptr_t)start, .end = (uintptr_t)end,
		.vec = (uintptr_t)vec, .vec_len = vec_len,
		.max_pages = max_pages,
		.category_mask = category_mask, .return_mask = return_mask,
	};
	long r = ioctl(pmfd, PAGEMAP_SCAN, &a);

	if (walk_end)
		*walk_end = a.walk_end;
	return r < 0 ? -errno : r;
}

int pm_open(pid_t pid)
{
	char path[64];
	int fd;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/pagemap");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

long u_smaps_kb(const void *addr, const char *field)
{
	FILE *fp = fopen("/proc/self/smaps", "re");
	size_t fl = strlen(field);
	char line[512], perms[8];
	int in = 0;
	long v = -1;

	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp)) {
		unsigned long s, e;

		/* a mapping's header: "lo-hi perms offset dev inode [path]" */
		if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3) {
			in = (uintptr_t)addr >= s && (uintptr_t)addr < e;
			continue;
		}
		if (in && !strncmp(line, field, fl) && line[fl] == ':') {
			v = strtol(line + fl + 1, NULL, 10);
			break;
		}
	}
	fclose(fp);
	return v;
}

long u_anon_huge_kb(const void *addr)
{
	return u_smaps_kb(addr, "AnonHugePages");
}

char *u_map_thp(void (*fill)(char *p, int arg), int arg,
		long *kb)
{
	char *p = NULL;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (p) {
			munmap(p, HPAGE);
			u_write_file("/proc/sys/vm/compact_memory", "1");
		}
		p = map_anon_aligned(HPAGE, HPAGE, MADV_HUGEPAGE);
		if (!p)
			return NULL;
		fill(p, arg);
		*kb = u_anon_huge_kb(p);
		if (*kb >= 2048)
			break;
	}
	return p;
}

void u_fill_byte(char *p, int v)
{
	memset(p, v, HPAGE);
}

/*
 * Where rmmod must work: the last reference of a process that has just
 * exited goes after an SRCU grace period, so allow a few seconds.
 */
int u_rmmod_eventually(void)
{
	int i;

	for (i = 0; i < 50; i++) {
		if (system("rmmod uffd_wpu 2>/dev/null") == 0)
			return 1;
		u_sleep_ms(100);
	}
	return 0;
}
