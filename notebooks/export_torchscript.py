"""Exports an HF LLaDA or Dream folder as a TorchScript module that the Java decoders run unchanged.

    python notebooks/export_torchscript.py MODEL_DIR OUT_DIR [--dtype float16|float32] [--device cpu|cuda]

MODEL_DIR is an unmodified Hugging Face folder (config.json, *.safetensors with or without an index;
LLaDA's OLMo-style names or Qwen2/Dream names). OUT_DIR receives

  model.pt                     a scripted module: forward(input_ids int64 [B, L], attention_mask int64 [B, L])
                               -> logits [B, L, V] in the export dtype (1 = a real token, 0 = padding;
                               padded keys are masked, attention is fully bidirectional, positions 0..L-1)
  freedave-torchscript.json    model_type, vocab size, mask / end ids and prediction offset for the decoders
  tokenizer files              copied from MODEL_DIR (tokenizer.json, or vocab.json + merges.txt + configs)

The module is this file's own PyTorch forward (no trust_remote_code needed, so it also works for a
folder without modeling_*.py); `--check` compares it with transformers' Llama/Qwen2 run bidirectionally
on the same weights. Shards are read one at a time and cast to the export dtype, so an 8B BF16
checkpoint needs about 16 GB of host memory for an fp16 export.
"""
import argparse
import glob
import json
import os
import shutil

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open


