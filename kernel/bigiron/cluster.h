/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron: a VM with a cluster ("node instance"), its peers and its
 * Ethernet transport; shared by cluster.c, peer.c and eth.c.
 *
 *   cluster.c  SET_CLUSTER, JOIN and PING; setup, teardown, netdev events
 *   peer.c     one reliable link per other node: lock, timer, delivery
 *   eth.c      raw Ethernet frames: MAC, receive handler, transmit
 *
 * Locking, outermost first:
 *   bigiron_dev_file.lock (dev.c; held by SET_CLUSTER only)
 *     RTNL (netdev notifier, attach and detach of the interface)
 *       bigiron_peer.lock (spinlock, taken with BHs off: the receive
 *         handler and the peer's timer run in softirq)
 *   bigiron_cluster.ping_lock is taken without any of them and takes the
 *   peer locks.  No page lock, no sleeping lock and no other peer's lock
 *   is taken under a peer lock.
 */
#ifndef _BIGIRON_CLUSTER_H
#define _BIGIRON_CLUSTER_H

#include <crypto/blake2s.h>
#include <linux/hrtimer.h>
#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "bigiron.h"
#include "link.h"

/*
 * Ethertype of bigiron frames: 0x88B5, "IEEE Std 802 - Local Experimental
 * Ethertype 1" (IEEE 802a-2003), free for use inside one network without
 * registration.  The frame after the Ethernet header is one wire.h frame.
 */
#define BIGIRON_ETH_P		0x88B5

/* Send window of each peer, in whole messages (a page each at most). */
#define BIGIRON_PEER_WINDOW	32

/* Why a frame was dropped outside the codec and the link. */
enum bigiron_drop {
	BIGIRON_DROP_SHORT,	/* shorter than a wire header */
	BIGIRON_DROP_LONG,	/* longer than a header and a page */
	BIGIRON_DROP_NOMEM,	/* could not unshare or linearize */
	BIGIRON_DROP_OTHERHOST,	/* not addressed to this interface */
	BIGIRON_DROP_SRC_MAC,	/* Ethernet source is not the node's MAC */
	BIGIRON_DROP_STOPPED,	/* node instance stopping, interface gone */
	BIGIRON_DROP_COH_NOMEM,	/* no memory to queue a delivered message */
	BIGIRON_DROP_BAD_PONG,	/* PONG matching no outstanding PING */
	BIGIRON_DROP_PONG_TX,	/* no window slot to answer a PING */
	BIGIRON_DROP_TX_NOMEM,	/* no skb for a frame (link resends) */
	BIGIRON_DROP_TX_ERR,	/* interface refused a frame (link resends) */
	BIGIRON_DROP_NR
};

const char *bigiron_drop_name(enum bigiron_drop why);

/* A delivered coherence message on its way to process context. */
struct bigiron_rx_msg {
	struct list_head list;
	struct bi_wire_hdr hdr;
	u8 data[];			/* hdr.payload_len bytes */
};

/**
 * struct bigiron_peer - the link to one other node
 * @cl: the node instance
 * @node: the peer's node id
 * @lock: serializes every call into link.c for this peer; protects
 *	everything below but @state, @kobj and @rx_work
 * @lp: link state (link.h)
 * @win: send window, BIGIRON_PEER_WINDOW slots
 * @rs: one reassembly slot (go-back-N needs no more)
 * @timer: drives bi_link_tick(); armed at @timer_at (0: not armed)
 * @ever_up: the link was up once; a peer that never answered a JOIN may
 *	be opened again, one that was up and died may not
 * @state: copy of @lp.state for lockless readers (WRITE_ONCE under @lock)
 * @rxq: delivered coherence messages not yet handed to @rx_work
 * @rx_work: hands @rxq to bigiron_coh_deliver() in process context
 * @ping_txid: id of the PING being waited for, 0 when none
 * @pong_txid: id of the last matching PONG (WRITE_ONCE under @lock)
 * @ping_data: payload of that PING, @ping_len bytes, to compare the PONG
 * @drops: frames of this peer dropped outside link.c, by reason
 * @kobj: /sys/kernel/bigiron/vm<id>/peers/node<N>; its release frees this
 */
struct bigiron_peer {
	struct bigiron_cluster *cl;
	u16 node;
	spinlock_t lock;	/* see the comment above */
	struct bi_link_peer lp;
	struct bi_link_slot *win;
	struct bi_reasm_slot *rs;
	struct hrtimer timer;
	u64 timer_at;
	bool ever_up;
	u8 state;
	struct list_head rxq;
	struct work_struct rx_work;
	u32 ping_next;
	u32 ping_txid;
	u32 pong_txid;
	const u8 *ping_data;
	u16 ping_len;
	u64 drops[BIGIRON_DROP_NR];
	struct kobject kobj;
};

/**
 * struct bigiron_cluster - a VM with a cluster: this host's node instance
 * @vm: the VM (not a reference: the VM's release destroys the cluster)
 * @self: this host's node id
 * @nr_nodes: nodes in the cluster
 * @frag_size: payload bytes per frame
 * @nodes: the node table from SET_CLUSTER, by node id
 * @mac_key: BLAKE2s state keyed with the cluster key, copied per MAC
 * @wire: codec context
 * @link: link context (boot nonce, parameters, ops)
 * @dev: the interface, held with @dev_tracker until detached (RTNL)
 * @detached: the interface is gone or the instance stops: nothing is
 *	sent any more.  Written under RTNL and every peer lock in turn, so
 *	reading it under any one of them is enough.
 * @stopping: teardown started: timers are not re-armed (same rule)
 * @pt: receive handler bound to @dev and BIGIRON_ETH_P
 * @nb: netdevice notifier: NETDEV_UNREGISTER of @dev detaches
 * @wq: JOIN and PING waiters; woken on link state changes and PONGs
 * @ping_lock: one PING ioctl at a time
 * @peers_kobj: /sys/kernel/bigiron/vm<id>/peers
 * @dbg_cluster: debugfs vm<id>/cluster
 * @dbg_peers: debugfs vm<id>/peers
 * @drops: frames dropped outside the codec and the link, by reason
 * @wire_drops: frames refused by bi_wire_decode(), by reason
 * @coh_unhandled: coherence messages delivered before coherence exists
 * @peers: by node id; NULL at @self
 */
struct bigiron_cluster {
	struct bigiron_vm *vm;
	u32 id;
	u16 self;
	u16 nr_nodes;
	u32 frag_size;
	struct bigiron_node_desc *nodes;
	struct blake2s_state mac_key;
	struct bi_wire_ctx wire;
	struct bi_link link;
	struct net_device *dev;
	netdevice_tracker dev_tracker;
	bool detached;
	bool stopping;
	struct packet_type pt;
	struct notifier_block nb;
	wait_queue_head_t wq;
	struct mutex ping_lock;	/* one PING ioctl at a time */
	struct kobject *peers_kobj;
	struct dentry *dbg_cluster;
	struct dentry *dbg_peers;
	atomic64_t drops[BIGIRON_DROP_NR];
	atomic64_t wire_drops[BI_WIRE_DROP_NR];
	atomic64_t coh_unhandled;
	struct bigiron_peer *peers[BIGIRON_MAX_NODES];
};

/* peer.c */
extern const struct bi_link_ops bigiron_peer_link_ops;
struct bigiron_peer *bigiron_peer_create(struct bigiron_cluster *cl, u16 node);
int bigiron_peer_publish(struct bigiron_peer *pe);
void bigiron_peer_stop(struct bigiron_peer *pe);
void bigiron_peer_put(struct bigiron_peer *pe);
void bigiron_peer_join(struct bigiron_peer *pe);
void bigiron_peer_kill_locked(struct bigiron_peer *pe);
void bigiron_peer_rx(struct bigiron_peer *pe, struct bi_wire_hdr *h,
		     const u8 *frag);
void bigiron_peer_count_drop(struct bigiron_peer *pe, enum bigiron_drop why);
int bigiron_peer_ping(struct bigiron_peer *pe, const u8 *payload, u16 len,
		      u64 *rtt_ns);
u64 bigiron_peer_total_drops(struct bigiron_peer *pe);

/* eth.c */
void bigiron_eth_mac(const void *priv, const u8 *a, size_t alen,
		     const u8 *b, size_t blen, u8 out[BI_WIRE_MAC_LEN]);
void bigiron_eth_xmit(void *priv, u16 node, const u8 *hdr, const u8 *frag,
		      u16 frag_len);
u32 bigiron_eth_frag_size(u32 mtu);
void bigiron_eth_init(struct bigiron_cluster *cl);

#endif /* _BIGIRON_CLUSTER_H */
