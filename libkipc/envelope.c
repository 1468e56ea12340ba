/*
 * envelope.c -- the one message grammar of DESIGN section 4.
 *
 *   request  {"v": LEVEL, "id": N, "method": "repo.get", "params": {...}}
 *   reply    {"v": LEVEL, "id": N, "ok": true,  "result": {...}}
 *            {"v": LEVEL, "id": N, "ok": false, "error": {"code", "message"}}
 *
 * Decoding validates the shape completely so that callers see only typed,
 * bounded values: the text is bounded in size and depth before cJSON sees it,
 * the id is an exact non-negative integer, the level a positive one, and no
 * member other than the envelope's own is accepted.
 */
#include "kipc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static bool
key_allowed(const char *k, const char *const *allowed)
{
	for (; *allowed != NULL; allowed++)
		if (strcmp(k, *allowed) == 0)
			return true;
	return false;
}

/* Parse and check the members every envelope has. */
static int
decode_common(const void *buf, size_t len, kipc_msg *m,
    const char *const *allowed, char *why, size_t whylen)
{
	const cJSON *v, *id, *it;
	uint64_t     u;

	memset(m, 0, sizeof(*m));
	if (len > KPROTO_MAX_MSG) {
		snprintf(why, whylen, "message of %zu bytes exceeds %u", len,
		    KPROTO_MAX_MSG);
		return KE_TOO_LARGE;
	}
	m->root = kipc_json_parse(buf, len, why, whylen);
	if (m->root == NULL)
		return KE_INVALID;
	if (!cJSON_IsObject(m->root)) {
		snprintf(why, whylen, "message is not a JSON object");
		return KE_INVALID;
	}
	/* The id first, so that even a bad message gets an addressed reply. */
	id = cJSON_GetObjectItemCaseSensitive(m->root, "id");
	if (id == NULL || kipc_json_uint64(id, &u) != 0) {
		snprintf(why, whylen, "\"id\" must be a non-negative integer");
		return KE_INVALID;
	}
	m->id = u;
	v = cJSON_GetObjectItemCaseSensitive(m->root, "v");
	if (v == NULL || kipc_json_uint64(v, &u) != 0 || u < 1 || u > 1000000) {
		snprintf(why, whylen, "\"v\" must be a positive integer level");
		return KE_INVALID;
	}
	m->v = (int)u;
	cJSON_ArrayForEach(it, m->root) {
		if (!key_allowed(it->string, allowed)) {
			snprintf(why, whylen, "unknown member \"%.64s\"", it->string);
			return KE_INVALID;
		}
	}
	return KE_OK;
}

int
kipc_decode_request(const void *buf, size_t len, kipc_msg *m, char *why,
    size_t whylen)
{
	static const char *const allowed[] = { "v", "id", "method", "params",
		NULL };
	cJSON *params;
	int    rv;

	if ((rv = decode_common(buf, len, m, allowed, why, whylen)) != KE_OK)
		return rv;
	m->method = kipc_json_str(m->root, "method");
	if (m->method == NULL || *m->method == '\0' || strlen(m->method) > 64) {
		snprintf(why, whylen, "\"method\" must be a short string");
		m->method = NULL;
		return KE_INVALID;
	}
	params = cJSON_GetObjectItemCaseSensitive(m->root, "params");
	if (params == NULL) {
		params = cJSON_AddObjectToObject(m->root, "params");
		if (params == NULL) {
			snprintf(why, whylen, "out of memory");
			return KE_INTERNAL;
		}
	} else if (!cJSON_IsObject(params)) {
		snprintf(why, whylen, "\"params\" must be an object");
		return KE_INVALID;
	}
	m->params = params;
	return KE_OK;
}

int
kipc_decode_reply(const void *buf, size_t len, kipc_msg *m, char *why,
    size_t whylen)
{
	static const char *const allowed[] = { "v", "id", "ok", "result",
		"error", NULL };
	const cJSON *err;
	const char  *code;
	int          ok, rv;

	if ((rv = decode_common(buf, len, m, allowed, why, whylen)) != KE_OK)
		return rv;
	if ((ok = kipc_json_bool(m->root, "ok")) < 0) {
		snprintf(why, whylen, "\"ok\" must be a boolean");
		return KE_INVALID;
	}
	m->ok = ok == 1;
	if (m->ok) {
		m->result = cJSON_GetObjectItemCaseSensitive(m->root, "result");
		if (m->result == NULL)
			m->result = cJSON_AddObjectToObject(m->root, "result");
		m->err = KE_OK;
		return KE_OK;
	}
	err = kipc_json_obj(m->root, "error");
	code = err != NULL ? kipc_json_str(err, "code") : NULL;
	if (code == NULL) {
		snprintf(why, whylen, "\"error\" must carry a code");
		return KE_INVALID;
	}
	rv = kproto_err_by_name(code);
	m->err = (rv <= 0) ? KE_INTERNAL : (kproto_err)rv;
	m->errmsg = kipc_json_str(err, "message");
	return KE_OK;
}

void
kipc_msg_free(kipc_msg *m)
{
	cJSON_Delete(m->root);
	memset(m, 0, sizeof(*m));
}

/*
 * Builds {"v", "id"} and lets the caller add the rest.  The decoder accepts
 * any uint64 id; one above INT64_MAX goes back as its decimal string, not
 * as a negative number that no peer could decode.
 */
