#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-debug-kernel.sh: build Debian's 6.1 kernel source with KASAN,
# lockdep, kmemleak, UBSAN and friends for the test VM. See --help.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
VMDIR=$TOP/tools/testing/vm
. "$TOP/tools/testing/lib.sh"
FRAGS=("$VMDIR"/config/*.config)
BASE=$KVH_CACHE/debug-kernel
# Bump when the way the tree is built changes, so that caches rebuild.
RECIPE=1

usage() {
	cat <<USAGE
Usage: $0 [--print-dir] [--force]

Builds a debug kernel for tools/testing/vm/run-vm.sh: Debian's linux-source-6.1
(fetched with apt-get download, shared with lint.sh), "make allnoconfig", our
fragments from tools/testing/vm/config/ merged over it, then bzImage and
modules. Every option the fragments set is checked in the final .config: one
that kconfig dropped or changed fails the build, listed.

The result is cached under
  $BASE/<source-version>-<config-hash>/
and rebuilt only when the linux-source-6.1 version, the fragments or this
script's recipe change; an interrupted build resumes. It holds:
  src/      the build tree, usable as KDIR for out-of-tree modules (M=)
  mod/      "make modules_install" output (mod/lib/modules/<release>)
  kernel.env  KVER, KERNEL, MODDIR and KDIR for run-vm.sh, shell syntax
  build.log the kernel build's output
On success the directory is the only thing printed on stdout; progress goes
to stderr. A cold build takes about 20 minutes on two cores.

Options:
  --print-dir  print the directory this build would use, and exit
  --force      rebuild even when the cache is complete
  -h, --help   this text
USAGE
}

PRINT=0
FORCE=0
while [ $# -gt 0 ]; do
	case "$1" in
	--print-dir) PRINT=1; shift ;;
	--force) FORCE=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "build-debug-kernel: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
done

say() {
	echo "build-debug-kernel: $*" >&2
}

# Install what a kernel build needs, quietly, only when something is missing.
# No dwarves: without DEBUG_INFO there is no BTF for pahole to make.
install_deps() {
	local p missing=() sudo=

	for p in build-essential bc flex bison libelf-dev libssl-dev rsync cpio \
		python3 xz-utils kmod; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	say "installing ${missing[*]}"
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
}

# wanted FRAGMENT...: the options asked for, as NAME=VALUE, in order;
# "# CONFIG_... is not set" reads as =n.
wanted() {
	sed -nE 's/^(CONFIG_[A-Za-z0-9_]+)=(.*)$/\1=\2/p
		s/^# (CONFIG_[A-Za-z0-9_]+) is not set$/\1=n/p' "$@"
}

# The config hash covers the recipe and each fragment's name and options,
# not its comments: rewording one must not cost a 20-minute build.
config_hash() {
	local f

	{
		echo "recipe $RECIPE"
		for f in "${FRAGS[@]}"; do
			echo "== $(basename "$f")"
			wanted "$f"
		done
	} | sha256sum | cut -c1-12
}

# verify_config CONFIG: fail, listing them, if kconfig dropped or changed
# any option a fragment sets (an unmet dependency, a typo, a renamed symbol).
verify_config() {
	local name want got bad=0

	while IFS='=' read -r name want; do
		got=$(sed -n "s/^$name=//p" "$1")
		[ -n "$got" ] || got=n
		if [ "$got" != "$want" ]; then
			say "$name: fragments want $want, .config has $got"
			bad=1
		fi
	done < <(wanted "${FRAGS[@]}")
	return $bad
}

VER=$(linux_source_version)
DIR=$BASE/$VER-$(config_hash)
if [ $PRINT = 1 ]; then
	echo "$DIR"
	exit 0
fi

install_deps
mkdir -p "$BASE"
# One build at a time per machine: two would each take both cores, and the
# second would find a half-built tree.
exec 9>"$BASE/.lock"
flock 9

if [ $FORCE = 1 ]; then
	rm -f "$DIR/.done" "$DIR/.configured"
fi
if [ -e "$DIR/.done" ]; then
	say "cached: $DIR"
	echo "$DIR"
	exit 0
fi

start=$(date +%s)
SRC=$DIR/src
if [ ! -e "$DIR/.configured" ]; then
	rm -rf "$DIR"
	mkdir -p "$SRC"
	deb=$(linux_source_deb "$VER")
	say "unpacking linux-source-6.1 $VER"
	# The .deb carries one tarball of the tree; stream it, never store it.
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO --wildcards './usr/src/linux-source-*.tar.xz' |
		tar -xJ -C "$SRC" --strip-components=1

	say "configuring: allnoconfig + ${FRAGS[*]##*/}"
	make -C "$SRC" -s allnoconfig >"$DIR/config.log" 2>&1
	(cd "$SRC" && scripts/kconfig/merge_config.sh -m .config "${FRAGS[@]}") \
		>>"$DIR/config.log" 2>&1
	make -C "$SRC" -s olddefconfig >>"$DIR/config.log" 2>&1
	if ! verify_config "$SRC/.config"; then
		say "kconfig dropped the options above; see $DIR/config.log"
		exit 1
	fi
	touch "$DIR/.configured"
fi

# The build tree stays whole: out-of-tree modules need its .config,
# generated headers, scripts, objtool and Module.symvers.
say "building bzImage and modules with -j$(nproc) (log: $DIR/build.log)"
if ! nice -n 10 make -C "$SRC" -j"$(nproc)" bzImage modules >"$DIR/build.log" 2>&1; then
	tail -n 40 "$DIR/build.log" >&2
	say "build failed; see $DIR/build.log"
	exit 1
fi
rm -rf "$DIR/mod"
make -C "$SRC" -s modules_install INSTALL_MOD_PATH="$DIR/mod" >>"$DIR/build.log" 2>&1

KVER=$(make -C "$SRC" -s --no-print-directory kernelrelease)
{
	printf 'KVER=%q\n' "$KVER"
	printf 'KERNEL=%q\n' "$SRC/arch/x86/boot/bzImage"
	printf 'MODDIR=%q\n' "$DIR/mod/lib/modules/$KVER"
	printf 'KDIR=%q\n' "$SRC"
} >"$DIR/kernel.env"
touch "$DIR/.done"

# Drop the builds of older sources or fragments: each one is gigabytes.
for d in "$BASE"/*/; do
	[ "${d%/}" = "$DIR" ] || rm -rf "$d"
done

secs=$(($(date +%s) - start))
say "built $KVER in $((secs / 60))m$((secs % 60))s: $DIR"
echo "$DIR"
