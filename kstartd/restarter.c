/*
 * restarter.c -- the phase x event table of one instance (see restarter.h).
 *
 * Every cell of `table` names the handler for that pair; `nop` marks the
 * pairs that are decided to do nothing, so no pair is left undecided and the
 * unit tests walk them all.  Handlers only touch the state and append
 * actions.
 *
 * Restart policy (DESIGN sections 5 and 7):
 *  - a failure is any exit other than status 0 (signals included), a spawn
 *    that could not exec, or a start method overrunning its timeout;
 *  - exit 95 (fatal) and 96 (config) go to maintenance at once;
 *  - otherwise, unless the policy is `never`, the instance restarts after
 *    a delay that starts at delay_ms and doubles up to max_delay_ms; a run
 *    that lasted a whole window resets the delay;
 *  - at most `burst` restarts per window of window_s (a fixed window that
 *    opens at the first restart in it); the failure that would need one
 *    more goes to maintenance.  burst 0 never gives up.
 *  - a clean exit restarts under `always` only; under the other policies the
 *    instance stays offline ("hold") until enabled again.
 *
 * When the main process of a child or notify service exits, its process
 * group is SIGKILLed: leftovers must not outlive it (cgroups in issue 4).
 *
 * Method timeouts (timeout_s; 0 means none, as in SMF):
 *  - start: a forking, transient or notify start method that overruns is
 *    SIGKILLed with its group; a failure (restart policy applies);
 *  - stop: at the timeout the group gets SIGKILL; a stop method still
 *    running then has hung: it is SIGKILLed and the group takes the signal
 *    path (stop signal, SIGKILL at a fresh stop timeout);
 *  - refresh: the shell times the refresh method; one that overruns is
 *    SIGKILLed and the instance goes to maintenance, as SMF puts an
 *    instance whose refresh method failed;
 *  - at shutdown, stop timeouts are cut to kinit's remaining budget
 *    (svc_event.cap_ms), so every group gets SIGKILL before kinit's own.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "restarter.h"

typedef struct ctx {
	const svc_config *cfg;
	svc_state        *st;
	const svc_event  *ev;
	svc_action       *out;
	size_t           *nout;
} ctx;

typedef void (*handler)(ctx *c);

/* ---- names ---------------------------------------------------------------- */

static const char *const st_names[SVC_ST__COUNT] = {
    NULL, "uninitialized", "offline", "online", "degraded", "maintenance",
    "disabled"};
static const char *const phase_names[SVC_PH__COUNT] = {
    "uninit", "disabled", "offline", "starting", "online", "degraded",
    "stopping", "maintenance"};
static const char *const ev_names[SVC_EV__COUNT] = {
    "enable", "disable", "deps_satisfied", "deps_lost", "spawned", "ready",
    "exit", "restart_timer", "start_timeout", "stop", "stop_timeout",
    "clear", "restart", "mark_degraded", "mark_maintenance", "stopping",
    "mainpid", "method_done", "refresh_timeout"};
static const char *const act_names[SVC_ACT__COUNT] = {
    "spawn", "signal_group", "kill_group", "arm_timer", "cancel_timer",
    "persist", "notify", "stop_method", "kill_method"};

const char *
svc_st_name(enum svc_st s)
{
	return (unsigned)s < SVC_ST__COUNT ? st_names[s] : NULL;
}

int
svc_st_parse(const char *s)
{
	for (int i = 1; s && i < SVC_ST__COUNT; i++)
		if (strcmp(s, st_names[i]) == 0)
			return i;
	return -1;
}

const char *
svc_phase_name(enum svc_phase p)
{
	return (unsigned)p < SVC_PH__COUNT ? phase_names[p] : "?";
}

const char *
svc_ev_name(enum svc_ev_type t)
{
	return (unsigned)t < SVC_EV__COUNT ? ev_names[t] : "?";
}

const char *
svc_act_name(enum svc_act_type t)
{
	return (unsigned)t < SVC_ACT__COUNT ? act_names[t] : "?";
}

