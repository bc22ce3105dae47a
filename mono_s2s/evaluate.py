"""Clean (no attack) summary quality: ROUGE per example, and means with bootstrap intervals.

* :func:`rouge_scores` -- per-example ROUGE-1/2/L/Lsum F1 (Lin, 2004) from Google's
  ``rouge-score`` package, with its Porter stemmer.
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

# A sentence ends at ., ! or ? followed by whitespace, or at a line break. rougeLsum
# needs one sentence per line; rouge-score would split with nltk's punkt model
# (split_summaries=True), but punkt's data cannot be downloaded here, so this simple
# splitter stands in. It also splits after abbreviations ("Dr. Lee"); that only
# moves rougeLsum slightly, and alike for every model.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped, empty ones dropped."""
    return [s.strip() for s in _SENTENCE_BREAK.split(text) if s.strip()]


def rouge_scores(predictions: Sequence[str], references: Sequence[str]) -> dict[str, list[float]]:
    """``{rouge_type: [F1 of example 0, F1 of example 1, ...]}`` for rouge1, rouge2, rougeL, rougeLsum."""
    if len(predictions) != len(references):
        raise ValueError(f"rouge_scores: {len(predictions)} predictions but {len(references)} references")
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    scores: dict[str, list[float]] = {t: [] for t in ROUGE_TYPES}
    for prediction, reference in zip(predictions, references):
        # One sentence per line. rouge1/2/L are unaffected: the scorer's tokenizer
        # treats a newline like any other non-alphanumeric character.
        result = scorer.score(target="\n".join(split_sentences(reference)),
                              prediction="\n".join(split_sentences(prediction)))
        for t in ROUGE_TYPES:
            scores[t].append(float(result[t].fmeasure))
    return scores


def clean_quality(model, tokenizer, records: Sequence[Record], cfg, progress: bool = True) -> dict[str, Any]:
    """ROUGE of ``model``'s summaries of ``records`` (the first ``cfg.train.eval_samples`` if set).

    ``cfg`` is the ``ExperimentConfig``: generation follows its settings
    (:func:`~mono_s2s.generate.summarize_with`). Returns
    ``{metric: {"mean", "ci_low", "ci_high", "n"}}`` for each of
    :data:`ROUGE_TYPES` (95% percentile bootstrap interval of the mean F1),
    plus ``"predictions"``: ``[{"id", "source", "reference", "prediction"}, ...]``
    and ``"per_example"``: ``{metric: [F1, ...]}``, where entry ``i`` of every
    list belongs to ``predictions[i]["id"]``.
    """
    records = list(records)
    if cfg.train.eval_samples is not None:
        records = records[:cfg.train.eval_samples]  # the first N: the same examples for every model
    predictions = summarize_with(model, tokenizer, [r.source for r in records], cfg,
                                 batch_size=cfg.train.eval_batch_size, progress=progress, desc="clean eval")
    per_example = rouge_scores(predictions, [r.summary for r in records])
    result: dict[str, Any] = {t: mean_ci(per_example[t]) for t in ROUGE_TYPES}
    result["predictions"] = [{"id": r.id, "source": r.source, "reference": r.summary, "prediction": p}
                             for r, p in zip(records, predictions)]
    result["per_example"] = per_example
    return result
