"""The OpenSearch Dashboards saved objects (deploy/dashboards/siemproc-dashboards.ndjson):
generated from the schemas and up to date, valid JSON per line, every reference
resolvable, every aggregated field mapped with an aggregatable type by the index
templates `siemproc setup` installs; and `setup --dashboards-url` posts the file
the way Dashboards' import API wants it. (Dashboards itself cannot run here, so
the import into a real Dashboards is not tested.)"""
import http.server
import json
import subprocess
import sys
import threading

import pytest

import sinklib
from infra import unique

GEN = sinklib.REPO / "deploy" / "dashboards" / "gen_dashboards.py"
NDJSON = GEN.with_name("siemproc-dashboards.ndjson")
AGGREGATABLE = {"keyword", "ip", "date", "long", "float", "boolean"}


def objects():
    return [json.loads(line) for line in NDJSON.read_text().splitlines()]


def test_saved_objects_are_generated_from_the_current_schemas():
    proc = subprocess.run([sys.executable, str(GEN), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_saved_objects_are_valid_and_resolve():
    objs = objects()
    by_id = {(o["type"], o["id"]): o for o in objs}
    assert len(by_id) == len(objs), "duplicate ids"
    kinds = {o["type"] for o in objs}
    assert kinds == {"index-pattern", "visualization", "dashboard"}
    for o in objs:
        for ref in o["references"]:
            assert (ref["type"], ref["id"]) in by_id, (o["id"], ref)
        a = o["attributes"]
        if o["type"] == "visualization":
            vis = json.loads(a["visState"])
            assert vis["aggs"] and vis["type"] in ("histogram", "table", "pie", "tile_map")
            json.loads(a["kibanaSavedObjectMeta"]["searchSourceJSON"])
        if o["type"] == "dashboard":
            panels = json.loads(a["panelsJSON"])
            assert len(panels) == len(o["references"]) > 0
            assert {p["panelRefName"] for p in panels} == {r["name"] for r in o["references"]}
    dashboards = [o["attributes"]["title"] for o in objs if o["type"] == "dashboard"]
    assert "siemproc: Overview" in dashboards
    overview = next(o for o in objs if o["id"] == "siemproc-overview")
    titles = {by_id[("visualization", r["id"])]["attributes"]["title"] for r in overview["references"]}
    assert {"Overview: Events over time", "Overview: Top source IPs", "Overview: Source countries",
            "Overview: Failed logins", "Overview: Findings by severity"} <= titles


def test_every_aggregated_field_is_mapped_by_the_templates():
    steps = [json.loads(line) for line in sinklib.run("setup", "--print").stdout.decode().splitlines()]
    templates = [s["body"] for s in steps if s["path"].startswith("/_index_template/")]
    mapped = {t["index_patterns"][0]: sinklib.flatten(t["template"]["mappings"]["properties"]) for t in templates}
    objs = objects()
    patterns = {o["id"]: o["attributes"]["title"] for o in objs if o["type"] == "index-pattern"}
    assert set(patterns.values()) - {"log-*"} == set(mapped)
    for o in (o for o in objs if o["type"] == "visualization"):
        title = patterns[o["references"][0]["id"]]
        maps = list(mapped.values()) if title == "log-*" else [mapped[title]]
        for a in json.loads(o["attributes"]["visState"])["aggs"]:
            field = a["params"].get("field")
            if not field:
                continue
            types = {m.get(field) for m in maps} - {None}
            want = {"geo_point"} if a["type"] == "geohash_grid" else AGGREGATABLE
            assert types and types <= want, (o["id"], field, types)


class ImportStub(http.server.BaseHTTPRequestHandler):
    got = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ImportStub.got.append((self.path, dict(self.headers), body))
        out = json.dumps({"success": True, "successCount": NDJSON.read_text().count("\n")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def test_setup_posts_the_saved_objects_to_the_import_api(opensearch):
    server = http.server.HTTPServer(("127.0.0.1", 0), ImportStub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    prefix = unique("e2e-dash") + "-"
    try:
        out = sinklib.run("setup", "--opensearch-url", opensearch.url, "--index-prefix", prefix,
                          "--dashboards-url", f"http://127.0.0.1:{server.server_port}").stdout.decode()
    finally:
        server.shutdown()
        for line in sinklib.run("setup", "--print", "--index-prefix", prefix).stdout.decode().splitlines():
            path = json.loads(line)["path"]
            if path.startswith("/_index_template/"):
                opensearch.request("DELETE", path)
    assert "FAIL" not in out
    path, headers, body = ImportStub.got[-1]
    assert path == "/api/saved_objects/_import?overwrite=true"
    assert headers.get("osd-xsrf") == "true"
    assert headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="file"' in body and NDJSON.read_bytes() in body
