// SPDX-License-Identifier: GPL-2.0
/*
 * Distributed guest memory: the coherence protocol (coh.c) bound to the
 * guest-memory file (mem.c) and to the peers' links (peer.c).
 *
 * Every page of a VM with a cluster has a local state here (rights:
 * none, read-only, writable) and, at its home node, a directory entry.
 * The page's data is the guest-memory file's page-cache folio on every
 * node; at a node without rights it may be stale, and no mapping of it
 * exists.
 *
 *   fault (mem.c) --> bigiron_dsm_access() --> bi_coh_access() --> send
 *     ^  waits: killable, bounded, no lock held                       |
 *     +-- complete() <-- bi_coh_recv() <-- rx work (peer.c) <---------+
 *
 * Rights and mappings: a fault holds the page's bucket lock while it
 * checks the rights and locks the folio, and returns the folio locked to
 * the fault core, which installs the PTE before unlocking it.  Rights are
 * only taken away under the bucket lock, with the folio locked while the
 * mappings are removed (unmap_mapping_range()) or write-protected
 * (folio_mkclean()).  So a PTE is never installed after the rights it
 * relied on are gone: the revocation either runs first (and the fault
 * sees no rights) or waits for the folio lock and removes the new PTE.
 * KVM's SPTEs follow the PTEs through its MMU notifier.
 *
 * Locking, outermost first (see also mem.c and cluster.h):
 *   mmap_lock (held by the fault core)
 *     bigiron_dsm_bucket.lock (mutex, per group of pages)
 *       folio lock
 *         i_mmap_rwsem, page-table locks, KVM's mmu_lock (unmaps)
 *       bigiron_peer.lock (inside ops->send, BHs off)
 *         bigiron_dsm.tick_lock (a peer's death queues the tick)
 *       xa_lock of bigiron_dsm.meta (busy marks; BH-safe: the receive
 *       handler makes metadata under a peer lock)
 *       bigiron_dsm.tick_lock (arming the timer)
 *   bigiron_dsm_chain.lock (spinlock, nothing taken inside)
 * No lock is held across a wait for the network.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/hash.h>
#include <linux/highmem.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/rmap.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "cluster.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

static unsigned int fault_timeout_ms = 10000;
module_param(fault_timeout_ms, uint, 0644);
MODULE_PARM_DESC(fault_timeout_ms,
		 "A fault waiting on another node fails (SIGBUS) after this many ms; read at SET_CLUSTER (default 10000, 100..600000)");

static unsigned int home_timeout_ms = 20000;
module_param(home_timeout_ms, uint, 0644);
MODULE_PARM_DESC(home_timeout_ms,
		 "A home node gives a page up as lost when a node does not answer its request for this many ms; read at SET_CLUSTER (default 20000, 100..600000)");

static unsigned int fault_queue_len = 4;
module_param(fault_queue_len, uint, 0644);
MODULE_PARM_DESC(fault_queue_len,
		 "Requests for one page a home queues before it asks nodes to retry; read at SET_CLUSTER (default 4, 1..8)");

static unsigned int hold_min_us = 200;
module_param(hold_min_us, uint, 0644);
MODULE_PARM_DESC(hold_min_us,
		 "A node keeps a page it waited for this many us after its fault used it, before giving it to another node; read at SET_CLUSTER (default 200, at most hold_max_us)");

static unsigned int hold_max_us = 10000;
module_param(hold_max_us, uint, 0644);
MODULE_PARM_DESC(hold_max_us,
		 "... and this many us after it arrived if no fault used it; 0: no holds (pages contended by several nodes may then starve a node); read at SET_CLUSTER (default 10000, at most 1000000)");

static unsigned int prefetch_pages = 16;
module_param(prefetch_pages, uint, 0644);
MODULE_PARM_DESC(prefetch_pages,
		 "A remote read next to a page this node holds asks for up to this many more pages in that direction, without waiting for them; 0: off; read at SET_CLUSTER (default 16, at most 64)");

/* Most pages a read stream asks ahead (prefetch_pages). */
#define BIGIRON_DSM_PREFETCH_MAX	64U

/* Range of the time parameters above, in ms. */
#define BIGIRON_DSM_MS_MIN	100U
#define BIGIRON_DSM_MS_MAX	600000U

static struct bigiron_dsm_bucket *bigiron_dsm_bucket(struct bigiron_dsm *dsm,
						     u64 page)
{
	return &dsm->buckets[page & (BIGIRON_DSM_BUCKETS - 1)];
}

static struct address_space *bigiron_dsm_mapping(struct bigiron_cluster *cl)
{
	return cl->vm->inode->i_mapping;
}

/* ---- metadata: made per chunk of pages on first use --------------------- */

static struct kmem_cache *bigiron_dsm_chunk_cache;
static struct kmem_cache *bigiron_dsm_dir_cache;

/* @page's chunk, or NULL if none of its pages was used yet.  Context: any. */
static struct bigiron_dsm_chunk *bigiron_dsm_chunk(struct bigiron_dsm *dsm,
						   u64 page)
{
	return xa_load(&dsm->meta, page >> BIGIRON_DSM_CHUNK_SHIFT);
}

/*
 * @page's local state for an unlocked peek: NULL when the page was never
 * used here (no rights, no flags).
 */
static const struct bi_coh_local *bigiron_dsm_peek(struct bigiron_dsm *dsm,
						   u64 page)
{
	struct bigiron_dsm_chunk *c = bigiron_dsm_chunk(dsm, page);

	return c ? &c->local[page & (BIGIRON_DSM_CHUNK - 1)] : NULL;
}

/*
 * Make @page's metadata if it does not exist yet: before any protocol
 * call on the page.  A chunk holds directory entries when this node is
 * home for one of its pages.
 * Context: process (may sleep, with @gfp), or softirq with GFP_ATOMIC.
 * Return: 0 or -ENOMEM.
 */
static int bigiron_dsm_meta(struct bigiron_dsm *dsm, u64 page, gfp_t gfp)
{
	unsigned long idx = page >> BIGIRON_DSM_CHUNK_SHIFT;
	u64 first = (u64)idx << BIGIRON_DSM_CHUNK_SHIFT;
	struct bigiron_dsm_chunk *c, *old;

	if (likely(xa_load(&dsm->meta, idx)))
		return 0;
	c = kmem_cache_zalloc(bigiron_dsm_chunk_cache, gfp);
	if (!c)
		return -ENOMEM;
	if (dsm->home_nr && first < dsm->home_first + dsm->home_nr &&
	    dsm->home_first < first + BIGIRON_DSM_CHUNK) {
		c->dir = kmem_cache_zalloc(bigiron_dsm_dir_cache, gfp);
		if (!c->dir) {
			kmem_cache_free(bigiron_dsm_chunk_cache, c);
			return -ENOMEM;
		}
	}
	old = xa_cmpxchg_bh(&dsm->meta, idx, NULL, c, gfp);
	if (!old)
		return 0;
	/* another CPU made it first, or no memory for the index */
	if (c->dir)
		kmem_cache_free(bigiron_dsm_dir_cache, c->dir);
	kmem_cache_free(bigiron_dsm_chunk_cache, c);
	return xa_is_err(old) ? xa_err(old) : 0;
}

