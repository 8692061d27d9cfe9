"""Uploaded files never make the server reach out: refuse links out, read with GDAL offline.

A GeoJSON file may name its CRS by a link (``"crs": {"type": "link", "properties":
{"href": "http://…"}}``, from the 2008 GeoJSON spec); GDAL follows it, so an upload could
make the server fetch any address it can reach (SSRF). Two guards, both run by
:func:`check_upload` before an uploaded file is read:

1. the file is refused (HTTP 400 on upload) when a ``crs`` member is a link, or holds an
   address (``http://``, ``//host``, ``file:``, ``/vsi…``); a CRS by name
   (``urn:ogc:def:crs:EPSG::32648``, ``EPSG:32648``, the opengis.net ``def/crs`` URLs that
   GDAL resolves without the network) passes; so does a path naming no remote source;
2. GDAL's own network access is turned off in every process that reads uploads:
   its HTTP requests go to a proxy that does not exist (``GDAL_HTTP_PROXY``), and
   ``/vsicurl/`` opens nothing (``CPL_VSIL_CURL_ALLOWED_EXTENSIONS``). GDAL has no single
   "offline" switch; config options are process-wide (``CPLSetConfigOption``), so they are
   set once per process rather than around each read, which in a threaded server would
   leave gaps between requests. The service never asks GDAL for the network otherwise.
   A ``NO_PROXY`` environment variable is honoured by curl before the proxy, so the
   service should run without one (the first guard still holds).

:func:`public_message` keeps server paths out of what a user is shown.
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any, Iterator

log = logging.getLogger("geo_pcmt.ingest")

# GDAL config options for reading without the network (see the module docstring)
OFFLINE_GDAL_OPTIONS = {
    "GDAL_HTTP_PROXY": "http://127.0.0.1:0",     # port 0: every connection fails at once
    "GDAL_HTTPS_PROXY": "http://127.0.0.1:0",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".geo-pcmt-offline",  # /vsicurl/ opens nothing
}
JSON_SUFFIXES = (".geojson", ".json")
UNSAFE_STATUS = 400
UNSAFE_CODE = "unsafe_file"

# a key spelling "crs" in any case, with \u escapes too (GDAL's member lookup ignores case)
_CRS_KEY = re.compile(r"""["']((?:[cCrRsS]|\\u00[4-7][0-9a-fA-F]){3})["']\s*:\s*""")
_CRS_HINT = re.compile(rb"(?i)[\"']crs[\"']|\\u00[4-7]")
_URLISH = re.compile(r"(?i)^\s*(?:[a-z][a-z0-9+.-]*:)?//|^\s*/vsi|^\s*file:|^\s*\\\\")
_OGC_DEF = re.compile(r"(?i)^https?://www\.opengis\.net/def/crs/[a-z0-9]+/[0-9.]+/[a-z0-9]+$")
_offline_lock = threading.Lock()
_offline_pid: int | None = None


def check_upload(path: str | os.PathLike) -> None:
    """Refuse a file that would make the server reach out, and turn GDAL's network off.

    Raises
    ------
    geo_pcmt.ingest.IngestError
        With ``http_status`` 400 and ``error_code`` ``"unsafe_file"``: a path naming a
        remote or virtual source, or a GeoJSON whose ``crs`` is a link or an address.

    Examples
    --------
    >>> check_upload("var/uploads/3f2a….geojson")  # doctest: +SKIP
    >>> check_upload("https://example.org/points.geojson")
    Traceback (most recent call last):
    geo_pcmt.ingest.reading.IngestError: points.geojson: only local files are read (chỉ đọc tệp trên máy chủ)
    """
    text = os.fspath(path)
    if _URLISH.search(text) or "://" in text:
        raise _unsafe(f"{Path(text).name}: only local files are read "
                      "(chỉ đọc tệp trên máy chủ)")
    gdal_offline()
    if Path(text).suffix.lower() in JSON_SUFFIXES:
        for value in _crs_members(Path(text).read_bytes()):
            reason = _link_in_crs(value)
            if reason:
                raise _unsafe(
                    f"the file's \"crs\" {reason}; the server does not follow links in "
                    "uploaded files. Remove the \"crs\" member (GeoJSON is WGS 84 lon/lat) "
                    "or name the CRS, e.g. \"urn:ogc:def:crs:EPSG::32648\", or choose the CRS "
                    "on the upload form (tệp GeoJSON có \"crs\" trỏ tới địa chỉ mạng: máy chủ "
                    "không truy cập liên kết trong tệp tải lên; hãy xóa \"crs\" hoặc ghi tên "
                    "hệ tọa độ)")


def gdal_offline() -> None:
    """Set :data:`OFFLINE_GDAL_OPTIONS` in this process (once; again after a fork)."""
    global _offline_pid
    if _offline_pid == os.getpid():
        return
    with _offline_lock:
        if _offline_pid != os.getpid():
            import pyogrio
            pyogrio.set_gdal_config_options(OFFLINE_GDAL_OPTIONS)
            if os.environ.get("NO_PROXY") or os.environ.get("no_proxy"):
                log.warning("NO_PROXY is set: GDAL may still reach the hosts it names")
            _offline_pid = os.getpid()


def public_message(message: str, path: str | os.PathLike, shown_name: str) -> str:
    """``message`` with the server's path of ``path`` (and its stored name) replaced by the
    name the user knows the file by, and any other absolute path cut to its last part."""
    full = os.fspath(path)
    text = str(message).replace(full, shown_name).replace(Path(full).name, shown_name)
    folder = str(Path(full).parent)
    text = text.replace(folder + os.sep, "").replace(folder, "")
    return re.sub(r"(?<![\w.])/(?:[\w.@+-]+/)+([\w.@+-]+)", r"\1", text)


def known_crs(text: str) -> bool:
    """Whether PROJ knows the CRS ``text`` (e.g. ``EPSG:32648`` yes, ``EPSG:999999`` no)."""
    import pyproj
    try:
        pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError:
        return False
    return True


def _unsafe(message: str):
    from geo_pcmt.ingest import IngestError  # imported late: geo_pcmt.ingest imports this
    error = IngestError(message)
    error.http_status, error.error_code = UNSAFE_STATUS, UNSAFE_CODE  # kept when pickled
    return error


def _crs_members(data: bytes) -> Iterator[Any]:
    """The value of every member named ``crs`` anywhere in a JSON text; a value that
    cannot be read comes out as the string ``"//unreadable"`` (refused, to be safe)."""
    if not _CRS_HINT.search(data):
        return
    text = data.decode("utf-8", errors="replace")
    decoder = json.JSONDecoder()
    for match in _CRS_KEY.finditer(text):
        try:
            key = json.loads(f'"{match.group(1)}"')
        except ValueError:
            continue
        if key.lower() != "crs":
            continue
        try:
            yield decoder.raw_decode(text, match.end())[0]
        except (ValueError, RecursionError):
            yield "//unreadable"


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > 20:
        yield "//too-deep"
    elif isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k, depth + 1)
            yield from _strings(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, depth + 1)


def _link_in_crs(value: Any) -> str | None:
    """Why this ``crs`` value is refused, or None."""
    kind = str(value.get("type", "")).lower() if isinstance(value, dict) else ""
    if kind in ("link", "url"):
        return f"is a {kind}"
    for s in _strings(value):
        if _URLISH.search(s) and not (kind == "name" and _OGC_DEF.match(s.strip())):
            return f"holds an address ({s.strip()[:80]})"
    return None
