"""What a printed map is fitted to: the province, the border strip, a commune or a post's area."""
from __future__ import annotations

import unicodedata

import geopandas as gpd
import pandas as pd

from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.layers import area_codes
from geo_pcmt.outputs.map.options import MapInputError

Bounds = list[list[float]]  # [[south, west], [north, east]], as Leaflet takes them
# A post whose area of responsibility the reader may not see: this far around it.
POST_RADIUS_M = 12_000.0


def _fold(value: object) -> str:
    """Lower case without diacritics or extra spaces, to match a name as typed."""
    text = unicodedata.normalize("NFD", str(value or "")).replace("đ", "d").replace("Đ", "D")
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).lower().split())


def _bounds(frame: gpd.GeoDataFrame) -> Bounds:
    minx, miny, maxx, maxy = frame.to_crs(STORAGE_CRS).total_bounds
    return [[round(float(miny), 5), round(float(minx), 5)],
            [round(float(maxy), 5), round(float(maxx), 5)]]


def view_bounds(view: str | None, communes: gpd.GeoDataFrame | None,
                border_posts: pd.DataFrame | None = None,
                selected: tuple[str, ...] = ()) -> Bounds | None:
    """The lon/lat box a map view covers (``None`` when there is nothing to fit).

    Parameters
    ----------
    view : str, optional
        ``province`` (every commune), ``border`` (the communes on the Lao border),
        ``commune:<GSO code>`` or ``post:<name>`` (the post's area of responsibility when the
        reader may see it, else the :data:`POST_RADIUS_M` around the post; names match
        without regard to case or diacritics). ``None``: the ``selected`` communes, else the
        province.
    communes : GeoDataFrame
        ``code``, ``is_border``, geometry (EPSG:4326).
    border_posts : GeoDataFrame, optional
        ``name``, geometry and, for analysts and above, ``area_of_responsibility``.
    selected : tuple of str
        Communes chosen in the map's filters.

    Raises
    ------
    MapInputError
        A commune code or post name that is not on the map, named.

    Examples
    --------
    >>> from geo_pcmt.ingest import boundaries
    >>> (s, w), (n, e) = view_bounds("border", boundaries.communes())
    >>> 103.8 < w < e < 105.5 and 18.3 < s < n < 20.0
    True
    """
    if communes is None or not len(communes):
        return None
    codes = communes["code"].astype(str)
    kind, _, arg = (view or "").partition(":")
    arg = arg.strip()
    if kind == "border":
        return _bounds(communes[communes["is_border"].fillna(False).astype(bool).to_numpy()])
    if kind == "commune":
        hit = communes[(codes == arg).to_numpy()]
        if not len(hit):
            raise MapInputError(f"view=commune:{arg}: no commune with GSO code {arg!r} on the map")
        return _bounds(hit)
    if kind == "post":
        return _post_bounds(arg, communes, border_posts)
    if not view and selected:
        hit = communes[codes.isin(selected).to_numpy()]
        if len(hit):
            return _bounds(hit)
    return _bounds(communes)


def _post_bounds(name: str, communes: gpd.GeoDataFrame, posts: pd.DataFrame | None) -> Bounds:
    found = (None if posts is None or not len(posts) or "name" not in posts
             else posts[(posts["name"].map(_fold) == _fold(name)).to_numpy()])
    if found is None or not len(found):
        known = [] if posts is None or "name" not in posts else sorted(posts["name"].astype(str))
        raise MapInputError(f"view=post:{name}: no border post of that name on the map"
                            + (f" (posts: {', '.join(known)})" if known else ""))
    post = found.iloc[[0]]
    if "area_of_responsibility" in post.columns:
        aor = set(area_codes(post["area_of_responsibility"].iloc[0]))
        hit = communes[communes["code"].astype(str).isin(aor).to_numpy()]
        if len(hit):
            return _bounds(pd.concat([hit[["geometry"]], post[["geometry"]].to_crs(hit.crs)]))
    around = gpd.GeoDataFrame(post[["geometry"]], crs=post.crs).to_crs(METRIC_CRS)
    return _bounds(around.buffer(POST_RADIUS_M).to_frame("geometry").set_crs(METRIC_CRS))


def view_name(view: str | None, communes: gpd.GeoDataFrame | None,
              border_posts: pd.DataFrame | None = None) -> str | None:
    """The name of the commune or post a view shows, as the data spell it (else None)."""
    kind, _, arg = (view or "").partition(":")
    arg = arg.strip()
    if kind == "commune" and communes is not None and len(communes):
        hit = communes.loc[(communes["code"].astype(str) == arg).to_numpy(), "name"]
        return str(hit.iloc[0]) if len(hit) else None
    if kind == "post" and border_posts is not None and "name" in border_posts:
        hit = border_posts.loc[(border_posts["name"].map(_fold) == _fold(arg)).to_numpy(), "name"]
        return str(hit.iloc[0]) if len(hit) else None
    return None
