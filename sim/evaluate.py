"""Virtual evaluations: does a program, inside the model, do what its evaluation found?

`vpsim-evaluate PROGRAM [overrides ...] [--seeds N] [--profile P] [--out DIR]` runs, inside the
model, the design of the study a program kind's effect comes from (`EVALUATIONS`, one entry per
kind of `sim.catalogue`): a lottery among the eligible, communities matched or randomised, a
before/after comparison. It computes the study's own estimand (its outcome, its window,
intention to treat or treatment on the treated) once per seed, seeds `seed`..`seed`+N-1, and
reports the mean with a 95% t-interval over the seeds beside the published range, in
`DIR/evaluation.json`. `vpsim-evaluate all` runs every kind, each into `DIR/<kind>/`, and
writes `DIR/evidence.md`.

Each kind runs its own scenario file (`scenarios/<kind>.yaml`), sized for the profile as the
app sizes it (places in proportion to residents, covered communities to communities), with the
design's changes on top (who is offered a place, when the program starts, how long the run
is), then the overrides given. A program override (`scenario.programs.<kind>.effect=1.0`)
reaches only that kind's evaluation under `all`.

The designs, by how the study assigned its treatment:
- `Lottery` (individual programs): at each intake every newly eligible resident is offered a
  place with probability 1/2 (`coverage=0.5`: a draw of the resident's own, the same at every
  intake, so the waiting list is never offered a place later); the offered (intention to
  treat) and the waiting list are followed from that intake, or from the release that follows.
- `MatchedAreas`: the program covers its communities as configured (the most violent at its
  start); each is matched to the untreated community nearest in the pre-period outcome per
  resident and disadvantage; difference in differences of the counts.
- `RandomisedAreas`: the 2N most violent communities at the start (N: the program's), N drawn
  by lottery to the program; difference in differences, and in the adjacent communities.
- `PairedCommunityPanel`: the 2N most violent communities paired by rank, one of each pair
  drawn to the program; a panel of the residents of the pairs aged 10-11 at the start.
- `BeforeAfter`: the whole city, the years before the start against the years after.

What was published, and the check it sets (checked, a direction, or illustrative), is the
kind's `sim.catalogue.EVIDENCE`. A design whose own interval at the profile's size is wider
than the published range is checked on its placebo-paired estimate instead (`checked_on`: the
same treated people or communities in a run of the same seed where the program does nothing);
the design's estimate is reported beside it.

A study needs records the model does not keep: `StudyModel` keeps them (by community and week:
firearm incidents and arrests, by the offender's community; every arrest and offence by person;
who was offered a place at each intake). It reads the state around the stages and changes
nothing, so its runs are the model's, bit for bit.

Exit codes: 0 done; 2 bad input (one line naming the argument, nothing written); 1 an
evaluation failed while running (e.g. too few events on a small profile; `all` still writes
`evidence.md` for the kinds that ran).
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np
import pandas as pd

from . import folders, machine
from .catalogue import (
    CHECKED,
    DIRECTION,
    EVIDENCE,
    ILLUSTRATIVE,
    INDIVIDUAL,
    KINDS,
    REFERENCE_PROFILE,
    resized_for,
)
from .codes import (
    COMPLETER,
    DEAD,
    DECLINED,
    DROPOUT,
    FIREARM_CARRYING,
    NEVER,
    TALLY_SPELLS,
    VIOLENT_ARRESTS,
    VIOLENT_OFFENCES,
    WAITLISTED,
    WEEKS_PER_YEAR,
    age_in_years,
)
from .config import CONFIG_DIR, ConfigError, VpsimConfig, load, shown
from .io import DiskFullError, write_json, write_text
from .model import ViolencePreventionModel
from .stats import mean_interval

EXIT_FAILED = 1
EXIT_INPUT = 2

RELATIVE = "relative change"  # program / comparison - 1
DIFFERENCE = "difference"  # program - comparison (shares, or points of a 0-1 scale)
SHARE = "share"  # a share of people, e.g. take-up

RANDOMISATION = 0x5EED  # the study's own coin, apart from the model's draws (sim.rng)


class EvaluationError(RuntimeError):
    """A design that cannot be estimated on this run (too few events, too few communities)."""


# -- what a study records --------------------------------------------------------------------------
class StudyModel(ViolencePreventionModel):
    """The model, keeping what a study of it records and the model does not.

    From `from_week` (weeks after burn-in) on: by week and community, violent incidents (by the
    victim's community, as the model counts them), firearm incidents and arrests (by the
    offender's community) and collective efficacy; every arrest (and, if `offences`, every
    offence) as (week, slot, birth_week, violent). With `lottery` (a kind of individual
    program): at each of its intakes, who was first offered a place and who first waited. With
    `panel_ages`: the residents of those ages when the program of kind `panel_kind` starts, and
    the week each leaves the population.

    It reads the state before and after the stages and writes none of it: no draw, no state
    changes, so a run gives the plain model's results bit for bit.
    """

    def __init__(self, config, *, from_week: int = 0, lottery: str | None = None,
                 panel_kind: str | None = None, panel_ages: tuple[int, int] = (0, -1),
                 offences: bool = False) -> None:
        super().__init__(config)
        self.first_week = self.burn_in_weeks + from_week
        weeks = max(0, self.total_weeks - self.first_week)
        n = len(self.tables.community_size)
        self.community_violent_incidents = np.zeros((weeks, n), np.int32)
        self.community_firearm_incidents = np.zeros((weeks, n), np.int32)
        self.community_arrests = np.zeros((weeks, n), np.int32)
        self.community_efficacy = np.zeros((weeks, n), np.float32)
        self._arrests: list[np.ndarray] = []
        self._offences: list[np.ndarray] | None = [] if offences else None
        self._lottery = self.programs.by_kind(lottery) if lottery else None
        if self._lottery is not None and self._lottery.level != INDIVIDUAL:
            raise ValueError(f"a lottery needs an individual program, not {lottery}")
        self._assigned_birth = np.full(config.population.size, NEVER, np.int64)
        self._cohort: list[np.ndarray] = []
        self._panel_program = self.programs.by_kind(panel_kind) if panel_kind else None
        self._panel_ages = panel_ages
        self.panel: pd.DataFrame | None = None
        self._panel_slot = self._panel_birth = self._panel_left = None

    # -- around the stages ------------------------------------------------------------------
    def _run_programs(self, week: int) -> None:
        if self._panel_program is not None and week == self._panel_program.start:
            self._take_panel(week)
        p = self._lottery
        if p is None or week < p.start or (week - p.start) % p.config.intake_interval_weeks:
            super()._run_programs(week)
            return
        before = self.programs.tables.ind_status[p.index].copy()
        super()._run_programs(week)
        self._record_assignment(week, before)

    def _resolve_offences(self, week: int) -> None:
        if week < self.first_week:
            super()._resolve_offences(week)
            return
        r = self.residents
        queued = self._week_buffers.offences[:self._n_offences]
        violent = queued >= 0
        who = np.where(violent, queued, ~queued)
        # As the offences stage reads it: only the offender's own admission removes a firearm.
        armed = (r.risk_flags[who] & FIREARM_CARRYING) != 0
        super()._resolve_offences(week)
        done = r.last_offence_week[who] == week  # not skipped: killed earlier that week
        arrested = done & (r.last_arrest_week[who] == week)
        row = week - self.first_week
        community = r.community[who]
        np.add.at(self.community_firearm_incidents[row], community[done & violent & armed], 1)
        np.add.at(self.community_arrests[row], community[arrested], 1)
        self._arrests.append(_person_events(week, who[arrested], r.birth_week,
                                            violent[arrested]))
        if self._offences is not None:
            self._offences.append(_person_events(week, who[done], r.birth_week, violent[done]))

    def _record(self, week: int) -> None:
        if week >= self.first_week:
            row = week - self.first_week
            self.community_violent_incidents[row] = self._incidents
            self.community_efficacy[row] = self.collective_efficacy
        if self._panel_left is not None:  # a slot holds someone else: the member has left
            gone = (self._panel_left == NEVER) & (
                self.residents.birth_week[self._panel_slot] != self._panel_birth)
            self._panel_left[gone] = week
        super()._record(week)

    def _record_assignment(self, week: int, before: np.ndarray) -> None:
        p, r = self._lottery, self.residents
        t = self.programs.tables
        after = t.ind_status[p.index]
        placed = (after == COMPLETER) | (after == DROPOUT) | (after == DECLINED)
        offered = placed & (before != COMPLETER) & (before != DROPOUT) & (before != DECLINED)
        waiting = (after == WAITLISTED) & (t.ind_start_week[p.index] == week)
        first = (offered | waiting) & (self._assigned_birth != r.birth_week)
        slots = np.flatnonzero(first)
        self._assigned_birth[slots] = r.birth_week[slots]
        took_up = (after[slots] == COMPLETER) | (after[slots] == DROPOUT)
        self._cohort.append(np.stack([
            np.full(len(slots), week), slots, r.birth_week[slots], offered[slots], took_up,
            r.open_spell[slots]]).astype(np.int64))

    def _take_panel(self, week: int) -> None:
        r = self.residents
        age = age_in_years(week, r.birth_week)
        lo, hi = self._panel_ages
        slots = np.flatnonzero((age >= lo) & (age <= hi) & (r.justice_state != DEAD))
        self._panel_slot, self._panel_birth = slots, r.birth_week[slots].copy()
        self.panel = pd.DataFrame({"slot": slots, "birth_week": self._panel_birth,
                                   "community": r.community[slots]})
        self._panel_left = np.full(len(slots), NEVER, np.int64)

    # -- reading -------------------------------------------------------------------------------
    def arrest_log(self) -> pd.DataFrame:
        return _events_frame(self._arrests)

    def offence_log(self) -> pd.DataFrame:
        if self._offences is None:
            raise ValueError("offences were not recorded (StudyModel(..., offences=True))")
        return _events_frame(self._offences)

    def cohort(self) -> pd.DataFrame:
        """Everyone assigned at an intake of the lottery's program, once: the week, the person
        (slot, birth_week), offered a place or waiting, took it up, the open release spell."""
        columns = ["week", "slot", "birth_week", "offered", "took_up", "open_spell"]
        data = np.concatenate(self._cohort, axis=1) if self._cohort else np.zeros((6, 0))
        df = pd.DataFrame(dict(zip(columns, data.astype(np.int64))))
        return df.astype({"offered": bool, "took_up": bool})

    def panel_left(self) -> np.ndarray:
        """The week each panel member left the population (NEVER: still here)."""
        return self._panel_left

    def weeks(self, start: int, stop: int) -> slice:
        """Rows of the community records for absolute weeks [start, stop)."""
        if start < self.first_week or stop > self.total_weeks:
            raise ValueError(f"weeks [{start}, {stop}) are not recorded: "
                             f"[{self.first_week}, {self.total_weeks})")
        return slice(start - self.first_week, stop - self.first_week)


def _person_events(week: int, who: np.ndarray, birth_week: np.ndarray,
                   violent: np.ndarray) -> np.ndarray:
    return np.stack([np.full(len(who), week), who, birth_week[who], violent]).astype(np.int64)


def _events_frame(chunks: list[np.ndarray]) -> pd.DataFrame:
    data = np.concatenate(chunks, axis=1) if chunks else np.zeros((4, 0), np.int64)
    df = pd.DataFrame(dict(zip(["week", "slot", "birth_week", "violent"], data)))
    return df.astype({"violent": bool})


# -- estimators ------------------------------------------------------------------------------------
def events_within(people: pd.DataFrame, start: np.ndarray, log: pd.DataFrame,
                  weeks: int) -> np.ndarray:
    """Events of each person (`people`: slot, birth_week) in their weeks [start, start + weeks)."""
    counts = np.zeros(len(people), np.int64)
    if len(people) == 0 or len(log) == 0:
        return counts
    left = pd.DataFrame({"row": np.arange(len(people)), "slot": people.slot.to_numpy(),
                         "birth_week": people.birth_week.to_numpy(),
                         "start": np.asarray(start, np.int64)})
    m = left.merge(log[["week", "slot", "birth_week"]], on=["slot", "birth_week"])
    inside = (m.week >= m.start) & (m.week < m.start + weeks)
    return np.bincount(m.row[inside].to_numpy(), minlength=len(people))


def relative_change(program: float, comparison: float, what: str) -> float:
    if comparison <= 0:
        raise EvaluationError(f"no {what} in the comparison group: too few events for a "
                              "relative change (a larger profile, or a longer window)")
    return program / comparison - 1.0


def difference_in_differences(treated_before: float, treated_after: float,
                              comparison_before: float, comparison_after: float,
                              what: str) -> float:
    """The treated's change relative to the comparison's, (T1 / T0) / (C1 / C0) - 1: the
    difference in differences of log counts, as a relative change."""
    counts = {"treated before": treated_before, "treated after": treated_after,
              "comparison before": comparison_before, "comparison after": comparison_after}
    empty = [name for name, n in counts.items() if n <= 0]
    if empty:
        raise EvaluationError(f"no {what} in the {empty[0]} period: too few events for a "
                              "difference in differences (a larger profile, or more years)")
    return math.exp(math.log(treated_after / treated_before)
                    - math.log(comparison_after / comparison_before)) - 1.0


def match_comparisons(treated: np.ndarray, candidates: np.ndarray,
                      features: np.ndarray) -> np.ndarray:
    """For each treated community, the nearest candidate, without replacement.

    `features` [community, k] are standardised over all communities; distance is Euclidean;
    the treated with the highest first feature choose first.
    """
    treated, candidates = np.asarray(treated), np.asarray(candidates)
    if len(candidates) < len(treated):
        raise EvaluationError(f"{len(treated)} treated communities and only {len(candidates)} "
                              "untreated to match them with: a profile with more communities")
    sd = features.std(axis=0)
    z = (features - features.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    free = list(candidates)
    chosen = []
    for c in sorted(treated, key=lambda c: -features[c, 0]):
        d = np.linalg.norm(z[free] - z[c], axis=1)
        chosen.append(free.pop(int(np.argmin(d))))
    return np.array(chosen, np.int64)


def summarise(values: list[float]) -> dict:
    """Mean and 95% t-interval over seeds."""
    m, lo, hi = mean_interval(values)
    return {"mean": m, "ci_low": lo, "ci_high": hi, "per_seed": list(values)}


# -- designs ---------------------------------------------------------------------------------------
def _program_key(kind: str) -> str:
    return f"scenario.programs.{kind}"  # every scenario file names its program after its kind


def placebo_config(cfg: VpsimConfig, kind: str) -> VpsimConfig:
    """`cfg` with `kind`'s program doing nothing: effect 1, no change to arrest, no shooting
    mediated; the same communities covered (and, until behaviour differs, the same people
    enrolled). Run with the same seed, it shares every draw with the real run until behaviour
    differs (common random numbers)."""
    cfg = copy.deepcopy(cfg)
    program = cfg.scenario.programs[kind]
    program.effect = 1.0
    program.clearance_multiplier = 1.0
    program.mediation = 0.0
    return cfg


def _window_error(key: str, value, need: str) -> ConfigError:
    return ConfigError(f"{key} = {value!r}: {need}")


@dataclass(frozen=True)
class Lottery:
    """Offered vs waiting list at the intakes of an individual program (see the module)."""

    window_weeks: int
    violent_only: bool  # count violent-crime arrests only
    ever: bool  # the share with any arrest in the window (else arrests per person)
    from_release: bool = False  # follow from the release after assignment (else from it)
    per_participant: bool = False  # treatment on the treated: ITT / take-up
    estimand: str = RELATIVE
    secondary_window_weeks: int | None = None
    reincarceration: bool = False  # also ever back in prison within the window
    placebo: bool = False  # also the same people in a run where the program has no effect
    # also the placebo-paired effect on (violent) offences: the same relative change as on
    # arrests when the program leaves clearance alone, from several times the events
    offences_paired: bool = False
    # the lottery among the eligible of every community (a city-wide study), for more events
    every_community: bool = False
    years: int = 10

    def overrides(self, kind: str, cfg: VpsimConfig) -> list[str]:
        key = _program_key(kind)
        out = [f"{key}.capacity=null", f"{key}.coverage=0.5", f"years={self.years}"]
        if self.every_community:
            out += [f"{key}.targeting.most_violent_communities=0",
                    f"{key}.targeting.communities=[]"]
        return out

    def check(self, kind: str, cfg: VpsimConfig) -> None:
        program = cfg.scenario.programs[kind]
        if program.coverage is None and program.priority != "random":
            raise ConfigError(f"{_program_key(kind)}.priority = {program.priority!r}: a "
                              "lottery offers places at random; allowed random (with capacity; "
                              "the design's default is coverage=0.5)")
        start = program.start_week
        if WEEKS_PER_YEAR * cfg.years - start <= self.window_weeks:
            need = (start + self.window_weeks) / WEEKS_PER_YEAR
            raise _window_error("years", cfg.years, f"the {kind} lottery follows each person "
                                f"{self.window_weeks} weeks from an intake, the first in week "
                                f"{start}: allowed > {need:g}")

    def measure(self, kind: str, cfg: VpsimConfig) -> dict:
        model = StudyModel(cfg, lottery=kind, offences=self.offences_paired)
        model.run()
        people = model.cohort()
        start = _release_after(people, model) if self.from_release else people.week.to_numpy()
        offered = people.offered.to_numpy()
        out = {}
        windows = {"effect": self.window_weeks}
        if self.secondary_window_weeks:
            windows[f"within_{self.secondary_window_weeks}_weeks"] = self.secondary_window_weeks
        for name, weeks in windows.items():
            followed = (start >= 0) & (start + weeks <= model.total_weeks)
            for arm, who in (("offered a place", offered), ("on the waiting list", ~offered)):
                if not (followed & who).any():
                    raise EvaluationError(f"{kind}: nobody {arm} was followed {weeks} weeks: "
                                          "too few eligible")
            y = self._outcome(people, start, followed, model, weeks)
            program, comparison = y[followed & offered].mean(), y[followed & ~offered].mean()
            out[name] = self._contrast(program, comparison)
            if name == "effect":
                take_up = float(people.took_up[followed & offered].mean())
                out.update(offered=int((followed & offered).sum()),
                           waiting_list=int((followed & ~offered).sum()), take_up=take_up,
                           program_arm=float(program), comparison_arm=float(comparison),
                           intention_to_treat=out[name])
        if self.per_participant:
            if out["take_up"] <= 0:
                raise EvaluationError(f"{kind}: nobody offered a place took it up")
            out["effect"] = out["intention_to_treat"] / out["take_up"]
        if self.reincarceration:
            out["reincarcerated"] = _reincarceration_difference(people, model,
                                                                self.window_weeks)
        if self.placebo:
            out.update(self._against_placebo(kind, cfg, people, start, offered, model, out))
        return out

    def _outcome(self, people: pd.DataFrame, start: np.ndarray, followed: np.ndarray,
                 model: StudyModel, weeks: int, offences: bool = False) -> np.ndarray:
        """Each person's arrests (or offences; or whether any) in the window; 0 for those not
        followed."""
        arrests = model.offence_log() if offences else model.arrest_log()
        if self.violent_only:
            arrests = arrests[arrests.violent]
        y = np.zeros(len(people))
        y[followed] = events_within(people[followed], start[followed], arrests, weeks)
        return (y > 0).astype(float) if self.ever else y

    def _contrast(self, program: float, comparison: float) -> float:
        if self.estimand == DIFFERENCE:
            return float(program - comparison)
        return relative_change(float(program), float(comparison), "arrests")

    def _against_placebo(self, kind: str, cfg: VpsimConfig, people: pd.DataFrame,
                         start: np.ndarray, offered: np.ndarray, model: StudyModel,
                         out: dict) -> dict:
        """The same people in a run where the program has no effect (effect 1, the same seed:
        the same draws until behaviour differs): the effect on the offered without the
        lottery's sampling noise, and any spill-over onto the waiting list."""
        placebo = StudyModel(placebo_config(cfg, kind), offences=self.offences_paired)
        placebo.run()
        followed = (start >= 0) & (start + self.window_weeks <= model.total_weeks)
        y1 = self._outcome(people, start, followed, model, self.window_weeks)
        y0 = self._outcome(people, start, followed, placebo, self.window_weeks)
        on_offered = relative_change(y1[followed & offered].mean(),
                                     y0[followed & offered].mean(), "arrests in the placebo run")
        per = out["take_up"] if self.per_participant else 1.0
        extra = {}
        if self.offences_paired:
            z1, z0 = (self._outcome(people, start, followed, run, self.window_weeks,
                                    offences=True) for run in (model, placebo))
            extra["placebo_paired_offences"] = float(relative_change(
                z1[followed & offered].mean(), z0[followed & offered].mean(),
                "offences in the placebo run") / per)
        return {**extra, "placebo_paired": float(on_offered / per),
                "waiting_list_spillover": float(relative_change(
                    y1[followed & ~offered].mean(), y0[followed & ~offered].mean(),
                    "arrests in the placebo run"))}


