"""The ``geo-pcmt`` command line: ``main`` (in :mod:`.main`) and one module per concern.

Every module here but ``main`` and ``options`` defines ``COMMANDS``; they are added to the
group when the package is imported, so a new concern is a new module and nothing else.
"""
from __future__ import annotations

import importlib
import pkgutil

from geo_pcmt.cli.main import main

_NOT_COMMANDS = {"main", "options"}

for _info in pkgutil.iter_modules(__path__):
    if _info.name not in _NOT_COMMANDS:
        for _cmd in getattr(importlib.import_module(f"{__name__}.{_info.name}"), "COMMANDS", ()):
            main.add_command(_cmd)

__all__ = ["main"]
