/*
 * manifest.c -- validation of manifests and property groups, and the
 * conversion of one into the other (see manifest.h for the mapping).
 *
 * One table, fields[], describes every framework property: its group, its
 * name and its kind (type, single or multi-valued, allowed values).  Both
 * input forms go through it: a friendly key ("restart": {"burst": 5}) is
 * first turned into a canonical property of the kind's type, then checked
 * exactly as the same property in raw "property_groups" form would be.  So
 * the two forms cannot drift apart, and raw input cannot smuggle in a value
 * the friendly form would refuse.
 *
 * Every failure goes through bad(), which prefixes the file and the JSON
 * pointer held in the context; values are never echoed (one may be secret).
 */
#include "manifest.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kipc.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- error context: the file and the JSON pointer being looked at --------- */

typedef struct mctx {
	const char *file;
	char       *err;
	size_t      errlen;
	char        ptr[512];
	size_t      plen;
	bool        hides; /* an instance: null hides what it inherits */
} mctx;

static void
ptr_putc(mctx *c, char ch)
{
	if (c->plen + 1 < sizeof(c->ptr))
		c->ptr[c->plen++] = ch;
	c->ptr[c->plen] = '\0';
}

/*
 * Descends into key: appends "/key" (RFC 6901 escaped; bytes that could
 * garble a log line shown as '?').  Returns the length to go back to.
 */
static size_t
at(mctx *c, const char *key)
{
	size_t old = c->plen;

	ptr_putc(c, '/');
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		if (*p == '~') {
			ptr_putc(c, '~');
			ptr_putc(c, '0');
		} else if (*p == '/') {
			ptr_putc(c, '~');
			ptr_putc(c, '1');
		} else
			ptr_putc(c, (*p < 0x20 || *p >= 0x7f) ? '?' : (char)*p);
	}
	return old;
}

static size_t
at_index(mctx *c, int i)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", i);
	return at(c, buf);
}

static void
back(mctx *c, size_t old)
{
	c->plen = old;
	c->ptr[old] = '\0';
}

static int
bad(mctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
bad(mctx *c, const char *fmt, ...)
{
	char    msg[256];
	va_list ap;

	const char *hash = strchr(c->file, '#');
	int         flen = hash ? (int)(hash - c->file) : (int)strlen(c->file);
	const char *base = hash ? hash + 1 : "";

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One file, one JSON pointer: a manifest inside an array or an
	 * export comes named "FILE#/1" (kctl), and its fault is
	 * "FILE: /1/model", not "FILE#/1: /model". */
	if (c->plen == 0 && *base == '\0')
		snprintf(c->err, c->errlen, "%.*s: %s", flen, c->file, msg);
	else
		snprintf(c->err, c->errlen, "%.*s: %s%s: %s", flen, c->file,
		    base, c->plen ? c->ptr : "", msg);
	return -1;
}

/* ---- names, strings, JSON shapes ------------------------------------------ */

static const char *const type_names[KT__COUNT] = { "boolean", "integer",
	"count", "string", "fmri" };

int
kcfg_type_by_name(const char *name)
{
	for (int i = 0; i < KT__COUNT; i++)
		if (name != NULL && strcmp(type_names[i], name) == 0)
			return i;
	return -1;
}

const char *
kcfg_type_name(kcfg_type t)
{
	return ((int)t >= 0 && t < KT__COUNT) ? type_names[t] : "unknown";
}

bool
kcfg_name_ok(const char *s)
{
	size_t n = 0;

	if (s == NULL || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; s[n] != '\0'; n++) {
		char ch = s[n];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
		    ch == '-'))
			return false;
		if (n >= KCFG_NAME_MAX)
			return false;
	}
	return n > 0;
}

/* cJSON takes any bytes; strings we store and re-emit must be UTF-8. */
static bool
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		uint32_t cp;
		int      n;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0)
			n = 1, cp = *p & 0x1f;
		else if ((*p & 0xf0) == 0xe0)
			n = 2, cp = *p & 0x0f;
		else if ((*p & 0xf8) == 0xf0)
			n = 3, cp = *p & 0x07;
		else
			return false;
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

/*
 * Checks that obj is an object with at most max members and no duplicate
 * keys (cJSON keeps duplicates and lookups would see only the first).
 */
static int
obj_check(mctx *c, const cJSON *obj, int max)
{
	int n = 0;

	if (!cJSON_IsObject(obj))
		return bad(c, "expected an object");
	for (const cJSON *a = obj->child; a != NULL; a = a->next) {
		if (++n > max)
			return bad(c, "more than %d members", max);
		for (const cJSON *b = obj->child; b != a; b = b->next)
			if (strcmp(a->string, b->string) == 0) {
				size_t old = at(c, a->string);
				int    rc = bad(c, "duplicate key");

				back(c, old);
				return rc;
			}
	}
	return 0;
}

/* Replaces (or adds) key in obj with item, which is taken. */
static int
put_item(cJSON *obj, const char *key, cJSON *item)
{
	if (item == NULL)
		return -1;
	if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
		return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item) ? 0
		                                                              : -1;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return -1;
	}
	return 0;
}

/* The group named pg in pgs, created empty if absent. */
static cJSON *
pg_get(cJSON *pgs, const char *pg)
{
	cJSON *g = cJSON_GetObjectItemCaseSensitive(pgs, pg);

	return g != NULL ? g : cJSON_AddObjectToObject(pgs, pg);
}

/* ---- values and properties ------------------------------------------------ */

static cJSON *
new_uint64(uint64_t v)
{
	char buf[32];

	/* kipc prints large exact integers itself (cJSON rounds some). */
	if (v <= (uint64_t)KIPC_JSON_EXACT_MAX)
		return kipc_json_new_int64((int64_t)v);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cJSON_CreateString(buf);
}

