// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: per-vCPU CPUID.
 */
#include <stdint.h>
#include <string.h>

#include "cpuid.h"
#include "harness.h"

#define MAX 16

static struct kvm_cpuid_entry2 e[MAX];

static unsigned int add(unsigned int n, unsigned int fn, unsigned int idx,
			bool indexed, uint32_t eax, uint32_t ebx, uint32_t ecx,
			uint32_t edx)
{
	memset(&e[n], 0, sizeof(e[n]));
	e[n].function = fn;
	e[n].index = idx;
	e[n].flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
	e[n].eax = eax;
	e[n].ebx = ebx;
	e[n].ecx = ecx;
	e[n].edx = edx;
	return n + 1;
}

/* A supported-CPUID list shaped like KVM's on an AMD host. */
static unsigned int supported(void)
{
	unsigned int n = 0;

	n = add(n, 0, 0, false, 0xD, 0x68747541, 0x444D4163, 0x69746E65);
	n = add(n, 1, 0, false, 0x00A20F10, 0x00010800 | 0xAA000000,
		CPUID_1_ECX_X2APIC, 0x178BFBFF & ~CPUID_1_EDX_HTT);
	n = add(n, 0xB, 0, true, 1, 1, 0x100, 0x55);
	n = add(n, 0xB, 1, true, 4, 8, 0x201, 0x55);
	n = add(n, 0xB, 2, true, 0, 0, 2, 0x55);
	n = add(n, KVM_CPUID_SIGNATURE_LEAF, 0, false, 0x40000001, 0, 0, 0);
	n = add(n, KVM_CPUID_FEATURES_LEAF, 0, false, 0x01FFFFFF, 0, 0, 1);
	n = add(n, 0x80000001, 0, false, 0, 0, 0, 0);
	n = add(n, 0x80000008, 0, false, 0x3030, 0, 0x0003F0FF, 0);
	n = add(n, 0x8000001E, 0, false, 9, 0x0100, 0x0300, 0);
	return n;
}

static void cpuid_apic_ids_and_topology(void)
{
	struct kvm_cpuid_entry2 *c;
	unsigned int n = supported();

	CHECK_EQ(cpuid_patch(e, &n, MAX, 3, 6), 0);
	CHECK_EQ(n, 10);
	c = cpuid_find(e, n, 1, 0);
	CHECK_EQ(c->ebx >> 24, 3);
	CHECK_EQ((c->ebx >> 16) & 0xFF, 8);	/* 6 cores: 3 bits */
	CHECK_EQ(c->ebx & 0xFFFF, 0x0800);	/* CLFLUSH size kept */
	CHECK(c->edx & CPUID_1_EDX_HTT);
	c = cpuid_find(e, n, 0xB, 0);
	CHECK_EQ(c->eax, 0);
	CHECK_EQ(c->ebx, 1);
	CHECK_EQ(c->ecx, 0x100);
	CHECK_EQ(c->edx, 3);
	c = cpuid_find(e, n, 0xB, 1);
	CHECK_EQ(c->eax, 3);
	CHECK_EQ(c->ebx, 6);
	CHECK_EQ(c->ecx, 0x201);
	CHECK_EQ(c->edx, 3);
	c = cpuid_find(e, n, 0xB, 2);
	CHECK_EQ(c->ecx & 0xFF00, 0);		/* end of levels */
	CHECK_EQ(c->edx, 3);
	c = cpuid_find(e, n, 0x80000008, 0);
	CHECK_EQ(c->ecx & 0xFF, 5);		/* cores - 1 */
	CHECK_EQ((c->ecx >> 12) & 0xF, 3);	/* APIC id bits */
	CHECK_EQ(c->ecx & 0x30000, 0x30000);	/* other bits kept */
	c = cpuid_find(e, n, 0x8000001E, 0);
	CHECK_EQ(c->eax, 3);
	CHECK_EQ(c->ebx, 3);
	CHECK_EQ(c->ecx, 0);
	c = cpuid_find(e, n, 0x80000001, 0);
	CHECK(c->ecx & 2);			/* CmpLegacy */
}

static void cpuid_single_vcpu(void)
{
	struct kvm_cpuid_entry2 *c;
	unsigned int n = supported();

	CHECK_EQ(cpuid_patch(e, &n, MAX, 0, 1), 0);
	c = cpuid_find(e, n, 1, 0);
	CHECK_EQ(c->ebx >> 24, 0);
	CHECK_EQ((c->ebx >> 16) & 0xFF, 1);
	CHECK(!(c->edx & CPUID_1_EDX_HTT));
	c = cpuid_find(e, n, 0xB, 1);
	CHECK_EQ(c->eax, 0);
	CHECK_EQ(c->ebx, 1);
	c = cpuid_find(e, n, 0x80000001, 0);
	CHECK(!(c->ecx & 2));
}

