#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run_tests.sh [TEST...]: run kvhost's selftests the way kselftest's runner
# does. Each program's own TAP is nested behind "# ", and the program as a
# whole is one "ok"/"not ok" line. Exit status: 1 if any program failed.

set -u
cd "$(dirname "$0")" || exit 1

timeout=300
[ ! -r settings ] || timeout=$(sed -n 's/^timeout=//p' settings)

n=0
failed=0
echo "TAP version 13"
echo "1..$#"
for t in "$@"; do
	n=$((n + 1))
	echo "# selftests: vhost: $t"
	if [ ! -x "./$t" ]; then
		echo "# $t: not built"
		echo "not ok $n selftests: vhost: $t"
		failed=1
		continue
	fi
	start=$SECONDS
	timeout --foreground "$timeout" "./$t" 2>&1 | sed -u 's/^/# /'
	rc=${PIPESTATUS[0]}
	# Where make check's time goes.
	echo "# $t: $((SECONDS - start)) s"
	case $rc in
	0) echo "ok $n selftests: vhost: $t" ;;
	4) echo "ok $n selftests: vhost: $t # SKIP" ;;
	124) echo "not ok $n selftests: vhost: $t # TIMEOUT ${timeout} seconds"
	     failed=1 ;;
	*) echo "not ok $n selftests: vhost: $t # exit=$rc"; failed=1 ;;
	esac
done
exit $failed
