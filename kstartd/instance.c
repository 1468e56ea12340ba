/*
 * instance.c -- the instance table: where events meet the core and actions
 * meet the system.
 *
 * k_feed_ev() is the only caller of svc_step().  Actions are performed in
 * the order the core gave them; a spawn's outcome becomes the SPAWNED event,
 * fed after the current actions so that log lines keep their order.
 * Graph-level consequences (who may start now, who must stop because a
 * dependency left) are computed once per loop iteration in k_settle(), never
 * from inside an action, so nothing recurses through the graph.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "kstartd.h"

/* ---- lookup --------------------------------------------------------------- */

long
k_find(const kstartd *k, const char *fmri)
{
	if (k->graph)
		return kgraph_find(k->graph, fmri);
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->insts[i]->cfg->fmri, fmri) == 0)
			return (long)i;
	return -1;
}

bool
k_enabled(const inst *in)
{
	return in->temporary ? in->temp_enabled : in->cfg->enabled;
}

/* ---- performing actions --------------------------------------------------- */

/*
 * kill(-pgid) with a guard: pgid 0 or 1 would hit kstartd or everyone.
 * True when some process received it.
 */
static bool
signal_group(const inst *in, pid_t pgid, int sig)
{
	if (pgid <= 1) {
		klog_err("unable to signal '%s': no process group",
		    in->cfg->fmri);
		return false;
	}
	if (kill(-pgid, sig) == 0)
		return true;
	if (errno != ESRCH)
		klog_err("unable to signal '%s': %s", in->cfg->fmri,
		    strerror(errno));
	return false;
}

static void
spawn_start(kstartd *k, inst *in, svc_event *next)
{
	char **argv = svc_method_argv(in->cfg, &in->cfg->start, in->st.pid);
	char   why[512] = "out of memory";
	int    err = ENOMEM;
	pid_t  pid = -1;

	if (argv)
		pid = spawn_method(&k->paths, in->cfg, argv, "start", &err, why,
		    sizeof why);
	*next = (svc_event){.type = SVC_EV_SPAWNED, .pid = pid > 0 ? pid : 0,
	    .err = pid > 0 ? 0 : err};
	if (pid > 0) {
		svc_log(&k->paths, in->cfg, "start: pid %ld: %s", (long)pid,
		    argv[0]);
	} else {
		svc_log(&k->paths, in->cfg, "start failed: %s", why);
		klog_err("unable to start '%s': %s", in->cfg->fmri, why);
	}
	svc_argv_free(argv);
}

static void
notify(kstartd *k, inst *in, const svc_event *ev, const svc_action *a)
{
	const char *to = svc_st_name(a->to);
	const char *next = svc_st_name(in->st.next);
	const char *why = in->st.reason;

	k->changes++;
	k->last_change_ms = ev->now_ms;

	if (next)
		svc_log(&k->paths, in->cfg, "state: %s -> %s* (next %s)",
		    svc_st_name(a->from), to, next);
	else
		svc_log(&k->paths, in->cfg, "state: %s -> %s",
		    svc_st_name(a->from), to);
	if (why && (a->to == SVC_ST_MAINTENANCE || a->to == SVC_ST_OFFLINE))
		svc_log(&k->paths, in->cfg, "reason: %s", why);
	if (a->to == SVC_ST_MAINTENANCE)
		klog_warn("'%s' is in maintenance: %s", in->cfg->fmri,
		    why ? why : "?");
	/* Leaving UP: online or degraded before, and no longer settled there. */
	bool was_up = a->from == SVC_ST_ONLINE || a->from == SVC_ST_DEGRADED;
	bool is_up = (a->to == SVC_ST_ONLINE || a->to == SVC_ST_DEGRADED) &&
	    in->st.next == SVC_ST_NONE;

	if (was_up && !is_up && !in->lost) {
		bool failed = ev->type == SVC_EV_EXIT &&
		    !(ev->code == CLD_EXITED && ev->status == 0);

		in->lost = true;
		in->lost_cause = failed ? SVC_RON_ERROR : SVC_RON_RESTART;
	}
}

