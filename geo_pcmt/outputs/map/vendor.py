"""Vendored JavaScript/CSS for the offline map: the manifest, and folium's CDN links made local.

folium writes ``<script src="https://cdn…">`` links for Leaflet, jQuery, Bootstrap, Font Awesome,
awesome-markers and every plugin it renders. At a border post there is no internet, so every such
file is shipped in ``geo_pcmt/web/static/vendor/`` (fetched from the npm registry by
``scripts/vendor_assets.py``, pinned to the exact versions folium 0.20 references, licences in
``static/vendor/LICENSES.md``) and the links are rewritten:

* :func:`localize` points every element of a map at ``base_url`` (``/static/vendor`` when the app
  serves the page, ``vendor`` next to a file written by ``geo-pcmt map``);
* :func:`inline_assets` puts the files' content into the page (``geo-pcmt map --standalone``),
  including the fonts and images the stylesheets refer to, as ``data:`` URIs.

A link to a URL that is not in the manifest raises :class:`UnvendoredAssetError`, so a plugin
added later fails in the tests instead of silently loading from a CDN in the field.
"""
from __future__ import annotations

import base64
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from branca.element import Element
from folium.elements import JSCSSMixin

from geo_pcmt.paths import PACKAGE_DIR

VENDOR_DIR = PACKAGE_DIR / "web" / "static" / "vendor"
DEFAULT_BASE_URL = "/static/vendor"


class UnvendoredAssetError(LookupError):
    """A map element links a JavaScript/CSS URL that is not vendored."""


@dataclass(frozen=True)
class Package:
    """One npm package (or other registry artefact) and the files taken from it.

    Parameters
    ----------
    name, version : str
        npm package name and exact version (``npm pack name@version``).
    folder : str
        Folder under ``static/vendor/`` the files go to.
    files : tuple of (str, str)
        ``(path inside the package, path inside folder)``.
    licence_file : str
        Path of the licence text inside the package ("" if the package ships none).
    licence : str
        SPDX identifier.
    note : str
        Why this package stands in for the URL folium names, where it is not the same artefact.
    """

    name: str
    version: str
    folder: str
    files: tuple[tuple[str, str], ...]
    licence_file: str
    licence: str
    note: str = ""

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


def _same(*paths: str) -> tuple[tuple[str, str], ...]:
    return tuple((p, p.split("/", 1)[1] if p.startswith("dist/") else p) for p in paths)


