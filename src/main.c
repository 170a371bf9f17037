// SPDX-License-Identifier: GPL-2.0
/*
 * uffd_wpu: UFFD_FEATURE_WP_UNPOPULATED for kernels 5.7-6.2.
 *
 * Load order: choose the backend, resolve every symbol the chosen backend
 * calls, attach every hook or none, then bring up the control surface.
 * No hook redirects and nothing is advertised before the load can no
 * longer fail, and the module cannot be unloaded while any mm may still
 * hold a protected hole (track.c) or any task is inside a wrapper (hooks.c).
 */
#include <linux/module.h>

#include "wpu_ctl.h"
#include "wpu_paths.h"

/*
 * Every part of the module, in the order they are resolved and attached.
 * The order is part of the design: a part's symbols and check come before
 * those of the parts below it (the context layout is checked before
 * anything reads a context; huge_holes= is parsed once its symbols are
 * known), and userfaultfd_ioctl stays last to attach, since granting the
 * feature is what makes holes appear.  A part that this kernel does not
 * need (needed() false) is neither resolved nor attached.
 */
static const struct wpu_part *const wpu_parts[] = {
	&wpu_ctx_part,
	&wpu_kcall_part,
	&wpu_huge_part,
	&wpu_fork_part,
	&wpu_protect_part,
#if WPU_HAVE_MARKER_BACKEND
	&wpu_fault_part,
	&wpu_zap_part,
#endif
	&wpu_reset_part,
	&wpu_remap_part,
	&wpu_pagemap_bit57_part,
	&wpu_async_part,
#if WPU_UMODE
	&wpu_umode_part,
#endif
	&wpu_pagemap_open_part,
	&wpu_uffd_ioctl_part,		/* last */
};

static int wpu_resolve_all(void)
{
	int ret;

	ret = wpu_parts_resolve(wpu_parts, ARRAY_SIZE(wpu_parts));
	if (!ret && wpu_require_symbol)
		ret = wpu_require_sym(wpu_require_symbol);
	if (!ret && wpu_require_traceable)
		ret = wpu_check_traceable(wpu_require_traceable);
	return ret;
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
	ret = wpu_pagemap_init();
	if (ret)
		return ret;
	ret = wpu_track_init();
	if (ret)
		goto pagemap;

	ret = wpu_parts_attach(wpu_parts, ARRAY_SIZE(wpu_parts));
	if (ret)
		goto track;
	ret = wpu_ctl_init();
	if (ret)
		goto hooks;

	wpu_hooks_go_live();
	pr_info("%s backend on %s: %u hooks attached, WP_UNPOPULATED %s, huge holes %s\n",
		wpu_backend_name(), wpu_kernel_release(), wpu_hooks_count(),
		wpu_enabled ? "enabled" : "disabled",
		wpu_huge_holes ? "on" : "off");
	return 0;
hooks:
	wpu_parts_detach(wpu_parts, ARRAY_SIZE(wpu_parts));
track:
	wpu_track_exit();
pagemap:
	wpu_pagemap_exit();
	return ret;
}

/* Only reached when nothing holds the module: no task is in a wrapper. */
static void __exit wpu_exit(void)
{
	wpu_parts_detach(wpu_parts, ARRAY_SIZE(wpu_parts));
	wpu_ctl_exit();
	wpu_track_exit();
	wpu_pagemap_exit();
	pr_info("unloaded\n");
}

module_init(wpu_init);
module_exit(wpu_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("uffd-wpu developers");
MODULE_DESCRIPTION("UFFD_FEATURE_WP_UNPOPULATED for kernels that lack it");
MODULE_VERSION(WPU_VERSION);
