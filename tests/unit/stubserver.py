"""What the unit tests' HTTP stubs (aws_metadata_stub.py, s3_stub.py, os_stub.py)
share: the serve loop (127.0.0.1, a random port printed as "PORT <n>" for
pystub.h, exit when the parent goes away or after 300 s), quiet request
handlers, and an independent SigV4 signature check.

Must never listen beyond 127.0.0.1 or outlive the test that started it.
"""
import hashlib
import hmac
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LIFETIME_S = 300
SIGV4_RE = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([a-z0-9-]+)/aws4_request, "
                      r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")


class QuietHandler(BaseHTTPRequestHandler):
    """Logs nothing; read_body() reads the request body by its Content-Length."""

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))


class KeepAliveHandler(QuietHandler):
    """HTTP/1.1 keep-alive; counts connections in state["connections"] (the
    subclass sets state and the lock that guards it)."""
    protocol_version = "HTTP/1.1"
    state, lock = None, None

    def setup(self):
        super().setup()
        with self.lock:
            self.state["connections"] += 1


def sigv4_parse(authorization):
    """The parts of a SigV4 Authorization header as a dict, or None."""
    m = SIGV4_RE.match(authorization or "")
    if not m:
        return None
    return dict(zip(("akid", "date", "region", "service", "signed", "signature"), m.groups()))


def sigv4_valid(request, auth, secret, payload_hash):
    """Is auth (from sigv4_parse) the right signature of request (a handler)
    for this secret key and payload hash? Recomputed from the raw request line."""
    path, _, query = request.path.partition("?")
    canonical_query = "&".join(sorted(p if "=" in p else p + "=" for p in query.split("&") if p))
    headers = "".join("%s:%s\n" % (h, " ".join(request.headers.get(h, "").split()))
                      for h in auth["signed"].split(";"))
    creq = "\n".join([request.command, path, canonical_query, headers, auth["signed"], payload_hash])
    scope = "%s/%s/%s/aws4_request" % (auth["date"], auth["region"], auth["service"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", request.headers.get("x-amz-date", ""), scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (auth["date"], auth["region"], auth["service"], "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    good = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(good, auth["signature"])


def _watchdog(parent):
    deadline = time.monotonic() + LIFETIME_S
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.5)
    os._exit(0)


def serve(handler, wrap_socket=None):
    """Serve handler on 127.0.0.1 until the parent exits; wrap_socket (for
    TLS) gets the listening socket and returns the one to serve on."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if wrap_socket:
        server.socket = wrap_socket(server.socket)
    threading.Thread(target=_watchdog, args=(os.getppid(),), daemon=True).start()
    sys.stdout.write("PORT %d\n" % server.server_address[1])
    sys.stdout.flush()
    server.serve_forever()
