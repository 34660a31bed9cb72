"""Inputs computed once and cached, shared by every seed and stage: transcripts, frozen speech embeddings
and frozen text encodings.

``inputs`` gathers a dataset's texts and speech features for a recipe;
``speech`` runs ASR and speech encoders per utterance (locally, or on a Ray
cluster through ``ray_pipeline``); ``long_audio`` applies a dataset's policy
for clips longer than its limit; ``frozen_text`` caches a frozen text encoder's
encodings. Imports only ``core``.
"""
