"""Sums the top-level operations of libtorch profiler traces (`forward-cost --profile DIR` writes one
Chrome trace per shape): how many ops one forward dispatches, and the host time they take, by name.

    python notebooks/profile_summary.py DIR [--top 15]     # one block per trace, one JSON line each

An op counts when no op encloses it: an aten op (or fused kernel group) that the scripted core's
interpreter dispatched, not the ops it calls in turn. The events of the core's methods themselves
(names without "::", such as "cached", which enclose everything the call did) are looked through.
"span" is first start to last end of the counted ops, "inside" the sum of their durations, so span -
inside is host time spent between ops (the interpreter, its guards, Java).
"""
import argparse
import collections
import glob
import json
import os


def top_level(events):
    by_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X":
            by_thread[e.get("tid")].append(e)
    out = []
    for evs in by_thread.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        end = float("-inf")  # end of the op that encloses what follows
        for e in evs:
            if "::" not in e["name"] and e["ts"] >= end:
                continue  # a method of the core: look inside it
            if e["ts"] >= end:
                out.append(e)
                end = e["ts"] + e["dur"]
    return out


def summarize(path, top):
    with open(path) as f:
        events = json.load(f)
    ops = top_level(events)
    span = max(e["ts"] + e["dur"] for e in ops) - min(e["ts"] for e in ops)
    inside = sum(e["dur"] for e in ops)
    names = collections.Counter()
    times = collections.Counter()
    for e in ops:
        names[e["name"]] += 1
        times[e["name"]] += e["dur"]
    name = os.path.basename(path)[:-5]
    print(f"{name}: {len(ops)} top-level ops, span {span / 1e3:.2f} ms, inside ops {inside / 1e3:.2f} ms, "
          f"{span / len(ops):.1f} us per op")
    for op, t in times.most_common(top):
        print(f"   {op:<44} x {names[op]:4d} {t / 1e3:8.2f} ms {t / names[op]:8.1f} us/op")
    print(json.dumps({"trace": name, "ops": len(ops), "span_ms": span / 1e3, "inside_ms": inside / 1e3,
                      "by_op": {op: {"count": names[op], "ms": times[op] / 1e3} for op in names}}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--top", type=int, default=15)
    a = p.parse_args()
    for path in sorted(glob.glob(os.path.join(a.dir, "*.json"))):
        summarize(path, a.top)


if __name__ == "__main__":
    main()
