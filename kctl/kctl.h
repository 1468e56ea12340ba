/*
 * kctl.h -- kctl's private interface: the verb table, the parsed command line,
 * the transport seam, and the pure helpers (FMRIs, tables, output).
 *
 * Everything declared here except the real transport (transport.c) lives in
 * kctl_core, which links kipc_core but not nng: unit tests run whole command
 * lines through kctl_run() against a fake transport, without any daemon.
 *
 * Ownership follows libkipc: a function that takes a cJSON * "taken" frees
 * it, also on error; returned cJSON * and char * belong to the caller.
 */
#ifndef SYSTEMK_KCTL_H
#define SYSTEMK_KCTL_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include <cJSON.h>

#include "kipc.h"
#include "proto.h"

#define KCTL_PROG               "kctl"
#define KCTL_DEFAULT_TIMEOUT_MS 30000
#define KCTL_MAX_FLAGS          16
#define KCTL_FMRI_MAX           256 /* "svc:/" NAME ":" INSTANCE, NUL */
#define KCTL_NAME_MAX           120 /* one service or instance name */

/* ---- options that may stand before or after the verb --------------------- */

typedef struct kctl_opts {
	bool       json;
	bool       help;
	bool       timeout_set; /* --timeout given: it also bounds waits */
	int        timeout_ms;
	kipc_paths paths;
} kctl_opts;

/* ---- the transport seam -------------------------------------------------- */

/*
 * One request to one daemon (a KD_* bit).  params taken.  Returns KE_OK with
 * *result (caller frees) or an error code with *errmsg (caller frees; may be
 * NULL).  The real one (transport.c) dials lazily with opts' run dir and
 * timeout; tests substitute their own.
 */
typedef struct kctl_transport kctl_transport;
struct kctl_transport {
	int (*call)(kctl_transport *tp, const kctl_opts *opts, int daemon,
	    const char *method, cJSON *params, cJSON **result, char **errmsg);
	void (*close)(kctl_transport *tp);
	void *arg;
};

/* ---- the verb table ------------------------------------------------------ */

typedef struct kctl_ctx  kctl_ctx;
typedef int              kctl_handler(kctl_ctx *ctx);

/*
 * One row per verb.  flags lists the verb's own options, space-separated;
 * '|' separates spellings of one option (the first is its name for
 * kctl_flag()), a trailing '=' means it takes a value: "-a|--all -n|--lines=".
 * A verb's own option wins over a global one of the same spelling.
 */
typedef struct kctl_verb {
	const char   *name;
	kctl_handler *handler;
	const char   *usage;   /* what follows the name in a usage line */
	const char   *flags;
	int           min_args; /* operands */
	int           max_args; /* -1: no limit */
	int           needs;    /* mask of KD_*: the daemons it may talk to */
	const char   *summary;
	/* > 0: from this many operands on, a word that is no option of the
	 * verb nor a global one is an operand too ("set ... /bin/sh -c X") */
	int           values_from;
} kctl_verb;

const kctl_verb *kctl_verb_find(const char *name);
const kctl_verb *kctl_verbs(size_t *n);

/* ---- the parsed command line --------------------------------------------- */

typedef struct kctl_flag_val {
	char        name[24]; /* the option's first spelling */
	const char *value;    /* "" for a switch */
} kctl_flag_val;

typedef struct kctl_args {
	const kctl_verb *verb;   /* NULL when none was given */
	int              nops;
	char           **ops;    /* operands, pointers into argv; owned array */
	int              nflags;
	kctl_flag_val    flags[KCTL_MAX_FLAGS];
} kctl_args;

/*
 * Parses argv (argv[0] is the program) into opts and args.  opts must be
 * initialised (kctl_opts_init) so that the environment is the default.
 * Returns KCTL_EXIT_OK, or KCTL_EXIT_USAGE with the reason in why.  With
 * opts->help set, operand counts are not checked.  kctl_args_free releases
 * args->ops.
 */
void kctl_opts_init(kctl_opts *opts);
int  kctl_args_parse(int argc, char **argv, kctl_opts *opts, kctl_args *args,
                     char *why, size_t whylen);
