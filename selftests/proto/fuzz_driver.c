// SPDX-License-Identifier: GPL-2.0
/*
 * Deterministic driver for the fuzz target, without libFuzzer: builds
 * scripts of mostly well-formed frames from nodes 1 and 2 (right cluster,
 * boot nonces and sequence numbers near the expected ones, every message
 * type, fragments), local operations and timer runs, then damages some
 * bytes, and hands each script to LLVMFuzzerTestOneInput().
 *
 * Not crashing proves little if the scripts never get past the first
 * check, so the driver also asserts coverage, from what the code under
 * test returned or counted (fz_cover, see fuzz_wire.h), never from what it
 * meant to generate: every message type bi_wire_decode() accepted at least
 * once, and every drop reason of the decoder, the reassembly, the link and
 * the protocol counted at least once, but for the few in fz_unreachable[],
 * each with the reason why no input can reach it.
 *
 *   ./fuzz_driver [ITERATIONS [SEED]]
 *
 * (coverage is asserted for the run as given: a few reasons are rare, and
 * far fewer ITERATIONS than the default 200000 may miss them)
 */
#include "fuzz_wire.h"

static u8 in[16384];

/* Next sequence number each peer would use, as far as we can tell. */
static u32 next_seq[FZ_NODES];

static size_t gen_frame(struct rng *r, u8 *out)
{
	static const u16 frags[] = { 4096, 4096, 4096, 1432, 1024, 512, 8 };
	struct bi_wire_ctx ctx = {
		.cluster = FZ_CLUSTER, .nr_nodes = FZ_NODES,
		.nr_pages = FZ_PAGES, .mac = fz_zero_mac,
	};
	struct bi_wire_hdr h = { 0 };
	u16 fs = frags[rng_below(r, ARRAY_SIZE(frags))];
	u32 i;

	ctx.self = (u16)(1 + rng_below(r, 2));
	h.dst = 0;
	h.type = (u8)(rng_chance(r, 1, 8) ? rng_below(r, BI_MSG_TYPE_MAX) :
		      BI_MSG_GET_S + rng_below(r, BI_MSG_TYPE_MAX -
						  BI_MSG_GET_S));
	h.flags = (u8)(rng_chance(r, 1, 4) ? 1u << rng_below(r, 3) : 0);
	h.src_boot = FZ_PEER_BOOT(ctx.self);
	h.dst_boot = rng_chance(r, 1, 8) ? 0 : FZ_BOOT;
	if (bi_wire_type_sequenced(h.type))
		h.seq = rng_chance(r, 7, 8) ? next_seq[ctx.self] :
			(u32)(1 + rng_below(r, 6));
	if (h.type != BI_MSG_HELLO && h.type != BI_MSG_HELLO_ACK)
		h.ack = rng_chance(r, 3, 4) ? 1 : (u32)rng_below(r, 5);
	if (bi_wire_type_coh(h.type)) {
		h.txid = (u32)rng_below(r, 4);
		h.page = rng_below(r, FZ_PAGES);
	}
	if (h.type == BI_MSG_DATA_S || h.type == BI_MSG_FETCH_DATA ||
	    h.type == BI_MSG_PUT_DATA ||
	    (h.type == BI_MSG_DATA_X && rng_chance(r, 1, 2)))
		h.payload_len = BI_PAGE_SIZE;
	if (h.payload_len) {
		h.frag_off = (u16)(rng_below(r, 4096 / fs + 1) * fs);
		if (h.frag_off >= 4096)
			h.frag_off = 0;
		h.frag_len = (u16)(4096 - h.frag_off < fs ? 4096 - h.frag_off :
				   fs);
	}
	if (bi_wire_encode(&ctx, &h, out + 64, out))
		return 64;	/* refused: send the header bytes anyway */
	if (h.seq == next_seq[ctx.self] && h.frag_len == h.payload_len)
		next_seq[ctx.self]++;
	for (i = 0; i < h.frag_len; i++)
		out[64 + i] = (u8)i;
	return 64 + h.frag_len;
}

/*
 * Reasons no input of this target can reach, each because an earlier
 * layer already refuses what would lead to it. By name (as the layer's
 * *_drop_name() spells it), so the list reads like the output. A reason
 * listed here that the run does reach fails the test as well: the list
 * must not hide anything.
 */
static const struct {
	const char *layer, *name, *why;
} fz_unreachable[] = {
	{ "coh", "bad_node",
	  "the decoder takes only src 1 and 2, and a peer's link is DEAD "
	  "(delivers nothing) before bi_coh_mark_dead() is called" },
	{ "coh", "bad_page",
	  "the decoder refuses page >= nr_pages on every coherence type" },
	{ "coh", "bad_type",
	  "the link delivers known types only; the target hands coh.c the "
	  "coherence ones only" },
	{ "coh", "bad_data",
	  "the decoder enforces each type's payload length, the same rule" },
};

static const char *fz_type_name(unsigned int i)
{
	return bi_wire_type_known(i) ? bi_wire_type_name(i) : NULL;
}

static const char *fz_wire_name(unsigned int i)
{
	return bi_wire_drop_name(i);
}

static const char *fz_reasm_name(unsigned int i)
{
	return bi_reasm_drop_name(i);
}

static const char *fz_link_name(unsigned int i)
{
	return bi_link_drop_name(i);
}

