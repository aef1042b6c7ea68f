// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron_cluster: two node instances of one 128 MiB VM in one kernel,
 * linked by raw Ethernet frames over a veth pair.
 *
 *   /dev/bigiron (VM A, node 0)           /dev/bigiron (VM B, node 1)
 *     home [0, 64 MiB)                      home [64 MiB, 128 MiB)
 *          │                                     │
 *         bi0 ════════════ veth, MTU 9000 ════════ bi1
 *          ▲                                      ▲
 *          └── AF_PACKET socket: forged and       └── AF_PACKET socket:
 *              truncated frames to bi1               frames captured, MACs
 *                                                    recomputed
 *
 * Cases: SET_CLUSTER argument checks; JOIN of both (one in a child
 * process, JOIN blocks) and the peers' sysfs state; PING round trips with
 * a page each way, in one jumbo frame and in 1500-byte fragments; a
 * forged frame (wrong key) and a truncated frame are dropped and counted
 * and change nothing else; the MAC of every frame the nodes send, captured
 * on bi1, is keyed BLAKE2s-128 as computed here (blake2s.h, checked
 * against reference vectors first); the MTU changing under running links;
 * the two memory files as one coherent memory (cross reads and writes, copies
 * given back, a page contended from both nodes, counters, histogram and
 * tracepoints); JOIN with the peer absent
 * times out; deleting the interface while the links are up kills the
 * peers without a hang, and the VMs still close (bigiron_module runs later
 * and unloads the module); launcher messages, and their bound when the
 * link does not move; an IPI the other node cannot deliver is reported,
 * not lost; SET_CLUSTER and SET_KVM refused without their capabilities;
 * the interface deleted while SET_CLUSTER runs.  Each case builds its own
 * veth pair and deletes it on exit.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/kvm.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>

#include <bigiron/wire.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "blake2s.h"
#include "netlink.h"
#include "tap.h"
#include "util.h"

#define MiB		(1024ULL * 1024)
#define VM_SIZE		(128 * MiB)
#define CLUSTER_ID	0xb1c1
#define ETH_P_BIGIRON	0x88B5
#define IF_A		"bi0"
#define IF_B		"bi1"
#define PINGS		100

/* ---- the veth pair ------------------------------------------------------ */

static int veth_del(const char *name)
{
	return link_del(name);
}

/* ip link add bi0 mtu 9000 type veth peer name bi1 mtu 9000; both up */
static int veth_pair_add(void)
{
	veth_del(IF_A);
	return veth_add(IF_A, IF_B, 9000);
}

static int read_mac(const char *ifname, uint8_t mac[6])
{
	char path[96], buf[32];
	unsigned int b[6];
	ssize_t len;
	int fd, i;

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", ifname);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -EIO;
	buf[len] = '\0';
	if (sscanf(buf, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5]) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* ---- node instances ---------------------------------------------------- */

struct node {
	int devfd;
	int memfd;
	uint32_t vm_id;
};

struct pair {
	struct node n[2];
	struct bigiron_node_desc desc[2];
	unsigned int ifindex[2];
};

static const uint8_t test_key[BIGIRON_KEY_SIZE] = "bigiron selftest cluster key 32";

/* Frame payload limit given to SET_CLUSTER by pair_set(); 0: the MTU's. */
static uint32_t pair_mtu;

static int node_create(struct node *n)
{
	struct bigiron_vm_create arg;
	int ret;

	n->devfd = bi_open_dev();
	if (n->devfd < 0)
		return -errno;
	ret = bi_vm_create(n->devfd, VM_SIZE, 0, &arg);
	if (ret)
		return ret;
	n->memfd = arg.mem_fd;
	n->vm_id = arg.vm_id;
	return 0;
}

static void node_close(struct node *n)
{
	if (n->memfd >= 0)
		close(n->memfd);
	if (n->devfd >= 0)
		close(n->devfd);
	n->memfd = -1;
	n->devfd = -1;
}

static void cluster_arg(const struct pair *p, unsigned int self,
			struct bigiron_vm_cluster *c)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->cluster_id = CLUSTER_ID;
	c->self = (uint16_t)self;
	c->nr_nodes = 2;
	c->transport = BIGIRON_TRANSPORT_ETH;
	c->ifindex = p->ifindex[self];
	c->mtu = pair_mtu;
	memcpy(c->key, test_key, sizeof(c->key));
	c->nodes = (uintptr_t)p->desc;
}

static int set_cluster(int devfd, struct bigiron_vm_cluster *c)
{
	return ioctl(devfd, BIGIRON_VM_SET_CLUSTER, c) ? -errno : 0;
}

static int join(int devfd, uint32_t timeout_ms, uint64_t *up_mask)
{
	struct bigiron_vm_join j = {
		.size = sizeof(j),
		.timeout_ms = timeout_ms,
	};
	int ret;

	ret = ioctl(devfd, BIGIRON_VM_JOIN, &j) ? -errno : 0;
	if (up_mask)
		*up_mask = j.up_mask;
	return ret;
}

static int ping(int devfd, uint16_t node, uint32_t count, uint32_t payload,
		uint64_t *rtt)
{
	struct bigiron_vm_ping p = {
		.size = sizeof(p),
		.node = node,
		.count = count,
		.payload = payload,
		.rtt_ns = (uintptr_t)rtt,
	};

	return ioctl(devfd, BIGIRON_VM_PING, &p) ? -errno : 0;
}

/* The veth pair, two VMs and their node tables; no cluster set yet. */
static int pair_create(struct pair *p)
{
	int ret, i;

	memset(p, 0, sizeof(*p));
	p->n[0].devfd = p->n[1].devfd = -1;
	p->n[0].memfd = p->n[1].memfd = -1;
	ret = veth_pair_add();
	if (ret) {
		tap_diag("creating veth pair: %s", strerror(-ret));
		return ret;
	}
	p->ifindex[0] = if_nametoindex(IF_A);
	p->ifindex[1] = if_nametoindex(IF_B);
	if (!p->ifindex[0] || !p->ifindex[1])
		return -ENODEV;
	for (i = 0; i < 2; i++) {
		ret = read_mac(i ? IF_B : IF_A, p->desc[i].mac);
		if (ret)
			return ret;
		p->desc[i].home_start = i * (VM_SIZE / 2);
		p->desc[i].home_size = VM_SIZE / 2;
		ret = node_create(&p->n[i]);
		if (ret) {
			tap_diag("creating VM %d: %s", i, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int pair_set(struct pair *p)
{
	struct bigiron_vm_cluster c;
	int ret, i;

	for (i = 0; i < 2; i++) {
		cluster_arg(p, i, &c);
		ret = set_cluster(p->n[i].devfd, &c);
		if (ret) {
			tap_diag("SET_CLUSTER node %d: %s", i, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* JOIN both: node 1 in a child (JOIN blocks), node 0 here. */
static int pair_join(struct pair *p, uint64_t *mask0)
{
	uint64_t mask1 = 0;
	int status, ret;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		ret = join(p->n[1].devfd, 20000, &mask1);
		_exit(ret == 0 && mask1 == 3 ? 0 : 1);
	}
	ret = join(p->n[0].devfd, 20000, mask0);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (ret)
		return ret;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int pair_up(struct pair *p)
{
	uint64_t mask = 0;
	int ret;

	ret = pair_create(p);
	if (!ret)
		ret = pair_set(p);
	if (!ret)
		ret = pair_join(p, &mask);
	if (!ret && mask != 3)
		ret = -EIO;
	if (ret)
		tap_diag("bringing the pair up: %s (up_mask %#" PRIx64 ")",
			 strerror(-ret), mask);
	return ret;
}

static void pair_destroy(struct pair *p)
{
	node_close(&p->n[0]);
	node_close(&p->n[1]);
	veth_del(IF_A);
}

/* Map both nodes' views of the VM's memory into m[0] and m[1]. */
static int pair_map(const struct pair *p, volatile uint64_t *m[2])
{
	unsigned int i;

	for (i = 0; i < 2; i++) {
		m[i] = mmap(NULL, VM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			    p->n[i].memfd, 0);
		TAP_CHECK(m[i] != MAP_FAILED, "mmap %u: %s", i,
			  strerror(errno));
	}
	return TAP_PASS;
}

static void pair_unmap(volatile uint64_t *m[2])
{
	munmap((void *)m[0], VM_SIZE);
	munmap((void *)m[1], VM_SIZE);
}

static int peer_file(uint32_t vm_id, unsigned int node, const char *name,
		     char *buf, size_t size)
{
	char path[128];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), BI_SYSFS "/vm%u/peers/node%u/%s",
		 vm_id, node, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, size - 1);
	close(fd);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	return 0;
}

static uint64_t peer_u64(uint32_t vm_id, unsigned int node, const char *name)
{
	char buf[32];

	if (peer_file(vm_id, node, name, buf, sizeof(buf)))
		return UINT64_MAX;
	return strtoull(buf, NULL, 10);
}

static bool peer_state_is(uint32_t vm_id, unsigned int node,
			  const char *want)
{
	char buf[32];

	return !peer_file(vm_id, node, "state", buf, sizeof(buf)) &&
	       !strcmp(buf, want);
}

/* One "name value" line of debugfs vm<id>/cluster. */
static uint64_t cluster_dbg(uint32_t vm_id, const char *name)
{
	char path[128], line[128], key[64];
	unsigned long long val;
	uint64_t ret = UINT64_MAX;
	FILE *f;

	snprintf(path, sizeof(path), BI_DEBUGFS "/vm%u/cluster", vm_id);
	f = fopen(path, "re");
	if (!f)
		return ret;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %llu", key, &val) == 2 &&
		    !strcmp(key, name))
			ret = val;
	fclose(f);
	return ret;
}

/* debugfs vm<id>/peers, as diagnostics */
static void dump_peers(uint32_t vm_id)
{
	char path[128], line[160];
	FILE *f;

	snprintf(path, sizeof(path), BI_DEBUGFS "/vm%u/peers", vm_id);
	f = fopen(path, "re");
	if (!f)
		return;
	tap_diag("vm%u peers:", vm_id);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strstr(line, " 0") || strstr(line, "node"))
			tap_diag("%s", line);
	}
	fclose(f);
}

/*
 * Drops in debugfs vm<id>/peers but duplicates (a retransmission that
 * was not needed, frequent on an emulated CPU) and frames that came
 * before JOIN opened the link.
 */
static uint64_t peers_bad_drops(uint32_t vm_id)
{
	char path[128], line[160], key[64];
	unsigned long long val;
	uint64_t sum = 0;
	FILE *f;

	snprintf(path, sizeof(path), BI_DEBUGFS "/vm%u/peers", vm_id);
	f = fopen(path, "re");
	if (!f)
		return UINT64_MAX;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " %63s %llu", key, &val) == 2 &&
		    !strncmp(key, "drop_", 5) &&
		    strcmp(key, "drop_old_seq") &&
		    strcmp(key, "drop_bad_link_state"))
			sum += val;
	fclose(f);
	return sum;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- cases ------------------------------------------------------------- */

static int test_set_cluster_checks(void)
{
	struct bigiron_node_desc saved[2];
	struct bigiron_vm_cluster c;
	uint64_t rtt, mask;
	struct node busy;
	struct pair p;
	int ret = TAP_FAIL;
	void *map;

	if (pair_create(&p))
		goto out;
	memcpy(saved, p.desc, sizeof(saved));

#define EXPECT(err, what, stmt) do {					\
		cluster_arg(&p, 0, &c);					\
		memcpy(p.desc, saved, sizeof(saved));			\
		stmt;							\
		int __r = set_cluster(p.n[0].devfd, &c);		\
		if (__r != (err)) {					\
			tap_diag("%s: got %s, want %s", what,		\
				 strerror(-__r), strerror(-(err)));	\
			goto out;					\
		}							\
	} while (0)

	EXPECT(-EINVAL, "short size", c.size -= 8);
	EXPECT(-EINVAL, "flags", c.flags = 1);
	EXPECT(-EINVAL, "pad", c.pad = 1);
	EXPECT(-EINVAL, "reserved", c.reserved[3] = 1);
	EXPECT(-EINVAL, "cluster id 0", c.cluster_id = 0);
	EXPECT(-EINVAL, "one node", c.nr_nodes = 1);
	EXPECT(-EINVAL, "65 nodes", c.nr_nodes = 65);
	EXPECT(-EINVAL, "self out of range", c.self = 2);
	EXPECT(-EOPNOTSUPP, "unknown transport", c.transport = 7);
	EXPECT(-EINVAL, "unknown ifindex", c.ifindex = 99999);
	EXPECT(-EINVAL, "loopback", c.ifindex = if_nametoindex("lo"));
	EXPECT(-EINVAL, "interface not self's MAC", c.ifindex = p.ifindex[1]);
	EXPECT(-EINVAL, "tiny mtu", c.mtu = 100);
	EXPECT(-EINVAL, "mtu above the interface's", c.mtu = 9001);
	EXPECT(-EINVAL, "no node table", c.nodes = 0);
	EXPECT(-EFAULT, "bad node table", c.nodes = 8);
	EXPECT(-EINVAL, "node port (ethernet)", p.desc[1].port = 1);
	EXPECT(-EINVAL, "node addr (ethernet)", p.desc[1].addr[15] = 1);
	EXPECT(-EINVAL, "duplicate MAC",
	       memcpy(p.desc[1].mac, p.desc[0].mac, 6));
	EXPECT(-EINVAL, "zero MAC", memset(p.desc[1].mac, 0, 6));
	EXPECT(-EINVAL, "multicast MAC", p.desc[1].mac[0] |= 1);
	EXPECT(-EINVAL, "gap", p.desc[1].home_start += MiB;
	       p.desc[1].home_size -= MiB);
	EXPECT(-EINVAL, "overlap", p.desc[0].home_size += 32 * MiB;
	       p.desc[1].home_start -= 32 * MiB);
	EXPECT(-EINVAL, "overlap summing to the size",
	       p.desc[0].home_size = 64 * MiB;
	       p.desc[1].home_start = 32 * MiB);
	EXPECT(-EINVAL, "past the end", p.desc[1].home_size += 4096);
	EXPECT(-EINVAL, "unaligned", p.desc[0].home_size += 512;
	       p.desc[1].home_start += 512; p.desc[1].home_size -= 512);

	/* JOIN and PING want a cluster */
	TAP_CHECK(join(p.n[0].devfd, 100, &mask) == -EINVAL, "JOIN, no cluster");
	TAP_CHECK(ping(p.n[0].devfd, 1, 1, 0, &rtt) == -EINVAL,
		  "PING, no cluster");

	cluster_arg(&p, 0, &c);
	memcpy(p.desc, saved, sizeof(saved));
	ret = set_cluster(p.n[0].devfd, &c);
	TAP_CHECK(ret == 0, "valid SET_CLUSTER: %s", strerror(-ret));
	ret = set_cluster(p.n[0].devfd, &c);
	TAP_CHECK(ret == -EEXIST, "second SET_CLUSTER: %s", strerror(-ret));
	TAP_CHECK(peer_state_is(p.n[0].vm_id, 1, "down"), "peer not down");
	TAP_CHECK(ping(p.n[0].devfd, 0, 1, 0, &rtt) == -EINVAL, "PING self");
	TAP_CHECK(ping(p.n[0].devfd, 1, 1, 100, &rtt) == -EINVAL,
		  "PING odd payload");
	TAP_CHECK(ping(p.n[0].devfd, 1, 1, 0, &rtt) == -ENOTCONN,
		  "PING before JOIN");

	/* a touched page: the VM is a single node already */
	busy.devfd = busy.memfd = -1;
	ret = node_create(&busy);
	TAP_CHECK(ret == 0, "VM: %s", strerror(-ret));
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, busy.memfd, 0);
	TAP_CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	TAP_CHECK(*(volatile uint8_t *)map == 0, "page not zero");
	cluster_arg(&p, 1, &c);
	ret = set_cluster(busy.devfd, &c);
	TAP_CHECK(ret == -EBUSY, "SET_CLUSTER after a fault: %s",
		  strerror(-ret));
	munmap(map, 4096);
	node_close(&busy);
	ret = TAP_PASS;
out:
	pair_destroy(&p);
	return ret;
}

