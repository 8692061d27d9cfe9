"""Admin pages: the audit log (view, filter, export) and the users (add, list, set the unit,
disable, enable, reset the password).

The audit log is append-only: the store refuses writes to it and appends its own records
in the same transaction as each write; these pages only read it. Exporting it is itself
recorded. User changes made here are audited like those made with ``geo-pcmt user``.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Iterator

from flask import Blueprint, Response, redirect, render_template, request, url_for

from geo_pcmt import access
from geo_pcmt.access import ROLES
from geo_pcmt.runs import patrol as patrol_run
from geo_pcmt.units import UnitError
from geo_pcmt.users import UserError
from geo_pcmt.web.context import get_store
from geo_pcmt.web.auth import current_role, current_user, get_users, login_required
from geo_pcmt.web.security import ApiError, wants_html

bp = Blueprint("admin", __name__, url_prefix="/admin")

AUDIT_PAGE = 100
AUDIT_COLUMNS = ["at", "user", "action", "layer", "ids", "detail"]
_AUDIT_FILTERS = ("user", "action", "layer")


def _require(check, what: str) -> None:
    if not check(current_role()):
        raise ApiError(403, "forbidden", f"{what} needs the admin role")


def _audit_where() -> tuple[dict, dict]:
    """``(store where, the filters as given)`` from the query string."""
    where, given = {}, {}
    for key in _AUDIT_FILTERS:
        value = request.args.get(key, "").strip()
        if value:
            where[key] = value[:200]
            given[key] = value[:200]
    lo, hi = request.args.get("since", "").strip(), request.args.get("until", "").strip()
    for name, value in (("since", lo), ("until", hi)):
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise ApiError(400, "invalid_parameter", f"{name} must be a date YYYY-MM-DD") \
                    from None
            given[name] = value
    if lo or hi:
        where["at"] = slice(lo or None, (hi + "\uffff") if hi else None)
    return where, given


@bp.get("/audit")
@login_required
def audit():
    """The audit log, newest first, filtered by user, action, layer and dates."""
    _require(access.can_view_audit, "the audit log")
    store = get_store()
    where, given = _audit_where()
    try:
        page = max(0, int(request.args.get("page", "0")))
    except ValueError:
        raise ApiError(400, "invalid_parameter", "page must be a whole number") from None
    total = store.count("audit_log", where=where)
    stop = total - page * AUDIT_PAGE
    start = max(0, stop - AUDIT_PAGE)
    rows = []
    if stop > 0:
        frame = store.read("audit_log", where=where, limit=stop - start, offset=start)
        rows = frame[["id"] + AUDIT_COLUMNS].to_dict("records")[::-1]
    if not wants_html():
        return {"total": total, "page": page, "page_size": AUDIT_PAGE, "records": rows}
    return render_template("audit.html", rows=rows, total=total, page=page,
                           pages=max(1, -(-total // AUDIT_PAGE)), given=given,
                           page_size=AUDIT_PAGE)


def _audit_rows(store, where: dict) -> Iterator[dict]:
    """Audit records oldest first, 5000 at a time (runs while the response streams)."""
    offset = 0
    while True:
        frame = store.read("audit_log", where=where, limit=5000, offset=offset)
        if not len(frame):
            return
        yield from frame[["id"] + AUDIT_COLUMNS].to_dict("records")
        offset += len(frame)


@bp.get("/audit.<fmt>")
@login_required
def audit_export(fmt: str):
    """The (filtered) audit log as CSV or JSON lines, oldest first, streamed."""
    _require(access.can_view_audit, "the audit log")
    if fmt not in ("csv", "jsonl"):
        raise ApiError(404, "unknown_format", "export the audit log as audit.csv or audit.jsonl")
    where, given = _audit_where()
    store = get_store()
    store.audit(current_user().username, "export", "audit_log", [],
                {"format": fmt, "filter": given})

    def as_csv():
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=["id"] + AUDIT_COLUMNS)
        writer.writeheader()
        yield "\ufeff" + buf.getvalue()
        for row in _audit_rows(store, where):
            buf.seek(0)
            buf.truncate()
            writer.writerow(row)
            yield buf.getvalue()

    def as_jsonl():
        for row in _audit_rows(store, where):
            yield json.dumps(row, ensure_ascii=False) + "\n"

    body, mime = (as_csv(), "text/csv; charset=utf-8") if fmt == "csv" else \
        (as_jsonl(), "application/x-ndjson")
    return Response(body, content_type=mime,
                    headers={"Content-Disposition": f'attachment; filename="audit_log.{fmt}"'})


# --- users -------------------------------------------------------------------------------

def _users_page(error: str | None = None, status: int = 200, temporary: tuple | None = None):
    users = get_users()
    tokens = {}
    for t in users.list_tokens():
        if t.active:
            tokens[t.username] = tokens.get(t.username, 0) + 1
    choices = patrol_run.unit_choices(get_store())
    labels = dict(choices)
    return render_template("users.html", users=users.list_users(), tokens=tokens, roles=ROLES,
                           error=error, temporary=temporary, units=choices,
                           unit_labels=labels), status


def _unit_of_form() -> str:
    """The unit the form names, checked against the store (``UnitError`` if unknown)."""
    return str(patrol_run.resolve_unit(get_store(), request.form.get("unit", "")))


@bp.get("/users")
@login_required
def users_page():
    """Every user with role, state and number of active tokens."""
    _require(access.can_manage_users, "managing users")
    if not wants_html():
        return {"users": [u.as_dict() for u in get_users().list_users()]}
    return _users_page()


@bp.post("/users")
@login_required
def add_user():
    """Create a user from the form."""
    _require(access.can_manage_users, "managing users")
    form = request.form
    try:
        user = get_users().add(form.get("username", ""), form.get("password", ""),
                               form.get("role", ""), display_name=form.get("display_name", "")
                               .strip(), unit=_unit_of_form())
    except (UserError, UnitError) as exc:
        return _users_page(str(exc), 400)
    get_store().audit(current_user().username, "user:add", None, [user.username],
                      {"role": user.role, "unit": user.unit})
    return redirect(url_for("admin.users_page"))


@bp.post("/users/<username>/unit")
@login_required
def set_unit(username: str):
    """Move a user to another unit (from the form's ``unit``): it applies from their next
    request."""
    _require(access.can_manage_users, "managing users")
    if get_users().get(username) is None:
        raise ApiError(404, "not_found", f"no user named {username[:80]!r}")
    try:
        user = get_users().set_unit(username, _unit_of_form())
    except (UserError, UnitError) as exc:
        return _users_page(str(exc), 400)
    get_store().audit(current_user().username, "user:unit", None, [user.username],
                      {"unit": user.unit})
    if not wants_html():
        return {"username": user.username, "unit": user.unit}
    return redirect(url_for("admin.users_page"))


_SELF_REFUSED = {
    "disable": "không thể tự khóa tài khoản của mình / you cannot disable yourself",
    "reset": "đổi mật khẩu của chính mình ở trang tài khoản / change your own password on "
             "the account page",
}


@bp.post("/users/<username>/reset")
@login_required
def reset_password(username: str):
    """Give a user a temporary password (shown once, to hand over in person) that must be
    changed at the next sign-in; every session and API token of the user ends."""
    _require(access.can_manage_users, "managing users")
    if username == current_user().username:
        return _users_page(_SELF_REFUSED["reset"], 400)
    try:
        temporary = get_users().reset_password(username)
    except UserError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    get_store().audit(current_user().username, "user:reset", None, [username], {})
    if not wants_html():
        return {"username": username, "temporary_password": temporary,
                "must_change_password": True}
    return _users_page(temporary=(username, temporary))


@bp.post("/users/<username>/<action>")
@login_required
def change_user(username: str, action: str):
    """Disable or enable a user (an admin cannot disable themself); disabling ends every
    session and API token of the user."""
    _require(access.can_manage_users, "managing users")
    if action not in ("disable", "enable"):
        raise ApiError(404, "not_found", "use …/disable, …/enable or …/reset")
    if action == "disable" and username == current_user().username:
        return _users_page(_SELF_REFUSED["disable"], 400)
    try:
        user = getattr(get_users(), action)(username)
    except UserError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    get_store().audit(current_user().username, f"user:{action}", None, [user.username], {})
    return redirect(url_for("admin.users_page"))
