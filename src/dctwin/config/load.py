"""Read scenario files: safe YAML, `extends` chains, relative paths, one clear error.

A scenario names a base with ``extends: NAME_OR_PATH`` and overrides fields;
mappings merge key by key, anything else (lists included) is replaced whole.
"""

from __future__ import annotations

import re
import reprlib
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dctwin.config.scenario import Scenario
from dctwin.errors import ScenarioError

__all__ = ["load_scenario", "scenario_from_dict", "packaged_scenarios", "parse_yaml_text", "read_yaml",
           "DEFAULT_SCENARIO"]

DEFAULT_SCENARIO = "borlange-2027"
MAX_FILE_BYTES = 1 << 20
MAX_EXTENDS_DEPTH = 8
MAX_YAML_NODES = 100_000
MAX_NESTING = 40


def packaged_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package."""
    root = resources.files("dctwin") / "scenarios"
    return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml"))


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False for names the OS refuses (too long, NUL byte) instead of raising."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _locate(ref: str | Path, relative_to: Path | None) -> Path:
    ref_s = str(ref)
    if ref_s in packaged_scenarios():
        return Path(str(resources.files("dctwin") / "scenarios" / f"{ref_s}.yaml"))
    path = Path(ref_s)
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    if not _is_file(path):
        raise ScenarioError(
            "a folder, not a scenario file" if _is_dir(path) else "scenario file not found",
            file=ref_s,
            allowed=f"a YAML file path or a packaged scenario ({', '.join(packaged_scenarios())})",
        )
    return path


class _CountingLoader(yaml.SafeLoader):
    """SafeLoader that refuses alias bombs and absurd nesting before building objects."""

    def compose_node(self, parent, index):  # type: ignore[override]
        self._nodes = getattr(self, "_nodes", 0) + 1
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._nodes > MAX_YAML_NODES:
                raise yaml.YAMLError(f"document has more than {MAX_YAML_NODES} nodes")
            if self._depth > MAX_NESTING:
                raise yaml.YAMLError(f"document is nested deeper than {MAX_NESTING} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        """Refuse a key given twice in one mapping (YAML would silently keep the last value)."""
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key '{key_node.value[:80]}'", key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


    def construct_yaml_int(self, node):  # type: ignore[override]
        _refuse_ambiguous_number(node)
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node):  # type: ignore[override]
        _refuse_ambiguous_number(node)
        return super().construct_yaml_float(node)

    def construct_yaml_timestamp(self, node):  # type: ignore[override]
        """A date the calendar does not have (2027-02-30) is a clear error, not a traceback."""
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            raise yaml.constructor.ConstructorError(
                None, None, f"'{node.value[:40]}' is not a valid date or time", node.start_mark) from None


# YAML 1.1 reads 0600 as octal (384) and 15:00 as base 60 (900): a number written so cannot be read exactly
_AMBIGUOUS_NUMBER = re.compile(r"[-+]?0[0-9_]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")


def _refuse_ambiguous_number(node: yaml.ScalarNode) -> None:
    if _AMBIGUOUS_NUMBER.fullmatch(node.value):
        raise yaml.constructor.ConstructorError(
            None, None, f"ambiguous number '{node.value[:40]}' (YAML reads a leading 0 as octal and a colon as "
            "base 60); write it without the leading zero or quote it", node.start_mark)


for _tag, _fn in (("int", _CountingLoader.construct_yaml_int), ("float", _CountingLoader.construct_yaml_float),
                  ("timestamp", _CountingLoader.construct_yaml_timestamp)):
    _CountingLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _fn)


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_: set[int]) -> int:
    """Nodes ``node`` expands to once aliases are copied out, memoised per node so bombs cost no more
    than their text; a node that contains itself through an alias is refused."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_:
        raise yaml.YAMLError("an alias refers to a node that contains it (recursive document)")
    open_.add(key)
    n = 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            n += _expanded_size(k, sizes, open_) + _expanded_size(v, sizes, open_)
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            n += _expanded_size(v, sizes, open_)
    if n > MAX_YAML_NODES:
        raise yaml.YAMLError(f"document expands to more than {MAX_YAML_NODES} nodes (alias bomb?)")
    open_.discard(key)
    sizes[key] = n
    return n


