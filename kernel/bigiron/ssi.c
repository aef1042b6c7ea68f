// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron: one VM over several hosts -- interrupts between hosts and the
 * launchers' messages.
 *
 * Interrupts.  Every host runs its own KVM VM with only its own vCPUs
 * (vCPU n has APIC id n on every host).  KVM hands every interrupt it
 * delivers -- ICR writes of a vCPU, KVM_SIGNAL_MSI from the I/O node's
 * IOAPIC -- to kvm_irq_delivery_to_apic(), which finds only this host's
 * vCPUs.  A kprobe on that function (it is not exported, the kprobe only
 * reads its arguments) copies each interrupt of a bigiron VM that may be
 * meant for a vCPU elsewhere into a ring; a work item sends it as
 * BI_MSG_IPI to every node that may run a target.  The receiving node
 * delivers it with the exported kvm_apic_send_ipi(), through one of its own
 * vCPUs' local APICs, with the destination made explicit (a shorthand
 * becomes the broadcast id), so that KVM picks the targets among its
 * vCPUs.  The kprobe sees that delivery too and ignores it (a per-CPU flag
 * marks it).  Interrupts travel in the same ordered stream as the memory
 * traffic to that node.
 *
 * Which nodes may run a target: a physical destination names one vCPU,
 * hence one node; the broadcast id, a logical destination and the "all"
 * shorthands go to every other node, whose KVM matches its own vCPUs.
 * An interrupt for one vCPU of a set (lowest priority, or an MSI with the
 * redirection hint) must reach exactly one: the sending host keeps it when
 * one of its own vCPUs matches (KVM arbitrates among them), else it goes
 * to the next node in id order, which delivers it or passes it on, until
 * it would be back at the sender (then no vCPU matched, and the interrupt
 * is not delivered, as on one host).  Priorities are thus compared only
 * within a host; Linux since 4.15 sends device interrupts to one CPU, in
 * fixed mode, and does not use lowest priority for IPIs.
 *
 * Messages.  The launchers of a VM talk through the same links:
 * BIGIRON_VM_SEND queues a BI_MSG_USER for a node, BIGIRON_VM_RECV takes
 * the next one from this node's queue, or reports a node that is gone.
 *
 * Locking:
 *   bigiron_ssi_lock (mutex) serialises changes of bigiron_ssi_list and
 *     bigiron_ssi_users, and the kprobe's registration (only while a VM is
 *     bound); the kprobe walks the list under RCU (it may run with IRQs
 *     off).
 *   bigiron_ssi.ring_lock (irq-safe spinlock) protects the ring.
 *   bigiron_ssi.msg_lock (BH-safe spinlock) protects the message queue.
 *   Both are innermost: nothing is called with them held.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/file.h>
#include <linux/kprobes.h>
#include <linux/kvm_host.h>
#include <linux/percpu.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>
#include <asm/unaligned.h>

#include "cluster.h"

/*
 * The hooked function; the handler reads its first three arguments from
 * the x86_64 calling convention's registers.
 */
#define BIGIRON_SSI_HOOK	"kvm_irq_delivery_to_apic"
#define BIGIRON_SSI_RECV_MAX_MS	60000

#define BI_APIC_NOSHORT		0	/* KVM's APIC_DEST_NOSHORT */
#define BI_SHORT_SELF		(APIC_DEST_SELF >> 18)
#define BI_SHORT_ALLINC		(APIC_DEST_ALLINC >> 18)
#define BI_SHORT_ALLBUT		(APIC_DEST_ALLBUT >> 18)
#define BI_X2APIC_BROADCAST	0xFFFFFFFFU
#define BI_XAPIC_BROADCAST	0xFFU

static LIST_HEAD(bigiron_ssi_list);
static DEFINE_MUTEX(bigiron_ssi_lock);
static unsigned int bigiron_ssi_users;	/* VMs bound by SET_KVM */
static DEFINE_PER_CPU(bool, bigiron_ssi_injecting);

static u64 bigiron_ssi_others(struct bigiron_cluster *cl)
{
	u64 all = cl->nr_nodes == 64 ? ~0ULL : BIT_ULL(cl->nr_nodes) - 1;

	return all & ~BIT_ULL(cl->self);
}

/* KVM's kvm_lowest_prio_delivery(): one vCPU of the destination takes it. */
static bool bigiron_ssi_one_of(const struct kvm_lapic_irq *irq)
{
	return irq->delivery_mode == APIC_DM_LOWEST || irq->msi_redir_hint;
}

/*
 * Whether a vCPU of this host with its local APIC enabled is a destination
 * of a logical or physical @dest sent by @src (NULL for a device), with
 * the same rules KVM applies when it delivers.  Like KVM's own fast path,
 * it does not look at the APIC's software enable bit (in KVM's private
 * struct kvm_lapic): a host whose only match is software-disabled keeps
 * the interrupt, and KVM drops it, as it would on one host.
 * Context: any; reads what SET_KVM published before the VM was bound.
 */
