/*
 * cmd_svc.c -- verbs served by kstartd: list, status, enable, disable.
 *
 * kstartd's status objects (DESIGN section 7: fmri, service, instance, state,
 * next_state, since, pid, description, ...) pass through to --json untouched;
 * the human forms are built from the same objects.
 */
#include "kctl.h"

#include <errno.h>
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
	const char *x = kipc_json_str(*(cJSON *const *)a, "fmri");
	const char *y = kipc_json_str(*(cJSON *const *)b, "fmri");

	return strcmp(x != NULL ? x : "", y != NULL ? y : "");
}

/*
 * Sorts an array of status objects by fmri in place, so that the table and
 * --json list instances in the same, stable order.  0 or -1 (no memory).
 */
static int
sort_by_fmri(cJSON *insts)
{
	int     n = cJSON_GetArraySize(insts), i = 0;
	cJSON **v = calloc((size_t)n + 1, sizeof(*v));
	cJSON  *it;

	if (v == NULL)
		return -1;
	while ((it = insts->child) != NULL)
		v[i++] = cJSON_DetachItemViaPointer(insts, it);
	qsort(v, (size_t)n, sizeof(*v), by_fmri);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(insts, v[i]);
	free(v);
	return 0;
}

static int
print_list(kctl_ctx *ctx, const cJSON *insts)
{
	kctl_table  *t = kctl_table_new(6, kctl_list_headers);
	const cJSON *it;
	time_t       now = time(NULL);

	if (t == NULL)
		return kctl_fail(ctx, KE_INTERNAL, "instances", "out of memory");
	cJSON_ArrayForEach(it, insts)
		kctl_list_row(t, it, now);
	kctl_table_print(t, ctx->out);
	kctl_table_free(t);
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
	if (sort_by_fmri(insts) != 0)
		rv = kctl_fail(ctx, KE_INTERNAL, "instances", "out of memory");
	else if (ctx->opts.json)
		kctl_print_json(ctx, insts);
	else
		rv = print_list(ctx, insts);
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

static const char *
str_q(const cJSON *o, const char *key)
{
	const char *s = kipc_json_str(o, key);

	return s != NULL ? s : "?";
}

static void
add_row(kctl_table *t, const char *key, const char *val)
{
	const char *cells[2] = { key, val };

	kctl_table_add(t, cells);
}

/* "exit 0 at TIME" or "signal 9 at TIME" for last_exit. */
static void
add_last_exit(kctl_table *t, const cJSON *e)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "status");
	const cJSON *sig = cJSON_GetObjectItemCaseSensitive(e, "signal");
	const char  *when = kipc_json_str(e, "time");
	char         buf[160];

	if (cJSON_IsNumber(st))
		snprintf(buf, sizeof(buf), "exit %.0f at %s", st->valuedouble,
		    when != NULL ? when : "?");
	else if (cJSON_IsNumber(sig))
		snprintf(buf, sizeof(buf), "signal %.0f at %s", sig->valuedouble,
		    when != NULL ? when : "?");
	else {
		char *v = kctl_value_text(e);

		add_row(t, "last_exit", v);
		free(v);
		return;
	}
	add_row(t, "last_exit", buf);
}

/* One "dependency" row per group, like svcs -l: GROUPING/RESTART_ON FMRI... */
static void
add_dependencies(kctl_table *t, const cJSON *deps)
{
	const cJSON *d, *f;

	cJSON_ArrayForEach(d, deps) {
		char   buf[1024];
		size_t n;

		n = (size_t)snprintf(buf, sizeof(buf), "%s/%s",
		    str_q(d, "grouping"),
		    str_q(d, "restart_on"));
		cJSON_ArrayForEach(f, kipc_json_arr(d, "services"))
			if (cJSON_IsString(f) && n < sizeof(buf))
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s",
				    f->valuestring);
		if (n < sizeof(buf))
			snprintf(buf + n, sizeof(buf) - n, " (%s)",
			    str_q(d, "satisfied"));
		add_row(t, "dependency", buf);
	}
}

/* svcs -l style: the known fields first, then whatever else kstartd sent. */
static void
print_status(kctl_ctx *ctx, const cJSON *st)
{
	static const char *const first[] = { "fmri", "description", "state",
		"next_state", "since", "pid" };
	static const char *const skip[] = { "service", "instance", "log_tail",
		"last_exit", "dependencies" };
	kctl_table              *t = kctl_table_new(2, NULL);
	const cJSON             *it;

	if (t == NULL)
		return;
	for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++) {
		char *val;

		it = cJSON_GetObjectItemCaseSensitive(st, first[i]);
		if (it == NULL)
			continue;
		val = status_text(it);
		add_row(t, first[i], val);
		free(val);
	}
	cJSON_ArrayForEach(it, st) {
		char *val;
		bool  seen = false;

		for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++)
			seen = seen || strcmp(it->string, first[i]) == 0;
		for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
			seen = seen || strcmp(it->string, skip[i]) == 0;
		if (seen)
			continue;
		val = status_text(it);
		add_row(t, it->string, val);
		free(val);
	}
	it = cJSON_GetObjectItemCaseSensitive(st, "last_exit");
	if (it != NULL)
		add_last_exit(t, it);
	add_dependencies(t, kipc_json_arr(st, "dependencies"));
	kctl_table_print(t, ctx->out);
	kctl_table_free(t);
}

