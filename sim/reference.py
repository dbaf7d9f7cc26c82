"""The reference model: the weekly rules of `sim.kernels`, in plain Python, one resident at a time.

Read this file to know what happens to a resident each week. The engine (`sim.kernels`) does the
same over arrays, compiled; this file is its oracle: on the same population, peer network and
communities, with the same counter-based random numbers, the two give bit-identical runs
(`tests/test_reference.py`), and it is the baseline of `experiments/benchmark.py`.

A `Resident` is a `mesa.Agent`. `ReferenceModel` is the engine's Mesa model (`sim.model`, whose
`STAGES` order the week) with the stages it restates overridden:

- programs: intakes over `Resident`s (`ReferenceProgramBook.offer`: `Resident.is_eligible`, then
  offers in priority order);
- residents: Mesa steps the residents in slot order (a slot is a resident's place in the
  population; a new entrant takes the slot of whoever left): first demography for everyone
  (killed last week or too old, a resident leaves, and a 10-year-old entrant takes the slot:
  `Resident.grow_older`), then each resident's week: peer exposure fades; release at the end
  of a sentence; offending (the offence is queued); supervision ends or is revoked
  (`Resident.live_week`);
- offences: each queued offence, in slot order: a victim, lethality, peer exposure, arrest,
  conviction, sentence (`Resident.commit_offence`).

The communities and record stages are the engine's. The engine interleaves demography with the
rest of a resident's week, resident by resident; doing demography for everyone first gives the
same result, because both touch only the resident's own state and no draw depends on the order.

Scope: the resident rules (everything the engine compiles) and the program intakes are written
out here. Building the population, the networks and the communities, the community update and
the outcomes are shared with the engine: the oracle checks the weekly rules, not those.
Values the engine stores in single precision (static risk, peer exposure) are rounded the same
way here, so that the two agree to the last bit.
"""

from __future__ import annotations

import math

import mesa
import numpy as np
from mesa.agentset import AgentSet

from . import programs, rng
from .codes import (
    ADMISSIONS,
    ARRESTS,
    COMPARISON_ARRESTS,
    COMPARISON_VIOLENT_ARRESTS,
    COMPARISON_WEEKS,
    COMPLETER,
    DEAD,
    DECLINED,
    DROPOUT,
    FAMILY_ADVERSITY,
    FIREARM_CARRYING,
    FIREARM_HOMICIDES,
    FIREARM_INCIDENTS,
    FREE,
    GANG_MEMBERS,
    GANG_MEMBERSHIP,
    GROUP_MEMBER_WEEKS,
    HOMICIDE_ARRESTS,
    HOMICIDE_OFFENDERS,
    HOMICIDES,
    INCARCERATED,
    INCARCERATED_STOCK,
    MEDIATIONS,
    MIN_AGE,
    N_RISK_FACTORS,
    N_STATS,
    NEVER,
    NEW_OFFENDERS,
    NEW_VICTIMS,
    NOT_OFFERED,
    OTHER_OFFENCES,
    PARTICIPANT_ARRESTS,
    PARTICIPANT_VIOLENT_ARRESTS,
    PARTICIPANT_WEEKS,
    POPULATION,
    PRETRIAL,
    PUPIL_WEEKS,
    RELEASES,
    SUPERVISED,
    SUPERVISED_STOCK,
    TALLY_INCARCERATED,
    TALLY_SPELLS,
    TARGET_FREE,
    TARGET_INCARCERATED,
    TARGET_RELEASED,
    TRANSITION_WEEKS,
    VICTIMISATIONS,
    VIOLENT_ARRESTS,
    VIOLENT_OFFENCES,
    WAITLISTED,
    WEEKS_PER_YEAR,
)
from .kernels import EXPOSURE_FLOOR
from .model import ViolencePreventionModel

COUNT_CAP = 32767  # prior arrests, convictions and victimisations are 16-bit counts

# -- random numbers: `sim.rng` in plain Python ------------------------------------------------
_MASK = (1 << 64) - 1


