// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron: reliable in-order link to each peer, pure C (see link.h).
 *
 * Locking: none inside; the caller serializes all calls on one peer but
 * bi_link_seq_ref(), for which rcv_nxt and snd_nxt are written with
 * BI_WRITE_ONCE.
 */
#include "link.h"

static const char * const bi_link_drop_names[BI_LINK_DROP_NR] = {
	[BI_LINK_DROP_STATE] = "bad_link_state",
	[BI_LINK_DROP_BOOT] = "bad_boot",
	[BI_LINK_DROP_OLD_SEQ] = "old_seq",
	[BI_LINK_DROP_FUTURE_SEQ] = "future_seq",
	[BI_LINK_DROP_BAD_ACK] = "bad_ack",
	[BI_LINK_DROP_HELLO_UP] = "hello_while_up",
	[BI_LINK_DROP_REASM] = "reasm",
	[BI_LINK_DROP_NO_ROOM] = "no_room",
};

const char *bi_link_drop_name(enum bi_link_drop why)
{
	if ((unsigned int)why >= BI_LINK_DROP_NR)
		return "unknown";
	return bi_link_drop_names[why];
}

void bi_link_default_params(struct bi_link_params *p)
{
	p->rto_init_ns = 2 * 1000 * 1000;
	p->rto_min_ns = 200 * 1000;
	p->rto_max_ns = 500 * 1000 * 1000;
	p->max_retries = 12;
	p->frag_size = (1500 - BI_WIRE_HDR_LEN) & ~7U;
	p->ack_delay_ns = 200 * 1000;
	p->hb_idle_ns = 100 * 1000 * 1000;
	p->reasm_timeout_ns = 100 * 1000 * 1000;
	p->seq_first = 1;
}

static u64 bi_rto_next(const struct bi_link_params *p, u64 rto)
{
	rto *= 2;
	return rto > p->rto_max_ns ? p->rto_max_ns : rto;
}

/*
 * Every RTO, computed or backed off, is at most rto_max_ns: the one in use
 * when the peer falls silent, and each of the max_retries after it.
 */
u64 bi_link_dead_bound(const struct bi_link_params *p)
{
	return ((u64)p->max_retries + 1) * p->rto_max_ns;
}

/* RFC 6298 with the delayed-ack floor, see link.h. */
static u64 bi_rto_calc(const struct bi_link_params *p, u64 srtt, u64 rttvar)
{
	u64 var = 4 * rttvar, rto;

	if (var < BI_LINK_RTO_GRAN_NS)
		var = BI_LINK_RTO_GRAN_NS;
	if (var < p->ack_delay_ns + BI_LINK_RTO_GRAN_NS)
		var = p->ack_delay_ns + BI_LINK_RTO_GRAN_NS;
	rto = srtt + var;
	if (rto < p->rto_min_ns)
		rto = p->rto_min_ns;
	return rto > p->rto_max_ns ? p->rto_max_ns : rto;
}

/*
 * One RTT sample r: the first sets SRTT = r, RTTVAR = r / 2; later ones
 * RTTVAR += (|SRTT - r| - RTTVAR) / 4, SRTT += (r - SRTT) / 8 (shifts;
 * the truncation is a few ns). A sample also ends any backoff.
 */
static void bi_link_rtt_sample(const struct bi_link *lk,
			       struct bi_link_peer *pe, u64 r)
{
	u64 delta;

	if (!pe->rtt_valid) {
		pe->rtt_valid = 1;
		pe->srtt_ns = r;
		pe->rttvar_ns = r >> 1;
	} else {
		delta = pe->srtt_ns > r ? pe->srtt_ns - r : r - pe->srtt_ns;
		pe->rttvar_ns = pe->rttvar_ns - (pe->rttvar_ns >> 2) +
				(delta >> 2);
		pe->srtt_ns = pe->srtt_ns - (pe->srtt_ns >> 3) + (r >> 3);
	}
	pe->stats.rtt_samples++;
	pe->rto_ns = bi_rto_calc(&lk->params, pe->srtt_ns, pe->rttvar_ns);
}

