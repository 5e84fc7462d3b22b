#!/usr/bin/env python3
"""Stub of the AWS credential endpoints for test_aws_credentials.

Serves on 127.0.0.1 (random port, printed as "PORT <n>" on stdout):
  PUT  /latest/api/token                          IMDSv2 session token (needs the TTL header)
  GET  /latest/meta-data/iam/security-credentials/[role]   IMDS role / credentials (need the token)
  GET  /ecs/relative                              container credentials, no authorization
  GET  /ecs/full                                  container credentials, Authorization must match
  POST /                                          STS AssumeRoleWithWebIdentity (form body) -> XML
Control (for the test):
  GET  /_stats                                    JSON request counters and last values
  GET  /_config?expire_in=N&fail=0|1              credential lifetime; fail=1 makes credential endpoints 500
  GET  /_reset                                    zero the counters
Exits when its parent process goes away or after 300 s.
"""
import json
import threading
import time
from urllib.parse import parse_qs, urlsplit

import stubserver

CONTAINER_TOKEN = "stub-container-token"
WEB_TOKEN = "stub-web-token"
ROLE_ARN = "arn:aws:iam::123456789012:role/stub"
ROLE_NAME = "stub-role"

LOCK = threading.Lock()
STATE = {"expire_in": 3600, "fail": False, "counts": {}, "last_expiration": 0,
         "last_session_name": "", "imds_tokens": set()}


def count(name):
    with LOCK:
        STATE["counts"][name] = STATE["counts"].get(name, 0) + 1
        return STATE["counts"][name]


def expiration(fraction=False):
    with LOCK:
        exp = int(time.time()) + STATE["expire_in"]
        STATE["last_expiration"] = exp
    fmt = "%Y-%m-%dT%H:%M:%S.123Z" if fraction else "%Y-%m-%dT%H:%M:%SZ"
    return time.strftime(fmt, time.gmtime(exp))


def creds_json(prefix, fraction=False):
    return json.dumps({
        "Code": "Success", "Type": "AWS-HMAC", "LastUpdated": "2024-01-01T00:00:00Z",
        "AccessKeyId": "ASIA" + prefix, "SecretAccessKey": prefix + "-secret/+=",
        "Token": prefix + "-session-token", "Expiration": expiration(fraction)})


def sts_xml():
    return (
        '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n'
        "  <AssumeRoleWithWebIdentityResult>\n"
        "    <SubjectFromWebIdentityToken>system:serviceaccount:ns:sa</SubjectFromWebIdentityToken>\n"
        "    <Credentials>\n"
        "      <SessionToken>sts-session&amp;token</SessionToken>\n"
        "      <SecretAccessKey>sts-secret</SecretAccessKey>\n"
        "      <Expiration>%s</Expiration>\n"
        "      <AccessKeyId>ASIASTS</AccessKeyId>\n"
        "    </Credentials>\n"
        "  </AssumeRoleWithWebIdentityResult>\n"
        "</AssumeRoleWithWebIdentityResponse>\n" % expiration())


def sts_error(code, message):
    return ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
            "<Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
            "<RequestId>stub</RequestId></ErrorResponse>" % (code, message))


class Handler(stubserver.QuietHandler):
    def reply(self, status, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def failing(self):
        with LOCK:
            return STATE["fail"]

    def do_PUT(self):
        self.read_body()
        if self.path != "/latest/api/token":
            return self.reply(404, "not found")
        count("imds_token")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.reply(400, "missing or bad TTL header")
        token = "imds-token-%d" % time.monotonic_ns()
        with LOCK:
            STATE["imds_tokens"].add(token)
        self.reply(200, token)

    def imds_authorized(self):
        with LOCK:
            return self.headers.get("X-aws-ec2-metadata-token") in STATE["imds_tokens"]

    def do_GET(self):
        url = urlsplit(self.path)
        route = {
            "/_stats": self.stats, "/_config": self.config, "/_reset": self.reset,
            "/latest/meta-data/iam/security-credentials/": self.imds_role,
            "/latest/meta-data/iam/security-credentials/" + ROLE_NAME: self.imds_creds,
            "/ecs/relative": self.ecs_relative, "/ecs/full": self.ecs_full,
        }.get(url.path)
        if route is None:
            return self.reply(404, "not found")
        route(parse_qs(url.query))

    def stats(self, _q):
        with LOCK:
            body = {"counts": STATE["counts"], "last_expiration": STATE["last_expiration"],
                    "last_session_name": STATE["last_session_name"]}
        self.reply(200, json.dumps(body), "application/json")

    def config(self, q):
        with LOCK:
            if "expire_in" in q:
                STATE["expire_in"] = int(q["expire_in"][0])
            if "fail" in q:
                STATE["fail"] = q["fail"][0] == "1"
        self.reply(200, "ok")

    def reset(self, _q):
        with LOCK:
            STATE["counts"] = {}
        self.reply(200, "ok")

    def imds_role(self, _q):
        count("imds_role")
        if not self.imds_authorized():
            return self.reply(401, "")
        self.reply(200, ROLE_NAME + "\n")

    def imds_creds(self, _q):
        count("imds_creds")
        if not self.imds_authorized():
            return self.reply(401, "")
        if self.failing():
            return self.reply(500, "stub failure")
        self.reply(200, creds_json("IMDS"), "application/json")

    def ecs_relative(self, _q):
        count("ecs_relative")
        if self.failing():
            return self.reply(500, "stub failure")
        self.reply(200, creds_json("ECSREL"), "application/json")

    def ecs_full(self, _q):
        count("ecs_full")
        if self.headers.get("Authorization") != CONTAINER_TOKEN:
            return self.reply(401, '{"message":"unauthorized"}', "application/json")
        self.reply(200, creds_json("ECSFULL", fraction=True), "application/json")

    def do_POST(self):
        body = self.read_body().decode()
        form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        if self.path != "/" or form.get("Action") != "AssumeRoleWithWebIdentity":
            return self.reply(400, sts_error("InvalidAction", "bad action"), "text/xml")
        count("sts")
        with LOCK:
            STATE["last_session_name"] = form.get("RoleSessionName", "")
        if form.get("Version") != "2011-06-15" or form.get("RoleArn") != ROLE_ARN:
            return self.reply(400, sts_error("ValidationError", "bad version or role"), "text/xml")
        if form.get("WebIdentityToken") != WEB_TOKEN:
            return self.reply(400, sts_error("InvalidIdentityToken", "token &lt;rejected&gt;"), "text/xml")
        if self.failing():
            return self.reply(503, sts_error("ServiceUnavailable", "stub failure"), "text/xml")
        self.reply(200, sts_xml(), "text/xml")


if __name__ == "__main__":
    stubserver.serve(Handler)
