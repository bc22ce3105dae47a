"""The three FFN variants: structure, parameter parity, and the monotonicity claim.

The checks must pass on ``monotonic`` and must FAIL on ``baseline``,
``softplus_gate`` and two mutants of the monotone FFN, which proves they can fail.
"""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from mono_s2s.config import VARIANTS as CONFIG_VARIANTS
from mono_s2s.errors import UserError
from mono_s2s.models import (FFN_VARIANTS, InitOnlyFFN, MonoS2SForConditionalGeneration, MonotonicFFN,
                             MonotonicGatedFFN, PositiveLinear, SoftplusGatedFFN, build_ffn, build_model,
                             count_parameters)
from mono_s2s.models.checks import check_model, check_monotone, jacobian_check, pairwise_check
from transformers import T5Config, T5ForConditionalGeneration
from transformers.models.t5.modeling_t5 import T5DenseGatedActDense

VARIANTS = ("baseline", "softplus_gate", "monotonic")


def _ffn_config(d_model: int, d_ff: int) -> T5Config:
    return T5Config(d_model=d_model, d_ff=d_ff, dropout_rate=0.0, feed_forward_proj="gated-silu")


def _models(cfg, tok):
    return {v: build_model(cfg, v, tok, seed=0) for v in VARIANTS}


def test_variants_are_t5_with_the_ffn_at_hf_path(tiny_model_cfg, fake_tokenizer):
    expected = {"baseline": T5DenseGatedActDense, "softplus_gate": SoftplusGatedFFN, "monotonic": MonotonicGatedFFN}
    for variant, model in _models(tiny_model_cfg, fake_tokenizer).items():
        assert isinstance(model, T5ForConditionalGeneration)
        assert model.config.ffn_variant == variant
        assert len(model.ffns()) == 4
        for block in list(model.encoder.block) + list(model.decoder.block):
            assert type(block.layer[-1].DenseReluDense) is expected[variant]


def test_parameter_counts_within_one_percent(tiny_model_cfg, fake_tokenizer):
    counts = {v: count_parameters(m) for v, m in _models(tiny_model_cfg, fake_tokenizer).items()}
    base = counts["baseline"]
    for variant, n in counts.items():
        assert abs(n - base) / base < 0.01, counts


def test_same_seed_gives_same_non_ffn_weights(tiny_model_cfg, fake_tokenizer):
    models = _models(tiny_model_cfg, fake_tokenizer)
    ref = models["baseline"].state_dict()
    for variant in ("softplus_gate", "monotonic"):
        sd = models[variant].state_dict()
        shared = [k for k in ref if "DenseReluDense" not in k]
        assert shared and all(torch.equal(ref[k], sd[k]) for k in shared)
    # The monotone FFN starts from the baseline's weight magnitudes.
    b, m = models["baseline"].ffns()[0], models["monotonic"].ffns()[0]
    assert torch.allclose(m.wi_0.weight, b.wi_0.weight.abs(), atol=2e-4)


def test_monotone_ffn_maps_zero_to_zero_at_init(tiny_model_cfg, fake_tokenizer):
    model = build_model(tiny_model_cfg, "monotonic", fake_tokenizer, seed=0).eval()
    for ffn in model.ffns():
        assert ffn(torch.zeros(1, 32)).abs().max() < 1e-5


# --- the monotonicity claim -------------------------------------------------------------------------------------


def test_monotonic_passes_pairwise_and_jacobian_checks(tiny_model_cfg, fake_tokenizer):
    model = build_model(tiny_model_cfg, "monotonic", fake_tokenizer, seed=0)
    for report in check_model(model):
        assert report.violating_pairs == 0 and report.worst_decrease >= -1e-6
        assert report.negative_jacobian_entries == 0 and report.min_jacobian_entry >= 0.0
        assert report.monotone


@pytest.mark.parametrize("variant", ["baseline", "softplus_gate"])
def test_non_monotone_variants_fail_the_same_checks(tiny_model_cfg, fake_tokenizer, variant):
    model = build_model(tiny_model_cfg, variant, fake_tokenizer, seed=0)
    for report in check_model(model):
        assert report.violating_pairs > 0 and report.worst_decrease < -1e-3
        assert report.negative_jacobian_entries > 0 and report.min_jacobian_entry < -1e-3
        assert not report.monotone


class _SignedLinear(PositiveLinear):
    """Mutant: the reparametrisation forgotten, weights of both signs."""

    @property
    def weight(self):
        return self.raw_weight


class _SiluGateMutant(MonotonicGatedFFN):
    """Mutant: non-negative weights but a SiLU gate, which dips for inputs below about -1.28."""

    def hidden(self, x):
        return F.silu(self.wi_0(x)) * F.softplus(self.wi_1(x))


def test_checks_catch_a_forgotten_reparametrisation():
    torch.manual_seed(0)
    ffn = MonotonicGatedFFN(_ffn_config(16, 32)).eval()
    ffn.wo = _SignedLinear(32, 16, bias=True)
    torch.nn.init.normal_(ffn.wo.raw_weight)
    assert not check_monotone(ffn, 16).monotone


