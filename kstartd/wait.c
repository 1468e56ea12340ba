/*
 * wait.c -- deferred replies: svc.wait and svc.changes (proto.h).
 *
 * A waiting request is not answered by its handler: the kipc_req stays
 * alive in k->waiters and the loop answers it after a k_settle() in which
 * its condition came to hold, or when its deadline passes.  Nothing polls:
 * the check runs once per loop iteration, which runs only when something
 * happened (an exit, a request, a timer), and the deadlines join the
 * loop's poll timeout.  Every waiter gets exactly one reply, also at
 * shutdown.
 *
 * svc.wait outcomes (kctl maps them to exit codes 0, 8, 9, 7):
 *   reached      the instance is settled in the wanted state (online also
 *                accepts degraded); the milestone is online
 *   cannot       the instance itself cannot get there without an operator
 *                (maintenance, disabled, exited and held, bad config)
 *   deps_cannot  it waits on a dependency that cannot come online; the
 *                milestone failed
 *   timeout      the deadline passed first
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kstartd.h"

/* ---- the change ring ------------------------------------------------------ */

void
k_record_change(kstartd *k, const inst *in, enum svc_st from, enum svc_st to)
{
	kchange *c = &k->ring[k->changes % KSTARTD_RING];

	free(c->fmri);
	c->seq = k->changes;
	c->fmri = strdup(in->cfg->fmri);
	c->from = from;
	c->to = to;
	c->next = in->st.next;
	c->wall_ms = k_wall_ms();
	c->reason = in->st.reason;
}

static cJSON *
changes_json(const kstartd *k, uint64_t since)
{
	cJSON   *res = cJSON_CreateObject(), *arr;
	uint64_t first = k->changes > KSTARTD_RING ? k->changes - KSTARTD_RING + 1
	                                           : 1;
	char     ts[40];

	if (!res)
		return NULL;
	kipc_json_add_int64(res, "generation", (int64_t)k->changes);
	cJSON_AddBoolToObject(res, "lost", since + 1 < first);
	arr = cJSON_AddArrayToObject(res, "changes");
	for (uint64_t s = since + 1 < first ? first : since + 1;
	     arr && s <= k->changes; s++) {
		const kchange *c = &k->ring[s % KSTARTD_RING];
		cJSON         *o = cJSON_CreateObject();

		if (!o || c->seq != s || !c->fmri) {
			cJSON_Delete(o);
			continue;
		}
		cJSON_AddItemToArray(arr, o);
		kipc_json_add_int64(o, "seq", (int64_t)s);
		cJSON_AddStringToObject(o, "fmri", c->fmri);
		cJSON_AddStringToObject(o, "from", svc_st_name(c->from));
		cJSON_AddStringToObject(o, "to", svc_st_name(c->to));
		if (c->next == SVC_ST_NONE)
			cJSON_AddNullToObject(o, "next_state");
		else
			cJSON_AddStringToObject(o, "next_state",
			    svc_st_name(c->next));
		k_rfc3339(c->wall_ms, ts, sizeof ts);
		cJSON_AddStringToObject(o, "time", ts);
		if (c->reason)
			cJSON_AddStringToObject(o, "reason", c->reason);
		else
			cJSON_AddNullToObject(o, "reason");
	}
	return res;
}

/* ---- registering ---------------------------------------------------------- */

static int64_t
req_timeout(kipc_req *r)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(kipc_req_params(r),
	    "timeout_ms");
	int64_t      ms = KSTARTD_WAIT_DEF_MS;

	if (t && kipc_json_int64(t, &ms) != 0)
		ms = KSTARTD_WAIT_DEF_MS;
	if (ms < 0)
		ms = 0;
	if (ms > KSTARTD_WAIT_MAX_MS)
		ms = KSTARTD_WAIT_MAX_MS;
	return ms;
}

static bool
add_waiter(kstartd *k, const kwaiter *w)
{
	kwaiter *v = realloc(k->waiters, (k->nwaiters + 1) * sizeof *v);

	if (!v)
		return false;
	k->waiters = v;
	v[k->nwaiters++] = *w;
	return true;
}

static bool
is_milestone(const char *f)
{
	return strcmp(f, "default") == 0 || strcmp(f, "milestone/default") == 0 ||
	    strcmp(f, "svc:/milestone/default") == 0 ||
	    strcmp(f, "svc:/default") == 0;
}

