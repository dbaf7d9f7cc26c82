"""The words planners and students read, in their language: one translation table per language.

`sim/locales/<lang>.yaml` maps a key to a text (with `{fields}` to fill); English (`en`) is
the default and the reference: every other table has exactly its keys and fields (a test
checks). `text(key, lang, **fields)` is a text; `number(x, lang, spec)` formats a number as
the language writes it: `spec` is a Python format specification (",.0f", ".3g", ",.2f",
".0%"); English is Python's own formatting, other languages follow the Unicode CLDR rules for
their locale (Babel): in Spanish, 12.345,6 and 45 %.

    from sim.i18n import text, number
    text("report.title", "es", sweep="multirun/sweep"); number(12345.6, "es", ",.1f")
"""

from __future__ import annotations

import functools
import math
import re
from importlib import resources

import yaml

LANGUAGES = ("en", "es")
"""The languages of the page, report.md and plan.md; the first is the default."""

LOCALES = {"en": "en_US", "es": "es"}
"""The CLDR locale of each language's numbers (Spanish: the neutral `es`)."""

NOT_A_NUMBER = "n/a"


def check_language(lang: str, key: str = "lang") -> str:
    if lang not in LANGUAGES:
        from .config_files import ConfigError

        raise ConfigError(f"{key}: {lang!r} is not a language of vpsim (allowed: "
                          f"{', '.join(LANGUAGES)})")
    return lang


@functools.cache
def table(lang: str) -> dict[str, str]:
    """A language's translation table, flattened to dotted keys."""
    check_language(lang)
    raw = yaml.safe_load(resources.files("sim").joinpath("locales", f"{lang}.yaml").read_text(
        encoding="utf-8"))
    out: dict[str, str] = {}

    def walk(prefix: str, node) -> None:
        for key, value in node.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(f"{name}.", value)
            else:
                out[name] = str(value)

    walk("", raw)
    return out


def text(key: str, lang: str = "en", **fields) -> str:
    """The text of `key` in `lang`, its `{fields}` filled."""
    template = table(lang)[key]
    return template.format(**fields) if fields else template


def fields_of(template: str) -> set[str]:
    return set(re.findall(r"{(\w+)[^}]*}", template))


def signed(x: float, lang: str = "en", spec: str = ",.0f") -> str:
    """`x` with its sign always written: +12, -3."""
    return ("+" if x >= 0 else "") + number(x, lang, spec)


def bracket(low: str, high: str, lang: str = "en") -> str:
    """An interval of two formatted numbers: [1.5, 2.5]; where the decimal mark is a comma,
    [1,5; 2,5]."""
    return text("common.interval", lang, low=low, high=high)


_FIXED = re.compile(r"^(,?)\.(\d+)f$")
_SIGNIFICANT = re.compile(r"^\.(\d+)g$")
_PERCENT = re.compile(r"^(,?)\.(\d+)%$")


def number(x, lang: str = "en", spec: str = ",.0f") -> str:
    """`x` formatted with `spec` as `lang` writes numbers; n/a for None or nan."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return text("common.not_available", lang)
    if lang == "en":
        return format(x, spec)
    from babel import numbers

    locale = LOCALES[check_language(lang)]
    if m := _FIXED.match(spec):
        digits = int(m.group(2))
        pattern = ("#,##0" if m.group(1) else "0") + ("." + "0" * digits if digits else "")
        return numbers.format_decimal(x, format=pattern, locale=locale)
    if m := _SIGNIFICANT.match(spec):
        n = int(m.group(1))
        if x == 0:
            return "0"
        return numbers.format_decimal(x, format="@" + "#" * (n - 1), locale=locale)
    if m := _PERCENT.match(spec):  # the locale's own pattern (Spanish: 45 %)
        from babel import Locale

        digits = int(m.group(2))
        pattern = Locale.parse(locale).percent_formats[None].pattern
        if digits:
            pattern = pattern.replace("0", "0." + "0" * digits, 1)
        return numbers.format_percent(x, format=pattern, locale=locale)
    raise ValueError(f"number: format {spec!r} is not one of ',.Nf', '.Nf', '.Ng', '.N%'")
