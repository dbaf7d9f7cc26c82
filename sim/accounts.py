"""Benefit-cost accounts: what a run's offences cost their victims and what justice, police and
programs cost the taxpayer, as present values; and a scenario against the baseline of the same
seed, as the Washington State Institute for Public Policy keeps its accounts (benefits by
perspective, net present value, benefit per dollar, the chance that benefits exceed costs).

Money is restated in one currency and year (`costs.base_year`) with the price index below and
discounted at `costs.discount_rate` a year to the start of the policy period, each week's flows
from its middle. The horizon is the run's policy period (`years`): harms averted after it are not
counted, so long-acting programs are undervalued, as in any finite horizon.

What is counted, and for whom:
- victims: each offence at its victim cost (McCollister et al. 2010: tangible losses, and, with
  `costs.intangible`, pain, suffering and lost quality of life). Homicides and non-fatal violent
  offences apart; other offences as larceny.
- taxpayers: arrests (police, prosecution, court), prisoner-years at the marginal cost of prisons
  (`justice.marginal_share_of_prison_cost`: what a prisoner more or fewer changes in a budget),
  supervision-years (probation and parole).
- the policy: programs and police officers added (negative when fewer).
The offender's own lost earnings (McCollister's "crime career") and the criminal-justice
column of McCollister's per-offence costs are not used: the second is what the model counts
itself, from its own arrests and prisoner-years.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .codes import (
    ARRESTS,
    HOMICIDES,
    INCARCERATED_STOCK,
    OTHER_OFFENCES,
    SUPERVISED_STOCK,
    VIOLENT_OFFENCES,
    WEEKS_PER_YEAR,
)
from .stats import mean_interval

PRICE_INDEX = {
    2008: 215.303, 2009: 214.537, 2010: 218.056, 2011: 224.939, 2012: 229.594, 2013: 232.957,
    2014: 236.736, 2015: 237.017, 2016: 240.007, 2017: 245.120, 2018: 251.107, 2019: 255.657,
    2020: 258.811, 2021: 270.970, 2022: 292.655, 2023: 304.702, 2024: 313.689,
}
"""US consumer price index for all urban consumers (CPI-U, BLS series CUUR0000SA0), annual
averages: restates a figure of one year in the money of another."""

MCCOLLISTER_2010 = {
    # offence: (victim tangible, intangible, criminal justice, crime career, total), 2008 USD
    "murder": (737_517, 8_442_000, 392_352, 148_555, 8_982_907),
    "rape": (5_556, 199_642, 26_479, 9_212, 240_776),
    "robbery": (3_299, 22_575, 13_827, 4_272, 42_310),
    "aggravated_assault": (8_700, 95_023, 8_641, 2_126, 107_020),
    "larceny": (480, 10, 2_879, 163, 3_532),
}
"""Cost per offence, McCollister, French & Fang 2010, Drug and Alcohol Dependence 108:98-109,
Table 5 (2008 USD; read from a transcription of the PMC manuscript, PMC2835847, and checked
against its totals). The total is not the sum of the columns: a risk-of-homicide slice of the
victim costs is taken out so that it is not counted twice (for murder, all of the tangible
victim cost, which the value of a statistical life already holds). So a victim's cost with
intangibles is the total less the criminal-justice and crime-career columns, and the tangible
cost alone is the first column."""

NCVS_2012_VIOLENT_PER_1000 = {"rape": 1.3, "robbery": 2.8, "aggravated_assault": 3.8,
                              "simple_assault": 18.2}
"""Violent victimisations per 1,000 persons aged 12 or older, US 2012 (BJS, Criminal
Victimization 2012, NCJ 243389; total 26.1): the mix of the model's non-fatal violent offences
(its violence is calibrated to victimisation surveys, simple assault included). McCollister
prices no simple assault: it is counted at no cost, so the violent cost is a lower bound."""


def victim_costs_from_sources() -> dict[str, float]:
    """The victim costs of `costs` (2008 USD), composed from the tables above."""
    def victim(offence: str, tangible_only: bool) -> float:
        tangible, _, justice, career, total = MCCOLLISTER_2010[offence]
        return float(tangible if tangible_only else total - justice - career)

    mix = NCVS_2012_VIOLENT_PER_1000
    everything = sum(mix.values())

    def violent(tangible_only: bool) -> float:
        return sum(rate * victim(o, tangible_only) for o, rate in mix.items()
                   if o in MCCOLLISTER_2010) / everything

    return {"victim_cost_homicide": victim("murder", False),
            "victim_cost_homicide_tangible": victim("murder", True),
            "victim_cost_violent": violent(False),
            "victim_cost_violent_tangible": violent(True),
            "victim_cost_other": victim("larceny", False),
            "victim_cost_other_tangible": victim("larceny", True)}


def restated(amount: float, year: int, base_year: int) -> float:
    """`amount` of money of `year` in money of `base_year` (CPI-U)."""
    for y in (year, base_year):
        if y not in PRICE_INDEX:
            raise ValueError(f"no price index for {y}: allowed [{min(PRICE_INDEX)}, "
                             f"{max(PRICE_INDEX)}]")
    return amount * PRICE_INDEX[base_year] / PRICE_INDEX[year]


def money_label(costs) -> str:
    return (f"{costs.currency} of {costs.base_year}, discounted at "
            f"{costs.discount_rate:.0%} a year")


def as_stated_label(costs) -> str:
    """The money of the undiscounted `cost_*` outcomes: each unit cost as its source states it."""
    return (f"{costs.currency} as each unit cost's source states it (prisons "
            f"{costs.prison_cost_year}, police {costs.officer_cost_year}, programs "
            f"{costs.program_cost_year}), undiscounted")


def weekly(model) -> pd.DataFrame:
    """Per policy week so far: the events and stocks the accounts price."""
    weeks = model.history[model.burn_in_weeks:model.week].sum(axis=(2, 3), dtype=np.int64)
    return pd.DataFrame({
        "homicides": weeks[:, HOMICIDES],
        "violent_nonfatal": weeks[:, VIOLENT_OFFENCES] - weeks[:, HOMICIDES],
        "other_offences": weeks[:, OTHER_OFFENCES],
        "arrests": weeks[:, ARRESTS],
        "prisoner_years": weeks[:, INCARCERATED_STOCK] / WEEKS_PER_YEAR,
        "supervision_years": weeks[:, SUPERVISED_STOCK] / WEEKS_PER_YEAR,
    })


def account(model, cost_police: float, cost_programs: float) -> dict[str, float]:
    """The run's present values so far (`money_label`): victims' costs (as configured, and
    tangible only), taxpayers' justice costs (prisons at marginal cost, and at average cost),
    and the policy's spending (police and programs: totals, spread evenly over the weeks). Each
    week is discounted from its middle."""
    c, jus = model.config.costs, model.config.justice
    flows = weekly(model)
    discount = (1.0 + c.discount_rate) ** -((np.arange(len(flows)) + 0.5) / WEEKS_PER_YEAR)

    def pv(per_week) -> float:
        return float(np.dot(np.asarray(per_week, float), discount))

    def price(amount: float, year: int) -> float:
        return restated(amount, year, c.base_year)

    def victims(suffix: str):
        return sum(flows[column] * price(getattr(c, f"victim_cost_{offence}{suffix}"),
                                         c.victim_cost_year)
                   for column, offence in (("homicides", "homicide"),
                                           ("violent_nonfatal", "violent"),
                                           ("other_offences", "other")))

    victims_tangible, victims_all = victims("_tangible"), victims("")
    prison_year = price(jus.cost_per_prisoner_year, c.prison_cost_year)
    other_justice = (flows.arrests * price(c.cost_per_arrest, c.arrest_cost_year)
                     + flows.supervision_years * price(c.cost_per_supervision_year,
                                                       c.supervision_cost_year))
    spread = float(discount.mean()) if len(discount) else 0.0
    return {
        "pv_victims": pv(victims_all if c.intangible else victims_tangible),
        "pv_victims_tangible": pv(victims_tangible),
        "pv_justice": pv(other_justice + flows.prisoner_years * prison_year
                         * jus.marginal_share_of_prison_cost),
        "pv_justice_average_prison": pv(other_justice + flows.prisoner_years * prison_year),
        "pv_police": price(cost_police, c.officer_cost_year) * spread,
        "pv_programs": price(cost_programs, c.program_cost_year) * spread,
    }


PERSPECTIVES = ("taxpayers", "victims")


def against(policy, base) -> dict:
    """Benefits to taxpayers (justice costs saved) and victims (harm averted), the policy's extra
    spending, and net present value, of `policy` against `base`: two summaries (dicts) or two
    frames of them, row for row."""
    taxpayers = base["pv_justice"] - policy["pv_justice"]
    victims = base["pv_victims"] - policy["pv_victims"]
    costs = (policy["pv_programs"] + policy["pv_police"]) - (base["pv_programs"]
                                                             + base["pv_police"])
    return {"taxpayers": taxpayers, "victims": victims, "benefits": taxpayers + victims,
            "costs": costs, "net_present_value": taxpayers + victims - costs}


def paired_accounts(done: pd.DataFrame, scenario: str,
                    baseline: str = "baseline") -> pd.DataFrame:
    """`against` per seed both completed: the scenario against the baseline of its seed."""
    a = done[done.scenario == scenario].set_index("seed")
    b = done[done.scenario == baseline].set_index("seed")
    seeds = a.index.intersection(b.index)
    return pd.DataFrame(against(a.loc[seeds], b.loc[seeds]), index=seeds)


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a proportion."""
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def benefit_cost(done: pd.DataFrame, scenario: str, baseline: str = "baseline",
                 resamples: int = 2000) -> dict:
    """A scenario's benefit-cost account against the baseline, paired by seed: mean present
    values with 95% t-intervals, benefit per dollar (mean benefits / mean costs, 95% bootstrap
    interval over seeds; nan when the scenario costs nothing more), and the chance that benefits
    exceed costs (share of seeds, or of seed-and-parameter draws, with a Wilson interval)."""
    pairs = paired_accounts(done, scenario, baseline)
    out = {"scenario": scenario, "pairs": len(pairs)}
    for column in ("taxpayers", "victims", "benefits", "costs", "net_present_value"):
        out[column] = mean_interval(pairs[column].tolist())
    benefits, costs = pairs.benefits.to_numpy(float), pairs.costs.to_numpy(float)

    def per_dollar(idx) -> float:
        spent = costs[idx].sum()
        return benefits[idx].sum() / spent if spent > 0 else math.nan

    point = per_dollar(np.arange(len(pairs))) if len(pairs) else math.nan
    lo = hi = math.nan
    if len(pairs) > 1 and math.isfinite(point):
        rng = np.random.default_rng(0)  # fixed: the interval is a property of the sweep
        boot = np.array([per_dollar(rng.integers(0, len(pairs), len(pairs)))
                         for _ in range(resamples)])
        boot = boot[np.isfinite(boot)]
        if boot.size > resamples // 2:
            lo, hi = np.percentile(boot, [2.5, 97.5])
    out["benefit_per_dollar"] = (float(point), float(lo), float(hi))
    wins = int((pairs.net_present_value > 0).sum())
    share = wins / len(pairs) if len(pairs) else math.nan
    out["chance_benefits_exceed_costs"] = (share, *wilson_interval(wins, len(pairs)))
    return out
