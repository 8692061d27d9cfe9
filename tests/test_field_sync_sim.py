"""A smaller run of benchmarks/field_sync.py: 20 phones, 1,000 edits over 14 simulated days
(offline on random days, a burst of 50 at one moment on the same 25 records, lost answers
re-sent). Nothing may be lost; merges happen; few conflicts are left for a person."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "field_sync.py"


def _benchmark():
    spec = importlib.util.spec_from_file_location("field_sync_benchmark", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclasses look their module up there)
    spec.loader.exec_module(module)
    return module


def test_twenty_phones_two_weeks_offline_lose_nothing(tmp_path):
    r = _benchmark().simulate(tmp_path, devices=20, edits=1000, days=14, burst=50,
                              records=300, seed=7)
    print(r)
    assert r["edits"] >= 990 and r["lost"] == 0
    assert r["statuses"].get("rejected", 0) == 0
    assert r["statuses"]["merged"] > 50                      # automatic merges happened
    assert sum(r["resent"].values()) > 0 and set(r["resent"]) == {"duplicate"}
    assert r["conflict_share"] <= 0.01                        # the bound
    assert r["moves"] > 100 and r["gps_merged"] >= 1          # fixes of one place merged
    assert r["other_place_merged"] == 0                       # another place never is
