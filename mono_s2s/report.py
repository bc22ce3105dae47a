"""Every table, figure and finding of an experiment, from its results alone (no model needed).

:func:`publish` takes the attack phase's results (the sections
:func:`mono_s2s.results.build_results` makes; the layout is documented in
:mod:`mono_s2s.results`), runs :mod:`mono_s2s.analysis` on them, and writes
``results/adversarial_results.json`` with its ``statistics`` / ``overall`` /
``key_findings`` sections, ``summary.csv``, ``adversarial_analysis.png`` and
``key_findings.txt``, and from the results' ``curves`` section (issue 13) ``curves.csv``,
``curve_areas.csv`` and ``robustness_curves.png``. With a tracker it also logs the guide's
``final/*`` keys, tables, the figures and the run summary. :func:`build` does the same from a
saved results file (``mono-s2s report``).

Several seeds (``out/seed_*``): each seed is reported on its own, then
:func:`aggregate_seeds` takes every comparison of the seeds (equal quality, equal
budget, each control) across them with the seed as the unit.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mono_s2s import analysis, tracking
from mono_s2s.curves import auc_rows, curve_rows
from mono_s2s.checkpoint import write_text_atomically
from mono_s2s.config import MONOTONE_VARIANTS, VARIANT_SLUGS
from mono_s2s.errors import UserError
from mono_s2s.matched import comparison
from mono_s2s.results import RESULTS_FILE, load_results

SUMMARY_CSV = "summary.csv"
FIGURE = "adversarial_analysis.png"
# The robustness curves (issue 13; mono_s2s.curves): one row per attack x model x budget, one row per
# attack x model x area measure, and the figure.
CURVES_CSV = "curves.csv"
CURVE_AREAS_CSV = "curve_areas.csv"
CURVES_FIGURE = "robustness_curves.png"
FINDINGS = "key_findings.txt"
SEEDS_CSV = "seeds_summary.csv"
SEEDS_FINDINGS = "seeds_key_findings.txt"
SEEDS_JSON = "seeds_results.json"
SEEDS_COMPARISONS_CSV = "seeds_comparisons.csv"
# Names of the two comparisons every experiment with a matched arm has (report.comparisons names the rest).
EQUAL_QUALITY, EQUAL_BUDGET = "equal_quality", "equal_budget"


@dataclass
class Report:
    """The analysis of one experiment (one seed): tables as pandas frames, findings as sentences."""

    a: str
    b: str | None
    pairs: pd.DataFrame  # analysis.records_frame: one row per (attack, model, sample)
    table: pd.DataFrame  # analysis.attack_table for the headline pair
    overall: dict[str, Any]
    parity: pd.DataFrame | None
    findings: list[str]
    others: dict[str, pd.DataFrame] = field(default_factory=dict)  # baseline vs each further variant
    # The monotone arm against each control arm present (PROTOCOL.md "Arms"), keyed by the control's slug:
    # columns as ``table`` with the control in the baseline's place (diff = control - mono).
    controls: dict[str, pd.DataFrame] = field(default_factory=dict)
    # The equal-quality comparison (PROTOCOL.md: "compare at equal budget *and* at equal clean quality"): the
    # matched arm (mono_s2s.matched) against the other arm of its pair, baseline side first, so that diff > 0
    # still means the monotone side degrades less. ``matched`` is the results file's record of the arm.
    matched: dict | None = None
    equal_quality: pd.DataFrame | None = None  # columns as ``table``, for ``matched["comparison"]``
    equal_quality_clean: pd.DataFrame | None = None  # clean parity of the same two arms
    figure: Path | None = None
    # Every further monotone arm (e.g. mono_cmnn) against each control present, as ``controls`` for the headline
    # one: {monotone slug: {control slug: table}}. Its equal-budget comparison with the baseline is in ``others``.
    more_controls: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    # The results file's ``curves`` section ({} for a file without one) and its figure, once written.
    curves: dict = field(default_factory=dict)
    curves_figure: Path | None = None

    def control_tables(self) -> list[tuple[str, str, pd.DataFrame]]:
        """``(monotone slug, control slug, table)`` for every monotone arm against every control: the headline
        monotone arm's (``controls``) first, then ``more_controls``."""
        groups = ((self.b, self.controls), *self.more_controls.items())
        return [(monotone, control, table) for monotone, tables in groups for control, table in tables.items()]