/* A VM on several hosts: vCPU 3 is a package of its own. */
static void cpuid_package_per_vcpu(void)
{
	struct kvm_cpuid_entry2 *c;
	unsigned int n = supported();

	n = add(n, 4, 3, true, 0x163 | 7U << 14 | 7U << 26, 0, 0, 0);
	CHECK_EQ(cpuid_patch(e, &n, MAX, 3, 1), 0);
	c = cpuid_find(e, n, 1, 0);
	CHECK_EQ(c->ebx >> 24, 3);
	CHECK_EQ((c->ebx >> 16) & 0xFF, 1);
	CHECK(!(c->edx & CPUID_1_EDX_HTT));
	c = cpuid_find(e, n, 4, 3);		/* L3: shared by nobody else */
	CHECK_EQ((c->eax >> 14) & 0xFFF, 0);
	CHECK_EQ(c->eax >> 26, 0);
	CHECK_EQ(c->eax & 0x3FFF, 0x163);
	c = cpuid_find(e, n, 0xB, 1);
	CHECK_EQ(c->eax, 0);			/* package = APIC id */
	CHECK_EQ(c->ebx, 1);
	CHECK_EQ(c->edx, 3);
	c = cpuid_find(e, n, 0x80000008, 0);
	CHECK_EQ(c->ecx & 0xFF, 0);
	CHECK_EQ((c->ecx >> 12) & 0xF, 0);
	c = cpuid_find(e, n, 0x8000001E, 0);
	CHECK_EQ(c->eax, 3);
	CHECK_EQ(c->ebx, 0);			/* core 0 of its package */
	c = cpuid_find(e, n, 0x80000001, 0);
	CHECK(!(c->ecx & 2));
}

static void cpuid_features(void)
{
	struct kvm_cpuid_entry2 *c;
	unsigned int n = supported();

	CHECK_EQ(cpuid_patch(e, &n, MAX, 1, 2), 0);
	c = cpuid_find(e, n, 1, 0);
	CHECK(c->ecx & CPUID_1_ECX_HYPERVISOR);
	CHECK(c->ecx & CPUID_1_ECX_TSC_DEADLINE);
	CHECK(c->ecx & CPUID_1_ECX_X2APIC);
	c = cpuid_find(e, n, KVM_CPUID_SIGNATURE_LEAF, 0);
	CHECK_EQ(c->eax, KVM_CPUID_FEATURES_LEAF);
	CHECK(!memcmp(&c->ebx, "KVMK", 4));
	CHECK(!memcmp(&c->ecx, "VMKV", 4));
	CHECK(!memcmp(&c->edx, "M\0\0\0", 4));
	c = cpuid_find(e, n, KVM_CPUID_FEATURES_LEAF, 0);
	CHECK_EQ(c->eax & CPUID_KVM_HIDDEN, 0);
	CHECK(!(c->eax & KVMF_ASYNC_PF));
	CHECK(!(c->eax & KVMF_ASYNC_PF_INT));
	CHECK(!(c->eax & KVMF_ASYNC_PF_VMEXIT));
	CHECK(!(c->eax & KVMF_PV_SEND_IPI));
	CHECK(!(c->eax & KVMF_PV_TLB_FLUSH));
	CHECK(!(c->eax & KVMF_PV_UNHALT));
	CHECK(!(c->eax & KVMF_PV_SCHED_YIELD));
	CHECK(!(c->eax & KVMF_POLL_CONTROL));
	CHECK(c->eax & KVMF_CLOCKSOURCE);
	CHECK(c->eax & KVMF_CLOCKSOURCE2);
	CHECK(c->eax & KVMF_CLOCKSOURCE_STABLE_BIT);
	CHECK(c->eax & KVMF_PV_EOI);
	CHECK_EQ(c->edx, 0);
}

static void cpuid_adds_kvm_leaves(void)
{
	unsigned int n = 0;

	n = add(n, 1, 0, false, 0, 0, 0, 0);
	CHECK_EQ(cpuid_patch(e, &n, MAX, 0, 1), 0);
	CHECK_EQ(n, 3);
	CHECK(cpuid_find(e, n, KVM_CPUID_SIGNATURE_LEAF, 0) != NULL);
	CHECK(cpuid_find(e, n, KVM_CPUID_FEATURES_LEAF, 0) != NULL);
	/* No room for them: an error, not an overflow. */
	n = 0;
	n = add(n, 1, 0, false, 0, 0, 0, 0);
	CHECK_EQ(cpuid_patch(e, &n, 2, 0, 1), -1);
}

/* Several hosts: TSC instead of kvmclock, and the TSC said invariant. */
static void cpuid_tsc_clock(void)
{
	struct kvm_cpuid_entry2 *c;
	unsigned int n = supported();

	n = add(n, 0x80000007, 0, false, 0, 0, 0, 0);
	CHECK_EQ(cpuid_patch(e, &n, MAX, 0, 2), 0);
	cpuid_use_tsc_clock(e, n);
	c = cpuid_find(e, n, KVM_CPUID_FEATURES_LEAF, 0);
	CHECK_EQ(c->eax & CPUID_KVM_CLOCK, 0);
	CHECK(c->eax & KVMF_PV_EOI);
	c = cpuid_find(e, n, 0x80000007, 0);
	CHECK(c->edx & CPUID_80000007_EDX_INVTSC);
}

void suite_cpuid(void)
{
	RUN(cpuid_tsc_clock);
	RUN(cpuid_apic_ids_and_topology);
	RUN(cpuid_single_vcpu);
	RUN(cpuid_package_per_vcpu);
	RUN(cpuid_features);
	RUN(cpuid_adds_kvm_leaves);
}
