/*
 * compose.c -- FMRIs, composition and layering of property groups, and the
 * dependency-cycle check.  Pure: values in, values out (see manifest.h).
 */
#include "manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kipc.h"

/* ---- FMRIs ------------------------------------------------------------------ */

/* Copies the n bytes at s into out as a name; -1 if it is not one. */
static int
copy_name(char *out, const char *s, size_t n)
{
	if (n == 0 || n > KCFG_NAME_MAX)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return kcfg_name_ok(out) ? 0 : -1;
}

int
kcfg_fmri_parse(const char *s, char *svc, char *inst)
{
	const char *colon;
	bool        prefixed = false;

	svc[0] = inst[0] = '\0';
	if (s == NULL)
		return -1;
	if (strncmp(s, "svc:/", 5) == 0) {
		s += 5;
		prefixed = true;
	}
	if ((colon = strchr(s, ':')) == NULL) {
		if (copy_name(svc, s, strlen(s)) != 0)
			return -1;
		/* "web" is svc:/web:default; "svc:/web" is the service. */
		if (!prefixed)
			strcpy(inst, "default");
		return 0;
	}
	if (copy_name(svc, s, (size_t)(colon - s)) != 0 ||
	    copy_name(inst, colon + 1, strlen(colon + 1)) != 0) {
		svc[0] = inst[0] = '\0';
		return -1;
	}
	return 0;
}

void
kcfg_fmri_format(char *buf, size_t len, const char *svc, const char *inst)
{
	if (inst == NULL || inst[0] == '\0')
		snprintf(buf, len, "svc:/%s", svc);
	else
		snprintf(buf, len, "svc:/%s:%s", svc, inst);
}

/* ---- composition and layering ------------------------------------------------ */

static int
cmp_item(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return strcmp(x->string, y->string);
}

void
kcfg_json_sort(cJSON *obj)
{
	cJSON **items;
	int     n = cJSON_GetArraySize(obj), i = 0;

	if (n < 2 || (items = calloc((size_t)n, sizeof(*items))) == NULL)
		return;
	for (cJSON *it = obj->child; it != NULL; it = it->next)
		items[i++] = it;
	qsort(items, (size_t)n, sizeof(*items), cmp_item);
	for (i = 0; i < n; i++) {
		items[i]->prev = i == 0 ? items[n - 1] : items[i - 1];
		items[i]->next = i == n - 1 ? NULL : items[i + 1];
	}
	obj->child = items[0];
	free(items);
}

bool
kcfg_tombstone(const cJSON *prop)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(prop, "deleted"));
}

static bool
has_tombstone(const cJSON *pg)
{
	for (const cJSON *p = pg != NULL ? pg->child : NULL; p != NULL;
	     p = p->next)
		if (kcfg_tombstone(p))
			return true;
	return false;
}

/*
 * Lays the properties of group over onto group dst: a tombstone removes
 * dst's property of its name, the group mask KCFG_PG_MASK every property
 * of dst (before the others of over apply).
 */
