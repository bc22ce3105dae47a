"""The analysis figure: how much each model degrades under each attack, drawn from computed tables.

* :func:`analysis_figure` -- eight panels (the seed notebook's six, plus clean quality and
  transfer) from the per-sample ``pairs`` frame, the per-attack comparison ``table`` and,
  optionally, clean ROUGE and the transfer matrices.
* :func:`curves_figure` -- the robustness curves (issue 13): one column per attack, the
  mean ROUGE-L drop (primary) and ΔNLL (secondary) against the attack's budget, a line
  with its 95 % CI band per arm, from the results file's ``curves`` section.
* :func:`save_figure` -- write it as a PNG atomically.

Only drawing happens here: statistics (CIs, Holm-corrected p-values) arrive precomputed,
and nothing is read from disk. The figure is a bare :class:`matplotlib.figure.Figure`,
not a pyplot one: it needs no backend, so it works headless, in tests and in Jupyter,
and never leaks into pyplot's global list of open figures.
"""

from __future__ import annotations

import os
import uuid
from itertools import cycle
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

DELTA_NLL = "Δ NLL (nats)"
ROUGE_METRICS = (("rouge1", "ROUGE-1"), ("rouge2", "ROUGE-2"), ("rougeL", "ROUGE-L"))
TRANSFER_KINDS = ("hotflip", "universal")
PANELS = ("mean_degradation", "improvement", "distributions", "perplexity", "ecdf", "heatmap", "clean", "transfer")

# Fixed colours for the two models the study is about, so every panel (and every run's
# figure) reads the same; any further variant draws from the rest of the palette.
_MODEL_COLOURS = {"nonmono": "#d95f02", "mono": "#1b6fb3"}
_EXTRA_COLOURS = ("#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
_LINESTYLES = ("-", "--", ":", "-.")
_MODEL_NAMES = {"nonmono": "non-monotone", "mono": "monotone"}
_FEW = 10  # groups smaller than this also show their individual points
_PAIRS_COLUMNS = ("attack", "model", "original_nll", "attacked_nll", "abs_degradation")  # those drawn
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


def _no_data(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="0.4", fontsize=12)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[:].set_visible(False)


def _group_offsets(n: int, width: float = 0.8) -> np.ndarray:
    """x offsets of n bars (or boxes) sharing one group slot of the given width."""
    return (np.arange(n) - (n - 1) / 2) * width / n


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
                color="white" if dark else "black", fontsize=10)
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(rows)), rows)
    ax.spines[:].set_visible(False)


def _panel_mean_degradation(ax, table: pd.DataFrame, models: list[str], styles: dict) -> None:
    x = np.arange(len(table))
    offsets = _group_offsets(len(models))
    tops = np.zeros(len(table))
    for k, m in enumerate(models):
        mean = table[f"{m}_mean"].to_numpy(float)
        low = table.get(f"{m}_ci_low", table[f"{m}_mean"]).to_numpy(float)
        high = table.get(f"{m}_ci_high", table[f"{m}_mean"]).to_numpy(float)
        # A one-sample bootstrap CI can be NaN or collapse onto the mean: no error bar then.
        yerr = np.nan_to_num(np.clip([mean - low, high - mean], 0, None))
        ax.bar(x + offsets[k], mean, width=0.8 / len(models), yerr=yerr, capsize=3,
               color=styles[m]["color"], label=styles[m]["label"])
        tops = np.fmax(tops, np.nan_to_num(np.fmax(mean, high)))
    bottom = min(0.0, np.nanmin(table[[f"{m}_mean" for m in models]].to_numpy(float), initial=0.0))
    pad = 0.04 * ((tops.max() - bottom) or 1.0)
    if "significance" in table:
        for xi, top, mark in zip(x, tops, table["significance"].astype(str)):
            ax.text(xi, top + pad, mark, ha="center", va="bottom", fontsize=12, fontweight="bold")
    ax.set_ylim(top=tops.max() + 5 * pad)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(x, table.index)
    ax.set_ylabel(f"mean {DELTA_NLL}")
    ax.set_title("(1) Mean degradation, 95% CI\n(marks: Holm-adjusted significance)")


def _panel_improvement(ax, table: pd.DataFrame, mono_colour: str) -> None:
    x = np.arange(len(table))
    values = table["improvement_pct"].to_numpy(float)
    ax.bar(x, np.nan_to_num(values), color=[mono_colour if v >= 0 else "0.55" for v in np.nan_to_num(values)])
    ax.axhline(0, color="0.3", lw=0.8)
    defined = values[np.isfinite(values)]
    low, high = (min(0.0, defined.min()), max(0.0, defined.max())) if defined.size else (0.0, 0.0)
    span = (high - low) or 1.0
    for xi, v in zip(x, values):
        if np.isfinite(v):
            ax.text(xi, v + (0.02 * span if v >= 0 else -0.02 * span), f"{v:+.0f}%", ha="center",
                    va="bottom" if v >= 0 else "top", fontsize=10)
        else:
            # NaN means the baseline was not degraded, so a relative improvement has no meaning.
            ax.text(xi, 0.02 * span, "undefined", ha="center", va="bottom", rotation=90, color="0.35", fontsize=10)
    ax.set_ylim(low - 0.15 * span, high + 0.3 * span)  # room for the value labels and "undefined"
    ax.set_xticks(x, table.index)
    ax.set_ylabel("improvement of monotone (%)")
    ax.set_title("(2) Reduction of mean degradation\n(monotone vs baseline)")


