#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-net.sh: throughput of kvhost's vhost_net against Debian's in-tree
# vhost_net, side by side in one boot of the test VM ("make bench-net"
# boots it; run-vm.sh has already insmodded our modules).
#
# The matrix (net_bench does each case, see its header comment):
#   mode  tx (guest to host) and rx (host to guest);
#   size  64    64-byte frames on the wire: net_bench -s 60 (60-byte
#               Ethernet frames, plus the 4-byte FCS the wire would add);
#         1500  full-MTU frames: -s 1514 (1500 bytes of IP, 1518 on the
#               wire);
#         gso   bulk throughput with GSO: -G, 65214-byte TCPv4 frames that
#               the guest (tx) or the host (rx) hands over whole, with
#               gso_size 1448 (45 segments, what TSO/GRO would make of a
#               64 KiB TCP burst);
#   pairs 1 or 2 queue pairs (-p): one multi-queue tap, one vhost-net
#         device and worker per pair, as QEMU's queues=N.
# For each repetition it loads ours and runs every case, loads the stock
# module set (modprobe vhost_net: vhost, vhost_iotlb) and runs them again,
# then goes back to ours: A B A B ... so that slow drift of the host (other
# VMs, thermal) hits both alike. Every run starts with a fresh tap and fresh
# vhost-net devices, and checks which module is serving them.
#
# How to read the table (one row per case and implementation, then a line
# with ours/stock for the case):
#  - pps: median over the repetitions, summed over the pairs. tx = frames
#    the guest posted that reached the tap (the tap's rx_packets); rx =
#    frames the host sent on the tap that vhost delivered into the guest's
#    rings. A GSO frame counts as one packet. "range" is the lowest and
#    highest repetition: when the ranges of ours and stock overlap, the
#    difference is within the noise of a TCG VM on a shared host.
#  - Gbit/s: the same frames in Ethernet bytes (no FCS, no virtio-net
#    header), median and range. Within a case the frame size is fixed, so
#    the Gbit/s ratio equals the pps ratio; across cases it shows what GSO
#    buys.
#  - ns/pkt: CPU time of the vhost worker threads (vhost-<pid>,
#    /proc/<tid>/schedstat) per packet, median. Lower is better; it does not
#    depend on how long the workers waited or were preempted, so it is the
#    more stable figure when pps is limited by something else. util is the
#    workers' busy fraction summed over the pairs (up to 1.00 per pair):
#    close to the number of pairs means the workers were the bottleneck,
#    as intended; well below means the guest side, the traffic source or
#    the other work sharing their CPUs was.
#  - ratio = ours / stock of the pps medians, and of the ns/pkt medians
#    (below 1.00 is ours cheaper); the kvhost target is pps >= 1.2.
#  - The "raw" lines are net_bench's own output, one per run: ring_pps and
#    tap_pps should agree, as should ring_gbps and tap_gbps (net_bench
#    fails the run when they do not, or when a packet's size or GSO header
#    is not what was sent); pair_pps shows how the pairs shared the load;
#    tap_drop_pps is, for tx, the host stack discarding the frames, as it
#    should (0 for GSO frames, which the IP layer drops uncounted), for rx,
#    frames the tap dropped because its queues were full, i.e. the offered
#    load exceeded what vhost took; kicks/signals/wakeups per 1000 packets
#    show the notification cost (with EVENT_IDX all far below 1000).
#  - All figures are from TCG: absolute numbers are tens of times below real
#    hardware, only the ratio between the two modules means something.
#
# Traffic and CPUs: net_bench runs with -q 4096 (see ARGS below for why).
# rx uses pktgen for 64 and 1500 (a pktgen device per pair on tap queue i)
# and an AF_PACKET sender with PACKET_VNET_HDR per pair for gso (pktgen
# cannot send GSO frames); it starts with the tap's queues filled (-B), so
# the workers start on a backlog. The 6.1 tap caps that queue at 16384
# frames, which a worker empties in well under a second; after that the
# senders (tens of kpps in TCG) feed it, and rx util below ~0.9 per pair
# means rx pps was partly the sender's: compare rx by ns/pkt. One pair: the
# driver (and sender) sits on CPU 0, the worker on CPU 1. Two pairs: worker
# i on CPU 1-i, driver and sender i on CPU i, so each CPU holds one worker
# and the other pair's driver and sender. The rx senders never stop
# offering (tun drops what does not fit), so with two pairs each worker
# gets only part of its CPU: rx pps with 2 pairs says more about how the
# CPUs were shared than about vhost, ns/pkt still says what a packet costs.
#
# Environment: KVHOST_BENCH_REPS (default 3), KVHOST_BENCH_SECONDS
# (measurement per run, default 3), KVHOST_BENCH_WARMUP (default 1),
# KVHOST_BENCH_MODES (default "tx rx"), KVHOST_BENCH_SIZES (default
# "64 1500 gso"), KVHOST_BENCH_PAIRS (default "1 2"): the matrix, pairs
# outermost; KVHOST_BENCH_CASES replaces the matrix by a list of
# MODE-SIZE-PAIRS cases, e.g. "tx-64-1 rx-gso-2"; KVHOST_BENCH_ARGS (extra
# net_bench options, appended to every case, e.g. "-q 256" or "-b 64"; see
# net_bench -h). The default matrix (12 cases) takes about 7 minutes.
# "make bench-net KVHOST_BENCH_REPS=5" passes them into the VM.
#
# Exit status: 0 when every run produced figures, whatever they say; 1 when
# the benchmark could not run (a module would not load) or a run failed
# (net_bench could not run, or its traffic was not what it claims: see its
# stderr above the table; the table then has the runs that worked).
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
BENCH=$TOP/tools/testing/selftests/vhost/net_bench
REPS=${KVHOST_BENCH_REPS:-3}
SECS=${KVHOST_BENCH_SECONDS:-3}
WARM=${KVHOST_BENCH_WARMUP:-1}
MODES=${KVHOST_BENCH_MODES:-tx rx}
SIZES=${KVHOST_BENCH_SIZES:-64 1500 gso}
PAIRS=${KVHOST_BENCH_PAIRS:-1 2}
CASES=${KVHOST_BENCH_CASES:-}
# A 4096-entry ring: with QEMU's 256 the worker drains the ring in about
# a millisecond of TCG time, less than the host may keep the driver's vCPU
# off its CPU, and the figure then measures host scheduling, not vhost.
ARGS="-q 4096 ${KVHOST_BENCH_ARGS:-}"
OURS_KO="$TOP/kvhost.ko $TOP/vhost_net.ko"
RESULTS=$(mktemp /tmp/bench-net.XXXXXX)
FAILED=0

