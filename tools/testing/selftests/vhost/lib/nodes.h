/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kvhost device nodes, for tests that check a contract on each of them.
 */
#ifndef KVHOST_NODES_H
#define KVHOST_NODES_H

#include <stdint.h>

#include "ktap.h"

struct vhost_node {
	const char *path;
	unsigned int nvqs;	/* virtqueues the device has */
	uint64_t known;		/* every feature bit it may ever offer */
};

extern const struct vhost_node vhost_nodes[];
extern const unsigned int vhost_nr_nodes;

/* Run @check on every node; the first failure or skip ends the case. */
enum ktap_result on_every_node(enum ktap_result (*check)(const struct vhost_node *));

/* Define case @name_ as @name_##_one run on every node. */
#define NODE_CASE(name_)						\
static enum ktap_result name_(void)					\
{									\
	return on_every_node(name_##_one);				\
}

#endif /* KVHOST_NODES_H */
