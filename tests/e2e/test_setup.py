"""`siemproc setup` against real OpenSearch 2.19: it installs one composable
index template per index name, built from the schemas, idempotently; the
documents `siemproc parse --bulk` makes from the fixtures and the corpus are
all accepted, and the indices end with exactly the template's mapping
(ip fields ip, @timestamp date, geo_point locations) plus only vendor
fields (aws.*) mapped by the dynamic templates as keyword or numbers."""
import json

import pytest

import sinklib
from infra import unique


def setup_cmd(opensearch, prefix, *extra):
    return sinklib.run("setup", "--opensearch-url", opensearch.url, "--index-prefix", prefix,
                       "--index-replicas", "0", *extra)


def printed_templates(prefix):
    out = sinklib.run("setup", "--print", "--index-prefix", prefix, "--index-replicas", "0").stdout
    steps = [json.loads(line) for line in out.decode().splitlines()]
    return {s["path"].rsplit("/", 1)[1]: s["body"] for s in steps if s["path"].startswith("/_index_template/")}


@pytest.fixture(scope="module")
def installed(opensearch):
    prefix = unique("e2e-setup") + "-"
    first = setup_cmd(opensearch, prefix)
    yield prefix, first.stdout.decode()
    opensearch.request("DELETE", f"/{prefix}*")
    for name in printed_templates(prefix):
        opensearch.request("DELETE", f"/_index_template/{name}")


def test_setup_installs_a_template_per_index(opensearch, installed):
    prefix, out = installed
    want = printed_templates(prefix)
    assert want and all(name.startswith("siemproc-" + prefix) for name in want)
    assert "FAIL" not in out
    for name, body in want.items():
        got = opensearch.request("GET", f"/_index_template/{name}").json()
        stored = got["index_templates"][0]["index_template"]
        assert stored["index_patterns"] == body["index_patterns"]
        assert stored["composed_of"] == ["siemproc-base"]
        assert stored["template"]["mappings"] == body["template"]["mappings"]
    vpc = sinklib.flatten(want[f"siemproc-{prefix}log-aws-vpcflowlogs"]["template"]["mappings"]["properties"])
    assert vpc["@timestamp"] == "date"
    assert vpc["source.ip"] == "ip" and vpc["destination.ip"] == "ip"
    assert vpc["source.geo.location"] == "geo_point"
    assert vpc["source.port"] == "long"
    assert vpc["event.action"] == "keyword"


def test_setup_is_idempotent(opensearch, installed):
    prefix, _ = installed
    before = {n: opensearch.request("GET", f"/_index_template/{n}").json() for n in printed_templates(prefix)}
    again = setup_cmd(opensearch, prefix)
    assert "FAIL" not in again.stdout.decode()
    after = {n: opensearch.request("GET", f"/_index_template/{n}").json() for n in before}
    assert after == before


def test_setup_reports_a_missing_ism_plugin_or_installs_the_policy(opensearch, installed):
    _, out = installed
    has_ism = opensearch.request("GET", "/_plugins/_ism/policies/siemproc-retention").status_code != 400
    if has_ism:
        assert "/_plugins/_ism/policies/siemproc-retention" in out
    else:
        assert "skip  ISM policies: the ISM plugin (opensearch-index-management) is not installed" in out


def bulk(opensearch, docs):
    body = "".join(json.dumps(a) + "\n" + d + "\n" for a, d in docs)
    resp = opensearch.request("POST", "/_bulk?refresh=true", data=body.encode(),
                              headers={"Content-Type": "application/x-ndjson"}, timeout=120)
    resp.raise_for_status()
    return resp.json()


def test_reference_documents_are_json_objects():
    """The sink sends documents as they come; a document that is not JSON is
    refused by the cluster and ends in the DLQ."""
    bad = sinklib.invalid_docs(sinklib.reference_docs())
    assert not bad, bad[:5]


def test_documents_get_exactly_the_template_mapping(opensearch, installed):
    prefix, _ = installed
    docs = sinklib.reference_docs()
    bad = {json.dumps(a, sort_keys=True) for a, _ in sinklib.invalid_docs(docs)}  # own test above
    docs = sinklib.prefixed([(a, d) for a, d in docs if json.dumps(a, sort_keys=True) not in bad], prefix)
    assert len(docs) > 50
    result = bulk(opensearch, docs)
    errors = [next(iter(i.values())) for i in result["items"] if "error" in next(iter(i.values()))]
    assert not errors, errors[:5]
    templates = printed_templates(prefix)
    mappings = opensearch.request("GET", f"/{prefix}*/_mapping").json()
    for index, want_ids in sinklib.expected_ids(docs).items():
        assert sorted(sinklib.index_ids(opensearch, index)) == sorted(want_ids), index
    surprises = []
    for index, m in mappings.items():
        group = next(b for b in templates.values()
                     if index.startswith(b["index_patterns"][0][:-1]) and
                     all(not index.startswith(o["index_patterns"][0][:-1]) or
                         len(o["index_patterns"][0]) <= len(b["index_patterns"][0]) for o in templates.values()))
        declared = sinklib.flatten(group["template"]["mappings"]["properties"])
        actual = sinklib.flatten(m["mappings"].get("properties", {}))
        for path, typ in actual.items():
            if path in declared:
                assert typ == declared[path], (index, path, typ, declared[path])
            elif not path.startswith("aws.") or typ not in ("keyword", "long", "float", "boolean", "object"):
                surprises.append((index, path, typ))
    assert not surprises, surprises[:20]


def test_rollover_types_get_a_write_alias(opensearch, tmp_path):
    """A log type without time rotation is written through an alias that setup
    bootstraps onto <index>-000001 (ISM rolls it over where the plugin is
    installed); re-running keeps the alias."""
    import shutil
    schemas = tmp_path / "schemas"
    shutil.copytree(sinklib.REPO / "schemas", schemas)
    vpc = json.loads((schemas / "vpcflowlogs.json").read_text())
    vpc["index"]["rotation"] = "none"
    (schemas / "vpcflowlogs.json").write_text(json.dumps(vpc))
    prefix = unique("e2e-roll") + "-"
    alias = f"{prefix}{vpc['index']['name']}"
    try:
        for _ in range(2):
            out = setup_cmd(opensearch, prefix, "--schemas", str(schemas)).stdout.decode()
            assert "FAIL" not in out
        assert f"write alias {alias} exists" in out
        got = opensearch.request("GET", f"/_alias/{alias}").json()
        assert got == {f"{alias}-000001": {"aliases": {alias: {"is_write_index": True}}}}
        settings = opensearch.request("GET", f"/{alias}-000001/_settings").json()
        index = settings[f"{alias}-000001"]["settings"]["index"]
        if "no ISM plugin" in out:  # the setting would be refused without the plugin
            assert "plugins" not in index
        else:
            assert index["plugins"]["index_state_management"]["rollover_alias"] == alias
        opensearch.index_doc(alias, {"@timestamp": "2026-01-01T00:00:00Z", "source": {"ip": "192.0.2.1"}}, "r1")
        assert opensearch.count(f"{alias}-000001") == 1
    finally:
        opensearch.request("DELETE", f"/{alias}-000001")
        for line in sinklib.run("setup", "--print", "--index-prefix", prefix, "--schemas", str(schemas)).stdout.decode().splitlines():
            path = json.loads(line)["path"]
            if path.startswith("/_index_template/"):
                opensearch.request("DELETE", path)