static cJSON *
canon_string(mctx *c, const cJSON *v)
{
	if (!cJSON_IsString(v)) {
		bad(c, "expected a string");
		return NULL;
	}
	if (strlen(v->valuestring) > KCFG_VALUE_MAX) {
		bad(c, "string longer than %d bytes", KCFG_VALUE_MAX);
		return NULL;
	}
	if (!utf8_ok(v->valuestring)) {
		bad(c, "string is not valid UTF-8");
		return NULL;
	}
	return cJSON_CreateString(v->valuestring);
}

static cJSON *
canon_fmri(mctx *c, const cJSON *v)
{
	char svc[KCFG_NAME_MAX + 1], inst[KCFG_NAME_MAX + 1];
	char buf[KCFG_FMRI_MAX];

	if (!cJSON_IsString(v) ||
	    kcfg_fmri_parse(v->valuestring, svc, inst) != 0) {
		bad(c, "expected an FMRI such as svc:/NAME:INSTANCE");
		return NULL;
	}
	kcfg_fmri_format(buf, sizeof(buf), svc, inst);
	return cJSON_CreateString(buf);
}

/* One value of type t in canonical form, or NULL with the reason. */
static cJSON *
canon_value(mctx *c, kcfg_type t, const cJSON *v)
{
	int64_t  i;
	uint64_t u;

	switch (t) {
	case KT_BOOLEAN:
		if (!cJSON_IsBool(v))
			break;
		return cJSON_CreateBool(cJSON_IsTrue(v));
	case KT_INTEGER:
		if (kipc_json_int64(v, &i) != 0)
			break;
		return kipc_json_new_int64(i);
	case KT_COUNT:
		if (kipc_json_uint64(v, &u) != 0)
			break;
		return new_uint64(u);
	case KT_STRING:
		return canon_string(c, v);
	case KT_FMRI:
		return canon_fmri(c, v);
	default:
		break;
	}
	if (t == KT_BOOLEAN)
		bad(c, "expected true or false");
	else if (t == KT_INTEGER)
		bad(c, "expected an integer (a number within 2^53 or a decimal "
		       "string)");
	else
		bad(c, "expected a non-negative integer");
	return NULL;
}

/* A canonical property of type t holding values (taken). */
static cJSON *
prop_new(kcfg_type t, cJSON *values, bool secret)
{
	cJSON *p = cJSON_CreateObject();

	if (p == NULL || values == NULL) {
		cJSON_Delete(p);
		cJSON_Delete(values);
		return NULL;
	}
	cJSON_AddStringToObject(p, "type", type_names[t]);
	cJSON_AddItemToObject(p, "values", values);
	if (secret)
		cJSON_AddTrueToObject(p, "secret");
	return p;
}

/* Appends the canonical form of v to arr; the pointer is already at v. */
static int
append_value(mctx *c, cJSON *arr, kcfg_type t, const cJSON *v)
{
	cJSON *cv = canon_value(c, t, v);

	if (cv == NULL)
		return -1;
	cJSON_AddItemToArray(arr, cv);
	return 0;
}

/* The values of a typed property: "value": V or "values": [V...]. */
static cJSON *
prop_values(mctx *c, kcfg_type t, const cJSON *value, const cJSON *values)
{
	cJSON *arr = cJSON_CreateArray();
	int    i = 0;
	size_t old;

	if (value != NULL) {
		old = at(c, "value");
		if (append_value(c, arr, t, value) != 0)
			goto fail;
		back(c, old);
		return arr;
	}
	old = at(c, "values");
	if (!cJSON_IsArray(values)) {
		bad(c, "expected an array");
		goto fail;
	}
	if (cJSON_GetArraySize(values) > KCFG_VALUES_MAX) {
		bad(c, "more than %d values", KCFG_VALUES_MAX);
		goto fail;
	}
	for (const cJSON *v = values->child; v != NULL; v = v->next, i++) {
		size_t o2 = at_index(c, i);

		if (append_value(c, arr, t, v) != 0)
			goto fail;
		back(c, o2);
	}
	back(c, old);
	return arr;
fail:
	cJSON_Delete(arr);
	return NULL;
}

/* Parses a property in typed form into its canonical form. */
static cJSON *
prop_parse(mctx *c, const cJSON *in)
{
	const cJSON *type, *value, *values, *secret;
	int          t;

	if (obj_check(c, in, 4) != 0)
		return NULL;
	for (const cJSON *k = in->child; k != NULL; k = k->next)
		if (strcmp(k->string, "type") != 0 &&
		    strcmp(k->string, "value") != 0 &&
		    strcmp(k->string, "values") != 0 &&
		    strcmp(k->string, "secret") != 0) {
			size_t old = at(c, k->string);

			bad(c, "unknown key (a property has type, value or "
			       "values, secret)");
			back(c, old);
			return NULL;
		}
	type = cJSON_GetObjectItemCaseSensitive(in, "type");
	value = cJSON_GetObjectItemCaseSensitive(in, "value");
	values = cJSON_GetObjectItemCaseSensitive(in, "values");
	secret = cJSON_GetObjectItemCaseSensitive(in, "secret");
	if ((t = kcfg_type_by_name(kipc_json_str(in, "type"))) < 0) {
		size_t old = type != NULL ? at(c, "type") : c->plen;

		bad(c, "expected a type: boolean, integer, count, string or "
		       "fmri");
		back(c, old);
		return NULL;
	}
	if ((value == NULL) == (values == NULL)) {
		bad(c, "expected either value or values");
		return NULL;
	}
	if (secret != NULL && !cJSON_IsBool(secret)) {
		size_t old = at(c, "secret");

		bad(c, "expected true or false");
		back(c, old);
		return NULL;
	}
	return prop_new((kcfg_type)t, prop_values(c, t, value, values),
	    cJSON_IsTrue(secret));
}

/* ---- the framework properties --------------------------------------------- */

