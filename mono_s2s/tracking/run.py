"""The wandb run wrapper: :class:`Tracker`, modes, sweeps. With :mod:`.read`, the only code that imports wandb.

A :class:`Tracker` wraps one wandb run. Modes (``TrackArgs.mode``):

* ``disabled`` -- no wandb at all (not even imported); every method is a no-op.
* ``online`` / ``offline`` -- passed to ``wandb.init`` as asked. Offline runs
  live in ``OUT_DIR/wandb/offline-run-*`` and can be uploaded later with
  ``wandb sync``.
* ``auto`` -- ``WANDB_MODE`` / ``WANDB_DISABLED`` if the user set them, else
  online when credentials are present (checked without touching the network,
  see :func:`is_logged_in`), else offline.

Under ``wandb agent`` (a sweep), the one process opens three runs but the agent
hands it ONE run id; see :func:`sweep_role` for how the runs are kept apart.

Only rank 0 of a distributed launch tracks; the other ranks are ``disabled``.

Tracking must never stop an experiment: if wandb cannot start, or fails later,
we print one warning line to stderr and carry on with tracking off.

Online without a network: ``wandb.init`` is given :data:`INIT_TIMEOUT_S` (wandb's
own default is 90 s; ``WANDB_INIT_TIMEOUT`` still wins). If it fails online, the
same run is opened offline instead (upload it later with ``wandb sync``; tracking
is off only if offline fails too), and the process remembers: its later runs go
straight to that fallback, so an experiment's three runs cost one timeout and
one warning line, not three.

Departure from the seed notebook: the seed logged through the global
``wandb.log``; we hold the run object (``reinit="create_new"``) so two trackers
cannot write into each other's run. The names the runs carry are in :mod:`.keys`.
"""

from __future__ import annotations

import configparser
import contextlib
import netrc
import os
import re
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from mono_s2s.config import TrackArgs
from mono_s2s.errors import warn
from mono_s2s.processes import process_rank
from mono_s2s.tracking.keys import run_name, run_tags

# --------------------------------------------------------------------------
# Mode resolution: is the user logged in? (no network)
# --------------------------------------------------------------------------

_DEFAULT_BASE_URL = "https://api.wandb.ai"
INIT_TIMEOUT_S = 30.0  # online start; an offline fallback loses nothing, so a short wait is safe
_ENV_MODES = {"online": "online", "run": "online", "offline": "offline", "dryrun": "offline",
              "disabled": "disabled"}


