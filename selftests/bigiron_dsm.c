// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron_dsm: coherence of one VM's guest memory spread over two nodes.
 *
 * One process is one node instance.  Two of them (on two hosts, or on the
 * two ends of a veth pair in one kernel) create the same VM, describe the
 * same two-node cluster, JOIN, mmap() the guest-memory file MAP_SHARED and
 * then run the same list of cases in lock step.  An out-of-band TCP
 * connection (--ctl; node 0 listens, node 1 connects) carries only the
 * barriers that sequence the cases, never the memory under test.
 *
 *   node 0 process                              node 1 process
 *     mmap(guest memory)                          mmap(guest memory)
 *     home [0, M/2)                               home [M/2, M)
 *        │   bigiron.ko frames, ethertype 0x88B5      │
 *      --dev ═══════════════════════════════════ --dev
 *        └────────── TCP control channel (--ctl) ──────┘
 *
 * The frames go over Ethernet (--dev, --mac0, --mac1) or, with --rdma0
 * and --rdma1 instead, over the RDMA transport: each node listens with
 * rdma_cm on its IPv4 address and port (IP:PORT), node 0 connects to
 * node 1.  The cases are the same; those that need the interface itself
 * (bad_frames: raw packet sockets) are skipped on RDMA, and two are only
 * for RDMA (stray_connect: a connection request that is not bigiron's is
 * refused and the working connection stays; page_data: pages go
 * without a copy, as the module's rdma_pages says).
 *
 * Two cases run only when --cases names them, each alone:
 *   forged_key  one of the nodes has --wrong-key: the JOIN must fail and
 *               the node with the right key must drop the other's frames
 *               as forged, or over RDMA refuse its connection requests
 *               (give node 0, which connects, the wrong key); the
 *               program does not JOIN before it;
 *   link_lost   node 0 keeps faulting on node 1's pages while whoever
 *               runs the test takes node 1's link away (run_dsm.sh rxe):
 *               the faults must end in SIGBUS within the fault timeout.
 *
 * Memory layout, in pages (P pages, H = P/2):
 *   [0, RES)             node 0's home: control pages of the cases
 *   [H, H + RES)         node 1's home: control pages of the cases
 *   [P - UNTOUCHED, P)   node 1's home: never touched by anyone until
 *                        peer_gone reads one after node 1 is gone
 *   everything else      random_rw (>= 90 % of the memory)
 *
 * Every case ends with a barrier that also exchanges the two verdicts, so
 * a node that fails half way through a case does not leave the other one
 * waiting: the other one sees the end marker instead of the barrier it
 * waited for and fails that case too.  Every barrier has a timeout.
 *
 * A SIGBUS (a fault the kernel could not serve) inside a case is caught
 * (sigsetjmp/siglongjmp) and reported with its address as a failure of
 * that case, except in peer_gone, where it is the expected outcome.
 *
 * Also a tiny helper for run_dsm.sh when busybox ip cannot make a veth
 * pair: bigiron_dsm --make-veth NAME0 NAME1 MTU, bigiron_dsm --del-veth NAME.
 *
 * bigiron_bench.c includes this file with DSM_LIB_ONLY defined for the
 * setup code (options, control channel, cluster, counters).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>

#include <bigiron/wire.h>

#include "netlink.h"
#include "tap.h"
#include "util.h"

#define DSM_UNUSED	__attribute__((unused))

#define MiB		(1024ULL * 1024)
#define PG		4096UL
#define WORDS		(PG / 8)
#define CLUSTER_ID	0xd5a1
#define ETH_P_BIGIRON	0x88B5
#define JOIN_MS		30000
#define BARRIER_S	120	/* a barrier after little work */
#define BARRIER_LONG_S	900	/* a barrier after a long stretch of faults */
#define RES		128	/* control pages at the start of each home */
#define UNTOUCHED	32	/* pages at the end of node 1's home */

/* The same key on both nodes, fixed: this is a test cluster. */
static const uint8_t dsm_key[BIGIRON_KEY_SIZE] = "bigiron dsm selftest, fixed key";

struct dsm {
	/* options */
	int node;
	const char *dev;
	uint8_t mac[2][6];
	bool have_mac[2];
	bool rdma;		/* --rdma0, --rdma1: the RDMA transport */
	bool have_rdma[2];
	uint8_t rdma_addr[2][16];	/* IPv4-mapped IPv6 */
	uint16_t rdma_port[2];
	bool wrong_key;		/* --wrong-key: a byte of the key flipped */
	unsigned int mem_mb;
	char ctl_addr[64];
	int ctl_port;
	unsigned int ctl_wait_s;
	bool netem;
	const char *cases;
	const char *hold_file;	/* --hold-file: wait for it before closing */
	bool make_it_fail;	/* --make-it-fail: fault injection after setup */
	unsigned int fault_timeout_ms;
	unsigned int threads;
	unsigned int iters;
	unsigned int ring_items;
	unsigned int rw_rounds;
	uint64_t seed;

	/* state */
	int ctl;
	char rbuf[4096];
	size_t rlen;
	bool ctl_broken;
	int devfd;
	int memfd;
	uint32_t vm_id;
	unsigned int ifindex;
	uint8_t *mem;
	size_t mem_size;
	size_t nr_pages;
	size_t half;		/* first page of node 1's home */
	char label[32];		/* "node0" or "node0 netem" */
	char saved_timeout[32];	/* fault_timeout_ms before we set it */

	/* the case running */
	int cur;
	bool peer_ended;
	int peer_status;
	bool case_ended;
	char skip_why[64];	/* a skipped case's reason */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static DSM_UNUSED int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static DSM_UNUSED uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* ---- options ------------------------------------------------------------ */

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5]) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

/* "a.b.c.d:port" into an IPv4-mapped IPv6 address and a port. */
static int parse_rdma(const char *s, uint8_t addr[16], uint16_t *port)
{
	char ip[INET_ADDRSTRLEN], *end;
	const char *c = strrchr(s, ':');
	unsigned long p;

	if (!c || (size_t)(c - s) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, c - s);
	ip[c - s] = '\0';
	memset(addr, 0, 16);
	addr[10] = 0xff;
	addr[11] = 0xff;
	if (inet_pton(AF_INET, ip, addr + 12) != 1)
		return -EINVAL;
	p = strtoul(c + 1, &end, 10);
	if (!c[1] || *end || !p || p > 65535)
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

static void dsm_usage(const char *prog, bool bench)
{
	fprintf(stderr,
		"usage: %s --node 0|1\n"
		"          (--dev IFNAME --mac0 MAC --mac1 MAC |"
		" --rdma0 IP:PORT --rdma1 IP:PORT)\n"
		"          --ctl ADDR:PORT [--mem-mb M] [--netem]%s\n",
		prog, bench ? "" :
		"\n          [--cases LIST] [--fault-timeout-ms MS] [--threads T]"
		"\n          [--iters N] [--ring-items N] [--rw-rounds R]"
		"\n          [--seed S] [--ctl-wait S] [--hold-file PATH]"
		"\n          [--make-it-fail 1] [--wrong-key]"
		"\n       " "bigiron_dsm --make-veth NAME0 NAME1 MTU"
		"\n       " "bigiron_dsm --del-veth NAME");
}

/* Parse the options shared by bigiron_dsm and bigiron_bench. */
static int dsm_parse(struct dsm *d, int argc, char **argv, bool bench)
{
	int i;

	memset(d, 0, sizeof(*d));
	d->node = -1;
	d->mem_mb = 256;
	d->ctl_wait_s = 30;
	d->fault_timeout_ms = 5000;
	d->threads = 2;
	d->iters = 1500;
	d->ring_items = 2000;
	d->rw_rounds = 2;
	d->seed = 0x5eed0b16;
	d->ctl = d->devfd = d->memfd = -1;

	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool arg = true;

		if (!strcmp(o, "--netem")) {
			d->netem = true;
			continue;
		}
		if (!bench && !strcmp(o, "--wrong-key")) {
			d->wrong_key = true;
			continue;
		}
		if (!v)
			goto bad;
		if (!strcmp(o, "--node")) {
			d->node = atoi(v);
		} else if (!strcmp(o, "--dev")) {
			d->dev = v;
		} else if (!strcmp(o, "--mac0") || !strcmp(o, "--mac1")) {
			int n = o[5] - '0';

			if (parse_mac(v, d->mac[n]))
				goto bad;
			d->have_mac[n] = true;
		} else if (!strcmp(o, "--rdma0") || !strcmp(o, "--rdma1")) {
			int n = o[6] - '0';

			if (parse_rdma(v, d->rdma_addr[n], &d->rdma_port[n]))
				goto bad;
			d->have_rdma[n] = true;
		} else if (!strcmp(o, "--mem-mb")) {
			d->mem_mb = (unsigned int)strtoul(v, NULL, 0);
		} else if (!strcmp(o, "--ctl")) {
			const char *c = strrchr(v, ':');

			if (!c || (size_t)(c - v) >= sizeof(d->ctl_addr))
				goto bad;
			memcpy(d->ctl_addr, v, c - v);
			d->ctl_addr[c - v] = '\0';
			d->ctl_port = atoi(c + 1);
		} else if (!strcmp(o, "--ctl-wait")) {
			d->ctl_wait_s = (unsigned int)strtoul(v, NULL, 0);
		} else if (!bench && !strcmp(o, "--cases")) {
			d->cases = v;
		} else if (!bench && !strcmp(o, "--hold-file")) {
			d->hold_file = v;
		} else if (!bench && !strcmp(o, "--make-it-fail")) {
			d->make_it_fail = !strcmp(v, "1");
		} else if (!bench && !strcmp(o, "--fault-timeout-ms")) {
			d->fault_timeout_ms = (unsigned int)strtoul(v, NULL, 0);
		} else if (!bench && !strcmp(o, "--threads")) {
			d->threads = (unsigned int)strtoul(v, NULL, 0);
		} else if (!bench && !strcmp(o, "--iters")) {
			d->iters = (unsigned int)strtoul(v, NULL, 0);
		} else if (!bench && !strcmp(o, "--ring-items")) {
			d->ring_items = (unsigned int)strtoul(v, NULL, 0);
		} else if (!bench && !strcmp(o, "--rw-rounds")) {
			d->rw_rounds = (unsigned int)strtoul(v, NULL, 0);
		} else if (!bench && !strcmp(o, "--seed")) {
			d->seed = strtoull(v, NULL, 0);
		} else {
			arg = false;
		}
		if (!arg)
			goto bad;
		i++;
	}
	/* RDMA: both addresses, and nothing of Ethernet */
	d->rdma = d->have_rdma[0] || d->have_rdma[1];
	if (d->rdma ? !d->have_rdma[0] || !d->have_rdma[1] || d->dev ||
		      d->have_mac[0] || d->have_mac[1] :
		      !d->dev || !d->have_mac[0] || !d->have_mac[1])
		goto bad;
	if ((d->node != 0 && d->node != 1) || !d->ctl_addr[0] ||
	    d->ctl_port <= 0 || d->mem_mb < 16 || d->mem_mb % 2 ||
	    d->threads < 2 || d->threads > 16 || !d->iters ||
	    !d->ring_items || !d->rw_rounds)
		goto bad;
	d->mem_size = (size_t)d->mem_mb * MiB;
	d->nr_pages = d->mem_size / PG;
	d->half = d->nr_pages / 2;
	snprintf(d->label, sizeof(d->label), "node%d%s%s%s", d->node,
		 d->rdma ? " rdma" : "", d->netem ? " netem" : "",
		 d->wrong_key ? " wrong-key" : "");
	return 0;
bad:
	dsm_usage(argv[0], bench);
	return -EINVAL;
}

/* ---- control channel ---------------------------------------------------- */

/* Node 0 accepts, node 1 connects (retrying for ctl_wait_s). */
static int ctl_open(struct dsm *d)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	uint64_t deadline;
	int fd, one = 1, ret;

	sa.sin_port = htons((uint16_t)d->ctl_port);
	if (inet_pton(AF_INET, d->ctl_addr, &sa.sin_addr) != 1) {
		tap_diag("control channel: bad address %s", d->ctl_addr);
		return -EINVAL;
	}
	deadline = now_ns() + (uint64_t)d->ctl_wait_s * 1000000000ULL;
	if (d->node == 0) {
		struct pollfd pfd;
		int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (lfd < 0)
			return -errno;
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(lfd, 1)) {
			ret = -errno;
			tap_diag("control channel: listen on %s:%d: %s",
				 d->ctl_addr, d->ctl_port, strerror(-ret));
			close(lfd);
			return ret;
		}
		/* the peer retries for ctl_wait_s; give it some slack */
		pfd.fd = lfd;
		pfd.events = POLLIN;
		ret = poll(&pfd, 1, (int)(d->ctl_wait_s + 30) * 1000);
		if (ret <= 0) {
			tap_diag("control channel: node 1 did not connect");
			close(lfd);
			return -ETIMEDOUT;
		}
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		ret = fd < 0 ? -errno : 0;
		close(lfd);
		if (ret)
			return ret;
	} else {
		for (;;) {
			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd < 0)
				return -errno;
			if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
				break;
			ret = -errno;
			close(fd);
			if (now_ns() > deadline) {
				tap_diag("control channel: connect to %s:%d: %s",
					 d->ctl_addr, d->ctl_port,
					 strerror(-ret));
				return ret;
			}
			usleep(200000);
		}
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	d->ctl = fd;
	d->rlen = 0;
	return 0;
}