/*
 * The last lines of the instance's log, as "log_tail" in st (an array, or
 * null when the log cannot be read: a console log, none yet, or not ours to
 * read); the human form prints them under the table.
 */
static void
add_log_tail(kctl_ctx *ctx, cJSON *st, long n)
{
	const char *path = kipc_json_str(st, "log");
	cJSON      *lines = cJSON_CreateArray();
	int         rv = KE_NOT_FOUND;

	if (path != NULL && *path == '/')
		rv = kctl_log_tail(path, n, lines);
	if (rv != KE_OK) {
		cJSON_Delete(lines);
		cJSON_AddNullToObject(st, "log_tail");
		if (rv == KE_DENIED && !ctx->opts.json)
			kctl_warn(ctx, "unable to read '%s': permission denied",
			    path);
		return;
	}
	cJSON_AddItemToObject(st, "log_tail", lines);
}

static void
print_log_tail(kctl_ctx *ctx, const cJSON *st)
{
	const cJSON *lines = kipc_json_arr(st, "log_tail"), *l;

	if (cJSON_GetArraySize(lines) == 0)
		return;
	fprintf(ctx->out, "\n%s:\n", kipc_json_str(st, "log"));
	cJSON_ArrayForEach(l, lines) {
		/* A service wrote these: no terminal control from them. */
		for (const char *c = cJSON_IsString(l) ? l->valuestring : "";
		     *c != '\0'; c++)
			fputc((unsigned char)*c < ' ' && *c != '\t' ? '?' : *c,
			    ctx->out);
		fputc('\n', ctx->out);
	}
}

int
kctl_cmd_status(kctl_ctx *ctx)
{
	const char *nflag = kctl_flag(ctx, "-n");
	char        fmri[KCTL_FMRI_MAX], *end;
	cJSON      *params, *res = NULL;
	long        n = 10;
	int         rv;

	if (nflag != NULL) {
		errno = 0;
		n = strtol(nflag, &end, 10);
		if (errno || *end || end == nflag || n < 0)
			return kctl_usage_error(ctx, "-n: not a line count: '%s'",
			    nflag);
	}
	if ((rv = operand_fmri(ctx, 0, fmri, sizeof(fmri))) != KCTL_EXIT_OK)
		return rv;
	ctx->action = "query";
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "fmri", fmri);
	if ((rv = kctl_rpc(ctx, 0, KM_SVC_STATUS, params, fmri, &res)) !=
	    KCTL_EXIT_OK)
		return rv;
	add_log_tail(ctx, res, n);
	if (ctx->opts.json)
		kctl_print_json(ctx, res);
	else {
		print_status(ctx, res);
		print_log_tail(ctx, res);
	}
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}

/*
 * enable/disable: every operand is tried (like svcadm); the exit code is the
 * first failure's.  --json prints {"enabled"|"disabled": [FMRI...],
 * "temporary": bool} when all succeeded, with -s also "waited": [svc.wait
 * reply...] (then also when one did not reach the state: exit 7, 8, 9).
 */
static int
set_enabled(kctl_ctx *ctx, kproto_method_id m, const char *key)
{
	bool   temp = kctl_flag(ctx, "-t") != NULL;
	bool   rec = m == KM_SVC_ENABLE && kctl_flag(ctx, "-r") != NULL;
	bool   sync = kctl_flag(ctx, "-s") != NULL;
	cJSON *done = cJSON_CreateArray(), *waited = cJSON_CreateArray();
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
	/* -s: the end state, decided by kstartd (exit 8, 9 when unreachable);
	 * --json then shows each operand's last svc.wait reply, also when it
	 * did not get there. */
	if (first == KCTL_EXIT_OK && sync)
		first = kctl_wait_operands(ctx,
		    m == KM_SVC_ENABLE ? "online" : "disabled", waited);
	if (ctx->opts.json && (first == KCTL_EXIT_OK ||
	    cJSON_GetArraySize(waited) > 0)) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddItemToObject(o, key, done);
		cJSON_AddBoolToObject(o, "temporary", temp);
		if (sync)
			cJSON_AddItemToObject(o, "waited", waited);
		else
			cJSON_Delete(waited);
		kctl_print_json(ctx, o);
		cJSON_Delete(o);
	} else {
		cJSON_Delete(done);
		cJSON_Delete(waited);
	}
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
