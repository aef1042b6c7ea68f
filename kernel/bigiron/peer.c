// SPDX-License-Identifier: GPL-2.0
/*
 * Peers: the reliable link (link.c) to each other node of a cluster.
 *
 * Every call into link.c for one peer runs under the peer's spinlock:
 * from the receive handler and the peer's timer (both softirq) and from
 * JOIN, PING and the netdev notifier (process context, BHs off).  After
 * each call bigiron_peer_sync_locked() asks the link for its next deadline
 * and re-arms the timer; the timer is never armed once teardown started.
 *
 * Delivery: link.c hands back one message at a time, valid until the next
 * call on the peer.  PING and PONG are served at once under the lock.
 * Coherence and interrupt messages are copied to a queue and handed to
 * bigiron_dsm_recv() or bigiron_ssi_recv() from a work item, in order,
 * outside the lock: the coherence protocol takes page locks and sleeps.
 * The queue holds BIGIRON_PEER_RXQ_MAX messages; one that finds it full,
 * or finds no memory, is refused to the link (bi_link_refuse()): it stays
 * unacknowledged and the peer sends it again, so nothing acknowledged is
 * ever lost.
 *
 * Sending: bigiron_peer_send() hands a coherence message to the link, or
 * when the send window is full (or older messages wait) appends it to the
 * peer's txq; every ack that frees window slots moves the txq into the
 * window, in order.  So the protocol's send never fails while the peer is
 * alive.
 *
 * Locking: bigiron_peer.lock, taken with BHs off in process context, is
 * inner to every bigiron lock but the coherence tick's (a peer's death
 * queues the tick, bigiron_dsm_node_dead()) and the interrupt ring's
 * (bigiron_ssi_node_down() does not take it); nothing that sleeps and no
 * page lock is taken under it.  Functions named _locked need it held.
 *
 * Lifetime: the peer is freed by the release of its kobject, after
 * bigiron_peer_stop() cancelled its timer and its work.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "cluster.h"

static const char * const bigiron_link_state_names[] = {
	[BI_LINK_DOWN]	= "down",
	[BI_LINK_HELLO]	= "hello",
	[BI_LINK_UP]	= "up",
	[BI_LINK_DEAD]	= "dead",
};

static void bigiron_peer_flush_locked(struct bigiron_peer *pe);

static void bigiron_peer_arm_locked(struct bigiron_peer *pe, u64 next)
{
	lockdep_assert_held(&pe->lock);

	if (!next || pe->cl->stopping || next == pe->timer_at)
		return;
	pe->timer_at = next;
	hrtimer_start(&pe->timer, ns_to_ktime(next), HRTIMER_MODE_ABS_SOFT);
}

/*
 * After any call into link.c: publish the state, re-arm the timer at the
 * link's next deadline.  bi_link_tick() acts only on expired deadlines, so
 * calling it early is harmless.
 */
static void bigiron_peer_sync_locked(struct bigiron_peer *pe)
{
	struct bigiron_cluster *cl = pe->cl;
	u64 next;

	lockdep_assert_held(&pe->lock);

	next = bi_link_tick(&cl->link, &pe->lp, ktime_get_ns());
	WRITE_ONCE(pe->state, pe->lp.state);
	bigiron_peer_arm_locked(pe, next);
}

/*
 * The timer re-arms itself with hrtimer_start() under the peer lock, like
 * every other arming, and never by returning HRTIMER_RESTART: a process
 * that holds the lock while this callback waits for it may have started
 * the timer again already, and changing the expiry of an enqueued timer
 * (hrtimer_set_expires()) would corrupt the timer queue.
 */
static enum hrtimer_restart bigiron_peer_timer(struct hrtimer *timer)
{
	struct bigiron_peer *pe = container_of(timer, struct bigiron_peer,
					       timer);
	struct bigiron_cluster *cl = pe->cl;
	u64 next = 0;

	spin_lock_bh(&pe->lock);
	/* it fired: whatever it was armed for, it is not armed now */
	pe->timer_at = 0;
	if (!cl->stopping) {
		next = bi_link_tick(&cl->link, &pe->lp, ktime_get_ns());
		if (!list_empty(&pe->txq)) {
			bigiron_peer_flush_locked(pe);
			next = bi_link_tick(&cl->link, &pe->lp, ktime_get_ns());
		}
	}
	WRITE_ONCE(pe->state, pe->lp.state);
	bigiron_peer_arm_locked(pe, next);
	spin_unlock_bh(&pe->lock);
	return HRTIMER_NORESTART;
}

