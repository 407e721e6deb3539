#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# install.sh: kvhost installed the way a host admin installs it, with
# "make install" and with DKMS, then modprobe, the devname autoload, the
# udev rule and both uninstall paths.
#
# Runs in the test VM booted without our modules preloaded:
#   tools/testing/vm/run-vm.sh --no-modules -- tools/testing/selftests/vhost/install.sh
# The guest's /lib/modules/<release> is the Debian kernel package's tree on
# a writable overlay (see tools/testing/vm/init.sh), so depmod and modprobe
# behave as on a host. The cases run in order and each builds on the state
# the previous ones left; the last ones uninstall everything again. If our
# modules are loaded when it starts (e.g. in the shared suite), they are
# unloaded first and reloaded from the tree at the end.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../../../.." && pwd)
# The DKMS case builds the modules under TCG: give it time.
KTAP_TIMEOUT=${KTAP_TIMEOUT:-1200}
. "$HERE/lib/ktap.sh"

OURS="vhost_net vhost_blk kvhost"
KVER=$(uname -r)
MODLIB=/lib/modules/$KVER
STATE=/tmp/kvhost-install-test
CLEAN=$STATE/clean-tree
DKMS_VERSION=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$TOP/dkms.conf")

requires_vm() {
	if [ "${KVHOST_GUEST:-}" != 1 ]; then
		ktap_skip_reason "installs kernel modules: runs only in the test VM"
		return 4
	fi
}

loaded() {
	[ -d "/sys/module/$1" ]
}

unload_ours() {
	local m

	for m in $OURS; do
		! loaded "$m" || rmmod "$m" || return 1
	done
}

in_tree_ko() {
	echo "$MODLIB/kernel/drivers/vhost/$1.ko"
}

# Open a vhost device, become its owner and read its features. Prints
# "features 0x..." and, for our devices, the debugfs directory that only
# kvhost creates at SET_OWNER ("kvhost-debugfs yes|no").
probe() {
	python3 - "$1" <<'PY'
import fcntl, glob, os, struct, sys

VHOST = 0xAF
SET_OWNER = (VHOST << 8) | 0x01
GET_FEATURES = (2 << 30) | (8 << 16) | (VHOST << 8) | 0x00

fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.ioctl(fd, SET_OWNER)
buf = bytearray(8)
fcntl.ioctl(fd, GET_FEATURES, buf)
print("features 0x%x" % struct.unpack("<Q", bytes(buf))[0])
mine = glob.glob("/sys/kernel/debug/kvhost/*-%d-*" % os.getpid())
print("kvhost-debugfs %s" % ("yes" if mine else "no"))
os.close(fd)
PY
}

# Is the loaded $1 (vhost_net or vhost_blk) ours? Ours depends on kvhost,
# the in-tree vhost_net on vhost.ko. Our modules carry no MODULE_VERSION, so
# they have no srcversion to compare.
loaded_is_ours() {
	loaded "$1" && [ -e "/sys/module/kvhost/holders/$1" ]
}

# Is the loaded $1 the kernel package's module? It has a srcversion.
loaded_is_in_tree() {
	loaded "$1" && [ "$(cat "/sys/module/$1/srcversion" 2>/dev/null)" = \
		"$(modinfo -F srcversion "$(in_tree_ko "$1")")" ]
}

# depmod reads all ~4000 modules of the tree. Through the VM's overlay on
# 9p that takes about 18 s even with a warm cache, and the cases run it four
# times; on tmpfs it takes about 6 s. So the tree is copied once into a
# tmpfs mounted over /lib/modules/<release>: the same files, which the
# VM's writable overlay would discard at power-off anyway.
modlib_to_tmpfs() {
	[ "$(stat -f -c %T "$MODLIB")" != tmpfs ] || return 0
	mkdir -p /run/kvhost-modlib &&
	mount -t tmpfs -o mode=0755 kvhost-modlib /run/kvhost-modlib &&
	cp -a "$MODLIB/." /run/kvhost-modlib/ &&
	mount --bind /run/kvhost-modlib "$MODLIB"
}

