"""Home and shopping scenarios: flats, moves, neighbours, and things bought, returned or sold.

Each builder is registered with :func:`~mono_s2s.data.synthetic.engine.scenario` at its
position in the deck. The pools only this module's scenarios use sit next to them; the
shared ones are in :mod:`~mono_s2s.data.synthetic.engine`.
"""

from __future__ import annotations

from mono_s2s.data.synthetic.engine import (
    A, B, CITIES, COLOURS, FIRST_NAMES, MONTHS, STREETS, WEEKDAYS, _cap, _clocks, _date, _Dialogue, _money,
    scenario,
)


@scenario("renting_apartment", position=8)
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


@scenario("return_product", position=6)
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


MOVERS = ("QuickMove", "Safe Hands Removals", "Two Brothers Moving", "Blue Van Movers",
          "Easy Boxes", "Hometown Removals")


@scenario("moving_house", position=21)
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


@scenario("borrowing_from_neighbour", position=23)
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


GARMENTS = ("jacket", "sweater", "dress", "shirt", "coat", "skirt", "raincoat", "blazer")
SIZES = ("small", "medium", "large", "extra large")


@scenario("clothes_shopping", position=26)
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


@scenario("noise_complaint", position=29)
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


@scenario("selling_bicycle", position=34)
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
