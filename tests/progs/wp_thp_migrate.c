// SPDX-License-Identifier: GPL-2.0
/*
 * wp_thp_migrate: write-protect a THP while it is being migrated.
 *
 * Native 6.4+ (and stock 6.1) carry uffd-wp through a THP migration, on
 * the pmd and on the pmd migration entry that stands for the THP while it
 * is copied.  Stock 5.10 carries it on neither, and before 6.5 a protect
 * racing with the migration can take the new pmd migration entry for a bad
 * pmd and clear it (the THP leaks: "Bad rss-counter state" at exit, which
 * the console check catches).  The module therefore protects THPs as 512
 * ptes, and must do so as well for a THP that is a pmd migration entry at
 * the moment of UFFDIO_WRITEPROTECT.
 *
 * The moment cannot be chosen from user space, so each round maps a new
 * THP, starts move_pages() of it to the other NUMA node in one thread and
 * protects it from another after a varying delay, then checks bit 57 of
 * its pages once the migration is over.  Any round without the bit fails
 * (a write then lands without a message, checked once).  A run with no
 * loss passes whether or not a round hit the window; the number of rounds
 * whose protect overlapped the migration is printed.  Needs two NUMA
 * nodes (tests/run gives the guest two) and THP.  WPU_STRESS=long in the
 * environment runs ten times as many rounds.
 */
#include "uffd_util.h"

#include <stdatomic.h>

#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE (1 << 1)
#endif

#define ROUNDS 150

static struct u_env env;

struct mover {
	void *page;
	int node, status;
	atomic_int go, done;
	long long t0, t1;	/* microseconds */
};

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void *mover_fn(void *arg)
{
	struct mover *m = arg;

	while (!atomic_load(&m->go))
		;
	m->t0 = now_us();
	if (syscall(SYS_move_pages, 0, 1L, &m->page, &m->node, &m->status,
		    MPOL_MF_MOVE))
		m->status = -errno;
	m->t1 = now_us();
	atomic_store(&m->done, 1);
	return NULL;
}

/* The node of @p, or -1. */
static int node_of(void *p)
{
	int status = -1;

	if (syscall(SYS_move_pages, 0, 1L, &p, NULL, &status, 0))
		return -1;
	return status;
}

/* A THP at a new 2 MiB, registered WP on @fd; NULL if no THP came. */
static char *new_thp(int fd)
{
	char *p = map_anon_aligned(HPAGE, HPAGE, MADV_HUGEPAGE);

	if (!p)
		return NULL;
	memset(p, 1, HPAGE);
	if (u_anon_huge_kb(p) < 2048 || uffd_register_wp(fd, p, HPAGE)) {
		munmap(p, HPAGE);
		return NULL;
	}
	return p;
}

/*
 * One round: migrate @p to the other node while protecting it after
 * @delay_us.  Returns 1 when the protect overlapped the migration, 0 when
 * not, -1 when the page did not move.  *lost: bit 57 missing afterwards.
 */
static int round_once(int fd, char *p, long long delay_us, int *lost,
		      long long *move_us)
{
	struct mover m = { .page = p };
	long long start, t_wp0, t_wp1;
	pthread_t th;
	int from = node_of(p), r;

	m.node = from == 1 ? 0 : 1;
	if (from < 0 || pthread_create(&th, NULL, mover_fn, &m))
		return -1;
	atomic_store(&m.go, 1);
	start = now_us();
	while (now_us() - start < delay_us)
		;
	t_wp0 = now_us();
	r = uffd_wp(fd, p, HPAGE, 1);
	t_wp1 = now_us();
	pthread_join(th, NULL);
	if (r)
		t_fail("protect", "UFFDIO_WRITEPROTECT: %s", strerror(-r));
	*move_us = m.t1 - m.t0;
	*lost = !pm_wp(p) || !pm_wp(p + 300 * PAGE) || !pm_wp(p + HPAGE - PAGE);
	if (m.status != m.node)
		return -1;
	return t_wp0 < m.t1 && t_wp1 > m.t0;
}

/*
 * The second case: one thread moves a THP between the nodes again and
 * again while another protects and unprotects it in a loop, so that
 * thousands of walks of its pmd meet its migrations.  Afterwards the THP
 * must still be mapped with its bytes (a pmd taken for bad and cleared
 * loses them: reads then see zeros) and still be protectable.
 */
struct toggler {
	int fd;
	char *p;
	atomic_int stop;
	long n, err;
};

static void *toggle_fn(void *arg)
{
	struct toggler *t = arg;

	while (!atomic_load(&t->stop)) {
		int r = uffd_wp(t->fd, t->p, HPAGE, 1) ?:
			uffd_wp(t->fd, t->p, HPAGE, 0);

		if (r && !t->err)
			t->err = r;
		t->n++;
	}
	return NULL;
}