def _release_after(people: pd.DataFrame, model: ViolencePreventionModel) -> np.ndarray:
    """Each person's first release at or after their assignment week (-1: none in the run)."""
    n = int(model.tallies[TALLY_SPELLS])
    s = model.spells
    spells = pd.DataFrame({"slot": s.resident[:n].astype(np.int64),
                           "birth_week": s.birth_week[:n].astype(np.int64),
                           "release_week": s.release_week[:n].astype(np.int64)})
    left = people[["slot", "birth_week", "week"]].assign(row=np.arange(len(people)))
    m = pd.merge_asof(left.sort_values("week"), spells.sort_values("release_week"),
                      left_on="week", right_on="release_week", by=["slot", "birth_week"],
                      direction="forward")
    release = np.full(len(people), -1, np.int64)
    found = m.release_week.notna().to_numpy()
    release[m.row.to_numpy()[found]] = m.release_week.to_numpy()[found].astype(np.int64)
    return release


def _reincarceration_difference(people: pd.DataFrame, model: ViolencePreventionModel,
                                weeks: int) -> float | None:
    """Ever back in prison within `weeks` of assignment: program minus waiting list (the
    release spell open at assignment records its first admission)."""
    followed = (people.week + weeks <= model.total_weeks) & (people.open_spell >= 0)
    p = people[followed]
    back = model.spells.reincarceration_week[p.open_spell.to_numpy()].astype(np.int64)
    y = ((back >= p.week.to_numpy()) & (back < p.week.to_numpy() + weeks)).astype(float)
    offered = p.offered.to_numpy()
    if offered.sum() == 0 or (~offered).sum() == 0:
        return None
    return float(y[offered].mean() - y[~offered].mean())


