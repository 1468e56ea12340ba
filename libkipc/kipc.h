/*
 * kipc.h -- SystemK's IPC layer: the envelope codec, logging, paths, and the
 * request/reply client and server every daemon and kctl share.
 *
 * Two libraries are built from libkipc:
 *   kipc_core  codec, JSON helpers, log, paths, AF_UNIX seqpacket helpers,
 *              and the client, which speaks nng's SP wire itself.  No nng:
 *              kinit and kctl link only this.
 *   kipc       kipc_core plus the nng server.
 *
 * Ownership: a function that takes a cJSON * "taken" frees it (also on error);
 * a function returning a cJSON * or char * gives it to the caller.
 *
 * Errors are kproto_err codes (proto.h); KE_OK is 0.
 */
#ifndef SYSTEMK_KIPC_H
#define SYSTEMK_KIPC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cJSON.h>

#include "proto.h"

/* ---- logging: "prog: severity: message" on stderr ------------------------ */

enum klog_sev { KLOG_ERR, KLOG_WARN, KLOG_INFO, KLOG_DEBUG };

void kipc_log_init(const char *prog);
void klog(int sev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define klog_err(...)  klog(KLOG_ERR, __VA_ARGS__)
#define klog_warn(...) klog(KLOG_WARN, __VA_ARGS__)
#define klog_info(...) klog(KLOG_INFO, __VA_ARGS__)

/* ---- paths (DESIGN section 2) -------------------------------------------- */

typedef struct kipc_paths {
	char run_dir[256];
	char state_dir[256];
	char manifest_dir[256];
	char log_dir[256];
} kipc_paths;

/* Fills p from SYSTEMK_*_DIR or the defaults. */
void kipc_paths_from_env(kipc_paths *p);
/*
 * Handles "--run-dir X", "--state-dir X", "--manifest-dir X", "--log-dir X" (and
 * the "--opt=X" forms) at argv[*i]; advances *i past what it consumed.
 * Returns 1 if it consumed an option, 0 if argv[*i] is not one, -1 if a value
 * is missing.
 */
int kipc_paths_arg(kipc_paths *p, int argc, char **argv, int *i);
/* Exports p as SYSTEMK_*_DIR so that children see the same paths. */
void kipc_paths_export(const kipc_paths *p);
/* Joins dir and name into buf; returns -1 if it does not fit. */
int kipc_path_join(char *buf, size_t len, const char *dir, const char *name);
/* mkdir -p with mode for the last component. 0 or -1 with errno. */
int kipc_mkdirs(const char *path, mode_t mode);

/* ---- JSON helpers --------------------------------------------------------- */

/*
 * Largest integer a JSON number carries unambiguously: 2^53 + 1 parses to the
 * same double as 2^53, so 2^53 itself is refused as a number.  Beyond, strings.
 */
#define KIPC_JSON_EXACT_MAX 9007199254740991LL /* 2^53 - 1 */

/*
 * Reads an exact int64 from a number (integral, |v| <= 2^53) or a decimal
 * string (full int64 range).  Returns 0, or -1 if item is neither.
 */
int kipc_json_int64(const cJSON *item, int64_t *out);
/* Same for uint64. */
int kipc_json_uint64(const cJSON *item, uint64_t *out);
/* Adds an int64 as a number when exact, else as a decimal string. */
cJSON *kipc_json_add_int64(cJSON *obj, const char *key, int64_t v);
cJSON *kipc_json_new_int64(int64_t v);
/* 16-digit integral numbers of a parsed tree (siblings of it included)
 * become raw literals, which cJSON prints exactly. */
void kipc_json_exact_ints(cJSON *it);
/* Case-sensitive member lookups; NULL when absent or of another type. */
const char *kipc_json_str(const cJSON *obj, const char *key);
const cJSON *kipc_json_obj(const cJSON *obj, const char *key);
const cJSON *kipc_json_arr(const cJSON *obj, const char *key);
/* -1 when absent or not a bool, else 0/1. */
int kipc_json_bool(const cJSON *obj, const char *key);
/*
 * cJSON_PrintUnformatted's very bytes (NULL where it fails too), without
 * its sprintf and sscanf per number; *len (may be NULL) is strlen.  The
 * text is the caller's (free).
 */
char *kipc_json_print(const cJSON *item, size_t *len);
/* The same text in *buf, which the caller keeps across prints (NULL and
 * 0 to start, free() at the end); grown as needed.  The text, or NULL. */
const char *kipc_json_print_reuse(const cJSON *item, char **buf, size_t *cap,
    size_t *len);
/* Maximum nesting of the JSON text (strings skipped); does not parse. */
int kipc_json_depth(const char *buf, size_t len);
/*
 * Parses untrusted JSON text: bounded size and depth, whole input consumed.
 * Returns NULL and a reason in why on failure.
 */
cJSON *kipc_json_parse(const char *buf, size_t len, char *why, size_t whylen);

/* ---- the envelope --------------------------------------------------------- */

typedef struct kipc_msg {
	cJSON      *root;   /* owns everything below */
	int         v;      /* level */
	uint64_t    id;
	/* requests */
	const char *method;
	cJSON      *params; /* an object; an empty one if absent */
	/* replies */
	bool        ok;
	cJSON      *result;
	kproto_err  err;
	const char *errmsg;
} kipc_msg;

/*
 * Decode a request or a reply.  On failure returns KE_INVALID or KE_TOO_LARGE
 * with a reason in why; m->id is set when the id could be read, so that the
 * error reply can carry it.  kipc_msg_free releases m->root.
 */
int  kipc_decode_request(const void *buf, size_t len, kipc_msg *m, char *why,
                         size_t whylen);
int  kipc_decode_reply(const void *buf, size_t len, kipc_msg *m, char *why,
                       size_t whylen);
void kipc_msg_free(kipc_msg *m);

/* Encoders return a malloc'd NUL-terminated text, its length in *len. */
char *kipc_encode_request(int v, uint64_t id, const char *method,
                          const cJSON *params, size_t *len);
char *kipc_encode_ok(int v, uint64_t id, const cJSON *result, size_t *len);
char *kipc_encode_err(int v, uint64_t id, kproto_err e, const char *msg,
                      size_t *len);

/*
 * Validates params against m->params (proto.h).  Returns KE_OK or KE_INVALID
 * with the offending parameter named in why.
 */
int kipc_params_check(const kproto_method *m, const cJSON *params, char *why,
                      size_t whylen);

/* A fresh request id: random start, then counting; < 2^53. */
uint64_t kipc_new_id(void);

/* Is uid (with primary gid) root or in SYSTEMK_ADMIN_GROUP? */
bool kipc_uid_privileged(uid_t uid, gid_t gid, pid_t pid);

/* ---- AF_UNIX seqpacket (kinit.sock) --------------------------------------- */

/* Listening socket at path with mode; returns fd or -1 (errno). */
int kipc_unix_listen(const char *path, mode_t mode);
/*
 * One request/reply on a fresh connection to path.  params taken.  Returns
 * KE_OK with *result (caller frees), or an error code with *errmsg (caller
 * frees; may be NULL).
 */
int kipc_unix_call(const char *path, const char *method, cJSON *params,
                   int timeout_ms, cJSON **result, char **errmsg);

/* ---- descriptors over SOCK_SEQPACKET (fdpass.c) ---------------------------- */

#define KIPC_FDS_MAX 64 /* descriptors in one message */

/*
 * Sends data (len > 0) and n descriptors as one message, without blocking
 * or SIGPIPE; 0, or -1 with errno.
 */
int     kipc_fds_send(int sock, const void *data, size_t len, const int *fds,
                      int n);
/*
 * Receives one message without blocking: its data into buf (NUL-ended;
 * buflen - 1 bytes at most) and up to max descriptors (close-on-exec) into
 * fds, *n of them; the rest are closed.  Returns the data's length, 0 at
 * the end of the stream, or -1 with errno (EAGAIN: nothing queued;
 * EMSGSIZE: the message was cut and dropped, its descriptors closed).
 */
ssize_t kipc_fds_recv(int sock, char *buf, size_t buflen, int *fds, int max,
                      int *n);

/* ---- client (SP REQ over ipc://, no nng: client.c) ------------------------- */

/* CLOCK_MONOTONIC in milliseconds: the clock of every deadline here. */
int64_t kipc_mono_ms(void);

typedef struct kipc_client kipc_client;

/*
 * Dials ipc://path.  Fails with KE_UNAVAILABLE when nobody listens, KE_DENIED
 * when the socket's mode keeps the caller out.  timeout_ms bounds every
 * later call, also against a listener that never answers (KE_TIMEOUT);
 * resend is disabled.  A lost connection is dialled again by the next call
 * (every 100 ms until its deadline while nobody listens).  Not for
 * concurrent callers: one client per thread.
 */
int  kipc_client_open(kipc_client **cp, const char *path, int timeout_ms);
void kipc_client_close(kipc_client *c);
/*
 * Calls method with params (taken).  Returns KE_OK with *result (caller
 * frees), or an error code with *errmsg (caller frees; may be NULL).
 * Transport failures give KE_UNAVAILABLE (nobody listens, or the connection
 * ended before the reply: the request may have been served), KE_TIMEOUT or
 * KE_TOO_LARGE (a request or a reply over KPROTO_MAX_MSG).
 */
int kipc_call(kipc_client *c, const char *method, cJSON *params,
              cJSON **result, char **errmsg);
/*
 * The transport of kipc_call: sends text as one request, and gives the
 * reply's bytes in *reply (caller frees) without decoding them.  Errors as
 * kipc_call's, with a reason in why.  For tools and benchmarks that measure
 * or abuse the wire.
 */
int kipc_client_roundtrip(kipc_client *c, const char *text, size_t len,
                          char **reply, size_t *rlen, char *why,
                          size_t whylen);

/* ---- nng server ----------------------------------------------------------- */

typedef struct kipc_server kipc_server;
typedef struct kipc_req    kipc_req;

/*
 * Listens on ipc://path (mode 0666: authorisation is by peer uid inside).
 * name is what sys.hello answers; daemon is the KD_* this server is.
 * Requests are validated on nng's threads (envelope, method known and served
 * here, level, params, privilege) and the bad ones answered there; sys.hello
 * is answered there too.  Good ones queue for the daemon's loop, which polls
 * kipc_server_fd() and takes them with kipc_server_next().
 */
int  kipc_server_open(kipc_server **sp, const char *path, const char *name,
                      int daemon);
void kipc_server_close(kipc_server *s);
int  kipc_server_fd(kipc_server *s);
/* Next queued request or NULL.  Clears the fd's readiness when empty.
 * The fd turns readable once per empty queue: take requests until NULL
 * (or poll again at once while some are left). */
kipc_req *kipc_server_next(kipc_server *s);

/*
 * Reads served on nng's threads, without the trip through the daemon's
 * loop.  fn is called for every validated request of a KA_READ method,
 * concurrently on several threads, so it must be thread-safe; it returns
 * KIPC_QUEUE to queue the request as usual, or a kproto_err with *result
 * (KE_OK; taken, NULL means {}) or a reason in why.  Set it before the
 * daemon announces readiness; requests that arrive earlier are queued.
 */
#define KIPC_QUEUE (-1)
typedef int (*kipc_inline_fn)(void *arg, const kproto_method *m,
                              const cJSON *params, bool privileged,
                              cJSON **result, char *why, size_t whylen);
void kipc_server_inline(kipc_server *s, kipc_inline_fn fn, void *arg);

const kproto_method *kipc_req_method(const kipc_req *r);
cJSON               *kipc_req_params(const kipc_req *r);
uint64_t             kipc_req_id(const kipc_req *r);
uid_t                kipc_req_uid(const kipc_req *r);
bool                 kipc_req_privileged(const kipc_req *r);
/* Reply and free r.  result taken; NULL means {}. Callable from any thread. */
void kipc_req_reply(kipc_req *r, cJSON *result);
void kipc_req_fail(kipc_req *r, kproto_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* SYSTEMK_KIPC_H */
