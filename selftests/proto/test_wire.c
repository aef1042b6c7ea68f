// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the wire codec and reassembly (wire.c):
 *   - the test MAC (SipHash-2-4) against the paper's test vector;
 *   - encode/decode round trips of every type, fragmented or not, and the
 *     byte layout against an independent encoder written here, the MAC
 *     covering the high halves of the 64-bit seq and ack;
 *   - extended sequence numbers: the receiver's reconstruction (nearest
 *     to its counters, across the 32-bit wrap), and a frame checked with
 *     a high half one off fails the MAC;
 *   - every validation failure returns its own reason, with a valid MAC
 *     (so the check itself is reached, not the MAC check), and the
 *     encoder refuses what the decoder would refuse;
 *   - reassembly: in order, out of order, duplicate, overlapping,
 *     oversize, mismatching, missing (timeout), no free slot, flush;
 *   - over the whole test, bi_wire_decode() returned every reason of its
 *     enum and the reassembly counted every reason of its own, as
 *     observed (w_decode(), test_reasm()), not as the cases expected.
 */
#include "common.h"
#include "link.h"

static const u8 w_key[16] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
};

static void w_mac(const void *priv, const u8 *a, size_t alen, const u8 *b,
		  size_t blen, u8 out[BI_WIRE_MAC_LEN])
{
	siphash24_128(priv, a, alen, b, blen, out);
}

/* The receiver's link counters, as w_seq_ref() reports them. */
static u64 w_rcv_nxt, w_snd_nxt;

static void w_seq_ref(const void *priv, u16 src, u64 *rcv_nxt, u64 *snd_nxt)
{
	(void)priv;
	if (src != 2)
		abort();
	*rcv_nxt = w_rcv_nxt;
	*snd_nxt = w_snd_nxt;
}

static const struct bi_wire_ctx w_rx = {
	.cluster = 0xc105, .self = 1, .nr_nodes = 4, .nr_pages = 1000,
	.mac = w_mac, .mac_priv = w_key, .seq_ref = w_seq_ref,
};

static const struct bi_wire_ctx w_tx = {
	.cluster = 0xc105, .self = 2, .nr_nodes = 4, .nr_pages = 1000,
	.mac = w_mac, .mac_priv = w_key,
};

/* Independent raw encoder: any field values, a valid MAC. */
struct raw {
	u8 magic, version, type, flags;
	u32 cluster;
	u16 src, dst;
	u32 ss, ds, seq, ack, txid;
	u64 page;
	u16 plen, foff, flen, resv;
	u32 seq_hi, ack_hi;	/* under the MAC only */
};

static size_t raw_encode(const struct raw *r, const u8 *frag, size_t flen,
			 u8 *out)
{
	out[0] = r->magic;
	out[1] = r->version;
	out[2] = r->type;
	out[3] = r->flags;
	bi_put_le32(out + 4, r->cluster);
	bi_put_le16(out + 8, r->src);
	bi_put_le16(out + 10, r->dst);
	bi_put_le32(out + 12, r->ss);
	bi_put_le32(out + 16, r->ds);
	bi_put_le32(out + 20, r->seq);
	bi_put_le32(out + 24, r->ack);
	bi_put_le32(out + 28, r->txid);
	bi_put_le64(out + 32, r->page);
	bi_put_le16(out + 40, r->plen);
	bi_put_le16(out + 42, r->foff);
	bi_put_le16(out + 44, r->flen);
	bi_put_le16(out + 46, r->resv);
	if (flen)
		memcpy(out + 64, frag, flen);
	/* the MAC: bytes 0..47, seq_hi, ack_hi (little-endian), payload */
	{
		u8 a[56];

		memcpy(a, out, 48);
		bi_put_le32(a + 48, r->seq_hi);
		bi_put_le32(a + 52, r->ack_hi);
		siphash24_128(w_key, a, 56, out + 64, flen, out + 48);
	}
	return 64 + flen;
}

static struct raw raw_good(void)
{
	struct raw r = {
		.magic = BI_WIRE_MAGIC, .version = BI_WIRE_VERSION,
		.type = BI_MSG_GET_S, .cluster = 0xc105, .src = 2, .dst = 1,
		.ss = 11, .ds = 22, .seq = 5, .ack = 6, .txid = 77,
		.page = 999,
	};
	return r;
}

