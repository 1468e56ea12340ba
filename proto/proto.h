/*
 * proto.h -- the one declaration of SystemK's protocol.
 *
 * Theory of operation.  Three processes and one CLI talk in one grammar:
 *
 *   kctl ──nng req/rep──▶ kconfigd  (configd.sock)   the repository
 *   kctl ──nng req/rep──▶ kstartd   (startd.sock)    the restarter
 *   kstartd ──nng req/rep──▶ kconfigd                 running snapshots, state
 *   kctl, kstartd ──AF_UNIX seqpacket──▶ kinit (kinit.sock, root only)
 *
 * Every message is one JSON object (see DESIGN section 4):
 *
 *   request  {"v": LEVEL, "id": N, "method": "repo.get", "params": {...}}
 *   reply    {"v": LEVEL, "id": N, "ok": true,  "result": {...}}
 *            {"v": LEVEL, "id": N, "ok": false,
 *             "error": {"code": "not_found", "message": "..."}}
 *
 * Every method is declared here exactly once, with the level that introduced it,
 * the daemon that serves it, whether it needs privilege, and the schema of its
 * params.  Levels are append-only: a method or field that exists at level N
 * never changes meaning; new ones arrive with N+1.  When in doubt, bump it.
 *
 * Params schema: a space-separated list of NAME:TYPE, with a trailing '?' on
 * optional ones.  TYPE is one of string, int, bool, object, array, any.
 * libkipc validates params against the schema before any handler runs, and
 * refuses params the schema does not name.
 *
 * Every state-changing method is idempotent by the request id: a resent request
 * is answered from the daemon's memory of recent ids, never applied twice.
 */
#ifndef SYSTEMK_PROTO_H
#define SYSTEMK_PROTO_H

#include <stddef.h>

/* The highest level this build speaks. */
#define KPROTO_LEVEL 1

/* Bounds on every message, both directions, on every socket. */
#define KPROTO_MAX_MSG   (4u * 1024u * 1024u) /* bytes */
#define KPROTO_MAX_DEPTH 32                   /* JSON nesting */

/* Socket file names inside SYSTEMK_RUN_DIR. */
#define KPROTO_SOCK_CONFIGD "configd.sock"
#define KPROTO_SOCK_STARTD  "startd.sock"
#define KPROTO_SOCK_EVENTS  "events.sock"
#define KPROTO_SOCK_KINIT   "kinit.sock"

/* Daemons, for the method table. */
enum kproto_daemon { KD_CONFIGD = 1, KD_STARTD = 2, KD_KINIT = 4, KD_ALL = 7 };

/* Access: reads are open to local users; writes and control need privilege. */
enum kproto_access { KA_READ = 0, KA_WRITE = 1 };

/*
 * The method list.  X(ENUM, "name", level, daemons, access, "params schema")
 *
 * sys.hello        -> {"name": "k.configd"|"k.startd"|"kinit", "level": N}
 *
 * repo.import      manifests: array of manifest objects; files: names for errors.
 *                  Validates all, writes the manifest layer of all in one
 *                  transaction, refreshes the affected instances.
 *                  -> {"services": [NAME...], "instances": [FMRI...],
 *                      "refreshed": [FMRI...]}
 * repo.validate    as import, writes nothing -> {"services": [...]}
 * repo.get         fmri, pg?, prop?, running?
 *                  -> {"fmri", "generation", "property_groups": {...}}
 *                  the composed editing view, or the running snapshot.
 * repo.list        -> {"instances": [{"fmri", "service", "instance"}...]}
 * repo.running     -> {"instances": {FMRI: {"property_groups": {...}}}}: every
 *                  instance's running snapshot in one reply (kstartd's read).
 * repo.export      service? -> {"services": [manifest...], "secrets_omitted": N}
 * repo.set_enabled fmri, enabled -> {} (admin layer general/enabled, also running)
 * repo.refresh     fmri -> {"refreshed": [FMRI...]} previous := running,
 *                  running := editing view (svc:/NAME: every instance).
 *
 * state.put        fmri, state: object -> {} (volatile namespace)
 * state.get        fmri -> {"state": {...}} or not_found
 * state.list       -> {"states": {FMRI: {...}}}
 *
 * svc.list         all? -> {"instances": [status...]}
 * svc.status       fmri -> status object (DESIGN section 7)
 * svc.enable       fmri, temporary? -> {}
 * svc.disable      fmri, temporary? -> {}
 * svc.reload       -> {} re-read the running snapshots from kconfigd
 *
 * kinit.startd_status  -> {"pid": N|null, "running": bool, "restarts": N}
 * kinit.startd_restart -> {"pid": N}
 * kinit.shutdown       -> {}
 * kinit.milestone      name, state ("online"|"failed") -> {}
 * kinit.exits          -> {"exits": [{"pid", "status", "time"}...]}
 */
