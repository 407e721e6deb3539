#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# modules.sh: kvhost's modules load, unload and reload cleanly, register the
# right device nodes, and live beside the in-tree vhost core.
#
# Runs in the test VM, where run-vm.sh has already loaded kvhost.ko,
# vhost_net.ko and vhost_blk.ko from the top of the tree. Every case leaves
# the three modules loaded, as it found them.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../../../.." && pwd)
. "$HERE/lib/ktap.sh"

OURS="kvhost vhost_net vhost_blk"

loaded() {
	[ -d "/sys/module/$1" ]
}

load_ours() {
	local m

	for m in $OURS; do
		loaded "$m" || insmod "$TOP/$m.ko" || return 1
	done
}

# "major:minor" of a character device node, in decimal.
node_devno() {
	stat -c '%t %T' "$1" | while read -r maj min; do
		echo "$((16#$maj)):$((16#$min))"
	done
}

requires_vm() {
	if [ "${KVHOST_GUEST:-}" != 1 ]; then
		ktap_skip_reason "loads kernel modules: runs only in the test VM"
		return 4
	fi
}

net_node_is_10_238() {
	requires_vm || return
	[ -c /dev/vhost-net ] || ktap_fail "/dev/vhost-net is not a char device" || return
	[ "$(node_devno /dev/vhost-net)" = 10:238 ] ||
		ktap_fail "/dev/vhost-net is $(node_devno /dev/vhost-net)" || return
	[ "$(cat /sys/class/misc/vhost-net/dev)" = 10:238 ] ||
		ktap_fail "sysfs says $(cat /sys/class/misc/vhost-net/dev)"
}

blk_node_is_misc() {
	local devno

	requires_vm || return
	[ -c /dev/vhost-blk ] || ktap_fail "/dev/vhost-blk is not a char device" || return
	devno=$(cat /sys/class/misc/vhost-blk/dev) || return
	[ "${devno%%:*}" = 10 ] || ktap_fail "misc major expected, got $devno" || return
	[ "$(node_devno /dev/vhost-blk)" = "$devno" ] ||
		ktap_fail "node $(node_devno /dev/vhost-blk) != sysfs $devno"
}

net_aliases_match_in_tree() {
	local aliases

	aliases=$(modinfo -F alias "$TOP/vhost_net.ko") || return
	grep -qx 'devname:vhost-net' <<<"$aliases" ||
		ktap_fail "no devname:vhost-net alias" || return
	grep -qx 'char-major-10-238' <<<"$aliases" ||
		ktap_fail "no char-major-10-238 alias"
}

exports_are_prefixed_and_namespaced() {
	local m ns bad

	for m in vhost_net vhost_blk; do
		ns=$(modinfo -F import_ns "$TOP/$m.ko")
		[ "$ns" = KVHOST ] || ktap_fail "$m imports '$ns', not KVHOST" || return
	done
	# Module.symvers: crc, symbol, module, export type, namespace. Our
	# prefixes: kvh_ (device core) and kvr_ (vring library).
	bad=$(awk -F '\t' '$3 ~ /kvhost$/ && ($2 !~ /^kv[hr]_/ || $5 != "KVHOST")' \
		"$TOP/Module.symvers")
	[ -z "$bad" ] || ktap_fail "exports outside kvh_/kvr_/KVHOST: $bad" || return
	[ -n "$(awk -F '\t' '$3 ~ /kvhost$/' "$TOP/Module.symvers")" ] ||
		ktap_fail "kvhost exports nothing: is Module.symvers stale?"
}

unload_and_reload() {
	local i

	requires_vm || return
	for i in 1 2 3; do
		rmmod vhost_net vhost_blk kvhost || ktap_fail "rmmod round $i" || return
		for m in $OURS; do
			! loaded "$m" || ktap_fail "$m still loaded" || return
		done
		[ ! -e /sys/class/misc/vhost-net ] || ktap_fail "vhost-net left behind" || return
		[ ! -e /sys/class/misc/vhost-blk ] || ktap_fail "vhost-blk left behind" || return
		load_ours || ktap_fail "reload round $i" || return
		[ -c /dev/vhost-net ] && [ -c /dev/vhost-blk ] ||
			ktap_fail "nodes missing after reload $i" || return
	done
}

core_pinned_while_used() {
	requires_vm || return
	rmmod kvhost 2>/dev/null && { load_ours; ktap_fail "kvhost unloaded under its users"; return; }
	loaded kvhost || ktap_fail "kvhost vanished"
}

open_fd_pins_module() {
	local rc=0

	requires_vm || return
	exec 5<>/dev/vhost-net
	rmmod vhost_net 2>/dev/null && rc=1
	exec 5>&-
	[ $rc -eq 0 ] || { load_ours; ktap_fail "vhost_net unloaded with an open fd"; return; }
	rmmod vhost_net || ktap_fail "rmmod after close" || return
	load_ours
}

in_tree_vhost_coexists() {
	requires_vm || return
	modprobe vhost_vsock || ktap_fail "modprobe vhost_vsock (in-tree vhost.ko)" || return
	loaded vhost && loaded kvhost || ktap_fail "both cores should be loaded" || return
	[ -c /dev/vhost-vsock ] || ktap_fail "no /dev/vhost-vsock" || return
	# Both cores serve their own device files at the same time.
	exec 6<>/dev/vhost-vsock 7<>/dev/vhost-net || ktap_fail "open both nodes" || return
	exec 6>&- 7>&-
	modprobe -r vhost_vsock || ktap_fail "modprobe -r vhost_vsock"
}

ktap_main "$@" \
	net_node_is_10_238 \
	blk_node_is_misc \
	net_aliases_match_in_tree \
	exports_are_prefixed_and_namespaced \
	unload_and_reload \
	core_pinned_while_used \
	open_fd_pins_module \
	in_tree_vhost_coexists