/* link.c: the peer went up or died.  Called under the peer lock. */
static void bigiron_peer_state(void *priv, u16 node,
			       enum bi_link_state state)
{
	struct bigiron_cluster *cl = priv;
	struct bigiron_peer *pe = cl->peers[node];

	lockdep_assert_held(&pe->lock);

	WRITE_ONCE(pe->state, state);
	if (state == BI_LINK_UP) {
		pe->ever_up = true;
		pr_info_ratelimited("vm%u: link to node %u up\n", cl->vm->id,
				    node);
	} else if (state == BI_LINK_DEAD && !pe->ever_up && !cl->detached) {
		/*
		 * The handshake ran out before the peer ever answered: its
		 * host may start later (JOIN opens the link again).  No
		 * message reached it, so it holds no copy of this VM's pages
		 * and the protocol goes on counting on it; a JOIN that runs
		 * out of time reports it missing, and a request sent to it
		 * meanwhile ends at its fault timeout.
		 */
		if (!cl->stopping)
			pr_info_ratelimited("vm%u: node %u has not answered the handshake yet\n",
					    cl->vm->id, node);
	} else if (state == BI_LINK_DEAD) {
		if (!cl->stopping)
			pr_warn_ratelimited("vm%u: node %u is dead: %s\n",
					    cl->vm->id, node, cl->detached ?
					    "interface went away" :
					    "it stopped answering");
		bigiron_dsm_node_dead(cl, node);
		bigiron_ssi_node_down(cl, node);
	}
	wake_up_all(&cl->wq);
}

/*
 * Move waiting coherence messages into the send window while it has room;
 * drop them all once the link is dead (the protocol ends the waits on a
 * node that died; a request to a node that never answered ends at its
 * fault timeout).
 */
static void bigiron_peer_flush_locked(struct bigiron_peer *pe)
{
	struct bigiron_cluster *cl = pe->cl;
	struct bigiron_rx_msg *m;
	int err;

	lockdep_assert_held(&pe->lock);

	while ((m = list_first_entry_or_null(&pe->txq, struct bigiron_rx_msg,
					     list))) {
		if (pe->lp.state != BI_LINK_DEAD && !bi_link_space(&pe->lp))
			break;
		err = pe->lp.state == BI_LINK_DEAD ? -EPIPE :
		      bi_link_send(&cl->link, &pe->lp, &m->hdr,
				   m->hdr.payload_len ? m->data : NULL,
				   ktime_get_ns());
		if (err == -ENOBUFS)
			break;
		list_del(&m->list);
		pe->txq_len--;
		if (m->hdr.type == BI_MSG_USER) {
			pe->txq_user--;
			if (err == -EPIPE)
				WRITE_ONCE(pe->user_lost, pe->user_lost + 1);
		}
		kfree(m);
	}
}

static void bigiron_peer_count_sent_locked(struct bigiron_peer *pe,
					   const struct bi_wire_hdr *h)
{
	lockdep_assert_held(&pe->lock);

	if (h->type < BI_MSG_TYPE_MAX)
		pe->sent[h->type]++;
	if (h->payload_len)
		pe->pages_sent++;
}

/**
 * bigiron_peer_msg_new - a message for bigiron_peer_send_msg()
 * @h: type, flags, txid, page and payload_len
 * @data: h->payload_len bytes, copied, or NULL
 * @gfp: allocation flags (GFP_KERNEL_ACCOUNT where a user asked for it)
 *
 * Return: the message, or NULL.
 */
struct bigiron_rx_msg *bigiron_peer_msg_new(const struct bi_wire_hdr *h,
					    const u8 *data, gfp_t gfp)
{
	u16 len = data ? h->payload_len : 0;
	struct bigiron_rx_msg *m;

	m = kmalloc(struct_size(m, data, len), gfp);
	if (!m)
		return NULL;
	m->page = NULL;
	m->hdr = *h;
	m->hdr.payload_len = len;
	if (len)
		memcpy(m->data, data, len);
	return m;
}

/*
 * Send @h with @data now if the window has room and nothing waits before
 * it; else queue @m (which must hold the same message) when given.
 * Return: 1 sent or dropped (@m not used), 0 queued (@m used), -ENOBUFS
 * (no room and no @m), -ENOTCONN (dead peer, nothing sent).
 */