static u8 w_page[BI_PAGE_SIZE];

/*
 * What the code returned, over the whole test: every result of
 * bi_wire_decode() (each call goes through w_decode()), and the drops the
 * reassembly counted. test_coverage() wants every reason in both; a case
 * that got the wrong reason fails on its own line and does not count for
 * the one it wanted.
 */
static u64 w_returned[BI_WIRE_DROP_NR + 1];	/* last: out of range */
static u64 w_reasm_counted[BI_REASM_DROP_NR];

static enum bi_wire_drop w_decode(const struct bi_wire_ctx *ctx,
				  const u8 *frame, size_t len,
				  struct bi_wire_hdr *h, const u8 **frag)
{
	enum bi_wire_drop why = bi_wire_decode(ctx, frame, len, h, frag);

	w_returned[(unsigned int)why < BI_WIRE_DROP_NR ? why :
		   BI_WIRE_DROP_NR]++;
	return why;
}

static enum bi_wire_drop raw_decode(const struct raw *r, size_t flen,
				    int len_delta)
{
	static u8 buf[BI_WIRE_MAX_FRAME + 64];
	struct bi_wire_hdr h;
	const u8 *frag;
	size_t len = raw_encode(r, w_page, flen, buf);

	return w_decode(&w_rx, buf, (size_t)((int)len + len_delta), &h, &frag);
}

static void test_siphash(void)
{
	u8 key[16], msg[15], out[16];
	unsigned int i;
	/* first 128-bit vector of the reference implementation */
	static const u8 v128[16] = {
		0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6,
		0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93,
	};

	for (i = 0; i < 16; i++)
		key[i] = (u8)i;
	for (i = 0; i < 15; i++)
		msg[i] = (u8)i;
	/* the paper, appendix A: key 00..0f, message 00..0e */
	tap_ok(siphash24_64(key, msg, 15) == 0xa129ca6149be45e5ULL,
	       "SipHash-2-4 paper test vector");
	siphash24_128(key, NULL, 0, NULL, 0, out);
	tap_ok(!memcmp(out, v128, 16), "SipHash-2-4-128 empty message");
	siphash24_128(key, msg, 7, msg + 7, 8, out);
	{
		u8 out2[16];

		siphash24_128(key, msg, 15, NULL, 0, out2);
		tap_ok(!memcmp(out, out2, 16),
		       "MAC of a split input equals MAC of the whole");
	}
}