class Layer(nn.Module):
    def __init__(self, d: int, heads: int, kv: int, hd: int, ffn: int, bias: bool, eps: float):
        super().__init__()
        self.heads, self.kv, self.hd, self.eps = heads, kv, hd, eps
        self.attn_norm = nn.Parameter(torch.ones(d))
        self.q = nn.Linear(d, heads * hd, bias=bias)
        self.k = nn.Linear(d, kv * hd, bias=bias)
        self.v = nn.Linear(d, kv * hd, bias=bias)
        self.o = nn.Linear(heads * hd, d, bias=False)
        self.ff_norm = nn.Parameter(torch.ones(d))
        self.gate = nn.Linear(d, ffn, bias=False)
        self.up = nn.Linear(d, ffn, bias=False)
        self.down = nn.Linear(ffn, d, bias=False)

    def rms(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * w

    def rope(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        half = x.size(-1) // 2
        xf = x.float()
        rot = torch.cat([-xf[..., half:], xf[..., :half]], dim=-1)
        return (xf * cos + rot * sin).to(x.dtype)

    def forward(self, h: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, n = h.size(0), h.size(1)
        a = self.rms(h, self.attn_norm)
        q = self.rope(self.q(a).view(b, n, self.heads, self.hd).transpose(1, 2), cos, sin)
        k = self.rope(self.k(a).view(b, n, self.kv, self.hd).transpose(1, 2), cos, sin)
        v = self.v(a).view(b, n, self.kv, self.hd).transpose(1, 2)
        if self.kv != self.heads:
            k = k.repeat_interleave(self.heads // self.kv, dim=1)
            v = v.repeat_interleave(self.heads // self.kv, dim=1)
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        h = h + self.o(o.transpose(1, 2).reshape(b, n, self.heads * self.hd))
        f = self.rms(h, self.ff_norm)
        return h + self.down(F.silu(self.gate(f)) * self.up(f))


class DiffusionLM(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.eps = float(c["eps"])
        self.embed = nn.Embedding(c["vocab"], c["d"])
        self.layers = nn.ModuleList(
            [Layer(c["d"], c["heads"], c["kv"], c["hd"], c["ffn"], c["bias"], c["eps"]) for _ in range(c["layers"])])
        self.norm = nn.Parameter(torch.ones(c["d"]))
        self.head = nn.Linear(c["d"], c["vocab"], bias=False)
        inv = 1.0 / (c["theta"] ** (torch.arange(0, c["hd"], 2, dtype=torch.float32) / c["hd"]))
        self.register_buffer("inv_freq", inv, persistent=False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        n = input_ids.size(1)
        pos = torch.arange(n, device=input_ids.device, dtype=torch.float32)
        ang = pos[:, None] * self.inv_freq[None, :]
        ang = torch.cat([ang, ang], dim=-1)
        cos, sin = ang.cos(), ang.sin()
        # key-padding only: padded query rows still see the real keys and stay finite
        bias = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -1e30
        h = self.embed(input_ids)
        for layer in self.layers:
            h = layer(h, cos, sin, bias)
        hf = h.float()
        h = (hf * torch.rsqrt(hf.pow(2).mean(-1, keepdim=True) + self.eps)).to(h.dtype) * self.norm
        return self.head(h)


def read_config(model_dir):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    t = cfg.get("model_type", "").lower()
    if t == "llada":
        d, heads = cfg["d_model"], cfg["n_heads"]
        return t, cfg, dict(vocab=cfg.get("embedding_size") or cfg["vocab_size"], d=d, layers=cfg["n_layers"],
                            heads=heads, kv=cfg.get("n_kv_heads") or heads, hd=d // heads,
                            ffn=cfg.get("mlp_hidden_size") or int(cfg.get("mlp_ratio", 4) * d),
                            bias=bool(cfg.get("include_qkv_bias") or cfg.get("include_bias")),
                            eps=cfg.get("rms_norm_eps", 1e-5), theta=cfg.get("rope_theta", 10000.0),
                            tied=bool(cfg.get("weight_tying", False)))
    if t in ("dream", "qwen2"):
        d, heads = cfg["hidden_size"], cfg["num_attention_heads"]
        theta = cfg.get("rope_theta") or (cfg.get("rope_parameters") or {}).get("rope_theta", 10000.0)
        return t, cfg, dict(vocab=cfg["vocab_size"], d=d, layers=cfg["num_hidden_layers"], heads=heads,
                            kv=cfg.get("num_key_value_heads", heads), hd=cfg.get("head_dim") or d // heads,
                            ffn=cfg["intermediate_size"], bias=True, eps=cfg.get("rms_norm_eps", 1e-6),
                            theta=theta, tied=bool(cfg.get("tie_word_embeddings", False)))
    raise SystemExit(f"unknown model_type {t!r} (llada, Dream, qwen2)")


def hf_name(t, ours):
    """Our parameter name -> the checkpoint's tensor name."""
    parts = ours.split(".")
    if t == "llada":
        top = {"embed.weight": "model.transformer.wte.weight", "norm": "model.transformer.ln_f.weight",
               "head.weight": "model.transformer.ff_out.weight"}
        if ours in top:
            return top[ours]
        i, rest = parts[1], ".".join(parts[2:])
        sub = {"attn_norm": "attn_norm.weight", "ff_norm": "ff_norm.weight", "q.weight": "q_proj.weight",
               "k.weight": "k_proj.weight", "v.weight": "v_proj.weight", "q.bias": "q_proj.bias",
               "k.bias": "k_proj.bias", "v.bias": "v_proj.bias", "o.weight": "attn_out.weight",
               "gate.weight": "ff_proj.weight", "up.weight": "up_proj.weight", "down.weight": "ff_out.weight"}
        return f"model.transformer.blocks.{i}.{sub[rest]}"
    top = {"embed.weight": "model.embed_tokens.weight", "norm": "model.norm.weight", "head.weight": "lm_head.weight"}
    if ours in top:
        return top[ours]
    i, rest = parts[1], ".".join(parts[2:])
    sub = {"attn_norm": "input_layernorm.weight", "ff_norm": "post_attention_layernorm.weight",
           "q.weight": "self_attn.q_proj.weight", "k.weight": "self_attn.k_proj.weight",
           "v.weight": "self_attn.v_proj.weight", "q.bias": "self_attn.q_proj.bias",
           "k.bias": "self_attn.k_proj.bias", "v.bias": "self_attn.v_proj.bias", "o.weight": "self_attn.o_proj.weight",
           "gate.weight": "mlp.gate_proj.weight", "up.weight": "mlp.up_proj.weight", "down.weight": "mlp.down_proj.weight"}
    return f"model.layers.{i}.{sub[rest]}"


def load(model_dir, dtype=torch.float32):
    t, cfg, c = read_config(model_dir)
    with torch.device("meta"):
        model = DiffusionLM(c)
    model = model.to_empty(device="cpu").to(dtype)
    model.inv_freq = 1.0 / (c["theta"] ** (torch.arange(0, c["hd"], 2, dtype=torch.float32) / c["hd"]))
    wanted = {hf_name(t, k): k for k in model.state_dict() if not (c["tied"] and k == "head.weight")}
    params = dict(model.named_parameters())
    seen = set()
    for shard in sorted(glob.glob(os.path.join(model_dir, "*.safetensors"))):
        with safe_open(shard, framework="pt") as f:  # one tensor at a time: never the whole checkpoint twice
            for name in f.keys():
                if name in wanted:
                    with torch.no_grad():
                        params[wanted[name]].copy_(f.get_tensor(name).to(dtype))
                    seen.add(name)
    missing = set(wanted) - seen
    if missing:
        raise SystemExit(f"{model_dir}: missing tensors {sorted(missing)[:5]}")
    if c["tied"]:
        model.head.weight = model.embed.weight
    return t, cfg, c, model.eval()


def spec_json(t, cfg, c):
    llada = t == "llada"
    eos = cfg.get("eos_token_id", 126081 if llada else 151643)
    return {"model_type": "llada" if llada else "Dream", "file": "model.pt", "vocab_size": c["vocab"],
            "mask_token_id": cfg.get("mask_token_id", 126336 if llada else 151666),
            "eos_token_id": eos if isinstance(eos, list) else [eos],
            "prediction_offset": 0 if llada else 1,
            "max_sequence_length": cfg.get("max_sequence_length", cfg.get("max_position_embeddings", 4096))}


def export(model_dir, out_dir, dtype=torch.float32, device="cpu"):
    t, cfg, c, model = load(model_dir, dtype)
    model = model.to(device)
    scripted = torch.jit.script(model)
    os.makedirs(out_dir, exist_ok=True)
    scripted.save(os.path.join(out_dir, "model.pt"))
    with open(os.path.join(out_dir, "freedave-torchscript.json"), "w") as f:
        json.dump(spec_json(t, cfg, c), f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "added_tokens.json",
                 "special_tokens_map.json"):
        if os.path.exists(os.path.join(model_dir, name)):
            shutil.copy(os.path.join(model_dir, name), out_dir)
    return scripted


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("model_dir")
    p.add_argument("out_dir")
    p.add_argument("--dtype", default="float32", choices=["float32", "float16"])
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    export(a.model_dir, a.out_dir, getattr(torch, a.dtype), a.device)
    print("wrote", a.out_dir)