def _area_counts(model: StudyModel, series: np.ndarray, start: int, pre: int, post: int,
                 communities: np.ndarray) -> tuple[float, float]:
    idx = np.asarray(communities, np.int64)
    before = float(series[model.weeks(start - pre, start)][:, idx].sum())
    after = float(series[model.weeks(start, start + post)][:, idx].sum())
    return before, after


def _against_placebo(kind: str, cfg: VpsimConfig, model: StudyModel, series: str, start: int,
                     weeks: int, treated, comparison) -> dict:
    """The treated and comparison communities against themselves in a run where the program
    does nothing (`placebo_config`): the program's effect where it ran, over the window after
    its start, without the design's sampling noise, and any spill-over onto the comparison."""
    placebo = StudyModel(placebo_config(cfg, kind), from_week=model.first_week
                         - model.burn_in_weeks)
    placebo.run()
    window = model.weeks(start, start + weeks)
    real, none = getattr(model, series)[window], getattr(placebo, series)[window]
    what = series.removeprefix("community_").replace("_", " ") + " in the placebo run"
    return {name: relative_change(float(real[:, idx].sum()), float(none[:, idx].sum()), what)
            for name, idx in (("placebo_paired", np.asarray(treated, np.int64)),
                              ("comparison_spillover", np.asarray(comparison, np.int64)))}


