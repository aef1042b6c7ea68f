# SPDX-License-Identifier: GPL-2.0
#
# The lab: the checks every L1 run gets, and the verdict it prints.
# Sourced by scripts/lab, which defines what it uses (TOP, RUN, ...).
# shellcheck shell=bash

# Value of the last "KEY value" line in the control log.
ctl() { sed -n "s/^$1 //p" "$RUN/ctl.log" 2>/dev/null | tr -d '\r' | tail -n 1; }
con() { tr -d '\r' <"$RUN/console.log" | sed -n "s/.*$1//p" | tail -n 1; }

FAILS=()
WEDGED=0
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
		[ -z "$(ctl LAB-CMD-TIMEOUT)" ] && WEDGED=1
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
