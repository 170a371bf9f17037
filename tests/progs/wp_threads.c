// SPDX-License-Identifier: GPL-2.0
/*
 * wp_threads: concurrency over a 16 MiB protected range (mostly holes).
 *
 * 4 writer threads store known values into random pages they own, a
 * handler thread resolves every WP fault by unprotecting the page, and a
 * toggler thread keeps protecting/unprotecting random sub-ranges.  All
 * loops are bounded.  At the end every store must have landed, pages
 * nobody wrote must be zero, every message must be a WP write fault in the
 * range, and a final protect + write pass must give exactly one message
 * per page written.
 */
#include "uffd_util.h"

static struct u_env env;

#define FEATURES	(UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_THREAD_ID)
#define LEN		(16UL << 20)
#define NPG		((int)(LEN / PAGE))
#define NWRITERS	4
#define WRITES		3000
#define TOGGLES		400

static int uffd = -1;
static char *area;
static volatile int writers_left;

struct writer {
	pthread_t th;
	int id;
	unsigned int seed;
	uint64_t *last;		/* last value stored per page (0 = never) */
	int done;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	int i;

	for (i = 1; i <= WRITES; i++) {
		int pg = (int)(rand_r(&w->seed) % (NPG / NWRITERS)) * NWRITERS + w->id;
		uint64_t v = ((uint64_t)(w->id + 1) << 56) | (uint64_t)i;

		*(volatile uint64_t *)(area + (size_t)pg * PAGE + 8 * w->id) = v;
		w->last[pg] = v;
	}
	w->done = 1;
	__atomic_sub_fetch(&writers_left, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

struct toggler {
	pthread_t th;
	unsigned int seed;
	int calls, errors, last_err;
};

static void *toggler_fn(void *arg)
{
	struct toggler *t = arg;
	int i;

	for (i = 0; i < TOGGLES && __atomic_load_n(&writers_left, __ATOMIC_SEQ_CST); i++) {
		int n = 1 + (int)(rand_r(&t->seed) % 64);
		int s = (int)(rand_r(&t->seed) % (unsigned int)(NPG - n));
		int r = uffd_wp(uffd, area + (size_t)s * PAGE, (size_t)n * PAGE, i & 1);

		t->calls++;
		if (r) {
			t->errors++;
			t->last_err = r;
		}
		if (!(i % 8))
			u_sleep_ms(1);
	}
	return NULL;
}

int main(void)
{
	struct writer w[NWRITERS];
	struct toggler tg = { .seed = 12345 };
	struct uh h;
	uint64_t *last;
	char buf[160] = "";
	int i, j, n, bad, stray, badpg = -1, written, per_ok;
	long long t0;

	t_prog = "wp_threads";
	u_watchdog(240);
	env = u_env_get();
	if (!env.holes) {
		t_skip("all", NO_HOLES_REASON);
		return t_exit();
	}
	u_current = "setup";
	uffd = uffd_new(FEATURES);
	area = map_anon(LEN);
	last = calloc(NPG, sizeof(*last));
	if (uffd < 0 || !area || !last || uffd_register_wp(uffd, area, LEN)) {
		t_fail("setup", "uffd %d: %s", uffd, strerror(errno));
		return t_exit();
	}
	/* a few populated pages among the holes */
	for (i = 0; i < NPG; i += 97)
		area[(size_t)i * PAGE + PAGE - 1] = 0x5c;
	if (uffd_wp(uffd, area, LEN, 1)) {
		t_fail("setup", "protect: %s", strerror(errno));
		return t_exit();
	}
	if (uh_start(&h, uffd, 1, UH_MISSING_NONE)) {
		t_fail("setup", "handler thread");
		return t_exit();
	}
	t_pass("setup");

	u_current = "run";
	t0 = u_now_ms();
	writers_left = NWRITERS;
	for (i = 0; i < NWRITERS; i++) {
		w[i] = (struct writer){ .id = i, .seed = 1000u + (unsigned int)i, .last = last };
		if (pthread_create(&w[i].th, NULL, writer_fn, &w[i])) {
			t_fail("run", "pthread_create");
			return t_exit();
		}
	}
	if (pthread_create(&tg.th, NULL, toggler_fn, &tg)) {
		t_fail("run", "pthread_create");
		return t_exit();
	}
	for (i = 0; i < NWRITERS; i++)
		pthread_join(w[i].th, NULL);
	pthread_join(tg.th, NULL);
	fprintf(stderr, "wp_threads: %d writes in %lld ms, %d messages, %d toggles\n",
		NWRITERS * WRITES, u_now_ms() - t0, uh_count(&h), tg.calls);
	t_pass("run-no-hang");
	T_CHECK("run-toggles-ok", tg.errors == 0, "%d of %d UFFDIO_WRITEPROTECT calls failed: %s",
		tg.errors, tg.calls, strerror(-tg.last_err));
	T_CHECK("run-handler-ok", h.nerr == 0, "%s", h.err);

	/* every message is a WP write fault on a page of the range */
	n = uh_count(&h);
	stray = 0;
	for (i = 0; i < n && i < UH_MAX_MSGS; i++) {
		struct uffd_msg m = uh_msg(&h, i);
		uintptr_t a = (uintptr_t)m.arg.pagefault.address;

		if (m.event != UFFD_EVENT_PAGEFAULT || m.arg.pagefault.flags != WP_WRITE_FLAGS ||
		    a < (uintptr_t)area || a >= (uintptr_t)area + LEN || (a & (PAGE - 1))) {
			stray++;
			msg_str(&m, buf, sizeof(buf));
		}
	}
	T_CHECK("run-messages-wp-in-range", n > 0 && !stray,
		"%d messages, %d not WP writes in range (%s)", n, stray, buf);

	/* every store landed; nothing else changed */
	bad = 0;
	written = 0;
	for (i = 0; i < NPG && !bad; i++) {
		const char *pg = area + (size_t)i * PAGE;
		int owner = i % NWRITERS;

		if (last[i])
			written++;
		if (*(const uint64_t *)(pg + 8 * owner) != last[i])
			bad = 1;
		for (j = 0; j < (int)PAGE && !bad; j++) {
			if (j >= 8 * owner && j < 8 * owner + 8)
				continue;
			if (pg[j] != ((j == (int)PAGE - 1 && !(i % 97)) ? 0x5c : 0))
				bad = 1;
		}
		if (bad)
			badpg = i;
	}
	T_CHECK("contents", !bad, "page %d: value %#llx, want %#llx", badpg,
		badpg >= 0 ? (unsigned long long)*(uint64_t *)(area + (size_t)badpg * PAGE +
							       8 * (badpg % NWRITERS)) : 0ULL,
		badpg >= 0 ? (unsigned long long)last[badpg] : 0ULL);

	/* quiet again: protect all, one write per written page -> one message each */
	u_current = "final";
	uh_reset(&h);
	if (uffd_wp(uffd, area, LEN, 1)) {
		t_fail("final", "protect: %s", strerror(errno));
	} else {
		int want = 0;

		for (i = 0; i < NPG; i += 31) {
			area[(size_t)i * PAGE + 100] = 1;
			want++;
		}
		n = uh_wait(&h, want + 1, 300);
		per_ok = n == want;
		for (i = 0, j = 0; per_ok && i < n; i++) {
			struct uffd_msg m = uh_msg(&h, i);

			if (!msg_is_wp_write(&m, area + (size_t)j * PAGE))
				per_ok = 0;
			j += 31;
		}
		T_CHECK("final-one-message-per-page", per_ok,
			"%d messages for %d page writes", n, want);
	}
	uh_stop(&h);
	close(uffd);
	munmap(area, LEN);
	return t_exit();
}