def read_yaml(path: Path, what: str = "a scenario") -> dict[str, Any]:
    """Read one YAML mapping safely, or raise ScenarioError naming the file (``what`` names the document)."""
    data = read_yaml_document(path)
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{what} must be a YAML mapping", file=str(path), value=type(data).__name__, allowed="key: value pairs"
        )
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise ScenarioError("keys must be strings", file=str(path), value=bad[0])
    return data


def read_yaml_document(path: Path) -> Any:
    """Read one YAML document of any shape safely (size cap, UTF-8, no duplicate keys, no alias bombs)."""
    from dctwin.errors import InputError
    from dctwin.safeio import read_input_bytes

    try:  # a regular file, size checked before reading, with a timeout
        raw = read_input_bytes(path, MAX_FILE_BYTES, what="YAML file")
    except InputError as exc:
        raise ScenarioError(exc.problem.removeprefix("YAML file: "), file=str(path), value=exc.value) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"file is not UTF-8 text (byte {exc.start})", file=str(path)) from None
    return parse_yaml_text(text, str(path))


def parse_yaml_text(text: str, file: str) -> Any:
    """One YAML document from ``text`` (read from ``file``): no duplicate keys, alias bombs, deep nesting,
    ambiguous numbers or impossible dates; ScenarioError names the file, line and column."""
    try:
        loader = _CountingLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                data = None
            else:
                _expanded_size(node, {}, set())
                data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"malformed YAML{where}: {problem}", file=file) from None
    except RecursionError:
        raise ScenarioError("YAML nested too deeply", file=file) from None
    return data


