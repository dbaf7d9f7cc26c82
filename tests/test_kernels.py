"""The weekly kernels against hand-computed cases on a few hand-made residents.

Each test builds a `TinyWorld` (see helpers.py): residents are free 30-year-old women with a
clean record, nobody offends, nobody is arrested and nobody dies unless the test forces it
through the kernel parameters.
"""

import math

import numpy as np
import pytest
from helpers import FORCE, WEEKS_PER_YEAR, TinyWorld, uint64_key
from scipy import stats

from sim import kernels
from sim.codes import (
    ADMISSIONS,
    AGE_BAND_EDGES,
    ARRESTS,
    DEAD,
    DISENGAGEMENT,
    FAMILY_ADVERSITY,
    FIREARM_CARRYING,
    FIREARM_INCIDENTS,
    FREE,
    GANG_MEMBERSHIP,
    HOMICIDE_OFFENDERS,
    HOMICIDES,
    INCARCERATED,
    INCARCERATED_STOCK,
    NEVER,
    NEW_OFFENDERS,
    NEW_VICTIMS,
    POPULATION,
    RELEASES,
    SUBSTANCE_USE,
    SUPERVISED,
    TALLY_INCARCERATED,
    TALLY_SPELLS,
    VICTIMISATIONS,
    VIOLENT_ARRESTS,
    VIOLENT_OFFENCES,
)
from sim.config import VpsimConfig
from sim.kernels import params_from_config

MAX_AGE_WEEKS = TinyWorld.MAX_AGE * WEEKS_PER_YEAR
ENTRY_AGE_WEEKS = 10 * WEEKS_PER_YEAR


def offenders(queued: np.ndarray) -> set[int]:
    """Residents behind queued offences (i for a violent offence, ~i for any other)."""
    return {int(code) if code >= 0 else int(~code) for code in queued}


# --- release, supervision and recidivism spells ------------------------------------------------

def test_release_at_sentence_end_puts_resident_on_parole_and_opens_a_spell(tiny_world):
    world = tiny_world(1, parole_weeks=20)
    r = world.residents
    # Born 27 years and 45 weeks before week 0: aged 27 in week 6, 28 from week 7 (1456 // 52).
    r.birth_week[0] = -(27 * WEEKS_PER_YEAR + 45)
    world.incarcerate(0, sentence_ends=7)

    world.step(6)
    assert r.justice_state[0] == INCARCERATED
    assert world.count(RELEASES) == 0
    assert world.tallies[TALLY_SPELLS] == 0

    world.step(7)
    assert r.justice_state[0] == SUPERVISED
    assert r.release_week[0] == 7
    assert r.supervision_end_week[0] == 7 + 20
    assert world.count(RELEASES) == 1
    assert world.tallies[TALLY_INCARCERATED] == 0
    assert world.tallies[TALLY_SPELLS] == 1
    s = world.spells
    assert (s.resident[0], s.release_week[0], s.age_at_release[0]) == (0, 7, 28)
    assert (s.rearrest_week[0], s.reincarceration_week[0], s.end_week[0]) == (-1, -1, -1)
    assert r.open_spell[0] == 0


def test_supervision_ends_on_its_week_but_the_recidivism_spell_stays_open(tiny_world):
    world = tiny_world(1, parole_weeks=20)
    world.incarcerate(0, sentence_ends=7)
    world.step(7)
    world.step(26)
    assert world.residents.justice_state[0] == SUPERVISED
    world.step(27)
    assert world.residents.justice_state[0] == FREE
    assert world.residents.open_spell[0] == 0
    assert world.spells.end_week[0] == -1


def test_release_without_parole_is_to_freedom_and_still_opens_a_spell(tiny_world):
    world = tiny_world(1, parole_weeks=0)
    world.incarcerate(0, sentence_ends=3)
    world.step(3)
    assert world.residents.justice_state[0] == FREE
    assert world.residents.release_week[0] == 3
    assert world.tallies[TALLY_SPELLS] == 1
    assert world.spells.release_week[0] == 3
    assert world.residents.open_spell[0] == 0


def test_arrest_of_a_released_resident_records_the_first_rearrest_week(tiny_world):
    world = tiny_world(1, violent_share=0.0, clearance_other=1.0, conviction_probability=0.0)
    r = world.residents
    spell = world.on_parole(0, released=5, supervision_ends=500)
    world.only_offender(0)

    world.step(8)
    assert world.count(ARRESTS) == 1
    assert r.prior_arrests[0] == 1
    assert r.last_arrest_week[0] == 8
    assert world.spells.rearrest_week[spell] == 8
    assert world.spells.end_week[spell] == -1  # an arrest alone does not end the follow-up
    assert r.open_spell[0] == spell

    world.step(9)
    assert r.prior_arrests[0] == 2
    assert world.spells.rearrest_week[spell] == 8  # the first re-arrest is kept


