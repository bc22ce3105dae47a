"""Weights & Biases tracking: the only package of mono-s2s that imports wandb.

* :mod:`.keys` -- every name of the guide contract (project, run names, tags,
  metric keys), pure: importing it never imports wandb;
* :mod:`.run` -- :class:`Tracker`, one wandb run: modes, sweeps, never stopping an experiment;
* :mod:`.read` -- :func:`read_run`, a run's records read back from its files.

Everything is importable from here (``from mono_s2s import tracking``;
``tracking.VAL_KEYS``, ``tracking.Tracker``). wandb itself is imported lazily,
inside the tracker and the reader, so code that needs only names stays light.
"""

from mono_s2s.tracking.keys import *  # noqa: F403 -- the contract, re-exported by name
from mono_s2s.tracking.keys import __all__ as _keys_all
from mono_s2s.tracking.read import read_run
from mono_s2s.tracking.run import (SWEEP_ENV_VARS, Tracker, hidden_sweep_env, is_logged_in, resolve_mode,
                                   sweep_group, sweep_role)

__all__ = [*_keys_all, "Tracker", "is_logged_in", "resolve_mode", "SWEEP_ENV_VARS", "sweep_role",
           "hidden_sweep_env", "sweep_group", "read_run"]