static int bigiron_peer_send_locked(struct bigiron_peer *pe,
				    const struct bi_wire_hdr *h,
				    const u8 *data, struct bigiron_rx_msg *m)
{
	struct bigiron_cluster *cl = pe->cl;
	int err;

	lockdep_assert_held(&pe->lock);

	if (pe->lp.state == BI_LINK_DEAD)
		return -ENOTCONN;
	if (list_empty(&pe->txq)) {
		err = bi_link_send(&cl->link, &pe->lp, h, data,
				   ktime_get_ns());
		if (err != -ENOBUFS) {
			if (!err)
				bigiron_peer_count_sent_locked(pe, h);
			bigiron_peer_sync_locked(pe);
			return 1;
		}
	}
	if (!m)
		return -ENOBUFS;
	list_add_tail(&m->list, &pe->txq);
	pe->txq_len++;
	if (m->hdr.type == BI_MSG_USER)
		pe->txq_user++;
	bigiron_peer_count_sent_locked(pe, h);
	return 0;
}

/**
 * bigiron_peer_send_msg - send @m to @pe's node, or queue it
 * @pe: the peer
 * @m: from bigiron_peer_msg_new(); consumed
 *
 * Return: 0, or -ENOTCONN when the peer is dead (nothing was sent).
 * Context: process or softirq.
 */
int bigiron_peer_send_msg(struct bigiron_peer *pe, struct bigiron_rx_msg *m)
{
	int ret;

	spin_lock_bh(&pe->lock);
	ret = bigiron_peer_send_locked(pe, &m->hdr,
				       m->hdr.payload_len ? m->data : NULL, m);
	spin_unlock_bh(&pe->lock);
	if (ret)
		kfree(m);
	return ret < 0 ? ret : 0;
}

/**
 * bigiron_peer_backlog - messages waiting for room in the send window
 * @pe: the peer
 * @user: count only launcher messages
 */
u32 bigiron_peer_backlog(struct bigiron_peer *pe, bool user)
{
	u32 n;

	spin_lock_bh(&pe->lock);
	n = user ? pe->txq_user : pe->txq_len;
	spin_unlock_bh(&pe->lock);
	return n;
}

/**
 * bigiron_peer_send - queue one coherence message to @pe's node
 * @pe: the peer
 * @h: type, flags, txid, page and payload_len (0 or BI_PAGE_SIZE)
 * @data: the payload, copied before this returns
 *
 * Never fails while the peer is alive: a full send window puts the message
 * on the peer's txq.  Messages to a dead peer are dropped.  The protocol
 * bounds what it has in flight (a request and its answers per page and
 * node), hence this queue; users' messages go through
 * bigiron_peer_send_msg() under their own bounds.
 *
 * Context: process, may sleep (the page's bucket lock is held).
 */
void bigiron_peer_send(struct bigiron_peer *pe, const struct bi_wire_hdr *h,
		       const u8 *data)
{
	struct bigiron_rx_msg *m;
	int ret;

	spin_lock_bh(&pe->lock);
	ret = bigiron_peer_send_locked(pe, h, data, NULL);
	spin_unlock_bh(&pe->lock);
	if (ret != -ENOBUFS)
		return;
	/*
	 * A page and a header: small enough that the allocator retries
	 * until it succeeds, and the protocol has no way to take a message
	 * back.
	 */
	m = bigiron_peer_msg_new(h, data, GFP_KERNEL | __GFP_NOFAIL);
	bigiron_peer_send_msg(pe, m);
}

const struct bi_link_ops bigiron_peer_link_ops = {
	.xmit	= bigiron_eth_xmit,
	.state	= bigiron_peer_state,
};

const struct bi_link_ops bigiron_peer_rdma_link_ops = {
	.xmit	= bigiron_rdma_xmit,
	.state	= bigiron_peer_state,
};

void bigiron_peer_count_drop_locked(struct bigiron_peer *pe,
				    enum bigiron_drop why)
{
	lockdep_assert_held(&pe->lock);

	atomic64_inc(&pe->cl->drops[why]);
	pe->drops[why]++;
}

void bigiron_peer_count_drop(struct bigiron_peer *pe, enum bigiron_drop why)
{
	atomic64_inc(&pe->cl->drops[why]);
	spin_lock_bh(&pe->lock);
	pe->drops[why]++;
	spin_unlock_bh(&pe->lock);
}

