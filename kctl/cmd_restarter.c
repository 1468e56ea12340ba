/*
 * cmd_restarter.c -- the restarter verbs beyond list/status/enable/disable:
 * restart, refresh, clear, mark, deps, dependents, explain, log, watch,
 * wait, and the waiting half of `enable -s` / `disable -s`.
 *
 * Waiting is kstartd's job: svc.wait is answered only once the instance has
 * settled (a deferred reply), so kctl sends one request per chunk of at most
 * KCTL_WAIT_CHUNK_MS and never polls.  Outcomes map to exit codes:
 * reached 0, cannot 8, deps_cannot 9, timeout 7 (DESIGN sections 6, 7).
 *
 * `log` reads LOG_DIR/NAME:INSTANCE.log itself: logs are files, and reading
 * one needs no daemon.
 */
#include "kctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KCTL_WAIT_CHUNK_MS 20000

static int
operand(kctl_ctx *ctx, int i, char *fmri, size_t len)
{
	char why[256];

	if (kctl_fmri_norm(ctx->args.ops[i], fmri, len, why, sizeof(why)) != 0)
		return kctl_fail(ctx, KE_INVALID, ctx->args.ops[i], "%s", why);
	return KCTL_EXIT_OK;
}

static const char *
str_or(const cJSON *o, const char *key, const char *dflt)
{
	const char *s = kipc_json_str(o, key);

	return s != NULL ? s : dflt;
}

/* Prints the outcome of a simple request: {DONE: FMRI, ...} with --json. */
static int
simple_done(kctl_ctx *ctx, int rv, cJSON *res, const char *done,
    const char *fmri)
{
	if (rv != KCTL_EXIT_OK)
		return rv;
	if (ctx->opts.json) {
		if (res == NULL)
			res = cJSON_CreateObject();
		cJSON_AddStringToObject(res, done, fmri);
		kctl_print_json(ctx, res);
	}
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}

/* One request naming an instance, {} back: restart, clear. */
static int
simple(kctl_ctx *ctx, kproto_method_id m, const char *done)
{
	char   fmri[KCTL_FMRI_MAX];
	cJSON *params, *res = NULL;
	int    rv;

	if ((rv = operand(ctx, 0, fmri, sizeof(fmri))) != KCTL_EXIT_OK)
		return rv;
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "fmri", fmri);
	rv = kctl_rpc(ctx, 0, m, params, fmri, &res);
	return simple_done(ctx, rv, res, done, fmri);
}

int
kctl_cmd_restart(kctl_ctx *ctx)
{
	return simple(ctx, KM_SVC_RESTART, "restarted");
}

/*
 * refresh goes through kstartd, which also runs the refresh method and acts
 * on restart_on=refresh dependents.  With kstartd down the repository is
 * still refreshed (running := editing view): a new kstartd reads it.
 */
int
kctl_cmd_refresh(kctl_ctx *ctx)
{
	char   fmri[KCTL_FMRI_MAX];
	cJSON *params, *res = NULL;
	char  *msg = NULL;
	int    rv;

	if ((rv = operand(ctx, 0, fmri, sizeof(fmri))) != KCTL_EXIT_OK)
		return rv;
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "fmri", fmri);
	rv = kctl_call(ctx, KD_STARTD, KM_SVC_REFRESH,
	    cJSON_Duplicate(params, 1), &res, &msg);
	if (rv == KE_UNAVAILABLE) {
		free(msg);
		rv = kctl_rpc(ctx, KD_CONFIGD, KM_REPO_REFRESH, params, fmri,
		    &res);
		if (rv == KCTL_EXIT_OK)
			kctl_warn(ctx, "kstartd is not running: refreshed '%s' in "
			    "the repository only; kstartd applies it when it "
			    "returns", fmri);
		return simple_done(ctx, rv, res, "fmri", fmri);
	}
	cJSON_Delete(params);
	if (rv != KE_OK) {
		rv = kctl_fail(ctx, rv, fmri, "%s", msg != NULL ? msg : "failed");
		free(msg);
		return rv;
	}
	return simple_done(ctx, KCTL_EXIT_OK, res, "fmri", fmri);
}

int
kctl_cmd_clear(kctl_ctx *ctx)
{
	return simple(ctx, KM_SVC_CLEAR, "cleared");
}