/* ---- state ---------------------------------------------------------------- */

void
svc_state_init(svc_state *st, int64_t wall_ms)
{
	memset(st, 0, sizeof *st);
	st->state = SVC_ST_UNINIT;
	st->next = SVC_ST_NONE;
	st->since_wall_ms = wall_ms;
}

enum svc_phase
svc_phase_of(const svc_state *st)
{
	if (st->next == SVC_ST_ONLINE)
		return SVC_PH_STARTING;
	if (st->next != SVC_ST_NONE)
		return SVC_PH_STOPPING;
	switch (st->state) {
	case SVC_ST_DISABLED:    return SVC_PH_DISABLED;
	case SVC_ST_OFFLINE:     return SVC_PH_OFFLINE;
	case SVC_ST_ONLINE:      return SVC_PH_ONLINE;
	case SVC_ST_DEGRADED:    return SVC_PH_DEGRADED;
	case SVC_ST_MAINTENANCE: return SVC_PH_MAINTENANCE;
	default:                 return SVC_PH_UNINIT;
	}
}

bool
svc_running(const svc_state *st)
{
	return st->pid > 0 || st->next == SVC_ST_ONLINE;
}

/* ---- action helpers ------------------------------------------------------- */

/* SVC_MAX_ACTIONS bounds every path below; the check keeps a bug harmless. */
static svc_action *
emit(ctx *c, enum svc_act_type t)
{
	svc_action *a;

	if (*c->nout >= SVC_MAX_ACTIONS)
		return NULL;
	a = &c->out[(*c->nout)++];
	memset(a, 0, sizeof *a);
	a->type = t;
	return a;
}

static void
persist(ctx *c)
{
	for (size_t i = 0; i < *c->nout; i++)
		if (c->out[i].type == SVC_ACT_PERSIST)
			return;
	emit(c, SVC_ACT_PERSIST);
}

/* Moves to (state, next); a visible change is announced and persisted. */
static void
set_state(ctx *c, enum svc_st state, enum svc_st next)
{
	svc_state  *st = c->st;
	svc_action *a;

	if (st->state == state && st->next == next)
		return;
	if ((a = emit(c, SVC_ACT_NOTIFY))) {
		a->from = st->state;
		a->to = state;
	}
	st->state = state;
	st->next = next;
	st->since_wall_ms = c->ev->wall_ms;
	persist(c);
}

static void
arm(ctx *c, enum svc_timer kind, uint64_t ms)
{
	svc_action *a = emit(c, SVC_ACT_ARM_TIMER);

	if (a) {
		a->timer = kind;
		a->ms = ms;
	}
	c->st->timer = kind;
	c->st->timer_due_ms = c->ev->now_ms + (int64_t)ms;
}

static void
cancel(ctx *c)
{
	if (c->st->timer == SVC_TIMER_NONE)
		return;
	emit(c, SVC_ACT_CANCEL_TIMER);
	c->st->timer = SVC_TIMER_NONE;
}

/*
 * The stop timeout, cut to the shutdown budget the event carries (DESIGN
 * section 7: stop timeouts are cut to what is left).  0: none -- timeout_s
 * 0 means no timeout, as in SMF.
 */
static uint64_t
stop_timeout(const ctx *c)
{
	uint64_t ms = c->cfg->stop.timeout_ms, cap = c->ev->cap_ms;

	return cap && (ms == 0 || ms > cap) ? cap : ms;
}

/* Arms a method timeout; 0 arms none (and calls off the old timer). */
static void
arm_timeout(ctx *c, enum svc_timer kind, uint64_t ms)
{
	if (ms)
		arm(c, kind, ms);
	else
		cancel(c);
}

static void
signal_group(ctx *c, enum svc_act_type t, int sig)
{
	svc_action *a = emit(c, t);

	if (a) {
		a->pgid = c->st->pgid > 0 ? c->st->pgid : c->st->pid;
		a->sig = sig;
	}
}