static void bigiron_peer_rx_work(struct work_struct *work)
{
	struct bigiron_peer *pe = container_of(work, struct bigiron_peer,
					       rx_work);
	struct bigiron_rx_msg *m, *tmp;
	LIST_HEAD(list);

	spin_lock_bh(&pe->lock);
	list_splice_init(&pe->rxq, &list);
	pe->rxq_len = 0;
	spin_unlock_bh(&pe->lock);

	list_for_each_entry_safe(m, tmp, &list, list) {
		list_del(&m->list);
		if (bi_wire_type_ssi(m->hdr.type)) {
			/* takes @m; CREDIT never gets here (bigiron_peer_rx) */
			bigiron_ssi_recv(pe->cl, pe->node, m);
		} else {
			bigiron_dsm_recv(pe->cl, pe->node, &m->hdr,
					 bigiron_rx_msg_data(m));
			bigiron_rx_msg_free(m);
		}
		/* a long backlog must not hold the CPU (soft lockup) */
		cond_resched();
	}
}

/**
 * bigiron_peer_rx_dup - the transport dropped a duplicate unread
 * @pe: the peer whose connection it came on
 *
 * Its unchecked sequence number was already delivered: counted as
 * old_seq, and an ack is owed, as for a duplicate the link decoded.
 *
 * Context: softirq (the receive handler).
 */
void bigiron_peer_rx_dup(struct bigiron_peer *pe)
{
	spin_lock(&pe->lock);
	if (!pe->cl->detached) {
		bi_link_rx_dup(&pe->cl->link, &pe->lp, ktime_get_ns());
		bigiron_peer_sync_locked(pe);
	}
	spin_unlock(&pe->lock);
}

void bigiron_rx_msg_free(struct bigiron_rx_msg *m)
{
	if (m->page)
		put_page(m->page);
	kfree(m);
}

/*
 * The message for a delivered one: a coherence message whose page payload
 * is @page's (the transport's receive page, offered through *@page) takes
 * the page, which spares a copy, and clears *@page; any other gets a copy.
 */
static struct bigiron_rx_msg *
bigiron_peer_msg_rx(const struct bi_link_msg *msg, struct page **page)
{
	struct bigiron_rx_msg *m;

	if (!page || !*page || !msg->data ||
	    msg->hdr.payload_len != BI_PAGE_SIZE ||
	    !bi_wire_type_coh(msg->hdr.type) ||
	    msg->data != page_address(*page))
		return bigiron_peer_msg_new(&msg->hdr, msg->data, GFP_ATOMIC);
	m = kmalloc(sizeof(*m), GFP_ATOMIC);
	if (!m)
		return NULL;
	m->hdr = msg->hdr;
	m->page = *page;
	*page = NULL;
	return m;
}

/*
 * Queue a delivered message for process context.  False when it cannot be
 * held (no memory, or the queue is full): the caller then refuses it to
 * the link, which leaves it unacknowledged, and the peer sends it again.
 * A message the link acknowledged is never dropped here.
 */
static bool bigiron_peer_queue_coh_locked(struct bigiron_peer *pe,
					  const struct bi_link_msg *msg,
					  struct page **page)
{
	struct bigiron_cluster *cl = pe->cl;
	u16 len = msg->data ? msg->hdr.payload_len : 0;
	bool user = msg->hdr.type == BI_MSG_USER;
	enum bigiron_drop why = BIGIRON_DROP_COH_NOMEM;
	struct bigiron_rx_msg *m = NULL;

	lockdep_assert_held(&pe->lock);

	if (pe->rxq_len >= BIGIRON_PEER_RXQ_MAX) {
		why = BIGIRON_DROP_RXQ_FULL;
	} else if (user && !bigiron_ssi_hold_msg(pe)) {
		why = BIGIRON_DROP_MSGQ_FULL;
	} else if (bi_wire_type_coh(msg->hdr.type) &&
		   bigiron_dsm_prepare(cl, msg->hdr.page)) {
		/* no memory for the page's metadata (counted as coh_nomem) */
	} else {
		if (atomic_read(&cl->fail_rx) <= 0 ||
		    atomic_dec_if_positive(&cl->fail_rx) < 0)
			m = bigiron_peer_msg_rx(msg, page);
		if (!m && user)
			bigiron_ssi_unhold_msg(pe);
	}
	if (!m) {
		bigiron_peer_count_drop_locked(pe, why);
		if (why == BIGIRON_DROP_MSGQ_FULL)
			atomic64_inc(&cl->ssi.msgs_dropped);
		return false;
	}
	if (msg->hdr.type < BI_MSG_TYPE_MAX)
		pe->recv[msg->hdr.type]++;
	if (len)
		pe->pages_recv++;
	list_add_tail(&m->list, &pe->rxq);
	pe->rxq_len++;
	queue_work(system_highpri_wq, &pe->rx_work);
	return true;
}

