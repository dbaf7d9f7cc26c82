"""Scenario (and other config) YAML files are read safely before Hydra composes them: one line
that names the file for a file too big, an alias bomb, a syntax error, a duplicate key, a
`!!python/...` tag, or a scenario without a name; never a hang or a traceback."""

import os
import subprocess
import uuid

import pytest
from helpers import VPSIM

from sim.config import CONFIG_DIR, ConfigError, load

SCENARIO_DIR = CONFIG_DIR / "scenario"


def alias_bomb() -> str:
    """A few hundred bytes that expand to 9**9 (387 million) strings."""
    lines = ["name: bomb", "programs: {}", 'a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},"
                     f"*{prev},*{prev}]")
    return "\n".join(lines) + "\n"


def many_programs(n: int = 100_000) -> str:
    return "name: huge\nprograms:\n" + "".join(
        f"  p{i}:\n    kind: cbt_youth\n    capacity: 10\n" for i in range(n))


BAD_FILES = {
    "alias_bomb": (alias_bomb(), "aliases"),
    "ten_megabytes": (many_programs(), "at most 1,000,000"),
    "syntax_error": ("name: x\nprograms: {a: [}\n", "line 2"),
    "duplicate_key": ("name: x\nname: y\nprograms: {}\n", "duplicate key 'name'"),
    "python_tag": ("name: !!python/object/apply:os.system ['echo pwned']\nprograms: {}\n",
                   "python/object/apply"),
    "empty": ("", "needs a `name:`"),
    "no_name": ("programs: {}\n", "needs a `name:`"),
    "tab": ("name: x\n\tprograms: {}\n", "line 2"),
    "not_utf8": (b"name: \xff\xfe\n", "not UTF-8"),
}


@pytest.fixture
def scenario_file():
    """Write scenarios/<unique>.yaml with the given text; removed after the test."""
    made = []

    def write(content) -> str:
        name = f"zz_test_{uuid.uuid4().hex[:8]}"
        path = SCENARIO_DIR / f"{name}.yaml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        made.append(path)
        return name

    yield write
    for path in made:
        path.unlink(missing_ok=True)


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_bad_scenario_file_is_one_line_naming_the_file(scenario_file, kind):
    content, fragment = BAD_FILES[kind]
    name = scenario_file(content)
    with pytest.raises(ConfigError) as caught:
        load([f"scenario={name}"])
    message = str(caught.value)
    assert "\n" not in message
    assert f"{name}.yaml" in message and fragment in message, message


@pytest.mark.parametrize("kind", ["alias_bomb", "ten_megabytes", "python_tag"])
def test_the_cli_refuses_a_bad_scenario_file_before_composing(scenario_file, tmp_path, kind):
    name = scenario_file(BAD_FILES[kind][0])
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    for args in ([f"scenario={name}"], ["-m", f"scenario=baseline,{name}"]):
        # The timeout only stops a hang (before issue 10 these ran for minutes).
        done = subprocess.run([VPSIM, *args, "population=small"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr[-2000:]
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and f"{name}.yaml" in lines[0], done.stderr[-2000:]
        assert list(tmp_path.iterdir()) == []


def test_a_good_scenario_file_with_aliases_is_read(scenario_file):
    name = scenario_file("name: aliased\ndescription: &d shared text\nprograms:\n"
                         "  cbt_youth:\n    kind: cbt_youth\n    capacity: 10\n"
                         "    description: *d\n")
    cfg = load([f"scenario={name}"])
    assert cfg.scenario.name == "aliased"
    assert cfg.scenario.programs["cbt_youth"].description == "shared text"
