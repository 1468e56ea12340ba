/*
 * ops.c -- the operator's requests beyond enable/disable: svc.restart,
 * svc.refresh, svc.clear, svc.mark, and the graph queries svc.deps,
 * svc.dependents, svc.explain (proto.h), plus the refresh and stop methods.
 *
 * Handlers feed the core one event and reply; k_settle() does the rest
 * (starting what may start, telling dependents).  The queries read the
 * instance table and the graph and change nothing.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kstartd.h"

static const char *const ron_names[] = {"none", "error", "restart", "refresh"};

static void
add_str_or_null(cJSON *o, const char *key, const char *s)
{
	if (s)
		cJSON_AddStringToObject(o, key, s);
	else
		cJSON_AddNullToObject(o, key);
}

/* ---- methods beside the main process -------------------------------------- */

/* Runs method m of instance i beside its main process (refresh, stop). */
static bool
run_aux(kstartd *k, size_t i, const svc_method *m, const char *name)
{
	inst  *in = k->insts[i];
	pid_t  main = in->mainpid > 0 ? in->mainpid : in->st.pid;
	char **argv = svc_method_argv(in->cfg, m, main);
	char   mainpid[40], why[512] = "out of memory";
	char  *extra[] = {mainpid, NULL};
	int    err = ENOMEM;
	pid_t  pid = -1;

	snprintf(mainpid, sizeof mainpid, "MAINPID=%ld",
	    (long)(main > 0 ? main : 0));
	if (argv)
		pid = spawn_method(&k->paths, in->cfg, argv, name,
		    main > 0 ? extra : NULL, &err, why, sizeof why);
	if (pid > 0) {
		in->aux_pid = pid;
		svc_log(&k->paths, in->cfg, "%s method: pid %ld: %s", name,
		    (long)pid, argv[0]);
	} else {
		svc_log(&k->paths, in->cfg, "%s method failed: %s", name, why);
		klog_err("unable to run the %s method of '%s': %s", name,
		    in->cfg->fmri, why);
	}
	svc_argv_free(argv);
	return pid > 0;
}

void
k_run_refresh(kstartd *k, size_t i)
{
	inst *in = k->insts[i];

	if (!in->cfg->refresh.argv && in->cfg->refresh_signal > 0) {
		/* {"signal": "HUP"}: to the main process, as kill -HUP
		 * ${MAINPID} would. */
		pid_t main = in->mainpid > 0 ? in->mainpid : in->st.pid;

		if (main > 0 && kill(main, in->cfg->refresh_signal) == 0)
			svc_log(&k->paths, in->cfg, "refresh: signal %d to pid "
			    "%ld", in->cfg->refresh_signal, (long)main);
		else
			klog_err("unable to signal '%s' to refresh: %s",
			    in->cfg->fmri, main > 0 ? strerror(errno)
			                            : "no main process");
		return;
	}
	if (!in->cfg->refresh.argv || in->aux_pid > 0)
		return;
	in->aux_stop = false;
	/* Timed by k_timers(): an overrun is SVC_EV_REFRESH_TIMEOUT. */
	if (run_aux(k, i, &in->cfg->refresh, "refresh") &&
	    in->cfg->refresh.timeout_ms)
		in->aux_deadline = k_now_ms() +
		    (int64_t)in->cfg->refresh.timeout_ms;
}

bool
k_run_stop_method(kstartd *k, size_t i)
{
	inst *in;

	if (i >= k->n)
		return false;
	in = k->insts[i];
	if (in->aux_pid > 0 && in->aux_stop)
		return true;
	/* Stopping supersedes a refresh still running: it goes. */
	if (in->aux_pid > 0) {
		svc_log(&k->paths, in->cfg, "refresh method: pid %ld killed: "
		    "the instance stops", (long)in->aux_pid);
		(void)kill(-in->aux_pid, SIGKILL);
		in->aux_pid = 0;
		in->aux_deadline = 0;
	}
	in->aux_stop = true;
	return run_aux(k, i, &in->cfg->stop, "stop");
}

/* ---- state-changing requests ---------------------------------------------- */

