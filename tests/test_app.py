"""The educators' page without a browser, the way Mesa tests its own pages: `solara.render`, find
the widgets, click, read the model.

The kernels compile once per session (numba cache); each page here builds a small town and runs
its burn-in (a second or two).
"""

import re
import subprocess

import ipyvuetify as v
import numpy as np
import pandas as pd
import pytest
import solara
from helpers import PYTHON
from matplotlib.colors import to_rgb

from sim import catalogue as kinds
from sim import report
from sim.app import classroom
from sim.app import page as app
from sim.catalogue import KINDS as PROGRAM_KINDS
from sim.codes import INCARCERATED, TALLY_INCARCERATED
from sim.config import CONFIG_DIR

SHORT = ("burn_in_years=2", "years=3")  # for runs that need not be the real thing


@pytest.fixture(autouse=True)
def fresh_controls():
    app.CONTROLS.reset()
    yield
    app.CONTROLS.reset()


@pytest.fixture
def viz():
    """Mesa's page over a model the test holds (a reactive: Reset replaces its value)."""
    model = solara.reactive(app.ClassroomModel(**app.CONTROLS.settings()))

    @solara.component
    def Test():
        with solara.AppLayout():  # the sidebar (controls) renders inside a layout
            app.SolaraViz(model, components=app.components(),
                             model_params=app.CONTROLS.model_params(), render_interval=5)
            with solara.Sidebar():
                app.Budget()

    _, rc = solara.render(Test(), handle_error=False)
    yield model, rc
    rc.close()  # else Mesa's global redraw counter keeps redrawing this page in later tests


def button(rc, label: str):
    return rc.find(v.Btn, children=[label]).widget


def widgets(rc):
    """Every widget on the page (finders stop at the outermost match)."""
    seen, todo = [], [rc.find().widget]
    while todo:
        w = todo.pop()
        seen.append(w)
        for name in ("children", "items"):
            todo.extend(c for c in getattr(w, name, None) or [] if hasattr(c, "keys"))
    return seen


def texts(rc) -> str:
    """The page's text: plain children and rendered HTML."""
    out = []
    for w in widgets(rc):
        out.extend(c for c in getattr(w, "children", None) or [] if isinstance(c, str))
        out.append(getattr(w, "unsafe_innerHTML", None) or "")
    return "\n".join(out)


def checkbox(rc, kind: str):
    label = next(lv.label for lv in app.levers() if lv.kind == kind)
    return rc.find(v.Checkbox, label=label).widget


def size_sliders(rc) -> dict:
    """The size sliders, in the catalogue's order, by program kind."""
    labels = {app.text(f"unit_short.{lv.unit_key}") for lv in app.levers() if lv.unit}
    sliders = [w for w in rc.find(v.Slider).widgets if w.label in labels]
    sized = [lv.kind for lv in app.levers() if lv.unit]
    assert len(sliders) == len(sized)
    return dict(zip(sized, sliders))


def test_controls_are_built_from_the_program_catalogue(viz):
    _, rc = viz
    reference = classroom.profile(classroom.REFERENCE_PROFILE)
    assert [lv.kind for lv in app.levers()] == list(PROGRAM_KINDS)
    for lever in app.levers():
        assert checkbox(rc, lever.kind).v_model is False
    sliders = size_sliders(rc)
    for kind, slider in sliders.items():
        lever = next(lv for lv in app.levers() if lv.kind == kind)
        program = classroom.catalogue()[kind]  # as scenarios/<kind>.yaml sizes it for the city
        assert slider.v_model == lever.default_size and slider.max == lever.max_size
        if lever.unit == "places per 10,000 residents":
            assert abs(slider.v_model * reference.size / kinds.PER_10K - program.capacity) \
                <= reference.size / kinds.PER_10K / 2
        else:  # sized by communities (outreach sites too)
            assert lever.unit == "% of communities, most violent first"
            assert abs(slider.v_model / 100 * reference.communities
                       - program.targeting.most_violent_communities) <= 0.5
    # Every kind acting on people or places has a size; coordination acts through the others.
    assert set(sliders) == {k for k, kind in PROGRAM_KINDS.items() if kind.level != "system"}


