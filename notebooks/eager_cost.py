"""PyTorch eager reference for `freedave forward-cost`: the same shapes through Hugging Face
transformers' Llama layers (fp16, SDPA, bidirectional), timed the same way (median of 10 after 3
warm-ups, the argmax read back to the host). Prints one JSON object {shape: ms} whose keys are
forward-cost's, so that `freedave forward-cost --reference FILE` prints the ratio column.

  full B=b            b rows of prompt + gen tokens, the LM head on the block after the prompt
  cached rows=R K=K   R rows, each with its own frozen keys/values of the prompt + gen - block other
                      positions; K drafts of one block each, every draft seeing the frozen keys and its
                      own block (block-diagonal), through every layer, then the LM head on every draft row

Run on a GPU machine with torch + transformers:
  python notebooks/eager_cost.py [--layers 32] [--prompt 256] [--gen 256] [--block 32] > eager.json
"""
import argparse
import json
import sys
import time

import torch
from transformers import LlamaConfig, LlamaModel
from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

p = argparse.ArgumentParser()
p.add_argument("--layers", type=int, default=32)
p.add_argument("--prompt", type=int, default=256)
p.add_argument("--gen", type=int, default=256)
p.add_argument("--block", type=int, default=32)
p.add_argument("--full-batch", default="1,8,32")
p.add_argument("--rows", default="1,8")
p.add_argument("--drafts", default="1,8,16")
a = p.parse_args()
L, W = a.prompt + a.gen, a.block
dev, dt = "cuda", torch.float16
# LLaDA-8B's shapes (its config.json: d_model 4096, 32 heads, mlp 12288, vocab 126464, theta 5e5)
cfg = LlamaConfig(hidden_size=4096, intermediate_size=12288, num_hidden_layers=a.layers, num_attention_heads=32,
                  num_key_value_heads=32, vocab_size=126464, rope_theta=500000.0, attn_implementation="sdpa",
                  max_position_embeddings=4096)
torch.manual_seed(0)
with torch.device(dev):
    body = LlamaModel(cfg).to(dt).eval()
    head = torch.nn.Linear(4096, 126464, bias=False, dtype=dt)


def median_ms(fn, reps=10):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    xs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        xs.append((time.perf_counter() - t0) * 1e3)
    return sorted(xs)[reps // 2]


out = {}
with torch.inference_mode():
    for b in map(int, a.full_batch.split(",")):
        ids = torch.randint(4, 60, (b, L), device=dev)
        bidirectional = torch.zeros(b, 1, L, L, device=dev, dtype=dt)  # a 4-D additive mask of zeros: no causal mask

        def full():
            h = body(input_ids=ids, attention_mask=bidirectional).last_hidden_state[:, a.prompt:a.prompt + W]
            return head(h).argmax(-1).cpu()

        out[f"full B={b}"] = median_ms(full)
    frozen = L - W
    for rows in map(int, a.rows.split(",")):
        for k in map(int, a.drafts.split(",")):
            t = k * W
            x = torch.randn(rows, t, 4096, device=dev, dtype=dt)
            kc = torch.randn(rows, 32, frozen, 128, device=dev, dtype=dt)
            vc = torch.randn(rows, 32, frozen, 128, device=dev, dtype=dt)
            mask = torch.full((t, frozen + t), float("-inf"), device=dev, dtype=dt)
            mask[:, :frozen] = 0
            for d in range(k):
                mask[d * W:(d + 1) * W, frozen + d * W:frozen + (d + 1) * W] = 0
            pos = (a.prompt + torch.arange(t, device=dev) % W)[None].expand(rows, t)
            cos, sin = body.rotary_emb(x, pos)

            def cached():
                h = x
                for lyr in body.layers:
                    n = lyr.input_layernorm(h)
                    q = lyr.self_attn.q_proj(n).view(rows, t, 32, 128).transpose(1, 2)
                    kk = lyr.self_attn.k_proj(n).view(rows, t, 32, 128).transpose(1, 2)
                    v = lyr.self_attn.v_proj(n).view(rows, t, 32, 128).transpose(1, 2)
                    q, kk = apply_rotary_pos_emb(q, kk, cos, sin)
                    o = torch.nn.functional.scaled_dot_product_attention(
                        q, torch.cat([kc, kk], 2), torch.cat([vc, v], 2), attn_mask=mask)
                    h = h + lyr.self_attn.o_proj(o.transpose(1, 2).reshape(rows, t, 4096))
                    h = h + lyr.mlp(lyr.post_attention_layernorm(h))
                return head(body.norm(h)).argmax(-1).cpu()

            out[f"cached rows={rows} K={k}"] = median_ms(cached)
weights = sum(q.numel() * q.element_size() for q in body.parameters()) + head.weight.numel() * 2
print(f"weights {weights / 1e9:.2f} GB: reading them once from HBM at 4.8 TB/s takes {weights / 4.8e12 * 1e3:.2f} ms",
      file=sys.stderr)
print(json.dumps(out))
