// SPDX-License-Identifier: GPL-2.0
/*
 * The process tests/guest/80-criu.sh dumps and restores with CRIU.
 *
 *   criu_victim DIR
 *
 * Sets up memory of every kind CRIU's page dumper tells apart, then waits:
 *   anon   64 pages: 0-23 written, 24-31 written then paged out (swap),
 *          32-47 read only (the zero page), 48-63 never touched;
 *   file   a MAP_PRIVATE mapping of DIR/victim.dat (8 pages of a known
 *          pattern): 0-1 written (private copies), 2-5 read, 6-7 untouched;
 *   thp    8 MiB, MADV_HUGEPAGE, 2 MiB aligned: the first 2 MiB fully
 *          written, one byte of the second, the third read only (the huge
 *          zero page, unless THP's use_zero_page is 0: then a zeroed THP),
 *          the fourth never touched.
 * Then it writes its pid to DIR/ready, the address of the read-only THP
 * block to DIR/hzp, and waits for signals.  SIGUSR1: check every page
 * (contents, zero pages still zero, the file pages still the file's, the
 * untouched pages still absent in /proc/self/pagemap: they are not read,
 * so that they stay untouched) and write "ok" or "bad <what>" to
 * DIR/result.  SIGTERM: exit 0.  Nothing of its memory changes while it
 * waits, so two dumps of it give the same page images -- except its stack
 * and TLS after a SIGUSR1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define PG 4096UL
#define HUGE (2UL << 20)
#define ANON_PAGES 64
#define FILE_PAGES 8
#define THP_SIZE (4 * HUGE)

static const char *dir;
static unsigned char *anon, *file, *thp;
static volatile sig_atomic_t got_usr1, got_term;
static volatile unsigned long sink;

static unsigned char pat(unsigned long region, unsigned long off)
{
	return (unsigned char)(region * 131 + off * 7 + off / PG * 13 + 1);
}

static void fill(unsigned char *p, unsigned long len, unsigned long region,
		 unsigned long base)
{
	unsigned long i;

	for (i = 0; i < len; i++)
		p[i] = pat(region, base + i);
}

static int same(const unsigned char *p, unsigned long len, unsigned long region,
		unsigned long base)
{
	unsigned long i;

	for (i = 0; i < len; i++)
		if (p[i] != pat(region, base + i))
			return 0;
	return 1;
}

static int zero(const unsigned char *p, unsigned long len)
{
	unsigned long i;

	for (i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

static void touch_read(const unsigned char *p, unsigned long len)
{
	unsigned long i;

	for (i = 0; i < len; i += PG)
		sink += p[i];
}

static void put(const char *name, const char *text)
{
	char path[512], tmp[520];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		perror(path);
		exit(2);
	}
}

/* No page of [p, p + len) is present or swapped (pagemap bits 63, 62). */
static int untouched(const unsigned char *p, unsigned long len)
{
	uint64_t e[512];
	unsigned long i, n;
	int fd, ok = 1;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return 0;
	for (i = 0; i < len / PG && ok; i += n) {
		unsigned long j;

		n = len / PG - i;
		if (n > 512)
			n = 512;
		if (pread(fd, e, n * 8, ((unsigned long)p / PG + i) * 8) !=
		    (ssize_t)(n * 8)) {
			ok = 0;
			break;
		}
		for (j = 0; j < n; j++)
			if (e[j] >> 62)
				ok = 0;
	}
	close(fd);
	return ok;
}

/* The first failing check, as "bad <what>", or "ok". */
static const char *verify(void)
{
	static char why[128];
	unsigned long i;

	for (i = 0; i < 32; i++)
		if (!same(anon + i * PG, PG, 1, i * PG)) {
			snprintf(why, sizeof(why), "bad anon written page %lu", i);
			return why;
		}
	for (i = 32; i < 48; i++)
		if (!zero(anon + i * PG, PG)) {
			snprintf(why, sizeof(why), "bad anon zero page %lu", i);
			return why;
		}
	if (!untouched(anon + 48 * PG, 16 * PG))
		return "bad anon untouched pages present";
	for (i = 0; i < 2; i++)
		if (!same(file + i * PG, PG, 3, i * PG)) {
			snprintf(why, sizeof(why), "bad file written page %lu", i);
			return why;
		}
	for (i = 2; i < 6; i++)
		if (!same(file + i * PG, PG, 2, i * PG)) {
			snprintf(why, sizeof(why), "bad file page %lu", i);
			return why;
		}
	if (!same(thp, HUGE, 4, 0))
		return "bad thp written 2 MiB";
	if (thp[HUGE] != 0x5a || !zero(thp + HUGE + 1, HUGE - 1))
		return "bad thp second 2 MiB";
	if (!zero(thp + 2 * HUGE, HUGE))
		return "bad thp read-only 2 MiB";
	if (!untouched(thp + 3 * HUGE, HUGE))
		return "bad thp untouched 2 MiB present";
	return "ok";
}

static void on_sig(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
}

static void *map_anon(unsigned long len, unsigned long align)
{
	unsigned char *p;
	unsigned long a;

	p = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	if (!align)
		return p;
	a = ((unsigned long)p + align - 1) & ~(align - 1);
	if (a > (unsigned long)p)
		munmap(p, a - (unsigned long)p);
	munmap((void *)(a + len), (unsigned long)p + align - a);
	return (void *)a;
}

static void setup(void)
{
	unsigned char buf[FILE_PAGES * PG];
	char path[512];
	int fd;

	anon = map_anon(ANON_PAGES * PG, 0);
	fill(anon, 32 * PG, 1, 0);
	/* Best effort: without swap the pages just stay present. */
	madvise(anon + 24 * PG, 8 * PG, MADV_PAGEOUT);
	touch_read(anon + 32 * PG, 16 * PG);

	snprintf(path, sizeof(path), "%s/victim.dat", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	fill(buf, sizeof(buf), 2, 0);
	if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		perror(path);
		exit(2);
	}
	file = mmap(NULL, FILE_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		    fd, 0);
	if (file == MAP_FAILED) {
		perror("mmap file");
		exit(2);
	}
	close(fd);
	fill(file, 2 * PG, 3, 0);
	touch_read(file + 2 * PG, 4 * PG);

	thp = map_anon(THP_SIZE, HUGE);
	madvise(thp, THP_SIZE, MADV_HUGEPAGE);
	fill(thp, HUGE, 4, 0);
	thp[HUGE] = 0x5a;
	touch_read(thp + 2 * HUGE, HUGE);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t none, block;
	char buf[32];

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&none);

	setup();
	/*
	 * sigsuspend() only ever returns -1/EINTR: with errno (in the TLS
	 * page, which CRIU dumps) already EINTR, a return between two dumps
	 * changes no byte.
	 */
	errno = EINTR;
	fprintf(stderr, "victim %d: anon %p file %p thp %p brk %p errno at %p stack %p\n",
		(int)getpid(), anon, file, thp, sbrk(0), (void *)&errno,
		(void *)buf);
	snprintf(buf, sizeof(buf), "%lx\n", (unsigned long)thp + 2 * HUGE);
	put("hzp", buf);
	snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	put("ready", buf);
	while (!got_term) {
		sigsuspend(&none);
		if (got_usr1) {
			got_usr1 = 0;
			put("result", verify());
		}
	}
	return 0;
}