#define KPROTO_METHODS(X)                                                        \
	X(SYS_HELLO, "sys.hello", 1, KD_ALL, KA_READ, "")                        \
	X(REPO_IMPORT, "repo.import", 1, KD_CONFIGD, KA_WRITE,                   \
	    "manifests:array files:array?")                                      \
	X(REPO_VALIDATE, "repo.validate", 1, KD_CONFIGD, KA_READ,                \
	    "manifests:array files:array?")                                      \
	X(REPO_GET, "repo.get", 1, KD_CONFIGD, KA_READ,                          \
	    "fmri:string pg:string? prop:string? running:bool?")                 \
	X(REPO_LIST, "repo.list", 1, KD_CONFIGD, KA_READ, "")                    \
	X(REPO_RUNNING, "repo.running", 1, KD_CONFIGD, KA_READ, "")              \
	X(REPO_EXPORT, "repo.export", 1, KD_CONFIGD, KA_READ, "service:string?") \
	X(REPO_SET_ENABLED, "repo.set_enabled", 1, KD_CONFIGD, KA_WRITE,         \
	    "fmri:string enabled:bool")                                          \
	X(REPO_REFRESH, "repo.refresh", 1, KD_CONFIGD, KA_WRITE, "fmri:string")  \
	X(STATE_PUT, "state.put", 1, KD_CONFIGD, KA_WRITE,                       \
	    "fmri:string state:object")                                          \
	X(STATE_GET, "state.get", 1, KD_CONFIGD, KA_READ, "fmri:string")         \
	X(STATE_LIST, "state.list", 1, KD_CONFIGD, KA_READ, "")                  \
	X(SVC_LIST, "svc.list", 1, KD_STARTD, KA_READ, "all:bool?")              \
	X(SVC_STATUS, "svc.status", 1, KD_STARTD, KA_READ, "fmri:string")        \
	X(SVC_ENABLE, "svc.enable", 1, KD_STARTD, KA_WRITE,                      \
	    "fmri:string temporary:bool?")                                       \
	X(SVC_DISABLE, "svc.disable", 1, KD_STARTD, KA_WRITE,                    \
	    "fmri:string temporary:bool?")                                       \
	X(SVC_RELOAD, "svc.reload", 1, KD_STARTD, KA_WRITE, "")                  \
	X(KINIT_STARTD_STATUS, "kinit.startd_status", 1, KD_KINIT, KA_WRITE, "") \
	X(KINIT_STARTD_RESTART, "kinit.startd_restart", 1, KD_KINIT, KA_WRITE,   \
	    "")                                                                  \
	X(KINIT_SHUTDOWN, "kinit.shutdown", 1, KD_KINIT, KA_WRITE, "")           \
	X(KINIT_MILESTONE, "kinit.milestone", 1, KD_KINIT, KA_WRITE,             \
	    "name:string state:string")                                          \
	X(KINIT_EXITS, "kinit.exits", 1, KD_KINIT, KA_WRITE, "")

typedef enum kproto_method_id {
#define KPROTO_ENUM(e, name, lvl, d, a, p) KM_##e,
	KPROTO_METHODS(KPROTO_ENUM)
#undef KPROTO_ENUM
	KM__COUNT
} kproto_method_id;

