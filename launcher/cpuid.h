/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: per-vCPU CPUID, derived from KVM_GET_SUPPORTED_CPUID.
 *
 * Pure logic over an array of struct kvm_cpuid_entry2.
 */
#ifndef BIGIRON_CPUID_H
#define BIGIRON_CPUID_H

#include <linux/kvm.h>

/* KVM paravirtual feature bits (asm/kvm_para.h) */
#define KVM_CPUID_SIGNATURE_LEAF	0x40000000
#define KVM_CPUID_FEATURES_LEAF		0x40000001
#define KVMF_CLOCKSOURCE		(1U << 0)
#define KVMF_NOP_IO_DELAY		(1U << 1)
#define KVMF_CLOCKSOURCE2		(1U << 3)
#define KVMF_ASYNC_PF			(1U << 4)
#define KVMF_STEAL_TIME			(1U << 5)
#define KVMF_PV_EOI			(1U << 6)
#define KVMF_PV_UNHALT			(1U << 7)
#define KVMF_PV_TLB_FLUSH		(1U << 9)
#define KVMF_ASYNC_PF_VMEXIT		(1U << 10)
#define KVMF_PV_SEND_IPI		(1U << 11)
#define KVMF_POLL_CONTROL		(1U << 12)
#define KVMF_PV_SCHED_YIELD		(1U << 13)
#define KVMF_ASYNC_PF_INT		(1U << 14)
#define KVMF_MSI_EXT_DEST_ID		(1U << 15)
#define KVMF_CLOCKSOURCE_STABLE_BIT	(1U << 24)

/* Features bigiron hides from the guest; see cpuid.c for why. */
#define CPUID_KVM_HIDDEN (KVMF_ASYNC_PF | KVMF_ASYNC_PF_INT | \
			  KVMF_ASYNC_PF_VMEXIT | KVMF_PV_SEND_IPI | \
			  KVMF_PV_TLB_FLUSH | KVMF_PV_UNHALT | \
			  KVMF_PV_SCHED_YIELD | KVMF_POLL_CONTROL | \
			  KVMF_MSI_EXT_DEST_ID)

/* kvmclock, which each host's KVM computes from its own host clock. */
#define KVMF_CLOCKSOURCE		(1U << 0)
#define KVMF_CLOCKSOURCE2		(1U << 3)
#define CPUID_KVM_CLOCK (KVMF_CLOCKSOURCE | KVMF_CLOCKSOURCE2 | \
			 KVMF_CLOCKSOURCE_STABLE_BIT)
#define CPUID_80000007_EDX_INVTSC	(1U << 8)

#define CPUID_1_ECX_X2APIC		(1U << 21)
#define CPUID_1_ECX_TSC_DEADLINE	(1U << 24)
#define CPUID_1_ECX_HYPERVISOR		(1U << 31)
#define CPUID_1_EDX_HTT			(1U << 28)

/* Entries cpuid_patch() may add; size the array for them. */
#define CPUID_EXTRA_ENTRIES		2

/*
 * Rewrite @e (@*n entries, room for @max) for the vCPU with @apic_id in
 * packages of @cores cores, one thread each: the package is @apic_id's
 * bits above order_base2(@cores). Returns 0,
 * or -1 if an entry must be added and there is no room.
 */
int cpuid_patch(struct kvm_cpuid_entry2 *e, unsigned int *n, unsigned int max,
		unsigned int apic_id, unsigned int cores);

/*
 * A VM over several hosts: the guest's clock is the TSC, which the hosts
 * keep aligned, rather than kvmclock, whose per-vCPU time info every
 * host's KVM would keep rewriting in one shared guest page. Hides
 * kvmclock and says the TSC is invariant.
 */
void cpuid_use_tsc_clock(struct kvm_cpuid_entry2 *e, unsigned int n);

/* The entry for @function/@index, or NULL. */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid_entry2 *e, unsigned int n,
				    unsigned int function, unsigned int index);

#endif
