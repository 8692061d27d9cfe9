"""Field-sync simulation: phones offline for days, then syncing; nothing may be lost.

Run:  .venv/bin/python benchmarks/field_sync.py                  (20 phones, 10,000 edits)
      .venv/bin/python benchmarks/field_sync.py --edits 2000 --burst 100 --records 400

A GeoPackage store holds ``--records`` retail points in Kỳ Sơn; ``--devices`` phones (one
analyst each) work for ``--days`` simulated days. Each phone takes a snapshot
(``GET /api/field/snapshot``), then each day is offline with probability ``--offline``
(it keeps queueing) or syncs its queue at the end of the day (``POST /api/field/sync`` in
batches of ``--batch``) and takes a fresh snapshot. A phone works mostly on its own area's
records (one in ten edits on a neighbour's): last activity dates, status changes, notes in
the name, points moved (GPS, see below), and new drug cases. On day ``--burst-day`` every
phone makes
``--burst`` edits in all at the same moment to the same 25 records. One response in twenty
is "lost" and the batch sent again (answered ``duplicate``).

How a point is moved: an officer stands at the place and records a GPS fix. Each record's
stored point is its geocoded address, off the true place by a geocoding error drawn once per
record (a random direction, 5–40 m). A move sends the true place plus GPS noise: the phone
reports an accuracy ``a`` drawn from 4–15 m, the ~68 % radius of a circular normal error, so
the noise has σ = a / 1.510 per axis (see :func:`geo_pcmt.sync.merge.fixes_agree`); the
edit carries ``accuracy_m = a``. One move in ten (``--other-place``) is genuinely another
place — the neighbouring house, 30–80 m from the true place in a random direction (plus the
same GPS noise): those must stay conflicts when they meet a fix of the true place; the
report counts any the GPS rule merged instead.

As in the app, a field the phone already shows at the value chosen is not sent (the burst's
officers often find the status they would set): such an edit records the sighting date.

Checked at the end: every edit answered, none lost — each is applied, merged, a
duplicate, or a conflict stored with the phone's values; every edit id is in
``field_edits`` and every created case is stored. Reported: merges, conflicts left for a
person (share of all edits; the issue asks ≤ 1 %), and the server time per 1,000 synced
edits (the sync calls only; snapshots are reported apart).
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo_pcmt import access  # noqa: E402
from geo_pcmt.store import open_store  # noqa: E402
from geo_pcmt.users import UserStore  # noqa: E402
from geo_pcmt.web import create_app  # noqa: E402

FAST_HASH = "pbkdf2:sha256:1000"
HOT = 25  # records the burst's edits share
STATUSES = ("active", "watch", "re-emerged")
GEOCODE_ERROR_M = (5.0, 40.0)   # how far a stored (geocoded) point is from the true place
ACCURACY_M = (4.0, 15.0)        # the accuracies phones report (68 % radius)
OTHER_PLACE_M = (30.0, 80.0)    # "the neighbouring house": another place, this far off
SIGMA_PER_ACCURACY = 1 / math.sqrt(-2 * math.log(1 - 0.68))  # σ per axis of a 68 % radius


@dataclass
class Phone:
    """One device: its token, its view of the records, its queue, what it sent."""

    name: str
    token: str
    area: list[str]
    neighbour: list[str]
    known: dict = field(default_factory=dict)   # id -> feature as last snapshotted or edited
    queue: list = field(default_factory=list)
    created: int = 0


def seed_store(path: Path, records: int, seed: int) -> None:
    """``records`` valid retail points in Kỳ Sơn (Mường Xén / Nậm Cắn area)."""
    rng = random.Random(seed)
    store = open_store(str(path))
    store.init()
    lon = [104.10 + rng.random() * 0.12 for _ in range(records)]
    lat = [19.34 + rng.random() * 0.12 for _ in range(records)]
    frame = gpd.GeoDataFrame({
        "id": [f"RP-{i:05d}" for i in range(records)], "source": "mô phỏng",
        "type": "diem_ban_le", "status": "active", "first_seen": "2025-06-01",
        "name": [f"Điểm {i}" for i in range(records)], "confidentiality": "restricted"},
        geometry=shapely.points(lon, lat), crs="EPSG:4326")
    store.write("retail_points", frame, mode="replace", user="seed")
    store.close()


def make_app(folder: Path, store_url: str, devices: int):
    users = UserStore(folder / "users.sqlite", hash_method=FAST_HASH).init()
    tokens = []
    for d in range(devices):
        users.add(f"can_bo_{d:02d}", "mật-khẩu-mô-phỏng", "analyst")
        tokens.append(users.create_token(f"can_bo_{d:02d}")[0])
    app = create_app({"STORE": store_url, "TESTING": True, "USERS_DB": str(folder / "users.sqlite"),
                      "PASSWORD_HASH_METHOD": FAST_HASH})
    return app, tokens


class Simulation:
    def __init__(self, app, tokens: list[str], ids: list[str], args):
        self.app, self.args = app, args
        self.rng = random.Random(args.seed)
        self.client = app.test_client()
        n = len(tokens)
        self.phones = [Phone(f"dev{d:02d}", t, [i for k, i in enumerate(ids) if k % n == d],
                             [i for k, i in enumerate(ids) if k % n == (d + 1) % n])
                       for d, t in enumerate(tokens)]
        self.hot = ids[:HOT]
        self.sent: dict[str, dict] = {}        # edit_id -> the edit
        self.answers: dict[str, list] = {}     # edit_id -> every status answered
        self.sync_s, self.snapshot_s, self.calls = [], [], 0
        self.truth: dict[str, tuple[float, float]] = {}   # id -> the true place (lon, lat)
        self.other_place: set[str] = set()     # edit ids of moves to another place

    def place_truth(self, features: dict) -> None:
        """The true place of every record: its stored point off by a geocoding error."""
        for fid, f in features.items():
            lon, lat = f["geometry"]["coordinates"]
            self.truth[fid] = _offset(lon, lat, self.rng.uniform(*GEOCODE_ERROR_M),
                                      self.rng.uniform(0, 2 * math.pi))

    def gps_move(self, fid: str) -> tuple[dict, float, bool]:
        """A GPS fix taken at the record's true place (or, one in ten, at another place
        nearby): the point, the accuracy the phone reports, whether it is another place."""
        rng = self.rng
        lon, lat = self.truth[fid]
        other = rng.random() < self.args.other_place
        if other:
            lon, lat = _offset(lon, lat, rng.uniform(*OTHER_PLACE_M), rng.uniform(0, 2 * math.pi))
        accuracy = round(rng.uniform(*ACCURACY_M), 1)
        sigma = accuracy * SIGMA_PER_ACCURACY
        lon, lat = _offset(lon, lat, sigma * rng.gauss(0, 1), 0.0)
        lon, lat = _offset(lon, lat, sigma * rng.gauss(0, 1), math.pi / 2)
        return {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]}, accuracy, other

    def call(self, phone: Phone, method: str, url: str, body=None):
        kw = {"headers": {"Authorization": f"Bearer {phone.token}"}}
        if body is not None:
            kw["data"], kw["content_type"] = json.dumps(body, ensure_ascii=False), \
                "application/json"
        return self.client.open(url, method=method, **kw)

    def snapshot(self, phone: Phone) -> None:
        t = time.perf_counter()
        res = self.call(phone, "GET", "/api/field/snapshot?layers=retail_points")
        self.snapshot_s.append(time.perf_counter() - t)
        features = res.get_json()["layers"]["retail_points"]["features"]
        phone.known = {f["id"]: f for f in features}

    # --- making edits ---------------------------------------------------------------------

    def edit(self, phone: Phone, day: int, fid: str | None = None, kind: str | None = None):
        rng = self.rng
        if fid is None and rng.random() < 0.3:
            return self.create(phone, day)
        fid = fid or rng.choice(phone.neighbour if rng.random() < 0.1 else phone.area)
        f = phone.known[fid]
        props, when = f["properties"], f"2026-03-{1 + day:02d}"
        kind = kind or rng.choices(["last_activity", "status", "name", "geometry"],
                                   [40, 25, 15, 20])[0]
        geometry, accuracy, other = None, 6.0, False
        if kind == "last_activity":
            changes = {"last_activity": when}
        elif kind == "status":
            changes = {"status": rng.choice([s for s in STATUSES if s != props["status"]])}
        elif kind == "name":
            changes = {"name": f"Điểm {fid[3:]} (ghi chú {phone.name} ngày {day + 1})"}
        else:
            geometry, accuracy, other = self.gps_move(fid)
        e = self.queue(phone, fid, f, changes if geometry is None else {}, geometry, day,
                       accuracy)
        if other:
            self.other_place.add(e["edit_id"])

    def queue(self, phone: Phone, fid: str, f: dict, changes: dict, geometry, day: int,
              accuracy: float = 6.0) -> dict:
        # as the app: a field at the value the phone shows is not sent; an officer who finds
        # nothing to change records the sighting (the last activity) instead
        changes = {k: v for k, v in changes.items() if f["properties"].get(k) != v}
        if not changes and geometry is None:
            changes = {"last_activity": f"2026-03-{1 + day:02d}"}
        base = {k: f["properties"].get(k) for k in changes}
        if geometry is not None:
            base["geometry"] = f["geometry"]
        e = {"edit_id": str(uuid.uuid4()), "layer": "retail_points", "op": "update", "id": fid,
             "base_version": f["version"], "base": base, "changes": changes,
             "geometry": geometry, "recorded_at": f"2026-03-{1 + day:02d}T10:00:00+07:00",
             "accuracy_m": accuracy}
        phone.queue.append(e)
        self.sent[e["edit_id"]] = e
        # the phone now shows its own change (its next edit's base)
        phone.known[fid] = {**f, "properties": {**f["properties"], **changes},
                            "geometry": geometry or f["geometry"]}
        return e

    def create(self, phone: Phone, day: int):
        phone.created += 1
        lon, lat = 104.10 + self.rng.random() * 0.12, 19.34 + self.rng.random() * 0.12
        e = {"edit_id": str(uuid.uuid4()), "layer": "cases", "op": "create",
             "id": f"cases-202603{1 + day:02d}-{phone.name[-4:]}-{phone.created}",
             "base_version": None, "changes": {
                 "source": "thực địa", "date": f"2026-03-{1 + day:02d}",
                 "kind": self.rng.choice(["retail", "possession", "transport"]),
                 "offenders": self.rng.randint(1, 3)},
             "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
             "recorded_at": f"2026-03-{1 + day:02d}T15:00:00+07:00", "accuracy_m": 10.0}
        phone.queue.append(e)
        self.sent[e["edit_id"]] = e

    def burst(self, day: int, total: int) -> None:
        """``total`` edits at one moment, every phone, the same 25 records."""
        for k in range(total):
            phone = self.phones[k % len(self.phones)]
            fid = self.hot[k % HOT]
            kind = self.rng.choices(["last_activity", "status", "geometry", "name"],
                                    [45, 40, 10, 5])[0]
            if kind == "status":  # what officers at the same place see: mostly the same
                f = phone.known[fid]
                status = "watch" if self.rng.random() < 0.9 else "re-emerged"
                self.queue(phone, fid, f, {"status": status}, None, day)
            else:
                self.edit(phone, day, fid, kind)

    # --- syncing ----------------------------------------------------------------------------

    def sync(self, phone: Phone) -> None:
        while phone.queue:
            batch, phone.queue = phone.queue[:self.args.batch], phone.queue[self.args.batch:]
            for attempt in (1, 2):
                t = time.perf_counter()
                res = self.call(phone, "POST", "/api/field/sync",
                                {"device": phone.name, "edits": batch})
                self.sync_s.append(time.perf_counter() - t)
                self.calls += 1
                assert res.status_code == 200, res.get_json()
                for r in res.get_json()["results"]:
                    self.answers.setdefault(r["edit_id"], []).append(r)
                if self.rng.random() >= 0.05:  # else the answer is "lost": send again
                    break
        self.snapshot(phone)

    def run(self) -> None:
        a = self.args
        for p in self.phones:
            self.snapshot(p)
        self.place_truth(self.phones[0].known)
        per_day = (a.edits - a.burst) / (a.days * len(self.phones))
        for day in range(a.days):
            for p in self.phones:
                for _ in range(int(per_day) + (self.rng.random() < per_day % 1)):
                    self.edit(p, day)
            if day == a.burst_day:
                self.burst(day, a.burst)
            for p in self.phones:
                if day == a.days - 1 or self.rng.random() >= a.offline:
                    self.sync(p)


def check(sim: Simulation, store) -> dict:
    """What became of every edit (see the module docstring); raises if one is lost."""
    first = {eid: rs[0] for eid, rs in sim.answers.items()}
    statuses = Counter(r["status"] for r in first.values())
    resent = Counter(r["status"] for rs in sim.answers.values() for r in rs[1:])
    unanswered = [e for e in sim.sent if e not in first]
    logged = set(access.read(store, "field_edits", role="admin", columns=["id"])["id"])
    conflicts = access.read(store, "field_conflicts", role="admin")
    stored = dict(zip(conflicts["edit_id"], conflicts["phone_value"]))
    lost = list(unanswered) + [e for e in sim.sent if e not in logged]
    for eid, r in first.items():
        e = sim.sent[eid]
        if r["status"] == "rejected":
            lost.append(eid)
        if r["status"] == "conflict":
            phone = json.loads(stored.get(eid, "{}"))
            mine = {**e["changes"], **({"geometry": e["geometry"]} if e["geometry"] else {})}
            if not phone or any(k in mine and phone[k] != mine[k] for k in phone):
                lost.append(eid)
    creates = [e["id"] for e in sim.sent.values() if e["op"] == "create"]
    have = set(access.read(store, "cases", role="admin", columns=["id"])["id"])
    lost += [c for c in creates if c not in have]
    by_rule = _gps_merged(store)
    ms = sorted(sim.sync_s)
    by_field = Counter(conflicts["fields"]) if len(conflicts) else Counter()
    return {"edits": len(sim.sent), "statuses": dict(statuses), "resent": dict(resent),
            "conflict_fields": dict(by_field.most_common()),
            "moves": sum(1 for e in sim.sent.values() if e["op"] == "update" and e["geometry"]),
            "gps_merged": len(by_rule),
            "other_place": len(sim.other_place),
            "other_place_merged": len(by_rule & sim.other_place),
            "other_place_conflict": sum(1 for eid in sim.other_place
                                        if first.get(eid, {}).get("status") == "conflict"),
            "lost": len(lost), "conflicts": int(statuses["conflict"]),
            "conflict_share": statuses["conflict"] / max(1, len(sim.sent)),
            "calls": sim.calls, "sync_s": sum(ms),
            "per_1000_s": sum(ms) / max(1, len(sim.sent)) * 1000,
            "call_p50_ms": 1000 * ms[len(ms) // 2] if ms else 0.0,
            "call_max_ms": 1000 * ms[-1] if ms else 0.0,
            "snapshot_p50_ms": 1000 * sorted(sim.snapshot_s)[len(sim.snapshot_s) // 2]}


def _gps_merged(store) -> set[str]:
    """The edit ids whose point the GPS-accuracy rule merged (the audit record of each
    ``field_edits`` write says so: ``rules`` is ``{edit id: {field: why}}``)."""
    log = access.read(store, "audit_log", role="admin", where={"layer": "field_edits"},
                      columns=["detail"])
    out = set()
    for text in log["detail"].dropna():
        if '"rules"' in text:
            rules = json.loads(text).get("rules") or {}
            out.update(eid for eid, r in rules.items() if "geometry" in r)
    return out


def _offset(lon: float, lat: float, metres: float, bearing: float) -> tuple[float, float]:
    """``(lon, lat)`` moved ``metres`` towards ``bearing`` (radians from east)."""
    return (lon + metres * math.cos(bearing) / (111_320.0 * math.cos(math.radians(lat))),
            lat + metres * math.sin(bearing) / 110_574.0)


def simulate(folder: Path, *, devices: int = 20, edits: int = 10_000, days: int = 14,
             burst: int = 500, burst_day: int = 7, records: int = 1000, batch: int = 200,
             offline: float = 0.4, seed: int = 20, other_place: float = 0.1) -> dict:
    """Run the simulation in ``folder`` (GeoPackage); the figures of :func:`check`."""
    args = argparse.Namespace(devices=devices, edits=edits, days=days, burst=burst,
                              burst_day=burst_day, records=records, batch=batch,
                              offline=offline, seed=seed, other_place=other_place)
    seed_store(folder / "field.gpkg", records, seed)
    app, tokens = make_app(folder, str(folder / "field.gpkg"), devices)
    sim = Simulation(app, tokens, [f"RP-{i:05d}" for i in range(records)], args)
    sim.run()
    store = open_store(str(folder / "field.gpkg"))
    try:
        return check(sim, store)
    finally:
        store.close()


def _table(r: dict) -> str:
    s = r["statuses"]
    rows = [("edits made on phones", f"{r['edits']:,}"),
            ("applied (base still current)", f"{s.get('applied', 0):,}"),
            ("merged automatically", f"{s.get('merged', 0):,}"),
            ("conflicts left for a person", f"{r['conflicts']:,} ({r['conflict_share']:.2%})"),
            ("  of which on the field(s)", ", ".join(f"{k} {v}" for k, v in
                                                   r["conflict_fields"].items())),
            ("points moved (GPS fixes)", f"{r['moves']:,}"),
            ("  merged by the GPS-accuracy rule", f"{r['gps_merged']:,}"),
            ("  another place: conflict / merged", f"{r['other_place_conflict']:,} / "
                                                  f"{r['other_place_merged']:,} of "
                                                  f"{r['other_place']:,}"),
            ("rejected", f"{s.get('rejected', 0):,}"),
            ("re-sent answers (duplicate)", f"{sum(r['resent'].values()):,}"),
            ("lost", f"{r['lost']:,}"),
            ("sync calls", f"{r['calls']:,}"),
            ("server time per 1,000 edits", f"{r['per_1000_s']:.2f} s"),
            ("sync call p50 / max", f"{r['call_p50_ms']:.0f} / {r['call_max_ms']:.0f} ms"),
            ("snapshot p50", f"{r['snapshot_p50_ms']:.0f} ms")]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v:>16}" for k, v in rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", type=int, default=20)
    p.add_argument("--edits", type=int, default=10_000)
    p.add_argument("--days", type=int, default=14)
    p.add_argument("--burst", type=int, default=500)
    p.add_argument("--burst-day", type=int, default=7)
    p.add_argument("--records", type=int, default=1000)
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--offline", type=float, default=0.4)
    p.add_argument("--seed", type=int, default=20)
    p.add_argument("--other-place", type=float, default=0.1,
                   help="share of moves that are genuinely another place (30–80 m off)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="field_sync_") as tmp:
        t = time.perf_counter()
        r = simulate(Path(tmp), **{k: v for k, v in vars(a).items()})
        print(f"GeoPackage, {a.devices} phones, {a.days} days, burst of {a.burst} on "
              f"{HOT} records ({time.perf_counter() - t:.0f} s in all)")
        print(_table(r))


if __name__ == "__main__":
    main()
