"""Outcomes of a run, measured after burn-in: rates, recidivism, equity, costs.

Recidivism is a Kaplan-Meier estimate over every release after burn-in: a spell ends in an event
(first arrest, or first admission, after release) or is censored (the resident left the
population, went back to prison without an arrest, or the run ended). A release with too little
follow-up is censored, never counted as "not re-arrested".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import codes
from .accounts import account, as_stated_label, money_label
from .catalogue import INDIVIDUAL, program_cost, workers_per_site
from .codes import (
    ADMISSIONS,
    ARRESTS,
    COMPARISON_ARRESTS,
    COMPARISON_VIOLENT_ARRESTS,
    COMPARISON_WEEKS,
    COMPLETER,
    DECLINED,
    DROPOUT,
    FIREARM_HOMICIDES,
    FIREARM_INCIDENTS,
    GANG_MEMBERS,
    HOMICIDE_ARRESTS,
    HOMICIDE_OFFENDERS,
    HOMICIDES,
    INCARCERATED_STOCK,
    MEDIATIONS,
    N_PROGRAM_STATS,
    NEW_OFFENDERS,
    NEW_VICTIMS,
    OTHER_OFFENCES,
    PARTICIPANT_ARRESTS,
    PARTICIPANT_VIOLENT_ARRESTS,
    PARTICIPANT_WEEKS,
    POPULATION,
    PRETRIAL,
    SEXES,
    STAT_NAMES,
    VICTIMISATIONS,
    VIOLENT_ARRESTS,
    VIOLENT_OFFENCES,
    WEEKS_PER_YEAR,
)

if TYPE_CHECKING:
    from .model import ViolencePreventionModel

RELEASE_AGE_GROUPS = {"<=24": (0, 24), "25-39": (25, 39), ">=40": (40, 200)}


def kaplan_meier(durations: np.ndarray, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Survival S(t) just after each distinct event time.

    Censored at t means still at risk at t (events at t happen first). Returns (event times,
    survival after each), both sorted by time.
    """
    durations = np.asarray(durations, np.float64)
    events = np.asarray(events, bool)
    if durations.shape != events.shape:
        raise ValueError("durations and events must have the same shape")
    if durations.size and durations.min() < 0:
        raise ValueError("durations must be non-negative")
    times = np.unique(durations[events])
    if times.size == 0:
        return times, np.ones(0)
    sorted_durations = np.sort(durations)
    at_risk = durations.size - np.searchsorted(sorted_durations, times, side="left")
    sorted_event_times = np.sort(durations[events])
    deaths = (np.searchsorted(sorted_event_times, times, side="right")
              - np.searchsorted(sorted_event_times, times, side="left"))
    return times, np.cumprod(1.0 - deaths / at_risk)


def cumulative_incidence(durations, events, t: float) -> float | None:
    """1 - S(t) by Kaplan-Meier; None if nobody was followed up to t."""
    durations = np.asarray(durations, np.float64)
    if durations.size == 0 or durations.max() < t:
        return None
    times, survival = kaplan_meier(durations, events)
    k = np.searchsorted(times, t, side="right")
    return float(1.0 - (survival[k - 1] if k > 0 else 1.0))


