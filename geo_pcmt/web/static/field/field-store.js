/* The phone's local store: per-user, encrypted queue of edits and snapshot in IndexedDB.
 *
 * Every user who signs in on the phone gets a salt and a verifier (kept in clear: they reveal
 * nothing). Their key is derived from their password (PBKDF2-SHA-256) at sign-in and held in
 * memory only; every queued edit and the offline snapshot are stored AES-GCM encrypted with
 * it, so IndexedDB holds no readable record. Nothing here deletes another user's rows:
 * signing out forgets the key, the rows wait for their owner.
 */
(function (global) {
  "use strict";
  const DB_NAME = "geo_pcmt_field";
  const DB_VERSION = 1;
  const ITERATIONS = 600000; // OWASP 2023 for PBKDF2-SHA-256; ~0.3-1 s on a phone
  const VERIFIER_TEXT = "geo_pcmt field verifier v1";
  const enc = new TextEncoder();
  const dec = new TextDecoder();

  function b64(buf) {
    const bytes = new Uint8Array(buf);
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(s);
  }
  function unb64(text) {
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  function open() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        db.createObjectStore("users", { keyPath: "username" });
        const q = db.createObjectStore("queue", { keyPath: "edit_id" });
        q.createIndex("owner", "owner");
        db.createObjectStore("snapshots", { keyPath: "owner" });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  function tx(db, stores, mode, work) {
    return new Promise((resolve, reject) => {
      const t = db.transaction(stores, mode);
      let out;
      t.oncomplete = () => resolve(out);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error || new Error("transaction aborted"));
      const res = work(t);
      if (res && typeof res.then === "function") res.then((v) => { out = v; });
      else out = res;
    });
  }
  function reqp(req) {
    return new Promise((resolve, reject) => {
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  async function deriveKey(password, saltB64, iterations) {
    const base = await crypto.subtle.importKey("raw", enc.encode(password), "PBKDF2", false,
                                               ["deriveKey"]);
    return crypto.subtle.deriveKey(
      { name: "PBKDF2", salt: unb64(saltB64), iterations, hash: "SHA-256" },
      base, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  }

  async function seal(key, value) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key,
                                           enc.encode(JSON.stringify(value)));
    return { iv: b64(iv), ct: b64(ct) };
  }
  async function unseal(key, box) {
    const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: unb64(box.iv) }, key,
                                           unb64(box.ct));
    return JSON.parse(dec.decode(pt));
  }

  /** The local store of one signed-in user (their key in memory). */
  class UserStore {
    constructor(db, username, key) {
      this.db = db;
      this.username = username;
      this.key = key;
    }

    /** Add or replace queue entries: {edit_id, edit, state, result, queued_at}. */
    async putEdits(entries) {
      const rows = [];
      for (const e of entries) {
        // owner and whether it still waits are in clear (counts for the sign-in screen)
        rows.push({ edit_id: e.edit_id, owner: this.username, pending: e.state === "pending" ? 1 : 0,
                    box: await seal(this.key, e) });
      }
      await tx(this.db, ["queue"], "readwrite", (t) => {
        const s = t.objectStore("queue");
        rows.forEach((r) => s.put(r));
      });
    }

    /** This user's queue entries in the order they were queued. */
    async edits() {
      const rows = await tx(this.db, ["queue"], "readonly",
                            (t) => reqp(t.objectStore("queue").index("owner").getAll(this.username)));
      const out = [];
      for (const r of rows) out.push(await unseal(this.key, r.box));
      out.sort((a, b) => a.seq - b.seq);
      return out;
    }

    async saveSnapshot(snapshot) {
      const box = await seal(this.key, snapshot);
      await tx(this.db, ["snapshots"], "readwrite",
               (t) => t.objectStore("snapshots").put({ owner: this.username, box }));
    }
    async snapshot() {
      const row = await tx(this.db, ["snapshots"], "readonly",
                           (t) => reqp(t.objectStore("snapshots").get(this.username)));
      return row ? unseal(this.key, row.box) : null;
    }

    /** Re-encrypt everything of this user with a key from a new password. */
    async rekey(newPassword) {
      const edits = await this.edits();
      const snap = await this.snapshot();
      const user = await FieldStore.userRow(this.db, this.username);
      const salt = b64(crypto.getRandomValues(new Uint8Array(16)));
      const key = await deriveKey(newPassword, salt, user.iterations);
      const verifier = await seal(key, VERIFIER_TEXT);
      this.key = key;
      await tx(this.db, ["users"], "readwrite", (t) => t.objectStore("users").put(
        Object.assign({}, user, { salt, verifier })));
      await this.putEdits(edits);
      if (snap) await this.saveSnapshot(snap);
    }
  }

  const FieldStore = {
    ITERATIONS,
    open,
    async userRow(db, username) {
      return tx(db, ["users"], "readonly", (t) => reqp(t.objectStore("users").get(username)));
    },
    /** Users who have a profile on this phone, with how many of their edits wait (count
     *  only: the edits themselves are sealed). */
    async profiles(db) {
      const users = await tx(db, ["users"], "readonly", (t) => reqp(t.objectStore("users").getAll()));
      const out = [];
      for (const u of users) {
        const rows = await tx(db, ["queue"], "readonly",
                              (t) => reqp(t.objectStore("queue").index("owner").getAll(u.username)));
        out.push({ username: u.username, display_name: u.display_name, entries: rows.length,
                   pending: rows.filter((r) => r.pending).length });
      }
      return out;
    },
    /** Unlock with the password: the user's key if the verifier opens, else null.
     *  Returns {store, known}: known=false when the phone has no profile for the user. */
    async unlock(db, username, password) {
      const user = await this.userRow(db, username);
      if (!user) return { store: null, known: false };
      const key = await deriveKey(password, user.salt, user.iterations);
      try {
        if (await unseal(key, user.verifier) !== VERIFIER_TEXT) throw new Error("verifier");
      } catch (e) {
        return { store: null, known: true };
      }
      return { store: new UserStore(db, username, key), known: true };
    },
    /** A new profile for a user the server has just accepted (first sign-in on the phone). */
    async create(db, username, password, displayName, iterations) {
      const salt = b64(crypto.getRandomValues(new Uint8Array(16)));
      const n = iterations || ITERATIONS;
      const key = await deriveKey(password, salt, n);
      const verifier = await seal(key, VERIFIER_TEXT);
      await tx(db, ["users"], "readwrite", (t) => t.objectStore("users").put(
        { username, display_name: displayName || username, salt, iterations: n, verifier }));
      return new UserStore(db, username, key);
    },
  };

  global.FieldStore = FieldStore;
})(self);
