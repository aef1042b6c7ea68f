#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Two-node tests of bigiron's coherent guest memory (bigiron_dsm) and its
# fault latency (bigiron_bench).  busybox sh compatible.  Modes:
#
#   run_dsm.sh veth      both nodes in this kernel, on a veth pair bi0/bi1
#                        (MTU 9000): a clean pass; an injection pass: the
#                        data cases again while bigiron_inject floods
#                        both ends with random, truncated, forged,
#                        replayed and reordered copies of their frames,
#                        each of which the receiving node must drop and
#                        count; then a pass with netem on both ends (1 %
#                        loss, 1 % duplication, ~1 % reordering), then
#                        far_pages on a 1 TiB VM; then rmmod bigiron must
#                        succeed.
#   run_dsm.sh 2host N   this host is node N (0 or 1) of two, linked by
#                        eth0 (MAC 52:54:00:b1:00:01 for node 0, :02 for
#                        node 1, MTU 1500: pages travel in fragments);
#                        10.77.0.(N+1)/24 on eth0 carries the control
#                        channel.  Clean pass, netem pass on this host's
#                        eth0, rmmod check.  Both hosts run it together.
#   run_dsm.sh rxe       both nodes in this kernel over the RDMA transport:
#                        Soft-RoCE (rxe devices rxa and rxb) on the two
#                        ends of a veth pair ra/rb (MTU 9000), node 0 at
#                        10.77.0.1:7471, node 1 at 10.77.0.2:7471, with
#                        policy routing so that the packets between the
#                        two local addresses take the pair, not lo.  A
#                        clean pass (bad_frames is skipped: no raw frames
#                        on RDMA); a pass with netem on ra and rb and
#                        page payloads read by the receiver (the
#                        module's rdma_pages=read); then
#                        forged_key: node 0 with a wrong cluster key must
#                        not join and node 1 must refuse its connection
#                        requests as forged (rdma_refused); then
#                        link_lost: while
#                        node 0 faults on node 1's pages, rb goes down
#                        and rxb is deleted, and node 0's faults must end
#                        in SIGBUS within the fault timeout; then rmmod
#                        bigiron must succeed.
#   run_dsm.sh rxe2host N  as 2host, over the RDMA transport: Soft-RoCE
#                        rxe0 on eth0, node N at 10.77.0.(N+1):7471.
#                        Clean pass, netem pass, rmmod check.
#   run_dsm.sh bench     bigiron_bench on a veth pair (MTU 9000), then
#                        perftest's ib_read_lat and ib_send_lat (4 KiB)
#                        and bigiron_bench over RDMA on rxe as in rxe,
#                        once for each way page payloads may travel
#                        (the module's rdma_pages: send, the default,
#                        labelled rdma; read, rdma-read; copy, rdma-copy).
#   run_dsm.sh failslab  the data cases on a veth pair while the kernel's
#                        fault injection (failslab, fail_page_alloc, only
#                        for the two test programs: task-filter) fails
#                        some of their allocations in the kernel: each
#                        program may fail with an error it reports, but
#                        no page may read back wrong; then rmmod.  Needs a
#                        kernel with CONFIG_FAILSLAB (the debug tier).
#
# tc-netem(8): "delay 1ms reorder 99%" sends 99 % of the packets at once
# and delays the other 1 % by 1 ms, so that about 1 % arrive after
# packets sent later than them.
#
# Environment: DSM_MEM_MB (default 256) guest memory of the clean pass,
# DSM_NETEM_MEM_MB (default 256) of the netem pass (in veth, 2host and
# rxe), DSM_BIG_MEM_MB (default 1048576) of the far_pages pass;
# DSM_INJECT_MEM_MB (default
# 64) guest memory, DSM_INJECT_CASES (default
# cross_node_rw,atomic_many_pages,ring,random_rw) the cases and
# DSM_INJECT_S (default 40) seconds of flood of the injection pass (the
# VMs stay open after their cases until the injector has read their
# counters); DSM_TIMEOUT (default
# 600) and DSM_NETEM_TIMEOUT (default 600) seconds a program of the clean
# and of the netem pass may run before it is killed (together below the
# lab's limit per scenario); DSM_CTL_WAIT (default 30) seconds node 1
# retries to connect; DSM_ARGS extra arguments for bigiron_dsm (e.g.
# --cases LIST);
# BIGIRON_KO (default /bigiron/bigiron.ko) to load bigiron again after
# the rmmod check.
#
# Exit status: 0 when everything passed, 1 otherwise.

