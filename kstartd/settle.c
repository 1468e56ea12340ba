/*
 * settle.c -- what follows from the graph, once per loop iteration: loading
 * the running snapshots, starting what may start, stopping in reverse order
 * at shutdown, telling dependents that a dependency left, the `default`
 * milestone, and persisting states to kconfigd in one batch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kstartd.h"

/* ---- loading -------------------------------------------------------------- */

static inst *
inst_new(svc_config *cfg)
{
	inst *in = calloc(1, sizeof *in);

	if (!in)
		return NULL;
	in->cfg = cfg;
	in->pidfd = -1;
	in->notify_fd = -1;
	svc_state_init(&in->st, k_wall_ms());
	return in;
}

/* The graph borrows cfgv; rebuild both whenever a config changes. */
static int
rebuild_graph(kstartd *k)
{
	const svc_config **cfgv = calloc(k->n + 1, sizeof *cfgv);
	kgraph            *g;

	if (!cfgv)
		return KE_INTERNAL;
	for (size_t i = 0; i < k->n; i++)
		cfgv[i] = k->insts[i]->cfg;
	if (!(g = kgraph_new(cfgv, k->n))) {
		free(cfgv);
		return KE_INTERNAL;
	}
	kgraph_free(k->graph);
	free(k->cfgv);
	k->graph = g;
	k->cfgv = cfgv;
	return KE_OK;
}

/*
 * The index among the first n0 instances (those before this load) of fmri,
 * or -1.  Through the graph (built over exactly those), so that a load is
 * not quadratic; a load adds each FMRI once (repo.running's keys).
 */
static long
find_old(const kstartd *k, size_t n0, const char *fmri)
{
	long i;

	if (k->graph && kgraph_size(k->graph) == n0) {
		i = kgraph_find(k->graph, fmri);
		return i >= 0 && (size_t)i < n0 &&
		        strcmp(k->insts[i]->cfg->fmri, fmri) == 0 ? i : -1;
	}
	for (i = 0; i < (long)n0; i++)
		if (strcmp(k->insts[i]->cfg->fmri, fmri) == 0)
			return i;
	return -1;
}

/* Takes cfg: replaces an instance's config or adds a new instance. */
static int
upsert(kstartd *k, size_t n0, svc_config *cfg, svc_config **old)
{
	inst **v;
	long   i = find_old(k, n0, cfg->fmri);

	*old = NULL;
	if (i >= 0) {
		*old = k->insts[i]->cfg;
		k->insts[i]->cfg = cfg;
		return KE_OK;
	}
	if (!(v = realloc(k->insts, (k->n + 1) * sizeof *v)))
		return KE_INTERNAL;
	k->insts = v;
	if (!(v[k->n] = inst_new(cfg)))
		return KE_INTERNAL;
	k->n++;
	return KE_OK;
}

/* Tells each instance what the (possibly new) config wants. */
static void
apply_enablement(kstartd *k)
{
	for (size_t i = 0; i < k->n; i++) {
		inst *in = k->insts[i];
		bool  want = k_enabled(in);

		if (in->cfg->error && in->st.state == SVC_ST_UNINIT)
			klog_err("unable to use '%s': %s", in->cfg->fmri,
			    in->cfg->error);
		if (in->st.state == SVC_ST_UNINIT && k_adopt(k, i))
			continue;
		want = k_enabled(in); /* k_adopt restores -t overrides */
		if (in->st.state == SVC_ST_UNINIT || in->st.enabled != want)
			k_feed(k, i, want ? SVC_EV_ENABLE : SVC_EV_DISABLE);
	}
}

