// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron: home-based directory coherence protocol, pure C.
 *
 * Locking: none inside. Every entry point works on one page; the caller
 * holds that page's lock (see coh.h). Order in the kernel: page bucket
 * lock, then the transport's peer lock (taken inside ops->send).
 *
 * The rules, in short (selftests/proto/README has the full story):
 * - the home serves one request per page at a time (phase != IDLE means
 *   busy) and queues the others in FIFO order, NACKing when the queue is
 *   full;
 * - the home collects every INV_ACK and the owner's data before it grants,
 *   so a grant is always the last message of a transaction, and the link's
 *   in-order delivery puts it before anything the home sends next;
 * - a node loses rights only when its home tells it to (INV, FETCH,
 *   FETCH_INV, PUT_ACK), except for silently dropping a read-only copy,
 *   which the home's copy set over-approximates;
 * - write access is revoked before page data is copied out, and page data
 *   is copied in before any access is granted.
 */
#include "coh.h"

static const char * const bi_coh_drop_names[BI_COH_DROP_NR] = {
	[BI_COH_DROP_NODE] = "bad_node",
	[BI_COH_DROP_PAGE] = "bad_page",
	[BI_COH_DROP_TYPE] = "bad_type",
	[BI_COH_DROP_NOT_HOME] = "not_home",
	[BI_COH_DROP_NOT_FROM_HOME] = "not_from_home",
	[BI_COH_DROP_DATA] = "bad_data",
	[BI_COH_DROP_STALE] = "stale",
	[BI_COH_DROP_STATE] = "bad_state",
	[BI_COH_DROP_REQUEST] = "bad_request",
};

const char *bi_coh_drop_name(enum bi_coh_drop why)
{
	if ((unsigned int)why >= BI_COH_DROP_NR)
		return "unknown";
	return bi_coh_drop_names[why];
}

void bi_coh_default_params(struct bi_coh_params *p)
{
	p->qlen = 4;
	p->req_timeout_ns = 10ULL * 1000 * 1000 * 1000;
	p->home_timeout_ns = 20ULL * 1000 * 1000 * 1000;
	p->retry_ns = 50 * 1000;
	p->retry_max_ns = 10 * 1000 * 1000;
	p->hold_min_ns = 0;
	p->hold_max_ns = 0;
}

int bi_coh_init(struct bi_coh_node *cn, u16 self, u16 nr_nodes,
		u64 nr_pages, const struct bi_coh_params *p,
		const struct bi_coh_ops *ops, void *priv)
{
	if (nr_nodes < 1 || nr_nodes > BI_MAX_NODES || self >= nr_nodes ||
	    !nr_pages || !p->qlen || p->qlen > BI_COH_QLEN_MAX ||
	    p->hold_min_ns > p->hold_max_ns)
		return -EINVAL;
	memset(cn, 0, sizeof(*cn));
	cn->self = self;
	cn->nr_nodes = nr_nodes;
	cn->nr_pages = nr_pages;
	cn->params = *p;
	cn->ops = ops;
	cn->priv = priv;
	return 0;
}

void bi_coh_mark_dead(struct bi_coh_node *cn, u16 node)
{
	if (node >= cn->nr_nodes || node == cn->self)
		return;
	/* two peers may die at once, each under its own lock */
	bi_or_u64(&cn->dead, 1ULL << node);
}

static bool bi_dead(struct bi_coh_node *cn, u16 node)
{
	return (BI_READ_ONCE(cn->dead) >> node) & 1;
}

static u64 bi_bit(u16 node)
{
	return 1ULL << node;
}

static struct bi_coh_local *bi_local(struct bi_coh_node *cn, u64 page)
{
	return cn->ops->local(cn->priv, page);
}

/* ---- holds (see struct bi_coh_local) ---------------------------------- */

/* Rights were just granted to a waiting access. */
static void bi_hold_start(struct bi_coh_node *cn, struct bi_coh_local *l,
			  u64 now)
{
	if (!cn->params.hold_max_ns)
		return;
	l->flags |= BI_LF_HELD;
	l->hold_ns = now + cn->params.hold_max_ns;
}

/* The access used its rights: keep them hold_min_ns longer at most. */
static void bi_hold_used(struct bi_coh_node *cn, struct bi_coh_local *l,
			 u64 now)
{
	u64 end = now + cn->params.hold_min_ns;

	if (!(l->flags & BI_LF_HELD))
		return;
	l->flags &= ~BI_LF_HELD;
	if (end < l->hold_ns)
		l->hold_ns = end;
}

static bool bi_held(const struct bi_coh_local *l, u64 now)
{
	return l->hold_ns && now < l->hold_ns;
}

void bi_coh_hold_extend(struct bi_coh_node *cn, u64 page, u64 until, u64 now)
{
	struct bi_coh_local *l;

	if (page >= cn->nr_pages)
		return;
	l = bi_local(cn, page);
	if (l->state != BI_L_INVALID && bi_held(l, now) && until > l->hold_ns)
		l->hold_ns = until;
}

void bi_coh_hold_ease(struct bi_coh_node *cn, u64 page, u64 now)
{
	struct bi_coh_local *l;
	u64 end = now + cn->params.hold_min_ns;

	if (page >= cn->nr_pages)
		return;
	l = bi_local(cn, page);
	if (bi_held(l, now) && end < l->hold_ns)
		l->hold_ns = end;
}

