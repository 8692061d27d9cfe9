/* geo_pcmt map page, the side panel (title, headline numbers, tables along the border) and the time slider.
 */
function geoPcmtPanel(app) {
  "use strict";
  var map = app.map, G = app.G, C = app.C, D = app.D, T = app.T, esc = app.esc, num = app.num, pct = app.pct,
      row = app.row, rowHtml = app.rowHtml, popup = app.popup, chip = app.chip, label = app.label,
      canvas = app.canvas, currentYear = app.currentYear, stepMonth = app.stepMonth, on = app.on;
  var state = app.state, setParam = app.setParam, monthLabel = app.monthLabel, VERDICT = app.VERDICT;
  /* ------------------------------------------------------------ panel: title and headline numbers */
  var panel = L.control({position: "topleft"});
  var panelDiv = null, panelOpen = true, tab = "status", printOpen = false;
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
    var year = currentYear(), p = app.progressOf ? app.progressOf(year) : null, h = [];
    h.push('<div class="gp-head"><div class="gp-title">' + esc(C.title || T("title")) + "</div>" +
      '<div class="gp-tools"><button type="button" class="gp-btn" data-act="lang" title="Language / Ngôn ngữ">' + (app.lang === "vi" ? "EN" : "VI") +
      '</button><button type="button" class="gp-btn" data-act="print" title="' + esc(T("ui.print")) + '"><i class="fa-solid fa-print"></i></button>' +
      '<button type="button" class="gp-btn" data-act="toggle" title="' + esc(panelOpen ? T("ui.hide") : T("ui.show")) + '"><i class="fa-solid ' +
      (panelOpen ? "fa-chevron-up" : "fa-chevron-down") + '"></i></button></div></div>');
    h.push('<div class="gp-meta"><span class="gp-class gp-class-' + esc(C.classification) + '">' + esc(T("ui.class." + C.classification)) +
      "</span> " + esc(T("ui.generated")) + " " + esc(app.fmtDate(C.generated)) + "</div>");
    if (C.synthetic) { h.push('<div class="gp-synthetic">' + esc(T("ui.synthetic")) + "</div>"); }
    if (D.commune_counts) {
      h.push('<div class="gp-note' + (C.countsAllTime ? " gp-warn" : "") + '">' + esc(T("ui.counts_all_time")) + "</div>");
    }
    // a printed sheet carries the headline, never the list, the tabs or the paper chooser
    var sheet = document.documentElement.classList.contains("gp-print-view");
    var places = app.placesList && !sheet ? app.placesList() : null;
    if (panelOpen && places !== null) {
      h.push('<div class="gp-tabs" role="tablist">' + ["status", "places"].map(function (k) {
        return '<button type="button" role="tab" class="gp-tab' + (tab === k ? " gp-tab-on" : "") + '" data-act="tab" data-tab="' + k +
          '" aria-selected="' + (tab === k) + '">' + esc(T("ui.tab_" + k)) + (k === "places" ? " (" + num(app.placesCount) + ")" : "") + "</button>";
      }).join("") + "</div>");
    }
    if (panelOpen && printOpen && !sheet && app.printChooser) { h.push(app.printChooser()); }
    if (panelOpen && places !== null && tab === "places") {
      h.push(places);
    } else if (panelOpen) {
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
    if (act === "lang") { app.setLang(app.lang === "vi" ? "en" : "vi"); }
    if (act === "print") { printOpen = !printOpen; panelOpen = true; renderPanel(); }
    if (act === "print-go" || act === "print-preview") { app.printChosen(panelDiv, act === "print-preview"); }
    if (act === "toggle") { app.setPanelOpen(!panelOpen); }
    if (act === "tab") { tab = t.getAttribute("data-tab"); renderPanel(); }
    if (act === "place") { app.showPlace(Number(t.getAttribute("data-i"))); }
  }
  panelDiv.addEventListener("click", onPanelClick);
  panelDiv.addEventListener("keydown", function (e) { if (e.key === "Enter") { onPanelClick(e); } });
  app.setPanelOpen = function (open) {  // map_layout.js folds it on a phone
    panelOpen = open;
    renderPanel();
    if (open && app.onBoxOpen) { app.onBoxOpen(panelDiv); }
  };
  app.panelOpen = function () { return panelOpen; };
  panelDiv.addEventListener("change", function (e) {
    if (e.target.getAttribute("data-act") === "year") {
      state.year = Number(e.target.value);
      state.step = null;
      setParam("year", state.year);
      setParam("month", null);
      app.refresh();
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
    app.refresh();
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

  app.renderPanel = renderPanel;
  app.renderSlider = renderSlider;
  app.setStep = setStep;
  app.panelDiv = panelDiv;
}
