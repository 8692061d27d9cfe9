"""Runs: one per family of derived layers, each ``read_inputs(store, params, role)`` → pure
``run(frames, params)`` → ``write(store, result, user=...)``.

:mod:`.hotspots` (clusters, Gi*, emerging hot spots, flags), :mod:`.status` (commune status),
:mod:`.progress` (dashboards, transformation, border corridor), :mod:`.patrol` (patrol plans),
:mod:`.seed` (boundaries, the sample, and ``derive`` for ``geo-pcmt demo``); :mod:`.common`
holds what they share. The CLI, the web and the demo call runs; none of them orchestrates.
"""
