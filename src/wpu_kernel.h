/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uffd_wpu layer 1, the kernel as the module sees it: resolved kernel
 * functions (kcall.c), the userfaultfd context and its feature predicates
 * (ctx.c), and the per-mm state that pins the module (track.c).  Calls
 * only layer 0 and the kernel.  The layer map is src/README.
 */
#ifndef WPU_KERNEL_H
#define WPU_KERNEL_H

#include <linux/huge_mm.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/pagewalk.h>
#include <linux/rmap.h>

#include "wpu_base.h"

/* kcall.c */
struct wpu_kcall {
	typeof(__p4d_alloc) *__p4d_alloc;
	typeof(__pud_alloc) *__pud_alloc;
	typeof(__pmd_alloc) *__pmd_alloc;
	typeof(__pte_alloc) *__pte_alloc;
	typeof(__anon_vma_prepare) *__anon_vma_prepare;
	typeof(__split_huge_pmd) *__split_huge_pmd;
	wpu_flush_tlb_mm_range_t *flush_tlb_mm_range;
	typeof(__mmu_notifier_invalidate_range_start) *invalidate_range_start;
	typeof(__mmu_notifier_invalidate_range_end) *invalidate_range_end;
	typeof(huge_pte_offset) *huge_pte_offset;
	const struct file_operations *proc_pagemap_operations;	/* data */
	typeof(walk_page_range) *walk_page_range;
	typeof(vm_normal_page) *vm_normal_page;
	typeof(vm_normal_page_pmd) *vm_normal_page_pmd;
	typeof(pmdp_invalidate) *pmdp_invalidate;
	wpu_uffd_wp_range_t *uffd_wp_range;	/* 0 where it does not exist */
};

extern struct wpu_kcall wpu_kc;
extern const struct wpu_part wpu_kcall_part;

void wpu_split_huge_pmd(struct vm_area_struct *vma, pmd_t *pmd,
			unsigned long addr);
void wpu_flush_tlb_range(struct mm_struct *mm, unsigned long start,
			 unsigned long end, unsigned int stride_shift);
void wpu_mn_start(struct mmu_notifier_range *range);
void wpu_mn_end(struct mmu_notifier_range *range);
pmd_t *wpu_pmd_alloc(struct mm_struct *mm, unsigned long addr);
int wpu_pte_alloc(struct mm_struct *mm, pmd_t *pmd);
int wpu_anon_vma_prepare(struct vm_area_struct *vma);

/* ctx.c */
extern const struct wpu_part wpu_ctx_part;
bool wpu_ctx_wants_holes(struct vm_area_struct *vma);
bool wpu_ctx_protects_holes(struct wpu_uffd_ctx *ctx);
unsigned int wpu_ctx_word(u64 features);
void wpu_ctx_add_features(struct wpu_uffd_ctx *ctx, unsigned int features);
bool wpu_vma_wp_async(struct vm_area_struct *vma);

/* track.c */
int wpu_track_init(void);
void wpu_track_exit(void);
int wpu_track_mm(struct mm_struct *mm);
int wpu_track_holes(struct mm_struct *mm);
void wpu_track_child(struct mm_struct *mm, bool holes);
bool wpu_mm_protects(struct mm_struct *mm);
bool wpu_mm_may_hold_holes(struct mm_struct *mm);
int wpu_optin(struct mm_struct *mm);
void wpu_optout(struct mm_struct *mm);
bool wpu_mm_opted_in(struct mm_struct *mm);
bool wpu_mm_tracked(struct mm_struct *mm);
u64 wpu_tracked_mms(void);

struct wpu_protect_req {
	struct list_head node;
	struct task_struct *task;
	int err;
};

void wpu_protect_begin(struct mm_struct *mm, struct wpu_protect_req *req);
int wpu_protect_end(struct mm_struct *mm, struct wpu_protect_req *req);
void wpu_protect_report(struct mm_struct *mm, int err);

#endif /* WPU_KERNEL_H */
