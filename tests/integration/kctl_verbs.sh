#!/usr/bin/env bash
# it_kctl_verbs: every kctl verb (kctl/verbs.c) against the real stack under
# kinit (a child subreaper here): its human output, its --json output (the
# shapes of DESIGN section 7 and proto.h), exit 0 on success, exit 3 when
# what it names does not exist, and exit 4 for a write as uid 65534 (reads
# must work for that uid).  kctl_verbs_down.sh covers the other documented
# failures: a daemon that is down (5) and one that does not answer (7).
# Every kctl call is bounded (timeout(1) and --timeout); only pids this
# script started are killed.
. "$(dirname "$0")/lib.sh" "$1"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (setpriv, kinit)" >&2; exit 77; }
command -v setpriv >/dev/null && command -v jq >/dev/null &&
    command -v python3 >/dev/null || { echo "SKIP: needs setpriv, jq, python3" >&2; exit 77; }
chmod 0755 "$T"
M=it-kctl-verbs-$$
# kinit first (so that nothing restarts what follows), then its daemons and
# the services, which carry $M in their command lines.
trap 'rc=$?; for p in ${KINIT:-} $(daemons); do kill -KILL "$p" 2>/dev/null; done; kill_marked "$M"; set +e; (exit $rc); cleanup' EXIT

# k WANT ARGS...: kctl ARGS as root, demanding exit code WANT; stdout in
# $T/out, stderr in $T/err.  nobody WANT ARGS...: the same as uid 65534.
k() {
    local want=$1 rc=0; shift
    timeout 30 "$BIN/kctl" --timeout 10 "$@" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -eq "$want" ] || { cat "$T/out" "$T/err" >&2; fail "'kctl $*' exited $rc, want $want"; }
}
nobody() {
    local want=$1 rc=0; shift
    setpriv --reuid=65534 --regid=65534 --clear-groups \
        timeout 30 "$BIN/kctl" --timeout 10 "$@" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -eq "$want" ] || { cat "$T/out" "$T/err" >&2; fail "as uid 65534 'kctl $*' exited $rc, want $want"; }
}
# j EXPR: jq -e EXPR holds on $T/out.  has REGEX: $T/out matches (grep -E).
j() { jq -e "$1" "$T/out" >/dev/null 2>&1 || fail "jq '$1' fails on: $(head -c 2000 "$T/out")"; }
has() { grep -Eq -- "$1" "$T/out" || fail "no /$1/ in: $(head -c 2000 "$T/out")"; }
# refused WANT CODE CMD ARGS...: CMD (k or nobody) with --json exits WANT,
# prints {"error": {"code": CODE, "message"}} and one grammatical error line.
refused() {
    local want=$1 code=$2 who=$3; shift 3
    "$who" "$want" --json "$@"
    j ".error.code == \"$code\" and (.error.message | test(\"^unable to \"))"
    grep -Eq "^kctl: error: unable to [a-z]+.* '.*': " "$T/err" ||
        fail "'kctl $*': error line: $(cat "$T/err")"
    "$who" "$want" "$@"
    [ ! -s "$T/out" ] || fail "'kctl $*' failed but printed: $(cat "$T/out")"
}
daemons() { [ -n "${KINIT:-}" ] && children_of "$KINIT" || true; }

# Every verb of the table has a success case below: a new verb needs one.
for v in $("$BIN/kctl" --json help | jq -r '.verbs[].name'); do
    grep -Eq "(^ *k 0 |^timeout 30 \"\\\$BIN/kctl\" )(--json )?$v( |\$)" "$0" ||
        fail "verb '$v' has no success case in $0"
done

# ---- the services ----------------------------------------------------------------
cat >"$SYSTEMK_MANIFEST_DIR/db.json" <<EOF
{"service": "db", "description": "the database",
 "start": {"exec": ["/bin/sh", "-c", "echo db-says-hello; sleep 1000; : $M"]},
 "properties": {"app": {"port": {"type": "integer", "value": 5432},
                        "password": {"type": "string", "value": "s3cr3t-$M", "secret": true}}}}
EOF
cat >"$SYSTEMK_MANIFEST_DIR/web.json" <<EOF
{"service": "web", "description": "the web server",
 "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M"]},
 "refresh": {"exec": ["/bin/true"]},
 "dependencies": [{"name": "db", "grouping": "require_all", "restart_on": "restart",
                   "services": ["db"]}]}