static bool bigiron_ssi_local_match(struct bigiron_cluster *cl,
				    struct kvm_lapic *src, u32 dest,
				    u32 dest_mode)
{
	struct bigiron_ssi *ssi = &cl->ssi;
	struct kvm_vcpu *vcpu;
	u32 i;

	for (i = 0; i < ssi->nr_vcpus; i++) {
		if (ssi->vcpu_node[i] != cl->self)
			continue;
		vcpu = kvm_get_vcpu_by_id(ssi->kvm, i);
		if (vcpu && vcpu->arch.apic &&
		    (vcpu->arch.apic_base & MSR_IA32_APICBASE_ENABLE) &&
		    kvm_apic_match_dest(vcpu, src, BI_APIC_NOSHORT, dest,
					dest_mode))
			return true;
	}
	return false;
}

/*
 * The other nodes that run vCPUs: where an interrupt for "every vCPU" or
 * for a logical destination goes (a node may run none).
 */
static u64 bigiron_ssi_cpu_nodes(struct bigiron_cluster *cl)
{
	return bigiron_ssi_others(cl) & cl->ssi.cpu_nodes;
}

/*
 * The node after this one in id order, among those that run vCPUs, that
 * a BI_IPI_ONE_OF interrupt from @origin goes to, as a mask: 0 once every
 * such node has had it.  Every node of a running VM is up (a dead one
 * stops it), so the chain skips no live one.
 */
static u64 bigiron_ssi_next(struct bigiron_cluster *cl, u16 origin)
{
	u16 next = cl->self;

	for (;;) {
		next = (next + 1) % cl->nr_nodes;
		if (next == origin || next == cl->self)
			return 0;
		if (cl->ssi.cpu_nodes & BIT_ULL(next))
			return BIT_ULL(next);
	}
}

/*
 * The nodes other than this one that may run a target of @irq, sent by
 * @src; *@flags gets BI_IPI_ONE_OF when only one of them may take it.
 * Context: any (the kprobe); reads only what SET_KVM wrote before
 * publishing @ssi.
 */
static u64 bigiron_ssi_targets(struct bigiron_cluster *cl,
			       struct kvm_lapic *src,
			       const struct kvm_lapic_irq *irq, u8 *flags)
{
	struct bigiron_ssi *ssi = &cl->ssi;
	u32 short_hand = irq->shorthand >> 18;
	u16 node;

	*flags = 0;
	if (short_hand == BI_SHORT_SELF)
		return 0;
	if (short_hand)
		return bigiron_ssi_cpu_nodes(cl);
	if (irq->dest_mode == APIC_DEST_PHYSICAL) {
		/* KVM makes a lowest-priority broadcast a fixed one */
		if (irq->dest_id == BI_XAPIC_BROADCAST ||
		    irq->dest_id == BI_X2APIC_BROADCAST)
			return bigiron_ssi_cpu_nodes(cl);
		if (irq->dest_id >= ssi->nr_vcpus)
			return 0;
		node = ssi->vcpu_node[irq->dest_id];
		return node == cl->self ? 0 : BIT_ULL(node);
	}
	if (!bigiron_ssi_one_of(irq))
		return bigiron_ssi_cpu_nodes(cl);
	if (bigiron_ssi_local_match(cl, src, irq->dest_id, irq->dest_mode))
		return 0;
	*flags = BI_IPI_ONE_OF;
	return bigiron_ssi_next(cl, cl->self);
}

/*
 * An interrupt was lost: a guest that misses one may hang, so this is a
 * fatal error of the VM, counted, logged and reported to the launcher by
 * BIGIRON_VM_RECV (BIGIRON_EV_IPI_LOST), which stops the VM.
 * Context: any, never sleeps.
 */
static void bigiron_ssi_lost(struct bigiron_cluster *cl, u16 node,
			     const char *why, u32 vector)
{
	struct bigiron_ssi *ssi = &cl->ssi;

	unsigned long flags;

	atomic64_inc(&ssi->ipis_dropped);
	pr_err_ratelimited("vm%u: interrupt (vector %u) of node %u lost: %s; the VM must stop\n",
			   cl->vm->id, vector, node, why);
	/* the first loss is the one reported: bit and node together */
	spin_lock_irqsave(&ssi->ring_lock, flags);
	if (!ssi->lost) {
		ssi->lost = 1;
		ssi->lost_node = node;
	}
	spin_unlock_irqrestore(&ssi->ring_lock, flags);
	wake_up_interruptible(&ssi->wq);
}

/*
 * Queue @w for @nodes.  Context: any, never sleeps.  The ring is the only
 * room there is (the kprobe cannot wait): a full one loses the interrupt,
 * which stops the VM (bigiron_ssi_lost()).
 */
static void bigiron_ssi_queue(struct bigiron_cluster *cl, u64 nodes,
			      const struct bi_wire_ipi *w)
{
	struct bigiron_ssi *ssi = &cl->ssi;
	unsigned long flags;

	spin_lock_irqsave(&ssi->ring_lock, flags);
	if (ssi->stopping) {
		/* the VM is going away: nothing is sent any more */
		spin_unlock_irqrestore(&ssi->ring_lock, flags);
		return;
	}
	if (ssi->head - ssi->tail >= BIGIRON_SSI_RING) {
		spin_unlock_irqrestore(&ssi->ring_lock, flags);
		bigiron_ssi_lost(cl, cl->self, "the ring to other hosts is full",
				 w->vector);
		return;
	}
	ssi->ring[ssi->head % BIGIRON_SSI_RING] = (struct bigiron_ssi_ipi){
		.w = *w,
		.nodes = nodes,
	};
	ssi->head++;
	spin_unlock_irqrestore(&ssi->ring_lock, flags);
	queue_delayed_work(system_highpri_wq, &ssi->ipi_work, 0);
}

