"""Progress output: tqdm's bars where they redraw in place, one plain line per finished stage in a log."""

from __future__ import annotations

import io

import pytest

from mono_s2s import progress


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def _log(monkeypatch) -> _Stream:
    """stderr as a log file (not a terminal). Set inside the test: pytest re-installs its own capture of
    sys.stderr between a fixture's set-up and the test's call."""
    stream = _Stream(tty=False)
    monkeypatch.setattr("sys.stderr", stream)
    return stream


def test_a_log_gets_one_line_per_stage_and_no_escape_codes(monkeypatch):
    log = _log(monkeypatch)
    outer = progress.bar(range(3), desc="train nonmono", unit="epoch")
    for epoch in outer:
        for _ in progress.bar(range(4), desc=f"epoch {epoch + 1}/3", leave=False):  # nested, short: silent
            pass
        outer.set_postfix(val_loss="1.170")
    with progress.bar(total=5, desc="clean eval", unit="src") as bar:
        bar.update(5)
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and "\x1b" not in log.getvalue() and "\r" not in log.getvalue()
    assert lines[0].startswith("train nonmono: 3/3 epoch in ") and lines[0].endswith(" s (val_loss=1.170)")
    assert lines[1].startswith("clean eval: 5/5 src in ")


def test_a_stage_closed_before_break_reports_and_disabled_bars_say_nothing(monkeypatch):
    log = _log(monkeypatch)
    epochs = progress.bar(range(10), desc="train mono", initial=2, total=12, unit="epoch")
    for i in epochs:
        if i == 4:
            epochs.close()  # early stopping
            break
    for _ in progress.bar(range(3), desc="hidden", disable=True):
        pass
    lines = log.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("train mono: 6/12 epoch in ")  # as tqdm: 2 + the 4 finished


def test_a_long_inner_stage_reports_too(monkeypatch):
    log = _log(monkeypatch)
    monkeypatch.setattr(progress, "INNER_LINE_AFTER_S", 0.0)
    for _ in progress.bar(range(2), desc="epoch 1/6", leave=False):
        pass
    assert log.getvalue().startswith("epoch 1/6: 2/2 it in ")


def test_a_terminal_keeps_tqdm(monkeypatch):
    from tqdm.auto import tqdm

    monkeypatch.setattr("sys.stderr", _Stream(tty=True))
    bar = progress.bar(range(2), desc="x")
    assert isinstance(bar, tqdm)
    bar.close()


def test_a_stage_ended_by_an_error_prints_nothing(monkeypatch):
    """The error's own one line stays the only one on stderr."""
    log = _log(monkeypatch)
    with pytest.raises(OSError):
        for i in progress.bar(range(3), desc="train nonmono", unit="epoch"):
            raise OSError(28, "No space left on device")
    with pytest.raises(ValueError):
        with progress.bar(total=3, desc="clean eval") as bar:
            bar.update(1)
            raise ValueError("boom")
    assert log.getvalue() == ""
