// SPDX-License-Identifier: GPL-2.0
/*
 * Clusters: BIGIRON_VM_SET_CLUSTER turns a VM into this host's node
 * instance of a multi-host VM; BIGIRON_VM_JOIN brings the link to every
 * other node up; BIGIRON_VM_PING measures round trips on one link.
 *
 * Setup, in order: the node table and keys, the peers (closed links),
 * their sysfs and debugfs files, the netdevice notifier, then under RTNL
 * the receive handler on the interface (if it is still registered), and
 * last vm->cluster, which publishes the instance to JOIN and PING.
 * Teardown runs from the VM's last put, in reverse: detach from the
 * interface (every peer dead, no more transmits, handler removed, which
 * waits for running handlers, reference dropped), the notifier, the
 * peers' timers and work, the files, the memory.
 *
 * The interface may go first: NETDEV_UNREGISTER detaches the same way
 * under RTNL, so "ip link del" never waits for the VM to close.
 *
 * Locking: see cluster.h.  RTNL orders attach and detach; cl->detached
 * and cl->stopping are written under RTNL and under every peer lock in
 * turn, and read under any one of them.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/debugfs.h>
#include <linux/etherdevice.h>
#include <linux/if_arp.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/lockdep.h>
#include <linux/moduleparam.h>
#include <linux/netdevice.h>
#include <linux/nsproxy.h>
#include <linux/random.h>
#include <linux/rtnetlink.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <net/net_namespace.h>

#include "cluster.h"

static unsigned int join_timeout_ms = 30000;
module_param(join_timeout_ms, uint, 0644);
MODULE_PARM_DESC(join_timeout_ms,
		 "Longest wait of BIGIRON_VM_JOIN for every peer link to come up, in ms, when the caller gives 0 (default 30000)");

static unsigned int link_max_retries = 12;
module_param(link_max_retries, uint, 0644);
MODULE_PARM_DESC(link_max_retries,
		 "Consecutive retransmission timeouts after which a peer is declared dead; read at SET_CLUSTER (default 12, 1..30)");

/* Smallest frame payload limit SET_CLUSTER accepts (IPv4's minimum MTU). */
#define BIGIRON_MIN_MTU		576

static const char * const bigiron_drop_names[BIGIRON_DROP_NR] = {
	[BIGIRON_DROP_SHORT]		= "short",
	[BIGIRON_DROP_LONG]		= "long",
	[BIGIRON_DROP_NOMEM]		= "rx_nomem",
	[BIGIRON_DROP_OTHERHOST]	= "other_host",
	[BIGIRON_DROP_SRC_MAC]		= "bad_src_mac",
	[BIGIRON_DROP_STOPPED]		= "stopped",
	[BIGIRON_DROP_COH_NOMEM]	= "coh_nomem",
	[BIGIRON_DROP_RXQ_FULL]		= "rxq_full",
	[BIGIRON_DROP_MSGQ_FULL]	= "msgq_full",
	[BIGIRON_DROP_BAD_CREDIT]	= "bad_credit",
	[BIGIRON_DROP_BAD_PONG]		= "bad_pong",
	[BIGIRON_DROP_PONG_TX]		= "pong_no_window",
	[BIGIRON_DROP_TX_NOMEM]		= "tx_nomem",
	[BIGIRON_DROP_TX_ERR]		= "tx_error",
	[BIGIRON_DROP_NO_CONN]		= "no_connection",
	[BIGIRON_DROP_NO_CREDIT]	= "no_credit",
	[BIGIRON_DROP_DUP_UNREAD]	= "dup_unread",
};

const char *bigiron_drop_name(enum bigiron_drop why)
{
	if ((unsigned int)why >= BIGIRON_DROP_NR)
		return "unknown";
	return bigiron_drop_names[why];
}

/* ---- validation -------------------------------------------------------- */

