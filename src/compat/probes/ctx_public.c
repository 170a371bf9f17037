// SPDX-License-Identifier: GPL-2.0
/* struct userfaultfd_ctx is public, in userfaultfd_k.h (6.8+). */
#include <linux/userfaultfd_k.h>

unsigned int wpu_probe(struct userfaultfd_ctx *ctx);
unsigned int wpu_probe(struct userfaultfd_ctx *ctx)
{
	return ctx->features + !!ctx->mm;
}
