"""Patrol planning in the web service, for commanders: a form, stored plans and downloads.

Every view needs the *commander* role (``login_required(role="commander")`` from
:mod:`geo_pcmt.web.auth`); if the auth module is missing every view answers 403, never an
open page. Plans are made by the one patrol run (:mod:`geo_pcmt.runs.patrol`) with the
signed-in user's role, so a commander's plan never holds a record above a commander's
clearance, and a plan above it (an admin's secret one) is not there for a commander. Plans
are stored with who made them; every view and download of a plan is written to the audit
log. A commander sees and plans for the border posts of their unit only
(:mod:`geo_pcmt.units`): the form lists those posts, a plan for another unit's post answers
403, and another unit's plans are not there (every page and download of one answers 404, as
for a plan that does not exist); admins and commanders of the province see every post.
Routes (blueprint ``patrol``, under ``/patrol``):

====================================  ===========================================================
``GET  /patrol/``                     the form and the latest plans
``POST /patrol/``                     plan, store, then go to the plan (JSON for API clients)
``GET  /patrol/<id>``                 the plan: teams, stops, times, links (JSON for API clients)
``GET  /patrol/<id>/brief``           the printable brief (HTML, Vietnamese)
``GET  /patrol/<id>.gpx``             GPX 1.1 for handheld GPS
``GET  /patrol/<id>.geojson``         RFC 7946 GeoJSON: post, stops, route lines
``GET  /patrol/<id>/map``             interactive map (the map module) with the routes
====================================  ===========================================================
"""
from __future__ import annotations

import json
from datetime import date
from functools import wraps
from typing import Callable

from flask import (Blueprint, Response, abort, current_app, g, jsonify, redirect,
                   render_template_string, request, url_for)
import shapely
from markupsafe import escape

from geo_pcmt import access, units
from geo_pcmt.analysis import patrol
from geo_pcmt.analysis.patrol import travel
from geo_pcmt.outputs import brief, gpx
from geo_pcmt.runs import patrol as patrol_run
from geo_pcmt.runs import patrol_tracks
from geo_pcmt.store import StoreError
from geo_pcmt.web.context import get_store

try:  # the auth blueprint is built separately; without it nothing here may open
    from geo_pcmt.web.auth import actor, current_role, current_unit, login_required
except ImportError:  # pragma: no cover - only while the auth module is absent
    actor = current_role = current_unit = login_required = None

try:
    from geo_pcmt.web.security import wants_html
except ImportError:  # pragma: no cover
    def wants_html() -> bool:
        best = request.accept_mimetypes.best_match(["application/json", "text/html"])
        return best == "text/html"

bp = Blueprint("patrol", __name__, url_prefix="/patrol")

MAX_TEAMS = 12
MAX_HOURS = 24


def commander_required(view: Callable) -> Callable:
    """The view needs a signed-in commander (or admin); 403 when auth is not installed."""
    if login_required is None:
        @wraps(view)
        def refuse(*args, **kwargs):
            abort(403, description="patrol plans need the commander role, and sign-in is not "
                                   "installed on this server")
        return refuse
    return login_required(role="commander")(view)


def _user() -> str:
    return actor() if actor is not None else "unknown"


def _role() -> str | None:
    """The signed-in user's role: whose clearance plans are read and made with."""
    return current_role() if current_role is not None else None


def _unit() -> str:
    return current_unit() if current_unit is not None else "province"


def _scope() -> tuple[str, ...] | None:
    """Ids of the posts this user sees and plans for (``None``: all), once per request."""
    if "patrol_scope" not in g:
        g.patrol_scope = patrol_run.unit_post_ids(get_store(), _unit(), _role())
    return g.patrol_scope


