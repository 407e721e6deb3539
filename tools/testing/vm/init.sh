#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the kvhost test VM (busybox sh). run-vm.sh packs it into the
# initramfs as /init, next to /kvhost.conf and the modules in /modules.list.
#
# It mounts the host's root read-only over 9p under a tmpfs overlay, gives it
# the kernel's own module tree at /lib/modules/$KVER, loads the Debian
# modules the tests need and then ours, and runs the command inside that
# root. The command's output and its exit status go to the second serial
# port; the kernel log stays on the first.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
. /kvhost.conf

out=/dev/ttyS1
root=/newroot

finish() {
	echo "KVHOST_EXIT=$1" >"$out"
	sync
	poweroff -f
}

die() {
	echo "kvhost-init: $*" >/dev/console
	echo "kvhost-init: $*" >"$out"
	finish 125
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
stty -F "$out" raw -echo 2>/dev/null

# Empty when the kernel has 9p, virtio-pci and overlayfs built in.
while read -r m; do
	insmod "/lib/modules/$m" || die "insmod $m failed"
done </modules.list

mkdir -p /lower /upper "$root"
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose \
	hostroot /lower || die "cannot mount the host root over 9p"
mount -t tmpfs -o mode=0755 upper /upper
mkdir -p /upper/data /upper/work
mount -t overlay overlay \
	-o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work "$root" ||
	die "cannot mount the overlay root"

mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount -t devtmpfs devtmpfs "$root/dev"
mkdir -p "$root/dev/pts" "$root/dev/shm"
# devtmpfs has no /dev/fd; bash's <(...) and many scripts need it.
ln -sf /proc/self/fd "$root/dev/fd"
mount -t devpts devpts "$root/dev/pts"
mount -t tmpfs tmpfs "$root/dev/shm"
# No tmpfs on /tmp: the overlay already makes it writable, and a fresh tmpfs
# would hide a source tree or a cache that lives under the host's /tmp.
mount -t tmpfs tmpfs "$root/run"
mount -t debugfs debugfs "$root/sys/kernel/debug" 2>/dev/null
mount -t tracefs tracefs "$root/sys/kernel/tracing" 2>/dev/null
mount -t configfs configfs "$root/sys/kernel/config" 2>/dev/null

# The kernel package's module tree, writable through the overlay, so that
# modprobe and depmod behave as on a host.
mkdir -p "$root/lib/modules/$KVER"
mount --bind "$root$MODDIR" "$root/lib/modules/$KVER" ||
	die "cannot bind the module tree $MODDIR"

hostname kvhost-vm
ip link set lo up 2>/dev/null

# The environment the command sees; $KVHOST_GUEST tells scripts where they run.
env="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
env="$env HOME=/root TERM=${TERM_NAME:-dumb} KVHOST_GUEST=1 LANG=C.UTF-8"

for p in $PRELOAD; do
	chroot "$root" /usr/bin/env -i $env modprobe "$p" ||
		die "modprobe $p failed"
done
for m in $MODULES; do
	chroot "$root" /usr/bin/env -i $env insmod "$m" ||
		die "insmod $m failed"
done

if [ "$MODE" = shell ]; then
	echo "kvhost-vm: $KVER, modules: $MODULES; exit the shell to power off"
	setsid cttyhack chroot "$root" /usr/bin/env -i $env \
		/bin/bash -c "cd '$CWD' 2>/dev/null; exec /bin/bash -l"
	finish $?
fi

cp /kvhost-cmd.sh "$root/tmp/kvhost-cmd.sh"
chroot "$root" /usr/bin/env -i $env /bin/bash -c "cd '$CWD' && . /tmp/kvhost-cmd.sh" \
	</dev/null >"$out" 2>&1
finish $?