start_clean() {
	requires_vm || return
	rm -rf "$STATE"
	mkdir -p "$STATE"
	modlib_to_tmpfs || ktap_fail "cannot copy $MODLIB to a tmpfs" || return
	unload_ours || ktap_fail "cannot unload our modules" || return
	[ ! -e "$MODLIB/updates/kvhost" ] ||
		ktap_fail "$MODLIB/updates/kvhost exists before the test" || return
	for m in kvhost.ko vhost_net.ko vhost_blk.ko; do
		[ -f "$TOP/$m" ] || ktap_fail "$TOP/$m is not built" || return
	done
	# Before the install, modprobe resolves the in-tree vhost_net.
	[ "$(modinfo -n vhost_net)" = "$(in_tree_ko vhost_net)" ] ||
		ktap_fail "vhost_net resolves to $(modinfo -n vhost_net)" || return
	# The in-tree module is told apart by its srcversion.
	[ -n "$(modinfo -F srcversion "$(in_tree_ko vhost_net)")" ] ||
		ktap_fail "the in-tree vhost_net has no srcversion"
}

make_install_places_modules() {
	local m

	requires_vm || return
	make -s -C "$TOP" install >"$STATE/install.log" 2>&1 ||
		{ sed 's/^/# /' "$STATE/install.log"; ktap_fail "make install"; return; }
	for m in kvhost vhost_net vhost_blk; do
		cmp -s "$TOP/$m.ko" "$MODLIB/updates/kvhost/$m.ko" ||
			ktap_fail "$m.ko not installed under updates/kvhost" || return
		[ "$(modinfo -n "$m")" = "$MODLIB/updates/kvhost/$m.ko" ] ||
			ktap_fail "depmod resolves $m to $(modinfo -n "$m")" || return
	done
	cmp -s "$TOP/udev/60-kvhost.rules" /etc/udev/rules.d/60-kvhost.rules ||
		ktap_fail "udev rule not installed" || return
	# The in-tree file is still there, only shadowed.
	[ -f "$(in_tree_ko vhost_net)" ] || ktap_fail "in-tree vhost_net.ko gone"
}

modprobe_loads_ours() {
	local out

	requires_vm || return
	modprobe vhost_net || ktap_fail "modprobe vhost_net" || return
	loaded_is_ours vhost_net || ktap_fail "loaded vhost_net is not ours" || return
	! loaded vhost || ktap_fail "in-tree vhost.ko loaded for our vhost_net" || return
	out=$(probe /dev/vhost-net) || ktap_fail "probe /dev/vhost-net" || return
	ktap_diag "vhost-net: $(echo $out)"
	grep -qx 'kvhost-debugfs yes' <<<"$out" ||
		ktap_fail "/dev/vhost-net is not served by kvhost"
}

vsock_in_tree_beside_ours() {
	local out feat

	requires_vm || return
	modprobe vhost_vsock || ktap_fail "modprobe vhost_vsock" || return
	loaded_is_in_tree vhost ||
		ktap_fail "vhost_vsock did not load the in-tree vhost.ko" || return
	[ -e /sys/module/vhost/holders/vhost_vsock ] ||
		ktap_fail "vhost_vsock does not use vhost.ko" || return
	loaded_is_ours vhost_net || ktap_fail "ours went away" || return
	# Both cores serve their devices at the same time.
	exec 8<>/dev/vhost-net || ktap_fail "open /dev/vhost-net" || return
	out=$(probe /dev/vhost-vsock) || ktap_fail "probe /dev/vhost-vsock" || return
	ktap_diag "vhost-vsock: $(echo $out)"
	feat=$(sed -n 's/^features //p' <<<"$out")
	# The in-tree vhost_vsock offers VIRTIO_F_VERSION_1 (bit 32).
	(( (feat >> 32) & 1 )) || ktap_fail "vhost-vsock features $feat" || return
	grep -qx 'kvhost-debugfs no' <<<"$out" ||
		ktap_fail "vhost-vsock went through kvhost?" || return
	out=$(probe /dev/vhost-net) || ktap_fail "probe /dev/vhost-net" || return
	grep -qx 'kvhost-debugfs yes' <<<"$out" ||
		ktap_fail "vhost-net not served by kvhost beside vhost.ko" || return
	exec 8>&-
	modprobe -r vhost_vsock || ktap_fail "modprobe -r vhost_vsock" || return
	! loaded vhost || ktap_fail "vhost.ko still loaded"
}