static void test_roundtrip(void)
{
	static const u32 frags[] = { 4096, 1432, 1024, 512 };
	u8 hdr[BI_WIRE_HDR_LEN], frame[BI_WIRE_MAX_FRAME], raw[BI_WIRE_MAX_FRAME];
	unsigned int t, fi, bad = 0, n = 0, layout_bad = 0;
	u32 i;

	for (i = 0; i < BI_PAGE_SIZE; i++)
		w_page[i] = (u8)(i * 7 + 1);
	for (t = 0; t < BI_MSG_TYPE_MAX; t++) {
		int data;

		if (!bi_wire_type_known(t))
			continue;
		for (data = 0; data < 2; data++)
			for (fi = 0; fi < ARRAY_SIZE(frags); fi++) {
				struct bi_wire_hdr h = { 0 }, d;
				const u8 *frag;
				u32 off = 0;

				h.type = (u8)t;
				h.dst = 1;
				h.src_boot = 0x1234;
				h.dst_boot = t == BI_MSG_HELLO ? 0 : 0x5678;
				/* high halves under the MAC, not sent */
				if (bi_wire_type_sequenced(t))
					h.seq = (u64)(t + 1) << 32 | 42;
				if (t != BI_MSG_HELLO && t != BI_MSG_HELLO_ACK)
					h.ack = (u64)(t + 7) << 32 | 43;
				if (bi_wire_type_coh(t)) {
					h.txid = 0xdeadbeef;
					h.page = 998;
				}
				if (bi_wire_type_echo(t))
					h.txid = 0x600d;
				if (t == BI_MSG_CREDIT)
					h.txid = 0xfffffff0;
				if (t == BI_MSG_GET_X)
					h.flags = BI_WF_HAS_COPY;
				h.payload_len = data ? BI_PAGE_SIZE : 0;
				do {
					struct raw r = raw_good();
					size_t len;

					h.frag_off = (u16)off;
					h.frag_len = (u16)(h.payload_len - off <
							   frags[fi] ?
							   h.payload_len - off :
							   frags[fi]);
					if (bi_wire_encode(&w_tx, &h,
							   w_page + off, hdr))
						break;
					n++;
					memcpy(frame, hdr, sizeof(hdr));
					memcpy(frame + 64, w_page + off,
					       h.frag_len);
					/* the same bytes from the raw encoder */
					r.type = h.type;
					r.flags = h.flags;
					r.ss = h.src_boot;
					r.ds = h.dst_boot;
					r.seq = (u32)h.seq;
					r.ack = (u32)h.ack;
					r.seq_hi = (u32)(h.seq >> 32);
					r.ack_hi = (u32)(h.ack >> 32);
					r.txid = h.txid;
					r.page = h.page;
					r.plen = h.payload_len;
					r.foff = h.frag_off;
					r.flen = h.frag_len;
					len = raw_encode(&r, w_page + off,
							 h.frag_len, raw);
					if (len != 64u + h.frag_len ||
					    memcmp(raw, frame, len))
						layout_bad++;
					/* the receiver's counters, a bit off */
					w_rcv_nxt = h.seq + 3;
					w_snd_nxt = h.ack + 5;
					if (w_decode(&w_rx, frame,
						     64 + h.frag_len, &d,
						     &frag) != BI_WIRE_OK ||
					    d.type != h.type ||
					    d.flags != h.flags || d.src != 2 ||
					    d.dst != 1 ||
					    d.cluster != w_rx.cluster ||
					    d.seq != h.seq || d.ack != h.ack ||
					    d.txid != h.txid ||
					    d.page != h.page ||
					    d.src_boot != h.src_boot ||
					    d.dst_boot != h.dst_boot ||
					    d.payload_len != h.payload_len ||
					    d.frag_off != h.frag_off ||
					    d.frag_len != h.frag_len ||
					    memcmp(frag, w_page + off,
						   h.frag_len))
						bad++;
					off += h.frag_len;
				} while (off < h.payload_len);
			}
	}
	tap_ok(n > 100 && !bad, "encode/decode round trip: %u frames, %u bad",
	       n, bad);
	tap_ok(!layout_bad, "byte layout matches the documented offsets");
}

/*
 * bi_wire_decode_split(): a frame taken in two pieces (the RDMA
 * transport's header and page buffers) decodes as the whole frame does,
 * and a payload of another length or with one byte changed is refused.
 */
static void test_split(void)
{
	u8 hdr[BI_WIRE_HDR_LEN], page[BI_PAGE_SIZE];
	struct bi_wire_hdr h = { 0 }, d;
	enum bi_wire_drop ok, len, mac;
	u32 i;

	for (i = 0; i < BI_PAGE_SIZE; i++)
		page[i] = (u8)(i * 13 + 5);
	h.type = BI_MSG_DATA_S;
	h.dst = 1;
	h.src_boot = 0x1234;
	h.dst_boot = 0x5678;
	h.seq = 9ULL << 32 | 77;
	h.ack = 3ULL << 32 | 78;
	h.txid = 0xabcd;
	h.page = 998;
	h.payload_len = BI_PAGE_SIZE;
	h.frag_len = BI_PAGE_SIZE;
	if (bi_wire_encode(&w_tx, &h, page, hdr)) {
		tap_ok(0, "split decode: encode failed");
		return;
	}
	w_rcv_nxt = h.seq + 1;
	w_snd_nxt = h.ack + 1;
	ok = bi_wire_decode_split(&w_rx, hdr, page, BI_PAGE_SIZE, &d);
	tap_ok(ok == BI_WIRE_OK && d.type == h.type && d.seq == h.seq &&
	       d.ack == h.ack && d.page == h.page && d.txid == h.txid &&
	       d.frag_len == BI_PAGE_SIZE,
	       "split decode of a page frame: %s", bi_wire_drop_name(ok));
	len = bi_wire_decode_split(&w_rx, hdr, page, BI_PAGE_SIZE - 8, &d);
	page[4000] ^= 1;
	mac = bi_wire_decode_split(&w_rx, hdr, page, BI_PAGE_SIZE, &d);
	tap_ok(len == BI_WIRE_DROP_FRAME_LEN && mac == BI_WIRE_DROP_MAC,
	       "split decode refuses a short payload (%s) and a changed one (%s)",
	       bi_wire_drop_name(len), bi_wire_drop_name(mac));
}