enum kind {
	K_BOOL,   /* boolean, one value */
	K_COUNT,  /* count, one value */
	K_STRING, /* string, one value */
	K_ENUM,   /* string, one of choices */
	K_SIGNAL, /* string, a signal name, stored as "TERM" */
	K_PATH,   /* string, an absolute path */
	K_UMASK,  /* string, octal */
	K_IDENT,  /* string, a user or group */
	K_ARGV,   /* strings, at least one, the first non-empty */
	K_ENV,    /* strings "NAME=VALUE" */
	K_FMRIS,  /* fmris of instances, at least one */
};

static const char *const models[] = { "child", "forking", "transient",
	"notify", NULL };
static const char *const logs[] = { "file", "console", NULL };
static const char *const policies[] = { "always", "on-failure", "never",
	NULL };
static const char *const groupings[] = { "require_all", "require_any",
	"optional_all", "exclude_all", NULL };
static const char *const restart_ons[] = { "none", "error", "restart",
	"refresh", NULL };

/* Names ending in '*' match by prefix (dep_NAME, limit_NAME). */
static const struct field {
	const char        *pg;
	const char        *prop;
	enum kind          kind;
	const char *const *choices;
} fields[] = {
	{ "general", "enabled", K_BOOL, NULL },
	{ "general", "description", K_STRING, NULL },
	{ "general", "model", K_ENUM, models },
	{ "general", "log", K_ENUM, logs },
	{ "general", "pidfile", K_PATH, NULL },
	{ "start", "exec", K_ARGV, NULL },
	{ "start", "timeout_s", K_COUNT, NULL },
	{ "stop", "exec", K_ARGV, NULL },
	{ "stop", "timeout_s", K_COUNT, NULL },
	{ "stop", "signal", K_SIGNAL, NULL },
	{ "refresh", "exec", K_ARGV, NULL },
	{ "refresh", "timeout_s", K_COUNT, NULL },
	{ "refresh", "signal", K_SIGNAL, NULL },
	{ "restart", "policy", K_ENUM, policies },
	{ "restart", "delay_ms", K_COUNT, NULL },
	{ "restart", "max_delay_ms", K_COUNT, NULL },
	{ "restart", "burst", K_COUNT, NULL },
	{ "restart", "window_s", K_COUNT, NULL },
	{ "context", "user", K_IDENT, NULL },
	{ "context", "group", K_IDENT, NULL },
	{ "context", "working_directory", K_PATH, NULL },
	{ "context", "umask", K_UMASK, NULL },
	{ "context", "environment", K_ENV, NULL },
	{ "context", "limit_*", K_COUNT, NULL },
	{ "dep_*", "grouping", K_ENUM, groupings },
	{ "dep_*", "restart_on", K_ENUM, restart_ons },
	{ "dep_*", "services", K_FMRIS, NULL },
};

/* Groups the "properties" key may not name: the manifest's own keys do. */
static bool
pg_reserved(const char *pg)
{
	static const char *const r[] = { "general", "start", "stop", "refresh",
		"restart", "context" };

	for (size_t i = 0; i < NELEM(r); i++)
		if (strcmp(pg, r[i]) == 0)
			return true;
	return strncmp(pg, "dep_", 4) == 0;
}

static bool
name_match(const char *pattern, const char *name)
{
	size_t n = strlen(pattern);

	if (n > 0 && pattern[n - 1] == '*')
		return strncmp(pattern, name, n - 1) == 0 && name[n - 1] != '\0';
	return strcmp(pattern, name) == 0;
}

static const struct field *
field_find(const char *pg, const char *prop)
{
	for (size_t i = 0; i < NELEM(fields); i++)
		if (name_match(fields[i].pg, pg) &&
		    name_match(fields[i].prop, prop))
			return &fields[i];
	return NULL;
}

static kcfg_type
kind_type(enum kind k)
{
	switch (k) {
	case K_BOOL:
		return KT_BOOLEAN;
	case K_COUNT:
		return KT_COUNT;
	case K_FMRIS:
		return KT_FMRI;
	default:
		return KT_STRING;
	}
}

static bool
kind_multi(enum kind k)
{
	return k == K_ARGV || k == K_ENV || k == K_FMRIS;
}

/* The signals a stop or refresh may send (kstartd maps the same names). */
static const char *const signals[] = { "HUP", "INT", "QUIT", "KILL", "USR1",
	"USR2", "TERM", "ALRM", "PWR", "WINCH", "CONT", "STOP", NULL };

/* The bare name of signal s ("SIGTERM" and "TERM" give "TERM"), or NULL. */
static const char *
signal_name(const char *s)
{
	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (int i = 0; signals[i] != NULL; i++)
		if (strcmp(signals[i], s) == 0)
			return signals[i];
	return NULL;
}

static bool
in_choices(const char *const *choices, const char *s)
{
	for (int i = 0; choices[i] != NULL; i++)
		if (strcmp(choices[i], s) == 0)
			return true;
	return false;
}

static int
bad_choice(mctx *c, const char *const *choices)
{
	char   list[256] = "";
	size_t n = 0;

	for (int i = 0; choices[i] != NULL && n < sizeof(list); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
		    i > 0 ? ", " : "", choices[i]);
	return bad(c, "expected one of %s", list);
}

static bool
umask_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 4)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '7')
			return false;
	return strtoul(s, NULL, 8) <= 0777;
}

static bool
ident_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > KCFG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == ':' || s[i] == '/' ||
		    s[i] == 0x7f)
			return false;
	return true;
}

