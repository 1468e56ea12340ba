/*
 * run.c -- from a command line to an exit code: parse, show usage or run the
 * verb's handler, and the calls handlers make to the daemons.
 */
#include "kctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
kctl_usage_error(kctl_ctx *ctx, const char *fmt, ...)
{
	const kctl_verb *v = ctx->args.verb;
	char             why[512];
	va_list          ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);

	fprintf(ctx->err, "kctl: error: %s\n", why);
	fprintf(ctx->err, "kctl: hint: run 'kctl %s%s--help' for usage\n",
	    v != NULL ? v->name : "", v != NULL ? " " : "");
	if (ctx->opts.json) {
		cJSON *o = cJSON_CreateObject();
		cJSON *e = cJSON_AddObjectToObject(o, "error");

		cJSON_AddStringToObject(e, "code", "usage");
		cJSON_AddStringToObject(e, "message", why);
		kctl_print_json(ctx, o);
		cJSON_Delete(o);
	}
	return KCTL_EXIT_USAGE;
}

int
kctl_run(int argc, char **argv, kctl_transport *tp, FILE *out, FILE *err)
{
	kctl_ctx ctx;
	char     why[512];
	int      rv;

	memset(&ctx, 0, sizeof(ctx));
	ctx.tp = tp;
	ctx.out = out;
	ctx.err = err;
	kctl_opts_init(&ctx.opts);
	rv = kctl_args_parse(argc, argv, &ctx.opts, &ctx.args, why, sizeof(why));
	if (rv == KCTL_EXIT_USAGE)
		rv = kctl_usage_error(&ctx, "%s", why);
	else if (rv != KCTL_EXIT_OK)
		rv = kctl_fail(&ctx, KE_INTERNAL, "command line", "%s", why);
	else if (ctx.opts.help)
		kctl_usage(out, ctx.args.verb);
	else {
		ctx.verb = ctx.args.verb;
		rv = ctx.verb->handler(&ctx);
	}
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(err, "kctl: error: unable to write 'stdout': %s\n",
		    strerror(errno));
		if (rv == KCTL_EXIT_OK)
			rv = KCTL_EXIT_FAILURE;
	}
	kctl_args_free(&ctx.args);
	return rv;
}

static int
single_daemon(int mask)
{
	return mask == KD_CONFIGD || mask == KD_STARTD || mask == KD_KINIT;
}

int
kctl_call(kctl_ctx *ctx, int daemon, kproto_method_id id, cJSON *params,
    cJSON **result, char **errmsg)
{
	const kproto_method *m = kproto_method_by_id(id);
	char                 buf[160];

	*result = NULL;
	*errmsg = NULL;
	if (m != NULL && daemon == 0)
		daemon = m->daemons;
	if (m == NULL || !single_daemon(daemon) || !(m->daemons & daemon) ||
	    !(ctx->verb->needs & daemon)) {
		/* The verb table and proto.h disagree: a bug in kctl. */
		snprintf(buf, sizeof(buf), "verb '%s' may not call '%s' on %d",
		    ctx->verb->name, m != NULL ? m->name : "?", daemon);
		*errmsg = strdup(buf);
		cJSON_Delete(params);
		return KE_INTERNAL;
	}
	if (params == NULL)
		params = cJSON_CreateObject();
	return ctx->tp->call(ctx->tp, &ctx->opts, daemon, m->name, params,
	    result, errmsg);
}

int
kctl_rpc(kctl_ctx *ctx, int daemon, kproto_method_id id, cJSON *params,
    const char *object, cJSON **result)
{
	return kctl_rpc_until(ctx, daemon, id, params, object, result, 0);
}

int
kctl_rpc_until(kctl_ctx *ctx, int daemon, kproto_method_id id, cJSON *params,
    const char *object, cJSON **result, int64_t reach_end)
{
	char *errmsg = NULL;
	long  pause_ms = 5; /* a daemon coming up answers within ms: 5 ms,
	                       doubling to 100 ms while it stays away */
	int   rv;

	for (;;) {
		cJSON *p = reach_end > 0 && params != NULL ?
		    cJSON_Duplicate(params, 1) : params;

		rv = kctl_call(ctx, daemon, id, p, result, &errmsg);
		if (rv != KE_UNAVAILABLE || kctl_mono_ms() + pause_ms >= reach_end)
			break;
		free(errmsg);
		errmsg = NULL;
		nanosleep(&(struct timespec){.tv_nsec = pause_ms * 1000000L}, NULL);
		if ((pause_ms *= 2) > 100)
			pause_ms = 100;
	}
	if (reach_end > 0)
		cJSON_Delete(params);
	if (rv != KE_OK) {
		rv = kctl_fail(ctx, (kproto_err)rv, object, "%s",
		    errmsg != NULL && *errmsg != '\0' ? errmsg :
		    kproto_err_name((kproto_err)rv));
		cJSON_Delete(*result);
		*result = NULL;
	}
	free(errmsg);
	return rv;
}

int64_t
kctl_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
