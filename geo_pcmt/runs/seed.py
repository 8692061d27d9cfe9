"""Fill a store with the shipped boundaries and the synthetic sample data set."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from geo_pcmt.ingest import boundaries
from geo_pcmt.paths import SAMPLE_DIR
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


def load_sample(store: Store, directory: Path | None = None, *,
                user: str = "system") -> list[WriteReport]:
    """Write every sample layer into the store (replacing what the layer held)."""
    return [store.write(name, frame, mode="replace", user=user)
            for name, frame in read_sample(directory).items()]


def derive(store: Store, *, user: str = "system") -> list[WriteReport]:
    """Compute the derived layers the map shows: commune status and the hotspot analysis.

    Runs the default rule sets over the stored assessments and recognitions
    (``commune_status``) and the default hotspot run (clusters, Gi*, emerging hot spots,
    complex-hotspot flags), writing each derived layer into ``store``.
    """
    import uuid

    from geo_pcmt.runs import hotspots
    from geo_pcmt.analysis.rules import load_rule_sets
    from geo_pcmt.analysis.status import classify_history, commune_status, status_layer

    rule_sets = load_rule_sets()
    classified = classify_history(store.read("commune_assessments"), rule_sets)
    status = commune_status(store.read("communes"), classified, store.read("recognitions"))
    params = {"rule_sets": {r.id: r.version_tag for r in rule_sets.values()}}
    reports = [store.write("commune_status", status_layer(status, run_id=uuid.uuid4().hex[:12],
                                                          params=params),
                           mode="replace", user=user)]
    run_params = hotspots.HotspotParams()
    result = hotspots.run(hotspots.read_inputs(store, run_params), run_params)
    reports += hotspots.write_run(store, result, user=user)
    return reports
