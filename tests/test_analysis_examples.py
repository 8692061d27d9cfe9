"""The examples in the analysis modules' docstrings run and show what they say."""
from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["chainage", "clusters", "corridor", "dbscan", "density", "flag_signals", "flags", "gistar",
           "grid", "lineage", "progress", "records", "targets", "trends"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_give_what_they_show(name):
    module = importlib.import_module(f"geo_pcmt.analysis.{name}")
    result = doctest.testmod(module, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} example(s) of geo_pcmt.analysis.{name} failed"
