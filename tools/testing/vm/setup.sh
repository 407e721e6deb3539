#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building and testing kvhost needs on a Debian 12 machine:
# compilers, the 6.1 headers, QEMU, busybox and friends. Safe to run again;
# it only calls apt-get when something is missing.
set -euo pipefail

PKGS=(
	make gcc libc6-dev bc flex bison libelf-dev	# kbuild
	linux-headers-amd64				# the 6.1 headers (KDIR)
	sparse						# make sparse
	qemu-system-x86					# the test VM
	busybox-static cpio kmod ethtool		# initramfs, modprobe, nested L2
	iproute2 procps util-linux coreutils		# tools the tests call
	perl						# checkpatch
	clang libclang-rt-14-dev			# the vring fuzzer
	dkms udev					# install.sh: DKMS, udevadm
	python3 python3-sphinx				# make htmldocs, install.sh
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
fi
