// SPDX-License-Identifier: GPL-2.0
/*
 * UFFDIO_UNREGISTER resets uffd-wp itself (6.0): it came with
 * uffd_wp_range(), which it calls.
 */
#include <linux/userfaultfd_k.h>

unsigned long wpu_probe(void);
unsigned long wpu_probe(void)
{
	return (unsigned long)&uffd_wp_range;
}
