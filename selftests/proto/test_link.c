// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the reliable link (link.c over wire.c):
 *   - in-order, exactly-once delivery of every message, with its payload,
 *     over networks that lose, duplicate and reorder frames, with and
 *     without fragmentation, many seeds;
 *   - retransmission times follow the backoff (rto_init, doubling, capped
 *     at rto_max) when the timers run at exactly their deadlines;
 *   - a silent peer is declared dead after max_retries, within
 *     bi_link_dead_bound(); an idle one through the heartbeat; a
 *     handshake that never completes also ends in "dead";
 *   - the adaptive RTO (RFC 6298): converges to a constant round trip,
 *     short or longer than rto_init; Karn's rule (no sample from the ack
 *     of a message sent again, its backoff kept until a sample); never
 *     below rto_min; a delayed ack after prompt ones is no timeout;
 *     backoff from an adapted RTO doubles, caps, and ends in "dead"
 *     within bi_link_dead_bound();
 *   - replayed, forged, earlier-boot and impossible-ack frames are
 *     dropped with the right reason, and the link keeps working;
 *   - extended sequence numbers: links started just below 2^32 (and
 *     3 * 2^32) deliver across the wrap of the 32-bit wire fields, in
 *     order, exactly once, over a lossy network and with go-back-N
 *     across the boundary; acks across it free the window; a frame
 *     recorded before the wrap and replayed 2^32 messages later (data,
 *     or an old ack in either kind of frame) fails the MAC.
 */
#include "common.h"
#include "link.h"
#include "sim.h"

#define L_WIN	8

struct lnode {
	u16 id;
	struct bi_wire_ctx wire;
	struct bi_link link;
	struct bi_link_peer peer;
	struct bi_link_slot slots[L_WIN];
	u8 slot_data[L_WIN][BI_PAGE_SIZE];
	struct bi_reasm_slot rs;
	int state;		/* last state reported */
	u64 dead_ns;
	/* received messages */
	u32 nrx;
	u32 rx_txid[4096];
	/* transmitted frames, when captured */
	u32 ntx;
	u64 tx_time[256];
	u8 tx_type[256];
	u8 *tx_frame[256];
	u16 tx_len[256];
};

static u8 l_key[16] = "bigiron-testkey";
static struct net l_net;
static bool l_use_net;
static u64 l_now;
/* what bi_wire_decode() refused in l_rx(), by reason */
static u64 l_wire_drops[BI_WIRE_DROP_NR];
static struct lnode *l_nodes[2];

static void l_mac(const void *priv, const u8 *a, size_t alen, const u8 *b,
		  size_t blen, u8 out[BI_WIRE_MAC_LEN])
{
	siphash24_128(priv, a, alen, b, blen, out);
}

static void l_seq_ref(const void *priv, u16 src, u64 *rcv_nxt, u64 *snd_nxt)
{
	const struct lnode *ln = priv;

	(void)src;
	bi_link_seq_ref(&ln->peer, rcv_nxt, snd_nxt);
}

static void l_xmit(void *priv, u16 peer, const u8 *hdr, const u8 *frag,
		   u16 frag_len)
{
	struct lnode *ln = priv;

	if (l_use_net) {
		net_xmit(&l_net, ln->id, peer, hdr, BI_WIRE_HDR_LEN, frag,
			 frag_len, l_now);
		return;
	}
	if (ln->ntx < ARRAY_SIZE(ln->tx_time)) {
		u8 *f = malloc(BI_WIRE_HDR_LEN + frag_len);

		memcpy(f, hdr, BI_WIRE_HDR_LEN);
		if (frag_len)
			memcpy(f + BI_WIRE_HDR_LEN, frag, frag_len);
		ln->tx_frame[ln->ntx] = f;
		ln->tx_len[ln->ntx] = BI_WIRE_HDR_LEN + frag_len;
		ln->tx_time[ln->ntx] = l_now;
		ln->tx_type[ln->ntx] = hdr[2];
		ln->ntx++;
	}
}

static void l_state(void *priv, u16 peer, enum bi_link_state st)
{
	struct lnode *ln = priv;

	(void)peer;
	ln->state = st;
	if (st == BI_LINK_DEAD)
		ln->dead_ns = l_now;
}

static const struct bi_link_ops l_ops = { .xmit = l_xmit, .state = l_state };

static void l_setup(struct lnode *ln, u16 id, const struct bi_link_params *p,
		    u32 boot)
{
	unsigned int i;

	memset(ln, 0, sizeof(*ln));
	ln->id = id;
	ln->wire.cluster = 7;
	ln->wire.self = id;
	ln->wire.nr_nodes = 2;
	ln->wire.nr_pages = 1 << 20;
	ln->wire.mac = l_mac;
	ln->wire.mac_priv = l_key;
	ln->wire.seq_ref = l_seq_ref;
	ln->wire.seq_priv = ln;
	for (i = 0; i < L_WIN; i++)
		ln->slots[i].data = ln->slot_data[i];
	if (bi_link_init(&ln->link, &ln->wire, p, &l_ops, ln, boot) ||
	    bi_link_peer_init(&ln->link, &ln->peer, 1 - id, ln->slots, L_WIN,
			      &ln->rs, 1))
		abort();
	l_nodes[id] = ln;
}

static void l_free_frames(struct lnode *ln)
{
	u32 i;

	for (i = 0; i < ln->ntx; i++)
		free(ln->tx_frame[i]);
	ln->ntx = 0;
}

/* Hand one frame to node dst; returns the wire or link verdict. */
static int l_rx(struct lnode *dst, const u8 *frame, size_t len)
{
	struct bi_wire_hdr h;
	struct bi_link_msg m;
	const u8 *frag;
	enum bi_wire_drop why;

	why = bi_wire_decode(&dst->wire, frame, len, &h, &frag);
	if (why != BI_WIRE_OK) {
		l_wire_drops[why]++;
		return -(int)why;
	}
	if (bi_link_rx(&dst->link, &dst->peer, &h, frag, l_now, &m)) {
		u32 i;

		if (dst->nrx < ARRAY_SIZE(dst->rx_txid))
			dst->rx_txid[dst->nrx] = m.hdr.txid;
		dst->nrx++;
		if (m.hdr.payload_len)
			for (i = 0; i < BI_PAGE_SIZE; i++)
				if (m.data[i] != (u8)(m.hdr.txid + i)) {
					dst->nrx = 1u << 30;
					break;
				}
	}
	return 0;
}

