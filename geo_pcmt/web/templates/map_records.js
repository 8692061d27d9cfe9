/* geo_pcmt map page, records: retail points (counted on a screen grid, map_points.js), opium plots, border
 * crossings, border posts and facilities.
 */
function geoPcmtRecords(app) {
  "use strict";
  var map = app.map, G = app.G, C = app.C, D = app.D, T = app.T, esc = app.esc, num = app.num, pct = app.pct,
      row = app.row, rowHtml = app.rowHtml, popup = app.popup, chip = app.chip, label = app.label,
      canvas = app.canvas, currentYear = app.currentYear, stepMonth = app.stepMonth, on = app.on;
  /* ------------------------------------------------------------ retail points (clustered) */
  var P = D.retail_points, iconCache = {};
  function pointIcon(type, status) {
    var key = type + "|" + status;
    if (!iconCache[key]) {
      iconCache[key] = L.divIcon({className: "gp-pt gp-pt-" + C.pstatus[status],
        html: '<i class="fa-solid ' + app.TYPE_ICON[C.types[type]] + '"></i>', iconSize: [24, 24], iconAnchor: [12, 12], popupAnchor: [0, -10]});
    }
    return iconCache[key];
  }
  function pointStatus(i, month) {
    var st = P.status[i];
    if (month !== null && C.pstatus[st] === "cleared" && P.m1[i] > month) { return C.pstatus.indexOf("active"); }
    return st;
  }
  function pointPopup(i) {
    var tx = P.texts, st = C.pstatus[P.status[i]];
    return popup(P.name[i] || label("type", C.types[P.type[i]]),
      chip(st === "cleared" ? "#9e9e9e" : st === "watch" ? "#e08214" : st === "re-emerged" ? "#6a1b9a" : "#c62828") +
      esc(label("type", C.types[P.type[i]])) + " · " + esc(label("pstatus", st)),
      [row("f.address", P.address[i]), row("f.commune", tx[P.commune[i]]), row("f.first_seen", tx[P.first[i]]),
       row("f.last_activity", tx[P.last[i]]), row("f.cleared_on", tx[P.cleared[i]]),
      ]);
  }
  function pointVisible(i, month) {
    if (month === null) { return true; }
    return P.m0[i] <= month && (P.m1[i] < 0 || P.m1[i] >= month);
  }
  // the points are counted on a screen grid at province zoom and drawn one by one only where
  // few are in view (map_points.js): a marker per point up front does not scale to 1M points
  var pointsReady = true, pointLayer = null;
  function drawPoints() {
    if (!pointLayer) { return; }
    var month = stepMonth();
    pointLayer.options.icon = function (i) { return pointIcon(P.type[i], pointStatus(i, month)); };
    pointLayer.refreshIcons();
    pointLayer.setFilter(month === null ? null : function (i) { return pointVisible(i, month); });
  }
  function clusterIcon(n) {
    var size = n < 10 ? 30 : n < 100 ? 36 : n < 1000 ? 42 : 48;
    return L.divIcon({html: "<span>" + num(n) + "</span>", className: "gp-cluster gp-cluster-" + (n < 10 ? "s" : n < 100 ? "m" : "l"),
                      iconSize: [size, size]});
  }
  if (P) {
    // one popup for the whole layer, made when a marker is clicked
    pointLayer = new GeoPcmtPoints(P.x, P.y, {
      icon: function (i) { return pointIcon(P.type[i], P.status[i]); }, clusterIcon: clusterIcon,
      onClick: function (i, latlng) {
        L.popup({maxWidth: 320, offset: [0, -8]}).setLatLng(latlng).setContent(pointPopup(i)).openOn(map);
      }
    }).addTo(G.retail_points);
  }

  /* ------------------------------------------------------------ opium plots */
  var O = D.opium_plots, plotMarkers = [];
  function plotPopup(i) {
    var p = O.props[i], done = O.m1[i] >= 0;
    return popup(app.lang === "vi" ? "Nương thuốc phiện" : "Opium poppy plot",
      chip(done ? "#bdbdbd" : "#ae017e") + esc(done ? (app.lang === "vi" ? "Đã triệt phá" : "Eradicated") : (app.lang === "vi" ? "Chưa triệt phá" : "Not eradicated")),
      [rowHtml("f.area_m2", num(O.area[i])), rowHtml("f.plant_count", num(O.plants[i])), row("f.village", p.village),
       row("f.commune", p.commune), row("f.detected_on", p.detected_on), row("f.detected_by", p.detected_by),
       row("f.eradicated_on", p.eradicated_on), row("f.method", p.method)]);
  }
  function plotRadius(area) { return Math.min(16, 3 + Math.sqrt(area || 0) / 4); }
  function plotStyle(i, month) {
    var done = O.m1[i] >= 0 && (month === null || O.m1[i] <= month);
    return {radius: plotRadius(O.area[i]), color: "#7a0177", weight: 1,
            fillColor: done ? "#e7d4e8" : "#ae017e", fillOpacity: done ? 0.6 : 0.85, dashArray: done ? "2 2" : null};
  }
  function drawPlots() {
    if (!O) { return; }
    var month = stepMonth();
    for (var i = 0; i < plotMarkers.length; i++) {
      // a season: plots detected in the 12 months up to the chosen month
      var show = month === null || (O.m0[i] <= month && O.m0[i] > month - 12);
      if (show) { plotMarkers[i].setStyle(plotStyle(i, month)); if (!G.opium_plots.hasLayer(plotMarkers[i])) { G.opium_plots.addLayer(plotMarkers[i]); } }
      else if (G.opium_plots.hasLayer(plotMarkers[i])) { G.opium_plots.removeLayer(plotMarkers[i]); }
    }
  }
  if (O) {
    L.geoJSON(O.outlines, {interactive: false, style: {color: "#7a0177", weight: 1, fillColor: "#ae017e", fillOpacity: 0.4}}).addTo(G.opium_plots);
    for (var j = 0; j < O.x.length; j++) {
      var cm = L.circleMarker([O.y[j], O.x[j]], L.extend({renderer: canvas}, plotStyle(j, null)));
      cm._gpIndex = j;
      cm.bindPopup(function (layer) { return plotPopup(layer._gpIndex); });
      plotMarkers.push(cm);
    }
  }

  /* ------------------------------------------------------------ crossings, posts, facilities */
  if (D.border_crossings) {
    L.geoJSON(D.border_crossings, {
      pointToLayer: function (f, latlng) {
        var k = f.properties.kind, big = k === "international" || k === "main";
        var mk = app.iconMarker(latlng, "gp-x gp-x-" + esc(k), app.KIND_ICON[k] || "fa-flag", big ? 26 : k === "trail" ? 16 : 20);
        mk.bindTooltip(esc(f.properties.name), {className: "gp-tip"});
        if (k === "international" || k === "main" || k === "secondary") {
          app.addLabel(latlng, f.properties.name, "gp-lbl-gate", 1, "border_crossings", 8, 12);
        }
        return mk;
      },
      onEachFeature: function (f, layer) {
        layer.bindPopup(function () {
          var p = f.properties;
          return popup(p.name, esc(label("kind", p.kind)), [row("f.lao_counterpart", p.lao_counterpart), row("f.border_post", p.border_post),
            row("f.planned", p.planned_kind ? label("kind", p.planned_kind) + (p.planned_year ? " (" + p.planned_year + ")" : "") : ""),
            row("f.position_quality", p.position_quality ? T("pq." + p.position_quality) : "")]);
        });
      }
    }).addTo(G.border_crossings);
  }
  if (D.border_posts) {
    L.geoJSON(D.border_posts, {
      pointToLayer: function (f, latlng) {
        var mk = app.iconMarker(latlng, "gp-post", "fa-shield-halved", 22);
        mk.bindTooltip(esc(f.properties.name), {className: "gp-tip"});
        app.addLabel(latlng, f.properties.name, "gp-lbl-post", 2, "border_posts", 9, 12);
        return mk;
      },
      onEachFeature: function (f, layer) {
        layer.bindPopup(function () {
          var p = f.properties, aor = (p.area_of_responsibility || "").split(/[;,\s]+/).filter(Boolean).map(function (c) {
            var x = D.communes && D.communes.features.filter(function (ff) { return ff.properties.code === c; })[0];
            return x ? x.properties.name : c;
          });
          return popup(p.name, esc(p.unit), [row("f.aor", aor.join(", "))]);
        });
      }
    }).addTo(G.border_posts);
  }
  if (D.facilities) {
    L.geoJSON(D.facilities, {
      pointToLayer: function (f, latlng) { return app.iconMarker(latlng, "gp-fac", app.FAC_ICON[f.properties.kind] || "fa-hospital", 18); },
      onEachFeature: function (f, layer) {
        layer.bindPopup(function () {
          var p = f.properties;
          return popup(p.name, esc(label("fac", p.kind)), [row("f.capacity", p.capacity)]);
        });
      }
    }).addTo(G.facilities);
  }

  app.pointStatus = pointStatus;
  app.pointVisible = pointVisible;
  app.plotRadius = plotRadius;
  app.onRefresh.push(function () { drawPoints(); drawPlots(); });
}