_FORM = """{% extends "base.html" %}
{% block title %}Kế hoạch tuần tra{% endblock %}
{% block body %}
<h1>Lập kế hoạch tuần tra <span class="en">Patrol planning</span></h1>
<p>Đơn vị <span class="en">Unit</span>: <strong>{{ unit_label }}</strong></p>
<div class="card">
  {% if error %}<p class="error">{{ error }}</p>{% endif %}
  <form method="post" action="{{ url_for('patrol.create') }}">
    <input type="hidden" name="{{ CSRF_FIELD }}" value="{{ csrf_token() }}">
    <label for="post">Đồn / trạm xuất phát <span class="en">Start post</span></label>
    <select id="post" name="post" required>
      {% if not posts %}<option value="">(đơn vị chưa có đồn nào / no post in your unit)</option>{% endif %}
      {% for p in posts %}<option value="{{ p.id }}"{% if p.id == form.post %} selected{% endif %}>{{ p.name }}</option>{% endfor %}
    </select>
    <label for="plan_date">Ngày tuần tra <span class="en">Date</span></label>
    <input type="date" id="plan_date" name="plan_date" value="{{ form.plan_date }}" required>
    <label for="start_time">Giờ xuất phát <span class="en">Start time</span></label>
    <input type="time" id="start_time" name="start_time" value="{{ form.start_time }}" required>
    <label for="hours">Thời gian mỗi tổ (giờ) <span class="en">Hours per team</span></label>
    <input type="number" id="hours" name="hours" min="0.5" max="{{ max_hours }}" step="0.5" value="{{ form.hours }}" required>
    <label for="teams">Số tổ <span class="en">Teams</span></label>
    <input type="number" id="teams" name="teams" min="1" max="{{ max_teams }}" step="1" value="{{ form.teams }}" required>
    <label for="mode">Phương tiện <span class="en">Mode</span></label>
    <select id="mode" name="mode">
      {% for key, m in modes.items() %}<option value="{{ key }}"{% if key == form.mode %} selected{% endif %}>{{ m.label_vi }} / {{ m.label_en }} ({{ m.speed_kmh|round(1) }} km/h)</option>{% endfor %}
    </select>
    <label for="radius_km">Bán kính (km, để trống = địa bàn phụ trách) <span class="en">Radius, empty = area of responsibility</span></label>
    <input type="number" id="radius_km" name="radius_km" min="1" max="100" step="1" value="{{ form.radius_km }}">
    <label><input type="checkbox" name="randomise" value="1"{% if form.randomise %} checked{% endif %}> Chọn ngẫu nhiên theo mức rủi ro, bảo đảm số lần/tuần <span class="en">Risk-randomised with a weekly guarantee</span></label>
    <label for="seed">Hạt giống (để trống = ngẫu nhiên, được lưu lại) <span class="en">Seed (empty = random, recorded)</span></label>
    <input type="number" id="seed" name="seed" min="0" step="1" value="{{ form.seed }}">
    <div><button class="primary" type="submit">Lập kế hoạch / Plan</button></div>
  </form>
</div>
<h2>Kế hoạch gần đây <span class="en">Recent plans</span></h2>
<div class="scroll"><table>
  <tr><th>Ngày</th><th>Đồn</th><th>Tổ</th><th>Phương tiện</th><th>Giờ</th><th>Rủi ro bao phủ</th><th>Người lập</th><th></th></tr>
  {% for p in plans %}
  <tr><td>{{ p.plan_date }}</td><td>{{ p.post }}</td><td class="num">{{ p.teams }}</td><td>{{ modes[p.mode].label_vi if p.mode in modes else p.mode }}</td>
      <td class="num">{{ p.hours }}</td><td class="num">{{ "%.1f"|format(p.risk_covered or 0) }} / {{ "%.1f"|format(p.risk_total or 0) }}</td>
      <td>{{ p.created_by }}</td><td><a href="{{ url_for('patrol.show', plan_id=p.id) }}">xem</a></td></tr>
  {% else %}<tr><td colspan="8">Chưa có kế hoạch nào.</td></tr>{% endfor %}
</table></div>
{% endblock %}"""

