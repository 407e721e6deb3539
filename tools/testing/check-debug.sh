#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-debug.sh: kvhost's kselftest suite under a debug kernel (KASAN,
# lockdep, kmemleak, UBSAN, DEBUG_LIST, hung-task and soft-lockup detectors).
#
# It builds the kernel from Debian's 6.1 source with vm/build-debug-kernel.sh
# (cached), builds our modules against it in a copy of the tree, so that the
# stock-kernel .ko files at the top stay as they are, boots it with
# vm/run-vm.sh, runs the same run_tests.sh list as check.sh, then has
# kmemleak scan. A leak that our modules allocated fails the run; the
# kernel's own leaks are listed as diagnostics. It ends with the line
# "N passed, N failed, N skipped". Exit status 1 if anything failed or
# nothing ran.
#
# Two programs of the suite matter most here: stress (the hostile guest and
# VMM) runs for KVHOST_STRESS_SECONDS per device type (30 here, 5 in
# check.sh), and failslab (slab failures on every setup path) runs only
# under this kernel; both must run, not skip. The allocation-failure
# reports that failslab's injected failures provoke (warn_alloc's "vmalloc
# error" or "page allocation failure", with a stack) are expected and left
# out of the kernel log check; any other report inside them still fails.
set -uo pipefail

KML=/sys/kernel/debug/kmemleak

# kmemleak_report WHAT: scan and print the current suspects between markers.
# kmemleak reports an object only once it has stayed unreferenced for a
# whole scan and is at least five seconds old, hence the second scan.
kmemleak_report() {
	if ! echo scan 2>/dev/null >"$KML"; then
		echo "KVHOST_KMEMLEAK $1 unavailable"
		return
	fi
	sleep 6
	echo scan >"$KML"
	echo "KVHOST_KMEMLEAK $1 begin"
	cat "$KML"
	echo "KVHOST_KMEMLEAK $1 end"
}

# In the VM: --guest SELFTESTS_DIR PROG...
if [ "${1:-}" = --guest ]; then
	sel=$2
	shift 2
	export KVHOST_STRESS_SECONDS=${KVHOST_STRESS_SECONDS:-30}
	# One report, after the tests: it also holds what booting leaked,
	# which is the kernel's and only listed. A report of the boot alone
	# cost two scans, about 40 s under KASAN, for a list that was empty.
	"$sel/run_tests.sh" "$@"
	rc=$?
	kmemleak_report tests
	# lockdep turns itself off after its first report, or when a taint
	# makes its state meaningless: then it silently stopped checking.
	echo "KVHOST_DEBUG_LOCKS $(sed -n 's/^ *debug_locks: *//p' /proc/lockdep_stats)"
	exit $rc
fi

case ${1:-} in
"") ;;
# The header above is the help text.
-h|--help) sed -n '4,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
*) echo "check-debug: unknown option $1 (try --help)" >&2; exit 2 ;;
esac

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RES=$TOP/.cache/results-debug
# Our modules and selftests, built against the debug kernel: a copy of the
# sources, because kbuild writes its objects next to them.
COPY=$TOP/.cache/debug-tree
SELFTESTS=$COPY/tools/testing/selftests/vhost
cd "$TOP" || exit 1
. "$TOP/tools/testing/lib.sh"
rm -rf "$RES"
mkdir -p "$RES"

start=$(date +%s)

step setup setup tools/testing/vm/setup.sh || finish

t=$(date +%s)
if dir=$(tools/testing/vm/build-debug-kernel.sh 2>"$RES/debug-kernel.log"); then
	record debug_kernel_build ok
else
	tail -n 30 "$RES/debug-kernel.log"
	record debug_kernel_build fail "see $RES/debug-kernel.log"
	finish
fi
echo "debug kernel: $(($(date +%s) - t)) s ($(tail -n 1 "$RES/debug-kernel.log"))"
. "$dir/kernel.env"

# A fresh copy every time: the three modules build in seconds, and a copy
# that only grows could hide a deleted source. The .gitignore files keep
# build output and caches out of it.
copy_tree() {
	rm -rf "$COPY" &&
	mkdir -p "$COPY" &&
	rsync -a --exclude=/.git --filter=':- .gitignore' "$TOP/" "$COPY/"
}
step debug_tree_copy debug-tree copy_tree || finish

# The same W=1 build as check.sh's, against the debug kernel's tree: the
# sanitizers' instrumentation can bring warnings of its own.
make -C "$COPY" KDIR="$KDIR" modules >"$RES/build.log" 2>&1
brc=$?
if [ $brc -eq 0 ] && ! grep 'warning:' "$RES/build.log"; then
	record build_w1_debug ok
else
	tail -n 30 "$RES/build.log"
	record build_w1_debug fail "see $RES/build.log"
fi
[ -f "$COPY/vhost_net.ko" ] || finish

step selftests_build selftests-build make -C "$SELFTESTS" || finish

# The kselftest suite in one boot. KASAN's shadow takes an eighth of the
# memory and everything runs several times slower under the checkers.
progs=$(make -s -C "$SELFTESTS" --no-print-directory print-tests)
t=$(date +%s)
tools/testing/vm/run-vm.sh --kernel "$KERNEL" --moddir "$MODDIR" --kdir "$KDIR" \
	--modules "$COPY/kvhost.ko $COPY/vhost_net.ko $COPY/vhost_blk.ko" \
	--mem 3G --timeout 2700 --log "$RES/vm-console.log" --out "$RES/vm-out.log" \
	-- "$TOP/tools/testing/check-debug.sh" --guest "$SELFTESTS" $progs
