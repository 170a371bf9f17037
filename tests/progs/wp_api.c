// SPDX-License-Identifier: GPL-2.0
/*
 * wp_api: UFFDIO_API negotiation of UFFD_FEATURE_WP_UNPOPULATED (bit 13).
 *
 * Native 6.4+: bit 13 is listed by every successful UFFDIO_API (the reply
 * lists all features the kernel has) and may be requested; unknown bits,
 * a wrong api number and a second UFFDIO_API on the same fd fail with
 * EINVAL, and a failed call zeroes the reply.  The module must keep all
 * of that.
 */
#include "uffd_util.h"

#define BAD_BIT (1ULL << 63)

static struct u_env env;

/* UFFDIO_API on a fresh fd. */
static int api_once(uint64_t api, uint64_t features, uint64_t *out,
		    uint64_t *ioctls)
{
	int fd = uffd_open(), r;

	if (fd < 0)
		return fd;
	r = uffd_api_raw(fd, api, features, out, ioctls);
	close(fd);
	return r;
}

static void generic_checks(void)
{
	uint64_t f = 0xdead, io = 0xbeef, f0 = 0, fx = 0;
	int fd, r;

	u_current = "generic";
	r = api_once(UFFD_API, 0, &f0, &io);
	T_CHECK("query-ok", r == 0 && (io & (1ULL << _UFFDIO_REGISTER)) &&
		(io & (1ULL << _UFFDIO_API)),
		"r=%s ioctls=%#llx", strerror(-r), (unsigned long long)io);
	T_CHECK("query-lists-wp", f0 & UFFD_FEATURE_PAGEFAULT_FLAG_WP,
		"features %#llx lack PAGEFAULT_FLAG_WP", (unsigned long long)f0);

	f = 0xdead;
	io = 0xbeef;
	r = api_once(UFFD_API, BAD_BIT, &f, &io);
	T_CHECK("unknown-bit-einval", r == -EINVAL, "got %s", strerror(-r));
	T_CHECK("unknown-bit-reply-zeroed", f == 0 && io == 0,
		"reply features=%#llx ioctls=%#llx", (unsigned long long)f,
		(unsigned long long)io);

	f = 0xdead;
	r = api_once(0xab, 0, &f, NULL);
	T_CHECK("bad-api-einval", r == -EINVAL, "got %s", strerror(-r));
	T_CHECK("bad-api-reply-zeroed", f == 0, "reply features=%#llx",
		(unsigned long long)f);

	/* a second UFFDIO_API on one fd */
	fd = uffd_open();
	r = uffd_api(fd, 0, NULL);
	f = 0xdead;
	r = r ? r : uffd_api(fd, 0, &f);
	T_CHECK("second-api-einval", r == -EINVAL, "second call: %s", strerror(-r));
	close(fd);

	/* a failed call does not consume the fd */
	fd = uffd_open();
	r = uffd_api(fd, BAD_BIT, NULL);
	fx = 0;
	if (r == -EINVAL)
		r = uffd_api(fd, 0, &fx);
	else
		r = -1000;
	T_CHECK("retry-after-failure", r == 0 && fx == f0,
		"r=%d features %#llx vs query %#llx", r, (unsigned long long)fx,
		(unsigned long long)f0);
	close(fd);
}

