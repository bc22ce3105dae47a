"""Food and leisure scenarios: restaurants, parties, weekend plans, pizza, cinema, dinner guests.

Each builder is registered with :func:`~mono_s2s.data.synthetic.engine.scenario` at its
position in the deck. The pools only this module's scenarios use sit next to them; the
shared ones are in :mod:`~mono_s2s.data.synthetic.engine`.
"""

from __future__ import annotations

from mono_s2s.data.synthetic.engine import (
    A, B, FIRST_NAMES, NUMBER_WORDS, STREETS, SURNAMES, WEEKDAYS, _cap, _clocks, _Dialogue, _money, scenario,
)


RESTAURANTS = (
    "Luigi's", "The Blue Olive", "Casa Marina", "The Golden Spoon", "Sakura Garden",
    "Le Petit Jardin", "The Copper Kettle", "Bella Notte", "Spice Route", "The Old Mill",
    "Harbour Grill", "Mama Rosa's", "The Green Fig", "Taj Palace", "El Toro",
    "The Red Lantern", "Olive and Thyme", "The Salt House", "Little Lisbon", "Kyoto Kitchen",
    "The Hungry Fox", "Bistro Verde", "The Silver Fork", "Cafe Aurora", "Bangkok Street",
    "The Lemon Tree", "Trattoria Sole", "The Brass Bell", "Marigold", "Pepper and Vine",
)


@scenario("restaurant_booking", position=0)
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


@scenario("birthday_party", position=9)
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


OUTDOOR = ("a picnic in the park", "a bike ride along the river", "a day at the beach",
           "a hike in the hills", "a barbecue in the garden")
INDOOR = ("the cinema", "the Science Museum", "the bowling alley", "the art gallery",
          "the indoor pool")


@scenario("weather_plans", position=14)
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


PIZZAS = ("margherita", "pepperoni", "vegetarian", "Hawaiian", "four cheese", "spicy chicken")
TOPPINGS = ("olives", "mushrooms", "onions", "peppers", "jalapenos", "sweetcorn", "rocket",
            "garlic")
PIZZERIAS = ("Pronto Pizza", "Napoli Express", "Slice of Heaven", "Mario's Pizzeria",
             "Stone Oven Pizza")


@scenario("ordering_pizza", position=22)
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


FILM_TITLES = (
    "Night Train", "The Long Summer", "Ocean Eleven Miles", "Starlight Avenue", "The Iron Gate",
    "Lost in Marrakesh", "Blue Horizon", "The Last Detective", "Paper Planes", "Wild Hearts",
    "The Ninth Floor", "Sunday Morning", "Frozen River", "The Great Escape Room", "Copper Sky",
)


@scenario("cinema_tickets", position=25)
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


DESSERTS = ("an apple pie", "a chocolate cake", "a cheesecake", "some fruit salad",
            "a lemon tart", "some ice cream")
VEGGIE_DISHES = ("a mushroom risotto", "a vegetable curry", "a spinach lasagne",
                 "stuffed peppers")


@scenario("dinner_invitation", position=31)
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
