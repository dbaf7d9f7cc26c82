"""Outcomes: Kaplan-Meier recidivism against hand-worked examples, and release follow-up."""

from types import SimpleNamespace

import numpy as np
import pytest

from sim import codes, kernels
from sim.outcomes import cumulative_incidence, kaplan_meier, release_spells

# Hand-worked example with censoring (weeks since release; event 1 = re-arrested, 0 = censored).
#
#   durations  2  3  3  5  6  8  9
#   events     1  1  0  1  0  1  0
#
# A spell censored at t is still at risk at t (events at t happen first).
#   t=2: at risk 7 (all), 1 event          S = 6/7
#   t=3: at risk 6 (3,3,5,6,8,9), 1 event  S = 6/7 * 5/6 = 5/7
#   t=5: at risk 4 (5,6,8,9), 1 event      S = 5/7 * 3/4 = 15/28
#   t=8: at risk 2 (8,9), 1 event          S = 15/28 * 1/2 = 15/56
# Cumulative incidence 1 - S(t): 0 before week 2; 2/7 over [3, 5); 41/56 from week 8; and no
# estimate beyond week 9, the longest follow-up.
DURATIONS = [2, 3, 3, 5, 6, 8, 9]
EVENTS = [1, 1, 0, 1, 0, 1, 0]


def test_kaplan_meier_matches_the_hand_worked_example_with_censoring():
    times, survival = kaplan_meier(np.array(DURATIONS), np.array(EVENTS))
    assert times.tolist() == [2, 3, 5, 8]
    assert survival == pytest.approx([6 / 7, 5 / 7, 15 / 28, 15 / 56], rel=1e-12)


def test_kaplan_meier_with_tied_events():
    # durations 1 1 1 2 4 4, events 1 1 0 1 1 0:
    #   t=1: at risk 6, 2 events  S = 4/6 = 2/3
    #   t=2: at risk 3, 1 event   S = 2/3 * 2/3 = 4/9
    #   t=4: at risk 2, 1 event   S = 4/9 * 1/2 = 2/9
    times, survival = kaplan_meier(np.array([1, 1, 1, 2, 4, 4]), np.array([1, 1, 0, 1, 1, 0]))
    assert times.tolist() == [1, 2, 4]
    assert survival == pytest.approx([2 / 3, 4 / 9, 2 / 9], rel=1e-12)


@pytest.mark.parametrize("t, expected", [
    (1, 0.0), (2, 1 / 7), (3, 2 / 7), (4.5, 2 / 7), (5, 13 / 28), (8, 41 / 56), (9, 41 / 56)])
def test_cumulative_incidence_reads_the_step_function(t, expected):
    assert cumulative_incidence(DURATIONS, EVENTS, t) == pytest.approx(expected, rel=1e-12)


def test_cumulative_incidence_is_none_when_follow_up_is_too_short():
    assert cumulative_incidence(DURATIONS, EVENTS, 9.5) is None
    assert cumulative_incidence(DURATIONS, EVENTS, 52) is None
    assert cumulative_incidence([], [], 1) is None


def test_cumulative_incidence_without_any_event_is_zero():
    assert cumulative_incidence([4, 10, 60], [0, 0, 0], 52) == 0.0


def test_kaplan_meier_rejects_bad_input():
    with pytest.raises(ValueError):
        kaplan_meier(np.array([1, 2]), np.array([1]))
    with pytest.raises(ValueError):
        kaplan_meier(np.array([-1, 2]), np.array([1, 0]))


def _finished_run(rows, burn_in_weeks: int, week: int, alive=None):
    """The parts of a finished model that `release_spells` reads, with hand-made spells.

    rows: (release_week, age, rearrest_week, reincarceration_week, end_week), -1 = none, each a
    different person; or (resident, birth_week, release_week, age, rearrest, reincarceration,
    end) to give several spells to one person. `alive`: the (resident, birth_week) of the slots
    at the end (default: everyone of the rows still there).
    """
    spells = kernels.empty_spells(len(rows) + 2)
    people = {}
    for s, row in enumerate(rows):
        resident, birth, release, age, rearrest, reincarceration, end = (
            row if len(row) == 7 else (s, -1000, *row))
        spells.resident[s] = resident
        spells.birth_week[s] = birth
        spells.release_week[s] = release
        spells.age_at_release[s] = age
        spells.rearrest_week[s] = rearrest
        spells.reincarceration_week[s] = reincarceration
        spells.end_week[s] = end
        people[resident] = birth
    tallies = np.zeros(codes.N_TALLIES, np.int64)
    tallies[codes.TALLY_SPELLS] = len(rows)
    slots = np.full(max(people) + 1, -7, np.int32)
    for resident, birth in (alive if alive is not None else people.items()):
        slots[resident] = birth
    return SimpleNamespace(spells=spells, tallies=tallies, burn_in_weeks=burn_in_weeks,
                           week=week, residents=SimpleNamespace(birth_week=slots))


