#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# nested-both.sh: the two ways a host starts QEMU on our vhost_net, at once,
# inside one boot of the test VM (make check runs it through run-vm.sh):
#
#  1. as a user types it: QEMU opens the multiqueue tap and /dev/vhost-net
#     itself (-netdev tap,ifname=vtap0,vhost=on,vhostforce=on,queues=N),
#     split rings, on 10.0.2.0/24;
#  2. as libvirt starts it: the tap queues and one vhost fd per queue pair
#     are opened before QEMU runs and passed as fds=/vhostfds=, with packed
#     rings (packed=on), on 10.0.3.0/24.
#
# Each is a whole nested-net.sh run (see its --help for what it proves).
# They run side by side because a nested guest's boot keeps one L1 vCPU
# busy with its boot processor while the other idles: two boots in parallel
# take about as long as one, where one after the other would add about two
# minutes to the suite. Both guests also exercise our module with two QEMU
# processes owning vhost devices at the same time.
#
# Options after the script name go to both runs (e.g. --queues 2).
# Prints each run's output in turn; exit status 0 when both pass, else the
# first non-zero status of the two.
set -uo pipefail

VMDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$(mktemp -d "${TMPDIR:-/tmp}/kvhost-nested-both.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

"$VMDIR/nested-net.sh" "$@" >"$OUT/ifname.log" 2>&1 &
ifname_pid=$!
"$VMDIR/nested-net.sh" "$@" --fds --packed --tap vtap1 --subnet 10.0.3 \
	--mac 52:54:00:12:35:56 >"$OUT/libvirt.log" 2>&1 &
libvirt_pid=$!

wait "$ifname_pid"
ifname_rc=$?
wait "$libvirt_pid"
libvirt_rc=$?

echo "=== 1. ifname form, split rings (exit status $ifname_rc)"
cat "$OUT/ifname.log"
echo
echo "=== 2. libvirt form (fds=/vhostfds=), packed rings (exit status $libvirt_rc)"
cat "$OUT/libvirt.log"
echo
[ "$ifname_rc" -ne 0 ] || ifname_rc=$libvirt_rc
if [ "$ifname_rc" -eq 0 ]; then
	echo "nested-both: PASS"
else
	echo "nested-both: FAIL"
fi
exit "$ifname_rc"