static u16 bi_home(struct bi_coh_node *cn, u64 page)
{
	u16 h = cn->ops->home(cn->priv, page);

	BI_WARN_ON(h >= cn->nr_nodes);
	return h;
}

static void bi_send(struct bi_coh_node *cn, struct bi_coh_stats *st,
		    u8 type, u8 flags, u16 dst, u32 txid, u64 page, bool data)
{
	struct bi_coh_msg m = {
		.type = type,
		.flags = flags,
		.node = dst,
		.txid = txid,
		.page = page,
	};

	if (BI_WARN_ON(dst == cn->self || dst >= cn->nr_nodes))
		return;
	if (bi_dead(cn, dst))
		return;
	st->sent[type]++;
	cn->ops->send(cn->priv, &m, data);
}

/* ---- requester side ---------------------------------------------------- */

static void bi_req_done(struct bi_coh_node *cn, struct bi_coh_stats *st,
			u64 page, struct bi_coh_local *l, int err)
{
	l->pending = BI_P_NONE;
	l->flags &= ~(BI_LF_NACKED | BI_LF_FAILED | BI_LF_PREFETCH);
	l->nacks = 0;
	l->deadline_ns = 0;
	l->retry_ns = 0;
	if (err)
		st->errors++;
	cn->ops->complete(cn->priv, page, err);
}

static void bi_req_nacked(struct bi_coh_node *cn, struct bi_coh_local *l,
			  u64 now)
{
	u64 delay = cn->params.retry_ns;
	unsigned int i;

	if (l->nacks < 255)
		l->nacks++;
	for (i = 1; i < l->nacks && delay < cn->params.retry_max_ns; i++)
		delay <<= 1;
	if (delay > cn->params.retry_max_ns)
		delay = cn->params.retry_max_ns;
	l->flags |= BI_LF_NACKED;
	l->retry_ns = now + delay;
}

static void bi_home_request(struct bi_coh_node *cn, struct bi_coh_stats *st,
			    u64 page, const struct bi_coh_req *rq, u64 now);

/* Send (or resend after a NACK) the page's outstanding request. */
static void bi_req_send(struct bi_coh_node *cn, struct bi_coh_stats *st,
			u64 page, struct bi_coh_local *l, u64 now)
{
	struct bi_coh_req rq = { .node = cn->self };
	u16 h = bi_home(cn, page);

	switch (l->pending) {
	case BI_P_GET_S:
		rq.type = BI_MSG_GET_S;
		break;
	case BI_P_GET_X:
		rq.type = BI_MSG_GET_X;
		if (l->state == BI_L_SHARED)
			rq.flags = BI_WF_HAS_COPY;
		break;
	case BI_P_PUT:
		rq.type = BI_MSG_PUT;
		break;
	default:
		BI_WARN_ON(1);
		return;
	}
	l->txid++;
	l->flags &= ~BI_LF_NACKED;
	l->retry_ns = 0;
	rq.txid = l->txid;
	if (h == cn->self)
		bi_home_request(cn, st, page, &rq, now);
	else
		bi_send(cn, st, rq.type, rq.flags, h, rq.txid, page, false);
}

/* Start a request of kind @pending for @page, bounded by req_timeout_ns. */
static void bi_req_start(struct bi_coh_node *cn, struct bi_coh_stats *st,
			 u64 page, struct bi_coh_local *l, u8 pending, u64 now)
{
	l->pending = pending;
	l->nacks = 0;
	l->deadline_ns = cn->params.req_timeout_ns ?
			 now + cn->params.req_timeout_ns : 0;
	bi_req_send(cn, st, page, l, now);
}

static bool bi_has_rights(const struct bi_coh_local *l, bool write)
{
	return write ? l->state == BI_L_EXCL : l->state != BI_L_INVALID;
}

int bi_coh_access(struct bi_coh_node *cn, struct bi_coh_stats *st, u64 page,
		  bool write, u64 now)
{
	struct bi_coh_local *l;
	u16 h;

	if (page >= cn->nr_pages)
		return -EINVAL;
	l = bi_local(cn, page);
	if (bi_has_rights(l, write)) {
		if (l->flags & BI_LF_PREFETCHED) {
			l->flags &= ~BI_LF_PREFETCHED;
			st->prefetch_hits++;
		}
		bi_hold_used(cn, l, now);
		return 0;
	}
	l->flags &= ~BI_LF_PREFETCHED;
	if (l->flags & BI_LF_BROKEN)
		return -EIO;
	h = bi_home(cn, page);
	if (h != cn->self && bi_dead(cn, h))
		return -EHOSTDOWN;
	if (l->pending != BI_P_NONE) {
		/* a prefetch has a waiter now: its grant is held */
		l->flags &= ~BI_LF_PREFETCH;
		return (l->flags & BI_LF_FAILED) ? -ETIMEDOUT : -EAGAIN;
	}
	if (!write)
		st->read_misses++;
	else if (l->state == BI_L_SHARED)
		st->upgrades++;
	else
		st->write_misses++;
	bi_req_start(cn, st, page, l, write ? BI_P_GET_X : BI_P_GET_S, now);
	if (bi_has_rights(l, write)) {
		bi_hold_used(cn, l, now);
		return 0;
	}
	if (l->flags & BI_LF_BROKEN)
		return -EIO;
	return -EAGAIN;
}

