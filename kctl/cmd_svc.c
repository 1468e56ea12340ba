/*
 * cmd_svc.c -- verbs served by kstartd: list, status, enable, disable.
 *
 * kstartd's status objects (DESIGN section 7: fmri, service, instance, state,
 * next_state, since, pid, description, ...) pass through to --json untouched;
 * the human forms are built from the same objects.
 */
#include "kctl.h"

#include <stdlib.h>
#include <string.h>

/* Settled in "disabled": what `list` hides without -a, like svcs. */
static bool
settled_disabled(const cJSON *st)
{
	const char *s = kipc_json_str(st, "state");
	const char *n = kipc_json_str(st, "next_state");

	return s != NULL && strcmp(s, "disabled") == 0 &&
	    (n == NULL || *n == '\0' || strcmp(n, "none") == 0);
}

static int
by_fmri(const void *a, const void *b)
{
	const char *x = kipc_json_str(*(const cJSON *const *)a, "fmri");
	const char *y = kipc_json_str(*(const cJSON *const *)b, "fmri");

	return strcmp(x != NULL ? x : "", y != NULL ? y : "");
}

static int
print_list(kctl_ctx *ctx, const cJSON *insts)
{
	int          n = cJSON_GetArraySize(insts), i = 0;
	const cJSON **v = calloc((size_t)n + 1, sizeof(*v));
	kctl_table  *t = kctl_table_new(6, kctl_list_headers);
	const cJSON *it;
	time_t       now = time(NULL);

	if (v == NULL || t == NULL) {
		free(v);
		kctl_table_free(t);
		return kctl_fail(ctx, KE_INTERNAL, "instances", "out of memory");
	}
	cJSON_ArrayForEach(it, insts)
		v[i++] = it;
	qsort(v, (size_t)n, sizeof(*v), by_fmri);
	for (i = 0; i < n; i++)
		kctl_list_row(t, v[i], now);
	kctl_table_print(t, ctx->out);
	kctl_table_free(t);
	free(v);
	return KCTL_EXIT_OK;
}

int
kctl_cmd_list(kctl_ctx *ctx)
{
	bool   all = kctl_flag(ctx, "-a") != NULL;
	cJSON *params = cJSON_CreateObject(), *res = NULL, *insts, *it, *next;
	int    rv;

	cJSON_AddBoolToObject(params, "all", all);
	if ((rv = kctl_rpc(ctx, 0, KM_SVC_LIST, params, "instances", &res)) !=
	    KCTL_EXIT_OK)
		return rv;
	insts = cJSON_GetObjectItemCaseSensitive(res, "instances");
	if (!cJSON_IsArray(insts)) {
		cJSON_Delete(res);
		return kctl_fail(ctx, KE_INTERNAL, "instances",
		    "kstartd's reply has no \"instances\" array");
	}
	/* kstartd filters too; this keeps -a meaningful whatever it does. */
	for (it = insts->child; it != NULL && !all; it = next) {
		next = it->next;
		if (settled_disabled(it))
			cJSON_Delete(cJSON_DetachItemViaPointer(insts, it));
	}
	rv = ctx->opts.json ? (kctl_print_json(ctx, insts), KCTL_EXIT_OK) :
	    print_list(ctx, insts);
	cJSON_Delete(res);
	return rv;
}

/* Normalises operand i into fmri, reporting a malformed one. */
static int
operand_fmri(kctl_ctx *ctx, int i, char *fmri, size_t len)
{
	char why[256];

	if (kctl_fmri_norm(ctx->args.ops[i], fmri, len, why, sizeof(why)) != 0)
		return kctl_fail(ctx, KE_INVALID, ctx->args.ops[i], "%s", why);
	return KCTL_EXIT_OK;
}

/* A status value: strings as they are (the value is the last column). */
static char *
status_text(const cJSON *v)
{
	return cJSON_IsString(v) ? strdup(v->valuestring) : kctl_value_text(v);
}

