"""The printable patrol brief (Vietnamese): one HTML page with print CSS and an inline SVG map.

Everything is in one file — no script, no external style sheet, no tiles — so it prints,
opens offline from a USB stick and passes the web service's strict Content-Security-Policy
(the one ``<style>`` block carries the request's nonce when served). The map is drawn from
the plan's own geometries in EPSG:32648 (metres, north up) with a scale bar.

:func:`brief_pdf` prints it to PDF with headless Chromium when one is installed (the map's
print layouts use the same function).
"""
from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely
from jinja2 import Environment, FileSystemLoader, select_autoescape

from geo_pcmt.access import marking
from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.formatting import fmt_compact, fmt_number, fmt_percent
from geo_pcmt.paths import PACKAGE_DIR
from geo_pcmt.values import is_missing, text

if TYPE_CHECKING:  # pragma: no cover
    from geo_pcmt.analysis.patrol import PatrolPlan
    from geo_pcmt.runs.patrol_tracks import TrackRun

TEMPLATE = "patrol_brief.html"
TEAM_COLOURS = ("#1f5fa8", "#c0392b", "#1e8449", "#7d3c98", "#d35400", "#117a65", "#6e2c00",
                "#2e4053")
WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
KIND_VI = {"complex_place": "Địa bàn, tụ điểm phức tạp",
           "complex_hotspot": "Địa bàn phức tạp", "gistar_cell": "Điểm nóng Gi*",
           "hotspot_cluster": "Cụm điểm nóng", "border_crossing": "Cửa khẩu/lối mở/đường mòn",
           "opium_plot": "Nương thuốc phiện", "opium_area": "Khu vực trồng cũ",
           "target": "Mục tiêu"}


class BriefError(RuntimeError):
    """The brief could not be produced (e.g. no Chromium for the PDF)."""


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(PACKAGE_DIR / "web" / "templates")),
                       autoescape=select_autoescape(["html"]), trim_blocks=True,
                       lstrip_blocks=True)


def date_vi(value: str | date) -> str:
    """``Thứ Năm, 15/01/2026`` for 2026-01-15."""
    d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{WEEKDAYS_VI[d.weekday()]}, {d:%d/%m/%Y}"