EOF
cat >"$SYSTEMK_MANIFEST_DIR/off.json" <<EOF
{"service": "off", "description": "disabled at boot",
 "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M"]},
 "instances": {"default": {"enabled": false}}}
EOF
# Never ready: a notify service that sends no READY=1 (for wait's timeout).
cat >"$SYSTEMK_MANIFEST_DIR/slow.json" <<EOF
{"service": "slow", "description": "never ready", "model": "notify",
 "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M"], "timeout_s": 3600}}
EOF
mkdir -p "$T/new"
cat >"$T/new/extra.json" <<EOF
{"service": "extra", "description": "imported by the test",
 "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M"]},
 "instances": {"default": {"enabled": false}}}
EOF
chmod -R a+rX "$T/new"
printf '[Unit]\nDescription=unit %s\n[Service]\nExecStart=/bin/sleep 1000\nNoSuchDirective=1\n' "$M" >"$T/u.service"

"$BIN/kinit" 2>"$T/kinit.console" &
KINIT=$!; track "$KINIT"
wait_until 20 "$BIN/kctl" --timeout 2 wait db --timeout 1 || fail "db never came online"
wait_until 20 "$BIN/kctl" --timeout 2 wait web --timeout 1 || fail "web never came online"
ok "kinit up; db and web online"

# ---- hello, help --------------------------------------------------------------------
k 0 hello
has '^configd +k\.configd +1' ; has '^startd +k\.startd +1'; has '^kinit +kinit +1'
k 0 --json hello
j '.configd.name == "k.configd" and .startd.name == "k.startd" and .kinit.name == "kinit"
   and ([.[].level] | all(. >= 1))'
k 0 help
has '^  list \[-a\]'; has '^exit codes:'
k 0 help plot
has '^usage: kctl \[OPTIONS\] plot'
k 0 --json help
j '(.verbs | length) > 25 and (.verbs | map(.name) | index("plot") != null) and all(.verbs[]; .summary | length > 0)'
k 0 --json help status
j '.verbs == [.verbs[0]] and .verbs[0].name == "status" and .verbs[0].usage == "SVC [-n N]"'
k 2 help nosuchverb
k 2 nosuchverb
ok "hello, help"

# ---- list, status -------------------------------------------------------------------
k 0 list
head -1 "$T/out" | grep -Eq '^STATE +NEXT +SINCE +PID +FMRI +DESCRIPTION$' || fail "list header: $(head -1 "$T/out")"
has '^online +- +[0-9:]+ +[0-9]+ +svc:/db:default +the database$'
grep -q 'svc:/off:default' "$T/out" && fail "list shows a disabled instance without -a"
has '^offline\* +online +.*svc:/slow:default'
k 0 list -a --json
j 'type == "array" and length == 4 and (map(.fmri) == (map(.fmri) | sort))'
j 'all(.[]; (keys - ["fmri","service","instance","state","next_state","since","pid","description"]) == []
           and (.fmri | test("^svc:/[a-z]+:default$")) and .instance == "default"
           and (.since | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+)$"))
           and ((.pid == null) or (.pid | type == "number")))'
j '.[] | select(.fmri == "svc:/off:default") | .state == "disabled" and .next_state == null and .pid == null'
j '.[] | select(.fmri == "svc:/slow:default") | .state == "offline" and .next_state == "online"'
k 0 list --json
j 'map(.fmri) == ["svc:/db:default", "svc:/slow:default", "svc:/web:default"]'
k 0 status db
has '^fmri +svc:/db:default$'; has '^state +online$'; has '^description +the database$'
has '^pid +[0-9]+$'; has "^$SYSTEMK_LOG_DIR/db:default.log:$"; has '^db-says-hello$'
k 0 status svc:/web:default
has '^dependency +require_all/restart svc:/db:default \(satisfied\)$'
k 0 --json status web:default -n 3
j '.fmri == "svc:/web:default" and .service == "web" and .instance == "default"
   and .state == "online" and .next_state == null and (.pid | type == "number")
   and .description == "the web server" and (.since | type == "string")
   and (.log_tail | type == "array" and length == 3)
   and .dependencies[0].services == ["svc:/db:default"]'
k 0 status db -n 0 --json
j '.log_tail == []'
refused 3 not_found k status nosuch
ok "list (sorted, -a), status with the log's tail"

