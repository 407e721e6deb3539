#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh: kvhost's whole test suite, runnable on a fresh Debian 12 machine.
# It installs what it needs, builds with W=1, runs sparse and checkpatch,
# runs the vring library's unit tests and a bounded fuzz pass, builds the
# selftests, boots the test VM once for the whole kselftest suite, once to
# prove that the VM fails loudly and once to serve a nested QEMU guest through
# our vhost_net (the main job), then runs the suite again under a debug
# kernel (tools/testing/check-debug.sh), and ends with the line
# "N passed, N failed, N skipped". Exit status 1 if anything failed or
# nothing ran.
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RES=$TOP/.cache/results
SELFTESTS=$TOP/tools/testing/selftests/vhost
cd "$TOP" || exit 1
. "$TOP/tools/testing/lib.sh"
rm -rf "$RES"
mkdir -p "$RES"

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

# The vring library (drivers/virtio/) built in userspace: its unit tests,
# each case counted, then a bounded libFuzzer pass from the committed seeds
# (ASan + UBSan).
timeout 300 make -C "$SELFTESTS/unit" run >"$RES/vring-unit.log" 2>&1
rc=$?
before=$fail
count_tap vring_unit "$RES/vring-unit.log"
if [ $rc -ne 0 ] && [ "$fail" -eq "$before" ]; then
	tail -n 20 "$RES/vring-unit.log"
	record vring_unit fail "exit $rc; see $RES/vring-unit.log"
fi

# vdrv, the tests' userspace driver, against its in-process fake devices;
# its cases on /dev/vhost-net run in the VM (vdrv_device.sh).
timeout 120 "$SELFTESTS/vdrv_selftest" --host >"$RES/vdrv-host.log" 2>&1
rc=$?
before=$fail
count_tap vdrv_selftest_host "$RES/vdrv-host.log"
if [ $rc -ne 0 ] && [ "$fail" -eq "$before" ]; then
	tail -n 20 "$RES/vdrv-host.log"
	record vdrv_selftest_host fail "exit $rc; see $RES/vdrv-host.log"
fi
step vring_fuzz vring-fuzz timeout 180 make -C "$SELFTESTS/fuzz" run \
	FUZZ_TIME=30

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

# Count the nested kselftest results (see count_kselftests in lib.sh).
count_kselftests "$RES/selftests.tap" $progs

# Installed as a host admin installs it (make install, DKMS, modprobe, the
# /dev/vhost-net autoload, the udev rule, both uninstalls), in a VM boot of
# its own with none of our modules preloaded. "dkms add" and "dkms build"
# run here, natively, from a clean copy into a private DKMS tree (compiling
# under TCG would take longer than the suite may); the guest installs that
# build with "dkms install" (see install.sh).
dkms_prebuild() {
	local d=$RES/dkms v kver

	v=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
	kver=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' \
		"$(make -s --no-print-directory print-kdir)/include/generated/utsrelease.h")
	[ -n "$v" ] && [ -n "$kver" ] || return 1
	rm -rf "$d"
	mkdir -p "$d/tree" "$d/src/kvhost-$v"
	tar -cf - --exclude='*.o' --exclude='*.ko' --exclude='*.mod*' \
		--exclude='.*.cmd' Kbuild Makefile dkms.conf compat drivers include \
		udev | tar -xf - -C "$d/src/kvhost-$v" || return 1
	dkms add --dkmstree "$d/tree" --sourcetree "$d/src" -m kvhost -v "$v" &&
	dkms build --dkmstree "$d/tree" --sourcetree "$d/src" -m kvhost -v "$v" \
		-k "$kver" --kernelsourcedir "$(make -s --no-print-directory print-kdir)"
}
if step dkms_build_host dkms-build dkms_prebuild; then
	tools/testing/vm/run-vm.sh --no-modules --timeout 1500 \
		--log "$RES/install-console.log" --out "$RES/install.tap" -- \
		env KVHOST_DKMS_PREBUILT="$RES/dkms" \
		"$SELFTESTS/install.sh" >/dev/null 2>&1
	rc=$?
	touch "$RES/install.tap"
	count_tap install "$RES/install.tap"
	[ $rc -eq 0 ] || [ $rc -eq 1 ] ||
		record install_vm fail "run-vm returned $rc; see $RES/install-console.log"
fi

# Documentation/ builds with Debian's sphinx, warnings as errors.
step htmldocs htmldocs make htmldocs

# The main job, as a host would run it: an unmodified Debian QEMU in the VM
# runs a guest with -netdev tap,vhost=on,queues=2 and an MSI-X virtio-net;
# through our vhost_net the guest must take "ethtool -L eth0 combined 2",
# ping, and move 1 MiB per queue pair each way over TCP with equal MD5s at
# both ends, with no userspace fallback, interrupts on all four queue
# vectors and chains and bytes on both pairs in our debugfs counters
# (tools/testing/vm/nested-net.sh). A second QEMU, started after it in the
# same VM, does the same in the form libvirt uses (pre-opened
# fds=/vhostfds=) with packed rings (tools/testing/vm/nested-both.sh).
# One result per QEMU, from nested-both.sh's "=== N. ... (exit status S)"
# headers; a VM that failed (a splat, the timeout) fails both.
tools/testing/vm/run-vm.sh --mem 3G --timeout 900 \
	--log "$RES/nested-console.log" -- tools/testing/vm/nested-both.sh \
	--queues 2 >"$RES/nested-qemu.log" 2>&1
rc=$?
for form in "1:nested_qemu_2q_ifname_split" "2:nested_qemu_2q_libvirt_packed"; do
	if [ $rc -eq 0 ] || [ $rc -eq 1 ] &&
		grep -q "^=== ${form%%:*}\. .*(exit status 0)$" "$RES/nested-qemu.log"; then
		record "${form#*:}" ok
	else
		record "${form#*:}" fail "run-vm returned $rc; see $RES/nested-qemu.log"
	fi
done
[ $rc -eq 0 ] || tail -n 40 "$RES/nested-qemu.log"

# The same suite under the debug kernel (KASAN, lockdep, kmemleak, UBSAN),
# whose build is cached: only its first run pays for the kernel build.
# KVHOST_NO_DEBUG_KERNEL=1 leaves it out (and says so, as a skip).
if [ "${KVHOST_NO_DEBUG_KERNEL:-}" = 1 ]; then
	record debug_kernel_suite skip "KVHOST_NO_DEBUG_KERNEL=1"
else
	tools/testing/check-debug.sh >"$RES/check-debug.log" 2>&1
	grep -E '^(not ok - |ok - )' "$RES/check-debug.log" | sed 's/^/debug: /'
	summary=$(tail -n 1 "$RES/check-debug.log")
	if [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
		pass=$((pass + BASH_REMATCH[1]))
		fail=$((fail + BASH_REMATCH[2]))
		skip=$((skip + BASH_REMATCH[3]))
	else
		tail -n 20 "$RES/check-debug.log"
		record debug_kernel_suite fail "no summary; see $RES/check-debug.log"
	fi
fi

echo "wall time: $(($(date +%s) - start)) s"
finish
