"""Adversarial attacks on summarizers: one file per attack, a shared objective and record type."""

from mono_s2s.attacks.common import AttackRecord, Objective, candidate_vocabulary, is_success

__all__ = ["AttackRecord", "Objective", "candidate_vocabulary", "is_success"]
