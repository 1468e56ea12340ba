/*
 * main.c -- kctl, SystemK's command line (DESIGN section 6).
 *
 * Theory of operation.  kctl is a client only: one command line, a few
 * requests, one exit code.
 *
 *   kctl ──SP req/rep──▶ kconfigd  RUN_DIR/configd.sock  import, get, export
 *   kctl ──SP req/rep──▶ kstartd   RUN_DIR/startd.sock   list, status, enable
 *   kctl ──AF_UNIX──────▶ kinit     RUN_DIR/kinit.sock    startd, shutdown
 *
 * The command line is parsed against the one verb table (verbs.c); global
 * options may stand before or after the verb.  The verb's handler (cmd_*.c)
 * builds params, calls through a transport seam (kctl_transport), and prints
 * a human table or, with --json, the daemon's objects as they came.
 *
 * Error policy: every failure is one line on stderr in the project grammar,
 * "kctl: error: unable to VERB 'OBJECT': CAUSE", usually followed by a
 * "kctl: hint:" line saying what to do next; with --json stdout also gets
 * {"error": {"code", "message"}}.  The exit code is the interface
 * (proto.h enum kctl_exit): daemon error codes map through kproto_err_exit,
 * an unreachable daemon is 5, a command-line error 2, bad input 10.
 *
 * All of this but the real transport lives in kctl_core, so that unit tests
 * run whole command lines against a fake daemon.
 */
#include "kctl.h"

#include <stdio.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	kctl_transport *tp = kctl_transport_real();
	int             rv;

	if (tp == NULL) {
		fprintf(stderr, "kctl: error: unable to start 'kctl': out of memory\n");
		return KCTL_EXIT_FAILURE;
	}
	rv = kctl_run(argc, argv, tp, stdout, stderr);
	tp->close(tp);
	return rv;
}