def release_spells(model: ViolencePreventionModel) -> pd.DataFrame:
    """Releases after burn-in, followed up as the BJS follows a release cohort, in weeks.

    The cohort is each person's first release in each year after burn-in (BJS: the prisoners
    released in 2005, each once). Re-arrest is the first arrest after that release, at any time
    within the follow-up: a return to prison without an arrest (a revoked parole) does not end
    it; the person is followed on after their next release, as BJS counts an arrest within N
    years of the cohort's release whatever happened between. Re-incarceration is the first
    return to prison. Follow-up is censored when the person leaves the population (or, back in
    prison, is no longer there at the end) or the run ends.
    """
    n = int(model.tallies[codes.TALLY_SPELLS])
    s = model.spells
    df = pd.DataFrame({name: np.asarray(arr[:n]) for name, arr in zip(s._fields, s)})
    df = df.sort_values(["resident", "birth_week", "release_week"], kind="stable")
    last_week = model.week - 1
    resident = df.resident.to_numpy()
    birth = df.birth_week.to_numpy()
    rearrest = df.rearrest_week.to_numpy()
    back = df.reincarceration_week.to_numpy()
    end = df.end_week.to_numpy()
    residents = getattr(model, "residents", None)
    still_here = (residents.birth_week[resident] == birth) if residents is not None \
        else np.ones(len(df), bool)
    # Walk each person's spells from the last: the first arrest after a release is this spell's,
    # or, after a return to prison without one, the next release's.
    arrest_after = np.full(len(df), -1, np.int64)
    censor_after = np.full(len(df), last_week, np.int64)
    for k in range(len(df) - 1, -1, -1):
        same_next = (k + 1 < len(df) and resident[k + 1] == resident[k]
                     and birth[k + 1] == birth[k])
        if rearrest[k] >= 0:
            arrest_after[k] = rearrest[k]
        elif back[k] >= 0:
            if same_next:
                arrest_after[k], censor_after[k] = arrest_after[k + 1], censor_after[k + 1]
            elif not still_here[k]:  # left the population while back in prison
                censor_after[k] = back[k]
        elif end[k] >= 0:  # left the population: an exit closes the spell as its week starts
            censor_after[k] = end[k] - 1
    df["rearrest_event"] = arrest_after >= 0
    df["rearrest_weeks"] = np.where(arrest_after >= 0, arrest_after, censor_after) \
        - df.release_week.to_numpy()
    left = (end >= 0) & (back < 0)
    back_censor = np.where(end >= 0, end - left, last_week)
    df["reincarceration_event"] = back >= 0
    df["reincarceration_weeks"] = np.where(back >= 0, back, back_censor) \
        - df.release_week.to_numpy()
    df = df[df.release_week >= model.burn_in_weeks]
    year = (df.release_week - model.burn_in_weeks) // WEEKS_PER_YEAR
    first = ~df.assign(year=year).duplicated(["resident", "birth_week", "year"])
    return df[first].sort_values("release_week", kind="stable").reset_index(drop=True)


def _within(spells: pd.DataFrame, event: str, years: int) -> float | None:
    return cumulative_incidence(spells[f"{event}_weeks"].to_numpy(),
                                spells[f"{event}_event"].to_numpy(), WEEKS_PER_YEAR * years)


def _per_100k_per_year(events: float, person_years: float) -> float:
    return float(events / person_years * 1e5) if person_years > 0 else float("nan")


def _ratio(a: float, b: float) -> float | None:
    return float(a / b) if b > 0 else None