/*
 * Mark @page busy or not, and its chunk for the tick.  Context: under the
 * page's bucket lock (so the page's own bit cannot change meanwhile).
 */
static void bigiron_dsm_set_busy(struct bigiron_dsm *dsm, u64 page,
				 bool busy)
{
	unsigned long idx = page >> BIGIRON_DSM_CHUNK_SHIFT;
	u32 bit = BIT(page & (BIGIRON_DSM_CHUNK - 1));
	struct bigiron_dsm_chunk *c = xa_load(&dsm->meta, idx);

	lockdep_assert_held(&bigiron_dsm_bucket(dsm, page)->lock);

	if (WARN_ON_ONCE(!c) || !!(READ_ONCE(c->busy) & bit) == busy)
		return;
	xa_lock_bh(&dsm->meta);
	if (busy) {
		WRITE_ONCE(c->busy, c->busy | bit);
		__xa_set_mark(&dsm->meta, idx, XA_MARK_0);
	} else {
		WRITE_ONCE(c->busy, c->busy & ~bit);
		if (!c->busy)
			__xa_clear_mark(&dsm->meta, idx, XA_MARK_0);
	}
	xa_unlock_bh(&dsm->meta);
}

/* ---- protocol callbacks (coh.h); all run under the page's bucket lock -- */

static u16 bigiron_dsm_home(void *priv, u64 page)
{
	struct bigiron_cluster *cl = priv;
	u64 addr = page << PAGE_SHIFT;
	unsigned int i;

	for (i = 0; i < cl->nr_nodes; i++)
		if (addr - cl->nodes[i].home_start < cl->nodes[i].home_size)
			return i;
	/* SET_CLUSTER checked that the ranges tile the memory */
	WARN_ON_ONCE(1);
	return cl->self;
}

/*
 * Both run on a page whose metadata bigiron_dsm_meta() made before the
 * protocol call.
 */
static struct bi_coh_dir *bigiron_dsm_dir(void *priv, u64 page)
{
	struct bigiron_cluster *cl = priv;
	struct bigiron_dsm *dsm = &cl->dsm;
	struct bigiron_dsm_chunk *c;

	if (page - dsm->home_first >= dsm->home_nr)
		return NULL;
	c = bigiron_dsm_chunk(dsm, page);
	if (WARN_ON_ONCE(!c || !c->dir)) {
		memset(&dsm->scratch_dir, 0, sizeof(dsm->scratch_dir));
		return &dsm->scratch_dir;
	}
	return &c->dir[page & (BIGIRON_DSM_CHUNK - 1)];
}

/* The page's local state; its metadata exists (else a warning). */
static struct bi_coh_local *bigiron_dsm_held(struct bigiron_dsm *dsm, u64 page)
{
	struct bigiron_dsm_chunk *c = bigiron_dsm_chunk(dsm, page);

	if (WARN_ON_ONCE(!c)) {
		memset(&dsm->scratch, 0, sizeof(dsm->scratch));
		return &dsm->scratch;
	}
	return &c->local[page & (BIGIRON_DSM_CHUNK - 1)];
}

static struct bi_coh_local *bigiron_dsm_local(void *priv, u64 page)
{
	struct bigiron_cluster *cl = priv;

	return bigiron_dsm_held(&cl->dsm, page);
}

static void bigiron_dsm_send(void *priv, const struct bi_coh_msg *m,
			     bool data)
{
	struct bigiron_cluster *cl = priv;
	struct bi_wire_hdr h = {
		.type = m->type,
		.flags = m->flags,
		.txid = m->txid,
		.page = m->page,
		.payload_len = data ? BI_PAGE_SIZE : 0,
	};
	struct folio *folio = NULL;
	const u8 *src = NULL;

	if (data) {
		/* write access is revoked: the folio cannot change now */
		folio = filemap_get_folio(bigiron_dsm_mapping(cl), m->page);
		if (folio)
			src = kmap_local_folio(folio, 0);
		else
			src = page_address(ZERO_PAGE(0));	/* never touched */
	}
	trace_bigiron_send(cl->vm->id, m->node, m->type, m->txid, m->page,
			   h.payload_len);
	bigiron_peer_send(cl->peers[m->node], &h, src);
	if (folio) {
		kunmap_local(src);
		folio_put(folio);
	}
}

static void bigiron_dsm_copy_in(void *priv, u64 page, const u8 *data)
{
	struct bigiron_cluster *cl = priv;
	struct folio *folio;
	void *dst;

	folio = __filemap_get_folio(bigiron_dsm_mapping(cl), page,
				    FGP_LOCK | FGP_CREAT,
				    GFP_HIGHUSER | __GFP_NOFAIL);
	if (WARN_ON_ONCE(!folio)) {
		/* cannot happen with __GFP_NOFAIL; never map stale data */
		bigiron_dsm_local(cl, page)->flags |= BI_LF_BROKEN;
		return;
	}
	/* no mapping of the page exists: the protocol removed them */
	dst = kmap_local_folio(folio, 0);
	memcpy(dst, data, PAGE_SIZE);
	kunmap_local(dst);
	flush_dcache_folio(folio);
	folio_mark_uptodate(folio);
	folio_unlock(folio);
	folio_put(folio);
}

/* Rights are granted by the fault path, which maps what it returns. */
static void bigiron_dsm_map(void *priv, u64 page)
{
}

static void bigiron_dsm_revoke(struct bigiron_cluster *cl, u64 page,
			       bool unmap)
{
	struct address_space *mapping = bigiron_dsm_mapping(cl);
	struct folio *folio;

	trace_bigiron_revoke(cl->vm->id, page, unmap);
	/* no folio, no mapping */
	folio = filemap_lock_folio(mapping, page);
	if (!folio)
		return;
	if (unmap)
		unmap_mapping_range(mapping, (loff_t)page << PAGE_SHIFT,
				    PAGE_SIZE, 0);
	else if (folio_mkclean(folio))
		folio_mark_dirty(folio);
	folio_unlock(folio);
	folio_put(folio);
}

static void bigiron_dsm_wrprotect(void *priv, u64 page)
{
	bigiron_dsm_revoke(priv, page, false);
}

static void bigiron_dsm_unmap(void *priv, u64 page)
{
	bigiron_dsm_revoke(priv, page, true);
}

static void bigiron_dsm_complete(void *priv, u64 page, int err)
{
	struct bigiron_cluster *cl = priv;
	struct bigiron_dsm_bucket *b = bigiron_dsm_bucket(&cl->dsm, page);

	lockdep_assert_held(&b->lock);

	WRITE_ONCE(b->gen, b->gen + 1);
	wake_up_all(&b->wq);
}

static const struct bi_coh_ops bigiron_dsm_ops = {
	.home		= bigiron_dsm_home,
	.dir		= bigiron_dsm_dir,
	.local		= bigiron_dsm_local,
	.send		= bigiron_dsm_send,
	.copy_in	= bigiron_dsm_copy_in,
	.map_ro		= bigiron_dsm_map,
	.map_rw		= bigiron_dsm_map,
	.wrprotect	= bigiron_dsm_wrprotect,
	.unmap		= bigiron_dsm_unmap,
	.complete	= bigiron_dsm_complete,
};

