"""EmoryNLP (Zahiri & Choi 2018): Friends scenes annotated with 7 Feeling-Wheel emotions; text only.

Read from the JSON files of ``emorynlp/emotion-detection`` (release 1.0), as published::

    json/emotion-detection-trn.json   json/emotion-detection-dev.json   json/emotion-detection-tst.json

(``root`` may be the repository or its ``json/`` folder). Each file is nested
``{"season_id", "episodes": [{"episode_id", "scenes": [{"scene_id", "utterances": [{"utterance_id",
"speakers": [...], "transcript", "tokens", "emotion"}]}]}]}``. The publisher's splits are by episode
(77 / 11 / 9 episodes; 9934 / 1344 / 1328 utterances); trn -> train, dev -> validation, tst -> test.

This project's choices: a conversation is one **scene** (the publisher's unit of dialogue; ids
``s01_e15_c01`` are unique across files, so no prefix is needed); utterances keep the file's order;
``speaker`` is the listed speakers joined with " & " (a few utterances are spoken by two or three
characters at once; ``meta["speakers"]`` keeps the list). Labels are the publisher's 7, lower-cased:
neutral, joyful, peaceful, powerful, scared, mad, sad. Transcripts are kept as written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from erc_bench import DataError, DatasetCard, DatasetSplits, Problem, SplitCount, Utterance

from .common import check_text, conversation_list, empty_splits, finish, layout_error, resolve_root

LABELS = ["neutral", "joyful", "peaceful", "powerful", "scared", "mad", "sad"]
FILES = {"train": "emotion-detection-trn.json", "validation": "emotion-detection-dev.json",
         "test": "emotion-detection-tst.json"}
LAYOUT = "json/emotion-detection-{trn,dev,tst}.json from github.com/emorynlp/emotion-detection"
CARD = DatasetCard(
    title="EmoryNLP (emotion detection on Friends)",
    url="https://github.com/emorynlp/emotion-detection",
    citation="""@inproceedings{zahiri2018emotion,
  title     = {Emotion Detection on {TV} Show Transcripts with Sequence-based Convolutional Neural Networks},
  author    = {Zahiri, Sayyed M. and Choi, Jinho D.},
  booktitle = {The AAAI Workshop on Affective Content Analysis (AFFCON'18)},
  year      = {2018}
}""",
    licence="Apache-2.0",
    obtain=("git clone https://github.com/emorynlp/emotion-detection (or its release 1.0 tarball)",
            "point params.root at the clone (or its json/ folder)"),
    layout=("json/emotion-detection-trn.json", "json/emotion-detection-dev.json", "json/emotion-detection-tst.json",
            "each: episodes > scenes > utterances {utterance_id, speakers, transcript, tokens, emotion}"),
    splits="the publisher's episode split: trn (77 episodes) / dev (11) / tst (9); a scene is a conversation",
    counts=(SplitCount("train", 9934, 713, "trn"), SplitCount("validation", 1344, 99, "dev"),
            SplitCount("test", 1328, 85, "tst")),
    label_map=tuple((label.capitalize(), label) for label in LABELS),
    defects=("an emotion outside the 7 is an 'unknown-label' problem; an utterance without speakers has none",),
    tasks=("emotion, 7 classes",),
    modalities=("text",),
    notes=("publisher's label counts (trn): Neutral 3034, Joyful 2184, Scared 1285, Mad 1076, Peaceful 900, "
           "Powerful 784, Sad 671",),
)


class EmoryNlpParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: str | None = Field(None, description="clone of emorynlp/emotion-detection (or its json/ folder)")


def _json_dir(root: Path) -> Path:
    return root / "json" if (root / "json").is_dir() else root


class EmoryNlp:
    """EmoryNLP: 7 emotions, scenes as conversations, the publisher's episode split; text only."""

    name: ClassVar[str] = "emorynlp"
    Params: ClassVar[type[BaseModel]] = EmoryNlpParams
    card: ClassVar[DatasetCard] = CARD

    def __init__(self, params: EmoryNlpParams) -> None:
        self.params = params

    def load(self) -> DatasetSplits:
        folder = _json_dir(resolve_root(self.params.root, CARD, LAYOUT))
        splits, problems = empty_splits(), []
        for split, file_name in FILES.items():
            path = folder / file_name
            if not path.is_file():
                raise layout_error(CARD, path, LAYOUT)
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise DataError(f"EmoryNLP: cannot read {path}: {exc}", obtain=CARD.obtain) from None
            splits[split] = conversation_list(self._scenes(document, path, problems))
        return finish(self.name, LABELS, splits, problems)

    @staticmethod
    def _scenes(document: Any, path: Path, problems: list[Problem]) -> dict[str, list[Utterance]]:
        if not isinstance(document, dict) or not isinstance(document.get("episodes"), list):
            raise layout_error(CARD, path, "a JSON object with an 'episodes' list")
        groups: dict[str, list[Utterance]] = {}
        for episode in document["episodes"]:
            for scene in episode.get("scenes", []) if isinstance(episode, dict) else []:
                scene_id = str(scene.get("scene_id", ""))
                for index, row in enumerate(scene.get("utterances", [])):
                    utt_id = str(row.get("utterance_id") or f"{scene_id}_u{index + 1:03d}")
                    emotion = str(row.get("emotion", "")).strip()
                    if emotion.lower() not in LABELS:
                        problems.append(Problem("unknown-label", utt_id, f"emotion '{emotion}'"))
                        continue
                    speakers = [str(s) for s in row.get("speakers") or []]
                    utterance = Utterance(id=utt_id, conversation_id=scene_id, position=index,
                                          text=str(row.get("transcript") or "").strip(), label=emotion.lower(),
                                          speaker=" & ".join(speakers) or None,
                                          meta={"speakers": speakers, "episode": episode.get("episode_id", "")})
                    check_text(utterance, problems)
                    groups.setdefault(scene_id, []).append(utterance)
        return groups