static int bigiron_cluster_check_arg(const struct bigiron_vm_cluster *arg)
{
	if (arg->size != sizeof(*arg) || arg->flags || arg->pad)
		return -EINVAL;
	if (memchr_inv(arg->reserved, 0, sizeof(arg->reserved)))
		return -EINVAL;
	if (!arg->cluster_id || arg->nr_nodes < 2 ||
	    arg->nr_nodes > BIGIRON_MAX_NODES || arg->self >= arg->nr_nodes)
		return -EINVAL;
	if (arg->mtu && arg->mtu < BIGIRON_MIN_MTU)
		return -EINVAL;
	if (!arg->nodes)
		return -EINVAL;
	switch (arg->transport) {
	case BIGIRON_TRANSPORT_ETH:
		return 0;
	case BIGIRON_TRANSPORT_RDMA:
		if (!BIGIRON_HAVE_RDMA)
			return -EOPNOTSUPP;
		/* rdma_cm finds the device; a frame is a whole page */
		return arg->ifindex || arg->mtu ? -EINVAL : 0;
	default:
		return -EOPNOTSUPP;
	}
}

/*
 * Ethernet: MACs unicast, non-zero, distinct, no RDMA address; RDMA:
 * bigiron_rdma_check_nodes().  Home ranges tile [0, mem_size).
 */
static int bigiron_cluster_check_nodes(const struct bigiron_node_desc *nodes,
				       unsigned int nr, u64 mem_size,
				       u32 transport)
{
	bool eth = transport == BIGIRON_TRANSPORT_ETH;
	u64 total = 0;
	unsigned int i, j;

	if (!eth && bigiron_rdma_check_nodes(nodes, nr))
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		const struct bigiron_node_desc *n = &nodes[i];

		if (eth && (n->port || memchr_inv(n->addr, 0, sizeof(n->addr))))
			return -EINVAL;
		if (eth && !is_valid_ether_addr(n->mac))
			return -EINVAL;
		if (!IS_ALIGNED(n->home_start, PAGE_SIZE) ||
		    !IS_ALIGNED(n->home_size, PAGE_SIZE))
			return -EINVAL;
		if (n->home_start > mem_size ||
		    n->home_size > mem_size - n->home_start)
			return -EINVAL;
		total += n->home_size;
		for (j = 0; j < i; j++) {
			const struct bigiron_node_desc *o = &nodes[j];

			if (eth && ether_addr_equal(n->mac, o->mac))
				return -EINVAL;
			if (n->home_size && o->home_size &&
			    n->home_start < o->home_start + o->home_size &&
			    o->home_start < n->home_start + n->home_size)
				return -EINVAL;
		}
	}
	/* in bounds, disjoint and summing to mem_size: an exact tiling */
	return total == mem_size ? 0 : -EINVAL;
}

/* ---- attach and detach ------------------------------------------------- */

/* Set a flag read under any peer lock: write it under all of them. */
static void bigiron_cluster_stop_peers(struct bigiron_cluster *cl,
				       bool stopping)
{
	struct bigiron_peer *pe;
	unsigned int i;

	for (i = 0; i < cl->nr_nodes; i++) {
		pe = cl->peers[i];
		if (!pe)
			continue;
		spin_lock_bh(&pe->lock);
		if (stopping)
			WRITE_ONCE(cl->stopping, true);
		WRITE_ONCE(cl->detached, true);
		bigiron_peer_kill_locked(pe);
		spin_unlock_bh(&pe->lock);
	}
}

/*
 * Stop using the interface: every peer dead, nothing sent any more, the
 * receive handler removed (dev_remove_pack() waits for running handlers),
 * the reference dropped.
 */
static void bigiron_cluster_detach(struct bigiron_cluster *cl, bool stopping)
{
	ASSERT_RTNL();

	if (cl->detached && !cl->dev) {
		if (stopping)
			bigiron_cluster_stop_peers(cl, true);
		return;
	}
	bigiron_cluster_stop_peers(cl, stopping);
	if (cl->pt.dev)
		dev_remove_pack(&cl->pt);
	cl->pt.dev = NULL;
	netdev_put(cl->dev, &cl->dev_tracker);
	cl->dev = NULL;
}

/*
 * The interface's MTU changed: frames follow it (up to the MTU given to
 * SET_CLUSTER, if any).  Messages already in flight keep their fragments;
 * a retransmission uses the new size, which the receiver reassembles.
 */
