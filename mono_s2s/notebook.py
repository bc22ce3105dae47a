"""How the notebook's kernel shows a user mistake: one line, as the command line does.

A :class:`~mono_s2s.errors.UserError` (a bad papermill parameter such as
``-p PRESET nosuch``, a data file that does not exist, an output folder in use)
already carries a message that names what to fix. In a notebook it would arrive
under a traceback of the package's internals; :func:`show_user_errors` makes
IPython print just ``mono-s2s: error: ...`` instead. The cell still fails: IPython
records the exception as the cell's error, so Jupyter stops a "run all" there and
papermill raises ``PapermillExecutionError``. Any other exception (a bug) keeps its
full traceback.
"""

from __future__ import annotations

import sys

from mono_s2s.errors import UserError


def _one_line(shell, etype, value, tb, tb_offset=None):
    """IPython's custom exception handler (``set_custom_exc``): the error as one line, no frames."""
    line = f"mono-s2s: error: {value}"
    show = getattr(shell, "_showtraceback", None)
    if show is not None:
        # The kernel's own error display: an "error" output (red in Jupyter) whose traceback is this
        # one line, and the execute reply papermill reads carries it too.
        show(etype, value, [line])
    else:
        print(line, file=sys.stderr)
    return [line]


def show_user_errors(shell=None) -> bool:
    """In IPython (a Jupyter kernel, papermill), show a UserError as one line; True if installed.

    Outside IPython (a plain ``python`` running the cells, a test) it does nothing and
    returns False. Calling it again is harmless.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    shell.set_custom_exc((UserError,), _one_line)
    return True


__all__ = ["show_user_errors"]
