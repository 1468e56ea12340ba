/*
 * restarter.h -- the pure decision core of kstartd (DESIGN section 0).
 *
 *     svc_step(config, state, event) -> state', actions[]
 *
 * One instance's lifecycle as an explicit phase x event table (restarter.c).
 * The core never forks, signals, reads a clock or does IO: time arrives in
 * the event, effects leave as actions, and the shell (main.c, spawn.c)
 * performs them and feeds the outcome back as events.  Tests replay event
 * sequences without a process.
 *
 * The SMF state (`state`, `next_state`) is what users see.  The table is
 * indexed by the *phase*, which is that pair made explicit:
 *
 *   phase         state         next_state     a process runs?
 *   UNINIT        uninitialized none           no
 *   DISABLED      disabled      none           no
 *   OFFLINE       offline       none           no  (waits for deps or timer)
 *   STARTING      offline       online         the start method
 *   ONLINE        online        none           the service (or none: transient)
 *   DEGRADED      degraded      none           as online
 *   STOPPING      any           offline|disabled|maintenance  being stopped
 *   MAINTENANCE   maintenance   none           no
 *
 * Exits, readiness and timers carry what they refer to (pid, timer kind), and
 * one that no longer applies is a no-op, so stale events are harmless.
 */
#ifndef KSTARTD_RESTARTER_H
#define KSTARTD_RESTARTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

enum svc_st {
	SVC_ST_NONE, /* next_state when settled */
	SVC_ST_UNINIT,
	SVC_ST_OFFLINE,
	SVC_ST_ONLINE,
	SVC_ST_DEGRADED,
	SVC_ST_MAINTENANCE,
	SVC_ST_DISABLED,
	SVC_ST__COUNT
};

enum svc_phase {
	SVC_PH_UNINIT,
	SVC_PH_DISABLED,
	SVC_PH_OFFLINE,
	SVC_PH_STARTING,
	SVC_PH_ONLINE,
	SVC_PH_DEGRADED,
	SVC_PH_STOPPING,
	SVC_PH_MAINTENANCE,
	SVC_PH__COUNT
};

enum svc_ev_type {
	SVC_EV_ENABLE,        /* admin or repository: should run */
	SVC_EV_DISABLE,       /* should not run */
	SVC_EV_DEPS_SATISFIED, /* level: the graph says it may start now */
	SVC_EV_DEPS_LOST,     /* a dependency it needs went away */
	SVC_EV_SPAWNED,       /* the shell ran ACT_SPAWN: pid, or err */
	SVC_EV_READY,         /* start done: READY=1 (notify) */
	SVC_EV_EXIT,          /* process pid exited: code, status */
	SVC_EV_RESTART_TIMER, /* the backoff delay has passed */
	SVC_EV_START_TIMEOUT, /* the start method overran its timeout */
	SVC_EV_STOP,          /* stop and stay offline (shutdown, admin) */
	SVC_EV_STOP_TIMEOUT,  /* the group ignored the stop signal */
	SVC_EV_CLEAR,         /* operator: leave maintenance / degraded */
	SVC_EV_RESTART,       /* operator: stop, then start again */
	SVC_EV_MARK_DEGRADED, /* operator: online -> degraded */
	SVC_EV_MARK_MAINT,    /* operator: stop and stay in maintenance */
	SVC_EV_STOPPING,      /* the service said STOPPING=1 (notify) */
	SVC_EV_MAINPID,       /* the shell found a forking daemon: pid, pgid */
	SVC_EV_METHOD_DONE,   /* the stop method exited (or could not run) */
	SVC_EV_REFRESH_TIMEOUT, /* the refresh method overran its timeout */
	SVC_EV__COUNT
};

typedef struct svc_event {
	enum svc_ev_type type;
	int64_t          now_ms;  /* monotonic: backoff, windows, run time */
	int64_t          wall_ms; /* realtime: what "since" shows */
	pid_t            pid;     /* SPAWNED, EXIT, MAINPID */
	pid_t            pgid;    /* MAINPID: its process group */
	int              err;     /* SPAWNED: errno when the spawn failed */
	int              code;    /* EXIT: CLD_EXITED, CLD_KILLED, CLD_DUMPED */
	int              status;  /* EXIT: exit status or signal number */
	/* Shutdown budget (DESIGN section 7): a stop timer armed by this event
	 * is cut to cap_ms; 0: no cap.  The shell sets it on every event once
	 * kinit published its deadline. */
	uint64_t         cap_ms;
} svc_event;

