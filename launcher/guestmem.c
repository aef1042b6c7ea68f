// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: guest RAM from /dev/bigiron.
 *
 * bigiron.ko provides guest RAM as a file; mapping it MAP_SHARED and
 * handing the mapping to KVM lets the module see every guest access to a
 * page this host does not hold. The mapping is never populated here
 * (no MAP_POPULATE): pages come in on first touch, through the module.
 *
 * In a cluster, the VM is described to the module (BIGIRON_VM_SET_CLUSTER)
 * and joined (BIGIRON_VM_JOIN) between creating it and mapping it: no page
 * may be touched before the module knows which node is home for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/bigiron.h>

#include "cluster.h"
#include "log.h"
#include "vm.h"

#define BIGIRON_DEVICE	"/dev/bigiron"

int guestmem_open(struct vm *vm)
{
	struct bigiron_version ver;

	vm->bigiron_fd = open(BIGIRON_DEVICE, O_RDWR | O_CLOEXEC);
	if (vm->bigiron_fd < 0) {
		int e = errno;

		switch (e) {
		case ENOENT:
		case ENODEV:
		case ENXIO:
			log_error("%s not found: load the module: modprobe bigiron",
				  BIGIRON_DEVICE);
			break;
		case EACCES:
		case EPERM:
			log_error("%s: permission denied: run as root",
				  BIGIRON_DEVICE);
			break;
		default:
			log_error("%s: %s", BIGIRON_DEVICE, strerror(e));
			break;
		}
		return -1;
	}
	memset(&ver, 0, sizeof(ver));
	if (ioctl(vm->bigiron_fd, BIGIRON_GET_VERSION, &ver) < 0) {
		log_error("%s: BIGIRON_GET_VERSION: %s", BIGIRON_DEVICE,
			  strerror(errno));
		return -1;
	}
	vm->bigiron_abi = ver.abi_version;
	if (ver.abi_version != BIGIRON_ABI_VERSION) {
		log_error("%s: module ABI version %u, this launcher speaks %u: install matching versions",
			  BIGIRON_DEVICE, ver.abi_version, BIGIRON_ABI_VERSION);
		return -1;
	}
	return 0;
}

int guestmem_create(struct vm *vm, uint64_t size)
{
	struct bigiron_vm_create req;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.flags = BIGIRON_VM_CREATE_CLOEXEC;
	req.mem_size = size;
	if (ioctl(vm->bigiron_fd, BIGIRON_VM_CREATE, &req) < 0) {
		log_error("%s: BIGIRON_VM_CREATE (%llu bytes): %s",
			  BIGIRON_DEVICE, (unsigned long long)size,
			  strerror(errno));
		return -1;
	}
	vm->mem_fd = req.mem_fd;
	vm->bigiron_vm_id = req.vm_id;
	vm->mem_size = size;
	return 0;
}

