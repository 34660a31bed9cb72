"""The ``llm-erc`` prompt builder, parser and few-shot sampler: exact prompt strings, no server."""

from __future__ import annotations

import pytest
from erc_bench_datasets.iemocap import LABEL_ORDER
from erc_bench_datasets.meld import LABELS as MELD_LABELS
from erc_bench_datasets.mosi import LABELS as MOSI_LABELS
from erc_bench_labellers.erc_cues import describe
from erc_bench_labellers.erc_prompts import (
    DEFAULT_TEMPLATES,
    Demonstration,
    Template,
    Turn,
    build_prompt,
    parse_label,
    window,
)
from erc_bench_labellers.erc_system import LLMERCParams, LLMERCSystem, sample_demonstrations

from erc_bench import Conversation, DatasetSplits, SystemContext, Utterance

TWO = [Turn("Ann", "I lost my keys again."), Turn("Bob", "Oh no, not again!"), Turn("Ann", "Can you help me?")]
PARTY = [Turn("Monica", "Who ate my cake?"), Turn("Joey", "Not me."), Turn("Chandler", "Could it BE any more "
                                                                                      "obvious?"),
         Turn("Ross", "Hi."), Turn("Rachel", "It was Joey.")]


def test_instructerc_two_speakers_exact() -> None:
    before, after = window(TWO, 2, 12, 0)
    prompt = build_prompt(DEFAULT_TEMPLATES["instructerc"], LABEL_ORDER[4], before, after)
    assert prompt == (
        "Now you are expert of sentiment and emotional analysis. The following conversation noted between "
        "'### ###' involves several speakers. ### Ann:\"I lost my keys again.\"\t Bob:\"Oh no, not again!\"\t "
        "Ann:\"Can you help me?\" ### Please select the emotional label of <Ann:\"Can you help me?\"> from "
        "<angry, happy, sad, neutral>. Reply with the label only.")


def test_bioserc_multi_party_exact_with_future_turns() -> None:
    before, after = window(PARTY, 2, 1, 2)
    assert [t.speaker for t in before] == ["Joey", "Chandler"] and [t.speaker for t in after] == ["Ross", "Rachel"]
    prompt = build_prompt(DEFAULT_TEMPLATES["bioserc"], MELD_LABELS, before, after)
    assert prompt == (
        ("system", "### You are an expert at analyzing the emotion of utterances among speakers in a conversation."
                   "\n### Given the following conversation as a context \nJoey: Not me.\nChandler: Could it BE any "
                   "more obvious?\nRoss: Hi.\nRachel: It was Joey."),
        ("user", "The last 2 turns of the conversation shown come after the target utterance. Based on above "
                 "conversation, which emotional label of Chandler in the utterance \"Could it BE any more "
                 "obvious?\". Select one label from [neutral, joy, surprise, anger, sadness, disgust, fear] and "
                 "answer with the label only."))


def test_window_at_the_start_and_the_cap() -> None:
    assert window(PARTY, 0, 12, 0) == ([PARTY[0]], [])
    assert window(PARTY, 4, 2, 3) == (PARTY[2:5], [])  # no turn after the last: no note
    assert window(PARTY, 3, 0, 0) == ([PARTY[3]], [])
    prompt = build_prompt(DEFAULT_TEMPLATES["instructerc"], MOSI_LABELS, *window(PARTY, 0, 12, 0))
    assert "### Monica:\"Who ate my cake?\" ### Please select" in prompt and "<negative, positive>" in prompt


@pytest.mark.parametrize("labels, shown", [
    (MELD_LABELS, "neutral, joy, surprise, anger, sadness, disgust, fear"),
    (LABEL_ORDER[4], "angry, happy, sad, neutral"),
    (LABEL_ORDER[6], "happy, sad, neutral, angry, excited, frustrated"),
    (MOSI_LABELS, "negative, positive")])
def test_each_datasets_own_label_set(labels, shown) -> None:
    assert len(labels) in (2, 4, 6, 7)
    for name in ("instructerc", "bioserc"):
        prompt = build_prompt(DEFAULT_TEMPLATES[name], labels, TWO[:1], [])
        text = prompt if isinstance(prompt, str) else prompt[-1][1]
        assert shown in text


