/*
 * json.c -- careful use of cJSON for untrusted input (NOTES.md, cJSON):
 * bounded size and depth before parsing, the whole input consumed, integers
 * exact to 64 bits (numbers only up to 2^53, beyond that decimal strings),
 * case-sensitive lookups.
 */
#include "kipc.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
parse_decimal(const char *s, bool is_signed, int64_t *sv, uint64_t *uv)
{
	char *end;

	if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return -1;
	errno = 0;
	if (is_signed)
		*sv = strtoll(s, &end, 10);
	else if (*s == '-')
		return -1;
	else
		*uv = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

static int
number_exact(const cJSON *item, double *d)
{
	*d = item->valuedouble;
	if (!isfinite(*d) || floor(*d) != *d)
		return -1;
	if (*d > (double)KIPC_JSON_EXACT_MAX || *d < -(double)KIPC_JSON_EXACT_MAX)
		return -1;
	return 0;
}

int
kipc_json_int64(const cJSON *item, int64_t *out)
{
	double d;

	if (cJSON_IsNumber(item)) {
		if (number_exact(item, &d) != 0)
			return -1;
		*out = (int64_t)d;
		return 0;
	}
	if (cJSON_IsString(item) || cJSON_IsRaw(item))
		return parse_decimal(item->valuestring, true, out, NULL);
	return -1;
}

int
kipc_json_uint64(const cJSON *item, uint64_t *out)
{
	double d;

	if (cJSON_IsNumber(item)) {
		if (number_exact(item, &d) != 0 || d < 0)
			return -1;
		*out = (uint64_t)d;
		return 0;
	}
	if (cJSON_IsString(item) || cJSON_IsRaw(item))
		return parse_decimal(item->valuestring, false, NULL, out);
	return -1;
}

cJSON *
kipc_json_new_int64(int64_t v)
{
	char buf[32];

	/* cJSON prints doubles with %1.15g and a relative-epsilon check, so
	 * integers of 16 digits come out rounded: print those ourselves. */
	if (v < 1000000000000000LL && v > -1000000000000000LL)
		return cJSON_CreateNumber((double)v);
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	if (v <= KIPC_JSON_EXACT_MAX && v >= -KIPC_JSON_EXACT_MAX)
		return cJSON_CreateRaw(buf);
	return cJSON_CreateString(buf);
}

cJSON *
kipc_json_add_int64(cJSON *obj, const char *key, int64_t v)
{
	cJSON *item = kipc_json_new_int64(v);

	if (item != NULL && !cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return NULL;
	}
	return item;
}

const char *
kipc_json_str(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

const cJSON *
kipc_json_obj(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsObject(it) ? it : NULL;
}

const cJSON *
kipc_json_arr(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsArray(it) ? it : NULL;
}

int
kipc_json_bool(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsBool(it))
		return -1;
	return cJSON_IsTrue(it) ? 1 : 0;
}

int
kipc_json_depth(const char *buf, size_t len)
{
	int  depth = 0, max = 0;
	bool in_str = false, esc = false;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if ((c == '}' || c == ']') && depth > 0)
			depth--;
	}
	return max;
}

/*
 * Integral numbers of 16 digits (up to 2^53 - 1) become raw literals, as
 * kipc_json_new_int64 builds them: cJSON prints a number with %1.15g when
 * that reads back "close enough", which would round them on the way out
 * (9007199254740991 -> 9.00719925474099e+15).  kipc_json_int64/uint64 read
 * raw literals.  The depth is bounded by the caller (kipc_json_parse,
 * or a repository value written by kconfigd itself).
 */
void
kipc_json_exact_ints(cJSON *it)
{
	for (; it != NULL; it = it->next) {
		double d = it->valuedouble;
		char   buf[32];

		if (it->child != NULL)
			kipc_json_exact_ints(it->child);
		if (!cJSON_IsNumber(it) || floor(d) != d ||
		    (d < 1e15 && d > -1e15) ||
		    d > (double)KIPC_JSON_EXACT_MAX ||
		    d < -(double)KIPC_JSON_EXACT_MAX)
			continue;
		/* "%.0f" of an integral d up to 2^53, without printf's
		 * floating-point path (every request id passes here). */
		{
			long long          i = (long long)d;
			unsigned long long u = i < 0 ? 0ull - (unsigned long long)i :
			                              (unsigned long long)i;
			char              *p = buf + sizeof(buf);

			*--p = '\0';
			do
				*--p = (char)('0' + u % 10);
			while ((u /= 10) != 0);
			if (i < 0)
				*--p = '-';
			if ((it->valuestring = strdup(p)) != NULL)
				it->type = cJSON_Raw;
		}
	}
}

/*
 * An integer literal (no fraction, no exponent, no leading zero) of more
 * than 2^53 - 1 in magnitude at p[0..n): a double cannot hold it exactly.
 */