def _did(model: StudyModel, series: np.ndarray, start: int, pre: int, post: int,
         treated: np.ndarray, comparison: np.ndarray, what: str) -> float:
    t0, t1 = _area_counts(model, series, start, pre, post, treated)
    c0, c1 = _area_counts(model, series, start, pre, post, comparison)
    return difference_in_differences(t0, t1, c0, c1, what)


@dataclass(frozen=True)
class _Windows:
    """A program that starts `pre_weeks` after burn-in, measured before and after its start."""

    pre_weeks: int
    post_weeks: int

    @property
    def years(self) -> int:
        return math.ceil((self.pre_weeks + self.post_weeks) / WEEKS_PER_YEAR)

    def window_overrides(self, kind: str) -> list[str]:
        return [f"{_program_key(kind)}.start_week={self.pre_weeks}", f"years={self.years}"]

    def check(self, kind: str, cfg: VpsimConfig) -> None:
        start = cfg.scenario.programs[kind].start_week
        key = f"{_program_key(kind)}.start_week"
        if start < self.pre_weeks:
            raise _window_error(key, start, f"the design compares the {self.pre_weeks} weeks "
                                f"before the start (after burn-in): allowed >= {self.pre_weeks}")
        if start + self.post_weeks > WEEKS_PER_YEAR * cfg.years:
            raise _window_error("years", cfg.years, f"the design follows {self.post_weeks} "
                                f"weeks after the start (week {start}): allowed >= "
                                f"{(start + self.post_weeks) / WEEKS_PER_YEAR:g}")


@dataclass(frozen=True)
class MatchedAreas(_Windows):
    """The program's communities vs matched untreated ones, difference in differences."""

    firearm: bool = False  # outcome: firearm incidents (else violent incidents)
    efficacy: bool = False  # also the change in collective efficacy

    def overrides(self, kind: str, cfg: VpsimConfig) -> list[str]:
        return self.window_overrides(kind)

    def measure(self, kind: str, cfg: VpsimConfig) -> dict:
        model = StudyModel(cfg, from_week=cfg.scenario.programs[kind].start_week
                           - self.pre_weeks)
        model.run()
        p = model.programs.by_kind(kind)
        treated = np.flatnonzero(p.covered)
        if len(treated) == 0 or len(treated) == len(p.covered):
            raise EvaluationError(f"{kind} covers {len(treated)} of {len(p.covered)} "
                                  "communities: a matched design needs some of each")
        primary = (model.community_firearm_incidents if self.firearm
                   else model.community_violent_incidents)
        what = "firearm incidents" if self.firearm else "violent incidents"
        before = primary[model.weeks(p.start - self.pre_weeks, p.start)].sum(axis=0)
        features = np.column_stack([before / model.tables.community_size,
                                    model.tables.community_disadvantage])
        comparison = match_comparisons(treated, np.flatnonzero(~p.covered), features)
        out = {"treated": treated.tolist(), "comparison": sorted(comparison.tolist()),
               "effect": _did(model, primary, p.start, self.pre_weeks, self.post_weeks,
                              treated, comparison, what)}
        if self.firearm:
            out["violent_incidents"] = _did(model, model.community_violent_incidents, p.start,
                                            self.pre_weeks, self.post_weeks, treated,
                                            comparison, "violent incidents")
        if self.efficacy:
            e = model.community_efficacy
            pre, post = model.weeks(p.start - self.pre_weeks, p.start), \
                model.weeks(p.start, p.start + self.post_weeks)
            out["collective_efficacy_points"] = float(
                (e[post][:, treated].mean() - e[pre][:, treated].mean())
                - (e[post][:, comparison].mean() - e[pre][:, comparison].mean()))
        series = "community_firearm_incidents" if self.firearm else "community_violent_incidents"
        out.update(_against_placebo(kind, cfg, model, series, p.start, self.post_weeks, treated,
                                    comparison))
        return out


def _most_violent_at_start(cfg: VpsimConfig, kind: str, n: int) -> np.ndarray:
    """The 2n most violent communities when the program starts, most violent first, as the
    program ranks them (a run to that week: the same draws as the evaluated run's)."""
    communities = cfg.population.communities
    if 2 * n > communities:
        raise EvaluationError(f"{kind}: 2 x {n} communities to randomise, the profile has "
                              f"{communities}: a profile with more communities")
    model = ViolencePreventionModel(cfg)
    model.run(weeks=model.burn_in_weeks + cfg.scenario.programs[kind].start_week)
    return np.argsort(-model.violence_rate, kind="stable")[:2 * n]


def _covering(cfg: VpsimConfig, kind: str, communities) -> VpsimConfig:
    cfg = copy.deepcopy(cfg)
    t = cfg.scenario.programs[kind].targeting
    t.most_violent_communities = 0
    t.reselect_every_weeks = 0  # the study's areas stay put during the test
    t.communities = sorted(int(c) for c in communities)
    return cfg


def _coin(cfg: VpsimConfig) -> np.random.Generator:
    return np.random.default_rng([RANDOMISATION, cfg.seed])


@dataclass(frozen=True)
class RandomisedAreas(_Windows):
    """The 2N most violent communities at the start, N drawn to the program."""

    def overrides(self, kind: str, cfg: VpsimConfig) -> list[str]:
        return self.window_overrides(kind)

    def measure(self, kind: str, cfg: VpsimConfig) -> dict:
        n = cfg.scenario.programs[kind].targeting.most_violent_communities
        if n <= 0:
            raise EvaluationError(f"{kind}: targeting.most_violent_communities = {n}: the "
                                  "randomised design draws among the most violent communities")
        candidates = _most_violent_at_start(cfg, kind, n)
        treated = np.sort(_coin(cfg).choice(candidates, n, replace=False))
        control = np.sort(np.setdiff1d(candidates, treated))
        trial = _covering(cfg, kind, treated)
        model = StudyModel(trial, from_week=cfg.scenario.programs[kind].start_week
                           - self.pre_weeks)
        model.run()
        start = model.programs.by_kind(kind).start
        args = (start, self.pre_weeks, self.post_weeks)
        out = {"treated": treated.tolist(), "control": control.tolist(),
               "effect": _did(model, model.community_violent_incidents, *args, treated,
                              control, "violent incidents")}
        catchment_t, catchment_c = _catchments(model, treated, control)
        out["catchment_treated"], out["catchment_control"] = catchment_t, catchment_c
        out["catchment"] = (_did(model, model.community_violent_incidents, *args, catchment_t,
                                 catchment_c, "violent incidents in the catchments")
                            if len(catchment_t) and len(catchment_c) else None)
        out["arrests"] = _did(model, model.community_arrests, *args, treated, control,
                              "arrests")
        out.update(_against_placebo(kind, trial, model, "community_violent_incidents", start,
                                    self.post_weeks, treated, control))
        return out


def _catchments(model: ViolencePreventionModel, treated: np.ndarray,
                control: np.ndarray) -> tuple[list[int], list[int]]:
    """Communities adjacent to the treated (to the controls), outside the trial and adjacent to
    no community of the other arm."""
    t = model.tables

    def adjacent(group) -> set[int]:
        return {int(j) for c in group
                for j in t.community_adj_idx[t.community_adj_ptr[c]:t.community_adj_ptr[c + 1]]}

    trial = set(treated.tolist()) | set(control.tolist())
    near_t, near_c = adjacent(treated) - trial, adjacent(control) - trial
    return sorted(near_t - near_c), sorted(near_c - near_t)


