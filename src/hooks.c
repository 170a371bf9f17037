// SPDX-License-Identifier: GPL-2.0
/*
 * Symbol resolution, ftrace redirection, and the registry of parts.
 *
 * main.c hands over one table of parts (struct wpu_part): the symbols of
 * every part are resolved, and then the hooks of every part attached, in
 * table order, skipping parts this kernel does not need.
 *
 * Every hook is an ftrace_ops on one kernel function whose callback moves
 * the saved instruction pointer to our wrapper, unless the call comes from
 * this module (the wrapper calling the original).  A hook may carry a
 * predicate on the call's arguments so that calls we do not care about
 * never leave the original function.
 *
 * Attachment is all or nothing: a kernel on which any target is missing,
 * not traceable, or not safely callable gets no hook at all, and the module
 * refuses to load with one line that says why.  Hooks are attached one at
 * a time but redirect nothing until all of them are (wpu_hooks_go_live()),
 * so a load that fails half-way has never run a wrapper.
 *
 * Lifetime: every redirected call holds a reference on the module, taken in
 * the ftrace callback and dropped by wpu_leave().  A wrapper may sleep for
 * as long as user space wants (a fork waiting for its userfaultfd monitor
 * to read the fork event, an ioctl whose argument faults into another
 * userfaultfd); rmmod then fails with "in use" instead of waiting for it.
 * When the module is going the callback takes no reference and redirects
 * nothing: the original runs as if the module were not there.
 */
#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/utsname.h>

#include "wpu_base.h"

static unsigned long (*wpu_kallsyms_lookup_name)(const char *name);
static unsigned int wpu_nr_attached;
/* Set when the module can no longer fail to load: wrappers may run. */
static bool wpu_live;

const char *wpu_kernel_release(void)
{
	return init_utsname()->release;
}

/* The last thing a wrapper does: drops the callback's module reference. */
void wpu_leave(void)
{
	module_put(THIS_MODULE);
}

/*
 * kallsyms_lookup_name() is not exported since 5.7.  A kprobe resolves any
 * symbol by name, so it can tell us where kallsyms_lookup_name() itself is.
 */
static int wpu_find_kallsyms(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	unsigned long addr;
	int ret;

	ret = register_kprobe(&kp);
	if (ret < 0) {
		pr_err("cannot locate kallsyms_lookup_name (kprobe: %d) on %s; refusing to load\n",
		       ret, wpu_kernel_release());
		return ret;
	}
	addr = wpu_compat_func_start((unsigned long)kp.addr);
	unregister_kprobe(&kp);

	if (!wpu_compat_callable(addr)) {
		pr_err("kallsyms_lookup_name has a sealed ENDBR (IBT) on %s; refusing to load\n",
		       wpu_kernel_release());
		return -ENOEXEC;
	}
	wpu_kallsyms_lookup_name = (void *)addr;
	return 0;
}

/*
 * Resolve a function by name and make sure the address is its entry: a
 * static function shadowed by another of the same name would resolve to the
 * wrong body, which sprint_symbol() exposes as a different name or offset.
 */
static int wpu_lookup(const char *name, unsigned long *addr, bool data)
{
	char buf[KSYM_SYMBOL_LEN];
	size_t len = strlen(name);
	unsigned long a;

	a = wpu_kallsyms_lookup_name(name);
	if (!a)
		return -ENOENT;
	sprint_symbol(buf, a);
	if (strncmp(buf, name, len) || strncmp(buf + len, "+0x0/", 5))
		return -ENOENT;
	if (!data && !wpu_compat_callable(a))
		return -ENOEXEC;
	*addr = a;
	return 0;
}

