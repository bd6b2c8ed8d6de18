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


def init_random_(model: nn.Module) -> nn.Module:
    """Random weights with a small spread, so that bf16/fp16 activations stay finite through the stack."""
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 1.0 / math.sqrt(p.shape[-1]))
    return model
