/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron: home-based directory coherence protocol, pure C.
 *
 * Every guest page has a fixed home node. The home keeps the page's
 * directory entry (struct bi_coh_dir) and the page's backing data; every
 * node, the home included, keeps the page's local state (struct
 * bi_coh_local). The protocol is described in selftests/proto/README.
 *
 * Memory: the caller owns every structure; an all-zero bi_coh_dir and
 * bi_coh_local are a valid initial state (page held by its home only,
 * nobody mapped, nothing pending).
 *
 * Locking: every function below that takes a page number reads and
 * writes only that page's bi_coh_local and, at its home, bi_coh_dir, plus
 * the caller's stats. The caller holds the lock covering that page (the
 * kernel: the page's bucket lock, a mutex, because the map/unmap callbacks
 * may sleep) across the call, and passes statistics only it writes under
 * that lock (per bucket or per CPU). struct bi_coh_node is read-only once
 * set up, except its dead mask, which only gains bits and is read with
 * BI_READ_ONCE(); see bi_coh_mark_dead().
 *
 * The callbacks run under that same lock and must not call back into
 * this file; send() queues the message (it must not fail: the transport
 * keeps a backlog when its window is full).
 */
#ifndef _BIGIRON_COH_H
#define _BIGIRON_COH_H

#include "pure.h"
#include <bigiron/wire.h>

/* Local state of a page at one node. */
enum bi_coh_lstate {
	BI_L_INVALID = 0,	/* no access */
	BI_L_SHARED,		/* read-only copy, equal to the last write */
	BI_L_EXCL,		/* the only copy, writable */
};

/* The request this node has outstanding for a page (one at most). */
enum bi_coh_pending {
	BI_P_NONE = 0,
	BI_P_GET_S,
	BI_P_GET_X,
	BI_P_PUT,
};

#define BI_LF_NACKED	0x01	/* refused by the home; resend at retry_ns */
#define BI_LF_FAILED	0x02	/* waiters already failed with a timeout */
#define BI_LF_BROKEN	0x04	/* page lost (its owner or home died) */
#define BI_LF_HELD	0x08	/* granted to a waiter that did not use it yet */
#define BI_LF_PREFETCH	0x10	/* the GET_S outstanding has no waiter yet */
#define BI_LF_PREFETCHED 0x20	/* read copy from a prefetch, not used yet */

/*
 * Hold: rights granted to a waiting access are kept for a while before
 * anyone may take them back: until hold_ns, which is hold_max_ns after the
 * grant, or hold_min_ns after the access used them (bi_coh_access()
 * returned 0), whichever comes first.  Otherwise a page contended by two
 * nodes can be taken back before the waiter on one of them ever runs, and
 * that waiter starves.  A revocation that comes meanwhile (INV, FETCH,
 * FETCH_INV from the home, or at the home a request from another node) is
 * kept and acted on when the hold ends (bi_coh_tick()).
 */
struct bi_coh_local {
	u8 state;		/* enum bi_coh_lstate */
	u8 pending;		/* enum bi_coh_pending */
	u8 flags;		/* BI_LF_* */
	u8 nacks;		/* consecutive NACKs, for the backoff */
	u32 txid;		/* id of the outstanding request */
	u64 deadline_ns;	/* waiters fail after this; 0: none */
	u64 retry_ns;		/* NACKed request is resent at this time */
	u64 hold_ns;		/* revocations wait until this; 0: none */
	u8 defer_type;		/* revocation kept during the hold; 0: none */
	u8 pad[3];
	u32 defer_txid;		/* its txid (it came from the home) */
};

/* Directory state of a page at its home. */
enum bi_coh_dstate {
	BI_D_UNCACHED = 0,	/* no remote copy; home data current */
	BI_D_SHARED,		/* read-only copies at copyset; home current */
	BI_D_EXCL,		/* writable at owner; home data stale */
	BI_D_BROKEN,		/* data lost with a dead owner */
};

/* What the home's current transaction waits for. */
enum bi_coh_phase {
	BI_H_IDLE = 0,
	BI_H_WAIT_ACKS,		/* INV_ACK from every node in acks */
	BI_H_WAIT_FETCH,	/* FETCH_DATA from owner */
	BI_H_WAIT_PUT,		/* PUT_DATA from the requester (owner) */
};

#define BI_COH_QLEN_MAX	8

struct bi_coh_req {
	u16 node;		/* requester */
	u8 type;		/* BI_MSG_GET_S, _GET_X, _PUT */
	u8 flags;		/* BI_WF_HAS_COPY */
	u32 txid;
};