udev_rule_sets_vhost_blk_mode() {
	requires_vm || return
	getent group kvm >/dev/null || ktap_fail "no kvm group on this system" || return
	modprobe vhost_blk || ktap_fail "modprobe vhost_blk" || return
	loaded_is_ours vhost_blk || ktap_fail "loaded vhost_blk is not ours" || return
	# devtmpfs creates root:root 0600; udev (no daemon runs in the VM, so
	# udevadm test plays the add event) must apply our rule.
	chgrp root /dev/vhost-blk && chmod 0600 /dev/vhost-blk
	udevadm test --action=add /sys/class/misc/vhost-blk >"$STATE/udev.log" 2>&1 ||
		{ tail -n 20 "$STATE/udev.log" | sed 's/^/# /'; ktap_fail "udevadm test"; return; }
	grep -q '60-kvhost.rules' "$STATE/udev.log" ||
		ktap_fail "our rule did not match" || return
	[ "$(stat -c '%G %a' /dev/vhost-blk)" = "kvm 660" ] ||
		ktap_fail "/dev/vhost-blk is $(stat -c '%G %a' /dev/vhost-blk)"
}

# The kernel runs /sbin/modprobe for request_module() in init's root. In the
# VM that is the initramfs, and the tests run chrooted into the real root
# (init.sh), so bridge the call into the chroot the way a host's
# /sbin/modprobe would serve it. On a host nothing needs doing.
bridge_request_module() {
	local r=/proc/1/root

	[ -e "$r/kvhost.conf" ] && [ -d "$r/newroot/usr" ] || return 0
	mkdir -p "$r/sbin"
	printf '#!/bin/sh\nexec /bin/chroot /newroot /sbin/modprobe "$@"\n' \
		>"$r/sbin/modprobe"
	chmod 0755 "$r/sbin/modprobe"
	[ "$(cat /proc/sys/kernel/modprobe)" = /sbin/modprobe ]
}

devname_autoload() {
	local node

	requires_vm || return
	unload_ours || ktap_fail "rmmod ours" || return
	[ ! -e /dev/vhost-net ] || ktap_fail "/dev/vhost-net outlived its module" || return
	# depmod took the devname alias from our module: the node boot creates.
	grep -qx 'vhost_net vhost-net c10:238' "$MODLIB/modules.devname" ||
		ktap_fail "modules.devname lacks vhost-net" || return
	# (-o: the VM's /dev has no /dev/stdout, kmod's default output.)
	kmod static-nodes --format=tmpfiles -o "$STATE/static-nodes.conf" ||
		ktap_fail "kmod static-nodes" || return
	node=$(grep ' /dev/vhost-net ' "$STATE/static-nodes.conf") ||
		ktap_fail "kmod static-nodes does not list /dev/vhost-net" || return
	grep -q ' 10:238$' <<<"$node" || ktap_fail "static node $node" || return
	ktap_diag "static node: $node"
	# What systemd-tmpfiles-setup-dev does with that line at boot.
	mknod -m 0600 /dev/vhost-net c 10 238 || ktap_fail "mknod" || return
	bridge_request_module || ktap_fail "no request_module bridge" || return
	# Opening the node with nothing loaded loads vhost_net (char-major-10-238).
	exec 8<>/dev/vhost-net || ktap_fail "open did not autoload" || return
	exec 8>&-
	loaded vhost_net || ktap_fail "vhost_net not loaded by the open" || return
	loaded_is_ours vhost_net ||
		ktap_fail "the open loaded a vhost_net that is not ours"
}

