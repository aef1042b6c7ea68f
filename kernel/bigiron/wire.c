// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron: wire codec and fragment reassembly, pure C.
 *
 * Locking: none inside. bi_wire_encode() and bi_wire_decode() only read
 * their context and may run concurrently; a struct bi_reasm is used under
 * its owner's lock (the kernel: the peer's lock).
 *
 * Nothing from the network is trusted before bi_wire_decode() accepted
 * it, and it checks every field before it computes the MAC, so a forged
 * frame costs one bounded parse and never more than one MAC. The MAC
 * also covers the high halves of the 64-bit seq and ack (wire.h), which
 * the receiver reconstructs from its link's counters: a frame of an
 * earlier wrap of the 32-bit fields fails it like a forged one, since
 * telling the two apart would cost a second MAC.
 */
#include "pure.h"
#include <bigiron/wire.h>

#define BI_DATA_NEVER	0
#define BI_DATA_ALWAYS	1
#define BI_DATA_MAYBE	2
#define BI_DATA_ANY	3	/* 0..BI_PAGE_SIZE bytes */

struct bi_type_info {
	const char *name;
	u8 flags;		/* allowed BI_WF_* */
	u8 data;		/* BI_DATA_* */
	bool seq;		/* carries a link sequence number */
	bool coh;		/* for the coherence protocol */
};

static const struct bi_type_info bi_types[BI_MSG_TYPE_MAX] = {
	[BI_MSG_HELLO] = { "hello", 0, BI_DATA_NEVER, false, false },
	[BI_MSG_HELLO_ACK] = { "hello_ack", 0, BI_DATA_NEVER, false, false },
	[BI_MSG_ACK] = { "ack", 0, BI_DATA_NEVER, false, false },
	[BI_MSG_HEARTBEAT] = { "heartbeat", 0, BI_DATA_NEVER, true, false },
	[BI_MSG_GET_S] = { "get_s", 0, BI_DATA_NEVER, true, true },
	[BI_MSG_GET_X] = { "get_x", BI_WF_HAS_COPY, BI_DATA_NEVER, true,
			   true },
	[BI_MSG_PUT] = { "put", 0, BI_DATA_NEVER, true, true },
	[BI_MSG_DATA_S] = { "data_s", 0, BI_DATA_ALWAYS, true, true },
	[BI_MSG_DATA_X] = { "data_x", 0, BI_DATA_MAYBE, true, true },
	[BI_MSG_NACK] = { "nack", BI_WF_ERR, BI_DATA_NEVER, true, true },
	[BI_MSG_PUT_ACK] = { "put_ack", BI_WF_WANT_DATA, BI_DATA_NEVER, true,
			     true },
	[BI_MSG_INV] = { "inv", 0, BI_DATA_NEVER, true, true },
	[BI_MSG_INV_ACK] = { "inv_ack", 0, BI_DATA_NEVER, true, true },
	[BI_MSG_FETCH] = { "fetch", 0, BI_DATA_NEVER, true, true },
	[BI_MSG_FETCH_INV] = { "fetch_inv", 0, BI_DATA_NEVER, true, true },
	[BI_MSG_FETCH_DATA] = { "fetch_data", 0, BI_DATA_ALWAYS, true,
				true },
	[BI_MSG_PUT_DATA] = { "put_data", 0, BI_DATA_ALWAYS, true, true },
	[BI_MSG_PING] = { "ping", 0, BI_DATA_MAYBE, true, false },
	[BI_MSG_PONG] = { "pong", 0, BI_DATA_MAYBE, true, false },
	[BI_MSG_IPI] = { "ipi", 0, BI_DATA_ANY, true, false },
	[BI_MSG_USER] = { "user", 0, BI_DATA_ANY, true, false },
	[BI_MSG_CREDIT] = { "credit", 0, BI_DATA_NEVER, true, false },
};

