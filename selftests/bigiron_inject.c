// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron_inject: a stranger on the wire.  It does not know the cluster
 * key; it sees the frames two node instances exchange and, for a given
 * time, sends as fast as one CPU allows frames made from them.  Every one
 * must be dropped and counted by the receiving instance, and none may
 * change what the instances deliver (run_dsm.sh runs bigiron_dsm's data
 * cases meanwhile, which verify every byte they move).
 *
 *   node 0 ── bi0 ════════ veth ════════ bi1 ── node 1
 *              │ capture: frames node 0 sends │ capture: node 1's
 *              │ inject: they reach node 1     │ inject: reach node 0
 *              └──────── bigiron_inject ───────┘
 *
 * Material: on each --dev, an ETH_P_ALL socket with a BPF filter keeps
 * the bigiron frames (ethertype 0x88B5) this host's node sends there
 * (PACKET_OUTGOING).  Frames sent on that interface reach the node at the
 * other end with the captured Ethernet addresses: the receiver's own as
 * destination (so the frame is PACKET_HOST, not dropped as other_host),
 * the sender's as source (eth.c checks it against the authenticated
 * source node).  The injected frames skip the qdisc (PACKET_QDISC_BYPASS),
 * so no capture socket sees them as outgoing: the material stays genuine.
 *
 * Classes, and where the receiving instance counts them (debugfs
 * vm<ID>/cluster before authentication, vm<ID>/peers after it, in the
 * block of the node that sent the original):
 *
 *   random         random bytes, 0..4224 of them, after an Ethernet header
 *                  with bigiron's ethertype: cluster drop_bad_magic
 *                  (mostly), drop_short, drop_long, ... (any reason
 *                  before the MAC)
 *   trunc_hdr      a captured frame cut inside its 64-byte header:
 *                  cluster drop_short
 *   trunc_payload  a captured frame with a payload, cut inside it:
 *                  cluster drop_bad_frame_len
 *   forged         a captured frame with its MAC, a payload byte, or a
 *                  header field the MAC covers changed so that every
 *                  field check still passes (seq, ack, txid, dst_boot):
 *                  cluster drop_bad_mac
 *   replay         an exact copy of a captured sequenced frame that the
 *                  receiver has acknowledged: peers drop_old_seq (the
 *                  frame is authentic; the link counts it in rx_frames,
 *                  takes its stale cumulative ack as harmless, and owes
 *                  an ack)
 *   reorder        bursts of 8 such frames, shuffled: peers drop_old_seq
 *   replay_ack     an exact copy of a captured standalone ACK: no drop
 *                  counter at all; the link counts it in rx_frames and
 *                  ignores its old cumulative ack (bi_link_rx_ack(): "an
 *                  older ack overtaken by a newer one is harmless")
 *
 * A sequenced frame is known acknowledged when the receiver's own frames
 * (captured on the other --dev) carry an ack above its seq, or, with one
 * --dev, when it is a whole send window (BIGIRON_PEER_WINDOW, 32) older
 * than the newest one its sender sent.  HELLO and HELLO_ACK are never
 * replayed: while the link is up the receiver answers a HELLO of the
 * current boot with a HELLO_ACK and ignores a HELLO_ACK, counting
 * neither as a drop.
 *
 * Accounting: the receiving instances are found in debugfs by the
 * cluster id, node id and boot nonce the captured frames carry.  Their
 * counters are read before the flood and after it (once the counts are
 * reached, 5 s at most), and for each receiver:
 *
 *   drop_short (both lines)        >= trunc_hdr
 *   drop_bad_frame_len             >= trunc_payload
 *   drop_bad_mac                   >= forged
 *   every drop before the MAC      >= random + trunc_* + forged
 *   drop_old_seq                   >= replay + reorder
 *   rx_frames                      >= replay + reorder + replay_ack
 *   all of its drops together      >= every injected frame but replay_ack
 *   drop_bad_src_mac               unchanged
 *   the link                       still up
 *   its delivered (read first)     <= the sender's tx_msgs (read after)
 *
 * each count less the frames the veth dropped on their way (the sending
 * interface's tx_dropped, which also counts any legitimate frame it
 * dropped, so it only loosens the bound; it stays 0 when the receiver
 * keeps up).  Legitimate traffic adds no drop before authentication on a
 * clean link, and some old_seq (needless retransmissions): hence >=, with
 * the excess printed.  The last check, on totals since the instances
 * started, holds whatever the timing unless a message was delivered that
 * its sender never sent: each delivered message took the sequence number
 * of one bi_link_send() call (which counts tx_msgs; heartbeats are
 * neither), so a replay taken as new shows there, unless as many genuine
 * messages are in flight (a send window, 32, at most) or counted twice
 * (bi_link_send() counts a message that finds the window full, then again
 * when the peer's txq moves it in).
 *
 * Usage: bigiron_inject --dev IFNAME [--dev IFNAME] [--duration S]
 *        [--wait S] [--rate N] [--seed N] [--debugfs DIR]
 *
 *   --dev       an interface carrying one node's frames to another (at
 *               most two: both ends of a veth pair, each flooded)
 *   --duration  seconds of flood (default 30)
 *   --wait      seconds to wait for traffic, the receiving instances and
 *               a frame fit for replay (default 60)
 *   --rate      at most N picks per second (default 0: as fast as the
 *               sockets take them; a pick is one frame, or a burst)
 *   --seed      of the frames' randomness (default: time and pid)
 *   --debugfs   bigiron's debugfs directory (default
 *               /sys/kernel/debug/bigiron)
 *
 * Every wait is bounded (--wait for the traffic and the instances, the
 * flood's --duration, 5 s for the counters, 40 ms per blocked send), and
 * the program exits by itself.  Output: TAP diagnostics ("# ..."), for
 * run_dsm.sh to judge by the exit status.
 *
 * Exit status: 0 every injected frame accounted, 1 a check failed (or a
 * receiving instance closed before the count), 2 bad usage, 3 no
 * traffic, instance or socket to work with.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <bigiron/wire.h>

#include "tap.h"
#include "util.h"

#define ETH_P_BIGIRON	0x88B5
#define HDR		14		/* Ethernet header */
#define MAX_DEVS	2
#define MAT_NR		256		/* captured frames kept per --dev */
#define WINDOW		32		/* BIGIRON_PEER_WINDOW, cluster.h */
#define BURST		8		/* frames of one reordered burst */
#define SNDBUF		65536		/* in flight per socket: bounded */
#define SETTLE_MS	5000
#define MAX_KV		96
#define LINK_UP		2		/* BI_LINK_UP, link.h */

#define NS		1000000000ULL
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

enum cls {
	C_RANDOM, C_TRUNC_HDR, C_TRUNC_PAYLOAD, C_FORGED, C_REPLAY,
	C_REORDER, C_REPLAY_ACK, NR_CLS
};

static const struct {
	const char *name;
	unsigned int weight;	/* picks per 20; a reorder pick is a burst */
} cls_info[NR_CLS] = {
	[C_RANDOM] = { "random", 3 },
	[C_TRUNC_HDR] = { "trunc_hdr", 3 },
	[C_TRUNC_PAYLOAD] = { "trunc_payload", 3 },
	[C_FORGED] = { "forged", 5 },
	[C_REPLAY] = { "replay", 3 },
	[C_REORDER] = { "reorder", 1 },
	[C_REPLAY_ACK] = { "replay_ack", 2 },
};

/* Drops before authentication, by their debugfs vm<ID>/cluster names. */
static const char *const preauth_names[] = {
	/* bi_wire_decode(), wire.c */
	"drop_short", "drop_bad_magic", "drop_bad_version", "drop_bad_type",
	"drop_bad_flags", "drop_bad_cluster", "drop_bad_src", "drop_bad_dst",
	"drop_bad_page", "drop_reserved_set", "drop_bad_payload_len",
	"drop_bad_frame_len", "drop_bad_fragment", "drop_bad_mac",
	/* bigiron_eth_rcv() before the decoder (its drop_short is merged) */
	"drop_long", "drop_rx_nomem", "drop_other_host",
};

_Static_assert(BI_WIRE_DROP_MAC == BI_WIRE_DROP_NR - 1 &&
	       BI_WIRE_DROP_NR == 15,
	       "a new wire drop reason: add its name to preauth_names");

struct frame {
	uint8_t b[HDR + BI_WIRE_MAX_FRAME];
	uint16_t len;
};

/* Counters of one receiving instance: its cluster file, its peer block. */
struct ctrs {
	struct {
		char name[80];
		uint64_t val;
	} kv[MAX_KV];
	int nkv;
	int state;		/* enum bi_link_state of the peer, -1 unknown */
};

struct dev {
	const char *name;
	int ifindex;
	int cap, tx;
	struct frame *mat;		/* ring of captured frames */
	unsigned int mat_nr, mat_next;
	uint64_t captured;
	/* the stream node src -> node dst seen on this interface */
	bool stream;
	uint32_t cluster, src_boot, dst_boot;
	uint16_t src, dst;
	uint32_t max_seq;		/* newest seq the sender sent */
	uint32_t acked_obs;		/* newest ack the receiver sent back */
	int vm;				/* receiving instance, -1 not found */
	int vm_src;			/* sending instance, -1 not found */
	uint64_t delivered, tx_msgs;	/* totals, for check_delivered() */
	uint64_t sent[NR_CLS];
	uint64_t refused, errors;
	int last_err;
	uint64_t txdrop0, txdrop1;
	struct ctrs before, after;
};

static struct dev devs[MAX_DEVS];
static int nr_devs;
static bool locked;		/* flooding: the streams may not change */
static const char *dbg_root = BI_DEBUGFS;
static uint64_t rng;
static uint8_t buf[HDR + BI_WIRE_MAX_FRAME + 64];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static uint32_t rnd_below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Header fields of a captured frame (b: its Ethernet header). */
static uint8_t f_type(const struct frame *f)
{
	return f->b[HDR + 2];
}

static uint32_t f_seq(const struct frame *f)
{
	return le32(f->b + HDR + 20);
}

static uint16_t f_frag_len(const struct frame *f)
{
	return le16(f->b + HDR + 44);
}

static bool type_seq(uint8_t t)
{
	return t == BI_MSG_HEARTBEAT ||
	       (t >= BI_MSG_GET_S && t <= BI_MSG_PUT_DATA) ||
	       (t >= BI_MSG_PING && t <= BI_MSG_CREDIT);
}

/* Types whose txid is free (coherence, PING, PONG, CREDIT); others 0. */
static bool type_txid(uint8_t t)
{
	return (t >= BI_MSG_GET_S && t <= BI_MSG_PUT_DATA) ||
	       t == BI_MSG_PING || t == BI_MSG_PONG || t == BI_MSG_CREDIT;
}

/* ---- sockets ------------------------------------------------------------ */

/* Bigiron frames this host sends on the interface, nothing else. */
static int cap_socket(int ifindex)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 0, 3),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_BIGIRON, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(code), .filter = code };
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = ifindex,
	};
	int fd, size = 1 << 20;

	/* protocol 0: nothing arrives before the filter is on */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
		       sizeof(prog)) ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		size = -errno;
		close(fd);
		return size;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return fd;
}

