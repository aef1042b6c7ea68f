/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * bigiron: ioctl ABI of /dev/bigiron, shared by bigiron.ko and its tools.
 *
 * Every argument structure starts with a __u32 size that must equal the
 * size of the structure the caller was built against, and a __u32 flags
 * word; unknown flags, wrong sizes and non-zero reserved or padding fields
 * are rejected with -EINVAL. Unknown commands get -ENOTTY.
 *
 * One open file of /dev/bigiron holds at most one VM. BIGIRON_VM_CREATE
 * creates it and returns a new file descriptor for its guest-memory file;
 * the caller mmap()s that file MAP_SHARED and hands the mapping to KVM.
 * The VM lives until both the /dev/bigiron file and every reference to the
 * memory file (descriptors and mappings) are gone.
 */
#ifndef _UAPI_LINUX_BIGIRON_H
#define _UAPI_LINUX_BIGIRON_H

#include <linux/const.h>
#include <linux/types.h>
#include <linux/ioctl.h>

#define BIGIRON_ABI_VERSION	1
#define BIGIRON_IOCTL_MAGIC	0xBE

/* Largest guest RAM one VM may have, in bytes (1 TiB). */
#define BIGIRON_MAX_MEM_SIZE	_BITULL(40)

/* BIGIRON_GET_VERSION: no size or flags in; all fields out. */
struct bigiron_version {
	__u32 abi_version;	/* out: BIGIRON_ABI_VERSION */
	__u32 features;		/* out: BIGIRON_FEAT_* bits */
	__u64 reserved[3];	/* out: zero */
};

/* BIGIRON_VM_CREATE */
#define BIGIRON_VM_CREATE_CLOEXEC	_BITUL(0) /* memory fd gets O_CLOEXEC */
#define BIGIRON_VM_CREATE_FLAGS		(BIGIRON_VM_CREATE_CLOEXEC)

struct bigiron_vm_create {
	__u32 size;		/* in: sizeof(struct bigiron_vm_create) */
	__u32 flags;		/* in: BIGIRON_VM_CREATE_* */
	/* in: guest RAM bytes, a non-zero multiple of 4096, at most
	 * BIGIRON_MAX_MEM_SIZE
	 */
	__u64 mem_size;
	__s32 mem_fd;		/* out: guest-memory file descriptor */
	__u32 vm_id;		/* out: names /sys/kernel/bigiron/vm<id> */
	__u64 reserved[4];	/* in: must be zero */
};

/* BIGIRON_VM_GET_STATS */
struct bigiron_vm_stats {
	__u32 size;		/* in: sizeof(struct bigiron_vm_stats) */
	__u32 flags;		/* in: must be zero */
	__u64 read_faults;	/* out: faults that brought a page in */
	__u64 write_upgrades;	/* out: read-only to writable upgrades */
	__u64 resident_pages;	/* out: pages of guest RAM held here */
	__u64 mem_size;		/* out: guest RAM bytes */
	__u64 reserved[8];	/* in: must be zero; out: zero */
};

/*
 * Clusters: one VM spread over several hosts ("nodes"). Each host creates
 * the VM with the same mem_size, then describes the cluster with
 * BIGIRON_VM_SET_CLUSTER before any page of the memory file is touched,
 * then BIGIRON_VM_JOIN waits (bounded) until the link to every other node
 * is up. Without SET_CLUSTER the VM is a single node that holds every page.
 * SET_CLUSTER needs CAP_NET_ADMIN in the interface's network namespace
 * (-EPERM otherwise): the node sends and takes raw frames on it.
 */
#define BIGIRON_MAX_NODES	64
#define BIGIRON_KEY_SIZE	32

#define BIGIRON_TRANSPORT_ETH	1	/* raw Ethernet frames, own ethertype */
/*
 * RDMA: one reliable-connected queue pair per pair of nodes, set up with
 * the kernel's RDMA connection manager.  Each node listens on its addr
 * and port; the node with the lower id connects.  ifindex and mtu must
 * be zero (rdma_cm finds the RDMA device that has the address; a frame
 * carries a whole page).
 */
