/*
 * cmd_repo.c -- verbs served by kconfigd: import, validate, export, get.
 *
 * import reads and parses every file first (a DIR means its *.json in byte
 * order), then sends ONE repo.import carrying all manifests and their file
 * names, so that kconfigd validates all and writes all or nothing and names
 * the file of a fault.  After a commit it asks kstartd to re-read the running
 * snapshots (svc.reload); a kstartd that is not running is no error, since it
 * reads them when it starts.
 */
#include "kctl.h"
#include "manifest.h" /* kconfigd's pure core: validate without kconfigd */

#include <stdlib.h>
#include <string.h>

/* The operands as one OBJECT for error lines: "a.json b.json". */
static void
operands_text(const kctl_ctx *ctx, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < ctx->args.nops && n + 1 < len; i++) {
		int w = snprintf(buf + n, len - n, "%s%s", i > 0 ? " " : "",
		    ctx->args.ops[i]);

		if (w < 0 || (size_t)w >= len - n) {
			snprintf(buf + len - 4, 4, "...");
			break;
		}
		n += (size_t)w;
	}
}

/*
 * Builds {"manifests": [...], "files": [...]} from the operands.  Returns
 * KCTL_EXIT_OK with *params, or the exit code of a reported failure.
 */
static int
load_all(kctl_ctx *ctx, cJSON **params)
{
	char   bad[4096], why[1024];
	cJSON *p = cJSON_CreateObject();
	cJSON *manifests = cJSON_AddArrayToObject(p, "manifests");
	cJSON *files = cJSON_AddArrayToObject(p, "files");
	char  *text;
	size_t len;
	int    nfiles = 0, rv;

	*params = NULL;
	if (files == NULL)
		return kctl_fail(ctx, KE_INTERNAL, "manifests", "out of memory");
	for (int i = 0; i < ctx->args.nops; i++) {
		bad[0] = '\0';
		rv = kctl_manifest_load(ctx->args.ops[i], manifests, files, &nfiles,
		    bad, sizeof(bad), why, sizeof(why));
		if (rv != KE_OK) {
			cJSON_Delete(p);
			return kctl_fail(ctx, (kproto_err)rv, bad, "%s", why);
		}
	}
	/* One message carries them all; refuse here what no daemon takes. */
	text = kipc_json_print(p, NULL);
	len = text != NULL ? strlen(text) : 0;
	free(text);
	if (len + 4096 > KPROTO_MAX_MSG) {
		cJSON_Delete(p);
		operands_text(ctx, bad, sizeof(bad));
		return kctl_fail(ctx, KE_TOO_LARGE, bad, "%d files make %zu bytes, "
		    "more than one message carries (%u); import them in parts",
		    nfiles, len, KPROTO_MAX_MSG);
	}
	*params = p;
	return KCTL_EXIT_OK;
}

static void
print_names(kctl_ctx *ctx, const char *what, const cJSON *res)
{
	const cJSON *svcs = kipc_json_arr(res, "services"), *it;
	const char  *sep = ": ";
	int          n = cJSON_GetArraySize(svcs);

	fprintf(ctx->out, "%s %d service%s", what, n, n == 1 ? "" : "s");
	cJSON_ArrayForEach(it, svcs) {
		if (cJSON_IsString(it)) {
			fprintf(ctx->out, "%s%s", sep, it->valuestring);
			sep = ", ";
		}
	}
	fprintf(ctx->out, "\n");
}

/* svc.reload after an import; kstartd down is fine, other trouble a warning. */
static void
tell_startd(kctl_ctx *ctx)
{
	cJSON *res = NULL;
	char  *errmsg = NULL;
	int    rv;

	rv = kctl_call(ctx, KD_STARTD, KM_SVC_RELOAD, NULL, &res, &errmsg);
	if (rv != KE_OK && rv != KE_UNAVAILABLE)
		kctl_warn(ctx, "imported, but unable to reload 'kstartd': %s",
		    errmsg != NULL ? errmsg : kproto_err_name((kproto_err)rv));
	cJSON_Delete(res);
	free(errmsg);
}

static int
send_manifests(kctl_ctx *ctx, kproto_method_id m, const char *done)
{
	char   object[512];
	cJSON *params, *res = NULL;
	int    rv;

	if ((rv = load_all(ctx, &params)) != KCTL_EXIT_OK)
		return rv;
	operands_text(ctx, object, sizeof(object));
	if (cJSON_GetArraySize(kipc_json_arr(params, "manifests")) == 0) {
		cJSON_Delete(params);
		kctl_warn(ctx, "no manifests in '%s'", object);
		res = cJSON_CreateObject();
		cJSON_AddArrayToObject(res, "services");
	} else if ((rv = kctl_rpc(ctx, 0, m, params, object, &res)) !=
	    KCTL_EXIT_OK)
		return rv;
	else if (m == KM_REPO_IMPORT)
		tell_startd(ctx);
	if (ctx->opts.json)
		kctl_print_json(ctx, res);
	else
		print_names(ctx, done, res);
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}

