"""The MERITS-L recipe: pre-training, inputs, Stages I-III, in the order a reader follows them.

``merits_l`` is the recipe itself, one class (start reading there); ``context``
is the ``StageContext`` every stage trains with; ``inputs`` and
``speech_inputs`` (or ``ray_pipeline``) make transcripts and frozen speech
embeddings; ``stage_step`` caches and logs each stage; ``stages`` holds one
trainer per stage, all of which, and ``pretrain`` (LLM-guided text
pre-training; ``agreement`` checks its labeller against a valence oracle),
train through the one loop in ``loop`` (``optimisation``, ``distributed``);
``stage_result`` is what a stage returns and how it is cached; ``predict``
applies a trained system to new data.
"""
