// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/userfaultfd and its USERFAULTFD_IOC_NEW (6.1).  The module does not
 * use it: it marks the first release whose stock code lives with
 * anonymous uffd-wp markers where the module does not hook it (compat.h,
 * WPU_HAVE_MARKER_BACKEND), which nothing a probe can see says directly.
 */
#include <linux/ioctl.h>
#include <linux/userfaultfd.h>

unsigned int wpu_probe(void);
unsigned int wpu_probe(void)
{
	return USERFAULTFD_IOC_NEW;
}