static const char * const bi_wire_drop_names[BI_WIRE_DROP_NR] = {
	[BI_WIRE_OK] = "ok",
	[BI_WIRE_DROP_SHORT] = "short",
	[BI_WIRE_DROP_MAGIC] = "bad_magic",
	[BI_WIRE_DROP_VERSION] = "bad_version",
	[BI_WIRE_DROP_TYPE] = "bad_type",
	[BI_WIRE_DROP_FLAGS] = "bad_flags",
	[BI_WIRE_DROP_CLUSTER] = "bad_cluster",
	[BI_WIRE_DROP_SRC] = "bad_src",
	[BI_WIRE_DROP_DST] = "bad_dst",
	[BI_WIRE_DROP_PAGE] = "bad_page",
	[BI_WIRE_DROP_RESERVED] = "reserved_set",
	[BI_WIRE_DROP_PAYLOAD_LEN] = "bad_payload_len",
	[BI_WIRE_DROP_FRAME_LEN] = "bad_frame_len",
	[BI_WIRE_DROP_FRAG] = "bad_fragment",
	[BI_WIRE_DROP_MAC] = "bad_mac",
};

static const char * const bi_reasm_drop_names[BI_REASM_DROP_NR] = {
	[BI_REASM_OK] = "ok",
	[BI_REASM_DUP] = "frag_dup",
	[BI_REASM_OVERLAP] = "frag_overlap",
	[BI_REASM_MISMATCH] = "frag_mismatch",
	[BI_REASM_FULL] = "reasm_full",
	[BI_REASM_TIMEOUT] = "reasm_timeout",
};

bool bi_wire_type_known(unsigned int type)
{
	return type < BI_MSG_TYPE_MAX && bi_types[type].name;
}

bool bi_wire_type_sequenced(unsigned int type)
{
	return bi_wire_type_known(type) && bi_types[type].seq;
}

bool bi_wire_type_coh(unsigned int type)
{
	return bi_wire_type_known(type) && bi_types[type].coh;
}

/* PING and PONG: sequenced, with a txid, for the link's user. */
bool bi_wire_type_echo(unsigned int type)
{
	return type == BI_MSG_PING || type == BI_MSG_PONG;
}

bool bi_wire_type_ssi(unsigned int type)
{
	return type == BI_MSG_IPI || type == BI_MSG_USER ||
	       type == BI_MSG_CREDIT;
}

const char *bi_wire_type_name(unsigned int type)
{
	return bi_wire_type_known(type) ? bi_types[type].name : "unknown";
}

const char *bi_wire_drop_name(enum bi_wire_drop why)
{
	if ((unsigned int)why >= BI_WIRE_DROP_NR)
		return "unknown";
	return bi_wire_drop_names[why];
}

const char *bi_reasm_drop_name(enum bi_reasm_drop why)
{
	if ((unsigned int)why >= BI_REASM_DROP_NR)
		return "unknown";
	return bi_reasm_drop_names[why];
}

/* HELLO and HELLO_ACK carry no ack (nor seq): the rest carry an ack. */
static bool bi_wire_type_acks(unsigned int type)
{
	return type != BI_MSG_HELLO && type != BI_MSG_HELLO_ACK;
}

