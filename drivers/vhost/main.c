// SPDX-License-Identifier: GPL-2.0
/*
 * kvhost: the shared module behind vhost_net and vhost_blk.
 *
 * It holds the device core and the vring library. It registers no device of
 * its own; the backends load it through their KVHOST-namespaced imports.
 */
#include <linux/module.h>

static int __init kvh_init(void)
{
	return 0;
}
module_init(kvh_init);

static void __exit kvh_exit(void)
{
}
module_exit(kvh_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The kvhost developers");
MODULE_DESCRIPTION("kvhost: shared vhost device core and vring library");
