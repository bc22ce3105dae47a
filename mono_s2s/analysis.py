"""The paired analysis (v2, issue 14): attack records, curves and clean scores in; tests, tables and findings out.

No I/O and no models. PROTOCOL.md ("Statistics", "What the headline says") is the
design; this module is where it is computed:

* **Measures.** Primary: what the model *outputs* -- the generated summary's
  ROUGE-L drop (clean summary's ROUGE-L minus the attacked one's) and, on the
  embedded corpus, its fact-recall drop. Secondary: the **adversarial excess**
  (attacked minus random-control NLL: what the search adds over chance) and the
  absolute ΔNLL (attacked minus clean NLL). The relative ΔNLL is reported and never
  primary: when clean losses differ it flatters the arm with the higher loss, and
  round 1's headline flipped sign between the absolute and relative forms.
* **Comparisons** (:func:`comparisons_of`): every monotone arm against each
  comparator the run has -- ``nonmono`` (equal budget), the quality-matched arm
  (equal quality, :mod:`mono_s2s.matched`), ``init_only`` and ``attention_only``
  (the controls). A comparison is ``(a, b)`` with the comparator ``a`` first, so
  the paired difference ``a - b`` is positive when the monotone arm ``b`` degrades less.
* **Tests** (:func:`test_table`): per comparison, attack and measure, paired by
  sample at the headline budget and on the normalised **area under the budget
  curve** (per sample, :mod:`mono_s2s.curves`); per comparison and primary measure
  the **overall** test (each sample's mean over the attacks it was attacked with,
  so a sample counts once) and the **clean-quality** test (ROUGE-L and fact recall
  of the clean summaries, paired by test example). Wilcoxon signed-rank is the
  test; the paired t-test, the bootstrap 95 % CI of the mean difference and d_z
  are beside it.
* **One family** (:data:`FAMILY_POINTS`): Holm over every primary-measure test
  (attacks x comparisons x primary measures, at the headline budget and on the
  curve area), the overall tests and the clean-quality tests. Its size is
  reported; the ``*** ** * ns`` marks use the Holm-adjusted p. Secondary and
  relative measures are tested for description only: their p is unadjusted, they
  carry no mark and are not in the family.
* **Power** (:func:`mono_s2s.stats.minimal_detectable_effect`): beside every
  test the minimal detectable paired effect (80 % power) at its n, from the observed
  SD of the differences, at alpha = 0.05 (``mde``) and at the family's Bonferroni
  level alpha / m, the level Holm's first step uses (``mde_family``). A
  non-significant comparison is **underpowered** when ``mde_family`` exceeds half
  the comparator's mean degradation: an arm that halved the degradation could
  have gone undetected.
* **Success rates** (:func:`success_table`): the output-level rule of
  :func:`mono_s2s.attacks.common.output_success`, the same for every arm;
  McNemar's exact test only with at least :data:`MIN_DISCORDANT` discordant
  pairs, otherwise "too few discordant pairs". Not in the family: success is a
  threshold on the primary measures already tested.

Departures from round 1 (and the seed notebook): the seed notebook compared the
lists with an unpaired t-test and led with relative NLL; round 1 paired the
samples but led with absolute NLL, compared only baseline vs monotone and
corrected over six attacks only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from mono_s2s import stats
from mono_s2s.attacks import ATTACKS
from mono_s2s.config import MONOTONE_VARIANTS, VARIANT_SLUGS
from mono_s2s.matched import comparison as matched_comparison

BASELINE = "nonmono"
ALPHA = 0.05
POWER = 0.8
UNDERPOWERED_SHARE = 0.5  # ns and MDE (family level) above this share of the comparator's mean: underpowered
MIN_DISCORDANT = 5  # McNemar's exact test below this many discordant pairs says nothing useful
CONTROL_ARMS = ("init_only", "attention_only")  # what each rules out: PROTOCOL.md "Arms"

PRIMARY = ("rouge_drop", "fact_recall_drop")
SECONDARY = ("adversarial_excess", "abs_degradation")
RELATIVE = ("rel_degradation",)
MEASURES = PRIMARY + SECONDARY + RELATIVE
ROLES = {**{m: "primary" for m in PRIMARY}, **{m: "secondary" for m in SECONDARY},
         **{m: "relative" for m in RELATIVE}}
MEASURE_NAMES = {
    "rouge_drop": "ROUGE-L drop of the generated summary",
    "fact_recall_drop": "fact-recall drop of the generated summary",
    "adversarial_excess": "adversarial excess, attacked - random-control NLL (nats)",
    "abs_degradation": "ΔNLL, attacked - clean NLL (nats)",
    "rel_degradation": "relative ΔNLL, (attacked - clean) / clean NLL",
    "rougeL": "clean ROUGE-L",
    "fact_recall": "clean fact recall",
}
SHORT_NAMES = {"rouge_drop": "R-L drop", "fact_recall_drop": "fact drop", "adversarial_excess": "excess",
               "abs_degradation": "ΔNLL", "rel_degradation": "rel ΔNLL", "rougeL": "ROUGE-L",
               "fact_recall": "fact recall"}
# Where a test is taken: at the attack's headline budget, on the per-sample area under its budget curve, over
# every attack (the sample as unit), or on the clean test split.
POINTS = ("headline", "area", "overall", "clean")
FAMILY_POINTS = POINTS  # every point of a primary measure is in the Holm family
OVERALL, CLEAN = "overall", "clean"  # the "attack" of the overall and clean-quality rows
ROUGE = ("rouge1", "rouge2", "rougeL")
FACT_RECALL = "fact_recall"  # mono_s2s.evaluate.FACT_RECALL (not imported: the analysis stays free of rouge-score)
CLEAN_MEASURES = ("rougeL", FACT_RECALL)  # the clean-quality tests in the family
SMALL_N = 10  # below this, say that a test has little power
RECORD_COLUMNS = ("attack", "model", "sample_id", "original_nll", "attacked_nll", "success", "queries",
                  "original_rougeL", "attacked_rougeL") + MEASURES
EQUAL_QUALITY, EQUAL_BUDGET = "equal_quality", "equal_budget"


# ---------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    """One paired comparison: comparator ``a`` against the (monotone) arm ``b``; diff = a - b."""

    name: str  # "equal_quality", "equal_budget", "mono_vs_init_only", ...
    a: str
    b: str
    kind: str  # "equal_quality" | "equal_budget" | "control"

    @property
    def label(self) -> str:
        what = {"equal_quality": "equal quality", "equal_budget": "equal budget", "control": "control"}[self.kind]
        return f"{what}: {self.a} vs {self.b}"


def monotone_arms(slugs: Sequence[str]) -> list[str]:
    """The trained monotone arms present (mono first); the matched arm is a snapshot, not one of them."""
    return [VARIANT_SLUGS[v] for v in MONOTONE_VARIANTS if VARIANT_SLUGS[v] in slugs]


def headline_arm(slugs: Sequence[str]) -> str | None:
    """The arm the equal-budget headline (and the guide's ``final/*`` keys) is about: mono, else the first
    monotone arm, else the first arm that is neither the baseline, a control nor the matched one."""
    monotone = monotone_arms(slugs)
    if monotone:
        return monotone[0]
    rest = [s for s in slugs if s != BASELINE and s not in CONTROL_ARMS and not s.endswith("_matched")]
    return rest[0] if rest else None


def comparisons_of(slugs: Sequence[str], matched: Mapping[str, Any] | None = None) -> list[Comparison]:
    """Every comparison the run's arms allow, equal quality first (PROTOCOL.md: lead with it).

    * equal quality: the matched arm in its source's place (:func:`mono_s2s.matched.comparison`);
    * equal budget: each monotone arm (and any further non-control arm, e.g. ``softplus_gate``) against
      ``nonmono``; the headline arm's is named ``equal_budget``, the others ``{arm}_vs_nonmono``;
    * controls: each monotone arm against ``init_only`` and ``attention_only``, ``{arm}_vs_{control}``.
    """
    slugs = list(slugs)
    found: list[Comparison] = []
    if matched and matched.get("slug") in slugs:
        a, b = matched_comparison(dict(matched))
        found.append(Comparison(EQUAL_QUALITY, a, b, "equal_quality"))
    head = headline_arm(slugs)
    arms = monotone_arms(slugs)
    others = [s for s in slugs if s not in arms and s != BASELINE and s not in CONTROL_ARMS
              and not (matched and s == matched.get("slug"))]
    for arm in arms + others:
        if BASELINE in slugs:
            name = EQUAL_BUDGET if arm == head else f"{arm}_vs_{BASELINE}"
            found.append(Comparison(name, BASELINE, arm, "equal_budget"))
    for arm in arms:
        for control in CONTROL_ARMS:
            if control in slugs:
                found.append(Comparison(f"{arm}_vs_{control}", control, arm, "control"))
    return found


# ---------------------------------------------------------------------------
# Per-sample values
# ---------------------------------------------------------------------------

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
    # Numbers as floats, a missing one (no control, no facts, no summary yet) as NaN; success as 0/1.
    for column in RECORD_COLUMNS[3:]:
        frame[column] = pd.to_numeric(frame[column].map(lambda v: np.nan if v is None else float(v)))
    return frame


def _by_sample(frame: pd.DataFrame) -> dict[tuple[str, str, str], dict[str, float]]:
    """``{(attack, model, column): {sample id: value}}`` of every numeric column, NaN left out: built once per
    analysis (a pandas pivot per pair costs a tenth of a second, and an analysis pairs hundreds)."""
    out: dict[tuple[str, str, str], dict[str, float]] = {}
    columns = [c for c in RECORD_COLUMNS[3:] if c in frame]
    for (attack, model), sub in frame.groupby(["attack", "model"], sort=False):
        ids = sub["sample_id"].tolist()
        for column in columns:
            out[(attack, model, column)] = {i: float(v) for i, v in zip(ids, sub[column].tolist())
                                            if v is not None and not math.isnan(v)}
    return out


def _paired(index: dict, attack: str, a: str, b: str, column: str) -> tuple[list, list, list]:
    """(sample ids, a's values, b's values) for the samples both arms have a value at, sorted by id
    (``index``: :func:`_by_sample` of the records frame)."""
    return _paired_dicts(index.get((attack, a, column), {}), index.get((attack, b, column), {}))


def _paired_dicts(va: Mapping[str, float], vb: Mapping[str, float]) -> tuple[list, list, list]:
    ids = sorted(set(va) & set(vb))
    return ids, [float(va[i]) for i in ids], [float(vb[i]) for i in ids]


def area_samples(curves: Mapping[str, Any], attack: str, model: str, measure: str) -> dict[str, float]:
    """``{sample id: normalised area}`` of one arm's curve for one measure ({} when the curve has none)."""
    section = (curves or {}).get(attack) or {}
    auc = (((section.get("models") or {}).get(model) or {}).get("auc") or {}).get(measure) or {}
    return dict(auc.get("samples") or {})


def overall_values(index: dict, a: str, b: str, measure: str) -> tuple[list, list, list]:
    """Per sample (the unit), the mean over the attacks it has a pair in; ids sorted. Pooling every (attack,
    sample) pair instead would count a sample up to six times, as if it were independent evidence each time."""
    per_sample: dict[str, list[tuple[float, float]]] = {}
    for attack in ATTACKS:
        for sid, xa, xb in zip(*_paired(index, attack, a, b, measure)):
            per_sample.setdefault(sid, []).append((xa, xb))
    ids = sorted(per_sample)
    return (ids, [float(np.mean([v[0] for v in per_sample[i]])) for i in ids],
            [float(np.mean([v[1] for v in per_sample[i]])) for i in ids])


def clean_values(clean: Mapping[str, Mapping[str, list]], a: str, b: str, metric: str) -> tuple[list, list, list]:
    if a not in clean or b not in clean or metric not in clean[a] or metric not in clean[b]:
        return [], [], []
    return _paired_dicts(dict(zip(clean[a]["ids"], clean[a][metric])), dict(zip(clean[b]["ids"], clean[b][metric])))


# ---------------------------------------------------------------------------
# Tests and the family
# ---------------------------------------------------------------------------

TEST_COLUMNS = ("comparison", "kind", "a", "b", "attack", "point", "measure", "role", "in_family", "n",
                "a_mean", "b_mean", "diff_mean", "diff_ci_low", "diff_ci_high", "diff_std", "n_nonzero",
                "wilcoxon_p", "ttest_p", "cohens_dz", "improvement_pct", "mde", "mde_family", "holm_p",
                "significance", "significant", "underpowered")


def _test_row(comp: Comparison, attack: str, point: str, measure: str, xa: list, xb: list, n_boot: int,
              seed: int) -> dict[str, Any]:
    p = stats.paired_comparison(xa, xb, n_boot=n_boot, seed=seed)
    role = "primary" if point == CLEAN else ROLES[measure]
    improvement, _ = stats.improvement_pct(p["a_mean"], p["b_mean"]) if point != CLEAN else (None, None)
    return {"comparison": comp.name, "kind": comp.kind, "a": comp.a, "b": comp.b, "attack": attack, "point": point,
            "measure": measure, "role": role, "in_family": role == "primary" and point in FAMILY_POINTS,
            "n": p["n"], "a_mean": p["a_mean"], "b_mean": p["b_mean"], "diff_mean": p["diff_mean"],
            "diff_ci_low": p["diff_ci_low"], "diff_ci_high": p["diff_ci_high"], "diff_std": p["diff_std"],
            "n_nonzero": p["n_nonzero"], "wilcoxon_p": p["wilcoxon_p"], "ttest_p": p["ttest_p"],
            "cohens_dz": p["cohens_dz"], "improvement_pct": math.nan if improvement is None else improvement,
            "mde": stats.minimal_detectable_effect(p["diff_std"], p["n"], ALPHA, POWER)}


def test_table(frame: pd.DataFrame, comps: Sequence[Comparison], curves: Mapping[str, Any] | None = None,
               clean: Mapping[str, Any] | None = None, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Every test of the analysis, one row each (:data:`TEST_COLUMNS`), with the family's Holm correction.

    Rows: per comparison, per attack, per measure at the headline budget; per attack and measure with a
    curve area, on the area; per primary measure overall; per clean metric. A measure no pair has (fact
    recall on real corpora, an area without budget points) has no row.
    """
    rows = []
    curves, clean = curves or {}, clean or {}
    index = _by_sample(frame)
    for comp in comps:
        for attack in ATTACKS:
            for measure in MEASURES:
                _, xa, xb = _paired(index, attack, comp.a, comp.b, measure)
                if xa:
                    rows.append(_test_row(comp, attack, "headline", measure, xa, xb, n_boot, seed))
            for measure in MEASURES:
                _, xa, xb = _paired_dicts(area_samples(curves, attack, comp.a, measure),
                                          area_samples(curves, attack, comp.b, measure))
                if xa:
                    rows.append(_test_row(comp, attack, "area", measure, xa, xb, n_boot, seed))
        for measure in PRIMARY + SECONDARY:
            _, xa, xb = overall_values(index, comp.a, comp.b, measure)
            if xa:
                rows.append(_test_row(comp, OVERALL, "overall", measure, xa, xb, n_boot, seed))
        for metric in CLEAN_MEASURES:
            _, xa, xb = clean_values(clean, comp.a, comp.b, metric)
            if xa:
                rows.append(_test_row(comp, CLEAN, "clean", metric, xa, xb, n_boot, seed))
    table = pd.DataFrame(rows, columns=[c for c in TEST_COLUMNS if c not in
                                        ("mde_family", "holm_p", "significance", "significant", "underpowered")])
    return apply_family(table)


def family_size(table: pd.DataFrame) -> int:
    """The number of tests in the Holm family: in-family rows with a p-value."""
    if table.empty:
        return 0
    return int((table["in_family"] & table["wilcoxon_p"].notna()).sum())


def apply_family(table: pd.DataFrame) -> pd.DataFrame:
    """Holm over the in-family rows' Wilcoxon p; marks, ``significant``, ``mde_family`` and ``underpowered``."""
    table = table.copy()
    m = family_size(table)
    holm_p = [math.nan] * len(table)
    if m:
        members = [i for i, (f, p) in enumerate(zip(table["in_family"], table["wilcoxon_p"])) if f and not
                   math.isnan(p)]
        for i, adj in zip(members, stats.holm([float(table["wilcoxon_p"].iloc[i]) for i in members])):
            holm_p[i] = adj
    table["holm_p"] = holm_p
    table["significance"] = [stats.significance_mark(p) if f else "" for f, p in zip(table["in_family"], holm_p)]
    table["significant"] = [bool(f and not math.isnan(p) and p < ALPHA) for f, p in zip(table["in_family"], holm_p)]
    level = ALPHA / m if m else ALPHA
    table["mde_family"] = [stats.minimal_detectable_effect(sd, int(n), level, POWER) if f else math.nan
                           for f, sd, n in zip(table["in_family"], table["diff_std"], table["n"])]
    table["underpowered"] = [bool(f and not s and math.isfinite(mde) and math.isfinite(a) and
                                  mde > UNDERPOWERED_SHARE * abs(a)) or bool(f and not s and n < SMALL_N)
                             for f, s, mde, a, n in zip(table["in_family"], table["significant"],
                                                       table["mde_family"], table["a_mean"], table["n"])]
    return table[list(TEST_COLUMNS)]


def success_table(frame: pd.DataFrame, comps: Sequence[Comparison]) -> pd.DataFrame:
    """Per comparison and attack: each arm's success rate (the output-level rule) and McNemar's exact test
    when there are at least :data:`MIN_DISCORDANT` discordant pairs (else the note says so, p is NaN)."""
    rows = []
    index = _by_sample(frame)
    for comp in comps:
        for attack in ATTACKS:
            _, sa, sb = _paired(index, attack, comp.a, comp.b, "success")
            if not sa:
                continue
            m = stats.mcnemar([bool(v) for v in sa], [bool(v) for v in sb])
            discordant = m["only_a"] + m["only_b"]
            enough = discordant >= MIN_DISCORDANT
            rows.append({"comparison": comp.name, "a": comp.a, "b": comp.b, "attack": attack, "n": m["n"],
                         "a_success_rate": m["a_rate"], "b_success_rate": m["b_rate"], "only_a": m["only_a"],
                         "only_b": m["only_b"], "discordant": discordant,
                         "mcnemar_p": m["p_value"] if enough else math.nan,
                         "mcnemar_note": "" if enough else f"too few discordant pairs ({discordant} < "
                                                           f"{MIN_DISCORDANT})"})
    return pd.DataFrame(rows, columns=["comparison", "a", "b", "attack", "n", "a_success_rate", "b_success_rate",
                                       "only_a", "only_b", "discordant", "mcnemar_p", "mcnemar_note"])


def arm_table(frame: pd.DataFrame, models: Sequence[str], n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per attack, arm and measure (success included) at the headline budget: mean with its bootstrap 95 % CI."""
    rows = []
    for attack in ATTACKS:
        for model in models:
            sub = frame[(frame.attack == attack) & (frame.model == model)]
            if sub.empty:
                continue
            for measure in MEASURES + ("success",):
                values = [float(v) for v in sub[measure] if v is not None and not pd.isna(v)]
                if values:
                    rows.append({"attack": attack, "model": model, "measure": measure,
                                 **stats.mean_ci(values, n_boot=n_boot, seed=seed)})
    return pd.DataFrame(rows, columns=["attack", "model", "measure", "mean", "ci_low", "ci_high", "n"])


def clean_parity(clean: dict[str, dict[str, list]], a: str = BASELINE, b: str = "mono", n_boot: int = 2000,
                 seed: int = 0) -> pd.DataFrame:
    """Clean ROUGE (and fact recall) of each model with CIs, and the paired difference (same test examples).

    ``clean[slug]`` is ``{"ids": [...], "rouge1": [...], "rouge2": [...], "rougeL": [...]}``, plus
    ``"fact_recall": [...]`` on the embedded corpus (a row of its own when every model has it).
    Rows: metric; columns ``{slug}_mean/_ci_low/_ci_high`` for every slug, then
    ``diff_*`` and ``wilcoxon_p`` (unadjusted; the family's test is in :func:`test_table`) for ``a`` vs ``b``.
    """
    rows = {}
    facts = (FACT_RECALL,) if clean and all(FACT_RECALL in scores for scores in clean.values()) else ()
    for metric in ROUGE + facts:
        row: dict[str, Any] = {}
        for slug, scores in clean.items():
            m = stats.mean_ci(scores[metric], n_boot=n_boot, seed=seed)
            row.update({f"{slug}_mean": m["mean"], f"{slug}_ci_low": m["ci_low"], f"{slug}_ci_high": m["ci_high"]})
        if a in clean and b in clean:
            _, xa, xb = clean_values(clean, a, b, metric)
            p = stats.paired_comparison(xa, xb, n_boot=n_boot, seed=seed)
            row.update({"n": p["n"], "diff_mean": p["diff_mean"], "diff_ci_low": p["diff_ci_low"],
                        "diff_ci_high": p["diff_ci_high"], "wilcoxon_p": p["wilcoxon_p"]})
        rows[metric] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def clean_frame_for_figure(parity: pd.DataFrame, slugs: Sequence[str]) -> pd.DataFrame:
    """The clean-quality panel's input: index slug, columns ``{metric}_mean/_ci_low/_ci_high``."""
    return pd.DataFrame({slug: {f"{m}_{k}": parity.loc[m, f"{slug}_{k}"] for m in parity.index
                                for k in ("mean", "ci_low", "ci_high")} for slug in slugs}).T


# ---------------------------------------------------------------------------
# Reading the tests
# ---------------------------------------------------------------------------

def rows_of(table: pd.DataFrame, comparison: str, point: str | None = None, measure: str | None = None
            ) -> pd.DataFrame:
    """The test rows of one comparison (optionally one point and one measure), indexed by attack."""
    if table.empty:
        return table
    sel = table["comparison"] == comparison
    if point is not None:
        sel &= table["point"] == point
    if measure is not None:
        sel &= table["measure"] == measure
    return table[sel].set_index("attack")


def headline_table(table: pd.DataFrame, comparison: str, measure: str = "rouge_drop") -> pd.DataFrame:
    """One comparison's per-attack rows at the headline budget for one measure (index: attack), with the
    columns the guide's ``final/*`` keys read: ``{a}_mean``, ``{b}_mean``, ``improvement_pct``, ``holm_p``
    (the adjusted p, NaN outside the family), ``significant``."""
    rows = rows_of(table, comparison, "headline", measure)
    if rows.empty:
        return rows
    a, b = rows["a"].iloc[0], rows["b"].iloc[0]
    out = rows.rename(columns={"a_mean": f"{a}_mean", "b_mean": f"{b}_mean"})
    return out


def primary_measures(table: pd.DataFrame) -> list[str]:
    """The primary measures the run has (fact recall only on the embedded corpus)."""
    return [m for m in PRIMARY if not table.empty and (table["measure"] == m).any()]


def _fmt_p(p: float) -> str:
    return "n/a" if p is None or (isinstance(p, float) and math.isnan(p)) else (f"{p:.2g}" if p >= 1e-4 else "<1e-4")


def _fmt_diff(row) -> str:
    return f"{row['diff_mean']:+.3g} [{row['diff_ci_low']:+.3g}, {row['diff_ci_high']:+.3g}]"


# ---------------------------------------------------------------------------
# Gradient masking
# ---------------------------------------------------------------------------

WHITE_BOX, BLACK_BOX = "hotflip", "nes"  # both append a searched trigger of the same length: comparable budgets


def transfer_masking(table: pd.DataFrame, transfer: Mapping[str, Any] | None, comp: Comparison) -> list[str]:
    """Where ``b`` resists its own triggers better than ``a`` does, yet ``a``'s triggers degrade ``b`` more than
    ``b``'s own: the white-box search is weaker on ``b`` than a transferred attack (gradient masking)."""
    notes = []
    rows = rows_of(table, comp.name, "headline", "abs_degradation")
    for kind in ("hotflip", "universal"):
        m = (transfer or {}).get(kind) or {}
        own, moved = (m.get(comp.b) or {}).get(comp.b), (m.get(comp.a) or {}).get(comp.b)
        if own is None or moved is None or kind not in rows.index:
            continue
        if rows.loc[kind, "diff_mean"] > 0 and moved > own:
            notes.append(f"Gradient masking? {kind}: triggers found on {comp.a} degrade {comp.b} more ({moved:.3f} "
                         f"nats) than {comp.b}'s own {kind} triggers ({own:.3f}): the white-box search is weaker on "
                         f"{comp.b} than a transferred attack, a sign of gradient masking rather than robustness.")
    return notes


def box_gap_masking(curves: Mapping[str, Any] | None, comp: Comparison, measure: str = "abs_degradation"
                    ) -> list[str]:
    """White-box vs black-box: at a budget both trigger searches share, the black-box search (NES) degrades
    ``b`` at least as much as the white-box one (HotFlip) while on ``a`` the white-box one is clearly stronger
    (95 % intervals apart; the curves' means, since the two attacks may draw different samples). With
    honest gradients a white-box search is the stronger; the reverse on one arm only suggests masked gradients."""
    white, black = (curves or {}).get(WHITE_BOX) or {}, (curves or {}).get(BLACK_BOX) or {}
    if not white.get("budgets") or not black.get("budgets"):
        return []

    def points(section, model):
        return {p["budget"]: p[measure] for p in ((section["models"].get(model) or {}).get("points") or [])
                if p.get(measure) and p[measure].get("mean") is not None and math.isfinite(p[measure]["mean"])}

    wa, ba, wb, bb = points(white, comp.a), points(black, comp.a), points(white, comp.b), points(black, comp.b)
    # On a, the white-box search must be clearly the stronger (its 95 % interval above the black-box one's):
    # two near-equal means are noise, not a pattern.
    flagged = [k for k in sorted(set(wa) & set(ba) & set(wb) & set(bb))
               if bb[k]["mean"] >= wb[k]["mean"] and wa[k]["ci_low"] > ba[k]["ci_high"]]
    if not flagged:
        return []
    wa, ba, wb, bb = ({k: v["mean"] for k, v in d.items()} for d in (wa, ba, wb, bb))
    k = flagged[-1]
    return [f"Gradient masking? At {k} trigger token(s) the black-box NES search degrades {comp.b} at least as much "
            f"as white-box HotFlip ({bb[k]:.3f} vs {wb[k]:.3f} nats ΔNLL) while on {comp.a} HotFlip is the stronger "
            f"({wa[k]:.3f} vs {ba[k]:.3f}): {comp.b}'s gradients may mislead the white-box search (budgets with "
            f"this pattern: {', '.join(map(str, flagged))})."]


# ---------------------------------------------------------------------------
# Key findings
# ---------------------------------------------------------------------------

def _direction_counts(rows: pd.DataFrame, a: str, b: str) -> str:
    """In how many attacks each side degrades less (diff = a - b), and which of those survive Holm."""
    parts = []
    for who, side in ((b, rows["diff_mean"] > 0), (a, rows["diff_mean"] < 0)):
        significant = list(rows.index[side & rows["significant"]])
        named = f": {', '.join(significant)}" if significant else ""
        parts.append(f"{who} degrades less in {int(side.sum())} of {len(rows)} attacks ({len(significant)} "
                     f"significant after Holm{named})")
    return "; ".join(parts)


def _overall_sentence(table: pd.DataFrame, comp: Comparison, measure: str) -> str | None:
    rows = rows_of(table, comp.name, "overall", measure)
    if rows.empty:
        return None
    r = rows.iloc[0]
    if r["significant"]:
        who = comp.b if r["diff_mean"] > 0 else comp.a
        verdict = f"significant after Holm (p {_fmt_p(r['holm_p'])}): {who} degrades less"
    else:
        verdict = f"not significant after Holm (p {_fmt_p(r['holm_p'])})"
        if r["underpowered"]:
            verdict += (f"; underpowered: only a difference of {r['mde_family']:.3g} or more would be detected with "
                        f"80 % power at the family's level, and smaller ones are not excluded")
    return (f"overall {SHORT_NAMES[measure]} {comp.a} {r['a_mean']:.3g} vs {comp.b} {r['b_mean']:.3g} (n = "
            f"{int(r['n'])} samples; difference {_fmt_diff(r)}), {verdict}")


def comparison_findings(table: pd.DataFrame, comp: Comparison) -> list[str]:
    """Per primary measure: the overall test and the per-attack directions of one comparison; then its clean
    quality (:func:`clean_finding`)."""
    lines = []
    for measure in primary_measures(table):
        rows = rows_of(table, comp.name, "headline", measure)
        if rows.empty:
            continue
        overall = _overall_sentence(table, comp, measure)
        text = (f"{comp.label[0].upper()}{comp.label[1:]}, {MEASURE_NAMES[measure]}: "
                f"{_direction_counts(rows, comp.a, comp.b)}")
        weak = [atk for atk, r in rows.iterrows() if r["underpowered"]]
        if weak:
            text += f"; underpowered (MDE above half of {comp.a}'s degradation): {', '.join(weak)}"
        lines.append(text + (f"; {overall}." if overall else "."))
    clean = clean_finding(table, comp)
    return lines + ([clean] if clean else [])


def _sign(table: pd.DataFrame, comp: Comparison, measure: str) -> int:
    rows = rows_of(table, comp.name, "overall", measure)
    if rows.empty or math.isnan(rows["diff_mean"].iloc[0]):
        return 0
    return int(np.sign(rows["diff_mean"].iloc[0]))


def agreement_finding(table: pd.DataFrame, quality: Comparison, budget: Comparison) -> str | None:
    """Does the equal-budget comparison point the same way as the equal-quality one, measure by measure?"""
    parts = []
    for measure in primary_measures(table):
        q, bud = rows_of(table, quality.name, "headline", measure), rows_of(table, budget.name, "headline", measure)
        common = [atk for atk in q.index if atk in bud.index]
        if not common:
            continue
        same = sum(np.sign(q.loc[a, "diff_mean"]) == np.sign(bud.loc[a, "diff_mean"]) for a in common)
        so, sb = _sign(table, quality, measure), _sign(table, budget, measure)
        overall = "the same" if so == sb else "opposite"
        parts.append(f"{SHORT_NAMES[measure]}: same direction in {same} of {len(common)} attacks, {overall} overall "
                     "direction")
    if not parts:
        return None
    return f"Equal budget ({budget.a} vs {budget.b}) against equal quality ({quality.a} vs {quality.b}): " \
           + "; ".join(parts) + "."


def control_finding(table: pd.DataFrame, comp: Comparison) -> str:
    """What a control shows: is the monotone arm's robustness that of the control?"""
    measures = primary_measures(table)
    significant = [(atk, m) for m in measures for atk, r in rows_of(table, comp.name, None, m).iterrows()
                   if r["significant"] and r["point"] in ("headline", "area", "overall")]
    what = {"attention_only": "an arm without FFN sublayers", "init_only": "an unconstrained FFN started like the "
            "monotone one"}.get(comp.a, comp.a)
    parts = [f"{SHORT_NAMES[m]}: {_direction_counts(rows_of(table, comp.name, 'headline', m), comp.a, comp.b)}"
             for m in measures if not rows_of(table, comp.name, "headline", m).empty]
    if not significant:
        verdict = (f"{comp.b}'s robustness is not distinguishable from that of {comp.a} ({what}): what the "
                   f"constraint adds over it is not shown")
    else:
        verdict = (f"{comp.b} differs from {comp.a} ({what}) in " + ", ".join(f"{a} ({SHORT_NAMES[m]})"
                                                                            for a, m in significant[:6])
                   + (" and more" if len(significant) > 6 else ""))
    return f"Control {comp.a} vs {comp.b}: " + "; ".join(parts) + f". {verdict}."


def clean_finding(table: pd.DataFrame, comp: Comparison) -> str | None:
    rows = rows_of(table, comp.name, "clean")
    if rows.empty:
        return None
    parts, weaker = [], []
    for metric, r in rows.set_index("measure").iterrows():
        parts.append(f"{SHORT_NAMES[metric]} {comp.a} {r['a_mean']:.3f} vs {comp.b} {r['b_mean']:.3f} "
                     f"(difference {_fmt_diff(r)}, Holm p {_fmt_p(r['holm_p'])})")
        if r["significant"]:
            weaker.append(comp.b if r["diff_mean"] > 0 else comp.a)
    line = f"Clean quality, {comp.label}: " + "; ".join(parts) + "."
    if weaker:
        line += (f" WARNING: the arms differ significantly in clean quality ({weaker[0]} is weaker), so robustness "
                 "differences at this comparison are confounded with model quality.")
    return line


def relative_finding(table: pd.DataFrame, comp: Comparison) -> str | None:
    """Where the relative ΔNLL points the other way from the absolute one (the round-1 trap)."""
    ab, rel = rows_of(table, comp.name, "headline", "abs_degradation"), rows_of(table, comp.name, "headline",
                                                                                 "rel_degradation")
    flips = [atk for atk in ab.index if atk in rel.index and np.sign(ab.loc[atk, "diff_mean"])
             != np.sign(rel.loc[atk, "diff_mean"])]
    if not flips:
        return None
    return (f"{comp.label}: the relative ΔNLL points the other way from the absolute one in "
            f"{', '.join(flips)}; the arms' clean losses differ, which is why neither NLL form is primary.")


def key_findings(table: pd.DataFrame, comps: Sequence[Comparison], transfer: Mapping | None = None,
                 curves: Mapping | None = None, n_seeds: int = 1) -> list[str]:
    """Plain sentences generated from the numbers, in PROTOCOL.md's order: equal quality first, then whether
    equal budget agrees, the controls, gradient masking, power; the clean-quality warnings are kept."""
    lines: list[str] = []
    quality = next((c for c in comps if c.kind == "equal_quality"), None)
    budget = next((c for c in comps if c.name == EQUAL_BUDGET), None)
    lead = [c for c in (quality, budget) if c is not None]
    for comp in lead:
        lines += comparison_findings(table, comp)
    if quality is not None and budget is not None:
        agree = agreement_finding(table, quality, budget)
        if agree:
            lines.append(agree)
    for comp in comps:
        if comp not in lead:
            lines += [control_finding(table, comp)] if comp.kind == "control" else comparison_findings(table, comp)
    for comp in comps:
        lines += transfer_masking(table, transfer, comp) + box_gap_masking(curves, comp)
    for comp in comps:
        rel = relative_finding(table, comp)
        if rel:
            lines.append(rel)
    m = family_size(table)
    if m:
        lines.append(f"Multiple testing: Holm over a family of {m} tests (attacks x comparisons x primary measures at "
                     "the headline budget and on the curve area, the overall and the clean-quality tests); marks and "
                     "'significant' use the adjusted p. Secondary measures (adversarial excess, ΔNLL) are "
                     "descriptive: unadjusted p, no mark.")
    if n_seeds == 1:
        lines.append("One training seed: these p-values treat the samples as the only source of variation; "
                     "run with --seeds N to see whether the difference survives retraining.")
    return lines


# ---------------------------------------------------------------------------
# Across training seeds
# ---------------------------------------------------------------------------

SEED_POINTS = ("headline", "area", "overall")


def seed_table(tables: Sequence[pd.DataFrame], comparison: str) -> pd.DataFrame:
    """Across seeds, for one comparison: per (attack, point, primary measure) each seed's mean paired difference,
    then mean, Student-t interval and tests across seeds, and the sign consistency.

    ``tables`` are the seeds' :func:`test_table` frames. The unit is the independently trained model pair, so
    the only valid n here is the number of seeds (never the samples pooled over seeds). A row a seed lacks is
    aggregated over the seeds that have it (``n_seeds`` says how many).
    """
    keyed: dict[tuple[str, str, str], list] = {}
    a = b = None
    for t in tables:
        sub = t[(t["comparison"] == comparison) & t["measure"].isin(PRIMARY) & t["point"].isin(SEED_POINTS)]
        for _, r in sub.iterrows():
            a, b = r["a"], r["b"]
            keyed.setdefault((r["attack"], r["point"], r["measure"]), []).append(r)
    rows = []
    order = {atk: i for i, atk in enumerate(ATTACKS + (OVERALL,))}
    for (attack, point, measure), per_seed in sorted(keyed.items(), key=lambda kv: (
            PRIMARY.index(kv[0][2]), SEED_POINTS.index(kv[0][1]), order.get(kv[0][0], 99))):
        diffs = [float(r["diff_mean"]) for r in per_seed]
        agg = stats.across_seeds(diffs)
        rows.append({"comparison": comparison, "a": a, "b": b, "attack": attack, "point": point, "measure": measure,
                     "n_seeds": agg["n_seeds"], "a_mean": float(np.mean([r["a_mean"] for r in per_seed])),
                     "b_mean": float(np.mean([r["b_mean"] for r in per_seed])), "diff_mean": agg["mean"],
                     "diff_ci_low": agg["ci_low"], "diff_ci_high": agg["ci_high"], "ttest_p": agg["ttest_p"],
                     "wilcoxon_p": agg["wilcoxon_p"], "b_less_seeds": int(sum(d > 0 for d in diffs)),
                     "a_less_seeds": int(sum(d < 0 for d in diffs)),
                     "seeds_significant_holm": int(sum(bool(r["significant"]) for r in per_seed)),
                     "per_seed_diff": diffs})
    table = pd.DataFrame(rows)
    table.attrs["comparison"] = (a, b)
    return table


def seed_findings(table: pd.DataFrame, label: str) -> list[str]:
    """Sentences for a :func:`seed_table`: does each primary measure's direction survive retraining?

    Across seeds the evidence is the direction of each seed's mean paired difference and the spread of those
    means; with few seeds the tests say little, and the text says so rather than letting an "ns" speak.
    """
    if table.empty:
        return []
    a, b = table.attrs.get("comparison", (BASELINE, "mono"))
    n = int(table["n_seeds"].max())
    if n < 2:
        return ["One seed: nothing can be said about variation across training runs (use --seeds N, N >= 2)."]
    lines = []
    for measure in [m for m in PRIMARY if (table["measure"] == m).any()]:
        sub = table[(table["measure"] == measure) & (table["point"] == "headline")]
        b_all = [r["attack"] for _, r in sub.iterrows() if r["b_less_seeds"] == r["n_seeds"]]
        a_all = [r["attack"] for _, r in sub.iterrows() if r["a_less_seeds"] == r["n_seeds"]]
        mixed = len(sub) - len(a_all) - len(b_all)
        text = (f"{label[0].upper()}{label[1:]}, {SHORT_NAMES[measure]} across {n} seeds: {b} degrades less in every "
                f"seed in {len(b_all)} of {len(sub)} attacks{_named(b_all)}, {a} in {len(a_all)}{_named(a_all)}; "
                f"the direction changes between seeds in {mixed}")
        over = table[(table["measure"] == measure) & (table["point"] == "overall")]
        if not over.empty:
            r = over.iloc[0]
            ci = ("" if math.isnan(r["diff_ci_low"])
                  else f", 95 % t-interval [{r['diff_ci_low']:+.3g}, {r['diff_ci_high']:+.3g}]")
            text += (f"; overall mean paired difference ({a} - {b}) {r['diff_mean']:+.3g}{ci}, {b} less in "
                     f"{r['b_less_seeds']}/{r['n_seeds']} seeds, t-test across seeds p {_fmt_p(r['ttest_p'])}")
        lines.append(text + ".")
    if n < 6:
        lines.append(f"Only {n} seeds: the signed-rank test across seeds cannot reach p < 0.05 with fewer than 6 "
                     f"(smallest possible p {2 / 2 ** n:.2g}) and the t-interval has {n - 1} degree(s) of freedom; "
                     "read the per-seed directions, and add seeds before claiming a difference.")
    return lines


def _named(attacks: list[str]) -> str:
    return f" ({', '.join(attacks)})" if attacks else ""