static void l_msg(struct bi_wire_hdr *h, u32 txid, bool data, u8 *buf)
{
	u32 i;

	memset(h, 0, sizeof(*h));
	h->type = data ? BI_MSG_DATA_S : BI_MSG_INV;
	h->txid = txid;
	h->page = txid % 1000;
	h->payload_len = data ? BI_PAGE_SIZE : 0;
	for (i = 0; i < BI_PAGE_SIZE; i++)
		buf[i] = (u8)(txid + i);
}

/* ---- delivery over a bad network ------------------------------------- */

/*
 * Set the sequence numbers of an up pair, as if start[0] messages had gone
 * from a to b and start[1] from b to a, all acknowledged.
 */
static void l_seq_start(struct lnode *a, struct lnode *b, const u64 start[2])
{
	a->peer.snd_una = a->peer.snd_nxt = b->peer.rcv_nxt = start[0];
	b->peer.snd_una = b->peer.snd_nxt = a->peer.rcv_nxt = start[1];
}

/*
 * a and b exchange count messages each over a network of config nc, and
 * must get them in order, once each. With start set, the handshake runs
 * first and the sequence numbers are then moved to start[] (l_seq_start).
 */
static bool l_stream(u64 seed, const struct net_cfg *nc, u32 frag, u32 count,
		     const u64 *start, char *why, size_t whylen)
{
	static u8 buf[BI_PAGE_SIZE];
	struct bi_link_params p;
	struct lnode *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	u32 sent[2] = { 0, 0 }, i;
	u64 deadline;
	bool ok = true;

	bi_link_default_params(&p);
	p.rto_init_ns = 2 * nc->delay_max_ns + 50000;
	p.rto_min_ns = 20000;
	p.rto_max_ns = 20 * 1000 * 1000;
	p.max_retries = 30;
	p.frag_size = frag;
	p.ack_delay_ns = 20000;
	l_setup(a, 0, &p, (u32)seed | 1);
	l_setup(b, 1, &p, (u32)(seed >> 8) | 2);
	net_init(&l_net, nc, seed);
	l_use_net = true;
	l_now = 1000;
	bi_link_open(&a->link, &a->peer, l_now);
	bi_link_open(&b->link, &b->peer, l_now);
	deadline = l_now + 60ULL * 1000 * 1000 * 1000;
	while (l_now < deadline) {
		struct lnode *n[2] = { a, b };
		u64 t = l_now + 10000;
		struct net_frame f;
		int k;

		if (start && a->peer.state == BI_LINK_UP &&
		    b->peer.state == BI_LINK_UP &&
		    a->peer.snd_nxt == 1 && b->peer.snd_nxt == 1)
			l_seq_start(a, b, start);
		for (k = 0; k < 2 && (!start || a->peer.snd_nxt != 1); k++) {
			struct bi_wire_hdr h;

			while (sent[k] < count && bi_link_space(&n[k]->peer)) {
				l_msg(&h, sent[k] + 1, sent[k] % 3 == 0, buf);
				if (bi_link_send(&n[k]->link, &n[k]->peer, &h,
						 buf, l_now))
					abort();
				sent[k]++;
			}
		}
		if (net_next_time(&l_net) && net_next_time(&l_net) <= t) {
			net_pop(&l_net, &f);
			l_now = f.time > l_now ? f.time : l_now;
			l_rx(n[f.dst], f.buf, f.len);
			free(f.buf);
		} else {
			l_now = t;
			bi_link_tick(&a->link, &a->peer, l_now);
			bi_link_tick(&b->link, &b->peer, l_now);
		}
		if (a->state == BI_LINK_DEAD || b->state == BI_LINK_DEAD) {
			snprintf(why, whylen, "peer declared dead");
			ok = false;
			break;
		}
		if (a->nrx == count && b->nrx == count &&
		    a->peer.snd_una == a->peer.snd_nxt &&
		    b->peer.snd_una == b->peer.snd_nxt)
			break;
	}
	for (i = 0; ok && i < count; i++)
		if (a->rx_txid[i] != i + 1 || b->rx_txid[i] != i + 1) {
			snprintf(why, whylen, "message %u out of order", i);
			ok = false;
		}
	if (ok && (a->nrx != count || b->nrx != count)) {
		snprintf(why, whylen, "delivered %u and %u of %u", a->nrx,
			 b->nrx, count);
		ok = false;
	}
	if (ok && start && (b->peer.rcv_nxt != start[0] + count ||
			    a->peer.rcv_nxt != start[1] + count)) {
		snprintf(why, whylen, "sequence numbers end at %llx and %llx",
			 (unsigned long long)b->peer.rcv_nxt,
			 (unsigned long long)a->peer.rcv_nxt);
		ok = false;
	}
	net_free(&l_net);
	l_use_net = false;
	free(a);
	free(b);
	return ok;
}

/* A network with loss, duplication and reordering that varies by seed. */
static struct net_cfg l_bad_net(unsigned int seed)
{
	return (struct net_cfg){
		.loss_ppm = (seed % 4) * 40000,
		.dup_ppm = (seed % 3) * 30000,
		.delay_min_ns = 1000,
		.delay_max_ns = 1000 + (seed % 5) * 40000,
	};
}

static void test_stream(void)
{
	static const u32 frags[] = { 4096, 1432, 512 };
	unsigned int seed, bad = 0, runs = 0;
	char why[128] = "";

	for (seed = 1; seed <= 48; seed++) {
		struct net_cfg nc = l_bad_net(seed);

		runs++;
		if (!l_stream(seed, &nc, frags[seed % 3], 200, NULL, why,
			      sizeof(why))) {
			tap_diag("seed %u: %s", seed, why);
			bad++;
		}
	}
	tap_ok(!bad, "in-order exactly-once delivery, loss/dup/reorder: %u runs, %u failed",
	       runs, bad);
}

/* ---- timing ------------------------------------------------------------ */

/* Bring a and b up by passing frames by hand; frames are then dropped. */
static void l_pair(struct lnode *a, struct lnode *b,
		   const struct bi_link_params *p)
{
	u32 i, j, rounds;

	l_setup(a, 0, p, 0x1111);
	l_setup(b, 1, p, 0x2222);
	l_now = 1000;
	bi_link_open(&a->link, &a->peer, l_now);
	bi_link_open(&b->link, &b->peer, l_now);
	for (rounds = 0; rounds < 4; rounds++) {
		u32 na = a->ntx, nb = b->ntx;

		for (i = 0; i < na; i++)
			l_rx(b, a->tx_frame[i], a->tx_len[i]);
		for (j = 0; j < nb; j++)
			l_rx(a, b->tx_frame[j], b->tx_len[j]);
	}
	l_free_frames(a);
	l_free_frames(b);
}

