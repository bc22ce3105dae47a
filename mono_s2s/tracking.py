"""Weights & Biases tracking: the only module of the package that imports wandb.

Metric names, run names, tags and the project name are a contract with the
original project's W&B guide (``WANDB_GUIDE.md``): dashboards and queries
written against the seed's runs must keep working on ours. They are defined
once, here, and every other module logs through these constants.

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

Departures from the seed notebook:

* The seed logged through the global ``wandb.log``; we hold the run object
  (``reinit="create_new"``) so two trackers cannot write into each other's run.
* The seed's per-sample keys compare exactly two models (``nonmono``/``mono``);
  the key helpers take the model slugs, so a third variant (``softplus_gate``)
  gets keys of the same shape without changing the two contract names.
"""

from __future__ import annotations

import configparser
import contextlib
import datetime as _dt
import importlib.util
import json
import netrc
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar, Sequence
from urllib.parse import urlsplit

from mono_s2s.config import TrackArgs

# --------------------------------------------------------------------------
# The contract: project, tags, metric names (exact strings from WANDB_GUIDE.md)
# --------------------------------------------------------------------------

PROJECT = "mono-s2s-adversarial-robustness"

# Logged every batch.
TRAIN_BATCH_KEYS = (
    "train/batch_loss",
    "train/learning_rate",
    "train/teacher_forcing_ratio",
    "train/used_teacher_forcing",
    "train/used_noise",
    "train/batch_time",
    "train/grad_norm",  # before clipping
    "train/grad_norm_clipped",
    "train/epoch",
    "train/batch",
)
# Logged once per epoch.
TRAIN_EPOCH_KEYS = (
    "train/epoch_loss",
    "train/epoch_perplexity",
    "train/epoch_time",
    "train/batches_per_second",
    "train/avg_grad_norm",
    "train/max_grad_norm",
    "train/min_batch_loss",
    "train/max_batch_loss",
    "train/std_batch_loss",
)
VAL_KEYS = ("val/loss", "val/perplexity", "val/eval_time", "val/min_loss", "val/max_loss", "val/std_loss")
EPOCH_KEYS = ("epoch", "best_val_loss", "patience_counter", "is_best_epoch")
VAL_SAMPLES_TABLE = "val/samples"
TRAINING_SAMPLES_TABLE = "training_samples"

# HotFlip, per sample, comparing the two models of the seed.
HOTFLIP_SAMPLE_IDX = "hotflip/sample_idx"
HOTFLIP_ROBUSTNESS_DELTA = "hotflip/robustness_delta"
HOTFLIP_GRAD_NORM_RATIO = "hotflip/grad_norm_ratio"  # nonmono / mono
HOTFLIP_DETAILED_TABLE = "hotflip/detailed_comparison"
HOTFLIP_SUMMARY_PREFIX = "hotflip/summary_"

# Final analysis tables and text.
FINAL_SUMMARY_TABLE = "final/comprehensive_summary"
FINAL_GRADIENT_TABLE = "final/attack_comparison_with_gradients"
KEY_FINDINGS = "key_findings"
OVERALL_IMPROVEMENT = "overall_robustness_improvement_pct"
OVERALL_P_VALUE = "overall_p_value"
OVERALL_SIGNIFICANT = "overall_statistically_significant"
# The guide names the headline number both ``overall_robustness_improvement_pct``
# (run summary) and ``final/overall_robustness_improvement_pct`` (metrics to
# watch); writers should set both so either query finds it.
FINAL_OVERALL_IMPROVEMENT = "final/overall_robustness_improvement_pct"

SEED_SLUGS = ("nonmono", "mono")  # the two models the seed compares


def hotflip_iteration_keys(model_slug: str) -> tuple[str, str, str, str]:
    """Per-iteration HotFlip keys for one model: loss, grad norm, tokens changed, iteration."""
    p = f"hotflip/{model_slug}/"
    return (p + "iteration_loss", p + "iteration_grad_norm", p + "iteration_tokens_changed", p + "iteration")


def hotflip_model_keys(model_slug: str) -> tuple[str, str, str]:
    """Per-sample HotFlip keys for one model: degradation, avg grad norm, loss improvement."""
    p = f"hotflip/{model_slug}_"
    return (p + "degradation", p + "avg_grad_norm", p + "loss_improvement")


