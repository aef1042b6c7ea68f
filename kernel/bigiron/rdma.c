// SPDX-License-Identifier: GPL-2.0
/*
 * The RDMA transport: the same wire.h frames as the Ethernet transport,
 * each one RDMA SEND on a reliable-connected queue pair, one QP per pair
 * of nodes, set up with the kernel's RDMA connection manager.
 *
 * Everything above the transport is unchanged: the link (link.c) still
 * numbers, acknowledges and authenticates every frame with the cluster
 * key, and a frame that fails bi_wire_decode() is dropped and counted as
 * on Ethernet; the fabric is not trusted more than a wire.  A frame
 * carries a whole page (no fragments), and the QP delivers in order and
 * retransmits by itself, so the link's own retransmissions only run when
 * the transport had to drop a frame (no connection, no credit, no send
 * slot) or the connection broke.
 *
 * Connections: every node listens on its address and port; of two nodes,
 * the one with the lower id connects, with a private-data block naming
 * the cluster and both node ids under the cluster key's MAC.  The
 * listener takes a request only with a valid MAC, for this cluster, from
 * a lower node id than its own, carrying that node's configured address
 * (which the fabric does not authenticate: a hint against mistakes).  A
 * recorded request can be sent again, so a request still proves less
 * than a frame: a connection is "proven" once a frame on it passed
 * bi_wire_decode() as the node's, and a request for a node whose
 * connection is proven and alive is refused, so a replayed request can
 * never displace a working connection; it can only take the place of an
 * unproven one, where its frames fail the MAC.  A node that started
 * again gets its connection
 * once the old one has failed (its heartbeats find the QP dead within a
 * second).  The connecting side tries again every BIGIRON_RDMA_RETRY_MS
 * until the deadline JOIN gave, and after it for as long as the link to
 * the node lives.
 *
 * Buffers: each connection posts BIGIRON_RDMA_RX receive buffers and has
 * BIGIRON_RDMA_TX send buffers, each a header slot and a page (two
 * scatter/gather entries: a frame lands with its header in the slot and
 * its payload in the page), allocated and DMA-mapped when the connection
 * is made and used with the protection domain's local DMA key; a receive
 * buffer whose page goes on with a message gets a new page, mapped then
 * (below).  Sending copies the frame's header into a free
 * send buffer: link.c calls the transport under the peer lock, so it
 * cannot sleep or wait for a slot; with no free slot the frame is
 * dropped, counted and left to the link's retransmission.
 *
 * Page data: a payload of BIGIRON_RDMA_PAGE_MIN bytes or more lies in a
 * slot of the link's send window (bigiron_peer.win_pages), which stays
 * unchanged until the peer acknowledges the message, and the connection
 * maps the window's pages once.  rdma_pages says how it travels:
 *  - "send" (the default): the SEND's second scatter/gather entry is the
 *    window's page itself, so nothing is copied into a send buffer (a
 *    copy the link sends again may leave after the first one's ack freed
 *    the slot for the next message: it then fails the MAC at the
 *    receiver, counted bad_mac, and nothing wrong is delivered);
 *  - "read": the connection also registers the window's pages (fast
 *    registration, remote read only, on the connection's own protection
 *    domain, so only that peer's QP can use the key, and only once a
 *    frame proved the connection), the SEND carries the header and where
 *    the payload is (struct bigiron_rdma_desc), and the receiver reads it
 *    with RDMA READ straight into the receive buffer's page;
 *  - "copy": copied into the send buffer's page.
 * For "read", the frame is checked after its READ as any other: the MAC
 * covers the payload, so bytes from a reused slot fail like a forged
 * frame (an address outside the registration fails the READ, and the
 * connection ends).  The link acknowledges a message only once it is
 * delivered, after its READ, so the slot cannot be reused under a READ of
 * a frame that is not a duplicate; a descriptor whose sequence number is
 * already delivered (old_seq, an ack owed, on a proven connection) or being read
 * (dup_unread) is dropped unread.  Frames are delivered in the order they
 * arrived: a frame that comes in while an earlier one is being read waits
 * for it.  READ depths of 0, iWARP or a device without fast registration
 * make "read" a "send".  The registration ends with the connection.
 *
 * Credits: a sender never overruns its receiver.  Every SEND carries in
 * its immediate data the number of receive buffers its sender has posted
 * so far for this connection (a running count, its low 31 bits; the top
 * bit marks a descriptor); a node may send
 * while the peer's count exceeds its own count of SENDs.  One credit and
 * one send buffer are kept back for a SEND with no frame that only
 * returns credits, sent when at most half of what the peer was last told
 * is left unused, checked at every receive and send completion and when
 * the connection comes up.  A count that
 * goes backwards or grants more than BIGIRON_RDMA_RX is dropped and
 * counted (bad_credit); the receiver-not-ready retry of the QP is the
 * backstop, so a wrong count delays frames and never loses one.
 *
 * Completions run in softirq (IB_POLL_SOFTIRQ), like the Ethernet receive
 * handler: a received frame is decoded in its DMA buffer, handed to the
 * peer and the buffer posted again.  bigiron_peer_rx() copies what it
 * keeps, but a coherence message's page payload: the message takes the
 * buffer's page, which gets a new one, so a page is copied once on its
 * way into guest memory (bigiron_dsm_copy_in(), after the MAC and the
 * protocol have accepted it; a READ straight into the guest's folio would
 * write bytes nothing has checked yet).  A completion in error, a
 * DISCONNECTED or a DEVICE_REMOVAL event ends the connection: the peer's
 * frames are then dropped until the link declares it dead, as when an
 * Ethernet peer stops answering.
 *
 * Locking, outermost first: the rdma_cm handler of an id (its
 * handler_mutex), then bigiron_rdma.lock (the connection table) or
 * bigiron_rconn.mutex (a connection's resources, never taken under
 * bigiron_rdma.lock), then the peer lock (pe->rconn and a connection's
 * counters are used under it).  rdma_destroy_id() runs only from the
 * ordered workqueue and at teardown, never under these locks; a failed
 * setup, and DEVICE_REMOVAL as the connection manager requires, release
 * a connection's resources from its id's handler.
 *
 * Memory: buffers, queues and connection state are charged to the memory
 * cgroup of the task that made the node instance (SET_CLUSTER), whatever
 * context allocates them.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/algapi.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/inet.h>
#include <linux/jiffies.h>
#include <linux/kref.h>
#include <linux/lockdep.h>
#include <linux/memcontrol.h>
#include <linux/nsproxy.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <rdma/ib_cm.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_cm.h>

#include "cluster.h"

/* How page payloads travel (rdma_pages); see "Page data" above. */
enum bigiron_rdma_pages {
	BIGIRON_PAGES_COPY,	/* copied into a send buffer */
	BIGIRON_PAGES_SEND,	/* sent from the send window's page */
	BIGIRON_PAGES_READ,	/* read by the receiver from that page */
};

static const char * const bigiron_rdma_pages_names[] = {
	[BIGIRON_PAGES_COPY] = "copy",
	[BIGIRON_PAGES_SEND] = "send",
	[BIGIRON_PAGES_READ] = "read",
};

static int rdma_pages = BIGIRON_PAGES_SEND;

static int bigiron_rdma_pages_set(const char *val,
				  const struct kernel_param *kp)
{
	int i = sysfs_match_string(bigiron_rdma_pages_names, val);

	if (i < 0)
		return -EINVAL;
	WRITE_ONCE(*(int *)kp->arg, i);
	return 0;
}

static int bigiron_rdma_pages_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%s\n",
			 bigiron_rdma_pages_names[READ_ONCE(*(int *)kp->arg)]);
}

static const struct kernel_param_ops bigiron_rdma_pages_ops = {
	.set = bigiron_rdma_pages_set,
	.get = bigiron_rdma_pages_get,
};

module_param_cb(rdma_pages, &bigiron_rdma_pages_ops, &rdma_pages, 0644);
MODULE_PARM_DESC(rdma_pages,
		 "RDMA transport: how page payloads this node sends travel: send (SENT from the link's send window, no copy; default), read (the receiver reads them there with RDMA READ), copy (copied into a send buffer); taken when a connection is made");

/* Receive buffers a connection posts, and send buffers it has. */
#define BIGIRON_RDMA_RX		64
#define BIGIRON_RDMA_TX		64
/* A payload fits one page of a buffer. */
static_assert(BI_PAGE_SIZE <= PAGE_SIZE);

/* Where a payload the receiver reads is: a SEND's bytes after the header. */
struct bigiron_rdma_desc {
	__be64 addr;
	__be32 rkey;
	__be32 len;
};

/* Payloads of this many bytes or more go by rdma_pages, not copied. */
#define BIGIRON_RDMA_PAGE_MIN	512
/* RDMA READs a QP has outstanding toward its peer, at most. */
#define BIGIRON_RDMA_READS	16
/*
 * Immediate data: the running count of posted receive buffers (31 bits,
 * compared modulo 2^31), and whether the SEND is a header and a
 * descriptor whose payload the receiver reads.
 */
#define BIGIRON_RDMA_IMM_READ	BIT(31)
#define BIGIRON_RDMA_IMM_COUNT	(BIT(31) - 1)
/*
 * The header slots of a connection, receive slots then send slots, one
 * per DMA cache line at least: the device writes the receive slots while
 * the CPU writes the send slots, and on a CPU without coherent DMA two
 * slots in one line would overwrite each other's bytes when synced.  A
 * send slot holds a header and a descriptor.
 */
#define BIGIRON_RDMA_SLOT	ALIGN(BI_WIRE_HDR_LEN + \
				      sizeof(struct bigiron_rdma_desc), \
				      ARCH_DMA_MINALIGN)
