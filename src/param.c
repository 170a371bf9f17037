// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters, the knobs every layer reads, and the counters of
 * /sys/kernel/uffd_wpu/stats.  The sysfs files and the device that show
 * and change them are ctl.c's, at the top of the module; the values live
 * here, at the bottom, so that reading a knob is never a call upwards.
 */
#include <linux/moduleparam.h>
#include <linux/string.h>

#include "wpu_base.h"

bool wpu_enabled = true;
module_param_named(enabled, wpu_enabled, bool, 0444);
MODULE_PARM_DESC(enabled, "Accept new opt-ins (also /sys/kernel/uffd_wpu/enabled)");

bool wpu_transparent = true;
module_param_named(transparent, wpu_transparent, bool, 0444);
MODULE_PARM_DESC(transparent, "UFFDIO_API grants WP_UNPOPULATED to any program that asks (default 1)");

static char *wpu_backend_param = "auto";
module_param_named(backend, wpu_backend_param, charp, 0444);
MODULE_PARM_DESC(backend, "auto, marker (6.1+ with pte markers) or zeropage");

static char *wpu_huge_holes_param = "auto";
module_param_named(huge_holes, wpu_huge_holes_param, charp, 0444);
MODULE_PARM_DESC(huge_holes, "auto (= off), on or off: protect a whole empty 2 MiB of a THP-eligible VMA with one huge zero pmd (also /sys/kernel/uffd_wpu/huge_holes)");

bool wpu_huge_holes;

char *wpu_require_symbol;
module_param_named(require_symbol, wpu_require_symbol, charp, 0444);
MODULE_PARM_DESC(require_symbol, "Testing: one more symbol that must resolve, or the load fails");

char *wpu_require_traceable;
module_param_named(require_traceable, wpu_require_traceable, charp, 0444);
MODULE_PARM_DESC(require_traceable, "Testing: one more function that must be traceable, or the load fails");

atomic_t wpu_fail_protect = ATOMIC_INIT(0);
module_param_named(fail_protect, wpu_fail_protect.counter, int, 0600);
MODULE_PARM_DESC(fail_protect, "Testing: make the next N hole-protect passes fail as if out of memory");

atomic_t wpu_fail_track = ATOMIC_INIT(0);
module_param_named(fail_track, wpu_fail_track.counter, int, 0600);
MODULE_PARM_DESC(fail_track, "Testing: make the next N notifier registrations fail with EINTR, as with a signal pending");

enum wpu_backend wpu_backend;
struct wpu_stats wpu_stats;

int wpu_parse_backend(void)
{
	if (!strcmp(wpu_backend_param, "auto"))
		wpu_backend = WPU_HAVE_MARKER_BACKEND ? WPU_BACKEND_MARKER :
						 WPU_BACKEND_ZEROPAGE;
	else if (!strcmp(wpu_backend_param, "marker") && WPU_HAVE_MARKER_BACKEND)
		wpu_backend = WPU_BACKEND_MARKER;
	else if (!strcmp(wpu_backend_param, "zeropage"))
		wpu_backend = WPU_BACKEND_ZEROPAGE;
	else if (!strcmp(wpu_backend_param, "marker"))
		return -EOPNOTSUPP;
	else
		return -EINVAL;
	return 0;
}

/* @avail: the symbols of hugehole.c resolved (its part's check). */
int wpu_parse_huge_holes(bool avail)
{
	if (!strcmp(wpu_huge_holes_param, "auto"))
		wpu_huge_holes = WPU_HUGE_HOLES_AUTO && avail;
	else if (!strcmp(wpu_huge_holes_param, "off"))
		wpu_huge_holes = false;
	else if (!strcmp(wpu_huge_holes_param, "on") && avail)
		wpu_huge_holes = true;
	else if (!strcmp(wpu_huge_holes_param, "on"))
		return -EOPNOTSUPP;
	else
		return -EINVAL;
	return 0;
}

const char *wpu_huge_holes_param_name(void)
{
	return wpu_huge_holes_param;
}

const char *wpu_backend_param_name(void)
{
	return wpu_backend_param;
}

const char *wpu_backend_name(void)
{
	return wpu_backend == WPU_BACKEND_MARKER ? "marker" : "zeropage";
}
