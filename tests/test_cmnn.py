"""``monotonic_cmnn``: the monotone FFN with convex, concave and saturated units (mono_s2s.models.cmnn).

The same claim and checks as ``monotonic`` (pairwise x <= x' => f(x) <= f(x'), Jacobian signs), and
mutants that must FAIL them: one negative weight, a non-monotone activation, the parametrisation
forgotten. Then everything a variant needs: parameter groups, save/load, ``mono-s2s check``, the
Trainer, a pretrained non-gated T5 (converted) and a pretrained gated one (refused in one line).
"""

from __future__ import annotations

import json

import pytest
import torch
from torch.nn import functional as F
from transformers import T5Config, T5ForConditionalGeneration

from mono_s2s.config import VARIANT_SLUGS, VARIANTS, build_config
from mono_s2s.errors import UserError
from mono_s2s.models import MonoS2SForConditionalGeneration, PositiveLinear, build_model, count_parameters
from mono_s2s.models.checks import check_model, check_monotone, jacobian_check, pairwise_check
from mono_s2s.models.cmnn import MonotonicCMNNFFN, concave, convex, saturated
from mono_s2s.models.monotone import ABS, DOWN_SCALE

pytestmark = pytest.mark.usefixtures("one_torch_thread")

VARIANT = "monotonic_cmnn"


def _ffn(d_model: int = 16, d_ff: int = 32, seed: int = 0) -> MonotonicCMNNFFN:
    torch.manual_seed(seed)
    config = T5Config(d_model=d_model, d_ff=d_ff, dropout_rate=0.0, feed_forward_proj="gated-silu")
    return MonotonicCMNNFFN(config).eval()


