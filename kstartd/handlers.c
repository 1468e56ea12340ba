/*
 * handlers.c -- kstartd's side of the protocol: svc.list, svc.status,
 * svc.enable, svc.disable, svc.reload (proto.h); the others are in ops.c
 * and wait.c.
 *
 * libkipc has validated the envelope, the method, the level, the params
 * against their schema and the peer's privilege before a request reaches
 * this file, and sys.hello never does.  Handlers record what changed and
 * feed the core; the loop's k_settle() then starts or stops whatever follows.
 * Exactly one reply per request, error replies included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "kstartd.h"

/* ---- status objects (DESIGN section 7) ------------------------------------ */

static void
add_time(cJSON *o, const char *key, int64_t wall_ms)
{
	char ts[40];

	if (!wall_ms) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	k_rfc3339(wall_ms, ts, sizeof ts);
	cJSON_AddStringToObject(o, key, ts);
}

static void
add_str_or_null(cJSON *o, const char *key, const char *s)
{
	if (s)
		cJSON_AddStringToObject(o, key, s);
	else
		cJSON_AddNullToObject(o, key);
}

static const char *const ron_names[] = {"none", "error", "restart", "refresh"};

static void
add_dependencies(const kstartd *k, size_t i, cJSON *o)
{
	const svc_config *cfg = k->insts[i]->cfg;
	cJSON            *arr = cJSON_AddArrayToObject(o, "dependencies");
	kg_view          *v = calloc(k->n + 1, sizeof *v);

	if (!arr || !v) {
		free(v);
		return;
	}
	for (size_t j = 0; j < k->n; j++)
		kg_view_from(&v[j], &k->insts[j]->st);
	for (size_t gi = 0; gi < cfg->ndeps; gi++) {
		const svc_dep *d = &cfg->deps[gi];
		cJSON         *dj = cJSON_CreateObject();
		cJSON         *svcs;

		if (!dj)
			break;
		cJSON_AddItemToArray(arr, dj);
		cJSON_AddStringToObject(dj, "name", d->name);
		cJSON_AddStringToObject(dj, "grouping",
		    svc_grouping_name(d->grouping));
		cJSON_AddStringToObject(dj, "restart_on", ron_names[d->restart_on]);
		svcs = cJSON_AddArrayToObject(dj, "services");
		for (size_t m = 0; svcs && m < d->nfmri; m++)
			cJSON_AddItemToArray(svcs, cJSON_CreateString(d->fmris[m]));
		cJSON_AddStringToObject(dj, "satisfied",
		    kg_sat_name(kgraph_group_sat(k->graph, i, gi, v, NULL)));
	}
	free(v);
}

static void
add_last_exit(const svc_state *st, cJSON *o)
{
	cJSON *e;

	if (!st->has_exit) {
		cJSON_AddNullToObject(o, "last_exit");
		return;
	}
	if (!(e = cJSON_AddObjectToObject(o, "last_exit")))
		return;
	if (st->last_exit_code == CLD_EXITED) {
		kipc_json_add_int64(e, "status", st->last_exit_status);
		cJSON_AddNullToObject(e, "signal");
	} else {
		cJSON_AddNullToObject(e, "status");
		kipc_json_add_int64(e, "signal", st->last_exit_status);
	}
	add_time(e, "time", st->last_exit_wall_ms);
}

static void
add_verbose(const kstartd *k, size_t i, cJSON *o)
{
	const inst *in = k->insts[i];
	char        path[600];

	cJSON_AddStringToObject(o, "model", svc_model_name(in->cfg->model));
	cJSON_AddBoolToObject(o, "enabled", in->st.enabled);
	cJSON_AddBoolToObject(o, "temporary", in->temporary);
	kipc_json_add_int64(o, "restarts", in->st.restarts);
	add_str_or_null(o, "reason", in->st.reason);
	add_str_or_null(o, "config_error", in->cfg->error);
	add_str_or_null(o, "status_text", in->status_text);
	if (in->mainpid > 0)
		kipc_json_add_int64(o, "mainpid", in->mainpid);
	add_time(o, "start_time", in->st.pid > 0 ? in->st.start_wall_ms : 0);
	if (in->cfg->log == SVC_LOG_CONSOLE)
		cJSON_AddStringToObject(o, "log", "console");
	else if (spawn_log_path(&k->paths, in->cfg, path, sizeof path) == 0)
		cJSON_AddStringToObject(o, "log", path);
	add_last_exit(&in->st, o);
	add_dependencies(k, i, o);
}

cJSON *
k_status_json(const kstartd *k, size_t i, bool verbose)
{
	const inst *in = k->insts[i];
	cJSON      *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "fmri", in->cfg->fmri);
	cJSON_AddStringToObject(o, "service", in->cfg->service);
	cJSON_AddStringToObject(o, "instance", in->cfg->instance);
	cJSON_AddStringToObject(o, "state", svc_st_name(in->st.state));
	add_str_or_null(o, "next_state", svc_st_name(in->st.next));
	add_time(o, "since", in->st.since_wall_ms);
	if (in->st.pid > 0)
		kipc_json_add_int64(o, "pid", in->st.pid);
	else
		cJSON_AddNullToObject(o, "pid");
	add_str_or_null(o, "description", in->cfg->description);
	if (verbose)
		add_verbose(k, i, o);
	return o;
}

