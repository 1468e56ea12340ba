/*
 * proctab.c -- reading the process tree out of /proc text (pure).
 *
 * A subreaper that is not PID 1 must never kill(-1): that would hit every
 * process of the machine.  Instead shutdown.c reads /proc/PID/stat of every
 * process, and these functions find kinit's descendants in that table.
 */
#include "kinit_core.h"

#include <stdlib.h>
#include <string.h>

int
kinit_stat_ppid(const char *buf, size_t len, pid_t *ppid)
{
	const char *p = NULL, *end = buf + len;
	long        v = 0;
	size_t      k;

	/* comm is "(...)" and may itself hold ") ": the last ')' ends it. */
	for (k = len; k > 0; k--)
		if (buf[k - 1] == ')') {
			p = buf + k;
			break;
		}
	if (p == NULL)
		return -1;
	/* " S PPID " */
	if (end - p < 4 || p[0] != ' ' || p[2] != ' ')
		return -1;
	p += 3;
	if (p >= end || *p < '0' || *p > '9')
		return -1;
	while (p < end && *p >= '0' && *p <= '9') {
		v = v * 10 + (*p - '0');
		if (v > 0x7fffffffL)
			return -1;
		p++;
	}
	if (p < end && *p != ' ' && *p != '\n')
		return -1;
	*ppid = (pid_t)v;
	return 0;
}

static int
cmp_pp(const void *a, const void *b)
{
	const kinit_pp *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Index of pid in the sorted table, or -1. */
static long
find_pid(const kinit_pp *sorted, size_t n, pid_t pid)
{
	kinit_pp        key = { pid, 0 };
	const kinit_pp *hit = bsearch(&key, sorted, n, sizeof(key), cmp_pp);

	return hit != NULL ? (long)(hit - sorted) : -1;
}

size_t
kinit_descendants(const kinit_pp *pp, size_t n, pid_t root, pid_t *out,
                  size_t max)
{
	kinit_pp      *s;
	unsigned char *in;
	size_t         found = 0, k;
	bool           grew = true;

	if (n == 0)
		return 0;
	s = malloc(n * sizeof(*s));
	in = calloc(n, 1);
	if (s == NULL || in == NULL) {
		free(s);
		free(in);
		return 0;
	}
	memcpy(s, pp, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_pp);
	/* Grow the set until a pass adds nothing: one pass per tree level. */
	while (grew) {
		grew = false;
		for (k = 0; k < n; k++) {
			long p;

			if (in[k] || s[k].pid == root)
				continue;
			p = s[k].ppid == root ? -2 : find_pid(s, n, s[k].ppid);
			if (p == -2 || (p >= 0 && in[p])) {
				in[k] = 1;
				grew = true;
				if (found < max)
					out[found] = s[k].pid;
				found++;
			}
		}
	}
	free(s);
	free(in);
	return found;
}
