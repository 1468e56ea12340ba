/*
 * config.c -- property groups to svc_config (see config.h).  Pure.
 *
 * Properties arrive in the canonical form {"type": T, "values": [...]}; the
 * single-value form {"type": T, "value": V} is accepted too, since DESIGN
 * section 7 allows it in manifests and a snapshot may carry it verbatim.
 * Integers may be JSON numbers or decimal strings (kipc_json_*int64).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "config.h"
#include "kipc.h"

/* ---- property access ------------------------------------------------------ */

static const cJSON *
prop_get(const cJSON *pgs, const char *pg, const char *name)
{
	const cJSON *g = pgs ? kipc_json_obj(pgs, pg) : NULL;

	return g ? kipc_json_obj(g, name) : NULL;
}

/* Number of values the property carries (0 for a missing property). */
static size_t
prop_count(const cJSON *p)
{
	const cJSON *vals = kipc_json_arr(p, "values");

	if (vals)
		return (size_t)cJSON_GetArraySize(vals);
	return cJSON_GetObjectItemCaseSensitive(p, "value") ? 1 : 0;
}

static const cJSON *
prop_at(const cJSON *p, size_t i)
{
	const cJSON *vals = kipc_json_arr(p, "values");

	if (vals)
		return cJSON_GetArrayItem(vals, (int)i);
	return i == 0 ? cJSON_GetObjectItemCaseSensitive(p, "value") : NULL;
}

/* Records the first error only: it is the one an operator should fix. */
static void
cfg_fail(svc_config *cfg, const char *pg, const char *prop, const char *what)
{
	char buf[256];

	if (cfg->error)
		return;
	snprintf(buf, sizeof buf, "invalid '%s/%s': %s", pg, prop, what);
	cfg->error = strdup(buf);
}

static const char *
read_str(svc_config *cfg, const cJSON *pgs, const char *pg, const char *name)
{
	const cJSON *p = prop_get(pgs, pg, name);
	const cJSON *v;

	if (!p || prop_count(p) == 0)
		return NULL;
	v = prop_at(p, 0);
	if (!cJSON_IsString(v)) {
		cfg_fail(cfg, pg, name, "not a string");
		return NULL;
	}
	return v->valuestring;
}

/* Reads a count into *out; leaves *out (the default) alone when absent. */
static void
read_u64(svc_config *cfg, const cJSON *pgs, const char *pg, const char *name,
         uint64_t *out)
{
	const cJSON *p = prop_get(pgs, pg, name);
	uint64_t     v;

	if (!p || prop_count(p) == 0)
		return;
	if (kipc_json_uint64(prop_at(p, 0), &v) != 0) {
		cfg_fail(cfg, pg, name, "not a non-negative integer");
		return;
	}
	*out = v;
}

static void
read_bool(svc_config *cfg, const cJSON *pgs, const char *pg, const char *name,
          bool *out)
{
	const cJSON *p = prop_get(pgs, pg, name);
	const cJSON *v;

	if (!p || prop_count(p) == 0)
		return;
	v = prop_at(p, 0);
	if (cJSON_IsBool(v))
		*out = cJSON_IsTrue(v);
	else if (cJSON_IsString(v) && strcmp(v->valuestring, "true") == 0)
		*out = true;
	else if (cJSON_IsString(v) && strcmp(v->valuestring, "false") == 0)
		*out = false;
	else
		cfg_fail(cfg, pg, name, "not a boolean");
}

/* Picks one of names[] by the string value; keeps *out when absent. */
static void
read_enum(svc_config *cfg, const cJSON *pgs, const char *pg, const char *name,
          const char *const *names, size_t n, int *out)
{
	const char *s = read_str(cfg, pgs, pg, name);

	if (!s)
		return;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return;
		}
	}
	cfg_fail(cfg, pg, name, "unknown value");
}

/* Copies every string value into a NULL-terminated vector. */
static char **
read_strv(svc_config *cfg, const cJSON *pgs, const char *pg, const char *name,
          size_t *np, bool *oom)
{
	const cJSON *p = prop_get(pgs, pg, name);
	size_t       n = p ? prop_count(p) : 0;
	char       **v;

	*np = 0;
	if (n == 0)
		return NULL;
	if (!(v = calloc(n + 1, sizeof *v))) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const cJSON *s = prop_at(p, i);

		if (!cJSON_IsString(s)) {
			cfg_fail(cfg, pg, name, "not a string");
			svc_argv_free(v);
			return NULL;
		}
		if (!(v[i] = strdup(s->valuestring))) {
			*oom = true;
			svc_argv_free(v);
			return NULL;
		}
	}
	*np = n;
	return v;
}

