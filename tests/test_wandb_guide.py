"""WANDB_GUIDE.md against what the code really logs, and the sweep shipped with it.

* The guide's key tables (``| `key` | run | kind | unit | meaning |``) are parsed
  and their placeholders expanded (``{model}``, ``{pair}``, ``{attack}``, ``{rouge}``).
* Slow: the session's tiny experiment (conftest.py) writes the three offline runs;
  each run's history, summary, config and model artifacts, read back from the
  ``.wandb`` files, must be exactly the guide's keys, in both directions.
* Fast: the contract names of :mod:`mono_s2s.tracking` (built from the original
  notebook's guide) are all in our guide, with the run names, tags and project.
* ``sweeps/seeds.yaml``: its parameters are config keys; the installed wandb
  agent's own code turns its command into a command line that our CLI accepts.
* Sweep handling in :class:`~mono_s2s.tracking.Tracker`: with the variables
  ``wandb agent`` sets, the training runs stay ordinary runs and the adversarial
  run becomes the agent's trial run. Offline only: whether the W&B server then
  files the trial run under the sweep is not (cannot be) checked here.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from mono_s2s import tracking
from mono_s2s.attacks import ATTACKS
from mono_s2s.config import TrackArgs, build_config
from mono_s2s.evaluate import ROUGE_TYPES

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "WANDB_GUIDE.md"
SWEEP = ROOT / "sweeps" / "seeds.yaml"

# "seeds": the seed group's across-seed adversarial run (--seeds N), which logs only its own keys.
RUNS = ("training", "adversarial", "seeds")
KINDS = ("metric", "table", "image", "summary", "config", "artifact")
HISTORY_KINDS = {"metric", "table", "image"}
KEY_TABLE_HEADER = ["Key", "Run", "Kind", "Unit", "Meaning"]
# {model}: the run's slugs; {pair}: the headline comparison's two, whatever else was attacked.
FIXED_PLACEHOLDERS = {"attack": ATTACKS, "rouge": ROUGE_TYPES, "pair": tracking.SEED_SLUGS}


# -- the guide ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    key: str  # a pattern, e.g. "{attack}/{model}_degradation"
    run: str
    kind: str
    line: int


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse_guide(text: str) -> list[Row]:
    """Every row of every key table (header ``Key | Run | Kind | Unit | Meaning``); a malformed row is an error."""
    rows, in_key_table = [], False
    for n, line in enumerate(text.splitlines(), 1):
        if not line.startswith("|"):
            in_key_table = False
            continue
        cells = _cells(line)
        if cells == KEY_TABLE_HEADER:
            in_key_table = True
            continue
        if not in_key_table or set(line.replace("|", "").strip()) <= set("-: "):
            continue
        assert len(cells) == len(KEY_TABLE_HEADER), f"WANDB_GUIDE.md:{n}: expected 5 cells: {line}"
        m = re.fullmatch(r"`([^`]+)`", cells[0])
        assert m, f"WANDB_GUIDE.md:{n}: the first cell must be one key in backticks: {line}"
        assert cells[1] in RUNS, f"WANDB_GUIDE.md:{n}: run must be one of {RUNS}: {line}"
        assert cells[2] in KINDS, f"WANDB_GUIDE.md:{n}: kind must be one of {KINDS}: {line}"
        rows.append(Row(m.group(1), cells[1], cells[2], n))
    return rows


def expand(pattern: str, slugs) -> set[str]:
    """The concrete keys a pattern stands for: one per combination of its placeholders' values."""
    names = re.findall(r"\{(\w+)\}", pattern)
    choices = {"model": tuple(slugs), **FIXED_PLACEHOLDERS}
    unknown = set(names) - set(choices)
    assert not unknown, f"unknown placeholder(s) {sorted(unknown)} in {pattern!r}"
    assert len(names) == len(set(names)), f"a placeholder is repeated in {pattern!r}"
    keys = set()
    for combo in itertools.product(*(choices[n] for n in names)):
        key = pattern
        for name, value in zip(names, combo):
            key = key.replace("{" + name + "}", value)
        keys.add(key)
    return keys