def test_step_advances_the_model_by_the_render_interval(viz):
    model, rc = viz
    built = model.value
    start_week = built.week
    button(rc, "Step").click()
    assert model.value is built
    assert built.weeks_since_start == 5 and built.week == start_week + 5
    assert built.baseline.week == built.week  # the baseline keeps pace
    assert "Time: 5" in texts(rc)
    assert re.search(r"Week 5</strong> of \d+ since the policy started", texts(rc))
    frame = built.datacollector.get_model_vars_dataframe()
    assert len(frame) == 6  # the start of the policy, then five weeks


def test_a_slider_change_reaches_the_next_runs_config_and_the_budget(viz):
    model, rc = viz
    before = texts(rc)
    assert "Planned budget a year: $0" in before
    checkbox(rc, "reentry_employment").v_model = True
    size_sliders(rc)["reentry_employment"].v_model = 35
    # The budget follows the controls before any run is built.
    expected_rows, expected_total = app.budget(app.CONTROLS.settings())
    assert [kind for kind, _ in expected_rows] == ["reentry_employment"]
    assert f"Planned budget a year: {app._money(expected_total)}" in texts(rc)
    assert expected_total > 0

    old = model.value
    assert "reentry_employment" not in old.config.scenario.programs
    button(rc, "Reset").click()
    new = model.value
    assert new is not old
    programs = new.config.scenario.programs
    assert set(programs) == {"reentry_employment"}
    assert programs["reentry_employment"].capacity == round(
        35 * new.config.population.size / kinds.PER_10K)
    assert new.baseline.config.scenario.programs == {}
    assert new.weeks_since_start == 0


def test_the_page_shows_that_it_is_preparing_then_the_controls():
    @solara.component
    def Test():
        with solara.AppLayout():
            app.Page()

    _, rc = solara.render(Test(), handle_error=False)
    try:
        rc.find(v.Btn, children=["Step"]).wait_for(timeout=180)  # the first build may compile
        assert "Preparing the model" not in texts(rc)
        assert rc.find(v.Checkbox, label="Reentry employment").widget.v_model is False
    finally:
        rc.close()


def test_preparing_message_while_the_first_model_builds(monkeypatch):
    import threading

    release = threading.Event()
    real = app.ClassroomModel

    def slow(**kwargs):
        release.wait(60)
        return real(**kwargs)

    monkeypatch.setattr(app, "ClassroomModel", slow)

    @solara.component
    def Test():
        app.Page()

    _, rc = solara.render(Test(), handle_error=False)
    try:
        assert "Preparing the model" in texts(rc)
        assert not rc.find(v.Btn, children=["Step"]).widgets
    finally:
        release.set()
        rc.close()


def run_series(seed: int, weeks: int = 30, **programs) -> pd.DataFrame:
    model = app.ClassroomModel(rng=seed, overrides=SHORT, **programs)
    for _ in range(weeks):
        model.step()
    return model.datacollector.get_model_vars_dataframe()


def test_same_seed_gives_identical_series_and_another_seed_does_not():
    a = run_series(3, hotspot_policing=True)
    b = run_series(3, hotspot_policing=True)
    pd.testing.assert_frame_equal(a, b)
    c = run_series(4, hotspot_policing=True)
    assert not a.equals(c)


def test_policy_and_baseline_share_the_burn_in_then_part():
    model = app.ClassroomModel(rng=1, overrides=SHORT, hotspot_policing=True,
                               hotspot_policing_size=100, cbt_youth=True)
    burn_in = model.burn_in_weeks
    assert np.array_equal(model.history[:burn_in], model.baseline.history[:burn_in])
    assert model.time == 0  # Mesa's clock starts with the policy
    for _ in range(52):
        model.step()
    assert model.time == 52
    assert not np.array_equal(model.history[burn_in:model.week],
                              model.baseline.history[burn_in:model.week])


