"""safe_yaml reads with libyaml where PyYAML has it and with the pure-Python LimitedLoader
otherwise: both must give the same values for every shipped file and refuse the same documents."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from simulator.config import safe_yaml

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted([*REPO.glob("workloads/**/*.yaml"), *REPO.glob("hwconfigs/*.yaml")])
HOSTILE = {
    "duplicate key": "a: 1\nb: 2\na: 3\n",
    "alias bomb": "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{k}: &{k} [{', '.join(['*' + p] * 10)}]\n" for p, k in zip("abcdef", "bcdefg")),
    "deep block nesting": "".join(f"{' ' * 2 * i}k{i}:\n" for i in range(80)) + " " * 160 + "v: 1\n",
    "deep flow nesting": "a: " + "[" * 70 + "]" * 70 + "\n",
}
# Documents PyYAML's scanner or reader refuses and libyaml would take or crash on.
REFUSED = {"trailing tab": "a: 1\t\n", "tab in a flow list": "a: [1,\t2]\n", "lone surrogate": "a: \udcff\n"}

pytestmark = pytest.mark.skipif(not getattr(yaml, "__with_libyaml__", False), reason="PyYAML without libyaml")


def _python(text: str) -> object:
    return yaml.load(text, Loader=safe_yaml.LimitedLoader)  # noqa: S506 - a SafeLoader


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_both_loaders_read_every_shipped_file_alike(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert safe_yaml.load(text) == _python(text)


@pytest.mark.parametrize("name", HOSTILE)
def test_both_loaders_refuse_the_same_documents(name: str) -> None:
    with pytest.raises(safe_yaml.YamlLimitError) as fast:
        safe_yaml.load(HOSTILE[name])
    with pytest.raises(safe_yaml.YamlLimitError) as slow:
        _python(HOSTILE[name])
    assert fast.value.message.split(";")[0][:20] == slow.value.message.split(";")[0][:20]


@pytest.mark.parametrize("name", REFUSED)
def test_what_pyyaml_refuses_is_refused_with_a_yaml_error(name: str) -> None:
    with pytest.raises(yaml.YAMLError):
        safe_yaml.load(REFUSED[name])
    with pytest.raises(yaml.YAMLError):
        _python(REFUSED[name])


def test_nesting_at_the_limit_reads() -> None:
    text = "a: " + "[" * (safe_yaml.MAX_DEPTH - 2) + "1" + "]" * (safe_yaml.MAX_DEPTH - 2) + "\n"
    assert safe_yaml.load(text) == _python(text)
