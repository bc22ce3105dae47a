"""The engine of the synthetic corpus: the dialogue builder, the shared pools, the registry, the assembly.

Scenarios (in :mod:`~mono_s2s.data.synthetic.scenarios`) write into a
:class:`_Dialogue` and register themselves with :func:`scenario`;
:func:`generate_examples` deals them out of a shuffled deck, one
``random.Random(seed)`` driving every draw, and keeps each source unique.
Importing any module of the package first runs the package's ``__init__``,
which imports every scenario module, so the registry is full before anything
is generated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from mono_s2s.data.records import SPLITS, Record
from mono_s2s.errors import UserError

# ---------------------------------------------------------------------------
# Slot pools shared by scenarios of several themes. Pools are large so that a
# model has to read the values out of the dialogue instead of memorising a few
# frequent ones. A pool only one theme uses lives in that theme's module.
# ---------------------------------------------------------------------------

FIRST_NAMES = (
    "Aisha", "Alan", "Alice", "Amir", "Anna", "Ben", "Bianca", "Bruno", "Carlos", "Chloe",
    "Clara", "Daniel", "David", "Diego", "Elena", "Ella", "Emma", "Eva", "Farid", "Fatima",
    "Felix", "Frank", "Gabriel", "George", "Gina", "Hannah", "Helen", "Hiro", "Hugo", "Igor",
    "Irene", "Isabel", "Ivan", "Jack", "Jamal", "Jasmine", "Julia", "Karim", "Kate", "Kevin",
    "Kira", "Laura", "Lena", "Leo", "Liam", "Lucy", "Marco", "Maria", "Mei", "Mona",
    "Nadia", "Nils", "Nina", "Noah", "Olga", "Olivia", "Omar", "Oscar", "Pablo", "Paula",
    "Peter", "Priya", "Rachel", "Rahul", "Rita", "Rosa", "Sam", "Sara", "Simon", "Sofia",
    "Tanya", "Tara", "Theo", "Tom", "Uma", "Umar", "Valentina", "Vera", "Victor", "Vincent",
    "Wei", "Wendy", "Xavier", "Yara", "Yuki", "Yusuf", "Zara", "Zoe", "Adam", "Beatriz",
    "Kofi", "Ingrid", "Matteo", "Leila", "Oliver", "Hana", "Ravi", "Lars", "Elif", "Tomas",
)

SURNAMES = (
    "Adler", "Andersen", "Bennett", "Brown", "Clarke", "Cohen", "Costa", "Dubois", "Ellis",
    "Evans", "Fernandez", "Fischer", "Foster", "Garcia", "Gupta", "Haddad", "Hansen", "Hughes",
    "Ito", "Ivanova", "Jensen", "Johnson", "Jones", "Keller", "Khan", "Kim", "Kowalski",
    "Larsen", "Lindqvist", "Lopez", "Mendes", "Moreau", "Morgan", "Murphy", "Nakamura",
    "Novak", "Nguyen", "O'Brien", "Okafor", "Ortiz", "Park", "Patel", "Petrov", "Quinn",
    "Reyes", "Rossi", "Santos", "Sato", "Schmidt", "Silva", "Smith", "Tanaka", "Torres",
    "Varga", "Vogel", "Walsh", "Wright", "Yilmaz", "Zhang", "Mensah",
)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WORKDAYS = WEEKDAYS[:5]

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
)

CITIES = (
    "Boston", "Lyon", "Porto", "Krakow", "Edinburgh", "Seville", "Vienna", "Oslo", "Dublin",
    "Prague", "Bristol", "Hamburg", "Milan", "Valencia", "Geneva", "Munich", "Copenhagen",
    "Brighton", "Leeds", "Glasgow", "Bologna", "Ghent", "Zurich", "Turin", "Cork", "Bordeaux",
    "Salzburg", "Bergen", "Lisbon", "Madrid", "Athens", "Budapest", "Rotterdam", "Antwerp",
    "Florence", "Marseille", "York", "Cardiff", "Toronto", "Montreal",
)

STREETS = (
    "Maple Street", "Oak Avenue", "Station Road", "Hill Street", "Park Lane", "Church Road",
    "Bridge Street", "King Street", "Elm Road", "Mill Lane", "River Road", "Castle Street",
    "Garden Avenue", "Victoria Road", "North Street", "Harbour Road", "Cedar Lane",
    "High Street", "Queen Street", "Willow Way", "Chestnut Avenue", "Market Street",
    "Forest Road", "Orchard Lane", "Lake Avenue", "Beech Road", "Spring Street",
    "Albert Road", "Pine Street", "Meadow Lane",
)

COLOURS = (
    "red", "blue", "green", "black", "white", "grey", "navy", "yellow", "brown", "beige",
    "purple", "pink", "orange",
)

NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen", "twenty",
)

# Floors of a building (a hotel room, an office with a broken printer).
FLOORS = ("first", "second", "third", "fourth", "fifth")


A, B = "A", "B"  # A is the speaker with the need (customer, caller); B answers it.


# ---------------------------------------------------------------------------
# Small formatting helpers
# ---------------------------------------------------------------------------


def _clock(hour: int, minute: int = 0) -> str:
    """24-hour time -> '7 pm' / '7:30 pm', the one spelling used in sources and summaries."""
    suffix = "am" if hour < 12 else "pm"
    h12 = hour % 12 or 12
    return f"{h12}:{minute:02d} {suffix}" if minute else f"{h12} {suffix}"


def _clocks(rng: random.Random, n: int, first_hour: int, last_hour: int) -> list[str]:
    """n distinct half-hour times between first_hour and last_hour, in chronological order."""
    slots = [(h, m) for h in range(first_hour, last_hour + 1) for m in (0, 30)]
    return [_clock(h, m) for h, m in sorted(rng.sample(slots, n))]


def _ordinal(n: int) -> str:
    if 11 <= n % 100 <= 13:
        return f"{n}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _date(rng: random.Random) -> str:
    return f"the {_ordinal(rng.randint(1, 28))} of {rng.choice(MONTHS)}"


def _money(amount: float) -> str:
    return f"${amount:,.2f}" if amount != int(amount) else f"${int(amount):,}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------
# The dialogue builder every scenario writes into
# ---------------------------------------------------------------------------


class _Dialogue:
    """Collects the turns, the facts the summary states and the values it must not state.

    Roles are A and B; whoever speaks first becomes ``#Person1#``. Letting either
    role open (a receptionist answering the phone, or a customer walking in)
    means a model has to work out who is who instead of assuming the customer
    is always ``#Person1#``.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.turns: list[tuple[str, str]] = []
        self.stated: list[tuple[str, str]] = []
        self.superseded: list[str] = []

    def pick(self, pool):
        return self.rng.choice(pool)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def say(self, role: str, *variants: str) -> None:
        # Strict alternation keeps the transcripts DialogSum-like and catches
        # scenario code that forgot a reply.
        if self.turns and self.turns[-1][0] == role:
            raise AssertionError(f"role {role} speaks twice in a row: {variants[0]!r}")
        self.turns.append((role, self.rng.choice(variants)))

    def tag(self, role: str) -> str:
        return "#Person1#" if self.turns[0][0] == role else "#Person2#"

    @property
    def a(self) -> str:
        return self.tag(A)

    @property
    def b(self) -> str:
        return self.tag(B)

    def facts(self, **kinds) -> None:
        """Declare the slot values the summary states, grouped by kind (name, place, ...)."""
        for kind, values in kinds.items():
            for value in values if isinstance(values, tuple) else (values,):
                self.stated.append((kind, value))

    def drop(self, value: str) -> None:
        """A value that was proposed and then replaced: the summary must not state it."""
        self.superseded.append(value)

    def render(self) -> str:
        return "\n".join(f"{self.tag(role)}: {text}" for role, text in self.turns)



# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

Builder = Callable[[_Dialogue], str]

_REGISTRY: dict[str, tuple[int, Builder]] = {}


def scenario(name: str, position: int) -> Callable[[Builder], Builder]:
    """Register the decorated builder as scenario ``name`` at ``position`` in the deck.

    The position, not the import order, fixes the deck's order, and the deck is
    shuffled with the corpus's one random stream, so that order is part of what
    a seed produces. The scenarios are grouped by theme, which interleaves them
    differently from the one list they came from; their positions are that
    list's order, which keeps the corpus byte-identical. A new scenario takes
    the next free position (and, like any new scenario, changes the corpus).
    """

    def register(builder: Builder) -> Builder:
        taken = {p: n for n, (p, _) in _REGISTRY.items()}
        if name in _REGISTRY or position in taken:
            raise ValueError(f"scenario {name!r} at position {position}: already registered "
                             f"({taken.get(position, name)!r})")
        _REGISTRY[name] = (position, builder)
        return builder

    return register


def registered() -> dict[str, Builder]:
    """The builders by scenario name, in deck order."""
    ordered = sorted(_REGISTRY.items(), key=lambda item: item[1][0])
    positions = [p for _, (p, _) in ordered]
    # A gap means a scenario module was not imported: its scenarios would be
    # missing and every later draw would shift.
    if not ordered or positions != list(range(len(ordered))):
        raise RuntimeError(f"synthetic scenarios: deck positions {positions} are not 0..n-1 "
                           "(is a scenario module not imported?)")
    return {n: builder for n, (_, builder) in ordered}


