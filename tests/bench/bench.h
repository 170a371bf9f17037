/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the benchmark programs of tests/bench/ (static, one
 * file each); the includer defines BENCH_PROG, its name in messages.
 */
#ifndef WPU_BENCH_H
#define WPU_BENCH_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../progs/t.h"	/* t_write_line(): stdout and the results port */

static int failed;	/* a check failed: exit status 1 */

/*
 * A BENCH/SCAN result line (with its newline): on stdout and, in one
 * write(), on the guest's results port, where no kernel message can split
 * it (tests/lib-vm.sh).
 */
static __attribute__((format(printf, 1, 2))) void bench_line(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(line)) {
		fflush(stdout);
		t_write_line(line, (size_t)n);
	}
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, BENCH_PROG ": ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	failed = 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif /* WPU_BENCH_H */
