// SPDX-License-Identifier: GPL-2.0
/*
 * Must compile on every kernel: the headers compat.h includes, with the
 * kernel's own flags.  If this fails, no other probe's answer means anything.
 */
#include <linux/ftrace.h>
#include <linux/mm.h>
#include <linux/hugetlb.h>
#include <linux/mmu_notifier.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <linux/userfaultfd_k.h>

int wpu_probe(struct vm_area_struct *vma);
int wpu_probe(struct vm_area_struct *vma)
{
	return vma_is_anonymous(vma);
}
