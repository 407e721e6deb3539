// SPDX-License-Identifier: GPL-2.0
/*
 * kvhost: the shared module behind vhost_net and vhost_blk.
 *
 * It holds the device core and the vring library. It registers no device of
 * its own; the backends load it through their KVHOST-namespaced imports.
 */
#include <linux/module.h>

#include "kvhost.h"

static int __init kvh_init(void)
{
	kvh_stats_init();
	return 0;
}
module_init(kvh_init);

static void __exit kvh_exit(void)
{
	kvh_stats_exit();
}
module_exit(kvh_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The kvhost developers");
MODULE_DESCRIPTION("kvhost: shared vhost device core and vring library");
