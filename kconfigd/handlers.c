/*
 * handlers.c -- one handler per kconfigd method, and the table that maps
 * proto/'s method ids onto them (checked against proto/ at start-up).
 *
 * Reply shapes (the result member of an ok reply):
 *   sys.hello         {"name": "k.configd", "level": N}
 *   repo.import       {"services": [NAME...], "instances": [FMRI...],
 *                      "refreshed": [FMRI...]}
 *   repo.validate     {"services": [NAME...]}
 *   repo.get          {"fmri": F, "generation": G, "property_groups": {...}}
 *   repo.list         {"instances": [{"fmri", "service", "instance"}...]}
 *   repo.running      {"instances": {FMRI: {"property_groups": {...}}}}
 *   repo.export       {"services": [MANIFEST...], "secrets_omitted": N}
 *   repo.set_enabled  {}
 *   repo.refresh      {"refreshed": [FMRI...]}
 *   state.put         {}
 *   state.get         {"state": {...}}
 *   state.list        {"states": {FMRI: {...}}}
 *   repo.commit       {"fmri", "generation", "generations": {PG: G}}
 *   repo.snapshot_take {"fmri", "snapshot"}
 *   repo.snapshot_list {"fmri", "snapshots": [NAME...]}
 *   repo.revert       {"fmri", "generation"}
 *   repo.backup       {"path", "bytes"}
 *   repo.check        {"clean", "keys", "problems": [{"key", "problem"}...]}
 * Secret properties reach privileged peers only; export carries them only
 * with include_secrets, which an unprivileged peer is denied.  Error
 * messages name properties, never their values.
 */
#include "handlers.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kipc.h"
#include "manifest.h"

#define MAX_MANIFESTS 4096
#define MAX_STATE     (64 * 1024) /* bytes of one restarter state object */

typedef struct kcall {
	krepo       *repo;
	const cJSON *params;
	bool         privileged;
	cJSON       *result;
	char        *why;
	size_t       whylen;
} kcall;

typedef int (*handler)(kcall *c);

static int
fail(kcall *c, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(kcall *c, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, c->whylen, fmt, ap);
	va_end(ap);
	return e;
}

static int
reply(kcall *c, cJSON *result)
{
	if (result == NULL)
		return fail(c, KE_INTERNAL, "out of memory");
	c->result = result;
	return KE_OK;
}

/* Wraps value (taken) as {key: value}. */
static int
reply_with(kcall *c, const char *key, cJSON *value)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || value == NULL) {
		cJSON_Delete(o);
		cJSON_Delete(value);
		return fail(c, KE_INTERNAL, "out of memory");
	}
	cJSON_AddItemToObject(o, key, value);
	return reply(c, o);
}

/*
 * The fmri param as service and instance.  need_inst refuses "svc:/web"
 * (a service, not an instance).
 */
static int
fmri_param(kcall *c, char *svc, char *inst, bool need_inst)
{
	const char *f = kipc_json_str(c->params, "fmri");

	if (kcfg_fmri_parse(f, svc, inst) != 0)
		return fail(c, KE_INVALID, "fmri: expected NAME, NAME:INSTANCE "
		                           "or svc:/NAME:INSTANCE");
	if (need_inst && inst[0] == '\0')
		return fail(c, KE_INVALID, "fmri: '%s' names a service; name "
		                           "an instance", f);
	return KE_OK;
}

/* ---- sys ----------------------------------------------------------------------- */

static int
h_hello(kcall *c)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", "k.configd");
	cJSON_AddNumberToObject(o, "level", KPROTO_LEVEL);
	return reply(c, o);
}

/* ---- repo.import, repo.validate ------------------------------------------------- */

static void
free_services(kcfg_service *svcs, int n)
{
	for (int i = 0; i < n; i++)
		kcfg_service_free(&svcs[i]);
	free(svcs);
}