/* Nothing waits once shutdown began: its replies must be long sent when the
 * server closes (nng 1.5 can deadlock closing a socket mid-send, nng#1813). */
static bool
refuse_in_shutdown(kstartd *k, kipc_req *r)
{
	if (!k->shutting_down)
		return false;
	kipc_req_fail(r, KE_UNAVAILABLE, "k.startd is shutting down");
	return true;
}

void
k_h_wait(kstartd *k, kipc_req *r)
{
	const cJSON *p = kipc_req_params(r);
	const char  *f = kipc_json_str(p, "fmri");
	const char  *st = kipc_json_str(p, "state");
	kwaiter      w = {.r = r, .want = SVC_ST_ONLINE};
	char         canon[512];
	int          want;

	if (refuse_in_shutdown(k, r))
		return;
	if (st && ((want = svc_st_parse(st)) < 0 || want == SVC_ST_UNINIT)) {
		kipc_req_fail(r, KE_INVALID, "state: not a state: '%.32s'", st);
		return;
	}
	if (st)
		w.want = (enum svc_st)want;
	if (svc_fmri_canon(f, canon, sizeof canon) != 0) {
		kipc_req_fail(r, KE_INVALID, "not an FMRI: '%s'", f ? f : "");
		return;
	}
	if (k_find(k, canon) < 0 && is_milestone(f)) {
		w.milestone = true;
		if (w.want != SVC_ST_ONLINE) {
			kipc_req_fail(r, KE_INVALID, "a milestone can only be "
			    "waited for to be online");
			return;
		}
	} else if (k_find(k, canon) < 0) {
		kipc_req_fail(r, KE_NOT_FOUND, "no such instance: '%s'", canon);
		return;
	}
	snprintf(w.fmri, sizeof w.fmri, "%s", w.milestone ? "default" : canon);
	w.deadline = k_now_ms() + req_timeout(r);
	if (!add_waiter(k, &w))
		kipc_req_fail(r, KE_INTERNAL, "out of memory");
}

void
k_h_changes(kstartd *k, kipc_req *r)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(kipc_req_params(r),
	    "since");
	kwaiter      w = {.r = r, .changes = true};
	int64_t      since = -1;

	if (refuse_in_shutdown(k, r))
		return;
	if (s && (kipc_json_int64(s, &since) != 0 || since < 0)) {
		kipc_req_fail(r, KE_INVALID, "since: not a generation");
		return;
	}
	/* Without since: the current generation at once, to start from.  A
	 * generation from the future is a previous kstartd's: start again. */
	if (since < 0 || (uint64_t)since > k->changes) {
		kipc_req_reply(r, changes_json(k, k->changes));
		return;
	}
	w.since = (uint64_t)since;
	w.deadline = k_now_ms() + req_timeout(r);
	if (!add_waiter(k, &w))
		kipc_req_fail(r, KE_INTERNAL, "out of memory");
}

/* ---- answering ------------------------------------------------------------ */

static const char *
self_cannot(const inst *in, enum svc_st want)
{
	const svc_state *st = &in->st;

	if (want == SVC_ST_DISABLED)
		return st->enabled ? "it is enabled" : NULL;
	if (want != SVC_ST_ONLINE && want != SVC_ST_DEGRADED)
		return NULL;
	if (in->cfg->error)
		return in->cfg->error;
	if (st->state == SVC_ST_MAINTENANCE && st->next == SVC_ST_NONE)
		return st->reason ? st->reason : "in maintenance";
	if (!st->enabled)
		return "it is disabled";
	if (st->hold && svc_phase_of(st) == SVC_PH_OFFLINE)
		return "it exited and is not restarted";
	return NULL;
}

static bool
reached(const inst *in, enum svc_st want)
{
	const svc_state *st = &in->st;

	if (st->next != SVC_ST_NONE)
		return false;
	if (want == SVC_ST_ONLINE)
		return st->state == SVC_ST_ONLINE || st->state == SVC_ST_DEGRADED;
	return st->state == want;
}

static cJSON *
outcome(const kstartd *k, const kwaiter *w, long i, const char *out,
        const char *reason)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "fmri", w->fmri);
	if (i >= 0) {
		cJSON_AddStringToObject(o, "state",
		    svc_st_name(k->insts[i]->st.state));
		if (k->insts[i]->st.next == SVC_ST_NONE)
			cJSON_AddNullToObject(o, "next_state");
		else
			cJSON_AddStringToObject(o, "next_state",
			    svc_st_name(k->insts[i]->st.next));
	}
	cJSON_AddStringToObject(o, "outcome", out);
	if (reason)
		cJSON_AddStringToObject(o, "reason", reason);
	else
		cJSON_AddNullToObject(o, "reason");
	return o;
}

