"""Uploads with the row-level validation report (analysts and above), and deletes (admins).

``/upload`` (form) and ``POST /data/upload`` (API) take a file for a layer, run
:func:`geo_pcmt.ingest.load` and return its report — every problem with row (as Excel
shows it), field, value and reason, in Vietnamese or with ``?lang=en`` in English — as a
page or as JSON. The page groups the problems with counts, offers the fixes as buttons
(swap longitude/latitude, repair geometries: the pending file is checked again with the
fix) and lets the uploader download every row of the file with a column of its problems
(XLSX, for an hour). Rows without an id get one (``<layer>-<YYYYMMDD>-<n>``, counting on
from the ids of that day already stored), shown in the report. ``/upload/template/<layer>.xlsx``
is the layer's Excel template (:mod:`geo_pcmt.outputs.template`). Nothing is stored unless the file is clean, or the user
confirms keeping the valid rows: on the form by pressing the confirm button under the
report (the file waits server-side, for its uploader only, for an hour), through the API by
sending ``keep_valid=true``. Uploads larger than ``MAX_CONTENT_LENGTH`` are refused with 413
before they are read. Every upload is written to the audit log, whatever its outcome.
"""
from __future__ import annotations

import io
import json
import os
import re
import secrets
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from flask import (Blueprint, current_app, jsonify, redirect, render_template, request,
                   send_file, url_for)

from geo_pcmt import access
from geo_pcmt import ingest
from geo_pcmt.ingest import safety
from geo_pcmt.ingest.annotate import FIXES, annotated_frame, fixes_offered, problem_groups
from geo_pcmt.ingest.loading import first_free_id_number, uploadable_layers as _uploadable
from geo_pcmt.ingest.pool import HelperStopped
from geo_pcmt.ingest.problem_text import problem_text
from geo_pcmt.ingest.validation import limit_confidentiality
from geo_pcmt.layers import LAYERS
from geo_pcmt.store import StoreError
from geo_pcmt.web.context import get_store
from geo_pcmt.web.auth import current_role, current_user, login_required
from geo_pcmt.web.ogcapi import forget_counts
from geo_pcmt.web.security import ApiError, wants_html

bp = Blueprint("data", __name__)

EXTENSIONS = (".csv", ".xlsx", ".geojson", ".json", ".gpkg", ".kml")
MODES = ("append", "upsert")  # replacing a whole layer stays a CLI operation
PENDING_TTL_S = 3600
MAX_PROBLEMS_RETURNED = 5000  # in a JSON answer
PAGE_PROBLEMS = 300  # row by row on the page; the groups and the annotated XLSX hold all
_PENDING_RE = re.compile(r"^[0-9a-f]{32}$")


def uploadable_layers() -> list[str]:
    """Layers the signed-in user's files may go into (:func:`geo_pcmt.ingest.loading.
    uploadable_layers` for the user's role)."""
    return _uploadable(current_role())


def _require_upload_right() -> None:
    if not access.can_upload(current_role()):
        raise ApiError(403, "forbidden", "uploads need the analyst role or above")


def _lang() -> str:
    return "en" if request.args.get("lang") == "en" else "vi"


def _upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(mode=0o700, parents=True, exist_ok=True)  # files wait here: owner only
    return path


def _sweep(directory: Path) -> None:
    """Drop pending uploads nobody confirmed within the hour."""
    cutoff = time.time() - PENDING_TTL_S
    for p in directory.glob("*"):
        try:
            if p.stat().st_mtime < cutoff:
                p.unlink()
        except OSError:
            pass


def _options(form) -> dict:
    layer = form.get("layer", "")
    if layer not in uploadable_layers():
        raise ApiError(400, "invalid_layer", f"cannot upload into {layer[:80]!r}; one of: "
                                             f"{', '.join(uploadable_layers())}")
    mode = form.get("mode", "append")
    if mode not in MODES:
        raise ApiError(400, "invalid_parameter", "mode must be append or upsert")
    if mode == "upsert" and not access.at_least(current_role(), "admin"):
        raise ApiError(403, "forbidden", "replacing stored records by upload (upsert) needs "
                                         "the admin role; analysts add new records")
    crs = form.get("crs", "").strip() or None
    if crs is not None and not (re.fullmatch(r"EPSG:\d{4,6}", crs) and safety.known_crs(crs)):
        raise ApiError(400, "invalid_crs", "crs must look like EPSG:32648 and be a known code")
    flag = lambda k: form.get(k, "").lower() in ("1", "true", "on", "yes")  # noqa: E731
    return {"layer": layer, "mode": mode, "crs": crs, "fix_swapped": flag("fix_swapped"),
            "repair": flag("repair"), "keep_valid": flag("keep_valid")}