PACKAGES: tuple[Package, ...] = (
    Package("leaflet", "1.9.3", "leaflet-1.9.3",
            _same("dist/leaflet.js", "dist/leaflet.css", "dist/images/layers.png",
                  "dist/images/layers-2x.png", "dist/images/marker-icon.png",
                  "dist/images/marker-icon-2x.png", "dist/images/marker-shadow.png"),
            "LICENSE", "BSD-2-Clause"),
    Package("jquery", "3.7.1", "jquery-3.7.1", _same("dist/jquery.min.js"), "LICENSE.txt", "MIT"),
    Package("bootstrap", "5.2.2", "bootstrap-5.2.2",
            _same("dist/css/bootstrap.min.css", "dist/js/bootstrap.bundle.min.js"),
            "LICENSE", "MIT"),
    Package("bootstrap", "3.4.1", "bootstrap-3.4.1",
            _same("dist/fonts/glyphicons-halflings-regular.eot",
                  "dist/fonts/glyphicons-halflings-regular.svg",
                  "dist/fonts/glyphicons-halflings-regular.ttf",
                  "dist/fonts/glyphicons-halflings-regular.woff",
                  "dist/fonts/glyphicons-halflings-regular.woff2",
                  "dist/css/bootstrap.css"),
            "LICENSE", "MIT",
            note="folium links bootstrap-glyphicons.css of Bootstrap 3.0.0 (not on npm); the "
                 "glyphicon rules are cut from Bootstrap 3.4.1's bootstrap.css into "
                 "css/bootstrap-glyphicons.css by scripts/vendor_assets.py"),
    Package("@fortawesome/fontawesome-free", "6.2.0", "fontawesome-free-6.2.0",
            (("css/all.min.css", "css/all.min.css"),)
            + tuple((f"webfonts/{f}", f"webfonts/{f}") for f in (
                "fa-brands-400.woff2", "fa-brands-400.ttf", "fa-regular-400.woff2",
                "fa-regular-400.ttf", "fa-solid-900.woff2", "fa-solid-900.ttf",
                "fa-v4compatibility.woff2", "fa-v4compatibility.ttf")),
            "LICENSE.txt", "CC-BY-4.0 AND OFL-1.1 AND MIT"),
    Package("drmonty-leaflet-awesome-markers", "2.0.2", "leaflet-awesome-markers-2.0.2",
            (("js/leaflet.awesome-markers.js", "leaflet.awesome-markers.js"),
             ("css/leaflet.awesome-markers.css", "leaflet.awesome-markers.css"),
             ("css/images/markers-soft.png", "images/markers-soft.png"),
             ("css/images/markers-soft@2x.png", "images/markers-soft@2x.png"),
             ("css/images/markers-shadow.png", "images/markers-shadow.png"),
             ("css/images/markers-shadow@2x.png", "images/markers-shadow@2x.png")),
            "", "MIT",
            note="npm repackaging of Leaflet.awesome-markers 2.0.2 (lvoogdt), the release "
                 "folium links on cdnjs"),
    Package("leaflet.markercluster", "1.1.0", "leaflet.markercluster-1.1.0",
            _same("dist/leaflet.markercluster.js", "dist/MarkerCluster.css",
                  "dist/MarkerCluster.Default.css"),
            "MIT-LICENCE.txt", "MIT"),
    Package("leaflet.heat", "0.2.0", "leaflet.heat-0.2.0", (), "LICENSE", "BSD-2-Clause",
            note="the script is folium 0.20's own patched copy (folium/templates/"
                 "leaflet_heat.min.js, weights fix of Leaflet.heat PR 78), taken from the "
                 "installed folium package; the npm package gives the licence"),
    Package("leaflet.fullscreen", "3.0.0", "leaflet.fullscreen-3.0.0",
            (("Control.FullScreen.js", "Control.FullScreen.js"),
             ("Control.FullScreen.css", "Control.FullScreen.css"),
             ("icon-fullscreen.svg", "icon-fullscreen.svg")),
            "LICENSE", "MIT"),
    Package("fflate", "0.8.2", "fflate-0.8.2", (("umd/index.js", "fflate.min.js"),),
            "LICENSE", "MIT",
            note="inflates the map's packed data (geo_pcmt.outputs.map.packing); put into "
                 "the page by geo_pcmt itself, not linked by folium"),
)

# The page's own scripts that geo_pcmt puts inline into every map page (not folium links).
PAGE_SCRIPTS: tuple[str, ...] = ("fflate-0.8.2/fflate.min.js",)

# Files the vendoring script makes itself (no registry artefact is the same file).
GENERATED = {
    "bootstrap-3.4.1/css/bootstrap-glyphicons.css": "glyphicon rules of Bootstrap 3.4.1",
    "leaflet.heat-0.2.0/leaflet_heat.min.js": "copied from the installed folium package",
    "folium/leaflet.awesome.rotate.css": "fa-rotate-N classes folium.Icon(angle=N) uses",
}

# Taken from a package only to make a GENERATED file from it; not kept.
TRANSIENT = frozenset({"bootstrap-3.4.1/css/bootstrap.css"})

