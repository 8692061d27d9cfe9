/* The field app's service worker (served by /field/sw.js, which prepends SHELL_VERSION and
 * SHELL_FILES): keeps the app shell, the vendored Leaflet and the published boundaries, and
 * answers them from its cache, so the app opens with no signal for days. Nothing else is
 * kept: records live encrypted in IndexedDB, and sign-in, snapshot and sync always go to
 * the network. */
const CACHE = `geo_pcmt-${SHELL_VERSION}`;
const KEPT = new Set(SHELL_FILES.map((f) => new URL(f, self.location.origin).href));

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // one by one: a missing optional file (no boundaries installed) must not stop the rest
    await Promise.all(SHELL_FILES.map(async (f) => {
      try {
        const resp = await fetch(f, { cache: "reload", credentials: "same-origin" });
        if (resp.ok) await cache.put(f, resp);
      } catch (e) { /* offline during install: the next visit fills it */ }
    }));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("geo_pcmt-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  url.search = "";
  url.hash = "";
  if (!KEPT.has(url.href)) return; // not ours: the browser fetches it as usual
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(url.href, { ignoreVary: true, ignoreSearch: true });
    // the shell from the cache at once; a fresh copy is fetched behind it for next time
    const fresh = fetch(url.href, { cache: "no-cache", credentials: "same-origin" })
      .then((resp) => { if (resp.ok) cache.put(url.href, resp.clone()); return resp; })
      .catch(() => null);
    if (hit) { event.waitUntil(fresh); return hit; }
    const resp = await fresh;
    return resp || new Response("offline", { status: 503, headers: { "Content-Type": "text/plain" } });
  })());
});