#define BIGIRON_TRANSPORT_RDMA	2

/* One node of the cluster, as every node sees it. */
struct bigiron_node_desc {
	/* ethernet: link-layer address of the node's interface; rdma: zero */
	__u8 mac[6];
	/* rdma: the port the node listens on, host order, non-zero;
	 * ethernet: zero
	 */
	__u16 port;
	/* guest-physical range this node is home for; page multiples */
	__u64 home_start;
	__u64 home_size;
	/* rdma: the node's IP address, one of its RDMA device's: IPv6, or
	 * IPv4 mapped (::ffff:a.b.c.d); ethernet: zero
	 */
	__u8 addr[16];
};

/* BIGIRON_VM_SET_CLUSTER */
struct bigiron_vm_cluster {
	__u32 size;		/* in: sizeof(struct bigiron_vm_cluster) */
	__u32 flags;		/* in: must be zero */
	__u32 cluster_id;	/* in: non-zero, the same on every node */
	__u16 self;		/* in: this host's node id, < nr_nodes */
	__u16 nr_nodes;		/* in: 2..BIGIRON_MAX_NODES */
	__u32 transport;	/* in: BIGIRON_TRANSPORT_* */
	/* in: ethernet: interface carrying the cluster's frames; rdma: 0 */
	__u32 ifindex;
	/* in: ethernet: frame payload limit, 0: the interface's; rdma: 0 */
	__u32 mtu;
	__u32 pad;		/* in: must be zero */
	__u8 key[BIGIRON_KEY_SIZE];	/* in: pre-shared cluster key */
	/* in: user pointer to nr_nodes struct bigiron_node_desc, by node id;
	 * the home ranges must tile [0, mem_size) without overlap
	 */
	__u64 nodes;
	__u64 reserved[4];	/* in: must be zero */
};

/* BIGIRON_VM_JOIN */
struct bigiron_vm_join {
	__u32 size;		/* in: sizeof(struct bigiron_vm_join) */
	__u32 flags;		/* in: must be zero */
	__u32 timeout_ms;	/* in: 0: the VM's join_timeout_ms */
	__u32 pad;		/* in: must be zero */
	__u64 up_mask;		/* out: nodes whose link is up, self included */
	__u64 reserved[4];	/* in: must be zero */
};

/* BIGIRON_VM_PING: round trips to one peer, measured in the kernel */
struct bigiron_vm_ping {
	__u32 size;		/* in: sizeof(struct bigiron_vm_ping) */
	__u32 flags;		/* in: must be zero */
	__u16 node;		/* in: peer node id, not self */
	__u16 pad;		/* in: must be zero */
	__u32 count;		/* in: 1..4096 round trips */
	__u32 payload;		/* in: bytes carried each way: 0 or 4096 */
	__u32 pad2;		/* in: must be zero */
	__u64 rtt_ns;		/* in: user pointer to count __u64, filled */
	__u64 reserved[4];	/* in: must be zero */
};

/*
 * BIGIRON_VM_SET_KVM: the KVM VM this bigiron VM backs, and where each of
 * its vCPUs runs.  Interrupts that KVM on this host would deliver to a vCPU
 * of another host (IPIs, MSIs) are sent there and delivered by its KVM.
 * vCPU n has local APIC id n.  Once per VM, after BIGIRON_VM_JOIN.  Needs
 * CAP_SYS_ADMIN (-EPERM otherwise): it hooks KVM host-wide with a kprobe.
 */
#define BIGIRON_MAX_VCPUS	256

struct bigiron_vm_kvm {
	__u32 size;		/* in: sizeof(struct bigiron_vm_kvm) */
	__u32 flags;		/* in: must be zero */
	__s32 kvm_fd;		/* in: a KVM VM file descriptor */
	__u32 nr_vcpus;		/* in: 1..BIGIRON_MAX_VCPUS */
	/* in: user pointer to nr_vcpus __u16, the node running vCPU n */
	__u64 vcpu_nodes;
	__u64 reserved[4];	/* in: must be zero */
};