/* Run a's timers exactly at their deadlines until it declares b dead. */
static void l_run_timers(struct lnode *a, u64 limit)
{
	while (a->state != BI_LINK_DEAD && l_now < limit) {
		u64 next = bi_link_tick(&a->link, &a->peer, l_now);

		if (!next)
			break;
		l_now = next > l_now ? next : l_now + 1;
	}
}

static void test_backoff_and_dead(void)
{
	static u8 buf[BI_PAGE_SIZE];
	struct bi_link_params p;
	struct lnode *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct bi_wire_hdr h;
	u64 rto, start, bound, expect = 0;
	u32 i, n = 0;
	bool ok = true;

	bi_link_default_params(&p);
	p.rto_init_ns = 1000000;
	p.rto_max_ns = 16000000;
	p.max_retries = 8;
	p.hb_idle_ns = 0;
	l_pair(a, b, &p);
	tap_ok(a->peer.state == BI_LINK_UP && b->peer.state == BI_LINK_UP,
	       "handshake by hand");
	l_msg(&h, 1, false, buf);
	start = l_now;
	bi_link_send(&a->link, &a->peer, &h, buf, l_now);
	l_run_timers(a, l_now + 10ULL * 1000 * 1000 * 1000);
	/* every transmission of message 1, original and retries */
	rto = p.rto_init_ns;
	for (i = 0; i < a->ntx; i++) {
		if (a->tx_type[i] != BI_MSG_INV)
			continue;
		if (n && a->tx_time[i] - a->tx_time[i - 1] != rto) {
			tap_diag("retry %u after %llu ns, expected %llu", n,
				 (unsigned long long)(a->tx_time[i] -
						      a->tx_time[i - 1]),
				 (unsigned long long)rto);
			ok = false;
		}
		if (n)
			rto = rto * 2 > p.rto_max_ns ? p.rto_max_ns : rto * 2;
		expect += rto;
		n++;
	}
	tap_ok(ok && n == p.max_retries + 1,
	       "retransmission backoff 1,2,4,8,16,16.. ms: %u transmissions",
	       n);
	bound = bi_link_dead_bound(&p);
	tap_ok(a->state == BI_LINK_DEAD && a->dead_ns - start == expect &&
	       expect <= bound,
	       "peer dead after %u retries, %llu ms (bound %llu ms)",
	       p.max_retries, (unsigned long long)(a->dead_ns - start) / 1000000,
	       (unsigned long long)bound / 1000000);
	tap_ok(bi_link_send(&a->link, &a->peer, &h, buf, l_now) == -EPIPE &&
	       !bi_link_space(&a->peer), "no sending to a dead peer");
	l_free_frames(a);
	l_free_frames(b);

	/* an idle link notices a silent peer through the heartbeat */
	p.hb_idle_ns = 50000000;
	l_pair(a, b, &p);
	start = l_now;
	l_run_timers(a, l_now + 10ULL * 1000 * 1000 * 1000);
	tap_ok(a->state == BI_LINK_DEAD && a->peer.stats.heartbeats == 1 &&
	       a->dead_ns - start <= p.hb_idle_ns + bound,
	       "idle peer dead through the heartbeat after %llu ms (bound %llu ms)",
	       (unsigned long long)(a->dead_ns - start) / 1000000,
	       (unsigned long long)(p.hb_idle_ns + bound) / 1000000);
	l_free_frames(a);
	l_free_frames(b);

	/* a handshake nobody answers ends too */
	l_setup(a, 0, &p, 0x1111);
	l_now = 1000;
	start = l_now;
	bi_link_open(&a->link, &a->peer, l_now);
	l_run_timers(a, l_now + 10ULL * 1000 * 1000 * 1000);
	tap_ok(a->state == BI_LINK_DEAD && a->dead_ns - start == expect &&
	       a->ntx == p.max_retries + 1,
	       "unanswered handshake: dead after %u HELLOs", a->ntx);
	l_free_frames(a);
	free(a);
	free(b);
}

/* ---- adaptive retransmission timeout ----------------------------------- */

/*
 * Bring a and b up over l_net, then let a send count messages one at a
 * time (the next when the previous is acked), b answering each with a
 * message of its own when echo is set (the ack then rides on it). All
 * timers run exactly at their deadlines. *min_rto: lowest a->peer.rto_ns
 * seen once a has an RTT sample.
 */
static void l_drive(struct lnode *a, struct lnode *b, u32 count, bool echo,
		    u64 *min_rto)
{
	static u8 buf[BI_PAGE_SIZE];
	u64 limit = l_now + 600ULL * 1000 * 1000 * 1000;
	u32 sent = 0, echoed = b->nrx;

	while (l_now < limit && a->state != BI_LINK_DEAD) {
		struct bi_wire_hdr h;
		struct net_frame f;
		u64 t, tn;

		if (a->peer.state == BI_LINK_UP &&
		    a->peer.snd_una == a->peer.snd_nxt) {
			if (sent == count)
				break;
			l_msg(&h, ++sent, false, buf);
			if (bi_link_send(&a->link, &a->peer, &h, buf, l_now))
				abort();
		}
		while (echo && echoed < b->nrx) {
			l_msg(&h, 100000 + echoed++, false, buf);
			if (bi_link_send(&b->link, &b->peer, &h, buf, l_now))
				abort();
		}
		t = bi_min_deadline(bi_link_tick(&a->link, &a->peer, l_now),
				    bi_link_tick(&b->link, &b->peer, l_now));
		if (min_rto && a->peer.rtt_valid && a->peer.rto_ns < *min_rto)
			*min_rto = a->peer.rto_ns;
		tn = net_next_time(&l_net);
		if (tn && (!t || tn <= t)) {
			net_pop(&l_net, &f);
			l_now = f.time > l_now ? f.time : l_now;
			l_rx(f.dst ? b : a, f.buf, f.len);
			free(f.buf);
		} else if (t) {
			l_now = t > l_now ? t : l_now + 1;
		} else {
			break;
		}
	}
}

/* a and b over a network of constant one-way delay d (no loss). */
static void l_net_pair(struct lnode *a, struct lnode *b,
		       const struct bi_link_params *p, u64 d)
{
	struct net_cfg nc = { .delay_min_ns = d, .delay_max_ns = d };

	l_setup(a, 0, p, 0x1111);
	l_setup(b, 1, p, 0x2222);
	net_init(&l_net, &nc, 1);
	l_use_net = true;
	l_now = 1000;
	bi_link_open(&a->link, &a->peer, l_now);
	bi_link_open(&b->link, &b->peer, l_now);
	l_drive(a, b, 0, false, NULL);
}

static void l_net_done(void)
{
	net_free(&l_net);
	l_use_net = false;
}

