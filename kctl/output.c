/*
 * output.c -- what kctl prints: aligned tables, short times, value cells,
 * JSON, and the one error grammar with a hint at what to do next:
 *
 *   kctl: error: unable to VERB 'OBJECT': CAUSE
 *   kctl: hint: is kinit running? check SYSTEMK_RUN_DIR (now '/run/systemk')
 *
 * Text that came from a daemon is printed with control characters replaced,
 * so an error stays one line and cannot drive the terminal.
 */
#include "kctl.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- tables -------------------------------------------------------------- */

struct kctl_table {
	int    ncols;
	bool   header;
	size_t nrows, cap; /* rows, counting the header */
	char **cells;      /* nrows * ncols */
};

kctl_table *
kctl_table_new(int ncols, const char *const *headers)
{
	kctl_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->ncols = ncols;
	if (headers != NULL) {
		if (kctl_table_add(t, headers) != 0) {
			kctl_table_free(t);
			return NULL;
		}
		t->header = true;
	}
	return t;
}

int
kctl_table_add(kctl_table *t, const char *const *cells)
{
	size_t base;

	if (t->nrows == t->cap) {
		size_t cap = t->cap != 0 ? t->cap * 2 : 16;
		char **c = realloc(t->cells, cap * (size_t)t->ncols * sizeof(*c));

		if (c == NULL)
			return -1;
		t->cells = c;
		t->cap = cap;
	}
	base = t->nrows * (size_t)t->ncols;
	for (int i = 0; i < t->ncols; i++) {
		char *c = strdup(cells[i] != NULL ? cells[i] : "-");

		if (c == NULL) {
			while (--i >= 0)
				free(t->cells[base + (size_t)i]);
			return -1;
		}
		/* Cells may hold a daemon's text: keep rows on one line and
		 * the terminal out of it. */
		for (char *p = c; *p != '\0'; p++)
			if ((unsigned char)*p < ' ' || *p == 0x7f)
				*p = '?';
		t->cells[base + (size_t)i] = c;
	}
	t->nrows++;
	return 0;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t
text_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

void
kctl_table_print(const kctl_table *t, FILE *f)
{
	size_t *width = calloc((size_t)t->ncols, sizeof(*width));

	if (width == NULL)
		return;
	for (size_t r = 0; r < t->nrows; r++)
		for (int c = 0; c < t->ncols; c++) {
			size_t w = text_width(t->cells[r * (size_t)t->ncols + (size_t)c]);

			if (w > width[c])
				width[c] = w;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (int c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * (size_t)t->ncols + (size_t)c];

			if (c == t->ncols - 1) {
				fprintf(f, "%s\n", s);
				break;
			}
			fprintf(f, "%s%*s", s, (int)(width[c] - text_width(s) + 2), "");
		}
	}
	free(width);
}

void
kctl_table_free(kctl_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

/* ---- times --------------------------------------------------------------- */

int
kctl_time_parse(const char *s, time_t *out)
{
	struct tm tm;
	int       n = 0, off = 0, oh, om;
	char      sep;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &sep, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 7 ||
	    n == 0 || (sep != 'T' && sep != 't' && sep != ' '))
		return -1;
	s += n;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	if (*s == 'Z' || *s == 'z')
		s++;
	else if ((*s == '+' || *s == '-') &&
	    sscanf(s + 1, "%2d:%2d%n", &oh, &om, &n) == 2 && n == 5) {
		off = (oh * 60 + om) * 60 * (*s == '-' ? -1 : 1);
		s += 6;
	} else
		return -1;
	if (*s != '\0' || tm.tm_mon < 1 || tm.tm_mon > 12)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm) - off;
	return 0;
}

void
kctl_time_short(const char *s, time_t now, char *buf, size_t len)
{
	struct tm tm;
	time_t    t;

	if (s == NULL) {
		snprintf(buf, len, "-");
		return;
	}
	if (kctl_time_parse(s, &t) != 0 || localtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "%s", s);
		return;
	}
	if (now - t < 24 * 3600 && t - now < 24 * 3600)
		strftime(buf, len, "%H:%M:%S", &tm);
	else
		strftime(buf, len, "%b_%d", &tm);
}

/* ---- cells --------------------------------------------------------------- */

static bool
needs_quotes(const char *s)
{
	if (*s == '\0')
		return true;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == '"' || *s == '\\' ||
		    *s == 0x7f)
			return true;
	return false;
}

static char *
scalar_text(const cJSON *v)
{
	char buf[64];

	if (v == NULL || cJSON_IsNull(v))
		return strdup("-");
	if (cJSON_IsBool(v))
		return strdup(cJSON_IsTrue(v) ? "true" : "false");
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (isfinite(d) && floor(d) == d && fabs(d) <= KIPC_JSON_EXACT_MAX)
			snprintf(buf, sizeof(buf), "%.0f", d);
		else
			snprintf(buf, sizeof(buf), "%.17g", d);
		return strdup(buf);
	}
	if (cJSON_IsString(v) && !needs_quotes(v->valuestring))
		return strdup(v->valuestring);
	return kipc_json_print(v, NULL); /* quoted strings, objects */
}

