"""The quality-matched comparator arm (mono_s2s.matched): snapshots, the choice, the arm, its report.

* The choice on synthetic validation curves (pure): the stronger arm is the source, the closest snapshot
  wins, the gap and "close match" are what they say, a finer (nested) interval never widens the gap.
* Snapshots in a real (tiny) training run: where and when they are taken, their validation NLL is
  ``Trainer.validate``'s, they do not change the trained weights, and a killed run resumes keeping the
  snapshots made up to its checkpoint, with no duplicates, ending with the same snapshots as an
  uninterrupted run.
* Bad input: a matched arm asked for without its pair, an interval that cannot bracket: exit 2, one line
  naming the setting, nothing trained.
* The arm in the session's tiny experiment: a checkpoint folder that loads and holds the snapshot's
  weights, scored, attacked, recorded; reused when run again.
* The report: the equal-quality comparison with the headline's statistics, and "No close match" whenever
  the gap is over 5 %.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file
from scipy import stats as sps

from mono_s2s import matched, report
from mono_s2s.attacks import ATTACKS
from mono_s2s.attacks.common import AttackRecord
from mono_s2s.cli import main
from mono_s2s.config import build_config
from mono_s2s.errors import UserError
from mono_s2s.matched import MATCH_TOLERANCE, Snapshot, choose_match, snapshot_path
from mono_s2s.results import RESULTS_FILE, SCHEMA_VERSION, load_results
from mono_s2s.train import STATE_FILE, Trainer, read_state

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PAIR = ("nonmono", "mono")


# --- the choice (pure) ------------------------------------------------------------------------------------------

def _curve(steps, start=7.5, floor=1.2, rate=0.03) -> list[Snapshot]:
    """A validation curve falling from ``start`` towards ``floor``, one snapshot per step in ``steps``."""
    return [Snapshot(s, 1 + s // 100, floor + (start - floor) * float(np.exp(-rate * s))) for s in steps]


def test_the_stronger_arms_snapshot_closest_to_the_weaker_arms_best_is_chosen():
    snaps = _curve(range(10, 301, 10))
    best = {"nonmono": min(s.val_loss for s in snaps), "mono": 2.3}
    m = choose_match(PAIR, best, {"nonmono": snaps, "mono": _curve(range(10, 301, 10), floor=2.3)})
    closest = min(snaps, key=lambda s: abs(s.val_loss - 2.3))
    assert (m.source, m.weaker, m.slug, m.step, m.val_loss) == ("nonmono", "mono", "nonmono_matched", closest.step,
                                                                closest.val_loss)
    assert m.target == 2.3 and m.gap == pytest.approx(abs(closest.val_loss - 2.3) / 2.3)
    assert m.bracketed and m.snapshots == len(snaps) and m.source_best == best["nonmono"]
    assert m.comparison == ("nonmono_matched", "mono")  # the matched arm takes its source's place
    # The record the results file keeps reads back as the same match.
    assert json.loads(json.dumps(m.to_dict())) == m.to_dict() and m.to_dict()["slug"] == "nonmono_matched"


def test_a_stronger_monotone_arm_is_the_source_and_a_tie_goes_to_the_baseline():
    snaps = {"nonmono": _curve(range(5, 101, 5), floor=2.0), "mono": _curve(range(5, 101, 5), floor=1.0)}
    m = choose_match(PAIR, {"nonmono": 2.0, "mono": 1.0}, snaps)
    assert (m.source, m.weaker, m.slug, m.comparison) == ("mono", "nonmono", "mono_matched", ("nonmono", "mono_matched"))
    assert choose_match(PAIR, {"nonmono": 1.5, "mono": 1.5}, snaps).source == "nonmono"


def test_gap_over_the_tolerance_is_no_close_match_and_at_it_a_close_one():
    snaps = [Snapshot(10, 1, 30.0), Snapshot(20, 1, 21.0), Snapshot(30, 1, 10.0)]
    far = choose_match(PAIR, {"nonmono": 10.0, "mono": 25.5}, {"nonmono": snaps})
    assert far.step == 10 and far.gap == pytest.approx(4.5 / 25.5) and not far.close_match  # 30 and 21 tie: earlier
    edge = choose_match(PAIR, {"nonmono": 10.0, "mono": 20.0}, {"nonmono": snaps})
    assert edge.step == 20 and edge.gap == MATCH_TOLERANCE == 0.05 and edge.close_match  # 1 / 20: at the tolerance
    over = choose_match(PAIR, {"nonmono": 10.0, "mono": 20.0}, {"nonmono": [Snapshot(20, 1, 21.01), snaps[2]]})
    assert over.gap > MATCH_TOLERANCE and not over.close_match


def test_unbracketed_when_every_snapshot_is_already_better_than_the_target():
    snaps = [Snapshot(50, 1, 2.0), Snapshot(100, 2, 1.5)]
    m = choose_match(PAIR, {"nonmono": 1.5, "mono": 3.0}, {"nonmono": snaps})
    assert m.step == 50 and not m.bracketed and not m.close_match and m.gap == pytest.approx(1 / 3)
    assert "first snapshot is better than the target" in matched.describe(m) and "no close match" in matched.describe(m)
    with pytest.raises(ValueError, match="kept no snapshots"):
        choose_match(PAIR, {"nonmono": 1.0, "mono": 2.0}, {"nonmono": []})


def test_a_finer_nested_interval_never_widens_the_gap_and_a_fine_one_matches_closely():
    dense = _curve(range(1, 401))  # steep early, where a weak arm's target is crossed
    best = {"nonmono": dense[-1].val_loss, "mono": 2.9}
    gaps = [choose_match(PAIR, best, {"nonmono": [s for s in dense if s.step % k == 0]}).gap for k in (80, 40, 20, 10, 5)]
    assert gaps == sorted(gaps, reverse=True) and gaps[0] > MATCH_TOLERANCE and gaps[-1] <= MATCH_TOLERANCE, gaps


# --- snapshots in a real (tiny) run -------------------------------------------------------------------------------

# 48 examples, batch 16: 3 steps an epoch, 3 epochs. A snapshot every 2 steps besides the epoch ends:
# steps 2, 4, 8 mid-epoch, 3, 6, 9 at the ends (6 is both: taken once). latest only at epoch ends.
SETS = ["model.d_model=16", "model.d_ff=32", "model.n_heads=2", "model.n_encoder_layers=1",
        "model.n_decoder_layers=1", "model.vocab_size=150", "data.max_source_tokens=48", "data.max_summary_tokens=16",
        "train.batch_size=16", "train.eval_batch_size=16", "train.epochs=3", "train.save_every_steps=100",
        "train.snapshot_every_steps=2", "train.num_beams=1"]
STEPS = [2, 3, 4, 6, 8, 9]


@pytest.fixture(scope="module")
def small():
    from mono_s2s.data.synthetic import generate_corpus
    from mono_s2s.tokenizer import train_tokenizer

    corpus = generate_corpus(0, 48, 8, 8)
    return corpus, train_tokenizer(corpus["train"], 150)


class _StopAtStep:
    """A tracker that interrupts training when asked to log optimizer step ``stop`` (a kill, in-process)."""

    run_id = None

    def __init__(self, stop: int) -> None:
        self.stop = stop

    def log(self, metrics, step=None) -> None:
        if step == self.stop and "train/batch_loss" in metrics:
            raise KeyboardInterrupt

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


@pytest.fixture(scope="module")
def straight(small, tmp_path_factory):
    """The baseline trained uninterrupted with snapshots: ``(trainer, out)``."""
    corpus, tok = small
    out = tmp_path_factory.mktemp("straight")
    trainer = Trainer(build_config("tiny", overrides=SETS), "baseline", corpus, tok, out, progress=False)
    trainer.fit()
    return trainer, out


def _weights(folder):
    return load_file(folder / "model.safetensors")


def _same(a: dict, b: dict, tol: float = 0.0) -> bool:
    return a.keys() == b.keys() and all((a[k] - b[k]).abs().max().item() <= tol for k in a)


def test_snapshots_are_taken_every_interval_and_at_epoch_ends_with_validates_nll(straight):
    trainer, out = straight
    ckpt = out / "checkpoints" / "nonmono"
    state = read_state(ckpt / "latest")
    assert [s["step"] for s in state["snapshots"]] == STEPS
    assert [s["epoch"] for s in state["snapshots"]] == [1, 1, 2, 2, 3, 3]
    assert sorted(p.name for p in (ckpt / "snapshots").iterdir()) == [f"step_{s:07d}" for s in STEPS]
    assert {p.name for p in snapshot_path(ckpt, 4).iterdir()} >= {"config.json", "model.safetensors"}
    assert not list((ckpt / "snapshots").glob("step_*/tokenizer*"))  # weights only
    # Each recorded NLL is Trainer.validate's on that snapshot's weights.
    for s in state["snapshots"]:
        trainer.unwrapped.load_state_dict(_weights(snapshot_path(ckpt, s["step"])), strict=False)
        assert trainer.validate()["val/loss"] == pytest.approx(s["val_loss"], abs=1e-6), s
    # The best epoch's end snapshot holds the best checkpoint's weights and its NLL.
    at_best = next(s for s in state["snapshots"] if s["step"] == 3 * state["best_epoch"])
    assert at_best["val_loss"] == state["best_val_loss"]
    assert _same(_weights(snapshot_path(ckpt, at_best["step"])), _weights(ckpt / "best"))


def test_snapshots_leave_the_trained_weights_as_they_are(straight, small, tmp_path):
    corpus, tok = small
    _, out = straight
    Trainer(build_config("tiny", overrides=SETS + ["train.matched=false"]), "baseline", corpus, tok, tmp_path,
            progress=False).fit()
    plain = tmp_path / "checkpoints" / "nonmono"
    assert not (plain / "snapshots").exists() and read_state(plain / "latest")["snapshots"] == []
    for part in ("best", "latest"):
        assert _same(_weights(plain / part), _weights(out / "checkpoints" / "nonmono" / part)), part
    # A variant outside the pair keeps none either.
    cfg = build_config("tiny", overrides=SETS + ["model.variants=baseline,monotonic,init_only"])
    assert Trainer(cfg, "init_only", corpus, tok, tmp_path / "other", progress=False).snapshot_every is None


def test_a_killed_run_resumes_keeping_its_snapshots_without_duplicates(straight, small, tmp_path):
    corpus, tok = small
    cfg = build_config("tiny", overrides=SETS)
    ckpt = tmp_path / "checkpoints" / "nonmono"
    with pytest.raises(KeyboardInterrupt):  # at step 5: latest is epoch 1's end (step 3), step 4's snapshot is newer
        Trainer(cfg, "baseline", corpus, tok, tmp_path, tracker=_StopAtStep(5), progress=False).fit()
    assert [s["step"] for s in read_state(ckpt / "latest")["snapshots"]] == [2, 3]
    assert snapshot_path(ckpt, 4).is_dir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = ckpt / "snapshots" / f".step_0000005.tmp-{dead.pid}-0000"  # a kill mid-write
    stale.mkdir()
    kept = {s: snapshot_path(ckpt, s).joinpath("model.safetensors").stat().st_mtime_ns for s in (2, 3)}

    Trainer(cfg, "baseline", corpus, tok, tmp_path, progress=False).fit()
    state = read_state(ckpt / "latest")
    assert [s["step"] for s in state["snapshots"]] == STEPS  # each once
    assert {s: snapshot_path(ckpt, s).joinpath("model.safetensors").stat().st_mtime_ns for s in (2, 3)} == kept
    assert not stale.exists() and sorted(p.name for p in (ckpt / "snapshots").iterdir()) == [
        f"step_{s:07d}" for s in STEPS]
    _, out = straight
    reference = read_state(out / "checkpoints" / "nonmono" / "latest")["snapshots"]
    for mine, theirs in zip(state["snapshots"], reference):
        assert mine["val_loss"] == pytest.approx(theirs["val_loss"], abs=1e-6)
        assert _same(_weights(snapshot_path(ckpt, mine["step"])),
                     _weights(snapshot_path(out / "checkpoints" / "nonmono", mine["step"])), tol=1e-6)


# --- bad input ---------------------------------------------------------------------------------------------------

CLI_SETS = ["data.n_train=48", "data.n_validation=8", "data.n_test=8"] + SETS[:-3] + ["train.num_beams=1"]


def _cli(tmp_path, capsys, verb: str, *sets: str) -> tuple[int, str]:
    argv = [verb, "--out", str(tmp_path / "out"), "--wandb", "disabled"]
    if verb == "train":
        argv += ["--variant", "baseline"]
    code = main(argv + [a for s in CLI_SETS + list(sets) for a in ("--set", s)])
    return code, capsys.readouterr().err.strip()


def _nothing_trained(out) -> bool:
    return not (out / "checkpoints").exists() and not (out / "results").exists()


@pytest.mark.parametrize("verb", ["run", "train"])
def test_a_matched_arm_asked_for_without_its_pair_is_refused(tmp_path, capsys, verb):
    code, err = _cli(tmp_path, capsys, verb, "model.variants=baseline,attention_only", "train.matched=true")
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("mono-s2s: error: invalid config value for 'train.matched': true needs baseline and a "
                          "monotone variant (monotonic, monotonic_cmnn) in model.variants, got baseline, attention_only"), err
    assert _nothing_trained(tmp_path / "out")
    # Left null, the same variants simply have no matched arm.
    assert matched.pair(build_config("tiny", overrides=["model.variants=baseline,attention_only"])) is None
    assert matched.pair(build_config("tiny", overrides=["model.variants=attention_only,monotonic,baseline"])) == (
        "baseline", "monotonic")


@pytest.mark.parametrize("verb", ["run", "train"])
def test_an_interval_that_cannot_bracket_is_refused_before_training(tmp_path, capsys, verb):
    code, err = _cli(tmp_path, capsys, verb, "train.snapshot_every_steps=5")  # 9 steps: one snapshot at most
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert err == ("mono-s2s: error: invalid config value for 'train.snapshot_every_steps': 5 leaves fewer than 2 "
                   "snapshots in a run of 9 optimizer steps, too few to bracket the other arm's best validation NLL; "
                   "use at most 4 (null: about 24 per run), or train.matched=false"), err
    assert not (tmp_path / "out" / "checkpoints").exists()
    # The Trainer applies the same rule (it knows the process count), and 4 is fine.
    assert matched.snapshot_interval(build_config("tiny", overrides=["train.snapshot_every_steps=4"]), "baseline",
                                     9) == 4
    with pytest.raises(UserError, match="train.snapshot_every_steps"):
        matched.snapshot_interval(build_config("tiny", overrides=["train.snapshot_every_steps=5"]), "monotonic", 9)
    code, err = _cli(tmp_path, capsys, verb, "train.snapshot_every_steps=0")
    assert code == 2 and "'train.snapshot_every_steps': must be positive or null (got 0)" in err


# --- the arm in the session's tiny experiment --------------------------------------------------------------------

def test_the_matched_arm_is_a_checkpoint_holding_the_chosen_snapshots_weights(tiny_experiment, capsys):
    from mono_s2s.checkpoint import load_checkpoint

    out, results = tiny_experiment.out, tiny_experiment.results
    m = results["matched"]
    slug, source = m["slug"], m["source"]
    assert results["models"] == ["nonmono", "mono", slug] and slug == f"{source}_matched"
    # The choice, recomputed from the two runs' trainer states.
    states = {s: read_state(out / "checkpoints" / s / "latest") for s in PAIR}
    again = choose_match(PAIR, {s: st["best_val_loss"] for s, st in states.items()},
                         {s: [Snapshot(**x) for x in st["snapshots"]] for s, st in states.items()})
    assert {k: m[k] for k in again.to_dict()} == again.to_dict()
    assert m["target"] == states[m["weaker"]]["best_val_loss"] and len(states[source]["snapshots"]) == 20
    # A normal checkpoint folder: it loads, and holds the snapshot's weights exactly.
    best = out / "checkpoints" / slug / "best"
    model, tokenizer, cfg = load_checkpoint(best)
    assert cfg is not None and len(tokenizer) == len(load_checkpoint(out / "checkpoints" / source / "best")[1])
    snap = _weights(snapshot_path(out / "checkpoints" / source, m["step"]))
    assert _same(snap, _weights(best))
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in snap.items())
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(["check", str(best)]) == 0
    assert json.loads(printed.getvalue())["variant"] == {"nonmono": "baseline", "mono": "monotonic"}[source]
    # Scored as the others, and said so.
    done = json.loads((out / "results" / f"training_{slug}.json").read_text())
    assert done["matched"] == again.to_dict() and len(done["per_example"]["rougeL"]) == tiny_experiment.cfg.data.n_test
    assert results["clean"][slug]["rougeL"] == done["per_example"]["rougeL"]
    assert f"matched arm: {matched.describe(again)}" in tiny_experiment.stdout
    assert tiny_experiment.runs["adversarial"]["summary"]["matched/step"] == m["step"]


def test_the_equal_quality_comparison_leads_the_findings_with_the_headlines_statistics(tiny_experiment):
    results = tiny_experiment.results
    m = results["matched"]
    a, b = matched.comparison(m)
    tests = pd.DataFrame(load_results(tiny_experiment.out / "results" / RESULTS_FILE)["statistics"]["tests"])
    head = tests[(tests["comparison"] == "equal_quality") & (tests["point"] == "headline")
                 & (tests["measure"] == "rouge_drop")].set_index("attack")
    assert set(head.index) == set(ATTACKS)
    for attack in ATTACKS:
        xa = {r["sample_id"]: r["rouge_drop"] for r in results["attacks"][attack][a]}
        xb = {r["sample_id"]: r["rouge_drop"] for r in results["attacks"][attack][b]}
        ids = sorted(xa)
        assert head.loc[attack, "diff_mean"] == pytest.approx(np.mean([xa[i] - xb[i] for i in ids]))
    findings = results["key_findings"]
    assert findings[0].startswith("Equal quality: " if m["close_match"] else "No close match: ")
    assert findings[1].startswith(f"Equal quality: {a} vs {b}, ROUGE-L drop of the generated summary:")
    assert f"Equal quality: {a} vs {b}" in tiny_experiment.stdout


def test_a_finished_folder_reuses_the_matched_arm(tiny_experiment, tmp_path, capsys):
    out = tiny_experiment.copy_to(tmp_path / "out")
    slug = tiny_experiment.results["matched"]["slug"]
    files = sorted((out / "checkpoints" / slug / "best").iterdir())
    before = {f.name: f.stat().st_mtime_ns for f in files}
    flags = list(tiny_experiment.argv[3:])  # its --set words
    assert main(["attack", "--out", str(out), "--wandb", "disabled", *flags]) == 0
    assert f"matched arm: already built ({out / 'results' / f'training_{slug}.json'}); skipping" in \
        capsys.readouterr().out
    assert {f.name: f.stat().st_mtime_ns for f in files} == before
    # Asked for by name when the stronger run's snapshots are gone: one line naming the setting, nothing attacked.
    source = tiny_experiment.results["matched"]["source"]
    state_file = out / "checkpoints" / source / "latest" / STATE_FILE
    state_file.write_text(json.dumps({**json.loads(state_file.read_text()), "snapshots": []}))
    records = (out / "results" / "attack_records.jsonl").stat().st_mtime_ns
    assert main(["attack", "--out", str(out), "--wandb", "disabled", *flags, "--set", "train.matched=true"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("mono-s2s: error: train.matched: the ") and \
        "kept no snapshots" in err, err
    assert (out / "results" / "attack_records.jsonl").stat().st_mtime_ns == records


# --- the report ---------------------------------------------------------------------------------------------------

N = 12


def _results(source: str = "nonmono", gap: float = 0.01, seed: int = 0) -> dict:
    """A results file with the pair and the matched arm attacked on the same N samples (no models): each
    record's ROUGE-L drop is a quarter of its ΔNLL."""
    rng = np.random.default_rng(seed)
    slug = f"{source}_matched"
    attacks = {}
    for attack in ATTACKS:
        ids = [f"test-{i:03d}" for i in range(N)]
        base = rng.gamma(2.0, 0.5, size=N) + 0.2
        # Noise on every arm: tied differences would send scipy's signed-rank test to a slow permutation null.
        values = {"nonmono": base, "mono": base - 0.2 + rng.normal(0, 0.05, N), slug: base + rng.normal(0.1, 0.05, N)}
        attacks[attack] = {s: [AttackRecord(attack=attack, model=s, sample_id=i, original_nll=1.0,
                                            attacked_nll=1.0 + float(d), success=bool(d >= 0.4), queries=3,
                                            original_rougeL=1.0, attacked_rougeL=1.0 - float(d) / 4,
                                            perturbed_text="x").to_dict() for i, d in zip(ids, values[s])]
                           for s in ("nonmono", "mono", slug)}
    clean_ids = [f"test-{i:03d}" for i in range(20)]
    clean = {s: {"ids": clean_ids, **{m: rng.uniform(0.4, 0.7, 20).tolist() for m in ("rouge1", "rouge2", "rougeL")}}
             for s in ("nonmono", "mono", slug)}
    weaker = "mono" if source == "nonmono" else "nonmono"
    record = {"slug": slug, "source": source, "weaker": weaker, "pair": ["nonmono", "mono"], "step": 120,
              "epoch": 1, "val_loss": 2.0 * (1 + gap), "target": 2.0, "source_best": 1.2, "gap": gap,
              "close_match": gap <= MATCH_TOLERANCE, "bracketed": True, "snapshots": 30,
              "tolerance": MATCH_TOLERANCE, "clean": {}}
    return {"schema_version": SCHEMA_VERSION, "models": ["nonmono", "mono", slug], "attacks": attacks,
            "clean": clean, "transfer": {}, "config": {"preset": "tiny"}, "matched": record}


