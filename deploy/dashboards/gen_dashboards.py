#!/usr/bin/env python3
"""Generate the OpenSearch Dashboards saved objects of siemproc
(deploy/dashboards/siemproc-dashboards.ndjson) from the schemas.

One index pattern per index name of the schemas (log-aws-elb-*, ...) plus
"log-*" for all of them; one dashboard per index name (its log family) and an
overview: events over time by dataset, top actions and outcomes, top source
IPs and their countries on a map, top user agents, failed logins, findings by
severity. A panel is only added to a family whose schemas write the fields it
needs.

Import: `siemproc setup --dashboards-url URL` or Dashboards' Saved objects >
Import. Usage: gen_dashboards.py [--check] [--out FILE] [--schemas DIR]
(--check: exit 1 when FILE differs from what the schemas give).
"""
import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).with_name("siemproc-dashboards.ndjson")
OSD_VERSION = "7.10.2"  # the saved-object migration version OpenSearch Dashboards 1.x-3.x accept
FAILED_LOGINS = "event.category:authentication and event.outcome:failure"
FINDINGS = "event.kind:alert"
# What "user_agent": true adds to a type's documents (processor/useragent.c).
USER_AGENT_FIELDS = {"user_agent.name", "user_agent.version", "user_agent.os.name", "user_agent.os.version",
                     "user_agent.os.full", "user_agent.os.kernel", "user_agent.device.name"}


def families(schema_dir):
    """{index name: {"types": [...], "fields": set(targets)}} from the schemas."""
    out = {}
    for path in sorted(Path(schema_dir).glob("*.json")):
        s = json.loads(path.read_text())
        fam = out.setdefault(s["index"]["name"], {"types": [], "fields": set()})
        fam["types"].append(s["name"])
        fam["fields"] |= set(s.get("fields", {})) | set(s.get("static", {}))
        for prefix in s.get("geoip", []):
            fam["fields"] |= {f"{prefix}.geo.location", f"{prefix}.geo.country_iso_code"}
        if s.get("user_agent"):
            fam["fields"] |= USER_AGENT_FIELDS
    return out


def agg(i, typ, schema, **params):
    return {"id": str(i), "enabled": True, "type": typ, "schema": schema, "params": params}


def count():
    return agg(1, "count", "metric")


def terms(i, field, schema, size=10):
    return agg(i, "terms", schema, field=field, size=size, order="desc", orderBy="1",
               otherBucket=False, missingBucket=False)


def date_hist(i):
    return agg(i, "date_histogram", "segment", field="@timestamp", interval="auto", min_doc_count=1,
               extended_bounds={}, useNormalizedOpenSearchInterval=True, scaleMetricValues=False,
               drop_partials=False)


# type -> params the visualization editor expects
PARAMS = {
    "histogram": {"type": "histogram", "addTooltip": True, "addLegend": True, "legendPosition": "right",
                  "times": [], "addTimeMarker": False, "grid": {"categoryLines": False},
                  "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": True,
                                    "scale": {"type": "linear"}, "labels": {"show": True, "filter": True},
                                    "title": {}}],
                  "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left",
                                 "show": True, "scale": {"type": "linear", "mode": "normal"},
                                 "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                                 "title": {"text": "Count"}}],
                  "seriesParams": [{"show": True, "type": "histogram", "mode": "stacked",
                                    "data": {"label": "Count", "id": "1"}, "valueAxis": "ValueAxis-1",
                                    "drawLinesBetweenPoints": True, "showCircles": True}]},
    "table": {"perPage": 10, "showPartialRows": False, "showMetricsAtAllLevels": False, "showTotal": False,
              "totalFunc": "sum", "percentageCol": ""},
    "pie": {"type": "pie", "addTooltip": True, "addLegend": True, "legendPosition": "right", "isDonut": True,
            "labels": {"show": False, "values": True, "last_level": True, "truncate": 100}},
    "tile_map": {"mapType": "Scaled Circle Markers", "isDesaturated": True, "addTooltip": True,
                 "heatClusterSize": 1.5, "legendPosition": "bottomright", "mapZoom": 2, "mapCenter": [0, 0],
                 "wms": {"enabled": False}},
}