@dataclass(frozen=True)
class PairedCommunityPanel:
    """Communities That Care's trial: matched pairs of communities, one of each drawn to the
    program; a panel of residents aged `panel_ages` at the start, their past-year offending
    in the `outcome_year`-th year after it (and in the `later_year`-th)."""

    panel_ages: tuple[int, int] = (10, 11)
    outcome_year: int = 5
    later_year: int = 9

    @property
    def years(self) -> int:
        return self.later_year

    def overrides(self, kind: str, cfg: VpsimConfig) -> list[str]:
        return [f"{_program_key(kind)}.start_week=0", f"years={self.years}"]

    def check(self, kind: str, cfg: VpsimConfig) -> None:
        start = cfg.scenario.programs[kind].start_week
        need = start + WEEKS_PER_YEAR * self.outcome_year
        if need > WEEKS_PER_YEAR * cfg.years:
            raise _window_error("years", cfg.years, f"the panel is followed to the "
                                f"{self.outcome_year}th year after the start (week {start}): "
                                f"allowed >= {need / WEEKS_PER_YEAR:g}")

    def measure(self, kind: str, cfg: VpsimConfig) -> dict:
        n = cfg.scenario.programs[kind].targeting.most_violent_communities
        if n <= 0:
            raise EvaluationError(f"{kind}: targeting.most_violent_communities = {n}: the "
                                  "pairs are drawn among the most violent communities")
        pairs = _most_violent_at_start(cfg, kind, n).reshape(n, 2)
        coin = _coin(cfg).integers(0, 2, n)
        treated = np.sort(pairs[np.arange(n), coin])
        control = np.sort(pairs[np.arange(n), 1 - coin])
        trial = _covering(cfg, kind, treated)
        model = StudyModel(trial, panel_kind=kind, panel_ages=self.panel_ages, offences=True)
        model.run()
        start = model.programs.by_kind(kind).start
        panel, left = model.panel, model.panel_left()
        arm = np.where(np.isin(panel.community, treated), 1,
                       np.where(np.isin(panel.community, control), 0, -1))
        offences = model.offence_log()
        out = {"treated": treated.tolist(), "control": control.tolist()}
        for name, year, violent in (("effect", self.outcome_year, False),
                                    ("violent_offending", self.outcome_year, True),
                                    ("offending_later", self.later_year, False)):
            begin = start + WEEKS_PER_YEAR * (year - 1)
            end = begin + WEEKS_PER_YEAR
            if end > model.total_weeks:
                out[name] = None
                continue
            here = (arm >= 0) & ((left == NEVER) | (left >= end))  # in the panel all year
            log = offences[offences.violent] if violent else offences
            y = events_within(panel[here], np.full(here.sum(), begin), log, WEEKS_PER_YEAR) > 0
            a = arm[here]
            if name == "effect":
                out["panel_treated"], out["panel_control"] = int((a == 1).sum()), int(
                    (a == 0).sum())
            if (a == 1).sum() == 0 or (a == 0).sum() == 0:
                raise EvaluationError(f"{kind}: no panel member in an arm: too few residents")
            out[name] = relative_change(float(y[a == 1].mean()), float(y[a == 0].mean()),
                                        "offenders")
        out.update(self._against_placebo(kind, trial, model, arm, start))
        return out

    def _against_placebo(self, kind: str, trial: VpsimConfig, model: StudyModel,
                         arm: np.ndarray, start: int) -> dict:
        """The same panel in a run where the program does nothing (`placebo_config`)."""
        placebo = StudyModel(placebo_config(trial, kind), offences=True)
        placebo.run()
        begin = start + WEEKS_PER_YEAR * (self.outcome_year - 1)
        left = model.panel_left()
        here = (arm >= 0) & ((left == NEVER) | (left >= begin + WEEKS_PER_YEAR))
        people, a = model.panel[here], arm[here]
        y1, y0 = (events_within(people, np.full(len(people), begin), run.offence_log(),
                                WEEKS_PER_YEAR) > 0 for run in (model, placebo))
        return {"placebo_paired": relative_change(float(y1[a == 1].mean()),
                                                  float(y0[a == 1].mean()), "offenders"),
                "comparison_spillover": relative_change(float(y1[a == 0].mean()),
                                                        float(y0[a == 0].mean()), "offenders")}


@dataclass(frozen=True)
class BeforeAfter(_Windows):
    """The whole city before and after the start: violent-offence clearance."""

    def overrides(self, kind: str, cfg: VpsimConfig) -> list[str]:
        return self.window_overrides(kind)

    def measure(self, kind: str, cfg: VpsimConfig) -> dict:
        model = ViolencePreventionModel(cfg)
        model.run()
        start = model.programs.by_kind(kind).start
        h = model.history.sum(axis=(2, 3), dtype=np.int64)
        before, after = h[start - self.pre_weeks:start], h[start:start + self.post_weeks]
        if before[:, VIOLENT_ARRESTS].sum() == 0 or before[:, VIOLENT_OFFENCES].sum() == 0:
            raise EvaluationError(f"{kind}: no violent arrest before the start")
        clearance = [a[:, VIOLENT_ARRESTS].sum() / a[:, VIOLENT_OFFENCES].sum()
                     for a in (before, after)]
        return {"effect": float(clearance[1] / clearance[0] - 1.0),
                "clearance_before": float(clearance[0]), "clearance_after": float(clearance[1]),
                "violent_incidents": relative_change(float(after[:, VIOLENT_OFFENCES].sum()),
                                                     float(before[:, VIOLENT_OFFENCES].sum()),
                                                     "violent incidents")}


