#!/usr/bin/env bash
# kctl import-unit on the unit files Debian ships in cron, nginx-common,
# openssh-server, redis-server and rsyslog (taken with apt-get download and
# dpkg-deb -x, never installed): each translation must pass `kctl validate`
# against a real kconfigd, and name what it dropped on stderr.  Then
# `kctl graph` on a small imported repository.  The .debs are cached in the
# build directory; with no cache and no network the test is skipped (77).
. "$(dirname "$0")/lib.sh" "$1"
CACHE=$(cd "$BIN/.." && pwd)/debian-units
PKGS=(cron nginx-common openssh-server redis-server rsyslog)
UNITS=(cron nginx ssh redis-server rsyslog)

k() { timeout 20 "$BIN/kctl" --timeout 5 "$@"; }
expect_rc() { # WANT CMD...: stdout to $T/out, stderr to $T/err
    local want=$1 rc=0; shift
    "$@" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -eq "$want" ] || { cat "$T/out" "$T/err" >&2; fail "'$*' exited $rc, want $want"; }
}

# --- the unit files, from the Debian packages ---------------------------------
fetch() {
    mkdir -p "$CACHE/debs" "$CACHE/root"
    (cd "$CACHE/debs" && apt-get download "${PKGS[@]}") >"$T/apt.log" 2>&1 || return 1
    for d in "$CACHE"/debs/*.deb; do dpkg-deb -x "$d" "$CACHE/root" || return 1; done
}
have_units() {
    for u in "${UNITS[@]}"; do [ -f "$CACHE/root/lib/systemd/system/$u.service" ] || return 1; done
}
if ! have_units; then
    if ! fetch || ! have_units; then
        echo "SKIP: cannot apt-get download ${PKGS[*]}: $(tail -n 3 "$T/apt.log")" >&2
        exit 77
    fi
fi
ok "unit files of ${PKGS[*]} extracted with dpkg-deb -x"

# --- each translates, and the result validates ------------------------------
start_configd
mkdir -p "$T/m"
for u in "${UNITS[@]}"; do
    expect_rc 0 k import-unit "$CACHE/root/lib/systemd/system/$u.service"
    cp "$T/out" "$T/m/$u.json"
    cp "$T/err" "$T/$u.notes"
    jq -e --arg s "$u" '.service == $s and (.start.exec | length) >= 1' "$T/m/$u.json" \
        >/dev/null || fail "$u: not a manifest: $(cat "$T/m/$u.json")"
    ! grep -v -e "^kctl: warning: unable to translate '$u.service:[0-9]*: " \
        -e "^kctl: note: '$u.service:" "$T/err" \
        || fail "$u: stderr has lines other than notes"
    expect_rc 0 k validate "$T/m/$u.json"
done
expect_rc 0 k validate "$T/m"
ok "all five translations pass kctl validate against kconfigd, alone and together"

jq -e '.start.exec == ["/usr/sbin/cron", "-f"] and .restart.policy == "on-failure"' \
    "$T/m/cron.json" >/dev/null || fail "cron: $(cat "$T/m/cron.json")"
grep -q "'cron.service:[0-9]*: KillMode=process'" "$T/cron.notes" || fail "cron notes: $(cat "$T/cron.notes")"
jq -e '.model == "forking" and .pidfile == "/run/nginx.pid" and .stop.timeout_s == 5
       and .start.exec == ["/usr/sbin/nginx", "-g", "daemon on; master_process on;"]
       and .refresh.exec[-2:] == ["-s", "reload"]' "$T/m/nginx.json" >/dev/null \
    || fail "nginx: $(cat "$T/m/nginx.json")"
grep -q "'nginx.service:[0-9]*: ExecStartPre=" "$T/nginx.notes" || fail "nginx notes: $(cat "$T/nginx.notes")"
jq -e '.model == "notify" and .refresh == {"signal": "HUP"} and .start.exec[0] == "/usr/sbin/sshd"' \
    "$T/m/ssh.json" >/dev/null || fail "ssh: $(cat "$T/m/ssh.json")"
jq -e '.context.user == "redis" and .context.group == "redis" and .context.umask == "007"
       and .context.limits.nofile == 65535 and .restart.policy == "always"' \
    "$T/m/redis-server.json" >/dev/null || fail "redis: $(cat "$T/m/redis-server.json")"
grep -q "'redis-server.service:[0-9]*: PrivateTmp=true': no SystemK equivalent" \
    "$T/redis-server.notes" || fail "redis notes: $(cat "$T/redis-server.notes")"
jq -e '.model == "notify" and .context.limits.nofile == 16384' "$T/m/rsyslog.json" \
    >/dev/null || fail "rsyslog: $(cat "$T/m/rsyslog.json")"
grep -q "'rsyslog.service:[0-9]*: Requires=syslog.socket': not a service" "$T/rsyslog.notes" \
    || fail "rsyslog notes: $(cat "$T/rsyslog.notes")"
ok "the translations carry exec, model, pidfile, signals, user, limits; drops are named"

expect_rc 0 k --json import-unit "$CACHE/root/lib/systemd/system/ssh.service"
jq -e '.manifest.service == "ssh" and (.notes | map(select(.directive == "KillMode=process")) | length) == 1' \
    "$T/out" >/dev/null || fail "import-unit --json: $(cat "$T/out")"
expect_rc 3 k import-unit "$T/nosuch.service"
grep -q "^kctl: error: unable to translate '$T/nosuch.service': " "$T/err" || fail "missing file: $(cat "$T/err")"
printf '[Socket]\nListenStream=22\n' >"$T/ssh.socket"
expect_rc 10 k import-unit "$T/ssh.socket"
grep -q "not a .service unit" "$T/err" || fail "a socket unit: $(cat "$T/err")"
ok "import-unit --json; exit 3 for a missing file, 10 for a non-service unit"

# --- kctl graph over what was imported ------------------------------------------
cat >"$T/g.json" <<'JSON'
[
  { "service": "db", "start": { "exec": ["/bin/sleep", "1000"] },
    "instances": { "default": { "enabled": false } } },
  { "service": "app", "start": { "exec": ["/bin/sleep", "1000"] },
    "dependencies": [
      { "name": "db", "grouping": "require_all", "restart_on": "restart", "services": ["db"] },
      { "name": "cache", "grouping": "optional_all", "services": ["svc:/cache:default"] } ],
    "instances": { "default": { "enabled": false } } }
]
JSON
expect_rc 0 k import "$T/g.json"
expect_rc 0 k graph
head -n 1 "$T/out" | grep -qx 'digraph systemk {' || fail "graph: $(cat "$T/out")"
grep -qF '"svc:/app:default" -> "svc:/db:default" [label="require_all"];' "$T/out" \
    || fail "graph lacks app -> db: $(cat "$T/out")"
grep -qF '"svc:/app:default" -> "svc:/cache:default" [label="optional_all", style=dashed];' "$T/out" \
    || fail "graph lacks app -> cache: $(cat "$T/out")"
grep -qF '"svc:/cache:default" [style=dotted];' "$T/out" || fail "graph: cache not dotted"
tail -n 1 "$T/out" | grep -qx '}' || fail "graph does not end the digraph"
if command -v dot >/dev/null; then dot -Tsvg "$T/out" >/dev/null || fail "dot refuses the graph"; fi
expect_rc 0 k graph --json
jq -e '(.edges | map(select(.from == "svc:/app:default" and .to == "svc:/db:default"
        and .grouping == "require_all" and .restart_on == "restart")) | length) == 1
       and (.nodes | map(.fmri) | index("svc:/db:default")) != null' "$T/out" >/dev/null \
    || fail "graph --json: $(cat "$T/out")"
ok "graph: DOT and --json edges from the running snapshots"
kill -TERM "$CONFIGD"; wait "$CONFIGD" 2>/dev/null || true
expect_rc 5 k graph
ok "graph with kconfigd down exits 5"
