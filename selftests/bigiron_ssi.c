// SPDX-License-Identifier: GPL-2.0
/*
 * bigiron_ssi: one VM on two bigiron nodes in this host, run by two real
 * launchers joined by a veth pair, with a purpose-built guest
 * (bigiron_ssi_guest.img, source in ssiguest/) that checks the cross-host
 * machinery with exact counts.
 *
 *   bigiron-launch --node 0 vm.conf        bigiron-launch --node 1 vm.conf
 *     vCPU 0, I/O node: COM1, IOAPIC,        vCPU 1
 *     virtio-blk, ACPI power-off
 *          │                                     │
 *       bissi0 ═══════════ veth, MTU 9000 ═══════ bissi1
 *
 * The guest (ssiguest/cases.h lists its cases) starts vCPU 1 with INIT and
 * SIPI, sends IPIs of every delivery mode and destination between the two
 * hosts in xAPIC and x2APIC mode and counts each reception, routes a
 * level-triggered UART interrupt from the I/O node's IOAPIC to vCPU 1 and
 * checks that its EOI came back, forwards vCPU 1's port and MMIO accesses
 * and checks the values, and ping-pongs TSC readings between the vCPUs.
 * It prints a TAP line per case on COM1, the node 0 launcher's stdout;
 * this program re-emits each as one of its own results (a missing line
 * fails), then checks that both launchers exited 0 and that each node's
 * module sent exactly the interrupts the guest's cases sent to the other
 * host, the other received them all and neither dropped one (the sysfs
 * counters ipis_sent, ipis_recv, ipis_dropped, read while the guest waits
 * after its last case; it powers off when this program writes a byte to
 * its console).
 *
 * Environment: BIGIRON_LAUNCH, the launcher (default: ../bin/bigiron-launch
 * next to this program's directory, as in the lab's /bigiron); BIGIRON_SSI_GUEST,
 * the guest image (default: bigiron_ssi_guest.img next to this program);
 * BIGIRON_SSI_TIMEOUT, seconds for the whole run (default 100).
 *
 * Exit status: 0 pass, 1 failure, 4 skipped (not root, no /dev/kvm, no
 * module, no launcher, no veth).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "netlink.h"
#include "tap.h"
#include "util.h"

#define IF_A		"bissi0"
#define IF_B		"bissi1"
#define MTU		9000
#define TIMEOUT_S	100

/* The guest's cases, in the order it reports them. */
static const char *const guest_case[] = {
#define SSI_CASE(id, name) name,
#include "ssiguest/cases.h"
#undef SSI_CASE
};
#define NR_GUEST	((int)(sizeof(guest_case) / sizeof(guest_case[0])))
/* This program's own results after the guest's. */
enum { OWN_PLAN, OWN_EXIT0, OWN_EXIT1, OWN_COUNTERS, NR_OWN };

struct guest_result {
	int seen;		/* lines with this number */
	bool ok;
	char line[1024];
};

/* What cleanup() undoes; also reached from a signal handler. */
static char tmpdir[PATH_MAX];
static volatile pid_t child[2] = { -1, -1 };
static volatile bool veth_made;

static const char *const tmp_files[] = {
	"vm.conf", "cluster.key", "disk.img", "node0.log", "node1.log",
};

