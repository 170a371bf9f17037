// SPDX-License-Identifier: GPL-2.0
/*
 * UFFD_USER_MODE_ONLY (Linux 5.11) for kernels that reject it.
 *
 * Programs written for 5.11+ (Wine's write watches, upstream's selftests)
 * open their userfaultfd with flag 1, UFFD_USER_MODE_ONLY, and a kernel
 * without it answers EINVAL before any feature can be negotiated.  With
 * the flag, 5.11+ makes two promises, kept here:
 *
 *  - creation: such a context may be created whatever
 *    vm.unprivileged_userfaultfd and CAP_SYS_PTRACE say, because it cannot
 *    stall the kernel in the middle of a copy_from_user();
 *  - delivery: a fault that does not come from user mode (FAULT_FLAG_USER
 *    clear: a syscall touching user memory, GUP) is not delivered to it;
 *    handle_userfault() answers VM_FAULT_SIGBUS, the syscall gets EFAULT.
 *
 * Only calls with the flag leave the syscall: everything else keeps the
 * stock rules, which are those of 5.11+ for a call without the flag.  The
 * stock syscall would refuse the flag, and an unprivileged caller outright
 * when the sysctl is 0, so the context is created here, the way the stock
 * syscall creates one.  The flag is kept where 5.11+ keeps it, in
 * ctx->flags, which stock code only ever masks with O_CLOEXEC|O_NONBLOCK
 * and which fork (EVENT_FORK) copies into a child's context, as 5.11+
 * does: no side table to keep in step with fork and with the context's
 * free.  It is set before the file exists, so no other thread can see the
 * context without it.  Only the x86-64 entry is hooked: a 32-bit caller
 * (__ia32_sys_userfaultfd) still gets stock 5.10's answer.
 *
 * Lifetime: after rmmod the stock kernel would deliver kernel-mode faults
 * to a context that an unprivileged caller was only allowed to create
 * because it promised not to take them.  So the file pins the module: it
 * gets a copy of the stock file operations that names this module as
 * owner, and the VFS holds the module until the file's release (which
 * detaches the context from every VMA) has run.  After that the flag
 * decides nothing any more.  A fork child's context (EVENT_FORK, which
 * needs CAP_SYS_PTRACE) gets stock file operations and does not pin.
 */
#include <linux/anon_inodes.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/userfaultfd_k.h>

#include "wpu_paths.h"

/* include/uapi/linux/userfaultfd.h of 5.11+ */
#define WPU_UFFD_USER_MODE_ONLY	1

static unsigned long wpu_umode_cachep;
static unsigned long wpu_umode_stock_fops;
static unsigned long wpu_orig_sys_userfaultfd;

static const struct wpu_sym wpu_umode_syms[] = {
	{ "userfaultfd_ctx_cachep", &wpu_umode_cachep, .data = true },
	{ "userfaultfd_fops", &wpu_umode_stock_fops, .data = true },
};

/*
 * The stock operations with an owner: an open file holds the module.  A
 * copy made once at load (hence not const), read-only from then on.
 */
static struct file_operations wpu_umode_fops __ro_after_init;

/* Runs once the symbols are resolved, before any hook is attached. */
static int wpu_umode_init(void)
{
	wpu_umode_fops = *(const struct file_operations *)wpu_umode_stock_fops;
	wpu_umode_fops.owner = THIS_MODULE;
	return 0;
}

/* Lockless: the VMA's context cannot change while its mmap_lock is held. */
bool wpu_umode_refuses(struct vm_fault *vmf)
{
	struct wpu_uffd_ctx *ctx = wpu_compat_vma_ctx(vmf->vma);

	return !(vmf->flags & FAULT_FLAG_USER) && ctx &&
	       (READ_ONCE(ctx->flags) & WPU_UFFD_USER_MODE_ONLY);
}

/* A new context of current's mm, set up as the stock syscall sets one up. */
static int wpu_umode_new(int flags)
{
	struct kmem_cache *cache = *(struct kmem_cache **)wpu_umode_cachep;
	struct wpu_uffd_ctx *ctx;
	int fd;

	if (flags & ~(UFFD_SHARED_FCNTL_FLAGS | WPU_UFFD_USER_MODE_ONLY))
		return -EINVAL;

	/* The cache's constructor set up the wait queues and refile_seq. */
	ctx = kmem_cache_alloc(cache, GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	refcount_set(&ctx->refcount, 1);
	ctx->flags = flags;
	ctx->features = 0;
	ctx->released = false;
	ctx->mmap_changing = false;
	ctx->mm = current->mm;
	mmgrab(ctx->mm);

	fd = anon_inode_getfd("[userfaultfd]", &wpu_umode_fops, ctx,
			      O_RDONLY | (flags & UFFD_SHARED_FCNTL_FLAGS));
	if (fd < 0) {
		mmdrop(ctx->mm);
		kmem_cache_free(cache, ctx);
	}
	return fd;
}

static long wpu_umode_syscall(const struct pt_regs *uregs)
{
	long ret = wpu_umode_new((int)uregs->di);

	wpu_leave();
	return ret;
}

/* Calls without the flag are the stock syscall's: its rules are 5.11's. */
static bool wpu_umode_wants(struct pt_regs *regs)
{
	const struct pt_regs *uregs = (void *)regs_get_kernel_argument(regs, 0);

	/* x86-64 syscall ABI: the first argument is in rdi. */
	return (int)uregs->di & WPU_UFFD_USER_MODE_ONLY;
}

static struct wpu_hook wpu_umode_hooks[] = {
	{
		.name = "__x64_sys_userfaultfd",
		.wrapper = wpu_umode_syscall,
		.orig = &wpu_orig_sys_userfaultfd,
		.wants = wpu_umode_wants,
	},
};

/* Built, and listed in main.c, only where WPU_UMODE (Kbuild). */
const struct wpu_part wpu_umode_part = {
	.name = "umode",
	.syms = wpu_umode_syms,
	.nr_syms = ARRAY_SIZE(wpu_umode_syms),
	.hooks = wpu_umode_hooks,
	.nr_hooks = ARRAY_SIZE(wpu_umode_hooks),
	.check = wpu_umode_init,
};
