"""What CUDA graphs would give the product's forward: the scripted core (the very file the Java side
runs, udf/src/main/resources/freedave/core/transformer_core.py) at the demo model's shapes, called
directly as Java calls it (one call per forward, the argmax read back) and replayed from a CUDA
graph captured for that shape (the same call, then the same read-back). Random weights in the
layout of dev.freedave.model.LlamaWeights; the cached shapes are forward-cost's (each row its own
frozen cache of the whole padded row, K drafts of one block each, block-diagonal).

    python notebooks/cuda_graph_probe.py [--dtype float16] [--reps 50] > probe.json

Neither TorchScript nor DJL's JNI exposes graph capture, so this measures an upper bound of what a
capturing runner (a JNI of our own, or a custom op) would win; it is not a path the product takes.
Prints a table on stderr and one JSON object {shape: {direct_ms, graph_ms}} on stdout.
"""
import argparse
import io
import json
import struct
import sys
import time
import zipfile

import torch

CORE = "udf/src/main/resources/freedave/core/transformer_core.py"


def archive(source, attributes):
    """The TorchScript archive TorchScriptArchive.java writes: the source and a pickled instance."""
    p = bytearray(b"\x80\x02c__torch__.freedave\nTransformerCore\n)\x81}(")
    state = {"training": False, "_is_full_backward_hook": None, **attributes}
    for k, v in state.items():
        b = k.encode()
        p += b"X" + struct.pack("<I", len(b)) + b
        if v is None:
            p += b"N"
        elif isinstance(v, bool):
            p += b"\x88" if v else b"\x89"
        elif isinstance(v, int):
            p += b"J" + struct.pack("<i", v)
        else:
            p += b"G" + struct.pack(">d", v)
    p += b"ub."
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", bytes(p))
        z.writestr("archive/code/__torch__/freedave.py", source)
        z.writestr("archive/constants.pkl", b"\x80\x02).")
        z.writestr("archive/version", "3\n")
        z.writestr("archive/byteorder", "little")
    out.seek(0)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtype", default="float16")
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--full-batch", default="1,8,64")
    ap.add_argument("--rows", default="1,8,32,64")
    ap.add_argument("--drafts", default="1,8")
    a = ap.parse_args()
    dev = torch.device("cuda")
    dt = getattr(torch, a.dtype)
    # the default (demo) model: LLaDA family, d 256, 6 layers, 8 heads of 32, FFN 768, vocab 60
    vocab, d, layers, heads, hd, ffn = 60, 256, 6, 8, 32, 768
    prompt, gen, block, frozen = 40, 64, 16, 128  # fills pad rows to a multiple of 128
    length = prompt + gen
    attrs = {"heads": heads, "kv_heads": heads, "head_dim": hd, "layers": layers, "qkv_bias": False,
             "residual_fp32": False, "qk_norm": False, "per_layer": 7, "eps": 1e-5, "cuda_efficient": True,
             "concat_bytes": 32 << 20}
    core = torch.jit.load(archive(open(CORE).read(), attrs), map_location=dev)
    g = torch.Generator(device=dev).manual_seed(0)

    def normal(*shape):
        return (torch.randn(*shape, generator=g, device=dev) * 0.05).to(dt)

    w = [normal(vocab, d), torch.ones(d, device=dev, dtype=dt), normal(vocab, d)]
    for _ in range(layers):
        w += [torch.ones(d, device=dev, dtype=dt), normal(3 * heads * hd, d), torch.zeros(0, device=dev, dtype=dt),
              normal(d, heads * hd), torch.ones(d, device=dev, dtype=dt), normal(2 * ffn, d), normal(d, ffn)]
    inv = [1.0 / (10000.0 ** (2 * j / hd)) for j in range(hd // 2)]
    ang = torch.tensor([[p * f for f in inv] * 2 for p in range(frozen)], device=dev)
    cos, sin = ang.cos().to(dt), ang.sin().to(dt)
    sin[:, : hd // 2] *= -1  # the core's rope() takes sin's first half negated, as RopeTable makes it

    def ids(*shape):
        return torch.randint(2, vocab, shape, generator=g, device=dev)

    calls = {}
    for b in [int(x) for x in a.full_batch.split(",")]:
        pos = torch.arange(length, device=dev).repeat(b, 1)
        out = (torch.arange(block, device=dev) + prompt).repeat(b, 1)
        args = (ids(b, length), pos, pos, False, 0, out, cos, sin, w)
        calls[f"full B={b}"] = lambda args=args: core.full(*args)
    qs = prompt + block  # the second block of the generation
    keep = torch.tensor([p < length and not qs <= p < qs + block for p in range(frozen)], device=dev)
    for r in [int(x) for x in a.rows.split(",")]:
        kc = [normal(layers, 1, heads, frozen, hd) for _ in range(r)]  # a row's cache: a stack of one
        vc = [normal(layers, 1, heads, frozen, hd) for _ in range(r)]
        for k in [int(x) for x in a.drafts.split(",")]:
            t = k * block
            j = torch.arange(t, device=dev)
            args = (ids(r, t), (qs + j % block).repeat(r, 1), (j // block).repeat(r, 1), keep.repeat(r, 1), 0,
                    kc, vc, j.repeat(r, 1), cos, sin, w)
            calls[f"cached rows={r} K={k}"] = lambda args=args: core.cached(*args)

    def timed(fn):
        ms = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            fn().argmax(-1).cpu()
            ms.append((time.perf_counter() - t0) * 1e3)
        return sorted(ms)[len(ms) // 2]

    result = {}
    print(f"{'shape':24} {'direct ms':>10} {'graph ms':>10} {'ratio':>7}", file=sys.stderr)
    for name, fn in calls.items():
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(5):  # the graph executor profiles, then optimises, a shape's first calls
                fn()
        torch.cuda.current_stream().wait_stream(side)
        direct = timed(fn)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            captured = fn()
        want = fn()
        graph.replay()
        diff = (captured.float() - want.float()).abs().max().item()
        replay = timed(lambda: (graph.replay(), captured)[1])
        result[name] = {"direct_ms": round(direct, 4), "graph_ms": round(replay, 4), "max_abs_diff": diff}
        print(f"{name:24} {direct:10.3f} {replay:10.3f} {direct / replay:7.2f}  (graph vs direct logits {diff:.1e})",
              file=sys.stderr)
    print(json.dumps({"dtype": a.dtype, "torch": torch.__version__, "gpu": torch.cuda.get_device_name(),
                      "shapes": result}))


if __name__ == "__main__":
    main()
