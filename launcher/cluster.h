/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: this host's place in a cluster ([cluster] and [node.N]
 * of vm.conf), and what the launcher hands bigiron.ko about it.
 *
 * Pure logic: the host's interfaces and addresses are read through
 * callbacks, so the unit tests cover every case.
 */
#ifndef BIGIRON_CLUSTER_H
#define BIGIRON_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/bigiron.h>

#include "config.h"

/*
 * Read the link-layer address of interface @ifname as text
 * ("02:00:00:00:00:01\n", as in /sys/class/net/IFNAME/address) into @buf.
 * Returns 0, or a negative errno (-ENOENT: no such interface).
 */
typedef int (*cluster_read_addr_fn)(void *opaque, const char *ifname,
				    char *buf, size_t len);

/*
 * ethernet: find this host's [node.N]: the one whose interface exists here
 * with the configured MAC. Exactly one must match; otherwise -1 and @err
 * says what each node wants and what this host has.
 */
int cluster_find_self(const struct config *cfg, cluster_read_addr_fn read_addr,
		      void *opaque, unsigned int *self, char *err,
		      size_t errlen);

/*
 * Is @addr (IPv6, or IPv4 mapped: ::ffff:a.b.c.d) an address of one of
 * this host's interfaces? 1 yes, 0 no, or a negative errno.
 */
typedef int (*cluster_has_ip_fn)(void *opaque, const uint8_t addr[16]);

/*
 * rdma: find this host's [node.N]: the one whose rdma_address this host
 * has. Exactly one must match; otherwise -1 and @err says what each node
 * wants.
 */
int cluster_find_self_rdma(const struct config *cfg, cluster_has_ip_fn has_ip,
			   void *opaque, unsigned int *self, char *err,
			   size_t errlen);

/* Does node @self load the guest and do I/O? True without a cluster. */
bool cluster_is_io_node(const struct config *cfg, unsigned int self);

/*
 * The vCPUs this host runs, as a mask of vCPU ids: the one place that
 * decides it. Without a cluster, all of them; with one, the vcpus of the
 * host's [node.N] (config.c checked that every vCPU has exactly one).
 */
uint64_t cluster_host_vcpus(const struct config *cfg, unsigned int self);

/*
 * May an interrupt that node @self sends to APIC destination @dest
 * (@logical: a logical destination, else physical) reach a vCPU of another
 * node? As bigiron.ko decides where to forward it: a physical destination
 * names vCPU @dest (its APIC id), hence one node, or no vCPU at all; the
 * broadcast id and every logical destination may be anywhere. Always
 * false without a cluster.
 */
bool cluster_dest_may_be_remote(const struct config *cfg, unsigned int self,
				uint32_t dest, bool logical);

/*
 * Fill the BIGIRON_VM_SET_CLUSTER argument and its node array (by node
 * id, cfg->cluster.nr_nodes entries) for node @self: ethernet, on
 * interface @ifindex; rdma (@ifindex ignored), on the nodes' addresses.
 */
void cluster_fill(const struct config *cfg, unsigned int self,
		  uint32_t ifindex, struct bigiron_vm_cluster *c,
		  struct bigiron_node_desc *nodes);

/*
 * After BIGIRON_VM_JOIN timed out with @up_mask: "waiting for node 1
 * (02:00:00:00:00:02 on eth0) timed out after 30 s"; rdma: "(192.0.2.2:7471)".
 */
void cluster_format_missing(const struct config *cfg, uint64_t up_mask,
			    char *buf, size_t len);

/*
 * Where node @i is, for messages: its interface (ethernet), or its
 * address and port (rdma, "192.0.2.1:7471").
 */
void cluster_format_node(const struct config *cfg, unsigned int i, char *buf,
			 size_t len);

/*
 * rdma: why BIGIRON_VM_SET_CLUSTER failed with errno @err for node @self,
 * and what to do about it.
 */
void cluster_format_rdma_error(const struct config *cfg, unsigned int self,
			       int err, char *buf, size_t len);

/*
 * Two-dimensional paging (Intel EPT, AMD NPT) of this host's KVM, from
 * the kvm_intel or kvm_amd module parameter under @sysfs_root ("/sys"):
 * 1 on, 0 off, -1 unknown (neither module's parameter there). A VM on
 * several hosts needs it (vm.c says why).
 */
int cluster_tdp_enabled(const char *sysfs_root);

/*
 * EPT accessed/dirty flags of this host's KVM (kvm_intel's eptad): 1 on,
 * 0 off, -1 unknown (no kvm_intel). With them on, the CPU treats every
 * access to a guest paging-structure entry as a write for EPT, so each
 * guest page-table page a vCPU walks must be writable on its host, and
 * those pages move between hosts on every walk (vm.c warns).
 */
int cluster_ept_ad_enabled(const char *sysfs_root);

/*
 * The module parameter ("kvm_amd avic", "kvm_intel enable_ipiv") of a
 * hardware path on which a guest's IPI reaches another vCPU of this host
 * without a VM exit, or NULL when none is on. Such an IPI never passes
 * kvm_irq_delivery_to_apic(), where the module forwards interrupts to the
 * other hosts, so a VM on several hosts refuses to start with one on.
 */
const char *cluster_ipi_bypass(const char *sysfs_root);

#endif