def _panel_distributions(ax, pairs: pd.DataFrame, attacks: list[str], models: list[str], styles: dict) -> None:
    offsets = _group_offsets(len(models))
    for k, m in enumerate(models):
        data, positions = [], []
        for i, a in enumerate(attacks):
            v = pairs.loc[(pairs["attack"] == a) & (pairs["model"] == m), "abs_degradation"].dropna().to_numpy()
            if v.size:
                data.append(v)
                positions.append(i + offsets[k])
                if v.size < _FEW:  # a box of a handful of points hides them; show the points too
                    ax.scatter(np.full(v.size, i + offsets[k]), v, s=14, color=styles[m]["color"], zorder=3)
        if data:
            ax.boxplot(data, positions=positions, widths=0.7 / len(models), patch_artist=True, manage_ticks=False,
                       boxprops={"facecolor": styles[m]["color"], "alpha": 0.55},
                       medianprops={"color": "black"}, flierprops={"markersize": 3, "alpha": 0.5})
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(range(len(attacks)), attacks)
    ax.set_ylabel(DELTA_NLL)
    ax.set_title("(3) Per-sample degradation")


def _panel_perplexity(ax, pairs: pd.DataFrame, models: list[str], styles: dict) -> None:
    with np.errstate(over="ignore"):
        ppl = np.exp(pairs[["original_nll", "attacked_nll"]].to_numpy(float))
    ok = np.isfinite(ppl).all(axis=1)  # exp overflows for absurd NLLs; those points cannot be placed
    for m in models:
        sel = ok & (pairs["model"] == m).to_numpy()
        ax.scatter(ppl[sel, 0], ppl[sel, 1], s=12, alpha=0.5, color=styles[m]["color"], edgecolors="none")
    if ok.any():
        # Each axis spans its own data: attacked perplexities range far wider than the
        # originals, and a square frame would squeeze the originals into a sliver.
        (x_lo, y_lo), (x_hi, y_hi) = ppl[ok].min(axis=0) / 1.3, ppl[ok].max(axis=0) * 1.3
        lo, hi = min(x_lo, y_lo), max(x_hi, y_hi)
        ax.plot([lo, hi], [lo, hi], color="0.3", lw=1, ls="--", label="y = x (no effect)")
        ax.set_xlim(x_lo, x_hi)
        ax.set_ylim(y_lo, y_hi)
        ax.legend(loc="upper left")
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        # Plain numbers at 1-2-5 steps; matplotlib's default labels minor ticks in
        # "3 x 10^0" form when the span is under a decade, and they collide.
        axis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("original perplexity")
    ax.set_ylabel("attacked perplexity")
    ax.set_title("(4) Perplexity of the reference summary")


def _panel_ecdf(ax, pairs: pd.DataFrame, models: list[str], styles: dict) -> None:
    for m in models:
        v = np.sort(pairs.loc[pairs["model"] == m, "abs_degradation"].dropna().to_numpy(float))
        if v.size:
            # Leading (first value, 0) point: the curve starts at the x axis, as an ECDF does.
            ax.step(np.r_[v[0], v], np.arange(v.size + 1) / v.size, where="post", color=styles[m]["color"],
                    ls=styles[m]["ls"], lw=2, label=styles[m]["label"])
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower right")  # linestyles tell the models apart where colour cannot (greyscale print)
    ax.set_xlabel(DELTA_NLL)
    ax.set_ylabel("fraction of samples ≤ x")
    ax.set_title("(5) Cumulative distribution\n(all attacks pooled)")


def _panel_clean(ax, clean: pd.DataFrame | None, styles: dict) -> None:
    metrics = [(key, name) for key, name in ROUGE_METRICS if clean is not None and f"{key}_mean" in clean]
    if not metrics or clean is None or clean.empty:
        _no_data(ax, "no clean-quality data")
        ax.set_title("(7) Clean summary quality")
        return
    models = _model_order(clean.index)
    offsets = _group_offsets(len(models))
    for k, m in enumerate(models):
        row = clean.loc[m]
        mean = np.array([row[f"{key}_mean"] for key, _ in metrics], float)
        low = np.array([row.get(f"{key}_ci_low", np.nan) for key, _ in metrics], float)
        high = np.array([row.get(f"{key}_ci_high", np.nan) for key, _ in metrics], float)
        yerr = np.nan_to_num(np.clip([mean - low, high - mean], 0, None))
        ax.bar(np.arange(len(metrics)) + offsets[k], mean, width=0.8 / len(models), yerr=yerr, capsize=3,
               color=styles[m]["color"])
    ax.set_xticks(range(len(metrics)), [name for _, name in metrics])
    ax.set_ylabel("F1 (95% CI)")
    ax.set_title("(7) Clean summary quality")


