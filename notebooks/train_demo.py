"""Trains the embedded demo model: a LLaDA-architecture masked-diffusion LM on the arithmetic problems.

Reads what `submit-scripts/freedave demo-data --out DATA` wrote (token ids made by the project's own
tokenizer), trains with the masked-diffusion objective, and writes an HF-style folder in LLaDA naming
(config.json, model.safetensors in BF16, tokenizer.json) that the Java loader reads unchanged.

    python notebooks/train_demo.py DATA OUT [--minutes 7] [--seed 0]

Objective (LLaDA SFT): t ~ U(0,1) per example, every answer-region token (solution + EOS padding)
masked with probability t, cross-entropy on masked tokens weighted 1/t, normalised by the answer
length; the prompt is never masked. AdamW, linear warm-up, cosine decay over the time budget.
"""
import argparse
import sys
import json
import math
import os
import shutil
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

p = argparse.ArgumentParser()
p.add_argument("data")
p.add_argument("out")
p.add_argument("--minutes", type=float, default=7.0)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--d", type=int, default=256)
p.add_argument("--layers", type=int, default=6)
p.add_argument("--heads", type=int, default=8)
p.add_argument("--ffn", type=int, default=768)
p.add_argument("--batch", type=int, default=512)
p.add_argument("--lr", type=float, default=1e-3)
args = p.parse_args()
torch.manual_seed(args.seed)
dev = "cuda" if torch.cuda.is_available() else "cpu"
meta = json.load(open(os.path.join(args.data, "meta.json")))
V, MASK, EOS, GEN = meta["vocab_size"], meta["mask_token_id"], meta["eos_token_id"], meta["gen_length"]
ids_all = torch.from_numpy(np.load(os.path.join(args.data, "train_ids.npy")).astype(np.int64))
plen_all = torch.from_numpy(np.load(os.path.join(args.data, "train_prompt_len.npy")).astype(np.int64))
N, L = ids_all.shape
VAL = 4000  # the last problems of the training split are held out for loss and accuracy curves
train_ids, train_plen = ids_all[:-VAL].to(dev), plen_all[:-VAL].to(dev)
val_ids, val_plen = ids_all[-VAL:].to(dev), plen_all[-VAL:].to(dev)
THETA = 10000.0


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-5)).type_as(x) * self.weight


class Block(nn.Module):
    def __init__(self, d, h, f):
        super().__init__()
        self.h, self.hd = h, d // h
        self.attn_norm, self.ff_norm = RMSNorm(d), RMSNorm(d)
        self.q_proj, self.k_proj, self.v_proj = (nn.Linear(d, d, bias=False) for _ in range(3))
        self.attn_out = nn.Linear(d, d, bias=False)
        self.ff_proj, self.up_proj = nn.Linear(d, f, bias=False), nn.Linear(d, f, bias=False)
        self.ff_out = nn.Linear(f, d, bias=False)

    def forward(self, x, cos, sin, bias):
        B, T, D = x.shape
        a = self.attn_norm(x)
        q, k, v = (m(a).view(B, T, self.h, self.hd).transpose(1, 2) for m in (self.q_proj, self.k_proj, self.v_proj))
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)  # bidirectional: no causal mask
        x = x + self.attn_out(o.transpose(1, 2).reshape(B, T, D))
        f = self.ff_norm(x)
        return x + self.ff_out(F.silu(self.ff_proj(f)) * self.up_proj(f))


def rope(x, cos, sin):
    x1, x2 = x.chunk(2, dim=-1)
    return (x.float() * cos + torch.cat((-x2, x1), -1).float() * sin).type_as(x)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, args.d)
        self.blocks = nn.ModuleList(Block(args.d, args.heads, args.ffn) for _ in range(args.layers))
        self.ln_f = RMSNorm(args.d)
        self.ff_out = nn.Linear(args.d, V, bias=False)
        hd = args.d // args.heads
        inv = 1.0 / (THETA ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        ang = torch.arange(L, dtype=torch.float32)[:, None] * inv[None, :]
        ang = torch.cat((ang, ang), -1)
        self.register_buffer("cos", ang.cos()[None, None], persistent=False)
        self.register_buffer("sin", ang.sin()[None, None], persistent=False)

    def forward(self, ids, keep):
        T = ids.shape[1]
        allowed = keep[:, None, None, :]  # key padding only: every query attends to every real key
        x = self.wte(ids)
        for b in self.blocks:
            x = b(x, self.cos[:, :, :T], self.sin[:, :, :T], allowed)
        return self.ff_out(self.ln_f(x)).float()


def regions(plen, T):
    pos = torch.arange(T, device=dev)[None, :]
    answer = (pos >= plen[:, None]) & (pos < plen[:, None] + GEN)
    keep = pos < plen[:, None] + GEN
    return answer, keep


def loss_on(model, ids, plen):
    answer, keep = regions(plen, ids.shape[1])
    t = torch.rand(ids.shape[0], 1, device=dev) * (1 - 1e-3) + 1e-3
    masked = answer & (torch.rand(ids.shape, device=dev) < t)
    x = torch.where(masked, torch.full_like(ids, MASK), ids)
    with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=dev == "cuda"):
        logits = model(x, keep)
    ce = F.cross_entropy(logits.view(-1, V), ids.view(-1), reduction="none").view(ids.shape)
    return ((ce * masked / t).sum(1) / GEN).mean()