# $NETEM, $DSM_ARGS and a node's arguments ($a0, $a1, $EXTRA1, a rule)
# are lists of arguments: split on purpose
# shellcheck disable=SC2086

dir=$(cd "$(dirname "$0")" && pwd)
DSM=$dir/bigiron_dsm
BENCH=$dir/bigiron_bench
INJECT=$dir/bigiron_inject
MEM_MB=${DSM_MEM_MB:-256}
NETEM_MB=${DSM_NETEM_MEM_MB:-256}
BIG_MB=${DSM_BIG_MEM_MB:-1048576}
INJ_MB=${DSM_INJECT_MEM_MB:-64}
INJ_CASES=${DSM_INJECT_CASES:-cross_node_rw,atomic_many_pages,ring,random_rw}
INJ_S=${DSM_INJECT_S:-40}
T_CLEAN=${DSM_TIMEOUT:-600}
T_NETEM=${DSM_NETEM_TIMEOUT:-600}
T=$T_CLEAN
CTL_WAIT=${DSM_CTL_WAIT:-30}
NETEM="loss 1% duplicate 1% delay 1ms reorder 99%"
PARAM=/sys/module/bigiron/parameters/fault_timeout_ms
LOGS=${TMPDIR:-/tmp}

pass=0
fail=0
failed=""

usage() {
	echo "usage: $0 veth | 2host 0|1 | rxe | rxe2host 0|1 | bench | failslab" >&2
	exit 2
}

ok() {
	echo "ok - run_dsm: $*"
	pass=$((pass + 1))
}

notok() {
	echo "not ok - run_dsm: $*"
	fail=$((fail + 1))
	failed="$failed $(echo "$1" | sed 's/ #.*//; s/ /_/g')"
}

# fault_timeout_ms as found, put back after each program (a killed one
# cannot restore it itself)
saved_timeout=$(cat $PARAM 2>/dev/null)
restore_param() {
	[ -n "$saved_timeout" ] && [ -w $PARAM ] && echo "$saved_timeout" >$PARAM
}

# The module's rdma_pages (how page payloads travel over RDMA): $1.
set_pages() {
	echo "$1" >/sys/module/bigiron/parameters/rdma_pages
}

mac_of() {
	cat "/sys/class/net/$1/address" 2>/dev/null
}

# $1: one end of the pair (default bi0)
veth_del() {
	ip link del "${1:-bi0}" 2>/dev/null || "$DSM" --del-veth "${1:-bi0}"
}

# $1/$2 (default bi0/bi1), MTU 9000, up; busybox ip may not know veth:
# then the helper
veth_add() {
	v0=${1:-bi0} v1=${2:-bi1}
	veth_del "$v0"
	if ! ip link add "$v0" mtu 9000 type veth peer name "$v1" mtu 9000 \
		2>/dev/null || [ ! -e "/sys/class/net/$v1" ]; then
		veth_del "$v0"
		"$DSM" --make-veth "$v0" "$v1" 9000 || return 1
	fi
	ip link set "$v0" mtu 9000 up && ip link set "$v1" mtu 9000 up
}

# Soft-RoCE in this kernel: rxe devices rxa on ra and rxb on rb, the two
# ends of a veth pair, with node 0 on RXE_IP0 (ra) and node 1 on RXE_IP1
# (rb).  Both addresses are local: by default the kernel would carry the
# packets between them over lo, where rxe never sees them.  So the local
# table moves from rule 0 to rule 100, rules 10 look up what arrives on
# ra or rb there, and rules 20 send what leaves from each address out of
# its own end of the pair (tables 101 and 102).
RXE_IP0=10.77.0.1
RXE_IP1=10.77.0.2
RXE_PORT=7471
RXE_RULES="pref 10 iif ra lookup local,pref 10 iif rb lookup local,\
pref 20 from $RXE_IP0 lookup 101,pref 20 from $RXE_IP1 lookup 102"
IPV4_CONF=/proc/sys/net/ipv4/conf
saved_accept_local=
saved_rp_filter=