/* PING: answer at once with the same txid and payload. */
static void bigiron_peer_pong_locked(struct bigiron_peer *pe,
				     const struct bi_link_msg *msg)
{
	struct bi_wire_hdr h = {
		.type = BI_MSG_PONG,
		.txid = msg->hdr.txid,
		.payload_len = msg->data ? msg->hdr.payload_len : 0,
	};

	lockdep_assert_held(&pe->lock);

	/* msg->data is only read before the window slot is written */
	if (bi_link_send(&pe->cl->link, &pe->lp, &h, msg->data,
			 ktime_get_ns())) {
		atomic64_inc(&pe->cl->drops[BIGIRON_DROP_PONG_TX]);
		pe->drops[BIGIRON_DROP_PONG_TX]++;
	}
}

static void bigiron_peer_got_pong_locked(struct bigiron_peer *pe,
					 const struct bi_link_msg *msg)
{
	u16 len = msg->data ? msg->hdr.payload_len : 0;

	lockdep_assert_held(&pe->lock);

	if (!pe->ping_txid || msg->hdr.txid != pe->ping_txid ||
	    len != pe->ping_len ||
	    (len && memcmp(msg->data, pe->ping_data, len))) {
		atomic64_inc(&pe->cl->drops[BIGIRON_DROP_BAD_PONG]);
		pe->drops[BIGIRON_DROP_BAD_PONG]++;
		return;
	}
	WRITE_ONCE(pe->pong_txid, pe->ping_txid);
	wake_up_all(&pe->cl->wq);
}

/**
 * bigiron_peer_rx - a frame from @pe's node passed bi_wire_decode()
 * @pe: the peer named by the frame's authenticated source
 * @h: decoded header
 * @frag: h->frag_len payload bytes
 * @page: NULL, or the page @frag is at the start of, which the transport
 *	gives up: a message that keeps it takes the reference and sets
 *	*@page to NULL
 *
 * Context: softirq (the receive handler).
 */
void bigiron_peer_rx(struct bigiron_peer *pe, struct bi_wire_hdr *h,
		     const u8 *frag, struct page **page)
{
	struct bigiron_cluster *cl = pe->cl;
	struct bi_link_msg msg;

	spin_lock(&pe->lock);
	if (cl->detached) {
		atomic64_inc(&cl->drops[BIGIRON_DROP_STOPPED]);
		pe->drops[BIGIRON_DROP_STOPPED]++;
		goto out;
	}
	if (bi_link_rx(&cl->link, &pe->lp, h, frag, ktime_get_ns(), &msg)) {
		switch (msg.hdr.type) {
		case BI_MSG_PING:
			/* no room for the PONG: the PING comes again */
			if (!bi_link_space(&pe->lp)) {
				bigiron_peer_count_drop_locked(pe,
							       BIGIRON_DROP_PONG_TX);
				bi_link_refuse(&pe->lp, &msg);
				break;
			}
			bigiron_peer_pong_locked(pe, &msg);
			break;
		case BI_MSG_PONG:
			bigiron_peer_got_pong_locked(pe, &msg);
			break;
		case BI_MSG_CREDIT:
			bigiron_ssi_credit_locked(pe, msg.hdr.txid);
			break;
		default:
			if (!bigiron_peer_queue_coh_locked(pe, &msg, page))
				bi_link_refuse(&pe->lp, &msg);
			break;
		}
	}
	bigiron_peer_flush_locked(pe);
	bigiron_peer_sync_locked(pe);
out:
	spin_unlock(&pe->lock);
}

/*
 * Open the link for JOIN: start the handshake of a link never opened, and
 * again for one whose handshake ran out before the peer ever answered (the
 * other host may start later than this one).  A link that was up and died
 * stays dead: that host lost its pages.
 */
