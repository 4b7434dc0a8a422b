"""Golden logits of the SDAR reference modeling for the Java block-causal forward's parity test.

Runs the FreeDave authors' copy of modeling_sdar.py / configuration_sdar.py (SDAR, the block
diffusion model TraDo fine-tunes; ../shared/reference/sdar/, read-only, never copied into this
project) on tiny random checkpoints, with the block-causal 4-D mask their block decoders build, and
writes for each case

  <out>/<case>/  config.json as SDARConfig.save_pretrained writes it, model.safetensors (the state
                 dict; a tied head stored once, under the embedding's name, as HF does), ids.npy,
                 logits.npy (float32 [B, L, V], every position); no tokenizer (logits need none)

  sdar-untied:  GQA (4 query heads over 2), q/k norms, untied head; ids [2, 12] = a 4-token prompt
                block and two blocks of 4
  sdar-tied:    the same with the head tied to the embedding; ids [2, 10] (the last block partial)

Run:  python notebooks/sdar_golden.py REFERENCE_DIR OUT_DIR   (CPU is fine; torch + transformers)
The reference imports flash_attn at module level: a stand-in computing the same RMSNorm is put in
its place, and names the code takes from transformers 4.5x but 5.x dropped get stand-ins too
(printed when used). The committed fixtures (udf/src/test/resources/golden/sdar-*) were made with
torch 2.11, transformers 5.17 on the GPU machine, on its CPU.
"""
import importlib
import importlib.machinery
import json
import os
import shutil
import sys
import tempfile
import types
import typing

import numpy as np
import torch
from safetensors.torch import save_file

BLOCK = 4
ref_dir, out = sys.argv[1], sys.argv[2]
torch.manual_seed(4321)


def stand_in(module_name, name, value):
    module = importlib.import_module(module_name)
    if not hasattr(module, name):
        print(f"stand-in: {module_name}.{name}")
        setattr(module, name, value)


def rms_norm_fn(x, weight, bias=None, eps=1e-6, **_):
    """What flash_attn's Triton rms_norm_fn computes, in eager torch: float32 statistics, weight applied."""
    xf = x.float()
    y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return (weight.float() * y).to(x.dtype)


import transformers  # noqa: E402

identity_decorator = lambda *a, **k: (a[0] if a and callable(a[0]) and not k else (lambda f: f))  # noqa: E731
stand_in("transformers.cache_utils", "SlidingWindowCache", type("SlidingWindowCache", (), {}))
stand_in("transformers.cache_utils", "StaticCache", type("StaticCache", (), {}))
stand_in("transformers.integrations", "use_kernel_forward_from_hub", lambda *a, **k: (lambda cls: cls))
stand_in("transformers.utils", "LossKwargs", typing.TypedDict("LossKwargs", {}, total=False))
stand_in("transformers.utils", "auto_docstring", identity_decorator)
stand_in("transformers.utils", "can_return_tuple", identity_decorator)
stand_in("transformers.modeling_rope_utils", "rope_config_validation", lambda *a, **k: None)
stand_in("transformers.modeling_rope_utils", "dynamic_rope_update", identity_decorator)
rope = importlib.import_module("transformers.modeling_rope_utils")
if "default" not in rope.ROPE_INIT_FUNCTIONS:
    print("stand-in: ROPE_INIT_FUNCTIONS['default']")

    def default_rope(config, device=None, **_):
        dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        base = getattr(config, "rope_theta", None) or config.rope_parameters["rope_theta"]
        inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float().to(device) / dim))
        return inv, 1.0

    rope.ROPE_INIT_FUNCTIONS["default"] = default_rope

# transformers has now decided, with no flash_attn installed, that it has none; only then does the
# stand-in go in, for the reference's own module-level import
for dep in ["transformers.modeling_flash_attention_utils", "transformers.modeling_layers", "transformers.generation",
            "transformers.modeling_attn_mask_utils", "transformers.modeling_outputs", "transformers.modeling_utils",
            "transformers.processing_utils", "transformers.activations", "transformers.integrations.flex_attention"]:
    importlib.import_module(dep)