def _splitmix64(z: int) -> int:
    z = (z + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def uniform(key: int, week: int, resident: int, stream: int) -> float:
    """A float in [0, 1) fixed by (run key, week, resident slot, stream)."""
    z = _splitmix64(_splitmix64(key ^ (week << 40 | resident << 8 | stream)))
    return (z >> 11) * 2.0**-53


def normal(key: int, week: int, resident: int, stream: int) -> float:
    """A standard normal draw (Box-Muller) from streams `stream` and `stream + 1`."""
    u1 = 1.0 - uniform(key, week, resident, stream)
    u2 = uniform(key, week, resident, stream + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def single(x: float) -> float:
    """`x` rounded to single precision, as the engine stores it."""
    return float(np.float32(x))


def _logistic(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-logit))


class Resident(mesa.Agent):
    """One person: traits, justice state, event weeks, counts and program places.

    Attributes mirror the columns of `sim.population.Residents`; event times are week numbers
    (`NEVER` if the event never happened). `status[k]`, `program_start[k]`, `program_end[k]`
    are the resident's place in the model's k-th individual program.
    """

    def __init__(self, model: ReferenceModel, slot: int) -> None:
        super().__init__(model)
        self.slot = slot
        self.community = model.community_of_slot[slot]
        n = len(model.book.individual)
        self.status = [NOT_OFFERED] * n
        self.program_start = [0] * n
        self.program_end = [0] * n
        self.low_risk = [0] * n  # below the eligible's median risk at the intake

    def draw(self, week: int, stream: int) -> float:
        return uniform(self.model.key_int, week, self.slot, stream)

    # -- stage 1: demography ----------------------------------------------------------------
    @classmethod
    def enter(cls, model: ReferenceModel, slot: int, week: int, birth_week: int) -> Resident:
        """A new resident in `slot`, born in `birth_week`: sex, propensity, the risk factors
        carried at 10, a clean record.

        Propensity is lognormal with mean 1. Family adversity is likelier in disadvantaged
        communities (a shift of its log-odds); so are the life-course states, and more so for
        the more prone (`entry_log_shift`, `state_propensity_gradient`).
        """
        self = cls(model, slot)
        p = model.params
        male = self.draw(week, rng.ENTRANT) < p.male_share
        sex = 1 if male else 0
        sigma = p.propensity_sigma
        log_propensity = (sigma * normal(model.key_int, week, slot, rng.ENTRANT + 1)
                          - 0.5 * sigma * sigma)
        propensity = single(math.exp(log_propensity))
        flags = 0
        adversity = (model.initial_logit[0][sex][MIN_AGE]
                     + p.disadvantage_risk_slope * model.disadvantage[self.community])
        if self.draw(week, rng.ENTRANT + 3) < _logistic(adversity):
            flags |= FAMILY_ADVERSITY
        shift = (model.entry_log_shift[self.community]
                 + p.state_propensity_gradient * math.log(propensity))
        for k in range(1, N_RISK_FACTORS):
            logit = model.initial_logit[k][sex][MIN_AGE] + shift
            if self.draw(week, rng.ENTRANT + 3 + k) < _logistic(logit):
                flags |= 1 << k
        self.sex = sex
        self.birth_week = birth_week
        self.risk_flags = flags
        self.propensity = propensity
        self.justice_state = FREE
        self.release_week = NEVER
        self.sentence_end_week = NEVER
        self.supervision_end_week = NEVER
        self.last_arrest_week = NEVER
        self.last_offence_week = NEVER
        self.victimised_week = NEVER
        self.grievance_week = NEVER  # the last victimisation not mediated
        model.book.tables.group_member[slot] = 0  # not called in
        self.prior_arrests = 0
        self.convictions = 0
        self.victimisations = 0
        self.open_spell = -1  # row of the recidivism spell followed now
        self.exposure = 0.0  # recent exposure to violence through peers
        self.remand_end_week = NEVER  # held before trial until this week
        self.remand_only = 0  # 1: held before trial, no prison sentence to follow
        model.slots[slot] = self
        return self

    def grow_older(self) -> None:
        """Killed last week, or at the maximum age: leave, and a new entrant takes the slot."""
        model, week = self.model, self.model.week
        if self.justice_state == DEAD or week - self.birth_week >= model.params.max_age_weeks:
            self.close_spell(week)  # follow-up censored: left the population
            if self.justice_state == INCARCERATED:
                model.tallies[TALLY_INCARCERATED] -= 1
            self.remove()
            Resident.enter(model, self.slot, week, week - model.params.min_age_weeks)

    def age(self, week: int) -> int:
        return (week - self.birth_week) // WEEKS_PER_YEAR

    # -- stages 3, 5 and 6 ---------------------------------------------------------------------
    def live_week(self) -> None:
        model, p, week = self.model, self.model.params, self.model.week
        age = self.age(week)
        sex, band = self.sex, model.band_of_age[age]
        model.count(POPULATION, sex, band)
        if self.risk_flags & GANG_MEMBERSHIP:
            model.count(GANG_MEMBERS, sex, band)
        if self.exposure != 0.0:  # fades; below the floor it counts as none
            e = self.exposure * p.exposure_decay
            self.exposure = single(e) if e > EXPOSURE_FLOOR else 0.0
        if self.justice_state == INCARCERATED:
            model.count(INCARCERATED_STOCK, sex, band)
            if self.remand_only or week < self.remand_end_week:  # not (yet) sentenced
                model.count(PRETRIAL, sex, band)
            if week >= self.sentence_end_week:  # 6. release
                if self.remand_only:  # the case ended without prison: no parole, no spell
                    model.tallies[TALLY_INCARCERATED] -= 1
                    self.remand_only = 0
                    self.justice_state = (SUPERVISED if self.supervision_end_week > week
                                          else FREE)
                else:
                    self.release(week, age)
                    model.count(RELEASES, sex, band)
            return
        if (week + self.slot) % TRANSITION_WEEKS == 0:  # once a quarter, staggered by slot
            self.change_states(week, age)
        # 3. offending: P(offend this week) = 1 - exp(-hazard), capped at the hazard against
        # rounding (the engine's short cut; the cap changes nothing else)
        hazard, violent_share = self.offending_hazard(week, age, sex, band)
        u = self.draw(week, rng.OFFEND)
        if u < hazard and u < 1.0 - math.exp(-hazard):
            violent = self.draw(week, rng.OFFENCE_TYPE) < violent_share
            model.offences.append((self, violent))
        # 5. supervision: its term ends, or a technical violation sends the resident back
        if self.justice_state == SUPERVISED:
            model.count(SUPERVISED_STOCK, sex, band)
            if week >= self.supervision_end_week:
                self.justice_state = FREE
            elif self.draw(week, rng.REVOCATION) < p.revocation_probability:
                self.admit(week, p.revocation_weeks)
                model.count(ADMISSIONS, sex, band)

    def change_states(self, week: int, age: int) -> None:
        """The life-course risk states over a quarter: each carried state is left with its
        exit hazard; each other entered with its entry hazard x this resident's multiplier."""
        model, p = self.model, self.model.params
        m = math.exp(model.entry_log_shift[self.community]
                     + p.state_propensity_gradient * math.log(self.propensity))
        for k in range(1, N_RISK_FACTORS):
            bit = 1 << k
            u = self.draw(week, rng.STATE + k)
            if self.risk_flags & bit:
                if u < -math.expm1(-TRANSITION_WEEKS * model.state_exit[k][age]):
                    self.risk_flags -= bit
            elif u < -math.expm1(-TRANSITION_WEEKS * model.state_entry[k][self.sex][age] * m):
                self.risk_flags += bit

    def offending_hazard(self, week: int, age: int, sex: int, band: int) -> tuple[float, float]:
        """Weekly hazard of offending, and the share of offences that are violent.

        hazard = `current_risk` x exp(programs + deterrence). Programs that act on violence
        only change the violent part.
        """
        model, p = self.model, self.model.params
        hazard = self.current_risk(week, age, sex, model.community_hazard_now)
        violent_share = p.violent_share
        x_all, x_violent = 0.0, 0.0
        if model.programs_act:
            if any(s != NOT_OFFERED for s in self.status):
                x_all, x_violent = self.individual_program_terms(week, age, sex, band)
            x_all, x_violent = self.community_program_terms(week, age, sex, band, x_all,
                                                            x_violent)
        # police presence deters where it is (0 at the reference presence), after programs
        x_all += model.deter_all_now[self.community]
        x_violent += model.deter_violent_now[self.community]
        if x_all != 0.0:
            hazard *= math.exp(x_all)
        if x_violent != 0.0:
            v = violent_share * math.exp(x_violent)
            hazard *= v + 1.0 - violent_share
            violent_share = v / (v + 1.0 - violent_share)
        return hazard, violent_share

    def current_risk(self, week: int, age: int, sex: int, community_hazard) -> float:
        """The hazard before programs and deterrence: base(age, sex) x propensity x hazard
        ratio of the risk factors carried x community multiplier x exp(contagion + prison
        record + post-release + retaliation). Contagion saturates with exposure; the record,
        release and retaliation terms decay since the event (retaliation: since the last
        victimisation not mediated). Outreach workers rank their caseload by it."""
        model, p = self.model, self.model.params
        hazard = (model.base_hazard[sex][age] * self.propensity
                  * model.risk_hr[self.risk_flags] * community_hazard[self.community])
        x = 0.0
        if self.exposure != 0.0:
            e = self.exposure
            x = p.peer_contagion * e / (1.0 + e / p.exposure_saturation)
        since_release = week - self.release_week
        if since_release < p.prior_incarceration_horizon:
            x += p.prior_incarceration * math.exp(-p.prior_incarceration_rate * since_release)
        if since_release < p.post_release_horizon:
            x += p.post_release * math.exp(-p.post_release_rate * since_release)
        since_grievance = week - self.grievance_week
        if since_grievance < p.retaliation_horizon:
            x += p.retaliation * math.exp(-p.retaliation_rate * since_grievance)
        if x != 0.0:
            hazard *= math.exp(x)
        return hazard

    def individual_program_terms(self, week: int, age: int, sex: int,
                                 band: int) -> tuple[float, float]:
        """Log hazard ratios from the programs this resident holds a place in (all offending,
        violent only); counts participant-weeks, and comparison-weeks on a waiting list.

        The effect holds while enrolled and decays after completion (from the release, for an
        in-prison program); drop-outs keep none; in-prison programs act only after a release
        that follows enrolment.
        """
        book = self.model.book
        x_all = x_violent = 0.0
        for k, status in enumerate(self.status):
            if status in (COMPLETER, DROPOUT):
                start, end = self.program_start[k], self.program_end[k]
                if week < end:
                    book.tables.ind_stats[k, sex, age, PARTICIPANT_WEEKS] += 1
                after_release = book.tables.ind_after_release[k]
                if after_release and self.release_week < start:
                    continue
                log_effect = book.log_effect[k][sex][band]
                if self.low_risk[k]:  # the risk principle
                    log_effect *= book.tables.ind_low_risk_scale[k]
                x = 0.0
                if week < end:
                    x = log_effect
                elif status == COMPLETER:
                    since = end
                    if after_release and self.release_week > since:
                        since = self.release_week
                    if week - since < book.horizon[k]:
                        x = log_effect * math.exp(-book.rate[k] * (week - since))
                if book.violent_only[k]:
                    x_violent += x
                else:
                    x_all += x
            elif status == WAITLISTED and self.is_comparison(k, week, age):
                book.tables.ind_stats[k, sex, age, COMPARISON_WEEKS] += 1
        return x_all, x_violent

    def is_comparison(self, k: int, week: int, age: int) -> bool:
        """On program k's waiting list since its last intake, and of eligible age."""
        t = self.model.book.tables
        return (week - self.program_start[k] < t.ind_intake_interval[k]
                and t.ind_min_age[k] <= age <= t.ind_max_age[k])

    def community_program_terms(self, week, age, sex, band, x_all, x_violent):
        """Community programs on residents: pupils (the targeted ages; the effect fades after
        they leave those ages) and the targeted groups' members (gang members there)."""
        model = self.model
        t = model.book.tables
        c = self.community
        if not t.community_covered[c]:
            return x_all, x_violent
        since = t.pupils_since[c]
        if since != NEVER:
            if t.pupils_min_age <= age <= t.pupils_max_age:
                x_all += t.pupils_log_effect[sex, band]
                t.community_stats[PUPIL_WEEKS] += 1
            elif age > t.pupils_max_age:
                left_ages = self.birth_week + WEEKS_PER_YEAR * (t.pupils_max_age + 1)
                if left_ages > since and week - left_ages < t.pupils_horizon:
                    x_all += t.pupils_log_effect[sex, band] * math.exp(
                        -t.pupils_rate * (week - left_ages))
        if t.group_member[self.slot]:
            x_all += t.group_log_effect[sex, band]
            t.community_stats[GROUP_MEMBER_WEEKS] += 1
        return x_all, x_violent

    # -- stages 4, 5 and 7 for one offence ------------------------------------------------------
    def commit_offence(self, violent: bool) -> None:
        model, p, week = self.model, self.model.params, self.model.week
        state = self.justice_state
        if state == DEAD:  # killed by an offence resolved earlier this week
            return
        age = self.age(week)
        sex, band = self.sex, model.band_of_age[age]
        homicide = False
        if self.last_offence_week < model.year_start:  # the first offence this year
            model.count(NEW_OFFENDERS, sex, band)
        self.last_offence_week = week
        # 4. victimisation
        if violent:
            model.count(VIOLENT_OFFENCES, sex, band)
            if self.risk_flags & FIREARM_CARRYING:
                model.count(FIREARM_INCIDENTS, sex, band)
            victim = self.pick_victim(week)
            if victim is not None:
                homicide = self.harm(victim, week)
            else:
                model.incidents[self.community] += 1
        else:
            model.count(OTHER_OFFENCES, sex, band)
        # 5. justice: arrest, more likely under supervision and in focused deterrence
        if homicide:
            clearance = p.clearance_homicide
        elif violent:
            clearance = p.clearance_violent
        else:
            clearance = p.clearance_other
        p_arrest = clearance * model.arrest_multiplier_now[self.community]
        if state == SUPERVISED:
            p_arrest *= p.supervision_detection
        enrolled = self.enrolled(week)
        for k in enrolled:
            p_arrest *= model.book.tables.ind_clearance[k]
        t = model.book.tables
        if t.group_member[self.slot]:
            p_arrest *= t.group_clearance  # focused deterrence on the groups' members
        if self.draw(week, rng.ARREST) >= p_arrest:
            return
        self.record_program_arrest(week, age, sex, violent, enrolled)
        self.prior_arrests = min(COUNT_CAP, self.prior_arrests + 1)
        self.last_arrest_week = week
        model.count(ARRESTS, sex, band)
        if violent:
            model.count(VIOLENT_ARRESTS, sex, band)
        if homicide:
            model.count(HOMICIDE_ARRESTS, sex, band)
        if self.open_spell >= 0 and model.spells.rearrest_week[self.open_spell] < 0:
            model.spells.rearrest_week[self.open_spell] = week
        if state == INCARCERATED:  # supervision revoked earlier this week
            return
        # pretrial detention: held until the case ends (its outcome is drawn now)
        remand = 0
        if p.pretrial_detention > 0.0 and self.draw(week, rng.REMAND) < p.pretrial_detention:
            length = p.pretrial_median_weeks * math.exp(
                p.sentence_sigma * normal(model.key_int, week, self.slot, rng.REMAND_LENGTH))
            remand = max(1, int(length + 0.5))
        if self.draw(week, rng.CONVICT) >= p.conviction_probability:
            if remand:
                self.hold(week, remand)
            return
        if homicide:
            p_prison, median = 1.0, p.sentence_median_weeks_homicide
        elif violent:
            p_prison, median = p.prison_probability_violent, p.sentence_median_weeks_violent
        else:
            p_prison, median = p.prison_probability_other, p.sentence_median_weeks_other
        if self.convictions > 0:
            p_prison = min(1.0, p_prison * p.prison_prior_conviction_ratio)
        self.convictions = min(COUNT_CAP, self.convictions + 1)
        if self.draw(week, rng.PRISON) < p_prison:
            # lognormal sentence around the median, whole weeks, at least one
            length = median * math.exp(
                p.sentence_sigma * normal(model.key_int, week, self.slot, rng.SENTENCE_A))
            self.admit(week, max(max(1, int(length + 0.5)), remand))  # time held counts
            self.remand_end_week = week + remand
            model.count(ADMISSIONS, sex, band)
            return
        if p.probation_weeks > 0:
            self.justice_state = SUPERVISED
            self.supervision_end_week = max(self.supervision_end_week, week + p.probation_weeks)
        if remand:
            self.hold(week, remand)

    def harm(self, victim: Resident, week: int) -> bool:
        """The victim's side of a violent offence; True if it kills."""
        model, p = self.model, self.model.params
        model.incidents[victim.community] += 1
        vsex, vband = victim.sex, model.band_of_age[victim.age(week)]
        model.count(VICTIMISATIONS, vsex, vband)
        if victim.victimised_week < model.year_start:
            model.count(NEW_VICTIMS, vsex, vband)
        victim.victimised_week = week
        # interrupters mediate a shooting whose victim lives in their site: no retaliation,
        # the victim's ties not exposed
        t = model.book.tables
        mediated = (bool(self.risk_flags & FIREARM_CARRYING)
                    and bool(t.mediation_cover[victim.community])
                    and self.draw(week, rng.MEDIATION) < t.mediation)
        if mediated:
            t.community_stats[MEDIATIONS] += 1
        else:
            victim.grievance_week = week
        victim.victimisations = min(COUNT_CAP, victim.victimisations + 1)
        lethality = p.lethality
        if self.risk_flags & FIREARM_CARRYING:  # an armed offender
            lethality *= p.firearm_lethality_ratio
        lethality *= model.victim_lethality[vsex][vband]  # by the victim's sex and age
        weight = 1.0
        killed = self.draw(week, rng.LETHAL) < lethality
        if killed:
            model.count(HOMICIDES, vsex, vband)
            model.count(HOMICIDE_OFFENDERS, self.sex, model.band_of_age[self.age(week)])
            if self.risk_flags & FIREARM_CARRYING:
                model.count(FIREARM_HOMICIDES, vsex, vband)
            victim.justice_state = DEAD
            weight = p.homicide_exposure_weight
        # 7. contagion: the peers of victim and offender are exposed
        if not mediated:
            victim.expose_peers(weight)
        self.expose_peers(weight)
        return killed

    def pick_victim(self, week: int) -> Resident | None:
        """A peer, or someone in the own or an adjacent community, accepted by age and sex."""
        model, p = self.model, self.model.params
        peers = model.peers_of_slot[self.slot]
        if peers and self.draw(week, rng.VICTIM_SOURCE) < p.victim_among_peers:
            candidate = model.slots[peers[int(self.draw(week, rng.VICTIM_TRY) * len(peers))]]
            if candidate.can_be_victim_of(self):
                return candidate
        c = self.community
        if self.draw(week, rng.VICTIM_COMMUNITY) >= p.victim_in_own_community:
            adjacent = model.adjacent[c]
            if adjacent:
                c = adjacent[int(self.draw(week, rng.VICTIM_TRY + 1) * len(adjacent))]
        start, size = model.community_start[c], model.community_size[c]
        for attempt in range(7):
            stream = rng.VICTIM_TRY + 2 + 2 * attempt
            candidate = model.slots[start + int(self.draw(week, stream) * size)]
            if not candidate.can_be_victim_of(self):
                continue
            weight = model.victim_weight[candidate.sex][model.band_of_age[candidate.age(week)]]
            if attempt == 6 or self.draw(week, stream + 1) < weight:
                return candidate
        return None

    def can_be_victim_of(self, offender: Resident) -> bool:
        return self is not offender and self.justice_state not in (INCARCERATED, DEAD)

    def expose_peers(self, weight: float) -> None:
        slots = self.model.slots
        for j in self.model.peers_of_slot[self.slot]:
            peer = slots[j]
            peer.exposure = single(peer.exposure + weight)

    # -- justice and programs ---------------------------------------------------------------------
    def admit(self, week: int, weeks: int) -> None:
        """Into prison for `weeks`; a firearm carried is taken."""
        model = self.model
        self.justice_state = INCARCERATED
        self.sentence_end_week = week + weeks
        if self.risk_flags & FIREARM_CARRYING:
            self.risk_flags -= FIREARM_CARRYING
        model.tallies[TALLY_INCARCERATED] += 1
        if self.open_spell >= 0:  # re-incarcerated: the recidivism spell ends
            model.spells.reincarceration_week[self.open_spell] = week
            model.spells.end_week[self.open_spell] = week
            self.open_spell = -1

    def hold(self, week: int, weeks: int) -> None:
        """Held on remand for `weeks`, with no prison sentence to follow; a firearm is taken."""
        self.justice_state = INCARCERATED
        self.sentence_end_week = week + weeks
        self.remand_end_week = week + weeks
        self.remand_only = 1
        if self.risk_flags & FIREARM_CARRYING:
            self.risk_flags -= FIREARM_CARRYING
        self.model.tallies[TALLY_INCARCERATED] += 1

    def release(self, week: int, age: int) -> None:
        """Out of prison, onto parole; a new recidivism spell opens."""
        model, p = self.model, self.model.params
        model.tallies[TALLY_INCARCERATED] -= 1
        self.release_week = week
        if p.parole_weeks > 0:
            self.justice_state = SUPERVISED
            self.supervision_end_week = week + p.parole_weeks
        else:
            self.justice_state = FREE
        s = int(model.tallies[TALLY_SPELLS])
        model.tallies[TALLY_SPELLS] = s + 1
        spells = model.spells
        spells.resident[s] = self.slot
        spells.birth_week[s] = self.birth_week
        spells.release_week[s] = week
        spells.age_at_release[s] = age
        spells.rearrest_week[s] = -1
        spells.reincarceration_week[s] = -1
        spells.end_week[s] = -1
        self.open_spell = s

    def close_spell(self, week: int) -> None:
        if self.open_spell >= 0:
            self.model.spells.end_week[self.open_spell] = week
            self.open_spell = -1

    def enrolled(self, week: int) -> list[int]:
        """The individual programs this resident is in now."""
        return [k for k, s in enumerate(self.status)
                if s in (COMPLETER, DROPOUT) and week < self.program_end[k]]

    def record_program_arrest(self, week, age, sex, violent, enrolled) -> None:
        stats = self.model.book.tables.ind_stats
        for k, status in enumerate(self.status):
            if k in enrolled:
                stats[k, sex, age, PARTICIPANT_ARRESTS] += 1
                if violent:
                    stats[k, sex, age, PARTICIPANT_VIOLENT_ARRESTS] += 1
            elif status == WAITLISTED and self.is_comparison(k, week, age):
                stats[k, sex, age, COMPARISON_ARRESTS] += 1
                if violent:
                    stats[k, sex, age, COMPARISON_VIOLENT_ARRESTS] += 1

    def risk_score(self) -> float:
        """Propensity x the hazard ratio of the risk factors carried now."""
        return self.propensity * self.model.risk_hr[self.risk_flags]

    def is_eligible(self, rule: programs.Eligibility, week: int) -> bool:
        """Within an individual program's targeting at an intake (before demography)."""
        if self.justice_state == DEAD or week - self.birth_week >= rule.leaving_age_weeks:
            return False  # leaves the population this week
        if not rule.min_age <= self.age(week) <= rule.max_age:
            return False
        if not rule.sex_mask[self.sex] or self.risk_score() < rule.min_risk:
            return False
        if self.risk_flags & rule.required_flags != rule.required_flags:
            return False
        if not rule.community_mask[self.community]:
            return False
        inside = self.justice_state == INCARCERATED
        if rule.justice_code == TARGET_FREE:
            return not inside
        if rule.justice_code == TARGET_INCARCERATED:  # serving a sentence, not held before trial
            return inside and not self.remand_only and week >= self.remand_end_week
        if rule.justice_code == TARGET_RELEASED:
            return not inside and week - self.release_week <= rule.released_within
        return True


class ReferenceProgramBook(programs.ProgramBook):
    """Stage 2 with intakes in plain Python over `Resident`s (once the reference has taken
    over; before, the engine's)."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        t = self.tables  # as Python lists, read per resident
        self.log_effect = t.ind_log_effect.tolist()
        self.rate = t.ind_rate.tolist()
        self.horizon = t.ind_horizon.tolist()
        self.violent_only = t.ind_violent_only.tolist()

    def _call_in(self, model: ReferenceModel) -> None:
        """Who the targeted groups' members are until the next call-in: residents of a covered
        community who are gang members or tied to one."""
        if not model.residents_are_agents:
            return super()._call_in(model)
        t = self.tables
        for resident in model.slots:
            t.group_member[resident.slot] = int(
                bool(t.group_cover[resident.community])
                and (bool(resident.risk_flags & GANG_MEMBERSHIP)
                     or any(model.slots[j].risk_flags & GANG_MEMBERSHIP
                            for j in model.peers_of_slot[resident.slot])))

    def _intake(self, model: ReferenceModel, p: programs.Program, week: int) -> None:
        if not model.residents_are_agents:
            return super()._intake(model, p, week)
        risk = np.array([r.risk_score() for r in model.slots])
        rule = self.eligibility(p, risk, model.tables.risk_hr, len(model.community_size),
                                model.params.max_age_weeks)
        self.record_intake(model, p, week, self.offer(model, p, week, rule))

    def offer(self, model: ReferenceModel, p: programs.Program, week: int,
              rule: programs.Eligibility) -> programs.Intake:
        """Order the eligible (by risk, by lottery, or a stable share for a coverage program),
        offer places up to capacity; the rest wait. Each offer is taken with probability uptake;
        a participant completes, or drops out at a uniformly drawn week."""
        k, c = p.index, p.config
        eligible, active = [], 0
        active_at = [0] * len(model.community_size)  # participants by community
        for resident in model.slots:
            status = resident.status[k]
            if status in (COMPLETER, DROPOUT):
                if week < resident.program_end[k]:
                    active += 1
                    active_at[resident.community] += 1
            elif status != DECLINED and resident.is_eligible(rule, week):
                eligible.append(resident)  # offered at most once; the waiting list stays eligible
        stream = rng.PROGRAM + 4 * k
        if c.coverage is not None:  # each resident's own draw, the same at every intake
            covered = [r.draw(0, stream + 3) < c.coverage for r in eligible]
            candidates = ([r for r, yes in zip(eligible, covered) if yes]
                          + [r for r, yes in zip(eligible, covered) if not yes])
            n_offers = sum(covered)
        else:
            if c.priority == "risk":
                candidates = sorted(eligible, key=lambda r: -r.risk_score())
            elif c.priority == "current_risk":
                hazard = model.community_hazard.tolist()
                candidates = sorted(eligible, key=lambda r: -r.current_risk(
                    week, r.age(week), r.sex, hazard))
            else:
                candidates = sorted(eligible, key=lambda r: r.draw(week, stream + 3))
            if p.kind.caseloads:  # each site fills its own caseloads, in that order
                free = [p.places_per_site - n for n in active_at]
                offered, waiting = [], []
                for resident in candidates:
                    if free[resident.community] > 0:
                        free[resident.community] -= 1
                        offered.append(resident)
                    else:
                        waiting.append(resident)
                candidates = offered + waiting
                n_offers = len(offered)
            else:
                n_offers = max(0, min(len(candidates), c.capacity - active))
        median = None
        if c.effect_low_risk != 1.0 and candidates:  # the risk principle
            median = float(np.median([r.risk_score() for r in candidates]))
        participants = []
        for j, resident in enumerate(candidates):
            if j >= n_offers:
                resident.status[k] = WAITLISTED
                resident.program_start[k] = week
                continue
            if resident.draw(week, stream) >= p.uptake:
                resident.status[k] = DECLINED
                continue
            status, end = COMPLETER, week + c.duration_weeks
            if resident.draw(week, stream + 1) >= p.completion:
                status = DROPOUT
                end = week + 1 + int(resident.draw(week, stream + 2) * (c.duration_weeks - 1))
            resident.status[k] = status
            resident.program_start[k] = week
            resident.program_end[k] = end
            resident.low_risk[k] = int(median is not None and resident.risk_score() < median)
            participants.append(resident)
        return programs.Intake(
            sex=np.array([r.sex for r in participants], np.int64),
            age=np.array([r.age(week) for r in participants], np.int64),
            start=np.full(len(participants), week, np.int64),
            end=np.array([r.program_end[k] for r in participants], np.int64),
            waiting=len(candidates) - n_offers)


class ReferenceModel(ViolencePreventionModel):
    """The engine's model with residents as `Resident` agents stepped by Mesa.

    Args:
        config, rng: as `ViolencePreventionModel`.
        engine_weeks: weeks run by the engine before the residents become agents (e.g. the
            burn-in, to check the rules on a mature population quickly); 0 for none.
    """

    program_book = ReferenceProgramBook

    def __init__(self, config=None, rng: int | None = None, engine_weeks: int = 0) -> None:
        super().__init__(config, rng)
        if not 0 <= engine_weeks <= self.total_weeks:
            raise ValueError(f"engine_weeks = {engine_weeks}: must be in [0, {self.total_weeks}]")
        self.engine_weeks = engine_weeks
        self.residents_are_agents = False
        t = self.tables
        self.key_int = int(self.key)
        self.community_start = t.community_start.tolist()
        self.community_size = t.community_size.tolist()
        self.community_of_slot = self.residents.community.tolist()
        self.disadvantage = t.community_disadvantage.tolist()
        self.adjacent = [t.community_adj_idx[a:b].tolist()
                         for a, b in zip(t.community_adj_ptr[:-1], t.community_adj_ptr[1:])]
        self.peers_of_slot = [t.peer_idx[a:b].tolist()  # ties belong to the slot
                              for a, b in zip(t.peer_ptr[:-1], t.peer_ptr[1:])]
        self.base_hazard = t.base_hazard.tolist()
        self.risk_hr = t.risk_hr.tolist()
        self.initial_logit = t.initial_logit.tolist()
        self.state_entry = t.state_entry.tolist()
        self.state_exit = t.state_exit.tolist()
        self.entry_log_shift = t.entry_log_shift.tolist()
        self.band_of_age = t.band_of_age.tolist()
        self.victim_weight = t.victim_weight.tolist()
        self.victim_lethality = t.victim_lethality.tolist()
        self.book: ReferenceProgramBook = self.programs
        self.programs_act = bool(self.programs.tables.acts_on_residents)
        self.slots: list[Resident] = []
        if engine_weeks == 0:
            self._take_over()

    def _take_over(self) -> None:
        """Make every resident of the arrays a `Resident` agent (same slot, same state)."""
        r, pt = self.residents, self.programs.tables
        columns = {name: getattr(r, name).tolist() for name in r._fields}
        self.slots = [None] * len(columns["birth_week"])
        for i in range(len(self.slots)):
            resident = Resident(self, i)
            for name, values in columns.items():
                setattr(resident, name, values[i])
            for k in range(len(resident.status)):
                resident.status[k] = int(pt.ind_status[k, i])
                resident.program_start[k] = int(pt.ind_start_week[k, i])
                resident.program_end[k] = int(pt.ind_end_week[k, i])
                resident.low_risk[k] = int(pt.ind_low_risk[k, i])
            self.slots[i] = resident
        self.residents_are_agents = True

    def write_back(self) -> None:
        """Copy the agents' state into the resident and program arrays (read by outcomes)."""
        if not self.residents_are_agents:
            return
        r, pt = self.residents, self.programs.tables
        for name in r._fields:
            getattr(r, name)[:] = [getattr(resident, name) for resident in self.slots]
        for k in range(pt.ind_status.shape[0]):
            pt.ind_status[k] = [resident.status[k] for resident in self.slots]
            pt.ind_start_week[k] = [resident.program_start[k] for resident in self.slots]
            pt.ind_end_week[k] = [resident.program_end[k] for resident in self.slots]
            pt.ind_low_risk[k] = [resident.low_risk[k] for resident in self.slots]

    def count(self, stat: int, sex: int, band: int) -> None:
        self.week_counts[stat][sex][band] += 1

    def _count_by_age(self, week: int) -> None:
        self.write_back()  # the yearly count reads the resident arrays
        super()._count_by_age(week)

    # -- the stages the reference restates; the rest of the week is the engine's -------------
    def step(self) -> None:
        super().step()
        if self.finished:
            self.write_back()

    def _run_programs(self, week: int) -> None:
        """Stage "programs", with intakes over `Resident`s once they have taken over."""
        if week >= self.engine_weeks and not self.residents_are_agents:
            self._take_over()
        super()._run_programs(week)

    def _live_week(self, week: int) -> None:
        """Stage "residents": Mesa steps every `Resident`, demography first."""
        if week < self.engine_weeks:
            return super()._live_week(week)
        n_bands = len(self.band_labels)
        self.week_counts = [[[0] * n_bands for _ in range(2)] for _ in range(N_STATS)]
        self.incidents = [0] * len(self.community_size)
        self.offences: list[tuple[Resident, bool]] = []
        self.year_start = week - week % WEEKS_PER_YEAR
        self.community_hazard_now = self.community_hazard.tolist()
        self.deter_all_now = self.deter_all.tolist()
        self.deter_violent_now = self.deter_violent.tolist()
        AgentSet(self.slots, random=self.random).do("grow_older")  # demography
        AgentSet(self.slots, random=self.random).do("live_week")  # release, offending, ...

    def _resolve_offences(self, week: int) -> None:
        """Stage "offences": each queued offence, in slot order."""
        if week < self.engine_weeks:
            return super()._resolve_offences(week)
        self.arrest_multiplier_now = self.arrest_multiplier.tolist()
        for offender, violent in self.offences:
            offender.commit_offence(violent)
        self._counts[:] = self.week_counts
        self._incidents[:] = self.incidents


__all__ = ["Resident", "ReferenceModel", "ReferenceProgramBook", "uniform", "normal"]
