// SPDX-License-Identifier: GPL-2.0
/*
 * Tasks that sleep for user space inside a hooked function, and the module's
 * load and unload around them.
 *
 * Without arguments (a test program like the others, every kernel): park
 * one task in fork() with UFFD_FEATURE_EVENT_FORK (the fork waits until the
 * monitor reads the event) and one in UFFDIO_API whose argument lies in a
 * page of another userfaultfd (the ioctl's copy_from_user() waits for that
 * monitor), then let the monitor run: both calls complete as on a stock
 * kernel, and the module's reference count is what it was before.
 *
 * With arguments, the helpers of tests/guest/15-loadfail.sh and
 * 16-unload-wait.sh:
 * (the loops also end when /tmp/wp_unload.stop exists):
 *   pagemap SECS          open, read and PAGEMAP_SCAN /proc/self/pagemap in
 *                         a loop, keeping the last files open for a while
 *   forker SECS DELAY_MS  fork in a loop with EVENT_FORK; the monitor reads
 *                         each event DELAY_MS after it is pending
 *   park fork|api         park one task as above until SIGUSR1, then let the
 *                         monitor run; exit 0 iff the call completed right
 *   wpcheck               a context gets WP_UNPOPULATED and a protected
 *                         hole shows as write-protected in pagemap
 */
#include "uffd_util.h"

#define NFDS	8

static long long until_ms(const char *secs)
{
	return u_now_ms() + 1000LL * atoi(secs);
}

/* The loops end at their deadline or once this file exists. */
#define STOP_FILE	"/tmp/wp_unload.stop"

static int running(long long end)
{
	return u_now_ms() < end && access(STOP_FILE, F_OK);
}

/* ---- pagemap ---------------------------------------------------------- */

/*
 * Files opened while a load attempt is in progress are used after it
 * failed: a file whose operations were switched to the module's would call
 * freed code here (or when closed).
 */
