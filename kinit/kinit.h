/*
 * kinit.h -- kinit's private state and the functions its files share.
 *
 * One struct kinit holds everything; the loop in main.c owns it and passes
 * it down.  Files by concern:
 *   main.c      setup, signals, the poll loop
 *   supervise.c kconfigd and kstartd: finding, spawning, readiness, reaping,
 *               restart with backoff
 *   maincmd.c   the main command (kinit -- CMD): terminal, signal forwarding
 *   ctl.c       kinit.sock: peers, the dispatch table, the handlers
 *   shutdown.c  the shutdown phases and killing what is left
 * and the pure parts in kinit_core.h.
 */
#ifndef SYSTEMK_KINIT_H
#define SYSTEMK_KINIT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "kinit_core.h"

#define KINIT_MAX_CONNS      8     /* kinit.sock connections at once */
#define KINIT_CONN_IDLE_MS   5000  /* a silent connection is closed */
#define KINIT_BACKOFF_BASE   100   /* ms, first restart delay of a daemon */
#define KINIT_BACKOFF_MAX    30000 /* ms */
#define KINIT_STABLE_MS      1000  /* ready this long: the backoff starts over */
#define KINIT_IMPORT_TRIES   3     /* starts with --boot-import before giving up */
#define KINIT_HANDOVER_MS    5000  /* kstartd handing over must exit by then */

typedef struct kdaemon {
	const char *name;           /* "kconfigd", "kstartd" */
	char        path[PATH_MAX]; /* absolute, found at start-up */
	bool        restart_auto;   /* restart with backoff when it dies */
	bool        want;           /* should run; false after a manual death */
	bool        boot_import;    /* pass --boot-import on the next start */
	unsigned    import_tries;
	pid_t       pid;            /* 0 when not running (reaped) */
	int         ready_fd;       /* readiness pipe, read end; -1 when none */
	bool        ready;
	bool        ready_eof;      /* closed the pipe without a newline */
	bool        terminated;     /* kinit sent SIGTERM to stop it */
	int64_t     handover_at;    /* kstartd asked to hand over, by then
	                             * it must have exited (SIGKILL); 0: no */
	int64_t     ready_deadline; /* monotonic ms */
	int64_t     started_at;
	int64_t     restart_at;     /* earliest next start */
	unsigned    failures;       /* consecutive, for the backoff */
	unsigned    starts;
} kdaemon;

#define KINIT_FD_NAME 256 /* a kept socket's name, NUL included */

struct kfd { /* a socket kept for kstartd (fdstore.c) */
	char name[KINIT_FD_NAME];
	int  fd;
};

typedef struct kconn {
	int     fd; /* -1 when the slot is free */
	uid_t   uid;
	pid_t   pid;
	bool    priv;
	int64_t idle_deadline;
} kconn;

typedef struct kinit {
	kinit_opts o;
	bool       pid1;
	uid_t      euid;
	int        sigfd;
	int        lfd; /* kinit.sock listener */
	int64_t    accept_at;     /* listener not polled before then; 0 */
	bool       accept_paused; /* accept failed for want of resources */
	char       sock_path[PATH_MAX];
	kconn      conns[KINIT_MAX_CONNS];
	kdaemon    configd, startd;

	/* kstartd's notify sockets, kept while it is down (fdstore.c) */
	struct kfd *kept;
	size_t      nkept, capkept;
	bool        kept_full;  /* warned that no more fit */
	int64_t     kept_until; /* closed then unless a kstartd took them; 0 */
	int         fdch; /* kinit's end of the running kstartd's channel */

	/* the main command */
	pid_t      main_pid; /* 0 when not running */
	bool       main_started;
	int        main_status; /* wait status once reaped */
	bool       main_tty;    /* it was given the terminal */

	int        milestone; /* default: 0 unknown, 1 online, -1 failed */

	/* shutdown */
	bool             stopping;
	int              stop_signal; /* that began it, or 0 */
	bool             default_failed;
	enum kinit_phase phase;
	int64_t          deadline;      /* grace budget end (monotonic) */
	int64_t          kill_deadline; /* end of the wait after SIGKILL */
	bool             unclean;

	bool       children; /* from the last reap: any child left */
	kinit_ring ring;
} kinit;