static bool
env_name_ok(const char *s, size_t n)
{
	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

/* Checks (and canonicalises) one string value v of a property of kind f. */
static int
check_string(mctx *c, const struct field *f, cJSON *v, int index)
{
	const char *s = v->valuestring, *sig, *eq;

	switch (f->kind) {
	case K_ENUM:
		return in_choices(f->choices, s) ? 0 : bad_choice(c, f->choices);
	case K_SIGNAL:
		if ((sig = signal_name(s)) == NULL)
			return bad(c, "expected a signal name such as TERM or "
			              "HUP");
		return cJSON_SetValuestring(v, sig) != NULL ? 0
		                                            : bad(c, "out of memory");
	case K_PATH:
		return s[0] == '/' ? 0 : bad(c, "expected an absolute path");
	case K_UMASK:
		return umask_ok(s) ? 0 : bad(c, "expected an octal umask such "
		                                "as 022");
	case K_IDENT:
		return ident_ok(s) ? 0 : bad(c, "expected a user or group name");
	case K_ARGV:
		return index > 0 || s[0] != '\0'
		           ? 0
		           : bad(c, "expected a program as the first argument");
	case K_ENV:
		eq = strchr(s, '=');
		return eq != NULL && env_name_ok(s, (size_t)(eq - s))
		           ? 0
		           : bad(c, "expected NAME=VALUE");
	default:
		return 0;
	}
}

/*
 * A service FMRI in a dependency means its default instance, which is what
 * kstartd orders on.
 */
static int
check_fmri(mctx *c, cJSON *v)
{
	char svc[KCFG_NAME_MAX + 1], inst[KCFG_NAME_MAX + 1];
	char buf[KCFG_FMRI_MAX];

	if (kcfg_fmri_parse(v->valuestring, svc, inst) != 0)
		return bad(c, "expected an FMRI");
	if (inst[0] != '\0')
		return 0;
	kcfg_fmri_format(buf, sizeof(buf), svc, "default");
	return cJSON_SetValuestring(v, buf) != NULL ? 0 : bad(c, "out of memory");
}

/*
 * Checks canonical property p (already typed) against framework field f;
 * canonicalises signal names and service FMRIs in place.
 */
static int
field_check(mctx *c, const struct field *f, cJSON *p)
{
	const cJSON *values = cJSON_GetObjectItemCaseSensitive(p, "values");
	kcfg_type    t = kind_type(f->kind);
	int          n = cJSON_GetArraySize(values), i = 0;

	if (strcmp(kipc_json_str(p, "type"), type_names[t]) != 0)
		return bad(c, "expected type %s", type_names[t]);
	if (!kind_multi(f->kind) && n != 1)
		return bad(c, "expected exactly one value");
	if ((f->kind == K_ARGV || f->kind == K_FMRIS) && n < 1)
		return bad(c, "expected at least one value");
	for (cJSON *v = values->child; v != NULL; v = v->next, i++) {
		int rc = 0;

		if (t == KT_STRING)
			rc = check_string(c, f, v, i);
		else if (t == KT_FMRI)
			rc = check_fmri(c, v);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- canonical property groups -------------------------------------------- */

/*
 * Hides (DESIGN section 7 is silent; systemk-manifest(5) fixes it): in an
 * instance, a property whose value is null hides the property of that name
 * the instance inherits from its service, and a group whose value is null
 * hides the whole inherited group -- JSON Merge Patch's meaning of null.
 * They are kept in the instance's manifest layer as the tombstones the
 * admin layer uses (manifest.h), so composition treats both alike.
 */
static cJSON *
tombstone_new(void)
{
	cJSON *p = cJSON_CreateObject();

	if (p != NULL && cJSON_AddTrueToObject(p, "deleted") == NULL) {
		cJSON_Delete(p);
		return NULL;
	}
	return p;
}

static cJSON *
group_mask_new(void)
{
	cJSON *g = cJSON_CreateObject(), *t = tombstone_new();

	if (g == NULL || t == NULL) {
		cJSON_Delete(g);
		cJSON_Delete(t);
		return NULL;
	}
	cJSON_AddItemToObject(g, KCFG_PG_MASK, t);
	return g;
}

/*
 * Parses one group of typed properties; framework ones are checked by
 * fields[].  Returns a new canonical group or NULL.
 */
static cJSON *
pg_parse(mctx *c, const char *pg, const cJSON *in)
{
	cJSON *out = NULL;

	if (obj_check(c, in, KCFG_PROPS_MAX) != 0)
		return NULL;
	if ((out = cJSON_CreateObject()) == NULL)
		return NULL;
	for (const cJSON *it = in->child; it != NULL; it = it->next) {
		size_t              old = at(c, it->string);
		const struct field *f = field_find(pg, it->string);
		cJSON              *p = NULL;

		if (!kcfg_name_ok(it->string))
			bad(c, "expected a property name of 1 to %d characters "
			       "[A-Za-z0-9_.-]", KCFG_NAME_MAX);
		else if (cJSON_IsNull(it) && c->hides)
			p = tombstone_new();
		else if (cJSON_IsNull(it))
			bad(c, "null hides an inherited property: only an "
			       "instance inherits");
		else if ((p = prop_parse(c, it)) != NULL && f != NULL &&
		    field_check(c, f, p) != 0) {
			cJSON_Delete(p);
			p = NULL;
		}
		if (p == NULL || put_item(out, it->string, p) != 0) {
			cJSON_Delete(out);
			return NULL;
		}
		back(c, old);
	}
	kcfg_json_sort(out);
	return out;
}

/*
 * Parses a set of groups.  reserved_ok says whether the framework groups
 * may appear (raw "property_groups": yes; "properties": no).
 */
static cJSON *
pgs_parse(mctx *c, const cJSON *in, bool reserved_ok)
{
	cJSON *out;

	if (obj_check(c, in, KCFG_PGS_MAX) != 0)
		return NULL;
	if ((out = cJSON_CreateObject()) == NULL)
		return NULL;
	for (const cJSON *g = in->child; g != NULL; g = g->next) {
		size_t old = at(c, g->string);
		cJSON *pg = NULL;

		if (!kcfg_name_ok(g->string))
			bad(c, "expected a group name of 1 to %d characters "
			       "[A-Za-z0-9_.-]", KCFG_NAME_MAX);
		else if (!reserved_ok && pg_reserved(g->string))
			bad(c, "reserved group name: set it with the manifest's "
			       "own keys or in property_groups");
		else if (cJSON_IsNull(g) && c->hides)
			pg = group_mask_new();
		else if (cJSON_IsNull(g))
			bad(c, "null hides an inherited group: only an instance "
			       "inherits");
		else
			pg = pg_parse(c, g->string, g);
		if (pg == NULL || put_item(out, g->string, pg) != 0) {
			cJSON_Delete(out);
			return NULL;
		}
		back(c, old);
	}
	kcfg_json_sort(out);
	return out;
}

int
kcfg_pgs_check(cJSON *pgs, const char *file, const char *where, char *err,
               size_t errlen)
{
	mctx   c = { .file = file, .err = err, .errlen = errlen };
	cJSON *out;

	snprintf(c.ptr, sizeof(c.ptr), "%s", where);
	c.plen = strlen(c.ptr);
	if ((out = pgs_parse(&c, pgs, true)) == NULL)
		return -1;
	/* Swap the canonical members into the caller's object. */
	cJSON_Delete(pgs->child);
	pgs->child = out->child;
	out->child = NULL;
	cJSON_Delete(out);
	return 0;
}

/* ---- the friendly form ----------------------------------------------------- */

/*
 * Converts json, the friendly value of framework field f, into property
 * prop of group pg in pgs.  The pointer is at json.
 */
static int
friendly(mctx *c, cJSON *pgs, const char *pg, const char *prop,
         const struct field *f, const cJSON *json)
{
	kcfg_type t = kind_type(f->kind);
	cJSON    *vals = cJSON_CreateArray(), *p;
	int       i = 0;

	if (vals == NULL)
		return bad(c, "out of memory");
	if (!kind_multi(f->kind)) {
		if (append_value(c, vals, t, json) != 0)
			goto fail;
	} else if (!cJSON_IsArray(json)) {
		bad(c, "expected an array of strings");
		goto fail;
	} else {
		if (cJSON_GetArraySize(json) > KCFG_VALUES_MAX) {
			bad(c, "more than %d values", KCFG_VALUES_MAX);
			goto fail;
		}
		for (const cJSON *v = json->child; v != NULL; v = v->next, i++) {
			size_t old = at_index(c, i);

			if (append_value(c, vals, t, v) != 0)
				goto fail;
			back(c, old);
		}
	}
	if ((p = prop_new(t, vals, false)) == NULL)
		return bad(c, "out of memory");
	if (field_check(c, f, p) != 0) {
		cJSON_Delete(p);
		return -1;
	}
	return put_item(pg_get(pgs, pg), prop, p) == 0 ? 0 : bad(c, "out of "
	                                                            "memory");
fail:
	cJSON_Delete(vals);
	return -1;
}

/* "environment": {"K": "V"} becomes context/environment ["K=V"]. */
static int
environment(mctx *c, cJSON *pgs, const cJSON *env)
{
	cJSON *arr;
	int    rc;

	if (obj_check(c, env, KCFG_VALUES_MAX) != 0)
		return -1;
	if ((arr = cJSON_CreateArray()) == NULL)
		return bad(c, "out of memory");
	for (const cJSON *e = env->child; e != NULL; e = e->next) {
		size_t old = at(c, e->string);
		char  *kv;

		if (!env_name_ok(e->string, strlen(e->string)) ||
		    !cJSON_IsString(e) ||
		    strlen(e->string) + strlen(e->valuestring) > KCFG_VALUE_MAX) {
			rc = !cJSON_IsString(e) ? bad(c, "expected a string")
			                        : bad(c, "expected a variable name "
			                                 "[A-Za-z_][A-Za-z0-9_]* "
			                                 "and a shorter value");
			cJSON_Delete(arr);
			return rc;
		}
		if (asprintf(&kv, "%s=%s", e->string, e->valuestring) < 0)
			kv = NULL;
		cJSON_AddItemToArray(arr, cJSON_CreateString(kv ? kv : ""));
		free(kv);
		back(c, old);
	}
	rc = friendly(c, pgs, "context", "environment",
	    field_find("context", "environment"), arr);
	cJSON_Delete(arr);
	return rc;
}

static const char *const limit_names[] = { "as", "core", "cpu", "data",
	"fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
	"rss", "rtprio", "rttime", "sigpending", "stack", NULL };

/* "limits": {"nofile": 65536, "core": "infinity"} -> context/limit_NAME. */
static int
limits(mctx *c, cJSON *pgs, const cJSON *lim)
{
	if (obj_check(c, lim, 32) != 0)
		return -1;
	for (const cJSON *l = lim->child; l != NULL; l = l->next) {
		size_t old = at(c, l->string);
		char   prop[KCFG_NAME_MAX + 1];
		cJSON *v;
		int    rc;

		if (!in_choices(limit_names, l->string))
			return bad_choice(c, limit_names);
		snprintf(prop, sizeof(prop), "limit_%s", l->string);
		/* RLIM_INFINITY is all ones: the largest count. */
		if (cJSON_IsString(l) && (strcmp(l->valuestring, "infinity") == 0 ||
		    strcmp(l->valuestring, "unlimited") == 0))
			v = new_uint64(UINT64_MAX);
		else
			v = cJSON_Duplicate(l, 0);
		rc = friendly(c, pgs, "context", prop,
		    field_find("context", prop), v);
		cJSON_Delete(v);
		if (rc != 0)
			return -1;
		back(c, old);
	}
	return 0;
}

/*
 * A friendly section ("restart": {...}) whose keys are the property names
 * of group pg.  context also has environment and limits.
 */
static int
section(mctx *c, cJSON *pgs, const char *pg, const cJSON *obj)
{
	if (obj_check(c, obj, 32) != 0)
		return -1;
	for (const cJSON *it = obj->child; it != NULL; it = it->next) {
		size_t              old = at(c, it->string);
		const struct field *f = field_find(pg, it->string);
		bool                ctx = strcmp(pg, "context") == 0;
		int                 rc;

		if (ctx && strcmp(it->string, "environment") == 0)
			rc = environment(c, pgs, it);
		else if (ctx && strcmp(it->string, "limits") == 0)
			rc = limits(c, pgs, it);
		else if (f == NULL || strchr(f->prop, '*') != NULL)
			rc = bad(c, "unknown key");
		else
			rc = friendly(c, pgs, pg, it->string, f, it);
		if (rc != 0)
			return -1;
		back(c, old);
	}
	return 0;
}

/* One element of "dependencies": {name, grouping, restart_on?, services}. */
static int
dependency(mctx *c, cJSON *pgs, const cJSON *d)
{
	static const char *const keys[] = { "grouping", "restart_on",
		"services", NULL };
	const char              *name = kipc_json_str(d, "name");
	char                     pg[KCFG_NAME_MAX + 8];

	if (obj_check(c, d, 8) != 0)
		return -1;
	for (const cJSON *it = d->child; it != NULL; it = it->next)
		if (strcmp(it->string, "name") != 0 &&
		    !in_choices(keys, it->string)) {
			at(c, it->string);
			return bad(c, "unknown key");
		}
	snprintf(pg, sizeof(pg), "dep_%s", name != NULL ? name : "");
	if (name == NULL || name[0] == '\0' || !kcfg_name_ok(pg)) {
		if (cJSON_GetObjectItemCaseSensitive(d, "name") != NULL)
			at(c, "name");
		return bad(c, "expected a dependency name of 1 to %d characters "
		              "[A-Za-z0-9_.-]", KCFG_NAME_MAX - 4);
	}
	if (cJSON_GetObjectItemCaseSensitive(pgs, pg) != NULL) {
		at(c, "name");
		return bad(c, "duplicate dependency name");
	}
	if (cJSON_GetObjectItemCaseSensitive(d, "grouping") == NULL)
		return bad(c, "missing grouping");
	if (cJSON_GetObjectItemCaseSensitive(d, "services") == NULL)
		return bad(c, "missing services");
	for (int i = 0; keys[i] != NULL; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(d, keys[i]);
		size_t       old = at(c, keys[i]);
		cJSON       *dflt = v == NULL ? cJSON_CreateString("none") : NULL;

		if (friendly(c, pgs, pg, keys[i], field_find(pg, keys[i]),
		        v != NULL ? v : dflt) != 0) {
			cJSON_Delete(dflt);
			return -1;
		}
		cJSON_Delete(dflt);
		back(c, old);
	}
	return 0;
}

static int
dependencies(mctx *c, cJSON *pgs, const cJSON *deps)
{
	int i = 0;

	if (!cJSON_IsArray(deps))
		return bad(c, "expected an array");
	if (cJSON_GetArraySize(deps) > KCFG_PGS_MAX / 2)
		return bad(c, "more than %d dependencies", KCFG_PGS_MAX / 2);
	for (const cJSON *d = deps->child; d != NULL; d = d->next, i++) {
		size_t old = at_index(c, i);

		if (dependency(c, pgs, d) != 0)
			return -1;
		back(c, old);
	}
	return 0;
}

/* ---- defaults (DESIGN section 7) ------------------------------------------- */

static int
set_default(cJSON *pgs, const char *pg, const char *prop, kcfg_type t,
            cJSON *value)
{
	cJSON *g = pg_get(pgs, pg), *vals = cJSON_CreateArray();

	if (g == NULL || vals == NULL || value == NULL) {
		cJSON_Delete(vals);
		cJSON_Delete(value);
		return -1;
	}
	cJSON_AddItemToArray(vals, value);
	return put_item(g, prop, prop_new(t, vals, false));
}

/* The service-wide defaults, written before the manifest's own keys. */
static int
defaults_before(cJSON *pgs)
{
	int rc = 0;

	/* DESIGN section 7: list and status carry a description string,
	 * never null; a manifest without one describes itself as "". */
	rc |= set_default(pgs, "general", "description", KT_STRING,
	    cJSON_CreateString(""));
	rc |= set_default(pgs, "general", "model", KT_STRING,
	    cJSON_CreateString("child"));
	rc |= set_default(pgs, "general", "log", KT_STRING,
	    cJSON_CreateString("file"));
	rc |= set_default(pgs, "restart", "policy", KT_STRING,
	    cJSON_CreateString("on-failure"));
	rc |= set_default(pgs, "restart", "delay_ms", KT_COUNT, new_uint64(100));
	rc |= set_default(pgs, "restart", "max_delay_ms", KT_COUNT,
	    new_uint64(30000));
	rc |= set_default(pgs, "restart", "burst", KT_COUNT, new_uint64(5));
	rc |= set_default(pgs, "restart", "window_s", KT_COUNT, new_uint64(10));
	return rc;
}

static bool
has_prop(const cJSON *pgs, const char *pg, const char *prop)
{
	return cJSON_GetObjectItemCaseSensitive(
	           cJSON_GetObjectItemCaseSensitive(pgs, pg), prop) != NULL;
}

static bool
env_has_path(const cJSON *pgs)
{
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(pgs, "context"), "environment");
	const cJSON *v;

	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(env, "values"))
		if (cJSON_IsString(v) && strncmp(v->valuestring, "PATH=", 5) == 0)
			return true;
	return false;
}

/*
 * The defaults that depend on what the manifest said: method timeouts, the
 * stop signal, PATH.  Written after the friendly keys, before raw groups,
 * so that an export (raw groups only) re-imports unchanged.
 */
static int
defaults_after(cJSON *pgs)
{
	static const char path[] =
	    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	cJSON *env;
	int    rc = 0;

	if (!has_prop(pgs, "start", "exec"))
		return 0;
	if (!has_prop(pgs, "start", "timeout_s"))
		rc |= set_default(pgs, "start", "timeout_s", KT_COUNT,
		    new_uint64(60));
	if (!has_prop(pgs, "stop", "timeout_s"))
		rc |= set_default(pgs, "stop", "timeout_s", KT_COUNT,
		    new_uint64(10));
	if (!has_prop(pgs, "stop", "exec") && !has_prop(pgs, "stop", "signal"))
		rc |= set_default(pgs, "stop", "signal", KT_STRING,
		    cJSON_CreateString("TERM"));
	if (has_prop(pgs, "refresh", "exec") &&
	    !has_prop(pgs, "refresh", "timeout_s"))
		rc |= set_default(pgs, "refresh", "timeout_s", KT_COUNT,
		    new_uint64(60));
	if (env_has_path(pgs))
		return rc;
	if (!has_prop(pgs, "context", "environment"))
		return rc | set_default(pgs, "context", "environment", KT_STRING,
		                cJSON_CreateString(path));
	env = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(pg_get(pgs, "context"),
	        "environment"),
	    "values");
	cJSON_AddItemToArray(env, cJSON_CreateString(path));
	return rc;
}

