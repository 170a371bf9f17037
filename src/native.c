// SPDX-License-Identifier: GPL-2.0
/*
 * Built instead of everything else when the kernel's own headers define
 * UFFD_FEATURE_WP_UNPOPULATED (6.4+): the kernel already does what the
 * module would emulate, so loading it is refused with one clear line.
 */
#include <linux/module.h>
#include <linux/utsname.h>

static int __init wpu_native_init(void)
{
	pr_err("kernel %s has native UFFD_FEATURE_WP_UNPOPULATED; refusing to load\n",
	       init_utsname()->release);
	return -EOPNOTSUPP;
}

module_init(wpu_native_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("UFFD_FEATURE_WP_UNPOPULATED for kernels that lack it");
MODULE_VERSION(WPU_VERSION);
