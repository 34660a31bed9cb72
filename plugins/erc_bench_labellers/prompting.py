"""The prompt every LLM labeller sends, and the parser for what comes back.

One template for all providers keeps labels comparable across LLMs (the
paper's oracle compares GPT-3.5, Llama-3 and Mixtral with the same prompt).
The parser never guesses: an answer naming no label, or more than one, is an
explicit ``unparsable`` outcome, which pre-training excludes and counts.
"""

from __future__ import annotations

import json
import re

from erc_bench import SENTIMENT_LABELS, LabelOutcome

TRANSCRIPT_FIELD = "{transcript}"

DEFAULT_PROMPT = (
    "You are annotating the sentiment of a transcribed speech segment.\n"
    "Read the transcript and decide whether the speaker's sentiment is positive, negative or neutral.\n"
    "Answer with exactly one word: positive, negative or neutral. Do not explain.\n\n"
    "Transcript: {transcript}"
)
"""The default template; ``{transcript}`` is replaced by the ASR transcript (no other braces are special)."""

_LABEL_WORD = re.compile(r"\b(" + "|".join(SENTIMENT_LABELS) + r")\b")
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)
_JSON_KEYS = ("sentiment", "label", "answer", "class", "classification")


Message = tuple[str, str]
"""One chat message: (role, content), role ``system`` or ``user`` (``assistant`` for a demonstration's answer)."""

Prompt = str | tuple[Message, ...]
"""What one request sends: a plain string (one user message) or a chat of messages."""


def chat_messages(prompt: Prompt) -> list[dict[str, str]]:
    """The OpenAI-style ``messages`` of a prompt (a string is one user message)."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": role, "content": content} for role, content in prompt]


def prompt_text(prompt: Prompt) -> str:
    """One string holding everything a prompt sends, roles included: what keys and token estimates read."""
    if isinstance(prompt, str):
        return prompt
    return "\n".join(f"[{role}]\n{content}" for role, content in prompt)


def check_template(template: str) -> str:
    """Params validator: a template without the placeholder would label every transcript the same."""
    if TRANSCRIPT_FIELD not in template:
        raise ValueError(f"prompt must contain the placeholder {TRANSCRIPT_FIELD}")
    return template


def render_prompt(template: str, transcript: str) -> str:
    """Substitute the transcript; plain replacement so JSON braces in a custom prompt stay literal."""
    return template.replace(TRANSCRIPT_FIELD, transcript.strip())


def _labels_in(text: str) -> set[str]:
    return set(_LABEL_WORD.findall(text.lower()))


def _from_json(raw: str) -> str | None:
    """The label from ``{"sentiment": "positive"}``-style answers, if the answer is such JSON."""
    match = _JSON_OBJECT.search(raw)
    if not match:
        return None
    try:
        value = json.loads(match.group(0))
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    lowered = {str(k).lower(): v for k, v in value.items()}
    for key in _JSON_KEYS:
        if isinstance(lowered.get(key), str):
            found = _labels_in(lowered[key])
            return found.pop() if len(found) == 1 else ""
    return None


def parse_answer(raw: str | None) -> LabelOutcome:
    """Map an LLM answer to a label: copes with case, punctuation, extra words and JSON; never guesses."""
    text = (raw or "").strip()
    if not text:
        return LabelOutcome(None, "unparsable", raw=raw or "", detail="empty answer")
    from_json = _from_json(text)
    if from_json:
        return LabelOutcome(from_json, "ok", raw=text)
    if from_json == "":
        return LabelOutcome(None, "unparsable", raw=text, detail="JSON answer without exactly one label")
    found = _labels_in(text)
    if len(found) == 1:
        return LabelOutcome(found.pop(), "ok", raw=text)
    if not found:
        return LabelOutcome(None, "unparsable", raw=text, detail="answer names no label")
    return LabelOutcome(None, "unparsable", raw=text, detail=f"answer names several labels: {sorted(found)}")