int bi_link_init(struct bi_link *lk, const struct bi_wire_ctx *wire,
		 const struct bi_link_params *p, const struct bi_link_ops *ops,
		 void *priv, u32 boot)
{
	if (!boot || !p->rto_min_ns || p->rto_init_ns < p->rto_min_ns ||
	    p->rto_max_ns < p->rto_init_ns ||
	    p->frag_size < BI_WIRE_MIN_FRAG || p->frag_size % 8 ||
	    !p->reasm_timeout_ns || !p->seq_first)
		return -EINVAL;
	memset(lk, 0, sizeof(*lk));
	lk->wire = wire;
	lk->params = *p;
	lk->ops = ops;
	lk->priv = priv;
	lk->boot = boot;
	return 0;
}

int bi_link_peer_init(const struct bi_link *lk, struct bi_link_peer *pe,
		      u16 node, struct bi_link_slot *win, u32 win_size,
		      struct bi_reasm_slot *rs, u32 nr_rs)
{
	u32 i;

	if (!win_size || (win_size & (win_size - 1)) || !nr_rs ||
	    node >= lk->wire->nr_nodes || node == lk->wire->self)
		return -EINVAL;
	for (i = 0; i < win_size; i++)
		if (!win[i].data)
			return -EINVAL;
	/*
	 * Everything but the sequence numbers, which bi_link_seq_ref() reads
	 * without the caller's lock: a JOIN may init a peer again while
	 * frames come in, and those must only ever see whole values.
	 */
	BI_STATIC_ASSERT(offsetof(struct bi_link_peer, rcv_nxt) ==
			 offsetof(struct bi_link_peer, snd_nxt) + sizeof(u64) &&
			 offsetof(struct bi_link_peer, retries) ==
			 offsetof(struct bi_link_peer, rcv_nxt) + sizeof(u64),
			 "snd_nxt, rcv_nxt, retries must follow each other");
	memset(pe, 0, offsetof(struct bi_link_peer, snd_nxt));
	memset((u8 *)pe + offsetof(struct bi_link_peer, retries), 0,
	       sizeof(*pe) - offsetof(struct bi_link_peer, retries));
	pe->node = node;
	pe->state = BI_LINK_DOWN;
	pe->snd_una = lk->params.seq_first;
	BI_WRITE_ONCE(pe->snd_nxt, lk->params.seq_first);
	BI_WRITE_ONCE(pe->rcv_nxt, lk->params.seq_first);
	pe->win = win;
	pe->win_size = win_size;
	pe->rto_ns = lk->params.rto_init_ns;
	bi_reasm_init(&pe->reasm, rs, nr_rs, lk->params.reasm_timeout_ns);
	return 0;
}

u32 bi_link_space(const struct bi_link_peer *pe)
{
	if (pe->state == BI_LINK_DEAD)
		return 0;
	return pe->win_size - (u32)(pe->snd_nxt - pe->snd_una);
}

void bi_link_seq_ref(const struct bi_link_peer *pe, u64 *rcv_nxt,
		     u64 *snd_nxt)
{
	*rcv_nxt = BI_READ_ONCE(pe->rcv_nxt);
	*snd_nxt = BI_READ_ONCE(pe->snd_nxt);
}