/* Validates and converts every manifest of the params; all or nothing. */
static int
convert_all(kcall *c, kcfg_service **out, int *n)
{
	const cJSON *ms = kipc_json_arr(c->params, "manifests");
	const cJSON *files = kipc_json_arr(c->params, "files");
	int          count = cJSON_GetArraySize(ms), i = 0;

	*out = NULL;
	*n = 0;
	if (count > MAX_MANIFESTS)
		return fail(c, KE_TOO_LARGE, "manifests: more than %d",
		    MAX_MANIFESTS);
	if (files != NULL && cJSON_GetArraySize(files) != count)
		return fail(c, KE_INVALID, "files: expected one name per "
		                           "manifest");
	if ((*out = calloc((size_t)count + 1, sizeof(**out))) == NULL)
		return fail(c, KE_INTERNAL, "out of memory");
	for (const cJSON *m = ms->child; m != NULL; m = m->next, i++) {
		const cJSON *f = cJSON_GetArrayItem(files, i);
		char         dflt[32];

		snprintf(dflt, sizeof(dflt), "manifests[%d]", i);
		*n = i + 1;
		if (kcfg_manifest_convert(m, cJSON_IsString(f) ? f->valuestring
		                                               : dflt,
		        &(*out)[i], c->why, c->whylen) != 0)
			return KE_INVALID;
	}
	return KE_OK;
}

static int
import_or_validate(kcall *c, bool dry_run)
{
	kcfg_service *svcs;
	cJSON        *res = NULL;
	int           n, ke = convert_all(c, &svcs, &n);

	if (ke == KE_OK)
		ke = krepo_import(c->repo, svcs, n, dry_run, &res, c->why,
		    c->whylen);
	free_services(svcs, n);
	if (ke != KE_OK)
		return ke;
	if (dry_run) {
		cJSON *names = cJSON_DetachItemFromObject(res, "services");

		cJSON_Delete(res);
		return reply_with(c, "services", names);
	}
	return reply(c, res);
}

static int
h_import(kcall *c)
{
	return import_or_validate(c, false);
}

static int
h_validate(kcall *c)
{
	return import_or_validate(c, true);
}

/* ---- repo.get ----------------------------------------------------------------------- */

/*
 * Narrows pgs to the group and property the params name.  Secrets: a
 * named secret property is refused to an unprivileged peer; otherwise they
 * are silently left out.
 */
static int
get_filter(kcall *c, cJSON *pgs, const char *fmri)
{
	const char *pg = kipc_json_str(c->params, "pg");
	const char *prop = kipc_json_str(c->params, "prop");
	cJSON      *g, *p;

	if (prop != NULL && pg == NULL)
		return fail(c, KE_INVALID, "prop: needs pg");
	if (pg != NULL) {
		if ((g = cJSON_DetachItemFromObjectCaseSensitive(pgs, pg)) == NULL)
			return fail(c, KE_NOT_FOUND, "no property group '%s' in "
			    "'%s'", pg, fmri);
		cJSON_Delete(pgs->child);
		pgs->child = NULL;
		cJSON_AddItemToObject(pgs, pg, g);
		if (prop != NULL) {
			if ((p = cJSON_DetachItemFromObjectCaseSensitive(g, prop)) ==
			    NULL)
				return fail(c, KE_NOT_FOUND, "no property '%s/%s' in "
				    "'%s'", pg, prop, fmri);
			cJSON_Delete(g->child);
			g->child = NULL;
			cJSON_AddItemToObject(g, prop, p);
			if (!c->privileged &&
			    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p,
			        "secret")))
				return fail(c, KE_DENIED, "'%s/%s' is secret", pg,
				    prop);
		}
	}
	if (!c->privileged)
		kcfg_strip_secrets(pgs);
	return KE_OK;
}