/*
 * Bound to no protocol, so it receives nothing; its frames skip the qdisc
 * (no tap sees them as outgoing) and its small send buffer bounds the
 * frames it has in flight: the receiver's backlog does not overflow.
 */
static int tx_socket(int ifindex)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = ifindex,
	};
	int fd, one = 1, size = SNDBUF;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one,
		       sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size))) {
		size = -errno;
		close(fd);
		return size;
	}
	return fd;
}

/* The interface's tx_dropped (a veth: frames its peer did not take). */
static uint64_t tx_dropped(const struct dev *d)
{
	char path[128];
	uint64_t v;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_dropped",
		 d->name);
	return bi_read_u64_file(path, &v) ? 0 : v;
}

/* ---- capture ------------------------------------------------------------ */

static void stream_reset(struct dev *d, const uint8_t *h)
{
	d->stream = true;
	d->cluster = le32(h + 4);
	d->src = le16(h + 8);
	d->dst = le16(h + 10);
	d->src_boot = le32(h + 12);
	d->dst_boot = le32(h + 16);
	d->mat_nr = d->mat_next = 0;
	d->max_seq = d->acked_obs = 0;
	d->vm = d->vm_src = -1;
}

/* Keep a captured frame in d's ring, and note what it tells. */
static void cap_keep(struct dev *d, const struct frame *f)
{
	const uint8_t *h = f->b + HDR;
	uint8_t t = f_type(f);
	int i;

	if (!d->stream || le32(h + 4) != d->cluster || le16(h + 8) != d->src ||
	    le16(h + 10) != d->dst || le32(h + 12) != d->src_boot ||
	    le32(h + 16) != d->dst_boot) {
		/* a HELLO may not know the receiver's boot yet */
		if (!le32(h + 16) || locked)
			return;
		stream_reset(d, h);
	}
	d->captured++;
	if (type_seq(t) && f_seq(f) > d->max_seq)
		d->max_seq = f_seq(f);
	/* the ack of our sender is the receiver's word on the other --dev */
	if (t == BI_MSG_HELLO || t == BI_MSG_HELLO_ACK)
		goto keep;
	for (i = 0; i < nr_devs; i++) {
		struct dev *o = &devs[i];

		if (o != d && o->stream && o->src == d->dst &&
		    o->dst == d->src && o->src_boot == d->dst_boot &&
		    o->dst_boot == d->src_boot &&
		    le32(h + 24) > o->acked_obs)
			o->acked_obs = le32(h + 24);
	}
keep:
	memcpy(d->mat[d->mat_next].b, f->b, f->len);
	d->mat[d->mat_next].len = f->len;
	d->mat_next = (d->mat_next + 1) % MAT_NR;
	if (d->mat_nr < MAT_NR)
		d->mat_nr++;
}