/* Encode and send h (with payload) in as many frames as needed. */
static void bi_link_xmit(const struct bi_link *lk, struct bi_link_peer *pe,
			 const struct bi_wire_hdr *msg, const u8 *payload,
			 u64 now)
{
	struct bi_wire_hdr h = *msg;
	u8 hdr[BI_WIRE_HDR_LEN];
	const u8 *frag;
	u32 off = 0, n;

	h.dst = pe->node;
	h.src_boot = lk->boot;
	h.dst_boot = pe->peer_boot;
	if (h.type != BI_MSG_HELLO && h.type != BI_MSG_HELLO_ACK) {
		h.ack = pe->rcv_nxt;
		pe->ack_owed = 0;
		pe->ack_deadline = 0;
	}
	do {
		n = h.payload_len - off;
		if (n > lk->params.frag_size)
			n = lk->params.frag_size;
		frag = n ? payload + off : NULL;
		h.frag_off = (u16)off;
		h.frag_len = (u16)n;
		if (BI_WARN_ON(bi_wire_encode(lk->wire, &h, frag, hdr)))
			return;
		lk->ops->xmit(lk->priv, pe->node, hdr, frag, (u16)n);
		pe->stats.tx_frames++;
		off += n;
	} while (off < h.payload_len);
	pe->last_tx_ns = now;
}

static void bi_link_ctl(const struct bi_link *lk, struct bi_link_peer *pe,
			u8 type, u64 now)
{
	struct bi_wire_hdr h = { .type = type };

	if (type == BI_MSG_ACK)
		pe->stats.acks++;
	else
		pe->stats.hellos++;
	bi_link_xmit(lk, pe, &h, NULL, now);
}

/* Send a window slot; its first send is timed, a later one spoils that. */
static void bi_link_send_slot(const struct bi_link *lk,
			      struct bi_link_peer *pe, u64 seq, u64 now)
{
	struct bi_link_slot *s = &pe->win[seq & (pe->win_size - 1)];

	if (!s->sends) {
		s->sent_ns = now;
		s->sends = 1;
	} else {
		s->resent_ns = now;
		s->sends = 2;
	}
	bi_link_xmit(lk, pe, &s->hdr, s->data, now);
}

/* Go-back-N: everything unacked again. */
static void bi_link_resend(const struct bi_link *lk, struct bi_link_peer *pe,
			   u64 now)
{
	u64 seq;

	for (seq = pe->snd_una; seq != pe->snd_nxt; seq++) {
		bi_link_send_slot(lk, pe, seq, now);
		pe->stats.retransmits++;
	}
}

static void bi_link_dead(const struct bi_link *lk, struct bi_link_peer *pe,
			 u64 now)
{
	pe->state = BI_LINK_DEAD;
	pe->dead_ns = now;
	pe->rtx_deadline = 0;
	pe->ack_owed = 0;
	bi_reasm_flush(&pe->reasm, pe->node);
	lk->ops->state(lk->priv, pe->node, BI_LINK_DEAD);
}

static void bi_link_up(const struct bi_link *lk, struct bi_link_peer *pe,
		       u64 now)
{
	u64 seq;

	pe->state = BI_LINK_UP;
	pe->retries = 0;
	/* the handshake's backoff ends; it gave no RTT sample */
	pe->rto_ns = lk->params.rto_init_ns;
	pe->rtx_deadline = 0;
	lk->ops->state(lk->priv, pe->node, BI_LINK_UP);
	/* what was queued during the handshake goes out now */
	for (seq = pe->snd_una; seq != pe->snd_nxt; seq++)
		bi_link_send_slot(lk, pe, seq, now);
	if (pe->snd_una != pe->snd_nxt)
		pe->rtx_deadline = now + pe->rto_ns;
	pe->last_tx_ns = now;
}

void bi_link_kill(const struct bi_link *lk, struct bi_link_peer *pe, u64 now)
{
	if (pe->state == BI_LINK_DEAD)
		return;
	bi_link_dead(lk, pe, now);
}

void bi_link_open(const struct bi_link *lk, struct bi_link_peer *pe, u64 now)
{
	if (pe->state != BI_LINK_DOWN)
		return;
	pe->state = BI_LINK_HELLO;
	pe->retries = 0;
	pe->rto_ns = lk->params.rto_init_ns;
	bi_link_ctl(lk, pe, BI_MSG_HELLO, now);
	pe->rtx_deadline = now + pe->rto_ns;
}

