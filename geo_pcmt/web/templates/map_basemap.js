/* geo_pcmt map page: the offline base layer (data/basemap/): rivers and towns, drawn above the
 * commune colours and below every symbol, never catching the mouse. Town labels carry both
 * names; the page's language (html[lang]) shows one of them (map_base.css).
 */
function geoPcmtBasemap(map, B, lang) {
  "use strict";
  if (!B) { return null; }
  var ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"};
  function esc(v) {
    return v === null || v === undefined ? "" : String(v).replace(/[&<>"']/g, function (c) { return ESC[c]; });
  }
  var WIDTH = {1: 2.4, 2: 1.9, 3: 1.5, 4: 1.1, 5: 0.8};
  map.createPane("gpBase").style.zIndex = 410;        // above the commune fills (400)
  map.createPane("gpBaseLabels").style.zIndex = 450;  // below markers (600) and popups
  map.getPane("gpBase").style.pointerEvents = "none";
  map.getPane("gpBaseLabels").style.pointerEvents = "none";
  var out = {};
  if (B.rivers) {
    out.rivers = L.geoJSON(B.rivers, {pane: "gpBase", interactive: false, style: function (f) {
      return {color: "#4a90c8", weight: WIDTH[f.properties.level] || 0.8, opacity: 0.85, lineCap: "round"};
    }}).addTo(map);
  }
  if (B.places) {
    out.places = L.geoJSON(B.places, {pane: "gpBaseLabels", interactive: false, pointToLayer: function (f, latlng) {
      var p = f.properties, vi = p.name || p.name_en, en = p.name_en || p.name;
      return L.marker(latlng, {pane: "gpBaseLabels", interactive: false, keyboard: false, icon: L.divIcon({
        className: "gp-base-place gp-base-" + esc(String(p.country || "").toLowerCase()),
        html: '<span class="gp-base-dot"></span><span class="gp-base-label"><span class="gp-vi">' + esc(vi) +
              '</span><span class="gp-en">' + esc(en) + "</span></span>",
        iconSize: [8, 8], iconAnchor: [4, 4]})});
    }}).addTo(map);
  }
  function byZoom() {  // towns are named from the province view in; the overview stays clean
    map.getPane("gpBaseLabels").classList.toggle("gp-base-nolabels", map.getZoom() < 8);
  }
  map.on("zoomend", byZoom);
  byZoom();
  map.attributionControl.addAttribution("Sông / rivers: WDBII–GSHHG; địa danh / places: GeoNames (CC BY 4.0)");
  return out;
}
