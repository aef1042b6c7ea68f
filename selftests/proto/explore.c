// SPDX-License-Identifier: GPL-2.0
/*
 * Exhaustive explorer of the coherence protocol on tiny configurations.
 *
 * The nodes run the real coh.c. Between every ordered pair of nodes there
 * is a FIFO channel: that is what the link layer guarantees (reliable,
 * in order per pair, no loss, no duplicate; a lost or duplicated frame is
 * the link's business and never reaches the protocol). Messages on
 * different pairs are delivered in every possible relative order.
 *
 * From the initial state a depth-first search takes every enabled
 * transition:
 *   - a node starts an operation (read or write of a page by its vCPU,
 *     evicting its copy, or in some configurations asking for a copy
 *     ahead with bi_coh_prefetch()), while the operation budget lasts;
 *   - a vCPU woken by complete() retries its access;
 *   - the head message of any non-empty channel is delivered;
 *   - a NACKed request is resent (time is frozen: retry delay 0).
 * States are hashed after canonicalisation (transaction ids made relative,
 * stale queue slots cleared) so that equivalent states are explored once;
 * the hash is a 64-bit fingerprint, so a collision could hide a state with
 * probability about states^2 / 2^65.
 *
 * After every transition the invariants are checked:
 *   SWMR   at most one node holds a page writable (state or mapping), and
 *          then nobody else holds it readable;
 *   value  every node that holds a page readable has exactly the value of
 *          the last completed write to it; a read returns that value; the
 *          home's copy is current whenever the directory says so;
 *   maps   a mapping never exceeds the node's rights; data is copied out
 *          only with write access revoked and copied in only unmapped;
 *   clean  no message is dropped, no error is returned, no channel
 *          overflows.
 * A state without enabled transitions must be quiescent: no operation
 * waiting, no message in flight, no request outstanding, every home idle
 * with an empty queue. Anything else is a deadlock.
 */
#include <time.h>
#include "common.h"
#include "coh.h"

#define X_MAXN	3
#define X_MAXP	2
#define X_CHCAP	6

enum { V_IDLE, V_READ, V_WRITE };
enum { M_NONE, M_RO, M_RW };

struct xmsg {
	u8 type;
	u8 flags;
	u8 page;
	u8 has_data;
	u32 txid;
	u64 data;
};

struct xchan {
	u32 len;
	u32 pad;
	struct xmsg m[X_CHCAP];
};

struct xnode {
	struct bi_coh_local local[X_MAXP];
	struct bi_coh_dir dir[X_MAXP];
	u64 val[X_MAXP];
	u8 map[X_MAXP];
	u8 vop;			/* V_* */
	u8 vpage;
	u8 vblocked;		/* waiting for complete() */
	u8 pad[3];
};

struct xstate {
	struct xnode n[X_MAXN];
	struct xchan ch[X_MAXN][X_MAXN];
	u64 last[X_MAXP];
	u64 writes;
	u32 ops_left;
	u32 pad;
};

struct xcfg {
	unsigned int nodes, pages, ops, qlen;
	bool evict;
	bool prefetch;
};

/* Current exploration: the state being stepped and the acting node. */
static struct {
	const struct xcfg *cfg;
	struct xstate *s;
	unsigned int node;
	struct bi_coh_node cn[X_MAXN];
	struct bi_coh_stats st;
	const char *err;
	unsigned long long states, transitions, terminal, max_depth;
	u64 *seen;
	u64 seen_mask;
	u64 seen_count;
} X;

static void x_fail(const char *why)
{
	if (!X.err)
		X.err = why;
}

/* ---- callbacks ------------------------------------------------------- */

static u16 x_home(void *priv, u64 page)
{
	(void)priv;
	return (u16)(page % X.cfg->nodes);
}

static struct bi_coh_dir *x_dir(void *priv, u64 page)
{
	unsigned int n = (unsigned int)(unsigned long)priv;

	if (x_home(priv, page) != n)
		return NULL;
	return &X.s->n[n].dir[page];
}

static struct bi_coh_local *x_local(void *priv, u64 page)
{
	unsigned int n = (unsigned int)(unsigned long)priv;

	return &X.s->n[n].local[page];
}