/*
 * kprobe pre-handler on kvm_irq_delivery_to_apic(kvm, src, irq, dest_map).
 * Context: any, maybe with IRQs off (the x2APIC ICR fast path); never
 * sleeps, copies and hands off.
 */
static int bigiron_ssi_kprobe(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm *kvm = (struct kvm *)regs->di;
	struct kvm_lapic *src = (struct kvm_lapic *)regs->si;
	const struct kvm_lapic_irq *irq = (const void *)regs->dx;
	struct bigiron_ssi *ssi;

	if (list_empty(&bigiron_ssi_list) ||
	    this_cpu_read(bigiron_ssi_injecting))
		return 0;

	rcu_read_lock();
	list_for_each_entry_rcu(ssi, &bigiron_ssi_list, list) {
		struct bigiron_cluster *cl;
		u64 nodes;
		u8 flags;

		if (ssi->kvm != kvm)
			continue;
		cl = container_of(ssi, struct bigiron_cluster, ssi);
		nodes = bigiron_ssi_targets(cl, src, irq, &flags);
		if (!nodes)
			break;
		bigiron_ssi_queue(cl, nodes, &(struct bi_wire_ipi){
			.vector = irq->vector,
			.dest_id = irq->dest_id,
			.delivery_mode = irq->delivery_mode,
			.dest_mode = irq->dest_mode,
			.trig_mode = !!irq->trig_mode,
			.level = irq->level,
			.shorthand = irq->shorthand >> 18,
			.msi_redir_hint = irq->msi_redir_hint,
			.flags = flags,
			.origin = cl->self,
		});
		break;
	}
	rcu_read_unlock();
	return 0;
}

static struct kprobe bigiron_ssi_kp;

/*
 * The hook is only in place while a VM spans hosts: other KVM guests of
 * this host, and single-host bigiron VMs, never run the handler.
 * Context: process, under bigiron_ssi_lock.
 */
static int bigiron_ssi_hook(void)
{
	lockdep_assert_held(&bigiron_ssi_lock);

	memset(&bigiron_ssi_kp, 0, sizeof(bigiron_ssi_kp));
	bigiron_ssi_kp.symbol_name = BIGIRON_SSI_HOOK;
	bigiron_ssi_kp.pre_handler = bigiron_ssi_kprobe;
	return register_kprobe(&bigiron_ssi_kp);
}

static void bigiron_ssi_put_ipi(u8 *b, const struct bi_wire_ipi *w)
{
	memset(b, 0, BI_WIRE_IPI_LEN);
	put_unaligned_le32(w->vector, b);
	put_unaligned_le32(w->dest_id, b + 4);
	put_unaligned_le16(w->delivery_mode, b + 8);
	put_unaligned_le16(w->dest_mode, b + 10);
	put_unaligned_le16(w->trig_mode, b + 12);
	b[14] = w->level;
	b[15] = w->shorthand;
	b[16] = w->msi_redir_hint;
	b[17] = w->flags;
	put_unaligned_le16(w->origin, b + 18);
}

/*
 * Whether every node of @nodes can take one more interrupt: its send
 * queue is below BIGIRON_PEER_TXQ_IPI_MAX (a dead one can: nothing is
 * queued for it).
 */
static bool bigiron_ssi_room(struct bigiron_cluster *cl, u64 nodes)
{
	DECLARE_BITMAP(map, BIGIRON_MAX_NODES);
	unsigned int node;

	bitmap_from_u64(map, nodes);
	for_each_set_bit(node, map, BIGIRON_MAX_NODES)
		if (node < cl->nr_nodes && cl->peers[node] &&
		    bigiron_peer_backlog(cl->peers[node], false) >=
		    BIGIRON_PEER_TXQ_IPI_MAX)
			return false;
	return true;
}

/*
 * Send the ring's interrupts.  A node whose send queue is long makes the
 * work wait (a millisecond at a time) with the rest in the ring, in order.
 * Context: process (system_highpri_wq).
 */
static void bigiron_ssi_ipi_work(struct work_struct *work)
{
	struct bigiron_ssi *ssi = container_of(to_delayed_work(work),
					       struct bigiron_ssi, ipi_work);
	struct bigiron_cluster *cl = container_of(ssi, struct bigiron_cluster,
						  ssi);
	struct bi_wire_hdr h = {
		.type = BI_MSG_IPI,
		.payload_len = BI_WIRE_IPI_LEN,
	};
	DECLARE_BITMAP(map, BIGIRON_MAX_NODES);
	struct bigiron_ssi_ipi e;
	u8 b[BI_WIRE_IPI_LEN];
	unsigned long flags;
	unsigned int node;

	for (;;) {
		spin_lock_irqsave(&ssi->ring_lock, flags);
		if (ssi->tail == ssi->head) {
			spin_unlock_irqrestore(&ssi->ring_lock, flags);
			return;
		}
		e = ssi->ring[ssi->tail % BIGIRON_SSI_RING];
		spin_unlock_irqrestore(&ssi->ring_lock, flags);

		if (!bigiron_ssi_room(cl, e.nodes)) {
			queue_delayed_work(system_highpri_wq, &ssi->ipi_work,
					   msecs_to_jiffies(1));
			return;
		}
		/* only this work moves the tail: @e is still the oldest */
		spin_lock_irqsave(&ssi->ring_lock, flags);
		ssi->tail++;
		spin_unlock_irqrestore(&ssi->ring_lock, flags);

		bigiron_ssi_put_ipi(b, &e.w);
		bitmap_from_u64(map, e.nodes);
		for_each_set_bit(node, map, BIGIRON_MAX_NODES) {
			if (node >= cl->nr_nodes || !cl->peers[node])
				continue;
			bigiron_peer_send(cl->peers[node], &h, b);
			atomic64_inc(&ssi->ipis_sent);
		}
		cond_resched();
	}
}