struct bi_coh_dir {
	u8 state;		/* enum bi_coh_dstate */
	u8 phase;		/* enum bi_coh_phase; != IDLE: busy */
	u8 qhead;		/* FIFO of waiting requests */
	u8 qlen;
	u16 owner;		/* BI_D_EXCL */
	u16 wait_node;		/* BI_H_WAIT_FETCH/_PUT: who must answer */
	u64 copyset;		/* BI_D_SHARED, never the home's bit */
	u64 acks;		/* BI_H_WAIT_ACKS: still to answer */
	u32 epoch;		/* id of the current transaction */
	u32 pad;
	u64 deadline_ns;	/* busy too long after this; 0: none */
	struct bi_coh_req cur;	/* request being served */
	struct bi_coh_req q[BI_COH_QLEN_MAX];
};

/* A protocol message without its page data. */
struct bi_coh_msg {
	u8 type;		/* enum bi_msg_type, BI_MSG_GET_S.. */
	u8 flags;		/* BI_WF_* */
	u16 node;		/* send: destination; receive: source */
	u32 txid;
	u64 page;
};

enum bi_coh_drop {
	BI_COH_DROP_NODE = 0,	/* source out of range, self or dead */
	BI_COH_DROP_PAGE,	/* page out of range */
	BI_COH_DROP_TYPE,	/* not a coherence message */
	BI_COH_DROP_NOT_HOME,	/* home-bound message, we are not home */
	BI_COH_DROP_NOT_FROM_HOME, /* home-only message from another node */
	BI_COH_DROP_DATA,	/* data missing or unexpected */
	BI_COH_DROP_STALE,	/* answer to no outstanding request */
	BI_COH_DROP_STATE,	/* makes no sense in the current state */
	BI_COH_DROP_REQUEST,	/* request contradicting the directory */
	BI_COH_DROP_NR
};

struct bi_coh_stats {
	u64 drops[BI_COH_DROP_NR];
	u64 sent[BI_MSG_TYPE_MAX];
	u64 recv[BI_MSG_TYPE_MAX];	/* accepted, per type */
	u64 read_misses;	/* GET_S issued (remote or at home) */
	u64 write_misses;	/* GET_X issued without a copy */
	u64 upgrades;		/* GET_X issued holding a read-only copy */
	u64 puts;		/* PUTs issued */
	u64 drops_clean;	/* read-only copies dropped silently */
	u64 nacks_sent;
	u64 retries;		/* requests resent after a NACK */
	u64 timeouts;		/* waits failed by a deadline */
	u64 errors;		/* waits failed by an error */
	u64 served;		/* requests served by this home */
	u64 ping_pongs;		/* ownership moved between two nodes */
	u64 deferred;		/* revocations kept back by a hold */
	u64 prefetches;		/* GET_S issued by bi_coh_prefetch() */
	u64 prefetch_hits;	/* prefetched copies an access then used */
};

struct bi_coh_params {
	u8 qlen;		/* per-page queue, 1..BI_COH_QLEN_MAX */
	u64 req_timeout_ns;	/* a waiting fault fails after; 0: never */
	u64 home_timeout_ns;	/* a busy home gives up after; 0: never */
	u64 retry_ns;		/* first resend after a NACK */
	u64 retry_max_ns;	/* backoff cap */
	u64 hold_min_ns;	/* hold after the waiter used the rights */
	u64 hold_max_ns;	/* hold after a grant; 0: no hold at all */
};

struct bi_coh_node;

struct bi_coh_ops {
	/* The page's home node, < nr_nodes; fixed for the VM's life. */
	u16 (*home)(void *priv, u64 page);
	/* The page's directory entry, NULL if this node is not its home. */
	struct bi_coh_dir *(*dir)(void *priv, u64 page);
	struct bi_coh_local *(*local)(void *priv, u64 page);
	/*
	 * Queue m to m->node. With data, the callee copies this node's page
	 * now, during the call: the protocol has revoked write access first.
	 */
	void (*send)(void *priv, const struct bi_coh_msg *m, bool data);
	/* Overwrite this node's copy; the page is unmapped during it. */
	void (*copy_in)(void *priv, u64 page, const u8 *data);
	void (*map_ro)(void *priv, u64 page);	/* reads may now map */
	void (*map_rw)(void *priv, u64 page);	/* writes may now map */
	void (*wrprotect)(void *priv, u64 page);/* revoke write access */
	void (*unmap)(void *priv, u64 page);	/* revoke all access */
	/*
	 * The page's outstanding request ended (err 0) or failed: wake the
	 * faults waiting on it; they call bi_coh_access() again.
	 */
	void (*complete)(void *priv, u64 page, int err);
};

