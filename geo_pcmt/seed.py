"""Fill a store with the shipped boundaries and the synthetic sample data set."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import boundaries
from .paths import SAMPLE_DIR
from .store import Store, WriteReport


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
    from .sample import read
    return read(directory or SAMPLE_DIR)


def load_sample(store: Store, directory: Path | None = None, *,
                user: str = "system") -> list[WriteReport]:
    """Write every sample layer into the store (replacing what the layer held)."""
    return [store.write(name, frame, mode="replace", user=user)
            for name, frame in read_sample(directory).items()]