CONTROL_ARMS = ("init_only", "attention_only")  # what each rules out: PROTOCOL.md "Arms"


def _pair(slugs: list[str]) -> tuple[str, str | None]:
    """The headline comparison: the baseline against the monotone model (or the first other variant)."""
    a = analysis.BASELINE if analysis.BASELINE in slugs else slugs[0]
    others = [s for s in slugs if s != a]
    return a, ("mono" if "mono" in others else (others[0] if others else None))


def analyse(results: dict, n_boot: int = 2000, seed: int = 0, n_seeds: int = 1) -> Report:
    """The paired analysis of a loaded results file (pure: nothing is written)."""
    frame = analysis.records_frame([r for per_model in results["attacks"].values()
                                    for recs in per_model.values() for r in recs])
    slugs = list(results["models"])
    a, b = _pair(slugs)
    curves = results.get("curves") or {}
    if b is None:
        return Report(a, None, frame, pd.DataFrame(), {}, None,
                      [f"only one model ({a}) was attacked: there is nothing to compare it with"], curves=curves)
    table = analysis.attack_table(frame, a, b, n_boot=n_boot, seed=seed)
    overall = analysis.overall(frame, a, b, n_boot=n_boot, seed=seed)
    clean = results.get("clean") or {}
    parity = analysis.clean_parity(clean, a, b, n_boot=n_boot, seed=seed) if clean else None
    findings = analysis.key_findings(table, overall, parity, results.get("transfer"), a, b, n_seeds=n_seeds)
    others = {s: analysis.attack_table(frame, a, s, n_boot=n_boot, seed=seed) for s in slugs if s not in (a, b)}
    controls = ({c: analysis.attack_table(frame, c, b, n_boot=n_boot, seed=seed) for c in CONTROL_ARMS if c in slugs}
                if b == "mono" else {})
    findings += [_control_finding(b, c, t) for c, t in controls.items()]
    monotone = [VARIANT_SLUGS[v] for v in MONOTONE_VARIANTS if VARIANT_SLUGS[v] in slugs and VARIANT_SLUGS[v] != b]
    more_controls = {m: {c: analysis.attack_table(frame, c, m, n_boot=n_boot, seed=seed) for c in CONTROL_ARMS
                         if c in slugs} for m in monotone}
    more_controls = {m: tables for m, tables in more_controls.items() if tables}
    findings += [_control_finding(m, c, t) for m, tables in more_controls.items() for c, t in tables.items()]
    matched, equal, equal_clean = results.get("matched"), None, None
    if matched and matched.get("slug") in slugs:
        ea, eb = comparison(matched)
        equal = analysis.attack_table(frame, ea, eb, n_boot=n_boot, seed=seed)
        if ea in clean and eb in clean:
            equal_clean = analysis.clean_parity({s: clean[s] for s in (ea, eb)}, ea, eb, n_boot=n_boot, seed=seed)
        # PROTOCOL.md, "What the headline says": lead with the equal-quality comparison.
        findings = _matched_findings(matched, ea, eb, equal, equal_clean) + findings
    return Report(a, b, frame, table, overall, parity, findings, others, controls, matched, equal, equal_clean,
                  more_controls=more_controls, curves=curves)


def _matched_findings(m: dict, a: str, b: str, table: pd.DataFrame, clean: pd.DataFrame | None) -> list[str]:
    """What the matched arm is, whether it is a close match ("no close match" when not), and what it shows."""
    gap = f"{m['gap']:.1%}"
    if m["close_match"]:
        first = (f"Equal quality: {m['slug']} is {m['source']}'s own run at step {m['step']} (epoch {m['epoch']}), "
                 f"val NLL {m['val_loss']:.3f} against {m['weaker']}'s best {m['target']:.3f} (gap {gap}, within "
                 f"{m['tolerance']:.0%}).")
    else:
        first = (f"No close match: the snapshot of {m['source']}'s run closest to {m['weaker']}'s best val NLL "
                 f"{m['target']:.3f} (step {m['step']}, val NLL {m['val_loss']:.3f}) is {gap} away, over the "
                 f"{m['tolerance']:.0%} tolerance: the comparison of {a} with {b} is NOT at equal quality"
                 + ("" if m.get("bracketed", True) else f" (even {m['source']}'s first snapshot is better than the "
                    "target)") + "; a smaller train.snapshot_every_steps takes snapshots nearer it.")
    lines = [first]
    if clean is not None and "rougeL" in clean.index and "diff_mean" in clean:
        r = clean.loc["rougeL"]
        line = (f"Clean quality at equal validation NLL: ROUGE-L {a} {r[f'{a}_mean']:.3f} vs {b} {r[f'{b}_mean']:.3f} "
                f"(difference {r['diff_mean']:+.3f} [{r['diff_ci_low']:+.3f}, {r['diff_ci_high']:+.3f}])")
        if analysis.FACT_RECALL in clean.index:
            f = clean.loc[analysis.FACT_RECALL]
            line += f", fact recall {a} {f[f'{a}_mean']:.3f} vs {b} {f[f'{b}_mean']:.3f}"
        lines.append(line + ".")
    if table is not None and not table.empty:
        lines.append(f"At equal quality ({a} vs {b}, paired by sample): {_directions(table, a, b)}.")
    return lines


