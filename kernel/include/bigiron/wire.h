/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron: the on-the-wire message format between hosts.
 *
 * Every frame is one 64-byte header followed by zero or more payload bytes.
 * All fields are little-endian, whatever carries the frame (an Ethernet
 * frame with bigiron's ethertype, an RDMA SEND):
 *
 *   off size field
 *     0    1 magic        BI_WIRE_MAGIC
 *     1    1 version      BI_WIRE_VERSION
 *     2    1 type         enum bi_msg_type
 *     3    1 flags        BI_WF_*, per-type allowed set, others zero
 *     4    4 cluster      cluster id from vm.conf
 *     8    2 src          sending node id
 *    10    2 dst          receiving node id
 *    12    4 src_boot     sender's boot nonce (new at every start)
 *    16    4 dst_boot     receiver's boot nonce as the sender knows it
 *    20    4 seq          low 32 bits of the link sequence number
 *                         (sequenced types), see below
 *    24    4 ack          low 32 bits of the cumulative ack: next seq
 *                         expected from dst
 *    28    4 txid         coherence transaction id (or echo id, or
 *                         CREDIT's count)
 *    32    8 page         guest page frame number
 *    40    2 payload_len  length of the whole message payload: 0 or 4096
 *    42    2 frag_off     offset of this frame's bytes in that payload
 *    44    2 frag_len     payload bytes in this frame
 *    46    2 reserved     zero
 *    48   16 mac          keyed MAC, see below
 *
 * Extended sequence numbers (as IPsec ESN, RFC 4303): sequence numbers
 * and acks are 64-bit at both ends and never wrap within a boot; the
 * frame carries their low 32 bits, and their high 32 bits only under the
 * MAC. The MAC is computed over 56 + frag_len bytes:
 *
 *   header bytes 0..47 || seq_hi || ack_hi || the frame's payload bytes
 *
 * seq_hi and ack_hi being 4 little-endian bytes each: the high halves of
 * the sender's 64-bit sequence number of this message (sequenced types;
 * 0 on HELLO, HELLO_ACK and ACK, whose seq is 0) and of its 64-bit
 * cumulative ack (0 on HELLO and HELLO_ACK, whose ack is 0). The handshake
 * thus binds no counter; a standalone ACK binds its ack. The receiver
 * takes for seq the 64-bit value with the frame's low bits nearest to the
 * next sequence number it expects from the sender, for ack the one
 * nearest to its own next sequence number to send there (bi_seq_extend(),
 * through bi_wire_ctx.seq_ref), and checks the MAC with those: a frame
 * recorded 2^32 messages earlier fails it, as does an honest frame that
 * is 2^31 messages or more away from what the receiver expects (a go-back-N
 * window is a few dozen). A frame whose MAC passes carries exactly the
 * 64-bit values its sender used.
 *
 * A message with a 4096-byte payload travels in one frame when the MTU
 * allows it, else in fragments: same header except frag_off/frag_len (and
 * the MAC), each fragment authenticated on its own; frag_off is a multiple
 * of 8, every fragment but the last one a multiple of 8 bytes long.
 */
#ifndef _BIGIRON_WIRE_H
#define _BIGIRON_WIRE_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#ifndef BI_PURE_TYPES
#define BI_PURE_TYPES
typedef __UINT8_TYPE__ u8;
typedef __UINT16_TYPE__ u16;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;
typedef __INT32_TYPE__ s32;
typedef __INT64_TYPE__ s64;
#endif
#endif

#define BI_WIRE_MAGIC		0xB1
#define BI_WIRE_VERSION		2	/* 2: BI_MSG_CREDIT */
#define BI_WIRE_HDR_LEN		64
#define BI_WIRE_MAC_OFF		48
#define BI_WIRE_MAC_LEN		16
#define BI_PAGE_SIZE		4096
#define BI_MAX_NODES		64
/* Smallest fragment payload a transport may use (576-byte IPv4 MTU). */
#define BI_WIRE_MIN_FRAG	512
#define BI_WIRE_MAX_FRAME	(BI_WIRE_HDR_LEN + BI_PAGE_SIZE)

enum bi_msg_type {
	/* link layer, never seen by the coherence protocol */
	BI_MSG_HELLO = 1,	/* handshake request, unsequenced */
	BI_MSG_HELLO_ACK,	/* handshake answer, unsequenced */
	BI_MSG_ACK,		/* standalone cumulative ack, unsequenced */
	BI_MSG_HEARTBEAT,	/* sequenced, consumed by the link */
	/* coherence: requester to home */
	BI_MSG_GET_S = 16,	/* read miss: want a read-only copy */
	BI_MSG_GET_X,		/* write miss or upgrade: want ownership */
	BI_MSG_PUT,		/* give the (dirty) copy back to the home */
	/* coherence: home to requester */
	BI_MSG_DATA_S,		/* read-only copy granted, with data */
	BI_MSG_DATA_X,		/* ownership granted, data unless upgrade */
	BI_MSG_NACK,		/* request refused: retry later, or error */
	BI_MSG_PUT_ACK,		/* put served; maybe send the data */
	/* coherence: home to holder, and the holder's answers */
	BI_MSG_INV,		/* drop your read-only copy */
	BI_MSG_INV_ACK,		/* copy dropped */
	BI_MSG_FETCH,		/* owner: send data, keep read-only */
	BI_MSG_FETCH_INV,	/* owner: send data, drop the copy */
	BI_MSG_FETCH_DATA,	/* owner's data for FETCH or FETCH_INV */
	BI_MSG_PUT_DATA,	/* owner's data for PUT_ACK(want data) */
	/*
	 * echo, sequenced, delivered to the link's user (not the coherence
	 * protocol): measures what a page transfer pays on the real link
	 */
	BI_MSG_PING = 32,	/* request: txid, payload 0 or 4096 bytes */
	BI_MSG_PONG,		/* answer: the PING's txid and payload */
	/*
	 * single system image, sequenced, payload of any length up to 4096
	 * bytes: an interrupt for a vCPU of the destination host, and a
	 * message between the hosts' launchers
	 */
	BI_MSG_IPI,		/* struct bi_wire_ipi */
	BI_MSG_USER,		/* opaque to the module */
	/*
	 * flow control of BI_MSG_USER, no payload: txid is the number of
	 * the destination's launcher messages the sender's launcher has
	 * taken so far, modulo 2^32 (cumulative, so it needs no order)
	 */
	BI_MSG_CREDIT,
	BI_MSG_TYPE_MAX
};

/* Flags, each valid only on the types named. */
#define BI_WF_HAS_COPY	0x01	/* GET_X: requester holds a read-only copy */
#define BI_WF_ERR	0x02	/* NACK: fatal, do not retry */
#define BI_WF_WANT_DATA	0x04	/* PUT_ACK: reply with PUT_DATA */

/* Why a frame or a message was dropped; names in bi_wire_drop_name(). */
enum bi_wire_drop {
	BI_WIRE_OK = 0,
	BI_WIRE_DROP_SHORT,		/* shorter than a header */
	BI_WIRE_DROP_MAGIC,
	BI_WIRE_DROP_VERSION,
	BI_WIRE_DROP_TYPE,		/* unknown type */
	BI_WIRE_DROP_FLAGS,		/* flag not allowed on this type */
	BI_WIRE_DROP_CLUSTER,
	BI_WIRE_DROP_SRC,		/* src >= nr_nodes or src == self */
	BI_WIRE_DROP_DST,		/* dst != self */
	BI_WIRE_DROP_PAGE,		/* page >= nr_pages, or set on link types */
	BI_WIRE_DROP_RESERVED,		/* reserved or unused field not zero */
	BI_WIRE_DROP_PAYLOAD_LEN,	/* payload length wrong for the type */
	BI_WIRE_DROP_FRAME_LEN,		/* frame length != header + frag_len */
	BI_WIRE_DROP_FRAG,		/* fragment outside the payload */
	BI_WIRE_DROP_MAC,
	BI_WIRE_DROP_NR
};

/* Why reassembly refused a fragment; names in bi_reasm_drop_name(). */
enum bi_reasm_drop {
	BI_REASM_OK = 0,
	BI_REASM_DUP,			/* fragment already received */
	BI_REASM_OVERLAP,		/* overlaps received bytes */
	BI_REASM_MISMATCH,		/* header differs from earlier pieces */
	BI_REASM_FULL,			/* no free slot */
	BI_REASM_TIMEOUT,		/* slot expired with pieces missing */
	BI_REASM_DROP_NR
};

/*
 * Payload of BI_MSG_IPI, little endian: an interrupt as KVM's local APIC
 * code describes it (struct kvm_lapic_irq), to be delivered to the
 * destination host's matching vCPUs.
 */
struct bi_wire_ipi {
	u32 vector;		/* 0..255 */
	u32 dest_id;		/* APIC id or logical destination */
	u16 delivery_mode;	/* APIC_DM_* */
	u16 dest_mode;		/* APIC_DEST_PHYSICAL or APIC_DEST_LOGICAL */
	u16 trig_mode;		/* 0 edge, 1 level */
	u8 level;
	u8 shorthand;		/* APIC_DEST_* shorthand >> 18 */
	u8 msi_redir_hint;
	u8 flags;		/* BI_IPI_* */
	u16 origin;		/* BI_IPI_ONE_OF: the node that sent it first */
	u8 pad[4];		/* zero */
};

/*
 * A lowest-priority interrupt (or one with the MSI redirection hint) that
 * no vCPU of the nodes it passed matched: the node delivers it if one of
 * its vCPUs matches, else passes it to the next node in id order, until
 * it is back at @origin.
 */
#define BI_IPI_ONE_OF		0x01

#define BI_WIRE_IPI_LEN		24

/* A header in host byte order. */
struct bi_wire_hdr {
	u8 type;
	u8 flags;
	u16 src;
	u16 dst;
	u32 cluster;
	u32 src_boot;
	u32 dst_boot;
	u64 seq;		/* 64-bit; the low half on the wire */
	u64 ack;		/* 64-bit; the low half on the wire */
	u32 txid;
	u64 page;
	u16 payload_len;
	u16 frag_off;
	u16 frag_len;
};

/*
 * The MAC: out = MAC_key(a[0..alen) || b[0..blen)), 16 bytes. The kernel
 * binds it to its crypto library (keyed BLAKE2s-128); key and state live
 * behind priv.
 */
typedef void (*bi_mac_fn)(const void *priv, const u8 *a, size_t alen,
			  const u8 *b, size_t blen, u8 out[BI_WIRE_MAC_LEN]);

/*
 * The receiver's references for the extended sequence numbers of a frame
 * from node src: *rcv_nxt the next sequence number expected from src, and
 * *snd_nxt the next one this node sends to src (bi_link_seq_ref()). Called
 * by bi_wire_decode() once every field passed, before the MAC; it may run
 * concurrently with the link (the kernel's receive handler reads them
 * without the peer's lock): a stale value can only make the MAC fail,
 * and the link sends the frame again.
 */
typedef void (*bi_seq_ref_fn)(const void *priv, u16 src, u64 *rcv_nxt,
			      u64 *snd_nxt);

/* Codec context of one node; read-only once set up. */
struct bi_wire_ctx {
	u32 cluster;
	u16 self;
	u16 nr_nodes;		/* 2..BI_MAX_NODES */
	u64 nr_pages;		/* guest pages; page numbers are below */
	bi_mac_fn mac;
	const void *mac_priv;
	bi_seq_ref_fn seq_ref;	/* needed by bi_wire_decode() only */
	const void *seq_priv;
};

bool bi_wire_type_known(unsigned int type);
bool bi_wire_type_sequenced(unsigned int type);
bool bi_wire_type_coh(unsigned int type);
bool bi_wire_type_echo(unsigned int type);
bool bi_wire_type_ssi(unsigned int type);
const char *bi_wire_type_name(unsigned int type);
const char *bi_wire_drop_name(enum bi_wire_drop why);
const char *bi_reasm_drop_name(enum bi_reasm_drop why);

/*
 * Encode one frame: h (with h->src/cluster taken from ctx, h->dst given,
 * h->seq and h->ack 64-bit) and frag (h->frag_len bytes of the payload at
 * h->frag_off). Writes the 64-byte header with its MAC to hdr_out; the
 * frame is hdr_out followed by frag. Returns 0, or -EINVAL when h would
 * not pass bi_wire_decode().
 */
int bi_wire_encode(const struct bi_wire_ctx *ctx, const struct bi_wire_hdr *h,
		   const u8 *frag, u8 hdr_out[BI_WIRE_HDR_LEN]);

/*
 * Check one received frame of len bytes and decode its header into h; on
 * success *frag points at its h->frag_len payload bytes inside frame, and
 * h->seq and h->ack are the 64-bit values the sender used (extended
 * through ctx->seq_ref, then checked by the MAC). Everything is checked
 * before anything is trusted, MAC last but always.
 */
enum bi_wire_drop bi_wire_decode(const struct bi_wire_ctx *ctx,
				 const u8 *frame, size_t len,
				 struct bi_wire_hdr *h, const u8 **frag);

/*
 * The same for a frame received in two pieces: its BI_WIRE_HDR_LEN header
 * bytes at hdr, its payload_len payload bytes at payload.
 */
enum bi_wire_drop bi_wire_decode_split(const struct bi_wire_ctx *ctx,
				       const u8 *hdr, const u8 *payload,
				       size_t payload_len,
				       struct bi_wire_hdr *h);

/*
 * The low 32 bits of a received header's seq, unchecked: a hint for a
 * transport (whether a frame can only be a duplicate), never a fact.
 */
u32 bi_wire_peek_seq(const u8 *hdr);

/*
 * Reassembly of fragmented payloads. The caller provides the slots and
 * serializes calls on one struct bi_reasm (the kernel: the peer's lock).
 * A slot is keyed by (src, seq, type); a complete payload stays in its
 * slot until the next call on the same bi_reasm.
 */
#define BI_REASM_UNITS	(BI_PAGE_SIZE / 8)

struct bi_reasm_slot {
	struct bi_wire_hdr hdr;		/* first fragment's header */
	u64 started_ns;			/* 0: slot free */
	u16 got;			/* bytes received */
	u8 done;			/* complete, handed out */
	u8 map[BI_REASM_UNITS / 8];	/* received 8-byte units */
	u8 data[BI_PAGE_SIZE];
};

struct bi_reasm {
	struct bi_reasm_slot *slots;
	u32 nr_slots;
	u64 timeout_ns;
	u64 drops[BI_REASM_DROP_NR];
};

void bi_reasm_init(struct bi_reasm *r, struct bi_reasm_slot *slots, u32 nr,
		   u64 timeout_ns);
/*
 * Add a decoded fragment. Returns 1 and sets *payload when the payload is
 * complete (h is then the message's header with frag_off 0 and frag_len
 * payload_len), 0 when more pieces are needed, or -1 when the fragment was
 * dropped (counted in r->drops).
 */
int bi_reasm_add(struct bi_reasm *r, struct bi_wire_hdr *h, const u8 *frag,
		 u64 now, const u8 **payload);
/* Expire slots; returns the next deadline or 0. */
u64 bi_reasm_tick(struct bi_reasm *r, u64 now);
/* Forget every slot keyed with this src (peer restarted or declared dead). */
void bi_reasm_flush(struct bi_reasm *r, u16 src);

#endif /* _BIGIRON_WIRE_H */
