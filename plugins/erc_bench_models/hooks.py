"""Registers the built-in model components: text encoders (hf-text, hf-llm), Stage I speech heads, context models,
fusion heads (MERITS-L's co-attention, concat and late, and the zoo's tfn, lmf, mult and mixture-of-experts).

Only lightweight classes are imported here; torch and transformers load when a
component is built.
"""

from __future__ import annotations

from erc_bench import Register, hookimpl
from erc_bench_models.context import BiGRUAttentionContext, MeanPoolContext, NoContext
from erc_bench_models.context_zoo import BcLSTMContext, DialogueGCNContext, DialogueRNNContext, TransformerContext
from erc_bench_models.fusion import CoAttentionFusion, ConcatFusion, LateFusion
from erc_bench_models.fusion_zoo import LowRankFusion, MixtureOfExpertsFusion, MultimodalTransformer, TensorFusion
from erc_bench_models.llm import HFLLMEncoder
from erc_bench_models.speech_heads import CareAuthorsHead, MlpHead
from erc_bench_models.text import HFTextEncoder


@hookimpl
def erc_bench_register_text_encoders(register: Register) -> None:
    register(HFTextEncoder)
    register(HFLLMEncoder)


@hookimpl
def erc_bench_register_context_models(register: Register) -> None:
    for cls in (BiGRUAttentionContext, NoContext, MeanPoolContext, BcLSTMContext, DialogueRNNContext,
                DialogueGCNContext, TransformerContext):
        register(cls)


@hookimpl
def erc_bench_register_fusion_heads(register: Register) -> None:
    for cls in (CoAttentionFusion, ConcatFusion, LateFusion, TensorFusion, LowRankFusion, MultimodalTransformer,
                MixtureOfExpertsFusion):
        register(cls)


@hookimpl
def erc_bench_register_speech_heads(register: Register) -> None:
    for cls in (CareAuthorsHead, MlpHead):
        register(cls)