def _nice_step(length_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 × 10^k metres) about a fifth of the map width."""
    target = max(length_m / 5.0, 1.0)
    power = 10 ** math.floor(math.log10(target))
    for step in (1, 2, 5, 10):
        if step * power >= target:
            return step * power
    return 10 * power  # pragma: no cover


def svg_map(plan: "PatrolPlan", *, border: gpd.GeoDataFrame | None = None,
            width_px: int = 640, max_height_px: int = 440, margin_m: float = 800.0) -> dict:
    """What the template needs to draw the map: view box, paths, points, labels, scale.

    Every value is a number or plain text (the template escapes text); colours come from
    :data:`TEAM_COLOURS`. ``border`` (the Viet Nam–Laos line) is clipped to the view.
    """
    post = gpd.GeoSeries([shapely.Point(plan.post.lon, plan.post.lat)], crs=STORAGE_CRS)
    post_m = post.to_crs(METRIC_CRS).iloc[0]
    routes = plan.routes[~plan.routes.geometry.isna()] if len(plan.routes) else plan.routes
    routes_m = routes.to_crs(METRIC_CRS) if len(routes) else routes
    stops_m = plan.stops.to_crs(METRIC_CRS) if len(plan.stops) else plan.stops
    geoms = [post_m] + (list(routes_m.geometry) if len(routes_m) else []) + \
        (list(stops_m.geometry) if len(stops_m) else [])
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(geoms, dtype=object))
    minx, miny, maxx, maxy = minx - margin_m, miny - margin_m, maxx + margin_m, maxy + margin_m
    span_x, span_y = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
    # widen (or heighten) the view to the page's proportions so the map fills its box
    aspect = width_px / max_height_px
    if span_x / span_y < aspect:
        grow = (span_y * aspect - span_x) / 2
        minx, maxx = minx - grow, maxx + grow
    else:
        grow = (span_x / aspect - span_y) / 2
        miny, maxy = miny - grow, maxy + grow
    span_x, span_y = maxx - minx, maxy - miny
    scale = min(width_px / span_x, max_height_px / span_y)
    w, h = span_x * scale, span_y * scale

    def xy(x: float, y: float) -> tuple[float, float]:
        return round((x - minx) * scale, 1), round((maxy - y) * scale, 1)

    def path(line) -> str:
        parts = []
        for part in shapely.get_parts(line):
            coords = shapely.get_coordinates(part)
            if len(coords) < 2:
                continue
            pts = [xy(float(a), float(b)) for a, b in coords]
            parts.append("M" + " L".join(f"{px},{py}" for px, py in pts))
        return " ".join(parts)

    box = shapely.box(minx, miny, maxx, maxy)
    border_paths = []
    if border is not None and len(border):
        for g in border.to_crs(METRIC_CRS).geometry:
            clipped = shapely.intersection(g, box)
            if not clipped.is_empty:
                border_paths.append(path(clipped))
    team_paths = []
    for r in (routes_m.to_dict("records") if len(routes_m) else []):
        team_paths.append({"team": int(r["team"]), "d": path(r["geometry"]),
                           "colour": TEAM_COLOURS[(int(r["team"]) - 1) % len(TEAM_COLOURS)]})
    points = []
    for r in (stops_m.to_dict("records") if len(stops_m) else []):
        px, py = xy(r["geometry"].x, r["geometry"].y)
        points.append({"x": px, "y": py, "label": f"{int(r['team'])}.{int(r['seq'])}",
                       "colour": TEAM_COLOURS[(int(r["team"]) - 1) % len(TEAM_COLOURS)],
                       "forced": bool(r.get("forced"))})
    step = _nice_step(span_x)
    px, py = xy(post_m.x, post_m.y)
    return {"width": round(w, 1), "height": round(h, 1), "border": border_paths,
            "routes": team_paths, "stops": points, "post": {"x": px, "y": py},
            "scale": {"px": round(step * scale, 1),
                      "label": f"{step / 1000:g} km" if step >= 1000 else f"{step:g} m"}}


def _row_vi(r: dict[str, Any]) -> dict[str, Any]:
    g = r.get("geometry")
    notes = []
    if r.get("forced"):
        notes.append("bắt buộc trong tuần")
    if r.get("revisit"):
        notes.append("quay lại lần 2")
    lao = text(r.get("lao_counterpart"), "").strip()
    if lao:
        notes.append(f"phía Lào: {lao}")
    return {"seq": int(r["seq"]), "arrive_at": r.get("arrive_at") or "",
            "depart_at": r.get("depart_at") or "", "dwell_min": fmt_compact(r['dwell_min']),
            "travel_min": fmt_number(r.get('travel_min') or 0, 0),
            "distance_km": fmt_number(float(r.get('distance_m') or 0) / 1000, 1),
            "name": r.get("name") or r.get("target_id"),
            "kind": KIND_VI.get(str(r.get("target_kind")), str(r.get("target_kind") or "")),
            "risk": fmt_number(r.get('risk') or 0, 1),
            "reason": r.get("reason_vi") or "", "notes": "; ".join(notes),
            "lat": f"{g.y:.5f}" if g is not None else "", "lon": f"{g.x:.5f}" if g is not None else ""}


LOCAL_TZ = "Asia/Ho_Chi_Minh"


def _time_vi(value: Any) -> str:
    """An ISO time as ``07:40 15/01`` in Việt Nam time (times without a zone are local)."""
    if is_missing(value) or not str(value).strip():
        return "—"
    import pandas as pd
    t = pd.Timestamp(str(value))
    if t.tzinfo is not None:
        t = t.tz_convert(LOCAL_TZ)
    return t.strftime("%H:%M %d/%m")


def _stop_status(s: dict) -> str:
    if s["reached"]:
        return f"Đã đến (cách điểm {fmt_number(s['closest_m'])} m)"
    if s["marked"]:
        return f"Tổ báo đã kiểm tra lúc {_time_vi(s['marked_at'])} (GPS không ghi nhận)"
    near = "" if is_missing(s["closest_m"]) else \
        f" (gần nhất {fmt_number(s['closest_m'])} m)"
    return "Chưa thực hiện" + near


def track_context(result: "TrackRun") -> dict:
    """Planned against done, as the text an officer reads (Vietnamese, decimal comma, no
    internal ids): for the brief and the plan's web page (``patrol_done.html``)."""
    cmp, summary = result.comparison, result.comparison.summary
    stops = cmp.stops.to_dict("records")
    head = (f"Đã thực hiện {summary['done']}/{summary['planned']} điểm dừng "
            f"({summary['reached']} điểm GPS ghi nhận đến trong bán kính "
            f"{fmt_number(summary['visit_radius_m'])} m) · rủi ro đã bao phủ "
            f"{fmt_number(summary['risk_done'], 1)}/{fmt_number(summary['risk_planned'], 1)} "
            f"({fmt_percent(summary['share_done'])}) · {summary['tracks']} hành trình, "
            f"{fmt_number(summary['km_walked'], 1)} km")
    tracks = [{
        "team": "—" if is_missing(t["team"]) else int(t["team"]),
        "started": _time_vi(t["started_at"]), "ended": _time_vi(t["ended_at"]),
        "hours": fmt_number(t["hours"], 1), "hours_planned": fmt_number(t["hours_planned"], 1),
        "km": fmt_number(t["km_walked"], 1), "km_planned": fmt_number(t["km_planned"], 1),
        "reached": f"{t['done']}/{t['planned']}",
        "deviation": "—" if is_missing(t["deviation_km"]) else
        f"{fmt_number(t['deviation_km'], 1)} ({fmt_percent(t['deviation_share'])}, "
        f"{int(t['excursions'])} lần)",
        "recorded_by": text(t["recorded_by"], "—")} for t in cmp.tracks.to_dict("records")]
    coverage = [{"name": text(c["name"], "—"), "risk": fmt_number(c["risk"], 1),
                 "required": int(c["required"]), "planned": int(c["planned"]),
                 "done": int(c["done"]), "verdict": "Đạt" if c["met"] else "Chưa đạt"}
                for c in result.coverage.to_dict("records")]
    day = date.fromisoformat(str(result.plan.report["plan_date"])[:10])
    monday = day.toordinal() - day.weekday()
    week = (f"{date.fromordinal(monday):%d/%m} – {date.fromordinal(monday + 6):%d/%m/%Y}")
    return {"headline": head, "tracks": tracks, "coverage": coverage, "week": week,
            "deviation_m": fmt_number(cmp.deviation_m),
            "stops": [{"team": int(s["team"]), "seq": int(s["seq"]),
                       "name": text(s["name"], "—"), "risk": fmt_number(s["risk"], 1),
                       "status": _stop_status(s)} for s in stops],
            "findings": [(f"Tổ {int(f['team'])}: " if not is_missing(f["team"]) else "")
                         + f["findings"] for f in result.findings]}


