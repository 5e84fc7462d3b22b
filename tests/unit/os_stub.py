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
import json
import os
import ssl
import subprocess
import threading
from urllib.parse import parse_qs

import stubserver

ACCESS_KEY, SECRET_KEY, SESSION_TOKEN = "AKIDSTUB", "stubsecret", "stubtoken"
BASIC = "Basic " + base64.b64encode(b"elastic:changeme").decode()

LOCK = threading.Lock()
STATE = {"counts": {}, "connections": 0, "docs": 0, "seen": {}, "fail": [],
         "last_path": "", "last_encoding": "", "last_auth": "", "last_service": "",
         "last_ctype": "", "last_ids": []}


def bump(name, n=1):
    STATE["counts"][name] = STATE["counts"].get(name, 0) + n


class Handler(stubserver.KeepAliveHandler):
    state, lock = STATE, LOCK

    def send(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def sigv4_error(self, body):
        auth = stubserver.sigv4_parse(self.headers.get("Authorization"))
        if not auth or auth["service"] not in ("es", "aoss"):
            return "malformed authorization"
        if auth["akid"] != ACCESS_KEY or self.headers.get("x-amz-security-token") != SESSION_TOKEN:
            return "bad key or token"
        if self.headers.get("x-amz-content-sha256") != hashlib.sha256(body).hexdigest():
            return "body hash mismatch"
        valid = stubserver.sigv4_valid(self, auth, SECRET_KEY, self.headers["x-amz-content-sha256"])
        with LOCK:
            STATE["last_service"] = "%s/%s" % (auth["service"], auth["region"])
        return None if valid else "signature mismatch"

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
        body = self.read_body()
        if not self.auth_ok(body):
            return
        with LOCK:
            STATE["last_path"] = self.path
            bump("put")
        self.send(200, {"acknowledged": True, "echo": json.loads(body or b"null")})

    def do_POST(self):
        raw = self.read_body()
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


def tls_wrapper(d):
    """Serves HTTPS with certificates made in d; a client certificate is required."""
    make_tls(d)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(f"{d}/server.pem", f"{d}/server.key")
    ctx.load_verify_locations(f"{d}/ca.pem")
    ctx.verify_mode = ssl.CERT_REQUIRED
    return lambda sock: ctx.wrap_socket(sock, server_side=True)


if __name__ == "__main__":
    tls = os.environ.get("OS_STUB_TLS_DIR")
    stubserver.serve(Handler, tls_wrapper(tls) if tls else None)
