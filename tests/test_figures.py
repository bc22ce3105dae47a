"""The figures: the analysis figure (v2) from hand-made curve sections and arms frames with 2 and 5 arms,
readable (no overlapping labels), robust to NaN and missing parts, saved atomically."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer

from mono_s2s.attacks import ATTACKS
from mono_s2s.figures import CURVE_PANEL, analysis_figure, curves_figure, save_figure

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TWO = ("nonmono", "mono")
FIVE = ("nonmono", "mono", "mono_matched", "init_only", "attention_only")
NAMES = {"nonmono": "non-monotone", "mono": "monotone"}  # legend names; other slugs are shown as they are
UNITS = {"hotflip": "trigger tokens", "universal": "trigger tokens", "nes": "trigger tokens",
         "substitution": "words", "injection": "templates", "ood": "words"}
POINT_MEASURES = ("rouge_drop", "fact_recall_drop", "success", "abs_degradation", "adversarial_excess")
ARM_MEASURES = ("rouge_drop", "fact_recall_drop", "adversarial_excess", "abs_degradation", "rel_degradation",
                "success")
BUDGETS = (1, 2, 3, 6)
HEADLINE = 3


def _stat(mean: float, half: float = 0.03, n: int = 20) -> dict:
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def make_inputs(models=TWO, attacks=ATTACKS, seed=0) -> tuple[dict, pd.DataFrame]:
    """A ``curves`` section (results-file format) and the matching long arms frame at the headline budget.

    Values depend on (attack, model, budget) so that bars and lines can be told apart: the arm at index
    k has its ROUGE-L drop divided by (1 + k), and its excess at attack i is ``0.1 * (i + 1) - 0.05 * k``.
    """
    rng = np.random.default_rng(seed)
    curves, rows = {}, []
    for i, attack in enumerate(attacks):
        section = {"unit": UNITS.get(attack, "steps"), "headline": HEADLINE, "budgets": list(BUDGETS), "models": {}}
        for k, model in enumerate(models):
            points = [{"budget": b, "n": 20, **{m: _stat(0.03 * b / (1 + k) + float(rng.normal(0, 0.005)))
                                               for m in POINT_MEASURES}} for b in BUDGETS]
            section["models"][model] = {"points": points, "auc": {}}
            for measure in ARM_MEASURES:
                mean = 0.1 * (i + 1) - 0.05 * k if measure == "adversarial_excess" else float(rng.normal(0.2, 0.05))
                rows.append({"attack": attack, "model": model, "measure": measure, **_stat(mean)})
        curves[attack] = section
    return curves, pd.DataFrame(rows)


def make_clean(models=TWO, fact_recall: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    data = {}
    for key in ("rouge1", "rouge2", "rougeL") + (("fact_recall",) if fact_recall else ()):
        mean = rng.uniform(0.15, 0.4, len(models))
        data |= {f"{key}_mean": mean, f"{key}_ci_low": mean - 0.02, f"{key}_ci_high": mean + 0.03}
    return pd.DataFrame(data, index=list(models))


def make_transfer(models=TWO) -> dict:
    rng = np.random.default_rng(2)
    matrix = {s: {t: float(rng.uniform(0, 2)) for t in models} for s in models}
    matrix[models[0]][models[-1]] = None  # a transfer run that did not finish
    return {"hotflip": matrix, "universal": {s: dict(row) for s, row in matrix.items()}}


def panel(fig, label: str):
    found = [ax for ax in fig.axes if ax.get_label() == label]
    assert len(found) == 1, f"{len(found)} axes labelled {label!r}; labels: {[ax.get_label() for ax in fig.axes]}"
    return found[0]


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def arm_lines(ax) -> list[str]:
    """The labels of the arms' lines (the zero and headline lines carry matplotlib's hidden "_child" labels)."""
    return [line.get_label() for line in ax.lines if not line.get_label().startswith("_")]


def bar_groups(ax) -> list[BarContainer]:
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def name(model: str) -> str:
    return NAMES.get(model, model)


def overlapping_ticks(fig, ax) -> list[tuple[str, str]]:
    """Pairs of neighbouring x tick labels of ``ax`` whose drawn boxes overlap, after a full (layout) draw."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    labels = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert boxes, "no tick labels drawn"
    return [(a.get_text(), b.get_text()) for (a, ba), (b, bb) in zip(zip(labels, boxes), zip(labels[1:], boxes[1:]))
            if ba.overlaps(bb)]


