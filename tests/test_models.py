"""The three FFN variants: structure, parameter parity, and the monotonicity claim.

The checks must pass on ``monotonic`` and must FAIL on ``baseline``,
``softplus_gate`` and two mutants of the monotone FFN, which proves they can fail.
"""

from __future__ import annotations

import json

import pytest
import torch
from torch.nn import functional as F

from mono_s2s.config import VARIANTS as CONFIG_VARIANTS
from mono_s2s.errors import UserError
from mono_s2s.models import (FFN_VARIANTS, InitOnlyFFN, MonoS2SForConditionalGeneration, MonotonicFFN,
                             MonotonicGatedFFN, PositiveLinear, SoftplusGatedFFN, build_ffn, build_model,
                             count_parameters)
from mono_s2s.models.checks import check_model, check_monotone, jacobian_check, pairwise_check
from mono_s2s.models.monotone import ABS, BETA, DOWN_SCALE, SOFTPLUS
from mono_s2s.models.t5 import t5_config
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


# --- versions of the monotone FFN's definition ------------------------------------------------------------------


def _random_raw_weights(model, seed: int = 0) -> None:
    """Raw parameters of both signs and several scales, as training leaves them (not the start's round trip)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, PositiveLinear):
                m.raw_weight.copy_(torch.randn(m.raw_weight.shape, generator=g) * 0.2)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)


def test_new_models_record_the_current_version_of_their_definition(tmp_path, tiny_model_cfg, fake_tokenizer):
    for variant in CONFIG_VARIANTS:
        model = build_model(tiny_model_cfg, variant, fake_tokenizer, seed=0)
        assert model.config.ffn_version == FFN_VARIANTS[variant].version
    assert FFN_VARIANTS["monotonic"].version == 2
    model = build_model(tiny_model_cfg, "monotonic", fake_tokenizer, seed=0)
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["ffn_version"] == 2
    loaded = MonoS2SForConditionalGeneration.from_pretrained(tmp_path)
    assert all(m.kind == ABS for f in loaded.ffns() for m in (f.wi_0, f.wi_1, f.wo))
    assert loaded.ffns()[0].wo.scale == DOWN_SCALE == 2.0 ** -7


def test_an_old_monotonic_checkpoint_loads_as_version_1_with_identical_outputs(tmp_path, tiny_model_cfg):
    """A config.json without ffn_version (what the code wrote before versions existed) is version 1: W = softplus(20 V)
    / 20, computed here by hand from the saved raw parameters; the same parameters read as version 2 mean another
    function, so the version is what carries the meaning (and the test can fail)."""
    config = t5_config(tiny_model_cfg, 100, "monotonic")
    del config.ffn_version
    torch.manual_seed(0)
    old = MonoS2SForConditionalGeneration(config).eval()
    _random_raw_weights(old)
    old.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["ffn_variant"] == "monotonic" and "ffn_version" not in saved

    loaded = MonoS2SForConditionalGeneration.from_pretrained(tmp_path).eval()
    assert all(m.kind == SOFTPLUS for f in loaded.ffns() for m in (f.wi_0, f.wi_1, f.wo))
    ids, labels = torch.randint(2, 100, (3, 11)), torch.randint(2, 100, (3, 5))
    with torch.no_grad():
        assert torch.equal(loaded(input_ids=ids, labels=labels).logits, old(input_ids=ids, labels=labels).logits)
        sd = loaded.state_dict()
        prefix = "encoder.block.0.layer.1.DenseReluDense."
        w = {k: F.softplus(sd[prefix + k + ".raw_weight"], beta=20.0) / 1.0 for k in ("wi_0", "wi_1", "wo")}
        x = torch.randn(7, 32)
        by_hand = (torch.sigmoid(x @ w["wi_0"].T) * F.softplus(x @ w["wi_1"].T)) @ w["wo"].T + sd[prefix + "wo.bias"]
        assert torch.allclose(loaded.ffns()[0](x), by_hand, atol=1e-6)

        as_v2 = json.loads((tmp_path / "config.json").read_text())
        as_v2["ffn_version"] = 2
        (tmp_path / "config.json").write_text(json.dumps(as_v2))
        other = MonoS2SForConditionalGeneration.from_pretrained(tmp_path).eval()
        assert not torch.allclose(other.ffns()[0](x), by_hand, atol=1e-3)


def test_both_versions_start_from_the_same_weights_and_differ_in_how_a_step_moves_them():
    """Bit for bit the same start (so init_only is the control of either); then one Adam step of lr on every V
    moves a version-1 weight by (1 - exp(-BETA W)) lr, about BETA W lr for small W (in proportion to itself), and
    a version-2 weight by scale * lr whatever its size (the baseline's step, on the projection's scale)."""
    torch.manual_seed(0)
    dense = T5DenseGatedActDense(_ffn_config(16, 32))
    with torch.no_grad():
        for w in (dense.wi_0.weight, dense.wi_1.weight, dense.wo.weight):
            w.normal_(0.0, w.shape[1] ** -0.5)  # T5's scales
    ffns = {}
    for version in (1, 2):
        config = _ffn_config(16, 32)
        config.ffn_version = version
        ffns[version] = MonotonicGatedFFN(config)
        ffns[version].init_from_dense(dense)
    for name in ("wi_0", "wi_1", "wo"):
        assert torch.equal(getattr(ffns[1], name).weight, getattr(ffns[2], name).weight), name
    x = torch.randn(5, 16)
    assert torch.equal(ffns[1](x), ffns[2](x))
    lr = 1e-3
    start, moved = ffns[1].wo.weight.detach().clone(), {}
    for version, ffn in ffns.items():
        opt = torch.optim.Adam(ffn.parameters(), lr=lr)
        (-ffn.wo.weight.sum() - ffn.wi_1.weight.sum()).backward()  # every weight should grow
        opt.step()
        moved[version] = ffn.wo.weight.detach() - start
        assert (ffn.wo.weight >= 0).all()
    assert torch.allclose(moved[1], (1 - torch.exp(-BETA * start)) * lr, rtol=2e-2)  # multiplicative for small W
    assert torch.allclose(moved[2], torch.full_like(start, DOWN_SCALE * lr), rtol=1e-3)  # additive
    assert torch.allclose(ffns[2].wi_1.weight - dense.wi_1.weight.abs().clamp_min(1e-4), torch.tensor(lr), rtol=1e-2)


def test_an_unknown_version_is_a_one_line_error(tmp_path, tiny_model_cfg, fake_tokenizer):

    model = build_model(tiny_model_cfg, "monotonic", fake_tokenizer, seed=0)
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    saved["ffn_version"] = 3
    (tmp_path / "config.json").write_text(json.dumps(saved))
    with pytest.raises(UserError, match=r"monotonic FFN is version 3; this mono-s2s knows versions 1-2"):
        MonoS2SForConditionalGeneration.from_pretrained(tmp_path)
    config = T5Config(d_model=16, d_ff=32, feed_forward_proj="gated-silu", ffn_variant="baseline", ffn_version=2)
    with pytest.raises(UserError, match=r"baseline FFN is version 2; this mono-s2s knows version 1\b"):
        build_ffn(config)
