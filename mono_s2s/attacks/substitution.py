"""In-text word substitution: up to k words *inside* the source replaced (the threat model of Seq2Sick and TextFooler).

Seq2Sick (Cheng et al., 2020, "Seq2Sick: Evaluating the Robustness of
Sequence-to-Sequence Models with Adversarial Examples") replaces a few input
tokens of a seq2seq model by any vocabulary token, guided by gradients;
TextFooler (Jin et al., 2020, "Is BERT Really Robust?") ranks the words by their
importance, replaces them one at a time and keeps what hurts most. This attack
is the first's threat model with the second's word-by-word search.

TextAttack decomposition:

- goal: raise the mean token NLL of the reference summary (``common.Objective``);
  success is decided later, on the generated summary, by the runner;
- transformation: replace one word of the source by a *candidate word*: a
  lower-case alphabetic token of ``objective.candidates`` (at least two letters)
  that is a whole word (``" " + word`` tokenizes to that one token), written in
  the case of the word it replaces (``Want`` -> ``Pizza``). Lower-case tokens
  only, so no name, day or place of the corpus (all capitalised) is inserted;
- constraints (:mod:`mono_s2s.attacks.protect`): never a word of the reference
  summary, of a fact, a speaker tag or a number (digits or number words); no
  replacement is such a word either; each word changes at most once (TextAttack's
  repeat-modification constraint); only words the model sees (not cut off by
  ``data.max_source_tokens``);
- search: beam search (``search.beam_step``) of width ``attacks.substitution_beam``
  over sets of substitutions, one more word per step for ``k`` steps, no early
  stop (a step whose proposals all score below the state it came from keeps the
  state, and the next step scores the next proposals of the ranking). From each
  beam state, every unchanged word's candidates are ranked by HotFlip's
  first-order estimate ``(e_new - e_old) . g`` at the word's (first) token (``g``:
  the gradient of the NLL w.r.t. the input embeddings of that state); the best
  ``attacks.substitution_proposals`` (word, candidate) pairs over all words,
  never one scored before, are re-ranked by the true NLL in batched forwards.
  Defaults: beam 1, 200 proposals (measured below: at about 1000 queries,
  beam 1 x 200 proposals reached 0.85 nats on 16 samples, beam 2 x 100 0.79,
  beam 4 x 50 0.69; 24 proposals per state, whatever the beam, left the
  gradient no better than random scores).

Budget and clipping: ``k = attacks.substitution_words`` words changed at most.
A record with fewer substitutable words than ``k`` is **clipped**: the budget
becomes its number of substitutable words, and the record says so
(``extra.budget``, ``extra.substitutable_words``, ``extra.clipped``) rather than
failing the run on one short dialogue. ``tokens_changed`` is the number of words
the attack changed (<= the budget: a substitution that lowers the NLL is not
kept). Queries per sample are at most ``1 + k * beam * (1 + proposals)``: the
clean NLL, one gradient pass per beam state and step (which also scores it), the
proposals.

The text is the state: each state is a set of (word, candidate) pairs, its text
the source with those words replaced, and what is scored is that text
tokenized again, so ``perturbed_text`` is exactly what was scored and what the
runner summarises. A multi-token word (``Friday?`` is one token, ``biology``
four) is scored at its first token; the true NLL of the re-tokenized text is what
decides.

Random control (part 7 of issue 12): the same number of words as the attack
changed, chosen uniformly among the same substitutable words, each replaced by
a uniformly drawn candidate word. The draws (an order of the words, a
candidate per word) come from the sample's generator *before* the search, and
the control of a record that changed ``k'`` words takes the first ``k'`` of them:
a model-independent draw, so two models whose attacks changed as many words
get the same control. Its NLL is not counted in the queries.

Departures: Seq2Sick optimises a continuous relaxation with group lasso and
projects back to tokens; TextFooler ranks words by deleting each one and draws
replacements from counter-fitted synonym embeddings under a sentence-encoder
similarity threshold. Here the first-order scores rank words and candidates
together (no deletion queries), the true NLL re-ranks, and the candidates are the
tokenizer's whole words, not synonyms: the labels are kept by the protections and
checked on the facts, not by a similarity model. The first-order estimate is a
filter, as in HotFlip: it is only linear, and the re-ranking decides.

TextAttack decision: not used (read: textattack 0.3.11 from PyPI, not
installed). It offers word-swap transformations (counter-fitted embedding
neighbours, WordNet, a masked LM, a gradient swap), constraints (stopwords,
repeat modification, part of speech, Universal Sentence Encoder) and searches
(greedy with word-importance ranking, beam, genetic). Against our needs: its
text-to-text goals (Seq2Sick's non-overlapping output, BLEU) score a generated
output per query, not the teacher-forced NLL of a reference, so the goal and a
model wrapper would be ours anyway; its gradient swap takes the gradient of a
classification loss (labels = the argmax of the logits) and treats word ``i``
as token ``i``, which our BPE and seq2seq models break; the embedding
neighbours come from an S3 download and USE from TF Hub (with TensorFlow), and a
masked LM would propose words of another model's vocabulary, none of which
fits an offline project whose models are trained from scratch on their own
tokenizer; it scores candidates one wrapper call at a time, outside our batched
``Objective`` and its query count; and our constraints (reference words, facts,
speaker tags, numbers) would be new constraint classes. What it would give --
a beam over word swaps, repeat modification, a ranking -- is a few lines on
``search.beam_step`` here, against a dependency that pulls in flair,
bert-score, language_tool_python (Java), datasets and more.

Measured (``/tmp`` scripts, not shipped) on a trained d_model-32 baseline, the
``attack_target`` test fixture's recipe (val NLL about 1.0), the first 8 test
samples, the default settings (k = 5, beam 1, 200 proposals): ΔNLL 0.75 nats
(the random control at the same 5 words: 0.06; adversarial excess > 0 on 8 of
8); the same search with random scores in place of the first-order ones at the
same 1006 queries: 0.66 (the gradient wins on 5 of 8; on 16 samples 0.85
against 0.70, 11 of 16); the best of 1005 random 5-word substitutions (as many
as the attack's queries): 0.38 (the attack wins on 8 of 8). 5 words changed per
sample, 1006 queries, 1.6 s per sample (2-5 s on a 2-core CPU shared with
other jobs; 85 % of it the model's forwards). The first-order estimate is weak
here (Spearman 0.0-0.2 with the true change of single substitutions), and its
*sign* does not matter: on 12 samples the signed ranking reached 0.84 nats, the
same search ranking by minus the score 0.83 and by its absolute value 0.84,
words chosen by gradient norm with random candidates 0.71, random scores 0.70.
What the gradient adds (about 0.14 nats) is *where* the input is sensitive --
which (word, candidate) pairs move it most along the gradient -- and the true
NLL picks the harmful ones among them; the linear estimate's direction adds
nothing measurable on this model.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from mono_s2s.attacks.common import AttackRecord, Objective, sample_rng
from mono_s2s.attacks.engine import Grad, Score, Search, flat, run_all, run_one
from mono_s2s.attacks.ood import match_case
from mono_s2s.attacks.protect import Protection, label_preserved, protection
from mono_s2s.attacks.search import fresh_states, keep_best
from mono_s2s.data.records import Record

__all__ = ["SubstitutionExtra", "CandidateWords", "candidate_words", "substitution_attack", "substitution_searches",
           "substitution_search", "substitute_words"]

# A state: the substitutions made, as sorted (word index, candidate index) pairs.
State = tuple[tuple[int, int], ...]


def _case(word: str) -> int:
    if len(word) > 1 and word.isupper():
        return 2
    return 1 if word[:1].isupper() else 0


@dataclass(frozen=True)
class CandidateWords:
    """The candidate replacement words of a tokenizer, and the token each is scored by in each case."""

    words: tuple[str, ...]
    # (3, n) token ids: the first token of " " + word written lower-case, capitalised, upper-case.
    ids: torch.Tensor


_CANDIDATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Objective -> its CandidateWords


def candidate_words(objective: Objective) -> CandidateWords:
    """Whole-word, lower-case, alphabetic candidate tokens of ``objective``; computed once per objective."""
    if objective in _CANDIDATES:
        return _CANDIDATES[objective]
    tok = objective.tok
    if not getattr(tok, "is_fast", False):
        raise ValueError("substitution: the tokenizer must be a fast (Rust) one, whose character offsets place "
                         "each word's token")
    words, ids = [], []
    for tid in objective.candidates:
        word = objective.decode([tid]).strip()
        if len(word) < 2 or not word.isalpha() or word != word.lower() or not word.isascii():
            continue
        if tok(" " + word, add_special_tokens=False)["input_ids"] != [tid]:
            continue  # a word-internal piece, or one that re-tokenizes differently
        forms = [match_case(w, word) for w in ("a", "Ab", "AB")]
        words.append(word)
        ids.append([tok(" " + f, add_special_tokens=False)["input_ids"][0] for f in forms])
    out = CandidateWords(tuple(words), torch.tensor(ids, dtype=torch.long).reshape(-1, 3).T)
    _CANDIDATES[objective] = out
    return out


def substitute_words(text: str, spans: Sequence[tuple[int, int]], new: dict[int, str]
                     ) -> tuple[str, list[int], list[list[str]]]:
    """``text`` with word ``i`` (``spans[i]``) replaced by ``new[i]`` in its case.

    Returns the new text, the start of every span in it, and the [original, new] pairs in text order.
    """
    out, starts, pairs, pos, shift = [], [], [], 0, 0
    for i, (a, b) in enumerate(spans):
        starts.append(a + shift)
        if i in new:
            orig = text[a:b]
            rep = match_case(orig, new[i])
            out += [text[pos:a], rep]
            pairs.append([orig, rep])
            shift += len(rep) - (b - a)
            pos = b
    out.append(text[pos:])
    return "".join(out), starts, pairs


@dataclass
class SubstitutionExtra:
    """What a substitution record keeps besides the common fields (``tokens_changed``: the words it changed)."""

    substitutions: list[list[str]]  # [original, new] pairs of the attack, in text order
    control_substitutions: list[list[str]]  # the random control's, as many words
    budget: int  # the budget point asked (attacks.substitution_words, or a point of substitution_budgets)
    substitutable_words: int  # words of the source that may change (and that the model sees)
    clipped: bool  # substitutable_words < budget: the budget became substitutable_words
    hidden_words: int  # unprotected words left out because truncation hides them from the model
    candidate_words: int  # replacement words of this record (the vocabulary's whole words minus its protected ones)
    loss_per_step: list[float]  # best NLL after each step (non-decreasing)
    initial_nll: float  # the clean source's NLL


class _Sample:
    """One record's search space: its words, candidates and the text and ids of any state."""

    def __init__(self, objective: Objective, rec: Record, cands: CandidateWords) -> None:
        self.obj, self.rec = objective, rec
        self.prot: Protection = protection(rec.summary, rec.facts)
        allowed = [i for i, w in enumerate(cands.words) if self.prot.allows(w)]
        self.cand_words = [cands.words[i] for i in allowed]
        self.cand_ids = cands.ids[:, allowed]  # (3, C)
        self.cand_index = {w: j for j, w in enumerate(self.cand_words)}
        spans = self.prot.spans(rec.source)
        _, offsets = self._encode(rec.source)
        first = [self._first_token(offsets, a) for a, _ in spans]
        self.spans = [s for s, p in zip(spans, first) if p is not None]
        self.hidden = len(spans) - len(self.spans)
        self.cases = [_case(rec.source[a:b]) for a, b in self.spans]
        self.label = objective.label_ids(rec.summary)

    def _encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        obj = self.obj
        enc = obj.tok(obj.prefix + text, add_special_tokens=False, return_offsets_mapping=True)
        keep = obj.max_source - 1  # as Objective.source_ids truncates
        return enc["input_ids"][:keep], [(a - len(obj.prefix), b - len(obj.prefix)) for a, b in
                                         enc["offset_mapping"][:keep]]

    @staticmethod
    def _first_token(offsets: list[tuple[int, int]], start: int) -> int | None:
        """The index of the token holding the character at ``start``, None if truncation cut it off."""
        for j, (a, b) in enumerate(offsets):
            if b > start:
                return j if a <= start else None
        return None

    def same_candidate(self, i: int) -> int | None:
        """The candidate index of word ``i`` itself (a replacement that would change nothing), if it is one."""
        a, b = self.spans[i]
        return self.cand_index.get(self.rec.source[a:b].lower())

    def other_candidate(self, i: int, u: float) -> int:
        """The candidate at ``u`` in [0, 1) of those that differ from word ``i``: a uniform draw from ``u``."""
        same = self.same_candidate(i)
        c = int(u * (len(self.cand_words) - (same is not None)))
        return c + 1 if same is not None and c >= same else c

    def text(self, state: State) -> tuple[str, list[int], list[list[str]]]:
        return substitute_words(self.rec.source, self.spans, {i: self.cand_words[c] for i, c in state})

    def ids(self, state: State) -> list[int]:
        return self.obj.source_ids(self.text(state)[0])