def _directions(table: pd.DataFrame, a: str, b: str) -> str:
    """In how many attacks each side degrades less (diff = a - b), and which of those survive Holm, by side:
    a significant result counts for the side it favours, never for both."""
    parts = []
    for who, side in ((b, table["diff_mean"] > 0), (a, table["diff_mean"] < 0)):
        significant = list(table.index[side & table["significant"]])
        named = f": {', '.join(significant)}" if significant else ""
        parts.append(f"{who} degrades less in {int(side.sum())} of {len(table)} attacks ({len(significant)} "
                     f"significant after Holm{named})")
    return "; ".join(parts)


def _control_finding(b: str, control: str, table: pd.DataFrame) -> str:
    """One sentence per control arm: in how many attacks each side degrades less, and which survive Holm."""
    return (f"Against the control {control}: {_directions(table, control, b)}; a control that matches {b} means "
            f"the constraint is not what makes the difference.")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


def statistics_section(report: Report) -> dict[str, Any]:
    """``statistics.<attack>``: the table's row as a dict (``wilcoxon_p``, ``ttest_p``, ``holm_p``, ...)."""
    section = {attack: _jsonable(row.to_dict()) for attack, row in report.table.iterrows()}
    for slug, table in report.others.items():
        section[f"vs_{slug}"] = {attack: _jsonable(row.to_dict()) for attack, row in table.iterrows()}
    for monotone, control, table in report.control_tables():
        section[f"{monotone}_vs_{control}"] = {attack: _jsonable(row.to_dict()) for attack, row in table.iterrows()}
    if report.equal_quality is not None:
        section["equal_quality"] = {attack: _jsonable(row.to_dict()) for attack, row in report.equal_quality.iterrows()}
    if report.equal_quality_clean is not None:
        section["equal_quality_clean"] = _jsonable(report.equal_quality_clean.to_dict(orient="index"))
    return section


def _figure(report: Report, results: dict, path: Path) -> Path | None:
    from mono_s2s import figures

    if report.b != "mono" or report.table.empty:
        return None  # the figure's panels are drawn for the seed's pair (nonmono vs mono)
    clean = (analysis.clean_frame_for_figure(report.parity, list(results.get("clean", {})))
             if report.parity is not None else None)
    # Only the columns the figure reads: it takes every ``<model>_mean`` column for a model.
    table = report.table[[f"{m}_{k}" for m in (report.a, report.b) for k in ("mean", "ci_low", "ci_high")]
                         + ["improvement_pct", "holm_p", "significance"]]
    fig = figures.analysis_figure(report.pairs, table, clean, results.get("transfer"),
                                  title=f"{report.a} vs {report.b}: degradation under attack "
                                        f"({results.get('config', {}).get('preset', '?')} preset)")
    return figures.save_figure(fig, path)


def _has_points(curves: dict) -> bool:
    return any(section.get("budgets") for section in curves.values())


def _curves_figure(report: Report, results: dict, path: Path) -> Path | None:
    from mono_s2s import figures

    if not _has_points(report.curves):
        return None
    preset = results.get("config", {}).get("preset", "?")
    fig = figures.curves_figure(report.curves, title=f"Robustness curves, mean and 95% CI ({preset} preset)")
    return figures.save_figure(fig, path)


