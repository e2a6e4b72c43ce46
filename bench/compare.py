#!/usr/bin/env python3
"""Per-case change between two runs of bench/run.py, to catch regressions.

    python bench/compare.py old.json new.json [--impl nnkern|all] [--threshold 0.10] [--fail]

For every measurement present in both files (same family, case, op,
implementation and thread count) it prints the old and new median, the
change of time ((new - old) / old: negative is faster) and a verdict:

* ``slower`` / ``faster`` when the change exceeds --threshold *and* the
  p10-p90 ranges of the two runs do not overlap (a change inside the noise
  of either run is not flagged);
* ``~`` otherwise.

It also lists the change of nnkern's speed ratios (vs NumPy, vs PyTorch).
With --fail the exit status is 1 when any selected measurement is slower.
Both files should come from the same machine and thread counts; the
machines are printed so that a mismatch shows.
"""
import argparse
import json
import sys

KEY = ("family", "case", "op", "impl", "threads")


def load(path):
    with open(path) as f:
        return json.load(f)


def index(data, impl):
    out = {}
    for r in data.get("results", []):
        if impl == "all" or r["impl"] == impl:
            out[tuple(r[k] for k in KEY)] = r
    return out


def verdict(old, new, threshold):
    change = new["median_ms"] / old["median_ms"] - 1.0
    disjoint = new["p10_ms"] > old["p90_ms"] or new["p90_ms"] < old["p10_ms"]
    if change > threshold and disjoint:
        return change, "slower"
    if change < -threshold and disjoint:
        return change, "faster"
    return change, "~"


def compare(old, new, impl="nnkern", threshold=0.10):
    """Returns (markdown lines, number of regressions)."""
    a, b = index(old, impl), index(new, impl)
    L = [f"old: {old['meta'].get('date')} commit {old['meta'].get('git_commit')} on {old['meta'].get('cpu')}",
         f"new: {new['meta'].get('date')} commit {new['meta'].get('git_commit')} on {new['meta'].get('cpu')}", "",
         "| family | case | op | impl | t | old ms | new ms | change | verdict |",
         "|---|---|---|---|---:|---:|---:|---:|---|"]
    slower = 0
    for k in a:
        if k not in b:
            continue
        ch, v = verdict(a[k], b[k], threshold)
        slower += v == "slower"
        mark = f"**{v}**" if v != "~" else v
        L.append(f"| {k[0]} | {k[1]} | {k[2]} | {k[3]} | {k[4]} | {a[k]['median_ms']:.4g} | "
                 f"{b[k]['median_ms']:.4g} | {100 * ch:+.1f}% | {mark} |")
    only_old = [k for k in a if k not in b]
    only_new = [k for k in b if k not in a]
    ra = {(r["family"], r["case"], r["op"], r["threads"], r["vs"]): r["ratio"] for r in old.get("ratios", [])}
    rb = {(r["family"], r["case"], r["op"], r["threads"], r["vs"]): r["ratio"] for r in new.get("ratios", [])}
    common = [k for k in ra if k in rb]
    if common:
        L += ["", "Speed ratios of nnkern (other's time / nnkern's; > 1: nnkern faster):", "",
              "| family | case | op | t | vs | old | new |", "|---|---|---|---:|---|---:|---:|"]
        for k in common:
            L.append(f"| {k[0]} | {k[1]} | {k[2]} | {k[3]} | {k[4]} | {ra[k]:.2f}× | {rb[k]:.2f}× |")
    if only_old or only_new:
        L += ["", f"Only in old: {len(only_old)} measurement(s); only in new: {len(only_new)}."]
        L += [f"  new: {'/'.join(map(str, k))}" for k in only_new[:20]]
    L += ["", f"{slower} slower beyond {100 * threshold:.0f}% (outside both runs' p10-p90)."]
    return L, slower


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--impl", default="nnkern", help="implementation to compare, or 'all' (default nnkern)")
    ap.add_argument("--threshold", type=float, default=0.10, help="relative change that counts (default 0.10)")
    ap.add_argument("--fail", action="store_true", help="exit 1 if any measurement is slower")
    args = ap.parse_args(argv)
    lines, slower = compare(load(args.old), load(args.new), args.impl, args.threshold)
    print("\n".join(lines))
    return 1 if (args.fail and slower) else 0


if __name__ == "__main__":
    sys.exit(main())