int
kctl_cmd_import(kctl_ctx *ctx)
{
	if (kctl_flag(ctx, "--dry-run") != NULL)
		return send_manifests(ctx, KM_REPO_VALIDATE, "would import");
	return send_manifests(ctx, KM_REPO_IMPORT, "imported");
}

/*
 * Checks the manifests of params with kconfigd's own pure core, as
 * repo.validate does before it looks at the repository: each manifest
 * converted, no service given twice, no dependency cycle among them.
 * KE_OK with the service names in *names, or KE_INVALID with why.
 */
static int
validate_local(const cJSON *params, cJSON **names, char *why, size_t whylen)
{
	const cJSON  *ms = kipc_json_arr(params, "manifests");
	const cJSON  *files = kipc_json_arr(params, "files");
	int           n = cJSON_GetArraySize(ms), ke = KE_OK, i;
	kcfg_service *svcs = calloc((size_t)n + 1, sizeof(*svcs));
	cJSON        *views = cJSON_CreateObject();

	*names = cJSON_CreateArray();
	if (svcs == NULL || views == NULL || *names == NULL) {
		snprintf(why, whylen, "out of memory");
		ke = KE_INTERNAL;
	}
	for (i = 0; ke == KE_OK && i < n; i++) {
		const cJSON *f = cJSON_GetArrayItem(files, i);
		const cJSON *inst;

		if (kcfg_manifest_convert(cJSON_GetArrayItem(ms, i),
		        cJSON_IsString(f) ? f->valuestring : "manifest", &svcs[i],
		        why, whylen) != 0) {
			ke = KE_INVALID;
			break;
		}
		for (int j = 0; j < i; j++)
			if (strcmp(svcs[i].name, svcs[j].name) == 0) {
				snprintf(why, whylen, "service '%s' given twice",
				    svcs[i].name);
				ke = KE_INVALID;
			}
		cJSON_AddItemToArray(*names, cJSON_CreateString(svcs[i].name));
		cJSON_ArrayForEach(inst, svcs[i].instances) {
			char f2[KCFG_FMRI_MAX];

			kcfg_fmri_format(f2, sizeof(f2), svcs[i].name, inst->string);
			cJSON_AddItemToObject(views, f2,
			    kcfg_view(svcs[i].pgs, NULL, inst, NULL));
		}
	}
	if (ke == KE_OK && kcfg_check_cycles(views, why, whylen) != 0)
		ke = KE_INVALID;
	for (i = 0; svcs != NULL && i < n; i++)
		kcfg_service_free(&svcs[i]);
	free(svcs);
	cJSON_Delete(views);
	if (ke != KE_OK) {
		cJSON_Delete(*names);
		*names = NULL;
	}
	return ke;
}

/*
 * validate needs no daemon: the files are checked here with kconfigd's own
 * code, then, when kconfigd runs, by kconfigd too (which also sees a cycle
 * through services already in the repository).  --json adds "checked_by":
 * "k.configd", or "kctl" when kconfigd is not running.
 */
int
kctl_cmd_validate(kctl_ctx *ctx)
{
	char   object[512], why[1024], *msg = NULL;
	cJSON *params, *names = NULL, *res = NULL;
	int    rv;

	if ((rv = load_all(ctx, &params)) != KCTL_EXIT_OK)
		return rv;
	operands_text(ctx, object, sizeof(object));
	if ((rv = validate_local(params, &names, why, sizeof(why))) != KE_OK) {
		cJSON_Delete(params);
		return kctl_fail(ctx, (kproto_err)rv, object, "%s", why);
	}
	if (cJSON_GetArraySize(names) == 0) {
		cJSON_Delete(params);
		kctl_warn(ctx, "no manifests in '%s'", object);
		res = cJSON_CreateObject();
		cJSON_AddItemToObject(res, "services", names);
		cJSON_AddStringToObject(res, "checked_by", "kctl");
	} else if ((rv = kctl_call(ctx, KD_CONFIGD, KM_REPO_VALIDATE, params,
	                &res, &msg)) == KE_UNAVAILABLE) {
		res = cJSON_CreateObject();
		cJSON_AddItemToObject(res, "services", names);
		cJSON_AddStringToObject(res, "checked_by", "kctl");
	} else if (rv != KE_OK) {
		cJSON_Delete(names);
		rv = kctl_fail(ctx, (kproto_err)rv, object, "%s",
		    msg != NULL ? msg : kproto_err_name((kproto_err)rv));
		free(msg);
		return rv;
	} else {
		cJSON_Delete(names);
		cJSON_AddStringToObject(res, "checked_by", "k.configd");
	}
	free(msg);
	if (ctx->opts.json)
		kctl_print_json(ctx, res);
	else
		print_names(ctx, "valid:", res);
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}

/*
 * export prints JSON in both modes: the whole repository as
 * {"services": [...]}, one service as its manifest; both import again.
 */
