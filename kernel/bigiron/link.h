/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron: reliable, in-order, authenticated channel to each peer over an
 * unreliable frame service (raw Ethernet frames, or RDMA SENDs), pure C.
 *
 * Per peer: a handshake (version, cluster id and node ids are in every
 * authenticated header; the two boot nonces are exchanged), then
 * sequenced messages with cumulative acks (piggybacked on every frame, or
 * standalone after ack_delay_ns), a send window of caller-provided slots,
 * go-back-N retransmission with exponential backoff, heartbeats when idle,
 * and a dead signal after max_retries consecutive timeouts.
 *
 * Retransmission timeout (RFC 6298, per peer): SRTT and RTTVAR are
 * measured from the acks of messages sent exactly once (Karn: a message
 * sent again gives no sample, its ack is ambiguous). The handshake gives
 * no sample; until the first one the RTO is rto_init_ns. Then
 *
 *	RTO = SRTT + max(G, 4 * RTTVAR, ack_delay_ns + G)
 *
 * clamped to [rto_min_ns, rto_max_ns], G being BI_LINK_RTO_GRAN_NS. The
 * ack_delay_ns term is for the peer's delayed ack: a sample is taken
 * whether its ack came at once (piggybacked) or ack_delay_ns late
 * (standalone), and SRTT may have been learnt from prompt acks only; a
 * later standalone ack then comes up to ack_delay_ns after one round trip,
 * so the RTO keeps that much, plus G for the peer's timer, above SRTT.
 * Both sides are assumed to run the same parameters. Each timeout doubles
 * the RTO (capped at rto_max_ns); it stays backed off until an ack
 * brings a new sample.
 *
 * Go-back-N: the receiver accepts only the next expected sequence number
 * and drops the rest (counted); the sender resends everything unacked on a
 * timeout. The receiver thus needs no buffer beyond the one message being
 * reassembled, where a reorder buffer would cost a window of 4 KiB pages
 * per peer, for reordering that one switched LAN segment does not produce.
 * Loss costs one RTO; losses are rare on the links bigiron runs on.
 *
 * Replay: every frame carries both boot nonces under the MAC; a frame
 * from an earlier boot of either side is dropped (bad_boot), and within
 * one boot a frame with an already delivered sequence number is dropped
 * (old_seq). A peer that restarts gets a new boot nonce; its HELLO is
 * refused while the old link is up, so the old link runs into its
 * retry limit and the peer is declared dead: a restarted host has lost its
 * pages, and the VM must stop. Sequence numbers and acks are 64-bit and
 * never wrap inside a boot (2^64 messages); frames carry their low 32
 * bits, the MAC also covers the high 32 (extended sequence numbers,
 * wire.h). The receiver extends the low bits to the value nearest to its
 * rcv_nxt (seq) or snd_nxt (ack), through bi_link_seq_ref(), so a frame
 * recorded 2^32 or more messages earlier, in either direction, fails the
 * MAC (bad_mac) instead of passing as new; a frame the MAC accepts
 * carries its sender's exact 64-bit values. An honest frame is never 2^31
 * messages away from the receiver's counters (the window is far smaller),
 * and one checked against a stale counter (the kernel reads them before
 * it takes the peer's lock) is at worst dropped and sent again.
 *
 * Locking: none inside. All calls on one struct bi_link_peer are
 * serialized by the caller (the kernel: the peer's spinlock; ops->xmit
 * then must not sleep), but bi_link_seq_ref(), which bi_wire_decode()
 * may call concurrently with them. bi_link_rx() hands a delivered message back
 * instead of calling the protocol, so the caller can drop the peer lock
 * before it takes a page lock (order: page lock, then peer lock).
 * struct bi_link is read-only after bi_link_init().
 */
#ifndef _BIGIRON_LINK_H
#define _BIGIRON_LINK_H

#include "pure.h"
#include <bigiron/wire.h>

/*
 * G of RFC 6298: lowest margin of the RTO over SRTT, for timer lateness
 * (the caller's timers, ours and the peer's, are not exact).
 */
#define BI_LINK_RTO_GRAN_NS	(50 * 1000ULL)

struct bi_link_params {
	u64 rto_init_ns;	/* RTO until the first RTT sample */
	u64 rto_min_ns;		/* lowest RTO computed from samples */
	u64 rto_max_ns;		/* highest RTO, backoff included */
	u32 max_retries;	/* consecutive timeouts before "dead" */
	u32 frag_size;		/* payload bytes per frame: MTU - 64 */
	u64 ack_delay_ns;	/* standalone ack when nothing carries one */
	u64 hb_idle_ns;		/* heartbeat after this long idle */
	u64 reasm_timeout_ns;	/* incomplete message dropped after */
	/*
	 * First sequence number of each direction and boot: 1 (the tests
	 * start near 2^32 to cross the wrap of the wire's 32 bits); the
	 * same at both ends.
	 */
	u64 seq_first;
};

enum bi_link_state {
	BI_LINK_DOWN = 0,	/* not opened: every frame dropped */
	BI_LINK_HELLO,		/* handshake running */
	BI_LINK_UP,
	BI_LINK_DEAD,		/* gave up: nothing more is sent or taken */
};

enum bi_link_drop {
	BI_LINK_DROP_STATE = 0,	/* frame not valid in this link state */
	BI_LINK_DROP_BOOT,	/* boot nonces are not the current ones */
	BI_LINK_DROP_OLD_SEQ,	/* duplicate or replay */
	BI_LINK_DROP_FUTURE_SEQ,/* out of order (go-back-N) */
	BI_LINK_DROP_BAD_ACK,	/* acks a sequence number never sent */
	BI_LINK_DROP_HELLO_UP,	/* new boot nonce offered while up */
	BI_LINK_DROP_REASM,	/* fragment refused (see reasm.drops) */
	BI_LINK_DROP_NO_ROOM,	/* receiver could not take it: sent again */
	BI_LINK_DROP_NR
};

struct bi_link_stats {
	u64 drops[BI_LINK_DROP_NR];
	u64 rx_frames;		/* frames handed to bi_link_rx() */
	u64 tx_frames;
	u64 tx_msgs;		/* messages accepted by bi_link_send() */
	u64 delivered;		/* messages handed to the protocol */
	u64 retransmits;	/* messages sent again */
	u64 timeouts;		/* retransmission timer expiries */
	u64 acks;		/* standalone acks sent */
	u64 heartbeats;
	u64 hellos;		/* HELLO and HELLO_ACK sent */
	u64 rtt_samples;	/* RTT samples taken (Karn: first sends only) */
};

/*
 * One message of the send window.  @data is the caller's: BI_PAGE_SIZE
 * bytes set before bi_link_peer_init(), the message's payload from
 * bi_link_send() until the peer acknowledges it (a transport may let the
 * peer read it from there, RDMA READ, while it is unacknowledged).
 */
struct bi_link_slot {
	struct bi_wire_hdr hdr;	/* hdr.seq: its 64-bit sequence number */
	u8 *data;
	/* the link's own, for RTT samples */
	u64 sent_ns;		/* first transmission */
	u64 resent_ns;		/* last transmission, once sent again */
	u8 sends;		/* 0: queued, 1: sent once, 2: sent again */
};

struct bi_link_ops {
	/* Send one frame: the 64-byte header, then frag_len payload bytes. */
	void (*xmit)(void *priv, u16 peer, const u8 *hdr, const u8 *frag,
		     u16 frag_len);
	/* The peer went BI_LINK_UP or BI_LINK_DEAD. Must not call back. */
	void (*state)(void *priv, u16 peer, enum bi_link_state state);
};

struct bi_link {
	const struct bi_wire_ctx *wire;
	struct bi_link_params params;
	const struct bi_link_ops *ops;
	void *priv;
	u32 boot;		/* our nonce: random, non-zero, new at each start */
};

struct bi_link_peer {
	u16 node;
	u8 state;		/* enum bi_link_state */
	u8 ack_owed;
	u32 peer_boot;		/* 0 until learned */
	/* 64-bit sequence numbers, from 1; see bi_link_seq_ref() */
	u64 snd_una;		/* oldest unacked */
	u64 snd_nxt;		/* next to send */
	u64 rcv_nxt;		/* next expected */
	/* bi_link_peer_init() clears all but the two above: keep them here */
	u32 retries;		/* consecutive timeouts */
	u32 win_size;		/* power of two */
	/* RTT estimate: valid once rtt_valid is set */
	u8 rtt_valid;
	u64 srtt_ns;
	u64 rttvar_ns;
	u64 rto_ns;		/* current RTO, backoff included */
	u64 rtx_deadline;	/* retransmission or HELLO timer; 0: off */
	u64 ack_deadline;
	u64 last_tx_ns;
	u64 dead_ns;		/* when declared dead */
	struct bi_link_slot *win;
	struct bi_reasm reasm;
	struct bi_link_stats stats;
};

/* A message delivered in order; data valid until the next call on peer. */
struct bi_link_msg {
	struct bi_wire_hdr hdr;
	const u8 *data;		/* hdr.payload_len bytes, NULL if none */
};

void bi_link_default_params(struct bi_link_params *p);
/*
 * Longest time from an unanswered transmission to "dead" (plus the
 * caller's timer granularity per retry). A peer that falls silent while
 * the link is idle is noticed through the heartbeat, so from its last
 * answer it takes at most hb_idle_ns longer. The RTO in use when the peer
 * falls silent may be anything up to rto_max_ns (a slow peer's, or one
 * still backed off), so this is (max_retries + 1) * rto_max_ns; a peer
 * silent from an RTO of r is dead after the sum of min(r * 2^i,
 * rto_max_ns), i = 0..max_retries, usually far less.
 */
u64 bi_link_dead_bound(const struct bi_link_params *p);
const char *bi_link_drop_name(enum bi_link_drop why);

int bi_link_init(struct bi_link *lk, const struct bi_wire_ctx *wire,
		 const struct bi_link_params *p, const struct bi_link_ops *ops,
		 void *priv, u32 boot);
/*
 * win_size: power of two, each slot's data set; reasm slots: 1 is enough
 * (go-back-N).
 */
int bi_link_peer_init(const struct bi_link *lk, struct bi_link_peer *pe,
		      u16 node, struct bi_link_slot *win, u32 win_size,
		      struct bi_reasm_slot *rs, u32 nr_rs);
/* Start the handshake. */
void bi_link_open(const struct bi_link *lk, struct bi_link_peer *pe, u64 now);
/*
 * Declare the peer dead now (its interface went away, or the node stops):
 * ops->state is called as for a peer that stopped answering.
 */
void bi_link_kill(const struct bi_link *lk, struct bi_link_peer *pe, u64 now);

/* Free window slots; bi_link_send() fails with -ENOBUFS at 0. */
u32 bi_link_space(const struct bi_link_peer *pe);

/*
 * Queue one protocol message (a coherence type, or PING/PONG; h: type,
 * flags, txid, page, payload_len;
 * the rest is the link's) and send it when the link is up. Returns 0,
 * -ENOBUFS (window full: keep it and retry after an ack), -EPIPE (dead),
 * -EINVAL (not a protocol message).
 */
int bi_link_send(const struct bi_link *lk, struct bi_link_peer *pe,
		 const struct bi_wire_hdr *h, const u8 *payload, u64 now);

/*
 * The references bi_wire_decode() extends a frame's 32-bit seq and ack
 * with (bi_wire_ctx.seq_ref of the node's wire context, for the peer
 * named by the frame's src). The only call that may run concurrently with
 * the others on pe: it reads the two counters once each (BI_READ_ONCE),
 * and the link writes them with BI_WRITE_ONCE.
 */
void bi_link_seq_ref(const struct bi_link_peer *pe, u64 *rcv_nxt,
		     u64 *snd_nxt);

/*
 * A frame from pe's node passed bi_wire_decode() (h->seq and h->ack are
 * the 64-bit values it extended). Returns 1 with *out set when a protocol
 * message is delivered, 0 otherwise.
 */
int bi_link_rx(const struct bi_link *lk, struct bi_link_peer *pe,
	       struct bi_wire_hdr *h, const u8 *frag, u64 now,
	       struct bi_link_msg *out);

/*
 * A transport dropped a frame unread because its unchecked seq is below
 * rcv_nxt: counted as a duplicate, and an ack is owed as bi_link_rx()
 * does for one (the peer sends again what it thinks lost).  Nothing of
 * the frame is trusted; a false claim costs an early ack at most.
 */
void bi_link_rx_dup(const struct bi_link *lk, struct bi_link_peer *pe,
		    u64 now);

/*
 * The message bi_link_rx() just delivered could not be taken (no memory,
 * or the receiver's queue is full): it counts as never received, it is not
 * acked and the peer sends it again after its RTO. Only right after a
 * bi_link_rx() that returned 1, before any other call on pe. A receiver
 * that keeps refusing for bi_link_dead_bound() is declared dead by its
 * peer, as one that does not answer.
 */
void bi_link_refuse(struct bi_link_peer *pe, const struct bi_link_msg *msg);

/* Timers: resend, heartbeat, acks, handshake, reassembly; next deadline. */
u64 bi_link_tick(const struct bi_link *lk, struct bi_link_peer *pe, u64 now);

#endif /* _BIGIRON_LINK_H */