static int bi_link_queue(const struct bi_link *lk, struct bi_link_peer *pe,
			 const struct bi_wire_hdr *h, const u8 *payload,
			 u64 now)
{
	struct bi_link_slot *s;

	if (pe->state == BI_LINK_DEAD)
		return -EPIPE;
	if (!bi_link_space(pe))
		return -ENOBUFS;
	s = &pe->win[pe->snd_nxt & (pe->win_size - 1)];
	memset(&s->hdr, 0, sizeof(s->hdr));
	s->hdr.type = h->type;
	s->hdr.flags = h->flags;
	s->hdr.txid = h->txid;
	s->hdr.page = h->page;
	s->hdr.payload_len = h->payload_len;
	s->hdr.seq = pe->snd_nxt;
	s->sends = 0;
	if (h->payload_len)
		memcpy(s->data, payload, h->payload_len);
	/* an RTO still backed off stays so until a sample (Karn) */
	if (pe->snd_una == pe->snd_nxt && pe->state == BI_LINK_UP) {
		pe->retries = 0;
		pe->rtx_deadline = now + pe->rto_ns;
	}
	BI_WRITE_ONCE(pe->snd_nxt, pe->snd_nxt + 1);
	if (pe->state == BI_LINK_UP)
		bi_link_send_slot(lk, pe, s->hdr.seq, now);
	return 0;
}

int bi_link_send(const struct bi_link *lk, struct bi_link_peer *pe,
		 const struct bi_wire_hdr *h, const u8 *payload, u64 now)
{
	if (bi_wire_type_ssi(h->type)) {
		if (h->payload_len > BI_PAGE_SIZE)
			return -EINVAL;
	} else if ((!bi_wire_type_coh(h->type) &&
		    !bi_wire_type_echo(h->type)) ||
		   (h->payload_len && h->payload_len != BI_PAGE_SIZE)) {
		return -EINVAL;
	}
	pe->stats.tx_msgs++;
	return bi_link_queue(lk, pe, h, payload, now);
}

static void bi_link_new_peer_boot(const struct bi_link *lk,
				  struct bi_link_peer *pe, u32 boot)
{
	if (pe->peer_boot == boot)
		return;
	pe->peer_boot = boot;
	BI_WRITE_ONCE(pe->rcv_nxt, lk->params.seq_first);
	pe->ack_owed = 0;
	bi_reasm_flush(&pe->reasm, pe->node);
}

static void bi_link_rx_hello(const struct bi_link *lk,
			     struct bi_link_peer *pe,
			     const struct bi_wire_hdr *h, u64 now)
{
	if (pe->state == BI_LINK_UP) {
		if (h->src_boot != pe->peer_boot) {
			pe->stats.drops[BI_LINK_DROP_HELLO_UP]++;
			return;
		}
		/* the peer missed our answer */
		bi_link_ctl(lk, pe, BI_MSG_HELLO_ACK, now);
		return;
	}
	if (h->dst_boot && h->dst_boot != lk->boot) {
		pe->stats.drops[BI_LINK_DROP_BOOT]++;
		return;
	}
	bi_link_new_peer_boot(lk, pe, h->src_boot);
	bi_link_ctl(lk, pe, BI_MSG_HELLO_ACK, now);
	if (h->dst_boot == lk->boot)
		bi_link_up(lk, pe, now);
}

static void bi_link_rx_hello_ack(const struct bi_link *lk,
				 struct bi_link_peer *pe,
				 const struct bi_wire_hdr *h, u64 now)
{
	if (h->dst_boot != lk->boot) {
		pe->stats.drops[BI_LINK_DROP_BOOT]++;
		return;
	}
	if (pe->state == BI_LINK_UP) {
		if (h->src_boot != pe->peer_boot)
			pe->stats.drops[BI_LINK_DROP_HELLO_UP]++;
		return;
	}
	bi_link_new_peer_boot(lk, pe, h->src_boot);
	bi_link_up(lk, pe, now);
}

