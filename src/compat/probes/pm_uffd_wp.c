// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/PID/pagemap reports uffd-wp as bit 57 (5.13).  PM_UFFD_WP is
 * private to fs/proc/task_mmu.c and no header changed with it; minor
 * faults came in the same release and RHEL 9 carries both, so their uapi
 * bit stands in.  Wrong either way costs little: the module's pagemap hook
 * only sets the bit the kernel sets too, and without the hook bit 57 is
 * simply missing, as on stock kernels.
 */
#include <linux/userfaultfd.h>

int wpu_probe(void);
int wpu_probe(void)
{
	return UFFD_FEATURE_MINOR_HUGETLBFS;
}
