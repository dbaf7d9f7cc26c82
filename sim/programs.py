"""Programs: a scenario's programs as the arrays the kernels read, and stage 1 of the week.

A program is a `ProgramConfig` entry (kind, targeting, size, timing, effect, cost, source); what
its kind does is declared once, in `sim.catalogue`. This module turns a scenario's programs into
`ProgramTables` by their kinds' level and channel, and keeps the Python side of their
bookkeeping: starts, intakes, who is covered, participant-weeks.

By level (`catalogue.INDIVIDUAL`, `COMMUNITY`, `SYSTEM`):
- individual: places are offered at each intake to eligible residents, highest static risk first
  or at random, within capacity (or to a stable share of the eligible: coverage). An offer is
  taken with probability `uptake`; a participant completes with probability `completion`, else
  drops out at a uniformly drawn week. The effect (a hazard ratio, scaled by sex and age band)
  holds while enrolled and decays with `half_life_weeks` after completion; drop-outs keep none.
  Eligible residents not offered a place are on the waiting list: the comparison group.
  Outreach kinds (`Kind.caseloads`) fill each site's caseloads (outreach workers x caseload)
  from its residents, highest current risk first; interrupters mediate a share of the shootings
  whose victim lives in a site (`ProgramTables.mediation`).
- community: the targeted communities are covered from the start week (the N most violent are
  chosen then); focused deterrence reaches their groups (gang members and those tied to them,
  at each round of call-ins).
- system: acts through the other programs (uptake, completion, start delays) and on clearance.
At most one program of each kind per scenario.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numba import njit

from . import kernels, rng
from .catalogue import (
    COLLECTIVE_EFFICACY,
    GROUPS,
    INDIVIDUAL,
    KINDS,
    POLICE_PRESENCE,
    PROGRAM_DELIVERY,
    PUPILS,
    SYSTEM,
    VIOLENT_OFFENDING,
)
from .codes import (
    COMPLETER,
    DEAD,
    DECLINED,
    DROPOUT,
    GANG_MEMBERSHIP,
    INCARCERATED,
    JUSTICE_STATES,
    MIN_AGE,
    N_COMMUNITY_STATS,
    N_PROGRAM_STATS,
    NEVER,
    RISK_FLAG,
    SEXES,
    TARGET_FREE,
    TARGET_INCARCERATED,
    TARGET_RELEASED,
    WAITLISTED,
    WEEKS_PER_YEAR,
    age_in_years,
    band_labels,
    decay_rate,
    horizon,
)
from .config import ProgramConfig, VpsimConfig
from .population import risk_score
from .rng import uniform, uniforms

if TYPE_CHECKING:
    from .model import ViolencePreventionModel


class ProgramTables(NamedTuple):
    """What the kernels read and write about programs (K individual programs, C communities).

    Individual programs' channels are per-program flags; community programs' channels are by
    whom they reach (`catalogue.PUPILS`: offending of pupils; `catalogue.GROUPS`: offending and
    arrest of the members of the targeted groups). Interrupters act on shootings.
    """

    ind_log_effect: np.ndarray  # [K, sex, band] log hazard ratio, float64
    ind_rate: np.ndarray  # [K] decay rate after completion, per week
    ind_horizon: np.ndarray  # [K] weeks after which the decayed effect is negligible, int64
    ind_violent_only: np.ndarray  # [K] int8: the effect acts on violent offending only
    ind_after_release: np.ndarray  # [K] int8: the effect acts after release (in prison)
    ind_clearance: np.ndarray  # [K] multiplier on arrest probability while enrolled
    ind_low_risk_scale: np.ndarray  # [K] scales log effect for lower-risk participants
    ind_intake_interval: np.ndarray  # [K] weeks between intakes (comparison window), int64
    ind_min_age: np.ndarray  # [K] eligible ages (comparison window), int64
    ind_max_age: np.ndarray
    ind_status: np.ndarray  # [K, N] int8 (codes.NOT_OFFERED ... DECLINED)
    ind_start_week: np.ndarray  # [K, N] int32
    ind_end_week: np.ndarray  # [K, N] int32
    ind_low_risk: np.ndarray  # [K, N] int8: below the eligible's median risk at the intake
    ind_stats: np.ndarray  # [K, sex, age, N_PROGRAM_STATS] int64
    pupils_since: np.ndarray  # [C] int32: week covered from (codes.NEVER: not covered)
    pupils_min_age: int
    pupils_max_age: int
    pupils_log_effect: np.ndarray  # [sex, band]
    pupils_rate: float
    pupils_horizon: int
    group_cover: np.ndarray  # [C] int8: the community's group is targeted
    # [N] int8: a member of a targeted group as of the last call-in (a resident of a covered
    # community who is a gang member or tied to one)
    group_member: np.ndarray
    group_log_effect: np.ndarray  # [sex, band]
    group_clearance: float  # multiplier on the arrest probability of a targeted group's member
    mediation_cover: np.ndarray  # [C] int8: interrupters work there
    mediation: float  # share of shootings with a victim living there that they mediate
    community_stats: np.ndarray  # [N_COMMUNITY_STATS] int64: resident-weeks reached
    community_covered: np.ndarray  # [C] int8: covered by a program acting on residents
    acts_on_residents: int  # 1 if any program acts through the resident kernel


class Eligibility(NamedTuple):
    """Who an individual program's intake may offer a place (its targeting, resolved)."""

    min_age: int
    max_age: int
    sex_mask: np.ndarray  # [sex] bool
    min_risk: float  # risk score at least this (the percentile resolved)
    risk_hr: np.ndarray  # [risk_flags] hazard ratio of the risk factors (the score's part)
    required_flags: int  # risk-factor bits all required
    community_mask: np.ndarray  # [community] bool
    justice_code: int  # codes.TARGET_FREE ... TARGET_ANY
    released_within: int  # weeks since release, for justice_code TARGET_RELEASED
    leaving_age_weeks: int  # residents this old leave the population this week