rc=$?
echo "vm run: $(($(date +%s) - t)) s"
touch "$RES/vm-out.log"
# The TAP and the kmemleak report apart; KVHOST_ lines are ours.
awk -v res="$RES" '
	/^KVHOST_KMEMLEAK [a-z]+ begin$/ { f = res "/kmemleak-" $2 ".txt"; next }
	/^KVHOST_/ { f = ""; next }
	f != "" { print > f; next }
	{ print > (res "/selftests.tap") }' "$RES/vm-out.log"
touch "$RES/selftests.tap" "$RES/kmemleak-tests.txt"

# run_tests.sh itself exits 0 or 1; 3 is run-vm.sh seeing a splat in the
# kernel log, judged below; anything else is the VM's failure.
case $rc in
0|1|3) record vm_run ok ;;
*) record vm_run fail "run-vm returned $rc; see $RES/vm-console.log" ;;
esac

count_kselftests "$RES/selftests.tap" $progs

# Every report in splat-patterns fails, except kmemleak's "new suspected"
# line: kmemleak prints it on each scan that finds anything, the kernel's
# own leaks included. Its reports are judged on their contents below.
grep -v '^kmemleak' tools/testing/vm/splat-patterns >"$RES/splat-patterns"
# warn_alloc's report of a failure failslab injected: from its first line,
# "failslab: vmalloc error: ..." or "failslab: page allocation failure: ..."
# (the task's name is the test's), through the end of the stack dump.
awk '/\] failslab: (vmalloc error|page allocation failure):/ { skip = 1 }
	skip && /<\/TASK>/ { skip = 0; next }
	!skip' "$RES/vm-console.log" >"$RES/vm-console-judged.log"
if grep -aEf "$RES/splat-patterns" "$RES/vm-console-judged.log" >/dev/null; then
	grep -aE -A 20 -f "$RES/splat-patterns" "$RES/vm-console-judged.log" |
		head -n 80
	record kernel_log_clean fail "see $RES/vm-console.log"
else
	record kernel_log_clean ok
fi

# The debug-only parts must really have run: a skip here hides them.
# ran_cases NAME PROG CASE...: every CASE of PROG passed, not skipped.
ran_cases() {
	local name=$1 prog=$2 c miss=

	shift 2
	for c in "$@"; do
		grep -qE "^# ok [0-9]+ $c\$" "$RES/selftests.tap" || miss="$miss $c"
	done
	if [ -z "$miss" ]; then
		record "$name" ok
	else
		record "$name" fail "$prog did not pass:$miss"
	fi
}
ran_cases stress_ran stress net_split blk_split
ran_cases failslab_ran failslab net_every_allocation blk_every_allocation \
	net_random_failures blk_random_failures
# The figures the stress printed: time, iterations, ioctls.
grep -aE '^# # /dev/vhost-(net|blk) (split|packed): ([0-9.]+ s, guest|VMM|[0-9]+ TX)' \
	"$RES/selftests.tap" | sed 's/^# # /stress: /'

if grep -qx 'KVHOST_DEBUG_LOCKS 1' "$RES/vm-out.log"; then
	record lockdep_active ok
elif grep -q '^KVHOST_DEBUG_LOCKS ' "$RES/vm-out.log"; then
	record lockdep_active fail "lockdep turned itself off; see $RES/vm-console.log"
else
	record lockdep_active fail "no lockdep state from the VM"
fi

# kmemleak_records FILE: one line per suspect, its report joined by "|".
kmemleak_records() {
	awk '/^unreferenced object/ && r != "" { print r; r = "" }
		{ r = r $0 "|" } END { if (r != "") print r }' "$1"
}

# A suspect is ours when its allocation backtrace names one of our modules
# or a kvh_ symbol. A frame that no longer resolves (a bare 0x address) was
# in a module since unloaded: modules.sh reloads ours, and vhost_vsock is
# the only other module the suite unloads, so such a suspect is counted as
# ours rather than let a leak in our init or exit paths pass unseen.
ours='\[(kvhost|vhost_net|vhost_blk)\]|[ ]kvh_[a-z0-9_]+\+|\] 0x[0-9a-f]+\|'
if grep -q 'KVHOST_KMEMLEAK tests begin' "$RES/vm-out.log"; then
	kmemleak_records "$RES/kmemleak-tests.txt" >"$RES/kmemleak-tests.list"
	n_all=$(wc -l <"$RES/kmemleak-tests.list")
	n_ours=$(grep -cE "$ours" "$RES/kmemleak-tests.list")
	echo "kmemleak: $n_all suspects after the tests, $n_ours of them ours"
	if [ "$n_all" -gt "$n_ours" ]; then
		echo "kmemleak: not ours (diagnostics only, see $RES/kmemleak-tests.txt):"
		grep -vE "$ours" "$RES/kmemleak-tests.list" | head -n 5 | tr '|' '\n'
	fi
	if [ "$n_ours" -eq 0 ]; then
		record kmemleak_ours ok
	else
		grep -E "$ours" "$RES/kmemleak-tests.list" | head -n 5 | tr '|' '\n'
		record kmemleak_ours fail "$n_ours leaks; see $RES/kmemleak-tests.txt"
	fi
else
	record kmemleak_ours fail "no kmemleak report from the VM"
fi

echo "wall time: $(($(date +%s) - start)) s"
finish