enum svc_timer { SVC_TIMER_NONE, SVC_TIMER_RESTART, SVC_TIMER_START,
	SVC_TIMER_STOP };

enum svc_act_type {
	SVC_ACT_SPAWN,        /* run the start method (a: mainpid for ${MAINPID}) */
	SVC_ACT_SIGNAL_GROUP, /* kill(-pgid, sig) */
	SVC_ACT_KILL_GROUP,   /* kill(-pgid, SIGKILL) */
	SVC_ACT_ARM_TIMER,    /* the instance's one timer := now + ms, kind */
	SVC_ACT_CANCEL_TIMER,
	SVC_ACT_PERSIST,      /* state.put to kconfigd (batched by the shell) */
	SVC_ACT_NOTIFY,       /* state changed: log line, milestone, events */
	SVC_ACT_STOP_METHOD,  /* run the stop method (else: signal the group) */
	SVC_ACT_KILL_METHOD,  /* SIGKILL the running stop or refresh method */
	SVC_ACT__COUNT
};

typedef struct svc_action {
	enum svc_act_type type;
	pid_t             pgid;  /* SIGNAL_GROUP, KILL_GROUP */
	int               sig;   /* SIGNAL_GROUP */
	enum svc_timer    timer; /* ARM_TIMER */
	uint64_t          ms;    /* ARM_TIMER */
	enum svc_st       from, to; /* NOTIFY: visible state before and after */
} svc_action;

/* No transition emits more. */
#define SVC_MAX_ACTIONS 8

/* Why an instance sits where it is; static strings, for status and logs. */
typedef struct svc_state {
	enum svc_st state;
	enum svc_st next;
	bool        enabled;
	bool        deps_ok;   /* the last deps event was SATISFIED */
	bool        hold;      /* exited cleanly, no restart wanted: stay offline */
	bool        fail_after_stop; /* STOPPING because the start failed */
	bool        kill_sent;
	bool        stop_method; /* the stop method runs (STOPPING) */
	pid_t       pid;       /* main process */
	pid_t       pgid;      /* its process group (the start method's; a
	                        * forking daemon's may differ); 0: none */
	enum svc_timer timer;  /* the one armed timer */
	int64_t     timer_due_ms; /* its due time (now_ms clock) */
	int64_t     since_wall_ms;
	int64_t     start_wall_ms; /* last successful spawn */
	int64_t     start_mono_ms;
	uint32_t    restarts;  /* automatic restarts since the last clear */
	uint64_t    delay_ms;  /* next backoff delay; 0: cfg->delay_ms */
	int64_t     window_start_ms;
	uint64_t    window_count;
	bool        has_exit;  /* last_exit_* are set */
	int         last_exit_code;
	int         last_exit_status;
	int64_t     last_exit_wall_ms;
	const char *reason;    /* static text or NULL */
} svc_state;

/* A fresh instance: uninitialized, nothing running. */
void svc_state_init(svc_state *st, int64_t wall_ms);

/* Which row of the table the state is in. */
enum svc_phase svc_phase_of(const svc_state *st);

/*
 * The core.  Updates *st for event ev under cfg and writes at most
 * SVC_MAX_ACTIONS actions to out, their number to *nout.  The shell performs
 * the actions in order.  Never fails: an event that does not apply is a no-op.
 */
void svc_step(const svc_config *cfg, svc_state *st, const svc_event *ev,
              svc_action *out, size_t *nout);

/* Does the instance hold or start a process now (used for stop ordering)? */
bool svc_running(const svc_state *st);

/* Names for status, logs and tests. */
const char *svc_st_name(enum svc_st s);   /* "online"; NULL for NONE */
int         svc_st_parse(const char *s);  /* -1 if unknown */
const char *svc_phase_name(enum svc_phase p);
const char *svc_ev_name(enum svc_ev_type t);
const char *svc_act_name(enum svc_act_type t);

#endif /* KSTARTD_RESTARTER_H */
