"""mono-s2s: does making a seq2seq transformer's FFN sublayers monotone make it more robust to attacks?

Public API for notebooks and outside checks:

* :func:`load_checkpoint` -- ``(model, tokenizer, config)`` from a checkpoint folder.
* :func:`mono_s2s.config.build_config` -- presets, YAML and overrides into one config.
* :func:`mono_s2s.models.build_model` -- a T5 with the ``baseline``, ``softplus_gate``
  or ``monotonic`` FFN.
"""

__version__ = "0.1.0"


def load_checkpoint(path):
    """``(model, tokenizer, config)`` for a saved checkpoint folder; the model is HF's T5 class."""
    from mono_s2s.checkpoint import load_checkpoint as _load

    return _load(path)


__all__ = ["__version__", "load_checkpoint"]
