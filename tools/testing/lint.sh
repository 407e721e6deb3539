#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lint.sh [FILE...]: checkpatch --strict --no-tree over kvhost's sources.
#
# checkpatch comes from Debian's linux-source-6.1 package, downloaded with
# apt-get into ~/.cache/kvhost/linux-source (never installed system-wide) and
# unpacked into ~/.cache/kvhost/checkpatch, with the spelling and
# const-struct lists it reads next to it.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${KVHOST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvhost}/checkpatch
CP=$CACHE/scripts/checkpatch.pl

if [ ! -x "$CP" ]; then
	echo "lint: fetching checkpatch from linux-source-6.1" >&2
	. "$TOP/tools/testing/lib.sh"
	# The .deb is shared with vm/build-debug-kernel.sh (see lib.sh).
	deb=$(linux_source_deb "$(linux_source_version)")
	rm -rf "$CACHE"
	mkdir -p "$CACHE/deb"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -x -C "$CACHE/deb" --wildcards './usr/src/linux-source-*.tar.xz'
	tar -xJf "$CACHE"/deb/usr/src/linux-source-*.tar.xz -C "$CACHE" \
		--strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch'
	rm -rf "$CACHE/deb"
fi

if [ $# -eq 0 ]; then
	cd "$TOP"
	mapfile -t files < <(git ls-files -co --exclude-standard -- \
		'*.c' '*.h' | grep -Ev '\.mod\.c$')
else
	files=("$@")
fi

kernel=()
tests=()
for f in "${files[@]}"; do
	case $f in
	tools/*) tests+=("$f") ;;
	*) kernel+=("$f") ;;
	esac
done

# --no-tree: we are not a kernel tree. The camel-case names in our uAPI are
# upstream's ABI and cannot change.
opts=(--strict --no-tree --quiet --show-types --summary-file --ignore CAMELCASE)
rc=0
[ ${#kernel[@]} -eq 0 ] || "$CP" "${opts[@]}" -f "${kernel[@]}" || rc=1
# Userspace tests: assertion macros return from the test case by design (as
# kselftest_harness.h's do), and there is no kernel __printf to prefer.
[ ${#tests[@]} -eq 0 ] || "$CP" "${opts[@]}" \
	--ignore MACRO_WITH_FLOW_CONTROL,PREFER_DEFINED_ATTRIBUTE_MACRO \
	-f "${tests[@]}" || rc=1
exit $rc
