/*
 * args.c -- kctl's command line: global options anywhere (before or after the
 * verb, DESIGN section 7), the verb's own options from its row in the verb
 * table, operands.  Pure: no output, no exit; the caller reports.
 *
 *   kctl [GLOBAL...] VERB [GLOBAL | VERB-OPTION | OPERAND]... [-- OPERAND...]
 *
 * After the verb, an option is first looked up among the verb's own (so that
 * a later `wait --timeout S` can mean its own timeout), then among the global
 * ones.  "--" ends the options; a lone "-" and negative numbers ("-5", for
 * `set ... integer -5`) are operands, and so is any other word of set's
 * values that is not an option kctl knows (`set web start/exec string
 * /bin/sh -c X`; its row's values_from).  Switches may be clustered ("-at").
 */
#include "kctl.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void
kctl_opts_init(kctl_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->timeout_ms = KCTL_DEFAULT_TIMEOUT_MS;
	kipc_paths_from_env(&opts->paths);
}

/*
 * Finds spelling (length n) in the verb's flags spec.  Returns true and the
 * option's first spelling in name, and whether it takes a value.
 */
static bool
spec_find(const char *spec, const char *spelling, size_t n, char *name,
    size_t namelen, bool *takes_value)
{
	const char *tok = spec;

	while (tok != NULL && *tok != '\0') {
		size_t      toklen = strcspn(tok, " ");
		bool        val = toklen > 0 && tok[toklen - 1] == '=';
		size_t      body = val ? toklen - 1 : toklen;
		const char *alt = tok;

		while (alt < tok + body) {
			size_t altlen = strcspn(alt, "| ");

			if (alt + altlen > tok + body)
				altlen = (size_t)(tok + body - alt);
			if (altlen == n && strncmp(alt, spelling, n) == 0) {
				size_t first = strcspn(tok, "|= ");

				if (first >= namelen)
					first = namelen - 1;
				memcpy(name, tok, first);
				name[first] = '\0';
				*takes_value = val;
				return true;
			}
			alt += altlen + 1;
		}
		tok += toklen;
		while (*tok == ' ')
			tok++;
	}
	return false;
}

static int
flag_store(kctl_args *args, const char *name, const char *value, char *why,
    size_t whylen)
{
	kctl_flag_val *f = NULL;

	for (int i = 0; i < args->nflags; i++)
		if (strcmp(args->flags[i].name, name) == 0)
			f = &args->flags[i]; /* the last one given wins */
	if (f == NULL) {
		if (args->nflags >= KCTL_MAX_FLAGS) {
			snprintf(why, whylen, "too many options");
			return -1;
		}
		f = &args->flags[args->nflags++];
		snprintf(f->name, sizeof(f->name), "%s", name);
	}
	f->value = value;
	return 0;
}

/*
 * Tries argv[*i] as one of the verb's options.  Returns 1 when consumed, 0
 * when it is none of them, -1 on error (why set).
 */
static int
verb_option(const kctl_verb *v, kctl_args *args, int argc, char **argv,
    int *i, char *why, size_t whylen)
{
	const char *a = argv[*i];
	const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
	size_t      n = eq != NULL ? (size_t)(eq - a) : strlen(a);
	char        name[24];
	bool        val;

	if (v->flags == NULL)
		return 0;
	if (!spec_find(v->flags, a, n, name, sizeof(name), &val)) {
		/* A cluster of switches: "-at" for "-a -t". */
		if (a[0] != '-' || a[1] == '-' || strlen(a) < 3)
			return 0;
		for (const char *c = a + 1; *c != '\0'; c++) {
			char one[3] = { '-', *c, '\0' };

			if (!spec_find(v->flags, one, 2, name, sizeof(name), &val) ||
			    val)
				return 0;
		}
		for (const char *c = a + 1; *c != '\0'; c++) {
			char one[3] = { '-', *c, '\0' };

			spec_find(v->flags, one, 2, name, sizeof(name), &val);
			if (flag_store(args, name, "", why, whylen) != 0)
				return -1;
		}
		*i += 1;
		return 1;
	}
	if (!val) {
		if (eq != NULL) {
			snprintf(why, whylen, "option '%.*s' takes no value",
			    (int)n, a);
			return -1;
		}
		*i += 1;
		return flag_store(args, name, "", why, whylen) == 0 ? 1 : -1;
	}
	if (eq == NULL && *i + 1 >= argc) {
		snprintf(why, whylen, "option '%s' needs a value", a);
		return -1;
	}
	*i += eq != NULL ? 1 : 2;
	return flag_store(args, name, eq != NULL ? eq + 1 : argv[*i - 1], why,
	    whylen) == 0 ? 1 : -1;
}

