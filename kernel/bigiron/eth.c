// SPDX-License-Identifier: GPL-2.0
/*
 * The raw Ethernet transport: wire.h frames behind an Ethernet header with
 * ethertype BIGIRON_ETH_P, on the one interface named by SET_CLUSTER.
 *
 * Receive: one packet_type per node instance, bound to its interface, so
 * that two instances on two interfaces of one kernel (the two ends of a
 * veth pair in the selftests) each see only their own frames.  The handler
 * runs in softirq; it checks everything before it trusts anything:
 * length, then bi_wire_decode() (every field, then the MAC), then that the
 * Ethernet source is the MAC configured for the authenticated source node,
 * and only then hands the frame to that peer's link.  Every drop is
 * counted by reason; log lines are rate-limited.
 *
 * Transmit: link.c calls bigiron_eth_xmit() under the peer lock, so it
 * must not sleep: the skb is allocated GFP_ATOMIC, and a frame that cannot
 * be allocated or queued is counted and left to the link's retransmission.
 *
 * MAC: keyed BLAKE2s with the 32-byte cluster key and a 16-byte output.
 * bi_wire_decode() compares MACs without an early exit (constant time).
 * It covers the high halves of the frame's 64-bit seq and ack, which
 * bi_wire_decode() reconstructs from the peer's link counters before the
 * peer lock is taken (bigiron_eth_seq_ref()); a stale read only fails the
 * MAC of an honest frame, which the link sends again.
 *
 * Locking: the receive handler takes the peer lock of the frame's source
 * node (peer.c); xmit runs with that lock held by its caller.  cl->dev is
 * used under a peer lock only while cl->detached is false, which the
 * netdev notifier clears under every peer lock before it drops the
 * reference (cluster.c).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/etherdevice.h>
#include <linux/if_ether.h>
#include <linux/lockdep.h>
#include <linux/netdevice.h>
#include <linux/pkt_sched.h>
#include <linux/skbuff.h>
#include <linux/string.h>

#include "cluster.h"

void bigiron_eth_mac(const void *priv, const u8 *a, size_t alen,
		     const u8 *b, size_t blen, u8 out[BI_WIRE_MAC_LEN])
{
	struct blake2s_state state = *(const struct blake2s_state *)priv;

	blake2s_update(&state, a, alen);
	if (blen)
		blake2s_update(&state, b, blen);
	blake2s_final(&state, out);
}

/*
 * bi_wire_ctx.seq_ref: the counters of the link to @src, read once each
 * without the peer lock (link.c writes them with WRITE_ONCE).  @src is
 * checked by then: a peer other than self.
 */
void bigiron_eth_seq_ref(const void *priv, u16 src, u64 *rcv_nxt,
			 u64 *snd_nxt)
{
	const struct bigiron_cluster *cl = priv;

	bi_link_seq_ref(&cl->peers[src]->lp, rcv_nxt, snd_nxt);
}

/* Payload bytes per frame for an interface MTU; 0 if too small. */
u32 bigiron_eth_frag_size(u32 mtu)
{
	u32 frag;

	if (mtu < BI_WIRE_HDR_LEN + BI_WIRE_MIN_FRAG)
		return 0;
	frag = (mtu - BI_WIRE_HDR_LEN) & ~7U;
	return min_t(u32, frag, BI_PAGE_SIZE);
}

void bigiron_eth_xmit(void *priv, u16 node, const u8 *hdr, const u8 *frag,
		      u16 frag_len)
{
	struct bigiron_cluster *cl = priv;
	struct bigiron_peer *pe = cl->peers[node];
	struct net_device *dev = cl->dev;
	struct sk_buff *skb;
	int hlen, tlen, err;

	lockdep_assert_held(&pe->lock);

	if (cl->detached) {
		atomic64_inc(&cl->drops[BIGIRON_DROP_STOPPED]);
		pe->drops[BIGIRON_DROP_STOPPED]++;
		return;
	}
	hlen = LL_RESERVED_SPACE(dev);
	tlen = dev->needed_tailroom;
	skb = alloc_skb(hlen + BI_WIRE_HDR_LEN + frag_len + tlen, GFP_ATOMIC);
	if (!skb) {
		atomic64_inc(&cl->drops[BIGIRON_DROP_TX_NOMEM]);
		pe->drops[BIGIRON_DROP_TX_NOMEM]++;
		return;
	}
	skb_reserve(skb, hlen);
	skb_reset_network_header(skb);
	skb_put_data(skb, hdr, BI_WIRE_HDR_LEN);
	if (frag_len)
		skb_put_data(skb, frag, frag_len);
	skb->dev = dev;
	skb->protocol = htons(BIGIRON_ETH_P);
	skb->priority = TC_PRIO_CONTROL;
	if (dev_hard_header(skb, dev, BIGIRON_ETH_P, cl->nodes[node].mac,
			    dev->dev_addr, skb->len) < 0) {
		kfree_skb(skb);
		err = -EINVAL;
	} else {
		/* net_xmit_eval() evaluates its argument twice */
		err = dev_queue_xmit(skb);
		err = net_xmit_eval(err);
	}
	if (err) {
		atomic64_inc(&cl->drops[BIGIRON_DROP_TX_ERR]);
		pe->drops[BIGIRON_DROP_TX_ERR]++;
	}
}

