/*
 * log.c -- one message grammar for every SystemK program:
 *
 *   prog: severity: unable to VERB 'OBJECT': CAUSE
 *
 * Lines go to stderr, which is the console (or the container's stdout) for
 * kinit and the daemons.  One write(2) per line so that concurrent writers do
 * not interleave within a line.
 */
#include "kipc.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *log_prog = "systemk";

static const char *const sev_names[] = { "error", "warning", "info", "debug" };

void
kipc_log_init(const char *prog)
{
	log_prog = prog;
}

void
klog(int sev, const char *fmt, ...)
{
	char    line[1024];
	int     n;
	va_list ap;

	if (sev < KLOG_ERR || sev > KLOG_DEBUG)
		sev = KLOG_ERR;
	n = snprintf(line, sizeof(line), "%s: %s: ", log_prog, sev_names[sev]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	n = (int)strnlen(line, sizeof(line) - 2);
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}