def test_checks_catch_a_silu_dip_with_positive_weights():
    torch.manual_seed(0)
    ffn = _SiluGateMutant(_ffn_config(16, 32)).eval()
    violating, worst = pairwise_check(ffn, 16)
    negative, jmin = jacobian_check(ffn, 16)
    assert violating > 0 and worst < 0
    assert negative > 0 and jmin < 0


def test_monotone_after_high_learning_rate_steps(tiny_model_cfg, fake_tokenizer):
    model = build_model(tiny_model_cfg, "monotonic", fake_tokenizer, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=1.0)
    ids = torch.randint(2, 100, (4, 12))
    labels = torch.randint(2, 100, (4, 6))
    before = model.ffns()[0].wi_0.raw_weight.detach().clone()
    for _ in range(5):
        opt.zero_grad()
        model(input_ids=ids, labels=labels).loss.backward()
        opt.step()
    assert not torch.allclose(before, model.ffns()[0].wi_0.raw_weight)  # the steps did move the weights
    assert any((ffn.wi_0.raw_weight < 0).any() for ffn in model.ffns())  # raw params went negative...
    assert all(r.monotone for r in check_model(model))  # ...yet the FFNs stay monotone


def test_monotone_after_save_load_round_trip(tmp_path, tiny_model_cfg, fake_tokenizer):
    model = build_model(tiny_model_cfg, "monotonic", fake_tokenizer, seed=0)
    model.save_pretrained(tmp_path)
    loaded = MonoS2SForConditionalGeneration.from_pretrained(tmp_path)
    assert loaded.config.ffn_variant == "monotonic"
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    assert all(r.monotone for r in check_model(loaded))


def test_pretrained_t5_converted_to_monotone(tiny_relu_t5):
    """A (tiny, local) original-T5 checkpoint with a ReLU FFN: baseline keeps it, monotonic constrains it."""
    hf, tiny_model_cfg = tiny_relu_t5
    baseline = build_model(tiny_model_cfg, "baseline")
    mono = build_model(tiny_model_cfg, "monotonic")
    assert all(torch.equal(v, baseline.state_dict()[k]) for k, v in hf.state_dict().items())
    assert all(isinstance(f, MonotonicFFN) for f in mono.ffns())
    src = hf.encoder.block[0].layer[-1].DenseReluDense
    assert torch.allclose(mono.ffns()[0].wi.weight, src.wi.weight.abs().clamp_min(1e-4), atol=1e-5)
    assert torch.equal(mono.encoder.block[0].layer[0].SelfAttention.q.weight,
                       hf.encoder.block[0].layer[0].SelfAttention.q.weight)
    assert all(r.monotone for r in check_model(mono))
    assert not all(r.monotone for r in check_model(baseline))


def test_the_ffn_registry_holds_every_configurable_variant_and_builds_one_per_call():
    assert set(FFN_VARIANTS) == set(CONFIG_VARIANTS)
    gated = _ffn_config(16, 32)
    for name, variant in FFN_VARIANTS.items():
        gated.ffn_variant = name
        ffn = build_ffn(gated)
        assert (ffn is None) == (variant.hf_own or variant.layer is not None)  # layer: attention_only, no FFN
        if ffn is not None:
            assert type(ffn) is variant.gated and build_ffn(gated) is not ffn
    plain = T5Config(d_model=16, d_ff=32, feed_forward_proj="relu", ffn_variant="monotonic")
    assert isinstance(build_ffn(plain), MonotonicFFN)
    plain.ffn_variant = "init_only"
    assert isinstance(build_ffn(plain), InitOnlyFFN)
    plain.ffn_variant = "softplus_gate"
    with pytest.raises(UserError, match="softplus_gate needs a gated T5 FFN.*'relu'"):
        build_ffn(plain)
    plain.ffn_variant = "nosuch"
    with pytest.raises(UserError, match="unknown variant 'nosuch'"):
        build_ffn(plain)


@pytest.mark.parametrize("variant", VARIANTS)
def test_weight_decay_is_chosen_by_module_type(tiny_model_cfg, fake_tokenizer, variant):
    model = build_model(tiny_model_cfg, variant, fake_tokenizer, seed=0)
    decay, no_decay = model.parameter_groups(0.01)
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    ids = [id(p) for p in decay["params"] + no_decay["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())  # every parameter exactly once
    raw = [m.raw_weight for m in model.modules() if isinstance(m, PositiveLinear)]
    assert (len(raw) > 0) == (variant == "monotonic")
    assert all(any(p is r for p in no_decay["params"]) for r in raw)  # 2-D, yet never decayed
    assert all(p.ndim >= 2 for p in decay["params"]) and all(p.ndim < 2 for p in no_decay["params"]
                                                               if not any(p is r for r in raw))
    assert any(p is model.shared.weight for p in decay["params"])
    assert any(p is model.ffns()[0].wo.weight for p in decay["params"]) == (variant != "monotonic")
