# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# lib.sh: helpers shared by kvhost's test scripts, sourced, never run.
#
# - the result counting behind "N passed, N failed, N skipped", used by
#   check.sh and check-debug.sh (both callers set RES, the results directory);
# - the download of Debian's linux-source-6.1, used by lint.sh (checkpatch)
#   and vm/build-debug-kernel.sh (the whole tree), so that one .deb serves both.

# Every clone on the machine shares this cache: downloads and kernel builds
# are expensive, and "make clean" never reaches it.
KVH_CACHE=${KVHOST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvhost}

pass=0
fail=0
skip=0

# record NAME STATUS [DETAIL]: one host-level result (ok, fail or skip).
record() {
	case $2 in
	ok) pass=$((pass + 1)); echo "ok - $1" ;;
	skip) skip=$((skip + 1)); echo "ok - $1 # SKIP ${3:-}" ;;
	*) fail=$((fail + 1)); echo "not ok - $1${3:+ # $3}" ;;
	esac
}

# finish: print the totals and exit, 1 if anything failed or nothing ran.
finish() {
	echo "logs and results: $RES"
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
	exit $?
}

# step NAME LOG COMMAND...: run a step, keep its output, record the result.
step() {
	local name=$1 log=$RES/$2.log

	shift 2
	if "$@" >"$log" 2>&1; then
		record "$name" ok
	else
		tail -n 30 "$log"
		record "$name" fail "see $log"
		return 1
	fi
}

# count_kselftests TAP PROG...: add run_tests.sh's nested results to the
# totals. A program whose own line is "not ok" without any failed case (a
# crash, a timeout, a bad exit) counts as one failure; a program that never
# reported counts as one failure too.
# count_tap NAME FILE: add the results of a plain (not nested) TAP stream.
# A stream that reported nothing counts as one failure.
count_tap() {
	local np ns nf

	np=$(grep -cE '^ok [0-9]+ ' "$2")
	ns=$(grep -cE '^ok [0-9]+ .*# SKIP' "$2")
	nf=$(grep -cE '^not ok [0-9]+ ' "$2")
	pass=$((pass + np - ns))
	skip=$((skip + ns))
	fail=$((fail + nf))
	[ $((np + nf)) -gt 0 ] || record "$1" fail "no TAP results; see $2"
}

count_kselftests() {
	local tap=$1 p top block np ns nf

	shift
	for p in "$@"; do
		top=$(grep -E "^(ok|not ok) [0-9]+ selftests: vhost: $p( |$)" "$tap")
		block=$(awk -v p="# selftests: vhost: $p" '
			$0 == p { on = 1; next }
			on && /^(ok|not ok) [0-9]+ selftests: / { exit }
			on { print }' "$tap")
		np=$(grep -cE '^# ok [0-9]+ ' <<<"$block")
		ns=$(grep -cE '^# ok [0-9]+ .*# SKIP' <<<"$block")
		nf=$(grep -cE '^# not ok [0-9]+ ' <<<"$block")
		pass=$((pass + np - ns))
		skip=$((skip + ns))
		fail=$((fail + nf))
		if [ -z "$top" ]; then
			record "$p" fail "no result: the VM run ended early"
		elif [[ $top == "not ok"* ]] && [ "$nf" -eq 0 ]; then
			record "$p" fail "${top#*# }"
		fi
	done
}

# linux_source_version: the linux-source-6.1 version apt-get would fetch.
# A fresh machine may have no package lists yet: update them once then.
linux_source_version() {
	local v

	v=$(apt-cache policy linux-source-6.1 2>/dev/null | sed -n 's/^ *Candidate: //p')
	if [ -z "$v" ] || [ "$v" = "(none)" ]; then
		apt-get update -qq >&2 || return 1
		v=$(apt-cache policy linux-source-6.1 | sed -n 's/^ *Candidate: //p')
	fi
	if [ -z "$v" ] || [ "$v" = "(none)" ]; then
		echo "no linux-source-6.1 package in apt's lists" >&2
		return 1
	fi
	echo "$v"
}

# linux_source_deb VERSION: print the path of that linux-source-6.1 .deb,
# downloading it first if needed. Only the newest version is kept: a .deb is
# 140 MB, and a security update makes the old one useless.
linux_source_deb() (
	local ver=$1 dir=$KVH_CACHE/linux-source deb

	[ -n "$ver" ] || exit 1
	mkdir -p "$dir"
	exec 8>"$dir/.lock"
	flock 8
	if [ ! -e "$dir/$ver/.done" ]; then
		echo "fetching linux-source-6.1=$ver" >&2
		rm -rf "${dir:?}"/*/
		mkdir -p "$dir/$ver"
		# apt's sandbox user may not write here; the download still works.
		(cd "$dir/$ver" && apt-get download -q "linux-source-6.1=$ver" 2>&1 |
			grep -v 'Download is performed unsandboxed' >&2 || true)
		ls "$dir/$ver"/linux-source-6.1_*_all.deb >/dev/null 2>&1 || {
			echo "apt-get download linux-source-6.1=$ver failed" >&2
			exit 1
		}
		touch "$dir/$ver/.done"
	fi
	deb=$(ls "$dir/$ver"/linux-source-6.1_*_all.deb)
	echo "$deb"
)
