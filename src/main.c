// SPDX-License-Identifier: GPL-2.0
/*
 * uffd_wpu: UFFD_FEATURE_WP_UNPOPULATED for kernels 5.7-6.3.
 *
 * Load order: choose the backend, resolve every symbol the chosen backend
 * calls, attach every hook or none, then bring up the control surface.
 * No hook redirects and nothing is advertised before the load can no
 * longer fail, and the module cannot be unloaded while any mm may still
 * hold a protected hole (track.c) or any task is inside a wrapper (hooks.c).
 */
#include <linux/module.h>

#include "wpu_base.h"

static struct wpu_hook *wpu_hooks[12];
static unsigned int wpu_nr_hooks;

static void wpu_add_hooks(struct wpu_hook *table, unsigned int n)
{
	while (n--)
		wpu_hooks[wpu_nr_hooks++] = table++;
}

static int wpu_resolve_all(void)
{
	int ret;

	ret = wpu_resolve(wpu_api_syms, wpu_api_nr_syms) ?:
	      wpu_api_check_layout() ?:
	      wpu_resolve(wpu_protect_syms, wpu_protect_nr_syms) ?:
	      wpu_resolve(wpu_async_syms, wpu_async_nr_syms) ?:
	      wpu_resolve(wpu_scan_syms, wpu_scan_nr_syms) ?:
	      wpu_resolve(wpu_huge_syms, wpu_huge_nr_syms);
	if (!ret) {
		ret = wpu_parse_huge_holes();
		if (ret)
			pr_err("huge_holes=%s is not available on %s; refusing to load\n",
			       wpu_huge_holes_param_name(), wpu_kernel_release());
	}
	if (!ret && wpu_markers())
		ret = wpu_resolve(wpu_fault_syms, wpu_fault_nr_syms);
	if (!ret && WPU_RESET)
		ret = wpu_resolve(wpu_reset_syms, wpu_reset_nr_syms);
	if (!ret && wpu_require_symbol) {
		unsigned long addr;
		const struct wpu_sym extra = { wpu_require_symbol, &addr };

		ret = wpu_resolve(&extra, 1);
	}
	if (!ret && wpu_require_traceable)
		ret = wpu_check_traceable(wpu_require_traceable);
	return ret;
}

static void wpu_select_hooks(void)
{
	wpu_add_hooks(wpu_track_hooks, wpu_track_nr_hooks);
	wpu_add_hooks(wpu_protect_hooks, wpu_protect_nr_hooks);
	if (wpu_markers()) {
		wpu_add_hooks(wpu_fault_hooks, wpu_fault_nr_hooks);
		wpu_add_hooks(wpu_zap_hooks, wpu_zap_nr_hooks);
	}
	if (WPU_RESET)
		wpu_add_hooks(wpu_reset_hooks, wpu_reset_nr_hooks);
	if (WPU_PAGEMAP)
		wpu_add_hooks(wpu_pagemap_hooks, wpu_pagemap_nr_hooks);
	wpu_add_hooks(wpu_async_hooks, wpu_async_nr_hooks);
	wpu_add_hooks(wpu_scan_hooks, wpu_scan_nr_hooks);
	/* Last: granting the feature is what makes holes appear. */
	wpu_add_hooks(wpu_api_hooks, wpu_api_nr_hooks);
}

/*
 * Order matters on the way up: everything a wrapper or a file of ours uses
 * exists before the hooks are registered, and the control device (whose
 * files and opt-ins would outlive a failed load) comes after them, as the
 * last thing that can fail.  The hooks redirect only from
 * wpu_hooks_go_live() on, when the load can no longer fail.
 */
static int __init wpu_init(void)
{
	int ret;

	ret = wpu_parse_backend();
	if (ret) {
		pr_err("backend=%s is not available on %s; refusing to load\n",
		       wpu_backend_param_name(), wpu_kernel_release());
		return ret;
	}
	ret = wpu_resolve_all();
	if (ret)
		return ret;
	ret = wpu_scan_init();
	if (ret)
		return ret;
	ret = wpu_track_init();
	if (ret)
		goto scan;

	wpu_select_hooks();
	ret = wpu_hooks_attach(wpu_hooks, wpu_nr_hooks);
	if (ret)
		goto track;
	ret = wpu_ctl_init();
	if (ret)
		goto hooks;

	wpu_hooks_go_live();
	pr_info("%s backend on %s: %u hooks attached, WP_UNPOPULATED %s, huge holes %s\n",
		wpu_backend_name(), wpu_kernel_release(), wpu_nr_hooks,
		wpu_enabled ? "enabled" : "disabled",
		wpu_huge_holes ? "on" : "off");
	return 0;
hooks:
	wpu_hooks_detach(wpu_hooks, wpu_nr_hooks);
track:
	wpu_track_exit();
scan:
	wpu_scan_exit();
	return ret;
}

/* Only reached when nothing holds the module: no task is in a wrapper. */
static void __exit wpu_exit(void)
{
	wpu_hooks_detach(wpu_hooks, wpu_nr_hooks);
	wpu_ctl_exit();
	wpu_track_exit();
	wpu_scan_exit();
	pr_info("unloaded\n");
}

module_init(wpu_init);
module_exit(wpu_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("uffd-wpu developers");
MODULE_DESCRIPTION("UFFD_FEATURE_WP_UNPOPULATED for kernels that lack it");
MODULE_VERSION(WPU_VERSION);