/* A BI_MSG_IPI from @node: check it, deliver it to this host's vCPUs. */
static void bigiron_ssi_recv_ipi(struct bigiron_cluster *cl, u16 node,
				 const u8 *b, u16 len)
{
	struct bigiron_ssi *ssi = &cl->ssi;
	u32 vector, dest, mode, dmode, icr_low, icr_high;
	struct kvm_vcpu *vcpu = NULL;
	u8 short_hand, flags;
	const char *why;
	u16 origin;
	bool x2apic;
	u64 next;
	u32 i;

	if (len != BI_WIRE_IPI_LEN || memchr_inv(b + 20, 0, 4))
		goto bad;
	vector = get_unaligned_le32(b);
	dest = get_unaligned_le32(b + 4);
	mode = get_unaligned_le16(b + 8);
	dmode = get_unaligned_le16(b + 10);
	short_hand = b[15];
	flags = b[17];
	origin = get_unaligned_le16(b + 18);
	if (vector > 0xFF || (mode & ~APIC_MODE_MASK) ||
	    (dmode != APIC_DEST_PHYSICAL && dmode != APIC_DEST_LOGICAL) ||
	    get_unaligned_le16(b + 12) > 1 || b[14] > 1 || b[16] > 1 ||
	    short_hand > BI_SHORT_ALLBUT || short_hand == BI_SHORT_SELF ||
	    (flags & ~BI_IPI_ONE_OF) || origin >= cl->nr_nodes)
		goto bad;
	/* one of a set: a logical destination, passed on from its origin */
	if ((flags & BI_IPI_ONE_OF) &&
	    (short_hand || dmode != APIC_DEST_LOGICAL || origin == cl->self))
		goto bad;
	/*
	 * The launchers bind KVM before they tell the others they are
	 * ready, and no vCPU runs before that: an interrupt this early is a
	 * peer's error.
	 */
	why = "it came before this host's KVM VM was bound";
	/* pairs with the release in bigiron_ssi_set_kvm() */
	if (!smp_load_acquire(&ssi->kvm_set))
		goto lost;

	/*
	 * The local APIC this host delivers through: its first vCPU's.  A
	 * host without one has no destination of it (as for an APIC id
	 * that no vCPU has on one host): a "one of" goes on to the next.
	 */
	for (i = 0; i < ssi->nr_vcpus && !vcpu; i++)
		if (ssi->vcpu_node[i] == cl->self)
			vcpu = kvm_get_vcpu_by_id(ssi->kvm, i);
	if (vcpu && !vcpu->arch.apic)
		vcpu = NULL;
	x2apic = vcpu && (vcpu->arch.apic_base & X2APIC_ENABLE);

	if ((flags & BI_IPI_ONE_OF) &&
	    (!vcpu ||
	     !bigiron_ssi_local_match(cl, vcpu->arch.apic, dest, dmode))) {
		/* no vCPU here: the next node's turn, if any is left */
		next = bigiron_ssi_next(cl, origin);
		if (next)
			bigiron_ssi_queue(cl, next, &(struct bi_wire_ipi){
				.vector = vector,
				.dest_id = dest,
				.delivery_mode = mode,
				.dest_mode = dmode,
				.trig_mode = get_unaligned_le16(b + 12),
				.level = b[14],
				.msi_redir_hint = b[16],
				.flags = flags,
				.origin = origin,
			});
		atomic64_inc(&ssi->ipis_recv);
		return;
	}

	/*
	 * No vCPU here, or an x2APIC destination that no xAPIC of this host
	 * can match: nobody here is a destination, as on one host.
	 */
	if (!vcpu || (!x2apic && dest > 0xFF && dest != BI_X2APIC_BROADCAST &&
		      !short_hand)) {
		atomic64_inc(&ssi->ipis_recv);
		return;
	}
	/* A shorthand from elsewhere means every vCPU of this host. */
	if (short_hand)
		dest = BI_X2APIC_BROADCAST;
	if (x2apic) {
		icr_high = dest;
	} else {
		if (dest == BI_X2APIC_BROADCAST)
			dest = BI_XAPIC_BROADCAST;
		icr_high = SET_XAPIC_DEST_FIELD(dest);
	}
	/*
	 * An ICR has no redirection hint: a fixed MSI with it is arbitrated
	 * as lowest priority (kvm_lowest_prio_delivery()), so send it so.
	 */
	if (b[16] && mode == APIC_DM_FIXED)
		mode = APIC_DM_LOWEST;
	icr_low = vector | mode | (dmode == APIC_DEST_LOGICAL ?
				   APIC_DEST_LOGICAL : 0);
	if (b[14])
		icr_low |= APIC_INT_ASSERT;
	if (get_unaligned_le16(b + 12))
		icr_low |= APIC_INT_LEVELTRIG;

	preempt_disable();
	__this_cpu_write(bigiron_ssi_injecting, true);
	kvm_apic_send_ipi(vcpu->arch.apic, icr_low, icr_high);
	__this_cpu_write(bigiron_ssi_injecting, false);
	preempt_enable();
	atomic64_inc(&ssi->ipis_recv);
	return;
bad:
	why = "malformed";
	vector = len == BI_WIRE_IPI_LEN ? get_unaligned_le32(b) : 0;
lost:
	bigiron_ssi_lost(cl, node, why, vector);
}