# -- the evaluations -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    """A program kind's evaluation: the study's design, outcome and window, its published
    result and source (evidence notes, 'Virtual evaluation designs'), and how it runs here."""

    kind: str
    design: str
    outcome: str
    window: str
    estimand: str  # RELATIVE or DIFFERENCE
    runs: Lottery | MatchedAreas | RandomisedAreas | PairedCommunityPanel | BeforeAfter
    # (key of the per-seed result, what it is, its scale: RELATIVE, DIFFERENCE or SHARE)
    secondary: tuple[tuple[str, str, str], ...] = ()
    note: str = ""
    # The secondary whose mean is checked against the published range, when the design's own
    # estimate is too noisy at the profile's size to resolve it: "placebo_paired", the same
    # estimand without a comparison group's sampling noise (the design's estimate must then
    # still reach the range with its interval). None: the design's estimate is checked.
    checked_on: str | None = None

    # what was published, and the check it sets: the catalogue's evidence of the kind
    @property
    def status(self) -> str:
        return EVIDENCE[self.kind].status

    @property
    def published_low(self) -> float | None:
        return EVIDENCE[self.kind].low

    @property
    def published_high(self) -> float | None:
        return EVIDENCE[self.kind].high

    @property
    def published(self) -> str:
        return EVIDENCE[self.kind].published

    @property
    def source(self) -> str:
        return EVIDENCE[self.kind].source


EVALUATIONS: dict[str, Evaluation] = {e.kind: e for e in (
    Evaluation(
        "cbt_youth",
        design="lottery among the eligible youth (the scenario's targeting, in every "
               "community: BAM's schools spanned Chicago); offered vs waiting list; treatment "
               "on the treated = intention to treat / take-up",
        outcome="violent-crime arrests per youth in the program year",
        window="52 weeks from the offer",
        estimand=RELATIVE,
        runs=Lottery(window_weeks=WEEKS_PER_YEAR, violent_only=True, ever=False,
                     per_participant=True, placebo=True, offences_paired=True,
                     every_community=True),
        checked_on="placebo_paired_offences",
        secondary=(("placebo_paired_offences", "TOT on violent offences, the offered against "
                                               "themselves in a run with effect 1 (same seed)",
                    RELATIVE),
                   ("placebo_paired", "TOT, the offered against themselves in a run with "
                                      "effect 1 (same seed)", RELATIVE),
                   ("waiting_list_spillover", "the waiting list against itself in that run",
                    RELATIVE),
                   ("intention_to_treat", "intention to treat (offered vs waiting list)",
                    RELATIVE),
                   ("take_up", "take-up among the offered", SHARE)),
        note="Uptake is a draw independent of risk in the model, so the compliers' control "
             "mean is the waiting list's: TOT = ITT / take-up. At city size the lottery sees "
             "about 50 violent-crime arrests an arm a seed, so its interval is wide; the "
             "placebo-paired TOT is the same estimand without the lottery's sampling noise, "
             "and is checked on violent offences (clearance is 0.19, so five times the events "
             "of arrests; the program leaves clearance alone, so the relative change is the "
             "same in expectation)."),
    Evaluation(
        "reentry_employment",
        design="lottery among people released in the last 12 weeks (CEO's recently released "
               "subgroup); intention to treat",
        outcome="ever re-arrested, program minus waiting list",
        window="3 years from random assignment",
        estimand=DIFFERENCE,
        runs=Lottery(window_weeks=3 * WEEKS_PER_YEAR, violent_only=False, ever=True,
                     estimand=DIFFERENCE, reincarceration=True),
        secondary=(("reincarcerated", "ever re-incarcerated within 3 years (published 0.602 "
                                      "vs 0.713: -0.111)", DIFFERENCE),
                   ("take_up", "take-up among the offered", SHARE))),
    Evaluation(
        "violence_interruption",
        design="the program's sites (its most violent communities at the start) vs matched "
               "comparison communities (the nearest untreated in pre-period firearm incidents "
               "per resident and disadvantage); difference in differences",
        outcome="firearm incidents: violent offences by an offender carrying a firearm, in "
                "the offender's community",
        window="2 years before the start vs the 3 years after",
        estimand=RELATIVE,
        runs=MatchedAreas(pre_weeks=2 * WEEKS_PER_YEAR, post_weeks=3 * WEEKS_PER_YEAR,
                          firearm=True),
        checked_on="placebo_paired",
        secondary=(("placebo_paired", "the sites' firearm incidents against themselves in a "
                                      "run where the program does nothing (same seed)",
                    RELATIVE),
                   ("comparison_spillover", "the comparison communities against themselves in "
                                            "that run (contamination)", RELATIVE),
                   ("violent_incidents", "violent incidents, same design", RELATIVE)),
        note="The published range is for the sites that worked; Pittsburgh and Phoenix found "
             "no effect or increases. The model locates a violent incident in the victim's "
             "community and counts firearm incidents only city-wide: the evaluation counts "
             "them by the offender's community (80% of victims are in it)."),
    Evaluation(
        "hotspot_policing",
        design="the 2N most violent communities at the start, N of them (the scenario's) "
               "drawn by lottery to the program, the others control; no re-selection during "
               "the test; difference in differences; catchment: the communities adjacent to "
               "each arm",
        outcome="violent incidents in the treated vs control communities",
        window="13 weeks of treatment vs the 13 weeks before",
        estimand=RELATIVE,
        runs=RandomisedAreas(pre_weeks=13, post_weeks=13),
        checked_on="placebo_paired",
        secondary=(("catchment", "adjacent communities, treated arm's vs control arm's "
                                 "(published: non-significant, diffusion more common than "
                                 "displacement)", RELATIVE),
                   ("arrests", "arrests in the treated vs control communities", RELATIVE),
                   ("placebo_paired", "the treated communities against themselves in a run "
                                      "where the program does nothing (same seed)", RELATIVE),
                   ("comparison_spillover", "the control communities against themselves in "
                                            "that run (contamination)", RELATIVE)),
        note="The published effect is at street segments; a model community holds many. It "
             "is translated to the community as s x published with s = 0.5, the share of a "
             "community's violence at its hot spots (Weisburd 2015): -4% to -8%."),
    Evaluation(
        "focused_deterrence",
        design="area design: the targeted groups' communities (the scenario's most violent, a "
               "fifth of the city's) vs matched comparison communities (pre-period violent "
               "incidents per resident, disadvantage); difference in differences",
        outcome="violent incidents in the targeted communities",
        window="1 year before the first call-in vs the year after",
        estimand=RELATIVE,
        runs=MatchedAreas(pre_weeks=WEEKS_PER_YEAR, post_weeks=WEEKS_PER_YEAR),
        checked_on="placebo_paired",
        secondary=(("placebo_paired", "the targeted communities against themselves in a run "
                                      "where the program does nothing (same seed)", RELATIVE),
                   ("comparison_spillover", "the comparison communities against themselves in "
                                            "that run (contamination)", RELATIVE)),
        note="A model group is the gang members of one community (a few dozen, tied to one "
             "another); the faction-level design (called-in factions vs matched factions, "
             "Papachristos & Kirk 2015: -23% shootings) would need factions within a "
             "community, which the model does not have."),
    Evaluation(
        "school_education",
        design="community-randomised matched pairs: the 2N most violent communities at the "
               "start paired by rank, one of each pair drawn to the program (N: the "
               "scenario's); a panel of their residents aged 10-11 at the start",
        outcome="share of the panel with any offence in the past year at 15-16",
        window="the 5th year after the start",
        estimand=RELATIVE,
        runs=PairedCommunityPanel(),
        secondary=(("violent_offending", "any violent offence in the past year at 15-16",
                    RELATIVE),
                   ("offending_later", "any offence in the past year at 19-20 (9th year)",
                    RELATIVE),
                   ("placebo_paired", "the treated panel against itself in a run where the "
                                      "program does nothing (same seed)", RELATIVE),
                   ("comparison_spillover", "the control panel against itself in that run "
                                            "(contamination)", RELATIVE)),
        note="Only the direction is sourced; the scenario's magnitude (HR 0.8) is not "
             "verified. Offences, not arrests: CTC's outcomes are self-reported."),
    Evaluation(
        "prison_rehabilitation",
        design="lottery among prisoners (offered vs waiting list); intention to treat",
        outcome="re-arrested within 3 years of release",
        window="3 years from the release after assignment",
        estimand=RELATIVE,
        runs=Lottery(window_weeks=3 * WEEKS_PER_YEAR, violent_only=False, ever=True,
                     from_release=True, secondary_window_weeks=WEEKS_PER_YEAR),
        secondary=((f"within_{WEEKS_PER_YEAR}_weeks", "re-arrested within 1 year of release",
                    RELATIVE),
                   ("take_up", "take-up among the offered", SHARE)),
        note="Only the direction is sourced; '25% lower recidivism' is not verified."),
    Evaluation(
        "community_participation",
        design="the program's communities vs matched comparison communities (pre-period "
               "violent incidents per resident, disadvantage); difference in differences",
        outcome="violent incidents",
        window="2 years before the start vs the 4 years after",
        estimand=RELATIVE,
        runs=MatchedAreas(pre_weeks=2 * WEEKS_PER_YEAR, post_weeks=4 * WEEKS_PER_YEAR,
                          efficacy=True),
        secondary=(("collective_efficacy_points",
                    "collective efficacy (0-1), difference in differences", DIFFERENCE),
                   ("placebo_paired", "the program's communities against themselves in a run "
                                      "where the program does nothing (same seed)", RELATIVE),
                   ("comparison_spillover", "the comparison communities against themselves in "
                                            "that run (contamination)", RELATIVE))),
    Evaluation(
        "institutional_coordination",
        design="before/after, the whole city (no comparison)",
        outcome="violent-offence clearance (violent arrests per violent offence)",
        window="2 years before the start vs the 2 years after",
        estimand=RELATIVE,
        runs=BeforeAfter(pre_weeks=2 * WEEKS_PER_YEAR, post_weeks=2 * WEEKS_PER_YEAR),
        secondary=(("violent_incidents", "violent incidents, after vs before", RELATIVE),),
        note="Its effect on other programs' uptake and completion shows only beside them; its "
             "scenario has none."),
)}
"""One evaluation per program kind, as in the evidence notes' 'Virtual evaluation designs'."""