static const char *fz_coh_name(unsigned int i)
{
	return bi_coh_drop_name(i);
}

/* Index 0 of the decoder's and the reassembly's enums is "ok", no reason. */
static const struct {
	const char *layer, *what;
	const u64 *count;
	unsigned int first, nr;
	const char *(*name)(unsigned int i);	/* NULL: not in the enum */
} fz_layers[] = {
	{ "type", "message type decoded", fz_cover.decoded, 0,
	  BI_MSG_TYPE_MAX, fz_type_name },
	{ "wire", "decoder drop reason", fz_cover.wire, 1, BI_WIRE_DROP_NR,
	  fz_wire_name },
	{ "reasm", "reassembly drop reason", fz_cover.reasm, 1,
	  BI_REASM_DROP_NR, fz_reasm_name },
	{ "link", "link drop reason", fz_cover.link, 0, BI_LINK_DROP_NR,
	  fz_link_name },
	{ "coh", "protocol drop reason", fz_cover.coh, 0, BI_COH_DROP_NR,
	  fz_coh_name },
};

static const char *fz_why_unreachable(const char *layer, const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fz_unreachable); i++)
		if (!strcmp(fz_unreachable[i].layer, layer) &&
		    !strcmp(fz_unreachable[i].name, name))
			return fz_unreachable[i].why;
	return NULL;
}

/* Append name to the comma-separated list in buf, as far as it fits. */
static void fz_list_add(char *buf, size_t size, const char *name)
{
	size_t n = strlen(buf);

	snprintf(buf + n, size - n, "%s%s", n ? ", " : "", name);
}

static void fz_check_coverage(void)
{
	char counts[1024], missing[512], wrong[256];
	unsigned int l, i, reached, total, skipped;

	for (l = 0; l < ARRAY_SIZE(fz_layers); l++) {
		counts[0] = missing[0] = wrong[0] = 0;
		reached = total = skipped = 0;
		for (i = fz_layers[l].first; i < fz_layers[l].nr; i++) {
			const char *name = fz_layers[l].name(i);
			u64 c = fz_layers[l].count[i];
			const char *why;
			size_t n;

			if (!name)
				continue;
			total++;
			n = strlen(counts);
			snprintf(counts + n, sizeof(counts) - n, "%s%s %llu",
				 n ? ", " : "", name, (unsigned long long)c);
			why = fz_why_unreachable(fz_layers[l].layer, name);
			if (why) {
				skipped++;
				if (c)
					fz_list_add(wrong, sizeof(wrong), name);
				else
					tap_diag("%s %s: not reachable: %s",
						 fz_layers[l].layer, name, why);
				continue;
			}
			if (c)
				reached++;
			else
				fz_list_add(missing, sizeof(missing), name);
		}
		tap_diag("%s: %s", fz_layers[l].layer, counts);
		tap_ok(!missing[0] && !wrong[0],
		       "fuzz driver: every %s reached: %u of %u, %u excluded%s%s%s%s",
		       fz_layers[l].what, reached, total - skipped, skipped,
		       missing[0] ? "; never reached: " : "", missing,
		       wrong[0] ? "; listed unreachable, but reached: " : "",
		       wrong);
	}
}

int main(int argc, char **argv)
{
	unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 0) : 200000;
	struct rng r = { .s = argc > 2 ? strtoull(argv[2], NULL, 0) : 1 };
	unsigned long it;
	u64 bytes = 0;

	for (it = 0; it < iters; it++) {
		size_t n = 0, steps = 1 + rng_below(&r, 24), s, k;

		in[n++] = (u8)(rng_chance(&r, 1, 16) ? 1 : 0);
		next_seq[1] = 1;
		next_seq[2] = 1;
		for (s = 0; s < steps && n < sizeof(in) - 4300; s++) {
			switch (rng_below(&r, 8)) {
			case 0:
				in[n++] = FZ_OP_LOCAL;
				in[n++] = (u8)rng_next(&r);
				break;
			case 1:
				in[n++] = FZ_OP_TIME;
				in[n++] = (u8)rng_below(&r, 64);
				break;
			case 2: {
				size_t len = rng_below(&r, 200);

				in[n++] = FZ_OP_FRAME;
				bi_put_le16(in + n, (u16)len);
				n += 2;
				for (k = 0; k < len; k++)
					in[n++] = (u8)rng_next(&r);
				break;
			}
			default: {
				size_t len;

				in[n++] = FZ_OP_FRAME;
				len = gen_frame(&r, in + n + 2);
				bi_put_le16(in + n, (u16)len);
				n += 2 + len;
				break;
			}
			}
		}
		/* damage a few bytes, sometimes */
		if (rng_chance(&r, 1, 3))
			for (k = rng_below(&r, 4); k > 0; k--)
				in[1 + rng_below(&r, n - 1)] ^=
					(u8)(1u << rng_below(&r, 8));
		bytes += n;
		LLVMFuzzerTestOneInput(in, n);
	}
	tap_diag("frames %llu, decoded %llu, delivered by the link %llu, to the protocol %llu",
		 (unsigned long long)fz_count[0], (unsigned long long)fz_count[1],
		 (unsigned long long)fz_count[2], (unsigned long long)fz_count[3]);
	tap_ok(true, "fuzz driver: %lu scripts, %llu bytes, no crash", iters,
	       (unsigned long long)bytes);
	fz_check_coverage();
	return tap_exit();
}
