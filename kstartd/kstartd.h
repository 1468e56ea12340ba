/*
 * kstartd.h -- the effectful shell around the restarter core (private).
 *
 *   main.c      setup, the poll loop, signals, reaping, shutdown
 *   instance.c  the instance table: feeds events to svc_step(), performs its
 *               actions (spawn, signal, stop method), exits, timers, the
 *               forking daemon's discovery
 *   settle.c    loading, the graph's consequences, milestones, persisting
 *               (batched: one state.put_many per loop iteration)
 *   handlers.c  svc.list/status/enable/disable/reload
 *   ops.c       svc.restart/refresh/clear/mark/deps/dependents/explain;
 *               the refresh and stop methods
 *   wait.c      deferred replies: svc.wait, svc.changes (kctl wait, watch)
 *   notify.c    NOTIFY_SOCKET per notify instance (sd_notify)
 *   readopt.c   re-adoption of a previous kstartd's services (pidfd,
 *               kinit.exits)
 *   spawn.c     fork+exec of a method, service logs and their rotation
 *
 * Everything here runs on the one loop thread; nng's threads only queue
 * requests (kipc_server_next).
 */
#ifndef KSTARTD_KSTARTD_H
#define KSTARTD_KSTARTD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "graph.h"
#include "kipc.h"
#include "restarter.h"

/* The configd client's bound on every call. */
#define KSTARTD_CALL_MS 2000
/* After a failed state.put, wait this long before trying again. */
#define KSTARTD_PERSIST_RETRY_MS 1000
/*
 * `default` is reported online only after this long without a state change:
 * a child-model service is online at exec, and one that dies at once (exit
 * 96, a missing file) should fail the milestone, not let kinit run its main
 * command first.  Failure is reported at once.
 */
#define KSTARTD_MILESTONE_SETTLE_MS 200
/* Logs rotate at this size (SYSTEMK_LOG_MAX_BYTES overrides), checked at
 * every kstartd line and every KSTARTD_ROTATE_CHECK_MS. */
#define KSTARTD_LOG_MAX_BYTES (1024u * 1024u)
/*
 * `start` snapshots (instances that came online) ride with the state.puts
 * at most this long after the first one is due: a boot of 1000 services
 * costs the repository a few durable commits, not one per loop iteration.
 */
#define KSTARTD_SNAP_COALESCE_MS 300
#define KSTARTD_ROTATE_CHECK_MS 2000

typedef struct inst {
	svc_config    *cfg;
	svc_state      st;
	int64_t        timer_at; /* monotonic ms; 0: no timer armed */
	enum svc_timer timer_kind;
	bool           dirty;     /* state.put pending */
	bool           temporary; /* `enabled` below overrides the repository */
	bool           temp_enabled;
	bool           lost;      /* left UP: dependents to be told */
	bool           left_up;   /* that departure is already recorded */
	enum svc_restart_on lost_cause;
	pid_t          aux_pid;   /* a running refresh or stop method */
	bool           aux_stop;  /* aux_pid is the stop method */
	int64_t        aux_deadline; /* refresh method's timeout (monotonic
	                              * ms); 0: none */
	bool           snap_start; /* came online: take its `start` snapshot
	                            * with the next state.put_many */
	int            pidfd;     /* adopted main process (not our child); -1 */
	uint64_t       start_ticks; /* /proc/PID/stat field 22 of st.pid; 0 */
	int            notify_fd; /* NOTIFY_SOCKET (notify model); -1 */
	char          *status_text; /* last STATUS= */
	pid_t          mainpid;   /* MAINPID= from a notify service; 0 */
	int64_t        exit_wait_since; /* adopted exit awaiting kinit's ring */
	/* svc.timeline (kctl plot): wall ms of this kstartd's first wait
	 * (offline, enabled), start (spawned) and online; 0: not yet. */
	int64_t        tl_wait_ms, tl_start_ms, tl_online_ms;
} inst;

/* A deferred svc.wait or svc.changes: answered when the state settles. */
typedef struct kwaiter {
	kipc_req   *r;
	bool        changes;  /* svc.changes, else svc.wait */
	bool        milestone; /* svc.wait on `default` */
	char        fmri[512];
	enum svc_st want;
	uint64_t    since;
	int64_t     deadline; /* monotonic ms */
} kwaiter;

/* One visible state change, for svc.changes (kctl watch). */
typedef struct kchange {
	uint64_t    seq;
	char       *fmri;
	enum svc_st from, to, next;
	int64_t     wall_ms;
	const char *reason;
} kchange;

#define KSTARTD_RING 512
#define KSTARTD_WAIT_DEF_MS 20000
#define KSTARTD_WAIT_MAX_MS 60000

