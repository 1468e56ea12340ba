/*
 * unit.c -- systemd .service files to manifests (what maps to what: unit.h).
 *
 * Two passes.  The first reads the file into directives (section, key,
 * value, line), joining continuation lines, and sorts each into the slot
 * of the key it names, or reports it when SystemK has no equivalent.  The
 * second builds the manifest from the slots, so that the order of
 * directives in the file does not matter (EnvironmentFile= after
 * ExecStart= still feeds its variables to ExecStart).
 */
#include "unit.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_ 64
#define LIST_MAX  64 /* lines of one list-valued key kept */

typedef struct dline {
	const char *value; /* points into the unit's copy of the text */
	int         line;
} dline;

typedef struct dlist {
	dline v[LIST_MAX];
	int   n;
} dlist;

/* The slots of the keys SystemK translates; value NULL when not given. */
enum slot {
	S_DESCRIPTION, S_TYPE, S_PIDFILE, S_RESTART, S_RESTART_SEC,
	S_TIMEOUT_START, S_TIMEOUT_STOP, S_TIMEOUT, S_KILL_SIGNAL, S_USER,
	S_GROUP, S_WORKDIR, S_UMASK, S_NOFILE, S_REMAIN, S_BURST, S_INTERVAL,
	S_DEFAULT_INSTANCE, S__COUNT
};
enum list {
	L_START, L_STOP, L_RELOAD, L_ENV, L_ENVFILE, L_REQUIRES, L_WANTS,
	L_AFTER, L_CONFLICTS, L__COUNT
};

typedef struct unit {
	const char       *file; /* the unit's name, for notes */
	char              svc[NAME_MAX_ + 1];
	char              inst[NAME_MAX_ + 1];
	bool              template_;
	bool              installed; /* [Install] WantedBy= or RequiredBy= */
	dline             slot[S__COUNT];
	dlist             list[L__COUNT];
	cJSON            *env; /* {NAME: VALUE}, Environment= then files */
	cJSON            *notes;
	kctl_unit_reader *read;
	void             *arg;
} unit;

/* ---- notes and strings ---------------------------------------------------- */

