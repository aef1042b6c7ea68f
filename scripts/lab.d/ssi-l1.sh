# SPDX-License-Identifier: GPL-2.0
#
# The lab: what L1 runs for the ssi scenarios. scripts/lab.d/ssi.sh sends
# these functions to L1 with "declare -f" (L1's sh is bash); they use only
# what L1 has (busybox, ip, tc, tracefs) and run there, never on the lab host.
# Sourced by scripts/lab, which defines what it uses (TOP, RUN, ...).
# shellcheck shell=bash

# "r=R w=W" of node $1's VM in this L1: the VM directory without a peer
# directory for node $1 (a node has one for every other node only).
l1_faults() {
	local d
	for d in /sys/kernel/bigiron/vm*; do
		[ -e "$d/remote_read_faults" ] || continue
		[ -d "$d/peers/node$1" ] && continue
		echo "r=$(cat "$d/remote_read_faults") w=$(cat "$d/remote_write_faults")"
		return 0
	done
	echo "r=? w=?"
}

# The network this L1 needs: $1 mode, $2 its nodes. A tap bi0 10.0.2.1/24
# for the guest's NIC, the cluster's link (veth0/veth1, or eth0, with MTU
# 9000 like the dsm scenarios, so a page is one frame; dsm-2host covers
# fragmented pages), and in 2host 10.77.1.(N+1) on eth0, on which node 0
# tells node 1 that the guest's init has started.
l1_ssi_setup() {
	local mode=$1 nodes=$2
	ip link set lo up
	ip tuntap add dev bi0 mode tap || return 1
	ip addr add 10.0.2.1/24 dev bi0 && ip link set bi0 up || return 1
	case $mode in
	veth)
		ip link add veth0 address 02:00:00:00:00:01 mtu 9000 type veth \
			peer name veth1 address 02:00:00:00:00:02 mtu 9000 || return 1
		ip link set veth0 up && ip link set veth1 up || return 1 ;;
	2host)
		ip link set eth0 mtu ${SSI_2HOST_MTU:-9000} up || return 1
		ip addr add "10.77.1.$((nodes + 1))/24" dev eth0 || return 1 ;;
	esac
}

