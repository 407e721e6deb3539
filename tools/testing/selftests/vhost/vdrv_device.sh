#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# vdrv_device.sh: the cases of vdrv_selftest that drive our /dev/vhost-net.
# Its fake-device cases need no kernel and run on the host (check.sh), where
# they take a second rather than a minute and a half under TCG.
cd "$(dirname "$0")" || exit 1
exec ./vdrv_selftest --device
