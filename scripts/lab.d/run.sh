# SPDX-License-Identifier: GPL-2.0
#
# The lab: running L1s, one at a time or two joined by a wire.
# Sourced by scripts/lab, which defines what it uses (TOP, RUN, ...).
# shellcheck shell=bash

# The QEMU command line of one L1 in $RUN, as array QEMU: $1 vCPUs, the
# rest extra QEMU arguments (a NIC).
qemu_cmd() {
	local smp=$1
	shift
	# tsc=reliable: L1's TSC sync check fails under TCG ("TSCs
	# unsynchronized"), and with an unstable host TSC KVM freezes a
	# vCPU's TSC while it is not loaded and moves its offset at every
	# load, so no guest TSC could be aligned across nodes (README, Time).
	# The debug kernel runs with 4-level paging: under KASAN, an
	# interrupt early in its boot with 5-level paging (-cpu max has
	# LA57) was reported as a wild access in the IRQ code, before any
	# module was loaded.
	local extra=
	[ -z "${DEBUG_KERNEL:-}" ] || extra=" no5lvl"
	# shellcheck disable=SC2054 # the commas are QEMU's
	QEMU=(timeout --foreground -k 10 "$TIMEOUT"
		"$QEMU_BIN" -machine q35,dump-guest-core=off -accel tcg,thread=multi
		-cpu "$L1_CPU" -smp "$smp" -m "$L1_MEM" -nodefaults -no-reboot -display none
		-kernel "$KIMAGE" -initrd "$RUN/l1.cpio"
		-append "console=ttyS0 panic=-1 quiet loglevel=5 nokaslr tsc=reliable$extra"
		-serial stdio -serial "file:$RUN/ctl.log" "$@")
}

# Run "${QEMU[@]}" in $RUN with core dumps on, so that an emulator crash
# leaves a core there for qemu_crashed (guest RAM is left out of it:
# dump-guest-core=off). The core goes to $RUN when the kernel's
# core_pattern is a plain file name, as on Debian without a crash handler.
run_qemu() {
	(cd "$RUN" && ulimit -c unlimited 2>/dev/null; exec "${QEMU[@]}")
}

# Boot L1 once with $CMD; leaves console.log, ctl.log, rc in $RUN.
boot_l1() {
	local start end qrc
	build_l1_initrd "$RUN/l1.cpio"
	qemu_cmd "$L1_SMP"
	start=$(date +%s.%N)
	if [ "$VERBOSE" = 1 ]; then
		run_qemu </dev/null 2>&1 | tee "$RUN/console.log"
		qrc=${PIPESTATUS[0]}
	else
		run_qemu </dev/null >"$RUN/console.log" 2>&1
		qrc=$?
	fi
	end=$(date +%s.%N)
	WALL=$(echo "$end - $start" | bc)
	QEMU_RC=$qrc
}

# ---------------------------------------------- two L1s at once
#
# Node I's run directory is $RUN/nodeI. NODE_PID, NODE_T0, NODE_RC,
# NODE_WALL, NODE_STOPPED (why the lab stopped it) and NODE_QUIET (seconds
# its control log had been silent then) are indexed by I. Within
# "in_node I COMMAND...", RUN is node I's directory, so build_l1_initrd,
# ctl, con, check_l1 and report work on node I, and its failures name it.
NODE_PID=() NODE_T0=() NODE_RC=() NODE_WALL=() NODE_STOPPED=() NODE_QUIET=()
NODE_TAG=

in_node() {
	local RUN=$RUN/node$1 NODE_TAG="node$1: "
	shift
	"$@"
}

# In node $1's directory: start its L1 in the background; the rest are
# extra QEMU arguments. QEMU's own errors go to its console.log.
start_node() {
	local i=$1
	shift
	qemu_cmd "$L1_SMP_2HOST" "$@"
	NODE_T0[i]=$(date +%s.%N)
	run_qemu </dev/null >"$RUN/console.log" 2>&1 &
	NODE_PID[i]=$!
	NODE_RC[i]=
	NODE_STOPPED[i]=
	NODE_QUIET[i]=0
	if [ "$VERBOSE" = 1 ]; then
		tail --pid="${NODE_PID[i]}" -n +1 -F "$RUN/console.log" 2>/dev/null |
			sed -u "s/^/node$i| /" &
	fi
}

# In node $1's directory: stop its L1 (timeout(1), which passes the signal
# on to QEMU) because of $2.
stop_node() {
	local i=$1 pid=${NODE_PID[$1]}
	NODE_STOPPED[i]=$2
	NODE_QUIET[i]=$(($(date +%s) - $(stat -c %Y "$RUN/ctl.log" 2>/dev/null ||
		echo "${NODE_T0[i]%.*}")))
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 20); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.5
	done
	pkill -KILL -P "$pid" 2>/dev/null
	kill -KILL "$pid" 2>/dev/null
}