def guide_keys(rows: list[Row], run: str, kinds, slugs) -> set[str]:
    return set().union(*(expand(r.key, slugs) for r in rows if r.run == run and r.kind in kinds))


@pytest.fixture(scope="module")
def guide_text() -> str:
    return GUIDE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rows(guide_text) -> list[Row]:
    return parse_guide(guide_text)


def test_guide_key_tables_parse(rows):
    assert len(rows) > 50
    seen = {}
    for r in rows:
        assert (r.key, r.run) not in seen, f"{r.key} ({r.run}) listed twice: lines {seen[(r.key, r.run)]} and {r.line}"
        seen[(r.key, r.run)] = r.line
        expand(r.key, tracking.SEED_SLUGS)  # placeholders are known


def test_parser_rejects_malformed_rows():
    header = "| Key | Run | Kind | Unit | Meaning |\n|---|---|---|---|---|\n"
    assert parse_guide(header + "| `a/b` | training | metric | nats | fine |\n") == [Row("a/b", "training", "metric", 3)]
    for bad in ("| a/b | training | metric | nats | no backticks |", "| `a/b` | trainig | metric | nats | typo |",
                "| `a/b` | training | number | nats | unknown kind |", "| `a/b` | training | metric |"):
        with pytest.raises(AssertionError):
            parse_guide(header + bad + "\n")


def test_guide_holds_every_contract_name(rows):
    """Every name tracking.py took from the original guide is documented, in the right run, with the right kind."""
    def have(run, kinds):
        return guide_keys(rows, run, kinds, tracking.SEED_SLUGS)

    training_metrics = (set(tracking.TRAIN_BATCH_KEYS) | set(tracking.TRAIN_EPOCH_KEYS) | set(tracking.VAL_KEYS)
                        | set(tracking.EPOCH_KEYS))
    assert training_metrics - have("training", {"metric"}) == set()
    assert {tracking.VAL_SAMPLES_TABLE, tracking.TRAINING_SAMPLES_TABLE} <= have("training", {"table"})

    adversarial_metrics = set(tracking.HOTFLIP_SAMPLE_KEYS)
    for slug in tracking.SEED_SLUGS:
        adversarial_metrics |= set(tracking.hotflip_iteration_keys(slug))
    for attack in ATTACKS:
        adversarial_metrics |= set(tracking.final_keys(attack))
    assert adversarial_metrics - have("adversarial", {"metric"}) == set()
    assert {tracking.HOTFLIP_DETAILED_TABLE, tracking.FINAL_SUMMARY_TABLE,
            tracking.FINAL_GRADIENT_TABLE} <= have("adversarial", {"table"})
    assert tracking.FIGURE_KEY in have("adversarial", {"image"})
    assert (set(tracking.OVERALL_KEYS) | {tracking.KEY_FINDINGS, tracking.FINAL_OVERALL_IMPROVEMENT}
            ) - have("adversarial", {"summary"}) == set()
    assert any(k.startswith(tracking.HOTFLIP_SUMMARY_PREFIX) for k in have("adversarial", {"metric"}))


def test_guide_documents_the_curve_keys(rows):
    """Issue 13's curve tables and figure: the keys the adversarial run logs for them are in the guide."""
    assert {tracking.curves_table_key(a) for a in ATTACKS} <= guide_keys(rows, "adversarial", {"table"},
                                                                          tracking.SEED_SLUGS)
    assert tracking.CURVES_FIGURE_KEY in guide_keys(rows, "adversarial", {"image"}, tracking.SEED_SLUGS)