def brief_context(plan: "PatrolPlan", *, border: gpd.GeoDataFrame | None = None,
                  unit: str | None = None) -> dict:
    """Everything the brief template shows, as plain values."""
    rep = plan.report
    rows = plan.stops.to_dict("records") if len(plan.stops) else []
    teams = []
    for t in rep.get("teams", []):
        team = int(t["team"])
        teams.append({
            "team": team, "colour": TEAM_COLOURS[(team - 1) % len(TEAM_COLOURS)],
            "n_stops": int(t["n_stops"]),
            "distance_km": fmt_number(t['distance_km'], 1),
            "duration_h": fmt_number(float(t['duration_min']) / 60, 1),
            "return_at": t.get("return_at") or "—",
            "risk": fmt_number(t['risk'], 1),
            "stops": [_row_vi(r) for r in rows if int(r["team"]) == team],
        })
    share = float(rep.get("share_covered") or 0) * 100
    return {
        "unit": unit or plan.post.unit or "", "post": plan.post.name,
        "post_lat": f"{plan.post.lat:.5f}", "post_lon": f"{plan.post.lon:.5f}",
        "date_vi": date_vi(rep["plan_date"]), "plan_date": rep["plan_date"],
        "start_time": rep.get("start_time", ""), "hours": fmt_compact(rep.get('hours', 0)), "mode_vi": rep.get("mode_vi", rep.get("mode", "")),
        "n_teams": rep.get("n_teams"), "teams": teams, "plan_id": plan.plan_id or "(chưa lưu)",
        "marking": plan.marking_vi,
        "created_by": plan.created_by or "", "randomised": bool(rep.get("randomised")),
        "seed": rep.get("seed"), "visits_per_week": rep.get("visits_per_week"),
        "risk_covered": fmt_number(rep.get('risk_covered', 0), 1),
        "risk_total": fmt_number(rep.get('risk_total', 0), 1),
        "share": fmt_number(share, 0),
        "distance_km": fmt_number(rep.get('distance_km', 0), 1), "method": rep.get("method", ""),
        "crossings": rep.get("crossings", []), "dropped": rep.get("dropped", [])[:8],
        "warnings": rep.get("warnings", []), "map": svg_map(plan, border=border),
        "printed_at": datetime.now(timezone.utc).astimezone().strftime("%d/%m/%Y %H:%M"),
    }