static int test_join_and_ping(void)
{
	uint64_t rtt[PINGS], t0, drops[2];
	struct pair p;
	int ret, i;

	if (pair_up(&p))
		return TAP_FAIL;
	TAP_CHECK(peer_state_is(p.n[0].vm_id, 1, "up"), "node 0's peer");
	TAP_CHECK(peer_state_is(p.n[1].vm_id, 0, "up"), "node 1's peer");
	for (i = 0; i < 2; i++) {
		char mac[32], want[32];
		const uint8_t *m = p.desc[!i].mac;

		TAP_CHECK(!peer_file(p.n[i].vm_id, !i, "mac", mac,
				     sizeof(mac)), "mac file");
		snprintf(want, sizeof(want),
			 "%02x:%02x:%02x:%02x:%02x:%02x",
			 m[0], m[1], m[2], m[3], m[4], m[5]);
		TAP_CHECK(!strcmp(mac, want), "mac %s, want %s", mac, want);
	}

	memset(rtt, 0, sizeof(rtt));
	ret = ping(p.n[0].devfd, 1, 10, 0, rtt);
	TAP_CHECK(ret == 0, "PING, no payload: %s", strerror(-ret));
	t0 = now_ns();
	ret = ping(p.n[0].devfd, 1, PINGS, 4096, rtt);
	TAP_CHECK(ret == 0, "PING 4096: %s", strerror(-ret));
	t0 = now_ns() - t0;
	for (i = 0; i < PINGS; i++)
		TAP_CHECK(rtt[i] > 0 && rtt[i] <= t0, "rtt[%d] = %" PRIu64,
			  i, rtt[i]);
	qsort(rtt, PINGS, sizeof(rtt[0]), cmp_u64);
	tap_diag("PING 4096 bytes each way, %d round trips: median %" PRIu64
		 " us, p99 %" PRIu64 " us, max %" PRIu64 " us", PINGS,
		 rtt[PINGS / 2] / 1000, rtt[PINGS * 99 / 100 - 1] / 1000,
		 rtt[PINGS - 1] / 1000);
	ret = ping(p.n[1].devfd, 0, 10, 4096, rtt);
	TAP_CHECK(ret == 0, "PING back: %s", strerror(-ret));
	/* 4096 bytes and the header fit one 9000-byte frame */
	TAP_CHECK(peer_u64(p.n[0].vm_id, 1, "tx_frames") >= PINGS + 10,
		  "tx_frames");
	TAP_CHECK(peer_u64(p.n[1].vm_id, 0, "rx_frames") >= PINGS + 10,
		  "rx_frames");
	for (i = 0; i < 2; i++) {
		drops[i] = peers_bad_drops(p.n[i].vm_id);
		if (drops[i])
			dump_peers(p.n[i].vm_id);
		TAP_CHECK(drops[i] == 0, "vm%u: %" PRIu64 " frames dropped",
			  p.n[i].vm_id, drops[i]);
	}
	tap_diag("retransmits: %" PRIu64 " and %" PRIu64 " (spurious ones "
		 "are dropped as duplicates)",
		 peer_u64(p.n[0].vm_id, 1, "retransmits"),
		 peer_u64(p.n[1].vm_id, 0, "retransmits"));
	TAP_CHECK(cluster_dbg(p.n[1].vm_id, "drop_bad_pong") == 0,
		  "bad pong");
	pair_destroy(&p);
	return TAP_PASS;
}

/* A page split in three frames of at most 1500 bytes, reassembled. */
static int test_ping_fragmented(void)
{
	uint64_t rtt[PINGS], frames;
	struct pair p;
	int ret;

	pair_mtu = 1500;
	if (pair_up(&p))
		return TAP_FAIL;
	ret = ping(p.n[0].devfd, 1, PINGS, 4096, rtt);
	TAP_CHECK(ret == 0, "PING 4096 in fragments: %s", strerror(-ret));
	frames = peer_u64(p.n[1].vm_id, 0, "rx_frames");
	TAP_CHECK(frames >= 3 * PINGS, "node 1 got %" PRIu64 " frames",
		  frames);
	TAP_CHECK(peers_bad_drops(p.n[0].vm_id) == 0, "drops on node 0");
	TAP_CHECK(peers_bad_drops(p.n[1].vm_id) == 0, "drops on node 1");
	qsort(rtt, PINGS, sizeof(rtt[0]), cmp_u64);
	tap_diag("PING 4096 bytes in 1500-byte frames: median %" PRIu64
		 " us, p99 %" PRIu64 " us", rtt[PINGS / 2] / 1000,
		 rtt[PINGS * 99 / 100 - 1] / 1000);
	pair_destroy(&p);
	return TAP_PASS;
}

/* Send one raw frame from bi0 to bi1 with bigiron's ethertype. */
static int send_raw(const struct pair *p, const uint8_t *payload,
		    size_t len)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_BIGIRON),
		.sll_ifindex = (int)p->ifindex[0],
		.sll_halen = 6,
	};
	uint8_t frame[14 + BI_WIRE_HDR_LEN];
	ssize_t sent;
	int fd;

	if (len > sizeof(frame) - 14)
		return -EINVAL;
	memcpy(sll.sll_addr, p->desc[1].mac, 6);
	memcpy(frame, p->desc[1].mac, 6);
	memcpy(frame + 6, p->desc[0].mac, 6);
	frame[12] = ETH_P_BIGIRON >> 8;
	frame[13] = ETH_P_BIGIRON & 0xff;
	memcpy(frame + 14, payload, len);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_BIGIRON));
	if (fd < 0)
		return -errno;
	sent = sendto(fd, frame, 14 + len, 0, (struct sockaddr *)&sll,
		      sizeof(sll));
	close(fd);
	return sent == (ssize_t)(14 + len) ? 0 : -errno;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	while (n--) {
		*p++ = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t wait_dbg_change(uint32_t vm_id, const char *name,
				uint64_t before)
{
	uint64_t v = before;
	int i;

	for (i = 0; i < 200 && v == before; i++) {
		usleep(10000);
		v = cluster_dbg(vm_id, name);
	}
	return v;
}

static int test_forged_frames(void)
{
	uint8_t hdr[BI_WIRE_HDR_LEN] = { 0 };
	uint64_t mac0, short0, drops0, v;
	struct pair p;
	int ret, i;

	if (pair_up(&p))
		return TAP_FAIL;
	mac0 = cluster_dbg(p.n[1].vm_id, "drop_bad_mac");
	short0 = cluster_dbg(p.n[1].vm_id, "drop_short");
	/* heartbeats keep the link busy: duplicates may come and go */
	drops0 = peers_bad_drops(p.n[1].vm_id);
	TAP_CHECK(mac0 != UINT64_MAX && short0 != UINT64_MAX,
		  "debugfs counters");

	/* a standalone ACK from node 0 to node 1, right but for its MAC */
	hdr[0] = BI_WIRE_MAGIC;
	hdr[1] = BI_WIRE_VERSION;
	hdr[2] = BI_MSG_ACK;
	put_le(hdr + 4, CLUSTER_ID, 4);
	put_le(hdr + 8, 0, 2);
	put_le(hdr + 10, 1, 2);
	put_le(hdr + 12, 0x12345678, 4);
	put_le(hdr + 16, 0x9abcdef0, 4);
	put_le(hdr + 24, 1, 4);
	for (i = 0; i < BI_WIRE_MAC_LEN; i++)
		hdr[BI_WIRE_MAC_OFF + i] = (uint8_t)(0x5a + i);
	ret = send_raw(&p, hdr, sizeof(hdr));
	TAP_CHECK(ret == 0, "send forged: %s", strerror(-ret));
	v = wait_dbg_change(p.n[1].vm_id, "drop_bad_mac", mac0);
	TAP_CHECK(v == mac0 + 1, "bad_mac %" PRIu64 " -> %" PRIu64, mac0, v);

	ret = send_raw(&p, hdr, 40);
	TAP_CHECK(ret == 0, "send truncated: %s", strerror(-ret));
	v = wait_dbg_change(p.n[1].vm_id, "drop_short", short0);
	TAP_CHECK(v == short0 + 1, "short %" PRIu64 " -> %" PRIu64, short0, v);

	TAP_CHECK(peer_state_is(p.n[1].vm_id, 0, "up"), "state changed");
	TAP_CHECK(peer_state_is(p.n[0].vm_id, 1, "up"), "state changed");
	v = peers_bad_drops(p.n[1].vm_id);
	TAP_CHECK(v == drops0, "peer drops %" PRIu64 " -> %" PRIu64, drops0, v);
	TAP_CHECK(cluster_dbg(p.n[1].vm_id, "drop_bad_src_mac") == 0,
		  "src mac drops");
	pair_destroy(&p);
	return TAP_PASS;
}

/*
 * The interface's MTU changes under running links: frames follow it down
 * to fragments and back up to one frame per page.
 */
static int test_mtu_change(void)
{
	uint64_t rtt[PINGS], before, got;
	struct pair p;
	int ret, i;

	pair_mtu = 0;		/* follow the interface */
	if (pair_up(&p))
		return TAP_FAIL;
	TAP_CHECK(cluster_dbg(p.n[0].vm_id, "frame_payload") == 4096,
		  "frame payload at MTU 9000: %" PRIu64,
		  cluster_dbg(p.n[0].vm_id, "frame_payload"));
	for (i = 0; i < 2; i++) {
		ret = link_mtu(i ? IF_B : IF_A, 1500);
		TAP_CHECK(ret == 0, "MTU 1500: %s", strerror(-ret));
	}
	for (i = 0; i < 2; i++)
		TAP_CHECK(cluster_dbg(p.n[i].vm_id, "frame_payload") == 1432,
			  "node %d frame payload at MTU 1500: %" PRIu64, i,
			  cluster_dbg(p.n[i].vm_id, "frame_payload"));
	before = peer_u64(p.n[1].vm_id, 0, "rx_frames");
	ret = ping(p.n[0].devfd, 1, PINGS, 4096, rtt);
	TAP_CHECK(ret == 0, "PING at MTU 1500: %s", strerror(-ret));
	got = peer_u64(p.n[1].vm_id, 0, "rx_frames") - before;
	TAP_CHECK(got >= 3 * PINGS, "node 1 got %" PRIu64 " frames", got);
	for (i = 0; i < 2; i++) {
		ret = link_mtu(i ? IF_B : IF_A, 9000);
		TAP_CHECK(ret == 0, "MTU 9000: %s", strerror(-ret));
	}
	TAP_CHECK(cluster_dbg(p.n[0].vm_id, "frame_payload") == 4096,
		  "frame payload back at MTU 9000");
	ret = ping(p.n[0].devfd, 1, PINGS, 4096, rtt);
	TAP_CHECK(ret == 0, "PING at MTU 9000 again: %s", strerror(-ret));
	TAP_CHECK(peers_bad_drops(p.n[1].vm_id) == 0, "drops on node 1");
	pair_destroy(&p);
	return TAP_PASS;
}

static int test_join_alone(void)
{
	uint64_t mask = ~0ULL, t0, dt;
	struct bigiron_vm_cluster c;
	struct pair p;
	int ret;

	if (pair_create(&p))
		return TAP_FAIL;
	cluster_arg(&p, 0, &c);
	ret = set_cluster(p.n[0].devfd, &c);
	TAP_CHECK(ret == 0, "SET_CLUSTER: %s", strerror(-ret));
	t0 = now_ns();
	ret = join(p.n[0].devfd, 1500, &mask);
	dt = (now_ns() - t0) / 1000000;
	TAP_CHECK(ret == -ETIMEDOUT, "JOIN alone: %s", strerror(-ret));
	TAP_CHECK(mask == 1, "up_mask %#" PRIx64, mask);
	TAP_CHECK(dt >= 1400 && dt < 4000, "JOIN took %" PRIu64 " ms", dt);
	TAP_CHECK(!peer_state_is(p.n[0].vm_id, 1, "up"), "peer up?");
	pair_destroy(&p);
	return TAP_PASS;
}

static int test_link_del(void)
{
	uint64_t rtt[4];
	uint32_t id[2];
	struct pair p;
	int ret, i;

	if (pair_up(&p))
		return TAP_FAIL;
	id[0] = p.n[0].vm_id;
	id[1] = p.n[1].vm_id;
	ret = veth_del(IF_A);
	TAP_CHECK(ret == 0, "deleting %s: %s", IF_A, strerror(-ret));
	TAP_CHECK(!bi_exists("/sys/class/net/" IF_B), IF_B " still there");
	TAP_CHECK(peer_state_is(id[0], 1, "dead"), "node 0's peer");
	TAP_CHECK(peer_state_is(id[1], 0, "dead"), "node 1's peer");
	ret = ping(p.n[0].devfd, 1, 1, 0, rtt);
	TAP_CHECK(ret == -EHOSTDOWN, "PING a dead peer: %s", strerror(-ret));
	ret = join(p.n[1].devfd, 500, NULL);
	TAP_CHECK(ret == -ENETDOWN, "JOIN without interface: %s",
		  strerror(-ret));
	pair_destroy(&p);
	for (i = 0; i < 2; i++)
		TAP_CHECK(!bi_vm_sysfs_exists(id[i]), "vm%u still there", id[i]);
	return TAP_PASS;
}

static uint64_t vm_u64(uint32_t vm_id, const char *name)
{
	uint64_t v;

	return bi_vm_sysfs_u64(vm_id, name, &v) ? UINT64_MAX : v;
}

#define COH_PAGES	256

/*
 * The two nodes' memory files, mapped in this one process, are one
 * coherent memory: what one writes the other reads, for pages homed on
 * either node, through read copies, invalidations and ownership moves.
 */
static int test_coherent_rw(void)
{
	volatile uint64_t *m[2];
	uint64_t v, want, f;
	unsigned int i, w, r, k;
	struct pair p;
	size_t off;

	if (pair_up(&p))
		return TAP_FAIL;
	if (pair_map(&p, m))
		return TAP_FAIL;
	/* rounds: writer w, reader r; pages on both homes */
	for (k = 0; k < 4; k++) {
		w = k & 1;
		r = !w;
		for (i = 0; i < COH_PAGES; i++) {
			off = (size_t)(i % 2 ? VM_SIZE / 2 : 0) +
			      (size_t)(i / 2) * 4096 + 8 * (i % 64);
			m[w][off / 8] = (uint64_t)k << 32 | i;
		}
		for (i = 0; i < COH_PAGES; i++) {
			off = (size_t)(i % 2 ? VM_SIZE / 2 : 0) +
			      (size_t)(i / 2) * 4096 + 8 * (i % 64);
			want = (uint64_t)k << 32 | i;
			v = m[r][off / 8];
			TAP_CHECK(v == want, "round %u: node %u read %#" PRIx64
				  " at %#zx, node %u wrote %#" PRIx64, k, r, v,
				  off, w, want);
			v = m[w][off / 8];
			TAP_CHECK(v == want, "round %u: writer node %u reads %#"
				  PRIx64 " back at %#zx", k, w, v, off);
		}
	}
	for (i = 0; i < 2; i++) {
		f = vm_u64(p.n[i].vm_id, "remote_read_faults");
		TAP_CHECK(f && f != UINT64_MAX, "node %u remote_read_faults %"
			  PRIu64, i, f);
		f = vm_u64(p.n[i].vm_id, "remote_write_faults");
		TAP_CHECK(f && f != UINT64_MAX, "node %u remote_write_faults %"
			  PRIu64, i, f);
		TAP_CHECK(vm_u64(p.n[i].vm_id, "fault_errors") == 0,
			  "node %u fault_errors", i);
		tap_diag("node %u: remote faults read %" PRIu64 " write %"
			 PRIu64 ", inv sent %" PRIu64 " recv %" PRIu64
			 ", pages sent %" PRIu64 " recv %" PRIu64, i,
			 vm_u64(p.n[i].vm_id, "remote_read_faults"),
			 vm_u64(p.n[i].vm_id, "remote_write_faults"),
			 vm_u64(p.n[i].vm_id, "inv_sent"),
			 vm_u64(p.n[i].vm_id, "inv_recv"),
			 vm_u64(p.n[i].vm_id, "pages_sent"),
			 vm_u64(p.n[i].vm_id, "pages_recv"));
	}
	pair_unmap(m);
	pair_destroy(&p);
	return TAP_PASS;
}

static int dbg_write(uint32_t vm_id, const char *file, const char *text)
{
	char path[128];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), BI_DEBUGFS "/vm%u/%s", vm_id, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = write(fd, text, strlen(text));
	close(fd);
	return len == (ssize_t)strlen(text) ? 0 : -errno;
}

