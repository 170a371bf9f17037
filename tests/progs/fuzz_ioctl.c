// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_ioctl: bounded, seeded fuzzing of the ioctl surfaces the module adds
 * to or hooks: /dev/uffd-wpu, UFFDIO_API (feature masks) and the other
 * UFFDIO_* commands of userfaultfds, the same commands on file descriptors
 * that are not userfaultfds or are closed, a userfaultfd handed to another
 * process over SCM_RIGHTS, close/ioctl races between threads, and an
 * unprivileged caller (uid 65534).
 *
 * Every call must return 0 or an errno its documentation lists (tables
 * below: include/uapi/linux/uffd-wpu.h for /dev/uffd-wpu, ioctl_userfaultfd(2)
 * and userfaultfd(2) for the rest); anything else is a FAIL.  Where the
 * answer is fully determined (an unknown command, a kernel pointer with a
 * known command, a feature mask against the features the kernel offers),
 * the exact result is checked.  A second process with a protected region
 * (holes with WP_UNPOPULATED where offered) must come out of it all with
 * the same contents and the same pagemap entries.
 *
 *   fuzz_ioctl [--seed N] [--iters N]      (or FUZZ_SEED=N, FUZZ_ITERS=N in the
 *                                          environment, e.g. on the guest
 *                                          kernel command line)
 * The seed is printed first; the iteration counts are fixed and --iters
 * scales them (default 1; 20 when WPU_STRESS=long is in the environment,
 * the long torture of tests/guest/70-stress.sh).  The last line gives the
 * total number of calls.  Runs on every kernel: without /dev/uffd-wpu
 * (native 6.12, stock) the device parts are SKIPped.
 */
#include "uffd_util.h"

#include <getopt.h>
#include <grp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/uffd-wpu.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif
/* 6.6+/6.8+ commands, unknown to the 6.1 uapi headers of the build host */
#define NR_MOVE		0x05
#define NR_POISON	0x08
#define NR_API		0x3F

#define NERR 4096

static unsigned long seed;
static int iters_scale = 1;
static long total_calls;		/* every fuzzed call, for the last line */
static uint64_t rs;			/* main thread's generator */
static struct u_env env;
static int is_root;
static uint64_t supported;		/* features a fresh context is offered */
static int have_dev, have_user_mode_only, have_dev_userfaultfd;

