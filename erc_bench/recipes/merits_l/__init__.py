"""MERITS-L (Dutta & Ganapathy): LLM-guided text pre-training, then Stage I per modality, Stage II context
per modality and Stage III fusion, earlier stages frozen in later ones.

Read in this order: ``recipe`` (the class, top to bottom, as the paper tells
it), ``stages`` (one trainer per stage, each through ``erc_bench.train``),
``modules`` (the engine's Stage I networks), ``pretrain`` (LLM-guided text
pre-training; ``agreement`` checks a labeller against a valence oracle) and
``predict`` (rebuilding every stage from its build card for ``erc-bench
predict``). ``system`` registers it as the ``merits-l`` system.
"""
