"""The measurement every attack shares, and the typed record each attack returns per sample and model.

Objective (TextAttack's "goal"): the mean token negative log-likelihood (NLL) of
the reference summary given the (attacked) source, in eval mode (no dropout);
perplexity = exp(NLL). An attack makes the model *worse*, so it maximises NLL.
The teacher-forced NLL is what every search optimises and the secondary measure.

The primary measures are of the *output* (issue 12): the runner generates the
summary of the clean source, of the attacked source and of the random control's
source with the clean evaluation's settings, and fills in ROUGE-L and (on the
embedded corpus) fact recall of each. Success (:func:`output_success`, one rule
for every model, in absolute terms): the attacked summary's ROUGE-L is at least
``attacks.success_rouge_drop`` (default 0.1) below the clean summary's, or it
states fewer of the reference's facts than the clean summary did (when facts are
known and ``attacks.success_fact_loss`` is true). The round-1 rule (+10 %
*relative* NLL) asked +0.22 nats of one model and +0.11 of another.

Every record also carries its **random control**: the same sample perturbed at
the same budget without search (a random trigger of the same length, random
substitutions of as many words under the same protections, a random template).
``adversarial_excess`` = attacked - control NLL: what the search adds over
chance.

Triggers are token ids inserted just before the source's ``</s>``; the source is
truncated first so that the trigger always survives truncation.
"""

from __future__ import annotations

import functools
import math
import zlib
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from mono_s2s.precision import autocast, check_resolved
from mono_s2s.progress import bar as progress_bar
from mono_s2s.results import record_problem


class BadRecord(ValueError):
    """A stored record that does not fit :class:`AttackRecord`; the message names the field."""


@dataclass
class TriggerExtra:
    """The extras of a record whose attack is a fixed trigger (universal, and every transfer record)."""

    trigger_ids: list[int]
    control_trigger_ids: list[int] | None = None  # the random control's trigger, same length
    # Whether appending the trigger to the *whole* source would have kept it within max_source_tokens
    # (the attacks cut the source to make room, so the trigger the model saw always survived).
    survives_truncation: bool | None = None


