/* geo_pcmt map page, areas: province, Lao provinces, the communes' classes (choropleth), a viewer's counts per
 * commune, the border line, progress along the border and distance bands.
 */
function geoPcmtAreas(app) {
  "use strict";
  var map = app.map, G = app.G, C = app.C, D = app.D, T = app.T, esc = app.esc, num = app.num, pct = app.pct,
      row = app.row, rowHtml = app.rowHtml, popup = app.popup, chip = app.chip, label = app.label,
      canvas = app.canvas, currentYear = app.currentYear, stepMonth = app.stepMonth, on = app.on;
  /* ------------------------------------------------------------ base: province, Lao, border */
  if (D.province) {
    L.geoJSON(D.province, {interactive: false, style: {color: "#3f3f3f", weight: 2.2, fill: false}}).addTo(map);
  }
  if (D.lao_provinces) {
    L.geoJSON(D.lao_provinces, {
      style: {color: "#a89f91", weight: 1, fillColor: "#efeadf", fillOpacity: 1},
      onEachFeature: function (f, layer) {
        layer.bindTooltip(esc(f.properties.name) + (f.properties.name_en ? " (" + esc(f.properties.name_en) + ")" : "") + ", Lào",
          {sticky: true});
      }
    }).addTo(G.lao_provinces);
  }
  (C.laoLabels || []).forEach(function (l) {
    app.addLabel([l.at[1], l.at[0]], function () {
      return (app.lang === "en" && l.name_en ? l.name_en : l.name).toUpperCase() + (app.lang === "en" ? " (LAOS)" : " (LÀO)");
    }, "gp-lbl-lao", 0, "lao_provinces", 7);
  });

  /* ------------------------------------------------------------ communes: status choropleth */
  var communeLayer = null, selected = {};
  (C.selected || []).forEach(function (c) { selected[c] = true; });
  function communeClass(code, year) {
    var y = C.byYear[String(year)];
    return (y && y[code]) || "chua_danh_gia";
  }
  // a commune that holds a drug-free label while its computed class is worse keeps the class
  // colour and gets a green outline: the headline counts it, so the map must show it
  var FREE = {khong_ma_tuy: true, sach_ve_ma_tuy: true}, SACH_OUTLINE = "#00702a";
  function labelOnly(code, year) {
    var d = (C.statusDetails[code] || {})[String(year)];
    return !!(d && FREE[d.l] && !FREE[communeClass(code, year)]);
  }
  function communeStyle(f) {
    var code = f.properties.code, y = currentYear(), cls = communeClass(code, y);
    var sachOnly = !selected[code] && labelOnly(code, y);
    return {color: selected[code] ? "#000" : sachOnly ? SACH_OUTLINE : "#7a7a7a",
            weight: selected[code] ? 2.5 : sachOnly ? 2.4 : 0.6,
            fillColor: C.colours[cls], fillOpacity: cls === "chua_danh_gia" ? 0.55 : 0.72};
  }
  function drugFreeDrawn(year) {  // communes drawn as drug-free: fill colour or green outline
    var n = 0;
    (D.communes ? D.communes.features : []).forEach(function (f) {
      if (FREE[communeClass(f.properties.code, year)] || labelOnly(f.properties.code, year)) { n++; }
    });
    return n;
  }
  function communePopup(p) {
    var rows = [], det = C.statusDetails[p.code] || {}, y = currentYear();
    C.years.forEach(function (yy) {
      var cls = communeClass(p.code, yy);
      rows.push("<tr" + (yy === y ? ' class="gp-current"' : "") + "><th>" + esc(yy) + "</th><td>" +
                chip(C.colours[cls]) + esc(label("status", cls)) + "</td></tr>");
    });
    var d = det[String(y)] || {};
    rows.push(row("f.rule_set", d.r));
    rows.push(row("f.criteria", d.k));
    rows.push(row("f.label", d.l ? label("status", d.l) : ""));
    rows.push(row("f.recognition", d.d));
    var counts = D.commune_counts && D.commune_counts.counts[p.code];
    if (counts) {
      ["points", "cases", "plots"].forEach(function (k) {
        if (counts[k] !== undefined) {
          rows.push(row("f.count_" + k, counts[k] === "<5" ? T("f.suppressed") : num(counts[k])));
        }
      });
    }
    var sub = esc(p.kind === "phuong" ? (app.lang === "vi" ? "Phường" : "Ward") : (app.lang === "vi" ? "Xã" : "Commune")) +
      (p.border ? " · " + esc(app.lang === "vi" ? "biên giới" : "border") + (p.lao ? " (" + esc(p.lao) + ")" : "") : "");
    return popup(p.name, sub, rows);
  }
  if (D.communes) {
    communeLayer = L.geoJSON(D.communes, {
      style: communeStyle,
      onEachFeature: function (f, layer) {
        layer.bindTooltip(function () {
          return "<b>" + esc(f.properties.name) + "</b><br>" + esc(label("status", communeClass(f.properties.code, currentYear())));
        }, {sticky: true, className: "gp-tip"});
        layer.bindPopup(function () { return communePopup(f.properties); }, {maxWidth: 340});
      }
    }).addTo(G.communes);
    var ranked = [];
    communeLayer.eachLayer(function (layer) { ranked.push(layer); });
    ranked.sort(function (a, b) { return boxArea(b.getBounds()) - boxArea(a.getBounds()); });
    ranked.forEach(function (layer, rank) {
      var p = layer.feature.properties, at = (C.labelAt || {})[p.code], bounds = layer.getBounds();
      app.addLabel(at ? [at[1], at[0]] : bounds.getCenter(), app.shortName(p.name), "gp-lbl-commune", 3 + rank / 1000, "communes", 8, 0,
        function (b) {  // only where the name fits inside the commune's box on screen
          var nw = map.latLngToContainerPoint(bounds.getNorthWest()), se = map.latLngToContainerPoint(bounds.getSouthEast());
          return se.x - nw.x >= b.w * 0.9 && se.y - nw.y >= b.h * 1.8;
        });
    });
  }
  function boxArea(b) { return (b.getEast() - b.getWest()) * (b.getNorth() - b.getSouth()); }

  /* ------------------------------------------------------------ public counts (viewer) */
  function countRadius(n) { return Math.max(4, Math.min(26, 2.4 * Math.sqrt(n))); }  // area ∝ count
  if (D.commune_counts) {
    var cn = D.commune_counts;
    Object.keys(cn.at).forEach(function (code) {
      var c = cn.counts[code], n = typeof c.points === "number" ? c.points : (typeof c.cases === "number" ? c.cases : 0);
      var small = c.points === "<5" || (c.points === undefined && c.cases === "<5");
      var marker = L.circleMarker([cn.at[code][1], cn.at[code][0]], {
        renderer: canvas, radius: small ? 4 : countRadius(n),
        color: "#5b2a86", weight: 1.2, fillColor: "#8c6bb1", fillOpacity: small ? 0.15 : 0.55});
      marker.bindTooltip(function () {
        var f = (D.communes && D.communes.features.filter(function (x) { return x.properties.code === code; })[0]) || null;
        var parts = [];
        ["points", "cases", "plots"].forEach(function (k) {
          if (c[k] !== undefined) { parts.push(esc(T("f.count_" + k)) + ": " + (c[k] === "<5" ? esc(T("f.suppressed")) : num(c[k]))); }
        });
        return "<b>" + esc(f ? f.properties.name : code) + "</b><br>" + parts.join("<br>");
      }, {className: "gp-tip"});
      marker.addTo(G.commune_counts);
    });
  }

  /* ------------------------------------------------------------ border line */
  var segmentByName = {};
  if (D.border_line) {
    L.geoJSON(D.border_line, {
      style: {color: "#8b0000", weight: 3, dashArray: "12 5 3 5", lineCap: "butt"},
      onEachFeature: function (f, layer) {
        layer.bindTooltip(function () {
          return "<b>" + esc(T("f.segment")) + " " + esc(f.properties.segment) + "</b><br>" + num(f.properties.length_km, 1) + " km";
        }, {sticky: true, className: "gp-tip"});
      }
    }).addTo(G.border_line);
  }

  /* ------------------------------------------------------------ progress view */
  var progressLines = null, postAreas = null;
  function progressOf(year) { return C.progress[String(year)] || null; }
  function areaPopup(name, a, since) {
    if (!a) { return popup(name, "", []); }
    var rows = [
      rowHtml("f.border_communes", num(a.n)),
      rowHtml("f.drug_free", num(a.free) + " / " + num(a.n) + " (" + pct(a.share) + ")"),
      rowHtml("f.target", a.target === null || a.target === undefined ? "–" : pct(a.target)),
      rowHtml("f.improved", num(a.improved) + " (" + esc(T("f.since")) + " " + esc(since) + ")"),
      rowHtml("f.worsened", num(a.worsened))
    ];
    if (a.eliminated !== undefined) { rows.push(rowHtml("f.points_eliminated", num(a.eliminated))); }
    if (a.plots !== undefined) { rows.push(rowHtml("f.plots_eradicated", num(a.plots) + " (" + num(a.plots_m2) + " m²)")); }
    return popup(name, chip(app.VERDICT[a.verdict]) + esc(currentYear()), rows);
  }
  function findArea(list, key) { return (list || []).filter(function (a) { return a.key === key; })[0] || null; }
  if (G.progress) {
    if (D.post_areas) {
      postAreas = L.geoJSON(D.post_areas, {
        style: function (f) {
          var p = progressOf(currentYear()), a = p && findArea(p.posts, f.properties.key);
          // outlined, not filled: a fill would mix with the status colours underneath
          return {color: app.VERDICT[a ? a.verdict : "no_target"], weight: 3.5, opacity: 0.9, dashArray: "8 4",
                  fillColor: app.VERDICT[a ? a.verdict : "no_target"], fillOpacity: 0.06};
        },
        onEachFeature: function (f, layer) {
          layer.bindTooltip(function () { return esc(f.properties.name); }, {sticky: true, className: "gp-tip"});
          layer.bindPopup(function () {
            var p = progressOf(currentYear());
            return areaPopup(f.properties.name, p && findArea(p.posts, f.properties.key), p && p.since);
          });
        }
      }).addTo(G.progress);
    }
    if (D.border_line) {
      progressLines = L.geoJSON(D.border_line, {
        style: function (f) {
          var p = progressOf(currentYear()), a = p && findArea(p.segments, f.properties.lao_province);
          return {color: app.VERDICT[a ? a.verdict : "no_target"], weight: 10, opacity: 0.75, lineCap: "round"};
        },
        onEachFeature: function (f, layer) {
          layer.bindTooltip(function () {
            var p = progressOf(currentYear()), a = p && findArea(p.segments, f.properties.lao_province);
            return "<b>" + esc(f.properties.segment) + "</b>" + (a ? "<br>" + esc(T("f.drug_free")) + ": " + num(a.free) + "/" + num(a.n) +
              " (" + pct(a.share) + "), " + esc(T("f.target")) + " " + pct(a.target) : "");
          }, {sticky: true, className: "gp-tip"});
          layer.bindPopup(function () {
            var p = progressOf(currentYear());
            return areaPopup(T("f.segment") + " " + f.properties.segment, p && findArea(p.segments, f.properties.lao_province), p && p.since);
          });
        }
      }).addTo(G.progress);
    }
  }
  if (D.distance_bands) {
    var shades = ["#08519c", "#3182bd", "#6baed6", "#9ecae1"];
    L.geoJSON(D.distance_bands, {
      style: function (f) {
        var i = D.distance_bands.features.indexOf(f);
        return {color: shades[i] || "#9ecae1", weight: 1, dashArray: "2 4", fillColor: shades[i] || "#9ecae1", fillOpacity: 0.14};
      },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(function () {
          return esc(T("f.band")) + ": " + num(f.properties.lo) + "–" + num(f.properties.hi) + " km";
        }, {sticky: true, className: "gp-tip"});
      }
    }).addTo(G.distance_bands);
  }

  app.communeClass = communeClass;
  app.labelOnly = labelOnly;
  app.drugFreeDrawn = drugFreeDrawn;
  app.countRadius = countRadius;
  app.progressOf = progressOf;
  app.SACH_OUTLINE = SACH_OUTLINE;
  app.anyLabelOnly = function (year) {
    return (D.communes ? D.communes.features : []).some(function (f) { return labelOnly(f.properties.code, year); });
  };
  app.onRefresh.push(function () {
    if (communeLayer) { communeLayer.setStyle(communeStyle); }
    if (progressLines) { progressLines.setStyle(progressLines.options.style); }
    if (postAreas) { postAreas.setStyle(postAreas.options.style); }
  });
}