# Whatever rxe_add left, gone; the routing rules as they were.
rxe_del() {
	rdma link delete rxa 2>/dev/null
	rdma link delete rxb 2>/dev/null
	veth_del ra
	old_ifs=$IFS
	IFS=,
	for r in $RXE_RULES; do
		IFS=$old_ifs
		while ip rule del $r 2>/dev/null; do :; done
	done
	IFS=$old_ifs
	ip route flush table 101 2>/dev/null
	ip route flush table 102 2>/dev/null
	# the local table at the front again before its stand-in goes
	ip rule show | grep -q '^0:' || ip rule add pref 0 lookup local
	while ip rule del pref 100 lookup local 2>/dev/null; do :; done
	[ -z "$saved_accept_local" ] ||
		echo "$saved_accept_local" >$IPV4_CONF/all/accept_local
	[ -z "$saved_rp_filter" ] ||
		echo "$saved_rp_filter" >$IPV4_CONF/all/rp_filter
}

rxe_add() {
	rxe_del
	modprobe rdma_rxe 2>/dev/null
	veth_add ra rb || return 1
	ip addr add $RXE_IP0/24 dev ra && ip addr add $RXE_IP1/24 dev rb ||
		return 1
	saved_accept_local=$(cat $IPV4_CONF/all/accept_local)
	saved_rp_filter=$(cat $IPV4_CONF/all/rp_filter)
	for c in all ra rb; do
		echo 1 >$IPV4_CONF/$c/accept_local &&
			echo 0 >$IPV4_CONF/$c/rp_filter || return 1
	done
	ip rule add pref 100 lookup local && ip rule del pref 0 &&
		ip rule add pref 10 iif ra lookup local &&
		ip rule add pref 10 iif rb lookup local &&
		ip route add $RXE_IP1 dev ra src $RXE_IP0 table 101 &&
		ip route add $RXE_IP0 dev rb src $RXE_IP1 table 102 &&
		ip rule add pref 20 from $RXE_IP0 lookup 101 &&
		ip rule add pref 20 from $RXE_IP1 lookup 102 || return 1
	rdma link add rxa type rxe netdev ra &&
		rdma link add rxb type rxe netdev rb || return 1
	# both ports active, within 10 s
	i=0
	while [ $i -lt 10 ]; do
		if rdma link show rxa/1 | grep -q 'state ACTIVE' &&
			rdma link show rxb/1 | grep -q 'state ACTIVE'; then
			rdma link show | sed 's/^/# run_dsm: /'
			return 0
		fi
		sleep 1
		i=$((i + 1))
	done
	echo "# run_dsm: rxe ports not active: $(rdma link show | tr '\n' ' ')"
	return 1
}

netem_on() {
	modprobe sch_netem 2>/dev/null
	for ifc in "$@"; do
		if ! tc qdisc add dev "$ifc" root netem $NETEM; then
			echo "# run_dsm: tc qdisc add dev $ifc root netem $NETEM failed"
			return 1
		fi
		echo "# run_dsm: $ifc: $(tc qdisc show dev "$ifc" | head -n 1)"
	done
}

netem_off() {
	for ifc in "$@"; do
		tc qdisc del dev "$ifc" root 2>/dev/null
	done
}

# Verdict of one program run: $1 name, $2 exit status, $3 its log if
# it still has to be shown.
verdict() {
	[ -z "$3" ] || cat "$3"
	case $2 in
	0)	ok "$1" ;;
	137)	notok "$1 # killed after ${T}s" ;;
	*)	notok "$1 # exit $2" ;;
	esac
}

# The link of the two nodes in this kernel: bi0/bi1 (veth), or the rxe
# devices on ra/rb (rxe).
LINK=veth
# Arguments for node 0 only, and for node 1 only (forged_key's
# --wrong-key).
EXTRA0=
EXTRA1=

