"""A step progress bar for long commands: shown on a terminal after ~2 s, never when piped or --json."""
from __future__ import annotations

import sys
import threading
import time
from typing import IO, Sequence

import click

DELAY_S = 2.0


def wanted(as_json: bool = False) -> bool:
    """A bar is drawn only for a person at a terminal: not with ``--json``, not when the
    output or the bar's stream (stderr) is piped or redirected."""
    return not as_json and sys.stdout.isatty() and sys.stderr.isatty()


class StepBar:
    """A click progress bar over named steps (with the time left), drawn on stderr once the
    work has lasted ``delay_s`` — quick runs leave no trace — and not at all when ``show``
    is False.

    Use as a context manager; call :meth:`step` with each step's name as it starts (names
    not in ``steps`` are ignored, so a run's progress callback can be passed directly).
    """

    def __init__(self, label: str, steps: Sequence[str], *, show: bool,
                 delay_s: float = DELAY_S, file: IO[str] | None = None) -> None:
        self.label, self.steps, self.show = label, list(steps), show
        self.delay_s, self.file = delay_s, file or sys.stderr
        self.done, self.current = 0, ""
        self.bar = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def __enter__(self) -> "StepBar":
        self.started = time.monotonic()
        if self.show:
            self._timer = threading.Timer(self.delay_s, self._appear)
            self._timer.daemon = True
            self._timer.start()
        return self

    def _appear(self) -> None:
        with self._lock:
            if self.bar is not None or self._timer is None:
                return
            self.bar = click.progressbar(length=len(self.steps), label=self.label,
                                         file=self.file, show_eta=True, show_pos=True,
                                         item_show_func=lambda s: s or "")
            self.bar.__enter__()
            self.bar.update(self.done, self.current)

    def step(self, name: str) -> None:
        """Mark the steps before ``name`` done and ``name`` as the one under way."""
        if name not in self.steps:
            return
        with self._lock:
            target = self.steps.index(name)
            gain, self.done, self.current = max(0, target - self.done), max(self.done, target), name
            if self.bar is not None:
                self.bar.update(gain, name)

    def __exit__(self, *exc) -> None:
        with self._lock:
            timer, self._timer = self._timer, None
            if timer is not None:
                timer.cancel()
            if self.bar is not None:
                if exc[0] is None:
                    self.bar.update(len(self.steps) - self.done, "")
                self.bar.__exit__(*exc)