static bool
big_int_literal(const char *p, size_t n)
{
	static const char max[] = "9007199254740991"; /* KIPC_JSON_EXACT_MAX */
	size_t            d;

	if (n > 0 && *p == '-')
		p++, n--;
	if (n == 0 || *p == '0')
		return false;
	for (d = 0; d < n; d++)
		if (p[d] < '0' || p[d] > '9')
			return false;
	return n > sizeof(max) - 1 ||
	    (n == sizeof(max) - 1 && memcmp(p, max, n) > 0);
}

/*
 * A copy of buf with every big integer literal (above) quoted, so that it
 * arrives as the decimal string the protocol uses for such integers and
 * kipc_json_int64/uint64 read it exactly; NULL when there is none (or no
 * memory: the caller parses buf as it is).  *len is updated.
 */
static char *
quote_big_ints(const char *buf, size_t *len)
{
	size_t n = *len, nbig = 0, i, o;
	bool   in_str = false;
	char  *out;

	for (int pass = 0; pass < 2; pass++) {
		out = NULL;
		if (pass == 1) {
			if (nbig == 0 || (out = malloc(n + 2 * nbig)) == NULL)
				return NULL;
		}
		in_str = false;
		for (i = 0, o = 0; i < n;) {
			char c = buf[i];

			if (in_str) {
				if (c == '\\' && i + 1 < n) {
					if (out)
						out[o++] = c;
					c = buf[++i];
				} else if (c == '"')
					in_str = false;
			} else if (c == '"')
				in_str = true;
			else if (c == '-' || (c >= '0' && c <= '9')) {
				size_t j = i + 1;

				while (j < n && (buf[j] == '-' || buf[j] == '+' ||
				    buf[j] == '.' || buf[j] == 'e' || buf[j] == 'E' ||
				    (buf[j] >= '0' && buf[j] <= '9')))
					j++;
				if (big_int_literal(buf + i, j - i)) {
					if (out) {
						out[o++] = '"';
						memcpy(out + o, buf + i, j - i);
						o += j - i;
						out[o++] = '"';
					} else
						nbig++;
				} else if (out) {
					memcpy(out + o, buf + i, j - i);
					o += j - i;
				}
				i = j;
				continue;
			}
			if (out)
				out[o++] = c;
			i++;
		}
		if (out) {
			*len = o;
			return out;
		}
	}
	return NULL;
}

