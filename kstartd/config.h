/*
 * config.h -- one instance's running snapshot, typed.
 *
 * kconfigd hands kstartd every instance's property groups as JSON
 * ({"general": {"enabled": {"type": "boolean", "values": [true]}, ...}}).
 * This module turns them into a plain struct with DESIGN section 7's
 * defaults filled in, so that the restarter core and the spawner never look
 * at JSON.  It is pure: no IO, no clock, no globals.
 *
 * A snapshot that fails to parse still yields a config (defaults plus the
 * fields that did parse) with `error` set: the restarter sends such an
 * instance to maintenance instead of guessing, and the reason is shown.
 */
#ifndef KSTARTD_CONFIG_H
#define KSTARTD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cJSON.h>

/* DESIGN section 7 defaults. */
#define SVC_DEF_DELAY_MS        100u
#define SVC_DEF_MAX_DELAY_MS    30000u
#define SVC_DEF_BURST           5u
#define SVC_DEF_WINDOW_S        10u
#define SVC_DEF_START_TIMEOUT_S 60u
#define SVC_DEF_STOP_TIMEOUT_S  10u
#define SVC_DEF_PATH                                                           \
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* SMF method exit codes that send an instance to maintenance at once. */
#define SVC_EXIT_FATAL  95
#define SVC_EXIT_CONFIG 96

enum svc_model {
	SVC_MODEL_CHILD,     /* the start method is the service */
	SVC_MODEL_FORKING,   /* start daemonises; online when it exits 0 */
	SVC_MODEL_TRANSIENT, /* runs once; online when it exits 0 */
	SVC_MODEL_NOTIFY,    /* online at READY=1 on NOTIFY_SOCKET */
};

enum svc_restart_policy {
	SVC_RESTART_ON_FAILURE,
	SVC_RESTART_ALWAYS,
	SVC_RESTART_NEVER,
};

enum svc_log { SVC_LOG_FILE, SVC_LOG_CONSOLE };

enum svc_grouping {
	SVC_DEP_REQUIRE_ALL,
	SVC_DEP_REQUIRE_ANY,
	SVC_DEP_OPTIONAL_ALL,
	SVC_DEP_EXCLUDE_ALL,
};

/* Ordered: a dependent restarts for causes at or below its restart_on. */
enum svc_restart_on {
	SVC_RON_NONE,
	SVC_RON_ERROR,
	SVC_RON_RESTART,
	SVC_RON_REFRESH,
};

typedef struct svc_dep {
	char               *name; /* NAME of the dep_NAME group */
	enum svc_grouping   grouping;
	enum svc_restart_on restart_on;
	char              **fmris; /* canonical svc:/NAME:INSTANCE */
	size_t              nfmri;
} svc_dep;

typedef struct svc_method {
	char   **argv;       /* NULL-terminated; NULL when there is no exec */
	size_t   argc;
	uint64_t timeout_ms;
} svc_method;

typedef struct svc_config {
	char *fmri;     /* svc:/NAME:INSTANCE */
	char *service;  /* NAME */
	char *instance; /* INSTANCE */
	char *description;
	char *error; /* first parse error, or NULL when the snapshot is sound */

	bool           enabled;
	enum svc_model model;
	enum svc_log   log;

	svc_method start;
	svc_method stop; /* stop.argv NULL: signal the group */
	svc_method refresh;
	int        stop_signal;
	int        refresh_signal; /* refresh.signal, to the main process when
	                            * there is no refresh method; 0: none */

	enum svc_restart_policy restart;
	uint64_t                delay_ms;
	uint64_t                max_delay_ms;
	uint64_t                burst; /* 0: never give up */
	uint64_t                window_s;

	char **env; /* NULL-terminated "K=V"; always holds a PATH */
	size_t nenv;
	char  *working_directory; /* NULL: inherit */
	char  *user;              /* NULL: kstartd's own */
	char  *group;
	int    umask; /* -1: inherit */
	char  *pidfile; /* forking: where the daemon writes its pid; NULL */

	/* context/limit_NAME: setrlimit(resource, value) in the child. */
	struct svc_limit {
		int      resource; /* RLIMIT_* */
		uint64_t value;    /* UINT64_MAX: RLIM_INFINITY */
	} *limits; /* nlimits of them, NULL when none (most services) */
	size_t nlimits;

	svc_dep *deps;
	size_t   ndeps;
} svc_config;

/*
 * Builds the config of fmri from its property groups (pgs: an object of
 * groups, may be NULL).  Returns NULL only when memory runs out or fmri is
 * not a valid FMRI; a bad property sets cfg->error and keeps the default.
 * Free with svc_config_free.
 */
svc_config *svc_config_new(const char *fmri, const cJSON *pgs);
void        svc_config_free(svc_config *cfg);

/*
 * Canonicalises "web", "web:inst", "svc:/web", "svc:/web:inst" into
 * "svc:/web:inst" (instance "default" when absent).  Returns 0, or -1 when
 * the name is empty or does not fit in len.
 */
int svc_fmri_canon(const char *in, char *buf, size_t len);

/* Splits a canonical FMRI; returns 0 or -1 when it is not canonical. */
int svc_fmri_split(const char *fmri, char *name, size_t nlen, char *inst,
                   size_t ilen);

/* Values that ${VAR} substitution can see. */
typedef struct svc_subst_vars {
	const char *fmri;
	const char *name;
	const char *instance;
	pid_t       mainpid; /* 0: substitutes the empty string */
} svc_subst_vars;

/*
 * Expands ${MAINPID} ${FMRI} ${NAME} ${INSTANCE} and $$ in arg; anything else
 * is copied verbatim (no shell, no word splitting).  Returns a malloc'd
 * string, NULL when memory runs out.
 */
char *svc_subst(const char *arg, const svc_subst_vars *v);

/*
 * Expands every argument of m for cfg.  Returns a malloc'd NULL-terminated
 * vector (free with svc_argv_free), NULL when m has no exec or memory runs
 * out.
 */
char **svc_method_argv(const svc_config *cfg, const svc_method *m,
                       pid_t mainpid);
void   svc_argv_free(char **argv);

/* Names for logs and status. */
const char *svc_model_name(enum svc_model m);
const char *svc_grouping_name(enum svc_grouping g);
/* "TERM", "SIGTERM" or "15" to a signal number; -1 when unknown. */
int svc_signal_parse(const char *s);

#endif /* KSTARTD_CONFIG_H */