int
kctl_cmd_mark(kctl_ctx *ctx)
{
	const char *st = ctx->args.ops[0];
	char        fmri[KCTL_FMRI_MAX];
	cJSON      *params, *res = NULL;
	int         rv;

	if (strcmp(st, "degraded") != 0 && strcmp(st, "maintenance") != 0)
		return kctl_usage_error(ctx, "mark: 'degraded' or "
		    "'maintenance', not '%s'", st);
	if ((rv = operand(ctx, 1, fmri, sizeof(fmri))) != KCTL_EXIT_OK)
		return rv;
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "fmri", fmri);
	cJSON_AddStringToObject(params, "state", st);
	if ((rv = kctl_rpc(ctx, 0, KM_SVC_MARK, params, fmri, &res)) !=
	    KCTL_EXIT_OK)
		return rv;
	if (ctx->opts.json) {
		cJSON_Delete(res);
		res = cJSON_CreateObject();
		cJSON_AddStringToObject(res, "fmri", fmri);
		cJSON_AddStringToObject(res, "marked", st);
		kctl_print_json(ctx, res);
	}
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}

/* ---- deps, dependents ------------------------------------------------------ */

static void
state_cell(const cJSON *o, char *buf, size_t len)
{
	if (kipc_json_str(o, "state") == NULL)
		snprintf(buf, len, "absent");
	else
		kctl_state_cell(o, buf, len);
}

static int
query(kctl_ctx *ctx, kproto_method_id m, cJSON **res, char *fmri)
{
	cJSON *params;
	int    rv;

	if ((rv = operand(ctx, 0, fmri, KCTL_FMRI_MAX)) != KCTL_EXIT_OK)
		return rv;
	ctx->action = "query";
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "fmri", fmri);
	return kctl_rpc(ctx, 0, m, params, fmri, res);
}

int
kctl_cmd_deps(kctl_ctx *ctx)
{
	static const char *const hdr[] = { "GROUP", "GROUPING", "RESTART_ON",
		"SATISFIED", "STATE", "FMRI" };
	char         fmri[KCTL_FMRI_MAX];
	cJSON       *res = NULL;
	const cJSON *g, *s;
	kctl_table  *t;
	int          rv;

	if ((rv = query(ctx, KM_SVC_DEPS, &res, fmri)) != KCTL_EXIT_OK)
		return rv;
	if (ctx->opts.json) {
		kctl_print_json(ctx, res);
		cJSON_Delete(res);
		return KCTL_EXIT_OK;
	}
	t = kctl_table_new(6, hdr);
	cJSON_ArrayForEach(g, kipc_json_arr(res, "dependencies")) {
		cJSON_ArrayForEach(s, kipc_json_arr(g, "services")) {
			char        st[64];
			const char *cells[6] = { str_or(g, "name", "-"),
				str_or(g, "grouping", "-"),
				str_or(g, "restart_on", "-"),
				str_or(g, "satisfied", "-"), st,
				str_or(s, "fmri", "-") };

			state_cell(s, st, sizeof(st));
			kctl_table_add(t, cells);
		}
	}
	kctl_table_print(t, ctx->out);
	kctl_table_free(t);
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}

int
kctl_cmd_dependents(kctl_ctx *ctx)
{
	static const char *const hdr[] = { "STATE", "GROUP", "GROUPING",
		"RESTART_ON", "FMRI" };
	char         fmri[KCTL_FMRI_MAX];
	cJSON       *res = NULL;
	const cJSON *d;
	kctl_table  *t;
	int          rv;

	if ((rv = query(ctx, KM_SVC_DEPENDENTS, &res, fmri)) != KCTL_EXIT_OK)
		return rv;
	if (ctx->opts.json) {
		kctl_print_json(ctx, res);
		cJSON_Delete(res);
		return KCTL_EXIT_OK;
	}
	t = kctl_table_new(5, hdr);
	cJSON_ArrayForEach(d, kipc_json_arr(res, "dependents")) {
		char        st[64];
		const char *cells[5] = { st, str_or(d, "group", "-"),
			str_or(d, "grouping", "-"), str_or(d, "restart_on", "-"),
			str_or(d, "fmri", "-") };

		state_cell(d, st, sizeof(st));
		kctl_table_add(t, cells);
	}
	kctl_table_print(t, ctx->out);
	kctl_table_free(t);
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}

/* ---- explain ------------------------------------------------------------------ */