@pytest.fixture
def no_figure(monkeypatch):
    """The report without its figure (seconds of matplotlib that these tests do not look at)."""
    monkeypatch.setattr(report, "_figure", lambda *args: None)


def test_the_report_compares_the_monotone_arm_with_the_matched_one_paired_by_sample(tmp_path, capsys, no_figure):
    results = _results()
    rep = report.publish(results, tmp_path, n_boot=100)
    assert rep.matched["slug"] == "nonmono_matched"
    assert [c.name for c in rep.comparisons] == ["equal_quality", "equal_budget"]  # the matched arm is no third
    equal = rep.headline("equal_quality")
    assert list(equal.index) == list(ATTACKS)
    for attack in ATTACKS:
        xa = [r["rouge_drop"] for r in results["attacks"][attack]["nonmono_matched"]]
        xb = [r["rouge_drop"] for r in results["attacks"][attack]["mono"]]
        row = equal.loc[attack]
        assert row["diff_mean"] == pytest.approx(np.mean(xa) - np.mean(xb))  # matched - mono
        assert row["wilcoxon_p"] == pytest.approx(sps.wilcoxon(xa, xb).pvalue)
    assert rep.findings[0] == ("Equal quality: nonmono_matched is nonmono's own run at step 120 (epoch 1), val NLL "
                               "2.020 against mono's best 2.000 (gap 1.0%, within 5%); the equal-quality comparison "
                               "is nonmono_matched vs mono.")
    wins = ", ".join(equal.index[equal["significant"]])
    assert rep.findings[1].startswith(
        f"Equal quality: nonmono_matched vs mono, ROUGE-L drop of the generated summary: mono degrades less in "
        f"{len(ATTACKS)} of {len(ATTACKS)} attacks ({int(equal['significant'].sum())} significant after Holm"
        + (f": {wins})" if wins else ")"))
    # The equal-budget comparison follows, and whether it agrees is said.
    assert any(line.startswith("Equal budget: nonmono vs mono, ROUGE-L drop") for line in rep.findings)
    assert any(line.startswith("Equal budget (nonmono vs mono) against equal quality (nonmono_matched vs mono): "
                               "R-L drop: same direction in 6 of 6 attacks") for line in rep.findings)
    assert not any("No close match" in line for line in rep.findings)
    printed = capsys.readouterr().out
    assert "(nonmono_matched: step 120 of nonmono's run" in printed
    saved = load_results(tmp_path / "results" / RESULTS_FILE)
    assert saved["matched"]["gap"] == 0.01
    assert {t["comparison"] for t in saved["statistics"]["tests"]} == {"equal_quality", "equal_budget"}
    assert saved["key_findings"][0] == rep.findings[0]
    assert (rep.a, rep.b) == ("nonmono", "mono")  # the headline pair is unchanged by the third arm


