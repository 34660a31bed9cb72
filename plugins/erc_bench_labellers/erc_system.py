"""``llm-erc``: a whole system that asks an LLM for the label of every validation and test utterance.

One request per utterance (``erc_prompts``: the conversation window, speakers, the dataset's own label set,
``template`` = ``instructerc`` | ``bioserc`` or a spec's own text; ``shots`` demonstrations drawn from the
train split with the run's seed, balanced across labels, never from validation or test; ``spoken_cues``
describing each turn's prosody, ``erc_cues``). Requests go through the labellers' machinery
(``llm.LLMLabeller`` of the chosen ``provider``): the same retries, concurrency, provider batch APIs,
masked keys and crash-safe answer store. Each request is keyed by its full text and the model, so no
request is paid twice: a rerun after a kill asks only what has no stored answer, and zero-shot prompts,
which do not depend on the seed, are asked once for all seeds (few-shot prompts carry their seed's
demonstrations, so their keys differ by seed). The store lives in the system's folder of the run's cache
unless ``cache_path`` names one.

Answers are parsed strictly (``erc_prompts.parse_label``); an unparsable answer or a failed request is
never guessed: that utterance gets the train split's majority label, and the counts (``llm_fallbacks``,
``llm_unparsable``, ``llm_failed``) are logged beside the split's scores. ``erc-bench run SPEC --dry-run``
prints requests, tokens (tiktoken where installed, else ~4 characters per token, said so) and cost.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from erc_bench import Conversation, DatasetSplits, SystemContext, UserError, redact_secrets
from erc_bench_labellers.erc_prompts import (
    DEFAULT_TEMPLATES,
    UNKNOWN_SPEAKER,
    Demonstration,
    Template,
    Turn,
    build_prompt,
    check_custom_text,
    parse_label,
    window,
)
from erc_bench_labellers.llm import ClientParams, LLMLabeller
from erc_bench_labellers.pricing import DryRunEstimate, estimate_tokens
from erc_bench_labellers.prompting import Prompt, prompt_text
from erc_bench_labellers.store import label_key

log = logging.getLogger("erc_bench.llm_erc")
STORE_FILE = "answers.sqlite"
STATE_FILE = "llm_erc.json"


class LLMERCParams(ClientParams):
    provider: Literal["openai", "anthropic", "together"] = "openai"
    model: str = Field("gpt-4o-mini", description="e.g. gpt-4o-mini, claude-haiku-4-5, a local server's model")
    # None: the provider's own default variable
    api_key_env: str | None = Field(None, description="default: the provider's (OPENAI_API_KEY, ...); '' = no key")  # type: ignore[assignment]
    send_temperature: bool = Field(True, description="anthropic: send temperature 0; false for models rejecting it")
    concurrency: int = Field(64, ge=1, le=256)
    template: Literal["instructerc", "bioserc"] = "instructerc"
    template_text: str | None = Field(None, description="the (user) message in place of the template's")
    system_text: str | None = Field(None, description="a system message in place of the template's")
    template_file: str | None = Field(None, description="a UTF-8 file whose text is template_text")
    context_turns: int = Field(12, ge=0, description="turns before the target shown with it")
    future_turns: int = Field(0, ge=0, description="turns after the target shown too (the prompt says so)")
    shots: int = Field(0, ge=0, le=64, description="demonstrations from the train split, balanced across labels")
    spoken_cues: bool = Field(False, description="describe each turn's prosody from its audio")
    display_name: str | None = Field(None, description="the name in tables; default 'LLM 8-shot (model)'")

    @field_validator("template_text")
    @classmethod
    def _names_the_target(cls, value: str | None) -> str | None:
        return None if value is None else check_custom_text(value)


def _labeller_class(provider: str) -> type[LLMLabeller]:
    from erc_bench_labellers.providers import AnthropicLabeller, OpenAILabeller, TogetherLabeller

    return {"openai": OpenAILabeller, "anthropic": AnthropicLabeller, "together": TogetherLabeller}[provider]


def sample_demonstrations(train: Sequence[Any], labels: Sequence[str], shots: int, seed: int) -> list[Demonstration]:
    """``shots`` labelled train utterances, one label after another (balanced), drawn with ``seed``."""
    rng = random.Random(seed)
    pools = {label: [u for u in train if u.label == label and u.text.strip()] for label in labels}
    for pool in pools.values():
        rng.shuffle(pool)
    order = [label for label in labels if pools[label]]
    rng.shuffle(order)
    chosen: list[Any] = []
    while len(chosen) < shots and any(pools[label] for label in order):
        for label in order:
            if pools[label] and len(chosen) < shots:
                chosen.append(pools[label].pop())
    rng.shuffle(chosen)
    return [Demonstration(u.speaker or UNKNOWN_SPEAKER, u.text.strip(), u.label) for u in chosen]


def token_counter(model: str) -> tuple[Callable[[str], int], str]:
    """(tokens of a text, how they are counted): tiktoken where installed and its tables load, else chars/4."""
    try:
        import tiktoken

        try:
            encoding = tiktoken.encoding_for_model(model)
        except KeyError:
            encoding = tiktoken.get_encoding("o200k_base")
        return (lambda text: len(encoding.encode(text)) + 8), f"tokens counted with tiktoken ({encoding.name})"
    except Exception:  # noqa: BLE001 - not installed, or its tables cannot be fetched offline
        return estimate_tokens, "tokens ESTIMATED at ~4 characters each (tiktoken unavailable)"


@dataclass
class ERCEstimate:
    """What ``erc-bench run SPEC --dry-run`` prints for one dataset."""

    utterances: int
    estimate: DryRunEstimate
    counted: str

    def summary(self) -> str:
        e = self.estimate
        cost = "unknown (no price for this model)" if e.cost_usd is None else f"${e.cost_usd:.4f}"
        return (f"{e.requests} requests ({e.cached} of {e.transcripts} distinct prompts already answered, "
                f"{self.utterances} utterance predictions over all seeds), ~{e.prompt_tokens} prompt + "
                f"~{e.completion_tokens} completion tokens, estimated cost {cost} [{e.model}, {e.mode}]; "
                f"{self.counted}")


class LLMERCSystem:
    """An LLM labels each utterance from its conversation (InstructERC / BiosERC prompts, zero- or few-shot,
    optional spoken cues); unparsable answers fall back to the train majority label and are counted."""

    name: ClassVar[str] = "llm-erc"
    Params: ClassVar[type[LLMERCParams]] = LLMERCParams

    def __init__(self, params: LLMERCParams) -> None:
        self.params = params
        text = Path(params.template_file).read_text(encoding="utf-8") if params.template_file else None
        base = DEFAULT_TEMPLATES[params.template]
        user = params.template_text or (check_custom_text(text) if text is not None else base.user)
        self.template = Template(base.family, user, params.system_text or base.system)
        self.labels: list[str] = []
        self.majority = ""
        self.demos: list[Demonstration] = []
        self.scale: dict[str, list[float]] | None = None
        self.last: dict[str, float] = {}
        self._labeller: LLMLabeller | None = None

    # ------------------------------------------------------------ identity
    def model_id(self) -> str:
        return str(redact_secrets(self.params.model))

    def display_name(self) -> str:
        if self.params.display_name:
            return self.params.display_name
        shots = "zero-shot" if self.params.shots == 0 else f"{self.params.shots}-shot"
        return f"LLM {shots} ({self.model_id()})"

    def labeller(self, folder: str | None = None) -> LLMLabeller:
        """The provider's client machinery; its store: ``cache_path``, else ``folder``/answers.sqlite."""
        if self._labeller is None:
            cls = _labeller_class(self.params.provider)
            fields = self.params.model_dump(exclude_none=True)
            fields = {k: v for k, v in fields.items() if k in cls.Params.model_fields and k != "prompt"}
            self._labeller = cls(cls.Params(**fields))
        if folder is not None and not self.params.cache_path:
            self._labeller.place_label_store(str(Path(folder) / STORE_FILE))
        return self._labeller

    def check_ready(self) -> None:
        """``Preflight``: the key and the SDK, before any corpus is read (building the client sends nothing)."""
        self.labeller().check_ready()

    # ------------------------------------------------------------ fit / predict
    def fit(self, data: DatasetSplits, context: SystemContext) -> None:
        self.labels = list(data.labels)
        train = [u for c in data.splits.get("train", []) for u in c.utterances if u.label is not None]
        counts = Counter(u.label for u in train)
        if not counts:
            raise UserError(f"llm-erc: {data.name} has no labelled train utterance to take a fallback label from")
        self.majority = max(self.labels, key=lambda label: (counts[label], -self.labels.index(label)))
        self.demos = sample_demonstrations(train, self.labels, self.params.shots, context.seed)
        self.scale = None
        if self.params.spoken_cues:
            from erc_bench_labellers.erc_cues import CueMeter, terciles

            measured = CueMeter(context.cache_dir).measure(train)
            if any(m is not None for m in measured.values()):
                self.scale = terciles(list(measured.values()))
            else:
                log.warning("llm-erc: %s: no train utterance has readable audio; spoken cues are left out", data.name)

    def _turns(self, conversation: Conversation, cues: dict[str, Any] | None) -> list[Turn]:
        from erc_bench_labellers.erc_cues import describe

        return [Turn(u.speaker or UNKNOWN_SPEAKER, u.text.strip(),
                     describe(cues.get(u.id), self.scale or {}) if cues is not None else None)
                for u in conversation.utterances]

    def prompts(self, conversations: Sequence[Conversation], context: SystemContext) -> dict[str, tuple[str, Prompt]]:
        """Utterance id -> (store key, prompt)."""
        if not self.labels:
            raise UserError("llm-erc: predict before fit (no label set): run the benchmark, or load a fitted run")
        cues: dict[str, Any] | None = None
        if self.params.spoken_cues and self.scale is not None:
            from erc_bench_labellers.erc_cues import CueMeter

            cues = CueMeter(context.cache_dir).measure([u for c in conversations for u in c.utterances])
        scope = f"{self.name}/{self.params.provider}"
        out: dict[str, tuple[str, Prompt]] = {}
        for conversation in conversations:
            turns = self._turns(conversation, cues)
            for index, utterance in enumerate(conversation.utterances):
                before, after = window(turns, index, self.params.context_turns, self.params.future_turns)
                prompt = build_prompt(self.template, self.labels, before, after, self.demos)
                out[utterance.id] = (label_key(scope, self.model_id(), "", prompt_text(prompt)), prompt)
        return out

    def predict(self, conversations: list[Conversation], context: SystemContext) -> dict[str, str]:
        planned = self.prompts(conversations, context)
        labeller = self.labeller(context.cache_dir)
        labeller.parse_raw = lambda raw: parse_label(raw, self.labels)
        outcomes = labeller.ask(dict(planned.values()))
        answers: dict[str, str] = {}
        unparsable: list[str] = []
        failed = 0
        for uid, (key, _) in planned.items():
            outcome = outcomes[key]
            if outcome.status == "ok" and outcome.label in self.labels:
                answers[uid] = outcome.label
                continue
            answers[uid] = self.majority
            if outcome.status == "unparsable":
                unparsable.append(outcome.raw)
            else:
                failed += 1
        if unparsable:
            log.warning("llm-erc: %d unparsable answers got the majority label '%s', e.g. %s", len(unparsable),
                        self.majority, [a[:60] for a in unparsable[:3]])
        if failed:
            log.warning("llm-erc: %d requests failed; they got the majority label and are asked again next run",
                        failed)
        self.last = {"llm_fallbacks": float(len(unparsable) + failed), "llm_unparsable": float(len(unparsable)),
                     "llm_failed": float(failed)}
        return answers

    def metrics(self) -> dict[str, float]:
        """``ReportsMetrics``: the counts of the last ``predict`` call, logged beside that split's scores."""
        return dict(self.last)

    # ------------------------------------------------------------ dry run, state
    def estimate_cost(self, data: DatasetSplits, seeds: Sequence[int], context: SystemContext) -> ERCEstimate:
        """``erc-bench run --dry-run``: fit each seed (train only) and plan validation and test; send nothing."""
        planned: dict[str, Prompt] = {}
        utterances = 0
        for seed in seeds:
            self.fit(data, replace(context, seed=seed))
            for split in ("validation", "test"):
                for key, prompt in self.prompts(data.splits.get(split, []), context).values():
                    planned[key] = prompt
                    utterances += 1
        count, how = token_counter(self.params.model)
        return ERCEstimate(utterances, self.labeller(context.cache_dir).estimate_prompts(planned, count), how)

    def save(self, directory: str) -> None:
        state = {"labels": self.labels, "majority": self.majority, "scale": self.scale,
                 "demos": [[d.speaker, d.text, d.label] for d in self.demos]}
        Path(directory, STATE_FILE).write_text(json.dumps(state), encoding="utf-8")

    def load(self, directory: str) -> None:
        state = json.loads(Path(directory, STATE_FILE).read_text(encoding="utf-8"))
        self.labels, self.majority, self.scale = state["labels"], state["majority"], state["scale"]
        self.demos = [Demonstration(*d) for d in state["demos"]]