static void
print_explained(kctl_ctx *ctx, const cJSON *x)
{
	const cJSON *cause = kipc_json_obj(x, "cause"), *it;
	char         st[64];
	const char  *sep = "";

	kctl_state_cell(x, st, sizeof(st));
	fprintf(ctx->out, "%s (%s)\n", str_or(x, "fmri", "?"), st);
	fprintf(ctx->out, "  reason: %s\n", str_or(x, "reason", "-"));
	if (cause != NULL)
		fprintf(ctx->out, "  root cause: %s is %s: %s\n",
		    str_or(cause, "fmri", "?"), str_or(cause, "state", "absent"),
		    str_or(cause, "reason", "-"));
	if (cJSON_GetArraySize(kipc_json_arr(x, "path")) > 1) {
		fprintf(ctx->out, "  path: ");
		cJSON_ArrayForEach(it, kipc_json_arr(x, "path")) {
			fprintf(ctx->out, "%s%s", sep, it->valuestring);
			sep = " -> ";
		}
		fprintf(ctx->out, "\n");
	}
	if (cJSON_GetArraySize(kipc_json_arr(x, "blocks")) > 0) {
		fprintf(ctx->out, "  blocks:");
		cJSON_ArrayForEach(it, kipc_json_arr(x, "blocks"))
			fprintf(ctx->out, " %s", it->valuestring);
		fprintf(ctx->out, "\n");
	}
}

int
kctl_cmd_explain(kctl_ctx *ctx)
{
	char         fmri[KCTL_FMRI_MAX];
	cJSON       *params = cJSON_CreateObject(), *res = NULL;
	const cJSON *x, *arr;
	int          rv;

	ctx->action = "explain";
	if (ctx->args.nops == 1) {
		if ((rv = operand(ctx, 0, fmri, sizeof(fmri))) != KCTL_EXIT_OK) {
			cJSON_Delete(params);
			return rv;
		}
		cJSON_AddStringToObject(params, "fmri", fmri);
	}
	if ((rv = kctl_rpc(ctx, 0, KM_SVC_EXPLAIN, params,
	         ctx->args.nops == 1 ? fmri : "instances", &res)) != KCTL_EXIT_OK)
		return rv;
	arr = kipc_json_arr(res, "instances");
	if (ctx->opts.json)
		kctl_print_json(ctx, arr != NULL ? arr : res);
	else if (cJSON_GetArraySize(arr) == 0)
		fprintf(ctx->out, ctx->args.nops == 1 ? "%s is online\n" :
		    "every enabled instance is online\n", fmri);
	else {
		bool first = true;

		cJSON_ArrayForEach(x, arr) {
			if (!first)
				fprintf(ctx->out, "\n");
			first = false;
			print_explained(ctx, x);
		}
	}
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}

/* ---- waiting ------------------------------------------------------------------ */

/*
 * How long kstartd may hold one waiting request: each chunk must end well
 * before the transport gives up on kstartd (--timeout), or a reply racing
 * the transport's timeout would be lost.
 */
static int64_t
wait_chunk_ms(const kctl_ctx *ctx)
{
	int64_t t = ctx->opts.timeout_ms;

	if (t - 2000 >= KCTL_WAIT_CHUNK_MS)
		return KCTL_WAIT_CHUNK_MS;
	return t > 3000 ? t - 2000 : t / 2;
}

/*
 * Waits until fmri settles in state (kstartd decides), at most timeout_ms
 * (-1: as long as --timeout when it was given, else no limit: global
 * options may stand before the verb, so `kctl --timeout 3 wait web` bounds
 * the wait as `kctl wait web --timeout 3` does).  Returns the exit code;
 * *res gets the last reply.
 */