static u64 l_absdiff(u64 x, u64 y)
{
	return x > y ? x - y : y - x;
}

static void test_rto_converge(void)
{
	struct lnode *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	const u64 g = BI_LINK_RTO_GRAN_NS;
	struct bi_link_params p;
	u64 rtt, want, mid;
	bool ok;

	bi_link_default_params(&p);
	p.hb_idle_ns = 0;

	/*
	 * 300 us each way, acks standalone after ack_delay: every sample
	 * is 800 us; RTTVAR decays, RTO -> SRTT + ack_delay + G.
	 */
	l_net_pair(a, b, &p, 300 * 1000);
	l_drive(a, b, 200, false, NULL);
	rtt = 600 * 1000 + p.ack_delay_ns;
	want = rtt + p.ack_delay_ns + g;
	ok = a->nrx == 0 && b->nrx == 200 && a->peer.rtt_valid &&
	     a->peer.stats.rtt_samples == 200 &&
	     l_absdiff(a->peer.srtt_ns, rtt) < 1000 &&
	     a->peer.rttvar_ns < 1000 &&
	     l_absdiff(a->peer.rto_ns, want) < 5000 &&
	     !a->peer.stats.timeouts && !a->peer.stats.retransmits;
	tap_ok(ok, "RTO converges, 800 us round trip: srtt %llu rttvar %llu rto %llu ns (want ~%llu), %llu timeouts",
	       (unsigned long long)a->peer.srtt_ns,
	       (unsigned long long)a->peer.rttvar_ns,
	       (unsigned long long)a->peer.rto_ns,
	       (unsigned long long)want,
	       (unsigned long long)a->peer.stats.timeouts);
	l_net_done();

	/*
	 * 2.5 ms each way, longer than rto_init (emulated hosts): the first
	 * messages time out and are sent again, their acks give no sample
	 * but the RTO stays backed off until one sent once is answered;
	 * then no more timeouts.
	 */
	l_net_pair(a, b, &p, 2500 * 1000);
	l_drive(a, b, 100, false, NULL);
	mid = a->peer.stats.timeouts;
	l_drive(a, b, 100, false, NULL);
	rtt = 5000 * 1000 + p.ack_delay_ns;
	want = rtt + p.ack_delay_ns + g;
	ok = b->nrx == 200 && mid > 0 && a->peer.stats.timeouts == mid &&
	     a->peer.stats.rtt_samples < 200 &&
	     l_absdiff(a->peer.srtt_ns, rtt) < 10000 &&
	     l_absdiff(a->peer.rto_ns, want) < 20000;
	tap_ok(ok, "RTO converges, 5.2 ms round trip > rto_init: %llu early timeouts, none later, %llu samples, srtt %llu rto %llu ns",
	       (unsigned long long)mid,
	       (unsigned long long)a->peer.stats.rtt_samples,
	       (unsigned long long)a->peer.srtt_ns,
	       (unsigned long long)a->peer.rto_ns);
	l_net_done();

	/* 1 us each way, prompt acks: the RTO is held at rto_min */
	p.ack_delay_ns = 0;
	l_net_pair(a, b, &p, 1000);
	mid = ~0ULL;
	l_drive(a, b, 100, false, &mid);
	tap_ok(b->nrx == 100 && a->peer.srtt_ns < 10000 &&
	       a->peer.rto_ns == p.rto_min_ns && mid == p.rto_min_ns,
	       "RTO never below rto_min: srtt %llu ns, rto %llu ns, lowest %llu ns",
	       (unsigned long long)a->peer.srtt_ns,
	       (unsigned long long)a->peer.rto_ns, (unsigned long long)mid);
	l_net_done();

	/*
	 * 100 us each way; first b answers every message (the ack rides on
	 * the answer: 200 us samples, no variance), then stops answering:
	 * now each ack waits ack_delay. The RTO kept ack_delay + G above
	 * SRTT, so that is no timeout.
	 */
	p.ack_delay_ns = 200 * 1000;
	l_net_pair(a, b, &p, 100 * 1000);
	l_drive(a, b, 50, true, NULL);
	rtt = a->peer.srtt_ns;
	want = a->peer.rto_ns;
	l_drive(a, b, 50, false, NULL);
	tap_ok(b->nrx == 100 && a->nrx == 50 && rtt < 205 * 1000 &&
	       want >= rtt + p.ack_delay_ns + g &&
	       !a->peer.stats.timeouts && !a->peer.stats.retransmits,
	       "delayed ack after prompt ones: no timeout (srtt %llu ns, rto %llu ns)",
	       (unsigned long long)rtt, (unsigned long long)want);
	l_net_done();
	free(a);
	free(b);
}

static void test_karn(void)
{
	static u8 buf[BI_PAGE_SIZE];
	struct lnode *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct bi_link_params p;
	struct bi_wire_hdr h;
	u64 t0, r = 400 * 1000;
	u32 i;

	bi_link_default_params(&p);
	p.hb_idle_ns = 0;
	l_pair(a, b, &p);

	/* message 1 times out and is sent again; the ack comes after that */
	l_msg(&h, 1, false, buf);
	t0 = l_now;
	bi_link_send(&a->link, &a->peer, &h, buf, l_now);
	l_now = t0 + p.rto_init_ns;
	bi_link_tick(&a->link, &a->peer, l_now);
	if (a->ntx != 2)
		abort();
	l_now += 50 * 1000;
	l_rx(b, a->tx_frame[1], a->tx_len[1]);
	l_now += p.ack_delay_ns;
	bi_link_tick(&b->link, &b->peer, l_now);
	l_now += 50 * 1000;
	for (i = 0; i < b->ntx; i++)
		l_rx(a, b->tx_frame[i], b->tx_len[i]);
	tap_ok(a->peer.snd_una == a->peer.snd_nxt && !a->peer.rtt_valid &&
	       !a->peer.stats.rtt_samples &&
	       a->peer.rto_ns == 2 * p.rto_init_ns && !a->peer.retries,
	       "Karn: ack of a message sent twice gives no sample, backoff kept (rto %llu ns)",
	       (unsigned long long)a->peer.rto_ns);
	l_free_frames(a);
	l_free_frames(b);

	/* message 2 is sent once, answered after r: a sample, backoff gone */
	l_msg(&h, 2, false, buf);
	t0 = l_now;
	bi_link_send(&a->link, &a->peer, &h, buf, l_now);
	l_now = t0 + r / 4;
	l_rx(b, a->tx_frame[0], a->tx_len[0]);
	l_now += p.ack_delay_ns;
	bi_link_tick(&b->link, &b->peer, l_now);
	l_now = t0 + r;
	for (i = 0; i < b->ntx; i++)
		l_rx(a, b->tx_frame[i], b->tx_len[i]);
	/* first sample: SRTT = r, RTTVAR = r / 2, RTO = r + 4 * r / 2 */
	tap_ok(a->peer.rtt_valid && a->peer.stats.rtt_samples == 1 &&
	       a->peer.srtt_ns == r && a->peer.rttvar_ns == r / 2 &&
	       a->peer.rto_ns == 3 * r,
	       "first sample after it: srtt %llu rttvar %llu rto %llu ns",
	       (unsigned long long)a->peer.srtt_ns,
	       (unsigned long long)a->peer.rttvar_ns,
	       (unsigned long long)a->peer.rto_ns);
	l_free_frames(a);
	l_free_frames(b);
	free(a);
	free(b);
}