static int ctl_printf(struct dsm *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int ctl_printf(struct dsm *d, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	size_t off = 0;
	ssize_t n;
	int len;

	if (d->ctl < 0 || d->ctl_broken)
		return -EPIPE;
	va_start(ap, fmt);
	len = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (len < 0 || len >= (int)sizeof(buf) - 1)
		return -EINVAL;
	buf[len++] = '\n';
	while (off < (size_t)len) {
		n = send(d->ctl, buf + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			d->ctl_broken = true;
			return -EPIPE;
		}
		off += n;
	}
	return 0;
}

/* One line from the peer, without its newline, within timeout_s. */
static int ctl_getline(struct dsm *d, char *out, size_t size,
		       unsigned int timeout_s)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_s * 1000000000ULL;
	struct pollfd pfd = { .fd = d->ctl, .events = POLLIN };
	char *nl;
	ssize_t n;
	int left, r;

	if (d->ctl < 0 || d->ctl_broken)
		return -EPIPE;
	for (;;) {
		nl = memchr(d->rbuf, '\n', d->rlen);
		if (nl) {
			size_t len = nl - d->rbuf;

			if (len >= size)
				len = size - 1;
			memcpy(out, d->rbuf, len);
			out[len] = '\0';
			d->rlen -= nl + 1 - d->rbuf;
			memmove(d->rbuf, nl + 1, d->rlen);
			return 0;
		}
		if (d->rlen == sizeof(d->rbuf)) {
			d->ctl_broken = true;
			return -EPROTO;
		}
		left = (int)((int64_t)(deadline - now_ns()) / 1000000);
		if (left <= 0) {
			d->ctl_broken = true;
			return -ETIMEDOUT;
		}
		r = poll(&pfd, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;	/* the deadline check ends it */
		n = recv(d->ctl, d->rbuf + d->rlen, sizeof(d->rbuf) - d->rlen,
			 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			d->ctl_broken = true;
			return n ? -errno : -ECONNRESET;
		}
		d->rlen += n;
	}
}

/*
 * Barrier of the current case that also swaps one value: send
 * "<case>:<tag> <mine>", expect the peer's "<case>:<tag> <theirs>".  If
 * the peer ended the case instead (it failed), note it and fail.
 */
static int dsm_xchg(struct dsm *d, const char *tag, uint64_t mine,
		    uint64_t *theirs, unsigned int timeout_s)
{
	char want[96], end[32], line[256];
	unsigned long long v;
	size_t wl;
	int ret;

	if (d->peer_ended)
		return -1;
	snprintf(want, sizeof(want), "%d:%s ", d->cur, tag);
	snprintf(end, sizeof(end), "%d:end ", d->cur);
	ret = ctl_printf(d, "%s%" PRIu64, want, mine);
	if (!ret)
		ret = ctl_getline(d, line, sizeof(line), timeout_s);
	if (ret) {
		tap_diag("%s: barrier '%s': control channel: %s", d->label,
			 tag, strerror(-ret));
		return -1;
	}
	wl = strlen(want);
	if (!strncmp(line, want, wl)) {
		v = strtoull(line + wl, NULL, 10);
		if (theirs)
			*theirs = v;
		return 0;
	}
	if (!strncmp(line, end, strlen(end))) {
		d->peer_ended = true;
		d->peer_status = atoi(line + strlen(end));
		tap_diag("%s: barrier '%s': the peer left this case (failed)",
			 d->label, tag);
		return -1;
	}
	tap_diag("%s: barrier '%s': the peer sent '%s'", d->label, tag, line);
	d->ctl_broken = true;
	return -1;
}

static int dsm_sync(struct dsm *d, const char *tag, unsigned int timeout_s)
{
	return dsm_xchg(d, tag, 0, NULL, timeout_s);
}

/* End of a case: swap verdicts; returns the peer's (TAP_FAIL if unknown). */
static int dsm_case_end(struct dsm *d, int status)
{
	char end[32], line[256];

	if (d->case_ended)
		return d->peer_status;
	d->case_ended = true;
	snprintf(end, sizeof(end), "%d:end ", d->cur);
	if (ctl_printf(d, "%s%d", end, status))
		return TAP_FAIL;
	if (d->peer_ended)
		return d->peer_status;
	/* skip barriers the peer passed before it saw that we had left */
	for (;;) {
		if (ctl_getline(d, line, sizeof(line), BARRIER_LONG_S)) {
			tap_diag("%s: end of case: control channel lost",
				 d->label);
			return TAP_FAIL;
		}
		if (!strncmp(line, end, strlen(end))) {
			d->peer_ended = true;
			d->peer_status = atoi(line + strlen(end));
			return d->peer_status;
		}
	}
}

#define SYNC(d, tag, t)							\
	do {								\
		if (dsm_sync((d), (tag), (t)))				\
			return TAP_FAIL;				\
	} while (0)

/* ---- SIGBUS: a fault the kernel could not serve ------------------------- */

static __thread sigjmp_buf *tl_jb;
static __thread void *volatile tl_addr;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	static const char msg[] = "bigiron_dsm: SIGBUS outside a guarded access\n";

	(void)uc;
	if (!tl_jb) {
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(3);
		signal(sig, SIG_DFL);
		raise(sig);
		_exit(3);
	}
	tl_addr = si->si_addr;
	siglongjmp(*tl_jb, 1);
}

static void install_sigbus(void)
{
	struct sigaction sa = { 0 };

	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

/*
 * Run fn(arg) so that a SIGBUS in it ends it: returns fn's value, or
 * -EFAULT with the faulting address in *addr.  Per thread.
 */
static int guarded(int (*fn)(void *), void *arg, void **addr)
{
	sigjmp_buf jb;
	sigjmp_buf *volatile prev = tl_jb;
	int ret;

	if (sigsetjmp(jb, 1)) {
		tl_jb = prev;
		if (addr)
			*addr = tl_addr;
		return -EFAULT;
	}
	tl_jb = &jb;
	ret = fn(arg);
	tl_jb = prev;
	return ret;
}

static DSM_UNUSED void report_sigbus(const struct dsm *d, const char *what,
				     void *addr)
{
	uintptr_t a = (uintptr_t)addr, base = (uintptr_t)d->mem;

	if (a >= base && a < base + d->mem_size)
		tap_diag("%s: %s: unexpected SIGBUS at %p: page %zu (home node "
			 "%d) offset %zu", d->label, what, addr,
			 (size_t)((a - base) / PG),
			 (a - base) / PG >= d->half, (size_t)((a - base) % PG));
	else
		tap_diag("%s: %s: unexpected SIGBUS at %p, outside guest memory",
			 d->label, what, addr);
}

/* ---- sysfs and debugfs counters ----------------------------------------- */

static const char *const vm_counters[] = {
	"remote_read_faults", "remote_write_faults", "fault_errors",
	"inv_sent", "inv_recv", "pages_sent", "pages_recv", "ping_pongs",
};
#define NR_VM_COUNTERS	((int)(sizeof(vm_counters) / sizeof(vm_counters[0])))

static DSM_UNUSED uint64_t vm_u64(const struct dsm *d, const char *name)
{
	uint64_t v;

	return bi_vm_sysfs_u64(d->vm_id, name, &v) ? UINT64_MAX : v;
}

static DSM_UNUSED void vm_snap(const struct dsm *d,
			       uint64_t v[NR_VM_COUNTERS])
{
	int i;

	for (i = 0; i < NR_VM_COUNTERS; i++)
		v[i] = vm_u64(d, vm_counters[i]);
}

static DSM_UNUSED void vm_print(const struct dsm *d, const char *when,
				const uint64_t v[NR_VM_COUNTERS])
{
	char line[512];
	size_t off = 0;
	int i;

	for (i = 0; i < NR_VM_COUNTERS; i++)
		off += snprintf(line + off, sizeof(line) - off, " %s=%" PRId64,
				vm_counters[i],
				v[i] == UINT64_MAX ? (int64_t)-1 : (int64_t)v[i]);
	tap_diag("%s: vm%u counters %s:%s", d->label, d->vm_id, when, line);
}

static DSM_UNUSED int peer_str(const struct dsm *d, const char *name,
			       char *buf, size_t size)
{
	char path[128];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), BI_SYSFS "/vm%u/peers/node%d/%s",
		 d->vm_id, !d->node, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, size - 1);
	close(fd);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static DSM_UNUSED uint64_t peer_u64(const struct dsm *d, const char *name)
{
	char buf[32];

	if (peer_str(d, name, buf, sizeof(buf)))
		return UINT64_MAX;
	return strtoull(buf, NULL, 10);
}

/*
 * How the module sends page payloads over RDMA (its rdma_pages: 's'end,
 * 'r'ead or 'c'opy), its first letter; 0 when unreadable.
 */
static DSM_UNUSED int rdma_pages(void)
{
	FILE *f = fopen("/sys/module/bigiron/parameters/rdma_pages", "re");
	int c = f ? fgetc(f) : EOF;

	if (f)
		fclose(f);
	return c == 's' || c == 'r' || c == 'c' ? c : 0;
}

/*
 * Sum of the "name value" lines of debugfs vm<id>/<file> called name (in
 * "peers", only those of the other node's block; "cluster", "coherence"
 * have no blocks).  The cluster file has
 * two drop_short lines (a frame shorter than a header caught by the
 * Ethernet receive path, and by the wire decoder): their sum is "short".
 */
static DSM_UNUSED uint64_t dbg_u64(const struct dsm *d, const char *file,
				   const char *name)
{
	char path[128], line[256], key[64], me[16];
	bool peers = !strcmp(file, "peers"), in = !peers;
	unsigned long long val;
	bool found = false;
	uint64_t sum = 0;
	FILE *f;
	char *p;
	int n;

	snprintf(path, sizeof(path), BI_DEBUGFS "/vm%u/%s", d->vm_id, file);
	snprintf(me, sizeof(me), "node%d ", !d->node);
	f = fopen(path, "re");
	if (!f)
		return UINT64_MAX;
	while (fgets(line, sizeof(line), f)) {
		/* "peers": a "nodeN MAC state S" line opens each block */
		if (peers && line[0] != ' ') {
			in = !strncmp(line, me, strlen(me));
			continue;
		}
		if (!in)
			continue;
		/* "name value" pairs, up to the first value that is no number */
		for (p = line; n = 0,
		     sscanf(p, " %63s %llu%n", key, &val, &n) == 2 && n;
		     p += n) {
			if (!strcmp(key, name)) {
				sum += val;
				found = true;
			}
		}
	}
	fclose(f);
	return found ? sum : UINT64_MAX;
}

static DSM_UNUSED int param_read(const char *name, char *buf, size_t size)
{
	char path[128];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), BI_MODULE_SYSFS "/parameters/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, size - 1);
	close(fd);
	if (len <= 0)
		return len < 0 ? -errno : -ENODATA;
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static DSM_UNUSED int param_write(const char *name, const char *val)
{
	char path[128];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), BI_MODULE_SYSFS "/parameters/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = write(fd, val, strlen(val));
	close(fd);
	return len == (ssize_t)strlen(val) ? 0 : -EIO;
}

/* ---- the cluster -------------------------------------------------------- */

static int vm_ping(const struct dsm *d, uint32_t count, uint32_t payload,
		   uint64_t *rtt)
{
	struct bigiron_vm_ping p = {
		.size = sizeof(p),
		.node = (uint16_t)!d->node,
		.count = count,
		.payload = payload,
		.rtt_ns = (uintptr_t)rtt,
	};

	return ioctl(d->devfd, BIGIRON_VM_PING, &p) ? -errno : 0;
}

/* Where this node's frames go, for the diagnostics. */
static void dsm_where(const struct dsm *d, char *buf, size_t size)
{
	char ip[INET_ADDRSTRLEN] = "?";

	if (!d->rdma) {
		snprintf(buf, size, "on %s", d->dev);
		return;
	}
	inet_ntop(AF_INET, d->rdma_addr[d->node] + 12, ip, sizeof(ip));
	snprintf(buf, size, "over rdma from %s:%u", ip,
		 d->rdma_port[d->node]);
}