int bi_coh_prefetch(struct bi_coh_node *cn, struct bi_coh_stats *st,
		    u64 page, u64 now)
{
	struct bi_coh_local *l;
	u16 h;

	if (page >= cn->nr_pages)
		return -EINVAL;
	l = bi_local(cn, page);
	h = bi_home(cn, page);
	if (h == cn->self || l->state != BI_L_INVALID ||
	    l->pending != BI_P_NONE || (l->flags & BI_LF_BROKEN))
		return -EBUSY;
	if (bi_dead(cn, h))
		return -EHOSTDOWN;
	st->prefetches++;
	l->flags |= BI_LF_PREFETCH;
	bi_req_start(cn, st, page, l, BI_P_GET_S, now);
	return 0;
}

int bi_coh_evict(struct bi_coh_node *cn, struct bi_coh_stats *st, u64 page,
		 u64 now)
{
	struct bi_coh_local *l;
	u16 h;

	if (page >= cn->nr_pages)
		return -EINVAL;
	l = bi_local(cn, page);
	if (l->pending != BI_P_NONE)
		return -EBUSY;
	if (l->state == BI_L_INVALID)
		return 0;
	h = bi_home(cn, page);
	if (h == cn->self || l->state == BI_L_SHARED) {
		/* the home keeps the data; a clean copy needs no word */
		cn->ops->unmap(cn->priv, page);
		l->state = BI_L_INVALID;
		if (h != cn->self)
			st->drops_clean++;
		return 0;
	}
	if (bi_dead(cn, h))
		return -EHOSTDOWN;
	st->puts++;
	bi_req_start(cn, st, page, l, BI_P_PUT, now);
	return -EINPROGRESS;
}

/* Does this answer from the home match our outstanding request? */
static bool bi_req_match(const struct bi_coh_local *l, u8 pending, u32 txid)
{
	return l->pending == pending && l->txid == txid &&
	       !(l->flags & BI_LF_NACKED);
}

static int bi_rx_data_s(struct bi_coh_node *cn, struct bi_coh_stats *st,
			const struct bi_coh_msg *m, const u8 *data, u64 now)
{
	struct bi_coh_local *l = bi_local(cn, m->page);

	if (!bi_req_match(l, BI_P_GET_S, m->txid))
		return BI_COH_DROP_STALE;
	if (l->state != BI_L_INVALID)
		return BI_COH_DROP_STATE;
	cn->ops->copy_in(cn->priv, m->page, data);
	l->state = BI_L_SHARED;
	cn->ops->map_ro(cn->priv, m->page);
	if (l->flags & BI_LF_PREFETCH)
		l->flags |= BI_LF_PREFETCHED;	/* nobody waits: no hold */
	else
		bi_hold_start(cn, l, now);
	bi_req_done(cn, st, m->page, l, 0);
	return BI_COH_DROP_NR;
}

static int bi_rx_data_x(struct bi_coh_node *cn, struct bi_coh_stats *st,
			const struct bi_coh_msg *m, const u8 *data, u64 now)
{
	struct bi_coh_local *l = bi_local(cn, m->page);

	if (!bi_req_match(l, BI_P_GET_X, m->txid))
		return BI_COH_DROP_STALE;
	if (l->state == BI_L_EXCL)
		return BI_COH_DROP_STATE;
	if (data) {
		if (l->state != BI_L_INVALID)
			cn->ops->unmap(cn->priv, m->page);
		cn->ops->copy_in(cn->priv, m->page, data);
	} else if (l->state != BI_L_SHARED) {
		/* an upgrade grant, but we hold no copy: the page is lost */
		l->flags |= BI_LF_BROKEN;
		bi_req_done(cn, st, m->page, l, -EPROTO);
		return BI_COH_DROP_STATE;
	}
	l->state = BI_L_EXCL;
	cn->ops->map_rw(cn->priv, m->page);
	bi_hold_start(cn, l, now);
	bi_req_done(cn, st, m->page, l, 0);
	return BI_COH_DROP_NR;
}

static int bi_rx_nack(struct bi_coh_node *cn, struct bi_coh_stats *st,
		      const struct bi_coh_msg *m, u64 now)
{
	struct bi_coh_local *l = bi_local(cn, m->page);

	if (l->pending == BI_P_NONE || l->txid != m->txid ||
	    (l->flags & BI_LF_NACKED))
		return BI_COH_DROP_STALE;
	if (m->flags & BI_WF_ERR) {
		l->flags |= BI_LF_BROKEN;
		bi_req_done(cn, st, m->page, l, -EIO);
	} else if (l->flags & BI_LF_PREFETCH) {
		/* the home is busy: a prefetch is not worth a resend */
		bi_req_done(cn, st, m->page, l, 0);
	} else {
		bi_req_nacked(cn, l, now);
	}
	return BI_COH_DROP_NR;
}