/* Read up to max captured frames without waiting. */
static void cap_drain(struct dev *d, int max)
{
	static struct frame f;
	struct sockaddr_ll from;
	socklen_t fl;
	ssize_t n;

	while (max-- > 0) {
		fl = sizeof(from);
		n = recvfrom(d->cap, f.b, sizeof(f.b), MSG_TRUNC,
			     (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		/* whole, well-formed frames only */
		if (from.sll_pkttype != PACKET_OUTGOING ||
		    n < HDR + BI_WIRE_HDR_LEN || n > (ssize_t)sizeof(f.b) ||
		    f.b[12] != ETH_P_BIGIRON >> 8 ||
		    f.b[13] != (ETH_P_BIGIRON & 0xff) ||
		    f.b[HDR] != BI_WIRE_MAGIC ||
		    f.b[HDR + 1] != BI_WIRE_VERSION ||
		    n != HDR + BI_WIRE_HDR_LEN + f_frag_len(&f))
			continue;
		f.len = (uint16_t)n;
		cap_keep(d, &f);
	}
}

/*
 * Sequenced frames the receiver has acknowledged (and so delivered):
 * below the ack it sent, or a whole window behind the newest frame.
 */
static uint32_t acked(const struct dev *d)
{
	if (d->acked_obs)
		return d->acked_obs;
	return d->max_seq > WINDOW ? d->max_seq + 1 - WINDOW : 0;
}

static bool want(const struct dev *d, const struct frame *f, enum cls c)
{
	uint8_t t = f_type(f);

	switch (c) {
	case C_TRUNC_PAYLOAD:
		return f_frag_len(f) > 0;
	case C_REPLAY:
	case C_REORDER:
		return type_seq(t) && f_seq(f) && f_seq(f) < acked(d);
	case C_REPLAY_ACK:
		return t == BI_MSG_ACK;
	default:
		return true;
	}
}

/* A random kept frame fit for class c, or NULL. */
static const struct frame *pick(const struct dev *d, enum cls c)
{
	unsigned int i, start;
	const struct frame *f;

	if (!d->mat_nr)
		return NULL;
	for (i = 0; i < 8; i++) {
		f = &d->mat[rnd_below(d->mat_nr)];
		if (want(d, f, c))
			return f;
	}
	start = rnd_below(d->mat_nr);
	for (i = 0; i < d->mat_nr; i++) {
		f = &d->mat[(start + i) % d->mat_nr];
		if (want(d, f, c))
			return f;
	}
	return NULL;
}

/* ---- debugfs counters --------------------------------------------------- */

static void kv_add(struct ctrs *c, const char *name, uint64_t val)
{
	int i;

	for (i = 0; i < c->nkv; i++) {
		if (!strcmp(c->kv[i].name, name)) {
			/* cluster has two drop_short lines: their sum */
			c->kv[i].val += val;
			return;
		}
	}
	if (c->nkv == MAX_KV)
		return;
	snprintf(c->kv[c->nkv].name, sizeof(c->kv[0].name), "%s", name);
	c->kv[c->nkv++].val = val;
}

static uint64_t kv(const struct ctrs *c, const char *name)
{
	int i;

	for (i = 0; i < c->nkv; i++)
		if (!strcmp(c->kv[i].name, name))
			return c->kv[i].val;
	return 0;
}

/*
 * vm<ID>/cluster, and the block of node peer in vm<ID>/peers, as
 * "cluster:NAME" and "peers:NAME".  Returns 0, or -errno (the instance is
 * gone).
 */
static int ctrs_read(int vm, unsigned int peer, struct ctrs *c)
{
	char path[256], line[512], key[64], name[80];
	unsigned int node, state;
	unsigned long long val;
	bool in = false;
	int file, n;
	FILE *fp;
	char *p;

	memset(c, 0, sizeof(*c));
	c->state = -1;
	for (file = 0; file < 2; file++) {
		snprintf(path, sizeof(path), "%s/vm%d/%s", dbg_root, vm,
			 file ? "peers" : "cluster");
		fp = fopen(path, "re");
		if (!fp)
			return -errno;
		while (fgets(line, sizeof(line), fp)) {
			if (file && line[0] != ' ') {
				/* "nodeN MAC state S" opens a block */
				in = sscanf(line, "node%u %*s state %u", &node,
					    &state) == 2 && node == peer;
				if (in)
					c->state = (int)state;
				continue;
			}
			if (file && !in)
				continue;
			for (p = line; n = 0,
			     sscanf(p, " %63s %llu%n", key, &val, &n) == 2 &&
			     n; p += n) {
				snprintf(name, sizeof(name), "%s:%s",
					 file ? "peers" : "cluster", key);
				kv_add(c, name, val);
			}
		}
		fclose(fp);
	}
	return 0;
}

/* The instance of node in cluster with that boot nonce, or -1. */
static int vm_find(uint32_t cluster_id, uint16_t node, uint32_t boot_nonce)
{
	unsigned long cluster, self, boot, detached;
	char path[300], line[128];
	struct dirent *e;
	int vm, found = -1;
	DIR *dir;
	FILE *fp;

	dir = opendir(dbg_root);
	if (!dir)
		return -1;
	while ((e = readdir(dir))) {
		if (sscanf(e->d_name, "vm%d", &vm) != 1)
			continue;
		snprintf(path, sizeof(path), "%s/%s/cluster", dbg_root,
			 e->d_name);
		fp = fopen(path, "re");
		if (!fp)
			continue;
		cluster = self = boot = 0;
		detached = 1;
		while (fgets(line, sizeof(line), fp)) {
			sscanf(line, "cluster_id %lu", &cluster);
			sscanf(line, "self %lu", &self);
			sscanf(line, "boot_nonce %lx", &boot);
			sscanf(line, "detached %lu", &detached);
		}
		fclose(fp);
		if (cluster == cluster_id && self == node &&
		    boot == boot_nonce && !detached)
			found = vm;
	}
	closedir(dir);
	return found;
}

/* ---- frames ------------------------------------------------------------- */

static void fill_random(uint8_t *p, size_t len)
{
	uint64_t r;
	size_t i;

	for (i = 0; i < len; i += 8) {
		r = rnd();
		memcpy(p + i, &r, len - i < 8 ? len - i : 8);
	}
}

/*
 * Change something the MAC covers (or the MAC) so that every field check
 * of bi_wire_decode() still passes: only the MAC comparison fails.
 */
static void forge(uint8_t *h, uint16_t frag_len)
{
	uint8_t t = h[2];
	uint32_t x = (uint32_t)rnd() | 1;

	switch (rnd_below(6)) {
	case 1:
		if (frag_len) {
			h[BI_WIRE_HDR_LEN + rnd_below(frag_len)] ^= (uint8_t)x;
			return;
		}
		break;
	case 2:
		if (type_seq(t)) {
			put_le32(h + 20, le32(h + 20) + 1 + rnd_below(1000));
			return;
		}
		break;
	case 3:
		if (t != BI_MSG_HELLO && t != BI_MSG_HELLO_ACK) {
			put_le32(h + 24, le32(h + 24) ^ x);
			return;
		}
		break;
	case 4:
		if (type_txid(t)) {
			put_le32(h + 28, le32(h + 28) ^ x);
			return;
		}
		break;
	case 5:
		/* dst_boot must stay non-zero: it is not x */
		if (t != BI_MSG_HELLO && le32(h + 16) != x) {
			put_le32(h + 16, le32(h + 16) ^ x);
			return;
		}
		break;
	}
	h[BI_WIRE_MAC_OFF + rnd_below(BI_WIRE_MAC_LEN)] ^= (uint8_t)x;
}

/*
 * Send one frame; 0 sent, -EAGAIN not taken (send buffer full or the
 * driver refused it) after one bounded wait, else -errno.
 */
static int xmit(struct dev *d, const uint8_t *b, size_t len)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_BIGIRON),
		.sll_ifindex = d->ifindex,
		.sll_halen = 6,
	};
	struct pollfd pfd = { .fd = d->tx, .events = POLLOUT };
	int tries;
	ssize_t n;

	memcpy(sll.sll_addr, b, 6);
	for (tries = 0; tries < 2; tries++) {
		n = sendto(d->tx, b, len, 0, (struct sockaddr *)&sll,
			   sizeof(sll));
		if (n == (ssize_t)len)
			return 0;
		if (n >= 0)
			return -EMSGSIZE;
		if (errno != EAGAIN && errno != ENOBUFS && errno != EINTR)
			return -errno;
		poll(&pfd, 1, 20);
	}
	return -EAGAIN;
}