/* Backoff from an adapted RTO: doubling, capped, dead within the bound. */
static void test_adapted_backoff(void)
{
	static u8 buf[BI_PAGE_SIZE];
	struct lnode *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct bi_link_params p;
	struct bi_wire_hdr h;
	u64 rto, r0, start, expect = 0, bound;
	u32 i, n = 0;
	bool ok = true;

	bi_link_default_params(&p);
	p.hb_idle_ns = 0;
	p.rto_max_ns = 16 * 1000 * 1000;
	p.max_retries = 8;
	l_net_pair(a, b, &p, 300 * 1000);
	l_drive(a, b, 100, false, NULL);
	l_net_done();
	/* b falls silent: a's frames are captured, never delivered */
	r0 = a->peer.rto_ns;
	l_msg(&h, 1000, false, buf);
	start = l_now;
	bi_link_send(&a->link, &a->peer, &h, buf, l_now);
	l_run_timers(a, l_now + 10ULL * 1000 * 1000 * 1000);
	rto = r0;
	for (i = 0; i < a->ntx; i++) {
		if (i && a->tx_time[i] - a->tx_time[i - 1] != rto) {
			tap_diag("retry %u after %llu ns, expected %llu", i,
				 (unsigned long long)(a->tx_time[i] -
						      a->tx_time[i - 1]),
				 (unsigned long long)rto);
			ok = false;
		}
		if (i)
			rto = rto * 2 > p.rto_max_ns ? p.rto_max_ns : rto * 2;
		expect += rto;
		n++;
	}
	bound = bi_link_dead_bound(&p);
	tap_ok(ok && r0 < p.rto_init_ns && n == p.max_retries + 1 &&
	       rto == p.rto_max_ns,
	       "backoff from an adapted RTO of %llu us doubles up to rto_max: %u transmissions",
	       (unsigned long long)r0 / 1000, n);
	tap_ok(a->state == BI_LINK_DEAD && a->dead_ns - start == expect &&
	       expect <= bound,
	       "then dead after %llu ms (bound %llu ms)",
	       (unsigned long long)(a->dead_ns - start) / 1000000,
	       (unsigned long long)bound / 1000000);
	l_free_frames(a);

	/* the bound holds from the largest RTO too: a slow peer's */
	l_setup(a, 0, &p, 0x1111);
	a->peer.state = BI_LINK_UP;
	a->peer.peer_boot = 0x2222;
	a->peer.rto_ns = p.rto_max_ns;
	l_now = 1000;
	start = l_now;
	bi_link_send(&a->link, &a->peer, &h, buf, l_now);
	l_run_timers(a, l_now + 10ULL * 1000 * 1000 * 1000);
	tap_ok(a->state == BI_LINK_DEAD && a->dead_ns - start == bound,
	       "peer silent from an RTO of rto_max: dead after exactly the bound, %llu ms",
	       (unsigned long long)(a->dead_ns - start) / 1000000);
	l_free_frames(a);
	free(a);
	free(b);
}

/* ---- echo messages and forced death ------------------------------------ */

static void test_echo_and_kill(void)
{
	static u8 buf[BI_PAGE_SIZE];
	struct lnode *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct bi_link_params p;
	struct bi_wire_hdr h;
	u32 i, sent;
	int r;

	bi_link_default_params(&p);
	p.hb_idle_ns = 0;
	l_pair(a, b, &p);
	l_msg(&h, 5, true, buf);
	h.type = BI_MSG_PING;
	h.page = 0;
	r = bi_link_send(&a->link, &a->peer, &h, buf, l_now);
	h.type = BI_MSG_PONG;
	h.txid = 6;
	h.payload_len = 0;
	r |= bi_link_send(&a->link, &a->peer, &h, NULL, l_now);
	sent = a->ntx;
	for (i = 0; i < a->ntx; i++)
		l_rx(b, a->tx_frame[i], a->tx_len[i]);
	tap_ok(!r && sent == 4 && b->nrx == 2 && b->rx_txid[0] == 5 &&
	       b->rx_txid[1] == 6,
	       "PING with a page (3 fragments) and PONG delivered in order");
	h.type = BI_MSG_HEARTBEAT;
	tap_ok(bi_link_send(&a->link, &a->peer, &h, NULL, l_now) == -EINVAL,
	       "heartbeat is not the user's to send");
	l_free_frames(a);
	l_free_frames(b);

	bi_link_kill(&a->link, &a->peer, l_now);
	tap_ok(a->state == BI_LINK_DEAD && a->peer.state == BI_LINK_DEAD &&
	       !a->ntx && !bi_link_tick(&a->link, &a->peer, l_now + 1),
	       "killed link: dead at once, sends nothing, no timer");
	h.type = BI_MSG_PING;
	tap_ok(bi_link_send(&a->link, &a->peer, &h, NULL, l_now) == -EPIPE,
	       "no PING to a killed peer");
	a->state = BI_LINK_UP;
	bi_link_kill(&a->link, &a->peer, l_now);
	tap_ok(a->state == BI_LINK_UP, "killing a dead link reports nothing");
	free(a);
	free(b);
}

/* ---- receiver refusals ------------------------------------------------- */

/*
 * A receiver that cannot take a message (bi_link_refuse()) must leave it
 * unacknowledged: the sender sends it again and it arrives once, intact,
 * in order.
 */