void
k_h_restart(kstartd *k, kipc_req *r)
{
	long  i = k_req_instance(k, r);
	inst *in;
	enum svc_phase ph;

	if (i < 0)
		return;
	in = k->insts[i];
	ph = svc_phase_of(&in->st);
	if (ph != SVC_PH_ONLINE && ph != SVC_PH_DEGRADED &&
	    ph != SVC_PH_STARTING) {
		kipc_req_fail(r, KE_BUSY, "'%s' is %s: only a running "
		    "instance restarts", in->cfg->fmri, svc_st_name(in->st.state));
		return;
	}
	svc_log(&k->paths, in->cfg, "restart by request");
	k_feed(k, (size_t)i, SVC_EV_RESTART);
	kipc_req_reply(r, NULL);
}

void
k_h_clear(kstartd *k, kipc_req *r)
{
	long  i = k_req_instance(k, r);
	inst *in;

	if (i < 0)
		return;
	in = k->insts[i];
	svc_log(&k->paths, in->cfg, "clear by request");
	/* An exited instance held offline is cleared too: start it again. */
	if (svc_phase_of(&in->st) == SVC_PH_OFFLINE && in->st.hold)
		k_feed(k, (size_t)i, SVC_EV_ENABLE);
	k_feed(k, (size_t)i, SVC_EV_CLEAR);
	kipc_req_reply(r, NULL);
}

void
k_h_mark(kstartd *k, kipc_req *r)
{
	const char *st = kipc_json_str(kipc_req_params(r), "state");
	enum svc_ev_type ev;
	long        i;

	if (st && strcmp(st, "degraded") == 0)
		ev = SVC_EV_MARK_DEGRADED;
	else if (st && strcmp(st, "maintenance") == 0)
		ev = SVC_EV_MARK_MAINT;
	else {
		kipc_req_fail(r, KE_INVALID, "state: \"degraded\" or "
		    "\"maintenance\", not \"%.32s\"", st ? st : "");
		return;
	}
	if ((i = k_req_instance(k, r)) < 0)
		return;
	if (ev == SVC_EV_MARK_DEGRADED &&
	    svc_phase_of(&k->insts[i]->st) != SVC_PH_ONLINE &&
	    svc_phase_of(&k->insts[i]->st) != SVC_PH_DEGRADED) {
		kipc_req_fail(r, KE_BUSY, "'%s' is not online",
		    k->insts[i]->cfg->fmri);
		return;
	}
	svc_log(&k->paths, k->insts[i]->cfg, "marked %s by request", st);
	k_feed(k, (size_t)i, ev);
	kipc_req_reply(r, NULL);
}

/* Dependents of node i whose group asks to restart on refresh. */
static void
restart_refresh_dependents(kstartd *k, size_t i)
{
	size_t *out = calloc(k->n + 1, sizeof *out);
	size_t  n;

	if (!out)
		return;
	n = kgraph_affected(k->graph, i, SVC_RON_REFRESH, out, k->n);
	for (size_t j = 0; j < n && j < k->n; j++) {
		inst          *d = k->insts[out[j]];
		enum svc_phase ph = svc_phase_of(&d->st);

		if (ph != SVC_PH_ONLINE && ph != SVC_PH_DEGRADED &&
		    ph != SVC_PH_STARTING)
			continue;
		svc_log(&k->paths, d->cfg, "restart: dependency '%s' was "
		    "refreshed", k->insts[i]->cfg->fmri);
		k_feed(k, out[j], SVC_EV_RESTART);
	}
	free(out);
}

