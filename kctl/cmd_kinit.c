/*
 * cmd_kinit.c -- verbs served by kinit over kinit.sock (startd status|restart,
 * shutdown), and hello, which asks any daemon for its name and level.
 */
#include "kctl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct {
	const char *name;
	int         daemon;
	const char *sock;
} daemons[] = {
	{ "configd", KD_CONFIGD, KPROTO_SOCK_CONFIGD },
	{ "startd", KD_STARTD, KPROTO_SOCK_STARTD },
	{ "kinit", KD_KINIT, KPROTO_SOCK_KINIT },
};

#define NDAEMONS (sizeof(daemons) / sizeof(daemons[0]))

static void
print_startd(kctl_ctx *ctx, const cJSON *res, bool restarted)
{
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(res, "pid");
	const cJSON *restarts = cJSON_GetObjectItemCaseSensitive(res, "restarts");
	char        *p = kctl_value_text(pid), *r = NULL;

	if (restarted) {
		fprintf(ctx->out, "kstartd restarted, pid %s\n", p);
	} else {
		r = kctl_value_text(restarts);
		if (kipc_json_bool(res, "running") == 1)
			fprintf(ctx->out, "kstartd running, pid %s, %s restarts\n", p,
			    r);
		else
			fprintf(ctx->out, "kstartd not running, %s restarts\n", r);
	}
	free(p);
	free(r);
}

/*
 * After `startd restart`: waits (up to --timeout) until kinit reports a
 * kstartd other than old (0: none) and that one answers on startd.sock, so
 * that the next command finds it.  *res gets kinit's status reply.
 */
static int
await_new_startd(kctl_ctx *ctx, double old, cJSON **res)
{
	int64_t end = kctl_mono_ms() + ctx->opts.timeout_ms;

	for (;;) {
		char        *msg = NULL;
		cJSON       *hello = NULL;
		const cJSON *pid;
		int          rv;

		cJSON_Delete(*res);
		*res = NULL;
		rv = kctl_call(ctx, KD_KINIT, KM_KINIT_STARTD_STATUS, NULL, res,
		    &msg);
		free(msg);
		msg = NULL;
		pid = cJSON_GetObjectItemCaseSensitive(*res, "pid");
		if (rv == KE_OK && cJSON_IsNumber(pid) && pid->valuedouble != old &&
		    kctl_call(ctx, KD_STARTD, KM_SYS_HELLO, NULL, &hello,
		        &msg) == KE_OK) {
			cJSON_Delete(hello);
			free(msg);
			return KCTL_EXIT_OK;
		}
		cJSON_Delete(hello);
		free(msg);
		if (kctl_mono_ms() >= end)
			return kctl_fail(ctx, KE_TIMEOUT, "kstartd", "the new kstartd "
			    "did not answer within %.3g s (kctl startd status tells "
			    "more)", ctx->opts.timeout_ms / 1000.0);
		nanosleep(&(struct timespec){.tv_nsec = 50 * 1000000L}, NULL);
	}
}

int
kctl_cmd_startd(kctl_ctx *ctx)
{
	const char *what = ctx->args.ops[0];
	bool        restart = strcmp(what, "restart") == 0;
	cJSON      *res = NULL;
	int         rv;

	if (!restart && strcmp(what, "status") != 0)
		return kctl_usage_error(ctx, "expected 'status' or 'restart', "
		    "not '%s'", what);
	ctx->action = restart ? "restart" : "query";
	rv = kctl_rpc(ctx, 0, restart ? KM_KINIT_STARTD_RESTART :
	    KM_KINIT_STARTD_STATUS, NULL, "kstartd", &res);
	if (rv != KCTL_EXIT_OK)
		return rv;
	if (restart) {
		const cJSON *old = cJSON_GetObjectItemCaseSensitive(res,
		    "replacing");
		double       was = cJSON_IsNumber(old) ? old->valuedouble : 0;

		if ((rv = await_new_startd(ctx, was, &res)) != KCTL_EXIT_OK) {
			cJSON_Delete(res);
			return rv;
		}
		if (was > 0)
			cJSON_AddNumberToObject(res, "replaced", was);
	}
	if (ctx->opts.json)
		kctl_print_json(ctx, res);
	else
		print_startd(ctx, res, restart);
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}

int
kctl_cmd_shutdown(kctl_ctx *ctx)
{
	cJSON *res = NULL;
	int    rv;

	if ((rv = kctl_rpc(ctx, 0, KM_KINIT_SHUTDOWN, NULL, "kinit", &res)) !=
	    KCTL_EXIT_OK)
		return rv;
	if (ctx->opts.json)
		kctl_print_json(ctx, res);
	else
		fprintf(ctx->out, "shutdown started\n");
	cJSON_Delete(res);
	return KCTL_EXIT_OK;
}

static int
daemon_index(const char *name)
{
	for (size_t i = 0; i < NDAEMONS; i++)
		if (strcmp(daemons[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* hello [configd|startd|kinit...]: all three when none is named. */
int
kctl_cmd_hello(kctl_ctx *ctx)
{
	int          idx[NDAEMONS], n = 0, first = KCTL_EXIT_OK;
	cJSON       *all = cJSON_CreateObject();
	kctl_table  *t = kctl_table_new(3, (const char *const[]){ "DAEMON",
	    "NAME", "LEVEL" });

	for (int i = 0; i < ctx->args.nops; i++) {
		if ((idx[n++] = daemon_index(ctx->args.ops[i])) < 0) {
			cJSON_Delete(all);
			kctl_table_free(t);
			return kctl_usage_error(ctx, "unknown daemon '%s': expected "
			    "configd, startd or kinit", ctx->args.ops[i]);
		}
	}
	for (; ctx->args.nops == 0 && n < (int)NDAEMONS; n++)
		idx[n] = n;
	ctx->action = "greet";
	for (int i = 0; i < n; i++) {
		cJSON      *res = NULL;
		char       *level;
		const char *cells[3];
		int         rv = kctl_rpc(ctx, daemons[idx[i]].daemon, KM_SYS_HELLO,
		    NULL, daemons[idx[i]].sock, &res);

		if (rv != KCTL_EXIT_OK) {
			if (first == KCTL_EXIT_OK)
				first = rv;
			continue;
		}
		level = kctl_value_text(cJSON_GetObjectItemCaseSensitive(res,
		    "level"));
		cells[0] = daemons[idx[i]].name;
		cells[1] = kipc_json_str(res, "name");
		cells[2] = level;
		kctl_table_add(t, cells);
		free(level);
		cJSON_AddItemToObject(all, daemons[idx[i]].name, res);
	}
	/* Humans see who answered; --json prints only a complete answer. */
	if (first == KCTL_EXIT_OK && ctx->opts.json)
		kctl_print_json(ctx, all);
	else if (!ctx->opts.json && cJSON_GetArraySize(all) > 0)
		kctl_table_print(t, ctx->out);
	cJSON_Delete(all);
	kctl_table_free(t);
	return first;
}