void bigiron_peer_join(struct bigiron_peer *pe)
{
	struct bigiron_cluster *cl = pe->cl;
	struct bi_link_stats stats;

	spin_lock_bh(&pe->lock);
	if (cl->detached)
		goto out;
	if (pe->lp.state == BI_LINK_DEAD && !pe->ever_up) {
		u64 seq;

		/*
		 * The window's messages never reached the peer (it never
		 * answered): they go with it, and launcher messages among
		 * them stop counting against the credit window.
		 */
		for (seq = pe->lp.snd_una; seq != pe->lp.snd_nxt; seq++)
			if (pe->win[seq & (pe->lp.win_size - 1)].hdr.type ==
			    BI_MSG_USER)
				WRITE_ONCE(pe->user_lost, pe->user_lost + 1);
		stats = pe->lp.stats;
		if (WARN_ON_ONCE(bi_link_peer_init(&cl->link, &pe->lp,
						   pe->node, pe->win,
						   BIGIRON_PEER_WINDOW,
						   pe->rs, 1)))
			goto out;
		pe->lp.stats = stats;
	}
	bi_link_open(&cl->link, &pe->lp, ktime_get_ns());
	bigiron_peer_sync_locked(pe);
out:
	spin_unlock_bh(&pe->lock);
}

/* The interface went away or the node instance stops. */
void bigiron_peer_kill_locked(struct bigiron_peer *pe)
{
	lockdep_assert_held(&pe->lock);

	bi_link_kill(&pe->cl->link, &pe->lp, ktime_get_ns());
	WRITE_ONCE(pe->state, pe->lp.state);
}

static bool bigiron_peer_ping_done(struct bigiron_peer *pe, u32 txid)
{
	return READ_ONCE(pe->pong_txid) == txid ||
	       READ_ONCE(pe->state) != BI_LINK_UP;
}

/**
 * bigiron_peer_ping - one PING and its PONG
 * @pe: the peer
 * @payload: @len bytes carried both ways
 * @len: 0 or BI_PAGE_SIZE
 * @rtt_ns: the round-trip time
 *
 * Context: process, bigiron_cluster.ping_lock held.
 * Return: 0, -ENOTCONN (link not up), -EHOSTDOWN (peer dead), -EAGAIN
 * (send window full), -ETIMEDOUT (no PONG within a second), -EINTR.
 */
int bigiron_peer_ping(struct bigiron_peer *pe, const u8 *payload, u16 len,
		      u64 *rtt_ns)
{
	struct bigiron_cluster *cl = pe->cl;
	struct bi_wire_hdr h = {
		.type = BI_MSG_PING,
		.payload_len = len,
	};
	u64 start, end;
	long left = 0;
	bool got;
	int err;

	lockdep_assert_held(&cl->ping_lock);

	spin_lock_bh(&pe->lock);
	if (pe->lp.state != BI_LINK_UP) {
		err = pe->lp.state == BI_LINK_DEAD ? -EHOSTDOWN : -ENOTCONN;
		spin_unlock_bh(&pe->lock);
		return err;
	}
	if (!++pe->ping_next)
		pe->ping_next = 1;
	h.txid = pe->ping_next;
	pe->ping_txid = h.txid;
	pe->ping_data = payload;
	pe->ping_len = len;
	start = ktime_get_ns();
	err = bi_link_send(&cl->link, &pe->lp, &h, payload, start);
	bigiron_peer_sync_locked(pe);
	spin_unlock_bh(&pe->lock);

	if (!err)
		left = wait_event_killable_timeout(cl->wq,
						   bigiron_peer_ping_done(pe, h.txid),
						   HZ);
	end = ktime_get_ns();

	spin_lock_bh(&pe->lock);
	got = pe->pong_txid == h.txid;
	pe->ping_txid = 0;
	pe->ping_data = NULL;
	pe->ping_len = 0;
	spin_unlock_bh(&pe->lock);

	if (err)
		return err == -ENOBUFS ? -EAGAIN : -EHOSTDOWN;
	if (got) {
		*rtt_ns = max_t(u64, end - start, 1);
		return 0;
	}
	if (left < 0)
		return -EINTR;
	if (READ_ONCE(pe->state) != BI_LINK_UP)
		return -EHOSTDOWN;
	return -ETIMEDOUT;
}

u64 bigiron_peer_total_drops(struct bigiron_peer *pe)
{
	u64 sum = 0;
	int i;

	spin_lock_bh(&pe->lock);
	for (i = 0; i < BI_LINK_DROP_NR; i++)
		sum += pe->lp.stats.drops[i];
	for (i = 0; i < BIGIRON_DROP_NR; i++)
		sum += pe->drops[i];
	/* a refusal is the link's no_room already: counted once */
	sum -= pe->drops[BIGIRON_DROP_COH_NOMEM] +
	       pe->drops[BIGIRON_DROP_RXQ_FULL] +
	       pe->drops[BIGIRON_DROP_MSGQ_FULL] +
	       pe->drops[BIGIRON_DROP_PONG_TX];
	spin_unlock_bh(&pe->lock);
	return sum;
}