static void
perform(kstartd *k, inst *in, const svc_event *ev, const svc_action *a,
        svc_event *next)
{
	switch (a->type) {
	case SVC_ACT_SPAWN:
		spawn_start(k, in, next);
		break;
	case SVC_ACT_SIGNAL_GROUP:
		signal_group(in, a->pgid, a->sig);
		break;
	case SVC_ACT_KILL_GROUP:
		/* Often the group is already empty; say so only when it was not. */
		if (signal_group(in, a->pgid, SIGKILL))
			svc_log(&k->paths, in->cfg, "killed process group %ld",
			    (long)a->pgid);
		break;
	case SVC_ACT_ARM_TIMER:
		in->timer_at = ev->now_ms + (int64_t)a->ms;
		in->timer_kind = a->timer;
		break;
	case SVC_ACT_CANCEL_TIMER:
		in->timer_at = 0;
		in->timer_kind = SVC_TIMER_NONE;
		break;
	case SVC_ACT_PERSIST:
		in->dirty = true;
		break;
	case SVC_ACT_NOTIFY:
		notify(k, in, ev, a);
		break;
	default:
		break;
	}
}

void
k_feed_ev(kstartd *k, size_t i, svc_event ev)
{
	inst      *in = k->insts[i];
	svc_action acts[SVC_MAX_ACTIONS];
	size_t     n;

	/* A spawn yields one follow-up event; bound the chain all the same. */
	for (int round = 0; round < 4; round++) {
		svc_event next = {.type = SVC_EV__COUNT};

		ev.now_ms = k_now_ms();
		ev.wall_ms = k_wall_ms();
		svc_step(in->cfg, &in->st, &ev, acts, &n);
		for (size_t a = 0; a < n; a++)
			perform(k, in, &ev, &acts[a], &next);
		if (next.type == SVC_EV__COUNT)
			return;
		ev = next;
	}
}

void
k_feed(kstartd *k, size_t i, enum svc_ev_type type)
{
	k_feed_ev(k, i, (svc_event){.type = type});
}

/* ---- exits and timers ----------------------------------------------------- */

static void
log_exit(kstartd *k, inst *in, pid_t pid, int code, int status)
{
	if (code == CLD_EXITED)
		svc_log(&k->paths, in->cfg, "exit: pid %ld exited %d",
		    (long)pid, status);
	else
		svc_log(&k->paths, in->cfg, "exit: pid %ld killed by signal %d%s",
		    (long)pid, status, code == CLD_DUMPED ? " (core dumped)" : "");
}

void
k_child_exited(kstartd *k, pid_t pid, int code, int status)
{
	for (size_t i = 0; i < k->n; i++) {
		if (k->insts[i]->st.pid != pid)
			continue;
		log_exit(k, k->insts[i], pid, code, status);
		k_feed_ev(k, i, (svc_event){.type = SVC_EV_EXIT, .pid = pid,
		    .code = code, .status = status});
		return;
	}
	/* A daemon's grandchild re-parented to us (subreaper), or a failed
	 * spawn's child: reaped, nothing else to do. */
}

static enum svc_ev_type
timer_event(enum svc_timer kind)
{
	switch (kind) {
	case SVC_TIMER_RESTART: return SVC_EV_RESTART_TIMER;
	case SVC_TIMER_START:   return SVC_EV_START_TIMEOUT;
	default:                return SVC_EV_STOP_TIMEOUT;
	}
}

void
k_timers(kstartd *k)
{
	int64_t now = k_now_ms();

	for (size_t i = 0; i < k->n; i++) {
		inst *in = k->insts[i];

		if (!in->timer_at || in->timer_at > now)
			continue;
		enum svc_timer kind = in->timer_kind;

		in->timer_at = 0;
		in->timer_kind = SVC_TIMER_NONE;
		if (kind == SVC_TIMER_START)
			svc_log(&k->paths, in->cfg, "start method timed out");
		else if (kind == SVC_TIMER_STOP)
			svc_log(&k->paths, in->cfg, "stop timed out");
		k_feed(k, i, timer_event(kind));
	}
}

int
k_poll_timeout(const kstartd *k)
{
	int64_t now = k_now_ms(), first = 0;

	for (size_t i = 0; i < k->n; i++)
		if (k->insts[i]->timer_at &&
		    (!first || k->insts[i]->timer_at < first))
			first = k->insts[i]->timer_at;
	if (k->persist_after && (!first || k->persist_after < first))
		first = k->persist_after;
	if (k->milestone_at && (!first || k->milestone_at < first))
		first = k->milestone_at;
	if (!first)
		return -1;
	if (first <= now)
		return 0;
	return first - now > 60000 ? 60000 : (int)(first - now);
}
