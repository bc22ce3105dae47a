"""The analysis figure: drawn from synthetic tables, saved atomically, robust to partial inputs."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from mono_s2s.attacks import ATTACKS
from mono_s2s.figures import analysis_figure, save_figure

PANELS = ("mean_degradation", "improvement", "distributions", "perplexity", "ecdf", "heatmap", "clean", "transfer")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_pairs(models=("nonmono", "mono"), attacks=ATTACKS, n=30, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for a_i, attack in enumerate(attacks):
        for m_i, model in enumerate(models):
            original = rng.normal(2.5, 0.4, n)
            attacked = original + rng.gamma(2.0, 0.6 / (1 + m_i) * (1 + a_i / 4), n) - 0.2
            for i in range(n):
                d = attacked[i] - original[i]
                rows.append({"attack": attack, "model": model, "sample_id": f"s{i}", "original_nll": original[i],
                             "attacked_nll": attacked[i], "abs_degradation": d, "rel_degradation": d / original[i],
                             "success": d > 0.5})
    return pd.DataFrame(rows)


def make_table(pairs: pd.DataFrame, nan_attack: str | None = None) -> pd.DataFrame:
    """A table shaped like the stats step's output (its numbers need not be statistically exact here)."""
    means = pairs.groupby(["attack", "model"])["abs_degradation"].mean().unstack()
    attacks = list(dict.fromkeys(pairs["attack"]))
    table = pd.DataFrame(index=pd.Index(attacks, name="attack"))
    for m in ("nonmono", "mono"):
        table[f"{m}_mean"] = means.loc[attacks, m]
        table[f"{m}_ci_low"] = table[f"{m}_mean"] - 0.1
        table[f"{m}_ci_high"] = table[f"{m}_mean"] + 0.15
    table["improvement_pct"] = 100 * (1 - table["mono_mean"] / table["nonmono_mean"])
    table["holm_p"] = np.linspace(1e-4, 0.3, len(attacks))
    table["significance"] = (["***", "**", "*", "ns", "n/a"] * 2)[: len(attacks)]
    if nan_attack is not None:
        table.loc[nan_attack, "improvement_pct"] = np.nan
    return table


def make_clean(models=("nonmono", "mono")) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    data = {}
    for key in ("rouge1", "rouge2", "rougeL"):
        mean = rng.uniform(0.15, 0.4, len(models))
        data |= {f"{key}_mean": mean, f"{key}_ci_low": mean - 0.02, f"{key}_ci_high": mean + 0.03}
    return pd.DataFrame(data, index=list(models))


def make_transfer(models=("nonmono", "mono")) -> dict:
    rng = np.random.default_rng(2)
    matrix = {s: {t: float(rng.uniform(0, 2)) for t in models} for s in models}
    matrix[models[0]][models[-1]] = None  # a transfer run that did not finish
    return {"hotflip": matrix, "universal": {s: dict(row) for s, row in matrix.items()}}


def panel(fig, label: str):
    found = [ax for ax in fig.axes if ax.get_label() == label]
    assert found, f"no axes labelled {label!r}; labels: {[ax.get_label() for ax in fig.axes]}"
    return found


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_full_figure_saves_png(tmp_path):
    pairs = make_pairs()
    fig = analysis_figure(pairs, make_table(pairs, nan_attack="nes"), make_clean(), make_transfer(), title="synthetic")
    # Eight panels, one axes each: no colorbars, no sub-axes.
    assert [ax.get_label() for ax in fig.axes] == list(PANELS)
    assert fig.get_suptitle() == "synthetic"

    old_umask = os.umask(0o022)  # fixed, so the permission check below means the same everywhere
    try:
        out = save_figure(fig, tmp_path / "fig" / "analysis.png")
    finally:
        os.umask(old_umask)
    assert out == tmp_path / "fig" / "analysis.png"
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 20_000
    # Only the PNG remains: the temp file was renamed, not copied; others may read it.
    assert [p.name for p in out.parent.iterdir()] == ["analysis.png"]
    assert out.stat().st_mode & 0o044 == 0o044


def test_nan_improvement_is_marked_undefined():
    pairs = make_pairs()
    (improvement,) = panel(analysis_figure(pairs, make_table(pairs, nan_attack="nes")), "improvement")
    labels = texts(improvement)
    assert labels.count("undefined") == 1
    # The defined attacks still carry their value; position 2 (nes) is the undefined one.
    assert sum(s.endswith("%") for s in labels) == len(ATTACKS) - 1
    undefined = next(t for t in improvement.texts if t.get_text() == "undefined")
    assert undefined.get_position()[0] == pytest.approx(2)