/* svcs -l style: the known fields first, then whatever else kstartd sent. */
static void
print_status(kctl_ctx *ctx, const cJSON *st)
{
	static const char *const first[] = { "fmri", "description", "state",
		"next_state", "since", "pid" };
	kctl_table              *t = kctl_table_new(2, NULL);
	const cJSON             *it;

	if (t == NULL)
		return;
	for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++) {
		char       *val;
		const char *cells[2] = { first[i], NULL };

		it = cJSON_GetObjectItemCaseSensitive(st, first[i]);
		if (it == NULL)
			continue;
		cells[1] = val = status_text(it);
		kctl_table_add(t, cells);
		free(val);
	}
	cJSON_ArrayForEach(it, st) {
		char       *val;
		const char *cells[2] = { it->string, NULL };
		bool        seen = false;

		for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++)
			seen = seen || strcmp(it->string, first[i]) == 0;
		if (seen || strcmp(it->string, "service") == 0 ||
		    strcmp(it->string, "instance") == 0)
			continue;
		cells[1] = val = status_text(it);
		kctl_table_add(t, cells);
		free(val);
	}
	kctl_table_print(t, ctx->out);
	kctl_table_free(t);
}

int
kctl_cmd_status(kctl_ctx *ctx)
{
	char   fmri[KCTL_FMRI_MAX];
	cJSON *params, *res = NULL;
	int    rv;

	if ((rv = operand_fmri(ctx, 0, fmri, sizeof(fmri))) != KCTL_EXIT_OK)
		return rv;
	ctx->action = "query";
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "fmri", fmri);
	if ((rv = kctl_rpc(ctx, 0, KM_SVC_STATUS, params, fmri, &res)) !=
	    KCTL_EXIT_OK)
		return rv;
	if (ctx->opts.json)
		kctl_print_json(ctx, res);
	else
		print_status(ctx, res);
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}

/*
 * enable/disable: every operand is tried (like svcadm); the exit code is the
 * first failure's.  --json prints {"enabled"|"disabled": [FMRI...],
 * "temporary": bool} when all succeeded.
 */
static int
set_enabled(kctl_ctx *ctx, kproto_method_id m, const char *key)
{
	bool   temp = kctl_flag(ctx, "-t") != NULL;
	bool   rec = m == KM_SVC_ENABLE && kctl_flag(ctx, "-r") != NULL;
	bool   sync = kctl_flag(ctx, "-s") != NULL;
	cJSON *done = cJSON_CreateArray();
	int    first = KCTL_EXIT_OK;

	for (int i = 0; i < ctx->args.nops; i++) {
		char   fmri[KCTL_FMRI_MAX];
		cJSON *params, *res = NULL;
		int    rv;

		if ((rv = operand_fmri(ctx, i, fmri, sizeof(fmri))) == KCTL_EXIT_OK) {
			params = cJSON_CreateObject();
			cJSON_AddStringToObject(params, "fmri", fmri);
			if (temp)
				cJSON_AddBoolToObject(params, "temporary", true);
			if (rec)
				cJSON_AddBoolToObject(params, "recursive", true);
			rv = kctl_rpc(ctx, 0, m, params, fmri, &res);
		}
		if (rv == KCTL_EXIT_OK && rec) {
			/* -r: the dependencies it enabled too, then itself. */
			const cJSON *e;

			cJSON_ArrayForEach(e, kipc_json_arr(res, key))
				if (cJSON_IsString(e) &&
				    strcmp(e->valuestring, fmri) != 0)
					cJSON_AddItemToArray(done,
					    cJSON_CreateString(e->valuestring));
		}
		cJSON_Delete(res);
		if (rv == KCTL_EXIT_OK)
			cJSON_AddItemToArray(done, cJSON_CreateString(fmri));
		else if (first == KCTL_EXIT_OK)
			first = rv;
	}
	/* -s: the end state, decided by kstartd (exit 8, 9 when unreachable). */
	if (first == KCTL_EXIT_OK && sync)
		first = kctl_wait_operands(ctx,
		    m == KM_SVC_ENABLE ? "online" : "disabled");
	if (first == KCTL_EXIT_OK && ctx->opts.json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddItemToObject(o, key, done);
		cJSON_AddBoolToObject(o, "temporary", temp);
		kctl_print_json(ctx, o);
		cJSON_Delete(o);
	} else
		cJSON_Delete(done);
	return first;
}

int
kctl_cmd_enable(kctl_ctx *ctx)
{
	return set_enabled(ctx, KM_SVC_ENABLE, "enabled");
}

int
kctl_cmd_disable(kctl_ctx *ctx)
{
	return set_enabled(ctx, KM_SVC_DISABLE, "disabled");
}
