"""Per-arm learning rates: ``train.variant_lr`` in training and in the reuse guard, and ``mono-s2s tune``."""

from __future__ import annotations

import csv
import json

import pytest

from mono_s2s.checkpoint import CONFIG_FILE
from mono_s2s.config import build_config, save_yaml
from mono_s2s.errors import UserError
from mono_s2s.train import check_reusable

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# A tune small enough for a test: 32 training examples in batches of 16 (2 optimizer steps per epoch).
TINY = ["model.d_model=16", "model.d_ff=32", "model.n_heads=2", "model.vocab_size=150", "train.batch_size=16",
        "train.eval_batch_size=8", "train.num_beams=1", "train.save_every_steps=1", "data.n_train=32",
        "data.n_validation=8", "data.n_test=4", "data.max_source_tokens=64", "data.max_summary_tokens=16"]


# -- the per-variant learning rate in training --------------------------------------------------------------------


def _saved(tmp_path, *overrides: str):
    latest = tmp_path / "checkpoints" / "mono" / "latest"
    latest.mkdir(parents=True, exist_ok=True)
    save_yaml(build_config("tiny", overrides=list(overrides)), latest / CONFIG_FILE)
    return latest


def test_another_variants_lr_does_not_invalidate_a_checkpoint_but_its_own_does(tmp_path):
    latest = _saved(tmp_path, "train.variant_lr=monotonic=0.03")
    # Another arm's learning rate added or changed, or the shared lr that this arm does not use: reusable.
    check_reusable(latest, build_config("tiny", overrides=["train.variant_lr=monotonic=0.03,baseline=0.002"]),
                   "monotonic", 42)
    check_reusable(latest, build_config("tiny", overrides=["train.variant_lr=monotonic=3e-2", "train.lr=0.3"]),
                   "monotonic", 42)
    # Its own learning rate changed, or dropped back to train.lr: refused, naming the setting.
    for overrides, now in ((["train.variant_lr=monotonic=0.01,baseline=0.01"], "0.01"), ([], "0.02"),
                           (["train.variant_lr="], "0.01")):  # the preset's 0.02; cleared: train.lr
        with pytest.raises(UserError, match=rf"train\.variant_lr\[monotonic\]=0\.03, not {now}; use another --out"):
            check_reusable(latest, build_config("tiny", overrides=overrides), "monotonic", 42)


def test_a_checkpoint_from_before_variant_lr_is_reused_at_the_same_learning_rate(tmp_path):
    import yaml

    latest = _saved(tmp_path)
    old = yaml.safe_load((latest / CONFIG_FILE).read_text())
    del old["train"]["variant_lr"]  # written before the key existed
    (latest / CONFIG_FILE).write_text(yaml.safe_dump(old))
    check_reusable(latest, build_config("tiny", overrides=["train.variant_lr=monotonic=0.01,baseline=0.1"]),
                   "monotonic", 42)
    with pytest.raises(UserError, match=r"train\.lr=0\.01, not 0\.001"):
        check_reusable(latest, build_config("tiny", overrides=["train.variant_lr=", "train.lr=1e-3"]), "monotonic", 42)


def test_the_trainer_optimises_each_variant_with_its_own_learning_rate(tmp_path):
    from mono_s2s.data.synthetic import generate_corpus
    from mono_s2s.tokenizer import train_tokenizer
    from mono_s2s.train import Trainer

    corpus = generate_corpus(0, 32, 4, 2)
    tok = train_tokenizer(corpus["train"], 150)
    cfg = build_config("tiny", overrides=[*TINY, "train.variant_lr=monotonic=0.0123", "train.lr=0.002"])
    for variant, lr in (("monotonic", 0.0123), ("baseline", 0.002)):
        trainer = Trainer(cfg, variant, corpus, tok, tmp_path, progress=False)
        assert trainer.scheduler.base_lrs == [lr] * len(trainer.scheduler.base_lrs)


def test_the_training_results_and_line_say_each_arms_learning_rate(tiny_experiment):
    for variant, slug in (("baseline", "nonmono"), ("monotonic", "mono")):
        lr = tiny_experiment.cfg.train.lr_for(variant)
        done = json.loads((tiny_experiment.out / "results" / f"training_{slug}.json").read_text())
        assert done["lr"] == lr
        assert f"train {variant}: lr {lr:g}, " in tiny_experiment.stdout


# -- mono-s2s tune ------------------------------------------------------------------------------------------------