def test_demonstrations_and_cues_in_both_families() -> None:
    demos = [Demonstration("Ann", "Great news!", "happy"), Demonstration("Bob", "Go away.", "angry")]
    turns = [Turn("Ann", "Hi.", "high pitch with moderate variation, loud, fast"), Turn("Bob", "Hey.", "no audio")]
    prompt = build_prompt(DEFAULT_TEMPLATES["instructerc"], LABEL_ORDER[4], turns, [], demos)
    assert isinstance(prompt, str)
    assert ("analysis. Here are labelled utterances from other conversations: <Ann:\"Great news!\"> is happy; "
            "<Bob:\"Go away.\"> is angry. The following conversation") in prompt
    assert 'Ann:"Hi." [high pitch with moderate variation, loud, fast]\t Bob:"Hey." [no audio]' in prompt
    assert "Brackets after a turn describe how it was spoken" in prompt and '<Bob:"Hey.">' in prompt
    system, _user = build_prompt(DEFAULT_TEMPLATES["bioserc"], LABEL_ORDER[4], turns, [], demos)
    assert "\n### Labelled utterances from other conversations:\nAnn: Great news! -> happy\nBob: Go away. -> angry" \
           in system[1]


def test_custom_template_text_keeps_other_braces() -> None:
    template = Template("instructerc", 'Reply as {"label": x}. {labels} | {target} | {speaker} said {utterance}')
    assert build_prompt(template, ["a", "b"], TWO[:2], []) == \
        'Reply as {"label": x}. a, b | Bob:"Oh no, not again!" | Bob said Oh no, not again!'
    with pytest.raises(ValueError, match="must contain"):
        LLMERCParams(template_text="no target here {labels}")


@pytest.mark.parametrize("raw, label", [
    ("sad", "sad"), ("Sad.", "sad"), ("  ANGRY ", "angry"), ("Label: happy", "happy"), ("<neutral>", "neutral"),
    ('"sad"', "sad"), ("Emotion: Neutral.", "neutral")])
def test_parser_accepts_only_one_exact_label(raw, label) -> None:
    assert parse_label(raw, LABEL_ORDER[4]).label == label


@pytest.mark.parametrize("raw", ["", "sad or angry", "I think sad", "sadness", "happy, sad", "The label is sad."])
def test_parser_never_guesses(raw) -> None:
    outcome = parse_label(raw, LABEL_ORDER[4])
    assert outcome.status == "unparsable" and outcome.label is None and outcome.raw == raw.strip()


def _corpus() -> DatasetSplits:
    def conv(cid: str, labels: list[str]) -> Conversation:
        return Conversation(cid, [Utterance(f"{cid}_{i}", cid, i, f"{cid} says {lab} {i}", lab, speaker=f"s{i % 2}")
                                  for i, lab in enumerate(labels)])
    train = [conv("t1", ["happy"] * 6 + ["sad"] * 3 + ["angry"]), conv("t2", ["neutral"] * 5 + ["happy"] * 2)]
    return DatasetSplits("toy", list(LABEL_ORDER[4]), {"train": train, "validation": [conv("v1", ["sad"] * 3)],
                                                       "test": [conv("x1", ["angry"] * 3)]})


def test_few_shot_draws_from_train_only_balanced_and_by_seed() -> None:
    data = _corpus()
    train = [u for c in data.splits["train"] for u in c.utterances]
    first = sample_demonstrations(train, data.labels, 8, seed=0)
    assert len(first) == 8 and first == sample_demonstrations(train, data.labels, 8, seed=0)
    assert all(d.text.startswith(("t1", "t2")) for d in first)
    counts = {label: sum(d.label == label for d in first) for label in data.labels}
    assert counts["angry"] == 1 and all(n >= 2 for label, n in counts.items() if label != "angry")
    assert sample_demonstrations(train, data.labels, 8, seed=1) != first
    system = LLMERCSystem(LLMERCParams(shots=4))
    system.fit(data, SystemContext(3, "cpu", "/nonexistent"))
    assert system.majority == "happy" and len(system.demos) == 4
    zero = LLMERCSystem(LLMERCParams())
    zero.fit(data, SystemContext(0, "cpu", "/x"))
    keys = [k for k, _ in zero.prompts(data.splits["test"], SystemContext(0, "cpu", "/x")).values()]
    zero.fit(data, SystemContext(7, "cpu", "/x"))  # zero-shot: the same keys for every seed
    assert keys == [k for k, _ in zero.prompts(data.splits["test"], SystemContext(7, "cpu", "/x")).values()]
    assert system.display_name() == "LLM 4-shot (gpt-4o-mini)" and zero.display_name() == "LLM zero-shot (gpt-4o-mini)"


def test_spoken_cue_words_against_train_terciles() -> None:
    scale = {"pitch": [5.0, 5.5], "variation": [0.1, 0.2], "loudness": [-6.0, -4.0], "rate": [2.0, 3.0]}
    assert describe([5.8, 0.15, -3.0, 3.5], scale) == "high pitch with moderate variation, loud, fast"
    assert describe([4.0, 0.05, -7.0, 1.0], scale) == "low pitch with little variation, quiet, slow"
    assert describe([None, None, -5.0, 2.5], scale) == "no clear pitch, moderate volume, moderate pace"
    assert describe(None, scale) == "no audio"
