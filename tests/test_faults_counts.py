"""Too-small splits are refused before anything is trained, in one line naming the setting."""

from __future__ import annotations

import pytest

from mono_s2s.cli import main

# The round-2 sample counts (the quick preset's), which the 25-example test split holds; the cases below ask
# for more.
SMALL = ["data.n_train=60", "data.n_validation=12", "data.n_test=25", "model.d_model=32", "model.d_ff=64",
         "train.batch_size=16", "attacks.universal_train_samples=10",
         *(f"attacks.{a}_samples=20" for a in ("hotflip", "universal_eval", "substitution", "injection", "ood")),
         "attacks.nes_samples=15"]


def _run(tmp_path, capsys, *sets: str, verb: str = "run") -> tuple[int, str]:
    argv = [verb, "--out", str(tmp_path / "out"), "--wandb", "disabled"]
    for s in SMALL + list(sets):
        argv += ["--set", s]
    code = main(argv)
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize("sets, needle", [
    (["data.n_test=5"], "attacks.hotflip_samples=20, attacks.universal_eval_samples=20, attacks.nes_samples=15, "
                        "attacks.substitution_samples=20, attacks.injection_samples=20, attacks.ood_samples=20: "
                        "the test split has only 5 examples"),
    (["attacks.ood_samples=30"], "attacks.ood_samples=30: the test split has only 25 examples; lower that setting"),
    (["attacks.universal_train_samples=13"], "attacks.universal_train_samples=13: the validation split has only 12"),
    (["train.batch_size=64", "train.grad_accum_steps=2"],  # one (partial) batch, two needed per step
     "train.batch_size: 60 training examples make no full optimizer step with batch 64 x 2 accumulation"),
])
def test_counts_are_checked_before_training(tmp_path, capsys, sets, needle):
    code, err = _run(tmp_path, capsys, *sets)
    assert code == 2 and len(err.splitlines()) == 1 and needle in err and "Traceback" not in err
    assert not (tmp_path / "out" / "checkpoints").exists()  # nothing was trained


@pytest.mark.parametrize("split, why", [("validation", "early stopping"), ("test", "the clean evaluation")])
def test_an_empty_split_is_refused_before_training(tmp_path, capsys, monkeypatch, split, why):
    # The synthetic corpus cannot be asked for an empty split (the config refuses 0); a local corpus can have one.
    import mono_s2s.pipeline as pipeline

    real = pipeline.read_corpus

    def emptied(args, cache_dir=None):
        corpus, info = real(args, cache_dir)
        return {**corpus, split: []}, info

    monkeypatch.setattr(pipeline, "read_corpus", emptied)
    code, err = _run(tmp_path, capsys)
    assert code == 2 and err == f"mono-s2s: error: the {split} split of synthetic is empty; {why} " + \
        ("and the best checkpoint need it" if split == "validation" else "need it")
    assert not (tmp_path / "out" / "checkpoints").exists()


def test_a_train_only_run_does_not_need_the_attack_samples(tmp_path, capsys, monkeypatch):
    import mono_s2s.pipeline as pipeline

    trained = []
    monkeypatch.setattr(pipeline, "train_variant", lambda cfg, variant, prepared, out: trained.append(variant))
    code = main(["train", "--variant", "monotonic", "--out", str(tmp_path / "out"), "--wandb", "disabled",
                 *[a for s in SMALL + ["data.n_test=5"] for a in ("--set", s)]])
    assert code == 0 and trained == ["monotonic"]
