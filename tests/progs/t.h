/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tiny test protocol shared by every in-guest test program.
 *
 * Each check prints exactly one line that the host harness counts:
 *   "@@ PASS <prog>/<name>"
 *   "@@ FAIL <prog>/<name>: <why>"
 *   "@@ SKIP <prog>/<name>: <why>"
 * Free-form diagnostics go to stderr (also on the console).  The program
 * exits 1 if any check failed, 0 otherwise.
 */
#ifndef UFFD_WPU_TEST_H
#define UFFD_WPU_TEST_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *t_prog = "?";
static int t_failed;

static inline void t_report(const char *verdict, const char *name,
			    const char *fmt, va_list ap)
{
	char why[512] = "";

	if (fmt)
		vsnprintf(why, sizeof(why), fmt, ap);
	printf("@@ %s %s/%s%s%s\n", verdict, t_prog, name, fmt ? ": " : "", why);
	fflush(stdout);
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