static void
note(unit *u, int line, const char *key, const char *value, bool translated,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
note(unit *u, int line, const char *key, const char *value, bool translated,
    const char *fmt, ...)
{
	char    directive[128], cause[512];
	cJSON  *n = cJSON_CreateObject();
	va_list ap;

	snprintf(directive, sizeof(directive), "%s=%s", key, value);
	if (strlen(directive) == sizeof(directive) - 1)
		memcpy(directive + sizeof(directive) - 4, "...", 4);
	va_start(ap, fmt);
	vsnprintf(cause, sizeof(cause), fmt, ap);
	va_end(ap);
	cJSON_AddNumberToObject(n, "line", line);
	cJSON_AddStringToObject(n, "directive", directive);
	cJSON_AddStringToObject(n, "cause", cause);
	cJSON_AddBoolToObject(n, "translated", translated);
	cJSON_AddItemToArray(u->notes, n);
}

/* A growing string. */
typedef struct sbuf {
	char  *p;
	size_t n, cap;
} sbuf;

static void
sb_putn(sbuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->cap + n + 1) * 2;
		char  *p = realloc(b->p, cap);

		if (p == NULL)
			abort(); /* kctl is a short-lived CLI */
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
sb_puts(sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

/* A literal text in exec syntax: '$' is written "$$" (DESIGN section 7). */
static void
sb_literal(sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sb_putn(b, s[i] == '$' ? "$$" : &s[i], s[i] == '$' ? 2 : 1);
}

static const char *
skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static bool
env_name_ok(const char *s, size_t n)
{
	if (n == 0 || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

static bool
name_ok(const char *s, size_t n)
{
	if (n == 0 || n > NAME_MAX_ || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

/* ---- time spans ------------------------------------------------------------- */

int
kctl_unit_timespan(const char *s, long long *ms)
{
	static const struct {
		const char *u;
		double      ms;
	} units[] = { { "", 1000 }, { "us", 0.001 }, { "usec", 0.001 },
		{ "ms", 1 }, { "msec", 1 }, { "s", 1000 }, { "sec", 1000 },
		{ "second", 1000 }, { "seconds", 1000 }, { "m", 60000 },
		{ "min", 60000 }, { "minute", 60000 }, { "minutes", 60000 },
		{ "h", 3600000 }, { "hr", 3600000 }, { "hour", 3600000 },
		{ "hours", 3600000 }, { "d", 86400000 }, { "day", 86400000 },
		{ "days", 86400000 }, { "w", 604800000 }, { "week", 604800000 },
		{ "weeks", 604800000 } };
	double total = 0;
	bool   any = false;

	s = skip_space(s);
	if (strcmp(s, "infinity") == 0)
		return 1;
	while (*s != '\0') {
		char  *end;
		double v = strtod(s, &end);
		size_t ulen, k;

		if (end == s || v < 0)
			return -1;
		s = skip_space(end);
		for (ulen = 0; isalpha((unsigned char)s[ulen]); ulen++)
			;
		for (k = 0; k < sizeof(units) / sizeof(units[0]); k++)
			if (strlen(units[k].u) == ulen &&
			    strncmp(units[k].u, s, ulen) == 0)
				break;
		if (k == sizeof(units) / sizeof(units[0]))
			return -1;
		total += v * units[k].ms;
		any = true;
		s = skip_space(s + ulen);
	}
	if (!any || total > 9e15)
		return -1;
	*ms = (long long)(total + 0.5);
	return 0;
}

/* ---- pass 1: directives into slots ------------------------------------------ */

static const struct key {
	const char *section;
	const char *key;
	int         slot; /* enum slot, or -1 */
	int         list; /* enum list, or -1 */
} keys[] = {
	{ "Unit", "Description", S_DESCRIPTION, -1 },
	{ "Unit", "Requires", -1, L_REQUIRES },
	{ "Unit", "Wants", -1, L_WANTS },
	{ "Unit", "After", -1, L_AFTER },
	{ "Unit", "Conflicts", -1, L_CONFLICTS },
	{ "Unit", "StartLimitBurst", S_BURST, -1 },
	{ "Unit", "StartLimitIntervalSec", S_INTERVAL, -1 },
	{ "Service", "StartLimitBurst", S_BURST, -1 },
	{ "Service", "StartLimitInterval", S_INTERVAL, -1 },
	{ "Service", "Type", S_TYPE, -1 },
	{ "Service", "ExecStart", -1, L_START },
	{ "Service", "ExecStop", -1, L_STOP },
	{ "Service", "ExecReload", -1, L_RELOAD },
	{ "Service", "PIDFile", S_PIDFILE, -1 },
	{ "Service", "Restart", S_RESTART, -1 },
	{ "Service", "RestartSec", S_RESTART_SEC, -1 },
	{ "Service", "TimeoutStartSec", S_TIMEOUT_START, -1 },
	{ "Service", "TimeoutStopSec", S_TIMEOUT_STOP, -1 },
	{ "Service", "TimeoutSec", S_TIMEOUT, -1 },
	{ "Service", "KillSignal", S_KILL_SIGNAL, -1 },
	{ "Service", "User", S_USER, -1 },
	{ "Service", "Group", S_GROUP, -1 },
	{ "Service", "WorkingDirectory", S_WORKDIR, -1 },
	{ "Service", "UMask", S_UMASK, -1 },
	{ "Service", "LimitNOFILE", S_NOFILE, -1 },
	{ "Service", "RemainAfterExit", S_REMAIN, -1 },
	{ "Service", "Environment", -1, L_ENV },
	{ "Service", "EnvironmentFile", -1, L_ENVFILE },
	{ "Install", "DefaultInstance", S_DEFAULT_INSTANCE, -1 },
};

/* One directive: into its slot, or a note. */
static void
take(unit *u, const char *section, const char *key, const char *value,
    int line)
{
	if (strcmp(section, "Install") == 0 &&
	    (strcmp(key, "WantedBy") == 0 || strcmp(key, "RequiredBy") == 0)) {
		u->installed = true;
		return;
	}
	if (strcmp(section, "Service") == 0 && strcmp(key, "KillMode") == 0 &&
	    strcmp(value, "control-group") == 0)
		return; /* what SystemK does anyway */
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		dlist *l;

		if (strcmp(keys[i].section, section) != 0 ||
		    strcmp(keys[i].key, key) != 0)
			continue;
		if (keys[i].slot >= 0) {
			u->slot[keys[i].slot] = (dline){ value, line };
			return;
		}
		l = &u->list[keys[i].list];
		if (*value == '\0') /* an empty assignment resets the list */
			l->n = 0;
		else if (l->n < LIST_MAX)
			l->v[l->n++] = (dline){ value, line };
		else
			note(u, line, key, value, false, "more than %d lines",
			    LIST_MAX);
		return;
	}
	if (strcmp(key, "Documentation") == 0)
		note(u, line, key, value, false, "documentation only");
	else if (strcmp(key, "KillMode") == 0)
		note(u, line, key, value, false, "SystemK signals the whole "
		    "process group");
	else if (strncmp(key, "ExecStart", 9) == 0)
		note(u, line, key, value, false, "SystemK runs one start "
		    "method; fold it into the start method or a separate "
		    "transient service");
	else
		note(u, line, key, value, false, "no SystemK equivalent");
}

/* Splits text (modified in place) into directives. */
static int
parse(unit *u, char *text, char *why, size_t whylen)
{
	char  section[64] = "";
	char *p = text;
	int   line = 0;
	bool  service = false;

	while (*p != '\0') {
		char *start = p, *eol, *key, *val, *end;
		int   first = ++line;

		/* join continuation lines: a final backslash becomes a space */
		for (;;) {
			eol = p + strcspn(p, "\n");
			if (eol > p && eol[-1] == '\\' && *eol == '\n') {
				eol[-1] = ' ';
				*eol = ' ';
				p = eol + 1;
				line++;
				continue;
			}
			break;
		}
		p = *eol != '\0' ? eol + 1 : eol;
		*eol = '\0';
		start = (char *)skip_space(start);
		for (end = eol; end > start && isspace((unsigned char)end[-1]);)
			*--end = '\0';
		if (*start == '\0' || *start == '#' || *start == ';')
			continue;
		if (*start == '[') {
			size_t n = strcspn(start + 1, "]");

			snprintf(section, sizeof(section), "%.*s", (int)n, start + 1);
			service = service || strcmp(section, "Service") == 0;
			continue;
		}
		if ((val = strchr(start, '=')) == NULL) {
			note(u, first, start, "", false, "not a KEY=VALUE line");
			continue;
		}
		*val++ = '\0';
		key = start;
		for (end = val - 1; end > key && isspace((unsigned char)end[-1]);)
			*--end = '\0';
		take(u, section, key, skip_space(val), first);
	}
	if (!service) {
		snprintf(why, whylen, "no [Service] section");
		return -1;
	}
	return 0;
}

/* ---- exec lines --------------------------------------------------------------- */

/* Appends variable name (n bytes) expanded in place: "${NAME}" semantics. */
static void
expand_var(unit *u, const dline *d, const char *key, sbuf *b, const char *name,
    size_t n)
{
	char         buf[NAME_MAX_ * 2];
	const cJSON *v;

	if (n == 7 && strncmp(name, "MAINPID", 7) == 0) {
		sb_puts(b, "${MAINPID}");
		return;
	}
	snprintf(buf, sizeof(buf), "%.*s", (int)n, name);
	v = cJSON_GetObjectItemCaseSensitive(u->env, buf);
	if (cJSON_IsString(v))
		sb_literal(b, v->valuestring, strlen(v->valuestring));
	else
		note(u, d->line, key, d->value, false, "$%s is not set when "
		    "translating: expanded to nothing", buf);
}

/* A %-specifier at s[0] == '%'; returns the bytes consumed. */
static size_t
specifier(unit *u, const dline *d, const char *key, sbuf *b, const char *s)
{
	static const struct {
		char        c;
		const char *text;
	} dirs[] = { { 't', "/run" }, { 'S', "/var/lib" }, { 'C', "/var/cache" },
		{ 'L', "/var/log" }, { 'E', "/etc" }, { 'T', "/tmp" },
		{ 'V', "/var/tmp" } };

	switch (s[1]) {
	case '%':
		sb_putn(b, "%", 1);
		return 2;
	case 'i':
	case 'I':
		sb_puts(b, u->template_ ? "${INSTANCE}" : u->inst);
		return 2;
	case 'p':
	case 'P':
		sb_literal(b, u->svc, strlen(u->svc));
		return 2;
	case 'n':
	case 'N':
		sb_literal(b, u->svc, strlen(u->svc));
		if (u->template_ || u->inst[0] != '\0') {
			sb_putn(b, "@", 1);
			sb_puts(b, u->template_ ? "${INSTANCE}" : u->inst);
		}
		if (s[1] == 'n')
			sb_puts(b, ".service");
		return 2;
	default:
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			if (dirs[i].c == s[1]) {
				sb_puts(b, dirs[i].text);
				return 2;
			}
		}
		note(u, d->line, key, d->value, false, "specifier %%%c kept as "
		    "it is", s[1] != '\0' ? s[1] : '?');
		sb_putn(b, "%", 1);
		return 1;
	}
}

/* A backslash escape at s[0] == '\\'; returns the bytes consumed. */
static size_t
escape(sbuf *b, const char *s)
{
	static const char from[] = "ntrabfvs\\\"'", to[] = "\n\t\r\a\b\f\v \\\"'";
	const char       *k;

	if (s[1] == '\0')
		return 1;
	if ((k = strchr(from, s[1])) != NULL) {
		sb_literal(b, &to[k - from], 1);
		return 2;
	}
	if (s[1] == 'x' && isxdigit((unsigned char)s[2]) &&
	    isxdigit((unsigned char)s[3])) {
		char hex[3] = { s[2], s[3], '\0' };
		char c = (char)strtol(hex, NULL, 16);

		sb_literal(b, &c, 1);
		return 4;
	}
	sb_literal(b, &s[1], 1);
	return 2;
}

/* One raw word (quotes intact, n bytes) into one argument. */
static void
word(unit *u, const dline *d, const char *key, sbuf *b, const char *s,
    size_t n)
{
	char q = 0;

	for (size_t i = 0; i < n;) {
		char c = s[i];

		if (q == 0 && (c == '"' || c == '\'')) {
			q = c;
			i++;
		} else if (q != 0 && c == q) {
			q = 0;
			i++;
		} else if (c == '\\' && q != '\'') {
			i += escape(b, s + i);
		} else if (c == '$' && i + 1 < n && s[i + 1] == '$') {
			sb_puts(b, "$$");
			i += 2;
		} else if (c == '$' && i + 1 < n && s[i + 1] == '{' &&
		    memchr(s + i, '}', n - i) != NULL) {
			const char *name = s + i + 2;
			size_t      len = (size_t)((const char *)memchr(s + i, '}',
			    n - i) - name);

			if (env_name_ok(name, len)) {
				expand_var(u, d, key, b, name, len);
				i += len + 3;
			} else {
				sb_puts(b, "$$");
				i++;
			}
		} else if (c == '%') {
			i += specifier(u, d, key, b, s + i);
		} else {
			sb_literal(b, &c, 1);
			i++;
		}
	}
}

/* Splits an environment value into words, appending each to argv. */
static void
split_value(cJSON *argv, const char *v)
{
	while (*(v = skip_space(v)) != '\0') {
		size_t n = strcspn(v, " \t\n");
		sbuf   b = { 0 };

		sb_literal(&b, v, n);
		cJSON_AddItemToArray(argv, cJSON_CreateString(b.p));
		free(b.p);
		v += n;
	}
}

/* The length of the raw word at s: up to unquoted white space. */
static size_t
raw_word(const char *s)
{
	char   q = 0;
	size_t i = 0;

	for (; s[i] != '\0'; i++) {
		if (s[i] == '\\' && q != '\'' && s[i + 1] != '\0')
			i++;
		else if (q == 0 && (s[i] == '"' || s[i] == '\''))
			q = s[i];
		else if (q != 0 && s[i] == q)
			q = 0;
		else if (q == 0 && (s[i] == ' ' || s[i] == '\t'))
			break;
	}
	return i;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* One exec line to an argv array; NULL when it has no program. */
static cJSON *
exec_argv(unit *u, const dline *d, const char *key)
{
	const char *s = d->value;
	bool        at = false;
	cJSON      *argv = cJSON_CreateArray();

	for (; *s == '-' || *s == '@' || *s == '+' || *s == '!' || *s == ':'; s++)
		at = at || *s == '@';
	while (*(s = skip_space(s)) != '\0') {
		size_t n = raw_word(s);
		sbuf   b = { 0 };

		if (n == 1 && *s == ';') {
			note(u, d->line, key, d->value, false, "only the first "
			    "command of a ';' list is kept");
			break;
		}
		if (s[0] == '$' && n > 1 && env_name_ok(s + 1, n - 1)) {
			/* "$VAR" alone: the value's words, or ${MAINPID} */
			if (n == 8 && strncmp(s + 1, "MAINPID", 7) == 0) {
				cJSON_AddItemToArray(argv,
				    cJSON_CreateString("${MAINPID}"));
			} else {
				char         name[NAME_MAX_ * 2];
				const cJSON *v;

				snprintf(name, sizeof(name), "%.*s", (int)(n - 1),
				    s + 1);
				v = cJSON_GetObjectItemCaseSensitive(u->env, name);
				if (cJSON_IsString(v))
					split_value(argv, v->valuestring);
				else
					note(u, d->line, key, d->value, false,
					    "$%s is not set when translating: "
					    "expanded to nothing", name);
			}
		} else {
			word(u, d, key, &b, s, n);
			cJSON_AddItemToArray(argv, cJSON_CreateString(b.p ? b.p : ""));
			free(b.p);
		}
		s += n;
	}
	if (at && cJSON_GetArraySize(argv) >= 2) {
		cJSON_DeleteItemFromArray(argv, 1);
		note(u, d->line, key, d->value, false, "'@' sets argv[0]; SystemK "
		    "runs the program under its own name");
	}
	if (cJSON_GetArraySize(argv) == 0 ||
	    cJSON_GetArrayItem(argv, 0)->valuestring[0] == '\0') {
		cJSON_Delete(argv);
		note(u, d->line, key, d->value, false, "no program to run");
		return NULL;
	}
	return argv;
}

/* sh -c / bash -c: kept, and said so. */
static void
note_shell(unit *u, const dline *d, const char *key, const cJSON *argv)
{
	static const char *const shells[] = { "sh", "bash", "dash", "zsh", "ksh" };
	const char              *prog = base_name(argv->child->valuestring);
	const cJSON             *a;

	for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); i++) {
		if (strcmp(prog, shells[i]) != 0)
			continue;
		cJSON_ArrayForEach(a, argv) {
			if (strcmp(a->valuestring, "-c") == 0) {
				note(u, d->line, key, d->value, true, "runs a "
				    "shell command; kept as the unit has it");
				return;
			}
		}
	}
}

static const char *const signals[] = { "HUP", "INT", "QUIT", "KILL", "USR1",
	"USR2", "TERM", "ALRM", "PWR", "WINCH", "CONT", "STOP", NULL };

/* "SIGHUP", "HUP", "hup", "1" -> "HUP"; NULL if SystemK has no such name. */
static const char *
signal_name(const char *s)
{
	static const struct {
		int         n;
		const char *name;
	} nums[] = { { 1, "HUP" }, { 2, "INT" }, { 3, "QUIT" }, { 9, "KILL" },
		{ 10, "USR1" }, { 12, "USR2" }, { 14, "ALRM" }, { 15, "TERM" },
		{ 18, "CONT" }, { 19, "STOP" }, { 28, "WINCH" } };
	char up[16];
	size_t i;

	if (isdigit((unsigned char)*s)) {
		for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
			if (atoi(s) == nums[i].n)
				return nums[i].name;
		return NULL;
	}
	for (i = 0; s[i] != '\0' && i < sizeof(up) - 1; i++)
		up[i] = (char)toupper((unsigned char)s[i]);
	up[i] = '\0';
	s = strncmp(up, "SIG", 3) == 0 ? up + 3 : up;
	for (i = 0; signals[i] != NULL; i++)
		if (strcmp(signals[i], s) == 0)
			return signals[i];
	return NULL;
}

/* `kill [-s] -SIG ${MAINPID}`: the signal it sends, else NULL. */
static const char *
kill_signal(const cJSON *argv)
{
	int          n = cJSON_GetArraySize(argv);
	const char  *sig;
	const cJSON *a1 = cJSON_GetArrayItem(argv, 1);

	if (strcmp(base_name(argv->child->valuestring), "kill") != 0 ||
	    strcmp(cJSON_GetArrayItem(argv, n - 1)->valuestring,
	        "${MAINPID}") != 0)
		return NULL;
	if (n == 3 && a1->valuestring[0] == '-')
		sig = a1->valuestring + 1;
	else if (n == 4 && (strcmp(a1->valuestring, "-s") == 0 ||
	    strcmp(a1->valuestring, "--signal") == 0))
		sig = cJSON_GetArrayItem(argv, 2)->valuestring;
	else
		return NULL;
	return signal_name(sig);
}

/*
 * ExecStop= / ExecReload= into group g.  A line that only sends a signal to
 * the main process (`kill -HUP $MAINPID`) wins: it is what the method is
 * for, the other lines (`sshd -t` before it) check or prepare.  Otherwise
 * the first line is the method.  The lines not kept are reported.
 */
static void
method(unit *u, enum list l, const char *key, cJSON *g)
{
	const dlist *dl = &u->list[l];
	cJSON       *argv[LIST_MAX];
	int          keep = -1;

	for (int i = 0; i < dl->n; i++) {
		argv[i] = exec_argv(u, &dl->v[i], key);
		if (argv[i] != NULL && keep < 0 && kill_signal(argv[i]) != NULL)
			keep = i;
	}
	if (keep >= 0) {
		cJSON_AddStringToObject(g, "signal", kill_signal(argv[keep]));
	} else {
		for (int i = 0; i < dl->n && keep < 0; i++)
			if (argv[i] != NULL)
				keep = i;
		if (keep >= 0) {
			note_shell(u, &dl->v[keep], key, argv[keep]);
			cJSON_AddItemToObject(g, "exec", argv[keep]);
			argv[keep] = NULL;
		}
	}
	for (int i = 0; i < dl->n; i++) {
		if (argv[i] != NULL && i != keep)
			note(u, dl->v[i].line, key, dl->v[i].value, false,
			    "SystemK runs one %s method; only '%s' is kept",
			    l == L_STOP ? "stop" : "refresh", dl->v[keep].value);
		cJSON_Delete(argv[i]);
	}
}

/* ---- environment -------------------------------------------------------------- */

/* Adds NAME=VALUE (n bytes; quotes already removed) to u->env. */
static void
env_set(unit *u, const dline *d, const char *key, const char *kv, size_t n)
{
	const char *eq = memchr(kv, '=', n);
	char        name[NAME_MAX_ * 2];

	if (eq == NULL || !env_name_ok(kv, (size_t)(eq - kv)) ||
	    (size_t)(eq - kv) >= sizeof(name)) {
		note(u, d->line, key, d->value, false, "'%.*s' is not NAME=VALUE",
		    (int)n, kv);
		return;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(eq - kv), kv);
	cJSON_DeleteItemFromObjectCaseSensitive(u->env, name);
	{
		char *val = strndup(eq + 1, n - (size_t)(eq - kv) - 1);

		cJSON_AddStringToObject(u->env, name, val != NULL ? val : "");
		free(val);
	}
}

/* Environment="A=1" "B=two words" C=3 */
static void
env_line(unit *u, const dline *d)
{
	const char *s = d->value;

	while (*(s = skip_space(s)) != '\0') {
		size_t n = raw_word(s);
		sbuf   b = { 0 };
		char   q = 0;

		for (size_t i = 0; i < n; i++) {
			if (q == 0 && (s[i] == '"' || s[i] == '\''))
				q = s[i];
			else if (q != 0 && s[i] == q)
				q = 0;
			else
				sb_putn(&b, &s[i], 1);
		}
		if (b.p != NULL)
			env_set(u, d, "Environment", b.p, b.n);
		free(b.p);
		s += n;
	}
}

/* EnvironmentFile=[-]PATH: read now, KEY=VALUE lines, '#' comments. */
static void
env_file(unit *u, const dline *d)
{
	const char *path = d->value[0] == '-' ? d->value + 1 : d->value;
	char       *text = u->read != NULL ? u->read(path, u->arg) : NULL;
	char       *line, *save = NULL;

	if (text == NULL) {
		note(u, d->line, "EnvironmentFile", d->value, false, "%s when "
		    "translating; its variables are missing",
		    u->read != NULL ? "not found" : "not read");
		return;
	}
	note(u, d->line, "EnvironmentFile", d->value, true, "read now, not at "
	    "each start: run import-unit again after changing it");
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char  *s = (char *)skip_space(line), *eq;
		size_t n;

		if (*s == '#' || *s == ';' || *s == '\0' ||
		    (eq = strchr(s, '=')) == NULL)
			continue;
		n = strlen(s);
		while (n > 0 && isspace((unsigned char)s[n - 1]))
			s[--n] = '\0';
		if (n > (size_t)(eq - s) + 2 && (eq[1] == '"' || eq[1] == '\'') &&
		    s[n - 1] == eq[1]) {
			memmove(eq + 1, eq + 2, n - (size_t)(eq - s) - 3);
			n -= 2;
			s[n] = '\0';
		}
		env_set(u, d, "EnvironmentFile", s, n);
	}
	free(text);
}

/* ---- dependencies --------------------------------------------------------------- */

static bool
systemd_target(const char *name, size_t n)
{
	static const char *const t[] = { "basic", "sysinit", "network",
		"network-online", "network-pre", "multi-user", "graphical",
		"local-fs", "local-fs-pre", "remote-fs", "remote-fs-pre",
		"nss-lookup", "nss-user-lookup", "time-sync", "time-set",
		"sockets", "timers", "paths", "shutdown", "rescue", "emergency",
		"default", "getty", "sound", "swap", "cryptsetup", "slices",
		"umount", "final", "reboot", "poweroff", "halt", "kexec",
		"rpcbind", "syslog", "printer", "bluetooth", "smartcard",
		"system-update", "first-boot-complete", "remote-cryptsetup" };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strlen(t[i]) == n && strncmp(t[i], name, n) == 0)
			return true;
	return false;
}

/* A unit name to "svc:/NAME:INST"; NULL with the reason in *why. */
static const char *
dep_fmri(const char *unit_name, char *out, size_t len, const char **why)
{
	const char *dot = strrchr(unit_name, '.'), *at;
	size_t      n = dot != NULL ? (size_t)(dot - unit_name) : strlen(unit_name);

	if (dot != NULL && strcmp(dot, ".target") == 0 &&
	    systemd_target(unit_name, n)) {
		*why = "a target of systemd's own; SystemK has no equivalent";
		return NULL;
	}
	if (dot != NULL && strcmp(dot, ".service") != 0 &&
	    strcmp(dot, ".target") != 0) {
		*why = "not a service; SystemK has services and milestones only";
		return NULL;
	}
	at = memchr(unit_name, '@', n);
	if (at != NULL && (size_t)(at - unit_name) + 1 == n) {
		*why = "a template without an instance";
		return NULL;
	}
	if (!name_ok(unit_name, at != NULL ? (size_t)(at - unit_name) : n) ||
	    (at != NULL && !name_ok(at + 1, n - (size_t)(at - unit_name) - 1))) {
		*why = "not a name SystemK accepts ([A-Za-z0-9_.-], 64 at most)";
		return NULL;
	}
	if (at != NULL)
		snprintf(out, len, "svc:/%.*s:%.*s", (int)(at - unit_name),
		    unit_name, (int)(n - (size_t)(at - unit_name) - 1), at + 1);
	else
		snprintf(out, len, "svc:/%.*s:default", (int)n, unit_name);
	return out;
}

static bool
in_array(const cJSON *arr, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if (strcmp(it->valuestring, s) == 0)
			return true;
	return false;
}

/* The FMRIs of list l not already in the before arrays (NULL-ended). */
static cJSON *
dep_services(unit *u, enum list l, const char *key, cJSON *const *before)
{
	cJSON *arr = cJSON_CreateArray();
	char   self[NAME_MAX_ * 2 + 8];

	snprintf(self, sizeof(self), "svc:/%s:%s", u->svc,
	    u->inst[0] != '\0' ? u->inst : "default");
	for (int i = 0; i < u->list[l].n; i++) {
		const dline *d = &u->list[l].v[i];
		const char  *s = d->value;

		while (*(s = skip_space(s)) != '\0') {
			size_t      n = strcspn(s, " \t");
			char        name[256], fmri[NAME_MAX_ * 2 + 8];
			const char *why = NULL;
			bool        dup;

			snprintf(name, sizeof(name), "%.*s", (int)n, s);
			s += n;
			if (dep_fmri(name, fmri, sizeof(fmri), &why) == NULL) {
				note(u, d->line, key, name, false, "%s", why);
				continue;
			}
			dup = in_array(arr, fmri) || strcmp(fmri, self) == 0;
			for (int k = 0; before[k] != NULL && !dup; k++)
				dup = in_array(before[k], fmri);
			if (!dup)
				cJSON_AddItemToArray(arr, cJSON_CreateString(fmri));
		}
	}
	return arr;
}

static void
add_dep(cJSON *deps, const char *name, const char *grouping, cJSON *services)
{
	cJSON *d;

	if (cJSON_GetArraySize(services) == 0) {
		cJSON_Delete(services);
		return;
	}
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "name", name);
	cJSON_AddStringToObject(d, "grouping", grouping);
	cJSON_AddStringToObject(d, "restart_on", "none");
	cJSON_AddItemToObject(d, "services", services);
	cJSON_AddItemToArray(deps, d);
}

