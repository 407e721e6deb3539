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
FDS=0
TCP_MIB=1
TCP_PORT=5000
TCP_TIMEOUT=120
KEEP=
APPEND=
PVH=1
TAP=vtap0
SUBNET=10.0.2
MAC=52:54:00:12:34:56
FALLBACK='falling back on userspace virtio'

usage() {
	cat <<USAGE
Usage: $0 [options]

Runs as root inside the test VM (tools/testing/vm/run-vm.sh, which loads our
kvhost.ko and vhost_net.ko). Starts Debian's qemu-system-x86_64 (TCG) with

  -netdev tap,ifname=$TAP,vhost=on,vhostforce=on,queues=N
  -device virtio-net-pci,mq=on,vectors=2N+2   (MSI-X; mq only for N > 1)

so that QEMU itself opens /dev/net/tun and /dev/vhost-net N times, or, with
--fds, as libvirt starts it: tap-fds.py (next to this script) opens the
multiqueue tap N times (TUNSETIFF, IFF_TAP|IFF_NO_PI|IFF_VNET_HDR|
IFF_MULTI_QUEUE) and /dev/vhost-net once per queue pair, and execs

  -netdev tap,fds=T0:..,vhost=on,vhostfds=V0:..

The guest is the L1 kernel again with a busybox initramfs
(tools/testing/vm/guest/) that puts $SUBNET.15/24 on eth0, runs
"ethtool -L eth0 combined N" (N > 1; through 1 first, see guest/init),
pings $SUBNET.1 (the tap's address), and moves data over TCP with
nested-tcp.py (next to this script) on L1: F = min(N, L2 vCPUs) flows in
parallel, flow I pinned on vCPU I, which transmits on queue pair I only
(XPS); the tap steers each flow's inbound packets to the queue it came
from. Each flow downloads --tcp-mib MiB of random bytes and uploads them
back; both ends hash what they got with MD5 and compare.

It passes when all of these hold, and prints a summary either way:

  a) QEMU's stderr has no "$FALLBACK";
  b) /sys/kernel/debug/kvhost/net-<qemu pid>-<n>/stats (one per queue pair,
     in pair order) shows chains > 0 on the RX (vq0) and TX (vq1) ring of
     every pair I < F, and, with TCP, RX bytes >= the bytes downloaded and
     TX bytes >= the bytes uploaded, summed over the pairs;
  c) vhost_net is loaded, in use, and ours (kvhost holds it; its build ID
     equals the one of $TOP/vhost_net.ko when that file exists), and QEMU
     holds exactly N /dev/vhost-net fds;
  d) the guest's ping got its replies;
  e) (N > 1) "ethtool -L eth0 combined 1", then "combined N", succeeded;
     the driver ran 1 queue pair in between and N after (sysfs), and
     "ethtool -l" reads N combined;
  f) every TCP flow moved its bytes intact both ways: L1 sent the whole
     file; the guest's MD5 of its download equals the file's (compared by
     the guest and here); L1's MD5 of the upload equals it too (compared
     here, and by the guest from L1's answer); all byte counts match;
  g) per-queue interrupts: between the guest's snapshots of
     /proc/interrupts before and after the transfer, the MSI-X vectors
     input.I and output.I of every pair I < F counted interrupts. Flow I
     puts data and ACKs on both rings of pair I, and vhost signals the
     guest through each ring's own vector (Linux takes TX completions as
     interrupts too: virtio_net's napi_tx, on by default), so a pair that
     carried its flow must show both. Pairs I >= F (more pairs than L2
     vCPUs) carry no flow, so they are shown, not required; so is
     "config", which fires only on a config change (link state, announce)
     and this run makes none;
  h) the ring layout that QEMU, the guest and our module agreed on is the
     one asked for: VIRTIO_F_RING_PACKED (bit 34) in every device's
     acked features with --packed, in none without.

Exit status: 0 pass, 1 a check failed, 2 usage or set-up error.