/* Create the VM and describe the cluster (SET_CLUSTER); no JOIN yet. */
static int dsm_cluster(struct dsm *d)
{
	struct bigiron_node_desc desc[2];
	struct bigiron_vm_cluster c;
	struct bigiron_vm_create arg;
	uint8_t mac[6];
	char path[96], buf[32];
	int ret, fd, i;
	ssize_t len;

	if (!d->rdma) {
		d->ifindex = if_nametoindex(d->dev);
		if (!d->ifindex) {
			tap_diag("%s: no interface %s", d->label, d->dev);
			return -ENODEV;
		}
		/* the interface must be the one named by our MAC */
		snprintf(path, sizeof(path), "/sys/class/net/%s/address",
			 d->dev);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (len > 0) {
			buf[len] = '\0';
			if (!parse_mac(buf, mac) &&
			    memcmp(mac, d->mac[d->node], 6))
				tap_diag("%s: warning: %s has address %.17s, "
					 "not the --mac%d given", d->label,
					 d->dev, buf, d->node);
		}
	}

	d->devfd = bi_open_dev();
	if (d->devfd < 0) {
		ret = -errno;
		tap_diag("%s: open " BI_DEV ": %s", d->label, strerror(-ret));
		return ret;
	}
	ret = bi_vm_create(d->devfd, d->mem_size, 0, &arg);
	if (ret) {
		tap_diag("%s: VM_CREATE %u MiB: %s", d->label, d->mem_mb,
			 strerror(-ret));
		return ret;
	}
	d->memfd = arg.mem_fd;
	d->vm_id = arg.vm_id;

	memset(desc, 0, sizeof(desc));
	for (i = 0; i < 2; i++) {
		if (d->rdma) {
			memcpy(desc[i].addr, d->rdma_addr[i], 16);
			desc[i].port = d->rdma_port[i];
		} else {
			memcpy(desc[i].mac, d->mac[i], 6);
		}
		desc[i].home_start = (uint64_t)i * d->half * PG;
		desc[i].home_size = (uint64_t)d->half * PG;
	}
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.cluster_id = CLUSTER_ID;
	c.self = (uint16_t)d->node;
	c.nr_nodes = 2;
	/* rdma: ifindex and mtu stay zero */
	c.transport = d->rdma ? BIGIRON_TRANSPORT_RDMA : BIGIRON_TRANSPORT_ETH;
	c.ifindex = d->rdma ? 0 : d->ifindex;
	memcpy(c.key, dsm_key, sizeof(c.key));
	if (d->wrong_key)
		c.key[BIGIRON_KEY_SIZE / 2] ^= 0xff;
	c.nodes = (uintptr_t)desc;
	if (ioctl(d->devfd, BIGIRON_VM_SET_CLUSTER, &c)) {
		ret = -errno;
		tap_diag("%s: SET_CLUSTER: %s", d->label, strerror(-ret));
		return ret;
	}
	return 0;
}

/* JOIN for up to timeout_ms: 0 or -errno; *up: the nodes that are up. */
static int dsm_join(struct dsm *d, uint32_t timeout_ms, uint64_t *up)
{
	struct bigiron_vm_join j;
	int ret;

	memset(&j, 0, sizeof(j));
	j.size = sizeof(j);
	j.timeout_ms = timeout_ms;
	ret = ioctl(d->devfd, BIGIRON_VM_JOIN, &j) ? -errno : 0;
	*up = j.up_mask;
	return ret;
}

/* Create the VM, SET_CLUSTER, JOIN, mmap. */
static int dsm_setup(struct dsm *d)
{
	char where[64];
	uint64_t up = 0;
	int ret;

	ret = dsm_cluster(d);
	if (ret)
		return ret;
	ret = dsm_join(d, JOIN_MS, &up);
	if (ret) {
		tap_diag("%s: JOIN: %s (up_mask %#" PRIx64 ")", d->label,
			 strerror(-ret), up);
		return ret;
	}
	if (up != 3) {
		tap_diag("%s: JOIN: up_mask %#" PRIx64, d->label, up);
		return -EIO;
	}
	d->mem = mmap(NULL, d->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      d->memfd, 0);
	if (d->mem == MAP_FAILED) {
		ret = -errno;
		d->mem = NULL;
		tap_diag("%s: mmap: %s", d->label, strerror(-ret));
		return ret;
	}
	dsm_where(d, where, sizeof(where));
	tap_diag("%s: vm%u, %u MiB (%zu pages), %s, joined", d->label,
		 d->vm_id, d->mem_mb, d->nr_pages, where);
	return 0;
}

static void dsm_close_vm(struct dsm *d)
{
	if (d->mem)
		munmap(d->mem, d->mem_size);
	d->mem = NULL;
	if (d->memfd >= 0)
		close(d->memfd);
	if (d->devfd >= 0)
		close(d->devfd);
	d->memfd = d->devfd = -1;
}

/* Wait (up to 10 s) until /sys/kernel/bigiron/vm<id> is gone. */
static DSM_UNUSED bool vm_gone(const struct dsm *d)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (!bi_vm_sysfs_exists(d->vm_id))
			return true;
		usleep(100000);
	}
	return false;
}

static void *pg(const struct dsm *d, size_t page)
{
	return d->mem + page * PG;
}

#ifndef DSM_LIB_ONLY

/* Skip the current case: its TAP line gives why. */
static int dsm_skip(struct dsm *d, const char *why)
{
	snprintf(d->skip_why, sizeof(d->skip_why), "%s", why);
	return TAP_SKIP;
}

/* ---- page contents ------------------------------------------------------ */

/*
 * A written page: 511 words derived from base, then a checksum of them.
 * base names (page, generation, writer) and is never zero, so a page
 * that still holds zeroes (never written) or another version is caught.
 */
static uint64_t page_base(uint64_t page, uint32_t gen, uint32_t writer)
{
	return mix64(page ^ ((uint64_t)gen << 40) ^ ((uint64_t)writer << 36) ^
		     0xb16a11c0ULL) | 1;
}

static uint64_t words_csum(const uint64_t *w)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < WORDS - 1; i++)
		h = (h ^ w[i]) * 0x100000001b3ULL;
	return h;
}

static void fill_page(void *p, uint64_t base)
{
	uint64_t buf[WORDS];
	size_t i;

	for (i = 0; i < WORDS - 1; i++)
		buf[i] = base ^ (i * 0x9e3779b97f4a7c15ULL);
	buf[WORDS - 1] = words_csum(buf);
	memcpy(p, buf, PG);
}

/*
 * Compare a page with the content for base (0: never written, zeroes).
 * Returns 0, or 1 with a description in why.
 */
static int check_page(const void *p, uint64_t base, char *why, size_t size)
{
	uint64_t buf[WORDS], want;
	size_t i;

	memcpy(buf, p, PG);
	for (i = 0; i < WORDS; i++) {
		if (!base)
			want = 0;
		else if (i < WORDS - 1)
			want = base ^ (i * 0x9e3779b97f4a7c15ULL);
		else
			want = words_csum(buf);
		if (buf[i] != want) {
			snprintf(why, size,
				 "word %zu is %#" PRIx64 ", want %#" PRIx64
				 " (word 0 %#" PRIx64 ", expected base %#"
				 PRIx64 ", checksum %s)", i, buf[i], want,
				 buf[0], base,
				 buf[WORDS - 1] == words_csum(buf) ?
				 "consistent: a whole other version" :
				 "wrong: a torn or garbled page");
			return 1;
		}
	}
	return 0;
}

/* ---- case 1: cross_node_rw ---------------------------------------------- */

/*
 * Proves the basic property: what one node writes, the other reads after
 * a barrier, for pages of both home ranges and in both directions (home
 * writes, remote node reads; remote node writes, home reads; and the
 * pages moving back).  Pages: 8 at the start of each home range.
 */
#define XRW_PAGES 8

struct xrw {
	struct dsm *d;
	uint32_t gen, writer;
	bool write;
	int bad;
};

static int xrw_work(void *arg)
{
	struct xrw *x = arg;
	struct dsm *d = x->d;
	char why[256];
	int h, i;

	for (h = 0; h < 2; h++) {
		for (i = 0; i < XRW_PAGES; i++) {
			size_t page = h * d->half + i;
			uint64_t base = page_base(page, x->gen, x->writer);

			if (x->write) {
				fill_page(pg(d, page), base);
			} else if (check_page(pg(d, page), base, why,
					      sizeof(why))) {
				tap_diag("%s: page %zu (home node %d), "
					 "written by node %u: %s", d->label,
					 page, h, x->writer, why);
				x->bad++;
			}
		}
	}
	return 0;
}

static int xrw_step(struct dsm *d, uint32_t gen, uint32_t writer, bool write)
{
	struct xrw x = { .d = d, .gen = gen, .writer = writer,
			 .write = write };
	void *addr;

	if (guarded(xrw_work, &x, &addr)) {
		report_sigbus(d, write ? "writing" : "reading", addr);
		return -1;
	}
	return x.bad ? -1 : 0;
}

/*
 * Generations first..first+2: by node 0, then node 1, then node 0 again,
 * each read by the other node and then by its writer.
 */
static int xrw_rounds(struct dsm *d, uint32_t first)
{
	uint32_t gen;

	for (gen = first; gen < first + 3; gen++) {
		uint32_t w = (gen + 1) % 2;
		char tag[32];

		if (d->node == (int)w && xrw_step(d, gen, w, true))
			return TAP_FAIL;
		snprintf(tag, sizeof(tag), "written%u", gen);
		SYNC(d, tag, BARRIER_S);
		if (d->node != (int)w && xrw_step(d, gen, w, false))
			return TAP_FAIL;
		/* the writer reads its own data back after the peer did */
		snprintf(tag, sizeof(tag), "read%u", gen);
		SYNC(d, tag, BARRIER_S);
		if (d->node == (int)w && xrw_step(d, gen, w, false))
			return TAP_FAIL;
		/* before the next generation overwrites what it read */
		snprintf(tag, sizeof(tag), "back%u", gen);
		SYNC(d, tag, BARRIER_S);
	}
	return TAP_PASS;
}

static int case_cross_node_rw(struct dsm *d)
{
	return xrw_rounds(d, 1);
}

/* ---- case: rx_nomem ----------------------------------------------------- */

/*
 * Proves that a message the receiving host cannot allocate memory for is
 * not lost: debugfs vm<id>/fail_rx makes the next RXF_BURST allocations of
 * received messages fail on each node, again before every round of
 * cross_node_rw's traffic, until RXF_MSGS failed on both.  The link must
 * refuse each such message (drop_no_room) so that the peer sends it again;
 * every page read back must be right, and no fault may end in an error.
 * A burst stays below link_max_retries: a message refused on every
 * resend for that long is, to its sender, a dead node.
 */
#define RXF_MSGS	48
#define RXF_BURST	3
#define RXF_ROUNDS	60

static int fail_rx_set(const struct dsm *d, unsigned int n)
{
	char path[128], buf[16];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), BI_DEBUGFS "/vm%u/fail_rx", d->vm_id);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%u\n", n);
	len = write(fd, buf, (size_t)len) < 0 ? -errno : 0;
	close(fd);
	return (int)len;
}

static int case_rx_nomem(struct dsm *d)
{
	uint64_t err0, err1, nomem0, nomem1, room0, room1, theirs = 0;
	unsigned int round;
	char tag[32];
	int ret;

	err0 = vm_u64(d, "fault_errors");
	nomem0 = dbg_u64(d, "peers", "drop_coh_nomem");
	room0 = dbg_u64(d, "peers", "drop_no_room");
	TAP_CHECK(err0 != UINT64_MAX && nomem0 != UINT64_MAX &&
		  room0 != UINT64_MAX,
		  "counters unreadable (fault_errors, drop_coh_nomem, drop_no_room)");
	nomem1 = nomem0;
	for (round = 0; round < RXF_ROUNDS; round++) {
		ret = fail_rx_set(d, RXF_BURST);
		TAP_CHECK(!ret, "write fail_rx: %s", strerror(-ret));
		snprintf(tag, sizeof(tag), "armed%u", round);
		SYNC(d, tag, BARRIER_S);
		if (xrw_rounds(d, 100 + 3 * round) != TAP_PASS)
			return TAP_FAIL;
		nomem1 = dbg_u64(d, "peers", "drop_coh_nomem");
		snprintf(tag, sizeof(tag), "failed%u", round);
		if (dsm_xchg(d, tag, nomem1 - nomem0, &theirs, BARRIER_S))
			return TAP_FAIL;
		if (nomem1 - nomem0 >= RXF_MSGS && theirs >= RXF_MSGS)
			break;
	}
	ret = fail_rx_set(d, 0);
	TAP_CHECK(!ret, "write fail_rx: %s", strerror(-ret));
	SYNC(d, "disarmed", BARRIER_S);
	err1 = vm_u64(d, "fault_errors");
	room1 = dbg_u64(d, "peers", "drop_no_room");
	tap_diag("%s: %u rounds; failed allocations %" PRIu64 " (peer %"
		 PRIu64 "), refused %" PRIu64 ", fault_errors %" PRIu64
		 " -> %" PRIu64, d->label, round + 1, nomem1 - nomem0, theirs,
		 room1 - room0, err0, err1);
	TAP_CHECK(nomem1 - nomem0 >= RXF_MSGS && theirs >= RXF_MSGS,
		  "fewer than %d failed allocations in %d rounds", RXF_MSGS,
		  RXF_ROUNDS);
	TAP_CHECK(room1 - room0 >= nomem1 - nomem0,
		  "drop_no_room grew by %" PRIu64 ", less than the %" PRIu64
		  " failed allocations", room1 - room0, nomem1 - nomem0);
	TAP_CHECK(err1 == err0, "fault_errors %" PRIu64 " -> %" PRIu64,
		  err0, err1);
	return TAP_PASS;
}