def test_the_run_status_shows_the_net_present_value_of_policy_against_baseline():
    model = app.ClassroomModel(rng=1, overrides=SHORT, hotspot_policing=True,
                               hotspot_policing_size=100)
    for _ in range(26):
        model.step()
    policy, base = (app.summary(m) for m in (model, model.baseline))
    npv = app.against(policy, base)["net_present_value"]
    assert policy["pv_programs"] > 0 == base["pv_programs"]  # hot-spot officers: the spending
    html = app.RunStatus(model).kwargs["unsafe_innerHTML"]
    assert f"Net present value so far: ${npv:,.0f}" in html
    assert "USD of 2024" in html


@pytest.mark.slow  # a small search with its frontier: ~30 s
def test_the_compare_page_plans_a_budget_with_its_frontier():
    text, frontier = app.plan_for_page(1_000_000, "small", 0, overrides=SHORT)
    assert frontier[:8] == b"\x89PNG\r\n\x1a\n"
    assert text.startswith("Chosen for the least violence")
    assert "## What to fund" in text and "$1.00 million" in text and "$2.00 million" in text
    assert "frontier.png" not in text


def test_sizes_and_budget_follow_the_lever_units():
    small, city = classroom.profile("small"), classroom.profile(classroom.REFERENCE_PROFILE)
    for lever in app.levers():
        program = classroom.sized_program(lever.kind, max(1, lever.default_size), small)
        if lever.unit == "places per 10,000 residents":
            assert program.capacity == round(lever.default_size * small.size / kinds.PER_10K)
            cost = classroom.planned_cost_per_year(program, small)
            assert cost == pytest.approx(52 * (program.capacity * program.cost_per_participant_week
                                               + program.cost_per_week))
        elif lever.unit == "% of communities, most violent first":
            sites = program.targeting.most_violent_communities
            assert sites == max(1, round(lever.default_size / 100 * small.communities))
            if PROGRAM_KINDS[lever.kind].caseloads:  # workers and caseload places per site
                cost = classroom.planned_cost_per_year(program, small)
                workers = program.outreach_workers_per_site + program.interrupters_per_site
                places = program.outreach_workers_per_site * program.caseload
                assert cost == pytest.approx(52 * sites * (
                    workers * program.cost_per_worker_week + places
                    * program.cost_per_participant_week + program.cost_per_community_week)
                    + 52 * program.cost_per_week)
            if program.officers_per_site:  # police: officers at the justice system's cost
                cost = classroom.planned_cost_per_year(program, small)
                officer_year = classroom.justice().cost_per_officer_year
                assert cost == pytest.approx(sites * program.officers_per_site * officer_year
                                             + 52 * sites * program.cost_per_community_week)
    # The default sizes reproduce the scenario files on the city they were written for.
    for kind, program in classroom.catalogue().items():
        lever = next(lv for lv in app.levers() if lv.kind == kind)
        if lever.unit is None:
            continue
        resized = kinds.resized_for(program, city, classroom.profile("city"))
        assert resized.capacity == program.capacity
        assert (resized.targeting.most_violent_communities
                == program.targeting.most_violent_communities)
    with pytest.raises(ValueError, match="cbt_youth_size = 0 is out of range"):
        classroom.sized_program("cbt_youth", 0, small)


def test_unknown_control_is_refused_by_name():
    with pytest.raises(TypeError, match="unknown program control.*school_educaton"):
        app.ClassroomModel(overrides=SHORT, school_educaton=True)


def test_map_counts_and_colours_follow_the_model():
    model = app.ClassroomModel(rng=2, overrides=SHORT)
    for _ in range(20):
        model.step()
    in_prison, released = app.justice_counts(model)
    assert in_prison.sum() == model.tallies[TALLY_INCARCERATED]
    r = model.residents
    assert released.sum() == int(((r.justice_state != INCARCERATED)
                                  & (r.release_week >= model.week - 52)).sum())
    # More recent violence, a darker colour (the map's YlOrRd scale).
    order = np.argsort(model.violence_rate)
    communities = sorted(model.agents, key=lambda c: c.index)
    lightness = [sum(to_rgb(app.community_portrayal(communities[i]).color)) for i in order]
    assert all(a >= b for a, b in zip(lightness, lightness[1:]))
    assert lightness[0] > lightness[-1] or model.violence_rate.max() == model.violence_rate.min()