#define BIGIRON_RDMA_HDRS	((BIGIRON_RDMA_RX + BIGIRON_RDMA_TX) * \
				 BIGIRON_RDMA_SLOT)
/* Connecting side: wait between attempts, and each step's limit. */
#define BIGIRON_RDMA_RETRY_MS	500
#define BIGIRON_RDMA_RESOLVE_MS	2000
/*
 * ACK timeout of the QPs, 4.096 us << 14 = 67 ms: a lost packet costs
 * that much before the QP sends it again.  The connection manager's
 * default follows the path's packet lifetime (about a second on RoCE),
 * longer than the link's retransmission timeouts together tolerate on a
 * lossy link.
 */
#define BIGIRON_RDMA_ACK_TIMEOUT	14
/* Private data of a connection request. */
#define BIGIRON_RDMA_MAGIC	0x62697264	/* "bird" */
/*
 * What a request's version names: the wire version, and this transport's
 * own framing (1: descriptors and READs, credits in 31 bits).
 */
#define BIGIRON_RDMA_VERSION	(BI_WIRE_VERSION | 1 << 16)

/*
 * Private data of a connection request (40 of the 56 bytes rdma_cm
 * carries): @mac is the cluster key's MAC of everything before it, so
 * only a node with the key can ask for a connection; @nonce makes each
 * request's MAC different (a recorded request can be sent again: it then
 * competes only for a node without a proven connection).
 */
struct bigiron_rdma_req {
	__be32 magic;
	__be32 cluster;
	__be16 src;
	__be16 dst;
	__be32 version;
	__be64 nonce;
	u8 mac[BI_WIRE_MAC_LEN];
};

#define BIGIRON_RDMA_REQ_MACD	offsetof(struct bigiron_rdma_req, mac)

static void bigiron_rdma_req_mac(const struct bigiron_cluster *cl,
				 const struct bigiron_rdma_req *req,
				 u8 out[BI_WIRE_MAC_LEN])
{
	bigiron_eth_mac(&cl->mac_key, (const u8 *)req, BIGIRON_RDMA_REQ_MACD,
			NULL, 0, out);
}

enum bigiron_rdma_kind { BIGIRON_RDMA_LISTENER, BIGIRON_RDMA_CONN };

/* What a received buffer holds, once its completion came. */
enum bigiron_rbuf_act {
	BIGIRON_RBUF_SKIP,	/* nothing to deliver (dropped, or credits) */
	BIGIRON_RBUF_FRAME,	/* a frame of @len bytes */
	BIGIRON_RBUF_READING,	/* its payload is being read */
};

/*
 * One buffer: a header slot in the connection's header area (@hdr, at
 * @hdr_dma) and a page (@page, mapped at @dma while @mapped).  A receive
 * buffer's @act, @len and @seq (the frame's, while it is being read) are
 * set by its completion (and its READ's, @read_cqe), in the completion
 * queue's context.
 */
struct bigiron_rbuf {
	struct ib_cqe cqe;
	struct ib_cqe read_cqe;
	struct bigiron_rconn *conn;
	u8 *hdr;
	u64 hdr_dma;
	struct page *page;
	u64 dma;
	bool mapped;
	u8 act;
	u32 len;
	u32 seq;
};

/**
 * struct bigiron_rconn - one queue pair to a peer
 * @kind: BIGIRON_RDMA_CONN (the id's context)
 * @rd: the transport
 * @node: the peer
 * @active: this node connected (lower id)
 * @mutex: serializes the creation and destruction of the resources
 * @id: the connection's id; NULL once taken for destruction
 * @pd: protection domain, on @id's device
 * @cq: completion queue of both directions, polled in softirq
 * @has_qp: @id has its QP
 * @rx: BIGIRON_RDMA_RX receive buffers
 * @tx: BIGIRON_RDMA_TX send buffers
 * @hdrs: their header slots, BIGIRON_RDMA_HDRS bytes
 * @hdrs_dma: where @hdrs is mapped (both directions)
 * @hdrs_mapped: @hdrs is mapped
 * @pages: how page payloads go to the peer (enum bigiron_rdma_pages),
 *	fixed when the connection is made
 * @mr: registration of the peer's send window pages for its READs ("read"
 *	only); usable from @reg_posted on
 * @win_sg: those pages
 * @win_mapped: how many of @win_sg are mapped, from the first
 * @reg_cqe: completion of the registration
 * @reg_posted: the registration is posted ahead of every SEND
 * @reads_ok: both ends may have READs outstanding, as the connection was
 *	made (from its id's handler, before the registration is posted)
 * @order: received buffers in arrival order (completion queue context)
 * @order_head: the oldest not delivered
 * @order_tail: where the next one goes
 * @reads: READs posted (atomic: read for debugfs)
 * @tx_window: payloads sent straight from the send window
 * @rx_handed: page payloads handed on with their page
 * @ref: the release's reference, and a DEVICE_REMOVAL handler's
 * @proven: a frame on it passed bi_wire_decode() as @node's (WRITE_ONCE)
 * @dead: ended: receives are not posted again (under the peer lock)
 * @failed: ended; @release queued (under bigiron_rdma.lock)
 * @fail: ends it from bigiron_rdma.wq after a completion in error
 * @release: destroys it from bigiron_rdma.wq
 * Under the peer lock once published (pe->rconn):
 * @tx_head: send buffers used so far (the next is @tx_head % TX)
 * @tx_done: send completions so far
 * @sent: SENDs posted so far, credit messages included
 * @posted: receive buffers posted so far
 * @told: @posted as the peer was last told
 * @rcvd: SENDs received so far
 * @peer_posted: the peer's @posted, as its last SEND said
 */
struct bigiron_rconn {
	enum bigiron_rdma_kind kind;
	struct bigiron_rdma *rd;
	u16 node;
	bool active;
	struct mutex mutex;	/* see above */
	struct rdma_cm_id *id;
	struct ib_pd *pd;
	struct ib_cq *cq;
	bool has_qp;
	struct bigiron_rbuf rx[BIGIRON_RDMA_RX];
	struct bigiron_rbuf tx[BIGIRON_RDMA_TX];
	u8 *hdrs;
	u64 hdrs_dma;
	bool hdrs_mapped;
	u8 pages;
	struct ib_mr *mr;
	struct scatterlist win_sg[BIGIRON_PEER_WINDOW];
	unsigned int win_mapped;
	struct ib_cqe reg_cqe;
	bool reg_posted;
	bool reads_ok;
	struct bigiron_rbuf *order[BIGIRON_RDMA_RX];
	u32 order_head;
	u32 order_tail;
	atomic64_t reads;
	atomic64_t tx_window;
	atomic64_t rx_handed;
	struct kref ref;
	bool proven;
	bool dead;
	bool failed;
	struct work_struct fail;
	struct work_struct release;
	u32 tx_head;
	u32 tx_done;
	u32 sent;
	u32 posted;
	u32 told;
	u32 rcvd;
	u32 peer_posted;
};

/**
 * struct bigiron_rdma - the RDMA transport of a node instance
 * @kind: BIGIRON_RDMA_LISTENER (the listening id's context)
 * @cl: the node instance
 * @net: network namespace of the ids, referenced
 * @memcg: memory cgroup everything is charged to, referenced (or NULL)
 * @lock: protects @listen, @listen_gone, @cur, @stopping and @deadline
 * @listen: the listening id, NULL once gone
 * @listen_gone: its device went away before it was published
 * @port: its port on that device
 * @cur: the connection to each node, NULL when there is none
 * @stopping: teardown started: nothing is connected or accepted
 * @deadline: jiffies until which the connecting side tries again
 * @connect: per node, the next connection attempt
 * @wq: ordered; connection attempts and releases run on it
 * @eh: port events of the listener's device, registered while @eh_on
 * @eh_on: @eh is registered (under @lock)
 * @port_work: a port of the device went down: every connection ends
 * @connects: connections this node started
 * @accepts: connection requests it accepted
 * @refused: connection requests it refused
 * @failures: connections that ended with a completion in error
 * @port_errors: port or device errors the device reported
 */
struct bigiron_rdma {
	enum bigiron_rdma_kind kind;
	struct bigiron_cluster *cl;
	struct net *net;
	struct mem_cgroup *memcg;
	struct mutex lock;	/* see above */
	struct rdma_cm_id *listen;
	bool listen_gone;
	u32 port;
	struct bigiron_rconn *cur[BIGIRON_MAX_NODES];
	bool stopping;
	unsigned long deadline;
	struct bigiron_rdma_node {
		struct bigiron_rdma *rd;
		u16 node;
		struct delayed_work work;
	} connect[BIGIRON_MAX_NODES];
	struct workqueue_struct *wq;
	struct ib_event_handler eh;
	bool eh_on;
	struct work_struct port_work;
	atomic64_t connects;
	atomic64_t accepts;
	atomic64_t refused;
	atomic64_t failures;
	atomic64_t port_errors;
};

static void bigiron_rdma_addr(const struct bigiron_node_desc *n,
			      struct sockaddr_storage *ss)
{
	const struct in6_addr *a6 = (const struct in6_addr *)n->addr;

