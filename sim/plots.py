"""Figures of a run (PNG): violence and incarceration over time, age-crime curve, recidivism."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from . import codes, outcomes  # noqa: E402
from .codes import WEEKS_PER_YEAR  # noqa: E402
from .io import atomic_path  # noqa: E402
from .stats import paired_difference  # noqa: E402

if TYPE_CHECKING:
    from .model import ViolencePreventionModel

PALETTE = {"violence": "#c0392b", "homicide": "#7b241c", "incarceration": "#2c3e50",
           "female": "#8e44ad", "male": "#16a085", "target": "#e67e22", "model": "#2c3e50"}
BJS_2005 = {3: 0.678, 5: 0.766}  # shared/data/targets.yaml: BJS NCJ 244205


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def _shade_burn_in(ax, model: ViolencePreventionModel) -> None:
    if model.burn_in_weeks:
        ax.axvspan(-model.burn_in_weeks / WEEKS_PER_YEAR, 0, color="0.9",
                   label="burn-in (discarded)")


def violence_and_incarceration(model: ViolencePreventionModel, path: Path) -> None:
    h = model.history[:model.week].astype(np.int64)
    pop = h[:, codes.POPULATION].sum(axis=(1, 2))
    years = (np.arange(h.shape[0]) - model.burn_in_weeks) / WEEKS_PER_YEAR
    violent = h[:, codes.VIOLENT_OFFENCES].sum(axis=(1, 2)) / pop * (WEEKS_PER_YEAR * 1e5)
    # 13-week centred mean (shorter at the ends): weekly counts of a small population are noisy.
    smooth = pd.Series(violent).rolling(13, center=True, min_periods=1).mean().to_numpy()
    incarcerated = h[:, codes.INCARCERATED_STOCK].sum(axis=(1, 2)) / pop * 1e5
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    _shade_burn_in(ax1, model)
    ax1.plot(years, violent, color=PALETTE["violence"], alpha=0.25, lw=0.8, label="weekly")
    ax1.plot(years, smooth, color=PALETTE["violence"], lw=1.8, label="13-week mean")
    ax1.set_ylabel("violent incidents\nper 100,000 a year")
    ax1.legend(loc="upper right", fontsize=8)
    ax1.set_title(f"Violence and incarceration — {model.config.scenario.name}, "
                  f"{model.config.population.name} ({model.config.population.size:,} residents)")
    _shade_burn_in(ax2, model)
    ax2.plot(years, incarcerated, color=PALETTE["incarceration"], lw=1.8)
    ax2.set_ylabel("incarcerated\nper 100,000")
    ax2.set_xlabel("years after burn-in")
    ax1.set_ylim(bottom=0)
    ax2.set_ylim(bottom=0)
    _save(fig, path)


def age_crime_curve(model: ViolencePreventionModel, path: Path) -> None:
    after = model.history[model.burn_in_weeks:model.week].astype(np.int64).sum(axis=0)
    offences = after[codes.VIOLENT_OFFENCES] + after[codes.OTHER_OFFENCES]  # [sex, band]
    person_years = after[codes.POPULATION] / WEEKS_PER_YEAR
    x = np.arange(len(model.band_labels))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for s, sex in enumerate(outcomes.SEXES):
        rate = np.divide(offences[s] * 1000.0, person_years[s],
                         out=np.zeros(len(x)), where=person_years[s] > 0)
        ax.plot(x, rate, marker="o", color=PALETTE[sex], label=sex)
    ax.set_xticks(x, model.band_labels)
    ax.set_xlabel("age band (years)")
    ax.set_ylabel("offences per 1,000 residents a year")
    ax.set_title("Age-crime curve (after burn-in)")
    ax.legend()
    ax.set_ylim(bottom=0)
    _save(fig, path)


def recidivism_curve(model: ViolencePreventionModel, path: Path) -> None:
    spells = outcomes.release_spells(model)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for event, style in (("rearrest", "-"), ("reincarceration", "--")):
        times, survival = outcomes.kaplan_meier(spells[f"{event}_weeks"].to_numpy(),
                                                spells[f"{event}_event"].to_numpy())
        ax.step(np.concatenate(([0], times / WEEKS_PER_YEAR)), np.concatenate(([0], 1 - survival)),
                where="post", ls=style, color=PALETTE["model"], label=f"model: {event}")
    ax.plot(list(BJS_2005), list(BJS_2005.values()), "o", color=PALETTE["target"],
            label="BJS 2005 cohort: re-arrest")
    ax.set_xlim(0, min(model.config.years, 10))
    ax.set_ylim(0, 1)
    ax.set_xlabel("years since release")
    ax.set_ylabel("share (Kaplan-Meier)")
    ax.set_title(f"Recidivism after release ({len(spells):,} releases after burn-in)")
    ax.legend(loc="lower right")
    _save(fig, path)


def write_run_figures(run_dir: Path, model: ViolencePreventionModel, summary: dict) -> list[Path]:
    run_dir = Path(run_dir)
    paths = [run_dir / "violence_incarceration.png", run_dir / "age_crime_curve.png",
             run_dir / "recidivism.png"]
    violence_and_incarceration(model, paths[0])
    age_crime_curve(model, paths[1])
    recidivism_curve(model, paths[2])
    return paths


FOREST_OUTCOMES = (
    ("violent_incidents_per_100k_per_year", "violent incidents\nper 100,000 a year"),
    ("incarcerated_per_100k", "incarcerated\nper 100,000"),
    ("rearrest_within_3_years", "re-arrest within\n3 years"),
)


def scenario_colors(scenarios) -> dict:
    """One colour per scenario, the same in every figure of a report; baseline is grey."""
    others = sorted(s for s in scenarios if s != "baseline")
    colors = {s: f"C{k % 10}" for k, s in enumerate(others)}
    colors["baseline"] = "0.3"
    return colors


def forest_plot(done, path: Path) -> None:
    """Paired differences from baseline with 95% intervals, one panel per outcome."""
    scenarios = sorted(s for s in done.scenario.unique() if s != "baseline")
    fig, axes = plt.subplots(1, len(FOREST_OUTCOMES), figsize=(4 * len(FOREST_OUTCOMES),
                                                               0.45 * len(scenarios) + 1.6),
                             sharey=True)
    y = np.arange(len(scenarios))
    for ax, (outcome, label) in zip(axes, FOREST_OUTCOMES):
        rows = [paired_difference(done, outcome, s) for s in scenarios]
        m = np.array([r[0] for r in rows])
        lo = np.array([r[1] for r in rows])
        hi = np.array([r[2] for r in rows])
        err = np.nan_to_num(np.vstack([m - lo, hi - m]))
        colors = scenario_colors(done.scenario.unique())
        for j, scenario in enumerate(scenarios):
            ax.errorbar(m[j], y[j], xerr=err[:, j:j + 1], fmt="o", color=colors[scenario],
                        capsize=3)
        ax.axvline(0, color="0.6", lw=1)
        ax.set_xlabel(f"difference from baseline:\n{label}")
    axes[0].set_yticks(y, scenarios)
    axes[0].invert_yaxis()
    fig.suptitle("Effects against baseline (paired by seed, 95% intervals)")
    _save(fig, path)


def cost_effectiveness_plane(done, path: Path) -> None:
    """Extra cost against violent incidents averted, per scenario (mean over seeds); prisons at
    their marginal cost."""
    scenarios = sorted(s for s in done.scenario.unique() if s != "baseline")
    base = done[done.scenario == "baseline"].set_index("seed")
    fig, ax = plt.subplots(figsize=(7, 5))
    colors = scenario_colors(done.scenario.unique())
    for scenario in scenarios:
        a = done[done.scenario == scenario].set_index("seed")
        seeds = a.index.intersection(base.index)
        scale = a.loc[seeds, "residents"] * a.loc[seeds, "years"] / 1e5
        averted = ((base.loc[seeds, "violent_incidents_per_100k_per_year"]
                    - a.loc[seeds, "violent_incidents_per_100k_per_year"]) * scale)
        extra = a.loc[seeds, "cost_total_marginal"] - base.loc[seeds, "cost_total_marginal"]
        ax.scatter(averted, extra / 1e6, s=12, alpha=0.3, color=colors[scenario])
        ax.scatter(averted.mean(), extra.mean() / 1e6, s=70, color=colors[scenario],
                   edgecolor="k", label=scenario)
    ax.axhline(0, color="0.6", lw=1)
    ax.axvline(0, color="0.6", lw=1)
    ax.set_xlabel("violent incidents averted over the run")
    ax.set_ylabel("extra cost over the run (million USD; prisons at marginal cost)")
    ax.set_title("Cost-effectiveness plane (dots: seeds; large: mean)")
    ax.legend(fontsize=8)
    _save(fig, path)


def net_present_value(done, path: Path) -> None:
    """Net present value of each scenario against the baseline of the same seed: one dot per
    seed (or seed and parameter draw), a box over them, the line of zero."""
    from .accounts import paired_accounts

    scenarios = sorted(s for s in done.scenario.unique() if s != "baseline")
    colors = scenario_colors(done.scenario.unique())
    values = [paired_accounts(done, s).net_present_value.to_numpy(float) / 1e6
              for s in scenarios]
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(scenarios) + 1.8))
    ax.boxplot(values, orientation="horizontal", widths=0.5, showfliers=False,
               medianprops={"color": "k"})
    for i, (scenario, v) in enumerate(zip(scenarios, values, strict=True), start=1):
        jitter = np.random.default_rng(i).uniform(-0.15, 0.15, len(v))  # placement only
        ax.scatter(v, i + jitter, s=10, alpha=0.5, color=colors[scenario], zorder=3)
    ax.axvline(0, color="0.5", lw=1)
    ax.set_yticks(range(1, len(scenarios) + 1), scenarios)
    money = done["money"].iloc[0] if "money" in done else ""
    ax.set_xlabel(f"net present value against baseline (million; {money})")
    ax.set_title("Benefits less costs, per seed (right of the line: benefits exceed costs)")
    _save(fig, path)


def plan_frontier(frontier, money: str, path: Path) -> None:
    """`vpsim-plan`'s frontier: the chosen plan's cost against violence averted, per budget."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = frontier.cost_per_year / 1e6
    y = frontier.averted_mean
    ax.errorbar(x, y, yerr=[y - frontier.averted_low, frontier.averted_high - y], fmt="o-",
                capsize=3, color="C0")
    for row in frontier.itertuples():
        ax.annotate(f"{row.budget_per_year / 1e6:,.2g}M", (row.cost_per_year / 1e6,
                                                          row.averted_mean),
                    textcoords="offset points", xytext=(4, -12), fontsize=8)
    ax.axhline(0, color="0.6", lw=1)
    ax.set_xlabel(f"cost a year of the chosen plan (million; {money.split(',')[0]})")
    ax.set_ylabel("violent incidents averted per 100,000 a year")
    ax.set_title("What each budget buys (labels: the budget; bars: 95% intervals)")
    _save(fig, path)


