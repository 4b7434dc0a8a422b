"""What the fixture scripts share: transformers' Llama/Qwen2 run as bidirectional diffusion LMs.

Imported by golden_parity.py and real_checkpoint_fixtures.py (run them from the repository root or
from notebooks/; both put this folder on sys.path).
"""
import torch

# transformers' Llama module names -> LLaDA's (docs/checkpoints.md); the LM head and the two norms are top-level
LLAMA_TO_LLADA = {"self_attn.q_proj": "q_proj", "self_attn.k_proj": "k_proj", "self_attn.v_proj": "v_proj",
                  "self_attn.o_proj": "attn_out", "input_layernorm": "attn_norm",
                  "post_attention_layernorm": "ff_norm", "mlp.gate_proj": "ff_proj", "mlp.up_proj": "up_proj",
                  "mlp.down_proj": "ff_out"}


def randomise(model):
    """Default init leaves biases at zero and norms at one; parity must exercise every tensor."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.25 * torch.randn_like(p))


def bidirectional_mask(mask2d):
    """[B, T] keep-mask -> [B, 1, T, T] additive float mask; only key columns of pads are masked."""
    keep = mask2d[:, None, None, :].to(torch.float32)
    return (1.0 - keep).expand(-1, 1, mask2d.shape[1], -1) * torch.finfo(torch.float32).min


def logits(model, ids, mask2d=None, position_ids=None):
    """Float32 logits of a transformers causal LM run with full bidirectional attention."""
    if mask2d is None:
        mask2d = torch.ones_like(ids)
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=bidirectional_mask(mask2d), position_ids=position_ids).logits.float()


def llada_state_dict(llama):
    """A transformers Llama's weights under LLaDA's tensor names (no biases, untied head)."""
    tensors = {}
    for name, p in llama.state_dict().items():
        if name == "model.embed_tokens.weight":
            new = "model.transformer.wte.weight"
        elif name == "model.norm.weight":
            new = "model.transformer.ln_f.weight"
        elif name == "lm_head.weight":
            new = "model.transformer.ff_out.weight"
        else:
            _, _, i, rest = name.split(".", 3)
            module, _ = rest.rsplit(".", 1)
            new = f"model.transformer.blocks.{i}.{LLAMA_TO_LLADA[module]}.weight"
        tensors[new] = p.detach().contiguous()
    return tensors