typedef struct kstartd {
	kipc_paths   paths;
	kipc_client *configd;
	kipc_server *server;
	int          sigfd;
	inst       **insts;
	size_t       n;
	kgraph      *graph; /* over cfgv, rebuilt on reload */
	const svc_config **cfgv; /* insts[i]->cfg, borrowed by graph */
	uint64_t     changes;   /* visible state changes so far */
	int64_t      last_change_ms; /* monotonic time of the last one */
	int64_t      milestone_at;   /* re-check `default` then; 0: no need */
	bool         shutting_down;
	bool         handing_over; /* KPROTO_SIG_STARTD_HANDOVER received */
	/* kinit's shutdown budget (KPROTO_FILE_SHUTDOWN_DEADLINE) less a
	 * margin for the daemons' own exit, monotonic ms; 0: none.  Every
	 * stop timeout armed after shutdown began ends by then. */
	int64_t      stop_deadline;
	int          milestone; /* last reported enum kg_milestone, -1: none */
	int64_t      persist_after; /* monotonic ms; 0: now */
	int64_t      snap_due;  /* send pending start snapshots then; 0: none */
	char        *cg_base;   /* cgroup v2 dir of forking instances; NULL */
	kwaiter     *waiters;
	size_t       nwaiters;
	int64_t      waiters_recheck_at; /* a wait settles then; 0: none */
	kchange      ring[KSTARTD_RING]; /* ring[seq % KSTARTD_RING] */
	cJSON       *recovered; /* state.list of a previous kstartd, first load */
	cJSON       *exits;     /* kinit.exits fetched but not yet matched */
	int64_t      exits_retry_at; /* ask kinit again then; 0: no need */
	int64_t      rotate_at;      /* next log size check */
	/* kinit's fd store (notify.c): the channel, -1 without kinit, and the
	 * notify sockets a previous kstartd left there, until adopted */
	int          fdstore;
	struct kept_sock { char *name; int fd; } *kept;
	size_t       nkept;
} kstartd;

/* ---- time ----------------------------------------------------------------- */
int64_t k_now_ms(void);  /* CLOCK_MONOTONIC */
int64_t k_wall_ms(void); /* CLOCK_REALTIME */
/* RFC 3339 UTC with milliseconds into buf (>= 32 bytes). */
void k_rfc3339(int64_t wall_ms, char *buf, size_t len);

/* ---- instance.c ----------------------------------------------------------- */

/*
 * Replaces the instance table from a repo.running result (instances: an
 * object FMRI -> {"property_groups": ...}).  Existing instances keep their
 * state and take the new config; new ones are created and told ENABLE or
 * DISABLE.  Instances that vanished are stopped and dropped once down.
 * Fails with KE_INTERNAL when memory runs out.
 */
int  k_load(kstartd *k, const cJSON *instances);
long k_find(const kstartd *k, const char *fmri);
/* The effective enablement: temporary override, else the repository. */
bool k_enabled(const inst *in);
/* Runs one event through the core and performs the resulting actions. */
void k_feed(kstartd *k, size_t i, enum svc_ev_type type);
void k_feed_ev(kstartd *k, size_t i, svc_event ev);
/* Routes a reaped child to its instance; unknown pids are logged only. */
void k_child_exited(kstartd *k, pid_t pid, int code, int status);
/* Fires the timers that are due. */
void k_timers(kstartd *k);
/* Milliseconds until the earliest deadline, -1 when there is none. */
int  k_poll_timeout(const kstartd *k);
/*
 * After every loop iteration: propagate dependency loss, start what the
 * graph allows (or stop in reverse order when shutting down), report the
 * default milestone, persist dirty states.
 */
void k_settle(kstartd *k);
/* Shutdown is complete: nothing runs any more. */
bool k_all_down(const kstartd *k);
/* Writes every dirty state to kconfigd now (shutdown). */
void k_persist(kstartd *k);
void k_free(kstartd *k);

/* ---- handlers.c ----------------------------------------------------------- */
void k_handle(kstartd *k, kipc_req *r);
/* The instance a request's fmri names, or -1 after a not_found reply. */
long k_req_instance(kstartd *k, kipc_req *r);
/* repo.set_enabled through kconfigd. */
int  k_set_enabled(kstartd *k, const char *fmri, bool on, char **err);

/* ---- ops.c: operator requests --------------------------------------------- */
void k_h_restart(kstartd *k, kipc_req *r);
void k_h_refresh(kstartd *k, kipc_req *r);
void k_h_clear(kstartd *k, kipc_req *r);
void k_h_mark(kstartd *k, kipc_req *r);
void k_h_deps(kstartd *k, kipc_req *r);
void k_h_dependents(kstartd *k, kipc_req *r);
void k_h_explain(kstartd *k, kipc_req *r);
/* Runs the refresh method of instance i (online only); logs a failure. */
void k_run_refresh(kstartd *k, size_t i);
/* Runs the stop method of instance i; false when it could not. */
bool k_run_stop_method(kstartd *k, size_t i);

