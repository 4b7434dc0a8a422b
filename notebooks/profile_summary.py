"""Sums the top-level operations of libtorch profiler traces (`forward-cost --profile DIR` writes one
Chrome trace per shape): how many ops one forward dispatches, and the host time they take, by name.

    python notebooks/profile_summary.py DIR [--top 15]     # one block per trace, one JSON line each
    python notebooks/profile_summary.py DIR --calls        # per trace: the core's calls by method

With --calls (for `bench --trace`, whose traces hold a decoder's steps): how many calls of each core
method the traced steps made and their mean duration (and, per method, its calls grouped by how many
ops and fused kernel groups they dispatched, with the host time a call spends in each op name), the
host time between calls, the ops Java
dispatched outside those calls (its own DJL ops; divide by the traced steps for a step's), and the ops of one
call of the method that took the most time, in order with their durations in us (its middle call).

An op counts when no op encloses it: an aten op (or fused kernel group) that the scripted core's
interpreter dispatched, not the ops it calls in turn. The events of the core's methods themselves
(names without "::", such as "cached", which enclose everything the call did) are looked through.
"span" is first start to last end of the counted ops, "inside" the sum of their durations, so span -
inside is host time spent between ops (the interpreter, its guards, Java).
"""
import argparse
import bisect
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


def calls(path):
    with open(path) as f:
        events = sorted((e for e in json.load(f) if e.get("ph") == "X"), key=lambda e: (e["ts"], -e["dur"]))
    methods, end = [], float("-inf")
    for e in events:  # outermost method events: one per call from Java
        if "::" not in e["name"] and e["ts"] >= end:
            methods.append(e)
            end = e["ts"] + e["dur"]
    count, total = collections.Counter(), collections.Counter()
    for e in methods:
        count[e["name"]] += 1
        total[e["name"]] += e["dur"]
    gaps = [b["ts"] - (a["ts"] + a["dur"]) for a, b in zip(methods, methods[1:])]
    print(f"{os.path.basename(path)[:-5]}: {len(methods)} calls, host time between calls {sum(gaps) / 1e3:.2f} ms")
    starts = [m["ts"] for m in methods]
    outside, end = collections.Counter(), float("-inf")
    for e in events:  # top-level ops no call of the core encloses: the DJL ops Java dispatched itself
        k = bisect.bisect_right(starts, e["ts"]) - 1
        if "::" in e["name"] and e["ts"] >= end and (k < 0 or e["ts"] > methods[k]["ts"] + methods[k]["dur"]):
            outside[e["name"]] += 1
            end = e["ts"] + e["dur"]
    print(f"   {sum(outside.values())} ops outside the core's calls: "
          + (", ".join(f"{n.replace('aten::', '')} x {c}" for n, c in outside.most_common()) or "none"))
    for name in count:
        print(f"   {name:<24} x {count[name]:4d}   mean {total[name] / count[name] / 1e3:6.3f} ms")
    # A method run through its optimised plan dispatches fused kernel groups; one that fell back to its
    # unoptimised graph (libtorch's graph executor specialises a method for a limited number of input
    # shapes) dispatches their ops one by one: more ops, no "fused" among them.
    ops_of, kinds = [], {name: collections.defaultdict(list) for name in count}
    op_us = {name: collections.defaultdict(collections.Counter) for name in count}  # kind -> op -> us
    for m in methods:  # events sorted by start: a call's events are the run from its start to its end
        lo = bisect.bisect_left(events, (m["ts"], -m["dur"]), key=lambda e: (e["ts"], -e["dur"]))
        inner = []
        for e in events[lo:]:
            if e["ts"] > m["ts"] + m["dur"]:
                break
            if e is not m and e["ts"] + e["dur"] <= m["ts"] + m["dur"]:
                inner.append(e)
        ops = call_ops(inner, m["name"])
        ops_of.append(ops)
        kind = (len(ops), sum(e["name"].startswith("fused") for e in ops))
        kinds[m["name"]][kind].append(m["dur"])
        for e in ops:
            op_us[m["name"]][kind][e["name"].replace("aten::", "")] += e["dur"]
    for name in count:
        for (n, fused), durs in sorted(kinds[name].items()):
            print(f"      {name}: {len(durs):4d} calls of {n:4d} ops ({fused:3d} fused groups), "
                  f"mean {sum(durs) / len(durs) / 1e3:6.3f} ms")
            # where a call's host time goes, op by op, over all calls of this kind: us per call
            per = op_us[name][(n, fused)]
            print("         us a call: " + ", ".join(f"{op} {t / len(durs):.0f}" for op, t in per.most_common(10))
                  + f"; all ops {sum(per.values()) / len(durs):.0f}")
    name = total.most_common(1)[0][0]
    k = [i for i, e in enumerate(methods) if e["name"] == name][count[name] // 2]
    call, ops = methods[k], ops_of[k]
    print(f"   one {name} call, {call['dur']:.0f} us, {len(ops)} ops:")
    print("      " + " | ".join(f"{e['name'].replace('aten::', '')} {e['dur']:.0f}" for e in ops))


def call_ops(inner, name):
    """The top-level ops of one call, given the events inside it in start order."""
    inner = [e for e in inner if e["name"] != name] or inner
    ops, end = [], float("-inf")
    for e in inner:
        if ("::" in e["name"] or e["name"].startswith("fused")) and e["ts"] >= end:
            ops.append(e)
            end = e["ts"] + e["dur"]
    return ops


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--calls", action="store_true", help="the core's calls by method instead of ops by name")
    a = p.parse_args()
    for path in sorted(glob.glob(os.path.join(a.dir, "*.json"))):
        if a.calls:
            calls(path)
        else:
            summarize(path, a.top)


if __name__ == "__main__":
    main()