def summary(model: ViolencePreventionModel) -> dict:
    """The headline outcomes of a finished run (after burn-in)."""
    cfg = model.config
    after = model.history[model.burn_in_weeks:model.week].astype(np.int64)
    weeks = after.shape[0]
    if weeks == 0:
        raise ValueError("no week after burn-in has been simulated yet")
    years = weeks / WEEKS_PER_YEAR
    totals = after.sum(axis=(0, 2, 3))  # per statistic
    person_years = totals[POPULATION] / WEEKS_PER_YEAR
    residents = cfg.population.size

    def rate(stat: int) -> float:
        return _per_100k_per_year(totals[stat], person_years)

    # Distinct victims per calendar year of the run (NEW_VICTIMS counts a first one per year).
    full_years = weeks // WEEKS_PER_YEAR
    if full_years:
        per_year = after[:full_years * WEEKS_PER_YEAR, NEW_VICTIMS].sum(axis=(1, 2))
        share_victimised = float(per_year.reshape(full_years, WEEKS_PER_YEAR).sum(axis=1).mean()
                                 / residents)
    else:
        share_victimised = None

    by_band = after.sum(axis=(0, 2))  # [stat, band]
    band_person_years = by_band[POPULATION] / WEEKS_PER_YEAR
    offending_by_band = {
        label: (float((by_band[VIOLENT_OFFENCES, b] + by_band[OTHER_OFFENCES, b])
                      / band_person_years[b] * 1000) if band_person_years[b] > 0 else None)
        for b, label in enumerate(model.band_labels)}

    by_sex = after.sum(axis=(0, 3))  # [stat, sex]
    spells = release_spells(model)
    age = spells.age_at_release.to_numpy()
    rearrest_5_by_age = {}
    for label, (lo, hi) in RELEASE_AGE_GROUPS.items():
        group = spells[(age >= lo) & (age <= hi)]
        rearrest_5_by_age[label] = _within(group, "rearrest", 5)

    per_capita = model.community_incidents_after_burn_in / model.tables.community_size
    p10, p90 = np.percentile(per_capita, [10, 90])
    jus = cfg.justice
    all_ages = cfg.population.share_of_all_ages
    prisoner_years = totals[INCARCERATED_STOCK] / WEEKS_PER_YEAR
    cost_incarceration = float(prisoner_years * jus.cost_per_prisoner_year)
    cost_incarceration_marginal = cost_incarceration * jus.marginal_share_of_prison_cost
    # officers above (or below) the place's reference staffing, city-wide
    officers_added = float((jus.police_presence - 1.0) * jus.officers_per_1000_residents
                           * residents / 1000)
    cost_police = officers_added * jus.cost_per_officer_year * years

    def sex_rates(stat: int) -> dict:
        py = by_sex[POPULATION] / WEEKS_PER_YEAR
        return {s: _per_100k_per_year(by_sex[stat, k], py[k]) for k, s in enumerate(SEXES)}

    def band_rates(stat: int) -> dict:
        return {label: _per_100k_per_year(by_band[stat, b], band_person_years[b])
                for b, label in enumerate(model.band_labels)}

    program_outcomes = programs_summary(model)
    cost_programs = float(sum(p["cost"] for p in program_outcomes.values()))
    yearly = after[:full_years * WEEKS_PER_YEAR].reshape(
        full_years, WEEKS_PER_YEAR, *after.shape[1:]).sum(axis=(1, 3, 4))  # [year, stat]

    def share_of(stat: int) -> dict:
        """Stock share among residents by age band (mean over weeks)."""
        return {label: (float(by_band[stat, b] / by_band[POPULATION, b])
                        if by_band[POPULATION, b] > 0 else None)
                for b, label in enumerate(model.band_labels)}

    return {
        "scenario": cfg.scenario.name,
        "population": cfg.population.name,
        "structure": cfg.structure,
        "uncertainty": uncertainty_label(cfg),
        "drawn": drawn_values(cfg),
        "residents": residents,
        "years": cfg.years,
        "burn_in_years": cfg.burn_in_years,
        "seed": cfg.seed,
        "violent_incidents_per_100k_per_year": rate(VIOLENT_OFFENCES),
        "other_offences_per_100k_per_year": rate(OTHER_OFFENCES),
        "homicides_per_100k_per_year": rate(HOMICIDES),
        "victimisations_per_100k_per_year": rate(VICTIMISATIONS),
        "share_victimised_per_year": share_victimised,
        "arrests_per_100k_per_year": rate(ARRESTS),
        "violent_arrests_per_100k_per_year": rate(VIOLENT_ARRESTS),
        "prison_admissions_per_100k_per_year": rate(ADMISSIONS),
        "incarcerated_per_100k": float(totals[INCARCERATED_STOCK] / totals[POPULATION] * 1e5),
        "pretrial_share_of_prisoners": _ratio(totals[PRETRIAL], totals[INCARCERATED_STOCK]),
        # per 100,000 of all ages, as the place's national statistics count them
        "homicides_per_100k_all_ages_per_year": rate(HOMICIDES) * all_ages,
        "incarcerated_per_100k_all_ages": float(
            totals[INCARCERATED_STOCK] / totals[POPULATION] * 1e5) * all_ages,
        "releases": int(len(spells)),
        "rearrest_within_1_year": _within(spells, "rearrest", 1),
        "rearrest_within_3_years": _within(spells, "rearrest", 3),
        "rearrest_within_5_years": _within(spells, "rearrest", 5),
        "reincarceration_within_3_years": _within(spells, "reincarceration", 3),
        "reincarceration_within_5_years": _within(spells, "reincarceration", 5),
        "male_share_of_offenders": _ratio(by_sex[VIOLENT_OFFENCES, 1],
                                          by_sex[VIOLENT_OFFENCES].sum()),
        "male_share_of_violent_arrests": _ratio(by_sex[VIOLENT_ARRESTS, 1],
                                                by_sex[VIOLENT_ARRESTS].sum()),
        "male_share_of_homicide_arrests": _ratio(by_sex[HOMICIDE_ARRESTS, 1],
                                                 by_sex[HOMICIDE_ARRESTS].sum()),
        "homicide_victims_male_share": _ratio(by_sex[HOMICIDES, 1], by_sex[HOMICIDES].sum()),
        "homicide_offenders_male_share": _ratio(by_sex[HOMICIDE_OFFENDERS, 1],
                                                by_sex[HOMICIDE_OFFENDERS].sum()),
        "homicide_victimisation_by_age_band": band_rates(HOMICIDES),
        "firearm_share_of_violent_incidents": _ratio(totals[FIREARM_INCIDENTS],
                                                     totals[VIOLENT_OFFENCES]),
        "firearm_share_of_homicides": _ratio(totals[FIREARM_HOMICIDES], totals[HOMICIDES]),
        "offending_prevalence_by_age_band": {
            label: (float(by_band[NEW_OFFENDERS, b] / band_person_years[b])
                    if band_person_years[b] > 0 else None)
            for b, label in enumerate(model.band_labels)},
        "gang_membership_by_age_band": share_of(GANG_MEMBERS),
        "gang_membership_by_age": gang_by_age(model),
        "gang_membership_ages_5_17": gang_prevalence_5_17(model),
        "violence_share_top_tenth": share_in_top_tenth(model.community_incidents_after_burn_in,
                                                       model.tables.community_size),
        "annual_drift_violence": relative_slope(yearly[:, VIOLENT_OFFENCES]),
        "annual_drift_incarcerated": relative_slope(yearly[:, INCARCERATED_STOCK]),
        "offending_rate_by_age_band": offending_by_band,
        "rearrest_within_5_years_by_age_at_release": rearrest_5_by_age,
        "community_violence_p90_p10_ratio": _ratio(p90, p10),
        "violence_by_community_per_100k_per_year": [float(x) for x in
                                                    per_capita / years * 1e5],
        "cost_incarceration": cost_incarceration,
        "cost_incarceration_per_year": cost_incarceration / years,
        "cost_incarceration_marginal": cost_incarceration_marginal,
        "police_officers_added": officers_added,
        "cost_police": cost_police,
        "cost_programs": cost_programs,
        "cost_programs_per_year": cost_programs / years,
        # prisons at their average cost (the long run) and at their marginal cost (what one
        # prisoner more or fewer changes soon); the difference between scenarios is the account
        "cost_total": cost_programs + cost_police + cost_incarceration,
        "cost_total_marginal": cost_programs + cost_police + cost_incarceration_marginal,
        "cost_money": as_stated_label(model.config.costs),
        # the benefit-cost account: present values in one currency and year (sim/accounts.py)
        "money": money_label(model.config.costs),
        **account(model, cost_police, cost_programs),
        "programs": program_outcomes,
        "by_sex": {name: sex_rates(stat) for name, stat in (
            ("violent_offences_per_100k_per_year", VIOLENT_OFFENCES),
            ("victimisations_per_100k_per_year", VICTIMISATIONS),
            ("homicide_victims_per_100k_per_year", HOMICIDES),
            ("arrests_per_100k_per_year", ARRESTS),
            ("prison_admissions_per_100k_per_year", ADMISSIONS))},
        "by_age_band": {name: band_rates(stat) for name, stat in (
            ("violent_offences_per_100k_per_year", VIOLENT_OFFENCES),
            ("victimisations_per_100k_per_year", VICTIMISATIONS),
            ("homicide_victims_per_100k_per_year", HOMICIDES),
            ("arrests_per_100k_per_year", ARRESTS),
            ("prison_admissions_per_100k_per_year", ADMISSIONS))},
    }