/* ---- lifecycle steps ------------------------------------------------------ */

static void
to_maintenance(ctx *c, const char *reason)
{
	cancel(c);
	c->st->reason = reason;
	set_state(c, SVC_ST_MAINTENANCE, SVC_ST_NONE);
}

/* Fresh accounting after an operator's enable or clear. */
static void
reset_backoff(svc_state *st)
{
	st->delay_ms = 0;
	st->window_count = 0;
	st->window_start_ms = 0;
	st->restarts = 0;
}

/* Starts the start method, or goes online at once when there is none. */
static void
start(ctx *c)
{
	svc_action *a;

	if (c->cfg->error) {
		to_maintenance(c, "invalid configuration");
		return;
	}
	c->st->hold = false;
	c->st->reason = NULL;
	if (!c->cfg->start.argv) {
		set_state(c, SVC_ST_ONLINE, SVC_ST_NONE);
		return;
	}
	if ((a = emit(c, SVC_ACT_SPAWN)))
		a->pgid = 0;
	set_state(c, SVC_ST_OFFLINE, SVC_ST_ONLINE);
}

/* Stops the process group towards next, or settles there at once. */
static void
stop(ctx *c, enum svc_st next)
{
	svc_state *st = c->st;

	if (st->pid <= 0) {
		/* A forking daemon that could not be found: its group is all
		 * there is to signal; no exit will tell when it is gone. */
		if (st->pgid > 0) {
			signal_group(c, SVC_ACT_SIGNAL_GROUP, c->cfg->stop_signal);
			signal_group(c, SVC_ACT_SIGNAL_GROUP, SIGCONT);
			st->pgid = 0;
		}
		cancel(c);
		set_state(c, next, SVC_ST_NONE);
		return;
	}
	if (c->cfg->stop.argv) {
		/* The group gets the signal when the method is done
		 * (METHOD_DONE, also fed when it could not run). */
		signal_group(c, SVC_ACT_STOP_METHOD, c->cfg->stop_signal);
		st->stop_method = true;
	} else {
		signal_group(c, SVC_ACT_SIGNAL_GROUP, c->cfg->stop_signal);
		/* A stopped (SIGSTOP) group must wake to see the signal. */
		signal_group(c, SVC_ACT_SIGNAL_GROUP, SIGCONT);
	}
	st->kill_sent = false;
	arm_timeout(c, SVC_TIMER_STOP, stop_timeout(c));
	set_state(c, st->state, next);
}

/* Opens a new window when the old one has passed; true if one more fits. */
static bool
burst_allows(ctx *c)
{
	svc_state *st = c->st;
	int64_t    window = (int64_t)c->cfg->window_s * 1000;

	if (st->window_count == 0 || c->ev->now_ms - st->window_start_ms >= window) {
		st->window_start_ms = c->ev->now_ms;
		st->window_count = 0;
	}
	return c->cfg->burst == 0 || st->window_count < c->cfg->burst;
}

static void
schedule_restart(ctx *c)
{
	svc_state *st = c->st;
	uint64_t   delay;

	if (!burst_allows(c)) {
		to_maintenance(c, "restarting too quickly");
		return;
	}
	st->window_count++;
	st->restarts++;
	delay = st->delay_ms ? st->delay_ms : c->cfg->delay_ms;
	st->delay_ms = delay * 2 > c->cfg->max_delay_ms ? c->cfg->max_delay_ms
	                                                : delay * 2;
	set_state(c, SVC_ST_OFFLINE, SVC_ST_NONE);
	arm(c, SVC_TIMER_RESTART, delay);
}

static bool
exit_fatal(const svc_event *ev)
{
	return ev->code == CLD_EXITED &&
	    (ev->status == SVC_EXIT_FATAL || ev->status == SVC_EXIT_CONFIG);
}

static bool
exit_clean(const svc_event *ev)
{
	return ev->code == CLD_EXITED && ev->status == 0;
}

