"""Docstring examples (``--doctest-modules`` over ``geo_pcmt`` and ``tools``, see pyproject)
run in a fresh temporary folder: an example that makes ``var/geo_pcmt.gpkg`` never touches
the real one. The test suite's own fixtures are in ``tests/conftest.py``."""
from __future__ import annotations

import pytest
from _pytest.doctest import DoctestItem


@pytest.fixture(autouse=True)
def _doctests_run_in_a_temporary_folder(request, tmp_path_factory, monkeypatch):
    if isinstance(request.node, DoctestItem):
        monkeypatch.chdir(tmp_path_factory.mktemp("doctest"))
