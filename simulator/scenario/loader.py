"""Scenario files: YAML read with line numbers, ``extends:`` resolved, errors pointing at the line.

A scenario file is UTF-8 YAML checked stricter than PyYAML checks it (no
key given twice, no unknown tag, no self-containing alias, no scalar its tag
cannot read, no nesting deeper than :data:`MAX_DEPTH`, no aliases expanding
to more than :data:`MAX_VALUES` values), may extend another file, and is
validated as a :class:`~simulator.scenario.models.Scenario`. Every error
names the file and line the offending value was written on, and its dotted
field path; no input file, however broken, raises anything but
:class:`ScenarioError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from simulator.scenario.models import Scenario


class ScenarioError(Exception):
    """A scenario that cannot run; the message names the file, line and field."""


Lines = dict[tuple, tuple[str, int]]  # path in the scenario -> (file, line) it was written on
MAX_DEPTH = 50  # mappings and lists inside one another; a scenario needs 5
MAX_VALUES = 100_000  # values in one document, aliases expanded: a file of aliases of aliases stays small on disk
REPLACE_TAG = "!replace"
MAPPING_TAGS = ("tag:yaml.org,2002:map", REPLACE_TAG)


class Replace(dict):
    """A mapping written ``!replace``: under ``extends:`` it takes the base's mapping's place instead of merging.

    ``contracts: {billing_types: !replace {time_and_materials: 1}}`` means
    T&M only, whatever mix the base has; without the tag the base's other
    billing types would stay in.
    """


class _ScenarioDumper(yaml.SafeDumper):
    pass


_ScenarioDumper.add_representer(Replace, lambda dumper, data: dumper.represent_mapping(REPLACE_TAG, dict(data)))


def dump_scenario(raw: dict[str, Any]) -> str:
    """YAML for a scenario mapping, keys in the given order; a :class:`Replace` mapping is written ``!replace``."""
    return yaml.dump(raw, Dumper=_ScenarioDumper, sort_keys=False, default_flow_style=False)


def _dotted(path: tuple) -> str:
    return ".".join(str(part) for part in path) or "(scenario)"


def _to_python(node: yaml.Node, path: tuple, lines: Lines, source: str, open_nodes: frozenset = frozenset(),
               count: list[int] | None = None) -> Any:
    """The plain value of ``node``, recording where every path was written in ``lines``.

    Rejects what PyYAML would accept silently or crash on: a key given twice
    (the last would win), a key that is not a plain scalar, an alias that
    contains itself, a tag no safe loader knows, a scalar its tag cannot read
    (``2024-02-30``, ``!!int x``), nesting deeper than :data:`MAX_DEPTH`, and
    more than :data:`MAX_VALUES` values (``count`` counts them).
    """
    line = node.start_mark.line + 1
    lines[path] = (source, line)
    count = count if count is not None else [0]
    count[0] += 1
    if count[0] > MAX_VALUES:
        raise ScenarioError(f"{source} line {line}: {_dotted(path)}: more than {MAX_VALUES:,} values "
                            f"(aliases expand to a copy of what they name)")
    if len(path) > MAX_DEPTH:
        raise ScenarioError(f"{source} line {line}: {_dotted(path[:3])}...: nested more than {MAX_DEPTH} deep")
    if id(node) in open_nodes:
        raise ScenarioError(f"{source} line {line}: {_dotted(path)}: an alias cannot contain itself")
    if isinstance(node, yaml.MappingNode):
        if node.tag not in MAPPING_TAGS:
            raise ScenarioError(f"{source} line {line}: {_dotted(path)}: unknown tag {node.tag!r} on a mapping "
                                f"(the one tag a scenario knows is {REPLACE_TAG})")
        open_nodes = open_nodes | {id(node)}
        result = Replace() if node.tag == REPLACE_TAG else {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise ScenarioError(f"{source} line {key_line}: {_dotted(path)}: a key must be a plain name, "
                                    f"not a {'list' if isinstance(key_node, yaml.SequenceNode) else 'mapping'}")
            key = key_node.value
            if key in result:
                raise ScenarioError(f"{source} line {key_line}: {_dotted((*path, key))}: duplicated key {key!r} "
                                    f"(first given on line {lines[(*path, key)][1]})")
            result[key] = _to_python(value_node, (*path, key), lines, source, open_nodes, count)
            lines[(*path, key)] = (source, key_line)
        return result
    if isinstance(node, yaml.SequenceNode):
        open_nodes = open_nodes | {id(node)}
        return [_to_python(item, (*path, i), lines, source, open_nodes, count) for i, item in enumerate(node.value)]
    if node.tag == "tag:yaml.org,2002:str":
        return node.value
    try:
        return yaml.safe_load(yaml.serialize(node))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source} line {line}: {_dotted(path)}: not a plain value: "
                            f"{getattr(exc, 'problem', None) or exc}") from None
    except Exception as exc:  # the tag's constructor refused the text (ValueError, KeyError, AttributeError...)
        kind = node.tag.rsplit(":", 1)[-1]
        written = node.value if len(node.value) <= 40 else f"{node.value[:20]}...({len(node.value)} characters)"
        reason = ("" if not isinstance(exc, ValueError) else " (too many digits)" if "digits" in str(exc)
                  else f" ({str(exc).rstrip('.')})")  # a ValueError says what is out of range; others say nothing
        raise ScenarioError(f"{source} line {line}: {_dotted(path)}: {written!r} is not a valid {kind}{reason}") \
            from None


def _overlay(base: dict, base_lines: Lines, own: dict, own_lines: Lines, path: tuple = ()) -> dict:
    """``own`` written over ``base``: mappings merge key by key, anything else (lists included) replaces,
    and so does a mapping tagged ``!replace``.

    Where a value is replaced, the base's line records under it go too, so
    an error always points at the file and line the value came from.
    """
    merged = dict(base)
    for key, value in own.items():
        where = (*path, key)
        if isinstance(value, dict) and not isinstance(value, Replace) and isinstance(base.get(key), dict):
            merged[key] = _overlay(base[key], base_lines, value, own_lines, where)
            continue
        for stale in [p for p in base_lines if p[:len(where)] == where]:
            del base_lines[stale]
        merged[key] = value
    if not path:
        base_lines.update(own_lines)
    return merged


def _raw_scenario(text: str, source: str, base_dir: Path, lines: Lines, chain: tuple[Path, ...] = ()) -> dict:
    """The file's mapping with any ``extends:`` chain resolved; ``lines`` says where each value was written."""
    raw, own_lines = read_yaml(text, source)
    if not isinstance(raw, dict):
        raise ScenarioError(f"{source} line 1: a scenario must be a mapping of fields")
    if "extends" not in raw:
        lines.update(own_lines)
        return raw
    base_name = raw.pop("extends")
    at = f"{source} line {own_lines[('extends',)][1]}: extends"
    if not isinstance(base_name, str) or not base_name or "\0" in base_name:
        raise ScenarioError(f"{at}: must be the path of another scenario file")
    base_path = (base_dir / base_name).resolve()
    if base_path in chain:
        raise ScenarioError(f"{at}: {base_name} extends, in the end, this very file")
    base_text = read_text(base_path, f"{at}: cannot read {base_path}")
    base_lines: Lines = {}
    base = _raw_scenario(base_text, str(base_path), base_path.parent, base_lines, (*chain, base_path))
    del own_lines[("extends",)]
    merged = _overlay(base, base_lines, raw, own_lines)
    lines.update(base_lines)
    return merged