/* A failure of the start method or the service: restart or give up. */
static void
failure(ctx *c, const char *reason)
{
	cancel(c);
	if (!c->st->enabled) {
		set_state(c, SVC_ST_DISABLED, SVC_ST_NONE);
		return;
	}
	if (c->ev->type == SVC_EV_EXIT && exit_fatal(c->ev)) {
		to_maintenance(c, c->ev->status == SVC_EXIT_FATAL
		    ? "method exited 95 (fatal)" : "method exited 96 (config)");
		return;
	}
	if (c->cfg->restart == SVC_RESTART_NEVER) {
		to_maintenance(c, reason);
		return;
	}
	c->st->reason = reason;
	schedule_restart(c);
}

/* Records an exit of the main process; false when it is not ours. */
static bool
take_exit(ctx *c)
{
	svc_state *st = c->st;

	if (c->ev->pid <= 0 || c->ev->pid != st->pid)
		return false;
	st->pid = 0;
	st->has_exit = true;
	st->last_exit_code = c->ev->code;
	st->last_exit_status = c->ev->status;
	st->last_exit_wall_ms = c->ev->wall_ms;
	/* The main process is gone: what it left in its group goes too, so a
	 * restart never runs beside leftovers.  Two exceptions, both for a
	 * start that succeeded: a forking start method leaves the daemon in
	 * its group (the service), and a transient job's leftovers are its
	 * business.  A failed start takes the stop path (DESIGN 5) whatever
	 * the model. */
	bool keep = exit_clean(c->ev) &&
	    (c->cfg->model == SVC_MODEL_TRANSIENT ||
	        (c->cfg->model == SVC_MODEL_FORKING &&
	            svc_phase_of(st) == SVC_PH_STARTING));

	if (!keep) {
		svc_action *a = emit(c, SVC_ACT_KILL_GROUP);

		if (a)
			a->pgid = st->pgid > 0 ? st->pgid : c->ev->pid;
		st->pgid = 0;
	}
	/* A run that lasted a whole window was healthy: back off from scratch. */
	if (c->ev->now_ms - st->start_mono_ms >= (int64_t)c->cfg->window_s * 1000)
		st->delay_ms = 0;
	persist(c);
	return true;
}

/* ---- handlers ------------------------------------------------------------- */

static void
nop(ctx *c)
{
	(void)c;
}

static void
go_offline(ctx *c)
{
	c->st->hold = false;
	if (c->st->state == SVC_ST_DISABLED)
		reset_backoff(c->st);
	set_state(c, SVC_ST_OFFLINE, SVC_ST_NONE);
}

static void
go_disabled(ctx *c)
{
	cancel(c);
	c->st->reason = NULL;
	set_state(c, SVC_ST_DISABLED, SVC_ST_NONE);
}

/* OFFLINE: the graph says go. */
static void
offline_deps(ctx *c)
{
	svc_state *st = c->st;

	if (st->enabled && !st->hold && st->timer != SVC_TIMER_RESTART)
		start(c);
}

static void
offline_enable(ctx *c)
{
	c->st->hold = false;
}

static void
offline_timer(ctx *c)
{
	svc_state *st = c->st;

	if (st->timer != SVC_TIMER_RESTART)
		return;
	st->timer = SVC_TIMER_NONE;
	if (st->enabled && st->deps_ok && !st->hold)
		start(c);
}

/* STOP in OFFLINE: a pending restart is called off. */
static void
offline_stop(ctx *c)
{
	cancel(c);
}

static void
starting_spawned(ctx *c)
{
	svc_state *st = c->st;

	if (st->pid > 0)
		return;
	if (c->ev->err || c->ev->pid <= 0) {
		failure(c, "start method could not be executed");
		return;
	}
	st->pid = c->ev->pid;
	st->pgid = c->ev->pid; /* the method leads its own session */
	st->start_wall_ms = c->ev->wall_ms;
	st->start_mono_ms = c->ev->now_ms;
	persist(c);
	if (c->cfg->model == SVC_MODEL_CHILD)
		set_state(c, SVC_ST_ONLINE, SVC_ST_NONE);
	else
		arm_timeout(c, SVC_TIMER_START, c->cfg->start.timeout_ms);
}

