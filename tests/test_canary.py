"""Canary records: a restricted value reaches exactly the roles the role table allows.

One ``secret`` and one ``restricted`` record go into every record layer, next to the Nậm Cắn
border post and inside the sample's dense cluster of retail points there. Then, for every role
(anonymous, viewer, analyst, commander, a commander of another unit, admin), every output
is walked: API collections, items and single items, the OpenAPI document, exports in every
format, the published layers, the map and the standalone map, patrol plans (page, brief, GPX,
GeoJSON, map page) made by a commander and by an admin, the derived layers after the hotspot
and status runs, and the CLI's exports and map written for each role. Each canary's id, name
and coordinates must appear only where the role table allows (a commander of another unit has
a commander's clearance, and sees no plan made for the post at all):

=========  ======================================================
canary     may appear for
=========  ======================================================
secret     admin
restricted analyst, commander (of any unit), admin
=========  ======================================================

If any one output read the store around :func:`geo_pcmt.access.read`, a canary would show up
where it must not, and this test fails.
"""
from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from geo_pcmt.cli import main
from geo_pcmt.ingest import boundaries
from geo_pcmt.ingest.sample_files import read as read_sample
from geo_pcmt.layers import LAYERS
from geo_pcmt.outputs.map import packing
from tests.backends import copy_store
from tests.conftest import bearer, make_app

pytestmark = pytest.mark.slow

ROLES = (None, "viewer", "analyst", "commander", "admin")
OTHER_UNIT = "commander_other_unit"  # a commander of Đồn BP Keng Đu (BP-002), not of POST
MAY_SEE = {"secret": {"admin"}, "restricted": {"analyst", "commander", OTHER_UNIT, "admin"}}
SPATIAL = ("retail_points", "opium_plots", "border_crossings", "border_posts", "cases",
           "facilities")
TABLES = ("commune_assessments", "recognitions", "targets")
POST = "BP-001"  # Đồn BP CKQT Nậm Cắn


class Canary:
    """One planted record: its id, its name and where it lies."""

    def __init__(self, layer: str, level: str, lon: float | None, lat: float | None):
        self.layer, self.level = layer, level
        tag = "S" if level == "secret" else "R"
        self.id = f"CANARY-{tag}-{layer}"
        self.name = f"Chim hoàng yến {tag} {layer}"
        self.lon, self.lat = lon, lat

    def found_in(self, text: str) -> list[str]:
        """What of this canary ``text`` shows (id, name, coordinates)."""
        out = []
        if self.id in text:
            out.append("id")
        if self.name in text:
            out.append("name")
        if self.lon is not None:
            lon, lat = re.escape(f"{self.lon:.4f}"), re.escape(f"{self.lat:.4f}")
            pair = rf"{lon}\d*\D{{1,40}}{lat}|{lat}\d*\D{{1,40}}{lon}"
            if re.search(pair, text):
                out.append("coordinates")
        return out

    def __repr__(self) -> str:
        return self.id


def _spot(sample: dict[str, pd.DataFrame]) -> tuple[float, float]:
    """A point inside the densest cluster of retail points within 15 km of the post."""
    post = sample["border_posts"].set_index("id").loc[POST, "geometry"]
    pts = sample["retail_points"]
    xy = np.column_stack([pts.geometry.x, pts.geometry.y])
    near = xy[np.hypot(xy[:, 0] - post.x, xy[:, 1] - post.y) < 0.15]
    counts = [(np.hypot(*(near - p).T) < 0.005).sum() for p in near]
    best = near[int(np.argmax(counts))]
    return float(best[0]), float(best[1])