void
k_h_refresh(kstartd *k, kipc_req *r)
{
	long   i = k_req_instance(k, r);
	cJSON *params, *res = NULL;
	char  *err = NULL, why[256], fmri[512];
	int    rv;

	if (i < 0)
		return;
	snprintf(fmri, sizeof fmri, "%s", k->insts[i]->cfg->fmri);
	if (!(params = cJSON_CreateObject())) {
		kipc_req_fail(r, KE_INTERNAL, "out of memory");
		return;
	}
	cJSON_AddStringToObject(params, "fmri", fmri);
	/* Start snapshots still pending copy the running snapshot the
	 * instances started with: take them before it is replaced. */
	if (k->snap_due) {
		k->snap_due = 1;
		k_persist(k);
	}
	rv = kipc_call(k->configd, kproto_method_by_id(KM_REPO_REFRESH)->name,
	    params, &res, &err);
	if (rv != KE_OK) {
		kipc_req_fail(r, (kproto_err)rv, "unable to refresh in kconfigd: "
		    "%s", err ? err : kproto_err_name(rv));
		free(err);
		return;
	}
	if ((rv = k_reload(k, why, sizeof why)) != KE_OK) {
		cJSON_Delete(res);
		kipc_req_fail(r, (kproto_err)rv, "unable to reload: %s", why);
		return;
	}
	/* The table may have moved: find the instance again. */
	if ((i = k_find(k, fmri)) >= 0) {
		inst          *in = k->insts[i];
		enum svc_phase ph = svc_phase_of(&in->st);

		svc_log(&k->paths, in->cfg, "refreshed by request");
		if (ph == SVC_PH_ONLINE || ph == SVC_PH_DEGRADED)
			k_run_refresh(k, (size_t)i);
		restart_refresh_dependents(k, (size_t)i);
	}
	if (!res || !kipc_json_arr(res, "refreshed")) {
		cJSON_Delete(res);
		res = cJSON_CreateObject();
		cJSON_AddItemToObject(res, "refreshed", cJSON_CreateArray());
	}
	kipc_req_reply(r, res);
}

/* ---- queries -------------------------------------------------------------- */

/* The state fields of fmri into o (null when there is no such instance). */
static void
add_state_of(const kstartd *k, const char *fmri, cJSON *o)
{
	long i = k_find(k, fmri);

	if (i < 0) {
		cJSON_AddNullToObject(o, "state");
		cJSON_AddNullToObject(o, "next_state");
		return;
	}
	cJSON_AddStringToObject(o, "state", svc_st_name(k->insts[i]->st.state));
	add_str_or_null(o, "next_state", svc_st_name(k->insts[i]->st.next));
}

static kg_view *
all_views(const kstartd *k)
{
	kg_view *v = calloc(k->n + 1, sizeof *v);

	for (size_t j = 0; v && j < k->n; j++)
		kg_view_from(&v[j], &k->insts[j]->st);
	return v;
}

void
k_h_deps(kstartd *k, kipc_req *r)
{
	long              i = k_req_instance(k, r);
	const svc_config *cfg;
	cJSON            *res, *arr;
	kg_view          *v;

	if (i < 0)
		return;
	cfg = k->insts[i]->cfg;
	res = cJSON_CreateObject();
	v = all_views(k);
	if (!res || !v || !cJSON_AddStringToObject(res, "fmri", cfg->fmri) ||
	    !(arr = cJSON_AddArrayToObject(res, "dependencies"))) {
		free(v);
		cJSON_Delete(res);
		kipc_req_fail(r, KE_INTERNAL, "out of memory");
		return;
	}
	for (size_t gi = 0; gi < cfg->ndeps; gi++) {
		const svc_dep *d = &cfg->deps[gi];
		cJSON         *dj = cJSON_CreateObject(), *svcs;

		cJSON_AddItemToArray(arr, dj);
		cJSON_AddStringToObject(dj, "name", d->name);
		cJSON_AddStringToObject(dj, "grouping",
		    svc_grouping_name(d->grouping));
		cJSON_AddStringToObject(dj, "restart_on", ron_names[d->restart_on]);
		cJSON_AddStringToObject(dj, "satisfied",
		    kg_sat_name(kgraph_group_sat(k->graph, (size_t)i, gi, v, NULL)));
		svcs = cJSON_AddArrayToObject(dj, "services");
		for (size_t m = 0; svcs && m < d->nfmri; m++) {
			cJSON *s = cJSON_CreateObject();

			cJSON_AddItemToArray(svcs, s);
			cJSON_AddStringToObject(s, "fmri", d->fmris[m]);
			add_state_of(k, d->fmris[m], s);
		}
	}
	free(v);
	kipc_req_reply(r, res);
}

