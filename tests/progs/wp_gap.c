// SPDX-License-Identifier: GPL-2.0
/*
 * wp_gap: the gap uffd_wpu closes.
 *
 * (a) Plain uffd-wp (no WP_UNPOPULATED): protecting a never-touched page
 *     does nothing; a write lands silently.  True on every kernel, native
 *     6.12 included, when the context did not ask for bit 13.
 * (b) With WP_UNPOPULATED: the same write is stopped by a WP message
 *     (flags WP|WRITE, the page's address) before the byte lands.
 */
#include "uffd_util.h"

static struct u_env env;

/*
 * Write val to page p from a thread while watching uffd.  Returns the
 * number of messages (0/1, -1 on a hang); *m, *seen (byte while blocked),
 * *still_blocked (writer not done when the message came).
 */
static int write_watch(int uffd, char *p, char val, int timeout_ms,
		       struct uffd_msg *m, char *seen, int *still_blocked)
{
	struct accessor a;
	int r, n = 0;

	if (accessor_start(&a, p, ACC_WRITE, val))
		return -1;
	r = uffd_read_msg(uffd, m, timeout_ms);
	if (r == 1) {
		n = 1;
		*still_blocked = !__atomic_load_n(&a.done, __ATOMIC_SEQ_CST);
		*seen = *(volatile char *)p;
		/* let the writer go */
		uffd_wp(uffd, p, PAGE, 0);
	} else if (r < 0) {
		fprintf(stderr, "read msg: %s\n", strerror(-r));
	}
	if (accessor_join(&a, 10000))
		return -1;
	return n;
}

static void part_a(void)
{
	struct uffd_msg m;
	char seen = 0, buf[160];
	int blocked = 0, n, uffd;
	char *p;

	u_current = "plain";
	uffd = uffd_new(0);
	p = map_anon(2 * PAGE);
	if (uffd < 0 || !p) {
		t_fail("plain-setup", "uffd_new(0): %d, mmap %p", uffd, (void *)p);
		return;
	}
	if (uffd_register_wp(uffd, p, 2 * PAGE) || uffd_wp(uffd, p, 2 * PAGE, 1)) {
		t_fail("plain-setup", "register/protect: %s", strerror(errno));
		return;
	}
	t_pass("plain-setup");

	/* hole: no message within 300 ms, byte lands */
	n = write_watch(uffd, p, 0x5a, 300, &m, &seen, &blocked);
	T_CHECK("plain-hole-write-silent", n == 0,
		"n=%d %s", n, n > 0 ? msg_str(&m, buf, sizeof(buf)) : "");
	T_CHECK("plain-hole-write-lands", n >= 0 && p[0] == 0x5a,
		"byte is %#x", (unsigned char)p[0]);

	/* control: a populated page is protected by plain uffd-wp */
	p[PAGE] = 1;
	if (uffd_wp(uffd, p + PAGE, PAGE, 1)) {
		t_fail("plain-populated-control", "protect: %s", strerror(errno));
	} else {
		n = write_watch(uffd, p + PAGE, 0x6b, 5000, &m, &seen, &blocked);
		T_CHECK("plain-populated-control",
			n == 1 && msg_is_wp_write(&m, p + PAGE) && blocked && seen == 1 &&
			p[PAGE] == 0x6b,
			"n=%d %s blocked=%d seen=%#x final=%#x", n,
			n > 0 ? msg_str(&m, buf, sizeof(buf)) : "", blocked,
			(unsigned char)seen, (unsigned char)p[PAGE]);
	}
	close(uffd);
	munmap(p, 2 * PAGE);
}

static void part_b(void)
{
	struct uffd_msg m;
	char seen = 0x7f, buf[160];
	int blocked = 0, n, uffd;
	uint64_t f = 0;
	char *p;

	u_current = "holes";
	uffd = uffd_open();
	if (uffd < 0) {
		t_fail("holes-api", "userfaultfd: %s", strerror(-uffd));
		return;
	}
	n = uffd_api(uffd, UFFD_FEATURE_WP_UNPOPULATED, &f);
	if (n && !env.holes) {
		T_CHECK("holes-api-refused-when-unoffered", n == -EINVAL,
			"UFFDIO_API(WP_UNPOPULATED) = %s, expected EINVAL", strerror(-n));
		t_skip("holes-write-faults", NO_HOLES_REASON);
		close(uffd);
		return;
	}
	if (n) {
		t_fail("holes-api", "bit 13 advertised but UFFDIO_API(WP_UNPOPULATED) = %s",
		       strerror(-n));
		close(uffd);
		return;
	}
	T_CHECK("holes-api", f & UFFD_FEATURE_WP_UNPOPULATED,
		"features returned %#llx", (unsigned long long)f);

	p = map_anon(PAGE);
	if (!p || uffd_register_wp(uffd, p, PAGE) || uffd_wp(uffd, p, PAGE, 1)) {
		t_fail("holes-setup", "mmap/register/protect: %s", strerror(errno));
		return;
	}
	n = write_watch(uffd, p, 0x5a, 10000, &m, &seen, &blocked);
	if (n == 0)
		t_fail("holes-write-faults",
		       "bit 13 %s, but the write into a protected hole was silent (byte %#x)",
		       env.holes ? "advertised" : "granted", (unsigned char)p[0]);
	else
		T_CHECK("holes-write-faults", n == 1 && msg_is_wp_write(&m, p),
			"n=%d %s (want flags %#x addr %p)", n,
			n > 0 ? msg_str(&m, buf, sizeof(buf)) : "", WP_WRITE_FLAGS, (void *)p);
	if (n == 1) {
		T_CHECK("holes-writer-blocked", blocked,
			"writer finished before the message was handled");
		T_CHECK("holes-byte-not-landed-before-resolve", seen == 0,
			"byte %#x while the writer waited", (unsigned char)seen);
	}
	T_CHECK("holes-byte-lands-after-resolve", n >= 0 && p[0] == 0x5a,
		"byte is %#x", (unsigned char)p[0]);
	close(uffd);
	munmap(p, PAGE);
}

int main(void)
{
	t_prog = "wp_gap";
	u_watchdog(120);
	env = u_env_get();
	part_a();
	part_b();
	return t_exit();
}