make_uninstall_restores_in_tree() {
	requires_vm || return
	modprobe -r vhost_net vhost_blk || ktap_fail "modprobe -r ours" || return
	unload_ours || ktap_fail "rmmod ours" || return
	make -s -C "$TOP" uninstall >"$STATE/uninstall.log" 2>&1 ||
		{ sed 's/^/# /' "$STATE/uninstall.log"; ktap_fail "make uninstall"; return; }
	[ ! -e "$MODLIB/updates/kvhost/vhost_net.ko" ] ||
		ktap_fail "module files left behind" || return
	[ ! -e /etc/udev/rules.d/60-kvhost.rules ] ||
		ktap_fail "udev rule left behind" || return
	[ "$(modinfo -n vhost_net)" = "$(in_tree_ko vhost_net)" ] ||
		ktap_fail "vhost_net resolves to $(modinfo -n vhost_net)" || return
	! modinfo -n kvhost >/dev/null 2>&1 || ktap_fail "kvhost still known" || return
	modprobe vhost_net || ktap_fail "modprobe in-tree vhost_net" || return
	loaded_is_in_tree vhost_net ||
		ktap_fail "loaded vhost_net is not the in-tree one" || return
	loaded vhost && ! loaded kvhost ||
		ktap_fail "expected the in-tree vhost core only" || return
	modprobe -r vhost_net || ktap_fail "modprobe -r in-tree vhost_net"
}

# Compiling under TCG takes longer than the whole suite may, so make check
# runs "dkms add" and "dkms build" on the host, natively, from a clean copy
# into a private tree ($KVHOST_DKMS_PREBUILT/{tree,src}: see check.sh), and
# the guest takes over that state the way /var/lib/dkms and /usr/src hold it
# after "make dkms-install"'s own add and build, then runs the rest of that
# target: dkms install and the udev rule. Without it, the whole
# "make dkms-install" runs in the guest.
dkms_install_prebuilt() {
	local seed=$KVHOST_DKMS_PREBUILT v=$DKMS_VERSION

	[ -d "$seed/tree/kvhost/$v/$KVER" ] || { echo "no $KVER build in $seed"; return 1; }
	mkdir -p /var/lib/dkms
	rm -rf /var/lib/dkms/kvhost "/usr/src/kvhost-$v"
	cp -a "$seed/tree/kvhost" /var/lib/dkms/ &&
	cp -a "$seed/src/kvhost-$v" /usr/src/ &&
	ln -sfn "/usr/src/kvhost-$v" "/var/lib/dkms/kvhost/$v/source" &&
	dkms status -m kvhost -v "$v" -k "$KVER" | grep ': built' &&
	dkms install -m kvhost -v "$v" -k "$KVER" &&
	install -D -m 0644 "/usr/src/kvhost-$v/udev/60-kvhost.rules" \
		/etc/udev/rules.d/60-kvhost.rules
}