void
k_h_dependents(kstartd *k, kipc_req *r)
{
	long        i = k_req_instance(k, r);
	const char *fmri;
	cJSON      *res, *arr;

	if (i < 0)
		return;
	fmri = k->insts[i]->cfg->fmri;
	res = cJSON_CreateObject();
	if (!res || !cJSON_AddStringToObject(res, "fmri", fmri) ||
	    !(arr = cJSON_AddArrayToObject(res, "dependents"))) {
		cJSON_Delete(res);
		kipc_req_fail(r, KE_INTERNAL, "out of memory");
		return;
	}
	for (size_t j = 0; j < k->n; j++) {
		const svc_config *c = k->insts[j]->cfg;

		for (size_t gi = 0; gi < c->ndeps; gi++) {
			const svc_dep *d = &c->deps[gi];
			bool           names = false;

			for (size_t m = 0; m < d->nfmri; m++)
				names |= strcmp(d->fmris[m], fmri) == 0;
			if (!names)
				continue;
			cJSON *o = cJSON_CreateObject();

			cJSON_AddItemToArray(arr, o);
			cJSON_AddStringToObject(o, "fmri", c->fmri);
			cJSON_AddStringToObject(o, "group", d->name);
			cJSON_AddStringToObject(o, "grouping",
			    svc_grouping_name(d->grouping));
			cJSON_AddStringToObject(o, "restart_on",
			    ron_names[d->restart_on]);
			add_state_of(k, c->fmri, o);
		}
	}
	kipc_req_reply(r, res);
}

/* ---- explain ---------------------------------------------------------------- */

typedef struct xctx {
	const kstartd *k;
	const kg_view *v;
	enum kg_reach *reach;
	unsigned char *seen;
} xctx;

static bool
up(const inst *in)
{
	return (in->st.state == SVC_ST_ONLINE ||
	           in->st.state == SVC_ST_DEGRADED) &&
	    in->st.next == SVC_ST_NONE;
}

/* Why the instance itself does not run, or NULL when it is not its fault. */
static const char *
own_reason(const inst *in)
{
	if (in->cfg->error)
		return in->cfg->error;
	if (in->st.state == SVC_ST_MAINTENANCE)
		return in->st.reason ? in->st.reason : "in maintenance";
	if (!in->st.enabled)
		return "disabled";
	if (in->st.hold)
		return "exited; no restart wanted";
	if (in->st.next != SVC_ST_NONE)
		return in->st.next == SVC_ST_ONLINE ? "starting" : "stopping";
	if (in->st.timer == SVC_TIMER_RESTART)
		return in->st.reason ? in->st.reason : "waiting to restart";
	return NULL;
}

/*
 * Follows unsatisfied dependencies from node i to the first instance that
 * is down by its own fault (or absent), appending the path.  Returns the
 * index of the root, -1 when the root is an absent instance (named in
 * *absent) or nothing blocks.
 */
static long
root_cause(xctx *x, size_t i, cJSON *path, const char **absent)
{
	const inst *in = x->k->insts[i];

	x->seen[i] = 1;
	cJSON_AddItemToArray(path, cJSON_CreateString(in->cfg->fmri));
	if (own_reason(in) && !up(in))
		return (long)i;
	for (size_t gi = 0; gi < in->cfg->ndeps; gi++) {
		const svc_dep *d = &in->cfg->deps[gi];

		if (kgraph_group_sat(x->k->graph, i, gi, x->v, x->reach) ==
		    KG_SAT)
			continue;
		for (size_t m = 0; m < d->nfmri; m++) {
			long j = k_find(x->k, d->fmris[m]);

			if (d->grouping == SVC_DEP_EXCLUDE_ALL) {
				if (j >= 0 && x->reach[j] != KG_NEVER) {
					cJSON_AddItemToArray(path,
					    cJSON_CreateString(d->fmris[m]));
					return j;
				}
				continue;
			}
			if (j < 0) {
				*absent = d->fmris[m];
				return -1;
			}
			if (up(x->k->insts[j]) || x->seen[j])
				continue;
			return root_cause(x, (size_t)j, path, absent);
		}
	}
	return (long)i;
}