	memset(ss, 0, sizeof(*ss));
	if (ipv6_addr_v4mapped(a6)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = a6->s6_addr32[3];
		sin->sin_port = htons(n->port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = *a6;
		sin6->sin6_port = htons(n->port);
	}
}

/* Whether @sa is node @n's address (the port is the peer's own choice). */
static bool bigiron_rdma_addr_is(const struct sockaddr *sa,
				 const struct bigiron_node_desc *n)
{
	const struct in6_addr *a6 = (const struct in6_addr *)n->addr;

	if (sa->sa_family == AF_INET)
		return ipv6_addr_v4mapped(a6) &&
		       ((const struct sockaddr_in *)sa)->sin_addr.s_addr ==
		       a6->s6_addr32[3];
	if (sa->sa_family == AF_INET6)
		return ipv6_addr_equal(&((const struct sockaddr_in6 *)sa)->sin6_addr,
				       a6);
	return false;
}

/**
 * bigiron_rdma_check_nodes - the RDMA fields of a node table
 * @nodes: the table
 * @nr: its entries
 *
 * Return: 0, or -EINVAL: a MAC set, a port of 0, an unspecified or
 * multicast address, or two nodes with the same address and port.
 */
int bigiron_rdma_check_nodes(const struct bigiron_node_desc *nodes,
			     unsigned int nr)
{
	unsigned int i, j;

	for (i = 0; i < nr; i++) {
		const struct in6_addr *a = (const void *)nodes[i].addr;

		if (!is_zero_ether_addr(nodes[i].mac) || !nodes[i].port)
			return -EINVAL;
		/* no scope: a link-local address cannot be reached */
		if (ipv6_addr_any(a) || ipv6_addr_is_multicast(a) ||
		    (ipv6_addr_type(a) & IPV6_ADDR_LINKLOCAL))
			return -EINVAL;
		if (ipv6_addr_v4mapped(a) &&
		    (!a->s6_addr32[3] ||
		     ipv4_is_multicast(a->s6_addr32[3]) ||
		     ipv4_is_lbcast(a->s6_addr32[3])))
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (nodes[i].port == nodes[j].port &&
			    !memcmp(nodes[i].addr, nodes[j].addr, 16))
				return -EINVAL;
	}
	return 0;
}

/* ---- the data path (softirq, or process context with BHs off) ---------- */

static struct bigiron_peer *bigiron_rconn_peer(struct bigiron_rconn *c)
{
	return c->rd->cl->peers[c->node];
}

static void bigiron_rconn_fail(struct bigiron_rconn *c);
static void bigiron_rconn_fail_work(struct work_struct *work);

/*
 * A work request of @what kind completed in error: the connection ends.
 * Flushed ones (the connection is being drained) are not worth a line.
 */
static void bigiron_rconn_wc_failed(struct bigiron_rconn *c,
				    const struct ib_wc *wc, const char *what)
{
	if (wc->status != IB_WC_WR_FLUSH_ERR)
		pr_info_ratelimited("vm%u: node %u: RDMA %s failed: %s\n",
				    c->rd->cl->vm->id, c->node, what,
				    ib_wc_status_msg(wc->status));
	bigiron_rconn_fail(c);
}

/*
 * Post one SEND from the next send buffer, which the caller filled: no
 * @frame for a credit message; else a header in the slot and @plen
 * payload bytes at @pdma (the buffer's page, or a page of the send
 * window), or with @desc a header and a descriptor, both in the slot.
 * Under the peer lock.
 */
static int bigiron_rconn_post_send(struct bigiron_rconn *c,
				   struct bigiron_rbuf *b, bool frame,
				   u64 pdma, u32 plen, bool desc)
{
	struct ib_device *dev = c->id->device;
	u32 hlen = BI_WIRE_HDR_LEN +
		   (desc ? sizeof(struct bigiron_rdma_desc) : 0);
	struct ib_sge sge[2] = {
		{
			.addr = b->hdr_dma,
			.length = hlen,
			.lkey = c->pd->local_dma_lkey,
		}, {
			.addr = pdma,
			.length = plen,
			.lkey = c->pd->local_dma_lkey,
		},
	};
	struct ib_send_wr wr = {
		.wr_cqe = &b->cqe,
		.sg_list = frame ? sge : NULL,
		.num_sge = !frame ? 0 : plen ? 2 : 1,
		.opcode = IB_WR_SEND_WITH_IMM,
		.send_flags = IB_SEND_SIGNALED,
		.ex.imm_data = cpu_to_be32((c->posted & BIGIRON_RDMA_IMM_COUNT) |
					   (desc ? BIGIRON_RDMA_IMM_READ : 0)),
	};
	int err;

	if (frame)
		ib_dma_sync_single_for_device(dev, b->hdr_dma, hlen,
					      DMA_BIDIRECTIONAL);
	if (plen)
		ib_dma_sync_single_for_device(dev, pdma, plen, DMA_TO_DEVICE);
	err = ib_post_send(c->id->qp, &wr, NULL);
	if (err)
		return err;
	c->tx_head++;
	c->sent++;
	c->told = c->posted;
	return 0;
}

/* Credits left toward the peer: buffers it posted that no SEND used. */
static u32 bigiron_rconn_credits(const struct bigiron_rconn *c)
{
	return c->peer_posted - c->sent;
}

/*
 * A free send buffer, keeping @keep of them for credit messages:
 * completions trail the posts by less than BIGIRON_RDMA_TX.
 */
static struct bigiron_rbuf *bigiron_rconn_tx_slot(struct bigiron_rconn *c,
						  u32 keep)
{
	if (c->tx_head - c->tx_done >= BIGIRON_RDMA_TX - keep)
		return NULL;
	return &c->tx[c->tx_head % BIGIRON_RDMA_TX];
}

/*
 * Return credits when the peer has used half of what it was last told
 * and could run short; one credit is kept for this.  Under the peer lock.
 */
static void bigiron_rconn_maybe_credit(struct bigiron_rconn *c)
{
	struct bigiron_rbuf *b;

	if (c->posted == c->told ||
	    c->told - c->rcvd > BIGIRON_RDMA_RX / 2)
		return;
	lockdep_assert_held(&bigiron_rconn_peer(c)->lock);

	if (!bigiron_rconn_credits(c))
		return;
	b = bigiron_rconn_tx_slot(c, 0);
	if (!b)
		return;
	if (bigiron_rconn_post_send(c, b, false, 0, 0, false))
		bigiron_peer_count_drop_locked(bigiron_rconn_peer(c),
					       BIGIRON_DROP_TX_ERR);
}

/*
 * Which slot of @pe's send window @frag is the payload of (the slot of
 * the frame's seq, link.c's), or -1.
 */
static int bigiron_rconn_win_slot(struct bigiron_peer *pe, const u8 *hdr,
				  const u8 *frag)
{
	int i = bi_wire_peek_seq(hdr) & (BIGIRON_PEER_WINDOW - 1);

	return pe->win[i].data == frag ? i : -1;
}

/* link.c's ops->xmit for the RDMA transport: under the peer lock. */
void bigiron_rdma_xmit(void *priv, u16 node, const u8 *hdr, const u8 *frag,
		       u16 frag_len)
{
	struct bigiron_cluster *cl = priv;
	struct bigiron_peer *pe = cl->peers[node];
	struct bigiron_rconn *c = pe->rconn;
	struct bigiron_rbuf *b;
	int i, err;

	lockdep_assert_held(&pe->lock);

	if (cl->detached) {
		bigiron_peer_count_drop_locked(pe, BIGIRON_DROP_STOPPED);
		return;
	}
	if (!c) {
		bigiron_peer_count_drop_locked(pe, BIGIRON_DROP_NO_CONN);
		return;
	}
	/* the last credit is for returning credits */
	if (bigiron_rconn_credits(c) < 2) {
		bigiron_peer_count_drop_locked(pe, BIGIRON_DROP_NO_CREDIT);
		return;
	}
	b = bigiron_rconn_tx_slot(c, 1);
	if (!b) {
		bigiron_peer_count_drop_locked(pe, BIGIRON_DROP_TX_NOMEM);
		return;
	}
	memcpy(b->hdr, hdr, BI_WIRE_HDR_LEN);
	i = frag_len >= BIGIRON_RDMA_PAGE_MIN && c->win_mapped ?
	    bigiron_rconn_win_slot(pe, hdr, frag) : -1;
	/* a connection only a frame proved gets the window's key */
	if (i >= 0 && c->reg_posted && READ_ONCE(c->proven)) {
		struct bigiron_rdma_desc *d = (void *)(b->hdr + BI_WIRE_HDR_LEN);

		ib_dma_sync_single_for_device(c->id->device,
					      sg_dma_address(&c->win_sg[i]),
					      frag_len, DMA_TO_DEVICE);
		d->addr = cpu_to_be64(c->mr->iova + (u64)i * PAGE_SIZE);
		d->rkey = cpu_to_be32(c->mr->rkey);
		d->len = cpu_to_be32(frag_len);
		err = bigiron_rconn_post_send(c, b, true, 0, 0, true);
	} else if (i >= 0) {
		err = bigiron_rconn_post_send(c, b, true,
					      sg_dma_address(&c->win_sg[i]),
					      frag_len, false);
		if (!err)
			atomic64_inc(&c->tx_window);
	} else {
		if (frag_len)
			memcpy(page_address(b->page), frag, frag_len);
		err = bigiron_rconn_post_send(c, b, true, b->dma, frag_len,
					      false);
	}
	if (err)
		bigiron_peer_count_drop_locked(pe, BIGIRON_DROP_TX_ERR);
}

static void bigiron_rconn_send_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct bigiron_rbuf *b = container_of(wc->wr_cqe, struct bigiron_rbuf,
					      cqe);
	struct bigiron_rconn *c = b->conn;
	struct bigiron_peer *pe = bigiron_rconn_peer(c);

	spin_lock(&pe->lock);
	c->tx_done++;
	/* a credit message that found no free buffer may go now */
	if (pe->rconn == c)
		bigiron_rconn_maybe_credit(c);
	spin_unlock(&pe->lock);
	if (wc->status != IB_WC_SUCCESS)
		bigiron_rconn_wc_failed(c, wc, "send");
}