static void count(struct dev *d, enum cls c, int ret)
{
	if (!ret) {
		d->sent[c]++;
	} else if (ret == -EAGAIN) {
		d->refused++;
	} else {
		d->errors++;
		d->last_err = -ret;
	}
}

/* One pick of class c on d: one frame, or a burst for reorder. */
static bool inject(struct dev *d, enum cls c)
{
	const struct frame *f, *burst[BURST];
	size_t len;
	int i, j, n;

	f = pick(d, c);
	if (!f)
		return false;
	switch (c) {
	case C_RANDOM:
		memcpy(buf, f->b, HDR);
		len = HDR + rnd_below(BI_WIRE_MAX_FRAME + 64 + 1);
		fill_random(buf + HDR, len - HDR);
		break;
	case C_TRUNC_HDR:
		len = HDR + rnd_below(BI_WIRE_HDR_LEN);
		memcpy(buf, f->b, len);
		break;
	case C_TRUNC_PAYLOAD:
		len = HDR + BI_WIRE_HDR_LEN + rnd_below(f_frag_len(f));
		memcpy(buf, f->b, len);
		break;
	case C_FORGED:
		len = f->len;
		memcpy(buf, f->b, len);
		forge(buf + HDR, f_frag_len(f));
		break;
	case C_REORDER:
		for (n = 0; n < BURST; n++) {
			burst[n] = pick(d, c);
			if (!burst[n])
				return false;
		}
		/* shuffle, then send all */
		for (i = BURST - 1; i > 0; i--) {
			j = (int)rnd_below(i + 1);
			f = burst[i];
			burst[i] = burst[j];
			burst[j] = f;
		}
		for (i = 0; i < BURST; i++)
			count(d, c, xmit(d, burst[i]->b, burst[i]->len));
		return true;
	default:
		/* replay, replay_ack: the frame as it was */
		count(d, c, xmit(d, f->b, f->len));
		return true;
	}
	count(d, c, xmit(d, buf, len));
	return true;
}