#define EVICT_PAGES	64

/*
 * A node gives its copies back (debugfs evict): read-only copies go at
 * once, written pages go home with their data (PUT), and the memory is
 * freed.  The home then reads the data locally, with no remote fault.
 */
static int test_evict(void)
{
	volatile uint64_t *m[2];
	uint64_t rr0, prcv0, res, v;
	unsigned int i;
	struct pair p;
	int ret;

	pair_mtu = 0;
	if (pair_up(&p))
		return TAP_FAIL;
	if (pair_map(&p, m))
		return TAP_FAIL;
	/* node 1 writes pages homed on node 0 and reads as many others */
	for (i = 0; i < EVICT_PAGES; i++) {
		m[1][i * 512] = 0xe71c7000 + i;
		v = m[1][(EVICT_PAGES + i) * 512];
		TAP_CHECK(v == 0, "untouched page %u reads %#" PRIx64, i, v);
	}
	res = vm_u64(p.n[1].vm_id, "resident_pages");
	TAP_CHECK(res == 2 * EVICT_PAGES, "node 1 holds %" PRIu64 " pages",
		  res);
	munmap((void *)m[1], VM_SIZE);
	rr0 = vm_u64(p.n[0].vm_id, "remote_read_faults");
	prcv0 = vm_u64(p.n[0].vm_id, "pages_recv");

	ret = dbg_write(p.n[1].vm_id, "evict", "all");
	TAP_CHECK(ret == 0, "evict: %s", strerror(-ret));
	/* the last PUT_DATA may still be on the wire */
	for (i = 0; i < 500; i++) {
		res = vm_u64(p.n[1].vm_id, "resident_pages");
		v = vm_u64(p.n[0].vm_id, "pages_recv") - prcv0;
		if (!res && v >= EVICT_PAGES)
			break;
		usleep(10000);
	}
	TAP_CHECK(res == 0, "node 1 still holds %" PRIu64 " pages", res);
	TAP_CHECK(v == EVICT_PAGES, "home got %" PRIu64 " pages back", v);
	for (i = 0; i < EVICT_PAGES; i++) {
		v = m[0][i * 512];
		TAP_CHECK(v == 0xe71c7000 + i, "page %u: %#" PRIx64, i, v);
	}
	v = vm_u64(p.n[0].vm_id, "remote_read_faults");
	TAP_CHECK(v == rr0, "home's remote read faults %" PRIu64 " -> %"
		  PRIu64, rr0, v);
	munmap((void *)m[0], VM_SIZE);
	pair_destroy(&p);
	return TAP_PASS;
}

#define CONTEND_THREADS	2	/* per node */
#define CONTEND_INCS	300	/* per thread */

struct contender {
	volatile uint64_t *ctr;
	pthread_barrier_t *start;
	uint64_t ns;
};

static void *contend(void *arg)
{
	struct contender *c = arg;
	uint64_t t0;
	int i;

	pthread_barrier_wait(c->start);
	t0 = now_ns();
	for (i = 0; i < CONTEND_INCS; i++) {
		__atomic_fetch_add(c->ctr, 1, __ATOMIC_SEQ_CST);
		/* let the other node's threads in between */
		usleep(50);
	}
	c->ns = now_ns() - t0;
	return NULL;
}

/*
 * Threads on both nodes increment one counter: its page moves back and
 * forth with every few increments.  Every increment counts, and no node
 * starves: each faulting thread gets to use the page it waited for
 * before the other node takes it back (the holds of dsm.c), so no fault
 * runs into its timeout.
 */
static int test_contended_page(void)
{
	struct contender c[2 * CONTEND_THREADS];
	pthread_t t[2 * CONTEND_THREADS];
	pthread_barrier_t start;
	volatile uint64_t *m[2];
	uint64_t v, pp;
	unsigned int i;
	struct pair p;

	pair_mtu = 0;
	if (pair_up(&p))
		return TAP_FAIL;
	if (pair_map(&p, m))
		return TAP_FAIL;
	/* a page homed on node 1 */
	pthread_barrier_init(&start, NULL, 2 * CONTEND_THREADS);
	for (i = 0; i < 2 * CONTEND_THREADS; i++) {
		c[i].ctr = m[i % 2] + VM_SIZE / 2 / 8 + 3;
		c[i].start = &start;
		TAP_CHECK(!pthread_create(&t[i], NULL, contend, &c[i]),
			  "thread %u", i);
	}
	for (i = 0; i < 2 * CONTEND_THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	tap_diag("%u threads x %u increments; threads took %" PRIu64 " %"
		 PRIu64 " %" PRIu64 " %" PRIu64 " ms; ping-pongs %" PRIu64
		 ", remote write faults %" PRIu64 " and %" PRIu64,
		 2 * CONTEND_THREADS, CONTEND_INCS, c[0].ns / 1000000,
		 c[1].ns / 1000000, c[2].ns / 1000000, c[3].ns / 1000000,
		 vm_u64(p.n[1].vm_id, "ping_pongs"),
		 vm_u64(p.n[0].vm_id, "remote_write_faults"),
		 vm_u64(p.n[1].vm_id, "remote_write_faults"));
	v = m[0][VM_SIZE / 2 / 8 + 3];
	TAP_CHECK(v == 2 * CONTEND_THREADS * CONTEND_INCS,
		  "counter %" PRIu64 ", want %u", v,
		  2 * CONTEND_THREADS * CONTEND_INCS);
	for (i = 0; i < 2; i++)
		TAP_CHECK(vm_u64(p.n[i].vm_id, "fault_errors") == 0,
			  "node %u: %" PRIu64 " faults failed", i,
			  vm_u64(p.n[i].vm_id, "fault_errors"));
	pp = vm_u64(p.n[1].vm_id, "ping_pongs");
	TAP_CHECK(pp > 0 && pp != UINT64_MAX, "ping_pongs %" PRIu64, pp);
	pair_unmap(m);
	pair_destroy(&p);
	return TAP_PASS;
}

#define TRACING		"/sys/kernel/debug/tracing"

static int write_file(const char *path, const char *text)
{
	ssize_t len;
	int fd;

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = write(fd, text, strlen(text));
	close(fd);
	return len == (ssize_t)strlen(text) ? 0 : -EIO;
}

/* Lines of the trace buffer that contain @what. */
static unsigned int trace_count(const char *what)
{
	char line[512];
	unsigned int n = 0;
	FILE *f;

	f = fopen(TRACING "/trace", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, what))
			n++;
	fclose(f);
	return n;
}

/* Sum of debugfs vm<id>/fault_hist's read and write columns. */
static uint64_t hist_total(uint32_t vm_id, unsigned int *buckets)
{
	unsigned long long from, to, r, w;
	char path[128], line[128];
	uint64_t sum = 0;
	FILE *f;

	*buckets = 0;
	snprintf(path, sizeof(path), BI_DEBUGFS "/vm%u/fault_hist", vm_id);
	f = fopen(path, "re");
	if (!f)
		return UINT64_MAX;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llu %llu %llu %llu", &from, &to, &r, &w) == 4) {
			sum += r + w;
			(*buckets)++;
		}
	fclose(f);
	return sum;
}

/*
 * What a user sees of remote faults: the tracepoints fire, the histogram
 * counts each remote fault once, the per-peer counters add up to the
 * VM's.
 */
