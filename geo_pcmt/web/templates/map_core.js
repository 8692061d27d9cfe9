/* geo_pcmt map page, the shared core: words, escaping, numbers, popups, symbols, the year and
 * month on show. Every module of the page (map_*.js) gets this one `app` object.
 * Every value that comes from data goes through esc() (or textContent) before it reaches the DOM.
 */
function geoPcmtCore(map, G, C) {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"};
  var app = {
    map: map, G: G, C: C, D: C.data, params: params,
    lang: (params.get("lang") === "en" || params.get("lang") === "vi") ? params.get("lang") : C.lang,
    canvas: L.canvas({padding: 0.3}),
    state: {step: null, year: C.year, since: null},
    legendSections: [],   // function () -> HTML, added by the layer modules, drawn by map_legend.js
    onRefresh: [],        // called when the year, month or language changes
    TYPE_ICON: {diem_ban_le: "fa-store", dia_diem_to_chuc_chua_chap: "fa-house-chimney",
                tu_diem_phuc_tap: "fa-people-group"},
    KIND_ICON: {international: "fa-building-flag", main: "fa-flag", secondary: "fa-flag",
                opening: "fa-door-open", trail: "fa-person-hiking"},
    FAC_ICON: {methadone_treatment: "fa-house-medical", methadone_dispensing: "fa-prescription-bottle-medical",
               rehab: "fa-hospital"},
    // verdicts of progress.dashboard (the same words as `geo-pcmt progress`)
    VERDICT: {achieved: "#1a9850", on_track: "#a6d96a", behind: "#d73027", no_target: "#9e9e9e"},
    GI: {hot99: "#b2182b", hot95: "#ef8a62", hot90: "#fddbc7", ns: "#ffffff",
         cold90: "#d1e5f0", cold95: "#67a9cf", cold99: "#2166ac"},
    EMERGING: {"new": "#fee08b", consecutive: "#fdae61", intensifying: "#f46d43",
               persistent: "#a50026", diminishing: "#fdd0a2", sporadic: "#e6f598",
               oscillating: "#cab2d6", historical: "#bdbdbd"},
    LEVEL_COLOUR: {low: "#feb24c", medium: "#fc4e2a", high: "#b10026"}
  };
  app.T = function (k) {
    var d = C.i18n[app.lang] || C.i18n.vi;
    return d[k] !== undefined ? d[k] : (C.i18n.vi[k] !== undefined ? C.i18n.vi[k] : k);
  };
  app.esc = function (v) {
    return v === null || v === undefined ? "" : String(v).replace(/[&<>"']/g, function (c) { return ESC[c]; });
  };
  app.fmtDate = function (iso) {  // 2026-12-05 -> 05/12/2026, as an officer writes a day
    var d = String(iso || "").slice(0, 10).split("-");
    return d.length === 3 ? d[2] + "/" + d[1] + "/" + d[0] : String(iso || "");
  };
  app.num = function (v, digits) {
    if (v === null || v === undefined || v === "") { return ""; }
    var n = Number(v);
    if (!isFinite(n)) { return app.esc(v); }
    return n.toLocaleString(app.lang === "vi" ? "vi-VN" : "en-GB", {maximumFractionDigits: digits || 0});
  };
  app.pct = function (v) { return v === null || v === undefined ? "–" : app.num(100 * v, 0) + " %"; };
  app.rowHtml = function (k, h) { return h === "" ? "" : "<tr><th>" + app.esc(app.T(k)) + "</th><td>" + h + "</td></tr>"; };
  app.row = function (k, text) { return text === null || text === undefined || text === "" ? "" : app.rowHtml(k, app.esc(text)); };
  app.popup = function (title, sub, rows, extra) {
    return '<div class="gp-popup"><div class="gp-popup-title">' + app.esc(title) + "</div>" +
      (sub ? '<div class="gp-popup-sub">' + sub + "</div>" : "") +
      "<table>" + rows.join("") + "</table>" + (extra || "") + "</div>";
  };
  app.reasonList = function (vi, en) {  // numbered reasons in the page's language
    var reasons = (app.lang === "en" && en && en.length) ? en : (vi && vi.length ? vi : en || []);
    return reasons.length ? '<div class="gp-reasons-title">' + app.esc(app.T("f.reasons")) + '</div><ul class="gp-reasons">' +
      reasons.map(function (r) { return "<li>" + app.esc(r) + "</li>"; }).join("") + "</ul>" : "";
  };
  var communeNames = {};
  (app.D.communes ? app.D.communes.features : []).forEach(function (f) { communeNames[f.properties.code] = f.properties.name; });
  app.communeName = function (code) { return code === null || code === undefined ? "" : (communeNames[code] || ""); };
  app.chip = function (colour) { return '<span class="gp-chip" style="background:' + colour + '"></span>'; };
  app.label = function (prefix, v) { return v === null || v === undefined ? "" : app.T(prefix + "." + v); };
  app.setParam = function (k, v) {
    if (v === null || v === undefined || v === "") { params.delete(k); } else { params.set(k, v); }
    var q = params.toString();
    try { window.history.replaceState(null, "", window.location.pathname + (q ? "?" + q : "")); } catch (e) { /* file:// */ }
  };
  app.monthLabel = function (i) { var m = C.months[i]; return m ? m.slice(5, 7) + "/" + m.slice(0, 4) : ""; };
  app.stepMonth = function () { return C.months.length && app.state.step !== null ? app.state.step : null; };
  app.currentYear = function () {
    var state = app.state;
    if (state.step === null) { return state.year; }
    if (C.months.length) {
      var y = Number(C.months[state.step].slice(0, 4)), best = null;
      C.years.forEach(function (yy) { if (yy <= y) { best = yy; } });
      return best === null ? state.year : best;
    }
    return C.years[state.step];
  };
  app.on = function (key) { return !!(G[key] && map.hasLayer(G[key])); };
  app.iconMarker = function (latlng, cls, icon, size, colour) {
    return L.marker(latlng, {icon: L.divIcon({className: "gp-sym " + cls,
      html: '<i class="fa-solid ' + icon + '"' + (colour ? ' style="color:' + colour + '"' : "") + "></i>",
      iconSize: [size, size], iconAnchor: [size / 2, size / 2]})});
  };
  app.control = function (position, cls, onAdd) {  // a box of the page on the map (panel, legend, slider)
    var ctl = L.control({position: position}), div = L.DomUtil.create("div", cls);
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    ctl.onAdd = function () { if (onAdd) { onAdd(div); } return div; };
    ctl.addTo(map);
    return div;
  };
  app.legendSw = function (style, text) {
    return '<div class="gp-li"><span class="gp-sw" style="' + style + '"></span>' + app.esc(text) + "</div>";
  };
  map.createPane("gp-flags").style.zIndex = 590;   // under markerPane (600): clusters stay on top
  return app;
}