/* ---- extended sequence numbers ------------------------------------------ */

#define W_2_32	(1ULL << 32)

static void test_seq_extend(void)
{
	static const struct {
		u64 ref;
		u32 lo;
		u64 want;
	} v[] = {
		{ 1, 1, 1 },
		{ 1, 40, 40 },
		{ 1, 0xfffffff0, 0xfffffff0 },		/* never below 0 */
		{ 0x7fffffff, 0xffffffff, 0xffffffff },
		{ 0x80000000, 0, 0 },
		{ W_2_32 - 1, 3, W_2_32 + 3 },		/* ahead, across */
		{ W_2_32 + 5, 0xfffffffe, W_2_32 - 2 },	/* behind, across */
		{ 5 * W_2_32 + 0x10, 0x10, 5 * W_2_32 + 0x10 },
		{ 5 * W_2_32, 0x7fffffff, 5 * W_2_32 + 0x7fffffff },
		{ 5 * W_2_32, 0x80000000, 4 * W_2_32 + 0x80000000 },
		{ 5 * W_2_32 + 0x80000000, 0x7fffffff,
		  5 * W_2_32 + 0x7fffffff },
		{ 5 * W_2_32 + 0x80000000, 0, 5 * W_2_32 },	/* tie */
		{ 5 * W_2_32 + 0x80000001, 0, 6 * W_2_32 },
	};
	unsigned int i, bad = 0;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		if (bi_seq_extend(v[i].ref, v[i].lo) != v[i].want) {
			tap_diag("bi_seq_extend(%llx, %x) = %llx, want %llx",
				 (unsigned long long)v[i].ref, v[i].lo,
				 (unsigned long long)bi_seq_extend(v[i].ref,
								   v[i].lo),
				 (unsigned long long)v[i].want);
			bad++;
		}
	tap_ok(!bad, "bi_seq_extend(): nearest to the reference, across the wrap, never below 0: %u cases, %u bad",
	       i, bad);
}

/*
 * Encode h (with a page if it has a payload) and decode it with the
 * receiver's counters at rcv and snd. Returns the reason; *d the result.
 */
static enum bi_wire_drop w_seq_case(const struct bi_wire_hdr *h, u64 rcv,
				    u64 snd, struct bi_wire_hdr *d)
{
	static u8 frame[BI_WIRE_MAX_FRAME];
	const u8 *frag;

	if (bi_wire_encode(&w_tx, h, w_page + h->frag_off, frame))
		abort();
	memcpy(frame + 64, w_page + h->frag_off, h->frag_len);
	w_rcv_nxt = rcv;
	w_snd_nxt = snd;
	return w_decode(&w_rx, frame, 64 + h->frag_len, d, &frag);
}