static void cleanup(void)
{
	char path[PATH_MAX + 32];
	unsigned int i;

	for (i = 0; i < 2; i++) {
		if (child[i] > 0) {
			kill(child[i], SIGKILL);
			waitpid(child[i], NULL, 0);
			child[i] = -1;
		}
	}
	if (veth_made) {
		link_del(IF_A);
		veth_made = false;
	}
	if (tmpdir[0]) {
		for (i = 0; i < sizeof(tmp_files) / sizeof(tmp_files[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", tmpdir,
				 tmp_files[i]);
			unlink(path);
		}
		rmdir(tmpdir);
		tmpdir[0] = '\0';
	}
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The directory this program is in, for its default paths. */
static void self_dir(char *dir, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", dir, size - 1);
	char *slash;

	if (n <= 0) {
		snprintf(dir, size, ".");
		return;
	}
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
}

static int write_file(const char *dir, const char *name, const char *text,
		      mode_t mode)
{
	char path[PATH_MAX + 32];
	size_t len = strlen(text);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	return close(fd) ? -errno : 0;
}

/* $@var if set and not empty, else @dir/@name. */
static void env_path(char *buf, size_t size, const char *var,
		     const char *dir, const char *name)
{
	const char *env = getenv(var);

	if (env && *env)
		snprintf(buf, size, "%s", env);
	else
		snprintf(buf, size, "%s/%s", dir, name);
}

static int read_mac(const char *ifname, char *mac, size_t size)
{
	char path[96];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", ifname);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, mac, size - 1);
	close(fd);
	if (len < 17)
		return -EIO;
	mac[17] = '\0';
	return 0;
}

/* vm.conf, the key and the disk in tmpdir. */
static int write_config(const char *image)
{
	char conf[PATH_MAX + 2048], disk[PATH_MAX + 32], key[65], mac0[32];
	char mac1[32];
	unsigned char raw[32];
	unsigned int i;
	int fd, ret;

	if (read_mac(IF_A, mac0, sizeof(mac0)) ||
	    read_mac(IF_B, mac1, sizeof(mac1)))
		return -EIO;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = read(fd, raw, sizeof(raw)) == (ssize_t)sizeof(raw) ? 0 : -EIO;
	close(fd);
	if (ret)
		return ret;
	for (i = 0; i < sizeof(raw); i++)
		snprintf(key + 2 * i, 3, "%02x", raw[i]);
	ret = write_file(tmpdir, "cluster.key", key, 0600);
	if (ret)
		return ret;
	/* a disk, so that the guest finds a virtio-mmio device */
	ret = write_file(tmpdir, "disk.img", "", 0600);
	if (ret)
		return ret;
	snprintf(disk, sizeof(disk), "%s/disk.img", tmpdir);
	if (truncate(disk, 1 << 20))
		return -errno;
	snprintf(conf, sizeof(conf),
		 "# bigiron_ssi: one VM, vCPU 0 on node 0, vCPU 1 on node 1\n"
		 "[vm]\n"
		 "name = bigiron_ssi\n"
		 "memory = 64M\n"
		 "vcpus = 2\n"
		 "kernel = %s\n"
		 "cmdline = \"bigiron_ssi_guest\"\n"
		 "disk = disk.img\n"
		 "\n"
		 "[cluster]\n"
		 "id = 0x5517\n"
		 "key_file = cluster.key\n"
		 "join_timeout = 60\n"
		 "\n"
		 "[node.0]\n"
		 "interface = " IF_A "\n"
		 "mac = %s\n"
		 "memory = 0+32M\n"
		 "vcpus = 0\n"
		 "io = yes\n"
		 "\n"
		 "[node.1]\n"
		 "interface = " IF_B "\n"
		 "mac = %s\n"
		 "memory = 32M\n"
		 "vcpus = 1\n",
		 image, mac0, mac1);
	return write_file(tmpdir, "vm.conf", conf, 0644);
}

/*
 * Start the launcher of @node; its stderr goes to nodeN.log, stdin and
 * stdout to @in_fd and @out_fd (-1: /dev/null and the log).
 */
static pid_t launch(const char *launcher, int node, int in_fd, int out_fd)
{
	char log[PATH_MAX + 32], conf[PATH_MAX + 32], nodestr[8];
	pid_t pid;
	int fd;

	snprintf(log, sizeof(log), "%s/node%d.log", tmpdir, node);
	snprintf(conf, sizeof(conf), "%s/vm.conf", tmpdir);
	snprintf(nodestr, sizeof(nodestr), "%d", node);
	fflush(stdout);
	pid = fork();
	if (pid)
		return pid;
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		_exit(127);
	if (in_fd < 0)
		in_fd = open("/dev/null", O_RDONLY);
	if (out_fd < 0)
		out_fd = fd;
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(127);
	execl(launcher, launcher, "--node", nodestr, conf, (char *)NULL);
	dprintf(2, "bigiron_ssi: exec %s: %s\n", launcher, strerror(errno));
	_exit(127);
}

/* ---- the module's counters of the two VMs ------------------------------- */

#define MAX_VMS		64

struct counters {
	bool found;
	uint64_t sent, recv, dropped;
};

/* The VM directories that exist now, as a list of ids. */
static int list_vms(uint32_t *ids, int max)
{
	struct dirent *e;
	DIR *d = opendir(BI_SYSFS);
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		unsigned int id;

		if (sscanf(e->d_name, "vm%u", &id) == 1)
			ids[n++] = id;
	}
	closedir(d);
	return n;
}

/*
 * Each new VM with IPI counters is one of ours: node 0's has a peer
 * directory for node 1, node 1's one for node 0.
 */
static void read_counters(const uint32_t *before, int nbefore,
			  struct counters c[2])
{
	uint32_t ids[MAX_VMS];
	int n = list_vms(ids, MAX_VMS), i, j;

	memset(c, 0, 2 * sizeof(*c));
	for (i = 0; i < n; i++) {
		char path[128];
		int node = -1;

		for (j = 0; j < nbefore && before[j] != ids[i]; j++)
			;
		if (j < nbefore)
			continue;
		snprintf(path, sizeof(path), BI_SYSFS "/vm%u/peers/node1",
			 ids[i]);
		if (bi_exists(path))
			node = 0;
		snprintf(path, sizeof(path), BI_SYSFS "/vm%u/peers/node0",
			 ids[i]);
		if (bi_exists(path))
			node = node == 0 ? -1 : 1;
		if (node < 0 || c[node].found)
			continue;
		if (bi_vm_sysfs_u64(ids[i], "ipis_sent", &c[node].sent) ||
		    bi_vm_sysfs_u64(ids[i], "ipis_recv", &c[node].recv) ||
		    bi_vm_sysfs_u64(ids[i], "ipis_dropped", &c[node].dropped))
			continue;
		c[node].found = true;
	}
}

/* ---- the guest's TAP lines ---------------------------------------------- */

/*
 * "ok N - NAME # ..." or "not ok N - NAME # ...": record it against case
 * N if NAME is that case's; anything else that looks like a result is
 * counted as a stray one.
 */
static void guest_line(const char *s, struct guest_result *res, int *stray,
		       int *plan, int xhost[2])
{
	const char *p = s;
	bool ok;
	int num, len;

	if (sscanf(s, "# ssiguest: xhost %d %d", &xhost[0], &xhost[1]) == 2)
		return;
	if (sscanf(s, "1..%d%n", &num, &len) == 1 && !s[len]) {
		*plan = num;
		return;
	}
	if (!strncmp(p, "ok ", 3)) {
		ok = true;
		p += 3;
	} else if (!strncmp(p, "not ok ", 7)) {
		ok = false;
		p += 7;
	} else {
		return;
	}
	if (sscanf(p, "%d - %n", &num, &len) != 1 || num < 1 ||
	    num > NR_GUEST) {
		(*stray)++;
		return;
	}
	p += len;
	len = (int)strlen(guest_case[num - 1]);
	if (strncmp(p, guest_case[num - 1], len) ||
	    (p[len] && p[len] != ' ')) {
		(*stray)++;
		return;
	}
	res[num - 1].seen++;
	res[num - 1].ok = ok;
	snprintf(res[num - 1].line, sizeof(res[num - 1].line), "%s", s);
}

/* Print the tail of a launcher's log as diagnostics. */
static void dump_log(int node)
{
	char path[PATH_MAX + 32], buf[8192];
	ssize_t len;
	char *p, *nl;
	int fd;

	snprintf(path, sizeof(path), "%s/node%d.log", tmpdir, node);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	len = lseek(fd, 0, SEEK_END);
	lseek(fd, len > (ssize_t)sizeof(buf) - 1 ?
	      len - (ssize_t)sizeof(buf) + 1 : 0, SEEK_SET);
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return;
	buf[len] = '\0';
	for (p = buf; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl) {
			tap_diag("node%d: %s", node, p);
			break;
		}
		*nl = '\0';
		tap_diag("node%d: %s", node, p);
	}
}

