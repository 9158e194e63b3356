"""Reading the YAML configuration files (``sources.yaml``, ``settings.yaml``) safely.

``yaml.safe_load`` builds no objects but still expands aliases: a few lines of nested
anchors ("billion laughs") become billions of values once anything walks them, and a
file that is not UTF-8 ends in a ``UnicodeDecodeError`` traceback. Here a file is read
as bytes (size capped), decoded strictly (the error names the line), composed into YAML
nodes, and refused when those nodes, aliases expanded, would exceed a small size; only
then are Python values built. Every refusal is one :class:`YamlError` line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["MAX_YAML_BYTES", "MAX_YAML_NODES", "YamlError", "load_yaml_file", "load_yaml_text"]

#: Largest configuration file read (a sources file of thousands of sources fits).
MAX_YAML_BYTES = 4 * 1024 * 1024
#: Most values (and characters / 64) a file may hold once its aliases are expanded.
MAX_YAML_NODES = 200_000


class YamlError(ValueError):
    """A configuration file that is not acceptable YAML; ``str()`` is one line."""


def load_yaml_file(path: Path) -> Any:
    """The YAML document in ``path``. ``FileNotFoundError`` passes through; anything else
    wrong is :class:`YamlError` naming the file."""
    data = path.read_bytes()
    if len(data) > MAX_YAML_BYTES:
        raise YamlError(f"{path}: larger than {MAX_YAML_BYTES // (1024 * 1024)} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlError(
            f"{path} (line {line}): not UTF-8 (byte 0x{data[exc.start]:02x}); "
            "save the file as UTF-8"
        ) from None
    return load_yaml_text(text, name=str(path))


def load_yaml_text(text: str, *, name: str = "<text>") -> Any:
    """The YAML document in ``text``, refused (:class:`YamlError`) when its aliases expand
    past :data:`MAX_YAML_NODES`; a syntax error stays a ``yaml.YAMLError``."""
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise YamlError(f"{name}: nested too deeply") from None
        if node is None:
            return None
        _check_expanded_size(node, name)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_expanded_size(root: yaml.Node, name: str) -> None:
    """Count ``root``'s values with every alias expanded, without expanding anything: a
    node an alias repeats is counted once per use from its own (memoised) size."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children = _children(node)
        if children_done:
            on_path.discard(key)
            size = 1 + sum(sizes[id(child)] for child in children)
            if isinstance(node, yaml.ScalarNode):
                size += len(node.value) // 64
            if size > MAX_YAML_NODES:
                raise YamlError(
                    f"{name}: aliases expand to more than {MAX_YAML_NODES} values; "
                    "write the values out instead of repeating anchors"
                )
            sizes[key] = size
            continue
        if key in on_path:
            raise YamlError(f"{name}: an alias refers to itself")
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise YamlError(f"{name}: an alias refers to itself")
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []
