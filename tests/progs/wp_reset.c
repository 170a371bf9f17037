// SPDX-License-Identifier: GPL-2.0
/*
 * Leaving write-protect mode clears write protection (6.0+ semantics):
 * after UFFDIO_UNREGISTER, or close() of the userfaultfd, a range that is
 * registered again in WP mode without being protected must not report
 * writes.  Stock 5.10 keeps the stale uffd-wp bits (a snapshot tool reusing
 * the range sees faults that are not its own): this program fails there
 * without the module, and passes with it and on 6.1+.
 *
 * And a write-protected THP keeps its protection when it is migrated to
 * another NUMA node (stock 5.10 drops the bit in set_pmd_migration_entry()).
 */
#include "uffd_util.h"

#include <linux/mempolicy.h>

static uint64_t features;	/* WP_UNPOPULATED where offered */

/* A write from another thread: 1 if it raised a WP fault, 0 if it landed. */
static int write_faults(int fd, char *p, char val)
{
	struct accessor a;
	struct uffd_msg m;
	long long end = u_now_ms() + 10000;
	int r, wp;

	if (accessor_start(&a, p, ACC_WRITE, val))
		return -1;
	/*
	 * Until a message comes or the write lands: a fixed window would
	 * call a write that TCG has not yet run "landed" (and then fail to
	 * join the writer blocked in its fault).
	 */
	do {
		r = uffd_read_msg(fd, &m, 100);
	} while (r == 0 && !accessor_wait_done(&a, 0) && u_now_ms() < end);
	wp = r == 1 && m.event == UFFD_EVENT_PAGEFAULT &&
	     (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP);
	if (wp)
		uffd_wp(fd, p, PAGE, 0);
	if (accessor_join(&a, 5000))
		return -1;
	return wp;
}

/* populated page + hole; protect; leave WP mode by @leave; register again */
static void check_reset(const char *name, int by_close)
{
	char *p = map_anon(2 * PAGE);
	int fd = uffd_new(features), fd2, f0, f1;

	u_current = name;
	if (!p || fd < 0) {
		t_fail(name, "setup failed");
		return;
	}
	p[0] = 1;
	if (uffd_register_wp(fd, p, 2 * PAGE) || uffd_wp(fd, p, 2 * PAGE, 1)) {
		t_fail(name, "register/protect failed");
		return;
	}
	if (by_close) {
		close(fd);
		fd = uffd_new(features);
	} else if (uffd_unregister(fd, p, 2 * PAGE)) {
		t_fail(name, "unregister failed");
		return;
	}
	if (fd < 0 || uffd_register_wp(fd, p, 2 * PAGE)) {
		t_fail(name, "registering again failed");
		return;
	}
	f0 = write_faults(fd, p, 2);
	fd2 = fd;
	f1 = write_faults(fd2, p + PAGE, 3);
	if (f0 || f1)
		t_fail(name, "unprotected range reported a write (populated: %d, hole: %d): stale uffd-wp",
		       f0, f1);
	else
		T_CHECK(name, p[0] == 2 && p[PAGE] == 3, "writes did not land");
	close(fd);
	munmap(p, 2 * PAGE);
}

static int node_count(void)
{
	return u_exists("/sys/devices/system/node/node1") ? 2 : 1;
}

static void check_thp_migration(void)
{
	const char *name = "thp-migration";
	char *p = map_anon_aligned(HPAGE, HPAGE, MADV_HUGEPAGE);
	int fd = uffd_new(features), node = 1, status = -1, f;
	void *page;
	char rollup[4096], *ahp;
	long kb = 0;

	u_current = name;
	if (node_count() < 2) {
		t_skip(name, "guest has one NUMA node");
		return;
	}
	if (!p || fd < 0) {
		t_fail(name, "setup failed");
		return;
	}
	memset(p, 1, HPAGE);
	if (!u_read_file("/proc/self/smaps_rollup", rollup, sizeof(rollup)) &&
	    (ahp = strstr(rollup, "AnonHugePages:")))
		sscanf(ahp + strlen("AnonHugePages:"), "%ld", &kb);
	if (kb < 2048) {
		t_skip(name, "no THP was allocated");
		return;
	}
	if (uffd_register_wp(fd, p, HPAGE) || uffd_wp(fd, p, HPAGE, 1)) {
		t_fail(name, "register/protect failed");
		return;
	}
	page = p;
	if (syscall(SYS_move_pages, 0, 1L, &page, &node, &status,
		    MPOL_MF_MOVE) || status != 1) {
		t_skip(name, "move_pages did not migrate the page (status %d, %s)",
		       status, strerror(errno));
		return;
	}
	f = write_faults(fd, p, 7);
	T_CHECK(name, f == 1, "write after migration %s",
		f == 0 ? "landed without a WP fault: protection lost" : "failed");
	close(fd);
	munmap(p, HPAGE);
}

int main(void)
{
	struct u_env env;

	t_prog = "wp_reset";
	u_watchdog(60);
	env = u_env_get();
	features = env.holes ? UFFD_FEATURE_WP_UNPOPULATED : 0;
	check_reset("unregister-resets", 0);
	check_reset("close-resets", 1);
	check_thp_migration();
	return t_exit();
}