def write(report: Report, results: dict, results_dir: Path) -> None:
    """summary.csv, the figures, the curve CSVs, key_findings.txt, and the analysis sections of the results file."""
    results_dir = Path(results_dir)
    if not report.table.empty:
        write_text_atomically(results_dir / SUMMARY_CSV, report.table.to_csv(index_label="attack"))
    report.figure = _figure(report, results, results_dir / FIGURE)
    if _has_points(report.curves):
        write_text_atomically(results_dir / CURVES_CSV, pd.DataFrame(curve_rows(report.curves)).to_csv(index=False))
        write_text_atomically(results_dir / CURVE_AREAS_CSV, pd.DataFrame(auc_rows(report.curves)).to_csv(index=False))
    report.curves_figure = _curves_figure(report, results, results_dir / CURVES_FIGURE)
    write_text_atomically(results_dir / FINDINGS, "\n".join(report.findings) + "\n")
    results["statistics"] = statistics_section(report)
    results["overall"] = _jsonable(report.overall)
    results["clean_parity"] = (_jsonable(report.parity.to_dict(orient="index"))
                               if report.parity is not None else None)
    results["key_findings"] = report.findings
    write_text_atomically(results_dir / RESULTS_FILE, json.dumps(results, indent=1))


def log(tracker, report: Report, results: dict) -> None:
    """The guide's final keys, the two final tables, the figures and the run summary."""
    if report.curves_figure is not None:
        tracker.log_image(tracking.CURVES_FIGURE_KEY, report.curves_figure)
    if report.table.empty:
        tracker.summary({tracking.KEY_FINDINGS: "\n".join(report.findings)})
        return
    a, b, t = report.a, report.b, report.table
    metrics = {}
    for attack, row in t.iterrows():
        keys = tracking.final_keys(attack, (a, b))
        values = (row[f"{a}_mean"], row[f"{b}_mean"], row["improvement_pct"], row["holm_p"], bool(row["significant"]))
        metrics.update(zip(keys, values))
    tracker.log(metrics)
    cols = ["attack", "n", f"{a}_mean", f"{a}_ci_low", f"{a}_ci_high", f"{b}_mean", f"{b}_ci_low", f"{b}_ci_high",
            "diff_mean", "improvement_pct", "improvement_note", "wilcoxon_p", "ttest_p", "holm_p", "significance",
            "cohens_dz", "rank_biserial", f"{a}_success_rate", f"{b}_success_rate", "mcnemar_p"]
    tracker.log_table(tracking.FINAL_SUMMARY_TABLE, cols, [[attack] + [row[c] for c in cols[1:]]
                                                            for attack, row in t.iterrows()])
    grads = _gradient_norms(results, (a, b))
    gcols = ["attack", f"{a}_mean", f"{b}_mean", "improvement_pct", "holm_p", f"{a}_avg_grad_norm",
             f"{b}_avg_grad_norm", "grad_norm_ratio"]
    rows = []
    for attack, row in t.iterrows():
        ga, gb = grads.get(attack, {}).get(a, math.nan), grads.get(attack, {}).get(b, math.nan)
        rows.append([attack, row[f"{a}_mean"], row[f"{b}_mean"], row["improvement_pct"], row["holm_p"], ga, gb,
                     ga / gb if gb and not math.isnan(gb) else math.nan])
    tracker.log_table(tracking.FINAL_GRADIENT_TABLE, gcols, rows)
    if report.figure is not None:
        tracker.log_image(tracking.FIGURE_KEY, report.figure)
    o = report.overall
    overall_improvement = o["improvement_pct"] if o["improvement_pct"] is not None else math.nan
    overall_values = (overall_improvement, o[f"{a}_degradation"], o[f"{b}_degradation"], o["p_value"],
                      o["significant"])
    tracker.summary({**dict(zip(tracking.overall_keys((a, b)), overall_values)),
                     tracking.FINAL_OVERALL_IMPROVEMENT: overall_improvement,
                     tracking.KEY_FINDINGS: "\n".join(report.findings)})


def _gradient_norms(results: dict, slugs) -> dict[str, dict[str, float]]:
    """Mean input-embedding gradient norm per attack and model, where the attack computed one (HotFlip)."""
    out: dict[str, dict[str, float]] = {}
    for attack, per_model in results["attacks"].items():
        for slug in slugs:
            norms = [r["extra"]["avg_grad_norm"] for r in per_model.get(slug, [])
                     if "avg_grad_norm" in (r.get("extra") or {})]
            if norms:
                out.setdefault(attack, {})[slug] = sum(norms) / len(norms)
    return out


