"""Travel scenarios: hotels, lost luggage, trains, taxis, flight delays, holidays, hire cars, asking the way.

Each builder is registered with :func:`~mono_s2s.data.synthetic.engine.scenario` at its
position in the deck. The pools only this module's scenarios use sit next to them; the
shared ones are in :mod:`~mono_s2s.data.synthetic.engine`.
"""

from __future__ import annotations

from mono_s2s.data.synthetic.engine import (
    A, B, CITIES, COLOURS, FIRST_NAMES, FLOORS, MONTHS, NUMBER_WORDS, STREETS, SURNAMES, WEEKDAYS, _cap, _clock,
    _clocks, _Dialogue, _money, scenario,
)


HOTELS = (
    "Riverside Hotel", "Park View Hotel", "Grand Central Hotel", "Lakeside Hotel",
    "Old Town Hotel", "Harbour Lights Hotel", "Kingsway Hotel", "Meridian Hotel",
    "Palm Court Hotel", "Westgate Hotel", "Silver Birch Hotel", "Crown Hotel", "Atlas Hotel",
    "Northgate Hotel", "Orchid Hotel", "Seabreeze Hotel",
)


@scenario("hotel_check_in", position=3)
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


@scenario("lost_luggage", position=4)
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


@scenario("train_ticket", position=5)
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


DESTINATIONS = (
    "the City Museum", "the train station", "the post office", "the Central Library",
    "the town hall", "the Royal Theatre", "the university", "St. Mary's Hospital",
    "the Botanical Garden", "the bus station", "the Science Museum", "the old cathedral",
)
LANDMARKS = ("traffic lights", "church", "bakery", "roundabout", "petrol station",
             "supermarket", "fountain", "bank")


@scenario("asking_directions", position=7)
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


TAXI_DESTINATIONS = ("the airport", "the central station", "the ferry terminal",
                     "the convention centre", "the city hospital")


@scenario("taxi", position=17)
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


DELAY_REASONS = ("a technical problem", "bad weather", "a late incoming plane",
                 "a shortage of crew")


@scenario("flight_delay", position=24)
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


STAYS = (("a hotel", "a hotel"), ("an apartment", "a rented apartment"),
         ("a campsite", "a campsite"), ("a small guesthouse", "a guesthouse"))


@scenario("vacation_planning", position=28)
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


@scenario("car_rental", position=30)
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
