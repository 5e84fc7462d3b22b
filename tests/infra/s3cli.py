#!/usr/bin/env python3
"""Tiny S3 client with a self-written AWS SigV4 signer (stdlib only).

Used by s3.sh (mb/put/get/ls) so that the service scripts need no venv, and by
the e2e tests to send deliberately mis-signed requests. Path-style addressing,
single-shot PUT, no chunked signing: enough for test fixtures, not a general
client.

Environment: S3_ENDPOINT (http://127.0.0.1:19000), S3_ACCESS_KEY, S3_SECRET_KEY,
S3_REGION (us-east-1).
"""
import datetime
import hashlib
import hmac
import http.client
import os
import sys
import urllib.parse

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def _uri_encode(s, keep_slash):
    safe = "-_.~" + ("/" if keep_slash else "")
    return urllib.parse.quote(s, safe=safe)


def sign_v4(method, url, headers, body, access_key, secret_key, region,
            service="s3", now=None):
    """Return a copy of headers with SigV4 Authorization, x-amz-date and
    x-amz-content-sha256 added. url is absolute (scheme://host[:port]/path?q)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = now.strftime("%Y%m%d")
    parts = urllib.parse.urlsplit(url)
    payload_hash = hashlib.sha256(body or b"").hexdigest()

    out = dict(headers)
    out["host"] = parts.netloc
    out["x-amz-date"] = amz_date
    out["x-amz-content-sha256"] = payload_hash
    lower = {k.lower().strip(): " ".join(str(v).split()) for k, v in out.items()}
    signed = sorted(lower)
    canonical_headers = "".join(f"{k}:{lower[k]}\n" for k in signed)
    signed_headers = ";".join(signed)

    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    canonical_query = "&".join(
        f"{_uri_encode(k, False)}={_uri_encode(v, False)}" for k, v in sorted(query))
    canonical_path = _uri_encode(urllib.parse.unquote(parts.path or "/"), True)

    canonical_request = "\n".join([method, canonical_path, canonical_query,
                                   canonical_headers, signed_headers, payload_hash])
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                                hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = _hmac(("AWS4" + secret_key).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    out["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                            f"SignedHeaders={signed_headers}, Signature={signature}")
    return out


def request(method, path, body=b"", query="", endpoint=None, access_key=None,
            secret_key=None, region=None, sign=True, timeout=30):
    """Send one request; returns (status, headers dict, body bytes).
    sign=False sends it without any Authorization (anonymous)."""
    endpoint = endpoint or os.environ.get("S3_ENDPOINT", "http://127.0.0.1:19000")
    access_key = access_key or os.environ.get("S3_ACCESS_KEY", "siemproc-test")
    secret_key = secret_key or os.environ.get("S3_SECRET_KEY", "siemproc-test-secret")
    region = region or os.environ.get("S3_REGION", "us-east-1")
    url = endpoint.rstrip("/") + _uri_encode(path, True) + (("?" + query) if query else "")
    headers = {"content-length": str(len(body or b""))}
    if sign:
        headers = sign_v4(method, url, headers, body, access_key, secret_key, region)
    parts = urllib.parse.urlsplit(url)
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(parts.netloc, timeout=timeout)
    try:
        target = parts.path + (("?" + parts.query) if parts.query else "")
        conn.request(method, target, body=body or None, headers=headers)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def _fail(what, status, body):
    sys.stderr.write(f"s3cli: {what} failed: HTTP {status}\n{body.decode(errors='replace')}\n")
    return 1


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: s3cli.py mb BUCKET | put BUCKET KEY FILE | get BUCKET KEY [OUT] | ls BUCKET")
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == "mb" and len(args) == 1:
        status, _, body = request("PUT", f"/{args[0]}")
        if status == 200 or (status == 409 and b"BucketAlreadyOwnedByYou" in body):
            print(f"bucket {args[0]} ready")
            return 0
        return _fail("mb", status, body)
    if cmd == "put" and len(args) == 3:
        with open(args[2], "rb") as f:
            data = f.read()
        status, _, body = request("PUT", f"/{args[0]}/{args[1]}", body=data)
        if status == 200:
            print(f"put s3://{args[0]}/{args[1]} ({len(data)} bytes)")
            return 0
        return _fail("put", status, body)
    if cmd == "get" and len(args) in (2, 3):
        status, _, body = request("GET", f"/{args[0]}/{args[1]}")
        if status != 200:
            return _fail("get", status, body)
        if len(args) == 3:
            with open(args[2], "wb") as f:
                f.write(body)
        else:
            sys.stdout.buffer.write(body)
        return 0
    if cmd == "ls" and len(args) == 1:
        status, _, body = request("GET", f"/{args[0]}", query="list-type=2")
        if status != 200:
            return _fail("ls", status, body)
        import xml.etree.ElementTree as ET
        for el in ET.fromstring(body).iter():
            if el.tag.endswith("}Key") or el.tag == "Key":
                print(el.text)
        return 0
    print(f"s3cli: bad command: {' '.join(argv)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