static void test_refuse(void)
{
	static u8 buf[BI_PAGE_SIZE];
	struct lnode *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct bi_link_params p;
	struct bi_wire_hdr h;
	struct bi_link_msg m;
	u32 i, taken = 0, refused = 0, rounds, ok = 1;
	const u8 *frag;

	bi_link_default_params(&p);
	p.hb_idle_ns = 0;
	p.frag_size = 1024;	/* a page in 4 fragments */
	l_pair(a, b, &p);
	for (i = 1; i <= 6; i++) {
		l_msg(&h, i, i % 2, buf);
		if (bi_link_send(&a->link, &a->peer, &h, buf, l_now))
			ok = 0;
	}
	/*
	 * Deliver by hand: b refuses the first delivery of every message,
	 * takes the second; a's timers resend.
	 */
	for (rounds = 0; rounds < 64 && taken < 6; rounds++) {
		u32 n = a->ntx, nb;

		for (i = 0; i < n; i++) {
			if (bi_wire_decode(&b->wire, a->tx_frame[i],
					   a->tx_len[i], &h, &frag) !=
			    BI_WIRE_OK)
				continue;
			if (!bi_link_rx(&b->link, &b->peer, &h, frag, l_now,
					&m))
				continue;
			if (refused == taken) {
				bi_link_refuse(&b->peer, &m);
				refused++;
				continue;
			}
			if (m.hdr.txid != taken + 1 ||
			    (m.hdr.payload_len &&
			     memcmp(m.data, (l_msg(&h, taken + 1, 1, buf), buf),
				    BI_PAGE_SIZE)))
				ok = 0;
			taken++;
		}
		l_free_frames(a);
		/* b's acks (owed ones go out at its tick) back to a */
		l_now += p.ack_delay_ns;
		bi_link_tick(&b->link, &b->peer, l_now);
		nb = b->ntx;
		for (i = 0; i < nb; i++)
			l_rx(a, b->tx_frame[i], b->tx_len[i]);
		l_free_frames(b);
		l_now += a->peer.rto_ns;
		bi_link_tick(&a->link, &a->peer, l_now);
	}
	tap_ok(ok && taken == 6 && refused == 6 &&
	       b->peer.stats.drops[BI_LINK_DROP_NO_ROOM] == 6 &&
	       b->peer.stats.delivered == 6 && b->peer.rcv_nxt == 7 &&
	       a->peer.snd_una == 7 && a->state == BI_LINK_UP,
	       "refused messages are resent and taken once, in order, intact (%u taken, %u refused)",
	       taken, refused);
	l_free_frames(a);
	l_free_frames(b);
	free(a);
	free(b);
}

/* ---- extended sequence numbers across the 32-bit wrap ------------------ */

#define L_2_32		(1ULL << 32)

/* Streams over bad networks, started just below 2^32 and 3 * 2^32. */
static void test_seq_wrap_stream(void)
{
	static const u32 frags[] = { 4096, 1432, 512 };
	unsigned int seed, bad = 0, runs = 0;
	char why[128] = "";
	u64 macs = l_wire_drops[BI_WIRE_DROP_MAC];

	for (seed = 1; seed <= 16; seed++) {
		struct net_cfg nc = l_bad_net(seed);
		/* 200 messages each way: the wrap comes mid-stream */
		u64 base = seed % 2 ? L_2_32 : 3 * L_2_32;
		u64 start[2] = { base - 100 - seed, base - 37 };

		runs++;
		if (!l_stream(seed, &nc, frags[seed % 3], 200, start, why,
			      sizeof(why))) {
			tap_diag("seed %u: %s", seed, why);
			bad++;
		}
	}
	tap_ok(!bad && l_wire_drops[BI_WIRE_DROP_MAC] == macs,
	       "across the wrap of the wire's 32 bits: in-order exactly-once delivery, loss/dup/reorder: %u runs, %u failed, %llu honest frames failed the MAC",
	       runs, bad,
	       (unsigned long long)(l_wire_drops[BI_WIRE_DROP_MAC] - macs));
}

/*
 * Go-back-N and acks across the boundary, frame by frame: a sends a window
 * of messages 2^32 - 3 .. 2^32 + 4; the one numbered 2^32 - 1 is lost.
 */
static void test_seq_wrap_window(void)
{
	static u8 buf[BI_PAGE_SIZE];
	struct lnode *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	const u64 start[2] = { L_2_32 - 3, 5 };
	struct bi_link_params p;
	struct bi_wire_hdr h;
	u32 i, n, lost = 0, space_mid;
	u64 una_mid, future;
	bool ok = true;

	bi_link_default_params(&p);
	p.hb_idle_ns = 0;
	p.frag_size = 4096;
	l_pair(a, b, &p);
	l_seq_start(a, b, start);
	for (i = 0; i < L_WIN; i++) {
		l_msg(&h, i + 1, false, buf);
		if (bi_link_send(&a->link, &a->peer, &h, buf, l_now))
			ok = false;
	}
	/* the frames, one per message, carry seq 0xfffffffd .. 4 */
	for (i = 0; i < a->ntx; i++)
		if (bi_get_le32(a->tx_frame[i] + 20) != (u32)(start[0] + i))
			ok = false;
	/* the first two arrive: b acks 2^32 - 1 (standalone, high half 0) */
	l_rx(b, a->tx_frame[0], a->tx_len[0]);
	l_rx(b, a->tx_frame[1], a->tx_len[1]);
	l_now += p.ack_delay_ns;
	bi_link_tick(&b->link, &b->peer, l_now);
	for (i = 0; i < b->ntx; i++)
		l_rx(a, b->tx_frame[i], b->tx_len[i]);
	l_free_frames(b);
	una_mid = a->peer.snd_una;
	space_mid = bi_link_space(&a->peer);
	/* 2^32 - 1 is lost; those after it are out of order at b */
	future = b->peer.stats.drops[BI_LINK_DROP_FUTURE_SEQ];
	for (i = 3; i < a->ntx; i++)
		l_rx(b, a->tx_frame[i], a->tx_len[i]);
	future = b->peer.stats.drops[BI_LINK_DROP_FUTURE_SEQ] - future;
	n = a->ntx;
	l_free_frames(a);
	/* a's RTO: everything from 2^32 - 1 again, across the boundary */
	l_now += a->peer.rto_ns;
	bi_link_tick(&a->link, &a->peer, l_now);
	lost = a->ntx;
	for (i = 0; i < a->ntx; i++)
		l_rx(b, a->tx_frame[i], a->tx_len[i]);
	l_free_frames(a);
	l_now += p.ack_delay_ns;
	bi_link_tick(&b->link, &b->peer, l_now);
	for (i = 0; i < b->ntx; i++)
		l_rx(a, b->tx_frame[i], b->tx_len[i]);
	for (i = 0; i < b->nrx && i < L_WIN; i++)
		if (b->rx_txid[i] != i + 1)
			ok = false;
	tap_ok(ok && n == L_WIN && una_mid == L_2_32 - 1 && space_mid == 2 &&
	       future == L_WIN - 3 && lost == L_WIN - 2,
	       "window across the wrap: ack of 2^32 - 1 frees 2 slots, %llu out-of-order drops after the loss, %u sent again",
	       (unsigned long long)future, lost);
	tap_ok(b->nrx == L_WIN && b->peer.rcv_nxt == L_2_32 + 5 &&
	       a->peer.snd_una == L_2_32 + 5 &&
	       a->peer.snd_nxt == L_2_32 + 5 &&
	       bi_link_space(&a->peer) == L_WIN && a->state == BI_LINK_UP &&
	       b->peer.stats.delivered == L_WIN,
	       "then all %u delivered once, in order; the ack of 2^32 + 5 frees the window (una %llx)",
	       b->nrx, (unsigned long long)a->peer.snd_una);
	l_free_frames(a);
	l_free_frames(b);
	free(a);
	free(b);
}