def hotflip_sample_keys(slugs: Sequence[str] = SEED_SLUGS) -> tuple[str, ...]:
    """Every per-sample HotFlip key: index, each model's keys, and the pairwise delta/ratio."""
    keys = [HOTFLIP_SAMPLE_IDX]
    for slug in slugs:
        keys += hotflip_model_keys(slug)
    return tuple(keys) + (HOTFLIP_ROBUSTNESS_DELTA, HOTFLIP_GRAD_NORM_RATIO)


def hotflip_summary_key(name: str) -> str:
    """``hotflip/summary_<name>``: an average over all attacked samples."""
    return HOTFLIP_SUMMARY_PREFIX + name


def final_keys(attack: str, slugs: Sequence[str] = SEED_SLUGS) -> tuple[str, ...]:
    """Per-attack final keys: each model's mean, then improvement, p-value, significance."""
    p = f"final/{attack}_"
    return tuple(f"{p}{slug}_mean" for slug in slugs) + (p + "improvement_pct", p + "p_value", p + "significant")


def overall_keys(slugs: Sequence[str] = SEED_SLUGS) -> tuple[str, ...]:
    """Run-summary keys of the overall result."""
    return ((OVERALL_IMPROVEMENT,) + tuple(f"overall_{slug}_degradation" for slug in slugs)
            + (OVERALL_P_VALUE, OVERALL_SIGNIFICANT))


HOTFLIP_SAMPLE_KEYS = hotflip_sample_keys()
OVERALL_KEYS = overall_keys()

BASE_TRAINING_TAGS = ("training", "seq2seq", "summarization")
TRAINING_TAGS = {
    "nonmono": ["training", "non-monotonic", "seq2seq", "summarization"],
    "mono": ["training", "monotonic", "seq2seq", "summarization", "robustness"],
}
ADVERSARIAL_TAGS = ["adversarial", "robustness", "gradient-analysis", "attacks"]

KINDS = ("training", "adversarial")


def training_tags(slug: str) -> list[str]:
    """The guide's tags for the seed's two models; other variants get the base tags plus their name."""
    return list(TRAINING_TAGS.get(slug, [*BASE_TRAINING_TAGS, slug]))


# --------------------------------------------------------------------------
# Run naming and environment
# --------------------------------------------------------------------------

_COLAB_ENV_VARS = ("COLAB_RELEASE_TAG", "COLAB_BACKEND_VERSION", "COLAB_GPU")


def detect_env() -> str:
    """``"colab"`` inside Google Colab, else ``"local"`` (the ``{env}`` of the guide's run names)."""
    if any(os.environ.get(v) for v in _COLAB_ENV_VARS) or "google.colab" in sys.modules:
        return "colab"
    try:
        if importlib.util.find_spec("google.colab") is not None:
            return "colab"
    except (ImportError, ValueError):  # no "google" package at all
        pass
    return "local"


def timestamp_now() -> str:
    return _dt.datetime.now().strftime("%Y%m%d_%H%M%S")


def run_name(kind: str, slug: str | None = None, env: str | None = None, timestamp: str | None = None) -> str:
    """``{env}_{slug}_training_{timestamp}`` or ``{env}_adversarial_experiments_{timestamp}``."""
    env = env or detect_env()
    timestamp = timestamp or timestamp_now()
    if kind == "training":
        if not slug:
            raise ValueError("a training run name needs the model slug (nonmono, mono, ...)")
        return f"{env}_{slug}_training_{timestamp}"
    if kind == "adversarial":
        return f"{env}_adversarial_experiments_{timestamp}"
    raise ValueError(f"unknown run kind {kind!r} (expected one of {', '.join(KINDS)})")


def run_tags(kind: str, slug: str | None = None) -> list[str]:
    if kind == "training":
        if not slug:
            raise ValueError("training tags need the model slug")
        return training_tags(slug)
    if kind == "adversarial":
        return list(ADVERSARIAL_TAGS)
    raise ValueError(f"unknown run kind {kind!r} (expected one of {', '.join(KINDS)})")


# --------------------------------------------------------------------------
# Mode resolution: is the user logged in? (no network)
# --------------------------------------------------------------------------

_DEFAULT_BASE_URL = "https://api.wandb.ai"
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