@dataclass
class AttackRecord:
    """One attack on one sample against one model.

    ``extra`` is the attack's own typed extras (a dataclass of its module, named by
    :func:`mono_s2s.attacks.registry.extra_type`); stored as a JSON object.
    """

    attack: str
    model: str  # variant slug: nonmono, mono, softplus_gate
    sample_id: str
    original_nll: float
    attacked_nll: float
    queries: int  # forward passes (sequences scored) the attack spent on this sample
    perturbed_text: str  # the attacked source, as text
    trigger: str | None = None  # the trigger text, for trigger attacks
    tokens_changed: int = 0  # trigger tokens, or words substituted
    # The budget point this record was attacked at, in its attack's unit (registry.AttackSpec.budget_unit):
    # trigger tokens, words, templates. Each attack runs at several (issue 13's curves); None: a record
    # from before budgets were recorded, or a transfer record (it carries its source's trigger).
    budget: int | None = None
    # The random control at the same budget, on the same sample (None: the attack has none).
    control_nll: float | None = None
    control_text: str | None = None
    # Label preservation (substitution, OOD on a corpus with facts): every reference fact is still stated in
    # the attacked source. A record with False is counted and left out of the analysis. None: not checked.
    label_preserved: bool | None = None
    # -- filled in by the runner after the search (generation with the clean evaluation's settings) --
    original_summary: str | None = None
    attacked_summary: str | None = None
    control_summary: str | None = None
    original_rougeL: float | None = None
    attacked_rougeL: float | None = None
    control_rougeL: float | None = None
    original_fact_recall: float | None = None  # None: the corpus does not know the record's facts
    attacked_fact_recall: float | None = None
    control_fact_recall: float | None = None
    success: bool | None = None  # :func:`output_success`; None until the summaries are generated
    seconds: float = 0.0  # wall time of the search (kept in the record: a resumed run reports the work)
    extra: Any = field(default_factory=dict)

    @property
    def original_ppl(self) -> float:
        return math.exp(min(self.original_nll, 50.0))

    @property
    def attacked_ppl(self) -> float:
        return math.exp(min(self.attacked_nll, 50.0))

    @property
    def abs_degradation(self) -> float:
        return self.attacked_nll - self.original_nll

    @property
    def rel_degradation(self) -> float:
        return self.abs_degradation / self.original_nll if self.original_nll > 0 else math.nan

    @property
    def control_degradation(self) -> float | None:
        return None if self.control_nll is None else self.control_nll - self.original_nll

    @property
    def adversarial_excess(self) -> float | None:
        """Attacked - control NLL (nats): what the search adds over a random perturbation of the same budget."""
        return None if self.control_nll is None else self.attacked_nll - self.control_nll

    @property
    def rouge_drop(self) -> float | None:
        return _drop(self.original_rougeL, self.attacked_rougeL)

    @property
    def control_rouge_drop(self) -> float | None:
        return _drop(self.original_rougeL, self.control_rougeL)

    @property
    def fact_recall_drop(self) -> float | None:
        return _drop(self.original_fact_recall, self.attacked_fact_recall)

    @property
    def control_fact_recall_drop(self) -> float | None:
        return _drop(self.original_fact_recall, self.control_fact_recall)

    DERIVED = ("original_ppl", "attacked_ppl", "abs_degradation", "rel_degradation", "control_degradation",
               "adversarial_excess", "rouge_drop", "control_rouge_drop", "fact_recall_drop",
               "control_fact_recall_drop")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)  # a dataclass extra becomes a dict too
        d.update({name: getattr(self, name) for name in self.DERIVED})
        return d

    @classmethod
    def from_dict(cls, d: Any) -> AttackRecord:
        """The record a stored JSON value holds; :class:`BadRecord` naming the field if it does not fit.

        Every field must have its type (:data:`mono_s2s.results.RECORD_TYPES`): a
        ``"maybe"`` success or a null sample id would otherwise be counted. The
        extras become the attack's dataclass; one that does not fit it is a bad record too.
        """
        from mono_s2s.attacks.registry import extra_type

        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        problem = record_problem(d, required)
        if problem:
            name, what = problem
            raise BadRecord(f"field '{name}' {what}" if name else f"a record {what}")
        names = {f.name for f in fields(cls)}
        record = cls(**{k: v for k, v in d.items() if k in names})
        kind = extra_type(record.attack)
        if kind is not None and isinstance(record.extra, dict):
            known = {f.name for f in fields(kind)}
            try:
                record.extra = kind(**{k: v for k, v in record.extra.items() if k in known})
            except TypeError as e:
                raise BadRecord(f"field 'extra' does not fit {record.attack}'s extras ({e})") from None
        return record