/* delay_ms must not exceed max_delay_ms, whichever form set them. */
static int
restart_sane(mctx *c, const cJSON *pgs)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(pgs, "restart");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "delay_ms");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "max_delay_ms");
	uint64_t     dv, mv;

	if (d == NULL || m == NULL ||
	    kipc_json_uint64(cJSON_GetArrayItem(kipc_json_arr(d, "values"), 0),
	        &dv) != 0 ||
	    kipc_json_uint64(cJSON_GetArrayItem(kipc_json_arr(m, "values"), 0),
	        &mv) != 0)
		return 0;
	if (dv <= mv)
		return 0;
	at(c, "restart");
	at(c, "delay_ms");
	return bad(c, "delay_ms exceeds max_delay_ms");
}

/* ---- merging groups in ------------------------------------------------------ */

/*
 * An instance's merge keeps hides: each group of add replaces pgs's when it
 * hides the whole group, else each of its properties (a tombstone too)
 * replaces pgs's of that name.
 */
static int
merge_keep(mctx *c, cJSON *pgs, cJSON *add)
{
	cJSON *g;

	while ((g = add->child) != NULL) {
		cJSON *dst = cJSON_GetObjectItemCaseSensitive(pgs, g->string), *p;

		cJSON_DetachItemViaPointer(add, g);
		if (dst == NULL ||
		    cJSON_GetObjectItemCaseSensitive(g, KCFG_PG_MASK) != NULL) {
			if (dst != NULL)
				cJSON_Delete(cJSON_DetachItemViaPointer(pgs, dst));
			cJSON_AddItemToObject(pgs, g->string, g);
			continue;
		}
		while ((p = g->child) != NULL) {
			cJSON_DetachItemViaPointer(g, p);
			cJSON_DeleteItemFromObjectCaseSensitive(dst, p->string);
			cJSON_AddItemToObject(dst, p->string, p);
		}
		kcfg_json_sort(dst);
		cJSON_Delete(g);
	}
	cJSON_Delete(add);
	kcfg_json_sort(pgs);
	(void)c;
	return 0;
}