class OfferTerms(NamedTuple):
    """How an offered place is taken up and ended."""

    uptake: float
    completion: float
    duration_weeks: int


class Enrolment(NamedTuple):
    """Who an intake enrolled (filled by `offer_places`): resident, start and end weeks."""

    resident: np.ndarray  # int64
    start: np.ndarray
    end: np.ndarray


class Intake(NamedTuple):
    """The participants enrolled at one intake (arrays over them) and the waiting list's size."""

    sex: np.ndarray
    age: np.ndarray  # years
    start: np.ndarray  # weeks
    end: np.ndarray
    waiting: int


def _log_effect_table(p: ProgramConfig, labels: list[str]) -> np.ndarray:
    """log(effect) by [sex, band], scaled by the program's modifiers."""
    base = math.log(p.effect)
    table = np.full((2, len(labels)), base)
    table[0] *= p.effect_female
    for b, label in enumerate(labels):
        table[:, b] *= p.effect_by_age_band.get(label, 1.0)
    return table


def _effect_horizon(log_effect: np.ndarray, half_life_weeks: float) -> int:
    """Weeks after completion during which the largest of a program's effects is counted."""
    return horizon(float(np.abs(log_effect).max()) if log_effect.size else 0.0, half_life_weeks)


@njit(cache=True)
def scan_eligible(week, k, r, pt, rule, out, active_at):
    """Eligible residents for individual program k at an intake (`rule`: an `Eligibility`);
    also counts those enrolled, in all and by community (`active_at`, zeroed first).

    Writes eligible indices to `out`; returns (n_eligible, n_active). A resident is offered a
    program at most once (waitlisted residents stay eligible).
    """
    n_eligible = 0
    n_active = 0
    active_at[:] = 0
    for i in range(r.birth_week.shape[0]):
        s = pt.ind_status[k, i]
        if s == COMPLETER or s == DROPOUT:
            if week < pt.ind_end_week[k, i]:
                n_active += 1
                active_at[r.community[i]] += 1
            continue
        if s == DECLINED:
            continue
        state = r.justice_state[i]
        if state == DEAD or week - r.birth_week[i] >= rule.leaving_age_weeks:
            continue  # leaves the population this week (intakes run before demography)
        age = (week - r.birth_week[i]) // WEEKS_PER_YEAR
        if age < rule.min_age or age > rule.max_age:
            continue
        if not rule.sex_mask[r.sex[i]]:
            continue
        if r.propensity[i] * rule.risk_hr[r.risk_flags[i]] < rule.min_risk:
            continue
        if (r.risk_flags[i] & rule.required_flags) != rule.required_flags:
            continue
        if not rule.community_mask[r.community[i]]:
            continue
        justice_code = rule.justice_code
        if justice_code == TARGET_FREE and state == INCARCERATED:
            continue
        if justice_code == TARGET_INCARCERATED and (
                state != INCARCERATED  # and serving a sentence, not held before trial
                or r.remand_only[i] != 0 or week < r.remand_end_week[i]):
            continue
        if justice_code == TARGET_RELEASED and (state == INCARCERATED
                                                or week - r.release_week[i]
                                                > rule.released_within):
            continue
        out[n_eligible] = i
        n_eligible += 1
    return n_eligible, n_active


