"""Generated overrides through `sim.config.load` and the command line's pre-check: either a valid
config, or a `ConfigError` whose message is one line that locates the problem (the key, the
override, or the file). Never another exception, never a multi-line message."""

import dataclasses
import typing

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim.config import ConfigError, VpsimConfig, load


def schema_keys(schema=VpsimConfig, prefix=""):
    hints = typing.get_type_hints(schema)
    for f in dataclasses.fields(schema):
        if dataclasses.is_dataclass(hints[f.name]):
            yield prefix + f.name
            yield from schema_keys(hints[f.name], f"{prefix}{f.name}.")
        else:
            yield prefix + f.name


KEYS = sorted(set(schema_keys())) + [
    "population", "scenario", "behaviour", "justice", "+experiment", "hydra/launcher",
    "scenario.programs.cbt_youth", "scenario.programs.cbt_youth.effect",
    "scenario.programs.cbt_youth.targeting.sexes", "scenario.programs.x.kind",
    "hydra.run.dir", "hydra.sweep.dir", "foo", "population.szie", "a.b.c",
]
PREFIXES = ["", "", "", "", "", "", "+", "++", "~"]

plausible = st.one_of(
    st.integers(min_value=-5, max_value=200_000).map(str),
    st.floats(min_value=-6.0, max_value=120.0, allow_nan=False).map(repr),
    st.sampled_from(["0", "1", "0.5", "2", "10", "0.3", "1000", "20000"]),
)
odd = st.one_of(
    st.integers(min_value=-2**70, max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["null", "true", "false", "nan", "-inf", "1e400", "0x1F", "1_000",
                     "9" * 5000, "small", "city", "nyc", "baseline", "cbt_youth", "nope",
                     "glob(*)", "range(0,3)", "choice(a,b)", "1,2", "[1,2]", "[]", "{}",
                     "{a: 1}", "[female]", "[male,other]", "${seed}", "${oc.env:HOME}",
                     "${foo}", "${now:%H}", "../../x", "a/b", "", "''", "'a b'", "é", "'é'",
                     "\"x\"", "\\", "'", "[", "}", "${", "%00", "a" * 300]),
)


@st.composite
def overrides(draw):
    """1-3 overrides: mostly keys of the schema with plausible values (so that many compose),
    some odd values, and a few keys and values of arbitrary text."""
    n = draw(st.integers(min_value=1, max_value=3))
    out = []
    for _ in range(n):
        key = draw(st.text(max_size=8) if draw(st.integers(0, 11)) == 0
                   else st.sampled_from(KEYS))
        kind = draw(st.integers(0, 11))
        value = draw(st.text(max_size=12) if kind == 0 else odd if kind <= 3 else plausible)
        prefix = draw(st.sampled_from(PREFIXES))
        out.append(f"~{key}" if prefix == "~" and draw(st.booleans())
                   else f"{prefix}{key}={value}")
    return out


def locates(message: str, args: list[str]) -> bool:
    """The message names a key, an override or a file of the input."""
    if ".yaml" in message:
        return True
    for text in args:
        key = text.split("=", 1)[0].lstrip("+~").split("@")[0].strip()
        if key and key in message:
            return True
        if repr(text)[:30] in message or repr(text)[:20] in message:
            return True
    # a cross-field rule names the key it checks, a key of the schema
    return any(k in message for k in KEYS if "." in k or len(k) > 4)


def note(label: str) -> None:
    """Count outcomes in Hypothesis's statistics (--hypothesis-show-statistics)."""
    from hypothesis.errors import InvalidArgument

    try:
        event(label)
    except InvalidArgument:  # outside a Hypothesis test
        pass


def check(call, args) -> None:
    try:
        result = call()
    except ConfigError as error:
        message = str(error)
        note("refused: cannot read" if "cannot read the override" in message else
              "refused: out of range" if "out of range" in message else "refused: other")
        assert message and "\n" not in message, message
        assert locates(message, args), (args, message)
        return
    note("accepted")
    assert result is None or isinstance(result, VpsimConfig)


@pytest.mark.slow  # 250 compositions, ~70 s: with the slow tests (CI); the cases below stay
@settings(max_examples=250, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(overrides())
def test_generated_overrides_give_a_config_or_one_line_naming_the_key(args):
    from sim import machine

    def load_and_check_the_machine():
        cfg = load(args)
        machine.check(cfg)
        return cfg

    check(load_and_check_the_machine, args)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(overrides())
def test_generated_sweeps_pass_or_fail_the_cli_pre_check_on_one_line(args):
    from sim.cli import precheck

    check(lambda: precheck(["-m", *args]), args)


@pytest.mark.parametrize("args", [
    ["+foo=1"], ["~seed"], ["seed=1,2"], ["population.name=é"], ["seed=" + "9" * 100_000],
    ["population=[1,2]"], ["scenario=glob(*)"], ["+population.szie=1000"],
])
def test_known_bad_inputs_are_refused_through_the_same_check(args):
    with pytest.raises(ConfigError):
        load(args)
    check(lambda: load(args), args)
