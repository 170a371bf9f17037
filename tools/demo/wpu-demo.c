// SPDX-License-Identifier: GPL-2.0
/*
 * What uffd-wpu changes, in one screen: write-protect a range of untouched
 * anonymous pages, write every page from another thread, and count how many
 * writes the userfaultfd saw.  Without UFFD_FEATURE_WP_UNPOPULATED none are
 * seen (a live snapshot would silently miss them); with it, every one is.
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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#define FEAT_WP_UNPOPULATED (1ULL << 13)
#define NPAGES 256

static long psize;
static char *area;
static int uffd;

static void *writer(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < NPAGES; i++)
		area[i * psize] = 1;
	return NULL;
}

static int wp(unsigned long start, unsigned long len, int on)
{
	struct uffdio_writeprotect w = {
		.range = { .start = start, .len = len },
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(uffd, UFFDIO_WRITEPROTECT, &w);
}

/* Returns the number of writes caught, or -1 if the setup failed. */
static int run(unsigned long long features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	struct pollfd pfd = { .events = POLLIN };
	struct uffd_msg msg;
	int caught = 0;
	pthread_t t;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api))
		return -1;
	area = mmap(NULL, NPAGES * psize, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(area, NPAGES * psize, MADV_NOHUGEPAGE);
	reg.range.start = (uintptr_t)area;
	reg.range.len = NPAGES * psize;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) ||
	    wp((uintptr_t)area, NPAGES * psize, 1))
		return -1;

	pthread_create(&t, NULL, writer, NULL);
	pfd.fd = uffd;
	while (poll(&pfd, 1, 1000) == 1) {
		if (read(uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event == UFFD_EVENT_PAGEFAULT &&
		    (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP)) {
			caught++;	/* a snapshot would save the page here */
			wp(msg.arg.pagefault.address & ~(psize - 1), psize, 0);
		}
	}
	pthread_join(t, NULL);
	munmap(area, NPAGES * psize);
	close(uffd);
	return caught;
}

int main(void)
{
	int module = access("/sys/kernel/uffd_wpu", F_OK) == 0;
	struct utsname u;
	int plain, holes;

	psize = sysconf(_SC_PAGESIZE);
	uname(&u);
	printf("\n  kernel %s, uffd_wpu module %s\n", u.release,
	       module ? "loaded" : "not loaded");
	plain = run(0);
	printf("  plain UFFDIO_WRITEPROTECT of %d untouched pages, then a write to each:\n"
	       "      writes caught: %d of %d%s\n", NPAGES, plain, NPAGES,
	       plain == 0 ? "   <- a live snapshot would miss every one" : "");
	holes = run(FEAT_WP_UNPOPULATED);
	if (holes < 0)
		printf("  UFFD_FEATURE_WP_UNPOPULATED: not offered (%s)\n",
		       strerror(errno));
	else
		printf("  with UFFD_FEATURE_WP_UNPOPULATED:\n"
		       "      writes caught: %d of %d%s\n", holes, NPAGES,
		       holes == NPAGES ? "   <- every write seen before it landed" : "");
	printf("\n");
	return 0;
}