static void
dependencies(unit *u, cJSON *m)
{
	cJSON *deps = cJSON_CreateArray();
	cJSON *req, *wants, *after;
	cJSON *none[] = { NULL }, *b1[2], *b2[3];

	req = dep_services(u, L_REQUIRES, "Requires", none);
	b1[0] = req, b1[1] = NULL;
	wants = dep_services(u, L_WANTS, "Wants", b1);
	b2[0] = req, b2[1] = wants, b2[2] = NULL;
	after = dep_services(u, L_AFTER, "After", b2);
	add_dep(deps, "requires", "require_all", req);
	add_dep(deps, "wants", "optional_all", wants);
	add_dep(deps, "after", "optional_all", after);
	add_dep(deps, "conflicts", "exclude_all",
	    dep_services(u, L_CONFLICTS, "Conflicts", none));
	if (cJSON_GetArraySize(deps) > 0)
		cJSON_AddItemToObject(m, "dependencies", deps);
	else
		cJSON_Delete(deps);
}

/* ---- pass 2: the manifest ------------------------------------------------------- */

static const char *
model(unit *u)
{
	const dline *t = &u->slot[S_TYPE];
	const char  *v = t->value != NULL ? t->value : "simple";

	if (strcmp(v, "simple") == 0 || strcmp(v, "exec") == 0 ||
	    strcmp(v, "idle") == 0)
		return "child";
	if (strcmp(v, "forking") == 0)
		return "forking";
	if (strcmp(v, "oneshot") == 0) {
		const char *r = u->slot[S_REMAIN].value;

		if (r == NULL || (strcmp(r, "yes") != 0 && strcmp(r, "true") != 0 &&
		    strcmp(r, "on") != 0 && strcmp(r, "1") != 0))
			note(u, t->line, "Type", v, true, "a transient service "
			    "stays online after it exits 0 (RemainAfterExit=yes)");
		return "transient";
	}
	if (strcmp(v, "notify") == 0 || strcmp(v, "notify-reload") == 0)
		return "notify";
	note(u, t->line, "Type", v, false, "translated as a child service");
	return "child";
}