/*
 * A node that is not the page's home and has no rights on it holds no
 * memory for it: the stale copy goes, once the protocol has sent what it
 * needed from it.  (The home keeps its folio: it is the page's backing.)
 * Truncation locks the folio, so a fault still installing it finishes
 * first and its PTE is then removed.
 */
static void bigiron_dsm_release_copy(struct bigiron_dsm *dsm, u64 page)
{
	struct bigiron_cluster *cl = container_of(dsm, struct bigiron_cluster,
						  dsm);
	struct address_space *mapping = bigiron_dsm_mapping(cl);
	loff_t start = (loff_t)page << PAGE_SHIFT;
	struct folio *folio;

	folio = filemap_get_folio(mapping, page);
	if (!folio)
		return;
	folio_put(folio);
	truncate_inode_pages_range(mapping, start, start + PAGE_SIZE - 1);
}

/* ---- deadlines ----------------------------------------------------------- */

/* Run the tick work at @at (ns, CLOCK_MONOTONIC) at the latest. */
static void bigiron_dsm_arm(struct bigiron_dsm *dsm, u64 at)
{
	if (!at)
		return;
	spin_lock_bh(&dsm->tick_lock);
	if (!dsm->stopping && (!dsm->tick_at || at < dsm->tick_at)) {
		dsm->tick_at = at;
		hrtimer_start(&dsm->tick_timer, ns_to_ktime(at),
			      HRTIMER_MODE_ABS_SOFT);
	}
	spin_unlock_bh(&dsm->tick_lock);
}

/*
 * After every protocol call on @page: keep the busy set and the timer in
 * step with the page's deadlines.  bi_coh_tick() only acts on expired
 * deadlines and on dead nodes, so calling it here is harmless.
 */
static void bigiron_dsm_settle(struct bigiron_dsm *dsm,
			       struct bigiron_dsm_bucket *b, u64 page, u64 now)
{
	u64 next;

	lockdep_assert_held(&b->lock);

	next = bi_coh_tick(&dsm->cn, &b->st, page, now);
	if (bigiron_dsm_held(dsm, page)->state == BI_L_INVALID &&
	    page - dsm->home_first >= dsm->home_nr)
		bigiron_dsm_release_copy(dsm, page);
	if (bi_coh_busy(&dsm->cn, page)) {
		bigiron_dsm_set_busy(dsm, page, true);
		bigiron_dsm_arm(dsm, next);
	} else {
		bigiron_dsm_set_busy(dsm, page, false);
	}
}

static enum hrtimer_restart bigiron_dsm_timer(struct hrtimer *t)
{
	struct bigiron_dsm *dsm = container_of(t, struct bigiron_dsm,
					       tick_timer);

	spin_lock_bh(&dsm->tick_lock);
	dsm->tick_at = 0;
	if (!dsm->stopping)
		queue_work(system_highpri_wq, &dsm->tick_work);
	spin_unlock_bh(&dsm->tick_lock);
	return HRTIMER_NORESTART;
}

/* Deadlines, NACK resends and dead nodes of every busy page. */
static void bigiron_dsm_tick_work(struct work_struct *work)
{
	struct bigiron_dsm *dsm = container_of(work, struct bigiron_dsm,
					       tick_work);
	struct bigiron_dsm_bucket *b;
	struct bigiron_dsm_chunk *c;
	unsigned long idx;
	u32 busy;
	u64 page;

	/* only the chunks with a busy page, not the whole VM */
	xa_for_each_marked(&dsm->meta, idx, c, XA_MARK_0) {
		busy = READ_ONCE(c->busy);
		while (busy) {
			page = ((u64)idx << BIGIRON_DSM_CHUNK_SHIFT) +
			       __ffs(busy);
			busy &= busy - 1;
			b = bigiron_dsm_bucket(dsm, page);
			mutex_lock(&b->lock);
			bigiron_dsm_settle(dsm, b, page, ktime_get_ns());
			mutex_unlock(&b->lock);
			cond_resched();
		}
	}
}

/**
 * bigiron_dsm_node_dead - the link to @node gave up
 * @cl: node instance
 * @node: the dead peer
 *
 * Context: softirq or process with BHs off (under the peer lock).  Waits
 * on @node end at the tick.
 */
void bigiron_dsm_node_dead(struct bigiron_cluster *cl, u16 node)
{
	struct bigiron_dsm *dsm = &cl->dsm;

	if (!dsm->buckets)
		return;
	bi_coh_mark_dead(&dsm->cn, node);
	spin_lock_bh(&dsm->tick_lock);
	if (!dsm->stopping)
		queue_work(system_highpri_wq, &dsm->tick_work);
	spin_unlock_bh(&dsm->tick_lock);
}

/* ---- fault chains ---------------------------------------------------------- */

/*
 * An instruction that needs several pages another node also uses faults on
 * them one at a time, and its vCPU runs only once it has all of them: a
 * page-table walk needs every level, a copy both of its pages.  The hold a
 * page gets (hold_min_us after its fault) can end while the next one is
 * fetched, and the other node takes it back; when that node's vCPU does the
 * same, neither instruction completes until timing happens to let one
 * through.  So the remote faults of one task that follow each other within
 * hold_min_us form a chain: while one of them waits, the chain's earlier
 * pages stay held (bi_coh_hold_extend()), at most until hold_max_us after
 * the chain began, the bound of every hold; once it has its page, they get
 * hold_min_us more (bi_coh_hold_ease()).  A chain that reaches hold_max_us
 * starts again.
 */
static struct bigiron_dsm_chain *bigiron_dsm_chain(struct bigiron_dsm *dsm)
{
	return &dsm->chains[hash_32(task_pid_nr(current),
				    ilog2(BIGIRON_DSM_CHAINS))];
}

/* A remote fault on @page begins.  Context: no lock held; sleeps. */
static void bigiron_dsm_chain_begin(struct bigiron_dsm *dsm, u64 page,
				    u64 now)
{
	const struct bi_coh_params *p = &dsm->cn.params;
	struct bigiron_dsm_chain *c = bigiron_dsm_chain(dsm);
	u64 pages[BIGIRON_DSM_CHAIN_PAGES], until = 0;
	pid_t pid = task_pid_nr(current);
	unsigned int i, nr = 0;

	if (!p->hold_max_ns)
		return;
	spin_lock(&c->lock);
	if (c->pid == pid && c->nr && now - c->end_ns <= p->hold_min_ns &&
	    now < c->start_ns + p->hold_max_ns) {
		nr = c->nr;
		memcpy(pages, c->pages, nr * sizeof(pages[0]));
		until = c->start_ns + p->hold_max_ns;
	} else {
		c->pid = pid;
		c->start_ns = now;
		c->nr = 0;
	}
	spin_unlock(&c->lock);

	/* the timer armed for the old end of a hold finds the new one */
	for (i = 0; i < nr; i++) {
		struct bigiron_dsm_bucket *b = bigiron_dsm_bucket(dsm, pages[i]);

		if (pages[i] == page)
			continue;
		mutex_lock(&b->lock);
		bi_coh_hold_extend(&dsm->cn, pages[i], until, now);
		mutex_unlock(&b->lock);
	}
}

/*
 * The remote fault on @page got its rights.  Context: @page's folio is
 * locked, so other buckets are only trylocked (a page missed keeps its
 * hold to the chain's bound), and a revocation the earlier end of a hold
 * lets through is left to the tick work, which may lock folios.
 */