static enum cls pick_cls(void)
{
	unsigned int total = 0, r;
	int c;

	for (c = 0; c < NR_CLS; c++)
		total += cls_info[c].weight;
	r = rnd_below(total);
	for (c = 0; c < NR_CLS; c++) {
		if (r < cls_info[c].weight)
			return (enum cls)c;
		r -= cls_info[c].weight;
	}
	return C_FORGED;
}

/* ---- checks ------------------------------------------------------------- */

static uint64_t delta(const struct dev *d, const char *name)
{
	uint64_t a = kv(&d->before, name), b = kv(&d->after, name);

	return b >= a ? b - a : 0;
}

static uint64_t preauth(const struct dev *d)
{
	char name[80];
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(preauth_names); i++) {
		snprintf(name, sizeof(name), "cluster:%s", preauth_names[i]);
		sum += delta(d, name);
	}
	return sum;
}

/* Every drop of the peer's frames after authentication (not the sends). */
static uint64_t postauth(const struct dev *d)
{
	const struct ctrs *c = &d->after;
	uint64_t sum = 0;
	int i;

	for (i = 0; i < c->nkv; i++)
		if (!strncmp(c->kv[i].name, "peers:drop_", 11) &&
		    strncmp(c->kv[i].name, "peers:drop_tx_", 14) &&
		    strcmp(c->kv[i].name, "peers:drop_pong_no_window"))
			sum += delta(d, c->kv[i].name);
	return sum;
}