# Every URL folium 0.20 links for the elements geo_pcmt uses → file under static/vendor/.
CDN_TO_LOCAL: dict[str, str] = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet-1.9.3/leaflet.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet-1.9.3/leaflet.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/jquery/3.7.1/jquery.min.js": "jquery-3.7.1/jquery.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js":
        "bootstrap-5.2.2/js/bootstrap.bundle.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css":
        "bootstrap-5.2.2/css/bootstrap.min.css",
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css":
        "bootstrap-3.4.1/css/bootstrap-glyphicons.css",
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css":
        "fontawesome-free-6.2.0/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js":
        "leaflet-awesome-markers-2.0.2/leaflet.awesome-markers.js",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css":
        "leaflet-awesome-markers-2.0.2/leaflet.awesome-markers.css",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css":
        "folium/leaflet.awesome.rotate.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js":
        "leaflet.markercluster-1.1.0/leaflet.markercluster.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css":
        "leaflet.markercluster-1.1.0/MarkerCluster.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css":
        "leaflet.markercluster-1.1.0/MarkerCluster.Default.css",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js":
        "leaflet.heat-0.2.0/leaflet_heat.min.js",
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js":
        "leaflet.fullscreen-3.0.0/Control.FullScreen.js",
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css":
        "leaflet.fullscreen-3.0.0/Control.FullScreen.css",
}


def local_path(url: str) -> str:
    """The vendored file (relative to ``static/vendor/``) that replaces CDN ``url``.

    Raises
    ------
    UnvendoredAssetError
        If ``url`` is not in the manifest (add it to :data:`CDN_TO_LOCAL` and
        :data:`PACKAGES`, then run ``scripts/vendor_assets.py``).

    Examples
    --------
    >>> local_path("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js")
    'leaflet-1.9.3/leaflet.js'
    """
    if url in CDN_TO_LOCAL:
        return CDN_TO_LOCAL[url]
    raise UnvendoredAssetError(
        f"{url} is not vendored; add it to geo_pcmt.vendor.CDN_TO_LOCAL and PACKAGES and run "
        "scripts/vendor_assets.py")


# folium's default links that the map page does not use (no Bootstrap widgets, no jQuery, no
# awesome-markers icons; templates/map_base.css keeps the few reboot rules it relied on):
# left out so that a standalone page does not carry ~0.7 MB for them.
UNUSED_DEFAULTS = frozenset({"jquery", "bootstrap", "bootstrap_css", "awesome_markers",
                             "glyphicons_css", "awesome_markers_css", "awesome_rotate_css"})
# Font Awesome faces the page never uses: it draws with the "Font Awesome 6 Free" family only;
# the brand icons and the Font Awesome 4/5 names would each inline the same fonts again.
UNUSED_FONT_FACES = ("Font Awesome 6 Brands", "Font Awesome 5", '"FontAwesome"')


def drop_unused(root: Element) -> Element:
    """Remove folium's default links in :data:`UNUSED_DEFAULTS` from ``root``'s elements
    (on the instances, never on folium's classes). Returns ``root``."""
    for el in _elements(root):
        if isinstance(el, JSCSSMixin):
            for attr in ("default_js", "default_css"):
                setattr(el, attr, [(name, url) for name, url in getattr(el, attr)
                                   if name not in UNUSED_DEFAULTS])
    return root


def _elements(root: Element) -> Iterator[Element]:
    yield root
    for child in list(root._children.values()):
        yield from _elements(child)


def _is_local(url: str) -> bool:
    return not re.match(r"^[a-z]+://|^//", url)


def localize(root: Element, *, base_url: str = DEFAULT_BASE_URL) -> Element:
    """Point every JS/CSS link of ``root`` and its descendants at the vendored copies.

    Sets the lists on each *instance* (never on folium's classes), so other maps in the same
    process keep folium's defaults. Links already local (relative or same-origin paths) are
    kept. Returns ``root`` for chaining.

    Examples
    --------
    >>> import folium
    >>> m = localize(folium.Map(tiles=None), base_url="vendor")
    >>> "cdn" in m.get_root().render()
    False
    """
    base = base_url.rstrip("/")
    elements = list(_elements(root))
    figure = root.get_root()
    if figure is not root:
        elements += list(_elements(figure))
    for el in elements:
        if not isinstance(el, JSCSSMixin):
            continue
        for attr in ("default_js", "default_css"):
            links = getattr(el, attr)
            setattr(el, attr, [(name, url if _is_local(url) else f"{base}/{local_path(url)}")
                               for name, url in links])
    return root


