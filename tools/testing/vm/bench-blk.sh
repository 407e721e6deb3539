#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-blk.sh: IOPS and latency of kvhost's vhost-blk against a userspace
# virtio-blk device built on io_uring, both serving the same load on the
# same memory-backed null_blk, in the test VM ("make bench-blk").
#
# Run on the host, it boots the VM (run-vm.sh, our modules loaded) with
# itself as the command, passing every KVHOST_BENCH_* variable on, and
# prints the host's load average before and after: the VM is TCG on a
# shared machine, and other VMs running at the same time slow it down
# unevenly. Inside the VM (KVHOST_GUEST set) it runs blk_bench.
#
# What blk_bench does (tools/testing/selftests/vhost/blk_bench.c):
#  - The block device: null_blk made through configfs, 64 MiB,
#    memory-backed, blk-mq, completing inline (irqmode=0), no scheduler,
#    a hardware queue per CPU. Both devices get the same fd, opened
#    O_RDWR | O_DIRECT. It is filled once so that reads hit memory.
#  - vhost-blk: /dev/vhost-blk with that fd on every queue; one vhost
#    worker thread per queue (vhost-<pid>-N).
#  - io_uring: one thread per queue in the bench process, serving the same
#    split ring the same way: it sleeps in io_uring_enter() until the kick
#    eventfd (read by io_uring) or an I/O completes, drains the avail ring,
#    queues one read/write per request straight into guest memory, submits
#    the batch and reaps completions with one io_uring_enter(), and signals
#    the call eventfd once per batch, with EVENT_IDX. Registered files and
#    ring fd; IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN when the kernel
#    has them (the "io_uring set-up" line says which).
#  - The load, the same for both: per queue a thread that keeps qd 4 KiB
#    requests in flight at random offsets (the same sequence for both),
#    kicking through EVENT_IDX and sleeping on the call eventfd, as a guest
#    driver would. 4 KiB random read and write, qd 1 and 32, 1 and 4
#    queues: 8 configurations.
#  - Each configuration runs REPS times per device, alternating which
#    device goes first; each run has a warm-up that is not counted.
#
# How to read the table:
#  - v IOPS / u IOPS: median of the runs for vhost-blk / io_uring, with the
#    lowest and highest run in brackets; when the ranges overlap the
#    difference is within the noise. ratio = v/u of the medians; the
#    kvhost target is >= 1.5.
#  - p50/p99 us: latency percentiles at qd 1 (post to used entry seen).
#  - dev us/IO: CPU time per I/O of the device side, from
#    /proc/<tid>/schedstat: the vhost worker threads, or the io_uring
#    threads plus any io-wq workers. dev cs/IO: their context switches per
#    I/O (about 1 means one sleep and wake-up per request). load us/IO:
#    CPU time per I/O of the load threads (the "guest"). In TCG these
#    include time the host took the vCPU away: compare v and u of one run
#    with each other, not with real hardware.
#  - The "run" lines are the single runs: kicks/io is how many kick
#    eventfd writes the load needed per request, iowq how many io-wq
#    workers io_uring had at the end (0: no request was punted).
#
# Environment (all optional): KVHOST_BENCH_REPS (default 3),
# KVHOST_BENCH_SECONDS (measured per run, default 3),
# KVHOST_BENCH_WARMUP_MS (default 500), KVHOST_BENCH_QUEUES ("1 4"),
# KVHOST_BENCH_QD ("1 32"), KVHOST_BENCH_ONLY (vhost-blk or io_uring),
# KVHOST_BENCH_DEV (null_blk, or brd for reference: unfair, see
# blk_bench.c), KVHOST_BENCH_URING (defer, coop or plain),
# KVHOST_BENCH_VM_TIMEOUT (host side, default 600 s).
#
# Exit status: 0 when the benchmark ran and printed its table, whatever
# the figures; 1 when it could not run (the reason is printed). It never
# judges speed.
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
BENCH=$TOP/tools/testing/selftests/vhost/blk_bench

die() {
	echo "bench-blk: $*" >&2
	exit 1
}

[ -x "$BENCH" ] || die "$BENCH is not built (make -C tools/testing/selftests/vhost)"

if [ -z "${KVHOST_GUEST:-}" ]; then
	for m in kvhost.ko vhost_blk.ko; do
		[ -e "$TOP/$m" ] || die "$TOP/$m is not built (run make)"
	done
	echo "bench-blk: host $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) before"
	vars=()
	while IFS='=' read -r name _; do
		vars+=("$name=${!name}")
	done < <(env | grep '^KVHOST_BENCH_[A-Z_]*=' || true)
	cd "$TOP" || die "cannot cd to $TOP"
	tools/testing/vm/run-vm.sh --smp 2 --timeout "${KVHOST_BENCH_VM_TIMEOUT:-600}" \
		-- env "${vars[@]}" tools/testing/vm/bench-blk.sh
	rc=$?
	echo "bench-blk: host load average $(cut -d' ' -f1-3 /proc/loadavg) after"
	case $rc in
	0) ;;
	3) echo "bench-blk: the VM's kernel log shows a splat (run-vm.sh status 3)" >&2 ;;
	124) echo "bench-blk: the VM hit its timeout" >&2 ;;
	*) echo "bench-blk: failed (status $rc)" >&2 ;;
	esac
	exit $rc
fi

# In the VM.
[ -c /dev/vhost-blk ] || die "no /dev/vhost-blk: vhost_blk.ko is not loaded"
export KVHOST_BENCH_REPS=${KVHOST_BENCH_REPS:-3}
export KVHOST_BENCH_SECONDS=${KVHOST_BENCH_SECONDS:-3}
[ -d /sys/module/kvhost ] || die "kvhost.ko is not loaded"
echo "bench-blk: guest $(uname -r), $(nproc) CPUs, vhost_blk.ko and kvhost.ko from $TOP"
out=$(mktemp /tmp/bench-blk.XXXXXX)
"$BENCH" >"$out" 2>&1
rc=$?
# TAP scaffolding out, "# " off the diagnostics; RESULT lines are for tools.
sed -n -e '/^TAP version/d' -e '/^1\.\./d' -e '/^RESULT /d' \
	-e '/^#/{s/^# \{0,1\}//p;d;}' -e p "$out"
rm -f "$out"
[ "$rc" = 0 ] || die "blk_bench failed (status $rc): see the reason above"
exit 0