static int
h_get(kcall *c)
{
	char      svc[KCFG_NAME_MAX + 1], inst[KCFG_NAME_MAX + 1];
	char      fmri[KCFG_FMRI_MAX];
	bool        running = kipc_json_bool(c->params, "running") == 1;
	const char *snap = kipc_json_str(c->params, "snapshot");
	cJSON      *pgs = NULL, *gens = NULL, *o;
	long long   gen = 0;
	int         ke;

	if ((ke = fmri_param(c, svc, inst, false)) != KE_OK)
		return ke;
	if (running && snap != NULL)
		return fail(c, KE_INVALID, "running: not with snapshot");
	if (running)
		snap = "running";
	if (snap != NULL && !kcfg_name_ok(snap))
		return fail(c, KE_INVALID, "snapshot: expected a snapshot name");
	if (snap != NULL && inst[0] == '\0')
		return fail(c, KE_INVALID, "%s: snapshots belong to "
		    "instances; name one", running ? "running" : "snapshot");
	kcfg_fmri_format(fmri, sizeof(fmri), svc, inst);
	ke = krepo_get_gens(c->repo, svc, inst, snap, &pgs, &gen, &gens, c->why,
	    c->whylen);
	if (ke == KE_OK)
		ke = get_filter(c, pgs, fmri);
	if (ke != KE_OK) {
		cJSON_Delete(pgs);
		cJSON_Delete(gens);
		return ke;
	}
	/* Narrowed to the group asked for, like the groups themselves. */
	if (kipc_json_str(c->params, "pg") != NULL) {
		cJSON *g = cJSON_DetachItemFromObjectCaseSensitive(gens,
		    kipc_json_str(c->params, "pg"));

		cJSON_Delete(gens->child);
		gens->child = NULL;
		if (g != NULL)
			cJSON_AddItemToObject(gens, g->string, g);
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "fmri", fmri);
	cJSON_AddNumberToObject(o, "generation", (double)gen);
	cJSON_AddItemToObject(o, "generations", gens);
	cJSON_AddItemToObject(o, "property_groups", pgs);
	return reply(c, o);
}

/* ---- repo.list, repo.running, repo.export ------------------------------------------- */

static int
h_list(kcall *c)
{
	cJSON *insts;
	int    ke = krepo_list(c->repo, &insts, c->why, c->whylen);

	return ke != KE_OK ? ke : reply_with(c, "instances", insts);
}

static int
h_running(kcall *c)
{
	cJSON *insts;
	int    ke = krepo_running(c->repo, c->privileged, &insts, c->why,
	    c->whylen);

	if (ke != KE_OK)
		return ke;
	if (!c->privileged)
		for (cJSON *i = insts->child; i != NULL; i = i->next)
			kcfg_strip_secrets(cJSON_GetObjectItemCaseSensitive(i,
			    "property_groups"));
	return reply_with(c, "instances", insts);
}

/* Counts the secret properties of pgs, then removes them. */
static int
strip_counted(cJSON *pgs)
{
	int n = 0;

	for (cJSON *g = pgs != NULL ? pgs->child : NULL; g != NULL; g = g->next)
		for (cJSON *p = g->child; p != NULL; p = p->next)
			n += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p,
			    "secret"));
	kcfg_strip_secrets(pgs);
	return n;
}

static int
h_export(kcall *c)
{
	const char *name = kipc_json_str(c->params, "service");
	char        svc[KCFG_NAME_MAX + 1], inst[KCFG_NAME_MAX + 1];
	bool        with_secrets = kipc_json_bool(c->params, "include_secrets") == 1;
	cJSON      *svcs, *o;
	int         ke, omitted = 0;

	if (with_secrets && !c->privileged)
		return fail(c, KE_DENIED, "include_secrets: needs root or the "
		                          "admin group");
	if (name != NULL && kcfg_fmri_parse(name, svc, inst) != 0)
		return fail(c, KE_INVALID, "service: expected a service name");
	ke = krepo_export(c->repo, name != NULL ? svc : NULL, &svcs, c->why,
	    c->whylen);
	if (ke != KE_OK)
		return ke;
	for (cJSON *m = with_secrets ? NULL : svcs->child; m != NULL;
	     m = m->next) {
		cJSON *is = cJSON_GetObjectItemCaseSensitive(m, "instances");

		omitted += strip_counted(
		    cJSON_GetObjectItemCaseSensitive(m, "property_groups"));
		for (cJSON *i = is != NULL ? is->child : NULL; i != NULL;
		     i = i->next)
			omitted += strip_counted(
			    cJSON_GetObjectItemCaseSensitive(i, "property_groups"));
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "services", svcs);
	cJSON_AddNumberToObject(o, "secrets_omitted", omitted);
	return reply(c, o);
}