for probe in ["is_flash_attn_2_available", "is_flash_attn_3_available", "is_flash_attn_4_available"]:
    if hasattr(transformers.utils, probe):
        getattr(transformers.utils, probe)()
for name in ["flash_attn", "flash_attn.ops", "flash_attn.ops.triton", "flash_attn.ops.triton.layer_norm"]:
    sys.modules[name] = types.ModuleType(name)
    sys.modules[name].__spec__ = importlib.machinery.ModuleSpec(name, None)
sys.modules["flash_attn.ops.triton.layer_norm"].rms_norm_fn = rms_norm_fn

# the two reference files as a package, so that modeling_sdar's relative import works
pkg = tempfile.mkdtemp()
os.makedirs(f"{pkg}/sdar_reference")
for f in ["modeling_sdar.py", "configuration_sdar.py"]:
    shutil.copy(f"{ref_dir}/{f}", f"{pkg}/sdar_reference/{f}")
open(f"{pkg}/sdar_reference/__init__.py", "w").close()
sys.path.insert(0, pkg)
from sdar_reference.configuration_sdar import SDARConfig  # noqa: E402
from sdar_reference.modeling_sdar import SDARForCausalLM  # noqa: E402

if isinstance(SDARForCausalLM._tied_weights_keys, list) and int(transformers.__version__.split(".")[0]) >= 5:
    print("stand-in: SDARForCausalLM._tied_weights_keys as the mapping transformers 5 reads")
    SDARForCausalLM._tied_weights_keys = {"lm_head.weight": "model.embed_tokens.weight"}


def block_causal_mask(length):
    """[1, 1, L, L] bool: query i sees key j when j // BLOCK <= i // BLOCK (the authors' block_causal mask)."""
    blk = torch.arange(length) // BLOCK
    return (blk[None, :] <= blk[:, None])[None, None]


def randomise(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(1.0 + 0.2 * torch.randn_like(p) if "norm" in name else 0.25 * torch.randn_like(p))


def case(name, tied, batch, length):
    cfg = SDARConfig(vocab_size=61, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=2, head_dim=8, rms_norm_eps=1e-6,
                     rope_theta=10000.0, max_position_embeddings=64, tie_word_embeddings=tied,
                     attention_bias=False, use_sliding_window=False, fuse_cross_entropy=False,
                     pad_token_id=None, bos_token_id=None, eos_token_id=None)
    cfg._attn_implementation = "sdpa"
    model = SDARForCausalLM(cfg).eval()
    randomise(model)
    if tied:
        model.lm_head.weight = model.model.embed_tokens.weight  # tied whatever this transformers' tying rules do
    ids = torch.randint(0, 61, (batch, length))
    mask = block_causal_mask(length).expand(batch, 1, length, length)
    pos = torch.arange(length)[None].expand(batch, length)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits.float()
        # the mask is block-causal: a token of the last block moves no logit of an earlier block
        changed = ids.clone()
        changed[:, -1] = (changed[:, -1] + 1) % 61
        moved = (model(input_ids=changed, attention_mask=mask, position_ids=pos).logits.float() - logits).abs()
    last_block = (length - 1) // BLOCK * BLOCK
    assert moved[:, :last_block].max() == 0, "an earlier block saw the last token"
    assert moved[:, last_block].max() > 1e-4, "the last block does not see itself bidirectionally"
    d = f"{out}/{name}"
    cfg.save_pretrained(d)
    tensors = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()
               if not (tied and k == "lm_head.weight")}
    save_file(tensors, f"{d}/model.safetensors", metadata={"format": "pt"})
    np.save(f"{d}/ids.npy", ids.numpy().astype(np.int64))
    np.save(f"{d}/logits.npy", logits.numpy().astype(np.float32))
    print(json.load(open(f"{d}/config.json")))
    print(name, "tied" if tied else "untied", tuple(logits.shape), "files", sorted(os.listdir(d)))


case("sdar-untied", False, 2, 12)
case("sdar-tied", True, 2, 10)
print("torch", torch.__version__, "transformers", transformers.__version__)