/* Wait for @pid until @deadline; its exit status, or -1 if it is still up. */
static int wait_until(pid_t pid, double deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_s() >= deadline)
			return -1;
		usleep(50000);
	}
}

static const char *status_text(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "status 0x%x", status);
	return buf;
}

int main(void)
{
	static struct guest_result res[NR_GUEST];
	char dir[PATH_MAX], launcher[PATH_MAX + 32], image[PATH_MAX + 32];
	char line[1024], why[160], st_text[2][40];
	int in_pipe[2], out_pipe[2], status[2] = { -1, -1 };
	bool exited[2] = { false, false }, snapshot = false, eof = false;
	double t0 = 0, deadline = 0, t_plan = 0;
	uint32_t before[MAX_VMS];
	struct counters cnt[2];
	int nbefore, stray = 0, plan = -1, i, n, fail = 0, pass = 0, skip = 0;
	int xhost[2] = { -1, -1 };
	size_t used = 0;
	const char *env;
	long timeout_s;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	self_dir(dir, sizeof(dir));
	env_path(launcher, sizeof(launcher), "BIGIRON_LAUNCH", dir,
		 "../bin/bigiron-launch");
	env_path(image, sizeof(image), "BIGIRON_SSI_GUEST", dir,
		 "bigiron_ssi_guest.img");
	env = getenv("BIGIRON_SSI_TIMEOUT");
	timeout_s = env && *env ? strtol(env, NULL, 10) : TIMEOUT_S;
	if (timeout_s <= 0)
		timeout_s = TIMEOUT_S;

	if (geteuid())
		tap_skip_all("needs root");
	if (!bi_exists("/dev/kvm"))
		tap_skip_all("no /dev/kvm");
	if (bi_ensure_module())
		tap_skip_all("bigiron module not loaded");
	if (access(launcher, X_OK)) {
		snprintf(why, sizeof(why), "no launcher at %.100s (BIGIRON_LAUNCH)",
			 launcher);
		tap_skip_all(why);
	}
	if (realpath(image, line))
		snprintf(image, sizeof(image), "%s", line);

	printf("TAP version 13\n1..%d\n", NR_GUEST + NR_OWN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);

	if (access(image, R_OK)) {
		tap_diag("no guest image at %s (make -C selftests)", image);
		goto report;
	}
	link_del(IF_A);
	ret = veth_add(IF_A, IF_B, MTU);
	if (ret) {
		tap_diag("cannot create the veth pair: %s", strerror(-ret));
		link_del(IF_A);
		goto report;
	}
	veth_made = true;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bigiron_ssi.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		tap_diag("mkdtemp: %s", strerror(errno));
		tmpdir[0] = '\0';
		goto report;
	}
	ret = write_config(image);
	if (ret) {
		tap_diag("writing %s: %s", tmpdir, strerror(-ret));
		goto report;
	}
	if (pipe2(in_pipe, O_CLOEXEC) || pipe2(out_pipe, O_CLOEXEC)) {
		tap_diag("pipe: %s", strerror(errno));
		goto report;
	}

	nbefore = list_vms(before, MAX_VMS);
	t0 = now_s();
	deadline = t0 + timeout_s;
	child[1] = launch(launcher, 1, -1, -1);
	child[0] = launch(launcher, 0, in_pipe[0], out_pipe[1]);
	close(in_pipe[0]);
	close(out_pipe[1]);
	if (child[0] < 0 || child[1] < 0) {
		tap_diag("fork: %s", strerror(errno));
		close(in_pipe[1]);
		close(out_pipe[0]);
		goto report;
	}

	/* The guest's console, line by line, until it closes or time is up. */
	while (!eof && now_s() < deadline) {
		struct pollfd p = { .fd = out_pipe[0], .events = POLLIN };
		ssize_t len;

		if (poll(&p, 1, 200) <= 0)
			continue;
		len = read(out_pipe[0], line + used, sizeof(line) - 1 - used);
		if (len <= 0)
			eof = true;
		else
			used += (size_t)len;
		for (;;) {
			char *nl = memchr(line, '\n', used);
			size_t take;

			/* a line longer than the buffer is cut where it is full */
			if (nl) {
				take = (size_t)(nl - line) + 1;
				*nl = '\0';
			} else if (used == sizeof(line) - 1 || (eof && used)) {
				take = used;
				line[used] = '\0';
			} else {
				break;
			}
			line[strcspn(line, "\r")] = '\0';
			tap_diag("guest: %s", line);
			guest_line(line, res, &stray, &plan, xhost);
			if (plan >= 0 && !snapshot) {
				/* the guest waits for a byte now */
				read_counters(before, nbefore, cnt);
				snapshot = true;
				t_plan = now_s();
				if (write(in_pipe[1], "\n", 1) != 1)
					tap_diag("cannot write to the console: %s",
						 strerror(errno));
			}
			used -= take;
			memmove(line, line + take, used);
		}
	}
	close(in_pipe[1]);
	close(out_pipe[0]);

	/* a node whose peer stopped follows it: wait for both */
	for (i = 0; i < 2; i++) {
		if (!wait_until(child[i], deadline, &status[i])) {
			exited[i] = true;
			child[i] = -1;
		}
	}
	if (!exited[0] || !exited[1]) {
		tap_diag("time is up after %ld s: killing the launchers",
			 timeout_s);
		for (i = 0; i < 2; i++) {
			if (exited[i])
				continue;
			kill(child[i], SIGKILL);
			waitpid(child[i], &status[i], 0);
			child[i] = -1;
		}
	}
	if (snapshot)
		tap_diag("the guest finished its cases after %.1f s, the launchers exited after %.1f s",
			 t_plan - t0, now_s() - t0);
	else
		tap_diag("the guest did not finish its cases; the launchers exited after %.1f s",
			 now_s() - t0);

