"""Health and services scenarios: doctor, pharmacy, vet, garage, bank, gym, post office, hairdresser.

Each builder is registered with :func:`~mono_s2s.data.synthetic.engine.scenario` at its
position in the deck. The pools only this module's scenarios use sit next to them; the
shared ones are in :mod:`~mono_s2s.data.synthetic.engine`.
"""

from __future__ import annotations

from mono_s2s.data.synthetic.engine import (
    A, B, CITIES, FIRST_NAMES, SURNAMES, WEEKDAYS, WORKDAYS, _cap, _clocks, _Dialogue, _money, scenario,
)


CLINICS = (
    "Riverside Medical Centre", "Hillview Surgery", "Oakwood Clinic", "Parkside Health Centre",
    "Elm Tree Surgery", "Central Family Practice", "Meadow Medical Centre", "Bridgeway Clinic",
)

SYMPTOMS = (
    "a bad cough", "a sore throat", "back pain", "a skin rash", "headaches", "an earache",
    "a sprained ankle", "stomach pains", "a high temperature", "trouble sleeping",
)


@scenario("doctor_appointment", position=1)
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


@scenario("car_repair", position=10)
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


@scenario("bank_account", position=11)
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


GYMS = ("FitZone", "Iron Temple Gym", "Pulse Fitness", "The Body Lab", "Peak Performance Gym",
        "Green Park Leisure Centre")
CLASSES = ("yoga", "spinning", "pilates", "boxing", "Zumba", "swimming")


@scenario("gym_membership", position=13)
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


MEDICINES = (
    ("cough syrup", "a cough"), ("antihistamine tablets", "hay fever"),
    ("ibuprofen", "a headache"), ("throat lozenges", "a sore throat"),
    ("antacid tablets", "heartburn"), ("eye drops", "itchy eyes"),
)


@scenario("pharmacy", position=15)
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


@scenario("post_office", position=16)
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


SALONS = ("Cut Above", "Studio Nine", "The Hair Lounge", "Scissors and Co", "Mane Street Salon",
          "Urban Style")
SERVICES = ("a haircut", "a trim", "highlights", "a wash and blow-dry", "a new colour")


@scenario("haircut", position=18)
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


PET_NAMES = ("Biscuit", "Pepper", "Luna", "Milo", "Coco", "Rocky", "Daisy", "Nala", "Simba",
             "Toby", "Mochi", "Ziggy", "Bella", "Max", "Whiskers", "Peanut")
PET_PROBLEMS = (
    ("isn't eating anything", "is not eating"),
    ("is limping on one leg", "is limping"),
    ("keeps scratching its ears", "keeps scratching its ears"),
    ("has been sick twice today", "has been sick"),
    ("seems very tired and sleeps all day", "seems very tired"),
)


@scenario("vet_appointment", position=33)
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
