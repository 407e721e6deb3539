#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh: kvhost's whole test suite, runnable on a fresh Debian 12 machine.
# It installs what it needs, builds with W=1, runs sparse and checkpatch,
# builds the selftests, boots the test VM once for the whole kselftest suite
# and once to prove that the VM fails loudly, and ends with the line
# "N passed, N failed, N skipped". Exit status 1 if anything failed or
# nothing ran.
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RES=$TOP/.cache/results
SELFTESTS=$TOP/tools/testing/selftests/vhost
cd "$TOP" || exit 1
rm -rf "$RES"
mkdir -p "$RES"

pass=0
fail=0
skip=0

# record NAME STATUS [DETAIL]: one host-level result (ok, fail or skip).
record() {
	case $2 in
	ok) pass=$((pass + 1)); echo "ok - $1" ;;
	skip) skip=$((skip + 1)); echo "ok - $1 # SKIP ${3:-}" ;;
	*) fail=$((fail + 1)); echo "not ok - $1${3:+ # $3}" ;;
	esac
}

finish() {
	echo "logs and results: $RES"
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
	exit $?
}

# step NAME LOG COMMAND...: run a step, keep its output, record the result.
step() {
	local name=$1 log=$RES/$2.log

	shift 2
	if "$@" >"$log" 2>&1; then
		record "$name" ok
	else
		tail -n 30 "$log"
		record "$name" fail "see $log"
		return 1
	fi
}

start=$(date +%s)

step setup setup tools/testing/vm/setup.sh || finish

# Build from clean: any compiler or kernel-doc warning under W=1 fails.
make clean >"$RES/clean.log" 2>&1
make modules >"$RES/build.log" 2>&1
brc=$?
if [ $brc -eq 0 ] && ! grep 'warning:' "$RES/build.log"; then
	record build_w1 ok
else
	tail -n 30 "$RES/build.log"
	record build_w1 fail "see $RES/build.log"
fi
[ -f "$TOP/vhost_net.ko" ] || finish

# Sparse reports are lines with file:line: that are not kbuild's own output.
make sparse >"$RES/sparse.log" 2>&1
if [ $? -eq 0 ] && ! grep -E '^[^ ]+:[0-9]+:[0-9]+: ' "$RES/sparse.log"; then
	record sparse ok
else
	record sparse fail "see $RES/sparse.log"
fi

step checkpatch_strict lint tools/testing/lint.sh

# Each uAPI header compiles on its own, with the kernel's header-test flags.
uapi_standalone() {
	local h

	for h in vhost_types.h vhost.h vhost_blk.h; do
		echo "#include <linux/$h>" | gcc -x c -std=c90 -Wall -Werror \
			-I "$TOP/include/uapi" -fsyntax-only - || return 1
	done
}
step uapi_headers_standalone uapi-headers uapi_standalone
step selftests_build selftests-build make -C "$SELFTESTS" || finish

# The harness must fail a run whose kernel log has a splat, even when the
# command itself succeeds: sysrq-l prints a backtrace of every CPU.
tools/testing/vm/run-vm.sh --timeout 120 --log "$RES/vm-splat-console.log" \
	-- sh -c 'echo l >/proc/sysrq-trigger; sleep 1' >"$RES/vm-splat.log" 2>&1
rc=$?
if [ $rc -eq 3 ] && grep -q 'guest kernel reported a problem' "$RES/vm-splat.log"; then
	record vm_fails_on_kernel_splat ok
else
	record vm_fails_on_kernel_splat fail "run-vm returned $rc"
fi

# The kselftest suite, in one VM boot.
progs=$(make -s -C "$SELFTESTS" --no-print-directory print-tests)
tools/testing/vm/run-vm.sh --timeout 900 --log "$RES/vm-console.log" \
	--out "$RES/selftests.tap" -- "$SELFTESTS/run_tests.sh" $progs
rc=$?
touch "$RES/selftests.tap"
# run_tests.sh itself exits 0 or 1; anything else is the VM's failure.
if [ $rc -eq 0 ] || [ $rc -eq 1 ]; then
	record vm_run ok
else
	record vm_run fail "run-vm returned $rc; see $RES/vm-console.log"
fi

# Count the nested kselftest results. A program whose own line is "not ok"
# without any failed case (a crash, a timeout, a bad exit) counts as one
# failure; a program that never reported counts as one failure too.
for p in $progs; do
	top=$(grep -E "^(ok|not ok) [0-9]+ selftests: vhost: $p( |$)" "$RES/selftests.tap")
	block=$(awk -v p="# selftests: vhost: $p" '
		$0 == p { on = 1; next }
		on && /^(ok|not ok) [0-9]+ selftests: / { exit }
		on { print }' "$RES/selftests.tap")
	np=$(grep -cE '^# ok [0-9]+ ' <<<"$block")
	ns=$(grep -cE '^# ok [0-9]+ .*# SKIP' <<<"$block")
	nf=$(grep -cE '^# not ok [0-9]+ ' <<<"$block")
	pass=$((pass + np - ns))
	skip=$((skip + ns))
	fail=$((fail + nf))
	if [ -z "$top" ]; then
		record "$p" fail "no result: the VM run ended early"
	elif [[ $top == "not ok"* ]] && [ "$nf" -eq 0 ]; then
		record "$p" fail "${top#*# }"
	fi
done

echo "wall time: $(($(date +%s) - start)) s"
finish
