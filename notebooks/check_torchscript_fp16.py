"""The GPU path of export_torchscript.py: exports the committed tiny TorchScript fixtures' HF folders
in float16 on CUDA, runs the scripted modules there, and compares them with the committed float32
logits (udf/src/test/resources/torchscript/{llada,dream}/logits.npy) on the real (unpadded) positions.

    python notebooks/check_torchscript_fp16.py      # from the repository root, on a machine with a GPU
"""
import os
import shutil
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_torchscript as ets  # noqa: E402

FIXTURES = "udf/src/test/resources/torchscript"
for kind in ("llada", "dream"):
    src = os.path.join(FIXTURES, kind)
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "hf")
        os.makedirs(folder)
        for f in ("config.json", "model.safetensors"):
            shutil.copy(os.path.join(src, f), folder)
        ets.export(folder, os.path.join(tmp, "ts"), torch.float16, "cuda")
        module = torch.jit.load(os.path.join(tmp, "ts", "model.pt"), map_location="cuda")
        ids = torch.from_numpy(np.load(os.path.join(src, "ids.npy"))).cuda()
        mask = torch.from_numpy(np.load(os.path.join(src, "mask.npy"))).cuda()
        with torch.no_grad():
            fp16 = module(ids, mask).float().cpu()
    fp32 = torch.from_numpy(np.load(os.path.join(src, "logits.npy")))
    real = mask.bool().cpu()
    diff = (fp16 - fp32)[real].abs().max().item()
    agree = (fp16.argmax(-1) == fp32.argmax(-1))[real].float().mean().item()
    print(f"{kind}: fp16 cuda export vs fp32 logits: max abs diff {diff:.4f}, argmax agreement {agree:.3f}")
