"""Does a fp16 cached forward pay per new shape? Times torch's scaled_dot_product_attention with a
boolean mask (the scripted core's call) on the GPU at shapes that change every call, as FreeDave's
forwards do (rows x drafts x window), against the same shapes repeated, per SDPA backend and dtype.

  python notebooks/sdpa_shape_probe.py            # prints one table, one JSON line
"""
import contextlib
import json
import time

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel


def shapes(n, seed):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        r = int(torch.randint(1, 65, (1,), generator=g))
        t = 16 * int(torch.randint(1, 9, (1,), generator=g))
        out.append((r, t))
    return out


def call(r, t, f, dtype, heads=4, kv=2, hd=32):
    q = torch.randn(r, kv, (heads // kv) * t, hd, device="cuda", dtype=dtype)
    k = torch.randn(r, kv, f + t, hd, device="cuda", dtype=dtype)
    v = torch.randn_like(k)
    mask = torch.rand(r, 1, (heads // kv) * t, f + t, device="cuda") > 0.3
    mask[..., 0] = True
    return lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def timed(fs):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for fn in fs:
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) * 1e3 / len(fs)


def main():
    print("torch", torch.__version__, "cudnn", torch.backends.cudnn.version(),
          "cudnn_sdp", torch.backends.cuda.cudnn_sdp_enabled())
    backends = {"default": None, "cudnn": [SDPBackend.CUDNN_ATTENTION],
                "efficient": [SDPBackend.EFFICIENT_ATTENTION], "math": [SDPBackend.MATH]}
    rows = []
    seed = 0
    for dtype in (torch.float16, torch.float32):
        for name, be in backends.items():
            seed += 1
            new = [call(r, t, 128, dtype) for r, t in shapes(40, seed)]
            same = [call(32, 64, 128, dtype)] * 40
            try:
                with sdpa_kernel(be) if be else contextlib.nullcontext():
                    same[0]()
                    ms_same = timed(same)
                    ms_new = timed(new)
            except RuntimeError as e:
                ms_same = ms_new = None
                print(name, str(dtype), "unavailable:", str(e).splitlines()[0][:120])
            rows.append({"dtype": str(dtype).replace("torch.", ""), "backend": name,
                         "ms_same_shape": ms_same, "ms_new_shape": ms_new})
    print(f"{'dtype':8} {'backend':10} {'same shape ms':>14} {'new shape ms':>13}")
    for r in rows:
        s = "-" if r["ms_same_shape"] is None else f"{r['ms_same_shape']:.3f}"
        n = "-" if r["ms_new_shape"] is None else f"{r['ms_new_shape']:.3f}"
        print(f"{r['dtype']:8} {r['backend']:10} {s:>14} {n:>13}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