/* ---- repo.set_enabled, repo.refresh -------------------------------------------------- */

static int
h_set_enabled(kcall *c)
{
	char svc[KCFG_NAME_MAX + 1], inst[KCFG_NAME_MAX + 1];
	int  ke = fmri_param(c, svc, inst, true);

	if (ke == KE_OK)
		ke = krepo_set_enabled(c->repo, svc, inst,
		    kipc_json_bool(c->params, "enabled") == 1, c->why, c->whylen);
	return ke != KE_OK ? ke : reply(c, cJSON_CreateObject());
}

/* "svc:/web" refreshes every instance of web. */
static int
h_refresh(kcall *c)
{
	char   svc[KCFG_NAME_MAX + 1], inst[KCFG_NAME_MAX + 1];
	cJSON *done = NULL;
	int    ke = fmri_param(c, svc, inst, false);

	if (ke == KE_OK)
		ke = krepo_refresh(c->repo, svc, inst, &done, c->why, c->whylen);
	return ke != KE_OK ? ke : reply_with(c, "refreshed", done);
}

/* ---- repo.commit, snapshots, revert, backup, check ---------------------------------- */

#define MAX_OPS 1024

/* Checks the shape of one op (values are the repository's to judge). */
static int
op_check(kcall *c, const cJSON *op, int i)
{
	const char  *kind = kipc_json_str(op, "op");
	const char  *pg = kipc_json_str(op, "pg"), *prop = kipc_json_str(op, "prop");
	const char  *type = kipc_json_str(op, "type");
	const cJSON *values = cJSON_GetObjectItemCaseSensitive(op, "values");
	const cJSON *secret = cJSON_GetObjectItemCaseSensitive(op, "secret");
	bool         set, delcust;

	if (!cJSON_IsObject(op) || kind == NULL)
		return fail(c, KE_INVALID, "ops/%d: expected {\"op\": "
		    "\"set\"|\"delprop\"|\"delcust\", ...}", i);
	set = strcmp(kind, "set") == 0;
	delcust = strcmp(kind, "delcust") == 0;
	if (!set && !delcust && strcmp(kind, "delprop") != 0)
		return fail(c, KE_INVALID, "ops/%d/op: expected set, delprop or "
		    "delcust", i);
	for (const cJSON *k = op->child; k != NULL; k = k->next)
		if (strcmp(k->string, "op") != 0 && strcmp(k->string, "pg") != 0 &&
		    strcmp(k->string, "prop") != 0 &&
		    !(set && (strcmp(k->string, "type") == 0 ||
		                 strcmp(k->string, "values") == 0 ||
		                 strcmp(k->string, "secret") == 0)))
			return fail(c, KE_INVALID, "ops/%d: unknown member '%.64s' "
			    "for %s", i, k->string, kind);
	if (cJSON_GetObjectItemCaseSensitive(op, "pg") != NULL &&
	    (pg == NULL || !kcfg_name_ok(pg)))
		return fail(c, KE_INVALID, "ops/%d/pg: expected a group name", i);
	if (cJSON_GetObjectItemCaseSensitive(op, "prop") != NULL &&
	    (prop == NULL || !kcfg_name_ok(prop)))
		return fail(c, KE_INVALID, "ops/%d/prop: expected a property "
		    "name", i);
	if (pg == NULL && (!delcust || prop != NULL))
		return fail(c, KE_INVALID, "ops/%d/pg: missing", i);
	if (set && (prop == NULL || !cJSON_IsArray(values)))
		return fail(c, KE_INVALID, "ops/%d: set needs prop and values", i);
	if (set && cJSON_GetArraySize(values) > KCFG_VALUES_MAX)
		return fail(c, KE_TOO_LARGE, "ops/%d/values: more than %d", i,
		    KCFG_VALUES_MAX);
	if (cJSON_GetObjectItemCaseSensitive(op, "type") != NULL &&
	    (type == NULL || kcfg_type_by_name(type) < 0))
		return fail(c, KE_INVALID, "ops/%d/type: expected boolean, "
		    "integer, count, string or fmri", i);
	if (secret != NULL && !cJSON_IsBool(secret))
		return fail(c, KE_INVALID, "ops/%d/secret: expected true or "
		    "false", i);
	return KE_OK;
}