static void holes_checks(void)
{
	uint64_t f0 = 0, f = 0, io = 0, fx = 0;
	int fd, r;
	char *p;

	u_current = "bit13";
	if (!env.holes) {
		r = api_once(UFFD_API, UFFD_FEATURE_WP_UNPOPULATED, &f, NULL);
		T_CHECK("bit13-refused-when-unoffered", r == -EINVAL && f == 0,
			"UFFDIO_API(bit 13) = %s, reply %#llx", strerror(-r),
			(unsigned long long)f);
		t_skip("bit13", NO_HOLES_REASON);
		return;
	}
	r = api_once(UFFD_API, 0, &f0, NULL);
	T_CHECK("query-lists-bit13", r == 0 && (f0 & UFFD_FEATURE_WP_UNPOPULATED),
		"r=%s features %#llx", strerror(-r), (unsigned long long)f0);

	r = api_once(UFFD_API, UFFD_FEATURE_WP_UNPOPULATED, &f, &io);
	T_CHECK("request-bit13", r == 0 && (f & UFFD_FEATURE_WP_UNPOPULATED),
		"r=%s features %#llx", strerror(-r), (unsigned long long)f);
	T_CHECK("request-bit13-same-reply", r == 0 && f == f0 &&
		(io & (1ULL << _UFFDIO_REGISTER)),
		"features %#llx vs query %#llx, ioctls %#llx",
		(unsigned long long)f, (unsigned long long)f0,
		(unsigned long long)io);

	r = api_once(UFFD_API, UFFD_FEATURE_WP_UNPOPULATED |
		     UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_PAGEFAULT_FLAG_WP, &f, NULL);
	T_CHECK("request-bit13-with-others", r == 0 && (f & UFFD_FEATURE_WP_UNPOPULATED),
		"r=%s features %#llx", strerror(-r), (unsigned long long)f);

	f = 0xdead;
	io = 0xbeef;
	r = api_once(UFFD_API, UFFD_FEATURE_WP_UNPOPULATED | BAD_BIT, &f, &io);
	T_CHECK("bit13-plus-unknown-einval", r == -EINVAL, "got %s", strerror(-r));
	T_CHECK("bit13-plus-unknown-reply-zeroed", f == 0 && io == 0,
		"reply features=%#llx ioctls=%#llx", (unsigned long long)f,
		(unsigned long long)io);

	f = 0xdead;
	r = api_once(0xab, UFFD_FEATURE_WP_UNPOPULATED, &f, NULL);
	T_CHECK("bit13-bad-api-einval", r == -EINVAL && f == 0,
		"got %s, reply %#llx", strerror(-r), (unsigned long long)f);

	/* second UFFDIO_API after a bit-13 one, with and without bit 13 */
	fd = uffd_open();
	r = uffd_api(fd, UFFD_FEATURE_WP_UNPOPULATED, NULL);
	f = 0xdead;
	r = r ? r - 1000 : uffd_api(fd, UFFD_FEATURE_WP_UNPOPULATED, &f);
	T_CHECK("bit13-second-api-einval", r == -EINVAL,
		"second call: %d (%s), reply %#llx", r, strerror(-r), (unsigned long long)f);
	r = uffd_api(fd, 0, NULL);
	T_CHECK("bit13-third-api-einval", r == -EINVAL, "third call: %s", strerror(-r));

	/* the context negotiated with bit 13 still works: register + protect */
	p = map_anon(PAGE);
	{
		struct uffdio_register reg = {
			.range = { .start = (uintptr_t)p, .len = PAGE },
			.mode = UFFDIO_REGISTER_MODE_WP,
		};

		r = ioctl(fd, UFFDIO_REGISTER, &reg) ? -errno : 0;
		T_CHECK("bit13-register-wp", r == 0 &&
			(reg.ioctls & (1ULL << _UFFDIO_WRITEPROTECT)),
			"r=%s ioctls %#llx", strerror(-r), (unsigned long long)reg.ioctls);
	}
	r = uffd_wp(fd, p, PAGE, 1);
	T_CHECK("bit13-protect-hole", r == 0, "UFFDIO_WRITEPROTECT: %s", strerror(-r));
	if (env.pm_uffd_wp)
		T_CHECK("bit13-protect-hole-pagemap", pm_wp(p),
			"pagemap %#llx", (unsigned long long)pagemap(p));
	else
		t_skip("bit13-protect-hole-pagemap", NO_PM_REASON);
	close(fd);
	munmap(p, PAGE);

	/* a failed bit-13 request does not consume the fd either */
	fd = uffd_open();
	r = uffd_api(fd, UFFD_FEATURE_WP_UNPOPULATED | BAD_BIT, NULL);
	r = r == -EINVAL ? uffd_api(fd, UFFD_FEATURE_WP_UNPOPULATED, &fx) : -1000;
	T_CHECK("bit13-retry-after-failure", r == 0 &&
		(fx & UFFD_FEATURE_WP_UNPOPULATED),
		"r=%d features %#llx", r, (unsigned long long)fx);
	close(fd);
}