static char *
dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		*oom = true;
	return d;
}

/* ---- names ---------------------------------------------------------------- */

static const char *const model_names[] = {"child", "forking", "transient",
                                          "notify"};
static const char *const policy_names[] = {"on-failure", "always", "never"};
static const char *const log_names[] = {"file", "console"};
static const char *const grouping_names[] = {"require_all", "require_any",
                                             "optional_all", "exclude_all"};
static const char *const ron_names[] = {"none", "error", "restart", "refresh"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *
svc_model_name(enum svc_model m)
{
	return (size_t)m < NELEM(model_names) ? model_names[m] : "?";
}

const char *
svc_grouping_name(enum svc_grouping g)
{
	return (size_t)g < NELEM(grouping_names) ? grouping_names[g] : "?";
}

static const struct {
	const char *name;
	int         sig;
} signals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},
    {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
    {"TERM", SIGTERM}, {"ALRM", SIGALRM}, {"PWR", SIGPWR},
    {"WINCH", SIGWINCH}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
};

int
svc_signal_parse(const char *s)
{
	char *end;
	long  n;

	if (!s || !*s)
		return -1;
	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < NELEM(signals); i++)
		if (strcmp(s, signals[i].name) == 0)
			return signals[i].sig;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || *end || n <= 0 || n >= NSIG)
		return -1;
	return (int)n;
}

/* ---- FMRIs ---------------------------------------------------------------- */