cJSON *
kipc_json_parse(const char *buf, size_t len, char *why, size_t whylen)
{
	const char *end = NULL;
	cJSON      *root;

	if (len > KPROTO_MAX_MSG) {
		snprintf(why, whylen, "message of %zu bytes exceeds %u", len,
		    KPROTO_MAX_MSG);
		return NULL;
	}
	if (len == 0) {
		snprintf(why, whylen, "empty message");
		return NULL;
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(why, whylen, "NUL byte in message");
		return NULL;
	}
	if (kipc_json_depth(buf, len) > KPROTO_MAX_DEPTH) {
		snprintf(why, whylen, "nesting deeper than %d", KPROTO_MAX_DEPTH);
		return NULL;
	}
	/* Integer literals beyond 2^53 become decimal strings first: cJSON
	 * reads numbers as doubles, which would round them silently. */
	char *q = quote_big_ints(buf, &len);

	if (q != NULL)
		buf = q;
	root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (root == NULL) {
		/* cJSON points end at the fault (its global error pointer is
		 * not thread-safe, so it is not used). */
		size_t off = (end != NULL && end >= buf) ? (size_t)(end - buf) : 0;

		/* (In the copy: 2 bytes further per quoted literal before.) */
		snprintf(why, whylen, "malformed JSON at byte %zu", off);
		free(q);
		return NULL;
	}
	/* Trailing whitespace is fine; anything else is a second value. */
	while (end != NULL && end < buf + len &&
	    (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
		end++;
	if (end != buf + len) {
		snprintf(why, whylen, "trailing data at byte %zu",
		    (size_t)(end - buf));
		cJSON_Delete(root);
		free(q);
		return NULL;
	}
	free(q);
	kipc_json_exact_ints(root);
	return root;
}

/* ---- printing --------------------------------------------------------------- */

/*
 * A printer of cJSON trees that gives cJSON_PrintUnformatted's bytes,
 * faster.  Debian 12's cJSON (1.7.15) prints every number with
 * sprintf("%1.15g"), reads it back with sscanf to check it, and prints it
 * again with "%1.17g" if that failed: most of the cost of printing a
 * property group, a reply or a request, whose numbers are nearly all
 * integers.  An integer below 1e15 in magnitude prints as its digits under
 * "%1.15g", so those are written directly; every other number goes the
 * same way as in cJSON.  Strings are escaped as cJSON does (quote,
 * backslash, \b \f \n \r \t, other bytes below 32 as \u00xx, the rest as
 * they are).  Stored text is compared byte for byte with what is printed
 * now, so equal trees must give equal bytes.
 */
typedef struct jbuf {
	char  *p;
	size_t len, cap;
	bool   fail;
} jbuf;

static char *
jb_room(jbuf *b, size_t n)
{
	if (b->fail)
		return NULL;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : 256;
		char  *p;

		while (b->len + n + 1 > cap)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->fail = true;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	return b->p + b->len;
}

static void
jb_put(jbuf *b, const char *s, size_t n)
{
	char *d = jb_room(b, n);

	if (d != NULL) {
		memcpy(d, s, n);
		b->len += n;
	}
}

/* The bytes each input byte takes in a JSON string, as cJSON escapes. */
static const unsigned char jlen[256] = {
	6, 6, 6, 6, 6, 6, 6, 6, 2, 2, 2, 6, 2, 2, 6, 6, /* \b \t \n \f \r */
	6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
	1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* '"' */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, /* '\\' */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static void
jb_string(jbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)(s != NULL ? s : "");
	const unsigned char *c;
	size_t               n = 2, raw;
	char                *d;

	for (c = u; *c != '\0'; c++)
		n += jlen[*c];
	raw = (size_t)(c - u);
	if ((d = jb_room(b, n)) == NULL)
		return;
	b->len += n;
	*d++ = '"';
	if (n == raw + 2) { /* nothing to escape: most strings */
		memcpy(d, u, raw);
		d[raw] = '"';
		return;
	}
	for (c = u; *c != '\0'; c++) {
		const char *esc = NULL;

		switch (*c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default: break;
		}
		if (esc != NULL) {
			*d++ = esc[0];
			*d++ = esc[1];
		} else if (*c < 32) {
			memcpy(d, "\\u00", 4);
			d[4] = hex[*c >> 4];
			d[5] = hex[*c & 15];
			d += 6;
		} else
			*d++ = (char)*c;
	}
	*d = '"';
}

static void
jb_number(jbuf *b, double v)
{
	char   buf[32];
	int    n;
	double test;

	if (isnan(v) || isinf(v)) {
		jb_put(b, "null", 4);
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15 && !(v == 0 && signbit(v))) {
		long long i = (long long)v;
		unsigned long long u = i < 0 ? 0ull - (unsigned long long)i
		                             : (unsigned long long)i;
		char *e = buf + sizeof(buf), *p = e;

		do
			*--p = (char)('0' + u % 10);
		while ((u /= 10) != 0);
		if (i < 0)
			*--p = '-';
		jb_put(b, p, (size_t)(e - p));
		return;
	}
	/* As cJSON does (print_number), in the C locale kconfigd runs in. */
	n = snprintf(buf, sizeof(buf), "%1.15g", v);
	if (sscanf(buf, "%lg", &test) != 1 ||
	    !(fabs(test - v) <= (fabs(test) > fabs(v) ? fabs(test) : fabs(v)) *
	                            DBL_EPSILON))
		n = snprintf(buf, sizeof(buf), "%1.17g", v);
	jb_put(b, buf, (size_t)n);
}

static void
jb_value(jbuf *b, const cJSON *it)
{
	switch (it->type & 0xFF) {
	case cJSON_NULL: jb_put(b, "null", 4); break;
	case cJSON_False: jb_put(b, "false", 5); break;
	case cJSON_True: jb_put(b, "true", 4); break;
	case cJSON_Number: jb_number(b, it->valuedouble); break;
	case cJSON_String: jb_string(b, it->valuestring); break;
	case cJSON_Raw:
		if (it->valuestring == NULL)
			b->fail = true;
		else
			jb_put(b, it->valuestring, strlen(it->valuestring));
		break;
	case cJSON_Array:
	case cJSON_Object:
		jb_put(b, (it->type & 0xFF) == cJSON_Array ? "[" : "{", 1);
		for (const cJSON *c = it->child; c != NULL && !b->fail;
		     c = c->next) {
			if (c != it->child)
				jb_put(b, ",", 1);
			if ((it->type & 0xFF) == cJSON_Object) {
				jb_string(b, c->string);
				jb_put(b, ":", 1);
			}
			jb_value(b, c);
		}
		jb_put(b, (it->type & 0xFF) == cJSON_Array ? "]" : "}", 1);
		break;
	default: b->fail = true; break;
	}
}

const char *
kipc_json_print_reuse(const cJSON *item, char **buf, size_t *cap,
    size_t *len)
{
	jbuf b = { .p = *buf, .cap = *cap };

	if (item != NULL)
		jb_value(&b, item);
	*buf = b.p; /* what a failed realloc left is still ours */
	*cap = b.cap;
	if (item == NULL || b.fail || jb_room(&b, 0) == NULL)
		return NULL;
	b.p[b.len] = '\0';
	if (len != NULL)
		*len = b.len;
	return b.p;
}

char *
kipc_json_print(const cJSON *item, size_t *len)
{
	jbuf b = { .p = NULL };

	if (item == NULL)
		return NULL;
	jb_value(&b, item);
	if (b.fail || jb_room(&b, 0) == NULL) {
		free(b.p);
		return NULL;
	}
	b.p[b.len] = '\0';
	if (len != NULL)
		*len = b.len;
	return b.p;
}