/**
 * bigiron_ssi_window - launcher messages a node may have out to one peer
 * @cl: node instance
 *
 * The same on every node of the cluster (it depends on the node count
 * only), so a sender and its receiver agree without telling each other.
 */
u32 bigiron_ssi_window(const struct bigiron_cluster *cl)
{
	return min_t(u32, BIGIRON_SSI_WINDOW_MAX,
		     BIGIRON_SSI_MSGQ_MAX / (cl->nr_nodes - 1));
}

/**
 * bigiron_ssi_out - our launcher messages the peer's launcher has not taken
 * @pe: the peer
 *
 * Context: under ssi.send_lock or @pe->lock (the counts it reads without
 * the other only grow, so a stale read only overstates the result).
 */
u32 bigiron_ssi_out(const struct bigiron_peer *pe)
{
	return READ_ONCE(pe->user_sent) - READ_ONCE(pe->user_lost) -
	       READ_ONCE(pe->user_credit);
}

/**
 * bigiron_ssi_hold_msg - room for one more launcher message from a peer
 * @pe: the peer it comes from
 *
 * The link asks before it accepts a BI_MSG_USER.  A peer that keeps to
 * its window always finds room; one that does not has its message
 * refused, and sends it again (bi_link_refuse()).  Messages are never
 * dropped once accepted.  Context: any.
 */
bool bigiron_ssi_hold_msg(struct bigiron_peer *pe)
{
	return atomic_add_unless(&pe->user_held, 1,
				 bigiron_ssi_window(pe->cl));
}

/* The held message went away before it reached the queue (or left it). */
void bigiron_ssi_unhold_msg(struct bigiron_peer *pe)
{
	atomic_dec(&pe->user_held);
}

/**
 * bigiron_ssi_credit_locked - a BI_MSG_CREDIT from @pe's node
 * @pe: the peer
 * @taken: launcher messages of ours its launcher has taken so far
 *
 * A count that goes back, or past what was sent, is dropped and counted:
 * the link authenticated it, so only a broken peer sends one.
 * Context: softirq, under @pe->lock.
 */
void bigiron_ssi_credit_locked(struct bigiron_peer *pe, u32 taken)
{
	lockdep_assert_held(&pe->lock);

	/* no more than it has, and never backwards */
	if (taken - pe->user_credit > bigiron_ssi_out(pe)) {
		atomic64_inc(&pe->cl->drops[BIGIRON_DROP_BAD_CREDIT]);
		pe->drops[BIGIRON_DROP_BAD_CREDIT]++;
		return;
	}
	WRITE_ONCE(pe->user_credit, taken);
}

/**
 * bigiron_ssi_recv - a BI_MSG_IPI or BI_MSG_USER from @node, in order
 * @cl: node instance
 * @node: the sender (authenticated by the link)
 * @m: the message, checked by bi_wire_decode(); consumed
 *
 * Context: process (the peer's rx work).
 */
void bigiron_ssi_recv(struct bigiron_cluster *cl, u16 node,
		      struct bigiron_rx_msg *m)
{
	struct bigiron_ssi *ssi = &cl->ssi;

	if (m->hdr.type == BI_MSG_IPI) {
		bigiron_ssi_recv_ipi(cl, node, m->data, m->hdr.payload_len);
		kfree(m);
		return;
	}
	/* held by the link already (bigiron_ssi_hold_msg()) */
	spin_lock_bh(&ssi->msg_lock);
	list_add_tail(&m->list, &ssi->msgq);
	spin_unlock_bh(&ssi->msg_lock);
	atomic64_inc(&ssi->msgs_recv);
	wake_up_interruptible(&ssi->wq);
}

/**
 * bigiron_ssi_node_down - a node's link died: tell the launcher
 * @cl: node instance
 * @node: the node that is gone
 *
 * Context: any (called under the peer's lock).
 */
void bigiron_ssi_node_down(struct bigiron_cluster *cl, u16 node)
{
	set_bit(node, cl->ssi.down);
	wake_up_interruptible(&cl->ssi.wq);
}

/* ---- ioctls ------------------------------------------------------------ */