@njit(cache=True)
def offer_places(week, k, key, candidates, low_risk, n_offers, terms, pt, enrolment):
    """Offer places of individual program k to the first `n_offers` candidates (NOT_OFFERED or
    WAITLISTED) on `terms` (an `OfferTerms`); waitlist the rest. `low_risk[j]`: candidate j is
    below the eligible's median risk (recorded for the enrolled).

    Returns the number enrolled; who, and their start and end weeks, are written to
    `enrolment` (an `Enrolment`).
    """
    n_enrolled = 0
    duration = terms.duration_weeks
    for j in range(candidates.shape[0]):
        i = candidates[j]
        if j >= n_offers:
            pt.ind_status[k, i] = WAITLISTED  # until the next intake: the comparison group
            pt.ind_start_week[k, i] = week
            continue
        stream = rng.PROGRAM + 4 * k
        if uniform(key, week, i, stream) >= terms.uptake:
            pt.ind_status[k, i] = DECLINED
            continue
        end = week + duration
        status = COMPLETER
        if uniform(key, week, i, stream + 1) >= terms.completion:
            status = DROPOUT
            end = week + 1 + np.int64(uniform(key, week, i, stream + 2) * (duration - 1))
        pt.ind_status[k, i] = status
        pt.ind_start_week[k, i] = week
        pt.ind_end_week[k, i] = end
        pt.ind_low_risk[k, i] = low_risk[j]
        enrolment.resident[n_enrolled] = i
        enrolment.start[n_enrolled] = week
        enrolment.end[n_enrolled] = end
        n_enrolled += 1
    return n_enrolled


@njit(cache=True)
def mark_group_members(r, t, group_cover, out):
    """out[i] = 1 for the members of the targeted groups: residents of a covered community who
    are gang members or tied to a gang member (the called-in and their peers); else 0."""
    for i in range(r.birth_week.shape[0]):
        member = 0
        if group_cover[r.community[i]] != 0:
            if r.risk_flags[i] & GANG_MEMBERSHIP:
                member = 1
            else:
                for k in range(t.peer_ptr[i], t.peer_ptr[i + 1]):
                    if r.risk_flags[t.peer_idx[k]] & GANG_MEMBERSHIP:
                        member = 1
                        break
        out[i] = member


