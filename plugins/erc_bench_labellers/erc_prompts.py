"""The prompts of the ``llm-erc`` system: templates, the conversation window, demonstrations, the answer parser.

One request per utterance: the conversation up to and including it (``context_turns`` turns before it, and
``future_turns`` after it where asked, which the prompt then says), the speakers' names where the corpus has
them, and the dataset's own label set. Two template families, picked by ``template``:

* ``instructerc``: InstructERC's retrieval template (Lei et al. 2023, ``code/data_process.py`` of
  LIN-SHANG/InstructERC): their instruction, their ``### ###`` framing of the historical window, their
  ``Speaker:"text"`` turns and their question "Please select the emotional label of <...> from <...>".
  Ours: the closing "Reply with the label only." (their model was fine-tuned to answer with the label; an
  API model otherwise explains), the demonstration block's wording and the notes.
* ``bioserc``: BiosERC's chat format (Xue et al. 2024, ``src/reformat_data_ft_llm.py`` of yingjie7/BiosERC):
  their system message with the context conversation as ``Speaker: text`` lines, their user question
  "Based on above conversation, which emotional label of ...". Ours: the label set and "answer with the
  label only" in the question (their model was fine-tuned on the labels; their bio-extraction prompt gives
  the set the same way, "[happy, sad, ...]"), the demonstration block and the notes. No speaker biography.

A spec may replace the text (``template_text``, ``system_text`` or ``template_file``); the family still
decides how turns, demonstrations and notes are written into it. Placeholders: see ``PLACEHOLDERS``; any
other brace is literal. The parser is strict: the answer must be one label (any case), optionally quoted,
in ``<...>``, after ``Label:`` / ``Emotion:`` / ``Answer:``, or followed by a full stop; anything else is
``unparsable`` with the raw answer kept, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from erc_bench import LabelOutcome
from erc_bench_labellers.prompting import Prompt

INSTRUCTERC_TEMPLATE = (
    "Now you are expert of sentiment and emotional analysis. {demonstrations}"
    "The following conversation noted between '### ###' involves several speakers. ### {conversation} ### "
    "{notes}Please select the emotional label of <{target}> from <{labels}>. Reply with the label only."
)
"""InstructERC's prompt (one user message); the closing sentence is ours."""

BIOSERC_SYSTEM = (
    "### You are an expert at analyzing the emotion of utterances among speakers in a conversation."
    "{demonstrations}\n### Given the following conversation as a context \n{conversation}"
)
"""BiosERC's system message; ``{demonstrations}`` (ours) is empty for zero-shot."""

BIOSERC_USER = (
    "{notes}Based on above conversation, which emotional label of {speaker} in the utterance \"{utterance}\". "
    "Select one label from [{labels}] and answer with the label only."
)
"""BiosERC's user question; the second sentence is ours."""

PLACEHOLDERS: dict[str, str] = {
    "{labels}": "the dataset's label set, comma-separated, in the corpus's order",
    "{conversation}": "the window: up to context_turns turns before the target, the target, then up to "
                      "future_turns following turns, in the family's turn format",
    "{target}": "the target turn in the family's turn format (instructerc: Speaker:\"text\")",
    "{speaker}": "the target's speaker (\"Speaker\" where the corpus names none)",
    "{utterance}": "the target's text",
    "{notes}": "sentences on what the window holds (following turns, spoken cues); empty when neither",
    "{demonstrations}": "the few-shot block (shots > 0); empty for zero-shot",
}
UNKNOWN_SPEAKER = "Speaker"
NO_AUDIO = "no audio"


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    cue: str | None = None  # how it was spoken (spoken_cues), or None


@dataclass(frozen=True)
class Demonstration:
    speaker: str
    text: str
    label: str