static int test_observability(void)
{
	uint64_t faults, hist, peer;
	volatile uint64_t *m[2];
	unsigned int i, buckets, n;
	struct pair p;
	int ret;

	if (!bi_exists(TRACING "/events/bigiron"))
		return TAP_FAIL;
	pair_mtu = 0;
	if (pair_up(&p))
		return TAP_FAIL;
	ret = write_file(TRACING "/trace", "");
	TAP_CHECK(ret == 0, "clearing the trace: %s", strerror(-ret));
	ret = write_file(TRACING "/events/bigiron/enable", "1");
	TAP_CHECK(ret == 0, "enabling events: %s", strerror(-ret));
	if (pair_map(&p, m))
		return TAP_FAIL;
	/* 32 remote writes from node 0, 32 remote reads by node 1 */
	for (i = 0; i < 32; i++)
		m[0][VM_SIZE / 2 / 8 + i * 512] = i;
	for (i = 0; i < 32; i++)
		TAP_CHECK(m[1][i * 512] == 0, "page %u", i);
	write_file(TRACING "/events/bigiron/enable", "0");

	n = trace_count("bigiron_fault_end");
	TAP_CHECK(n >= 64, "%u bigiron_fault_end events", n);
	n = trace_count("bigiron_fault_begin");
	TAP_CHECK(n >= 64, "%u bigiron_fault_begin events", n);
	n = trace_count("get_x");
	TAP_CHECK(n >= 64, "%u get_x send/recv events", n);
	n = trace_count("bigiron_recv");
	TAP_CHECK(n >= 128, "%u bigiron_recv events", n);
	for (i = 0; i < 2; i++) {
		faults = vm_u64(p.n[i].vm_id, "remote_read_faults") +
			 vm_u64(p.n[i].vm_id, "remote_write_faults");
		hist = hist_total(p.n[i].vm_id, &buckets);
		TAP_CHECK(buckets > 10, "%u histogram buckets", buckets);
		TAP_CHECK(hist == faults && faults >= 32,
			  "node %u: histogram %" PRIu64 ", remote faults %"
			  PRIu64, i, hist, faults);
		peer = peer_u64(p.n[i].vm_id, !i, "pages_recv");
		TAP_CHECK(peer == vm_u64(p.n[i].vm_id, "pages_recv"),
			  "node %u: peer pages_recv %" PRIu64, i, peer);
	}
	TAP_CHECK(peer_u64(p.n[0].vm_id, 1, "write_faults") == 32,
		  "node 0's write faults to node 1: %" PRIu64,
		  peer_u64(p.n[0].vm_id, 1, "write_faults"));
	TAP_CHECK(peer_u64(p.n[1].vm_id, 0, "read_faults") == 32,
		  "node 1's read faults to node 0: %" PRIu64,
		  peer_u64(p.n[1].vm_id, 0, "read_faults"));
	write_file(TRACING "/trace", "");
	pair_unmap(m);
	pair_destroy(&p);
	return TAP_PASS;
}

/* ---- prefetch ---------------------------------------------------------- */

#define PREFETCH_PARAM	"/sys/module/bigiron/parameters/prefetch_pages"
#define PREFETCH_PAGES	256

/* The prefetch_pages module parameter, or -1. */
static int prefetch_get(void)
{
	char buf[16] = "";
	int fd = open(PREFETCH_PARAM, O_RDONLY | O_CLOEXEC);
	ssize_t len;

	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return len > 0 ? atoi(buf) : -1;
}

static int prefetch_set(int pages)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", pages);
	return write_file(PREFETCH_PARAM, buf);
}

/*
 * Run @test with prefetch off (a cluster takes the parameter when it is
 * set): it counts faults and resident pages exactly.
 */
static int without_prefetch(int (*test)(void))
{
	int old = prefetch_get(), ret;

	if (old < 0 || prefetch_set(0))
		return TAP_FAIL;
	ret = test();
	prefetch_set(old);
	return ret;
}

static int test_evict_exact(void)
{
	return without_prefetch(test_evict);
}

static int test_observability_exact(void)
{
	return without_prefetch(test_observability);
}

/*
 * Node 1 reads PREFETCH_PAGES consecutive pages homed on node 0, which
 * node 0 wrote: some arrive ahead of the reads (prefetch_hits, fewer
 * remote read faults than pages), all with the right data. Then
 * node 0 writes every page again, which takes the prefetched copies back,
 * and node 1 reads the new values.
 */
static int test_prefetch(void)
{
	uint64_t faults, hits, asked, v;
	volatile uint64_t *m[2];
	unsigned int i, round, bad = 0;
	int old = prefetch_get();
	struct pair p;

	if (old < 0 || prefetch_set(16))
		return TAP_FAIL;
	pair_mtu = 0;
	if (pair_up(&p)) {
		prefetch_set(old);
		return TAP_FAIL;
	}
	prefetch_set(old);
	if (pair_map(&p, m))
		return TAP_FAIL;
	for (round = 0; round < 2; round++) {
		for (i = 0; i < PREFETCH_PAGES; i++)
			m[0][i * 512] = 0x9f000000ULL + round * 0x10000 + i;
		faults = vm_u64(p.n[1].vm_id, "remote_read_faults");
		hits = vm_u64(p.n[1].vm_id, "prefetch_hits");
		for (i = 0; i < PREFETCH_PAGES; i++) {
			v = m[1][i * 512];
			if (v != 0x9f000000ULL + round * 0x10000 + i && bad++ < 3)
				tap_diag("round %u page %u: read %#" PRIx64,
					 round, i, v);
		}
		faults = vm_u64(p.n[1].vm_id, "remote_read_faults") - faults;
		hits = vm_u64(p.n[1].vm_id, "prefetch_hits") - hits;
		asked = vm_u64(p.n[1].vm_id, "prefetches");
		tap_diag("round %u: %u pages, %" PRIu64 " remote read faults, %"
			 PRIu64 " prefetch hits, %" PRIu64 " prefetches so far",
			 round, PREFETCH_PAGES, faults, hits, asked);
		TAP_CHECK(!bad, "%u pages read wrong in round %u", bad, round);
		/* without prefetch every page is a remote read fault */
		TAP_CHECK(hits > 0 && faults < PREFETCH_PAGES,
			  "round %u: %" PRIu64 " hits, %" PRIu64 " faults",
			  round, hits, faults);
	}
	pair_unmap(m);
	pair_destroy(&p);
	return TAP_PASS;
}

/* ---- launcher messages and SET_KVM ------------------------------------ */

static int msg_send(int devfd, uint16_t node, const void *data, uint32_t len)
{
	struct bigiron_vm_msg m = {
		.size = sizeof(m), .node = node, .len = len,
		.data = (uint64_t)(uintptr_t)data,
	};

	return ioctl(devfd, BIGIRON_VM_SEND, &m) ? -errno : 0;
}

static int msg_recv(int devfd, uint32_t timeout_ms, void *buf, uint32_t *len,
		    uint16_t *event, uint16_t *node)
{
	struct bigiron_vm_recv r = {
		.size = sizeof(r), .timeout_ms = timeout_ms, .len = *len,
		.data = (uint64_t)(uintptr_t)buf,
	};
	int ret = ioctl(devfd, BIGIRON_VM_RECV, &r) ? -errno : 0;

	*len = r.len;
	*event = r.event;
	*node = r.node;
	return ret;
}

/*
 * Messages arrive whole and in order, whatever their size (one byte, a
 * fragment's worth, a full 4096); a short buffer leaves the message
 * queued; bad arguments are refused; a node whose link dies is reported
 * once. SET_KVM refuses what is not a KVM VM.
 */
static int test_messages(void)
{
	static const uint32_t sizes[] = { 1, 100, 1500, 4096 };
	static uint8_t out[4][BIGIRON_MSG_MAX], in[BIGIRON_MSG_MAX];
	struct bigiron_vm_kvm k = { .size = sizeof(k), .nr_vcpus = 1 };
	uint16_t event, node, vnode = 0;
	uint32_t len, i, j, id0;
	struct pair p;
	int ret, fd;

	if (pair_up(&p))
		return TAP_FAIL;
	id0 = p.n[0].vm_id;
	for (i = 0; i < 4; i++) {
		for (j = 0; j < sizes[i]; j++)
			out[i][j] = (uint8_t)(i * 31 + j * 7);
		ret = msg_send(p.n[0].devfd, 1, out[i], sizes[i]);
		TAP_CHECK(ret == 0, "SEND %u bytes: %s", sizes[i],
			  strerror(-ret));
	}
	len = 0;
	ret = msg_recv(p.n[1].devfd, 5000, in, &len, &event, &node);
	TAP_CHECK(ret == -EMSGSIZE && len == 1, "short buffer: %s, len %u",
		  strerror(-ret), len);
	for (i = 0; i < 4; i++) {
		len = sizeof(in);
		ret = msg_recv(p.n[1].devfd, 5000, in, &len, &event, &node);
		TAP_CHECK(ret == 0 && event == BIGIRON_EV_MSG && node == 0 &&
			  len == sizes[i] && !memcmp(in, out[i], len),
			  "message %u: %s, event %u node %u len %u", i,
			  strerror(-ret), event, node, len);
	}
	len = sizeof(in);
	ret = msg_recv(p.n[1].devfd, 0, in, &len, &event, &node);
	TAP_CHECK(ret == -ETIMEDOUT, "empty queue: %s", strerror(-ret));
	ret = msg_send(p.n[1].devfd, BIGIRON_NODE_ALL, out[0], 7);
	TAP_CHECK(ret == 0, "SEND to all: %s", strerror(-ret));
	len = sizeof(in);
	ret = msg_recv(p.n[0].devfd, 5000, in, &len, &event, &node);
	TAP_CHECK(ret == 0 && node == 1 && len == 7, "broadcast: %s",
		  strerror(-ret));

	TAP_CHECK(msg_send(p.n[0].devfd, 0, out[0], 1) == -EINVAL, "to self");
	TAP_CHECK(msg_send(p.n[0].devfd, 2, out[0], 1) == -EINVAL, "to node 2");
	TAP_CHECK(msg_send(p.n[0].devfd, 1, out[0], 0) == -EINVAL, "0 bytes");
	TAP_CHECK(msg_send(p.n[0].devfd, 1, out[0], BIGIRON_MSG_MAX + 1) ==
		  -EINVAL, "over 4096 bytes");
	TAP_CHECK(msg_send(p.n[0].devfd, 1, NULL, 8) == -EFAULT, "bad pointer");

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	k.kvm_fd = fd;
	k.vcpu_nodes = (uint64_t)(uintptr_t)&vnode;
	ret = ioctl(p.n[0].devfd, BIGIRON_VM_SET_KVM, &k) ? -errno : 0;
	TAP_CHECK(ret == -EBADF, "SET_KVM with /dev/null: %s", strerror(-ret));
	close(fd);
	vnode = 2;
	ret = ioctl(p.n[0].devfd, BIGIRON_VM_SET_KVM, &k) ? -errno : 0;
	TAP_CHECK(ret == -EINVAL, "SET_KVM with node 2: %s", strerror(-ret));

	/* node 1 goes away: node 0 hears of it once, within the link's bound */
	node_close(&p.n[1]);
	len = sizeof(in);
	do {
		ret = msg_recv(p.n[0].devfd, 20000, in, &len, &event, &node);
	} while (ret == 0 && event == BIGIRON_EV_MSG);
	TAP_CHECK(ret == 0 && event == BIGIRON_EV_NODE_DOWN && node == 1,
		  "node down: %s, event %u node %u", strerror(-ret), event,
		  node);
	TAP_CHECK(msg_send(p.n[0].devfd, 1, out[0], 1) == -ENOTCONN,
		  "SEND to a dead node");
	len = sizeof(in);
	ret = msg_recv(p.n[0].devfd, 0, in, &len, &event, &node);
	TAP_CHECK(ret == -ETIMEDOUT, "reported once: %s", strerror(-ret));
	TAP_CHECK(vm_u64(id0, "msgs_sent") == 4 &&
		  vm_u64(id0, "msgs_recv") == 1,
		  "counters: sent %" PRIu64 " recv %" PRIu64,
		  vm_u64(id0, "msgs_sent"), vm_u64(id0, "msgs_recv"));
	pair_destroy(&p);
	return TAP_PASS;
}

/* ---- a paging KVM guest on both nodes ----------------------------------- */

/*
 * One 64-bit guest, one vCPU on each node, each in its node's own KVM VM
 * over its node's view of the cluster's memory: the shape of a VM that
 * spans hosts, with nothing of the launcher.  Both vCPUs run with paging
 * through the same page tables, the page directory homed on node 1, so
 * every walk on either node needs pages the other node also uses (under
 * an emulated nested walk, writable: they move at every guest entry).
 * Each iteration increments a shared counter with a locked instruction,
 * increments the vCPU's own counter on a page homed on the other node,
 * takes a software interrupt (IDT and GDT homed on node 1, the frame on
 * the vCPU's own stack, homed on the other node), whose handler counts it
 * and returns, and leaves the guest with an OUT.  Afterwards the counts
 * must be exact and neither vCPU may have stopped otherwise (a triple
 * fault is KVM_EXIT_SHUTDOWN).
 */
#define PG_PML4		0x1000ULL			/* home: node 0 */
#define PG_PDPT		0x2000ULL			/* node 0 */
#define PG_CODE		0x4000ULL			/* node 0 */
#define PG_SLOT1	0x5000ULL			/* vCPU 1's, node 0 */
#define PG_PD		(VM_SIZE / 2 + 0x1000)		/* node 1 */
#define PG_SHARED	(VM_SIZE / 2 + 0x2000)		/* node 1 */
#define PG_SLOT0	(VM_SIZE / 2 + 0x3000)		/* vCPU 0's, node 1 */
#define PG_IDT		(VM_SIZE / 2 + 0x4000)		/* node 1 */
#define PG_GDT		(VM_SIZE / 2 + 0x5000)		/* node 1 */
#define PG_STACK0	(VM_SIZE / 2 + 0x7000)		/* vCPU 0's, node 1 */
#define PG_STACK1	0x7000ULL			/* vCPU 1's, node 0 */
#define PG_HANDLER	(PG_CODE + 0x100)
#define PG_VECTOR	0x80
#define PG_ITER_PORT	0x11
#define PG_DONE_PORT	0x10
#define PG_ITERS	1000