static void bigiron_eth_drop(struct bigiron_cluster *cl, struct sk_buff *skb,
			     enum bigiron_drop why)
{
	atomic64_inc(&cl->drops[why]);
	if (net_ratelimit())
		pr_info("vm%u: dropped frame from %pM on %s: %s\n",
			cl->vm->id, eth_hdr(skb)->h_source, skb->dev->name,
			bigiron_drop_name(why));
}

static int bigiron_eth_rcv(struct sk_buff *skb, struct net_device *dev,
			   struct packet_type *pt,
			   struct net_device *orig_dev)
{
	struct bigiron_cluster *cl = container_of(pt, struct bigiron_cluster,
						  pt);
	struct bigiron_peer *pe;
	enum bi_wire_drop why;
	struct bi_wire_hdr h;
	const u8 *frag;

	skb = skb_share_check(skb, GFP_ATOMIC);
	if (!skb) {
		atomic64_inc(&cl->drops[BIGIRON_DROP_NOMEM]);
		return NET_RX_DROP;
	}
	if (skb->pkt_type == PACKET_OTHERHOST ||
	    skb->pkt_type == PACKET_OUTGOING) {
		bigiron_eth_drop(cl, skb, BIGIRON_DROP_OTHERHOST);
		goto drop;
	}
	if (skb->len < BI_WIRE_HDR_LEN) {
		bigiron_eth_drop(cl, skb, BIGIRON_DROP_SHORT);
		goto drop;
	}
	if (skb->len > BI_WIRE_MAX_FRAME) {
		bigiron_eth_drop(cl, skb, BIGIRON_DROP_LONG);
		goto drop;
	}
	if (skb_linearize(skb)) {
		bigiron_eth_drop(cl, skb, BIGIRON_DROP_NOMEM);
		goto drop;
	}

	why = bi_wire_decode(&cl->wire, skb->data, skb->len, &h, &frag);
	if (why != BI_WIRE_OK) {
		atomic64_inc(&cl->wire_drops[why]);
		if (net_ratelimit())
			pr_info("vm%u: dropped frame from %pM on %s: %s\n",
				cl->vm->id, eth_hdr(skb)->h_source, dev->name,
				bi_wire_drop_name(why));
		goto drop;
	}

	/* h.src is authenticated now, and neither self nor out of range */
	pe = cl->peers[h.src];
	if (!ether_addr_equal(eth_hdr(skb)->h_source, cl->nodes[h.src].mac)) {
		bigiron_peer_count_drop(pe, BIGIRON_DROP_SRC_MAC);
		if (net_ratelimit())
			pr_info("vm%u: dropped frame of node %u from %pM on %s: not its address %pM\n",
				cl->vm->id, h.src, eth_hdr(skb)->h_source,
				dev->name, cl->nodes[h.src].mac);
		goto drop;
	}

	bigiron_peer_rx(pe, &h, frag, NULL);
	consume_skb(skb);
	return NET_RX_SUCCESS;

drop:
	kfree_skb(skb);
	return NET_RX_DROP;
}

/* Fill the receive handler of @cl; cluster.c binds it to cl->dev. */
void bigiron_eth_init(struct bigiron_cluster *cl)
{
	cl->pt.type = htons(BIGIRON_ETH_P);
	cl->pt.dev = cl->dev;
	cl->pt.func = bigiron_eth_rcv;
}