_SHOW = """{% extends "base.html" %}
{% block title %}Kế hoạch {{ plan.plan_id }}{% endblock %}
{% block body %}
<div class="secret">{{ mark }}</div>
<h1>Kế hoạch tuần tra {{ rep.post.name }} – {{ rep.plan_date }} <span class="en">{{ plan.plan_id }}</span></h1>
<div class="card">
  <p>{{ rep.n_teams }} tổ · {{ rep.mode_vi }} · xuất phát {{ rep.start_time }} · {{ rep.hours }} giờ ·
     rủi ro bao phủ {{ "%.1f"|format(rep.risk_covered) }} / {{ "%.1f"|format(rep.risk_total) }}
     ({{ "%.0f"|format(100 * rep.share_covered) }} %) · {{ rep.distance_km }} km · người lập {{ plan.created_by }}
     {% if rep.randomised %}· ngẫu nhiên theo rủi ro, hạt giống {{ rep.seed }}{% endif %}</p>
  <p><a href="{{ url_for('patrol.brief_view', plan_id=plan.plan_id) }}">Bản in (HTML) / Printable brief</a> ·
     <a href="{{ url_for('patrol.gpx_download', plan_id=plan.plan_id) }}">GPX</a> ·
     <a href="{{ url_for('patrol.geojson_download', plan_id=plan.plan_id) }}">GeoJSON</a> ·
     <a href="{{ url_for('patrol.map_view', plan_id=plan.plan_id) }}">Bản đồ / Map</a> ·
     <a href="{{ url_for('patrol.index') }}">Lập kế hoạch khác / New plan</a></p>
  {% for w in rep.warnings %}<p class="warning">{{ w }}</p>{% endfor %}
</div>
{% for t in rep.teams %}
<h2>Tổ {{ t.team }} <span class="en">Team {{ t.team }}</span>: {{ t.n_stops }} điểm, {{ t.distance_km }} km, về đồn {{ t.return_at or "—" }}</h2>
<div class="scroll"><table>
  <tr><th>TT</th><th>Giờ đến</th><th>Dừng (phút)</th><th>Mục tiêu</th><th>Rủi ro</th><th>Lý do</th></tr>
  {% for s in stops if s.team == t.team %}
  <tr><td class="num">{{ s.seq }}</td><td>{{ s.arrive_at }}</td><td class="num">{{ s.dwell_min }}</td>
      <td>{{ s.name }}</td><td class="num">{{ "%.1f"|format(s.risk) }}</td><td>{{ s.reason_vi }}</td></tr>
  {% endfor %}
</table></div>
{% endfor %}
{% if done %}
<h2>Kết quả thực hiện <span class="en">Planned against done (recorded GPS tracks)</span></h2>
<div class="scroll">{% include "patrol_done.html" %}</div>
{% endif %}
{% endblock %}"""


def _posts():
    """The posts of the user's unit, by name."""
    posts = access.read(get_store(), "border_posts", role=_role(),
                        columns=["id", "name", "unit", "area_of_responsibility"])
    scope = _scope()
    if scope is not None:
        posts = posts[posts["id"].astype(str).isin(scope)]
    return posts.sort_values("name")


def _render_form(error: str | None = None, status: int = 200, form: dict | None = None):
    posts = _posts()
    defaults = {"post": "", "plan_date": date.today().isoformat(), "start_time": "07:00",
                "hours": 6, "teams": 2, "mode": "foot", "radius_km": "", "randomise": False,
                "seed": ""}
    defaults.update(form or {})
    try:
        plans = patrol_run.list_plans(get_store(), role=_role(), limit=20,
                                      posts=_scope()).to_dict("records")
    except StoreError:
        plans = []
    html = render_template_string(
        _FORM, posts=posts.to_dict("records"), form=defaults, error=error, plans=plans,
        unit_label=units.unit_label(_unit(), posts),
        modes=travel.MODES, max_teams=MAX_TEAMS, max_hours=MAX_HOURS)
    return html, status


@bp.get("/")
@commander_required
def index():
    return _render_form()


class _FormError(ValueError):
    pass


def _number(form, name: str, kind, label: str, lo: float, hi: float, required: bool = True):
    raw = (form.get(name) or "").strip()
    if not raw:
        if required:
            raise _FormError(f"{label}: bắt buộc nhập / required")
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise _FormError(f"{label}: {raw!r} không phải là số / is not a number") from None
    if not lo <= value <= hi:
        raise _FormError(f"{label}: phải từ {lo:g} đến {hi:g} / must be {lo:g}–{hi:g}")
    return value


