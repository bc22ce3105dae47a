"""Clean (no attack) summary quality: ROUGE per example, and means with bootstrap intervals.

* :func:`rouge_scores` -- per-example ROUGE-1/2/L/Lsum F1 (Lin, 2004) from Google's
  ``rouge-score`` package, with its Porter stemmer; against several references, the best match (or the
  mean over them).
* :func:`fact_recall` -- the fraction of the reference's facts (slot values the
  synthetic corpus knows) a generated summary states: a summary with the right
  scenario but wrong names and times scores high ROUGE and low fact recall.
* :func:`clean_quality` -- generate summaries of the test records with the
  experiment's generation settings, score them, and
  keep every per-example score next to its record id: models are compared
  example by example (paired), not by their means alone.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from rouge_score import rouge_scorer

from mono_s2s.data.records import Record
from mono_s2s.generate import summarize_with
from mono_s2s.stats import mean_ci

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
# ROUGE against several references: ``rougeL`` etc. are the best match (max over references), and
# ``rougeL_refmean`` etc. the mean over them; with one reference the two are equal.
REFMEAN = "_refmean"
ROUGE_REFMEAN = tuple(t + REFMEAN for t in ROUGE_TYPES)
FACT_RECALL = "fact_recall"
# What clean evaluation can report (fact recall when facts are known).
CLEAN_METRICS = ROUGE_TYPES + ROUGE_REFMEAN + (FACT_RECALL,)

# A sentence ends at ., ! or ? followed by whitespace, or at a line break. rougeLsum
# needs one sentence per line; rouge-score would split with nltk's punkt model
# (split_summaries=True), but punkt's data cannot be downloaded here, so this simple
# splitter stands in. It also splits after abbreviations ("Dr. Lee"); that only
# moves rougeLsum slightly, and alike for every model.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped, empty ones dropped."""
    return [s.strip() for s in _SENTENCE_BREAK.split(text) if s.strip()]


def rouge_scores(predictions: Sequence[str], references: Sequence[str | Sequence[str]],
                 reduce: str = "max") -> dict[str, list[float]]:
    """``{rouge_type: [F1 of example 0, F1 of example 1, ...]}`` for rouge1, rouge2, rougeL, rougeLsum.

    ``references[i]`` is example ``i``'s reference, or all of its references (DialogSum's test split has
    three); ``reduce`` says how the F1s against several references become one: ``"max"`` (the best match,
    as rouge-score's ``score_multi`` does; the convention for multi-reference summarization) or ``"mean"``.
    With one reference both are that reference's F1.
    """
    if len(predictions) != len(references):
        raise ValueError(f"rouge_scores: {len(predictions)} predictions but {len(references)} references")
    if reduce not in ("max", "mean"):
        raise ValueError(f"rouge_scores: reduce must be 'max' or 'mean', not {reduce!r}")
    return rouge_by_reference(predictions, references)[reduce]


def rouge_by_reference(predictions: Sequence[str], references: Sequence[str | Sequence[str]]
                       ) -> dict[str, dict[str, list[float]]]:
    """``{"max": scores, "mean": scores}``: :func:`rouge_scores` reduced both ways from one scoring pass."""
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    out: dict[str, dict[str, list[float]]] = {"max": {t: [] for t in ROUGE_TYPES}, "mean": {t: [] for t in ROUGE_TYPES}}
    for prediction, refs in zip(predictions, references):
        refs = [refs] if isinstance(refs, str) else list(refs)
        if not refs:
            raise ValueError("rouge_scores: an example has no reference")
        # One sentence per line. rouge1/2/L are unaffected: the scorer's tokenizer
        # treats a newline like any other non-alphanumeric character.
        pred = "\n".join(split_sentences(prediction))
        results = [scorer.score(target="\n".join(split_sentences(ref)), prediction=pred) for ref in refs]
        for t in ROUGE_TYPES:
            f1 = [float(r[t].fmeasure) for r in results]
            out["max"][t].append(max(f1))
            out["mean"][t].append(sum(f1) / len(f1))
    return out


