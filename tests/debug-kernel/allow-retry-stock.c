// SPDX-License-Identifier: GPL-2.0
/*
 * allow-retry-stock: the stock kernel's CONFIG_DEBUG_VM dump
 * "FAULT_FLAG_ALLOW_RETRY missing <flags>" without uffd_wpu.
 *
 * On the debug kernel (docs/debug-kernel.md) wp_gup's write through
 * /proc/self/mem into a protected hole makes handle_userfault() print that
 * line and a stack.  This shows the same on the kernel alone: it unloads
 * uffd_wpu if it is loaded, write-protects one *populated* page with plain
 * UFFDIO_WRITEPROTECT (no WP_UNPOPULATED), writes to it through
 * /proc/self/mem (a remote GUP without FAULT_FLAG_ALLOW_RETRY: the fault
 * cannot wait for a handler), and reports what pwrite returned and whether
 * the kernel log got the line from this process.
 *
 *   gcc -O2 -static -Wall -I tests/progs -I include/uapi \
 *       tests/progs/uffd_util.c \
 *       -o /tmp/allow-retry-stock tests/debug-kernel/allow-retry-stock.c
 *   UFFD_WPU_KERNELS_CONF=tests/debug-kernel/kernels.conf UFFD_WPU_UPSTREAM=0 \
 *       tests/run --extra /tmp/allow-retry-stock
 *
 * Runs last (extras run after the test programs).  Exit 0 iff the module is
 * not loaded and pwrite failed with EIO as on every kernel; the dump itself
 * is reported ("dump from this process: yes/no"), since only a
 * CONFIG_DEBUG_VM kernel prints it.
 */
#include "uffd_util.h"

#include <sys/klog.h>

static int log_has_dump(pid_t pid)
{
	static char buf[1 << 20];
	char want[64];
	int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof(buf) - 1);
	char *p;

	if (n < 0)
		return -1;
	buf[n] = 0;
	snprintf(want, sizeof(want), "PID: %d Comm: allow-retry", (int)pid);
	/* the line, then dump_stack()'s "CPU: N PID: <pid> Comm: ..." */
	for (p = strstr(buf, "FAULT_FLAG_ALLOW_RETRY missing"); p;
	     p = strstr(p + 1, "FAULT_FLAG_ALLOW_RETRY missing")) {
		char *next = strstr(p + 1, "FAULT_FLAG_ALLOW_RETRY missing");
		char *m = strstr(p, want);

		if (m && (!next || m < next))
			return 1;
	}
	return 0;
}

int main(void)
{
	char src[8] = "abcdefg";
	char *p;
	int u, fd, e, d;
	ssize_t w;

	t_prog = "allow-retry-stock";
	if (u_exists("/sys/module/uffd_wpu") &&
	    syscall(SYS_delete_module, "uffd_wpu", O_NONBLOCK)) {
		printf("allow-retry-stock: cannot unload uffd_wpu: %s\n", strerror(errno));
		return 1;
	}
	if (u_exists("/sys/module/uffd_wpu")) {
		printf("allow-retry-stock: uffd_wpu still loaded\n");
		return 1;
	}
	p = map_anon(PAGE);
	u = uffd_new(0);
	if (p == MAP_FAILED || u < 0) {
		printf("allow-retry-stock: mmap/userfaultfd failed\n");
		return 1;
	}
	p[0] = 1;		/* populated: plain WP protects it on every kernel */
	if (uffd_register_wp(u, p, PAGE) || uffd_wp(u, p, PAGE, 1)) {
		printf("allow-retry-stock: register/writeprotect failed: %s\n", strerror(errno));
		return 1;
	}
	fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("allow-retry-stock: open /proc/self/mem: %s\n", strerror(errno));
		return 1;
	}
	w = pwrite(fd, src, sizeof(src), (off_t)(uintptr_t)p + 30);
	e = errno;
	close(fd);
	d = log_has_dump(getpid());
	printf("allow-retry-stock: uname -r %s, uffd_wpu not loaded; plain WP on a populated "
	       "page, pwrite via /proc/self/mem: %zd (%s); 'FAULT_FLAG_ALLOW_RETRY missing' "
	       "dump from this process: %s\n", u_env_get().release, w,
	       w < 0 ? strerror(e) : "success", d < 0 ? "cannot read the log" : d ? "yes" : "no");
	return w < 0 && e == EIO ? 0 : 1;
}