/* ---- case: far_pages ---------------------------------------------------- */

/*
 * Proves that the module's coherence metadata grows with the pages used,
 * not with the VM (run with a 1 TiB VM, --mem-mb 1048576): each node
 * writes the first and the last page of both home ranges in turn (the
 * ends of the VM and of each home, across the chunks of metadata), the
 * other reads them back; then each node's debugfs "meta_chunks" must stay
 * below FAR_MAX_CHUNKS, and MemAvailable must not have dropped by more
 * than FAR_MAX_MIB, where per-page arrays for 1 TiB would take gigabytes.
 */
#define FAR_MAX_CHUNKS	64
#define FAR_MAX_MIB	64
#define FAR_MIN_MIB	(64UL << 10)	/* runs with 64 GiB or more */

static uint64_t meminfo_kib(const char *key)
{
	char line[128];
	size_t n = strlen(key);
	uint64_t v = UINT64_MAX;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			v = strtoull(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static int far_step(struct dsm *d, uint32_t gen, uint32_t writer, bool write)
{
	const size_t pages[] = { 0, d->half - 1, d->half, d->nr_pages - 1 };
	char why[256];
	size_t i;

	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		uint64_t base = page_base(pages[i], gen, writer);

		if (write) {
			fill_page(pg(d, pages[i]), base);
		} else if (check_page(pg(d, pages[i]), base, why,
				      sizeof(why))) {
			tap_diag("%s: page %zu, written by node %u: %s",
				 d->label, pages[i], writer, why);
			return -1;
		}
	}
	return 0;
}

struct far {
	struct dsm *d;
	uint32_t gen, writer;
	bool write;
	int ret;
};

static int far_work(void *arg)
{
	struct far *f = arg;

	f->ret = far_step(f->d, f->gen, f->writer, f->write);
	return 0;
}

static int case_far_pages(struct dsm *d)
{
	uint64_t avail0 = meminfo_kib("MemAvailable"), avail1, chunks;
	uint32_t gen;
	void *addr;

	/* a small VM's earlier cases touched most of its pages */
	if (d->mem_size < FAR_MIN_MIB * MiB) {
		tap_diag("%s: far_pages needs a VM of %lu MiB or more",
			 d->label, FAR_MIN_MIB);
		return dsm_skip(d, "needs a VM of 64 GiB or more");
	}
	tap_diag("%s: VM of %zu MiB, %zu pages", d->label,
		 d->mem_size >> 20, d->nr_pages);
	for (gen = 1; gen <= 2; gen++) {
		struct far f = { .d = d, .gen = 500 + gen, .writer = gen % 2 };
		char tag[32];

		f.write = d->node == (int)f.writer;
		if (f.write && (guarded(far_work, &f, &addr) || f.ret)) {
			report_sigbus(d, "writing", addr);
			return TAP_FAIL;
		}
		snprintf(tag, sizeof(tag), "far_written%u", gen);
		SYNC(d, tag, BARRIER_S);
		f.write = false;
		if (guarded(far_work, &f, &addr) || f.ret) {
			report_sigbus(d, "reading", addr);
			return TAP_FAIL;
		}
		snprintf(tag, sizeof(tag), "far_read%u", gen);
		SYNC(d, tag, BARRIER_S);
	}
	chunks = dbg_u64(d, "coherence", "meta_chunks");
	avail1 = meminfo_kib("MemAvailable");
	tap_diag("%s: metadata chunks %" PRIu64 ", MemAvailable %" PRIu64
		 " -> %" PRIu64 " KiB", d->label, chunks, avail0, avail1);
	TAP_CHECK(chunks != UINT64_MAX && chunks <= FAR_MAX_CHUNKS,
		  "%" PRIu64 " chunks of metadata, want at most %d", chunks,
		  FAR_MAX_CHUNKS);
	TAP_CHECK(avail0 != UINT64_MAX && avail1 != UINT64_MAX &&
		  (avail1 >= avail0 || (avail0 - avail1) >> 10 < FAR_MAX_MIB),
		  "MemAvailable dropped by %" PRIu64 " MiB",
		  (avail0 - avail1) >> 10);
	return TAP_PASS;
}

/* ---- case 2: atomic_one_page, atomic_many_pages ------------------------- */

/*
 * Proves that read-modify-write atomics stay atomic across nodes: every
 * node runs T threads doing __atomic_fetch_add(SEQ_CST) on shared
 * counters; with sequentially consistent pages (one writer at a time)
 * no increment may be lost.  After a barrier both nodes check that every
 * counter holds exactly what all 2 * T threads added to it.
 *   one page: 8 counters in one page (64 bytes apart), so the page bounces
 *             between the nodes on almost every increment;
 *   many pages: one counter in each of 64 pages, 32 in each home range.
 */
#define ATOM_CTRS	8
#define ATOM_PAGES	64
#define ATOM_GAP_NS	100000
/* remote write faults this node must at least have taken: else the
 * nodes did not contend and the case proved nothing
 */
#define ATOM_MIN_MOVES	10

struct atom {
	struct dsm *d;
	bool many;
	unsigned int thread;	/* global: node * threads + local */
	void *fault;
	int ret;
	uint64_t ns;
};

static uint64_t *atom_ctr(struct dsm *d, bool many, unsigned int k)
{
	size_t page;

	if (!many)	/* node 0's home, page 8 */
		return (uint64_t *)((uint8_t *)pg(d, 8) + k * 64);
	/* 32 pages in each home: pages 16..47 of each range */
	page = (k % 2) * d->half + 16 + k / 2;
	return (uint64_t *)((uint8_t *)pg(d, page) + (k % 8) * 8 * 8);
}

static unsigned int atom_nr(bool many)
{
	return many ? ATOM_PAGES : ATOM_CTRS;
}

/* Counter that iteration i of global thread t adds to. */
static unsigned int atom_pick(bool many, unsigned int t, unsigned int i)
{
	return (t * 3 + i) % atom_nr(many);
}

/*
 * A short pause after each increment: without it one node does all its
 * increments while the other's first request is still on the wire, and
 * the pages would hardly move.  With it, the nodes' increments
 * interleave and most of them take the page from the other node.
 */
static int atom_work(void *arg)
{
	struct atom *a = arg;
	struct timespec gap = { 0, ATOM_GAP_NS };
	unsigned int i;

	for (i = 0; i < a->d->iters; i++) {
		__atomic_fetch_add(atom_ctr(a->d, a->many,
					    atom_pick(a->many, a->thread, i)),
				   1, __ATOMIC_SEQ_CST);
		nanosleep(&gap, NULL);
	}
	return 0;
}

static void *atom_thread(void *arg)
{
	struct atom *a = arg;
	uint64_t t0 = now_ns();

	a->ret = guarded(atom_work, a, &a->fault);
	a->ns = now_ns() - t0;
	return NULL;
}

struct atom_check {
	struct dsm *d;
	bool many;
	int bad;
};

static int atom_check_work(void *arg)
{
	struct atom_check *c = arg;
	struct dsm *d = c->d;
	unsigned int k, t, i, n = atom_nr(c->many);
	unsigned int nt = 2 * d->threads;
	uint64_t want[ATOM_PAGES] = { 0 }, got, sum = 0;

	for (t = 0; t < nt; t++)
		for (i = 0; i < d->iters; i++)
			want[atom_pick(c->many, t, i)]++;
	for (k = 0; k < n; k++) {
		got = __atomic_load_n(atom_ctr(d, c->many, k), __ATOMIC_SEQ_CST);
		sum += got;
		if (got != want[k]) {
			tap_diag("%s: counter %u is %" PRIu64 ", want %" PRIu64,
				 d->label, k, got, want[k]);
			c->bad++;
		}
	}
	tap_diag("%s: sum of %u counters %" PRIu64 ", want %" PRIu64
		 " (2 nodes x %u threads x %u increments)", d->label, n, sum,
		 (uint64_t)nt * d->iters, d->threads, d->iters);
	return 0;
}

static int atomic_case(struct dsm *d, bool many)
{
	struct atom a[16];
	pthread_t th[16];
	struct atom_check chk = { .d = d, .many = many };
	unsigned int i, started = 0;
	uint64_t t0, worst = 0, wf0, wf1;
	bool moved;
	void *addr;
	int ret = TAP_PASS;

	SYNC(d, "go", BARRIER_S);
	wf0 = vm_u64(d, "remote_write_faults");
	t0 = now_ns();
	for (i = 0; i < d->threads; i++) {
		a[i] = (struct atom){ .d = d, .many = many,
				      .thread = d->node * d->threads + i };
		if (pthread_create(&th[i], NULL, atom_thread, &a[i])) {
			tap_diag("%s: pthread_create failed", d->label);
			ret = TAP_FAIL;
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		if (a[i].ret) {
			report_sigbus(d, "atomic increments", a[i].fault);
			ret = TAP_FAIL;
		}
		if (a[i].ns > worst)
			worst = a[i].ns;
	}
	wf1 = vm_u64(d, "remote_write_faults");
	tap_diag("%s: %u threads x %u increments in %.1f s (slowest thread "
		 "%.1f s), %" PRIu64 " remote write faults", d->label,
		 d->threads, d->iters, (now_ns() - t0) / 1e9, worst / 1e9,
		 wf1 - wf0);
	if (ret != TAP_PASS)
		return ret;
	moved = wf0 != UINT64_MAX && wf1 != UINT64_MAX &&
		wf1 - wf0 >= ATOM_MIN_MOVES;
	if (!moved)
		tap_diag("%s: fewer than %d remote write faults: the nodes "
			 "did not contend", d->label, ATOM_MIN_MOVES);
	SYNC(d, "done", BARRIER_LONG_S);
	if (guarded(atom_check_work, &chk, &addr)) {
		report_sigbus(d, "reading the counters", addr);
		return TAP_FAIL;
	}
	/* both nodes have read: nobody changes the counters any more */
	SYNC(d, "checked", BARRIER_S);
	return chk.bad || !moved ? TAP_FAIL : TAP_PASS;
}

static int case_atomic_one_page(struct dsm *d)
{
	return atomic_case(d, false);
}

static int case_atomic_many_pages(struct dsm *d)
{
	return atomic_case(d, true);
}

/* ---- case 3: ring ------------------------------------------------------- */

/*
 * Proves acquire/release message passing across nodes: a single-producer
 * single-consumer ring whose head (written by the producer) and tail
 * (written by the consumer) are on different pages, in different home
 * ranges, and whose 128 slots of 256 bytes span 8 pages.  The producer
 * fills a slot with plain stores and publishes it with a release store
 * of head; the consumer reads head with an acquire load, then the slot
 * with plain loads.  Every item carries its sequence number, a length,
 * data derived from both and a checksum: the consumer checks that every
 * item arrives exactly once, in order, whole.  Producer on node 0 first,
 * then on node 1 (a second ring on fresh pages).
 */
#define RING_SLOTS	128
#define RING_SLOT_PAGES	8
#define RING_DATA	224
#define RING_STALL_S	120

struct ring_item {
	uint64_t seq;
	uint64_t len;
	uint8_t data[RING_DATA];
	uint64_t csum;
	uint64_t pad;
};

struct ring {
	struct dsm *d;
	uint64_t *head, *tail;
	struct ring_item *slots;
	bool produce;
	int bad;
	uint64_t done;
};

static uint64_t item_csum(const struct ring_item *it)
{
	uint64_t h = mix64(it->seq ^ (it->len << 48));
	size_t i;

	for (i = 0; i < RING_DATA; i++)
		h = (h ^ it->data[i]) * 0x100000001b3ULL;
	return h;
}

static void item_fill(struct ring_item *it, uint64_t seq)
{
	uint64_t x = mix64(seq);
	size_t i;

	memset(it, 0, sizeof(*it));
	it->seq = seq;
	it->len = 1 + seq % RING_DATA;
	for (i = 0; i < it->len; i++)
		it->data[i] = (uint8_t)(x >> (8 * (i % 8))) ^ (uint8_t)i;
	it->csum = item_csum(it);
}

static void ring_at(struct dsm *d, int dir, struct ring *r)
{
	/* ring 0: pages 64.. of node 0's home (head, slots) and 64 of node
	 * 1's home (tail); ring 1 the other way round, at page 80
	 */
	size_t h0 = dir ? d->half : 0, h1 = dir ? 0 : d->half;
	size_t base = 64 + dir * 16;

	r->d = d;
	r->head = pg(d, h0 + base);
	r->tail = pg(d, h1 + base);
	r->slots = pg(d, h0 + base + 1);
}

static int ring_work(void *arg)
{
	struct ring *r = arg;
	struct dsm *d = r->d;
	uint64_t seq, other, t_wait;
	struct ring_item it, want;
	unsigned int spins;

	for (seq = 0; seq < d->ring_items; seq++) {
		t_wait = 0;
		spins = 0;
		for (;;) {
			if (r->produce) {
				other = __atomic_load_n(r->tail,
							__ATOMIC_ACQUIRE);
				if (seq - other < RING_SLOTS)
					break;
			} else {
				other = __atomic_load_n(r->head,
							__ATOMIC_ACQUIRE);
				if (other > seq)
					break;
			}
			if (++spins % 64 == 0) {
				if (!t_wait)
					t_wait = now_ns();
				else if (now_ns() - t_wait >
					 RING_STALL_S * 1000000000ULL) {
					tap_diag("%s: ring stalled at item %"
						 PRIu64 " (%s %" PRIu64 ")",
						 d->label, seq,
						 r->produce ? "tail" : "head",
						 other);
					r->bad++;
					return 0;
				}
			}
			sched_yield();
		}
		if (r->produce) {
			item_fill(&it, seq);
			memcpy(&r->slots[seq % RING_SLOTS], &it, sizeof(it));
			__atomic_store_n(r->head, seq + 1, __ATOMIC_RELEASE);
		} else {
			memcpy(&it, &r->slots[seq % RING_SLOTS], sizeof(it));
			item_fill(&want, seq);
			if (it.seq != seq || memcmp(&it, &want, sizeof(it))) {
				tap_diag("%s: ring item %" PRIu64 ": got seq %"
					 PRIu64 " len %" PRIu64 " checksum %s",
					 d->label, seq, it.seq, it.len,
					 it.csum == item_csum(&it) ?
					 "consistent" : "wrong");
				r->bad++;
				return 0;
			}
			__atomic_store_n(r->tail, seq + 1, __ATOMIC_RELEASE);
		}
		r->done = seq + 1;
	}
	return 0;
}

static int case_ring(struct dsm *d)
{
	struct ring r;
	uint64_t t0;
	void *addr;
	int dir;

	for (dir = 0; dir < 2; dir++) {
		char tag[16];

		memset(&r, 0, sizeof(r));
		ring_at(d, dir, &r);
		r.produce = d->node == dir;
		snprintf(tag, sizeof(tag), "go%d", dir);
		SYNC(d, tag, BARRIER_S);
		t0 = now_ns();
		if (guarded(ring_work, &r, &addr)) {
			report_sigbus(d, r.produce ? "producing" : "consuming",
				      addr);
			return TAP_FAIL;
		}
		tap_diag("%s: ring %d: %s %" PRIu64 " items in %.1f s",
			 d->label, dir, r.produce ? "produced" : "consumed",
			 r.done, (now_ns() - t0) / 1e9);
		if (r.bad)
			return TAP_FAIL;
		snprintf(tag, sizeof(tag), "done%d", dir);
		SYNC(d, tag, BARRIER_LONG_S);
	}
	return TAP_PASS;
}

/* ---- case 4: random_rw -------------------------------------------------- */

/*
 * Proves coherence of the whole memory under a random, changing sharing
 * pattern: every page outside the control pages (>= 90 % of the memory),
 * R rounds.  In each round a PRNG seeded alike on both nodes assigns each
 * page to node 0, to node 1 or to nobody; each node fills its pages with
 * content derived from (page, round, writer) and a checksum, and reads a
 * random sample of the pages nobody writes this round, which must hold
 * exactly the content of their last write in an earlier round (or
 * zeroes).  After the last round both nodes read every page and check it
 * against its last write.  Writes and reads run in T threads per node.
 */
struct rw {
	struct dsm *d;
	unsigned int round;	/* 1..R; R + 1: final check */
	unsigned int t;		/* this thread */
	size_t written, read, bad;
	void *fault;
	int ret;
};

static bool rw_covered(const struct dsm *d, size_t page)
{
	if (page < RES)
		return false;
	if (page >= d->half && page < d->half + RES)
		return false;
	return page < d->nr_pages - UNTOUCHED;
}

/* Who writes page in round: 0, 1, or -1 for nobody. */
static int rw_writer(const struct dsm *d, size_t page, unsigned int round)
{
	uint64_t h = mix64(d->seed ^ mix64(page * 4 + ((uint64_t)round << 40)));

	switch (h % 4) {
	case 0:
		return 0;
	case 1:
		return 1;
	default:
		return -1;
	}
}

/* Base of the page's content after `round` rounds (0: never written). */
static uint64_t rw_expect(const struct dsm *d, size_t page,
			  unsigned int round)
{
	int w;

	for (; round > 0; round--) {
		w = rw_writer(d, page, round);
		if (w >= 0)
			return page_base(page, round, (uint32_t)w);
	}
	return 0;
}

/* Does this node read page (nobody writes it) in round? 1/4 of them. */
static bool rw_sample(const struct dsm *d, size_t page, unsigned int round)
{
	return (mix64(d->seed * 7 + page * 131 + round * 1000003ULL +
		      d->node) >> 7) % 4 == 0;
}

static int rw_work(void *arg)
{
	struct rw *r = arg;
	struct dsm *d = r->d;
	bool final = r->round > d->rw_rounds;
	char why[256];
	size_t page;
	int w;

	for (page = r->t; page < d->nr_pages; page += d->threads) {
		if (!rw_covered(d, page))
			continue;
		w = final ? -1 : rw_writer(d, page, r->round);
		if (w == d->node) {
			fill_page(pg(d, page),
				  page_base(page, r->round, (uint32_t)w));
			r->written++;
			continue;
		}
		if (w >= 0 || (!final && !rw_sample(d, page, r->round)))
			continue;
		r->read++;
		if (check_page(pg(d, page), rw_expect(d, page, r->round - 1),
			       why, sizeof(why))) {
			if (r->bad++ < 5)
				tap_diag("%s: round %u: page %zu (home node %d"
					 "): %s", d->label, r->round, page,
					 page >= d->half, why);
		}
	}
	return 0;
}

static void *rw_thread(void *arg)
{
	struct rw *r = arg;

	r->ret = guarded(rw_work, r, &r->fault);
	return NULL;
}

static int case_random_rw(struct dsm *d)
{
	struct rw r[16];
	pthread_t th[16];
	unsigned int round, i, started;
	size_t covered = 0, page, written = 0, read = 0, bad = 0;
	double frac;
	uint64_t t0;
	int ret = TAP_PASS;

	for (page = 0; page < d->nr_pages; page++)
		covered += rw_covered(d, page);
	frac = (double)covered / d->nr_pages;
	tap_diag("%s: random_rw covers %zu of %zu pages (%.4f of the "
		 "memory), %u rounds + final check, seed %#" PRIx64,
		 d->label, covered, d->nr_pages, frac, d->rw_rounds, d->seed);
	TAP_CHECK(frac >= 0.90, "coverage %.4f < 0.90", frac);

	for (round = 1; round <= d->rw_rounds + 1; round++) {
		char tag[32];

		snprintf(tag, sizeof(tag), "round%u", round);
		SYNC(d, tag, round == 1 ? BARRIER_S : BARRIER_LONG_S);
		t0 = now_ns();
		started = 0;
		for (i = 0; i < d->threads; i++) {
			r[i] = (struct rw){ .d = d, .round = round, .t = i };
			if (pthread_create(&th[i], NULL, rw_thread, &r[i])) {
				tap_diag("%s: pthread_create failed", d->label);
				ret = TAP_FAIL;
				break;
			}
			started++;
		}
		written = read = bad = 0;
		for (i = 0; i < started; i++) {
			pthread_join(th[i], NULL);
			if (r[i].ret) {
				report_sigbus(d, "random_rw", r[i].fault);
				ret = TAP_FAIL;
			}
			written += r[i].written;
			read += r[i].read;
			bad += r[i].bad;
		}
		tap_diag("%s: %s %u: wrote %zu pages, checked %zu, %zu wrong, "
			 "%.1f s", d->label,
			 round > d->rw_rounds ? "final check after round" :
			 "round", round > d->rw_rounds ? d->rw_rounds : round,
			 written, read, bad, (now_ns() - t0) / 1e9);
		if (bad)
			ret = TAP_FAIL;
		if (ret != TAP_PASS)
			return ret;
	}
	/* the final check read every covered page */
	TAP_CHECK(read == covered, "final check read %zu of %zu pages", read,
		  covered);
	SYNC(d, "checked", BARRIER_LONG_S);
	return TAP_PASS;
}

/* ---- case 5: bad_frames ------------------------------------------------- */

/*
 * Proves that frames an attacker or a broken network injects do no harm:
 * node 1's process sends through an AF_PACKET socket on its interface,
 * to node 0's MAC:
 *   - a forged frame: a real frame of node 1 with its MAC replaced, so
 *     everything but the MAC is valid (a wrong key gives the same);
 *   - a truncated frame: 40 bytes, shorter than a header;
 *   - a frame whose payload was cut short (when one with a payload was
 *     captured: a 4 KiB PING);
 *   - replays: a real sequenced frame node 1's kernel sent to node 0
 *     earlier (captured with PACKET_OUTGOING), sent again REPLAYS times.
 * Node 0 checks that each is dropped and counted exactly where it should
 * be (drop_bad_mac, drop_short, drop_bad_frame_len: +1 each; old_seq: at
 * least +REPLAYS and at most that plus two per frame node 1 really sent
 * meanwhile, as duplicates and needless retransmissions count there
 * too), that none was delivered, that the link stayed up, that no fault
 * counter moved, and that pages written before are still right.  The
 * injected frames bypass the interface's qdisc (PACKET_QDISC_BYPASS), so
 * netem neither loses nor duplicates them.
 */
#define REPLAYS		8
#define BF_PAGE		100	/* pages 100 of each home range */

struct bf_frame {
	uint8_t b[14 + BI_WIRE_MAX_FRAME];
	size_t len;
};

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

struct bf_pages {
	struct dsm *d;
	bool write;
	int bad;
};

static int bf_pages_work(void *arg)
{
	struct bf_pages *b = arg;
	struct dsm *d = b->d;
	char why[256];
	int h;

	for (h = 0; h < 2; h++) {
		size_t page = h * d->half + BF_PAGE;
		uint64_t base = page_base(page, 77, 0);

		if (b->write) {
			fill_page(pg(d, page), base);
		} else if (check_page(pg(d, page), base, why, sizeof(why))) {
			tap_diag("%s: page %zu: %s", d->label, page, why);
			b->bad++;
		}
	}
	return 0;
}

static int bf_pages(struct dsm *d, bool write)
{
	struct bf_pages b = { .d = d, .write = write };
	void *addr;

	if (guarded(bf_pages_work, &b, &addr)) {
		report_sigbus(d, "bad_frames pages", addr);
		return -1;
	}
	return b.bad ? -1 : 0;
}

/*
 * A packet socket on our interface.  Only ETH_P_ALL sockets see outgoing
 * frames (PACKET_OUTGOING): the capture uses one and filters the
 * ethertype itself; the injecting socket is bound to bigiron's.
 */
static int raw_socket(const struct dsm *d, uint16_t proto)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(proto),
		.sll_ifindex = (int)d->ifindex,
	};
	int fd, one = 1;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    htons(proto));
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		close(fd);
		return -errno;
	}
	/*
	 * Injected frames skip the interface's qdisc: netem must not lose
	 * or duplicate them, each must arrive exactly once.
	 */
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one,
		       sizeof(one))) {
		close(fd);
		return -errno;
	}
	return fd;
}