# Fact tokens: runs of letters and digits, keeping inner ".", ":" and apostrophes, so "10:30" and "2.5"
# stay one token; everything else (spaces, punctuation, currency signs) separates tokens. Then a possessive
# "'s" and an ordinal suffix are dropped, as the corpus's summaries inflect facts ("Hana's 30th birthday"
# states the facts "Hana" and "30").
_FACT_TOKEN = re.compile(r"[0-9a-z]+(?:[.:'][0-9a-z]+)*")
_POSSESSIVE = re.compile(r"'s$")
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")


def _fact_tokens(text: str) -> list[str]:
    words = _FACT_TOKEN.findall(text.lower().replace("\u2019", "'"))
    return [_ORDINAL.sub(r"\1", _POSSESSIVE.sub("", w)) for w in words]


def fact_recall(prediction: str, facts: Sequence[str]) -> float | None:
    """The fraction of the reference's ``facts`` that ``prediction`` states; None when there are no facts.

    The rule (normalised match): a fact is stated when its tokens appear as a
    contiguous run of the prediction's tokens, both lower-cased, tokenised by
    ``_FACT_TOKEN`` and stripped of a possessive "'s" and an ordinal suffix. So
    "The Old Mill" is stated by "... at the old mill." but not by "the old mills",
    "10:30 pm" by "10:30 PM" but not by "10 pm", "$25" by "25 dollars" (currency
    signs are not tokens), "Hana" and "30" by "Hana's 30th birthday". A fact listed
    twice counts twice.
    Unlike ROUGE, a summary cannot score by sounding right: each slot value (a
    name, place, day, time, amount, item) must be the reference's.
    """
    if not facts:
        return None
    words = _fact_tokens(prediction)
    stated = 0
    for fact in facts:
        want = _fact_tokens(fact)
        n = len(want)
        stated += bool(n) and any(words[i:i + n] == want for i in range(len(words) - n + 1))
    return stated / len(facts)


def clean_quality(model, tokenizer, records: Sequence[Record], cfg, progress: bool = True) -> dict[str, Any]:
    """ROUGE and fact recall of ``model``'s summaries of ``records`` (the first ``cfg.train.eval_samples``).

    ``cfg`` is the ``ExperimentConfig``: generation follows its settings
    (:func:`~mono_s2s.generate.summarize_with`). Returns
    ``{metric: {"mean", "ci_low", "ci_high", "n"}}`` for each of
    :data:`ROUGE_TYPES` (95% percentile bootstrap interval of the mean F1; against several references, the
    best-matching one's F1), :data:`ROUGE_REFMEAN` (the mean F1 over the references) and,
    when every record knows its facts, :data:`FACT_RECALL` (:func:`fact_recall`),
    plus ``"predictions"``: ``[{"id", "source", "reference", "prediction"}, ...]`` (``"references"`` too
    when a record has several)
    and ``"per_example"``: ``{metric: [F1, ...]}``, where entry ``i`` of every
    list belongs to ``predictions[i]["id"]``.
    """
    records = list(records)
    if cfg.train.eval_samples is not None:
        records = records[:cfg.train.eval_samples]  # the first N: the same examples for every model
    predictions = summarize_with(model, tokenizer, [r.source for r in records], cfg,
                                 batch_size=cfg.train.eval_batch_size, progress=progress, desc="clean eval")
    rouge = rouge_by_reference(predictions, [r.references for r in records])
    per_example = {**rouge["max"], **{t + REFMEAN: v for t, v in rouge["mean"].items()}}
    # Fact recall only when every example's facts are known (the embedded corpus): a mean over a subset
    # would not pair across models the way the other scores do.
    if records and all(r.facts for r in records):
        per_example[FACT_RECALL] = [fact_recall(p, r.facts) for p, r in zip(predictions, records)]
    result: dict[str, Any] = {t: mean_ci(values) for t, values in per_example.items()}
    result["predictions"] = [{"id": r.id, "source": r.source, "reference": r.summary, "prediction": p,
                              **({"references": list(r.references)} if len(r.references) > 1 else {})}
                             for r, p in zip(records, predictions)]
    result["per_example"] = per_example
    return result
