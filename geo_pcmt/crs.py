"""Coordinate reference systems used across geo_pcmt, named once."""
import threading

STORAGE_CRS = "EPSG:4326"  # WGS 84, lon/lat: what is stored and served
METRIC_CRS = "EPSG:32648"  # WGS 84 / UTM zone 48N: every distance and area is computed here


def transform_xy(x, y, source, target):
    """Coordinates ``x``, ``y`` (NumPy arrays, lon/lat order for geographic CRSs) from
    ``source`` to ``target``, with one cached :class:`pyproj.Transformer`.

    The same transformation geopandas' ``to_crs`` applies (``always_xy=True``), without
    building a geometry per point: at a million points that copy is most of the cost.
    """
    import numpy as np

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) == 0:
        return x.copy(), y.copy()
    return _transformer(source, target).transform(x, y)


def _transformer(source, target):
    # a pyproj Transformer must not be shared between threads (the web server runs
    # requests on several): one cache per thread, one Transformer per pair of CRSs
    cache = getattr(_LOCAL, "transformers", None)
    if cache is None:
        cache = _LOCAL.transformers = {}
    key = (str(source), str(target))
    found = cache.get(key)
    if found is None:
        from pyproj import Transformer
        found = cache[key] = Transformer.from_crs(source, target, always_xy=True)
    return found


_LOCAL = threading.local()