/* Adds "key": seconds (rounded up, at least 1) from a time span slot. */
static void
timeout(unit *u, enum slot s, const char *key, cJSON *g, const char *field)
{
	const dline *d = &u->slot[s];
	long long    ms;
	int          rc;

	if (d->value == NULL)
		return;
	rc = kctl_unit_timespan(d->value, &ms);
	if (rc == 0 && ms > 0)
		cJSON_AddNumberToObject(g, field, (double)((ms + 999) / 1000));
	else
		note(u, d->line, key, d->value, false, rc < 0 ? "not a time span"
		    : "SystemK needs a finite timeout; the default is kept");
}

static void
start_stop(unit *u, cJSON *m, const char *mdl)
{
	cJSON *start = cJSON_CreateObject(), *stop = cJSON_CreateObject();
	cJSON *refresh = cJSON_CreateObject(), *argv;
	dlist *l = &u->list[L_START];

	if (l->n > 0 && (argv = exec_argv(u, &l->v[0], "ExecStart")) != NULL) {
		note_shell(u, &l->v[0], "ExecStart", argv);
		cJSON_AddItemToObject(start, "exec", argv);
	}
	for (int i = 1; i < l->n; i++)
		note(u, l->v[i].line, "ExecStart", l->v[i].value, false,
		    "SystemK runs one start method; only the first line is kept");
	if (l->n == 0)
		note(u, 0, "ExecStart", "", true, "none: the service becomes a "
		    "milestone");
	timeout(u, u->slot[S_TIMEOUT_START].value != NULL ? S_TIMEOUT_START
	    : S_TIMEOUT, "TimeoutStartSec", start, "timeout_s");
	method(u, L_STOP, "ExecStop", stop);
	if (u->slot[S_KILL_SIGNAL].value != NULL) {
		const char *sig = signal_name(u->slot[S_KILL_SIGNAL].value);

		if (sig == NULL)
			note(u, u->slot[S_KILL_SIGNAL].line, "KillSignal",
			    u->slot[S_KILL_SIGNAL].value, false, "not a signal "
			    "SystemK sends");
		else if (!cJSON_HasObjectItem(stop, "signal"))
			cJSON_AddStringToObject(stop, "signal", sig);
	}
	timeout(u, u->slot[S_TIMEOUT_STOP].value != NULL ? S_TIMEOUT_STOP
	    : S_TIMEOUT, "TimeoutStopSec", stop, "timeout_s");
	method(u, L_RELOAD, "ExecReload", refresh);
	if (u->slot[S_PIDFILE].value != NULL) {
		const dline *d = &u->slot[S_PIDFILE];

		if (strcmp(mdl, "forking") == 0 && d->value[0] == '/')
			cJSON_AddStringToObject(m, "pidfile", d->value);
		else
			note(u, d->line, "PIDFile", d->value, false, "used only "
			    "by a forking service, with an absolute path");
	}
	cJSON_AddItemToObject(m, "start", start);
	cJSON_AddItemToObject(m, "stop", stop);
	cJSON_AddItemToObject(m, "refresh", refresh);
}