def test_seeds_aggregate_every_comparison_with_equal_quality_first(tmp_path, capsys, no_figure):
    # --seeds N with the matched arm: the across-seed tables cover every comparison, not the headline alone.
    for k in range(3):
        (tmp_path / f"seed_{k}" / "results").mkdir(parents=True)
        (tmp_path / f"seed_{k}" / "results" / RESULTS_FILE).write_text(json.dumps(_results(seed=k)))
    reports = report.build_all(tmp_path, n_boot=50)
    saved = json.loads((tmp_path / "results" / report.SEEDS_JSON).read_text())
    assert list(saved["comparisons"]) == ["equal_quality", "equal_budget"]
    equal = saved["comparisons"]["equal_quality"]
    assert (equal["a"], equal["b"]) == ("nonmono_matched", "mono")
    rows = pd.DataFrame(equal["rows"])
    for attack in ATTACKS:
        per_seed = [r.headline("equal_quality").loc[attack, "diff_mean"] for r in reports]  # the seed is the unit
        row = rows[(rows["attack"] == attack) & (rows["point"] == "headline")].iloc[0]
        assert row["n_seeds"] == 3 and row["diff_mean"] == pytest.approx(np.mean(per_seed))
        assert row["ttest_p"] == pytest.approx(sps.ttest_1samp(per_seed, 0.0).pvalue)
    assert pd.read_csv(tmp_path / "results" / report.SEEDS_CSV)["comparison"].eq("equal_quality").all()
    long = pd.read_csv(tmp_path / "results" / report.SEEDS_COMPARISONS_CSV)
    assert set(long["comparison"]) == {"equal_quality", "equal_budget"}
    findings = (tmp_path / "results" / report.SEEDS_FINDINGS).read_text().splitlines()
    assert findings[0].startswith("- Equal quality: nonmono_matched vs mono, R-L drop across 3 seeds: mono degrades "
                                  "less in every seed in 6 of 6 attacks"), findings[0]
    assert findings[-1].startswith("- Only 3 seeds") and sum(line.startswith("- Only") for line in findings) == 1
    printed = capsys.readouterr().out
    assert "Across 3 seeds, equal quality: nonmono_matched vs mono" in printed
    assert printed.index("Across 3 seeds, equal quality") < printed.index("Across 3 seeds, equal budget")


