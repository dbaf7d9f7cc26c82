"""The words people read, in their language: one table per language (sim/locales/), numbers as
each language writes them (sim/i18n.py), report.md and plan.md in Spanish on request."""

from __future__ import annotations

import pytest

from sim import i18n
from sim.config import ConfigError, load
from sim.plan import plan_markdown


def test_every_language_has_every_english_key_with_the_same_fields():
    en = i18n.table("en")
    for lang in i18n.LANGUAGES[1:]:
        other = i18n.table(lang)
        assert set(other) == set(en), f"{lang}: keys differ: {sorted(set(other) ^ set(en))[:5]}"
        for key, template in en.items():
            assert i18n.fields_of(other[key]) == i18n.fields_of(template), f"{lang}: {key}"
            assert other[key].strip(), f"{lang}: {key} is empty"


def test_no_spanish_text_is_left_in_english():
    """A translation that copies the English is a string nobody translated (short
    identifiers and pure placeholders aside)."""
    en, es = i18n.table("en"), i18n.table("es")
    same = [k for k in en if en[k] == es[k] and len(en[k]) > 12
            and not set(en[k]) <= set("{}#_ ") and k not in ("report.place_heading",)]
    assert same == []


@pytest.mark.parametrize("x, spec, en, es", [
    (12345.6, ",.1f", "12,345.6", "12.345,6"),
    (1234567, ",.0f", "1,234,567", "1.234.567"),
    (0.0387, ".3g", "0.0387", "0,0387"),
    (0.45, ".0%", "45%", "45\u00a0%"),
    (-2.5, ",.2f", "-2.50", "-2,50"),
])
def test_numbers_are_written_as_each_language_writes_them(x, spec, en, es):
    assert i18n.number(x, "en", spec) == en == format(x, spec)
    assert i18n.number(x, "es", spec) == es


def test_not_a_number_is_said_in_the_language():
    assert i18n.number(float("nan"), "en") == "n/a"
    assert i18n.number(None, "es") == "n/d"


def test_an_unknown_language_is_refused_by_name():
    with pytest.raises(ConfigError, match="report.lang: 'fr' is not a language of vpsim "
                                          r"\(allowed: en, es\)"):
        load(["report.lang=fr"])
    assert load(["report.lang=es"]).report.lang == "es"


def _result() -> dict:
    iv = {"mean": 1234.5, "low": 1000.25, "high": 1500.75}
    return {
        "budget_per_year": 2_000_000.0, "population": "small", "objective": "violence",
        "candidates": 10, "kinds": ["cbt_youth", "reentry_employment"], "seeds": [0, 1, 2],
        "years": 10, "money": "USD of 2024, discounted at 3% a year",
        "plan": {"programs": {"cbt_youth": {"size": 12, "unit_key": "places",
                                            "cost_per_year": 1_500_000.0}},
                 "cost_per_year": 1_500_000.0,
                 "violent_incidents_averted_per_100k_per_year": iv,
                 "homicides_averted_per_100k_per_year": {"mean": 1.5, "low": 0.5, "high": 2.5},
                 "net_present_value": {"mean": 2.5e7, "low": 1e7, "high": 4e7},
                 "chance_benefits_exceed_costs": [0.875, 0.5, 0.98]},
        "benchmarks": [{"programs": {"cbt_youth": {}}, "cost_per_year": 1e6,
                        "violent_incidents_averted_per_100k_per_year": iv,
                        "net_present_value": {"mean": 1.25e7}}],
        "frontier": [{"budget_per_year": 1e6, "cost_per_year": 9.5e5, "averted_mean": 1234.5,
                      "averted_low": 1000.0, "averted_high": 1500.0}],
    }


def test_plan_md_in_spanish():
    en, es = plan_markdown(_result(), "en"), plan_markdown(_result(), "es")
    assert en.startswith("# A plan for $2.00 million a year (small)")
    assert "- **CBT for youth**: 12 places per 10,000 residents, $1.50 million a year" in en
    assert es.startswith("# Un plan de 2,00 millones de USD al año (small)")
    assert ("- **Terapia cognitivo-conductual para jóvenes**: 12 plazas por 10.000 residentes, "
            "1,50 millones de USD al año") in es
    assert "1.234 (intervalo del 95 %: 1.000 a 1.501)" in es
    assert "| 1.234 [1.000; 1.500] |" in es  # an interval of decimal-comma numbers
    assert "88\u00a0%" in es
    for english in ("What to fund", "million", "per 100,000"):
        assert english not in es