def _proposals(sample: _Sample, state: State, grad: torch.Tensor, emb: torch.Tensor, n: int,
               cache: dict[State, float], rng: np.random.Generator | None) -> list[State]:
    """The ``n`` best one-more-word states from ``state`` by first-order score, never one scored before.

    ``grad`` (S, d_model) is the NLL's gradient at the state's input embeddings. ``rng`` given:
    the scores are replaced by random ones (the ablation that shows what the ranking adds).
    """
    text, starts, _ = sample.text(state)
    ids, offsets = sample._encode(text)
    done = {i for i, _ in state}
    rows, positions, cur = [], [], []
    for i in range(len(sample.spans)):
        if i in done:
            continue
        p = sample._first_token(offsets, starts[i])
        if p is None:
            continue
        rows.append(i)
        positions.append(p)
        cur.append(ids[p])
    if not rows:
        return []
    g = grad[torch.tensor(positions, device=grad.device)]  # (R, d_model)
    cases = torch.tensor([sample.cases[i] for i in rows], device=grad.device)
    cand = sample.cand_ids.to(grad.device)
    # (e_new - e_old) . g, each word's candidates written in its own case: one (R, C) product per case.
    new = torch.stack([g @ emb[cand[k]].to(g.dtype).T for k in range(3)])  # (3, R, C)
    scores = new[cases, torch.arange(len(rows), device=g.device)]  # (R, C)
    old_emb = emb[torch.tensor(cur, device=emb.device)].to(g.dtype)  # (R, d_model)
    scores = scores - (old_emb * g).sum(-1, keepdim=True)
    if rng is not None:
        scores = torch.as_tensor(rng.standard_normal(scores.shape), dtype=scores.dtype, device=scores.device)
    # Never the word itself (a candidate equal to the word, whatever its case).
    for r, i in enumerate(rows):
        same = sample.same_candidate(i)
        if same is not None:
            scores[r, same] = -math.inf
    order = torch.argsort(scores.flatten(), descending=True, stable=True).tolist()
    out: list[State] = []
    n_cand = scores.shape[1]
    for flat in order:
        r, c = divmod(flat, n_cand)
        if not math.isfinite(float(scores[r, c])):
            break
        new = tuple(sorted(state + ((rows[r], c),)))
        if new in cache:
            continue
        out.append(new)
        if len(out) == n:
            break
    return out