int guestmem_join(struct vm *vm)
{
	const struct config *cfg = vm->cfg;
	const struct config_cluster *cl = &cfg->cluster;
	const struct config_node *me = &cl->nodes[vm->self];
	struct bigiron_node_desc nodes[BIGIRON_MAX_NODES];
	struct bigiron_vm_cluster req;
	struct bigiron_vm_join join;
	bool rdma = cl->transport == CONFIG_TRANSPORT_RDMA;
	char msg[2048], where[CONFIG_ENDPOINT_LEN];
	unsigned int ifindex = 0;
	sigset_t set, old;
	int r, e;

	/* rdma: rdma_cm finds the device from the address. */
	if (!rdma) {
		ifindex = if_nametoindex(me->interface);
		if (!ifindex) {
			e = errno;
			log_error("[node.%u] interface %s: %s", vm->self,
				  me->interface, e == ENODEV || e == ENXIO ?
				  "no such interface on this host" :
				  strerror(e));
			return -1;
		}
	}
	cluster_format_node(cfg, vm->self, where, sizeof(where));
	cluster_fill(cfg, vm->self, ifindex, &req, nodes);
	r = ioctl(vm->bigiron_fd, BIGIRON_VM_SET_CLUSTER, &req);
	e = errno;
	explicit_bzero(req.key, sizeof(req.key));
	if (r < 0) {
		if (e == ENOTTY) {
			log_error("this bigiron.ko does not support clusters (ABI version %u)",
				  vm->bigiron_abi);
		} else if (rdma) {
			cluster_format_rdma_error(cfg, vm->self, e, msg,
						  sizeof(msg));
			log_error("%s: %s", BIGIRON_DEVICE, msg);
		} else {
			log_error("%s: BIGIRON_VM_SET_CLUSTER (node %u of %u on %s): %s",
				  BIGIRON_DEVICE, vm->self, cl->nr_nodes,
				  me->interface, strerror(e));
		}
		return -1;
	}

	memset(&join, 0, sizeof(join));
	join.size = sizeof(join);
	join.timeout_ms = cl->join_timeout * 1000;
	log_info("node %u of %u %s %s: waiting up to %u s for the other nodes",
		 vm->self, cl->nr_nodes, rdma ? "at" : "on", where,
		 cl->join_timeout);
	/* The wait may be long: let INT, TERM and HUP end it (and us). */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_UNBLOCK, &set, &old);
	r = ioctl(vm->bigiron_fd, BIGIRON_VM_JOIN, &join);
	e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		if (e == ETIMEDOUT) {
			cluster_format_missing(cfg, join.up_mask |
					       (1ULL << vm->self), msg,
					       sizeof(msg));
			log_error("%s", msg);
		} else {
			log_error("%s: BIGIRON_VM_JOIN: %s", BIGIRON_DEVICE,
				  strerror(e));
		}
		return -1;
	}
	log_info("all %u nodes are up", cl->nr_nodes);
	return 0;
}

int guestmem_map(struct vm *vm)
{
	uint64_t size = vm->mem_size;
	void *p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->mem_fd, 0);
	if (p == MAP_FAILED) {
		log_error("mmap of guest memory (%llu bytes): %s",
			  (unsigned long long)size, strerror(errno));
		return -1;
	}
	vm->mem = p;
	log_debug("guest RAM: %llu bytes, bigiron vm%u",
		  (unsigned long long)size, vm->bigiron_vm_id);
	return 0;
}

/* A counter of /sys/kernel/bigiron/vm<id>/; 0 when it cannot be read. */
static unsigned long long vm_counter(const struct vm *vm, const char *name)
{
	unsigned long long v = 0;
	char path[96];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/bigiron/vm%u/%s",
		 vm->bigiron_vm_id, name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

void guestmem_print_stats(struct vm *vm)
{
	struct bigiron_vm_stats st;

	if (vm->bigiron_fd < 0)
		return;
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	if (ioctl(vm->bigiron_fd, BIGIRON_VM_GET_STATS, &st) < 0) {
		log_error("%s: BIGIRON_VM_GET_STATS: %s", BIGIRON_DEVICE,
			  strerror(errno));
		return;
	}
	if (!vm->cfg->cluster.nr_nodes) {
		log_info("stats read_faults=%llu write_upgrades=%llu resident_pages=%llu",
			 (unsigned long long)st.read_faults,
			 (unsigned long long)st.write_upgrades,
			 (unsigned long long)st.resident_pages);
		return;
	}
	log_info("stats read_faults=%llu write_upgrades=%llu resident_pages=%llu remote_read_faults=%llu remote_write_faults=%llu pages_sent=%llu pages_recv=%llu ipis_sent=%llu ipis_recv=%llu prefetches=%llu prefetch_hits=%llu fault_errors=%llu",
		 (unsigned long long)st.read_faults,
		 (unsigned long long)st.write_upgrades,
		 (unsigned long long)st.resident_pages,
		 vm_counter(vm, "remote_read_faults"),
		 vm_counter(vm, "remote_write_faults"),
		 vm_counter(vm, "pages_sent"), vm_counter(vm, "pages_recv"),
		 vm_counter(vm, "ipis_sent"), vm_counter(vm, "ipis_recv"),
		 vm_counter(vm, "prefetches"), vm_counter(vm, "prefetch_hits"),
		 vm_counter(vm, "fault_errors"));
}

void guestmem_close(struct vm *vm)
{
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	vm->mem = NULL;
	if (vm->mem_fd >= 0)
		close(vm->mem_fd);
	if (vm->bigiron_fd >= 0)
		close(vm->bigiron_fd);
	vm->mem_fd = vm->bigiron_fd = -1;
}
