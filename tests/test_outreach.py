"""Violence interruption's interrupters and focused deterrence's groups, in the kernels.

Interrupters mediate a shooting (an armed offender's violent offence) whose victim lives in one
of their sites with probability `mediation`: the victim's retaliation term does not start and the
victim's ties are not exposed. Focused deterrence reaches the members of its groups (the gang
members of its communities and those tied to them, as of the last call-in): their offending
hazard x effect, their arrest probability x clearance_multiplier.
(The outreach workers' caseloads are individual-program places: tests/test_programs.py.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import FORCE
from scipy import stats

from sim import kernels, programs
from sim.codes import (
    FIREARM_CARRYING,
    GANG_MEMBERSHIP,
    GROUP_MEMBER_WEEKS,
    MEDIATIONS,
    NEVER,
    OTHER_OFFENCES,
)


def _interrupters(world, mediation: float, site: bool = True) -> None:
    pt = world.programs
    world.programs = pt._replace(mediation_cover=np.full(1, int(site), np.int8),
                                 mediation=mediation)


def _shooting_world(tiny_world, armed: bool):
    # Ties 0-4, 4-5, 2-3: offender 0's only peer 4 is the victim; 5 is the victim's other tie.
    world = tiny_world(6, ties=[(0, 4), (4, 5), (2, 3)], violent_share=1.0,
                       victim_among_peers=1.0)
    world.only_offender(0)
    if armed:
        world.residents.risk_flags[0] = FIREARM_CARRYING
    return world


@pytest.mark.parametrize("mediation, armed, site, mediated", [
    (1.0, True, True, True),
    (0.0, True, True, False),
    (1.0, False, True, False),  # not a shooting
    (1.0, True, False, False),  # the victim lives outside the sites
])
def test_a_mediated_shooting_starts_no_retaliation_and_exposes_no_tie_of_the_victim(
        tiny_world, mediation, armed, site, mediated):
    world = _shooting_world(tiny_world, armed)
    _interrupters(world, mediation, site)
    world.step(30)
    r = world.residents
    assert r.victimised_week[4] == 30  # a victim all the same
    assert world.programs.community_stats[MEDIATIONS] == int(mediated)
    if mediated:
        assert r.grievance_week[4] == NEVER
        # only the offender's peer (the victim) is exposed
        assert r.exposure.tolist() == [0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    else:
        assert r.grievance_week[4] == 30
        assert r.exposure.tolist() == [1.0, 0.0, 0.0, 0.0, 1.0, 1.0]


def test_interrupters_mediate_the_configured_share_of_shootings(tiny_world):
    n = 20_000  # pairs: even residents shoot their odd tie
    world = tiny_world(n, ties=[(i, i + 1) for i in range(0, n, 2)], violent_share=1.0,
                       victim_among_peers=1.0)
    world.set_weekly_hazard(FORCE)
    r = world.residents
    r.propensity[1::2] = 0.0
    r.risk_flags[0::2] = FIREARM_CARRYING
    _interrupters(world, 0.3)
    world.step(7)
    victims = np.flatnonzero(r.victimised_week == 7)
    mediated = int((r.grievance_week[victims] == NEVER).sum())
    assert len(victims) > 0.9 * n / 2
    assert world.programs.community_stats[MEDIATIONS] == mediated
    assert stats.binomtest(mediated, len(victims), 0.3).pvalue > 1e-3


def _group_world(tiny_world, n: int, effect: float, clearance: float, **params):
    world = tiny_world(n, violent_share=0.0, conviction_probability=0.0, **params)
    pt = world.programs
    log_effect = np.full_like(pt.group_log_effect, math.log(effect))
    world.programs = pt._replace(group_cover=np.ones(1, np.int8), group_log_effect=log_effect,
                                 group_clearance=clearance, acts_on_residents=1,
                                 community_covered=np.ones(1, np.int8))
    world.programs.group_member[: n // 2] = 1
    return world


def test_a_call_in_marks_gang_members_of_covered_communities_and_their_ties(tiny_world):
    # 0 gang member, tied to 1; 2 tied to nobody; 3 gang member tied to 4; 5 tied to 4 only.
    world = tiny_world(6, ties=[(0, 1), (3, 4), (4, 5)])
    r = world.residents
    r.risk_flags[[0, 3]] = GANG_MEMBERSHIP
    out = np.full(6, 7, np.int8)
    programs.mark_group_members(r, world.tables, np.ones(1, np.int8), out)
    assert out.tolist() == [1, 1, 0, 1, 1, 0]
    programs.mark_group_members(r, world.tables, np.zeros(1, np.int8), out)
    assert out.tolist() == [0] * 6  # the community is not targeted


def test_focused_deterrence_lowers_the_hazard_of_the_groups_members_only(tiny_world):
    n, hazard, effect = 40_000, 0.2, 0.5
    world = _group_world(tiny_world, n, effect, 1.0)
    world.set_weekly_hazard(hazard)
    world.step(3)
    offended = world.residents.last_offence_week == 3
    members = np.arange(n) < n // 2
    assert world.count(OTHER_OFFENCES) == offended.sum()
    assert world.programs.community_stats[GROUP_MEMBER_WEEKS] == n // 2
    for who, h in ((members, hazard * effect), (~members, hazard)):
        p = 1 - math.exp(-h)
        assert stats.binomtest(int(offended[who].sum()), int(who.sum()), p).pvalue > 1e-3


def test_focused_deterrence_raises_the_arrest_probability_of_the_groups_members(tiny_world):
    n = 20_000
    world = _group_world(tiny_world, n, 1.0, 2.0, clearance_other=0.2)
    world.set_weekly_hazard(FORCE)
    world.step(4)
    arrested = world.residents.last_arrest_week == 4
    members = np.arange(n) < n // 2
    assert stats.binomtest(int(arrested[members].sum()), n // 2, 0.4).pvalue > 1e-3
    assert stats.binomtest(int(arrested[~members].sum()), n // 2, 0.2).pvalue > 1e-3


def test_the_risk_principle_scales_the_log_effect_of_lower_risk_participants(tiny_world):
    """individual_program_terms: a participant marked lower-risk at the intake gets
    effect_low_risk x log(effect); the others the full log(effect)."""
    world = tiny_world(2)
    pt = world.programs
    bands = pt.ind_log_effect.shape[2]
    one = np.ones(1)
    world.programs = pt = pt._replace(
        ind_log_effect=np.full((1, 2, bands), math.log(0.5)), ind_rate=one,
        ind_horizon=np.zeros(1, np.int64), ind_violent_only=np.zeros(1, np.int8),
        ind_after_release=np.zeros(1, np.int8), ind_clearance=one,
        ind_low_risk_scale=np.full(1, 0.25), ind_low_risk=np.array([[0, 1]], np.int8),
        ind_intake_interval=np.full(1, 4, np.int64), ind_min_age=np.zeros(1, np.int64),
        ind_max_age=np.full(1, 100, np.int64),
        ind_status=np.full((1, 2), 1, np.int8),  # both enrolled (completers)
        ind_start_week=np.zeros((1, 2), np.int32), ind_end_week=np.full((1, 2), 50, np.int32),
        ind_stats=np.zeros((1, 2, 101, 6), np.int64))
    r = world.residents
    terms = [kernels.individual_program_terms(r, pt, pt.ind_stats, i, 10, 30, 0, 4)
             for i in (0, 1)]
    assert terms[0] == (pytest.approx(math.log(0.5)), 0.0)
    assert terms[1] == (pytest.approx(0.25 * math.log(0.5)), 0.0)