def test_admission_closes_the_spell_with_its_reincarceration_week(tiny_world):
    world = tiny_world(1, violent_share=0.0, clearance_other=1.0, conviction_probability=1.0,
                       prison_probability_other=1.0, sentence_sigma=0.0,
                       sentence_median_weeks_other=20.0)
    r = world.residents
    spell = world.on_parole(0, released=5, supervision_ends=500)
    world.only_offender(0)

    world.step(12)
    assert r.justice_state[0] == INCARCERATED
    assert r.sentence_end_week[0] == 12 + 20
    assert world.count(ADMISSIONS) == 1
    assert world.tallies[TALLY_INCARCERATED] == 1
    assert world.spells.rearrest_week[spell] == 12
    assert world.spells.reincarceration_week[spell] == 12
    assert world.spells.end_week[spell] == 12
    assert r.open_spell[0] == -1


def test_technical_violation_sends_a_parolee_back_without_a_rearrest(tiny_world):
    world = tiny_world(1, revocation_probability=1.0, revocation_weeks=26)
    r = world.residents
    spell = world.on_parole(0, released=5, supervision_ends=500)

    world.step(7)
    assert r.justice_state[0] == INCARCERATED
    assert r.sentence_end_week[0] == 7 + 26
    assert world.count(ADMISSIONS) == 1
    assert world.count(ARRESTS) == 0
    assert world.tallies[TALLY_INCARCERATED] == 1
    s = world.spells
    assert (s.rearrest_week[spell], s.reincarceration_week[spell], s.end_week[spell]) == (-1, 7, 7)


def test_conviction_without_prison_puts_the_resident_on_probation(tiny_world):
    world = tiny_world(1, violent_share=0.0, clearance_other=1.0, conviction_probability=1.0,
                       prison_probability_other=0.0, probation_weeks=30)
    world.only_offender(0)
    world.step(10)
    r = world.residents
    assert r.justice_state[0] == SUPERVISED
    assert r.supervision_end_week[0] == 10 + 30
    assert r.convictions[0] == 1
    assert world.count(ADMISSIONS) == 0
    assert world.tallies[TALLY_SPELLS] == 0  # probation is not a release from prison


# --- demography ------------------------------------------------------------------------------

def test_ageing_out_recycles_the_slot_as_a_ten_year_old_with_a_clean_record(tiny_world):
    week = 200
    world = tiny_world(3)
    r = world.residents
    # Resident 0 reaches max_age this week, on parole, with a record and an open spell.
    r.birth_week[0] = week - MAX_AGE_WEEKS
    spell = world.on_parole(0, released=150, supervision_ends=400)
    r.prior_arrests[0], r.convictions[0], r.victimisations[0] = 3, 2, 1
    r.last_arrest_week[0], r.victimised_week[0] = 160, 170
    r.exposure[0] = 2.0
    # Resident 1 is one week short of max_age: stays.
    r.birth_week[1] = week - MAX_AGE_WEEKS + 1
    # Resident 2 reaches max_age in prison.
    r.birth_week[2] = week - MAX_AGE_WEEKS
    world.incarcerate(2, sentence_ends=week + 100)

    world.step(week)

    for i in (0, 2):
        assert r.birth_week[i] == week - ENTRY_AGE_WEEKS
        assert r.justice_state[i] == FREE
        assert r.community[i] == 0
        assert (r.prior_arrests[i], r.convictions[i], r.victimisations[i]) == (0, 0, 0)
        for event in (r.release_week, r.sentence_end_week, r.supervision_end_week,
                      r.last_arrest_week, r.victimised_week):
            assert event[i] == NEVER
        assert r.open_spell[i] == -1
        assert r.exposure[i] == 0.0
    assert r.birth_week[1] == week - MAX_AGE_WEEKS + 1
    # The open spell is censored at the exit, without an event.
    s = world.spells
    assert (s.end_week[spell], s.rearrest_week[spell], s.reincarceration_week[spell]) == (
        week, -1, -1)
    assert world.tallies[TALLY_INCARCERATED] == 0
    assert world.count(INCARCERATED_STOCK) == 0
    assert world.count(POPULATION) == 3
    assert world.counts[POPULATION, :, 0].sum() == 2  # two entrants in the 10-14 band


