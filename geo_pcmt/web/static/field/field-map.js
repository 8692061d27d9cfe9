/* The app's map (vendored Leaflet, no tiles: the commune boundaries and the border line,
 * kept by the service worker, are the background), the position, corners and tracks. */
(function (global) {
  "use strict";
  const R = 6378137; // WGS 84 semi-major axis, m

  /** Geodesic area of a ring of [lon, lat] (m²), Chamberlain & Duquette's spherical formula
   *  (as Leaflet.draw): good to a fraction of a percent for plots of a few hectares. */
  function ringArea(ring) {
    let area = 0;
    const rad = Math.PI / 180;
    for (let i = 0, n = ring.length; i < n; i++) {
      const [x1, y1] = ring[i], [x2, y2] = ring[(i + 1) % n];
      area += (x2 - x1) * rad * (2 + Math.sin(y1 * rad) + Math.sin(y2 * rad));
    }
    return Math.abs(area * R * R / 2);
  }
  function distance(a, b) { // haversine, m, between [lon, lat]
    const rad = Math.PI / 180;
    const dlat = (b[1] - a[1]) * rad, dlon = (b[0] - a[0]) * rad;
    const h = Math.sin(dlat / 2) ** 2 +
      Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dlon / 2) ** 2;
    return 2 * R * Math.asin(Math.sqrt(h));
  }
  function lineLength(coords) {
    let d = 0;
    for (let i = 1; i < coords.length; i++) d += distance(coords[i - 1], coords[i]);
    return d;
  }

  class FieldMap {
    constructor(el, root) {
      this.map = L.map(el, { zoomControl: true, attributionControl: false, tap: true })
        .setView([19.2, 104.6], 8);
      this.root = root;
      this.onTap = null;
      this.marker = null;
      this.circle = null;
      this.shape = null;
      this.records = L.layerGroup().addTo(this.map);
      this.map.on("click", (ev) => { if (this.onTap) this.onTap([ev.latlng.lng, ev.latlng.lat]); });
      this._background();
    }
    async _background() {
      const styles = { communes: { color: "#6b7a89", weight: 1, fillColor: "#eef2e6", fillOpacity: 1 },
                       border_line: { color: "#9b1c1c", weight: 3 } };
      for (const name of ["communes", "border_line"]) {
        try {
          const resp = await fetch(this.root.replace(/\/$/, "") + `/layers/${name}.geojson`);
          if (!resp.ok) continue;
          L.geoJSON(await resp.json(), { style: styles[name], interactive: false }).addTo(this.map);
        } catch (e) { /* no background: the position and shapes still show */ }
      }
      if (this.shape) this.shape.bringToFront();
    }
    invalidate() { setTimeout(() => this.map.invalidateSize(), 50); }
    /** Show the position [lon, lat] with its accuracy circle (m) and centre on it. */
    showPosition(pos, accuracyM, zoom) {
      const ll = [pos[1], pos[0]];
      if (!this.marker) {
        this.marker = L.circleMarker(ll, { radius: 9, color: "#fff", weight: 3,
                                           fillColor: "#1565c0", fillOpacity: 1 }).addTo(this.map);
      } else this.marker.setLatLng(ll);
      if (this.circle) { this.map.removeLayer(this.circle); this.circle = null; }
      if (accuracyM) {
        this.circle = L.circle(ll, { radius: accuracyM, color: "#1565c0", weight: 1,
                                     fillOpacity: 0.1, interactive: false }).addTo(this.map);
      }
      this.map.setView(ll, zoom || Math.max(this.map.getZoom(), 16), { animate: false });
    }
    clearPosition() {
      [this.marker, this.circle].forEach((l) => l && this.map.removeLayer(l));
      this.marker = this.circle = null;
    }
    /** Draw a ring (polygon) or a line from [lon, lat] coordinates. */
    showShape(coords, closed) {
      if (this.shape) this.map.removeLayer(this.shape);
      this.shape = null;
      if (!coords.length) return;
      const lls = coords.map((c) => [c[1], c[0]]);
      this.shape = (closed && coords.length >= 3 ? L.polygon(lls, { color: "#b45309", weight: 3 })
                                                 : L.polyline(lls, { color: "#b45309", weight: 4 }))
        .addTo(this.map);
    }
    showRecords(features, onPick) {
      this.records.clearLayers();
      for (const f of features) {
        if (!f.geometry) continue;
        const layer = L.geoJSON(f, {
          pointToLayer: (_, ll) => L.circleMarker(ll, { radius: 7, color: "#333", weight: 1,
                                                        fillColor: "#f59e0b", fillOpacity: 0.9 }),
          style: { color: "#f59e0b", weight: 2 } });
        layer.on("click", (ev) => { L.DomEvent.stop(ev); onPick(f); });
        this.records.addLayer(layer);
      }
    }
  }

  global.FieldMap = FieldMap;
  global.FieldGeo = { ringArea, distance, lineLength };
})(self);