@pytest.mark.parametrize("models", [TWO, FIVE], ids=["2 arms", "5 arms"])
def test_arms_over_six_attacks_render_readably_and_save(models, tmp_path):
    curves, arms = make_inputs(models)
    fig = analysis_figure(curves, arms, make_clean(models), make_transfer(models), title="synthetic")
    assert fig.get_suptitle() == "synthetic"
    # One axes per panel, no colorbars or sub-axes: the curves in the order of the arms frame, then the rest.
    assert [ax.get_label() for ax in fig.axes] == [CURVE_PANEL.format(attack=a) for a in ATTACKS] + [
        "excess", "clean", "transfer"]
    for attack in ATTACKS:
        ax = panel(fig, f"curve:{attack}")
        assert arm_lines(ax) == [name(m) for m in models]
        assert len(ax.collections) == len(models)  # a CI band per arm
        assert ax.get_xlabel() == UNITS[attack]
        assert any(list(line.get_xdata()) == [HEADLINE, HEADLINE] for line in ax.lines)  # the dotted headline
    excess = panel(fig, "excess")
    groups = bar_groups(excess)
    assert len(groups) == len(models)
    for k, bars in enumerate(groups):
        # Each arm's bars in attack order, at the arms frame's means.
        assert [r.get_height() for r in bars] == pytest.approx([0.1 * (i + 1) - 0.05 * k for i in range(len(ATTACKS))])
        assert bars.get_label() == name(models[k])
    assert [t.get_text().split("\n")[0] for t in excess.get_xticklabels()] == list(ATTACKS)
    assert any(line.get_ydata()[0] == 0 for line in excess.lines)  # the zero line
    assert len(bar_groups(panel(fig, "clean"))) == len(models)
    assert [t.get_text() for t in panel(fig, "clean").get_xticklabels()] == ["ROUGE-1", "ROUGE-2", "ROUGE-L",
                                                                              "fact recall"]
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [name(m) for m in models]
    assert overlapping_ticks(fig, excess) == []
    assert overlapping_ticks(fig, panel(fig, "clean")) == []

    out = save_figure(fig, tmp_path / f"{len(models)}.png")
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 50_000


def test_overlap_check_catches_squeezed_labels():
    # The readability check above can fail: the same figure squeezed to a third of its width overlaps.
    curves, arms = make_inputs(FIVE)
    fig = analysis_figure(curves, arms)
    fig.set_size_inches(8, 6)
    assert overlapping_ticks(fig, panel(fig, "excess"))


def test_fixed_colours_and_model_order_whatever_the_input_order():
    curves, arms = make_inputs(("init_only", "mono", "nonmono"))
    fig = analysis_figure(curves, arms)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["non-monotone", "monotone", "init_only"]
    colours = {line.get_label(): line.get_color() for line in panel(fig, "curve:hotflip").lines}
    assert colours["non-monotone"] == "#d95f02" and colours["monotone"] == "#1b6fb3"
    assert len(set(colours[n] for n in ("non-monotone", "monotone", "init_only"))) == 3
    excess = bar_groups(panel(fig, "excess"))
    assert [b.get_label() for b in excess] == ["non-monotone", "monotone", "init_only"]


def test_curves_share_their_drawing_with_the_curves_figure():
    curves, arms = make_inputs(FIVE, attacks=("nes", "substitution"))
    analysis = analysis_figure(curves, arms)
    alone = curves_figure(curves)
    for attack in ("nes", "substitution"):
        a, b = panel(analysis, f"curve:{attack}"), panel(alone, f"{attack}:rouge_drop")
        assert [(line.get_label(), list(line.get_ydata())) for line in a.lines] == [
            (line.get_label(), list(line.get_ydata())) for line in b.lines]
        assert list(a.get_xticks()) == list(b.get_xticks()) == list(BUDGETS)


def test_nan_values_draw_without_error(tmp_path):
    curves, arms = make_inputs(FIVE)
    # One sample at a budget point: a mean but no interval (NaN, or null as a strict JSON writer leaves it).
    point = curves["nes"]["models"]["mono"]["points"][0]
    point["n"] = 1
    point["rouge_drop"] = {"mean": 0.02, "ci_low": None, "ci_high": math.nan, "n": 1}
    # An arm with no ROUGE drop at any budget of one attack (no summaries): no line for it there.
    for p in curves["ood"]["models"]["init_only"]["points"]:
        p["rouge_drop"] = {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0}
    # An attack with no finite point at all.
    for per_model in curves["injection"]["models"].values():
        for p in per_model["points"]:
            p["rouge_drop"] = {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0}
    excess = arms["measure"] == "adversarial_excess"
    # No control for init_only under hotflip (NaN mean), and a single sample for mono under nes (NaN CI).
    no_control = excess & (arms.attack == "hotflip") & (arms.model == "init_only")
    arms.loc[no_control, ["mean", "ci_low", "ci_high"]] = math.nan
    arms.loc[excess & (arms.attack == "nes") & (arms.model == "mono"), ["ci_low", "ci_high"]] = math.nan
    clean = make_clean(FIVE)
    clean.loc["attention_only", ["fact_recall_mean", "fact_recall_ci_low", "fact_recall_ci_high"]] = math.nan

    fig = analysis_figure(curves, arms, clean, make_transfer(FIVE))
    assert arm_lines(panel(fig, "curve:ood")) == [name(m) for m in FIVE if m != "init_only"]
    assert arm_lines(panel(fig, "curve:nes")) == [name(m) for m in FIVE]
    assert "not measured" in texts(panel(fig, "curve:injection"))
    ax = panel(fig, "excess")
    groups = bar_groups(ax)
    hidden = [(k, i) for k, bars in enumerate(groups) for i, r in enumerate(bars) if not r.get_visible()]
    assert hidden == [(FIVE.index("init_only"), ATTACKS.index("hotflip"))]  # the NaN bar only, stated as n/a
    assert texts(ax) == ["n/a"]
    # Error bars: one per finite (mean, CI) bar; the mono arm's nes bar has none.
    caps = [c for c in ax.containers if not isinstance(c, BarContainer)]
    assert sum(len(c.lines[2][0].get_segments()) for c in caps) == len(FIVE) * len(ATTACKS) - 2
    clean_ax = panel(fig, "clean")
    assert texts(clean_ax) == ["n/a"]  # attention_only's fact recall
    assert save_figure(fig, tmp_path / "nan.png").read_bytes()[:8] == PNG_MAGIC


