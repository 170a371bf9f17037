// SPDX-License-Identifier: GPL-2.0
/*
 * Module lifetime: rmmod must be refused while any mm may hold a protected
 * hole (a context that negotiated WP_UNPOPULATED, an opted-in mm, a fork
 * child that inherited either) and must succeed once they are gone.  The
 * module is reloaded at the end.  Native kernels have no module: SKIP.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <linux/uffd-wpu.h>

#include "t.h"
#include "uffd_util.h"

#define FEAT_WPU (1ULL << 13)

static int module_loaded(void)
{
	char line[256];
	FILE *f = fopen("/proc/modules", "r");
	int found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "uffd_wpu ", 9))
			found = 1;
	fclose(f);
	return found;
}

static int rmmod(void)
{
	return system("rmmod uffd_wpu 2>/dev/null") == 0;
}

/* A uffd with bit 13 (and @extra) and one protected hole; returns the fd. */
static int protect_hole(unsigned long long extra)
{
	struct uffdio_api api = { .api = UFFD_API, .features = FEAT_WPU | extra };
	long ps = sysconf(_SC_PAGESIZE);
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC);
	char *p;

	if (fd < 0 || ioctl(fd, UFFDIO_API, &api))
		return -1;
	p = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	reg.range.start = wp.range.start = (uintptr_t)p;
	reg.range.len = wp.range.len = ps;
	if (ioctl(fd, UFFDIO_REGISTER, &reg) || ioctl(fd, UFFDIO_WRITEPROTECT, &wp))
		return -1;
	return fd;
}

/* Run @fn in a child that reports readiness, then waits for its pipe to close. */
static pid_t holder(int (*fn)(void), int *release)
{
	int ready[2], go[2];
	char c = 0;
	pid_t pid;

	if (pipe(ready) || pipe(go))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(go[1]);
		c = fn() ? 'n' : 'y';
		if (write(ready[1], &c, 1) != 1 || c != 'y')
			_exit(1);
		(void)read(go[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], &c, 1) != 1 || c != 'y') {
		close(go[1]);
		waitpid(pid, NULL, 0);
		return -1;
	}
	close(ready[0]);
	*release = go[1];
	return pid;
}

static int hold_ctx(void)
{
	return protect_hole(0) < 0;
}

static int hold_optin(void)
{
	struct uffd_wpu_optin o = { .size = sizeof(o) };
	int dev = open(UFFD_WPU_DEVICE, O_RDWR | O_CLOEXEC);

	return dev < 0 || ioctl(dev, UFFD_WPU_IOC_OPTIN, &o);
}

/* EVENT_FORK: read the fork event so that fork() can complete. */
static void *event_reader(void *arg)
{
	struct pollfd pfd = { .fd = *(int *)arg, .events = POLLIN };
	struct uffd_msg msg;

	if (poll(&pfd, 1, 10000) == 1 && read(pfd.fd, &msg, sizeof(msg)) == sizeof(msg))
		return (void *)(long)(msg.event == UFFD_EVENT_FORK);
	return NULL;
}

/* Pid of a grandchild that outlives its parent, shared with the test. */
static volatile pid_t *grandchild;

/*
 * Protect a hole with EVENT_FORK and fork a grandchild that keeps the
 * copied hole and sleeps; the holder itself exits first, so the module
 * must then stay pinned by the grandchild's mm alone.
 */
static int hold_fork_child(void)
{
	int fd = protect_hole(UFFD_FEATURE_EVENT_FORK);
	pthread_t t;
	void *forked;
	pid_t pid;

	if (fd < 0 || pthread_create(&t, NULL, event_reader, &fd))
		return 1;
	pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	pthread_join(t, &forked);
	*grandchild = pid;
	return pid < 0 || !forked;
}

static void check_pin(const char *name, int (*fn)(void))
{
	int release, refused, orphan_refused = 1, freed;
	pid_t pid;

	*grandchild = 0;
	pid = holder(fn, &release);
	if (pid < 0) {
		t_fail(name, "holder process could not set up");
		return;
	}
	refused = !rmmod() && module_loaded();
	close(release);
	waitpid(pid, NULL, 0);
	if (*grandchild > 0) {
		orphan_refused = !rmmod() && module_loaded();
		kill(*grandchild, SIGKILL);
	}
	if (!refused || !orphan_refused) {
		t_fail(name, "rmmod succeeded while %s held the feature",
		       refused ? "a fork child alone" : "a process");
		if (system("insmod /uffd_wpu.ko") != 0)
			t_fail("reload", "insmod /uffd_wpu.ko failed");
		return;
	}
	freed = u_rmmod_eventually();
	T_CHECK(name, freed, "rmmod still refused 5 s after the holders exited");
	if (system("insmod /uffd_wpu.ko") != 0)
		t_fail("reload", "insmod /uffd_wpu.ko failed");
}

/*
 * A page-table allocation failure while protecting holes must fail
 * UFFDIO_WRITEPROTECT with ENOMEM, as 6.4+ does, never report success.
 * The module's fail_protect knob (root) injects the failure.
 */
static void check_enomem(void)
{
	const char *knob = "/sys/module/uffd_wpu/parameters/fail_protect";
	struct uffdio_api api = { .api = UFFD_API, .features = FEAT_WPU };
	long len = 4L << 20;
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC), r, e;
	FILE *f;
	char *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || p == MAP_FAILED || ioctl(fd, UFFDIO_API, &api)) {
		t_fail("protect-enomem", "setup: %s", strerror(errno));
		return;
	}
	reg.range.start = wp.range.start = (uintptr_t)p;
	reg.range.len = wp.range.len = len;
	f = fopen(knob, "w");
	if (!f || fprintf(f, "1\n") < 0 || fclose(f)) {
		t_fail("protect-enomem", "cannot write %s", knob);
		return;
	}
	r = ioctl(fd, UFFDIO_REGISTER, &reg) ? -1 : ioctl(fd, UFFDIO_WRITEPROTECT, &wp);
	e = errno;
	T_CHECK("protect-enomem", r == -1 && e == ENOMEM,
		"UFFDIO_WRITEPROTECT returned %d (%s), want -1 ENOMEM", r, strerror(e));
	/* The knob is used up: the same call now succeeds. */
	r = ioctl(fd, UFFDIO_WRITEPROTECT, &wp);
	T_CHECK("protect-after-enomem", r == 0, "retry failed: %s", strerror(errno));
	close(fd);
	munmap(p, len);
}

int main(void)
{
	t_prog = "wp_lifetime";
	alarm(120);
	if (access("/sys/kernel/uffd_wpu", F_OK)) {
		t_skip("all", "no uffd_wpu module (native kernel or not loaded)");
		return 0;
	}
	grandchild = mmap(NULL, sizeof(*grandchild), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (grandchild == MAP_FAILED) {
		t_fail("setup", "mmap: %s", strerror(errno));
		return t_exit();
	}
	if (!u_rmmod_eventually() || system("insmod /uffd_wpu.ko") != 0) {
		t_fail("idle-unload", "rmmod/insmod of an unused module failed");
		return t_exit();
	}
	t_pass("idle-unload");
	/* In a child: an mm that negotiated bit 13 pins the module until exit. */
	if (fork() == 0) {
		check_enomem();
		_exit(t_exit());
	}
	wait(NULL);
	check_pin("pinned-by-context", hold_ctx);
	check_pin("pinned-by-optin", hold_optin);
	check_pin("pinned-by-fork-child", hold_fork_child);
	return t_exit();
}
