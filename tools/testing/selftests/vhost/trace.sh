#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# trace.sh: kvhost's trace events fire, with sane fields, while real
# traffic runs. It enables every event of the kvhost, kvhost_net and
# kvhost_blk systems in tracefs, runs three net_ctl cases (TX and RX
# traffic with queue stop and start, a hostile guest that breaks the ring)
# and, when built, one blk_io case, then checks each event in the trace.
#
# Runs in the test VM with our modules loaded; leaves tracing off.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../../../.." && pwd)
KTAP_TIMEOUT=${KTAP_TIMEOUT:-600}
. "$HERE/lib/ktap.sh"

T=/sys/kernel/tracing
OUT=/tmp/kvhost-trace-test
LOG=$OUT/trace.txt

requires_vm() {
	if [ "${KVHOST_GUEST:-}" != 1 ]; then
		ktap_skip_reason "enables kernel tracing: runs only in the test VM"
		return 4
	fi
}

# The lines of event $1 in the captured trace.
lines() {
	grep -E " $1: " "$LOG"
}

events_registered() {
	local e

	requires_vm || return
	[ -d "$T/events" ] || mount -t tracefs nodev "$T" ||
		ktap_fail "no tracefs" || return
	for e in kvhost/kvhost_vq_kick kvhost/kvhost_vq_signal \
		 kvhost/kvhost_vq_error kvhost/kvhost_backend_attach \
		 kvhost/kvhost_backend_detach kvhost_net/kvhost_net_tx_batch \
		 kvhost_net/kvhost_net_rx_batch kvhost_blk/kvhost_blk_submit \
		 kvhost_blk/kvhost_blk_complete; do
		[ -e "$T/events/$e/enable" ] || ktap_fail "no event $e" || return
	done
}

capture_traffic() {
	requires_vm || return
	rm -rf "$OUT"
	mkdir -p "$OUT"
	echo 0 >"$T/tracing_on"
	echo 8192 >"$T/buffer_size_kb"
	: >"$T/trace"
	echo 1 >"$T/events/kvhost/enable"
	echo 1 >"$T/events/kvhost_net/enable"
	echo 1 >"$T/events/kvhost_blk/enable"
	echo 1 >"$T/tracing_on"
	# Traffic both ways with backend attach and detach, and a ring error.
	"$HERE/net_ctl" stop_start_tx_split stop_start_rx_split \
		hostile_tx_loop_split >"$OUT/net_ctl.tap" 2>&1
	echo "net_ctl exit $?" >"$OUT/status"
	if [ -x "$HERE/blk_io" ]; then
		# One case is plenty of requests, and the whole file takes long.
		"$HERE/blk_io" rw_tmpfs_split >"$OUT/blk_io.tap" 2>&1
		echo "blk_io exit $?" >>"$OUT/status"
	fi
	echo 0 >"$T/tracing_on"
	echo 0 >"$T/events/kvhost/enable"
	echo 0 >"$T/events/kvhost_net/enable"
	echo 0 >"$T/events/kvhost_blk/enable"
	cat "$T/trace" >"$LOG"
	: >"$T/trace"
	ktap_diag "$(tr '\n' ' ' <"$OUT/status")"
	ktap_diag "events captured: $(grep -c ': kvhost' "$LOG")"
	grep -q 'exit 0' "$OUT/status" || ktap_fail "traffic run failed"
}

kick_and_signal() {
	requires_vm || return
	# "<dev>-<pid> vq <n> used_idx <u> count <c>", counts from 1.
	lines kvhost_vq_kick | grep -qE 'net-[0-9]+ vq [01] used_idx [0-9]+ count [1-9]' ||
		ktap_fail "no sane kvhost_vq_kick" || return
	lines kvhost_vq_signal | grep -qE 'net-[0-9]+ vq [01] used_idx [0-9]+ count [1-9]' ||
		ktap_fail "no sane kvhost_vq_signal"
}

