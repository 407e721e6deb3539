# SPDX-License-Identifier: GPL-2.0
#
# ktap.sh: TAP output for shell tests, mirroring lib/ktap.c.
#
# A test script sources this file, defines one function per case (return 0
# to pass, 4 to skip after ktap_skip_reason, anything else fails), and ends
# with:  ktap_main "$@" case_a case_b ...
# Each case runs in a fresh copy of the script ("$0 --case NAME") under a
# timeout, so an exit, a crash or a hang in one case cannot take the others
# down.

KTAP_TIMEOUT=${KTAP_TIMEOUT:-60}

ktap_diag() {
	echo "# $*"
}

ktap_skip_reason() {
	echo "$*" >&3
}

# Print why the calling case fails and return failure: "cond || ktap_fail msg".
ktap_fail() {
	ktap_diag "${FUNCNAME[1]}: $*"
	return 1
}

ktap_main() {
	local n=0 pass=0 fail=0 skip=0 rc t reason total

	if [ "${1:-}" = --case ]; then
		"$2"
		exit $?
	fi
	total=$#
	reason=$(mktemp)
	echo "TAP version 13"
	echo "1..$total"
	for t in "$@"; do
		n=$((n + 1))
		: >"$reason"
		rc=0
		timeout --foreground "$KTAP_TIMEOUT" bash "$0" --case "$t" \
			3>"$reason" || rc=$?
		case $rc in
		0) echo "ok $n $t"; pass=$((pass + 1)) ;;
		4) echo "ok $n $t # SKIP $(head -n 1 "$reason")"
		   skip=$((skip + 1)) ;;
		124) ktap_diag "$t: timed out after ${KTAP_TIMEOUT}s"
		     echo "not ok $n $t"; fail=$((fail + 1)) ;;
		*) echo "not ok $n $t"; fail=$((fail + 1)) ;;
		esac
	done
	rm -f "$reason"
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
	[ $fail -eq 0 ] || exit 1
	[ $skip -lt $total ] || exit 4
	exit 0
}