def render_brief(plan: "PatrolPlan", *, border: gpd.GeoDataFrame | None = None,
                 unit: str | None = None, nonce: str = "",
                 done: "TrackRun | None" = None) -> str:
    """The brief as one HTML page (Vietnamese, A4, print CSS, inline SVG map).

    Parameters
    ----------
    plan : PatrolPlan
    border : GeoDataFrame, optional
        The border line to draw on the map (clipped to the plan's area).
    unit : str, optional
        Unit name for the header (default: the post's unit).
    nonce : str
        CSP nonce for the ``<style>`` block when the page is served by the web service.
    done : TrackRun, optional
        The plan against its recorded tracks (:mod:`geo_pcmt.runs.patrol_tracks`): adds the
        section "Kết quả thực hiện" (stops done, time, distance, deviations, the week's
        coverage from done stops).

    Examples
    --------
    >>> html = render_brief(plan, border=store.read("border_line"))  # doctest: +SKIP
    """
    ctx = brief_context(plan, border=border, unit=unit)
    ctx["done"] = track_context(done) if done is not None else None
    if done is not None:  # a secret track makes the brief that shows it secret
        ctx["marking"] = marking([done.confidentiality], at_least="restricted")[0]
    return _env().get_template(TEMPLATE).render(nonce=nonce, **ctx)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def brief_pdf(html: str, path: str | Path, *, timeout_s: float = 60.0,
              browser: str | None = None, settle_ms: int = 0) -> Path:
    """Print an HTML page to PDF with headless Chromium, as its print CSS lays it out.

    The one PDF printer of the package: the patrol brief (A4) and the map's print layouts
    (A4/A3, the paper set by the page's ``@page`` rule) both go through it.

    Parameters
    ----------
    html : str
        A self-contained page (the file is written to a temporary folder).
    path : str or Path
        The PDF to write.
    timeout_s : float
        Chromium is stopped after this long.
    browser : str, optional
        The Chromium executable (default: found on ``PATH``).
    settle_ms : int
        Virtual time the page's scripts get before printing (the map draws itself with
        JavaScript); 0 prints at load, as the brief needs no script.
    """
    exe = browser or _chromium()
    if exe is None:
        raise BriefError("PDF needs Chromium (apt-get install chromium); the HTML page prints "
                         "the same from any browser")
    path = Path(path).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "page.html"
        src.write_text(html, encoding="utf-8")
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--no-pdf-header-footer",
               f"--user-data-dir={tmp}/profile", f"--print-to-pdf={path}"]
        if settle_ms:
            cmd.append(f"--virtual-time-budget={int(settle_ms)}")
        try:
            done = subprocess.run(cmd + [src.as_uri()], capture_output=True, timeout=timeout_s,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise BriefError(f"Chromium did not finish the PDF within {timeout_s:g} s") from None
    if not path.exists() or path.stat().st_size == 0:
        raise BriefError(f"Chromium made no PDF: {done.stderr.decode(errors='replace')[-300:]}")
    return path