report:
	/* the guest's results, one line each, in its order */
	for (i = 0; i < NR_GUEST; i++) {
		/* the guest's line from " - NAME ..." on */
		const char *rest = strstr(res[i].line, " - ");

		if (res[i].seen == 1 && res[i].ok) {
			printf("ok %d%s\n", i + 1, rest);
			if (strstr(rest, "# SKIP"))
				skip++;
			else
				pass++;
		} else if (res[i].seen == 1) {
			printf("not ok %d%s\n", i + 1, rest);
			fail++;
		} else if (!res[i].seen) {
			printf("not ok %d - %s # missing from the guest's output\n",
			       i + 1, guest_case[i]);
			fail++;
		} else {
			printf("not ok %d - %s # the guest printed it %d times\n",
			       i + 1, guest_case[i], res[i].seen);
			fail++;
		}
	}

	/* the guest's plan, and no result line that is not one of its cases */
	n = NR_GUEST + 1 + OWN_PLAN;
	if (plan == NR_GUEST && !stray) {
		printf("ok %d - guest_plan # 1..%d\n", n, plan);
		pass++;
	} else {
		printf("not ok %d - guest_plan # plan %d, want %d; %d stray result lines\n",
		       n, plan, NR_GUEST, stray);
		fail++;
	}
	for (i = 0; i < 2; i++) {
		n = NR_GUEST + 1 + (i ? OWN_EXIT1 : OWN_EXIT0);
		if (status[i] == -1) {
			printf("not ok %d - launcher_node%d_exit # not run\n",
			       n, i);
			fail++;
		} else if (WIFEXITED(status[i]) && !WEXITSTATUS(status[i])) {
			printf("ok %d - launcher_node%d_exit # exit 0\n", n, i);
			pass++;
		} else {
			printf("not ok %d - launcher_node%d_exit # %s\n", n, i,
			       status_text(status[i], st_text[i],
					   sizeof(st_text[i])));
			fail++;
		}
	}
	n = NR_GUEST + 1 + OWN_COUNTERS;
	if (!snapshot) {
		printf("not ok %d - module_ipi_counters # not read: the guest did not finish\n",
		       n);
		fail++;
	} else if (cnt[0].found && cnt[1].found &&
		   cnt[0].sent == (uint64_t)xhost[0] &&
		   cnt[1].recv == (uint64_t)xhost[0] &&
		   cnt[1].sent == (uint64_t)xhost[1] &&
		   cnt[0].recv == (uint64_t)xhost[1] &&
		   xhost[0] > 0 && xhost[1] > 0 &&
		   !cnt[0].dropped && !cnt[1].dropped) {
		printf("ok %d - module_ipi_counters # node0 sent %" PRIu64 " recv %" PRIu64 ", node1 sent %" PRIu64 " recv %" PRIu64 " (the guest's %d and %d), none dropped\n",
		       n, cnt[0].sent, cnt[0].recv, cnt[1].sent, cnt[1].recv,
		       xhost[0], xhost[1]);
		pass++;
	} else {
		printf("not ok %d - module_ipi_counters # found %d %d; node0 sent %" PRIu64 " recv %" PRIu64 " dropped %" PRIu64 ", node1 sent %" PRIu64 " recv %" PRIu64 " dropped %" PRIu64 "; want node0 -> node1 %d, node1 -> node0 %d, none dropped\n",
		       n, cnt[0].found, cnt[1].found, cnt[0].sent, cnt[0].recv,
		       cnt[0].dropped, cnt[1].sent, cnt[1].recv,
		       cnt[1].dropped, xhost[0], xhost[1]);
		fail++;
	}
	if (fail && tmpdir[0]) {
		dump_log(0);
		dump_log(1);
	}
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0\n",
	       pass, fail, skip);
	cleanup();
	return fail ? TAP_FAIL : TAP_PASS;
}
