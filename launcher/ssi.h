/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bigiron-launch: one VM over several hosts (single system image).
 *
 * Every host runs its own vCPUs in its own KVM VM; the bigiron module
 * carries interrupts between the hosts by itself. The launchers talk
 * through the module's messages (BIGIRON_VM_SEND/RECV), over the same
 * ordered links as memory and interrupts:
 *   READY     a node has its vCPUs and is bound to the module; nobody
 *             runs a vCPU before every node is ready
 *   IO_REQ    a port or MMIO access of a vCPU on a node without devices,
 *             done by the I/O node, which answers IO_RESP
 *   EOI       a vCPU ended a level-triggered interrupt (for the IOAPIC)
 *   ROUTES    the IOAPIC's redirection table, so that every KVM reports
 *             the EOIs of level-triggered vectors, numbered by a growing
 *             generation
 *   ROUTES_ACK a node's KVM has the routes of that generation; until every
 *             node has those that last changed a level-triggered pin, the
 *             I/O node holds that pin's interrupts for other hosts (an
 *             interrupt forwarded at once would overtake the routes)
 *   STOP      the VM stops (poweroff, reset, error), acknowledged
 *   CLOCK     the I/O node's guest TSC, to align the others'
 * A node that is gone (its link died) stops the VM on the others.
 */
#ifndef BIGIRON_SSI_H
#define BIGIRON_SSI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "routegen.h"

struct vm;
struct vcpu;

/* A vCPU's forwarded access, waiting for the I/O node's answer. */
struct ssi_pending {
	uint32_t seq;		/* of the request waited for; 0: none */
	bool done;
	uint8_t data[8];
};

struct vm_ssi {
	bool active;		/* a cluster with vCPUs on several hosts */
	unsigned int io_node;
	pthread_t thread;	/* receives the messages */
	bool thread_started;
	pthread_mutex_t lock;	/* everything below */
	pthread_cond_t cond;
	uint64_t ready;		/* nodes that said READY */
	bool stop_sent;		/* this node told the others to stop */
	uint64_t stop_acked;	/* nodes that acknowledged our STOP */
	uint64_t gone;		/* nodes whose link died */
	bool clock_done;
	uint64_t peer_tsc;	/* the I/O node's answer */
	uint32_t peer_tsc_khz;
	uint32_t seq;
	struct ssi_pending pending[CONFIG_VCPUS_MAX];
	unsigned long forwarded;	/* accesses sent to the I/O node */
	unsigned long served;		/* accesses served for other nodes */
	struct routegen routes;		/* I/O node: the others' routes */
	uint64_t routes_here;		/* others: the generation installed */
};

/* Before any vCPU exists: decide whether this VM spans hosts. */
void ssi_init(struct vm *vm);
/*
 * With every local vCPU created: bind the KVM VM to the module, start the
 * receiving thread, align the guest clock with the I/O node's, and wait
 * (join_timeout) until every node is ready. 0, or -1 (reported).
 */
int ssi_start(struct vm *vm);
/* After the vCPU threads have stopped: tell the others, wait for acks. */
void ssi_stop(struct vm *vm);
void ssi_destroy(struct vm *vm);

/* vCPU threads on a node without devices. */
void ssi_forward_io(struct vcpu *vcpu, bool mmio, uint64_t addr,
		    uint8_t *data, unsigned int len, bool is_write);
void ssi_forward_eoi(struct vm *vm, uint8_t vector);
/* The I/O node's IOAPIC changed its routes to generation @gen. */
void ssi_send_routes(struct vm *vm, const uint64_t *redir, uint64_t gen);
/* vm_request_stop() on this host: tell every other node. */
void ssi_send_stop(struct vm *vm, int reason, const char *msg);

#endif