static void bigiron_cluster_change_mtu(struct bigiron_cluster *cl, u32 mtu)
{
	struct bigiron_peer *pe;
	unsigned int i;
	u32 frag;

	ASSERT_RTNL();

	if (cl->mtu_cfg)
		mtu = min(mtu, cl->mtu_cfg);
	frag = bigiron_eth_frag_size(mtu);
	if (!frag) {
		pr_warn("vm%u: %s: MTU %u is below the %u bytes bigiron frames need: frames stay at %u bytes and will be dropped\n",
			cl->vm->id, cl->dev->name, mtu,
			BI_WIRE_HDR_LEN + BI_WIRE_MIN_FRAG,
			BI_WIRE_HDR_LEN + cl->frag_size);
		return;
	}
	if (frag == cl->frag_size)
		return;
	/* link.c reads the size under a peer lock: change it under each */
	for (i = 0; i < cl->nr_nodes; i++) {
		pe = cl->peers[i];
		if (!pe)
			continue;
		spin_lock_bh(&pe->lock);
		WRITE_ONCE(cl->link.params.frag_size, frag);
		spin_unlock_bh(&pe->lock);
	}
	WRITE_ONCE(cl->frag_size, frag);
	pr_info("vm%u: %s: MTU %u, %u-byte frame payloads\n", cl->vm->id,
		cl->dev->name, mtu, frag);
}

static int bigiron_cluster_netdev_event(struct notifier_block *nb,
					unsigned long event, void *ptr)
{
	struct bigiron_cluster *cl = container_of(nb, struct bigiron_cluster,
						  nb);
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);

	if (!cl->dev || dev != cl->dev)
		return NOTIFY_DONE;
	switch (event) {
	case NETDEV_CHANGEMTU:
		bigiron_cluster_change_mtu(cl, dev->mtu);
		return NOTIFY_OK;
	case NETDEV_UNREGISTER:
		pr_warn("vm%u: interface %s went away: every peer is dead\n",
			cl->vm->id, dev->name);
		bigiron_cluster_detach(cl, false);
		return NOTIFY_OK;
	default:
		return NOTIFY_DONE;
	}
}

/* ---- debugfs ----------------------------------------------------------- */

