/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tiny test protocol shared by every in-guest test program.
 *
 * Each check prints exactly one line that the host harness counts:
 *   "@@ PASS <prog>/<name>"
 *   "@@ FAIL <prog>/<name>: <why>"
 *   "@@ SKIP <prog>/<name>: <why>"
 * on stdout (the console) and, if the environment names one (WPU_RESULTS,
 * from the guest's /init: its second serial port), on the results port, in
 * one write(), which the host counts: a kernel message on the console
 * cannot split it there.  Free-form diagnostics go to stderr (also on the
 * console).  The program exits 1 if any check failed, 0 otherwise.
 *
 * The state is one for the whole program (weak definitions: every file
 * that includes this shares them, uffd_util.c too).
 */
#ifndef UFFD_WPU_TEST_H
#define UFFD_WPU_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *t_prog __attribute__((weak)) = "?";
int t_failed __attribute__((weak));
/* The results port: -2 not opened yet, -1 none. */
int t_results_fd __attribute__((weak)) = -2;

/* Open the results port once (before a watchdog may need it). */
static inline int t_results_open(void)
{
	const char *p;

	if (t_results_fd == -2) {
		p = getenv("WPU_RESULTS");
		t_results_fd = p && *p ?
			open(p, O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC) : -1;
	}
	return t_results_fd;
}

/*
 * One protocol line of @n bytes, ending in a newline, to stdout and the
 * results port.  Async-signal-safe once t_results_open() has run.
 */
static inline void t_write_line(const char *line, size_t n)
{
	int fd = t_results_open();

	if (write(1, line, n) < 0 || (fd >= 0 && write(fd, line, n) < 0))
		return;
}

static inline void t_report(const char *verdict, const char *name,
			    const char *fmt, va_list ap)
{
	char why[512] = "", line[1024];
	int n;

	if (fmt)
		vsnprintf(why, sizeof(why), fmt, ap);
	n = snprintf(line, sizeof(line) - 1, "@@ %s %s/%s%s%s", verdict,
		     t_prog, name, fmt ? ": " : "", why);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	fflush(stdout);
	t_write_line(line, (size_t)n);
}

static inline void t_pass(const char *name)
{
	va_list ap;

	t_report("PASS", name, NULL, ap);
}

static inline __attribute__((format(printf, 2, 3)))
void t_fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	t_report("FAIL", name, fmt, ap);
	va_end(ap);
	t_failed = 1;
}

static inline __attribute__((format(printf, 2, 3)))
void t_skip(const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	t_report("SKIP", name, fmt, ap);
	va_end(ap);
}

/* Evaluate a condition; the failure text says what was observed. */
#define T_CHECK(name, cond, ...)				\
	do {							\
		if (cond)					\
			t_pass(name);				\
		else						\
			t_fail(name, __VA_ARGS__);		\
	} while (0)

static inline int t_exit(void)
{
	return t_failed ? 1 : 0;
}

#endif