int
k_load(kstartd *k, const cJSON *instances)
{
	const cJSON *it;
	svc_config **olds = calloc((size_t)cJSON_GetArraySize(instances) + 1,
	    sizeof *olds);
	size_t       nold = 0, n0 = k->n; /* n0: the instances before */
	int          rv = KE_OK;

	if (!olds)
		return KE_INTERNAL;
	cJSON_ArrayForEach(it, instances) {
		svc_config *cfg;

		if (!(cfg = svc_config_new(it->string,
		          kipc_json_obj(it, "property_groups")))) {
			klog_err("unable to load '%s': not an instance FMRI",
			    it->string ? it->string : "?");
			continue;
		}
		if ((rv = upsert(k, n0, cfg, &olds[nold])) != KE_OK) {
			svc_config_free(cfg);
			break;
		}
		nold += olds[nold] != NULL;
	}
	if (rv == KE_OK)
		rv = rebuild_graph(k);
	/* Old configs may be freed only once the graph no longer borrows them;
	 * on failure the old graph still does, so they leak rather than dangle. */
	for (size_t i = 0; rv == KE_OK && i < nold; i++)
		svc_config_free(olds[i]);
	free(olds);
	if (rv == KE_OK) {
		svc_log_hold();
		apply_enablement(k);
		svc_log_flush(&k->paths);
	}
	return rv;
}

void
k_free(kstartd *k)
{
	kgraph_free(k->graph); /* first: it borrows the configs */
	k->graph = NULL;
	for (size_t i = 0; i < k->n; i++) {
		if (k->insts[i]->pidfd >= 0)
			close(k->insts[i]->pidfd);
		k_notify_close(k, k->insts[i]);
		free(k->insts[i]->status_text);
		svc_config_free(k->insts[i]->cfg);
		free(k->insts[i]);
	}
	cJSON_Delete(k->recovered);
	cJSON_Delete(k->exits);
	k->recovered = k->exits = NULL;
	free(k->insts);
	free(k->cfgv);
	k->insts = NULL;
	k->graph = NULL;
	k->cfgv = NULL;
	k->n = 0;
}

/* ---- settling ------------------------------------------------------------- */

typedef struct views {
	kg_view       *v;
	enum kg_reach *reach;
	enum kg_sat   *sat;
} views;

static bool
views_eval(const kstartd *k, views *w)
{
	w->v = calloc(k->n + 1, sizeof *w->v);
	w->reach = calloc(k->n + 1, sizeof *w->reach);
	w->sat = calloc(k->n + 1, sizeof *w->sat);
	if (!w->v || !w->reach || !w->sat)
		return false;
	for (size_t i = 0; i < k->n; i++)
		kg_view_from(&w->v[i], &k->insts[i]->st);
	kgraph_eval(k->graph, w->v, w->reach, w->sat);
	return true;
}

static void
views_free(views *w)
{
	free(w->v);
	free(w->reach);
	free(w->sat);
}

/* Dependents with restart_on at or above the cause stop with their dep. */
static void
propagate_losses(kstartd *k)
{
	size_t *out = calloc(k->n + 1, sizeof *out);

	for (size_t i = 0; out && i < k->n; i++) {
		inst  *in = k->insts[i];
		size_t n;

		if (!in->lost)
			continue;
		in->lost = false;
		n = kgraph_affected(k->graph, i, in->lost_cause, out, k->n);
		for (size_t j = 0; j < n && j < k->n; j++) {
			inst *d = k->insts[out[j]];

			if (!svc_running(&d->st) && d->st.state != SVC_ST_ONLINE)
				continue;
			svc_log(&k->paths, d->cfg, "stop: dependency '%s' left",
			    in->cfg->fmri);
			k_feed(k, out[j], SVC_EV_DEPS_LOST);
		}
	}
	free(out);
}

/* An instance whose exclude_all member came online stops (SMF). */
static void
stop_excluded(kstartd *k, const views *w)
{
	for (size_t i = 0; i < k->n; i++) {
		enum svc_phase ph = svc_phase_of(&k->insts[i]->st);
		size_t         by;

		if ((ph != SVC_PH_STARTING && ph != SVC_PH_ONLINE &&
		        ph != SVC_PH_DEGRADED) ||
		    k->insts[i]->st.next == SVC_ST_OFFLINE ||
		    !kgraph_excluded(k->graph, i, w->v, &by))
			continue;
		svc_log(&k->paths, k->insts[i]->cfg, "stop: '%s', which it "
		    "excludes, is online", k->insts[by]->cfg->fmri);
		k_feed(k, i, SVC_EV_DEPS_LOST);
	}
}

/* Level-triggered: the core ignores "go" while it waits for a timer. */
static void
start_ready(kstartd *k, const views *w)
{
	for (size_t i = 0; i < k->n; i++) {
		const svc_state *st = &k->insts[i]->st;

		if (svc_phase_of(st) != SVC_PH_OFFLINE)
			continue;
		if (w->sat[i] == KG_SAT)
			k_feed(k, i, SVC_EV_DEPS_SATISFIED);
		else if (st->deps_ok)
			k_feed(k, i, SVC_EV_DEPS_LOST);
	}
}

