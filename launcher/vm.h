/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: the virtual machine and its lifetime.
 *
 * Lifetime: vm_setup() opens the devices, creates the VM and its memory,
 * loads the guest and creates every vCPU and thread; vm_run() releases the
 * vCPU threads and waits until one of them, or a signal, stops the VM;
 * vm_teardown() joins, prints the statistics and closes everything in
 * reverse order. Nothing is mapped or unmapped while vCPUs run.
 */
#ifndef BIGIRON_VM_H
#define BIGIRON_VM_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "config.h"
#include "io.h"
#include "ioapic.h"
#include "serial.h"
#include "ssi.h"

/* Why the VM stopped; the first reason set wins. */
enum vm_stop {
	VM_RUNNING = 0,
	VM_STOP_POWEROFF,	/* exit status 0 */
	VM_STOP_RESET,		/* exit status 2 */
	VM_STOP_ERROR,		/* exit status 1 */
	VM_STOP_SIGNAL,		/* exit status 1 */
};

#define VM_SIG_KICK	SIGUSR1	/* interrupts KVM_RUN in a vCPU thread */
#define VM_SIG_STOPPED	SIGUSR2	/* wakes the main thread */

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
};

struct vm {
	const struct config *cfg;
	int kvm_fd;
	int vm_fd;
	int bigiron_fd;
	int mem_fd;
	uint32_t bigiron_vm_id;
	uint32_t bigiron_abi;		/* BIGIRON_GET_VERSION */
	unsigned int self;		/* node id in a cluster, else 0 */
	uint8_t *mem;			/* guest RAM, guest physical 0 */
	uint64_t mem_size;
	size_t run_size;		/* KVM_GET_VCPU_MMAP_SIZE */
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID */
	bool have_gsi_routing;
	unsigned int nvcpus;		/* of the whole VM, on every host */
	uint64_t vcpus_here;		/* the ones this host runs */
	struct vcpu vcpus[CONFIG_VCPUS_MAX];	/* by id; fd -1 elsewhere */
	pthread_t main_thread;
	struct io_bus pio;
	struct io_bus mmio;
	struct ioapic ioapic;
	struct serial8250 com1;
	bool devices_ready;
	struct vm_virtio *virtio;	/* virtio.c; NULL when none */
	atomic_int stop;		/* enum vm_stop */
	char stop_msg[256];		/* written by the first stopper */
	atomic_bool ssi_quit;		/* the ssi thread ends */
	atomic_bool ssi_started;	/* every node was ready */
	struct vm_ssi ssi;		/* several hosts: ssi.c */
};

/*
 * --check: the kernel and initrd the config names are usable (on the node
 * that loads them: node @self of a cluster, or this host alone).
 */
int vm_check(const struct config *cfg, unsigned int self);
/* @self: this host's node id in a cluster; 0 without one. */
int vm_setup(struct vm *vm, const struct config *cfg, unsigned int self);
/* Returns the exit status: 0 poweroff, 2 reset, 1 error or signal. */
int vm_run(struct vm *vm);
void vm_teardown(struct vm *vm);

/*
 * Stop the VM for @reason (first caller wins; later calls are ignored):
 * every vCPU leaves KVM_RUN and the main thread wakes up. Safe from any
 * thread.
 */
void vm_request_stop(struct vm *vm, enum vm_stop reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same, for a stop that another node decided: not sent back. */
void vm_request_stop_remote(struct vm *vm, enum vm_stop reason,
			    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool vm_stopping(const struct vm *vm);
/* vCPU threads wait here until vm_run() lets them go. */
void vm_wait_start(struct vm *vm);

/* kvm.c */
int kvm_open(struct vm *vm);
int kvm_create_vm(struct vm *vm);
int kvm_set_memory(struct vm *vm);
int kvm_signal_msi(struct vm *vm, uint64_t address, uint32_t data);
/* 0, or -1 when KVM does not have them (reported once). */
int kvm_set_ioapic_routes(struct vm *vm, const uint64_t *redir);
void kvm_close(struct vm *vm);

/* guestmem.c: /dev/bigiron */
int guestmem_open(struct vm *vm);
/* BIGIRON_VM_CREATE only: nothing is mapped yet. */
int guestmem_create(struct vm *vm, uint64_t size);
/* Cluster: BIGIRON_VM_SET_CLUSTER then BIGIRON_VM_JOIN, before mapping. */
int guestmem_join(struct vm *vm);
/* Map guest RAM (vm->mem); pages come in on first touch. */
int guestmem_map(struct vm *vm);
void guestmem_print_stats(struct vm *vm);
void guestmem_close(struct vm *vm);

/* vcpu.c */
struct boot_info;
int vcpu_create(struct vm *vm, unsigned int id);
int vcpu_setup_boot(struct vcpu *vcpu, const struct boot_info *info);
/* The guest's TSC (MSR 0x10) as the host sets it; 0 or -1 (reported). */
int vcpu_get_tsc(struct vcpu *vcpu, uint64_t *tsc);
/* Move the vCPU's TSC by delta cycles. */
int vcpu_adjust_tsc(struct vcpu *vcpu, int64_t delta);
/* After the last vCPU of this host is created (see vcpu.c). */
int vcpu_refresh_apic_map(struct vcpu *vcpu);
int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);

/* power.c */
int power_init(struct vm *vm);

/* console.c */
void console_tx(void *opaque, uint8_t c);
int console_start(struct serial8250 *s);
void console_stop(void);

#endif
