/* geo_pcmt map data: reads the packed data element the page carries (format gp-pack-1,
 * geo_pcmt/outputs/map/packing.py): base64 → inflate (vendored fflate) → JSON, then
 * coordinates from integer units (1e-5°) and deltas back to degrees.
 */
var geoPcmtData = (function () {
  "use strict";
  var DEPTH = {Point: 0, MultiPoint: 1, LineString: 1, MultiLineString: 2, Polygon: 2, MultiPolygon: 3};
  function line(flat, s) {
    var out = new Array(flat.length / 2), x = 0, y = 0;
    for (var i = 0, j = 0; i < flat.length; i += 2, j++) { x += flat[i]; y += flat[i + 1]; out[j] = [x / s, y / s]; }
    return out;
  }
  function coords(c, depth, s) {
    if (depth === 0) { return [c[0] / s, c[1] / s]; }
    if (depth === 1) { return line(c, s); }
    return c.map(function (x) { return coords(x, depth - 1, s); });
  }
  function geometry(g, s) {
    if (!g) { return g; }
    if (g.type === "GeometryCollection") {
      return {type: g.type, geometries: g.geometries.map(function (x) { return geometry(x, s); })};
    }
    return {type: g.type, coordinates: coords(g.q, DEPTH[g.type], s)};
  }
  function column(deltas, s) {
    var out = new Float64Array(deltas.length), v = 0;
    for (var i = 0; i < deltas.length; i++) { v += deltas[i]; out[i] = v / s; }
    return out;
  }
  function decode(v, s) {
    if (!v || typeof v !== "object" || Array.isArray(v)) { return v; }
    var out = {}, k;
    if (v.type === "FeatureCollection") {
      for (k in v) { if (k !== "features") { out[k] = decode(v[k], s); } }
      out.features = v.features.map(function (f) {
        var g = {};
        for (var key in f) { g[key] = f[key]; }
        g.geometry = geometry(f.geometry, s);
        return g;
      });
      return out;
    }
    for (k in v) {
      if (k === "qx" && v.qy !== undefined) { out.x = column(v.qx, s); }
      else if (k === "qy" && v.qx !== undefined) { out.y = column(v.qy, s); }
      else { out[k] = decode(v[k], s); }
    }
    return out;
  }
  function bytes(b64) {
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }
  /** The data in the element `id` (default "gp-data"), decoded; {} when the page has none. */
  function read(id) {
    var el = document.getElementById(id || "gp-data");
    if (!el) { return {}; }
    var text = new TextDecoder("utf-8").decode(fflate.unzlibSync(bytes(el.textContent.trim())));
    var doc = JSON.parse(text);
    if (doc.format !== "gp-pack-1") { throw new Error("unknown map data format " + doc.format); }
    return decode(doc.data, doc.scale);
  }
  return {read: read, decode: decode};
})();