static uint64_t rnd64(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static inline uint64_t R(void) { return rnd64(&rs); }
static inline unsigned int Rn(unsigned int n) { return (unsigned int)(R() % n); }

/* ---- documented errnos ------------------------------------------------------ */

struct errset { const char *what; int e[16]; };

/* include/uapi/linux/uffd-wpu.h: common to every command */
static const struct errset E_DEV = { "/dev/uffd-wpu", { ENOTTY, EFAULT, EINVAL, E2BIG } };
/* ... plus, UFFD_WPU_IOC_OPTIN */
static const struct errset E_DEV_OPTIN = { "UFFD_WPU_IOC_OPTIN",
	{ ENOTTY, EFAULT, EINVAL, E2BIG, EPERM, ENOMEM } };
/* ioctl_userfaultfd(2), per command; before UFFDIO_API every command EINVAL */
static const struct errset E_API = { "UFFDIO_API", { EFAULT, EINVAL, EPERM } };
static const struct errset E_REGISTER = { "UFFDIO_REGISTER",
	{ EBUSY, EFAULT, EINVAL, ENOMEM, EPERM, ESRCH } };
static const struct errset E_UNREGISTER = { "UFFDIO_UNREGISTER",
	{ EINVAL, EFAULT, ENOMEM, ESRCH } };
static const struct errset E_WAKE = { "UFFDIO_WAKE", { EINVAL, EFAULT } };
static const struct errset E_COPY = { "UFFDIO_COPY/ZEROPAGE/CONTINUE/MOVE/POISON",
	{ EAGAIN, EBUSY, EEXIST, EFAULT, EINVAL, ENOENT, ENOMEM, ENOSPC, EPERM, ESRCH } };
static const struct errset E_WP = { "UFFDIO_WRITEPROTECT",
	{ EAGAIN, EFAULT, EINVAL, ENOENT, ENOMEM, ESRCH } };
/* userfaultfd_ioctl(): any other command */
static const struct errset E_UFFD_OTHER = { "userfaultfd, unknown command", { EINVAL, ENOTTY } };
/* ioctl(2): a file that does not know the command */
static const struct errset E_NOTUFFD = { "not a userfaultfd", { ENOTTY, EINVAL } };
static const struct errset E_BADF = { "closed fd", { EBADF } };
/* userfaultfd(2) / USERFAULTFD_IOC_NEW */
static const struct errset E_NEWUFFD = { "userfaultfd()", { EINVAL, EPERM, ENOMEM, EMFILE, ENFILE } };

static int in_set(const struct errset *s, int e)
{
	int i;

	for (i = 0; i < 16 && s->e[i]; i++)
		if (s->e[i] == e)
			return 1;
	return 0;
}

/* ---- per-check bookkeeping ---------------------------------------------------- */

struct check {
	const char *name;
	long calls;
	long nerr[134];		/* errno histogram; [0] = successes */
	int failed;
	char first[400];
};

static void note(struct check *c, int e)
{
	c->calls++;
	if (e >= 0 && e < 134)
		c->nerr[e]++;
}

static void bad(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(struct check *c, const char *fmt, ...)
{
	va_list ap;

	if (c->failed++)
		return;
	va_start(ap, fmt);
	vsnprintf(c->first, sizeof(c->first), fmt, ap);
	va_end(ap);
	fprintf(stderr, "fuzz_ioctl: %s: %s (seed %lu)\n", c->name, c->first, seed);
}

static void report(struct check *c)
{
	char hist[512] = "";
	size_t n = 0;
	int e;

	for (e = 0; e < 134 && n < sizeof(hist) - 40; e++)
		if (c->nerr[e])
			n += (size_t)snprintf(hist + n, sizeof(hist) - n, "%s%s %ld",
					      n ? ", " : "", e ? strerrorname_np(e) : "ok",
					      c->nerr[e]);
	fprintf(stderr, "fuzz_ioctl: %s: %ld calls: %s\n", c->name, c->calls, hist);
	total_calls += c->calls;
	T_CHECK(c->name, !c->failed, "%d bad results of %ld calls; first: %s (seed %lu)",
		c->failed, c->calls, c->first, seed);
}

/* ---- pointers ------------------------------------------------------------------- */

static char *scratch;		/* 2 RW pages, then an unmapped page */
static char *ro_page;		/* PROT_READ */
static char *unmapped;		/* a page that is not mapped */

static void *const kernel_ptrs[] = {
	(void *)0xffff888000000000UL, (void *)0xffffffff81000000UL,
	(void *)0xffffffffff600000UL, (void *)0x8000000000000000UL,
	(void *)0x0000800000000000UL, (void *)0xfffffffffffff000UL,
};

static int setup_pointers(void)
{
	char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	scratch = p;
	unmapped = p + 2 * PAGE;
	ro_page = p + 3 * PAGE;
	munmap(unmapped, PAGE);
	mprotect(ro_page, PAGE, PROT_READ);
	return 0;
}

/* A pointer no access through which can succeed. */
static void *bad_ptr(void)
{
	switch (Rn(4)) {
	case 0: return NULL;
	case 1: return unmapped + Rn(PAGE);
	default: return kernel_ptrs[Rn(sizeof(kernel_ptrs) / sizeof(kernel_ptrs[0]))];
	}
}

static void fill_random(void *p, size_t n)
{
	unsigned char *c = p;

	while (n--)
		*c++ = (unsigned char)R();
}

/* ---- 1. /dev/uffd-wpu ---------------------------------------------------------- */

static const unsigned int dev_cmds[] = {
	UFFD_WPU_IOC_VERSION, UFFD_WPU_IOC_OPTIN, UFFD_WPU_IOC_OPTOUT, UFFD_WPU_IOC_STATUS,
};
static const unsigned int dev_sizes[] = {
	sizeof(struct uffd_wpu_version), sizeof(struct uffd_wpu_optin),
	sizeof(struct uffd_wpu_optin), sizeof(struct uffd_wpu_status),
};

/* Index of the known command cmd is (type, number, direction), or -1. */
static int dev_known(unsigned int cmd)
{
	int i;

	for (i = 0; i < 4; i++)
		if (_IOC_TYPE(cmd) == _IOC_TYPE(dev_cmds[i]) &&
		    _IOC_NR(cmd) == _IOC_NR(dev_cmds[i]) &&
		    _IOC_DIR(cmd) == _IOC_DIR(dev_cmds[i]))
			return i;
	return -1;
}

/* Generic VFS ioctls (do_vfs_ioctl) answer before any driver: not ours. */
static int vfs_generic(unsigned int cmd)
{
	unsigned int t = _IOC_TYPE(cmd);

	return t == 0 || t == 'T' || t == 'X' || t == 'f' || t == 0x94 || t == 0x15;
}

static unsigned int random_cmd(void)
{
	unsigned int cmd;

	do {
		cmd = (unsigned int)R();
	} while (vfs_generic(cmd));
	return cmd;
}

static unsigned int dev_gen_cmd(void)
{
	unsigned int k = dev_cmds[Rn(4)], c;

	switch (Rn(10)) {
	case 0: case 1: case 2: case 3:
		return k;
	case 4:		/* other direction */
		return _IOC(Rn(4), _IOC_TYPE(k), _IOC_NR(k), _IOC_SIZE(k));
	case 5:		/* other size */
		return _IOC(_IOC_DIR(k), _IOC_TYPE(k), _IOC_NR(k), Rn(300));
	case 6:		/* other number (PAGEMAP_SCAN is known, not fuzzed here) */
		c = _IOC(Rn(4), UFFD_WPU_IOC_MAGIC, Rn(256), Rn(1 << 14));
		return c == UFFD_WPU_IOC_PAGEMAP_SCAN ? k : c;
	case 7:		/* userfaultfd's commands */
		return _IOC(Rn(4), 0xAA, Rn(64), Rn(200));
	default:
		return random_cmd();
	}
}

enum argkind { A_BAD, A_STRADDLE, A_RO, A_VALID };

/* Argument for cmd: *kind says what it is. */
static void *dev_gen_arg(unsigned int cmd, enum argkind *kind)
{
	static const uint32_t sizes[] = { 0, 4, 8, 16, 24, 56, 64, 72, 4096 };
	unsigned int sz = _IOC_SIZE(cmd);
	char *p;
	uint32_t size;

	switch (Rn(10)) {
	case 0: case 1:
		*kind = A_BAD;
		return bad_ptr();
	case 2:		/* the size is readable, the rest is not */
		*kind = A_STRADDLE;
		return unmapped - 4 - 4 * Rn(3);
	case 3:
		*kind = A_RO;
		return ro_page;
	}
	*kind = A_VALID;
	p = scratch + (Rn(4) ? 0 : 1 + Rn(7));	/* sometimes misaligned */
	fill_random(p, 512);
	if (Rn(3)) {		/* well formed */
		uint32_t flags = (uint32_t)(Rn(2) ? R() : 1U << Rn(32));
		uint64_t features = Rn(2) ? R() : UFFD_WPU_FEATURE_WP_UNPOPULATED;

		memset(p, 0, sz < 512 ? sz : 512);
		size = Rn(4) ? sz : sizes[Rn(sizeof(sizes) / sizeof(sizes[0]))];
		memcpy(p, &size, 4);
		if (!Rn(4) && sz >= 8)
			memcpy(p + 4, &flags, 4);
		if (!Rn(4) && sz >= 16)
			memcpy(p + 8, &features, 8);
	}
	return p;
}

static int is_kernel_or_null(const void *p)
{
	return !p || (uintptr_t)p >= 0x0000800000000000UL ||
	       ((uintptr_t)p >= (uintptr_t)unmapped && (uintptr_t)p < (uintptr_t)unmapped + PAGE);
}

static void fuzz_device(long iters)
{
	struct check c = { .name = "device-ioctls" };
	struct check o = { .name = "device-open-rw-mmap" };
	static const int modes[] = { O_RDONLY, O_WRONLY, O_RDWR, O_RDWR | O_NONBLOCK };
	int fd = -1, i;
	long n;

	if (!have_dev) {
		t_skip("device-ioctls", "no %s (native kernel or module not loaded)", UFFD_WPU_DEVICE);
		t_skip("device-open-rw-mmap", "no %s", UFFD_WPU_DEVICE);
		return;
	}
	/* open modes, read/write/mmap (no such operations: EINVAL, ENODEV) */
	for (i = 0; i < 4; i++) {
		char b[8];
		void *m;
		int f = open(UFFD_WPU_DEVICE, modes[i] | O_CLOEXEC);

		note(&o, f < 0 ? errno : 0);
		if (f < 0) {
			bad(&o, "open mode %#x: %s", modes[i], strerror(errno));
			continue;
		}
		if (read(f, b, sizeof(b)) >= 0 || (errno != EINVAL && errno != EBADF))
			bad(&o, "read() on the device: %s, want EINVAL/EBADF", strerror(errno));
		note(&o, errno);
		if (write(f, b, sizeof(b)) >= 0 || (errno != EINVAL && errno != EBADF))
			bad(&o, "write() on the device: %s, want EINVAL/EBADF", strerror(errno));
		note(&o, errno);
		m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, f, 0);
		if (m != MAP_FAILED) {
			bad(&o, "mmap() of the device succeeded");
			munmap(m, PAGE);
		} else if (errno != ENODEV && errno != EACCES) {
			bad(&o, "mmap() of the device: %s, want ENODEV/EACCES", strerror(errno));
		}
		note(&o, errno);
		close(f);
	}
	report(&o);

	for (n = 0; n < iters; n++) {
		unsigned int cmd = dev_gen_cmd();
		enum argkind kind;
		void *arg = dev_gen_arg(cmd, &kind);
		int k = dev_known(cmd), r, e;
		uint32_t size = 0;

		if (fd < 0 || !Rn(500)) {
			if (fd >= 0)
				close(fd);
			fd = open(UFFD_WPU_DEVICE, modes[Rn(4)] | O_CLOEXEC);
			if (fd < 0) {
				bad(&c, "open %s: %s", UFFD_WPU_DEVICE, strerror(errno));
				break;
			}
		}
		if (kind == A_VALID)
			memcpy(&size, arg, 4);
		r = ioctl(fd, cmd, arg);
		e = r ? errno : 0;
		note(&c, e);
		if (r && r != -1) {
			bad(&c, "cmd %#x returned %d", cmd, r);
			continue;
		}
		if (k < 0) {
			if (e != ENOTTY)
				bad(&c, "unknown cmd %#x arg %p: %s, want ENOTTY", cmd, arg,
				    e ? strerrorname_np(e) : "success");
			continue;
		}
		if (!in_set(k == 1 ? &E_DEV_OPTIN : &E_DEV, e) && e) {
			bad(&c, "cmd %#x arg %p: %s, not documented for it", cmd, arg,
			    strerrorname_np(e));
			continue;
		}
		if (_IOC_SIZE(cmd) < dev_sizes[k]) {
			if (e != EINVAL)
				bad(&c, "cmd %#x (size %u < %u) arg %p: %s, want EINVAL", cmd,
				    _IOC_SIZE(cmd), dev_sizes[k], arg, e ? strerrorname_np(e) : "success");
			continue;
		}
		if (kind == A_BAD && is_kernel_or_null(arg) && e != EFAULT) {
			bad(&c, "cmd %#x with pointer %p: %s, want EFAULT", cmd, arg,
			    e ? strerrorname_np(e) : "success");
			continue;
		}
		if (kind == A_VALID && _IOC_SIZE(cmd) == dev_sizes[k] && size == dev_sizes[k]) {
			union {
				struct uffd_wpu_optin o;
				struct uffd_wpu_version v;
				struct uffd_wpu_status s;
			} u, *op = &u;
			int want_ok;

			memcpy(&u, arg, dev_sizes[k]);
			want_ok = k != 1 && k != 2 ? 1 :
				!op->o.flags && !(op->o.features & ~UFFD_WPU_FEATURE_WP_UNPOPULATED);

			if (want_ok && e && !(k == 1 && (e == EPERM || e == ENOMEM)))
				bad(&c, "well-formed cmd %#x: %s, want success", cmd, strerrorname_np(e));
			if (!want_ok && e != EINVAL)
				bad(&c, "cmd %#x flags %#x features %#llx: %s, want EINVAL", cmd,
				    op->o.flags, (unsigned long long)op->o.features,
				    e ? strerrorname_np(e) : "success");
			if (!e && k == 0) {
				const struct uffd_wpu_version *v = &op->v;

				if (v->size != sizeof(*v) || v->abi_major != UFFD_WPU_ABI_MAJOR ||
				    !memchr(v->module_version, 0, sizeof(v->module_version)))
					bad(&c, "VERSION: size %u abi %u.%u", v->size,
					    v->abi_major, v->abi_minor);
			}
			if (!e && k == 3) {
				const struct uffd_wpu_status *s = &op->s;

				if (s->size != sizeof(*s) || (s->flags & ~0x1fU))
					bad(&c, "STATUS: size %u flags %#x", s->size, s->flags);
			}
		}
	}
	if (fd >= 0)
		close(fd);
	/* opt out again: the rest does not depend on the mm's state */
	fd = open(UFFD_WPU_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		struct uffd_wpu_optin op = { .size = sizeof(op) };

		if (ioctl(fd, UFFD_WPU_IOC_OPTOUT, &op))
			bad(&c, "final OPTOUT: %s", strerror(errno));
		close(fd);
	}
	report(&c);
}

/* ---- 2. UFFDIO_API feature masks on fresh userfaultfds --------------------------- */

/* A new userfaultfd: syscall or /dev/userfaultfd; fd or -errno. */
static int new_uffd(int flags, int via_dev)
{
	int fd;

	if (via_dev && have_dev_userfaultfd) {
		int d = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

		if (d < 0)
			return -errno;
		fd = ioctl(d, USERFAULTFD_IOC_NEW, flags);
		fd = fd < 0 ? -errno : fd;
		close(d);
		return fd;
	}
	fd = (int)syscall(__NR_userfaultfd, flags);
	return fd < 0 ? -errno : fd;
}

static uint64_t gen_mask(void)
{
	switch (Rn(9)) {
	case 0: return 0;
	case 1: return UFFD_FEATURE_WP_UNPOPULATED;
	case 2: return supported & R();
	case 3: return (supported & R()) | UFFD_FEATURE_WP_UNPOPULATED;
	case 4: return R();
	case 5: return 1ULL << Rn(64);
	case 6: return ~0ULL;
	case 7: return supported;
	default: return R() & 0xfffff;
	}
}

/* Expected errno of UFFDIO_API(api, features) on a fresh context as root. */
static int api_expect(uint64_t api, uint64_t f)
{
	if (api != UFFD_API)
		return EINVAL;
	if ((f & UFFD_FEATURE_EVENT_FORK) && !is_root && !(f & ~supported))
		return EPERM;
	if (f & UFFD_FEATURE_WP_ASYNC)
		f |= UFFD_FEATURE_WP_UNPOPULATED;	/* 6.4+ */
	return (f & ~supported) ? EINVAL : 0;
}

static void fuzz_api(long iters)
{
	struct check c = { .name = "uffd-api-masks" };
	struct check u = { .name = "userfaultfd-flags" };
	long n;

	for (n = 0; n < iters; n++) {
		int flags = O_CLOEXEC | (Rn(2) ? O_NONBLOCK : 0), fd, want, r, e;
		int via_dev = Rn(3) == 0;
		struct uffdio_api al, *a = &al;
		char *where;
		uint64_t api, f;
		enum argkind kind = A_VALID;

		if (have_user_mode_only && Rn(3) == 0)
			flags |= UFFD_USER_MODE_ONLY;
		if (Rn(20) == 0) {	/* unknown flags */
			int extra = (int)(1U << Rn(31)) & ~(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);

			fd = new_uffd(flags | extra, via_dev);
			note(&u, fd < 0 ? -fd : 0);
			if (extra && fd >= 0)
				bad(&u, "userfaultfd(%#x) accepted unknown flags", flags | extra);
			if (fd < 0 && !in_set(&E_NEWUFFD, -fd))
				bad(&u, "userfaultfd(%#x): %s", flags | extra, strerrorname_np(-fd));
			if (fd >= 0)
				close(fd);
			continue;
		}
		fd = new_uffd(flags, via_dev);
		note(&u, fd < 0 ? -fd : 0);
		if (fd < 0) {
			bad(&u, "userfaultfd(%#x)%s: %s", flags, via_dev ? " via /dev/userfaultfd" : "",
			    strerror(-fd));
			continue;
		}
		api = Rn(16) ? UFFD_API : R();
		f = gen_mask();
		where = scratch + (Rn(8) ? 0 : 1 + Rn(7));	/* sometimes misaligned */
		al.api = api;
		al.features = f;
		al.ioctls = R();
		memcpy(where, &al, sizeof(al));
		if (Rn(12) == 0) {
			kind = A_BAD;
			where = bad_ptr();
		}
		want = kind == A_BAD ? EFAULT : api_expect(api, f);
		r = ioctl(fd, UFFDIO_API, where);
		e = r ? errno : 0;
		if (kind == A_VALID)
			memcpy(&al, where, sizeof(al));
		note(&c, e);
		if (e != want) {
			bad(&c, "UFFDIO_API(api %#llx, features %#llx)%s: %s, want %s (offered %#llx)",
			    (unsigned long long)api, (unsigned long long)f,
			    kind == A_BAD ? " bad pointer" : "", e ? strerrorname_np(e) : "success",
			    want ? strerrorname_np(want) : "success", (unsigned long long)supported);
		} else if (!e && ((a->features & f) != f || (a->features & ~supported))) {
			bad(&c, "UFFDIO_API(features %#llx) returned features %#llx (offered %#llx)",
			    (unsigned long long)f, (unsigned long long)a->features,
			    (unsigned long long)supported);
		} else if (e && e != EFAULT && (a->api || a->features || a->ioctls)) {
			bad(&c, "failed UFFDIO_API left api %#llx features %#llx ioctls %#llx, want zeros",
			    (unsigned long long)a->api, (unsigned long long)a->features,
			    (unsigned long long)a->ioctls);
		}
		/* a second UFFDIO_API: EINVAL after a success; after a failure, it may retry */
		if (kind == A_VALID && Rn(2)) {
			struct uffdio_api b = { .api = UFFD_API, .features = gen_mask() };
			int want2 = e ? api_expect(UFFD_API, b.features) : EINVAL, r2, e2;

			r2 = ioctl(fd, UFFDIO_API, &b);
			e2 = r2 ? errno : 0;
			note(&c, e2);
			if (e2 != want2)
				bad(&c, "second UFFDIO_API(features %#llx) after %s: %s, want %s",
				    (unsigned long long)b.features, e ? strerrorname_np(e) : "success",
				    e2 ? strerrorname_np(e2) : "success",
				    want2 ? strerrorname_np(want2) : "success");
		}
		close(fd);
	}
	report(&u);
	report(&c);
}

/* ---- 3. the other UFFDIO_* commands, random arguments, own arena ------------------ */

#define ARENA_PAGES 32

static char *arena;	/* ARENA_PAGES, unmapped page on either side */

static uint64_t gen_start(void)
{
	switch (Rn(10)) {
	case 0: return (uintptr_t)arena + Rn(ARENA_PAGES * PAGE);	/* unaligned */
	case 1: return (uintptr_t)kernel_ptrs[Rn(6)];
	case 2: return (uintptr_t)arena - PAGE;				/* guard */
	case 3: return Rn(2) ? 0 : R();
	default: return (uintptr_t)arena + Rn(ARENA_PAGES) * PAGE;
	}
}

static uint64_t gen_len(uint64_t start)
{
	switch (Rn(10)) {
	case 0: return 0;
	case 1: return 1 + Rn(PAGE * 4);
	case 2: return 1ULL << (40 + Rn(23));
	case 3: return -start;			/* wraps to 0 */
	case 4: return (ARENA_PAGES + 2) * PAGE;	/* into the guard */
	default: return (1 + Rn(ARENA_PAGES)) * PAGE;
	}
}

/*
 * Never let a range that the kernel would accept reach this process's own
 * memory outside the arena: registering MISSING over its data or heap would
 * make its next first touch there wait for a fault handler that does not
 * exist.  validate_range() refuses unaligned, wrapping and beyond-user
 * ranges itself; those stay as they are.
 */
static void sanitize(uint64_t *start, uint64_t *len)
{
	uint64_t lo = (uintptr_t)arena - PAGE, hi = (uintptr_t)arena + (ARENA_PAGES + 1) * PAGE;
	uint64_t end = *start + *len;

	if ((*start | *len) % PAGE || end < *start || end > 0x0000800000000000ULL)
		return;
	if ((*start >= lo && end <= hi) || end <= 0x10000)
		return;
	*start = lo;		/* the guard page: ENOENT/EINVAL, harmless */
	*len = PAGE;
}

static void gen_range(struct uffdio_range *r)
{
	uint64_t start = gen_start(), len = gen_len(start);

	sanitize(&start, &len);
	r->start = start;
	r->len = len;
}

static const struct errset *uffd_errset(unsigned int cmd)
{
	if (_IOC_TYPE(cmd) != 0xAA)
		return &E_UFFD_OTHER;
	switch (cmd) {
	case UFFDIO_API: return &E_API;
	case UFFDIO_REGISTER: return &E_REGISTER;
	case UFFDIO_UNREGISTER: return &E_UNREGISTER;
	case UFFDIO_WAKE: return &E_WAKE;
	case UFFDIO_WRITEPROTECT: return &E_WP;
	case UFFDIO_COPY: case UFFDIO_ZEROPAGE: case UFFDIO_CONTINUE: return &E_COPY;
	}
	if (_IOC_NR(cmd) == NR_MOVE || _IOC_NR(cmd) == NR_POISON)
		return &E_COPY;
	return &E_UFFD_OTHER;
}

/* A random userfaultfd command and argument (in buf). */
static unsigned int gen_uffd_cmd(char *buf)
{
	unsigned int cmd;

	memset(buf, 0, 256);
	switch (Rn(12)) {
	case 0: {
		struct uffdio_register *r = (void *)buf;

		cmd = UFFDIO_REGISTER;
		gen_range(&r->range);
		r->mode = Rn(4) ? (uint64_t)1 + Rn(7) : R();	/* MISSING|WP|MINOR or junk */
		break;
	}
	case 1:
		cmd = UFFDIO_UNREGISTER;
		gen_range((void *)buf);
		break;
	case 2:
		cmd = UFFDIO_WAKE;
		gen_range((void *)buf);
		break;
	case 3: case 4: {
		struct uffdio_copy *c = (void *)buf;

		cmd = UFFDIO_COPY;
		c->dst = gen_start();
		c->src = Rn(5) ? (uintptr_t)scratch : (uintptr_t)bad_ptr();
		c->len = Rn(5) ? (1 + Rn(2)) * PAGE : gen_len(c->dst);
		sanitize((uint64_t *)&c->dst, (uint64_t *)&c->len);
		c->mode = Rn(3) ? Rn(4) : R();		/* DONTWAKE|WP */
		break;
	}
	case 5: {
		struct uffdio_zeropage *z = (void *)buf;

		cmd = UFFDIO_ZEROPAGE;
		gen_range(&z->range);
		z->mode = Rn(3) ? Rn(2) : R();
		break;
	}
	case 6: case 7: {
		struct uffdio_writeprotect *w = (void *)buf;

		cmd = UFFDIO_WRITEPROTECT;
		gen_range(&w->range);
		w->mode = Rn(4) ? Rn(4) : R();		/* WP|DONTWAKE */
		break;
	}
	case 8: {
		struct uffdio_continue *c = (void *)buf;

		cmd = UFFDIO_CONTINUE;
		gen_range(&c->range);
		c->mode = Rn(2);
		break;
	}
	case 9: {	/* MOVE (6.8+): dst, src, len, mode, move; POISON (6.6+): range, mode, updated */
		uint64_t *w = (void *)buf;

		if (Rn(2)) {
			cmd = _IOWR(0xAA, NR_MOVE, uint64_t[5]);
			w[0] = gen_start();
			w[1] = (uintptr_t)arena + Rn(ARENA_PAGES) * PAGE;
			w[2] = (1 + Rn(4)) * PAGE;
			sanitize(&w[0], &w[2]);
			w[3] = Rn(3) ? Rn(4) : R();
		} else {
			cmd = _IOWR(0xAA, NR_POISON, uint64_t[4]);
			gen_range((void *)buf);
			w[2] = Rn(3) ? Rn(2) : R();
		}
		break;
	}
	case 10: {
		struct uffdio_api *a = (void *)buf;

		cmd = UFFDIO_API;
		a->api = UFFD_API;
		a->features = gen_mask();
		break;
	}
	default:
		cmd = Rn(2) ? _IOC(Rn(4), 0xAA, Rn(64), Rn(256)) : random_cmd();
		fill_random(buf, 256);
		break;
	}
	return cmd;
}

/* Features for a session's UFFDIO_API: never EVENT_FORK (no fork waits on us). */
static uint64_t session_features(void)
{
	uint64_t f = gen_mask() & ~UFFD_FEATURE_EVENT_FORK;

	return Rn(4) ? (f & supported) : f;
}

static void fuzz_uffd_cmds(long sessions, int per_session)
{
	struct check c = { .name = "uffd-ioctls" };
	char *buf = scratch + PAGE;	/* arguments; never in the arena */
	long s;

	for (s = 0; s < sessions; s++) {
		char *m = mmap(NULL, (ARENA_PAGES + 2) * PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int fd, k, initialized = 0;

		if (m == MAP_FAILED) {
			bad(&c, "mmap: %s", strerror(errno));
			break;
		}
		munmap(m, PAGE);
		munmap(m + (ARENA_PAGES + 1) * PAGE, PAGE);
		arena = m + PAGE;
		madvise(arena, ARENA_PAGES * PAGE, Rn(2) ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
		for (k = 0; k < ARENA_PAGES; k++)	/* touched before any protection */
			if (Rn(2))
				arena[k * PAGE] = 1;
		fd = uffd_open();
		if (fd < 0) {
			bad(&c, "userfaultfd: %s", strerror(-fd));
			munmap(arena, ARENA_PAGES * PAGE);
			break;
		}
		if (Rn(8)) {
			struct uffdio_api a = { .api = UFFD_API, .features = session_features() };

			initialized = !ioctl(fd, UFFDIO_API, &a);
		}
		for (k = 0; k < per_session; k++) {
			unsigned int cmd = gen_uffd_cmd(buf);
			const struct errset *es = uffd_errset(cmd);
			void *arg = Rn(10) ? (void *)buf : bad_ptr();
			int r, e;

			r = ioctl(fd, cmd, arg);
			e = r < 0 ? errno : 0;
			note(&c, e);
			if (cmd == UFFDIO_API && !e)
				initialized = 1;
			if (r > 0 && cmd != UFFDIO_API) {
				bad(&c, "cmd %#x returned %d", cmd, r);
			} else if (!initialized && cmd != UFFDIO_API && e != EINVAL &&
				   !(e == ENOTTY && es == &E_UFFD_OTHER)) {
				bad(&c, "cmd %#x before UFFDIO_API: %s, want EINVAL", cmd,
				    e ? strerrorname_np(e) : "success");
			} else if (e && !in_set(es, e)) {
				bad(&c, "%s (cmd %#x, arg %p): %s, not documented", es->what, cmd,
				    arg, strerrorname_np(e));
			} else if (!e && es == &E_UFFD_OTHER) {
				bad(&c, "unknown cmd %#x succeeded on a userfaultfd", cmd);
			} else if (!e && arg != buf) {
				bad(&c, "cmd %#x with pointer %p succeeded", cmd, arg);
			}
		}
		close(fd);
		munmap(arena, ARENA_PAGES * PAGE);
		arena = NULL;
	}
	report(&c);
}

/* ---- 4. descriptors that are not userfaultfds; closed descriptors ------------------ */

static void fuzz_not_uffd(long iters)
{
	struct check c = { .name = "not-uffd-fds" };
	struct check b = { .name = "closed-fds" };
	char *buf = scratch + PAGE;
	const char *names[12];
	int fds[12], nf = 0, p[2], sp[2], i, fd;
	long n;

#define ADD(name, expr) do { int f_ = (expr); if (f_ >= 0) { names[nf] = name; fds[nf++] = f_; } } while (0)
	ADD("/dev/null", open("/dev/null", O_RDWR | O_CLOEXEC));
	if (!pipe2(p, O_CLOEXEC)) {
		ADD("pipe (read end)", p[0]);
		ADD("pipe (write end)", p[1]);
	}
	ADD("eventfd", eventfd(0, EFD_CLOEXEC));
	ADD("tmpfs file", open("/tmp/fuzz_ioctl.tmp", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
	if (!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp)) {
		ADD("unix socket", sp[0]);
		close(sp[1]);
	}
	ADD("epoll", epoll_create1(EPOLL_CLOEXEC));
	ADD("/proc/self/pagemap", open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
	ADD("/proc/self/maps", open("/proc/self/maps", O_RDONLY | O_CLOEXEC));
	if (have_dev)
		ADD(UFFD_WPU_DEVICE, open(UFFD_WPU_DEVICE, O_RDWR | O_CLOEXEC));
	if (have_dev_userfaultfd)
		ADD("/dev/userfaultfd", open("/dev/userfaultfd", O_RDWR | O_CLOEXEC));
#undef ADD
	unlink("/tmp/fuzz_ioctl.tmp");

	for (n = 0; n < iters; n++) {
		int k = (int)Rn((unsigned int)nf), r, e, dev = !strcmp(names[k], UFFD_WPU_DEVICE);
		unsigned int cmd;

		if (!dev && Rn(3) == 0) {	/* the device's commands */
			cmd = dev_cmds[Rn(4)];
			memset(buf, 0, 256);
			*(uint32_t *)buf = _IOC_SIZE(cmd);
		} else {
			cmd = gen_uffd_cmd(buf);
			if (_IOC_TYPE(cmd) != 0xAA)
				cmd = UFFDIO_API;
			if (!strcmp(names[k], "/dev/userfaultfd") && cmd == USERFAULTFD_IOC_NEW)
				cmd = UFFDIO_API;
		}
		if (cmd == UFFDIO_API) {
			struct uffdio_api *a = (void *)buf;

			a->api = UFFD_API;
			a->features = Rn(2) ? UFFD_FEATURE_WP_UNPOPULATED : 0;
		}
		r = ioctl(fds[k], cmd, buf);
		e = r < 0 ? errno : 0;
		note(&c, e);
		if (!e || !in_set(&E_NOTUFFD, e))
			bad(&c, "cmd %#x on %s: %s, want ENOTTY or EINVAL", cmd, names[k],
			    e ? strerrorname_np(e) : "success");
	}
	for (i = 0; i < nf; i++)
		close(fds[i]);
	report(&c);

	/* closed, never opened, negative, O_PATH */
	for (n = 0; n < iters / 4; n++) {
		unsigned int cmd = Rn(2) ? UFFDIO_API : dev_cmds[Rn(4)];
		int kind = (int)Rn(4), r, e;

		switch (kind) {
		case 0:
			fd = uffd_open();
			if (fd >= 0)
				close(fd);
			break;
		case 1: fd = -1 - (int)Rn(1000); break;
		case 2: fd = 100000 + (int)Rn(1000); break;
		default:
			fd = open(have_dev ? UFFD_WPU_DEVICE : "/dev/null", O_PATH | O_CLOEXEC);
			break;
		}
		memset(buf, 0, 64);
		*(uint32_t *)buf = _IOC_SIZE(cmd);
		r = ioctl(fd, cmd, buf);
		e = r < 0 ? errno : 0;
		note(&b, e);
		if (!in_set(&E_BADF, e))
			bad(&b, "cmd %#x on %s fd %d: %s, want EBADF", cmd,
			    kind == 0 ? "closed" : kind == 3 ? "O_PATH" : "invalid", fd,
			    e ? strerrorname_np(e) : "success");
		if (kind == 3 && fd >= 0)
			close(fd);
	}
	report(&b);
}

/* ---- 5. a userfaultfd of another process, passed over SCM_RIGHTS ------------------ */

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char x = 'x';
	struct iovec iov = { &x, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char x;
	struct iovec iov = { &x, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static void check_scm_rights(void)
{
	int sp[2], fd, r, e, r0, e0, r1, e1;
	struct uffdio_api a = { .api = UFFD_API, .features = UFFD_FEATURE_WP_UNPOPULATED };
	struct uffdio_api q = { .api = UFFD_API, .features = 0 };
	pid_t pid;
	char x;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp)) {
		t_fail("scm-rights-api", "socketpair: %s", strerror(errno));
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {		/* the creator: make a context, send it, wait */
		int u = uffd_open();

		close(sp[0]);
		if (u < 0 || send_fd(sp[1], u))
			_exit(1);
		(void)!read(sp[1], &x, 1);
		_exit(0);
	}
	close(sp[1]);
	fd = recv_fd(sp[0]);
	if (fd < 0) {
		t_fail("scm-rights-api", "did not receive the other process's userfaultfd");
		close(sp[0]);
		waitpid(pid, NULL, 0);
		return;
	}
	/* bit 13 on a context created by another process */
	r = ioctl(fd, UFFDIO_API, &a);
	e = r ? errno : 0;
	/* a features=0 query: does it advertise bit 13 to the receiver? */
	r0 = ioctl(fd, UFFDIO_API, &q);
	e0 = r0 ? errno : 0;
	/* and without bit 13 it is an ordinary context (if the first failed) */
	{
		struct uffdio_api b = { .api = UFFD_API, .features = 0 };

		r1 = ioctl(fd, UFFDIO_API, &b);
		e1 = r1 ? errno : 0;
	}
	if (env.kind == U_NATIVE) {
		/* 6.4+: the fd is the capability; bit 13 is granted */
		T_CHECK("scm-rights-api", !e && (a.features & UFFD_FEATURE_WP_UNPOPULATED),
			"native: UFFDIO_API with bit 13 on a received context: %s, features %#llx",
			e ? strerrorname_np(e) : "success", (unsigned long long)a.features);
		T_CHECK("scm-rights-second-api", e0 == EINVAL && e1 == EINVAL,
			"native: second/third UFFDIO_API: %s, %s; want EINVAL",
			e0 ? strerrorname_np(e0) : "success", e1 ? strerrorname_np(e1) : "success");
	} else {
		/* module (only the creating process may negotiate it) or stock */
		/* 6.0.y ignores the bit: success without it, the API is done */
		int ign = u_kernel_fact("api_ignores_unknown") == 1 && !e &&
			  !(a.features & UFFD_FEATURE_WP_UNPOPULATED);

		T_CHECK("scm-rights-api", (e == EINVAL && !a.features) || ign,
			"%s: UFFDIO_API with bit 13 on another process's context: %s "
			"(features %#llx), want EINVAL", env.kind == U_MODULE ? "module" : "stock",
			e ? strerrorname_np(e) : "success", (unsigned long long)a.features);
		T_CHECK("scm-rights-query", ign ? e0 == EINVAL :
			!e0 && !(q.features & UFFD_FEATURE_WP_UNPOPULATED),
			"features=0 query on another process's context: %s, features %#llx "
			"(bit 13 must not be offered)", e0 ? strerrorname_np(e0) : "success",
			(unsigned long long)q.features);
		T_CHECK("scm-rights-second-api", e1 == EINVAL,
			"UFFDIO_API after the query succeeded: %s, want EINVAL",
			e1 ? strerrorname_np(e1) : "success");
	}
	close(fd);
	(void)!write(sp[0], "x", 1);
	close(sp[0]);
	waitpid(pid, NULL, 0);
}

/* ---- 6. close/ioctl races ------------------------------------------------------------ */

#define SLOT0	200
#define NSLOTS	8

static volatile int race_stop;
static char *race_arena;

struct racer {
	pthread_t th;
	int id;
	long iters;
	struct check c;
	uint64_t s;
};

static void race_ioctl_once(struct racer *r)
{
	static const struct errset any = { "raced fd",
		{ EBADF, ENOTTY, EINVAL, EFAULT, EBUSY, ENOMEM, ENOENT, EAGAIN, EPERM, EEXIST,
		  ESRCH, E2BIG } };
	char buf[128] __attribute__((aligned(8)));
	int fd = SLOT0 + (int)(rnd64(&r->s) % NSLOTS), ret, e;
	unsigned int cmd;

	memset(buf, 0, sizeof(buf));
	switch (rnd64(&r->s) % 6) {
	case 0: {
		struct uffdio_api *a = (void *)buf;

		cmd = UFFDIO_API;
		a->api = UFFD_API;
		a->features = UFFD_FEATURE_WP_UNPOPULATED;
		break;
	}
	case 1: {
		struct uffdio_register *g = (void *)buf;

		cmd = UFFDIO_REGISTER;
		g->range.start = (uintptr_t)race_arena;
		g->range.len = ARENA_PAGES * PAGE;
		g->mode = UFFDIO_REGISTER_MODE_WP;
		break;
	}
	case 2: case 3: {
		struct uffdio_writeprotect *w = (void *)buf;

		cmd = UFFDIO_WRITEPROTECT;
		w->range.start = (uintptr_t)race_arena + (rnd64(&r->s) % ARENA_PAGES) * PAGE;
		w->range.len = PAGE * (1 + rnd64(&r->s) % 4);
		if (w->range.start + w->range.len > (uintptr_t)race_arena + ARENA_PAGES * PAGE)
			w->range.len = PAGE;
		w->mode = rnd64(&r->s) % 2 ? UFFDIO_WRITEPROTECT_MODE_WP : 0;
		break;
	}
	case 4: {
		struct uffdio_range *g = (void *)buf;

		cmd = UFFDIO_UNREGISTER;
		g->start = (uintptr_t)race_arena;
		g->len = ARENA_PAGES * PAGE;
		break;
	}
	default:
		cmd = dev_cmds[rnd64(&r->s) % 4];
		*(uint32_t *)buf = _IOC_SIZE(cmd);
		break;
	}
	ret = ioctl(fd, cmd, buf);
	e = ret < 0 ? errno : 0;
	note(&r->c, e);
	if (ret > 0 || (e && !in_set(&any, e)))
		bad(&r->c, "thread %d: cmd %#x on raced fd %d: returned %d, %s", r->id, cmd,
		    fd, ret, e ? strerrorname_np(e) : "");
}

static void *racer_fn(void *arg)
{
	struct racer *r = arg;
	long n;

	for (n = 0; n < r->iters && !race_stop; n++)
		race_ioctl_once(r);
	return NULL;
}

/* Thread 0: replace and close the slots under the others' feet. */
static void *churner_fn(void *arg)
{
	struct racer *r = arg;
	long n;

	for (n = 0; n < r->iters && !race_stop; n++) {
		int slot = SLOT0 + (int)(rnd64(&r->s) % NSLOTS), fd = -1;

		switch (rnd64(&r->s) % 5) {
		case 0: case 1: {
			struct uffdio_api a = { .api = UFFD_API,
				.features = rnd64(&r->s) % 2 ? UFFD_FEATURE_WP_UNPOPULATED & supported : 0 };

			fd = uffd_open();
			if (fd >= 0 && rnd64(&r->s) % 4)
				ioctl(fd, UFFDIO_API, &a);
			break;
		}
		case 2:
			fd = have_dev ? open(UFFD_WPU_DEVICE, O_RDWR | O_CLOEXEC) :
					eventfd(0, EFD_CLOEXEC);
			break;
		case 3:
			fd = eventfd(0, EFD_CLOEXEC);
			break;
		default:
			close(slot);
			continue;
		}
		if (fd < 0)
			continue;
		if (dup2(fd, slot) < 0)
			bad(&r->c, "dup2: %s", strerror(errno));
		close(fd);
		note(&r->c, 0);
	}
	return NULL;
}

static void check_races(long iters)
{
	struct racer rc[4];
	char *m;
	int i, failed = 0;
	long calls = 0;
	char first[400] = "";

	m = mmap(NULL, ARENA_PAGES * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		t_fail("races", "mmap: %s", strerror(errno));
		return;
	}
	race_arena = m;
	for (i = 0; i < ARENA_PAGES; i += 2)
		m[i * PAGE] = 1;
	race_stop = 0;
	for (i = 0; i < 4; i++) {
		memset(&rc[i], 0, sizeof(rc[i]));
		rc[i].id = i;
		rc[i].iters = iters;
		rc[i].c.name = "races";
		rc[i].s = seed * 31 + (uint64_t)i + 1;
		pthread_create(&rc[i].th, NULL, i ? racer_fn : churner_fn, &rc[i]);
	}
	for (i = 0; i < 4; i++)
		pthread_join(rc[i].th, NULL);
	for (i = 0; i < NSLOTS; i++)
		close(SLOT0 + i);
	for (i = 0; i < 4; i++) {
		calls += rc[i].c.calls;
		if (rc[i].c.failed && !failed)
			snprintf(first, sizeof(first), "%s", rc[i].c.first);
		failed += rc[i].c.failed;
	}
	munmap(m, ARENA_PAGES * PAGE);
	fprintf(stderr, "fuzz_ioctl: races: %ld calls/replacements by 4 threads\n", calls);
	total_calls += calls;
	T_CHECK("races", !failed, "%d bad results of %ld calls; first: %s (seed %lu)",
		failed, calls, first, seed);
}

/* ---- 7. another mm stays as it was ----------------------------------------------- */

#define VICTIM_PAGES 64

struct victim {
	pid_t pid;
	int to[2], from[2];
	char *region;		/* same address in the victim (forked) */
	uint64_t pm[VICTIM_PAGES];
};

static unsigned char victim_byte(int i)
{
	return (unsigned char)(0x40 + i);
}

static int read_pagemap(pid_t pid, char *region, uint64_t *pm)
{
	char path[64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = pread(fd, pm, VICTIM_PAGES * 8, (off_t)((uintptr_t)region / PAGE * 8));
	close(fd);
	return n == VICTIM_PAGES * 8 ? 0 : -1;
}

/* In the victim: protect the region (holes in every other page), wait, verify. */
static void victim_main(struct victim *v)
{
	uint64_t f = env.holes ? UFFD_FEATURE_WP_UNPOPULATED : 0;
	int u = uffd_new(f), i, ok = 1;
	char c = 'r';

	if (u < 0 || uffd_register_wp(u, v->region, VICTIM_PAGES * PAGE) ||
	    uffd_wp(u, v->region, VICTIM_PAGES * PAGE, 1))
		c = 'e';
	if (write(v->from[1], &c, 1) != 1 || c != 'r')
		_exit(1);
	if (read(v->to[0], &c, 1) != 1)
		_exit(1);
	/* reads only: protected pages and holes do not fault on reads */
	for (i = 0; i < VICTIM_PAGES; i++) {
		const volatile char *p = v->region + (size_t)i * PAGE;
		char want = (char)(i % 2 ? 0 : victim_byte(i));

		if (p[0] != want || p[PAGE - 1] != want)
			ok = 0;
	}
	c = ok ? 'k' : 'c';
	(void)!write(v->from[1], &c, 1);
	_exit(0);
}

static int victim_start(struct victim *v)
{
	char c;
	int i;

	v->region = map_anon(VICTIM_PAGES * PAGE);
	if (!v->region || pipe(v->to) || pipe(v->from))
		return -1;
	for (i = 0; i < VICTIM_PAGES; i += 2)
		memset(v->region + (size_t)i * PAGE, victim_byte(i), PAGE);
	fflush(NULL);
	v->pid = fork();
	if (v->pid == 0)
		victim_main(v);
	if (read(v->from[0], &c, 1) != 1 || c != 'r')
		return -1;
	return read_pagemap(v->pid, v->region, v->pm);
}

static void victim_check(struct victim *v)
{
	uint64_t pm[VICTIM_PAGES];
	int i, diff = -1, st;
	char c = 'g';

	if (read_pagemap(v->pid, v->region, pm)) {
		t_fail("other-mm-intact", "cannot read the victim's pagemap");
	} else {
		/*
		 * The flag bits (55-63) only: compaction may move the
		 * victim's pages, which changes the frame number.
		 */
		for (i = 0; i < VICTIM_PAGES && diff < 0; i++)
			if ((pm[i] ^ v->pm[i]) & PM_FLAG_BITS)
				diff = i;
		T_CHECK("other-mm-pagemap", diff < 0,
			"victim page %d: pagemap %#llx before, %#llx after", diff,
			(unsigned long long)(diff < 0 ? 0 : v->pm[diff]),
			(unsigned long long)(diff < 0 ? 0 : pm[diff]));
		if (env.pm_uffd_wp)
			T_CHECK("other-mm-protected", (pm[0] & PM_UFFD_WP) &&
				(!env.holes || (pm[1] & PM_UFFD_WP)),
				"victim pages not (or no longer) protected: %#llx %#llx",
				(unsigned long long)pm[0], (unsigned long long)pm[1]);
	}
	if (write(v->to[1], &c, 1) != 1 || read(v->from[0], &c, 1) != 1)
		c = '?';
	T_CHECK("other-mm-intact", c == 'k', "victim's contents changed (answer '%c')", c);
	waitpid(v->pid, &st, 0);
}

/* ---- 8. unprivileged caller ------------------------------------------------------------ */

static int try_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (write(fd, "0\n", 2) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

static void unpriv_main(void)
{
	static const char *const sysfs[] = {
		UFFD_WPU_SYSFS "/enabled", UFFD_WPU_SYSFS "/transparent", UFFD_WPU_SYSFS "/stats",
	};
	static const char *const params[] = {
		"/sys/module/uffd_wpu/parameters/enabled",
		"/sys/module/uffd_wpu/parameters/transparent",
		"/sys/module/uffd_wpu/parameters/fail_protect",
		"/sys/module/uffd_wpu/parameters/backend",
	};
	struct uffd_wpu_version v = { .size = sizeof(v) };
	struct uffd_wpu_status s = { .size = sizeof(s) };
	struct uffd_wpu_optin o = { .size = sizeof(o) };
	char bad_sys[256] = "", bad_par[256] = "";
	int fd, r, i, u;
	size_t n;

	t_prog = "fuzz_ioctl";
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534) || getuid() != 65534) {
		t_fail("unpriv-setuid", "cannot become uid 65534: %s", strerror(errno));
		_exit(1);
	}
	if (have_dev) {
		fd = open(UFFD_WPU_DEVICE, O_RDWR | O_CLOEXEC);
		T_CHECK("unpriv-open-device", fd >= 0, "open %s as uid 65534: %s",
			UFFD_WPU_DEVICE, strerror(errno));
		r = fd >= 0 ? ioctl(fd, UFFD_WPU_IOC_VERSION, &v) : -1;
		T_CHECK("unpriv-version", !r && v.abi_major == UFFD_WPU_ABI_MAJOR,
			"VERSION as uid 65534: %s", strerror(errno));
		r = fd >= 0 ? ioctl(fd, UFFD_WPU_IOC_OPTIN, &o) : -1;
		T_CHECK("unpriv-optin-own-mm", !r, "OPTIN of its own mm as uid 65534: %s",
			strerror(errno));
		r = fd >= 0 ? ioctl(fd, UFFD_WPU_IOC_STATUS, &s) : -1;
		T_CHECK("unpriv-status", !r && (s.flags & UFFD_WPU_STATUS_OPTED_IN),
			"STATUS as uid 65534: %s, flags %#x (want OPTED_IN)",
			r ? strerror(errno) : "ok", s.flags);
		r = fd >= 0 ? ioctl(fd, UFFD_WPU_IOC_OPTOUT, &o) : -1;
		T_CHECK("unpriv-optout", !r, "OPTOUT as uid 65534: %s", strerror(errno));
		r = fd >= 0 ? ioctl(fd, UFFD_WPU_IOC_VERSION, kernel_ptrs[0]) : -1;
		T_CHECK("unpriv-kernel-pointer", r == -1 && errno == EFAULT,
			"VERSION into %p as uid 65534: %s, want EFAULT", kernel_ptrs[0],
			r ? strerror(errno) : "success");
		if (fd >= 0)
			close(fd);
		for (i = 0, n = 0; i < 3; i++) {
			r = try_write(sysfs[i]);
			if (r != -EACCES)
				n += (size_t)snprintf(bad_sys + n, sizeof(bad_sys) - n, " %s: %s",
						      sysfs[i], r ? strerrorname_np(-r) : "written");
		}
		T_CHECK("unpriv-sysfs-eacces", !bad_sys[0], "writes as uid 65534 not refused with EACCES:%s", bad_sys);
		for (i = 0, n = 0; i < 4; i++) {
			r = try_write(params[i]);
			if (r != -EACCES && r != -ENOENT)
				n += (size_t)snprintf(bad_par + n, sizeof(bad_par) - n, " %s: %s",
						      params[i], r ? strerrorname_np(-r) : "written");
		}
		T_CHECK("unpriv-params-readonly", !bad_par[0], "module parameters writable by uid 65534:%s", bad_par);
		r = (int)syscall(SYS_delete_module, "uffd_wpu", O_NONBLOCK);
		T_CHECK("unpriv-rmmod-eperm", r == -1 && errno == EPERM,
			"delete_module(uffd_wpu) as uid 65534: %s, want EPERM",
			r ? strerror(errno) : "success");
	} else {
		t_skip("unpriv-device", "no %s (native kernel or module not loaded)", UFFD_WPU_DEVICE);
	}
	/* userfaultfd itself: vm.unprivileged_userfaultfd or UFFD_USER_MODE_ONLY */
	u = new_uffd(O_CLOEXEC | O_NONBLOCK, 0);
	if (u < 0 && have_user_mode_only)
		u = new_uffd(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY, 0);
	if (u < 0) {
		t_skip("unpriv-uffd-api", "userfaultfd refused to uid 65534 (%s): vm.unprivileged_userfaultfd=0%s",
		       strerror(-u), have_user_mode_only ? "" : " and no UFFD_USER_MODE_ONLY (5.10)");
	} else {
		struct uffdio_api a = { .api = UFFD_API, .features = UFFD_FEATURE_WP_UNPOPULATED };
		int want = env.holes ? 0 : EINVAL, e;

		r = ioctl(u, UFFDIO_API, &a);
		e = r ? errno : 0;
		T_CHECK("unpriv-uffd-api", e == want,
			"UFFDIO_API with bit 13 on its own context as uid 65534: %s, want %s",
			e ? strerrorname_np(e) : "success", want ? "EINVAL" : "success");
		close(u);
	}
	_exit(t_exit());
}

static void check_unprivileged(void)
{
	pid_t pid;
	int st;

	if (!is_root) {
		t_skip("unpriv", "not running as root: cannot switch to uid 65534");
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		unpriv_main();
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		t_fail("unpriv", "child as uid 65534 died (status %#x)", st);
	else if (WEXITSTATUS(st))
		t_failed = 1;	/* its FAIL lines are printed already */
}

/* ---- main -------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", 1, NULL, 's' }, { "iters", 1, NULL, 'i' }, { NULL, 0, NULL, 0 },
	};
	struct victim v;
	const char *es = getenv("FUZZ_SEED"), *ei = getenv("FUZZ_ITERS");
	const char *ws = getenv("WPU_STRESS");
	struct timespec ts;
	long t0;
	int c, fd;

	t_prog = "fuzz_ioctl";
	clock_gettime(CLOCK_REALTIME, &ts);
	seed = es ? strtoul(es, NULL, 0) : (unsigned long)(ts.tv_sec ^ ts.tv_nsec);
	if (ei && atoi(ei) > 0)
		iters_scale = atoi(ei);
	else if (ws && !strcmp(ws, "long"))
		iters_scale = 20;
	while ((c = getopt_long(argc, argv, "s:i:", lo, NULL)) != -1) {
		if (c == 's')
			seed = strtoul(optarg, NULL, 0);
		else if (c == 'i')
			iters_scale = atoi(optarg) > 0 ? atoi(optarg) : 1;
		else
			return 2;
	}
	rs = seed * 0x9E3779B97F4A7C15ULL + 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* x1 takes 1-2 s on Debian's kernels under TCG, ~40 s with KASAN */
	u_watchdog(240 * (unsigned int)iters_scale);
	printf("fuzz_ioctl: seed %lu (replay: fuzz_ioctl --seed %lu, or FUZZ_SEED=%lu on the "
	       "guest kernel command line), iterations x%d\n", seed, seed, seed, iters_scale);
	env = u_env_get();
	is_root = geteuid() == 0;
	have_dev = u_exists(UFFD_WPU_DEVICE);
	have_dev_userfaultfd = u_exists("/dev/userfaultfd");
	fd = uffd_open();
	if (fd >= 0) {
		if (uffd_api(fd, 0, &supported))
			supported = 0;
		close(fd);
	}
	fd = new_uffd(O_CLOEXEC | UFFD_USER_MODE_ONLY, 0);
	have_user_mode_only = fd >= 0;
	if (fd >= 0)
		close(fd);
	fprintf(stderr, "fuzz_ioctl: offered features %#llx, /dev/uffd-wpu %s, "
		"/dev/userfaultfd %s, UFFD_USER_MODE_ONLY %s\n", (unsigned long long)supported,
		have_dev ? "yes" : "no", have_dev_userfaultfd ? "yes" : "no",
		have_user_mode_only ? "yes" : "no");
	if (setup_pointers()) {
		t_fail("setup", "mmap: %s", strerror(errno));
		return t_exit();
	}
	t0 = (long)u_now_ms();

	/* forks first, while this process has no userfaultfd at all */
	check_unprivileged();
	if (victim_start(&v)) {
		t_fail("other-mm-intact", "victim process could not protect its region");
		return t_exit();
	}
	u_current = "device";
	fuzz_device(80000L * iters_scale);
	u_current = "api";
	fuzz_api(10000L * iters_scale);
	u_current = "uffd-ioctls";
	fuzz_uffd_cmds(500L * iters_scale, 40);
	u_current = "not-uffd";
	fuzz_not_uffd(8000L * iters_scale);
	u_current = "scm-rights";
	check_scm_rights();
	u_current = "races";
	check_races(3000L * iters_scale);
	u_current = "victim";
	victim_check(&v);
	fprintf(stderr, "fuzz_ioctl: seed %lu, iterations x%d, %ld calls in total, done in %ld ms\n",
		seed, iters_scale, total_calls, (long)u_now_ms() - t0);
	return t_exit();
}