static void
restart(unit *u, cJSON *m)
{
	const dline *d = &u->slot[S_RESTART];
	const char  *v = d->value != NULL ? d->value : "no";
	cJSON       *r = cJSON_CreateObject();
	long long    ms;

	if (strcmp(v, "no") == 0)
		cJSON_AddStringToObject(r, "policy", "never");
	else if (strcmp(v, "always") == 0)
		cJSON_AddStringToObject(r, "policy", "always");
	else if (strcmp(v, "on-failure") == 0)
		cJSON_AddStringToObject(r, "policy", "on-failure");
	else {
		cJSON_AddStringToObject(r, "policy", strcmp(v, "on-success") == 0
		    ? "always" : "on-failure");
		note(u, d->line, "Restart", v, false, "approximated as %s",
		    strcmp(v, "on-success") == 0 ? "always" : "on-failure");
	}
	if ((d = &u->slot[S_RESTART_SEC])->value != NULL) {
		if (kctl_unit_timespan(d->value, &ms) == 0) {
			cJSON_AddNumberToObject(r, "delay_ms", (double)ms);
			if (ms > 30000)
				cJSON_AddNumberToObject(r, "max_delay_ms",
				    (double)ms);
		} else {
			note(u, d->line, "RestartSec", d->value, false,
			    "not a finite time span");
		}
	}
	if ((d = &u->slot[S_BURST])->value != NULL) {
		char *end;
		long  n = strtol(d->value, &end, 10);

		if (*end == '\0' && n >= 0)
			cJSON_AddNumberToObject(r, "burst", (double)n);
		else
			note(u, d->line, "StartLimitBurst", d->value, false,
			    "not a count");
	}
	if ((d = &u->slot[S_INTERVAL])->value != NULL) {
		if (kctl_unit_timespan(d->value, &ms) == 0 && ms >= 1000)
			cJSON_AddNumberToObject(r, "window_s",
			    (double)((ms + 999) / 1000));
		else
			note(u, d->line, "StartLimitIntervalSec", d->value,
			    false, "not a time span of a second or more");
	}
	cJSON_AddItemToObject(m, "restart", r);
}