static int
h_commit(kcall *c)
{
	char         svc[KCFG_NAME_MAX + 1], inst[KCFG_NAME_MAX + 1];
	char         fmri[KCFG_FMRI_MAX];
	const cJSON *ops = kipc_json_arr(c->params, "ops");
	const cJSON *gens = kipc_json_obj(c->params, "generations");
	cJSON       *new_gens = NULL, *o;
	long long    gen = 0;
	int          ke = fmri_param(c, svc, inst, false), i = 0;

	if (ke != KE_OK)
		return ke;
	if (cJSON_GetArraySize(ops) > MAX_OPS)
		return fail(c, KE_TOO_LARGE, "ops: more than %d", MAX_OPS);
	for (const cJSON *op = ops->child; op != NULL; op = op->next, i++)
		if ((ke = op_check(c, op, i)) != KE_OK)
			return ke;
	for (const cJSON *g = gens != NULL ? gens->child : NULL; g != NULL;
	     g = g->next)
		if (!kcfg_name_ok(g->string))
			return fail(c, KE_INVALID, "generations: expected group "
			                           "names");
	kcfg_fmri_format(fmri, sizeof(fmri), svc, inst);
	ke = krepo_commit(c->repo, svc, inst, ops, gens, &gen, &new_gens, c->why,
	    c->whylen);
	if (ke != KE_OK)
		return ke;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "fmri", fmri);
	cJSON_AddNumberToObject(o, "generation", (double)gen);
	cJSON_AddItemToObject(o, "generations", new_gens);
	return reply(c, o);
}

static int
h_snapshot_take(kcall *c)
{
	char        svc[KCFG_NAME_MAX + 1], inst[KCFG_NAME_MAX + 1];
	char        fmri[KCFG_FMRI_MAX];
	const char *name = kipc_json_str(c->params, "name");
	cJSON      *o;
	int         ke = fmri_param(c, svc, inst, true);

	if (ke != KE_OK)
		return ke;
	if (!kcfg_name_ok(name))
		return fail(c, KE_INVALID, "name: expected a snapshot name of 1 "
		    "to %d characters [A-Za-z0-9_.-]", KCFG_NAME_MAX);
	if (krepo_snap_reserved(name))
		return fail(c, KE_INVALID, "name: '%s' is kept by the repository "
		    "itself", name);
	if ((ke = krepo_snapshot_take(c->repo, svc, inst, name, c->why,
	         c->whylen)) != KE_OK)
		return ke;
	kcfg_fmri_format(fmri, sizeof(fmri), svc, inst);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "fmri", fmri);
	cJSON_AddStringToObject(o, "snapshot", name);
	return reply(c, o);
}

