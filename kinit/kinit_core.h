/*
 * kinit_core.h -- the pure parts of kinit: argument parsing, the exit ring,
 * exit-status mapping, restart backoff, /proc parsing and the shutdown plan.
 *
 * Nothing here forks, signals, polls or touches a file: main.c and its
 * neighbours (the shell) do that and ask these functions what to do, so the
 * Check suites in tests/unit/kinit_*.c replay any sequence without processes.
 */
#ifndef SYSTEMK_KINIT_CORE_H
#define SYSTEMK_KINIT_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kipc.h"

/* ---- options ------------------------------------------------------------- */

#define KINIT_GRACE_MS_DEFAULT   8000  /* SYSTEMK_GRACE_S (DESIGN section 7) */
#define KINIT_READY_MS_DEFAULT   30000 /* readiness wait per daemon start */
#define KINIT_KILL_WAIT_MS       2000  /* reaping after the final SIGKILL */

typedef struct kinit_opts {
	kipc_paths  paths;
	const char *configd;        /* --configd PATH, or NULL: find it */
	const char *startd;         /* --startd PATH, or NULL: find it */
	bool        startd_auto;    /* --startd-restart=auto */
	int64_t     grace_ms;       /* --grace S, else SYSTEMK_GRACE_S, else 8 s */
	int64_t     ready_ms;       /* --ready-timeout S, else 30 s */
	char      **cmd;            /* main command (NULL-terminated), or NULL */
	bool        help;
	bool        version;
} kinit_opts;

/*
 * Parses kinit's command line.  o->paths must hold the environment's paths
 * (kipc_paths_from_env) already; grace_env is getenv("SYSTEMK_GRACE_S") (may
 * be NULL).  The main command follows "--" or is the first word that is not
 * an option; o->cmd points into argv.
 * Returns 0, or -1 with a reason in why (a usage error: exit 2).
 */
int kinit_parse_args(kinit_opts *o, int argc, char **argv,
                     const char *grace_env, char *why, size_t whylen);

/*
 * Parses a non-negative number of seconds ("8", "0.5") into milliseconds.
 * Returns 0, or -1 if s is not such a number or is above one day.
 */
int kinit_parse_seconds(const char *s, int64_t *ms);

/* ---- the exit ring -------------------------------------------------------- */

/*
 * Exits of processes that are not kinit's own (services orphaned by a kstartd
 * crash, their children), kept for the next kstartd (kinit.exits).  Bounded:
 * when full, the oldest entry is overwritten and counted in dropped.
 */
#define KINIT_RING_CAP 256

typedef struct kinit_exit {
	pid_t   pid;
	int     status;  /* wait(2) status: WIFEXITED/WEXITSTATUS apply */
	int64_t time_ms; /* CLOCK_REALTIME, milliseconds since the epoch */
} kinit_exit;

typedef struct kinit_ring {
	kinit_exit e[KINIT_RING_CAP];
	size_t     head;    /* index of the oldest entry */
	size_t     count;
	uint64_t   dropped; /* overwritten since the last drain */
} kinit_ring;

void kinit_ring_init(kinit_ring *r);
/* Appends; returns true if the oldest entry had to be overwritten. */
bool kinit_ring_push(kinit_ring *r, pid_t pid, int status, int64_t time_ms);
/* Copies up to max entries, oldest first, removes them; returns how many. */
size_t kinit_ring_drain(kinit_ring *r, kinit_exit *out, size_t max);

/* ---- statuses and backoff ------------------------------------------------- */

/* A shell's view of a wait status: the exit code, or 128+N for signal N. */
int kinit_status_code(int wstatus);

/*
 * One line on how a process ended, for the log: "exited 12: repository
 * unusable and no good backup; remedy: restore ..." for a daemon (daemon
 * true: codes are proto.h's daemon exits), "killed by signal 9 (SIGKILL)".
 */
void kinit_describe_status(int wstatus, bool daemon, char *buf, size_t len);

/* Signal name without "SIG" ("TERM"), or "?" . */
const char *kinit_signame(int sig);