static int bi_rx_put_ack(struct bi_coh_node *cn, struct bi_coh_stats *st,
			 const struct bi_coh_msg *m)
{
	struct bi_coh_local *l = bi_local(cn, m->page);
	bool want = m->flags & BI_WF_WANT_DATA;
	bool excl = l->state == BI_L_EXCL;

	if (!bi_req_match(l, BI_P_PUT, m->txid))
		return BI_COH_DROP_STALE;
	/* the home wants data exactly when it sees us as the owner */
	if (want != excl)
		return BI_COH_DROP_STATE;
	if (l->state != BI_L_INVALID)
		cn->ops->unmap(cn->priv, m->page);
	l->state = BI_L_INVALID;
	if (want)
		bi_send(cn, st, BI_MSG_PUT_DATA, 0, m->node, m->txid, m->page,
			true);
	bi_req_done(cn, st, m->page, l, 0);
	return BI_COH_DROP_NR;
}

/*
 * A revocation from the home during a hold is kept, one at most: the home
 * waits for its answer before it sends anything else about the page.
 */
static int bi_rx_defer(struct bi_coh_stats *st, struct bi_coh_local *l,
		       const struct bi_coh_msg *m)
{
	if (l->defer_type)
		return BI_COH_DROP_STATE;
	l->defer_type = m->type;
	l->defer_txid = m->txid;
	st->deferred++;
	return BI_COH_DROP_NR;
}

static int bi_rx_inv(struct bi_coh_node *cn, struct bi_coh_stats *st,
		     const struct bi_coh_msg *m, u64 now)
{
	struct bi_coh_local *l = bi_local(cn, m->page);

	if (l->state == BI_L_EXCL)
		return BI_COH_DROP_STATE;
	if (l->state == BI_L_SHARED && bi_held(l, now))
		return bi_rx_defer(st, l, m);
	if (l->state == BI_L_SHARED) {
		cn->ops->unmap(cn->priv, m->page);
		l->state = BI_L_INVALID;
	}
	bi_send(cn, st, BI_MSG_INV_ACK, 0, m->node, m->txid, m->page, false);
	return BI_COH_DROP_NR;
}

static int bi_rx_fetch(struct bi_coh_node *cn, struct bi_coh_stats *st,
		       const struct bi_coh_msg *m, u64 now)
{
	struct bi_coh_local *l = bi_local(cn, m->page);

	if (l->state != BI_L_EXCL)
		return BI_COH_DROP_STATE;
	if (bi_held(l, now))
		return bi_rx_defer(st, l, m);
	if (m->type == BI_MSG_FETCH) {
		cn->ops->wrprotect(cn->priv, m->page);
		l->state = BI_L_SHARED;
	} else {
		cn->ops->unmap(cn->priv, m->page);
		l->state = BI_L_INVALID;
	}
	bi_send(cn, st, BI_MSG_FETCH_DATA, 0, m->node, m->txid, m->page, true);
	return BI_COH_DROP_NR;
}

/* ---- home side --------------------------------------------------------- */

static struct bi_coh_dir *bi_dir(struct bi_coh_node *cn, u64 page)
{
	return cn->ops->dir(cn->priv, page);
}

static void bi_home_idle(struct bi_coh_dir *d)
{
	d->phase = BI_H_IDLE;
	d->acks = 0;
	d->deadline_ns = 0;
}

static void bi_home_busy(struct bi_coh_node *cn, struct bi_coh_dir *d,
			 u8 phase, u64 now)
{
	d->phase = phase;
	d->deadline_ns = cn->params.home_timeout_ns ?
			 now + cn->params.home_timeout_ns : 0;
}

/* Refuse rq: retry later, or (err) for good. */
static void bi_home_nack(struct bi_coh_node *cn, struct bi_coh_stats *st,
			 u64 page, const struct bi_coh_req *rq, bool err,
			 u64 now)
{
	struct bi_coh_local *l;

	st->nacks_sent++;
	if (rq->node != cn->self) {
		bi_send(cn, st, BI_MSG_NACK, err ? BI_WF_ERR : 0, rq->node,
			rq->txid, page, false);
		return;
	}
	l = bi_local(cn, page);
	if (BI_WARN_ON(l->txid != rq->txid || l->pending == BI_P_NONE))
		return;
	if (err) {
		l->flags |= BI_LF_BROKEN;
		bi_req_done(cn, st, page, l, -EIO);
	} else {
		bi_req_nacked(cn, l, now);
	}
}

/* Grant the home's own request: its data is current. */
static void bi_home_grant_local(struct bi_coh_node *cn,
				struct bi_coh_stats *st, u64 page,
				const struct bi_coh_req *rq, u8 state, u64 now)
{
	struct bi_coh_local *l = bi_local(cn, page);

	if (BI_WARN_ON(l->txid != rq->txid || l->pending == BI_P_NONE))
		return;
	if (l->state != state) {
		l->state = state;
		if (state == BI_L_EXCL)
			cn->ops->map_rw(cn->priv, page);
		else
			cn->ops->map_ro(cn->priv, page);
	}
	/* a grant inside bi_coh_access() is used at once, by its return */
	bi_hold_start(cn, l, now);
	bi_req_done(cn, st, page, l, 0);
}