void kctl_args_free(kctl_args *args);
/* The value of a verb option by its first spelling, "" for a switch; NULL
 * when it was not given. */
const char *kctl_args_flag(const kctl_args *args, const char *name);

/* ---- running a verb ------------------------------------------------------ */

struct kctl_ctx {
	kctl_opts        opts;
	kctl_args        args;
	const kctl_verb *verb;
	kctl_transport  *tp;
	FILE            *out;
	FILE            *err;
	bool             json_error_done; /* one {"error"} object per run */
	const char      *action; /* VERB of error lines when not the verb's name */
};

/*
 * The whole of kctl but the real transport: parse, print usage, run the verb.
 * Returns the exit code (enum kctl_exit).
 */
int kctl_run(int argc, char **argv, kctl_transport *tp, FILE *out, FILE *err);

/* Usage text: all verbs (v NULL) or one. */
void kctl_usage(FILE *f, const kctl_verb *v);

#define kctl_flag(ctx, name) kctl_args_flag(&(ctx)->args, (name))

/*
 * Calls method m on daemon (0: the one proto.h assigns to m).  params taken.
 * Returns KE_OK with *result, or an error code with *errmsg (may be NULL).
 * A daemon the verb's row does not declare in needs is a programming error
 * and fails with KE_INTERNAL.
 */
int kctl_call(kctl_ctx *ctx, int daemon, kproto_method_id m, cJSON *params,
              cJSON **result, char **errmsg);
/*
 * kctl_call that reports failure itself (kctl_fail, with object) and returns
 * the exit code; KCTL_EXIT_OK with *result on success.
 */
int kctl_rpc(kctl_ctx *ctx, int daemon, kproto_method_id m, cJSON *params,
             const char *object, cJSON **result);
/*
 * kctl_rpc, but a daemon that does not answer yet (unavailable) is asked
 * again every 100 ms until reach_end (kctl_mono_ms() time; 0: never).
 */
int kctl_rpc_until(kctl_ctx *ctx, int daemon, kproto_method_id m,
    cJSON *params, const char *object, cJSON **result, int64_t reach_end);

/*
 * Reports "kctl: error: unable to VERB 'OBJECT': CAUSE" on ctx->err, a hint
 * line for the code, and with --json the first error as
 * {"error": {"code", "message"}} on ctx->out.  Returns the exit code for e.
 */
int kctl_fail(kctl_ctx *ctx, kproto_err e, const char *object, const char *fmt,
              ...) __attribute__((format(printf, 4, 5)));
/*
 * Reports a command-line error ("kctl: error: WHY", a hint at --help, and
 * with --json {"error": {"code": "usage", ...}}); returns KCTL_EXIT_USAGE.
 */