# ---- deps, dependents, explain, graph, plot --------------------------------------
k 0 deps web
has '^GROUP +GROUPING +RESTART_ON +SATISFIED +STATE +FMRI$'
has '^db +require_all +restart +satisfied +online +svc:/db:default$'
k 0 deps web --json
j '.fmri == "svc:/web:default" and .dependencies[0].name == "db"
   and .dependencies[0].grouping == "require_all" and .dependencies[0].services[0].fmri == "svc:/db:default"
   and .dependencies[0].services[0].state == "online"'
k 0 dependents db
has '^online +db +require_all +restart +svc:/web:default$'
k 0 --json dependents db
j '.fmri == "svc:/db:default" and (.dependents | map(.fmri)) == ["svc:/web:default"]'
k 0 explain
has '^svc:/slow:default \(offline\*\)$'; has '^  reason: '
k 0 explain db
has '^svc:/db:default is online$'
k 0 --json explain
j 'type == "array" and (map(.fmri) | index("svc:/slow:default") != null)
   and all(.[]; has("reason") and has("cause") and has("blocks"))'
k 0 graph
has '^digraph systemk \{$'; has '"svc:/web:default" -> "svc:/db:default" \[label="require_all"'
k 0 graph --json
j '(.nodes | map(.fmri) | index("svc:/db:default") != null)
   and (.edges | any(.from == "svc:/web:default" and .to == "svc:/db:default"))'
k 0 plot
python3 - "$T/out" <<'PY' || fail "plot: not the SVG wanted: $(head -c 1500 "$T/out")"
import sys, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
bars = {g.get("data-fmri"): g for g in root.iter("{http://www.w3.org/2000/svg}g")
        if g.get("class") == "svc"}
assert set(bars) == {"svc:/db:default", "svc:/web:default", "svc:/slow:default",
                     "svc:/off:default"}, bars.keys()
def segs(f):
    return {r.get("class"): r for r in bars[f].findall("s:rect", ns)}
for f in ("svc:/db:default", "svc:/web:default"):
    assert set(segs(f)) == {"wait", "start", "online"}, (f, segs(f).keys())
assert set(segs("svc:/slow:default")) == {"wait", "start"}, segs("svc:/slow:default").keys()
assert set(segs("svc:/off:default")) == set()
# web waits for db: its start is not left of db's online.
x = lambda f, c: float(segs(f)[c].get("x"))
assert x("svc:/web:default", "start") >= x("svc:/db:default", "online"), "web before db"
PY
k 0 plot --json
j '(.instances | map(.fmri)) == ["svc:/db:default","svc:/off:default","svc:/slow:default","svc:/web:default"]'
j '.instances[] | select(.fmri == "svc:/web:default") | (.wait <= .start and .start <= .online)'
j '.instances[] | select(.fmri == "svc:/slow:default") | (.start | type == "string") and .online == null'
j '.instances[] | select(.fmri == "svc:/off:default") | .wait == null and .start == null and .online == null'
k 0 plot -o "$T/boot.svg"
has "^wrote $T/boot.svg: 4 instances$"
python3 -c 'import sys, xml.etree.ElementTree as ET; ET.parse(sys.argv[1])' "$T/boot.svg" || fail "plot -o: bad XML"
for v in deps dependents explain; do refused 3 not_found k "$v" nosuch; done
ok "deps, dependents, explain, graph (DOT), plot (SVG)"

# ---- log, wait, watch -----------------------------------------------------------------
k 0 log db -n 50
has '^db-says-hello$'
k 0 --json log db -n 2
j '.fmri == "svc:/db:default" and (.path | endswith("/db:default.log")) and (.lines | length == 2)'
refused 3 not_found k log nosuch
k 0 wait db
[ ! -s "$T/out" ] || fail "wait printed: $(cat "$T/out")"
k 0 --json wait web --timeout 30
j '.fmri == "svc:/web:default" and .outcome == "reached" and .state == "online"'
k 7 wait slow --timeout 1
grep -q "^kctl: error: unable to wait for 'svc:/slow:default' to be online: timed out$" "$T/err" ||
    fail "wait timeout: $(cat "$T/err")"
k 7 --json wait slow --timeout 0.5
j '.outcome == "timeout" and .fmri == "svc:/slow:default"'
# A global --timeout may stand before the verb and then bounds the wait too
# (it used to wait for ever, in chunks as long as the transport's timeout).
for t in 1 2 3; do
    rc=0; timeout 30 "$BIN/kctl" --timeout "$t" wait slow >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" = 7 ] || fail "'kctl --timeout $t wait slow' exited $rc, want 7: $(cat "$T/err")"
