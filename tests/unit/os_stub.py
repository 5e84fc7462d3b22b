#!/usr/bin/env python3
"""Minimal OpenSearch stub for test_opensearch (HTTP/1.1 keep-alive).

Listens on 127.0.0.1 (random port, printed as "PORT <n>" on stdout). With
OS_STUB_TLS_DIR=DIR in the environment it serves HTTPS with a CA, server and
client certificate it creates in DIR (ca.pem, client.pem, client.key) and
requires a client certificate.

POST [/prefix]/_bulk: the body may be gzip (Content-Encoding: gzip); each
document decides its own result through optional fields:
  "want": 201 | 409 | 429 | 400 | 503 | 403 ...   (item status, default 201)
  "want_once": N     status N the first time this _id is seen, then 201
  "poison": true     the whole request is a 400 while this document is in it
Whole-request failures: GET /_fail?status=S&times=K makes the next K bulk
requests answer S; status 0 closes the connection without an answer.
Auth: "Authorization: Basic" must be elastic:changeme; "AWS4-HMAC-SHA256"
must be a valid signature for AKIDSTUB/stubsecret/stubtoken (service es or
aoss, body hash in x-amz-content-sha256 over the bytes as sent). A bad one
is a 403. GET / answers an OpenSearch 2.19.0 banner.
Control: GET /_stats (counts, connections, docs, last_*), GET /_reset.
Exits when its parent process goes away or after 300 s.
"""
import base64
import gzip
import hashlib
import hmac
import json
import os
import re
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

ACCESS_KEY, SECRET_KEY, SESSION_TOKEN = "AKIDSTUB", "stubsecret", "stubtoken"
BASIC = "Basic " + base64.b64encode(b"elastic:changeme").decode()
AUTH_RE = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/(es|aoss)/aws4_request, "
                     r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")

LOCK = threading.Lock()
STATE = {"counts": {}, "connections": 0, "docs": 0, "seen": {}, "fail": [],
         "last_path": "", "last_encoding": "", "last_auth": "", "last_service": "",
         "last_ctype": "", "last_ids": []}


def bump(name, n=1):
    STATE["counts"][name] = STATE["counts"].get(name, 0) + n


