/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron: a VM with a cluster ("node instance"), its peers and its
 * Ethernet transport; shared by cluster.c, peer.c and eth.c.
 *
 *   cluster.c  SET_CLUSTER, JOIN and PING; setup, teardown, netdev events
 *   peer.c     one reliable link per other node: lock, timer, delivery
 *   eth.c      raw Ethernet frames: MAC, receive handler, transmit
 *   dsm.c      the coherence protocol bound to faults and links
 *   ssi.c      interrupts between hosts, the launchers' messages
 *
 * Locking, outermost first:
 *   bigiron_dev_file.lock (dev.c; held by SET_CLUSTER only)
 *     RTNL (netdev notifier, attach and detach of the interface)
 *       bigiron_peer.lock (spinlock, taken with BHs off: the receive
 *         handler and the peer's timer run in softirq)
 *   bigiron_cluster.ping_lock is taken without any of them and takes the
 *   peer locks.  The coherence locks (dsm.c: page bucket mutex, then the
 *   folio lock) are taken outside all of these and take peer locks.  No
 *   page lock, no sleeping lock and no other peer's lock is taken under a
 *   peer lock.
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
#include <linux/xarray.h>

#include "bigiron.h"
#include "coh.h"
#include "link.h"

/*
 * Ethertype of bigiron frames: 0x88B5, "IEEE Std 802 - Local Experimental
 * Ethertype 1" (IEEE 802a-2003), free for use inside one network without
 * registration.  The frame after the Ethernet header is one wire.h frame.
 */
#define BIGIRON_ETH_P		0x88B5

/* Send window of each peer, in whole messages (a page each at most). */
#define BIGIRON_PEER_WINDOW	32
/*
 * Messages of one peer received and waiting for process context: with a
 * page each, about 2 MiB (kmalloc-8k), and as many again in the batch the
 * rx work is handling.  A message beyond it is refused and sent again by
 * the peer (bi_link_refuse()).
 */
#define BIGIRON_PEER_RXQ_MAX	256
/*
 * Launcher messages (BIGIRON_VM_SEND) are flow-controlled by credits: a
 * node may have at most bigiron_ssi_window() messages out to one peer
 * that the peer's launcher has not taken yet (the next send fails with
 * -EAGAIN), and the peer returns credits with a BI_MSG_CREDIT whenever
 * its launcher has taken half a window.  The window is
 * BIGIRON_SSI_WINDOW_MAX, less in clusters so large that the peers'
 * windows together would pass BIGIRON_SSI_MSGQ_MAX: a receiver thus
 * holds at most that many, and never has to refuse a message of a peer
 * that keeps to its window (a refused message holds up the link behind
 * it, and a link that cannot deliver for long is declared dead).
 */
#define BIGIRON_SSI_WINDOW_MAX	64
#define BIGIRON_SSI_MSGQ_MAX	1024
/*
 * Messages a peer's send queue may hold beyond the window before the
 * interrupt work waits for it to drain (the ring then fills, and a full
 * ring stops the VM): what bounds the memory a guest sending interrupts
 * to a slow host can pin.
 */
#define BIGIRON_PEER_TXQ_IPI_MAX	1024

/* Why a frame was dropped outside the codec and the link. */
enum bigiron_drop {
	BIGIRON_DROP_SHORT,	/* shorter than a wire header */
	BIGIRON_DROP_LONG,	/* longer than a header and a page */
	BIGIRON_DROP_NOMEM,	/* could not unshare or linearize */
	BIGIRON_DROP_OTHERHOST,	/* not addressed to this interface */
	BIGIRON_DROP_SRC_MAC,	/* Ethernet source is not the node's MAC */
	BIGIRON_DROP_STOPPED,	/* node instance stopping, interface gone */
	BIGIRON_DROP_COH_NOMEM,	/* no memory to queue a message: refused */
	BIGIRON_DROP_RXQ_FULL,	/* delivery queue full: refused */
	BIGIRON_DROP_MSGQ_FULL,	/* launcher message queue full: refused */
	BIGIRON_DROP_BAD_PONG,	/* PONG matching no outstanding PING */
	BIGIRON_DROP_PONG_TX,	/* no window slot to answer a PING: refused */
	BIGIRON_DROP_TX_NOMEM,	/* no skb for a frame (link resends) */
	BIGIRON_DROP_TX_ERR,	/* interface refused a frame (link resends) */
	BIGIRON_DROP_BAD_CREDIT, /* CREDIT for messages never sent */
	BIGIRON_DROP_NO_CONN,	/* rdma: no connection to the peer yet */
	BIGIRON_DROP_NO_CREDIT,	/* rdma: the peer has no receive posted */
	BIGIRON_DROP_DUP_UNREAD, /* rdma: a duplicate, its payload not read */
	BIGIRON_DROP_NR
};

const char *bigiron_drop_name(enum bigiron_drop why);

/*
 * A coherence message: delivered, on its way to process context (rxq), or
 * waiting for a free slot of the send window (txq).
 */
struct bigiron_rx_msg {
	struct list_head list;
	struct bi_wire_hdr hdr;
	struct page *page;		/* delivered page payload, or NULL */
	u8 data[];			/* else hdr.payload_len bytes */
};

/* A message's payload, NULL if none. */
static inline const u8 *bigiron_rx_msg_data(const struct bigiron_rx_msg *m)
{
	if (!m->hdr.payload_len)
		return NULL;
	return m->page ? page_address(m->page) : m->data;
}

void bigiron_rx_msg_free(struct bigiron_rx_msg *m);

/* Pages per coherence lock; a power of two. */
#define BIGIRON_DSM_BUCKETS	256
/* Log2 buckets of the fault-service-time histogram, in microseconds. */
#define BIGIRON_DSM_HIST	24

/**
 * struct bigiron_dsm_bucket - the coherence lock of a group of pages
 * @lock: held across every protocol call on one of the pages
 * @wq: faults waiting for an answer on one of the pages
 * @gen: completions so far (written under @lock, read with READ_ONCE())
 * @st: protocol statistics of these pages (under @lock)
 */
struct bigiron_dsm_bucket {
	struct mutex lock;	/* see above */
	wait_queue_head_t wq;
	u64 gen;
	struct bi_coh_stats st;
};

/* Faulting tasks whose chains are kept, and pages kept per chain (dsm.c). */
#define BIGIRON_DSM_CHAINS	64
#define BIGIRON_DSM_CHAIN_PAGES	8

/**
 * struct bigiron_dsm_chain - one task's chain of remote faults (dsm.c)
 * @lock: protects the other fields
 * @pid: the task; 0: free
 * @start_ns: when its first fault began
 * @end_ns: when its last fault ended
 * @nr: valid entries of @pages
 * @pages: pages the chain's faults got, oldest first
 */
struct bigiron_dsm_chain {
	spinlock_t lock;	/* protects the fields below */
	pid_t pid;
	u64 start_ns;
	u64 end_ns;
	unsigned int nr;
	u64 pages[BIGIRON_DSM_CHAIN_PAGES];
};

/* Pages per chunk of coherence metadata; a power of two. */
#define BIGIRON_DSM_CHUNK_SHIFT	5
#define BIGIRON_DSM_CHUNK	BIT(BIGIRON_DSM_CHUNK_SHIFT)

/**
 * struct bigiron_dsm_chunk - coherence metadata of BIGIRON_DSM_CHUNK pages
 * @busy: pages with a request or a home transaction outstanding, by
 *	offset; changed under @meta's xa_lock and the page's bucket lock
 * @dir: their directory entries when this node is home for one of them
 *	(the others' entries are unused), else NULL
 * @local: this node's rights on each page, under the page's bucket lock
 *
 * Made the first time one of its pages is used, zeroed (no rights,
 * uncached), kept until the node instance goes.
 */
struct bigiron_dsm_chunk {
	u32 busy;
	struct bi_coh_dir *dir;
	struct bi_coh_local local[BIGIRON_DSM_CHUNK];
};

/**
 * struct bigiron_dsm - coherence state of a node instance (dsm.c)
 * @cn: protocol node
 * @meta: struct bigiron_dsm_chunk by page >> BIGIRON_DSM_CHUNK_SHIFT, only
 *	of chunks used; XA_MARK_0 marks those with a busy page.  Its
 *	memory grows with the pages this node touched, not with the VM.
 * @scratch: what a lookup of local state that does not exist gets (a bug,
 *	warned about) instead of a NULL dereference
 * @scratch_dir: the same for a directory entry
 * @home_first: first page this node is home for
 * @home_nr: pages this node is home for
 * @buckets: BIGIRON_DSM_BUCKETS locks; page p's is p % BIGIRON_DSM_BUCKETS
 * @tick_lock: protects @tick_at and @stopping; BH-safe (a softirq hrtimer)
 * @tick_at: expiry of @tick_timer, 0 when not armed
 * @stopping: teardown started: nothing re-arms the timer or the work
 * @tick_timer: runs @tick_work at the earliest deadline of a busy page
 * @tick_work: bi_coh_tick() on every busy page
 * @chains: BIGIRON_DSM_CHAINS fault chains, task t's at a hash of its pid
 * @remote_read_faults: read faults that waited on another node
 * @remote_write_faults: write faults that waited on another node
 * @fault_errors: faults that failed
 * @drops: messages dropped before the protocol saw them, by coh reason
 * @hist: service time of remote faults, [write][log2 us bucket]
 * @dbg: debugfs vm<id>/coherence
 * @dbg_hist: debugfs vm<id>/fault_hist
 * @dbg_evict: debugfs vm<id>/evict
 * @sysfs: the counters are in sysfs vm<id>/
 */
struct bigiron_dsm {
	struct bi_coh_node cn;
	struct xarray meta;
	struct bi_coh_local scratch;
	struct bi_coh_dir scratch_dir;
	u64 home_first;
	u64 home_nr;
	struct bigiron_dsm_bucket *buckets;
	spinlock_t tick_lock;	/* see above */
	u64 tick_at;
	bool stopping;
	struct hrtimer tick_timer;
	struct work_struct tick_work;
	struct bigiron_dsm_chain *chains;
	unsigned int prefetch;	/* pages a read stream asks ahead; 0: off */
	atomic64_t remote_read_faults;
	atomic64_t remote_write_faults;
	atomic64_t fault_errors;
	atomic64_t drops[BI_COH_DROP_NR];
	atomic64_t hist[2][BIGIRON_DSM_HIST];
	struct dentry *dbg;
	struct dentry *dbg_hist;
	struct dentry *dbg_evict;
	bool sysfs;
};

/* Interrupts from the kprobe to the send work (ssi.c); a power of two. */
#define BIGIRON_SSI_RING	256

struct bigiron_ssi_ipi {
	struct bi_wire_ipi w;
	u64 nodes;		/* where to send it */
};

/**
 * struct bigiron_ssi - interrupts and launcher messages of a node (ssi.c)
 * @list: on bigiron_ssi_list once SET_KVM bound @kvm (RCU)
 * @kvm: this host's KVM VM, referenced; set once under bigiron_ssi_lock
 * @kvm_set: @kvm, @vcpu_node and @nr_vcpus are valid (release/acquire)
 * @vcpu_node: node running vCPU n, @nr_vcpus entries
 * @nr_vcpus: vCPUs of the VM on all nodes
 * @ring_lock: protects @ring, @head, @tail, @lost, @lost_node, @stopping;
 *	irq-safe (the kprobe)
 * @ring: interrupts for other nodes, from @tail to @head
 * @ipi_work: sends the ring's interrupts
 * @msg_lock: protects @msgq; BH-safe
 * @msgq: BI_MSG_USER messages waiting for BIGIRON_VM_RECV
 * @send_lock: one BIGIRON_VM_SEND at a time (its window check is exact);
 *	protects the peers' @user_sent
 * @recv_lock: one BIGIRON_VM_RECV at a time (a message it cannot copy
 *	out goes back to the head of @msgq, in order); protects the peers'
 *	@user_taken and @user_told
 * @down: nodes whose link died, not yet reported by BIGIRON_VM_RECV
 * @cpu_nodes: nodes that run a vCPU (from SET_KVM)
 * @lost: an interrupt was lost (under @ring_lock)
 * @lost_node: the node the first one came from or went to (@ring_lock)
 * @lost_told: BIGIRON_VM_RECV reported it (under @recv_lock)
 * @stopping: the VM is going: nothing is queued to @ring (@ring_lock)
 * @wq: BIGIRON_VM_RECV waiters
 */
struct bigiron_ssi {
	struct list_head list;
	struct kvm *kvm;
	bool kvm_set;
	u16 *vcpu_node;
	u32 nr_vcpus;
	spinlock_t ring_lock;	/* see above */
	u32 head;
	u32 tail;
	struct bigiron_ssi_ipi ring[BIGIRON_SSI_RING];
	struct delayed_work ipi_work;
	spinlock_t msg_lock;	/* see above */
	struct list_head msgq;
	struct mutex send_lock;	/* see above */
	struct mutex recv_lock;	/* see above */
	DECLARE_BITMAP(down, BIGIRON_MAX_NODES);
	u64 cpu_nodes;
	bool lost;
	u16 lost_node;
	bool lost_told;
	bool stopping;
	wait_queue_head_t wq;
	atomic64_t ipis_sent;
	atomic64_t ipis_recv;
	atomic64_t ipis_dropped;
	atomic64_t msgs_sent;
	atomic64_t msgs_recv;
	atomic64_t msgs_dropped;
};

/**
 * struct bigiron_peer - the link to one other node
 * @cl: the node instance
 * @node: the peer's node id
 * @lock: serializes every call into link.c for this peer; protects
 *	everything below but @state, @kobj and @rx_work
 * @lp: link state (link.h)
 * @win: send window, BIGIRON_PEER_WINDOW slots
 * @win_pages: the slots' data, a page each (the RDMA transport registers
 *	them for the peer to read); fixed from creation to release
 * @rs: one reassembly slot (go-back-N needs no more)
 * @timer: drives bi_link_tick(); armed at @timer_at (0: not armed)
 * @ever_up: the link was up once; a peer that never answered a JOIN may
 *	be opened again, one that was up and died may not
 * @state: copy of @lp.state for lockless readers (WRITE_ONCE under @lock)
 * @rxq: delivered coherence messages not yet handed to @rx_work
 * @rxq_len: messages on @rxq, at most BIGIRON_PEER_RXQ_MAX
 * @rx_work: hands @rxq to bigiron_dsm_recv() in process context
 * @txq: coherence messages waiting for room in the send window, in order
 * @txq_len: messages on @txq
 * @txq_user: of those, launcher messages
 * @user_sent: launcher messages sent to the node (ssi.send_lock; read
 *	under @lock)
 * @user_credit: of those, the ones its launcher took, as its last
 *	BI_MSG_CREDIT said (WRITE_ONCE under @lock)
 * @user_lost: of those, the ones that never left: dropped when the link
 *	died, or when a handshake that never got an answer was started
 *	again (WRITE_ONCE under @lock)
 * @user_held: launcher messages from the node that the link accepted and
 *	BIGIRON_VM_RECV has not taken yet, at most bigiron_ssi_window()
 * @user_taken: launcher messages from the node BIGIRON_VM_RECV took
 *	(ssi.recv_lock)
 * @user_told: @user_taken as the last BI_MSG_CREDIT to the node said
 *	(ssi.recv_lock)
 * @sent: coherence messages queued to the node, by type
 * @recv: coherence messages delivered from the node, by type
 * @pages_sent: of @sent, those carrying a page
 * @pages_recv: of @recv, those carrying a page
 * @ping_txid: id of the PING being waited for, 0 when none
 * @pong_txid: id of the last matching PONG (WRITE_ONCE under @lock)
 * @ping_data: payload of that PING, @ping_len bytes, to compare the PONG
 * @drops: frames of this peer dropped outside link.c, by reason
 * @rconn: rdma: the connection frames go out on, NULL when there is none
 *	(rdma.c)
 * @kobj: /sys/kernel/bigiron/vm<id>/peers/node<N>; its release frees this
 */
struct bigiron_peer {
	struct bigiron_cluster *cl;
	u16 node;
	spinlock_t lock;	/* see the comment above */
	struct bi_link_peer lp;
	struct bi_link_slot *win;
	struct page *win_pages[BIGIRON_PEER_WINDOW];
	struct bi_reasm_slot *rs;
	struct hrtimer timer;
	u64 timer_at;
	bool ever_up;
	u8 state;
	struct list_head rxq;
	u32 rxq_len;
	struct work_struct rx_work;
	struct list_head txq;
	u32 txq_len;
	u32 txq_user;
	u32 user_sent;
	u32 user_credit;
	u32 user_lost;
	atomic_t user_held;
	u32 user_taken;
	u32 user_told;
	u64 sent[BI_MSG_TYPE_MAX];
	u64 recv[BI_MSG_TYPE_MAX];
	u64 pages_sent;
	u64 pages_recv;
	u32 ping_next;
	u32 ping_txid;
	u32 pong_txid;
	const u8 *ping_data;
	u16 ping_len;
	u64 drops[BIGIRON_DROP_NR];
	struct bigiron_rconn *rconn;
	struct kobject kobj;
};

/**
 * struct bigiron_cluster - a VM with a cluster: this host's node instance
 * @vm: the VM (not a reference: the VM's release destroys the cluster)
 * @transport: BIGIRON_TRANSPORT_ETH or BIGIRON_TRANSPORT_RDMA
 * @self: this host's node id
 * @nr_nodes: nodes in the cluster
 * @frag_size: payload bytes per frame (changed with the MTU, under RTNL)
 * @mtu_cfg: MTU given to SET_CLUSTER, 0: the interface's
 * @nodes: the node table from SET_CLUSTER, by node id
 * @mac_key: BLAKE2s state keyed with the cluster key, copied per MAC
 * @wire: codec context
 * @link: link context (boot nonce, parameters, ops)
 * @dev: ethernet: the interface, held with @dev_tracker until detached
 *	(RTNL)
 * @rdma: rdma: the transport (rdma.c), NULL until attached
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
 * @dsm: coherence state (dsm.c)
 * @ssi: interrupts and launcher messages (ssi.c)
 * @fail_rx: test knob (debugfs vm<id>/fail_rx): so many messages received
 *	next fail their allocation as if memory had run out
 * @dbg_fail_rx: debugfs vm<id>/fail_rx
 * @peers: by node id; NULL at @self
 */
struct bigiron_cluster {
	struct bigiron_vm *vm;
	u32 id;
	u32 transport;
	u16 self;
	u16 nr_nodes;
	u32 frag_size;
	u32 mtu_cfg;
	struct bigiron_node_desc *nodes;
	struct blake2s_state mac_key;
	struct bi_wire_ctx wire;
	struct bi_link link;
	struct net_device *dev;
	netdevice_tracker dev_tracker;
	struct bigiron_rdma *rdma;
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
	struct bigiron_dsm dsm;
	struct bigiron_ssi ssi;
	atomic_t fail_rx;
	struct dentry *dbg_fail_rx;
	struct bigiron_peer *peers[BIGIRON_MAX_NODES];
};

/* peer.c */
extern const struct bi_link_ops bigiron_peer_link_ops;
extern const struct bi_link_ops bigiron_peer_rdma_link_ops;
struct bigiron_peer *bigiron_peer_create(struct bigiron_cluster *cl, u16 node);
int bigiron_peer_publish(struct bigiron_peer *pe);
void bigiron_peer_stop(struct bigiron_peer *pe);
void bigiron_peer_put(struct bigiron_peer *pe);
void bigiron_peer_join(struct bigiron_peer *pe);
void bigiron_peer_kill_locked(struct bigiron_peer *pe);
void bigiron_peer_rx(struct bigiron_peer *pe, struct bi_wire_hdr *h,
		     const u8 *frag, struct page **page);
void bigiron_peer_rx_dup(struct bigiron_peer *pe);
void bigiron_peer_count_drop(struct bigiron_peer *pe, enum bigiron_drop why);
void bigiron_peer_count_drop_locked(struct bigiron_peer *pe,
				    enum bigiron_drop why);
int bigiron_peer_ping(struct bigiron_peer *pe, const u8 *payload, u16 len,
		      u64 *rtt_ns);
u64 bigiron_peer_total_drops(struct bigiron_peer *pe);
void bigiron_peer_send(struct bigiron_peer *pe, const struct bi_wire_hdr *h,
		       const u8 *data);
struct bigiron_rx_msg *bigiron_peer_msg_new(const struct bi_wire_hdr *h,
					    const u8 *data, gfp_t gfp);
int bigiron_peer_send_msg(struct bigiron_peer *pe, struct bigiron_rx_msg *m);
u32 bigiron_peer_backlog(struct bigiron_peer *pe, bool user);

/* dsm.c */
int bigiron_dsm_init(struct bigiron_cluster *cl);
void bigiron_dsm_stop(struct bigiron_cluster *cl);
void bigiron_dsm_free(struct bigiron_cluster *cl);
void bigiron_dsm_node_dead(struct bigiron_cluster *cl, u16 node);
int bigiron_dsm_prepare(struct bigiron_cluster *cl, u64 page);
void bigiron_dsm_recv(struct bigiron_cluster *cl, u16 node,
		      const struct bi_wire_hdr *h, const u8 *data);
void bigiron_dsm_stats(struct bigiron_cluster *cl, struct bi_coh_stats *sum);

/*
 * Exported by kvm.ko (EXPORT_SYMBOL_GPL) but declared in KVM's private
 * arch/x86/kvm/lapic.h: an ICR write of @apic's vCPU, as if the guest did
 * it.
 */
struct kvm_lapic;
struct kvm_vcpu;
void kvm_apic_send_ipi(struct kvm_lapic *apic, u32 icr_low, u32 icr_high);
/* Whether @vcpu is a destination of an interrupt sent by @source. */
bool kvm_apic_match_dest(struct kvm_vcpu *vcpu, struct kvm_lapic *source,
			 int shorthand, unsigned int dest, int dest_mode);

/* ssi.c */
void bigiron_ssi_init(struct bigiron_cluster *cl);
void bigiron_ssi_stop(struct bigiron_cluster *cl);
void bigiron_ssi_free(struct bigiron_cluster *cl);
u32 bigiron_ssi_window(const struct bigiron_cluster *cl);
u32 bigiron_ssi_out(const struct bigiron_peer *pe);
bool bigiron_ssi_hold_msg(struct bigiron_peer *pe);
void bigiron_ssi_unhold_msg(struct bigiron_peer *pe);
void bigiron_ssi_credit_locked(struct bigiron_peer *pe, u32 taken);
void bigiron_ssi_recv(struct bigiron_cluster *cl, u16 node,
		      struct bigiron_rx_msg *m);
void bigiron_ssi_node_down(struct bigiron_cluster *cl, u16 node);

/* eth.c */
void bigiron_eth_mac(const void *priv, const u8 *a, size_t alen,
		     const u8 *b, size_t blen, u8 out[BI_WIRE_MAC_LEN]);
void bigiron_eth_seq_ref(const void *priv, u16 src, u64 *rcv_nxt,
			 u64 *snd_nxt);
void bigiron_eth_xmit(void *priv, u16 node, const u8 *hdr, const u8 *frag,
		      u16 frag_len);
u32 bigiron_eth_frag_size(u32 mtu);
void bigiron_eth_init(struct bigiron_cluster *cl);

/* rdma.c */
struct seq_file;
#if IS_ENABLED(CONFIG_INFINIBAND_ADDR_TRANS)
int bigiron_rdma_check_nodes(const struct bigiron_node_desc *nodes,
			     unsigned int nr);
int bigiron_rdma_attach(struct bigiron_cluster *cl);
void bigiron_rdma_detach(struct bigiron_cluster *cl);
void bigiron_rdma_join(struct bigiron_cluster *cl, unsigned int timeout_ms);
void bigiron_rdma_xmit(void *priv, u16 node, const u8 *hdr, const u8 *frag,
		       u16 frag_len);
void bigiron_rdma_dbg(struct seq_file *m, struct bigiron_cluster *cl);
void bigiron_rdma_dbg_peer(struct seq_file *m, struct bigiron_peer *pe);
#define BIGIRON_HAVE_RDMA	1
#else
static inline int bigiron_rdma_check_nodes(const struct bigiron_node_desc *n,
					   unsigned int nr)
{
	return -EOPNOTSUPP;
}

static inline int bigiron_rdma_attach(struct bigiron_cluster *cl)
{
	return -EOPNOTSUPP;
}

static inline void bigiron_rdma_detach(struct bigiron_cluster *cl) {}
static inline void bigiron_rdma_join(struct bigiron_cluster *cl,
				     unsigned int timeout_ms) {}
static inline void bigiron_rdma_xmit(void *priv, u16 node, const u8 *hdr,
				     const u8 *frag, u16 frag_len) {}
static inline void bigiron_rdma_dbg(struct seq_file *m,
				    struct bigiron_cluster *cl) {}
static inline void bigiron_rdma_dbg_peer(struct seq_file *m,
					 struct bigiron_peer *pe) {}
#define BIGIRON_HAVE_RDMA	0
#endif

#endif /* _BIGIRON_CLUSTER_H */
