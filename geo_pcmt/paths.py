"""Where the shipped data and the default store live."""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
DATA_DIR = Path(os.environ.get("GEO_PCMT_DATA_DIR", REPO_DIR / "data"))
BOUNDARIES_DIR = DATA_DIR / "boundaries"
SAMPLE_DIR = DATA_DIR / "sample"
BASEMAP_DIR = DATA_DIR / "basemap"


def default_store_path() -> Path:
    """The GeoPackage used when none is given.

    ``$GEO_PCMT_STORE`` if set, else ``var/geo_pcmt.gpkg`` under the folder the command runs
    in (never inside the installed package, and not shared by every folder and user).
    """
    return Path(os.environ.get("GEO_PCMT_STORE") or Path.cwd() / "var" / "geo_pcmt.gpkg")
