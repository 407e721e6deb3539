#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-vm.sh: boot a kernel under QEMU (TCG) with kvhost's modules loaded and
# run one command inside, or give a shell. See --help.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
VMDIR=$TOP/tools/testing/vm
# Downloads live outside the tree: kbuild's "make clean" deletes every *.ko
# below M=, and a cache shared between clones makes CI runs cheaper.
CACHE=${KVHOST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvhost}/vm

KDIR=${KDIR:-}
KERNEL=
MODDIR=
MODULES=
LOAD=1
PRELOAD="tun tap"
TIMEOUT=600
MEM=2G
SMP=2
LOG=
OUT=
MODE=cmd
CWD=$PWD
APPEND=

usage() {
	cat <<USAGE
Usage: $0 [options] -- COMMAND [ARGS...]
       $0 [options] --shell

Boots a kernel under qemu-system-x86_64 -accel tcg -cpu max. The guest sees
the host's root read-only over 9p under a tmpfs overlay, loads the Debian
modules in --preload and then kvhost's modules, runs COMMAND in the current
directory and powers off. The exit status is COMMAND's, except that a kernel
log showing a WARN, BUG, Oops, KASAN, UBSAN, lockdep or hung-task report or a
call trace (see splat-patterns) turns success into status 3. Status 124
means the hard timeout hit, 125 that the VM never reported a status (it
panicked, or its init failed), 2 a usage or set-up error. The console log is
kept (see --log).

By default the kernel is Debian's linux-image package whose version equals the
headers in KDIR; it is downloaded with apt-get and unpacked under
$CACHE.

Options:
  --kdir DIR       kernel build tree our modules were built against
                   (default: the Makefile's KDIR)
  --kernel IMAGE   boot this bzImage instead of the Debian package's (no
                   package lookup then; virtio_pci, 9p and overlay may be
                   built in, see tools/testing/vm/build-debug-kernel.sh)
  --moddir DIR     that kernel's /lib/modules/<release> tree (with --kernel),
                   as "make modules_install" leaves it: depmod'ed
  --modules "A B"  our modules to insmod, in order
                   (default: kvhost.ko vhost_net.ko vhost_blk.ko from $TOP)
  --no-modules     load none of ours
  --preload "A B"  kernel modules to modprobe first (default: "$PRELOAD")
  --timeout SEC    hard limit for the whole VM run (default: $TIMEOUT)
  --mem SIZE       guest memory (default: $MEM)
  --smp N          guest CPUs (default: $SMP)
  --log FILE       keep the serial console log here
                   (default: $CACHE/last-console.log)
  --out FILE       keep the command's output here too
  --append ARGS    extra kernel command-line arguments
  --shell          interactive shell on the console instead of a command
  -h, --help       this text
USAGE
}

while [ $# -gt 0 ]; do
	case "$1" in
	--kdir) KDIR=$2; shift 2 ;;
	--kernel) KERNEL=$2; shift 2 ;;
	--moddir) MODDIR=$2; shift 2 ;;
	--modules) MODULES=$2; shift 2 ;;
	--no-modules) LOAD=0; shift ;;
	--preload) PRELOAD=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	--smp) SMP=$2; shift 2 ;;
	--log) LOG=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--append) APPEND=$2; shift 2 ;;
	--shell) MODE=shell; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	*) echo "run-vm: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
done