struct bi_coh_node {
	u16 self;
	u16 nr_nodes;
	u64 nr_pages;
	u64 dead;		/* nodes declared dead; only gains bits */
	struct bi_coh_params params;
	const struct bi_coh_ops *ops;
	void *priv;
};

/* Returns 0 or -EINVAL for out-of-range parameters. */
int bi_coh_init(struct bi_coh_node *cn, u16 self, u16 nr_nodes,
		u64 nr_pages, const struct bi_coh_params *p,
		const struct bi_coh_ops *ops, void *priv);
void bi_coh_default_params(struct bi_coh_params *p);

/*
 * A guest access to page faulted here. Returns 0 when this node has the
 * rights now (mapped through map_ro/map_rw), -EAGAIN when a request is on
 * its way (wait for complete(), then call again), or an error: -EIO page
 * lost, -EHOSTDOWN home dead, -ETIMEDOUT, -EPROTO. A return of 0 counts as
 * the use of a grant (see the hold above): the caller must make the access
 * happen before a revocation can act, i.e. before its next bi_coh_tick().
 */
int bi_coh_access(struct bi_coh_node *cn, struct bi_coh_stats *st, u64 page,
		  bool write, u64 now);

/*
 * Ask for a read-only copy of page before anything accesses it, when this
 * node holds no rights on it, has no request outstanding for it and is
 * not its home. Nobody waits: the copy arrives without a hold (a later
 * bi_coh_access() that finds the request outstanding waits for it, and
 * gets the hold), and a NACK drops the request instead of resending it.
 * Returns 0 when a request was sent, -EBUSY when there was nothing to
 * ask for, -EHOSTDOWN or -EINVAL.
 */
int bi_coh_prefetch(struct bi_coh_node *cn, struct bi_coh_stats *st,
		    u64 page, u64 now);

/*
 * Chained accesses: an access that needs several contended pages at once
 * (a page-table walk, a copy across pages) faults on them one at a time,
 * and a page it already got can be taken back while it waits for the next.
 * bi_coh_hold_extend() keeps the rights on page, if they are still held,
 * until until: the caller passes at most the start of the chain's first
 * access plus hold_max_ns, so no hold ends later than hold_max_ns after
 * its grant.  bi_coh_hold_ease() ends that extension: hold_min_ns from
 * now at most.  The caller then calls bi_coh_tick() for the new deadline.
 */
void bi_coh_hold_extend(struct bi_coh_node *cn, u64 page, u64 until, u64 now);
void bi_coh_hold_ease(struct bi_coh_node *cn, u64 page, u64 now);

/*
 * Give up this node's copy of page. A read-only copy is dropped at once
 * (returns 0; the home keeps over-approximating its copy set); a
 * writable one is handed back to the home through a PUT (-EINPROGRESS,
 * complete() follows) and stays usable until the home takes it. Returns
 * -EBUSY while a request for the page is outstanding. At the home the page
 * is only unmapped.
 */
int bi_coh_evict(struct bi_coh_node *cn, struct bi_coh_stats *st, u64 page,
		 u64 now);

/*
 * A message arrived from m->node, in order on a reliable link; data is
 * the 4096-byte payload or NULL. Anything that does not fit the state is
 * dropped and counted in st->drops.
 */
void bi_coh_recv(struct bi_coh_node *cn, struct bi_coh_stats *st,
		 const struct bi_coh_msg *m, const u8 *data, u64 now);

/*
 * Timeouts, NACK resends and dead peers for one page. Returns the page's
 * next deadline, 0 if none. The caller calls it for every page with
 * something outstanding (bi_coh_busy()) when that deadline passes and
 * after bi_coh_mark_dead().
 */
u64 bi_coh_tick(struct bi_coh_node *cn, struct bi_coh_stats *st, u64 page,
		u64 now);
bool bi_coh_busy(struct bi_coh_node *cn, u64 page);

/*
 * Declare node dead (the link gave up on it). Lock-free and callable for
 * two nodes at once: the mask only gains bits, by an atomic OR. Waits on
 * the dead node end at the next bi_coh_tick() of each page, with
 * -EHOSTDOWN, or -EIO when it held the only current copy.
 */
void bi_coh_mark_dead(struct bi_coh_node *cn, u16 node);

const char *bi_coh_drop_name(enum bi_coh_drop why);

#endif /* _BIGIRON_COH_H */