Options:
  --queues N       queue pairs (default: $QUEUES)
  --fds            the libvirt form: pre-opened tap and vhost fds (above)
  --packed         ask for packed rings (virtio-net-pci packed=on)
  --tap NAME       the tap's name (default: $TAP)
  --subnet A.B.C   the /24 between L1 (A.B.C.1, on the tap) and L2
                   (A.B.C.15) (default: $SUBNET)
  --mac MAC        the guest NIC's MAC address (default: $MAC)
  --tcp-mib M      MiB each flow downloads and uploads (default: $TCP_MIB;
                   0 skips the TCP part, and with it f and g)
  --tcp-timeout S  limit for each transfer in the guest (default: $TCP_TIMEOUT)
  --timeout SEC    hard limit for the nested QEMU (default: $TIMEOUT)
  --kernel IMAGE   the L2 kernel (default: the image whose module tree
                   run-vm.sh bound on /lib/modules/\$(uname -r), else
                   /boot/vmlinuz-\$(uname -r))
  --moddir DIR     its module tree (default: $MODDIR)
  --mem MB         L2 memory (default: $MEM)
  --smp N          L2 vCPUs (default: min(N, CPUs here)); Linux enables
                   min(queue pairs, vCPUs) pairs, ethtool then asks for N
  --append ARGS    extra L2 kernel arguments ("loglevel=7" shows its boot)
  --pvh            (the default) unpack the bzImage's vmlinux here and have
                   QEMU enter it through PVH, skipping the xz decompressor
                   that would run in L2 at nested-TCG speed: unpacking
                   takes about 6 s here and saves about 40 s of L2's boot
                   (it is cached in /tmp for the next run in this VM); an
                   image that cannot be unpacked so boots as it is
  --bzimage        boot the compressed image as it is
  --keep DIR       keep the logs (QEMU stderr, L2 console, monitor, TCP) in DIR
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
	--fds) FDS=1; shift ;;
	--tap) TAP=$2; shift 2 ;;
	--subnet) SUBNET=$2; shift 2 ;;
	--mac) MAC=$2; shift 2 ;;
	--tcp-mib) TCP_MIB=$2; shift 2 ;;
	--tcp-timeout) TCP_TIMEOUT=$2; shift 2 ;;
	--keep) KEEP=$2; shift 2 ;;
	--append) APPEND=$2; shift 2 ;;
	--pvh) PVH=1; shift ;;
	--bzimage) PVH=0; shift ;;
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
[[ $SUBNET =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] ||
	die "--subnet wants the first three octets of a /24, as 10.0.2"
HOST_ADDR=$SUBNET.1
GUEST_ADDR=$SUBNET.15
case "$TCP_MIB" in
''|*[!0-9]*) die "--tcp-mib wants a number of MiB" ;;
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
# One TCP flow per queue pair that has a vCPU of its own.
FLOWS=$QUEUES
[ "$FLOWS" -le "$SMP" ] || FLOWS=$SMP
[ "$TCP_MIB" -gt 0 ] || FLOWS=0
[ "$FLOWS" -eq 0 ] || command -v python3 >/dev/null ||
	die "no python3 for the L1 end of the TCP flows (--tcp-mib 0 skips them)"
[ "$FDS" -eq 0 ] || command -v python3 >/dev/null ||
	die "no python3 for tap-fds.py (--fds)"

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

# PVH: the bzImage's own decompressor (xz, for Debian) runs in the L2
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

# The bytes each flow moves: random, made here; the guest gets their
# digests in its initramfs to check the download on its side.
TCP_BYTES=$((TCP_MIB * 1024 * 1024))
tcp_files=()
tcp_sums=()
for ((i = 0; i < FLOWS; i++)); do
	head -c "$TCP_BYTES" /dev/urandom >"$W/flow$i.bin" ||
		die "cannot make $W/flow$i.bin"
	tcp_files+=("$W/flow$i.bin")
	tcp_sums+=("$(md5sum "$W/flow$i.bin" | cut -d' ' -f1)")