typedef struct kproto_method {
	kproto_method_id id;
	const char      *name;
	int              level;
	int              daemons; /* mask of enum kproto_daemon */
	int              access;  /* enum kproto_access */
	const char      *params;  /* schema, see above */
} kproto_method;

/*
 * Error codes: a fixed, documented set.  X(ENUM, "wire name", kctl exit code)
 */
#define KPROTO_ERRORS(X)                                                         \
	X(OK, "ok", 0)                                                           \
	X(INVALID, "invalid", 10)                                                \
	X(NOT_FOUND, "not_found", 3)                                             \
	X(CONFLICT, "conflict", 6)                                               \
	X(DENIED, "denied", 4)                                                   \
	X(BUSY, "busy", 1)                                                       \
	X(TOO_LARGE, "too_large", 10)                                            \
	X(UNAVAILABLE, "unavailable", 5)                                         \
	X(TIMEOUT, "timeout", 7)                                                 \
	X(INTERNAL, "internal", 1)

typedef enum kproto_err {
#define KPROTO_ERR_ENUM(e, name, x) KE_##e,
	KPROTO_ERRORS(KPROTO_ERR_ENUM)
#undef KPROTO_ERR_ENUM
	KE__COUNT
} kproto_err;

/*
 * kctl exit codes (DESIGN section 6).
 */
enum kctl_exit {
	KCTL_EXIT_OK = 0,
	KCTL_EXIT_FAILURE = 1,
	KCTL_EXIT_USAGE = 2,
	KCTL_EXIT_NOT_FOUND = 3,
	KCTL_EXIT_DENIED = 4,
	KCTL_EXIT_UNREACHABLE = 5,
	KCTL_EXIT_CONFLICT = 6,
	KCTL_EXIT_TIMEOUT = 7,
	KCTL_EXIT_CANNOT = 8,
	KCTL_EXIT_DEPS_CANNOT = 9,
	KCTL_EXIT_INVALID = 10,
};

/*
 * Daemon exit codes: interface, turned by kinit into a reason and a remedy.
 * X(ENUM, code, "reason", "remedy")
 */
#define KPROTO_DAEMON_EXITS(X)                                                   \
	X(OK, 0, "clean exit", "none")                                           \
	X(FAILURE, 1, "unexpected failure", "read the daemon's last log lines")  \
	X(USAGE, 2, "bad command line", "check the flags kinit passes")          \
	X(RUNDIR, 10, "run directory unusable",                                  \
	    "make SYSTEMK_RUN_DIR writable by the daemon's user")                \
	X(STATEDIR, 11, "state directory unusable",                              \
	    "make SYSTEMK_STATE_DIR writable; check free space")                 \
	X(REPO, 12, "repository unusable and no good backup",                    \
	    "restore a backup into SYSTEMK_STATE_DIR or remove it to start afresh") \
	X(SOCKET, 13, "cannot listen on its socket",                             \
	    "check that no other instance runs and the run dir is writable")      \
	X(CONFIGD, 14, "cannot reach kconfigd", "check that kconfigd is running") \
	X(NOMEM, 15, "out of memory", "free memory or raise the limit")

enum kproto_daemon_exit {
#define KPROTO_DEXIT_ENUM(e, code, reason, remedy) KEXIT_##e = code,
	KPROTO_DAEMON_EXITS(KPROTO_DEXIT_ENUM)
#undef KPROTO_DEXIT_ENUM
};

/* Lookups over the tables; all return NULL / -1 for unknown input. */
const kproto_method *kproto_method_by_name(const char *name);
const kproto_method *kproto_method_by_id(kproto_method_id id);
const char          *kproto_err_name(kproto_err e);
int                  kproto_err_by_name(const char *name); /* -1 if unknown */
int                  kproto_err_exit(kproto_err e);        /* kctl exit code */
const char          *kproto_exit_reason(int code);
const char          *kproto_exit_remedy(int code);

#endif /* SYSTEMK_PROTO_H */