static cJSON *
envelope_new(int v, uint64_t id)
{
	cJSON *o = cJSON_CreateObject();
	char   big[24];

	if (o == NULL)
		return NULL;
	if (id > INT64_MAX)
		snprintf(big, sizeof(big), "%" PRIu64, id);
	if (cJSON_AddNumberToObject(o, "v", v) == NULL ||
	    (id > INT64_MAX ? cJSON_AddStringToObject(o, "id", big)
	                    : kipc_json_add_int64(o, "id", (int64_t)id)) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static char *
envelope_print(cJSON *o, size_t *len)
{
	char *s = kipc_json_print(o, len);

	cJSON_Delete(o);
	return s;
}

/*
 * Adds item (or an empty object) under key by reference: printed like a
 * member, never copied, and left alone when the envelope is deleted.
 */
static bool
add_copy(cJSON *o, const char *key, const cJSON *item)
{
	if (item == NULL)
		return cJSON_AddObjectToObject(o, key) != NULL;
	return cJSON_AddItemReferenceToObject(o, key, (cJSON *)item);
}

char *
kipc_encode_request(int v, uint64_t id, const char *method,
    const cJSON *params, size_t *len)
{
	cJSON *o = envelope_new(v, id);

	if (o == NULL)
		return NULL;
	if (cJSON_AddStringToObject(o, "method", method) == NULL ||
	    !add_copy(o, "params", params)) {
		cJSON_Delete(o);
		return NULL;
	}
	return envelope_print(o, len);
}

char *
kipc_encode_ok(int v, uint64_t id, const cJSON *result, size_t *len)
{
	cJSON *o = envelope_new(v, id);

	if (o == NULL)
		return NULL;
	if (cJSON_AddTrueToObject(o, "ok") == NULL ||
	    !add_copy(o, "result", result)) {
		cJSON_Delete(o);
		return NULL;
	}
	return envelope_print(o, len);
}

char *
kipc_encode_err(int v, uint64_t id, kproto_err e, const char *msg,
    size_t *len)
{
	cJSON *o = envelope_new(v, id);
	cJSON *err;

	if (o == NULL)
		return NULL;
	if (cJSON_AddFalseToObject(o, "ok") == NULL ||
	    (err = cJSON_AddObjectToObject(o, "error")) == NULL ||
	    cJSON_AddStringToObject(err, "code", kproto_err_name(e)) == NULL ||
	    cJSON_AddStringToObject(err, "message", msg != NULL ? msg : "") ==
		NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return envelope_print(o, len);
}

/* ---- params schema ------------------------------------------------------ */

static bool
type_matches(const char *type, size_t tlen, const cJSON *item)
{
	int64_t dummy;

#define IS(t) (tlen == sizeof(t) - 1 && strncmp(type, t, tlen) == 0)
	if (IS("string"))
		return cJSON_IsString(item);
	if (IS("int"))
		return kipc_json_int64(item, &dummy) == 0;
	if (IS("bool"))
		return cJSON_IsBool(item);
	if (IS("object"))
		return cJSON_IsObject(item);
	if (IS("array"))
		return cJSON_IsArray(item);
	if (IS("any"))
		return true;
#undef IS
	return false;
}

/*
 * Walks "name:type name:type? ..." and checks each against params.  With
 * lookup set, instead reports whether lookup is a declared name.
 */
static int
schema_walk(const char *schema, const cJSON *params, const char *lookup,
    char *why, size_t whylen)
{
	const char *p = schema;

	while (*p != '\0') {
		const char *name, *type;
		size_t      nlen, tlen;
		bool        optional;
		const cJSON *item;
		char        key[64];

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		name = p;
		while (*p != ':' && *p != '\0')
			p++;
		nlen = (size_t)(p - name);
		type = (*p == ':') ? ++p : p;
		while (*p != ' ' && *p != '\0')
			p++;
		tlen = (size_t)(p - type);
		optional = tlen > 0 && type[tlen - 1] == '?';
		if (optional)
			tlen--;
		if (nlen == 0 || nlen >= sizeof(key))
			continue;
		memcpy(key, name, nlen);
		key[nlen] = '\0';
		if (lookup != NULL) {
			if (strcmp(key, lookup) == 0)
				return 1;
			continue;
		}
		item = cJSON_GetObjectItemCaseSensitive(params, key);
		if (item == NULL) {
			if (optional)
				continue;
			snprintf(why, whylen, "missing parameter \"%s\"", key);
			return KE_INVALID;
		}
		if (!type_matches(type, tlen, item)) {
			snprintf(why, whylen, "parameter \"%s\" must be of type %.*s",
			    key, (int)tlen, type);
			return KE_INVALID;
		}
	}
	return lookup != NULL ? 0 : KE_OK;
}

int
kipc_params_check(const kproto_method *m, const cJSON *params, char *why,
    size_t whylen)
{
	const cJSON *it;
	int          rv;

	if (!cJSON_IsObject(params)) {
		snprintf(why, whylen, "params must be an object");
		return KE_INVALID;
	}
	if ((rv = schema_walk(m->params, params, NULL, why, whylen)) != KE_OK)
		return rv;
	cJSON_ArrayForEach(it, params) {
		if (schema_walk(m->params, NULL, it->string, why, whylen) != 1) {
			snprintf(why, whylen, "unknown parameter \"%.64s\" for %s",
			    it->string, m->name);
			return KE_INVALID;
		}
	}
	return KE_OK;
}

uint64_t
kipc_new_id(void)
{
	static __thread uint64_t next;

	if (next == 0) {
		uint64_t r = 0;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint64_t)(uintptr_t)&r ^ (uint64_t)getpid();
		/* Leave room to count without passing 2^53. */
		next = (r & ((1ULL << 52) - 1)) + 1;
	}
	return next++;
}