static int raw_send(const struct dsm *d, int fd, const uint8_t *frame,
		    size_t len)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_BIGIRON),
		.sll_ifindex = (int)d->ifindex,
		.sll_halen = 6,
	};
	ssize_t n;

	memcpy(sll.sll_addr, d->mac[0], 6);
	n = sendto(fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll));
	return n == (ssize_t)len ? 0 : -errno;
}

/* Frames node 1's kernel sent to node 0: keep a sequenced one and one
 * with a payload.  Returns the number of bigiron frames seen.
 */
static int bf_capture(struct dsm *d, int fd, struct bf_frame *seq,
		      struct bf_frame *pay)
{
	struct sockaddr_ll from;
	socklen_t fl;
	struct bf_frame f;
	ssize_t n;
	int seen = 0;
	uint8_t type;

	for (;;) {
		fl = sizeof(from);
		n = recvfrom(fd, f.b, sizeof(f.b), 0, (struct sockaddr *)&from,
			     &fl);
		if (n < 0)
			break;
		if (from.sll_pkttype != PACKET_OUTGOING ||
		    n < 14 + BI_WIRE_HDR_LEN || memcmp(f.b, d->mac[0], 6) ||
		    memcmp(f.b + 6, d->mac[1], 6) ||
		    f.b[12] != ETH_P_BIGIRON >> 8 ||
		    f.b[13] != (ETH_P_BIGIRON & 0xff) ||
		    f.b[14] != BI_WIRE_MAGIC)
			continue;
		f.len = n;
		seen++;
		type = f.b[14 + 2];
		/* sequenced: not HELLO, HELLO_ACK, ACK (which have seq 0) */
		if (le32(f.b + 14 + 20) && type != BI_MSG_HELLO &&
		    type != BI_MSG_HELLO_ACK && type != BI_MSG_ACK) {
			/* prefer a coherence or ping frame to a heartbeat */
			if (!seq->len || f.b[14 + 2] != BI_MSG_HEARTBEAT)
				*seq = f;
		}
		if (le16(f.b + 14 + 44) >= 64 && !pay->len)
			*pay = f;
	}
	return seen;
}

