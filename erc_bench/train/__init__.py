"""The one training loop every stage, pre-training and plugin trains through.

``loop`` (epochs, selection on validation, the test split scored once),
``optimisation`` (AdamW, schedule, precision, accumulation, clipping),
``context`` (the ``StageContext`` a stage trains with, seeding),
``conversations`` (conversation batches with speaker indices), ``stage_result``
(what a stage returns, and how it is cached), ``events`` (per-epoch callbacks)
and ``distributed`` (DDP under ``accelerate launch`` / ``torchrun``). Imports
only ``core``.
"""
