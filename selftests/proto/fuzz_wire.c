// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target for everything a frame from the network reaches on node 0:
 * bi_wire_decode(), fragment reassembly, the link's receive path and the
 * coherence protocol's receive path, interleaved with local faults,
 * evictions and timers. The input is a script (see fuzz_wire.h). With the
 * first byte even the MAC is a constant zero (test-only) so that the
 * fuzzer can reach the layers behind it; with it odd the real SipHash MAC
 * checks every frame.
 *
 * Any sanitizer report, BI_WARN_ON() or broken local invariant (a mapping
 * beyond the node's rights) is a crash.
 *
 *   make fuzz && ./fuzz_wire -max_total_time=60
 */
#include "fuzz_wire.h"
#include "coh.h"
#include "link.h"

static const u8 fz_key[16] = "fuzzing-key-0123";
u64 fz_count[4];
struct fz_cover fz_cover;

void fz_zero_mac(const void *priv, const u8 *a, size_t alen, const u8 *b,
		 size_t blen, u8 out[16])
{
	(void)priv;
	(void)a;
	(void)alen;
	(void)b;
	(void)blen;
	memset(out, 0, 16);
}

static void fz_sip_mac(const void *priv, const u8 *a, size_t alen,
		       const u8 *b, size_t blen, u8 out[16])
{
	siphash24_128(priv, a, alen, b, blen, out);
}

static struct {
	struct bi_wire_ctx wire;
	struct bi_link link;
	struct bi_link_peer peer[FZ_NODES];
	struct bi_link_slot slots[FZ_NODES][4];
	u8 slot_data[FZ_NODES][4][BI_PAGE_SIZE];
	struct bi_reasm_slot rs[FZ_NODES];
	struct bi_reasm reasm;
	struct bi_reasm_slot rs2[2];
	struct bi_coh_node cn;
	struct bi_coh_stats st;
	struct bi_coh_local local[FZ_PAGES];
	struct bi_coh_dir dir[FZ_PAGES];
	u8 page[FZ_PAGES][BI_PAGE_SIZE];
	u8 map[FZ_PAGES];
	u64 now;
	u32 sink;
	u32 delivered;		/* messages the link delivered */
} F;

static void fz_seq_ref(const void *priv, u16 src, u64 *rcv_nxt,
		       u64 *snd_nxt)
{
	(void)priv;
	bi_link_seq_ref(&F.peer[src], rcv_nxt, snd_nxt);
}

static u16 f_home(void *priv, u64 page)
{
	(void)priv;
	return (u16)(page % FZ_NODES);
}

static struct bi_coh_dir *f_dir(void *priv, u64 page)
{
	return f_home(priv, page) == 0 ? &F.dir[page] : NULL;
}

static struct bi_coh_local *f_local(void *priv, u64 page)
{
	(void)priv;
	return &F.local[page];
}

static void f_send(void *priv, const struct bi_coh_msg *m, bool data)
{
	struct bi_wire_hdr h = {
		.type = m->type, .flags = m->flags, .txid = m->txid,
		.page = m->page, .payload_len = data ? BI_PAGE_SIZE : 0,
	};

	(void)priv;
	if (m->node == 0 || m->node >= FZ_NODES)
		abort();
	bi_link_send(&F.link, &F.peer[m->node], &h, F.page[m->page], F.now);
}

static void f_copy_in(void *priv, u64 page, const u8 *data)
{
	(void)priv;
	if (F.map[page])
		abort();
	memcpy(F.page[page], data, BI_PAGE_SIZE);
}

static void f_map_ro(void *priv, u64 page)
{
	(void)priv;
	F.map[page] = 1;
}

static void f_map_rw(void *priv, u64 page)
{
	(void)priv;
	F.map[page] = 2;
}

static void f_wrprotect(void *priv, u64 page)
{
	(void)priv;
	if (F.map[page] == 2)
		F.map[page] = 1;
}

static void f_unmap(void *priv, u64 page)
{
	(void)priv;
	F.map[page] = 0;
}

static void f_complete(void *priv, u64 page, int err)
{
	(void)priv;
	(void)page;
	(void)err;
}

static const struct bi_coh_ops f_coh_ops = {
	.home = f_home, .dir = f_dir, .local = f_local, .send = f_send,
	.copy_in = f_copy_in, .map_ro = f_map_ro, .map_rw = f_map_rw,
	.wrprotect = f_wrprotect, .unmap = f_unmap, .complete = f_complete,
};

static void f_xmit(void *priv, u16 peer, const u8 *hdr, const u8 *frag,
		   u16 frag_len)
{
	(void)priv;
	(void)peer;
	(void)hdr;
	(void)frag;
	(void)frag_len;
}

static void f_state(void *priv, u16 peer, enum bi_link_state st)
{
	(void)priv;
	if (st == BI_LINK_DEAD)
		bi_coh_mark_dead(&F.cn, peer);
}

static const struct bi_link_ops f_link_ops = {
	.xmit = f_xmit, .state = f_state,
};

static void f_setup(bool real_mac)
{
	struct bi_link_params lp;
	struct bi_coh_params cp;
	u16 n, j;

	memset(&F.st, 0, sizeof(F.st));
	memset(F.local, 0, sizeof(F.local));
	memset(F.dir, 0, sizeof(F.dir));
	memset(F.map, 0, sizeof(F.map));
	F.now = 1000;
	F.wire = (struct bi_wire_ctx){
		.cluster = FZ_CLUSTER, .self = 0, .nr_nodes = FZ_NODES,
		.nr_pages = FZ_PAGES,
		.mac = real_mac ? fz_sip_mac : fz_zero_mac,
		.mac_priv = fz_key, .seq_ref = fz_seq_ref,
	};
	bi_link_default_params(&lp);
	lp.max_retries = 3;
	lp.rto_init_ns = 10000;
	lp.rto_min_ns = 5000;
	lp.rto_max_ns = 40000;
	lp.hb_idle_ns = 100000;
	lp.reasm_timeout_ns = 50000;
	bi_coh_default_params(&cp);
	cp.qlen = 2;
	cp.req_timeout_ns = 200000;
	cp.home_timeout_ns = 400000;
	cp.retry_ns = 1000;
	if (bi_link_init(&F.link, &F.wire, &lp, &f_link_ops, NULL,
			 FZ_BOOT) ||
	    bi_coh_init(&F.cn, 0, FZ_NODES, FZ_PAGES, &cp, &f_coh_ops, NULL))
		abort();
	for (n = 1; n < FZ_NODES; n++) {
		for (j = 0; j < 4; j++)
			F.slots[n][j].data = F.slot_data[n][j];
		if (bi_link_peer_init(&F.link, &F.peer[n], n, F.slots[n], 4,
				      &F.rs[n], 1))
			abort();
		/* up, as after a handshake; peer 2 mid-handshake */
		F.peer[n].peer_boot = FZ_PEER_BOOT(n);
		F.peer[n].state = n == 1 ? BI_LINK_UP : BI_LINK_HELLO;
		F.peer[n].rtx_deadline = F.now + lp.rto_init_ns;
	}
	bi_reasm_init(&F.reasm, F.rs2, 2, 30000);
}

static void f_check(void)
{
	unsigned int p;

	for (p = 0; p < FZ_PAGES; p++) {
		if (F.map[p] == 2 && F.local[p].state != BI_L_EXCL)
			abort();
		if (F.map[p] == 1 && F.local[p].state == BI_L_INVALID)
			abort();
		if (F.local[p].state > BI_L_EXCL ||
		    F.local[p].pending > BI_P_PUT ||
		    F.dir[p].qlen > F.cn.params.qlen ||
		    F.dir[p].state > BI_D_BROKEN)
			abort();
	}
}

static void f_frame(const u8 *frame, size_t len)
{
	struct bi_wire_hdr h, h2;
	struct bi_link_msg m;
	const u8 *frag, *payload;
	enum bi_wire_drop why;
	u32 i;

	fz_count[0]++;
	why = bi_wire_decode(&F.wire, frame, len, &h, &frag);
	if ((unsigned int)why >= BI_WIRE_DROP_NR)
		abort();
	fz_cover.wire[why]++;
	if (why != BI_WIRE_OK)
		return;
	fz_count[1]++;
	if (h.src == 0 || h.src >= FZ_NODES || h.dst != 0 ||
	    h.frag_len > BI_PAGE_SIZE || !bi_wire_type_known(h.type))
		abort();
	fz_cover.decoded[h.type]++;
	h2 = h;
	/* touch every byte handed out, so that ASan checks the bounds */
	if (bi_reasm_add(&F.reasm, &h2, frag, F.now, &payload) == 1)
		for (i = 0; i < h2.payload_len; i++)
			F.sink += payload[i];
	if (!bi_link_rx(&F.link, &F.peer[h.src], &h, frag, F.now, &m))
		return;
	/* the kernel refuses what it has no room for: every 13th here */
	if (++F.delivered % 13 == 0) {
		bi_link_refuse(&F.peer[h.src], &m);
		return;
	}
	if (!bi_wire_type_echo(m.hdr.type) && !bi_wire_type_ssi(m.hdr.type)) {
		struct bi_coh_msg cm = {
			.type = m.hdr.type, .flags = m.hdr.flags,
			.node = m.hdr.src, .txid = m.hdr.txid,
			.page = m.hdr.page,
		};

		if (!bi_wire_type_coh(m.hdr.type) ||
		    (m.data && m.hdr.payload_len != BI_PAGE_SIZE))
			abort();
		u64 before = F.st.recv[cm.type];

		fz_count[2]++;
		bi_coh_recv(&F.cn, &F.st, &cm, m.data, F.now);
		fz_count[3] += F.st.recv[cm.type] != before;
	}
}

/* Add what this input's run counted to fz_cover (f_setup() resets it). */
static void f_tally(void)
{
	unsigned int n, k;

	for (k = 0; k < BI_REASM_DROP_NR; k++)
		fz_cover.reasm[k] += F.reasm.drops[k];
	for (n = 1; n < FZ_NODES; n++) {
		for (k = 0; k < BI_REASM_DROP_NR; k++)
			fz_cover.reasm[k] += F.peer[n].reasm.drops[k];
		for (k = 0; k < BI_LINK_DROP_NR; k++)
			fz_cover.link[k] += F.peer[n].stats.drops[k];
	}
	for (k = 0; k < BI_COH_DROP_NR; k++)
		fz_cover.coh[k] += F.st.drops[k];
}

static void f_run(const u8 *data, size_t size)
{
	size_t i = 1;
	u16 n, p;

	while (i < size) {
		u8 op = data[i++];
		size_t len;

		switch (op % 4) {
		case FZ_OP_FRAME:
		case 1:
			if (i + 2 > size)
				return;
			len = bi_get_le16(data + i) % (BI_WIRE_MAX_FRAME + 64);
			i += 2;
			if (len > size - i)
				len = size - i;
			f_frame(data + i, len);
			i += len;
			break;
		case FZ_OP_LOCAL:
			if (i >= size)
				return;
			p = data[i] % FZ_PAGES;
			switch (data[i] / 4 % 4) {
			case 0:
				bi_coh_access(&F.cn, &F.st, p, false, F.now);
				break;
			case 1:
				bi_coh_access(&F.cn, &F.st, p, true, F.now);
				break;
			case 2:
				bi_coh_evict(&F.cn, &F.st, p, F.now);
				break;
			default:
				bi_coh_tick(&F.cn, &F.st, p, F.now);
				break;
			}
			i++;
			break;
		default:
			if (i >= size)
				return;
			F.now += (u64)data[i++] * 1000;
			for (n = 1; n < FZ_NODES; n++)
				bi_link_tick(&F.link, &F.peer[n], F.now);
			bi_reasm_tick(&F.reasm, F.now);
			for (p = 0; p < FZ_PAGES; p++)
				bi_coh_tick(&F.cn, &F.st, p, F.now);
			break;
		}
		f_check();
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	if (!size)
		return 0;
	f_setup(data[0] & 1);
	f_run(data, size);
	f_tally();
	return 0;
}
