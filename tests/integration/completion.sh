#!/usr/bin/env bash
# contrib/bash-completion/kctl: sourced into this shell, it completes a
# partial verb from kctl's verb table, a verb's own options, and service
# names from a running kstartd.
. "$(dirname "$0")/lib.sh" "$1"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/contrib/bash-completion/kctl"
complete -p kctl | grep -q -- '-F _kctl' || fail "no 'complete -F _kctl kctl'"

# complete WORDS...: COMPREPLY for the last word, one a line, sorted.
complete_words() {
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=()
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _kctl
    printf '%s\n' "${COMPREPLY[@]}" | sort
}

got=$(complete_words "$BIN/kctl" st | tr '\n' ' ')
[ "$got" = "startd status " ] || fail "'kctl st<TAB>' gave '$got', want 'startd status '"
got=$(complete_words "$BIN/kctl" --json di | tr '\n' ' ')
[ "$got" = "disable " ] || fail "'kctl --json di<TAB>' gave '$got'"
got=$(complete_words "$BIN/kctl" "" | wc -l)
want=$("$BIN/kctl" --help | sed -n '/^verbs:/,/^$/s/^  \([a-z][a-z-]*\).*/\1/p' | wc -l)
[ "$got" -eq "$want" ] || fail "'kctl <TAB>' offered $got words, the table has $want verbs"
ok "partial verbs complete from the verb table"

got=$(complete_words "$BIN/kctl" list - | tr '\n' ' ')
case " $got " in *" -a "*) ;; *) fail "'kctl list -<TAB>' lacks -a: '$got'";; esac
case " $got " in *" --json "*) ;; *) fail "'kctl list -<TAB>' lacks --json: '$got'";; esac
got=$(complete_words "$BIN/kctl" startd "" | tr '\n' ' ')
[ "$got" = "restart status " ] || fail "'kctl startd <TAB>' gave '$got'"
got=$(complete_words "$BIN/kctl" plot - | tr '\n' ' ')
case " $got " in *" -o "*) ;; *) fail "'kctl plot -<TAB>' lacks -o: '$got'";; esac
touch "$T/boot-plot.svg"
got=$(complete_words "$BIN/kctl" plot -o "$T/boot-p" | tr '\n' ' ')
[ "$got" = "$T/boot-plot.svg " ] || fail "'kctl plot -o FILE<TAB>' gave '$got'"
got=$(complete_words "$BIN/kctl" status - | tr '\n' ' ')
case " $got " in *" -n "*) ;; *) fail "'kctl status -<TAB>' lacks -n: '$got'";; esac
ok "verb options and sub-verbs complete"

mkdir -p "$T/m"
for s in sleeper sloth; do
    cat >"$T/m/$s.json" <<JSON
{ "service": "$s", "start": { "exec": ["/bin/sleep", "1000"] } }
JSON
done
start_configd
start_startd
timeout 20 "$BIN/kctl" --timeout 5 import "$T/m" >/dev/null || fail "import failed"
wait_until 10 is_state sleeper online || fail "sleeper not online"
track "$(pid_of sleeper)"
wait_until 10 is_state sloth online || fail "sloth not online"
track "$(pid_of sloth)"
got=$(complete_words "$BIN/kctl" status sl | tr '\n' ' ')
[ "$got" = "sleeper sleeper:default sloth sloth:default " ] \
    || fail "'kctl status sl<TAB>' gave '$got'"
got=$(complete_words "$BIN/kctl" enable svc:/slo | tr '\n' ' ')
[ "$got" = "svc:/sloth:default " ] || fail "'kctl enable svc:/slo<TAB>' gave '$got'"
ok "service names complete from kctl list -a --json"