/* Counters node 0 watches. */
enum {
	BF_BAD_MAC, BF_SHORT, BF_FRAME_LEN, BF_SRC_MAC, BF_OLD_SEQ, BF_BOOT,
	BF_BAD_ACK, BF_HELLO_UP, BF_DELIVERED, BF_NR
};

static const struct {
	const char *file, *name;
} bf_ctrs[BF_NR] = {
	[BF_BAD_MAC] = { "cluster", "drop_bad_mac" },
	[BF_SHORT] = { "cluster", "drop_short" },
	[BF_FRAME_LEN] = { "cluster", "drop_bad_frame_len" },
	[BF_SRC_MAC] = { "cluster", "drop_bad_src_mac" },
	[BF_OLD_SEQ] = { "peers", "drop_old_seq" },
	[BF_BOOT] = { "peers", "drop_bad_boot" },
	[BF_BAD_ACK] = { "peers", "drop_bad_ack" },
	[BF_HELLO_UP] = { "peers", "drop_hello_while_up" },
	[BF_DELIVERED] = { "peers", "delivered" },
};

static void bf_snap(const struct dsm *d, uint64_t v[BF_NR])
{
	int i;

	for (i = 0; i < BF_NR; i++)
		v[i] = dbg_u64(d, bf_ctrs[i].file, bf_ctrs[i].name);
}

static int bf_node1(struct dsm *d)
{
	struct bf_frame seq = { .len = 0 }, pay = { .len = 0 }, f;
	uint64_t rtt[4], tx0, tx1, r0, r1;
	int fd, cap, seen, ret, i;
	void *addr;
	struct bf_pages b = { .d = d };
	char why[256];

	cap = raw_socket(d, ETH_P_ALL);
	TAP_CHECK(cap >= 0, "AF_PACKET socket on %s: %s", d->dev,
		  strerror(-cap));
	fd = raw_socket(d, ETH_P_BIGIRON);
	TAP_CHECK(fd >= 0, "AF_PACKET socket on %s: %s", d->dev,
		  strerror(-fd));
	SYNC(d, "capturing", BARRIER_S);
	/* node 1's kernel talks to node 0: a 4 KiB PING and a read fault on
	 * the page node 0 wrote in its home range
	 */
	ret = vm_ping(d, 4, 4096, rtt);
	TAP_CHECK(ret == 0, "PING: %s", strerror(-ret));
	ret = guarded(bf_pages_work, &b, &addr);
	if (ret)
		report_sigbus(d, "reading pages node 0 wrote", addr);
	TAP_CHECK(ret == 0 && !b.bad, "pages written by node 0");
	usleep(100000);
	seen = bf_capture(d, cap, &seq, &pay);
	close(cap);
	tap_diag("%s: captured %d frames to node 0; replaying type %u seq %u "
		 "(%zu bytes), payload frame %zu bytes", d->label, seen,
		 seq.len ? seq.b[16] : 0, seq.len ? le32(seq.b + 34) : 0,
		 seq.len, pay.len);
	TAP_CHECK(seq.len, "no sequenced frame to node 0 captured");
	SYNC(d, "captured", BARRIER_S);

	tx0 = peer_u64(d, "tx_frames");
	r0 = peer_u64(d, "retransmits");
	SYNC(d, "snap1", BARRIER_S);
	SYNC(d, "snap2", BARRIER_S);

	/* forged: the MAC of a valid frame replaced */
	f = seq;
	for (i = 0; i < BI_WIRE_MAC_LEN; i++)
		f.b[14 + BI_WIRE_MAC_OFF + i] ^= (uint8_t)(0x5a + i);
	ret = raw_send(d, fd, f.b, f.len);
	TAP_CHECK(ret == 0, "send forged: %s", strerror(-ret));
	/* truncated: 40 bytes of header */
	ret = raw_send(d, fd, seq.b, 14 + 40);
	TAP_CHECK(ret == 0, "send truncated: %s", strerror(-ret));
	/* payload cut in half */
	if (pay.len) {
		ret = raw_send(d, fd, pay.b,
			       14 + BI_WIRE_HDR_LEN +
			       le16(pay.b + 14 + 44) / 2);
		TAP_CHECK(ret == 0, "send cut payload: %s", strerror(-ret));
	}
	for (i = 0; i < REPLAYS; i++) {
		ret = raw_send(d, fd, seq.b, seq.len);
		TAP_CHECK(ret == 0, "send replay: %s", strerror(-ret));
	}
	close(fd);
	SYNC(d, "sent", BARRIER_S);
	/* node 0 waits for its counters here */
	SYNC(d, "counted", BARRIER_S);
	tx1 = peer_u64(d, "tx_frames");
	r1 = peer_u64(d, "retransmits");
	tap_diag("%s: sent %" PRIu64 " frames to node 0 meanwhile, %" PRIu64
		 " retransmitted", d->label, tx1 - tx0, r1 - r0);
	if (dsm_xchg(d, "txdelta", tx1 - tx0, NULL, BARRIER_S))
		return TAP_FAIL;
	SYNC(d, "checked", BARRIER_S);
	/* node 1's side: its link is up, the pages still right */
	TAP_CHECK(!peer_str(d, "state", why, sizeof(why)) &&
		  !strcmp(why, "up"), "node 1's peer node0 state '%s'", why);
	TAP_CHECK(!bf_pages(d, false), "pages after the injection");
	return TAP_PASS;
}

static int bf_node0(struct dsm *d)
{
	uint64_t a[BF_NR], b[BF_NR], va[NR_VM_COUNTERS], vb[NR_VM_COUNTERS];
	uint64_t txdelta = 0, noise, rtt[4];
	char state[32] = "";
	int i, ret, bad = 0;

	TAP_CHECK(!bf_pages(d, true), "writing the pages");
	SYNC(d, "capturing", BARRIER_S);
	SYNC(d, "captured", BARRIER_S);
	SYNC(d, "snap1", BARRIER_S);
	/* frames node 1 sent before its snapshot have landed (netem: 1 ms) */
	usleep(50000);
	bf_snap(d, a);
	vm_snap(d, va);
	for (i = 0; i < BF_NR; i++)
		TAP_CHECK(a[i] != UINT64_MAX, "debugfs vm%u/%s: no %s",
			  d->vm_id, bf_ctrs[i].file, bf_ctrs[i].name);
	SYNC(d, "snap2", BARRIER_S);
	SYNC(d, "sent", BARRIER_S);
	/* wait (5 s at most) until every injected frame was counted */
	for (i = 0; i < 100; i++) {
		bf_snap(d, b);
		if (b[BF_BAD_MAC] > a[BF_BAD_MAC] && b[BF_SHORT] > a[BF_SHORT] &&
		    b[BF_OLD_SEQ] >= a[BF_OLD_SEQ] + REPLAYS &&
		    b[BF_FRAME_LEN] > a[BF_FRAME_LEN])
			break;
		usleep(50000);
	}
	usleep(100000);
	bf_snap(d, b);
	vm_snap(d, vb);
	SYNC(d, "counted", BARRIER_S);
	if (dsm_xchg(d, "txdelta", 0, &txdelta, BARRIER_S))
		return TAP_FAIL;
	for (i = 0; i < BF_NR; i++)
		tap_diag("%s: %s %s: %" PRIu64 " -> %" PRIu64, d->label,
			 bf_ctrs[i].file, bf_ctrs[i].name, a[i], b[i]);

#define BF_EXPECT(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			tap_diag("%s: failed: %s", d->label, #cond);	\
			tap_diag(__VA_ARGS__);				\
			bad++;						\
		}							\
	} while (0)

	BF_EXPECT(b[BF_BAD_MAC] - a[BF_BAD_MAC] == 1,
		  "forged frame: drop_bad_mac +%" PRIu64 ", want +1",
		  b[BF_BAD_MAC] - a[BF_BAD_MAC]);
	BF_EXPECT(b[BF_SHORT] - a[BF_SHORT] == 1,
		  "truncated frame: drop_short +%" PRIu64 ", want +1",
		  b[BF_SHORT] - a[BF_SHORT]);
	/* node 1 always captures a 4 KiB PING */
	BF_EXPECT(b[BF_FRAME_LEN] - a[BF_FRAME_LEN] == 1,
		  "cut payload: drop_bad_frame_len +%" PRIu64 ", want +1",
		  b[BF_FRAME_LEN] - a[BF_FRAME_LEN]);
	/*
	 * Besides the replays, only copies of frames node 1 sent in the
	 * window count as old: a needless retransmission (itself one of
	 * tx_frames) and a duplicate made by the network, at most one per
	 * frame sent (a duplicated needless retransmission counts twice).
	 * --netem only changes labels, so the bound allows for duplicates
	 * either way.
	 */
	noise = txdelta * 2;
	BF_EXPECT(b[BF_OLD_SEQ] - a[BF_OLD_SEQ] >= REPLAYS &&
		  b[BF_OLD_SEQ] - a[BF_OLD_SEQ] <= REPLAYS + noise,
		  "replays: drop_old_seq +%" PRIu64 ", want %d to %d + %"
		  PRIu64 " (copies of the %" PRIu64 " frames node 1 sent "
		  "meanwhile)", b[BF_OLD_SEQ] - a[BF_OLD_SEQ], REPLAYS,
		  REPLAYS, noise, txdelta);
	BF_EXPECT(b[BF_DELIVERED] == a[BF_DELIVERED],
		  "messages delivered while only injected frames came: %"
		  PRIu64, b[BF_DELIVERED] - a[BF_DELIVERED]);
	for (i = BF_SRC_MAC; i <= BF_HELLO_UP; i++)
		if (i != BF_OLD_SEQ)
			BF_EXPECT(b[i] == a[i], "%s changed", bf_ctrs[i].name);
	for (i = 0; i < NR_VM_COUNTERS; i++)
		BF_EXPECT(va[i] == vb[i], "%s %" PRIu64 " -> %" PRIu64
			  " with only injected frames coming",
			  vm_counters[i], va[i], vb[i]);
	BF_EXPECT(!peer_str(d, "state", state, sizeof(state)) &&
		  !strcmp(state, "up"), "peers/node1/state '%s'", state);
	BF_EXPECT(!bf_pages(d, false), "pages written before");
	ret = vm_ping(d, 4, 4096, rtt);
	BF_EXPECT(ret == 0, "PING after the injection: %s", strerror(-ret));
	SYNC(d, "checked", BARRIER_S);
	return bad ? TAP_FAIL : TAP_PASS;
}

static int case_bad_frames(struct dsm *d)
{
	/* raw frames on the interface: there is none on RDMA */
	if (d->rdma)
		return dsm_skip(d, "not on rdma");
	if (!bi_debugfs_ready())
		return dsm_skip(d, "no bigiron debugfs");
	return d->node ? bf_node1(d) : bf_node0(d);
}

/* ---- case 6: peer_gone -------------------------------------------------- */

/*
 * Proves that a dead peer turns into a bounded failure, not a hang: node
 * 1 closes its VM and leaves; node 0 then reads a page homed at node 1
 * that it never touched.  The kernel cannot serve that fault and must
 * raise SIGBUS within fault_timeout_ms (+ 5 s of slack).  Then node 0
 * closes its VM too, and it must disappear from /sys/kernel/bigiron.
 */
static int gone_read(void *arg)
{
	const volatile uint8_t *p = arg;

	return *p;
}