/* A context string slot checked by ok. */
static void
ctx_string(unit *u, cJSON *c, enum slot s, const char *key, const char *field,
    bool (*ok)(const char *), const char *cause)
{
	const dline *d = &u->slot[s];
	const char  *v = d->value;

	if (v == NULL)
		return;
	if (s == S_WORKDIR && v[0] == '-')
		v++;
	if (ok(v))
		cJSON_AddStringToObject(c, field, v);
	else
		note(u, d->line, key, d->value, false, "%s", cause);
}

static bool
ident_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == ':' || s[i] == '/' ||
		    s[i] == '%' || s[i] == '$')
			return false;
	return true;
}

static bool
abs_path_ok(const char *s)
{
	return s[0] == '/' && strchr(s, '%') == NULL;
}

static bool
umask_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 4 && strspn(s, "01234567") == n &&
	    strtoul(s, NULL, 8) <= 0777;
}

static void
context(unit *u, cJSON *m)
{
	cJSON       *c = cJSON_CreateObject();
	const dline *d;

	ctx_string(u, c, S_USER, "User", "user", ident_ok,
	    "not a user name SystemK accepts");
	ctx_string(u, c, S_GROUP, "Group", "group", ident_ok,
	    "not a group name SystemK accepts");
	ctx_string(u, c, S_WORKDIR, "WorkingDirectory", "working_directory",
	    abs_path_ok, "not an absolute path");
	ctx_string(u, c, S_UMASK, "UMask", "umask", umask_ok,
	    "not an octal umask");
	if (cJSON_GetArraySize(u->env) > 0)
		cJSON_AddItemToObject(c, "environment",
		    cJSON_Duplicate(u->env, true));
	if ((d = &u->slot[S_NOFILE])->value != NULL) {
		const char *v = d->value, *colon = strchr(v, ':');
		char       *end;
		cJSON      *lim = cJSON_CreateObject();
		long long   n;

		if (colon != NULL) {
			note(u, d->line, "LimitNOFILE", v, true, "soft:hard; "
			    "SystemK sets both to the hard limit");
			v = colon + 1;
		}
		n = strtoll(v, &end, 10);
		if (strcmp(v, "infinity") == 0)
			cJSON_AddStringToObject(lim, "nofile", "infinity");
		else if (*end == '\0' && end != v && n >= 0)
			cJSON_AddNumberToObject(lim, "nofile", (double)n);
		else
			note(u, d->line, "LimitNOFILE", d->value, false,
			    "not a count");
		if (cJSON_GetArraySize(lim) > 0)
			cJSON_AddItemToObject(c, "limits", lim);
		else
			cJSON_Delete(lim);
	}
	if (cJSON_GetArraySize(c) > 0)
		cJSON_AddItemToObject(m, "context", c);
	else
		cJSON_Delete(c);
}

