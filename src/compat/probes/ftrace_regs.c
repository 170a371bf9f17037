// SPDX-License-Identifier: GPL-2.0
/* ftrace callbacks take struct ftrace_regs (5.11; struct pt_regs before). */
#include <linux/ftrace.h>

static void wpu_probe_cb(unsigned long ip, unsigned long parent_ip,
			 struct ftrace_ops *op, struct ftrace_regs *fregs)
{
}

ftrace_func_t wpu_probe(struct ftrace_regs *fregs, struct pt_regs **regs);
ftrace_func_t wpu_probe(struct ftrace_regs *fregs, struct pt_regs **regs)
{
	*regs = ftrace_get_regs(fregs);
	return wpu_probe_cb;
}