static int
parse_timeout(const char *s, int *ms, char *why, size_t whylen)
{
	char  *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(d) || d <= 0 ||
	    d > 86400) {
		snprintf(why, whylen,
		    "bad timeout '%s': expected seconds, > 0 and <= 86400", s);
		return -1;
	}
	*ms = (int)ceil(d * 1000);
	return 0;
}

/* Tries argv[*i] as a global option: 1 consumed, 0 not one, -1 error. */
static int
global_option(kctl_opts *opts, int argc, char **argv, int *i, char *why,
    size_t whylen)
{
	const char *a = argv[*i];
	int         rv;

	if (strcmp(a, "--json") == 0) {
		opts->json = true;
	} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
		opts->help = true;
	} else if (strncmp(a, "--timeout=", 10) == 0) {
		if (parse_timeout(a + 10, &opts->timeout_ms, why, whylen) != 0)
			return -1;
		opts->timeout_set = true;
	} else if (strcmp(a, "--timeout") == 0) {
		if (*i + 1 >= argc) {
			snprintf(why, whylen, "option '--timeout' needs a value");
			return -1;
		}
		if (parse_timeout(argv[*i + 1], &opts->timeout_ms, why,
		    whylen) != 0)
			return -1;
		opts->timeout_set = true;
		*i += 1;
	} else {
		rv = kipc_paths_arg(&opts->paths, argc, argv, i);
		if (rv < 0)
			snprintf(why, whylen, "option '%s' needs a value", a);
		return rv;
	}
	*i += 1;
	return 1;
}

static bool
is_option(const char *a)
{
	if (a[0] != '-' || a[1] == '\0')
		return false; /* operands: "x", "-" */
	if (isdigit((unsigned char)a[1]) ||
	    (a[1] == '.' && isdigit((unsigned char)a[2])))
		return false; /* negative numbers */
	return true;
}

static int
add_operand(kctl_args *args, char *a, int argc)
{
	if (args->ops == NULL && (args->ops = calloc((size_t)argc + 1,
	    sizeof(*args->ops))) == NULL)
		return -1;
	args->ops[args->nops++] = a;
	return 0;
}

static int
check_counts(const kctl_args *args, char *why, size_t whylen)
{
	const kctl_verb *v = args->verb;

	if (args->nops < v->min_args) {
		snprintf(why, whylen, "'%s' needs %s", v->name,
		    v->min_args == 1 ? "an operand" : "more operands");
		return -1;
	}
	if (v->max_args >= 0 && args->nops > v->max_args) {
		snprintf(why, whylen, "too many operands for '%s'", v->name);
		return -1;
	}
	return 0;
}

int
kctl_args_parse(int argc, char **argv, kctl_opts *opts, kctl_args *args,
    char *why, size_t whylen)
{
	bool dashdash = false;
	int  i = 1, rv;

	memset(args, 0, sizeof(*args));
	while (i < argc) {
		char *a = argv[i];

		if (dashdash || !is_option(a)) {
			if (!dashdash && args->verb == NULL) {
				if ((args->verb = kctl_verb_find(a)) == NULL) {
					snprintf(why, whylen, "unknown verb '%s'", a);
					return KCTL_EXIT_USAGE;
				}
			} else if (add_operand(args, a, argc) != 0) {
				snprintf(why, whylen, "out of memory");
				return KCTL_EXIT_FAILURE;
			}
			i++;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = true;
			i++;
			continue;
		}
		rv = 0;
		if (args->verb != NULL)
			rv = verb_option(args->verb, args, argc, argv, &i, why, whylen);
		if (rv == 0)
			rv = global_option(opts, argc, argv, &i, why, whylen);
		if (rv < 0)
			return KCTL_EXIT_USAGE;
		if (rv == 0 && args->verb != NULL && args->verb->values_from > 0 &&
		    args->nops >= args->verb->values_from) {
			if (add_operand(args, a, argc) != 0) {
				snprintf(why, whylen, "out of memory");
				return KCTL_EXIT_FAILURE;
			}
			i++;
			continue;
		}
		if (rv == 0) {
			snprintf(why, whylen, "unknown option '%s'%s%s", a,
			    args->verb != NULL ? " for " : "",
			    args->verb != NULL ? args->verb->name : "");
			return KCTL_EXIT_USAGE;
		}
	}
	if (opts->help)
		return KCTL_EXIT_OK;
	if (args->verb == NULL) {
		snprintf(why, whylen, "no verb given");
		return KCTL_EXIT_USAGE;
	}
	return check_counts(args, why, whylen) == 0 ? KCTL_EXIT_OK :
	    KCTL_EXIT_USAGE;
}

void
kctl_args_free(kctl_args *args)
{
	free(args->ops);
	args->ops = NULL;
	args->nops = 0;
}

const char *
kctl_args_flag(const kctl_args *args, const char *name)
{
	for (int i = 0; i < args->nflags; i++)
		if (strcmp(args->flags[i].name, name) == 0)
			return args->flags[i].value;
	return NULL;
}