static int
h_snapshot_list(kcall *c)
{
	char   svc[KCFG_NAME_MAX + 1], inst[KCFG_NAME_MAX + 1];
	char   fmri[KCFG_FMRI_MAX];
	cJSON *names = NULL, *o;
	int    ke = fmri_param(c, svc, inst, true);

	if (ke == KE_OK)
		ke = krepo_snapshot_list(c->repo, svc, inst, &names, c->why,
		    c->whylen);
	if (ke != KE_OK)
		return ke;
	kcfg_fmri_format(fmri, sizeof(fmri), svc, inst);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "fmri", fmri);
	cJSON_AddItemToObject(o, "snapshots", names);
	return reply(c, o);
}

static int
h_revert(kcall *c)
{
	char        svc[KCFG_NAME_MAX + 1], inst[KCFG_NAME_MAX + 1];
	char        fmri[KCFG_FMRI_MAX];
	const char *snap = kipc_json_str(c->params, "snapshot");
	long long   gen = 0;
	cJSON      *o;
	int         ke = fmri_param(c, svc, inst, true);

	if (ke != KE_OK)
		return ke;
	if (!kcfg_name_ok(snap))
		return fail(c, KE_INVALID, "snapshot: expected a snapshot name");
	if ((ke = krepo_revert(c->repo, svc, inst, snap, &gen, c->why,
	         c->whylen)) != KE_OK)
		return ke;
	kcfg_fmri_format(fmri, sizeof(fmri), svc, inst);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "fmri", fmri);
	cJSON_AddNumberToObject(o, "generation", (double)gen);
	return reply(c, o);
}

static int
h_backup(kcall *c)
{
	char      path[1024];
	long long bytes = 0;
	cJSON    *o;
	int       ke = krepo_backup(c->repo, path, sizeof(path), &bytes, c->why,
	          c->whylen);

	if (ke != KE_OK)
		return ke;
	klog_info("backed up the repository to '%s'", path);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "path", path);
	cJSON_AddNumberToObject(o, "bytes", (double)bytes);
	return reply(c, o);
}

static int
h_check(kcall *c)
{
	cJSON *problems = NULL, *o;
	long   keys = 0;
	int    ke = krepo_check(c->repo, &problems, &keys, c->why, c->whylen);

	if (ke != KE_OK)
		return ke;
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "clean", cJSON_GetArraySize(problems) == 0);
	cJSON_AddNumberToObject(o, "keys", (double)keys);
	cJSON_AddItemToObject(o, "problems", problems);
	return reply(c, o);
}

/* ---- state.* ------------------------------------------------------------------------ */

/* The fmri param in canonical form: state is keyed by it. */
static int
state_fmri(kcall *c, char *fmri, size_t len)
{
	char svc[KCFG_NAME_MAX + 1], inst[KCFG_NAME_MAX + 1];
	int  ke = fmri_param(c, svc, inst, true);

	if (ke == KE_OK)
		kcfg_fmri_format(fmri, len, svc, inst);
	return ke;
}

static int
h_state_put(kcall *c)
{
	char        fmri[KCFG_FMRI_MAX];
	const cJSON *state = kipc_json_obj(c->params, "state");
	char       *text;
	size_t      len;
	int         ke = state_fmri(c, fmri, sizeof(fmri));

	if (ke != KE_OK)
		return ke;
	if ((text = kipc_json_print(state, NULL)) == NULL)
		return fail(c, KE_INTERNAL, "out of memory");
	len = strlen(text);
	free(text);
	if (len > MAX_STATE)
		return fail(c, KE_TOO_LARGE, "state: %zu bytes, at most %d", len,
		    MAX_STATE);
	ke = krepo_state_put(c->repo, fmri, state, c->why, c->whylen);
	return ke != KE_OK ? ke : reply(c, cJSON_CreateObject());
}

/*
 * The `start` snapshots named by state.put_many's start: [FMRI...] (DESIGN
 * section 3: taken at each successful start; kstartd sends the instances
 * that came online).  They land in the group commit of the batch.  One that
 * cannot be taken (an instance deleted since) is logged and skipped: the
 * states stand.  Returns how many were taken.
 */