def _parse(form) -> dict:
    out = {"post": (form.get("post") or "").strip(),
           "plan_date": (form.get("plan_date") or "").strip() or date.today().isoformat(),
           "start_time": (form.get("start_time") or "07:00").strip(),
           "mode": (form.get("mode") or "foot").strip(),
           "randomise": str(form.get("randomise", "")).lower() in ("1", "true", "on", "yes")}
    if not out["post"]:
        raise _FormError("Chọn đồn xuất phát / choose a post")
    if out["mode"] not in travel.MODES:
        raise _FormError(f"Phương tiện không hợp lệ / unknown mode {out['mode']!r}")
    try:
        out["plan_date"] = date.fromisoformat(out["plan_date"]).isoformat()
    except ValueError:
        raise _FormError(f"Ngày không hợp lệ / bad date {out['plan_date']!r}") from None
    hours = _number(form, "hours", float, "Số giờ / hours", 0, MAX_HOURS)
    if hours <= 0:
        raise _FormError("Số giờ phải lớn hơn 0 / hours must be more than 0")
    out["hours"] = hours
    out["teams"] = _number(form, "teams", int, "Số tổ / teams", 1, MAX_TEAMS)
    out["radius_km"] = _number(form, "radius_km", float, "Bán kính / radius (km)", 1, 100,
                               required=False)
    out["seed"] = _number(form, "seed", int, "Hạt giống / seed", 0, 2**31 - 1, required=False)
    return out


@bp.post("/")
@commander_required
def create():
    form = request.get_json(silent=True) if request.is_json else request.form
    form = {k: (str(v) if v is not None else "") for k, v in (form or {}).items()}
    try:
        args = _parse(form)
    except _FormError as exc:
        return _error(str(exc), form)
    params = patrol_run.PatrolParams(
        post=args["post"], hours=args["hours"], teams=args["teams"], mode=args["mode"],
        plan_date=date.fromisoformat(args["plan_date"]), start_time=args["start_time"],
        radius_km=args["radius_km"], randomise=args["randomise"], seed=args["seed"],
        time_limit_s=float(current_app.config.get("PATROL_TIME_LIMIT_S", 10.0)), role=_role(),
        unit=_unit())
    store = get_store()
    try:
        result = patrol_run.run(patrol_run.read_inputs(store, params), params)
        plan_id, = patrol_run.write(store, result, user=_user())
        plan = result.plans[0]
    except access.AccessDenied as exc:  # another unit's post
        return _error(str(exc), form, 403)
    except patrol.PatrolError as exc:
        return _error(str(exc), form)
    except StoreError as exc:
        return _error(f"Không lưu được kế hoạch / the plan was not stored: {exc}", form, 503)
    if wants_html():
        return redirect(url_for("patrol.show", plan_id=plan_id), code=303)
    return jsonify(id=plan_id, report=plan.report, links=_links(plan_id)), 201


def _error(message: str, form: dict, status: int = 400):
    if wants_html():
        return _render_form(message, status, form)
    code = {400: "invalid_patrol_request", 403: "forbidden"}.get(status, "store_unavailable")
    return jsonify(code=code, error=code, description=message, status=status), status


def _links(plan_id: str) -> dict:
    return {"self": url_for("patrol.show", plan_id=plan_id),
            "brief": url_for("patrol.brief_view", plan_id=plan_id),
            "gpx": url_for("patrol.gpx_download", plan_id=plan_id),
            "geojson": url_for("patrol.geojson_download", plan_id=plan_id),
            "map": url_for("patrol.map_view", plan_id=plan_id)}


def _load(plan_id: str, what: str) -> patrol.PatrolPlan:
    store = get_store()
    try:
        plan = patrol_run.load_plan(store, plan_id, role=_role(), posts=_scope())
    except patrol.PatrolError:
        abort(404, description=f"no patrol plan {plan_id!r}")
    store.audit(_user(), f"read:{what}", "patrol_plans", [plan_id], {"post": plan.post.name})
    return plan


