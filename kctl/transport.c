/*
 * transport.c -- the real kctl_transport: SP requests (libkipc's client) to
 * configd.sock and startd.sock, AF_UNIX seqpacket to kinit.sock, all under
 * the run dir.  kctl links no nng and starts no thread.
 *
 * Connections are dialled on first use, so a verb that talks only to kstartd
 * works while kconfigd is down, and each daemon's absence is reported as that
 * daemon's.  Every call is bounded by --timeout; resend is off (libkipc).
 */
#include "kctl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct real_transport {
	kctl_transport tp; /* first: the seam hands back this pointer */
	kipc_client   *configd;
	kipc_client   *startd;
};

static void set_errmsg(char **errmsg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_errmsg(char **errmsg, const char *fmt, ...)
{
	char    buf[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*errmsg = strdup(buf);
}

static int
real_call(kctl_transport *tp, const kctl_opts *opts, int daemon,
    const char *method, cJSON *params, cJSON **result, char **errmsg)
{
	struct real_transport *r = (struct real_transport *)tp;
	kipc_client          **cl = daemon == KD_CONFIGD ? &r->configd :
	    &r->startd;
	const char            *sock = daemon == KD_CONFIGD ? KPROTO_SOCK_CONFIGD :
	    daemon == KD_STARTD ? KPROTO_SOCK_STARTD : KPROTO_SOCK_KINIT;
	char                   path[512];
	int                    rv;

	*result = NULL;
	*errmsg = NULL;
	if (kipc_path_join(path, sizeof(path), opts->paths.run_dir, sock) != 0) {
		cJSON_Delete(params);
		set_errmsg(errmsg, "run directory path too long: %s",
		    opts->paths.run_dir);
		return KE_INVALID;
	}
	if (daemon == KD_KINIT)
		return kipc_unix_call(path, method, params, opts->timeout_ms,
		    result, errmsg);
	if (*cl == NULL &&
	    (rv = kipc_client_open(cl, path, opts->timeout_ms)) != KE_OK) {
		cJSON_Delete(params);
		set_errmsg(errmsg, "nobody answers on %s", path);
		return rv;
	}
	rv = kipc_call(*cl, method, params, result, errmsg);
	if (rv == KE_TIMEOUT) {
		/* Say who did not answer. */
		free(*errmsg);
		set_errmsg(errmsg, "no answer on %s within %.3g s", path,
		    opts->timeout_ms / 1000.0);
	}
	return rv;
}

static void
real_close(kctl_transport *tp)
{
	struct real_transport *r = (struct real_transport *)tp;

	kipc_client_close(r->configd);
	kipc_client_close(r->startd);
	free(r);
}

kctl_transport *
kctl_transport_real(void)
{
	struct real_transport *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->tp.call = real_call;
	r->tp.close = real_close;
	r->tp.arg = r;
	return &r->tp;
}
