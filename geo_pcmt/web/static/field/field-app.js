/* The field app: sign-in and unlock, record and edit, patrol track, queue and sync.
 * Screens are <section data-screen> in field.html; every data value is written with
 * textContent, never as markup. ``window.geoPcmtField`` is the app (tests drive it). */
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("gp-config").textContent);
  const root = cfg.root;
  const t = (k) => I18n.t(k);
  const el = FieldForm.el;
  const $ = (sel) => document.querySelector(sel);
  const RETRY_MS = 60000;

  function isoLocal(d) { // ISO 8601 with the phone's offset, e.g. 2026-12-05T10:21:16+07:00
    const off = -d.getTimezoneOffset(), sign = off >= 0 ? "+" : "-", p = (n) => String(Math.abs(n)).padStart(2, "0");
    const local = new Date(d.getTime() + off * 60000).toISOString().slice(0, 19);
    return `${local}${sign}${p(Math.trunc(off / 60))}:${p(off % 60)}`;
  }
  function device() {
    let id = localStorage.getItem("gp-field-device");
    if (!id) {
      id = Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, "0")).join("");
      localStorage.setItem("gp-field-device", id);
    }
    return id;
  }
  /** A client-made id: <layer>-<yyyymmdd>-<device4>-<n> (n counts per phone and day). */
  function newId(layer) {
    const day = isoLocal(new Date()).slice(0, 10).replace(/-/g, "");
    const key = `gp-field-n-${day}`;
    const n = Number(localStorage.getItem(key) || 0) + 1;
    localStorage.setItem(key, String(n));
    return `${layer}-${day}-${device().slice(0, 4)}-${n}`;
  }

  const App = {
    cfg, db: null, store: null, user: null, password: null, csrf: null,
    snapshot: null, entries: [], seq: 0, syncing: null, lastSync: null, message: "",
    rec: null, patrol: null, map: null,

    // ---------------------------------------------------------------- screens
    show(name) {
      document.querySelectorAll("section[data-screen]").forEach((s) => { s.hidden = s.dataset.screen !== name; });
      document.documentElement.dataset.view = name;
      if ((name === "record" || name === "patrol") && this.map) {
        $(`[data-screen=${name}] .map-slot`).appendChild($("#gp-map"));
        this.map.invalidate();
      }
    },
    words() {
      document.documentElement.lang = I18n.lang;
      document.querySelectorAll("[data-t]").forEach((e) => { e.textContent = t(e.dataset.t); });
      document.querySelectorAll("[data-tp]").forEach((e) => { e.placeholder = t(e.dataset.tp); });
      this.status();
    },
    status() {
      $("#gp-net").textContent = navigator.onLine ? t("online") : t("offline");
      $("#gp-net").className = navigator.onLine ? "net on" : "net off";
      const pending = this.entries.filter((e) => e.state === "pending").length;
      $("#gp-pending").textContent = this.store ? String(pending) : "";
      $("#gp-pending").parentElement.hidden = !this.store;  // unknown until the queue is unlocked
      $("#gp-who").textContent = this.user ? this.user.display_name : "";
      $("#gp-message").textContent = this.message;
    },
    say(msg) { this.message = msg; this.status(); },

    // ---------------------------------------------------------------- sign-in
    async start() {
      this.db = await FieldStore.open();
      this.words();
      await this.listProfiles();
      this.show("signin");
      window.addEventListener("online", () => { this.status(); this.sync(); });
      window.addEventListener("offline", () => this.status());
      setInterval(() => this.sync(), RETRY_MS);
      document.documentElement.dataset.gpReady = "1";
    },
    async listProfiles() {
      const box = $("#gp-profiles");
      box.textContent = "";
      for (const p of await FieldStore.profiles(this.db)) {
        if (!p.pending) continue;
        box.appendChild(el("li", { text: `${p.display_name}: ${p.pending} ${t("pending")}` }));
      }
      $("#gp-profiles-box").hidden = !box.children.length;
    },
    /** Sign in: with the server when it answers (first time on a phone: must), else by
     *  unlocking the local profile with the password. Returns an error key or null. */
    async signIn(username, password, oldPassword) {
      username = username.trim().toLowerCase();
      let server = null;
      if (navigator.onLine) {
        try {
          server = await Sync.signIn(root, username, password);
        } catch (e) {
          if (e.kind === "wrong" || e.kind === "throttled") return "wrong_password";
          if (e.kind === "temporary") return "change_password_first";
          // network or server trouble: unlock offline below
        }
        if (server && !server.user.can_record) return "not_allowed";
      }
      let { store, known } = await FieldStore.unlock(this.db, username, password);
      if (!known) {
        if (!server) return "first_needs_network";
        store = await FieldStore.create(this.db, username, password, server.user.display_name);
      } else if (!store) {
        if (!server) return "wrong_password";
        // the server took the password, the phone's profile has the old one
        if (!oldPassword) return "old_password";
        const old = await FieldStore.unlock(this.db, username, oldPassword);
        if (!old.store) return "old_password";
        await old.store.rekey(password);
        store = old.store;
      }
      this.store = store;
      this.password = password; // only in memory: to sign in again when the session ends
      const delKey = `gp-field-can-delete-${username}`;
      if (server) localStorage.setItem(delKey, server.user.can_delete ? "1" : "0");
      this.user = server ? server.user : { username, display_name: username,
                                           can_delete: localStorage.getItem(delKey) === "1" };
      this.csrf = server ? server.csrf_token : null;
      this.entries = await store.edits();
      this.seq = this.entries.reduce((m, e) => Math.max(m, e.seq), 0);
      this.snapshot = await store.snapshot();
      this.message = "";
      this.home();
      if (navigator.onLine) this.sync();
      return null;
    },
    async signOut() {
      if (this.syncing) await this.syncing.catch(() => null);
      if (navigator.onLine && this.csrf) {
        try { await Sync.signOut(root, this.csrf); } catch (e) { /* offline: the key goes all the same */ }
      }
      this.stopWatch();
      Object.assign(this, { store: null, user: null, password: null, csrf: null, snapshot: null,
                            entries: [], rec: null, patrol: null });
      this.say(t("locked_out"));
      await this.listProfiles();
      $("#gp-password").value = "";
      this.show("signin");
    },

    // ---------------------------------------------------------------- data on the phone
    fields(layer) {
      const snap = this.snapshot && this.snapshot.layers && this.snapshot.layers[layer];
      return (snap && snap.fields && snap.fields.length) ? snap.fields : (cfg.layers[layer] || {}).fields || [];
    },
    /** The records as the phone sees them: the snapshot with the unsent edits applied. */
    records(layer) {
      const snap = this.snapshot && this.snapshot.layers && this.snapshot.layers[layer];
      const byId = new Map();
      ((snap && snap.features) || []).forEach((f) => byId.set(String(f.id), JSON.parse(JSON.stringify(f))));
      for (const e of this.entries) {
        const ed = e.edit;
        if (ed.layer !== layer || e.state !== "pending") continue;
        if (ed.op === "delete") { byId.delete(ed.id); continue; }
        const f = byId.get(ed.id) || { type: "Feature", id: ed.id, version: null, properties: {}, geometry: null };
        Object.assign(f.properties, ed.changes);
        if (ed.geometry) f.geometry = ed.geometry;
        byId.set(ed.id, f);
      }
      return Array.from(byId.values());
    },
    async queue(edit) {
      // an update of a record created on this phone and not sent yet joins its create
      const create = this.entries.find((e) => e.state === "pending" && e.edit.op === "create"
                                        && e.edit.layer === edit.layer && e.edit.id === edit.id);
      if (edit.op === "update" && create) {
        Object.assign(create.edit.changes, edit.changes);
        if (edit.geometry) { create.edit.geometry = edit.geometry; create.edit.accuracy_m = edit.accuracy_m; }
        if (edit.photo) create.edit.photo = edit.photo;
        await this.store.putEdits([create]);
        this.status();
        return create;
      }
      const entry = { edit_id: crypto.randomUUID(), seq: ++this.seq, state: "pending", result: null,
                      edit: Object.assign({ recorded_at: isoLocal(new Date()) }, edit) };
      entry.edit.edit_id = entry.edit_id;
      this.entries.push(entry);
      await this.store.putEdits([entry]);
      this.status();
      return entry;
    },
    /** Queue a new record: {layer, values, geometry, accuracy_m, photo}. */
    create({ layer, values, geometry, accuracy_m, photo }) {
      return this.queue({ layer, op: "create", id: newId(layer), base_version: null, base: {},
                          changes: values, geometry, accuracy_m: accuracy_m ?? null, photo: photo || null });
    },
    /** Queue changes to an existing record; only fields whose value differs are sent, with
     *  the values the phone saw (base) and the version it saw. */
    update({ layer, id, values, geometry, accuracy_m, photo }) {
      const f = this.records(layer).find((r) => String(r.id) === String(id));
      if (!f) throw new Error(`no record ${id} in ${layer}`);
      const changes = {}, base = {};
      for (const [k, v] of Object.entries(values)) {
        const was = f.properties[k] === undefined ? null : f.properties[k];
        if (JSON.stringify(was) !== JSON.stringify(v)) { changes[k] = v; base[k] = was; }
      }
      if (!Object.keys(changes).length && !geometry && !photo) return null;
      const snapFeature = ((this.snapshot && this.snapshot.layers[layer] || {}).features || [])
        .find((r) => String(r.id) === String(id));
      return this.queue({ layer, op: "update", id: String(id), base_version: snapFeature ? snapFeature.version : null,
                          base, changes, geometry: geometry || null, accuracy_m: accuracy_m ?? null,
                          photo: photo || null });
    },

    // ---------------------------------------------------------------- sync
    sync() {
      if (this.syncing) return this.syncing;
      if (!this.store || !navigator.onLine) return Promise.resolve(null);
      this.syncing = this._sync().finally(() => { this.syncing = null; this.status(); });
      return this.syncing;
    },
    async _session() {
      const s = await Sync.session(root);
      if (s.user && s.user.username === this.user.username) { this.csrf = s.csrf_token; return true; }
      if (!this.password) return false;
      const again = await Sync.signIn(root, this.user.username, this.password);
      this.user = again.user; this.csrf = again.csrf_token;
      return true;
    },
    async _sync() {
      const store = this.store;
      try {
        if (!await this._session()) { this.say(t("session_expired")); return null; }
        // patrol tracks wait on the phone until the server has their layer
        const sendable = new Set(cfg.capture.concat(cfg.track_layer ? [cfg.track_layer] : []));
        const pending = this.entries.filter((e) => e.state === "pending" && sendable.has(e.edit.layer));
        const counts = {};
        if (pending.length) {
          await Sync.send(root, device(), pending.map((e) => e.edit), this.csrf, async (results) => {
            const changed = [];
            for (const r of results) {
              const entry = pending.find((e) => e.edit_id === r.edit_id);
              if (!entry) continue;
              entry.result = r;
              entry.state = Sync.FINAL.has(r.status) ? "done" : r.status === "rejected" ? "rejected" : "pending";
              counts[r.status] = (counts[r.status] || 0) + 1;
              changed.push(entry);
            }
            if (store === this.store) await store.putEdits(changed);
          });
        }
        if (store !== this.store) return counts; // signed out meanwhile: nothing shown
        this.snapshot = await Sync.snapshot(root, cfg.capture);
        await store.saveSnapshot(this.snapshot);
        this.lastSync = { at: isoLocal(new Date()), counts };
        if (Object.keys(counts).length) {  // a sync with nothing to send leaves the last summary
          this.say(`${t("sent_summary")}: ` + Object.entries(counts).map(([k, n]) => `${n} ${t(k)}`).join(", "));
        } else if ([t("sync_failed"), t("session_expired")].includes(this.message)) this.say("");
        if (document.documentElement.dataset.view === "home") this.home();
        return counts;
      } catch (e) {
        this.say(e.kind === "session" ? t("session_expired") : t("sync_failed"));
        return null;
      }
    },

    // ---------------------------------------------------------------- home, lists, queue
    home() {
      const at = this.snapshot && this.snapshot.generated_at;
      $("#gp-snap-at").textContent = `${t("snapshot_at")}: ${at ? new Date(at).toLocaleString(I18n.lang === "en" ? "en-GB" : "vi-VN") : t("never")}`;
      $("#gp-track-btn").hidden = false;
      this.status();
      this.show("home");
    },
    title(layer) {
      const l = cfg.layers[layer] || {};
      return I18n.lang === "en" ? (l.title_en || layer) : (l.title_vi || layer);
    },
    describe(layer, props) {
      const words = (cfg.layers[layer] || {}).values || {};
      const parts = [props.name, props.address, props.village,
                     // a coded value only in words (never the bare code)
                     props.kind && (words.kind || {})[props.kind],
                     props.status && (words.status || {})[props.status],
                     this.day(props.date || props.detected_on || props.first_seen)];
      return parts.filter((p) => p !== null && p !== undefined && p !== "").join(" · ") || this.title(layer);
    },
    day(iso) { // 2026-12-04 → 04/12/2026 as an officer writes it (EN: the same, en-GB)
      const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || "");
      return m ? `${m[3]}/${m[2]}/${m[1]}` : iso;
    },
    list(layer) {
      this.listLayer = layer;
      $("#gp-list-title").textContent = this.title(layer);
      const q = ($("#gp-search").value || "").toLowerCase();
      const ul = $("#gp-list");
      ul.textContent = "";
      const recs = this.records(layer).filter((f) => !q || this.describe(layer, f.properties).toLowerCase().includes(q));
      recs.slice(0, 200).forEach((f) => {
        const b = el("button", { class: "row", type: "button", text: this.describe(layer, f.properties) });
        b.addEventListener("click", () => this.openRecord(layer, f));
        ul.appendChild(el("li", {}, [b]));
      });
      if (!recs.length) ul.appendChild(el("li", { class: "muted", text: t("no_records") }));
      this.show("list");
    },
    showQueue() {
      const ul = $("#gp-queue");
      ul.textContent = "";
      // what needs a person first (conflicts, refusals), then what waits, then what is
      // done, newest first; entries replaced or discarded stay at the end (the history)
      const rank = (e) => (e.state === "rejected" || (e.state === "done" && e.result && e.result.status === "conflict") ? 0
                           : e.state === "pending" ? 1 : ["replaced", "discarded"].includes(e.state) ? 3 : 2);
      for (const e of this.entries.slice().reverse().sort((x, y) => rank(x) - rank(y))) {
        const state = ["pending", "replaced", "discarded"].includes(e.state) ? e.state
          : e.result ? e.result.status : e.state;
        const known = (((this.snapshot || {}).layers || {})[e.edit.layer] || {}).features || [];
        const rec = known.find((f) => String(f.id) === e.edit.id);
        let name = this.describe(e.edit.layer, Object.assign({}, rec ? rec.properties : {}, e.edit.changes));
        if (e.edit.op === "delete") name += ` (${t("deleting")})`;
        if (e.edit.op === "update") {
          const fields = this.fields(e.edit.layer);
          name += ` (${t("changed")}: ` + Object.keys(e.edit.changes).map((k) => {
            const f = fields.find((x) => x.name === k);
            return f ? FieldForm.label(f) : k;
          }).join(", ") + ")";
        }
        const li = el("li", { class: `q ${state}` }, [
          el("b", { text: `${this.title(e.edit.layer)} – ${name}` }),
          el("span", { class: "state", text: t(state) }),
          el("small", { text: new Date(e.edit.recorded_at).toLocaleString(I18n.lang === "en" ? "en-GB" : "vi-VN") })]);
        li.dataset.edit = e.edit_id;
        const problems = (e.result && e.result.problems) || [];
        if (problems.length) {
          li.appendChild(el("small", { class: "problems", text: `${t("problems")}: ` +
            problems.map((p) => (typeof p === "string" ? p : (I18n.lang === "en" ? p.reason_en || p.reason : p.reason_vi || p.reason) || JSON.stringify(p))).join("; ") }));
        }
        for (const h of e.history || []) {
          li.appendChild(el("small", { class: "muted", text: `${t(h.action)}: ${new Date(h.at).toLocaleString(I18n.lang === "en" ? "en-GB" : "vi-VN")}` }));
        }
        if (e.state === "rejected") {
          const fix = el("button", { type: "button", class: "mid primary", text: t("fix_resend") });
          fix.dataset.fix = e.edit_id;
          fix.addEventListener("click", () => this.fix(e));
          const drop = el("button", { type: "button", class: "mid", text: t("discard") });
          drop.dataset.discard = e.edit_id;
          drop.addEventListener("click", () => this.discard(e));
          li.appendChild(el("div", { class: "bar" }, [fix, drop]));
        }
        ul.appendChild(li);
      }
      this.show("queue");
    },

    /** A rejected entry opened in the form with the values it sent, to be fixed: saving
     *  queues a new edit (new edit id) and keeps this one in the list as replaced. */
    fix(entry) {
      const ed = entry.edit;
      if (entry.state !== "rejected") return;
      const current = this.records(ed.layer).find((f) => String(f.id) === ed.id);
      const feature = ed.op === "create" ? null
        : current || { type: "Feature", id: ed.id, version: ed.base_version, properties: {}, geometry: null };
      this.openRecord(ed.layer, feature, { values: Object.assign({}, feature ? feature.properties : {}, ed.changes),
                                           geometry: ed.geometry, accuracy_m: ed.accuracy_m, photo: ed.photo });
      this.rec.replaces = entry;
      $("#gp-rec-title").textContent = `${t("fix_resend")}: ${this.title(ed.layer)}`;
    },
    /** Put a rejected entry aside (after the officer confirms): it stays in the list, with
     *  when it was discarded, and is never sent. */
    async discard(entry) {
      if (entry.state !== "rejected" || !this.ask(t("confirm_discard"))) return false;
      entry.state = "discarded";
      entry.history = (entry.history || []).concat([{ action: "discarded", at: isoLocal(new Date()) }]);
      await this.store.putEdits([entry]);
      this.showQueue();
      return true;
    },
    /** Queue the deletion of the record open in the form (roles that may delete only, after
     *  the officer confirms), with the version the phone read: the server answers as for
     *  any edit (applied, or a conflict when the record changed since). */
    async remove() {
      const r = this.rec;
      if (!r || !r.feature || !this.user || !this.user.can_delete || !this.ask(t("confirm_delete"))) return null;
      const snapFeature = ((this.snapshot && this.snapshot.layers[r.layer] || {}).features || [])
        .find((f) => String(f.id) === String(r.feature.id));
      if (!snapFeature) return null;
      const entry = await this.queue({ layer: r.layer, op: "delete", id: String(r.feature.id),
                                       base_version: snapFeature.version, base: {}, changes: {},
                                       geometry: null, accuracy_m: null, photo: null });
      this.stopWatch();
      this.rec = null;
      this.say(t("saved"));
      this.home();
      if (navigator.onLine) this.sync();
      return entry;
    },
    ask(question) { return window.confirm(question); },

    // ---------------------------------------------------------------- record / edit
    openRecord(layer, feature, prefill) {
      const geom = (cfg.layers[layer] || {}).geometry;
      this.rec = { layer, feature: feature || null, pos: null, accuracy_m: null, photo: null,
                   polygon: geom !== "Point" && layer === "opium_plots", corners: [], watch: null };
      $("#gp-rec-title").textContent = `${feature ? t("edit_existing") : t("new_record")}: ${this.title(layer)}`;
      FieldForm.build($("#gp-form"), this.fields(layer),
                      prefill ? prefill.values : feature ? feature.properties : this.defaults(layer),
                      (cfg.layers[layer] || {}).values);
      // deleting: a record the server holds, for a role that may delete
      $("#gp-delete").hidden = !(feature && feature.version && this.user && this.user.can_delete);
      $("#gp-plot-tools").hidden = !this.rec.polygon;
      $("#gp-photo-state").textContent = "";
      $("#gp-photo").value = "";
      this.map.clearPosition();
      this.map.showShape([], false);
      this.map.onTap = (c) => this.tap(c);
      // the records already known around: orientation, and no second copy of one of them
      this.map.showRecords(feature ? [feature] : this.records(layer),
                           (f) => { if (!feature) this.openRecord(layer, f); });
      const g = prefill && prefill.geometry;
      if (g && g.type === "Point") {
        Object.assign(this.rec, { pos: g.coordinates, accuracy_m: prefill.accuracy_m ?? null,
                                  manual: prefill.accuracy_m === null || prefill.accuracy_m === undefined });
      } else if (g && g.type === "Polygon" && this.rec.polygon) {
        this.rec.corners = g.coordinates[0].slice(0, -1);
        this.rec.accuracy_m = prefill.accuracy_m ?? null;
        this.drawCorners();
      }
      if (prefill && prefill.photo) {
        this.rec.photo = prefill.photo;
        $("#gp-photo-state").textContent = t("photo_ready");
      }
      this.showPos();
      this.show("record");
    },
    defaults(layer) {
      const today = isoLocal(new Date()).slice(0, 10), out = {};
      for (const f of this.fields(layer)) if (f.required && f.type === "date") out[f.name] = today;
      if (layer === "retail_points") out.status = "active";
      return out;
    },
    tap(c) {
      const r = this.rec;
      if (!r) return;
      if (r.polygon) { r.corners.push(c); this.drawCorners(); return; }
      r.pos = c; r.accuracy_m = null; r.manual = true;
      this.showPos();
    },
    drawCorners() {
      const r = this.rec;
      this.map.showShape(r.corners, true);
      const area = r.corners.length >= 3 ? FieldGeo.ringArea(r.corners) : null;
      $("#gp-corners").textContent = `${r.corners.length} ${t("corners")}` +
        (area ? `, ${t("area")} ${I18n.num(area)} m²` : "");
      const input = document.querySelector('[data-field="area_m2"]');
      if (input && area && (!input.value || input.dataset.auto)) {
        input.value = String(Math.round(area)); input.dataset.auto = "1";
      }
    },
    showPos() {
      const r = this.rec;
      const box = $("#gp-pos");
      if (!r.pos) { box.textContent = t("no_position"); return; }
      const deg = (x) => Number(x).toLocaleString(I18n.lang === "en" ? "en-GB" : "vi-VN",
                                                  { minimumFractionDigits: 5, maximumFractionDigits: 5 });
      box.textContent = `${deg(r.pos[1])}° ${t("north")}, ${deg(r.pos[0])}° ${t("east")} – ` +
        (r.manual ? t("manual") : `${t("accuracy")} ±${I18n.num(r.accuracy_m)} m`);
      this.map.showPosition(r.pos, r.accuracy_m);
    },
    locate() {
      return new Promise((resolve) => {
        navigator.geolocation.getCurrentPosition((p) => {
          const r = this.rec;
          if (r) { r.pos = [p.coords.longitude, p.coords.latitude]; r.accuracy_m = p.coords.accuracy; r.manual = false; this.showPos(); }
          resolve(true);
        }, () => { this.say(t("tap_map")); resolve(false); },
        { enableHighAccuracy: true, timeout: 20000, maximumAge: 10000 });
      });
    },
    walk() {
      const r = this.rec;
      if (r.watch !== null) { this.stopWatch(); $("#gp-walk").textContent = t("walk"); return; }
      $("#gp-walk").textContent = t("stop_walk");
      r.watch = navigator.geolocation.watchPosition((p) => {
        const c = [p.coords.longitude, p.coords.latitude];
        const last = r.corners[r.corners.length - 1];
        if (!last || FieldGeo.distance(last, c) >= 3) { r.corners.push(c); this.drawCorners(); }
        r.accuracy_m = Math.max(r.accuracy_m || 0, p.coords.accuracy);
      }, null, { enableHighAccuracy: true, maximumAge: 0 });
    },
    stopWatch() {
      for (const holder of [this.rec, this.patrol]) {
        if (holder && holder.watch !== null && holder.watch !== undefined) {
          navigator.geolocation.clearWatch(holder.watch); holder.watch = null;
        }
      }
    },
    async photo(file) {
      const out = await FieldForm.resizePhoto(file);
      this.rec.photo = out.dataUrl;
      $("#gp-photo-state").textContent = `${t("photo_ready")}: ${out.width}×${out.height}`;
    },
    geometry() {
      const r = this.rec;
      if (r.polygon) {
        if (r.corners.length < 3) return r.feature ? null : { error: t("need_polygon") };
        return { type: "Polygon", coordinates: [r.corners.concat([r.corners[0]])] };
      }
      if (!r.pos) return r.feature ? null : { error: t("need_position") };
      return { type: "Point", coordinates: r.pos };
    },
    async save() {
      const r = this.rec;
      this.stopWatch();
      const { values, problems } = FieldForm.read($("#gp-form"), this.fields(r.layer));
      const geometry = this.geometry();
      if (geometry && geometry.error) problems.unshift(geometry.error);
      if (problems.length) { this.say(problems.join("; ")); return null; }
      const args = { layer: r.layer, values, geometry, accuracy_m: r.accuracy_m, photo: r.photo };
      const button = $("#gp-save");
      button.disabled = true; // one tap, one edit
      let entry;
      try {
        if (r.replaces) entry = await this.resend(r, args);
        else entry = r.feature ? await this.update(Object.assign(args, { id: r.feature.id }))
                               : await this.create(args);
      } finally { button.disabled = false; }
      if (this.rec !== r) return entry; // the officer has moved on meanwhile
      this.rec = null;
      this.say(t("saved"));
      this.home();
      if (navigator.onLine) this.sync();
      return entry;
    },

    /** The fixed edit of a rejected entry: a new edit (a create keeps its record id), the
     *  old entry kept as replaced, each naming the other. */
    async resend(r, args) {
      const old = r.replaces;
      let entry;
      if (old.edit.op === "create") {
        entry = await this.queue({ layer: r.layer, op: "create", id: old.edit.id, base_version: null, base: {},
                                   changes: args.values, geometry: args.geometry,
                                   accuracy_m: args.accuracy_m ?? null, photo: args.photo || null });
      } else {
        // the geometry is sent again only when it is there (the form may not have moved it)
        entry = await this.update(Object.assign(args, { id: old.edit.id, geometry: args.geometry || old.edit.geometry }));
      }
      if (!entry) { this.say(t("nothing_changed")); return null; }
      const at = isoLocal(new Date());
      entry.replaces = old.edit_id;
      entry.history = [{ action: "fixed", at }];
      old.state = "replaced";
      old.replaced_by = entry.edit_id;
      old.history = (old.history || []).concat([{ action: "replaced", at }]);
      await this.store.putEdits([old, entry]);
      return entry;
    },

    // ---------------------------------------------------------------- patrol track
    openPatrol() {
      this.show("patrol");
      this.map.onTap = null;
      this.map.showRecords([], () => null);
      this.drawTrack();
    },
    startPatrol() {
      if (this.patrol && this.patrol.watch !== null) return;
      this.patrol = { started_at: isoLocal(new Date()), coords: [], stops: [], accuracy_m: null, watch: null };
      this.patrol.watch = navigator.geolocation.watchPosition((p) => {
        const c = [p.coords.longitude, p.coords.latitude], k = this.patrol;
        const last = k.coords[k.coords.length - 1];
        if (!last || FieldGeo.distance(last, c) >= 5) { k.coords.push(c); this.drawTrack(); }
        k.accuracy_m = Math.max(k.accuracy_m || 0, p.coords.accuracy);
      }, null, { enableHighAccuracy: true, maximumAge: 0 });
      this.drawTrack();
    },
    stopDone() {
      const k = this.patrol;
      if (!k) return;
      const at = k.coords[k.coords.length - 1] || null;
      k.stops.push({ at: isoLocal(new Date()), lon: at && at[0], lat: at && at[1], note: $("#gp-stop-note").value.trim() });
      $("#gp-stop-note").value = "";
      this.drawTrack();
    },
    drawTrack() {
      const k = this.patrol;
      this.map.showShape(k ? k.coords : [], false);
      if (k && k.coords.length) this.map.showPosition(k.coords[k.coords.length - 1], null);
      $("#gp-track-state").textContent = k ? `${k.coords.length} ${t("track_points")}, ${k.stops.length} ${t("stops")}, ` +
        `${t("distance")} ${I18n.num(FieldGeo.lineLength(k.coords) / 1000, 2)} km` : "";
      $("#gp-patrol-start").hidden = !!(k && k.watch !== null);
      $("#gp-patrol-live").hidden = !(k && k.watch !== null);
    },
    async endPatrol() {
      const k = this.patrol;
      if (!k) return null;
      this.stopWatch();
      const coords = k.coords.length === 1 ? [k.coords[0], k.coords[0]] : k.coords;
      const values = { started_at: k.started_at, ended_at: isoLocal(new Date()),
                       distance_m: Math.round(FieldGeo.lineLength(k.coords)),
                       stops_done: JSON.stringify(k.stops), findings: $("#gp-findings").value.trim() || null };
      const entry = await this.create({ layer: cfg.track_layer || "patrol_tracks", values,
                                        geometry: coords.length ? { type: "LineString", coordinates: coords } : null,
                                        accuracy_m: k.accuracy_m });
      this.patrol = null;
      $("#gp-findings").value = "";
      this.say(cfg.track_layer ? t("saved") : t("no_track_layer"));
      this.home();
      if (navigator.onLine) this.sync();
      return entry;
    },
  };

  // ---------------------------------------------------------------- wiring
  function on(id, ev, fn) { $(id).addEventListener(ev, fn); }
  on("#gp-signin-form", "submit", async (ev) => {
    ev.preventDefault();
    $("#gp-signin-btn").disabled = true;
    try {
      const err = await App.signIn($("#gp-username").value, $("#gp-password").value, $("#gp-old-password").value);
      $("#gp-old-box").hidden = err !== "old_password";
      App.say(err ? t(err) : "");
    } finally { $("#gp-signin-btn").disabled = false; }
  });
  on("#gp-lang", "click", () => { I18n.set(I18n.lang === "vi" ? "en" : "vi"); App.words(); });
  on("#gp-signout", "click", () => App.signOut());
  on("#gp-sync", "click", () => App.sync());
  on("#gp-queue-btn", "click", () => App.showQueue());
  on("#gp-track-btn", "click", () => App.openPatrol());
  on("#gp-search", "input", () => App.list(App.listLayer));
  on("#gp-gps", "click", () => App.locate());
  on("#gp-walk", "click", () => App.walk());
  on("#gp-undo", "click", () => { App.rec.corners.pop(); App.drawCorners(); });
  on("#gp-photo", "change", (ev) => ev.target.files[0] && App.photo(ev.target.files[0]));
  on("#gp-save", "click", () => App.save());
  on("#gp-delete", "click", () => App.remove());
  on("#gp-patrol-start", "click", () => App.startPatrol());
  on("#gp-stop", "click", () => App.stopDone());
  on("#gp-patrol-end", "click", () => App.endPatrol());
  document.querySelectorAll("[data-back]").forEach((b) => b.addEventListener("click", () => { App.stopWatch(); App.rec = null; App.home(); }));
  const news = $("#gp-new"), edits = $("#gp-edit");
  for (const layer of cfg.capture) {
    const a = el("button", { type: "button", class: "big", text: App.title(layer) });
    a.dataset.layer = layer; a.addEventListener("click", () => App.openRecord(layer, null));
    news.appendChild(a);
    const b = el("button", { type: "button", class: "mid", text: App.title(layer) });
    b.dataset.layer = layer; b.addEventListener("click", () => { $("#gp-search").value = ""; App.list(layer); });
    edits.appendChild(b);
  }
  App.map = new FieldMap($("#gp-map"), root);
  window.geoPcmtField = App;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(`${root.replace(/\/$/, "")}/field/sw.js`, { scope: `${root.replace(/\/$/, "")}/field/` })
      .catch(() => null);
  }
  App.start();
})();