die() {
	echo "bench-net: $*" >&2
	exit 1
}

[ -x "$BENCH" ] || die "$BENCH is not built (make -C tools/testing/selftests/vhost)"
for m in $OURS_KO; do
	[ -e "$m" ] || die "$m is not built (run make)"
done
STOCK_KO=$(modinfo -n vhost_net 2>/dev/null) || die "no in-tree vhost_net.ko"
case $STOCK_KO in
*/kernel/drivers/vhost/vhost_net.ko*) ;;
*) die "modinfo vhost_net resolves to $STOCK_KO, not the in-tree module" ;;
esac
STOCK_SRCVERSION=$(modinfo -F srcversion vhost_net) || die "modinfo vhost_net failed"

if [ -z "$CASES" ]; then
	for p in $PAIRS; do
		for s in $SIZES; do
			for m in $MODES; do
				CASES="${CASES:+$CASES }$m-$s-$p"
			done
		done
	done
fi

# case_args MODE-SIZE-PAIRS: net_bench's options for it.
case_args() {
	local mode size pairs sz
	IFS=- read -r mode size pairs <<<"$1"
	case $mode in
	tx | rx) ;;
	*) return 1 ;;
	esac
	case $size in
	64) sz="-s 60" ;;
	1500) sz="-s 1514" ;;
	gso) sz="-G" ;;
	*) return 1 ;;
	esac
	case $pairs in
	[1-4]) ;;
	*) return 1 ;;
	esac
	echo "-m $mode $sz -p $pairs"
}

for c in $CASES; do
	case_args "$c" >/dev/null ||
		die "bad case $c: want MODE-SIZE-PAIRS, MODE tx|rx, SIZE 64|1500|gso, PAIRS 1-4"
done

unload_all() {
	local m
	for m in vhost_net vhost_blk kvhost vhost vhost_iotlb; do
		[ ! -d /sys/module/$m ] || rmmod $m || return 1
	done
}

wait_node() {
	for _ in $(seq 50); do
		[ -c /dev/vhost-net ] && return 0
		sleep 0.1
	done
	return 1
}

