/*
 * graph.h -- `kctl graph`: the dependency graph of the running snapshots
 * (pure: from a repo.running result to a graph object and DOT text).
 */
#ifndef SYSTEMK_KCTL_GRAPH_H
#define SYSTEMK_KCTL_GRAPH_H

#include <stdio.h>

#include <cJSON.h>

/*
 * From repo.running's result ({"instances": {FMRI: {"property_groups":
 * {...}}}}) to
 *   {"nodes": [{"fmri", "enabled", "known"}...],
 *    "edges": [{"from", "to", "dependency", "grouping", "restart_on"}...]}
 * with a node per instance, sorted by FMRI, then a node ("known": false) per
 * dependency on an instance the repository does not have, and an edge per
 * service of each dep_NAME group, from the dependent to the dependency.
 * NULL when running has no "instances" object (or on allocation failure).
 */
cJSON *kctl_graph_build(const cJSON *running);

/*
 * Writes graph as a Graphviz digraph: boxes for instances (grey when
 * disabled, dotted when unknown), edges labelled with their grouping
 * (dashed optional_all, bold require_any, red exclude_all).
 */
void kctl_graph_dot(const cJSON *graph, FILE *f);

#endif /* SYSTEMK_KCTL_GRAPH_H */
