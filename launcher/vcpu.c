// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: vCPUs, one thread each, and the exit dispatch.
 *
 * vCPU 0 starts at the kernel's 64-bit entry point. The others are left in
 * KVM_MP_STATE_UNINITIALIZED, which is where KVM puts every vCPU but the
 * boot one when the local APIC is in the kernel: their KVM_RUN sleeps
 * until the guest's INIT/SIPI sequence wakes them in real mode.
 *
 * Stopping: vm_request_stop() sets kvm_run.immediate_exit on every vCPU and
 * sends VM_SIG_KICK to its thread. A thread inside KVM_RUN returns with
 * EINTR; one about to enter returns at once because of immediate_exit.
 *
 * Locking: none here; devices reached through the I/O buses lock their
 * own state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot.h"
#include "cluster.h"
#include "cpuid.h"
#include "log.h"
#include "vm.h"

#define CR0_PE		(1ULL << 0)
#define CR0_ET		(1ULL << 4)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)
#define RFLAGS_RESERVED	(1ULL << 1)

static int vcpu_set_cpuid(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	unsigned int n = vm->cpuid->nent;
	unsigned int max = n + CPUID_EXTRA_ENTRIES;
	struct kvm_cpuid2 *c;
	int ret = -1;

	c = calloc(1, sizeof(*c) + max * sizeof(c->entries[0]));
	if (!c) {
		log_error("out of memory");
		return -1;
	}
	memcpy(c->entries, vm->cpuid->entries, n * sizeof(c->entries[0]));
	/* a VM on several hosts: a package per vCPU (cpuid.c) */
	if (cpuid_patch(c->entries, &n, max, vcpu->id,
			vm->ssi.active ? 1 : vm->nvcpus)) {
		log_error("vCPU %u: no room for the KVM CPUID leaves", vcpu->id);
		goto out;
	}
	if (vm->ssi.active)
		cpuid_use_tsc_clock(c->entries, n);
	c->nent = n;
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0) {
		log_error("vCPU %u: KVM_SET_CPUID2: %s", vcpu->id,
			  strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(c);
	return ret;
}

int vcpu_create(struct vm *vm, unsigned int id)
{
	struct vcpu *vcpu = &vm->vcpus[id];
	void *run;

	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		log_error("vCPU %u: KVM_CREATE_VCPU: %s", id, strerror(errno));
		return -1;
	}
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu->fd, 0);
	if (run == MAP_FAILED) {
		log_error("vCPU %u: mmap of kvm_run: %s", id, strerror(errno));
		return -1;
	}
	vcpu->run = run;
	return vcpu_set_cpuid(vcpu);
}

#define MSR_IA32_TSC	0x10

struct one_msr {
	struct kvm_msrs h;
	struct kvm_msr_entry e;
};

int vcpu_get_tsc(struct vcpu *vcpu, uint64_t *tsc)
{
	struct one_msr m;

	memset(&m, 0, sizeof(m));
	m.h.nmsrs = 1;
	m.e.index = MSR_IA32_TSC;
	if (ioctl(vcpu->fd, KVM_GET_MSRS, &m) != 1) {
		log_error("vCPU %u: KVM_GET_MSRS (TSC): %s", vcpu->id,
			  strerror(errno));
		return -1;
	}
	*tsc = m.e.data;
	return 0;
}

/*
 * Through the vCPU's TSC offset attribute (Linux 5.16), not MSR_IA32_TSC:
 * KVM takes a host write of the TSC that lands within one second of what
 * it expects for an attempt to synchronize the VM's vCPUs and keeps the
 * old offset (kvm_synchronize_tsc()), so a move of less than a second
 * was silently dropped.
 */
