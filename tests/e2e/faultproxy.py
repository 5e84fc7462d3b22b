"""A small HTTP proxy in front of the S3 server that injects faults.

Requests are forwarded byte for byte (the Host header too, so SigV4 signatures
made for the proxy's address verify at the server). Per-object rules, matched
by a substring of the request path:
  fail=N, status=500   answer the first N GETs with an S3 error instead
  cut=N, cut_after=B   close the connection after B body bytes, the first N times
  rate=BYTES_PER_S     throttle the body (an object then takes a while to read)
  delay=SECONDS        wait before answering each GET
"""
import http.client
import http.server
import threading
import time
from urllib.parse import urlparse

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


class Rule:
    def __init__(self, fail=0, status=500, cut=0, cut_after=65536, rate=0, delay=0.0):
        self.fail, self.status, self.cut, self.cut_after = fail, status, cut, cut_after
        self.rate, self.delay = rate, delay
        self.gets = 0


class FaultProxy:
    def __init__(self, upstream):
        u = urlparse(upstream)
        self.upstream = (u.hostname, u.port)
        self.rules = {}
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                proxy._handle(self)

            do_PUT = do_HEAD = do_POST = do_DELETE = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def rule(self, path_part, **kw):
        self.rules[path_part] = Rule(**kw)
        return self.rules[path_part]

    def _rule_for(self, path):
        for part, r in self.rules.items():
            if part in path:
                return r
        return None

    def _handle(self, h):
        r = self._rule_for(h.path) if h.command == "GET" else None
        with self.lock:
            if r:
                r.gets += 1
            fail = bool(r and r.fail > 0)
            cut = bool(r and not fail and r.cut > 0)
            if fail:
                r.fail -= 1
            if cut:
                r.cut -= 1
        if r and r.delay:
            time.sleep(r.delay)
        if fail:
            return self._error(h, r.status)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else None
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        conn.putrequest(h.command, h.path, skip_host=True, skip_accept_encoding=True)
        for k, v in h.headers.items():
            if k.lower() not in HOP:
                conn.putheader(k, v)
        conn.endheaders(body)
        resp = conn.getresponse()
        h.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                h.send_header(k, v)
        h.end_headers()
        try:
            self._body(h, resp, r, cut)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True                   # the client went away (a cut or a kill)
        conn.close()

    def _body(self, h, resp, r, cut):
        sent, t0 = 0, time.monotonic()
        while True:
            chunk = resp.read(16384)
            if not chunk:
                break
            if cut and sent + len(chunk) > r.cut_after:
                h.wfile.write(chunk[: max(0, r.cut_after - sent)])
                h.wfile.flush()
                h.close_connection = True
                h.connection.shutdown(2)
                return
            h.wfile.write(chunk)
            sent += len(chunk)
            if r and r.rate:
                ahead = sent / r.rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)

    def _error(self, h, status):
        code = {500: "InternalError", 503: "SlowDown"}.get(status, "Error")
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
                f"<Message>injected by the test proxy</Message><RequestId>test</RequestId></Error>").encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/xml")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
