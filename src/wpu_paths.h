/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uffd_wpu layer 3, the hooked kernel paths: one file per path, each a part
 * of main.c's table (its hooks, the symbols only it calls, whether this
 * kernel needs it).  Calls layers 0-2; between the files of this layer,
 * only uffd_ioctl.c calls reset.c and async.c calls umode.c.  The layer map is src/README.
 */
#ifndef WPU_PATHS_H
#define WPU_PATHS_H

#include "wpu_holes.h"

/* The parts, in the order of main.c's table. */
extern const struct wpu_part wpu_fork_part;
extern const struct wpu_part wpu_protect_part;
extern const struct wpu_part wpu_fault_part;
extern const struct wpu_part wpu_zap_part;
extern const struct wpu_part wpu_reset_part;
extern const struct wpu_part wpu_remap_part;
extern const struct wpu_part wpu_pagemap_bit57_part;
extern const struct wpu_part wpu_async_part;
extern const struct wpu_part wpu_umode_part;
extern const struct wpu_part wpu_pagemap_open_part;
extern const struct wpu_part wpu_uffd_ioctl_part;

/* reset.c (kernels that keep uffd-wp after unregister/close) */
bool wpu_unregister_begin(struct wpu_uffd_ctx *ctx, unsigned long arg,
			  struct uffdio_range *span);
void wpu_unregister_end(struct wpu_uffd_ctx *ctx,
			const struct uffdio_range *span);

/* umode.c: a kernel-mode fault a UFFD_USER_MODE_ONLY context refuses */
#if WPU_UMODE
bool wpu_umode_refuses(struct vm_fault *vmf);
#else
static inline bool wpu_umode_refuses(struct vm_fault *vmf)
{
	return false;
}
#endif

/* pagemap.c: the operations pagemap files get while the module is loaded */
int wpu_pagemap_init(void);
void wpu_pagemap_exit(void);

#endif /* WPU_PATHS_H */