int
kctl_cmd_export(kctl_ctx *ctx)
{
	char         fmri[KCTL_FMRI_MAX], svc[KCTL_NAME_MAX + 1],
	    inst[KCTL_NAME_MAX + 1], why[256];
	cJSON       *params = cJSON_CreateObject(), *res = NULL;
	const cJSON *list;
	int          rv;

	if (ctx->args.nops == 1) {
		if (kctl_fmri_norm(ctx->args.ops[0], fmri, sizeof(fmri), why,
		    sizeof(why)) != 0 ||
		    kctl_fmri_split(fmri, svc, sizeof(svc), inst, sizeof(inst)) !=
		    0) {
			cJSON_Delete(params);
			return kctl_fail(ctx, KE_INVALID, ctx->args.ops[0], "%s", why);
		}
		cJSON_AddStringToObject(params, "service", svc);
	}
	if (kctl_flag(ctx, "--include-secrets") != NULL)
		cJSON_AddBoolToObject(params, "include_secrets", true);
	if ((rv = kctl_rpc(ctx, 0, KM_REPO_EXPORT, params,
	    ctx->args.nops == 1 ? svc : "repository", &res)) != KCTL_EXIT_OK)
		return rv;
	list = kipc_json_arr(res, "services");
	if (ctx->args.nops == 1 && cJSON_GetArraySize(list) != 1) {
		cJSON_Delete(res);
		return kctl_fail(ctx, KE_NOT_FOUND, svc, "no such service");
	}
	kctl_print_json(ctx, ctx->args.nops == 1 ? cJSON_GetArrayItem(list, 0) :
	    res);
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}

/* The properties of one group: {"properties": {...}} or the group itself. */
static const cJSON *
pg_props(const cJSON *pg)
{
	const cJSON *p = kipc_json_obj(pg, "properties");

	return p != NULL ? p : pg;
}

static char *
prop_value_text(const cJSON *prop)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(prop, "values");

	if (v == NULL)
		v = cJSON_GetObjectItemCaseSensitive(prop, "value");
	if (v == NULL && kipc_json_bool(prop, "secret") == 1)
		return strdup("(secret)");
	if (v == NULL && !cJSON_IsObject(prop))
		v = prop;
	return v != NULL ? kctl_value_text(v) : kipc_json_print(prop, NULL);
}

/* "pg/prop  type  value..." lines, like svcprop. */
static int
print_props(kctl_ctx *ctx, const cJSON *pgs, const char *want_pg,
    const char *want_prop)
{
	kctl_table  *t = kctl_table_new(3, NULL);
	const cJSON *pg, *prop;
	int          n = 0;

	if (t == NULL)
		return -1;
	cJSON_ArrayForEach(pg, pgs) {
		if (*want_pg != '\0' && strcmp(pg->string, want_pg) != 0)
			continue;
		cJSON_ArrayForEach(prop, pg_props(pg)) {
			char        name[512];
			char       *val = prop_value_text(prop);
			const char *type = kipc_json_str(prop, "type");
			const char *cells[3] = { name, type, val };

			if (*want_prop != '\0' && strcmp(prop->string, want_prop) != 0) {
				free(val);
				continue;
			}
			if (*want_prop != '\0') {
				/* One property asked for: its value alone. */
				fprintf(ctx->out, "%s\n", val != NULL ? val : "");
				free(val);
				n++;
				continue;
			}
			snprintf(name, sizeof(name), "%s/%s", pg->string, prop->string);
			kctl_table_add(t, cells);
			free(val);
			n++;
		}
	}
	kctl_table_print(t, ctx->out);
	kctl_table_free(t);
	return n;
}

int
kctl_cmd_get(kctl_ctx *ctx)
{
	char         fmri[KCTL_FMRI_MAX], pg[KCTL_NAME_MAX + 1],
	    prop[KCTL_NAME_MAX + 1], why[256];
	cJSON       *params, *res = NULL;
	const cJSON *pgs;
	int          rv;

	if (kctl_prop_path(ctx->args.ops[0], fmri, sizeof(fmri), pg, sizeof(pg),
	    prop, sizeof(prop), why, sizeof(why)) != 0)
		return kctl_fail(ctx, KE_INVALID, ctx->args.ops[0], "%s", why);
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "fmri", fmri);
	if (*pg != '\0')
		cJSON_AddStringToObject(params, "pg", pg);
	if (*prop != '\0')
		cJSON_AddStringToObject(params, "prop", prop);
	if (kctl_flag(ctx, "--running") != NULL)
		cJSON_AddBoolToObject(params, "running", true);
	if ((rv = kctl_rpc(ctx, 0, KM_REPO_GET, params, ctx->args.ops[0], &res)) !=
	    KCTL_EXIT_OK)
		return rv;
	pgs = kipc_json_obj(res, "property_groups");
	if (ctx->opts.json)
		kctl_print_json(ctx, res);
	else if (pgs == NULL || (print_props(ctx, pgs, pg, prop) == 0 &&
	    (*pg != '\0' || *prop != '\0'))) {
		cJSON_Delete(res);
		return kctl_fail(ctx, KE_NOT_FOUND, ctx->args.ops[0],
		    "no such property%s", *prop != '\0' ? "" : " group");
	}
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}