# Each node's arguments for LINK, in $a0 and $a1.
pair_args() {
	if [ "$LINK" = rxe ]; then
		a0="--rdma0 $RXE_IP0:$RXE_PORT --rdma1 $RXE_IP1:$RXE_PORT"
		a1=$a0
	else
		m0=$(mac_of bi0)
		m1=$(mac_of bi1)
		a0="--dev bi0 --mac0 $m0 --mac1 $m1"
		a1="--dev bi1 --mac0 $m0 --mac1 $m1"
	fi
}

# Both nodes of PROG on LINK at once: $1 name, $2 port, $3 program,
# then its extra arguments.  Node 0's output is shown as it comes, node
# 1's (kept in a file meanwhile) after it, so that they do not mix.
run_pair() {
	name=$1 port=$2 prog=$3
	shift 3
	pair_args
	timeout -s KILL "$T" "$prog" --node 0 $a0 \
		--ctl 127.0.0.1:"$port" --ctl-wait "$CTL_WAIT" "$@" $EXTRA0 2>&1 &
	pid0=$!
	timeout -s KILL "$T" "$prog" --node 1 $a1 \
		--ctl 127.0.0.1:"$port" --ctl-wait "$CTL_WAIT" "$@" $EXTRA1 \
		>"$LOGS/dsm-$name-1.log" 2>&1 &
	pid1=$!
	wait "$pid0"
	rc0=$?
	wait "$pid1"
	rc1=$?
	restore_param
	verdict "$name node0" $rc0 ""
	verdict "$name node1" $rc1 "$LOGS/dsm-$name-1.log"
}

# This host's node only: $1 name, $2 node, $3 port, then extra arguments.
run_one() {
	name=$1 n=$2 port=$3
	shift 3
	if [ "$LINK" = rxe ]; then
		link="--rdma0 10.77.0.1:$RXE_PORT --rdma1 10.77.0.2:$RXE_PORT"
	else
		link="--dev eth0 --mac0 52:54:00:b1:00:01 --mac1 52:54:00:b1:00:02"
	fi
	timeout -s KILL "$T" "$DSM" --node "$n" $link \
		--ctl 10.77.0.1:"$port" --ctl-wait "$CTL_WAIT" "$@" 2>&1
	rc=$?
	restore_param
	verdict "$name node$n" $rc ""
}

# far_pages on a BIG_MB VM (1 TiB): $1 name, $2 port.  max_mem_mb
# (this host's RAM by default) is raised for it and put back.
big_vm() {
	mp=/sys/module/bigiron/parameters/max_mem_mb
	old=$(cat $mp 2>/dev/null)
	if [ -z "$old" ] || ! echo "$BIG_MB" >$mp; then
		notok "$1 # cannot set max_mem_mb"
		return
	fi
	T=$T_CLEAN
	run_pair "$1" "$2" "$DSM" --mem-mb "$BIG_MB" --cases far_pages
	echo "$old" >$mp
}

# The data cases on bi0/bi1 while bigiron_inject floods both ends with
# frames made from theirs: $1 name, $2 port.  The cases must pass (every
# byte verified); the injector waits until both nodes have joined, floods
# for INJ_S seconds, then must find every frame it sent counted by the
# receiving node (debugfs vm<ID>/cluster and peers, its exit status).
inject_pass() {
	name=$1 port=$2
	if [ ! -x "$INJECT" ]; then
		notok "$name # $INJECT not found"
		return
	fi
	T=$T_CLEAN
	iwait=$((CTL_WAIT + 60))
	ilimit=$((iwait + INJ_S + 60))
	t0=$(date +%s)
	# the VMs stay open after their cases until the injector has read
	# their counters (bigiron_dsm --hold-file)
	held=$LOGS/dsm-$name-inject.done
	rm -f "$held"
	(
		timeout -s KILL "$ilimit" "$INJECT" --dev bi0 --dev bi1 \
			--duration "$INJ_S" --wait "$iwait" \
			>"$LOGS/dsm-$name-inject.log" 2>&1
		echo $? >"$held"
	) &
	ipid=$!
	run_pair "$name" "$port" "$DSM" --mem-mb "$INJ_MB" --cases "$INJ_CASES" \
		--hold-file "$held"
	wait "$ipid"
	irc=$(cat "$held" 2>/dev/null || echo 2)
	cat "$LOGS/dsm-$name-inject.log"
	echo "# run_dsm: $name: $(($(date +%s) - t0)) s"
	case $irc in
	0)	ok "$name injector: every injected frame dropped and counted" ;;
	1)	notok "$name injector: injected frames not accounted" ;;
	3)	notok "$name injector: no traffic or node to inject to" ;;
	137)	notok "$name injector # killed after ${ilimit}s" ;;
	*)	notok "$name injector # exit $irc" ;;
	esac
}

