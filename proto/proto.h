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

#include <signal.h>
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

/*
 * Written by kinit in SYSTEMK_RUN_DIR when shutdown begins, before it
 * signals kstartd (and removed at kinit's start and exit): the end of the
 * grace budget as one decimal line, milliseconds since the epoch
 * (CLOCK_REALTIME).  kstartd cuts every stop timeout to what is left;
 * at that time kinit SIGKILLs everything anyway.
 */
#define KPROTO_FILE_SHUTDOWN_DEADLINE "shutdown-deadline"

/*
 * Sent by kinit to kstartd for `kctl startd restart` while kstartd runs:
 * kstartd writes its pending state to kconfigd and exits 0 leaving every
 * service running; kinit starts the next kstartd at once, which re-adopts
 * them (as after a crash, but with nothing unwritten).
 */
#define KPROTO_SIG_STARTD_HANDOVER SIGUSR2

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
 * repo.get         also takes snapshot? (a snapshot by name) and answers
 *                  "generations": {PG: G} of the level the fmri names
 *                  (svc:/NAME: the service's groups; else the instance's).
 * repo.export      also include_secrets? (privileged peers only: denied
 *                  otherwise).
 * repo.commit      fmri, ops, generations? -> {"fmri", "generation",
 *                  "generations": {PG: G}}.  One all-or-nothing transaction
 *                  of admin-layer edits at the fmri's level, over any number
 *                  of groups.  ops: [{"op": "set", "pg", "prop", "type"?,
 *                  "values": [...], "secret"?} | {"op": "delprop", "pg",
 *                  "prop"?} | {"op": "delcust", "pg"?, "prop"?}], at most
 *                  1024.  set without type keeps the existing property's
 *                  type (invalid if there is none); booleans also as
 *                  "true"/"false", int64 beyond 2^53 as strings.  delprop
 *                  masks a property or group of the layers below (not_found
 *                  if absent); delcust removes admin customisations.
 *                  generations {PG: G} as read by repo.get: conflict if any
 *                  moved.  Durable on reply; invisible to repo.running until
 *                  repo.refresh.
 * repo.snapshot_take fmri, name -> {"fmri", "snapshot"}: the editing view
 *                  as snapshot NAME; name "start" copies the running
 *                  snapshot (kstartd calls it when an instance comes
 *                  online).  initial, last-import, running, previous are
 *                  refused (invalid).
 * repo.snapshot_list fmri -> {"fmri", "snapshots": [NAME...]}
 * repo.revert      fmri, snapshot -> {"fmri", "generation"}: editing view
 *                  := the snapshot (admin layer); no refresh.
 * repo.backup      -> {"path", "bytes"}: compacted copy into
 *                  STATE_DIR/backups/, newest 5 kept.
 * repo.check       -> {"clean": bool, "keys": N, "problems": [{"key",
 *                  "problem"}...]}: every key walked, every value parsed.
 *
 * Events (nng pub0 on events.sock, one JSON object per message, never a
 * property value): {"event": "repo.changed", "fmri": "svc:/NAME",
 * "generation": G} after every committed change of a service, and
 * {"event": "repo.refreshed", "fmri": "svc:/NAME:INST", "generation": G}.
 *
 * state.put        fmri, state: object -> {} (volatile namespace)
 * state.get        fmri -> {"state": {...}} or not_found
 * state.list       -> {"states": {FMRI: {...}}}
 * state.put_many   states: object FMRI -> state, start?: [FMRI...] ->
 *                  {"count": N, "snapshots": N}: many state.puts in one
 *                  transaction (kstartd's batched writes); for each FMRI of
 *                  start, the `start` snapshot := its running snapshot
 *                  (DESIGN section 3: taken at each successful start), in
 *                  the same group commit of the repository.  A snapshot
 *                  that cannot be taken (instance deleted since) is logged
 *                  and skipped, never failing the states.
 *
 * svc.list         all? -> {"instances": [status...]}
 * svc.status       fmri -> status object (DESIGN section 7)
 * svc.enable       fmri, temporary?, recursive? -> {"enabled": [FMRI...]}
 *                  recursive: also every instance it depends on (not
 *                  exclude_all), transitively.
 * svc.disable      fmri, temporary? -> {}
 * svc.reload       -> {} re-read the running snapshots from kconfigd
 * svc.restart      fmri -> {} stop, then start again (restart_on=restart
 *                  dependents follow); not_found, or conflict if not running.
 * svc.refresh      fmri -> {"refreshed": [FMRI...]}: repo.refresh, re-read the
 *                  running snapshots, run the refresh method of an online
 *                  instance, restart dependents with restart_on=refresh.
 * svc.clear        fmri -> {} maintenance -> offline (then start), or
 *                  degraded -> online.
 * svc.mark         fmri, state ("degraded"|"maintenance") -> {}
 * svc.deps         fmri -> {"fmri", "dependencies": [{"name", "grouping",
 *                  "restart_on", "satisfied", "services": [{"fmri", "state",
 *                  "next_state"}]}]}  (state null: no such instance)
 * svc.dependents   fmri -> {"fmri", "dependents": [{"fmri", "group",
 *                  "grouping", "restart_on", "state", "next_state"}]}
 * svc.explain      fmri? -> {"instances": [{"fmri", "state", "next_state",
 *                  "reason", "cause": null|{"fmri", "state", "reason"},
 *                  "path": [FMRI...], "blocks": [FMRI...]}]}: why enabled
 *                  instances are not online (all of them, or fmri only).
 * svc.wait         fmri, state? ("online"), timeout_ms? (20000, at most
 *                  60000) -> deferred until settled: {"fmri", "state",
 *                  "next_state", "outcome": "reached"|"cannot"|
 *                  "deps_cannot"|"timeout", "reason"}.  fmri "default" (or
 *                  milestone/default) is the default milestone.
 * svc.changes      since?, timeout_ms? -> deferred until a state change
 *                  after generation since: {"generation": N, "lost": bool,
 *                  "changes": [{"seq", "fmri", "from", "to", "next_state",
 *                  "time", "reason"}]}  (kctl watch long-polls it)
 * svc.timeline     -> {"instances": [{"fmri", "state", "wait", "start",
 *                  "online"}]}, sorted by fmri: the boot timeline (kctl
 *                  plot).  Each time is RFC 3339 with milliseconds, or null:
 *                  wait, when this kstartd first had the instance offline
 *                  and enabled (waiting for its dependencies); start, its
 *                  first start method spawned; online, first online or
 *                  degraded.  Instances re-adopted from a previous kstartd
 *                  have nulls.
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
	    "fmri:string pg:string? prop:string? running:bool? snapshot:string?") \
	X(REPO_LIST, "repo.list", 1, KD_CONFIGD, KA_READ, "")                    \
	X(REPO_RUNNING, "repo.running", 1, KD_CONFIGD, KA_READ, "")              \
	X(REPO_EXPORT, "repo.export", 1, KD_CONFIGD, KA_READ,                    \
	    "service:string? include_secrets:bool?")                             \
	X(REPO_SET_ENABLED, "repo.set_enabled", 1, KD_CONFIGD, KA_WRITE,         \
	    "fmri:string enabled:bool")                                          \
	X(REPO_REFRESH, "repo.refresh", 1, KD_CONFIGD, KA_WRITE, "fmri:string")  \
	X(REPO_COMMIT, "repo.commit", 1, KD_CONFIGD, KA_WRITE,                   \
	    "fmri:string ops:array generations:object?")                         \
	X(REPO_SNAPSHOT_TAKE, "repo.snapshot_take", 1, KD_CONFIGD, KA_WRITE,     \
	    "fmri:string name:string")                                           \
	X(REPO_SNAPSHOT_LIST, "repo.snapshot_list", 1, KD_CONFIGD, KA_READ,      \
	    "fmri:string")                                                       \
	X(REPO_REVERT, "repo.revert", 1, KD_CONFIGD, KA_WRITE,                   \
	    "fmri:string snapshot:string")                                       \
	X(REPO_BACKUP, "repo.backup", 1, KD_CONFIGD, KA_WRITE, "")               \
	X(REPO_CHECK, "repo.check", 1, KD_CONFIGD, KA_READ, "")                  \
	X(STATE_PUT, "state.put", 1, KD_CONFIGD, KA_WRITE,                       \
	    "fmri:string state:object")                                          \
	X(STATE_GET, "state.get", 1, KD_CONFIGD, KA_READ, "fmri:string")         \
	X(STATE_LIST, "state.list", 1, KD_CONFIGD, KA_READ, "")                  \
	X(STATE_PUT_MANY, "state.put_many", 1, KD_CONFIGD, KA_WRITE,             \
	    "states:object start:array?")                                        \
	X(SVC_LIST, "svc.list", 1, KD_STARTD, KA_READ, "all:bool?")              \
	X(SVC_STATUS, "svc.status", 1, KD_STARTD, KA_READ, "fmri:string")        \
	X(SVC_ENABLE, "svc.enable", 1, KD_STARTD, KA_WRITE,                      \
	    "fmri:string temporary:bool? recursive:bool?")                       \
	X(SVC_DISABLE, "svc.disable", 1, KD_STARTD, KA_WRITE,                    \
	    "fmri:string temporary:bool?")                                       \
	X(SVC_RELOAD, "svc.reload", 1, KD_STARTD, KA_WRITE, "")                  \
	X(SVC_RESTART, "svc.restart", 1, KD_STARTD, KA_WRITE, "fmri:string")     \
	X(SVC_REFRESH, "svc.refresh", 1, KD_STARTD, KA_WRITE, "fmri:string")     \
	X(SVC_CLEAR, "svc.clear", 1, KD_STARTD, KA_WRITE, "fmri:string")         \
	X(SVC_MARK, "svc.mark", 1, KD_STARTD, KA_WRITE,                          \
	    "fmri:string state:string")                                          \
	X(SVC_DEPS, "svc.deps", 1, KD_STARTD, KA_READ, "fmri:string")            \
	X(SVC_DEPENDENTS, "svc.dependents", 1, KD_STARTD, KA_READ, "fmri:string") \
	X(SVC_EXPLAIN, "svc.explain", 1, KD_STARTD, KA_READ, "fmri:string?")     \
	X(SVC_WAIT, "svc.wait", 1, KD_STARTD, KA_READ,                           \
	    "fmri:string state:string? timeout_ms:int?")                         \
	X(SVC_CHANGES, "svc.changes", 1, KD_STARTD, KA_READ,                     \
	    "since:int? timeout_ms:int?")                                        \
	X(SVC_TIMELINE, "svc.timeline", 1, KD_STARTD, KA_READ, "")               \
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
