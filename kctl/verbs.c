/*
 * verbs.c -- the one verb table and the usage text made from it.
 *
 * A new verb (DESIGN section 6) is one row here plus its handler in a
 * cmd_*.c file: the parser takes its options and operand counts from the row,
 * the usage text its usage and summary, and kctl_call() refuses a daemon the
 * row does not name in needs, so the table stays the truth about each verb.
 */
#include "kctl.h"

#include <string.h>

static kctl_handler cmd_help;

static const kctl_verb verbs[] = {
	{ "list", kctl_cmd_list, "[-a]", "-a|--all", 0, 0, KD_STARTD,
	  "list instances (-a: disabled ones too)", 0 },
	{ "status", kctl_cmd_status, "SVC [-n N]", "-n|--lines=", 1, 1,
	  KD_STARTD, "show one instance in detail, and the last N (10) lines "
	  "of its log", 0 },
	{ "enable", kctl_cmd_enable, "[-r] [-t] [-s] SVC...",
	  "-t|--temporary -r|--recursive -s|--sync", 1, -1, KD_STARTD,
	  "enable instances (-t: until the next boot; -r: and their "
	  "dependencies; -s: wait until online, exit 8/9 if it cannot be)", 0 },
	{ "disable", kctl_cmd_disable, "[-t] [-s] SVC...",
	  "-t|--temporary -s|--sync", 1, -1, KD_STARTD,
	  "disable instances (-t: until the next boot; -s: wait until "
	  "disabled)", 0 },
	{ "restart", kctl_cmd_restart, "SVC", NULL, 1, 1, KD_STARTD,
	  "stop and start a running instance", 0 },
	{ "refresh", kctl_cmd_refresh, "SVC", NULL, 1, 1, KD_STARTD | KD_CONFIGD,
	  "make the edited configuration the running one; run the refresh "
	  "method", 0 },
	{ "clear", kctl_cmd_clear, "SVC", NULL, 1, 1, KD_STARTD,
	  "take an instance out of maintenance (or degraded)", 0 },
	{ "mark", kctl_cmd_mark, "degraded|maintenance SVC", NULL, 2, 2,
	  KD_STARTD, "put an instance in degraded or maintenance", 0 },
	{ "deps", kctl_cmd_deps, "SVC", NULL, 1, 1, KD_STARTD,
	  "what an instance depends on, and their states", 0 },
	{ "dependents", kctl_cmd_dependents, "SVC", NULL, 1, 1, KD_STARTD,
	  "what depends on an instance", 0 },
	{ "explain", kctl_cmd_explain, "[SVC]", NULL, 0, 1, KD_STARTD,
	  "why instances are not online: root cause, and what it blocks", 0 },
	{ "log", kctl_cmd_log, "SVC [-f] [-n N]", "-f|--follow -n|--lines=", 1,
	  1, 0, "the last N (10) lines of an instance's log (-f: follow)", 0 },
	{ "watch", kctl_cmd_watch, "", NULL, 0, 0, KD_STARTD,
	  "print state changes as they happen", 0 },
	{ "wait", kctl_cmd_wait, "SVC|MILESTONE [--state S] [--timeout S]",
	  "--state= --timeout=", 1, 1, KD_STARTD,
	  "wait until an instance (or 'default') is online or in state S; "
	  "exit 7 on timeout, 8/9 if it cannot get there", 0 },
	{ "import", kctl_cmd_import, "FILE|DIR... [--dry-run]", "--dry-run", 1,
	  -1, KD_CONFIGD | KD_STARTD,
	  "import manifests atomically (DIR: its *.json)", 0 },
	{ "import-unit", kctl_cmd_import_unit, "FILE.service", NULL, 1, 1, 0,
	  "translate a systemd unit to a manifest on stdout", 0 },
	{ "validate", kctl_cmd_validate, "FILE|DIR...", NULL, 1, -1, KD_CONFIGD,
	  "check manifests, import nothing", 0 },
	{ "export", kctl_cmd_export, "[SVC] [--include-secrets]",
	  "--include-secrets", 0, 1, KD_CONFIGD,
	  "print the repository or one service as JSON", 0 },
	{ "get", kctl_cmd_get, "SVC[/PG[/PROP]] [--running]", "--running", 1, 1,
	  KD_CONFIGD,
	  "show properties (--running: what kstartd uses)", 0 },
	{ "set", kctl_cmd_set, "SVC PG/PROP [TYPE] VALUE... [--secret]",
	  "--secret", 3, -1, KD_CONFIGD,
	  "set a property in the admin layer (kctl refresh applies it)", 2 },
	{ "delprop", kctl_cmd_delprop, "SVC PG[/PROP]", NULL, 2, 2, KD_CONFIGD,
	  "delete a property or group (masks the manifest's)", 0 },
	{ "delcust", kctl_cmd_delcust, "SVC [PG[/PROP]]", NULL, 1, 2,
	  KD_CONFIGD, "remove admin customisations: back to the manifest", 0 },
	{ "snapshot", kctl_cmd_snapshot, "list SVC | take SVC NAME", NULL, 2, 3,
	  KD_CONFIGD, "list an instance's snapshots, or take one", 0 },
	{ "revert", kctl_cmd_revert, "SVC SNAP", NULL, 2, 2, KD_CONFIGD,
	  "editing view := snapshot SNAP (kctl refresh applies it)", 0 },
	{ "repo", kctl_cmd_repo, "backup|check", NULL, 1, 1, KD_CONFIGD,
	  "back up the repository, or check its integrity", 0 },
	{ "graph", kctl_cmd_graph, "", NULL, 0, 0, KD_CONFIGD,
	  "the dependency graph of the running configuration as DOT", 0 },
	{ "plot", kctl_cmd_plot, "[-o FILE]", "-o|--output=", 0, 0, KD_STARTD,
	  "an SVG timeline of the boot: each instance's wait, start and "
	  "online times (--json: the times)", 0 },
	{ "startd", kctl_cmd_startd, "status|restart", NULL, 1, 1,
	  KD_KINIT | KD_STARTD,
	  "kstartd's state from kinit, or restart it (services keep running)", 0 },
	{ "shutdown", kctl_cmd_shutdown, "", NULL, 0, 0, KD_KINIT,
	  "stop every service in order, then kinit", 0 },
	{ "hello", kctl_cmd_hello, "[configd|startd|kinit...]", NULL, 0, 3,
	  KD_ALL, "ask daemons for their name and level", 0 },
	{ "help", cmd_help, "[VERB]", NULL, 0, 1, 0,
	  "this text, or one verb's", 0 },
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

const kctl_verb *
kctl_verb_find(const char *name)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

const kctl_verb *
kctl_verbs(size_t *n)
{
	*n = NVERBS;
	return verbs;
}

static const char options_text[] =
    "options (before or after the verb):\n"
    "  --json            machine-readable output on stdout\n"
    "  --timeout S       give up on a daemon after S seconds (default 30)\n"
    "  --run-dir DIR     where the sockets are (default $SYSTEMK_RUN_DIR,\n"
    "                    else /run/systemk); --state-dir, --manifest-dir and\n"
    "                    --log-dir are accepted as by the daemons\n"
    "  -h, --help        this text; 'kctl VERB --help' for one verb\n"
    "  --                end of options\n";

static const char errors_text[] =
    "errors:\n"
    "  one line on stderr, 'kctl: error: unable to VERB 'OBJECT': CAUSE',\n"
    "  often followed by a 'kctl: hint:' line.  With --json, stdout also\n"
    "  carries {\"error\": {\"code\": CODE, \"message\": TEXT}}, where CODE is\n"
    "  a protocol error code (invalid, not_found, conflict, denied, busy,\n"
    "  too_large, unavailable, timeout, internal) or \"usage\".\n"
    "exit codes:\n"
    "  0 ok, 1 failure, 2 usage, 3 not found, 4 denied, 5 daemon unreachable,\n"
    "  6 conflict, 7 timeout, 8 cannot reach the state, 9 its dependencies\n"
    "  cannot, 10 invalid input\n";

static void
print_needs(FILE *f, int needs)
{
	static const struct {
		int         bit;
		const char *name;
	} d[] = { { KD_CONFIGD, "kconfigd" }, { KD_STARTD, "kstartd" },
		  { KD_KINIT, "kinit" } };
	const char *sep = "";

	if (needs == 0)
		return;
	fprintf(f, "talks to: ");
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		if (needs & d[i].bit) {
			fprintf(f, "%s%s", sep, d[i].name);
			sep = ", ";
		}
	}
	fprintf(f, "\n");
}