/* The page is lost: its only current copy was at a dead node. */
static void bi_home_broken(struct bi_coh_node *cn, struct bi_coh_stats *st,
			   u64 page, struct bi_coh_dir *d, u64 now)
{
	bool busy = d->phase != BI_H_IDLE;

	d->state = BI_D_BROKEN;
	d->copyset = 0;
	bi_home_idle(d);
	if (busy && (d->cur.node == cn->self || !bi_dead(cn, d->cur.node)))
		bi_home_nack(cn, st, page, &d->cur, true, now);
}

/* Ask the owner for its data (FETCH keeps a read-only copy there). */
static void bi_home_fetch(struct bi_coh_node *cn, struct bi_coh_stats *st,
			  u64 page, struct bi_coh_dir *d, u8 type, u64 now)
{
	if (bi_dead(cn, d->owner)) {
		bi_home_busy(cn, d, BI_H_WAIT_FETCH, now);
		bi_home_broken(cn, st, page, d, now);
		return;
	}
	bi_home_busy(cn, d, BI_H_WAIT_FETCH, now);
	bi_send(cn, st, type, 0, d->owner, d->epoch, page, false);
}

static void bi_home_finish_x(struct bi_coh_node *cn, struct bi_coh_stats *st,
			     u64 page, struct bi_coh_dir *d, u64 now)
{
	const struct bi_coh_req *rq = &d->cur;
	bool has;

	bi_home_idle(d);
	if (rq->node == cn->self) {
		d->state = BI_D_UNCACHED;
		d->copyset = 0;
		bi_home_grant_local(cn, st, page, rq, BI_L_EXCL, now);
		return;
	}
	has = (d->copyset & bi_bit(rq->node)) && (rq->flags & BI_WF_HAS_COPY);
	d->state = BI_D_EXCL;
	d->owner = rq->node;
	d->copyset = 0;
	bi_send(cn, st, BI_MSG_DATA_X, 0, rq->node, rq->txid, page, !has);
}

static void bi_serve_get_s(struct bi_coh_node *cn, struct bi_coh_stats *st,
			   u64 page, struct bi_coh_dir *d, u64 now)
{
	const struct bi_coh_req *rq = &d->cur;
	struct bi_coh_local *hl = bi_local(cn, page);

	if (d->state == BI_D_EXCL) {
		if (d->owner == rq->node) {
			st->drops[BI_COH_DROP_REQUEST]++;
			bi_home_nack(cn, st, page, rq, true, now);
			return;
		}
		bi_home_fetch(cn, st, page, d, BI_MSG_FETCH, now);
		return;
	}
	if (rq->node == cn->self) {
		bi_home_grant_local(cn, st, page, rq, BI_L_SHARED, now);
		return;
	}
	if (hl->state == BI_L_EXCL) {
		cn->ops->wrprotect(cn->priv, page);
		hl->state = BI_L_SHARED;
	}
	d->state = BI_D_SHARED;
	d->copyset |= bi_bit(rq->node);
	bi_send(cn, st, BI_MSG_DATA_S, 0, rq->node, rq->txid, page, true);
}

static void bi_serve_get_x(struct bi_coh_node *cn, struct bi_coh_stats *st,
			   u64 page, struct bi_coh_dir *d, u64 now)
{
	const struct bi_coh_req *rq = &d->cur;
	struct bi_coh_local *hl = bi_local(cn, page);
	u64 inv, left;
	u16 n;

	if (d->state == BI_D_EXCL) {
		if (d->owner == rq->node) {
			st->drops[BI_COH_DROP_REQUEST]++;
			bi_home_nack(cn, st, page, rq, true, now);
			return;
		}
		st->ping_pongs++;
		bi_home_fetch(cn, st, page, d, BI_MSG_FETCH_INV, now);
		return;
	}
	if (rq->node != cn->self && hl->state != BI_L_INVALID) {
		cn->ops->unmap(cn->priv, page);
		hl->state = BI_L_INVALID;
	}
	inv = d->copyset & ~bi_bit(rq->node);
	/* a dead node's copy is gone; nobody answers for it */
	left = inv & ~BI_READ_ONCE(cn->dead);
	d->copyset &= bi_bit(rq->node);
	for (n = 0; n < cn->nr_nodes; n++)
		if (left & bi_bit(n))
			bi_send(cn, st, BI_MSG_INV, 0, n, d->epoch, page, false);
	if (left) {
		d->acks = left;
		bi_home_busy(cn, d, BI_H_WAIT_ACKS, now);
		return;
	}
	bi_home_finish_x(cn, st, page, d, now);
}

static void bi_serve_put(struct bi_coh_node *cn, struct bi_coh_stats *st,
			 u64 page, struct bi_coh_dir *d, u64 now)
{
	const struct bi_coh_req *rq = &d->cur;

	if (rq->node == cn->self) {
		st->drops[BI_COH_DROP_REQUEST]++;
		bi_home_nack(cn, st, page, rq, true, now);
		return;
	}
	if (d->state == BI_D_EXCL && d->owner == rq->node) {
		bi_home_busy(cn, d, BI_H_WAIT_PUT, now);
		bi_send(cn, st, BI_MSG_PUT_ACK, BI_WF_WANT_DATA, rq->node,
			rq->txid, page, false);
		return;
	}
	/* already taken back (or only a read-only copy): nothing to move */
	bi_send(cn, st, BI_MSG_PUT_ACK, 0, rq->node, rq->txid, page, false);
}