def test_the_best_learning_rate_is_the_argmin_and_a_diverged_trial_never_wins():
    from mono_s2s.tune import Trial, best_per_variant

    def t(variant, lr, nll):
        return Trial(variant, variant, lr, nll, 1, nll, None, 1, 2, 0.1, diverged=None if nll else "non-finite loss")

    trials = [t("baseline", 1e-3, 2.0), t("baseline", 3e-3, 1.5), t("baseline", 1e-2, None),
              t("monotonic", 1e-2, 3.0), t("monotonic", 1e-3, 3.0), t("monotonic", 3e-3, 3.5),
              t("init_only", 1e-3, None)]
    best = best_per_variant(trials)
    assert {v: b.lr for v, b in best.items()} == {"baseline": 3e-3, "monotonic": 1e-3}  # a tie: the smaller lr
    assert "init_only" not in best


def test_default_grid_is_each_variants_own_lr_and_a_factor_of_3_either_side():
    from mono_s2s.tune import make_plan

    cfg = build_config("tiny", overrides=["train.lr=0.005", "train.variant_lr=monotonic=0.03"])
    plan = make_plan(cfg)
    assert plan.grid == {"baseline": (0.00167, 0.005, 0.015), "monotonic": (0.01, 0.03, 0.09)}
    assert plan.epochs == cfg.train.epochs and plan.seed == cfg.train.seed
    assert make_plan(cfg, "init_only", "3e-3, 1e-3,3e-3", 2).grid == {"init_only": (1e-3, 3e-3)}


class _KillAt:
    """Wraps a trial's tracker: a kill (KeyboardInterrupt) when optimizer step ``step`` is logged."""

    def __init__(self, inner, step: int) -> None:
        self.inner, self.step, self.run_id = inner, step, None

    def log(self, metrics, step=None) -> None:
        if step == self.step:
            raise KeyboardInterrupt
        self.inner.log(metrics, step)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_tiny_tune_writes_the_table_picks_the_argmin_and_a_killed_tune_resumes(mono, tmp_path, monkeypatch):
    """2 variants x 3 learning rates, one epoch each. The first run is killed inside its 4th trial; the same
    command then trains only the trials not finished (the 4th from its own checkpoint), and a third trains
    nothing and writes the same table."""
    from mono_s2s.train import Trainer

    out = tmp_path / "out"
    argv = ["tune", "--set", *TINY, "--variants", "baseline,monotonic", "--lrs", "1e-3,3e-3,1e-2", "--epochs", "1",
            "--out", str(out)]
    real_fit, fits = Trainer.fit, []

    def fit(self):
        fits.append((self.variant, self.optimizer.param_groups[0]["initial_lr"]))
        if len(fits) == 4:
            self.tracker = _KillAt(self.tracker, step=2)  # after step 1's checkpoint (save_every_steps=1)
        return real_fit(self)

    monkeypatch.setattr(Trainer, "fit", fit)
    r = mono(*argv)
    assert r.returncode == 130, r.stderr
    assert fits == [("baseline", 1e-3), ("baseline", 3e-3), ("baseline", 1e-2), ("monotonic", 1e-3)]
    trials = out / "trials"
    assert sorted(p.parent.name for p in trials.glob("*/trial.json")) == [
        "nonmono_lr0.001_ep1", "nonmono_lr0.003_ep1", "nonmono_lr0.01_ep1"]
    assert (trials / "mono_lr0.001_ep1" / "checkpoints" / "mono" / "latest").is_dir()
    assert not (out / "tune.json").exists()

    fits.clear()
    r = mono(*argv)
    assert r.returncode == 0, r.stderr
    assert fits == [("monotonic", 1e-3), ("monotonic", 3e-3), ("monotonic", 1e-2)]
    assert "train monotonic: resuming" in r.stdout and r.stdout.count("(done before)") == 3
    assert not list(trials.glob("*/checkpoints"))  # a finished trial keeps its numbers, not its weights

    data = json.loads((out / "tune.json").read_text())
    rows = data["trials"]
    assert [(row["variant"], row["lr"]) for row in rows] == [(v, lr) for v in ("baseline", "monotonic")
                                                             for lr in (1e-3, 3e-3, 1e-2)]
    assert {row["steps"] for row in rows} == {2} and not any(row["diverged"] for row in rows)  # one budget
    for variant in ("baseline", "monotonic"):
        mine = [row for row in rows if row["variant"] == variant]
        argmin = min(mine, key=lambda row: row["best_val_nll"])
        assert data["best"][variant]["lr"] == argmin["lr"]
        assert [row["best"] for row in mine] == [row is argmin for row in mine]
    with (out / "tune.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert [(row["variant"], float(row["lr"]), row["best"]) for row in table] == [
        (row["variant"], row["lr"], str(row["best"])) for row in rows]
    apply = data["apply"]
    assert f"apply: {apply}" in r.stdout
    applied = build_config("tiny", overrides=[apply.removeprefix("--set ")]).train
    assert {v: applied.lr_for(v) for v in data["best"]} == {v: b["lr"] for v, b in data["best"].items()}
    assert r.stdout.count(" * ") == 2  # one best marker per variant in the printed table

    fits.clear()
    before = (out / "tune.json").read_text()
    r = mono(*argv)
    assert r.returncode == 0 and fits == [] and r.stdout.count("(done before)") == 6
    assert (out / "tune.json").read_text() == before


