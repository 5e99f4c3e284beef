"""Reading YAML that may be hostile: yaml.SafeLoader with limits (issue #16).

A configuration file holds a few hundred values. The limits below are far above that and far below
what hurts: an alias bomb ("billion laughs") expands a few lines into billions of values that later
stages would walk, deep nesting overflows the composer's recursion, and a key given twice silently
keeps its last value. Each is refused with a `YamlLimitError` saying where.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# A hand-written file nests a few levels; 64 leaves room for any real model.kwargs.
MAX_DEPTH = 64
# Values (scalars, lists and mappings) a document may hold once its aliases are expanded.
MAX_VALUES = 100_000
# Bytes a configuration file may have (the shipped ones have a few kB).
MAX_BYTES = 1 << 20

_MERGE_TAG = "tag:yaml.org,2002:merge"

# Characters a plain number may have: far more than any real value needs, far below Python's
# limit on converting digits to int (4300), which would otherwise fail with a traceback.
MAX_NUMBER_CHARS = 100
_NUMBER_LIKE = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?$")

# YAML 1.2's core schema instead of PyYAML's YAML 1.1 one (issue #26): a plain scalar is a bool
# only as true/false (yes, no, on, off, y and n stay text), an int only in plain decimal (1:30 is
# not base 60 = 90, 010 not octal 8, 1_000 and 0x1F are text), a float only in decimal notation
# (1e-3 is a float, 1:5.2 text), and dates are text. A number field then refuses the text with
# the value as written, instead of silently reading another number.
_CORE_RESOLVERS: list[tuple[str, re.Pattern[str], str]] = [
    ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
    ("tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), "-+0123456789"),
    ("tag:yaml.org,2002:float", re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+|\.[0-9]+[eE][-+]?[0-9]+)"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), "-+0123456789."),
]
_REPLACED = {tag for tag, _, _ in _CORE_RESOLVERS} | {"tag:yaml.org,2002:timestamp"}


def _core_schema() -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    """PyYAML's implicit resolvers with bool, int, float and timestamp replaced by `_CORE_RESOLVERS`."""
    table: dict[Any, list[tuple[str, re.Pattern[str]]]] = {
        first: [(tag, rx) for tag, rx in entries if tag not in _REPLACED]
        for first, entries in yaml.resolver.Resolver.yaml_implicit_resolvers.items()}
    for tag, rx, firsts in _CORE_RESOLVERS:
        for first in firsts:
            table.setdefault(first, []).append((tag, rx))
    return {first: entries for first, entries in table.items() if entries}


_IMPLICIT = _core_schema()


# libyaml's loader where PyYAML has it (only then is it used; the base keeps the import working).
_CBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CoreCLoader(_CBase):
    yaml_implicit_resolvers = _IMPLICIT


class YamlLimitError(yaml.YAMLError):
    """A document beyond a limit, or with a key given twice: `message`, the 1-based `line` it
    concerns (None when not one line) and the dotted `key_path` of the offending value."""

    def __init__(self, message: str, *, line: int | None = None, key_path: str = "") -> None:
        super().__init__(message)
        self.message, self.line, self.key_path = message, line, key_path


class LimitedLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses nesting deeper than MAX_DEPTH, aliases expanding beyond
    MAX_VALUES values (and recursive ones), and duplicate keys; it reads scalars by YAML 1.2's core
    schema (`_CORE_RESOLVERS`)."""

    yaml_implicit_resolvers = _IMPLICIT

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        # The composer recurses once per level; stop long before Python's recursion limit.
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise YamlLimitError(f"nested deeper than {MAX_DEPTH} levels; a configuration needs a few",
                                     line=mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> Node | None:
        node = super().compose_document()
        if node is not None:
            check_document(node)
        return node


def load(text: str) -> Any:
    """The YAML document in `text`, read within the limits: with libyaml (PyYAML's C loader, about
    five times faster) where PyYAML has it, else with `LimitedLoader`. Both give the same values
    and refuse the same documents."""
    if getattr(yaml, "__with_libyaml__", False) and _libyaml_reads_alike(text):
        return _load_with_libyaml(text)
    return yaml.load(text, Loader=LimitedLoader)  # noqa: S506 - LimitedLoader is a SafeLoader


def _libyaml_reads_alike(text: str) -> bool:
    """Whether libyaml reads `text` as LimitedLoader does: libyaml accepts tabs where PyYAML's
    scanner refuses them (a trailing tab, a tab inside a flow list), and it cannot take text that
    is not valid UTF-8 (a lone surrogate from a command line), which PyYAML's reader refuses with a
    YAML error. Such text goes through LimitedLoader, so a document is valid or not the same way on
    every machine."""
    if "\t" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _load_with_libyaml(text: str) -> Any:
    """The C loader composes nodes recursively in C, where Python's recursion limit does not
    guard it: so the nesting is first checked on libyaml's event stream (its parser keeps explicit
    stacks, no recursion), then the nodes are composed, checked like LimitedLoader's and built by
    the safe constructor."""
    _check_nesting(text)
    loader = _CoreCLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_document(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_nesting(text: str) -> None:
    """YamlLimitError where a node lies deeper than MAX_DEPTH (a value counts one level below
    the collections that hold it, as LimitedLoader counts)."""
    try:
        _walk_nesting(text)
    except yaml.MarkedYAMLError as exc:
        # libyaml stops at its own depth limit (1000) before ours would be reached on its events.
        if "nesting depth" not in str(exc.problem):
            raise
        mark = exc.problem_mark
        raise YamlLimitError(f"nested deeper than {MAX_DEPTH} levels; a configuration needs a few",
                             line=mark.line + 1 if mark else None) from None


def _walk_nesting(text: str) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            level = depth
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
            continue
        elif isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
            level = depth + 1
        else:
            continue
        if level > MAX_DEPTH:
            raise YamlLimitError(f"nested deeper than {MAX_DEPTH} levels; a configuration needs a few",
                                 line=event.start_mark.line + 1 if event.start_mark else None)


def _join(path: str, part: Any) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else str(part)


def _children(node: Node, path: str) -> list[tuple[Node, str]]:
    if isinstance(node, SequenceNode):
        return [(child, _join(path, i)) for i, child in enumerate(node.value)]
    if isinstance(node, MappingNode):
        out = []
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else "?"
            out += [(key, path), (value, _join(path, name))]
        return out
    return []


def _check_keys(node: MappingNode, path: str) -> None:
    """Every key of a mapping once (merge keys `<<` are YAML's way to override, not duplicates)."""
    seen: dict[tuple[str, str], Any] = {}
    for key, _ in node.value:
        if not isinstance(key, ScalarNode) or key.tag == _MERGE_TAG:
            continue
        first = seen.setdefault((key.tag, key.value), key.start_mark)
        mark = key.start_mark
        if first is not mark and first is not None and mark is not None:
            where = (f"lines {first.line + 1} and {mark.line + 1}" if first.line != mark.line else
                     f"line {mark.line + 1}, columns {first.column + 1} and {mark.column + 1}")
            raise YamlLimitError(f"duplicate key at {where}; give each key once", line=mark.line + 1,
                                 key_path=_join(path, key.value))


def check_document(root: Node) -> None:
    """Walk the composed document once per distinct node (aliases share nodes): the values it
    expands to, its depth through aliases, recursive aliases and duplicate keys."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, str, bool]] = [(root, "", False)]
    while stack:
        node, path, done = stack.pop()
        ident = id(node)
        if done:
            kids = [child for child, _ in _children(node, path)]
            size[ident] = 1 + sum(size[id(child)] for child in kids)
            depth[ident] = 1 + max((depth[id(child)] for child in kids), default=0)
            open_nodes.discard(ident)
            line = node.start_mark.line + 1
            if size[ident] > MAX_VALUES:
                raise YamlLimitError(f"aliases expand to more than {MAX_VALUES} values (an alias bomb?); "
                                     "write the values out or use fewer aliases", line=line, key_path=path)
            if depth[ident] > MAX_DEPTH:
                raise YamlLimitError(f"nested deeper than {MAX_DEPTH} levels through aliases; a configuration "
                                     "needs a few", line=line, key_path=path)
            continue
        if ident in size:
            continue
        if ident in open_nodes:
            raise YamlLimitError("a recursive alias (a value that contains itself)", line=node.start_mark.line + 1,
                                 key_path=path)
        open_nodes.add(ident)
        if isinstance(node, MappingNode):
            _check_keys(node, path)
        elif isinstance(node, ScalarNode) and not node.style and len(node.value) > MAX_NUMBER_CHARS \
                and _NUMBER_LIKE.match(node.value):
            raise YamlLimitError(f"a number of {len(node.value)} characters; a number here has at most "
                                 f"{MAX_NUMBER_CHARS}", line=node.start_mark.line + 1, key_path=path)
        stack.append((node, path, True))
        stack.extend((child, child_path, False) for child, child_path in reversed(_children(node, path))
                     if id(child) not in size)