static void x_send(void *priv, const struct bi_coh_msg *m, bool data)
{
	unsigned int n = (unsigned int)(unsigned long)priv;
	struct xnode *xn = &X.s->n[n];
	struct xchan *c = &X.s->ch[n][m->node];
	struct xmsg *xm;

	if (c->len == X_CHCAP) {
		x_fail("channel overflow");
		return;
	}
	if (data && xn->map[m->page] == M_RW)
		x_fail("page data sent while still writable");
	xm = &c->m[c->len++];
	memset(xm, 0, sizeof(*xm));
	xm->type = m->type;
	xm->flags = m->flags;
	xm->page = (u8)m->page;
	xm->txid = m->txid;
	xm->has_data = data;
	xm->data = data ? xn->val[m->page] : 0;
}

static void x_copy_in(void *priv, u64 page, const u8 *data)
{
	unsigned int n = (unsigned int)(unsigned long)priv;
	struct xnode *xn = &X.s->n[n];

	if (xn->map[page] != M_NONE)
		x_fail("page data copied in while mapped");
	memcpy(&xn->val[page], data, sizeof(u64));
}

static void x_set_map(void *priv, u64 page, u8 map)
{
	unsigned int n = (unsigned int)(unsigned long)priv;

	X.s->n[n].map[page] = map;
}

static void x_map_ro(void *priv, u64 page)
{
	x_set_map(priv, page, M_RO);
}

static void x_map_rw(void *priv, u64 page)
{
	x_set_map(priv, page, M_RW);
}

static void x_wrprotect(void *priv, u64 page)
{
	unsigned int n = (unsigned int)(unsigned long)priv;

	if (X.s->n[n].map[page] == M_RW)
		X.s->n[n].map[page] = M_RO;
}

static void x_unmap(void *priv, u64 page)
{
	x_set_map(priv, page, M_NONE);
}

static void x_complete(void *priv, u64 page, int err)
{
	unsigned int n = (unsigned int)(unsigned long)priv;
	struct xnode *xn = &X.s->n[n];

	if (err)
		x_fail("request completed with an error");
	if (xn->vop != V_IDLE && xn->vpage == page)
		xn->vblocked = 0;
}

static const struct bi_coh_ops x_ops = {
	.home = x_home,
	.dir = x_dir,
	.local = x_local,
	.send = x_send,
	.copy_in = x_copy_in,
	.map_ro = x_map_ro,
	.map_rw = x_map_rw,
	.wrprotect = x_wrprotect,
	.unmap = x_unmap,
	.complete = x_complete,
};

/* ---- invariants ------------------------------------------------------ */

static void x_check(void)
{
	const struct xcfg *cfg = X.cfg;
	struct xstate *s = X.s;
	unsigned int n, p, i;

	for (p = 0; p < cfg->pages; p++) {
		unsigned int rw = 0, ro = 0, ex = 0, sh = 0;
		unsigned int h = p % cfg->nodes;
		struct bi_coh_dir *d = &s->n[h].dir[p];

		for (n = 0; n < cfg->nodes; n++) {
			struct xnode *xn = &s->n[n];
			u8 ls = xn->local[p].state;

			rw += xn->map[p] == M_RW;
			ro += xn->map[p] == M_RO;
			ex += ls == BI_L_EXCL;
			sh += ls == BI_L_SHARED;
			if (xn->map[p] == M_RW && ls != BI_L_EXCL)
				x_fail("writable mapping without ownership");
			if (xn->map[p] == M_RO && ls == BI_L_INVALID)
				x_fail("readable mapping without a copy");
			if (ls != BI_L_INVALID && xn->val[p] != s->last[p])
				x_fail("a readable copy differs from the last write");
		}
		if (rw > 1 || (rw && ro))
			x_fail("SWMR violated on mappings");
		if (ex > 1 || (ex && sh))
			x_fail("SWMR violated on states");
		if ((d->state == BI_D_UNCACHED || d->state == BI_D_SHARED) &&
		    s->n[h].val[p] != s->last[p])
			x_fail("home copy stale while the directory says current");
		if (d->state == BI_D_BROKEN)
			x_fail("page broken");
	}
	for (i = 0; i < BI_COH_DROP_NR; i++)
		if (X.st.drops[i])
			x_fail(bi_coh_drop_name(i));
}

