"""Is an FFN sublayer doing anything? Three numbers per layer, measured on real inputs.

A constrained FFN can pass every monotonicity check by doing almost nothing: the
origin audit of this project found the monotone FFN's output at 6-16 % of the
residual stream (the baseline's at 76-173 %), most of its down projection's weights
below 1e-3 and its outputs nearly rank 1. :func:`ffn_diagnostics` measures, for
every FFN sublayer (``block[i].layer[-1]``, encoder then decoder) on a batch of
examples in eval mode:

* ``output_residual_ratio`` -- mean over real tokens of ``||f(LN(x))|| / ||x||``,
  the FFN's output against the residual stream ``x`` it is added to;
* ``small_weight_fraction`` / ``small_down_fraction`` -- the share of the
  effective weights below :data:`SMALL_WEIGHT` in magnitude (every weight; the
  down projection ``wo``) of the monotone FFN (:class:`PositiveLinear`) and of
  ``init_only``, its unconstrained twin started from the same weights, so that
  the two can be compared; None for the other FFNs;
* ``top3_variance_share`` -- the share of the (token-centred) FFN outputs'
  variance in their top three singular directions: near 1 means the FFN writes
  (almost) one direction whatever the input.
"""

from __future__ import annotations

from typing import Any

import torch

from mono_s2s.models.controls import InitOnlyFFN, InitOnlyGatedFFN
from mono_s2s.models.monotone import PositiveLinear

SMALL_WEIGHT = 1e-3


def _small_fraction(modules) -> float | None:
    weights = [m.weight.detach().flatten() for m in modules]
    if not weights:
        return None
    w = torch.cat(weights)
    return float((w.abs() < SMALL_WEIGHT).float().mean())


@torch.no_grad()
def ffn_diagnostics(model, batch: dict[str, torch.Tensor]) -> list[dict[str, Any]]:
    """One row per FFN sublayer (``stack``, ``layer`` and the three measures) for ``batch``
    (``input_ids``, ``attention_mask``, ``labels`` as :func:`mono_s2s.batching.collate` makes them)."""
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    masks = {"encoder": batch["attention_mask"].bool(), "decoder": batch["labels"] != -100}
    captured: dict[tuple[str, int], dict[str, torch.Tensor]] = {}
    hooks = []
    for stack_name in ("encoder", "decoder"):
        for i, block in enumerate(getattr(model, stack_name).block):
            layer_ff = block.layer[-1]
            ffn = getattr(layer_ff, "DenseReluDense", None)
            if ffn is None:
                continue  # attention_only: no FFN sublayer here
            key = (stack_name, i)
            hooks.append(layer_ff.register_forward_hook(
                lambda m, inputs, output, key=key: captured.setdefault(key, {}).__setitem__("x", inputs[0])))
            hooks.append(ffn.register_forward_hook(
                lambda m, inputs, output, key=key: captured.setdefault(key, {}).__setitem__("f", output)))
    was_training = model.training
    model.eval()
    try:
        labels = batch["labels"]
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
              decoder_input_ids=model._shift_right(labels))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    rows = []
    for (stack_name, i), got in captured.items():
        mask = masks[stack_name]
        x, f = got["x"][mask].float(), got["f"][mask].float()  # (tokens, d_model)
        ratio = (f.norm(dim=-1) / x.norm(dim=-1).clamp_min(1e-12)).mean()
        centred = f - f.mean(dim=0, keepdim=True)
        s2 = torch.linalg.svdvals(centred) ** 2
        ffn = getattr(model, stack_name).block[i].layer[-1].DenseReluDense
        twin = isinstance(ffn, (InitOnlyGatedFFN, InitOnlyFFN))
        counted = [m for m in ffn.modules()
                   if isinstance(m, PositiveLinear) or (twin and isinstance(m, torch.nn.Linear))]
        down = [m for m in (getattr(ffn, "wo", None),) if m is not None and any(m is c for c in counted)]
        rows.append({"stack": stack_name, "layer": i, "output_residual_ratio": float(ratio),
                     "small_weight_fraction": _small_fraction(counted), "small_down_fraction": _small_fraction(down),
                     "top3_variance_share": float(s2[:3].sum() / s2.sum().clamp_min(1e-30))})
    return rows


def summarize_diagnostics(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """Means over the FFN sublayers (None where no layer has the measure, e.g. no FFN at all)."""
    out: dict[str, float | None] = {}
    for name in ("output_residual_ratio", "small_weight_fraction", "small_down_fraction", "top3_variance_share"):
        values = [r[name] for r in rows if r[name] is not None]
        out[name] = sum(values) / len(values) if values else None
    return out


__all__ = ["SMALL_WEIGHT", "ffn_diagnostics", "summarize_diagnostics"]