/*
 * BIGIRON_VM_SEND: a message to the launcher of another node (or of every
 * other node), delivered reliably and in order after earlier messages,
 * interrupts and memory traffic to that node.  Never blocks: -EAGAIN when
 * a node named still has 64 of this node's messages waiting for its link
 * (nothing was sent to any node; try again later).
 */
#define BIGIRON_MSG_MAX		4096
#define BIGIRON_NODE_ALL	0xFFFF

struct bigiron_vm_msg {
	__u32 size;		/* in: sizeof(struct bigiron_vm_msg) */
	__u32 flags;		/* in: must be zero */
	__u16 node;		/* in: a node id, not self, or BIGIRON_NODE_ALL */
	__u16 pad;		/* in: must be zero */
	__u32 len;		/* in: 1..BIGIRON_MSG_MAX */
	__u64 data;		/* in: user pointer to len bytes */
	__u64 reserved[2];	/* in: must be zero */
};

/*
 * BIGIRON_VM_RECV: the next event: a message (BIGIRON_EV_MSG), a node
 * that is gone (BIGIRON_EV_NODE_DOWN: its link died, or its VM ended), or
 * a lost interrupt (BIGIRON_EV_IPI_LOST, below).  At most 1024 messages
 * wait here; while that many do, the links refuse more (and what follows
 * them), and a peer whose message stays refused through link_max_retries
 * retransmissions declares this node dead: read them.
 * Waits up to timeout_ms (0: do not wait); -ETIMEDOUT when nothing came.
 */
#define BIGIRON_EV_MSG		1
#define BIGIRON_EV_NODE_DOWN	2
/*
 * An interrupt from another host or for one could not be delivered (node:
 * the host it came from, or this one); the guest may hang without it, so
 * the VM must stop. Reported once; the kernel log says why.
 */
#define BIGIRON_EV_IPI_LOST	3

struct bigiron_vm_recv {
	__u32 size;		/* in: sizeof(struct bigiron_vm_recv) */
	__u32 flags;		/* in: must be zero */
	__u32 timeout_ms;	/* in: longest wait, at most 60000 */
	__u16 event;		/* out: BIGIRON_EV_* */
	__u16 node;		/* out: the sender, or the node that is gone */
	/* in: room at data; out: message length (-EMSGSIZE: too small,
	 * the message stays queued)
	 */
	__u32 len;
	__u32 pad;		/* in: must be zero */
	__u64 data;		/* in: user pointer to len bytes */
	__u64 reserved[2];	/* in: must be zero */
};

#define BIGIRON_GET_VERSION \
	_IOR(BIGIRON_IOCTL_MAGIC, 0x00, struct bigiron_version)
#define BIGIRON_VM_CREATE \
	_IOWR(BIGIRON_IOCTL_MAGIC, 0x01, struct bigiron_vm_create)
#define BIGIRON_VM_GET_STATS \
	_IOWR(BIGIRON_IOCTL_MAGIC, 0x02, struct bigiron_vm_stats)

#define BIGIRON_VM_SET_CLUSTER \
	_IOW(BIGIRON_IOCTL_MAGIC, 0x03, struct bigiron_vm_cluster)
#define BIGIRON_VM_JOIN \
	_IOWR(BIGIRON_IOCTL_MAGIC, 0x04, struct bigiron_vm_join)
#define BIGIRON_VM_PING \
	_IOW(BIGIRON_IOCTL_MAGIC, 0x05, struct bigiron_vm_ping)
#define BIGIRON_VM_SET_KVM \
	_IOW(BIGIRON_IOCTL_MAGIC, 0x06, struct bigiron_vm_kvm)
#define BIGIRON_VM_SEND \
	_IOW(BIGIRON_IOCTL_MAGIC, 0x07, struct bigiron_vm_msg)
#define BIGIRON_VM_RECV \
	_IOWR(BIGIRON_IOCTL_MAGIC, 0x08, struct bigiron_vm_recv)

#endif /* _UAPI_LINUX_BIGIRON_H */
