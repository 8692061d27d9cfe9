/* geo_pcmt map page: draws the layers geo_pcmt.mapping sends, the panel, legend and time slider.
 * Every value that comes from data goes through esc() (or textContent) before it reaches the DOM.
 */
function geoPcmtApp(map, G, C) {
  "use strict";
  var D = C.data;
  var params = new URLSearchParams(window.location.search);
  var lang = (params.get("lang") === "en" || params.get("lang") === "vi") ? params.get("lang") : C.lang;
  var canvas = L.canvas({padding: 0.3});
  var state = {step: null, year: C.year, since: null};
  var ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"};
  var TYPE_ICON = {diem_ban_le: "fa-store", dia_diem_to_chuc_chua_chap: "fa-house-chimney",
                   tu_diem_phuc_tap: "fa-people-group"};
  var KIND_ICON = {international: "fa-building-flag", main: "fa-flag", secondary: "fa-flag",
                   opening: "fa-door-open", trail: "fa-person-hiking"};
  var FAC_ICON = {methadone_treatment: "fa-house-medical", methadone_dispensing: "fa-prescription-bottle-medical",
                  rehab: "fa-hospital"};
  // verdicts of progress.dashboard (the same words as `geo-pcmt progress`)
  var VERDICT = {achieved: "#1a9850", on_track: "#a6d96a", behind: "#d73027", no_target: "#9e9e9e"};
  var GI = {hot99: "#b2182b", hot95: "#ef8a62", hot90: "#fddbc7", ns: "#ffffff",
            cold90: "#d1e5f0", cold95: "#67a9cf", cold99: "#2166ac"};
  var EMERGING = {"new": "#fee08b", consecutive: "#fdae61", intensifying: "#f46d43",
                  persistent: "#a50026", diminishing: "#fdd0a2", sporadic: "#e6f598",
                  oscillating: "#cab2d6", historical: "#bdbdbd"};

  function T(k) {
    var d = C.i18n[lang] || C.i18n.vi;
    return d[k] !== undefined ? d[k] : (C.i18n.vi[k] !== undefined ? C.i18n.vi[k] : k);
  }
  function esc(v) {
    return v === null || v === undefined ? "" : String(v).replace(/[&<>"']/g, function (c) { return ESC[c]; });
  }
  function num(v, digits) {
    if (v === null || v === undefined || v === "") { return ""; }
    var n = Number(v);
    if (!isFinite(n)) { return esc(v); }
    return n.toLocaleString(lang === "vi" ? "vi-VN" : "en-GB", {maximumFractionDigits: digits || 0});
  }
  function pct(v) { return v === null || v === undefined ? "–" : num(100 * v, 0) + " %"; }
  function row(k, text) { return text === null || text === undefined || text === "" ? "" : rowHtml(k, esc(text)); }
  function rowHtml(k, h) { return h === "" ? "" : "<tr><th>" + esc(T(k)) + "</th><td>" + h + "</td></tr>"; }
  function popup(title, sub, rows, extra) {
    return '<div class="gp-popup"><div class="gp-popup-title">' + esc(title) + "</div>" +
      (sub ? '<div class="gp-popup-sub">' + sub + "</div>" : "") +
      "<table>" + rows.join("") + "</table>" + (extra || "") + "</div>";
  }
  var communeNames = {};
  (D.communes ? D.communes.features : []).forEach(function (f) { communeNames[f.properties.code] = f.properties.name; });
  function communeName(code) { return code === null || code === undefined ? "" : (communeNames[code] || ""); }
  function chip(colour) { return '<span class="gp-chip" style="background:' + colour + '"></span>'; }
  function label(prefix, v) { return v === null || v === undefined ? "" : T(prefix + "." + v); }
  function setParam(k, v) {
    if (v === null || v === undefined || v === "") { params.delete(k); } else { params.set(k, v); }
    var q = params.toString();
    try { window.history.replaceState(null, "", window.location.pathname + (q ? "?" + q : "")); } catch (e) { /* file:// */ }
  }
  function monthLabel(i) { var m = C.months[i]; return m ? m.slice(5, 7) + "/" + m.slice(0, 4) : ""; }
  function stepMonth() { return C.months.length && state.step !== null ? state.step : null; }
  function currentYear() {
    if (state.step === null) { return state.year; }
    if (C.months.length) {
      var y = Number(C.months[state.step].slice(0, 4)), best = null;
      C.years.forEach(function (yy) { if (yy <= y) { best = yy; } });
      return best === null ? state.year : best;
    }
    return C.years[state.step];
  }

  /* ------------------------------------------------------------ labels (placed without overlap) */
  // Names are placed by priority (Lao provinces, gates, posts, then communes by size), each only
  // where it fits inside its commune on screen and clear of every label placed before it.
  map.createPane("gp-flags").style.zIndex = 590;   // under markerPane (600): clusters stay on top
  var labelPane = map.createPane("gp-labels");
  labelPane.style.zIndex = 450;  // above the areas, under every marker: a name never hides a count
  labelPane.style.pointerEvents = "none";
  var LABELS = [], labelLayer = L.layerGroup().addTo(map), measure = document.createElement("canvas").getContext("2d");
  var LABEL_FONT = {"gp-lbl-lao": "italic 600 13px", "gp-lbl-gate": "600 11px", "gp-lbl-post": "600 11px",
                    "gp-lbl-commune": "500 10.5px"};
  function addLabel(at, text, cls, prio, group, minZoom, dx, fits) {
    if (!text) { return; }
    LABELS.push({at: L.latLng(at), text: text, cls: cls, prio: prio, group: group, minZoom: minZoom, dx: dx || 0, fits: fits || null});
  }
  function labelText(l) { return String(typeof l.text === "function" ? l.text() : l.text); }
  function labelBox(l) {
    measure.font = LABEL_FONT[l.cls] + " system-ui, sans-serif";
    var w = Math.ceil(measure.measureText(labelText(l)).width) + 6, h = l.cls === "gp-lbl-lao" ? 17 : 14;
    var p = map.latLngToContainerPoint(l.at), x0 = l.dx ? p.x + l.dx : p.x - w / 2;
    return {x0: x0, y0: p.y - h / 2, x1: x0 + w, y1: p.y + h / 2, w: w, h: h, p: p};
  }
  function placeLabels() {
    labelLayer.clearLayers();
    var z = map.getZoom(), size = map.getSize(), placed = [];
    LABELS.sort(function (a, b) { return a.prio - b.prio; });
    LABELS.forEach(function (l) {
      if (z < l.minZoom || (l.group && !on(l.group))) { return; }
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
  }
  function shortName(n) { return String(n || "").replace(/^(Xã|Phường|Thị trấn)\s+/, ""); }

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
    addLabel([l.at[1], l.at[0]], function () {
      return (lang === "en" && l.name_en ? l.name_en : l.name).toUpperCase() + (lang === "en" ? " (LAOS)" : " (LÀO)");
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
    var sub = esc(p.kind === "phuong" ? (lang === "vi" ? "Phường" : "Ward") : (lang === "vi" ? "Xã" : "Commune")) +
      (p.border ? " · " + esc(lang === "vi" ? "biên giới" : "border") + (p.lao ? " (" + esc(p.lao) + ")" : "") : "");
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
      addLabel(at ? [at[1], at[0]] : bounds.getCenter(), shortName(p.name), "gp-lbl-commune", 3 + rank / 1000, "communes", 8, 0,
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
    return popup(name, chip(VERDICT[a.verdict]) + esc(currentYear()), rows);
  }
  function findArea(list, key) { return (list || []).filter(function (a) { return a.key === key; })[0] || null; }
  if (G.progress) {
    if (D.post_areas) {
      postAreas = L.geoJSON(D.post_areas, {
        style: function (f) {
          var p = progressOf(currentYear()), a = p && findArea(p.posts, f.properties.key);
          // outlined, not filled: a fill would mix with the status colours underneath
          return {color: VERDICT[a ? a.verdict : "no_target"], weight: 3.5, opacity: 0.9, dashArray: "8 4",
                  fillColor: VERDICT[a ? a.verdict : "no_target"], fillOpacity: 0.06};
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
          return {color: VERDICT[a ? a.verdict : "no_target"], weight: 10, opacity: 0.75, lineCap: "round"};
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

  /* ------------------------------------------------------------ retail points (clustered) */
  var P = D.retail_points, iconCache = {};
  function pointIcon(type, status) {
    var key = type + "|" + status;
    if (!iconCache[key]) {
      iconCache[key] = L.divIcon({className: "gp-pt gp-pt-" + C.pstatus[status],
        html: '<i class="fa-solid ' + TYPE_ICON[C.types[type]] + '"></i>', iconSize: [24, 24], iconAnchor: [12, 12], popupAnchor: [0, -10]});
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
       row("f.last_activity", tx[P.last[i]]), row("f.cleared_on", tx[P.cleared[i]]), row("f.case_ref", P["case"][i]),
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
    return popup(lang === "vi" ? "Nương thuốc phiện" : "Opium poppy plot",
      chip(done ? "#bdbdbd" : "#ae017e") + esc(done ? (lang === "vi" ? "Đã triệt phá" : "Eradicated") : (lang === "vi" ? "Chưa triệt phá" : "Not eradicated")),
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
  function iconMarker(latlng, cls, icon, size, colour) {
    return L.marker(latlng, {icon: L.divIcon({className: "gp-sym " + cls,
      html: '<i class="fa-solid ' + icon + '"' + (colour ? ' style="color:' + colour + '"' : "") + "></i>",
      iconSize: [size, size], iconAnchor: [size / 2, size / 2]})});
  }
  if (D.border_crossings) {
    L.geoJSON(D.border_crossings, {
      pointToLayer: function (f, latlng) {
        var k = f.properties.kind, big = k === "international" || k === "main";
        var mk = iconMarker(latlng, "gp-x gp-x-" + esc(k), KIND_ICON[k] || "fa-flag", big ? 26 : k === "trail" ? 16 : 20);
        mk.bindTooltip(esc(f.properties.name), {className: "gp-tip"});
        if (k === "international" || k === "main" || k === "secondary") {
          addLabel(latlng, f.properties.name, "gp-lbl-gate", 1, "border_crossings", 8, 12);
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
        var mk = iconMarker(latlng, "gp-post", "fa-shield-halved", 22);
        mk.bindTooltip(esc(f.properties.name), {className: "gp-tip"});
        addLabel(latlng, f.properties.name, "gp-lbl-post", 2, "border_posts", 9, 12);
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
      pointToLayer: function (f, latlng) { return iconMarker(latlng, "gp-fac", FAC_ICON[f.properties.kind] || "fa-hospital", 18); },
      onEachFeature: function (f, layer) {
        layer.bindPopup(function () {
          var p = f.properties;
          return popup(p.name, esc(label("fac", p.kind)), [row("f.capacity", p.capacity)]);
        });
      }
    }).addTo(G.facilities);
  }

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
          return popup((lang === "vi" ? "Cụm điểm nóng " : "Hotspot cluster ") + (p.cluster || ""), esc(T("f.method")) + ": " + esc(String(p.method || "").toUpperCase()),
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
      var reasons = (lang === "en" && p.reasons_en && p.reasons_en.length) ? p.reasons_en : (p.reasons_vi && p.reasons_vi.length ? p.reasons_vi : p.reasons_en || []);
      var list = reasons.length ? '<div class="gp-reasons-title">' + esc(T("f.reasons")) + '</div><ul class="gp-reasons">' +
        reasons.map(function (r) { return "<li>" + esc(r) + "</li>"; }).join("") + "</ul>" : "";
      return popup(p.name || communeName(p.commune_code) || T("layer.complex_hotspots"),
        chip(flagColour(p)) + esc(T("level." + ["low", "medium", "high"][flagRank(p)])),
        [row("f.score", num(p.score, 2)), row("f.kind", p.area_kind ? T("area." + p.area_kind) : ""),
         row("f.commune", communeName(p.commune_code))], list);
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
      var mk = iconMarker([c[1], c[0]], "gp-flag", "fa-triangle-exclamation", 24, flagColour(f.properties));
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
          : {color: "#ffffff", weight: 0.4, fillColor: GI[g], fillOpacity: 0.7};
      },
      onEachFeature: function (f, layer) {
        layer.bindPopup(function () {
          var p = f.properties, g = p.gi;
          var cls = g === "ns" ? T("gi.ns") : T(g.indexOf("hot") === 0 ? "gi.hot" : "gi.cold") + " " + g.replace(/\D/g, "") + " %";
          return popup(T("layer.gistar_cells"), chip(GI[g]) + esc(cls), [row("f.value", p.value), row("f.z", p.z ? num(p.z, 2) : ""),
            row("f.p", p.p ? num(p.p, 4) : ""), row("f.p_fdr", p.p_fdr ? num(p.p_fdr, 4) : "")]);
        });
      }
    }).addTo(G.gistar_cells);
  }
  function emergingKey(cat) {
    var c = String(cat || "").toLowerCase(), keys = Object.keys(EMERGING);
    for (var i = 0; i < keys.length; i++) { if (c.indexOf(keys[i]) >= 0) { return keys[i]; } }
    return null;
  }
  if (D.emerging_hotspots) {
    L.geoJSON(D.emerging_hotspots, {
      style: function (f) {
        var k = emergingKey(f.properties.category), cold = /cold|lạnh/.test(String(f.properties.category));
        return k ? {color: "#555", weight: 0.4, fillColor: cold ? "#6baed6" : EMERGING[k], fillOpacity: 0.7}
          : {color: "#9e9e9e", weight: 0.2, fillOpacity: 0};
      },
      onEachFeature: function (f, layer) {
        layer.bindPopup(function () {
          var p = f.properties, k = emergingKey(p.category);
          var name = (lang === "en" ? p.label_en : p.label_vi) || (k ? T("em." + k) : "");
          return popup(T("layer.emerging_hotspots"), esc(name),
            [row("f.mk", p.mk_tau ? "τ = " + num(p.mk_tau, 2) + ", p = " + num(p.mk_p, 4) : ""),
             row("f.periods_hot", p.periods_hot)]);
        });
      }
    }).addTo(G.emerging_hotspots);
  }

  /* ------------------------------------------------------------ heat map */
  var heat = null;
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
        var st = C.pstatus[pointStatus(i, month)];
        if (pointVisible(i, month) && st !== "cleared") { pts.push([P.y[i], P.x[i], 1]); }
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

  /* ------------------------------------------------------------ panel: title and headline numbers */
  var panel = L.control({position: "topleft"});
  var panelDiv = null, panelOpen = true;
  panel.onAdd = function () {
    panelDiv = L.DomUtil.create("div", "gp-panel leaflet-bar");
    L.DomEvent.disableClickPropagation(panelDiv);
    L.DomEvent.disableScrollPropagation(panelDiv);
    return panelDiv;
  };
  panel.addTo(map);
  function classBar(classes, total) {
    return '<div class="gp-bar">' + C.classes.map(function (c) {
      var n = classes[c] || 0;
      return n ? '<span title="' + esc(T("status." + c)) + ": " + n + '" style="background:' + C.colours[c] + ";flex:" + n + '"></span>' : "";
    }).join("") + "</div>" + '<div class="gp-bar-legend">' + C.classes.map(function (c) {
      var n = classes[c] || 0;
      return n ? "<span>" + chip(C.colours[c]) + esc(T("status." + c)) + " <b>" + num(n) + "</b></span>" : "";
    }).join("") + "</div>";
  }
  function areaTable(title, list, cls) {
    if (!list || !list.length) { return ""; }
    var hasPts = list[0].eliminated !== undefined, hasPlots = list[0].plots !== undefined;
    return '<div class="gp-sub ' + cls + '">' + esc(title) + '</div><table class="gp-table"><tr><th></th><th>' + esc(T("f.drug_free")) +
      "</th><th>" + esc(T("f.target")) + "</th>" + (hasPts ? '<th title="' + esc(T("f.points_eliminated")) + '"><i class="fa-solid fa-store"></i>✕</th>' : "") +
      (hasPlots ? '<th title="' + esc(T("f.plots_eradicated")) + '"><i class="fa-solid fa-seedling"></i>✕</th>' : "") + "</tr>" +
      list.map(function (a) {
        return "<tr><td>" + chip(VERDICT[a.verdict]) + esc(a.name) + "</td><td>" + num(a.free) + "/" + num(a.n) + " <small>(" + pct(a.share) +
          ")</small></td><td>" + pct(a.target) + "</td>" + (hasPts ? "<td>" + num(a.eliminated) + "</td>" : "") +
          (hasPlots ? "<td>" + num(a.plots) + "</td>" : "") + "</tr>";
      }).join("") + "</table>" + (hasPts || hasPlots ? '<div class="gp-colnote">' +
      (hasPts ? '<span><i class="fa-solid fa-store"></i>✕ = ' + esc(T("ui.col_eliminated")) + "</span>" : "") +
      (hasPlots ? '<span><i class="fa-solid fa-seedling"></i>✕ = ' + esc(T("ui.col_eradicated")) + "</span>" : "") + "</div>" : "");
  }
  function renderPanel() {
    if (!panelDiv) { return; }
    var year = currentYear(), p = progressOf(year), h = [];
    h.push('<div class="gp-head"><div class="gp-title">' + esc(C.title || T("title")) + "</div>" +
      '<div class="gp-tools"><button type="button" class="gp-btn" data-act="lang" title="Language / Ngôn ngữ">' + (lang === "vi" ? "EN" : "VI") +
      '</button><button type="button" class="gp-btn" data-act="print" title="' + esc(T("ui.print")) + '"><i class="fa-solid fa-print"></i></button>' +
      '<button type="button" class="gp-btn" data-act="toggle" title="' + esc(panelOpen ? T("ui.hide") : T("ui.show")) + '"><i class="fa-solid ' +
      (panelOpen ? "fa-chevron-up" : "fa-chevron-down") + '"></i></button></div></div>');
    h.push('<div class="gp-meta"><span class="gp-class gp-class-' + esc(C.classification) + '">' + esc(T("ui.class." + C.classification)) +
      "</span> " + esc(T("ui.generated")) + " " + esc(C.generated) + "</div>");
    if (C.synthetic) { h.push('<div class="gp-synthetic">' + esc(T("ui.synthetic")) + "</div>"); }
    if (D.commune_counts) {
      h.push('<div class="gp-note' + (C.countsAllTime ? " gp-warn" : "") + '">' + esc(T("ui.counts_all_time")) + "</div>");
    }
    if (panelOpen) {
      if (C.years.length) {
        h.push('<div class="gp-year"><label>' + esc(T("f.year")) + ' <select data-act="year">' + C.years.map(function (y) {
          return '<option value="' + y + '"' + (y === year ? " selected" : "") + ">" + y + "</option>";
        }).join("") + "</select></label>" + (state.step !== null ? ' <small>(' + esc(T("ui.month")) + " " + esc(C.months.length ? monthLabel(state.step) : year) + ")</small>" : "") + "</div>");
      }
      if (!C.fromStatus && C.years.length) { h.push('<div class="gp-note">' + esc(T("ui.no_status")) + "</div>"); }
      if (p) {
        h.push('<div class="gp-sub">' + esc(T("ui.headline")) + " " + esc(year) + "</div>");
        h.push('<div class="gp-big"><b>' + num(p.free) + "</b>" + esc(T("ui.of")) + num(p.n) + " " + esc(T("ui.communes_drug_free")) +
          " <span class=\"gp-pct\" style=\"color:" + VERDICT[p.verdict] + '">(' + pct(p.share) + ")</span></div>");
        if (p.target !== null && p.target !== undefined) {
          h.push('<div class="gp-target">' + esc(T("ui.target")) + " " + pct(p.target) + " " + esc(T("ui.in_year")) + " " + esc(p.target_year) +
            (p.target_year === year ? " — " + chip(VERDICT[p.verdict]) + esc(T("verdict." + p.verdict)) : "") + "</div>");
        }
        h.push('<div class="gp-line">' + num(p.sach) + esc(T("ui.of")) + num(p.n) + " " + esc(T("ui.communes_sach")) + "</div>");
        h.push(classBar(p.classes, p.n));
        var facts = [];
        if (p.improved || p.worsened) {
          facts.push('<i class="fa-solid fa-arrow-trend-down gp-good"></i> ' + num(p.improved) + " " + esc(T("f.improved").toLowerCase()) +
            ", " + num(p.worsened) + " " + esc(T("f.worsened").toLowerCase()) + " (" + esc(T("f.since")) + " " + esc(p.since) + ")");
        }
        if (p.active_end !== undefined) { facts.push('<i class="fa-solid fa-store"></i> ' + num(p.active_end) + " " + esc(T("ui.points_active"))); }
        if (p.eliminated !== undefined) { facts.push('<i class="fa-solid fa-ban"></i> ' + num(p.eliminated) + " " + esc(T("ui.points_eliminated"))); }
        if (p.plots !== undefined) { facts.push('<i class="fa-solid fa-seedling"></i> ' + num(p.plots) + " " + esc(T("ui.plots_eradicated")) + " (" + num(p.plots_m2) + " m²)"); }
        if (facts.length) { h.push('<ul class="gp-facts"><li>' + facts.join("</li><li>") + "</li></ul>"); }
        h.push(areaTable(T("ui.by_segment"), p.segments, "gp-seg"));
        h.push('<details class="gp-posts"><summary>' + esc(T("ui.by_post")) + "</summary>" + areaTable("", p.posts, "") + "</details>");
      }
    }
    panelDiv.innerHTML = h.join("");
    panelDiv.classList.toggle("gp-collapsed", !panelOpen);
  }
  function onPanelClick(e) {
    var t = e.target.closest ? e.target.closest("[data-act]") : null;
    if (!t || t.tagName === "SELECT") { return; }
    var act = t.getAttribute("data-act");
    if (act === "lang") { setLang(lang === "vi" ? "en" : "vi"); }
    if (act === "print") { printNow(); }
    if (act === "toggle") { panelOpen = !panelOpen; renderPanel(); }
  }
  panelDiv.addEventListener("click", onPanelClick);
  panelDiv.addEventListener("change", function (e) {
    if (e.target.getAttribute("data-act") === "year") {
      state.year = Number(e.target.value);
      state.step = null;
      setParam("year", state.year);
      setParam("month", null);
      refresh();
    }
  });

  /* ------------------------------------------------------------ time slider */
  var steps = C.months.length ? C.months.length : (C.years.length > 1 ? C.years.length : 0);
  var slider = null, sliderDiv = null, playing = null;
  function stepLabel() {
    if (state.step === null) { return T("ui.all_time"); }
    return C.months.length ? T("ui.month") + " " + monthLabel(state.step) : T("f.year") + " " + C.years[state.step];
  }
  function renderSlider() {
    if (!sliderDiv) { return; }
    sliderDiv.querySelector(".gp-step-label").textContent = stepLabel();
    sliderDiv.querySelector(".gp-play").innerHTML = '<i class="fa-solid ' + (playing ? "fa-pause" : "fa-play") + '"></i>';
    sliderDiv.querySelector(".gp-play").title = playing ? T("ui.pause") : T("ui.play");
    sliderDiv.querySelector(".gp-all").title = T("ui.all_time");
    sliderDiv.querySelector(".gp-all").style.visibility = state.step === null ? "hidden" : "visible";
    var r = sliderDiv.querySelector("input");
    r.value = state.step === null ? steps - 1 : state.step;
    sliderDiv.classList.toggle("gp-off", state.step === null);
  }
  function setStep(s) {
    state.step = s;
    setParam("month", s === null ? null : (C.months.length ? C.months[s] : C.years[s]));
    refresh();
  }
  if (steps > 1) {
    slider = L.control({position: "bottomleft"});
    slider.onAdd = function () {
      sliderDiv = L.DomUtil.create("div", "gp-slider leaflet-bar");
      sliderDiv.innerHTML = '<button type="button" class="gp-btn gp-play"></button><input type="range" min="0" max="' + (steps - 1) +
        '" step="1"><span class="gp-step-label"></span><button type="button" class="gp-btn gp-all"><i class="fa-solid fa-xmark"></i></button>';
      L.DomEvent.disableClickPropagation(sliderDiv);
      L.DomEvent.disableScrollPropagation(sliderDiv);
      sliderDiv.querySelector("input").addEventListener("input", function (e) { setStep(Number(e.target.value)); });
      sliderDiv.querySelector(".gp-all").addEventListener("click", function () { stopPlay(); setStep(null); });
      sliderDiv.querySelector(".gp-play").addEventListener("click", function () {
        if (playing) { stopPlay(); renderSlider(); return; }
        if (state.step === null || state.step >= steps - 1) { setStep(0); }
        playing = window.setInterval(function () {
          if (state.step >= steps - 1) { stopPlay(); renderSlider(); return; }
          setStep(state.step + 1);
        }, C.months.length ? 900 : 1500);
        renderSlider();
      });
      return sliderDiv;
    };
    slider.addTo(map);
  }
  function stopPlay() { if (playing) { window.clearInterval(playing); playing = null; } }

  /* ------------------------------------------------------------ legend and north arrow */
  var legend = L.control({position: "bottomright"}), legendDiv = null;
  legend.onAdd = function () {
    legendDiv = L.DomUtil.create("div", "gp-legend leaflet-bar");
    L.DomEvent.disableClickPropagation(legendDiv);
    L.DomEvent.disableScrollPropagation(legendDiv);
    return legendDiv;
  };
  legend.addTo(map);
  var north = L.control({position: "bottomright"}), northDiv = null;
  north.onAdd = function () {
    var d = northDiv = L.DomUtil.create("div", "gp-north");
    d.innerHTML = '<svg viewBox="0 0 24 36" width="22" height="33" aria-hidden="true"><path d="M12 2 L20 30 L12 24 L4 30 Z" fill="#222"/>' +
      '<path d="M12 2 L12 24 L4 30 Z" fill="#fff" stroke="#222" stroke-width="1"/></svg><span class="gp-i18n" data-k="ui.north">' + esc(T("ui.north")) + "</span>";
    return d;
  };
  north.addTo(map);
  function on(key) { return G[key] && map.hasLayer(G[key]); }
  function anyLabelOnly(year) {
    return (D.communes ? D.communes.features : []).some(function (f) { return labelOnly(f.properties.code, year); });
  }
  function circles(values, radius, stroke, fill, opacity, unit) {  // proportional symbols, nested
    return values.map(function (v) {
      var r = radius(v), d = Math.ceil(2 * r + 2);
      return '<span><svg width="' + d + '" height="' + d + '"><circle cx="' + d / 2 + '" cy="' + d / 2 + '" r="' + r + '" stroke="' + stroke +
        '" fill="' + fill + '" fill-opacity="' + opacity + '"/></svg>' + num(v) + (unit || "") + "</span>";
    }).join("");
  }
  function renderLegend() {
    if (!legendDiv) { return; }
    var h = ['<div class="gp-legend-title">' + esc(T("ui.legend")) + "</div>"];
    if (on("communes")) {
      h.push('<div class="gp-sub">' + esc(T("layer.communes")) + " " + esc(currentYear() || "") + "</div>" + C.classes.map(function (c) {
        return '<div class="gp-li"><span class="gp-sw" style="background:' + C.colours[c] + '"></span>' + esc(T("status." + c)) + "</div>";
      }).join(""));
      if (anyLabelOnly(currentYear())) {
        h.push('<div class="gp-li"><span class="gp-sw" style="background:' + C.colours.loai_III + ";border:2.5px solid " + SACH_OUTLINE +
          '"></span>' + esc(T("ui.sach_label")) + "</div>");
      }
    }
    if (on("commune_counts")) {
      h.push('<div class="gp-sub">' + esc(T("ui.counts_legend")) + '</div><div class="gp-li gp-li-row">' + circles([50, 20, 5], countRadius,
        "#5b2a86", "#8c6bb1", 0.55) + '<span><svg width="12" height="12"><circle cx="6" cy="6" r="4" stroke="#5b2a86" fill="#8c6bb1" fill-opacity="0.15"/></svg>' +
        esc(T("f.suppressed")) + "</span></div>");
    }
    if (on("retail_points")) {
      h.push('<div class="gp-sub">' + esc(T("layer.retail_points")) + "</div>" + C.types.map(function (t) {
        return '<div class="gp-li"><span class="gp-pt gp-pt-active gp-pt-inline"><i class="fa-solid ' + TYPE_ICON[t] + '"></i></span>' + esc(T("type." + t)) + "</div>";
      }).join("") + '<div class="gp-li gp-li-row">' + C.pstatus.map(function (s) {
        return '<span><span class="gp-dot gp-pt-' + s + '"></span>' + esc(T("pstatus." + s)) + "</span>";
      }).join("") + '</div><div class="gp-li"><span class="gp-cluster gp-cluster-m gp-cluster-inline">12</span>' + esc(T("ui.cluster_legend")) + "</div>");
    }
    if (on("opium_plots")) {
      h.push('<div class="gp-sub">' + esc(T("ui.plots_legend")) + '</div><div class="gp-li gp-li-row">' +
        circles([1000, 300, 50], plotRadius, "#7a0177", "#ae017e", 0.85, " m²") +
        '<span><span class="gp-dot" style="background:#e7d4e8;border:1px dashed #7a0177"></span>' + esc(T("ui.eradicated")) + "</span></div>");
    }
    if (on("border_crossings")) {
      h.push('<div class="gp-sub">' + esc(T("layer.border_crossings")) + "</div>" + C.kinds.map(function (k) {
        return '<div class="gp-li"><span class="gp-sym gp-x gp-x-' + k + ' gp-sym-inline"><i class="fa-solid ' + KIND_ICON[k] + '"></i></span>' + esc(T("kind." + k)) + "</div>";
      }).join(""));
    }
    if (on("border_posts")) {
      h.push('<div class="gp-li"><span class="gp-sym gp-post gp-sym-inline"><i class="fa-solid fa-shield-halved"></i></span>' + esc(T("layer.border_posts")) + "</div>");
    }
    if (on("border_line")) {
      h.push('<div class="gp-li"><span class="gp-line-sw"></span>' + esc(T("layer.border_line")) + "</div>");
    }
    if (on("hotspot_clusters")) {
      h.push('<div class="gp-li"><span class="gp-sw" style="border:2px dashed #d94801;background:rgba(253,141,60,.15)"></span>' + esc(T("layer.hotspot_clusters")) + "</div>");
    }
    if (on("complex_hotspots")) {
      h.push('<div class="gp-sub">' + esc(T("layer.complex_hotspots")) + '</div><div class="gp-li gp-li-row">' +
        [["high", "#b10026", "solid", 2.5], ["medium", "#fc4e2a", "solid", 1.5], ["low", "#feb24c", "dashed", 1.5]].map(function (l) {
          return '<span><span class="gp-sw" style="background:transparent;border:' + l[3] + "px " + l[2] + " " + l[1] + '"></span>' + esc(T("level." + l[0])) + "</span>";
        }).join("") + '</div><div class="gp-li"><i class="fa-solid fa-triangle-exclamation" style="color:#b10026;width:18px"></i>' + esc(T("ui.flag_high")) + "</div>");
    }
    if (on("facilities")) {
      h.push('<div class="gp-sub">' + esc(T("layer.facilities")) + "</div>" + Object.keys(FAC_ICON).map(function (k) {
        return '<div class="gp-li"><span class="gp-sym gp-fac gp-sym-inline"><i class="fa-solid ' + FAC_ICON[k] + '"></i></span>' + esc(T("fac." + k)) + "</div>";
      }).join(""));
    }
    if (on("lao_provinces")) {
      h.push('<div class="gp-li"><span class="gp-sw" style="background:#efeadf;border-color:#a89f91"></span>' + esc(T("layer.lao_provinces")) + "</div>");
    }
    if (on("distance_bands") && D.distance_bands) {
      var shadesL = ["#08519c", "#3182bd", "#6baed6", "#9ecae1"];
      h.push('<div class="gp-sub">' + esc(T("ui.distance_legend")) + '</div><div class="gp-li gp-li-row">' + D.distance_bands.features.map(function (f, i) {
        return '<span><span class="gp-sw" style="background:' + shadesL[i] + ';opacity:.45"></span>' + num(f.properties.lo) + "–" + num(f.properties.hi) + " km</span>";
      }).join("") + "</div>");
    }
    if (on("gistar_cells")) {
      h.push('<div class="gp-sub">Gi*</div><div class="gp-li gp-li-row">' + ["hot99", "hot95", "hot90", "cold90", "cold95", "cold99"].map(function (g) {
        return '<span><span class="gp-sw" style="background:' + GI[g] + '"></span>' + esc(T(g.indexOf("hot") === 0 ? "gi.hot" : "gi.cold")) + " " + g.slice(-2) + "%</span>";
      }).join("") + "</div>");
    }
    if (on("emerging_hotspots")) {
      h.push('<div class="gp-sub">' + esc(T("layer.emerging_hotspots")) + '</div><div class="gp-li gp-li-row">' + Object.keys(EMERGING).map(function (k) {
        return '<span><span class="gp-sw" style="background:' + EMERGING[k] + '"></span>' + esc(T("em." + k)) + "</span>";
      }).join("") + "</div>");
    }
    if (on("progress")) {
      h.push('<div class="gp-sub">' + esc(T("layer.progress")) + '</div><div class="gp-li gp-li-row">' +
        Object.keys(VERDICT).map(function (g) {
          return '<span><span class="gp-sw" style="background:' + VERDICT[g] + '"></span>' + esc(T("verdict." + g)) + "</span>";
        }).join("") + "</div>");
    }
    if (on("heat")) {
      h.push('<div class="gp-li"><span class="gp-sw gp-heat-sw"></span>' + esc(T("layer.heat")) + "</div>");
    }
    legendDiv.innerHTML = h.join("");
  }

  /* ------------------------------------------------------------ language, refresh, URL */
  function relabel() {
    var nodes = document.querySelectorAll(".gp-i18n");
    for (var i = 0; i < nodes.length; i++) { nodes[i].textContent = T(nodes[i].getAttribute("data-k")); }
    document.documentElement.lang = lang;
    document.title = C.title || T("title");
  }
  function setLang(l) {
    lang = l;
    setParam("lang", l === C.lang ? null : l);
    map.closePopup();
    relabel();
    renderPanel();
    renderSlider();
    renderLegend();
    renderTitleBlock();
    placeLabels();
  }
  function refresh() {
    if (communeLayer) { communeLayer.setStyle(communeStyle); }
    if (progressLines) { progressLines.setStyle(progressLines.options.style); }
    if (postAreas) { postAreas.setStyle(postAreas.options.style); }
    drawPoints();
    drawPlots();
    drawHeat();
    renderPanel();
    renderSlider();
    renderLegend();
    renderTitleBlock();
  }
  function visibleOverlays() {
    return C.overlays.filter(function (k) {
      if (k === "osm") {
        var found = false;
        map.eachLayer(function (l) { if (l instanceof L.TileLayer) { found = true; } });
        return found;
      }
      return on(k);
    });
  }
  map.on("overlayadd overlayremove", function () {
    setParam("layers", visibleOverlays().join(","));
    renderLegend();
  });

  /* ------------------------------------------------------------ print layout */
  // One sheet of the paper chosen: a title block on top; the map in its frame; headline,
  // legend, scale bar and north arrow beside it (landscape) or under it (portrait), never on
  // it; no control prints. The map is fitted to the view chosen (or the one on screen).
  var PAPER_MM = {A4: [210, 297], A3: [297, 420]}, MARGIN_MM = 8, printing = null;
  var paperWanted = PAPER_MM[String(params.get("paper") || "").toUpperCase()] ? String(params.get("paper")).toUpperCase() : C.paper;
  var orientWanted = params.get("orientation") === "portrait" || params.get("orientation") === "landscape" ? params.get("orientation") : C.orientation;
  function fmtDate(iso) {
    var d = String(iso || "").slice(0, 10).split("-");
    return d.length === 3 ? d[2] + "/" + d[1] + "/" + d[0] : esc(iso);
  }
  function paperScale() {  // 1 : N at the map's centre; a CSS pixel prints as 25.4/96 mm
    var c = map.getSize().divideBy(2), a = map.containerPointToLatLng(c), b = map.containerPointToLatLng(c.add([100, 0]));
    var n = a.distanceTo(b) / 100 / (0.0254 / 96), p = Math.pow(10, Math.floor(Math.log10(n)) - 1);
    return Math.round(n / p) * p;
  }
  function viewName() {
    var kind = String(C.view || "").split(":")[0];
    if ((kind === "commune" || kind === "post") && C.viewName) { return (kind === "post" ? T("ui.view.post") + " " : "") + C.viewName; }
    return T(kind === "border" ? "ui.view.border" : "ui.view.province");
  }
  function renderTitleBlock() {
    if (!printing) { return; }
    var tb = printing.titleblock, year = currentYear();
    tb.querySelector(".gp-tb-main").innerHTML = '<div class="gp-tb-title">' + esc(C.title || T("title")) + "</div>" +
      (C.unit ? '<div class="gp-tb-unit">' + esc(C.unit) + "</div>" : "") +
      '<div class="gp-tb-view">' + esc(viewName()) + (year ? " · " + esc(T("ui.classes_year")) + " " + esc(year) : "") + "</div>";
    tb.querySelector(".gp-tb-meta").innerHTML = "<div>" + esc(T("ui.generated")) + " " + fmtDate(C.generated) + "</div>" +
      (C.dataAsOf ? "<div>" + esc(T("ui.data_as_of")) + " " + fmtDate(C.dataAsOf) + "</div>" : "") +
      "<div>" + esc(T("ui.scale")) + " ≈ 1 : " + num(paperScale()) + "</div>" +
      (C.classification === "public" ? '<div class="gp-class gp-class-public">' + esc(T("ui.class.public")) + "</div>" : "");
  }
  function enterPrint(paper, orient, bounds, temporary) {
    if (printing) { return; }
    var P = PAPER_MM[paper] || PAPER_MM.A4, land = orient !== "portrait", root = document.documentElement;
    var w = (land ? P[1] : P[0]) - 2 * MARGIN_MM, h = (land ? P[0] : P[1]) - 2 * MARGIN_MM, box = map.getContainer();
    var style = document.createElement("style");
    style.textContent = "@page { size: " + paper + " " + (land ? "landscape" : "portrait") + "; margin: " + MARGIN_MM + "mm; }" +
      " .gp-sheet { width: " + w + "mm; height: " + h + "mm; }";
    document.head.appendChild(style);
    root.classList.add("gp-print-view", land ? "gp-print-landscape" : "gp-print-portrait", "gp-paper-" + paper);
    var sheet = L.DomUtil.create("div", "gp-sheet"), tb = L.DomUtil.create("div", "gp-titleblock", sheet);
    tb.innerHTML = '<div class="gp-tb-main"></div><div class="gp-tb-mark"></div><div class="gp-tb-meta"></div>';
    var frame = L.DomUtil.create("div", "gp-frame", sheet), side = L.DomUtil.create("div", "gp-side", sheet), moved = [];
    function move(el, to) { if (el) { moved.push([el, el.parentNode, el.nextSibling]); to.appendChild(el); } }
    box.parentNode.insertBefore(sheet, box);
    move(box, frame);
    move(document.querySelector(".gp-marking"), tb.querySelector(".gp-tb-mark"));
    move(panelDiv, side);
    move(legendDiv, side);
    var foot = L.DomUtil.create("div", "gp-side-foot", side);
    move(box.querySelector(".leaflet-control-scale"), foot);
    move(northDiv, foot);
    printing = {style: style, sheet: sheet, titleblock: tb, moved: moved, temporary: !!temporary,
                center: map.getCenter(), zoom: map.getZoom(), snap: map.options.zoomSnap};
    renderPanel();  // the sheet's parts first: they decide the size of the map's frame
    renderLegend();
    renderTitleBlock();
    map.options.zoomSnap = 0;  // the view fills the frame exactly
    if (map._animatingZoom && map._onZoomTransitionEnd) { map._onZoomTransitionEnd(); }  // a zoom still in flight would swallow the fit
    map.invalidateSize({pan: false});
    if (bounds) { map.fitBounds(bounds, {padding: [4, 4], animate: false}); }
    renderTitleBlock();
    placeLabels();
  }
  function exitPrint() {
    if (!printing) { return; }
    for (var i = printing.moved.length - 1; i >= 0; i--) {
      var m = printing.moved[i];
      m[1].insertBefore(m[0], m[2] && m[2].parentNode === m[1] ? m[2] : null);
    }
    printing.sheet.parentNode.removeChild(printing.sheet);
    printing.style.parentNode.removeChild(printing.style);
    document.documentElement.classList.remove("gp-print-view", "gp-print-landscape", "gp-print-portrait", "gp-paper-A4", "gp-paper-A3");
    map.options.zoomSnap = printing.snap;
    var back = printing;
    printing = null;
    map.invalidateSize({pan: false});
    map.setView(back.center, back.zoom, {animate: false});
    renderPanel();
    renderLegend();
    placeLabels();
  }
  function printNow() {
    if (!printing) { enterPrint(paperWanted, orientWanted, map.getBounds(), true); }
    window.print();
  }
  // Ctrl+P on the interactive page prints the same layout, of the view on screen
  window.addEventListener("beforeprint", function () {
    if (!printing) { enterPrint(paperWanted, orientWanted, map.getBounds(), true); }
  });
  window.addEventListener("afterprint", function () { if (printing && printing.temporary) { exitPrint(); } });
  map.on("moveend", function () { renderTitleBlock(); });
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  map.attributionControl.addAttribution("Ranh giới / boundaries: bando/VPD 2025, Natural Earth");

  // opening state from the URL: ?month=2024-06 (or a year), ?year=2025
  var wantYear = Number(params.get("year"));
  if (wantYear && C.years.indexOf(wantYear) >= 0) { state.year = wantYear; }
  var wantStep = params.get("month");
  if (wantStep) {
    var idx = C.months.length ? C.months.indexOf(wantStep.slice(0, 7)) : C.years.indexOf(Number(wantStep));
    if (idx >= 0) { state.step = idx; }
  }
  var readyDone = false;
  function ready() {
    if (readyDone || !pointsReady) { return; }
    readyDone = true;
    window.geoPcmtReady = performance.now();
    document.documentElement.setAttribute("data-gp-ready", "1");
  }
  relabel();
  refresh();
  map.on("moveend overlayadd overlayremove", placeLabels);
  if (C.print || params.get("print") === "1") { enterPrint(paperWanted, orientWanted, C.focus || map.getBounds(), false); }
  placeLabels();
  ready();
  return {map: map, groups: G, setLang: setLang, setStep: setStep, state: state, drugFreeDrawn: drugFreeDrawn,
          enterPrint: enterPrint, exitPrint: exitPrint, progress: progressOf, colours: C.colours,
          provinceBounds: function () { return D.province ? L.geoJSON(D.province).getBounds() : null; }};
}