/**
 * bigiron_ssi_set_kvm - BIGIRON_VM_SET_KVM
 * @vm: the VM, held by the caller
 * @uarg: struct bigiron_vm_kvm in user memory
 *
 * The hook it installs is a kprobe in KVM, host-wide: the caller needs
 * CAP_SYS_ADMIN in the initial user namespace, as for any kprobe.
 *
 * Return: 0; -EPERM (no CAP_SYS_ADMIN), -EINVAL (bad argument, no
 * cluster), -EBADF (not a KVM VM), -EBUSY (set already), -EFAULT, -ENOMEM.
 */
int bigiron_ssi_set_kvm(struct bigiron_vm *vm, void __user *uarg)
{
	/* pairs with the release in bigiron_cluster_set() */
	struct bigiron_cluster *cl = smp_load_acquire(&vm->cluster);
	struct bigiron_ssi *ssi;
	struct bigiron_vm_kvm arg;
	struct fd f;
	u16 *nodes;
	u32 i;
	int err;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.size != sizeof(arg) || arg.flags ||
	    memchr_inv(arg.reserved, 0, sizeof(arg.reserved)))
		return -EINVAL;
	if (!arg.nr_vcpus || arg.nr_vcpus > BIGIRON_MAX_VCPUS ||
	    !arg.vcpu_nodes || !cl)
		return -EINVAL;
	ssi = &cl->ssi;

	nodes = memdup_user(u64_to_user_ptr(arg.vcpu_nodes),
			    array_size(arg.nr_vcpus, sizeof(*nodes)));
	if (IS_ERR(nodes))
		return PTR_ERR(nodes);
	for (i = 0; i < arg.nr_vcpus; i++)
		if (nodes[i] >= cl->nr_nodes) {
			err = -EINVAL;
			goto err_nodes;
		}

	f = fdget(arg.kvm_fd);
	if (!f.file) {
		err = -EBADF;
		goto err_nodes;
	}
	if (!file_is_kvm(f.file)) {
		err = -EBADF;
		goto err_fd;
	}

	mutex_lock(&bigiron_ssi_lock);
	if (ssi->kvm) {
		err = -EBUSY;
		goto err_unlock;
	}
	if (!bigiron_ssi_users) {
		err = bigiron_ssi_hook();
		if (err) {
			pr_err("cannot hook %s (error %d)\n", BIGIRON_SSI_HOOK,
			       err);
			goto err_unlock;
		}
	}
	bigiron_ssi_users++;
	ssi->kvm = f.file->private_data;
	kvm_get_kvm(ssi->kvm);
	ssi->vcpu_node = nodes;
	ssi->nr_vcpus = arg.nr_vcpus;
	for (i = 0; i < arg.nr_vcpus; i++)
		ssi->cpu_nodes |= BIT_ULL(nodes[i]);
	list_add_tail_rcu(&ssi->list, &bigiron_ssi_list);
	/* pairs with the acquire in bigiron_ssi_recv_ipi() */
	smp_store_release(&ssi->kvm_set, true);
	mutex_unlock(&bigiron_ssi_lock);
	fdput(f);
	return 0;

err_unlock:
	mutex_unlock(&bigiron_ssi_lock);
err_fd:
	fdput(f);
err_nodes:
	kfree(nodes);
	return err;
}

/**
 * bigiron_ssi_send - BIGIRON_VM_SEND
 * @vm: the VM, held by the caller
 * @uarg: struct bigiron_vm_msg in user memory
 *
 * Sends to every node named or to none: a node that has a window of our
 * messages its launcher has not taken yet (bigiron_ssi_window()) makes it
 * fail with -EAGAIN.  The copies are charged to the caller's memory
 * cgroup.
 *
 * Return: 0 when queued for every node named; -ENOTCONN (a node named is
 * gone; nothing was sent to it, the others got it), -EAGAIN (try again
 * later), -EINTR, -EINVAL, -EFAULT, -ENOMEM.
 */
int bigiron_ssi_send(struct bigiron_vm *vm, void __user *uarg)
{
	/* pairs with the release in bigiron_cluster_set() */
	struct bigiron_cluster *cl = smp_load_acquire(&vm->cluster);
	struct bigiron_rx_msg *m[BIGIRON_MAX_NODES] = {};
	struct bi_wire_hdr h = { .type = BI_MSG_USER };
	DECLARE_BITMAP(map, BIGIRON_MAX_NODES);
	struct bigiron_vm_msg arg;
	struct bigiron_ssi *ssi;
	unsigned int node;
	u64 nodes;
	void *data;
	int err;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.size != sizeof(arg) || arg.flags || arg.pad ||
	    memchr_inv(arg.reserved, 0, sizeof(arg.reserved)))
		return -EINVAL;
	if (!cl || !arg.len || arg.len > BIGIRON_MSG_MAX)
		return -EINVAL;
	if (arg.node == BIGIRON_NODE_ALL)
		nodes = bigiron_ssi_others(cl);
	else if (arg.node < cl->nr_nodes && arg.node != cl->self)
		nodes = BIT_ULL(arg.node);
	else
		return -EINVAL;
	ssi = &cl->ssi;
	bitmap_from_u64(map, nodes);

	data = memdup_user(u64_to_user_ptr(arg.data), arg.len);
	if (IS_ERR(data))
		return PTR_ERR(data);
	h.payload_len = arg.len;

	err = mutex_lock_killable(&ssi->send_lock);
	if (err)
		goto out_data;
	/*
	 * Every node has room, or nothing is sent: credits only come in
	 * meanwhile, and the lock keeps other senders out.
	 */
	for_each_set_bit(node, map, BIGIRON_MAX_NODES) {
		struct bigiron_peer *pe = cl->peers[node];

		/* a dead node gets nothing, and does not hold up the others */
		if (READ_ONCE(pe->state) == BI_LINK_DEAD)
			continue;
		if (bigiron_ssi_out(pe) >= bigiron_ssi_window(cl)) {
			err = -EAGAIN;
			goto out_unlock;
		}
		m[node] = bigiron_peer_msg_new(&h, data, GFP_KERNEL_ACCOUNT);
		if (!m[node]) {
			err = -ENOMEM;
			goto out_unlock;
		}
	}
	for_each_set_bit(node, map, BIGIRON_MAX_NODES) {
		struct bigiron_peer *pe = cl->peers[node];

		if (!m[node]) {
			err = -ENOTCONN;
			continue;
		}
		/* before the send: its CREDIT may come back at once */
		WRITE_ONCE(pe->user_sent, pe->user_sent + 1);
		if (bigiron_peer_send_msg(pe, m[node])) {
			WRITE_ONCE(pe->user_sent, pe->user_sent - 1);
			err = -ENOTCONN;
		} else {
			atomic64_inc(&ssi->msgs_sent);
		}
		m[node] = NULL;
	}
