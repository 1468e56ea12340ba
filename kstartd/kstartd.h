/*
 * kstartd.h -- the effectful shell around the restarter core (private).
 *
 *   main.c      setup, the poll loop, signals, reaping, shutdown
 *   instance.c  the instance table: feeds events to svc_step(), performs its
 *               actions, evaluates the graph, persists, reports milestones
 *   handlers.c  the svc.* requests from kctl
 *   spawn.c     fork+exec of a method, service logs
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

typedef struct inst {
	svc_config    *cfg;
	svc_state      st;
	int64_t        timer_at; /* monotonic ms; 0: no timer armed */
	enum svc_timer timer_kind;
	bool           dirty;     /* state.put pending */
	bool           temporary; /* `enabled` below overrides the repository */
	bool           temp_enabled;
	bool           lost;      /* left UP: dependents to be told */
	enum svc_restart_on lost_cause;
} inst;

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
	int          milestone; /* last reported enum kg_milestone, -1: none */
	int64_t      persist_after; /* monotonic ms; 0: now */
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
/* The status object of DESIGN section 7; verbose adds svc.status fields. */
cJSON *k_status_json(const kstartd *k, size_t i, bool verbose);
/* Calls repo.running and loads it; KE_* code, message in why. */
int    k_reload(kstartd *k, char *why, size_t whylen);

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
                   const char *method, int *err, char *why, size_t whylen);
/* A timestamped "kstartd: ..." line in the instance's log. */
void svc_log(const kipc_paths *p, const svc_config *cfg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* KSTARTD_KSTARTD_H */