def test_the_across_seed_run_logs_exactly_the_guides_seed_keys(rows, tmp_path):
    """--seeds N: what report.aggregate_seeds logs to the group's run is the guide's "seeds" rows, both ways."""
    import json as _json

    from mono_s2s import report
    from mono_s2s.results import RESULTS_FILE
    from test_report import _results

    class Recorder:
        def __init__(self):
            self.kinds: dict[str, str] = {}

        def log_table(self, key, columns, rows):
            self.kinds[key] = "table"

        def summary(self, values):
            self.kinds.update({k: "summary" for k in values})

    reports = []
    for k in range(2):
        (tmp_path / f"seed_{k}" / "results").mkdir(parents=True)
        (tmp_path / f"seed_{k}" / "results" / RESULTS_FILE).write_text(_json.dumps(_results(seed=k)))
        reports.append(report.build(tmp_path / f"seed_{k}", n_boot=20, quiet=True))
    rec = Recorder()
    report.aggregate_seeds(tmp_path, reports, tracker=rec)
    documented = {r.key: r.kind for r in rows if r.run == "seeds"}
    assert rec.kinds == documented


def test_guide_names_project_runs_tags_and_job_types(guide_text):
    assert f"`{tracking.PROJECT}`" in guide_text and f"**`{TrackArgs().project}`**" in guide_text
    assert f"`{tracking.run_name('training', '{slug}', env='{env}', timestamp='{timestamp}')}`" in guide_text
    assert f"`{tracking.run_name('adversarial', env='{env}', timestamp='{timestamp}')}`" in guide_text
    for slug in tracking.SEED_SLUGS:
        assert f"`{tracking.run_name('training', slug, env='{env}', timestamp='{timestamp}')}`" in guide_text
    for tags in [*tracking.TRAINING_TAGS.values(), tracking.ADVERSARIAL_TAGS, tracking.training_tags("{slug}")]:
        assert f"`{json.dumps(tags)}`" in guide_text, tags
    for kind in tracking.KINDS:  # the job types
        assert f"| `{kind}` |" in guide_text
    assert "`colab`" in guide_text and "`local`" in guide_text  # the values of {env}


# -- the three offline runs of the session's tiny experiment ----------------------------------------------------

@pytest.fixture(scope="module")
def logged(tiny_experiment):
    """``{"nonmono": run, "mono": run, "adversarial": run}`` as :func:`tracking.read_run` reads them back.

    The runs of conftest.py's ``tiny_experiment`` (one ``mono-s2s run``, wandb offline): this
    test only needs every key to be logged once.
    """
    return tiny_experiment.runs


def differences(rows: list[Row], run_kind: str, slugs, run: dict) -> list[str]:
    """What the guide says this run logs vs what it logged, both ways; [] when they agree."""
    problems = []
    history = {k for k in run["history_keys"] if not k.startswith("_")}
    summary = {k for k in run["summary"] if not k.startswith("_")}

    def compare(what: str, documented: set[str], actual: set[str]) -> None:
        problems.extend(f"{what}: in the guide but not logged: {k}" for k in sorted(documented - actual))
        problems.extend(f"{what}: logged but not in the guide: {k}" for k in sorted(actual - documented))

    compare("history (metric/table/image)", guide_keys(rows, run_kind, HISTORY_KINDS, slugs), history)
    compare("run summary only", guide_keys(rows, run_kind, {"summary"}, slugs), summary - history)
    compare("config", guide_keys(rows, run_kind, {"config"}, slugs), set(run["config"]))
    compare("model artifacts", guide_keys(rows, run_kind, {"artifact"}, slugs),
            {a["name"] for a in run["artifacts"] if a["type"] == "model"})
    media = {"table": "table-file", "image": "image-file"}
    for r in rows:
        if r.run != run_kind or r.kind not in ("metric", *media):
            continue
        for key in expand(r.key, slugs) & summary:
            value = run["summary"][key]
            found = value.get("_type") if isinstance(value, dict) else None
            if found != media.get(r.kind):
                problems.append(f"{key}: the guide says {r.kind}, wandb stored {found or type(value).__name__}")
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("slug", tracking.SEED_SLUGS)
def test_training_run_logs_exactly_the_guides_keys(logged, rows, slug):
    run = logged[slug]
    problems = differences(rows, "training", [slug], run)
    assert not problems, f"{run['name']}: WANDB_GUIDE.md and the run disagree:\n" + "\n".join(problems)