/*
 * 1: lock incq (%rdx); incq (%rdi); int $0x80; out %al, $0x11; dec %rsi;
 *    jnz 1b; out %al, $0x10; hlt
 * handler: incq 8(%rdi); iretq
 */
static const uint8_t pg_code[] = {
	0xf0, 0x48, 0xff, 0x02,
	0x48, 0xff, 0x07,
	0xcd, PG_VECTOR,
	0xe6, PG_ITER_PORT,
	0x48, 0xff, 0xce,
	0x75, 0xf0,
	0xe6, PG_DONE_PORT,
	0xf4,
};

static const uint8_t pg_handler[] = {
	0x48, 0xff, 0x47, 0x08,
	0x48, 0xcf,
};

struct pg_vcpu {
	int vmfd, vcpufd;
	struct kvm_run *run;
	size_t run_size;
	uint64_t slot;
	unsigned int iters, exit_reason;
	int err;
};

static void pg_seg(struct kvm_segment *sg, uint16_t sel, uint8_t type,
		   bool code)
{
	memset(sg, 0, sizeof(*sg));
	sg->selector = sel;
	sg->limit = 0xffffffff;
	sg->type = type;
	sg->present = 1;
	sg->s = 1;
	sg->g = 1;
	sg->l = code;
	sg->db = !code;
}

/*
 * The in-kernel local APIC (KVM_CREATE_IRQCHIP, before any vCPU) and the
 * host's supported CPUID on the vCPU, x2APIC included.
 */
static int pg_apic_vm(int vmfd)
{
	TAP_CHECK(!ioctl(vmfd, KVM_CREATE_IRQCHIP, 0), "KVM_CREATE_IRQCHIP: %s",
		  strerror(errno));
	return TAP_PASS;
}

static int pg_apic_cpuid(int kvmfd, int vcpufd)
{
	struct kvm_cpuid2 *c;
	int ret = TAP_PASS;

	c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));
	TAP_CHECK(c, "out of memory");
	c->nent = 256;
	if (ioctl(kvmfd, KVM_GET_SUPPORTED_CPUID, c) ||
	    ioctl(vcpufd, KVM_SET_CPUID2, c)) {
		tap_diag("CPUID for the vCPU: %s", strerror(errno));
		ret = TAP_FAIL;
	}
	free(c);
	return ret;
}

/*
 * A KVM VM over @mem and its one vCPU, in long mode at PG_CODE; @apic:
 * with the in-kernel local APIC.
 */
static int pg_vcpu_create(int kvmfd, volatile uint64_t *mem,
			  struct pg_vcpu *v, uint64_t slot, bool apic)
{
	struct kvm_userspace_memory_region region = {
		.memory_size = VM_SIZE,
		.userspace_addr = (uintptr_t)mem,
	};
	struct kvm_regs regs = { .rflags = 0x2, .rip = PG_CODE };
	struct kvm_sregs sregs;
	int size;

	memset(v, 0, sizeof(*v));
	v->slot = slot;
	v->vmfd = ioctl(kvmfd, KVM_CREATE_VM, 0);
	TAP_CHECK(v->vmfd >= 0, "KVM_CREATE_VM: %s", strerror(errno));
	if (apic && pg_apic_vm(v->vmfd))
		return TAP_FAIL;
	TAP_CHECK(!ioctl(v->vmfd, KVM_SET_USER_MEMORY_REGION, &region),
		  "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	v->vcpufd = ioctl(v->vmfd, KVM_CREATE_VCPU, 0);
	TAP_CHECK(v->vcpufd >= 0, "KVM_CREATE_VCPU: %s", strerror(errno));
	if (apic && pg_apic_cpuid(kvmfd, v->vcpufd))
		return TAP_FAIL;
	size = ioctl(kvmfd, KVM_GET_VCPU_MMAP_SIZE, 0);
	TAP_CHECK(size > 0, "KVM_GET_VCPU_MMAP_SIZE");
	v->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->vcpufd, 0);
	TAP_CHECK(v->run != MAP_FAILED, "mmap kvm_run: %s", strerror(errno));
	v->run_size = size;

	TAP_CHECK(!ioctl(v->vcpufd, KVM_GET_SREGS, &sregs), "GET_SREGS");
	pg_seg(&sregs.cs, 0x08, 11, true);
	pg_seg(&sregs.ds, 0x10, 3, false);
	sregs.es = sregs.ss = sregs.fs = sregs.gs = sregs.ds;
	pg_seg(&sregs.tr, 0x18, 11, false);
	sregs.tr.s = 0;
	sregs.tr.limit = 0x67;
	sregs.tr.g = 0;
	sregs.gdt.base = PG_GDT;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.idt.base = PG_IDT;
	sregs.idt.limit = 256 * 16 - 1;
	sregs.cr3 = PG_PML4;
	sregs.cr4 = 1 << 5;				/* PAE */
	sregs.cr0 = 0x80050033;				/* PG WP NE ET MP PE */
	sregs.efer = (1 << 8) | (1 << 10);		/* LME LMA */
	TAP_CHECK(!ioctl(v->vcpufd, KVM_SET_SREGS, &sregs), "SET_SREGS: %s",
		  strerror(errno));
	regs.rdi = slot;
	regs.rsi = PG_ITERS;
	regs.rdx = PG_SHARED;
	regs.rsp = (slot == PG_SLOT0 ? PG_STACK0 : PG_STACK1) + 4096;
	TAP_CHECK(!ioctl(v->vcpufd, KVM_SET_REGS, &regs), "SET_REGS");
	return TAP_PASS;
}

/* Run the vCPU to its DONE port; anything else ends it with an error. */
static void *pg_vcpu_run(void *arg)
{
	struct pg_vcpu *v = arg;

	for (;;) {
		if (ioctl(v->vcpufd, KVM_RUN, 0)) {
			v->err = -errno;
			return NULL;
		}
		v->exit_reason = v->run->exit_reason;
		if (v->run->exit_reason != KVM_EXIT_IO) {
			v->err = -EIO;
			return NULL;
		}
		if (v->run->io.port == PG_DONE_PORT)
			return NULL;
		if (v->run->io.port != PG_ITER_PORT) {
			v->err = -EIO;
			return NULL;
		}
		v->iters++;
	}
}

static void pg_vcpu_destroy(struct pg_vcpu *v)
{
	if (v->run_size)
		munmap(v->run, v->run_size);
	if (v->vcpufd > 0)
		close(v->vcpufd);
	if (v->vmfd > 0)
		close(v->vmfd);
}

/*
 * Page tables (identity map of the VM's memory in 2 MiB pages), GDT, IDT,
 * the interrupt handler and @code at PG_CODE, written through @m.
 */
static void pg_layout(volatile uint64_t *m, const uint8_t *code,
		      size_t len)
{
	uint64_t i;

	m[PG_PML4 / 8] = PG_PDPT | 3;
	m[PG_PDPT / 8] = PG_PD | 3;
	for (i = 0; i < VM_SIZE >> 21; i++)
		m[PG_PD / 8 + i] = (i << 21) | 0x83;	/* P RW PS */
	memcpy((void *)(m + PG_CODE / 8), code, len);
	memcpy((void *)(m + PG_HANDLER / 8), pg_handler, sizeof(pg_handler));
	/* GDT: null, 64-bit code (0x08), data (0x10) */
	m[PG_GDT / 8 + 1] = 0x00209a0000000000ULL;
	m[PG_GDT / 8 + 2] = 0x0000920000000000ULL;
	/* interrupt gate, DPL 0, to the handler through 0x08 */
	m[PG_IDT / 8 + 2 * PG_VECTOR] = (PG_HANDLER & 0xffff) |
		0x08ULL << 16 | 0x8eULL << 40 |
		((PG_HANDLER >> 16) & 0xffff) << 48;
	m[PG_IDT / 8 + 2 * PG_VECTOR + 1] = PG_HANDLER >> 32;
}

static int test_kvm_paging(void)
{
	volatile uint64_t *m[2];
	struct pg_vcpu v[2];
	pthread_t t[2];
	uint64_t i, w[2], shared;
	int kvmfd;
	struct pair p;

	kvmfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvmfd < 0)
		return tap_skip("no /dev/kvm: %s", strerror(errno));
	pair_mtu = 0;
	if (pair_up(&p))
		return TAP_FAIL;
	if (pair_map(&p, m))
		return TAP_FAIL;
	pg_layout(m[0], pg_code, sizeof(pg_code));
	m[0][PG_SHARED / 8] = 0;
	for (i = 0; i < 2; i++) {
		m[0][(i ? PG_SLOT1 : PG_SLOT0) / 8] = 0;
		m[0][(i ? PG_SLOT1 : PG_SLOT0) / 8 + 1] = 0;
	}
	w[0] = vm_u64(p.n[0].vm_id, "remote_write_faults");
	w[1] = vm_u64(p.n[1].vm_id, "remote_write_faults");

	for (i = 0; i < 2; i++)
		if (pg_vcpu_create(kvmfd, m[i], &v[i],
				   i ? PG_SLOT1 : PG_SLOT0, false) != TAP_PASS)
			return TAP_FAIL;
	for (i = 0; i < 2; i++)
		TAP_CHECK(!pthread_create(&t[i], NULL, pg_vcpu_run, &v[i]),
			  "thread %" PRIu64, i);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);

	shared = m[1][PG_SHARED / 8];
	tap_diag("vCPUs: %u and %u iterations, exits %u %u; shared %" PRIu64
		 ", own %" PRIu64 " %" PRIu64 ", interrupts %" PRIu64 " %"
		 PRIu64 "; remote write faults +%" PRIu64 " +%" PRIu64,
		 v[0].iters, v[1].iters, v[0].exit_reason, v[1].exit_reason,
		 shared, m[1][PG_SLOT0 / 8], m[0][PG_SLOT1 / 8],
		 m[1][PG_SLOT0 / 8 + 1], m[0][PG_SLOT1 / 8 + 1],
		 vm_u64(p.n[0].vm_id, "remote_write_faults") - w[0],
		 vm_u64(p.n[1].vm_id, "remote_write_faults") - w[1]);
	for (i = 0; i < 2; i++)
		TAP_CHECK(!v[i].err, "vCPU %" PRIu64 " stopped: %s, exit %u%s",
			  i, strerror(-v[i].err), v[i].exit_reason,
			  v[i].exit_reason == KVM_EXIT_SHUTDOWN ?
			  " (triple fault)" : "");
	TAP_CHECK(shared == 2 * PG_ITERS, "shared counter %" PRIu64
		  ", want %u", shared, 2 * PG_ITERS);
	TAP_CHECK(m[0][PG_SLOT0 / 8] == PG_ITERS &&
		  m[1][PG_SLOT1 / 8] == PG_ITERS, "own counters %" PRIu64
		  " %" PRIu64 ", want %u", m[0][PG_SLOT0 / 8],
		  m[1][PG_SLOT1 / 8], PG_ITERS);
	TAP_CHECK(m[0][PG_SLOT0 / 8 + 1] == PG_ITERS &&
		  m[1][PG_SLOT1 / 8 + 1] == PG_ITERS, "interrupts %" PRIu64
		  " %" PRIu64 ", want %u", m[0][PG_SLOT0 / 8 + 1],
		  m[1][PG_SLOT1 / 8 + 1], PG_ITERS);
	/* both nodes took pages from the other */
	TAP_CHECK(vm_u64(p.n[0].vm_id, "remote_write_faults") > w[0] &&
		  vm_u64(p.n[1].vm_id, "remote_write_faults") > w[1],
		  "remote write faults did not grow on both nodes");
	for (i = 0; i < 2; i++)
		TAP_CHECK(vm_u64(p.n[i].vm_id, "fault_errors") == 0,
			  "node %" PRIu64 ": faults failed", i);
	for (i = 0; i < 2; i++)
		pg_vcpu_destroy(&v[i]);
	pair_unmap(m);
	close(kvmfd);
	pair_destroy(&p);
	return TAP_PASS;
}

/* ---- an interrupt that cannot be delivered stops the VM ----------------- */

/*
 * x2APIC on, then a fixed IPI, vector 0x40, to APIC id 1:
 *   mov $0x1b, %ecx; rdmsr; or $0xc00, %eax; wrmsr
 *   mov $0x830, %ecx; mov $1, %edx; mov $0x4040, %eax; wrmsr
 *   out %al, $0x10; hlt
 */
static const uint8_t ipi_code[] = {
	0xb9, 0x1b, 0x00, 0x00, 0x00, 0x0f, 0x32,
	0x0d, 0x00, 0x0c, 0x00, 0x00, 0x0f, 0x30,
	0xb9, 0x30, 0x08, 0x00, 0x00,
	0xba, 0x01, 0x00, 0x00, 0x00,
	0xb8, 0x40, 0x40, 0x00, 0x00, 0x0f, 0x30,
	0xe6, PG_DONE_PORT, 0xf4,
};

/*
 * vCPU 0 runs on node 0, whose KVM VM is bound (SET_KVM) with vCPU 1 on
 * node 1; node 1 never binds one.  vCPU 0's IPI to vCPU 1 goes to node 1,
 * which cannot deliver it: it must not vanish, but be counted there
 * (ipis_dropped) and reported once to its launcher (BIGIRON_EV_IPI_LOST,
 * naming node 0), which stops the VM.
 */
