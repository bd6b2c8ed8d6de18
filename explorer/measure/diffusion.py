"""Stable Diffusion XL 1.0 base in plain PyTorch, with random weights: the UNet and the VAE decoder.

The denoising network and decoder of catalog/workloads/sdxl.toml, as ``explorer.measure.bench`` times them
(the LLMs, ResNet-50, BERT and Whisper are in ``nets``). Imported only once a measurement starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

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
