// SPDX-License-Identifier: GPL-2.0
/*
 * bi_coh_mark_dead() from two threads at once.
 *
 * The kernel calls it from a peer's link state callback, under that peer's
 * lock only, so two peers that die together mark their bits at the same
 * time; coh.h promises the mask only gains bits. With a load and a store
 * instead of one atomic OR, one thread can store the mask it loaded before
 * the other's bit arrived, and that bit is lost: a dead node the protocol
 * keeps sending to and waiting for, until the deadlines fail everything.
 *
 * Each round takes a freshly initialised node (3 nodes, self 0); thread A
 * (main) marks node 1 and thread B marks node 2, both released by the same
 * rendezvous; then both bits must be set, and no other. The window is a
 * few instructions wide; with the mask's cache line shared by both CPUs
 * beforehand (see main()) a load-and-store version lost a bit in 0.05% to
 * 5% of the rounds on two CPUs. It needs two CPUs: on one, a pass proves
 * nothing.
 *
 *   ./test_coh_dead [ROUNDS]
 */
#include <pthread.h>
#include <sched.h>
#include "common.h"
#include "coh.h"

static struct bi_coh_node cd_node;
static const struct bi_coh_ops cd_ops;	/* bi_coh_mark_dead() calls none */
static unsigned long cd_rounds;
/* arrivals at the three rendezvous of the rounds: 2 per round each */
static unsigned long cd_ready, cd_start, cd_finish;
/* rounds where B found a bit set before the marks (A counts its own) */
static unsigned long cd_unclean_b;

/*
 * Arrive at the rendezvous of round r on ctr and wait for the other
 * thread. The last to arrive leaves at once, the other as soon as it sees
 * the count; that is as close together as two threads get released. Spin
 * (a yield would put them far apart), but yield when the other thread is
 * long in coming: it may not be running.
 */
static void cd_meet(unsigned long *ctr, unsigned long r)
{
	unsigned int spins = 0;

	__atomic_add_fetch(ctr, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(ctr, __ATOMIC_ACQUIRE) < 2 * r)
		if (++spins > 100000)
			sched_yield();
}

static void *cd_thread_b(void *arg)
{
	unsigned long r;

	(void)arg;
	for (r = 1; r <= cd_rounds; r++) {
		/* A initialised the node before it arrived */
		cd_meet(&cd_ready, r);
		cd_unclean_b += BI_READ_ONCE(cd_node.dead) != 0;
		cd_meet(&cd_start, r);
		bi_coh_mark_dead(&cd_node, 2);
		cd_meet(&cd_finish, r);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long r, lost1 = 0, lost2 = 0, lost = 0, extra = 0;
	unsigned long unclean = 0;
	const u64 want = 1ULL << 1 | 1ULL << 2;
	struct bi_coh_params p;
	pthread_t b;

	cd_rounds = argc > 1 ? strtoul(argv[1], NULL, 0) : 200000;
	bi_coh_default_params(&p);
	if (pthread_create(&b, NULL, cd_thread_b, NULL)) {
		tap_ok(false, "start thread B");
		return tap_exit();
	}
	for (r = 1; r <= cd_rounds; r++) {
		u64 dead;

		if (bi_coh_init(&cd_node, 0, 3, 1, &p, &cd_ops, NULL)) {
			tap_ok(false, "bi_coh_init");
			abort();
		}
		/*
		 * Both threads read the mask first, as every CPU of the
		 * kernel keeps doing (bi_dead()): the line is then shared by
		 * both caches, both loads in bi_coh_mark_dead() hit at once,
		 * and the stores that follow race for it.
		 */
		cd_meet(&cd_ready, r);
		unclean += BI_READ_ONCE(cd_node.dead) != 0;
		cd_meet(&cd_start, r);
		bi_coh_mark_dead(&cd_node, 1);
		cd_meet(&cd_finish, r);
		/* B's store happened before its arrival, which we saw */
		dead = BI_READ_ONCE(cd_node.dead);
		lost1 += !(dead & 1ULL << 1);
		lost2 += !(dead & 1ULL << 2);
		lost += (dead & want) != want;
		extra += (dead & ~want) != 0;
	}
	pthread_join(b, NULL);
	unclean += cd_unclean_b;
	tap_ok(!lost && !extra && !unclean,
	       "bi_coh_mark_dead() of nodes 1 and 2 from two threads at once: %lu rounds, %lu lost a bit (node 1: %lu, node 2: %lu), %lu set another, %lu not clean before",
	       cd_rounds, lost, lost1, lost2, extra, unclean);
	return tap_exit();
}