int kctl_usage_error(kctl_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A warning line on ctx->err; does not change the exit code. */
void kctl_warn(kctl_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints v as JSON on ctx->out (pretty, with a final newline). */
int kctl_print_json(kctl_ctx *ctx, const cJSON *v);

/* ---- FMRIs (fmri.c) ------------------------------------------------------ */

/*
 * Normalises "web", "web:default", "svc:/web", "svc:/web:default" to
 * "svc:/web:default".  Returns 0, or -1 with the reason in why.
 */
int kctl_fmri_norm(const char *in, char *out, size_t outlen, char *why,
                   size_t whylen);
/* Splits a normalised FMRI into service and instance names. */
int kctl_fmri_split(const char *fmri, char *svc, size_t svclen, char *inst,
                    size_t instlen);
/*
 * Splits "SVC[/PG[/PROP]]" (SVC in any form above) into a normalised FMRI
 * and optional pg and prop ("" when absent).  0 or -1 with why.
 */
int kctl_prop_path(const char *in, char *fmri, size_t fmrilen, char *pg,
                   size_t pglen, char *prop, size_t proplen, char *why,
                   size_t whylen);

/* ---- output (output.c) --------------------------------------------------- */

typedef struct kctl_table kctl_table;

/* headers may be NULL for a table without a header line. */
kctl_table *kctl_table_new(int ncols, const char *const *headers);
/* Copies ncols cells (NULL prints as "-"). 0 or -1 (out of memory). */
int  kctl_table_add(kctl_table *t, const char *const *cells);
/* Columns padded to their widest cell, two spaces apart; the last unpadded. */
void kctl_table_print(const kctl_table *t, FILE *f);
void kctl_table_free(kctl_table *t);

/* Parses RFC 3339 ("2024-05-01T12:00:00Z", fraction and offset allowed). */
int  kctl_time_parse(const char *s, time_t *out);
/* "HH:MM:SS" (local) within a day of now, else "Mon_DD"; the raw text when
 * it does not parse; "-" when s is NULL. */
void kctl_time_short(const char *s, time_t now, char *buf, size_t len);

/* The STATE column: "online", or "offline*" while a transition runs. */
void kctl_state_cell(const cJSON *st, char *buf, size_t len);
/* Adds the list row of one status object (section 7) to a list table. */
int  kctl_list_row(kctl_table *t, const cJSON *st, time_t now);
extern const char *const kctl_list_headers[6];

/* One value as a table cell: strings raw unless they need quoting; arrays
 * space-separated; null "-"; objects as compact JSON.  Caller frees. */
char *kctl_value_text(const cJSON *v);

/* ---- manifests (manifest.c) ---------------------------------------------- */

/*
 * Loads the manifests in path (a file, or a directory's *.json in byte
 * order) and appends them to manifests, their names to files.  A file holds
 * one manifest, an array of them, or an export ({"services": [...]}).
 * Returns KE_OK, or an error code with the failing file in bad and the
 * reason (with the byte, line and column of a JSON fault) in why.  *nfiles
 * counts the files read.
 */
int kctl_manifest_load(const char *path, cJSON *manifests, cJSON *files,
                       int *nfiles, char *bad, size_t badlen, char *why,
                       size_t whylen);

/* ---- the verbs (cmd_*.c) ------------------------------------------------- */

kctl_handler kctl_cmd_import, kctl_cmd_validate, kctl_cmd_export, kctl_cmd_get;
kctl_handler kctl_cmd_list, kctl_cmd_status, kctl_cmd_enable, kctl_cmd_disable;
kctl_handler kctl_cmd_startd, kctl_cmd_shutdown, kctl_cmd_hello;
/* cmd_config.c */
kctl_handler kctl_cmd_set, kctl_cmd_delprop, kctl_cmd_delcust;
kctl_handler kctl_cmd_snapshot, kctl_cmd_revert, kctl_cmd_repo;
/* cmd_restarter.c */
kctl_handler kctl_cmd_restart, kctl_cmd_refresh, kctl_cmd_clear, kctl_cmd_mark;
kctl_handler kctl_cmd_deps, kctl_cmd_dependents, kctl_cmd_explain;
kctl_handler kctl_cmd_log, kctl_cmd_watch, kctl_cmd_wait;
/* cmd_graph.c, cmd_unit.c */
kctl_handler kctl_cmd_graph, kctl_cmd_import_unit;
/* cmd_plot.c: plot, and its SVG from a svc.timeline result (0 or -1) */
kctl_handler kctl_cmd_plot;
int kctl_plot_svg(const cJSON *timeline, FILE *f);
/*
 * Waits until every operand settles in state; the worst exit code.  Each
 * operand's last svc.wait reply is appended to replies (when not NULL).
 */
int kctl_wait_operands(kctl_ctx *ctx, const char *state, cJSON *replies);
/*
 * Appends the last n lines of the log at path to lines (strings).  KE_OK,
 * or KE_NOT_FOUND / KE_DENIED / KE_INTERNAL when it cannot be opened.
 */
int kctl_log_tail(const char *path, long n, cJSON *lines);

/* CLOCK_MONOTONIC in milliseconds: deadlines of waits and retries. */
int64_t kctl_mono_ms(void);

/* ---- the real transport (transport.c, kctl program only) ----------------- */

kctl_transport *kctl_transport_real(void);
/* After the real transport's close: must the process leave with _exit()
 * (a call timed out; see transport.c)? */

#endif /* SYSTEMK_KCTL_H */
