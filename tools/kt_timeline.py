#!/usr/bin/env python3
"""Reads the "KT id launch start end" lines a -DKT_TIMING build prints (common.cuh's KT_SCOPE)
and prints batch 16's layer as a timeline: each kernel's launches in time order over the span
every id recorded, the layer period, each kernel's median length, and the median time from one
kernel's end to the next one's start (negative: they overlap).

    tools/kt_timeline.py LOG [TIMELINE_OUT]   (stdlib only; LOG may hold other lines too)
"""
import statistics
import sys

NAMES = {0: "QKV", 1: "ATT", 2: "O", 3: "GU", 4: "DN"}


def main(log, out=None):
    recs = []
    with open(log) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 5 or parts[0] != "KT":
                continue
            kid, _, start, end = (int(p) for p in parts[1:])
            if 0 < start <= end:  # a launch the window did not reach has zeros
                recs.append((start, end, kid))
    if not recs:
        sys.exit(f"no KT lines in {log}: was the build made with -DKT_TIMING?")
    spans = {}
    for start, end, kid in recs:
        lo, hi = spans.get(kid, (start, end))
        spans[kid] = (min(lo, start), max(hi, end))
    lo = max(s[0] for s in spans.values())
    hi = min(s[1] for s in spans.values())
    sel = sorted(r for r in recs if r[0] >= lo and r[1] <= hi)
    if len(sel) < 2:
        sys.exit("the ids' windows do not overlap: too few launches recorded")
    t0, prev, rows = sel[0][0], None, []
    for start, end, kid in sel:
        gap = (start - prev) / 1e3 if prev is not None else 0.0
        rows.append(f"{NAMES.get(kid, kid):<4} start {(start - t0) / 1e3:9.2f} "
                    f"end {(end - t0) / 1e3:9.2f} len {(end - start) / 1e3:6.2f}  "
                    f"start-prev_end {gap:6.2f}")
        prev = end
    print(f"common window {(hi - lo) / 1e3:.0f} us, {len(sel)} launches")
    atts = [s for s, _, k in sel if k == 1]
    periods = [(b - a) / 1e3 for a, b in zip(atts, atts[1:])]
    if periods:
        print(f"layer period median {statistics.median(periods):.2f} us "
              f"(step boundaries: {', '.join(f'{p:.0f}' for p in periods if p > 1.5 * statistics.median(periods)) or 'none'})")
    for kid, name in NAMES.items():
        lens = [(e - s) / 1e3 for s, e, k in sel if k == kid]
        if lens:
            print(f"{name:<4} n {len(lens):2d} length median {statistics.median(lens):6.2f} us")
    gaps = {}
    for (s0, e0, k0), (s1, e1, k1) in zip(sel, sel[1:]):
        gaps.setdefault((k0, k1), []).append((s1 - e0) / 1e3)
    for (k0, k1), v in gaps.items():
        if len(v) > 2:  # the step boundary's pairs are rare
            print(f"{NAMES.get(k0, k0):<4} -> {NAMES.get(k1, k1):<4} n {len(v):2d} "
                  f"start minus previous end median {statistics.median(v):6.2f} us")
    if out:
        with open(out, "w") as f:
            f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(*sys.argv[1:])