@pytest.mark.slow
def test_adversarial_run_logs_exactly_the_guides_keys(logged, rows, tiny_experiment):
    run = logged["adversarial"]
    # Every attacked model: the seed's pair and the quality-matched arm built from their snapshots.
    slugs = tiny_experiment.results["models"]
    assert slugs[:2] == list(tracking.SEED_SLUGS) and slugs[2:] in (["nonmono_matched"], ["mono_matched"]), slugs
    problems = differences(rows, "adversarial", slugs, run)
    assert not problems, f"{run['name']}: WANDB_GUIDE.md and the run disagree:\n" + "\n".join(problems)


@pytest.mark.slow
def test_runs_read_back_with_the_guides_names_tags_and_job_types(logged):
    def pattern(name: str) -> str:
        return (re.escape(name).replace(re.escape("{env}"), "(colab|local)")
                .replace(re.escape("{timestamp}"), r"\d{8}_\d{6}"))

    for slug in tracking.SEED_SLUGS:
        run = logged[slug]
        assert re.fullmatch(pattern(f"{{env}}_{slug}_training_{{timestamp}}"), run["name"]), run["name"]
        assert (run["tags"], run["job_type"], run["project"]) == (tracking.TRAINING_TAGS[slug], "training",
                                                                  tracking.PROJECT)
        assert run["sweep_id"] is None and run["exit_code"] == 0
    run = logged["adversarial"]
    assert re.fullmatch(pattern("{env}_adversarial_experiments_{timestamp}"), run["name"]), run["name"]
    assert (run["tags"], run["job_type"], run["project"]) == (tracking.ADVERSARIAL_TAGS, "adversarial",
                                                              tracking.PROJECT)
    assert run["sweep_id"] is None and run["exit_code"] == 0


# -- the sweep config -------------------------------------------------------------------------------------------

def _sweep_config() -> dict:
    # Loaded the way `wandb sweep sweeps/seeds.yaml` loads it.
    from wandb.sdk.launch.sweeps.utils import load_sweep_config

    config = load_sweep_config(str(SWEEP))
    assert config, "wandb could not load sweeps/seeds.yaml"
    return config


def _grid(config: dict) -> list[dict]:
    """Every combination of the parameters' values, in wandb's ``{"name": {"value": v}}`` form."""
    params = config["parameters"]
    names = list(params)
    return [{n: {"value": v} for n, v in zip(names, combo)}
            for combo in itertools.product(*(params[n]["values"] for n in names))]


def _preset_of(command: list) -> str:
    script = " ".join(str(c) for c in command)
    m = re.search(r"--preset\s+(\S+)", script)
    assert m, "the sweep command names no --preset"
    return m.group(1)


def test_sweep_is_a_grid_over_config_keys_charting_a_documented_summary_key(rows):
    from wandb.sdk.launch.sweeps.utils import create_sweep_command_args

    config = _sweep_config()
    assert config["method"] == "grid"  # see the guide: the sweep measures, it does not optimise
    assert config["project"] == tracking.PROJECT
    assert config["metric"] == {"name": tracking.OVERALL_IMPROVEMENT, "goal": "maximize"}
    assert config["metric"]["name"] in guide_keys(rows, "adversarial", {"summary"}, tracking.SEED_SLUGS)
    assert set(config["parameters"]) == {"train.seed", "train.lr", "model.dropout"}
    preset = _preset_of(config["command"])
    for point in _grid(config):
        # The words the agent passes (``${args_no_hyphens}``), applied as our CLI applies --set.
        words = create_sweep_command_args({"args": point})["args_no_hyphens"]
        cfg = build_config(preset, overrides=words)
        for name, value in point.items():
            section, field = name.split(".")
            assert getattr(getattr(cfg, section), field) == value["value"], name


