// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: per-vCPU CPUID.
 *
 * Starting point is what KVM can virtualise (KVM_GET_SUPPORTED_CPUID).
 * Changes, the same on Intel and AMD hosts:
 *
 * - APIC ids: KVM gives vCPU n the local APIC id n; every leaf that reports
 *   an APIC id (1, 0xB, 0x1F, 0x8000001E) says n too, and the topology
 *   leaves describe packages of cores with one thread each: one package
 *   of every vCPU on one host; on several hosts one package per vCPU, so
 *   that no core or cache the guest thinks shared spans hosts (Linux warns
 *   when an LLC sibling is on another NUMA node, and its scheduler would
 *   treat the two as sharing a cache).
 * - Hypervisor bit and the KVM signature leaves, so Linux uses kvmclock.
 * - TSC deadline timer: KVM emulates it but does not list it as supported.
 *   With no PIT in a hardware-reduced guest, Linux could not calibrate the
 *   local APIC timer; in TSC-deadline mode it needs no calibration.
 * - Hidden KVM paravirtual features. bigiron must see every cross-CPU
 *   interaction and every guest page fault:
 *     ASYNC_PF, ASYNC_PF_INT, ASYNC_PF_VMEXIT: the host would tell the
 *       guest to reschedule instead of blocking on a page that is fetched
 *       from another host, and KVM would retry faults asynchronously (as
 *       writes), bypassing the read/write ownership protocol;
 *     PV_SEND_IPI, PV_TLB_FLUSH, PV_UNHALT, PV_SCHED_YIELD: IPIs, remote
 *       TLB flushes and wake-ups by hypercall, which only reach vCPUs on
 *       this host;
 *     POLL_CONTROL: host-side halt polling policy set by the guest;
 *     MSI_EXT_DEST_ID: APIC ids above 255 in MSIs; not needed up to 64
 *       vCPUs and the userspace IOAPIC decodes 8-bit destinations only.
 *   Kept: CLOCKSOURCE, CLOCKSOURCE2, CLOCKSOURCE_STABLE_BIT (kvmclock),
 *   NOP_IO_DELAY, STEAL_TIME, PV_EOI.
 */
#include <string.h>

#include "cpuid.h"

void cpuid_use_tsc_clock(struct kvm_cpuid_entry2 *e, unsigned int n)
{
	struct kvm_cpuid_entry2 *c;

	c = cpuid_find(e, n, KVM_CPUID_FEATURES_LEAF, 0);
	if (c)
		c->eax &= ~CPUID_KVM_CLOCK;
	c = cpuid_find(e, n, 0x80000007, 0);
	if (c)
		c->edx |= CPUID_80000007_EDX_INVTSC;
}

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid_entry2 *e, unsigned int n,
				    unsigned int function, unsigned int index)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (e[i].function != function)
			continue;
		if ((e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) &&
		    e[i].index != index)
			continue;
		return &e[i];
	}
	return NULL;
}

static unsigned int order_base2(unsigned int v)
{
	unsigned int bits = 0;

	while ((1U << bits) < v)
		bits++;
	return bits;
}

static struct kvm_cpuid_entry2 *cpuid_get(struct kvm_cpuid_entry2 *e,
					  unsigned int *n, unsigned int max,
					  unsigned int function)
{
	struct kvm_cpuid_entry2 *c = cpuid_find(e, *n, function, 0);

	if (c || *n >= max)
		return c;
	c = &e[(*n)++];
	memset(c, 0, sizeof(*c));
	c->function = function;
	return c;
}