def test_release_spells_keep_releases_after_burn_in_with_their_events():
    run = _finished_run([
        (5, 30, 8, -1, -1),     # released during burn-in: not followed
        (12, 22, 20, 30, 30),   # re-arrested after 8 weeks, back in prison after 18
        (15, 41, -1, -1, 25),   # left the population in week 25: censored
        (20, 33, -1, -1, -1),   # still out, never re-arrested: censored at the end
    ], burn_in_weeks=10, week=100)
    df = release_spells(run)
    assert df.release_week.tolist() == [12, 15, 20]
    assert df.age_at_release.tolist() == [22, 41, 33]
    assert df.rearrest_event.tolist() == [True, False, False]
    assert df.reincarceration_event.tolist() == [True, False, False]
    assert df.rearrest_weeks.tolist() == [8, 25 - 1 - 15, 99 - 20]
    assert df.reincarceration_weeks[0] == 18


def test_re_arrest_is_followed_across_a_return_to_prison_without_an_arrest():
    """BJS counts an arrest within N years of the cohort's release whatever happened between: a
    parolee sent back without an arrest (week 26) and released again (week 52) who is arrested
    in week 70 was re-arrested 50 weeks after the first release; the second release, in the same
    year of the run, is not a cohort member of its own."""
    run = _finished_run([
        (3, -1000, 20, 30, -1, 26, 26),   # revoked in week 26
        (3, -1000, 52, 31, 70, -1, -1),   # released again, arrested in week 70
        (4, -2000, 20, 40, -1, 30, 30),   # revoked; left the population while back in prison
        (4, 100, 40, 12, -1, -1, -1),     # the slot's next resident: another person
    ], burn_in_weeks=10, week=200, alive=[(3, -1000), (4, 100)])
    df = release_spells(run).set_index("release_week")
    assert df.loc[20].rearrest_event.tolist() == [True, False]
    assert df.loc[20].rearrest_weeks.tolist() == [50, 30 - 20]  # the second: censored
    assert df.loc[20].reincarceration_weeks.tolist() == [6, 10]
    assert 52 not in df.index  # the first release of person 3 in that year stands for both
    assert df.loc[40].rearrest_weeks == 199 - 40  # another person: not person 4's chain


def test_open_spell_is_censored_at_the_last_simulated_week():
    """BUG (off by one): `release_spells` censors an open spell at `model.week`, the next week
    to simulate, not the last one simulated. A release in week 52 of a run that ended after
    week 103 has 51 weeks of follow-up, yet counts as at risk at 52 weeks, so
    `rearrest_within_1_year` gets an estimate (here 0.0) that no release was followed up for.
    """
    run = _finished_run([(52, 30, -1, -1, -1)], burn_in_weeks=52, week=104)  # weeks 0..103 run
    df = release_spells(run)
    assert df.rearrest_weeks[0] == 103 - 52
    assert cumulative_incidence(df.rearrest_weeks, df.rearrest_event, 52) is None


def test_share_in_top_tenth_takes_the_most_violent_communities_holding_a_tenth_of_residents():
    from sim.outcomes import share_in_top_tenth

    # Ten equal communities: the most violent one holds a tenth of residents.
    incidents = np.array([50, 10, 10, 10, 5, 5, 5, 3, 1, 1])
    assert share_in_top_tenth(incidents, np.full(10, 100)) == pytest.approx(50 / 100)
    # Unequal sizes: the most violent per resident (30 in 50 residents) is half the tenth of
    # 1,000 residents; the next (40 in 200) gives the other 50 residents, a quarter of its 40.
    incidents = np.array([40, 30, 30])
    sizes = np.array([200, 50, 750])
    assert share_in_top_tenth(incidents, sizes) == pytest.approx((30 + 40 * 50 / 200) / 100)
    assert share_in_top_tenth(np.zeros(3), sizes) is None


def test_relative_slope_is_the_yearly_trend_over_the_mean():
    from sim.outcomes import relative_slope

    assert relative_slope([100, 101, 102, 103, 104]) == pytest.approx(1 / 102)
    assert relative_slope([5.0, 5.0, 5.0]) == pytest.approx(0.0, abs=1e-12)
    assert relative_slope([1.0, 2.0]) is None