int vcpu_adjust_tsc(struct vcpu *vcpu, int64_t delta)
{
	uint64_t off;
	struct kvm_device_attr a = {
		.group = KVM_VCPU_TSC_CTRL,
		.attr = KVM_VCPU_TSC_OFFSET,
		.addr = (uintptr_t)&off,
	};

	if (ioctl(vcpu->fd, KVM_HAS_DEVICE_ATTR, &a)) {
		log_error("vCPU %u: KVM has no TSC offset attribute (needs Linux 5.16 or later): %s",
			  vcpu->id, strerror(errno));
		return -1;
	}
	if (ioctl(vcpu->fd, KVM_GET_DEVICE_ATTR, &a)) {
		log_error("vCPU %u: KVM_GET_DEVICE_ATTR (TSC offset): %s",
			  vcpu->id, strerror(errno));
		return -1;
	}
	off += (uint64_t)delta;
	if (ioctl(vcpu->fd, KVM_SET_DEVICE_ATTR, &a)) {
		log_error("vCPU %u: KVM_SET_DEVICE_ATTR (TSC offset): %s",
			  vcpu->id, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * KVM (6.1) rebuilds its map from APIC ids to vCPUs when a vCPU is reset,
 * but a new vCPU is reset before it joins the VM's list, so the map keeps
 * missing the newest vCPU until some APIC register changes. On one host
 * the boot vCPU's own APIC setup does that; on a host whose vCPUs wait for
 * INIT from another host nothing would, and KVM would drop the INIT. Writing
 * a vCPU's unchanged local APIC state back rebuilds the map with every vCPU.
 */
int vcpu_refresh_apic_map(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0 ||
	    ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0) {
		log_error("vCPU %u: KVM_GET_LAPIC/KVM_SET_LAPIC: %s", vcpu->id,
			  strerror(errno));
		return -1;
	}
	return 0;
}

static void set_segment(struct kvm_segment *s, uint16_t sel, uint8_t type,
			bool code64)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xFFFFFFFF;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->s = 1;
	s->l = code64;
	s->db = !code64;
	s->g = 1;
}

/* 64-bit entry state of Documentation/x86/boot.rst for vCPU 0. */
int vcpu_setup_boot(struct vcpu *vcpu, const struct boot_info *info)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0) {
		log_error("vCPU %u: KVM_GET_SREGS: %s", vcpu->id,
			  strerror(errno));
		return -1;
	}
	set_segment(&sregs.cs, BOOT_SEL_CODE64, 0xB, true);
	set_segment(&sregs.ds, BOOT_SEL_DATA, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.selector = BOOT_SEL_TSS;
	sregs.tr.limit = 0x67;
	sregs.tr.type = 0xB;			/* busy 64-bit TSS */
	sregs.tr.present = 1;
	sregs.gdt.base = info->gdt_base;
	sregs.gdt.limit = info->gdt_limit;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
	sregs.cr3 = info->cr3;
	sregs.cr4 = CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0) {
		log_error("vCPU %u: KVM_SET_SREGS: %s", vcpu->id,
			  strerror(errno));
		return -1;
	}

	memset(&regs, 0, sizeof(regs));
	regs.rflags = RFLAGS_RESERVED;		/* interrupts off */
	regs.rip = info->entry;
	regs.rsi = info->boot_params;
	regs.rsp = info->boot_params;		/* below boot_params */
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0) {
		log_error("vCPU %u: KVM_SET_REGS: %s", vcpu->id,
			  strerror(errno));
		return -1;
	}

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37F;			/* power-on x87 state */
	fpu.mxcsr = 0x1F80;
	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0) {
		log_error("vCPU %u: KVM_SET_FPU: %s", vcpu->id,
			  strerror(errno));
		return -1;
	}
	return 0;
}

static void dump_segment(const char *name, const struct kvm_segment *s)
{
	log_info("  %-3s sel=0x%04x base=0x%016llx limit=0x%08x type=%u p=%u dpl=%u db=%u s=%u l=%u g=%u",
		 name, s->selector, (unsigned long long)s->base, s->limit,
		 s->type, s->present, s->dpl, s->db, s->s, s->l, s->g);
}

static void vcpu_dump(struct vcpu *vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs r;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0) {
		log_error("vCPU %u: cannot read registers: %s", vcpu->id,
			  strerror(errno));
		return;
	}
	log_info("vCPU %u registers:", vcpu->id);
	log_info("  rip=0x%016llx rsp=0x%016llx rflags=0x%08llx",
		 (unsigned long long)r.rip, (unsigned long long)r.rsp,
		 (unsigned long long)r.rflags);
	log_info("  rax=0x%016llx rbx=0x%016llx rcx=0x%016llx rdx=0x%016llx",
		 (unsigned long long)r.rax, (unsigned long long)r.rbx,
		 (unsigned long long)r.rcx, (unsigned long long)r.rdx);
	log_info("  rsi=0x%016llx rdi=0x%016llx rbp=0x%016llx",
		 (unsigned long long)r.rsi, (unsigned long long)r.rdi,
		 (unsigned long long)r.rbp);
	log_info("  cr0=0x%llx cr2=0x%llx cr3=0x%llx cr4=0x%llx efer=0x%llx",
		 (unsigned long long)sregs.cr0, (unsigned long long)sregs.cr2,
		 (unsigned long long)sregs.cr3, (unsigned long long)sregs.cr4,
		 (unsigned long long)sregs.efer);
	dump_segment("cs", &sregs.cs);
	dump_segment("ss", &sregs.ss);
	dump_segment("tr", &sregs.tr);
	log_info("  gdt base=0x%llx limit=0x%x idt base=0x%llx limit=0x%x",
		 (unsigned long long)sregs.gdt.base, sregs.gdt.limit,
		 (unsigned long long)sregs.idt.base, sregs.idt.limit);
}

