// SPDX-License-Identifier: GPL-2.0
/*
 * Per-mm state.
 *
 * An mm is "tracked" from the moment a hole in it may get protected (a
 * context of the mm negotiated WP_UNPOPULATED, the mm opted in, or a fork
 * child inherited either) until the mm is torn down.  Tracking does two
 * things: it remembers the per-mm opt-in, and it pins the module, because
 * pte markers left behind by an unloaded module would meet stock code that
 * WARNs on them.  The record is an mmu_notifier so that the kernel tells us,
 * through ->release, when the mm goes away; only exported API is used.
 *
 * The record is found by mm pointer through an RCU hash, so the hot paths
 * (protect, UFFDIO_API) never take a lock and never touch the notifier.
 */
#include <linux/hashtable.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "uffd_wpu.h"

enum {
	WPU_MM_HELD,		/* we own the long-lived notifier reference */
	WPU_MM_OPTED_IN,	/* opted in through /dev/uffd-wpu */
};

struct wpu_mm {
	struct mmu_notifier mn;
	struct hlist_node node;
	unsigned long flags;
	spinlock_t req_lock;		/* protects reqs */
	struct list_head reqs;		/* UFFDIO_WRITEPROTECT calls in flight */
	struct rcu_head rcu;
};

static DEFINE_HASHTABLE(wpu_mm_hash, 8);
static DEFINE_SPINLOCK(wpu_mm_lock);
static atomic64_t wpu_nr_tracked = ATOMIC64_INIT(0);
static atomic_t wpu_nr_opted_in = ATOMIC_INIT(0);

static struct wpu_mm *wpu_mm_find(struct mm_struct *mm)
{
	struct wpu_mm *rec;

	hash_for_each_possible_rcu(wpu_mm_hash, rec, node, (unsigned long)mm)
		if (rec->mn.mm == mm)
			return rec;
	return NULL;
}

static struct mmu_notifier *wpu_mn_alloc(struct mm_struct *mm)
{
	struct wpu_mm *rec = kzalloc(sizeof(*rec), GFP_KERNEL);

	if (!rec)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&rec->req_lock);
	INIT_LIST_HEAD(&rec->reqs);
	/* Dropped in wpu_mn_free(), after the mm is gone.  Fails on unload. */
	if (!try_module_get(THIS_MODULE)) {
		kfree(rec);
		return ERR_PTR(-ENODEV);
	}
	atomic64_inc(&wpu_nr_tracked);
	return &rec->mn;
}

/* The mm is being torn down: no fault, protect or zap can reach us again. */
static void wpu_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct wpu_mm *rec = container_of(mn, struct wpu_mm, mn);

	spin_lock(&wpu_mm_lock);
	if (!hlist_unhashed(&rec->node))
		hash_del_rcu(&rec->node);
	spin_unlock(&wpu_mm_lock);

	if (test_and_clear_bit(WPU_MM_OPTED_IN, &rec->flags))
		atomic_dec(&wpu_nr_opted_in);
	if (test_and_clear_bit(WPU_MM_HELD, &rec->flags))
		mmu_notifier_put(mn);
}

static void wpu_mn_free(struct mmu_notifier *mn)
{
	struct wpu_mm *rec = container_of(mn, struct wpu_mm, mn);

	atomic64_dec(&wpu_nr_tracked);
	/* Lockless readers of the hash may still look at it. */
	kfree_rcu(rec, rcu);
	module_put(THIS_MODULE);
}

static const struct mmu_notifier_ops wpu_mn_ops = {
	.release = wpu_mn_release,
	.alloc_notifier = wpu_mn_alloc,
	.free_notifier = wpu_mn_free,
};

/*
 * Find or create the record of @mm.  The caller must keep mm_users above
 * zero (current->mm, or an mmget()).  Takes mmap_lock for writing when the
 * record is new, so it must not be called with mmap_lock held.
 */
static struct wpu_mm *wpu_mm_get(struct mm_struct *mm)
{
	struct mmu_notifier *mn;
	struct wpu_mm *rec;

	rcu_read_lock();
	rec = wpu_mm_find(mm);
	rcu_read_unlock();
	if (rec)
		return rec;

	mn = mmu_notifier_get(&wpu_mn_ops, mm);
	if (IS_ERR(mn))
		return ERR_CAST(mn);
	rec = container_of(mn, struct wpu_mm, mn);

	/* Keep exactly one reference, the one ->release drops. */
	if (test_and_set_bit(WPU_MM_HELD, &rec->flags)) {
		mmu_notifier_put(mn);
		return rec;
	}
	spin_lock(&wpu_mm_lock);
	hash_add_rcu(wpu_mm_hash, &rec->node, (unsigned long)mm);
	spin_unlock(&wpu_mm_lock);
	return rec;
}

int wpu_track_mm(struct mm_struct *mm)
{
	struct wpu_mm *rec;

	if (!mmget_not_zero(mm))
		return -ESRCH;
	rec = wpu_mm_get(mm);
	mmput(mm);
	return PTR_ERR_OR_ZERO(rec);
}

int wpu_optin(struct mm_struct *mm)
{
	struct wpu_mm *rec;

	if (!READ_ONCE(wpu_enabled))
		return -EPERM;
	rec = wpu_mm_get(mm);
	if (IS_ERR(rec))
		return PTR_ERR(rec);
	if (!test_and_set_bit(WPU_MM_OPTED_IN, &rec->flags))
		atomic_inc(&wpu_nr_opted_in);
	return 0;
}