def _done(plan: patrol.PatrolPlan) -> patrol_tracks.TrackRun | None:
    """The plan against its recorded tracks (the patrol-track run, audited when there are
    tracks); ``None`` when none may be read."""
    store = get_store()
    params = patrol_tracks.TrackParams(plan_id=str(plan.plan_id), role=_role(), unit=_unit())
    try:
        inputs = patrol_tracks.read_inputs(store, params)
    except (access.AccessDenied, patrol.PatrolError):
        return None
    result = patrol_tracks.run(inputs, params)
    if len(inputs.tracks):
        patrol_tracks.write(store, result, user=_user())
    return result


@bp.get("/<plan_id>")
@commander_required
def show(plan_id: str):
    plan = _load(plan_id, "plan")
    done = _done(plan)
    if not wants_html():
        stops = plan.stops.drop(columns=plan.stops.geometry.name).to_dict("records") \
            if len(plan.stops) else []
        body = {"id": plan_id, "created_by": plan.created_by, "report": plan.report,
                "stops": stops, "links": _links(plan_id),
                "done": None if done is None else {
                    **done.comparison.summary,
                    # via pandas' JSON: missing values become null, never NaN
                    "stops": json.loads(done.comparison.stops.to_json(orient="records")),
                    "coverage": json.loads(done.coverage.to_json(orient="records"))}}
        return Response(json.dumps(body, ensure_ascii=False, default=str),
                        mimetype="application/json")
    stops = plan.stops.to_dict("records") if len(plan.stops) else []
    level = done.confidentiality if done is not None else plan.confidentiality
    return render_template_string(_SHOW, plan=plan, rep=plan.report, stops=stops,
                                  done=brief.track_context(done) if done else None,
                                  mark=access.marking([level], at_least="restricted")[0])


@bp.get("/<plan_id>/brief")
@commander_required
def brief_view(plan_id: str):
    plan = _load(plan_id, "brief")
    border = access.read(get_store(), "border_line", role=_role())
    html = brief.render_brief(plan, border=border, nonce=g.get("csp_nonce", ""),
                              done=_done(plan))
    return Response(html, mimetype="text/html")


@bp.get("/<plan_id>.gpx")
@commander_required
def gpx_download(plan_id: str):
    plan = _load(plan_id, "gpx")
    return Response(gpx.plan_to_gpx(plan), mimetype="application/gpx+xml",
                    headers={"Content-Disposition": f'attachment; filename="{plan_id}.gpx"'})


@bp.get("/<plan_id>.geojson")
@commander_required
def geojson_download(plan_id: str):
    plan = _load(plan_id, "geojson")
    return Response(json.dumps(patrol.plan_geojson(plan), ensure_ascii=False),
                    mimetype="application/geo+json",
                    headers={"Content-Disposition": f'attachment; filename="{plan_id}.geojson"'})


def _draw_teams(m, plan: patrol.PatrolPlan) -> list[tuple[int, str, int]]:
    """Each team's route and its stops numbered in order; (team, colour, stops) per team."""
    import folium
    teams = []
    for r in (plan.routes.to_dict("records") if len(plan.routes) else []):
        line = r.get("geometry")
        if line is None or line.is_empty:
            continue
        team = int(r["team"])
        colour = brief.TEAM_COLOURS[(team - 1) % len(brief.TEAM_COLOURS)]
        # control=False: the map's layer control is rendered before these groups exist
        group = folium.FeatureGroup(name=f"Tổ {team}", control=False)
        folium.PolyLine([(y, x) for x, y in line.coords], color=colour, weight=4,
                        tooltip=f"Tổ {team}").add_to(group)
        stops = plan.stops[plan.stops["team"] == r["team"]].sort_values("seq")
        for s in stops.to_dict("records"):
            text = (f"<b>Tổ {team} – điểm {int(s['seq'])}: {escape(s['name'])}</b><br>"
                    f"đến {escape(s['arrive_at'])}, dừng {float(s['dwell_min']):g} phút<br>"
                    f"{escape(s.get('reason_vi') or '')}")
            icon = folium.DivIcon(
                html=f'<div class="gp-stop" style="background:{colour}">{int(s["seq"])}</div>',
                icon_size=(22, 22), icon_anchor=(11, 11), class_name="gp-stop-icon")
            folium.Marker((s["geometry"].y, s["geometry"].x), icon=icon,
                          tooltip=f"Tổ {team} – điểm {int(s['seq'])}",
                          popup=folium.Popup(text, max_width=320)).add_to(group)
        group.add_to(m)
        teams.append((team, colour, len(stops)))
    return teams