def test_homicide_victim_dies_and_is_replaced_next_week(tiny_world):
    # Offender 0's only peer is 1, so 1 is the victim; 2 is a peer of the victim.
    world = tiny_world(3, ties=[(0, 1), (1, 2)], violent_share=1.0, victim_among_peers=1.0,
                       lethality=1.0, homicide_exposure_weight=3.0)
    r = world.residents
    spell = world.on_parole(1, released=5, supervision_ends=500)
    world.only_offender(0)

    world.step(20)
    assert r.justice_state[1] == DEAD
    assert world.count(VIOLENT_OFFENCES) == 1
    assert world.count(VICTIMISATIONS) == 1
    assert world.count(HOMICIDES) == 1
    assert r.victimised_week[1] == 20

    r.propensity[0] = 0.0  # no more offences
    world.step(21)
    assert r.justice_state[1] == FREE
    assert r.birth_week[1] == 21 - ENTRY_AGE_WEEKS
    assert r.victimisations[1] == 0
    assert r.victimised_week[1] == NEVER
    assert world.spells.end_week[spell] == 21  # censored: the resident left the population
    assert world.spells.rearrest_week[spell] == -1
    assert world.count(POPULATION) == 3


# --- contagion ----------------------------------------------------------------------------------

def test_violent_incident_exposes_the_peers_of_victim_and_offender_by_one(tiny_world):
    # Ties 0-4, 4-5, 2-3: offender 0's only peer 4 is the victim.
    world = tiny_world(6, ties=[(0, 4), (4, 5), (2, 3)], violent_share=1.0,
                       victim_among_peers=1.0)
    world.only_offender(0)
    world.step(30)
    assert world.residents.victimised_week[4] == 30
    # Victim 4's peers (0, 5) and offender 0's peer (4) each get +1; 1, 2, 3 are not tied in.
    assert world.residents.exposure.tolist() == [1.0, 0.0, 0.0, 0.0, 1.0, 1.0]


def test_homicide_exposes_peers_by_the_homicide_weight(tiny_world):
    world = tiny_world(3, ties=[(0, 1), (1, 2)], violent_share=1.0, victim_among_peers=1.0,
                       lethality=1.0, homicide_exposure_weight=3.0)
    world.only_offender(0)
    world.step(20)
    # Victim 1's peers 0 and 2 get +3; offender 0's peer (the victim) gets +3.
    assert world.residents.exposure.tolist() == [3.0, 3.0, 3.0]


def test_exposure_decays_by_exposure_decay_each_week_then_drops_to_zero(tiny_world):
    world = tiny_world(6, ties=[(0, 4), (4, 5), (2, 3)], violent_share=1.0,
                       victim_among_peers=1.0, exposure_decay=0.5)
    world.only_offender(0)
    world.step(30)
    world.residents.propensity[:] = 0.0
    k = 1
    while 0.5**k > kernels.EXPOSURE_FLOOR:
        world.step(30 + k)
        assert world.residents.exposure[5] == 0.5**k
        k += 1
    world.step(30 + k)  # 0.5**k is below the floor: dropped
    assert world.residents.exposure[5] == 0.0
    assert world.residents.exposure.max() == 0.0


# --- the offending hazard -------------------------------------------------------------------

PRISON_RATE = math.log(2) / 156
PR_RATE = math.log(2) / 26
RET_RATE = math.log(2) / 8
DECAYING_TERMS = {  # term: (coefficient, weekly rate, horizon in weeks), forced in _hazard_world
    "prior_incarceration": (0.4, PRISON_RATE, 2000),
    "post_release": (0.7, PR_RATE, 400),
    "retaliation": (0.5, RET_RATE, 100),
}


def _hazard_world(tiny_world) -> TinyWorld:
    forced_terms = {}
    for term, (coefficient, rate, horizon) in DECAYING_TERMS.items():
        forced_terms.update({term: coefficient, f"{term}_rate": rate,
                             f"{term}_horizon": horizon})
    world = tiny_world(1, peer_contagion=0.3, exposure_saturation=3.0, **forced_terms)
    # A distinct base hazard in every [sex, age] cell, so a wrong cell shows; and a hazard
    # ratio for the risk factors carried (flags 0b10010: disengagement, firearm carrying).
    ages = np.arange(TinyWorld.MAX_AGE + 1)
    risk_hr = np.ones(32)
    risk_hr[DISENGAGEMENT | FIREARM_CARRYING] = 1.8
    world.tables = world.tables._replace(
        base_hazard=np.stack([0.001 * (ages + 1), 0.002 * (ages + 1)]), risk_hr=risk_hr)
    world.residents.risk_flags[0] = DISENGAGEMENT | FIREARM_CARRYING
    world.community_hazard[:] = 1.25
    r = world.residents
    r.sex[0] = 1
    r.propensity[0] = 1.5
    r.exposure[0] = 0.75
    return world


