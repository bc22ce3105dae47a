"""The batched attack engine: searches run together give the records they give alone; budget points; a kill.

The engine packs many searches' candidates into shared forwards. That is only
sound if a row's result does not depend on the rows beside it (the objective
pads each row to a bucket of its own lengths), so records must be identical
whether a search runs alone or among others -- the property resume and the
several-process launch rely on.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import time

import pytest

from mono_s2s.attacks.engine import Score, drive, flat, run_all
from mono_s2s.config import AttackArgs

ARGS = AttackArgs(seed=3, hotflip_trigger_len=2, hotflip_iters=2, hotflip_topk=4, hotflip_proposals=3,
                  hotflip_beam=2, hotflip_restarts=1, nes_population=4, nes_generations=2, nes_trigger_len=2,
                  substitution_words=3, substitution_proposals=5, ood_words=3)


def _fields(records):
    return [{k: v for k, v in r.to_dict().items() if k != "seconds"} for r in records]


def test_a_row_scores_the_same_whatever_rows_share_its_forward(objective, samples, tok):
    labels = [objective.label_ids(s.summary) for s in samples]
    sources = [objective.source_ids(s.source) for s in samples]
    alone = [objective.score_rows([s], [t])[0] for s, t in zip(sources, labels)]
    # Other rows, of other lengths, in the same call; and the same row twice.
    together = objective.score_rows(sources + [sources[0][:40]] + sources, labels + [labels[0]] + labels)
    assert together[:3] == alone and together[4:] == alone
    nll, grads = objective.grad_rows(sources, labels)
    for s, t, g, v in zip(sources, labels, grads, nll):
        (v1,), (g1,) = objective.grad_rows([s], [t])
        assert v1 == v and g1.shape == (len(s) + 1, g.shape[1]) and bool((g1 == g).all())


@pytest.mark.parametrize("attack", ["hotflip", "nes", "substitution", "injection", "ood"])
def test_searches_run_together_give_the_records_they_give_alone(objective, samples, attack):
    from mono_s2s.attacks.registry import REGISTRY

    spec = REGISTRY[attack]
    budgets = ARGS.budget_points(attack, spec.budget_setting)[:2]
    q0 = objective.queries
    alone = flat(run_all(objective, spec.searches(objective, samples, ARGS, "nonmono", budgets), concurrency=1))
    q1 = objective.queries
    together = flat(run_all(objective, spec.searches(objective, samples, ARGS, "nonmono", budgets), concurrency=64))
    assert _fields(together) == _fields(alone)
    # The same sequences scored either way; at least the records' queries (the controls are scored, not counted).
    assert objective.queries - q1 == q1 - q0 >= max(r.queries for r in together)
    assert {r.budget for r in together} == set(budgets) and all(r.seconds > 0 for r in together)


def test_the_engine_answers_every_request_of_a_round_in_one_call(objective, samples, monkeypatch):
    calls = []
    real = objective.score_rows
    monkeypatch.setattr(objective, "score_rows", lambda s, t: calls.append(len(s)) or real(s, t))

    def two_asks(n):
        a = yield Score([[5] * n], [[6, 1]])
        b = yield Score([[5] * (n + 1)] * 2, [[6, 1]] * 2)
        return a + b

    out = [v for _, v, _ in drive(objective, [two_asks(n) for n in (3, 4, 5)], concurrency=8)]
    assert calls == [3, 6] and all(len(v) == 3 for v in out)
    calls.clear()
    list(drive(objective, [two_asks(n) for n in (3, 4, 5)], concurrency=1))
    assert calls == [1, 2] * 3


def test_a_curve_from_one_search_equals_each_budget_searched_alone(objective, samples):
    """Substitution and injection make every budget's record from one search: each must be the record a
    run whose headline budget it is would make."""
    from mono_s2s.attacks.injection import injection_attack, injection_searches
    from mono_s2s.attacks.substitution import substitution_attack, substitution_searches

    curve = flat(run_all(objective, substitution_searches(objective, samples, ARGS, "nonmono", [1, 3])))
    for k in (1, 3):
        alone = substitution_attack(objective, samples, dataclasses.replace(ARGS, substitution_words=k), "nonmono",
                                    progress=False)
        assert _fields([r for r in curve if r.budget == k]) == _fields(alone)
    curve = flat(run_all(objective, injection_searches(objective, samples, ARGS, "nonmono", [2, 10])))
    for t in (2, 10):
        alone = injection_attack(objective, samples, dataclasses.replace(ARGS, injection_templates=t), "nonmono",
                                 progress=False)
        assert _fields([r for r in curve if r.budget == t]) == _fields(alone)
        assert all(len(r.extra.nll_per_template) == t and r.queries == 2 * (t + 1) for r in alone)


def test_records_carry_their_budget_and_spend_more_at_larger_ones(objective, samples):
    from mono_s2s.attacks.hotflip import hotflip_searches

    recs = flat(run_all(objective, hotflip_searches(objective, samples, ARGS, "nonmono", [1, 3])))
    assert sorted(r.budget for r in recs) == [1, 1, 1, 3, 3, 3]
    assert all(len(r.extra.trigger_ids) == r.budget and r.tokens_changed <= r.budget for r in recs)


@pytest.mark.slow
def test_an_attack_phase_killed_mid_attack_resumes_to_the_uninterrupted_records(tiny_experiment, tmp_path):
    """A real kill (SIGKILL of `mono-s2s attack` once some records are on disk), then the phase again: every
    record equals the uninterrupted run's, field by field except the wall time."""
    from mono_s2s.attacks.store import RECORDS_FILE

    out = tiny_experiment.copy_to(tmp_path / "out")
    records = out / "results" / RECORDS_FILE
    for name in (RECORDS_FILE, "universal_triggers.json", "adversarial_results.json", "adversarial_run.json"):
        (out / "results" / name).unlink(missing_ok=True)
    sets = [w for w in tiny_experiment.argv[1:]]
    cmd = [sys.executable, "-m", "mono_s2s", "attack", *sets, "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if records.is_file() and len(records.read_text().splitlines()) >= 6:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the phase ended before it could be killed: give it more work"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    cut = len(records.read_text().splitlines())
    assert 0 < cut
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    key = lambda r: (r["attack"], r["model"], r["sample_id"], r["budget"])  # noqa: E731
    strip = lambda r: {k: v for k, v in r.items() if k != "seconds"}  # noqa: E731
    want = {key(r): strip(r) for r in map(json.loads, (tiny_experiment.out / "results" / RECORDS_FILE)
                                          .read_text().splitlines())}
    got = {key(r): strip(r) for r in map(json.loads, records.read_text().splitlines())}
    assert got.keys() == want.keys()
    for k in want:
        assert got[k] == want[k], k