@dataclass(frozen=True)
class Template:
    """A family (``instructerc`` | ``bioserc``: turn, demonstration and note formats) and its texts."""

    family: str
    user: str
    system: str | None = None

    def turn(self, turn: Turn) -> str:
        cue = f" [{turn.cue}]" if turn.cue else ""
        if self.family == "instructerc":
            return f'{turn.speaker}:"{turn.text}"{cue}'
        return f"{turn.speaker}: {turn.text}{cue}"

    def conversation(self, turns: Sequence[Turn]) -> str:
        lines = [self.turn(t) for t in turns]
        return "\t ".join(lines) if self.family == "instructerc" else "\n".join(lines)

    def demonstrations(self, demos: Sequence[Demonstration]) -> str:
        if not demos:
            return ""
        if self.family == "instructerc":
            shown = "; ".join(f'<{d.speaker}:"{d.text}"> is {d.label}' for d in demos)
            return f"Here are labelled utterances from other conversations: {shown}. "
        shown = "\n".join(f"{d.speaker}: {d.text} -> {d.label}" for d in demos)
        return f"\n### Labelled utterances from other conversations:\n{shown}"


DEFAULT_TEMPLATES: dict[str, Template] = {
    "instructerc": Template("instructerc", INSTRUCTERC_TEMPLATE),
    "bioserc": Template("bioserc", BIOSERC_USER, BIOSERC_SYSTEM),
}


def check_custom_text(text: str) -> str:
    """A user template must name the target, else every request would ask the same question."""
    if not any(field in text for field in ("{target}", "{utterance}")):
        raise ValueError("a template must contain {target} or {utterance}; placeholders: "
                         + ", ".join(PLACEHOLDERS))
    return text


def window(turns: Sequence[Turn], index: int, context_turns: int, future_turns: int
           ) -> tuple[list[Turn], list[Turn]]:
    """(the turns up to and including ``index``: at most ``context_turns`` before it; the following ones)."""
    start = max(index - context_turns, 0)
    return list(turns[start:index + 1]), list(turns[index + 1:index + 1 + future_turns])


def notes(following: int, cues: bool) -> str:
    parts = []
    if following:
        parts.append(f"The last {following} turn{'s' if following > 1 else ''} of the conversation shown "
                     f"{'come' if following > 1 else 'comes'} after the target utterance.")
    if cues:
        parts.append("Brackets after a turn describe how it was spoken (pitch, loudness, speaking rate), "
                     f"from its audio; [{NO_AUDIO}] where there is none.")
    return " ".join(parts) + " " if parts else ""


def _fill(text: str, values: dict[str, str]) -> str:
    for field, value in values.items():  # plain replacement: other braces (JSON in a custom template) stay
        text = text.replace(field, value)
    return text


def build_prompt(template: Template, labels: Sequence[str], before: Sequence[Turn], after: Sequence[Turn],
                 demos: Sequence[Demonstration] = ()) -> Prompt:
    """One request: ``before`` ends with the target; ``after`` holds the following turns (if any)."""
    target = before[-1]
    shown = list(before) + list(after)
    values = {"{labels}": ", ".join(labels), "{conversation}": template.conversation(shown),
              "{target}": template.turn(Turn(target.speaker, target.text)), "{speaker}": target.speaker,
              "{utterance}": target.text, "{notes}": notes(len(after), any(t.cue for t in shown)),
              "{demonstrations}": template.demonstrations(demos)}
    user = _fill(template.user, values)
    if template.system is None:
        return user
    return (("system", _fill(template.system, values)), ("user", user))


_PREFIX = re.compile(r"^(label|emotion|answer|sentiment)\s*[:=-]\s*", re.IGNORECASE)
_WRAPPING = "<>\"'`*[] "


def parse_label(raw: str | None, labels: Sequence[str]) -> LabelOutcome:
    """Strictly one of ``labels`` (case-insensitive), returned as the corpus spells it; else ``unparsable``."""
    text = (raw or "").strip()
    if not text:
        return LabelOutcome(None, "unparsable", raw=raw or "", detail="empty answer")
    core = _PREFIX.sub("", text.strip(_WRAPPING)).strip(_WRAPPING)
    core = core.removesuffix(".").strip(_WRAPPING)
    by_lower = {label.lower(): label for label in labels}
    label = by_lower.get(core.lower())
    if label is None:
        return LabelOutcome(None, "unparsable", raw=text, detail="answer is not exactly one of the labels")
    return LabelOutcome(label, "ok", raw=text)