def test_offending_hazard_is_the_documented_product(tiny_world):
    world = _hazard_world(tiny_world)
    r, week, age = world.residents, 300, 23
    r.birth_week[0] = week - age * WEEKS_PER_YEAR - 10
    r.release_week[0] = week - 10
    r.grievance_week[0] = week - 3
    h = kernels.offending_hazard(r, world.params, world.tables, world.community_hazard, 0, week,
                                 age)
    base = 0.002 * (23 + 1)  # male, aged 23
    expected = base * 1.5 * 1.8 * 1.25 * math.exp(  # x propensity x risk factors x community
        0.3 * 0.75 / (1 + 0.75 / 3.0)         # peer contagion x exposure, saturating
        + 0.4 * math.exp(-PRISON_RATE * 10)   # prison record, released 10 weeks ago
        + 0.7 * math.exp(-PR_RATE * 10)       # post-release spike
        + 0.5 * math.exp(-RET_RATE * 3))      # retaliation, victimised (not mediated) 3 weeks ago
    assert h == pytest.approx(expected, rel=1e-12)


def test_offending_hazard_without_release_or_victimisation_has_only_contagion(tiny_world):
    world = _hazard_world(tiny_world)
    r = world.residents
    r.sex[0] = 0
    h = kernels.offending_hazard(r, world.params, world.tables, world.community_hazard, 0, 100,
                                 40)
    assert h == pytest.approx(0.001 * 41 * 1.5 * 1.8 * 1.25 * math.exp(0.3 * 0.75 / 1.25),
                              rel=1e-12)


@pytest.mark.parametrize("term", ["retaliation", "post_release", "prior_incarceration"])
def test_decaying_hazard_terms_stop_at_their_horizon(tiny_world, term):
    world = _hazard_world(tiny_world)
    r, week, age = world.residents, 5000, 30
    r.exposure[0] = 0.0
    base = 0.002 * 31 * 1.5 * 1.8 * 1.25

    coefficient, rate, horizon = DECAYING_TERMS[term]
    clock = "victimised" if term == "retaliation" else "released"
    # The other term on the same clock is switched off; the other clock is past its horizons.
    if term == "post_release":
        world.set_params(prior_incarceration=0.0)
    if term == "prior_incarceration":
        world.set_params(post_release=0.0)

    def log_hazard_ratio(weeks_since):
        r.release_week[0] = week - (weeks_since if clock == "released" else 3000)
        r.grievance_week[0] = week - (weeks_since if clock == "victimised" else 3000)
        h = kernels.offending_hazard(r, world.params, world.tables, world.community_hazard, 0,
                                     week, age)
        return math.log(h / base)

    assert log_hazard_ratio(horizon - 1) == pytest.approx(
        coefficient * math.exp(-rate * (horizon - 1)), rel=1e-9)
    assert log_hazard_ratio(horizon) == pytest.approx(0.0, abs=1e-12)


def test_model_horizons_cut_terms_only_once_they_are_negligible():
    cfg = VpsimConfig()
    beh = cfg.behaviour
    beh.prior_incarceration, beh.prior_incarceration_half_life_weeks = 1.2, 156.0
    beh.post_release, beh.post_release_half_life_weeks = 0.9, 20.0
    beh.retaliation, beh.retaliation_half_life_weeks = -0.6, 5.0
    p = params_from_config(cfg, uint64_key(0))
    for coefficient, rate, horizon in (
            (1.2, p.prior_incarceration_rate, p.prior_incarceration_horizon),
            (0.9, p.post_release_rate, p.post_release_horizon),
            (-0.6, p.retaliation_rate, p.retaliation_horizon)):
        assert abs(coefficient) * math.exp(-rate * horizon) <= 1e-4
        assert abs(coefficient) * math.exp(-rate * (horizon - 1)) > 1e-4
    beh.retaliation = 0.0
    assert params_from_config(cfg, uint64_key(0)).retaliation_horizon == 0


def test_kernel_params_turn_half_lives_and_yearly_rates_into_weekly_ones():
    cfg = VpsimConfig()
    cfg.behaviour.exposure_half_life_weeks = 10.0
    cfg.behaviour.post_release_half_life_weeks = 26.0
    cfg.justice.revocation_per_year = 2.6
    p = params_from_config(cfg, uint64_key(0))
    assert p.exposure_decay**10 == pytest.approx(0.5, rel=1e-12)
    assert math.exp(-p.post_release_rate * 26) == pytest.approx(0.5, rel=1e-12)
    assert p.revocation_probability == pytest.approx(1 - math.exp(-2.6 / 52), rel=1e-12)
    assert p.max_age_weeks == 52 * cfg.population.max_age
    assert p.min_age_weeks == 520


# --- offending is a Bernoulli draw of probability 1 - exp(-h) ------------------------------