/* Every instance that depends on i, directly or not, and is not up. */
static void
add_blocks(xctx *x, size_t i, cJSON *arr, unsigned char *mark)
{
	const char *fmri = x->k->insts[i]->cfg->fmri;

	for (size_t j = 0; j < x->k->n; j++) {
		const svc_config *c = x->k->insts[j]->cfg;
		bool              dep = false;

		if (mark[j])
			continue;
		for (size_t gi = 0; gi < c->ndeps && !dep; gi++) {
			if (c->deps[gi].grouping == SVC_DEP_EXCLUDE_ALL ||
			    c->deps[gi].grouping == SVC_DEP_OPTIONAL_ALL)
				continue;
			for (size_t m = 0; m < c->deps[gi].nfmri; m++)
				dep |= strcmp(c->deps[gi].fmris[m], fmri) == 0;
		}
		if (!dep || up(x->k->insts[j]))
			continue;
		mark[j] = 1;
		cJSON_AddItemToArray(arr, cJSON_CreateString(c->fmri));
		add_blocks(x, j, arr, mark);
	}
}

static cJSON *
explain_one(xctx *x, size_t i)
{
	const inst    *in = x->k->insts[i];
	cJSON         *o = cJSON_CreateObject(), *path, *cause, *blocks;
	const char    *absent = NULL;
	unsigned char *mark = calloc(x->k->n + 1, 1);
	long           root;

	memset(x->seen, 0, x->k->n + 1);
	cJSON_AddStringToObject(o, "fmri", in->cfg->fmri);
	cJSON_AddStringToObject(o, "state", svc_st_name(in->st.state));
	add_str_or_null(o, "next_state", svc_st_name(in->st.next));
	add_str_or_null(o, "reason", own_reason(in) ? own_reason(in)
	    : "waiting for its dependencies");
	path = cJSON_AddArrayToObject(o, "path");
	root = root_cause(x, i, path, &absent);
	if (absent) {
		cause = cJSON_AddObjectToObject(o, "cause");
		cJSON_AddStringToObject(cause, "fmri", absent);
		cJSON_AddNullToObject(cause, "state");
		cJSON_AddStringToObject(cause, "reason", "no such instance");
	} else if (root >= 0 && (size_t)root != i) {
		const inst *ri = x->k->insts[root];

		cause = cJSON_AddObjectToObject(o, "cause");
		cJSON_AddStringToObject(cause, "fmri", ri->cfg->fmri);
		cJSON_AddStringToObject(cause, "state", svc_st_name(ri->st.state));
		add_str_or_null(cause, "reason", up(ri) ? "running (excluded)"
		    : own_reason(ri) ? own_reason(ri)
		                      : "waiting for its dependencies");
	} else {
		cJSON_AddNullToObject(o, "cause");
	}
	blocks = cJSON_AddArrayToObject(o, "blocks");
	if (mark) {
		mark[i] = 1;
		add_blocks(x, i, blocks, mark);
	}
	free(mark);
	return o;
}

void
k_h_explain(kstartd *k, kipc_req *r)
{
	const char *f = kipc_json_str(kipc_req_params(r), "fmri");
	long        only = -1;
	cJSON      *res, *arr;
	xctx        x = {k, NULL, NULL, NULL};

	if (f && (only = k_req_instance(k, r)) < 0)
		return;
	x.v = all_views(k);
	x.reach = calloc(k->n + 1, sizeof *x.reach);
	x.seen = calloc(k->n + 1, 1);
	res = cJSON_CreateObject();
	arr = res ? cJSON_AddArrayToObject(res, "instances") : NULL;
	if (!x.v || !x.reach || !x.seen || !arr) {
		kipc_req_fail(r, KE_INTERNAL, "out of memory");
		goto out;
	}
	kgraph_eval(k->graph, x.v, x.reach, NULL);
	for (size_t i = 0; i < k->n; i++) {
		const inst *in = k->insts[i];

		if (only >= 0 ? (long)i != only
		              : (up(in) || (!in->st.enabled &&
		                               in->st.state == SVC_ST_DISABLED)))
			continue;
		if (only >= 0 && up(in))
			continue; /* online: nothing to explain, empty list */
		cJSON_AddItemToArray(arr, explain_one(&x, i));
	}
	kipc_req_reply(r, res);
	res = NULL;
out:
	cJSON_Delete(res);
	free((void *)x.v);
	free(x.reach);
	free(x.seen);
}