# Fault injection for the processes marked make-it-fail (and their
# children): FAIL_PCT percent of their slab and page allocations in the
# kernel fail, sleeping ones included, at most FAIL_TIMES in all.
FAIL_PCT=${DSM_FAIL_PCT:-2}
FAIL_TIMES=100000
failslab_on() {
	for d in /sys/kernel/debug/failslab /sys/kernel/debug/fail_page_alloc; do
		echo Y >$d/task-filter && echo "$FAIL_PCT" >$d/probability &&
			echo 1 >$d/interval && echo $FAIL_TIMES >$d/times &&
			echo 0 >$d/space && echo 0 >$d/verbose &&
			echo N >$d/ignore-gfp-wait || return 1
	done
	echo N >/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem
}

# Failures injected so far (of both), from what is left of FAIL_TIMES.
failslab_count() {
	echo $((2 * FAIL_TIMES - $(cat /sys/kernel/debug/failslab/times) -
		$(cat /sys/kernel/debug/fail_page_alloc/times)))
}

failslab_off() {
	echo 0 >/sys/kernel/debug/failslab/probability
	echo 0 >/sys/kernel/debug/fail_page_alloc/probability
}

# A page or counter read back wrong, in a bigiron_dsm log (check_page(),
# the atomic cases, the ring, random_rw's tally).
WRONG='is 0x[0-9a-f]*, want|counter [0-9]* is [0-9]*, want|ring item [0-9]*: got|, [1-9][0-9]* wrong,'

# Both nodes of bigiron_dsm on bi0/bi1 with fault injection on them once
# they joined (--make-it-fail): $1 name, $2 port, then bigiron_dsm's
# arguments.  A node passes when it
# passed, or failed with errors but read nothing wrong; allocations must
# have failed meanwhile.
run_failing() {
	name=$1 port=$2
	shift 2
	m0=$(mac_of bi0)
	m1=$(mac_of bi1)
	before=$(failslab_count)
	for n in 0 1; do
		timeout -s KILL "$T" "$DSM" --node $n --dev bi$n \
			--mac0 "$m0" --mac1 "$m1" --ctl 127.0.0.1:"$port" \
			--ctl-wait "$CTL_WAIT" --make-it-fail 1 "$@" \
			>"$LOGS/dsm-$name-$n.log" 2>&1 &
		eval "pid$n=\$!"
	done
	wait "$pid0"
	rc0=$?
	wait "$pid1"
	rc1=$?
	restore_param
	failed=$(($(failslab_count) - before))
	echo "# run_dsm: $name: $failed allocations failed by injection"
	for n in 0 1; do
		eval "rc=\$rc$n"
		sed 's/^/# /' "$LOGS/dsm-$name-$n.log"
		if grep -qE "$WRONG" "$LOGS/dsm-$name-$n.log"; then
			notok "$name node$n # read wrong data (exit $rc)"
		elif [ "$rc" = 137 ]; then
			notok "$name node$n # killed after ${T}s"
		else
			ok "$name node$n: exit $rc, nothing read wrong"
		fi
	done
	if [ "$failed" -gt 0 ]; then
		ok "$name: allocations failed under the programs"
	else
		notok "$name: no allocation failed: the injection did not act"
	fi
	# and something was proved: a data case passed despite them
	cases=$(cat "$LOGS/dsm-$name-0.log" "$LOGS/dsm-$name-1.log" |
		grep -E '^ok [0-9]+ - node[01]: ' | grep -vc ': join$')
	if [ "$cases" -gt 0 ]; then
		ok "$name: $cases data cases passed under injection"
	else
		notok "$name: no data case passed: the injection left nothing checked"
	fi
}