static void
instances(unit *u, cJSON *m)
{
	const char *name = u->inst[0] != '\0' ? u->inst : "default";
	cJSON      *all = cJSON_CreateObject(), *one = cJSON_CreateObject();

	if (u->template_) {
		const dline *d = &u->slot[S_DEFAULT_INSTANCE];

		if (d->value != NULL && name_ok(d->value, strlen(d->value)))
			name = d->value;
		else
			note(u, 0, "DefaultInstance", "", true, "a template: "
			    "instance 'default' made; add instances to the "
			    "manifest");
	}
	cJSON_AddBoolToObject(one, "enabled", u->installed);
	cJSON_AddItemToObject(all, name, one);
	cJSON_AddItemToObject(m, "instances", all);
}

/* Drops the empty start/stop/refresh objects. */
static void
prune(cJSON *m)
{
	static const char *const g[] = { "start", "stop", "refresh" };

	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		cJSON *o = cJSON_GetObjectItemCaseSensitive(m, g[i]);

		if (o != NULL && cJSON_GetArraySize(o) == 0)
			cJSON_DeleteItemFromObjectCaseSensitive(m, g[i]);
	}
}

/* Sorts notes by line (stable), so that they read in the file's order. */
static void
sort_notes(cJSON *notes)
{
	int     n = cJSON_GetArraySize(notes);
	cJSON **v = calloc((size_t)n + 1, sizeof(*v));

	if (v == NULL)
		return;
	for (int i = 0; i < n; i++)
		v[i] = cJSON_DetachItemFromArray(notes, 0);
	for (int i = 1; i < n; i++) {
		cJSON *x = v[i];
		double lx = cJSON_GetNumberValue(cJSON_GetObjectItem(x, "line"));
		int    j = i;

		for (; j > 0 && cJSON_GetNumberValue(cJSON_GetObjectItem(v[j - 1],
		    "line")) > lx; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(notes, v[i]);
	free(v);
}

/* "nginx.service" -> u->svc; "getty@.service" a template. */
static int
unit_name(unit *u, const char *name, char *why, size_t whylen)
{
	size_t      n = strlen(name);
	const char *at;

	if (n <= 8 || strcmp(name + n - 8, ".service") != 0) {
		snprintf(why, whylen, "not a .service unit");
		return -1;
	}
	n -= 8;
	at = memchr(name, '@', n);
	if (at != NULL) {
		size_t ilen = n - (size_t)(at - name) - 1;

		u->template_ = ilen == 0;
		if (ilen > 0 && !name_ok(at + 1, ilen)) {
			snprintf(why, whylen, "instance '%.*s' is not a name "
			    "SystemK accepts ([A-Za-z0-9_.-], 64 at most)",
			    (int)ilen, at + 1);
			return -1;
		}
		snprintf(u->inst, sizeof(u->inst), "%.*s", (int)ilen, at + 1);
		n = (size_t)(at - name);
	}
	if (!name_ok(name, n)) {
		snprintf(why, whylen, "'%.*s' is not a service name SystemK "
		    "accepts ([A-Za-z0-9_.-], 64 at most)", (int)n, name);
		return -1;
	}
	snprintf(u->svc, sizeof(u->svc), "%.*s", (int)n, name);
	return 0;
}

int
kctl_unit_translate(const char *text, const char *name,
    kctl_unit_reader *read, void *arg, cJSON **out, cJSON *notes, char *why,
    size_t whylen)
{
	unit        u;
	char       *copy = strdup(text);
	cJSON      *m;
	const char *mdl;

	*out = NULL;
	memset(&u, 0, sizeof(u));
	u.file = name;
	u.notes = notes;
	u.read = read;
	u.arg = arg;
	u.env = cJSON_CreateObject();
	if (copy == NULL || u.env == NULL) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	if (unit_name(&u, name, why, whylen) != 0 ||
	    parse(&u, copy, why, whylen) != 0)
		goto fail;
	for (int i = 0; i < u.list[L_ENV].n; i++)
		env_line(&u, &u.list[L_ENV].v[i]);
	for (int i = 0; i < u.list[L_ENVFILE].n; i++)
		env_file(&u, &u.list[L_ENVFILE].v[i]);
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "service", u.svc);
	if (u.slot[S_DESCRIPTION].value != NULL)
		cJSON_AddStringToObject(m, "description",
		    u.slot[S_DESCRIPTION].value);
	mdl = model(&u);
	cJSON_AddStringToObject(m, "model", mdl);
	start_stop(&u, m, mdl);
	restart(&u, m);
	dependencies(&u, m);
	context(&u, m);
	instances(&u, m);
	prune(m);
	sort_notes(u.notes);
	*out = m;
	cJSON_Delete(u.env);
	free(copy);
	return 0;
fail:
	cJSON_Delete(u.env);
	free(copy);
	return -1;
}