static uint64_t lost(const struct dev *d)
{
	return d->txdrop1 > d->txdrop0 ? d->txdrop1 - d->txdrop0 : 0;
}

/* got >= want - lost: print it when verbose; true when it holds. */
static bool at_least(const struct dev *d, bool verbose, const char *what,
		     uint64_t want, const char *ctr, uint64_t got)
{
	uint64_t need = want > lost(d) ? want - lost(d) : 0;
	bool ok = got >= need;

	if (verbose)
		tap_diag("inject: vm%d: %s %" PRIu64 " -> %s +%" PRIu64
			 " (excess %" PRId64 "): %s", d->vm, what, want, ctr,
			 got, (int64_t)(got - want), ok ? "ok" : "FAILED");
	return ok;
}

static int check_dev(const struct dev *d, bool verbose)
{
	const uint64_t *s = d->sent;
	uint64_t dropped = 0;
	int bad = 0, c;

	for (c = 0; c < NR_CLS; c++)
		if (c != C_REPLAY_ACK)
			dropped += s[c];
	bad += !at_least(d, verbose, "trunc_hdr", s[C_TRUNC_HDR],
			 "drop_short", delta(d, "cluster:drop_short"));
	bad += !at_least(d, verbose, "trunc_payload", s[C_TRUNC_PAYLOAD],
			 "drop_bad_frame_len",
			 delta(d, "cluster:drop_bad_frame_len"));
	bad += !at_least(d, verbose, "forged", s[C_FORGED], "drop_bad_mac",
			 delta(d, "cluster:drop_bad_mac"));
	bad += !at_least(d, verbose, "random+trunc_*+forged",
			 s[C_RANDOM] + s[C_TRUNC_HDR] + s[C_TRUNC_PAYLOAD] +
			 s[C_FORGED], "drops before the MAC", preauth(d));
	bad += !at_least(d, verbose, "replay+reorder",
			 s[C_REPLAY] + s[C_REORDER], "drop_old_seq",
			 delta(d, "peers:drop_old_seq"));
	bad += !at_least(d, verbose, "replay+reorder+replay_ack",
			 s[C_REPLAY] + s[C_REORDER] + s[C_REPLAY_ACK],
			 "rx_frames", delta(d, "peers:rx_frames"));
	bad += !at_least(d, verbose, "all but replay_ack", dropped,
			 "all drops", preauth(d) + postauth(d));
	if (delta(d, "cluster:drop_bad_src_mac")) {
		bad++;
		if (verbose)
			tap_diag("inject: vm%d: drop_bad_src_mac +%" PRIu64
				 ": FAILED (the injected frames keep the "
				 "sender's address)", d->vm,
				 delta(d, "cluster:drop_bad_src_mac"));
	}
	if (d->after.state != LINK_UP) {
		bad++;
		if (verbose)
			tap_diag("inject: vm%d: link to node %u in state %d, "
				 "not up: FAILED", d->vm, d->src,
				 d->after.state);
	}
	return bad;
}

/*
 * Nothing injected was delivered: the receiver's delivered, read first,
 * is at most the sender's tx_msgs, read after it (see the top).  Not
 * checked when the sender is not in this kernel.  Returns -1 when an
 * instance is gone, else the number of failures.
 */
