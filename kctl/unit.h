/*
 * unit.h -- the systemd unit translator behind `kctl import-unit` (pure:
 * no I/O but through the reader the caller passes for EnvironmentFile=).
 *
 * A .service file becomes one manifest (DESIGN section 5):
 *
 *   Description                    description
 *   Type                           model: simple, exec, idle -> child;
 *                                  forking (+ PIDFile -> pidfile);
 *                                  oneshot -> transient; notify -> notify
 *   ExecStart                      start.exec (the first line; the others
 *                                  and ExecStartPre/Post are reported)
 *   ExecStop, ExecReload           stop.exec, refresh.exec; a line that only
 *                                  sends a signal to $MAINPID (`kill -HUP
 *                                  $MAINPID`) becomes stop/refresh.signal
 *   KillSignal, TimeoutStartSec,   stop.signal, start.timeout_s,
 *   TimeoutStopSec, TimeoutSec     stop.timeout_s
 *   Restart, RestartSec            restart.policy (absent: never, as in
 *                                  systemd), restart.delay_ms
 *   StartLimitBurst,               restart.burst, restart.window_s
 *   StartLimitIntervalSec
 *   User, Group, WorkingDirectory, context.user, .group, .working_directory,
 *   UMask, LimitNOFILE             .umask, .limits.nofile
 *   Environment, EnvironmentFile   context.environment; the files are read
 *                                  now, through the reader
 *   Requires, Wants, After         dependencies "requires" (require_all),
 *                                  "wants" (optional_all) and "after"
 *                                  (optional_all: order after a unit only if
 *                                  it is there, which is what After= means)
 *   Conflicts                      dependency "conflicts" (exclude_all)
 *
 * Exec lines: the prefixes - @ + ! !! : are stripped (@ drops the argv[0]
 * override); words are split and unquoted as systemd does; "$VAR" as a word
 * of its own expands to the variable's words and "${VAR}" in place, from
 * Environment= and the environment files; $MAINPID becomes ${MAINPID};
 * %i %I become ${INSTANCE}, %n %N %p %P the unit's names, %% a %; every
 * other literal '$' is written "$$" (DESIGN section 7).  Nothing is wrapped
 * in a shell: a unit that runs `/bin/sh -c ...` keeps it, and a note says so.
 *
 * Units are named by the file: nginx.service -> service "nginx";
 * getty@.service -> "getty" with ${INSTANCE}; foo@bar.service -> "foo",
 * instance "bar".  Dependencies on systemd's own targets (network.target,
 * multi-user.target, ...) and on non-service units are reported and dropped.
 */
#ifndef SYSTEMK_KCTL_UNIT_H
#define SYSTEMK_KCTL_UNIT_H

#include <stddef.h>

#include <cJSON.h>

/* Returns the content of file path (malloc'd, NUL-terminated) or NULL. */
typedef char *kctl_unit_reader(const char *path, void *arg);

/*
 * Translates text, the content of the unit file named name (its base name,
 * "nginx.service").  On success returns 0 with the manifest in *out (caller
 * frees) and appends to notes one object per directive or part not (fully)
 * translated:
 *     {"line": N, "directive": "PrivateTmp=yes", "cause": "...",
 *      "translated": false}
 * ("translated": true marks a remark on something that was translated, such
 * as a shell command kept as it is).  read may be NULL (environment files
 * are then reported as unread).  Returns -1 with the reason in why when
 * there is nothing to translate: not a .service name, a name SystemK cannot
 * use, no [Service] section.
 */
int kctl_unit_translate(const char *text, const char *name,
                        kctl_unit_reader *read, void *arg, cJSON **out,
                        cJSON *notes, char *why, size_t whylen);

/*
 * Parses a systemd time span ("90", "5s", "100ms", "1min 30s", "2h") into
 * milliseconds.  Returns 0, 1 for "infinity", or -1 if malformed.
 */
int kctl_unit_timespan(const char *s, long long *ms);

#endif /* SYSTEMK_KCTL_UNIT_H */