def weekly_by_scenario(done, sweep_dir: Path, path: Path,
                       column: str = "violent_offences") -> None:
    """Weekly violence per scenario after burn-in: median over seeds, 10-90% band, and a
    marker where each program starts."""
    fig, ax = plt.subplots(figsize=(9, 5))
    colors = scenario_colors(done.scenario.unique())
    for scenario in sorted(done.scenario.unique(), key=lambda s: (s != "baseline", s)):
        series = []
        for run_dir in done[done.scenario == scenario].run_dir:
            ts_path = Path(sweep_dir) / run_dir / "timeseries.parquet"
            if not ts_path.exists():
                continue
            ts = pd.read_parquet(ts_path, columns=["year", "burn_in", "population", column])
            ts = ts[~ts.burn_in]
            rate = ts[column] / ts.population * WEEKS_PER_YEAR * 1e5
            series.append(rate.rolling(13, center=True, min_periods=1).mean().to_numpy())
        if not series:
            continue
        n = min(len(x) for x in series)
        stack = np.vstack([x[:n] for x in series])
        years = ts.year.to_numpy()[:n]
        color = colors[scenario]
        ax.plot(years, np.median(stack, axis=0), color=color, lw=1.8, label=scenario)
        ax.fill_between(years, np.percentile(stack, 10, axis=0),
                        np.percentile(stack, 90, axis=0), color=color, alpha=0.15, lw=0)
        starts = done[done.scenario == scenario].filter(like=".start_week").iloc[0].dropna()
        for start in set(starts.astype(float)):
            ax.axvline(start / WEEKS_PER_YEAR, color=color, ls=":", lw=1)
    ax.set_xlabel("years after burn-in (dotted: a program starts)")
    ax.set_ylabel("violent incidents per 100,000 a year\n(13-week mean)")
    ax.set_title("Violence by scenario: median over seeds, 10-90% band")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, ncol=2)
    _save(fig, path)