def _canary_rows(sample, layer: str, spot: tuple[float, float], communes) -> tuple[pd.DataFrame, list[Canary]]:
    template = sample[layer].iloc[[0]]
    rows, canaries = [], []
    for k, level in enumerate(("secret", "restricted")):
        row = template.copy()
        lon = lat = None
        if layer in SPATIAL:
            # 4th decimal distinct per layer and level; the 6th makes the text unique
            lon = round(spot[0] + 0.0011 * (1 + SPATIAL.index(layer)) + 0.0003 * k, 4) + 0.000041
            lat = round(spot[1] + 0.0007 * (1 + k), 4) + 0.000037
            geom = shapely.Point(lon, lat)
            if template.geometry.iloc[0].geom_type == "Polygon":
                geom = shapely.box(lon - 0.0002, lat - 0.0002, lon + 0.0002, lat + 0.0002)
                geom = shapely.Polygon(list(geom.exterior.coords)[:-1] + [(lon, lat)])
            row = row.set_geometry([geom], crs=template.crs)
            if "commune_code" in row.columns:
                hit = communes[communes.contains(shapely.Point(lon, lat))]
                row["commune_code"] = hit["code"].iloc[0]
        canary = Canary(layer, level, lon, lat)
        row["id"] = canary.id
        row["confidentiality"] = level
        for field in ("name", "village", "address", "note"):
            if field in row.columns:
                row[field] = canary.name
        rows.append(row)
        canaries.append(canary)
    return pd.concat(rows, ignore_index=True), canaries


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The sample (2025 onwards for cases) plus canaries, derived layers and patrol plans."""
    d = tmp_path_factory.mktemp("canary")
    store = copy_store(d / "canary.gpkg")
    sample = read_sample()
    sample["cases"] = sample["cases"][sample["cases"]["date"].str[:4] >= "2025"]
    communes = boundaries.communes()
    spot = _spot(sample)
    canaries: list[Canary] = []
    for layer in SPATIAL + TABLES:
        frame = sample[layer]
        extra, planted = _canary_rows(sample, layer, spot, communes)
        if isinstance(frame, gpd.GeoDataFrame):
            frame = gpd.GeoDataFrame(pd.concat([frame, extra], ignore_index=True),
                                     geometry="geometry", crs=frame.crs)
        else:
            frame = pd.concat([frame, extra], ignore_index=True)
        store.write(layer, frame, mode="replace", user="fixture")
        canaries += planted
    runner = CliRunner()
    for args in (["status"], ["hotspots", "--out", str(d / "hotspots")]):
        res = runner.invoke(main, args + ["--store", str(store.path)])
        assert res.exit_code == 0, res.output
    app = make_app(store, d, API_LIMIT_MAX=100_000, API_LIMIT_DEFAULT=100_000,
                   PATROL_TIME_LIMIT_S=1.0)
    users = app.extensions["geo_pcmt_users"]
    users.add(OTHER_UNIT, "mật-khẩu-thử-nghiệm", "commander", unit="post:BP-002")
    app.config["TEST_TOKENS"][OTHER_UNIT] = users.create_token(OTHER_UNIT)[0]
    plans = {}
    for role in ("commander", "admin"):
        res = app.test_client().post("/patrol/", headers=bearer(app, role), data={
            "post": POST, "plan_date": "2026-01-15", "start_time": "07:00", "hours": "8",
            "teams": "2", "mode": "motorbike", "seed": "7"})
        assert res.status_code == 201, res.data
        plans[role] = res.get_json()["id"]
    return {"store": store, "app": app, "canaries": canaries, "plans": plans, "dir": d}


def _text_of(res) -> str:
    """What a person or a program could read in an answer, whatever its format."""
    body = res.get_data()
    kind = res.headers.get("Content-Type", "")
    if "spreadsheetml" in kind or body[:2] == b"PK":
        import openpyxl
        book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(" ".join("" if v is None else str(v) for v in row)
                         for sheet in book.worksheets for row in sheet.iter_rows(values_only=True))
    if "geopackage" in kind or body[:16].startswith(b"SQLite format 3"):
        return _gpkg_text(body)
    text = body.decode("utf-8", errors="replace")
    # a map page carries its data packed (deflated): read it as the page does
    return packing.page_text(text) if "text/html" in kind else text


def _gpkg_text(body: bytes) -> str:
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.gpkg"
        path.write_bytes(body)
        frames = [pyogrio.read_dataframe(path, layer=name) for name, _ in pyogrio.list_layers(path)]
    return "\n".join(f.to_csv() + (f.geometry.to_wkt().str.cat(sep="\n") if "geometry" in f else "")
                     for f in frames)


def _outputs(app, role, plans) -> dict[str, str]:
    """Every answer ``role`` gets from the web service, as text, by URL."""
    client = app.test_client()
    head = bearer(app, role)
    out: dict[str, str] = {}

    def grab(url, accept=None):
        res = client.get(url, headers={**head, **({"Accept": accept} if accept else {})})
        if res.status_code == 200:
            out[url] = _text_of(res)
        return res

    listing = grab("/api/collections?f=json")
    ids = [c["id"] for c in listing.get_json()["collections"]] if listing.status_code == 200 else []
    grab("/api/openapi?f=json")
    for cid in ids:
        grab(f"/api/collections/{cid}?f=json")
        grab(f"/api/collections/{cid}/items?f=json&limit=100000")
        for fmt in ("geojson", "csv", "xlsx", "gpkg"):
            grab(f"/export/{cid}.{fmt}")
    for layer in SPATIAL + TABLES:
        for tag in ("S", "R"):
            grab(f"/api/collections/{layer}/items/CANARY-{tag}-{layer}?f=json")
    published = client.get("/layers", headers={**head, "Accept": "application/json"})
    if published.status_code == 200:
        for name in re.findall(r"/layers/([a-z_]+)\.geojson", published.get_data(as_text=True)):
            grab(f"/layers/{name}.geojson")
    grab("/map", accept="text/html")
    grab("/map/standalone", accept="text/html")
    grab("/patrol/", accept="text/html")
    for plan_id in plans.values():
        for suffix in ("", ".gpx", ".geojson", "/brief", "/map"):
            grab(f"/patrol/{plan_id}{suffix}", accept="text/html")
    return out


def _cli_outputs(world, role, tmp_path) -> dict[str, str]:
    """The CLI's products made for ``role``: exports of every record layer and the map."""
    runner, store, out = CliRunner(), str(world["store"].path), {}
    for layer in SPATIAL + TABLES + ("hotspot_clusters", "complex_hotspots", "commune_status"):
        for fmt in ("geojson", "csv", "xlsx"):
            path = tmp_path / f"{role}-{layer}.{fmt}"
            res = runner.invoke(main, ["export", layer, "--format", fmt, "--out", str(path),
                                       "--role", role, "--store", store])
            if res.exit_code == 0 and path.exists():
                body = path.read_bytes()
                out[f"cli export {layer} {fmt}"] = (_text_of(_Answer(body)))
    path = tmp_path / f"{role}-map.html"
    res = runner.invoke(main, ["map", "--standalone", "--role", role, "--out", str(path),
                               "--store", store])
    assert res.exit_code == 0, res.output
    out["cli map"] = packing.page_text(path.read_text())
    return out