static int
take_start_snapshots(kcall *c)
{
	const cJSON *it;
	int          n = 0;

	cJSON_ArrayForEach(it, kipc_json_arr(c->params, "start")) {
		char svc[KCFG_NAME_MAX + 1], inst[KCFG_NAME_MAX + 1];
		char why[KCFG_ERR_MAX];

		if (!cJSON_IsString(it) ||
		    kcfg_fmri_parse(it->valuestring, svc, inst) != 0 || !inst[0]) {
			klog_warn("unable to take snapshot 'start' of '%.200s': "
			    "not an instance FMRI", cJSON_IsString(it)
			    ? it->valuestring : "?");
			continue;
		}
		if (krepo_snapshot_take(c->repo, svc, inst, "start", why,
		        sizeof(why)) != KE_OK) {
			klog_warn("unable to take snapshot 'start' of "
			    "'svc:/%s:%s': %s", svc, inst, why);
			continue;
		}
		n++;
	}
	return n;
}

/*
 * state.put_many: every state of the batch in one write transaction, so
 * that kstartd's 1000 changes cost one commit, not 1000.  All or nothing:
 * one bad FMRI or oversized state refuses the batch.  Then the start
 * snapshots (take_start_snapshots).
 */
static int
h_state_put_many(kcall *c)
{
	const cJSON *states = kipc_json_obj(c->params, "states");
	const cJSON *it;
	cJSON       *canon = cJSON_CreateObject(), *res;
	int          ke, n = 0;

	if (canon == NULL)
		return fail(c, KE_INTERNAL, "out of memory");
	cJSON_ArrayForEach(it, states) {
		char   svc[KCFG_NAME_MAX + 1], inst[KCFG_NAME_MAX + 1];
		char   fmri[KCFG_FMRI_MAX];
		char  *text;
		size_t len;

		if (kcfg_fmri_parse(it->string, svc, inst) != 0 || !inst[0] ||
		    !cJSON_IsObject(it)) {
			cJSON_Delete(canon);
			return fail(c, KE_INVALID, "states: '%.200s' is not an "
			    "instance FMRI with an object", it->string);
		}
		kcfg_fmri_format(fmri, sizeof(fmri), svc, inst);
		if ((text = kipc_json_print(it, NULL)) == NULL) {
			cJSON_Delete(canon);
			return fail(c, KE_INTERNAL, "out of memory");
		}
		len = strlen(text);
		free(text);
		if (len > MAX_STATE) {
			cJSON_Delete(canon);
			return fail(c, KE_TOO_LARGE, "state of '%s': %zu bytes, "
			    "at most %d", fmri, len, MAX_STATE);
		}
		cJSON_AddItemReferenceToObject(canon, fmri, (cJSON *)it);
		n++;
	}
	ke = krepo_state_put_many(c->repo, canon, c->why, c->whylen);
	cJSON_Delete(canon);
	if (ke != KE_OK)
		return ke;
	res = cJSON_CreateObject();
	cJSON_AddNumberToObject(res, "count", n);
	cJSON_AddNumberToObject(res, "snapshots", take_start_snapshots(c));
	return reply(c, res);
}

static int
h_state_get(kcall *c)
{
	char   fmri[KCFG_FMRI_MAX];
	cJSON *state = NULL;
	int    ke = state_fmri(c, fmri, sizeof(fmri));

	if (ke == KE_OK)
		ke = krepo_state_get(c->repo, fmri, &state, c->why, c->whylen);
	return ke != KE_OK ? ke : reply_with(c, "state", state);
}

static int
h_state_list(kcall *c)
{
	cJSON *states;
	int    ke = krepo_state_list(c->repo, &states, c->why, c->whylen);

	return ke != KE_OK ? ke : reply_with(c, "states", states);
}

/* ---- the table -------------------------------------------------------------------------- */

