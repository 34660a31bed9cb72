"""Registers the built-in labellers (openai, anthropic, together, hf-local, lexicon) and the ``llm-erc`` system.

The modules imported here load no SDK, torch or transformers at import time.
"""

from erc_bench import hookimpl
from erc_bench_labellers.erc_system import LLMERCSystem
from erc_bench_labellers.local import HFLocalLabeller, LexiconLabeller
from erc_bench_labellers.providers import AnthropicLabeller, OpenAILabeller, TogetherLabeller


@hookimpl
def erc_bench_register_labellers(register):
    for cls in (OpenAILabeller, AnthropicLabeller, TogetherLabeller, HFLocalLabeller, LexiconLabeller):
        register(cls)


@hookimpl
def erc_bench_register_systems(register):
    register(LLMERCSystem)