def test_a_diverged_trial_is_recorded_not_chosen_and_not_rerun(tmp_path, monkeypatch):
    from mono_s2s.data.synthetic import generate_corpus
    from mono_s2s.pipeline import Prepared
    from mono_s2s.tokenizer import train_tokenizer
    from mono_s2s.train import Trainer, TrainingDiverged
    from mono_s2s.tune import make_plan, tune

    corpus = generate_corpus(0, 32, 4, 2)
    prepared = Prepared(corpus, train_tokenizer(corpus["train"], 150), tmp_path / "tokenizer")
    cfg = build_config("tiny", overrides=TINY)
    real_fit, fits = Trainer.fit, []

    def fit(self):
        fits.append(self.args.lr)
        if self.args.lr == 1.0:
            raise TrainingDiverged(f"non-finite loss (nan) at step 1 of {self.variant}; no checkpoint was written")
        return real_fit(self)

    monkeypatch.setattr(Trainer, "fit", fit)
    plan = make_plan(cfg, "baseline", "1e-3,1", 1)
    result = tune(cfg, prepared, tmp_path, plan, progress=False)
    assert fits == [1e-3, 1.0]
    diverged = result.trials[1]
    assert diverged.best_val_nll is None and diverged.diverged.startswith("non-finite loss")
    assert result.best["baseline"].lr == 1e-3 and result.edge == {"baseline": "smallest"}
    again = tune(cfg, prepared, tmp_path, plan, progress=False)
    assert fits == [1e-3, 1.0] and again.trials == result.trials


def test_trials_left_by_other_settings_are_refused_before_anything_is_trained(tmp_path):
    import dataclasses

    from mono_s2s.tune import TRIAL_FILE, Trial, _trained_with, check_trials, make_plan, trial_config, trial_dir

    cfg = build_config("tiny", overrides=TINY)
    plan = make_plan(cfg, "baseline", "1e-3", 1)
    folder = trial_dir(tmp_path, "baseline", 1e-3, 1)
    folder.mkdir(parents=True)
    other = trial_config(build_config("tiny", overrides=[*TINY, "model.dropout=0.2"]), "baseline", 1e-3, 1)
    (folder / TRIAL_FILE).write_text(json.dumps({"trial": {}, "config": _trained_with(other)}))
    with pytest.raises(UserError, match="not a trial record"):
        check_trials(cfg, tmp_path, plan)
    trial = Trial("baseline", "nonmono", 1e-3, 5.0, 1, 5.0, 5.1, 1, 2, 1.0)
    (folder / TRIAL_FILE).write_text(json.dumps({"trial": dataclasses.asdict(trial), "config": _trained_with(other)}))
    with pytest.raises(UserError, match=r"model\.dropout=0\.2, not 0\.0; use another --out"):
        check_trials(cfg, tmp_path, plan)
    check_trials(build_config("tiny", overrides=[*TINY, "model.dropout=0.2", "train.eval_batch_size=4"]),
                 tmp_path, plan)  # the same settings (speed-only ones aside): read back


def _files(folder):
    return sorted(folder.rglob("*"))


@pytest.mark.parametrize("args, needle", [
    (["--lrs", ""], "--lrs"),
    (["--lrs", " , "], "--lrs"),
    (["--lrs", "1e-3,0"], "--lrs"),
    (["--lrs=-1e-3"], "--lrs"),
    (["--lrs", "1e-3,inf"], "--lrs"),
    (["--lrs", "fast"], "--lrs"),
    (["--variants", "baseline,mono"], "--variants"),
    (["--variants", ","], "--variants"),
    (["--epochs", "0"], "--epochs"),
    (["--set", "train.variant_lr=mono=0.01"], "train.variant_lr"),
])
def test_tune_mistakes_print_one_line_and_exit_2(mono, tmp_path, args, needle):
    r = mono("tune", *args, "--out", str(tmp_path / "out"))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mono-s2s: error:") and needle in lines[0], r.stderr
    assert _files(tmp_path) == []  # refused before any data, tokenizer or trial was written
