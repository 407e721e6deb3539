#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh: build the tiny initramfs of the nested (L2) guest that
# nested-net.sh boots through our vhost_net. See --help.
#
# It holds a static busybox, the virtio-net driver stack of the guest
# kernel's module tree (in dependency order, as modprobe resolves it), the
# /init next to this script, and the network settings in /guest.conf. No
# udev, no systemd: the L2 guest runs under TCG inside a TCG guest, where
# every second of boot counts.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

MODDIR=/lib/modules/$(uname -r)
OUT=
ADDR=10.0.2.15/24
PEER=10.0.2.1
QUEUES=1
COUNT=5
ETHTOOL=auto
TCP_FLOWS=0
TCP_PORT=5000
TCP_BYTES=0
TCP_MD5=
TCP_TIMEOUT=60

usage() {
	cat <<USAGE
Usage: $0 [options] -o FILE

Writes an uncompressed newc cpio (uncompressed, because unpacking gzip under
nested TCG costs more than loading the bytes) whose /init (next to this
script; its header lists the console lines it prints) loads virtio_pci and
virtio_net, brings eth0 up with --addr, has ethtool set --queues combined
channels, pings --peer, runs the TCP flows against the host and prints the
virtio lines of /proc/interrupts. The guest then idles, so that whoever
started it can look at the host side before stopping it.

ethtool is not in busybox: /usr/sbin/ethtool (Debian package ethtool) and
the libraries ldd names for it are copied in.

Options:
  -o, --out FILE    the cpio to write
  --moddir DIR      the guest kernel's /lib/modules/<release> tree, depmod'ed
                    (default: $MODDIR)
  --addr A/P        eth0's address (default: $ADDR)
  --peer A          the address to ping, the host end of the tap
                    (default: $PEER)
  --queues N        combined channels to ask ethtool for (default: $QUEUES)
  --count C         echo requests of the final ping (default: $COUNT)
  --ethtool yes|no|auto
                    run "ethtool -L eth0 combined N"; yes fails the build
                    when this machine has no ethtool; auto means yes for
                    --queues > 1 (default: $ETHTOOL)
  --tcp-flows F     TCP flows, flow I pinned on vCPU I (default: $TCP_FLOWS)
  --tcp-port P      flow I downloads from port P+2I and uploads to P+2I+1
                    (default: $TCP_PORT)
  --tcp-bytes B     bytes each flow downloads (default: $TCP_BYTES)
  --tcp-md5 "S..."  their MD5 digests, one per flow
  --tcp-timeout SEC limit for each transfer (default: $TCP_TIMEOUT)
  -h, --help        this text
USAGE
}

while [ $# -gt 0 ]; do
	case "$1" in
	-o|--out) OUT=$2; shift 2 ;;
	--moddir) MODDIR=$2; shift 2 ;;
	--addr) ADDR=$2; shift 2 ;;
	--peer) PEER=$2; shift 2 ;;
	--queues) QUEUES=$2; shift 2 ;;
	--count) COUNT=$2; shift 2 ;;
	--ethtool) ETHTOOL=$2; shift 2 ;;
	--tcp-flows) TCP_FLOWS=$2; shift 2 ;;
	--tcp-port) TCP_PORT=$2; shift 2 ;;
	--tcp-bytes) TCP_BYTES=$2; shift 2 ;;
	--tcp-md5) TCP_MD5=$2; shift 2 ;;
	--tcp-timeout) TCP_TIMEOUT=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "mkinitramfs: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
done
[ -n "$OUT" ] || { echo "mkinitramfs: no -o FILE (try --help)" >&2; exit 2; }
case $ETHTOOL in
auto) ETHTOOL=no; [ "$QUEUES" -le 1 ] || ETHTOOL=yes ;;
yes|no) ;;
*) echo "mkinitramfs: --ethtool yes, no or auto" >&2; exit 2 ;;
esac
if [ "$TCP_FLOWS" -gt 0 ] &&
	[ "$(wc -w <<<"$TCP_MD5")" -ne "$TCP_FLOWS" ]; then
	echo "mkinitramfs: --tcp-md5 wants one digest per flow" >&2
	exit 2
fi

MODDIR=$(cd "$MODDIR" && pwd)
KVER=$(basename "$MODDIR")
# modprobe -d wants the root that holds lib/modules/<release>.
MODROOT=$(dirname "$(dirname "$(dirname "$MODDIR")")")

BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do
	[ -x "$b" ] && BUSYBOX=$b && break
done
[ -n "$BUSYBOX" ] || { echo "mkinitramfs: no busybox (busybox-static)" >&2; exit 2; }
# A dynamic busybox would need its libraries too; Debian's busybox-static
# provides /bin/busybox, so insist on it rather than copy libc around.
if ldd "$BUSYBOX" >/dev/null 2>&1; then
	echo "mkinitramfs: $BUSYBOX is not static; install busybox-static" >&2
	exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kvhost-l2rd.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
RD=$WORK/root
mkdir -p "$RD"/{bin,sbin,dev,proc,sys,tmp,lib/modules}
cp "$BUSYBOX" "$RD/bin/busybox"
# Every applet /init uses, so that it runs without "busybox" prefixes.
for a in sh mount insmod ip ping sleep cat echo grep ls seq poweroff \
	mkdir dmesg head tail sed tr cut wc date printf nc taskset timeout \
	md5sum; do
	ln -s busybox "$RD/bin/$a"
done

# Copy a dynamically linked program and the libraries ldd names for it,
# at the same paths, so the guest's loader finds them as on the host.
copy_program() {
	local lib

	cp -L "$1" "$RD/sbin/"
	for lib in $(ldd "$1" | grep -o '/[^ ]*'); do
		mkdir -p "$RD$(dirname "$lib")"
		cp -L "$lib" "$RD$lib"
	done
}
if [ "$ETHTOOL" = yes ]; then
	if [ ! -x /usr/sbin/ethtool ]; then
		echo "mkinitramfs: no /usr/sbin/ethtool (apt-get install ethtool," \
			"see tools/testing/vm/setup.sh)" >&2
		exit 2
	fi
	copy_program /usr/sbin/ethtool
fi

# "insmod PATH" lines in load order; "builtin NAME" for what the kernel has
# built in. A module needed twice is listed twice; load it once.
deps=$(modprobe -d "$MODROOT" -S "$KVER" --show-depends -a \
	virtio_pci virtio_net) || {
	echo "mkinitramfs: $KVER has no virtio_pci or virtio_net in $MODDIR" >&2
	exit 2
}
: >"$RD/modules.list"
while read -r kind path _; do
	[ "$kind" = insmod ] || continue
	[ ! -e "$RD/lib/modules/$(basename "$path")" ] || continue
	cp "$path" "$RD/lib/modules/"
	basename "$path" >>"$RD/modules.list"
done <<<"$deps"

cp "$HERE/init" "$RD/init"
chmod 0755 "$RD/init"
printf '%s=%q\n' ADDR "$ADDR" PEER "$PEER" QUEUES "$QUEUES" \
	COUNT "$COUNT" ETHTOOL "$ETHTOOL" TCP_FLOWS "$TCP_FLOWS" \
	TCP_PORT "$TCP_PORT" TCP_BYTES "$TCP_BYTES" TCP_MD5 "$TCP_MD5" \
	TCP_TIMEOUT "$TCP_TIMEOUT" >"$RD/guest.conf"

(cd "$RD" && find . | cpio -o -H newc --quiet) >"$WORK/initrd.cpio"
mv "$WORK/initrd.cpio" "$OUT"
