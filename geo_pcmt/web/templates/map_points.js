/* geo_pcmt map page: many points, drawn fast. At province zoom the points are counted on a
 * screen grid (one count marker per cell of `cellPx`, at the mean position of its points);
 * a point alone in its cell, and every point from `singleZoom` on, is drawn as its own marker,
 * made only when it first comes into view. A million points cost two typed arrays and a pass
 * over them per view, not a million markers up front.
 */
var GeoPcmtPoints = L.Layer.extend({
  options: {
    cellPx: 64,        // grid cell on screen, px
    singleZoom: 16,    // from this zoom on, every point in view is its own marker
    maxSingles: 3000,  // more points than this in view at singleZoom: still counted
    icon: null,        // function (i) → L.Icon of point i
    clusterIcon: null, // function (n) → L.Icon of a count
    onClick: null      // function (i, latlng)
  },

  initialize: function (x, y, options) {
    L.setOptions(this, options);
    var n = x.length, px = new Float64Array(n), py = new Float64Array(n), d = Math.PI / 180;
    for (var i = 0; i < n; i++) {  // spherical Mercator at zoom 0 (a 256 px world)
      var s = Math.sin(y[i] * d);
      px[i] = (x[i] + 180) / 360 * 256;
      py[i] = (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * 256;
    }
    this._x = x; this._y = y; this._px = px; this._py = py; this._n = n;
    this._shown = null;  // Uint8Array: 1 = drawn under the current filter; null = all
    this._markers = {};
  },

  /** Keep only points i for which keep(i) is true (null: all), and redraw. */
  setFilter: function (keep) {
    if (!keep) { this._shown = null; } else {
      var shown = new Uint8Array(this._n);
      for (var i = 0; i < this._n; i++) { shown[i] = keep(i) ? 1 : 0; }
      this._shown = shown;
    }
    this.redraw();
    return this;
  },

  /** The markers' icons may have changed (e.g. a status at another month): ask again
   *  at the next redraw. */
  refreshIcons: function () {
    for (var k in this._markers) { this._markers[k]._gpIconStale = true; }
    return this;
  },

  onAdd: function (map) {
    this._group = L.featureGroup().addTo(map);
    this._group.on("click", this._click, this);
    map.on("moveend", this.redraw, this);
    this.redraw();
  },

  onRemove: function (map) {
    map.off("moveend", this.redraw, this);
    this._group.off("click", this._click, this);
    map.removeLayer(this._group);
    this._group = null;
  },

  _click: function (e) {
    var t = e.layer;
    if (t._gpIndex !== undefined) {
      if (this.options.onClick) { this.options.onClick(t._gpIndex, t.getLatLng()); }
    } else if (t._gpBounds) {
      this._map.fitBounds(t._gpBounds, {maxZoom: this.options.singleZoom, padding: [24, 24]});
    }
  },

  _single: function (i) {
    var mk = this._markers[i];
    if (!mk) {
      mk = this._markers[i] = L.marker([this._y[i], this._x[i]], {icon: this.options.icon(i), keyboard: false});
      mk._gpIndex = i;
    } else if (mk._gpIconStale) {
      var icon = this.options.icon(i);
      if (icon !== mk.options.icon) { mk.setIcon(icon); }
    }
    mk._gpIconStale = false;
    return mk;
  },

  /** The points in view, at the map's zoom: count markers and single markers. */
  redraw: function () {
    if (!this._map || !this._group) { return this; }
    var map = this._map, z = map.getZoom(), k = Math.pow(2, z);  // zoom-0 px → px
    var cell = this.options.cellPx, b = map.getPixelBounds();
    var x0 = b.min.x - cell, x1 = b.max.x + cell, y0 = b.min.y - cell, y1 = b.max.y + cell;
    var px = this._px, py = this._py, shown = this._shown, n = this._n, i, X, Y;
    var inView = [], layers = [];
    for (i = 0; i < n; i++) {
      if (shown && !shown[i]) { continue; }
      X = px[i] * k; Y = py[i] * k;
      if (X >= x0 && X <= x1 && Y >= y0 && Y <= y1) { inView.push(i); }
    }
    if (z >= this.options.singleZoom && inView.length <= this.options.maxSingles) {
      for (i = 0; i < inView.length; i++) { layers.push(this._single(inView[i])); }
    } else {
      var cells = new Map(), c, key, j;
      for (j = 0; j < inView.length; j++) {
        i = inView[j];
        key = Math.floor(px[i] * k / cell) * 1048576 + Math.floor(py[i] * k / cell);
        c = cells.get(key);
        if (!c) { cells.set(key, c = {n: 0, sx: 0, sy: 0, first: i, w: 180, e: -180, s: 90, nn: -90}); }
        c.n++; c.sx += this._x[i]; c.sy += this._y[i];
        if (this._x[i] < c.w) { c.w = this._x[i]; } if (this._x[i] > c.e) { c.e = this._x[i]; }
        if (this._y[i] < c.s) { c.s = this._y[i]; } if (this._y[i] > c.nn) { c.nn = this._y[i]; }
      }
      var self = this;
      cells.forEach(function (c) {
        if (c.n === 1) { layers.push(self._single(c.first)); return; }
        var mk = L.marker([c.sy / c.n, c.sx / c.n], {icon: self.options.clusterIcon(c.n), keyboard: false,
                                                     title: String(c.n)});
        mk._gpBounds = [[c.s, c.w], [c.nn, c.e]];
        layers.push(mk);
      });
    }
    this._group.clearLayers();
    for (i = 0; i < layers.length; i++) { this._group.addLayer(layers[i]); }
    this._count = layers.length;
    return this;
  }
});