static int check_delivered(struct dev *d, bool verbose)
{
	struct ctrs tmp;
	bool ok;

	if (d->vm_src < 0)
		return 0;
	if (ctrs_read(d->vm, d->src, &tmp))
		return -1;
	d->delivered = kv(&tmp, "peers:delivered");
	if (ctrs_read(d->vm_src, d->dst, &tmp))
		return -1;
	d->tx_msgs = kv(&tmp, "peers:tx_msgs");
	ok = d->delivered <= d->tx_msgs;
	if (verbose)
		tap_diag("inject: vm%d: delivered %" PRIu64 " messages of node "
			 "%u, which sent %" PRIu64 " (vm%d tx_msgs): nothing "
			 "injected delivered: %s", d->vm, d->delivered, d->src,
			 d->tx_msgs, d->vm_src, ok ? "ok" : "FAILED");
	return !ok;
}

/* Gauges of the peers file, not counters. */
static bool gauge(const char *name)
{
	static const char *const gauges[] = {
		"peers:srtt_us", "peers:rttvar_us", "peers:rto_us",
		"peers:backlog",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(gauges); i++)
		if (!strcmp(name, gauges[i]))
			return true;
	return false;
}

/* Every counter of the instance that moved, as the kernel names it. */
static void print_moved(const struct dev *d)
{
	char line[1024];
	size_t off = 0;
	uint64_t v;
	int i, file;

	for (file = 0; file < 2; file++) {
		const char *pfx = file ? "peers:" : "cluster:";

		off = 0;
		line[0] = '\0';
		for (i = 0; i < d->after.nkv; i++) {
			const char *name = d->after.kv[i].name;

			if (strncmp(name, pfx, strlen(pfx)) || gauge(name))
				continue;
			v = delta(d, name);
			if (!v || off >= sizeof(line) - 1)
				continue;
			off += snprintf(line + off, sizeof(line) - off,
					" %s +%" PRIu64, name + strlen(pfx), v);
		}
		if (file)
			tap_diag("inject: vm%d peers node%u:%s", d->vm, d->src,
				 off ? line : " nothing");
		else
			tap_diag("inject: vm%d cluster:%s", d->vm,
				 off ? line : " nothing");
	}
}

/* ---- main --------------------------------------------------------------- */

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --dev IFNAME [--dev IFNAME] [--duration S] [--wait S]\n"
		"          [--rate PICKS_PER_S] [--seed N] [--debugfs DIR]\n",
		prog);
	exit(2);
}

static bool ready(const struct dev *d)
{
	return d->stream && d->vm >= 0 && pick(d, C_REPLAY);
}

