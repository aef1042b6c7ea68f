// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron-launch: one VM over several hosts (see ssi.h for the messages).
 *
 * Threads: the vCPU threads forward their accesses and wait for the answer
 * (ssi_forward_io); one thread per launcher receives every message and
 * event from the module and acts on it: on the I/O node it performs the
 * forwarded accesses on the devices, on the others it wakes the waiting
 * vCPU thread. Every wait is bounded: a forwarded access by the module's
 * fault timeout (a node that stopped answering is declared gone before),
 * the start by join_timeout, the stop acknowledgements by STOP_ACK_MS,
 * and a node's acknowledgement of the IOAPIC routes by the same timeout as
 * a forwarded access (the I/O node's thread checks it every SSI_RECV_MS
 * and stops the VM, naming the node).
 *
 * Locking: ssi->lock protects struct vm_ssi; it is held for no ioctl and
 * no device access. Devices lock their own state.
 *
 * Nothing a message carries is trusted: its length, type, vCPU, access
 * size, the node it came from and the routes' generation are checked before
 * use; a bad message is dropped with a rate-limited log line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/bigiron.h>

#include "cluster.h"
#include "log.h"
#include "ssi.h"
#include "vm.h"

#define SSI_RECV_MS		200	/* how often the thread checks for exit */
#define SSI_IO_TIMEOUT_MS	30000	/* one forwarded access, at most */
#define SSI_STOP_ACK_MS		3000
#define SSI_CLOCK_ROUNDS	8
#define SSI_CLOCK_TIMEOUT_MS	2000
#define SSI_MSG_TEXT		200

enum ssi_type {
	SSI_READY = 1,
	SSI_IO_REQ,
	SSI_IO_RESP,
	SSI_EOI,
	SSI_ROUTES,
	SSI_STOP,
	SSI_STOP_ACK,
	SSI_CLOCK_REQ,
	SSI_CLOCK_RESP,
	SSI_ROUTES_ACK,
};

struct ssi_hdr {
	uint8_t type;
	uint8_t pad;
	uint16_t vcpu;
	uint32_t seq;
};

struct ssi_io {
	struct ssi_hdr h;
	uint64_t addr;
	uint8_t len;		/* 1, 2, 4 or 8 */
	uint8_t is_write;
	uint8_t mmio;
	uint8_t pad[5];
	uint8_t data[8];
};

struct ssi_io_resp {
	struct ssi_hdr h;
	uint8_t data[8];
};

struct ssi_eoi {
	struct ssi_hdr h;
	uint8_t vector;
	uint8_t pad[7];
};

struct ssi_routes {
	struct ssi_hdr h;
	uint64_t gen;		/* grows with every change; never 0 */
	uint64_t redir[IOAPIC_PINS];
};

/* The sender's KVM has the routes of generation @gen. */
struct ssi_routes_ack {
	struct ssi_hdr h;
	uint64_t gen;
};

struct ssi_stop {
	struct ssi_hdr h;
	int32_t reason;		/* enum vm_stop */
	uint32_t pad;
	char msg[SSI_MSG_TEXT];
};

struct ssi_clock {
	struct ssi_hdr h;
	uint64_t tsc;		/* the I/O node's vCPU 0 TSC */
	uint32_t tsc_khz;	/* its KVM's TSC frequency */
	uint32_t pad;
};

union ssi_msg {
	struct ssi_hdr h;
	struct ssi_io io;
	struct ssi_io_resp resp;
	struct ssi_eoi eoi;
	struct ssi_routes routes;
	struct ssi_routes_ack routes_ack;
	struct ssi_stop stop;
	struct ssi_clock clock;
	uint8_t raw[BIGIRON_MSG_MAX];
};

