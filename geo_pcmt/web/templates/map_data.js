/* geo_pcmt map data: reads the packed data element the page carries (format gp-pack-2,
 * geo_pcmt/outputs/map/packing.py): base64 → "GPK2", header length, deflated JSON header,
 * deflated column blobs. Coordinates come back from integer units (1e-5°) and deltas to
 * degrees; integer columns as typed arrays; text columns are inflated when first read (names
 * and addresses serve popups only).
 */
var geoPcmtData = (function () {
  "use strict";
  var DEPTH = {Point: 0, MultiPoint: 1, LineString: 1, MultiLineString: 2, Polygon: 2, MultiPolygon: 3};
  var INT = {i1: Int8Array, i2: Int16Array, i4: Int32Array};
  function utf8(bytes) { return new TextDecoder("utf-8").decode(bytes); }
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
  function column(deltas, s) {  // delta-encoded integer units → degrees
    var out = new Float64Array(deltas.length), v = 0;
    for (var i = 0; i < deltas.length; i++) { v += deltas[i]; out[i] = v / s; }
    return out;
  }
  function ints(blob, type, n) {  // byte planes → a little-endian typed array
    var planes = fflate.unzlibSync(blob), T = INT[type], size = T.BYTES_PER_ELEMENT;
    var raw = new Uint8Array(n * size);
    for (var b = 0; b < size; b++) {
      var off = b * n;
      for (var i = 0; i < n; i++) { raw[i * size + b] = planes[off + i]; }
    }
    return new T(raw.buffer);
  }
  function texts(blob) {  // an array-like inflated at the first read
    var values = null;
    function load() { if (!values) { values = JSON.parse(utf8(fflate.unzlibSync(blob))); } return values; }
    return new Proxy([], {
      get: function (t, k) { var v = load(), x = v[k]; return typeof x === "function" ? x.bind(v) : x; },
      has: function (t, k) { return k in load(); }
    });
  }
  function decode(v, s, blobs) {
    if (!v || typeof v !== "object" || Array.isArray(v)) { return v; }
    if (v.$i !== undefined) { return ints(blobs[v.$i], v.t, v.n); }
    if (v.$t !== undefined) { return texts(blobs[v.$t]); }
    var out = {}, k;
    if (v.type === "FeatureCollection") {
      for (k in v) { if (k !== "features") { out[k] = decode(v[k], s, blobs); } }
      out.features = v.features.map(function (f) {
        var g = {};
        for (var key in f) { g[key] = f[key]; }
        g.geometry = geometry(f.geometry, s);
        return g;
      });
      return out;
    }
    var columns = v.qx !== undefined && v.qy !== undefined;
    for (k in v) {
      if (columns && k === "qx") { out.x = column(decode(v.qx, s, blobs), s); }
      else if (columns && k === "qy") { out.y = column(decode(v.qy, s, blobs), s); }
      else { out[k] = decode(v[k], s, blobs); }
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
    var all = bytes(el.textContent.trim());
    if (utf8(all.subarray(0, 4)) !== "GPK2") { throw new Error("unknown map data format"); }
    var size = new DataView(all.buffer, all.byteOffset).getUint32(4, true);
    var doc = JSON.parse(utf8(fflate.unzlibSync(all.subarray(8, 8 + size))));
    if (doc.format !== "gp-pack-2") { throw new Error("unknown map data format " + doc.format); }
    var at = 8 + size, blobs = doc.blobs.map(function (n) { var b = all.subarray(at, at + n); at += n; return b; });
    return decode(doc.data, doc.scale, blobs);
  }
  return {read: read, decode: decode};
})();