done

"$VMDIR/guest/mkinitramfs.sh" -o "$W/initrd.cpio" --moddir "$MODDIR" \
	--addr "$GUEST_ADDR/24" --peer "$HOST_ADDR" --queues "$QUEUES" \
	--tcp-flows "$FLOWS" --tcp-port "$TCP_PORT" --tcp-bytes "$TCP_BYTES" \
	--tcp-md5 "${tcp_sums[*]}" --tcp-timeout "$TCP_TIMEOUT" ||
	die "cannot build the L2 initramfs"
ETHTOOL=no
[ "$QUEUES" -le 1 ] || ETHTOOL=yes

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

if [ "$FDS" -eq 1 ]; then
	# As libvirt writes it: no vhostforce, vhost=on with the fds.
	netdev="tap,id=n0,fds=@TAPFDS@,vhost=on,vhostfds=@VHOSTFDS@"
	LAUNCH=(python3 "$VMDIR/tap-fds.py" --tap "$TAP" --queues "$QUEUES" --)
else
	netdev="tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=on,vhostforce=on,queues=$QUEUES"
	LAUNCH=()
fi
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
timeout -k 5 "$TIMEOUT" "${LAUNCH[@]}" "${QEMU[@]}" </dev/null \
	>"$W/qemu-stdout.log" 2>"$W/qemu-stderr.log" &
TIMEOUT_PID=$!
BG_PIDS+=("$TIMEOUT_PID")

qemu_alive() {
	kill -0 "$TIMEOUT_PID" 2>/dev/null
}

# QEMU (or tap-fds.py) creates the multiqueue tap before the guest runs;
# give it the host address as soon as it shows up.
until [ -e "/sys/class/net/$TAP" ] && [ -s "$W/qemu.pid" ]; do
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

# The L1 end of the TCP flows listens on the tap's address from now on; the
# guest connects once its ping went through.
TCP_PID=
if [ "$FLOWS" -gt 0 ]; then
	python3 "$VMDIR/nested-tcp.py" --addr "$HOST_ADDR" --port "$TCP_PORT" \
		--timeout "$TIMEOUT" "${tcp_files[@]}" >"$W/tcp.log" 2>&1 &
	TCP_PID=$!
	BG_PIDS+=("$TCP_PID")
fi

# The guest's lines, on its console, until it says it is done.
console() {
	local f=$W/l2-console.log c

	[ -e "$f" ] || return 0
	# One read, then complete lines only: the last may still be coming.
	c=$(tr -d '\r' <"$f"; echo .)
	c=${c%.}
	if [[ $c != *$'\n'* ]]; then
		c=
	elif [[ $c != *$'\n' ]]; then
		c=${c%$'\n'*}
	fi
	grep -a '^KVHOST-L2: ' <<<"$c"
}
verdict=none
shown=0
while qemu_alive; do
	lines=$(console)
	n=$(grep -c . <<<"$lines")
	if [ "$n" -gt "$shown" ]; then
		tail -n +$((shown + 1)) <<<"$lines" | grep -av '^KVHOST-L2: irq ' |
			while read -r l; do note "L2 ${l#KVHOST-L2: }"; done
		shown=$n
	fi
	grep -q '^KVHOST-L2: done$' <<<"$lines" && break
	sleep 1
done
lines=$(console)
grep -q '^KVHOST-L2: ping ok$' <<<"$lines" && verdict=ok
grep -q '^KVHOST-L2: ping FAILED$' <<<"$lines" && verdict=failed
note "L2 ping verdict: $verdict"
[ -n "$QEMU_PID" ] || QEMU_PID=$(cat "$W/qemu.pid" 2>/dev/null)
if [ -n "$TCP_PID" ]; then
	# The guest is done, so the L1 end has little left to finish.
	for _ in $(seq 20); do
		kill -0 "$TCP_PID" 2>/dev/null || break
		sleep 0.5
	done
	kill "$TCP_PID" 2>/dev/null
	wait "$TCP_PID" 2>/dev/null
	note "L1 end of TCP: $(tail -n 1 "$W/tcp.log")"