static void bigiron_dsm_chain_end(struct bigiron_dsm *dsm, u64 page, u64 now)
{
	struct bigiron_dsm_chain *c = bigiron_dsm_chain(dsm);
	u64 pages[BIGIRON_DSM_CHAIN_PAGES];
	unsigned int i, nr = 0;

	if (!dsm->cn.params.hold_max_ns)
		return;
	spin_lock(&c->lock);
	if (c->pid == task_pid_nr(current)) {
		nr = c->nr;
		memcpy(pages, c->pages, nr * sizeof(pages[0]));
		if (c->nr == BIGIRON_DSM_CHAIN_PAGES) {
			memmove(c->pages, c->pages + 1,
				(c->nr - 1) * sizeof(c->pages[0]));
			c->nr--;
		}
		c->pages[c->nr++] = page;
		c->end_ns = now;
	}
	spin_unlock(&c->lock);

	for (i = 0; i < nr; i++) {
		struct bigiron_dsm_bucket *b = bigiron_dsm_bucket(dsm, pages[i]);

		if (pages[i] == page || !mutex_trylock(&b->lock))
			continue;
		bi_coh_hold_ease(&dsm->cn, pages[i], now);
		if (bi_coh_busy(&dsm->cn, pages[i]))
			bigiron_dsm_arm(dsm, now + dsm->cn.params.hold_min_ns);
		mutex_unlock(&b->lock);
	}
}

/* ---- faults ---------------------------------------------------------------- */

static void bigiron_dsm_account(struct bigiron_dsm *dsm, bool write, u64 ns)
{
	u64 us = div_u64(ns, NSEC_PER_USEC);
	unsigned int i = us ? ilog2(us) + 1 : 0;

	if (i >= BIGIRON_DSM_HIST)
		i = BIGIRON_DSM_HIST - 1;
	atomic64_inc(&dsm->hist[write][i]);
	atomic64_inc(write ? &dsm->remote_write_faults :
			     &dsm->remote_read_faults);
}

static void bigiron_dsm_report(struct bigiron_cluster *cl, u64 page,
			       bool write, int err)
{
	u16 home = bigiron_dsm_home(cl, page);
	const char *what = write ? "write" : "read";

	atomic64_inc(&cl->dsm.fault_errors);
	switch (err) {
	case -EHOSTDOWN:
		pr_warn_ratelimited("vm%u: %s of page %#llx failed: its home, node %u, is dead\n",
				    cl->vm->id, what, page, home);
		break;
	case -ETIMEDOUT:
		pr_warn_ratelimited("vm%u: %s of page %#llx failed: no answer from node %u (home) within %u ms\n",
				    cl->vm->id, what, page, home,
				    (u32)div_u64(cl->dsm.cn.params.req_timeout_ns,
						 NSEC_PER_MSEC));
		break;
	case -EIO:
		pr_warn_ratelimited("vm%u: %s of page %#llx failed: the page is lost (its only current copy was on a node that died; home: node %u)\n",
				    cl->vm->id, what, page, home);
		break;
	case -EINTR:
		break;
	default:
		pr_warn_ratelimited("vm%u: %s of page %#llx failed (home: node %u): error %d\n",
				    cl->vm->id, what, page, home, err);
		break;
	}
}

static bool bigiron_dsm_rights(struct bigiron_dsm *dsm, u64 page, bool write)
{
	u8 state = bigiron_dsm_held(dsm, page)->state;

	return write ? state == BI_L_EXCL : state != BI_L_INVALID;
}

/* The fault's own folio, locked, or -EAGAIN if it left the file. */
static struct folio *bigiron_dsm_lock_given(struct bigiron_cluster *cl,
					    struct folio *folio)
{
	folio_lock(folio);
	if (folio->mapping != bigiron_dsm_mapping(cl)) {
		folio_unlock(folio);
		return ERR_PTR(-EAGAIN);
	}
	return folio;
}

/* The folio of @page with current data, locked; under the bucket lock. */
static struct folio *bigiron_dsm_lock_folio(struct bigiron_cluster *cl,
					    u64 page, gfp_t gfp)
{
	struct folio *folio;
	bool home = bigiron_dsm_home(cl, page) == cl->self;

	folio = __filemap_get_folio(bigiron_dsm_mapping(cl), page,
				    FGP_LOCK | FGP_CREAT, gfp);
	if (!folio)
		return ERR_PTR(-ENOMEM);
	if (!folio_test_uptodate(folio)) {
		/*
		 * Only the home may meet a page nobody wrote: it starts as
		 * zeroes.  Elsewhere rights come with the data (copy_in).
		 */
		if (WARN_ON_ONCE(!home)) {
			folio_unlock(folio);
			folio_put(folio);
			return ERR_PTR(-EIO);
		}
		folio_zero_range(folio, 0, folio_size(folio));
		folio_mark_uptodate(folio);
	}
	return folio;
}

/* Does this node hold @page, or has it asked for it ahead? */
static bool bigiron_dsm_near(struct bigiron_dsm *dsm, u64 page, bool ahead)
{
	const struct bi_coh_local *l = bigiron_dsm_peek(dsm, page);

	/* unlocked peeks: a wrong guess only costs a useless request */
	if (!l)
		return false;
	if (ahead)
		return READ_ONCE(l->flags) &
		       (BI_LF_PREFETCH | BI_LF_PREFETCHED);
	return READ_ONCE(l->state) != BI_L_INVALID;
}

/*
 * A read of @page, whose home is another node, missed (@hit false) or
 * used a copy asked for ahead (@hit true).  When a neighbour is already
 * here the guest is likely walking memory in that direction: ask for the
 * pages ahead of it, of the same home, so that their round trips overlap
 * instead of adding up.  A miss asks for the whole window; a hit, which
 * finds the window already asked for, for the one page that keeps it
 * ahead.  Takes each page's bucket lock in turn, and what the protocol
 * does for a page may lock that page's folio (order: bucket lock, then
 * folio lock): the caller holds neither, or two faults prefetching toward
 * each other could each hold the folio the other's prefetch waits for.
 */
static void bigiron_dsm_prefetch(struct bigiron_cluster *cl, u64 page,
				 bool hit)
{
	struct bigiron_dsm *dsm = &cl->dsm;
	u64 nr = dsm->cn.nr_pages, q, now;
	unsigned int n = dsm->prefetch, i;
	struct bigiron_dsm_bucket *b;
	bool up, prev, next;
	u16 home;

	if (!n || page + 1 >= nr || page == 0)
		return;
	prev = bigiron_dsm_near(dsm, page - 1, hit);
	next = bigiron_dsm_near(dsm, page + 1, hit);
	if (prev == next)
		return;		/* no neighbour, or a hole between two */
	/* a miss walks away from the page it holds, a hit into the window */
	up = hit ? next : prev;
	home = bigiron_dsm_home(cl, page);
	for (i = hit ? n : 1; i <= n; i++) {
		q = up ? page + i : page - i;
		/* unsigned: below page 0 wraps above nr */
		if (q >= nr || bigiron_dsm_home(cl, q) != home)
			break;
		if (bigiron_dsm_meta(dsm, q, GFP_KERNEL_ACCOUNT))
			break;
		b = bigiron_dsm_bucket(dsm, q);
		mutex_lock(&b->lock);
		now = ktime_get_ns();
		bi_coh_prefetch(&dsm->cn, &b->st, q, now);
		bigiron_dsm_settle(dsm, b, q, now);
		mutex_unlock(&b->lock);
	}
}

