#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# nested-net.sh: inside the kvhost test VM (L1), boot an unmodified Debian
# QEMU as a nested TCG guest (L2) whose virtio-net runs on our vhost_net,
# have L2 ping L1 through it, and prove from outside that our module carried
# the packets. See --help. "make demo" runs it through run-vm.sh.
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
VMDIR=$TOP/tools/testing/vm

QUEUES=2
TIMEOUT=600
KERNEL=
MODDIR=/lib/modules/$(uname -r)
MEM=512
SMP=
PACKED=0
KEEP=
APPEND=
PVH=0
TAP=vtap0
HOST_ADDR=10.0.2.1
GUEST_ADDR=10.0.2.15
MAC=52:54:00:12:34:56
FALLBACK='falling back on userspace virtio'

usage() {
	cat <<USAGE
Usage: $0 [options]

Runs as root inside the test VM (tools/testing/vm/run-vm.sh, which loads our
kvhost.ko and vhost_net.ko). Starts Debian's qemu-system-x86_64 (TCG) with

  -netdev tap,ifname=$TAP,vhost=on,vhostforce=on,queues=N
  -device virtio-net-pci,mq=on,vectors=2N+2   (MSI-X; mq only for N > 1)

so that QEMU itself opens /dev/net/tun and /dev/vhost-net N times. The guest
is the L1 kernel again with a busybox initramfs (tools/testing/vm/guest/)
that puts $GUEST_ADDR/24 on eth0 and pings $HOST_ADDR, the tap's address.
It passes when all of these hold, and prints a summary either way:

  a) QEMU's stderr has no "$FALLBACK";
  b) /sys/kernel/debug/kvhost/net-<qemu pid>-*/stats shows chains > 0 on
     the RX (vq0) and the TX (vq1) ring of at least one queue pair;
  c) vhost_net is loaded, in use, and ours (kvhost holds it; its build ID
     equals the one of $TOP/vhost_net.ko when that file exists);
  d) the guest's ping got its replies.

Exit status: 0 pass, 1 a check failed, 2 usage or set-up error.

Options:
  --queues N       queue pairs (default: $QUEUES)
  --timeout SEC    hard limit for the nested QEMU (default: $TIMEOUT)
  --kernel IMAGE   the L2 kernel (default: the image whose module tree
                   run-vm.sh bound on /lib/modules/\$(uname -r), else
                   /boot/vmlinuz-\$(uname -r))
  --moddir DIR     its module tree (default: $MODDIR)
  --mem MB         L2 memory (default: $MEM)
  --smp N          L2 vCPUs (default: min(N, CPUs here)); Linux enables
                   min(queue pairs, vCPUs) pairs, and busybox has no ethtool
  --packed         ask for packed rings (packed=on); we do not offer
                   VIRTIO_F_RING_PACKED, so QEMU masks it and the guest uses
                   split rings: this only checks that the mask is harmless
  --append ARGS    extra L2 kernel arguments ("loglevel=7" shows its boot)
  --pvh            unpack the bzImage's vmlinux here and have QEMU enter it
                   through PVH, skipping the guest-side xz decompressor (the
                   unpacking costs about as much as it saves in one run;
                   it is cached in /tmp for the next)
  --keep DIR       keep the logs (QEMU stderr, L2 console, monitor) in DIR
  -h, --help       this text
USAGE
}

while [ $# -gt 0 ]; do
	case "$1" in
	--queues) QUEUES=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--kernel) KERNEL=$2; shift 2 ;;
	--moddir) MODDIR=$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	--smp) SMP=$2; shift 2 ;;
	--packed) PACKED=1; shift ;;
	--keep) KEEP=$2; shift 2 ;;
	--append) APPEND=$2; shift 2 ;;
	--pvh) PVH=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "nested-net: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
done

die() {
	echo "nested-net: $*" >&2
	exit 2
}

case "$QUEUES" in
''|*[!0-9]*|0) die "--queues wants a positive number" ;;
esac
[ "$(id -u)" -eq 0 ] || die "needs root (run it in the VM: make demo)"
[ "${KVHOST_GUEST:-}" = 1 ] ||
	echo "nested-net: warning: not in the kvhost test VM; carrying on" >&2
command -v qemu-system-x86_64 >/dev/null || die "no qemu-system-x86_64"
[ -c /dev/net/tun ] || die "no /dev/net/tun (modprobe tun)"
[ -c /dev/vhost-net ] || die "no /dev/vhost-net (load our vhost_net.ko)"
[ ! -e "/sys/class/net/$TAP" ] || die "$TAP exists already"
if [ -z "$SMP" ]; then
	SMP=$(nproc)
	[ "$SMP" -le "$QUEUES" ] || SMP=$QUEUES
fi

