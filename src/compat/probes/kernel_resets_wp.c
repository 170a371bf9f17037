// SPDX-License-Identifier: GPL-2.0
/*
 * UFFDIO_UNREGISTER and close() reset uffd-wp themselves (6.0): they came
 * with uffd_wp_range(), which they call.
 */
#include <linux/userfaultfd_k.h>

unsigned long wpu_probe(void);
unsigned long wpu_probe(void)
{
	return (unsigned long)&uffd_wp_range;
}