/* Every check that does not need the frame bytes, for both directions. */
static enum bi_wire_drop bi_wire_check(const struct bi_wire_ctx *ctx,
				       const struct bi_wire_hdr *h,
				       bool rx)
{
	const struct bi_type_info *ti;
	u32 end;

	if (!bi_wire_type_known(h->type))
		return BI_WIRE_DROP_TYPE;
	ti = &bi_types[h->type];
	if (h->flags & ~ti->flags)
		return BI_WIRE_DROP_FLAGS;
	if (h->cluster != ctx->cluster)
		return BI_WIRE_DROP_CLUSTER;
	if (rx) {
		if (h->src >= ctx->nr_nodes || h->src == ctx->self)
			return BI_WIRE_DROP_SRC;
		if (h->dst != ctx->self)
			return BI_WIRE_DROP_DST;
	} else {
		if (h->src != ctx->self)
			return BI_WIRE_DROP_SRC;
		if (h->dst >= ctx->nr_nodes || h->dst == ctx->self)
			return BI_WIRE_DROP_DST;
	}
	if (ti->coh ? h->page >= ctx->nr_pages : h->page != 0)
		return BI_WIRE_DROP_PAGE;
	/* fields a type does not use must be zero */
	if (!h->src_boot)
		return BI_WIRE_DROP_RESERVED;
	if (!ti->coh && !bi_wire_type_echo(h->type) &&
	    h->type != BI_MSG_CREDIT && h->txid)
		return BI_WIRE_DROP_RESERVED;
	if (!ti->seq && h->seq)
		return BI_WIRE_DROP_RESERVED;
	if (!bi_wire_type_acks(h->type) && h->ack)
		return BI_WIRE_DROP_RESERVED;
	if (h->type != BI_MSG_HELLO && !h->dst_boot)
		return BI_WIRE_DROP_RESERVED;
	switch (ti->data) {
	case BI_DATA_NEVER:
		if (h->payload_len)
			return BI_WIRE_DROP_PAYLOAD_LEN;
		break;
	case BI_DATA_ALWAYS:
		if (h->payload_len != BI_PAGE_SIZE)
			return BI_WIRE_DROP_PAYLOAD_LEN;
		break;
	case BI_DATA_ANY:
		if (h->payload_len > BI_PAGE_SIZE)
			return BI_WIRE_DROP_PAYLOAD_LEN;
		break;
	default:
		if (h->payload_len && h->payload_len != BI_PAGE_SIZE)
			return BI_WIRE_DROP_PAYLOAD_LEN;
		break;
	}
	end = (u32)h->frag_off + h->frag_len;
	if (!h->payload_len) {
		if (h->frag_off || h->frag_len)
			return BI_WIRE_DROP_FRAG;
	} else if (!h->frag_len || end > h->payload_len ||
		   h->frag_off % 8 ||
		   (h->frag_len % 8 && end != h->payload_len)) {
		return BI_WIRE_DROP_FRAG;
	}
	return BI_WIRE_OK;
}

static void bi_wire_put_hdr(const struct bi_wire_hdr *h, u8 *b)
{
	b[0] = BI_WIRE_MAGIC;
	b[1] = BI_WIRE_VERSION;
	b[2] = h->type;
	b[3] = h->flags;
	bi_put_le32(b + 4, h->cluster);
	bi_put_le16(b + 8, h->src);
	bi_put_le16(b + 10, h->dst);
	bi_put_le32(b + 12, h->src_boot);
	bi_put_le32(b + 16, h->dst_boot);
	bi_put_le32(b + 20, (u32)h->seq);
	bi_put_le32(b + 24, (u32)h->ack);
	bi_put_le32(b + 28, h->txid);
	bi_put_le64(b + 32, h->page);
	bi_put_le16(b + 40, h->payload_len);
	bi_put_le16(b + 42, h->frag_off);
	bi_put_le16(b + 44, h->frag_len);
	bi_put_le16(b + 46, 0);
}

/*
 * The MAC of a frame (wire.h): header bytes 0..47, the high halves of seq
 * and ack, then the frag_len payload bytes.
 */
static void bi_wire_mac(const struct bi_wire_ctx *ctx, const u8 *hdr,
			const struct bi_wire_hdr *h, const u8 *frag,
			u8 out[BI_WIRE_MAC_LEN])
{
	u8 a[BI_WIRE_MAC_OFF + 8];

	memcpy(a, hdr, BI_WIRE_MAC_OFF);
	bi_put_le32(a + BI_WIRE_MAC_OFF, (u32)(h->seq >> 32));
	bi_put_le32(a + BI_WIRE_MAC_OFF + 4, (u32)(h->ack >> 32));
	ctx->mac(ctx->mac_priv, a, sizeof(a), frag, h->frag_len, out);
}