# The L2 kernel. run-vm.sh binds the Debian package's module tree, unpacked
# under its cache, on /lib/modules/<release>; the mount's source path (field
# 4 of mountinfo) leads to the same package's /boot/vmlinuz-<release>.
find_kernel() {
	local kver src

	kver=$(basename "$MODDIR")
	src=$(awk -v m="/lib/modules/$kver" -v um="/usr/lib/modules/$kver" \
		'$5 == m || $5 == um { print $4; exit }' /proc/self/mountinfo)
	if [ -n "$src" ] && [ -e "${src%/lib/modules/*}/boot/vmlinuz-$kver" ]; then
		echo "${src%/lib/modules/*}/boot/vmlinuz-$kver"
	elif [ -e "/boot/vmlinuz-$kver" ]; then
		echo "/boot/vmlinuz-$kver"
	fi
}
[ -n "$KERNEL" ] || KERNEL=$(find_kernel)
if [ -z "$KERNEL" ] || [ ! -e "$KERNEL" ]; then
	die "no L2 kernel image for $(basename "$MODDIR"); pass --kernel"
fi

# --pvh: the bzImage's own decompressor (xz, for Debian) runs in the L2
# guest at nested-TCG speed. When the image holds an uncompressed vmlinux
# with a PVH entry note (Debian's has, CONFIG_PVH=y), unpack it here, at
# L1's speed, and let QEMU start it directly: the same kernel, only entered
# through PVH. It is kept in /tmp for the next run in this VM. Prints the
# vmlinux path, or nothing when the image cannot be unpacked that way.
unpack_vmlinux() {
	local img=$1 out comp magic cmd off

	out=${TMPDIR:-/tmp}/kvhost-l2-vmlinux-$(stat -L -c '%s-%Y' "$img")
	if [ ! -s "$out" ]; then
		: >"$out.tmp"
		for comp in xz gzip zstd; do
			case $comp in
			xz) cmd="xz -dc --single-stream"; magic='\xfd7zXZ\x00' ;;
			gzip) cmd="gzip -dc"; magic='\x1f\x8b\x08' ;;
			zstd) cmd="zstd -dcq"; magic='\x28\xb5\x2f\xfd' ;;
			esac
			# Trailing bytes make some decompressors complain; the
			# ELF header decides.
			while read -r off; do
				[ -n "$off" ] || continue
				tail -c +$((off + 1)) "$img" | $cmd >"$out.tmp" 2>/dev/null
				[ "$(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' ')" != 7f454c46 ] ||
					break 2
				: >"$out.tmp"
			done <<<"$(LC_ALL=C grep -obUaP "$magic" "$img" | cut -d: -f1)"
		done
		# XEN_ELFNOTE_PHYS32_ENTRY (18): QEMU boots an ELF kernel only
		# through it.
		if [ -s "$out.tmp" ] && readelf -n "$out.tmp" 2>/dev/null |
			grep -q 'Xen .*(0x00000012)'; then
			mv "$out.tmp" "$out"
		else
			rm -f "$out.tmp"
			return
		fi
	fi
	echo "$out"
}