fi

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
# One stats directory per vhost fd, numbered in the order the fds got an
# owner: QEMU sets the owner of pair 0's fd first, then pair 1's, and so on.
# vq0 is the pair's RX ring, vq1 its TX ring (virtio-net's order).
# No <(...): the VM's devtmpfs has no /dev/fd.
stat_dirs=$(for d in /sys/kernel/debug/kvhost/net-"${QEMU_PID:-none}"-*; do
	[ -e "$d/stats" ] && echo "${d##*-} $d"
done | sort -n | cut -d' ' -f2)
stats_dirs=0
stats_report=
pair_rx=()
pair_tx=()
rx_bytes=0
tx_bytes=0
packed_devs=0
for d in $stat_dirs; do
	# "vqN: key value key value ...", and "features: 0x..."
	read -r rx tx rxb txb errs feat <<<"$(awk '
		function val(k,   i) {
			for (i = 2; i < NF; i++) if ($i == k) return $(i + 1)
			return 0
		}
		$1 == "vq0:" { rx = val("chains"); rxb = val("bytes") }
		$1 == "vq1:" { tx = val("chains"); txb = val("bytes") }
		/^vq/ { e += val("errors") }
		$1 == "features:" { f = $2 }
		END { print rx + 0, tx + 0, rxb + 0, txb + 0, e + 0, f ? f : "0x0" }
		' "$d/stats")"
	pair_rx+=("${rx:-0}")
	pair_tx+=("${tx:-0}")
	rx_bytes=$((rx_bytes + ${rxb:-0}))
	tx_bytes=$((tx_bytes + ${txb:-0}))
	ring="split"
	if (((${feat:-0} >> 34) & 1)); then
		ring=packed
		packed_devs=$((packed_devs + 1))
	fi
	stats_report+="    pair $stats_dirs = ${d##*/}: RX chains $rx, TX chains $tx,"
	stats_report+=" RX bytes $rxb, TX bytes $txb, ring errors $errs,"
	stats_report+=" features $feat ($ring ring)"$'\n'
	stats_report+=$(grep '^vq' "$d/stats" | sed 's/^/      /')$'\n'
	stats_dirs=$((stats_dirs + 1))
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
note "QEMU exited with status $qrc"
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

# The pairs that carried a flow: 0..F-1; with no TCP, at least pair 0 (ping).
need=$FLOWS
[ "$need" -gt 0 ] || need=1

# b) chains on both rings of every needed pair, and the TCP bytes.
stats_ok=1
why_stats=
for ((i = 0; i < need; i++)); do
	if [ "${pair_rx[i]:-0}" -le 0 ] || [ "${pair_tx[i]:-0}" -le 0 ]; then
		stats_ok=0
		why_stats+=" pair $i RX/TX chains ${pair_rx[i]:-none}/${pair_tx[i]:-none};"
	fi
done
tcp_down=0
tcp_up=0
if [ "$FLOWS" -gt 0 ]; then
	tcp_down=$(awk '$3 == "down" && $4 == "bytes" { s += $5 } END { print s + 0 }' "$W/tcp.log")
	tcp_up=$(awk '$3 == "up" && $4 == "bytes" { s += $5 } END { print s + 0 }' "$W/tcp.log")
	[ "$rx_bytes" -ge "$tcp_down" ] || { stats_ok=0; why_stats+=" RX bytes < downloaded;"; }
	[ "$tx_bytes" -ge "$tcp_up" ] || { stats_ok=0; why_stats+=" TX bytes < uploaded;"; }
fi