/*
 * ---- sysfs: /sys/kernel/bigiron/vm<id>/peers/node<N>/ ------------------
 *
 * ABI, one read-only value per file, for each other node of the cluster:
 *
 *   state        down (not joined yet), hello (handshake running), up, or
 *                dead (stopped answering, or the interface went away)
 *   mac          the node's link-layer address, from SET_CLUSTER
 *   retransmits  messages this host sent again to the node (decimal)
 *   rx_frames    authenticated frames received from the node (decimal)
 *   tx_frames    frames sent to the node (decimal)
 *   drops        the node's frames dropped after authentication, and
 *                frames to it not sent, every reason together (decimal)
 *   read_faults  read requests (GET_S) sent to the node as home (decimal)
 *   write_faults write requests (GET_X) sent to the node as home
 *   inv_sent     invalidations sent to the node (it held a copy)
 *   inv_recv     invalidations received from the node (its home pages)
 *   pages_sent   messages to the node that carried a page
 *   pages_recv   messages from the node that carried a page
 *   ping_pongs   pages whose ownership was taken from the node for
 *                another writer (FETCH_INV sent to it)
 *   backlog      coherence messages waiting for room in the send window
 *
 * Per-reason detail is in debugfs vm<id>/peers (for humans, may change);
 * frames dropped before authentication cannot be charged to a node and
 * are counted per VM in debugfs vm<id>/cluster.
 */

static struct bigiron_peer *kobj_to_peer(struct kobject *kobj)
{
	return container_of(kobj, struct bigiron_peer, kobj);
}

static ssize_t state_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	unsigned int st = READ_ONCE(kobj_to_peer(kobj)->state);

	if (st >= ARRAY_SIZE(bigiron_link_state_names))
		return -EIO;
	return sysfs_emit(buf, "%s\n", bigiron_link_state_names[st]);
}

static ssize_t mac_show(struct kobject *kobj, struct kobj_attribute *attr,
			char *buf)
{
	struct bigiron_peer *pe = kobj_to_peer(kobj);

	return sysfs_emit(buf, "%pM\n", pe->cl->nodes[pe->node].mac);
}

#define BIGIRON_PEER_STAT(name, expr)					\
static ssize_t name##_show(struct kobject *kobj,			\
			   struct kobj_attribute *attr, char *buf)	\
{									\
	struct bigiron_peer *pe = kobj_to_peer(kobj);			\
	u64 val;							\
									\
	spin_lock_bh(&pe->lock);					\
	val = (expr);							\
	spin_unlock_bh(&pe->lock);					\
	return sysfs_emit(buf, "%llu\n", val);				\
}									\
static struct kobj_attribute name##_attr = __ATTR_RO(name)

BIGIRON_PEER_STAT(retransmits, pe->lp.stats.retransmits);
BIGIRON_PEER_STAT(rx_frames, pe->lp.stats.rx_frames);
BIGIRON_PEER_STAT(tx_frames, pe->lp.stats.tx_frames);
BIGIRON_PEER_STAT(read_faults, pe->sent[BI_MSG_GET_S]);
BIGIRON_PEER_STAT(write_faults, pe->sent[BI_MSG_GET_X]);
BIGIRON_PEER_STAT(inv_sent, pe->sent[BI_MSG_INV]);
BIGIRON_PEER_STAT(inv_recv, pe->recv[BI_MSG_INV]);
BIGIRON_PEER_STAT(pages_sent, pe->pages_sent);
BIGIRON_PEER_STAT(pages_recv, pe->pages_recv);
BIGIRON_PEER_STAT(ping_pongs, pe->sent[BI_MSG_FETCH_INV]);
BIGIRON_PEER_STAT(backlog, pe->txq_len);

static ssize_t drops_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  bigiron_peer_total_drops(kobj_to_peer(kobj)));
}

static struct kobj_attribute state_attr = __ATTR_RO(state);
static struct kobj_attribute mac_attr = __ATTR_RO(mac);
static struct kobj_attribute drops_attr = __ATTR_RO(drops);

