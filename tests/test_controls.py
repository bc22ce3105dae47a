"""The control arms: ``init_only`` (the monotone FFN's start without its constraint) and ``attention_only`` (no FFNs).

``init_only`` must start bit for bit as ``monotonic`` and must leave it as soon as training
pushes a weight below zero (the checks then find it non-monotone). ``attention_only`` must be
the same network as a baseline whose FFN branches add nothing, and must go everywhere the
other variants go: save/load, the Trainer, ``generate``, ``mono-s2s check``, an attack phase
with four arms.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest
import torch
from transformers import T5Config
from transformers.models.t5.modeling_t5 import T5DenseGatedActDense, T5LayerFF

from conftest import SMALLEST_RUN_SETS

from mono_s2s.cli import main
from mono_s2s.config import VARIANT_SLUGS, VARIANTS, build_config
from mono_s2s.models import (InitOnlyFFN, InitOnlyGatedFFN, MonoS2SForConditionalGeneration, MonotonicFFN,
                             MonotonicGatedFFN, NoFFNLayer, build_model, count_parameters)
from mono_s2s.models.checks import check_model
from mono_s2s.models.monotone import _MIN_WEIGHT, OUTPUT_INIT_SCALE

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ARMS = ("baseline", "monotonic", "init_only", "attention_only")


def _ffn_config(d_model: int = 16, d_ff: int = 32) -> T5Config:
    return T5Config(d_model=d_model, d_ff=d_ff, dropout_rate=0.0, feed_forward_proj="gated-silu")


def _pair_from_one_dense(seed: int = 0):
    """A monotone and an init_only FFN started from the same HF gated FFN (with a few exact zeros in it)."""
    torch.manual_seed(seed)
    config = _ffn_config()
    dense = T5DenseGatedActDense(config)
    with torch.no_grad():
        for w in (dense.wi_0.weight, dense.wi_1.weight, dense.wo.weight):
            w.normal_(0.0, 0.3)
            w[0, :3] = 0.0  # below _MIN_WEIGHT: both must clamp it the same way
    mono, init = MonotonicGatedFFN(config), InitOnlyGatedFFN(config)
    mono.init_from_dense(dense)
    init.init_from_dense(dense)
    return dense, mono.eval(), init.eval()


# --- init_only ---------------------------------------------------------------------------------------------------


def test_init_only_starts_bit_for_bit_as_the_monotone_ffn():
    """torch.equal, not allclose: the same weights, bias and forward, to the last bit."""
    dense, mono, init = _pair_from_one_dense()
    for name in ("wi_0", "wi_1", "wo"):
        assert isinstance(getattr(init, name), torch.nn.Linear)
        assert torch.equal(getattr(init, name).weight, getattr(mono, name).weight), name  # PositiveLinear.weight
    assert torch.equal(init.wo.bias, mono.wo.bias)
    # What those weights are: |W| clamped at the conversion's minimum (the down projection scaled first), up to
    # the reparametrisation's round trip, which is why equality is taken with the monotone weights themselves.
    assert torch.allclose(init.wi_0.weight, dense.wi_0.weight.abs().clamp_min(_MIN_WEIGHT), rtol=2e-6, atol=0)
    assert torch.allclose(init.wo.weight, (dense.wo.weight * OUTPUT_INIT_SCALE).abs().clamp_min(_MIN_WEIGHT),
                          rtol=2e-6, atol=0)
    assert init.wi_1.weight[0, :3].sub(_MIN_WEIGHT).abs().max() < 1e-9  # the exact zeros were clamped up
    x = torch.randn(5, 7, 16) * 3  # (B, T, d_model)
    assert torch.equal(init(x), mono(x))
    assert init(torch.zeros(1, 16)).abs().max() < 1e-6  # centred: f(0) = 0, as the monotone FFN


def test_init_only_model_starts_as_the_monotone_model(tiny_model_cfg, fake_tokenizer):
    """The whole network at initialisation: the same state (up to parameter names) and the same logits."""
    mono = build_model(tiny_model_cfg, "monotonic", fake_tokenizer, seed=0).eval()
    init = build_model(tiny_model_cfg, "init_only", fake_tokenizer, seed=0).eval()
    assert all(type(f) is InitOnlyGatedFFN for f in init.ffns()) and len(init.ffns()) == 4
    for fm, fi in zip(mono.ffns(), init.ffns()):
        for name in ("wi_0", "wi_1", "wo"):
            assert torch.equal(getattr(fm, name).weight, getattr(fi, name).weight)
        assert torch.equal(fm.wo.bias, fi.wo.bias)
    sm, si = mono.state_dict(), init.state_dict()
    shared = [k for k in sm if "DenseReluDense" not in k]
    assert shared and all(torch.equal(sm[k], si[k]) for k in shared)
    assert count_parameters(init) == count_parameters(mono)
    ids, labels = torch.randint(2, 100, (3, 11)), torch.randint(2, 100, (3, 5))
    with torch.no_grad():
        assert torch.equal(init(input_ids=ids, labels=labels).logits, mono(input_ids=ids, labels=labels).logits)


def test_one_step_takes_init_only_below_zero_but_not_the_monotone_ffn():
    """The same optimizer step on the same loss, whose gradient lowers every gate weight by about lr."""
    _, mono, init = _pair_from_one_dense()
    for ffn in (mono, init):
        opt = torch.optim.Adam(ffn.parameters(), lr=1.0)
        opt.zero_grad()
        ffn.wi_0.weight.sum().backward()  # d/dW > 0 for every weight: the step lowers them all
        opt.step()
    assert (init.wi_0.weight < 0).float().mean() > 0.99  # unconstrained: W - 1 < 0 for weights of size ~0.3
    assert (mono.wi_0.raw_weight < 0).any() and (mono.wi_0.weight >= 0).all()  # raw V moved, W = softplus >= 0


def test_checks_tell_init_only_from_monotone_after_high_learning_rate_steps(tiny_model_cfg, fake_tokenizer):
    """At initialisation the checks cannot tell them apart (the same function); after training they must."""
    models = {v: build_model(tiny_model_cfg, v, fake_tokenizer, seed=0) for v in ("monotonic", "init_only")}
    assert all(r.monotone for r in check_model(models["init_only"]))
    ids, labels = torch.randint(2, 100, (4, 12)), torch.randint(2, 100, (4, 6))
    for model in models.values():
        opt = torch.optim.Adam(model.parameters(), lr=1.0)
        for _ in range(5):
            opt.zero_grad()
            model(input_ids=ids, labels=labels).loss.backward()
            opt.step()
    assert any((f.wi_1.weight < 0).any() or (f.wo.weight < 0).any() for f in models["init_only"].ffns())
    reports = check_model(models["init_only"])
    assert not all(r.monotone for r in reports)
    assert sum(r.violating_pairs for r in reports) > 0 and min(r.min_jacobian_entry for r in reports) < 0
    assert all(r.monotone for r in check_model(models["monotonic"]))


@pytest.mark.parametrize("variant", ARMS)
def test_weight_decay_spares_the_monotone_and_init_only_ffns(tiny_model_cfg, fake_tokenizer, variant):
    """Decided by module type: init_only's FFN weights are 2-D nn.Linear weights, yet never decayed, as the
    monotone FFN's (a second difference besides the constraint otherwise); everything else as the baseline."""
    model = build_model(tiny_model_cfg, variant, fake_tokenizer, seed=0)
    decay, no_decay = model.parameter_groups(0.01)
    ids = [id(p) for p in decay["params"] + no_decay["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())  # every parameter exactly once
    ffn_params = {id(p) for f in model.ffns() for p in f.parameters()}
    decayed = {id(p) for p in decay["params"]}
    if variant in ("monotonic", "init_only"):
        assert ffn_params and not ffn_params & decayed
    elif variant == "baseline":
        assert {id(f.wo.weight) for f in model.ffns()} <= decayed
    else:
        assert not ffn_params
    q = model.encoder.block[0].layer[0].SelfAttention.q.weight
    assert id(q) in decayed and id(model.shared.weight) in decayed  # attention and embeddings: decayed as ever
    assert all(p.ndim >= 2 for p in decay["params"])


# --- attention_only ----------------------------------------------------------------------------------------------


def test_attention_only_has_no_ffn_parameters(tiny_model_cfg, fake_tokenizer):
    model = build_model(tiny_model_cfg, "attention_only", fake_tokenizer, seed=0)
    baseline = build_model(tiny_model_cfg, "baseline", fake_tokenizer, seed=0)
    blocks = list(model.encoder.block) + list(model.decoder.block)
    assert all(type(b.layer[-1]) is NoFFNLayer for b in blocks) and model.ffns() == []
    assert not any(isinstance(m, T5LayerFF) for m in model.modules())
    assert not any("DenseReluDense" in k for k in model.state_dict())
    # What went: each block's gated FFN (3 d_model x d_ff matrices) and its layer-norm scale (d_model).
    d, f = tiny_model_cfg.d_model, tiny_model_cfg.d_ff
    assert count_parameters(baseline) - count_parameters(model) == len(blocks) * (3 * d * f + d)
    assert check_model(model) == []


def test_attention_only_equals_a_baseline_whose_ffn_branch_adds_nothing(tiny_model_cfg, fake_tokenizer):
    model = build_model(tiny_model_cfg, "attention_only", fake_tokenizer, seed=0).eval()
    zeroed = build_model(tiny_model_cfg, "baseline", fake_tokenizer, seed=0).eval()
    sd, ref = model.state_dict(), zeroed.state_dict()
    assert set(sd) < set(ref) and all(torch.equal(sd[k], ref[k]) for k in sd)  # same seed: same shared weights
    with torch.no_grad():
        for ffn in zeroed.ffns():
            ffn.wo.weight.zero_()  # the FFN outputs exactly 0, so x + dropout(0) = x
    ids, labels = torch.randint(2, 100, (3, 11)), torch.randint(2, 100, (3, 5))
    with torch.no_grad():
        out, expected = model(input_ids=ids, labels=labels), zeroed(input_ids=ids, labels=labels)
        unzeroed = build_model(tiny_model_cfg, "baseline", fake_tokenizer, seed=0).eval()(input_ids=ids, labels=labels)
    assert torch.equal(out.logits, expected.logits)
    assert not torch.allclose(out.logits, unzeroed.logits)  # the comparison can fail: a live FFN changes them


def test_attention_only_saves_loads_and_generates(tmp_path, capsys):
    from mono_s2s.checkpoint import load_checkpoint, save_checkpoint
    from mono_s2s.data.synthetic import generate_corpus
    from mono_s2s.tokenizer import train_tokenizer

    cfg = build_config("tiny", overrides=["model.d_model=32", "model.d_ff=64", "model.vocab_size=100",
                                          "model.variants=baseline,attention_only"])
    tokenizer = train_tokenizer(generate_corpus(0, 40, 4, 4)["train"], cfg.model.vocab_size)
    model = build_model(cfg.model, "attention_only", tokenizer, seed=0).eval()
    save_checkpoint(tmp_path / "ckpt", model, tokenizer, cfg)
    assert json.loads((tmp_path / "ckpt" / "config.json").read_text())["ffn_variant"] == "attention_only"
    loaded, _, loaded_cfg = load_checkpoint(tmp_path / "ckpt")  # refuses missing or unexpected keys
    assert loaded.ffn_variant == "attention_only" and loaded.ffns() == [] and loaded_cfg.model == cfg.model
    assert loaded.state_dict().keys() == model.state_dict().keys()
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())
    hf = MonoS2SForConditionalGeneration.from_pretrained(tmp_path / "ckpt")
    assert all(type(b.layer[-1]) is NoFFNLayer for b in hf.encoder.block)
    ids = torch.randint(2, 100, (2, 9))
    kwargs = dict(max_new_tokens=6, num_beams=2, do_sample=False)
    assert torch.equal(loaded.generate(ids, **kwargs), model.generate(ids, **kwargs))

    # mono-s2s check: nothing to check, said so, exit 0 (no crash, no vacuous "monotone").
    capsys.readouterr()
    assert main(["check", str(tmp_path / "ckpt")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["variant"] == "attention_only" and report["ffn_monotone"] is None
    assert report["ffn_sublayers"] == 0 and report["ffns"] == [] and "no FFN sublayers" in report["note"]


@pytest.mark.parametrize("variant", ["attention_only", "init_only"])
def test_controls_train_with_the_trainer(trained_briefly, variant):
    """A few optimizer steps of the real training loop; the best checkpoint loads as the same variant."""
    start, result, trained = trained_briefly(variant)
    assert result.epochs_trained == 1 and torch.isfinite(torch.tensor(result.best_val_loss))
    assert trained.ffn_variant == variant
    assert any(not torch.equal(v, start[k]) for k, v in trained.state_dict().items())  # the steps moved weights


# --- both, and the registry -------------------------------------------------------------------------------------


def test_controls_on_a_pretrained_relu_t5(tiny_relu_t5):
    """A (tiny, local) original-T5 checkpoint: init_only starts as monotonic does, attention_only drops its FFNs."""
    hf, tiny_model_cfg = tiny_relu_t5
    mono = build_model(tiny_model_cfg, "monotonic")
    init = build_model(tiny_model_cfg, "init_only")
    bare = build_model(tiny_model_cfg, "attention_only")
    assert all(type(f) is InitOnlyFFN for f in init.ffns()) and all(type(f) is MonotonicFFN for f in mono.ffns())
    for fm, fi in zip(mono.ffns(), init.ffns()):
        assert torch.equal(fm.wi.weight, fi.wi.weight) and torch.equal(fm.wo.weight, fi.wo.weight)
        assert torch.equal(fm.wo.bias, fi.wo.bias)
    assert bare.ffns() == [] and all(torch.equal(v, hf.state_dict()[k]) for k, v in bare.state_dict().items())
    assert count_parameters(bare) < count_parameters(hf)


def test_describe_models_reports_every_arm(tiny_model_cfg, fake_tokenizer, capsys):
    """One row per arm; attention_only has no FFN to call monotone; percentages are against the baseline."""
    from mono_s2s import cli
    from mono_s2s.config import ExperimentConfig
    from mono_s2s.pipeline import describe_models

    tiny_model_cfg.variants = ("monotonic", "baseline", "init_only", "attention_only")  # baseline not first
    cfg = ExperimentConfig(model=tiny_model_cfg)
    rows = {r["variant"]: r for r in describe_models(cfg, fake_tokenizer, seed=0)}
    assert [rows[v]["ffn_monotone"] for v in ARMS] == [False, True, True, None]
    assert rows["attention_only"]["ffn_sublayers"] == 0 and rows["attention_only"]["min_jacobian_entry"] is None
    assert rows["attention_only"]["parameters"] < rows["baseline"]["parameters"] < rows["monotonic"]["parameters"]
    assert rows["init_only"]["parameters"] == rows["monotonic"]["parameters"]

    class Prepared:
        tokenizer = fake_tokenizer

    capsys.readouterr()
    cli._describe(cfg, Prepared)
    lines = {line.split()[1]: line for line in capsys.readouterr().out.splitlines()}
    base = rows["baseline"]["parameters"]
    assert "(+0.00%)" in lines["baseline"]
    drop = (rows["attention_only"]["parameters"] - base) / base
    assert f"({drop:+.2%} vs baseline), no FFN sublayers" in lines["attention_only"] and drop < -0.1
    assert "FFN monotone: no violation" in lines["init_only"]


def test_controls_are_selectable_by_name():
    cfg = build_config("tiny", overrides=["model.variants=baseline,monotonic,init_only,attention_only"])
    assert cfg.model.variants == ARMS and set(ARMS) <= set(VARIANTS)
    assert [VARIANT_SLUGS[v] for v in ARMS] == ["nonmono", "mono", "init_only", "attention_only"]
    assert build_config("tiny").model.variants == ("baseline", "monotonic")  # the default run is unchanged


# --- four arms end to end (untrained: the attack phase, transfer, results, report, figure) ----------------------

SETS = ("model.variants=baseline,monotonic,init_only,attention_only", *SMALLEST_RUN_SETS)


def test_four_arms_go_through_the_attack_phase_and_the_report(tmp_path, untrained_checkpoints):
    from mono_s2s.data.synthetic import generate_corpus
    from mono_s2s.tokenizer import train_tokenizer

    out = tmp_path / "out"
    cfg = build_config("tiny", overrides=list(SETS))
    untrained_checkpoints(cfg, train_tokenizer(generate_corpus(0, 40, 4, 4)["train"], cfg.model.vocab_size), out)
    flags = ["--wandb", "disabled", *(word for s in SETS for word in ("--set", s)), "--out", str(out)]
    stdout, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(err):
        code = main(["attack", *flags])
    assert code == 0, err.getvalue()[-3000:]
    slugs = ["nonmono", "mono", "init_only", "attention_only"]
    results = json.loads((out / "results" / "adversarial_results.json").read_text())
    assert list(results["models"]) == slugs
    assert all(list(per_model) == slugs for per_model in results["attacks"].values())
    comparisons = {c["name"] for c in results["statistics"]["comparisons"]}
    assert comparisons == {"equal_budget", "mono_vs_init_only", "mono_vs_attention_only"}  # mono vs each comparator
    assert (out / "results" / "adversarial_analysis.png").stat().st_size > 0
    printed = stdout.getvalue()
    for attack in results["attacks"]:
        for slug in slugs:
            assert any(line.split()[:2] == [attack, slug] for line in printed.splitlines()), (attack, slug)
    assert "Equal budget: nonmono vs mono (paired by sample)" in printed  # the headline pair is unchanged
    assert "Control: init_only vs mono (paired by sample)" in printed
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["report", "--out", str(out)]) == 0  # rebuilt from the results file alone