/*
 * mremap() of a protected page whose context did not ask for EVENT_REMAP
 * clears uffd-wp at the new address (6.8, 6.6.y, 6.1.y): needs bit 57.
 */
static int mremap_resets_wp(void)
{
	char *p = map_anon(2 * PAGE), *q;
	int fd = uffd_new(0), reset = 0;

	if (!p || fd < 0)
		goto out;
	p[0] = 1;
	if (uffd_register_wp(fd, p, PAGE) || uffd_wp(fd, p, PAGE, 1) ||
	    !pm_wp(p))
		goto out;
	/* the second page is only a destination that cannot be merged with */
	q = mremap(p, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, p + PAGE);
	if (q != MAP_FAILED) {
		reset = !pm_wp(q);
		p = q - PAGE;
	}
out:
	if (fd >= 0)
		close(fd);
	if (p)
		munmap(p, 2 * PAGE);
	return reset;
}

/*
 * wp_api --facts: what the running kernel offers by itself, as NAME=0|1
 * lines, so that the guest scripts expect the module's backend and hooks
 * from kernel facts rather than from kernel names ("5.14" is several
 * kernels).  Run it while the module is not loaded (the guest's boot
 * step keeps its output in U_FACTS_FILE for the tests).  No test lines.
 */
static int print_facts(void)
{
	uint64_t f = 0;
	int fd, umode, bit57 = 0, reset = 0, noexec, scan;
	char *p;

	fd = uffd_open();
	if (fd < 0 || uffd_api(fd, 0, &f)) {
		fprintf(stderr, "wp_api --facts: UFFDIO_API failed\n");
		return 1;
	}
	close(fd);
	/* UFFD_USER_MODE_ONLY (5.11): the kernel accepts the flag */
	fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | 1);
	umode = fd >= 0;
	if (fd >= 0)
		close(fd);
	/* MFD_NOEXEC_SEAL (6.3): upstream's selftests use it */
	fd = (int)syscall(__NR_memfd_create, "wp_api", 8U);
	noexec = fd >= 0;
	if (fd >= 0)
		close(fd);
	/* pagemap bit 57 (5.13), and UFFDIO_UNREGISTER clearing it (6.0) */
	p = map_anon(PAGE);
	fd = uffd_new(0);
	if (p && fd >= 0) {
		p[0] = 1;
		if (!uffd_register_wp(fd, p, PAGE) && !uffd_wp(fd, p, PAGE, 1)) {
			bit57 = pm_wp(p);
			reset = bit57 && !uffd_unregister(fd, p, PAGE) && !pm_wp(p);
		}
	}
	/* PAGEMAP_SCAN (6.7): pagemap files answer it, module or not */
	fd = pm_open(0);
	scan = fd >= 0 && p && pm_scan(fd, p, p + PAGE, 0, NULL, 0, 0,
				       PAGE_IS_PRESENT, PAGE_IS_PRESENT, NULL) >= 0;
	if (fd >= 0)
		close(fd);
	/* uffd-wp pte markers (CONFIG_PTE_MARKER_UFFD_WP) come with this one */
	printf("wp_hugetlbfs_shmem=%d\n", !!(f & UFFD_FEATURE_WP_HUGETLBFS_SHMEM));
	printf("user_mode_only=%d\npagemap_bit57=%d\nresets_wp=%d\n",
	       umode, bit57, reset);
	printf("memfd_noexec_seal=%d\npagemap_scan=%d\n", noexec, scan);
	printf("resets_mremap=%d\n", bit57 && mremap_resets_wp());
	/* 6.0.y: UFFDIO_API ignores bits it does not know (no EINVAL) */
	fd = uffd_open();
	printf("api_ignores_unknown=%d\n", fd >= 0 && !uffd_api(fd, BAD_BIT, NULL));
	if (fd >= 0)
		close(fd);
	/* /dev/userfaultfd (6.1), whose stock fork and zap markers survive */
	printf("dev_userfaultfd=%d\n", !access("/dev/userfaultfd", F_OK));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--facts"))
		return print_facts();
	t_prog = "wp_api";
	u_watchdog(60);
	env = u_env_get();
	generic_checks();
	holes_checks();
	return t_exit();
}