# The emulated CPU's state leak (README, "One VM on several hosts"):
# under heavy nested paging faults, QEMU's emulated SVM has been seen to
# hand KVM a guest exit carrying L1's own state, the RIP just after
# L1's VMRUN (in kvm_amd's __svm_vcpu_run) and L1's CR3, after which the
# guest loops on page faults at L1's addresses. No guest ever
# runs there, so a kvm_exit event whose guest RIP lies in that function
# marks the run as spoiled by the emulator rather than by bigiron.
# l1_leak_watch arms the filter (not without tracefs or the symbol);
# l1_leak_count prints "N ..." (or "unwatched ...") and disarms it.
l1_leak_watch() {
	local t=/sys/kernel/debug/tracing a b
	[ -d $t ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
	[ -e $t/events/kvm/kvm_exit/filter ] || return 0
	# (L1 has no /dev/fd for a process substitution)
	a=$(sort /proc/kallsyms | awk '
		f { print s "-" $1; exit }
		$3 == "__svm_vcpu_run" { s = $1; f = 1 }')
	b=${a#*-}
	a=${a%-*}
	[ -n "$b" ] || return 0
	echo 0 >$t/tracing_on
	echo >$t/trace
	echo "guest_rip >= 0x$a && guest_rip < 0x$b" >$t/events/kvm/kvm_exit/filter &&
		echo 1 >$t/events/kvm/kvm_exit/enable && echo 1 >$t/tracing_on &&
		echo "$a-$b" >leak.range
}
l1_leak_count() {
	local t=/sys/kernel/debug/tracing n first
	[ -s leak.range ] || { echo "unwatched (no tracefs or no __svm_vcpu_run)"; return 0; }
	echo 0 >$t/events/kvm/kvm_exit/enable
	n=$(grep -c 'kvm_exit:' $t/trace)
	first=$(grep -m 1 'kvm_exit:' $t/trace | sed 's/.*kvm_exit: //')
	echo 0 >$t/events/kvm/kvm_exit/filter
	echo >$t/trace
	echo "$n in guest exits, RIP watched in $(cat leak.range)${first:+; first: $first}"
	rm -f leak.range
}

# One VM: $1 run name, $2 mode, $3 this L1's nodes ("0 1", "0" or "1"),
# with vm.conf and cluster.key in the current directory. Starts a launcher
# per node (the first one's output live on the console: on node 0 that is
# the guest's console), notes the time and every node's remote faults when
# the guest's init starts, and after they have ended prints the LAB- lines
# scripts/lab parses (all at the end: printed live they would split the
# guest's lines). Returns non-zero when a launcher did not exit 0.
l1_ssi_run() {
	local run=$1 mode=$2 nodes=$3 n first='' t0 t limit seen='' rc=0 m c
	local tick=0
	local -a args
	echo "LAB-SSI-BEGIN $run"
	rm -f rc0 rc1 node0.log node1.log boot.msg boot.lab leak.range
	# The disk: 64 MiB of zeros, on node 1 too in case its launcher
	# checks the file as well (only the I/O node opens it).
	grep -q '^disk' vm.conf && { dd if=/dev/zero of=disk.img bs=1M count=64 2>/dev/null || return 1; }
	t0=$(cut -d' ' -f1 /proc/uptime)
	# What is left of lab-init's limit for the command, less time to report.
	limit=$(($(cat /lab/timeout) - ${t0%.*} - 40))
	[ "$limit" -gt 60 ] || limit=60
	if [ "$mode" = 2host ] && [ "$nodes" = 1 ]; then
		timeout "$limit" nc -l -p 7701 >boot.msg 2>/dev/null &
	fi
	l1_leak_watch
	for n in $nodes; do
		# shellcheck disable=SC2206 # LAUNCH_ARGS: words on purpose
		args=(${LAUNCH_ARGS:-} vm.conf)
		[ "$mode" = veth ] && args=(--node "$n" "${args[@]}")
		if [ -z "$first" ]; then
			first=$n
			{ timeout -k 10 "$limit" bigiron-launch "${args[@]}" 2>&1; echo $? >"rc$n"; } |
				tee "node$n.log" &
		else
			{ timeout -k 10 "$limit" bigiron-launch "${args[@]}" >"node$n.log" 2>&1; echo $? >"rc$n"; } &
		fi
	done
	[ -n "${SSI_PROBE:-}" ] &&
		{ timeout "$limit" sh -c "$SSI_PROBE" >/dev/ttyS1 2>&1 & }
	# Bounded by the launchers' timeout; the extra minute covers -k.
	while [ "$(cut -d' ' -f1 /proc/uptime | cut -d. -f1)" -lt $((${t0%.*} + limit + 60)) ]; do
		c=0
		for n in $nodes; do
			[ -e "rc$n" ] && c=$((c + 1))
		done
		[ "$c" = "$(echo "$nodes" | wc -w)" ] && break
		if [ -z "$seen" ] && { grep -q BIGIRON-GUEST-UPTIME node0.log 2>/dev/null || [ -s boot.msg ]; }; then
			seen=1
			t=$(cut -d' ' -f1 /proc/uptime)
			for n in $nodes; do
				echo "LAB-BOOT-FAULTS $run node$n $(l1_faults "$n")"
			done >boot.lab
			[ -e node0.log ] && echo "LAB-BOOT-WALL $run $(awk -v a="$t0" -v b="$t" 'BEGIN { printf "%.1f", b - a }')" >>boot.lab
			[ "$mode" = 2host ] && [ "$nodes" = 0 ] &&
				echo boot | timeout 10 nc 10.77.1.2 7701 2>/dev/null
		fi
		# Every 30 s, on the control port (the console is the
		# guest's): how far the nodes got, for a run that hangs.
		tick=$((tick + 1))
		if [ $((tick % 60)) = 0 ]; then
			t=$(cut -d' ' -f1 /proc/uptime)
			echo "LAB-SSI-PROGRESS $run $(awk -v a="$t0" -v b="$t" 'BEGIN { printf "%.0f", b - a }')s:$(for n in $nodes; do
				echo -n " node$n $(l1_faults "$n")"; done)" >/dev/ttyS1
		fi
		sleep 0.5
	done
	sleep 1
	for n in $nodes; do
		[ "$n" = "$first" ] || sed "s/^/node$n| /" "node$n.log"
	done
	cat boot.lab 2>/dev/null
	echo "LAB-SSI-EMU-LEAK $run $(l1_leak_count)"
	for n in $nodes; do
		echo "LAB-LAUNCH-EXIT $run node$n $(cat "rc$n" 2>/dev/null || echo none)"
		echo "LAB-STATS $run node$n $(grep -a 'bigiron-launch: stats' "node$n.log" | tail -n 1 | sed 's/.*stats //')"
		[ "$(cat "rc$n" 2>/dev/null)" = 0 ] || rc=1
	done
	# grep -c counts the image's lines holding the marker: the file's
	# blocks hold it in plain text.
	if [ -e node0.log ] && grep -q '^disk' vm.conf; then
		m=$(grep -ao 'BIGIRON-DISK-MARKER-[0-9a-f]*' node0.log | tail -n 1)
		c=0
		[ -n "$m" ] && c=$(grep -c "$m" disk.img)
		echo "LAB-DISK-MARKER $run ${m:-none} ${c:-0}"
	fi
	# Whatever of this run still runs: node 1's nc listener when node 0
	# never saw the guest start.
	for n in $(jobs -p); do
		kill "$n" 2>/dev/null
	done
	echo "LAB-SSI-END $run"
	return $rc
}
