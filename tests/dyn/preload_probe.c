// SPDX-License-Identifier: GPL-2.0
/*
 * preload_probe: an "unmodified" dynamically linked userfaultfd program for
 * tests/guest/60-preload.sh.  It knows nothing of uffd-wpu: it asks
 * UFFDIO_API for UFFD_FEATURE_WP_UNPOPULATED (bit 13) with glibc's ioctl()
 * and, if granted, write-protects an untouched page and writes to it.
 *
 *   preload_probe           in this process
 *   preload_probe --fork    in a fork() child (no exec: a new mm)
 *   preload_probe --errors  error paths through ioctl() keep their errno
 *
 * Last line: "RESULT api=ok hole=wp|none", "RESULT api=<ERRNO>", or
 * "RESULT api=ignored" (success, but the reply lacks bit 13: 6.0.y's way
 * to refuse; a careful program checks, as QEMU does), or for --errors
 * "RESULT errors=ok|bad".  Exit status: 0 bit 13 granted and the
 * write faulted (--errors: all as expected), 1 UFFDIO_API refused, 2
 * granted but the write did not fault, 3 any other failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/userfaultfd.h>

#define BIT13	(1ULL << 13)
#define PAGE	4096UL

static const char *ename(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case EPERM: return "EPERM";
	case EFAULT: return "EFAULT";
	case EBADF: return "EBADF";
	case ENOTTY: return "ENOTTY";
	case ENOSYS: return "ENOSYS";
	default: return "other";
	}
}

static int written;

static void *writer(void *p)
{
	*(volatile char *)p = 0x5a;
	__atomic_store_n(&written, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int probe(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = BIT13 };
	struct uffdio_register reg;
	struct uffdio_writeprotect wp;
	struct uffd_msg msg;
	struct pollfd pfd;
	pthread_t t;
	char *p;
	int fd, faulted = 0, tries;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		printf("preload_probe: userfaultfd: %s\nRESULT api=%s\n", strerror(errno),
		       ename(errno));
		return 3;
	}
	if (ioctl(fd, UFFDIO_API, &api)) {
		printf("preload_probe: UFFDIO_API(WP_UNPOPULATED): %s\nRESULT api=%s\n",
		       strerror(errno), ename(errno));
		return 1;
	}
	printf("preload_probe: UFFDIO_API(WP_UNPOPULATED): ok, features %#llx\n",
	       (unsigned long long)api.features);
	if (!(api.features & BIT13)) {
		printf("RESULT api=ignored\n");
		return 1;
	}

	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 3;
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)p;
	reg.range.len = PAGE;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	memset(&wp, 0, sizeof(wp));
	wp.range = reg.range;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	if (ioctl(fd, UFFDIO_REGISTER, &reg) || ioctl(fd, UFFDIO_WRITEPROTECT, &wp)) {
		printf("preload_probe: register/protect: %s\n", strerror(errno));
		return 3;
	}
	if (pthread_create(&t, NULL, writer, p))
		return 3;
	pfd.fd = fd;
	pfd.events = POLLIN;
	/*
	 * Until the message comes or the write lands (20 s at most): a
	 * writer that a loaded TCG host has not run yet is neither.
	 */
	for (tries = 0; tries < 100; tries++) {
		if (poll(&pfd, 1, 200) == 1 ||
		    __atomic_load_n(&written, __ATOMIC_SEQ_CST))
			break;
	}
	if (poll(&pfd, 1, 0) == 1 && read(fd, &msg, sizeof(msg)) == sizeof(msg) &&
	    msg.event == UFFD_EVENT_PAGEFAULT &&
	    (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP))
		faulted = 1;
	wp.mode = 0;	/* unprotect and wake the writer */
	ioctl(fd, UFFDIO_WRITEPROTECT, &wp);
	pthread_join(t, NULL);
	printf("preload_probe: write into a protected hole: %s, byte %#x\nRESULT api=ok hole=%s\n",
	       faulted ? "WP fault" : "no fault", (unsigned char)p[0],
	       faulted ? "wp" : "none");
	return faulted && p[0] == 0x5a ? 0 : 2;
}

/* ioctl() through the shim must fail exactly as without it. */
static int errors(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = BIT13 };
	int ok = 1, r, fd, nul, e;

	/* errno is saved at once: printf() may change it */
	errno = 0;
	r = ioctl(-1, UFFDIO_API, &api);
	e = errno;
	printf("preload_probe: UFFDIO_API on fd -1: %d %s\n", r, ename(e));
	ok &= r == -1 && e == EBADF;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	errno = 0;
	r = ioctl(fd, UFFDIO_API, (void *)16);
	e = errno;
	printf("preload_probe: UFFDIO_API with a bad pointer: %d %s\n", r, ename(e));
	ok &= fd >= 0 && r == -1 && e == EFAULT;
	close(fd);

	nul = open("/dev/null", O_RDONLY);
	errno = 0;
	r = ioctl(nul, TCGETS, &api);
	e = errno;
	printf("preload_probe: TCGETS on /dev/null: %d %s\n", r, ename(e));
	ok &= r == -1 && e == ENOTTY;
	close(nul);
	printf("RESULT errors=%s\n", ok ? "ok" : "bad");
	return ok ? 0 : 3;
}

int main(int argc, char **argv)
{
	int st;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "--errors"))
		return errors();
	if (argc > 1 && !strcmp(argv[1], "--fork")) {
		pid = fork();
		if (pid < 0)
			return 3;
		if (!pid)
			_exit(probe());
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
			return 3;
		return WEXITSTATUS(st);
	}
	return probe();
}