class _Answer:
    """A file's bytes dressed as a response for :func:`_text_of`."""

    def __init__(self, body: bytes):
        self.body, self.headers = body, {}

    def get_data(self):
        return self.body


def _leaks(canaries, role, outputs) -> list[str]:
    found = []
    for where, text in outputs.items():
        for c in canaries:
            if role in MAY_SEE[c.level]:
                continue
            shown = c.found_in(text)
            if shown:
                found.append(f"{c} ({c.level}) shows its {', '.join(shown)} to "
                             f"{role or 'anonymous'} in {where}")
    return found


@pytest.mark.parametrize("role", ROLES + (OTHER_UNIT,), ids=lambda r: r or "anonymous")
def test_no_web_output_shows_a_canary_to_a_role_that_may_not_read_it(world, role):
    outputs = _outputs(world["app"], role, world["plans"])
    assert outputs, "the role saw nothing at all: the walk is broken"
    leaks = _leaks(world["canaries"], role, outputs)
    assert leaks == [], "\n".join(leaks)


def test_a_commander_of_another_unit_sees_no_plan_made_for_the_post(world):
    """Units: BP-001's plans (the province commander's and the admin's) answer 404 on every
    route to a commander of Keng Đu, and no walked output holds their ids."""
    app, plans = world["app"], world["plans"]
    outputs = _outputs(app, OTHER_UNIT, plans)
    assert "/patrol/" in outputs and any("patrol_plans" in url for url in outputs)
    shown = [f"{plan_id} in {url}" for url, text in outputs.items()
             for plan_id in plans.values() if plan_id in text]
    assert shown == [], "\n".join(shown)
    client = app.test_client()
    for plan_id in plans.values():
        for suffix in ("", ".gpx", ".geojson", "/brief", "/map"):
            res = client.get(f"/patrol/{plan_id}{suffix}", headers=bearer(app, OTHER_UNIT))
            assert res.status_code == 404, (plan_id, suffix)


@pytest.mark.parametrize("role", ROLES[1:])
def test_no_cli_product_made_for_a_role_shows_a_canary_it_may_not_read(world, role, tmp_path):
    outputs = _cli_outputs(world, role, tmp_path)
    assert len(outputs) > 10, f"the CLI made almost nothing for {role}: {sorted(outputs)}"
    leaks = _leaks(world["canaries"], role, outputs)
    assert leaks == [], "\n".join(leaks)


@pytest.mark.parametrize("role", ("analyst", "commander", "admin"))
def test_the_canaries_a_role_may_read_are_there(world, role):
    """The walk is not vacuous: what a role may read, it finds, by id, name and position."""
    client, head = world["app"].test_client(), bearer(world["app"], role)
    for c in world["canaries"]:
        if role not in MAY_SEE[c.level]:
            continue
        res = client.get(f"/api/collections/{c.layer}/items/{c.id}?f=json", headers=head)
        assert res.status_code == 200, (role, c)
        text = res.get_data(as_text=True)
        assert c.found_in(text)[:1] == ["id"], (role, c)


def test_a_plan_made_by_an_admin_from_secret_records_is_secret(world):
    """Derived results carry the highest confidentiality of their inputs."""
    store = world["store"]
    admin_plan = store.read("patrol_plans", where={"id": world["plans"]["admin"]}).iloc[0]
    stops = store.read("patrol_stops", where={"plan_id": world["plans"]["admin"]})
    secret_stop = stops["target_id"].astype(str).str.startswith("CANARY-S").any()
    if secret_stop:
        assert admin_plan["confidentiality"] == "secret"
    commander_stops = store.read("patrol_stops", where={"plan_id": world["plans"]["commander"]})
    assert not commander_stops["target_id"].astype(str).str.startswith("CANARY-S").any()
