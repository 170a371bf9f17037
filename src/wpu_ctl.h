/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uffd_wpu layer 4, the control surface: /sys/kernel/uffd_wpu and
 * /dev/uffd-wpu (ctl.c).  Calls layers 0-2; main.c (layer 5) brings it up
 * last.  The layer map is src/README.
 */
#ifndef WPU_CTL_H
#define WPU_CTL_H

#include "wpu_holes.h"

int wpu_ctl_init(void);
void wpu_ctl_exit(void);

#endif /* WPU_CTL_H */