def empty_tables(n_residents: int, n_communities: int, n_bands: int) -> ProgramTables:
    return ProgramTables(
        ind_log_effect=np.zeros((0, 2, n_bands)), ind_rate=np.zeros(0),
        ind_horizon=np.zeros(0, np.int64), ind_violent_only=np.zeros(0, np.int8),
        ind_after_release=np.zeros(0, np.int8), ind_clearance=np.ones(0),
        ind_low_risk_scale=np.ones(0), ind_low_risk=np.zeros((0, n_residents), np.int8),
        ind_intake_interval=np.zeros(0, np.int64), ind_min_age=np.zeros(0, np.int64),
        ind_max_age=np.zeros(0, np.int64),
        ind_status=np.zeros((0, n_residents), np.int8),
        ind_start_week=np.zeros((0, n_residents), np.int32),
        ind_end_week=np.zeros((0, n_residents), np.int32),
        ind_stats=np.zeros((0, 2, 1, N_PROGRAM_STATS), np.int64),
        pupils_since=np.full(n_communities, NEVER, np.int32),
        pupils_min_age=0, pupils_max_age=-1, pupils_log_effect=np.zeros((2, n_bands)),
        pupils_rate=1.0, pupils_horizon=0,
        group_cover=np.zeros(n_communities, np.int8),
        group_member=np.zeros(n_residents, np.int8), group_log_effect=np.zeros((2, n_bands)),
        group_clearance=1.0, mediation_cover=np.zeros(n_communities, np.int8), mediation=0.0,
        community_stats=np.zeros(N_COMMUNITY_STATS, np.int64),
        community_covered=np.zeros(n_communities, np.int8),
        acts_on_residents=0,
    )


class Program:
    """One program of a scenario: its config, its kind, its schedule and its running totals."""

    def __init__(self, name: str, config: ProgramConfig, burn_in_weeks: int,
                 total_weeks: int) -> None:
        self.name = name
        self.config = config
        self.kind = KINDS[config.kind]
        self.level = self.kind.level
        self.uptake = config.uptake
        self.completion = config.completion
        self.start_week_after_burn_in = config.start_week
        self.burn_in_weeks = burn_in_weeks
        self.total_weeks = total_weeks
        self.index = -1  # row in the individual-program tables
        self.places_per_site = config.outreach_workers_per_site * config.caseload
        self.covered = None  # community mask once started
        # Places in use, by week: +1 at a start, -1 at an end (participant-weeks = sum).
        self.active_delta = np.zeros(total_weeks + config.duration_weeks + 2, np.int64)
        self.participants = 0
        self.participants_by = np.zeros((2, 16), np.int64)  # [sex, age band] at enrolment
        self.waiting_list: list[int] = []  # at each intake
        self.community_weeks = 0
        self.weeks_running = 0

    @property
    def start(self) -> int:
        """Absolute start week."""
        return self.burn_in_weeks + self.start_week_after_burn_in

    def participant_weeks(self, up_to_week: int) -> int:
        active = np.cumsum(self.active_delta[:up_to_week])
        return int(active.sum())