def _resolve_paths(node: Any, base_dir: Path) -> Any:
    """Make every relative ``path``/``*_path`` value absolute against the declaring file's folder."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if isinstance(k, str) and (k == "path" or k.endswith("_path")) and isinstance(v, str) and v:
                p = Path(v)
                try:
                    out[k] = str(p if p.is_absolute() else (base_dir / p).resolve())
                except (ValueError, OSError, RuntimeError):  # NUL byte, symlink loop: reported as not found later
                    out[k] = v
            else:
                out[k] = _resolve_paths(v, base_dir)
        return out
    if isinstance(node, list):
        return [_resolve_paths(v, base_dir) for v in node]
    return node


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base``: mappings key by key, other values replaced."""
    out = dict(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _load_chain(path: Path, seen: tuple[Path, ...]) -> tuple[dict[str, Any], tuple[Path, ...]]:
    real = path.resolve()
    if real in seen:
        raise ScenarioError("'extends' chain loops back on itself", file=str(path), field="extends")
    if len(seen) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError(f"'extends' chain is deeper than {MAX_EXTENDS_DEPTH}", file=str(path), field="extends")
    data = _resolve_paths(read_yaml(path), path.parent)
    chain = seen + (real,)
    base_ref = data.pop("extends", None)
    if base_ref is None:
        return data, chain
    if not isinstance(base_ref, str) or not base_ref:
        raise ScenarioError("'extends' must name a scenario", file=str(path), field="extends", value=base_ref)
    try:
        base_path = _locate(base_ref, path.parent)
    except ScenarioError as exc:
        raise ScenarioError(exc.problem, file=str(path), field="extends", value=base_ref, allowed=exc.allowed) from None
    base, chain = _load_chain(base_path, chain)
    return deep_merge(base, data), chain


_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _field_path(loc: tuple[Any, ...]) -> str:
    """Dotted path of a validation error; a key that is not name-like (a line of some other file) is not echoed."""
    out = ""
    for part in loc:
        if isinstance(part, str) and not _KEY.fullmatch(part):
            part = "<key that is not a field name>"
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _short_repr(value: Any) -> str:
    """``repr`` cut to 80 characters and 4 levels, so deeply nested input cannot overflow the stack."""
    return _REPR.repr(value)[:80]


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 4, 80, 80, 80


def _branch_tag(part: Any, sections: frozenset[str]) -> bool:
    """A union member's name pydantic puts in an error's location ('ParallelLayoutConfig', "literal['auto']")."""
    return isinstance(part, str) and (part.startswith("literal[") or part in sections)


def _union_errors(errors: list[dict]) -> list[dict]:
    """Errors with union member names left out of their location; a branch that only says "should be 'auto'" is
    dropped where another error explains a field inside it (layout: {tp: nan} was also told to be 'auto')."""
    from dctwin.config.base import Section

    todo, names = [Section], set()
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo += cls.__subclasses__()
    out = [{**e, "loc": tuple(p for p in e["loc"] if not _branch_tag(p, frozenset(names)))} for e in errors]

    def explained(e: dict) -> bool:
        n = len(e["loc"])
        return any(o is not e and len(o["loc"]) > n and o["loc"][:n] == e["loc"] for o in out)

    return [e for e in out if not (e["type"] == "literal_error" and explained(e))] or out


def _section_at(loc: tuple[Any, ...]) -> type | None:
    """The scenario section class that holds the last key of ``loc`` (list indices and union tags skipped)."""
    from pydantic import BaseModel

    cls: Any = Scenario
    for part in loc[:-1]:
        if not isinstance(part, str) or cls is None or part not in cls.model_fields:
            continue
        todo, cls = [cls.model_fields[part].annotation], None
        while todo:  # the first model inside list[...] / X | None / Annotated[...]
            t = todo.pop(0)
            if isinstance(t, type) and issubclass(t, BaseModel):
                cls = t
                break
            todo += list(getattr(t, "__args__", ()))
    return cls


def _did_you_mean(loc: tuple[Any, ...]) -> str:
    """``did you mean 'duration_days'? `` for a misspelt or renamed key, from its own section's fields."""
    import difflib

    cls, key = _section_at(loc), loc[-1] if loc else None
    close = [] if cls is None or not isinstance(key, str) else \
        difflib.get_close_matches(key.lower(), list(cls.model_fields), n=2, cutoff=0.6)
    return f"did you mean {' or '.join(repr(c) for c in close)}? " if close else "check the spelling; "


def _validation_message(exc: ValidationError, source: str) -> ScenarioError:
    lines = []
    for err in _union_errors(exc.errors(include_url=False)):
        field = _field_path(tuple(err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        if len(msg) > 400:                     # a validator's message may quote the user's value in full
            msg = msg[:397] + "..."
        if err["type"] == "extra_forbidden":
            msg = f"unknown field ({_did_you_mean(tuple(err['loc']))}`dctwin scenario schema` lists the fields)"
        value = err.get("input")
        shown = "" if err["type"] == "missing" or isinstance(value, dict) else f" (got {_short_repr(value)})"
        lines.append(f"field '{field}': {msg}{shown}" if field else f"{msg}{shown}")
    first, rest = lines[0], lines[1:]
    err = ScenarioError(first, file=source)
    if rest:
        err.args = (str(err) + "".join(f"\n{source}: {line}" for line in rest),)
    return err


def scenario_from_dict(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a merged scenario mapping, checking catalog ids and power envelopes too."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _validation_message(exc, source) from None
    from dctwin.config.checks import check_scenario  # catalog-aware checks

    check_scenario(scenario, source)
    return scenario


def load_scenario(ref: str | Path | None = None) -> Scenario:
    """Load a scenario by packaged name or file path; ``None`` gives the default site.

    Raises ScenarioError with the file, field, bad value and what is allowed.
    """
    path = _locate(ref if ref is not None else DEFAULT_SCENARIO, None)
    data, _chain = _load_chain(path, ())
    return scenario_from_dict(data, source=str(ref if ref is not None else DEFAULT_SCENARIO))
