// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron_bench: what a remote page fault costs, against the round trip
 * of the link itself.  Same setup and options as bigiron_dsm (one process
 * per node, --ctl control channel), no cases: node 0 measures, node 1
 * serves, sequenced over the control channel.
 *
 *   ping_0             200 VM_PING round trips without a payload;
 *   ping_4k            200 VM_PING round trips carrying 4096 bytes each
 *                      way, timed by the kernel: the floor for moving a
 *                      page over this link;
 *   read_fault         node 0 reads one byte of each of 500 pages homed
 *                      at node 1 that nobody touched: each read is one
 *                      remote read fault (request, page back);
 *   write_fault_1sharer
 *                      node 1 first reads 500 pages homed at node 0, so
 *                      it holds read-only copies; then node 0 writes one
 *                      byte to each: each write has to invalidate node
 *                      1's copy before it may go on.
 *
 * Each access is timed in user space with CLOCK_MONOTONIC.  Output, one
 * decimal, ratios against the ping figures, T the transport: ethernet;
 * rdma (page payloads sent from the send window, the module's rdma_pages
 * "send"), rdma-read (read by the receiver, "read") or rdma-copy (copied
 * into the SENDs, "copy"):
 *   bench: T ping_0 median_us=X p99_us=Y samples=N
 *   bench: T ping_4k median_us=X p99_us=Y samples=N
 *   bench: T read_fault median_us=X p99_us=Y samples=N ratio_median=R ratio_p99=R
 *   bench: T write_fault_1sharer median_us=X p99_us=Y samples=N ratio_median=R ratio_p99=R
 * and the per-VM counters before and after as "# " lines.  Exit 0 when
 * everything ran, 1 otherwise.
 */
#define DSM_LIB_ONLY
#include "bigiron_dsm.c"

#define PINGS		200
#define FAULTS		500
/* pages used, relative to the start of a home range; nobody touches
 * them before (the first RES pages belong to nobody here either)
 */
#define READ_AT		1024	/* node 1's home */
#define WRITE_AT	2048	/* node 0's home */

static double median_us(uint64_t *ns, int n)
{
	qsort(ns, n, sizeof(ns[0]), cmp_u64);
	return ns[n / 2] / 1000.0;
}

/* after median_us() sorted them */
static double p99_us(const uint64_t *ns, int n)
{
	int i = (n * 99 + 99) / 100 - 1;

	return ns[i < n ? i : n - 1] / 1000.0;
}

struct touch {
	struct dsm *d;
	size_t first;
	bool write;
	uint64_t *ns;		/* per page, or NULL */
	int done;
};

/* One byte of each of FAULTS pages from first, each access timed. */
static int touch_work(void *arg)
{
	struct touch *t = arg;
	volatile uint8_t *p;
	uint64_t t0, t1;
	int i;

	for (i = 0; i < FAULTS; i++) {
		p = pg(t->d, t->first + i);
		t0 = now_ns();
		if (t->write)
			*p = (uint8_t)(i + 1);
		else
			(void)*p;
		t1 = now_ns();
		if (t->ns)
			t->ns[i] = t1 - t0;
		t->done = i + 1;
	}
	return 0;
}

static int touch(struct dsm *d, size_t first, bool write, uint64_t *ns)
{
	struct touch t = { .d = d, .first = first, .write = write, .ns = ns };
	void *addr;

	if (guarded(touch_work, &t, &addr)) {
		report_sigbus(d, write ? "writing" : "reading", addr);
		return -1;
	}
	return 0;
}

