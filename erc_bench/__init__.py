"""erc-bench: build, run and compare multimodal Emotion Recognition in Conversations systems."""

__version__ = "0.1.0"