int bi_wire_encode(const struct bi_wire_ctx *ctx, const struct bi_wire_hdr *h,
		   const u8 *frag, u8 hdr_out[BI_WIRE_HDR_LEN])
{
	struct bi_wire_hdr t = *h;

	t.src = ctx->self;
	t.cluster = ctx->cluster;
	if (bi_wire_check(ctx, &t, false) != BI_WIRE_OK)
		return -EINVAL;
	bi_wire_put_hdr(&t, hdr_out);
	bi_wire_mac(ctx, hdr_out, &t, frag, hdr_out + BI_WIRE_MAC_OFF);
	return 0;
}

enum bi_wire_drop bi_wire_decode_split(const struct bi_wire_ctx *ctx,
				       const u8 *hdr, const u8 *payload,
				       size_t payload_len,
				       struct bi_wire_hdr *h)
{
	u8 mac[BI_WIRE_MAC_LEN];
	enum bi_wire_drop why;
	unsigned int i, diff;
	u64 rcv_nxt, snd_nxt;

	if (hdr[0] != BI_WIRE_MAGIC)
		return BI_WIRE_DROP_MAGIC;
	if (hdr[1] != BI_WIRE_VERSION)
		return BI_WIRE_DROP_VERSION;
	h->type = hdr[2];
	h->flags = hdr[3];
	h->cluster = bi_get_le32(hdr + 4);
	h->src = bi_get_le16(hdr + 8);
	h->dst = bi_get_le16(hdr + 10);
	h->src_boot = bi_get_le32(hdr + 12);
	h->dst_boot = bi_get_le32(hdr + 16);
	h->seq = bi_get_le32(hdr + 20);
	h->ack = bi_get_le32(hdr + 24);
	h->txid = bi_get_le32(hdr + 28);
	h->page = bi_get_le64(hdr + 32);
	h->payload_len = bi_get_le16(hdr + 40);
	h->frag_off = bi_get_le16(hdr + 42);
	h->frag_len = bi_get_le16(hdr + 44);
	if (bi_get_le16(hdr + 46))
		return BI_WIRE_DROP_RESERVED;
	why = bi_wire_check(ctx, h, true);
	if (why != BI_WIRE_OK)
		return why;
	if (payload_len != h->frag_len)
		return BI_WIRE_DROP_FRAME_LEN;
	/* the high halves the sender should have used, for the MAC */
	ctx->seq_ref(ctx->seq_priv, h->src, &rcv_nxt, &snd_nxt);
	if (bi_types[h->type].seq)
		h->seq = bi_seq_extend(rcv_nxt, (u32)h->seq);
	if (bi_wire_type_acks(h->type))
		h->ack = bi_seq_extend(snd_nxt, (u32)h->ack);
	bi_wire_mac(ctx, hdr, h, payload, mac);
	/* constant time: no early exit on the first differing byte */
	for (i = 0, diff = 0; i < BI_WIRE_MAC_LEN; i++)
		diff |= mac[i] ^ hdr[BI_WIRE_MAC_OFF + i];
	if (diff)
		return BI_WIRE_DROP_MAC;
	return BI_WIRE_OK;
}

enum bi_wire_drop bi_wire_decode(const struct bi_wire_ctx *ctx,
				 const u8 *frame, size_t len,
				 struct bi_wire_hdr *h, const u8 **frag)
{
	enum bi_wire_drop why;

	if (len < BI_WIRE_HDR_LEN)
		return BI_WIRE_DROP_SHORT;
	why = bi_wire_decode_split(ctx, frame, frame + BI_WIRE_HDR_LEN,
				   len - BI_WIRE_HDR_LEN, h);
	if (why == BI_WIRE_OK)
		*frag = frame + BI_WIRE_HDR_LEN;
	return why;
}

u32 bi_wire_peek_seq(const u8 *hdr)
{
	return bi_get_le32(hdr + 20);
}

/* ---- reassembly -------------------------------------------------------- */