char *
kctl_value_text(const cJSON *v)
{
	const cJSON *it;
	char        *acc = NULL;

	if (!cJSON_IsArray(v))
		return scalar_text(v);
	cJSON_ArrayForEach(it, v) {
		char  *one = cJSON_IsArray(it) ? kipc_json_print(it, NULL) :
		    scalar_text(it);
		char  *next;
		size_t n;

		if (one == NULL)
			break;
		n = (acc != NULL ? strlen(acc) + 1 : 0) + strlen(one) + 1;
		if ((next = malloc(n)) != NULL)
			snprintf(next, n, "%s%s%s", acc != NULL ? acc : "",
			    acc != NULL ? " " : "", one);
		free(acc);
		free(one);
		if ((acc = next) == NULL)
			return NULL;
	}
	return acc != NULL ? acc : strdup("");
}

/* ---- the list table ------------------------------------------------------ */

const char *const kctl_list_headers[6] = { "STATE", "NEXT", "SINCE", "PID",
	"FMRI", "DESCRIPTION" };

static const char *
next_state(const cJSON *st)
{
	const char *n = kipc_json_str(st, "next_state");

	return (n != NULL && *n != '\0' && strcmp(n, "none") != 0) ? n : NULL;
}

void
kctl_state_cell(const cJSON *st, char *buf, size_t len)
{
	const char *s = kipc_json_str(st, "state");

	snprintf(buf, len, "%s%s", s != NULL ? s : "?",
	    next_state(st) != NULL ? "*" : "");
}

int
kctl_list_row(kctl_table *t, const cJSON *st, time_t now)
{
	char        state[48], since[48];
	char       *pid = NULL;
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(st, "pid");
	const char *cells[6];
	int         rv;

	kctl_state_cell(st, state, sizeof(state));
	kctl_time_short(kipc_json_str(st, "since"), now, since, sizeof(since));
	if (cJSON_IsNumber(p) || cJSON_IsString(p))
		pid = kctl_value_text(p);
	cells[0] = state;
	cells[1] = next_state(st);
	cells[2] = since;
	cells[3] = pid;
	cells[4] = kipc_json_str(st, "fmri");
	cells[5] = kipc_json_str(st, "description");
	rv = kctl_table_add(t, cells);
	free(pid);
	return rv;
}

/* ---- JSON, errors and warnings ------------------------------------------- */

int
kctl_print_json(kctl_ctx *ctx, const cJSON *v)
{
	char *s = cJSON_Print(v);

	if (s == NULL)
		return -1;
	fprintf(ctx->out, "%s\n", s);
	free(s);
	return 0;
}

/* Control characters become spaces: one line, no terminal escapes. */
static void
one_line(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			*s = ' ';
}

static void
print_hint(kctl_ctx *ctx, kproto_err e, const char *object)
{
	switch (e) {
	case KE_UNAVAILABLE:
		fprintf(ctx->err, "kctl: hint: is kinit running? check "
		    "SYSTEMK_RUN_DIR (now '%s')\n", ctx->opts.paths.run_dir);
		break;
	case KE_TIMEOUT:
		fprintf(ctx->err, "kctl: hint: no answer within %.3g s; retry, or "
		    "allow more with --timeout S\n", ctx->opts.timeout_ms / 1000.0);
		break;
	case KE_DENIED:
		fprintf(ctx->err, "kctl: hint: this needs root or membership of "
		    "the group named by SYSTEMK_ADMIN_GROUP\n");
		break;
	case KE_NOT_FOUND:
		if (strncmp(object, "svc:/", 5) == 0)
			fprintf(ctx->err, "kctl: hint: 'kctl list -a' shows every "
			    "instance; 'kctl import' adds services\n");
		break;
	case KE_CONFLICT:
		fprintf(ctx->err, "kctl: hint: it changed meanwhile; look again "
		    "and retry\n");
		break;
	case KE_BUSY:
		/* An instance in the wrong state for the request (restart of
		 * one that does not run), else a daemon in the middle of
		 * something (a shutdown). */
		if (strncmp(object, "svc:/", 5) == 0)
			fprintf(ctx->err, "kctl: hint: 'kctl status %s' shows its "
			    "state; 'kctl clear' takes it out of maintenance, "
			    "'kctl enable' starts it\n", object);
		else
			fprintf(ctx->err, "kctl: hint: retry in a moment\n");
		break;
	default:
		break;
	}
}

int
kctl_fail(kctl_ctx *ctx, kproto_err e, const char *object, const char *fmt,
    ...)
{
	char    cause[1024], msg[1536];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cause, sizeof(cause), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "unable to %s '%s': %s",
	    ctx->action != NULL ? ctx->action : ctx->verb != NULL ?
	    ctx->verb->name : "run", object, cause);
	one_line(msg);
	fprintf(ctx->err, "kctl: error: %s\n", msg);
	print_hint(ctx, e, object);
	if (ctx->opts.json && !ctx->json_error_done) {
		cJSON *o = cJSON_CreateObject();
		cJSON *err = cJSON_AddObjectToObject(o, "error");

		cJSON_AddStringToObject(err, "code", kproto_err_name(e));
		cJSON_AddStringToObject(err, "message", msg);
		kctl_print_json(ctx, o);
		cJSON_Delete(o);
		ctx->json_error_done = true;
	}
	return kproto_err_exit(e);
}

void
kctl_warn(kctl_ctx *ctx, const char *fmt, ...)
{
	char    msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	one_line(msg);
	fprintf(ctx->err, "kctl: warning: %s\n", msg);
}