static void bi_home_serve(struct bi_coh_node *cn, struct bi_coh_stats *st,
			  u64 page, struct bi_coh_dir *d,
			  const struct bi_coh_req *rq, u64 now)
{
	d->cur = *rq;
	d->epoch++;
	st->served++;
	if (d->state == BI_D_EXCL && bi_dead(cn, d->owner))
		bi_home_broken(cn, st, page, d, now);
	if (d->state == BI_D_BROKEN) {
		bi_home_nack(cn, st, page, rq, true, now);
		return;
	}
	switch (rq->type) {
	case BI_MSG_GET_S:
		bi_serve_get_s(cn, st, page, d, now);
		break;
	case BI_MSG_GET_X:
		bi_serve_get_x(cn, st, page, d, now);
		break;
	default:
		bi_serve_put(cn, st, page, d, now);
		break;
	}
}

/* Does the home's own hold keep rq waiting? */
static bool bi_home_holding(struct bi_coh_node *cn, u64 page,
			    const struct bi_coh_req *rq, u64 now)
{
	const struct bi_coh_local *l = bi_local(cn, page);

	if (rq->node == cn->self || !bi_held(l, now))
		return false;
	switch (rq->type) {
	case BI_MSG_GET_S:
		return l->state == BI_L_EXCL;	/* would write-protect */
	case BI_MSG_GET_X:
		return l->state != BI_L_INVALID; /* would unmap */
	default:
		return false;			/* a PUT takes nothing here */
	}
}

/* Serve queued requests until one makes the home wait. */
static void bi_home_drain(struct bi_coh_node *cn, struct bi_coh_stats *st,
			  u64 page, struct bi_coh_dir *d, u64 now)
{
	struct bi_coh_req rq;

	while (d->phase == BI_H_IDLE && d->qlen) {
		rq = d->q[d->qhead];
		if (bi_home_holding(cn, page, &rq, now))
			break;
		d->qhead = (d->qhead + 1) % BI_COH_QLEN_MAX;
		d->qlen--;
		if (rq.node != cn->self && bi_dead(cn, rq.node))
			continue;
		bi_home_serve(cn, st, page, d, &rq, now);
	}
}

static void bi_home_request(struct bi_coh_node *cn, struct bi_coh_stats *st,
			    u64 page, const struct bi_coh_req *rq, u64 now)
{
	struct bi_coh_dir *d = bi_dir(cn, page);

	if (BI_WARN_ON(!d))
		return;
	if (d->phase == BI_H_IDLE && !d->qlen &&
	    !bi_home_holding(cn, page, rq, now)) {
		bi_home_serve(cn, st, page, d, rq, now);
		return;
	}
	if (d->qlen >= cn->params.qlen) {
		bi_home_nack(cn, st, page, rq, false, now);
		return;
	}
	d->q[(d->qhead + d->qlen) % BI_COH_QLEN_MAX] = *rq;
	d->qlen++;
}

/* Is a request from this node already queued or being served? */
static bool bi_home_has_req(const struct bi_coh_dir *d, u16 node)
{
	unsigned int i;

	if (d->phase != BI_H_IDLE && d->cur.node == node)
		return true;
	for (i = 0; i < d->qlen; i++)
		if (d->q[(d->qhead + i) % BI_COH_QLEN_MAX].node == node)
			return true;
	return false;
}

static int bi_rx_request(struct bi_coh_node *cn, struct bi_coh_stats *st,
			 const struct bi_coh_msg *m, u64 now)
{
	struct bi_coh_req rq = {
		.node = m->node,
		.type = m->type,
		.flags = m->flags & BI_WF_HAS_COPY,
		.txid = m->txid,
	};

	/* a node has one request per page outstanding, at most */
	if (bi_home_has_req(bi_dir(cn, m->page), m->node))
		return BI_COH_DROP_REQUEST;
	bi_home_request(cn, st, m->page, &rq, now);
	return BI_COH_DROP_NR;
}

static int bi_rx_inv_ack(struct bi_coh_node *cn, struct bi_coh_stats *st,
			 const struct bi_coh_msg *m, u64 now)
{
	struct bi_coh_dir *d = bi_dir(cn, m->page);

	if (d->phase != BI_H_WAIT_ACKS || d->epoch != m->txid ||
	    !(d->acks & bi_bit(m->node)))
		return BI_COH_DROP_STALE;
	d->acks &= ~bi_bit(m->node);
	if (!d->acks) {
		bi_home_finish_x(cn, st, m->page, d, now);
		bi_home_drain(cn, st, m->page, d, now);
	}
	return BI_COH_DROP_NR;
}