static void toggle_during_migrations(int fd, int moves)
{
	struct toggler t = { .fd = fd };
	int i, moved = 0, bad = -1;
	pthread_t th;
	size_t off;

	t.p = new_thp(fd);
	if (!t.p) {
		t_skip("toggle-during-migrations", "no THP");
		return;
	}
	if (pthread_create(&th, NULL, toggle_fn, &t)) {
		t_fail("toggle-during-migrations", "pthread_create");
		return;
	}
	for (i = 0; i < moves; i++) {
		int node = node_of(t.p) == 1 ? 0 : 1, status = -1;

		if (!syscall(SYS_move_pages, 0, 1L, &t.p, &node, &status,
			     MPOL_MF_MOVE) && status == node)
			moved++;
	}
	atomic_store(&t.stop, 1);
	pthread_join(th, NULL);
	for (off = 0; off < HPAGE && bad < 0; off += PAGE)
		if (t.p[off] != 1 || t.p[off + PAGE - 1] != 1)
			bad = off / PAGE;
	fprintf(stderr, "wp_thp_migrate: %d of %d moves done during %ld protect+unprotect pairs\n",
		moved, moves, t.n);
	if (t.err)
		t_fail("toggle-during-migrations", "UFFDIO_WRITEPROTECT: %s",
		       strerror(-t.err));
	else
		T_CHECK("toggle-during-migrations", bad < 0,
			"page %d of the THP lost its bytes after %d migrations",
			bad, moved);
	T_CHECK("toggle-then-protect", !uffd_wp(fd, t.p, HPAGE, 1) &&
		pm_wp(t.p) && pm_wp(t.p + HPAGE - PAGE),
		"the THP is not write-protected after a final protect");
	uffd_unregister(fd, t.p, HPAGE);
	munmap(t.p, HPAGE);
}

/*
 * What keeps the kernel's walk away from the race above: with the module,
 * UFFDIO_WRITEPROTECT (protect or unprotect) of a THP in a context that
 * protects holes maps it by ptes first, so AnonHugePages of the range is 0
 * afterwards while every byte stays.  Native 6.4+ has no such race and
 * keeps the pmd (nothing to check there).
 */
static void pte_mapped_after(int fd, int protect, const char *name)
{
	char *p;
	long kb;
	int r;

	if (env.kind != U_MODULE || !env.holes) {
		t_skip(name, "no module: the kernel keeps the pmd");
		return;
	}
	p = new_thp(fd);
	if (!p) {
		t_skip(name, "no THP");
		return;
	}
	r = uffd_wp(fd, p, HPAGE, protect);
	if (r) {
		t_fail(name, "UFFDIO_WRITEPROTECT: %s", strerror(-r));
	} else {
		kb = u_anon_huge_kb(p);
		T_CHECK(name, kb == 0 && p[0] == 1 && p[HPAGE - 1] == 1 &&
			pm_wp(p) == protect,
			"after %s: AnonHugePages %ld kB, bytes %d %d, bit 57 %d",
			protect ? "protect" : "unprotect", kb, p[0],
			p[HPAGE - 1], pm_wp(p));
	}
	uffd_unregister(fd, p, HPAGE);
	munmap(p, HPAGE);
}

int main(void)
{
	int fd, i, moved = 0, overlap = 0, lost = 0, first_lost = -1;
	int rounds = ROUNDS;
	long long move_us = 2000, delay;
	uint32_t seed = 12345;
	char *p;

	t_prog = "wp_thp_migrate";
	u_watchdog(240);
	env = u_env_get();
	if (!env.pm_uffd_wp) {
		t_skip("all", NO_PM_REASON);
		return t_exit();
	}
	if (!u_exists("/sys/devices/system/node/node1")) {
		t_skip("all", "guest has one NUMA node");
		return t_exit();
	}
	fd = uffd_new(env.holes ? UFFD_FEATURE_WP_UNPOPULATED : 0);
	if (fd < 0) {
		t_fail("uffd", "%s", strerror(-fd));
		return t_exit();
	}
	if (getenv("WPU_STRESS") && !strcmp(getenv("WPU_STRESS"), "long"))
		rounds *= 10;
	for (i = 0; i < rounds && !lost; i++) {
		int ov, l = 0;
		long long us = 0;

		p = new_thp(fd);
		if (!p)
			continue;
		/* spread the protect over the whole migration and a bit more */
		delay = u_xorshift32(&seed) % (move_us * 3 / 2 + 1);
		ov = round_once(fd, p, delay, &l, &us);
		if (ov >= 0) {
			moved++;
			overlap += ov;
			move_us = us > 0 ? us : move_us;
		}
		if (l) {
			struct uffd_msg m;
			int n;

			lost++;
			first_lost = i;
			/* what a program sees: a write without a message */
			n = access_and_watch(fd, p + 5, ACC_WRITE, 9, 2000, &m,
					     NULL, NULL);
			fprintf(stderr, "wp_thp_migrate: round %d: bit 57 lost (protect overlapped: %d), a write got %d messages\n",
				i, ov, n);
		}
		uffd_unregister(fd, p, HPAGE);
		munmap(p, HPAGE);
	}
	fprintf(stderr, "wp_thp_migrate: %d rounds, %d migrated, %d with the protect overlapping the migration (last move %lld us)\n",
		i, moved, overlap, move_us);
	if (!moved)
		t_skip("protect-during-migration", "no THP was migrated (%d rounds)", i);
	else
		T_CHECK("protect-during-migration", !lost,
			"round %d: uffd-wp lost after a protect during the THP's migration (%d of %d rounds overlapped)",
			first_lost, overlap, moved);
	pte_mapped_after(fd, 1, "protect-maps-thp-by-ptes");
	pte_mapped_after(fd, 0, "unprotect-maps-thp-by-ptes");
	toggle_during_migrations(fd, rounds / 3);
	close(fd);
	return t_exit();
}