/* On a host of a cluster that is not the I/O node, accesses go there. */
static bool vcpu_remote_io(const struct vcpu *vcpu)
{
	return vcpu->vm->ssi.active &&
	       !cluster_is_io_node(vcpu->vm->cfg, vcpu->vm->self);
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	bool remote = vcpu_remote_io(vcpu);
	uint32_t i;

	for (i = 0; i < run->io.count; i++, data += run->io.size) {
		if (remote)
			ssi_forward_io(vcpu, false, run->io.port, data,
				       run->io.size, is_write);
		else
			io_dispatch(&vcpu->vm->pio, run->io.port, data,
				    run->io.size, is_write);
	}
}

static void vcpu_handle_system_event(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(vm, VM_STOP_POWEROFF,
				"guest powered off (system event, vCPU %u)",
				vcpu->id);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(vm, VM_STOP_RESET,
				"guest requested a reset (system event, vCPU %u)",
				vcpu->id);
		break;
	default:
		vm_request_stop(vm, VM_STOP_ERROR,
				"vCPU %u: system event %u (guest crash?)",
				vcpu->id, vcpu->run->system_event.type);
		break;
	}
}

/* Returns false when the vCPU must stop. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		if (vcpu_remote_io(vcpu))
			ssi_forward_io(vcpu, true, run->mmio.phys_addr,
				       run->mmio.data, run->mmio.len,
				       run->mmio.is_write);
		else
			io_dispatch(&vm->mmio, run->mmio.phys_addr,
				    run->mmio.data, run->mmio.len,
				    run->mmio.is_write);
		return true;
	case KVM_EXIT_IOAPIC_EOI:
		if (vcpu_remote_io(vcpu))
			ssi_forward_eoi(vm, run->eoi.vector);
		else
			ioapic_eoi(&vm->ioapic, run->eoi.vector);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:
		/* The in-kernel local APIC handles HLT; this means a bug. */
		vm_request_stop(vm, VM_STOP_ERROR,
				"vCPU %u: unexpected HLT exit", vcpu->id);
		vcpu_dump(vcpu);
		return false;
	case KVM_EXIT_SHUTDOWN:
		vm_request_stop(vm, VM_STOP_RESET,
				"vCPU %u: triple fault (KVM_EXIT_SHUTDOWN), treated as a reset",
				vcpu->id);
		if (log_verbose)
			vcpu_dump(vcpu);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		vcpu_handle_system_event(vcpu);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vm_request_stop(vm, VM_STOP_ERROR,
				"vCPU %u: KVM_EXIT_FAIL_ENTRY, hardware reason 0x%llx",
				vcpu->id,
				(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vcpu_dump(vcpu);
		return false;
	case KVM_EXIT_INTERNAL_ERROR: {
		char extra[160] = "";
		uint32_t i, n = run->internal.ndata;
		size_t off = 0;

		if (n > 8)
			n = 8;
		for (i = 0; i < n && off < sizeof(extra); i++)
			off += (size_t)snprintf(extra + off, sizeof(extra) - off,
						" 0x%llx",
						(unsigned long long)run->internal.data[i]);
		vm_request_stop(vm, VM_STOP_ERROR,
				"vCPU %u: KVM_EXIT_INTERNAL_ERROR, suberror %u%s%s",
				vcpu->id, run->internal.suberror,
				n ? ", data" : "", extra);
		vcpu_dump(vcpu);
		return false;
	}
	default:
		vm_request_stop(vm, VM_STOP_ERROR,
				"vCPU %u: unexpected exit reason %u",
				vcpu->id, run->exit_reason);
		vcpu_dump(vcpu);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	sigset_t kick;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&kick);
	sigaddset(&kick, VM_SIG_KICK);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);

	vm_wait_start(vm);
	while (!vm_stopping(vm)) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			int e = errno;

			/*
			 * EINTR: kicked. EAGAIN: a waiting secondary vCPU
			 * received its INIT/SIPI and must be run again.
			 */
			if (e == EINTR || e == EAGAIN)
				continue;
			vm_request_stop(vm, VM_STOP_ERROR, "vCPU %u: KVM_RUN: %s",
					vcpu->id, strerror(e));
			if (e == EFAULT)
				vcpu_dump(vcpu);
			break;
		}
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int e;

	e = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (e) {
		log_error("vCPU %u: pthread_create: %s", vcpu->id, strerror(e));
		return -1;
	}
	vcpu->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (vcpu->run)
		__atomic_store_n(&vcpu->run->immediate_exit, 1,
				 __ATOMIC_SEQ_CST);
	if (vcpu->thread_started)
		pthread_kill(vcpu->thread, VM_SIG_KICK);
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->run_size);
	vcpu->run = NULL;
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->fd = -1;
}