/* main.c */
int64_t kinit_now(void);      /* CLOCK_MONOTONIC in ms */
int64_t kinit_realtime(void); /* CLOCK_REALTIME in ms */

/* supervise.c */
/* Sets up both daemons and finds their executables; -1 (logged) if one is
 * missing.  Before the must-not-die line only. */
int     sup_init(kinit *k);
/* Reaps every zombie and routes each exit (daemon, main command, ring). */
void    sup_reap(kinit *k);
/* Starts what should run; kills what missed its readiness deadline. */
void    sup_step(kinit *k, int64_t now);
/* The daemon's readiness pipe is readable. */
void    sup_readable(kinit *k, kdaemon *d);
/* Forks and execs d with its flags; 0, or -1 (logged; retry scheduled). */
int     sup_start(kinit *k, kdaemon *d, int64_t now);
/* The next time sup_step has work (monotonic ms), or -1. */
int64_t sup_next_deadline(const kinit *k);
/* In a child before exec: default dispositions, empty mask. */
void    child_reset_signals(void);

/* fdstore.c */
/* A new channel for the kstartd about to start, with what is kept already
 * queued on it: returns kstartd's end (the caller closes it after fork), or
 * -1 (logged: kstartd then runs without). */
int  fdstore_open(kinit *k);
/* kinit's end of the channel is readable. */
void fdstore_readable(kinit *k);
/* kstartd was reaped: its channel closes, what it handed over stays for
 * KINIT_FDSTORE_HOLD_MS (fdstore_step closes it then). */
void    fdstore_gone(kinit *k);
int64_t fdstore_next_deadline(const kinit *k);
void    fdstore_step(kinit *k, int64_t now);

/* maincmd.c */
/* Starts CMD once default is online; shuts down when default failed. */
void main_step(kinit *k);
/* Sends sig to the main command, if it runs (a failure is logged). */
void main_forward(kinit *k, int sig);
/* The main command was reaped with status: shutdown begins. */
void main_exited(kinit *k, int status);

/* ctl.c */
/* 0 when the handlers match proto.h's kinit methods exactly, else -1. */
int     ctl_check_table(void);
/* Listens on RUN_DIR/kinit.sock (0600); -1 (logged) on failure, also when
 * another kinit answers there. */
int     ctl_open(kinit *k);
/* The listener, or a connection, is readable. */
void    ctl_accept(kinit *k);
void    ctl_readable(kinit *k, kconn *c);
/* Decodes, validates and runs the request in buf from peer c; returns its
 * encoded reply (caller frees; NULL when memory ran out), length in *len. */
char   *ctl_req_handle(kinit *k, const kconn *c, const char *buf, size_t n,
                       size_t *len);
/* Closes connections silent past their deadline. */
void    ctl_expire(kinit *k, int64_t now);
int64_t ctl_next_deadline(const kinit *k);
/* Closes every connection and the listener, and removes the socket. */
void    ctl_close_all(kinit *k);

/* shutdown.c */
/* Begins shutdown (idempotent): the budget starts now.  sig is the signal
 * that asked for it (0 when none; the main command then gets SIGTERM). */
void    shutdown_begin(kinit *k, int sig, const char *why);
/* Advances the phases; at their end kinit exits, from here only. */
void    shutdown_step(kinit *k, int64_t now);
int64_t shutdown_next_deadline(const kinit *k);
/* Removes RUN_DIR/shutdown-deadline (at start-up and at the end). */
void    shutdown_deadline_clear(const kinit *k);

#endif /* SYSTEMK_KINIT_H */