/*
 * Cumulative ack: everything before ack arrived. False if impossible.
 * The newest message acked gives the RTT sample if it was sent once: the
 * ack then answers that very transmission. The ack of one sent again is
 * ambiguous (Karn) and leaves the RTO backed off, long enough for the
 * next message to be answered in time, so that it gives a sample. The
 * peer is alive either way: the count of timeouts restarts.
 */
static bool bi_link_rx_ack(const struct bi_link *lk, struct bi_link_peer *pe,
			   u64 ack, u64 now)
{
	const struct bi_link_slot *s, *next;

	if (ack > pe->snd_nxt)
		return false;
	/* an older ack overtaken by a newer one is harmless */
	if (ack <= pe->snd_una)
		return true;
	s = &pe->win[(ack - 1) & (pe->win_size - 1)];
	if (s->sends == 1 && now >= s->sent_ns)
		bi_link_rtt_sample(lk, pe, now - s->sent_ns);
	pe->snd_una = ack;
	pe->retries = 0;
	pe->rtx_deadline = pe->snd_una != pe->snd_nxt ? now + pe->rto_ns : 0;
	/*
	 * A partial ack during recovery: the peer takes messages in order
	 * only, so when it acks a message sent again but not the next one,
	 * sent again with it (no later than its ack could cover), that one
	 * was lost again. Send it at once rather than after a whole
	 * backed-off RTO per loss; its own ack then does the same for the
	 * one after it.
	 */
	next = &pe->win[pe->snd_una & (pe->win_size - 1)];
	if (s->sends == 2 && pe->snd_una != pe->snd_nxt && next->sends == 2 &&
	    next->resent_ns < s->resent_ns + lk->params.ack_delay_ns) {
		bi_link_send_slot(lk, pe, pe->snd_una, now);
		pe->stats.retransmits++;
	}
	return true;
}

static void bi_link_owe_ack(const struct bi_link *lk, struct bi_link_peer *pe,
			    u64 now)
{
	if (!pe->ack_owed) {
		pe->ack_owed = 1;
		pe->ack_deadline = now + lk->params.ack_delay_ns;
	}
}

void bi_link_rx_dup(const struct bi_link *lk, struct bi_link_peer *pe,
		    u64 now)
{
	pe->stats.drops[BI_LINK_DROP_OLD_SEQ]++;
	if (pe->state == BI_LINK_UP)
		bi_link_owe_ack(lk, pe, now);
}

int bi_link_rx(const struct bi_link *lk, struct bi_link_peer *pe,
	       struct bi_wire_hdr *h, const u8 *frag, u64 now,
	       struct bi_link_msg *out)
{
	const u8 *payload;
	int r;

	pe->stats.rx_frames++;
	if (pe->state == BI_LINK_DOWN || pe->state == BI_LINK_DEAD ||
	    BI_WARN_ON(h->src != pe->node)) {
		pe->stats.drops[BI_LINK_DROP_STATE]++;
		return 0;
	}
	if (h->type == BI_MSG_HELLO) {
		bi_link_rx_hello(lk, pe, h, now);
		return 0;
	}
	if (h->type == BI_MSG_HELLO_ACK) {
		bi_link_rx_hello_ack(lk, pe, h, now);
		return 0;
	}
	if (pe->state != BI_LINK_UP) {
		/*
		 * The peer is up and sends to the nonce we offered, from
		 * the nonce it offered: our HELLO_ACK went through, its
		 * own answer to our HELLO was lost. That proves the same.
		 */
		if (!pe->peer_boot || h->src_boot != pe->peer_boot ||
		    h->dst_boot != lk->boot) {
			pe->stats.drops[BI_LINK_DROP_STATE]++;
			return 0;
		}
		bi_link_up(lk, pe, now);
	}
	if (h->src_boot != pe->peer_boot ||
	    h->dst_boot != lk->boot) {
		pe->stats.drops[BI_LINK_DROP_BOOT]++;
		return 0;
	}
	if (!bi_link_rx_ack(lk, pe, h->ack, now)) {
		pe->stats.drops[BI_LINK_DROP_BAD_ACK]++;
		return 0;
	}
	if (h->type == BI_MSG_ACK)
		return 0;
	if (h->seq != pe->rcv_nxt) {
		if (h->seq < pe->rcv_nxt) {
			/* our ack may have been lost: repeat it soon */
			pe->stats.drops[BI_LINK_DROP_OLD_SEQ]++;
			bi_link_owe_ack(lk, pe, now);
		} else {
			pe->stats.drops[BI_LINK_DROP_FUTURE_SEQ]++;
		}
		return 0;
	}
	r = bi_reasm_add(&pe->reasm, h, frag, now, &payload);
	if (r < 0) {
		pe->stats.drops[BI_LINK_DROP_REASM]++;
		return 0;
	}
	if (!r)
		return 0;
	BI_WRITE_ONCE(pe->rcv_nxt, pe->rcv_nxt + 1);
	bi_link_owe_ack(lk, pe, now);
	if (h->type == BI_MSG_HEARTBEAT)
		return 0;
	pe->stats.delivered++;
	out->hdr = *h;
	out->data = h->payload_len ? payload : NULL;
	return 1;
}