done
rc=0; timeout 30 "$BIN/kctl" enable -s slow --timeout 1 >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 7 ] || fail "'kctl enable -s slow --timeout 1' exited $rc, want 7: $(cat "$T/err")"
k 8 wait off --timeout 30
grep -q "kctl: hint: run 'kctl explain svc:/off:default'" "$T/err" || fail "wait 8: $(cat "$T/err")"
refused 3 not_found k wait nosuch --timeout 5
# watch: a line per change while it runs; --json one object per line.
timeout 30 "$BIN/kctl" watch >"$T/watch.out" 2>&1 & W1=$!; track "$W1"
timeout 30 "$BIN/kctl" --json watch >"$T/watch.json" 2>&1 & W2=$!; track "$W2"
# A watcher sees only changes after its first answer, which cannot be
# observed from here: change web until both have seen it (bounded).
seen() { grep -q 'svc:/web:default  online -> degraded' "$T/watch.out" &&
         grep -q '"to":"degraded"' "$T/watch.json"; }
for i in 1 2 3 4 5 6 7 8 9 10; do
    k 0 mark degraded web
    wait_until 3 seen && break
    k 0 clear web; k 0 wait web --timeout 30
done
seen || fail "watch saw no change: $(cat "$T/watch.out" "$T/watch.json")"
kill "$W1" "$W2" 2>/dev/null; wait "$W1" "$W2" 2>/dev/null || true
grep '"to":"degraded"' "$T/watch.json" | head -1 | jq -e '.fmri == "svc:/web:default" and .from == "online"
    and (.seq | type == "number") and (.time | type == "string")' >/dev/null || fail "watch --json: $(cat "$T/watch.json")"
ok "log, wait (0, 7, 8, 3), watch"

# ---- mark, clear, restart, refresh, enable, disable ---------------------------------
k 0 --json clear web
j '.cleared == "svc:/web:default"'
wait_until 20 is_state web online || fail "clear: web is $(state_of web)"
k 0 --json mark maintenance web
j '.fmri == "svc:/web:default" and .marked == "maintenance"'
wait_until 20 is_state web maintenance || fail "mark: web is $(state_of web)"
k 8 --json enable -s web
j '.enabled == ["svc:/web:default"] and .waited[0].fmri == "svc:/web:default" and .waited[0].outcome == "cannot"'
grep -q "^kctl: error: unable to wait for 'svc:/web:default' to be online: " "$T/err" || fail "enable -s 8: $(cat "$T/err")"
# restart of an instance that does not run: a failure (1, busy), not a
# conflict (6 is a generation that moved), with what to do instead.
refused 1 busy k restart web
grep -q "^kctl: hint: 'kctl status svc:/web:default' shows its state; 'kctl clear'" "$T/err" ||
    fail "restart in maintenance: $(cat "$T/err")"
k 0 clear web
[ ! -s "$T/out" ] || fail "clear printed: $(cat "$T/out")"
k 0 wait web --timeout 30
k 0 mark degraded web
wait_until 20 is_state web degraded || fail "mark degraded: web is $(state_of web)"
k 0 clear svc:/web:default
k 0 wait web --timeout 30
k 2 mark broken web
old=$(pid_of db)
k 0 --json restart db
j '.restarted == "svc:/db:default"'
k 0 wait db --timeout 30
[ "$(pid_of db)" != "$old" ] || fail "restart: db kept pid $old"
k 0 wait web --timeout 30
k 0 restart web
k 0 --json refresh web
j '.fmri == "svc:/web:default"'
k 0 refresh db
k 0 enable -s off
[ ! -s "$T/out" ] || fail "enable printed: $(cat "$T/out")"
is_state off online || fail "enable -s: off is $(state_of off)"
k 0 --json disable -s off
j '.disabled == ["svc:/off:default"] and .temporary == false and .waited[0].outcome == "reached"'
is_state off disabled || fail "disable -s: off is $(state_of off)"
k 0 --json enable -t off
j '.enabled == ["svc:/off:default"] and .temporary == true'
k 0 wait off --timeout 30
k 0 disable -t off
for v in restart refresh clear enable disable; do refused 3 not_found k "$v" nosuch; done
refused 3 not_found k mark degraded nosuch
ok "mark, clear, restart, refresh, enable/disable (-s, -t)"

