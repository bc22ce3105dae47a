"""The figures of the report, drawn from computed sections and tables.

* :func:`analysis_figure` -- the analysis (v2), readable with any number of arms: one axes per
  attack with the primary measure (mean generated-summary ROUGE-L drop) against the attack's budget,
  then the adversarial excess over the random control at the headline budget (attack x arm),
  the arms' clean quality, and the trigger-transfer matrices. Panels are listed in :data:`PANELS`.
* :func:`curves_figure` -- the robustness curves (issue 13): one column per attack, the
  mean ROUGE-L drop (primary) and ΔNLL (secondary) against the attack's budget, a line
  with its 95 % CI band per arm, from the results file's ``curves`` section.
* :func:`save_figure` -- write it as a PNG atomically.

Only drawing happens here: statistics (CIs) arrive precomputed, and nothing is read from disk.
The figure is a bare :class:`matplotlib.figure.Figure`, not a pyplot one: it needs no backend,
so it works headless, in tests and in Jupyter, and never leaks into pyplot's global list of open
figures.
"""

from __future__ import annotations

import math
import os
import uuid
from itertools import cycle
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

DELTA_NLL = "Δ NLL (nats)"
ROUGE_METRICS = (("rouge1", "ROUGE-1"), ("rouge2", "ROUGE-2"), ("rougeL", "ROUGE-L"))
# Drawn after ROUGE in the clean panel when the clean frame has it (the closed-book fact check).
CLEAN_METRICS = (*ROUGE_METRICS, ("fact_recall", "fact recall"))
TRANSFER_KINDS = ("hotflip", "universal")
# The analysis figure's axes labels (``ax.get_label()``): one "curve:{attack}" per attack, then these.
CURVE_PANEL = "curve:{attack}"
PANELS = (CURVE_PANEL, "excess", "clean", "transfer")
PRIMARY = ("rouge_drop", "mean ROUGE-L drop")  # the curves' measure (mono_s2s.curves) and its y label
EXCESS = "adversarial_excess"  # the arms frame's measure drawn in the excess panel
ARMS_COLUMNS = ("attack", "model", "measure", "mean", "ci_low", "ci_high")  # those read
_CURVES_PER_ROW = 6  # more attacks wrap onto a further row of curves
_EXCESS_SLOT = 1.7  # inches per attack in the excess panel: room for "substitution / @ 3 trigger tokens" level

# Fixed colours for the two models the study is about, so every panel (and every run's
# figure) reads the same; any further variant draws from the rest of the palette.
_MODEL_COLOURS = {"nonmono": "#d95f02", "mono": "#1b6fb3"}
_EXTRA_COLOURS = ("#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
_LINESTYLES = ("-", "--", ":", "-.")
_MODEL_NAMES = {"nonmono": "non-monotone", "mono": "monotone"}
# rc_context rather than rcParams.update: the caller's matplotlib settings stay untouched.
_RC = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10,
       "ytick.labelsize": 10, "legend.fontsize": 10, "axes.spines.top": False, "axes.spines.right": False}


def _model_order(*groups) -> list[str]:
    """nonmono, mono first (the comparison the study makes), then other variants as first seen."""
    seen = [m for g in groups for m in g]
    rest = list(dict.fromkeys(m for m in seen if m not in _MODEL_COLOURS))
    return [m for m in _MODEL_COLOURS if m in seen] + rest


def _styles(models: list[str]) -> dict[str, dict]:
    extra = cycle(_EXTRA_COLOURS)
    return {m: {"color": _MODEL_COLOURS.get(m) or next(extra), "ls": _LINESTYLES[i % len(_LINESTYLES)],
                "label": _MODEL_NAMES.get(m, m)} for i, m in enumerate(models)}


def _legend(fig: Figure, models: list[str], styles: dict, marker: str = "o", ms: float = 4) -> None:
    # Below the panels: at the top, constrained layout lets the legend run into the suptitle.
    fig.legend(handles=[Line2D([], [], color=styles[m]["color"], ls=styles[m]["ls"], marker=marker, ms=ms,
                               label=styles[m]["label"]) for m in models],
               loc="outside lower center", ncol=len(models), frameon=False, fontsize=12)


def _no_data(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="0.4", fontsize=12)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[:].set_visible(False)


def _group_offsets(n: int, width: float = 0.8) -> np.ndarray:
    """x offsets of n bars sharing one group slot of the given width."""
    return (np.arange(n) - (n - 1) / 2) * width / n


