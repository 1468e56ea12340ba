/*
 * cmd_config.c -- the repository's editing verbs: set, delprop, delcust,
 * snapshot list|take, revert, repo backup|check.
 *
 * Each edit is one repo.commit (an all-or-nothing transaction of kconfigd)
 * against the admin layer; none refreshes, so kstartd sees nothing until
 * `kctl refresh`.  SVC is passed as written: "web" and "web:inst" name an
 * instance, "svc:/web" the service itself (its groups are inherited by
 * every instance).  Values travel as strings and kconfigd converts them by
 * the property's type, so `kctl set web app/port 8080` keeps an integer an
 * integer; a value that does not fit its type exits 10.
 */
#include "kctl.h"

#include <stdlib.h>
#include <string.h>

/*
 * Splits "PG" or "PG/PROP" into pg and prop ("" when absent).  need_prop
 * demands both.  0, or -1 (reported: exit KCTL_EXIT_USAGE in *rv).
 */
static int
pg_prop(kctl_ctx *ctx, const char *in, char *pg, char *prop, bool need_prop,
        int *rv)
{
	const char *slash = strchr(in, '/');
	size_t      n = slash != NULL ? (size_t)(slash - in) : strlen(in);

	pg[0] = prop[0] = '\0';
	if (n == 0 || n > KCTL_NAME_MAX ||
	    (slash != NULL && (slash[1] == '\0' || strchr(slash + 1, '/') != NULL ||
	                          strlen(slash + 1) > KCTL_NAME_MAX)) ||
	    (need_prop && slash == NULL)) {
		*rv = kctl_usage_error(ctx, "expected %s, not '%s'",
		    need_prop ? "PG/PROP" : "PG[/PROP]", in);
		return -1;
	}
	memcpy(pg, in, n);
	pg[n] = '\0';
	if (slash != NULL)
		strcpy(prop, slash + 1);
	return 0;
}

/* Sends one op as a repo.commit on ctx->args.ops[0]; prints the result. */
static int
commit_one(kctl_ctx *ctx, cJSON *op, const char *object)
{
	cJSON *params = cJSON_CreateObject(), *ops, *res = NULL;
	int    rv;

	cJSON_AddStringToObject(params, "fmri", ctx->args.ops[0]);
	ops = cJSON_AddArrayToObject(params, "ops");
	cJSON_AddItemToArray(ops, op);
	if ((rv = kctl_rpc(ctx, 0, KM_REPO_COMMIT, params, object, &res)) !=
	    KCTL_EXIT_OK)
		return rv;
	if (ctx->opts.json)
		kctl_print_json(ctx, res);
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}

static cJSON *
new_op(const char *kind, const char *pg, const char *prop)
{
	cJSON *op = cJSON_CreateObject();

	cJSON_AddStringToObject(op, "op", kind);
	if (pg != NULL && *pg != '\0')
		cJSON_AddStringToObject(op, "pg", pg);
	if (prop != NULL && *prop != '\0')
		cJSON_AddStringToObject(op, "prop", prop);
	return op;
}

static bool
is_type(const char *s)
{
	static const char *const types[] = { "boolean", "integer", "count",
		"string", "fmri", NULL };

	for (int i = 0; types[i] != NULL; i++)
		if (strcmp(s, types[i]) == 0)
			return true;
	return false;
}

/*
 * set SVC PG/PROP [TYPE] VALUE...: the first word after PG/PROP is a type
 * when it names one and a value follows it.
 */
int
kctl_cmd_set(kctl_ctx *ctx)
{
	char   pg[KCTL_NAME_MAX + 1], prop[KCTL_NAME_MAX + 1], object[512];
	cJSON *op, *vals;
	int    first = 2, rv;

	if (pg_prop(ctx, ctx->args.ops[1], pg, prop, true, &rv) != 0)
		return rv;
	op = new_op("set", pg, prop);
	if (ctx->args.nops > 3 && is_type(ctx->args.ops[2])) {
		cJSON_AddStringToObject(op, "type", ctx->args.ops[2]);
		first = 3;
	}
	vals = cJSON_AddArrayToObject(op, "values");
	for (int i = first; i < ctx->args.nops; i++)
		cJSON_AddItemToArray(vals, cJSON_CreateString(ctx->args.ops[i]));
	if (kctl_flag(ctx, "--secret") != NULL)
		cJSON_AddBoolToObject(op, "secret", true);
	snprintf(object, sizeof(object), "%s/%s/%s", ctx->args.ops[0], pg, prop);
	return commit_one(ctx, op, object);
}

/* delprop SVC PG[/PROP]: hides it from the layers below (admin layer). */
int
kctl_cmd_delprop(kctl_ctx *ctx)
{
	char pg[KCTL_NAME_MAX + 1], prop[KCTL_NAME_MAX + 1], object[512];
	int  rv;

	if (pg_prop(ctx, ctx->args.ops[1], pg, prop, false, &rv) != 0)
		return rv;
	snprintf(object, sizeof(object), "%s/%s", ctx->args.ops[0],
	    ctx->args.ops[1]);
	ctx->action = "delete";
	return commit_one(ctx, new_op("delprop", pg, prop), object);
}

