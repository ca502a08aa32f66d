#!/usr/bin/env python3
"""One established TCP connection, probed all along (tests/netns/quarantine.sh, grant.sh).

  steady.py serve ADDR PORT            echo server (every connection, a thread each)
  steady.py probe ADDR PORT LOG SECS   connect once, then every 0.1 s send a byte and wait
                                       0.3 s for its echo; append "UNIXTIME ok|fail" to LOG
  steady.py count LOG FROM [TO]        "OK FAIL": the probes between FROM and TO (unix times)
  steady.py connect ADDR PORT          a new connection: exit 0 when a byte makes the round
                                       trip within 1 s, else 1

A probe that fails is a packet of the established connection the datapath
dropped (no RST comes back: the connection stays open, its bytes queued).
"""
import socket
import sys
import threading
import time


def serve(addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)

    def echo(c):
        with c:
            while True:
                try:
                    b = c.recv(4096)
                except OSError:
                    return
                if not b:
                    return
                c.sendall(b)

    while True:
        c, _ = s.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()


def probe(addr, port, log, secs):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect((addr, port))
    end = time.time() + secs
    with open(log, "a", buffering=1) as out:
        out.write("%.3f connected\n" % time.time())
        while time.time() < end:
            t = time.time()
            ok = False
            try:
                s.settimeout(0.3)
                s.sendall(b"x")
                ok = len(s.recv(4096)) > 0
            except (socket.timeout, BlockingIOError):
                ok = False
            except OSError:
                out.write("%.3f closed\n" % time.time())
                return
            out.write("%.3f %s\n" % (t, "ok" if ok else "fail"))
            time.sleep(max(0.0, 0.1 - (time.time() - t)))


def connect(addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(1)
    try:
        s.connect((addr, port))
        s.sendall(b"x")
        return 0 if s.recv(16) else 1
    except OSError:
        return 1


def count(log, t0, t1):
    ok = fail = 0
    for line in open(log):
        t, what = line.split()
        t = float(t)
        if t < t0 or t > t1:
            continue
        if what == "ok":
            ok += 1
        elif what == "fail":
            fail += 1
    print(ok, fail)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    elif cmd == "probe":
        probe(sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]))
    elif cmd == "connect":
        sys.exit(connect(sys.argv[2], int(sys.argv[3])))
    elif cmd == "count":
        count(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]) if len(sys.argv) > 4 else 1e12)
    else:
        sys.exit("steady.py serve|probe|count ...")