def test_missing_clean_and_transfer_are_stated():
    fig = analysis_figure(*make_inputs())
    assert "no clean-quality data" in texts(panel(fig, "clean"))
    assert "no transfer data" in texts(panel(fig, "transfer"))
    # A clean frame without fact recall draws ROUGE only.
    fig = analysis_figure(*make_inputs(), clean=make_clean(fact_recall=False))
    assert [t.get_text() for t in panel(fig, "clean").get_xticklabels()] == ["ROUGE-1", "ROUGE-2", "ROUGE-L"]


def test_transfer_none_cell_shown_as_na():
    transfer = make_transfer()
    fig = analysis_figure(*make_inputs(), transfer=transfer)
    ax = panel(fig, "transfer")
    # 2 x 2 cells per kind, one None in each, plus the two kind headers.
    assert len(ax.texts) == 2 * 4 + 2
    assert texts(ax).count("n/a") == 2
    assert {"hotflip", "universal", f"{transfer['hotflip']['mono']['mono']:.2f}"} <= set(texts(ax))
    # Only one kind given: its block alone, not an empty second one.
    fig = analysis_figure(*make_inputs(), transfer={"hotflip": transfer["hotflip"], "universal": {}})
    ax = panel(fig, "transfer")
    assert "universal" not in texts(ax)
    assert len(ax.get_xticks()) == 2


def test_partial_inputs_draw_what_they_have():
    curves, arms = make_inputs(attacks=("universal", "ood"))
    # Curves only: the excess panel says it has no data.
    fig = analysis_figure(curves, arms.iloc[0:0])
    assert "no adversarial-excess data" in texts(panel(fig, "excess"))
    assert arm_lines(panel(fig, "curve:ood")) == ["non-monotone", "monotone"]
    # Arms only (and None for the frame's absent curves): every curve axes says "not measured".
    fig = analysis_figure({}, arms)
    assert "not measured" in texts(panel(fig, "curve:universal"))
    assert len(bar_groups(panel(fig, "excess"))) == 2
    # Attack order: the arms frame's first, then attacks only the curves have.
    extra, _ = make_inputs(attacks=("hotflip",))
    fig = analysis_figure({**extra, **curves}, arms)
    assert [ax.get_label() for ax in fig.axes][:3] == ["curve:universal", "curve:ood", "curve:hotflip"]
    # An arms frame without any excess rows states it too.
    fig = analysis_figure(curves, arms[arms.measure != "adversarial_excess"])
    assert "no adversarial-excess data" in texts(panel(fig, "excess"))


def test_more_than_six_attacks_wrap_onto_a_second_row():
    attacks = (*ATTACKS, "genetic", "paraphrase")
    fig = analysis_figure(*make_inputs(attacks=attacks))
    rows = {round(panel(fig, f"curve:{a}").get_subplotspec().rowspan.start) for a in attacks}
    assert len(rows) == 2
    assert len(bar_groups(panel(fig, "excess"))) == 2
    assert overlapping_ticks(fig, panel(fig, "excess")) == []


def test_nothing_to_draw_raises():
    curves, arms = make_inputs()
    with pytest.raises(ValueError, match="^analysis_figure: nothing to draw"):
        analysis_figure({}, arms.iloc[0:0])
    with pytest.raises(ValueError, match="^analysis_figure: nothing to draw"):
        analysis_figure({"nes": {"unit": "trigger tokens", "headline": 3, "budgets": [], "models": {}}}, None)
    with pytest.raises(ValueError, match="^analysis_figure: the arms frame lacks column"):
        analysis_figure(curves, arms.drop(columns="measure"))


def test_saved_png_is_readable_and_alone(tmp_path):
    fig = analysis_figure(*make_inputs(), make_clean(), make_transfer())
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


def test_failed_save_leaves_no_temp_file(tmp_path, monkeypatch):
    fig = analysis_figure(*make_inputs(attacks=("hotflip",)))
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