def _process_rank() -> int:
    """This process's rank under torchrun / ``accelerate launch`` (0 when not distributed)."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def resolve_mode(mode: str) -> str:
    """``online``, ``offline`` or ``disabled`` for a ``TrackArgs.mode``.

    Only rank 0 of a distributed launch tracks: the other ranks would each open a
    duplicate run of the same experiment.
    """
    if _process_rank() != 0:
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


def _warn(message: str) -> None:
    print(f"mono-s2s: warning: {message}", file=sys.stderr, flush=True)


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

    def __init__(self, args: TrackArgs, kind: str, slug: str | None, config: dict, out_dir: Path,
                 resume_id: str | None = None) -> None:
        self.enabled = False
        self.run_id: str | None = None
        self.sweep_run_id: str | None = None  # set when this run is a sweep agent's trial run
        self.run_dir: Path | None = None
        self.name = run_name(kind, slug)
        self.tags = run_tags(kind, slug)
        self.mode = resolve_mode(args.mode)
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
        try:
            import wandb

            out_dir.mkdir(parents=True, exist_ok=True)
            if role != "none" and Tracker._active == 0 and wandb.run is None:
                # wandb reads the environment once per session (setup); start a fresh one so that it
                # sees the variables as they are now (hidden or not), not as an earlier run saw them.
                wandb.teardown()
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
                    mode=self.mode,
                    id=resume_id,
                    resume="allow" if resume_id else None,
                    allow_val_change=True if resume_id else None,
                    reinit="create_new",
                    # quiet: only where the run is saved; the run's own files stay complete
                    # (console capture, requirements, system stats).
                    settings=wandb.Settings(quiet=True),
                )
        except Exception as exc:  # no network, bad key, broken install: carry on untracked
            _warn(f"wandb could not start ({_one_line(exc)}); tracking is off for this run")
            return
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
        _warn(f"wandb failed in {what} ({_one_line(exc)}); tracking is off for the rest of this run")
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
            _warn(f"wandb could not finish the run ({_one_line(exc)})")

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.finish(exit_code=1 if exc_type is not None else None)


# --------------------------------------------------------------------------
# Reading a run back (tests, notebook)
# --------------------------------------------------------------------------

def _wandb_executable() -> str:
    bin_dir = Path(sys.executable).parent
    for name in ("wandb", "wandb.exe"):
        if (bin_dir / name).is_file():
            return str(bin_dir / name)
    found = shutil.which("wandb")
    if not found:
        raise FileNotFoundError("the wandb command-line tool is not installed (next to python or on PATH)")
    return found


def _fold_media(item: dict) -> dict:
    """wandb stores a media value (table, image) as flat ``KEY._type``, ``KEY.path``, ... entries;
    fold them back under ``KEY`` so the keys read back are the keys that were logged."""
    bases = {k[: -len("._type")] for k in item if k.endswith("._type")}
    out: dict = {}
    for k, v in item.items():
        base = next((b for b in bases if k.startswith(b + ".")), None)
        if base is None:
            out[k] = v
        else:
            out.setdefault(base, {})[k[len(base) + 1:]] = v
    return out


def read_run(run_dir: Path) -> dict:
    """Parse a run's ``.wandb`` log with ``wandb leet inspect --json``.

    ``run_dir`` is a run folder (``.../offline-run-*``), its ``.wandb`` file, or a
    ``wandb`` folder (its latest run). Returns ``history_keys`` (every key of every
    history row, media folded to their logged key), ``summary`` and ``config`` (all
    updates merged, wandb's internal ``_wandb`` entry dropped), ``tags``, ``name``,
    ``project``, ``run_id``, ``job_type``, ``group``, ``sweep_id`` (set only on a sweep's
    trial run), ``artifacts`` (name, type, files, metadata),
    ``exit_code`` and the raw ``records``.
    """
    proc = subprocess.run([_wandb_executable(), "leet", "inspect", "--json", str(run_dir)],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"wandb leet inspect failed for {run_dir}: {detail}")
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.strip().startswith("{")]
    out: dict[str, Any] = {"history_keys": set(), "summary": {}, "config": {}, "tags": [], "name": None,
                           "project": None, "run_id": None, "job_type": None, "group": None, "sweep_id": None,
                           "artifacts": [], "exit_code": None,
                           "records": records}
    for rec in records:
        kind = rec.get("type")
        body = rec.get(kind) or {}
        if kind == "run":
            out["name"] = body.get("display_name")
            out["tags"] = list(body.get("tags") or [])
            out["project"] = body.get("project")
            out["run_id"] = body.get("run_id")
            out["job_type"] = body.get("job_type")
            out["group"] = body.get("run_group")
            out["sweep_id"] = body.get("sweep_id")
            out["config"].update((body.get("config") or {}).get("update") or {})
        elif kind == "config":
            out["config"].update(body.get("update") or {})
            for removed in body.get("remove") or []:
                out["config"].pop(removed.get("key") if isinstance(removed, dict) else removed, None)
        elif kind == "history":
            out["history_keys"].update(_fold_media(body.get("item") or {}))
        elif kind == "summary":
            out["summary"].update(_fold_media(body.get("update") or {}))
            for removed in body.get("remove") or []:
                out["summary"].pop(removed.get("key") if isinstance(removed, dict) else removed, None)
        elif kind == "artifact":
            meta = body.get("metadata")
            try:
                meta = json.loads(meta) if isinstance(meta, str) else (meta or {})
            except json.JSONDecodeError:
                pass
            files = [c.get("path") for c in (body.get("manifest") or {}).get("contents") or []]
            out["artifacts"].append({"name": body.get("name"), "type": body.get("type"), "files": files,
                                     "metadata": meta})
        elif kind == "exit":
            out["exit_code"] = body.get("exit_code", 0)
    out["config"].pop("_wandb", None)
    return out


__all__ = [
    "PROJECT", "TRAIN_BATCH_KEYS", "TRAIN_EPOCH_KEYS", "VAL_KEYS", "EPOCH_KEYS", "VAL_SAMPLES_TABLE",
    "TRAINING_SAMPLES_TABLE", "HOTFLIP_SAMPLE_IDX", "HOTFLIP_ROBUSTNESS_DELTA", "HOTFLIP_GRAD_NORM_RATIO",
    "HOTFLIP_DETAILED_TABLE", "HOTFLIP_SUMMARY_PREFIX", "HOTFLIP_SAMPLE_KEYS", "FINAL_SUMMARY_TABLE",
    "FINAL_GRADIENT_TABLE", "KEY_FINDINGS", "OVERALL_IMPROVEMENT", "OVERALL_P_VALUE", "OVERALL_SIGNIFICANT",
    "FINAL_OVERALL_IMPROVEMENT", "OVERALL_KEYS", "SEED_SLUGS", "TRAINING_TAGS", "ADVERSARIAL_TAGS",
    "BASE_TRAINING_TAGS", "hotflip_iteration_keys", "hotflip_model_keys", "hotflip_sample_keys",
    "hotflip_summary_key", "final_keys", "overall_keys", "training_tags", "run_tags", "detect_env",
    "run_name", "is_logged_in", "resolve_mode", "Tracker", "read_run", "SWEEP_ENV_VARS", "sweep_role",
    "hidden_sweep_env", "sweep_group",
]


def named(keys: Sequence[str], **values: Any) -> dict[str, Any]:
    """``{key: value}`` for exactly ``keys``, each value passed by the key's last path part.

    ``named(VAL_KEYS, loss=1.2, perplexity=3.3, ...)`` -> ``{"val/loss": 1.2, ...}``.
    Writers use this instead of spelling metric strings, and a missing or extra
    value is a bug caught at the first log call, not a silently absent chart.
    """
    out = {}
    for key in keys:
        short = key.rsplit("/", 1)[-1]
        if short not in values:
            raise KeyError(f"no value given for metric '{key}'")
        out[key] = values.pop(short)
    if values:
        raise KeyError(f"values for unknown metrics: {sorted(values)}")
    return out


ATTACKS = ("hotflip", "universal", "nes", "injection", "ood")


def attack_key(attack: str, name: str) -> str:
    """``{attack}/{name}``: a per-attack key shared by the models (``sample_idx``, ``robustness_delta``, ...)."""
    return f"{attack}/{name}"


def attack_model_key(attack: str, slug: str, name: str) -> str:
    """``{attack}/{slug}_{name}``: the HotFlip pattern of the guide, used by every attack."""
    return f"{attack}/{slug}_{name}"