def share_in_top_tenth(incidents: np.ndarray, residents: np.ndarray) -> float | None:
    """Share of violent incidents in the most violent communities holding a tenth of the
    residents (communities ranked by incidents per resident; the boundary community counts in
    proportion to the residents it adds)."""
    total = float(incidents.sum())
    if total <= 0:
        return None
    order = np.argsort(-(incidents / residents), kind="stable")
    people, events = residents[order].astype(float), incidents[order].astype(float)
    target = 0.1 * people.sum()
    before = np.concatenate(([0.0], np.cumsum(people)[:-1]))
    taken = np.clip((target - before) / people, 0.0, 1.0)
    return float((events * taken).sum() / total)


def relative_slope(yearly: np.ndarray) -> float | None:
    """Least-squares slope of a yearly series, per year, relative to its mean (0.01: +1% a
    year); None with fewer than three years."""
    y = np.asarray(yearly, float)
    if y.size < 3 or y.mean() == 0:
        return None
    return float(np.polyfit(np.arange(y.size), y, 1)[0] / y.mean())


def gang_by_age(model: ViolencePreventionModel, ages=range(10, 25)) -> dict:
    """Share of residents in a gang by single year of age (yearly counts after burn-in)."""
    n = model.residents_by_age
    return {str(a): (float(model.gang_members_by_age[a] / n[a]) if n[a] > 0 else None)
            for a in ages if a < len(n)}


