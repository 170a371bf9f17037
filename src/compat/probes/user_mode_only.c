// SPDX-License-Identifier: GPL-2.0
/*
 * userfaultfd(2) takes UFFD_USER_MODE_ONLY (5.11).  Without it umode.c
 * accepts the flag on the kernel's behalf.
 */
#include <linux/userfaultfd.h>

int wpu_probe(void);
int wpu_probe(void)
{
	return UFFD_USER_MODE_ONLY;
}