/* Merges the groups of add (taken) into pgs, property by property. */
static int
merge_in(mctx *c, cJSON *pgs, cJSON *add)
{
	cJSON *m;

	if (add == NULL)
		return -1;
	if (c->hides)
		return merge_keep(c, pgs, add);
	m = kcfg_compose(pgs, add);
	cJSON_Delete(add);
	if (m == NULL)
		return bad(c, "out of memory");
	cJSON_Delete(pgs->child);
	pgs->child = m->child;
	m->child = NULL;
	cJSON_Delete(m);
	return 0;
}

/* Parses and merges a "properties" or "property_groups" member of obj. */
static int
merge_member(mctx *c, cJSON *pgs, const cJSON *obj, const char *key,
             bool reserved_ok)
{
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(obj, key);
	size_t       old;
	int          rc;

	if (in == NULL)
		return 0;
	old = at(c, key);
	rc = merge_in(c, pgs, pgs_parse(c, in, reserved_ok));
	if (rc == 0)
		back(c, old);
	return rc;
}

/* ---- instances --------------------------------------------------------------- */

static int
instance(mctx *c, cJSON *instances, const char *name, const cJSON *in)
{
	cJSON       *pgs;
	const cJSON *en;
	int          rc;

	if (!kcfg_name_ok(name))
		return bad(c, "expected an instance name of 1 to %d characters "
		              "[A-Za-z0-9_.-]", KCFG_NAME_MAX);
	if (obj_check(c, in, 3) != 0)
		return -1;
	for (const cJSON *k = in->child; k != NULL; k = k->next)
		if (strcmp(k->string, "enabled") != 0 &&
		    strcmp(k->string, "properties") != 0 &&
		    strcmp(k->string, "property_groups") != 0) {
			at(c, k->string);
			return bad(c, "unknown key");
		}
	if ((pgs = cJSON_AddObjectToObject(instances, name)) == NULL)
		return bad(c, "out of memory");
	en = cJSON_GetObjectItemCaseSensitive(in, "enabled");
	if (en != NULL && !cJSON_IsBool(en)) {
		at(c, "enabled");
		return bad(c, "expected true or false");
	}
	if (set_default(pgs, "general", "enabled", KT_BOOLEAN,
	        cJSON_CreateBool(en == NULL || cJSON_IsTrue(en))) != 0)
		return bad(c, "out of memory");
	c->hides = true;
	rc = merge_member(c, pgs, in, "properties", false) != 0 ||
	     merge_member(c, pgs, in, "property_groups", true) != 0 ? -1 : 0;
	c->hides = false;
	if (rc != 0)
		return -1;
	/* An instance is enabled or not, whatever it hides. */
	if (!has_prop(pgs, "general", "enabled") &&
	    set_default(pgs, "general", "enabled", KT_BOOLEAN,
	        cJSON_CreateBool(en == NULL || cJSON_IsTrue(en))) != 0)
		return bad(c, "out of memory");
	kcfg_json_sort(pgs);
	return 0;
}