def substitution_search(objective: Objective, rec: Record, args, rng: np.random.Generator, cands: CandidateWords,
                        model_slug: str, budgets: Sequence[int], random_ranking: np.random.Generator | None = None
                        ) -> Search:
    """The control's draws, then the beam search on one record (a generator for the engine); returns one record
    per budget in ``budgets``.

    The curve comes from one search: the search adds one word per step, and its first ``j`` steps do not
    depend on how many steps follow, so the beam's best after step ``j`` *is* the attack at budget ``j``
    (a search run with budget ``j`` alone gives the same record; a test checks it). Each record counts the
    queries spent up to its step. ``random_ranking``: a generator whose random scores replace the
    first-order ones (the ablation).
    """
    sample = _Sample(objective, rec, cands)
    n_words, n_cand = len(sample.spans), len(sample.cand_words)
    top = max(budgets)
    budget = min(top, n_words) if n_cand > 1 else 0
    # Drawn first, from the sample's generator only: the same for every model (see the module docstring).
    # The draws of a smaller budget are a prefix of these (numpy draws them one after another).
    order = [int(i) for i in rng.permutation(n_words)[:budget]]
    picks = [sample.other_candidate(i, u) for i, u in zip(order, rng.random(budget))]
    (original,) = yield Score([objective.source_ids(rec.source)], [sample.label])
    spent = 1
    cache: dict[State, float] = {(): original}
    emb = objective.embedding_matrix()
    beam: list[tuple[float, State]] = [(original, ())]
    losses: list[float] = []
    after: list[tuple[float, State, int]] = [(original, (), spent)]  # (best NLL, its state, queries) per step
    for _ in range(budget):
        growing = [(v, s) for v, s in beam if len(s) < budget]
        if growing:
            nll, grads = yield Grad([sample.ids(s) for _, s in growing], [sample.label] * len(growing))
            spent += len(growing)
            proposals = []
            for b, (_, s) in enumerate(growing):
                proposals += _proposals(sample, s, grads[b], emb, args.substitution_proposals, cache, random_ranking)
            fresh = [p for p in fresh_states(beam, proposals) if p not in cache]
            values = (yield Score([sample.ids(p) for p in fresh], [sample.label] * len(fresh))) if fresh else []
            spent += len(fresh)
            cache.update(zip(fresh, values))
            known = fresh_states(beam, proposals)
            beam, _ = keep_best(beam, [(cache[p], p) for p in known], args.substitution_beam)
        losses.append(beam[0][0])
        after.append((beam[0][0], beam[0][1], spent))
    records = []
    for asked in budgets:
        step = min(asked, budget)
        attacked, best, queries = after[step]
        text, _, pairs = sample.text(best)
        control_state = tuple(sorted(zip(order[:len(best)], picks[:len(best)])))
        control_text, _, control_pairs = sample.text(control_state)
        (control_nll,) = yield Score([objective.source_ids(control_text)], [sample.label])  # not a query
        extra = SubstitutionExtra(
            substitutions=pairs, control_substitutions=control_pairs, budget=asked,
            substitutable_words=n_words, clipped=n_words < asked, hidden_words=sample.hidden,
            candidate_words=n_cand, loss_per_step=losses[:step], initial_nll=original)
        records.append(AttackRecord(
            attack="substitution", model=model_slug, sample_id=rec.id, original_nll=original, attacked_nll=attacked,
            queries=queries, perturbed_text=text, tokens_changed=len(best), budget=asked, control_nll=control_nll,
            control_text=control_text, label_preserved=label_preserved(rec.source, text, rec.facts), extra=extra))
    return records