def _panel_transfer(ax, transfer: dict | None, models: list[str], styles: dict) -> None:
    kinds = [k for k in TRANSFER_KINDS if (transfer or {}).get(k)]
    ax.set_title(f"(8) Trigger transfer, mean {DELTA_NLL}", pad=22 if kinds else None)
    if not kinds:
        _no_data(ax, "no transfer data")
        return
    # Both kinds side by side in one heatmap: one colour scale makes them comparable, and
    # a single axes leaves room for readable labels in a quarter-width slot.
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


def _check_inputs(pairs: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    """The models the table compares; raises ValueError when the inputs cannot be drawn."""
    if table is None or table.empty:
        raise ValueError("analysis_figure: the attack table is empty (no attack has results to draw)")
    if "improvement_pct" not in table:
        raise ValueError("analysis_figure: table lacks column 'improvement_pct'")
    models = _model_order([c[: -len("_mean")] for c in table.columns if c.endswith("_mean")])
    if not models:
        raise ValueError("analysis_figure: table has no '<model>_mean' columns (e.g. nonmono_mean, mono_mean)")
    if pairs is None or pairs.empty:
        raise ValueError("analysis_figure: the per-sample pairs frame is empty")
    missing = [c for c in _PAIRS_COLUMNS if c not in pairs]
    if missing:
        raise ValueError(f"analysis_figure: pairs lacks column(s) {missing}")
    return models


def analysis_figure(pairs: pd.DataFrame, table: pd.DataFrame, clean: pd.DataFrame | None = None,
                    transfer: dict | None = None, title: str | None = None) -> Figure:
    """The 2 x 4 analysis figure: exactly eight axes, no colorbars (heatmap cells carry their values).

    Each axes is labelled with its entry of :data:`PANELS` (``ax.get_label()``), so callers
    and tests can find a panel without relying on axes order. Raises ValueError when the
    table or the pairs frame is empty or lacks the columns drawn.
    """
    table_models = _check_inputs(pairs, table)
    transfer_models = [m for matrix in (transfer or {}).values() for row, cells in (matrix or {}).items()
                       for m in (row, *cells)]
    models = _model_order(table_models, pairs["model"].unique(), clean.index if clean is not None else [],
                          transfer_models)
    styles = _styles(models)
    # Attacks in the table's order; any present only per-sample go last, so nothing drawn is dropped.
    attacks = list(table.index) + [a for a in pd.unique(pairs["attack"]) if a not in table.index]
    pair_models = [m for m in models if m in set(pairs["model"])]

    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(22, 10), layout="constrained")
        grid = fig.add_gridspec(2, 4)
        axes = [fig.add_subplot(grid[i // 4, i % 4], label=label) for i, label in enumerate(PANELS)]
        _panel_mean_degradation(axes[0], table, table_models, styles)
        _panel_improvement(axes[1], table, styles.get("mono", styles[models[-1]])["color"])
        _panel_distributions(axes[2], pairs, attacks, pair_models, styles)
        _panel_perplexity(axes[3], pairs, pair_models, styles)
        _panel_ecdf(axes[4], pairs, pair_models, styles)
        means = pairs.groupby(["attack", "model"])["abs_degradation"].mean().unstack()
        _heatmap(axes[5], means.reindex(index=attacks, columns=pair_models).to_numpy(float), attacks,
                 [styles[m]["label"] for m in pair_models])
        axes[5].set_xlabel("model")
        axes[5].set_title(f"(6) Mean {DELTA_NLL}, attack × model")
        _panel_clean(axes[6], clean, styles)
        _panel_transfer(axes[7], transfer, models, styles)

        # Below the panels: at the top, constrained layout lets the legend run into the suptitle.
        fig.legend(handles=[Patch(color=styles[m]["color"], label=styles[m]["label"]) for m in models],
                   loc="outside lower center", ncol=len(models), frameon=False, fontsize=12)
        fig.suptitle(title or "Robustness of monotone vs non-monotone summarizers under attack",
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
                drawn = False
                for m in models:
                    points = section["models"].get(m, {}).get("points", [])
                    x = np.array([p["budget"] for p in points], float)
                    mean, low, high = (np.array([p[name][k] for p in points], float)
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
                if col == 0:
                    ax.set_ylabel(ylabel)
                if row == 0:
                    ax.set_title(f"{attack} (headline {section['headline']})")
        fig.legend(handles=[Line2D([], [], color=styles[m]["color"], ls=styles[m]["ls"], marker="o", ms=4,
                                   label=styles[m]["label"]) for m in models],
                   loc="outside lower center", ncol=len(models), frameon=False, fontsize=12)
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
