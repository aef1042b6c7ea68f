// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: boot an unmodified Linux bzImage in a bigiron VM.
 *
 *   bigiron-launch [-h] [-v] [--version] [--check] [--node N] vm.conf
 *
 * With [node.N] sections (one VM over several hosts), every host reads the
 * same vm.conf and runs as the node whose interface and MAC it has (with
 * transport = rdma: whose rdma_address it has), or as the one --node
 * names.
 *
 * Exit status: 0 when the guest powers off, 2 when it asks for a reset
 * (ACPI reset register, or a triple fault), 1 on any error.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/bigiron.h>

#include "cluster.h"
#include "config.h"
#include "log.h"
#include "vm.h"

#ifndef BIGIRON_VERSION
#define BIGIRON_VERSION "0.1"
#endif

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bigiron-launch [-h] [-v] [--version] [--check] [--node N] vm.conf\n"
		"\n"
		"Boot the Linux bzImage that vm.conf names in a KVM virtual machine\n"
		"whose RAM is provided by the bigiron module (/dev/bigiron).\n"
		"\n"
		"  -h, --help     show this help and exit\n"
		"  -v, --verbose  print debug messages (unhandled guest I/O and more)\n"
		"      --version  print the version and exit\n"
		"      --check    parse and validate vm.conf, print the resolved\n"
		"                 settings and exit\n"
		"      --node N   run as [node.N] of the cluster vm.conf describes\n"
		"                 (default: the node whose interface has its mac;\n"
		"                 rdma: whose rdma_address this host has)\n"
		"\n"
		"Exit status: 0 guest powered off, 2 guest reset or triple fault,\n"
		"1 error. See vm.conf.example for the configuration format.\n");
}

/* cluster_read_addr_fn for this host: /sys/class/net/IFNAME/address. */
static int sysfs_read_address(void *opaque, const char *ifname, char *buf,
			      size_t len)
{
	char path[64];
	ssize_t r;
	int fd, e;

	(void)opaque;
	snprintf(path, sizeof(path), "/sys/class/net/%s/address", ifname);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = read(fd, buf, len - 1);
	e = errno;
	close(fd);
	if (r < 0)
		return -e;
	buf[r] = '\0';
	return 0;
}

/* cluster_has_ip_fn for this host: the addresses of its interfaces. */
static int ifaddrs_has_ip(void *opaque, const uint8_t addr[16])
{
	static const uint8_t v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	struct ifaddrs *list, *ifa;
	const void *a;
	int found = 0;

	(void)opaque;
	if (getifaddrs(&list) < 0)
		return -errno;
	for (ifa = list; ifa && !found; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr)
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET) {
			a = &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr;
			found = !memcmp(addr, v4mapped, 12) &&
				!memcmp(addr + 12, a, 4);
		} else if (ifa->ifa_addr->sa_family == AF_INET6) {
			a = &((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr;
			found = !memcmp(addr, a, 16);
		}
	}
	freeifaddrs(list);
	return found;
}

/* "--node N" or "--node=N": N in 0..CONFIG_NODES_MAX-1, else -1. */
static int parse_node_arg(const char *s)
{
	char *end;
	long v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v >= CONFIG_NODES_MAX)
		return -1;
	return (int)v;
}

/*
 * This host's node id: --node, or found by interface and MAC (rdma: by
 * address). 0 without a cluster. -1 (reported) if there is none.
 */
static int find_self(const struct config *cfg, const char *conf, int node)
{
	unsigned int self;
	char err[4096];

	if (node >= 0) {
		if (!cfg->cluster.nr_nodes) {
			log_error("--node %d: %s has no [node.N] sections", node,
				  conf);
			return -1;
		}
		if ((unsigned int)node >= cfg->cluster.nr_nodes) {
			log_error("--node %d: %s has nodes 0..%u", node, conf,
				  cfg->cluster.nr_nodes - 1);
			return -1;
		}
		return node;
	}
	if (!cfg->cluster.nr_nodes)
		return 0;
	if (cfg->cluster.transport == CONFIG_TRANSPORT_RDMA ?
	    cluster_find_self_rdma(cfg, ifaddrs_has_ip, NULL, &self, err,
				   sizeof(err)) :
	    cluster_find_self(cfg, sysfs_read_address, NULL, &self, err,
			      sizeof(err))) {
		log_error("%s: %s", conf, err);
		return -1;
	}
	return (int)self;
}

int main(int argc, char **argv)
{
	const char *conf = NULL;
	struct config cfg;
	bool check = false;
	char err[512];
	struct vm vm;
	int i, status, node = -1, self;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--version")) {
			printf("bigiron-launch %s (bigiron ABI %d)\n",
			       BIGIRON_VERSION, BIGIRON_ABI_VERSION);
			return 0;
		} else if (!strcmp(a, "--check")) {
			check = true;
		} else if (!strcmp(a, "--node") ||
			   !strncmp(a, "--node=", 7)) {
			const char *v = a[6] ? a + 7 : argv[++i];

			node = parse_node_arg(v);
			if (node < 0) {
				log_error("--node: \"%s\" is not a node id 0..%d",
					  v ? v : "", CONFIG_NODES_MAX - 1);
				return 1;
			}
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			log_verbose = 1;
		} else if (a[0] == '-' && a[1]) {
			log_error("unknown option %s", a);
			usage(stderr);
			return 1;
		} else if (conf) {
			log_error("more than one config file: %s and %s", conf, a);
			return 1;
		} else {
			conf = a;
		}
	}
	if (!conf) {
		usage(stderr);
		return 1;
	}

	if (config_load(&cfg, conf, err, sizeof(err))) {
		log_error("%s", err);
		return 1;
	}
	self = find_self(&cfg, conf, node);
	if (check) {
		config_print(&cfg, cfg.cluster.nr_nodes ? self : -1, stdout);
		status = self < 0 || vm_check(&cfg, (unsigned int)self) ? 1 : 0;
		config_free(&cfg);
		return status;
	}
	if (self < 0) {
		config_free(&cfg);
		return 1;
	}

	status = 1;
	if (!vm_setup(&vm, &cfg, (unsigned int)self))
		status = vm_run(&vm);
	vm_teardown(&vm);
	config_free(&cfg);
	return status;
}
