"""The catalog's workloads written in plain PyTorch, with random weights: nothing is downloaded.

Imported only by ``explorer.measure.bench`` once a measurement starts, so that the package and the test
suite need no torch. Shapes come from the catalog's workload files (see each function's docstring);
``tiny=True`` keeps the same code with small shapes for the CPU dry run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# -- ResNet-50 v1.5 (catalog/workloads/resnet-50.toml: 224x224 RGB, 1,000 classes) ---------------------


class Bottleneck(nn.Module):
    """v1.5: the stride sits on the 3x3 convolution (torchvision's ResNet-50)."""

    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = width * 4
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idt = x if self.down is None else self.down(x)
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        return F.relu(self.bn3(self.conv3(y)) + idt)


class ResNet50(nn.Module):
    def __init__(self, base: int = 64, classes: int = 1000) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, base, 7, 2, 3, bias=False), nn.BatchNorm2d(base), nn.ReLU(), nn.MaxPool2d(3, 2, 1)
        )
        layers, cin = [], base
        for i, blocks in enumerate((3, 4, 6, 3)):
            width = base * 2**i
            for b in range(blocks):
                layers.append(Bottleneck(cin, width, 2 if (b == 0 and i > 0) else 1))
                cin = width * 4
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.layers(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


# -- BERT-Large encoder (catalog/workloads/bert-large.toml: 24 layers, hidden 1024, 16 heads, 384 tokens)


class EncoderLayer(nn.Module):
    def __init__(self, hidden: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.ln1 = nn.LayerNorm(hidden)
        self.up = nn.Linear(hidden, ffn)
        self.down = nn.Linear(ffn, hidden)
        self.ln2 = nn.LayerNorm(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, h = x.shape
        q, k, v = self.qkv(x).view(b, s, 3, self.heads, h // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, s, h)
        x = self.ln1(x + self.out(a))
        return self.ln2(x + self.down(F.gelu(self.up(x))))


class BertQA(nn.Module):
    """BERT encoder with the SQuAD span head (start and end logits)."""

    def __init__(self, layers: int, hidden: int, heads: int, ffn: int, vocab: int, positions: int) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab, hidden)
        self.pos = nn.Embedding(positions, hidden)
        self.typ = nn.Embedding(2, hidden)
        self.ln = nn.LayerNorm(hidden)
        self.layers = nn.ModuleList(EncoderLayer(hidden, heads, ffn) for _ in range(layers))
        self.qa = nn.Linear(hidden, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.ln(self.tok(ids) + self.pos(pos) + self.typ(torch.zeros_like(ids)))
        for layer in self.layers:
            x = layer(x)
        return self.qa(x)


# -- Llama-style decoder with a KV cache (catalog/workloads/llama-3.1-8b.toml) --------------------------


@dataclass(frozen=True)
class LlamaShape:
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int
    rope_theta: float = 500_000.0

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def parameters(self) -> int:
        hd = self.head_dim
        attn = self.hidden * hd * (2 * self.heads + 2 * self.kv_heads)
        per_layer = attn + 3 * self.hidden * self.ffn + 2 * self.hidden
        return self.layers * per_layer + 2 * self.vocab * self.hidden + self.hidden


#: Llama-3.1-8B's published configuration (the workload file's note: hidden 4096, 32 layers, 32 heads,
#: 8 KV heads, head dim 128); FFN 14,336 and vocabulary 128,256 as in its config.json.
LLAMA_3_1_8B = LlamaShape(layers=32, hidden=4096, heads=32, kv_heads=8, ffn=14336, vocab=128256)
LLAMA_TINY = LlamaShape(layers=2, hidden=64, heads=4, kv_heads=2, ffn=128, vocab=256)
#: Llama-2-70B's published configuration (catalog/workloads/llama-2-70b.toml: hidden 8192, 80 layers, 64
#: heads, 8 KV heads, head dim 128, FFN 28,672, vocabulary 32,000, untied embeddings; RoPE base 10,000).
LLAMA_2_70B = LlamaShape(
    layers=80, hidden=8192, heads=64, kv_heads=8, ffn=28672, vocab=32000, rope_theta=10_000.0
)


class FP8Linear(nn.Module):
    """A bias-free linear layer held as FP8 serving stacks hold a dense LLM (TensorRT-LLM's and vLLM's FP8
    checkpoints): e4m3 weights with one scale per tensor, the input cast to e4m3 with a static per-tensor
    scale, the product by ``torch._scaled_mm`` (FP8 tensor cores: compute capability 8.9 or newer), out in
    the activations' format. Random weights are drawn as standard normals in e4m3 and scaled by
    1/sqrt(inputs), the spread of the bf16 layers; inputs are normalised or products of unit-scale values,
    so a static input scale of 1 keeps them inside e4m3's range (448)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        w = torch.randn(cout, cin, dtype=torch.bfloat16).to(torch.float8_e4m3fn)  # one matrix at a time
        self.weight = nn.Parameter(w, requires_grad=False)
        self.register_buffer("w_scale", torch.tensor(1.0 / math.sqrt(cin), dtype=torch.float32))
        self.register_buffer("x_scale", torch.tensor(1.0, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = x.reshape(-1, x.shape[-1]).to(torch.float8_e4m3fn)
        y = torch._scaled_mm(
            q, self.weight.t(), scale_a=self.x_scale, scale_b=self.w_scale, out_dtype=x.dtype
        )
        return y.view(*x.shape[:-1], self.weight.shape[0])


def _bf16_linear(cin: int, cout: int) -> nn.Module:
    return nn.Linear(cin, cout, bias=False)


def rms_norm(x: torch.Tensor, w: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * w


def rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate halves (the Hugging Face Llama layout); x is [batch, heads, tokens, head_dim]."""
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


class DecoderLayer(nn.Module):
    def __init__(self, s: LlamaShape, fp8: bool = False) -> None:
        super().__init__()
        self.s = s
        hd = s.head_dim
        linear = FP8Linear if fp8 else _bf16_linear
        self.wq = linear(s.hidden, s.heads * hd)
        self.wk = linear(s.hidden, s.kv_heads * hd)
        self.wv = linear(s.hidden, s.kv_heads * hd)
        self.wo = linear(s.heads * hd, s.hidden)
        self.gate = linear(s.hidden, s.ffn)
        self.up = linear(s.hidden, s.ffn)
        self.down = linear(s.ffn, s.hidden)
        self.n1 = nn.Parameter(torch.ones(s.hidden))
        self.n2 = nn.Parameter(torch.ones(s.hidden))

    def forward(
        self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor], start: int, cs
    ) -> torch.Tensor:
        b, t, _ = x.shape
        s, hd = self.s, self.s.head_dim
        h = rms_norm(x, self.n1)
        q = self.wq(h).view(b, t, s.heads, hd).transpose(1, 2)
        k = self.wk(h).view(b, t, s.kv_heads, hd).transpose(1, 2)
        v = self.wv(h).view(b, t, s.kv_heads, hd).transpose(1, 2)
        cos, sin = cs
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        kc, vc = cache
        kc[:b, :, start : start + t] = k
        vc[:b, :, start : start + t] = v
        keys, values = kc[:b, :, : start + t], vc[:b, :, : start + t]
        # prefill: causal over the prompt; decode (one new token): it sees the whole cache, no mask
        a = F.scaled_dot_product_attention(q, keys, values, is_causal=t > 1, enable_gqa=True)
        x = x + self.wo(a.transpose(1, 2).reshape(b, t, s.heads * hd))
        h = rms_norm(x, self.n2)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    """A Llama decoder; ``fp8``: every layer's linear maps in FP8 (``FP8Linear``), the embedding, the
    output projection, attention and the KV cache in the activations' format, as FP8 serving stacks run it."""

    def __init__(self, s: LlamaShape, fp8: bool = False) -> None:
        super().__init__()
        self.s = s
        self.embed = nn.Embedding(s.vocab, s.hidden)
        self.layers = nn.ModuleList(DecoderLayer(s, fp8) for _ in range(s.layers))
        self.norm = nn.Parameter(torch.ones(s.hidden))
        self.head = nn.Linear(s.hidden, s.vocab, bias=False)

    def new_cache(self, batch: int, tokens: int, device, dtype) -> list[tuple[torch.Tensor, torch.Tensor]]:
        shape = (batch, self.s.kv_heads, tokens, self.s.head_dim)
        return [
            (torch.empty(shape, device=device, dtype=dtype), torch.empty(shape, device=device, dtype=dtype))
            for _ in range(self.s.layers)
        ]

    def _rope_tables(self, start: int, t: int, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
        hd = self.s.head_dim
        inv = 1.0 / (self.s.rope_theta ** (torch.arange(0, hd, 2, device=device).float() / hd))
        ang = torch.outer(torch.arange(start, start + t, device=device).float(), inv)
        ang = torch.cat((ang, ang), dim=-1)
        return ang.cos().to(dtype), ang.sin().to(dtype)

    def forward(self, ids: torch.Tensor, cache, start: int) -> torch.Tensor:
        """Logits of the last position only (a full-vocabulary logit for every prompt token is not needed)."""
        x = self.embed(ids)
        cs = self._rope_tables(start, ids.shape[1], ids.device, x.dtype)
        for layer, c in zip(self.layers, cache, strict=True):
            x = layer(x, c, start, cs)
        return self.head(rms_norm(x[:, -1:], self.norm))


# -- Whisper large-v3 encoder-decoder (catalog/workloads/whisper-large-v3.toml) --------------------------


@dataclass(frozen=True)
class WhisperShape:
    """Encoder and decoder of ``layers`` pre-norm transformer layers each; the encoder reads ``mels`` x
    ``frames`` (30 s at 100 frames/s), halved by its second convolution to ``frames // 2`` positions."""

    layers: int
    hidden: int
    heads: int
    ffn: int
    mels: int
    frames: int
    vocab: int
    text_positions: int

    def parameters(self) -> int:
        h, f = self.hidden, self.ffn
        attn = 4 * h * h + 3 * h  # q, k (no bias), v, out: weights and the three biases
        mlp = 2 * h * f + f + h
        norm = 2 * h
        enc_layer = attn + mlp + 2 * norm
        dec_layer = 2 * attn + mlp + 3 * norm
        convs = self.mels * h * 3 + h + h * h * 3 + h
        return (
            convs
            + self.layers * (enc_layer + dec_layer)
            + 2 * norm  # the encoder's and the decoder's final norms
            + self.vocab * h  # token embedding, tied to the output projection
            + self.text_positions * h  # learned text positions (the encoder's are fixed sinusoids)
        )


#: Whisper large-v3 as the workload file counts it (Hugging Face WhisperForConditionalGeneration: 32+32
#: layers, d_model 1280, 20 heads, FFN 5120, 128 mel bins, vocabulary 51,866; 448 text positions).
WHISPER_LARGE_V3 = WhisperShape(
    layers=32, hidden=1280, heads=20, ffn=5120, mels=128, frames=3000, vocab=51866, text_positions=448
)
WHISPER_TINY = WhisperShape(
    layers=2, hidden=64, heads=4, ffn=128, mels=16, frames=64, vocab=256, text_positions=32
)


class _Attention(nn.Module):
    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(hidden, hidden)
        self.k = nn.Linear(hidden, hidden, bias=False)
        self.v = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, hidden)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        return x.view(b, t, self.heads, h // self.heads).transpose(1, 2)

    def merge(self, a: torch.Tensor) -> torch.Tensor:
        b, _, t, d = a.shape
        return self.out(a.transpose(1, 2).reshape(b, t, self.heads * d))


class WhisperEncoderLayer(nn.Module):
    def __init__(self, s: WhisperShape) -> None:
        super().__init__()
        self.attn = _Attention(s.hidden, s.heads)
        self.ln1, self.ln2 = nn.LayerNorm(s.hidden), nn.LayerNorm(s.hidden)
        self.up, self.down = nn.Linear(s.hidden, s.ffn), nn.Linear(s.ffn, s.hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)
        a = self.attn
        x = x + a.merge(F.scaled_dot_product_attention(a.split(a.q(h)), a.split(a.k(h)), a.split(a.v(h))))
        return x + self.down(F.gelu(self.up(self.ln2(x))))


class WhisperDecoderLayer(nn.Module):
    def __init__(self, s: WhisperShape) -> None:
        super().__init__()
        self.self_attn, self.cross = _Attention(s.hidden, s.heads), _Attention(s.hidden, s.heads)
        self.ln1, self.ln2, self.ln3 = (nn.LayerNorm(s.hidden) for _ in range(3))
        self.up, self.down = nn.Linear(s.hidden, s.ffn), nn.Linear(s.ffn, s.hidden)

    def cross_kv(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder states projected to this layer's cross-attention keys and values, once a request."""
        c = self.cross
        return c.split(c.k(audio)), c.split(c.v(audio))

    def forward(self, x: torch.Tensor, cache, cross_kv, start: int) -> torch.Tensor:
        b, t, _ = x.shape
        a = self.self_attn
        h = self.ln1(x)
        kc, vc = cache
        kc[:b, :, start : start + t] = a.split(a.k(h))
        vc[:b, :, start : start + t] = a.split(a.v(h))
        keys, values = kc[:b, :, : start + t], vc[:b, :, : start + t]
        x = x + a.merge(F.scaled_dot_product_attention(a.split(a.q(h)), keys, values, is_causal=t > 1))
        c = self.cross
        x = x + c.merge(F.scaled_dot_product_attention(c.split(c.q(self.ln2(x))), *cross_kv))
        return x + self.down(F.gelu(self.up(self.ln3(x))))


class Whisper(nn.Module):
    """Whisper's encoder (two convolutions, fixed sinusoidal positions, pre-norm layers) and decoder
    (token embedding tied to the output, learned positions, self- and cross-attention with caches)."""

    def __init__(self, s: WhisperShape) -> None:
        super().__init__()
        self.s = s
        self.conv1 = nn.Conv1d(s.mels, s.hidden, 3, padding=1)
        self.conv2 = nn.Conv1d(s.hidden, s.hidden, 3, stride=2, padding=1)
        positions = s.frames // 2
        inv = torch.exp(-math.log(10_000) * torch.arange(s.hidden // 2).float() / (s.hidden // 2 - 1))
        ang = torch.arange(positions).float()[:, None] * inv[None, :]
        self.register_buffer("audio_pos", torch.cat((ang.sin(), ang.cos()), dim=1), persistent=False)
        self.encoder = nn.ModuleList(WhisperEncoderLayer(s) for _ in range(s.layers))
        self.enc_ln = nn.LayerNorm(s.hidden)
        self.embed = nn.Embedding(s.vocab, s.hidden)
        self.text_pos = nn.Embedding(s.text_positions, s.hidden)
        self.decoder = nn.ModuleList(WhisperDecoderLayer(s) for _ in range(s.layers))
        self.dec_ln = nn.LayerNorm(s.hidden)

    def encode(self, mel: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """A batch of log-mel windows [batch, mels, frames] to every decoder layer's cross keys/values."""
        x = F.gelu(self.conv2(F.gelu(self.conv1(mel)))).transpose(1, 2)
        x = x + self.audio_pos.to(x.dtype)
        for layer in self.encoder:
            x = layer(x)
        audio = self.enc_ln(x)
        return [layer.cross_kv(audio) for layer in self.decoder]

    def new_cache(self, batch: int, tokens: int, device, dtype) -> list[tuple[torch.Tensor, torch.Tensor]]:
        shape = (batch, self.s.heads, tokens, self.s.hidden // self.s.heads)
        return [
            (torch.empty(shape, device=device, dtype=dtype), torch.empty(shape, device=device, dtype=dtype))
            for _ in range(self.s.layers)
        ]

    def forward(self, ids: torch.Tensor, cache, cross, start: int) -> torch.Tensor:
        """Logits of the last position, the output projection tied to the token embedding."""
        pos = torch.arange(start, start + ids.shape[1], device=ids.device)
        x = self.embed(ids) + self.text_pos(pos)
        for layer, c, kv in zip(self.decoder, cache, cross, strict=True):
            x = layer(x, c, kv, start)
        return self.dec_ln(x[:, -1:]) @ self.embed.weight.t()


# -- Stable Diffusion XL 1.0 base: UNet and VAE decoder (catalog/workloads/sdxl.toml) --------------------


@dataclass(frozen=True)
class SDXLShape:
    """The published SDXL-base UNet and VAE configurations the workload file counts (block_out_channels
    320/640/1280, transformer_layers_per_block 1/2/10 with the first level's attention off, cross-attention
    width 2048, head dim 64; VAE decoder 512/512/256/128, 4 latent channels), scaled by ``width`` and
    ``depth`` for the dry run. ``latent`` is the latent's side (128 for a 1024x1024 image)."""

    channels: tuple[int, int, int] = (320, 640, 1280)
    transformers: tuple[int, int, int] = (0, 2, 10)  # per attention at each level (0: no attention)
    head_dim: int = 64
    text_dim: int = 2048  # the two CLIP text encoders' hidden states, concatenated
    text_tokens: int = 77
    pooled_dim: int = 1280  # the second text encoder's pooled embedding
    time_ids: int = 6  # original size, crop corner, target size: 6 numbers, each 256 sinusoids
    vae_channels: tuple[int, int, int, int] = (128, 256, 512, 512)
    latent: int = 128
    groups: int = 32


SDXL_BASE = SDXLShape()
SDXL_TINY = SDXLShape(
    channels=(32, 64, 64),
    transformers=(0, 1, 1),
    head_dim=16,
    text_dim=32,
    text_tokens=8,
    pooled_dim=32,
    vae_channels=(32, 32, 64, 64),
    latent=8,
    groups=8,
)


def timestep_sinusoids(t: torch.Tensor, dim: int) -> torch.Tensor:
    """diffusers' Timesteps(dim, flip_sin_to_cos=True, freq_shift=0): cosines first, then sines."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device).float() / half)
    ang = t.float()[:, None] * freqs[None, :]
    return torch.cat((ang.cos(), ang.sin()), dim=-1)


class ResBlock(nn.Module):
    """diffusers' ResnetBlock2D: GroupNorm, SiLU, 3x3 convolution (twice), the time embedding added between,
    a 1x1 shortcut when the width changes. The VAE's blocks have no time embedding (``temb`` 0)."""

    def __init__(self, cin: int, cout: int, temb: int, groups: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(temb, cout) if temb else None
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        if self.temb is not None:
            h = h + self.temb(F.silu(emb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.skip is None else self.skip(x)) + h


class _MultiHead(nn.Module):
    """Attention with bias-free q/k/v projections and a biased output (diffusers' Attention as SDXL uses it);
    keys and values from ``context`` when given (cross-attention)."""

    def __init__(self, dim: int, context: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(context, dim, bias=False)
        self.v = nn.Linear(context, dim, bias=False)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        b, t, d = x.shape
        c = x if context is None else context

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, -1, self.heads, d // self.heads).transpose(1, 2)

        a = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(c)), split(self.v(c)))
        return self.out(a.transpose(1, 2).reshape(b, t, d))


class TransformerBlock(nn.Module):
    """diffusers' BasicTransformerBlock: self-attention, cross-attention to the text, GEGLU feed-forward
    (4x width), each pre-LayerNorm with a residual."""

    def __init__(self, dim: int, context: int, heads: int) -> None:
        super().__init__()
        self.n1, self.n2, self.n3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn, self.cross = _MultiHead(dim, dim, heads), _MultiHead(dim, context, heads)
        self.geglu = nn.Linear(dim, 8 * dim)
        self.ff_out = nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.n1(x))
        x = x + self.cross(self.n2(x), text)
        h, gate = self.geglu(self.n3(x)).chunk(2, dim=-1)
        return x + self.ff_out(h * F.gelu(gate))


class SpatialTransformer(nn.Module):
    """diffusers' Transformer2DModel with linear projections: GroupNorm, the feature map as a sequence of
    positions, ``depth`` transformer blocks, back to a map, plus the input."""

    def __init__(self, dim: int, depth: int, s: SDXLShape) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(s.groups, dim, eps=1e-6)
        self.proj_in, self.proj_out = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.blocks = nn.ModuleList(
            TransformerBlock(dim, s.text_dim, dim // s.head_dim) for _ in range(depth)
        )

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        b, c, hh, ww = x.shape
        h = self.proj_in(self.norm(x).permute(0, 2, 3, 1).reshape(b, hh * ww, c))
        for block in self.blocks:
            h = block(h, text)
        return x + self.proj_out(h).reshape(b, hh, ww, c).permute(0, 3, 1, 2)


class _Level(nn.Module):
    """A down or up level: residual blocks, each followed by a spatial transformer when the level has one."""

    def __init__(self, ins: list[int], cout: int, depth: int, temb: int, s: SDXLShape) -> None:
        super().__init__()
        self.res = nn.ModuleList(ResBlock(cin, cout, temb, s.groups) for cin in ins)
        self.attn = nn.ModuleList(SpatialTransformer(cout, depth, s) for _ in ins) if depth else None


class SDXLUNet(nn.Module):
    """The SDXL-base UNet (diffusers' UNet2DConditionModel with its published config): 3 down levels of
    2 residual blocks, a middle block, 3 up levels of 3, skip connections between them; conditioned on the
    timestep, the text states (cross-attention) and the pooled text plus size ids ("text_time")."""

    def __init__(self, s: SDXLShape) -> None:
        super().__init__()
        self.s = s
        c0 = s.channels[0]
        temb = 4 * c0
        self.conv_in = nn.Conv2d(4, c0, 3, padding=1)
        self.time = nn.Sequential(nn.Linear(c0, temb), nn.SiLU(), nn.Linear(temb, temb))
        self.add = nn.Sequential(
            nn.Linear(s.pooled_dim + 256 * s.time_ids, temb), nn.SiLU(), nn.Linear(temb, temb)
        )
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skips, cin = [c0], c0
        for i, (cout, depth) in enumerate(zip(s.channels, s.transformers, strict=True)):
            self.down.append(_Level([cin, cout], cout, depth, temb, s))
            skips += [cout, cout]
            cin = cout
            if i < len(s.channels) - 1:
                self.downsample.append(nn.Conv2d(cout, cout, 3, stride=2, padding=1))
                skips.append(cout)
        top, depth = s.channels[-1], s.transformers[-1]
        self.mid_res = nn.ModuleList((ResBlock(top, top, temb, s.groups), ResBlock(top, top, temb, s.groups)))
        self.mid_attn = SpatialTransformer(top, depth, s)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        prev = top
        for i, (cout, depth) in enumerate(zip(reversed(s.channels), reversed(s.transformers), strict=True)):
            ins = []
            for _ in range(3):
                ins.append(prev + skips.pop())
                prev = cout
            self.up.append(_Level(ins, cout, depth, temb, s))
            if i < len(s.channels) - 1:
                self.upsample.append(nn.Conv2d(cout, cout, 3, padding=1))
        self.norm_out = nn.GroupNorm(s.groups, c0)
        self.conv_out = nn.Conv2d(c0, 4, 3, padding=1)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, text: torch.Tensor, pooled: torch.Tensor, ids: torch.Tensor
    ) -> torch.Tensor:
        """The predicted noise for latents ``x`` [B, 4, H, W] at timesteps ``t`` [B]."""
        s = self.s
        dt = x.dtype
        emb = self.time(timestep_sinusoids(t, s.channels[0]).to(dt))
        size = timestep_sinusoids(ids.flatten(), 256).to(dt).reshape(x.shape[0], -1)
        emb = emb + self.add(torch.cat((pooled, size), dim=-1))
        h = self.conv_in(x)
        skips = [h]
        for i, level in enumerate(self.down):
            for j, res in enumerate(level.res):
                h = res(h, emb)
                if level.attn is not None:
                    h = level.attn[j](h, text)
                skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
                skips.append(h)
        h = self.mid_res[1](self.mid_attn(self.mid_res[0](h, emb), text), emb)
        for i, level in enumerate(self.up):
            for j, res in enumerate(level.res):
                h = res(torch.cat((h, skips.pop()), dim=1), emb)
                if level.attn is not None:
                    h = level.attn[j](h, text)
            if i < len(self.upsample):
                h = self.upsample[i](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


class VAEDecoder(nn.Module):
    """The SDXL VAE's decoder (diffusers' AutoencoderKL.decode): 1x1 post-quantisation convolution, a
    middle block with one single-head attention over every latent position, 4 up levels of 3 residual
    blocks (2x nearest upsampling after each but the last), to an RGB image 8x the latent's side."""

    def __init__(self, s: SDXLShape) -> None:
        super().__init__()
        chans = list(reversed(s.vae_channels))
        top = chans[0]
        self.post_quant = nn.Conv2d(4, 4, 1)
        self.conv_in = nn.Conv2d(4, top, 3, padding=1)
        self.mid_res = nn.ModuleList((ResBlock(top, top, 0, s.groups), ResBlock(top, top, 0, s.groups)))
        self.mid_norm = nn.GroupNorm(s.groups, top, eps=1e-6)
        self.mid_attn = _MultiHead(top, top, 1)
        self.mid_attn.q, self.mid_attn.k, self.mid_attn.v = (nn.Linear(top, top) for _ in range(3))
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        prev = top
        for i, cout in enumerate(chans):
            self.up.append(
                nn.ModuleList(ResBlock(prev if j == 0 else cout, cout, 0, s.groups) for j in range(3))
            )
            prev = cout
            if i < len(chans) - 1:
                self.upsample.append(nn.Conv2d(cout, cout, 3, padding=1))
        self.norm_out = nn.GroupNorm(s.groups, chans[-1], eps=1e-6)
        self.conv_out = nn.Conv2d(chans[-1], 3, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.mid_res[0](self.conv_in(self.post_quant(z)))
        b, c, hh, ww = h.shape
        seq = self.mid_norm(h).permute(0, 2, 3, 1).reshape(b, hh * ww, c)
        h = h + self.mid_attn(seq).reshape(b, hh, ww, c).permute(0, 3, 1, 2)
        h = self.mid_res[1](h)
        for i, level in enumerate(self.up):
            for res in level:
                h = res(h)
            if i < len(self.upsample):
                h = self.upsample[i](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


def init_random_(model: nn.Module) -> nn.Module:
    """Random weights with a small spread, so that bf16/fp16 activations stay finite through the stack."""
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 1.0 / math.sqrt(p.shape[-1]))
    return model