@pytest.mark.parametrize("hazard", [0.05, 0.5, 2.0])
def test_weekly_offending_probability_is_one_minus_exp_of_the_hazard(tiny_world, hazard):
    n = 20_000
    world = tiny_world(n, violent_share=0.3)
    world.set_weekly_hazard(hazard)
    queued = world.step(5)
    p_offend = 1 - math.exp(-hazard)
    assert len(offenders(queued)) == len(queued)  # at most one offence a resident a week
    assert stats.binomtest(len(queued), n, p_offend).pvalue > 1e-3
    violent = int((queued >= 0).sum())
    assert stats.binomtest(violent, len(queued), 0.3).pvalue > 1e-3


def test_offending_probability_test_can_tell_the_hazard_from_the_probability(tiny_world):
    """The binomial test above has the power to reject P(offend) = h at h = 0.5."""
    n = 20_000
    world = tiny_world(n)
    world.set_weekly_hazard(0.5)
    assert stats.binomtest(len(world.step(5)), n, 0.5).pvalue < 1e-9


@pytest.mark.parametrize("violent_share, violent_expected", [(1.0, True), (0.0, False)])
def test_violent_share_one_or_zero_makes_every_offence_violent_or_none(tiny_world, violent_share,
                                                                    violent_expected):
    world = tiny_world(200, violent_share=violent_share)
    world.set_weekly_hazard(FORCE)
    queued = world.step(3)
    assert len(queued) == 200
    assert bool(np.all(queued >= 0)) is violent_expected
    assert bool(np.all(queued < 0)) is not violent_expected


def test_incarcerated_resident_never_offends(tiny_world):
    world = tiny_world(2)
    world.set_weekly_hazard(FORCE)
    world.incarcerate(1, sentence_ends=100)
    for week in range(10, 20):
        assert offenders(world.step(week)) == {0}


# --- sentencing ------------------------------------------------------------------------------

SENTENCING = dict(conviction_probability=1.0, sentence_sigma=0.0)


@pytest.mark.parametrize("kind, n, changes, expected_weeks", [
    ("violent", 1, dict(violent_share=1.0, clearance_violent=1.0, prison_probability_violent=1.0,
                        sentence_median_weeks_violent=37.0), 37),
    ("other", 1, dict(violent_share=0.0, clearance_other=1.0, prison_probability_other=1.0,
                      sentence_median_weeks_other=12.6), 13),
    # A homicide always means prison, whatever prison_probability_violent says.
    ("homicide", 2, dict(violent_share=1.0, victim_among_peers=1.0, lethality=1.0,
                         clearance_homicide=1.0, prison_probability_violent=0.0,
                         sentence_median_weeks_homicide=500.0), 500),
])
def test_sentence_with_sigma_zero_is_the_median_rounded_to_weeks(tiny_world, kind, n, changes,
                                                                 expected_weeks):
    world = tiny_world(n, ties=[(0, 1)] if n == 2 else (), **SENTENCING, **changes)
    world.only_offender(0)
    world.step(3)
    r = world.residents
    assert r.justice_state[0] == INCARCERATED
    assert r.sentence_end_week[0] == 3 + expected_weeks
    assert world.count(ARRESTS) == 1
    assert world.count(VIOLENT_ARRESTS) == (0 if kind == "other" else 1)
    assert world.count(ADMISSIONS) == 1
    assert world.tallies[TALLY_INCARCERATED] == 1
    assert (r.prior_arrests[0], r.convictions[0]) == (1, 1)
    if kind == "homicide":
        assert world.count(HOMICIDES) == 1


def test_sentence_lengths_are_lognormal_around_the_median(tiny_world):
    n = 5_000
    world = tiny_world(n, violent_share=0.0, clearance_other=1.0, conviction_probability=1.0,
                       prison_probability_other=1.0, sentence_median_weeks_other=1000.0,
                       sentence_sigma=0.5)
    world.set_weekly_hazard(FORCE)
    world.step(0)
    assert world.count(ADMISSIONS) == n
    log_weeks = np.log(world.residents.sentence_end_week.astype(float))
    lognormal = stats.norm(loc=math.log(1000.0), scale=0.5)
    assert stats.kstest(log_weeks, lognormal.cdf).pvalue > 1e-3


# --- justice probabilities -----------------------------------------------------------------