W=$(mktemp -d "${TMPDIR:-/tmp}/kvhost-nested.XXXXXX")
QEMU_PID=
BG_PIDS=()
# shellcheck disable=SC2317 # the EXIT trap calls it
cleanup() {
	local p

	# Only what this script started: QEMU (by its pidfile) and our readers.
	[ -z "$QEMU_PID" ] || kill "$QEMU_PID" 2>/dev/null
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	if [ -n "$KEEP" ]; then
		mkdir -p "$KEEP" && cp "$W"/*.log "$KEEP"/ 2>/dev/null
	fi
	rm -rf "$W"
}
trap cleanup EXIT

start=$(date +%s)
elapsed() {
	echo $(($(date +%s) - start))
}
note() {
	echo "nested-net: [$(elapsed)s] $*"
}

BOOT=$KERNEL
if [ "$PVH" = 1 ]; then
	BOOT=$(unpack_vmlinux "$KERNEL")
	[ -n "$BOOT" ] || BOOT=$KERNEL
fi

"$VMDIR/guest/mkinitramfs.sh" -o "$W/initrd.cpio" --moddir "$MODDIR" \
	--addr "$GUEST_ADDR/24" --peer "$HOST_ADDR" --queues "$QUEUES" ||
	die "cannot build the L2 initramfs"

# The monitor on a pair of FIFOs (QEMU opens both read-write): bash can talk
# to it without socat, and holding our own read-write ends means no open or
# write here ever blocks, even if QEMU is already gone.
mkfifo "$W/mon.in" "$W/mon.out"
exec 7<>"$W/mon.out" 8<>"$W/mon.in"
cat <&7 >"$W/monitor.log" &
BG_PIDS+=($!)
hmp() {
	echo "$*" >&8
}

netdev="tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=on,vhostforce=on,queues=$QUEUES"
nic="virtio-net-pci,netdev=n0,id=nic0,vectors=$((2 * QUEUES + 2)),mac=$MAC"
[ "$QUEUES" -eq 1 ] || nic="$nic,mq=on"
[ "$PACKED" -eq 0 ] || nic="$nic,packed=on"

# shellcheck disable=SC2054 # the commas belong to QEMU's option values
QEMU=(qemu-system-x86_64 -machine q35,accel=tcg -cpu max -smp "$SMP"
	-m "$MEM" -nodefaults -no-user-config -display none -no-reboot
	-kernel "$BOOT" -initrd "$W/initrd.cpio"
	-append "console=ttyS0 quiet panic=-1 $APPEND"
	-serial "file:$W/l2-console.log"
	-chardev "pipe,id=mon,path=$W/mon" -mon chardev=mon,mode=readline
	-pidfile "$W/qemu.pid"
	-netdev "$netdev" -device "$nic"
	-trace vhost_dev_start)
note "L2 kernel $KERNEL$([ "$BOOT" = "$KERNEL" ] || echo ", booted as $BOOT (PVH)")"
note "qemu ... -netdev $netdev -device $nic -smp $SMP -m $MEM"
timeout -k 5 "$TIMEOUT" "${QEMU[@]}" </dev/null >"$W/qemu-stdout.log" \
	2>"$W/qemu-stderr.log" &
TIMEOUT_PID=$!
BG_PIDS+=("$TIMEOUT_PID")

qemu_alive() {
	kill -0 "$TIMEOUT_PID" 2>/dev/null
}

# QEMU creates the multiqueue tap while it parses -netdev, before the guest
# runs; give it the host address as soon as it shows up.
until [ -e "/sys/class/net/$TAP" ]; do
	qemu_alive || break
	[ "$(elapsed)" -lt 60 ] || break
	sleep 0.2
done
if [ -e "/sys/class/net/$TAP" ]; then
	QEMU_PID=$(cat "$W/qemu.pid" 2>/dev/null)
	ip addr add "$HOST_ADDR/24" dev "$TAP" && ip link set "$TAP" up ||
		echo "nested-net: cannot configure $TAP" >&2
	note "$TAP up with $HOST_ADDR/24, QEMU pid ${QEMU_PID:-?}"
else
	note "QEMU did not create $TAP"
fi

# The guest's verdict, on its console.
verdict=none
seen_eth0=0
while qemu_alive; do
	if [ $seen_eth0 = 0 ] && grep -aq 'KVHOST-L2: eth0' "$W/l2-console.log"; then
		seen_eth0=1
		note "L2 $(grep -a 'KVHOST-L2: eth0' "$W/l2-console.log" | tr -d '\r')"
	fi
	if grep -aq 'KVHOST-L2: ping ok' "$W/l2-console.log"; then
		verdict=ok
		break
	fi
	if grep -aq 'KVHOST-L2: ping FAILED' "$W/l2-console.log"; then
		verdict=failed
		break
	fi
	sleep 1
done
note "L2 ping verdict: $verdict"
[ -n "$QEMU_PID" ] || QEMU_PID=$(cat "$W/qemu.pid" 2>/dev/null)

# Everything below reads the host side while QEMU still runs: the stats
# directories go away with QEMU's vhost fds.
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug

host_ping=skipped
if [ "$verdict" = ok ]; then
	# The other direction, for good measure: L1 starts the exchange.
	if busybox ping -c 3 -W 5 "$GUEST_ADDR" >"$W/host-ping.log" 2>&1; then
		host_ping=ok
	else
		host_ping=failed
	fi
fi

hmp "info virtio-status /machine/peripheral/nic0/virtio-backend"
for _ in $(seq 20); do
	grep -aq 'vhost_started' "$W/monitor.log" && break
	qemu_alive || break
	sleep 0.5
done

lsmod_line=$(lsmod | awk '$1 == "vhost_net"')
vhost_fds=0
for f in /proc/"${QEMU_PID:-none}"/fd/*; do
	[ "$(readlink "$f")" != /dev/vhost-net ] || vhost_fds=$((vhost_fds + 1))
done
stats_ok=0
stats_dirs=0
stats_report=
for s in /sys/kernel/debug/kvhost/net-"${QEMU_PID:-none}"-*/stats; do
	[ -e "$s" ] || continue
	stats_dirs=$((stats_dirs + 1))
	# vq0 is RX, vq1 is TX (virtio-net's order, one queue pair per fd).
	# No <(...): the VM's devtmpfs has no /dev/fd.
	read -r rx tx errs <<<"$(awk '
		$1 == "vq0:" { for (i = 2; i < NF; i++) if ($i == "chains") rx = $(i + 1) }
		$1 == "vq1:" { for (i = 2; i < NF; i++) if ($i == "chains") tx = $(i + 1) }
		/^vq/ { for (i = 2; i < NF; i++) if ($i == "errors") e += $(i + 1) }
		END { print rx + 0, tx + 0, e + 0 }' "$s")"
	: "${rx:=0}" "${tx:=0}" "${errs:=?}"
	[ "$rx" -gt 0 ] && [ "$tx" -gt 0 ] && stats_ok=1
	stats_report+="    $(basename "$(dirname "$s")"): RX chains $rx,"
	stats_report+=" TX chains $tx, ring errors $errs"$'\n'
	stats_report+=$(grep '^vq' "$s" | sed 's/^/      /')$'\n'
done

# Stop QEMU: "quit" on the monitor, then the pid if it lingers.
hmp quit
for _ in $(seq 20); do
	qemu_alive || break
	sleep 0.5
done
[ -z "$QEMU_PID" ] || kill "$QEMU_PID" 2>/dev/null
wait "$TIMEOUT_PID"
qrc=$?
QPID_SHOWN=${QEMU_PID:-?}
QEMU_PID=

# The facts.
fail=0
check() {
	local name=$1 ok=$2

	shift 2
	if [ "$ok" = 1 ]; then
		echo "  PASS $name: $*"
	else
		echo "  FAIL $name: $*"
		fail=1
	fi
}

ours=0
why="kvhost is not loaded or does not hold vhost_net"
if [ -e /sys/module/kvhost/holders/vhost_net ]; then
	ours=1
	why="kvhost holds vhost_net"
	id_mod=$(tail -c +17 /sys/module/vhost_net/notes/.note.gnu.build-id \
		2>/dev/null | od -An -tx1 -v | tr -d ' \n')
	id_ko=$(readelf -n "$TOP/vhost_net.ko" 2>/dev/null |
		sed -n 's/.*Build ID: *//p')
	if [ -n "$id_ko" ] && [ "$id_mod" = "$id_ko" ]; then
		why="$why; build ID $id_mod = $TOP/vhost_net.ko"
	elif [ -n "$id_ko" ]; then
		ours=0
		why="$why; but its build ID ${id_mod:-?} != $TOP/vhost_net.ko's $id_ko"
	fi
fi
used=$(awk '{ print $3 }' <<<"$lsmod_line")
[ "${used:-0}" -gt 0 ] || ours=0

fallback=0
grep -q "$FALLBACK" "$W/qemu-stderr.log" && fallback=1
starts=$(grep -c 'vhost_dev_start' "$W/qemu-stderr.log")
vstatus=$(tr -d '\r' <"$W/monitor.log" | grep -a -E 'device_name|vhost_started' |
	tr -s ' ' | sed 's/^ //' | tr '\n' ' ')

echo
echo "nested-net summary (queues=$QUEUES, L2 -smp $SMP, $(elapsed)s):"
check "a) no userspace fallback" $((1 - fallback)) \
	"QEMU stderr $(if [ $fallback = 1 ]; then echo has; else echo lacks; fi)" \
	"\"$FALLBACK\"; vhost_dev_start traced $starts time(s)"
check "b) vhost stats" "$stats_ok" \
	"$stats_dirs kvhost net device(s) owned by QEMU pid $QPID_SHOWN," \
	"RX and TX chains > 0 on at least one pair: $([ $stats_ok = 1 ] && echo yes || echo no)"
printf '%s' "$stats_report"
check "c) our vhost_net in use" "$ours" \
	"lsmod: ${lsmod_line:-not loaded}; $why; QEMU held $vhost_fds /dev/vhost-net fd(s)"
check "d) L2 ping $GUEST_ADDR -> $HOST_ADDR" "$([ "$verdict" = ok ] && echo 1 || echo 0)" \
	"$(tr -d '\r' <"$W/l2-console.log" | grep -a -E 'packets transmitted|round-trip' | tr '\n' ' ')"
echo "  info: L1 ping $HOST_ADDR -> $GUEST_ADDR: $host_ping;" \
	"HMP virtio-status: ${vstatus:-no answer}; QEMU exit status $qrc"
[ -z "$KEEP" ] || echo "  info: logs kept in $KEEP"

if [ $fail -ne 0 ]; then
	echo
	echo "--- QEMU stderr (last 20 lines)"
	tail -n 20 "$W/qemu-stderr.log"
	echo "--- L2 console (last 30 lines)"
	tr -d '\r' <"$W/l2-console.log" | tail -n 30
	echo "--- L1 kernel log, vhost lines (last 20)"
	dmesg | grep -iE 'vhost|kvh|tun|tap' | tail -n 20
	echo "nested-net: FAIL"
	exit 1
fi
echo "nested-net: PASS"
exit 0