def _settings_file(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return {}
    return dict(parser["default"]) if parser.has_section("default") else {}


def _global_settings() -> dict[str, str]:
    """The ``[default]`` section of wandb's global settings file (``wandb login`` writes it)."""
    config_dir = os.environ.get("WANDB_CONFIG_DIR")
    path = Path(config_dir).expanduser() if config_dir else Path("~/.config/wandb").expanduser()
    return _settings_file(path / "settings")


def _chosen_mode_settings() -> list[str]:
    """Modes set with ``wandb offline`` / ``wandb online``: the working folder's ``wandb/settings`` (where
    those commands write), then the global file."""
    return [_settings_file(Path.cwd() / "wandb" / "settings").get("mode", ""), _global_settings().get("mode", "")]


def _netrc_path() -> Path:
    # The same search order as wandb: $NETRC, then ~/.netrc, then ~/_netrc.
    if os.environ.get("NETRC"):
        return Path(os.environ["NETRC"]).expanduser()
    for name in ("~/.netrc", "~/_netrc"):
        p = Path(name).expanduser()
        if p.exists():
            return p
    return Path("~/.netrc").expanduser()


def is_logged_in() -> bool:
    """True when wandb would find credentials: ``WANDB_API_KEY``, an identity-token file,
    a netrc entry for the W&B host (what ``wandb login`` writes), or an ``api_key`` in the
    global settings file. Reads local files only: never contacts the server, and never
    checks that the key is valid (a bad key shows up as a failed ``wandb.init``)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    token_file = os.environ.get("WANDB_IDENTITY_TOKEN_FILE")
    if token_file and Path(token_file).expanduser().is_file():
        return True
    settings = _global_settings()
    base_url = os.environ.get("WANDB_BASE_URL") or settings.get("base_url") or _DEFAULT_BASE_URL
    host = urlsplit(base_url).netloc
    try:
        creds = netrc.netrc(str(_netrc_path())).authenticators(host) if host else None
    except (netrc.NetrcParseError, OSError):
        creds = None
    if creds and creds[2]:
        return True
    return bool(settings.get("api_key"))


def resolve_mode(mode: str) -> str:
    """``online``, ``offline`` or ``disabled`` for a ``TrackArgs.mode``.

    Only rank 0 of a distributed launch tracks: the other ranks would each open a
    duplicate run of the same experiment.
    """
    if process_rank() != 0:
        return "disabled"
    if mode != "auto":
        return mode
    if os.environ.get("WANDB_DISABLED", "").lower() in ("1", "true", "yes"):
        return "disabled"
    # An explicit choice the user made for wandb itself wins over our guess.
    for chosen in (os.environ.get("WANDB_MODE", ""), *_chosen_mode_settings()):
        if chosen.strip().lower() in _ENV_MODES:
            return _ENV_MODES[chosen.strip().lower()]
    return "online" if is_logged_in() else "offline"


# --------------------------------------------------------------------------
# Sweeps: one agent run id, three runs
# --------------------------------------------------------------------------

# What ``wandb agent`` puts in the environment of each trial it starts (wandb 0.31:
# ``wandb_agent.py`` ``run_agent`` and ``Agent._command_run``; ``agents/pyagent.py`` for
# ``wandb.agent(function=...)``). ``WANDB_PROJECT`` / ``WANDB_ENTITY`` are set too.
SWEEP_ENV_VARS = ("WANDB_SWEEP_ID", "WANDB_RUN_ID", "WANDB_SWEEP_PARAM_PATH")


def sweep_role(kind: str, claimed: str | None) -> str:
    """``"none"`` (not in a sweep), ``"sweep"`` (this run IS the agent's trial run) or ``"apart"``.

    While ``WANDB_SWEEP_ID`` is set, ``wandb.init`` drops the ``id=`` it is given
    and uses ``WANDB_RUN_ID``, so our three runs would all write into the agent's
    one run. Only the first adversarial run of the process (``claimed`` is the
    agent run id already taken, if any) becomes the trial run: it carries the
    sweep metric (``overall_robustness_improvement_pct``) and the swept values.
    The training runs, and any later adversarial run (``--seeds N``), are opened
    "apart": with the agent's variables hidden, as ordinary runs.
    """
    if not os.environ.get("WANDB_SWEEP_ID"):
        return "none"
    if kind == "adversarial" and claimed != os.environ.get("WANDB_RUN_ID"):
        return "sweep"
    return "apart"


@contextlib.contextmanager
def hidden_sweep_env(hide: bool):
    """Remove :data:`SWEEP_ENV_VARS` from ``os.environ`` inside the block (when ``hide``), then put them back."""
    saved = {v: os.environ.pop(v) for v in SWEEP_ENV_VARS if v in os.environ} if hide else {}
    try:
        yield
    finally:
        os.environ.update(saved)


def sweep_group() -> str | None:
    """``sweep-{SWEEP_ID}-{RUN_ID}``: the group of one trial's three runs (None outside a sweep)."""
    sweep_id, run_id = os.environ.get("WANDB_SWEEP_ID"), os.environ.get("WANDB_RUN_ID")
    return f"sweep-{sweep_id}-{run_id}" if sweep_id and run_id else None


# --------------------------------------------------------------------------
# The tracker
# --------------------------------------------------------------------------

_SECRET_KEY = re.compile(r"api[_-]?key|token|secret|password", re.IGNORECASE)


def _plain(value: Any) -> Any:
    """JSON-friendly copy of a config value (paths -> str, tuples -> lists); secret-looking keys dropped."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if not _SECRET_KEY.search(str(k))}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if hasattr(value, "item"):  # numpy / torch scalars
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    return str(value)


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return _plain(value)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    reason = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    key = os.environ.get("WANDB_API_KEY")
    if key:
        reason = reason.replace(key, "***")
    return reason if len(reason) <= 200 else reason[:197] + "..."


class Tracker:
    """One wandb run (a training run of one variant, or the adversarial run).

    Every method is a no-op when ``enabled`` is False. A wandb failure inside a
    method prints one warning and turns tracking off for the rest of the run.

    ``step``: pass it to every :meth:`log` call of a run, or to none. Tables and
    images are attached to the last step passed (so they cannot push wandb's step
    past the caller's and make its next rows be dropped).
    """

    _active: ClassVar[int] = 0  # trackers with a live run in this process
    _sweep_claimed: ClassVar[str | None] = None  # the agent run id an adversarial run already took
    # Once an online start failed: the mode the process's later online runs use instead ("offline" or "disabled").
    _online_fallback: ClassVar[str | None] = None

    def __init__(self, args: TrackArgs, kind: str, slug: str | None, config: dict, out_dir: Path,
                 resume_id: str | None = None) -> None:
        self.enabled = False
        self.run_id: str | None = None
        self.sweep_run_id: str | None = None  # set when this run is a sweep agent's trial run
        self.run_dir: Path | None = None
        self.name = run_name(kind, slug)
        self.tags = run_tags(kind, slug)
        self.mode = resolve_mode(args.mode)
        if self.mode == "online" and Tracker._online_fallback:
            self.mode = Tracker._online_fallback  # an earlier run of this process could not start online
        self._run: Any = None
        self._wandb: Any = None
        self._last_step: int | None = None
        if self.mode == "disabled":
            return
        out_dir = Path(out_dir)
        role = sweep_role(kind, Tracker._sweep_claimed)
        project, entity, group = args.project, args.entity, args.group
        if role != "none":
            # All three runs of a trial go where the agent's sweep lives, grouped together.
            project = os.environ.get("WANDB_PROJECT") or project
            entity = os.environ.get("WANDB_ENTITY") or entity
            group = group or sweep_group()
        if role == "sweep":
            project = entity = None  # wandb ignores (and warns about) them for the sweep's run
            self.sweep_run_id = os.environ.get("WANDB_RUN_ID")

        def start(mode: str):
            import wandb

            out_dir.mkdir(parents=True, exist_ok=True)
            if role != "none" and Tracker._active == 0 and wandb.run is None:
                # wandb reads the environment once per session (setup); start a fresh one so that it
                # sees the variables as they are now (hidden or not), not as an earlier run saw them.
                wandb.teardown()
            # quiet: only where the run is saved; the run's own files stay complete
            # (console capture, requirements, system stats).
            settings = {"quiet": True}
            if mode == "online" and not os.environ.get("WANDB_INIT_TIMEOUT"):
                settings["init_timeout"] = INIT_TIMEOUT_S
            with hidden_sweep_env(role == "apart"):
                run = wandb.init(
                    project=project,
                    entity=entity,
                    group=group,
                    name=self.name,
                    tags=self.tags,
                    job_type=kind,
                    config=_plain(dict(config)),
                    dir=str(out_dir),
                    mode=mode,
                    id=resume_id,
                    resume="allow" if resume_id else None,
                    allow_val_change=True if resume_id else None,
                    reinit="create_new",
                    settings=wandb.Settings(**settings),
                )
            return wandb, run

        try:
            wandb, run = start(self.mode)
        except Exception as exc:  # no network, bad key, broken install: carry on offline, or untracked
            if self.mode != "online":
                warn(f"wandb could not start ({_one_line(exc)}); tracking is off for this run")
                return
            online_failure = _one_line(exc)
            try:
                wandb, run = start("offline")
            except Exception as exc2:
                Tracker._online_fallback = self.mode = "disabled"
                warn(f"wandb could not start online ({online_failure}) nor offline ({_one_line(exc2)}); "
                      "tracking is off for this run and the later ones of this process")
                return
            Tracker._online_fallback = self.mode = "offline"
            warn(f"wandb could not start online ({online_failure}); this run and the later ones of this process "
                  f"are tracked offline (this one in {out_dir / 'wandb'}; upload them later with 'wandb sync')")
        self._wandb = wandb
        self._run = run
        self.enabled = True
        Tracker._active += 1
        self.run_id = run.id
        if role == "sweep":
            Tracker._sweep_claimed = self.sweep_run_id
        sync_dir = getattr(run.settings, "sync_dir", None)
        self.run_dir = Path(sync_dir) if sync_dir else Path(run.dir).parent

    # -- guarded calls ------------------------------------------------------

    def _close(self, exit_code: int | None) -> None:
        """Finish the run; when it was the process's last one, shut wandb's service down too.

        wandb 0.31's ``finish`` returns before its service has written the run's
        ``.wandb`` log to disk (the file is closed asynchronously), so a reader
        right after ``finish`` (``wandb sync``, :func:`read_run`, a notebook cell)
        can see a header-only file. ``wandb.teardown`` waits for the service to
        exit, which flushes and closes every log. It would also end runs we do not
        own, so it is skipped while any other run is live; the next tracker
        starts a fresh service (~0.4 s).
        """
        run, self._run, self.enabled = self._run, None, False
        Tracker._active -= 1
        run.finish(exit_code=exit_code)
        if Tracker._active == 0 and self._wandb.run is None:
            self._wandb.teardown()

    def _fail(self, what: str, exc: BaseException) -> None:
        warn(f"wandb failed in {what} ({_one_line(exc)}); tracking is off for the rest of this run")
        try:
            self._close(exit_code=1)
        except Exception:
            pass

    def log(self, metrics: dict, step: int | None = None) -> None:
        if not self.enabled:
            return
        try:
            if step is not None:
                self._last_step = step if self._last_step is None else max(self._last_step, step)
            self._run.log(dict(metrics), step=step)
        except Exception as exc:
            self._fail("log", exc)

    def _log_media(self, key: str, value: Any) -> None:
        self._run.log({key: value}, step=self._last_step)

    def log_table(self, key: str, columns: list[str], rows: list[list]) -> None:
        if not self.enabled:
            return
        try:
            data = [[_cell(v) for v in row] for row in rows]
            self._log_media(key, self._wandb.Table(columns=list(columns), data=data))
        except Exception as exc:
            self._fail("log_table", exc)

    def log_image(self, key: str, path: Path) -> None:
        if not self.enabled:
            return
        try:
            path = Path(path)
            if not path.is_file():
                raise FileNotFoundError(f"no image at {path}")
            self._log_media(key, self._wandb.Image(str(path)))
        except Exception as exc:
            self._fail("log_image", exc)

    def summary(self, values: dict) -> None:
        """Set run-summary values (nested dicts allowed): the numbers a dashboard shows per run."""
        if not self.enabled:
            return
        try:
            self._run.summary.update(_plain(dict(values)))
        except Exception as exc:
            self._fail("summary", exc)

    def log_model(self, path: Path, name: str, metadata: dict | None = None) -> None:
        """Log a checkpoint (a folder, or one file) as a ``model`` artifact.

        Files are copied to wandb's staging area (the "mutable" policy), so a
        checkpoint swapped in later cannot change an artifact not yet uploaded.
        """
        if not self.enabled:
            return
        try:
            path = Path(path)
            artifact = self._wandb.Artifact(re.sub(r"[^A-Za-z0-9_.-]", "-", name), type="model",
                                            metadata=_plain(dict(metadata or {})))
            if path.is_dir():
                # add_file per file rather than add_dir: same content, without add_dir's console chatter.
                for f in sorted(p for p in path.rglob("*") if p.is_file()):
                    artifact.add_file(str(f), name=f.relative_to(path).as_posix())
            elif path.is_file():
                artifact.add_file(str(path), name=path.name)
            else:
                raise FileNotFoundError(f"no checkpoint at {path}")
            self._run.log_artifact(artifact)
        except Exception as exc:
            self._fail("log_model", exc)

    def finish(self, exit_code: int | None = None) -> None:
        """End the run (idempotent). Offline runs can then be uploaded with ``wandb sync RUN_DIR``."""
        if not self.enabled:
            return
        try:
            self._close(exit_code)
        except Exception as exc:
            warn(f"wandb could not finish the run ({_one_line(exc)})")

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.finish(exit_code=1 if exc_type is not None else None)


__all__ = ["Tracker", "is_logged_in", "resolve_mode", "SWEEP_ENV_VARS", "sweep_role", "hidden_sweep_env",
           "sweep_group"]