/* Leaves 0xB and 0x1F: SMT level (1 thread), core level (@cores). */
static void patch_extended_topology(struct kvm_cpuid_entry2 *e,
				    unsigned int n, unsigned int leaf,
				    unsigned int apic_id, unsigned int cores)
{
	unsigned int core_bits = order_base2(cores);
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *c = &e[i];

		if (c->function != leaf)
			continue;
		switch (c->index) {
		case 0:				/* SMT */
			c->eax = 0;
			c->ebx = 1;
			c->ecx = 0 | 1 << 8;
			break;
		case 1:				/* core */
			c->eax = core_bits;
			c->ebx = cores;
			c->ecx = 1 | 2 << 8;
			break;
		default:			/* no more levels */
			c->eax = 0;
			c->ebx = 0;
			c->ecx = c->index;
			break;
		}
		c->edx = apic_id;
	}
}

int cpuid_patch(struct kvm_cpuid_entry2 *e, unsigned int *n, unsigned int max,
		unsigned int apic_id, unsigned int cores)
{
	unsigned int core_bits = order_base2(cores);
	struct kvm_cpuid_entry2 *c;
	unsigned int i;

	c = cpuid_find(e, *n, 1, 0);
	if (c) {
		c->ebx &= 0x0000FFFF;
		c->ebx |= apic_id << 24;
		c->ebx |= (1U << core_bits) << 16;	/* logical CPUs */
		if (cores > 1)
			c->edx |= CPUID_1_EDX_HTT;
		else
			c->edx &= ~CPUID_1_EDX_HTT;
		c->ecx |= CPUID_1_ECX_HYPERVISOR | CPUID_1_ECX_TSC_DEADLINE;
	}

	for (i = 0; i < *n; i++) {
		c = &e[i];
		/* Deterministic cache parameters (Intel leaf 4). */
		if (c->function == 4 && (c->eax & 0x1F)) {
			unsigned int level = (c->eax >> 5) & 7;
			unsigned int sharing = level >= 3 ?
				(1U << core_bits) - 1 : 0;

			c->eax &= 0x00003FFF;
			c->eax |= sharing << 14;
			c->eax |= ((1U << core_bits) - 1) << 26;
		}
		/* Cache topology (AMD leaf 0x8000001D), same sharing. */
		if (c->function == 0x8000001D && (c->eax & 0x1F)) {
			unsigned int level = (c->eax >> 5) & 7;
			unsigned int sharing = level >= 3 ?
				(1U << core_bits) - 1 : 0;

			c->eax &= ~(0xFFFU << 14);
			c->eax |= sharing << 14;
		}
	}
	patch_extended_topology(e, *n, 0xB, apic_id, cores);
	patch_extended_topology(e, *n, 0x1F, apic_id, cores);

	/* AMD: number of cores and APIC id width; core and node ids. */
	c = cpuid_find(e, *n, 0x80000008, 0);
	if (c) {
		c->ecx &= ~0xF0FFU;
		c->ecx |= (cores - 1) | core_bits << 12;
	}
	c = cpuid_find(e, *n, 0x8000001E, 0);
	if (c) {
		c->eax = apic_id;
		/* core id in the package, 1 thread */
		c->ebx = apic_id & ((1U << core_bits) - 1) & 0xFF;
		c->ecx = 0;				/* node 0, 1 node */
		c->edx = 0;
	}
	c = cpuid_find(e, *n, 0x80000001, 0);
	if (c) {
		/* CmpLegacy: HTT counts cores, not threads. */
		if (cores > 1)
			c->ecx |= 1U << 1;
		else
			c->ecx &= ~(1U << 1);
	}

	c = cpuid_get(e, n, max, KVM_CPUID_SIGNATURE_LEAF);
	if (!c)
		return -1;
	c->eax = KVM_CPUID_FEATURES_LEAF;
	memcpy(&c->ebx, "KVMK", 4);
	memcpy(&c->ecx, "VMKV", 4);
	memcpy(&c->edx, "M\0\0\0", 4);
	c = cpuid_get(e, n, max, KVM_CPUID_FEATURES_LEAF);
	if (!c)
		return -1;
	c->eax &= ~CPUID_KVM_HIDDEN;
	c->edx = 0;				/* no hints */
	return 0;
}