static int case_peer_gone(struct dsm *d)
{
	uint64_t t0, ms, err0, err1;
	size_t page = d->nr_pages - 1;
	void *addr = NULL;
	char state[32] = "?";
	int ret;

	if (d->node == 1) {
		SYNC(d, "ready", BARRIER_S);
		dsm_close_vm(d);
		TAP_CHECK(vm_gone(d), "vm%u still in " BI_SYSFS, d->vm_id);
		SYNC(d, "closed", BARRIER_S);
		return TAP_PASS;
	}
	err0 = vm_u64(d, "fault_errors");
	SYNC(d, "ready", BARRIER_S);
	SYNC(d, "closed", BARRIER_S);
	/* node 1 is gone: nobody to talk to any more */
	dsm_case_end(d, TAP_PASS);
	t0 = now_ns();
	ret = guarded(gone_read, pg(d, page), &addr);
	ms = (now_ns() - t0) / 1000000;
	err1 = vm_u64(d, "fault_errors");
	peer_str(d, "state", state, sizeof(state));
	tap_diag("%s: read of page %zu (home node 1, never touched): %s after "
		 "%" PRIu64 " ms; fault_errors %" PRIu64 " -> %" PRIu64
		 "; peer state %s", d->label, page,
		 ret == -EFAULT ? "SIGBUS" : "no error", ms, err0, err1, state);
	TAP_CHECK(ret == -EFAULT, "no SIGBUS reading a page of a dead peer");
	TAP_CHECK(addr == pg(d, page), "SIGBUS at %p, want %p", addr,
		  pg(d, page));
	TAP_CHECK(ms <= d->fault_timeout_ms + 5000ULL,
		  "SIGBUS after %" PRIu64 " ms, fault_timeout_ms %u + 5 s",
		  ms, d->fault_timeout_ms);
	TAP_CHECK(err1 != UINT64_MAX && err1 > err0,
		  "fault_errors %" PRIu64 " -> %" PRIu64, err0, err1);
	dsm_close_vm(d);
	TAP_CHECK(vm_gone(d), "vm%u still in " BI_SYSFS " after close",
		  d->vm_id);
	return TAP_PASS;
}

/* ---- case: forged_key (only when --cases names it) ---------------------- */

/*
 * Proves that a node with the wrong cluster key cannot join, and that
 * its frames are dropped as forged: one of the two processes runs with
 * --wrong-key (one byte of the key flipped), so every frame of each node
 * fails the other's MAC check.  The program does not JOIN before this
 * case; here both nodes JOIN for FK_JOIN_MS while a thread watches the
 * state of the link to the peer (sysfs peers/node<N>/state).  On both,
 * JOIN must end in ETIMEDOUT with only their own node up, and the link
 * must never have been up; the node with the right key must count the
 * other's frames in drop_bad_mac (debugfs vm<id>/cluster), which starts
 * at zero in a new cluster: at least one.  Over either transport.
 */
#define FK_JOIN_MS	5000

struct fk_watch {
	const struct dsm *d;
	bool stop;
	bool seen_up;
	unsigned int polls;
	char last[32];
};

static void *fk_watch_thread(void *arg)
{
	const struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	struct fk_watch *w = arg;
	char state[32];

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		if (!peer_str(w->d, "state", state, sizeof(state))) {
			w->polls++;
			memcpy(w->last, state, sizeof(w->last));
			if (!strcmp(state, "up"))
				w->seen_up = true;
		}
		nanosleep(&tick, NULL);
	}
	return NULL;
}

