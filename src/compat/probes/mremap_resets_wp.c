// SPDX-License-Identifier: GPL-2.0
/*
 * mremap() clears uffd-wp from what it moves when the context did not ask
 * for UFFD_FEATURE_EVENT_REMAP (6.8; 6.6.y and 6.1.y by backport): it came
 * with vma_has_uffd_without_event_remap(), which move_page_tables() asks.
 */
#include <linux/userfaultfd_k.h>

bool wpu_probe(struct vm_area_struct *vma);
bool wpu_probe(struct vm_area_struct *vma)
{
	return vma_has_uffd_without_event_remap(vma);
}