static int bigiron_cluster_dbg_show(struct seq_file *m, void *unused)
{
	struct bigiron_cluster *cl = m->private;
	unsigned int i;

	seq_printf(m, "cluster_id %u\nself %u\nnr_nodes %u\nframe_payload %u\n",
		   cl->id, cl->self, cl->nr_nodes, READ_ONCE(cl->frag_size));
	seq_printf(m, "boot_nonce %08x\ndetached %u\ntransport %s\n",
		   cl->link.boot, READ_ONCE(cl->detached),
		   cl->transport == BIGIRON_TRANSPORT_RDMA ? "rdma" :
		   "ethernet");
	if (cl->transport == BIGIRON_TRANSPORT_RDMA)
		bigiron_rdma_dbg(m, cl);
	for (i = 1; i < BI_WIRE_DROP_NR; i++)
		seq_printf(m, "drop_%s %lld\n", bi_wire_drop_name(i),
			   (s64)atomic64_read(&cl->wire_drops[i]));
	for (i = 0; i < BIGIRON_DROP_NR; i++)
		seq_printf(m, "drop_%s %lld\n", bigiron_drop_name(i),
			   (s64)atomic64_read(&cl->drops[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bigiron_cluster_dbg);

static int bigiron_peers_dbg_show(struct seq_file *m, void *unused)
{
	struct bigiron_cluster *cl = m->private;
	u64 drops[BIGIRON_DROP_NR], reasm[BI_REASM_DROP_NR];
	u64 srtt, rttvar, rto;
	struct bi_link_stats st;
	struct bigiron_peer *pe;
	unsigned int i, j;
	u32 backlog;
	u8 state;

	for (i = 0; i < cl->nr_nodes; i++) {
		pe = cl->peers[i];
		if (!pe)
			continue;
		spin_lock_bh(&pe->lock);
		st = pe->lp.stats;
		memcpy(drops, pe->drops, sizeof(drops));
		memcpy(reasm, pe->lp.reasm.drops, sizeof(reasm));
		state = pe->lp.state;
		srtt = pe->lp.srtt_ns;
		rttvar = pe->lp.rttvar_ns;
		rto = pe->lp.rto_ns;
		backlog = pe->txq_len;
		spin_unlock_bh(&pe->lock);

		seq_printf(m, "node%u %pM state %u\n", i, cl->nodes[i].mac,
			   state);
		seq_printf(m, "  rx_frames %llu tx_frames %llu tx_msgs %llu delivered %llu\n",
			   st.rx_frames, st.tx_frames, st.tx_msgs,
			   st.delivered);
		seq_printf(m, "  retransmits %llu timeouts %llu acks %llu heartbeats %llu hellos %llu\n",
			   st.retransmits, st.timeouts, st.acks,
			   st.heartbeats, st.hellos);
		seq_printf(m, "  srtt_us %llu rttvar_us %llu rto_us %llu rtt_samples %llu backlog %u\n",
			   div_u64(srtt, NSEC_PER_USEC),
			   div_u64(rttvar, NSEC_PER_USEC),
			   div_u64(rto, NSEC_PER_USEC), st.rtt_samples,
			   backlog);
		for (j = 0; j < BI_LINK_DROP_NR; j++)
			seq_printf(m, "  drop_%s %llu\n", bi_link_drop_name(j),
				   st.drops[j]);
		for (j = 1; j < BI_REASM_DROP_NR; j++)
			seq_printf(m, "  drop_%s %llu\n", bi_reasm_drop_name(j),
				   reasm[j]);
		for (j = 0; j < BIGIRON_DROP_NR; j++)
			seq_printf(m, "  drop_%s %llu\n", bigiron_drop_name(j),
				   drops[j]);
		if (cl->transport == BIGIRON_TRANSPORT_RDMA)
			bigiron_rdma_dbg_peer(m, pe);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(bigiron_peers_dbg);

/*
 * debugfs vm<id>/fail_rx, a test knob: write N and the next N messages
 * received from any peer fail their allocation as if memory had run out
 * (the link refuses them, the peer sends them again); reads what is left.
 */
static int bigiron_fail_rx_get(void *data, u64 *val)
{
	struct bigiron_cluster *cl = data;

	*val = atomic_read(&cl->fail_rx);
	return 0;
}

static int bigiron_fail_rx_set(void *data, u64 val)
{
	struct bigiron_cluster *cl = data;

	if (val > INT_MAX)
		return -EINVAL;
	atomic_set(&cl->fail_rx, (int)val);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(bigiron_fail_rx_fops, bigiron_fail_rx_get,
			 bigiron_fail_rx_set, "%llu\n");

/* ---- creation and teardown --------------------------------------------- */

static void bigiron_cluster_free(struct bigiron_cluster *cl)
{
	unsigned int i;

	bigiron_ssi_free(cl);
	bigiron_dsm_free(cl);
	debugfs_remove(cl->dbg_fail_rx);
	debugfs_remove(cl->dbg_peers);
	debugfs_remove(cl->dbg_cluster);
	for (i = 0; i < cl->nr_nodes; i++)
		if (cl->peers[i])
			bigiron_peer_put(cl->peers[i]);
	kobject_put(cl->peers_kobj);
	kfree(cl->nodes);
	memzero_explicit(&cl->mac_key, sizeof(cl->mac_key));
	kfree(cl);
}

static struct bigiron_cluster *
bigiron_cluster_create(struct bigiron_vm *vm, const struct bigiron_vm_cluster *arg,
		       struct bigiron_node_desc *nodes, struct net_device *dev,
		       u32 frag)
{
	struct bi_link_params params;
	struct bigiron_cluster *cl;
	struct bigiron_peer *pe;
	unsigned int i;
	u32 boot;
	int err;

	cl = kzalloc(sizeof(*cl), GFP_KERNEL);
	if (!cl)
		return ERR_PTR(-ENOMEM);
	cl->vm = vm;
	bigiron_ssi_init(cl);
	cl->id = arg->cluster_id;
	cl->transport = arg->transport;
	cl->self = arg->self;
	cl->nr_nodes = arg->nr_nodes;
	cl->frag_size = frag;
	cl->mtu_cfg = arg->mtu;
	cl->nodes = nodes;
	cl->detached = true;	/* until attached to @dev */
	init_waitqueue_head(&cl->wq);
	mutex_init(&cl->ping_lock);
	blake2s_init_key(&cl->mac_key, BI_WIRE_MAC_LEN, arg->key,
			 BIGIRON_KEY_SIZE);

	cl->wire.cluster = cl->id;
	cl->wire.self = cl->self;
	cl->wire.nr_nodes = cl->nr_nodes;
	cl->wire.nr_pages = bigiron_vm_nr_pages(vm);
	cl->wire.mac = bigiron_eth_mac;
	cl->wire.mac_priv = &cl->mac_key;
	cl->wire.seq_ref = bigiron_eth_seq_ref;
	cl->wire.seq_priv = cl;

	bi_link_default_params(&params);
	params.frag_size = cl->frag_size;
	params.max_retries = clamp(READ_ONCE(link_max_retries), 1U, 30U);
	do {
		boot = get_random_u32();
	} while (!boot);
	err = bi_link_init(&cl->link, &cl->wire, &params,
			   cl->transport == BIGIRON_TRANSPORT_RDMA ?
			   &bigiron_peer_rdma_link_ops :
			   &bigiron_peer_link_ops, cl, boot);
	if (err)
		goto err_free;

	err = bigiron_dsm_init(cl);
	if (err)
		goto err_free;

	cl->peers_kobj = kobject_create_and_add("peers", &vm->kobj);
	if (!cl->peers_kobj) {
		err = -ENOMEM;
		goto err_free;
	}
	for (i = 0; i < cl->nr_nodes; i++) {
		if (i == cl->self)
			continue;
		pe = bigiron_peer_create(cl, i);
		if (IS_ERR(pe)) {
			err = PTR_ERR(pe);
			goto err_free;
		}
		cl->peers[i] = pe;
		err = bigiron_peer_publish(pe);
		if (err)
			goto err_free;
	}
	cl->dbg_cluster = debugfs_create_file("cluster", 0444, vm->debugfs,
					      cl, &bigiron_cluster_dbg_fops);
	cl->dbg_peers = debugfs_create_file("peers", 0444, vm->debugfs, cl,
					    &bigiron_peers_dbg_fops);
	cl->dbg_fail_rx = debugfs_create_file_unsafe("fail_rx", 0600,
						     vm->debugfs, cl,
						     &bigiron_fail_rx_fops);
	cl->dev = dev;
	return cl;

err_free:
	cl->nodes = NULL;	/* the caller's */
	bigiron_cluster_free(cl);
	return ERR_PTR(err);
}

/*
 * Receive on the interface, under RTNL: unless it went away since
 * SET_CLUSTER found it (the notifier's NETDEV_UNREGISTER then dropped it
 * already, cl->dev is NULL) or is being unregistered (whose event the
 * notifier may have missed).
 */
static int bigiron_cluster_attach(struct bigiron_cluster *cl)
{
	int err = 0;

	rtnl_lock();
	if (!cl->dev || cl->dev->reg_state != NETREG_REGISTERED) {
		err = -EINVAL;
	} else {
		bigiron_eth_init(cl);
		/* no peer lock needed: nothing runs on the peers yet */
		WRITE_ONCE(cl->detached, false);
		dev_add_pack(&cl->pt);
	}
	rtnl_unlock();
	return err;
}

/*
 * Stop every timer and work item of a detached instance (cl->stopping set,
 * the receive handler gone): the peers', then the coherence tick, which a
 * peer's death queues.
 */
static void bigiron_cluster_stop(struct bigiron_cluster *cl)
{
	unsigned int i;

	for (i = 0; i < cl->nr_nodes; i++)
		if (cl->peers[i])
			bigiron_peer_stop(cl->peers[i]);
	bigiron_dsm_stop(cl);
}

/*
 * The RDMA transport's detach: every peer dead and nothing sent any more
 * (under the peer locks, as on Ethernet), then the connections and the
 * listener released.  Sleeps; not under RTNL (the connection manager
 * takes it).
 */
static void bigiron_cluster_detach_rdma(struct bigiron_cluster *cl)
{
	/* their readers look into the transport, freed below */
	debugfs_remove(cl->dbg_cluster);
	cl->dbg_cluster = NULL;
	debugfs_remove(cl->dbg_peers);
	cl->dbg_peers = NULL;
	bigiron_cluster_stop_peers(cl, true);
	bigiron_rdma_detach(cl);
}

/* SET_CLUSTER with the RDMA transport; @nodes is the instance's on 0. */
static int bigiron_cluster_set_rdma(struct bigiron_vm *vm,
				    const struct bigiron_vm_cluster *arg,
				    struct bigiron_node_desc *nodes)
{
	struct bigiron_cluster *cl;
	int err;

	/* the instance takes connections on the namespace's addresses */
	if (!ns_capable(current->nsproxy->net_ns->user_ns, CAP_NET_ADMIN))
		return -EPERM;
	cl = bigiron_cluster_create(vm, arg, nodes, NULL, BI_PAGE_SIZE);
	if (IS_ERR(cl))
		return PTR_ERR(cl);
	err = bigiron_rdma_attach(cl);
	if (err) {
		cl->nodes = NULL;	/* the caller's on error */
		bigiron_cluster_detach_rdma(cl);
		bigiron_cluster_stop(cl);
		bigiron_cluster_free(cl);
		return err;
	}
	/* no peer lock needed: nothing runs on the peers yet */
	WRITE_ONCE(cl->detached, false);
	/* pairs with the smp_load_acquire() of JOIN and PING */
	smp_store_release(&vm->cluster, cl);
	pr_info("vm%u: node %u of %u in cluster %u over RDMA\n", vm->id,
		cl->self, cl->nr_nodes, cl->id);
	return 0;
}

/**
 * bigiron_cluster_set - BIGIRON_VM_SET_CLUSTER
 * @vm: the VM, held by the caller, which serializes calls per VM
 * @uarg: struct bigiron_vm_cluster in user memory
 *
 * Return: 0, -EINVAL (bad argument), -EPERM (no CAP_NET_ADMIN in the
 * interface's network namespace, or the caller's for RDMA), -EOPNOTSUPP
 * (transport), -EEXIST (set already), -EBUSY (a page of the memory file
 * was touched), -EFAULT, -ENOMEM; RDMA: -ENODEV or -EADDRNOTAVAIL (no
 * RDMA device has this node's address), -EADDRINUSE (its port is taken).
 */
int bigiron_cluster_set(struct bigiron_vm *vm, const void __user *uarg)
{
	struct bigiron_node_desc *nodes;
	struct bigiron_vm_cluster arg;
	struct bigiron_cluster *cl;
	struct net_device *dev;
	u32 mtu;
	int err;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	err = bigiron_cluster_check_arg(&arg);
	if (err)
		return err;
	if (vm->cluster)
		return -EEXIST;
	/* a VM with a cluster does not hold every page: none may exist yet */
	if (bigiron_mem_resident_pages(vm))
		return -EBUSY;

	nodes = memdup_user(u64_to_user_ptr(arg.nodes),
			    array_size(arg.nr_nodes, sizeof(*nodes)));
	if (IS_ERR(nodes))
		return PTR_ERR(nodes);
	err = bigiron_cluster_check_nodes(nodes, arg.nr_nodes, vm->mem_size,
					  arg.transport);
	if (err)
		goto err_nodes;
	if (arg.transport == BIGIRON_TRANSPORT_RDMA) {
		err = bigiron_cluster_set_rdma(vm, &arg, nodes);
		if (err)
			goto err_nodes;
		memzero_explicit(&arg.key, sizeof(arg.key));
		return 0;
	}

	err = -EINVAL;
	dev = dev_get_by_index(current->nsproxy->net_ns, arg.ifindex);
	if (!dev)
		goto err_nodes;
	/*
	 * The instance sends and takes raw frames on the interface: what a
	 * packet socket bound to it may do, and more (its own ethertype
	 * handler), so the caller must administer its network namespace.
	 */
	if (!ns_capable(dev_net(dev)->user_ns, CAP_NET_ADMIN)) {
		dev_put(dev);
		err = -EPERM;
		goto err_nodes;
	}
	mtu = arg.mtu ? arg.mtu : dev->mtu;
	if (dev->type != ARPHRD_ETHER || dev->addr_len != ETH_ALEN ||
	    (dev->flags & IFF_LOOPBACK) || mtu > dev->mtu ||
	    !bigiron_eth_frag_size(mtu) ||
	    !ether_addr_equal(nodes[arg.self].mac, dev->dev_addr)) {
		dev_put(dev);
		goto err_nodes;
	}

	cl = bigiron_cluster_create(vm, &arg, nodes, dev,
				    bigiron_eth_frag_size(mtu));
	if (IS_ERR(cl)) {
		err = PTR_ERR(cl);
		dev_put(dev);
		goto err_nodes;
	}
	/* the reference of dev_get_by_index() is the instance's from here */
	netdev_tracker_alloc(dev, &cl->dev_tracker, GFP_KERNEL);
	memzero_explicit(&arg.key, sizeof(arg.key));

	cl->nb.notifier_call = bigiron_cluster_netdev_event;
	err = register_netdevice_notifier(&cl->nb);
	if (err)
		goto err_cl;
	err = bigiron_cluster_attach(cl);
	if (err)
		goto err_nb;

	/*
	 * JOIN and PING find the instance from here on; pairs with their
	 * smp_load_acquire()
	 */
	smp_store_release(&vm->cluster, cl);
	pr_info("vm%u: node %u of %u in cluster %u on %s, %u-byte frame payloads\n",
		vm->id, cl->self, cl->nr_nodes, cl->id, dev->name,
		cl->frag_size);
	return 0;

err_nb:
	unregister_netdevice_notifier(&cl->nb);
err_cl:
	/*
	 * As bigiron_cluster_destroy(): a NETDEV_UNREGISTER meanwhile may
	 * have killed the peers, which queues the coherence tick.
	 */
	rtnl_lock();
	bigiron_cluster_detach(cl, true);
	rtnl_unlock();
	bigiron_cluster_stop(cl);
	bigiron_cluster_free(cl);
	return err;

err_nodes:
	kfree(nodes);
	memzero_explicit(&arg.key, sizeof(arg.key));
	return err;
}

/**
 * bigiron_cluster_destroy - tear the node instance of @vm down, if any
 * @vm: the VM, in its release
 */
void bigiron_cluster_destroy(struct bigiron_vm *vm)
{
	struct bigiron_cluster *cl = vm->cluster;

	if (!cl)
		return;
	bigiron_ssi_stop(cl);
	if (cl->transport == BIGIRON_TRANSPORT_RDMA) {
		bigiron_cluster_detach_rdma(cl);
		bigiron_cluster_stop(cl);
		vm->cluster = NULL;
		bigiron_cluster_free(cl);
		return;
	}
	rtnl_lock();
	bigiron_cluster_detach(cl, true);
	rtnl_unlock();
	unregister_netdevice_notifier(&cl->nb);
	bigiron_cluster_stop(cl);
	vm->cluster = NULL;
	bigiron_cluster_free(cl);
}

/* ---- JOIN -------------------------------------------------------------- */

static u64 bigiron_cluster_up_mask(struct bigiron_cluster *cl)
{
	u64 mask = BIT_ULL(cl->self);
	unsigned int i;

	for (i = 0; i < cl->nr_nodes; i++)
		if (cl->peers[i] && READ_ONCE(cl->peers[i]->state) == BI_LINK_UP)
			mask |= BIT_ULL(i);
	return mask;
}

static u64 bigiron_cluster_full_mask(struct bigiron_cluster *cl)
{
	return cl->nr_nodes == 64 ? ~0ULL : BIT_ULL(cl->nr_nodes) - 1;
}

/* JOIN waits on: all up, the interface gone, or a handshake to restart. */
static bool bigiron_cluster_join_wake(struct bigiron_cluster *cl)
{
	unsigned int i;

	if (bigiron_cluster_up_mask(cl) == bigiron_cluster_full_mask(cl) ||
	    READ_ONCE(cl->detached))
		return true;
	for (i = 0; i < cl->nr_nodes; i++)
		if (cl->peers[i] &&
		    READ_ONCE(cl->peers[i]->state) == BI_LINK_DEAD &&
		    !READ_ONCE(cl->peers[i]->ever_up))
			return true;
	return false;
}

static int bigiron_cluster_do_join(struct bigiron_cluster *cl,
				   unsigned int timeout_ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	unsigned int i;
	long left;

	if (cl->transport == BIGIRON_TRANSPORT_RDMA)
		bigiron_rdma_join(cl, timeout_ms);
	for (;;) {
		for (i = 0; i < cl->nr_nodes; i++)
			if (cl->peers[i])
				bigiron_peer_join(cl->peers[i]);
		if (bigiron_cluster_up_mask(cl) ==
		    bigiron_cluster_full_mask(cl))
			return 0;
		if (READ_ONCE(cl->detached))
			return -ENETDOWN;
		left = (long)(deadline - jiffies);
		if (left <= 0)
			return -ETIMEDOUT;
		left = wait_event_killable_timeout(cl->wq,
						   bigiron_cluster_join_wake(cl),
						   left);
		if (left < 0)
			return -EINTR;
	}
}

/**
 * bigiron_cluster_join - BIGIRON_VM_JOIN
 * @vm: the VM, held by the caller
 * @uarg: struct bigiron_vm_join in user memory
 *
 * Return: 0 when every link is up, -ETIMEDOUT (up_mask tells which are),
 * -ENETDOWN (the interface went away), -EINTR (fatal signal), -EINVAL
 * (bad argument or no cluster), -EFAULT.
 */
int bigiron_cluster_join(struct bigiron_vm *vm, void __user *uarg)
{
	/* pairs with the release in bigiron_cluster_set() */
	struct bigiron_cluster *cl = smp_load_acquire(&vm->cluster);
	struct bigiron_vm_join arg;
	int err;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.size != sizeof(arg) || arg.flags || arg.pad ||
	    memchr_inv(arg.reserved, 0, sizeof(arg.reserved)))
		return -EINVAL;
	if (!cl)
		return -EINVAL;

	err = bigiron_cluster_do_join(cl, arg.timeout_ms ?:
				      READ_ONCE(join_timeout_ms));
	arg.up_mask = bigiron_cluster_up_mask(cl);
	if (err != -EINTR && copy_to_user(uarg, &arg, sizeof(arg)))
		return -EFAULT;
	return err;
}

/* ---- PING -------------------------------------------------------------- */

/**
 * bigiron_cluster_ping - BIGIRON_VM_PING
 * @vm: the VM, held by the caller
 * @uarg: struct bigiron_vm_ping in user memory
 *
 * Return: 0 with every round trip stored, or the first error of
 * bigiron_peer_ping(); -EINVAL (bad argument or no cluster), -EINTR
 * (killed while waiting for another PING), -EFAULT, -ENOMEM.
 */
int bigiron_cluster_ping(struct bigiron_vm *vm, void __user *uarg)
{
	/* pairs with the release in bigiron_cluster_set() */
	struct bigiron_cluster *cl = smp_load_acquire(&vm->cluster);
	struct bigiron_vm_ping arg;
	u64 *rtt;
	u8 *payload;
	unsigned int i;
	int err = 0;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.size != sizeof(arg) || arg.flags || arg.pad || arg.pad2 ||
	    memchr_inv(arg.reserved, 0, sizeof(arg.reserved)))
		return -EINVAL;
	if (!arg.count || arg.count > 4096 ||
	    (arg.payload && arg.payload != BI_PAGE_SIZE) || !arg.rtt_ns)
		return -EINVAL;
	if (!cl || arg.node >= cl->nr_nodes || arg.node == cl->self)
		return -EINVAL;

	rtt = kvcalloc(arg.count, sizeof(*rtt), GFP_KERNEL_ACCOUNT);
	payload = kmalloc(BI_PAGE_SIZE, GFP_KERNEL_ACCOUNT);
	if (!rtt || !payload) {
		err = -ENOMEM;
		goto out;
	}

	/*
	 * One PING at a time, up to a second each: a caller queued behind
	 * another's long series can still be killed.
	 */
	err = mutex_lock_killable(&cl->ping_lock);
	if (err)
		goto out;
	for (i = 0; i < arg.count && !err; i++) {
		get_random_bytes(payload, arg.payload);
		err = bigiron_peer_ping(cl->peers[arg.node], payload,
					arg.payload, &rtt[i]);
	}
	mutex_unlock(&cl->ping_lock);

	if (!err && copy_to_user(u64_to_user_ptr(arg.rtt_ns), rtt,
				 array_size(arg.count, sizeof(*rtt))))
		err = -EFAULT;
out:
	kfree(payload);
	kvfree(rtt);
	return err;
}