class ProgramBook:
    """Every program of a scenario, and the work of the programs stage each week."""

    def __init__(self, cfg: VpsimConfig, n_residents: int, n_communities: int,
                 burn_in_weeks: int, total_weeks: int) -> None:
        self.cfg = cfg
        labels = band_labels(cfg.population.max_age)
        self.labels = labels
        self.programs = [Program(name, p, burn_in_weeks, total_weeks)
                         for name, p in cfg.scenario.programs.items()]
        self.coordination = self._on_channel(PROGRAM_DELIVERY)
        if self.coordination is not None:
            m = self.coordination.config.effect
            for p in self.programs:
                if p is not self.coordination:
                    p.uptake = min(1.0, p.uptake * m)
                    p.completion = min(1.0, p.completion * m)
                    p.start_week_after_burn_in = int(round(p.start_week_after_burn_in / m))
        individual = [p for p in self.programs if p.level == INDIVIDUAL]
        for k, p in enumerate(individual):
            p.index = k
        self.individual = individual
        t = empty_tables(n_residents, n_communities, len(labels))
        if individual:
            t = t._replace(**_individual_tables(individual, labels, n_residents,
                                                cfg.population.max_age))
        pupils = self._reaching(PUPILS)
        if pupils is not None:
            log_effect = _log_effect_table(pupils.config, labels)
            t = t._replace(pupils_min_age=max(MIN_AGE, pupils.config.targeting.min_age),
                           pupils_max_age=pupils.config.targeting.max_age,
                           pupils_log_effect=log_effect,
                           pupils_rate=decay_rate(pupils.config.half_life_weeks),
                           pupils_horizon=_effect_horizon(log_effect,
                                                          pupils.config.half_life_weeks))
        groups = self._reaching(GROUPS)
        if groups is not None:
            t = t._replace(group_log_effect=_log_effect_table(groups.config, labels),
                           group_clearance=groups.config.clearance_multiplier)
        mediating = next((p for p in self.programs if p.kind.mediates), None)
        if mediating is not None:
            t = t._replace(mediation=mediating.config.mediation)
        acts = bool(individual) or pupils is not None or groups is not None
        self.tables = t._replace(acts_on_residents=int(acts))
        self._buffer = np.empty(n_residents, np.int64)
        self._active_at = np.zeros(n_communities, np.int64)  # participants by community

    def _on_channel(self, channel: str) -> Program | None:
        return next((p for p in self.programs if p.kind.channel == channel), None)

    def _reaching(self, reach: str) -> Program | None:
        return next((p for p in self.programs if p.kind.reach == reach), None)

    def by_kind(self, kind: str) -> Program | None:
        return next((p for p in self.programs if p.kind.name == kind), None)

    # -- the programs stage ---------------------------------------------------------------------
    def step(self, model: ViolencePreventionModel, week: int) -> None:
        """Start programs whose week has come; run intakes; count community-weeks."""
        for p in self.programs:
            if week < p.start:
                continue
            if week == p.start:
                self._start(model, p)
            elif (p.config.targeting.reselect_every_weeks
                  and (week - p.start) % p.config.targeting.reselect_every_weeks == 0):
                p.covered = self._communities(model, p)  # hot spots move: by recent violence
            p.weeks_running += 1
            if p.kind.sized_by_communities:
                p.community_weeks += int(p.covered.sum())
            if p.level == INDIVIDUAL and (week - p.start) % p.config.intake_interval_weeks == 0:
                self._intake(model, p, week)
            if p.kind.reach == GROUPS and (week - p.start) % p.config.intake_interval_weeks == 0:
                self._call_in(model)

    def _call_in(self, model: ViolencePreventionModel) -> None:
        """A round of call-ins: who the targeted groups' members are until the next one."""
        mark_group_members(model.residents, model.tables, self.tables.group_cover,
                           self.tables.group_member)

    def _communities(self, model: ViolencePreventionModel, p: Program) -> np.ndarray:
        t = p.config.targeting
        n = len(model.tables.community_size)
        mask = np.zeros(n, bool)
        if t.most_violent_communities:
            order = np.argsort(-model.violence_rate, kind="stable")
            mask[order[:t.most_violent_communities]] = True
        elif t.communities:
            mask[list(t.communities)] = True
        else:
            mask[:] = True
        return mask

    def _start(self, model: ViolencePreventionModel, p: Program) -> None:
        if p.level == SYSTEM:
            return
        p.covered = self._communities(model, p)
        t = self.tables
        if p.kind.reach == PUPILS:
            t.pupils_since[p.covered] = p.start
        elif p.kind.reach == GROUPS:
            t.group_cover[p.covered] = 1
        if p.kind.mediates:
            t.mediation_cover[p.covered] = 1
        if p.kind.reach is not None:
            t.community_covered[p.covered] = 1

    def eligibility(self, p: Program, risk: np.ndarray, risk_hr: np.ndarray, n_communities: int,
                    leaving_age_weeks: int) -> Eligibility:
        """Program p's targeting as the numbers an intake checks (`risk`: everyone's risk
        score, for a risk percentile)."""
        t = p.config.targeting
        flags = 0
        for name in t.risk_factors:
            flags |= RISK_FLAG[name]
        min_risk = t.min_risk
        if t.risk_percentile > 0:
            min_risk = max(min_risk, float(np.percentile(risk, t.risk_percentile)))
        return Eligibility(
            min_age=max(MIN_AGE, t.min_age), max_age=t.max_age,
            sex_mask=np.array([s in t.sexes for s in SEXES]),
            min_risk=min_risk, risk_hr=risk_hr, required_flags=flags,
            community_mask=p.covered if p.covered is not None else np.ones(n_communities, bool),
            justice_code=JUSTICE_STATES.index(t.justice_state),
            released_within=t.released_within_weeks, leaving_age_weeks=leaving_age_weeks)

    def _intake(self, model: ViolencePreventionModel, p: Program, week: int) -> None:
        risk_hr = model.tables.risk_hr
        rule = self.eligibility(p, risk_score(model.residents, risk_hr), risk_hr,
                                len(model.tables.community_size), model.params.max_age_weeks)
        self.record_intake(model, p, week, self.offer(model, p, week, rule))

    def offer(self, model: ViolencePreventionModel, p: Program, week: int,
              rule: Eligibility) -> Intake:
        """Scan the eligible, order them, offer the places (numba over the resident arrays)."""
        c = p.config
        r = model.residents
        n_eligible, n_active = scan_eligible(week, p.index, r, self.tables, rule, self._buffer,
                                             self._active_at)
        candidates = self._buffer[:n_eligible].copy()
        key = model.key
        if c.coverage is not None:
            # A stable share of the eligible: each resident's own draw decides, every intake.
            share = uniforms(key, 0, candidates, rng.PROGRAM + 4 * p.index + 3)
            candidates = np.concatenate([candidates[share < c.coverage],
                                         candidates[share >= c.coverage]])
            n_offers = int((share < c.coverage).sum())
        else:
            if c.priority == "risk":
                risk = r.propensity[candidates] * model.tables.risk_hr[r.risk_flags[candidates]]
                order = np.argsort(-risk, kind="stable")
            elif c.priority == "current_risk":
                risk = np.empty(len(candidates))
                kernels.current_risk(week, r, model.params, model.tables,
                                     model.community_hazard, candidates, risk)
                order = np.argsort(-risk, kind="stable")
            else:
                order = np.argsort(uniforms(key, week, candidates, rng.PROGRAM + 4 * p.index + 3),
                                   kind="stable")
            candidates = candidates[order]
            if p.kind.caseloads:  # each site fills its own caseloads, in that order
                offered = self._within_caseloads(model, p, candidates)
                candidates = np.concatenate([candidates[offered], candidates[~offered]])
                n_offers = int(offered.sum())
            else:
                n_offers = max(0, min(len(candidates), c.capacity - n_active))
        low_risk = np.zeros(len(candidates), np.int8)
        if c.effect_low_risk != 1.0 and len(candidates):  # the risk principle
            score = r.propensity[candidates] * model.tables.risk_hr[r.risk_flags[candidates]]
            low_risk[:] = score < np.median(score)
        enrolment = Enrolment(*(np.empty(n_offers, np.int64) for _ in Enrolment._fields))
        n = offer_places(week, p.index, key, candidates, low_risk, n_offers,
                         OfferTerms(p.uptake, p.completion, c.duration_weeks), self.tables,
                         enrolment)
        who = enrolment.resident[:n]
        return Intake(sex=r.sex[who], age=age_in_years(week, r.birth_week[who]),
                      start=enrolment.start[:n], end=enrolment.end[:n],
                      waiting=len(candidates) - n_offers)

    def _within_caseloads(self, model: ViolencePreventionModel, p: Program,
                          candidates: np.ndarray) -> np.ndarray:
        """Which of the ordered `candidates` a site's free caseload places reach: the first
        (places per site - participants there now, counted by `scan_eligible`) of each site."""
        free = p.places_per_site - self._active_at
        site = model.residents.community[candidates].astype(np.int64)
        rank = np.empty(len(candidates), np.int64)  # place in its site's queue
        by_site = np.argsort(site, kind="stable")
        first = np.searchsorted(site[by_site], site[by_site], side="left")
        rank[by_site] = np.arange(len(candidates)) - first
        return rank < free[site]

    def record_intake(self, model: ViolencePreventionModel, p: Program, week: int,
                      intake: Intake) -> None:
        bands = model.tables.band_of_age[intake.age]
        np.add.at(p.participants_by, (intake.sex, bands), 1)
        np.add.at(p.active_delta, intake.start, 1)
        np.add.at(p.active_delta, intake.end, -1)
        p.participants += len(intake.start)
        p.waiting_list.append(intake.waiting)

    # -- channels that act on communities (O(communities)) ---------------------------------------
    def police_multiplier(self, n_communities: int) -> np.ndarray:
        """Police presence by community: programs on that channel, in their covered
        communities."""
        m = np.ones(n_communities)
        for p in self.programs:
            if p.kind.channel == POLICE_PRESENCE and p.covered is not None:
                m[p.covered] *= p.config.effect
        return m

    def felt_presence_spillover(self, adj_ptr: np.ndarray, adj_idx: np.ndarray) -> np.ndarray:
        """Log police presence felt in communities adjacent to a police program's covered
        ones (not covered themselves): spillover x log(effect); diffusion when positive."""
        felt = np.zeros(len(adj_ptr) - 1)
        for p in self.programs:
            if (p.kind.channel == POLICE_PRESENCE and p.covered is not None
                    and p.config.spillover != 0.0):
                near = np.zeros(len(felt), bool)
                for c in np.flatnonzero(p.covered):
                    near[adj_idx[adj_ptr[c]:adj_ptr[c + 1]]] = True
                near &= ~p.covered
                felt[near] += p.config.spillover * np.log(p.config.effect)
        return felt

    def certainty_multiplier(self) -> float:
        """Clearance everywhere from system programs once they run (coordination between
        agencies: more offences lead to an arrest without more police on the street)."""
        m = 1.0
        for p in self.programs:
            if p.level == SYSTEM and p.kind.raises_certainty and p.weeks_running > 0:
                m *= p.config.clearance_multiplier
        return m

    def efficacy_multiplier(self, n_communities: int) -> np.ndarray:
        m = np.ones(n_communities)
        for p in self.programs:
            if p.kind.channel == COLLECTIVE_EFFICACY and p.covered is not None:
                m[p.covered] *= p.config.effect
        return m