void bi_reasm_init(struct bi_reasm *r, struct bi_reasm_slot *slots, u32 nr,
		   u64 timeout_ns)
{
	memset(r, 0, sizeof(*r));
	r->slots = slots;
	r->nr_slots = nr;
	r->timeout_ns = timeout_ns;
	memset(slots, 0, nr * sizeof(*slots));
}

static void bi_reasm_free(struct bi_reasm_slot *s)
{
	s->started_ns = 0;
	s->done = 0;
	s->got = 0;
}

/* Same message? Every field but the fragment's own and the ack. */
static bool bi_reasm_same(const struct bi_wire_hdr *a,
			  const struct bi_wire_hdr *b)
{
	return a->type == b->type && a->flags == b->flags &&
	       a->src == b->src && a->dst == b->dst &&
	       a->cluster == b->cluster &&
	       a->src_boot == b->src_boot &&
	       a->dst_boot == b->dst_boot && a->seq == b->seq &&
	       a->txid == b->txid && a->page == b->page &&
	       a->payload_len == b->payload_len;
}

int bi_reasm_add(struct bi_reasm *r, struct bi_wire_hdr *h, const u8 *frag,
		 u64 now, const u8 **payload)
{
	struct bi_reasm_slot *s = NULL, *free = NULL;
	unsigned int first, last, u, set;
	u32 i;

	for (i = 0; i < r->nr_slots; i++)
		if (r->slots[i].done)
			bi_reasm_free(&r->slots[i]);
	if (h->frag_len == h->payload_len) {
		*payload = frag;
		return 1;
	}
	for (i = 0; i < r->nr_slots; i++) {
		struct bi_reasm_slot *t = &r->slots[i];

		if (!t->started_ns) {
			if (!free)
				free = t;
			continue;
		}
		if (t->hdr.src == h->src && t->hdr.seq == h->seq &&
		    t->hdr.src_boot == h->src_boot) {
			s = t;
			break;
		}
	}
	if (s && !bi_reasm_same(&s->hdr, h)) {
		r->drops[BI_REASM_MISMATCH]++;
		return -1;
	}
	if (!s) {
		if (!free) {
			r->drops[BI_REASM_FULL]++;
			return -1;
		}
		s = free;
		s->hdr = *h;
		s->started_ns = now ? now : 1;
		s->got = 0;
		memset(s->map, 0, sizeof(s->map));
	}
	first = h->frag_off / 8;
	last = (h->frag_off + h->frag_len + 7) / 8;
	for (u = first, set = 0; u < last; u++)
		set += (s->map[u / 8] >> (u % 8)) & 1;
	if (set) {
		r->drops[set == last - first ? BI_REASM_DUP :
			 BI_REASM_OVERLAP]++;
		return -1;
	}
	for (u = first; u < last; u++)
		s->map[u / 8] |= 1 << (u % 8);
	memcpy(s->data + h->frag_off, frag, h->frag_len);
	s->got += h->frag_len;
	if (s->got < s->hdr.payload_len)
		return 0;
	s->done = 1;
	s->hdr.ack = h->ack;
	*h = s->hdr;
	h->frag_off = 0;
	h->frag_len = h->payload_len;
	*payload = s->data;
	return 1;
}

u64 bi_reasm_tick(struct bi_reasm *r, u64 now)
{
	u64 next = 0;
	u32 i;

	for (i = 0; i < r->nr_slots; i++) {
		struct bi_reasm_slot *s = &r->slots[i];

		if (!s->started_ns)
			continue;
		if (s->done) {
			bi_reasm_free(s);
			continue;
		}
		if (now >= s->started_ns + r->timeout_ns) {
			r->drops[BI_REASM_TIMEOUT]++;
			bi_reasm_free(s);
			continue;
		}
		next = bi_min_deadline(next, s->started_ns + r->timeout_ns);
	}
	return next;
}

void bi_reasm_flush(struct bi_reasm *r, u16 src)
{
	u32 i;

	for (i = 0; i < r->nr_slots; i++)
		if (r->slots[i].started_ns && r->slots[i].hdr.src == src)
			bi_reasm_free(&r->slots[i]);
}
