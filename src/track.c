// SPDX-License-Identifier: GPL-2.0
/*
 * Per-mm state.
 *
 * An mm is "tracked" from the moment a hole in it may get protected (a
 * context of the mm negotiated WP_UNPOPULATED, or the mm opted in) until the
 * mm is torn down.  Tracking does two things: it remembers the per-mm
 * opt-in, and it pins the module, because pte markers left behind by an
 * unloaded module would meet stock code that WARNs on them.  The record is
 * an mmu_notifier so that the kernel tells us, through ->release, when the
 * mm goes away; only exported API is used.
 *
 * The invariant every other file relies on: an mm that may hold a protected
 * hole is tracked.  Holes are only ever made by a protect pass, which checks
 * (wpu_mm_protects()) and remembers (WPU_MM_HOLES) it, or copied by fork
 * into a child, which is tracked before it can run whenever the parent may
 * hold holes.  Whether the parent's context still asks for holes, or the
 * parent is still opted in, does not matter for that: what it already
 * protected is copied all the same.
 *
 * Registering a notifier runs mm_take_all_locks() (a global mutex, and
 * every mapped file's i_mmap_rwsem for writing), so it is done lazily: a
 * fork child whose parent never protected a hole is not tracked at fork,
 * even if its context inherits WP_UNPOPULATED (or the parent's opt-in); it
 * is tracked by its first protect request instead (wpu_protect_begin(),
 * wpu_track_holes()).  Only a WP_ASYNC context, whose PAGEMAP_SCAN must
 * keep working, makes the child tracked at fork anyway.
 *
 * The record is found by mm pointer through an RCU hash, so the hot paths
 * (protect, UFFDIO_API) never take a lock and never touch the notifier.
 */
#include <linux/hashtable.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "wpu_kernel.h"

enum {
	WPU_MM_HELD,		/* we own the long-lived notifier reference */
	WPU_MM_OPTED_IN,	/* opted in through /dev/uffd-wpu */
	WPU_MM_HOLES,		/* a hole may have been protected here */
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
 * mmu_notifier_get() fails with -EINTR whenever the caller has a signal
 * pending (mm_take_all_locks() gives up), which is common in programs that
 * fork a lot or use timers: UFFDIO_API, OPTIN or tracking a fork child
 * would fail for no reason the caller could act on.  A worker has no
 * signals, so it registers the notifier instead, while the caller waits.
 */
struct wpu_get_work {
	struct work_struct work;
	struct mm_struct *mm;
	struct mmu_notifier *mn;
};

static struct workqueue_struct *wpu_track_wq;

static void wpu_get_worker(struct work_struct *work)
{
	struct wpu_get_work *gw = container_of(work, struct wpu_get_work, work);

	gw->mn = mmu_notifier_get(&wpu_mn_ops, gw->mm);
}

/* The caller holds mm_users and no mmap_lock. */
static struct mmu_notifier *wpu_mn_get(struct mm_struct *mm)
{
	struct wpu_get_work gw = { .mm = mm };

	if (atomic_dec_if_positive(&wpu_fail_track) >= 0)
		gw.mn = ERR_PTR(-EINTR);	/* testing: as if a signal came */
	else
		gw.mn = mmu_notifier_get(&wpu_mn_ops, mm);
	if (PTR_ERR_OR_ZERO(gw.mn) != -EINTR || fatal_signal_pending(current))
		return gw.mn;
	INIT_WORK_ONSTACK(&gw.work, wpu_get_worker);
	queue_work(wpu_track_wq, &gw.work);
	flush_work(&gw.work);
	destroy_work_on_stack(&gw.work);
	return gw.mn;
}

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

	mn = wpu_mn_get(mm);
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

/*
 * Before a protect request that may make holes in @mm: track it now (it may
 * be a fork child whose tracking was left for later).  No mmap_lock held;
 * the caller holds mm_users.
 */
int wpu_track_holes(struct mm_struct *mm)
{
	struct wpu_mm *rec;

	rcu_read_lock();
	rec = wpu_mm_find(mm);
	rcu_read_unlock();
	if (rec)
		return 0;
	return wpu_track_mm(mm);
}

/*
 * May a protect pass make holes in @mm?  Only if the mm is tracked, which
 * every protect request has made sure of (wpu_track_holes()); this is the
 * last line of the invariant, not a policy.  Remembers that holes may now
 * exist, so that fork children get tracked.  mmap_lock held; lockless.
 */
bool wpu_mm_protects(struct mm_struct *mm)
{
	struct wpu_mm *rec;

	wpu_mmap_assert_locked(mm);
	rcu_read_lock();
	rec = wpu_mm_find(mm);
	if (rec && !test_bit(WPU_MM_HOLES, &rec->flags))
		set_bit(WPU_MM_HOLES, &rec->flags);
	rcu_read_unlock();
	return rec;
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
	req->err = wpu_track_holes(mm);
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

static void wpu_pin_forever(int err)
{
	/* The parent's record pins us, so the module is live here. */
	__module_get(THIS_MODULE);
	pr_warn("cannot track a fork child (%d); module pinned until reboot\n",
		err);
}

/*
 * A fork child that may hold holes must be tracked before it runs (fork.c).  If it
 * cannot be (out of memory), keep the module for good rather than let its
 * holes outlive it.  -EINTR means a fatal signal: copy_process() then
 * fails the fork after this, and the child never runs.
 */
void wpu_track_child(struct mm_struct *mm, bool holes)
{
	struct wpu_mm *rec;

	if (!mmget_not_zero(mm))
		return;		/* its fork failed: nothing will run there */
	rec = wpu_mm_get(mm);
	mmput(mm);
	if (IS_ERR(rec)) {
		if (PTR_ERR(rec) != -EINTR)
			wpu_pin_forever(PTR_ERR(rec));
		return;
	}
	if (holes)
		set_bit(WPU_MM_HOLES, &rec->flags);
	wpu_count(fork_tracked);
}

int wpu_track_init(void)
{
	wpu_track_wq = alloc_workqueue("uffd_wpu_track", 0, 0);
	return wpu_track_wq ? 0 : -ENOMEM;
}

/* Only reached with no tracked mm left: wait for their free callbacks. */
void wpu_track_exit(void)
{
	/* Its work items live on their callers' stacks: none is left. */
	destroy_workqueue(wpu_track_wq);
	mmu_notifier_synchronize();
	rcu_barrier();
}

/*
 * @mm may hold holes (it protected some, or inherited some), which stock
 * fork copies into a child.  Lockless, also called from ftrace callbacks.
 */
bool wpu_mm_may_hold_holes(struct mm_struct *mm)
{
	struct wpu_mm *rec;
	bool ret;

	if (!atomic64_read(&wpu_nr_tracked))
		return false;
	rcu_read_lock();
	rec = wpu_mm_find(mm);
	ret = rec && test_bit(WPU_MM_HOLES, &rec->flags);
	rcu_read_unlock();
	return ret;
}
