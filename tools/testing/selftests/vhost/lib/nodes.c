// SPDX-License-Identifier: GPL-2.0
/*
 * The kvhost device nodes and what each may offer.
 */
#include <linux/vhost.h>

#include "nodes.h"

#define BIT_ULL(n)	(1ULL << (n))

/*
 * Every feature bit a kvhost device may ever offer: the transport bits and
 * the device bits of virtio-net and virtio-blk that the design covers. A bit
 * outside this set means the module advertises something nobody planned.
 */
#define TRANSPORT_BITS	(BIT_ULL(24) /* NOTIFY_ON_EMPTY */ |		\
			 BIT_ULL(VHOST_F_LOG_ALL) |			\
			 BIT_ULL(27) /* ANY_LAYOUT / VIRTIO_NET_HDR */ |\
			 BIT_ULL(28) /* INDIRECT_DESC */ |		\
			 BIT_ULL(29) /* EVENT_IDX */ |			\
			 BIT_ULL(32) /* VERSION_1 */ |			\
			 BIT_ULL(33) /* ACCESS_PLATFORM */ |		\
			 BIT_ULL(34) /* RING_PACKED */ |		\
			 BIT_ULL(40) /* RING_RESET */)
#define NET_BITS	(BIT_ULL(15) /* MRG_RXBUF */)
#define BLK_BITS	(BIT_ULL(1) /* SIZE_MAX */ | BIT_ULL(2) /* SEG_MAX */ | \
			 BIT_ULL(5) /* RO */ | BIT_ULL(6) /* BLK_SIZE */ | \
			 BIT_ULL(9) /* FLUSH */ | BIT_ULL(10) /* TOPOLOGY */ | \
			 BIT_ULL(12) /* MQ */ | BIT_ULL(13) /* DISCARD */ | \
			 BIT_ULL(14) /* WRITE_ZEROES */ |		\
			 BIT_ULL(16) /* SECURE_ERASE */)

const struct vhost_node vhost_nodes[] = {
	{ "/dev/vhost-net", 2, TRANSPORT_BITS | NET_BITS },
	{ "/dev/vhost-blk", 16 /* VHOST_BLK_MAX_QUEUES */, TRANSPORT_BITS | BLK_BITS },
};

const unsigned int vhost_nr_nodes = KTAP_ARRAY_SIZE(vhost_nodes);

enum ktap_result on_every_node(enum ktap_result (*check)(const struct vhost_node *))
{
	enum ktap_result r;
	unsigned int i;

	for (i = 0; i < vhost_nr_nodes; i++) {
		r = check(&vhost_nodes[i]);
		if (r != KTAP_PASS)
			return r;
	}
	return KTAP_PASS;
}
