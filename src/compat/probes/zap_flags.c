// SPDX-License-Identifier: GPL-2.0
/*
 * struct zap_details is public and carries zap_flags (6.0.19, 6.1; 5.19
 * keeps the struct private to mm/memory.c).
 */
#include <linux/mm.h>

void wpu_probe(struct zap_details *details);
void wpu_probe(struct zap_details *details)
{
	static const struct zap_details drop = {
		.zap_flags = ZAP_FLAG_DROP_MARKER,
	};

	*details = drop;
}