void
kctl_usage(FILE *f, const kctl_verb *v)
{
	if (v != NULL) {
		fprintf(f, "usage: kctl [OPTIONS] %s%s%s\n\n%s\n", v->name,
		    *v->usage != '\0' ? " " : "", v->usage, v->summary);
		print_needs(f, v->needs);
		fprintf(f, "\n%s", options_text);
		return;
	}
	fprintf(f, "usage: kctl [OPTIONS] VERB [ARGS...]\n\nverbs:\n");
	for (size_t i = 0; i < NVERBS; i++) {
		char line[80];

		snprintf(line, sizeof(line), "%s %s", verbs[i].name,
		    verbs[i].usage);
		if (strlen(line) > 30)
			fprintf(f, "  %s\n  %-30s  %s\n", line, "", verbs[i].summary);
		else
			fprintf(f, "  %-30s  %s\n", line, verbs[i].summary);
	}
	fprintf(f, "\n%s\n%s", options_text, errors_text);
}

static int
cmd_help(kctl_ctx *ctx)
{
	const kctl_verb *v = NULL;

	if (ctx->args.nops == 1 &&
	    (v = kctl_verb_find(ctx->args.ops[0])) == NULL)
		return kctl_usage_error(ctx, "unknown verb '%s'", ctx->args.ops[0]);
	if (ctx->opts.json) {
		/* {"verbs": [{"name", "usage", "summary"}...]}: the table. */
		cJSON *o = cJSON_CreateObject();
		cJSON *arr = cJSON_AddArrayToObject(o, "verbs");

		for (size_t i = 0; i < NVERBS; i++) {
			cJSON *e;

			if (v != NULL && v != &verbs[i])
				continue;
			e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "name", verbs[i].name);
			cJSON_AddStringToObject(e, "usage", verbs[i].usage);
			cJSON_AddStringToObject(e, "summary", verbs[i].summary);
			cJSON_AddItemToArray(arr, e);
		}
		kctl_print_json(ctx, o);
		cJSON_Delete(o);
		return KCTL_EXIT_OK;
	}
	kctl_usage(ctx->out, v);
	return KCTL_EXIT_OK;
}