def _bars(ax, x: np.ndarray, mean, low, high, width: float, style: dict):
    """One arm's bars with 95 % CI error bars; returns the BarContainer.

    A NaN mean draws no bar but a small "n/a" at the baseline, so a missing value is not read
    as zero; a NaN CI (one sample) draws no error bar rather than a collapsed one.
    """
    mean, low, high = (np.asarray(v, float) for v in (mean, low, high))
    bars = ax.bar(x, np.nan_to_num(mean), width=width, color=style["color"], label=style["label"])
    for rect, v in zip(bars, mean):
        rect.set_visible(bool(np.isfinite(v)))
    err = np.clip(np.array([mean - low, high - mean]), 0, None)
    ok = np.isfinite(mean) & np.isfinite(err).all(axis=0)
    if ok.any():
        ax.errorbar(x[ok], mean[ok], yerr=err[:, ok], fmt="none", ecolor="0.15", elinewidth=1, capsize=2)
    for xi in x[~np.isfinite(mean)]:
        ax.text(xi, 0, "n/a", rotation=90, ha="center", va="bottom", fontsize=8, color="0.4")
    return bars


def _draw_curve(ax, section: dict | None, measure: str, models: list[str], styles: dict) -> bool:
    """One attack's curve of one measure: a line through each arm's means with its 95 % CI band.

    Arms without a finite point draw nothing; the headline budget is a dotted vertical line. An
    axes with no line at all says "not measured". Returns whether a line was drawn.
    """
    drawn = False
    section = section or {}
    for m in models:
        points = section.get("models", {}).get(m, {}).get("points", [])
        x = np.array([p["budget"] for p in points], float)
        mean, low, high = (np.array([p.get(measure, {}).get(k, math.nan) for p in points], float)
                           for k in ("mean", "ci_low", "ci_high"))
        if not np.isfinite(mean).any():
            continue
        st = styles[m]
        ax.plot(x, mean, marker="o", ms=4, color=st["color"], ls=st["ls"], label=st["label"])
        ax.fill_between(x, low, high, color=st["color"], alpha=0.18, lw=0)
        drawn = True
    if not drawn:
        _no_data(ax, "not measured")
    else:
        ax.axhline(0, color="0.3", lw=0.8)
        ax.axvline(section["headline"], color="0.5", ls=":", lw=1)
        ax.set_xticks(section["budgets"])
        ax.set_xlabel(section["unit"])
    return drawn


def _heatmap(ax, values: np.ndarray, rows: list[str], cols: list[str]) -> None:
    """Annotated heatmap; NaN cells are left blank and marked "n/a"."""
    finite = values[np.isfinite(values)]
    # Degradation can be negative (an attack that helped); anchor the scale at 0 so
    # "no effect" is always the palest colour.
    vmin = min(0.0, finite.min()) if finite.size else 0.0
    vmax = max(finite.max(), vmin + 1e-9) if finite.size else 1.0
    ax.imshow(np.ma.masked_invalid(values), cmap="YlOrRd", vmin=vmin, vmax=vmax, aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        dark = np.isfinite(v) and (v - vmin) / (vmax - vmin) > 0.6
        ax.text(j, i, f"{v:.2f}" if np.isfinite(v) else "n/a", ha="center", va="center",
                color="white" if dark else "black", fontsize=10 if values.shape[1] <= 6 else 8)
    # Steeper with many columns (5 arms x 2 kinds): at 30 degrees neighbouring names run into each other.
    ax.set_xticks(range(len(cols)), cols, rotation=30 if len(cols) <= 6 else 55, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(rows)), rows)
    ax.spines[:].set_visible(False)


def _headline_label(attack: str, curves: dict) -> str:
    """The attack's tick label in the excess panel: its name and, when known, its headline budget."""
    section = curves.get(attack) or {}
    if section.get("headline") is None:
        return attack
    return f"{attack}\n@ {section['headline']} {section.get('unit', '')}".rstrip()


def _panel_excess(ax, arms: pd.DataFrame, attacks: list[str], curves: dict, models: list[str],
                  styles: dict) -> None:
    ax.set_title("Adversarial excess at the headline budget, 95% CI\n(attacked − random-control NLL)")
    rows = arms[arms["measure"] == EXCESS]
    if rows.empty:
        _no_data(ax, "no adversarial-excess data")
        return
    shown = [a for a in attacks if a in set(rows["attack"])]
    arm_models = [m for m in models if m in set(rows["model"])]
    # One row per (attack, model) is expected; a duplicate keeps its first, as the frame lists them.
    values = rows.groupby(["attack", "model"], sort=False)[["mean", "ci_low", "ci_high"]].first()
    values = values.apply(pd.to_numeric, errors="coerce")
    x = np.arange(len(shown), dtype=float)
    offsets = _group_offsets(len(arm_models))
    for k, m in enumerate(arm_models):
        v = values.reindex(pd.MultiIndex.from_product([shown, [m]]))
        _bars(ax, x + offsets[k], v["mean"], v["ci_low"], v["ci_high"], 0.8 / len(arm_models), styles[m])
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xlim(-0.6, len(shown) - 0.4)
    # Level labels: the figure gives this panel room for them (analysis_figure's widths); tilted two-line
    # labels read worse than a wider panel.
    ax.set_xticks(x, [_headline_label(a, curves) for a in shown])
    ax.set_ylabel(f"excess {DELTA_NLL}")


