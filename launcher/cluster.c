// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: this host's place in a cluster.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"

/* Append to @buf (length @len, string in it) without overflowing. */
static void append(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

int cluster_find_self(const struct config *cfg, cluster_read_addr_fn read_addr,
		      void *opaque, unsigned int *self, char *err,
		      size_t errlen)
{
	const struct config_cluster *cl = &cfg->cluster;
	char found[CONFIG_NODES_MAX][48];
	bool hit[CONFIG_NODES_MAX];
	char text[64], want[18], have[18];
	unsigned int i, nmatch = 0, match = 0;
	bool first = true;
	uint8_t mac[6];
	size_t n;
	int r;

	for (i = 0; i < cl->nr_nodes; i++) {
		const struct config_node *nd = &cl->nodes[i];

		hit[i] = false;
		text[0] = '\0';
		r = read_addr(opaque, nd->interface, text, sizeof(text));
		if (r) {
			snprintf(found[i], sizeof(found[i]), "%s",
				 r == -ENOENT || r == -ENODEV ? "not here" :
				 strerror(-r));
			continue;
		}
		text[sizeof(text) - 1] = '\0';
		n = strlen(text);
		while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
			text[--n] = '\0';
		if (config_parse_mac(text, mac)) {
			snprintf(found[i], sizeof(found[i]), "has address %.24s",
				 text);
			continue;
		}
		config_format_mac(mac, have, sizeof(have));
		snprintf(found[i], sizeof(found[i]), "has %s", have);
		if (!memcmp(mac, nd->mac, 6)) {
			hit[i] = true;
			nmatch++;
			match = i;
		}
	}
	if (nmatch == 1) {
		*self = match;
		return 0;
	}
	err[0] = '\0';
	if (nmatch == 0)
		append(err, errlen, "no [node.N] matches this host:");
	else
		append(err, errlen, "%u [node.N] match this host:", nmatch);
	for (i = 0; i < cl->nr_nodes; i++) {
		const struct config_node *nd = &cl->nodes[i];

		if (nmatch && !hit[i])
			continue;
		config_format_mac(nd->mac, want, sizeof(want));
		append(err, errlen, "%s node %u wants %s on %s",
		       first ? "" : ",", i, want, nd->interface);
		first = false;
		if (!hit[i])
			append(err, errlen, " (%s %s)", nd->interface,
			       found[i]);
	}
	append(err, errlen, nmatch ? "; choose one with --node N"
				   : "; fix interface or mac, or choose with --node N");
	return -1;
}

int cluster_find_self_rdma(const struct config *cfg, cluster_has_ip_fn has_ip,
			   void *opaque, unsigned int *self, char *err,
			   size_t errlen)
{
	const struct config_cluster *cl = &cfg->cluster;
	int res[CONFIG_NODES_MAX];
	char want[CONFIG_ENDPOINT_LEN];
	unsigned int i, nmatch = 0, match = 0;
	bool first = true;

	for (i = 0; i < cl->nr_nodes; i++) {
		res[i] = has_ip(opaque, cl->nodes[i].addr);
		if (res[i] == 1) {
			nmatch++;
			match = i;
		}
	}
	if (nmatch == 1) {
		*self = match;
		return 0;
	}
	err[0] = '\0';
	if (nmatch == 0)
		append(err, errlen, "no [node.N] matches this host:");
	else
		append(err, errlen, "%u [node.N] match this host:", nmatch);
	for (i = 0; i < cl->nr_nodes; i++) {
		if (nmatch && res[i] != 1)
			continue;
		config_format_endpoint(cl->nodes[i].addr, cl->nodes[i].port,
				       want, sizeof(want));
		append(err, errlen, "%s node %u wants %s", first ? "" : ",", i,
		       want);
		first = false;
		if (res[i] != 1)
			append(err, errlen, " (%s)",
			       res[i] ? strerror(-res[i]) : "not here");
	}
	append(err, errlen, nmatch ? "; choose one with --node N"
				   : "; fix rdma_address, or choose with --node N");
	return -1;
}

bool cluster_is_io_node(const struct config *cfg, unsigned int self)
{
	return !cfg->cluster.nr_nodes || cfg->cluster.io_node == self;
}

uint64_t cluster_host_vcpus(const struct config *cfg, unsigned int self)
{
	uint64_t all = cfg->vcpus >= 64 ? ~0ULL : (1ULL << cfg->vcpus) - 1;

	if (!cfg->cluster.nr_nodes)
		return all;
	if (self >= cfg->cluster.nr_nodes)
		return 0;
	return cfg->cluster.nodes[self].vcpu_mask;
}

bool cluster_dest_may_be_remote(const struct config *cfg, unsigned int self,
				uint32_t dest, bool logical)
{
	if (cfg->cluster.nr_nodes < 2)
		return false;
	if (logical || dest == 0xFF)
		return true;
	if (dest >= cfg->vcpus || dest >= CONFIG_VCPUS_MAX)
		return false;		/* no vCPU has that APIC id */
	return !((cluster_host_vcpus(cfg, self) >> dest) & 1);
}

void cluster_fill(const struct config *cfg, unsigned int self,
		  uint32_t ifindex, struct bigiron_vm_cluster *c,
		  struct bigiron_node_desc *nodes)
{
	const struct config_cluster *cl = &cfg->cluster;
	bool rdma = cl->transport == CONFIG_TRANSPORT_RDMA;
	unsigned int i;

	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->cluster_id = cl->id;
	c->self = (__u16)self;
	c->nr_nodes = (__u16)cl->nr_nodes;
	if (rdma) {
		c->transport = BIGIRON_TRANSPORT_RDMA;
	} else {
		c->transport = BIGIRON_TRANSPORT_ETH;
		c->ifindex = ifindex;
		c->mtu = cl->mtu;
	}
	memcpy(c->key, cl->key, sizeof(c->key));
	c->nodes = (__u64)(uintptr_t)nodes;
	for (i = 0; i < cl->nr_nodes; i++) {
		memset(&nodes[i], 0, sizeof(nodes[i]));
		if (rdma) {
			memcpy(nodes[i].addr, cl->nodes[i].addr, 16);
			nodes[i].port = cl->nodes[i].port;
		} else {
			memcpy(nodes[i].mac, cl->nodes[i].mac, 6);
		}
		nodes[i].home_start = cl->nodes[i].home_start;
		nodes[i].home_size = cl->nodes[i].home_size;
	}
}

void cluster_format_missing(const struct config *cfg, uint64_t up_mask,
			    char *buf, size_t len)
{
	const struct config_cluster *cl = &cfg->cluster;
	unsigned int i, missing = 0;
	char mac[18], where[CONFIG_ENDPOINT_LEN];
	bool first = true;

	for (i = 0; i < cl->nr_nodes; i++)
		if (!(up_mask & (1ULL << i)))
			missing++;
	buf[0] = '\0';
	append(buf, len, "waiting for node%s", missing == 1 ? "" : "s");
	for (i = 0; i < cl->nr_nodes; i++) {
		if (up_mask & (1ULL << i))
			continue;
		cluster_format_node(cfg, i, where, sizeof(where));
		if (cl->transport == CONFIG_TRANSPORT_RDMA) {
			append(buf, len, "%s %u (%s)", first ? "" : ",", i,
			       where);
		} else {
			config_format_mac(cl->nodes[i].mac, mac, sizeof(mac));
			append(buf, len, "%s %u (%s on %s)", first ? "" : ",",
			       i, mac, where);
		}
		first = false;
	}
	append(buf, len, " timed out after %u s", cl->join_timeout);
}

void cluster_format_node(const struct config *cfg, unsigned int i, char *buf,
			 size_t len)
{
	const struct config_node *n = &cfg->cluster.nodes[i];

	if (cfg->cluster.transport == CONFIG_TRANSPORT_RDMA)
		config_format_endpoint(n->addr, n->port, buf, len);
	else
		snprintf(buf, len, "%s", n->interface);
}

void cluster_format_rdma_error(const struct config *cfg, unsigned int self,
			       int err, char *buf, size_t len)
{
	const struct config_node *n = &cfg->cluster.nodes[self];
	char a[CONFIG_ENDPOINT_LEN];

	config_format_endpoint(n->addr, 0, a, sizeof(a));
	switch (err) {
	case ENODEV:
	case EADDRNOTAVAIL:
		snprintf(buf, len,
			 "node %u: no RDMA device has address %s: add one (e.g. rdma link add rxe0 type rxe netdev IFACE) or fix rdma_address",
			 self, a);
		break;
	case EADDRINUSE:
		snprintf(buf, len,
			 "node %u: port %u of %s is taken (another VM or program listens there): stop it, or choose another rdma_port",
			 self, n->port, a);
		break;
	case EOPNOTSUPP:
		snprintf(buf, len,
			 "node %u: this bigiron.ko lacks RDMA support (transport = rdma): install a module that has it, or use transport = ethernet",
			 self);
		break;
	default:
		config_format_endpoint(n->addr, n->port, a, sizeof(a));
		snprintf(buf, len,
			 "BIGIRON_VM_SET_CLUSTER (node %u of %u at %s): %s",
			 self, cfg->cluster.nr_nodes, a, strerror(err));
		break;
	}
}

/* Boolean module parameter @param under @sysfs_root: 1, 0, -1 (absent). */
static int sysfs_flag(const char *sysfs_root, const char *param)
{
	char path[256], val[8];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", sysfs_root, param);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(val, sizeof(val), f))
		val[0] = 0;
	fclose(f);
	return val[0] == 'Y' || val[0] == '1';
}

int cluster_tdp_enabled(const char *sysfs_root)
{
	int r = sysfs_flag(sysfs_root, "module/kvm_intel/parameters/ept");

	if (r < 0)
		r = sysfs_flag(sysfs_root, "module/kvm_amd/parameters/npt");
	return r;
}

int cluster_ept_ad_enabled(const char *sysfs_root)
{
	return sysfs_flag(sysfs_root, "module/kvm_intel/parameters/eptad");
}

const char *cluster_ipi_bypass(const char *sysfs_root)
{
	if (sysfs_flag(sysfs_root, "module/kvm_amd/parameters/avic") == 1)
		return "kvm_amd avic";
	if (sysfs_flag(sysfs_root, "module/kvm_intel/parameters/enable_ipiv") == 1 &&
	    sysfs_flag(sysfs_root, "module/kvm_intel/parameters/enable_apicv") == 1)
		return "kvm_intel enable_ipiv";
	return NULL;
}