def search_sample(objective: Objective, rec: Record, args, rng: np.random.Generator, cands: CandidateWords,
                  model_slug: str, random_ranking: np.random.Generator | None = None) -> AttackRecord:
    """The attack on one record at ``attacks.substitution_words``, alone (:func:`substitution_search`)."""
    (record,) = run_one(objective, substitution_search(objective, rec, args, rng, cands, model_slug,
                                                       [args.substitution_words], random_ranking))
    return record


def substitution_searches(objective: Objective, samples: Sequence[Record], args, model_slug: str,
                          budgets: Sequence[int], prepared=None) -> list[Search]:
    """One :func:`substitution_search` per sample, each giving a record at every budget of ``budgets``."""
    cands = candidate_words(objective)
    return [substitution_search(objective, rec, args, sample_rng(args.seed, rec.id), cands, model_slug, budgets)
            for rec in samples]


def substitution_attack(objective: Objective, samples: Sequence[Record], args, model_slug: str, *,
                        progress: bool = True, prepared=None) -> list[AttackRecord]:
    """Up to ``attacks.substitution_words`` words of each source replaced; one record per sample."""
    runs = run_all(objective, substitution_searches(objective, samples, args, model_slug, [args.substitution_words]),
                   progress=progress, desc=f"substitution[{model_slug}]")
    return flat(runs)