/* Reverse dependency order: an instance stops once no dependent runs. */
static void
stop_ready(kstartd *k, const views *w)
{
	for (size_t i = 0; i < k->n; i++) {
		const svc_state *st = &k->insts[i]->st;
		enum svc_phase   ph = svc_phase_of(st);

		if (ph == SVC_PH_OFFLINE && st->timer == SVC_TIMER_RESTART)
			k_feed(k, i, SVC_EV_STOP);
		else if ((ph == SVC_PH_STARTING || ph == SVC_PH_ONLINE ||
		             ph == SVC_PH_DEGRADED) &&
		    kgraph_dependents_down(k->graph, i, w->v))
			k_feed(k, i, SVC_EV_STOP);
	}
}

static void
report_milestone(kstartd *k, const views *w)
{
	enum kg_milestone ms = kgraph_milestone(k->graph, w->v, w->reach);
	const char       *state = ms == KG_MS_ONLINE ? "online" : "failed";
	char              path[300];
	cJSON            *params, *res = NULL;
	char             *err = NULL;
	int               rv;

	k->milestone_at = 0;
	if (k->shutting_down || ms == KG_MS_PENDING || (int)ms == k->milestone)
		return;
	if (ms == KG_MS_ONLINE &&
	    k_now_ms() - k->last_change_ms < KSTARTD_MILESTONE_SETTLE_MS) {
		k->milestone_at = k->last_change_ms + KSTARTD_MILESTONE_SETTLE_MS;
		return;
	}
	k->milestone = (int)ms;
	klog_info("milestone 'default' is %s", state);
	if (kipc_path_join(path, sizeof path, k->paths.run_dir,
	        KPROTO_SOCK_KINIT) != 0 || !(params = cJSON_CreateObject()))
		return;
	cJSON_AddStringToObject(params, "name", "default");
	cJSON_AddStringToObject(params, "state", state);
	rv = kipc_unix_call(path, kproto_method_by_id(KM_KINIT_MILESTONE)->name,
	    params, 1000, &res, &err);
	/* Without kinit (kstartd run standalone) there is nobody to tell. */
	if (rv != KE_OK && rv != KE_UNAVAILABLE)
		klog_warn("unable to tell 'kinit' the milestone: %s",
		    err ? err : kproto_err_name(rv));
	cJSON_Delete(res);
	free(err);
}

void
k_settle(kstartd *k)
{
	/* Signals and spawns first, the log lines of the pass after them. */
	svc_log_hold();
	/* Each round may let one more level of the graph move; n + 2 rounds
	 * bound a chain of instances without methods going online at once. */
	for (size_t round = 0; round < k->n + 2; round++) {
		uint64_t before = k->changes;
		views    w = {0};

		propagate_losses(k);
		if (!views_eval(k, &w)) {
			views_free(&w);
			break;
		}
		if (k->shutting_down) {
			stop_ready(k, &w);
		} else {
			stop_excluded(k, &w);
			start_ready(k, &w);
		}
		if (k->changes == before) {
			report_milestone(k, &w);
			views_free(&w);
			break;
		}
		views_free(&w);
	}
	svc_log_flush(&k->paths);
	/* Shutting down, the states are written once, when all is down
	 * (main.c): a round trip per wave of exits would only delay it. */
	if (!k->shutting_down &&
	    (!k->persist_after || k_now_ms() >= k->persist_after))
		k_persist(k);
}

bool
k_all_down(const kstartd *k)
{
	for (size_t i = 0; i < k->n; i++)
		if (svc_running(&k->insts[i]->st))
			return false;
	return true;
}

/* ---- persisting ----------------------------------------------------------- */

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