/* ---- handlers ------------------------------------------------------------- */

/* The instance a request names, or a not_found / invalid reply. */
long
k_req_instance(kstartd *k, kipc_req *r)
{
	const char *fmri = kipc_json_str(kipc_req_params(r), "fmri");
	char        canon[512];
	long        i;

	if (svc_fmri_canon(fmri, canon, sizeof canon) != 0) {
		kipc_req_fail(r, KE_INVALID, "not an FMRI: '%s'", fmri ? fmri : "");
		return -1;
	}
	if ((i = k_find(k, canon)) < 0)
		kipc_req_fail(r, KE_NOT_FOUND, "no such instance: '%s'", canon);
	return i;
}

static void
h_list(kstartd *k, kipc_req *r)
{
	bool   all = kipc_json_bool(kipc_req_params(r), "all") == 1;
	cJSON *res = cJSON_CreateObject();
	cJSON *arr = res ? cJSON_AddArrayToObject(res, "instances") : NULL;

	if (!arr) {
		cJSON_Delete(res);
		kipc_req_fail(r, KE_INTERNAL, "out of memory");
		return;
	}
	/* Like svcs: without all, disabled instances are left out. */
	for (size_t i = 0; i < k->n; i++) {
		const svc_state *st = &k->insts[i]->st;

		if (!all && st->state == SVC_ST_DISABLED && st->next == SVC_ST_NONE)
			continue;
		cJSON_AddItemToArray(arr, k_status_json(k, i, false));
	}
	kipc_req_reply(r, res);
}

static void
h_status(kstartd *k, kipc_req *r)
{
	long i = k_req_instance(k, r);

	if (i >= 0)
		kipc_req_reply(r, k_status_json(k, (size_t)i, true));
}

/* The repository's enabled flag, via kconfigd (admin layer and running). */
int
k_set_enabled(kstartd *k, const char *fmri, bool on, char **err)
{
	cJSON *params = cJSON_CreateObject(), *res = NULL;
	int    rv;

	if (!params)
		return KE_INTERNAL;
	cJSON_AddStringToObject(params, "fmri", fmri);
	cJSON_AddBoolToObject(params, "enabled", on);
	rv = kipc_call(k->configd, kproto_method_by_id(KM_REPO_SET_ENABLED)->name,
	    params, &res, err);
	cJSON_Delete(res);
	return rv;
}

/* Enables or disables instance i; KE_* with *err from kconfigd. */
static int
set_one(kstartd *k, size_t i, bool on, bool temporary, char **err)
{
	inst *in = k->insts[i];
	int   rv;

	if (!temporary) {
		if ((rv = k_set_enabled(k, in->cfg->fmri, on, err)) != KE_OK)
			return rv;
		in->cfg->enabled = on;
	}
	/* A temporary choice lives only in the volatile state; a permanent
	 * one ends an earlier temporary override. */
	in->temporary = temporary;
	in->temp_enabled = on;
	in->dirty = true;
	svc_log(&k->paths, in->cfg, "%s%s by request", on ? "enabled" : "disabled",
	    temporary ? " temporarily" : "");
	k_feed(k, i, on ? SVC_EV_ENABLE : SVC_EV_DISABLE);
	return KE_OK;
}

/* -r: i and every instance it depends on (not exclude_all), transitively. */
static void
mark_recursive(const kstartd *k, size_t i, unsigned char *mark)
{
	const svc_config *cfg = k->insts[i]->cfg;

	if (mark[i])
		return;
	mark[i] = 1;
	for (size_t gi = 0; gi < cfg->ndeps; gi++) {
		if (cfg->deps[gi].grouping == SVC_DEP_EXCLUDE_ALL)
			continue;
		for (size_t m = 0; m < cfg->deps[gi].nfmri; m++) {
			long j = k_find(k, cfg->deps[gi].fmris[m]);

			if (j >= 0)
				mark_recursive(k, (size_t)j, mark);
		}
	}
}

