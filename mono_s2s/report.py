"""Every table, figure and finding of an experiment, from its results alone (no model needed).

:func:`publish` takes the attack phase's results (the sections
:func:`mono_s2s.results.build_results` makes; the layout is documented in
:mod:`mono_s2s.results`), runs :mod:`mono_s2s.analysis` on them, and writes
``results/adversarial_results.json`` with its ``statistics`` / ``overall`` /
``key_findings`` sections, ``summary.csv`` (every test of every comparison),
``success_rates.csv``, ``adversarial_analysis.png`` and ``key_findings.txt``, and from the results' ``curves`` section (issue 13) ``curves.csv``,
``curve_areas.csv`` and ``robustness_curves.png``. With a tracker it also logs the guide's
``final/*`` keys, tables, the figures and the run summary. :func:`build` does the same from a
saved results file (``mono-s2s report``).

Several seeds (``out/seed_*``): each seed is reported on its own, then
:func:`aggregate_seeds` takes every comparison of the seeds (equal quality, equal
budget, each control) on both primary measures across them with the seed as the unit,
writes the across-seed files and logs them to the seed group's wandb run.
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
from mono_s2s.errors import UserError
from mono_s2s.results import RESULTS_FILE, load_results

SUMMARY_CSV = "summary.csv"  # every test of every comparison (analysis.TEST_COLUMNS)
SUCCESS_CSV = "success_rates.csv"  # per comparison and attack: success rates and McNemar
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
EQUAL_QUALITY, EQUAL_BUDGET = analysis.EQUAL_QUALITY, analysis.EQUAL_BUDGET


@dataclass
class Report:
    """The analysis of one experiment (one seed): every test in one long frame, tables and findings.

    ``tests`` has one row per (comparison, attack, point, measure) (:data:`mono_s2s.analysis.TEST_COLUMNS`),
    with the family's Holm-adjusted p; ``a``/``b`` are the equal-budget headline pair (the guide's
    ``final/*`` keys), ``comparisons`` every comparison the arms allow, equal quality first.
    """

    a: str
    b: str | None
    pairs: pd.DataFrame  # analysis.records_frame: one row per (attack, model, sample), headline budget
    comparisons: list[analysis.Comparison]
    tests: pd.DataFrame
    success: pd.DataFrame  # analysis.success_table
    arms: pd.DataFrame  # analysis.arm_table: per attack, arm and measure, mean and CI
    parity: pd.DataFrame | None  # analysis.clean_parity of every arm (diff columns for a vs b)
    findings: list[str]
    family: int = 0
    matched: dict | None = None
    curves: dict = field(default_factory=dict)
    figure: Path | None = None
    curves_figure: Path | None = None

    def comparison(self, name: str) -> analysis.Comparison | None:
        return next((c for c in self.comparisons if c.name == name), None)

    def headline(self, name: str = EQUAL_BUDGET, measure: str = "rouge_drop") -> pd.DataFrame:
        """One comparison's per-attack rows at the headline budget (:func:`analysis.headline_table`)."""
        return analysis.headline_table(self.tests, name, measure)

    def overall(self, name: str = EQUAL_BUDGET, measure: str = "rouge_drop") -> dict[str, Any]:
        """The overall test of one comparison and measure as a dict ({} when there is none)."""
        rows = analysis.rows_of(self.tests, name, "overall", measure)
        return {} if rows.empty else rows.iloc[0].to_dict()


def analyse(results: dict, n_boot: int = 2000, seed: int = 0, n_seeds: int = 1) -> Report:
    """The paired analysis of a loaded results file (pure: nothing is written)."""
    frame = analysis.records_frame([r for per_model in results["attacks"].values()
                                    for recs in per_model.values() for r in recs])
    slugs = list(results["models"])
    curves = results.get("curves") or {}
    matched = results.get("matched") if (results.get("matched") or {}).get("slug") in slugs else None
    comps = analysis.comparisons_of(slugs, matched)
    a = analysis.BASELINE if analysis.BASELINE in slugs else slugs[0]
    b = analysis.headline_arm(slugs)
    clean = results.get("clean") or {}
    parity = analysis.clean_parity(clean, a, b or a, n_boot=n_boot, seed=seed) if clean else None
    arms = analysis.arm_table(frame, slugs, n_boot=n_boot, seed=seed)
    if not comps:
        return Report(a, None, frame, [], pd.DataFrame(columns=list(analysis.TEST_COLUMNS)),
                      analysis.success_table(frame, []), arms, parity,
                      [f"only one model ({a}) was attacked: there is nothing to compare it with"], matched=matched,
                      curves=curves)
    tests = analysis.test_table(frame, comps, curves, clean, n_boot=n_boot, seed=seed)
    family = analysis.family_size(tests)
    findings = analysis.key_findings(tests, comps, results.get("transfer"), curves, n_seeds=n_seeds)
    if matched:
        findings = [_matched_sentence(matched, *analysis.matched_comparison(matched))] + findings
    return Report(a, b, frame, comps, tests, analysis.success_table(frame, comps), arms, parity, findings,
                  family=family, matched=matched, curves=curves)


def _matched_sentence(m: dict, a: str, b: str) -> str:
    """What the matched arm is, and whether it is a close match ("No close match" when not)."""
    gap = f"{m['gap']:.1%}"
    if m["close_match"]:
        return (f"Equal quality: {m['slug']} is {m['source']}'s own run at step {m['step']} (epoch {m['epoch']}), "
                f"val NLL {m['val_loss']:.3f} against {m['weaker']}'s best {m['target']:.3f} (gap {gap}, within "
                f"{m['tolerance']:.0%}); the equal-quality comparison is {a} vs {b}.")
    return (f"No close match: the snapshot of {m['source']}'s run closest to {m['weaker']}'s best val NLL "
            f"{m['target']:.3f} (step {m['step']}, val NLL {m['val_loss']:.3f}) is {gap} away, over the "
            f"{m['tolerance']:.0%} tolerance: the comparison of {a} with {b} is NOT at equal quality"
            + ("" if m.get("bracketed", True) else f" (even {m['source']}'s first snapshot is better than the "
               "target)") + "; a smaller train.snapshot_every_steps takes snapshots nearer it.")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


def _records(frame: pd.DataFrame) -> list[dict]:
    return [_jsonable(r) for r in frame.to_dict(orient="records")]


def statistics_section(report: Report) -> dict[str, Any]:
    """The results file's ``statistics``: the family, the comparisons, every test, success rates, arm means."""
    return {"family": {"size": report.family, "alpha": analysis.ALPHA, "power": analysis.POWER,
                       "test": "Wilcoxon signed-rank, Holm-adjusted", "points": list(analysis.FAMILY_POINTS),
                       "primary": list(analysis.PRIMARY), "clean": list(analysis.CLEAN_MEASURES)},
            "measures": {m: {"role": analysis.ROLES.get(m, "primary"), "name": analysis.MEASURE_NAMES[m]}
                         for m in analysis.MEASURES},
            "comparisons": [{"name": c.name, "a": c.a, "b": c.b, "kind": c.kind, "label": c.label}
                            for c in report.comparisons],
            "tests": _records(report.tests), "success": _records(report.success), "arms": _records(report.arms)}


def overall_section(report: Report) -> dict[str, Any]:
    """``overall``: per comparison and measure, the overall test (the sample as unit)."""
    rows = report.tests[report.tests["point"] == "overall"] if not report.tests.empty else report.tests
    out: dict[str, dict] = {}
    for _, r in rows.iterrows():
        out.setdefault(r["comparison"], {})[r["measure"]] = _jsonable(r.to_dict())
    return out


def _figure(report: Report, results: dict, path: Path) -> Path | None:
    from mono_s2s import figures

    if report.arms.empty and not _has_points(report.curves):
        return None
    clean = (analysis.clean_frame_for_figure(report.parity, list(results.get("clean", {})))
             if report.parity is not None else None)
    preset = results.get("config", {}).get("preset", "?")
    fig = figures.analysis_figure(report.curves, report.arms, clean, results.get("transfer"),
                                  title=f"Degradation under attack by arm: generated-summary ROUGE-L drop, "
                                        f"adversarial excess, clean quality, transfer ({preset} preset)")
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
    """summary.csv (every test), success_rates.csv, the figures, the curve CSVs, key_findings.txt, and the
    analysis sections of the results file."""
    results_dir = Path(results_dir)
    if not report.tests.empty:
        write_text_atomically(results_dir / SUMMARY_CSV, report.tests.to_csv(index=False))
        write_text_atomically(results_dir / SUCCESS_CSV, report.success.to_csv(index=False))
    report.figure = _figure(report, results, results_dir / FIGURE)
    if _has_points(report.curves):
        write_text_atomically(results_dir / CURVES_CSV, pd.DataFrame(curve_rows(report.curves)).to_csv(index=False))
        write_text_atomically(results_dir / CURVE_AREAS_CSV, pd.DataFrame(auc_rows(report.curves)).to_csv(index=False))
    report.curves_figure = _curves_figure(report, results, results_dir / CURVES_FIGURE)
    write_text_atomically(results_dir / FINDINGS, "\n".join(report.findings) + "\n")
    results["statistics"] = statistics_section(report)
    results["overall"] = overall_section(report)
    results["clean_parity"] = (_jsonable(report.parity.to_dict(orient="index"))
                               if report.parity is not None else None)
    results["key_findings"] = report.findings
    write_text_atomically(results_dir / RESULTS_FILE, json.dumps(results, indent=1))


def _cells(frame: pd.DataFrame) -> tuple[list[str], list[list]]:
    return list(frame.columns), [[_jsonable(v) for v in row] for row in frame.itertuples(index=False)]


def log(tracker, report: Report, results: dict) -> None:
    """The guide's final keys (now on the primary measure, ROUGE-L drop), the tables, the figures, the summary."""
    if report.curves_figure is not None:
        tracker.log_image(tracking.CURVES_FIGURE_KEY, report.curves_figure)
    if report.figure is not None:
        tracker.log_image(tracking.FIGURE_KEY, report.figure)
    t = report.headline()
    if t.empty:
        tracker.summary({tracking.KEY_FINDINGS: "\n".join(report.findings), tracking.FAMILY_SIZE: report.family})
        return
    a, b = report.a, report.b
    metrics = {}
    for attack, row in t.iterrows():
        keys = tracking.final_keys(attack, (a, b))
        values = (row[f"{a}_mean"], row[f"{b}_mean"], row["improvement_pct"], row["holm_p"], bool(row["significant"]))
        metrics.update(zip(keys, values))
    tracker.log(metrics)
    measures = analysis.primary_measures(report.tests)
    head = report.tests[(report.tests["comparison"] == EQUAL_BUDGET) & report.tests["measure"].isin(measures)
                        & (report.tests["point"] == "headline")]
    cols = ["attack", "measure", "n", "a_mean", "b_mean", "diff_mean", "diff_ci_low", "diff_ci_high", "improvement_pct",
            "wilcoxon_p", "ttest_p", "holm_p", "significance", "cohens_dz", "mde", "mde_family"]
    tracker.log_table(tracking.FINAL_SUMMARY_TABLE, *_cells(head[cols]))
    grads = _gradient_norms(results, (a, b))
    gcols = ["attack", f"{a}_mean", f"{b}_mean", "improvement_pct", "holm_p", f"{a}_avg_grad_norm",
             f"{b}_avg_grad_norm", "grad_norm_ratio"]
    rows = []
    for attack, row in t.iterrows():
        ga, gb = grads.get(attack, {}).get(a, math.nan), grads.get(attack, {}).get(b, math.nan)
        rows.append([attack, row[f"{a}_mean"], row[f"{b}_mean"], row["improvement_pct"], row["holm_p"], ga, gb,
                     ga / gb if gb and not math.isnan(gb) else math.nan])
    tracker.log_table(tracking.FINAL_GRADIENT_TABLE, gcols, rows)
    tracker.log_table(tracking.FINAL_COMPARISONS_TABLE, *_cells(report.tests))
    tracker.log_table(tracking.FINAL_SUCCESS_TABLE, *_cells(report.success))
    o = report.overall()
    overall_improvement = o.get("improvement_pct", math.nan)
    overall_values = (overall_improvement, o.get("a_mean", math.nan), o.get("b_mean", math.nan),
                      o.get("holm_p", math.nan), bool(o.get("significant", False)))
    tracker.summary({**dict(zip(tracking.overall_keys((a, b)), overall_values)),
                     tracking.FINAL_OVERALL_IMPROVEMENT: overall_improvement, tracking.FAMILY_SIZE: report.family,
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


def comparison_frame(report: Report, name: str) -> pd.DataFrame:
    """One comparison's primary-measure tests for reading: a row per (attack, point), per primary measure the
    two arms' means, the difference with its 95 % CI, Holm p, mark and MDE (80 % power, family level)."""
    rows = report.tests[(report.tests["comparison"] == name) & (report.tests["role"] == "primary")
                        & (report.tests["point"] != "clean")]
    out: dict[tuple[str, str], dict] = {}
    for _, r in rows.iterrows():
        measure = analysis.SHORT_NAMES[r["measure"]]
        cell = out.setdefault((r["attack"], r["point"]), {"n": int(r["n"])})
        cell.update({f"{measure} {r['a']}": r["a_mean"], f"{measure} {r['b']}": r["b_mean"],
                     f"{measure} diff [95% CI]": f"{r['diff_mean']:+.3f} [{r['diff_ci_low']:+.3f}, "
                                                 f"{r['diff_ci_high']:+.3f}]",
                     f"{measure} holm p": r["holm_p"], f"{measure} ": r["significance"],
                     f"{measure} MDE": r["mde_family"]})
    frame = pd.DataFrame.from_dict(out, orient="index")
    if not frame.empty:
        frame.index = pd.MultiIndex.from_tuples(frame.index, names=["attack", "point"])
    return frame


def clean_lines(report: Report, name: str) -> list[str]:
    """One comparison's clean-quality tests (in the family), one line per metric."""
    rows = report.tests[(report.tests["comparison"] == name) & (report.tests["point"] == "clean")]
    return [f"  clean quality, {analysis.SHORT_NAMES[r['measure']]}: {r['a']} {r['a_mean']:.3f} vs {r['b']} {r['b_mean']:.3f}, "
            f"diff {r['diff_mean']:+.4f} [{r['diff_ci_low']:+.4f}, {r['diff_ci_high']:+.4f}], n {int(r['n'])}, "
            f"Holm p {r['holm_p']:.3g} {r['significance']}, MDE {r['mde_family']:.3g}" for _, r in rows.iterrows()]


def secondary_frame(report: Report, name: str) -> pd.DataFrame:
    """One comparison's secondary and relative measures at the headline budget (descriptive, unadjusted p)."""
    rows = report.tests[(report.tests["comparison"] == name) & (report.tests["role"] != "primary")
                        & (report.tests["point"] == "headline")]
    out: dict[str, dict] = {}
    for _, r in rows.iterrows():
        m = analysis.SHORT_NAMES[r["measure"]]
        out.setdefault(r["attack"], {}).update({f"{m} {r['a']}": r["a_mean"], f"{m} {r['b']}": r["b_mean"],
                                                f"{m} diff": r["diff_mean"], f"{m} p (unadj.)": r["wilcoxon_p"]})
    return pd.DataFrame.from_dict(out, orient="index")


def print_report(report: Report) -> None:
    """Every comparison's primary-measure table, its secondary measures and success rates, clean quality, the
    curves, then the findings (pandas, fixed-width)."""
    if report.tests.empty:
        print_curves(report.curves)
        print("\n".join(report.findings))
        return
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.float_format",
                           "{:.3g}".format):
        print(f"\nThe Holm family: {report.family} tests (primary measures: "
              f"{', '.join(analysis.MEASURE_NAMES[m] for m in analysis.primary_measures(report.tests))}; at the "
              "headline budget, on the curve area, overall, and clean quality). diff = comparator - monotone arm: "
              "positive when the monotone arm degrades less; MDE: minimal detectable effect, 80 % power at the "
              "family's level")
        for comp in report.comparisons:
            print(f"\n{comp.label[0].upper()}{comp.label[1:]} (paired by sample)")
            if comp.kind == "equal_quality" and report.matched:
                m = report.matched
                print(f"  ({m['slug']}: step {m['step']} of {m['source']}'s run, val NLL {m['val_loss']:.3f} for "
                      f"target {m['target']:.3f}, gap {m['gap']:.1%}{'' if m['close_match'] else '; NO CLOSE MATCH'})")
            print(comparison_frame(report, comp.name).to_string())
            for line in clean_lines(report, comp.name):
                print(line)
            secondary = secondary_frame(report, comp.name)
            if not secondary.empty:
                print(f"  secondary measures at the headline budget (descriptive: unadjusted p, not in the family)")
                print(secondary.to_string())
            success = report.success[report.success["comparison"] == comp.name]
            if not success.empty:
                print("  success rates (output-level rule; McNemar exact, not in the family)")
                print(success.drop(columns=["comparison", "a", "b"]).set_index("attack").to_string())
        if report.parity is not None:
            print("\nClean quality (test split, every arm)")
            print(report.parity.filter(regex="_mean$|_ci_").to_string())
    print_curves(report.curves)
    print(f"\nKey findings")
    for line in report.findings:
        print(f"- {line}")


def seed_dirs(out: Path) -> list[Path]:
    """``out/seed_*`` folders holding results, in seed order ([] for a single-seed experiment)."""
    dirs = [d for d in Path(out).glob("seed_*") if (d / "results" / RESULTS_FILE).is_file()]
    return sorted(dirs, key=lambda d: int(d.name.split("_", 1)[1]) if d.name.split("_", 1)[1].isdigit() else 0)


def aggregate_seeds(out: Path, reports: list[Report], tracker=None) -> dict[str, pd.DataFrame]:
    """The across-seed tables of every comparison the seeds have, on both primary measures (the seed is the unit),
    written to seeds_summary.csv (the equal-quality comparison when there is one, else the equal-budget one),
    seeds_comparisons.csv (every comparison), seeds_results.json and seeds_key_findings.txt, and logged to
    ``tracker`` (the seed group's adversarial run) when given.

    Returns ``{name: analysis.seed_table}``, equal quality first; each table's ``attrs`` hold its
    ``comparison`` (a, b) and a ``label``. A comparison missing from some seeds (a matched arm that one seed
    did not build) is aggregated over the seeds that have it: its ``n_seeds`` says how many.
    """
    names = list(dict.fromkeys(c.name for r in reports for c in r.comparisons))
    labels = {c.name: c.label for r in reports for c in r.comparisons}
    tables: dict[str, pd.DataFrame] = {}
    for name in names:
        table = analysis.seed_table([r.tests for r in reports if not r.tests.empty], name)
        if table.empty:
            continue
        table.attrs["label"] = labels[name]
        tables[name] = table
    if not tables:
        raise UserError(f"{out}: no seed has a comparison to aggregate")
    findings = seed_findings_all(tables)
    results_dir = Path(out) / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    headline = tables.get(EQUAL_QUALITY, tables.get(EQUAL_BUDGET, next(iter(tables.values()))))
    write_text_atomically(results_dir / SEEDS_CSV, headline.to_csv(index=False))
    long = pd.concat(list(tables.values()), ignore_index=True)
    write_text_atomically(results_dir / SEEDS_COMPARISONS_CSV, long.to_csv(index=False))
    write_text_atomically(results_dir / SEEDS_FINDINGS, "".join(f"- {line}\n" for line in findings))
    write_text_atomically(results_dir / SEEDS_JSON, json.dumps(_jsonable({
        "seeds": len(reports), "unit": "independently trained model pair",
        "comparisons": {name: {"a": t.attrs["comparison"][0], "b": t.attrs["comparison"][1],
                               "label": t.attrs["label"], "rows": t.to_dict(orient="records")}
                        for name, t in tables.items()},
        "per_seed_family": [r.family for r in reports], "key_findings": findings}), indent=1))
    if tracker is not None:
        tracker.log_table(tracking.SEEDS_TABLE, *_cells(long.assign(per_seed_diff=long["per_seed_diff"].map(str))))
        tracker.summary({tracking.SEEDS_FINDINGS: "\n".join(findings), tracking.SEEDS_COUNT: len(reports)})
    return tables


def seed_findings_all(tables: dict[str, pd.DataFrame]) -> list[str]:
    """The across-seed findings of every comparison (:func:`analysis.seed_findings`); the caveat on the number
    of seeds is said once, at the end."""
    lines, caveat = [], []
    for table in tables.values():
        found = analysis.seed_findings(table, table.attrs["label"])
        caveat = [line for line in found if line.startswith(("Only", "One seed"))] or caveat
        lines += [line for line in found if line not in caveat]
    return lines + caveat


def print_seed_table(tables: dict[str, pd.DataFrame]) -> None:
    """Every across-seed table (:func:`aggregate_seeds`), then the findings."""
    cols = ["attack", "point", "measure", "n_seeds", "a_mean", "b_mean", "diff_mean", "diff_ci_low", "diff_ci_high",
            "ttest_p", "b_less_seeds", "a_less_seeds", "seeds_significant_holm"]
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.float_format",
                           "{:.3g}".format):
        for table in tables.values():
            print(f"\nAcross {int(table['n_seeds'].max())} seeds, {table.attrs['label']} (unit: independently "
                  "trained model pair; diff = mean paired difference per seed; t-interval over seeds)")
            print(table[cols].to_string(index=False))
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
