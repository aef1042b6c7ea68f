// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: guest RAM from /dev/bigiron.
 *
 * bigiron.ko provides guest RAM as a file; mapping it MAP_SHARED and
 * handing the mapping to KVM lets the module see every guest access to a
 * page this host does not hold. The mapping is never populated here
 * (no MAP_POPULATE): pages come in on first touch, through the module.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/bigiron.h>

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
	void *p;

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

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->mem_fd, 0);
	if (p == MAP_FAILED) {
		log_error("mmap of guest memory (%llu bytes): %s",
			  (unsigned long long)size, strerror(errno));
		return -1;
	}
	vm->mem = p;
	vm->mem_size = size;
	log_debug("guest RAM: %llu bytes, bigiron vm%u",
		  (unsigned long long)size, vm->bigiron_vm_id);
	return 0;
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
	log_info("stats read_faults=%llu write_upgrades=%llu resident_pages=%llu",
		 (unsigned long long)st.read_faults,
		 (unsigned long long)st.write_upgrades,
		 (unsigned long long)st.resident_pages);
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