def gang_prevalence_5_17(model: ViolencePreventionModel) -> float | None:
    """Mean share in a gang over ages 5-17, as Pyrooz & Sweeten measure it, taking ages 5-9
    (younger than any resident) as none."""
    n, members = model.residents_by_age, model.gang_members_by_age
    if len(n) < 18 or (n[10:18] == 0).any():
        return None
    return float((members[10:18] / n[10:18]).sum() / 13)


def programs_summary(model: ViolencePreventionModel) -> dict:
    """Per program of the scenario: its reach, its participants against the waiting list
    (individual programs), and its cost."""
    book, t, week = model.programs, model.programs.tables, model.week
    out = {}
    for p in book.programs:
        participant_weeks = p.participant_weeks(week)
        entry = {"kind": p.kind.name, "start_week": p.start - model.burn_in_weeks,
                 "weeks_running": p.weeks_running}
        if p.level == INDIVIDUAL:
            k = p.index
            ended = (t.ind_end_week[k] <= week - 1)
            entry.update({
                "participants": p.participants,
                "completions": int(((t.ind_status[k] == COMPLETER) & ended).sum()),
                "dropouts": int(((t.ind_status[k] == DROPOUT) & ended).sum()),
                "declined": int((t.ind_status[k] == DECLINED).sum()),
                "waiting_list_mean": float(np.mean(p.waiting_list)) if p.waiting_list else 0.0,
                "participant_weeks": participant_weeks,
                "participants_by_sex": {sex: int(p.participants_by[s].sum())
                                        for s, sex in enumerate(SEXES)},
                "participants_by_age_band": {
                    label: int(p.participants_by[:, b].sum())
                    for b, label in enumerate(book.labels)},
            })
            entry["participants_vs_waiting_list"] = participants_vs_waiting_list(
                t.ind_stats[k])
        elif p.kind.reach_statistic is not None:
            participant_weeks = int(t.community_stats[p.kind.reach_statistic])
            entry["participant_weeks"] = participant_weeks
        if p.kind.sized_by_communities and p.covered is not None:
            entry["communities"] = [int(x) for x in np.flatnonzero(p.covered)]
            entry["community_weeks"] = p.community_weeks
        if p.kind.caseloads:
            entry["worker_weeks"] = p.community_weeks * workers_per_site(p.config)
        if p.kind.mediates:
            entry["mediations"] = int(t.community_stats[MEDIATIONS])
        if p.config.officers_per_site:
            entry["officer_weeks"] = p.community_weeks * p.config.officers_per_site
        entry["cost"] = program_cost(p.config, participant_weeks, p.community_weeks,
                                     p.weeks_running, model.config.justice)
        entry["source"] = p.config.source
        out[p.name] = entry
    return out


