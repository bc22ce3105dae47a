"""Work and study scenarios: interviews, meetings, IT help, school, exams, courses, the library.

Each builder is registered with :func:`~mono_s2s.data.synthetic.engine.scenario` at its
position in the deck. The pools only this module's scenarios use sit next to them; the
shared ones are in :mod:`~mono_s2s.data.synthetic.engine`.
"""

from __future__ import annotations

from mono_s2s.data.synthetic.engine import (
    A, B, FIRST_NAMES, FLOORS, NUMBER_WORDS, SURNAMES, WORKDAYS, _cap, _clocks, _date, _Dialogue, _money, scenario,
)


COMPANIES = (
    "Northwind Logistics", "Brightline Media", "Greenleaf Foods", "Bluewave Software",
    "Summit Insurance", "Harbor Point Marketing", "Redstone Engineering", "Clearview Optics",
    "Silverline Travel", "Oakridge Publishing", "Nova Energy", "Pinecrest Bank",
    "Lighthouse Studios", "Maple Leaf Consulting", "Crescent Pharmacy Group", "Urban Nest Design",
)


POSITIONS = (
    "sales assistant", "junior accountant", "web designer", "marketing assistant",
    "office manager", "software tester", "receptionist", "translator", "project coordinator",
    "customer service agent", "graphic designer", "lab technician",
)


@scenario("job_interview", position=2)
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


BOOK_TITLES = (
    "The Silent Harbour", "A Winter in Lisbon", "The Clockmaker's Daughter", "Paper Moons",
    "The Last Lighthouse", "Rivers of Salt", "The Glass Orchard", "Midnight at the Station",
    "The Secret Garden Club", "Letters from Tokyo", "The Forgotten Map", "Under the Olive Tree",
    "A History of Bridges", "The Quiet Neighbour", "Small Kitchen Big Flavours", "The Red Notebook",
)


@scenario("library", position=12)
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


@scenario("parent_teacher", position=19)
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


@scenario("it_support", position=20)
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


@scenario("exam_preparation", position=27)
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


LANGUAGES = ("Spanish", "Italian", "German", "Japanese", "Portuguese", "French", "Arabic",
             "Mandarin")
SCHOOLS = ("the City Language School", "Lingua Centre", "the Evening Institute",
           "the Community College")


@scenario("course_enrollment", position=32)
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


TOPICS = ("budget review", "project update", "marketing plan", "team planning",
          "client presentation", "sales report")


@scenario("meeting_reschedule", position=35)
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