static const handler table[KM__COUNT] = {
	[KM_SYS_HELLO] = h_hello,
	[KM_REPO_IMPORT] = h_import,
	[KM_REPO_VALIDATE] = h_validate,
	[KM_REPO_GET] = h_get,
	[KM_REPO_LIST] = h_list,
	[KM_REPO_RUNNING] = h_running,
	[KM_REPO_EXPORT] = h_export,
	[KM_REPO_SET_ENABLED] = h_set_enabled,
	[KM_REPO_REFRESH] = h_refresh,
	[KM_REPO_COMMIT] = h_commit,
	[KM_REPO_SNAPSHOT_TAKE] = h_snapshot_take,
	[KM_REPO_SNAPSHOT_LIST] = h_snapshot_list,
	[KM_REPO_REVERT] = h_revert,
	[KM_REPO_BACKUP] = h_backup,
	[KM_REPO_CHECK] = h_check,
	[KM_STATE_PUT] = h_state_put,
	[KM_STATE_GET] = h_state_get,
	[KM_STATE_LIST] = h_state_list,
	[KM_STATE_PUT_MANY] = h_state_put_many,
};

int
kcfgd_check_table(char *why, size_t whylen)
{
	for (int id = 0; id < KM__COUNT; id++) {
		const kproto_method *m = kproto_method_by_id(id);
		bool                 served = (m->daemons & KD_CONFIGD) != 0;

		if (served && table[id] == NULL) {
			snprintf(why, whylen, "no handler for %s", m->name);
			return -1;
		}
		if (!served && table[id] != NULL) {
			snprintf(why, whylen, "a handler for %s, which kconfigd "
			    "does not serve", m->name);
			return -1;
		}
	}
	return 0;
}

int
kcfgd_get_text(krepo *repo, const cJSON *params, bool privileged,
               char **text, char *why, size_t whylen)
{
	unsigned long long txnid = krepo_txnid(repo);
	char              *p = kipc_json_print(params, NULL), key[1024];
	cJSON             *res = NULL;
	bool               memo;
	int                ke;

	*text = NULL;
	/* The key: the privilege (secrets differ) and the params. */
	memo = p != NULL && snprintf(key, sizeof(key), "%d%s", privileged,
	                        p) < (int)sizeof(key);
	free(p);
	if (memo && (*text = krepo_memo_get(repo, key)) != NULL)
		return KE_OK;
	ke = kcfgd_dispatch(repo, KM_REPO_GET, params, privileged, &res, why,
	    whylen);
	if (ke != KE_OK)
		return ke;
	*text = kipc_json_print(res, NULL);
	cJSON_Delete(res);
	if (*text == NULL) {
		snprintf(why, whylen, "out of memory");
		return KE_INTERNAL;
	}
	if (memo)
		krepo_memo_put(repo, key, txnid, *text);
	return KE_OK;
}

bool
kcfgd_rerun_kept(krepo *repo, kproto_method_id id, const cJSON *params,
                 int first)
{
	char  why[KCFG_ERR_MAX];
	kcall c = { .repo = repo, .params = params, .privileged = true,
		.why = why, .whylen = sizeof(why) };

	if (id != KM_STATE_PUT && id != KM_STATE_PUT_MANY)
		return false;
	if (id == KM_STATE_PUT_MANY && first == KE_OK)
		take_start_snapshots(&c);
	return true;
}

int
kcfgd_dispatch(krepo *repo, kproto_method_id id, const cJSON *params,
               bool privileged, cJSON **result, char *why, size_t whylen)
{
	kcall c = { .repo = repo, .params = params, .privileged = privileged,
		.why = why, .whylen = whylen };
	int   ke;

	*result = NULL;
	if ((int)id < 0 || id >= KM__COUNT || table[id] == NULL) {
		snprintf(why, whylen, "method not served by kconfigd");
		return KE_INVALID;
	}
	ke = table[id](&c);
	if (ke == KE_OK)
		*result = c.result;
	else
		cJSON_Delete(c.result);
	return ke;
}
