"""The CARE speech encoder network (Dutta & Ganapathy), imported lazily: it needs torch.

Architecture as the authors' public code defines it (re-implemented here, not copied):

* shared trunk: WavLM-base convolutional front end, feature projection, positional
  convolution + layer norm, then WavLM transformer layers 0-5;
* acoustic branch: WavLM layers 6-11 continue from the trunk (trained to predict
  PASE+ descriptors), followed by a 768 -> 256 projection;
* semantic branch: RoBERTa-base layers 6-11 run on the speech sequence (trained to
  match mean-pooled RoBERTa embeddings of transcripts); around each layer a
  stride-3 convolution shortens the sequence and a transposed convolution restores
  it, and its output is mean-pooled to the 768-d utterance embedding.

Submodule names follow the authors' code, so a ``state_dict`` saved from their
model loads directly; their text-only parts (RoBERTa embeddings and layers 0-5)
are unused for speech and are ignored when present.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

IGNORED_CHECKPOINT_PREFIXES = ("roberta_embeddings.", "text_model.", "attenpool.", "decoder.")
ROBERTA_BASE = {"layer_norm_eps": 1e-5, "vocab_size": 50265, "max_position_embeddings": 514, "type_vocab_size": 1,
                "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2}


def _layer_output(out: Any) -> torch.Tensor:
    """Transformers layers return a tensor (v5) or a tuple whose first item is it (v4)."""
    return out[0] if isinstance(out, (tuple, list)) else out


class CareNetwork(nn.Module):
    """Speech-only forward of CARE; returns per-layer features of both branches and the pooled vector."""

    def __init__(self, wavlm_overrides: dict[str, Any] | None = None,
                 roberta_overrides: dict[str, Any] | None = None, shared_layers: int = 6,
                 acoustic_dim: int = 256) -> None:
        super().__init__()
        from transformers import RobertaConfig, WavLMConfig, WavLMModel
        from transformers.models.roberta.modeling_roberta import RobertaLayer

        wavlm_config = WavLMConfig(**(wavlm_overrides or {}))
        # RobertaConfig() defaults are BERT's; roberta-base differs in what its layers use: layer-norm eps
        roberta_config = RobertaConfig(**{**ROBERTA_BASE, **(roberta_overrides or {})})
        roberta_config._attn_implementation = "sdpa"  # layers are used standalone, outside RobertaModel
        hidden = wavlm_config.hidden_size
        if roberta_config.hidden_size != hidden:
            raise ValueError(f"WavLM hidden size {hidden} != RoBERTa hidden size {roberta_config.hidden_size}")
        layers = wavlm_config.num_hidden_layers
        if roberta_config.num_hidden_layers != layers or not 0 < shared_layers < layers:
            raise ValueError("CARE needs WavLM and RoBERTa with the same layer count, more than shared_layers")
        wavlm = WavLMModel(wavlm_config)
        self.hidden_size, self.num_layers = hidden, layers
        self.audio_feature_extractor = nn.Sequential(*wavlm.feature_extractor.conv_layers)
        self.feature_projection_audio = wavlm.feature_projection
        self.pos_conv = wavlm.encoder.pos_conv_embed
        self.wavlm_layer_norm = wavlm.encoder.layer_norm
        self.audio_model = nn.ModuleList(wavlm.encoder.layers[:shared_layers])
        self.dual_model = nn.ModuleList(wavlm.encoder.layers[shared_layers:])
        self.linear = nn.Linear(hidden, acoustic_dim)
        self.common_model = nn.ModuleList(RobertaLayer(roberta_config) for _ in range(layers - shared_layers))
        self.downblock = nn.ModuleList(nn.Conv1d(hidden, hidden, kernel_size=5, stride=3)
                                       for _ in range(layers - shared_layers))
        self.upblock = nn.ModuleList(nn.ConvTranspose1d(hidden, hidden, kernel_size=5, stride=3, output_padding=1)
                                     for _ in range(layers - shared_layers))
        self.eval()

    def _trunk_input(self, audio: torch.Tensor) -> torch.Tensor:
        feats = self.audio_feature_extractor(audio.unsqueeze(1)).transpose(1, 2)
        feats = self.feature_projection_audio(feats)[0]
        feats = feats + self.pos_conv(feats)
        return self.wavlm_layer_norm(feats)

    @staticmethod
    def _match_length(x: torch.Tensor, length: int) -> torch.Tensor:
        if x.shape[1] < length:
            pad = x.new_zeros(x.shape[0], length - x.shape[1], x.shape[2])
            return torch.cat((x, pad), dim=1)
        return x[:, :length]

    @torch.no_grad()
    def forward(self, audio: torch.Tensor) -> dict[str, torch.Tensor]:
        """``audio`` [B, samples] -> semantic/acoustic per-layer sequences, pooled [B, H], acoustic [B, T, A]."""
        return self.branches(audio)

    def branches(self, audio: torch.Tensor, detach_acoustic: bool = False) -> dict[str, torch.Tensor]:
        """The forward with gradients. ``detach_acoustic`` cuts the acoustic branch off the shared trunk
        (CARE pre-training: the acoustic loss must not move the trunk, only layers 6-11 and the projection)."""
        x = self._trunk_input(audio)
        semantic_layers, acoustic_layers = [x], [x]
        position_bias = None
        for layer in self.audio_model:
            x, position_bias = layer(x, position_bias=position_bias)
            semantic_layers.append(x)
            acoustic_layers.append(x)
        trunk = x
        acoustic = trunk.detach() if detach_acoustic else trunk
        bias = position_bias.detach() if detach_acoustic and position_bias is not None else position_bias
        for layer in self.dual_model:
            acoustic, bias = layer(acoustic, position_bias=bias)
            acoustic_layers.append(acoustic)
        semantic = trunk
        for down, layer, up in zip(self.downblock, self.common_model, self.upblock, strict=True):
            shortened = down(semantic.transpose(1, 2)).transpose(1, 2)
            semantic = up(_layer_output(layer(shortened)).transpose(1, 2)).transpose(1, 2)
            semantic = self._match_length(semantic, trunk.shape[1])
            semantic_layers.append(semantic)
        return {
            "semantic_layers": torch.stack(semantic_layers),
            "acoustic_layers": torch.stack(acoustic_layers),
            "pooled": semantic.mean(dim=1),
            "acoustic": self.linear(acoustic),
        }

    def min_samples(self) -> int:
        """Shortest waveform whose frames survive the front end and one stride-3 convolution (kernel 5)."""
        samples = 400
        while True:
            frames = samples
            for conv in self.audio_feature_extractor:
                c = conv.conv
                frames = (frames - c.kernel_size[0]) // c.stride[0] + 1
            if frames >= 5:
                return samples
            samples += 160