static struct attribute *bigiron_peer_attrs[] = {
	&state_attr.attr,
	&mac_attr.attr,
	&retransmits_attr.attr,
	&rx_frames_attr.attr,
	&tx_frames_attr.attr,
	&drops_attr.attr,
	&read_faults_attr.attr,
	&write_faults_attr.attr,
	&inv_sent_attr.attr,
	&inv_recv_attr.attr,
	&pages_sent_attr.attr,
	&pages_recv_attr.attr,
	&ping_pongs_attr.attr,
	&backlog_attr.attr,
	NULL
};
ATTRIBUTE_GROUPS(bigiron_peer);

static void bigiron_peer_release(struct kobject *kobj)
{
	struct bigiron_peer *pe = kobj_to_peer(kobj);
	unsigned int i;

	for (i = 0; i < BIGIRON_PEER_WINDOW; i++)
		if (pe->win_pages[i])
			__free_page(pe->win_pages[i]);
	kvfree(pe->rs);
	kvfree(pe->win);
	kfree(pe);
}

static const struct kobj_type bigiron_peer_ktype = {
	.release	= bigiron_peer_release,
	.sysfs_ops	= &kobj_sysfs_ops,
	.default_groups	= bigiron_peer_groups,
};

/**
 * bigiron_peer_create - the link to @node, closed, not yet published
 * @cl: node instance with its link context set up
 * @node: the peer's node id
 *
 * Return: the peer (freed by bigiron_peer_put()), or an ERR_PTR().
 */
struct bigiron_peer *bigiron_peer_create(struct bigiron_cluster *cl, u16 node)
{
	struct bigiron_peer *pe;
	unsigned int i;
	int err;

	pe = kzalloc(sizeof(*pe), GFP_KERNEL);
	if (!pe)
		return ERR_PTR(-ENOMEM);
	kobject_init(&pe->kobj, &bigiron_peer_ktype);
	pe->cl = cl;
	pe->node = node;
	spin_lock_init(&pe->lock);
	INIT_LIST_HEAD(&pe->rxq);
	INIT_LIST_HEAD(&pe->txq);
	INIT_WORK(&pe->rx_work, bigiron_peer_rx_work);
	hrtimer_init(&pe->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_SOFT);
	pe->timer.function = bigiron_peer_timer;

	err = -ENOMEM;
	pe->win = kvmalloc_array(BIGIRON_PEER_WINDOW, sizeof(*pe->win),
				 GFP_KERNEL_ACCOUNT);
	pe->rs = kvmalloc(sizeof(*pe->rs), GFP_KERNEL_ACCOUNT);
	if (!pe->win || !pe->rs)
		goto err_put;
	for (i = 0; i < BIGIRON_PEER_WINDOW; i++) {
		pe->win_pages[i] = alloc_page(GFP_KERNEL_ACCOUNT);
		if (!pe->win_pages[i])
			goto err_put;
		pe->win[i].data = page_address(pe->win_pages[i]);
	}
	err = bi_link_peer_init(&cl->link, &pe->lp, node, pe->win,
				BIGIRON_PEER_WINDOW, pe->rs, 1);
	if (err)
		goto err_put;
	pe->state = pe->lp.state;
	return pe;

err_put:
	kobject_put(&pe->kobj);
	return ERR_PTR(err);
}

/* Publish the peer's sysfs directory under cl->peers_kobj. */
int bigiron_peer_publish(struct bigiron_peer *pe)
{
	return kobject_add(&pe->kobj, pe->cl->peers_kobj, "node%u", pe->node);
}

/*
 * Stop the peer's timer and delivery work.  Called once the receive
 * handler is gone and cl->stopping is set under the peer lock, so that
 * nothing re-arms the timer or queues work any more.
 */
void bigiron_peer_stop(struct bigiron_peer *pe)
{
	struct bigiron_rx_msg *m, *tmp;

	hrtimer_cancel(&pe->timer);
	cancel_work_sync(&pe->rx_work);
	list_for_each_entry_safe(m, tmp, &pe->rxq, list) {
		list_del(&m->list);
		bigiron_rx_msg_free(m);
	}
	pe->rxq_len = 0;
	list_for_each_entry_safe(m, tmp, &pe->txq, list) {
		list_del(&m->list);
		kfree(m);
	}
	pe->txq_len = 0;
	pe->txq_user = 0;
}

/* Unpublish (waiting for sysfs readers) and free the peer. */
void bigiron_peer_put(struct bigiron_peer *pe)
{
	if (pe->kobj.state_in_sysfs)
		kobject_del(&pe->kobj);
	kobject_put(&pe->kobj);
}
