"""The paired analysis: attack records and clean scores in, tables and key findings out. No I/O.

Design of the comparison (and why it departs from the seed notebook):

* Both models are attacked on the **same samples**, so every comparison pairs
  the two models' values by sample id and uses paired tests (Wilcoxon
  signed-rank, the primary test, and the paired t-test), a bootstrap CI of the
  mean paired difference and paired effect sizes. The seed notebook compared the
  two lists with an independent-samples t-test, which ignores the pairing.
* The primary measure is the **absolute** degradation, attacked − clean mean
  token NLL (nats). The relative one, divided by the clean NLL, is reported too,
  but it flatters whichever model has the higher clean loss, and the monotone
  model usually has.
* Holm–Bonferroni over the six attacks' Wilcoxon p-values: six attacks are
  six chances to find something.
* Overall: each sample's paired difference averaged over the attacks it was
  attacked with, then one Wilcoxon test over samples. Pooling every (attack,
  sample) pair instead would count a sample up to six times, as if it were
  independent evidence each time.
* Improvement % = (nonmono − mono) / |nonmono| of the mean degradations, and
  explicitly undefined when the baseline was barely degraded (see
  :func:`mono_s2s.stats.improvement_pct`).

Comparisons are baseline vs each other variant; ``nonmono`` vs ``mono`` is the
headline one (the ``final/*`` keys of the guide).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import pandas as pd

from mono_s2s import stats
from mono_s2s.attacks import ATTACKS

BASELINE = "nonmono"
ALPHA = 0.05
RECORD_COLUMNS = ("attack", "model", "sample_id", "original_nll", "attacked_nll", "abs_degradation",
                  "rel_degradation", "success", "queries", "original_rougeL", "attacked_rougeL")
ROUGE = ("rouge1", "rouge2", "rougeL")
FACT_RECALL = "fact_recall"  # mono_s2s.evaluate.FACT_RECALL (not imported: the analysis stays free of rouge-score)
SMALL_N = 10  # below this, say that a test has little power


def records_frame(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Tidy frame, one row per (attack, model, sample), of the attacks' records (transfer rows dropped)."""
    rows = []
    for r in records:
        if r["attack"] not in ATTACKS:
            continue
        row = {c: r.get(c) for c in RECORD_COLUMNS}
        row["obeyed"] = (r.get("extra") or {}).get("obeyed")
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(RECORD_COLUMNS) + ["obeyed"])
    return frame.astype({"success": bool}) if len(frame) else frame


def _paired(frame: pd.DataFrame, attack: str, a: str, b: str, column: str) -> tuple[list, list, list]:
    """(sample ids, a's values, b's values) for the samples both models were attacked on, sorted by id."""
    sub = frame[frame.attack == attack].pivot_table(index="sample_id", columns="model", values=column,
                                                   aggfunc="first", dropna=False)
    if a not in sub or b not in sub:
        return [], [], []
    both = sub[[a, b]].dropna().sort_index()
    return list(both.index), both[a].astype(float).tolist(), both[b].astype(float).tolist()


def attack_table(frame: pd.DataFrame, a: str = BASELINE, b: str = "mono", n_boot: int = 2000,
                 seed: int = 0) -> pd.DataFrame:
    """Per attack (rows, in :data:`ATTACKS` order): each model's degradation, the paired tests, Holm.

    Columns are named after the slugs: ``{a}_mean``, ``{b}_mean``, ... (absolute
    degradation), ``rel_{a}_mean`` ... (relative), ``diff_*`` (a − b: positive
    means the ``b`` model degraded less), ``wilcoxon_p``, ``ttest_p``,
    ``holm_p``, ``significance``, ``significant``, ``improvement_pct`` (NaN with
    ``improvement_note`` when undefined), success rates and McNemar's p.
    """
    rows = {}
    for attack in ATTACKS:
        ids, xa, xb = _paired(frame, attack, a, b, "abs_degradation")
        if not ids:
            continue
        p = stats.paired_comparison(xa, xb, n_boot=n_boot, seed=seed)
        improvement, note = stats.improvement_pct(p["a_mean"], p["b_mean"])
        row = {"n": p["n"]}
        for side, slug in (("a", a), ("b", b)):
            for k in ("mean", "std", "ci_low", "ci_high"):
                row[f"{slug}_{k}"] = p[f"{side}_{k}"]
        row.update({k: p[k] for k in ("diff_mean", "diff_ci_low", "diff_ci_high", "wilcoxon_p", "ttest_p",
                                       "cohens_dz", "rank_biserial")})
        row["improvement_pct"] = math.nan if improvement is None else improvement
        row["improvement_note"] = note or ""
        _, ra, rb = _paired(frame, attack, a, b, "rel_degradation")
        if ra:
            r = stats.paired_comparison(ra, rb, n_boot=n_boot, seed=seed)
            rel_improvement, _ = stats.improvement_pct(r["a_mean"], r["b_mean"])
            row.update({f"rel_{a}_mean": r["a_mean"], f"rel_{b}_mean": r["b_mean"], "rel_wilcoxon_p": r["wilcoxon_p"],
                        "rel_improvement_pct": math.nan if rel_improvement is None else rel_improvement})
        _, sa, sb = _paired(frame, attack, a, b, "success")
        m = stats.mcnemar([bool(x) for x in sa], [bool(x) for x in sb])
        row.update({f"{a}_success_rate": m["a_rate"], f"{b}_success_rate": m["b_rate"], "mcnemar_p": m["p_value"]})
        _, ca, cb = _paired(frame, attack, a, b, "original_nll")
        row[f"{a}_clean_nll"], row[f"{b}_clean_nll"] = float(sum(ca) / len(ca)), float(sum(cb) / len(cb))
        rows[attack] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    if not len(table):
        return table
    table["holm_p"] = stats.holm(table["wilcoxon_p"].tolist())
    table["significance"] = [stats.significance_mark(p) for p in table["holm_p"]]
    table["significant"] = [bool(p < ALPHA) if not math.isnan(p) else False for p in table["holm_p"]]
    return table