static void test_seq_hi(void)
{
	struct bi_wire_hdr h = {
		.type = BI_MSG_DATA_S, .dst = 1, .src_boot = 3, .dst_boot = 4,
		.seq = 5 * W_2_32 + 0x10, .ack = 9 * W_2_32 + 0x20,
		.txid = 1, .page = 2, .payload_len = BI_PAGE_SIZE,
		.frag_off = 1024, .frag_len = 1024,
	};
	struct bi_wire_hdr d;
	enum bi_wire_drop r[4];

	r[0] = w_seq_case(&h, h.seq + 2, h.ack - 3, &d);
	tap_ok(r[0] == BI_WIRE_OK && d.seq == h.seq && d.ack == h.ack,
	       "frame verifies with its seq_hi and ack_hi; decoded seq %llx ack %llx",
	       (unsigned long long)d.seq, (unsigned long long)d.ack);
	r[0] = w_seq_case(&h, h.seq + W_2_32, h.ack, &d);
	r[1] = w_seq_case(&h, h.seq - W_2_32, h.ack, &d);
	r[2] = w_seq_case(&h, h.seq, h.ack + W_2_32, &d);
	r[3] = w_seq_case(&h, h.seq, h.ack - W_2_32, &d);
	tap_ok(r[0] == BI_WIRE_DROP_MAC && r[1] == BI_WIRE_DROP_MAC &&
	       r[2] == BI_WIRE_DROP_MAC && r[3] == BI_WIRE_DROP_MAC,
	       "and fails the MAC checked with seq_hi + 1 (%s), seq_hi - 1 (%s), ack_hi + 1 (%s), ack_hi - 1 (%s)",
	       bi_wire_drop_name(r[0]), bi_wire_drop_name(r[1]),
	       bi_wire_drop_name(r[2]), bi_wire_drop_name(r[3]));

	/* the receiver's counters on the other side of the 32-bit wrap */
	h.seq = 6 * W_2_32 - 2;
	h.ack = 9 * W_2_32 + 1;
	r[0] = w_seq_case(&h, 6 * W_2_32 + 3, 9 * W_2_32 - 6, &d);
	tap_ok(r[0] == BI_WIRE_OK && d.seq == h.seq && d.ack == h.ack,
	       "counters across the wrap from the frame's: still verifies (seq %llx, ack %llx)",
	       (unsigned long long)d.seq, (unsigned long long)d.ack);

	/* a standalone ACK: its ack's high half is covered, seq is none */
	memset(&h, 0, sizeof(h));
	h.type = BI_MSG_ACK;
	h.dst = 1;
	h.src_boot = 3;
	h.dst_boot = 4;
	h.ack = 2 * W_2_32 + 7;
	r[0] = w_seq_case(&h, 77 * W_2_32, h.ack, &d);
	if (d.seq || d.ack != h.ack)
		r[0] = BI_WIRE_DROP_NR;
	r[1] = w_seq_case(&h, 0, h.ack + W_2_32, &d);
	tap_ok(r[0] == BI_WIRE_OK && r[1] == BI_WIRE_DROP_MAC,
	       "standalone ACK: verifies with its ack_hi whatever the seq counter (%s), fails with ack_hi + 1 (%s)",
	       bi_wire_drop_name(r[0]), bi_wire_drop_name(r[1]));

	/* the handshake binds no counter */
	h.type = BI_MSG_HELLO;
	h.ack = 0;
	h.dst_boot = 0;
	r[0] = w_seq_case(&h, 3 * W_2_32 + 5, 8 * W_2_32 + 1, &d);
	tap_ok(r[0] == BI_WIRE_OK && !d.seq && !d.ack,
	       "HELLO: seq_hi and ack_hi 0, verifies whatever the counters");

	/* no high half where the low one must be zero */
	h.seq = W_2_32;
	r[0] = bi_wire_encode(&w_tx, &h, NULL, (u8 [BI_WIRE_HDR_LEN]){ 0 });
	h.seq = 0;
	h.ack = W_2_32;
	r[1] = bi_wire_encode(&w_tx, &h, NULL, (u8 [BI_WIRE_HDR_LEN]){ 0 });
	tap_ok((int)r[0] == -EINVAL && (int)r[1] == -EINVAL,
	       "encoder refuses a seq or ack of 2^32 on a HELLO");
}

struct neg {
	const char *what;
	enum bi_wire_drop want;
	struct raw r;
	size_t flen;
	int len_delta;
};