/**
 * bigiron_dsm_access - get the rights a fault on @page needs
 * @cl: node instance
 * @page: page index in the guest-memory file
 * @write: write access wanted
 * @folio: for a write fault on a mapped page (.page_mkwrite), its folio;
 *	NULL for .fault
 * @gfp: allocation flags for a new folio
 *
 * Waits, without any lock held, killable and for fault_timeout_ms at most,
 * for the protocol to grant the rights.
 *
 * Return: the page's folio, locked, with the rights held until it is
 * unlocked (for .fault, with a new reference); or an ERR_PTR(): -EAGAIN
 * (@folio left the file), -EINTR (fatal signal), -ETIMEDOUT, -EHOSTDOWN,
 * -EIO (page lost), -ENOMEM.
 */
struct folio *bigiron_dsm_access(struct bigiron_cluster *cl, u64 page,
				 bool write, struct folio *folio, gfp_t gfp)
{
	struct bigiron_dsm *dsm = &cl->dsm;
	struct bigiron_dsm_bucket *b = bigiron_dsm_bucket(dsm, page);
	u64 start = ktime_get_ns(), now = start, gen;
	u64 end = start + dsm->cn.params.req_timeout_ns;
	bool remote = false;
	long left;
	int err;

	/*
	 * A read that will use a copy asked for ahead keeps the prefetch
	 * window ahead of it, now, before any lock is held (see
	 * bigiron_dsm_prefetch()).  An unlocked peek: a wrong guess costs a
	 * request or leaves the window one page short.
	 */
	err = bigiron_dsm_meta(dsm, page, GFP_KERNEL_ACCOUNT);
	if (err)
		goto fail;
	if (!write &&
	    (READ_ONCE(bigiron_dsm_held(dsm, page)->flags) & BI_LF_PREFETCHED))
		bigiron_dsm_prefetch(cl, page, true);

	for (;;) {
		mutex_lock(&b->lock);
		err = bi_coh_access(&dsm->cn, &b->st, page, write, now);
		/*
		 * Timers of the page first, with no folio locked: they may
		 * act on a revocation that waited for a hold to end, which
		 * locks the folio.  If one took the rights just granted, ask
		 * again.  From the folio lock on, a revocation waits until
		 * the fault core has installed (and then loses) the PTE.
		 */
		bigiron_dsm_settle(dsm, b, page, now);
		if (!err && !bigiron_dsm_rights(dsm, page, write))
			err = -ESTALE;
		else if (!err && !folio)
			folio = bigiron_dsm_lock_folio(cl, page, gfp);
		else if (!err)
			folio = bigiron_dsm_lock_given(cl, folio);
		gen = b->gen;
		mutex_unlock(&b->lock);

		if (!err)
			break;
		if (err != -EAGAIN && err != -ESTALE)
			goto fail;
		if (!remote) {
			remote = true;
			trace_bigiron_fault_begin(cl->vm->id, page, write);
			bigiron_dsm_chain_begin(dsm, page, now);
			if (!write && err == -EAGAIN)
				bigiron_dsm_prefetch(cl, page, false);
		}
		now = ktime_get_ns();
		if (now >= end) {
			err = -ETIMEDOUT;
			goto fail;
		}
		if (err == -ESTALE) {
			/* nothing outstanding: ask again now */
			cond_resched();
			continue;
		}
		left = wait_event_killable_timeout(b->wq,
						   READ_ONCE(b->gen) != gen,
						   nsecs_to_jiffies(end - now) + 1);
		if (left < 0) {
			err = -EINTR;
			goto fail;
		}
		now = ktime_get_ns();
	}
	if (remote) {
		now = ktime_get_ns();
		trace_bigiron_fault_end(cl->vm->id, page, write,
					IS_ERR(folio) ? PTR_ERR(folio) : 0,
					now - start);
		if (!IS_ERR(folio)) {
			bigiron_dsm_account(dsm, write, now - start);
			bigiron_dsm_chain_end(dsm, page, now);
		}
	}
	return folio;

fail:
	if (remote)
		trace_bigiron_fault_end(cl->vm->id, page, write, err,
					ktime_get_ns() - start);
	bigiron_dsm_report(cl, page, write, err);
	return ERR_PTR(err);
}

/* ---- delivery ---------------------------------------------------------- */

/**
 * bigiron_dsm_prepare - make the metadata of the page a message is about
 * @cl: node instance
 * @page: the message's page, checked by bi_wire_decode()
 *
 * Before the link accepts a coherence message: when there is no memory
 * for it, the message is refused and sent again (bi_link_refuse()).
 * Context: softirq, under the sender's peer lock.  Return: 0 or -ENOMEM.
 */
int bigiron_dsm_prepare(struct bigiron_cluster *cl, u64 page)
{
	struct bigiron_dsm *dsm = &cl->dsm;

	if (!dsm->buckets || page >= dsm->cn.nr_pages)
		return 0;	/* bigiron_dsm_recv() drops it */
	return bigiron_dsm_meta(dsm, page, GFP_ATOMIC);
}

/**
 * bigiron_dsm_recv - a coherence message from @node, in order
 * @cl: node instance
 * @node: the sender (authenticated by the link)
 * @h: its header, checked by bi_wire_decode()
 * @data: h->payload_len bytes, or NULL
 *
 * Context: process (the peer's rx work); takes the page's bucket lock.
 */
void bigiron_dsm_recv(struct bigiron_cluster *cl, u16 node,
		      const struct bi_wire_hdr *h, const u8 *data)
{
	struct bigiron_dsm *dsm = &cl->dsm;
	struct bi_coh_msg m = {
		.type = h->type,
		.flags = h->flags,
		.node = node,
		.txid = h->txid,
		.page = h->page,
	};
	struct bigiron_dsm_bucket *b;
	u64 now;

	trace_bigiron_recv(cl->vm->id, node, h->type, h->txid, h->page,
			   data ? h->payload_len : 0);
	if (h->page >= dsm->cn.nr_pages) {
		atomic64_inc(&dsm->drops[BI_COH_DROP_PAGE]);
		return;
	}
	if (data && h->payload_len != BI_PAGE_SIZE) {
		atomic64_inc(&dsm->drops[BI_COH_DROP_DATA]);
		return;
	}
	/*
	 * The receive handler made the page's metadata before the link
	 * acknowledged the message (bigiron_dsm_prepare()); this cannot
	 * allocate, it only finds it.
	 */
	if (WARN_ON_ONCE(bigiron_dsm_meta(dsm, h->page, GFP_NOWAIT)))
		return;
	b = bigiron_dsm_bucket(dsm, h->page);
	mutex_lock(&b->lock);
	now = ktime_get_ns();
	bi_coh_recv(&dsm->cn, &b->st, &m, data, now);
	bigiron_dsm_settle(dsm, b, h->page, now);
	mutex_unlock(&b->lock);
}

/* ---- counters ---------------------------------------------------------- */