static int test_ipi_lost(void)
{
	uint16_t vnodes[2] = { 0, 1 }, event = 0, node = 0;
	struct bigiron_vm_kvm k = {
		.size = sizeof(k), .nr_vcpus = 2,
		.vcpu_nodes = (uint64_t)(uintptr_t)vnodes,
	};
	volatile uint64_t *m[2];
	uint8_t buf[64];
	struct pg_vcpu v;
	uint32_t len;
	struct pair p;
	int kvmfd, ret;

	kvmfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvmfd < 0)
		return tap_skip("no /dev/kvm: %s", strerror(errno));
	pair_mtu = 0;
	if (pair_up(&p) || pair_map(&p, m))
		return TAP_FAIL;
	pg_layout(m[0], ipi_code, sizeof(ipi_code));
	if (pg_vcpu_create(kvmfd, m[0], &v, PG_SLOT0, true) != TAP_PASS)
		return TAP_FAIL;
	k.kvm_fd = v.vmfd;
	ret = ioctl(p.n[0].devfd, BIGIRON_VM_SET_KVM, &k) ? -errno : 0;
	TAP_CHECK(!ret, "SET_KVM on node 0: %s", strerror(-ret));
	pg_vcpu_run(&v);
	TAP_CHECK(!v.err, "vCPU 0 stopped: %s, exit %u", strerror(-v.err),
		  v.exit_reason);
	len = sizeof(buf);
	ret = msg_recv(p.n[1].devfd, 10000, buf, &len, &event, &node);
	tap_diag("node 1: RECV %s, event %u node %u; ipis_sent %" PRIu64
		 " at node 0, ipis_dropped %" PRIu64 " at node 1",
		 strerror(-ret), event, node, vm_u64(p.n[0].vm_id, "ipis_sent"),
		 vm_u64(p.n[1].vm_id, "ipis_dropped"));
	TAP_CHECK(ret == 0 && event == BIGIRON_EV_IPI_LOST && node == 0,
		  "no lost-interrupt event at node 1");
	TAP_CHECK(vm_u64(p.n[0].vm_id, "ipis_sent") == 1 &&
		  vm_u64(p.n[1].vm_id, "ipis_dropped") == 1,
		  "counters: want 1 sent, 1 dropped");
	len = sizeof(buf);
	ret = msg_recv(p.n[1].devfd, 0, buf, &len, &event, &node);
	TAP_CHECK(ret == -ETIMEDOUT, "reported once: %s", strerror(-ret));
	pg_vcpu_destroy(&v);
	pair_unmap(m);
	close(kvmfd);
	pair_destroy(&p);
	return TAP_PASS;
}

/* ---- launcher messages are flow-controlled by credits ------------------- */

#define PEER_WINDOW	32	/* BIGIRON_PEER_WINDOW */
#define USER_WINDOW	64	/* bigiron_ssi_window() of two nodes */

/* Send numbered messages from node 0 to node 1 until EAGAIN (or @max). */
static uint32_t send_until_full(struct pair *p, uint32_t *seq, uint32_t max,
				int *ret)
{
	uint32_t n = 0;

	*ret = 0;
	while (n < max) {
		*ret = msg_send(p->n[0].devfd, 1, seq, sizeof(*seq));
		if (*ret)
			break;
		(*seq)++;
		n++;
	}
	return n;
}

/* Node 1 takes @n messages; they must be numbered from *@next on. */
static int recv_in_order(struct pair *p, uint32_t *next, uint32_t n)
{
	uint16_t event, node;
	uint32_t seq, len, i;
	int ret;

	for (i = 0; i < n; i++, (*next)++) {
		len = sizeof(seq);
		ret = msg_recv(p->n[1].devfd, 5000, &seq, &len, &event, &node);
		if (ret || event != BIGIRON_EV_MSG || node != 0 ||
		    len != sizeof(seq) || seq != *next) {
			tap_diag("message %u: %s, event %u, node %u, seq %u",
				 *next, strerror(-ret), event, node, seq);
			return -1;
		}
	}
	return 0;
}

/* Node 0 may send again within 2 s (a CREDIT is on its way). */
static int send_after_credit(struct pair *p, uint32_t *seq)
{
	int i, ret = -EAGAIN;

	for (i = 0; i < 200 && ret == -EAGAIN; i++) {
		ret = msg_send(p->n[0].devfd, 1, seq, sizeof(*seq));
		if (ret == -EAGAIN)
			usleep(10000);
	}
	if (!ret)
		(*seq)++;
	return ret;
}

/*
 * Node 0 sends to node 1 before either joined: a window of messages goes
 * out (the link's send window, then its queue), then SEND fails with
 * EAGAIN and queues nothing.  After JOIN, node 1 taking half a window
 * sends a credit, and not one message earlier.  A receiver whose launcher
 * does not read for longer than the link's dead timeout refuses nothing
 * and its link stays up: the window, not a refusal, holds the sender.
 * Every message arrives once, in order.
 */
static int test_send_bounded(void)
{
	uint32_t seq = 0, next = 0, n, len;
	uint64_t mask = 0, drops;
	uint16_t event, node;
	struct pair p;
	int ret;

	pair_mtu = 0;
	if (pair_create(&p) || pair_set(&p))
		return TAP_FAIL;
	n = send_until_full(&p, &seq, USER_WINDOW + 10, &ret);
	tap_diag("%u messages queued, then %s", n, strerror(-ret));
	TAP_CHECK(ret == -EAGAIN && n == USER_WINDOW,
		  "want EAGAIN after %d messages", USER_WINDOW);
	TAP_CHECK(peer_u64(p.n[0].vm_id, 1, "backlog") ==
		  USER_WINDOW - PEER_WINDOW,
		  "backlog %" PRIu64, peer_u64(p.n[0].vm_id, 1, "backlog"));
	ret = pair_join(&p, &mask);
	TAP_CHECK(!ret && mask == 3, "JOIN: %s", strerror(-ret));

	/* half a window less one taken: no credit yet */
	TAP_CHECK(!recv_in_order(&p, &next, USER_WINDOW / 2 - 1),
		  "first %d messages", USER_WINDOW / 2 - 1);
	usleep(300000);
	ret = msg_send(p.n[0].devfd, 1, &seq, sizeof(seq));
	TAP_CHECK(ret == -EAGAIN, "SEND before the credit: %s",
		  strerror(-ret));
	TAP_CHECK(!recv_in_order(&p, &next, 1), "message %u", next);
	ret = send_after_credit(&p, &seq);
	TAP_CHECK(!ret, "SEND after half a window was taken: %s",
		  strerror(-ret));
	n = send_until_full(&p, &seq, USER_WINDOW, &ret);
	TAP_CHECK(ret == -EAGAIN && n == USER_WINDOW / 2 - 1,
		  "%u more messages, then %s; want %d", n, strerror(-ret),
		  USER_WINDOW / 2 - 1);

	/* a launcher that does not read for 3 s costs the link nothing */
	drops = peers_bad_drops(p.n[1].vm_id);
	sleep(3);
	TAP_CHECK(peer_state_is(p.n[0].vm_id, 1, "up") &&
		  peer_state_is(p.n[1].vm_id, 0, "up"),
		  "link not up after 3 s of a full window");
	if (vm_u64(p.n[1].vm_id, "msgs_dropped") ||
	    peers_bad_drops(p.n[1].vm_id) != drops)
		dump_peers(p.n[1].vm_id);
	TAP_CHECK(vm_u64(p.n[1].vm_id, "msgs_dropped") == 0 &&
		  peers_bad_drops(p.n[1].vm_id) == drops,
		  "receiver refused %" PRIu64 " messages; %" PRIu64
		  " frames dropped meanwhile, duplicates aside",
		  vm_u64(p.n[1].vm_id, "msgs_dropped"),
		  peers_bad_drops(p.n[1].vm_id) - drops);

	TAP_CHECK(!recv_in_order(&p, &next, seq - next), "the rest");
	len = sizeof(seq);
	ret = msg_recv(p.n[1].devfd, 500, &n, &len, &event, &node);
	TAP_CHECK(ret == -ETIMEDOUT, "a message too many: %s", strerror(-ret));
	ret = send_after_credit(&p, &seq);
	TAP_CHECK(!ret, "SEND after the queue drained: %s", strerror(-ret));
	tap_diag("%u messages sent and received in order", next);
	pair_destroy(&p);
	return TAP_PASS;
}

/* ---- the RDMA transport's arguments ------------------------------------ */

/* Node @i at 127.0.0.@i+1 (IPv4-mapped), port 7471: no MAC. */
static void rdma_desc(struct bigiron_node_desc *d, unsigned int i)
{
	memset(d, 0, sizeof(*d));
	d->addr[10] = d->addr[11] = 0xff;
	d->addr[12] = 127;
	d->addr[15] = (uint8_t)(i + 1);
	d->port = 7471;
	d->home_start = i * (VM_SIZE / 2);
	d->home_size = VM_SIZE / 2;
}

/*
 * SET_CLUSTER with BIGIRON_TRANSPORT_RDMA: every field that belongs to
 * Ethernet (interface, MTU, MACs) is refused, as are a zero port, an
 * unspecified or multicast address and two nodes on one address and
 * port; each refusal leaves the VM without a cluster.  An address that
 * no RDMA device has (this kernel has none on 127.0.0.1) fails with
 * ENODEV or EADDRNOTAVAIL, which the launcher turns into a message
 * naming the address.  Without the RDMA connection manager in the
 * kernel, every call fails with EOPNOTSUPP and the case is skipped.
 */
static int test_rdma_set_cluster_checks(void)
{
	struct bigiron_node_desc d[2], saved[2];
	struct bigiron_vm_cluster c;
	char path[96];
	struct node n;
	int ret, i;

	if (node_create(&n))
		return TAP_FAIL;
	for (i = 0; i < 2; i++)
		rdma_desc(&saved[i], i);

#define RDMA_ARG(stmt) do {								memcpy(d, saved, sizeof(d));						memset(&c, 0, sizeof(c));						c.size = sizeof(c);							c.cluster_id = CLUSTER_ID;						c.nr_nodes = 2;								c.transport = BIGIRON_TRANSPORT_RDMA;					memcpy(c.key, test_key, sizeof(c.key));					c.nodes = (uintptr_t)d;							stmt;								} while (0)
#define RDMA_EXPECT(err, what, stmt) do {						RDMA_ARG(stmt);								ret = set_cluster(n.devfd, &c);						TAP_CHECK(ret == (err), "%s: got %s, want %s", what,				  strerror(-ret), strerror(-(err)));			} while (0)

	RDMA_ARG((void)0);
	ret = set_cluster(n.devfd, &c);
	if (ret == -EOPNOTSUPP) {
		node_close(&n);
		return tap_skip("the kernel has no RDMA connection manager");
	}
	RDMA_EXPECT(-EINVAL, "an interface", c.ifindex = 1);
	RDMA_EXPECT(-EINVAL, "an MTU", c.mtu = 4096);
	RDMA_EXPECT(-EINVAL, "a MAC", d[1].mac[5] = 2);
	RDMA_EXPECT(-EINVAL, "port 0", d[1].port = 0);
	RDMA_EXPECT(-EINVAL, "unspecified address",
		    memset(d[1].addr, 0, sizeof(d[1].addr)));
	RDMA_EXPECT(-EINVAL, "IPv4 0.0.0.0", d[1].addr[15] = 0; d[1].addr[12] = 0);
	RDMA_EXPECT(-EINVAL, "multicast", d[1].addr[12] = 224);
	RDMA_EXPECT(-EINVAL, "IPv6 multicast",
		    memset(d[1].addr, 0, 16); d[1].addr[0] = 0xff;
		    d[1].addr[15] = 1);
	RDMA_EXPECT(-EINVAL, "same address and port", d[1].addr[15] = 1);
	/* a valid table: no RDMA device has 127.0.0.1 */
	RDMA_ARG((void)0);
	ret = set_cluster(n.devfd, &c);
	TAP_CHECK(ret == -ENODEV || ret == -EADDRNOTAVAIL,
		  "no RDMA device on the address: got %s, want ENODEV or EADDRNOTAVAIL",
		  strerror(-ret));
	tap_diag("an address without an RDMA device: %s", strerror(-ret));
#undef RDMA_EXPECT
#undef RDMA_ARG
	/* no refusal left a cluster behind */
	snprintf(path, sizeof(path), BI_SYSFS "/vm%u/peers", n.vm_id);
	TAP_CHECK(access(path, F_OK) && errno == ENOENT,
		  "%s left behind", path);
	node_close(&n);
	return TAP_PASS;
}

/* ---- who may do what ---------------------------------------------------- */

/* Drop @cap from this process's effective set. */
static int drop_cap(unsigned int cap)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[cap / 32].effective &= ~(1U << (cap % 32));
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

/* In a child without @cap: the result of @fn(@p). */
static int without_cap(unsigned int cap, int (*fn)(struct pair *),
		       struct pair *p)
{
	int status, ret;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		ret = drop_cap(cap);
		_exit(ret ? 100 : -fn(p));
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -ECHILD;
	return WEXITSTATUS(status) == 100 ? -ECHILD : -WEXITSTATUS(status);
}

static int set_cluster0(struct pair *p)
{
	struct bigiron_vm_cluster c;

	cluster_arg(p, 0, &c);
	return set_cluster(p->n[0].devfd, &c);
}

static int set_kvm0(struct pair *p)
{
	uint16_t vnode = 0;
	struct bigiron_vm_kvm k = {
		.size = sizeof(k), .nr_vcpus = 1, .kvm_fd = -1,
		.vcpu_nodes = (uint64_t)(uintptr_t)&vnode,
	};

	return ioctl(p->n[0].devfd, BIGIRON_VM_SET_KVM, &k) ? -errno : 0;
}