def _pm(stats: dict) -> str:
    """``mean ± half-width`` of a t-interval (symmetric), ``mean`` alone with one value, ``–`` with none."""
    mean, low, high = stats["mean"], stats["ci_low"], stats["ci_high"]
    if mean is None or math.isnan(mean):
        return "–"
    return f"{mean:.3g}" if low is None or math.isnan(low) else f"{mean:.3g} ± {(high - low) / 2:.2g}"


def curve_tables(curves: dict) -> dict[str, pd.DataFrame]:
    """One compact table per attack with budget points: a row per budget (``*``: the headline budget), per model
    its records ``n``, ROUGE-L drop, ΔNLL and success rate as mean ± the 95 % t half-width."""
    tables = {}
    for attack, section in curves.items():
        if not section.get("budgets"):
            continue
        rows = {}
        for model, per_model in section["models"].items():
            for point in per_model["points"]:
                b = point["budget"]
                row = rows.setdefault(f"{b}{'*' if b == section['headline'] else ''}", {})
                row.update({f"{model} n": point["n"], f"{model} R-L drop": _pm(point["rouge_drop"]),
                            f"{model} ΔNLL": _pm(point["abs_degradation"]), f"{model} succ.": _pm(point["success"])})
        table = pd.DataFrame.from_dict(rows, orient="index")
        tables[attack] = table
    return tables


def print_curves(curves: dict) -> None:
    """The compact curve table of every attack, then each model's normalised areas."""
    tables = curve_tables(curves)
    if not tables:
        return
    print("\nRobustness curves (mean ± 95% t half-width per budget; * = headline budget, the one analysed above; "
          "label failures left out)")
    with pd.option_context("display.width", 200, "display.max_columns", 40):
        for attack, table in tables.items():
            print(f"\n{attack} (x = {curves[attack]['unit']})")
            print(table.to_string())
            areas = "; ".join(f"{model} ΔNLL {_pm(m['auc']['abs_degradation'])}, R-L drop {_pm(m['auc']['rouge_drop'])}"
                              f" (n={m['auc']['abs_degradation']['n']})" for model, m in curves[attack]["models"].items())
            print(f"area / budget range, per sample: {areas}")


def print_report(report: Report) -> None:
    """The robustness table next to clean quality, the curves, then the findings (pandas, fixed-width)."""
    if report.table.empty:
        print_curves(report.curves)
        print("\n".join(report.findings))
        return
    a, b = report.a, report.b
    cols = {"n": "n", f"{a}_mean": f"{a} ΔNLL", f"{b}_mean": f"{b} ΔNLL", "diff_mean": "diff",
            "diff_ci_low": "ci low", "diff_ci_high": "ci high", "improvement_pct": "impr. %",
            "wilcoxon_p": "wilcoxon p", "ttest_p": "t p", "holm_p": "holm p", "significance": "",
            "cohens_dz": "d_z", f"{a}_success_rate": f"{a} succ.", f"{b}_success_rate": f"{b} succ.",
            "mcnemar_p": "mcnemar p"}
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.float_format",
                           "{:.3g}".format):
        print("\nRobustness (absolute degradation = attacked - clean NLL, nats; paired by sample; "
              "diff = nonmono - mono)")
        print(report.table[list(cols)].rename(columns=cols).to_string())
        for m, control, table in report.control_tables():
            ccols = {"n": "n", f"{control}_mean": f"{control} ΔNLL", f"{m}_mean": f"{m} ΔNLL", "diff_mean": "diff",
                     "diff_ci_low": "ci low", "diff_ci_high": "ci high", "wilcoxon_p": "wilcoxon p",
                     "holm_p": "holm p", "significance": "", "cohens_dz": "d_z"}
            print(f"\nControl: {m} vs {control} (paired by sample; diff = {control} - {m})")
            print(table[list(ccols)].rename(columns=ccols).to_string())
        if report.equal_quality is not None and not report.equal_quality.empty:
            ea, eb = comparison(report.matched)
            ecols = {"n": "n", f"{ea}_mean": f"{ea} ΔNLL", f"{eb}_mean": f"{eb} ΔNLL", "diff_mean": "diff",
                     "diff_ci_low": "ci low", "diff_ci_high": "ci high", "wilcoxon_p": "wilcoxon p",
                     "holm_p": "holm p", "significance": "", "cohens_dz": "d_z"}
            m = report.matched
            close = "" if m["close_match"] else "; NO CLOSE MATCH"
            print(f"\nEqual quality: {ea} vs {eb} ({m['slug']}: step {m['step']} of {m['source']}'s run, val NLL "
                  f"{m['val_loss']:.3f} for target {m['target']:.3f}, gap {m['gap']:.1%}{close}; paired by sample; "
                  f"diff = {ea} - {eb})")
            print(report.equal_quality[list(ecols)].rename(columns=ecols).to_string())
        if report.parity is not None:
            print("\nClean quality (test split, paired by example)")
            print(report.parity.to_string())
    print_curves(report.curves)
    print("\nKey findings")
    for line in report.findings:
        print(f"- {line}")


