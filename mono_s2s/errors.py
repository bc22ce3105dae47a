"""The one exception type for mistakes a user can fix.

Anything raised as :class:`UserError` is caught by the CLI and printed as a
single line (``mono-s2s: error: ...``) with exit code 2 and no traceback.
Bugs in our own code keep raising ordinary exceptions, with their traceback.
"""


class UserError(Exception):
    """Bad input from the user: a flag, a config key, a data file, a dataset name.

    The message must name what is wrong (the file, field, flag or dataset) and
    fit on one line.
    """

    exit_code = 2
