// SPDX-License-Identifier: GPL-2.0
/*
 * The control surface: /sys/kernel/uffd_wpu and the /dev/uffd-wpu misc
 * device (ABI: include/uapi/linux/uffd-wpu.h); the module parameters they
 * show are param.c's.
 *
 * The device is world-usable on purpose: every command acts on the caller's
 * own mm and nothing else (current->mm; no command takes a pid or an fd), so
 * it grants no power over another process.  What an unprivileged caller can
 * cost others is what UFFDIO_API already lets it cost in the default
 * (transparent) mode: its mm gets tracked, once (one mmu_notifier, whose
 * registration takes mm_take_all_locks()), and pins the module until it
 * exits.  Fork children of an opted-in mm are not tracked unless they may
 * hold protected holes (track.c), so opting in does not make every fork pay
 * that.  The sysfs toggles are root-only (mode 0644).
 */
#include <linux/fs.h>
#include <linux/kobject.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>

#include "wpu_ctl.h"

/* --- /sys/kernel/uffd_wpu ---------------------------------------------- */

static ssize_t wpu_show_bool(char *buf, bool v)
{
	return sysfs_emit(buf, "%d\n", v);
}

static ssize_t wpu_store_bool(const char *buf, size_t count, bool *v)
{
	bool val;
	int ret = kstrtobool(buf, &val);

	if (ret)
		return ret;
	WRITE_ONCE(*v, val);
	return count;
}

static ssize_t enabled_show(struct kobject *k, struct kobj_attribute *a,
			    char *buf)
{
	return wpu_show_bool(buf, READ_ONCE(wpu_enabled));
}

static ssize_t enabled_store(struct kobject *k, struct kobj_attribute *a,
			     const char *buf, size_t count)
{
	return wpu_store_bool(buf, count, &wpu_enabled);
}

static ssize_t transparent_show(struct kobject *k, struct kobj_attribute *a,
				char *buf)
{
	return wpu_show_bool(buf, READ_ONCE(wpu_transparent));
}

static ssize_t transparent_store(struct kobject *k, struct kobj_attribute *a,
				 const char *buf, size_t count)
{
	return wpu_store_bool(buf, count, &wpu_transparent);
}

static ssize_t huge_holes_show(struct kobject *k, struct kobj_attribute *a,
			       char *buf)
{
	return wpu_show_bool(buf, READ_ONCE(wpu_huge_holes));
}

/* Holes already protected at pmd level stay so when this is switched off. */
static ssize_t huge_holes_store(struct kobject *k, struct kobj_attribute *a,
				const char *buf, size_t count)
{
	bool val;
	int ret = kstrtobool(buf, &val);

	if (ret)
		return ret;
	if (val && !wpu_huge_available())
		return -EOPNOTSUPP;
	WRITE_ONCE(wpu_huge_holes, val);
	return count;
}

static ssize_t backend_show(struct kobject *k, struct kobj_attribute *a,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", wpu_backend_name());
}

static ssize_t version_show(struct kobject *k, struct kobj_attribute *a,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", WPU_VERSION);
}

static ssize_t hooks_show(struct kobject *k, struct kobj_attribute *a,
			  char *buf)
{
	return sysfs_emit(buf, "%u\n", wpu_hooks_count());
}

#define WPU_STAT(name) \
	sysfs_emit_at(buf, len, "%-16s %lld\n", #name, \
		      (long long)atomic64_read(&wpu_stats.name))

static ssize_t stats_show(struct kobject *k, struct kobj_attribute *a,
			  char *buf)
{
	int len = 0;

	len += sysfs_emit_at(buf, len, "%-16s %llu\n", "tracked_mms",
			     (unsigned long long)wpu_tracked_mms());
	len += WPU_STAT(api_granted);
	len += WPU_STAT(protect_calls);
	len += WPU_STAT(holes_protected);
	len += WPU_STAT(huge_holes);
	len += WPU_STAT(protect_enomem);
	len += WPU_STAT(fault_read);
	len += WPU_STAT(fault_missing);
	len += WPU_STAT(fault_stale);
	len += WPU_STAT(fault_collapse);
	len += WPU_STAT(zap_dropped);
	len += WPU_STAT(fork_tracked);
	len += WPU_STAT(async_resolved);
	len += WPU_STAT(scans);
	return len;
}

static struct kobj_attribute wpu_attr_enabled = __ATTR_RW(enabled);
static struct kobj_attribute wpu_attr_transparent = __ATTR_RW(transparent);
static struct kobj_attribute wpu_attr_huge_holes = __ATTR_RW(huge_holes);
static struct kobj_attribute wpu_attr_backend = __ATTR_RO(backend);
static struct kobj_attribute wpu_attr_version = __ATTR_RO(version);
static struct kobj_attribute wpu_attr_hooks = __ATTR_RO(hooks);
static struct kobj_attribute wpu_attr_stats = __ATTR_RO(stats);

static struct attribute *wpu_attrs[] = {
	&wpu_attr_enabled.attr,
	&wpu_attr_transparent.attr,
	&wpu_attr_huge_holes.attr,
	&wpu_attr_backend.attr,
	&wpu_attr_version.attr,
	&wpu_attr_hooks.attr,
	&wpu_attr_stats.attr,
	NULL,
};

static const struct attribute_group wpu_attr_group = {
	.attrs = wpu_attrs,
};

static struct kobject *wpu_kobj;

/* --- /dev/uffd-wpu ---------------------------------------------------- */

