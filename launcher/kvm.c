// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: /dev/kvm, the VM and its interrupt plumbing.
 *
 * Interrupt model (split irqchip): the local APICs are KVM's, the IOAPIC
 * is ours (ioapic.c) and there is no PIC and no PIT at all; the guest is
 * told so by ACPI (hardware-reduced mode). The IOAPIC delivers with
 * KVM_SIGNAL_MSI. The same model works when vCPUs live on several hosts:
 * one launcher owns the IOAPIC and an MSI names its target by APIC id.
 */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "layout.h"
#include "log.h"
#include "vm.h"

#define KVM_DEVICE		"/dev/kvm"
#define KVM_API_VERSION_WANTED	12
#define CPUID_MAX_ENTRIES	256

struct kvm_cap_need {
	int cap;
	const char *name;
	const char *why;
};

static const struct kvm_cap_need kvm_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "VM setup" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR",
	  "VM setup" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "CPUID" },
	{ KVM_CAP_SPLIT_IRQCHIP, "KVM_CAP_SPLIT_IRQCHIP",
	  "in-kernel local APICs with a userspace IOAPIC" },
	{ KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI", "IOAPIC delivery" },
	{ KVM_CAP_TSC_DEADLINE_TIMER, "KVM_CAP_TSC_DEADLINE_TIMER",
	  "the guest's local APIC timer" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "stopping vCPUs" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE",
	  "secondary vCPUs waiting for INIT/SIPI" },
};

int kvm_open(struct vm *vm)
{
	unsigned int i;
	int ver;

	vm->kvm_fd = open(KVM_DEVICE, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int e = errno;

		switch (e) {
		case ENOENT:
			log_error("%s not found: load kvm and kvm_intel or kvm_amd (modprobe kvm_amd)",
				  KVM_DEVICE);
			break;
		case EACCES:
		case EPERM:
			log_error("%s: permission denied: run as root or join the group that owns it (usually kvm)",
				  KVM_DEVICE);
			break;
		case ENXIO:
		case ENODEV:
			log_error("%s: no virtualization support: enable VT-x/AMD-V (SVM) in the firmware, or nested virtualization in the host hypervisor",
				  KVM_DEVICE);
			break;
		default:
			log_error("%s: %s", KVM_DEVICE, strerror(e));
			break;
		}
		return -1;
	}

	ver = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION_WANTED) {
		log_error("%s: KVM API version %d, need %d", KVM_DEVICE, ver,
			  KVM_API_VERSION_WANTED);
		return -1;
	}
	for (i = 0; i < sizeof(kvm_caps) / sizeof(kvm_caps[0]); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, kvm_caps[i].cap) <= 0) {
			log_error("%s: KVM lacks %s (needed for %s)",
				  KVM_DEVICE, kvm_caps[i].name, kvm_caps[i].why);
			return -1;
		}
	}
	/* Optional: without it level-triggered pins get no EOI exits. */
	vm->have_gsi_routing =
		ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING) > 0;

	vm->run_size = (size_t)ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((long)vm->run_size < (long)sizeof(struct kvm_run)) {
		log_error("%s: KVM_GET_VCPU_MMAP_SIZE: %s", KVM_DEVICE,
			  strerror(errno));
		return -1;
	}

	vm->cpuid = calloc(1, sizeof(*vm->cpuid) +
			   CPUID_MAX_ENTRIES * sizeof(vm->cpuid->entries[0]));
	if (!vm->cpuid) {
		log_error("out of memory");
		return -1;
	}
	vm->cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0) {
		log_error("%s: KVM_GET_SUPPORTED_CPUID: %s", KVM_DEVICE,
			  strerror(errno));
		return -1;
	}
	return 0;
}