/* The volatile record (DESIGN section 3): enough for a later kstartd. */
static cJSON *
state_json(const inst *in)
{
	const svc_state *st = &in->st;
	cJSON           *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "state", svc_st_name(st->state));
	if (st->next == SVC_ST_NONE)
		cJSON_AddNullToObject(o, "next_state");
	else
		cJSON_AddStringToObject(o, "next_state", svc_st_name(st->next));
	if (st->pid > 0)
		kipc_json_add_int64(o, "pid", st->pid);
	else
		cJSON_AddNullToObject(o, "pid");
	/* With pid: a recycled pid is told apart by its start time. */
	if (st->pgid > 0)
		kipc_json_add_int64(o, "pgid", st->pgid);
	if (st->pid > 0 && in->start_ticks)
		kipc_json_add_int64(o, "start_ticks", (int64_t)in->start_ticks);
	kipc_json_add_int64(o, "delay_ms", (int64_t)st->delay_ms);
	add_time(o, "since", st->since_wall_ms);
	add_time(o, "start_time", st->pid > 0 ? st->start_wall_ms : 0);
	kipc_json_add_int64(o, "restarts", st->restarts);
	cJSON_AddBoolToObject(o, "enabled", st->enabled);
	if (in->temporary)
		cJSON_AddBoolToObject(o, "temporary", in->temp_enabled);
	if (st->reason)
		cJSON_AddStringToObject(o, "reason", st->reason);
	if (st->has_exit) {
		cJSON *e = cJSON_AddObjectToObject(o, "last_exit");

		cJSON_AddStringToObject(e, "how",
		    st->last_exit_code == CLD_EXITED ? "exited" : "killed");
		kipc_json_add_int64(e, "status", st->last_exit_status);
		add_time(e, "time", st->last_exit_wall_ms);
	}
	return o;
}

/*
 * The FMRIs whose `start` snapshot is due, as state.put_many's start
 * (DESIGN section 3), once KSTARTD_SNAP_COALESCE_MS passed since the first
 * came due (at once when shutting down); NULL otherwise.
 */
static cJSON *
due_snapshots(kstartd *k)
{
	cJSON  *arr;
	int64_t now = k_now_ms();
	bool    any = false;

	for (size_t i = 0; i < k->n && !any; i++)
		any = k->insts[i]->snap_start;
	if (!any) {
		k->snap_due = 0;
		return NULL;
	}
	if (!k->snap_due)
		k->snap_due = now + KSTARTD_SNAP_COALESCE_MS;
	if ((now < k->snap_due && !k->shutting_down) ||
	    !(arr = cJSON_CreateArray()))
		return NULL;
	for (size_t i = 0; i < k->n; i++)
		if (k->insts[i]->snap_start)
			cJSON_AddItemToArray(arr,
			    cJSON_CreateString(k->insts[i]->cfg->fmri));
	return arr;
}

/*
 * Every dirty state in one state.put_many: one round trip and one commit
 * for any number of instances, with the start snapshots that are due.  On
 * failure everything stays dirty and is tried again shortly (kconfigd may
 * be restarting).
 */
void
k_persist(kstartd *k)
{
	const char *method = kproto_method_by_id(KM_STATE_PUT_MANY)->name;
	cJSON      *params, *states, *res = NULL, *snaps;
	char       *err = NULL;
	size_t      n = 0;
	int         rv;

	k->persist_after = 0;
	if (!(params = cJSON_CreateObject()) ||
	    !(states = cJSON_AddObjectToObject(params, "states"))) {
		cJSON_Delete(params);
		return;
	}
	for (size_t i = 0; i < k->n; i++) {
		if (!k->insts[i]->dirty)
			continue;
		cJSON_AddItemToObject(states, k->insts[i]->cfg->fmri,
		    state_json(k->insts[i]));
		n++;
	}
	if ((snaps = due_snapshots(k)))
		cJSON_AddItemToObject(params, "start", snaps);
	if (n == 0 && !snaps) {
		cJSON_Delete(params);
		return;
	}
	rv = kipc_call(k->configd, method, params, &res, &err);
	cJSON_Delete(res);
	if (rv != KE_OK) {
		klog_warn("unable to persist %zu states: %s", n,
		    err ? err : kproto_err_name(rv));
		free(err);
		k->persist_after = k_now_ms() + KSTARTD_PERSIST_RETRY_MS;
		return;
	}
	for (size_t i = 0; i < k->n; i++) {
		k->insts[i]->dirty = false;
		if (snaps)
			k->insts[i]->snap_start = false;
	}
	if (snaps)
		k->snap_due = 0;
}