def test_outcomes_by_sex_and_age_are_redrawn_each_quarter():
    model = app.ClassroomModel(rng=2, overrides=SHORT, cbt_youth=True)
    model.step()
    first = app.by_sex_and_age_png(model)
    assert first.startswith(b"\x89PNG")
    for _ in range(classroom.WINDOW_WEEKS - 1):
        model.step()
    assert app.by_sex_and_age_png(model) is first  # still the first quarter
    model.step()
    assert app.by_sex_and_age_png(model) is not first


def test_compare_runs_paired_seeds_and_reports_differences():
    runs = report.run_comparison(["baseline", "reentry_employment"], 2, seed=5, overrides=SHORT)
    assert sorted(zip(runs.scenario, runs.seed)) == [
        ("baseline", 5), ("baseline", 6), ("reentry_employment", 5), ("reentry_employment", 6)]
    small = classroom.profile("small")
    file_capacity = classroom.catalogue()["reentry_employment"].capacity
    city = classroom.profile(classroom.REFERENCE_PROFILE)
    planned = runs[runs.scenario == "reentry_employment"]
    assert (planned["programs.reentry_employment.participants"] > 0).all()
    config = report.comparison_config("reentry_employment", "small", 5, SHORT)
    assert config.scenario.programs["reentry_employment"].capacity == round(
        file_capacity * small.size / city.size)
    text = app.compare_report(runs)
    assert "| reentry_employment | 2 |" in text and "vs baseline" in text
    assert not text.startswith("# ")
    # forest plot, cost plane, net present values, by sex and age
    assert len(app.compare_figures(runs)) == 4
    assert "## Benefit-cost against baseline" in text


def test_compare_panel_offers_every_scenario_file(viz):
    _, rc = viz
    rc.find(v.Tabs).widget.v_model = 1  # the compare page
    names = [p.stem for p in (CONFIG_DIR / "scenario").glob("*.yaml")]
    select = rc.find(v.Select, label="Scenarios").widget
    assert sorted(select.items) == sorted(names)
    assert "Run comparison" in [b.children[0] for b in rc.find(v.Btn).widgets if b.children]


def test_a_week_renders_in_well_under_a_second(viz):
    import time

    model, rc = viz
    step = button(rc, "Step")
    step.click()  # warm: first figures
    started = time.perf_counter()
    for _ in range(3):
        step.click()
    per_week = (time.perf_counter() - started) / (3 * 5)
    assert model.value.weeks_since_start == 20
    # About 0.2 s here on a quiet machine (a redraw every 5 weeks); the bar is 1 s.
    assert per_week < 1.0, f"{per_week * 1e3:.0f} ms per week rendered"


def run_cli(*args, timeout=60):
    return subprocess.run([PYTHON, "-m", "sim.app.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_cli_help_documents_the_options():
    done = run_cli("--help")
    assert done.returncode == 0
    for option in ("--port", "--host", "127.0.0.1", "8765"):
        assert option in done.stdout


@pytest.mark.parametrize("args, message", [
    (("--port", "70000"), "70000 is out of range: allowed [1, 65535]"),
    (("--port", "eighty"), "'eighty' is not a whole number"),
    (("--host", "no-such-host.invalid"), "is not an address of this machine"),
])
def test_cli_bad_input_is_one_line(args, message):
    done = run_cli(*args)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("vpsim-app: ")


def test_cli_port_in_use_is_one_line():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli("--port", str(port))
    assert done.returncode != 0
    assert done.stderr.strip() == (f"vpsim-app: port {port} on 127.0.0.1 is in use: pick "
                                   "another with --port N")
