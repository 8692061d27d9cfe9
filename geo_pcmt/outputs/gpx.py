"""GPX 1.1 for handheld GPS: a patrol plan as waypoints + one route and one track per team.

Written with the standard library (``xml.etree``) in the element order of the GPX 1.1 schema
(``http://www.topografix.com/GPX/1/1``): ``metadata``, ``wpt``…, ``rte``…, ``trk``…; inside a
waypoint ``time``, ``name``, ``cmt``, ``desc``, ``sym``, ``type``. Coordinates are WGS 84
lon/lat with 6 decimals. Names are short (devices cut long names); the full reason and the
planned times go into ``desc`` and ``cmt``.

:func:`read_gpx` reads GPX 1.0/1.1 files back (waypoints, routes, tracks), for example a
track recorded on patrol.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import shapely

from geo_pcmt.formatting import fmt_number

if TYPE_CHECKING:  # pragma: no cover
    from geo_pcmt.analysis.patrol import PatrolPlan

GPX_NS = "http://www.topografix.com/GPX/1/1"
GPX10_NS = "http://www.topografix.com/GPX/1/0"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{GPX_NS} http://www.topografix.com/GPX/1/1/gpx.xsd"
NAME_MAX = 30  # many handheld units show about this many characters


class GpxError(ValueError):
    """A GPX file that cannot be read."""


def _el(parent: ET.Element, tag: str, text: Any = None, **attrib: str) -> ET.Element:
    e = ET.SubElement(parent, f"{{{GPX_NS}}}{tag}", attrib)
    if text is not None:
        e.text = str(text)
    return e


def _coord(lon: float, lat: float) -> dict[str, str]:
    if not (-90 <= lat <= 90 and -180 <= lon < 180):
        raise GpxError(f"coordinate out of range: lon {lon}, lat {lat}")
    return {"lat": f"{lat:.6f}", "lon": f"{lon:.6f}"}


def _short(text: str, limit: int = NAME_MAX) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or str(v).strip() == ""


def _metadata(root: ET.Element, plan: "PatrolPlan") -> None:
    rep = plan.report
    meta = _el(root, "metadata")
    _el(meta, "name", f"Tuần tra {plan.post.name} {rep.get('plan_date', '')}".strip())
    _el(meta, "desc", f"{rep.get('n_teams', '')} tổ, {rep.get('mode_vi', rep.get('mode', ''))}, "
                      f"xuất phát {rep.get('start_time', '')}, {rep.get('hours', '')} giờ. "
                      f"{plan.marking_vi} – chỉ dùng cho lực lượng tuần tra.")
    if plan.created_by:
        author = _el(meta, "author")
        _el(author, "name", plan.created_by)
    _el(meta, "time", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))


def _stop_name(r: dict) -> str:
    return _short(f"T{int(r['team'])}-{int(r['seq']):02d} {r.get('name', '')}")


def _waypoints(root: ET.Element, plan: "PatrolPlan", rows: list[dict], post_name: str) -> None:
    """The post, then every stop (name, planned times in ``cmt``, the reason in ``desc``)."""
    wpt = _el(root, "wpt", **_coord(plan.post.lon, plan.post.lat))
    _el(wpt, "name", post_name)
    _el(wpt, "desc", f"Điểm xuất phát và kết thúc: {plan.post.name}")
    _el(wpt, "sym", "Flag, Red")
    _el(wpt, "type", "post")
    for r in rows:
        g = r["geometry"]
        w = _el(root, "wpt", **_coord(g.x, g.y))
        _el(w, "name", _stop_name(r))
        depart = r.get("depart_at") or ""
        _el(w, "cmt", f"Tổ {int(r['team'])}, điểm {int(r['seq'])}: đến {r.get('arrive_at', '')}"
                      + (f", rời {depart}" if depart else "")
                      + f", dừng {float(r.get('dwell_min', 0)):g} phút")
        desc = str(r.get("reason_vi") or "")
        if not _blank(r.get("lao_counterpart")):
            desc += f" | Phía Lào: {r['lao_counterpart']}"
        if desc:
            _el(w, "desc", desc)
        _el(w, "sym", "Flag, Blue")
        _el(w, "type", str(r.get("target_kind") or "target"))


def _routes(root: ET.Element, plan: "PatrolPlan", rows: list[dict], post_name: str) -> None:
    """One route per team: post → stops → post (what a GPS unit navigates)."""
    post = (plan.post.lon, plan.post.lat, post_name)
    for t in sorted({int(r["team"]) for r in rows}):
        own = [r for r in rows if int(r["team"]) == t]
        rte = _el(root, "rte")
        _el(rte, "name", f"Tổ {t} – {_short(plan.post.name, 22)}")
        _el(rte, "desc", f"Tổ {t}: {len(own)} điểm dừng")
        _el(rte, "number", t)
        points = [(r["geometry"].x, r["geometry"].y, _stop_name(r)) for r in own]
        for lon, lat, name in [post, *points, post]:
            pt = _el(rte, "rtept", **_coord(lon, lat))
            _el(pt, "name", name)


def _tracks(root: ET.Element, plan: "PatrolPlan") -> None:
    """One track per team: every vertex of the planned route line."""
    routes = plan.routes
    for r in (routes.to_dict("records") if len(routes) else []):
        line = r.get("geometry")
        if line is None or line.is_empty:
            continue
        trk = _el(root, "trk")
        _el(trk, "name", f"Lộ trình tổ {int(r['team'])}")
        km = r.get("distance_km")
        if not _blank(km):
            _el(trk, "desc", f"{fmt_number(km, 1)} km, về đồn lúc {r.get('return_at') or ''}")
        _el(trk, "number", int(r["team"]))
        seg = _el(trk, "trkseg")
        for lon, lat in shapely.get_coordinates(line):
            _el(seg, "trkpt", **_coord(float(lon), float(lat)))


def plan_to_gpx(plan: "PatrolPlan", *, creator: str = "geo_pcmt") -> str:
    """The plan as a GPX 1.1 document (text).

    Waypoints: the post (``PX``) and every stop, named ``T<team>-<seq> <name>``. Routes: one
    per team, post → stops → post (what a GPS unit navigates). Tracks: one per team, the
    planned path with every vertex of the route line (network paths when a network was used).
    The metadata carries the plan's classification (``MẬT``, ``TỐI MẬT`` for a secret plan).

    Examples
    --------
    >>> text = plan_to_gpx(my_plan)  # doctest: +SKIP
    >>> text.startswith('<?xml version="1.0" encoding="UTF-8"?>')  # doctest: +SKIP
    True
    """
    ET.register_namespace("", GPX_NS)
    ET.register_namespace("xsi", XSI_NS)
    root = ET.Element(f"{{{GPX_NS}}}gpx", {"version": "1.1", "creator": creator,
                                          f"{{{XSI_NS}}}schemaLocation": SCHEMA_LOCATION})
    _metadata(root, plan)
    rows = plan.stops.to_dict("records") if len(plan.stops) else []
    post_name = _short(f"PX {plan.post.name}")
    _waypoints(root, plan, rows, post_name)
    _routes(root, plan, rows, post_name)
    _tracks(root, plan)
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


@dataclass
class GpxData:
    """What a GPX file holds: waypoints, routes and tracks as plain lists.

    ``tracks`` is a list of tracks; a track is a list of segments; a segment a list of
    ``(lon, lat, time or None)``.
    """

    waypoints: list[dict] = field(default_factory=list)
    routes: list[dict] = field(default_factory=list)
    tracks: list[dict] = field(default_factory=list)


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def read_gpx(data: str | bytes) -> GpxData:
    """Read a GPX 1.0 or 1.1 document (waypoints, routes, tracks with times).

    Raises
    ------
    GpxError
        Not XML, not GPX, or a point without valid lat/lon (the message names it).
    """
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise GpxError(f"not a GPX file (XML error: {exc})") from None
    ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    if root.tag.split("}")[-1] != "gpx" or ns not in (GPX_NS, GPX10_NS, ""):
        raise GpxError(f"not a GPX file (root element {root.tag!r})")
    q = (lambda t: f"{{{ns}}}{t}") if ns else (lambda t: t)

    def point(e: ET.Element, where: str) -> tuple[float, float, datetime | None]:
        try:
            lat, lon = float(e.attrib["lat"]), float(e.attrib["lon"])
        except (KeyError, ValueError):
            raise GpxError(f"{where}: missing or invalid lat/lon {dict(e.attrib)}") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise GpxError(f"{where}: lat/lon out of range ({lat}, {lon})")
        return lon, lat, _time(e.findtext(q("time")))

    out = GpxData()
    for i, w in enumerate(root.findall(q("wpt"))):
        lon, lat, t = point(w, f"waypoint {i + 1}")
        out.waypoints.append({"lon": lon, "lat": lat, "time": t, "name": w.findtext(q("name")),
                              "desc": w.findtext(q("desc")), "cmt": w.findtext(q("cmt")),
                              "type": w.findtext(q("type"))})
    for i, r in enumerate(root.findall(q("rte"))):
        pts = [point(p, f"route {i + 1} point {j + 1}")
               for j, p in enumerate(r.findall(q("rtept")))]
        out.routes.append({"name": r.findtext(q("name")), "points": pts})
    for i, trk in enumerate(root.findall(q("trk"))):
        segs = [[point(p, f"track {i + 1} point {j + 1}")
                 for j, p in enumerate(s.findall(q("trkpt")))]
                for s in trk.findall(q("trkseg"))]
        out.tracks.append({"name": trk.findtext(q("name")), "segments": segs})
    return out
