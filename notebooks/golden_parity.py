"""Golden logits from Hugging Face transformers for the Java forward-pass parity tests.

Builds two tiny random models with transformers' own Llama and Qwen2 code, runs them with a
fully bidirectional attention mask (a 4-D float mask of zeros, eager attention), and writes:

  <out>/llada/   config.json (LLaDA keys), model.safetensors (LLaDA tensor names), ids.npy, logits.npy,
                 padded_ids.npy, padded_mask.npy, padded_logits.npy  (one left-padded row)
  <out>/qwen2/   config.json + model.safetensors exactly as save_pretrained writes them (GQA, q/k/v bias),
                 ids.npy, logits.npy

Run:  python notebooks/golden_parity.py OUT_DIR     (any machine with torch + transformers; CPU is fine)
The committed fixtures in udf/src/test/resources/golden/ were made with torch 2.11, transformers 5.17.
"""
import json
import os
import sys

import numpy as np
import torch
import transformers
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_reference import llada_state_dict, randomise  # noqa: E402
from hf_reference import logits as run  # noqa: E402

torch.manual_seed(1234)
out = sys.argv[1]


def check_bidirectional(model, ids):
    changed = ids.clone()
    changed[:, -1] = (changed[:, -1] + 1) % model.config.vocab_size
    a, b = run(model, ids), run(model, changed)
    assert (a[:, 0] - b[:, 0]).abs().max() > 1e-4, "position 0 did not see the last token: mask is causal"


# ---- LLaDA-shaped: Llama body, no biases, MHA, untied head, theta 500000 ----
os.makedirs(f"{out}/llada", exist_ok=True)
lc = LlamaConfig(vocab_size=67, hidden_size=32, intermediate_size=80, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=4, head_dim=8, rms_norm_eps=1e-5,
                 rope_theta=500000.0, max_position_embeddings=64, tie_word_embeddings=False,
                 attention_bias=False, mlp_bias=False)
lc._attn_implementation = "eager"
llama = LlamaForCausalLM(lc).eval()
randomise(llama)
ids = torch.randint(0, 67, (3, 12))
check_bidirectional(llama, ids)
logits = run(llama, ids)
tensors = llada_state_dict(llama)
save_file(tensors, f"{out}/llada/model.safetensors", metadata={"format": "pt"})
json.dump({"architectures": ["LLaDAModelLM"], "model_type": "llada", "d_model": 32, "n_layers": 2, "n_heads": 4,
           "n_kv_heads": 4, "mlp_hidden_size": 80, "activation_type": "silu", "block_type": "llama",
           "layer_norm_type": "rms", "rms_norm_eps": 1e-5, "rope": True, "rope_theta": 500000.0,
           "include_bias": False, "include_qkv_bias": False, "weight_tying": False, "vocab_size": 67,
           "embedding_size": 67, "max_sequence_length": 64, "mask_token_id": 66, "eos_token_id": 1,
           "pad_token_id": 1}, open(f"{out}/llada/config.json", "w"), indent=2)
np.save(f"{out}/llada/ids.npy", ids.numpy().astype(np.int64))
np.save(f"{out}/llada/logits.npy", logits.numpy().astype(np.float32))
# One left-padded row (3 pads, pad id 1): LLaDA positions are column indices, pads masked as keys only.
padded = torch.cat([torch.ones(1, 3, dtype=torch.long), ids[:1, :9]], dim=1)
mask = torch.cat([torch.zeros(1, 3, dtype=torch.long), torch.ones(1, 9, dtype=torch.long)], dim=1)
np.save(f"{out}/llada/padded_ids.npy", padded.numpy().astype(np.int64))
np.save(f"{out}/llada/padded_mask.npy", mask.numpy().astype(np.int64))
np.save(f"{out}/llada/padded_logits.npy", run(llama, padded, mask).numpy().astype(np.float32))

# ---- Dream-shaped: Qwen2 body, GQA 6 query heads over 2 KV heads, q/k/v bias, theta 1e6 ----
qc = Qwen2Config(vocab_size=71, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                 num_attention_heads=6, num_key_value_heads=2, rms_norm_eps=1e-6, rope_theta=1000000.0,
                 max_position_embeddings=64, tie_word_embeddings=False, use_sliding_window=False)
qc._attn_implementation = "eager"
qwen = Qwen2ForCausalLM(qc).eval()
randomise(qwen)
assert qwen.model.layers[0].self_attn.q_proj.bias is not None
ids = torch.randint(0, 71, (3, 10))
check_bidirectional(qwen, ids)
qwen.save_pretrained(f"{out}/qwen2", safe_serialization=True)
np.save(f"{out}/qwen2/ids.npy", ids.numpy().astype(np.int64))
np.save(f"{out}/qwen2/logits.npy", run(qwen, ids).numpy().astype(np.float32))
for d in ("llada", "qwen2"):
    with open(f"{out}/{d}/VERSIONS", "w") as f:
        f.write(f"torch {torch.__version__}\ntransformers {transformers.__version__}\n")
print("golden written:", sorted(os.listdir(f"{out}/llada")), sorted(os.listdir(f"{out}/qwen2")))