/*
 * SET_CLUSTER needs CAP_NET_ADMIN (it sends raw frames), SET_KVM
 * CAP_SYS_ADMIN (a kprobe for the whole host); without them they fail
 * with EPERM and change nothing: the same calls with them then work.
 */
static int test_privileges(void)
{
	struct pair p;
	int ret;

	pair_mtu = 0;
	if (pair_create(&p))
		return TAP_FAIL;
	ret = without_cap(CAP_NET_ADMIN, set_cluster0, &p);
	TAP_CHECK(ret == -EPERM, "SET_CLUSTER without CAP_NET_ADMIN: %s",
		  strerror(-ret));
	ret = without_cap(CAP_SYS_ADMIN, set_cluster0, &p);
	TAP_CHECK(ret == 0, "SET_CLUSTER without CAP_SYS_ADMIN: %s",
		  strerror(-ret));
	ret = without_cap(CAP_SYS_ADMIN, set_kvm0, &p);
	TAP_CHECK(ret == -EPERM, "SET_KVM without CAP_SYS_ADMIN: %s",
		  strerror(-ret));
	/* with it, the call gets as far as the bad descriptor */
	ret = set_kvm0(&p);
	TAP_CHECK(ret == -EBADF, "SET_KVM with CAP_SYS_ADMIN: %s",
		  strerror(-ret));
	pair_destroy(&p);
	return TAP_PASS;
}

/* ---- the interface removed while SET_CLUSTER runs ----------------------- */

#define RACE_ROUNDS	200

struct race {
	unsigned int delay_us;
	int ret;
};

static void *race_del(void *arg)
{
	struct race *r = arg;
	struct timespec ts = { .tv_nsec = r->delay_us * 1000L };

	nanosleep(&ts, NULL);
	r->ret = veth_del(IF_A);
	return NULL;
}

/*
 * The veth pair deleted at a varying moment while node 0's SET_CLUSTER
 * runs, RACE_ROUNDS times: SET_CLUSTER succeeds (then the peers die) or
 * fails cleanly, the VM closes, and nothing is left behind (the lab
 * fails the run on any oops or warning in the kernel log).  Whether a
 * round hit the narrowest window cannot be seen from here.
 */
static int test_set_cluster_race(void)
{
	unsigned int i, ok = 0, failed = 0;
	struct bigiron_vm_cluster c;
	struct race r;
	pthread_t t;
	struct pair p;
	int ret;

	pair_mtu = 0;
	for (i = 0; i < RACE_ROUNDS; i++) {
		if (pair_create(&p))
			return TAP_FAIL;
		cluster_arg(&p, 0, &c);
		r.delay_us = i % 40;
		TAP_CHECK(!pthread_create(&t, NULL, race_del, &r),
			  "pthread_create");
		ret = set_cluster(p.n[0].devfd, &c);
		pthread_join(t, NULL);
		if (!ret)
			ok++;
		else if (ret == -EINVAL || ret == -ENODEV)
			failed++;
		else
			TAP_CHECK(0, "round %u: SET_CLUSTER: %s", i,
				  strerror(-ret));
		pair_destroy(&p);
	}
	tap_diag("%u rounds: SET_CLUSTER succeeded %u times, failed cleanly %u times",
		 RACE_ROUNDS, ok, failed);
	return TAP_PASS;
}

#define BI_PARAMS	"/sys/module/bigiron/parameters/"

/* HELLOs vm<id> sent, every peer together (debugfs vm<id>/peers). */
static uint64_t peers_hellos(uint32_t vm_id)
{
	char path[128], line[200], *h;
	uint64_t sum = 0;
	FILE *f;

	snprintf(path, sizeof(path), BI_DEBUGFS "/vm%u/peers", vm_id);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		h = strstr(line, " hellos ");
		if (h)
			sum += strtoull(h + 8, NULL, 10);
	}
	fclose(f);
	return sum;
}

/*
 * A node whose JOIN comes after the other's handshake gave up (a host
 * whose launcher starts late): once both are up, each node's pages work
 * from the other, nothing is counted as a fault error, and no launcher
 * message reports the late node gone.
 */
static int test_join_late(void)
{
	volatile uint64_t *m[2];
	uint64_t mask0 = 0, mask1 = 0, t0, retries = 0, hellos;
	int status, ret, i;
	struct pair p;
	pid_t pid;

	if (pair_create(&p) || pair_set(&p))
		return TAP_FAIL;
	pid = fork();
	TAP_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		ret = join(p.n[1].devfd, 30000, &mask1);
		_exit(ret == 0 && mask1 == 3 ? 0 : 1);
	}
	/*
	 * node 1's handshake with the absent node 0 runs out (after
	 * link_max_retries resends) and JOIN starts it again, at least
	 * twice: HELLOs sent add up across the restarts.
	 */
	TAP_CHECK(bi_read_u64_file(BI_PARAMS "link_max_retries", &retries) == 0,
		  "link_max_retries");
	t0 = now_ns();
	while (peers_hellos(p.n[1].vm_id) < 2 * (retries + 1) + 1 &&
	       now_ns() - t0 < 30000000000ULL)
		usleep(50000);
	hellos = peers_hellos(p.n[1].vm_id);
	TAP_CHECK(hellos > 2 * (retries + 1), "node 1 sent %" PRIu64
		  " HELLOs in 30 s, want more than %" PRIu64 " (%" PRIu64
		  " handshakes)", hellos, 2 * (retries + 1), retries + 1);
	tap_diag("node 0 joins %" PRIu64 " ms after node 1 (%" PRIu64
		 " HELLOs sent)", (now_ns() - t0) / 1000000, hellos);
	ret = join(p.n[0].devfd, 20000, &mask0);
	TAP_CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	TAP_CHECK(ret == 0 && mask0 == 3, "late JOIN: %s, up_mask %#" PRIx64,
		  strerror(-ret), mask0);
	TAP_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "node 1's JOIN failed");
	if (pair_map(&p, m))
		return TAP_FAIL;
	/* each node writes a page of the other's home, the other reads it */
	for (i = 0; i < 2; i++) {
		size_t off = (size_t)(i ? 0 : VM_SIZE / 2) / 8 + 512 * i;

		m[i][off] = 0xb1600000ULL + i;
		TAP_CHECK(m[!i][off] == 0xb1600000ULL + i,
			  "node %d read %#" PRIx64 " written by node %d",
			  !i, m[!i][off], i);
	}
	for (i = 0; i < 2; i++)
		TAP_CHECK(vm_u64(p.n[i].vm_id, "fault_errors") == 0,
			  "node %d: faults failed", i);
	pair_unmap(m);
	pair_destroy(&p);
	return TAP_PASS;
}

/*
 * Launcher messages sent to a node whose handshake then runs out go with
 * the window and queue they sat in (the node never answered): they must
 * stop counting against the credit window.  Once the node joins, a whole
 * window can be sent again, and exactly those messages arrive, in order.
 */
static int test_send_failed_handshake(void)
{
	uint64_t mask0 = 0, mask1 = 0, retries = 0, t0;
	uint32_t seq = 0, next, n, len;
	uint16_t event, node;
	int status, ret;
	struct pair p;
	pid_t pid;

	pair_mtu = 0;
	if (pair_create(&p) || pair_set(&p))
		return TAP_FAIL;
	n = send_until_full(&p, &seq, USER_WINDOW + 10, &ret);
	TAP_CHECK(ret == -EAGAIN && n == USER_WINDOW,
		  "%u messages, then %s; want EAGAIN after %d", n,
		  strerror(-ret), USER_WINDOW);
	TAP_CHECK(bi_read_u64_file(BI_PARAMS "link_max_retries", &retries) == 0,
		  "link_max_retries");
	pid = fork();
	TAP_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		ret = join(p.n[0].devfd, 30000, &mask0);
		_exit(ret == 0 && mask0 == 3 ? 0 : 1);
	}
	/* node 0's first handshake runs out, and its JOIN starts another */
	t0 = now_ns();
	while (peers_hellos(p.n[0].vm_id) < retries + 2 &&
	       now_ns() - t0 < 30000000000ULL)
		usleep(50000);
	TAP_CHECK(peers_hellos(p.n[0].vm_id) >= retries + 2,
		  "node 0 sent %" PRIu64 " HELLOs in 30 s, want %" PRIu64,
		  peers_hellos(p.n[0].vm_id), retries + 2);
	ret = join(p.n[1].devfd, 20000, &mask1);
	TAP_CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	TAP_CHECK(ret == 0 && mask1 == 3, "JOIN: %s, up_mask %#" PRIx64,
		  strerror(-ret), mask1);
	TAP_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "node 0's JOIN failed");
	next = seq;
	n = send_until_full(&p, &seq, USER_WINDOW + 10, &ret);
	tap_diag("after the handshake ran out: %u messages, then %s", n,
		 strerror(-ret));
	TAP_CHECK(ret == -EAGAIN && n == USER_WINDOW,
		  "want a whole window (%d) again", USER_WINDOW);
	TAP_CHECK(!recv_in_order(&p, &next, USER_WINDOW),
		  "the window sent after JOIN");
	len = sizeof(n);
	ret = msg_recv(p.n[1].devfd, 500, &n, &len, &event, &node);
	TAP_CHECK(ret == -ETIMEDOUT, "a message too many: %s", strerror(-ret));
	pair_destroy(&p);
	return TAP_PASS;
}

/* ---- the wire MAC against an independent BLAKE2s ----------------------- */

/*
 * Known answers for blake2s.h. "abc": RFC 7693 Appendix B (unkeyed,
 * 32 bytes). The keyed 32-byte ones are entries of the BLAKE2 reference
 * KAT file blake2s-kat.txt (key 00 01 .. 1f, input 00 01 .. n-1). The
 * 16-byte keyed ones, the wire MAC's parameters (BLAKE2s-128, which is
 * not a truncated BLAKE2s-256: the digest length is in h[0]), have the
 * same key and input bytes i & 0xff. All of them were generated, and the
 * KAT ones confirmed, with Python's hashlib.blake2s(data,
 * key=bytes(range(32)), digest_size=16 or 32).
 */
struct b2s_vector {
	const char *msg;	/* NULL: inlen bytes i & 0xff */
	size_t inlen;
	bool keyed;		/* key 00 01 .. 1f */
	size_t outlen;
	const char *digest;
};

#define B2S_VEC_MAX_IN	(BI_WIRE_MAC_OFF + BI_PAGE_SIZE)

static const struct b2s_vector b2s_vectors[] = {
	{ "abc", 3, false, 32,
	  "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982" },
	{ NULL, 0, true, 32,
	  "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49" },
	{ NULL, 1, true, 32,
	  "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1" },
	{ NULL, 2, true, 32,
	  "6bb71300644cd3991b26ccd4d274acd1adeab8b1d7914546c1198bbe9fc9d803" },
	{ NULL, 63, true, 32,
	  "c65382513f07460da39833cb666c5ed82e61b9e998f4b0c4287cee56c3cc9bcd" },
	{ NULL, 64, true, 32,
	  "8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4" },
	{ NULL, 65, true, 32,
	  "21fe0ceb0052be7fb0f004187cacd7de67fa6eb0938d927677f2398c132317a8" },
	{ NULL, 128, true, 32,
	  "0c311f38c35a4fb90d651c289d486856cd1413df9b0677f53ece2cd9e477c60a" },
	{ NULL, 255, true, 32,
	  "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd" },
	{ NULL, 0, true, 16, "9536f9b267655743dee97b8a670f9f53" },
	{ NULL, 1, true, 16, "13bacfb85b48a1223c595f8c1e7e82cb" },
	{ NULL, 48, true, 16, "b23398f910599f3c09b6549fa81bcb46" },
	{ NULL, 63, true, 16, "ece382a8bd5018f1de5da44b72cea75b" },
	{ NULL, 64, true, 16, "f1efa90d2547036841ecd3627fafbc36" },
	{ NULL, 65, true, 16, "811ff8686d23a435ecbd0bdafcd27b1b" },
	/* a header's 48 bytes and a page */
	{ NULL, B2S_VEC_MAX_IN, true, 16, "86bd45e04b321a9ec5459f13de56657d" },
};

static void hex_str(const uint8_t *b, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * len] = '\0';
}

/* Vector @v's digest, its input given in pieces of at most @piece bytes. */
static void b2s_vector_digest(const struct b2s_vector *v,
			      const uint8_t *pattern, const uint8_t *key,
			      size_t piece, uint8_t *out)
{
	const uint8_t *in = v->msg ? (const uint8_t *)v->msg : pattern;
	struct b2s_state s;
	size_t off, n;

	b2s_init(&s, v->outlen, key, v->keyed ? B2S_MAX_KEY : 0);
	for (off = 0; off < v->inlen; off += n) {
		n = v->inlen - off < piece ? v->inlen - off : piece;
		b2s_update(&s, in + off, n);
	}
	b2s_final(&s, out);
}

/*
 * Every vector in one piece and in pieces of 1, 48 (the MAC's split),
 * 64 and 65 bytes; each 16-byte keyed one differs from the first 16
 * bytes of the 32-byte digest of the same input.
 */