# rxe: the link goes away under a running cluster: $1 name, $2 port.
# Node 0 faults on node 1's pages (bigiron_dsm --cases link_lost); once it
# says so, node 1's rxe device rxb is deleted, both programs still
# running, then rb goes down.  The deletion must end within 10 s: node
# 1's module lets go of the device when it is told of its removal, and
# does not wait for the VM to close.  Node 0's faults must end in SIGBUS
# within the fault timeout (the program checks that), and both programs
# must end.
rxe_link_lost() {
	name=$1 port=$2
	pair_args
	for n in 0 1; do
		rm -f "$LOGS/dsm-$name-$n.rc" "$LOGS/dsm-$name-$n.log"
	done
	rm -f "$LOGS/dsm-$name-del.rc"
	(
		timeout -s KILL "$T" "$DSM" --node 0 $a0 \
			--ctl 127.0.0.1:"$port" --ctl-wait "$CTL_WAIT" \
			--mem-mb 64 --cases link_lost \
			>"$LOGS/dsm-$name-0.log" 2>&1
		echo $? >"$LOGS/dsm-$name-0.rc"
	) &
	pid0=$!
	(
		timeout -s KILL "$T" "$DSM" --node 1 $a1 \
			--ctl 127.0.0.1:"$port" --ctl-wait "$CTL_WAIT" \
			--mem-mb 64 --cases link_lost \
			>"$LOGS/dsm-$name-1.log" 2>&1
		echo $? >"$LOGS/dsm-$name-1.rc"
	) &
	pid1=$!
	# the cue: node 0 has faulted on node 1's pages for a while
	cue='link_lost: faulting'
	i=0
	while ! grep -q "$cue" "$LOGS/dsm-$name-0.log" 2>/dev/null &&
		[ ! -e "$LOGS/dsm-$name-0.rc" ] && [ $i -lt "$T" ]; do
		sleep 1
		i=$((i + 1))
	done
	cut=
	if grep -q "$cue" "$LOGS/dsm-$name-0.log" 2>/dev/null; then
		echo "# run_dsm: $name: rxb deleted, then rb down"
		t0=$(date +%s)
		(
			rdma link delete rxb >"$LOGS/dsm-$name-del.log" 2>&1
			echo $? >"$LOGS/dsm-$name-del.rc"
		) &
		i=0
		while [ ! -e "$LOGS/dsm-$name-del.rc" ] && [ $i -lt 10 ]; do
			sleep 1
			i=$((i + 1))
		done
		del_s=$(($(date +%s) - t0))
		ip link set rb down
		cut=1
	fi
	wait "$pid0"
	t1=$(date +%s)
	wait "$pid1"
	restore_param
	rc0=$(cat "$LOGS/dsm-$name-0.rc" 2>/dev/null || echo 2)
	rc1=$(cat "$LOGS/dsm-$name-1.rc" 2>/dev/null || echo 2)
	verdict "$name node0" "$rc0" "$LOGS/dsm-$name-0.log"
	verdict "$name node1" "$rc1" "$LOGS/dsm-$name-1.log"
	if [ -z "$cut" ]; then
		notok "$name: link taken away # node 0 did not fault first"
		return
	fi
	echo "# run_dsm: $name: node 0 ended $((t1 - t0)) s after the cut"
	# what the deletion did within its 10 s, the VMs still open
	drc=$(cat "$LOGS/dsm-$name-del.rc" 2>/dev/null)
	what="$name: rdma link delete rxb under a running VM"
	case $drc in
	0)	ok "$what # done within $del_s s" ;;
	"")	notok "$what # still blocked after 10 s" ;;
	*)	notok "$what # exit $drc: $(cat "$LOGS/dsm-$name-del.log")" ;;
	esac
	# a deletion still blocked must not outlive the run
	i=0
	while [ ! -e "$LOGS/dsm-$name-del.rc" ] && [ $i -lt 60 ]; do
		sleep 1
		i=$((i + 1))
	done
}