int
svc_fmri_canon(const char *in, char *buf, size_t len)
{
	const char *colon;
	int         n;

	if (!in)
		return -1;
	if (strncmp(in, "svc:/", 5) == 0)
		in += 5;
	if (*in == '\0' || *in == ':')
		return -1;
	colon = strrchr(in, ':');
	if (colon && colon[1] == '\0')
		return -1;
	if (colon)
		n = snprintf(buf, len, "svc:/%s", in);
	else
		n = snprintf(buf, len, "svc:/%s:default", in);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int
svc_fmri_split(const char *fmri, char *name, size_t nlen, char *inst,
               size_t ilen)
{
	const char *colon;
	size_t      n;

	if (!fmri || strncmp(fmri, "svc:/", 5) != 0)
		return -1;
	fmri += 5;
	colon = strrchr(fmri, ':');
	if (!colon || colon == fmri || colon[1] == '\0')
		return -1;
	n = (size_t)(colon - fmri);
	if (n >= nlen || strlen(colon + 1) >= ilen)
		return -1;
	memcpy(name, fmri, n);
	name[n] = '\0';
	strcpy(inst, colon + 1);
	return 0;
}

/* ---- groups --------------------------------------------------------------- */

static void
parse_general(svc_config *cfg, const cJSON *pgs, bool *oom)
{
	int model = SVC_MODEL_CHILD, log = SVC_LOG_FILE;

	read_bool(cfg, pgs, "general", "enabled", &cfg->enabled);
	read_enum(cfg, pgs, "general", "model", model_names, NELEM(model_names),
	    &model);
	read_enum(cfg, pgs, "general", "log", log_names, NELEM(log_names), &log);
	cfg->model = (enum svc_model)model;
	cfg->log = (enum svc_log)log;
	cfg->description =
	    dup_or_null(read_str(cfg, pgs, "general", "description"), oom);
	cfg->pidfile = dup_or_null(read_str(cfg, pgs, "general", "pidfile"), oom);
}

/* Timeouts are stored in seconds and held in milliseconds. */
static void
parse_method(svc_config *cfg, const cJSON *pgs, const char *pg, svc_method *m,
             uint64_t def_timeout_s, bool *oom)
{
	uint64_t t = def_timeout_s;

	m->argv = read_strv(cfg, pgs, pg, "exec", &m->argc, oom);
	read_u64(cfg, pgs, pg, "timeout_s", &t);
	if (t > UINT64_MAX / 1000)
		t = UINT64_MAX / 1000;
	m->timeout_ms = t * 1000;
}

/* PG/signal (stop: to the group; refresh: to the main process). */
static void
parse_signal(svc_config *cfg, const cJSON *pgs, const char *pg, int *out)
{
	const cJSON *p = prop_get(pgs, pg, "signal");
	const cJSON *v = p ? prop_at(p, 0) : NULL;
	int64_t      n;

	if (!v)
		return;
	if (cJSON_IsString(v) && svc_signal_parse(v->valuestring) > 0)
		*out = svc_signal_parse(v->valuestring);
	else if (cJSON_IsNumber(v) && kipc_json_int64(v, &n) == 0 && n > 0 &&
	         n < NSIG)
		*out = (int)n;
	else
		cfg_fail(cfg, pg, "signal", "unknown signal");
}

static void
parse_restart(svc_config *cfg, const cJSON *pgs)
{
	int policy = SVC_RESTART_ON_FAILURE;

	read_enum(cfg, pgs, "restart", "policy", policy_names,
	    NELEM(policy_names), &policy);
	cfg->restart = (enum svc_restart_policy)policy;
	read_u64(cfg, pgs, "restart", "delay_ms", &cfg->delay_ms);
	read_u64(cfg, pgs, "restart", "max_delay_ms", &cfg->max_delay_ms);
	read_u64(cfg, pgs, "restart", "burst", &cfg->burst);
	read_u64(cfg, pgs, "restart", "window_s", &cfg->window_s);
	/* A ceiling below the first delay would make backoff shrink. */
	if (cfg->max_delay_ms < cfg->delay_ms)
		cfg->max_delay_ms = cfg->delay_ms;
}

/* "022" (octal text) or a number. */
static void
parse_umask(svc_config *cfg, const cJSON *pgs)
{
	const cJSON *p = prop_get(pgs, "context", "umask");
	const cJSON *v = p ? prop_at(p, 0) : NULL;
	char        *end;
	long         m;
	int64_t      n;

	if (!v)
		return;
	if (cJSON_IsString(v)) {
		errno = 0;
		m = strtol(v->valuestring, &end, 8);
		if (errno || *end || end == v->valuestring || m < 0 || m > 0777)
			cfg_fail(cfg, "context", "umask", "not an octal mode");
		else
			cfg->umask = (int)m;
	} else if (kipc_json_int64(v, &n) == 0 && n >= 0 && n <= 0777) {
		cfg->umask = (int)n;
	} else {
		cfg_fail(cfg, "context", "umask", "not an octal mode");
	}
}

static const struct {
	const char *name;
	int         resource;
} limit_names[] = {
    {"as", RLIMIT_AS},         {"core", RLIMIT_CORE},
    {"cpu", RLIMIT_CPU},       {"data", RLIMIT_DATA},
    {"fsize", RLIMIT_FSIZE},   {"locks", RLIMIT_LOCKS},
    {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE},
    {"nice", RLIMIT_NICE},     {"nofile", RLIMIT_NOFILE},
    {"nproc", RLIMIT_NPROC},   {"rss", RLIMIT_RSS},
    {"rtprio", RLIMIT_RTPRIO}, {"rttime", RLIMIT_RTTIME},
    {"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK},
};

/* context/limit_NAME counts (import maps "infinity" to UINT64_MAX). */
static void
parse_limits(svc_config *cfg, const cJSON *pgs)
{
	struct svc_limit lim[NELEM(limit_names)];
	size_t           n = 0;

	for (size_t i = 0; i < NELEM(limit_names); i++) {
		char     prop[32];
		uint64_t v = 0;
		bool     set = false;

		snprintf(prop, sizeof prop, "limit_%s", limit_names[i].name);
		if (!prop_get(pgs, "context", prop))
			continue;
		v = UINT64_MAX - 1;
		read_u64(cfg, pgs, "context", prop, &v);
		set = v != UINT64_MAX - 1;
		if (!set)
			continue;
		lim[n].resource = limit_names[i].resource;
		lim[n++].value = v;
	}
	if (n == 0)
		return;
	if ((cfg->limits = malloc(n * sizeof(*lim))) == NULL) {
		cfg_fail(cfg, "context", "limits", "out of memory");
		return;
	}
	memcpy(cfg->limits, lim, n * sizeof(*lim));
	cfg->nlimits = n;
}

/* Appends PATH when the environment sets none (DESIGN section 7). */
static void
env_add_path(svc_config *cfg, bool *oom)
{
	char **env;

	for (size_t i = 0; i < cfg->nenv; i++)
		if (strncmp(cfg->env[i], "PATH=", 5) == 0)
			return;
	if (!(env = realloc(cfg->env, (cfg->nenv + 2) * sizeof *env))) {
		*oom = true;
		return;
	}
	cfg->env = env;
	if (!(env[cfg->nenv] = strdup(SVC_DEF_PATH))) {
		*oom = true;
		env[cfg->nenv] = NULL;
		return;
	}
	env[++cfg->nenv] = NULL;
}

static void
parse_context(svc_config *cfg, const cJSON *pgs, bool *oom)
{
	cfg->env = read_strv(cfg, pgs, "context", "environment", &cfg->nenv, oom);
	for (size_t i = 0; i < cfg->nenv; i++) {
		const char *eq = strchr(cfg->env[i], '=');

		if (!eq || eq == cfg->env[i])
			cfg_fail(cfg, "context", "environment", "not K=V");
	}
	env_add_path(cfg, oom);
	cfg->working_directory = dup_or_null(
	    read_str(cfg, pgs, "context", "working_directory"), oom);
	parse_limits(cfg, pgs);
	cfg->user = dup_or_null(read_str(cfg, pgs, "context", "user"), oom);
	cfg->group = dup_or_null(read_str(cfg, pgs, "context", "group"), oom);
	parse_umask(cfg, pgs);
}

/* Dependency FMRIs may be written short ("db"); canonicalise them. */
static void
parse_dep(svc_config *cfg, const cJSON *pgs, const char *pg, svc_dep *d,
          bool *oom)
{
	int g = SVC_DEP_REQUIRE_ALL, ron = SVC_RON_NONE;

	d->name = dup_or_null(pg + 4, oom);
	read_enum(cfg, pgs, pg, "grouping", grouping_names,
	    NELEM(grouping_names), &g);
	read_enum(cfg, pgs, pg, "restart_on", ron_names, NELEM(ron_names), &ron);
	d->grouping = (enum svc_grouping)g;
	d->restart_on = (enum svc_restart_on)ron;
	d->fmris = read_strv(cfg, pgs, pg, "services", &d->nfmri, oom);
	for (size_t i = 0; i < d->nfmri; i++) {
		char buf[512];

		if (svc_fmri_canon(d->fmris[i], buf, sizeof buf) != 0) {
			cfg_fail(cfg, pg, "services", "not an FMRI");
			continue;
		}
		free(d->fmris[i]);
		if (!(d->fmris[i] = strdup(buf)))
			*oom = true;
	}
}

static void
parse_deps(svc_config *cfg, const cJSON *pgs, bool *oom)
{
	const cJSON *g;
	size_t       n = 0;

	cJSON_ArrayForEach(g, pgs)
		if (g->string && strncmp(g->string, "dep_", 4) == 0)
			n++;
	if (n == 0)
		return;
	if (!(cfg->deps = calloc(n, sizeof *cfg->deps))) {
		*oom = true;
		return;
	}
	cJSON_ArrayForEach(g, pgs) {
		if (!g->string || strncmp(g->string, "dep_", 4) != 0)
			continue;
		parse_dep(cfg, pgs, g->string, &cfg->deps[cfg->ndeps++], oom);
	}
}

/* ---- the config ----------------------------------------------------------- */

static void
set_defaults(svc_config *cfg)
{
	cfg->model = SVC_MODEL_CHILD;
	cfg->log = SVC_LOG_FILE;
	cfg->start.timeout_ms = SVC_DEF_START_TIMEOUT_S * 1000;
	cfg->stop.timeout_ms = SVC_DEF_STOP_TIMEOUT_S * 1000;
	cfg->refresh.timeout_ms = SVC_DEF_START_TIMEOUT_S * 1000;
	cfg->stop_signal = SIGTERM;
	cfg->restart = SVC_RESTART_ON_FAILURE;
	cfg->delay_ms = SVC_DEF_DELAY_MS;
	cfg->max_delay_ms = SVC_DEF_MAX_DELAY_MS;
	cfg->burst = SVC_DEF_BURST;
	cfg->window_s = SVC_DEF_WINDOW_S;
	cfg->umask = -1;
}

static bool
set_names(svc_config *cfg, const char *fmri)
{
	char name[256], inst[256];

	if (svc_fmri_split(fmri, name, sizeof name, inst, sizeof inst) != 0)
		return false;
	cfg->fmri = strdup(fmri);
	cfg->service = strdup(name);
	cfg->instance = strdup(inst);
	return cfg->fmri && cfg->service && cfg->instance;
}

svc_config *
svc_config_new(const char *fmri, const cJSON *pgs)
{
	svc_config *cfg = calloc(1, sizeof *cfg);
	bool        oom = false;

	if (!cfg)
		return NULL;
	set_defaults(cfg);
	if (!set_names(cfg, fmri))
		goto fail;
	if (pgs && !cJSON_IsObject(pgs)) {
		cfg_fail(cfg, "", "", "property groups are not an object");
		pgs = NULL;
	}
	parse_general(cfg, pgs, &oom);
	parse_method(cfg, pgs, "start", &cfg->start, SVC_DEF_START_TIMEOUT_S,
	    &oom);
	parse_method(cfg, pgs, "stop", &cfg->stop, SVC_DEF_STOP_TIMEOUT_S, &oom);
	parse_method(cfg, pgs, "refresh", &cfg->refresh,
	    SVC_DEF_START_TIMEOUT_S, &oom);
	parse_signal(cfg, pgs, "stop", &cfg->stop_signal);
	parse_signal(cfg, pgs, "refresh", &cfg->refresh_signal);
	parse_restart(cfg, pgs);
	parse_context(cfg, pgs, &oom);
	parse_deps(cfg, pgs, &oom);
	if (oom)
		goto fail;
	return cfg;
fail:
	svc_config_free(cfg);
	return NULL;
}

void
svc_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

void
svc_config_free(svc_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->fmri);
	free(cfg->service);
	free(cfg->instance);
	free(cfg->description);
	free(cfg->error);
	svc_argv_free(cfg->start.argv);
	svc_argv_free(cfg->stop.argv);
	svc_argv_free(cfg->refresh.argv);
	svc_argv_free(cfg->env);
	free(cfg->working_directory);
	free(cfg->user);
	free(cfg->group);
	free(cfg->pidfile);
	free(cfg->limits);
	for (size_t i = 0; i < cfg->ndeps; i++) {
		free(cfg->deps[i].name);
		svc_argv_free(cfg->deps[i].fmris);
	}
	free(cfg->deps);
	free(cfg);
}

/* ---- substitution --------------------------------------------------------- */

/* A growable string; on allocation failure it turns NULL and stays so. */
typedef struct sbuf {
	char  *s;
	size_t len, cap;
} sbuf;

static void
sb_add(sbuf *b, const char *s, size_t n)
{
	char *ns;

	if (!b->s)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;

		if (!(ns = realloc(b->s, cap))) {
			free(b->s);
			b->s = NULL;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* The value of ${name} (name of length n), or NULL when not ours. */
static const char *
subst_var(const char *name, size_t n, const svc_subst_vars *v, char *pidbuf,
          size_t pidlen)
{
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(name, lit, n) == 0)
	if (IS("FMRI"))
		return v->fmri ? v->fmri : "";
	if (IS("NAME"))
		return v->name ? v->name : "";
	if (IS("INSTANCE"))
		return v->instance ? v->instance : "";
	if (IS("MAINPID")) {
		if (v->mainpid <= 0)
			return "";
		snprintf(pidbuf, pidlen, "%ld", (long)v->mainpid);
		return pidbuf;
	}
	return NULL;
#undef IS
}

char *
svc_subst(const char *arg, const svc_subst_vars *v)
{
	sbuf        b = {malloc(16), 0, 16};
	const char *p = arg;

	if (!b.s)
		return NULL;
	b.s[0] = '\0';
	while (*p) {
		const char *close, *val;
		char        pidbuf[24];

		if (p[0] == '$' && p[1] == '$') {
			sb_add(&b, "$", 1);
			p += 2;
			continue;
		}
		if (p[0] == '$' && p[1] == '{' && (close = strchr(p + 2, '}')) &&
		    (val = subst_var(p + 2, (size_t)(close - p - 2), v, pidbuf,
		        sizeof pidbuf))) {
			sb_add(&b, val, strlen(val));
			p = close + 1;
			continue;
		}
		sb_add(&b, p, 1);
		p++;
	}
	return b.s;
}

char **
svc_method_argv(const svc_config *cfg, const svc_method *m, pid_t mainpid)
{
	svc_subst_vars v = {cfg->fmri, cfg->service, cfg->instance, mainpid};
	char         **argv;

	if (!m->argv || m->argc == 0)
		return NULL;
	if (!(argv = calloc(m->argc + 1, sizeof *argv)))
		return NULL;
	for (size_t i = 0; i < m->argc; i++) {
		if (!(argv[i] = svc_subst(m->argv[i], &v))) {
			svc_argv_free(argv);
			return NULL;
		}
	}
	return argv;
}