static void
starting_ready(ctx *c)
{
	if (c->st->pid <= 0)
		return;
	cancel(c);
	set_state(c, SVC_ST_ONLINE, SVC_ST_NONE);
}

/* The start method exited: success for forking and transient at 0. */
static void
starting_exit(ctx *c)
{
	enum svc_model m = c->cfg->model;

	if (!take_exit(c))
		return;
	cancel(c);
	if (exit_clean(c->ev) && (m == SVC_MODEL_FORKING || m == SVC_MODEL_TRANSIENT))
		set_state(c, SVC_ST_ONLINE, SVC_ST_NONE);
	else
		failure(c, exit_clean(c->ev) ? "exited before it was ready"
		                             : "start method failed");
}

static void
starting_timeout(ctx *c)
{
	svc_state *st = c->st;

	if (st->timer != SVC_TIMER_START)
		return;
	st->timer = SVC_TIMER_NONE;
	st->reason = "start method timed out";
	st->fail_after_stop = true;
	st->kill_sent = true;
	signal_group(c, SVC_ACT_KILL_GROUP, SIGKILL);
	set_state(c, st->state, SVC_ST_OFFLINE);
}

static void
stop_offline(ctx *c)
{
	stop(c, SVC_ST_OFFLINE);
}

static void
stop_disabled(ctx *c)
{
	c->st->reason = NULL;
	stop(c, SVC_ST_DISABLED);
}

/* The service exited on its own. */
static void
online_exit(ctx *c)
{
	if (!take_exit(c))
		return;
	if (exit_clean(c->ev) && c->cfg->restart != SVC_RESTART_ALWAYS) {
		cancel(c);
		c->st->hold = true;
		c->st->reason = "exited";
		set_state(c, SVC_ST_OFFLINE, SVC_ST_NONE);
		return;
	}
	failure(c, exit_clean(c->ev) ? "exited" : "failed");
}

static void
degraded_clear(ctx *c)
{
	set_state(c, SVC_ST_ONLINE, SVC_ST_NONE);
}

static void
stopping_exit(ctx *c)
{
	svc_state *st = c->st;

	if (!take_exit(c))
		return;
	cancel(c);
	if (st->fail_after_stop) {
		st->fail_after_stop = false;
		failure(c, st->reason);
		return;
	}
	set_state(c, st->next, SVC_ST_NONE);
}

/*
 * The stop timeout passed.  A stop method that still runs has hung: it is
 * killed and the group takes the signal path (stop signal, SIGKILL at a
 * fresh stop timeout, as systemd does after ExecStop); else the group gets
 * SIGKILL.
 */
static void
stopping_timeout(ctx *c)
{
	svc_state *st = c->st;

	if (st->timer != SVC_TIMER_STOP)
		return;
	st->timer = SVC_TIMER_NONE;
	if (st->stop_method) {
		st->stop_method = false;
		emit(c, SVC_ACT_KILL_METHOD);
		signal_group(c, SVC_ACT_SIGNAL_GROUP, c->cfg->stop_signal);
		signal_group(c, SVC_ACT_SIGNAL_GROUP, SIGCONT);
		arm_timeout(c, SVC_TIMER_STOP, stop_timeout(c));
		return;
	}
	st->kill_sent = true;
	signal_group(c, SVC_ACT_KILL_GROUP, SIGKILL);
}

/* The stop method is done: now the group gets the stop signal. */
static void
stopping_method_done(ctx *c)
{
	svc_state *st = c->st;

	if (!st->stop_method)
		return;
	st->stop_method = false;
	if (st->pid <= 0 && st->pgid <= 0)
		return;
	signal_group(c, SVC_ACT_SIGNAL_GROUP, c->cfg->stop_signal);
	signal_group(c, SVC_ACT_SIGNAL_GROUP, SIGCONT);
}