assert set(EVALUATIONS) == set(KINDS), "every program kind has its evaluation"


# -- configs and runs ------------------------------------------------------------------------------
def profiles() -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / "population").glob("*.yaml"))


def own_overrides(kind: str, overrides: list[str]) -> list[str]:
    """The overrides that reach `kind`'s evaluation: all but other programs' keys."""
    keep = []
    for text in overrides:
        key = text.split("=", 1)[0].lstrip("+~")
        program = key.split(".")[2] if key.startswith("scenario.programs.") and \
            key.count(".") >= 2 else None
        if program is None or program == kind:
            keep.append(text)
    return keep


def design_overrides(kind: str, overrides: list[str], profile: str) -> list[str]:
    """Every override of `kind`'s evaluation runs, in order: the profile and the kind's
    scenario, the program sized for the profile, the design's changes, then `overrides`.

    Raises ConfigError (one line naming the key) for bad input.
    """
    evaluation = EVALUATIONS[kind]
    head = [f"population={profile}", f"scenario={kind}", "progress=false", "figures=false"]
    base = load([*head, *overrides])
    if kind not in base.scenario.programs:
        raise ConfigError(f"scenario={kind}: its file has no program {kind!r} (the evaluation "
                          "runs the program named after its kind)")
    sizing = []
    if base.population.name != REFERENCE_PROFILE:
        reference = load([f"population={REFERENCE_PROFILE}"]).population
        program = base.scenario.programs[kind]
        sized = resized_for(program, base.population, reference)
        key = _program_key(kind)
        if sized.capacity != program.capacity:
            sizing.append(f"{key}.capacity={sized.capacity}")
        if sized.targeting.most_violent_communities != program.targeting.most_violent_communities:
            sizing.append(f"{key}.targeting.most_violent_communities="
                          f"{sized.targeting.most_violent_communities}")
    return [*head, *sizing, *evaluation.runs.overrides(kind, base), *overrides]


def plan(kind: str, overrides: list[str], profile: str) -> tuple[list[str], VpsimConfig]:
    """The overrides of `kind`'s evaluation and its config (the first seed's), checked."""
    full = design_overrides(kind, overrides, profile)
    cfg = load(full)
    EVALUATIONS[kind].runs.check(kind, cfg)
    machine.check(cfg)  # memory for a run, threads numba may use
    return full, cfg


def measure_seed(kind: str, overrides: list[str], seed: int) -> dict:
    """One seed of `kind`'s evaluation (runs in a worker process)."""
    cfg = load([*overrides, f"seed={seed}"])
    started = time.perf_counter()
    try:
        result = EVALUATIONS[kind].runs.measure(kind, cfg)
    except EvaluationError as error:
        return {"seed": seed, "error": f"seed {seed}: {error}"}
    except Exception as error:  # one line in the report, as every failure of vpsim
        return {"seed": seed, "error": f"seed {seed}: {type(error).__name__}: {error}"}
    return {"seed": seed, "seconds": time.perf_counter() - started, **result}


def assemble(kind: str, seeds_results: list[dict], *, profile: str, overrides: list[str],
             run_overrides: list[str]) -> dict:
    """evaluation.json of `kind` from its per-seed results."""
    e = EVALUATIONS[kind]
    errors = [r["error"] for r in seeds_results if "error" in r]
    if errors:
        raise EvaluationError(f"{kind}: {errors[0]}")
    effect = summarise([r["effect"] for r in seeds_results])
    m, lo, hi = effect["mean"], effect["ci_low"], effect["ci_high"]
    secondary = {}
    for key, label, scale in e.secondary:
        values = [r.get(key) for r in seeds_results]
        if all(v is None for v in values):
            continue
        secondary[key] = {"what": label, "scale": scale,
                          **summarise([v for v in values if v is not None])}
    if e.checked_on and e.checked_on not in secondary:
        raise EvaluationError(f"{kind}: no seed gave its checked estimate ({e.checked_on})")
    checked = secondary[e.checked_on] if e.checked_on else effect
    within = overlaps = checked_overlaps = None
    if e.status != ILLUSTRATIVE:
        low = -math.inf if e.published_low is None else e.published_low
        high = math.inf if e.published_high is None else e.published_high
        c = checked["mean"]
        within = bool(low <= c <= high) if e.status == CHECKED else bool(c < high)
        overlaps = bool(lo <= high and hi >= low)
        checked_overlaps = bool(checked["ci_low"] <= high and checked["ci_high"] >= low)
    return {
        "program": kind, "design": e.design, "outcome": e.outcome,
        "model_effect": m, "ci_low": lo, "ci_high": hi,
        "published_low": e.published_low, "published_high": e.published_high,
        "source": e.source,
        "status": e.status, "within": within, "interval_overlaps_published": overlaps,
        "checked_on": e.checked_on or "design",
        "checked_effect": checked["mean"], "checked_ci_low": checked["ci_low"],
        "checked_ci_high": checked["ci_high"],
        "checked_interval_overlaps_published": checked_overlaps,
        "estimand": e.estimand, "window": e.window, "published": e.published, "note": e.note,
        "profile": profile, "seeds": [r["seed"] for r in seeds_results],
        "overrides": overrides, "run_overrides": run_overrides,
        "secondary": secondary,
        "per_seed": seeds_results,
    }


def verdict(result: dict) -> str:
    """'within' / 'outside' the published range (the model's mean), and whether the interval
    reaches it; for a sourced direction, whether the mean is below zero."""
    if result["status"] == ILLUSTRATIVE:
        return "illustrative: no check"
    if result["status"] == DIRECTION:
        if not result["within"]:
            return "direction: not below zero"
        return "direction: below zero" + ("" if result["ci_high"] < 0 else
                                          " (interval includes zero)")
    on = "" if result.get("checked_on", "design") == "design" else \
        f" ({result['checked_on'].replace('_', '-')})"
    if result["within"]:
        return "within" + on
    return "outside" + on + (" (interval overlaps)"
                             if result.get("checked_interval_overlaps_published",
                                           result["interval_overlaps_published"]) else "")


