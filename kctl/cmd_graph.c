/*
 * cmd_graph.c -- `kctl graph`: the dependency graph of what kstartd runs
 * (repo.running: every instance's running snapshot) as Graphviz DOT, or
 * with --json as nodes and edges.
 */
#include "graph.h"
#include "kctl.h"

#include <stdlib.h>
#include <string.h>

/* The first value of pgs/pg/prop as a string, or NULL. */
static const char *
first_string(const cJSON *pgs, const char *pg, const char *prop)
{
	const cJSON *v = cJSON_GetArrayItem(kipc_json_arr(kipc_json_obj(
	    kipc_json_obj(pgs, pg), prop), "values"), 0);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
by_string(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool
has_node(const cJSON *nodes, const char *fmri)
{
	const cJSON *n;

	cJSON_ArrayForEach(n, nodes)
		if (strcmp(kipc_json_str(n, "fmri"), fmri) == 0)
			return true;
	return false;
}

static void
add_node(cJSON *nodes, const char *fmri, bool enabled, bool known)
{
	cJSON *n = cJSON_CreateObject();

	cJSON_AddStringToObject(n, "fmri", fmri);
	cJSON_AddBoolToObject(n, "enabled", enabled);
	cJSON_AddBoolToObject(n, "known", known);
	cJSON_AddItemToArray(nodes, n);
}

/* The edges of one instance's dep_NAME groups. */
static void
add_edges(cJSON *edges, const char *from, const cJSON *pgs)
{
	const cJSON *pg, *svc;

	cJSON_ArrayForEach(pg, pgs) {
		const char *grouping, *restart_on;

		if (strncmp(pg->string, "dep_", 4) != 0)
			continue;
		grouping = first_string(pgs, pg->string, "grouping");
		restart_on = first_string(pgs, pg->string, "restart_on");
		cJSON_ArrayForEach(svc, kipc_json_arr(kipc_json_obj(pg,
		    "services"), "values")) {
			cJSON *e;

			if (!cJSON_IsString(svc))
				continue;
			e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "from", from);
			cJSON_AddStringToObject(e, "to", svc->valuestring);
			cJSON_AddStringToObject(e, "dependency", pg->string + 4);
			cJSON_AddStringToObject(e, "grouping",
			    grouping != NULL ? grouping : "require_all");
			cJSON_AddStringToObject(e, "restart_on",
			    restart_on != NULL ? restart_on : "none");
			cJSON_AddItemToArray(edges, e);
		}
	}
}

cJSON *
kctl_graph_build(const cJSON *running)
{
	const cJSON  *insts = kipc_json_obj(running, "instances"), *it;
	cJSON        *g, *nodes, *edges;
	const char  **keys;
	int           n = 0, i;

	if (insts == NULL)
		return NULL;
	keys = calloc((size_t)cJSON_GetArraySize(insts) + 1, sizeof(*keys));
	g = cJSON_CreateObject();
	if (keys == NULL || g == NULL) {
		free(keys);
		cJSON_Delete(g);
		return NULL;
	}
	cJSON_ArrayForEach(it, insts)
		keys[n++] = it->string;
	qsort(keys, (size_t)n, sizeof(*keys), by_string);
	nodes = cJSON_AddArrayToObject(g, "nodes");
	edges = cJSON_AddArrayToObject(g, "edges");
	for (i = 0; i < n; i++) {
		const cJSON *pgs = kipc_json_obj(
		    cJSON_GetObjectItemCaseSensitive(insts, keys[i]),
		    "property_groups");
		const cJSON *en = cJSON_GetArrayItem(kipc_json_arr(kipc_json_obj(
		    kipc_json_obj(pgs, "general"), "enabled"), "values"), 0);

		add_node(nodes, keys[i], !cJSON_IsFalse(en), true);
		add_edges(edges, keys[i], pgs);
	}
	cJSON_ArrayForEach(it, edges) {
		const char *to = kipc_json_str(it, "to");

		if (!has_node(nodes, to))
			add_node(nodes, to, false, false);
	}
	free(keys);
	return g;
}

/* A DOT string literal: quotes and backslashes escaped. */
static void
dot_id(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void
kctl_graph_dot(const cJSON *graph, FILE *f)
{
	const cJSON *it;

	fprintf(f, "digraph systemk {\n"
	    "\t// kctl graph: an edge runs from a service to what it depends on\n"
	    "\trankdir=LR;\n"
	    "\tnode [shape=box, fontname=\"sans-serif\"];\n"
	    "\tedge [fontname=\"sans-serif\", fontsize=10];\n");
	cJSON_ArrayForEach(it, kipc_json_arr(graph, "nodes")) {
		fputc('\t', f);
		dot_id(f, kipc_json_str(it, "fmri"));
		if (kipc_json_bool(it, "known") == 0)
			fprintf(f, " [style=dotted]");
		else if (kipc_json_bool(it, "enabled") == 0)
			fprintf(f, " [color=gray, fontcolor=gray]");
		fprintf(f, ";\n");
	}
	cJSON_ArrayForEach(it, kipc_json_arr(graph, "edges")) {
		const char *grouping = kipc_json_str(it, "grouping");

		fputc('\t', f);
		dot_id(f, kipc_json_str(it, "from"));
		fprintf(f, " -> ");
		dot_id(f, kipc_json_str(it, "to"));
		fprintf(f, " [label=");
		dot_id(f, grouping);
		if (strcmp(grouping, "optional_all") == 0)
			fprintf(f, ", style=dashed");
		else if (strcmp(grouping, "require_any") == 0)
			fprintf(f, ", style=bold");
		else if (strcmp(grouping, "exclude_all") == 0)
			fprintf(f, ", color=red, arrowhead=tee");
		fprintf(f, "];\n");
	}
	fprintf(f, "}\n");
}

int
kctl_cmd_graph(kctl_ctx *ctx)
{
	cJSON *res = NULL, *g;
	int    rv;

	ctx->action = "read";
	if ((rv = kctl_rpc(ctx, 0, KM_REPO_RUNNING, cJSON_CreateObject(),
	         "running snapshots", &res)) != KCTL_EXIT_OK)
		return rv;
	g = kctl_graph_build(res);
	cJSON_Delete(res);
	if (g == NULL)
		return kctl_fail(ctx, KE_INTERNAL, "running snapshots",
		    "kconfigd's reply has no \"instances\" object");
	if (ctx->opts.json)
		kctl_print_json(ctx, g);
	else
		kctl_graph_dot(g, ctx->out);
	cJSON_Delete(g);
	return KCTL_EXIT_OK;
}