/* Index of the first frame of type t captured from ln, or -1. */
static int l_find(const struct lnode *ln, u8 t)
{
	u32 i;

	for (i = 0; i < ln->ntx; i++)
		if (ln->tx_type[i] == t)
			return (int)i;
	return -1;
}

/* Take a copy of captured frame k (its length in *len). */
static u8 *l_keep(const struct lnode *ln, int k, u16 *len)
{
	u8 *f;

	if (k < 0)
		abort();
	f = malloc(ln->tx_len[k]);
	if (!f)
		abort();
	memcpy(f, ln->tx_frame[k], ln->tx_len[k]);
	*len = ln->tx_len[k];
	return f;
}

/*
 * Frames recorded before the wrap, replayed 2^32 messages later when
 * their 32-bit seq or ack is the one expected again: every one fails the
 * MAC, and the link goes on.
 */
static void test_seq_wrap_replay(void)
{
	static u8 buf[BI_PAGE_SIZE];
	struct lnode *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	const u64 s0 = L_2_32 - 2, t0 = 100;
	u64 start[2] = { s0, t0 };
	struct bi_link_params p;
	struct bi_wire_hdr h;
	u8 *data, *ack, *bdata;
	u16 data_len, ack_len, bdata_len;
	u64 macs, una;
	int r1, r2, r3;
	u32 i;

	bi_link_default_params(&p);
	p.hb_idle_ns = 0;
	p.frag_size = 4096;
	l_pair(a, b, &p);
	l_seq_start(a, b, start);

	/* a's message s0 to b, b's standalone ack of it (ack s0 + 1) */
	l_msg(&h, 1, true, buf);
	bi_link_send(&a->link, &a->peer, &h, buf, l_now);
	data = l_keep(a, l_find(a, BI_MSG_DATA_S), &data_len);
	l_rx(b, data, data_len);
	l_now += p.ack_delay_ns;
	bi_link_tick(&b->link, &b->peer, l_now);
	ack = l_keep(b, l_find(b, BI_MSG_ACK), &ack_len);
	l_rx(a, ack, ack_len);
	l_free_frames(b);
	/* a's message s0 + 1; b's message t0 carries the ack s0 + 2 */
	l_msg(&h, 2, false, buf);
	bi_link_send(&a->link, &a->peer, &h, buf, l_now);
	for (i = 0; i < a->ntx; i++)
		l_rx(b, a->tx_frame[i], a->tx_len[i]);
	l_free_frames(a);
	l_msg(&h, 3, false, buf);
	bi_link_send(&b->link, &b->peer, &h, buf, l_now);
	bdata = l_keep(b, l_find(b, BI_MSG_INV), &bdata_len);
	l_rx(a, bdata, bdata_len);
	l_free_frames(b);
	if (b->nrx != 2 || a->nrx != 1 || a->peer.snd_una != s0 + 2 ||
	    a->peer.snd_una != a->peer.snd_nxt)
		abort();

	/*
	 * 2^32 messages later from a to b (b's direction stays below 2^32):
	 * b expects s0 + 2^32 again, whose low half the recorded frame
	 * carries; a waits for the acks of s0 + 2^32 and s0 + 1 + 2^32,
	 * which the recorded ACK and b's recorded message seem to give.
	 */
	start[0] = s0 + L_2_32;
	start[1] = t0 + 1;
	l_seq_start(a, b, start);
	macs = l_wire_drops[BI_WIRE_DROP_MAC];
	r1 = l_rx(b, data, data_len);
	tap_ok(r1 == -BI_WIRE_DROP_MAC && b->nrx == 2 &&
	       b->peer.rcv_nxt == s0 + L_2_32,
	       "data frame replayed 2^32 messages later: %s, not delivered",
	       bi_wire_drop_name(-r1));
	l_msg(&h, 4, false, buf);
	bi_link_send(&a->link, &a->peer, &h, buf, l_now);
	l_msg(&h, 5, false, buf);
	bi_link_send(&a->link, &a->peer, &h, buf, l_now);
	una = a->peer.snd_una;
	r2 = l_rx(a, ack, ack_len);
	r3 = l_rx(a, bdata, bdata_len);
	tap_ok(r2 == -BI_WIRE_DROP_MAC && r3 == -BI_WIRE_DROP_MAC &&
	       a->peer.snd_una == una && una == s0 + L_2_32 &&
	       a->nrx == 1,
	       "old ack replayed 2^32 messages later, standalone (%s) or on a message (%s): acks nothing",
	       bi_wire_drop_name(-r2), bi_wire_drop_name(-r3));
	tap_ok(l_wire_drops[BI_WIRE_DROP_MAC] - macs == 3,
	       "the replays are counted: bad_mac %llu",
	       (unsigned long long)(l_wire_drops[BI_WIRE_DROP_MAC] - macs));
	/* the link goes on: the messages of now pass and are acked */
	for (i = 0; i < a->ntx; i++)
		l_rx(b, a->tx_frame[i], a->tx_len[i]);
	l_now += p.ack_delay_ns;
	bi_link_tick(&b->link, &b->peer, l_now);
	for (i = 0; i < b->ntx; i++)
		l_rx(a, b->tx_frame[i], b->tx_len[i]);
	tap_ok(b->nrx == 4 && b->rx_txid[2] == 4 && b->rx_txid[3] == 5 &&
	       a->peer.snd_una == s0 + L_2_32 + 2 &&
	       a->peer.snd_una == a->peer.snd_nxt &&
	       l_wire_drops[BI_WIRE_DROP_MAC] - macs == 3,
	       "then the current messages are delivered and acked");
	free(data);
	free(ack);
	free(bdata);
	l_free_frames(a);
	l_free_frames(b);
	free(a);
	free(b);
}

/* ---- hostile frames ---------------------------------------------------- */