static int bigiron_rconn_post_recv(struct bigiron_rconn *c,
				   struct bigiron_rbuf *b)
{
	struct ib_sge sge[2] = {
		{
			.addr = b->hdr_dma,
			.length = BI_WIRE_HDR_LEN,
			.lkey = c->pd->local_dma_lkey,
		}, {
			.addr = b->dma,
			.length = BI_PAGE_SIZE,
			.lkey = c->pd->local_dma_lkey,
		},
	};
	struct ib_recv_wr wr = {
		.wr_cqe = &b->cqe,
		.sg_list = sge,
		.num_sge = 2,
	};

	ib_dma_sync_single_for_device(c->id->device, b->hdr_dma,
				      BI_WIRE_HDR_LEN, DMA_BIDIRECTIONAL);
	ib_dma_sync_single_for_device(c->id->device, b->dma, BI_PAGE_SIZE,
				      DMA_FROM_DEVICE);
	return ib_post_recv(c->id->qp, &wr, NULL);
}

/*
 * The peer's running count of posted buffers, its low 31 bits in @imm,
 * checked.  Peer lock held.
 */
static void bigiron_rconn_credit(struct bigiron_rconn *c, u32 imm)
{
	u32 ahead = (imm - c->peer_posted) & BIGIRON_RDMA_IMM_COUNT;
	u32 posted = c->peer_posted + ahead;

	/* backwards (half the count space), or more than it has */
	if (ahead > BIGIRON_RDMA_IMM_COUNT / 2 ||
	    posted - c->sent > BIGIRON_RDMA_RX) {
		bigiron_peer_count_drop_locked(bigiron_rconn_peer(c),
					       BIGIRON_DROP_BAD_CREDIT);
		return;
	}
	c->peer_posted = posted;
}

/*
 * Hand an authenticated frame to the peer.  A page payload may stay with
 * the message for process context instead of being copied: the buffer
 * then gets a new page (none to be had: the payload is copied).
 */
static void bigiron_rconn_rx(struct bigiron_rconn *c, struct bigiron_rbuf *b,
			     struct bigiron_peer *pe, struct bi_wire_hdr *h,
			     const u8 *frag)
{
	struct ib_device *dev = c->id->device;
	struct mem_cgroup *old;
	struct page *np, *page;
	u64 dma;

	if (b->len != BI_PAGE_SIZE || !bi_wire_type_coh(h->type)) {
		bigiron_peer_rx(pe, h, frag, NULL);
		return;
	}
	old = set_active_memcg(c->rd->memcg);
	np = alloc_page(GFP_NOWAIT | __GFP_ACCOUNT | __GFP_NOWARN);
	set_active_memcg(old);
	if (!np) {
		bigiron_peer_rx(pe, h, frag, NULL);
		return;
	}
	dma = ib_dma_map_page(dev, np, 0, PAGE_SIZE, DMA_FROM_DEVICE);
	if (ib_dma_mapping_error(dev, dma)) {
		__free_page(np);
		bigiron_peer_rx(pe, h, frag, NULL);
		return;
	}
	/* the payload was synced for the CPU; the device lets go of it */
	ib_dma_unmap_page(dev, b->dma, PAGE_SIZE, DMA_FROM_DEVICE);
	page = b->page;
	b->page = np;
	b->dma = dma;
	bigiron_peer_rx(pe, h, frag, &page);
	/* not delivered (a duplicate, or refused): the page is not needed */
	if (page)
		__free_page(page);
	else
		atomic64_inc(&c->rx_handed);
}

/*
 * Deliver a received buffer (it passed its READ, if it had one) and post
 * it again.  Completion queue context, in arrival order.
 */
static void bigiron_rconn_deliver(struct bigiron_rconn *c,
				  struct bigiron_rbuf *b)
{
	struct bigiron_cluster *cl = c->rd->cl;
	struct bigiron_peer *pe = bigiron_rconn_peer(c);
	enum bi_wire_drop why;
	struct bi_wire_hdr h;
	const u8 *frag;

	if (b->act == BIGIRON_RBUF_FRAME) {
		frag = page_address(b->page);
		why = bi_wire_decode_split(&cl->wire, b->hdr, frag, b->len, &h);
		if (why != BI_WIRE_OK) {
			atomic64_inc(&cl->wire_drops[why]);
			pr_info_ratelimited("vm%u: dropped RDMA frame from node %u's connection: %s\n",
					    cl->vm->id, c->node,
					    bi_wire_drop_name(why));
		} else if (h.src != c->node) {
			/* authenticated, but on another node's connection */
			bigiron_peer_count_drop(pe, BIGIRON_DROP_SRC_MAC);
		} else {
			if (!READ_ONCE(c->proven))
				WRITE_ONCE(c->proven, true);
			bigiron_rconn_rx(c, b, pe, &h, frag);
		}
	}

	spin_lock(&pe->lock);
	/* an ended connection is drained: nothing may be posted on it */
	if (c->dead) {
		spin_unlock(&pe->lock);
		return;
	}
	if (bigiron_rconn_post_recv(c, b)) {
		spin_unlock(&pe->lock);
		bigiron_rconn_fail(c);
		return;
	}
	c->posted++;
	if (pe->rconn == c)
		bigiron_rconn_maybe_credit(c);
	spin_unlock(&pe->lock);
}

/* Deliver the received buffers, in order, up to one being read. */
static void bigiron_rconn_drain(struct bigiron_rconn *c)
{
	struct bigiron_rbuf *b;

	while (c->order_head != c->order_tail) {
		b = c->order[c->order_head % BIGIRON_RDMA_RX];
		if (b->act == BIGIRON_RBUF_READING)
			return;
		c->order_head++;
		bigiron_rconn_deliver(c, b);
	}
}

/* A READ for the frame with this (unchecked) seq is in flight. */
static bool bigiron_rconn_reading(struct bigiron_rconn *c, u32 seq)
{
	struct bigiron_rbuf *b;
	u32 i;

	for (i = c->order_head; i != c->order_tail; i++) {
		b = c->order[i % BIGIRON_RDMA_RX];
		if (b->act == BIGIRON_RBUF_READING && b->seq == seq)
			return true;
	}
	return false;
}

/*
 * A header and a descriptor came in @b (@len bytes: the descriptor is at
 * the start of the page): read the payload into the page.  A frame whose
 * seq says it is delivered already, or being read, is a copy the link
 * sent again: its slot may hold another message by the time a READ ran,
 * so it is dropped unread (the first case owes the peer an ack, as the
 * link does for a duplicate).  The seq is unchecked: a wrong one only
 * drops a frame that the link then sends again.  Completion queue
 * context.
 */
static void bigiron_rconn_read(struct bigiron_rconn *c, struct bigiron_rbuf *b,
			       u32 len)
{
	const struct bigiron_rdma_desc *d = page_address(b->page);
	struct bigiron_peer *pe = bigiron_rconn_peer(c);
	struct ib_sge sge;
	struct ib_rdma_wr wr = {};
	u64 rcv_nxt, snd_nxt;
	u32 plen, seq;

	if (len != BI_WIRE_HDR_LEN + sizeof(*d)) {
		bigiron_peer_count_drop(pe, len < BI_WIRE_HDR_LEN + sizeof(*d) ?
					BIGIRON_DROP_SHORT : BIGIRON_DROP_LONG);
		return;
	}
	plen = be32_to_cpu(d->len);
	if (plen > BI_WIRE_MAX_FRAME - BI_WIRE_HDR_LEN || plen > PAGE_SIZE ||
	    !plen) {
		bigiron_peer_count_drop(pe, BIGIRON_DROP_LONG);
		return;
	}
	seq = bi_wire_peek_seq(b->hdr);
	bi_link_seq_ref(&pe->lp, &rcv_nxt, &snd_nxt);
	if ((s32)(seq - (u32)rcv_nxt) < 0) {
		/* an ack only for a connection a frame proved */
		if (READ_ONCE(c->proven))
			bigiron_peer_rx_dup(pe);
		else
			bigiron_peer_count_drop(pe, BIGIRON_DROP_DUP_UNREAD);
		return;
	}
	if (bigiron_rconn_reading(c, seq)) {
		bigiron_peer_count_drop(pe, BIGIRON_DROP_DUP_UNREAD);
		return;
	}
	sge.addr = b->dma;
	sge.length = plen;
	sge.lkey = c->pd->local_dma_lkey;
	wr.wr.wr_cqe = &b->read_cqe;
	wr.wr.sg_list = &sge;
	wr.wr.num_sge = 1;
	wr.wr.opcode = IB_WR_RDMA_READ;
	wr.wr.send_flags = IB_SEND_SIGNALED;
	wr.remote_addr = be64_to_cpu(d->addr);
	wr.rkey = be32_to_cpu(d->rkey);
	ib_dma_sync_single_for_device(c->id->device, b->dma, plen,
				      DMA_FROM_DEVICE);
	if (ib_post_send(c->id->qp, &wr.wr, NULL)) {
		bigiron_rconn_fail(c);
		return;
	}
	atomic64_inc(&c->reads);
	b->seq = seq;
	b->len = plen;
	b->act = BIGIRON_RBUF_READING;
}

static void bigiron_rconn_read_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct bigiron_rbuf *b = container_of(wc->wr_cqe, struct bigiron_rbuf,
					      read_cqe);
	struct bigiron_rconn *c = b->conn;

	if (wc->status != IB_WC_SUCCESS) {
		/* the buffer stays out: the connection ends */
		bigiron_rconn_wc_failed(c, wc, "read");
		return;
	}
	ib_dma_sync_single_for_cpu(c->id->device, b->dma, b->len,
				   DMA_FROM_DEVICE);
	b->act = BIGIRON_RBUF_FRAME;
	bigiron_rconn_drain(c);
}