static int
instances(mctx *c, kcfg_service *s, const cJSON *in)
{
	size_t old;

	if (in == NULL) {
		cJSON *fake = cJSON_CreateObject();
		int    rc = instance(c, s->instances, "default", fake);

		cJSON_Delete(fake);
		return rc;
	}
	old = at(c, "instances");
	if (obj_check(c, in, KCFG_INSTANCES_MAX) != 0)
		return -1;
	for (const cJSON *i = in->child; i != NULL; i = i->next) {
		size_t o2 = at(c, i->string);

		if (instance(c, s->instances, i->string, i) != 0)
			return -1;
		back(c, o2);
	}
	back(c, old);
	return 0;
}

/* ---- the manifest ------------------------------------------------------------ */

/* Top-level keys and the group their value goes to (NULL: handled apart). */
static const struct topkey {
	const char *key;
	const char *pg;
	bool        section;
} topkeys[] = {
	{ "service", NULL, false },
	{ "description", "general", false },
	{ "model", "general", false },
	{ "log", "general", false },
	{ "pidfile", "general", false },
	{ "start", "start", true },
	{ "stop", "stop", true },
	{ "refresh", "refresh", true },
	{ "restart", "restart", true },
	{ "context", "context", true },
	{ "dependencies", NULL, false },
	{ "instances", NULL, false },
	{ "properties", NULL, false },
	{ "property_groups", NULL, false },
};

