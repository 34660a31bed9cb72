"""The MERITS-L recipe: pre-training, inputs, Stages I-III, in the order a reader follows them.

``merits_l`` is the recipe itself (start reading there); ``pretrain`` is the
LLM-guided text pre-training and ``agreement`` checks its labeller against a
valence oracle; ``speech_inputs`` makes transcripts and frozen speech
embeddings; ``stages`` holds one trainer per stage, all of which (and
pre-training) train through the one loop in ``loop``; ``stage_result`` is what a
stage returns and how it is cached.
"""
