"""Token and cost estimates for the dry run and the usage report.

Prices are USD per million tokens (input, output) from the providers' public
price lists at the time of writing: ESTIMATES, which change; check your
provider's page before a large run. Batch APIs (OpenAI, Anthropic) bill half.
Token counts before a run are estimated at ~4 characters per token plus a fixed
overhead per chat message; after a run the providers' own usage numbers are used.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-3.5-turbo": (0.50, 1.50),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "claude-3-haiku-20240307": (0.25, 1.25),
    "claude-3-5-haiku-latest": (0.80, 4.00),
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-sonnet-4-5": (3.00, 15.00),
    "mistralai/Mixtral-8x7B-Instruct-v0.1": (0.60, 0.60),
    "meta-llama/Llama-3-8b-chat-hf": (0.20, 0.20),
}
BATCH_DISCOUNT = 0.5
CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 8


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN) + MESSAGE_OVERHEAD_TOKENS


def price_for(model: str) -> tuple[float, float] | None:
    if model in PRICES_PER_MILLION:
        return PRICES_PER_MILLION[model]
    base = model.rsplit("/", 1)[-1]
    for known, price in PRICES_PER_MILLION.items():  # dated snapshots, e.g. gpt-3.5-turbo-0125
        if base.startswith(known.rsplit("/", 1)[-1]):
            return price
    return None


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int, batch: bool = False) -> float | None:
    price = price_for(model)
    if price is None:
        return None
    cost = (prompt_tokens * price[0] + completion_tokens * price[1]) / 1e6
    return cost * (BATCH_DISCOUNT if batch else 1.0)


@dataclass
class Usage:
    """What a labeller actually spent in this process (from the providers' usage fields)."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    cost_usd: float | None = 0.0

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


@dataclass
class DryRunEstimate:
    """What a run would send: requests = transcripts not already in the label cache."""

    transcripts: int
    cached: int
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    model: str
    mode: str

    def as_dict(self) -> dict[str, float | int | str | None]:
        return asdict(self)

    def summary(self) -> str:
        cost = "unknown (no price for this model)" if self.cost_usd is None else f"${self.cost_usd:.4f}"
        return (f"{self.requests} requests ({self.cached} of {self.transcripts} transcripts cached), "
                f"~{self.prompt_tokens} prompt + ~{self.completion_tokens} completion tokens, "
                f"estimated cost {cost} [{self.model}, {self.mode}]")