/* A stop method outlived its stop (the main process exited first). */
static void
method_forget(ctx *c)
{
	c->st->stop_method = false;
}

/*
 * Shutdown began while stopping: the stop timer is cut to the budget the
 * event carries (or armed, when the stop had no timeout).
 */
static void
stopping_recap(ctx *c)
{
	svc_state *st = c->st;
	uint64_t   cap = c->ev->cap_ms;

	if (!cap || st->kill_sent)
		return;
	if (st->timer == SVC_TIMER_STOP &&
	    st->timer_due_ms <= c->ev->now_ms + (int64_t)cap)
		return;
	arm(c, SVC_TIMER_STOP, cap);
}

/*
 * The refresh method hung: it is killed, and the service goes where SMF
 * puts an instance whose refresh method failed: maintenance (its processes
 * stopped first), until `kctl clear`.
 */
static void
refresh_timeout(ctx *c)
{
	emit(c, SVC_ACT_KILL_METHOD);
	c->st->fail_after_stop = false;
	stop(c, SVC_ST_MAINTENANCE);
	c->st->reason = "refresh method timed out";
}

/* A refresh method overran while the instance is elsewhere: it goes. */
static void
refresh_kill(ctx *c)
{
	emit(c, SVC_ACT_KILL_METHOD);
}

/* Enable while stopping towards disabled: stop, then come back. */
static void
stopping_enable(ctx *c)
{
	if (c->st->next == SVC_ST_DISABLED)
		set_state(c, c->st->state, SVC_ST_OFFLINE);
}

static void
stopping_disable(ctx *c)
{
	c->st->fail_after_stop = false;
	c->st->reason = NULL;
	set_state(c, c->st->state, SVC_ST_DISABLED);
}

static void
maintenance_clear(ctx *c)
{
	reset_backoff(c->st);
	c->st->reason = NULL;
	c->st->hold = false;
	set_state(c, c->st->enabled ? SVC_ST_OFFLINE : SVC_ST_DISABLED,
	    SVC_ST_NONE);
}

/* Operator restart: stop towards offline; the graph starts it again. */
static void
restart_req(ctx *c)
{
	c->st->reason = NULL;
	stop(c, SVC_ST_OFFLINE);
}

static void
mark_degraded(ctx *c)
{
	c->st->reason = "marked degraded by an operator";
	set_state(c, SVC_ST_DEGRADED, SVC_ST_NONE);
}

/* Operator: stop what runs and stay in maintenance until cleared. */
static void
mark_maint(ctx *c)
{
	c->st->fail_after_stop = false;
	stop(c, SVC_ST_MAINTENANCE);
	c->st->reason = "marked maintenance by an operator";
}

/* While stopping: change where the stop ends. */
static void
stopping_mark_maint(ctx *c)
{
	c->st->fail_after_stop = false;
	c->st->reason = "marked maintenance by an operator";
	set_state(c, c->st->state, SVC_ST_MAINTENANCE);
}

/* STOPPING=1 from a notify service: it is on its way out by itself. */
static void
online_stopping(ctx *c)
{
	c->st->reason = "the service said STOPPING=1";
}

/*
 * The shell found the daemon a forking start method left behind, or a
 * notify service named its main process (MAINPID=, from a process of the
 * service): that process is the service from now on, and the exit of the
 * one before it no longer counts.
 */
static void
online_mainpid(ctx *c)
{
	if (c->ev->pid <= 0 || (c->st->pid > 0 && c->st->pid != c->ev->pid &&
	        c->cfg->model != SVC_MODEL_FORKING &&
	        c->cfg->model != SVC_MODEL_NOTIFY))
		return;
	c->st->pid = c->ev->pid;
	if (c->ev->pgid > 0)
		c->st->pgid = c->ev->pgid;
	persist(c);
}

/* ---- the table ------------------------------------------------------------ */

