#!/usr/bin/env python3
# A hostile stand-in for etcd's JSON gateway (tests/unit/test_etcd.c): on
# the listening socket the test passes as fd 3, it answers by the request's key:
# /v3/watch with a garbage line, a line over 16 MiB, wrong types, bad
# base64, a stream error, a stream that closes; /v3/kv/range with bad keys,
# not JSON, HTTP 500, deep nesting, wrong types. It exits when its stdin
# (the test's pipe) closes, so a test that dies leaves nothing behind.
import base64
import json
import os
import socket
import sys
import threading
import time


def b64(s):
    return base64.b64encode(s.encode()).decode()


UNARY = {
    "badkv": ("200 OK", b'{"kvs":[{"key":5}]}'),
    "notjson": ("200 OK", b"hello"),
    "http500": ("500 Internal Server Error", b"boom"),
    "deep": ("200 OK", b"[" * 100000),
    "types": ("200 OK", b'{"header":{"revision":"x"}}'),
}

CREATED = b'{"result":{"header":{"revision":"7"},"created":true}}\n'

STREAM = {
    "garbage": b"this is not json\n",
    "types": b'{"result":{"events":"not an array"}}\n',
    "badkey": b'{"result":{"events":[{"kv":{"key":"!!!!"}}]}}\n',
    "error": b'{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader",'
    b'"http_status":"Service Unavailable"}}\n',
}


def watch(c, key):
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
              b"Connection: close\r\n\r\n" + CREATED)
    if key == "long":
        chunk = b"a" * (1 << 20)
        for _ in range(17):
            c.sendall(chunk)
    elif key == "close":
        ev = {"result": {"header": {"revision": "8"}, "events": [
            {"kv": {"key": b64("close"), "mod_revision": "8", "value": b64("v")}}]}}
        c.sendall(json.dumps(ev).encode() + b"\n")
        return
    else:
        c.sendall(STREAM[key])
    time.sleep(10)


def serve(c):
    try:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = c.recv(65536)
            if not chunk:
                return
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1]
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        while len(body) < length:
            chunk = c.recv(65536)
            if not chunk:
                return
            body += chunk
        req = json.loads(body)
        if path == "/v3/watch":
            watch(c, base64.b64decode(req["create_request"]["key"]).decode())
            return
        status, answer = UNARY[base64.b64decode(req["key"]).decode()]
        c.sendall(b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n" % (status.encode(), len(answer)) + answer)
    except (OSError, KeyError, ValueError):
        pass
    finally:
        c.close()


def orphaned():
    sys.stdin.read()
    os._exit(0)


def main():
    s = socket.socket(fileno=3)
    threading.Thread(target=orphaned, daemon=True).start()
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
