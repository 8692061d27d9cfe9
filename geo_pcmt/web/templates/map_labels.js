/* geo_pcmt map page, names on the map: placed by priority (Lao provinces, gates, posts, then
 * communes by size), each only where it fits (inside its commune on screen) and clear of every
 * name placed before it. Adds app.addLabel, app.placeLabels, app.shortName.
 */
function geoPcmtLabels(app) {
  "use strict";
  var map = app.map, esc = app.esc;
  var labelPane = map.createPane("gp-labels");
  labelPane.style.zIndex = 450;  // above the areas, under every marker: a name never hides a count
  labelPane.style.pointerEvents = "none";
  var LABELS = [], labelLayer = L.layerGroup().addTo(map), measure = document.createElement("canvas").getContext("2d");
  var LABEL_FONT = {"gp-lbl-lao": "italic 600 13px", "gp-lbl-gate": "600 11px", "gp-lbl-post": "600 11px",
                    "gp-lbl-commune": "500 10.5px"};
  app.addLabel = function (at, text, cls, prio, group, minZoom, dx, fits) {
    if (!text) { return; }
    LABELS.push({at: L.latLng(at), text: text, cls: cls, prio: prio, group: group, minZoom: minZoom, dx: dx || 0, fits: fits || null});
  };
  function labelText(l) { return String(typeof l.text === "function" ? l.text() : l.text); }
  function labelBox(l) {
    measure.font = LABEL_FONT[l.cls] + " system-ui, sans-serif";
    var w = Math.ceil(measure.measureText(labelText(l)).width) + 6, h = l.cls === "gp-lbl-lao" ? 17 : 14;
    var p = map.latLngToContainerPoint(l.at), x0 = l.dx ? p.x + l.dx : p.x - w / 2;
    return {x0: x0, y0: p.y - h / 2, x1: x0 + w, y1: p.y + h / 2, w: w, h: h, p: p};
  }
  app.placeLabels = function () {
    labelLayer.clearLayers();
    var z = map.getZoom(), size = map.getSize(), placed = [];
    LABELS.sort(function (a, b) { return a.prio - b.prio; });
    LABELS.forEach(function (l) {
      if (z < l.minZoom || (l.group && !app.on(l.group))) { return; }
      var b = labelBox(l);
      if (b.x0 < 0 || b.y0 < 0 || b.x1 > size.x || b.y1 > size.y) { return; }
      if (l.fits && !l.fits(b)) { return; }
      for (var i = 0; i < placed.length; i++) {
        var q = placed[i];
        if (b.x0 < q.x1 + 2 && b.x1 + 2 > q.x0 && b.y0 < q.y1 && b.y1 > q.y0) { return; }
      }
      placed.push(b);
      labelLayer.addLayer(L.marker(l.at, {pane: "gp-labels", interactive: false, keyboard: false,
        icon: L.divIcon({className: "gp-lbl " + l.cls, html: esc(labelText(l)), iconSize: [b.w, b.h],
                         iconAnchor: [l.dx ? -l.dx : b.w / 2, b.h / 2]})}));
    });
  };
  app.shortName = function (n) { return String(n || "").replace(/^(Xã|Phường|Thị trấn)\s+/, ""); };
}
