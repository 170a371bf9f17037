// SPDX-License-Identifier: GPL-2.0
/*
 * The uapi names UFFD_FEATURE_WP_UNPOPULATED (6.4; RHEL 9.4+).  Naming it
 * is not offering it: with CONFIG_PTE_MARKER_UFFD_WP off the kernel strips
 * it from UFFDIO_API's reply (Kbuild.include decides "native").
 */
#include <linux/userfaultfd.h>

int wpu_probe(void);
int wpu_probe(void)
{
	return UFFD_FEATURE_WP_UNPOPULATED;
}