# load ours|stock, then check that /dev/vhost-net is served by it.
load() {
	local want=$1 m
	unload_all || die "cannot unload the vhost modules"
	if [ "$want" = ours ]; then
		for m in $OURS_KO; do
			insmod "$m" || die "insmod $m failed"
		done
		# Our vhost_net uses kvhost's symbols; it has no srcversion.
		[ -e /sys/module/kvhost/holders/vhost_net ] &&
			[ ! -d /sys/module/vhost ] ||
			die "vhost_net is not ours after loading ours"
	else
		modprobe vhost_net || die "modprobe vhost_net failed"
		[ -e /sys/module/vhost/holders/vhost_net ] &&
			[ ! -d /sys/module/kvhost ] &&
			[ "$(cat /sys/module/vhost_net/srcversion 2>/dev/null)" = \
				"$STOCK_SRCVERSION" ] ||
			die "vhost_net is not the in-tree one after modprobe"
	fi
	wait_node || die "no /dev/vhost-net after loading $want"
}

# pktgen is part of Debian's kernel; without it net_bench sends with
# AF_PACKET instead (slower, says gen=packet in the raw lines).
modprobe pktgen 2>/dev/null || echo "bench-net: no pktgen, rx uses AF_PACKET"

echo "bench-net: $(uname -r), $(nproc) CPUs, $REPS repetitions of ${SECS}s" \
	"(+${WARM}s warm-up), net_bench args: ${ARGS:-none}"
echo "bench-net: cases (MODE-SIZE-PAIRS): $CASES"
echo "bench-net: ours $TOP/vhost_net.ko, stock $STOCK_KO ($STOCK_SRCVERSION)"
for rep in $(seq "$REPS"); do
	for impl in ours stock; do
		load $impl
		for c in $CASES; do
			# shellcheck disable=SC2046,SC2086 # lists of options
			line=$("$BENCH" $(case_args "$c") -t "$SECS" -w "$WARM" \
				$ARGS | grep '^RESULT ')
			rc=$?
			if [ $rc -ne 0 ]; then
				echo "bench-net: net_bench $c failed with $impl${line:+ (its figures: ${line#RESULT })}" >&2
				FAILED=1
				continue
			fi
			echo "raw $rep $impl $c ${line#RESULT }"
			echo "$impl $c ${line#RESULT }" >>"$RESULTS"
		done
	done
done
# Leave the VM as run-vm.sh set it up: ours loaded.
load ours

# The table: medians per case and implementation, and ours/stock.
awk -v cases="$CASES" '
function field(name,   i, kv) {
	for (i = 3; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] == name)
			return kv[2]
	}
	return ""
}
function median(list,   a, n, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	if (n % 2)
		return a[(n + 1) / 2]
	return (a[n / 2] + a[n / 2 + 1]) / 2
}
function lo(list,   a, n, i, m) {
	n = split(list, a, " "); m = a[1]
	for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]
	return m
}
function hi(list,   a, n, i, m) {
	n = split(list, a, " "); m = a[1]
	for (i = 2; i <= n; i++) if (a[i] + 0 > m + 0) m = a[i]
	return m
}
{
	k = $1 SUBSEP $2
	pps[k] = pps[k] " " field("pps")
	gb[k] = gb[k] " " field("gbps")
	ns[k] = ns[k] " " field("wrk_ns_per_pkt")
	ut[k] = ut[k] " " field("wrk_util")
}
END {
	printf "\n%-4s %-4s %5s %-5s %10s %21s %8s %15s %8s %5s\n", "mode",
		"size", "pairs", "impl", "pps", "pps range", "Gbit/s",
		"Gbit/s range", "ns/pkt", "util"
	nc = split(cases, order, " ")
	for (i = 1; i <= nc; i++) {
		c = order[i]
		split(c, part, "-")
		for (j = 1; j <= 2; j++) {
			impl = j == 1 ? "ours" : "stock"
			k = impl SUBSEP c
			if (!(k in pps)) {
				printf "%-4s %-4s %5s %-5s %10s\n", part[1], part[2],
					part[3], impl, "failed"
				continue
			}
			printf "%-4s %-4s %5s %-5s %10.0f %10.0f-%-10.0f %8.3f " \
				"%7.3f-%-7.3f %8.0f %5.2f\n", part[1], part[2],
				part[3], impl, median(pps[k]), lo(pps[k]),
				hi(pps[k]), median(gb[k]), lo(gb[k]), hi(gb[k]),
				median(ns[k]), median(ut[k])
			med[impl] = median(pps[k]); mns[impl] = median(ns[k])
			have[impl] = 1
		}
		if (have["ours"] && have["stock"] && med["stock"] > 0 &&
		    mns["stock"] > 0)
			printf "  %s %s x%s: ours/stock pps (and Gbit/s) %.2f, " \
				"worker ns/pkt %.2f\n", part[1], part[2],
				part[3], med["ours"] / med["stock"],
				mns["ours"] / mns["stock"]
		delete have
	}
}' "$RESULTS"
rm -f "$RESULTS"
exit $FAILED