static int
wait_for(kctl_ctx *ctx, const char *fmri, const char *state,
    int64_t timeout_ms, cJSON **res)
{
	int64_t     end, reach_end, chunk_max = wait_chunk_ms(ctx);
	const char *out;

	if (timeout_ms < 0 && ctx->opts.timeout_set)
		timeout_ms = ctx->opts.timeout_ms;
	end = timeout_ms >= 0 ? kctl_mono_ms() + timeout_ms : 0;
	/* A kstartd that does not listen yet (kinit was just started, or
	 * kstartd is being restarted) is waited for too, up to the wait's
	 * own end, else up to --timeout (30 s by default). */
	reach_end = timeout_ms >= 0 ? end : kctl_mono_ms() + ctx->opts.timeout_ms;
	*res = NULL;
	for (;;) {
		int64_t chunk = chunk_max;
		cJSON  *params = cJSON_CreateObject();
		int     rv;

		if (timeout_ms >= 0 && end - kctl_mono_ms() < chunk)
			chunk = end - kctl_mono_ms() > 0 ? end - kctl_mono_ms() : 0;
		cJSON_AddStringToObject(params, "fmri", fmri);
		if (state != NULL)
			cJSON_AddStringToObject(params, "state", state);
		cJSON_AddNumberToObject(params, "timeout_ms", (double)chunk);
		cJSON_Delete(*res);
		*res = NULL;
		if ((rv = kctl_rpc_until(ctx, KD_STARTD, KM_SVC_WAIT, params,
		         fmri, res, reach_end)) != KCTL_EXIT_OK)
			return rv;
		out = str_or(*res, "outcome", "");
		if (strcmp(out, "reached") == 0)
			return KCTL_EXIT_OK;
		if (strcmp(out, "cannot") == 0)
			return KCTL_EXIT_CANNOT;
		if (strcmp(out, "deps_cannot") == 0)
			return KCTL_EXIT_DEPS_CANNOT;
		if (timeout_ms >= 0 && kctl_mono_ms() >= end)
			return KCTL_EXIT_TIMEOUT;
	}
}

/* The error line of a wait that did not reach its state. */
static void
wait_report(kctl_ctx *ctx, const char *fmri, const char *state, int rv,
    const cJSON *res)
{
	if (rv == KCTL_EXIT_OK || res == NULL)
		return;
	fprintf(ctx->err, "kctl: error: unable to wait for '%s' to be %s: %s\n",
	    fmri, state != NULL ? state : "online",
	    rv == KCTL_EXIT_TIMEOUT ? "timed out" :
	    str_or(res, "reason", rv == KCTL_EXIT_CANNOT ? "it cannot get there"
	                                                  : "a dependency cannot"));
	if (rv == KCTL_EXIT_CANNOT || rv == KCTL_EXIT_DEPS_CANNOT)
		fprintf(ctx->err, "kctl: hint: run 'kctl explain %s'\n", fmri);
}

/* "--timeout S" of wait: seconds, fractions allowed; -1 when absent. */
static int
parse_timeout(kctl_ctx *ctx, int64_t *ms)
{
	const char *t = kctl_flag(ctx, "--timeout");
	char       *end;
	double      s;

	*ms = -1;
	if (t == NULL)
		return KCTL_EXIT_OK;
	errno = 0;
	s = strtod(t, &end);
	if (errno || *end || end == t || s < 0 || s > 1e9)
		return kctl_usage_error(ctx, "--timeout: not a number of "
		    "seconds: '%s'", t);
	*ms = (int64_t)(s * 1000);
	return KCTL_EXIT_OK;
}

int
kctl_cmd_wait(kctl_ctx *ctx)
{
	const char *target = ctx->args.ops[0];
	const char *state = kctl_flag(ctx, "--state");
	char        fmri[KCTL_FMRI_MAX];
	cJSON      *res = NULL;
	int64_t     ms;
	int         rv;

	if ((rv = parse_timeout(ctx, &ms)) != KCTL_EXIT_OK)
		return rv;
	if (strcmp(target, "default") == 0 ||
	    strcmp(target, "milestone/default") == 0 ||
	    strcmp(target, "svc:/milestone/default") == 0)
		snprintf(fmri, sizeof(fmri), "%s", target);
	else if ((rv = operand(ctx, 0, fmri, sizeof(fmri))) != KCTL_EXIT_OK)
		return rv;
	ctx->action = "wait for";
	rv = wait_for(ctx, fmri, state, ms, &res);
	if (res != NULL && ctx->opts.json)
		kctl_print_json(ctx, res);
	wait_report(ctx, fmri, state, rv, res);
	cJSON_Delete(res);
	return rv;
}

/*
 * enable -s / disable -s: wait for every operand; the exit code is the
 * worst outcome's (9 over 8 over 7), like svcadm -s.
 */