def _individual_tables(individual: list[Program], labels: list[str], n_residents: int,
                       max_age: int) -> dict:
    """The `ProgramTables` fields of the individual programs, one row each, from their kinds."""
    K = len(individual)
    log_effects = np.stack([_log_effect_table(p.config, labels) for p in individual])
    return dict(
        ind_log_effect=log_effects,
        ind_rate=np.array([decay_rate(p.config.half_life_weeks) for p in individual]),
        ind_horizon=np.array([_effect_horizon(log_effects[k], p.config.half_life_weeks)
                              for k, p in enumerate(individual)], np.int64),
        ind_violent_only=np.array([p.kind.channel == VIOLENT_OFFENDING for p in individual],
                                  np.int8),
        ind_after_release=np.array([p.kind.after_release for p in individual], np.int8),
        ind_clearance=np.array([p.config.clearance_multiplier if p.kind.raises_certainty
                                else 1.0 for p in individual]),
        ind_low_risk_scale=np.array([p.config.effect_low_risk for p in individual]),
        ind_low_risk=np.zeros((K, n_residents), np.int8),
        ind_intake_interval=np.array([p.config.intake_interval_weeks for p in individual],
                                     np.int64),
        ind_min_age=np.array([p.config.targeting.min_age for p in individual], np.int64),
        ind_max_age=np.array([p.config.targeting.max_age for p in individual], np.int64),
        ind_status=np.zeros((K, n_residents), np.int8),
        ind_start_week=np.zeros((K, n_residents), np.int32),
        ind_end_week=np.zeros((K, n_residents), np.int32),
        ind_stats=np.zeros((K, 2, max_age + 1, N_PROGRAM_STATS), np.int64),
    )
