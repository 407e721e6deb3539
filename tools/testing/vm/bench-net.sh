#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-net.sh: packets per second of kvhost's vhost_net against Debian's
# in-tree vhost_net, side by side in one boot of the test VM ("make
# bench-net" boots it; run-vm.sh has already insmodded our modules).
#
# For each repetition it loads ours, runs net_bench tx and rx, loads the
# stock module set (modprobe vhost_net: vhost, vhost_iotlb) and runs the same
# two, then goes back to ours: A B A B ... so that slow drift of the host
# (other VMs, thermal) hits both alike. Every run starts with a fresh tap and
# a fresh vhost-net device, and checks which module is serving it.
#
# How to read the table:
#  - pps: median over the repetitions. tx = frames the guest posted that
#    reached the tap (the tap's rx_packets counter); rx = frames the host
#    sent on the tap (pktgen) that vhost delivered into the guest's ring.
#    "range" is the lowest and highest repetition: when the ranges of ours
#    and stock overlap, the difference is within the noise of a TCG VM on a
#    shared host.
#  - ratio = ours / stock of the medians; the kvhost target is >= 1.2.
#  - ns/pkt: CPU time of the vhost worker thread (vhost-<pid>,
#    /proc/<tid>/schedstat) per packet, median. Lower is better; it does not
#    depend on how long the worker was waiting, so it is the more stable
#    figure when pps is limited by something else. util is the worker's
#    busy fraction: close to 1.00 means the worker was the bottleneck, as
#    intended; well below means the guest side or the traffic source was.
#  - The "raw" lines are net_bench's own output, one per run: ring_pps and
#    tap_pps should agree (tx: tap_drop_pps is the host stack discarding
#    the frames, as it should; rx: it is pktgen's frames the tap dropped
#    because its queue was full, i.e. the offered load exceeded what vhost
#    took), kicks/signals/wakeups per 1000 packets show the notification
#    cost (with EVENT_IDX both should be far below 1000).
#  - All figures are from TCG: absolute numbers are tens of times below real
#    hardware, only the ratio between the two modules means something.
#
# net_bench runs with -q 4096 (see ARGS below for why); rx starts with the
# tap's queue filled by pktgen (-B), so the worker starts on a backlog. The
# 6.1 tap caps that queue at 16384 frames, which the worker empties in well
# under a second; after that pktgen (tens of kpps in TCG) feeds it, and rx
# util below ~0.9 means rx pps was partly pktgen's: compare rx by ns/pkt.
# The driver sits on CPU 0 (with pktgen), the worker on CPU 1.
#
# Environment: KVHOST_BENCH_REPS (default 3), KVHOST_BENCH_SECONDS
# (measurement per run, default 3), KVHOST_BENCH_WARMUP (default 1),
# KVHOST_BENCH_MODES (default "tx rx"), KVHOST_BENCH_ARGS (extra net_bench
# options, appended, e.g. "-s 1514", "-q 256" or "-b 64"; see net_bench -h).
# "make bench-net KVHOST_BENCH_REPS=5" passes them into the VM.
#
# Exit status: 0 when every run produced figures, whatever they say; 1 when
# the benchmark could not run (a module would not load, net_bench failed).
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
BENCH=$TOP/tools/testing/selftests/vhost/net_bench
REPS=${KVHOST_BENCH_REPS:-3}
SECS=${KVHOST_BENCH_SECONDS:-3}
WARM=${KVHOST_BENCH_WARMUP:-1}
MODES=${KVHOST_BENCH_MODES:-tx rx}
# A 4096-entry ring: with QEMU's 256 the worker drains the ring in about
# a millisecond of TCG time, less than the host may keep the driver's vCPU
# off its CPU, and the figure then measures host scheduling, not vhost.
ARGS="-q 4096 ${KVHOST_BENCH_ARGS:-}"
OURS_KO="$TOP/kvhost.ko $TOP/vhost_net.ko"
RESULTS=$(mktemp /tmp/bench-net.XXXXXX)

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
	"(+${WARM}s warm-up), modes: $MODES, net_bench args: ${ARGS:-none}"
echo "bench-net: ours $TOP/vhost_net.ko, stock $STOCK_KO ($STOCK_SRCVERSION)"
for rep in $(seq "$REPS"); do
	for impl in ours stock; do
		load $impl
		for mode in $MODES; do
			# shellcheck disable=SC2086 # ARGS is a list of options
			line=$("$BENCH" -m "$mode" -t "$SECS" -w "$WARM" $ARGS |
				grep '^RESULT ') ||
				die "net_bench -m $mode failed with $impl"
			echo "raw $rep $impl ${line#RESULT }"
			echo "$impl $mode ${line#RESULT }" >>"$RESULTS"
		done
	done
done
# Leave the VM as run-vm.sh set it up: ours loaded.
load ours

# The table: medians per implementation and mode, and ours/stock.
awk '
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
	ns[k] = ns[k] " " field("wrk_ns_per_pkt")
	ut[k] = ut[k] " " field("wrk_util")
	if (!($2 in seen)) { seen[$2] = 1; order[++nm] = $2 }
}
END {
	printf "\n%-4s %-6s %12s %23s %9s %6s\n", "mode", "impl", "pps(median)",
		"range(min-max)", "ns/pkt", "util"
	for (i = 1; i <= nm; i++) {
		m = order[i]
		for (j = 1; j <= 2; j++) {
			impl = j == 1 ? "ours" : "stock"
			k = impl SUBSEP m
			if (!(k in pps)) continue
			printf "%-4s %-6s %12.0f %11.0f-%-11.0f %9.0f %6.2f\n", m, impl,
				median(pps[k]), lo(pps[k]), hi(pps[k]),
				median(ns[k]), median(ut[k])
			med[impl, m] = median(pps[k]); mns[impl, m] = median(ns[k])
		}
	}
	printf "\n"
	for (i = 1; i <= nm; i++) {
		m = order[i]
		if (med["stock", m] > 0 && mns["ours", m] > 0)
			printf "%s: pps ratio ours/stock = %.2f (target >= 1.20); " \
				"worker CPU per packet ours/stock = %.2f\n", m,
				med["ours", m] / med["stock", m],
				mns["ours", m] / mns["stock", m]
	}
}' "$RESULTS"
rm -f "$RESULTS"
exit 0