# ---- repository verbs ---------------------------------------------------------------------
k 0 import "$T/new/extra.json"
has '^imported 1 service: extra$'
k 0 --json import --dry-run "$T/new"
j '.services == ["extra"]'
k 0 --json import "$T/new"
j '.services == ["extra"] and (.instances | type == "array")'
k 0 validate "$T/new/extra.json"
has '^valid: 1 service: extra$'
k 0 --json validate "$T/new"
j '.services == ["extra"] and .checked_by == "k.configd"'
k 0 import-unit "$T/u.service"
jq -e '.service == "u" and .start.exec == ["/bin/sleep", "1000"]' "$T/out" >/dev/null || fail "import-unit: $(cat "$T/out")"
grep -q "NoSuchDirective=1" "$T/err" || fail "import-unit names no untranslated directive: $(cat "$T/err")"
k 0 --json import-unit "$T/u.service"
j '.manifest.service == "u" and (.notes | any(.directive == "NoSuchDirective=1" and .translated == false))'
for v in import validate import-unit; do refused 3 not_found k "$v" "$T/nosuch.json"; done
k 0 get db
has '^app/port +integer +5432$'; has '^start/exec +string +'
k 0 get db/app/port
[ "$(cat "$T/out")" = 5432 ] || fail "get db/app/port: $(cat "$T/out")"
k 0 --json get db/app
j '.fmri == "svc:/db:default" and (.generation | type == "number")
   and .property_groups.app.port.type == "integer" and .property_groups.app.port.values == [5432]'
k 0 --json get db --running
j '.property_groups.start.exec.type == "string"'
k 0 set db app/port 6543
[ ! -s "$T/out" ] || fail "set printed: $(cat "$T/out")"
k 0 --json set db app/note string "a note"
j '.fmri == "svc:/db:default" and (.generation | type == "number") and (.generations | type == "object")'
k 0 get db/app/port
[ "$(cat "$T/out")" = 6543 ] || fail "set: port is $(cat "$T/out")"
k 10 set db app/port not-a-number
k 0 --json delprop db app/note
j '.fmri == "svc:/db:default"'
k 3 get db/app/note
k 0 --json delcust db
j '.fmri == "svc:/db:default"'
k 0 get db/app/port
[ "$(cat "$T/out")" = 5432 ] || fail "delcust: port is $(cat "$T/out")"
k 0 snapshot take db before
[ ! -s "$T/out" ] || fail "snapshot take printed: $(cat "$T/out")"
k 0 --json snapshot take db before2
j '.fmri == "svc:/db:default" and .snapshot == "before2"'
k 0 snapshot list db
has '^before$'; has '^initial$'; has '^running$'
k 0 --json snapshot list db
j '.fmri == "svc:/db:default" and (.snapshots | index("before") != null)'
k 0 set db app/port 7000
k 0 --json revert db before
j '.fmri == "svc:/db:default" and (.generation | type == "number")'
k 0 get db/app/port
[ "$(cat "$T/out")" = 5432 ] || fail "revert: port is $(cat "$T/out")"
k 2 snapshot frob db
k 0 export db
jq -e '.service == "db" and (.property_groups | type == "object")' "$T/out" >/dev/null || fail "export db: $(head -c 500 "$T/out")"
grep -q "s3cr3t-$M" "$T/out" && fail "export shows a secret"
k 0 --json export
j '(.services | map(.service) | sort) == ["db","extra","off","slow","web"] and (.secrets_omitted | type == "number")'
k 0 export --include-secrets db
grep -q "s3cr3t-$M" "$T/out" || fail "export --include-secrets hides the secret"
k 0 repo check
has '^clean: [0-9]+ keys$'
k 0 --json repo check
j '.clean == true and (.keys | type == "number") and .problems == []'
k 0 repo backup
has '^backed up to /.* \([0-9]+ bytes\)$'
k 0 --json repo backup
j '(.path | startswith("/")) and (.bytes | type == "number")'
k 2 repo frob
refused 3 not_found k get nosuch
refused 3 not_found k get db/nopg
refused 3 not_found k get db/app/noprop
refused 3 not_found k export nosuch
refused 3 not_found k set nosuch app/x string v
refused 3 not_found k delprop nosuch app/x
refused 3 not_found k delprop db nopg/x
refused 3 not_found k delcust nosuch
refused 3 not_found k snapshot list nosuch
refused 3 not_found k snapshot take nosuch s
refused 3 not_found k revert nosuch before
refused 3 not_found k revert db nosnap
ok "import, validate, import-unit, get, set, delprop, delcust, snapshot, revert, export, repo"