def overall(frame: pd.DataFrame, a: str = BASELINE, b: str = "mono", n_boot: int = 2000, seed: int = 0
            ) -> dict[str, Any]:
    """Across attacks, with the sample as the unit: per-sample mean degradation over its attacks, then paired."""
    per_sample: dict[str, list[tuple[float, float]]] = {}
    for attack in ATTACKS:
        for sid, xa, xb in zip(*_paired(frame, attack, a, b, "abs_degradation")):
            per_sample.setdefault(sid, []).append((xa, xb))
    if not per_sample:
        return {}
    ids = sorted(per_sample)
    xa = [sum(v[0] for v in per_sample[i]) / len(per_sample[i]) for i in ids]
    xb = [sum(v[1] for v in per_sample[i]) / len(per_sample[i]) for i in ids]
    p = stats.paired_comparison(xa, xb, n_boot=n_boot, seed=seed)
    improvement, note = stats.improvement_pct(p["a_mean"], p["b_mean"])
    return {"n_samples": p["n"], f"{a}_degradation": p["a_mean"], f"{b}_degradation": p["b_mean"],
            "diff_mean": p["diff_mean"], "diff_ci_low": p["diff_ci_low"], "diff_ci_high": p["diff_ci_high"],
            "improvement_pct": improvement, "improvement_note": note, "p_value": p["wilcoxon_p"],
            "ttest_p": p["ttest_p"], "cohens_dz": p["cohens_dz"],
            "significant": bool(p["wilcoxon_p"] < ALPHA) if not math.isnan(p["wilcoxon_p"]) else False}


def clean_parity(clean: dict[str, dict[str, list]], a: str = BASELINE, b: str = "mono", n_boot: int = 2000,
                 seed: int = 0) -> pd.DataFrame:
    """Clean ROUGE (and fact recall) of each model with CIs, and the paired difference (same test examples).

    ``clean[slug]`` is ``{"ids": [...], "rouge1": [...], "rouge2": [...], "rougeL": [...]}``, plus
    ``"fact_recall": [...]`` on the embedded corpus (a row of its own when every model has it).
    Rows: metric; columns ``{slug}_mean/_ci_low/_ci_high`` for every slug, then
    ``diff_*`` and ``wilcoxon_p`` for ``a`` vs ``b``.
    """
    rows = {}
    # Fact recall (the embedded corpus) beside ROUGE, when every model has it.
    facts = (FACT_RECALL,) if clean and all(FACT_RECALL in scores for scores in clean.values()) else ()
    for metric in ROUGE + facts:
        row: dict[str, Any] = {}
        for slug, scores in clean.items():
            m = stats.mean_ci(scores[metric], n_boot=n_boot, seed=seed)
            row.update({f"{slug}_mean": m["mean"], f"{slug}_ci_low": m["ci_low"], f"{slug}_ci_high": m["ci_high"]})
        if a in clean and b in clean:
            va, vb = dict(zip(clean[a]["ids"], clean[a][metric])), dict(zip(clean[b]["ids"], clean[b][metric]))
            ids = sorted(set(va) & set(vb))
            p = stats.paired_comparison([va[i] for i in ids], [vb[i] for i in ids], n_boot=n_boot, seed=seed)
            row.update({"n": p["n"], "diff_mean": p["diff_mean"], "diff_ci_low": p["diff_ci_low"],
                        "diff_ci_high": p["diff_ci_high"], "wilcoxon_p": p["wilcoxon_p"]})
        rows[metric] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def clean_frame_for_figure(parity: pd.DataFrame, slugs: Sequence[str]) -> pd.DataFrame:
    """The clean-quality panel's input: index slug, columns ``{metric}_mean/_ci_low/_ci_high``."""
    return pd.DataFrame({slug: {f"{m}_{k}": parity.loc[m, f"{slug}_{k}"] for m in parity.index
                                for k in ("mean", "ci_low", "ci_high")} for slug in slugs}).T