/* Sum of every bucket's protocol statistics. */
void bigiron_dsm_stats(struct bigiron_cluster *cl, struct bi_coh_stats *sum)
{
	struct bigiron_dsm *dsm = &cl->dsm;
	const u64 *src;
	u64 *dst = (u64 *)sum;
	unsigned int i, j;

	memset(sum, 0, sizeof(*sum));
	if (!dsm->buckets)
		return;
	for (i = 0; i < BIGIRON_DSM_BUCKETS; i++) {
		mutex_lock(&dsm->buckets[i].lock);
		src = (const u64 *)&dsm->buckets[i].st;
		for (j = 0; j < sizeof(*sum) / sizeof(u64); j++)
			dst[j] += src[j];
		mutex_unlock(&dsm->buckets[i].lock);
	}
}

static int bigiron_dsm_dbg_show(struct seq_file *m, void *unused)
{
	struct bigiron_cluster *cl = m->private;
	struct bigiron_dsm *dsm = &cl->dsm;
	unsigned long idx, chunks = 0, bytes = 0;
	struct bigiron_dsm_chunk *c;
	struct bi_coh_stats *st;
	unsigned int i, busy = 0;

	st = kmalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	bigiron_dsm_stats(cl, st);
	seq_printf(m, "fault_timeout_ms %u\nhome_timeout_ms %u\nqueue_len %u\n",
		   (u32)div_u64(dsm->cn.params.req_timeout_ns, NSEC_PER_MSEC),
		   (u32)div_u64(dsm->cn.params.home_timeout_ns, NSEC_PER_MSEC),
		   dsm->cn.params.qlen);
	seq_printf(m, "hold_min_us %llu\nhold_max_us %llu\n",
		   div_u64(dsm->cn.params.hold_min_ns, NSEC_PER_USEC),
		   div_u64(dsm->cn.params.hold_max_ns, NSEC_PER_USEC));
	xa_for_each(&dsm->meta, idx, c) {
		chunks++;
		bytes += sizeof(*c);
		if (c->dir)
			bytes += BIGIRON_DSM_CHUNK * sizeof(*c->dir);
		busy += hweight32(READ_ONCE(c->busy));
	}
	seq_printf(m, "home_pages %llu\nbusy_pages %u\nmeta_chunks %lu (%lu KiB)\n",
		   dsm->home_nr, busy, chunks, bytes >> 10);
	seq_printf(m, "remote_read_faults %lld\nremote_write_faults %lld\nfault_errors %lld\n",
		   (s64)atomic64_read(&dsm->remote_read_faults),
		   (s64)atomic64_read(&dsm->remote_write_faults),
		   (s64)atomic64_read(&dsm->fault_errors));
	seq_printf(m, "read_misses %llu\nwrite_misses %llu\nupgrades %llu\nputs %llu\n",
		   st->read_misses, st->write_misses, st->upgrades, st->puts);
	seq_printf(m, "prefetches %llu\nprefetch_hits %llu\n",
		   st->prefetches, st->prefetch_hits);
	seq_printf(m, "drops_clean %llu\nnacks_sent %llu\nretries %llu\ntimeouts %llu\nerrors %llu\nserved %llu\nping_pongs %llu\ndeferred %llu\n",
		   st->drops_clean, st->nacks_sent, st->retries, st->timeouts,
		   st->errors, st->served, st->ping_pongs, st->deferred);
	for (i = BI_MSG_GET_S; i < BI_MSG_PING; i++)
		seq_printf(m, "msg_%s sent %llu recv %llu\n",
			   bi_wire_type_name(i), st->sent[i], st->recv[i]);
	for (i = 0; i < BI_COH_DROP_NR; i++)
		seq_printf(m, "drop_%s %llu\n", bi_coh_drop_name(i),
			   st->drops[i] + atomic64_read(&dsm->drops[i]));
	kfree(st);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bigiron_dsm_dbg);

/*
 * debugfs vm<id>/evict, write "all" or a page index: give up this node's
 * copies, as memory pressure would: a read-only copy is dropped at once,
 * a writable one goes back to its home (PUT) first.  Pages with a request
 * outstanding are left alone.
 */
static ssize_t bigiron_dsm_evict_write(struct file *file,
				       const char __user *ubuf, size_t count,
				       loff_t *ppos)
{
	struct bigiron_cluster *cl = file->private_data;
	struct bigiron_dsm *dsm = &cl->dsm;
	struct bigiron_dsm_bucket *b;
	struct bigiron_dsm_chunk *c;
	pgoff_t first, nr, page;
	unsigned long idx;
	unsigned int i;
	int err;

	err = bigiron_debugfs_parse_pages(cl->vm, ubuf, count, &first, &nr);
	if (err)
		return err;
	/* pages never used here hold nothing: only the chunks that exist */
	xa_for_each_range(&dsm->meta, idx, c, first >> BIGIRON_DSM_CHUNK_SHIFT,
			  (first + nr - 1) >> BIGIRON_DSM_CHUNK_SHIFT) {
		for (i = 0; i < BIGIRON_DSM_CHUNK; i++) {
			page = ((u64)idx << BIGIRON_DSM_CHUNK_SHIFT) + i;
			if (page < first || page >= first + nr)
				continue;
			if (fatal_signal_pending(current))
				return -EINTR;
			b = bigiron_dsm_bucket(dsm, page);
			mutex_lock(&b->lock);
			bi_coh_evict(&dsm->cn, &b->st, page, ktime_get_ns());
			bigiron_dsm_settle(dsm, b, page, ktime_get_ns());
			mutex_unlock(&b->lock);
			cond_resched();
		}
	}
	return count;
}

static const struct file_operations bigiron_dsm_evict_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= bigiron_dsm_evict_write,
	.llseek	= noop_llseek,
};

/*
 * debugfs vm<id>/fault_hist: service time of the faults that waited on
 * another node, log2 buckets in microseconds.
 */