void wpu_optout(struct mm_struct *mm)
{
	struct wpu_mm *rec;

	rcu_read_lock();
	rec = wpu_mm_find(mm);
	if (rec && test_and_clear_bit(WPU_MM_OPTED_IN, &rec->flags))
		atomic_dec(&wpu_nr_opted_in);
	rcu_read_unlock();
}

bool wpu_mm_opted_in(struct mm_struct *mm)
{
	struct wpu_mm *rec;
	bool ret;

	if (!atomic_read(&wpu_nr_opted_in))
		return false;
	rcu_read_lock();
	rec = wpu_mm_find(mm);
	ret = rec && test_bit(WPU_MM_OPTED_IN, &rec->flags);
	rcu_read_unlock();
	return ret;
}

/*
 * UFFDIO_WRITEPROTECT returns what change_protection() returned on 6.4+
 * (-ENOMEM when a page table could not be allocated), but on older kernels
 * nothing between the ioctl and change_protection() passes an error on.  The
 * ioctl wrapper registers the call here; the protect pass, running in the
 * same task, reports into it.  The caller holds an mm_users reference.
 */
void wpu_protect_begin(struct mm_struct *mm, struct wpu_protect_req *req)
{
	struct wpu_mm *rec;

	req->task = current;
	req->err = 0;
	INIT_LIST_HEAD(&req->node);
	rcu_read_lock();
	rec = wpu_mm_find(mm);
	if (rec) {
		spin_lock(&rec->req_lock);
		list_add(&req->node, &rec->reqs);
		spin_unlock(&rec->req_lock);
	}
	rcu_read_unlock();
}

int wpu_protect_end(struct mm_struct *mm, struct wpu_protect_req *req)
{
	struct wpu_mm *rec;

	rcu_read_lock();
	rec = wpu_mm_find(mm);
	if (rec) {
		spin_lock(&rec->req_lock);
		list_del_init(&req->node);
		spin_unlock(&rec->req_lock);
	}
	rcu_read_unlock();
	return req->err;
}

void wpu_protect_report(struct mm_struct *mm, int err)
{
	struct wpu_protect_req *req;
	struct wpu_mm *rec;

	rcu_read_lock();
	rec = wpu_mm_find(mm);
	if (rec) {
		spin_lock(&rec->req_lock);
		list_for_each_entry(req, &rec->reqs, node)
			if (req->task == current && !req->err)
				req->err = err;
		spin_unlock(&rec->req_lock);
	}
	rcu_read_unlock();
}

/* Called from ftrace callbacks too: lockless, no sleeping. */
bool wpu_mm_tracked(struct mm_struct *mm)
{
	bool ret;

	if (!atomic64_read(&wpu_nr_tracked))
		return false;
	rcu_read_lock();
	ret = wpu_mm_find(mm);
	rcu_read_unlock();
	return ret;
}

u64 wpu_tracked_mms(void)
{
	return atomic64_read(&wpu_nr_tracked);
}

static void wpu_pin_forever(void)
{
	/* The parent's record pins us, so the module is live here. */
	__module_get(THIS_MODULE);
	pr_warn("cannot track a fork child (out of memory); module pinned until reboot\n");
}

int wpu_track_init(void)
{
	return 0;
}

/* Only reached with no tracked mm left: wait for their free callbacks. */
void wpu_track_exit(void)
{
	mmu_notifier_synchronize();
	rcu_barrier();
}

/*
 * fork() with UFFD_FEATURE_EVENT_FORK copies protected holes into the child
 * (the child VMA stays uffd-wp registered).  The child's new contexts are
 * listed here, after dup_mmap() dropped the mmap locks and before the child
 * can run: track the child mm, and carry the parent mm's opt-in over into
 * the child context the way a negotiated feature bit is carried.
 */
static unsigned long wpu_orig_dup_complete;

static void wpu_dup_userfaultfd_complete(struct list_head *fcs)
{
	struct wpu_uffd_fork_ctx *fctx;

	wpu_enter();
	list_for_each_entry(fctx, fcs, list) {
		struct wpu_uffd_ctx *new = fctx->new;
		bool holes;

		holes = (READ_ONCE(fctx->orig->features) &
			 WPU_FEATURE_WP_UNPOPULATED) ||
			wpu_mm_opted_in(fctx->orig->mm);
		if (!holes || !new)
			continue;
		/*
		 * Untracked, the child's copied holes could outlive the
		 * module.  If the child cannot be tracked (out of memory),
		 * pin the module for good rather than risk that.
		 */
		if (wpu_track_mm(new->mm))
			wpu_pin_forever();
		wpu_ctx_add_features(new, WPU_FEATURE_WP_UNPOPULATED);
		wpu_count(fork_tracked);
	}
	WPU_CALL_ORIG(wpu_orig_dup_complete, wpu_dup_userfaultfd_complete, fcs);
	wpu_leave();
}

/* Almost every fork has no userfaultfd context to hand over. */
static bool wpu_dup_complete_wants(struct pt_regs *regs)
{
	return !list_empty((struct list_head *)regs_get_kernel_argument(regs, 0));
}

struct wpu_hook wpu_track_hooks[] = {
	{
		.name = "dup_userfaultfd_complete",
		.wrapper = wpu_dup_userfaultfd_complete,
		.orig = &wpu_orig_dup_complete,
		.wants = wpu_dup_complete_wants,
	},
};

const unsigned int wpu_track_nr_hooks = ARRAY_SIZE(wpu_track_hooks);