def _trained_like(ffn: MonotonicCMNNFFN, seed: int = 0) -> MonotonicCMNNFFN:
    """Raw parameters of both signs, hidden biases away from 0, the down projection at full scale: far from the
    start, so a check that passes is not passing only because f is nearly linear or nearly 0."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        ffn.wi.raw_weight.copy_(torch.randn(ffn.wi.raw_weight.shape, generator=g) * 0.5)
        ffn.wo.raw_weight.copy_(torch.randn(ffn.wo.raw_weight.shape, generator=g) * 0.5 / DOWN_SCALE)
        ffn.wi.bias.copy_(torch.randn(ffn.wi.bias.shape, generator=g) * 2.0)
    return ffn


def test_registered_with_its_slug_and_built_from_scratch(tiny_model_cfg, fake_tokenizer):
    assert VARIANT in VARIANTS and VARIANT_SLUGS[VARIANT] == "mono_cmnn"
    assert build_config("tiny", overrides=[f"model.variants=baseline,{VARIANT}"]).model.variants == ("baseline", VARIANT)
    model = build_model(tiny_model_cfg, VARIANT, fake_tokenizer, seed=0)
    baseline = build_model(tiny_model_cfg, "baseline", fake_tokenizer, seed=0)
    assert model.config.ffn_variant == VARIANT and len(model.ffns()) == 4
    d, f = tiny_model_cfg.d_model, tiny_model_cfg.d_ff
    for ffn in model.ffns():
        assert type(ffn) is MonotonicCMNNFFN and ffn.groups == (f // 2, f // 2, f // 2)  # 3 d_ff / 2 units, thirds
        assert ffn.wi.kind == ffn.wo.kind == ABS and ffn.wo.scale == DOWN_SCALE
    # Two d x (3 d_ff / 2) matrices hold the gated FFN's three d x d_ff: only the biases are extra.
    extra = len(model.ffns()) * (3 * f // 2 + d)
    assert count_parameters(model) - count_parameters(baseline) == extra
    sd, ref = model.state_dict(), baseline.state_dict()
    shared = [k for k in ref if "DenseReluDense" not in k]
    assert shared and all(torch.equal(ref[k], sd[k]) for k in shared)  # same seed: same non-FFN weights


def test_activations_are_non_decreasing_and_what_the_docstring_says():
    z = torch.linspace(-8, 8, 4001)
    for act in (convex, concave, saturated):
        y = act(z)
        assert (y[1:] - y[:-1] >= 0).all(), act.__name__
        assert act(torch.zeros(1)).abs().item() == 0.0
    assert torch.equal(concave(z), -F.elu(-z))
    assert saturated(z).abs().max() < 2.0  # bounded: rho(1) + 1 = 2 is never reached
    assert torch.allclose(saturated(z)[z < 0], F.elu(z[z < 0] + 1) - 1)
    assert torch.allclose(saturated(z)[z >= 0], -F.elu(1 - z[z >= 0]) + 1)
    # The convex units alone are convex (second differences >= 0), the concave ones concave: the mix is neither.
    second = lambda y: y[2:] - 2 * y[1:-1] + y[:-2]  # noqa: E731
    assert (second(convex(z)) >= -1e-6).all() and (second(concave(z)) <= 1e-6).all()
    assert (second(saturated(z)) > 1e-6).any() and (second(saturated(z)) < -1e-6).any()


def test_centred_at_initialisation():
    ffn = _ffn()
    assert ffn(torch.zeros(1, 16)).abs().max() < 1e-6


@pytest.mark.parametrize("trained", [False, True])
def test_passes_pairwise_and_jacobian_checks(trained):
    ffn = _trained_like(_ffn()) if trained else _ffn()
    report = check_monotone(ffn, 16)
    assert report.violating_pairs == 0 and report.worst_decrease >= -1e-6
    assert report.negative_jacobian_entries == 0 and report.min_jacobian_entry >= 0.0
    assert report.monotone


def test_monotone_after_high_learning_rate_steps(tiny_model_cfg, fake_tokenizer):
    model = build_model(tiny_model_cfg, VARIANT, fake_tokenizer, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=1.0)
    ids, labels = torch.randint(2, 100, (4, 12)), torch.randint(2, 100, (4, 6))
    before = model.ffns()[0].wi.raw_weight.detach().clone()
    for _ in range(5):
        opt.zero_grad()
        model(input_ids=ids, labels=labels).loss.backward()
        opt.step()
    assert not torch.allclose(before, model.ffns()[0].wi.raw_weight)
    assert any((f.wi.raw_weight < 0).any() for f in model.ffns())  # raw parameters of both signs...
    assert all(r.monotone for r in check_model(model))  # ...yet monotone


# --- mutants: each must FAIL the same checks -------------------------------------------------------------------


class _OneNegativeWeight(PositiveLinear):
    """Mutant: one down-projection weight negative, large enough to matter (-10x its row's sum; a small one
    would leave the row's sum positive, and f monotone after all)."""

    @property
    def weight(self):
        w = super().weight
        one = F.one_hot(torch.tensor(0), w.numel()).view_as(w).to(w)
        return w - one * (w[0, 0] + 10 * w[0].sum())


class _BumpInsteadOfSaturated(MonotonicCMNNFFN):
    """Mutant: a non-monotone activation (a bump, z exp(-z^2)) in place of the saturated one."""

    ACTIVATIONS = (convex, concave, lambda z: z * torch.exp(-z * z))


class _ForgotTheParametrisation(PositiveLinear):
    """Mutant: the raw parameter used as the weight, both signs."""

    @property
    def weight(self):
        return self.raw_weight


def _with_down(ffn: MonotonicCMNNFFN, cls) -> MonotonicCMNNFFN:
    wo = cls(ffn.wo.in_features, ffn.wo.out_features, bias=True, kind=ABS, scale=DOWN_SCALE)
    wo.load_state_dict(ffn.wo.state_dict())
    ffn.wo = wo
    return ffn


@pytest.mark.parametrize("mutant", ["negative_weight", "bump_activation", "forgot_parametrisation"])
def test_mutants_fail_the_same_checks(mutant):
    if mutant == "negative_weight":
        ffn = _with_down(_trained_like(_ffn()), _OneNegativeWeight)
    elif mutant == "bump_activation":
        torch.manual_seed(0)
        ffn = _trained_like(_BumpInsteadOfSaturated(T5Config(d_model=16, d_ff=32, dropout_rate=0.0)).eval())
    else:
        ffn = _with_down(_trained_like(_ffn()), _ForgotTheParametrisation)
        torch.nn.init.normal_(ffn.wo.raw_weight, std=0.3)
    violating, worst = pairwise_check(ffn, 16)
    negative, jmin = jacobian_check(ffn, 16)
    assert violating > 0 and worst < -1e-4
    assert negative > 0 and jmin < -1e-4
    assert not check_monotone(ffn, 16).monotone
    assert check_monotone(_trained_like(_ffn()), 16).monotone  # the unmutated twin passes


# --- what every variant needs ------------------------------------------------------------------------------------


def test_weight_decay_spares_its_constrained_parameters(tiny_model_cfg, fake_tokenizer):
    """Its ``V`` (of ``W = alpha |V|``) and biases are never decayed -- decided by module type (PositiveLinear) --
    as for ``monotonic``, whose init_only control is undecayed to match; attention and embeddings are decayed."""
    model = build_model(tiny_model_cfg, VARIANT, fake_tokenizer, seed=0)
    decay, no_decay = model.parameter_groups(0.01)
    assert sorted(id(p) for p in decay["params"] + no_decay["params"]) == sorted(id(p) for p in model.parameters())
    ffn_params = {id(p) for f in model.ffns() for p in f.parameters()}
    assert len(ffn_params) == 4 * 4  # wi (raw, bias), wo (raw, bias) per FFN
    assert ffn_params <= {id(p) for p in no_decay["params"]}
    decayed = {id(p) for p in decay["params"]}
    assert id(model.encoder.block[0].layer[0].SelfAttention.q.weight) in decayed and id(model.shared.weight) in decayed


def test_saves_loads_and_mono_s2s_check_supports_it(tmp_path, capsys):
    from mono_s2s.checkpoint import load_checkpoint, save_checkpoint
    from mono_s2s.cli import main
    from mono_s2s.data.synthetic import generate_corpus
    from mono_s2s.tokenizer import train_tokenizer

    cfg = build_config("tiny", overrides=["model.d_model=32", "model.d_ff=64", "model.vocab_size=100",
                                          f"model.variants=baseline,{VARIANT}"])
    tokenizer = train_tokenizer(generate_corpus(0, 40, 4, 4)["train"], cfg.model.vocab_size)
    model = build_model(cfg.model, VARIANT, tokenizer, seed=0).eval()
    for ffn in model.ffns():
        _trained_like(ffn)
    save_checkpoint(tmp_path / "ckpt", model, tokenizer, cfg)
    saved = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert saved["ffn_variant"] == VARIANT and saved["ffn_version"] == 1
    loaded, _, _ = load_checkpoint(tmp_path / "ckpt")  # refuses missing or unexpected keys
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())
    ids = torch.randint(2, 100, (2, 9))
    with torch.no_grad():
        assert torch.equal(loaded(input_ids=ids, labels=ids).logits, model(input_ids=ids, labels=ids).logits)

    capsys.readouterr()
    assert main(["check", str(tmp_path / "ckpt")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["variant"] == VARIANT and report["ffn_monotone"] is True and report["ffn_sublayers"] == 4
    assert all(r["violating_pairs"] == 0 and r["negative_jacobian_entries"] == 0 for r in report["ffns"])

    # The same model with one negative weight in its first FFN: the same check must say so, for that FFN only.
    broken = MonoS2SForConditionalGeneration(model.config)
    broken.load_state_dict(model.state_dict())
    _with_down(broken.ffns()[0], _OneNegativeWeight)
    reports = check_model(broken)
    assert not reports[0].monotone and reports[0].violating_pairs > 0 and all(r.monotone for r in reports[1:])


def test_trains_with_the_trainer(trained_briefly):
    start, result, trained = trained_briefly(VARIANT)
    assert result.epochs_trained == 1 and torch.isfinite(torch.tensor(result.best_val_loss))
    assert trained.ffn_variant == VARIANT
    assert not torch.equal(trained.ffns()[0].wi.raw_weight, start["encoder.block.0.layer.1.DenseReluDense.wi.raw_weight"])
    assert all(r.monotone for r in check_model(trained))


def test_converts_a_pretrained_relu_t5(tiny_relu_t5):
    hf, tiny_model_cfg = tiny_relu_t5
    model = build_model(tiny_model_cfg, VARIANT)
    src = hf.encoder.block[0].layer[-1].DenseReluDense
    ffn = model.ffns()[0]
    assert type(ffn) is MonotonicCMNNFFN and sum(ffn.groups) == hf.config.d_ff  # d_ff units, as the ReLU FFN
    assert torch.allclose(ffn.wi.weight, src.wi.weight.abs().clamp_min(1e-4), rtol=1e-5)
    assert torch.allclose(ffn.wo.weight, (src.wo.weight * 0.01).abs().clamp_min(1e-4), rtol=1e-5)
    assert torch.equal(model.encoder.block[0].layer[0].SelfAttention.q.weight,
                       hf.encoder.block[0].layer[0].SelfAttention.q.weight)
    assert all(r.monotone for r in check_model(model))


def test_refuses_a_pretrained_gated_t5_in_one_line(tmp_path, tiny_model_cfg):
    torch.manual_seed(0)
    T5ForConditionalGeneration(T5Config(vocab_size=100, d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=4,
                                        feed_forward_proj="gated-gelu", decoder_start_token_id=0)).save_pretrained(tmp_path)
    tiny_model_cfg.pretrained = str(tmp_path)
    with pytest.raises(UserError, match=r"monotonic_cmnn cannot start from a pretrained gated T5 FFN") as err:
        build_model(tiny_model_cfg, VARIANT)
    assert "\n" not in str(err.value) and "t5-small" in str(err.value)
    assert all(r.monotone for r in check_model(build_model(tiny_model_cfg, "monotonic")))  # monotonic converts it