static int wpu_syms_resolve(const struct wpu_sym *syms, unsigned int n)
{
	unsigned int i;
	int ret;

	if (!wpu_kallsyms_lookup_name) {
		ret = wpu_find_kallsyms();
		if (ret)
			return ret;
	}
	for (i = 0; i < n; i++) {
		ret = wpu_lookup(syms[i].name, syms[i].addr, syms[i].data);
		/* An optional symbol that is missing or sealed stays 0. */
		if (!ret || ((ret == -ENOENT || ret == -ENOEXEC) &&
			     syms[i].optional))
			continue;
		if (ret == -ENOEXEC)
			pr_err("%s has a sealed ENDBR (IBT) on %s; refusing to load\n",
			       syms[i].name, wpu_kernel_release());
		else
			pr_err("%s not found on %s; refusing to load\n",
			       syms[i].name, wpu_kernel_release());
		return ret;
	}
	return 0;
}

static void notrace wpu_ftrace_thunk(unsigned long ip, unsigned long parent_ip,
				     struct ftrace_ops *ops,
				     wpu_ftrace_regs_t *fregs)
{
	struct wpu_hook *hook = container_of(ops, struct wpu_hook, ops);
	struct pt_regs *regs = wpu_compat_regs(fregs);

	/* The wrapper calling the original: let it run. */
	if (within_module(parent_ip, THIS_MODULE))
		return;
	/* Pairs with wpu_hooks_go_live(): all set up, nothing will fail. */
	if (!smp_load_acquire(&wpu_live))
		return;
	if (hook->wants && !hook->wants(regs))
		return;
	/* Dropped by wpu_leave(); fails only while the module is going. */
	if (!try_module_get(THIS_MODULE))
		return;
	regs->ip = (unsigned long)hook->wrapper;
}

/*
 * Flags, deliberately:
 *  SAVE_REGS + IPMODIFY  we rewrite regs->ip; IPMODIFY also makes a second
 *                        redirector (livepatch) on the same function fail
 *                        to attach instead of silently losing to us.
 *  PERMANENT             "sysctl kernel.ftrace_enabled=0" fails with EBUSY
 *                        while we are attached.  Switching tracing off would
 *                        otherwise strand pte markers in front of stock code
 *                        that WARNs on them (6.1 do_swap_page()).
 */
#define WPU_OPS_FLAGS (FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY | \
		       FTRACE_OPS_FL_PERMANENT | WPU_FTRACE_OPS_FLAGS)

static int wpu_hook_prepare(struct wpu_hook *hook)
{
	int ret;

	ret = wpu_lookup(hook->name, hook->orig, false);
	if (ret == -ENOEXEC) {
		pr_err("%s has a sealed ENDBR (IBT) on %s; refusing to load\n",
		       hook->name, wpu_kernel_release());
		return ret;
	}
	if (ret) {
		pr_err("%s not found on %s; refusing to load\n",
		       hook->name, wpu_kernel_release());
		return ret;
	}
	hook->ops.func = wpu_ftrace_thunk;
	hook->ops.flags = WPU_OPS_FLAGS;
	ret = ftrace_set_filter_ip(&hook->ops, *hook->orig, 0, 0);
	if (ret) {
		pr_err("%s is not traceable on %s; refusing to load\n",
		       hook->name, wpu_kernel_release());
		return ret;
	}
	return 0;
}

static void wpu_hook_release(struct wpu_hook *hook)
{
	if (hook->attached) {
		unregister_ftrace_function(&hook->ops);
		hook->attached = false;
		wpu_nr_attached--;
	}
	if (*hook->orig)
		ftrace_set_filter_ip(&hook->ops, *hook->orig, 1, 0);
}

/* Is @part built for and needed on this kernel? */
static bool wpu_part_needed(const struct wpu_part *part)
{
	return !part->needed || part->needed();
}

/*
 * Resolve the symbols of every part, in table order, each part's check
 * right after its own symbols.
 */
int wpu_parts_resolve(const struct wpu_part *const *parts, unsigned int n)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < n && !ret; i++) {
		if (!wpu_part_needed(parts[i]))
			continue;
		ret = wpu_syms_resolve(parts[i]->syms, parts[i]->nr_syms);
		if (!ret && parts[i]->check)
			ret = parts[i]->check();
	}
	return ret;
}

/* Testing aid (require_symbol=): one more symbol that must resolve. */
int wpu_require_sym(const char *name)
{
	unsigned long addr;
	const struct wpu_sym extra = { name, &addr };

	return wpu_syms_resolve(&extra, 1);
}