static int bi_rx_fetch_data(struct bi_coh_node *cn, struct bi_coh_stats *st,
			    const struct bi_coh_msg *m, const u8 *data,
			    u64 now)
{
	struct bi_coh_dir *d = bi_dir(cn, m->page);
	const struct bi_coh_req *rq = &d->cur;
	u16 o = d->owner;

	if (d->phase != BI_H_WAIT_FETCH || d->epoch != m->txid ||
	    o != m->node)
		return BI_COH_DROP_STALE;
	cn->ops->copy_in(cn->priv, m->page, data);
	if (rq->type == BI_MSG_GET_X) {
		/* the owner dropped its copy: nobody else holds one */
		d->state = BI_D_UNCACHED;
		d->copyset = 0;
		bi_home_finish_x(cn, st, m->page, d, now);
	} else {
		bi_home_idle(d);
		d->state = BI_D_SHARED;
		d->copyset = bi_bit(o);
		if (rq->node == cn->self) {
			bi_home_grant_local(cn, st, m->page, rq, BI_L_SHARED,
					    now);
		} else {
			d->copyset |= bi_bit(rq->node);
			bi_send(cn, st, BI_MSG_DATA_S, 0, rq->node, rq->txid,
				m->page, true);
		}
	}
	bi_home_drain(cn, st, m->page, d, now);
	return BI_COH_DROP_NR;
}

static int bi_rx_put_data(struct bi_coh_node *cn, struct bi_coh_stats *st,
			  const struct bi_coh_msg *m, const u8 *data, u64 now)
{
	struct bi_coh_dir *d = bi_dir(cn, m->page);

	if (d->phase != BI_H_WAIT_PUT || d->cur.node != m->node ||
	    d->cur.txid != m->txid)
		return BI_COH_DROP_STALE;
	cn->ops->copy_in(cn->priv, m->page, data);
	d->state = BI_D_UNCACHED;
	d->copyset = 0;
	bi_home_idle(d);
	bi_home_drain(cn, st, m->page, d, now);
	return BI_COH_DROP_NR;
}

/* ---- dispatch ------------------------------------------------------------ */

static bool bi_to_home(u8 type)
{
	switch (type) {
	case BI_MSG_GET_S:
	case BI_MSG_GET_X:
	case BI_MSG_PUT:
	case BI_MSG_INV_ACK:
	case BI_MSG_FETCH_DATA:
	case BI_MSG_PUT_DATA:
		return true;
	default:
		return false;
	}
}

/* 1: must carry a page, 0: must not, -1: either. */
static int bi_type_data(u8 type)
{
	switch (type) {
	case BI_MSG_DATA_S:
	case BI_MSG_FETCH_DATA:
	case BI_MSG_PUT_DATA:
		return 1;
	case BI_MSG_DATA_X:
		return -1;
	default:
		return 0;
	}
}

void bi_coh_recv(struct bi_coh_node *cn, struct bi_coh_stats *st,
		 const struct bi_coh_msg *m, const u8 *data, u64 now)
{
	int need, why;
	u16 h;

	if (m->node >= cn->nr_nodes || m->node == cn->self ||
	    bi_dead(cn, m->node)) {
		why = BI_COH_DROP_NODE;
		goto drop;
	}
	if (m->page >= cn->nr_pages) {
		why = BI_COH_DROP_PAGE;
		goto drop;
	}
	if (m->type < BI_MSG_GET_S || m->type >= BI_MSG_TYPE_MAX) {
		why = BI_COH_DROP_TYPE;
		goto drop;
	}
	need = bi_type_data(m->type);
	if ((need == 1 && !data) || (need == 0 && data)) {
		why = BI_COH_DROP_DATA;
		goto drop;
	}
	h = bi_home(cn, m->page);
	if (bi_to_home(m->type) && h != cn->self) {
		why = BI_COH_DROP_NOT_HOME;
		goto drop;
	}
	if (!bi_to_home(m->type) && h != m->node) {
		why = BI_COH_DROP_NOT_FROM_HOME;
		goto drop;
	}

	switch (m->type) {
	case BI_MSG_GET_S:
	case BI_MSG_GET_X:
	case BI_MSG_PUT:
		why = bi_rx_request(cn, st, m, now);
		break;
	case BI_MSG_INV_ACK:
		why = bi_rx_inv_ack(cn, st, m, now);
		break;
	case BI_MSG_FETCH_DATA:
		why = bi_rx_fetch_data(cn, st, m, data, now);
		break;
	case BI_MSG_PUT_DATA:
		why = bi_rx_put_data(cn, st, m, data, now);
		break;
	case BI_MSG_DATA_S:
		why = bi_rx_data_s(cn, st, m, data, now);
		break;
	case BI_MSG_DATA_X:
		why = bi_rx_data_x(cn, st, m, data, now);
		break;
	case BI_MSG_NACK:
		why = bi_rx_nack(cn, st, m, now);
		break;
	case BI_MSG_PUT_ACK:
		why = bi_rx_put_ack(cn, st, m);
		break;
	case BI_MSG_INV:
		why = bi_rx_inv(cn, st, m, now);
		break;
	case BI_MSG_FETCH:
	case BI_MSG_FETCH_INV:
		why = bi_rx_fetch(cn, st, m, now);
		break;
	default:
		why = BI_COH_DROP_TYPE;
		break;
	}
	if (why == BI_COH_DROP_NR) {
		st->recv[m->type]++;
		return;
	}
drop:
	st->drops[why]++;
}

