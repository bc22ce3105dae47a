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
real dialogues. All text here was written for this module; none of it comes
from DialogSum or any other dataset.

Only the standard library is used, and all randomness comes from one
``random.Random(seed)``, so the same seed gives a byte-identical corpus on every
machine and Python version that keeps ``random``'s documented reproducibility.
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
    return f"${amount:.2f}" if amount != int(amount) else f"${int(amount)}"


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
    proposed, time = _clocks(d.rng, 2, 18, 21)
    if d.chance(0.5):
        proposed, time = time, proposed
    surname = d.pick(SURNAMES)
    change = d.pick((None, None, "full", "mind"))
    if d.chance(0.5):
        d.say(B, f"Good evening, {place}. How can I help you?",
              f"Thank you for calling {place}. What can I do for you?")
    d.say(A, f"Hello, I'd like to reserve a table for {size} on {day}, please.",
          f"Hi, could I book a table for {size} people this {day}?",
          f"Good evening. Do you have a table for {size} on {day} night?")
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
    start = d.pick(("next Monday", "in two weeks", "at the beginning of next month",
                    "immediately", "in a month"))
    answer_day = d.pick(WORKDAYS)
    reason, why = d.pick((
        ("I'd like more responsibility.", "wants more responsibility"),
        ("My company is moving to another city.", "whose company is moving away"),
        ("I want to work closer to home.", "wants to work closer to home"),
        ("There is no chance of promotion there.", "sees no chance of promotion there"),
    ))
    if d.chance(0.5):
        d.say(B, f"Good morning, {first}. Please have a seat. Did you find us easily?",
              f"Hello, you must be {first} {last}. Thanks for coming in.")
        d.say(A, "Yes, thank you. It's nice to meet you.",
              "Thank you for inviting me. I'm happy to be here.")
    else:
        d.say(A, f"Good morning. I'm {first} {last}, I'm here for the interview for the "
                 f"{position} position.",
              f"Hello, my name is {first} {last}. I have an interview for the {position} job.")
        d.say(B, f"Welcome to {company}. Please, take a seat.",
              f"Nice to meet you, {first}. Welcome to {company}.")
    d.say(B, f"So, tell me about your experience as a {position}.",
          f"Why do you think you'd be a good {position} for {company}?")
    d.say(A, f"I've worked as a {position} at {previous} for {years} years.",
          f"I have {years} years of experience. I currently work at {previous}.")
    d.say(B, "And why do you want to leave?", "What makes you want to change jobs?")
    d.say(A, reason, f"To be honest, {reason[0].lower()}{reason[1:]}")
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
    s = (f"{d.a} has an interview with {d.b} for a {position} job at {company}. "
         f"{d.a} has {years} years of experience at {previous}, {why}, and can start {start}.")
    if salary:
        d.facts(number=salary)
        s += f" {d.a} expects {salary} a year."
    s += f" {d.b} will give an answer by {answer_day}."
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
    if d.chance(0.5):
        d.say(B, f"Good afternoon, welcome to the {hotel}. Are you checking in?",
              f"Hello and welcome to the {hotel}. How can I help you?")
    d.say(A, f"Yes, I have a reservation under the name {last}.",
          f"Hi, I'd like to check in, please. The booking is for {first} {last}.")
    d.say(B, f"Let me see... yes, a double room for {nights} nights. May I see your passport?",
          f"Here it is, {nights} nights in a double room. Could I have your ID, please?")
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
        d.say(B, f"That's {_money(single_price)}.", f"A single to {city} is {_money(single_price)}.")
        d.say(A, f"Hmm, actually, I'll be coming back on {back_day}. Make it a return, please.",
              f"Oh, wait. I'm coming back on {back_day}, so a return is probably cheaper.")
        d.say(B, f"Right, a return to {city} is {price}.",
              f"Yes, it is. A return comes to {price}.")
    elif kind == "return":
        d.say(A, f"Return, please. I'm coming back on {back_day}.",
              f"A return. I'll travel back on {back_day}.")
        d.say(B, f"That will be {price}, please.", f"A return to {city} costs {price}.")
    else:
        d.say(A, "Single, please.", "Just one way, please.")
        d.say(B, f"That will be {price}, please.", f"A single to {city} costs {price}.")
    d.say(A, "Here you go. When is the next train?", "Can I pay by card? And when does it leave?")
    d.say(B, f"The next train leaves at {departure} from platform {platform}.",
          f"Sure. It departs at {departure}, platform {platform}.")
    if d.chance(0.5):
        d.say(A, "Thank you very much.", "Great, thanks for your help.")
    d.facts(place=city, number=(price, platform), time=departure)
    s = (f"{d.a} buys a {kind} ticket to {city} for {price}. The train leaves at {departure} "
         f"from platform {platform}.")
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
    d.facts(day=day)
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
    d.say(A, "How long does it take on foot?", "Can I walk there?")
    d.say(B, f"Oh, about {minutes} minutes.", f"Yes, it's a {minutes}-minute walk.")
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
    a_name, b_name, friend = d.rng.sample(FIRST_NAMES, 3)
    age = d.pick(("18", "21", "25", "30", "40", "50"))
    venue = d.pick(RESTAURANTS + ("the park", "my flat", "the community hall"))
    day = d.pick(("Friday", "Saturday", "Sunday"))
    time = _clocks(d.rng, 1, 12, 20)[0]
    guests = d.pick(("ten", "fifteen", "twenty"))
    d.say(A, f"{b_name}, did you know {friend} turns {age} next week?",
          f"Hey {b_name}, it's {friend}'s {age}th birthday soon. We should do something.")
    d.say(B, "Really? Let's throw a surprise party!", "We should organise a surprise party for them.")
    d.say(A, f"Good idea. What about {day}? Everyone is free then.",
          f"Yes! How about this {day}?")
    d.say(B, f"{day} works. Where should we have it?", f"Fine by me. And where?")
    d.say(A, f"What about {venue}? It's big enough.", f"I think {venue} would be perfect.")
    d.say(B, f"Agreed. Let's start at {time}.", f"Okay. Shall we say {time}?")
    d.say(A, f"Sure. I'll order a cake.", f"{time} is good. I'll take care of the cake.")
    d.say(B, f"And I'll invite people. About {guests} friends, maybe?",
          f"Then I'll send the invitations. I think {guests} guests is enough.")
    if d.chance(0.5):
        d.say(A, f"Perfect. Just don't tell {friend}!", f"Great. Remember, {friend} mustn't find out.")
    where = venue.replace("my flat", f"{d.a}'s flat")
    d.facts(name=friend, number=(age, guests), day=day, time=time)
    return (f"{d.a} and {d.b} plan a surprise party for {friend}'s {age}th birthday at "
            f"{where} on {day} at {time}. {d.a} will order the cake and {d.b} will invite "
            f"about {guests} guests.")
