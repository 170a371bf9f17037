// SPDX-License-Identifier: GPL-2.0
/*
 * userfaultfd_ctx.mmap_changing is an atomic_t (5.19; bool before).  The
 * struct is private to fs/userfaultfd.c, but the helpers it is passed to
 * show its type.
 */
#include <linux/userfaultfd_k.h>

int wpu_probe(struct mm_struct *mm, atomic_t *mmap_changing);
int wpu_probe(struct mm_struct *mm, atomic_t *mmap_changing)
{
	return mwriteprotect_range(mm, 0, 0, true, mmap_changing);
}
