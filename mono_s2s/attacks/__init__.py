"""Adversarial attacks on summarizers: one file per attack, a shared objective and record type.

:data:`ATTACKS` is the attack list every other module (runner, results file,
analysis, wandb keys) iterates over, in this order. It is defined here, with no
import of torch, so that the analysis of a saved results file stays light; the
record type and objective load on first use.
"""

ATTACKS = ("hotflip", "universal", "nes", "substitution", "injection", "ood")
TRANSFER_ATTACKS = ("hotflip", "universal")  # whose triggers are also evaluated on the other models


def transfer_name(attack: str, source: str, target: str) -> str:
    """The attack name of transfer records: ``hotflip_transfer:nonmono->mono`` (found on source, run on target)."""
    return f"{attack}_transfer:{source}->{target}"

_LAZY = ("AttackRecord", "Objective", "candidate_vocabulary", "output_success")


def __getattr__(name: str):
    if name in _LAZY:
        from mono_s2s.attacks import common

        return getattr(common, name)
    raise AttributeError(f"module 'mono_s2s.attacks' has no attribute {name!r}")


__all__ = ["ATTACKS", "TRANSFER_ATTACKS", "transfer_name", *_LAZY]