def by_sex_and_age(done, path: Path) -> None:
    """Violent offending by sex and by age band, per scenario (mean over seeds)."""
    scenarios = sorted(done.scenario.unique(), key=lambda s: (s != "baseline", s))
    prefix = "by_age_band.violent_offences_per_100k_per_year."
    bands = [c[len(prefix):] for c in done.columns if c.startswith(prefix)]
    sexes = ("female", "male")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [1, 3]})
    width = 0.8 / max(len(scenarios), 1)
    colors = scenario_colors(scenarios)
    for k, scenario in enumerate(scenarios):
        rows = done[done.scenario == scenario]
        color = colors[scenario]
        sex_means = [rows[f"by_sex.violent_offences_per_100k_per_year.{s}"].mean()
                     for s in sexes]
        ax1.bar(np.arange(2) + k * width, sex_means, width, color=color, label=scenario)
        band_means = [rows[prefix + b].mean() for b in bands]
        ax2.bar(np.arange(len(bands)) + k * width, band_means, width, color=color)
    ax1.set_xticks(np.arange(2) + 0.4 - width / 2, sexes)
    ax2.set_xticks(np.arange(len(bands)) + 0.4 - width / 2, bands)
    ax1.set_ylabel("violent offences per 100,000 a year")
    ax2.set_xlabel("age band (years)")
    ax1.set_title("by sex")
    ax2.set_title("by age band")
    ax1.legend(fontsize=7)
    _save(fig, path)


def by_community(done, path: Path) -> None:
    """Violence by community (mean over seeds), communities ordered by baseline violence."""
    column = "violence_by_community_per_100k_per_year"
    if column not in done:
        return
    scenarios = sorted(done.scenario.unique(), key=lambda s: (s != "baseline", s))
    colors = scenario_colors(scenarios)
    means = {s: np.mean([json.loads(v) for v in done[done.scenario == s][column]], axis=0)
             for s in scenarios}
    order = np.argsort(-means.get("baseline", next(iter(means.values()))))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for s in scenarios:
        ax.plot(np.arange(len(order)), means[s][order], marker="o", ms=3,
                color=colors[s], label=s)
    ax.set_xticks(np.arange(len(order)), [str(c) for c in order], fontsize=6, rotation=90)
    ax.set_xlabel("community (index), most violent in baseline first")
    ax.set_ylabel("violent incidents\nper 100,000 a year")
    ax.set_title("Violence by community (mean over seeds)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, ncol=2)
    _save(fig, path)