def _where(loc: tuple, lines: Lines, source: str) -> str:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            file, line = lines[loc[:end]]
            return f"{file} line {line}"
    return source


def _as_written(loc: tuple, raw: Any) -> tuple:
    """An error's location as the file has it: a single value where a list is read (a list of one, to the model)
    is named without the index ``0`` nobody wrote."""
    if not loc or loc[-1] != 0:
        return loc
    value = raw
    for key in loc[:-1]:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return loc
    return loc if isinstance(value, list) else loc[:-1]


def _message(error: Any) -> str:
    """pydantic's message, without the "Value error, " it puts before our own validators' messages."""
    if error["type"] == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])
    return error["msg"]


def read_text(path: Path, cannot: str) -> str:
    """The UTF-8 text of the file at ``path``; else a :class:`ScenarioError` starting with ``cannot``
    ("FILE: cannot read scenario") saying why, and for bytes that are not UTF-8, on which line they are."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{cannot}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ScenarioError(f"{path} line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                            f"save the file as UTF-8") from None


def _too_deep(text: str, source: str) -> ScenarioError:
    """The error for a document nested too deeply for the composer to follow, at the line it gets too deep."""
    depth = 0
    try:
        for parsed in yaml.parse(text):
            if isinstance(parsed, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return ScenarioError(f"{source} line {parsed.start_mark.line + 1}: nested more than {MAX_DEPTH} "
                                         f"deep")
            elif isinstance(parsed, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass
    return ScenarioError(f"{source}: nested too deeply to read")


def compose_yaml(text: str, source: str) -> yaml.Node | None:
    """``yaml.compose(text)`` (None for an empty document), any failure a :class:`ScenarioError` naming ``source``
    and the line: YAML that does not parse, a character YAML does not allow, nesting too deep to follow."""
    try:
        return yaml.compose(text)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow; its position, not a mark, says where
        line = text.count("\n", 0, exc.position) + 1
        character = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ScenarioError(f"{source} line {line}: not valid YAML: the character U+{character:04X} is not allowed "
                            f"in YAML") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ScenarioError(f"{source}{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    except RecursionError:
        raise _too_deep(text, source) from None


def read_yaml(text: str, source: str) -> tuple[Any, Lines]:
    """A YAML document checked as strictly as a scenario (no key twice, no unknown tag, no self-containing alias,
    no unreadable scalar, bounded depth and size), and where each of its values was written:
    ``(value, {path: (source, line)})``. Other files that point their errors at lines (a sweep file) read themselves
    with it."""
    root = compose_yaml(text, source)
    if root is None:
        raise ScenarioError(f"{source}: the file is empty")
    lines: Lines = {}
    return _to_python(root, (), lines, source), lines


def read_scenario_document(path: str | Path) -> tuple[dict, Lines]:
    """A scenario file's mapping with its ``extends:`` chain resolved, not yet validated, and where each value was
    written. Change it (keeping ``lines`` true for what you change) and pass both to :func:`validate_scenario`."""
    path = Path(path)
    text = read_text(path, f"{path}: cannot read scenario")
    lines: Lines = {}
    raw = _raw_scenario(text, str(path), path.parent, lines, (path.resolve(),))
    return raw, lines


def validate_scenario(raw: dict, lines: Lines, source: str) -> Scenario:
    """``raw`` as a :class:`Scenario`; each error names the file and line ``lines`` gives for its field (``source``
    when none does) and its dotted path, one error per line of the :class:`ScenarioError`'s message."""
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        locs = [_as_written(tuple(error["loc"]), raw) for error in exc.errors()]
        messages = [f"{_where(loc, lines, source)}: {_dotted(loc)}: {_message(error)}"
                    for loc, error in zip(locs, exc.errors(), strict=True)]
        raise ScenarioError("\n".join(messages)) from None


def parse_scenario(text: str, source: str = "<scenario>", base_dir: Path | None = None) -> Scenario:
    """A validated scenario; ``extends:`` paths are resolved against ``base_dir`` (default: the working directory).

    A file may start with ``extends: other.yaml`` and then give only what
    differs (say, its ``faults:``): mappings merge key by key with the base,
    anything else replaces the base's value, and so does a mapping tagged
    ``!replace`` (:class:`Replace`).
    """
    lines: Lines = {}
    raw = _raw_scenario(text, source, base_dir or Path.cwd(), lines,
                        (Path(source).resolve(),) if base_dir is not None else ())
    return validate_scenario(raw, lines, source)


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    return parse_scenario(read_text(path, f"{path}: cannot read scenario"), str(path), path.parent)