static int pagemap_loop(long long end)
{
	char *buf = map_anon(4 * PAGE);
	long n_ok = 0, n_notty = 0, n_other = 0;
	int fds[NFDS], i = 0, k;

	if (!buf)
		return 1;
	memset(buf, 1, PAGE);
	for (k = 0; k < NFDS; k++)
		fds[k] = -1;
	while (running(end)) {
		uint64_t ent;
		long r;

		if (fds[i] >= 0) {
			r = pm_scan(fds[i], buf, buf + 4 * PAGE, 0, NULL, 0, 0,
				    0, 0, NULL);
			if (r >= 0)
				n_ok++;
			else if (r == -ENOTTY)
				n_notty++;
			else
				n_other++;
			close(fds[i]);
		}
		fds[i] = pm_open(0);
		if (fds[i] >= 0 &&
		    pread(fds[i], &ent, sizeof(ent),
			  (off_t)((uintptr_t)buf / PAGE * sizeof(ent))) < 0)
			n_other++;
		i = (i + 1) % NFDS;
		/*
		 * Not a busy loop: under QEMU TCG a vCPU that spins through
		 * pagemap_open() while ftrace patches its entry can keep
		 * executing a stale int3 there (soft lockup at
		 * pagemap_open+0x0 with a NOP or CALL in memory).  One open
		 * per millisecond still opens hundreds of files in the window
		 * of every load attempt.
		 */
		u_sleep_ms(1);
	}
	for (k = 0; k < NFDS; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	fprintf(stderr, "unload/pagemap: scans ok %ld, ENOTTY %ld, other %ld\n",
		n_ok, n_notty, n_other);
	return n_other ? 1 : 0;
}

/* ---- a monitor for EVENT_FORK ------------------------------------------ */

struct monitor {
	int uffd;
	int delay_ms;		/* between "pending" and read */
	int hold;		/* wait for SIGUSR1 before the first read */
	int api_fd;		/* park api: uffd whose argument page we fill */
	char *api_page;
	volatile int stop;
	volatile long forks;
	volatile long faults;
	pthread_t th;
};

static void monitor_fault(struct monitor *m, const struct uffd_msg *msg)
{
	char *src = map_anon(PAGE);
	struct uffdio_api *a;
	int64_t copied;

	if (!src)
		return;
	/* The parked UFFDIO_API reads its argument from the start of it. */
	a = (struct uffdio_api *)src;
	a->api = UFFD_API;
	a->features = 0;
	if (uffd_copy(m->uffd, (void *)(uintptr_t)(msg->arg.pagefault.address &
						    ~(PAGE - 1)),
		      src, PAGE, 0, &copied))
		fprintf(stderr, "unload/monitor: UFFDIO_COPY: %s\n",
			strerror(errno));
	munmap(src, PAGE);
	m->faults++;
}

static void *monitor_fn(void *arg)
{
	struct monitor *m = arg;
	sigset_t set;
	int sig;

	if (m->hold) {
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigwait(&set, &sig);
	}
	while (!m->stop) {
		struct pollfd p = { .fd = m->uffd, .events = POLLIN };
		struct uffd_msg msg;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if (m->delay_ms)
			u_sleep_ms(m->delay_ms);
		if (read(m->uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event == UFFD_EVENT_FORK) {
			close((int)msg.arg.fork.ufd);
			m->forks++;
		} else if (msg.event == UFFD_EVENT_PAGEFAULT) {
			monitor_fault(m, &msg);
		}
	}
	return NULL;
}

/*
 * A userfaultfd with EVENT_FORK and one registered page, so that fork()
 * hands a context over and waits for the monitor; NULL on failure.
 */
static char *monitor_start(struct monitor *m, int delay_ms, int hold)
{
	char *p = map_anon(PAGE);

	memset(m, 0, sizeof(*m));
	m->delay_ms = delay_ms;
	m->hold = hold;
	m->uffd = uffd_new(UFFD_FEATURE_EVENT_FORK);
	if (!p || m->uffd < 0) {
		fprintf(stderr, "unload/monitor: userfaultfd: %s\n",
			strerror(m->uffd < 0 ? -m->uffd : errno));
		return NULL;
	}
	if (uffd_register(m->uffd, p, PAGE, UFFDIO_REGISTER_MODE_MISSING) ||
	    pthread_create(&m->th, NULL, monitor_fn, m)) {
		fprintf(stderr, "unload/monitor: register: %s\n",
			strerror(errno));
		return NULL;
	}
	return p;
}

static void monitor_stop(struct monitor *m)
{
	m->stop = 1;
	pthread_join(m->th, NULL);
	close(m->uffd);
}

/* ---- forker ----------------------------------------------------------- */

static int fork_once(void)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (!pid)
		_exit(0);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return -ECHILD;
	return 0;
}

static int forker_loop(long long end, int delay_ms)
{
	struct monitor m;
	long n = 0;
	int r = 0;

	if (!monitor_start(&m, delay_ms, 0))
		return 1;
	while (!r && running(end)) {
		r = fork_once();
		n++;
	}
	monitor_stop(&m);
	fprintf(stderr, "unload/forker: %ld forks, %ld fork events, %s\n", n,
		m.forks, r ? strerror(-r) : "ok");
	return r ? 1 : 0;
}

/* ---- parked calls --------------------------------------------------------- */

/*
 * UFFDIO_API on a new context with its argument at the start of @page, a
 * page of the monitor's context that nothing has touched: the ioctl sleeps
 * in its first access to the argument until the monitor copies it in.
 */
static int park_api(char *page)
{
	int fd = uffd_open();
	int r;

	if (fd < 0)
		return fd;
	r = ioctl(fd, UFFDIO_API, (struct uffdio_api *)page) ? -errno : 0;
	if (!r && ((struct uffdio_api *)page)->api != UFFD_API)
		r = -EPROTO;
	close(fd);
	return r;
}

/* Park, one task, until SIGUSR1 reaches the monitor; 0: completed right. */
static int park(const char *what)
{
	struct monitor m;
	sigset_t set;
	char *page;
	int r;

	/* Only the monitor's sigwait() takes SIGUSR1. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	page = monitor_start(&m, 0, 1);
	if (!page)
		return 1;
	fprintf(stderr, "unload/park: %d parks in %s\n", getpid(), what);
	r = strcmp(what, "api") ? fork_once() : park_api(page);
	monitor_stop(&m);
	fprintf(stderr, "unload/park: %s returned %s\n", what,
		r ? strerror(-r) : "ok");
	return r ? 1 : 0;
}

/* ---- wpcheck ---------------------------------------------------------- */

static int wpcheck(void)
{
	char *p = map_anon(16 * PAGE);
	uint64_t f = 0;
	int fd = uffd_open();

	if (!p || fd < 0 ||
	    uffd_api(fd, UFFD_FEATURE_WP_UNPOPULATED, &f) ||
	    !(f & UFFD_FEATURE_WP_UNPOPULATED) ||
	    uffd_register_wp(fd, p, 16 * PAGE) || uffd_wp(fd, p, 16 * PAGE, 1)) {
		fprintf(stderr, "unload/wpcheck: setup failed: %s\n",
			strerror(errno));
		return 1;
	}
	if (!pm_wp(p + 5 * PAGE)) {
		fprintf(stderr, "unload/wpcheck: protected hole not uffd-wp in pagemap (%#llx)\n",
			(unsigned long long)pagemap(p + 5 * PAGE));
		return 1;
	}
	close(fd);
	return 0;
}

/* ---- standalone ---------------------------------------------------------- */

/* Reference count of uffd_wpu in /proc/modules; -1 if not loaded. */
static int module_refs(void)
{
	FILE *f = fopen("/proc/modules", "re");
	char line[512];
	int refs = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "uffd_wpu %*u %d", &refs) == 1)
			break;
	fclose(f);
	return refs;
}