def gradient_masking(table: pd.DataFrame, transfer: dict, a: str = BASELINE, b: str = "mono") -> list[str]:
    """Warnings where ``b`` resists its own triggers but not ones transferred from ``a`` (gradient masking)."""
    notes = []
    for kind in ("hotflip", "universal"):
        m = (transfer or {}).get(kind) or {}
        own, moved = (m.get(b) or {}).get(b), (m.get(a) or {}).get(b)
        if own is None or moved is None or kind not in table.index:
            continue
        if table.loc[kind, "diff_mean"] > 0 and moved > own:
            notes.append(f"{kind}: triggers found on {a} degrade {b} more ({moved:.3f} nats) than {b}'s own "
                         f"{kind} triggers ({own:.3f}): the white-box search is weaker on {b} than a transferred "
                         f"attack, a sign of gradient masking rather than robustness")
    return notes


def _fmt_p(p: float) -> str:
    return "n/a" if p is None or math.isnan(p) else (f"{p:.2g}" if p >= 1e-4 else "<1e-4")


def key_findings(table: pd.DataFrame, overall_stats: dict, parity: pd.DataFrame | None, transfer: dict | None,
                 a: str = BASELINE, b: str = "mono", n_seeds: int = 1) -> list[str]:
    """Plain sentences generated from the numbers; non-significance and confounds are said, not hidden."""
    lines = []
    if parity is not None and "diff_mean" in parity and "rougeL" in parity.index:
        r = parity.loc["rougeL"]
        clean_line = (f"Clean quality: ROUGE-L {a} {r[f'{a}_mean']:.3f} vs {b} {r[f'{b}_mean']:.3f} "
                      f"(difference {r['diff_mean']:+.3f} [{r['diff_ci_low']:+.3f}, {r['diff_ci_high']:+.3f}], "
                      f"Wilcoxon p {_fmt_p(r['wilcoxon_p'])}).")
        if not math.isnan(r["wilcoxon_p"]) and r["wilcoxon_p"] < ALPHA:
            weaker = b if r["diff_mean"] > 0 else a
            clean_line += (f" WARNING: the models differ significantly in clean quality ({weaker} is weaker), so "
                           "robustness differences are confounded with model quality.")
        if FACT_RECALL in parity.index:
            f = parity.loc[FACT_RECALL]
            clean_line += (f" Fact recall (share of the reference's facts a summary states): {a} "
                           f"{f[f'{a}_mean']:.3f} vs {b} {f[f'{b}_mean']:.3f} (difference {f['diff_mean']:+.3f} "
                           f"[{f['diff_ci_low']:+.3f}, {f['diff_ci_high']:+.3f}], Wilcoxon p "
                           f"{_fmt_p(f['wilcoxon_p'])}).")
        lines.append(clean_line)
    if overall_stats:
        o = overall_stats
        verdict = ("statistically significant" if o["significant"] else "NOT statistically significant")
        imp = (f"{o['improvement_pct']:+.1f} %" if o["improvement_pct"] is not None
               else f"undefined ({o['improvement_note']})")
        lines.append(f"Overall ({o['n_samples']} samples, each averaged over its attacks): mean NLL degradation "
                     f"{a} {o[f'{a}_degradation']:.3f} vs {b} {o[f'{b}_degradation']:.3f} nats; improvement {imp}; "
                     f"paired Wilcoxon p {_fmt_p(o['p_value'])}: {verdict} at alpha {ALPHA}.")
    for attack, row in table.iterrows():
        if row["significant"]:
            who = b if row["diff_mean"] > 0 else a
            verdict = f"significant after Holm correction (p {_fmt_p(row['holm_p'])}): {who} degrades less"
        else:
            verdict = f"no significant difference after Holm correction (p {_fmt_p(row['holm_p'])})"
        imp = (f"{row['improvement_pct']:+.1f} %" if not math.isnan(row["improvement_pct"])
               else f"improvement undefined: {row['improvement_note']}")
        line = (f"{attack}: degradation {a} {row[f'{a}_mean']:.3f} vs {b} {row[f'{b}_mean']:.3f} nats "
                f"(n = {int(row['n'])}; {imp}); {verdict}.")
        if row["n"] < SMALL_N:
            line += f" With n = {int(row['n'])} the test has little power."
        rel_key = "rel_improvement_pct"
        if rel_key in row and not math.isnan(row[rel_key]) and not math.isnan(row["improvement_pct"]) \
                and (row[rel_key] > 0) != (row["improvement_pct"] > 0):
            line += (" Relative degradation points the other way: the models' clean losses differ "
                     f"({row[f'{a}_clean_nll']:.3g} vs {row[f'{b}_clean_nll']:.3g} nats).")  # .3g: 0.014 vs 0.011
        lines.append(line)
    lines += gradient_masking(table, transfer or {}, a, b)
    if n_seeds == 1:
        lines.append("One training seed: these p-values treat the samples as the only source of variation; "
                     "run with --seeds N to see whether the difference survives retraining.")
    return lines