if [ "$MODE" = cmd ] && [ $# -eq 0 ]; then
	echo "run-vm: no command given (try --help)" >&2
	exit 2
fi

"$VMDIR/setup.sh"

[ -n "$KDIR" ] || KDIR=$(make -s -C "$TOP" --no-print-directory \
	-f "$TOP/Makefile" print-kdir 2>/dev/null || true)
if [ -z "$KERNEL" ]; then
	[ -d "$KDIR" ] || { echo "run-vm: no KDIR; pass --kdir" >&2; exit 2; }
	KVER=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' \
		"$KDIR/include/generated/utsrelease.h")
	# The Debian image whose version equals the headers' package version.
	HDRPKG=$(dpkg-query -S "$KDIR/include/generated/utsrelease.h" | cut -d: -f1)
	PKGVER=$(dpkg-query -W -f='${Version}' "$HDRPKG")
	IMGDIR=$CACHE/$KVER-$PKGVER
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	flock 9
	if [ ! -e "$IMGDIR/.done" ]; then
		echo "run-vm: fetching linux-image-$KVER=$PKGVER" >&2
		rm -rf "$IMGDIR"
		mkdir -p "$IMGDIR/deb"
		# apt's sandbox user may not write here; the download still works.
		(cd "$IMGDIR/deb" &&
			apt-get download -q "linux-image-$KVER=$PKGVER" 2>&1 |
			grep -v 'Download is performed unsandboxed' >&2 || true)
		dpkg-deb -x "$IMGDIR"/deb/linux-image-*.deb "$IMGDIR/root"
		rm -rf "$IMGDIR/deb"
		depmod -b "$IMGDIR/root" "$KVER"
		touch "$IMGDIR/.done"
	fi
	flock -u 9
	KERNEL=$IMGDIR/root/boot/vmlinuz-$KVER
	MODDIR=$IMGDIR/root/lib/modules/$KVER
else
	[ -n "$MODDIR" ] || { echo "run-vm: --kernel needs --moddir" >&2; exit 2; }
	KVER=$(basename "$MODDIR")
fi
MODDIR=$(cd "$MODDIR" && pwd)
[ -e "$KERNEL" ] || { echo "run-vm: no kernel image $KERNEL" >&2; exit 2; }

if [ "$LOAD" = 1 ] && [ -z "$MODULES" ]; then
	MODULES="$TOP/kvhost.ko $TOP/vhost_net.ko $TOP/vhost_blk.ko"
fi
[ "$LOAD" = 1 ] || MODULES=
for m in $MODULES; do
	[ -e "$m" ] || { echo "run-vm: $m is not built (run make)" >&2; exit 2; }
done
ABSMODS=
for m in $MODULES; do ABSMODS="$ABSMODS $(realpath "$m")"; done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kvhost-vm.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# The initramfs: busybox, /init, the modules that mount the 9p overlay root
# (in dependency order), and this run's configuration and command.
IRD=$WORK/initramfs
mkdir -p "$IRD"/{bin,dev,proc,sys,lib/modules}
cp /bin/busybox "$IRD/bin/busybox"
for a in sh mount insmod mkdir poweroff stty sync chroot setsid cttyhack \
	hostname ip cp cat echo; do
	ln -s busybox "$IRD/bin/$a"
done
cp "$VMDIR/init.sh" "$IRD/init"
: >"$IRD/modules.list"
# A kernel of our own (--kernel) may have them built in: modprobe lists those
# as "builtin" (from modules.builtin), and the list can end up empty.
deps=$(modprobe -d "$(dirname "$(dirname "$(dirname "$MODDIR")")")" -S "$KVER" \
	--show-depends -a virtio_pci 9pnet_virtio 9p overlay) || {
	echo "run-vm: $KVER lacks virtio_pci, 9pnet_virtio, 9p or overlay" \
		"(neither built in nor modules in $MODDIR)" >&2
	exit 2
}
while read -r kind path _; do
	[ "$kind" = insmod ] || continue
	# Shared dependencies are listed once per module that needs them.
	[ ! -e "$IRD/lib/modules/$(basename "$path")" ] || continue
	cp "$path" "$IRD/lib/modules/"
	basename "$path" >>"$IRD/modules.list"
done <<<"$deps"
{
	printf 'KVER=%q\nMODDIR=%q\nMODULES=%q\n' "$KVER" "$MODDIR" "$ABSMODS"
	printf 'PRELOAD=%q\nCWD=%q\nMODE=%q\n' "$PRELOAD" "$CWD" "$MODE"
} >"$IRD/kvhost.conf"
if [ $# -gt 0 ]; then printf '%q ' "$@" >"$IRD/kvhost-cmd.sh"; fi
echo >>"$IRD/kvhost-cmd.sh"
(cd "$IRD" && find . | cpio -o -H newc --quiet) >"$WORK/initramfs.cpio"

[ -n "$LOG" ] || LOG=$CACHE/last-console.log
: >"$LOG"
RESULT=$WORK/out
: >"$RESULT"

CMDLINE="console=ttyS0,115200 panic_on_warn=1 oops=panic panic=-1"
CMDLINE="$CMDLINE softlockup_panic=1 nmi_watchdog=0 printk.time=1 $APPEND"

QEMU=(qemu-system-x86_64 -accel tcg -cpu max -machine q35 -smp "$SMP"
	-m "$MEM" -nodefaults -no-user-config -display none -no-reboot
	-kernel "$KERNEL" -initrd "$WORK/initramfs.cpio" -append "$CMDLINE"
	-fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap"
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
	-device virtio-rng-pci)

status=0
if [ "$MODE" = shell ]; then
	QEMU+=(-chardev "stdio,id=con,mux=on,signal=off,logfile=$LOG"
		-serial chardev:con -mon chardev=con,mode=readline
		-chardev "file,id=out,path=$RESULT" -serial chardev:out)
	"${QEMU[@]}" || status=$?
else
	QEMU+=(-monitor none -chardev "file,id=con,path=$LOG" -serial chardev:con
		-chardev "file,id=out,path=$RESULT" -serial chardev:out)
	timeout -k 10 "$TIMEOUT" "${QEMU[@]}" </dev/null &
	qpid=$!
	# Show the command's output while it runs, without the status line.
	tail -n +1 -s 0.2 -f --pid=$qpid "$RESULT" | grep --line-buffered -av '^KVHOST_EXIT=' &
	tpid=$!
	wait $qpid || status=$?
	wait $tpid || true
fi

[ -z "$OUT" ] || grep -av '^KVHOST_EXIT=' "$RESULT" >"$OUT" || true

rc=$(sed -n 's/^KVHOST_EXIT=\([0-9]*\).*/\1/p' "$RESULT" | tail -n 1)
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
	echo "run-vm: VM killed after the ${TIMEOUT}s timeout" >&2
	rc=124
elif [ -z "$rc" ]; then
	echo "run-vm: the VM stopped without reporting a status (qemu: $status)" >&2
	rc=125
fi

# Any report listed in splat-patterns fails the run, whatever the command said.
if grep -aEf "$VMDIR/splat-patterns" "$LOG" >/dev/null; then
	echo "run-vm: the guest kernel reported a problem (log: $LOG):" >&2
	grep -aE -A 20 -f "$VMDIR/splat-patterns" "$LOG" | head -n 60 >&2
	[ "$rc" -ne 0 ] || rc=3
fi
exit "$rc"
