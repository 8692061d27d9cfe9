/* Talking to the server: sign-in through the ordinary /login form, the snapshot, the sync.
 * Every call is network-only (the service worker never answers these from its cache). */
(function (global) {
  "use strict";
  const MAX_EDITS = 500;            // the contract's limit per call
  const MAX_BATCH_BYTES = 8e6;      // photos make edits large; well under the body limit
  const FINAL = new Set(["applied", "merged", "duplicate", "conflict"]);

  class SyncError extends Error {
    constructor(kind, message) { super(message || kind); this.kind = kind; }
  }

  function url(root, path) { return root.replace(/\/$/, "") + path; }

  const TIMEOUT_MS = 30000;       // a call with no answer by then is given up (and retried)
  const SYNC_TIMEOUT_MS = 180000; // a batch of photos over a weak link takes longer

  /** fetch with a deadline: on a weak or cut link a request can hang for ever, and one
   *  hung call would hold every later sync. */
  async function call(root, path, options, timeoutMs) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs || TIMEOUT_MS);
    try {
      return await fetch(url(root, path), Object.assign({ credentials: "same-origin",
                                                          cache: "no-store",
                                                          signal: abort.signal }, options || {}));
    } catch (e) {
      clearTimeout(timer);
      throw new SyncError("network", String(e));
    }
    // the timer stays: it also bounds reading the body (an abort after that does nothing)
  }

  async function json(resp) {
    try { return await resp.json(); } catch (e) { return null; }
  }

  const Sync = {
    SyncError, FINAL,
    /** {user, csrf_token} of this browser's server session. */
    async session(root) {
      const resp = await call(root, "/field/session");
      if (!resp.ok) throw new SyncError("server", `HTTP ${resp.status}`);
      return resp.json();
    },
    /** Sign in with the ordinary form; {user, csrf_token} or a SyncError
     *  (wrong / temporary / network / server). */
    async signIn(root, username, password) {
      const before = await this.session(root);
      const form = new URLSearchParams({ username, password, csrf_token: before.csrf_token,
                                         next: url(root, "/field/session") });
      const resp = await call(root, "/login", { method: "POST", body: form,
                                                headers: { "X-CSRF-Token": before.csrf_token } });
      if (resp.status === 401) throw new SyncError("wrong");
      if (resp.status === 429) throw new SyncError("throttled", (await json(resp) || {}).description);
      if (!resp.ok) throw new SyncError("server", `HTTP ${resp.status}`);
      if (!new URL(resp.url).pathname.endsWith("/field/session")) throw new SyncError("temporary");
      const after = await resp.json();
      if (!after.user) throw new SyncError("wrong");
      return after;
    },
    async signOut(root, csrf) {
      await call(root, "/logout", { method: "POST", headers: { "X-CSRF-Token": csrf },
                                    redirect: "manual" });
    },
    /** The records the user may see, with field lists and row versions. */
    async snapshot(root, layers) {
      const resp = await call(root, "/api/field/snapshot?layers=" + layers.join(","),
                              { headers: { Accept: "application/json" } });
      if (resp.status === 401) throw new SyncError("session");
      if (!resp.ok) throw new SyncError("server", `HTTP ${resp.status}`);
      return resp.json();
    },
    /** Split edits into calls of at most MAX_EDITS and about MAX_BATCH_BYTES. */
    batches(edits) {
      const out = [];
      let cur = [], bytes = 0;
      for (const e of edits) {
        const size = JSON.stringify(e).length;
        if (cur.length && (cur.length >= MAX_EDITS || bytes + size > MAX_BATCH_BYTES)) {
          out.push(cur); cur = []; bytes = 0;
        }
        cur.push(e); bytes += size;
      }
      if (cur.length) out.push(cur);
      return out;
    },
    /** Send edits in batches; calls onResults(results) after each batch so that every
     *  answer is stored before the next call. Stops at the first failed call. */
    async send(root, device, edits, csrf, onResults) {
      for (const batch of this.batches(edits)) {
        const resp = await call(root, "/api/field/sync", {
          method: "POST", body: JSON.stringify({ device, edits: batch }),
          headers: { "Content-Type": "application/json", Accept: "application/json",
                     "X-CSRF-Token": csrf } }, SYNC_TIMEOUT_MS);
        if (resp.status === 401 || resp.status === 403) {
          const body = await json(resp) || {};
          throw new SyncError(resp.status === 401 || body.code === "csrf_failed"
                              ? "session" : "forbidden", body.description);
        }
        if (!resp.ok) {
          const body = await json(resp) || {};
          throw new SyncError(resp.status === 400 && body.code === "csrf_failed" ? "session"
                              : "server", body.description || `HTTP ${resp.status}`);
        }
        const body = await resp.json();
        await onResults(body.results || []);
      }
    },
  };
  global.Sync = Sync;
})(self);