static int case_forged_key(struct dsm *d)
{
	struct fk_watch w = { .d = d, .last = "?" };
	uint64_t theirs = 0, up = 0, bad_mac;
	pthread_t th;
	int ret;

	if (!bi_debugfs_ready())
		return dsm_skip(d, "no bigiron debugfs");
	if (dsm_xchg(d, "wrong_key", d->wrong_key, &theirs, BARRIER_S))
		return TAP_FAIL;
	TAP_CHECK(d->wrong_key != !!theirs,
		  "forged_key needs --wrong-key on exactly one of the nodes "
		  "(here %s, at the peer %s)", d->wrong_key ? "yes" : "no",
		  theirs ? "yes" : "no");
	TAP_CHECK(!pthread_create(&th, NULL, fk_watch_thread, &w),
		  "pthread_create failed");
	ret = dsm_join(d, FK_JOIN_MS, &up);
	__atomic_store_n(&w.stop, true, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	/* both JOINs are over */
	SYNC(d, "joined", BARRIER_S);
	bad_mac = dbg_u64(d, "cluster", "drop_bad_mac");
	tap_diag("%s: JOIN with the %s key for %d ms: %s, up_mask %#" PRIx64
		 "; link to the peer: %s (%u looks, up: %s); drop_bad_mac %"
		 PRId64, d->label, d->wrong_key ? "wrong" : "right",
		 FK_JOIN_MS, ret ? strerror(-ret) : "joined", up, w.last,
		 w.polls, w.seen_up ? "yes" : "never",
		 bad_mac == UINT64_MAX ? (int64_t)-1 : (int64_t)bad_mac);
	TAP_CHECK(ret == -ETIMEDOUT, "JOIN: %s, want ETIMEDOUT",
		  ret ? strerror(-ret) : "joined");
	TAP_CHECK(up == 1ULL << d->node,
		  "up_mask %#" PRIx64 ", want only this node", up);
	TAP_CHECK(w.polls, "peers/node%d/state unreadable", !d->node);
	TAP_CHECK(!w.seen_up, "the link to the peer was up");
	/*
	 * Over RDMA the forger's connection requests carry a MAC too: the
	 * node with the right key refuses them before any frame flows
	 * (when the forger is the one that connects, node 0).
	 */
	if (!d->wrong_key && d->rdma) {
		uint64_t refused = dbg_u64(d, "cluster", "rdma_refused");

		tap_diag("%s: rdma_refused %" PRId64, d->label,
			 refused == UINT64_MAX ? (int64_t)-1 : (int64_t)refused);
		TAP_CHECK(refused != UINT64_MAX && refused >= 1,
			  "rdma_refused %" PRId64 ", want at least 1: no "
			  "connection request of the peer was refused",
			  refused == UINT64_MAX ? (int64_t)-1 :
			  (int64_t)refused);
	} else if (!d->wrong_key) {
		TAP_CHECK(bad_mac != UINT64_MAX && bad_mac >= 1,
			  "drop_bad_mac %" PRId64 ", want at least 1: no "
			  "frame of the peer was dropped as forged",
			  bad_mac == UINT64_MAX ? (int64_t)-1 :
			  (int64_t)bad_mac);
	}
	return TAP_PASS;
}

/* ---- case: stray_connect (rdma) ----------------------------------------- */

/*
 * A connection request that is not bigiron's (rping's, with no private
 * data) reaches node 1's listener while the cluster runs: node 1 refuses
 * it (debugfs rdma_refused grows), and the working connection stays: the
 * link stays up and a page still travels both ways (PINGs with a page
 * from node 0, then node 1 reads what node 0 wrote in node 1's home).
 * Node 0 runs rping, the lab's RDMA tool; without it the case is skipped.
 */
static int case_stray_connect(struct dsm *d)
{
	uint64_t refused0 = 0, refused1 = 0, theirs = 0, rtt[4];
	char cmd[160], ip[INET_ADDRSTRLEN], state[32] = "unreadable";
	volatile uint64_t *w = pg(d, d->half + 7);
	int ret, have = 0;

	if (!d->rdma)
		return dsm_skip(d, "not on ethernet");
	if (!bi_debugfs_ready())
		return dsm_skip(d, "no bigiron debugfs");
	if (d->node == 0)
		have = !system("command -v rping >/dev/null 2>&1");
	if (dsm_xchg(d, "rping", (uint64_t)have, &theirs, BARRIER_S))
		return TAP_FAIL;
	if (!(d->node == 0 ? (uint64_t)have : theirs))
		return dsm_skip(d, "no rping on node 0");
	if (d->node == 1)
		refused0 = dbg_u64(d, "cluster", "rdma_refused");
	SYNC(d, "counted", BARRIER_S);
	if (d->node == 0) {
		inet_ntop(AF_INET, d->rdma_addr[1] + 12, ip, sizeof(ip));
		snprintf(cmd, sizeof(cmd),
			 "timeout 20 rping -c -a %s -p %u -C 1 >/dev/null 2>&1",
			 ip, d->rdma_port[1]);
		ret = system(cmd);
		tap_diag("%s: stray_connect: rping to %s:%u exited %d",
			 d->label, ip, d->rdma_port[1],
			 WIFEXITED(ret) ? WEXITSTATUS(ret) : -1);
		TAP_CHECK(!WIFEXITED(ret) || WEXITSTATUS(ret),
			  "rping's connection was accepted");
		*w = 0x5354524159ULL;	/* "STRAY" */
	}
	SYNC(d, "rpinged", BARRIER_S);
	if (d->node == 1) {
		refused1 = dbg_u64(d, "cluster", "rdma_refused");
		tap_diag("%s: stray_connect: rdma_refused %" PRIu64 " -> %"
			 PRIu64, d->label, refused0, refused1);
		TAP_CHECK(refused1 != UINT64_MAX && refused1 > refused0,
			  "the stray request was not refused");
		TAP_CHECK(*w == 0x5354524159ULL,
			  "node 0's write not seen: %#" PRIx64, (uint64_t)*w);
	} else {
		ret = vm_ping(d, 4, 4096, rtt);
		TAP_CHECK(!ret, "PING after the stray request: %s",
			  strerror(-ret));
	}
	TAP_CHECK(!peer_str(d, "state", state, sizeof(state)) &&
		  !strcmp(state, "up"), "link to the peer: %s", state);
	SYNC(d, "checked", BARRIER_S);
	return TAP_PASS;
}

/* ---- case: page_data (rdma) -------------------------------------------- */

/*
 * Proves that page payloads cross an RDMA connection without a copy into
 * a send buffer, the way the module's rdma_pages says (both nodes must
 * say the same): node 1 writes PD_PAGES pages of its home, node 0 reads
 * them, each a remote read fault answered with the page.  With "send"
 * node 1 must have sent each straight from its send window (peers:
 * rdma_tx_window); with "read" node 0 must have read each with an RDMA
 * READ (rdma_reads); with any mode node 0 must have handed each on with
 * its receive page (rdma_rx_handed).  Prefetched pages add to all of
 * them.  Every page must read back as node 1 wrote it.
 */
#define PD_PAGES	64

/* The growth of debugfs peers counter @name across the case, checked. */
static bool pd_grew(const struct dsm *d, const char *name, uint64_t before,
		    uint64_t after)
{
	tap_diag("%s: page_data: %s %" PRIu64 " -> %" PRIu64, d->label, name,
		 before, after);
	/* per connection: a new one mid-case starts from 0 */
	return before != UINT64_MAX && after != UINT64_MAX &&
	       after >= before && after - before >= PD_PAGES;
}

static int case_page_data(struct dsm *d)
{
	static const char *const tx_counter[128] = {
		['s'] = "rdma_tx_window",
	};
	uint64_t tx0 = 0, reads0 = 0, handed0 = 0, mode = 0, theirs = 0;
	size_t first = d->half + RES, i;
	char why[256];
	int bad = 0;

	if (!d->rdma)
		return dsm_skip(d, "not on ethernet");
	if (!bi_debugfs_ready())
		return dsm_skip(d, "no bigiron debugfs");
	mode = (uint64_t)rdma_pages();
	if (dsm_xchg(d, "page_data", mode, &theirs, BARRIER_S))
		return TAP_FAIL;
	TAP_CHECK(mode && mode == theirs,
		  "rdma_pages here %c, on the peer %c", (int)(mode ? mode : '?'),
		  (int)(theirs ? theirs : '?'));
	if (first + PD_PAGES > d->nr_pages)
		return dsm_skip(d, "VM too small");
	if (d->node == 1 && tx_counter[mode])
		tx0 = dbg_u64(d, "peers", tx_counter[mode]);
	if (d->node == 1)
		for (i = 0; i < PD_PAGES; i++)
			fill_page(pg(d, first + i), page_base(first + i, 0x5052, 1));
	SYNC(d, "written", BARRIER_S);
	if (d->node == 0) {
		reads0 = dbg_u64(d, "peers", "rdma_reads");
		handed0 = dbg_u64(d, "peers", "rdma_rx_handed");
		for (i = 0; i < PD_PAGES; i++) {
			if (!check_page(pg(d, first + i),
					page_base(first + i, 0x5052, 1), why,
					sizeof(why)))
				continue;
			if (!bad++)
				tap_diag("%s: page_data: page %zu: %s",
					 d->label, first + i, why);
		}
		TAP_CHECK(!bad, "%d of %d pages read back wrong", bad,
			  PD_PAGES);
		TAP_CHECK(pd_grew(d, "rdma_rx_handed", handed0,
				  dbg_u64(d, "peers", "rdma_rx_handed")),
			  "fewer pages handed on than pages moved");
		if (mode == 'r')
			TAP_CHECK(pd_grew(d, "rdma_reads", reads0,
					  dbg_u64(d, "peers", "rdma_reads")),
				  "fewer RDMA READs than pages moved");
	}
	SYNC(d, "read", BARRIER_S);
	if (d->node == 1 && tx_counter[mode])
		TAP_CHECK(pd_grew(d, tx_counter[mode], tx0,
				  dbg_u64(d, "peers", tx_counter[mode])),
			  "fewer pages sent from the window than pages moved");
	SYNC(d, "checked", BARRIER_S);
	return TAP_PASS;
}

/* ---- case: link_lost (only when --cases names it) ----------------------- */

/*
 * Proves that losing the link under a running cluster (node 1's
 * interface or RDMA device taken away while both processes live on)
 * turns node 0's faults into a bounded failure, not a hang.  Node 0
 * reads pages of node 1's home it never touched, one after the other
 * (each a remote read fault), spread over LL_SPAN_S; after LL_ANNOUNCE
 * of them it prints "link_lost: faulting", the cue for the caller
 * (run_dsm.sh rxe) to take the link away.  A read must then raise
 * SIGBUS within fault_timeout_ms + 5 s of its start, and fault_errors
 * must grow.  The pages must be untouched: run it alone.
 */
#define LL_SPAN_S	120
#define LL_ANNOUNCE	20

struct ll {
	struct dsm *d;
	size_t first, end;
	uint64_t gap_ns;
	volatile size_t served;		/* reads that returned */
	volatile uint64_t t_read;	/* start of the read in progress */
};

static int ll_work(void *arg)
{
	struct ll *l = arg;
	struct dsm *d = l->d;
	struct timespec gap = {
		.tv_sec = (time_t)(l->gap_ns / 1000000000ULL),
		.tv_nsec = (long)(l->gap_ns % 1000000000ULL),
	};
	size_t page;

	for (page = l->first; page < l->end; page++) {
		l->t_read = now_ns();
		(void)*(const volatile uint64_t *)pg(d, page);
		l->served = l->served + 1;
		if (l->served == LL_ANNOUNCE)
			tap_diag("%s: link_lost: faulting on node 1's pages, "
				 "%zu to go: take the link away", d->label,
				 l->end - page - 1);
		nanosleep(&gap, NULL);
	}
	return 0;
}

static int ll_node0(struct dsm *d)
{
	struct ll l = { .d = d, .first = d->half + RES, .end = d->nr_pages };
	uint64_t t0, ms, err0, err1, rf0, rf1;
	char state[32] = "?";
	void *addr = NULL;
	int ret;

	l.gap_ns = LL_SPAN_S * 1000000000ULL / (l.end - l.first);
	err0 = vm_u64(d, "fault_errors");
	rf0 = vm_u64(d, "remote_read_faults");
	SYNC(d, "ready", BARRIER_S);
	t0 = now_ns();
	ret = guarded(ll_work, &l, &addr);
	ms = (now_ns() - l.t_read) / 1000000;
	err1 = vm_u64(d, "fault_errors");
	rf1 = vm_u64(d, "remote_read_faults");
	peer_str(d, "state", state, sizeof(state));
	tap_diag("%s: link_lost: %zu reads in %.1f s, then %s after %" PRIu64
		 " ms; remote_read_faults %" PRIu64 " -> %" PRIu64
		 ", fault_errors %" PRIu64 " -> %" PRIu64
		 "; link to node 1: %s",
		 d->label, (size_t)l.served, (now_ns() - t0) / 1e9,
		 ret == -EFAULT ? "SIGBUS" : "no error", ms, rf0, rf1, err0,
		 err1, state);
	/* node 1 may go on */
	SYNC(d, "done", BARRIER_S);
	TAP_CHECK(ret == -EFAULT, "%zu pages of node 1 read without an error: "
		  "the link was not taken away", (size_t)l.served);
	TAP_CHECK(l.served >= LL_ANNOUNCE, "SIGBUS after %zu reads, before "
		  "the cue to take the link away", (size_t)l.served);
	TAP_CHECK(addr == pg(d, l.first + l.served), "SIGBUS at %p, want %p",
		  addr, pg(d, l.first + l.served));
	TAP_CHECK(ms <= d->fault_timeout_ms + 5000ULL,
		  "SIGBUS after %" PRIu64 " ms, fault_timeout_ms %u + 5 s",
		  ms, d->fault_timeout_ms);
	TAP_CHECK(err1 != UINT64_MAX && err1 > err0,
		  "fault_errors %" PRIu64 " -> %" PRIu64, err0, err1);
	return TAP_PASS;
}

static int case_link_lost(struct dsm *d)
{
	char state[32] = "?";

	if (d->node == 0)
		return ll_node0(d);
	SYNC(d, "ready", BARRIER_S);
	/* node 0 reads until the link is gone: LL_SPAN_S at most, and a
	 * fault timeout
	 */
	SYNC(d, "done", BARRIER_LONG_S);
	peer_str(d, "state", state, sizeof(state));
	tap_diag("%s: link_lost: link to node 0: %s", d->label, state);
	return TAP_PASS;
}

/* ---- runner ------------------------------------------------------------- */

/*
 * --hold-file: keep the VM open after the cases until the file exists
 * (another program still reads its counters: bigiron_inject), for
 * HOLD_MAX_S at most.
 */
#define HOLD_MAX_S	300

static void hold_open(const struct dsm *d)
{
	const struct timespec tick = { .tv_nsec = 100 * 1000 * 1000 };
	unsigned int i;

	for (i = 0; i < HOLD_MAX_S * 10; i++) {
		if (!access(d->hold_file, F_OK))
			return;
		nanosleep(&tick, NULL);
	}
	tap_diag("%s: %s did not appear within %d s", d->label, d->hold_file,
		 HOLD_MAX_S);
}

/*
 * In the order they run; explicit: only when --cases names it.
 * peer_gone ends the cluster: last.
 */
static const struct {
	const char *name;
	int (*fn)(struct dsm *d);
	bool explicit;
} dsm_cases[] = {
	{ "forged_key", case_forged_key, true },	/* alone, no JOIN */
	{ "cross_node_rw", case_cross_node_rw, false },
	{ "atomic_one_page", case_atomic_one_page, false },
	{ "atomic_many_pages", case_atomic_many_pages, false },
	{ "ring", case_ring, false },
	{ "random_rw", case_random_rw, false },
	{ "bad_frames", case_bad_frames, false },
	{ "rx_nomem", case_rx_nomem, false },
	{ "stray_connect", case_stray_connect, false },
	{ "page_data", case_page_data, false },
	{ "far_pages", case_far_pages, false },
	{ "link_lost", case_link_lost, true },		/* alone */
	{ "peer_gone", case_peer_gone, false },
};
#define NR_CASES	((int)(sizeof(dsm_cases) / sizeof(dsm_cases[0])))

static bool case_selected(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	if (!list)
		return true;
	while ((p = strstr(p, name))) {
		if ((p == list || p[-1] == ',') && (!p[n] || p[n] == ','))
			return true;
		p += n;
	}
	return false;
}

static void tap_line(int n, int status, const struct dsm *d,
		     const char *name, const char *why)
{
	printf("%sok %d - %s: %s%s%s\n", status == TAP_FAIL ? "not " : "", n,
	       d->label, name, status == TAP_SKIP ? " # SKIP " : "",
	       status == TAP_SKIP ? why : "");
	fflush(stdout);
}

static int tool_main(int argc, char **argv)
{
	int ret;

	if (!strcmp(argv[1], "--make-veth") && argc == 5) {
		link_del(argv[2]);
		ret = veth_add(argv[2], argv[3],
			       (unsigned int)strtoul(argv[4], NULL, 0));
		if (ret)
			fprintf(stderr, "make-veth %s %s: %s\n", argv[2],
				argv[3], strerror(-ret));
		return ret ? 1 : 0;
	}
	if (!strcmp(argv[1], "--del-veth") && argc == 3) {
		ret = link_del(argv[2]);
		if (ret && ret != -ENODEV)
			fprintf(stderr, "del-veth %s: %s\n", argv[2],
				strerror(-ret));
		return ret && ret != -ENODEV ? 1 : 0;
	}
	dsm_usage(argv[0], false);
	return 2;
}

int main(int argc, char **argv)
{
	int sel[NR_CASES], nsel = 0, i, st, peer, fail = 0, n;
	bool vm_open = true, alone = false, forged = false;
	char buf[32];
	struct dsm *d;
	int ret;

	if (argc >= 2 && !strncmp(argv[1], "--make-veth", 11))
		return tool_main(argc, argv);
	if (argc >= 2 && !strncmp(argv[1], "--del-veth", 10))
		return tool_main(argc, argv);
	d = calloc(1, sizeof(*d));
	if (!d || dsm_parse(d, argc, argv, false))
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < NR_CASES; i++) {
		if (d->cases ? !case_selected(d->cases, dsm_cases[i].name) :
		    dsm_cases[i].explicit)
			continue;
		alone |= dsm_cases[i].explicit;
		forged |= dsm_cases[i].fn == case_forged_key;
		sel[nsel++] = i;
	}
	if ((alone && nsel > 1) || (d->wrong_key && !forged)) {
		fprintf(stderr, "%s: forged_key and link_lost run alone; "
			"--wrong-key is for forged_key only\n", argv[0]);
		return 2;
	}

	printf("TAP version 13\n1..%d\n", nsel + 1);
	if (geteuid() || bi_ensure_module()) {
		printf("not ok 1 - %s: join # needs root and bigiron.ko\n",
		       d->label);
		return 1;
	}
	install_sigbus();

	/*
	 * peer_gone needs a short fault timeout: node 0 sets the module
	 * parameter before SET_CLUSTER reads it, and restores it at exit.
	 */
	if (d->node == 0) {
		if (param_read("fault_timeout_ms", d->saved_timeout,
			       sizeof(d->saved_timeout)))
			tap_diag("%s: no fault_timeout_ms parameter", d->label);
		snprintf(buf, sizeof(buf), "%u", d->fault_timeout_ms);
		if (d->saved_timeout[0] &&
		    param_write("fault_timeout_ms", buf))
			tap_diag("%s: cannot set fault_timeout_ms", d->label);
	}

	/*
	 * test 1: control channel, VM, cluster, join, mapping; for
	 * forged_key only up to the cluster ("cluster"): it JOINs itself
	 */
	d->cur = 0;
	ret = ctl_open(d);
	if (!ret)
		ret = forged ? dsm_cluster(d) : dsm_setup(d);
	st = ret ? TAP_FAIL : TAP_PASS;
	if (d->ctl >= 0) {
		peer = dsm_case_end(d, st);
		if (peer != TAP_PASS)
			tap_diag("%s: the peer's setup failed", d->label);
		if (st == TAP_PASS && peer != TAP_PASS)
			st = TAP_FAIL;
	}
	tap_line(1, st, d, forged ? "cluster" : "join", "");
	/*
	 * --make-it-fail: the kernel's fault injection (task filter) acts
	 * on this thread and the ones it starts from here: the cases run
	 * with some of their allocations in the kernel failing.
	 */
	if (st == TAP_PASS && d->make_it_fail) {
		int fd = open("/proc/thread-self/make-it-fail",
			      O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write(fd, "1", 1) != 1)
			tap_diag("%s: make-it-fail: %s", d->label,
				 strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	if (st != TAP_PASS) {
		for (i = 0; i < nsel; i++)
			tap_line(i + 2, TAP_FAIL, d, dsm_cases[sel[i]].name, "");
		fail = 1;
		goto out;
	}

	for (n = 0; n < nsel; n++) {
		i = sel[n];
		d->cur = n + 1;
		d->peer_ended = d->case_ended = false;
		d->peer_status = TAP_FAIL;
		d->skip_why[0] = '\0';
		tap_diag("%s: case %s", d->label, dsm_cases[i].name);
		if (d->ctl_broken) {
			st = TAP_FAIL;
			tap_diag("%s: control channel lost earlier", d->label);
		} else if (dsm_sync(d, "begin", BARRIER_LONG_S)) {
			st = TAP_FAIL;
		} else {
			st = dsm_cases[i].fn(d);
		}
		peer = dsm_case_end(d, st);
		if (peer == TAP_FAIL)
			tap_diag("%s: the peer reports a failure in %s",
				 d->label, dsm_cases[i].name);
		if (dsm_cases[i].fn == case_peer_gone)
			vm_open = false;
		tap_line(n + 2, st, d, dsm_cases[i].name,
			 d->skip_why[0] ? d->skip_why : "see diagnostics");
		if (st == TAP_FAIL)
			fail = 1;
	}
out:
	if (vm_open && d->hold_file)
		hold_open(d);
	if (vm_open) {
		/* no peer_gone: leave together so neither sees a dead peer */
		d->cur = nsel + 1;
		d->peer_ended = d->case_ended = false;
		if (d->ctl >= 0 && !d->ctl_broken)
			dsm_case_end(d, TAP_PASS);
		dsm_close_vm(d);
	}
	if (d->ctl >= 0)
		close(d->ctl);
	if (d->node == 0 && d->saved_timeout[0])
		param_write("fault_timeout_ms", d->saved_timeout);
	printf("# %s: %s\n", d->label, fail ? "FAIL" : "pass");
	return fail;
}

#endif /* DSM_LIB_ONLY */