# perftest's $1 (ib_read_lat or ib_send_lat) with 4 KiB messages between
# rxa and rxb, connected by rdma_cm like bigiron: its median ("typical")
# and 99th percentile as a bench: line.  ib_read_lat times a whole RDMA
# READ (a round trip with the page); ib_send_lat half a SEND ping-pong.
raw_lat() {
	"$1" -d rxb -R -s 4096 -n 1000 -F -p 18515 >"$LOGS/$1-server.log" 2>&1 &
	srv=$!
	sleep 2
	"$1" -d rxa -R -s 4096 -n 1000 -F -p 18515 --source_ip "$RXE_IP0" \
		"$RXE_IP1" >"$LOGS/$1.log" 2>&1
	rc=$?
	sleep 1
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
	line=$(awk '$1 == 4096 && NF >= 9 { print $5, $8; exit }' \
		"$LOGS/$1.log")
	if [ "$rc" != 0 ] || [ -z "$line" ]; then
		sed 's/^/# /' "$LOGS/$1.log" | tail -n 20
		notok "bench rdma $1 # exit $rc"
		return
	fi
	set -- "$1" $line
	echo "bench: rdma ${1}_4k median_us=$2 p99_us=$3 samples=1000"
	ok "bench rdma $1"
}

# The module must go away once every VM is closed.
rmmod_check() {
	if [ ! -d /sys/module/bigiron ]; then
		notok "rmmod bigiron # module not loaded"
		return
	fi
	if rmmod bigiron && [ ! -d /sys/module/bigiron ]; then
		ok "rmmod bigiron: unloaded cleanly"
	else
		notok "rmmod bigiron: did not unload # left: $(echo /sys/kernel/bigiron/vm*)"
	fi
	ko=${BIGIRON_KO:-/bigiron/bigiron.ko}
	if [ ! -d /sys/module/bigiron ] && [ -f "$ko" ]; then
		insmod "$ko" || echo "# run_dsm: insmod $ko failed"
	fi
}

summary() {
	echo "# run_dsm $mode: $pass passed, $fail failed${failed:+ (failed:$failed)}"
	[ "$fail" -eq 0 ]
	exit $?
}

mode=$1
if [ ! -x "$DSM" ] || [ ! -x "$BENCH" ]; then
	echo "not ok - run_dsm: programs not found in $dir"
	exit 1
fi

# the control channel of one-host modes runs over 127.0.0.1
ip link set lo up 2>/dev/null

case "$mode" in
veth)
	if veth_add; then
		run_pair veth 7790 "$DSM" --mem-mb "$MEM_MB" $DSM_ARGS
		inject_pass veth-inject 7794
		if netem_on bi0 bi1; then
			T=$T_NETEM
			run_pair veth-netem 7791 "$DSM" --netem \
				--mem-mb "$NETEM_MB" $DSM_ARGS
		else
			notok "veth-netem # cannot set up netem"
		fi
		netem_off bi0 bi1
		# a VM far larger than this host: its metadata must grow
		# with the pages used, not with its size (far_pages)
		big_vm veth-1tib 7793
		veth_del
	else
		notok "veth # cannot create the veth pair bi0/bi1"
	fi
	rmmod_check
	summary
	;;
2host)
	n=$2
	[ "$n" = 0 ] || [ "$n" = 1 ] || usage
	want=52:54:00:b1:00:0$((n + 1))
	[ "$(mac_of eth0)" = "$want" ] ||
		echo "# run_dsm: warning: eth0 is $(mac_of eth0), node $n expects $want"
	ip link set eth0 mtu 1500
	ip link set eth0 up
	ip addr add 10.77.0.$((n + 1))/24 dev eth0 2>/dev/null
	run_one 2host "$n" 7790 --mem-mb "$MEM_MB" $DSM_ARGS
	if netem_on eth0; then
		T=$T_NETEM
		run_one 2host-netem "$n" 7791 --netem --mem-mb "$NETEM_MB" \
			$DSM_ARGS
	else
		notok "2host-netem # cannot set up netem"
	fi
	netem_off eth0
	rmmod_check
	summary
	;;