/* ---- notify.c: sd_notify ---------------------------------------------------- */
/* Extra environment of the start method (NOTIFY_SOCKET); NULL for none. */
char **k_start_env(kstartd *k, inst *in);
void   k_notify_read(kstartd *k, size_t i);
void   k_notify_close(const kstartd *k, inst *in);
/* Takes what kinit kept on channel fd (--fdstore-fd; -1: none). */
void   k_fdstore_load(kstartd *k, int fd);
/* After adoption: kept sockets nobody took are closed, and dropped from
 * kinit's store. */
void   k_fdstore_prune(kstartd *k);

/* ---- readopt.c: surviving our own death ------------------------------------ */
/* /proc/PID/stat field 22 (start time in clock ticks); 0 when unknown. */
uint64_t k_proc_start_ticks(pid_t pid);
/* state.list of a previous kstartd into k->recovered, and kinit's exits. */
int  k_recover_fetch(kstartd *k, char *why, size_t whylen);
/* Takes over instance i from its recorded state; false: start afresh. */
bool k_adopt(kstartd *k, size_t i);
/* An adopted main process is gone (pidfd readable, or found dead). */
void k_adopted_exited(kstartd *k, size_t i, bool first);
void k_exits_retry(kstartd *k);

/* ---- wait.c: deferred replies ---------------------------------------------- */
void k_h_wait(kstartd *k, kipc_req *r);
void k_h_changes(kstartd *k, kipc_req *r);
/* A visible state change (instance.c): into the ring. */
void k_record_change(kstartd *k, const inst *in, enum svc_st from,
                     enum svc_st to);
/* Answers every waiter whose condition holds or whose deadline passed. */
void k_waiters_check(kstartd *k);
/* Earliest waiter deadline, 0 when none. */
int64_t k_waiters_deadline(const kstartd *k);
/* Shutdown begins: answers every waiter. */
void k_waiters_flush(kstartd *k);
/* The change ring's strings (at exit). */
void k_ring_free(kstartd *k);
/* The status object of DESIGN section 7; verbose adds svc.status fields. */
cJSON *k_status_json(const kstartd *k, size_t i, bool verbose);
/* Calls repo.running and loads it; KE_* code, message in why. */
int    k_reload(kstartd *k, char *why, size_t whylen);

/* ---- cgroup.c: a cgroup v2 per forking instance ----------------------------- */
/* Finds a writable cgroup v2 tree and sets k->cg_base (NULL: none). */
void  k_cgroup_init(kstartd *k);
/* The instance's cgroup.procs, opened for writing (O_CLOEXEC), created if
 * need be; -1 when it has none (not forking, no cgroup v2). */
int   k_cgroup_open(const kstartd *k, const svc_config *cfg);
/* Signals every process of the instance's cgroup not in process group pgid
 * (already signalled); SIGKILL through cgroup.kill.  True if any. */
bool  k_cgroup_signal(const kstartd *k, const svc_config *cfg, pid_t pgid,
                      int sig);
/* The oldest process in the instance's cgroup (the daemon); 0: none. */
pid_t k_cgroup_daemon(const kstartd *k, const svc_config *cfg);
/* At exit: removes the instances' empty cgroups and the base. */
void  k_cgroup_cleanup(kstartd *k);

/* ---- spawn.c -------------------------------------------------------------- */

/* LOG_DIR/NAME:INSTANCE.log ('/' in NAME becomes '-'). */
int  spawn_log_path(const kipc_paths *p, const svc_config *cfg, char *buf,
                    size_t len);
/*
 * Forks and execs argv as method of cfg (see spawn.c for the child's
 * setup).  Returns the pid, or -1 with *err set (errno of the failed step)
 * and the reason in why: the exec failure of the child is reported here,
 * through a close-on-exec pipe, not as a mysterious exit 127.
 */
pid_t spawn_method(const kipc_paths *p, const svc_config *cfg, char **argv,
                   const char *method, char **extra_env, int *err, char *why,
                   size_t whylen);
/* spawn_method whose child first joins the cgroup of cg_procs (an open
 * cgroup.procs; -1: none).  A failure to join is the child's "cgroup"
 * step. */
pid_t spawn_method_cg(const kipc_paths *p, const svc_config *cfg, char **argv,
                      const char *method, char **extra_env, int cg_procs,
                      int *err, char *why, size_t whylen);
/* Rotates the instance's log when it reached the size (copy, truncate). */
void svc_log_rotate(const kipc_paths *p, const svc_config *cfg);
/* A timestamped "kstartd: ..." line in the instance's log. */
void svc_log(const kipc_paths *p, const svc_config *cfg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Between svc_log_hold() and its svc_log_flush() (nestable), svc_log keeps
 * its lines and the flush writes them: one open and write per instance, the
 * console's lines in few writes.  The configs named must live until then:
 * hold and flush within one pass of the loop.
 */
void svc_log_hold(void);
void svc_log_flush(const kipc_paths *p);

#endif /* KSTARTD_KSTARTD_H */
