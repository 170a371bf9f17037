// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module (tests/guest/15-loadfail.sh): takes one kernel function
 * with an IPMODIFY ftrace_ops, the way a livepatch does, so that uffd_wpu's
 * attach of the same function fails with EBUSY after its earlier hooks
 * went live.  The callback does nothing: the function runs unchanged.
 *
 *   insmod ipmodify_block.ko func=userfaultfd_ioctl
 */
#include <linux/ftrace.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/version.h>

static char *func = "userfaultfd_ioctl";
module_param(func, charp, 0444);
MODULE_PARM_DESC(func, "kernel function to take with an IPMODIFY ftrace_ops");

#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 11, 0)
static void notrace ipmb_nop(unsigned long ip, unsigned long parent_ip,
			     struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
}
#else
static void notrace ipmb_nop(unsigned long ip, unsigned long parent_ip,
			     struct ftrace_ops *ops, struct pt_regs *regs)
{
}
#endif

static struct ftrace_ops ipmb_ops = {
	.func = ipmb_nop,
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY,
};

/* An empty filter frees the old one (ftrace_free_filter() is not exported on 5.10). */
static void ipmb_unfilter(void)
{
	ftrace_set_filter(&ipmb_ops, NULL, 0, 1);
}

static int __init ipmb_init(void)
{
	int ret;

	ret = ftrace_set_filter(&ipmb_ops, (unsigned char *)func,
				strlen(func), 0);
	if (ret) {
		pr_err("%s: cannot filter: %d\n", func, ret);
		return ret;
	}
	ret = register_ftrace_function(&ipmb_ops);
	if (ret) {
		pr_err("%s: cannot register: %d\n", func, ret);
		ipmb_unfilter();
		return ret;
	}
	pr_info("holding %s with an IPMODIFY ftrace_ops\n", func);
	return 0;
}

static void __exit ipmb_exit(void)
{
	unregister_ftrace_function(&ipmb_ops);
	ipmb_unfilter();
}

module_init(ipmb_init);
module_exit(ipmb_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("uffd_wpu test aid: hold a function with IPMODIFY");