def seed_dirs(out: Path) -> list[Path]:
    """``out/seed_*`` folders holding results, in seed order ([] for a single-seed experiment)."""
    dirs = [d for d in Path(out).glob("seed_*") if (d / "results" / RESULTS_FILE).is_file()]
    return sorted(dirs, key=lambda d: int(d.name.split("_", 1)[1]) if d.name.split("_", 1)[1].isdigit() else 0)


def comparisons(report: Report) -> dict[str, tuple[str, str, pd.DataFrame]]:
    """Every paired comparison of one experiment, ``{name: (a, b, table)}`` with diff = a - b (positive: b
    degrades less): the equal-quality one first when there is a matched arm (PROTOCOL.md, "What the headline
    says"), then the equal-budget headline, the baseline against each further arm, and each monotone arm
    against each control."""
    found: dict[str, tuple[str, str, pd.DataFrame]] = {}
    if report.matched and report.equal_quality is not None:
        found[EQUAL_QUALITY] = (*comparison(report.matched), report.equal_quality)
    if report.b is not None and not report.table.empty:
        found[EQUAL_BUDGET] = (report.a, report.b, report.table)
    for slug, table in report.others.items():
        found[f"{report.a}_vs_{slug}"] = (report.a, slug, table)
    for monotone, control, table in report.control_tables():
        found[f"{monotone}_vs_{control}"] = (control, monotone, table)
    return found


def _label(name: str, a: str, b: str) -> str:
    kind = {EQUAL_QUALITY: "equal quality", EQUAL_BUDGET: "equal budget"}.get(name)
    return (f"{kind}: " if kind else "") + f"{a} vs {b}"


def aggregate_seeds(out: Path, reports: list[Report]) -> dict[str, pd.DataFrame]:
    """The across-seed table of every comparison the seeds have (:func:`comparisons`; the seed is the unit),
    written to seeds_summary.csv (the equal-budget headline, as before N arms), seeds_comparisons.csv (every
    comparison, one row per comparison and attack), seeds_results.json and seeds_key_findings.txt.

    Returns ``{name: analysis.seed_table}`` in :func:`comparisons`' order; each table's ``attrs`` hold its
    ``comparison`` (a, b) and a ``label``. A comparison missing from some seeds (a matched arm that one seed
    did not build) is aggregated over the seeds that have it: its ``n_seeds`` says how many.
    """
    per_seed = [comparisons(r) for r in reports]
    names = list(dict.fromkeys(name for found in per_seed for name in found))
    tables: dict[str, pd.DataFrame] = {}
    for name in names:
        entries = [found[name] for found in per_seed if name in found and not found[name][2].empty]
        if not entries:
            continue
        a, b = entries[0][0], entries[0][1]
        table = analysis.seed_table([t for _, _, t in entries], a, b)
        table.attrs["label"] = _label(name, a, b)
        tables[name] = table
    if not tables:
        raise UserError(f"{out}: no seed has a comparison to aggregate")
    findings = seed_findings_all(tables)
    results_dir = Path(out) / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    headline = tables.get(EQUAL_BUDGET, next(iter(tables.values())))
    write_text_atomically(results_dir / SEEDS_CSV, headline.to_csv(index_label="attack"))
    long = pd.concat([t.assign(comparison=name, a=t.attrs["comparison"][0], b=t.attrs["comparison"][1])
                      .rename(columns={f"{t.attrs['comparison'][0]}_mean": "a_mean",
                                       f"{t.attrs['comparison'][1]}_mean": "b_mean"})
                      for name, t in tables.items()])
    front = ["comparison", "a", "b"]
    long = long[front + [c for c in long.columns if c not in front]]
    write_text_atomically(results_dir / SEEDS_COMPARISONS_CSV, long.to_csv(index_label="attack"))
    write_text_atomically(results_dir / SEEDS_FINDINGS, "".join(f"- {line}\n" for line in findings))
    a, b = headline.attrs["comparison"]
    write_text_atomically(results_dir / SEEDS_JSON, json.dumps(_jsonable({
        "seeds": len(reports), "comparison": [a, b], "per_attack": headline.to_dict(orient="index"),
        "comparisons": {name: {"a": t.attrs["comparison"][0], "b": t.attrs["comparison"][1],
                               "label": t.attrs["label"], "per_attack": t.to_dict(orient="index")}
                        for name, t in tables.items()},
        "per_seed_overall": [r.overall for r in reports], "key_findings": findings}), indent=1))
    return tables


