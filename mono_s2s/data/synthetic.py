"""An embedded, deterministic, DialogSum-style dialogue-summarization corpus.

What it is for: a controlled, learnable stand-in for DialogSum that needs no
download, so that training, attacks and robustness comparisons can run offline
and in tests on a CPU. Each source is a two-speaker everyday dialogue whose lines
start with ``#Person1#: `` or ``#Person2#: ``; each summary is a short
third-person account that refers to the speakers as ``#Person1#`` and
``#Person2#``, as in DialogSum.

How it is built: every scenario (booking a table, returning a kettle, a flight
delay, ...) draws its facts (names, places, weekdays, clock times, quantities,
prices) from the pools below, speaks them through randomly chosen phrasings and
optional turns (small talk, a clarifying question, a change of mind), and writes
the summary from the *final* facts with one fixed template per scenario. The
summary is therefore a deterministic function of what was said: a small model
can learn it, yet it cannot simply copy one turn, because it paraphrases and
combines facts spoken in several turns, and must pick the value that was agreed
on rather than the one that was first proposed.

What it is not: a benchmark of real summarization quality. The language is
narrow and templated, so scores on it say nothing about how a model does on
real dialogues. Because each scenario has one summary template, ROUGE rewards
recognising the scenario a lot: a summary of the right scenario with the wrong
slot values already scores about 0.69 ROUGE-L on the test split (the first turn
scores about 0.20, the whole dialogue about 0.30), so the differences that
matter lie above that level, in getting the slot values right. All text here
was written for this module; none of it comes from DialogSum or any other
dataset.

Only the standard library is used, and all randomness comes from one
``random.Random(seed)`` (never the global generator, never set or dict order), so
the same seed gives a byte-identical corpus on any machine. Python only promises
that ``random()`` itself stays the same across versions; ``choice``/``sample``
have been stable for years, but a future Python could in principle change them.

API: :func:`generate_corpus` returns the ``Record`` splits; :func:`generate_examples`
returns the same records wrapped in :class:`Example` with the scenario name, the
facts the summary states and the values a change of mind replaced (for tests and
analysis). :data:`SCENARIOS` lists the scenario names.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from mono_s2s.data.records import SPLITS, Record
from mono_s2s.errors import UserError

__all__ = [
    "SCENARIOS",
    "Example",
    "generate_corpus",
    "generate_examples",
    "FIRST_NAMES",
    "SURNAMES",
]

# ---------------------------------------------------------------------------
# Slot pools. Pools are large so that a model has to read the values out of the
# dialogue instead of memorising a few frequent ones.
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

RESTAURANTS = (
    "Luigi's", "The Blue Olive", "Casa Marina", "The Golden Spoon", "Sakura Garden",
    "Le Petit Jardin", "The Copper Kettle", "Bella Notte", "Spice Route", "The Old Mill",
    "Harbour Grill", "Mama Rosa's", "The Green Fig", "Taj Palace", "El Toro",
    "The Red Lantern", "Olive and Thyme", "The Salt House", "Little Lisbon", "Kyoto Kitchen",
    "The Hungry Fox", "Bistro Verde", "The Silver Fork", "Cafe Aurora", "Bangkok Street",
    "The Lemon Tree", "Trattoria Sole", "The Brass Bell", "Marigold", "Pepper and Vine",
)

HOTELS = (
    "Riverside Hotel", "Park View Hotel", "Grand Central Hotel", "Lakeside Hotel",
    "Old Town Hotel", "Harbour Lights Hotel", "Kingsway Hotel", "Meridian Hotel",
    "Palm Court Hotel", "Westgate Hotel", "Silver Birch Hotel", "Crown Hotel", "Atlas Hotel",
    "Northgate Hotel", "Orchid Hotel", "Seabreeze Hotel",
)

CLINICS = (
    "Riverside Medical Centre", "Hillview Surgery", "Oakwood Clinic", "Parkside Health Centre",
    "Elm Tree Surgery", "Central Family Practice", "Meadow Medical Centre", "Bridgeway Clinic",
)

COMPANIES = (
    "Northwind Logistics", "Brightline Media", "Greenleaf Foods", "Bluewave Software",
    "Summit Insurance", "Harbor Point Marketing", "Redstone Engineering", "Clearview Optics",
    "Silverline Travel", "Oakridge Publishing", "Nova Energy", "Pinecrest Bank",
    "Lighthouse Studios", "Maple Leaf Consulting", "Crescent Pharmacy Group", "Urban Nest Design",
)

BOOK_TITLES = (
    "The Silent Harbour", "A Winter in Lisbon", "The Clockmaker's Daughter", "Paper Moons",
    "The Last Lighthouse", "Rivers of Salt", "The Glass Orchard", "Midnight at the Station",
    "The Secret Garden Club", "Letters from Tokyo", "The Forgotten Map", "Under the Olive Tree",
    "A History of Bridges", "The Quiet Neighbour", "Small Kitchen Big Flavours", "The Red Notebook",
)

FILM_TITLES = (
    "Night Train", "The Long Summer", "Ocean Eleven Miles", "Starlight Avenue", "The Iron Gate",
    "Lost in Marrakesh", "Blue Horizon", "The Last Detective", "Paper Planes", "Wild Hearts",
    "The Ninth Floor", "Sunday Morning", "Frozen River", "The Great Escape Room", "Copper Sky",
)

COLOURS = (
    "red", "blue", "green", "black", "white", "grey", "navy", "yellow", "brown", "beige",
    "purple", "pink", "orange",
)

SYMPTOMS = (
    "a bad cough", "a sore throat", "back pain", "a skin rash", "headaches", "an earache",
    "a sprained ankle", "stomach pains", "a high temperature", "trouble sleeping",
)

NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen", "twenty",
)

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
# Scenarios. Each writes its turns into ``d``, declares the facts its summary
# states, and returns the summary. One summary template per scenario (plus a
# sentence per optional event) keeps the mapping learnable.
# ---------------------------------------------------------------------------


def _restaurant_booking(d: _Dialogue) -> str:
    place = d.pick(RESTAURANTS)
    size = d.pick(("two", "three", "four", "five", "six", "eight"))
    day = d.pick(WEEKDAYS)
    change = d.pick((None, None, "full", "mind"))
    proposed, time = _clocks(d.rng, 2, 18, 21)
    # A full restaurant may offer an earlier or a later slot; a guest who changes
    # their mind because someone "finishes work late" only ever moves later.
    if change != "mind" and d.chance(0.5):
        proposed, time = time, proposed
    surname = d.pick(SURNAMES)
    if d.chance(0.5):
        d.say(B, f"Good evening, {place}. How can I help you?",
              f"Thank you for calling {place}. What can I do for you?")
        d.say(A, f"Hello, I'd like to reserve a table for {size} on {day}, please.",
              f"Hi, could I book a table for {size} people this {day}?",
              f"Good evening. Do you have a table for {size} on {day} night?")
    else:
        d.say(A, f"Hello, is this {place}? I'd like to reserve a table for {size} on {day}.",
              f"Hi, I'd like to book a table at {place} for {size} people this {day}.",
              f"Good evening. I'd like a table at {place} for {size} on {day} night.")
    d.say(B, "Certainly. What time would you like to come?",
          f"Let me check {day}. Yes, we still have space. What time were you thinking of?")
    if change is None:
        d.say(A, f"Around {time}, if possible.", f"{time} would be ideal.",
              f"Could we say {time}?")
    elif change == "full":
        d.drop(proposed)
        d.say(A, f"Around {proposed}, if possible.", f"{proposed} would be ideal.")
        d.say(B, f"I'm sorry, {proposed} is fully booked. I could offer you {time} instead.",
              f"We're full at {proposed}, I'm afraid. Would {time} work for you?")
        d.say(A, f"Alright, {time} it is.", f"{time} is fine, thanks.")
    else:
        d.drop(proposed)
        d.say(A, f"{proposed}, please. Oh, wait, my brother finishes work late. "
                 f"Could we make it {time} instead?",
              f"Let's say {proposed}. Actually, no, {time} would be better for us.")
    d.say(B, "No problem. May I have your name, please?",
          "Of course. And what name should I put the booking under?")
    window = d.chance(0.4)
    if window:
        d.say(A, f"It's {surname}. And could we have a table by the window?",
              f"{surname}, please. If possible, we'd love to sit by the window.")
        d.say(B, f"I've made a note of that. See you on {day}!",
              f"Sure, I'll keep a window table for you. See you on {day}.")
    else:
        d.say(A, f"It's {surname}.", f"{surname}, please.", f"Put it under {surname}.")
        d.say(B, f"Thank you, we look forward to seeing you on {day}.",
              f"Lovely. Your table is booked for {day}. See you then.")
    d.facts(place=place, number=size, day=day, time=time, name=surname)
    s = f"{d.a} books a table for {size} at {place} on {day} at {time} under the name {surname}."
    if window:
        s += f" {d.a} would like to sit by the window."
    return s


def _doctor_appointment(d: _Dialogue) -> str:
    clinic = d.pick(CLINICS)
    doctor = "Dr. " + d.pick(SURNAMES)
    first, last = d.pick(FIRST_NAMES), d.pick(SURNAMES)
    symptom = d.pick(SYMPTOMS)
    duration = d.pick(("two days", "three days", "almost a week", "ten days", "two weeks"))
    day = d.pick(WORKDAYS)
    offered, time = _clocks(d.rng, 2, 9, 17)
    later = d.chance(0.35)
    if not later:
        time = offered
    if d.chance(0.5):
        d.say(B, f"Good morning, {clinic}. How can I help?",
              f"{clinic}, reception. What can I do for you?")
    d.say(A, f"Hello, I'd like to make an appointment with {doctor}, please. "
             f"I've had {symptom} for {duration}.",
          f"Hi, I need to see {doctor}. I've been suffering from {symptom} for {duration} now.")
    d.say(B, f"I'm sorry to hear that. {doctor} has a free slot on {day} at {offered}. "
             "Would that suit you?",
          f"Let me have a look. The earliest I can offer with {doctor} is {day} at {offered}.")
    if later:
        d.drop(offered)
        d.say(A, "I'm at work then, I'm afraid. Is there anything later that day?",
              "Hmm, that's difficult for me. Do you have anything a bit later?")
        d.say(B, f"Yes, {time} is also free.", f"{doctor} could also see you at {time}.")
        d.say(A, f"{time} is perfect.", f"Great, I'll take {time}, then.")
    else:
        d.say(A, "Yes, that's fine.", "That works for me, thank you.")
    d.say(B, "Can I have your full name, please?", "And your name, please?")
    d.say(A, f"{first} {last}.", f"It's {first} {last}.")
    new = d.chance(0.4)
    if new:
        d.say(B, f"Thank you, {first}. As this is your first visit, please bring your "
                 "insurance card and arrive ten minutes early.",
              "Thanks. I see you're a new patient, so don't forget your insurance card.")
    else:
        d.say(B, f"Thank you. We'll see you on {day}, then.",
              f"All done. See you on {day}, and get well soon.")
    d.facts(name=doctor, day=day, time=time)
    s = (f"{d.a} has had {symptom} for {duration} and gets an appointment with {doctor} "
         f"on {day} at {time}.")
    if new:
        s += f" {d.b} asks {d.a} to bring an insurance card."
    return s


POSITIONS = (
    "sales assistant", "junior accountant", "web designer", "marketing assistant",
    "office manager", "software tester", "receptionist", "translator", "project coordinator",
    "customer service agent", "graphic designer", "lab technician",
)


def _job_interview(d: _Dialogue) -> str:
    # A is the candidate, B the interviewer.
    first, last = d.pick(FIRST_NAMES), d.pick(SURNAMES)
    company, previous = d.rng.sample(COMPANIES, 2)
    position = d.pick(POSITIONS)
    years = d.pick(NUMBER_WORDS[2:9])
    start = d.pick(("next Monday", "in two weeks", "next month", "immediately", "in a month"))
    answer_day = d.pick(WORKDAYS)
    reason, why = d.pick((
        ("I'd like more responsibility.", "wants more responsibility"),
        ("My company is moving to another city.", "does not want to relocate"),
        ("I want to work closer to home.", "wants a shorter commute"),
        ("There is no chance of promotion there.", "sees no chance of promotion"),
    ))
    if d.chance(0.5):
        d.say(B, f"Good morning, {first}, and welcome to {company}. Did you find us easily?",
              f"Hello, you must be {first} {last}. Thanks for coming in to {company}.")
        d.say(A, "Yes, thank you. It's nice to meet you.",
              "Thank you for inviting me. I'm happy to be here.")
    else:
        d.say(A, f"Good morning. I'm {first} {last}, I'm here for the interview for the "
                 f"{position} position.",
              f"Hello, my name is {first} {last}. I have an interview for the {position} job.")
        d.say(B, f"Welcome to {company}. Please, take a seat. So, why did you apply?",
              f"Nice to meet you, {first}. Welcome to {company}. What brings you to us?")
        d.say(A, f"I've always admired {company}, and I think I'm ready for a new challenge.",
              f"I've heard great things about {company}, and the job sounds perfect for me.")
    d.say(B, f"Tell me about your experience as a {position}.",
          f"Why do you think you'd be a good {position} for {company}?")
    d.say(A, f"I've worked as a {position} at {previous} for {years} years.",
          f"I have {years} years of experience. I currently work at {previous}.")
    d.say(B, "And why do you want to leave?", "What makes you want to change jobs?")
    d.say(A, reason, f"Honestly? {reason}")
    salary = None
    if d.chance(0.4):
        salary = _money(d.rng.randrange(28, 61) * 1000)
        d.say(B, "What salary are you expecting?", "May I ask what salary you have in mind?")
        d.say(A, f"Around {salary} a year.", f"I was hoping for about {salary} a year.")
    d.say(B, "And when could you start?", "If we offered you the job, when could you start?")
    d.say(A, f"I could start {start}.", f"{_cap(start)}, if that suits you.")
    d.say(B, f"Good. We'll let you know our decision by {answer_day}.",
          f"Thank you, {first}. You'll hear from us by {answer_day}.")
    d.facts(place=(company, previous), number=years, day=answer_day)
    s = (f"{d.a} is interviewed for a {position} job at {company}. "
         f"{d.a} has worked at {previous} for {years} years, {why}, and can start {start}.")
    if salary:
        d.facts(number=salary)
        s += f" {d.a} expects {salary} a year."
    s += f" {d.b} will answer by {answer_day}."
    return s


FLOORS = ("first", "second", "third", "fourth", "fifth")


def _hotel_check_in(d: _Dialogue) -> str:
    hotel = d.pick(HOTELS)
    first, last = d.pick(FIRST_NAMES), d.pick(SURNAMES)
    nights = d.pick(NUMBER_WORDS[2:8])
    floor = d.rng.randint(1, 5)
    room = f"{floor}{d.rng.randint(1, 30):02d}"
    breakfast_from, breakfast_to = d.pick((("6:30 am", "10 am"), ("7 am", "10:30 am"),
                                           ("7 am", "11 am"), ("7:30 am", "10 am")))
    welcome = ""
    if d.chance(0.5):
        d.say(B, f"Good afternoon, welcome to the {hotel}. Are you checking in?",
              f"Hello and welcome to the {hotel}. How can I help you?")
    else:
        welcome = f"Welcome to the {hotel}. "
    d.say(A, f"Yes, I have a reservation under the name {last}.",
          f"Hi, I'd like to check in, please. The booking is for {first} {last}.")
    d.say(B, f"{welcome}Let me see... yes, a double room for {nights} nights. "
             "May I see your passport?",
          f"{welcome}Here it is, {nights} nights in a double room. Could I have your ID, please?")
    d.say(A, "Here you are.", "Of course, here it is.")
    d.say(B, f"Thank you. You're in room {room}, on the {FLOORS[floor - 1]} floor. "
             "The lift is just behind you.",
          f"Your room is {room}. It's on the {FLOORS[floor - 1]} floor.")
    d.say(A, "Great. What time is breakfast?", "Thanks. And when is breakfast served?")
    d.say(B, f"Breakfast is from {breakfast_from} to {breakfast_to} in the restaurant.",
          f"Between {breakfast_from} and {breakfast_to}, on the ground floor.")
    late = None
    if d.chance(0.4):
        late = d.pick(("12 pm", "1 pm", "2 pm"))
        d.say(A, "Could I check out a little later on my last day?",
              "One more thing: is a late check-out possible?")
        d.say(B, f"Yes, you can keep the room until {late} at no extra cost.",
              f"No problem, I can give you a late check-out at {late}.")
    d.facts(place=hotel, number=(nights, room), time=(breakfast_from, breakfast_to))
    s = (f"{d.a} checks in at the {hotel} for {nights} nights and gets room {room} on the "
         f"{FLOORS[floor - 1]} floor. {d.b} says breakfast is served from {breakfast_from} "
         f"to {breakfast_to}.")
    if late:
        d.facts(time=late)
        s += f" {d.a} may check out late at {late}."
    return s


AIRLINE_CODES = ("NV", "LX", "QA", "TR", "SK", "BE", "WJ", "AZ")
BAGS = ("suitcase", "backpack", "duffel bag", "travel bag")


def _lost_luggage(d: _Dialogue) -> str:
    flight = f"{d.pick(AIRLINE_CODES)}{d.rng.randint(100, 999)}"
    origin = d.pick(CITIES)
    colour, ribbon = d.rng.sample(COLOURS, 2)
    bag = d.pick(BAGS)
    hotel = d.pick(HOTELS)
    reference = str(d.rng.randint(10000, 99999))
    when = d.pick(("tomorrow morning", "tomorrow afternoon", "within two days",
                   "this evening"))
    if d.chance(0.5):
        d.say(B, "Good evening, baggage services. How can I help?",
              "Hello, lost and found. What seems to be the problem?")
    d.say(A, f"My bag didn't come out on the belt. I was on flight {flight} from {origin}.",
          f"Hi, I've just arrived from {origin} on flight {flight}, and my luggage is missing.")
    d.say(B, "I'm sorry about that. Can you describe the bag?",
          "Let me help you with that. What does it look like?")
    d.say(A, f"It's a {colour} {bag} with a {ribbon} ribbon on the handle.",
          f"A large {colour} {bag}. I tied a {ribbon} ribbon to it.")
    d.say(B, f"Thank you. I've filed a report. Your reference number is {reference}.",
          f"Okay, I've entered it in the system. Please keep this reference: {reference}.")
    d.say(A, "When do you think I'll get it back?", "What happens next?")
    d.say(B, f"Most bags turn up on the next flight. Where should we deliver it?",
          "We'll look for it right away. Where are you staying?")
    d.say(A, f"At the {hotel}.", f"I'm staying at the {hotel} for a few days.")
    d.say(B, f"Then we'll bring it to the {hotel}, hopefully {when}.",
          f"Good. The courier should bring it to your hotel {when}.")
    d.facts(place=(origin, hotel), number=(flight, reference))
    return (f"{d.a}'s {colour} {bag} did not arrive on flight {flight} from {origin}. "
            f"{d.b} files a report with reference number {reference} and will deliver the "
            f"bag to the {hotel} {when}.")


def _train_ticket(d: _Dialogue) -> str:
    city = d.pick(CITIES)
    departure = _clocks(d.rng, 1, 6, 21)[0]
    platform = str(d.rng.randint(1, 14))
    single_price = d.rng.randint(12, 60)
    back_day = d.pick(WEEKDAYS)
    change = d.chance(0.35)
    kind = "return" if change or d.chance(0.4) else "single"
    price = _money(single_price * 2 - 5 if kind == "return" else single_price)
    if d.chance(0.5):
        d.say(B, "Next, please. Where are you travelling to?", "Good morning. Where to?")
    d.say(A, f"I'd like a ticket to {city}, please.", f"One ticket to {city}, please.",
          f"Hi, how much is a ticket to {city}?")
    d.say(B, "Single or return?", "Would you like a single or a return?")
    if change:
        d.drop("single")
        d.say(A, "Just a single, please.", "A single, I think.")
        d.say(B, f"That's {_money(single_price)}.",
              f"A single to {city} is {_money(single_price)}.")
        d.say(A, f"Hmm, actually, I'll be coming back on {back_day}. Make it a return, please.",
              f"Oh, wait. I'm coming back on {back_day}, so a return is probably cheaper.")
        d.say(B, f"Right, a return to {city} is {price}.",
              f"Good idea. A return comes to {price}.")
    elif kind == "return":
        d.say(A, f"Return, please. I'm coming back on {back_day}.",
              f"A return. I'll travel back on {back_day}.")
        d.say(B, f"That will be {price}, please.", f"A return to {city} costs {price}.")
    else:
        d.say(A, "Single, please.", "Just one way, please.")
        d.say(B, f"That will be {price}, please.", f"A single to {city} costs {price}.")
    if not change:  # keeps the longest variant within twelve turns
        d.say(A, "Can I reserve a seat as well?", "Is it possible to get a window seat?")
        d.say(B, f"Yes, you're in coach {d.pick('ABCDEF')}, seat {d.rng.randint(1, 80)}.",
              f"Sure. I've given you seat {d.rng.randint(1, 80)}, by the window.")
    d.say(A, "Here's my card. When is the next train?",
          "Can I pay by card? And when does it leave?")
    d.say(B, f"Thank you. The next train leaves at {departure} from platform {platform}.",
          f"Sure. It departs at {departure}, platform {platform}.")
    route = d.pick((None, "direct", "change"))
    via = d.pick([c for c in CITIES if c != city])
    if route:
        d.say(A, "Is it a direct train?", "Do I have to change anywhere?")
        if route == "direct":
            d.say(B, "Yes, it goes straight there.", "No, no changes. It's a direct train.")
        else:
            d.say(B, f"No, you'll need to change trains at {via}.",
                  f"Yes, you change at {via}. It's well signposted.")
    d.say(A, "Thank you very much.", "Great, thanks for your help.")
    d.facts(place=city, number=(price, platform), time=departure)
    s = (f"{d.a} buys a {kind} ticket to {city} for {price}. The train leaves at {departure} "
         f"from platform {platform}.")
    if route == "direct":
        s += " It is a direct train."
    elif route == "change":
        d.facts(place=via)
        s += f" {d.a} has to change trains at {via}."
    if kind == "return":
        d.facts(day=back_day)
        s += f" {d.a} will come back on {back_day}."
    return s


PRODUCTS = (
    ("kettle", "it stopped working after two days", "it stopped working"),
    ("toaster", "it burns everything, even on the lowest setting", "it burns the bread"),
    ("pair of headphones", "the left side doesn't make any sound", "one side has no sound"),
    ("lamp", "the switch is broken", "the switch is broken"),
    ("blender", "the lid cracked the first time I used it", "the lid is cracked"),
    ("coffee machine", "it leaks water all over the counter", "it leaks water"),
    ("hair dryer", "it gets far too hot and smells of burning", "it overheats"),
    ("jacket", "the zip broke on the first day", "the zip is broken"),
)


def _return_product(d: _Dialogue) -> str:
    item, complaint, problem = d.pick(PRODUCTS)
    day = d.pick(WEEKDAYS)
    price = _money(d.rng.randint(15, 120))
    receipt = d.chance(0.55)
    if d.chance(0.5):
        d.say(B, "Hi there, how can I help you today?", "Good afternoon. Can I help you?")
    d.say(A, f"Hello, I'd like to return this {item}. I bought it here on {day}.",
          f"Hi, I bought this {item} last {day} and I want to bring it back.")
    d.say(B, "I see. What's wrong with it?", "Oh dear. What seems to be the problem?")
    d.say(A, f"{_cap(complaint)}.", f"Well, {complaint}.")
    d.say(B, "I'm sorry about that. Do you have the receipt?",
          "That shouldn't happen. Have you got your receipt with you?")
    if receipt:
        d.say(A, f"Yes, here it is. I paid {price}.", f"Yes, here. It was {price}.")
        d.say(B, f"Thank you. I'll give you a full refund of {price} to your card.",
              f"Fine. You'll get all {price} back on your card.")
        d.say(A, "Thank you, that's very kind.", "Great, thanks for sorting it out.")
        outcome = f"{d.b} gives {d.a} a full refund of {price}."
        d.facts(number=price)
    else:
        d.say(A, "I'm afraid I lost it. Can you still do something?",
              "No, I think I threw it away. Is that a problem?")
        d.say(B, "Without a receipt I can't refund you, but I can exchange it for a new one.",
              "I can't give you your money back without it, but you can swap it for a new one.")
        d.say(A, "Okay, a new one is fine.", "Alright, I'll take a replacement, then.")
        outcome = f"Without a receipt, {d.b} can only exchange it, so {d.a} takes a new one."
    d.facts(day=day, item=item)
    return f"{d.a} returns a {item} bought on {day} because {problem}. {outcome}"


DESTINATIONS = (
    "the City Museum", "the train station", "the post office", "the Central Library",
    "the town hall", "the Royal Theatre", "the university", "St. Mary's Hospital",
    "the Botanical Garden", "the bus station", "the Science Museum", "the old cathedral",
)
LANDMARKS = ("traffic lights", "church", "bakery", "roundabout", "petrol station",
             "supermarket", "fountain", "bank")


def _asking_directions(d: _Dialogue) -> str:
    target = d.pick(DESTINATIONS)
    street = d.pick(STREETS)
    landmark = d.pick(LANDMARKS)
    turn = d.pick(("left", "right"))
    side = d.pick(("left", "right"))
    minutes = d.pick(("five", "ten", "fifteen", "twenty"))
    d.say(A, f"Excuse me, could you tell me how to get to {target}?",
          f"Sorry to bother you. I'm looking for {target}. Is it far?",
          f"Hi, excuse me. Do you know the way to {target}?")
    d.say(B, f"Sure. First go straight down {street} until you reach the {landmark}.",
          f"Of course. Follow {street} as far as the {landmark}.")
    d.say(A, "And then?", f"The {landmark}, okay. What then?")
    d.say(B, f"Then turn {turn} there. You'll see it on your {side}.",
          f"At the {landmark}, turn {turn}, and it's on the {side}-hand side.")
    d.say(A, "How long does it take on foot?", "Is it far to walk?")
    d.say(B, f"About {minutes} minutes.", f"Not really, it's a {minutes}-minute walk.")
    bus = None
    if d.chance(0.4):
        bus = str(d.rng.randint(2, 99))
        d.say(A, "Is there a bus as well? My feet are killing me.",
              "I'm carrying quite a lot. Is there a bus?")
        d.say(B, f"Yes, the number {bus} stops right outside.",
              f"You can take the {bus}. The stop is just over there.")
    d.say(A, "Thanks a lot!", "Thank you so much.")
    d.facts(place=(target, street), number=minutes)
    s = (f"{d.a} asks {d.b} the way to {target}. {d.b} says to follow {street} to the "
         f"{landmark}, turn {turn} and walk for about {minutes} minutes.")
    if bus:
        d.facts(number=bus)
        s += f" {d.a} could also take bus number {bus}."
    return s


def _renting_apartment(d: _Dialogue) -> str:
    street = d.pick(STREETS)
    bedrooms = d.pick(("one", "two", "three"))
    rent = _money(d.rng.randrange(700, 2400, 50))
    day = d.pick(WEEKDAYS)
    time = _clocks(d.rng, 1, 10, 19)[0]
    pets = d.pick(("allowed", "not allowed", None))
    month = d.pick(MONTHS)
    d.say(A, f"Hello, I'm calling about the {bedrooms}-bedroom apartment on {street}. "
             "Is it still available?",
          f"Hi, I saw your advert for the {bedrooms}-bedroom flat on {street}. Is it still free?")
    d.say(B, f"Yes, it is. It's available from the start of {month}.",
          f"It is. You could move in from {month}.")
    d.say(A, "How much is the rent?", "Great. What's the monthly rent?")
    d.say(B, f"It's {rent} a month, plus bills.", f"{rent} per month, bills not included.")
    if pets:
        d.say(A, "Are pets allowed? I have a cat.", "I have a small dog. Would that be a problem?")
        d.say(B, "That's fine, pets are allowed." if pets == "allowed"
              else "I'm sorry, the owner doesn't allow pets.")
    d.say(A, "Could I come and see it?", "When could I have a look at it?")
    d.say(B, f"How about {day} at {time}?", f"I can show it to you on {day} at {time}.")
    d.say(A, "That suits me fine. See you then.", f"{day} at {time} is good. Thank you!")
    d.facts(place=street, number=(bedrooms, rent), day=day, time=time)
    s = (f"{d.a} asks about the {bedrooms}-bedroom apartment on {street}, which costs {rent} "
         f"a month and is free from {month}. They arrange a viewing on {day} at {time}.")
    if pets:
        s += f" {d.b} says pets are {pets}."
    return s


def _birthday_party(d: _Dialogue) -> str:
    b_name, friend = d.rng.sample(FIRST_NAMES, 2)
    age = d.pick(("18", "21", "25", "30", "40", "50"))
    venue = d.pick(RESTAURANTS + ("the park", "my flat", "the community hall"))
    day = d.pick(("Friday", "Saturday", "Sunday"))
    time = _clocks(d.rng, 1, 12, 20)[0]
    guests = d.pick(("ten", "fifteen", "twenty"))
    d.say(A, f"{b_name}, did you know {friend} turns {age} next week?",
          f"Hey {b_name}, it's {friend}'s {age}th birthday soon. We should do something.")
    d.say(B, "Really? Let's throw a surprise party!",
          "We should organise a surprise party for them.")
    d.say(A, f"Good idea. What about {day}? Everyone is free then.",
          f"Yes! How about this {day}?")
    d.say(B, f"{day} works. Where should we have it?", f"Fine by me. And where?")
    d.say(A, f"What about {venue}? It's big enough.", f"I think {venue} would be perfect.")
    d.say(B, f"Agreed. Let's start at {time}.", f"Okay. Shall we say {time}?")
    d.say(A, f"Sure. I'll order a cake.", f"{time} is good. I'll take care of the cake.")
    d.say(B, f"And I'll invite people. About {guests} friends, maybe?",
          f"Then I'll send the invitations. I think {guests} guests is enough.")
    if d.chance(0.5):
        d.say(A, f"Perfect. Just don't tell {friend}!",
              f"Great. Remember, {friend} mustn't find out.")
    where = venue.replace("my flat", f"{d.a}'s flat")
    d.facts(name=friend, number=(age, guests), day=day, time=time)
    return (f"{d.a} and {d.b} plan a surprise party for {friend}'s {age}th birthday at "
            f"{where} on {day} at {time}. {d.a} will order the cake and {d.b} will invite "
            f"about {guests} guests.")


CAR_PROBLEMS = (
    ("the brakes squeal every time I stop", "the brakes squeal", "the brake pads are worn out"),
    ("the engine won't start on cold mornings", "the engine will not start",
     "the battery is almost dead"),
    ("there's a strange rattling noise under the car", "there is a rattling noise",
     "the exhaust pipe is loose"),
    ("the air conditioning only blows warm air", "the air conditioning does not cool",
     "the system needs new gas"),
    ("a warning light keeps coming on", "a warning light keeps coming on",
     "a sensor is faulty"),
    ("the car pulls to the left when I drive", "the car pulls to the left",
     "the wheels need aligning"),
)


def _car_repair(d: _Dialogue) -> str:
    complaint, problem, cause = d.pick(CAR_PROBLEMS)
    mechanic = d.pick(FIRST_NAMES)
    cost = _money(d.rng.randrange(60, 900, 10))
    day = d.pick(WORKDAYS)
    time = _clocks(d.rng, 1, 11, 17)[0]
    d.say(A, f"Hi, I'm having trouble with my car. {_cap(complaint)}.",
          f"Good morning. Could you take a look at my car? {_cap(complaint)}.")
    d.say(B, f"Sure, I'm {mechanic}. Let me have a look.",
          f"Of course. My name's {mechanic}, I'll check it for you.")
    d.say(A, "Thanks. Is it anything serious?", "Okay. I hope it's nothing serious.")
    d.say(B, f"Not too bad. It looks like {cause}.", f"I've found the problem: {cause}.")
    d.say(A, "How much will it cost to fix?", "Can you fix it? What will it cost?")
    d.say(B, f"About {cost}, parts and labour included.",
          f"It'll come to around {cost} with parts.")
    d.say(A, "And when can I pick it up?", f"Alright, {cost} is fine. When will it be ready?")
    d.say(B, f"It'll be ready on {day} by {time}.", f"You can collect it on {day} after {time}.")
    courtesy = d.chance(0.35)
    if courtesy:
        d.say(A, "I need a car for work until then. Do you have anything I could use?",
              "Is there a replacement car I could borrow in the meantime?")
        d.say(B, "Yes, you can take our courtesy car for free.",
              "Sure, we have a courtesy car you can use at no charge.")
    d.facts(name=mechanic, number=cost, day=day, time=time)
    s = (f"{d.a} brings a car to {d.b}, {mechanic}, because {problem}. {d.b} finds that "
         f"{cause}; the repair costs {cost} and will be ready on {day} by {time}.")
    if courtesy:
        s += f" {d.a} can use a courtesy car meanwhile."
    return s


BANKS = ("Pinecrest Bank", "Harbour Savings", "City Union Bank", "Greenfield Bank",
         "Northern Trust Bank", "Unity Credit Union")


def _bank_account(d: _Dialogue) -> str:
    bank = d.pick(BANKS)
    kind = d.pick(("savings account", "current account", "student account", "joint account"))
    deposit = _money(d.rng.randrange(50, 2001, 50))
    card_days = d.pick(("three", "five", "seven", "ten"))
    first, last = d.pick(FIRST_NAMES), d.pick(SURNAMES)
    welcome = ""
    if d.chance(0.5):
        d.say(B, f"Welcome to {bank}. What can I do for you today?",
              f"Good morning, {bank}. How may I help?")
    else:
        welcome = f"Welcome to {bank}! "
    d.say(A, f"Hello, I'd like to open a {kind}.", f"Hi, I want to open a {kind} with you.")
    d.say(B, f"{welcome}Certainly. Have you brought some identification and proof of address?",
          f"{welcome}I'll need your passport and a recent bill with your address.")
    d.say(A, f"Yes, here's my passport and an electricity bill. My name is {first} {last}.",
          f"I have both here. The passport is in the name of {first} {last}.")
    d.say(B, "Thank you. How much would you like to pay in to start with?",
          "Perfect. Would you like to make a first deposit?")
    d.say(A, f"{deposit}, please.", f"Yes, I'd like to deposit {deposit} today.")
    online = d.chance(0.5)
    if online:
        d.say(B, "Done. Would you also like online banking?",
              "All set. Shall I activate online banking too?")
        d.say(A, "Yes, please.", "Yes, that would be useful.")
    d.say(B, f"Your account is open. The card will arrive by post in {card_days} working days.",
          f"Everything is ready. You'll get your bank card within {card_days} working days.")
    d.say(A, "Wonderful, thank you.", "Thanks for your help.")
    d.facts(place=bank, number=(deposit, card_days))
    s = (f"{d.a} opens a {kind} at {bank} with a deposit of {deposit} after showing a passport "
         f"and a bill. The card will arrive in {card_days} working days.")
    if online:
        s += f" {d.b} also activates online banking."
    return s


def _library(d: _Dialogue) -> str:
    title, other = d.rng.sample(BOOK_TITLES, 2)
    weeks = d.pick(("two", "three", "four"))
    due = _date(d.rng)
    fee = d.pick(("10", "20", "25", "50"))
    d.say(A, f"Hi, I'd like to borrow {title}. Do you have it?",
          f"Excuse me, is {title} available at the moment?")
    d.say(B, "Let me check. Yes, there's one copy left. Do you have your library card?",
          "One moment. Yes, it's on the shelf. May I see your card?")
    d.say(A, "Here it is.", "Sure, here you are.")
    d.say(B, f"Thank you. You can keep it for {weeks} weeks, so it's due back on {due}.",
          f"It's a {weeks}-week loan. Please return it by {due}.")
    d.say(A, "What happens if I'm late?", "And if I bring it back late?")
    d.say(B, f"There's a fine of {fee} cents a day, but you can renew it online.",
          f"It costs {fee} cents for every day it's overdue. You can also renew it on our website.")
    reserved = d.chance(0.4)
    if reserved:
        d.say(A, f"Good to know. Could I also reserve {other}? Someone has it at the moment.",
              f"Okay. Oh, and could you put {other} on hold for me?")
        d.say(B, "Sure, I'll email you when it comes back.",
              "Done. We'll let you know when it's returned.")
    else:
        d.say(A, "Good to know. Thank you!", "Fine, I'll remember that. Thanks.")
    d.facts(item=title, number=fee)
    s = (f"{d.a} borrows {title} from the library. {d.b} says it must be back by {due} "
         f"and the late fee is {fee} cents a day.")
    if reserved:
        d.facts(item=other)
        s += f" {d.a} also reserves {other}."
    return s


GYMS = ("FitZone", "Iron Temple Gym", "Pulse Fitness", "The Body Lab", "Peak Performance Gym",
        "Green Park Leisure Centre")
CLASSES = ("yoga", "spinning", "pilates", "boxing", "Zumba", "swimming")


def _gym_membership(d: _Dialogue) -> str:
    gym = d.pick(GYMS)
    monthly = d.rng.randint(25, 60)
    yearly = monthly * 10
    cls = d.pick(CLASSES)
    day1, day2 = sorted(d.rng.sample(range(5), 2))
    day1, day2 = WORKDAYS[day1], WORKDAYS[day2]
    time = _clocks(d.rng, 1, 17, 20)[0]
    change = d.chance(0.35)
    plan = "annual" if change or d.chance(0.3) else "monthly"
    price = _money(yearly if plan == "annual" else monthly)
    d.say(A, f"Hi, I'm thinking of joining {gym}. What kinds of membership do you have?",
          f"Hello, how much does it cost to become a member of {gym}?")
    d.say(B, f"We have a monthly plan for {_money(monthly)}, or an annual plan for "
             f"{_money(yearly)}, which saves you two months.",
          f"It's {_money(monthly)} a month, or {_money(yearly)} if you pay for the whole year.")
    if change:
        d.drop("monthly")
        d.say(A, "I'll start with the monthly one, I think.", "The monthly plan sounds fine.")
        d.say(B, "Sure. Just so you know, the annual plan is cheaper if you come regularly.",
              "Okay. Are you sure? The annual plan works out much cheaper.")
        d.say(A, "You're right, I'll take the annual plan then.",
              "Hmm, good point. Let's do the annual one.")
    else:
        d.say(A, f"I'll take the {plan} plan, please.", f"The {plan} plan, please.")
    d.say(B, "Great. Are you interested in any classes?", "Perfect. Do you like group classes?")
    d.say(A, f"Yes, do you have {cls}?", f"I'd love to try {cls}.")
    d.say(B, f"Great. There's {cls} on {day1} and {day2} at {time}.",
          f"{_cap(cls)} classes are on {day1} and {day2} evenings at {time}.")
    d.say(A, "Perfect, sign me up.", "Great, I'll be there.")
    d.facts(place=gym, number=price, day=(day1, day2), time=time)
    return (f"{d.a} joins {gym} on the {plan} plan for {price}. {d.b} tells {d.a} about the "
            f"{cls} classes on {day1} and {day2} at {time}.")


OUTDOOR = ("a picnic in the park", "a bike ride along the river", "a day at the beach",
           "a hike in the hills", "a barbecue in the garden")
INDOOR = ("the cinema", "the Science Museum", "the bowling alley", "the art gallery",
          "the indoor pool")


def _weather_plans(d: _Dialogue) -> str:
    b_name, friend = d.rng.sample(FIRST_NAMES, 2)
    day = d.pick(("Saturday", "Sunday"))
    outdoor = d.pick(OUTDOOR)
    indoor = d.pick(INDOOR)
    rain = d.chance(0.5)
    time = _clocks(d.rng, 1, 10, 15)[0]
    d.say(A, f"Hi {b_name}! Isn't it cold today?", f"Morning, {b_name}. What strange weather!",
          f"Hey {b_name}, have you seen how cloudy it is?")
    d.say(B, "I know. I hope it gets better for the weekend.",
          "Yes, it's been like this all week.")
    if rain:
        d.say(A, f"I checked the forecast. It's going to rain all day on {day}.",
              f"Bad news, the forecast says heavy rain on {day}.")
        d.say(B, f"Oh no, we planned {outdoor}!", f"Really? But we wanted to go for {outdoor}.")
        d.say(A, f"We could go to {indoor} instead. {friend} wants to come too.",
              f"Why don't we try {indoor}? I'm sure {friend} would join us.")
        d.say(B, f"Good idea. Let's meet at {time}.", f"Fine, {indoor} it is. Meet at {time}?")
        d.say(A, f"{time} is good. I'll tell {friend}.", f"Sure. I'll let {friend} know.")
        plan = (f"Because rain is forecast for {day}, they swap {outdoor} for a visit to {indoor} "
                f"and will meet with {friend} at {time}.")
    else:
        d.say(A, f"Good news, the forecast says it will be sunny on {day}.",
              f"Don't worry, {day} is supposed to be warm and sunny.")
        d.say(B, f"Great, then we can still do {outdoor}.",
              f"Perfect! So {outdoor} is still on?")
        d.say(A, f"Definitely. {friend} wants to come too.",
              f"Of course. I've invited {friend}, too.")
        d.say(B, f"Lovely. Let's meet at {time}.",
              f"The more the merrier. Shall we meet at {time}?")
        d.say(A, f"{time} it is. I'll tell {friend}.", f"{time} is fine. See you then.")
        plan = (f"Since {day} should be sunny, they keep their plan for {outdoor} and will "
                f"meet with {friend} at {time}.")
    d.facts(name=friend, day=day, time=time)
    return f"{d.a} and {d.b} talk about the weather. {plan}"


MEDICINES = (
    ("cough syrup", "a cough"), ("antihistamine tablets", "hay fever"),
    ("ibuprofen", "a headache"), ("throat lozenges", "a sore throat"),
    ("antacid tablets", "heartburn"), ("eye drops", "itchy eyes"),
)


def _pharmacy(d: _Dialogue) -> str:
    medicine, complaint = d.pick(MEDICINES)
    times = d.pick(("twice", "three times"))
    days = d.pick(("three", "five", "seven"))
    price = _money(d.rng.randint(4, 25) + d.pick((0, 0.5, 0.99)))
    food = d.chance(0.5)
    if d.chance(0.5):
        d.say(B, "Hello, can I help you?", "Good afternoon, what can I get you?")
    d.say(A, f"Hi, I've got {complaint}. Can you recommend something?",
          f"Hello. I've had {complaint} since yesterday. What should I take?")
    d.say(B, "Is it for you or for someone else?", "I can help with that. Is it for you?")
    d.say(A, "It's for me.", "Yes, for me.")
    d.say(B, "Are you taking any other medicine at the moment?",
          "Do you have any allergies or take any other medication?")
    d.say(A, "No, nothing.", "No, I don't.")
    d.say(B, f"Then I'd suggest this {medicine}. Take it {times} a day for {days} days.",
          f"These {medicine} should help. Use them {times} a day, for {days} days.")
    if food:
        d.say(A, "Should I take it with food?", "Before or after meals?")
        d.say(B, "After a meal, always.", "After meals, please, never on an empty stomach.")
    d.say(A, "How much is it?", "Okay. What do I owe you?")
    d.say(B, f"That's {price}.", f"It's {price}, please.")
    d.say(A, "Here you are. Thanks for your help.", "Thank you.")
    d.facts(number=(times, days, price))
    how = " after meals" if food else ""
    return (f"{d.a} has {complaint} and {d.b} recommends {medicine}, to be taken {times} a "
            f"day{how} for {days} days. It costs {price}.")


PARCEL_CONTENTS = ("books", "clothes", "birthday presents", "documents", "toys",
                   "photo albums", "kitchen things")


def _post_office(d: _Dialogue) -> str:
    city = d.pick(CITIES)
    contents = d.pick(PARCEL_CONTENTS)
    weight = d.pick(("1", "1.5", "2", "2.5", "3", "4", "5"))
    standard_days, express_days = d.pick((("five", "two"), ("seven", "three"), ("six", "two")))
    standard = d.rng.randint(8, 20)
    express = standard + d.rng.randint(6, 15)
    change = d.chance(0.35)
    service = "express" if change or d.chance(0.4) else "standard"
    price = _money(express if service == "express" else standard)
    arrival = express_days if service == "express" else standard_days
    if d.chance(0.5):
        d.say(B, "Next customer, please!", "Hello, what can I do for you?")
    d.say(A, f"Hi, I'd like to send this parcel to {city}.",
          f"Good morning. How much is it to send this parcel to {city}?")
    d.say(B, "Let me weigh it. What's inside?",
          "Could you put it on the scale? What does it contain?")
    d.say(A, f"Just {contents}.", f"Only {contents}, nothing fragile.")
    d.say(B, f"It's {weight} kilos. Standard delivery is {_money(standard)} and takes "
             f"{standard_days} days. Express is {_money(express)} and takes {express_days} days.",
          f"{weight} kilograms. You can send it standard for {_money(standard)}, about "
          f"{standard_days} days, or express for {_money(express)}, about {express_days} days.")
    if change:
        d.drop("standard")
        d.say(A, "Standard is fine.", "I'll go with standard.")
        d.say(B, "Alright. Is it for a special date?",
              "Okay. Does it need to arrive by a certain day?")
        d.say(A, "Oh, actually, yes, it's for a birthday. Better send it express.",
              "Now that you mention it, it should arrive soon. Let's make it express.")
    else:
        d.say(A, f"{_cap(service)}, please.", f"I'll send it {service}.")
    d.say(B, f"That's {price}, then.", f"Okay, {service}. That comes to {price}.")
    d.say(A, "Here you are.", "Can I pay by card?")
    d.say(B, "Thank you. Here's your receipt with the tracking number.",
          "Sure. Keep this receipt, it has your tracking number.")
    d.facts(place=city, number=(weight, price, arrival))
    return (f"{d.a} sends a {weight} kg parcel of {contents} to {city} by {service} "
            f"delivery for {price}. {d.b} says it will take about {arrival} days.")


TAXI_DESTINATIONS = ("the airport", "the central station", "the ferry terminal",
                     "the convention centre", "the city hospital")


def _taxi(d: _Dialogue) -> str:
    number = str(d.rng.randint(2, 180))
    street = d.pick(STREETS)
    destination = d.pick(TAXI_DESTINATIONS)
    time = _clocks(d.rng, 1, 5, 22)[0]
    passengers = d.pick(("one", "two", "three", "four"))
    fare = _money(d.rng.randint(15, 70))
    driver = d.pick(FIRST_NAMES)
    colour = d.pick(COLOURS)
    if d.chance(0.5):
        d.say(B, "City Cabs, good morning.", "Hello, Star Taxis. Where would you like to go?")
    d.say(A, f"Hi, I need a taxi to {destination} at {time}, please.",
          f"Hello, could I book a cab to {destination} for {time}?")
    d.say(B, "Sure. What's the pick-up address?", "No problem. Where shall we pick you up?")
    d.say(A, f"{number} {street}.", f"It's {number} {street}.")
    d.say(B, "How many passengers?", "And how many people are travelling?")
    d.say(A, f"{_cap(passengers)}, with two suitcases.",
          f"We're {passengers}. We have some luggage too.")
    d.say(B, f"Okay. It should cost around {fare}.", f"Fine. The fare will be about {fare}.")
    d.say(A, "How will I recognise the car?", "Great. What car should I look out for?")
    d.say(B, f"Your driver is {driver}, in a {colour} car. He'll call when he arrives.",
          f"A {colour} car. The driver's name is {driver}.")
    d.facts(place=(street, destination), number=(number, fare), time=time, name=driver)
    return (f"{d.a} books a taxi from {number} {street} to {destination} at {time} for "
            f"{passengers}. {d.b} says the fare is about {fare} and the driver, {driver}, will "
            f"come in a {colour} car.")


SALONS = ("Cut Above", "Studio Nine", "The Hair Lounge", "Scissors and Co", "Mane Street Salon",
          "Urban Style")
SERVICES = ("a haircut", "a trim", "highlights", "a wash and blow-dry", "a new colour")


def _haircut(d: _Dialogue) -> str:
    salon = d.pick(SALONS)
    wanted, stylist = d.rng.sample(FIRST_NAMES, 2)
    service = d.pick(SERVICES)
    day = d.pick(WEEKDAYS[1:])
    time = _clocks(d.rng, 1, 9, 17)[0]
    price = _money(d.rng.randrange(20, 121, 5))
    busy = d.chance(0.4)
    if not busy:
        stylist = wanted
    hello = "Hi, "
    if d.chance(0.5):
        d.say(B, f"{salon}, hello!", f"Good morning, {salon}. How can I help?")
    else:
        hello = f"Hi, is that {salon}? "
    d.say(A, f"{hello}I'd like to book {service} with {wanted}, please.",
          f"{hello}Can I get an appointment for {service}? Ideally with {wanted}.")
    if busy:
        d.drop(wanted)
        d.say(B, f"I'm sorry, {wanted} is on holiday this week. {stylist} is free, though.",
              f"{wanted} is fully booked, I'm afraid. Would {stylist} be okay?")
        d.say(A, f"Sure, {stylist} is fine.", f"Okay, I'll try {stylist}.")
    else:
        d.say(B, f"Of course. {wanted} has some time this week.", f"Sure, {wanted} is available.")
        d.say(A, "Great.", "Lovely.")
    d.say(B, f"How about {day} at {time}?", f"Would {day} at {time} suit you?")
    d.say(A, f"{day} at {time} is perfect. How much will it be?",
          "That works. What does it cost?")
    d.say(B, f"It's {price}. Can I take your name?",
          f"That will be {price}. And your name, please?")
    client = d.pick(FIRST_NAMES)
    d.say(A, f"It's {client}. Thanks!", f"{client} {d.pick(SURNAMES)}. See you then.")
    d.say(B, f"Thank you, {client}. See you on {day}!", "You're welcome. Bye!")
    d.facts(place=salon, name=stylist, day=day, time=time, number=price)
    return (f"{d.a} books {service} with {stylist} at {salon} on {day} at {time}. "
            f"It costs {price}.")


SUBJECTS = ("maths", "English", "history", "science", "French", "geography", "music", "art")
WEAKNESSES = (
    ("hasn't handed in any homework for two weeks", "has not handed in {weak} homework"),
    ("seems very tired in class", "seems tired in {weak} lessons"),
    ("talks a lot during lessons", "talks too much in {weak} lessons"),
    ("struggled in the last test", "did badly in the last {weak} test"),
)
PLANS = (
    ("read with her for twenty minutes every evening", "extra reading at home"),
    ("check the homework diary every Friday", "weekly homework checks"),
    ("send a short report home each week", "a weekly progress report"),
)


def _parent_teacher(d: _Dialogue) -> str:
    child = d.pick(FIRST_NAMES)
    teacher = f"{d.pick(('Mr.', 'Ms.'))} {d.pick(SURNAMES)}"
    good, weak = d.rng.sample(SUBJECTS, 2)
    issue, issue_summary = d.pick(WEAKNESSES)
    plan, plan_summary = d.pick(PLANS)
    date = _date(d.rng)
    plan = plan.replace("with her", f"with {child}")
    d.say(A, f"Good afternoon, {teacher}. I'm {child}'s parent.",
          f"Hello, {teacher}, thank you for seeing me. I'm here about {child}.")
    d.say(B, f"Nice to meet you. {child} is doing really well in {good}.",
          f"Please sit down. Let me start with the good news: {child} is excellent at {good}.")
    d.say(A, "That's good to hear. Are there any problems?", "I'm glad. And the not-so-good news?")
    d.say(B, f"In {weak}, {child} {issue}.",
          f"I'm a bit worried about {weak}. {child} {issue}.")
    d.say(A, "Oh, I had no idea. What can we do?", "I see. How can we help at home?")
    d.say(B, f"It would help if you could {plan}.", f"Maybe you could {plan}.")
    d.say(A, "Of course, we'll do that.", "That sounds reasonable. We'll try it.")
    d.say(B, f"Good. Let's meet again on {date} to see how things are going.",
          f"Great. Shall we talk again on {date}?")
    if d.chance(0.5):
        d.say(A, "Yes, thank you for your time.", f"Certainly. See you on {date}.")
    d.facts(name=(teacher, child))
    issue_summary = issue_summary.format(weak=weak)
    return (f"{d.a} meets {d.b}, {teacher}, about {child}. {child} is good at {good} but "
            f"{issue_summary}. They agree on {plan_summary} and will meet again on {date}.")


IT_PROBLEMS = (
    ("my laptop won't connect to the Wi-Fi", "the laptop cannot connect to the Wi-Fi"),
    ("the printer on our floor keeps jamming", "the printer keeps jamming"),
    ("I can't log in to my email", "the email login fails"),
    ("my screen goes black every few minutes", "the screen keeps going black"),
    ("the VPN disconnects all the time", "the VPN keeps disconnecting"),
)


def _it_support(d: _Dialogue) -> str:
    complaint, problem = d.pick(IT_PROBLEMS)
    tech = d.pick(FIRST_NAMES)
    ticket = str(d.rng.randint(1000, 9999))
    floor = d.pick(FLOORS)
    time = _clocks(d.rng, 1, 9, 16)[0]
    if d.chance(0.5):
        d.say(B, "IT help desk, how can I help?", "Hi, this is IT support. What's the issue?")
    d.say(A, f"Hi, {complaint}.", f"Hello, I have a problem: {complaint}.")
    d.say(B, "Have you tried restarting it?", "Okay. Did you restart the computer already?")
    d.say(A, "Yes, twice. It didn't help.", "Yes, I did, but nothing changed.")
    d.say(B, f"Then I'll open a ticket. The number is {ticket}.",
          f"Alright, I've created ticket {ticket} for you.")
    d.say(A, "Thanks. Can someone come and have a look?", "Will someone come to my desk?")
    d.say(B, f"Yes, {tech} will come by at {time}. Where do you sit?",
          f"Our technician, {tech}, can be there at {time}. Which floor are you on?")
    d.say(A, f"On the {floor} floor, near the kitchen.", f"The {floor} floor, by the windows.")
    d.say(B, f"Got it. {tech} will see you at {time}.", "Perfect, I've added that to the ticket.")
    d.facts(name=tech, number=ticket, time=time)
    return (f"{d.a} calls the help desk because {problem}, even after a restart. {d.b} opens "
            f"ticket {ticket} and sends {tech} to {d.a}'s desk on the {floor} floor at {time}.")


MOVERS = ("QuickMove", "Safe Hands Removals", "Two Brothers Moving", "Blue Van Movers",
          "Easy Boxes", "Hometown Removals")


def _moving_house(d: _Dialogue) -> str:
    company = d.pick(MOVERS)
    street = d.pick(STREETS)
    city = d.pick(CITIES)
    rooms = d.pick(("one", "two", "three"))
    date = _date(d.rng)
    movers = d.pick(("two", "three", "four"))
    price = _money(d.rng.randrange(400, 2501, 50))
    piano = d.chance(0.35)
    hello = "Hi, "
    if d.chance(0.5):
        d.say(B, f"Good morning, {company}. How can I help?", f"Hello, {company} speaking.")
    else:
        hello = f"Hello, is this {company}? "
    d.say(A, f"{hello}I'm moving from {street} to {city} and need some help.",
          f"{hello}I need a removal company. I'm moving to {city}.")
    d.say(B, "Sure. How big is your current home?", "How many rooms are we talking about?")
    d.say(A, f"It's a {rooms}-bedroom flat on {street}.", f"A {rooms}-bedroom flat on {street}.")
    if piano:
        d.say(B, "Any heavy items?", "Is there anything especially heavy?")
        d.say(A, "Yes, there's an old piano.", "Just a piano, I'm afraid.")
    d.say(B, "And when do you want to move?", "What date did you have in mind?")
    d.say(A, f"On {date}, if possible.", f"{_cap(date)}.")
    d.say(B, f"That's fine. We'd send {movers} movers and a van. It would cost {price}.",
          f"We have {movers} movers free that day. The total price would be {price}.")
    d.say(A, "That sounds reasonable. Let's book it.", f"{price} is okay. Please book it.")
    d.facts(place=(company, street, city), number=price)
    s = (f"{d.a} hires {company} to move a {rooms}-bedroom flat from {street} to {city} on "
         f"{date}. {d.b} will send {movers} movers for {price}.")
    if piano:
        s += " There is also a piano to move."
    return s


PIZZAS = ("margherita", "pepperoni", "vegetarian", "Hawaiian", "four cheese", "spicy chicken")
TOPPINGS = ("olives", "mushrooms", "onions", "peppers", "jalapenos", "sweetcorn", "rocket",
            "garlic")
PIZZERIAS = ("Pronto Pizza", "Napoli Express", "Slice of Heaven", "Mario's Pizzeria",
             "Stone Oven Pizza")


def _ordering_pizza(d: _Dialogue) -> str:
    shop = d.pick(PIZZERIAS)
    count = d.pick(("one", "two", "three"))
    size = d.pick(("small", "medium", "large"))
    pizza = d.pick(PIZZAS)
    first_topping, topping = d.rng.sample(TOPPINGS, 2)
    number = str(d.rng.randint(1, 150))
    street = d.pick(STREETS)
    minutes = d.pick(("20", "25", "30", "40", "45"))
    price = _money(d.rng.randint(9, 16) * NUMBER_WORDS.index(count) + d.pick((0, 2.5, 3)))
    change = d.chance(0.35)
    drink = d.chance(0.4)
    plural = "pizza" if count == "one" else "pizzas"
    hello = "Hi, "
    if d.chance(0.5):
        d.say(B, f"{shop}, what can I get you?", f"Hello, {shop}. Delivery or collection?")
    else:
        hello = f"Hi, is this {shop}? "
    d.say(A, f"{hello}I'd like {count} {size} {pizza} {plural} for delivery, please.",
          f"{hello}Can I order {count} {size} {pizza} {plural}? To be delivered, please.")
    d.say(B, "Sure. Any extra toppings?", "Would you like any extra toppings on that?")
    if change:
        d.drop(first_topping)
        d.say(A, f"Extra {first_topping}, please. Oh, wait, my son hates {first_topping}. "
                 f"Make it {topping} instead.",
              f"Hmm, {first_topping}... no, actually, let's have extra {topping}.")
    else:
        d.say(A, f"Yes, extra {topping}, please.", f"Some extra {topping} would be nice.")
    d.say(B, "Anything to drink?", "Can I get you any drinks with that?")
    if drink:
        d.say(A, "A large bottle of lemonade, please.", "Yes, a big bottle of lemonade.")
    else:
        d.say(A, "No, thanks.", "No, that's all.")
    d.say(B, "What's the delivery address?", "And where should we deliver it?")
    d.say(A, f"{number} {street}.", f"It's {number} {street}.")
    d.say(B, f"That comes to {price}. It'll be with you in about {minutes} minutes.",
          f"Okay, the total is {price}, and the driver will be there in {minutes} minutes or so.")
    if d.chance(0.5):
        d.say(A, "Great, thanks!", "Perfect, see you soon.")
    d.facts(number=(count, number, price, minutes), place=street)
    extras = " and a bottle of lemonade" if drink else ""
    return (f"{d.a} orders {count} {size} {pizza} {plural} with extra {topping}{extras} from "
            f"{shop}, to be delivered to {number} {street}. {d.b} says the total is {price} and "
            f"it will take about {minutes} minutes.")


# (item, what it is for, the owner's request as spoken, the request as summarised)
TOOLS = (
    ("ladder", "clean the gutters", "put it back in the shed when you're done",
     "put it back in the shed"),
    ("drill", "put up some shelves", "charge the battery before you bring it back",
     "charge the battery"),
    ("lawnmower", "cut the grass", "fill it up with petrol before you return it",
     "refill the petrol"),
    ("pressure washer", "clean the patio", "clean the filter when you're done",
     "clean the filter"),
    ("folding table", "host a garden party", "don't leave it out in the rain",
     "keep it out of the rain"),
    ("sewing machine", "shorten some curtains", "be careful with it, it's quite old",
     "be careful with it"),
    ("camping tent", "go camping with the kids", "dry it properly before you pack it away",
     "dry it before packing it away"),
)


def _borrowing_from_neighbour(d: _Dialogue) -> str:
    b_name = d.pick(FIRST_NAMES)
    item, use, request, request_summary = d.pick(TOOLS)
    day = d.pick(WEEKDAYS)
    d.say(A, f"Hi {b_name}, sorry to bother you. Could I borrow your {item}?",
          f"Hello {b_name}! I was wondering if I could borrow your {item} for a few days.")
    d.say(B, "Of course. What do you need it for?", "Sure. What are you working on?")
    d.say(A, f"I want to {use} this weekend.", f"I'm planning to {use}.")
    d.say(B, "No problem. When do you think you'll bring it back?",
          "Good luck with that. How long will you need it?")
    d.say(A, f"By {day} at the latest, I promise.", f"I'll return it on {day}.")
    d.say(B, f"That's fine. Just please {request}.", f"Okay, but could you {request}?")
    party = d.chance(0.35)
    if party:
        d.say(A, "Of course. By the way, are you coming to the street party?",
              "Sure, no problem. Will I see you at the street party?")
        d.say(B, "Yes, I'll be there. I'll bring my famous lemon cake.",
              "Wouldn't miss it! I'm bringing a lemon cake.")
        d.say(A, "Great, see you there. And thanks for the {item}!".format(item=item),
              "Wonderful. Thanks again!")
    else:
        d.say(A, "Of course. Thanks a lot!", "Sure, no problem. You're a great neighbour!")
    d.facts(name=b_name, day=day)
    s = (f"{d.a} borrows {b_name}'s {item} to {use} and promises to return it by {day}. "
         f"{d.b} asks {d.a} to {request_summary}.")
    if party:
        s += f" {d.b} will bring a lemon cake to the street party."
    return s


DELAY_REASONS = ("a technical problem", "bad weather", "a late incoming plane",
                 "a shortage of crew")


def _flight_delay(d: _Dialogue) -> str:
    flight = f"{d.pick(AIRLINE_CODES)}{d.rng.randint(100, 999)}"
    city = d.pick(CITIES)
    hours = d.rng.randint(2, 4)
    start = d.rng.randint(7, 17)
    minute = d.pick((0, 30))
    scheduled, new_time = _clock(start, minute), _clock(start + hours, minute)
    reason = d.pick(DELAY_REASONS)
    voucher = d.pick(("$10", "$15", "$20", "$25"))
    letter = d.pick(("A", "B", "C", "D"))
    old_gate, gate = (f"{letter}{n}" for n in d.rng.sample(range(1, 40), 2))
    moved = d.chance(0.4)
    if not moved:
        gate = old_gate
    d.say(A, f"Excuse me, is flight {flight} to {city} delayed? It was supposed to leave at "
             f"{scheduled}.",
          f"Hi, the board says my flight to {city}, {flight}, is delayed. What's going on?")
    delay = NUMBER_WORDS[hours]
    d.say(B, f"Yes, I'm sorry. Because of {reason}, it's delayed by {delay} hours.",
          f"I apologise. There's {reason}, so we're expecting a delay of {delay} hours.")
    d.say(A, "So when will we leave?",
          f"{NUMBER_WORDS[hours].capitalize()} hours! When do we leave, then?")
    d.say(B, f"The new departure time is {new_time}.", f"We now expect to leave at {new_time}.")
    d.say(A, "That's terrible. Is there anything you can do?",
          "I see. Do we get anything for the wait?")
    d.say(B, f"Here is a meal voucher for {voucher} that you can use in any cafe.",
          f"Yes, every passenger gets a {voucher} meal voucher.")
    if moved:
        d.drop(old_gate)
        d.say(A, f"Thank you. Is it still gate {old_gate}?",
              f"Thanks. Do we still leave from gate {old_gate}?")
        d.say(B, f"No, it has been changed to gate {gate}.",
              f"No, the flight now leaves from gate {gate}.")
    else:
        d.say(A, "Thank you. Which gate is it?", "Thanks. Where do I board?")
        d.say(B, f"Gate {gate}, as before.", f"From gate {gate}.")
    d.facts(number=(flight, NUMBER_WORDS[hours], voucher, gate), place=city, time=new_time)
    return (f"{d.a}'s flight {flight} to {city} is delayed by {NUMBER_WORDS[hours]} hours because "
            f"of {reason}. It will now leave at {new_time} from gate {gate}, and {d.b} gives "
            f"{d.a} a {voucher} meal voucher.")


def _cinema_tickets(d: _Dialogue) -> str:
    film = d.pick(FILM_TITLES)
    count = d.rng.randint(2, 5)
    first, time = _clocks(d.rng, 2, 14, 22)
    sold_out = d.chance(0.4)
    row = d.pick("CDEFGHJK")
    each = d.pick((8, 9, 10, 11, 12))
    student = d.chance(0.3)
    total = _money((each - 2 if student else each) * count)
    n = NUMBER_WORDS[count]
    if d.chance(0.5):
        d.say(B, "Hi, which film would you like to see?", "Good evening, what can I get you?")
    d.say(A, f"{_cap(n)} tickets for {film}, please.", f"Hi, could I get {n} tickets for {film}?")
    d.say(B, "Which showing?", "For what time?")
    if sold_out:
        d.drop(first)
        d.say(A, f"The {first} one.", f"The one at {first}, please.")
        d.say(B, f"I'm sorry, {first} is sold out. There are still seats at {time}.",
              f"The {first} showing is full, I'm afraid. How about {time}?")
        d.say(A, f"Okay, {time} then.", f"Fine, we'll come at {time}.")
    else:
        d.say(A, f"{time}, please.", f"The {time} showing, please.")
    d.say(B, f"Where would you like to sit? There are {n} seats together in row {row}.",
          f"I can give you {n} seats next to each other in row {row}, in the middle.")
    d.say(A, f"Row {row} is great.", "Perfect, thank you.")
    d.say(B, "Are any of you students? There's a student discount.",
          "Do you have student cards? Students pay two dollars less.")
    if student:
        d.say(A, "Yes, we're all students. Here are our cards.", "Yes, we all do. Here you are.")
        d.say(B, f"Great, with the discount that's {total}.", f"Then it comes to {total}, please.")
    else:
        d.say(A, "No, I'm afraid not.", "No, we're not students.")
        d.say(B, f"Okay, that's {total}, please.",
              f"{n.capitalize()} full-price tickets, that's {total}.")
    if not sold_out and d.chance(0.4):  # not both: keeps the dialogue within twelve turns
        d.say(A, "Here you are. Can we buy popcorn here too?", "Here. Do you also sell popcorn?")
        d.say(B, "Yes, at the counter on your left.", "Sure, just over there by the entrance.")
    d.facts(item=film, number=(n, total), time=time)
    discount = " with a student discount" if student else ""
    return (f"{d.a} buys {n} tickets for {film} at {time}, with seats together in row {row}. "
            f"The tickets cost {total} in total{discount}.")


GARMENTS = ("jacket", "sweater", "dress", "shirt", "coat", "skirt", "raincoat", "blazer")
SIZES = ("small", "medium", "large", "extra large")


def _clothes_shopping(d: _Dialogue) -> str:
    item = d.pick(GARMENTS)
    first_colour, colour = d.rng.sample(COLOURS, 2)
    size = d.pick(SIZES)
    price = _money(d.rng.randrange(20, 200, 5))
    change = d.chance(0.4)
    if not change:
        first_colour = colour
    if d.chance(0.5):
        d.say(B, "Hi, are you looking for anything in particular?", "Hello, can I help you?")
        d.say(A, f"Yes, do you have this {item} in {size}?",
              f"I like this {item}. Do you have it in {size}?")
    else:
        d.say(A, f"Excuse me, do you have this {item} in {size}?",
              f"Hi, I like this {item}. Is there one in {size}?")
    d.say(B, f"Let me check. Yes, here's one in {size}. It's {first_colour}.",
          f"Yes, we have it in {size}. This one is {first_colour}.")
    if change:
        d.drop(first_colour)
        d.say(A, f"Hmm, I'm not sure about {first_colour}. Do you have it in {colour}?",
              f"{_cap(first_colour)} isn't really my colour. Is there a {colour} one?")
        d.say(B, f"Yes, here's a {colour} one in {size}.", f"Sure, here it is in {colour}.")
    d.say(A, "Can I try it on?", "Where are the fitting rooms?")
    d.say(B, "Of course, the fitting rooms are over there.",
          "Sure, the fitting rooms are just behind you, on the left.")
    d.say(A, "It fits perfectly. How much is it?", "It's just right. What's the price?")
    d.say(B, f"It's {price}.", f"That one is {price}.")
    d.say(A, "I'll take it.", "Great, I'll take it. Can I pay by card?")
    d.say(B, "Of course. Would you like a bag? They're ten cents.",
          "Sure. Do you need a bag for it?")
    d.say(A, "No, thanks, I brought my own.", "Yes, please. Thank you!")
    d.facts(number=price, item=(colour, size))
    return f"{d.a} tries on a {colour} {item} in size {size} and buys it for {price}."


def _exam_preparation(d: _Dialogue) -> str:
    b_name, friend = d.rng.sample(FIRST_NAMES, 2)
    subject = d.pick(("maths", "chemistry", "biology", "history", "economics", "physics",
                      "statistics", "law"))
    # Both study days fall before the exam, so the latest of the three is the exam.
    *before, last = sorted(d.rng.sample(range(5), 3))
    d.rng.shuffle(before)
    first_day, day, exam_day = WORKDAYS[before[0]], WORKDAYS[before[1]], WORKDAYS[last]
    c1 = d.rng.randint(1, 6)
    c2 = c1 + d.rng.randint(2, 5)
    time = _clocks(d.rng, 1, 10, 18)[0]
    place = d.pick(("the library", "the student cafe", "the study centre", "the computer lab"))
    change = d.chance(0.4)
    if not change:
        first_day = day
    d.say(A, f"{b_name}, are you ready for the {subject} exam on {exam_day}?",
          f"Hey {b_name}, have you started revising for {subject}? The exam is on {exam_day}.")
    d.say(B, "Not at all. There's so much to learn.", "Hardly. I'm starting to panic a bit.")
    d.say(A, f"Do you want to study together? {friend} wants to join us too.",
          f"Why don't we revise together? {friend} asked me the same thing yesterday.")
    d.say(B, "Good idea. Which chapters should we focus on?", "Yes, please. What should we cover?")
    d.say(A, f"The teacher said chapters {c1} to {c2} are the most important.",
          f"Chapters {c1} to {c2}, according to the teacher.")
    d.say(B, "Okay. When and where shall we meet?", "Fine. When?")
    d.say(A, f"How about {place} on {first_day} at {time}?", f"{first_day} at {time}, at {place}?")
    if change:
        d.drop(first_day)
        d.say(B, f"I work on {first_day}. Could we do {day} instead?",
              f"{first_day} is bad for me. What about {day}?")
        d.say(A, f"Sure, {day} at {time} then.", f"No problem, let's say {day}.")
    else:
        d.say(B, "Perfect. I'll bring my notes.", f"{day} works. See you there.")
    d.facts(name=friend, day=(exam_day, day), time=time, number=(str(c1), str(c2)))
    return (f"{d.a} and {d.b} will prepare for the {subject} exam on {exam_day} with {friend}. "
            f"They will go through chapters {c1} to {c2} at {place} on {day} at {time}.")


STAYS = (("a hotel", "a hotel"), ("an apartment", "a rented apartment"),
         ("a campsite", "a campsite"), ("a small guesthouse", "a guesthouse"))


def _vacation_planning(d: _Dialogue) -> str:
    b_name = d.pick(FIRST_NAMES)
    first_city, city = d.rng.sample(CITIES, 2)
    month = d.pick(MONTHS)
    days = d.pick(("five", "seven", "ten", "twelve", "fourteen"))
    stay, stay_summary = d.pick(STAYS)
    budget = _money(d.rng.randrange(800, 4001, 100))
    change = d.chance(0.4)
    d.say(A, f"{b_name}, have you thought about our holiday in {month}?",
          f"So, {b_name}, where shall we go in {month}?")
    if change:
        d.drop(first_city)
        d.say(B, f"A little. I'd love to go to {first_city}.", f"What about {first_city}?")
        d.say(A, f"{first_city} is lovely, but it's really crowded in {month}. How about {city}?",
              f"We went to {first_city} last year. Why not {city} this time?")
        d.say(B, f"You're right. {city} it is.", f"Good point. Let's do {city}, then.")
    else:
        d.say(B, f"I'd love to go to {city}.", f"I was thinking of {city}.")
        d.say(A, f"{city} sounds great.", f"Oh yes, I've always wanted to see {city}.")
        d.say(B, "Great, that's settled, then.", "So we agree.")
    d.say(A, "How long should we stay?", "How many days can you take off?")
    d.say(B, f"I think {days} days would be nice.", f"I can take {days} days.")
    d.say(A, f"And where should we stay? I'd prefer {stay}.",
          f"Okay. I had a look online, and {stay} would be nice.")
    d.say(B, f"Fine with me. What's our budget?", f"Sounds good. How much can we spend?")
    d.say(A, f"No more than {budget} in total.", f"Let's say {budget}, including everything.")
    d.say(B, "Agreed. I'll look for flights tonight.", "Deal. I'll start booking tonight.")
    d.facts(place=city, number=(days, budget))
    return (f"{d.a} and {d.b} plan a {days}-day holiday in {city} in {month}. They will "
            f"stay in {stay_summary} and spend no more than {budget}.")


NOISES = (("music", "loud music", "turn the music down"),
          ("party", "a noisy party", "ask my guests to be quieter"),
          ("drilling", "drilling", "stop the work"),
          ("washing machine", "a noisy washing machine", "only run it in the daytime"))
REASONS = (
    ("I start work at 6 am.", "starts work early"),
    ("My baby couldn't sleep.", "has a baby who could not sleep"),
    ("I have exams this week.", "has exams this week"),
    ("I'm not feeling well at the moment.", "is not feeling well"),
)


def _noise_complaint(d: _Dialogue) -> str:
    flat = str(d.rng.randint(1, 40))
    noise, noise_summary, fix = d.pick(NOISES)
    reason, reason_summary = d.pick(REASONS)
    late = d.pick(("midnight", "1 am", "2 am", "3 am"))
    quiet = d.pick(("9 pm", "9:30 pm", "10 pm", "10:30 pm", "11 pm"))
    day = d.pick(("Friday", "Saturday"))
    d.say(A, f"Hi, I live in flat {flat}, just below you. Sorry to bother you.",
          f"Hello, I'm your neighbour from flat {flat}. Do you have a minute?")
    d.say(B, "Oh, hello. Is something wrong?", "Hi. Sure, what's the matter?")
    d.say(A, f"Well, the {noise} last night went on until {late}. {reason}",
          f"It's about the {noise}. I could hear it until {late} last night. {reason}")
    d.say(B, "I'm really sorry. I didn't realise it was so loud.",
          "Oh no, I had no idea. I apologise.")
    d.say(A, f"Could you keep it down after {quiet}?",
          f"Would it be possible to be quiet after {quiet}?")
    d.say(B, f"Of course. I'll {fix} after {quiet} from now on.",
          f"Absolutely. From now on I'll {fix} by {quiet}.")
    party = d.chance(0.35)
    if party:
        d.say(A, "Thank you, I appreciate it.", "Thanks, that's really kind.")
        d.say(B, f"Just so you know, I'm having a birthday party next {day}.",
              f"I should mention that I'm celebrating my birthday next {day}.")
        d.say(A, "That's fine, thanks for telling me.", "No problem, one night is okay.")
    else:
        d.say(A, "Thank you, I appreciate it.", "Thanks, that's really kind.")
    d.facts(number=flat, time=(late, quiet))
    s = (f"{d.a} from flat {flat} complains to {d.b} about {noise_summary} until {late}, because "
         f"{d.a} {reason_summary}. {d.b} apologises and promises to be quiet after {quiet}.")
    if party:
        d.facts(day=day)
        s += f" {d.b} mentions a birthday party next {day}."
    return s


def _car_rental(d: _Dialogue) -> str:
    first_size, size = d.pick((("small", "medium-sized"), ("small", "large"),
                               ("medium-sized", "large"), ("small", "family-size")))
    days = d.rng.randint(2, 9)
    per_day = d.rng.randint(30, 75)
    insurance = d.chance(0.5)
    daily = per_day + (12 if insurance else 0)
    total = _money(daily * days)
    back_day = d.pick(WEEKDAYS)
    back_time = _clocks(d.rng, 1, 8, 18)[0]
    change = d.chance(0.4)
    if not change:
        first_size = size
    if d.chance(0.5):
        d.say(B, "Good morning, welcome to City Car Rental. Do you have a reservation?",
              "Hello, do you have a booking with us?")
        d.say(A, f"No, I don't. I need a {first_size} car for {NUMBER_WORDS[days]} days.",
              f"I'm afraid not. Could I rent a {first_size} car for {NUMBER_WORDS[days]} days?")
    else:
        d.say(A, f"Hi, I'd like to rent a {first_size} car for {NUMBER_WORDS[days]} days.",
              f"Good morning. Do you have a {first_size} car for {NUMBER_WORDS[days]} days?")
    if change:
        d.drop(first_size)
        d.say(B, "How many people are travelling, and how much luggage do you have?",
              "No problem. Will you have much luggage?")
        d.say(A, "Five of us, with big suitcases.",
              "Quite a lot, actually. We're a family of five.")
        d.say(B, f"Then a {first_size} car will be too small. I'd recommend a {size} one.",
              f"In that case you'll need a {size} car.")
        d.say(A, f"Okay, a {size} car then.", "You're right. Let's do that.")
    else:
        d.say(B, f"Sure, I have a {size} car available.", f"We have a {size} car free.")
        d.say(A, "Great. How much is it?", "How much does it cost?")
    d.say(B, f"It's {_money(per_day)} a day. Would you like full insurance for $12 a day extra?",
          f"{_money(per_day)} per day. Full insurance is another $12 a day, if you want it.")
    if insurance:
        d.say(A, "Yes, I'll take the insurance.", "Yes, please, just to be safe.")
    else:
        d.say(A, "No, thanks, I'm already covered.", "No, I'll skip the insurance.")
    d.say(B, f"So that's {total} in total. Please bring it back by {back_time} on {back_day}.",
          f"The total is {total}. The car is due back on {back_day} at {back_time}.")
    d.say(A, "Perfect, here's my driving licence.", "Fine. Here's my licence and card.")
    d.facts(number=(NUMBER_WORDS[days], total), day=back_day, time=back_time)
    cover = "with full insurance" if insurance else "without insurance"
    return (f"{d.a} rents a {size} car for {NUMBER_WORDS[days]} days {cover}, for {total} in "
            f"total. {d.a} has to return it on {back_day} by {back_time}.")


DESSERTS = ("an apple pie", "a chocolate cake", "a cheesecake", "some fruit salad",
            "a lemon tart", "some ice cream")
VEGGIE_DISHES = ("a mushroom risotto", "a vegetable curry", "a spinach lasagne",
                 "stuffed peppers")


def _dinner_invitation(d: _Dialogue) -> str:
    b_name, friend = d.rng.sample(FIRST_NAMES, 2)
    day = d.pick(WEEKDAYS)
    time = _clocks(d.rng, 1, 18, 20)[0]
    dessert = d.pick(DESSERTS)
    veggie = d.chance(0.4)
    dish = d.pick(VEGGIE_DISHES)
    d.say(A, f"Hi {b_name}, would you like to come over for dinner on {day}?",
          f"{b_name}! Are you free on {day} evening? I'm cooking dinner.")
    d.say(B, "I'd love to! What time?", "That sounds lovely. When should I come?")
    d.say(A, f"Around {time}. {friend} is coming too.",
          f"Is {time} okay? I've also invited {friend}.")
    d.say(B, f"Great, I haven't seen {friend} for ages. Can I bring anything?",
          f"Perfect. Shall I bring something?")
    d.say(A, "Maybe a dessert?", "A dessert would be great, if you have time.")
    if veggie:
        d.say(B, f"Sure, I'll bring {dessert}. Oh, by the way, I don't eat meat any more.",
              f"Of course, {dessert}. And I should tell you, I've become a vegetarian.")
        d.say(A, f"No problem, I'll make {dish}.",
              f"Thanks for telling me. I'll cook {dish}, then.")
        d.say(B, "Sounds delicious. See you then!", f"Wonderful. See you on {day}!")
        d.say(A, "Bye! Say hi to your sister.", "Can't wait. Bye!")
    else:
        d.say(B, f"Sure, I'll bring {dessert}.", f"Of course. I'll make {dessert}.")
        d.say(A, "Lovely. You remember where I live?", "Great. Do you still have my address?")
        d.say(B, "The blue house on the corner, right? See you then!",
              "Yes, I've been there before. See you then!")
    d.facts(name=friend, day=day, time=time)
    s = (f"{d.a} invites {d.b} to dinner on {day} at {time}, together with {friend}. "
         f"{d.b} will bring {dessert}.")
    if veggie:
        s += f" Since {d.b} is now a vegetarian, {d.a} will cook {dish}."
    return s


LANGUAGES = ("Spanish", "Italian", "German", "Japanese", "Portuguese", "French", "Arabic",
             "Mandarin")
SCHOOLS = ("the City Language School", "Lingua Centre", "the Evening Institute",
           "the Community College")


def _course_enrollment(d: _Dialogue) -> str:
    language = d.pick(LANGUAGES)
    school = d.pick(SCHOOLS)
    level = d.pick(("beginners'", "intermediate", "advanced"))
    i, j = sorted(d.rng.sample(range(5), 2))
    day1, day2 = WORKDAYS[i], WORKDAYS[j]
    time = _clocks(d.rng, 1, 17, 19)[0]
    start = _date(d.rng)
    fee = _money(d.rng.randrange(150, 601, 10))
    book = d.chance(0.4)
    hello = "Hi, "
    if d.chance(0.5):
        d.say(B, f"Hello, {school}. How can I help you?", f"Welcome to {school}.")
    else:
        hello = f"Hi, is this {school}? "
    d.say(A, f"{hello}I'd like to sign up for a {language} course.",
          f"{hello}Do you still have places in your {language} classes?")
    d.say(B, "Of course. Have you studied it before?", "Certainly. What's your level?")
    d.say(A, *{
        "beginners'": ("No, I'm a complete beginner.", "Never. I only know how to say hello."),
        "intermediate": ("A little. I can have simple conversations.",
                         "Yes, for two years at school, but I've forgotten a lot."),
        "advanced": ("Yes, for years. I'd like to polish it.",
                     "Quite a lot. I read newspapers in it, but my grammar needs work."),
    }[level])
    d.say(B, f"Then the {level} course is right for you. It meets on {day1} and {day2} at {time}.",
          f"I'd put you in the {level} group. Classes are {day1} and {day2} from {time}.")
    d.say(A, "When does it start, and how much is it?", "Sounds good. What's the fee?")
    d.say(B, f"It starts on {start}, and the fee is {fee}.",
          f"The fee is {fee}, and the first class is on {start}.")
    if book:
        d.say(A, "Is the book included?", "Do I need to buy a textbook?")
        d.say(B, "No, the book is extra, about $30.", "Yes, the textbook costs $30 on top.")
        d.say(A, "Fine. Please sign me up.", "Okay, I'll register now.")
    else:
        d.say(A, "Great, please sign me up.", "Perfect, I'll register now.")
    d.facts(day=(day1, day2), time=time, number=fee)
    s = (f"{d.a} signs up for the {level} {language} course at {school}. It meets on {day1} "
         f"and {day2} at {time}, starts on {start} and costs {fee}.")
    if book:
        s += " The textbook costs extra."
    return s


PET_NAMES = ("Biscuit", "Pepper", "Luna", "Milo", "Coco", "Rocky", "Daisy", "Nala", "Simba",
             "Toby", "Mochi", "Ziggy", "Bella", "Max", "Whiskers", "Peanut")
PET_PROBLEMS = (
    ("isn't eating anything", "is not eating"),
    ("is limping on one leg", "is limping"),
    ("keeps scratching its ears", "keeps scratching its ears"),
    ("has been sick twice today", "has been sick"),
    ("seems very tired and sleeps all day", "seems very tired"),
)


def _vet_appointment(d: _Dialogue) -> str:
    pet = d.pick(PET_NAMES)
    animal = d.pick(("dog", "cat", "rabbit", "puppy", "kitten"))
    problem, problem_summary = d.pick(PET_PROBLEMS)
    day = d.pick(WEEKDAYS[:6])
    time = _clocks(d.rng, 1, 9, 17)[0]
    vet = "Dr. " + d.pick(SURNAMES)
    vaccine = d.chance(0.4)
    if d.chance(0.5):
        d.say(B, "Good morning, Green Paws Vet Clinic.", "Hello, animal clinic, how can I help?")
    d.say(A, f"Hi, my {animal}, {pet}, {problem}. Could a vet see him?",
          f"Hello, I'm worried about my {animal} {pet}. He {problem}.")
    d.say(B, "Oh dear. How long has this been going on?", "I'm sorry to hear that. Since when?")
    d.say(A, "Since yesterday.", "Only since yesterday, but I'm worried.")
    d.say(B, f"{vet} can see {pet} on {day} at {time}.",
          f"We have a free slot with {vet} on {day} at {time}.")
    d.say(A, f"{day} at {time} is fine.", "That's fine, thank you.")
    if vaccine:
        d.say(B, f"I see {pet} is also due for a vaccination. Shall we do that at the same time?",
              f"By the way, {pet}'s vaccination is due. We could do it during the visit.")
        d.say(A, "Yes, good idea.", "Oh, I forgot. Yes, please.")
    owner = f"{d.pick(FIRST_NAMES)} {d.pick(SURNAMES)}"
    d.say(B, "Great. Can I have your name and phone number?",
          "Okay. Could I have the owner's name and a phone number, please?")
    d.say(A, f"{owner}, and my number is 07{d.rng.randint(100000000, 999999999)}.",
          f"It's {owner}. You can reach me on 07{d.rng.randint(100000000, 999999999)}.")
    d.say(B, f"Thank you. Please bring his vaccination card. See you on {day}.",
          f"Got it. See you and {pet} on {day}.")
    d.facts(name=(pet, vet), day=day, time=time)
    s = (f"{d.a}'s {animal} {pet} {problem_summary}, so {d.b} books a visit with {vet} "
         f"on {day} at {time}.")
    if vaccine:
        s += f" {pet} will also get a vaccination."
    return s


def _selling_bicycle(d: _Dialogue) -> str:
    colour = d.pick(COLOURS)
    asking = d.rng.randrange(150, 501, 10)
    offer = asking - d.rng.randrange(40, 100, 10)
    final = (asking + offer) // 2 // 5 * 5
    day = d.pick(WEEKDAYS)
    time = _clocks(d.rng, 1, 10, 19)[0]
    accept_offer = d.chance(0.3)
    if accept_offer:
        final = offer
    d.say(A, f"Hi, I'm calling about the {colour} bike you're selling. Is it still available?",
          f"Hello, I saw your advert for a {colour} bicycle. Is it still for sale?")
    d.say(B, "Yes, it is. It's only two years old and in great condition.",
          "It is, yes. I've hardly used it.")
    d.say(A, "How much do you want for it?", "What's your price?")
    d.say(B, f"{_money(asking)}.", f"I'm asking {_money(asking)}.")
    d.say(A, f"That's a bit much for me. Would you take {_money(offer)}?",
          f"Hmm. Could you do {_money(offer)}?")
    d.drop(_money(asking))
    if accept_offer:
        d.say(B, f"Okay, {_money(offer)} is fine. I just want it gone.",
              f"Alright, you can have it for {_money(offer)}.")
        d.say(A, f"Great! Can I pick it up on {day}?", f"Wonderful. Could I come on {day}?")
    else:
        d.drop(_money(offer))
        d.say(B, f"I can't go that low. How about {_money(final)}?",
              f"Let's meet in the middle: {_money(final)}.")
        d.say(A, f"Okay, {_money(final)} it is. Can I pick it up on {day}?",
              f"Deal. Could I collect it on {day}?")
    d.say(B, f"Sure, any time after {time}.", f"Yes, come after {time}.")
    d.facts(number=_money(final), day=day, time=time)
    return (f"{d.a} agrees to buy {d.b}'s {colour} bike for {_money(final)} and will pick it up on "
            f"{day} after {time}.")


TOPICS = ("budget review", "project update", "marketing plan", "team planning",
          "client presentation", "sales report")


def _meeting_reschedule(d: _Dialogue) -> str:
    b_name, colleague = d.rng.sample(FIRST_NAMES, 2)
    topic = d.pick(TOPICS)
    first_day, day = (WORKDAYS[i] for i in d.rng.sample(range(5), 2))
    first_time, time = d.rng.sample(_clocks(d.rng, 2, 9, 16), 2)
    room = str(d.rng.randint(101, 420))
    reason = d.pick(("I have to see a client", "my train was cancelled",
                     "I have a dentist appointment", "I'm stuck at another office"))
    d.drop(first_day)
    d.drop(first_time)
    d.say(A, f"Hi {b_name}, about our {topic} meeting on {first_day} at {first_time}. "
             "Could we move it?",
          f"{b_name}, do you have a moment? I can't make the {topic} meeting on {first_day} at "
          f"{first_time}.")
    d.say(B, "Sure. What happened?", "Oh, that's okay. Is everything alright?")
    d.say(A, f"Yes, it's just that {reason}.", f"Nothing serious, {reason}.")
    d.say(B, "No problem. When would suit you?", "I see. When are you free instead?")
    d.say(A, f"How about {day} at {time}?", f"Would {day} at {time} work?")
    d.say(B, f"{day} is fine. I'll book room {room}.", f"Yes, and room {room} is free then.")
    d.say(A, f"Great. Could you let {colleague} know?", f"Thanks. Can you tell {colleague}, too?")
    d.say(B, f"Sure, I'll send {colleague} the new invitation.",
          "Of course, I'll update the invitation.")
    d.facts(day=day, time=time, number=room, name=colleague)
    return (f"{d.a} asks {d.b} to move the {topic} meeting to {day} at {time} in room {room}. "
            f"{d.b} will let {colleague} know.")


# ---------------------------------------------------------------------------
# Registry and corpus assembly
# ---------------------------------------------------------------------------

_BUILDERS: dict[str, Callable[[_Dialogue], str]] = {
    "restaurant_booking": _restaurant_booking,
    "doctor_appointment": _doctor_appointment,
    "job_interview": _job_interview,
    "hotel_check_in": _hotel_check_in,
    "lost_luggage": _lost_luggage,
    "train_ticket": _train_ticket,
    "return_product": _return_product,
    "asking_directions": _asking_directions,
    "renting_apartment": _renting_apartment,
    "birthday_party": _birthday_party,
    "car_repair": _car_repair,
    "bank_account": _bank_account,
    "library": _library,
    "gym_membership": _gym_membership,
    "weather_plans": _weather_plans,
    "pharmacy": _pharmacy,
    "post_office": _post_office,
    "taxi": _taxi,
    "haircut": _haircut,
    "parent_teacher": _parent_teacher,
    "it_support": _it_support,
    "moving_house": _moving_house,
    "ordering_pizza": _ordering_pizza,
    "borrowing_from_neighbour": _borrowing_from_neighbour,
    "flight_delay": _flight_delay,
    "cinema_tickets": _cinema_tickets,
    "clothes_shopping": _clothes_shopping,
    "exam_preparation": _exam_preparation,
    "vacation_planning": _vacation_planning,
    "noise_complaint": _noise_complaint,
    "car_rental": _car_rental,
    "dinner_invitation": _dinner_invitation,
    "course_enrollment": _course_enrollment,
    "vet_appointment": _vet_appointment,
    "selling_bicycle": _selling_bicycle,
    "meeting_reschedule": _meeting_reschedule,
}

SCENARIOS: tuple[str, ...] = tuple(_BUILDERS)

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
    rng = random.Random(seed)
    seen: set[str] = set()
    queue: list[str] = []
    corpus: dict[str, list[Example]] = {}
    for split in SPLITS:
        examples = []
        for index in range(sizes[split]):
            # Deal scenarios from shuffled decks so every split gets a near-even mix.
            if not queue:
                queue = list(SCENARIOS)
                rng.shuffle(queue)
            scenario = queue.pop()
            for _ in range(_MAX_REDRAWS):
                d = _Dialogue(rng)
                summary = _BUILDERS[scenario](d)
                source = d.render()
                if source not in seen:
                    break
            else:  # pragma: no cover - would need an exhausted slot space
                raise RuntimeError(f"scenario {scenario} keeps producing duplicate dialogues")
            seen.add(source)
            record = Record(id=f"synthetic-{split}-{index:06d}", source=source, summary=summary)
            examples.append(Example(scenario, record, tuple(d.stated), tuple(d.superseded)))
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