int kvm_create_vm(struct vm *vm)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_SPLIT_IRQCHIP,
		.args = { IOAPIC_PINS },
	};
	uint64_t ident = LAYOUT_KVM_IDENTITY;

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		log_error("KVM_CREATE_VM: %s", strerror(errno));
		return -1;
	}
	/* Only used on Intel without unrestricted guest; harmless elsewhere. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_KVM_TSS) < 0) {
		log_error("KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0) {
		log_error("KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
		return -1;
	}
	/* Before any vCPU exists: KVM refuses it afterwards. */
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
		log_error("KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP, %d pins): %s",
			  IOAPIC_PINS, strerror(errno));
		return -1;
	}
	return 0;
}

int kvm_set_memory(struct vm *vm)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.flags = 0,
		.guest_phys_addr = 0,
		.memory_size = vm->mem_size,
		.userspace_addr = (uint64_t)(uintptr_t)vm->mem,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		log_error("KVM_SET_USER_MEMORY_REGION (%llu bytes at 0): %s",
			  (unsigned long long)vm->mem_size, strerror(errno));
		return -1;
	}
	return 0;
}

int kvm_signal_msi(struct vm *vm, uint64_t address, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)address,
		.address_hi = (uint32_t)(address >> 32),
		.data = data,
	};

	static atomic_bool reported;
	int r;

	r = ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi);
	if (r < 0 && !atomic_exchange(&reported, true))
		log_error("KVM_SIGNAL_MSI(0x%llx, 0x%x): %s: the guest loses interrupts",
			  (unsigned long long)address, data, strerror(errno));
	else if (r < 0)
		log_ratelimited("KVM_SIGNAL_MSI(0x%llx, 0x%x): %s",
				(unsigned long long)address, data,
				strerror(errno));
	return r;
}

/*
 * Publish the IOAPIC pins' routes (ioapic.c: each pin's entry as last
 * unmasked; masked: it has none) as MSI routes, GSI n = pin n. They are not used
 * to inject (KVM_SIGNAL_MSI does that) but tell KVM which vectors are
 * level-triggered IOAPIC vectors on which vCPUs, so that their EOIs come
 * back as KVM_EXIT_IOAPIC_EOI (kvm_scan_ioapic_routes()). Called rarely,
 * only when the guest rewrites an entry: on the I/O node with the IOAPIC
 * lock held, elsewhere by the ssi thread (SSI_ROUTES).
 * KVM_SET_GSI_ROUTING has every vCPU rescan the routes before it next
 * enters the guest (KVM_REQ_SCAN_IOAPIC, which waits for vCPUs in guest
 * mode to exit), so an interrupt delivered after it returns has its EOI
 * reported. Returns 0, or -1 when KVM does not have the routes.
 */
int kvm_set_ioapic_routes(struct vm *vm, const uint64_t *redir)
{
	uint64_t buf[(sizeof(struct kvm_irq_routing) + IOAPIC_PINS *
		      sizeof(struct kvm_irq_routing_entry)) / sizeof(uint64_t) + 1];
	struct kvm_irq_routing *routes = (struct kvm_irq_routing *)buf;
	struct ioapic_msi msi;
	unsigned int pin, n = 0;

	if (!vm->have_gsi_routing)
		return -1;
	memset(buf, 0, sizeof(buf));
	for (pin = 0; pin < IOAPIC_PINS; pin++) {
		struct kvm_irq_routing_entry *e = &routes->entries[n];

		if (redir[pin] & IOAPIC_RTE_MASKED)
			continue;
		ioapic_rte_to_msi(redir[pin], &msi);
		e->gsi = pin;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)msi.address;
		e->u.msi.address_hi = (uint32_t)(msi.address >> 32);
		e->u.msi.data = msi.data;
		n++;
	}
	routes->nr = n;
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, routes) < 0) {
		static bool reported;	/* one caller thread per node */

		if (!reported)
			log_error("KVM_SET_GSI_ROUTING: %s: level-triggered interrupts will miss their EOIs",
				  strerror(errno));
		reported = true;
		return -1;
	}
	return 0;
}

void kvm_close(struct vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
	free(vm->cpuid);
	vm->cpuid = NULL;
}