def seed_table(tables: Sequence[pd.DataFrame], a: str = BASELINE, b: str = "mono") -> pd.DataFrame:
    """Across seeds, per attack: each seed's mean paired difference, then mean, t-interval and tests across seeds.

    The unit is the independently trained model pair, so the only valid n here is
    the number of seeds (never the samples pooled over seeds).
    """
    rows = {}
    for attack in ATTACKS:
        per_seed = [t.loc[attack] for t in tables if attack in t.index]
        if not per_seed:
            continue
        agg = stats.across_seeds([r["diff_mean"] for r in per_seed])
        rows[attack] = {"n_seeds": agg["n_seeds"],
                        f"{a}_mean": float(sum(r[f"{a}_mean"] for r in per_seed) / len(per_seed)),
                        f"{b}_mean": float(sum(r[f"{b}_mean"] for r in per_seed) / len(per_seed)),
                        "diff_mean": agg["mean"], "diff_ci_low": agg["ci_low"], "diff_ci_high": agg["ci_high"],
                        "ttest_p": agg["ttest_p"], "wilcoxon_p": agg["wilcoxon_p"],
                        "seeds_significant_holm": int(sum(bool(r["significant"]) for r in per_seed)),
                        "per_seed_diff": [float(r["diff_mean"]) for r in per_seed]}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.attrs["comparison"] = (a, b)  # read by seed_findings
    return table


def seed_findings(table: pd.DataFrame) -> list[str]:
    """Sentences for a :func:`seed_table`: does each attack's direction survive retraining?

    Across seeds the evidence is the direction of each seed's mean paired difference
    and the spread of those means; with few seeds the tests say little, and the
    text says so rather than letting an "ns" or a 1-degree-of-freedom t-test speak.
    """
    if table.empty:
        return []
    a, b = table.attrs.get("comparison", (BASELINE, "mono"))
    n = int(table["n_seeds"].max())
    if n < 2:
        return ["One seed: nothing can be said about variation across training runs (use --seeds N, N >= 2)."]
    lines = []
    for attack, row in table.iterrows():
        diffs = list(row["per_seed_diff"])
        b_less = sum(d > 0 for d in diffs)  # diff = a - b: positive when b degrades less
        a_less = sum(d < 0 for d in diffs)
        if b_less == len(diffs):
            direction = f"{b} degrades less in every seed ({len(diffs)}/{len(diffs)})"
        elif a_less == len(diffs):
            direction = f"{a} degrades less in every seed ({len(diffs)}/{len(diffs)})"
        else:
            direction = (f"the direction changes between seeds ({b} degrades less in {b_less}/{len(diffs)}, "
                         f"{a} in {a_less}/{len(diffs)}): no conclusion")
        ci = ("" if math.isnan(row["diff_ci_low"])
              else f", 95 % t-interval [{row['diff_ci_low']:+.3f}, {row['diff_ci_high']:+.3f}]")
        lines.append(f"{attack}: {direction}; mean paired difference ({a} - {b}) {row['diff_mean']:+.3f} nats"
                     f"{ci}, t-test across seeds p {_fmt_p(row['ttest_p'])}; significant after Holm within "
                     f"{int(row['seeds_significant_holm'])}/{len(diffs)} seeds.")
    if n < 6:
        lines.append(f"Only {n} seeds: the signed-rank test across seeds cannot reach p < 0.05 with fewer than 6 "
                     f"(smallest possible p {2 / 2 ** n:.2g}) and the t-interval has {n - 1} degree(s) of freedom; "
                     "read the per-seed directions, and add seeds before claiming a difference.")
    return lines