@torch.no_grad()
def static_accuracy(model, n=256, block=16):
    """Greedy static decoding, one token per step, canonical order (conf desc, position asc)."""
    ids, plen = val_ids[:n], val_plen[:n]
    answer, keep = regions(plen, ids.shape[1])
    x = torch.where(answer, torch.full_like(ids, MASK), ids)
    pos = torch.arange(ids.shape[1], device=dev)[None, :]
    for step in range(GEN):
        b = step // block
        in_block = (pos >= plen[:, None] + b * block) & (pos < plen[:, None] + (b + 1) * block)
        logits = model(x, keep)
        logits[..., MASK] = float("-inf")
        prob = logits.softmax(-1)
        conf, x0 = prob.max(-1)
        cand = in_block & (x == MASK)
        score = torch.where(cand, conf.double() - pos.double() * 1e-9, torch.full_like(conf, -1.0, dtype=torch.float64))
        j = score.argmax(1)
        rows = torch.arange(n, device=dev)
        x[rows, j] = torch.where(cand[rows, j], x0[rows, j], x[rows, j])
    return ((x == ids) | ~answer).all(1).float().mean().item()


model = Model().to(dev)
opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
params = sum(p.numel() for p in model.parameters())
print(f"params {params} device {dev} train {train_ids.shape} val {val_ids.shape}", flush=True)
budget = args.minutes * 60
start = time.time()
step = 0
curve = []
next_eval = 60.0
while True:
    elapsed = time.time() - start
    if elapsed > budget:
        break
    frac = elapsed / budget
    lr = args.lr * min(1.0, (step + 1) / 300) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
    for g in opt.param_groups:
        g["lr"] = lr
    idx = torch.randint(0, train_ids.shape[0], (args.batch,), device=dev)
    loss = loss_on(model, train_ids[idx], train_plen[idx])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    step += 1
    if elapsed > next_eval:
        next_eval += 60.0
        model.eval()
        with torch.no_grad(), torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=dev == "cuda"):
            vl = sum(loss_on(model, val_ids[i:i + 1000], val_plen[i:i + 1000]).item() for i in range(0, 4000, 1000)) / 4
        acc = static_accuracy(model, n=128)
        model.train()
        curve.append({"step": step, "seconds": round(elapsed), "train_loss": loss.item(), "val_loss": vl,
                      "static_accuracy_128": acc})
        print(json.dumps(curve[-1]), flush=True)

# ship BF16 (the Java loader widens it exactly); evaluate the rounded weights, not the fp32 masters
with torch.no_grad():
    for p_ in model.parameters():
        p_.copy_(p_.to(torch.bfloat16).float())
model.eval()
final = static_accuracy(model, n=512)
print(json.dumps({"final_step": step, "static_accuracy_512_bf16": final}), flush=True)
os.makedirs(args.out, exist_ok=True)
tensors = {}
for name, t in model.state_dict().items():
    if name.startswith("blocks."):
        name = "model.transformer." + name
    elif name in ("wte.weight", "ln_f.weight", "ff_out.weight"):
        name = "model.transformer." + name
    tensors[name] = t.detach().to(torch.bfloat16).contiguous().cpu()
save_file(tensors, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
json.dump({"architectures": ["LLaDAModelLM"], "model_type": "llada", "d_model": args.d, "n_layers": args.layers,
           "n_heads": args.heads, "n_kv_heads": args.heads, "mlp_hidden_size": args.ffn, "activation_type": "silu",
           "block_type": "llama", "layer_norm_type": "rms", "rms_norm_eps": 1e-5, "rope": True, "rope_theta": THETA,
           "include_bias": False, "include_qkv_bias": False, "weight_tying": False, "vocab_size": V,
           "embedding_size": V, "max_sequence_length": 256, "mask_token_id": MASK, "eos_token_id": EOS,
           "pad_token_id": EOS}, open(os.path.join(args.out, "config.json"), "w"), indent=2)
shutil.copy(os.path.join(args.data, "tokenizer.json"), os.path.join(args.out, "tokenizer.json"))
json.dump({"command": "python notebooks/train_demo.py " + " ".join(sys.argv[1:]), "torch": torch.__version__,
           "device": torch.cuda.get_device_name() if dev == "cuda" else "cpu", "steps": step, "params": params,
           "curve": curve, "static_accuracy_512_bf16": final}, open(os.path.join(args.out, "TRAINING.json"), "w"),
          indent=2)
print("saved", args.out, flush=True)