def _drop(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else before - after


def output_success(record: AttackRecord, args: Any) -> bool:
    """The success rule on the output, the same absolute threshold for every model (see the module docstring)."""
    drop = record.rouge_drop
    if drop is not None and drop >= args.success_rouge_drop:
        return True
    lost = record.fact_recall_drop
    return bool(args.success_fact_loss and lost is not None and lost > 1e-9)


def sample_rng(seed: int, sample_id: str) -> np.random.Generator:
    """The random generator of one sample: from ``attacks.seed`` and a stable hash of the sample id.

    Keyed by id, not by position, so a sample gets the same randomness whether it
    is attacked alone (as the resumable runner does) or in a list, and two samples
    never share it. (crc32, not ``hash``: Python salts string hashes per process.)
    """
    return np.random.default_rng([seed, zlib.crc32(sample_id.encode("utf-8"))])


def each_sample(samples: Sequence[Any], args: Any, attack: str, model_slug: str, progress: bool
                ) -> Iterator[tuple[Any, np.random.Generator]]:
    """``(sample, its generator)`` for every sample, behind a progress bar: the loop every random attack opens with."""
    for sample in progress_bar(samples, desc=f"{attack}[{model_slug}]", disable=not progress):
        yield sample, sample_rng(args.seed, sample.id)


# Rows are padded to multiples of these (source with </s>, labels): a row's padded shape, and so its
# result, depends on the row alone (mono_s2s.attacks.engine). 16 source tokens waste ~8 % of a 100-token
# dialogue's encoder work on padding; finer buckets would split the packed forwards further.
SOURCE_BUCKET, LABEL_BUCKET = 16, 8


def padded_shape(source_len: int, label_len: int) -> tuple[int, int]:
    """The (source, label) lengths a row is padded to: its own lengths rounded up to the buckets."""
    return -(-source_len // SOURCE_BUCKET) * SOURCE_BUCKET, -(-label_len // LABEL_BUCKET) * LABEL_BUCKET


class Objective:
    """NLL of references under one model, batched; counts the sequences it scores (``queries``).

    Works on token ids so that attacks can score many trigger candidates in one
    forward pass. ``source_ids`` lists never include the final ``</s>``; it is
    added here after the optional trigger.
    """

    def __init__(self, model, tokenizer, max_source_tokens: int, max_summary_tokens: int, prefix: str = "",
                 batch_size: int = 32, precision: str = "fp32") -> None:
        self.model = model.eval()
        self.tok = tokenizer
        self.max_source = max_source_tokens
        self.max_summary = max_summary_tokens
        self.prefix = prefix
        self.batch_size = batch_size
        self.queries = 0
        self.device = next(model.parameters()).device
        # Resolved attacks.precision (mono_s2s.precision): the forwards run under autocast for bf16/fp16, under
        # nothing for fp32; _per_sample_nll takes the logits to float32 either way.
        self.precision = check_resolved(precision)

    # -- text <-> ids ------------------------------------------------------------------------------------------

    def source_ids(self, source: str, room: int = 0) -> list[int]:
        """Token ids of the source without ``</s>``, truncated to leave ``room`` tokens for a trigger."""
        ids = self.tok(self.prefix + source, add_special_tokens=False)["input_ids"]
        return ids[: self.max_source - 1 - room]

    def source_length(self, source: str) -> int:
        """Tokens of the whole source (prefix included, ``</s>`` not), before any truncation."""
        return len(self.tok(self.prefix + source, add_special_tokens=False)["input_ids"])

    def label_ids(self, summary: str) -> list[int]:
        return self.tok(summary, truncation=True, max_length=self.max_summary)["input_ids"]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tok.decode(list(ids), skip_special_tokens=True)

    # -- scoring -----------------------------------------------------------------------------------------------

    def _groups(self, sources: Sequence[Sequence[int]], labels: Sequence[Sequence[int]], size: int | None = None
                ) -> list[list[int]]:
        """Row indices grouped by their padded shape (:func:`padded_shape`), each group cut into forwards of
        at most ``size`` (default ``batch_size``) rows; rows of one shape are packed together whatever sample
        they come from."""
        size = size or self.batch_size
        by_shape: dict[tuple[int, int], list[int]] = {}
        for i, (s, t) in enumerate(zip(sources, labels)):
            by_shape.setdefault(padded_shape(len(s) + 1, len(t)), []).append(i)
        return [rows[j:j + size] for _, rows in sorted(by_shape.items()) for j in range(0, len(rows), size)]

    def _tensors(self, sources, labels, rows: list[int]):
        """(input_ids, attention_mask, labels, decoder_input_ids) of ``rows``, padded to their shared bucket.

        On a GPU a short forward is filled up to ``batch_size`` rows with copies of its first row (their
        results are dropped): cuBLAS may pick another algorithm for another number of rows, and a row's
        result must not depend on how many rows shared its forward. On a CPU the row count did not change
        any NLL (tests/test_attack_engine.py), so nothing is added there.
        """
        if self.device.type != "cpu" and len(rows) < self.batch_size:
            rows = rows + [rows[0]] * (self.batch_size - len(rows))
        S, T = padded_shape(len(sources[rows[0]]) + 1, len(labels[rows[0]]))
        input_ids = torch.full((len(rows), S), self.tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), S), dtype=torch.long)
        lab = torch.full((len(rows), T), -100, dtype=torch.long)
        for r, i in enumerate(rows):
            src = list(sources[i]) + [self.tok.eos_token_id]
            input_ids[r, :len(src)] = torch.tensor(src)
            mask[r, :len(src)] = 1
            lab[r, :len(labels[i])] = torch.tensor(list(labels[i]))
        lab = lab.to(self.device)
        # The decoder's inputs from the labels, as HF does when given labels; passing them instead of labels
        # spares the model's own loss (a second log-softmax over the vocabulary) that nothing here reads.
        return input_ids.to(self.device), mask.to(self.device), lab, self.model._shift_right(lab)

    def _per_sample_nll(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        nll = F.cross_entropy(logits.float().transpose(1, 2), labels, ignore_index=-100, reduction="none")  # (B, T)
        mask = labels != -100
        return (nll * mask).sum(1) / mask.sum(1).clamp_min(1)

    def score_rows(self, sources: Sequence[Sequence[int]], labels: Sequence[Sequence[int]]) -> list[float]:
        """Per-row mean token NLL of (source ids without </s>, label ids), not counted as queries (the callers
        count). Inference mode, rows packed by padded shape; a row's value does not depend on the other rows."""
        out = [0.0] * len(sources)
        with torch.inference_mode():
            for rows in self._groups(sources, labels):
                input_ids, mask, lab, dec = self._tensors(sources, labels, rows)
                with autocast(self.device, self.precision):
                    logits = self.model(input_ids=input_ids, attention_mask=mask, decoder_input_ids=dec).logits
                for i, v in zip(rows, self._per_sample_nll(logits, lab).tolist()):
                    out[i] = v
        return out

    def grad_rows(self, sources: Sequence[Sequence[int]], labels: Sequence[Sequence[int]]
                  ) -> tuple[list[float], list[torch.Tensor]]:
        """Per row: its NLL and d NLL / d its input embeddings, (len(source) + 1, d_model) (``</s>`` last); eval
        mode, packed like :meth:`score_rows`, not counted as queries."""
        nll = [0.0] * len(sources)
        grads: list[torch.Tensor] = [None] * len(sources)  # type: ignore[list-item]
        # One row per gradient forward on a CPU: with several, the backward's matmuls changed a row's gradient
        # by ~1e-9 at d_model 192 (bench/attack_throughput.py; its NLL stayed exact), which could flip a
        # near-tie of first-order scores; and batching them gained at most 1.07x there.
        for rows in self._groups(sources, labels, 1 if self.device.type == "cpu" else None):
            input_ids, mask, lab, dec = self._tensors(sources, labels, rows)
            embeds = self.model.get_input_embeddings()(input_ids).detach().requires_grad_(True)
            with autocast(self.device, self.precision):
                logits = self.model(inputs_embeds=embeds, attention_mask=mask, decoder_input_ids=dec).logits
            per = self._per_sample_nll(logits, lab)
            # The gradient of the summed per-row NLL: each row's slice is its own sample's gradient.
            (grad,) = torch.autograd.grad(per.sum(), embeds)
            for r, i in enumerate(rows):
                nll[i] = float(per[r].detach())
                grads[i] = grad[r, :len(sources[i]) + 1].detach()
        return nll, grads

    def nll_ids(self, sources: Sequence[Sequence[int]], labels: Sequence[Sequence[int]]) -> list[float]:
        """Per-sample mean token NLL for pairs of (source ids without </s>, label ids); counted as queries."""
        self.queries += len(sources)
        return self.score_rows(sources, labels)

    def nll(self, sources: Sequence[str], summaries: Sequence[str]) -> list[float]:
        return self.nll_ids([self.source_ids(s) for s in sources], [self.label_ids(t) for t in summaries])

    def embedding_grad(self, sources: Sequence[Sequence[int]], labels: Sequence[Sequence[int]]
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """(per-sample NLL, d NLL / d input embeddings of shape (B, S, d_model), zero past each row's end)."""
        nll, grads = self.grad_rows(sources, labels)
        out = torch.zeros((len(grads), max(g.shape[0] for g in grads), grads[0].shape[1]), dtype=grads[0].dtype,
                          device=grads[0].device)
        for r, g in enumerate(grads):
            out[r, :g.shape[0]] = g
        self.queries += len(sources)
        return torch.tensor(nll), out

    @functools.cached_property
    def candidates(self) -> list[int]:
        """:func:`candidate_vocabulary` of this tokenizer, computed once (the runner attacks one sample per call)."""
        return candidate_vocabulary(self.tok)

    def embedding_matrix(self) -> torch.Tensor:
        return self.model.get_input_embeddings().weight.detach()  # (V, d_model)


def candidate_vocabulary(tokenizer) -> list[int]:
    """Token ids a trigger may use: no special tokens, and only tokens that survive decode -> re-encode.

    A token that re-tokenizes differently would make the text the attack reports
    differ from the ids it scored, so the attack would not transfer to text.
    """
    special = set(tokenizer.all_special_ids)
    keep = []
    for tid in range(len(tokenizer)):
        if tid in special:
            continue
        text = tokenizer.decode([tid], skip_special_tokens=True)
        if not text.strip():
            continue
        again = tokenizer(" " + text.strip(), add_special_tokens=False)["input_ids"]
        if again == [tid] or tokenizer(text, add_special_tokens=False)["input_ids"] == [tid]:
            keep.append(tid)
    return keep


def fixed_trigger_search(objective: Objective, sample: Any, trigger: Sequence[int], control: Sequence[int] | None,
                         model_slug: str, attack: str):
    """One sample attacked with a fixed ``trigger`` (no search, so no gradients), as a generator for
    :mod:`mono_s2s.attacks.engine`; returns its record.

    ``original_nll`` is the clean, untruncated source; ``attacked_nll`` the source
    truncated to leave room for the trigger, then the trigger: two sequences, the
    queries. ``control`` (a trigger of the same length, or None) is scored the
    same way as the record's random control, not counted.
    """
    from mono_s2s.attacks.engine import Score

    t = list(trigger)
    k = list(control) if control is not None else None
    labels = objective.label_ids(sample.summary)
    cut = objective.source_ids(sample.source, room=len(t))
    rows = [objective.source_ids(sample.source), cut + t] + ([cut + k] if k is not None else [])
    scores = yield Score(rows, [labels] * len(rows))
    return AttackRecord(attack=attack, model=model_slug, sample_id=sample.id, original_nll=scores[0],
                        attacked_nll=scores[1], queries=2, perturbed_text=objective.decode(cut + t),
                        trigger=objective.decode(t), tokens_changed=len(t), budget=len(t),
                        control_nll=scores[2] if k is not None else None,
                        control_text=objective.decode(cut + k) if k is not None else None,
                        extra=TriggerExtra(trigger_ids=t, control_trigger_ids=k, survives_truncation=(
                            objective.source_length(sample.source) + len(t) <= objective.max_source - 1)))


def evaluate_triggers_per_sample(objective: Objective, samples: Sequence[Any], triggers: dict[str, list[int]],
                                 args: Any, model_slug: str, attack: str,
                                 controls: dict[str, list[int]] | None = None) -> list[AttackRecord]:
    """Each sample attacked with its own fixed trigger (``triggers[sample.id]``): :func:`fixed_trigger_search`
    for every sample, run together by the engine.

    This is how a trigger found elsewhere is measured: e.g. HotFlip transfer, where
    every sample keeps the trigger that HotFlip found for it on the other model.
    ``controls`` (``{sample id: trigger}``) are each record's random control.
    """
    from mono_s2s.attacks.engine import run_all

    return run_all(objective, [fixed_trigger_search(objective, s, triggers[s.id],
                                                    controls[s.id] if controls is not None else None,
                                                    model_slug, attack) for s in samples])