def _team_legend(plan: patrol.PatrolPlan, teams: list[tuple[int, str, int]]) -> str:
    """The teams' colours and stop counts, and how to read the numbers (bottom left)."""
    rows = "".join(
        f'<div class="gp-li"><span class="gp-stop gp-stop-inline" style="background:{c}">1</span>'
        f"Tổ {t}: {n} điểm dừng</div>" for t, c, n in teams)
    return (
        "<style>.gp-stop{width:22px;height:22px;border-radius:50%;color:#fff;font:700 12px/18px "
        "system-ui,sans-serif;text-align:center;border:2px solid #fff;box-shadow:0 0 0 1px #333;"
        "box-sizing:border-box}.gp-stop-inline{display:inline-block;width:18px;height:18px;"
        "font-size:10px;line-height:14px;margin-right:5px}.gp-teams{position:fixed;left:10px;"
        "bottom:28px;z-index:1000;background:#fff;border:1px solid #888;border-radius:6px;"
        "padding:6px 9px;font:12px system-ui,sans-serif}.gp-teams b{display:block}</style>"
        f'<div class="gp-teams" role="note"><b>Tổ tuần tra – {escape(plan.post.name)}</b>{rows}'
        '<div class="gp-li"><span class="gp-stop gp-stop-inline" style="background:#111">●'
        "</span>Đồn xuất phát</div><div>Số trên điểm: thứ tự dừng của tổ</div></div>")


@bp.get("/<plan_id>/map")
@commander_required
def map_view(plan_id: str):
    try:
        import folium

        from geo_pcmt.outputs import map as mapping
    except ImportError:
        abort(404, description="the map module is not installed")
    plan = _load(plan_id, "map")
    g.csp_relaxed = True  # folium writes inline scripts: what security.relaxed_csp sets
    store = get_store()
    # the communes coloured by their class, as on the main map (status, recognitions, targets)
    frames = mapping.frames_from_store(store, _role() or "commander",
                                       layers=("communes", "commune_status", "recognitions",
                                               "targets", "border_line", "lao_provinces",
                                               "border_crossings", "border_posts"))
    # open the map on the communes the plan crosses (the map module's own way to zoom)
    lons, lats = [plan.post.lon], [plan.post.lat]
    for geom in list(plan.routes.geometry.dropna()) + list(plan.stops.geometry.dropna()):
        x0, y0, x1, y1 = geom.bounds
        lons += [x0, x1]
        lats += [y0, y1]
    box = shapely.box(min(lons), min(lats), max(lons), max(lats))
    communes = frames.get("communes")
    codes = () if communes is None else tuple(
        communes.loc[communes.intersects(box), "code"].astype(str))
    title = f"Tuần tra {plan.post.name} – {plan.report.get('plan_date', '')}"
    # the page shows the plan's stops: it carries the plan's mark (MẬT / TỐI MẬT), as its brief
    m = mapping.build(frames, role=_role() or "commander",
                      options=mapping.MapOptions(communes=codes, title=title,
                                                 layers=("communes", "border_line",
                                                         "lao_provinces", "border_crossings",
                                                         "border_posts")),
                      classification_floor=plan.confidentiality)
    teams = _draw_teams(m, plan)
    # a circle, not folium's default pin: its icon image would come from a CDN
    folium.CircleMarker((plan.post.lat, plan.post.lon), radius=9, color="#111111", weight=3,
                        fill=True, fill_color="#111111", fill_opacity=1,
                        tooltip=str(escape(plan.post.name))).add_to(m)
    m.get_root().html.add_child(folium.Element(_team_legend(plan, teams)), name="gp_teams")
    return Response(mapping.render_html(m, standalone=True), mimetype="text/html")