/* The reply for w now, or NULL while it must wait. */
static cJSON *
check_one(const kstartd *k, const kwaiter *w, const enum kg_reach *reach,
          const kg_view *v, bool expired, int64_t *recheck)
{
	long        i = -1;
	const char *why;

	if (w->changes) {
		if (k->changes > w->since || expired)
			return changes_json(k, w->since);
		return NULL;
	}
	if (w->milestone) {
		enum kg_milestone ms = kgraph_milestone(k->graph, v, reach);

		if (ms == KG_MS_ONLINE)
			return outcome(k, w, -1, "reached", NULL);
		if (ms == KG_MS_FAILED)
			return outcome(k, w, -1, "deps_cannot",
			    "an enabled instance cannot come online "
			    "(kctl explain)");
		return expired ? outcome(k, w, -1, "timeout", NULL) : NULL;
	}
	if ((i = k_find(k, w->fmri)) < 0)
		return outcome(k, w, -1, "cannot", "the instance is gone");
	if (reached(k->insts[i], w->want)) {
		/* A child-model service is online at exec; one that dies at
		 * once (a missing file, exit 96) must not count as reached.
		 * The same settle time as the milestone's, then a re-check. */
		const inst *in = k->insts[i];
		int64_t     ok_at = in->st.start_mono_ms +
		    KSTARTD_MILESTONE_SETTLE_MS;

		if (w->want != SVC_ST_ONLINE || in->cfg->model != SVC_MODEL_CHILD ||
		    in->st.pid <= 0 || k_now_ms() >= ok_at)
			return outcome(k, w, i, "reached", NULL);
		if (!*recheck || ok_at < *recheck)
			*recheck = ok_at;
		return NULL;
	}
	if ((why = self_cannot(k->insts[i], w->want)))
		return outcome(k, w, i, "cannot", why);
	if ((w->want == SVC_ST_ONLINE || w->want == SVC_ST_DEGRADED) &&
	    reach[i] == KG_NEVER && svc_phase_of(&k->insts[i]->st) ==
	    SVC_PH_OFFLINE)
		return outcome(k, w, i, "deps_cannot",
		    "a dependency cannot come online (kctl explain)");
	return expired ? outcome(k, w, i, "timeout", NULL) : NULL;
}

void
k_waiters_check(kstartd *k)
{
	kg_view       *v;
	enum kg_reach *reach;
	int64_t        now = k_now_ms();
	size_t         keep = 0;

	k->waiters_recheck_at = 0;
	if (k->nwaiters == 0)
		return;
	v = calloc(k->n + 1, sizeof *v);
	reach = calloc(k->n + 1, sizeof *reach);
	if (!v || !reach) {
		free(v);
		free(reach);
		return;
	}
	for (size_t j = 0; j < k->n; j++)
		kg_view_from(&v[j], &k->insts[j]->st);
	if (k->graph)
		kgraph_eval(k->graph, v, reach, NULL);
	for (size_t j = 0; j < k->nwaiters; j++) {
		kwaiter *w = &k->waiters[j];
		cJSON   *res = check_one(k, w, reach, v, now >= w->deadline,
		    &k->waiters_recheck_at);

		if (res)
			kipc_req_reply(w->r, res);
		else
			k->waiters[keep++] = *w;
	}
	k->nwaiters = keep;
	free(v);
	free(reach);
}

int64_t
k_waiters_deadline(const kstartd *k)
{
	int64_t first = k->waiters_recheck_at;

	for (size_t j = 0; j < k->nwaiters; j++)
		if (!first || k->waiters[j].deadline < first)
			first = k->waiters[j].deadline;
	return first;
}

void
k_waiters_flush(kstartd *k)
{
	for (size_t j = 0; j < k->nwaiters; j++)
		kipc_req_fail(k->waiters[j].r, KE_UNAVAILABLE,
		    "k.startd is shutting down");
	free(k->waiters);
	k->waiters = NULL;
	k->nwaiters = 0;
}

void
k_ring_free(kstartd *k)
{
	for (size_t j = 0; j < KSTARTD_RING; j++) {
		free(k->ring[j].fmri);
		k->ring[j].fmri = NULL;
	}
}