static void bigiron_rconn_recv_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct bigiron_rbuf *b = container_of(wc->wr_cqe, struct bigiron_rbuf,
					      cqe);
	struct bigiron_rconn *c = b->conn;
	struct bigiron_cluster *cl = c->rd->cl;
	struct bigiron_peer *pe = bigiron_rconn_peer(c);
	bool imm = wc->opcode == IB_WC_RECV &&
		   (wc->wc_flags & IB_WC_WITH_IMM);
	u32 len = wc->byte_len, v = 0;

	if (wc->status != IB_WC_SUCCESS) {
		bigiron_rconn_wc_failed(c, wc, "receive");
		return;
	}
	ib_dma_sync_single_for_cpu(c->id->device, b->hdr_dma, BI_WIRE_HDR_LEN,
				   DMA_BIDIRECTIONAL);
	if (len > BI_WIRE_HDR_LEN)
		ib_dma_sync_single_for_cpu(c->id->device, b->dma,
					   min_t(u32, len - BI_WIRE_HDR_LEN,
						 BI_PAGE_SIZE),
					   DMA_FROM_DEVICE);
	if (imm)
		v = be32_to_cpu(wc->ex.imm_data);

	spin_lock(&pe->lock);
	c->rcvd++;
	if (imm)
		bigiron_rconn_credit(c, v & BIGIRON_RDMA_IMM_COUNT);
	spin_unlock(&pe->lock);

	b->act = BIGIRON_RBUF_SKIP;
	if (!imm) {
		bigiron_peer_count_drop(pe, BIGIRON_DROP_SHORT);
	} else if (!len) {
		/* a credit message: nothing else in it */
	} else if (len < BI_WIRE_HDR_LEN) {
		atomic64_inc(&cl->drops[BIGIRON_DROP_SHORT]);
	} else if (v & BIGIRON_RDMA_IMM_READ) {
		bigiron_rconn_read(c, b, len);
	} else if (len > BI_WIRE_MAX_FRAME) {
		/* the QP refuses a SEND longer than what was posted */
		atomic64_inc(&cl->drops[BIGIRON_DROP_LONG]);
	} else {
		b->act = BIGIRON_RBUF_FRAME;
		b->len = len - BI_WIRE_HDR_LEN;
	}
	/* at most BIGIRON_RDMA_RX buffers are out of the receive queue */
	c->order[c->order_tail++ % BIGIRON_RDMA_RX] = b;
	bigiron_rconn_drain(c);
}

/* ---- connection resources (process context) --------------------------- */

static void bigiron_rconn_unmap_buf(struct bigiron_rconn *c,
				    struct bigiron_rbuf *b,
				    enum dma_data_direction dir)
{
	if (b->mapped)
		ib_dma_unmap_page(c->id->device, b->dma, PAGE_SIZE, dir);
	b->mapped = false;
	if (b->page)
		__free_page(b->page);
	b->page = NULL;
}

static void bigiron_rconn_unmap(struct bigiron_rconn *c)
{
	unsigned int i;

	for (i = 0; i < BIGIRON_RDMA_RX; i++)
		bigiron_rconn_unmap_buf(c, &c->rx[i], DMA_FROM_DEVICE);
	for (i = 0; i < BIGIRON_RDMA_TX; i++)
		bigiron_rconn_unmap_buf(c, &c->tx[i], DMA_TO_DEVICE);
	if (c->hdrs_mapped)
		ib_dma_unmap_single(c->id->device, c->hdrs_dma,
				    BIGIRON_RDMA_HDRS, DMA_BIDIRECTIONAL);
	c->hdrs_mapped = false;
	/* the QP is gone: nothing can use the key any more */
	if (c->mr)
		ib_dereg_mr(c->mr);
	c->mr = NULL;
	for (i = 0; i < c->win_mapped; i++)
		ib_dma_unmap_page(c->id->device, sg_dma_address(&c->win_sg[i]),
				  PAGE_SIZE, DMA_TO_DEVICE);
	c->win_mapped = 0;
	kfree(c->hdrs);
	c->hdrs = NULL;
}

/* Tear down what bigiron_rconn_setup() made.  Under c->mutex. */
static void bigiron_rconn_teardown(struct bigiron_rconn *c)
{
	lockdep_assert_held(&c->mutex);

	if (c->has_qp) {
		ib_drain_qp(c->id->qp);
		rdma_destroy_qp(c->id);
		c->has_qp = false;
	}
	if (c->cq) {
		ib_free_cq(c->cq);
		c->cq = NULL;
	}
	if (c->id && c->pd)
		bigiron_rconn_unmap(c);
	if (c->pd) {
		ib_dealloc_pd(c->pd);
		c->pd = NULL;
	}
}

/* Buffer @i of the header area: its slot and a page, mapped for @dir. */
static int bigiron_rconn_map(struct bigiron_rconn *c, struct bigiron_rbuf *b,
			     unsigned int i, enum dma_data_direction dir,
			     void (*done)(struct ib_cq *, struct ib_wc *))
{
	struct ib_device *dev = c->id->device;

	b->conn = c;
	b->cqe.done = done;
	b->read_cqe.done = bigiron_rconn_read_done;
	b->hdr = c->hdrs + i * BIGIRON_RDMA_SLOT;
	b->hdr_dma = c->hdrs_dma + i * BIGIRON_RDMA_SLOT;
	b->page = alloc_page(GFP_KERNEL_ACCOUNT);
	if (!b->page)
		return -ENOMEM;
	b->dma = ib_dma_map_page(dev, b->page, 0, PAGE_SIZE, dir);
	if (ib_dma_mapping_error(dev, b->dma))
		return -ENOMEM;
	b->mapped = true;
	return 0;
}

/*
 * The id has a device (its address or route resolved, or a request came
 * in on it): protection domain, completion queue, QP, buffers, receives
 * posted.  Under c->mutex; c->mutex's caller is the id's handler.
 */
static int bigiron_rconn_setup_charged(struct bigiron_rconn *c,
				       struct ib_device *dev);

static int bigiron_rconn_setup(struct bigiron_rconn *c)
{
	struct ib_device *dev = c->id->device;
	struct mem_cgroup *old;
	int err;

	lockdep_assert_held(&c->mutex);

	old = set_active_memcg(c->rd->memcg);
	err = bigiron_rconn_setup_charged(c, dev);
	set_active_memcg(old);
	return err;
}

static void bigiron_rconn_reg_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct bigiron_rconn *c = container_of(wc->wr_cqe, struct bigiron_rconn,
					       reg_cqe);

	if (wc->status != IB_WC_SUCCESS)
		bigiron_rconn_wc_failed(c, wc, "registration");
}

/*
 * The peer's send window, as rdma_pages says: mapped for SENDs straight
 * from it, and for "read" also laid out in a fast registration, posted
 * once the connection is up.  "read" without fast registration on the
 * device, or on iWARP (a READ's sink needs a registration of its own),
 * sends from the window instead.
 */
static int bigiron_rconn_setup_mr(struct bigiron_rconn *c,
				  struct ib_device *dev)
{
	struct bigiron_peer *pe = bigiron_rconn_peer(c);
	unsigned int i;
	int n;

	c->pages = READ_ONCE(rdma_pages);
	if (c->pages == BIGIRON_PAGES_READ &&
	    (rdma_protocol_iwarp(dev, c->id->port_num) ||
	     !(dev->attrs.device_cap_flags & IB_DEVICE_MEM_MGT_EXTENSIONS) ||
	     dev->attrs.max_fast_reg_page_list_len < BIGIRON_PEER_WINDOW))
		c->pages = BIGIRON_PAGES_SEND;
	if (c->pages == BIGIRON_PAGES_COPY)
		return 0;
	/* page by page: a mapping of the list could merge entries */
	sg_init_table(c->win_sg, BIGIRON_PEER_WINDOW);
	for (i = 0; i < BIGIRON_PEER_WINDOW; i++) {
		sg_set_page(&c->win_sg[i], pe->win_pages[i], PAGE_SIZE, 0);
		sg_dma_address(&c->win_sg[i]) =
			ib_dma_map_page(dev, pe->win_pages[i], 0, PAGE_SIZE,
					DMA_TO_DEVICE);
		if (ib_dma_mapping_error(dev, sg_dma_address(&c->win_sg[i])))
			return -ENOMEM;
		sg_dma_len(&c->win_sg[i]) = PAGE_SIZE;
		c->win_mapped = i + 1;
	}
	if (c->pages != BIGIRON_PAGES_READ)
		return 0;
	c->mr = ib_alloc_mr(c->pd, IB_MR_TYPE_MEM_REG, BIGIRON_PEER_WINDOW);
	if (IS_ERR(c->mr)) {
		n = PTR_ERR(c->mr);
		c->mr = NULL;
		return n;
	}
	n = ib_map_mr_sg(c->mr, c->win_sg, BIGIRON_PEER_WINDOW, NULL,
			 PAGE_SIZE);
	if (n != BIGIRON_PEER_WINDOW)
		return n < 0 ? n : -EINVAL;
	c->reg_cqe.done = bigiron_rconn_reg_done;
	return 0;
}

/*
 * Post the registration ahead of every SEND of the connection, from its
 * id's handler once it is up (the QP takes work requests), under
 * bigiron_rdma.lock before it is published.
 */
