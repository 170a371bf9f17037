// SPDX-License-Identifier: GPL-2.0
/* Device-private/exclusive and migration entries share pfn helpers (5.14). */
#include <linux/mm.h>
#include <linux/swap.h>		/* before swapops.h: MAX_SWAPFILES_SHIFT */
#include <linux/swapops.h>

struct page *wpu_probe(swp_entry_t entry);
struct page *wpu_probe(swp_entry_t entry)
{
	return is_pfn_swap_entry(entry) ? pfn_swap_entry_to_page(entry) : NULL;
}