static bool x_quiescent(void)
{
	const struct xcfg *cfg = X.cfg;
	struct xstate *s = X.s;
	unsigned int n, m, p;

	for (n = 0; n < cfg->nodes; n++) {
		if (s->n[n].vop != V_IDLE)
			return false;
		for (m = 0; m < cfg->nodes; m++)
			if (s->ch[n][m].len)
				return false;
		for (p = 0; p < cfg->pages; p++) {
			if (s->n[n].local[p].pending != BI_P_NONE)
				return false;
			if (s->n[n].dir[p].phase != BI_H_IDLE ||
			    s->n[n].dir[p].qlen)
				return false;
		}
	}
	return true;
}

/* ---- state hashing --------------------------------------------------- */

static bool x_is_request(u8 type)
{
	return type == BI_MSG_GET_S || type == BI_MSG_GET_X ||
	       type == BI_MSG_PUT || type == BI_MSG_PUT_DATA;
}

static bool x_is_reply(u8 type)
{
	return type == BI_MSG_DATA_S || type == BI_MSG_DATA_X ||
	       type == BI_MSG_NACK || type == BI_MSG_PUT_ACK;
}

/* Rewrite ids relative to their owners so that shifted states match. */
static void x_canon(const struct xstate *s, struct xstate *c)
{
	const struct xcfg *cfg = X.cfg;
	unsigned int n, m, p, i, h;

	*c = *s;
	for (p = 0; p < cfg->pages; p++) {
		struct bi_coh_dir *d;

		h = p % cfg->nodes;
		d = &c->n[h].dir[p];
		/* the queue as a plain array from slot 0 */
		for (i = 0; i < BI_COH_QLEN_MAX; i++)
			d->q[i] = i < d->qlen ?
				s->n[h].dir[p].q[(d->qhead + i) %
						 BI_COH_QLEN_MAX] :
				(struct bi_coh_req){ 0 };
		d->qhead = 0;
		if (d->phase == BI_H_IDLE)
			memset(&d->cur, 0, sizeof(d->cur));
		for (n = 0; n < cfg->nodes; n++) {
			u32 base = s->n[n].local[p].txid;

			c->n[n].local[p].txid = 0;
			c->n[n].local[p].nacks = 0;
			c->n[n].local[p].retry_ns = 0;
			for (i = 0; i < d->qlen; i++)
				if (d->q[i].node == n)
					d->q[i].txid -= base;
			if (d->phase != BI_H_IDLE && d->cur.node == n)
				d->cur.txid -= base;
			for (i = 0; i < c->ch[n][h].len; i++) {
				struct xmsg *xm = &c->ch[n][h].m[i];

				if (xm->page == p && x_is_request(xm->type))
					xm->txid -= base;
			}
			for (i = 0; i < c->ch[h][n].len; i++) {
				struct xmsg *xm = &c->ch[h][n].m[i];

				if (xm->page == p && x_is_reply(xm->type))
					xm->txid -= base;
			}
		}
		for (n = 0; n < cfg->nodes; n++)
			for (m = 0; m < cfg->nodes; m++)
				for (i = 0; i < c->ch[n][m].len; i++) {
					struct xmsg *xm = &c->ch[n][m].m[i];

					if (xm->page != p ||
					    x_is_request(xm->type) ||
					    x_is_reply(xm->type))
						continue;
					xm->txid -= s->n[h].dir[p].epoch;
				}
		d->epoch = 0;
	}
	for (n = 0; n < cfg->nodes; n++)
		for (m = 0; m < cfg->nodes; m++)
			for (i = c->ch[n][m].len; i < X_CHCAP; i++)
				memset(&c->ch[n][m].m[i], 0, sizeof(struct xmsg));
}