/* The revocation kept during a hold, now that it is over. */
static void bi_run_deferred(struct bi_coh_node *cn, struct bi_coh_stats *st,
			    u64 page, struct bi_coh_local *l, u16 home,
			    u64 now)
{
	struct bi_coh_msg m = {
		.type = l->defer_type,
		.node = home,
		.txid = l->defer_txid,
		.page = page,
	};

	l->defer_type = 0;
	l->defer_txid = 0;
	if (bi_dead(cn, home))
		return;		/* nobody waits for the answer */
	if (m.type == BI_MSG_INV)
		bi_rx_inv(cn, st, &m, now);
	else
		bi_rx_fetch(cn, st, &m, now);
}

/* ---- time and failures ----------------------------------------------- */

static void bi_home_tick(struct bi_coh_node *cn, struct bi_coh_stats *st,
			 u64 page, struct bi_coh_dir *d, u64 now)
{
	u64 dead = BI_READ_ONCE(cn->dead);
	unsigned int i, n;

	if (dead) {
		/* drop queued requests of dead nodes, keeping the order */
		for (i = 0, n = 0; i < d->qlen; i++) {
			struct bi_coh_req rq = d->q[(d->qhead + i) %
						    BI_COH_QLEN_MAX];

			if (rq.node != cn->self && (dead & bi_bit(rq.node)))
				continue;
			d->q[(d->qhead + n++) % BI_COH_QLEN_MAX] = rq;
		}
		d->qlen = n;
		switch (d->phase) {
		case BI_H_WAIT_ACKS:
			d->acks &= ~dead;
			if (!d->acks)
				bi_home_finish_x(cn, st, page, d, now);
			break;
		case BI_H_WAIT_FETCH:
			if (dead & bi_bit(d->owner))
				bi_home_broken(cn, st, page, d, now);
			break;
		case BI_H_WAIT_PUT:
			if (dead & bi_bit(d->cur.node))
				bi_home_broken(cn, st, page, d, now);
			break;
		default:
			if (d->state == BI_D_EXCL && (dead & bi_bit(d->owner)))
				bi_home_broken(cn, st, page, d, now);
			d->copyset &= ~dead;
			if (d->state == BI_D_SHARED && !d->copyset)
				d->state = BI_D_UNCACHED;
			break;
		}
	}
	if (d->phase != BI_H_IDLE && bi_expired(d->deadline_ns, now)) {
		/* nobody answered in time: the page's state is unknown */
		st->timeouts++;
		bi_home_broken(cn, st, page, d, now);
	}
	bi_home_drain(cn, st, page, d, now);
}

u64 bi_coh_tick(struct bi_coh_node *cn, struct bi_coh_stats *st, u64 page,
		u64 now)
{
	struct bi_coh_local *l;
	struct bi_coh_dir *d = NULL;
	u64 next = 0;
	u16 h;

	if (page >= cn->nr_pages)
		return 0;
	l = bi_local(cn, page);
	h = bi_home(cn, page);
	if (l->hold_ns && !bi_held(l, now)) {
		/* the hold is over */
		l->hold_ns = 0;
		l->flags &= ~BI_LF_HELD;
	}
	if (l->defer_type && (!l->hold_ns || bi_dead(cn, h)))
		bi_run_deferred(cn, st, page, l, h, now);
	if (h == cn->self) {
		d = bi_dir(cn, page);
		bi_home_tick(cn, st, page, d, now);
	} else if (l->pending != BI_P_NONE && bi_dead(cn, h)) {
		l->flags |= BI_LF_BROKEN;
		bi_req_done(cn, st, page, l, -EHOSTDOWN);
	}
	if (l->pending != BI_P_NONE && (l->flags & BI_LF_NACKED) &&
	    now >= l->retry_ns) {
		st->retries++;
		bi_req_send(cn, st, page, l, now);
	}
	if (l->pending != BI_P_NONE && !(l->flags & BI_LF_FAILED) &&
	    bi_expired(l->deadline_ns, now)) {
		st->timeouts++;
		if (l->flags & BI_LF_NACKED) {
			/* not at the home: forget it */
			bi_req_done(cn, st, page, l, -ETIMEDOUT);
		} else {
			/* a late answer still arrives and is taken */
			l->flags |= BI_LF_FAILED;
			st->errors++;
			cn->ops->complete(cn->priv, page, -ETIMEDOUT);
		}
	}
	if (l->pending != BI_P_NONE) {
		if (l->flags & BI_LF_NACKED)
			next = bi_min_deadline(next, l->retry_ns ?: 1);
		if (!(l->flags & BI_LF_FAILED))
			next = bi_min_deadline(next, l->deadline_ns);
	}
	if (d && d->phase != BI_H_IDLE)
		next = bi_min_deadline(next, d->deadline_ns);
	if (l->hold_ns && (l->defer_type || (d && d->qlen)))
		next = bi_min_deadline(next, l->hold_ns);
	return next;
}

bool bi_coh_busy(struct bi_coh_node *cn, u64 page)
{
	struct bi_coh_dir *d;

	if (page >= cn->nr_pages)
		return false;
	if (bi_local(cn, page)->pending != BI_P_NONE ||
	    bi_local(cn, page)->defer_type)
		return true;
	if (bi_home(cn, page) != cn->self)
		return false;
	d = bi_dir(cn, page);
	return d->phase != BI_H_IDLE || d->qlen;
}