void bi_link_refuse(struct bi_link_peer *pe, const struct bi_link_msg *msg)
{
	if (BI_WARN_ON(msg->hdr.seq + 1 != pe->rcv_nxt))
		return;
	/*
	 * Nothing else bi_link_rx() did depends on the message: the acks
	 * it carried stay taken, its reassembly slot is done and freed,
	 * and an ack owed now only repeats the one before it.
	 */
	BI_WRITE_ONCE(pe->rcv_nxt, pe->rcv_nxt - 1);
	pe->stats.delivered--;
	pe->stats.drops[BI_LINK_DROP_NO_ROOM]++;
}

u64 bi_link_tick(const struct bi_link *lk, struct bi_link_peer *pe, u64 now)
{
	const struct bi_link_params *p = &lk->params;
	struct bi_wire_hdr hb = { .type = BI_MSG_HEARTBEAT };
	u64 next;

	if (pe->state == BI_LINK_DOWN || pe->state == BI_LINK_DEAD)
		return 0;
	next = bi_reasm_tick(&pe->reasm, now);
	if (pe->state == BI_LINK_HELLO) {
		if (now >= pe->rtx_deadline) {
			if (pe->retries >= p->max_retries) {
				bi_link_dead(lk, pe, now);
				return 0;
			}
			pe->retries++;
			pe->rto_ns = bi_rto_next(p, pe->rto_ns);
			bi_link_ctl(lk, pe, BI_MSG_HELLO, now);
			pe->rtx_deadline = now + pe->rto_ns;
		}
		return bi_min_deadline(next, pe->rtx_deadline);
	}
	if (pe->snd_una != pe->snd_nxt && now >= pe->rtx_deadline) {
		if (pe->retries >= p->max_retries) {
			bi_link_dead(lk, pe, now);
			return 0;
		}
		pe->retries++;
		pe->stats.timeouts++;
		pe->rto_ns = bi_rto_next(p, pe->rto_ns);
		pe->rtx_deadline = now + pe->rto_ns;
		bi_link_resend(lk, pe, now);
	}
	if (p->hb_idle_ns && pe->snd_una == pe->snd_nxt &&
	    now >= pe->last_tx_ns + p->hb_idle_ns) {
		pe->stats.heartbeats++;
		bi_link_queue(lk, pe, &hb, NULL, now);
	}
	if (pe->ack_owed && now >= pe->ack_deadline)
		bi_link_ctl(lk, pe, BI_MSG_ACK, now);
	if (pe->snd_una != pe->snd_nxt)
		next = bi_min_deadline(next, pe->rtx_deadline);
	else if (p->hb_idle_ns)
		next = bi_min_deadline(next, pe->last_tx_ns + p->hb_idle_ns);
	if (pe->ack_owed)
		next = bi_min_deadline(next, pe->ack_deadline);
	return next;
}
