#!/usr/bin/env python3
"""Minimal S3 stub for test_s3_client (path-style only, HTTP/1.1 keep-alive).

Every object request must carry a valid SigV4 Authorization header for
access key AKIDSTUB / secret "stubsecret" / session token "stubtoken"; the
signature is recomputed here independently from the raw request line.
Listens on 127.0.0.1 (random port, printed as "PORT <n>" on stdout).

Objects (GET /bucket/<key>):
  big        262144 bytes, byte i = i % 251, sent in 16 KiB writes
  missing    404 NoSuchKey          denied     403 AccessDenied
  flaky      500 InternalError on the first request, then 200
  slowdown   503 SlowDown on the first request, then 200
  throttled  429 on the first request, then 200
  truncated  first response is cut after half of its Content-Length, then 200
  stall      sends 1000 bytes, then stalls for 4 s
  anything PUT before
Control: GET /_stats (JSON: counts, connections, last_path), GET /_reset.
Exits when its parent process goes away or after 300 s.
"""
import hashlib
import json
import threading
import time
from urllib.parse import unquote

import stubserver

ACCESS_KEY = "AKIDSTUB"
SECRET_KEY = "stubsecret"
SESSION_TOKEN = "stubtoken"
BIG = bytes(i % 251 for i in range(262144))

LOCK = threading.Lock()
STATE = {"counts": {}, "connections": 0, "last_path": "", "objects": {}}


def bump(name):
    with LOCK:
        STATE["counts"][name] = STATE["counts"].get(name, 0) + 1
        return STATE["counts"][name]


def error_xml(code, message, key):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            "<Key>%s</Key><RequestId>STUBREQ</RequestId></Error>" % (code, message, key)).encode()


class Handler(stubserver.KeepAliveHandler):
    state, lock = STATE, LOCK

    def handle(self):
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):
            pass  # the client aborted a download on purpose

    def send(self, status, body=b"", ctype="application/xml", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amz-request-id", "STUBREQ")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def auth_error(self, body):
        """None when the SigV4 signature is valid, else an S3 error code."""
        auth = stubserver.sigv4_parse(self.headers.get("Authorization"))
        if not auth or auth["service"] != "s3":
            return "AccessDenied"
        payload = self.headers.get("x-amz-content-sha256", "")
        if auth["akid"] != ACCESS_KEY:
            return "InvalidAccessKeyId"
        if self.headers.get("x-amz-security-token") != SESSION_TOKEN or \
                "x-amz-security-token" not in auth["signed"].split(";"):
            return "InvalidToken"
        if payload != "UNSIGNED-PAYLOAD" and payload != hashlib.sha256(body).hexdigest():
            return "XAmzContentSHA256Mismatch"
        return None if stubserver.sigv4_valid(self, auth, SECRET_KEY, payload) else "SignatureDoesNotMatch"

    def control(self):
        if self.path == "/_reset":
            with LOCK:
                STATE["counts"] = {}
            return self.send(200, b"ok", "text/plain")
        with LOCK:
            body = json.dumps({k: STATE[k] for k in ("counts", "connections", "last_path")})
        self.send(200, body.encode(), "application/json")

    def do_PUT(self):
        body = self.read_body()
        err = self.auth_error(body)
        if err:
            return self.send(403, error_xml(err, "auth failed", ""))
        with LOCK:
            STATE["objects"][unquote(self.path)] = body
            STATE["last_path"] = self.path
        self.send(200, b"", extra={"ETag": '"%s"' % hashlib.md5(body).hexdigest()})

    def do_GET(self):
        if self.path in ("/_stats", "/_reset"):
            return self.control()
        with LOCK:
            STATE["last_path"] = self.path
        err = self.auth_error(b"")
        if err:
            return self.send(403, error_xml(err, "auth failed", ""))
        key = unquote(self.path.partition("?")[0])
        name = key.split("/", 2)[-1]
        n = bump(name)
        first_failures = {
            "flaky": (500, "InternalError", "We encountered an internal error. Please try again."),
            "slowdown": (503, "SlowDown", "Please reduce your request rate."),
            "throttled": (429, "TooManyRequests", "Too many requests"),
        }
        if name in first_failures and n == 1:
            status, code, msg = first_failures[name]
            return self.send(status, error_xml(code, msg, name))
        if name == "missing":
            return self.send(404, error_xml("NoSuchKey", "The specified key does not exist.", name))
        if name == "denied":
            return self.send(403, error_xml("AccessDenied", "Access Denied", name))
        if name == "truncated" and n == 1:
            return self.send_cut(BIG, len(BIG) // 2)
        if name == "stall":
            return self.send_stall()
        with LOCK:
            obj = STATE["objects"].get(key)
        if obj is None and name not in first_failures and name not in ("big", "truncated"):
            return self.send(404, error_xml("NoSuchKey", "The specified key does not exist.", name))
        self.send_chunked_writes(BIG if obj is None else obj)

    def send_chunked_writes(self, data):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        for i in range(0, len(data), 16384):
            self.wfile.write(data[i:i + 16384])
            self.wfile.flush()
            time.sleep(0.001)

    def send_cut(self, data, cut):
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:cut])
        self.wfile.flush()
        self.close_connection = True

    def send_stall(self):
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(BIG[:1000])
        self.wfile.flush()
        time.sleep(4)
        self.close_connection = True


if __name__ == "__main__":
    stubserver.serve(Handler)