static void test_rejects(void)
{
	struct neg cases[48];
	unsigned int n = 0, i;
	struct raw g = raw_good(), r;

	w_rcv_nxt = 0;
	w_snd_nxt = 0;
#define NEG(name, why, field, val) do {					\
		r = g;							\
		r.field = val;						\
		cases[n++] = (struct neg){ name, why, r, 0, 0 };	\
	} while (0)

	NEG("bad magic", BI_WIRE_DROP_MAGIC, magic, 0xb2);
	NEG("bad version", BI_WIRE_DROP_VERSION, version, BI_WIRE_VERSION + 1);
	NEG("type 0", BI_WIRE_DROP_TYPE, type, 0);
	NEG("type between ranges", BI_WIRE_DROP_TYPE, type, 9);
	NEG("type past the end", BI_WIRE_DROP_TYPE, type, BI_MSG_TYPE_MAX);
	NEG("flag not allowed", BI_WIRE_DROP_FLAGS, flags, BI_WF_HAS_COPY);
	NEG("unknown flag", BI_WIRE_DROP_FLAGS, flags, 0x80);
	NEG("other cluster", BI_WIRE_DROP_CLUSTER, cluster, 0xc106);
	NEG("src out of range", BI_WIRE_DROP_SRC, src, 4);
	NEG("src is self", BI_WIRE_DROP_SRC, src, 1);
	NEG("dst not self", BI_WIRE_DROP_DST, dst, 3);
	NEG("page out of range", BI_WIRE_DROP_PAGE, page, 1000);
	NEG("page huge", BI_WIRE_DROP_PAGE, page, ~0ULL);
	NEG("reserved field", BI_WIRE_DROP_RESERVED, resv, 1);
	NEG("no src boot nonce", BI_WIRE_DROP_RESERVED, ss, 0);
	NEG("no dst boot nonce", BI_WIRE_DROP_RESERVED, ds, 0);
	NEG("payload on a request", BI_WIRE_DROP_PAYLOAD_LEN, plen, 4096);
	r = g;
	r.type = BI_MSG_ACK;
	r.page = 0;
	r.txid = 0;
	r.seq = 0;
	g = r;
	NEG("page on a link type", BI_WIRE_DROP_PAGE, page, 1);
	NEG("txid on a link type", BI_WIRE_DROP_RESERVED, txid, 1);
	NEG("seq on an unsequenced type", BI_WIRE_DROP_RESERVED, seq, 1);
	g.type = BI_MSG_HELLO_ACK;
	g.ack = 0;
	NEG("ack on a handshake", BI_WIRE_DROP_RESERVED, ack, 1);
	g = raw_good();
	g.type = BI_MSG_PING;
	g.page = 0;
	NEG("page on a ping", BI_WIRE_DROP_PAGE, page, 1);
	NEG("short ping payload", BI_WIRE_DROP_PAYLOAD_LEN, plen, 100);
	NEG("flag on a ping", BI_WIRE_DROP_FLAGS, flags, BI_WF_HAS_COPY);
	g.type = BI_MSG_PONG;
	NEG("flag on a pong", BI_WIRE_DROP_FLAGS, flags, BI_WF_ERR);
	g.type = BI_MSG_USER;
	g.txid = 0;
	NEG("page on a user message", BI_WIRE_DROP_PAGE, page, 1);
	NEG("user message over a page", BI_WIRE_DROP_PAYLOAD_LEN, plen, 4097);
	NEG("txid on a user message", BI_WIRE_DROP_RESERVED, txid, 1);
	g.type = BI_MSG_CREDIT;
	NEG("page on a credit", BI_WIRE_DROP_PAGE, page, 1);
	NEG("payload on a credit", BI_WIRE_DROP_PAYLOAD_LEN, plen, 8);
	NEG("flag on a credit", BI_WIRE_DROP_FLAGS, flags, BI_WF_ERR);
	g = raw_good();
	g.type = BI_MSG_DATA_S;
	g.plen = 4096;
	g.flen = 1024;
	NEG("data without a page", BI_WIRE_DROP_PAYLOAD_LEN, plen, 0);
	NEG("short payload", BI_WIRE_DROP_PAYLOAD_LEN, plen, 2048);
	NEG("fragment past the payload", BI_WIRE_DROP_FRAG, foff, 3584);
	NEG("oversize fragment", BI_WIRE_DROP_FRAG, flen, 8192);
	NEG("empty fragment", BI_WIRE_DROP_FRAG, flen, 0);
	NEG("unaligned offset", BI_WIRE_DROP_FRAG, foff, 4);
	NEG("ragged middle fragment", BI_WIRE_DROP_FRAG, flen, 1001);
	r = raw_good();
	r.foff = 8;
	cases[n++] = (struct neg){ "fragment without payload",
				   BI_WIRE_DROP_FRAG, r, 0, 0 };
	cases[n++] = (struct neg){ "frame shorter than its fragment",
				   BI_WIRE_DROP_FRAME_LEN, g, 1024, -1 };
	cases[n++] = (struct neg){ "frame longer than its fragment",
				   BI_WIRE_DROP_FRAME_LEN, g, 1024, 1 };
	cases[n++] = (struct neg){ "shorter than a header",
				   BI_WIRE_DROP_SHORT, g, 1024, -1025 };
	for (i = 0; i < n; i++) {
		/* payload bytes in the frame: the fragment's, at most a page */
		size_t bytes = cases[i].flen ? cases[i].flen :
			       cases[i].r.flen > BI_PAGE_SIZE ? BI_PAGE_SIZE :
			       cases[i].r.flen;
		enum bi_wire_drop got = raw_decode(&cases[i].r, bytes,
						   cases[i].len_delta);

		tap_ok(got == cases[i].want, "reject %s: %s (got %s)",
		       cases[i].what, bi_wire_drop_name(cases[i].want),
		       bi_wire_drop_name(got));
	}
	{
		static u8 buf[BI_WIRE_MAX_FRAME];
		struct bi_wire_hdr h;
		const u8 *frag;
		size_t len = raw_encode(&g, w_page, 1024, buf);

		buf[48] ^= 0x40;
		tap_ok(w_decode(&w_rx, buf, len, &h, &frag) ==
		       BI_WIRE_DROP_MAC, "reject a wrong MAC: bad_mac");
		buf[48] ^= 0x40;
		buf[64 + 1023] ^= 1;
		tap_ok(w_decode(&w_rx, buf, len, &h, &frag) ==
		       BI_WIRE_DROP_MAC, "reject a changed payload: bad_mac");
		buf[64 + 1023] ^= 1;
		tap_ok(w_decode(&w_rx, buf, len, &h, &frag) ==
		       BI_WIRE_OK, "the unchanged frame passes");
	}
	{
		struct bi_wire_hdr h = { .type = BI_MSG_GET_S, .dst = 1,
					 .src_boot = 1, .dst_boot = 1,
					 .page = 1000 };
		u8 hdr[64];

		tap_ok(bi_wire_encode(&w_tx, &h, NULL, hdr) == -EINVAL,
		       "encoder refuses an invalid header");
	}
	for (i = 0; i < BI_WIRE_DROP_NR; i++)
		if (!bi_wire_drop_name(i) || !strcmp(bi_wire_drop_name(i), "unknown"))
			break;
	tap_ok(i == BI_WIRE_DROP_NR &&
	       !strcmp(bi_wire_drop_name(BI_WIRE_DROP_NR), "unknown"),
	       "every drop reason has a name");