/* A deadline @ms from now, for pthread_cond_timedwait (CLOCK_REALTIME). */
static void deadline_in(struct timespec *ts, unsigned int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The kernel refuses a message (EAGAIN) while a node named has a window
 * of ours that its launcher has not taken yet (credits, README "Who may
 * do what"): wait for a credit, a millisecond at a time, up to
 * SSI_SEND_WAIT_MS. A launcher that takes nothing for that long is stuck
 * or gone; the caller (the receive thread among others) must not wait
 * much longer. The receive thread waiting here takes nothing meanwhile:
 * two nodes whose receive threads both wait for the other's credits stop
 * the VM after SSI_SEND_WAIT_MS (it needs a window of unanswered
 * messages both ways at once).
 */
#define SSI_SEND_WAIT_MS	3000

static int ssi_send(struct vm *vm, unsigned int node, const void *msg,
		    size_t len)
{
	struct bigiron_vm_msg m = {
		.size = sizeof(m),
		.node = (uint16_t)node,
		.len = (uint32_t)len,
		.data = (uint64_t)(uintptr_t)msg,
	};
	const struct timespec ms = { .tv_nsec = 1000000 };
	unsigned int waited = 0;

	while (ioctl(vm->bigiron_fd, BIGIRON_VM_SEND, &m) < 0) {
		if ((errno != EAGAIN && errno != EINTR) ||
		    waited++ >= SSI_SEND_WAIT_MS)
			return -errno;
		if (errno == EAGAIN)
			nanosleep(&ms, NULL);
	}
	return 0;
}

static uint64_t ssi_all_nodes(const struct vm *vm)
{
	unsigned int n = vm->cfg->cluster.nr_nodes;

	return n >= 64 ? ~0ULL : (1ULL << n) - 1;
}

void ssi_init(struct vm *vm)
{
	struct vm_ssi *s = &vm->ssi;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->active = vm->cfg->cluster.nr_nodes > 1;
	s->io_node = vm->cfg->cluster.io_node;
	/* every other node acknowledges the routes it installs */
	routegen_init(&s->routes, s->active ?
		      ssi_all_nodes(vm) & ~(1ULL << vm->self) : 0);
}

/* ---- the I/O node's side ---------------------------------------------- */

static void ssi_serve_io(struct vm *vm, unsigned int from,
			 const struct ssi_io *req)
{
	struct ssi_io_resp resp;
	uint8_t data[8];

	memcpy(data, req->data, sizeof(data));
	io_dispatch(req->mmio ? &vm->mmio : &vm->pio, req->addr, data, req->len,
		    req->is_write);
	memset(&resp, 0, sizeof(resp));
	resp.h.type = SSI_IO_RESP;
	resp.h.vcpu = req->h.vcpu;
	resp.h.seq = req->h.seq;
	memcpy(resp.data, data, sizeof(resp.data));
	pthread_mutex_lock(&vm->ssi.lock);
	vm->ssi.served++;
	pthread_mutex_unlock(&vm->ssi.lock);
	if (ssi_send(vm, from, &resp, sizeof(resp)))
		log_ratelimited("node %u: answer to an access of vCPU %u not sent",
				from, req->h.vcpu);
}

/*
 * Called by the IOAPIC, under its lock. The generation counts as sent
 * before the message leaves, so that no acknowledgement can precede it.
 */
void ssi_send_routes(struct vm *vm, const uint64_t *redir, uint64_t gen)
{
	struct vm_ssi *s = &vm->ssi;
	struct ssi_routes r;
	int err;

	if (!s->active)
		return;
	memset(&r, 0, sizeof(r));
	r.h.type = SSI_ROUTES;
	r.gen = gen;
	memcpy(r.redir, redir, sizeof(r.redir));
	pthread_mutex_lock(&s->lock);
	routegen_sent(&s->routes, gen, now_ms());
	pthread_mutex_unlock(&s->lock);
	err = ssi_send(vm, BIGIRON_NODE_ALL, &r, sizeof(r));
	if (err)
		vm_request_stop(vm, VM_STOP_ERROR,
				"cannot send the IOAPIC routes (generation %llu) to the other nodes: %s",
				(unsigned long long)gen, strerror(-err));
}

/* A node acknowledged routes generation @gen. */
static void ssi_got_routes_ack(struct vm *vm, unsigned int from, uint64_t gen)
{
	struct vm_ssi *s = &vm->ssi;
	uint64_t installed;
	int r;

	pthread_mutex_lock(&s->lock);
	r = routegen_ack(&s->routes, from, gen, now_ms());
	installed = routegen_installed(&s->routes);
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		log_ratelimited("node %u: acknowledgement of routes generation %llu, which was never sent, dropped",
				from, (unsigned long long)gen);
	/* not under ssi->lock: the IOAPIC may deliver now */
	if (r > 0)
		ioapic_routes_acked(&vm->ioapic, installed);
}

/* Stop the VM when a node has not installed the routes in time. */
static void ssi_check_routes(struct vm *vm)
{
	struct vm_ssi *s = &vm->ssi;
	uint64_t acked = 0, sent;
	int node;

	pthread_mutex_lock(&s->lock);
	node = routegen_late(&s->routes, now_ms(), SSI_IO_TIMEOUT_MS, &acked);
	sent = s->routes.sent;
	pthread_mutex_unlock(&s->lock);
	if (node >= 0 && !vm_stopping(vm))
		vm_request_stop(vm, VM_STOP_ERROR,
				"node %d did not install the IOAPIC routes within %u s (it has generation %llu of %llu): level-triggered interrupts for vCPUs on other hosts cannot be delivered",
				node, SSI_IO_TIMEOUT_MS / 1000,
				(unsigned long long)acked,
				(unsigned long long)sent);
}

/* ---- the other nodes' side -------------------------------------------- */

void ssi_forward_io(struct vcpu *vcpu, bool mmio, uint64_t addr,
		    uint8_t *data, unsigned int len, bool is_write)
{
	struct vm *vm = vcpu->vm;
	struct vm_ssi *s = &vm->ssi;
	struct ssi_pending *p = &s->pending[vcpu->id];
	struct timespec dl;
	struct ssi_io req;
	int err = 0, r;

	if (len == 0 || len > 8) {
		memset(data, 0xFF, len);
		return;
	}
	memset(&req, 0, sizeof(req));
	req.h.type = SSI_IO_REQ;
	req.h.vcpu = (uint16_t)vcpu->id;
	req.addr = addr;
	req.len = (uint8_t)len;
	req.is_write = is_write;
	req.mmio = mmio;
	if (is_write)
		memcpy(req.data, data, len);

	pthread_mutex_lock(&s->lock);
	req.h.seq = ++s->seq ? s->seq : ++s->seq;
	p->seq = req.h.seq;
	p->done = false;
	s->forwarded++;
	pthread_mutex_unlock(&s->lock);

	r = ssi_send(vm, s->io_node, &req, sizeof(req));
	if (r) {
		vm_request_stop(vm, VM_STOP_ERROR,
				"vCPU %u: cannot forward %s access at 0x%llx to the I/O node %u: %s",
				vcpu->id, mmio ? "an MMIO" : "a port",
				(unsigned long long)addr, s->io_node,
				strerror(-r));
		memset(data, 0xFF, len);
		return;
	}
	deadline_in(&dl, SSI_IO_TIMEOUT_MS);
	pthread_mutex_lock(&s->lock);
	while (!p->done && !vm_stopping(vm) && err != ETIMEDOUT)
		err = pthread_cond_timedwait(&s->cond, &s->lock, &dl);
	if (p->done && !is_write)
		memcpy(data, p->data, len);
	else if (!is_write)
		memset(data, 0xFF, len);
	r = p->done;
	p->seq = 0;
	pthread_mutex_unlock(&s->lock);
	if (!r && !vm_stopping(vm))
		vm_request_stop(vm, VM_STOP_ERROR,
				"vCPU %u: the I/O node %u did not answer an access at 0x%llx within %u s",
				vcpu->id, s->io_node, (unsigned long long)addr,
				SSI_IO_TIMEOUT_MS / 1000);
}

void ssi_forward_eoi(struct vm *vm, uint8_t vector)
{
	struct ssi_eoi e;

	memset(&e, 0, sizeof(e));
	e.h.type = SSI_EOI;
	e.vector = vector;
	ssi_send(vm, vm->ssi.io_node, &e, sizeof(e));
}

/* ---- stop ------------------------------------------------------------- */

void ssi_send_stop(struct vm *vm, int reason, const char *msg)
{
	struct ssi_stop st;

	if (!vm->ssi.active)
		return;
	memset(&st, 0, sizeof(st));
	st.h.type = SSI_STOP;
	st.reason = reason;
	snprintf(st.msg, sizeof(st.msg), "%s", msg);
	pthread_mutex_lock(&vm->ssi.lock);
	vm->ssi.stop_acked = 0;
	vm->ssi.stop_sent = true;
	pthread_mutex_unlock(&vm->ssi.lock);
	ssi_send(vm, BIGIRON_NODE_ALL, &st, sizeof(st));
}

static void ssi_got_stop(struct vm *vm, unsigned int from,
			 const struct ssi_stop *st)
{
	struct ssi_hdr ack = { .type = SSI_STOP_ACK };
	char text[SSI_MSG_TEXT];
	int reason = st->reason;

	memcpy(text, st->msg, sizeof(text));
	text[sizeof(text) - 1] = '\0';
	ssi_send(vm, from, &ack, sizeof(ack));
	if (reason != VM_STOP_POWEROFF && reason != VM_STOP_RESET)
		reason = VM_STOP_ERROR;
	vm_request_stop_remote(vm, (enum vm_stop)reason, "node %u: %s", from,
			       text);
}

/* ---- the receiving thread ---------------------------------------------- */

/* Is @len right for @m's type, and its content sane? */
static bool ssi_valid(struct vm *vm, unsigned int from, const union ssi_msg *m,
		      size_t len)
{
	const struct vm_ssi *s = &vm->ssi;
	bool io = cluster_is_io_node(vm->cfg, vm->self);

	if (len < sizeof(struct ssi_hdr))
		return false;
	switch (m->h.type) {
	case SSI_READY:
	case SSI_STOP_ACK:
		return len == sizeof(struct ssi_hdr);
	case SSI_IO_REQ:
		return io && len == sizeof(m->io) &&
		       m->h.vcpu < vm->nvcpus &&
		       (m->io.len == 1 || m->io.len == 2 || m->io.len == 4 ||
			m->io.len == 8) && m->io.is_write <= 1 &&
		       m->io.mmio <= 1 && (m->io.mmio || m->io.addr <= 0xFFFF) &&
		       (cluster_host_vcpus(vm->cfg, from) >> m->h.vcpu) & 1;
	case SSI_IO_RESP:
		return !io && from == s->io_node && len == sizeof(m->resp) &&
		       m->h.vcpu < vm->nvcpus;
	case SSI_EOI:
		return io && len == sizeof(m->eoi);
	case SSI_ROUTES:
		return !io && from == s->io_node && len == sizeof(m->routes) &&
		       m->routes.gen;
	case SSI_ROUTES_ACK:
		/* the generation is checked against those sent */
		return io && len == sizeof(m->routes_ack);
	case SSI_STOP:
		return len == sizeof(m->stop);
	case SSI_CLOCK_REQ:
		return io && len == sizeof(struct ssi_hdr);
	case SSI_CLOCK_RESP:
		return !io && from == s->io_node && len == sizeof(m->clock);
	default:
		return false;
	}
}

static void ssi_handle(struct vm *vm, unsigned int from,
		       const union ssi_msg *m, size_t len)
{
	struct vm_ssi *s = &vm->ssi;

	if (!ssi_valid(vm, from, m, len)) {
		log_ratelimited("node %u: malformed message (type %u, %zu bytes) dropped",
				from, m->h.type, len);
		return;
	}
	switch (m->h.type) {
	case SSI_READY:
		pthread_mutex_lock(&s->lock);
		s->ready |= 1ULL << from;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		break;
	case SSI_IO_REQ:
		ssi_serve_io(vm, from, &m->io);
		break;
	case SSI_IO_RESP: {
		struct ssi_pending *p = &s->pending[m->h.vcpu];

		pthread_mutex_lock(&s->lock);
		if (p->seq && p->seq == m->h.seq) {
			memcpy(p->data, m->resp.data, sizeof(p->data));
			p->done = true;
			pthread_cond_broadcast(&s->cond);
		}
		pthread_mutex_unlock(&s->lock);
		break;
	}
	case SSI_EOI:
		ioapic_eoi(&vm->ioapic, m->eoi.vector);
		break;
	case SSI_ROUTES: {
		struct ssi_routes_ack ack;

		/* the link keeps order: an older table is a replay */
		if (m->routes.gen <= s->routes_here) {
			log_ratelimited("node %u: routes generation %llu after %llu dropped",
					from,
					(unsigned long long)m->routes.gen,
					(unsigned long long)s->routes_here);
			break;
		}
		if (kvm_set_ioapic_routes(vm, m->routes.redir)) {
			vm_request_stop(vm, VM_STOP_ERROR,
					"cannot install the IOAPIC routes (generation %llu) in KVM: the EOIs of level-triggered interrupts on this host would be lost",
					(unsigned long long)m->routes.gen);
			break;
		}
		s->routes_here = m->routes.gen;
		memset(&ack, 0, sizeof(ack));
		ack.h.type = SSI_ROUTES_ACK;
		ack.gen = m->routes.gen;
		if (ssi_send(vm, from, &ack, sizeof(ack)))
			vm_request_stop(vm, VM_STOP_ERROR,
					"cannot acknowledge the IOAPIC routes (generation %llu) to the I/O node %u",
					(unsigned long long)m->routes.gen,
					from);
		break;
	}
	case SSI_ROUTES_ACK:
		ssi_got_routes_ack(vm, from, m->routes_ack.gen);
		break;
	case SSI_STOP:
		ssi_got_stop(vm, from, &m->stop);
		break;
	case SSI_STOP_ACK:
		pthread_mutex_lock(&s->lock);
		s->stop_acked |= 1ULL << from;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		break;
	case SSI_CLOCK_REQ: {
		struct ssi_clock c;
		int khz;

		/* vCPU ioctls would wait for a running vCPU: start only */
		if (atomic_load(&vm->ssi_started)) {
			log_ratelimited("node %u: clock request after the start ignored",
					from);
			break;
		}
		memset(&c, 0, sizeof(c));
		c.h.type = SSI_CLOCK_RESP;
		c.h.seq = m->h.seq;
		khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
		if (khz > 0 && !vcpu_get_tsc(&vm->vcpus[0], &c.tsc))
			c.tsc_khz = (uint32_t)khz;
		ssi_send(vm, from, &c, sizeof(c));
		break;
	}
	case SSI_CLOCK_RESP:
		pthread_mutex_lock(&s->lock);
		if (m->h.seq == s->seq) {
			s->peer_tsc = m->clock.tsc;
			s->peer_tsc_khz = m->clock.tsc_khz;
			s->clock_done = true;
			pthread_cond_broadcast(&s->cond);
		}
		pthread_mutex_unlock(&s->lock);
		break;
	}
}

static void *ssi_thread(void *arg)
{
	struct vm *vm = arg;
	struct vm_ssi *s = &vm->ssi;
	bool io = cluster_is_io_node(vm->cfg, vm->self);
	union ssi_msg *m;
	sigset_t all;

	pthread_setname_np(pthread_self(), "bigiron-ssi");
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	m = malloc(sizeof(*m));
	if (!m) {
		vm_request_stop(vm, VM_STOP_ERROR, "out of memory");
		return NULL;
	}
	while (!atomic_load(&vm->ssi_quit)) {
		struct bigiron_vm_recv r = {
			.size = sizeof(r),
			.timeout_ms = SSI_RECV_MS,
			.len = sizeof(*m),
			.data = (uint64_t)(uintptr_t)m,
		};

		if (io)
			ssi_check_routes(vm);
		if (ioctl(vm->bigiron_fd, BIGIRON_VM_RECV, &r) < 0) {
			if (errno == ETIMEDOUT || errno == EINTR)
				continue;
			vm_request_stop(vm, VM_STOP_ERROR,
					"%s: BIGIRON_VM_RECV: %s", "/dev/bigiron",
					strerror(errno));
			break;
		}
		if (r.event == BIGIRON_EV_NODE_DOWN) {
			pthread_mutex_lock(&s->lock);
			s->gone |= 1ULL << r.node;
			pthread_cond_broadcast(&s->cond);
			pthread_mutex_unlock(&s->lock);
			vm_request_stop_remote(vm, VM_STOP_ERROR,
					       "node %u is gone (its launcher exited or its host stopped answering)",
					       r.node);
			continue;
		}
		if (r.event == BIGIRON_EV_IPI_LOST) {
			vm_request_stop(vm, VM_STOP_ERROR,
					"an interrupt %s node %u was lost (see the kernel log): the guest cannot go on",
					r.node == vm->self ? "for another host on" :
					"from", r.node);
			/* the stop's acknowledgements still come this way */
			continue;
		}
		if (r.event == BIGIRON_EV_MSG &&
		    r.node < vm->cfg->cluster.nr_nodes && r.node != vm->self)
			ssi_handle(vm, r.node, m, r.len);
	}
	free(m);
	return NULL;
}

/* ---- start and stop ---------------------------------------------------- */

static int ssi_set_kvm(struct vm *vm)
{
	uint16_t nodes[CONFIG_VCPUS_MAX];
	struct bigiron_vm_kvm k;
	unsigned int i, n;

	for (i = 0; i < vm->nvcpus; i++)
		for (n = 0; n < vm->cfg->cluster.nr_nodes; n++)
			if ((cluster_host_vcpus(vm->cfg, n) >> i) & 1)
				nodes[i] = (uint16_t)n;
	memset(&k, 0, sizeof(k));
	k.size = sizeof(k);
	k.kvm_fd = vm->vm_fd;
	k.nr_vcpus = vm->nvcpus;
	k.vcpu_nodes = (uint64_t)(uintptr_t)nodes;
	if (ioctl(vm->bigiron_fd, BIGIRON_VM_SET_KVM, &k) < 0) {
		log_error("%s: BIGIRON_VM_SET_KVM: %s%s", "/dev/bigiron",
			  strerror(errno), errno == ENOTTY ?
			  " (this bigiron.ko cannot run vCPUs on several hosts)" :
			  "");
		return -1;
	}
	return 0;
}

/*
 * One clock sample: this host's TSC of @ref before (@t1) and after (@t2)
 * a round trip to the I/O node, which answers with its vCPU 0 TSC
 * (@peer).  Returns 0, 1 when the sample is unusable (this host's TSC went
 * back), or -1 on error.  @first waits as long as the join does: the I/O
 * node answers once it has loaded the guest.
 */
static int ssi_clock_sample(struct vm *vm, struct vcpu *ref, bool first,
			    uint64_t *t1, uint64_t *t2, uint64_t *peer,
			    uint32_t *peer_khz)
{
	struct ssi_hdr req = { .type = SSI_CLOCK_REQ };
	struct vm_ssi *s = &vm->ssi;
	struct timespec dl;
	int err;

	pthread_mutex_lock(&s->lock);
	req.seq = ++s->seq ? s->seq : ++s->seq;
	s->clock_done = false;
	pthread_mutex_unlock(&s->lock);
	if (vcpu_get_tsc(ref, t1))
		return -1;
	err = ssi_send(vm, s->io_node, &req, sizeof(req));
	if (err) {
		log_error("clock request to node %u: %s", s->io_node,
			  strerror(-err));
		return -1;
	}
	deadline_in(&dl, first ? vm->cfg->cluster.join_timeout * 1000 :
		    SSI_CLOCK_TIMEOUT_MS);
	err = 0;
	pthread_mutex_lock(&s->lock);
	while (!s->clock_done && err != ETIMEDOUT && !vm_stopping(vm))
		err = pthread_cond_timedwait(&s->cond, &s->lock, &dl);
	*peer = s->peer_tsc;
	*peer_khz = s->peer_tsc_khz;
	err = !s->clock_done;
	pthread_mutex_unlock(&s->lock);
	if (err) {
		log_error("the I/O node %u did not answer a clock request",
			  s->io_node);
		return -1;
	}
	if (vcpu_get_tsc(ref, t2))
		return -1;
	if (*t2 < *t1) {
		log_debug("TSC went back by %llu cycles",
			  (unsigned long long)(*t1 - *t2));
		return 1;
	}
	if (!*peer_khz) {
		log_error("the I/O node %u could not read its TSC", s->io_node);
		return -1;
	}
	return 0;
}

/*
 * Align this host's guest TSCs with the I/O node's vCPU 0: the sample with
 * the shortest round trip estimates the offset (assuming the I/O node read
 * its TSC half way through), then every local vCPU's TSC moves by it
 * (vcpu_adjust_tsc()), and one more sample checks that it did.
 * The guest's clock is the TSC (cpuid_use_tsc_clock()), so every vCPU then
 * reads one time, to within the link's one-way asymmetry; no cross-host
 * observation (which takes a message at least) can see the difference.
 */
static int ssi_sync_tsc(struct vm *vm)
{
	struct vm_ssi *s = &vm->ssi;
	struct vcpu *ref = NULL;
	uint64_t best_rtt = UINT64_MAX, t1, t2, peer, rtt;
	uint32_t peer_khz = 0;
	int64_t best_off = 0, off;
	unsigned int i;
	int r, khz;

	for (i = 0; i < vm->nvcpus && !ref; i++)
		if (vm->vcpus[i].fd >= 0)
			ref = &vm->vcpus[i];
	if (!ref)
		return 0;		/* no vCPU here: nothing to align */
	for (i = 0; i < SSI_CLOCK_ROUNDS; i++) {
		r = ssi_clock_sample(vm, ref, !i, &t1, &t2, &peer, &peer_khz);
		if (r < 0)
			goto fail;
		if (r == 0 && t2 - t1 < best_rtt) {
			best_rtt = t2 - t1;
			best_off = (int64_t)(peer - (t1 + best_rtt / 2));
		}
	}
	if (best_rtt == UINT64_MAX) {
		log_error("no usable TSC sample");
		goto fail;
	}
	khz = ioctl(ref->fd, KVM_GET_TSC_KHZ, 0);
	if (khz > 0 && (uint32_t)abs(khz - (int)peer_khz) > peer_khz / 200)
		log_info("TSC at %d kHz here, %u kHz on the I/O node: the guest's clock will drift between its CPUs",
			 khz, peer_khz);
	for (i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->fd >= 0 && vcpu_adjust_tsc(v, best_off))
			goto fail;
	}
	/* the check: both estimates err by half their round trip at most */
	for (i = 0, r = 1; i < SSI_CLOCK_ROUNDS && r == 1; i++)
		r = ssi_clock_sample(vm, ref, false, &t1, &t2, &peer,
				     &peer_khz);
	if (r) {
		if (r == 1)
			log_error("no usable TSC sample to check the alignment");
		goto fail;
	}
	rtt = t2 - t1;
	off = (int64_t)(peer - (t1 + rtt / 2));
	/* off comes from the peer's TSC: no llabs(), which INT64_MIN breaks */
	if ((off < 0 ? -(uint64_t)off : (uint64_t)off) > rtt + best_rtt) {
		log_error("guest TSC still %lld cycles off the I/O node's after moving it by %lld (round trips %llu and %llu cycles)",
			  (long long)off, (long long)best_off,
			  (unsigned long long)best_rtt,
			  (unsigned long long)rtt);
		goto fail;
	}
	log_debug("guest TSC aligned with node %u: moved by %lld cycles, round trip %llu cycles; then %lld off, round trip %llu",
		  s->io_node, (long long)best_off,
		  (unsigned long long)best_rtt, (long long)off,
		  (unsigned long long)rtt);
	return 0;
fail:
	log_error("could not align the guest's TSC with the I/O node %u",
		  s->io_node);
	return -1;
}

int ssi_start(struct vm *vm)
{
	struct vm_ssi *s = &vm->ssi;
	struct ssi_hdr ready = { .type = SSI_READY };
	unsigned int timeout = vm->cfg->cluster.join_timeout;
	uint64_t want, missing;
	struct timespec dl;
	int e, err = 0;

	if (!s->active)
		return 0;
	if (ssi_set_kvm(vm))
		return -1;
	e = pthread_create(&s->thread, NULL, ssi_thread, vm);
	if (e) {
		log_error("pthread_create: %s", strerror(e));
		return -1;
	}
	s->thread_started = true;
	if (!cluster_is_io_node(vm->cfg, vm->self) && ssi_sync_tsc(vm))
		return -1;
	if (ssi_send(vm, BIGIRON_NODE_ALL, &ready, sizeof(ready))) {
		log_error("cannot reach every node: %s", strerror(errno));
		return -1;
	}

	want = ssi_all_nodes(vm) & ~(1ULL << vm->self);
	deadline_in(&dl, timeout * 1000);
	pthread_mutex_lock(&s->lock);
	while ((s->ready & want) != want && !vm_stopping(vm) &&
	       err != ETIMEDOUT)
		err = pthread_cond_timedwait(&s->cond, &s->lock, &dl);
	missing = want & ~s->ready;
	pthread_mutex_unlock(&s->lock);
	if (missing) {
		char list[256] = "";
		size_t off = 0;
		unsigned int n;

		for (n = 0; n < 64 && off < sizeof(list); n++)
			if ((missing >> n) & 1)
				off += (size_t)snprintf(list + off,
							sizeof(list) - off,
							"%s%u", off ? ", " : "",
							n);
		log_error("node(s) %s not ready within %u s (join_timeout)",
			  list, timeout);
		return -1;
	}
	atomic_store(&vm->ssi_started, true);
	log_info("node %u: every node is ready, %u vCPU(s) here of %u",
		 vm->self, (unsigned int)__builtin_popcountll(vm->vcpus_here),
		 vm->nvcpus);
	return 0;
}

void ssi_stop(struct vm *vm)
{
	struct vm_ssi *s = &vm->ssi;
	uint64_t want;
	struct timespec dl;
	int err = 0;

	if (!s->active || !s->thread_started)
		return;
	want = ssi_all_nodes(vm) & ~(1ULL << vm->self);
	deadline_in(&dl, SSI_STOP_ACK_MS);
	pthread_mutex_lock(&s->lock);
	if (s->stop_sent)
		while (((s->stop_acked | s->gone) & want) != want &&
		       err != ETIMEDOUT)
			err = pthread_cond_timedwait(&s->cond, &s->lock, &dl);
	pthread_mutex_unlock(&s->lock);
}

void ssi_destroy(struct vm *vm)
{
	struct vm_ssi *s = &vm->ssi;

	atomic_store(&vm->ssi_quit, true);
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	s->thread_started = false;
	if (s->active && (s->forwarded || s->served))
		log_info("node %u: %lu accesses forwarded to the I/O node, %lu served for other nodes",
			 vm->self, s->forwarded, s->served);
	if (s->active && vm->devices_ready) {
		unsigned long held;

		pthread_mutex_lock(&vm->ioapic.lock);
		held = vm->ioapic.held;
		pthread_mutex_unlock(&vm->ioapic.lock);
		if (held)
			log_info("node %u: %lu level-triggered interrupt(s) waited for the other nodes to install the IOAPIC routes (%llu generations sent)",
				 vm->self, held,
				 (unsigned long long)s->routes.sent);
	}
}
