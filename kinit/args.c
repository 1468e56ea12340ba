/*
 * args.c -- kinit's command line (pure: no I/O, no exit).
 *
 *   kinit [--run-dir D] [--state-dir D] [--manifest-dir D] [--log-dir D]
 *         [--configd PATH] [--startd PATH] [--startd-restart=auto|manual]
 *         [--grace S] [--ready-timeout S] [-h|--help] [-V|--version]
 *         [--] [CMD ARGS...]
 *
 * As with tini, the main command may follow "--" or simply be the first word
 * that is not an option; everything after it belongs to the command.
 */
#include "kinit_core.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
kinit_parse_seconds(const char *s, int64_t *ms)
{
	char  *end;
	double v;

	if (s == NULL || *s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < 0 || v > 86400)
		return -1;
	*ms = (int64_t)(v * 1000.0 + 0.5);
	return 0;
}

/*
 * Matches "--name VALUE" or "--name=VALUE" at argv[*i].  Returns 1 with *val
 * set (and *i advanced past a separate value), 0 if argv[*i] is another
 * option, -1 if the value is missing.
 */
static int
opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t      n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

static void
opts_defaults(kinit_opts *o)
{
	o->configd = NULL;
	o->startd = NULL;
	o->startd_auto = false;
	o->grace_ms = KINIT_GRACE_MS_DEFAULT;
	o->ready_ms = KINIT_READY_MS_DEFAULT;
	o->cmd = NULL;
	o->help = false;
	o->version = false;
}

/* One option with a value; returns 1 handled, 0 not ours, -1 error. */
static int
parse_valued(kinit_opts *o, int argc, char **argv, int *i, char *why,
             size_t whylen)
{
	static const char *names[] = { "--configd", "--startd",
		                       "--startd-restart", "--grace",
		                       "--ready-timeout" };
	const char *val = NULL;
	size_t      k;
	int         rc = 0;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if ((rc = opt_value(argc, argv, i, names[k], &val)) != 0)
			break;
	if (rc == 0)
		return 0;
	if (rc < 0 || *val == '\0') {
		snprintf(why, whylen, "option '%s' needs a value", names[k]);
		return -1;
	}
	switch (k) {
	case 0: o->configd = val; return 1;
	case 1: o->startd = val; return 1;
	case 2:
		if (strcmp(val, "auto") == 0 || strcmp(val, "manual") == 0) {
			o->startd_auto = (val[0] == 'a');
			return 1;
		}
		snprintf(why, whylen,
		    "option '--startd-restart' takes 'auto' or 'manual', not '%s'",
		    val);
		return -1;
	case 3:
		if (kinit_parse_seconds(val, &o->grace_ms) == 0)
			return 1;
		break;
	default:
		if (kinit_parse_seconds(val, &o->ready_ms) == 0 &&
		    o->ready_ms > 0)
			return 1;
		break;
	}
	snprintf(why, whylen, "option '%s' takes seconds (0 to 86400), not '%s'",
	    names[k], val);
	return -1;
}

int
kinit_parse_args(kinit_opts *o, int argc, char **argv, const char *grace_env,
                 char *why, size_t whylen)
{
	int i, rc;

	opts_defaults(o);
	if (grace_env != NULL && *grace_env != '\0' &&
	    kinit_parse_seconds(grace_env, &o->grace_ms) != 0) {
		snprintf(why, whylen,
		    "SYSTEMK_GRACE_S takes seconds (0 to 86400), not '%s'",
		    grace_env);
		return -1;
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			if (i + 1 < argc)
				o->cmd = &argv[i + 1];
			return 0;
		}
		if (a[0] != '-' || a[1] == '\0') {
			o->cmd = &argv[i];
			return 0;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			o->help = true;
			continue;
		}
		if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			o->version = true;
			continue;
		}
		rc = kipc_paths_arg(&o->paths, argc, argv, &i);
		if (rc > 0) {
			i--; /* kipc_paths_arg advanced past what it used */
			continue;
		}
		if (rc < 0) {
			snprintf(why, whylen, "option '%s' needs a value", a);
			return -1;
		}
		rc = parse_valued(o, argc, argv, &i, why, whylen);
		if (rc > 0)
			continue;
		if (rc < 0)
			return -1;
		snprintf(why, whylen, "unknown option '%s'", a);
		return -1;
	}
	return 0;
}