static int bigiron_rconn_post_reg(struct bigiron_rconn *c)
{
	struct ib_reg_wr wr = {
		.wr = {
			.opcode = IB_WR_REG_MR,
			.wr_cqe = &c->reg_cqe,
			.send_flags = IB_SEND_SIGNALED,
		},
		.mr = c->mr,
		.key = c->mr->rkey,
		.access = IB_ACCESS_REMOTE_READ,
	};
	int err;

	err = ib_post_send(c->id->qp, &wr.wr, NULL);
	if (!err)
		c->reg_posted = true;
	return err;
}

static int bigiron_rconn_setup_charged(struct bigiron_rconn *c,
				       struct ib_device *dev)
{
	struct ib_qp_init_attr attr = {};
	unsigned int i;
	int err;

	c->pd = ib_alloc_pd(dev, 0);
	if (IS_ERR(c->pd)) {
		err = PTR_ERR(c->pd);
		c->pd = NULL;
		return err;
	}
	err = -ENOMEM;
	c->hdrs = kzalloc(BIGIRON_RDMA_HDRS, GFP_KERNEL_ACCOUNT);
	if (!c->hdrs)
		goto err;
	c->hdrs_dma = ib_dma_map_single(dev, c->hdrs, BIGIRON_RDMA_HDRS,
					DMA_BIDIRECTIONAL);
	if (ib_dma_mapping_error(dev, c->hdrs_dma))
		goto err;
	c->hdrs_mapped = true;
	for (i = 0; i < BIGIRON_RDMA_RX; i++) {
		err = bigiron_rconn_map(c, &c->rx[i], i, DMA_FROM_DEVICE,
					bigiron_rconn_recv_done);
		if (err)
			goto err;
	}
	for (i = 0; i < BIGIRON_RDMA_TX; i++) {
		err = bigiron_rconn_map(c, &c->tx[i], BIGIRON_RDMA_RX + i,
					DMA_TO_DEVICE,
					bigiron_rconn_send_done);
		if (err)
			goto err;
	}
	err = bigiron_rconn_setup_mr(c, dev);
	if (err)
		goto err;
	/*
	 * Send queue: the SENDs, a READ per receive buffer at most, the
	 * registration; one more of each queue for ib_drain_qp().
	 */
	c->cq = ib_alloc_cq(dev, c, 2 * BIGIRON_RDMA_RX + BIGIRON_RDMA_TX + 3,
			    0, IB_POLL_SOFTIRQ);
	if (IS_ERR(c->cq)) {
		err = PTR_ERR(c->cq);
		c->cq = NULL;
		goto err;
	}
	attr.qp_context = c;
	attr.send_cq = c->cq;
	attr.recv_cq = c->cq;
	attr.cap.max_send_wr = BIGIRON_RDMA_TX + BIGIRON_RDMA_RX + 2;
	attr.cap.max_recv_wr = BIGIRON_RDMA_RX + 1;
	attr.cap.max_send_sge = 2;
	attr.cap.max_recv_sge = 2;
	attr.sq_sig_type = IB_SIGNAL_ALL_WR;
	attr.qp_type = IB_QPT_RC;
	err = rdma_create_qp(c->id, c->pd, &attr);
	if (err)
		goto err;
	c->has_qp = true;
	/* nothing is published yet: the counters need no peer lock */
	for (i = 0; i < BIGIRON_RDMA_RX; i++) {
		err = bigiron_rconn_post_recv(c, &c->rx[i]);
		if (err)
			goto err;
		c->posted++;
	}
	/* the peer posts as many: until its first SEND says more */
	c->peer_posted = BIGIRON_RDMA_RX;
	c->told = c->posted;
	return 0;
err:
	bigiron_rconn_teardown(c);
	return err;
}

static void bigiron_rconn_free(struct kref *ref)
{
	kfree(container_of(ref, struct bigiron_rconn, ref));
}

static void bigiron_rconn_release(struct work_struct *work)
{
	struct bigiron_rconn *c = container_of(work, struct bigiron_rconn,
					       release);
	struct rdma_cm_id *id;

	mutex_lock(&c->mutex);
	if (c->id)
		bigiron_rconn_teardown(c);
	id = c->id;
	c->id = NULL;
	mutex_unlock(&c->mutex);
	/* waits for a handler of the id that still runs */
	if (id)
		rdma_destroy_id(id);
	kref_put(&c->ref, bigiron_rconn_free);
}

static struct bigiron_rconn *bigiron_rconn_new(struct bigiron_rdma *rd,
					       u16 node, bool active)
{
	struct mem_cgroup *old = set_active_memcg(rd->memcg);
	struct bigiron_rconn *c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);

	set_active_memcg(old);
	if (!c)
		return NULL;
	kref_init(&c->ref);
	c->kind = BIGIRON_RDMA_CONN;
	c->rd = rd;
	c->node = node;
	c->active = active;
	mutex_init(&c->mutex);
	INIT_WORK(&c->fail, bigiron_rconn_fail_work);
	INIT_WORK(&c->release, bigiron_rconn_release);
	return c;
}

/* Retry a connection of the connecting side later.  Under rd->lock. */
static void bigiron_rdma_retry_locked(struct bigiron_rdma *rd, u16 node)
{
	lockdep_assert_held(&rd->lock);

	/*
	 * Until JOIN's deadline, then for as long as the link lives: a
	 * connection that broke under a live link (a port that went down
	 * and up again) is made again; a dead link stops the attempts
	 * until the next JOIN.
	 */
	if (rd->stopping || node <= rd->cl->self ||
	    (time_after(jiffies, rd->deadline) &&
	     READ_ONCE(rd->cl->peers[node]->state) == BI_LINK_DEAD))
		return;
	queue_delayed_work(rd->wq, &rd->connect[node].work,
			   msecs_to_jiffies(BIGIRON_RDMA_RETRY_MS));
}

/*
 * End a connection: unpublished (the peer's frames are dropped from now
 * until a new one is up or the link declares the peer dead), its
 * resources and id released from the workqueue.  Under rd->lock (process
 * context); once per connection.
 */
static void bigiron_rconn_end(struct bigiron_rconn *c, bool retry)
{
	struct bigiron_rdma *rd = c->rd;
	struct bigiron_peer *pe = bigiron_rconn_peer(c);

	lockdep_assert_held(&rd->lock);

	if (c->failed)
		return;
	c->failed = true;
	if (rd->cur[c->node] == c)
		rd->cur[c->node] = NULL;
	spin_lock_bh(&pe->lock);
	if (pe->rconn == c)
		pe->rconn = NULL;
	c->dead = true;
	spin_unlock_bh(&pe->lock);
	queue_work(rd->wq, &c->release);
	if (retry && c->active)
		bigiron_rdma_retry_locked(rd, c->node);
}

/*
 * A completion in error, in softirq: nothing is sent on the connection
 * any more, and the work ends it.  Only while it is published: the work
 * is then queued before any release of the connection (bigiron_rconn_end()
 * unpublishes it under the same lock before it queues the release), so it
 * runs first on the ordered workqueue.  The flushed completions of a
 * connection being released find it unpublished and do nothing.
 */
static void bigiron_rconn_fail(struct bigiron_rconn *c)
{
	struct bigiron_peer *pe = bigiron_rconn_peer(c);

	spin_lock(&pe->lock);
	if (pe->rconn == c) {
		pe->rconn = NULL;
		c->dead = true;
		atomic64_inc(&c->rd->failures);
		queue_work(c->rd->wq, &c->fail);
	}
	spin_unlock(&pe->lock);
}

static void bigiron_rconn_fail_work(struct work_struct *work)
{
	struct bigiron_rconn *c = container_of(work, struct bigiron_rconn,
					       fail);
	struct bigiron_rdma *rd = c->rd;

	mutex_lock(&rd->lock);
	bigiron_rconn_end(c, true);
	mutex_unlock(&rd->lock);
}

/* ---- device events ---------------------------------------------------- */

static void bigiron_rdma_eh_off_locked(struct bigiron_rdma *rd)
{
	lockdep_assert_held(&rd->lock);

	if (!rd->eh_on)
		return;
	/* waits for a running handler; the handler takes no lock */
	ib_unregister_event_handler(&rd->eh);
	rd->eh_on = false;
}

static void bigiron_rdma_ib_event(struct ib_event_handler *eh,
				  struct ib_event *ev)
{
	struct bigiron_rdma *rd = container_of(eh, struct bigiron_rdma, eh);

	if (ev->event != IB_EVENT_DEVICE_FATAL &&
	    (ev->event != IB_EVENT_PORT_ERR ||
	     ev->element.port_num != rd->port))
		return;
	atomic64_inc(&rd->port_errors);
	queue_work(rd->wq, &rd->port_work);
}

/*
 * The port went down: the connections' QPs would only find out when
 * their retries ran out.  They end now; the connecting side makes them
 * again while the links live, and frames wait for them in the links'
 * send windows meanwhile.
 */
static void bigiron_rdma_port_work(struct work_struct *work)
{
	struct bigiron_rdma *rd = container_of(work, struct bigiron_rdma,
					       port_work);
	unsigned int i;

	mutex_lock(&rd->lock);
	pr_warn_ratelimited("vm%u: RDMA port error: connections end\n",
			    rd->cl->vm->id);
	for (i = 0; i < rd->cl->nr_nodes; i++)
		if (rd->cur[i])
			bigiron_rconn_end(rd->cur[i], true);
	mutex_unlock(&rd->lock);
}

/* ---- connection manager events (process context) ----------------------- */

/*
 * Connection parameters: @req for a request, or the accept of @theirs,
 * whose READ depths bound ours (the connection manager gives them from
 * this side already: its responder_resources are the READs the peer
 * will issue).
 */
