"""Long commands show a step progress bar on a terminal after ~2 s, and stay quiet otherwise."""
from __future__ import annotations

import pytest

import io
import time

from click.testing import CliRunner

from geo_pcmt.cli import progress
from geo_pcmt.cli.progress import StepBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_long_run_shows_its_steps_and_the_time_left_on_a_terminal():
    term = Terminal()
    with StepBar("hotspots", ["read", "dbscan", "gistar"], show=True, delay_s=0.05,
                 file=term) as bar:
        bar.step("read")
        time.sleep(0.3)  # the bar appears while a step is under way
        bar.step("dbscan")
        bar.step("not-a-step")  # a run's other labels are ignored
        bar.step("gistar")
    text = term.getvalue()
    assert "hotspots" in text and "dbscan" in text and "gistar" in text
    assert "1/3" in text and "3/3" in text


def test_a_quick_run_leaves_no_trace():
    term = Terminal()
    with StepBar("hotspots", ["read", "dbscan"], show=True, delay_s=5, file=term) as bar:
        bar.step("read")
        bar.step("dbscan")
    assert term.getvalue() == ""


def test_no_bar_when_not_wanted_however_long_the_run():
    term = Terminal()
    with StepBar("places", ["read", "places"], show=False, delay_s=0.01, file=term) as bar:
        bar.step("read")
        time.sleep(0.1)
        bar.step("places")
    assert term.getvalue() == ""


def test_the_bar_is_wanted_only_at_a_terminal_and_never_with_json(monkeypatch):
    monkeypatch.setattr("sys.stdout", Terminal())
    monkeypatch.setattr("sys.stderr", Terminal())
    assert progress.wanted(False) and not progress.wanted(True)
    monkeypatch.setattr("sys.stdout", io.StringIO())  # piped into a file or another program
    assert not progress.wanted(False)


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_hotspots_json_output_is_only_json(store):
    import json

    from geo_pcmt.cli import main
    from geo_pcmt.runs.seed import load_sample
    load_sample(store)
    res = CliRunner().invoke(main, ["hotspots", "--method", "dbscan", "--no-export", "--json"],
                             env={"GEO_PCMT_STORE": str(store.path)})
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["summary"]["clusters"] >= 1
    assert "hotspots" not in res.stderr  # no bar, not even its label
