"""Fill a store: the shipped boundaries, the synthetic sample, then the derived layers (by runs)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

import pandas as pd

from geo_pcmt.ingest import boundaries
from geo_pcmt.paths import SAMPLE_DIR
from geo_pcmt.runs.common import DEFAULT_ROLE
from geo_pcmt.store import Store, WriteReport


def load_boundaries(store: Store, *, user: str = "system") -> list[WriteReport]:
    """Write communes, province, border line, Lao provinces and the crosswalk (replacing)."""
    frames = {
        "communes": boundaries.communes(),
        "province": boundaries.province(),
        "border_line": boundaries.border_line(),
        "lao_provinces": boundaries.lao_provinces(),
        "commune_lineage": boundaries.commune_lineage(),
    }
    return [store.write(name, frame, mode="replace", user=user) for name, frame in frames.items()]


def read_sample(directory: Path | None = None) -> dict[str, pd.DataFrame]:
    """The sample layers in ``data/sample/``, typed as the layer schemas."""
    from geo_pcmt.ingest.sample_files import read
    return read(directory or SAMPLE_DIR)


def load_sample(store: Store, directory: Path | None = None, *, user: str = "system",
                frames: Mapping[str, pd.DataFrame] | None = None,
                on_layer: Callable[[str], None] | None = None) -> list[WriteReport]:
    """Write every sample layer into the store (replacing what the layer held).

    ``frames`` are the sample layers if already read (:func:`read_sample`); ``on_layer`` is
    called with each layer's name once it is written (drives the CLI progress bar).
    """
    reports = []
    for name, frame in (read_sample(directory) if frames is None else frames).items():
        reports.append(store.write(name, frame, mode="replace", user=user))
        if on_layer is not None:
            on_layer(name)
    return reports


def derive(store: Store, *, user: str = "system",
           role: str = DEFAULT_ROLE) -> list[WriteReport]:
    """Compute the derived layers the map shows: commune status, the hotspot analysis, the
    complex places and methadone access.

    Runs the status run (the default rule sets over the stored assessments and
    recognitions), the default hotspot run (clusters, Gi*, emerging hot spots,
    complex-hotspot flags), the places run (the list a commander acts on) and the methadone
    access run for ``role``, replacing each derived layer in ``store``.
    """
    from geo_pcmt.runs import hotspots, methadone, places, status

    status_params = status.StatusParams(role=role)
    reports = status.write(store, status.run(status.read_inputs(store, status_params),
                                             status_params), user=user, mode="replace")
    hotspot_params = hotspots.HotspotParams(role=role)
    result = hotspots.run(hotspots.read_inputs(store, hotspot_params), hotspot_params)
    reports += hotspots.write(store, result, user=user)
    place_params = places.PlaceParams(role=role)
    reports += places.write(store, places.run(places.read_inputs(store, place_params),
                                              place_params), user=user)
    access_params = methadone.MethadoneParams(role=role)
    try:
        access = methadone.run(methadone.read_inputs(store, access_params), access_params)
    except ValueError:  # no treatment counts or no dispensing point stored: nothing to map
        return reports
    return reports + methadone.write(store, access, user=user)