static void
h_enable(kstartd *k, kipc_req *r, bool on)
{
	const cJSON   *p = kipc_req_params(r);
	bool           temporary = kipc_json_bool(p, "temporary") == 1;
	bool           recursive = on && kipc_json_bool(p, "recursive") == 1;
	long           i = k_req_instance(k, r);
	unsigned char *mark;
	cJSON         *res, *done;
	char          *err = NULL;
	int            rv = KE_OK;

	if (i < 0)
		return;
	res = cJSON_CreateObject();
	done = res ? cJSON_AddArrayToObject(res, on ? "enabled" : "disabled")
	           : NULL;
	if (!(mark = calloc(k->n + 1, 1)) || !done) {
		free(mark);
		cJSON_Delete(res);
		kipc_req_fail(r, KE_INTERNAL, "out of memory");
		return;
	}
	if (recursive)
		mark_recursive(k, (size_t)i, mark);
	mark[i] = 1;
	/* Dependencies first, then the instance itself. */
	for (size_t j = 0; rv == KE_OK && j <= k->n; j++) {
		size_t n = j < k->n ? j : (size_t)i;

		if (j < k->n && (n == (size_t)i || !mark[n]))
			continue;
		if (j < k->n && k_enabled(k->insts[n]) == on)
			continue;
		if ((rv = set_one(k, n, on, temporary, &err)) == KE_OK)
			cJSON_AddItemToArray(done,
			    cJSON_CreateString(k->insts[n]->cfg->fmri));
	}
	free(mark);
	if (rv != KE_OK) {
		cJSON_Delete(res);
		kipc_req_fail(r, (kproto_err)rv, "unable to record it in "
		    "kconfigd: %s", err ? err : kproto_err_name(rv));
		free(err);
		return;
	}
	kipc_req_reply(r, res);
}

int
k_reload(kstartd *k, char *why, size_t whylen)
{
	cJSON       *res = NULL;
	const cJSON *insts;
	char        *err = NULL;
	int          rv;

	rv = kipc_call(k->configd, kproto_method_by_id(KM_REPO_RUNNING)->name,
	    cJSON_CreateObject(), &res, &err);
	if (rv != KE_OK) {
		snprintf(why, whylen, "%s", err ? err : kproto_err_name(rv));
		free(err);
		return rv;
	}
	if (!(insts = kipc_json_obj(res, "instances"))) {
		snprintf(why, whylen, "repo.running: no 'instances' object");
		cJSON_Delete(res);
		return KE_INTERNAL;
	}
	if ((rv = k_load(k, insts)) != KE_OK)
		snprintf(why, whylen, "out of memory");
	cJSON_Delete(res);
	return rv;
}

static void
h_reload(kstartd *k, kipc_req *r)
{
	char why[256];
	int  rv = k_reload(k, why, sizeof why);

	if (rv != KE_OK)
		kipc_req_fail(r, (kproto_err)rv, "unable to reload: %s", why);
	else
		kipc_req_reply(r, NULL);
}

/* svc.timeline: each instance's first wait, start and online (kctl plot). */
static int
by_fmri(const void *a, const void *b)
{
	return strcmp((*(const inst *const *)a)->cfg->fmri,
	    (*(const inst *const *)b)->cfg->fmri);
}

static void
h_timeline(kstartd *k, kipc_req *r)
{
	cJSON       *res = cJSON_CreateObject();
	cJSON       *arr = res ? cJSON_AddArrayToObject(res, "instances") : NULL;
	const inst **v = calloc(k->n + 1, sizeof *v);

	if (!arr || !v) {
		cJSON_Delete(res);
		free(v);
		kipc_req_fail(r, KE_INTERNAL, "out of memory");
		return;
	}
	for (size_t i = 0; i < k->n; i++)
		v[i] = k->insts[i];
	qsort(v, k->n, sizeof *v, by_fmri);
	for (size_t i = 0; i < k->n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "fmri", v[i]->cfg->fmri);
		cJSON_AddStringToObject(o, "state", svc_st_name(v[i]->st.state));
		add_time(o, "wait", v[i]->tl_wait_ms);
		add_time(o, "start", v[i]->tl_start_ms);
		add_time(o, "online", v[i]->tl_online_ms);
		cJSON_AddItemToArray(arr, o);
	}
	free(v);
	kipc_req_reply(r, res);
}

void
k_handle(kstartd *k, kipc_req *r)
{
	switch (kipc_req_method(r)->id) {
	case KM_SVC_LIST:    h_list(k, r); break;
	case KM_SVC_STATUS:  h_status(k, r); break;
	case KM_SVC_ENABLE:  h_enable(k, r, true); break;
	case KM_SVC_DISABLE: h_enable(k, r, false); break;
	case KM_SVC_RELOAD:  h_reload(k, r); break;
	case KM_SVC_RESTART: k_h_restart(k, r); break;
	case KM_SVC_REFRESH: k_h_refresh(k, r); break;
	case KM_SVC_CLEAR:   k_h_clear(k, r); break;
	case KM_SVC_MARK:    k_h_mark(k, r); break;
	case KM_SVC_DEPS:    k_h_deps(k, r); break;
	case KM_SVC_DEPENDENTS: k_h_dependents(k, r); break;
	case KM_SVC_EXPLAIN: k_h_explain(k, r); break;
	case KM_SVC_WAIT:    k_h_wait(k, r); break;
	case KM_SVC_CHANGES: k_h_changes(k, r); break;
	case KM_SVC_TIMELINE: h_timeline(k, r); break;
	default:
		kipc_req_fail(r, KE_INVALID, "method not served by k.startd");
		break;
	}
}
