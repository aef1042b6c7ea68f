/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: vm.conf parser and the settings it resolves.
 *
 * Pure logic: no KVM calls and, apart from config_load() reading the
 * file and a [cluster] key_file being read, no I/O, so the unit tests
 * cover every message.
 */
#ifndef BIGIRON_CONFIG_H
#define BIGIRON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_NAME_MAX		63
#define CONFIG_CMDLINE_MAX	4095
#define CONFIG_MEM_MIN		(16ULL << 20)
/*
 * Guest RAM is one region at guest physical 0. It must end below the
 * 32-bit MMIO window that starts at 0xC0000000 (IOAPIC, LAPIC, KVM's TSS
 * and identity-map pages live near 4 GiB); 2816 MiB leaves 256 MiB of
 * room for 32-bit device BARs later.
 */
#define CONFIG_MEM_MAX		(2816ULL << 20)
#define CONFIG_VCPUS_MAX	64
#define CONFIG_DEFAULT_NAME	"bigiron"
#define CONFIG_DEFAULT_CMDLINE	"console=ttyS0"
/* virtio-net: the guest's address unless net_mac says otherwise. */
#define CONFIG_DEFAULT_NET_MAC	{ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }

/* Clusters: one VM over several hosts, [cluster] and [node.N]. */
#define CONFIG_NODES_MAX	64	/* BIGIRON_MAX_NODES */
#define CONFIG_KEY_SIZE		32	/* BIGIRON_KEY_SIZE */
#define CONFIG_IFNAME_MAX	15	/* IFNAMSIZ - 1 */
#define CONFIG_JOIN_TIMEOUT	30	/* seconds */
#define CONFIG_JOIN_TIMEOUT_MAX	3600
#define CONFIG_MTU_MIN		576
#define CONFIG_MTU_MAX		65535
#define CONFIG_RDMA_PORT	7471	/* rdma_port unless set */
/* "[2001:db8::1]:7471": INET6_ADDRSTRLEN, brackets, ':' and a port */
#define CONFIG_ENDPOINT_LEN	56

enum config_transport {
	CONFIG_TRANSPORT_ETHERNET = 1,	/* BIGIRON_TRANSPORT_ETH */
	CONFIG_TRANSPORT_RDMA = 2,	/* BIGIRON_TRANSPORT_RDMA */
};

/* One [node.N] section: a host of the cluster, indexed by its id N. */
struct config_node {
	char interface[CONFIG_IFNAME_MAX + 1];	/* ethernet */
	uint8_t mac[6];				/* ethernet */
	uint8_t addr[16];	/* rdma: IPv6, or IPv4 mapped (::ffff:a.b.c.d) */
	uint16_t port;		/* rdma: its rdma_port, else [cluster]'s */
	uint64_t home_start;	/* guest-physical range this node is home */
	uint64_t home_size;	/* for; the ranges tile [0, memory) */
	bool home_explicit;	/* "START+SIZE" rather than just "SIZE" */
	uint64_t vcpu_mask;	/* bit i: this node runs vCPU i */
	bool io;		/* loads the guest, runs the devices */
};

struct config_cluster {
	unsigned int nr_nodes;	/* 0: no cluster, this host alone */
	uint32_t id;
	uint8_t key[CONFIG_KEY_SIZE];
	char *key_file;		/* resolved path; NULL: inline key */
	enum config_transport transport;
	unsigned int join_timeout;	/* seconds */
	unsigned int mtu;	/* ethernet; 0: the interface's */
	unsigned int rdma_port;	/* rdma: the nodes' port unless they say */
	unsigned int io_node;	/* id of the node with io = yes */
	struct config_node nodes[CONFIG_NODES_MAX];
};

struct config {
	char name[CONFIG_NAME_MAX + 1];
	uint64_t memory;	/* guest RAM, bytes */
	unsigned int vcpus;
	char *kernel;		/* bzImage path, resolved */
	char *initrd;		/* initrd path, resolved, or NULL */
	char *cmdline;		/* kernel command line */
	char *disk;		/* virtio-blk image, resolved, or NULL */
	bool disk_readonly;
	char tap[CONFIG_IFNAME_MAX + 1];	/* virtio-net; "": none */
	uint8_t net_mac[6];	/* virtio-net: the guest's address */
	struct config_cluster cluster;
};

/*
 * Parse the text of a vm.conf. @file names it in messages and anchors
 * relative paths. Returns 0, or -1 with a "file:line: problem" message
 * in @err. On success the caller owns @cfg and frees it with
 * config_free(); on failure nothing needs freeing.
 */
int config_parse(struct config *cfg, const char *file, const char *text,
		 char *err, size_t errlen);
/* Read @path and config_parse() it. */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);
void config_free(struct config *cfg);
/*
 * Print the resolved settings, the cluster included; @self is this host's
 * node id (marked), or -1 when it is not known.
 */
void config_print(const struct config *cfg, int self, FILE *out);

/* "256M", "1G", "4096", "64KiB": bytes in @out; -1 if not a size. */
int config_parse_size(const char *s, uint64_t *out);
/* "256 MiB", "1 GiB", "4097 bytes": the largest exact unit. */
void config_format_size(uint64_t bytes, char *buf, size_t len);
/* "02:00:00:00:00:01" (lower case) in @buf of at least 18 bytes. */
void config_format_mac(const uint8_t mac[6], char *buf, size_t len);
/* "aa:bb:cc:dd:ee:ff", any case, nothing else: 0, or -1. */
int config_parse_mac(const char *s, uint8_t mac[6]);
/* vCPU set as a list: "0-3,6", or "none". */
void config_format_vcpus(uint64_t mask, char *buf, size_t len);
/* "ethernet", "rdma" */
const char *config_transport_name(enum config_transport t);
/*
 * An rdma node's address and port: "192.0.2.1:7471" (IPv4 mapped) or
 * "[2001:db8::1]:7471", in @buf of at least CONFIG_ENDPOINT_LEN bytes;
 * without the port when @port is 0 ("192.0.2.1", "2001:db8::1").
 */
void config_format_endpoint(const uint8_t addr[16], unsigned int port,
			    char *buf, size_t len);

/*
 * Read a cluster key file: 64 hex digits, optionally followed by a
 * newline, in a regular file that neither group nor others may access.
 * Returns 0, or -1 with the problem in @err (the path not included).
 */
int config_read_key_file(const char *path, uint8_t key[CONFIG_KEY_SIZE],
			 char *err, size_t errlen);

#endif
