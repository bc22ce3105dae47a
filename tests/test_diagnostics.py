"""FFN diagnostics: each measure against a case whose answer is known."""

from __future__ import annotations

import pytest
import torch

from mono_s2s.batching import collate
from mono_s2s.models import build_model
from mono_s2s.models.diagnostics import SMALL_WEIGHT, ffn_diagnostics, summarize_diagnostics
from mono_s2s.models.monotone import PositiveLinear

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    sizes = ((9, 4), (6, 7), (12, 3))  # (source, summary) lengths: padding in both, so masks matter
    examples = [{"input_ids": torch.randint(2, 100, (n,), generator=g).tolist() + [1],
                 "labels": torch.randint(2, 100, (m,), generator=g).tolist() + [1]} for n, m in sizes]
    return collate(examples, pad_id=0)


def _model(cfg, tok, variant):
    return build_model(cfg, variant, tok, seed=0).eval()


def test_one_row_per_ffn_sublayer_and_no_constraint_measure_for_an_unconstrained_ffn(tiny_model_cfg, fake_tokenizer,
                                                                                      batch):
    rows = ffn_diagnostics(_model(tiny_model_cfg, fake_tokenizer, "baseline"), batch)
    assert [(r["stack"], r["layer"]) for r in rows] == [("encoder", 0), ("encoder", 1), ("decoder", 0), ("decoder", 1)]
    assert all(r["small_weight_fraction"] is None and r["small_down_fraction"] is None for r in rows)
    assert all(r["output_residual_ratio"] > 0 and 0 < r["top3_variance_share"] <= 1 for r in rows)


def test_the_ratio_is_zero_for_a_silent_ffn_and_linear_in_the_down_projection(tiny_model_cfg, fake_tokenizer, batch):
    model = _model(tiny_model_cfg, fake_tokenizer, "baseline")
    first = model.ffns()[0]
    before = ffn_diagnostics(model, batch)[0]["output_residual_ratio"]
    with torch.no_grad():
        first.wo.weight.mul_(2.0)
    assert ffn_diagnostics(model, batch)[0]["output_residual_ratio"] == pytest.approx(2 * before, rel=1e-5)
    with torch.no_grad():
        first.wo.weight.zero_()
    assert ffn_diagnostics(model, batch)[0]["output_residual_ratio"] == 0.0


def test_an_ffn_writing_one_direction_has_all_its_variance_in_the_top_three(tiny_model_cfg, fake_tokenizer, batch):
    model = _model(tiny_model_cfg, fake_tokenizer, "baseline")
    wo = model.ffns()[0].wo
    with torch.no_grad():
        u, v = torch.randn(wo.out_features, 1), torch.randn(1, wo.in_features)
        wo.weight.copy_(u @ v)  # rank 1: every output is a multiple of u
    rows = ffn_diagnostics(model, batch)
    assert rows[0]["top3_variance_share"] == pytest.approx(1.0, abs=1e-6)
    assert rows[1]["top3_variance_share"] < 0.99  # an untouched layer is not


def test_small_weights_are_counted_on_the_effective_constrained_weights(tiny_model_cfg, fake_tokenizer, batch):
    model = _model(tiny_model_cfg, fake_tokenizer, "monotonic")
    rows = ffn_diagnostics(model, batch)
    ffn = model.ffns()[0]
    weights = torch.cat([m.weight.flatten() for m in ffn.modules() if isinstance(m, PositiveLinear)])
    assert rows[0]["small_weight_fraction"] == pytest.approx(float((weights < SMALL_WEIGHT).float().mean()))
    assert rows[0]["small_down_fraction"] == pytest.approx(float((ffn.wo.weight < SMALL_WEIGHT).float().mean()))
    means = summarize_diagnostics(rows)
    assert means["small_weight_fraction"] == pytest.approx(sum(r["small_weight_fraction"] for r in rows) / len(rows))
    assert summarize_diagnostics([]) == dict.fromkeys(means)  # no FFN at all: every measure is null


def test_the_unconstrained_twin_is_measured_like_the_monotone_ffn(tiny_model_cfg, fake_tokenizer, batch):
    mono = ffn_diagnostics(_model(tiny_model_cfg, fake_tokenizer, "monotonic"), batch)
    twin = ffn_diagnostics(_model(tiny_model_cfg, fake_tokenizer, "init_only"), batch)
    for m, t in zip(mono, twin):  # the same start, bit for bit: the same numbers
        assert t["small_weight_fraction"] == m["small_weight_fraction"] is not None
        assert t["small_down_fraction"] == m["small_down_fraction"]
        assert t["output_residual_ratio"] == pytest.approx(m["output_residual_ratio"], rel=1e-5)
    assert ffn_diagnostics(_model(tiny_model_cfg, fake_tokenizer, "attention_only"), batch) == []