int main(int argc, char **argv)
{
	unsigned int duration = 30, wait_s = 60, rate = 0;
	uint64_t t0, deadline, t, total = 0, iter = 0, picks = 0, settle;
	bool seeded = false, gone = false;
	int i, c, bad = 0, ret;
	struct dev *d;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage(argv[0]);
		i++;
		if (!strcmp(o, "--dev") && nr_devs < MAX_DEVS) {
			devs[nr_devs++].name = v;
		} else if (!strcmp(o, "--duration")) {
			duration = (unsigned int)strtoul(v, NULL, 0);
		} else if (!strcmp(o, "--wait")) {
			wait_s = (unsigned int)strtoul(v, NULL, 0);
		} else if (!strcmp(o, "--rate")) {
			rate = (unsigned int)strtoul(v, NULL, 0);
		} else if (!strcmp(o, "--seed")) {
			rng = strtoull(v, NULL, 0);
			seeded = true;
		} else if (!strcmp(o, "--debugfs")) {
			dbg_root = v;
		} else {
			usage(argv[0]);
		}
	}
	if (!nr_devs || !duration || duration > 3600 || wait_s > 3600)
		usage(argv[0]);
	if (!seeded)
		rng = now_ns() ^ ((uint64_t)getpid() << 32);
	if (!rng)
		rng = 1;
	tap_diag("inject: seed %#" PRIx64 ", %u s of flood after at most %u s "
		 "of waiting for traffic", rng, duration, wait_s);
	if (!strcmp(dbg_root, BI_DEBUGFS) && !bi_debugfs_ready()) {
		tap_diag("inject: no %s", BI_DEBUGFS);
		return 3;
	}

	for (i = 0; i < nr_devs; i++) {
		d = &devs[i];
		d->vm = -1;
		d->ifindex = (int)if_nametoindex(d->name);
		d->mat = calloc(MAT_NR, sizeof(*d->mat));
		if (!d->ifindex || !d->mat) {
			tap_diag("inject: no interface %s", d->name);
			return 3;
		}
		d->cap = cap_socket(d->ifindex);
		d->tx = tx_socket(d->ifindex);
		if (d->cap < 0 || d->tx < 0) {
			tap_diag("inject: AF_PACKET sockets on %s: %s",
				 d->name, strerror(d->cap < 0 ? -d->cap :
						   -d->tx));
			return 3;
		}
	}

	/* wait for each stream, its receiver and frames fit for replay */
	t0 = now_ns();
	deadline = t0 + (uint64_t)wait_s * NS;
	for (;;) {
		struct pollfd pfd[MAX_DEVS];
		bool all = true;

		for (i = 0; i < nr_devs; i++) {
			d = &devs[i];
			cap_drain(d, 1024);
			if (d->stream && d->vm < 0)
				d->vm = vm_find(d->cluster, d->dst,
						d->dst_boot);
			if (d->stream && d->vm_src < 0)
				d->vm_src = vm_find(d->cluster, d->src,
						    d->src_boot);
			all &= ready(d);
			pfd[i].fd = d->cap;
			pfd[i].events = POLLIN;
		}
		if (all)
			break;
		if (now_ns() >= deadline) {
			for (i = 0; i < nr_devs; i++) {
				d = &devs[i];
				tap_diag("inject: %s: %" PRIu64 " frames "
					 "captured, %s, receiver %s, %s",
					 d->name, d->captured,
					 d->stream ? "stream seen" : "no stream",
					 d->vm >= 0 ? "found" : "not found",
					 pick(d, C_REPLAY) ?
					 "frames to replay" :
					 "no acknowledged frame");
			}
			tap_diag("inject: nothing to work with after %u s",
				 wait_s);
			return 3;
		}
		poll(pfd, nr_devs, 100);
	}
	for (i = 0; i < nr_devs; i++) {
		d = &devs[i];
		tap_diag("inject: %s carries node %u -> node %u of cluster %#x "
			 "(boots %08x -> %08x): vm%d -> vm%d, after %.1f s",
			 d->name, d->src, d->dst, d->cluster, d->src_boot,
			 d->dst_boot, d->vm_src, d->vm,
			 (double)(now_ns() - t0) / NS);
		ret = ctrs_read(d->vm, d->src, &d->before);
		if (ret) {
			tap_diag("inject: vm%d counters: %s", d->vm,
				 strerror(-ret));
			return 3;
		}
		d->txdrop0 = tx_dropped(d);
	}

	/*
	 * The flood: one pick per interface in turn (another class when
	 * the material has nothing for the one drawn), until the deadline.
	 */
	locked = true;
	t0 = now_ns();
	deadline = t0 + (uint64_t)duration * NS;
	for (t = t0; t < deadline; t = now_ns(), iter++) {
		if (rate && picks * NS > (uint64_t)rate * (t - t0)) {
			usleep(1000);
			continue;
		}
		picks += nr_devs;
		for (i = 0; i < nr_devs; i++) {
			d = &devs[i];
			c = 0;
			while (c++ < 4 && !inject(d, pick_cls()))
				continue;
		}
		if (!(iter % 16))
			for (i = 0; i < nr_devs; i++)
				cap_drain(&devs[i], 64);
	}
	t = now_ns() - t0;

	/* counts: until every check holds, 5 s at most */
	settle = now_ns();
	for (;;) {
		bad = 0;
		for (i = 0; i < nr_devs; i++) {
			d = &devs[i];
			d->txdrop1 = tx_dropped(d);
			ret = check_delivered(d, false);
			if (ret < 0 || ctrs_read(d->vm, d->src, &d->after)) {
				gone = true;
				continue;
			}
			bad += ret + check_dev(d, false);
		}
		if (gone)
			break;
		if (!bad || now_ns() - settle > SETTLE_MS * 1000000ULL)
			break;
		usleep(100000);
	}

	for (i = 0; i < nr_devs; i++) {
		char line[512];
		size_t off = 0;
		uint64_t n = 0;

		d = &devs[i];
		for (c = 0; c < NR_CLS; c++) {
			off += snprintf(line + off, sizeof(line) - off,
					" %s %" PRIu64, cls_info[c].name,
					d->sent[c]);
			n += d->sent[c];
		}
		total += n;
		tap_diag("inject: %s -> vm%d: sent %" PRIu64 ":%s", d->name,
			 d->vm, n, line);
		tap_diag("inject: %s: not taken %" PRIu64 ", send errors %"
			 PRIu64 "%s%s, %s tx_dropped +%" PRIu64, d->name,
			 d->refused, d->errors, d->errors ? " last: " : "",
			 d->errors ? strerror(d->last_err) : "", d->name,
			 lost(d));
	}
	tap_diag("inject: %" PRIu64 " frames in %.1f s (%.0f/s), %" PRIu64
		 " flood rounds", total, (double)t / NS,
		 t ? (double)total * NS / t : 0.0, iter);
	bad = 0;
	if (gone) {
		tap_diag("inject: a receiving instance closed before the "
			 "count (the cases ended first: shorten the flood)");
		bad++;
	} else {
		for (i = 0; i < nr_devs; i++) {
			d = &devs[i];
			print_moved(d);
			bad += check_dev(d, true);
			ret = check_delivered(d, true);
			bad += ret < 0 ? 1 : ret;
		}
	}
	if (!total) {
		tap_diag("inject: nothing was sent");
		bad++;
	}
	tap_diag("inject: %s", bad ? "FAILED: injected frames not accounted" :
		 "every injected frame accounted");
	return bad ? 1 : 0;
}