static int
merge_pg(cJSON *dst, const cJSON *over)
{
	const cJSON *mask = cJSON_GetObjectItemCaseSensitive(over, KCFG_PG_MASK);

	if (mask != NULL && kcfg_tombstone(mask)) {
		cJSON_Delete(dst->child);
		dst->child = NULL;
	}
	for (const cJSON *p = over->child; p != NULL; p = p->next) {
		cJSON *dup;

		if (strcmp(p->string, KCFG_PG_MASK) == 0)
			continue;
		if (kcfg_tombstone(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(dst, p->string);
			continue;
		}
		if ((dup = cJSON_Duplicate(p, 1)) == NULL)
			return -1;
		if (cJSON_GetObjectItemCaseSensitive(dst, p->string) != NULL)
			cJSON_ReplaceItemInObjectCaseSensitive(dst, p->string, dup);
		else
			cJSON_AddItemToObject(dst, p->string, dup);
	}
	return 0;
}

/* Lays the groups of over onto out, in place; -1 when out of memory
 * (out is then half done: the caller drops it). */
static int
compose_into(cJSON *out, const cJSON *over)
{
	cJSON *g, *next;

	for (const cJSON *o = over != NULL ? over->child : NULL; o != NULL;
	     o = o->next) {
		cJSON *dst = cJSON_GetObjectItemCaseSensitive(out, o->string);

		if (dst == NULL)
			dst = cJSON_AddObjectToObject(out, o->string);
		if (dst == NULL || merge_pg(dst, o) != 0)
			return -1;
	}
	/* A group emptied by tombstones is gone from the view. */
	for (g = out->child; g != NULL; g = next) {
		next = g->next;
		if (g->child == NULL && has_tombstone(
		        cJSON_GetObjectItemCaseSensitive(over, g->string)))
			cJSON_Delete(cJSON_DetachItemViaPointer(out, g));
	}
	kcfg_json_sort(out);
	for (g = out->child; g != NULL; g = g->next)
		kcfg_json_sort(g);
	return 0;
}

cJSON *
kcfg_compose(const cJSON *base, const cJSON *over)
{
	cJSON *out = base != NULL ? cJSON_Duplicate(base, 1) : cJSON_CreateObject();

	if (out != NULL && compose_into(out, over) != 0) {
		cJSON_Delete(out);
		out = NULL;
	}
	return out;
}

/*
 * Layer by layer, bottom up, so that a tombstone of the instance's admin
 * layer also removes a property inherited from the service.  One copy of
 * the service's manifest, the other layers laid onto it in place.
 */
cJSON *
kcfg_view(const cJSON *svc_manifest, const cJSON *svc_admin,
          const cJSON *inst_manifest, const cJSON *inst_admin)
{
	const cJSON *layers[3] = { svc_admin, inst_manifest, inst_admin };
	cJSON       *view = kcfg_compose(svc_manifest, NULL);

	for (int i = 0; i < 3 && view != NULL; i++) {
		/* An empty layer changes nothing: view is already sorted. */
		if (layers[i] == NULL || layers[i]->child == NULL)
			continue;
		if (compose_into(view, layers[i]) != 0) {
			cJSON_Delete(view);
			view = NULL;
		}
	}
	return view;
}

const cJSON *
kcfg_view_prop(const cJSON *const *layers, int n, const char *pg,
               const char *prop)
{
	for (int i = n - 1; i >= 0; i--) {
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(layers[i], pg);
		const cJSON *p;

		if (g == NULL)
			continue;
		if ((p = cJSON_GetObjectItemCaseSensitive(g, prop)) != NULL)
			return kcfg_tombstone(p) ? NULL : p;
		if (kcfg_tombstone(cJSON_GetObjectItemCaseSensitive(g,
		        KCFG_PG_MASK)))
			return NULL;
	}
	return NULL;
}

void
kcfg_strip_secrets(cJSON *pgs)
{
	cJSON *g = pgs != NULL ? pgs->child : NULL;

	while (g != NULL) {
		cJSON *gnext = g->next, *p = g->child;

		if (!cJSON_IsObject(g)) { /* an export's hide (null) */
			g = gnext;
			continue;
		}

		while (p != NULL) {
			cJSON *pnext = p->next;

			if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p,
			        "secret")))
				cJSON_Delete(cJSON_DetachItemViaPointer(g, p));
			p = pnext;
		}
		if (g->child == NULL)
			cJSON_Delete(cJSON_DetachItemViaPointer(pgs, g));
		g = gnext;
	}
}

/* ---- dependency cycles --------------------------------------------------------- */

typedef struct node {
	const char *fmri;
	int        *edges;
	int         nedges;
	int         next;  /* DFS: the next edge to follow */
	int         color; /* 0 unseen, 1 on the stack, 2 done */
} node;

typedef struct graph {
	node  *nodes;
	int    n;
	node **sorted; /* by fmri, for lookups */
} graph;

static int
cmp_node(const void *a, const void *b)
{
	return strcmp((*(node *const *)a)->fmri, (*(node *const *)b)->fmri);
}

static int
graph_find(const graph *g, const char *fmri)
{
	node   key = { .fmri = fmri }, *kp = &key;
	node **hit = bsearch(&kp, g->sorted, (size_t)g->n, sizeof(node *),
	    cmp_node);

	return hit != NULL ? (int)(*hit - g->nodes) : -1;
}

/* Does dependency group dep order its services (not exclude_all)? */
static bool
dep_orders(const cJSON *dep)
{
	const cJSON *gr = cJSON_GetObjectItemCaseSensitive(dep, "grouping");
	const cJSON *v = cJSON_GetArrayItem(kipc_json_arr(gr, "values"), 0);

	return cJSON_IsString(v) && (strcmp(v->valuestring, "require_all") == 0 ||
	                                strcmp(v->valuestring, "require_any") == 0 ||
	                                strcmp(v->valuestring, "optional_all") == 0);
}

static int
add_edges(graph *g, node *u, const cJSON *pgs)
{
	for (const cJSON *dep = pgs->child; dep != NULL; dep = dep->next) {
		const cJSON *svcs, *v;

		if (strncmp(dep->string, "dep_", 4) != 0 || !dep_orders(dep))
			continue;
		svcs = kipc_json_arr(cJSON_GetObjectItemCaseSensitive(dep,
		                         "services"),
		    "values");
		cJSON_ArrayForEach(v, svcs) {
			int t = cJSON_IsString(v) ? graph_find(g, v->valuestring)
			                          : -1;
			int *e;

			if (t < 0)
				continue;
			e = realloc(u->edges, sizeof(int) * (size_t)(u->nedges + 1));
			if (e == NULL)
				return -1;
			u->edges = e;
			u->edges[u->nedges++] = t;
		}
	}
	return 0;
}

