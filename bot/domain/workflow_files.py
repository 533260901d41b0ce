"""Reading workflow files from a repository within bounds: anyone who can push a branch chooses
their bytes, so size, count, nesting, alias expansion and encoding are all checked before a
file is turned into Python objects. A file over a bound is skipped and named with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


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