def _panel_clean(ax, clean: pd.DataFrame | None, models: list[str], styles: dict) -> None:
    ax.set_title("Clean summary quality, 95% CI")
    metrics = [(key, name) for key, name in CLEAN_METRICS if clean is not None and f"{key}_mean" in clean]
    if not metrics or clean is None or clean.empty:
        _no_data(ax, "no clean-quality data")
        return
    arm_models = [m for m in models if m in clean.index]
    x = np.arange(len(metrics), dtype=float)
    offsets = _group_offsets(len(arm_models))
    for k, m in enumerate(arm_models):
        row = clean.loc[m]
        mean, low, high = (np.array([pd.to_numeric(row.get(f"{key}_{stat}"), errors="coerce") for key, _ in metrics],
                                    float) for stat in ("mean", "ci_low", "ci_high"))
        _bars(ax, x + offsets[k], mean, low, high, 0.8 / len(arm_models), styles[m])
    ax.set_xticks(x, [name for _, name in metrics])
    ax.set_ylabel("F1 / recall" if metrics[-1][0] == "fact_recall" else "F1")


def _panel_transfer(ax, transfer: dict | None, models: list[str], styles: dict) -> None:
    kinds = [k for k in TRANSFER_KINDS if (transfer or {}).get(k)]
    ax.set_title(f"Trigger transfer, mean {DELTA_NLL}", pad=22 if kinds else None)
    if not kinds:
        _no_data(ax, "no transfer data")
        return
    # Both kinds side by side in one heatmap: one colour scale makes them comparable, and
    # a single axes leaves room for readable labels in a narrow slot.
    rows = [m for m in models if any(m in transfer[k] for k in kinds)]
    blocks, col_labels = [], []
    for kind in kinds:
        matrix = transfer[kind]
        cols = [m for m in models if any(m in cells for cells in matrix.values())]
        blocks.append([[np.nan if matrix.get(r, {}).get(c) is None else float(matrix[r][c]) for c in cols]
                       for r in rows])
        col_labels += [styles[m]["label"] for m in cols]
    _heatmap(ax, np.hstack(blocks), [styles[m]["label"] for m in rows], col_labels)
    start = 0
    for kind, block in zip(kinds, blocks):
        width = len(block[0])
        ax.text(start + (width - 1) / 2, 1.02, kind, transform=ax.get_xaxis_transform(), ha="center",
                va="bottom", fontweight="bold")
        if start:
            ax.axvline(start - 0.5, color="white", lw=4)
        start += width
    ax.set_xlabel("evaluated on")
    ax.set_ylabel("trigger found on")


def _arms_frame(arms: pd.DataFrame | None) -> pd.DataFrame:
    """The arms frame, or an empty one with its columns; ValueError naming any column it lacks."""
    if arms is None or arms.empty:
        return pd.DataFrame(columns=list(ARMS_COLUMNS))
    missing = [c for c in ARMS_COLUMNS if c not in arms]
    if missing:
        raise ValueError(f"analysis_figure: the arms frame lacks column(s) {missing}")
    return arms