def test_a_gap_over_five_percent_is_reported_as_no_close_match(tmp_path, capsys, no_figure):
    rep = report.publish(_results(gap=0.12), tmp_path, n_boot=50)
    first = rep.findings[0]
    assert first.startswith("No close match: the snapshot of nonmono's run closest to mono's best val NLL 2.000 "
                            "(step 120, val NLL 2.240) is 12.0% away, over the 5% tolerance: the comparison of "
                            "nonmono_matched with mono is NOT at equal quality"), first
    assert "NO CLOSE MATCH" in capsys.readouterr().out
    assert (tmp_path / "results" / "key_findings.txt").read_text().splitlines()[0] == first
    # The arm is still compared (the numbers are shown, with the warning), never dropped.
    assert not rep.headline("equal_quality").empty


def test_a_matched_monotone_arm_takes_the_monotone_side(tmp_path):
    rep = report.analyse(_results(source="mono"), n_boot=50)
    equal = rep.comparison("equal_quality")
    assert (equal.a, equal.b) == ("nonmono", "mono_matched")
    assert {"nonmono_mean", "mono_matched_mean"} <= set(rep.headline("equal_quality").columns)
    assert any(line.startswith("Equal quality: nonmono vs mono_matched, ROUGE-L drop of the generated summary: "
                               "mono_matched degrades") for line in rep.findings)


def test_a_malformed_matched_record_is_a_one_line_error(tmp_path):
    results = _results()
    results["matched"]["gap"] = "small"
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / RESULTS_FILE).write_text(json.dumps(results))
    with pytest.raises(UserError, match=r"field 'matched.gap' must be a number, found a str"):
        load_results(tmp_path / "results" / RESULTS_FILE)


def test_the_snapshot_folder_is_removed_with_its_run(tmp_path):
    """A fresh run in a folder that holds another run's snapshots (its latest moved away) starts without them."""
    ckpt = tmp_path / "checkpoints" / "nonmono"
    snapshot_path(ckpt, 7).mkdir(parents=True)
    from mono_s2s.data.synthetic import generate_corpus
    from mono_s2s.tokenizer import train_tokenizer

    corpus = generate_corpus(0, 48, 8, 8)
    Trainer(build_config("tiny", overrides=SETS + ["train.epochs=1", "train.snapshot_every_steps=1"]), "baseline",
            corpus, train_tokenizer(corpus["train"], 150), tmp_path, progress=False).fit()
    assert sorted(p.name for p in (ckpt / "snapshots").iterdir()) == ["step_0000001", "step_0000002", "step_0000003"]