def panel_specs():
    """(key, title, vis type, aggs, query, fields it needs) of every panel kind."""
    return [
        ("events", "Events over time", "histogram", [count(), date_hist(2), terms(3, "event.dataset", "group")],
         "", set()),
        ("actions", "Top actions", "table", [count(), terms(2, "event.action", "bucket", 20)], "",
         {"event.action"}),
        ("outcomes", "Outcomes", "pie", [count(), terms(2, "event.outcome", "segment", 5)], "", {"event.outcome"}),
        ("source_ips", "Top source IPs", "table", [count(), terms(2, "source.ip", "bucket", 20)], "",
         {"source.ip"}),
        ("countries", "Source countries", "tile_map",
         [count(), agg(2, "geohash_grid", "segment", field="source.geo.location", autoPrecision=True,
                       precision=2, useGeocentroid=True, isFilteredByCollar=True)], "", {"source.geo.location"}),
        ("top_countries", "Top source countries", "table",
         [count(), terms(2, "source.geo.country_iso_code", "bucket", 20)], "", {"source.geo.country_iso_code"}),
        ("user_agents", "Top user agents", "table",
         [count(), terms(2, "user_agent.name", "bucket", 20), terms(3, "user_agent.os.name", "bucket", 5)], "",
         {"user_agent.name", "user_agent.os.name"}),
        ("failed_logins", "Failed logins", "histogram", [count(), date_hist(2), terms(3, "user.name", "group")],
         FAILED_LOGINS, {"event.outcome", "user.name"}),
        ("findings", "Findings by severity", "pie", [count(), terms(2, "event.severity", "segment", 10)], FINDINGS,
         {"event.severity"}),
    ]


def index_pattern(pid, title):
    return {"id": pid, "type": "index-pattern", "migrationVersion": {"index-pattern": OSD_VERSION},
            "attributes": {"title": title, "timeFieldName": "@timestamp"}, "references": []}


def visualization(vid, title, vtype, aggs, query, pattern_id):
    search = {"query": {"query": query, "language": "kuery"}, "filter": [],
              "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index"}
    vis = {"title": title, "type": vtype, "aggs": aggs, "params": PARAMS[vtype]}
    return {"id": vid, "type": "visualization", "migrationVersion": {"visualization": OSD_VERSION},
            "attributes": {"title": title, "visState": json.dumps(vis), "uiStateJSON": "{}", "description": "",
                           "version": 1, "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(search)}},
            "references": [{"name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern",
                            "id": pattern_id}]}


def dashboard(did, title, vis_ids):
    panels, refs = [], []
    for n, vid in enumerate(vis_ids):
        panels.append({"version": OSD_VERSION, "panelIndex": str(n + 1), "embeddableConfig": {},
                       "gridData": {"x": 24 * (n % 2), "y": 15 * (n // 2), "w": 24, "h": 15, "i": str(n + 1)},
                       "panelRefName": f"panel_{n}"})
        refs.append({"name": f"panel_{n}", "type": "visualization", "id": vid})
    search = {"query": {"query": "", "language": "kuery"}, "filter": []}
    return {"id": did, "type": "dashboard", "migrationVersion": {"dashboard": OSD_VERSION},
            "attributes": {"title": title, "description": "generated by deploy/dashboards/gen_dashboards.py",
                           "panelsJSON": json.dumps(panels), "optionsJSON": json.dumps({"hidePanelTitles": False,
                                                                                      "useMargins": True}),
                           "version": 1, "timeRestore": True, "timeFrom": "now-24h", "timeTo": "now",
                           "refreshInterval": {"pause": True, "value": 0},
                           "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(search)}},
            "references": refs}


def board(key, title, pattern_id, fields):
    """Visualizations and the dashboard over one index pattern (fields None: all panels)."""
    objs, ids = [], []
    for pkey, ptitle, vtype, aggs, query, needs in panel_specs():
        if fields is not None and not needs <= fields:
            continue
        vid = f"siemproc-{key}-{pkey}"
        objs.append(visualization(vid, f"{title}: {ptitle}", vtype, aggs, query, pattern_id))
        ids.append(vid)
    objs.append(dashboard(f"siemproc-{key}", f"siemproc: {title}", ids))
    return objs


def generate(schema_dir):
    fams = families(schema_dir)
    objs = [index_pattern("siemproc-all", "log-*")]
    objs += board("overview", "Overview", "siemproc-all", None)
    for index, fam in sorted(fams.items()):
        pid = f"siemproc-{index}"
        objs.append(index_pattern(pid, f"{index}-*"))
        fields = fam["fields"] | {"@timestamp", "event.dataset"}
        objs += board(index, f"{index} ({', '.join(fam['types'])})", pid, fields)
    return "".join(json.dumps(o, sort_keys=True) + "\n" for o in objs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--schemas", type=Path, default=ROOT / "schemas")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    text = generate(a.schemas)
    if a.check:
        if not a.out.exists() or a.out.read_text() != text:
            print(f"{a.out} is out of date: run {Path(__file__).relative_to(ROOT)}", file=sys.stderr)
            return 1
        return 0
    a.out.write_text(text)
    print(f"wrote {a.out} ({text.count(chr(10))} objects)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