# f) every flow, from both ends: the guest's own verdict (its digest of the
# download equals the expected one, and L1's digest of the upload equals
# its own), its digest of the download checked here too, and L1's record of
# what it sent and what it got back.
tcp_ok=1
tcp_report=
for ((i = 0; i < FLOWS; i++)); do
	want="${tcp_sums[i]}"
	# L2: ... ok; down B "B" md5 H Ts nc RC; up B "B" md5 H Ts nc RC
	read -r l2v l2db l2dsum l2dt l2ub l2usum l2ut <<<"$(grep -a "^KVHOST-L2: tcp flow $i " <<<"$lines" |
		awk '{ gsub(";", ""); print $7, $9, $12, $13, $17, $20, $21 }')"
	read -r l1db l1dsum l1dt <<<"$(awk -v f="$i" '$2 == f && $3 == "down" && $4 == "bytes" { print $5, $7, $9 }' "$W/tcp.log")"
	read -r l1ub l1usum l1ut <<<"$(awk -v f="$i" '$2 == f && $3 == "up" && $4 == "bytes" { print $5, $7, $9 }' "$W/tcp.log")"
	down_ok=0
	[ "${l1db:-}" = "$TCP_BYTES" ] && [ "${l1dsum:-}" = "$want" ] &&
		[ "${l2db:-}" = "$TCP_BYTES" ] &&
		[ "${l2dsum:-}" = "$want" ] && down_ok=1
	up_ok=0
	[ "${l1ub:-}" = "$TCP_BYTES" ] && [ "${l1usum:-}" = "$want" ] &&
		[ "${l2ub:-}" = "$TCP_BYTES" ] && [ "${l2usum:-}" = "$want" ] &&
		up_ok=1
	[ "${l2v:-}" = ok ] && [ $down_ok = 1 ] && [ $up_ok = 1 ] || tcp_ok=0
	tcp_report+="    flow $i (vCPU $i, pair $i): md5 of the $TCP_BYTES B sent: $want; guest verdict ${l2v:-none}"$'\n'
	tcp_report+="      down: L1 sent ${l1db:-?} B in ${l1dt:-?}s, L2 got ${l2db:-?} B md5 ${l2dsum:-?} in ${l2dt:-?}"
	tcp_report+=" $([ $down_ok = 1 ] && echo "(equal)" || echo "(DIFFERS)")"$'\n'
	tcp_report+="      up:   L1 got ${l1ub:-?} B md5 ${l1usum:-?} in ${l1ut:-?}s (L2 took ${l2ut:-?})"
	tcp_report+=" $([ $up_ok = 1 ] && echo "(equal)" || echo "(DIFFERS)")"$'\n'
done
tcp_rate=$(awk '$3 == "up" && $4 == "bytes" { b += $5; if ($9 > t) t = $9 }
	END { if (t > 0) printf "%.1f", b / t / 1048576 }' "$W/tcp.log")

# g) per-queue interrupts: after - before, summed over the CPU columns.
irq_count() { # phase name
	grep -a "^KVHOST-L2: irq $1 " <<<"$lines" | awk -v n="$2" '
		$NF ~ ("-" n "$") {
			for (i = 5; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i
			found = 1
		}
		END { print found ? s + 0 : "none" }'
}
irq_ok=1
irq_report=
irq_names=$(grep -a '^KVHOST-L2: irq after ' <<<"$lines" | awk '{ print $NF }' |
	sed 's/^virtio[0-9]*-//')
for n in $irq_names; do
	b=$(irq_count before "$n")
	a=$(irq_count after "$n")
	req=no
	case $n in
	input.*|output.*) [ "${n#*.}" -ge "$FLOWS" ] || req=yes ;;
	esac
	d="?"
	[ "$a" = none ] || [ "$b" = none ] || d=$((a - b))
	if [ $req = yes ] && { [ "$d" = "?" ] || [ "$d" -le 0 ]; }; then
		irq_ok=0
	fi
	irq_report+=$(printf '    %-10s %8s -> %-8s (+%s)%s' "$n" "$b" "$a" "$d" \
		"$([ $req = yes ] && echo ", required")")$'\n'
done
for ((i = 0; i < FLOWS; i++)); do
	for n in input.$i output.$i; do
		grep -qx "$n" <<<"$irq_names" || {
			irq_ok=0
			irq_report+="    $n: no such vector in /proc/interrupts"$'\n'
		}
	done
done

ethtool_line=$(grep -a -E '^KVHOST-L2: ethtool (ok|FAILED)' <<<"$lines")

echo
echo "nested-net summary (queues=$QUEUES, $([ "$FDS" = 1 ] && echo "libvirt form: fds=/vhostfds=" ||
	echo "ifname form: QEMU opens the fds"), packed=$([ "$PACKED" = 1 ] && echo on || echo off)," \
	"L2 -smp $SMP, $FLOWS TCP flow(s) of $TCP_MIB MiB, $(elapsed)s):"