def test_significance_marks_above_groups():
    pairs = make_pairs()
    table = make_table(pairs)
    (means,) = panel(analysis_figure(pairs, table), "mean_degradation")
    assert texts(means) == list(table["significance"])
    for t, high in zip(means.texts, table[["nonmono_ci_high", "mono_ci_high"]].max(axis=1)):
        assert t.get_position()[1] > high  # above the highest error bar, not inside it
    assert means.get_ylim()[1] > max(t.get_position()[1] for t in means.texts)


def test_missing_clean_and_transfer_are_stated():
    pairs = make_pairs()
    fig = analysis_figure(pairs, make_table(pairs))
    assert [ax.get_label() for ax in fig.axes] == list(PANELS)
    assert "no clean-quality data" in texts(panel(fig, "clean")[0])
    assert "no transfer data" in texts(panel(fig, "transfer")[0])


def test_transfer_none_cell_shown_as_na():
    pairs = make_pairs()
    transfer = make_transfer()
    fig = analysis_figure(pairs, make_table(pairs), transfer=transfer)
    (ax,) = panel(fig, "transfer")
    # 2 x 2 cells per kind, one None in each, plus the two kind headers.
    assert len(ax.texts) == 2 * 4 + 2
    assert texts(ax).count("n/a") == 2
    assert {"hotflip", "universal", f"{transfer['hotflip']['mono']['mono']:.2f}"} <= set(texts(ax))
    # Only one kind given: its block alone, not an empty second one.
    fig = analysis_figure(pairs, make_table(pairs), transfer={"hotflip": transfer["hotflip"], "universal": {}})
    (ax,) = panel(fig, "transfer")
    assert "universal" not in texts(ax)
    assert len(ax.get_xticks()) == 2


def test_third_model_is_drawn():
    models = ("nonmono", "mono", "softplus_gate")
    pairs = make_pairs(models)
    fig = analysis_figure(pairs, make_table(pairs), make_clean(models), make_transfer(models))
    (heatmap,) = panel(fig, "heatmap")
    assert [t.get_text() for t in heatmap.get_xticklabels()] == ["non-monotone", "monotone", "softplus_gate"]
    assert len(heatmap.texts) == len(ATTACKS) * len(models)
    (ecdf,) = panel(fig, "ecdf")
    assert len(ecdf.lines) == len(models) + 1  # one step line per model, plus the zero line
    assert len({line.get_linestyle() for line in ecdf.lines[:-1]}) == len(models)
    (clean,) = panel(fig, "clean")
    assert len(clean.patches) == 3 * len(models)
    # Three colours in the figure legend, one per model.
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["non-monotone", "monotone", "softplus_gate"]
    assert len({tuple(h.get_facecolor()) for h in legend.legend_handles}) == len(models)


def test_some_attacks_and_single_sample(tmp_path):
    pairs = make_pairs(attacks=("universal", "ood"), n=1)
    table = make_table(pairs, nan_attack="ood")
    table[["nonmono_ci_low", "nonmono_ci_high"]] = np.nan  # one sample: no interval
    fig = analysis_figure(pairs, table)
    (means,) = panel(fig, "mean_degradation")
    assert [t.get_text() for t in means.get_xticklabels()] == ["universal", "ood"]
    assert save_figure(fig, tmp_path / "b.png", dpi=40).read_bytes()[:8] == PNG_MAGIC


def test_empty_inputs_raise():
    pairs = make_pairs()
    table = make_table(pairs)
    with pytest.raises(ValueError, match="table is empty"):
        analysis_figure(pairs, table.iloc[0:0])
    with pytest.raises(ValueError, match="pairs frame is empty"):
        analysis_figure(pairs.iloc[0:0], table)
    with pytest.raises(ValueError, match="abs_degradation"):
        analysis_figure(pairs.drop(columns="abs_degradation"), table)


def test_failed_save_leaves_no_temp_file(tmp_path, monkeypatch):
    pairs = make_pairs(n=5)
    fig = analysis_figure(pairs, make_table(pairs))
    target = tmp_path / "c.png"
    target.write_bytes(b"previous figure")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        save_figure(fig, target)
    # The earlier file is intact and no partial temp file was left next to it.
    assert target.read_bytes() == b"previous figure"
    assert [p.name for p in tmp_path.iterdir()] == ["c.png"]