static void
graph_free(graph *g)
{
	for (int i = 0; i < g->n; i++)
		free(g->nodes[i].edges);
	free(g->nodes);
	free(g->sorted);
}

static int
graph_build(graph *g, const cJSON *views)
{
	int i = 0;

	g->n = cJSON_GetArraySize(views);
	g->nodes = calloc((size_t)g->n + 1, sizeof(node));
	g->sorted = calloc((size_t)g->n + 1, sizeof(node *));
	if (g->nodes == NULL || g->sorted == NULL)
		return -1;
	for (const cJSON *v = views->child; v != NULL; v = v->next, i++) {
		g->nodes[i].fmri = v->string;
		g->sorted[i] = &g->nodes[i];
	}
	qsort(g->sorted, (size_t)g->n, sizeof(node *), cmp_node);
	i = 0;
	for (const cJSON *v = views->child; v != NULL; v = v->next, i++)
		if (add_edges(g, &g->nodes[i], v) != 0)
			return -1;
	return 0;
}

/* "svc:/a:default" is shown as "a", "svc:/a:x" as "a:x". */
static void
short_name(char *buf, size_t len, const char *fmri)
{
	const char *s = strncmp(fmri, "svc:/", 5) == 0 ? fmri + 5 : fmri;
	const char *c = strchr(s, ':');

	if (c != NULL && strcmp(c, ":default") == 0)
		snprintf(buf, len, "%.*s", (int)(c - s), s);
	else
		snprintf(buf, len, "%s", s);
}

/* Names the cycle stack[from..top] -> stack[from] into err. */
static void
name_cycle(const graph *g, const int *stack, int from, int top, char *err,
           size_t errlen)
{
	size_t n = (size_t)snprintf(err, errlen, "dependency cycle: ");
	char   nm[KCFG_FMRI_MAX];

	for (int i = from; i <= top && n < errlen; i++) {
		short_name(nm, sizeof(nm), g->nodes[stack[i]].fmri);
		n += (size_t)snprintf(err + n, errlen - n, "%s -> ", nm);
	}
	short_name(nm, sizeof(nm), g->nodes[stack[from]].fmri);
	if (n < errlen)
		snprintf(err + n, errlen - n, "%s", nm);
}

/* Iterative DFS from root; 1 and the cycle named when one is found. */
static int
dfs(graph *g, int root, int *stack, char *err, size_t errlen)
{
	int top = 0;

	stack[0] = root;
	g->nodes[root].color = 1;
	while (top >= 0) {
		node *u = &g->nodes[stack[top]];
		int   v;

		if (u->next == u->nedges) {
			u->color = 2;
			top--;
			continue;
		}
		v = u->edges[u->next++];
		if (g->nodes[v].color == 1) {
			int from = top;

			while (stack[from] != v)
				from--;
			name_cycle(g, stack, from, top, err, errlen);
			return 1;
		}
		if (g->nodes[v].color == 0) {
			g->nodes[v].color = 1;
			stack[++top] = v;
		}
	}
	return 0;
}

int
kcfg_check_cycles(const cJSON *views, char *err, size_t errlen)
{
	graph g = { 0 };
	int  *stack = NULL, rc = 0;

	if (graph_build(&g, views) != 0 ||
	    (stack = calloc((size_t)g.n + 1, sizeof(int))) == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	for (int i = 0; rc == 0 && i < g.n; i++)
		if (g.nodes[i].color == 0 && dfs(&g, i, stack, err, errlen))
			rc = -1;
	free(stack);
	graph_free(&g);
	return rc;
}

/* ---- whole dependency groups ------------------------------------------------ */

int
kcfg_deps_check(const cJSON *pgs, const char *fmri, char *err, size_t errlen)
{
	static const char *const props[] = { "grouping", "restart_on",
		"services" };

	for (const cJSON *g = pgs != NULL ? pgs->child : NULL; g != NULL;
	     g = g->next) {
		if (strncmp(g->string, "dep_", 4) != 0)
			continue;
		for (int i = 0; i < 3; i++) {
			const cJSON *vals = cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(g, props[i]), "values");
			int          n = cJSON_IsArray(vals) ? cJSON_GetArraySize(vals)
			                                     : 0;

			if (n == 0 || (i < 2 && n > 1)) {
				snprintf(err, errlen, "dependency group '%s' of '%s' "
				    "has %s '%s'", g->string, fmri,
				    n == 0 ? "no" : "more than one", props[i]);
				return -1;
			}
		}
	}
	return 0;
}