static int wpu_hook_register(struct wpu_hook *hook)
{
	int ret = register_ftrace_function(&hook->ops);

	if (ret == -EBUSY)
		pr_err("cannot attach to %s on %s: kernel.ftrace_enabled is 0 or another module redirects it; refusing to load\n",
		       hook->name, wpu_kernel_release());
	else if (ret)
		pr_err("cannot attach to %s on %s (%d); refusing to load\n",
		       hook->name, wpu_kernel_release(), ret);
	else
		hook->attached = true;
	return ret;
}

/*
 * Register the hooks of every part that is needed, in table order; none
 * redirects before wpu_hooks_go_live().  On failure everything registered
 * so far is gone again when this returns.
 */
int wpu_parts_attach(const struct wpu_part *const *parts, unsigned int n)
{
	unsigned int i, j;
	int ret = 0;

	if (!wpu_kallsyms_lookup_name) {
		ret = wpu_find_kallsyms();
		if (ret)
			return ret;
	}
	/* Resolve and filter everything before anything is registered. */
	for (i = 0; i < n && !ret; i++) {
		if (!wpu_part_needed(parts[i]))
			continue;
		for (j = 0; j < parts[i]->nr_hooks && !ret; j++)
			ret = wpu_hook_prepare(&parts[i]->hooks[j]);
	}
	if (ret)
		goto undo;

	for (i = 0; i < n; i++) {
		if (!wpu_part_needed(parts[i]))
			continue;
		for (j = 0; j < parts[i]->nr_hooks; j++) {
			ret = wpu_hook_register(&parts[i]->hooks[j]);
			if (ret)
				goto undo;
			wpu_nr_attached++;
		}
	}
	return 0;

undo:
	wpu_parts_detach(parts, n);
	return ret;
}

/*
 * The last step of a successful load: from here on the callbacks redirect.
 * Everything a wrapper uses must be set up before, and nothing after may
 * fail, since a wrapper may already run (and hold the module) when the
 * load would be undone.
 */
void wpu_hooks_go_live(void)
{
	/* Pairs with smp_load_acquire() in wpu_ftrace_thunk(). */
	smp_store_release(&wpu_live, true);
}

/*
 * After the hooks are gone no new task can enter a wrapper, but a task may
 * still be in a callback, or between a redirect and the wrapper, or between
 * wpu_leave() and the return.  None of these windows contains a voluntary
 * sleep, so an RCU-tasks grace period covers them.  A task inside a wrapper
 * holds a module reference, so on unload there is none, and a load that
 * fails never went live.
 */
static void wpu_hooks_quiesce(void)
{
	synchronize_rcu_tasks();
}

/*
 * Unregister whatever is registered, last hook first, and wait until no
 * task runs our code.
 */
void wpu_parts_detach(const struct wpu_part *const *parts, unsigned int n)
{
	bool any = wpu_nr_attached;
	unsigned int j;

	WRITE_ONCE(wpu_live, false);
	while (n--) {
		if (!wpu_part_needed(parts[n]))
			continue;
		j = parts[n]->nr_hooks;
		while (j--)
			wpu_hook_release(&parts[n]->hooks[j]);
	}
	if (any)
		wpu_hooks_quiesce();
}

/* Testing aid (require_traceable=): is @name a function ftrace can hook? */
int wpu_check_traceable(const char *name)
{
	struct ftrace_ops ops = { .func = wpu_ftrace_thunk };
	unsigned long addr;
	int ret;

	ret = wpu_lookup(name, &addr, false);
	if (ret) {
		pr_err("%s not found on %s; refusing to load\n", name,
		       wpu_kernel_release());
		return ret;
	}
	ret = ftrace_set_filter_ip(&ops, addr, 0, 0);
	if (ret) {
		pr_err("%s is not traceable on %s; refusing to load\n", name,
		       wpu_kernel_release());
		return ret;
	}
	ftrace_set_filter_ip(&ops, addr, 1, 0);
	return 0;
}

unsigned int wpu_hooks_count(void)
{
	return wpu_nr_attached;
}