static void test_hostile(void)
{
	static u8 buf[BI_PAGE_SIZE];
	struct bi_link_params p;
	struct lnode *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct lnode *c = calloc(1, sizeof(*c));
	struct bi_wire_hdr h;
	u8 frame[BI_WIRE_MAX_FRAME], hdr[BI_WIRE_HDR_LEN];
	u8 *old;
	u16 oldlen;
	u32 i;
	int r;

	bi_link_default_params(&p);
	p.frag_size = 4096;
	l_pair(a, b, &p);

	/* a sends message 1; b takes it once */
	l_msg(&h, 1, true, buf);
	bi_link_send(&a->link, &a->peer, &h, buf, l_now);
	if (a->ntx != 1)
		abort();
	l_rx(b, a->tx_frame[0], a->tx_len[0]);
	tap_ok(b->nrx == 1, "message delivered");
	l_rx(b, a->tx_frame[0], a->tx_len[0]);
	tap_ok(b->nrx == 1 && b->peer.stats.drops[BI_LINK_DROP_OLD_SEQ] == 1,
	       "replayed frame dropped: old_seq");

	/* a forged frame: one bit of the payload changed */
	memcpy(frame, a->tx_frame[0], a->tx_len[0]);
	frame[BI_WIRE_HDR_LEN + 100] ^= 1;
	r = l_rx(b, frame, a->tx_len[0]);
	tap_ok(r == -BI_WIRE_DROP_MAC && b->nrx == 1,
	       "forged payload dropped: %s", bi_wire_drop_name(-r));
	memcpy(frame, a->tx_frame[0], a->tx_len[0]);
	frame[20] ^= 2;		/* seq */
	r = l_rx(b, frame, a->tx_len[0]);
	tap_ok(r == -BI_WIRE_DROP_MAC, "forged sequence number dropped: %s",
	       bi_wire_drop_name(-r));

	/* a frame from the future (out of order) is refused until its turn */
	l_free_frames(a);
	l_msg(&h, 2, false, buf);
	bi_link_send(&a->link, &a->peer, &h, buf, l_now);
	l_msg(&h, 3, false, buf);
	bi_link_send(&a->link, &a->peer, &h, buf, l_now);
	l_rx(b, a->tx_frame[1], a->tx_len[1]);
	tap_ok(b->nrx == 1 && b->peer.stats.drops[BI_LINK_DROP_FUTURE_SEQ] == 1,
	       "out-of-order frame dropped: future_seq");
	l_rx(b, a->tx_frame[0], a->tx_len[0]);
	l_rx(b, a->tx_frame[1], a->tx_len[1]);
	tap_ok(b->nrx == 3 && b->rx_txid[1] == 2 && b->rx_txid[2] == 3,
	       "then delivered in order");
	old = a->tx_frame[0];
	oldlen = a->tx_len[0];
	a->tx_frame[0] = NULL;
	l_free_frames(a);

	/* an ack for something never sent: a valid MAC, an impossible ack */
	memset(&h, 0, sizeof(h));
	h.type = BI_MSG_ACK;
	h.dst = 0;
	h.src_boot = b->link.boot;
	h.dst_boot = a->link.boot;
	h.ack = a->peer.snd_nxt + 5;
	bi_wire_encode(&b->wire, &h, NULL, hdr);
	l_rx(a, hdr, BI_WIRE_HDR_LEN);
	tap_ok(a->peer.stats.drops[BI_LINK_DROP_BAD_ACK] == 1 &&
	       a->peer.snd_una != a->peer.snd_nxt + 5,
	       "impossible ack dropped: bad_ack");

	/* a HELLO offering another boot nonce while up: refused, link stays */
	memset(&h, 0, sizeof(h));
	h.type = BI_MSG_HELLO;
	h.dst = 1;
	h.src_boot = 0x9999;
	bi_wire_encode(&a->wire, &h, NULL, hdr);
	l_rx(b, hdr, BI_WIRE_HDR_LEN);
	tap_ok(b->peer.stats.drops[BI_LINK_DROP_HELLO_UP] == 1 &&
	       b->peer.state == BI_LINK_UP && b->peer.peer_boot == 0x1111,
	       "HELLO of a new boot nonce while up dropped: hello_while_up");

	/* b restarts (new nonce); a frame of its earlier boot is stale */
	l_free_frames(b);
	l_setup(c, 1, &p, 0x3333);
	{
		struct lnode *a2 = calloc(1, sizeof(*a2));

		l_setup(a2, 0, &p, 0x4444);
		bi_link_open(&a2->link, &a2->peer, l_now);
		bi_link_open(&c->link, &c->peer, l_now);
		for (i = 0; i < 4; i++) {
			u32 k, na = a2->ntx, nc = c->ntx;

			for (k = 0; k < na; k++)
				l_rx(c, a2->tx_frame[k], a2->tx_len[k]);
			for (k = 0; k < nc; k++)
				l_rx(a2, c->tx_frame[k], c->tx_len[k]);
		}
		l_rx(c, old, oldlen);
		tap_ok(c->peer.state == BI_LINK_UP && c->nrx == 0 &&
		       c->peer.stats.drops[BI_LINK_DROP_BOOT] == 1,
		       "frame of an earlier boot dropped: bad_boot");
		l_free_frames(a2);
		free(a2);
	}
	free(old);
	l_free_frames(c);

	/* the window: full at L_WIN, then -ENOBUFS; acks free it */
	l_pair(a, b, &p);
	l_msg(&h, 1, false, buf);
	for (i = 0; i < L_WIN; i++)
		if (bi_link_send(&a->link, &a->peer, &h, buf, l_now))
			break;
	r = bi_link_send(&a->link, &a->peer, &h, buf, l_now);
	tap_ok(i == L_WIN && r == -ENOBUFS, "window full after %u messages",
	       i);
	for (i = 0; i < a->ntx; i++)
		l_rx(b, a->tx_frame[i], a->tx_len[i]);
	l_now += p.ack_delay_ns;
	bi_link_tick(&b->link, &b->peer, l_now);
	for (i = 0; i < b->ntx; i++)
		l_rx(a, b->tx_frame[i], b->tx_len[i]);
	tap_ok(bi_link_space(&a->peer) == L_WIN && b->peer.stats.acks == 1,
	       "standalone ack after ack_delay frees the window");
	l_free_frames(a);
	l_free_frames(b);
	free(a);
	free(b);
	free(c);
}

int main(void)
{
	test_stream();
	test_backoff_and_dead();
	test_rto_converge();
	test_karn();
	test_adapted_backoff();
	test_echo_and_kill();
	test_refuse();
	test_seq_wrap_stream();
	test_seq_wrap_window();
	test_seq_wrap_replay();
	test_hostile();
	return tap_exit();
}