static void bigiron_rdma_param(struct rdma_conn_param *p,
			       const struct bigiron_rdma_req *req,
			       const struct ib_device *dev,
			       const struct rdma_conn_param *theirs)
{
	memset(p, 0, sizeof(*p));
	p->private_data = req;
	p->private_data_len = req ? sizeof(*req) : 0;
	/* READs of page payloads, in both directions */
	p->responder_resources = min_t(u32, BIGIRON_RDMA_READS,
				       dev->attrs.max_qp_rd_atom);
	p->initiator_depth = min_t(u32, BIGIRON_RDMA_READS,
				   dev->attrs.max_qp_init_rd_atom);
	if (theirs) {
		p->responder_resources = min(p->responder_resources,
					     theirs->responder_resources);
		p->initiator_depth = min(p->initiator_depth,
					 theirs->initiator_depth);
	}
	p->retry_count = 7;
	/* receiver not ready: retry for ever (credits make it rare) */
	p->rnr_retry_count = 7;
}

/* A connection of ours is up: publish it.  From @id's handler. */
static void bigiron_rconn_established(struct bigiron_rconn *c,
				      struct rdma_cm_id *id)
{
	struct bigiron_rdma *rd = c->rd;
	struct bigiron_peer *pe = bigiron_rconn_peer(c);
	struct bigiron_rconn *old;

	mutex_lock(&rd->lock);
	if (rd->stopping || c->failed) {
		mutex_unlock(&rd->lock);
		return;
	}
	/* c->failed is clear: its release is not queued, the QP is there */
	if (c->mr && c->reads_ok && bigiron_rconn_post_reg(c)) {
		bigiron_rconn_end(c, true);
		mutex_unlock(&rd->lock);
		return;
	}
	old = rd->cur[c->node];
	rd->cur[c->node] = c;
	if (old && old != c)
		bigiron_rconn_end(old, false);
	spin_lock_bh(&pe->lock);
	pe->rconn = c;
	/* credits the peer used before this one knew it was up */
	bigiron_rconn_maybe_credit(c);
	spin_unlock_bh(&pe->lock);
	mutex_unlock(&rd->lock);
	/* @id, not c->id: a release may have taken that already */
	pr_info_ratelimited("vm%u: RDMA connection to node %u up on %s\n",
			    rd->cl->vm->id, c->node, id->device->name);
}

/*
 * A connection request on the listener.  Return: 0, the request is
 * accepted, or refused and its id left to a release; non-zero, the
 * connection manager refuses it and destroys the id.
 */
static int bigiron_rdma_request(struct bigiron_rdma *rd,
				struct rdma_cm_id *id,
				const struct rdma_cm_event *ev)
{
	struct bigiron_cluster *cl = rd->cl;
	const struct bigiron_rdma_req *req = ev->param.conn.private_data;
	struct rdma_conn_param param;
	struct bigiron_rconn *c, *old;
	const char *why = "not for this node";
	u8 mac[BI_WIRE_MAC_LEN];
	u16 src;
	int err;

	if (ev->param.conn.private_data_len < sizeof(*req) || !req ||
	    be32_to_cpu(req->magic) != BIGIRON_RDMA_MAGIC ||
	    be32_to_cpu(req->version) != BIGIRON_RDMA_VERSION ||
	    be32_to_cpu(req->cluster) != cl->id ||
	    be16_to_cpu(req->dst) != cl->self)
		goto refuse;
	why = "bad MAC";
	bigiron_rdma_req_mac(cl, req, mac);
	if (crypto_memneq(mac, req->mac, sizeof(mac)))
		goto refuse;
	why = "not for this node";
	src = be16_to_cpu(req->src);
	if (src >= cl->self ||
	    !bigiron_rdma_addr_is((struct sockaddr *)&id->route.addr.dst_addr,
				  &cl->nodes[src]))
		goto refuse;
	why = "out of memory";
	c = bigiron_rconn_new(rd, src, false);
	if (!c)
		goto refuse;
	if (rdma_set_ack_timeout(id, BIGIRON_RDMA_ACK_TIMEOUT))
		goto refuse_free;
	c->id = id;
	id->context = c;

	mutex_lock(&rd->lock);
	old = rd->cur[src];
	why = "stopping";
	if (rd->stopping)
		goto refuse_unlock;
	/* never a forged request in place of a working connection */
	why = "the node's connection works";
	if (old && READ_ONCE(old->proven))
		goto refuse_unlock;
	if (old)
		bigiron_rconn_end(old, false);
	rd->cur[src] = c;
	mutex_unlock(&rd->lock);

	/* from here a release owns the id: this returns 0 */
	mutex_lock(&c->mutex);
	err = bigiron_rconn_setup(c);
	mutex_unlock(&c->mutex);

	mutex_lock(&rd->lock);
	if (!err && !c->failed) {
		bigiron_rdma_param(&param, NULL, id->device,
				   &ev->param.conn);
		/* the peer may read what this node sends, and the reverse */
		c->reads_ok = param.responder_resources &&
			      param.initiator_depth;
		err = rdma_accept(id, &param);
	}
	if (err || c->failed) {
		bigiron_rconn_end(c, false);
		atomic64_inc(&rd->refused);
	} else {
		atomic64_inc(&rd->accepts);
	}
	mutex_unlock(&rd->lock);
	return 0;

refuse_unlock:
	mutex_unlock(&rd->lock);
refuse_free:
	kfree(c);
refuse:
	atomic64_inc(&rd->refused);
	pr_info_ratelimited("vm%u: RDMA connection request from %pISp refused: %s\n",
			    cl->vm->id, &id->route.addr.dst_addr, why);
	rdma_reject(id, NULL, 0, IB_CM_REJ_CONSUMER_DEFINED);
	return 1;
}

static int bigiron_rdma_listener_event(struct bigiron_rdma *rd,
				       struct rdma_cm_id *id,
				       struct rdma_cm_event *ev)
{
	switch (ev->event) {
	case RDMA_CM_EVENT_CONNECT_REQUEST:
		return bigiron_rdma_request(rd, id, ev);
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		/* the listener's device goes: the listener with it */
		mutex_lock(&rd->lock);
		if (rd->listen != id) {
			/* attach or teardown has it, and destroys it */
			rd->listen_gone = true;
			mutex_unlock(&rd->lock);
			return 0;
		}
		rd->listen = NULL;
		bigiron_rdma_eh_off_locked(rd);
		mutex_unlock(&rd->lock);
		pr_warn("vm%u: the RDMA device of this node went away: no more connections are accepted\n",
			rd->cl->vm->id);
		return 1;
	default:
		return 0;
	}
}

/*
 * The connection's device goes: everything on it must be released before
 * this returns.  Non-zero: the connection manager destroys the id, unless
 * a release took it already (and destroys it when this returns).
 */
static int bigiron_rconn_removed(struct bigiron_rconn *c)
{
	struct bigiron_rdma *rd = c->rd;
	int ret = 0;

	/*
	 * A release that finds the id taken does not wait for this handler:
	 * this reference keeps @c until the handler is done with it.
	 */
	kref_get(&c->ref);
	mutex_lock(&rd->lock);
	bigiron_rconn_end(c, true);
	mutex_unlock(&rd->lock);
	mutex_lock(&c->mutex);
	if (c->id) {
		bigiron_rconn_teardown(c);
		c->id = NULL;
		ret = 1;
	}
	mutex_unlock(&c->mutex);
	kref_put(&c->ref, bigiron_rconn_free);
	return ret;
}

static int bigiron_rconn_event(struct bigiron_rconn *c, struct rdma_cm_id *id,
			       struct rdma_cm_event *ev)
{
	struct bigiron_rdma *rd = c->rd;
	struct bigiron_cluster *cl = rd->cl;
	struct bigiron_rdma_req req;
	struct rdma_conn_param param;
	int err;

	switch (ev->event) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
		err = rdma_resolve_route(id, BIGIRON_RDMA_RESOLVE_MS);
		if (err)
			goto fail;
		return 0;
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
		mutex_lock(&c->mutex);
		err = c->id ? bigiron_rconn_setup(c) : -ENODEV;
		mutex_unlock(&c->mutex);
		if (err)
			goto fail;
		req.magic = cpu_to_be32(BIGIRON_RDMA_MAGIC);
		req.cluster = cpu_to_be32(cl->id);
		req.src = cpu_to_be16(cl->self);
		req.dst = cpu_to_be16(c->node);
		req.version = cpu_to_be32(BIGIRON_RDMA_VERSION);
		req.nonce = cpu_to_be64(get_random_u64());
		bigiron_rdma_req_mac(cl, &req, req.mac);
		bigiron_rdma_param(&param, &req, id->device, NULL);
		err = rdma_connect_locked(id, &param);
		if (err)
			goto fail;
		return 0;
	case RDMA_CM_EVENT_ESTABLISHED:
		/* the depths the peer accepted with */
		if (c->active)
			c->reads_ok = ev->param.conn.initiator_depth &&
				      ev->param.conn.responder_resources;
		bigiron_rconn_established(c, id);
		return 0;
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		pr_warn("vm%u: node %u: the RDMA device went away\n",
			cl->vm->id, c->node);
		return bigiron_rconn_removed(c);
	case RDMA_CM_EVENT_ADDR_ERROR:
	case RDMA_CM_EVENT_ROUTE_ERROR:
	case RDMA_CM_EVENT_CONNECT_ERROR:
	case RDMA_CM_EVENT_UNREACHABLE:
	case RDMA_CM_EVENT_REJECTED:
	case RDMA_CM_EVENT_DISCONNECTED:
	case RDMA_CM_EVENT_ADDR_CHANGE:
		err = ev->status ?: -ECONNRESET;
		goto fail;
	default:
		return 0;
	}