/* delcust SVC [PG[/PROP]]: drops admin customisations. */
int
kctl_cmd_delcust(kctl_ctx *ctx)
{
	char pg[KCTL_NAME_MAX + 1] = "", prop[KCTL_NAME_MAX + 1] = "";
	int  rv;

	if (ctx->args.nops == 2 &&
	    pg_prop(ctx, ctx->args.ops[1], pg, prop, false, &rv) != 0)
		return rv;
	ctx->action = "remove the customisations of";
	return commit_one(ctx, new_op("delcust", pg, prop), ctx->args.ops[0]);
}

static int
snapshot_list(kctl_ctx *ctx, const char *svc)
{
	cJSON       *params = cJSON_CreateObject(), *res = NULL;
	const cJSON *n;
	int          rv;

	cJSON_AddStringToObject(params, "fmri", svc);
	ctx->action = "list the snapshots of";
	if ((rv = kctl_rpc(ctx, 0, KM_REPO_SNAPSHOT_LIST, params, svc, &res)) !=
	    KCTL_EXIT_OK)
		return rv;
	if (ctx->opts.json)
		kctl_print_json(ctx, res);
	else
		cJSON_ArrayForEach(n, kipc_json_arr(res, "snapshots"))
			if (cJSON_IsString(n))
				fprintf(ctx->out, "%s\n", n->valuestring);
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}

/* snapshot list SVC | snapshot take SVC NAME */
int
kctl_cmd_snapshot(kctl_ctx *ctx)
{
	const char *sub = ctx->args.ops[0];
	cJSON      *params, *res = NULL;
	int         rv;

	if (strcmp(sub, "list") == 0 && ctx->args.nops == 2)
		return snapshot_list(ctx, ctx->args.ops[1]);
	if (strcmp(sub, "take") != 0 || ctx->args.nops != 3)
		return kctl_usage_error(ctx, "expected 'snapshot list SVC' or "
		                             "'snapshot take SVC NAME'");
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "fmri", ctx->args.ops[1]);
	cJSON_AddStringToObject(params, "name", ctx->args.ops[2]);
	ctx->action = "take a snapshot of";
	if ((rv = kctl_rpc(ctx, 0, KM_REPO_SNAPSHOT_TAKE, params,
	         ctx->args.ops[1], &res)) != KCTL_EXIT_OK)
		return rv;
	if (ctx->opts.json)
		kctl_print_json(ctx, res);
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}

/* revert SVC SNAP: editing view := SNAP; `kctl refresh` makes it run. */
int
kctl_cmd_revert(kctl_ctx *ctx)
{
	cJSON *params = cJSON_CreateObject(), *res = NULL;
	int    rv;

	cJSON_AddStringToObject(params, "fmri", ctx->args.ops[0]);
	cJSON_AddStringToObject(params, "snapshot", ctx->args.ops[1]);
	if ((rv = kctl_rpc(ctx, 0, KM_REPO_REVERT, params, ctx->args.ops[0],
	         &res)) != KCTL_EXIT_OK)
		return rv;
	if (ctx->opts.json)
		kctl_print_json(ctx, res);
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}

static int
repo_check(kctl_ctx *ctx)
{
	cJSON       *res = NULL;
	const cJSON *p;
	int          rv;
	bool         clean;

	ctx->action = "check";
	rv = kctl_rpc(ctx, 0, KM_REPO_CHECK, NULL, "repository", &res);
	if (rv != KCTL_EXIT_OK)
		return rv;
	clean = kipc_json_bool(res, "clean") == 1;
	if (ctx->opts.json)
		kctl_print_json(ctx, res);
	else if (clean)
		fprintf(ctx->out, "clean: %.0f keys\n",
		    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(res,
		        "keys")));
	else
		cJSON_ArrayForEach(p, kipc_json_arr(res, "problems"))
			fprintf(ctx->out, "%s: %s\n", kipc_json_str(p, "key"),
			    kipc_json_str(p, "problem"));
	cJSON_Delete(res);
	return clean ? KCTL_EXIT_OK : KCTL_EXIT_FAILURE;
}

/* repo backup | repo check (exit 1 when it found problems). */
int
kctl_cmd_repo(kctl_ctx *ctx)
{
	const char *sub = ctx->args.ops[0];
	cJSON      *res = NULL;
	int         rv;

	if (strcmp(sub, "check") == 0)
		return repo_check(ctx);
	if (strcmp(sub, "backup") != 0)
		return kctl_usage_error(ctx, "expected 'repo backup' or 'repo "
		                             "check', not 'repo %s'", sub);
	ctx->action = "back up";
	if ((rv = kctl_rpc(ctx, 0, KM_REPO_BACKUP, NULL, "repository", &res)) !=
	    KCTL_EXIT_OK)
		return rv;
	if (ctx->opts.json)
		kctl_print_json(ctx, res);
	else
		fprintf(ctx->out, "backed up to %s (%.0f bytes)\n",
		    kipc_json_str(res, "path"),
		    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(res,
		        "bytes")));
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}