check "a) no userspace fallback" $((1 - fallback)) \
	"QEMU stderr $(if [ $fallback = 1 ]; then echo has; else echo lacks; fi)" \
	"\"$FALLBACK\"; vhost_dev_start traced $starts time(s)"
check "b) vhost stats" "$stats_ok" \
	"$stats_dirs kvhost net device(s) owned by QEMU pid $QPID_SHOWN;" \
	"RX and TX chains > 0 on pair(s) 0..$((need - 1));" \
	"RX bytes $rx_bytes >= downloaded $tcp_down, TX bytes $tx_bytes >= uploaded $tcp_up;${why_stats:- ok}"
printf '%s' "$stats_report"
[ "$vhost_fds" -eq "$QUEUES" ] || {
	ours=0
	why="$why; QEMU holds $vhost_fds /dev/vhost-net fd(s), not $QUEUES"
}
check "c) our vhost_net in use" "$ours" \
	"lsmod: ${lsmod_line:-not loaded}; $why; QEMU held $vhost_fds /dev/vhost-net fd(s)"
check "d) L2 ping $GUEST_ADDR -> $HOST_ADDR" "$([ "$verdict" = ok ] && echo 1 || echo 0)" \
	"$(grep -a -E 'packets transmitted|round-trip' <"$W/l2-console.log" | tr -d '\r' | tr '\n' ' ')"
if [ "$ETHTOOL" = yes ]; then
	check "e) ethtool -L eth0 combined $QUEUES" \
		"$([[ $ethtool_line == "KVHOST-L2: ethtool ok"* ]] && echo 1 || echo 0)" \
		"${ethtool_line#KVHOST-L2: }"
fi
if [ "$FLOWS" -gt 0 ]; then
	check "f) TCP both ways, MD5 equal at both ends" "$tcp_ok" \
		"$FLOWS flow(s) x $TCP_MIB MiB down + up in parallel" \
		"(upload ${tcp_rate:-?} MiB/s overall); $(grep -a -E '^KVHOST-L2: tcp (ok|FAILED|skipped)' <<<"$lines" | sed 's/^KVHOST-L2: //')"
	printf '%s' "$tcp_report"
	check "g) per-queue interrupts" "$irq_ok" \
		"input.I and output.I of pair(s) I < $FLOWS counted interrupts" \
		"during the transfer (virtio MSI-X lines, before -> after)"
	printf '%s' "$irq_report"
fi
if [ "$PACKED" = 1 ]; then
	check "h) packed ring" "$([ "$stats_dirs" -gt 0 ] && [ "$packed_devs" -eq "$stats_dirs" ] && echo 1 || echo 0)" \
		"VIRTIO_F_RING_PACKED acked on $packed_devs of $stats_dirs device(s)"
else
	check "h) split ring" "$([ "$stats_dirs" -gt 0 ] && [ "$packed_devs" -eq 0 ] && echo 1 || echo 0)" \
		"VIRTIO_F_RING_PACKED acked on $packed_devs of $stats_dirs device(s)"
fi
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