#undef NEG
}

/* ---- reassembly ---------------------------------------------------------- */

static struct bi_wire_hdr frag_hdr(u32 seq, u16 off, u16 len)
{
	struct bi_wire_hdr h = {
		.type = BI_MSG_DATA_S, .src = 2, .dst = 1, .cluster = 0xc105,
		.src_boot = 9, .dst_boot = 8, .seq = seq, .txid = 5,
		.page = 3, .payload_len = BI_PAGE_SIZE, .frag_off = off,
		.frag_len = len,
	};
	return h;
}

static int add(struct bi_reasm *r, u32 seq, u16 off, u16 len, u64 now,
	       const u8 **out)
{
	struct bi_wire_hdr h = frag_hdr(seq, off, len);

	return bi_reasm_add(r, &h, w_page + off, now, out);
}

static void test_reasm(void)
{
	struct bi_reasm_slot slots[2];
	struct bi_reasm r;
	const u8 *out = NULL;
	int a, b, c, d;


	bi_reasm_init(&r, slots, 2, 1000);
	a = add(&r, 1, 0, 1432, 10, &out);
	b = add(&r, 1, 1432, 1432, 11, &out);
	c = add(&r, 1, 2864, 1232, 12, &out);
	tap_ok(a == 0 && b == 0 && c == 1 && !memcmp(out, w_page, 4096),
	       "reassembly in order");
	a = add(&r, 2, 2864, 1232, 20, &out);
	b = add(&r, 2, 0, 1432, 21, &out);
	c = add(&r, 2, 1432, 1432, 22, &out);
	tap_ok(a == 0 && b == 0 && c == 1 && !memcmp(out, w_page, 4096),
	       "reassembly out of order");
	a = add(&r, 3, 0, 2048, 30, &out);
	b = add(&r, 3, 0, 2048, 31, &out);
	tap_ok(a == 0 && b == -1 && r.drops[BI_REASM_DUP] == 1,
	       "duplicate fragment dropped: frag_dup");
	b = add(&r, 3, 1024, 2048, 32, &out);
	tap_ok(b == -1 && r.drops[BI_REASM_OVERLAP] == 1,
	       "overlapping fragment dropped: frag_overlap");
	c = add(&r, 3, 2048, 2048, 33, &out);
	tap_ok(c == 1 && !memcmp(out, w_page, 4096),
	       "message completes after the refused pieces");
	{
		struct bi_wire_hdr h = frag_hdr(4, 0, 1024);

		add(&r, 4, 0, 1024, 40, &out);
		h.frag_off = 1024;
		h.txid = 6;
		a = bi_reasm_add(&r, &h, w_page + 1024, 41, &out);
		tap_ok(a == -1 && r.drops[BI_REASM_MISMATCH] == 1,
		       "fragment with another header dropped: frag_mismatch");
	}
	a = add(&r, 5, 0, 1024, 50, &out);
	b = add(&r, 6, 0, 1024, 51, &out);
	tap_ok(a == 0 && b == -1 && r.drops[BI_REASM_FULL] == 1,
	       "no free slot: reasm_full");
	tap_ok(bi_reasm_tick(&r, 100) == 1040, "next deadline is the oldest");
	bi_reasm_tick(&r, 1040);
	tap_ok(r.drops[BI_REASM_TIMEOUT] == 1, "missing fragment: reasm_timeout");
	bi_reasm_tick(&r, 1050);
	a = add(&r, 6, 0, 1024, 1100, &out);
	b = add(&r, 7, 0, 1024, 1100, &out);
	tap_ok(r.drops[BI_REASM_TIMEOUT] == 2 && a == 0 && b == 0,
	       "expired slots are reused");
	bi_reasm_flush(&r, 2);
	a = add(&r, 6, 1024, 3072, 1200, &out);
	tap_ok(a == 0 && !slots[1].started_ns,
	       "flush forgets a restarted peer's pieces");
	bi_reasm_flush(&r, 2);
	{
		struct bi_wire_hdr h = frag_hdr(9, 0, 4096);

		d = bi_reasm_add(&r, &h, w_page, 1400, &out);
		tap_ok(d == 1 && out == w_page && !slots[0].started_ns,
		       "a whole payload in one frame needs no slot");
	}
	for (d = 0; d < BI_REASM_DROP_NR; d++)
		w_reasm_counted[d] += r.drops[d];
}

