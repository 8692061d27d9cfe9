/* geo_pcmt map page, results of the hotspot analysis: clusters, complex-hotspot flags, Gi* cells, emerging hot
 * spots, and the heat map.
 */
function geoPcmtAnalysis(app) {
  "use strict";
  var map = app.map, G = app.G, C = app.C, D = app.D, T = app.T, esc = app.esc, num = app.num, pct = app.pct,
      row = app.row, rowHtml = app.rowHtml, popup = app.popup, chip = app.chip, label = app.label,
      canvas = app.canvas, currentYear = app.currentYear, stepMonth = app.stepMonth, on = app.on;
  /* ------------------------------------------------------------ hotspot analysis results */
  if (D.hotspot_clusters) {
    L.geoJSON(D.hotspot_clusters, {
      style: {color: "#d94801", weight: 2, dashArray: "6 4", fillColor: "#fd8d3c", fillOpacity: 0.12},
      onEachFeature: function (f, layer) {
        layer.bindPopup(function () {
          var p = f.properties, counts = "";
          try {
            var c = JSON.parse(p.counts || "null");
            var flat = [], add = function (obj) {
              Object.keys(obj).forEach(function (k) {
                if (obj[k] && typeof obj[k] === "object") { add(obj[k]); } else { flat.push([k, obj[k]]); }
              });
            };
            if (c && typeof c === "object") { add(c); }
            counts = flat.map(function (kv) {
              var name = C.types.indexOf(kv[0]) >= 0 ? T("type." + kv[0]) : (T("layer." + kv[0]) !== "layer." + kv[0] ? T("layer." + kv[0]) : kv[0]);
              return esc(name) + ": " + num(kv[1]);
            }).join("<br>");
          } catch (e) { counts = esc(p.counts); }
          return popup((app.lang === "vi" ? "Cụm điểm nóng " : "Hotspot cluster ") + (p.cluster || ""), esc(T("f.method")) + ": " + esc(String(p.method || "").toUpperCase()),
            [row("f.n_points", p.n_points), row("f.n_active", p.n_active), row("f.n_cleared", p.n_cleared),
             rowHtml("f.type", counts), row("f.dates", (p.first_date || "") + (p.last_date ? " – " + p.last_date : "")),
             row("f.communes", p.commune_names ? p.commune_names : String(p.communes || "").split(/[;,\s]+/).map(communeName).filter(Boolean).join(", ")),
             row("f.nearest_crossing", p.nearest_crossing ? p.nearest_crossing + (p.dist_crossing_km ? " (" + num(p.dist_crossing_km, 1) + " km)" : "") : ""),
             row("f.dist_border", p.dist_border_km ? num(p.dist_border_km, 1) + " km" : "")]);
        });
      }
    }).addTo(G.hotspot_clusters);
  }
  if (D.complex_hotspots) {
    var scores = D.complex_hotspots.features.map(function (f) { return Number(f.properties.score) || 0; });
    var maxScore = Math.max.apply(null, scores.concat([1e-9]));
    var LEVEL = {high: "#b10026", cao: "#b10026", medium: "#fc4e2a", "trung_binh": "#fc4e2a", "trung bình": "#fc4e2a",
                 low: "#feb24c", "thap": "#feb24c", "thấp": "#feb24c"};
    var flagRank = function (p) {
      var l = String(p.level || "").toLowerCase();
      if (LEVEL[l]) { return LEVEL[l] === "#b10026" ? 2 : LEVEL[l] === "#fc4e2a" ? 1 : 0; }
      var s = (Number(p.score) || 0) / maxScore;
      return s >= 0.66 ? 2 : s >= 0.33 ? 1 : 0;
    };
    var flagColour = function (p) { return ["#feb24c", "#fc4e2a", "#b10026"][flagRank(p)]; };
    var flagPopup = function (p) {
      var reasons = (app.lang === "en" && p.reasons_en && p.reasons_en.length) ? p.reasons_en : (p.reasons_vi && p.reasons_vi.length ? p.reasons_vi : p.reasons_en || []);
      var list = reasons.length ? '<div class="gp-reasons-title">' + esc(T("f.reasons")) + '</div><ul class="gp-reasons">' +
        reasons.map(function (r) { return "<li>" + esc(r) + "</li>"; }).join("") + "</ul>" : "";
      return popup(p.name || app.communeName(p.commune_code) || T("layer.complex_hotspots"),
        chip(flagColour(p)) + esc(T("level." + ["low", "medium", "high"][flagRank(p)])),
        [row("f.score", num(p.score, 2)), row("f.kind", p.area_kind ? T("area." + p.area_kind) : ""),
         row("f.commune", app.communeName(p.commune_code))], list);
    };
    L.geoJSON(D.complex_hotspots, {
      // outlines only (a flag can be a whole commune); the strongest also get a marker
      style: function (f) {
        var r = flagRank(f.properties);
        return {color: flagColour(f.properties), weight: r === 2 ? 2.5 : 1.5, dashArray: r === 0 ? "3 3" : null,
                fillColor: flagColour(f.properties), fillOpacity: r === 2 ? 0.12 : 0.04};
      },
      pointToLayer: function (f, latlng) { return L.circleMarker(latlng, {radius: 10}); },
      onEachFeature: function (f, layer) { layer.bindPopup(function () { return flagPopup(f.properties); }, {maxWidth: 360}); }
    }).addTo(G.complex_hotspots);
    D.complex_hotspots.features.forEach(function (f, i) {
      var c = D.complex_hotspots.centres[i];
      if (!c || flagRank(f.properties) < 2) { return; }
      var mk = app.iconMarker([c[1], c[0]], "gp-flag", "fa-triangle-exclamation", 24, flagColour(f.properties));
      mk.options.pane = "gp-flags";  // under the point clusters: a warning never hides a count
      mk.bindPopup(function () { return flagPopup(f.properties); }, {maxWidth: 360});
      mk.bindTooltip(function () { return esc(f.properties.name || f.properties.level); }, {className: "gp-tip"});
      mk.addTo(G.complex_hotspots);
    });
  }
  if (D.gistar_cells) {
    L.geoJSON(D.gistar_cells, {
      style: function (f) {
        var g = f.properties.gi;
        return g === "ns" ? {color: "#9e9e9e", weight: 0.3, fillOpacity: 0, opacity: 0.5}
          : {color: "#ffffff", weight: 0.4, fillColor: app.GI[g], fillOpacity: 0.7};
      },
      onEachFeature: function (f, layer) {
        layer.bindPopup(function () {
          var p = f.properties, g = p.gi;
          var cls = g === "ns" ? T("gi.ns") : T(g.indexOf("hot") === 0 ? "gi.hot" : "gi.cold") + " " + g.replace(/\D/g, "") + " %";
          return popup(T("layer.gistar_cells"), chip(app.GI[g]) + esc(cls), [row("f.value", p.value), row("f.z", p.z ? num(p.z, 2) : ""),
            row("f.p", p.p ? num(p.p, 4) : ""), row("f.p_fdr", p.p_fdr ? num(p.p_fdr, 4) : "")]);
        });
      }
    }).addTo(G.gistar_cells);
  }
  function emergingKey(cat) {
    var c = String(cat || "").toLowerCase(), keys = Object.keys(app.EMERGING);
    for (var i = 0; i < keys.length; i++) { if (c.indexOf(keys[i]) >= 0) { return keys[i]; } }
    return null;
  }
  if (D.emerging_hotspots) {
    L.geoJSON(D.emerging_hotspots, {
      style: function (f) {
        var k = emergingKey(f.properties.category), cold = /cold|lạnh/.test(String(f.properties.category));
        return k ? {color: "#555", weight: 0.4, fillColor: cold ? "#6baed6" : app.EMERGING[k], fillOpacity: 0.7}
          : {color: "#9e9e9e", weight: 0.2, fillOpacity: 0};
      },
      onEachFeature: function (f, layer) {
        layer.bindPopup(function () {
          var p = f.properties, k = emergingKey(p.category);
          var name = (app.lang === "en" ? p.label_en : p.label_vi) || (k ? T("em." + k) : "");
          return popup(T("layer.emerging_hotspots"), esc(name),
            [row("f.mk", p.mk_tau ? "τ = " + num(p.mk_tau, 2) + ", p = " + num(p.mk_p, 4) : ""),
             row("f.periods_hot", p.periods_hot)]);
        });
      }
    }).addTo(G.emerging_hotspots);
  }

  /* ------------------------------------------------------------ heat map */
  var heat = null, P = D.retail_points;
  function drawHeat() {
    if (!heat) { return; }
    var month = stepMonth(), pts = [], i;
    if (month === null && D.kde) {  // all time: the kernel density surface (UTM 48N)
      heat.setOptions({radius: kdeRadius(), max: 1});
      heat.setLatLngs(D.kde.data);
      return;
    }
    heat.setOptions({radius: 16, max: 1});
    if (D.cases) {
      var cs = D.cases;
      for (i = 0; i < cs.x.length; i++) {
        if (month === null || (cs.m[i] <= month && cs.m[i] > month - 3)) { pts.push([cs.y[i], cs.x[i], 0.6]); }
      }
    }
    if (P) {
      for (i = 0; i < P.x.length; i++) {
        var st = C.pstatus[app.pointStatus(i, month)];
        if (app.pointVisible(i, month) && st !== "cleared") { pts.push([P.y[i], P.x[i], 1]); }
      }
    }
    heat.setLatLngs(pts);
  }
  function kdeRadius() {  // one grid cell on screen, at least 14 px, so the grid never shows
    var c = map.getCenter(), p1 = map.latLngToContainerPoint(c);
    var p2 = map.latLngToContainerPoint([c.lat + D.kde.cell_m / 111320, c.lng]);
    return Math.max(14, Math.round(Math.abs(p1.y - p2.y) * 1.2));
  }
  map.on("zoomend", function () { if (heat && D.kde && stepMonth() === null) { heat.setOptions({radius: kdeRadius()}); } });
  if (G.heat) {
    heat = L.heatLayer([], {radius: 16, blur: 20, maxZoom: 12, minOpacity: 0.25,
                            gradient: {0.3: "#fed976", 0.55: "#fd8d3c", 0.8: "#e31a1c", 1.0: "#800026"}});
    heat.addTo(G.heat);
  }

  app.onRefresh.push(drawHeat);
}