static const struct topkey *
topkey_find(const char *key)
{
	for (size_t i = 0; i < NELEM(topkeys); i++)
		if (strcmp(topkeys[i].key, key) == 0)
			return &topkeys[i];
	return NULL;
}

/* Converts the friendly top-level keys, in document order. */
static int
toplevel(mctx *c, cJSON *pgs, const cJSON *m)
{
	for (const cJSON *it = m->child; it != NULL; it = it->next) {
		const struct topkey *k = topkey_find(it->string);
		size_t               old = at(c, it->string);
		int                  rc = 0;

		if (k == NULL)
			rc = bad(c, "unknown key");
		else if (k->section)
			rc = section(c, pgs, k->pg, it);
		else if (k->pg != NULL)
			rc = friendly(c, pgs, k->pg, k->key,
			    field_find(k->pg, k->key), it);
		else if (strcmp(k->key, "dependencies") == 0)
			rc = dependencies(c, pgs, it);
		if (rc != 0)
			return -1;
		back(c, old);
	}
	return 0;
}

static int
service_name(mctx *c, kcfg_service *out, const cJSON *m)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(m, "service");
	size_t       old = at(c, "service");

	if (n == NULL)
		return bad(c, "missing: every manifest names its service");
	if (!cJSON_IsString(n) || !kcfg_name_ok(n->valuestring)) {
		return bad(c, "expected a service name of 1 to %d characters "
		              "[A-Za-z0-9_.-]", KCFG_NAME_MAX);
	}
	snprintf(out->name, sizeof(out->name), "%s", n->valuestring);
	back(c, old);
	return 0;
}

int
kcfg_manifest_convert(const cJSON *m, const char *file, kcfg_service *out,
                      char *err, size_t errlen)
{
	mctx c = { .file = file != NULL ? file : "manifest", .err = err,
		.errlen = errlen };

	memset(out, 0, sizeof(*out));
	out->pgs = cJSON_CreateObject();
	out->instances = cJSON_CreateObject();
	if (out->pgs == NULL || out->instances == NULL)
		return bad(&c, "out of memory");
	if (obj_check(&c, m, (int)NELEM(topkeys)) != 0 ||
	    service_name(&c, out, m) != 0)
		return -1;
	if (defaults_before(out->pgs) != 0 || toplevel(&c, out->pgs, m) != 0)
		return -1;
	if (defaults_after(out->pgs) != 0)
		return bad(&c, "out of memory");
	if (merge_member(&c, out->pgs, m, "properties", false) != 0 ||
	    merge_member(&c, out->pgs, m, "property_groups", true) != 0)
		return -1;
	if (restart_sane(&c, out->pgs) != 0)
		return -1;
	if (instances(&c, out, cJSON_GetObjectItemCaseSensitive(m,
	                           "instances")) != 0)
		return -1;
	kcfg_json_sort(out->pgs);
	for (cJSON *g = out->pgs->child; g != NULL; g = g->next)
		kcfg_json_sort(g);
	return 0;
}

void
kcfg_service_free(kcfg_service *s)
{
	if (s == NULL)
		return;
	cJSON_Delete(s->pgs);
	cJSON_Delete(s->instances);
	s->pgs = s->instances = NULL;
}

cJSON *
kcfg_manifest_export(const char *name, const cJSON *svc_pgs,
                     const cJSON *insts)
{
	cJSON *m = cJSON_CreateObject(), *io;

	if (m == NULL)
		return NULL;
	cJSON_AddStringToObject(m, "service", name);
	cJSON_AddItemToObject(m, "property_groups",
	    svc_pgs != NULL ? cJSON_Duplicate(svc_pgs, 1) : cJSON_CreateObject());
	io = cJSON_AddObjectToObject(m, "instances");
	for (const cJSON *i = insts != NULL ? insts->child : NULL; i != NULL;
	     i = i->next) {
		cJSON *o = cJSON_AddObjectToObject(io, i->string);

		cJSON_AddItemToObject(o, "property_groups",
		    cJSON_Duplicate(i, 1));
	}
	return m;
}