def _macros_the_installed_agent_fills() -> set[str]:
    """Macro names of the installed wandb: the argument formats plus what ``Agent._command_run`` adds."""
    import wandb.wandb_agent
    from wandb.sdk.launch.sweeps.utils import create_sweep_command_args

    names = set(create_sweep_command_args({"args": {"x": {"value": 1}}}))
    source = Path(wandb.wandb_agent.__file__).read_text(encoding="utf-8")
    names |= set(re.findall(r'sweep_vars\["(\w+)"\]\s*=', source))
    return names


@pytest.mark.skipif(os.name == "nt" or not shutil.which("bash") or not Path("/usr/bin/env").exists(),
                    reason="the sweep command runs under bash (Linux, macOS)")
def test_sweep_command_expands_into_a_valid_mono_s2s_command_line(tmp_path, monkeypatch):
    """The installed agent's own code builds the trial's argv; a stand-in python receives it."""
    import wandb.wandb_agent as wandb_agent

    config = _sweep_config()
    macros = [c[2:-1] for c in config["command"] if str(c).startswith("${") and str(c).endswith("}")]
    assert macros and set(macros) <= _macros_the_installed_agent_fills(), macros
    assert "{" not in "".join(str(c) for c in config["command"] if not str(c).startswith("${")), \
        "braces in a command word: the agent would not expand them, and bash would"

    started = {}

    class Recorder:  # stands in for wandb_agent.AgentProcess: records what would be started
        def __init__(self, env=None, command=None, **_):
            started.update(env=env, command=command)

    monkeypatch.setattr(wandb_agent, "AgentProcess", Recorder)
    monkeypatch.setenv("WANDB_SWEEP_ID", "swp123")  # set by `wandb agent` before it asks for trials
    for var in ("WANDB_RUN_ID", "WANDB_SWEEP_PARAM_PATH"):
        # The agent sets these in os.environ. setenv first: monkeypatch restores only what it recorded,
        # and a delenv of an absent variable records nothing, so the agent's values would leak.
        monkeypatch.setenv(var, "unset")
        monkeypatch.delenv(var)
    agent = wandb_agent.Agent(api=None, queue=None, sweep_id="swp123")
    agent._sweep_command = list(config["command"])
    point = _grid(config)[-1]
    agent._command_run({"run_id": "trial42", "program": None, "args": point})
    argv = started["command"]
    assert argv[0] == "/usr/bin/env" and not any(str(a).startswith("${") for a in argv), argv

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python"
    fake.write_text("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n")
    fake.chmod(0o755)
    env = {**started["env"], "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    args = proc.stdout.splitlines()
    assert args[:2] == ["-m", "mono_s2s"], args

    from mono_s2s.cli import build_parser

    ns = build_parser().parse_args(args[2:])
    assert (ns.verb, ns.wandb, ns.seeds) == ("run", "online", None)
    assert Path(ns.out) == Path("outputs/sweeps/swp123/trial42")  # one folder per trial
    cfg = build_config(ns.preset, ns.config, ns.overrides)
    assert cfg.preset == "small"
    assert (cfg.train.seed, cfg.train.lr, cfg.model.dropout) == tuple(point[k]["value"] for k in
                                                                     ("train.seed", "train.lr", "model.dropout"))


# -- sweep handling in Tracker ----------------------------------------------------------------------------------

@pytest.fixture
def agent_env(tmp_path, monkeypatch) -> dict:
    """The variables `wandb agent` gives a trial (see tracking.SWEEP_ENV_VARS), with a fresh trial run id."""
    params = tmp_path / "sweep-params.yaml"
    params.write_text("train.seed:\n  value: 3\n")  # what the agent writes: the trial's swept values
    env = {"WANDB_SWEEP_ID": "swp123", "WANDB_RUN_ID": "t" + uuid.uuid4().hex[:7],
           "WANDB_SWEEP_PARAM_PATH": str(params), "WANDB_PROJECT": "sweep-project"}
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    return env


def test_plain_wandb_init_puts_every_run_of_a_trial_under_the_agents_id(agent_env, tmp_path):
    """The problem the handling solves, shown on the installed wandb (if this starts failing, wandb changed)."""
    import wandb

    ids = []
    for i in range(2):
        run = wandb.init(project="p", id=f"mine{i}", dir=str(tmp_path), mode="offline", reinit="create_new",
                         settings=wandb.Settings(quiet=True))
        ids.append((run.id, run.sweep_id))
        run.finish()
    wandb.teardown()
    assert ids == [(agent_env["WANDB_RUN_ID"], "swp123")] * 2


def test_under_an_agent_training_runs_stay_apart_and_the_adversarial_run_is_the_trial(agent_env, tmp_path):
    import wandb

    # A wandb session already set up in this process (a notebook, wandb.login()) has read the agent's
    # variables; hiding them in os.environ alone would not reach it.
    wandb.setup()
    opened = []
    for kind, slug in (("training", "nonmono"), ("training", "mono"), ("adversarial", None),
                       ("adversarial", None)):  # a second adversarial run: what --seeds 2 would open
        with tracking.Tracker(TrackArgs(mode="offline"), kind, slug, config={"train": {"seed": 3}},
                              out_dir=tmp_path / "out") as t:
            t.summary({tracking.OVERALL_IMPROVEMENT: 1.0})
        assert {v: os.environ.get(v) for v in agent_env} == agent_env, "the agent's variables were not restored"
        opened.append((t.sweep_run_id, tracking.read_run(t.run_dir)))

    trial = agent_env["WANDB_RUN_ID"]
    (_, nonmono), (_, mono), (claimed, adversarial), (again, second) = opened
    assert claimed == trial and again is None
    assert adversarial["run_id"] == trial and adversarial["sweep_id"] == "swp123"
    assert adversarial["config"].get("train.seed") == 3  # the swept value, as wandb records it for a trial
    for run in (nonmono, mono, second):
        assert run["run_id"] != trial and run["sweep_id"] is None
        assert "train.seed" not in run["config"]
    assert len({r["run_id"] for _, r in opened}) == 4
    assert {r["group"] for _, r in opened} == {f"sweep-swp123-{trial}"}
    assert {r["project"] for _, r in opened} == {"sweep-project"}
    assert [r["name"].split("_", 1)[1].rsplit("_", 2)[0] for _, r in opened] == [
        "nonmono_training", "mono_training", "adversarial_experiments", "adversarial_experiments"]


def test_sweep_role_and_hidden_env(agent_env, monkeypatch):
    trial = agent_env["WANDB_RUN_ID"]
    assert tracking.sweep_role("adversarial", None) == "sweep"
    assert tracking.sweep_role("adversarial", trial) == "apart"  # already claimed in this process
    assert tracking.sweep_role("adversarial", "an-earlier-trial") == "sweep"
    assert tracking.sweep_role("training", None) == "apart"
    assert tracking.sweep_group() == f"sweep-swp123-{trial}"
    with pytest.raises(RuntimeError):
        with tracking.hidden_sweep_env(True):
            assert not any(v in os.environ for v in tracking.SWEEP_ENV_VARS)
            raise RuntimeError("wandb.init failed")
    assert all(os.environ[v] == agent_env[v] for v in tracking.SWEEP_ENV_VARS)
    with tracking.hidden_sweep_env(False):
        assert os.environ["WANDB_RUN_ID"] == trial
    monkeypatch.delenv("WANDB_SWEEP_ID")
    assert tracking.sweep_role("adversarial", None) == tracking.sweep_role("training", None) == "none"
    assert tracking.sweep_group() is None