static int b2s_check_vectors(void)
{
	static const size_t pieces[] = { B2S_VEC_MAX_IN, 1, 48, 64, 65 };
	static uint8_t in[B2S_VEC_MAX_IN];
	uint8_t key[B2S_MAX_KEY], out[B2S_MAX_OUT], full[B2S_MAX_OUT];
	char got[2 * B2S_MAX_OUT + 1];
	const struct b2s_vector *v;
	size_t i, j;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	for (i = 0; i < TAP_NCASES(b2s_vectors); i++) {
		v = &b2s_vectors[i];
		for (j = 0; j < TAP_NCASES(pieces); j++) {
			b2s_vector_digest(v, in, key, pieces[j], out);
			hex_str(out, v->outlen, got);
			TAP_CHECK(!strcmp(got, v->digest), "BLAKE2s vector %zu"
				  " (%zu bytes in pieces of %zu, %s, %zu out):"
				  " %s, want %s", i, v->inlen, pieces[j],
				  v->keyed ? "keyed" : "unkeyed", v->outlen,
				  got, v->digest);
		}
		if (v->outlen != BI_WIRE_MAC_LEN)
			continue;
		b2s(full, sizeof(full), key, sizeof(key), in, v->inlen);
		TAP_CHECK(memcmp(full, out, BI_WIRE_MAC_LEN),
			  "vector %zu: 16-byte digest is a prefix of the "
			  "32-byte one", i);
	}
	return TAP_PASS;
}

#define MAC_MIN_FRAMES	5
#define MAC_CAP_LEN	(ETH_HLEN + BI_WIRE_MAX_FRAME)

/* What the capture socket on bi1 saw: both nodes' frames. */
struct mac_capture {
	int fd;
	uint8_t key[BIGIRON_KEY_SIZE];	/* the MAC's key, here test_key */
	unsigned int frames;		/* bigiron frames checked */
	unsigned int bad;		/* MAC or length wrong */
	unsigned int by_node[2];
	unsigned int payload;		/* frames with payload bytes */
	unsigned int fragments;		/* frames with part of a page */
	uint64_t types;			/* bit per message type seen */
};

static const char *const mac_type_names[BI_MSG_TYPE_MAX] = {
	[BI_MSG_HELLO] = "hello",
	[BI_MSG_HELLO_ACK] = "hello_ack",
	[BI_MSG_ACK] = "ack",
	[BI_MSG_HEARTBEAT] = "heartbeat",
	[BI_MSG_PING] = "ping",
	[BI_MSG_PONG] = "pong",
	[BI_MSG_USER] = "user",
	[BI_MSG_CREDIT] = "credit",
};

/* The message types the case makes the nodes send. */
#define MAC_WANT_TYPES							\
	(1ULL << BI_MSG_HELLO | 1ULL << BI_MSG_HELLO_ACK |		\
	 1ULL << BI_MSG_ACK | 1ULL << BI_MSG_HEARTBEAT |		\
	 1ULL << BI_MSG_PING | 1ULL << BI_MSG_PONG | 1ULL << BI_MSG_USER)

static void mac_types_str(uint64_t types, char *buf, size_t size)
{
	size_t len = 0;
	unsigned int t;

	buf[0] = '\0';
	for (t = 0; t < 64 && len < size; t++) {
		if (!(types & 1ULL << t))
			continue;
		if (t < BI_MSG_TYPE_MAX && mac_type_names[t])
			len += snprintf(buf + len, size - len, "%s%s",
					len ? " " : "", mac_type_names[t]);
		else
			len += snprintf(buf + len, size - len, "%s%u",
					len ? " " : "", t);
	}
}

/* An AF_PACKET socket that sees every frame on @ifindex, both ways. */
static int capture_open(unsigned int ifindex)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)ifindex,
	};
	int fd, size = 8 << 20, err;

	/* protocol 0: nothing from other interfaces queues before bind() */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Recompute one captured frame's MAC; count it. */
static void capture_check(struct mac_capture *c, const uint8_t *f,
			  size_t len)
{
	static const uint8_t seq_ack_hi[8];
	const uint8_t *hdr = f + ETH_HLEN;
	uint8_t mac[BI_WIRE_MAC_LEN];
	char got[2 * BI_WIRE_MAC_LEN + 1], want[2 * BI_WIRE_MAC_LEN + 1];
	unsigned int type, src, frag_len, payload_len;
	struct b2s_state s;

	if (len < ETH_HLEN || f[12] != ETH_P_BIGIRON >> 8 ||
	    f[13] != (ETH_P_BIGIRON & 0xff))
		return;		/* not bigiron's: IPv6 ND, say */
	c->frames++;
	if (len > MAC_CAP_LEN || len < ETH_HLEN + BI_WIRE_HDR_LEN) {
		if (c->bad++ < 3)
			tap_diag("frame %u: %zu bytes", c->frames, len);
		return;
	}
	type = hdr[2];
	src = hdr[8] | hdr[9] << 8;
	payload_len = hdr[40] | hdr[41] << 8;
	frag_len = hdr[44] | hdr[45] << 8;
	if (len != (size_t)ETH_HLEN + BI_WIRE_HDR_LEN + frag_len) {
		if (c->bad++ < 3)
			tap_diag("frame %u: %zu bytes, frag_len %u", c->frames,
				 len, frag_len);
		return;
	}
	if (type < 64)
		c->types |= 1ULL << type;
	if (src < 2)
		c->by_node[src]++;
	if (frag_len)
		c->payload++;
	if (frag_len < payload_len)
		c->fragments++;

	/*
	 * wire.h: header bytes 0..47, then the high halves of seq and ack
	 * (4 bytes each, little endian), which stay 0 for the first 2^32
	 * messages of a link, then the payload.
	 */
	b2s_init(&s, BI_WIRE_MAC_LEN, c->key, sizeof(c->key));
	b2s_update(&s, hdr, BI_WIRE_MAC_OFF);
	b2s_update(&s, seq_ack_hi, sizeof(seq_ack_hi));
	b2s_update(&s, hdr + BI_WIRE_HDR_LEN, frag_len);
	b2s_final(&s, mac);
	if (!memcmp(mac, hdr + BI_WIRE_MAC_OFF, BI_WIRE_MAC_LEN))
		return;
	if (c->bad++ < 3) {
		hex_str(hdr + BI_WIRE_MAC_OFF, BI_WIRE_MAC_LEN, got);
		hex_str(mac, BI_WIRE_MAC_LEN, want);
		tap_diag("frame %u: type %u from node %u, seq %u, payload %u "
			 "frag_off %u frag_len %u: MAC %s, BLAKE2s-128 %s",
			 c->frames, type, src,
			 hdr[20] | hdr[21] << 8 | hdr[22] << 16 |
			 (unsigned int)hdr[23] << 24, payload_len,
			 hdr[42] | hdr[43] << 8, frag_len, got, want);
	}
}

/*
 * Check the frames queued on the capture socket; wait up to @wait_ms
 * for one when none is, and stop after 5 s whatever comes.
 */
static int capture_drain(struct mac_capture *c, int wait_ms)
{
	static uint8_t frame[MAC_CAP_LEN + 64];
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	uint64_t end = now_ns() + 5000000000ULL;
	ssize_t len;

	while (now_ns() < end) {
		len = recv(c->fd, frame, sizeof(frame),
			   MSG_DONTWAIT | MSG_TRUNC);
		if (len >= 0) {
			capture_check(c, frame, (size_t)len);
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		if (wait_ms <= 0 || poll(&pfd, 1, wait_ms) <= 0)
			return 0;
		wait_ms = 0;
	}
	return 0;
}

/*
 * The MAC of real frames: an AF_PACKET socket on bi1 sees what node 1
 * sends and what node 0 sends it, from the handshake on: HELLO,
 * HELLO_ACK, ACK, heartbeats, PING and PONG without payload, with a page
 * in one frame and in fragments (the MTU lowered), launcher messages of
 * odd lengths. For each, keyed BLAKE2s-128 (blake2s.h, checked against
 * the reference vectors first) over header bytes 0..47 and the frame's
 * frag_len payload bytes must be the MAC in bytes 48..63.
 */
static int test_mac_reference(void)
{
	static const uint32_t msg_sizes[] = { 1, 100, 1500 };
	struct mac_capture c = { .fd = -1 };
	uint8_t msg[1500];
	uint64_t rtt[8], mask = 0, end;
	char types[160];
	unsigned int i;
	struct tpacket_stats st;
	socklen_t sl = sizeof(st);
	struct pair p;
	int ret;

	if (b2s_check_vectors() != TAP_PASS)
		return TAP_FAIL;
	tap_diag("BLAKE2s: %d reference vectors match",
		 TAP_NCASES(b2s_vectors));

	memcpy(c.key, test_key, sizeof(c.key));
	pair_mtu = 0;		/* follow the MTU: fragments at 1500 */
	if (pair_create(&p))
		return TAP_FAIL;
	c.fd = capture_open(p.ifindex[1]);
	TAP_CHECK(c.fd >= 0, "capture socket on %s: %s", IF_B,
		  strerror(-c.fd));
	if (pair_set(&p))
		return TAP_FAIL;
	ret = pair_join(&p, &mask);
	TAP_CHECK(ret == 0 && mask == 3, "JOIN: %s, up_mask %#" PRIx64,
		  strerror(-ret), mask);
	ret = capture_drain(&c, 0);
	TAP_CHECK(ret == 0, "capture: %s", strerror(-ret));

	ret = ping(p.n[0].devfd, 1, 4, 0, rtt);
	TAP_CHECK(ret == 0, "PING: %s", strerror(-ret));
	ret = ping(p.n[1].devfd, 0, 4, 4096, rtt);
	TAP_CHECK(ret == 0, "PING 4096: %s", strerror(-ret));
	capture_drain(&c, 0);
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < TAP_NCASES(msg_sizes); i++) {
		ret = msg_send(p.n[i & 1].devfd, !(i & 1), msg, msg_sizes[i]);
		TAP_CHECK(ret == 0, "SEND %u bytes: %s", msg_sizes[i],
			  strerror(-ret));
	}
	capture_drain(&c, 0);
	for (i = 0; i < 2; i++) {
		ret = link_mtu(i ? IF_B : IF_A, 1500);
		TAP_CHECK(ret == 0, "MTU 1500: %s", strerror(-ret));
	}
	ret = ping(p.n[0].devfd, 1, 4, 4096, rtt);
	TAP_CHECK(ret == 0, "PING 4096 in fragments: %s", strerror(-ret));
	/* heartbeats (100 ms idle) and their acks, and whatever is late */
	end = now_ns() + 5000000000ULL;
	do {
		capture_drain(&c, 200);
	} while (((c.types & MAC_WANT_TYPES) != MAC_WANT_TYPES ||
		  c.frames < MAC_MIN_FRAMES) && now_ns() < end);
	if (getsockopt(c.fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl))
		st.tp_drops = 0;
	close(c.fd);

	mac_types_str(c.types, types, sizeof(types));
	tap_diag("mac_reference: %u frames captured on %s (%u from node 0, "
		 "%u from node 1, %u with payload, %u fragments, %u dropped "
		 "by the socket), %u MAC mismatches; types: %s", c.frames,
		 IF_B, c.by_node[0], c.by_node[1], c.payload, c.fragments,
		 st.tp_drops, c.bad, types);
	TAP_CHECK(c.bad == 0, "%u of %u frames with a wrong MAC or length",
		  c.bad, c.frames);
	TAP_CHECK(c.frames >= MAC_MIN_FRAMES, "%u frames, want %u at least",
		  c.frames, MAC_MIN_FRAMES);
	TAP_CHECK(c.by_node[0] && c.by_node[1], "frames from node 0: %u, "
		  "node 1: %u", c.by_node[0], c.by_node[1]);
	TAP_CHECK(c.payload && c.fragments, "%u frames with payload, %u "
		  "fragments", c.payload, c.fragments);
	mac_types_str(MAC_WANT_TYPES & ~c.types, types, sizeof(types));
	TAP_CHECK((c.types & MAC_WANT_TYPES) == MAC_WANT_TYPES,
		  "no frame of type %s", types);
	pair_destroy(&p);
	return TAP_PASS;
}

static struct tap_case cases[] = {
	{ "set_cluster_checks", test_set_cluster_checks },
	{ "join_and_ping", test_join_and_ping },
	{ "coherent_rw", test_coherent_rw },
	{ "evict_writes_back", test_evict_exact },
	{ "contended_page", test_contended_page },
	{ "observability", test_observability_exact },
	{ "read_prefetch", test_prefetch },
	{ "kvm_paging_on_both_nodes", test_kvm_paging },
	{ "ping_fragmented", test_ping_fragmented },
	{ "forged_and_truncated_frames", test_forged_frames },
	{ "mac_reference", test_mac_reference },
	{ "mtu_change", test_mtu_change },
	{ "join_alone_times_out", test_join_alone },
	{ "join_late", test_join_late },
	{ "interface_deleted_while_up", test_link_del },
	{ "launcher_messages", test_messages },
	{ "launcher_messages_bounded", test_send_bounded },
	{ "launcher_messages_after_a_failed_handshake",
	  test_send_failed_handshake },
	{ "ipi_lost_is_reported", test_ipi_lost },
	{ "rdma_set_cluster_checks", test_rdma_set_cluster_checks },
	{ "privileges", test_privileges },
	{ "set_cluster_vs_interface_removal", test_set_cluster_race },
};

int main(void)
{
	char why[80];
	int ret;

	if (geteuid())
		tap_skip_all("needs root");
	if (bi_ensure_module())
		tap_skip_all("bigiron module not loaded");
	if (!bi_debugfs_ready())
		tap_skip_all("no bigiron debugfs");
	ret = veth_pair_add();
	if (ret) {
		snprintf(why, sizeof(why), "cannot create a veth pair: %s",
			 strerror(-ret));
		tap_skip_all(why);
	}
	veth_del(IF_A);
	return tap_run(cases, TAP_NCASES(cases));
}
