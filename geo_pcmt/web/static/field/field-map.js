/* The app's map (vendored Leaflet, no tiles: the commune boundaries and the border line,
 * kept by the service worker, are the background), the position, corners and tracks. */
(function (global) {
  "use strict";
  const A = 6378137, E2 = 0.00669437999014; // WGS 84 semi-major axis (m), eccentricity²
  const RAD = Math.PI / 180;

  /** Metres per degree of longitude and of latitude at ``lat`` on the WGS 84 ellipsoid
   *  (prime-vertical and meridional radii of curvature). */
  function scales(lat) {
    const s = Math.sin(lat * RAD), w = 1 - E2 * s * s;
    const n = A / Math.sqrt(w), m = A * (1 - E2) / (w * Math.sqrt(w));
    return [n * Math.cos(lat * RAD) * RAD, m * RAD];
  }
  /** Area of a ring of [lon, lat] (m²) on a plane tangent to the ellipsoid at its mean
   *  latitude: for plots of a few hectares within 0.1 % of the geodesic area. */
  function ringArea(ring) {
    const lat0 = ring.reduce((t, c) => t + c[1], 0) / ring.length;
    const lon0 = ring[0][0], [kx, ky] = scales(lat0);
    let twice = 0;
    for (let i = 0, n = ring.length; i < n; i++) {
      const a = ring[i], b = ring[(i + 1) % n];
      twice += (a[0] - lon0) * kx * (b[1] - lat0) * ky - (b[0] - lon0) * kx * (a[1] - lat0) * ky;
    }
    return Math.abs(twice / 2);
  }
  /** Metres between two [lon, lat] a GPS fix apart (a plane at their mean latitude). */
  function distance(a, b) {
    const [kx, ky] = scales((a[1] + b[1]) / 2);
    return Math.hypot((b[0] - a[0]) * kx, (b[1] - a[1]) * ky);
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