static int bigiron_dsm_hist_show(struct seq_file *m, void *unused)
{
	struct bigiron_cluster *cl = m->private;
	struct bigiron_dsm *dsm = &cl->dsm;
	unsigned int i;

	seq_puts(m, "# us_from us_to read write\n");
	for (i = 0; i < BIGIRON_DSM_HIST; i++)
		seq_printf(m, "%llu %llu %lld %lld\n",
			   i ? 1ULL << (i - 1) : 0ULL,
			   i == BIGIRON_DSM_HIST - 1 ? 0ULL : 1ULL << i,
			   (s64)atomic64_read(&dsm->hist[0][i]),
			   (s64)atomic64_read(&dsm->hist[1][i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bigiron_dsm_hist);

/*
 * ---- sysfs: /sys/kernel/bigiron/vm<id>/, VMs with a cluster only -------
 *
 * ABI, one decimal value per file:
 *
 *   remote_read_faults   read faults that waited on another node
 *   remote_write_faults  write faults that waited on another node
 *   fault_errors         faults that failed (SIGBUS), see the kernel log
 *   inv_sent, inv_recv   invalidations sent to and received from peers
 *   pages_sent, pages_recv  messages to and from peers carrying a page
 *   ping_pongs           pages taken from one writer for another
 *   retransmits          messages sent again, every peer together
 *
 * The files go before the cluster is freed; kernfs waits for readers.
 */

static struct bigiron_cluster *bigiron_dsm_kobj_cluster(struct kobject *kobj)
{
	struct bigiron_vm *vm = container_of(kobj, struct bigiron_vm, kobj);

	/*
	 * NULL before SET_CLUSTER publishes it (pairs with its
	 * smp_store_release()) and during teardown
	 */
	return smp_load_acquire(&vm->cluster);
}

enum bigiron_dsm_counter {
	BIGIRON_CNT_REMOTE_READ,
	BIGIRON_CNT_REMOTE_WRITE,
	BIGIRON_CNT_FAULT_ERRORS,
	BIGIRON_CNT_INV_SENT,
	BIGIRON_CNT_INV_RECV,
	BIGIRON_CNT_PAGES_SENT,
	BIGIRON_CNT_PAGES_RECV,
	BIGIRON_CNT_PING_PONGS,
	BIGIRON_CNT_RETRANSMITS,
	BIGIRON_CNT_IPIS_SENT,
	BIGIRON_CNT_IPIS_RECV,
	BIGIRON_CNT_IPIS_DROPPED,
	BIGIRON_CNT_MSGS_SENT,
	BIGIRON_CNT_MSGS_RECV,
	BIGIRON_CNT_MSGS_DROPPED,
	BIGIRON_CNT_PREFETCHES,
	BIGIRON_CNT_PREFETCH_HITS,
};

static u64 bigiron_dsm_peer_counter(struct bigiron_peer *pe,
				    enum bigiron_dsm_counter what)
{
	lockdep_assert_held(&pe->lock);

	switch (what) {
	case BIGIRON_CNT_INV_SENT:
		return pe->sent[BI_MSG_INV];
	case BIGIRON_CNT_INV_RECV:
		return pe->recv[BI_MSG_INV];
	case BIGIRON_CNT_PAGES_SENT:
		return pe->pages_sent;
	case BIGIRON_CNT_PAGES_RECV:
		return pe->pages_recv;
	case BIGIRON_CNT_PING_PONGS:
		return pe->sent[BI_MSG_FETCH_INV];
	case BIGIRON_CNT_RETRANSMITS:
		return pe->lp.stats.retransmits;
	default:
		return 0;
	}
}

/* Copies asked for ahead (@asked) or used, summed over the buckets. */
static u64 bigiron_dsm_prefetch_counter(struct bigiron_cluster *cl,
					bool asked)
{
	struct bi_coh_stats *st = kmalloc(sizeof(*st), GFP_KERNEL);
	u64 v;

	if (!st)
		return 0;
	bigiron_dsm_stats(cl, st);
	v = asked ? st->prefetches : st->prefetch_hits;
	kfree(st);
	return v;
}

static u64 bigiron_dsm_counter(struct bigiron_cluster *cl,
			       enum bigiron_dsm_counter what)
{
	struct bigiron_peer *pe;
	unsigned int i;
	u64 sum = 0;

	switch (what) {
	case BIGIRON_CNT_REMOTE_READ:
		return atomic64_read(&cl->dsm.remote_read_faults);
	case BIGIRON_CNT_REMOTE_WRITE:
		return atomic64_read(&cl->dsm.remote_write_faults);
	case BIGIRON_CNT_FAULT_ERRORS:
		return atomic64_read(&cl->dsm.fault_errors);
	case BIGIRON_CNT_IPIS_SENT:
		return atomic64_read(&cl->ssi.ipis_sent);
	case BIGIRON_CNT_IPIS_RECV:
		return atomic64_read(&cl->ssi.ipis_recv);
	case BIGIRON_CNT_IPIS_DROPPED:
		return atomic64_read(&cl->ssi.ipis_dropped);
	case BIGIRON_CNT_MSGS_SENT:
		return atomic64_read(&cl->ssi.msgs_sent);
	case BIGIRON_CNT_MSGS_RECV:
		return atomic64_read(&cl->ssi.msgs_recv);
	case BIGIRON_CNT_MSGS_DROPPED:
		return atomic64_read(&cl->ssi.msgs_dropped);
	case BIGIRON_CNT_PREFETCHES:
	case BIGIRON_CNT_PREFETCH_HITS:
		return bigiron_dsm_prefetch_counter(cl, what ==
						    BIGIRON_CNT_PREFETCHES);
	default:
		break;
	}
	for (i = 0; i < cl->nr_nodes; i++) {
		pe = cl->peers[i];
		if (!pe)
			continue;
		spin_lock_bh(&pe->lock);
		sum += bigiron_dsm_peer_counter(pe, what);
		spin_unlock_bh(&pe->lock);
	}
	return sum;
}

#define BIGIRON_DSM_ATTR(name, what)					\
static ssize_t name##_show(struct kobject *kobj,			\
			   struct kobj_attribute *attr, char *buf)	\
{									\
	struct bigiron_cluster *cl = bigiron_dsm_kobj_cluster(kobj);	\
									\
	return sysfs_emit(buf, "%llu\n",				\
			  cl ? bigiron_dsm_counter(cl, what) : 0ULL);	\
}									\
static struct kobj_attribute name##_attr = __ATTR_RO(name)

BIGIRON_DSM_ATTR(remote_read_faults, BIGIRON_CNT_REMOTE_READ);
BIGIRON_DSM_ATTR(remote_write_faults, BIGIRON_CNT_REMOTE_WRITE);
BIGIRON_DSM_ATTR(fault_errors, BIGIRON_CNT_FAULT_ERRORS);
BIGIRON_DSM_ATTR(inv_sent, BIGIRON_CNT_INV_SENT);
BIGIRON_DSM_ATTR(inv_recv, BIGIRON_CNT_INV_RECV);
BIGIRON_DSM_ATTR(pages_sent, BIGIRON_CNT_PAGES_SENT);
BIGIRON_DSM_ATTR(pages_recv, BIGIRON_CNT_PAGES_RECV);
BIGIRON_DSM_ATTR(ping_pongs, BIGIRON_CNT_PING_PONGS);
BIGIRON_DSM_ATTR(retransmits, BIGIRON_CNT_RETRANSMITS);
BIGIRON_DSM_ATTR(ipis_sent, BIGIRON_CNT_IPIS_SENT);
BIGIRON_DSM_ATTR(ipis_recv, BIGIRON_CNT_IPIS_RECV);
BIGIRON_DSM_ATTR(ipis_dropped, BIGIRON_CNT_IPIS_DROPPED);
BIGIRON_DSM_ATTR(msgs_sent, BIGIRON_CNT_MSGS_SENT);
BIGIRON_DSM_ATTR(msgs_recv, BIGIRON_CNT_MSGS_RECV);
BIGIRON_DSM_ATTR(msgs_dropped, BIGIRON_CNT_MSGS_DROPPED);
BIGIRON_DSM_ATTR(prefetches, BIGIRON_CNT_PREFETCHES);
BIGIRON_DSM_ATTR(prefetch_hits, BIGIRON_CNT_PREFETCH_HITS);

static struct attribute *bigiron_dsm_attrs[] = {
	&remote_read_faults_attr.attr,
	&remote_write_faults_attr.attr,
	&fault_errors_attr.attr,
	&inv_sent_attr.attr,
	&inv_recv_attr.attr,
	&pages_sent_attr.attr,
	&pages_recv_attr.attr,
	&ping_pongs_attr.attr,
	&retransmits_attr.attr,
	&ipis_sent_attr.attr,
	&ipis_recv_attr.attr,
	&ipis_dropped_attr.attr,
	&msgs_sent_attr.attr,
	&msgs_recv_attr.attr,
	&msgs_dropped_attr.attr,
	&prefetches_attr.attr,
	&prefetch_hits_attr.attr,
	NULL
};

static const struct attribute_group bigiron_dsm_group = {
	.attrs = bigiron_dsm_attrs,
};

/* ---- setup and teardown ------------------------------------------------ */

static unsigned int bigiron_dsm_param_ms(unsigned int ms)
{
	return clamp(ms, BIGIRON_DSM_MS_MIN, BIGIRON_DSM_MS_MAX);
}

/**
 * bigiron_dsm_init - the protocol state of a new node instance
 * @cl: node instance, with its node table
 *
 * Return: 0 or a negative errno.
 */
int bigiron_dsm_init(struct bigiron_cluster *cl)
{
	struct bigiron_dsm *dsm = &cl->dsm;
	const struct bigiron_node_desc *me = &cl->nodes[cl->self];
	u64 nr_pages = bigiron_vm_nr_pages(cl->vm);
	struct bi_coh_params p;
	unsigned int i;
	int err;

	spin_lock_init(&dsm->tick_lock);
	hrtimer_init(&dsm->tick_timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_SOFT);
	dsm->tick_timer.function = bigiron_dsm_timer;
	INIT_WORK(&dsm->tick_work, bigiron_dsm_tick_work);

	bi_coh_default_params(&p);
	p.req_timeout_ns = (u64)bigiron_dsm_param_ms(READ_ONCE(fault_timeout_ms)) *
			   NSEC_PER_MSEC;
	p.home_timeout_ns = (u64)bigiron_dsm_param_ms(READ_ONCE(home_timeout_ms)) *
			    NSEC_PER_MSEC;
	p.qlen = clamp_t(unsigned int, READ_ONCE(fault_queue_len), 1,
			 BI_COH_QLEN_MAX);
	p.hold_max_ns = (u64)min(READ_ONCE(hold_max_us), 1000000U) *
			NSEC_PER_USEC;
	p.hold_min_ns = min_t(u64, (u64)READ_ONCE(hold_min_us) * NSEC_PER_USEC,
			      p.hold_max_ns);
	err = bi_coh_init(&dsm->cn, cl->self, cl->nr_nodes, nr_pages, &p,
			  &bigiron_dsm_ops, cl);
	if (err)
		return err;
	dsm->prefetch = min(READ_ONCE(prefetch_pages),
			    BIGIRON_DSM_PREFETCH_MAX);

	dsm->home_first = me->home_start >> PAGE_SHIFT;
	dsm->home_nr = me->home_size >> PAGE_SHIFT;
	err = -ENOMEM;
	/* per-page metadata comes with use: bigiron_dsm_meta() */
	xa_init_flags(&dsm->meta, XA_FLAGS_LOCK_BH);
	dsm->buckets = kvcalloc(BIGIRON_DSM_BUCKETS, sizeof(*dsm->buckets),
				GFP_KERNEL);
	if (!dsm->buckets)
		goto err;
	for (i = 0; i < BIGIRON_DSM_BUCKETS; i++) {
		mutex_init(&dsm->buckets[i].lock);
		init_waitqueue_head(&dsm->buckets[i].wq);
	}
	dsm->chains = kcalloc(BIGIRON_DSM_CHAINS, sizeof(*dsm->chains),
			      GFP_KERNEL);
	if (!dsm->chains)
		goto err;
	for (i = 0; i < BIGIRON_DSM_CHAINS; i++)
		spin_lock_init(&dsm->chains[i].lock);
	err = sysfs_create_group(&cl->vm->kobj, &bigiron_dsm_group);
	if (err)
		goto err;
	dsm->sysfs = true;
	dsm->dbg = debugfs_create_file("coherence", 0444, cl->vm->debugfs,
				       cl, &bigiron_dsm_dbg_fops);
	dsm->dbg_hist = debugfs_create_file("fault_hist", 0444,
					    cl->vm->debugfs, cl,
					    &bigiron_dsm_hist_fops);
	dsm->dbg_evict = debugfs_create_file("evict", 0200, cl->vm->debugfs,
					     cl, &bigiron_dsm_evict_fops);
	return 0;

err:
	bigiron_dsm_free(cl);
	return err;
}

/*
 * Stop the timer and the tick work.  Called when nothing calls into the
 * protocol any more: no mapping (the VM is being released) and the peers'
 * rx work cancelled.
 */
void bigiron_dsm_stop(struct bigiron_cluster *cl)
{
	struct bigiron_dsm *dsm = &cl->dsm;

	if (!dsm->buckets)
		return;
	spin_lock_bh(&dsm->tick_lock);
	dsm->stopping = true;
	spin_unlock_bh(&dsm->tick_lock);
	hrtimer_cancel(&dsm->tick_timer);
	cancel_work_sync(&dsm->tick_work);
}

void bigiron_dsm_free(struct bigiron_cluster *cl)
{
	struct bigiron_dsm *dsm = &cl->dsm;

	if (dsm->sysfs)
		sysfs_remove_group(&cl->vm->kobj, &bigiron_dsm_group);
	dsm->sysfs = false;
	debugfs_remove(dsm->dbg_evict);
	debugfs_remove(dsm->dbg_hist);
	debugfs_remove(dsm->dbg);
	kfree(dsm->chains);
	if (dsm->buckets) {
		struct bigiron_dsm_chunk *c;
		unsigned long idx;

		xa_for_each(&dsm->meta, idx, c) {
			if (c->dir)
				kmem_cache_free(bigiron_dsm_dir_cache, c->dir);
			kmem_cache_free(bigiron_dsm_chunk_cache, c);
		}
		xa_destroy(&dsm->meta);
	}
	kvfree(dsm->buckets);
	dsm->dbg_evict = NULL;
	dsm->dbg_hist = NULL;
	dsm->dbg = NULL;
	dsm->chains = NULL;
	dsm->buckets = NULL;
}

/* Module init: the slab caches of the metadata chunks. */
int bigiron_dsm_module_init(void)
{
	/* a chunk's busy pages are the bits of a u32 */
	BUILD_BUG_ON(BIGIRON_DSM_CHUNK > 32);
	bigiron_dsm_chunk_cache = KMEM_CACHE(bigiron_dsm_chunk, 0);
	bigiron_dsm_dir_cache = kmem_cache_create("bigiron_dsm_dir",
						  BIGIRON_DSM_CHUNK *
						  sizeof(struct bi_coh_dir),
						  0, 0, NULL);
	if (!bigiron_dsm_chunk_cache || !bigiron_dsm_dir_cache) {
		bigiron_dsm_module_exit();
		return -ENOMEM;
	}
	return 0;
}

void bigiron_dsm_module_exit(void)
{
	kmem_cache_destroy(bigiron_dsm_dir_cache);
	kmem_cache_destroy(bigiron_dsm_chunk_cache);
	bigiron_dsm_dir_cache = NULL;
	bigiron_dsm_chunk_cache = NULL;
}