rxe2host)
	n=$2
	[ "$n" = 0 ] || [ "$n" = 1 ] || usage
	LINK=rxe
	ip link set eth0 mtu 1500
	ip link set eth0 up
	ip addr add 10.77.0.$((n + 1))/24 dev eth0 2>/dev/null
	rdma link delete rxe0 2>/dev/null
	if rdma link add rxe0 type rxe netdev eth0; then
		ok "rxe2host: Soft-RoCE rxe0 on eth0 (10.77.0.$((n + 1)))"
		run_one rxe2host "$n" 7790 --mem-mb "$MEM_MB" $DSM_ARGS
		if netem_on eth0; then
			T=$T_NETEM
			run_one rxe2host-netem "$n" 7791 --netem \
				--mem-mb "$NETEM_MB" $DSM_ARGS
		else
			notok "rxe2host-netem # cannot set up netem"
		fi
		netem_off eth0
		rdma link delete rxe0
	else
		notok "rxe2host # cannot add rxe0 on eth0"
	fi
	rmmod_check
	summary
	;;
failslab)
	if [ ! -d /sys/kernel/debug/failslab ]; then
		echo "ok - run_dsm: failslab # SKIP no fault injection in this kernel"
		summary
	fi
	if veth_add && failslab_on; then
		run_failing failslab 7795 --mem-mb 64 \
			--cases cross_node_rw,atomic_many_pages,ring,random_rw
		failslab_off
		veth_del
	else
		notok "failslab # cannot set up the veth pair or fault injection"
		failslab_off
	fi
	rmmod_check
	summary
	;;
rxe)
	LINK=rxe
	if rxe_add; then
		ok "rxe: Soft-RoCE rxa on ra ($RXE_IP0), rxb on rb ($RXE_IP1)"
		run_pair rxe 7796 "$DSM" --mem-mb "$MEM_MB" $DSM_ARGS
		# the lossy pass with page payloads read by the receiver
		if netem_on ra rb && set_pages read; then
			T=$T_NETEM
			run_pair rxe-netem 7797 "$DSM" --netem \
				--mem-mb "$NETEM_MB" $DSM_ARGS
		else
			notok "rxe-netem # cannot set up netem or rdma_pages"
		fi
		set_pages send
		netem_off ra rb
		# a short JOIN each; node 0's key is wrong: its connection
		# requests (node 0 connects) must fail node 1's check
		T=$((CTL_WAIT + 120))
		EXTRA0=--wrong-key
		run_pair rxe-forged 7798 "$DSM" --mem-mb 64 --cases forged_key
		EXTRA0=
		# node 0's faults go on for 120 s at most, unless the link dies
		T=$((CTL_WAIT + 300))
		rxe_link_lost rxe-link-lost 7799
		T=$T_CLEAN
	else
		notok "rxe # cannot set up Soft-RoCE on the veth pair ra/rb"
	fi
	rmmod_check
	rxe_del
	summary
	;;
bench)
	if veth_add; then
		run_pair bench 7792 "$BENCH" --mem-mb "$MEM_MB"
		veth_del
	else
		notok "bench # cannot create the veth pair bi0/bi1"
	fi
	LINK=rxe
	if rxe_add; then
		raw_lat ib_read_lat
		raw_lat ib_send_lat
		run_pair bench-rdma 7793 "$BENCH" --mem-mb "$MEM_MB"
		for mode in read copy; do
			if set_pages $mode; then
				run_pair bench-rdma-$mode 7794 "$BENCH" \
					--mem-mb "$MEM_MB"
			else
				notok "bench rdma-$mode # cannot set rdma_pages"
			fi
		done
		set_pages send
		rxe_del
	else
		rxe_del
		notok "bench rdma # cannot set up rxe"
	fi
	LINK=veth
	summary
	;;
*)
	usage
	;;
esac
