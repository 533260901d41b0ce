"""YAML from outside, read within bounds: a workflow file from a repository (anyone who can
push a branch chooses its bytes) or the catalog. Size, count, nesting, alias expansion and
encoding are checked before a document becomes Python objects, and a value an explicit tag
can't read (`!!int ''`) is a YAML error, never a stray Python exception.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.domain.text import code


@dataclass(frozen=True)
class Limits:
    """What one diagnose reads of a repository's workflows."""

    file_bytes: int = 256 * 1024  # real workflows are a few KB; GitHub's own editor warns far below
    files: int = 64
    depth: int = 64  # mappings and sequences inside each other
    nodes: int = 50_000  # scalars, mappings and sequences once every alias is expanded
    jobs: int = 256  # per workflow file (GitHub's matrix bound, a sensible ceiling for a file)
    analysed_jobs: int = 1_000  # across every file and every reusable-workflow call


LIMITS = Limits()


def strict_values(loader: type[yaml.SafeLoader]) -> None:
    """Make `loader`'s bool/int/float/timestamp constructors raise a YAML error on a value they
    can't read: PyYAML's raise IndexError (`!!int ''`), KeyError (`!!bool x`), ValueError
    (`!!timestamp 2001-02-30`, a 5,000-digit int) or AttributeError (`!!timestamp x`)."""
    for tag in ("bool", "int", "float", "timestamp"):
        name = f"tag:yaml.org,2002:{tag}"
        loader.add_constructor(name, _refusing(yaml.SafeLoader.yaml_constructors[name]))


def _refusing(construct: Callable[[Any, Any], object]) -> Callable[[Any, Any], object]:
    def construct_or_refuse(loader: Any, node: Any) -> object:
        try:
            return construct(loader, node)
        except (ValueError, LookupError, AttributeError, TypeError, OverflowError) as exc:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            problem = f"{tag} cannot read {code(node.value, 80)}"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from exc

    return construct_or_refuse


class TooBig(ValueError):
    """The document is over a bound; the message says which, for the checklist."""


def decode(raw: bytes, limits: Limits = LIMITS) -> str:
    """The file's text, or TooBig/UnicodeDecodeError naming the problem."""
    if len(raw) > limits.file_bytes:
        raise TooBig(f"larger than {limits.file_bytes // 1024} KiB; not read")
    return raw.decode("utf-8")


def load(text: str, loader: type[yaml.SafeLoader], limits: Limits = LIMITS) -> object:
    """Parse one YAML document, refusing deep nesting and alias bombs before building objects."""
    _check_depth(text, loader, limits)
    composer = loader(text)
    try:
        node = composer.get_single_node()
        if node is None:
            return None
        _check_expansion(node, limits)
        return composer.construct_document(node)
    finally:
        composer.dispose()


def _check_depth(text: str, loader: type[yaml.SafeLoader], limits: Limits) -> None:
    # The event parser keeps its own stack, so this walk can't overflow Python's; the composer
    # and constructor recurse per level and only run on documents that passed.
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > limits.depth:
                raise TooBig(f"nested deeper than {limits.depth} levels; not read")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_expansion(root: Node, limits: Limits) -> None:
    """Count nodes as if every alias were copied out: a 450-byte file can expand to gigabytes."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        kids = _children(node)
        if not children_done:
            if key in visiting:
                raise TooBig("an alias refers to itself; not read")
            visiting.add(key)
            stack.append((node, True))
            for child in kids:
                if id(child) in visiting and id(child) not in sizes:
                    raise TooBig("an alias refers to itself; not read")
                stack.append((child, False))
            continue
        visiting.discard(key)
        sizes[key] = 1 + sum(sizes[id(child)] for child in kids)
        if sizes[key] > limits.nodes:
            raise TooBig(f"expands to more than {limits.nodes:,} YAML nodes (aliases); not read")


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    assert isinstance(node, ScalarNode)
    return []
