"""One registry of attacks: name -> how it runs, what it may change, its extras type, its sample set.

Every attack function has one signature::

    run(objective, samples, args, model_slug, *, progress=True, prepared=None) -> list[AttackRecord]

one record per sample at the headline budget, each with its random control at the same budget; and
its module has ``{attack}_searches`` (:attr:`AttackSpec.searches`), the per-sample searches at any
budget points, which the runner hands to the batched engine (:mod:`mono_s2s.attacks.engine`).
``prepared`` is what the attack's optional ``prepare(objective, train_samples,
args, progress)`` returned for this model, computed once per model before the
samples (the universal trigger, learned on validation samples); attacks without
one ignore it. The runner is then one loop over (attack, model, samples).

Specs name their module and functions as strings, imported on first use, so
that :data:`mono_s2s.attacks.ATTACKS` and the analysis of a results file need no torch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from mono_s2s.attacks import ATTACKS

__all__ = ["AttackSpec", "REGISTRY", "OPTIONAL", "spec", "extra_type", "headline_budget"]


@dataclass(frozen=True)
class AttackSpec:
    name: str
    module: str  # mono_s2s.attacks.<module>
    run_name: str  # the attack function (the signature above)
    extra_name: str  # its typed extras (a dataclass in the same module)
    samples: str  # which sample set it uses (mono_s2s.attacks.runner.select_samples)
    threat: str  # what the attacker may change, and the budget
    budget_unit: str  # what a record's ``budget`` counts (the x axis of the attack's curve)
    budget_setting: str  # the AttackArgs field of the headline budget (the analysis's records)
    budgets_setting: str  # the AttackArgs field listing every budget point of the curve
    prepare_name: str | None = None

    @property
    def searches(self) -> Callable:
        """``searches(objective, samples, args, model_slug, budgets, prepared=None) -> [Search]``: the attack's
        per-sample searches at the budget points ``budgets``, for the engine; each returns one record per budget
        it covers (a per-budget search one, a search whose curve comes free all of them)."""
        return self._get(self.run_name.replace("_attack", "_searches"))

    def _get(self, name: str) -> Any:
        return getattr(importlib.import_module(f"mono_s2s.attacks.{self.module}"), name)

    @property
    def run(self) -> Callable:
        return self._get(self.run_name)

    @property
    def prepare(self) -> Callable | None:
        return self._get(self.prepare_name) if self.prepare_name else None

    @property
    def extra(self) -> type:
        return self._get(self.extra_name)


REGISTRY: dict[str, AttackSpec] = {s.name: s for s in (
    AttackSpec("hotflip", "hotflip", "hotflip_attack", "HotFlipExtra", "hotflip",
               "white-box: an appended trigger of attacks.hotflip_trigger_len tokens; the source is untouched",
               "trigger tokens", "hotflip_trigger_len", "hotflip_budgets"),
    AttackSpec("universal", "universal", "universal_attack", "UniversalExtra", "universal",
               "white-box: ONE trigger of attacks.universal_trigger_len tokens for every source, learned on "
               "validation samples, measured on held-out test samples", "trigger tokens", "universal_trigger_len",
               "universal_budgets", prepare_name="learn_universal_trigger"),
    AttackSpec("nes", "nes", "nes_attack", "NesExtra", "nes",
               "black-box (NLL queries only): an appended trigger of attacks.nes_trigger_len tokens, a query budget",
               "trigger tokens", "nes_trigger_len", "nes_budgets"),
    AttackSpec("substitution", "substitution", "substitution_attack", "SubstitutionExtra", "substitution",
               "white-box, in-text: up to attacks.substitution_words words of the source replaced by vocabulary words, "
               "never a reference word, fact, tag or number", "words", "substitution_words", "substitution_budgets"),
    AttackSpec("injection", "injection", "injection_attack", "InjectionExtra", "injection",
               "an instruction appended to the source, asking for a false summary", "templates tried",
               "injection_templates", "injection_budgets"),
    AttackSpec("ood", "ood", "ood_attack", "OodExtra", "ood",
               "words inside the source swapped for rare paraphrases, never a reference word, fact, tag or number",
               "words", "ood_words", "ood_budgets"),
)}
assert tuple(REGISTRY) == ATTACKS, "the registry and mono_s2s.attacks.ATTACKS list the same attacks in one order"

# Attacks with the same signature that the default run does not use (the runner loops over REGISTRY only):
# called from Python, e.g. to compare searches at equal budget. Their records load like the others'.
OPTIONAL: dict[str, AttackSpec] = {s.name: s for s in (
    AttackSpec("genetic", "genetic", "genetic_attack", "GeneticExtra", "nes",
               "black-box (NLL queries only): NES's threat model and budget (attacks.nes_*), searched by a genetic "
               "algorithm (the seed notebook's \"NES\")", "trigger tokens", "nes_trigger_len", "nes_budgets"),
)}
assert not set(OPTIONAL) & set(REGISTRY), "an optional attack is not also a default one"


def headline_budget(attack: str, args: Any) -> int:
    """The budget point of ``attack`` the analysis compares (``args``: AttackArgs, or its dict in a results file)."""
    from mono_s2s.config import AttackArgs

    setting = spec(attack).budget_setting
    if isinstance(args, dict):  # a results file from before a setting existed has its default
        return args.get(setting, getattr(AttackArgs(), setting))
    return getattr(args, setting)


def spec(name: str) -> AttackSpec:
    return REGISTRY[name] if name in REGISTRY else OPTIONAL[name]


def extra_type(attack: str) -> type | None:
    """The extras dataclass of an attack name; transfer records (``hotflip_transfer:a->b``) hold a fixed trigger."""
    if "_transfer:" in attack:
        from mono_s2s.attacks.common import TriggerExtra

        return TriggerExtra
    known = REGISTRY.get(attack) or OPTIONAL.get(attack)
    return known.extra if known is not None else None