int
kctl_wait_operands(kctl_ctx *ctx, const char *state, cJSON *replies)
{
	int worst = KCTL_EXIT_OK;

	for (int i = 0; i < ctx->args.nops; i++) {
		char   fmri[KCTL_FMRI_MAX];
		cJSON *res = NULL;
		int    rv;

		if (operand(ctx, i, fmri, sizeof(fmri)) != KCTL_EXIT_OK)
			continue;
		rv = wait_for(ctx, fmri, state, -1, &res);
		wait_report(ctx, fmri, state, rv, res);
		if (replies != NULL && res != NULL)
			cJSON_AddItemToArray(replies, res);
		else
			cJSON_Delete(res);
		if (rv != KCTL_EXIT_OK && (worst == KCTL_EXIT_OK || rv > worst))
			worst = rv;
	}
	return worst;
}

/* ---- watch -------------------------------------------------------------------- */

static void
print_change(kctl_ctx *ctx, const cJSON *c)
{
	char        when[32];
	const char *next = kipc_json_str(c, "next_state");
	const char *reason = kipc_json_str(c, "reason");

	if (ctx->opts.json) {
		char *s = kipc_json_print(c, NULL);

		if (s != NULL)
			fprintf(ctx->out, "%s\n", s);
		free(s);
		fflush(ctx->out);
		return;
	}
	kctl_time_short(kipc_json_str(c, "time"), time(NULL), when,
	    sizeof(when));
	fprintf(ctx->out, "%s  %s  %s -> %s%s%s%s\n", when,
	    str_or(c, "fmri", "?"), str_or(c, "from", "?"), str_or(c, "to", "?"),
	    next != NULL ? "*" : "", reason != NULL ? "  " : "",
	    reason != NULL ? reason : "");
	fflush(ctx->out);
}

int
kctl_cmd_watch(kctl_ctx *ctx)
{
	int64_t gen = -1;
	int64_t chunk = wait_chunk_ms(ctx);

	ctx->action = "watch";
	for (;;) {
		cJSON       *params = cJSON_CreateObject(), *res = NULL;
		const cJSON *c;
		int          rv;

		if (gen >= 0) {
			kipc_json_add_int64(params, "since", gen);
			cJSON_AddNumberToObject(params, "timeout_ms", (double)chunk);
		}
		if ((rv = kctl_rpc(ctx, KD_STARTD, KM_SVC_CHANGES, params,
		         "changes", &res)) != KCTL_EXIT_OK)
			return rv;
		if (gen >= 0 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res,
		        "lost")))
			kctl_warn(ctx, "some changes were missed (too many at once)");
		if (gen >= 0)
			cJSON_ArrayForEach(c, kipc_json_arr(res, "changes"))
				print_change(ctx, c);
		if (kipc_json_int64(cJSON_GetObjectItemCaseSensitive(res,
		        "generation"), &gen) != 0)
			gen = 0;
		cJSON_Delete(res);
	}
}

/* ---- log ---------------------------------------------------------------------- */

static int
log_path(kctl_ctx *ctx, const char *fmri, char *path, size_t len)
{
	char svc[KCTL_NAME_MAX + 1], inst[KCTL_NAME_MAX + 1], name[300];

	if (kctl_fmri_split(fmri, svc, sizeof(svc), inst, sizeof(inst)) != 0)
		return -1;
	snprintf(name, sizeof(name), "%s:%s.log", svc, inst);
	for (char *c = name; *c; c++)
		if (*c == '/')
			*c = '-';
	return kipc_path_join(path, len, ctx->opts.paths.log_dir, name);
}

static void
emit_line(kctl_ctx *ctx, const char *line, size_t n, cJSON *arr)
{
	if (arr != NULL) {
		char *s = strndup(line, n);

		cJSON_AddItemToArray(arr, cJSON_CreateString(s != NULL ? s : ""));
		free(s);
	} else if (ctx->opts.json) {
		cJSON *o = cJSON_CreateObject();
		char  *s = strndup(line, n), *t;

		cJSON_AddStringToObject(o, "line", s != NULL ? s : "");
		if ((t = kipc_json_print(o, NULL)) != NULL)
			fprintf(ctx->out, "%s\n", t);
		free(t);
		free(s);
		cJSON_Delete(o);
	} else {
		fwrite(line, 1, n, ctx->out);
		fputc('\n', ctx->out);
	}
}