def analysis_figure(curves: dict, arms: pd.DataFrame, clean: pd.DataFrame | None = None,
                    transfer: dict | None = None, title: str | None = None) -> Figure:
    """The analysis figure (v2) for any number of arms.

    Top: one axes per attack (``"curve:{attack}"``, six to a row), the primary measure -- mean
    ROUGE-L drop of the generated summary -- against the attack's budget, a line with its 95 % CI
    band per arm, the headline budget dotted. Below: the adversarial excess (attacked minus
    random-control NLL) per attack and arm at the headline budget (``"excess"``), the arms'
    clean quality (``"clean"``), and the transfer matrices (``"transfer"``). One legend for
    every arm sits under the panels.

    ``curves`` is the results file's ``curves`` section (as for :func:`curves_figure`); ``arms``
    has one row per (attack, model, measure) at the headline budget with columns ``attack, model,
    measure, mean, ci_low, ci_high``; ``clean`` is indexed by model with ``{metric}_{mean|ci_low|
    ci_high}`` columns; ``transfer`` maps kind -> source -> target -> value. Missing or NaN parts
    are stated on their panel; ValueError only when there is nothing at all to draw (no curve with
    a budget and no arms rows) or when ``arms`` lacks a column read.
    """
    curves = curves or {}
    arms = _arms_frame(arms)
    with_budgets = [a for a, section in curves.items() if (section or {}).get("budgets")]
    if not with_budgets and arms.empty:
        raise ValueError("analysis_figure: nothing to draw (no attack has a budget point and the arms frame is empty)")
    # Attacks as the arms frame lists them, then any only the curves have.
    attacks = list(dict.fromkeys([*pd.unique(arms["attack"]), *with_budgets]))
    transfer_models = [m for matrix in (transfer or {}).values() for row, cells in (matrix or {}).items()
                       for m in (row, *cells)]
    models = _model_order(*((curves[a] or {}).get("models", {}) for a in with_budgets), pd.unique(arms["model"]),
                          clean.index if clean is not None else [], transfer_models)
    styles = _styles(models)

    n_cols = min(len(attacks), _CURVES_PER_ROW)
    n_rows = math.ceil(len(attacks) / _CURVES_PER_ROW)
    # The excess panel has a bar per attack x arm: it gets about half the width, more beyond six attacks, and
    # the figure is widened so each attack's group keeps _EXCESS_SLOT inches for its level two-line label.
    widths = [2.1 * max(1.0, len(attacks) / _CURVES_PER_ROW), 1, 1.4]
    width = max(3.7 * n_cols + 1, 17, _EXCESS_SLOT * len(attacks) * sum(widths) / widths[0] + 1)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width, 6 + 4.5 * n_rows), layout="constrained")
        grid = fig.add_gridspec(2, 1, height_ratios=[4.5 * n_rows, 6])
        top = grid[0].subgridspec(n_rows, n_cols)
        for i, attack in enumerate(attacks):
            ax = fig.add_subplot(top[i // n_cols, i % n_cols], label=CURVE_PANEL.format(attack=attack))
            section = curves.get(attack) or {}
            _draw_curve(ax, section, PRIMARY[0], models, styles)
            if i % n_cols == 0:
                ax.set_ylabel(f"{PRIMARY[1]}, 95% CI")
            headline = f" (headline {section['headline']})" if section.get("headline") is not None else ""
            ax.set_title(f"{attack}{headline}")
        bottom = grid[1].subgridspec(1, 3, width_ratios=widths)
        _panel_excess(fig.add_subplot(bottom[0], label="excess"), arms, attacks, curves, models, styles)
        _panel_clean(fig.add_subplot(bottom[1], label="clean"), clean, models, styles)
        _panel_transfer(fig.add_subplot(bottom[2], label="transfer"), transfer, models, styles)
        _legend(fig, models, styles, marker="s", ms=8)
        fig.suptitle(title or "Robustness of the arms under attack: summary-quality drop and adversarial excess",
                     fontsize=16, fontweight="bold")
    return fig


# The rows of the curves figure: (measure of mono_s2s.curves, y label).
CURVE_ROWS = (("rouge_drop", "mean ROUGE-L drop"), ("abs_degradation", f"mean {DELTA_NLL}"))


def curves_figure(curves: dict, title: str | None = None) -> Figure:
    """Robustness curves: a 2 x (attacks) grid, ROUGE-L drop on top, ΔNLL below, x = the attack's budget.

    ``curves`` is the results file's section (:func:`mono_s2s.curves.attack_curve` per attack). Each arm
    is a line through its means with the 95 % CI as a band (no band where a point has one sample); the
    headline budget (the analysis's) is a dotted vertical line. Each axes is labelled
    ``"{attack}:{measure}"``. Raises ValueError when no attack has a budget point.
    """
    attacks = [a for a, section in curves.items() if section.get("budgets")]
    if not attacks:
        raise ValueError("curves_figure: no attack has a budget point to draw")
    models = _model_order(*(curves[a]["models"] for a in attacks))
    styles = _styles(models)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(max(3.6 * len(attacks) + 1, 10), 7.5), layout="constrained")
        grid = fig.add_gridspec(len(CURVE_ROWS), len(attacks))
        for col, attack in enumerate(attacks):
            section = curves[attack]
            for row, (name, ylabel) in enumerate(CURVE_ROWS):
                ax = fig.add_subplot(grid[row, col], label=f"{attack}:{name}")
                _draw_curve(ax, section, name, models, styles)
                if col == 0:
                    ax.set_ylabel(ylabel)
                if row == 0:
                    ax.set_title(f"{attack} (headline {section['headline']})")
        _legend(fig, models, styles)
        fig.suptitle(title or "Robustness curves: mean degradation vs attack budget, 95% CI",
                     fontsize=14, fontweight="bold")
    return fig


def save_figure(fig: Figure, path, *, dpi: int = 120) -> Path:
    """Write ``fig`` as a PNG at ``path`` atomically: a reader never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder, so os.replace is a rename on one filesystem. open(..., "xb") rather than
    # mkstemp: mkstemp's 0600 mode would survive the rename and hide the figure from others.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as f:
            fig.savefig(f, format="png", dpi=dpi)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