_SCRIPT_RE = re.compile(r'<script src="([^"]+)"></script>')
_CSS_RE = re.compile(r'<link rel="stylesheet" href="([^"]+)"/?>')
_CSS_URL_RE = re.compile(r"url\((['\"]?)([^)'\"]+)\1\)")


def _vendor_file(url: str, base: str) -> Path:
    if not url.startswith(base + "/"):
        raise UnvendoredAssetError(f"{url} is not under {base}/; call localize() first")
    path = (VENDOR_DIR / url[len(base) + 1:]).resolve()
    if VENDOR_DIR.resolve() not in path.parents or not path.is_file():
        raise UnvendoredAssetError(f"vendored file missing: {path} (run scripts/vendor_assets.py)")
    return path


def _data_uri(path: Path) -> str:
    mime = {".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf",
            ".eot": "application/vnd.ms-fontobject", ".svg": "image/svg+xml"}.get(
        path.suffix, mimetypes.guess_type(path.name)[0] or "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _inline_css(path: Path) -> str:
    css = path.read_text(encoding="utf-8")
    # A @font-face lists several formats; every current browser takes woff2 first, so the
    # others are dropped rather than inlined (they would triple the file for nothing).
    css = re.sub(r",\s*url\(['\"]?[^)'\"]+\.(?:ttf|woff|eot|svg)(?:[?#][^)'\"]*)?['\"]?\)"
                 r"\s*format\([^)]*\)", "", css)
    # faces of icon sets the page never draws are dropped whole (a font is fetched only
    # when used, but inlined it would weigh on every standalone file)
    css = re.sub(r"@font-face\s*\{[^}]*(?:" + "|".join(map(re.escape, UNUSED_FONT_FACES))
                 + r")[^}]*\}", "", css)

    def repl(m: re.Match) -> str:
        ref = m.group(2)
        if ref.startswith(("data:", "#", "http:", "https:")):
            return m.group(0)
        target = (path.parent / ref.split("?")[0].split("#")[0]).resolve()
        if not target.is_file():
            return m.group(0)
        return f'url("{_data_uri(target)}")'
    return _CSS_URL_RE.sub(repl, css)


def inline_assets(html: str, *, base_url: str = DEFAULT_BASE_URL) -> str:
    """Replace every vendored ``<script src>``/``<link href>`` in ``html`` by the file's content.

    Stylesheets get their fonts and images as ``data:`` URIs, so the result is one file that
    opens from a USB stick with no network and no folder beside it.
    """
    base = base_url.rstrip("/")

    def script(m: re.Match) -> str:
        if _is_local(m.group(1)) or m.group(1).startswith(base):
            code = _vendor_file(m.group(1), base).read_text(encoding="utf-8")
            return "<script>" + code.replace("</script", "<\\/script") + "</script>"
        raise UnvendoredAssetError(f"{m.group(1)} would be fetched from the network")

    def style(m: re.Match) -> str:
        if _is_local(m.group(1)) or m.group(1).startswith(base):
            return "<style>" + _inline_css(_vendor_file(m.group(1), base)) + "</style>"
        raise UnvendoredAssetError(f"{m.group(1)} would be fetched from the network")

    return _CSS_RE.sub(style, _SCRIPT_RE.sub(script, html))


def missing_files() -> list[str]:
    """Manifest entries whose file is not in ``static/vendor/`` (empty when vendoring is complete)."""
    wanted = {f"{p.folder}/{dest}" for p in PACKAGES for _, dest in p.files}
    wanted |= set(CDN_TO_LOCAL.values()) | set(GENERATED) | {"LICENSES.md"}
    wanted -= TRANSIENT
    return sorted(w for w in wanted if not (VENDOR_DIR / w).is_file())
