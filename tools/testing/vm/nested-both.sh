#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# nested-both.sh: the two ways a host starts QEMU on our vhost_net, one
# after the other, in one boot of the test VM (make check runs it through
# run-vm.sh):
#
#  1. as a user types it: QEMU opens the multiqueue tap and /dev/vhost-net
#     itself (-netdev tap,ifname=vtap0,vhost=on,vhostforce=on,queues=N),
#     split rings, on 10.0.2.0/24;
#  2. as libvirt starts it: the tap queues and one vhost fd per queue pair
#     are opened before QEMU runs and passed as fds=/vhostfds=, with packed
#     rings (packed=on), on 10.0.3.0/24.
#
# Each is a whole nested-net.sh run (see its --help for what it proves).
# Not side by side: two nested guests at once took as long as one after
# the other (each L2 boot keeps both L1 vCPUs busy), and their logs would
# interleave. The second run reuses the L2 vmlinux the first one unpacked.
#
# Options after the script name go to both runs (e.g. --queues 2).
# Prints each run's output as it comes; exit status 0 when both pass, else
# the first non-zero status of the two.
set -uo pipefail

VMDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

echo "=== 1. ifname form, split rings"
"$VMDIR/nested-net.sh" "$@"
ifname_rc=$?
echo "=== 1. ifname form, split rings (exit status $ifname_rc)"
echo
echo "=== 2. libvirt form (fds=/vhostfds=), packed rings"
"$VMDIR/nested-net.sh" "$@" --fds --packed --tap vtap1 --subnet 10.0.3 \
	--mac 52:54:00:12:35:56
libvirt_rc=$?
echo "=== 2. libvirt form (fds=/vhostfds=), packed rings (exit status $libvirt_rc)"
echo
[ "$ifname_rc" -ne 0 ] || ifname_rc=$libvirt_rc
if [ "$ifname_rc" -eq 0 ]; then
	echo "nested-both: PASS"
else
	echo "nested-both: FAIL"
fi
exit "$ifname_rc"