def seed_findings_all(tables: dict[str, pd.DataFrame]) -> list[str]:
    """The across-seed findings of every comparison: the equal-quality and equal-budget ones attack by attack
    (:func:`analysis.seed_findings`, the one on the number of seeds said once, at the end), every other
    comparison in one sentence."""
    lines, caveat = [], []
    for name, table in tables.items():
        a, b = table.attrs["comparison"]
        found = analysis.seed_findings(table)
        caveat = [line for line in found if line.startswith(("Only", "One seed"))] or caveat
        found = [line for line in found if line not in caveat]
        if name in (EQUAL_QUALITY, EQUAL_BUDGET):
            label = table.attrs["label"]
            lines += [f"{label[0].upper()}{label[1:]} -- {line}" for line in found]
        elif not table.empty:
            b_all = [atk for atk, row in table.iterrows() if row["per_seed_diff"] and min(row["per_seed_diff"]) > 0]
            a_all = [atk for atk, row in table.iterrows() if row["per_seed_diff"] and max(row["per_seed_diff"]) < 0]
            rest = len(table) - len(a_all) - len(b_all)
            lines.append(f"{table.attrs['label']}: {b} degrades less in every seed in {len(b_all)} of {len(table)} "
                         f"attacks{_named(b_all)}, {a} in {len(a_all)}{_named(a_all)}; the direction changes between "
                         f"seeds in {rest}.")
    return lines + caveat


def _named(attacks: list[str]) -> str:
    return f" ({', '.join(attacks)})" if attacks else ""


def print_seed_table(tables: dict[str, pd.DataFrame]) -> None:
    """Every across-seed table (:func:`aggregate_seeds`), then the findings."""
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.float_format",
                           "{:.3g}".format):
        for table in tables.values():
            print(f"\nAcross {int(table['n_seeds'].max())} seeds, {table.attrs['label']} (unit: independently "
                  "trained model pair; diff = mean paired difference per seed; t-interval over seeds)")
            print(table.to_string())
    print("Key findings across seeds")
    for line in seed_findings_all(tables):
        print(f"- {line}")


def publish(results: dict, out: Path, tracker=None, n_boot: int = 2000, quiet: bool = False,
            n_seeds: int = 1) -> Report:
    """Analyse ``results``, write every output under ``out/results`` (the results file included), log to
    ``tracker`` when given; return the report. The pipeline calls this with the attack phase's results."""
    report = analyse(results, n_boot=n_boot, n_seeds=n_seeds)
    write(report, results, Path(out) / "results")
    if tracker is not None:
        log(tracker, report, results)
    if not quiet:
        print_report(report)
    return report


def build(out: Path, tracker=None, n_boot: int = 2000, quiet: bool = False, n_seeds: int = 1) -> Report:
    """:func:`publish` the results saved in ``out/results`` (``mono-s2s report``: no model needed)."""
    results = load_results(Path(out) / "results" / RESULTS_FILE)
    return publish(results, out, tracker=tracker, n_boot=n_boot, quiet=quiet, n_seeds=n_seeds)


def build_all(out: Path, n_boot: int = 2000) -> list[Report]:
    """``mono-s2s report``: one experiment, or every ``seed_*`` experiment under ``out`` and their aggregate."""
    out = Path(out)
    seeds = seed_dirs(out)
    if not seeds:
        return [build(out, n_boot=n_boot)]
    reports = []
    for d in seeds:
        print(f"\n== {d.name}")
        reports.append(build(d, n_boot=n_boot, n_seeds=len(seeds)))
    print_seed_table(aggregate_seeds(out, reports))
    return reports
