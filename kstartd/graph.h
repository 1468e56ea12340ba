/*
 * graph.h -- the dependency graph over instances.  Pure.
 *
 * Nodes are the instances kstartd knows, in the order of the config array
 * given to kgraph_new (the shell's instance table); edges come from each
 * config's dep_NAME groups.  The graph borrows the configs: rebuild it when
 * they change (svc.reload).
 *
 * What a node's dependents may do is decided from a *view* of every node's
 * restarter state, passed in by the caller, so the graph never holds state
 * and tests build views by hand.
 *
 * Reachability (DESIGN section 7, `kctl explain`, exit 9):
 *   UP      online or degraded, not being stopped
 *   COMING  enabled, not in maintenance, not held after a clean exit, and its
 *           own dependencies can still be satisfied
 *   NEVER   absent, disabled, maintenance, held, or blocked for good
 *           (a dependency cycle counts as blocked)
 *
 * Satisfaction of one dependency group:
 *   require_all   SAT when every member is UP; CANNOT when one is NEVER
 *   require_any   SAT when one member is UP (or the list is empty);
 *                 CANNOT when every member is NEVER
 *   optional_all  SAT when every member is UP or NEVER: it waits only for
 *                 members that are enabled and can still come online
 *   exclude_all   CANNOT when a member is UP or COMING (only an operator can
 *                 fix that); WAIT while a member still runs; else SAT
 * A node is SAT when all its groups are, CANNOT when one is, else WAIT.
 */
#ifndef KSTARTD_GRAPH_H
#define KSTARTD_GRAPH_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "restarter.h"

typedef struct kgraph kgraph;

/* One node's restarter state as the graph needs it. */
typedef struct kg_view {
	bool        enabled;
	bool        hold;    /* exited cleanly, will not restart by itself */
	bool        running; /* holds or starts a process (svc_running) */
	enum svc_st state;
	enum svc_st next;
} kg_view;

enum kg_reach { KG_UP, KG_COMING, KG_NEVER };
enum kg_sat { KG_SAT, KG_WAIT, KG_CANNOT };
enum kg_milestone { KG_MS_PENDING, KG_MS_ONLINE, KG_MS_FAILED };

/* A view filled from a restarter state. */
void kg_view_from(kg_view *v, const svc_state *st);

/*
 * Builds the graph of n configs (borrowed; must outlive the graph).  Returns
 * NULL when memory runs out.
 */
kgraph *kgraph_new(const svc_config *const *cfgs, size_t n);
void    kgraph_free(kgraph *g);
size_t  kgraph_size(const kgraph *g);
/* Node index of a canonical FMRI, or -1. */
long kgraph_find(const kgraph *g, const char *fmri);

/*
 * Evaluates every node against views v (n entries): reach[i] and sat[i]
 * (either may be NULL).  One pass with memoisation: O(nodes + edges).
 */
void kgraph_eval(const kgraph *g, const kg_view *v, enum kg_reach *reach,
                 enum kg_sat *sat);

/*
 * Does a member of one of node's exclude_all groups run online or
 * degraded?  Then node, if it runs, must stop (SMF stops an exclude_all
 * dependent when the service it excludes comes online, whatever its
 * restart_on).  *by gets that member's node index.
 */
bool kgraph_excluded(const kgraph *g, size_t node, const kg_view *v,
                     size_t *by);

/* Satisfaction of node's dependency group gi (index into cfg->deps). */
enum kg_sat kgraph_group_sat(const kgraph *g, size_t node, size_t gi,
                             const kg_view *v, const enum kg_reach *reach);

/*
 * Dependents that must be stopped because node left UP for cause
 * (SVC_RON_ERROR for a failure, SVC_RON_RESTART for a stop or disable):
 * those with a non-exclude group naming node whose restart_on >= cause.
 * Writes up to max indices to out; returns how many there are.
 */
size_t kgraph_affected(const kgraph *g, size_t node, enum svc_restart_on cause,
                       size_t *out, size_t max);

/* Shutdown order: true when no dependent of node is still running. */
bool kgraph_dependents_down(const kgraph *g, size_t node, const kg_view *v);

/*
 * A topological order, dependencies first (start order); its reverse is
 * the stop order.  Nodes on a cycle come last, in index order.  out has room
 * for kgraph_size(g) entries.
 */
void kgraph_order(const kgraph *g, size_t *out);

/*
 * The `default` milestone: ONLINE when every enabled node is UP, FAILED
 * when an enabled node is NEVER (it cannot come online without an
 * operator), else PENDING.
 */
enum kg_milestone kgraph_milestone(const kgraph *g, const kg_view *v,
                                   const enum kg_reach *reach);

const char *kg_sat_name(enum kg_sat s);

#endif /* KSTARTD_GRAPH_H */