# ---- uid 65534: reads work, writes are denied (4) ---------------------------------------
for v in "list" "list -a" "status db" "deps web" "dependents db" "explain" "graph" "plot"
do nobody 0 $v; done
nobody 0 --json status db
j '.fmri == "svc:/db:default" and .log_tail == null'
grep -q "kctl: warning: unable to read '$SYSTEMK_LOG_DIR/db:default.log'" "$T/err" && fail "json status warned"
nobody 0 status db
grep -q "^kctl: warning: unable to read '$SYSTEMK_LOG_DIR/db:default.log': permission denied$" "$T/err" ||
    fail "status as nobody: no warning about the log: $(cat "$T/err")"
for v in "get db" "export" "snapshot list db" "repo check" "validate $T/new" "wait db --timeout 5" "hello configd startd"
do nobody 0 $v; done
nobody 0 --json get db
grep -q "s3cr3t" "$T/out" "$T/err" && fail "a secret reached uid 65534"
refused 4 denied nobody get db/app/password
grep -q "s3cr3t" "$T/out" "$T/err" && fail "a secret reached uid 65534"
for v in "enable off" "disable db" "restart db" "refresh db" "clear db" "mark degraded db" \
         "import $T/new" "set db app/port 1" "delprop db app/port" "delcust db" \
         "snapshot take db x" "revert db before" "repo backup" "export --include-secrets" \
         "startd status" "startd restart" "shutdown" "hello kinit"
do refused 4 denied nobody $v; done
refused 4 denied nobody log db
grep -q "hint: this needs root or membership of the group named by SYSTEMK_ADMIN_GROUP" "$T/err" ||
    fail "no hint on denied: $(cat "$T/err")"
is_state db online || fail "a denied request changed db: $(state_of db)"
ok "uid 65534: every read works, every write is denied (exit 4)"

# ---- kinit's verbs last: startd status|restart, shutdown ------------------------------------
k 0 startd status
has '^kstartd running, pid [0-9]+, 0 restarts$'
k 0 --json startd status
j '.running == true and (.pid | type == "number") and .restarts == 0'
old=$(pid_of db)
# A running kstartd is replaced: it hands over (writes its states, exits 0)
# and the next one adopts the services; kctl returns once it answers.
for form in human json; do
    k 0 --json startd status
    sp=$(jq -r .pid "$T/out")
    if [ "$form" = human ]; then
        k 0 startd restart
        has '^kstartd restarted, pid [0-9]+$'
    else
        k 0 --json startd restart
        j "(.pid | type == \"number\") and .pid != $sp and .replaced == $sp and .running == true"
    fi
    ! kill -0 "$sp" 2>/dev/null || fail "the replaced kstartd $sp still runs"
    k 0 list   # the new kstartd answers at once
    [ "$(pid_of db)" = "$old" ] || fail "startd restart of a running kstartd restarted db"
done
k 0 --json startd status
j '.running == true and .restarts == 2'
for form in human json; do
    k 0 --json startd status
    sp=$(jq -r .pid "$T/out")
    kill -KILL "$sp"
    wait_until 20 sh -c "'$BIN/kctl' --json startd status | jq -e '.running == false' >/dev/null" ||
        fail "kinit did not notice kstartd's death"
    k 0 startd status
    has '^kstartd not running, [0-9]+ restarts$'
    if [ "$form" = human ]; then
        k 0 startd restart
        has '^kstartd restarted, pid [0-9]+$'
    else
        k 0 --json startd restart
        j '(.pid | type == "number")'
    fi
    wait_until 20 "$BIN/kctl" --timeout 2 wait db --timeout 1 || fail "after startd restart"
    [ "$(pid_of db)" = "$old" ] || fail "startd restart restarted db"
done
k 2 startd frob
k 0 --json shutdown
j 'type == "object"'
wait_until 30 sh -c "! kill -0 $KINIT 2>/dev/null" || fail "kinit did not exit after shutdown"
rc=0; wait "$KINIT" || rc=$?
[ "$rc" -eq 0 ] || fail "kinit exited $rc after kctl shutdown"
KINIT=
ok "startd status, startd restart (services kept), shutdown (kinit exits 0)"