/*
 * Delay before restart number `failures` (1 for the first failure) of a
 * daemon: base doubling up to max.  0 failures give 0.
 */
int64_t kinit_backoff_ms(unsigned failures, int64_t base, int64_t max);

/* ---- /proc ------------------------------------------------------------- */

/*
 * The parent pid from the text of /proc/PID/stat ("pid (comm) S ppid ...";
 * comm may hold spaces and parentheses).  Returns 0 or -1 if malformed.
 */
int kinit_stat_ppid(const char *buf, size_t len, pid_t *ppid);

typedef struct kinit_pp {
	pid_t pid;
	pid_t ppid;
} kinit_pp;

/*
 * Every descendant of root in the table (root excluded), written to out (at
 * most max).  Returns how many were found (may exceed max: the rest is cut).
 */
size_t kinit_descendants(const kinit_pp *pp, size_t n, pid_t root, pid_t *out,
                         size_t max);

/* ---- the shutdown plan ------------------------------------------------------ */

/*
 * Shutdown is a sequence of phases; each starts with one action and ends when
 * what it waits for is gone, or at the deadline, where every phase before
 * KINIT_PH_KILL jumps to it.
 *
 *   phase          on entry                 ends when
 *   RUN            -                        shutdown begins
 *   MAIN           signal the main command  it exited
 *   STARTD         SIGTERM kstartd          it exited (services stopped)
 *   CONFIGD        SIGTERM kconfigd         it exited
 *   REST           SIGTERM other processes  kinit has no child left
 *   KILL           SIGKILL everything left  no child left, or kill wait over
 *   DONE           exit                     -
 */
enum kinit_phase {
	KINIT_PH_RUN,
	KINIT_PH_MAIN,
	KINIT_PH_STARTD,
	KINIT_PH_CONFIGD,
	KINIT_PH_REST,
	KINIT_PH_KILL,
	KINIT_PH_DONE,
};

typedef struct kinit_facts {
	bool stopping;     /* shutdown has begun */
	bool main_alive;
	bool startd_alive;
	bool configd_alive;
	bool children;     /* kinit has any child left at all */
	bool deadline;     /* the grace budget is spent */
	bool kill_expired; /* the wait after SIGKILL is over */
} kinit_facts;

/* Entry actions of a phase. */
enum kinit_action {
	KINIT_ACT_NONE = 0,
	KINIT_ACT_SIGNAL_MAIN = 1 << 0,
	KINIT_ACT_TERM_STARTD = 1 << 1,
	KINIT_ACT_TERM_CONFIGD = 1 << 2,
	KINIT_ACT_TERM_REST = 1 << 3,
	KINIT_ACT_KILL_ALL = 1 << 4,
	KINIT_ACT_EXIT = 1 << 5,
};

/* The phase that follows ph given f (ph itself when it must wait). */
enum kinit_phase kinit_phase_next(enum kinit_phase ph, const kinit_facts *f);
/* What to do on entering ph (a mask of enum kinit_action). */
int kinit_phase_actions(enum kinit_phase ph);
const char *kinit_phase_name(enum kinit_phase ph);

/* ---- the final exit status ------------------------------------------------ */

typedef struct kinit_outcome {
	bool has_cmd;        /* main-command mode */
	bool cmd_started;
	int  cmd_status;     /* its wait status, when started and reaped */
	bool default_failed; /* the default milestone failed before CMD ran */
	int  stop_signal;    /* the signal that began shutdown, or 0 */
	bool clean;          /* every daemon exited 0 and nothing needed SIGKILL */
} kinit_outcome;

/*
 * kinit's exit status: in main-command mode the command's (128+N for signal
 * N, 126/127 when it could not be executed), 1 when default failed first,
 * 128+N when signal N stopped kinit before the command ran; without one,
 * 0 when everything stopped cleanly, else 1.
 */
int kinit_final_status(const kinit_outcome *o);

#endif /* SYSTEMK_KINIT_CORE_H */