/* Does /proc/PID/@what of the main thread name a userfaultfd wait? */
static int in_userfault(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	return !u_read_file(path, buf, len) && strstr(buf, "userfault");
}

/*
 * Wait until the main thread of @pid sleeps in a userfaultfd wait.  5.10's
 * wchan is 0 with the ORC unwinder; its stack file tells.
 */
static int parked(pid_t pid, char *wchan, size_t len)
{
	char stack[4096];
	int i;

	for (i = 0; i < 3000; i++) {
		if (in_userfault(pid, "wchan", wchan, len))
			return 1;
		if (in_userfault(pid, "stack", stack, sizeof(stack))) {
			char *f = strstr(stack, "userfault");

			snprintf(wchan, len, "%.*s", (int)strcspn(f, "+\n"), f);
			return 1;
		}
		u_sleep_ms(10);
	}
	return 0;
}

/* Run "park WHAT" in a child; release it once it sleeps in the call. */
/*
 * The reference count once it stops moving (5 s at most): the last
 * reference of a process that has just exited (a test program before this
 * one, a parked child) goes after an SRCU grace period.
 */
static int settled_refs(void)
{
	int refs = module_refs(), same = 0, i;

	for (i = 0; i < 100 && same < 10; i++) {
		int now;

		u_sleep_ms(50);
		now = module_refs();
		same = now == refs ? same + 1 : 0;
		refs = now;
	}
	return refs;
}

static void park_and_release(const char *self, const char *what, int refs0)
{
	char name[64], wchan[128] = "";
	pid_t pid = fork();
	int st = -1, ok;

	snprintf(name, sizeof(name), "park-%s", what);
	if (pid < 0) {
		t_fail(name, "fork: %s", strerror(errno));
		return;
	}
	if (!pid) {
		execl(self, self, "park", what, (char *)NULL);
		_exit(127);
	}
	ok = parked(pid, wchan, sizeof(wchan));
	fprintf(stderr, "unload/%s: parked in '%s', module refs %d -> %d\n",
		name, wchan, refs0, module_refs());
	kill(pid, SIGUSR1);
	if (waitpid(pid, &st, 0) != pid)
		st = -1;
	T_CHECK(name, ok && WIFEXITED(st) && !WEXITSTATUS(st),
		"%s (wchan '%s', exit status %#x)",
		ok ? "call did not complete right" : "never parked", wchan, st);
}

int main(int argc, char **argv)
{
	int refs0, refs;

	t_prog = "unload";
	if (argc >= 3 && !strcmp(argv[1], "pagemap"))
		return pagemap_loop(until_ms(argv[2]));
	if (argc >= 4 && !strcmp(argv[1], "forker"))
		return forker_loop(until_ms(argv[2]), atoi(argv[3]));
	if (argc >= 3 && !strcmp(argv[1], "park"))
		return park(argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "wpcheck"))
		return wpcheck();
	if (argc > 1) {
		fprintf(stderr, "usage: %s [pagemap SECS | forker SECS DELAY_MS | park fork|api | wpcheck]\n",
			argv[0]);
		return 2;
	}

	u_watchdog(120);
	refs0 = settled_refs();
	park_and_release(argv[0], "fork", refs0);
	park_and_release(argv[0], "api", refs0);
	refs = settled_refs();
	T_CHECK("refs-balanced", refs == refs0,
		"uffd_wpu reference count %d after the parked calls, %d before",
		refs, refs0);
	return t_exit();
}