def hmac256(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with LOCK:
            STATE["connections"] += 1

    def log_message(self, fmt, *args):
        pass

    def send(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def sigv4_error(self, body):
        m = AUTH_RE.match(self.headers.get("Authorization", ""))
        if not m:
            return "malformed authorization"
        akid, date, region, service, signed, signature = m.groups()
        if akid != ACCESS_KEY or self.headers.get("x-amz-security-token") != SESSION_TOKEN:
            return "bad key or token"
        if self.headers.get("x-amz-content-sha256") != hashlib.sha256(body).hexdigest():
            return "body hash mismatch"
        path, _, query = self.path.partition("?")
        cq = "&".join(sorted(p if "=" in p else p + "=" for p in query.split("&") if p))
        headers = "".join("%s:%s\n" % (h, " ".join(self.headers.get(h, "").split()))
                          for h in signed.split(";"))
        creq = "\n".join([self.command, path, cq, headers, signed,
                          self.headers["x-amz-content-sha256"]])
        scope = "%s/%s/%s/aws4_request" % (date, region, service)
        sts = "\n".join(["AWS4-HMAC-SHA256", self.headers.get("x-amz-date", ""), scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
        key = ("AWS4" + SECRET_KEY).encode()
        for part in (date, region, service, "aws4_request"):
            key = hmac256(key, part)
        good = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        with LOCK:
            STATE["last_service"] = "%s/%s" % (service, region)
        return None if hmac.compare_digest(good, signature) else "signature mismatch"

    def auth_ok(self, body):
        auth = self.headers.get("Authorization", "")
        if not auth:
            kind, ok = "none", True
        elif auth.startswith("Basic "):
            kind, ok = "basic", auth == BASIC
        else:
            err = self.sigv4_error(body)
            kind, ok = "sigv4", err is None
        with LOCK:
            STATE["last_auth"] = kind if ok else kind + "-bad"
        if not ok:
            self.send(403, {"error": {"type": "security_exception", "reason": "auth failed"},
                            "status": 403})
        return ok

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path == "/_stats":
            with LOCK:
                out = {k: v for k, v in STATE.items() if k not in ("seen", "fail")}
            return self.send(200, out)
        if path == "/_reset":
            with LOCK:
                STATE.update(counts={}, docs=0, seen={}, fail=[], last_ids=[])
            return self.send(200, {"ok": True})
        if path == "/_fail":
            q = parse_qs(query)
            with LOCK:
                STATE["fail"] += [int(q["status"][0])] * int(q.get("times", ["1"])[0])
            return self.send(200, {"ok": True})
        if not self.auth_ok(b""):
            return
        with LOCK:
            STATE["last_path"] = self.path
        if path.rstrip("/").endswith("/_missing"):
            return self.send(404, {"error": {"type": "resource_not_found_exception",
                                             "reason": "no such thing"}, "status": 404})
        self.send(200, {"name": "stub", "version": {"distribution": "opensearch",
                                                    "number": "2.19.0"}})

    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self.auth_ok(body):
            return
        with LOCK:
            STATE["last_path"] = self.path
            bump("put")
        self.send(200, {"acknowledged": True, "echo": json.loads(body or b"null")})

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with LOCK:
            STATE["last_path"] = self.path
            STATE["last_encoding"] = self.headers.get("Content-Encoding", "")
            STATE["last_ctype"] = self.headers.get("Content-Type", "")
            bump("requests")
            fail = STATE["fail"].pop(0) if STATE["fail"] else None
        if fail == 0:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fail is not None:
            return self.send(fail, {"error": {"type": "stub_failure", "reason": "told to fail"},
                                    "status": fail})
        if not self.auth_ok(raw):
            return
        if not self.path.partition("?")[0].endswith("/_bulk"):
            return self.send(404, {"error": {"type": "not_found", "reason": self.path}})
        body = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
        self.bulk(body)

    def bulk(self, body):
        lines = body.split(b"\n")
        if lines[-1] != b"":
            return self.send(400, {"error": {"type": "illegal_argument_exception",
                                             "reason": "The bulk request must be terminated by a newline [\\n]"}})
        pairs = [(json.loads(lines[i]), json.loads(lines[i + 1])) for i in range(0, len(lines) - 1, 2)]
        if any(doc.get("poison") for _, doc in pairs):
            return self.send(400, {"error": {"type": "illegal_argument_exception",
                                             "reason": "poisoned batch"}, "status": 400})
        items = [self.item(action, doc) for action, doc in pairs]
        with LOCK:
            STATE["docs"] += len(pairs)
            STATE["last_ids"] = [next(iter(a.values())).get("_id") for a, _ in pairs]
            bump("bulk")
        self.send(200, {"took": 1, "errors": any("error" in next(iter(i.values())) for i in items),
                        "items": items})

    def item(self, action, doc):
        op, meta = next(iter(action.items()))
        with LOCK:
            n = STATE["seen"].get(meta.get("_id"), 0) + 1
            STATE["seen"][meta.get("_id")] = n
        status = doc.get("want", 201)
        if "want_once" in doc:
            status = doc["want_once"] if n == 1 else 201
        res = {"_index": meta["_index"], "_id": meta.get("_id"), "status": status}
        errors = {409: ("version_conflict_engine_exception", "document already exists"),
                  429: ("es_rejected_execution_exception", "rejected execution"),
                  400: ("mapper_parsing_exception", "failed to parse field [source.ip] of type [ip]"),
                  403: ("cluster_block_exception", "index read-only / allow delete (api)"),
                  503: ("unavailable_shards_exception", "primary shard is not active")}
        if status >= 300:
            etype, reason = errors.get(status, ("stub_error", "stub"))
            res["error"] = {"type": etype, "reason": reason}
            if status == 400:
                res["error"]["caused_by"] = {"type": "illegal_argument_exception",
                                             "reason": "'nope' is not an IP string literal."}
        return {op: res}


def make_tls(d):
    """CA, server certificate for 127.0.0.1 and a client certificate, via openssl."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    os.makedirs(d, exist_ok=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=stub-ca",
        "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem")
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1"), ("client", "extendedKeyUsage=clientAuth")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout",
            f"{d}/{name}.key", "-out", f"{d}/{name}.csr")
        with open(f"{d}/{name}.ext", "w") as f:
            f.write(ext + "\n")
        run("x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", f"{d}/{name}.ext", "-out", f"{d}/{name}.pem")


def watchdog(parent):
    deadline = time.monotonic() + 300
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.5)
    os._exit(0)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tls = os.environ.get("OS_STUB_TLS_DIR")
    if tls:
        make_tls(tls)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(f"{tls}/server.pem", f"{tls}/server.key")
        ctx.load_verify_locations(f"{tls}/ca.pem")
        ctx.verify_mode = ssl.CERT_REQUIRED
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=watchdog, args=(os.getppid(),), daemon=True).start()
    sys.stdout.write("PORT %d\n" % server.server_address[1])
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