/* Every reason of both enums was returned (counted) at least once. */
static void test_coverage(void)
{
	char counts[512], missing[256];
	unsigned int i;
	size_t n;

	counts[0] = missing[0] = 0;
	for (i = 0; i < BI_WIRE_DROP_NR; i++) {
		n = strlen(counts);
		snprintf(counts + n, sizeof(counts) - n, "%s%s %llu",
			 i ? ", " : "", bi_wire_drop_name(i),
			 (unsigned long long)w_returned[i]);
		n = strlen(missing);
		if (!w_returned[i])
			snprintf(missing + n, sizeof(missing) - n, " %s",
				 bi_wire_drop_name(i));
	}
	tap_diag("bi_wire_decode() returned: %s", counts);
	tap_ok(!missing[0] && !w_returned[BI_WIRE_DROP_NR],
	       "bi_wire_decode() returned every drop reason%s%s; %llu out of range",
	       missing[0] ? ", but never:" : "", missing,
	       (unsigned long long)w_returned[BI_WIRE_DROP_NR]);

	counts[0] = missing[0] = 0;
	/* BI_REASM_OK is no drop: never counted */
	for (i = 1; i < BI_REASM_DROP_NR; i++) {
		n = strlen(counts);
		snprintf(counts + n, sizeof(counts) - n, "%s%s %llu",
			 i > 1 ? ", " : "", bi_reasm_drop_name(i),
			 (unsigned long long)w_reasm_counted[i]);
		n = strlen(missing);
		if (!w_reasm_counted[i])
			snprintf(missing + n, sizeof(missing) - n, " %s",
				 bi_reasm_drop_name(i));
	}
	tap_diag("reassembly counted: %s", counts);
	tap_ok(!missing[0], "reassembly counted every drop reason%s%s",
	       missing[0] ? ", but never:" : "", missing);
}

int main(void)
{
	test_siphash();
	test_roundtrip();
	test_split();
	test_seq_extend();
	test_seq_hi();
	test_rejects();
	test_reasm();
	test_coverage();
	return tap_exit();
}