static u64 x_hash(const void *buf, size_t len)
{
	const u8 *b = buf;
	u64 h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		u64 w;

		memcpy(&w, b + i, 8);
		h ^= w;
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	for (; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
	return h ? h : 1;
}

/* Returns true if the state is new. */
static bool x_visit(const struct xstate *s)
{
	struct xstate c;
	u64 h, i;

	x_canon(s, &c);
	h = x_hash(&c, sizeof(c));
	for (i = h & X.seen_mask; X.seen[i]; i = (i + 1) & X.seen_mask)
		if (X.seen[i] == h)
			return false;
	if (X.seen_count * 4 >= X.seen_mask * 3) {
		x_fail("state table full");
		return false;
	}
	X.seen[i] = h;
	X.seen_count++;
	return true;
}

/* ---- transitions ----------------------------------------------------- */

static void x_bind(struct xstate *s, unsigned int node)
{
	X.s = s;
	X.node = node;
}

/* Run node n's vCPU: access its page and perform the operation if it can. */
static void x_run_vcpu(struct xstate *s, unsigned int n)
{
	struct xnode *xn = &s->n[n];
	unsigned int p = xn->vpage;
	bool write = xn->vop == V_WRITE;
	int r;

	xn->vblocked = 1;
	r = bi_coh_access(&X.cn[n], &X.st, p, write, 0);
	if (r == -EAGAIN)
		return;
	if (r) {
		x_fail("access failed");
		return;
	}
	if (xn->map[p] < (write ? M_RW : M_RO)) {
		x_fail("access granted but not mapped");
		return;
	}
	if (write) {
		xn->val[p] = ++s->writes;
		s->last[p] = xn->val[p];
	} else if (xn->val[p] != s->last[p]) {
		x_fail("read returned a value other than the last write");
	}
	xn->vop = V_IDLE;
	xn->vblocked = 0;
}

static void x_deliver(struct xstate *s, unsigned int from, unsigned int to)
{
	struct xchan *c = &s->ch[from][to];
	struct xmsg xm = c->m[0];
	struct bi_coh_msg m = {
		.type = xm.type,
		.flags = xm.flags,
		.node = (u16)from,
		.txid = xm.txid,
		.page = xm.page,
	};

	memmove(&c->m[0], &c->m[1], (c->len - 1) * sizeof(c->m[0]));
	c->len--;
	memset(&c->m[c->len], 0, sizeof(c->m[0]));
	bi_coh_recv(&X.cn[to], &X.st, &m,
		    xm.has_data ? (const u8 *)&xm.data : NULL, 0);
}

static void x_explore(struct xstate *s, unsigned int depth);

static void x_child(const struct xstate *s, unsigned int depth,
		    int kind, unsigned int a, unsigned int b, unsigned int c)
{
	struct xstate *t = malloc(sizeof(*t));

	if (!t) {
		x_fail("out of memory");
		return;
	}
	*t = *s;
	X.transitions++;
	switch (kind) {
	case 0:	/* node a starts op b on page c */
		x_bind(t, a);
		t->ops_left--;
		t->n[a].vop = (u8)b;
		t->n[a].vpage = (u8)c;
		x_run_vcpu(t, a);
		break;
	case 1:	/* node a evicts page c */
		x_bind(t, a);
		t->ops_left--;
		bi_coh_evict(&X.cn[a], &X.st, c, 0);
		break;
	case 2:	/* woken vCPU of node a retries */
		x_bind(t, a);
		x_run_vcpu(t, a);
		break;
	case 3:	/* deliver head of channel a -> b */
		x_bind(t, b);
		x_deliver(t, a, b);
		break;
	case 5:	/* node a asks for page c ahead of any access */
		x_bind(t, a);
		t->ops_left--;
		if (bi_coh_prefetch(&X.cn[a], &X.st, c, 0))
			x_fail("prefetch of an idle page refused");
		break;
	case 4:	/* node a resends its NACKed request for page c */
		x_bind(t, a);
		bi_coh_tick(&X.cn[a], &X.st, c, 0);
		break;
	}
	x_check();
	if (!X.err && x_visit(t))
		x_explore(t, depth + 1);
	free(t);
}

static void x_explore(struct xstate *s, unsigned int depth)
{
	const struct xcfg *cfg = X.cfg;
	unsigned int n, m, p;
	bool any = false;

	X.states++;
	if (depth > X.max_depth)
		X.max_depth = depth;
	for (n = 0; n < cfg->nodes && !X.err; n++) {
		struct xnode *xn = &s->n[n];

		if (s->ops_left && xn->vop == V_IDLE)
			for (p = 0; p < cfg->pages; p++) {
				any = true;
				x_child(s, depth, 0, n, V_READ, p);
				x_child(s, depth, 0, n, V_WRITE, p);
			}
		if (s->ops_left && cfg->evict)
			for (p = 0; p < cfg->pages; p++)
				if (xn->local[p].state != BI_L_INVALID) {
					any = true;
					x_child(s, depth, 1, n, 0, p);
				}
		if (s->ops_left && cfg->prefetch)
			for (p = 0; p < cfg->pages; p++)
				if (xn->local[p].state == BI_L_INVALID &&
				    xn->local[p].pending == BI_P_NONE &&
				    x_home(NULL, p) != n) {
					any = true;
					x_child(s, depth, 5, n, 0, p);
				}
		if (xn->vop != V_IDLE && !xn->vblocked) {
			any = true;
			x_child(s, depth, 2, n, 0, 0);
		}
		for (m = 0; m < cfg->nodes; m++)
			if (s->ch[n][m].len) {
				any = true;
				x_child(s, depth, 3, n, m, 0);
			}
		for (p = 0; p < cfg->pages; p++)
			if (xn->local[p].pending != BI_P_NONE &&
			    (xn->local[p].flags & BI_LF_NACKED)) {
				any = true;
				x_child(s, depth, 4, n, 0, p);
			}
	}
	if (X.err || any)
		return;
	X.terminal++;
	X.s = s;
	if (!x_quiescent())
		x_fail("deadlock: no transition enabled but not quiescent");
}

static bool x_run(const struct xcfg *cfg, unsigned long long *states)
{
	struct bi_coh_params prm;
	struct xstate *s0;
	unsigned int n;
	struct timespec t0, t1;
	double secs;

	memset(&X, 0, sizeof(X));
	X.cfg = cfg;
	X.seen_mask = (1ULL << 21) - 1;
	X.seen = calloc(X.seen_mask + 1, sizeof(u64));
	s0 = calloc(1, sizeof(*s0));
	if (!X.seen || !s0)
		return false;
	memset(&prm, 0, sizeof(prm));
	prm.qlen = (u8)cfg->qlen;
	for (n = 0; n < cfg->nodes; n++)
		bi_coh_init(&X.cn[n], (u16)n, (u16)cfg->nodes, cfg->pages,
			    &prm, &x_ops, (void *)(unsigned long)n);
	s0->ops_left = cfg->ops;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	x_visit(s0);
	x_explore(s0, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	tap_diag("nodes=%u pages=%u ops=%u qlen=%u evict=%d prefetch=%d: %llu states, %llu transitions, %llu terminal, depth %llu, %.1fs%s%s",
		 cfg->nodes, cfg->pages, cfg->ops, cfg->qlen, cfg->evict,
		 cfg->prefetch, X.states, X.transitions, X.terminal, X.max_depth, secs,
		 X.err ? ", FAILED: " : "", X.err ? X.err : "");
	*states = X.states;
	free(s0);
	free(X.seen);
	return !X.err;
}

int main(int argc, char **argv)
{
	static const struct xcfg cfgs[] = {
		{ .nodes = 2, .pages = 1, .ops = 7, .qlen = 2, .evict = true },
		{ .nodes = 2, .pages = 1, .ops = 6, .qlen = 1, .evict = true },
		{ .nodes = 3, .pages = 1, .ops = 5, .qlen = 3, .evict = true },
		{ .nodes = 3, .pages = 1, .ops = 5, .qlen = 1, .evict = true },
		{ .nodes = 2, .pages = 2, .ops = 5, .qlen = 2, .evict = true },
		{ .nodes = 3, .pages = 2, .ops = 4, .qlen = 2, .evict = true },
		{ .nodes = 3, .pages = 1, .ops = 6, .qlen = 2, .evict = true },
		{ .nodes = 2, .pages = 1, .ops = 6, .qlen = 1, .evict = true,
		  .prefetch = true },
		{ .nodes = 3, .pages = 1, .ops = 5, .qlen = 1, .evict = true,
		  .prefetch = true },
		{ .nodes = 2, .pages = 2, .ops = 5, .qlen = 2, .evict = true,
		  .prefetch = true },
	};
	unsigned long long total = 0, st;
	unsigned int i;

	(void)argc;
	(void)argv;
	for (i = 0; i < ARRAY_SIZE(cfgs); i++) {
		bool ok = x_run(&cfgs[i], &st);

		total += st;
		tap_ok(ok, "explore nodes=%u pages=%u ops=%u qlen=%u%s",
		       cfgs[i].nodes, cfgs[i].pages, cfgs[i].ops,
		       cfgs[i].qlen, cfgs[i].prefetch ? " prefetch" : "");
	}
	tap_diag("explorer: %llu states in total", total);
	return tap_exit();
}
