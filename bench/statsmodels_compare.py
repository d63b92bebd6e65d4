#!/usr/bin/env python3
"""Compare stuurman's Holt-Winters with statsmodels' on the same windows.

For each origin, both fit one week (10,080 points at one minute) of the trace
just before it: statsmodels' ExponentialSmoothing with a damped additive trend
and an additive season of 1440, stuurman's HoltWinters (the same model), and
stuurman's seasonal level and double-seasonal models. Each forecasts the next
60 minutes; the script prints fit+forecast time and MASE (MAE over the 60
minutes divided by the window's in-sample seasonal naive MAE) side by side,
and the speed ratio.

Python is only used here, for the reference: stuurman does not need it.
    python3 bench/statsmodels_compare.py --trace TRACE.csv [--origins 20160,30240,64800]
"""
import argparse
import csv
import json
import math
import subprocess
import sys
import time
import warnings

try:
    import numpy as np
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
except ImportError as e:  # pragma: no cover
    sys.exit(f"statsmodels is needed for this comparison ({e}); e.g. the Debian package python3-statsmodels")


def read_trace(path):
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(line for line in f if not line.startswith("#"))]
    header, rows = rows[0], rows[1:]
    vi = header.index("value")
    ti = 0 if vi != 0 else 1
    # The Go side reads the same file onto a fixed grid (missing rows are
    # gaps); keep the same indices here by filling missing steps with NaN.
    def seconds(v):
        if header[ti] == "offset_seconds":
            return float(v)
        from datetime import datetime
        return datetime.fromisoformat(v).timestamp()
    pts = sorted((seconds(r[ti]), float(r[vi]) if r[vi] not in ("", "NaN") else math.nan) for r in rows)
    step = min(b[0] - a[0] for a, b in zip(pts[:1000], pts[1:1001]))
    n = int(round((pts[-1][0] - pts[0][0]) / step)) + 1
    y = np.full(n, np.nan)
    for t, v in pts:
        y[int(round((t - pts[0][0]) / step))] = v
    return y


def seasonal_scale(y, m):
    d = np.abs(y[m:] - y[:-m])
    return np.nanmean(d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trace", required=True)
    ap.add_argument("--origins", default="20160,30240,64800")
    ap.add_argument("--train", type=int, default=10080)
    ap.add_argument("--horizon", type=int, default=60)
    ap.add_argument("--period", type=int, default=1440)
    ap.add_argument("--go", default="go", help="the go command")
    a = ap.parse_args()

    y = read_trace(a.trace)
    origins = [int(o) for o in a.origins.split(",")]
    for o in origins:
        w = y[o - a.train:o + a.horizon]
        if np.isnan(w).any():
            sys.exit(f"origin {o}: the window has gaps, which statsmodels cannot fit; choose another")

    go = subprocess.run(
        [a.go, "run", "./bench/compare", "--trace", a.trace, "--origins", a.origins,
         "--train", str(a.train), "--horizon", str(a.horizon), "--period", str(a.period)],
        check=True, capture_output=True, text=True)
    goRows = [json.loads(line) for line in go.stdout.splitlines() if line.strip()]

    print(f"{'origin':>7} {'model':<32} {'fit+forecast s':>14} {'MASE':>7}")
    sm_time, go_time = 0.0, 0.0
    sm_mase, go_mase = [], []
    for o in origins:
        train = y[o - a.train:o]
        actual = y[o:o + a.horizon]
        scale = seasonal_scale(train, a.period)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = ExponentialSmoothing(train, trend="add", damped_trend=True, seasonal="add",
                                       seasonal_periods=a.period).fit()
            fc = fit.forecast(a.horizon)
        el = time.perf_counter() - t0
        mase = float(np.mean(np.abs(actual - fc)) / scale)
        sm_time += el
        sm_mase.append(mase)
        print(f"{o:>7} {'statsmodels ExponentialSmoothing':<32} {el:>14.3f} {mase:>7.3f}", flush=True)
        for r in goRows:
            if r["origin"] != o:
                continue
            print(f"{o:>7} {'stuurman ' + r['model']:<32} {r['fit_seconds']:>14.3f} {r['mase']:>7.3f}")
            if r["model"] == "holt_winters_damped":
                go_time += r["fit_seconds"]
                go_mase.append(r["mase"])
    print()
    print(f"same model (damped additive trend, additive season {a.period}), {len(origins)} windows of {a.train}:")
    print(f"  statsmodels: {sm_time:.2f} s in all, mean MASE {np.mean(sm_mase):.3f}")
    print(f"  stuurman:    {go_time:.3f} s in all, mean MASE {np.mean(go_mase):.3f}")
    if go_time > 0:
        print(f"  stuurman is {sm_time / go_time:.0f}x faster")


if __name__ == "__main__":
    main()