def _fmt(value: float | None, scale: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if scale == SHARE:
        return f"{value:.1%}"
    return f"{value:+.1%}" if scale == RELATIVE else f"{value:+.3f}"


def published_text(result: dict) -> str:
    lo, hi, est = result["published_low"], result["published_high"], result["estimand"]
    if lo is None and hi is None:
        return "none"
    if lo is None:
        return f"< {_fmt(hi, est)}"
    return f"{_fmt(lo, est)} to {_fmt(hi, est)}"


def summary_line(result: dict) -> str:
    est = result["estimand"]
    paired = ""
    if result.get("checked_on", "design") != "design":
        paired = (f"; {result['checked_on'].replace('_', '-')} "
                  f"{_fmt(result['checked_effect'], est)} "
                  f"({_fmt(result['checked_ci_low'], est)} to "
                  f"{_fmt(result['checked_ci_high'], est)})")
    return (f"{result['program']}: {_fmt(result['model_effect'], est)} "
            f"(95% CI {_fmt(result['ci_low'], est)} to {_fmt(result['ci_high'], est)}, "
            f"{len(result['seeds'])} seeds) {result['outcome']}{paired}; published "
            f"{published_text(result)}: {verdict(result)}")


def evidence_markdown(results: dict[str, dict | str], *, command: str, profile: str,
                      seeds: int, seconds: float) -> str:
    """evidence.md: one row per kind (a failed kind: its error)."""
    lines = [
        "# Does each program work as its evaluation says?", "",
        f"`{command}`: profile `{profile}`, {seeds} seeds, {seconds:.0f} s. Each kind's study "
        "design run inside the model; the model's effect is the mean over seeds with a 95% "
        "t-interval, on the study's own estimand (relative change, or difference of shares). "
        "*within*: the model's mean lies in the published range; *direction*: only the sign is "
        "sourced; *illustrative*: no published effect to check. Where the design's own "
        "estimate is too noisy at this size to resolve the published range, the check is on "
        "the *placebo-paired* estimate (the same estimand against the same seed run with the "
        "program doing nothing: no comparison group's sampling noise), named in the check.", "",
        "| kind | design | outcome (window) | model effect (95% interval) | published | source "
        "| check |",
        "|---|---|---|---|---|---|---|",
    ]
    notes = []
    for kind, r in results.items():
        e = EVALUATIONS[kind]
        if isinstance(r, str):
            lines.append(f"| {kind} | {e.design} | {e.outcome} ({e.window}) | failed: {r} | "
                         f"{e.published} | {e.source} | no result |")
            continue
        est = r["estimand"]
        effect = (f"{_fmt(r['model_effect'], est)} ({_fmt(r['ci_low'], est)} to "
                  f"{_fmt(r['ci_high'], est)})")
        if r.get("checked_on", "design") != "design":
            effect += (f"; {r['checked_on'].replace('_', '-')}: "
                       f"{_fmt(r['checked_effect'], est)} ({_fmt(r['checked_ci_low'], est)} "
                       f"to {_fmt(r['checked_ci_high'], est)})")
        lines.append(f"| {kind} | {e.design} | {e.outcome} ({e.window}; {est}) | {effect} | "
                     f"{published_text(r)}: {e.published} | {e.source} | {verdict(r)} |")
        extra = [f"{s['what']}: {_fmt(s['mean'], s['scale'])} "
                 f"({_fmt(s['ci_low'], s['scale'])} to {_fmt(s['ci_high'], s['scale'])})"
                 for s in r["secondary"].values()]
        if e.note or extra:
            notes.append(f"- **{kind}**: " + " ".join(filter(None, [e.note] + [
                "Also: " + "; ".join(extra) + "." if extra else ""])))
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines) + "\n"


# -- the command -----------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints its usage too)
        print(f"vpsim-evaluate: error: {message}", file=sys.stderr)
        sys.exit(EXIT_INPUT)


def refuse(message: str) -> None:
    print(f"vpsim-evaluate: error: {message}", file=sys.stderr)
    sys.exit(EXIT_INPUT)


def fail(message: str) -> None:
    print(f"vpsim-evaluate: {message}", file=sys.stderr)
    sys.exit(EXIT_FAILED)


def run_evaluations(kinds: list[str], overrides: dict[str, list[str]], seeds: dict[str, list[int]],
                    workers: int = 2) -> dict[str, list[dict]]:
    """Every (kind, seed) in `workers` processes (spawned: no state shared with this one);
    the longest designs first."""
    jobs = [(kind, seed) for kind in sorted(kinds, key=lambda k: -EVALUATIONS[k].runs.years)
            for seed in seeds[kind]]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = {job: pool.submit(measure_seed, job[0], overrides[job[0]], job[1])
                   for job in jobs}
        done = {job: f.result() for job, f in futures.items()}
    return {kind: [done[kind, s] for s in seeds[kind]] for kind in kinds}


def evaluate(kind: str, overrides: list[str] | tuple[str, ...] = (), *, seeds: int = 5,
             profile: str = REFERENCE_PROFILE, workers: int = 2) -> dict:
    """`kind`'s evaluation over `seeds` seeds: what evaluation.json holds (for scripts and
    tests; `workers=1` runs the seeds in this process). Raises ConfigError for bad input and
    EvaluationError when the design cannot be estimated."""
    if seeds < 2:
        raise ConfigError(f"seeds = {seeds}: allowed >= 2 (a 95% interval needs replicates)")
    overrides = list(overrides)
    runs, cfg = plan(kind, overrides, profile)
    chosen = [cfg.seed + k for k in range(seeds)]
    if workers == 1:
        results = [measure_seed(kind, runs, s) for s in chosen]
    else:
        results = run_evaluations([kind], {kind: runs}, {kind: chosen}, workers)[kind]
    return assemble(kind, results, profile=profile, overrides=overrides, run_overrides=runs)


def main(argv: list[str] | None = None) -> None:
    parser = _Parser(prog="vpsim-evaluate", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("program", help="a program kind (" + ", ".join(EVALUATIONS)
                        + "), or all")
    parser.add_argument("overrides", nargs="*", help="Hydra-style overrides, e.g. "
                        "scenario.programs.cbt_youth.effect=0.6 behaviour.peer_contagion=0.2")
    parser.add_argument("--seeds", default="5", help="replicates, seeds seed..seed+N-1 (>= 2; "
                        "default 5)")
    parser.add_argument("--profile", default=REFERENCE_PROFILE, help="population profile "
                        "(default city)")
    parser.add_argument("--out", default=None, help="folder for evaluation.json (default "
                        "evaluations/<program>; with all: evaluations, one folder per kind)")
    args = parser.parse_intermixed_args(argv)

    if args.program != "all" and args.program not in EVALUATIONS:
        refuse(f"PROGRAM = {shown(args.program)} is not a program kind: allowed all, "
               + ", ".join(EVALUATIONS))
    try:
        n_seeds = int(args.seeds)
    except ValueError:
        n_seeds = None
    if n_seeds is None or n_seeds < 2:
        refuse(f"--seeds = {shown(args.seeds)}: allowed an integer >= 2 (a 95% interval needs "
               "replicates)")
    if args.profile not in profiles():
        refuse(f"--profile = {shown(args.profile)} is not a population profile: allowed "
               + ", ".join(profiles()))
    out = args.out or ("evaluations" if args.program == "all"
                       else f"evaluations/{args.program}")
    try:
        out = folders.check_output_dir("--out", out)
    except ConfigError as error:
        refuse(str(error))
    if out.exists() and not out.is_dir():
        refuse(f"--out = {shown(str(out))} is a file: give a folder")

    kinds = list(EVALUATIONS) if args.program == "all" else [args.program]
    given = {kind: own_overrides(kind, args.overrides) if args.program == "all"
             else list(args.overrides) for kind in kinds}
    runs, seeds = {}, {}
    for kind in kinds:
        try:
            runs[kind], cfg = plan(kind, given[kind], args.profile)
        except ConfigError as error:
            refuse(f"{kind}: {error}" if args.program == "all" else str(error))
        seeds[kind] = [cfg.seed + k for k in range(n_seeds)]

    started = time.perf_counter()
    per_seed = run_evaluations(kinds, runs, seeds)
    seconds = time.perf_counter() - started
    results: dict[str, dict | str] = {}
    for kind in kinds:
        try:
            results[kind] = assemble(kind, per_seed[kind], profile=args.profile,
                                     overrides=given[kind], run_overrides=runs[kind])
        except EvaluationError as error:
            results[kind] = str(error)
    try:
        for kind, r in results.items():
            if isinstance(r, str):
                print(f"vpsim-evaluate: {r}", file=sys.stderr)
                continue
            folder = out / kind if args.program == "all" else out
            write_json(folder / "evaluation.json", r)
            print(summary_line(r))
        if args.program == "all":
            command = " ".join(["vpsim-evaluate", *(argv if argv is not None else sys.argv[1:])])
            write_text(out / "evidence.md", evidence_markdown(
                results, command=command, profile=args.profile, seeds=n_seeds,
                seconds=seconds))
            print(f"evidence: {out / 'evidence.md'} ({seconds:.0f} s)")
    except DiskFullError as error:
        fail(str(error))
    if any(isinstance(r, str) for r in results.values()):
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    main()
