/*
 * fmri.c -- the names users type (DESIGN section 3): "web", "web:default",
 * "svc:/web", "svc:/web:default" all mean "svc:/web:default".
 *
 * kctl checks only the shape (non-empty names without '/', ':', blanks or
 * control characters, bounded length); which names exist and which characters
 * a repository accepts is kconfigd's to say.
 */
#include "kctl.h"

#include <stdio.h>
#include <string.h>

#define SVC_PREFIX "svc:/"

static int
name_check(const char *what, const char *s, size_t n, char *why,
    size_t whylen)
{
	if (n == 0) {
		snprintf(why, whylen, "empty %s name", what);
		return -1;
	}
	if (n > KCTL_NAME_MAX) {
		snprintf(why, whylen, "%s name longer than %d bytes", what,
		    KCTL_NAME_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f || c == '/' || c == ':') {
			snprintf(why, whylen, "%s name may not contain %s", what,
			    c == '/' ? "'/'" : c == ':' ? "':'" :
			    "blanks or control characters");
			return -1;
		}
	}
	return 0;
}

int
kctl_fmri_norm(const char *in, char *out, size_t outlen, char *why,
    size_t whylen)
{
	const char *s = in, *colon;
	size_t      sn, in_len;
	const char *inst = "default";
	size_t      instn = strlen(inst);
	int         n;

	if (strncmp(s, SVC_PREFIX, strlen(SVC_PREFIX)) == 0)
		s += strlen(SVC_PREFIX);
	else if (strncmp(s, "svc:", 4) == 0) {
		snprintf(why, whylen, "an FMRI starts with 'svc:/'");
		return -1;
	}
	in_len = strlen(s);
	colon = strchr(s, ':');
	sn = colon != NULL ? (size_t)(colon - s) : in_len;
	if (colon != NULL) {
		inst = colon + 1;
		instn = strlen(inst);
	}
	if (name_check("service", s, sn, why, whylen) != 0 ||
	    name_check("instance", inst, instn, why, whylen) != 0)
		return -1;
	n = snprintf(out, outlen, SVC_PREFIX "%.*s:%.*s", (int)sn, s,
	    (int)instn, inst);
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(why, whylen, "FMRI too long");
		return -1;
	}
	return 0;
}

int
kctl_fmri_split(const char *fmri, char *svc, size_t svclen, char *inst,
    size_t instlen)
{
	const char *s, *colon;
	int         n;

	if (strncmp(fmri, SVC_PREFIX, strlen(SVC_PREFIX)) != 0)
		return -1;
	s = fmri + strlen(SVC_PREFIX);
	if ((colon = strchr(s, ':')) == NULL)
		return -1;
	n = snprintf(svc, svclen, "%.*s", (int)(colon - s), s);
	if (n < 0 || (size_t)n >= svclen)
		return -1;
	n = snprintf(inst, instlen, "%s", colon + 1);
	return (n < 0 || (size_t)n >= instlen) ? -1 : 0;
}

/* Copies the next '/'-separated part of *s into buf and advances *s. */
static int
next_part(const char **s, char *buf, size_t len, const char *what, char *why,
    size_t whylen)
{
	const char *slash = strchr(*s, '/');
	size_t      n = slash != NULL ? (size_t)(slash - *s) : strlen(*s);

	if (n == 0 || n >= len) {
		snprintf(why, whylen, "%s %s", n == 0 ? "empty" : "overlong",
		    what);
		return -1;
	}
	memcpy(buf, *s, n);
	buf[n] = '\0';
	*s += n + (slash != NULL ? 1 : 0);
	if (slash != NULL && **s == '\0') {
		snprintf(why, whylen, "trailing '/' after %s", what);
		return -1;
	}
	return 0;
}

int
kctl_prop_path(const char *in, char *fmri, size_t fmrilen, char *pg,
    size_t pglen, char *prop, size_t proplen, char *why, size_t whylen)
{
	char        svc[KCTL_FMRI_MAX];
	const char *s = in;
	bool        prefixed = strncmp(s, SVC_PREFIX, strlen(SVC_PREFIX)) == 0;

	pg[0] = prop[0] = '\0';
	if (prefixed)
		s += strlen(SVC_PREFIX);
	if (next_part(&s, svc, sizeof(svc), "service", why, whylen) != 0)
		return -1;
	if (*s != '\0' && next_part(&s, pg, pglen, "property group", why,
	    whylen) != 0)
		return -1;
	if (*s != '\0' && next_part(&s, prop, proplen, "property", why,
	    whylen) != 0)
		return -1;
	if (*s != '\0') {
		snprintf(why, whylen, "expected SVC[/PG[/PROP]]");
		return -1;
	}
	return kctl_fmri_norm(svc, fmri, fmrilen, why, whylen);
}