/*
 * Copy in an argument that starts with its own __u32 size: the size must
 * be the one the command encodes and at least the first published one;
 * unknown trailing bytes must be zero (E2BIG otherwise).
 */
static int wpu_arg_in(void *karg, size_t ksize, unsigned int cmd,
		      void __user *uarg)
{
	size_t usize = _IOC_SIZE(cmd);
	u32 size;

	if (usize < ksize)
		return -EINVAL;
	if (get_user(size, (u32 __user *)uarg))
		return -EFAULT;
	if (size != usize)
		return -EINVAL;
	return copy_struct_from_user(karg, ksize, uarg, usize);
}

static int wpu_arg_out(void __user *uarg, const void *karg, size_t ksize)
{
	return copy_to_user(uarg, karg, ksize) ? -EFAULT : 0;
}

static u64 wpu_granted_features(struct mm_struct *mm)
{
	bool on = READ_ONCE(wpu_enabled) && READ_ONCE(wpu_transparent);

	return on || wpu_mm_opted_in(mm) ? WPU_FEATURES : 0;
}

static long wpu_ioc_version(unsigned int cmd, void __user *uarg)
{
	struct uffd_wpu_version v;
	int ret = wpu_arg_in(&v, sizeof(v), cmd, uarg);

	if (ret)
		return ret;
	memset(&v, 0, sizeof(v));
	v.size = sizeof(v);
	v.abi_major = UFFD_WPU_ABI_MAJOR;
	v.abi_minor = UFFD_WPU_ABI_MINOR;
	v.backend = wpu_backend;
	v.features = WPU_FEATURES;
	strscpy(v.module_version, WPU_VERSION, sizeof(v.module_version));
	return wpu_arg_out(uarg, &v, sizeof(v));
}

static long wpu_ioc_opt(unsigned int cmd, void __user *uarg, bool in)
{
	struct uffd_wpu_optin o;
	int ret = wpu_arg_in(&o, sizeof(o), cmd, uarg);

	if (ret)
		return ret;
	if (o.flags || (o.features & ~WPU_FEATURES))
		return -EINVAL;
	if (!current->mm)
		return -EINVAL;
	if (!in) {
		wpu_optout(current->mm);
		return 0;
	}
	return wpu_optin(current->mm);
}

static long wpu_ioc_status(unsigned int cmd, void __user *uarg)
{
	struct mm_struct *mm = current->mm;
	struct uffd_wpu_status s;
	int ret = wpu_arg_in(&s, sizeof(s), cmd, uarg);

	if (ret)
		return ret;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	if (READ_ONCE(wpu_enabled))
		s.flags |= UFFD_WPU_STATUS_ENABLED;
	if (READ_ONCE(wpu_transparent))
		s.flags |= UFFD_WPU_STATUS_TRANSPARENT;
	if (mm && wpu_mm_opted_in(mm))
		s.flags |= UFFD_WPU_STATUS_OPTED_IN;
	if (mm && wpu_mm_tracked(mm))
		s.flags |= UFFD_WPU_STATUS_TRACKED;
	if (wpu_hooks_count())
		s.flags |= UFFD_WPU_STATUS_HOOKED;
	s.features = mm ? wpu_granted_features(mm) : 0;
	s.tracked_mms = wpu_tracked_mms();
	return wpu_arg_out(uarg, &s, sizeof(s));
}

/* Same number with another size or direction is another (unknown) command. */
static bool wpu_cmd_is(unsigned int cmd, unsigned int known)
{
	return _IOC_TYPE(cmd) == _IOC_TYPE(known) &&
	       _IOC_NR(cmd) == _IOC_NR(known) &&
	       _IOC_DIR(cmd) == _IOC_DIR(known);
}

static long wpu_dev_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (wpu_cmd_is(cmd, UFFD_WPU_IOC_VERSION))
		return wpu_ioc_version(cmd, uarg);
	if (wpu_cmd_is(cmd, UFFD_WPU_IOC_OPTIN))
		return wpu_ioc_opt(cmd, uarg, true);
	if (wpu_cmd_is(cmd, UFFD_WPU_IOC_OPTOUT))
		return wpu_ioc_opt(cmd, uarg, false);
	if (wpu_cmd_is(cmd, UFFD_WPU_IOC_STATUS))
		return wpu_ioc_status(cmd, uarg);
	/* The caller's own mm only: there is no way to name another. */
	if (cmd == UFFD_WPU_IOC_PAGEMAP_SCAN)
		return wpu_pagemap_scan(current->mm, arg);
	return -ENOTTY;
}

static const struct file_operations wpu_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = wpu_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice wpu_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "uffd-wpu",
	.fops = &wpu_dev_fops,
	/* Own mm only, nothing a UFFDIO_API could not do: see the top. */
	.mode = 0666,
};

int wpu_ctl_init(void)
{
	int ret;

	wpu_kobj = kobject_create_and_add("uffd_wpu", kernel_kobj);
	if (!wpu_kobj)
		return -ENOMEM;
	ret = sysfs_create_group(wpu_kobj, &wpu_attr_group);
	if (ret)
		goto put;
	ret = misc_register(&wpu_miscdev);
	if (ret)
		goto put;
	return 0;
put:
	kobject_put(wpu_kobj);
	return ret;
}

void wpu_ctl_exit(void)
{
	misc_deregister(&wpu_miscdev);
	kobject_put(wpu_kobj);
}