# Two consecutive UDP ports on 127.0.0.1 that nothing uses now; prints the
# first.
free_udp_ports() {
	local used p
	used=" $(awk 'FNR > 1 { sub(/.*:/, "", $2); print $2 }' \
		/proc/net/udp /proc/net/udp6 2>/dev/null |
		while read -r p; do echo $((16#$p)); done | tr '\n' ' ') "
	while :; do
		p=$((20000 + RANDOM % 40000))
		case "$used" in *" $p "*|*" $((p + 1)) "*) continue ;; esac
		echo "$p"
		return
	done
}

# Boot two L1s, node I running command $1 (I = 0) and $2 (I = 1), each with
# a virtio-net NIC with MAC 52:54:00:b1:00:0<I+1>. The NICs are joined by a
# UDP socket netdev on 127.0.0.1: one datagram per Ethernet frame, no
# start order, and none of a TCP stream's delays (Nagle and delayed acks
# cost ~40 ms per round trip with "-netdev socket,listen/connect").
# Leaves the nodes' status in NODE_*.
boot_2host() {
	local cmd=("$1" "$2") i port
	for i in 0 1; do
		mkdir -p "$RUN/node$i"
		CMD=${cmd[i]}
		in_node "$i" build_l1_initrd "$RUN/node$i/l1.cpio"
	done
	port=$(free_udp_ports)
	in_node 0 start_node 0 \
		-netdev "socket,id=n0,udp=127.0.0.1:$((port + 1)),localaddr=127.0.0.1:$port" \
		-device virtio-net-pci,netdev=n0,romfile=,mac=52:54:00:b1:00:01
	in_node 1 start_node 1 \
		-netdev "socket,id=n0,udp=127.0.0.1:$port,localaddr=127.0.0.1:$((port + 1))" \
		-device virtio-net-pci,netdev=n0,romfile=,mac=52:54:00:b1:00:02
	wait_nodes 0 1
}

# Wait until the nodes given have ended. One that timed out has the others
# stopped at once; one that ended by itself with a failure gives them
# PEER_GRACE seconds to notice and end by themselves, then stops them.
wait_nodes() {
	local i deadline='' why='' all
	while :; do
		all=1
		for i in "$@"; do
			[ -z "${NODE_RC[i]}" ] || continue
			if kill -0 "${NODE_PID[i]}" 2>/dev/null; then
				all=0
				continue
			fi
			wait "${NODE_PID[i]}"
			NODE_RC[i]=$?
			NODE_WALL[i]=$(echo "$(date +%s.%N) - ${NODE_T0[i]}" | bc)
			[ -z "$why" ] || continue
			case "${NODE_RC[i]}" in
			124|137)
				why="node$i timed out"
				deadline=0 ;;
			*)
				[ "$(in_node "$i" ctl LAB-EXIT)" = 0 ] && continue
				why="node$i failed"
				deadline=$(($(date +%s) + PEER_GRACE)) ;;
			esac
		done
		[ "$all" = 1 ] && return 0
		if [ -n "$deadline" ] && [ "$(date +%s)" -ge "$deadline" ]; then
			for i in "$@"; do
				[ -n "${NODE_RC[i]}" ] || in_node "$i" stop_node "$i" "$why"
			done
			deadline=
		fi
		sleep 1
	done
}

# In node $1's directory: the checks of check_l1, for a node that may have
# been stopped by the lab. One stopped while its control log had been
# silent for long (lab-init writes to it every 30 s) had wedged.
check_node() {
	local i=$1
	QEMU_RC=${NODE_RC[i]}
	WALL=${NODE_WALL[i]}
	if [ -n "${NODE_STOPPED[i]}" ]; then
		fail "stopped by the lab after ${WALL%.*}s (${NODE_STOPPED[i]})"
		QEMU_RC=stopped
		[ -z "$(ctl LAB-EXIT)" ] && [ -z "$(ctl LAB-CMD-TIMEOUT)" ] &&
			[ "${NODE_QUIET[i]}" -ge 150 ] &&
			wedged "the emulated L1 machine stopped making progress (its watchdog never ran)"
	fi
	check_l1
}

# Stop the L1s still running when the lab exits (interrupted, or died).
stop_nodes() {
	local i
	for i in "${!NODE_PID[@]}"; do
		kill -0 "${NODE_PID[i]}" 2>/dev/null && kill -TERM "${NODE_PID[i]}" 2>/dev/null
	done
}
