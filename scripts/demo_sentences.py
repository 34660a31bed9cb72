"""Sentence banks of the synthetic demo corpus (data for ``make_demo_corpus.py``).

All sentences were written for erc-bench. Each bank is split by ``make_demo_corpus.py`` into
disjoint train / validation / test parts, and the pool (pre-training) has banks of its own, so no
sentence is ever heard in two places: a test score measures generalisation to new wording, not
recall of a sentence seen in training. Clear sentences carry their emotion in ordinary emotional
vocabulary (furious, thrilled, lonely ...), which a pre-trained text encoder can transfer to
sentences it has not seen.
"""

CLEAR = {
    "angry": [
        "This is completely unacceptable.", "I told you a hundred times to stop doing that!",
        "Don't you dare walk away from me.", "You broke it again and you don't even care.",
        "I am sick and tired of your excuses.", "Get out of my office right now.",
        "Who gave you permission to touch my things?", "That is the last straw, I am furious.",
        "Stop lying to me!", "You ruined everything we worked for.", "How dare you talk to me like that?",
        "I can't stand this nonsense any longer.", "You never listen, not once!",
        "This is an outrage and someone will pay for it.", "I'm so angry I could scream.",
        "You wasted my entire afternoon.", "Enough! I have heard enough.",
        "Why on earth would you do something so stupid?", "Keep your hands off my car.",
        "I hate the way you treat people.", "I am absolutely livid about this.",
        "You had one job and you messed it up!", "Shut up and let me finish.",
        "This makes my blood boil.", "I'm furious that nobody warned me.", "Don't you ever lie to me again!",
        "You are the rudest person I have ever met.", "I am fed up with your stupid games.",
        "That was a disgusting thing to say.", "Get lost, I am done with you.",
        "You cheated and you know it!", "I'm outraged by this terrible service.",
        "Who do you think you are?", "I will not tolerate this behaviour.",
        "You make me so mad!", "This idiotic mess is all your fault.",
    ],
    "happy": [
        "This is the best news I have heard all year!", "I am so happy for you.",
        "We won the match, can you believe it?", "What a wonderful surprise, thank you so much.",
        "I love this place, it is perfect.", "That was absolutely delightful.", "I got the job!",
        "You made my day, really.", "This is fantastic, let's celebrate tonight.", "I can't stop smiling.",
        "Everything turned out great in the end.", "What a lovely gift.", "I'm thrilled that you came.",
        "Hooray, the holidays start tomorrow!", "That joke was hilarious.", "We are going to have so much fun.",
        "I feel wonderful today.", "Congratulations, you totally deserve it.",
        "The baby is healthy and beautiful.", "Best birthday ever!", "I'm overjoyed, this is amazing!",
        "We passed, we actually passed!", "What a gorgeous sunny morning.", "I am delighted to meet you.",
        "This cake is absolutely delicious.", "Yay, my best friend is visiting!", "I'm so excited about the trip.",
        "That was the most fun I've had in ages.", "You look fabulous, I love it.", "I'm grinning from ear to ear.",
        "Our team is brilliant, I'm so proud.", "What a joyful evening this was.",
        "I'm in such a great mood today.", "This is a dream come true!", "Wow, that is awesome news.",
        "Thank you, this makes me really happy.",
    ],
    "sad": [
        "I miss her so much.", "Nobody came to the party.", "I lost my job this morning.",
        "He passed away last night.", "I feel so lonely here.", "Everything I try seems to fail.",
        "I don't think things will ever get better.", "We had to give the dog away.",
        "I cried all the way home.", "She said goodbye and never called again.",
        "I'm sorry, I just feel empty.", "The house feels so quiet without them.", "I wish I could go back.",
        "It hurts to even talk about it.", "My grandfather is very ill.", "I failed the exam again.",
        "There is nothing left for me here.", "I'm tired of being alone.", "We lost everything in the fire.",
        "I guess nobody really cares.", "My heart is broken.", "I feel so hopeless these days.",
        "Our old cat died yesterday.", "I couldn't stop crying last night.", "Nothing makes me happy anymore.",
        "I'm so sad that it's over.", "She doesn't love me anymore.", "I feel miserable and alone.",
        "It's a tragedy, we lost him.", "I'm heartbroken about the news.", "I have no friends left here.",
        "Everything feels so gloomy and grey.", "I'm grieving, please give me time.",
        "The funeral was this afternoon.", "I'm disappointed in myself again.", "Why does everyone leave me?",
    ],
}

# Words that carry no emotion by themselves: neutral utterances, and emotional ones whose
# emotion is only in the voice (or only in the context).
AMBIGUOUS = [
    "Okay.", "I see what you did there.", "Right, so that is it then.", "Fine.", "Really?",
    "Well, here we are.", "So you finally called.", "That is what he said.", "I will think about it.",
    "Is that so.", "You did it again.", "Let me check the calendar.", "The meeting is at nine tomorrow.",
    "I read your message.", "We need to talk about the budget.", "The train leaves at six fifteen.",
    "She moved to another city.", "They changed the plan.", "It is raining outside.",
    "The results came in today.", "Tell me what happened next.", "He sold the old house.",
    "You can take the blue folder.", "I just got back from the store.", "It's exactly as I expected.",
    "Did you hear the news?", "We are leaving on Friday.", "That was quick.", "Sure, if you say so.",
    "Hmm, interesting.", "Whatever you think is best.", "I know.", "Here is the report.", "No, not yet.",
    "Yes, that is right.", "Look at this.", "So that's how it works.", "Alright.", "The bus was late.",
    "He called this morning.", "I'll be there at five.", "Is this the right room?", "Oh, I see.",
    "Pass me the salt.", "We have a meeting on Monday.", "The printer is on the second floor.",
    "Where did you put the keys?", "It's your turn.",
]

# Pre-training pool: templated opinions and plain statements, built from words that no labelled
# sentence uses as a whole sentence (checked by make_demo_corpus.py).
POOL_SUBJECTS = [
    "The new cafe", "My weekend", "The concert", "This phone", "Our trip", "The weather today", "His speech",
    "The hotel", "That movie", "The service", "My new job", "The neighbourhood", "The food", "Their new album",
    "The meeting",
]
POOL_PREDICATES = {
    "positive": ["was absolutely wonderful", "made me really happy", "is a real delight",
                 "went better than I hoped", "was a lovely experience", "is brilliant"],
    "negative": ["was a total disaster", "made me miserable", "is awful", "was a huge disappointment",
                 "left me furious", "is terrible"],
    "neutral": ["was on Tuesday", "is near the station", "took about two hours", "is what we discussed",
                "was mentioned in the report", "starts at noon"],
}
POOL_PLAIN = [
    "The parcel arrived.", "We met at the corner.", "I turned off the lights.", "The shop closes at eight.",
    "Take the second left.", "The form is on the desk.", "He wrote it down.", "The tea is ready.",
    "It was a long day.", "She took the early flight.", "The door was open.", "They painted the fence.",
]