def _save(options: dict) -> dict:
    """Keep the uploaded file under a random name; never use the client's name as a path."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(400, "missing_file", "send the file in the form field 'file'")
    filename = os.path.basename(upload.filename.replace("\\", "/"))[:200]
    suffix = Path(filename).suffix.lower()
    if suffix not in EXTENSIONS:
        raise ApiError(400, "unsupported_file_type",
                       f"unsupported file type {suffix or '(none)'!r}; use "
                       f"{', '.join(EXTENSIONS)}")
    directory = _upload_dir()
    _sweep(directory)
    pid = secrets.token_hex(16)
    path = directory / f"{pid}{suffix}"
    upload.save(path)
    meta = dict(options, id=pid, filename=filename, suffix=suffix, bytes=path.stat().st_size,
                user=current_user().username)
    (directory / f"{pid}.json").write_text(json.dumps(meta, ensure_ascii=False))
    return meta


def _pending(pid: str) -> dict:
    if not _PENDING_RE.match(pid):
        raise ApiError(404, "not_found", "no such pending upload")
    meta_path = _upload_dir() / f"{pid}.json"
    if not meta_path.exists():
        raise ApiError(404, "not_found", "no such pending upload (expired after an hour?)")
    meta = json.loads(meta_path.read_text())
    if meta["user"] != current_user().username:
        raise ApiError(404, "not_found", "no such pending upload")
    return meta


def _discard(meta: dict) -> None:
    for p in (_upload_dir() / f"{meta['id']}{meta['suffix']}", _upload_dir() / f"{meta['id']}.json"):
        p.unlink(missing_ok=True)


def _run(meta: dict, keep_valid: bool, annotate: bool = False):
    """Validate (and store if allowed) the saved file; audit the outcome. With
    ``annotate``, the rows with their problems are written for download (``rows_file``
    in ``meta``) before the file is let go."""
    store = get_store()
    path = _upload_dir() / f"{meta['id']}{meta['suffix']}"
    user = current_user().username
    detail = {k: meta[k] for k in ("filename", "bytes", "mode", "fix_swapped", "repair", "crs")}
    spec = LAYERS[meta["layer"]]
    id_start = first_free_id_number(store, spec.name, current_role(), date.today()) \
        if spec.kind == "record" else 1
    options = dict(fix_swapped=meta["fix_swapped"], repair=meta["repair"], crs=meta["crs"],
                   source=f"upload:{meta['filename']}", id_start=id_start,
                   max_bytes=current_app.config["MAX_CONTENT_LENGTH"])
    # when configured (INGEST_PROCESSES): checked in a helper process at a lower priority,
    # stored outside this process (PostGIS: by that helper; GeoPackage: by a writer process
    # at normal priority, as its write holds the whole file): see geo_pcmt.ingest.pool
    pool = current_app.extensions.get("geo_pcmt_check_pool")
    stored = dict(keep_valid=keep_valid, mode=meta["mode"], user=user)
    admin = access.at_least(current_role(), "admin")
    try:
        if pool is not None and admin and not store.writes_hold_the_store:
            report, written = pool.load_file(meta["layer"], path, current_app.config["STORE"],
                                             **stored, **options)
        else:
            check = pool.check_file if pool is not None else ingest.check_file
            writer = pool.writer(current_app.config["STORE"]) if pool is not None else store
            report = check(meta["layer"], path, **options)
            if not admin:  # never a record above the uploader's own clearance
                report = limit_confidentiality(report, access.allowed_levels(current_role()),
                                               spec.confidentiality_default)
            written = ingest.store_checked(writer, report, **stored)
    except ingest.IngestError as exc:
        message = safety.public_message(str(exc), path, meta["filename"])  # no server paths
        store.audit(user, "upload", meta["layer"], [], dict(detail, stored=False, error=message))
        _discard(meta)
        raise ApiError(getattr(exc, "http_status", 422),
                       getattr(exc, "error_code", "unreadable_file"), message) from None
    except StoreError as exc:
        store.audit(user, "upload", meta["layer"], [], dict(detail, stored=False, error=str(exc)))
        raise ApiError(409, "store_refused", f"{exc} (nothing was stored)") from None
    except HelperStopped as exc:  # the file is kept (an hour) for a look at what it holds
        store.audit(user, "upload", meta["layer"], [],
                    dict(detail, stored="unknown", error=str(exc)))
        raise ApiError(503, "write_unconfirmed", str(exc)) from None
    if written is not None:
        forget_counts()
    ids = report.clean["id"].astype(str).tolist() if written is not None else []
    store.audit(user, "upload", meta["layer"], ids,
                dict(detail, stored=written is not None, keep_valid=keep_valid,
                     rows_total=report.rows_total, rows_valid=report.rows_valid,
                     errors=len(report.errors), warnings=len(report.warnings),
                     ids_generated=len(report.generated_ids)))
    if annotate:
        meta["rows_file"] = _annotate(meta, report, _lang())
    if written is not None or (report.rows_valid == 0 and not fixes_offered(report, meta)):
        _discard(meta)
    return report, written


def _annotate(meta: dict, report, lang: str) -> bool:
    """Write every row of the uploaded file with its problems as ``<id>-rows.xlsx`` (kept
    an hour, for its uploader); whether it was written. Call while the file is there."""
    directory = _upload_dir()
    path = directory / f"{meta['id']}{meta['suffix']}"
    if not path.exists() or not (report.problems or report.generated_ids):
        return False
    from geo_pcmt.outputs.spreadsheet import write_xlsx
    from geo_pcmt.outputs.table import ExportRefused, Table
    spec = LAYERS[meta["layer"]]
    frame = annotated_frame(ingest.read_any(path, max_bytes=current_app.config[
        "MAX_CONTENT_LENGTH"], layer=spec.name), report, spec, lang)
    levels = report.clean["confidentiality"].dropna().tolist() \
        if "confidentiality" in report.clean.columns else []
    level = access.marking(levels, at_least=spec.confidentiality_default)[1]
    table = replace(Table.of_frame(frame, spec.name), classification=level)
    try:
        write_xlsx(table, [frame], directory / f"{meta['id']}-rows.xlsx")
    except ExportRefused:  # a cell too long for Excel: the page still shows the report
        return False
    (directory / f"{meta['id']}-rows.json").write_text(json.dumps(
        {"user": meta["user"], "filename": meta["filename"]}, ensure_ascii=False))
    return True


def _report_page(meta: dict, report, written, *, pending: str | None):
    """The report page: counts, the generated ids, problems grouped, the fixes, the rows."""
    lang = _lang()
    spec = LAYERS[meta["layer"]]
    shown = report.problems[:PAGE_PROBLEMS]
    return render_template(
        "upload_report.html", meta=meta, report=report, written=written, pending=pending,
        layer=spec, lang=lang, groups=problem_groups(report, spec, lang),
        fixes=fixes_offered(report, meta) if pending else [],
        rows_file=meta.get("rows_file", False),
        generated=sorted(report.generated_ids.items()),
        problems=[(p, problem_text(p, spec, lang)) for p in shown])


def _report_json(report, written, meta) -> dict:
    body = report.as_dict()
    spec, lang = LAYERS[meta["layer"]], _lang()
    for p, d in zip(report.problems, body["problems"]):
        d["reason"] = problem_text(p, spec, lang)
    if len(body["problems"]) > MAX_PROBLEMS_RETURNED:
        body["problems"] = body["problems"][:MAX_PROBLEMS_RETURNED]
        body["problems_truncated"] = True
    return {"file": meta["filename"], "report": body,
            "stored": written.as_dict() if written is not None else None}


def _form(error: str | None = None, status: int = 200):
    from geo_pcmt.outputs.template import has_template
    layers = [LAYERS[n] for n in uploadable_layers()]
    return render_template("upload.html", layers=layers,
                           templates=[s for s in layers if has_template(s)],
                           modes=MODES, error=error, lang=_lang()), status


@bp.get("/upload")
@login_required
def upload_form():
    """The upload form."""
    _require_upload_right()
    return _form()


@bp.post("/upload")
@login_required
def upload_page():
    """Form upload: validate, store if clean, else show the report with a confirm button."""
    _require_upload_right()
    options = _options(request.form)
    options["keep_valid"] = False  # on the form the user confirms after seeing the report
    meta = _save(options)
    return _check_page(meta)


def _check_page(meta: dict):
    """Check the pending file (nothing stored unless clean) and answer with its report."""
    report, written = _run(meta, keep_valid=False, annotate=True)
    pending = meta["id"] if written is None and (
        report.rows_valid > 0 or fixes_offered(report, meta)) else None
    return _report_page(meta, report, written, pending=pending), \
        200 if written is not None else 422


@bp.post("/upload/<pid>/fix/<name>")
@login_required
def upload_fix(pid: str, name: str):
    """Check a pending upload again with a fix (``fix_swapped`` or ``repair``) turned on."""
    _require_upload_right()
    if name not in {option for option, _, _ in FIXES.values()}:
        raise ApiError(404, "not_found", "no such fix")
    meta = _pending(pid)
    meta[name] = True
    (_upload_dir() / f"{pid}.json").write_text(json.dumps(meta, ensure_ascii=False))
    return _check_page(meta)


@bp.get("/upload/<pid>/rows.xlsx")
@login_required
def upload_rows(pid: str):
    """Every row of a checked upload with a column of its problems (its uploader only)."""
    _require_upload_right()
    owner = _upload_dir() / f"{pid}-rows.json"
    if not _PENDING_RE.match(pid) or not owner.exists():
        raise ApiError(404, "not_found", "no such report (expired after an hour?)")
    info = json.loads(owner.read_text())
    if info["user"] != current_user().username:
        raise ApiError(404, "not_found", "no such report")
    name = f"{Path(info['filename']).stem[:80]}-kiem-tra.xlsx"
    return send_file(io.BytesIO((_upload_dir() / f"{pid}-rows.xlsx").read_bytes()),
                     as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument."
                              "spreadsheetml.sheet")


@bp.get("/upload/template/<layer>.xlsx")
@login_required
def upload_template(layer: str):
    """The Excel template of a layer the user may upload into."""
    _require_upload_right()
    from geo_pcmt.outputs.template import has_template, write_template
    if layer not in uploadable_layers() or not has_template(layer):
        raise ApiError(404, "not_found", f"no template for {layer[:80]!r}")
    buffer = io.BytesIO()
    write_template(layer, buffer)
    buffer.seek(0)
    return send_file(buffer, as_attachment=True, download_name=f"mau-{layer}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument."
                              "spreadsheetml.sheet")


@bp.post("/upload/<pid>/confirm")
@login_required
def upload_confirm(pid: str):
    """Store the valid rows of a pending upload the user has seen the report of."""
    _require_upload_right()
    meta = _pending(pid)
    report, written = _run(meta, keep_valid=True, annotate=True)
    return _report_page(meta, report, written, pending=None)


@bp.post("/upload/<pid>/discard")
@login_required
def upload_discard(pid: str):
    """Throw a pending upload away."""
    _require_upload_right()
    meta = _pending(pid)
    _discard(meta)
    get_store().audit(current_user().username, "upload:discard", meta["layer"], [],
                      {"filename": meta["filename"]})
    return redirect(url_for("data.upload_form"))


@bp.post("/data/upload")
@login_required
def upload_api():
    """API upload (multipart: ``file``, ``layer``, optional ``mode``, ``keep_valid``,
    ``fix_swapped``, ``repair``, ``crs``) → JSON report; 201 stored, 422 not stored."""
    _require_upload_right()
    options = _options(request.form)
    meta = _save(options)
    report, written = _run(meta, keep_valid=options["keep_valid"])
    _discard(meta)
    return jsonify(_report_json(report, written, meta)), 201 if written is not None else 422


@bp.delete("/data/<layer>/<path:fid>")
@login_required
def delete_record(layer: str, fid: str):
    """Delete one record (admins; audited by the store with the id)."""
    if not access.can_delete(current_role()):
        raise ApiError(403, "forbidden", "deleting records needs the admin role")
    if layer not in uploadable_layers():
        raise ApiError(404, "not_found", f"no deletable layer {layer[:80]!r}")
    n = get_store().delete(layer, [fid], user=current_user().username)
    forget_counts()
    if n == 0:
        raise ApiError(404, "not_found", f"no record {fid[:80]!r} in {layer}")
    if wants_html():
        return redirect(url_for("ogcapi.items", cid=layer, f="html"))
    return jsonify({"layer": layer, "deleted": n, "id": fid})
