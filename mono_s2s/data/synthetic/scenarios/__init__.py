"""The scenarios of the synthetic corpus, one builder function each, in a module per theme.

Each builder writes its turns into ``d`` (a
:class:`~mono_s2s.data.synthetic.engine._Dialogue`), declares the facts its
summary states, and returns the summary. One summary template per scenario (plus
a sentence per optional event) keeps the mapping learnable. Each is registered
with :func:`~mono_s2s.data.synthetic.engine.scenario` under its name and at its
fixed position in the deck.

Importing this package imports every theme module, which is what fills the
registry; a new theme module must be added to the import below.
"""

from mono_s2s.data.synthetic.scenarios import (  # noqa: F401 - imported to register their scenarios
    food_and_leisure,
    health_and_services,
    home_and_shopping,
    travel,
    work_and_study,
)
