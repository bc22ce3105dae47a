"""The one exception type for mistakes a user can fix, and the one-line warning.

Anything raised as :class:`UserError` is caught by the CLI and printed as a
single line (``mono-s2s: error: ...``) with exit code 2 and no traceback.
Bugs in our own code keep raising ordinary exceptions, with their traceback.
Something wrong that the run can work around is a :func:`warn` line instead.
"""

import sys


class UserError(Exception):
    """Bad input from the user: a flag, a config key, a data file, a dataset name.

    The message must name what is wrong (the file, field, flag or dataset) and
    fit on one line.
    """

    exit_code = 2


def warn(message: str) -> None:
    """One line on stderr, ``mono-s2s: warning: ...``: something was wrong but the run goes on.

    Not ``warnings.warn``: that prints the calling source line as a second line
    and shows a message only once per call site.
    """
    print(f"mono-s2s: warning: {message}", file=sys.stderr, flush=True)
