#!/usr/bin/env python3
"""kinit_fake.py ROLE [daemon flags...] -- a stand-in kconfigd or kstartd.

kinit's own integration test (kinit_fakes.sh) runs kinit against these so
that kinit's behaviour is pinned down without the real daemons: the flags it
passes, readiness, restart policy, the exit ring, shutdown order.

ROLE configd: logs its argv to $FAKE_DIR/configd.log, writes the readiness
newline, waits for SIGTERM, exits 0.
ROLE startd: logs its argv, fetches kinit.exits into $FAKE_DIR/exits.N.json,
starts one "service" (sleep 1000, own session; pid in $FAKE_DIR/svc.pid,
kept when that process is still alive: re-adoption), writes readiness, calls
kinit.milestone default $FAKE_MILESTONE (online), and on SIGTERM stops the
service, logs the shutdown deadline kinit published ("deadline MS now MS"),
appends "stopped" to its log and exits 0.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

role = sys.argv[1]
args = sys.argv[2:]
fdir = os.environ["FAKE_DIR"]
log = os.path.join(fdir, role + ".log")


def note(line):
    with open(log, "a") as f:
        f.write(line + "\n")


def flag(name):
    return args[args.index(name) + 1] if name in args else None


def kinit_call(method, params):
    path = os.path.join(flag("--run-dir"), "kinit.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(path)
    s.send(json.dumps({"v": 1, "id": 7, "method": method,
                       "params": params}).encode())
    reply = json.loads(s.recv(1 << 20))
    s.close()
    return reply


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[-1][0] != "Z"
    except OSError:
        return False


stop = False
handover = False


def on_term(signum, frame):
    global stop
    stop = True


def on_usr2(signum, frame):
    # proto.h KPROTO_SIG_STARTD_HANDOVER: exit 0, services left running.
    global stop, handover
    stop = handover = True


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGUSR2, on_usr2)
note("start pid=%d sigmask=%s args=%s" % (
    os.getpid(), sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])),
    " ".join(args)))

svc = None
if role == "startd":
    n = len([x for x in os.listdir(fdir) if x.startswith("exits.")])
    with open(os.path.join(fdir, "exits.%d.json" % n), "w") as f:
        json.dump(kinit_call("kinit.exits", {}), f)
    pidfile = os.path.join(fdir, "svc.pid")
    old = int(open(pidfile).read()) if os.path.exists(pidfile) else 0
    if old and alive(old):
        note("adopted %d" % old)
        svc_pid = old
    else:
        svc = subprocess.Popen(["sleep", "1000"], start_new_session=True)
        svc_pid = svc.pid
        with open(pidfile, "w") as f:
            f.write(str(svc_pid))

fd = int(flag("--ready-fd"))
os.write(fd, b"\n")
os.close(fd)

if role == "startd":
    state = os.environ.get("FAKE_MILESTONE", "online")
    note("milestone " + json.dumps(
        kinit_call("kinit.milestone", {"name": "default", "state": state})))

while not stop:
    time.sleep(0.05)

if handover:
    note("handed over")
    sys.exit(0)
if role == "startd":
    # The budget kinit published before signalling us (proto.h,
    # KPROTO_FILE_SHUTDOWN_DEADLINE), next to the time we read it.
    try:
        with open(os.path.join(flag("--run-dir"), "shutdown-deadline")) as f:
            note("deadline %s now %d" % (f.read().strip(),
                                         int(time.time() * 1000)))
    except OSError as e:
        note("deadline none (%s)" % e.strerror)
    try:
        os.kill(svc_pid, signal.SIGTERM)
    except OSError:
        pass
    for _ in range(100):
        if svc is not None and svc.poll() is not None:
            break
        if svc is None and not alive(svc_pid):
            break
        time.sleep(0.02)
note("stopped")
sys.exit(0)