out_unlock:
	mutex_unlock(&ssi->send_lock);
	for_each_set_bit(node, map, BIGIRON_MAX_NODES)
		kfree(m[node]);
out_data:
	kfree(data);
	return err;
}

static bool bigiron_ssi_ready(struct bigiron_ssi *ssi)
{
	return !list_empty_careful(&ssi->msgq) ||
	       !bitmap_empty(ssi->down, BIGIRON_MAX_NODES) ||
	       (READ_ONCE(ssi->lost) && !READ_ONCE(ssi->lost_told));
}

/**
 * bigiron_ssi_recv_ioctl - BIGIRON_VM_RECV
 * @vm: the VM, held by the caller
 * @uarg: struct bigiron_vm_recv in user memory
 *
 * Return: 0 with an event; -ETIMEDOUT, -EINTR (signal), -EMSGSIZE (len
 * says how much room the next message needs), -EINVAL, -EFAULT or
 * -ENOMEM (no memory for the credit the message owes its sender; the
 * message stays first in the queue).
 */
int bigiron_ssi_recv_ioctl(struct bigiron_vm *vm, void __user *uarg)
{
	/* pairs with the release in bigiron_cluster_set() */
	struct bigiron_cluster *cl = smp_load_acquire(&vm->cluster);
	struct bigiron_rx_msg *m;
	struct bigiron_vm_recv arg;
	struct bigiron_ssi *ssi;
	unsigned int node;
	bool lost;
	long left;
	int err;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.size != sizeof(arg) || arg.flags || arg.pad ||
	    arg.event || arg.node ||
	    memchr_inv(arg.reserved, 0, sizeof(arg.reserved)))
		return -EINVAL;
	if (!cl || arg.timeout_ms > BIGIRON_SSI_RECV_MAX_MS)
		return -EINVAL;
	ssi = &cl->ssi;

	left = wait_event_interruptible_timeout(ssi->wq, bigiron_ssi_ready(ssi),
						msecs_to_jiffies(arg.timeout_ms));
	if (left < 0)
		return -EINTR;
	if (mutex_lock_interruptible(&ssi->recv_lock))
		return -EINTR;

	/*
	 * A lost interrupt first: the VM must stop.  Reported once, once
	 * the launcher has the event (recv_lock keeps others out meanwhile).
	 */
	spin_lock_irq(&ssi->ring_lock);
	lost = ssi->lost && !ssi->lost_told;
	arg.node = ssi->lost_node;
	spin_unlock_irq(&ssi->ring_lock);
	if (lost) {
		arg.event = BIGIRON_EV_IPI_LOST;
		arg.len = 0;
		err = copy_to_user(uarg, &arg, sizeof(arg)) ? -EFAULT : 0;
		if (!err)
			WRITE_ONCE(ssi->lost_told, true);
		mutex_unlock(&ssi->recv_lock);
		return err;
	}
	/*
	 * Messages next: what a node sent before it died still counts.
	 * Only this thread takes messages (recv_lock): the first one stays
	 * first while the credit it may owe is allocated.
	 */
	spin_lock_bh(&ssi->msg_lock);
	m = list_first_entry_or_null(&ssi->msgq, struct bigiron_rx_msg, list);
	spin_unlock_bh(&ssi->msg_lock);
	if (m && m->hdr.payload_len > arg.len) {
		arg.len = m->hdr.payload_len;
		err = -EMSGSIZE;
		goto out;
	}
	if (m) {
		/* the link checked that hdr.src names another node */
		struct bigiron_peer *pe = cl->peers[m->hdr.src];
		struct bigiron_rx_msg *credit = NULL;

		if (pe->user_taken + 1 - pe->user_told >=
		    bigiron_ssi_window(cl) / 2) {
			struct bi_wire_hdr h = { .type = BI_MSG_CREDIT };

			/* a header, once per half window: not charged */
			credit = bigiron_peer_msg_new(&h, NULL, GFP_KERNEL);
			if (!credit) {
				mutex_unlock(&ssi->recv_lock);
				return -ENOMEM;
			}
		}
		spin_lock_bh(&ssi->msg_lock);
		list_del(&m->list);
		spin_unlock_bh(&ssi->msg_lock);
		arg.event = BIGIRON_EV_MSG;
		arg.node = m->hdr.src;
		arg.len = m->hdr.payload_len;
		if (copy_to_user(u64_to_user_ptr(arg.data), m->data,
				 m->hdr.payload_len) ||
		    copy_to_user(uarg, &arg, sizeof(arg))) {
			/* first again: recv_lock kept anyone from passing it */
			spin_lock_bh(&ssi->msg_lock);
			list_add(&m->list, &ssi->msgq);
			spin_unlock_bh(&ssi->msg_lock);
			mutex_unlock(&ssi->recv_lock);
			kfree(credit);
			return -EFAULT;
		}
		kfree(m);
		bigiron_ssi_unhold_msg(pe);
		pe->user_taken++;
		if (credit) {
			/* a dead peer's credit is not needed (and freed) */
			credit->hdr.txid = pe->user_taken;
			pe->user_told = pe->user_taken;
			bigiron_peer_send_msg(pe, credit);
		}
		mutex_unlock(&ssi->recv_lock);
		return 0;
	}
	/* a node down is cleared once the launcher has the event */
	for_each_set_bit(node, ssi->down, BIGIRON_MAX_NODES) {
		arg.event = BIGIRON_EV_NODE_DOWN;
		arg.node = node;
		arg.len = 0;
		err = copy_to_user(uarg, &arg, sizeof(arg)) ? -EFAULT : 0;
		if (!err)
			clear_bit(node, ssi->down);
		mutex_unlock(&ssi->recv_lock);
		return err;
	}
	mutex_unlock(&ssi->recv_lock);
	return -ETIMEDOUT;
