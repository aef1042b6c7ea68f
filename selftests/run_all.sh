#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the bigiron selftests found next to this script (or those named on
# the command line) and print one summary line.  busybox sh compatible.
#
# Environment: BIGIRON_KO, the module file the tests load when bigiron is
# not loaded yet (default /bigiron/bigiron.ko); BIGIRON_TEST_TIMEOUT, the
# seconds one test program may run (default 120).
#
# Exit status: 0 all passed or skipped, 1 any failure.

dir=$(dirname "$0")

# bigiron_module unloads and reloads the module: run it last.
tests="$*"
[ -n "$tests" ] || tests="bigiron_ioctl bigiron_memfile bigiron_kvm bigiron_cluster bigiron_ssi bigiron_module"

pass=0
fail=0
skip=0
failed=""

for t in $tests; do
	case "$t" in
	*/*) prog=$t ;;
	*) prog=$dir/$t ;;
	esac
	name=$(basename "$prog")
	echo "# selftest: $name"
	if [ ! -x "$prog" ]; then
		echo "not ok $name # not found: $prog"
		fail=$((fail + 1))
		failed="$failed $name"
		continue
	fi
	# A test program that hangs is killed and counted as failed; the
	# others still run.
	timeout -s KILL "${BIGIRON_TEST_TIMEOUT:-120}" "$prog"
	rc=$?
	[ "$rc" -eq 137 ] && echo "not ok $name # killed after ${BIGIRON_TEST_TIMEOUT:-120}s"
	case $rc in
	0)
		echo "# $name: pass"
		pass=$((pass + 1))
		;;
	4)
		echo "# $name: skip"
		skip=$((skip + 1))
		;;
	*)
		echo "# $name: FAIL (exit $rc)"
		fail=$((fail + 1))
		failed="$failed $name"
		;;
	esac
done

echo "# bigiron selftests: $pass passed, $fail failed, $skip skipped${failed:+ (failed:$failed)}"
[ "$fail" -eq 0 ]