backend_attach_detach() {
	requires_vm || return
	lines kvhost_backend_attach |
		grep -qE 'net-[0-9]+ vq [01] num (1|2|4|8|16|32|64|128|256|512|1024|2048|4096|8192|16384|32768) (split|packed) base 0x[0-9a-f]+ used_idx [0-9]+' ||
		ktap_fail "no sane kvhost_backend_attach" || return
	lines kvhost_backend_detach | grep -qE 'net-[0-9]+ vq [01] num [1-9][0-9]* (split|packed)' ||
		ktap_fail "no sane kvhost_backend_detach"
}

vq_error_has_reason() {
	local reasons='access|avail-idx|head|next|loop|indirect-len|indirect-nested|indirect-next|indirect-off|out-after-in|len|addr|perm|iov|id|backend'

	requires_vm || return
	lines kvhost_vq_error | grep -qE "net-[0-9]+ vq [01] reason ($reasons) info 0x[0-9a-f]+ err_fd 1" ||
		ktap_fail "no kvhost_vq_error with a known reason" || return
	! lines kvhost_vq_error | grep -qE 'reason (ok|unknown) ' ||
		ktap_fail "an error event without a reason"
}

net_rx_batch() {
	requires_vm || return
	lines kvhost_net_rx_batch | grep -qE 'net-[0-9]+ vq 0 pkts [1-9][0-9]* bytes [1-9]' ||
		ktap_fail "no sane kvhost_net_rx_batch" || return
	# At most one handler run's weight: 256 packets.
	lines kvhost_net_rx_batch | sed -nE 's/.* pkts ([0-9]+) .*/\1/p' |
		awk '$1 > 256 { bad = 1 } END { exit bad }' ||
		ktap_fail "an RX batch above the packet weight"
}

net_tx_batch() {
	requires_vm || return
	if ! grep -q 'trace_kvhost_net_tx_batch' "$TOP/drivers/vhost/net_tx.c"; then
		ktap_skip_reason "net_tx.c does not call trace_kvhost_net_tx_batch yet"
		return 4
	fi
	lines kvhost_net_tx_batch | grep -qE 'net-[0-9]+ vq 1 pkts [1-9][0-9]* bytes [1-9]' ||
		ktap_fail "no sane kvhost_net_tx_batch" || return
	lines kvhost_net_tx_batch | sed -nE 's/.* pkts ([0-9]+) .*/\1/p' |
		awk '$1 > 256 { bad = 1 } END { exit bad }' ||
		ktap_fail "a TX batch above the packet weight"
}

blk_submit_complete() {
	requires_vm || return
	if ! grep -qs 'trace_kvhost_blk_complete' "$TOP"/drivers/vhost/blk*.c ||
	   [ ! -x "$HERE/blk_io" ]; then
		ktap_skip_reason "vhost-blk does not call its trace events yet"
		return 4
	fi
	lines kvhost_blk_submit | grep -qE 'blk-[0-9]+ vq [0-9]+ id [0-9]+ type [0-9]+ sector [0-9]+ len [0-9]+' ||
		ktap_fail "no sane kvhost_blk_submit" || return
	lines kvhost_blk_complete | grep -qE 'blk-[0-9]+ vq [0-9]+ id [0-9]+ status 0 latency_ns [1-9]' ||
		ktap_fail "no sane kvhost_blk_complete" || return
	# Latencies are positive and below a minute.
	lines kvhost_blk_complete | sed -nE 's/.* latency_ns ([0-9]+)$/\1/p' |
		awk '$1 == 0 || $1 > 60000000000 { bad = 1 } END { exit bad }' ||
		ktap_fail "a latency of 0 or above a minute"
}

ktap_main "$@" \
	events_registered \
	capture_traffic \
	kick_and_signal \
	backend_attach_detach \
	vq_error_has_reason \
	net_rx_batch \
	net_tx_batch \
	blk_submit_complete