out:
	mutex_unlock(&ssi->recv_lock);
	if (copy_to_user(uarg, &arg, sizeof(arg)))
		return -EFAULT;
	return err;
}

/* ---- lifetime ---------------------------------------------------------- */

void bigiron_ssi_init(struct bigiron_cluster *cl)
{
	struct bigiron_ssi *ssi = &cl->ssi;

	INIT_LIST_HEAD(&ssi->list);
	spin_lock_init(&ssi->ring_lock);
	INIT_DELAYED_WORK(&ssi->ipi_work, bigiron_ssi_ipi_work);
	spin_lock_init(&ssi->msg_lock);
	INIT_LIST_HEAD(&ssi->msgq);
	mutex_init(&ssi->send_lock);
	mutex_init(&ssi->recv_lock);
	init_waitqueue_head(&ssi->wq);
}

/*
 * Stop forwarding interrupts; the links are still there.  Context:
 * process, the VM's release.
 */
void bigiron_ssi_stop(struct bigiron_cluster *cl)
{
	struct bigiron_ssi *ssi = &cl->ssi;

	/* nothing queues interrupts from here: not the kprobe, not rx work */
	spin_lock_irq(&ssi->ring_lock);
	ssi->stopping = true;
	spin_unlock_irq(&ssi->ring_lock);

	mutex_lock(&bigiron_ssi_lock);
	if (ssi->kvm) {
		list_del_rcu(&ssi->list);
		/* waits for every running handler */
		if (!--bigiron_ssi_users)
			unregister_kprobe(&bigiron_ssi_kp);
	}
	mutex_unlock(&bigiron_ssi_lock);
	/*
	 * No kprobe handler still runs on @ssi, and none (nor the rx work)
	 * queues the work again; it re-queues itself only while the ring
	 * holds something, which cancel_delayed_work_sync() copes with.
	 */
	synchronize_rcu();
	cancel_delayed_work_sync(&ssi->ipi_work);
}

/* Free what is left; after the peers stopped (no more receive work). */
void bigiron_ssi_free(struct bigiron_cluster *cl)
{
	struct bigiron_ssi *ssi = &cl->ssi;
	struct bigiron_rx_msg *m, *tmp;

	list_for_each_entry_safe(m, tmp, &ssi->msgq, list)
		kfree(m);
	INIT_LIST_HEAD(&ssi->msgq);
	if (ssi->kvm)
		kvm_put_kvm(ssi->kvm);
	ssi->kvm = NULL;
	kfree(ssi->vcpu_node);
	ssi->vcpu_node = NULL;
}

/*
 * Module init: check that KVM's interrupt delivery can be hooked, and
 * refuse to load when it cannot (KVM not loaded, no CONFIG_KPROBES, or a
 * kernel that renamed the function).
 */
int bigiron_ssi_module_init(void)
{
	int err;

	mutex_lock(&bigiron_ssi_lock);
	err = bigiron_ssi_hook();
	if (!err)
		unregister_kprobe(&bigiron_ssi_kp);
	mutex_unlock(&bigiron_ssi_lock);
	if (err)
		pr_err("cannot hook %s (error %d): is the kvm module loaded and the kernel built with CONFIG_KPROBES?\n",
		       BIGIRON_SSI_HOOK, err);
	return err;
}

void bigiron_ssi_module_exit(void)
{
	/* every VM is gone: nothing holds the hook */
	WARN_ON(bigiron_ssi_users);
}