# Random slot draws can, rarely, reproduce an earlier dialogue word for word;
# redrawing keeps every source unique across all splits (no leakage).
_MAX_REDRAWS = 100


@dataclass(frozen=True)
class Example:
    """A record plus what the generator knows about it, for tests and analysis.

    ``facts`` are the (kind, value) slot values the summary states, kind being one
    of name, place, day, time, number, item (a title, a colour, a product); every
    value occurs in both the source and the summary. ``superseded`` are values that
    were proposed in the dialogue and then replaced (a change of mind); the summary
    must not state them.
    """

    scenario: str
    record: Record
    facts: tuple[tuple[str, str], ...]
    superseded: tuple[str, ...]


def _check_size(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UserError(f"synthetic corpus: {name} must be a non-negative integer, got {value!r}")
    return value


def generate_examples(
    seed: int = 0, n_train: int = 4000, n_validation: int = 500, n_test: int = 500
) -> dict[str, list[Example]]:
    """Like :func:`generate_corpus`, but each record comes with its scenario and facts."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UserError(f"synthetic corpus: seed must be an integer, got {seed!r}")
    sizes = {
        "train": _check_size("n_train", n_train),
        "validation": _check_size("n_validation", n_validation),
        "test": _check_size("n_test", n_test),
    }
    builders = registered()
    rng = random.Random(seed)
    seen: set[str] = set()
    queue: list[str] = []
    corpus: dict[str, list[Example]] = {}
    for split in SPLITS:
        examples = []
        for index in range(sizes[split]):
            # Deal scenarios from shuffled decks so every split gets a near-even mix.
            if not queue:
                queue = list(builders)
                rng.shuffle(queue)
            name = queue.pop()
            for _ in range(_MAX_REDRAWS):
                d = _Dialogue(rng)
                summary = builders[name](d)
                source = d.render()
                if source not in seen:
                    break
            else:  # pragma: no cover - would need an exhausted slot space
                raise RuntimeError(f"scenario {name} keeps producing duplicate dialogues")
            seen.add(source)
            record = Record(id=f"synthetic-{split}-{index:06d}", source=source, summary=summary,
                            facts=tuple(value for _, value in d.stated))
            examples.append(Example(name, record, tuple(d.stated), tuple(d.superseded)))
        corpus[split] = examples
    return corpus


def generate_corpus(
    seed: int = 0, n_train: int = 4000, n_validation: int = 500, n_test: int = 500
) -> dict[str, list[Record]]:
    """The synthetic corpus as ``{"train": [...], "validation": [...], "test": [...]}``.

    Deterministic: the same arguments give byte-identical records; another seed
    gives another corpus. Sources are unique across all three splits.
    """
    examples = generate_examples(seed, n_train, n_validation, n_test)
    return {split: [ex.record for ex in items] for split, items in examples.items()}