static bool sync_ok(struct dsm *d, const char *tag)
{
	if (dsm_sync(d, tag, BARRIER_LONG_S)) {
		tap_diag("%s: barrier %s failed", d->label, tag);
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	uint64_t before[NR_VM_COUNTERS], after[NR_VM_COUNTERS];
	static uint64_t ping[PINGS], rd[FAULTS], wr[FAULTS];
	double pm = 0, pp = 0, m, p;
	const char *tr;
	struct dsm *d;
	int ret, ok = 0;

	d = calloc(1, sizeof(*d));
	if (!d || dsm_parse(d, argc, argv, true))
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	tr = !d->rdma ? "ethernet" : rdma_pages() == 'r' ? "rdma-read" :
	     rdma_pages() == 'c' ? "rdma-copy" : "rdma";
	if (d->half < WRITE_AT + FAULTS) {
		fprintf(stderr, "bigiron_bench: --mem-mb too small\n");
		return 2;
	}
	if (geteuid() || bi_ensure_module()) {
		tap_diag("%s: needs root and bigiron.ko", d->label);
		return 1;
	}
	install_sigbus();
	d->cur = 0;
	ret = ctl_open(d);
	if (ret)
		return 1;
	ret = dsm_setup(d);
	if (dsm_case_end(d, ret ? TAP_FAIL : TAP_PASS) != TAP_PASS || ret) {
		tap_diag("%s: setup failed (here or at the peer)", d->label);
		goto out;
	}
	d->cur = 1;
	d->peer_ended = d->case_ended = false;
	vm_snap(d, before);
	vm_print(d, "before", before);

	/* (a) ping, without and with a page */
	if (d->node == 0) {
		ret = vm_ping(d, PINGS, 0, ping);
		if (ret) {
			tap_diag("%s: PING: %s", d->label, strerror(-ret));
			goto end;
		}
		/* median_us() sorts: before p99_us() */
		m = median_us(ping, PINGS);
		p = p99_us(ping, PINGS);
		printf("bench: %s ping_0 median_us=%.1f p99_us=%.1f samples=%d\n",
		       tr, m, p, PINGS);
		ret = vm_ping(d, PINGS, 4096, ping);
		if (ret) {
			tap_diag("%s: PING: %s", d->label, strerror(-ret));
			goto end;
		}
		pm = median_us(ping, PINGS);
		pp = p99_us(ping, PINGS);
		printf("bench: %s ping_4k median_us=%.1f p99_us=%.1f samples=%d\n",
		       tr, pm, pp, PINGS);
	}
	if (!sync_ok(d, "pinged"))
		goto end;

	/* (b) read faults on node 1's untouched pages */
	if (d->node == 0) {
		if (touch(d, d->half + READ_AT, false, rd))
			goto end;
		m = median_us(rd, FAULTS);
		p = p99_us(rd, FAULTS);
		printf("bench: %s read_fault median_us=%.1f p99_us=%.1f samples=%d "
		       "ratio_median=%.1f ratio_p99=%.1f\n", tr, m, p, FAULTS,
		       m / pm, p / pp);
	}
	if (!sync_ok(d, "read"))
		goto end;

	/* (c) node 1 takes read-only copies, node 0 writes them away */
	if (d->node == 1 && touch(d, WRITE_AT, false, NULL))
		goto end;
	if (!sync_ok(d, "shared"))
		goto end;
	if (d->node == 0) {
		if (touch(d, WRITE_AT, true, wr))
			goto end;
		m = median_us(wr, FAULTS);
		p = p99_us(wr, FAULTS);
		printf("bench: %s write_fault_1sharer median_us=%.1f "
		       "p99_us=%.1f samples=%d ratio_median=%.1f "
		       "ratio_p99=%.1f\n", tr, m, p, FAULTS, m / pm, p / pp);
	}
	if (!sync_ok(d, "written"))
		goto end;
	vm_snap(d, after);
	vm_print(d, "after", after);
	ok = 1;
end:
	if (dsm_case_end(d, ok ? TAP_PASS : TAP_FAIL) != TAP_PASS) {
		tap_diag("%s: the peer failed", d->label);
		ok = 0;
	}
out:
	dsm_close_vm(d);
	if (d->ctl >= 0)
		close(d->ctl);
	printf("# %s: bench %s\n", d->label, ok ? "done" : "FAILED");
	return ok ? 0 : 1;
}
