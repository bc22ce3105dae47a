"""Progress bars: tqdm's own in a terminal and in Jupyter, one line per finished stage in a log.

In a terminal, tqdm redraws its bars in place; nested bars move the cursor with
``ESC [A``. Written to a file (CI, ``nohup``, ``tee``) every redraw becomes text:
hundreds of partial lines and escape codes per stage. So :func:`bar` returns
tqdm's bar (``tqdm.auto``: widgets in Jupyter) only when stderr is a terminal or
the code runs in a notebook kernel; otherwise a :class:`StageLine`, which prints
one plain line when its stage ends::

    train nonmono: 6/6 epoch in 168.2 s (best=1.170, val_loss=1.171)

An inner bar (``leave=False``: an epoch inside training, a sample inside an
attack) prints its line only when its stage took at least
:data:`INNER_LINE_AFTER_S`, so a long run still shows signs of life without
flooding short ones. A stage that ends in an error prints nothing: the error's
own line (``mono-s2s: error: ...``) stays the only one.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any, Iterable, Iterator

INNER_LINE_AFTER_S = 30.0


def interactive() -> bool:
    """True in a terminal (stderr is a TTY) or a Jupyter/IPython kernel, where bars redraw in place."""
    if "ipykernel" in sys.modules:
        try:
            from IPython import get_ipython

            shell = get_ipython()
            if shell is not None and getattr(shell, "kernel", None) is not None:
                return True
        except ImportError:
            pass
    stream = sys.stderr
    return bool(getattr(stream, "isatty", None) and stream.isatty())


class StageLine:
    """The subset of tqdm's interface that mono-s2s uses, printing one line at the end instead of a bar."""

    def __init__(self, iterable: Iterable | None = None, desc: str | None = None, total: int | None = None,
                 unit: str = "it", leave: bool = True, initial: int = 0, disable: bool = False,
                 file=None, **_ignored: Any) -> None:
        self.iterable, self.desc, self.unit, self.leave, self.disable = iterable, desc or "", unit, leave, disable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # as tqdm
        self.total, self.n, self.postfix = total, initial, ""
        self.file = file
        self._start = time.perf_counter()
        self._closed = False

    def __iter__(self) -> Iterator:
        for item in self.iterable:
            yield item
            self.n += 1
        # Only a finished loop reports by itself. A loop left by ``break`` or by an exception cannot be told
        # apart from here, and an error must stay the one line its handler prints: a stage that stops early
        # on purpose (early stopping) calls close() before it breaks.
        self.close()

    def __enter__(self) -> StageLine:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._closed = True  # silently: the error's own line says what happened

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, **values: Any) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in sorted(values.items()))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        seconds = time.perf_counter() - self._start
        if self.disable or (not self.leave and seconds < INNER_LINE_AFTER_S):
            return
        count = f"{self.n}/{self.total}" if self.total is not None else f"{self.n}"
        line = f"{self.desc}: {count} {self.unit} in {seconds:.1f} s" + (f" ({self.postfix})" if self.postfix else "")
        print(line, file=self.file or sys.stderr, flush=True)


def bar(iterable: Iterable | None = None, **kwargs: Any):
    """A progress bar over ``iterable`` (tqdm's keywords: desc, total, unit, leave, initial, disable, ...).

    tqdm's bar where it can redraw in place, a :class:`StageLine` elsewhere (see the module docstring).
    """
    if interactive():
        from tqdm.auto import tqdm

        return tqdm(iterable, **kwargs)
    return StageLine(iterable, **kwargs)


class Stages:
    """Wall time per stage of a run (issue 13: printed at the end, kept in the results' ``timing_s``).

    ``with stages("train nonmono"): ...`` adds the block's seconds to that stage; a stage entered twice
    (e.g. after a resume) adds up. Insertion order is the run's order.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def table(self) -> str:
        """One line per stage and the total, for the end of a run."""
        total = sum(self.seconds.values())
        width = max([len(n) for n in self.seconds] + [5])
        lines = [f"  {name:<{width}}  {s:8.1f} s  {100 * s / total if total else 0:5.1f} %"
                 for name, s in self.seconds.items()]
        return "\n".join(["time per stage:"] + lines + [f"  {'total':<{width}}  {total:8.1f} s"])