def participants_vs_waiting_list(stats: np.ndarray) -> dict:
    """Participants (while enrolled) against the waiting list (until the next intake), from an
    individual program's counters by [sex, age] (`ProgramTables.ind_stats[k]`).

    The ratios are age- and sex-standardised: observed participant arrests over those expected
    at the waiting list's rates in the same sex and age, over the strata both groups reach.
    Crude rates can mislead: a youth program's places go to whoever turns eligible, its waiting
    list builds up when many are eligible at once.
    """
    s = stats.reshape(-1, N_PROGRAM_STATS).astype(float)
    p_weeks, c_weeks = s[:, PARTICIPANT_WEEKS], s[:, COMPARISON_WEEKS]
    both = (p_weeks > 0) & (c_weeks > 0)
    out = {
        "participant_years": float(p_weeks.sum() / WEEKS_PER_YEAR),
        "participant_arrests_per_year": _per_year(s[:, PARTICIPANT_ARRESTS].sum(),
                                                  p_weeks.sum()),
        "participant_violent_arrests_per_year": _per_year(
            s[:, PARTICIPANT_VIOLENT_ARRESTS].sum(), p_weeks.sum()),
        "comparison_years": float(c_weeks.sum() / WEEKS_PER_YEAR),
        "comparison_arrests_per_year": _per_year(s[:, COMPARISON_ARRESTS].sum(), c_weeks.sum()),
        "comparison_violent_arrests_per_year": _per_year(
            s[:, COMPARISON_VIOLENT_ARRESTS].sum(), c_weeks.sum()),
    }
    for name, p_col, c_col in (
            ("arrests", PARTICIPANT_ARRESTS, COMPARISON_ARRESTS),
            ("violent_arrests", PARTICIPANT_VIOLENT_ARRESTS, COMPARISON_VIOLENT_ARRESTS)):
        expected = (p_weeks[both] * s[both, c_col] / c_weeks[both]).sum()
        observed = s[both, p_col].sum()
        out[f"standardised_{name}_ratio"] = float(observed / expected) if expected > 0 else None
    return out


def _per_year(events: float, weeks: float) -> float | None:
    return float(events / weeks * WEEKS_PER_YEAR) if weeks > 0 else None


def timeseries(model: ViolencePreventionModel) -> pd.DataFrame:
    """One row per simulated week: every statistic in total and by sex and age band."""
    h = model.history[:model.week]
    weeks = np.arange(h.shape[0])
    columns = {
        "week": weeks,
        "year": (weeks - model.burn_in_weeks) / WEEKS_PER_YEAR,
        "burn_in": weeks < model.burn_in_weeks,
    }
    for k, stat in enumerate(STAT_NAMES):
        columns[stat] = h[:, k].sum(axis=(1, 2))
        for s, sex in enumerate(SEXES):
            for b, band in enumerate(model.band_labels):
                columns[f"{stat}__{sex}__{band}"] = h[:, k, s, b]
    return pd.DataFrame(columns)


def uncertainty_label(cfg) -> str:
    """What the spread of replicates of this config covers (`sim.uncertainty.label`)."""
    from .uncertainty import label

    return label(cfg)


def drawn_values(cfg) -> dict:
    """The parameter values this replicate drew from their plausible ranges (none: {})."""
    from .uncertainty import draws

    return draws(cfg)[1]