def test_arrest_probability_is_clearance_times_police_times_supervision_detection(tiny_world):
    n = 20_000
    world = tiny_world(n, violent_share=0.0, clearance_other=0.2, supervision_detection=2.0,
                       conviction_probability=0.0)
    world.set_weekly_hazard(FORCE)
    world.police[:] = 1.5
    r = world.residents
    supervised = np.arange(n) % 2 == 1
    r.justice_state[supervised] = SUPERVISED
    r.supervision_end_week[supervised] = 1000
    world.step(4)
    arrested = r.last_arrest_week == 4
    assert stats.binomtest(int(arrested[~supervised].sum()), n // 2, 0.2 * 1.5).pvalue > 1e-3
    assert stats.binomtest(int(arrested[supervised].sum()), n // 2, 0.2 * 1.5 * 2.0).pvalue > 1e-3


def test_conviction_and_prison_probabilities_with_a_prior_conviction(tiny_world):
    n = 20_000
    world = tiny_world(n, violent_share=0.0, clearance_other=1.0, conviction_probability=0.6,
                       prison_probability_other=0.25, prison_prior_conviction_ratio=2.0,
                       probation_weeks=0)
    world.set_weekly_hazard(FORCE)
    r = world.residents
    prior = np.arange(n) % 2 == 1
    r.convictions[prior] = 1
    world.step(4)
    convicted = r.convictions > prior
    assert stats.binomtest(int(convicted.sum()), n, 0.6).pvalue > 1e-3
    jailed = r.justice_state == INCARCERATED
    assert not (jailed & ~convicted).any()
    assert stats.binomtest(int(jailed[convicted & ~prior].sum()),
                           int((convicted & ~prior).sum()), 0.25).pvalue > 1e-3
    assert stats.binomtest(int(jailed[convicted & prior].sum()),
                           int((convicted & prior).sum()), 0.25 * 2.0).pvalue > 1e-3


# --- victims -----------------------------------------------------------------------------------

def test_no_victim_when_everyone_else_is_in_prison(tiny_world):
    world = tiny_world(4, violent_share=1.0)
    world.only_offender(0)
    for i in (1, 2, 3):
        world.incarcerate(i, sentence_ends=100)
    world.step(10)
    assert world.count(VIOLENT_OFFENCES) == 1
    assert world.count(VICTIMISATIONS) == 0
    assert world.incidents[0] == 1  # still an incident in the offender's community
    assert (world.residents.victimisations == 0).all()


def test_a_victim_counts_once_a_calendar_year_as_newly_victimised(tiny_world):
    world = tiny_world(2, ties=[(0, 1)], violent_share=1.0, victim_among_peers=1.0)
    world.only_offender(0)
    new_victims = {}
    for week in (10, 11, 51, 52, 53):
        world.step(week)
        assert world.count(VICTIMISATIONS) == 1
        new_victims[week] = world.count(NEW_VICTIMS)
    assert new_victims == {10: 1, 11: 0, 51: 0, 52: 1, 53: 0}
    assert world.residents.victimisations[1] == 5


# --- entrants ----------------------------------------------------------------------------------

def test_entrants_draw_sex_risk_factors_and_propensity_as_configured(tiny_world):
    n = 20_000
    logit_family = math.log(0.2 / 0.8)
    world = tiny_world(n, male_share=0.3, propensity_sigma=0.5, disadvantage_risk_slope=0.5,
                       state_propensity_gradient=0.0)
    initial = world.tables.initial_logit.copy()
    initial[0] = logit_family  # family adversity: 20% at average disadvantage
    initial[4] = math.inf  # everyone carries a firearm at entry; nobody is in another state
    world.tables = world.tables._replace(community_disadvantage=np.array([1.0]),
                                         initial_logit=initial)
    r = world.residents
    kernels.init_residents(r, world.params, world.tables, np.full(n, -1000, np.int32),
                           np.ones(1))
    assert (r.birth_week == -1000).all()
    assert (r.justice_state == FREE).all()
    assert stats.binomtest(int(r.sex.sum()), n, 0.3).pvalue > 1e-3
    family = (r.risk_flags & FAMILY_ADVERSITY) > 0
    # One SD of community disadvantage adds disadvantage_risk_slope to the log-odds.
    p_family = 1 / (1 + math.exp(-(logit_family + 0.5 * 1.0)))
    assert stats.binomtest(int(family.sum()), n, p_family).pvalue > 1e-3
    assert ((r.risk_flags & FIREARM_CARRYING) > 0).all()
    assert not (r.risk_flags & (DISENGAGEMENT | SUBSTANCE_USE | GANG_MEMBERSHIP)).any()
    # Propensity: lognormal, mean 1.
    propensity = stats.norm(loc=-0.5**2 / 2, scale=0.5)
    assert stats.kstest(np.log(r.propensity.astype(float)), propensity.cdf).pvalue > 1e-3

# --- life-course risk states ----------------------------------------------------------------------

def _state_world(tiny_world, n, entry_per_week=0.0, exit_per_week=0.0, k=3):
    """n free residents; risk state k (gang membership) with constant weekly hazards."""
    world = tiny_world(n, state_propensity_gradient=0.0)
    entry = world.tables.state_entry.copy()
    exit_ = world.tables.state_exit.copy()
    entry[k] = entry_per_week
    exit_[k] = exit_per_week
    world.tables = world.tables._replace(state_entry=entry, state_exit=exit_)
    return world


def test_states_change_once_a_quarter_staggered_over_residents(tiny_world):
    """Resident i moves in the weeks where (week + i) % 13 == 0, never in between; with a huge
    entry hazard everyone due enters, nobody else does."""
    n = 26
    world = _state_world(tiny_world, n, entry_per_week=50.0)
    r = world.residents
    world.step(0)
    due = (np.arange(n) % 13) == 0
    assert ((r.risk_flags & GANG_MEMBERSHIP) > 0).tolist() == due.tolist()
    world.step(1)
    due |= ((1 + np.arange(n)) % 13) == 0
    assert ((r.risk_flags & GANG_MEMBERSHIP) > 0).tolist() == due.tolist()


def test_state_entry_and_exit_probabilities_over_a_quarter(tiny_world):
    """P(enter) = 1 - exp(-13 x weekly entry hazard x multiplier), P(leave) = 1 - exp(-13 x
    weekly exit hazard), decided once a quarter; others' states stay."""
    n = 26_000
    world = _state_world(tiny_world, n, entry_per_week=0.01, exit_per_week=0.03)
    r = world.residents
    members = np.arange(n) % 2 == 1
    r.risk_flags[members] = GANG_MEMBERSHIP
    for week in range(13):  # every resident has its quarterly turn once
        world.step(week)
    now = (r.risk_flags & GANG_MEMBERSHIP) > 0
    assert stats.binomtest(int((~now[members]).sum()), int(members.sum()),
                           1 - math.exp(-13 * 0.03)).pvalue > 1e-3
    assert stats.binomtest(int(now[~members].sum()), int((~members).sum()),
                           1 - math.exp(-13 * 0.01)).pvalue > 1e-3
    assert not (r.risk_flags & (DISENGAGEMENT | SUBSTANCE_USE | FIREARM_CARRYING)).any()


def test_state_entry_rises_with_propensity_and_disadvantage(tiny_world):
    """A resident's entry hazard is x exp(entry_log_shift of the community) x propensity **
    gradient."""
    n = 26_000
    world = _state_world(tiny_world, n, entry_per_week=0.005)
    world.set_params(state_propensity_gradient=1.0)
    world.tables = world.tables._replace(entry_log_shift=np.array([math.log(2.0)]))
    r = world.residents
    r.propensity[:] = np.where(np.arange(n) % 2 == 0, 1.0, 3.0)
    for week in range(13):
        world.step(week)
    entered = (r.risk_flags & GANG_MEMBERSHIP) > 0
    for propensity in (1.0, 3.0):
        who = r.propensity == propensity
        expected = 1 - math.exp(-13 * 0.005 * 2.0 * propensity)
        assert stats.binomtest(int(entered[who].sum()), int(who.sum()), expected).pvalue > 1e-3


def test_prison_freezes_states_and_takes_a_firearm(tiny_world):
    world = _state_world(tiny_world, 2, entry_per_week=50.0)
    r = world.residents
    world.incarcerate(0, sentence_ends=100)
    world.set_params(clearance_other=1.0, conviction_probability=1.0,
                     prison_probability_other=1.0, violent_share=0.0)
    r.risk_flags[1] = FIREARM_CARRYING
    world.only_offender(1)
    world.step(0)  # 0 is due a transition but is in prison; 1 is arrested and imprisoned
    assert r.risk_flags[0] == 0
    assert r.justice_state[1] == INCARCERATED
    assert r.risk_flags[1] & FIREARM_CARRYING == 0


def test_transition_rates_make_a_cohort_follow_its_prevalence():
    """Integrating dP/da = j (1 - P) - e P year by year with the derived entry rates gives back
    the configured prevalence by age (where it does not fall faster than exits allow)."""
    from sim.config import LifeCourseState
    from sim.population import transition_rates

    state = LifeCourseState(ages=[10, 14, 18, 40, 65],
                            prevalence_male=[0.01, 0.08, 0.05, 0.02, 0.01],
                            prevalence_female=[0.0, 0.02, 0.02, 0.01, 0.005],
                            exit_per_year=[0.4, 0.4, 0.3, 0.3, 0.3])
    entry, exit_ = transition_rates(state, 65)
    for sex, column in ((1, state.prevalence_male), (0, state.prevalence_female)):
        target = np.interp(np.arange(66), state.ages, column)
        p = target[10]
        for age in range(10, 64):
            mean_guess = p
            for _ in range(50):  # the implicit midpoint step the derivation assumes
                mean = 0.5 * (p + mean_guess)
                mean_guess = p + 52 * (entry[sex, age] * (1 - mean) - exit_[age] * mean)
            p = mean_guess
            assert p == pytest.approx(target[age + 1], abs=1e-9), (sex, age)
    # Where prevalence falls faster than exits allow, nobody enters (the cohort lags it).
    state.prevalence_male = [0.01, 0.08, 0.0, 0.0, 0.0]
    entry, _ = transition_rates(state, 65)
    assert (entry[1, 15:18] == 0).all() and (entry >= 0).all()


# --- lethality, prevalence and the records of the past ----------------------------------------

def test_lethality_rises_for_armed_offenders_and_by_the_victims_sex_and_age(tiny_world):
    """P(kill) = lethality x firearm ratio (armed offender) x the victim's [sex, band] factor."""
    n = 40_000
    world = tiny_world(n, ties=[(2 * k, 2 * k + 1) for k in range(n // 2)], violent_share=1.0,
                       victim_among_peers=1.0, lethality=0.01, firearm_lethality_ratio=4.0)
    lethal = np.ones((2, len(AGE_BAND_EDGES)))
    lethal[1, :] = 3.0  # male victims
    world.tables = world.tables._replace(victim_lethality=lethal)
    world.set_weekly_hazard(FORCE)
    r = world.residents
    offenders = np.arange(0, n, 2)
    r.propensity[offenders + 1] = 0.0  # only the even residents offend, against their one peer
    r.sex[offenders + 1] = np.arange(n // 2) % 2  # half the victims men
    armed = (np.arange(n // 2) // 2) % 2 == 1
    r.risk_flags[offenders[armed]] = FIREARM_CARRYING
    world.step(3)
    killed = r.justice_state[offenders + 1] == DEAD
    for is_armed in (False, True):
        for sex in (0, 1):
            who = (armed == is_armed) & (r.sex[offenders + 1] == sex)
            p = 0.01 * (4.0 if is_armed else 1.0) * (3.0 if sex else 1.0)
            assert stats.binomtest(int(killed[who].sum()), int(who.sum()), p).pvalue > 1e-3
    assert world.count(HOMICIDE_OFFENDERS) == world.count(HOMICIDES) == int(killed.sum())
    assert world.count(FIREARM_INCIDENTS) == int(armed.sum())


def test_an_offender_counts_once_a_calendar_year_as_offending(tiny_world):
    world = tiny_world(1, violent_share=0.0)
    world.only_offender(0)
    counted = {}
    for week in (10, 11, 51, 52, 53):
        world.step(week)
        counted[week] = world.count(NEW_OFFENDERS)
    assert counted == {10: 1, 11: 0, 51: 0, 52: 1, 53: 0}
    assert world.residents.last_offence_week[0] == 53


def test_prehistory_gives_a_forced_offender_the_record_its_rules_imply(tiny_world):
    """A 30-year-old who offended every step of the 20 years since 10, always arrested and
    convicted, never imprisoned: 20 x 13 arrests (4-week steps) and as many convictions, on
    probation now; one never offending has no record."""
    world = tiny_world(2, violent_share=0.0, clearance_other=1.0, conviction_probability=1.0,
                       prison_probability_other=0.0, probation_weeks=104)
    world.set_weekly_hazard(FORCE)
    r = world.residents
    r.propensity[1] = 0.0
    kernels.prehistory(r, world.params, world.tables, np.ones(1))
    steps = 20 * WEEKS_PER_YEAR // 4
    assert r.prior_arrests[0] == r.convictions[0] == steps
    assert r.last_arrest_week[0] == r.last_offence_week[0] == -4
    assert r.justice_state[0] == SUPERVISED and r.supervision_end_week[0] == -4 + 104
    assert r.prior_arrests[1] == 0 and r.last_offence_week[1] == NEVER
    assert r.justice_state[1] == FREE


def test_prehistory_releases_at_the_sentence_end_onto_parole(tiny_world):
    """Imprisoned in its first step (week -steps x 4) for 52 weeks: out at its sentence's end
    week onto parole, then back at each later offence; the sentence's end is a week number."""
    world = tiny_world(1, violent_share=0.0, clearance_other=1.0, conviction_probability=1.0,
                       prison_probability_other=1.0, sentence_sigma=0.0,
                       sentence_median_weeks_other=52.0, parole_weeks=10)
    world.set_weekly_hazard(FORCE)
    r = world.residents
    r.birth_week[0] = -(10 * WEEKS_PER_YEAR + 20)  # 5 steps of past: weeks -20 .. -1
    kernels.prehistory(r, world.params, world.tables, np.ones(1))
    assert r.justice_state[0] == INCARCERATED
    assert r.sentence_end_week[0] == -20 + 52
    assert r.convictions[0] == 1 and r.release_week[0] == NEVER