fail:
	pr_debug("vm%u: node %u: RDMA connection: %s: %d\n", cl->vm->id,
		 c->node, rdma_event_msg(ev->event), err);
	mutex_lock(&rd->lock);
	bigiron_rconn_end(c, true);
	mutex_unlock(&rd->lock);
	return 0;
}

static int bigiron_rdma_event(struct rdma_cm_id *id, struct rdma_cm_event *ev)
{
	enum bigiron_rdma_kind *kind = id->context;

	if (*kind == BIGIRON_RDMA_LISTENER)
		return bigiron_rdma_listener_event(id->context, id, ev);
	return bigiron_rconn_event(id->context, id, ev);
}

/* ---- connecting, JOIN, setup and teardown ------------------------------ */

static void bigiron_rdma_connect_work(struct work_struct *work)
{
	struct bigiron_rdma_node *n = container_of(to_delayed_work(work),
						   struct bigiron_rdma_node,
						   work);
	struct bigiron_rdma *rd = n->rd;
	struct bigiron_cluster *cl = rd->cl;
	struct sockaddr_storage src, dst;
	struct bigiron_rconn *c;
	struct rdma_cm_id *id;
	int err;

	mutex_lock(&rd->lock);
	if (rd->stopping || rd->cur[n->node]) {
		mutex_unlock(&rd->lock);
		return;
	}
	c = bigiron_rconn_new(rd, n->node, true);
	if (!c)
		goto retry;
	id = rdma_create_id(rd->net, bigiron_rdma_event, c, RDMA_PS_TCP,
			    IB_QPT_RC);
	if (IS_ERR(id)) {
		kfree(c);
		goto retry;
	}
	/* cannot fail before the QP exists */
	rdma_set_ack_timeout(id, BIGIRON_RDMA_ACK_TIMEOUT);
	c->id = id;
	rd->cur[n->node] = c;
	atomic64_inc(&rd->connects);
	bigiron_rdma_addr(&cl->nodes[cl->self], &src);
	/* any local port: the peer checks the address only */
	if (src.ss_family == AF_INET)
		((struct sockaddr_in *)&src)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&src)->sin6_port = 0;
	bigiron_rdma_addr(&cl->nodes[n->node], &dst);
	mutex_unlock(&rd->lock);

	/* its events may run from here on: they take rd->lock themselves */
	err = rdma_resolve_addr(id, (struct sockaddr *)&src,
				(struct sockaddr *)&dst,
				BIGIRON_RDMA_RESOLVE_MS);
	if (err) {
		mutex_lock(&rd->lock);
		bigiron_rconn_end(c, true);
		mutex_unlock(&rd->lock);
	}
	return;
retry:
	bigiron_rdma_retry_locked(rd, n->node);
	mutex_unlock(&rd->lock);
}

/**
 * bigiron_rdma_join - connect to the nodes above this one
 * @cl: the node instance, RDMA transport
 * @timeout_ms: go on trying for so long
 *
 * The nodes below connect to this one.  Attempts go on in the background
 * until the deadline; JOIN waits for the links as on Ethernet.
 */
void bigiron_rdma_join(struct bigiron_cluster *cl, unsigned int timeout_ms)
{
	struct bigiron_rdma *rd = cl->rdma;
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	unsigned int i;

	mutex_lock(&rd->lock);
	if (time_after(deadline, rd->deadline))
		rd->deadline = deadline;
	for (i = cl->self + 1; i < cl->nr_nodes && !rd->stopping; i++)
		if (!rd->cur[i])
			mod_delayed_work(rd->wq, &rd->connect[i].work, 0);
	mutex_unlock(&rd->lock);
}

/**
 * bigiron_rdma_attach - listen on this node's address
 * @cl: the node instance, its peers made
 *
 * Return: 0; -EADDRNOTAVAIL or -ENODEV when no RDMA device has the
 * address, -EADDRINUSE when its port is taken, -ENOMEM.
 */
int bigiron_rdma_attach(struct bigiron_cluster *cl)
{
	struct bigiron_rdma *rd;
	struct sockaddr_storage ss;
	struct rdma_cm_id *id;
	bool listening;
	unsigned int i;
	int err;

	rd = kzalloc(sizeof(*rd), GFP_KERNEL_ACCOUNT);
	if (!rd)
		return -ENOMEM;
	rd->kind = BIGIRON_RDMA_LISTENER;
	rd->cl = cl;
	mutex_init(&rd->lock);
	rd->deadline = jiffies;
	INIT_WORK(&rd->port_work, bigiron_rdma_port_work);
	for (i = 0; i < BIGIRON_MAX_NODES; i++) {
		rd->connect[i].rd = rd;
		rd->connect[i].node = i;
		INIT_DELAYED_WORK(&rd->connect[i].work,
				  bigiron_rdma_connect_work);
	}
	rd->wq = alloc_ordered_workqueue("bigiron-rdma-%u", WQ_MEM_RECLAIM,
					 cl->vm->id);
	if (!rd->wq) {
		err = -ENOMEM;
		goto err_free;
	}
	rd->net = get_net(current->nsproxy->net_ns);
	rd->memcg = get_mem_cgroup_from_mm(current->mm);
	id = rdma_create_id(rd->net, bigiron_rdma_event, rd, RDMA_PS_TCP,
			    IB_QPT_RC);
	if (IS_ERR(id)) {
		err = PTR_ERR(id);
		goto err_net;
	}
	bigiron_rdma_addr(&cl->nodes[cl->self], &ss);
	err = rdma_bind_addr(id, (struct sockaddr *)&ss);
	if (!err && !id->device)
		err = -EADDRNOTAVAIL;	/* a wildcard never gets here */
	if (!err)
		err = rdma_listen(id, cl->nr_nodes);
	if (err) {
		rdma_destroy_id(id);
		goto err_net;
	}
	/*
	 * Requests may have come in already; if the device went away
	 * meanwhile, its removal waits for this id: destroy it, and the
	 * connections with it.
	 */
	cl->rdma = rd;
	mutex_lock(&rd->lock);
	listening = !rd->listen_gone;
	if (listening) {
		rd->listen = id;
		rd->port = id->port_num;
		INIT_IB_EVENT_HANDLER(&rd->eh, id->device,
				      bigiron_rdma_ib_event);
		ib_register_event_handler(&rd->eh);
		rd->eh_on = true;
	}
	mutex_unlock(&rd->lock);
	if (!listening) {
		rdma_destroy_id(id);
		bigiron_rdma_detach(cl);
		return -ENODEV;
	}
	pr_info("vm%u: listening for RDMA connections on %pISpc, device %s\n",
		cl->vm->id, &ss, id->device->name);
	return 0;

err_net:
	mem_cgroup_put(rd->memcg);
	put_net(rd->net);
	destroy_workqueue(rd->wq);
err_free:
	kfree(rd);
	return err;
}

/**
 * bigiron_rdma_detach - stop every connection and the listener
 * @cl: the node instance; its peers are dead and cl->detached is set
 *
 * Sleeps until every connection's resources are released.
 */
void bigiron_rdma_detach(struct bigiron_cluster *cl)
{
	struct bigiron_rdma *rd = cl->rdma;
	struct rdma_cm_id *listen;
	unsigned int i;

	if (!rd)
		return;
	mutex_lock(&rd->lock);
	rd->stopping = true;
	listen = rd->listen;
	rd->listen = NULL;
	bigiron_rdma_eh_off_locked(rd);
	mutex_unlock(&rd->lock);
	/* waits for its handler: no request is accepted after this */
	if (listen)
		rdma_destroy_id(listen);
	for (i = 0; i < BIGIRON_MAX_NODES; i++)
		cancel_delayed_work_sync(&rd->connect[i].work);
	mutex_lock(&rd->lock);
	for (i = 0; i < cl->nr_nodes; i++)
		if (rd->cur[i])
			bigiron_rconn_end(rd->cur[i], false);
	mutex_unlock(&rd->lock);
	/* the releases queued, and any a handler queued meanwhile */
	flush_workqueue(rd->wq);
	destroy_workqueue(rd->wq);
	mem_cgroup_put(rd->memcg);
	put_net(rd->net);
	cl->rdma = NULL;
	kfree(rd);
}

void bigiron_rdma_dbg_peer(struct seq_file *m, struct bigiron_peer *pe)
{
	struct bigiron_rconn *c;

	spin_lock_bh(&pe->lock);
	c = pe->rconn;
	if (c)
		seq_printf(m, "  rdma_up 1 rdma_credits %u rdma_tx_inflight %u rdma_sent %u rdma_rcvd %u rdma_posted %u rdma_reg %d rdma_reads %lld rdma_tx_window %lld rdma_rx_handed %lld rdma_pages %s\n",
			   bigiron_rconn_credits(c), c->tx_head - c->tx_done,
			   c->sent, c->rcvd, c->posted, c->reg_posted,
			   (s64)atomic64_read(&c->reads),
			   (s64)atomic64_read(&c->tx_window),
			   (s64)atomic64_read(&c->rx_handed),
			   bigiron_rdma_pages_names[c->pages]);
	else
		seq_puts(m, "  rdma_up 0\n");
	spin_unlock_bh(&pe->lock);
}

void bigiron_rdma_dbg(struct seq_file *m, struct bigiron_cluster *cl)
{
	struct bigiron_rdma *rd = cl->rdma;

	if (!rd)
		return;
	seq_printf(m, "rdma_connects %lld\nrdma_accepts %lld\nrdma_refused %lld\nrdma_failures %lld\nrdma_port_errors %lld\n",
		   (s64)atomic64_read(&rd->connects),
		   (s64)atomic64_read(&rd->accepts),
		   (s64)atomic64_read(&rd->refused),
		   (s64)atomic64_read(&rd->failures),
		   (s64)atomic64_read(&rd->port_errors));
}