/* The last n lines of fd (read whole: logs rotate at a bounded size). */
static off_t
tail_lines(kctl_ctx *ctx, int fd, long n, cJSON *arr)
{
	char   *buf = NULL;
	size_t  len = 0, cap = 0;
	ssize_t r;
	size_t  start;
	long    seen = 0;

	for (;;) {
		if (len + 65536 > cap) {
			char *nb = realloc(buf, cap = (len + 65536) * 2);

			if (nb == NULL)
				break;
			buf = nb;
		}
		if ((r = read(fd, buf + len, cap - len)) <= 0)
			break;
		len += (size_t)r;
	}
	start = len;
	/* A partial last line counts as a line. */
	if (start > 0 && buf[start - 1] == '\n')
		start--;
	while (start > 0 && seen < n) {
		if (buf[start - 1] == '\n' && ++seen == n)
			break;
		start--;
	}
	if (n == 0)
		start = len; /* -n 0: no line at all */
	for (size_t p = start; p < len;) {
		char  *nl = memchr(buf + p, '\n', len - p);
		size_t e = nl != NULL ? (size_t)(nl - buf) : len;

		emit_line(ctx, buf + p, e - p, arr);
		p = e + 1;
	}
	free(buf);
	return (off_t)len;
}

int
kctl_log_tail(const char *path, long n, cJSON *lines)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? KE_NOT_FOUND :
		    errno == EACCES ? KE_DENIED : KE_INTERNAL;
	tail_lines(NULL, fd, n, lines);
	close(fd);
	return KE_OK;
}

/* -f: new lines as they come; a rotated file (new inode) is reopened. */
static int
follow(kctl_ctx *ctx, const char *path, int fd)
{
	struct stat st, now;
	char        buf[65536], part[8192];
	size_t      plen = 0;

	fflush(ctx->out);
	if (fstat(fd, &st) != 0)
		return KCTL_EXIT_FAILURE;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r > 0) {
			for (ssize_t p = 0; p < r; p++) {
				if (buf[p] == '\n' || plen == sizeof(part)) {
					emit_line(ctx, part, plen, NULL);
					plen = 0;
					if (buf[p] == '\n')
						continue;
				}
				part[plen++] = buf[p];
			}
			fflush(ctx->out);
			continue;
		}
		if (stat(path, &now) == 0 &&
		    (now.st_ino != st.st_ino || now.st_dev != st.st_dev)) {
			int nfd = open(path, O_RDONLY | O_CLOEXEC);

			if (nfd >= 0) {
				close(fd);
				fd = nfd;
				fstat(fd, &st);
				continue;
			}
		}
		nanosleep(&(struct timespec){ 0, 200 * 1000000L }, NULL);
	}
}

int
kctl_cmd_log(kctl_ctx *ctx)
{
	const char *nflag = kctl_flag(ctx, "-n");
	bool        f = kctl_flag(ctx, "-f") != NULL;
	char        fmri[KCTL_FMRI_MAX], path[PATH_MAX], *end;
	long        n = 10;
	int         fd, rv;

	if ((rv = operand(ctx, 0, fmri, sizeof(fmri))) != KCTL_EXIT_OK)
		return rv;
	if (nflag != NULL) {
		errno = 0;
		n = strtol(nflag, &end, 10);
		if (errno || *end || end == nflag || n < 0)
			return kctl_usage_error(ctx, "-n: not a line count: '%s'",
			    nflag);
	}
	if (log_path(ctx, fmri, path, sizeof(path)) != 0)
		return kctl_fail(ctx, KE_INVALID, fmri, "log path too long");
	ctx->action = "read the log of";
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return kctl_fail(ctx, errno == ENOENT ? KE_NOT_FOUND :
		    errno == EACCES ? KE_DENIED : KE_INTERNAL, fmri, "%s: %s",
		    path, strerror(errno));
	if (ctx->opts.json && !f) {
		cJSON *o = cJSON_CreateObject();
		cJSON *arr = cJSON_AddArrayToObject(o, "lines");

		cJSON_AddStringToObject(o, "fmri", fmri);
		cJSON_AddStringToObject(o, "path", path);
		tail_lines(ctx, fd, n, arr);
		kctl_print_json(ctx, o);
		cJSON_Delete(o);
		close(fd);
		return KCTL_EXIT_OK;
	}
	tail_lines(ctx, fd, n, NULL);
	if (!f) {
		close(fd);
		return KCTL_EXIT_OK;
	}
	return follow(ctx, path, fd);
}
