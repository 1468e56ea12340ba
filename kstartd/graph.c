/*
 * graph.c -- dependency graph over instances (see graph.h).  Pure.
 */
#include <stdlib.h>
#include <string.h>

#include "graph.h"

/* One edge seen from the dependency: `node` names it in group `gi`. */
typedef struct kg_rdep {
	size_t node;
	size_t gi;
} kg_rdep;

struct kgraph {
	size_t                   n;
	const svc_config *const *cfgs;
	long                  ***members;  /* [node][group][k]: index or -1 */
	size_t                  *ngroups;  /* [node]: groups in members[node] */
	size_t                  *sorted;   /* node indices by FMRI */
	size_t                  *rdep_off; /* n + 1 offsets into rdep */
	kg_rdep                 *rdep;
};

/* ---- construction --------------------------------------------------------- */

static const kgraph *sort_graph; /* qsort has no context argument */

static int
cmp_fmri(const void *a, const void *b)
{
	return strcmp(sort_graph->cfgs[*(const size_t *)a]->fmri,
	    sort_graph->cfgs[*(const size_t *)b]->fmri);
}

long
kgraph_find(const kgraph *g, const char *fmri)
{
	size_t lo = 0, hi = g->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int    c = strcmp(fmri, g->cfgs[g->sorted[mid]]->fmri);

		if (c == 0)
			return (long)g->sorted[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static bool
resolve_members(kgraph *g, size_t i)
{
	const svc_config *cfg = g->cfgs[i];

	if (cfg->ndeps == 0)
		return true;
	if (!(g->members[i] = calloc(cfg->ndeps, sizeof *g->members[i])))
		return false;
	g->ngroups[i] = cfg->ndeps;
	for (size_t gi = 0; gi < cfg->ndeps; gi++) {
		const svc_dep *d = &cfg->deps[gi];

		if (d->nfmri == 0)
			continue;
		if (!(g->members[i][gi] = calloc(d->nfmri, sizeof(long))))
			return false;
		for (size_t k = 0; k < d->nfmri; k++)
			g->members[i][gi][k] = kgraph_find(g, d->fmris[k]);
	}
	return true;
}

/* Reverse edges, grouped by the dependency (counting sort). */
static bool
build_rdeps(kgraph *g)
{
	size_t total = 0;

	if (!(g->rdep_off = calloc(g->n + 1, sizeof *g->rdep_off)))
		return false;
	for (size_t i = 0; i < g->n; i++)
		for (size_t gi = 0; gi < g->cfgs[i]->ndeps; gi++)
			for (size_t k = 0; k < g->cfgs[i]->deps[gi].nfmri; k++)
				if (g->members[i][gi][k] >= 0) {
					g->rdep_off[g->members[i][gi][k] + 1]++;
					total++;
				}
	for (size_t j = 0; j < g->n; j++)
		g->rdep_off[j + 1] += g->rdep_off[j];
	if (!(g->rdep = calloc(total + 1, sizeof *g->rdep)))
		return false;
	size_t *fill = calloc(g->n + 1, sizeof *fill);
	if (!fill)
		return false;
	for (size_t i = 0; i < g->n; i++)
		for (size_t gi = 0; gi < g->cfgs[i]->ndeps; gi++)
			for (size_t k = 0; k < g->cfgs[i]->deps[gi].nfmri; k++) {
				long j = g->members[i][gi][k];

				if (j >= 0)
					g->rdep[g->rdep_off[j] + fill[j]++] =
					    (kg_rdep){i, gi};
			}
	free(fill);
	return true;
}

kgraph *
kgraph_new(const svc_config *const *cfgs, size_t n)
{
	kgraph *g = calloc(1, sizeof *g);

	if (!g)
		return NULL;
	g->n = n;
	g->cfgs = cfgs;
	g->sorted = calloc(n + 1, sizeof *g->sorted);
	g->members = calloc(n + 1, sizeof *g->members);
	g->ngroups = calloc(n + 1, sizeof *g->ngroups);
	if (!g->sorted || !g->members || !g->ngroups)
		goto fail;
	for (size_t i = 0; i < n; i++)
		g->sorted[i] = i;
	sort_graph = g;
	qsort(g->sorted, n, sizeof *g->sorted, cmp_fmri);
	sort_graph = NULL;
	for (size_t i = 0; i < n; i++)
		if (!resolve_members(g, i))
			goto fail;
	if (!build_rdeps(g))
		goto fail;
	return g;
fail:
	kgraph_free(g);
	return NULL;
}

void
kgraph_free(kgraph *g)
{
	if (!g)
		return;
	/* Never through g->cfgs: the configs may already be gone. */
	for (size_t i = 0; g->members && g->ngroups && i < g->n; i++) {
		if (!g->members[i])
			continue;
		for (size_t gi = 0; gi < g->ngroups[i]; gi++)
			free(g->members[i][gi]);
		free(g->members[i]);
	}
	free(g->members);
	free(g->ngroups);
	free(g->sorted);
	free(g->rdep_off);
	free(g->rdep);
	free(g);
}

size_t
kgraph_size(const kgraph *g)
{
	return g->n;
}

void
kg_view_from(kg_view *v, const svc_state *st)
{
	v->enabled = st->enabled;
	v->hold = st->hold;
	v->running = svc_running(st);
	v->state = st->state;
	v->next = st->next;
}

const char *
kg_sat_name(enum kg_sat s)
{
	static const char *const names[] = {"satisfied", "waiting", "cannot"};

	return (unsigned)s <= KG_CANNOT ? names[s] : "?";
}

/* ---- evaluation ----------------------------------------------------------- */

typedef struct eval {
	const kgraph  *g;
	const kg_view *v;
	enum kg_reach *reach;
	unsigned char *mark; /* 0 new, 1 on the stack, 2 done */
} eval;

static bool
view_up(const kg_view *v)
{
	return (v->state == SVC_ST_ONLINE || v->state == SVC_ST_DEGRADED) &&
	    v->next == SVC_ST_NONE;
}

static enum kg_reach node_reach(eval *e, size_t i);

/* The reach of member k of group gi of node i; absent members are NEVER. */
static enum kg_reach
member_reach(eval *e, size_t i, size_t gi, size_t k)
{
	long j = e->g->members[i][gi][k];

	return j < 0 ? KG_NEVER : node_reach(e, (size_t)j);
}

static enum kg_sat
group_sat(eval *e, size_t i, size_t gi)
{
	const svc_dep *d = &e->g->cfgs[i]->deps[gi];
	size_t         up = 0, never = 0, running = 0;

	for (size_t k = 0; k < d->nfmri; k++) {
		enum kg_reach r = member_reach(e, i, gi, k);
		long          j = e->g->members[i][gi][k];

		up += r == KG_UP;
		never += r == KG_NEVER;
		running += j >= 0 && e->v[j].running;
	}
	switch (d->grouping) {
	case SVC_DEP_REQUIRE_ALL:
		return never ? KG_CANNOT : up == d->nfmri ? KG_SAT : KG_WAIT;
	case SVC_DEP_REQUIRE_ANY:
		if (up || d->nfmri == 0)
			return KG_SAT;
		return never == d->nfmri ? KG_CANNOT : KG_WAIT;
	case SVC_DEP_OPTIONAL_ALL:
		return up + never == d->nfmri ? KG_SAT : KG_WAIT;
	case SVC_DEP_EXCLUDE_ALL:
		if (never < d->nfmri)
			return KG_CANNOT;
		return running ? KG_WAIT : KG_SAT;
	}
	return KG_CANNOT;
}

static enum kg_sat
node_sat(eval *e, size_t i)
{
	enum kg_sat worst = KG_SAT;

	for (size_t gi = 0; gi < e->g->cfgs[i]->ndeps; gi++) {
		enum kg_sat s = group_sat(e, i, gi);

		if (s > worst)
			worst = s;
	}
	return worst;
}

static enum kg_reach
node_reach(eval *e, size_t i)
{
	const kg_view *v = &e->v[i];
	enum kg_reach  r;

	if (e->mark[i] == 2)
		return e->reach[i];
	if (e->mark[i] == 1)
		return KG_NEVER; /* a cycle: blocked for good */
	e->mark[i] = 1;
	if (view_up(v))
		r = KG_UP;
	else if (!v->enabled || v->hold || v->state == SVC_ST_MAINTENANCE)
		r = KG_NEVER;
	else
		r = node_sat(e, i) == KG_CANNOT ? KG_NEVER : KG_COMING;
	e->mark[i] = 2;
	e->reach[i] = r;
	return r;
}

void
kgraph_eval(const kgraph *g, const kg_view *v, enum kg_reach *reach,
            enum kg_sat *sat)
{
	enum kg_reach *r = reach ? reach : calloc(g->n + 1, sizeof *r);
	unsigned char *mark = calloc(g->n + 1, 1);
	eval           e = {g, v, r, mark};

	if (!r || !mark) {
		/* Out of memory: say nothing may start; the loop retries. */
		for (size_t i = 0; sat && i < g->n; i++)
			sat[i] = KG_WAIT;
		goto out;
	}
	for (size_t i = 0; i < g->n; i++)
		node_reach(&e, i);
	for (size_t i = 0; sat && i < g->n; i++)
		sat[i] = node_sat(&e, i);
out:
	if (r != reach)
		free(r);
	free(mark);
}

enum kg_sat
kgraph_group_sat(const kgraph *g, size_t node, size_t gi, const kg_view *v,
                 const enum kg_reach *reach)
{
	unsigned char *mark = calloc(g->n + 1, 1);
	enum kg_reach *r = calloc(g->n + 1, sizeof *r);
	enum kg_sat    s = KG_WAIT;
	eval           e = {g, v, r, mark};

	if (mark && r) {
		/* Seed with the caller's evaluation so nothing is recomputed. */
		for (size_t i = 0; reach && i < g->n; i++) {
			r[i] = reach[i];
			mark[i] = 2;
		}
		s = group_sat(&e, node, gi);
	}
	free(mark);
	free(r);
	return s;
}

/* ---- stopping and ordering ------------------------------------------------ */

static bool
orders(const kgraph *g, const kg_rdep *rd)
{
	return g->cfgs[rd->node]->deps[rd->gi].grouping != SVC_DEP_EXCLUDE_ALL;
}

size_t
kgraph_affected(const kgraph *g, size_t node, enum svc_restart_on cause,
                size_t *out, size_t max)
{
	size_t count = 0;

	for (size_t r = g->rdep_off[node]; r < g->rdep_off[node + 1]; r++) {
		const kg_rdep *rd = &g->rdep[r];
		const svc_dep *d = &g->cfgs[rd->node]->deps[rd->gi];
		bool           dup = false;

		if (!orders(g, rd) || d->restart_on == SVC_RON_NONE ||
		    d->restart_on < cause || rd->node == node)
			continue;
		for (size_t k = 0; k < count && k < max; k++)
			dup |= out[k] == rd->node;
		if (dup)
			continue;
		if (count < max)
			out[count] = rd->node;
		count++;
	}
	return count;
}

bool
kgraph_dependents_down(const kgraph *g, size_t node, const kg_view *v)
{
	for (size_t r = g->rdep_off[node]; r < g->rdep_off[node + 1]; r++) {
		const kg_rdep *rd = &g->rdep[r];

		if (orders(g, rd) && rd->node != node && v[rd->node].running)
			return false;
	}
	return true;
}

/* Kahn's algorithm over the ordering edges. */
void
kgraph_order(const kgraph *g, size_t *out)
{
	size_t *indeg = calloc(g->n + 1, sizeof *indeg);
	bool   *placed = calloc(g->n + 1, sizeof *placed);
	size_t  head = 0, tail = 0;

	if (!indeg || !placed) {
		for (size_t i = 0; i < g->n; i++)
			out[i] = i;
		goto out;
	}
	for (size_t j = 0; j < g->n; j++)
		for (size_t r = g->rdep_off[j]; r < g->rdep_off[j + 1]; r++)
			if (orders(g, &g->rdep[r]) && g->rdep[r].node != j)
				indeg[g->rdep[r].node]++;
	for (size_t i = 0; i < g->n; i++)
		if (indeg[i] == 0) {
			out[tail++] = i;
			placed[i] = true;
		}
	while (head < tail) {
		size_t j = out[head++];

		for (size_t r = g->rdep_off[j]; r < g->rdep_off[j + 1]; r++) {
			size_t i = g->rdep[r].node;

			if (!orders(g, &g->rdep[r]) || i == j)
				continue;
			if (--indeg[i] == 0 && !placed[i]) {
				out[tail++] = i;
				placed[i] = true;
			}
		}
	}
	for (size_t i = 0; i < g->n; i++)
		if (!placed[i])
			out[tail++] = i;
out:
	free(indeg);
	free(placed);
}

enum kg_milestone
kgraph_milestone(const kgraph *g, const kg_view *v, const enum kg_reach *reach)
{
	bool pending = false;

	for (size_t i = 0; i < g->n; i++) {
		if (!v[i].enabled)
			continue;
		if (reach[i] == KG_NEVER)
			return KG_MS_FAILED;
		pending |= reach[i] != KG_UP;
	}
	return pending ? KG_MS_PENDING : KG_MS_ONLINE;
}

bool
kgraph_excluded(const kgraph *g, size_t node, const kg_view *v, size_t *by)
{
	const svc_config *cfg = g->cfgs[node];

	for (size_t gi = 0; gi < cfg->ndeps; gi++) {
		const svc_dep *d = &cfg->deps[gi];

		if (d->grouping != SVC_DEP_EXCLUDE_ALL)
			continue;
		for (size_t k = 0; k < d->nfmri; k++) {
			long j = g->members[node][gi][k];

			if (j >= 0 && (size_t)j != node &&
			    (v[j].state == SVC_ST_ONLINE ||
			        v[j].state == SVC_ST_DEGRADED)) {
				*by = (size_t)j;
				return true;
			}
		}
	}
	return false;
}
