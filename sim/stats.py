"""Statistics of replicates: means with t-intervals, differences paired by seed, cost per event
averted. Used by the report, the figures, the app, the calibration and the tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats


def mean_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and t-interval (nan bounds with fewer than two values; None and nan ignored)."""
    x = np.asarray([v for v in values if v is not None and not pd.isna(v)], float)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if x.size < 2:
        return m, math.nan, math.nan
    half = float(stats.t.ppf((1 + level) / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return m, m - half, m + half


def paired_difference(df: pd.DataFrame, outcome: str, scenario: str,
                      baseline: str = "baseline") -> tuple[float, float, float, int]:
    """Mean difference scenario - baseline over the seeds both completed, with a 95% interval,
    and the number of seeds."""
    done = df[df.status == "complete"]
    a = done[done.scenario == scenario].set_index("seed")[outcome]
    b = done[done.scenario == baseline].set_index("seed")[outcome]
    seeds = a.index.intersection(b.index)
    m, lo, hi = mean_interval((a[seeds] - b[seeds]).tolist())
    return m, lo, hi, len(seeds)


def cost_per_averted(df: pd.DataFrame, scenario: str, outcome: str, baseline: str = "baseline",
                     resamples: int = 2000, cost: str = "cost_total_marginal",
                     ) -> tuple[float, float, float, float]:
    """Extra cost (`cost`: programs + police + incarceration, prisons at their marginal cost by
    default, `cost_total` at their average) per event averted against baseline.

    Paired by seed; events averted = (baseline rate - scenario rate) per 100,000 a year x
    residents x years. Returns (cost per event averted, 95% bootstrap interval over seeds,
    events averted in total over the seeds). The ratio is nan when nothing is averted.
    """
    done = df[df.status == "complete"]
    a = done[done.scenario == scenario].set_index("seed")
    b = done[done.scenario == baseline].set_index("seed")
    seeds = a.index.intersection(b.index)
    if len(seeds) == 0:
        return math.nan, math.nan, math.nan, math.nan
    scale = (a.loc[seeds, "residents"] * a.loc[seeds, "years"] / 1e5).to_numpy(float)
    averted = (b.loc[seeds, outcome] - a.loc[seeds, outcome]).to_numpy(float) * scale
    extra = (a.loc[seeds, cost] - b.loc[seeds, cost]).to_numpy(float)

    def ratio(idx):
        n = averted[idx].sum()
        return extra[idx].sum() / n if n > 0 else math.nan

    point = ratio(np.arange(len(seeds)))
    rng = np.random.default_rng(0)  # fixed: the interval is a property of the sweep
    boot = np.array([ratio(rng.integers(0, len(seeds), len(seeds)))
                     for _ in range(resamples)]) if len(seeds) > 1 else np.array([math.nan])
    boot = boot[np.isfinite(boot)]
    lo, hi = (np.percentile(boot, [2.5, 97.5]) if boot.size > resamples // 2
              else (math.nan, math.nan))
    return float(point), float(lo), float(hi), float(averted.sum())