#define ROW(en, dis, dsat, dlost, spawned, ready, ex, rtimer, stimeout, stp,   \
            sptimeout, clr, rst, mdeg, mmaint, stopg, mainpid, mdone, rfto)    \
	{en, dis, dsat, dlost, spawned, ready, ex, rtimer, stimeout, stp,      \
	 sptimeout, clr, rst, mdeg, mmaint, stopg, mainpid, mdone, rfto}

static const handler table[SVC_PH__COUNT][SVC_EV__COUNT] = {
    /*                  enable           disable        deps_sat      deps_lost     spawned           ready           exit           rst_timer      start_to          stop          stop_to           clear         restart       mark_deg       mark_maint        stopping         mainpid  method_done  refresh_to */
    [SVC_PH_UNINIT] =      ROW(go_offline,  go_disabled,   nop,          nop,          nop,              nop,            nop,           nop,           nop,              nop,          nop,              nop, nop,          nop,           nop,              nop, nop, method_forget, refresh_kill),
    [SVC_PH_DISABLED] =    ROW(go_offline,  nop,           nop,          nop,          nop,              nop,            nop,           nop,           nop,              nop,          nop,              nop, nop,          nop,           nop,              nop, nop, method_forget, refresh_kill),
    [SVC_PH_OFFLINE] =     ROW(offline_enable, go_disabled, offline_deps, nop,         nop,              nop,            nop,           offline_timer, nop,              offline_stop, nop,              nop, nop,          nop,           mark_maint,       nop, nop, method_forget, refresh_kill),
    [SVC_PH_STARTING] =    ROW(nop,         stop_disabled, nop,          stop_offline, starting_spawned, starting_ready, starting_exit, nop,           starting_timeout, stop_offline, nop,              nop, restart_req,  nop,           mark_maint,       online_stopping, nop, method_forget, refresh_kill),
    [SVC_PH_ONLINE] =      ROW(nop,         stop_disabled, nop,          stop_offline, nop,              nop,            online_exit,   nop,           nop,              stop_offline, nop,              nop, restart_req,  mark_degraded, mark_maint,       online_stopping, online_mainpid, method_forget, refresh_timeout),
    [SVC_PH_DEGRADED] =    ROW(nop,         stop_disabled, nop,          stop_offline, nop,              nop,            online_exit,   nop,           nop,              stop_offline, nop,              degraded_clear, restart_req,  nop,           mark_maint,       online_stopping, online_mainpid, method_forget, refresh_timeout),
    [SVC_PH_STOPPING] =    ROW(stopping_enable, stopping_disable, nop,   nop,          nop,              nop,            stopping_exit, nop,           nop,              stopping_recap, stopping_timeout, nop, nop,          nop,           stopping_mark_maint, nop, nop, stopping_method_done, refresh_kill),
    [SVC_PH_MAINTENANCE] = ROW(nop,         go_disabled,   nop,          nop,          nop,              nop,            nop,           nop,           nop,              nop,          nop,              maintenance_clear, nop,          nop,           nop,              nop, nop, method_forget, refresh_kill),
};

/*
 * Facts every event carries regardless of the phase: who wants the instance
 * running (enabled) and whether the graph lets it (deps_ok).  Recording them
 * before dispatch keeps the table about transitions only.
 */
static void
record_facts(svc_state *st, enum svc_ev_type t)
{
	switch (t) {
	case SVC_EV_ENABLE:         st->enabled = true; break;
	case SVC_EV_DISABLE:        st->enabled = false; break;
	case SVC_EV_DEPS_SATISFIED: st->deps_ok = true; break;
	case SVC_EV_DEPS_LOST:
	case SVC_EV_STOP:           st->deps_ok = false; break;
	default:                    break;
	}
}

void
svc_step(const svc_config *cfg, svc_state *st, const svc_event *ev,
         svc_action *out, size_t *nout)
{
	ctx c = {cfg, st, ev, out, nout};

	*nout = 0;
	if ((unsigned)ev->type >= SVC_EV__COUNT)
		return;
	record_facts(st, ev->type);
	table[svc_phase_of(st)][ev->type](&c);
}
