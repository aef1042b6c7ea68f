# SPDX-License-Identifier: GPL-2.0
#
# The lab: the checks every L1 run gets, and the verdict it prints.
# Sourced by scripts/lab, which defines what it uses (TOP, RUN, ...).
# shellcheck shell=bash

# Value of the last "KEY value" line in the control log.
ctl() { sed -n "s/^$1 //p" "$RUN/ctl.log" 2>/dev/null | tr -d '\r' | tail -n 1; }
con() { tr -d '\r' <"$RUN/console.log" | sed -n "s/.*$1//p" | tail -n 1; }

FAILS=()
# Set when the run says nothing about bigiron because the lab host failed
# under it; WEDGE_WHY says how. scripts/lab runs the scenario once more.
WEDGED=0
WEDGE_WHY=
fail() { FAILS+=("$NODE_TAG$*"); }

# Checks every L1 run gets: it ended by itself and its kernel log is clean.
check_l1() {
	# timeout(1): 124 after SIGTERM, 137 when QEMU needed the SIGKILL.
	case "$QEMU_RC" in
	124|137) QEMU_RC=124; fail "QEMU timed out after ${TIMEOUT}s" ;;
	esac
	# Timed out with neither an exit status nor a report from the L1
	# watchdog: the L1 kernel's own timers stopped, which no command it
	# runs can cause by blocking. Seen rarely under TCG with nested SVM.
	[ "$QEMU_RC" = 124 ] && [ -z "$(ctl LAB-EXIT)" ] &&
		[ -z "$(ctl LAB-CMD-TIMEOUT)" ] && wedged "the emulated L1 machine stopped making progress (its watchdog never ran)"
	case "$QEMU_RC" in
	1[3-9][0-9]|2[0-5][0-9]) [ "$QEMU_RC" = 137 ] || qemu_crashed ;;
	esac
	[ -n "$(ctl LAB-EXIT)" ] || fail "L1 did not report an exit status"
	[ -n "$(ctl LAB-CMD-TIMEOUT)" ] &&
		fail "command in L1 still running after $(ctl LAB-CMD-TIMEOUT)s (blocked tasks in the kernel log)"
	sed -n '/^LAB-DMESG-BEGIN/,/^LAB-DMESG-END/p' "$RUN/ctl.log" >"$RUN/dmesg.log"
	local bad log=$RUN/dmesg.log
	# An L1 stopped before it reported has only what its kernel printed
	# on the console (loglevel 5: warnings and worse).
	[ -s "$log" ] || log=$RUN/console.log
	bad=$(tr -d '\r' <"$log" | grep -E 'BUG:|WARNING:|Oops|RCU stall|rcu: INFO|self-detected stall|hung task|blocked for more than|general protection|Call Trace|suspected memory leak' |
		head -n 5)
	[ -z "$bad" ] || fail "L1 kernel log: $bad"
}

wedged() {
	WEDGED=1
	WEDGE_WHY=${WEDGE_WHY:-$NODE_TAG$1}
}

# QEMU itself died of a signal (timeout(1) exits 128 + the signal the
# command died of): an erratum of the lab host, not a bigiron failure, but
# one to find. Prints the crashing thread's backtrace from the core (the
# lab's QEMU keeps its symbols) to the log and to $RUN/qemu-crash.log.
qemu_crashed() {
	local sig=$((QEMU_RC - 128)) core
	fail "QEMU died of signal $sig (SIG$(kill -l "$sig" 2>/dev/null))"
	wedged "QEMU died of signal $sig"
	core=$(find "$RUN" -maxdepth 1 -name 'core*' -type f 2>/dev/null | head -n 1)
	if [ -z "$core" ]; then
		echo "lab: ${NODE_TAG}QEMU died of signal $sig and left no core in $RUN (core_pattern: $(cat /proc/sys/kernel/core_pattern))"
		return 0
	fi
	if command -v gdb >/dev/null; then
		gdb -batch -nx -ex 'info signals SIGSEGV' -ex 'bt 30' -ex 'info registers rip' \
			-ex 'thread apply all bt 12' "$QEMU_BIN" "$core" \
			>"$RUN/qemu-crash.log" 2>&1
		# The crashing thread's frames: those before "thread apply all".
		awk '/^Thread /{exit} /^#[0-9]/' "$RUN/qemu-crash.log" | head -n 30 |
			sed "s/^/lab: ${NODE_TAG}qemu crash: /"
	else
		echo "lab: ${NODE_TAG}QEMU left a core but there is no gdb to read it"
	fi
	# A core is as large as QEMU's own memory: kept only with --keep.
	[ "$KEEP" = 1 ] || rm -f "$core"
}

# "NAME: ok", or the failures and the end of each run directory's logs
# (default $RUN).
report() {
	local name=$1 d
	shift
	[ $# -gt 0 ] || set -- "$RUN"
	if [ ${#FAILS[@]} -eq 0 ]; then
		echo "$name: ok"
		return 0
	fi
	printf '%s: FAILED: %s' "$name" "${FAILS[0]}"
	[ ${#FAILS[@]} -lt 2 ] || printf '; %s' "${FAILS[@]:1}"
	echo
	for d in "$@"; do
		echo "--- last console lines ($d/console.log) ---"
		# Indented, so that a caller counting TAP lines does not count these.
		tail -n 40 "$d/console.log" | tr -d '\r' | sed 's/^/  /'
		echo "--- last control lines ($d/ctl.log) ---"
		grep -v -e '^LAB-DMESG' -e '^LAB-ALIVE' -e '^\[' "$d/ctl.log" | tail -n 10 |
			tr -d '\r' | sed 's/^/  /'
		echo "--- last L1 kernel log lines ($d/dmesg.log) ---"
		tail -n 60 "$d/dmesg.log" | tr -d '\r' | sed 's/^/  /'
	done
	KEEP=1
	return 1
}

times() {
	printf 'lab: %s: L1 up after %ss (guest clock), guest init after %ss (guest clock), %ss wall from launch, wall %ss\n' \
		"$1" "$(ctl LAB-L1-UP)" "$(con 'BIGIRON-GUEST-UPTIME ')" \
		"$(ctl LAB-BOOT-WALL)" "$WALL"
}

# $1 what, $2 the wall time (default $WALL).
l1_times() {
	printf 'lab: %s: L1 up after %ss (guest clock), wall %ss\n' \
		"$1" "$(ctl LAB-L1-UP)" "${2:-$WALL}"
}