dkms_install_from_clean_tree() {
	local m ko

	requires_vm || return
	command -v dkms >/dev/null || ktap_fail "dkms is not installed" || return
	[ -n "$DKMS_VERSION" ] || ktap_fail "no PACKAGE_VERSION in dkms.conf" || return
	# dkms builds against /lib/modules/<release>/build, which the headers
	# package provides on a host; the VM's module tree comes from the image.
	[ -e "$MODLIB/build" ] ||
		ln -s "/usr/src/linux-headers-$KVER" "$MODLIB/build" ||
		ktap_fail "no build link" || return
	# A clean tree: the sources only, no build products.
	mkdir -p "$CLEAN"
	(cd "$TOP" && tar -cf - --exclude='*.o' --exclude='*.ko' \
		--exclude='*.mod*' --exclude='.*.cmd' --exclude=Module.symvers \
		--exclude=modules.order Kbuild Makefile dkms.conf compat drivers \
		include udev) | tar -xf - -C "$CLEAN" || ktap_fail "copy" || return
	[ -z "$(find "$CLEAN" -name '*.ko' -o -name '*.o')" ] ||
		ktap_fail "the copy is not clean" || return
	if [ -n "${KVHOST_DKMS_PREBUILT:-}" ]; then
		dkms_install_prebuilt >"$STATE/dkms.log" 2>&1 ||
			{ tail -n 40 "$STATE/dkms.log" | sed 's/^/# /'; ktap_fail "dkms install"; return; }
	else
		make -C "$CLEAN" dkms-install >"$STATE/dkms.log" 2>&1 ||
			{ tail -n 40 "$STATE/dkms.log" | sed 's/^/# /'; ktap_fail "make dkms-install"; return; }
	fi
	dkms status kvhost | sed 's/^/# dkms status: /'
	dkms status -m kvhost -v "$DKMS_VERSION" -k "$KVER" | grep -q ': installed' ||
		ktap_fail "dkms does not report kvhost installed" || return
	for m in kvhost vhost_net vhost_blk; do
		ko=$(modinfo -n "$m")
		[ "${ko#"$MODLIB"/updates/dkms/}" != "$ko" ] ||
			ktap_fail "$m resolves to $ko, not the DKMS build" || return
	done
	[ -f /etc/udev/rules.d/60-kvhost.rules ] ||
		ktap_fail "dkms-install did not install the udev rule" || return
	# "make uninstall" ran: the DKMS copy is the only one of ours that
	# modprobe can find, so a loaded module of ours is the DKMS build.
	[ ! -e "$MODLIB/updates/kvhost" ] ||
		ktap_fail "a make install copy is still there" || return
	modprobe vhost_net || ktap_fail "modprobe vhost_net" || return
	loaded_is_ours vhost_net ||
		ktap_fail "loaded vhost_net is not the DKMS build" || return
	probe /dev/vhost-net | grep -qx 'kvhost-debugfs yes' ||
		ktap_fail "/dev/vhost-net is not served by the DKMS kvhost"
}

dkms_uninstall_restores_in_tree() {
	requires_vm || return
	modprobe -r vhost_net || ktap_fail "modprobe -r vhost_net" || return
	unload_ours || ktap_fail "rmmod ours" || return
	make -C "$CLEAN" dkms-uninstall >"$STATE/dkms-remove.log" 2>&1 ||
		{ tail -n 20 "$STATE/dkms-remove.log" | sed 's/^/# /'; ktap_fail "make dkms-uninstall"; return; }
	[ -z "$(dkms status kvhost)" ] || ktap_fail "dkms still lists kvhost" || return
	[ ! -e "$MODLIB/updates/dkms/vhost_net.ko" ] ||
		ktap_fail "DKMS module left behind" || return
	[ "$(modinfo -n vhost_net)" = "$(in_tree_ko vhost_net)" ] ||
		ktap_fail "vhost_net resolves to $(modinfo -n vhost_net)" || return
	modprobe vhost_net || ktap_fail "modprobe in-tree vhost_net" || return
	loaded_is_in_tree vhost_net ||
		ktap_fail "loaded vhost_net is not the in-tree one" || return
	modprobe -r vhost_net || ktap_fail "modprobe -r in-tree vhost_net"
}

# Leave the VM as the shared suite expects it: our modules from the tree.
restore_tree_modules() {
	local m

	requires_vm || return
	# "modprobe -r vhost_net" took tun and tap with it; insmod resolves none.
	modprobe -a tun tap || ktap_fail "modprobe tun tap" || return
	for m in kvhost vhost_net vhost_blk; do
		loaded "$m" || insmod "$TOP/$m.ko" || ktap_fail "insmod $m" || return
	done
}

ktap_main "$@" \
	start_clean \
	make_install_places_modules \
	modprobe_loads_ours \
	vsock_in_tree_beside_ours \
	udev_rule_sets_vhost_blk_mode \
	devname_autoload \
	make_uninstall_restores_in_tree \
	dkms_install_from_clean_tree \
	dkms_uninstall_restores_in_tree \
	restore_tree_modules
