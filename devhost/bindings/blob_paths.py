"""Blob paths as the WebJobs blob extension reads them: a trigger's pattern
(`container/prefix{name}.txt`) that matches blob names and captures `{name}`, and the
`container/blob` (or blob URL) an input or output binding's path resolves to.

Patterns are parsed as WebJobs `BindingTemplateParser` does (`{{`/`}}` escape a brace,
`{name}` captures, a brace left open is an error) and matched as `BindingTemplateSource`
does: each `{name}` becomes a greedy `.*`, the whole path `container/blob` must match, case
sensitive, once the container matched ignoring case (`ParameterizedBlobPathSource`). The
errors carry the extension's own messages (`BlobPathSource.Create`, `BlobPath`,
`BlobNameValidationAttribute`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# BlobNameValidationAttribute.IsValidContainerName: 3-63 lower-case letters, digits and
# hyphens, starting and ending with a letter or digit ("$root" aside).
_CONTAINER = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
# BindingTemplateParser.TokenRule: an escaped brace, a `{parameter}`, a literal, or a brace
# left unbalanced.
_TOKEN = re.compile(r"(?P<escape>\{\{|\}\})|\{(?P<parameter>[^{}]*)\}|(?P<literal>[^{}]+)|(?P<unbalanced>[{}])")
# BindingTemplateParser.IdentifierPattern, with `.` and `-` allowed after the first letter.
_IDENTIFIER = re.compile(r"[^\W\d][\w.\-]*")
# The built-ins whose names may hold a `-` (WebJobs `BindingParameterResolver`).
_BUILT_INS = ("rand-guid", "datetime")


class BlobPathError(ValueError):
    """A path or pattern the blob extension refuses, with its message."""


@dataclass(frozen=True)
class BlobPath:
    container: str
    name: str

    def __str__(self) -> str:
        return f"{self.container}/{self.name}" if self.name else self.container


def template_parameters(template: str) -> list[str]:
    """The `{...}` expressions of a binding template, checked as WebJobs parses them
    (BlobPathError with `BindingTemplateParser`'s message for a malformed one)."""
    return [value for kind, value in _tokens(template) if kind == "parameter"]


def _tokens(template: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(template):
        if match.group("escape") is not None:
            tokens.append(("literal", match.group("escape")[0]))
        elif match.group("literal") is not None:
            tokens.append(("literal", match.group("literal")))
        elif match.group("unbalanced") is not None:
            side = "closing" if match.group("unbalanced") == "{" else "opening"
            raise BlobPathError(
                f"Invalid template '{template}'. Missing {side} bracket at position {match.start() + 1}."
            )
        else:
            expression = match.group("parameter")
            if not expression:
                raise BlobPathError(
                    f"Invalid template '{template}'. The parameter name at position {match.start() + 1} is empty."
                )
            name = expression.split(":", 1)[0]  # `{DateTime:yyyy}` formats a value
            if not _IDENTIFIER.fullmatch(name) or any(not part for part in name.split(".")):
                raise BlobPathError(f"Invalid template '{template}'. Invalid template expression '{name}'.")
            head = name.split(".")[0]
            if "-" in head and name.lower() not in _BUILT_INS:
                raise BlobPathError(f"Invalid template '{template}'. The parameter name '{head}' is invalid.")
            tokens.append(("parameter", name))
    return tokens


class BlobPattern:
    """A blob trigger's `path`: which blobs it fires for, and what `{...}` captures."""

    def __init__(self, pattern: str) -> None:
        """Raises BlobPathError as `BlobPathSource.Create` refuses the pattern; the
        container is checked here even when the blob part has parameters (WebJobs lets
        that through and fails on each scan)."""
        container, slash, blob = pattern.partition("/")
        if (slash and (not container or not blob)) or "\\" in container:
            raise BlobPathError(f"Invalid blob trigger path '{pattern}'. Paths must be in the format 'container/blob'.")
        if "{" in container:
            raise BlobPathError(
                f"Invalid blob trigger path '{pattern}'. Container paths cannot contain {{resolve}} tokens."
            )
        tokens = _tokens(pattern)
        check_container(container)
        self.container = container
        self.blob = blob
        self.pattern = pattern
        self._names: list[str] = []
        parts = []
        for kind, value in tokens:
            if kind == "literal":
                parts.append(re.escape(value))
                continue
            if "." in value:
                raise BlobPathError(
                    f"Invalid blob trigger path '{pattern}'. Capture expressions can't include dot operators"
                )
            # Each capture gets its own group: a name may appear twice (.NET keeps the last).
            parts.append(f"(?P<g{len(self._names)}>.*)")
            self._names.append(value)
        if not self._names and blob:
            check_blob_name(blob)
        self._regex = re.compile("".join(parts))

    def match(self, container: str, name: str) -> dict[str, str] | None:
        """The captures for blob `name` in `container`, or None when the pattern does not
        cover it (a container-only pattern covers every blob of its container)."""
        if container.lower() != self.container.lower():
            return None
        if not self.blob:
            return {}
        found = self._regex.fullmatch(f"{container}/{name}")
        if found is None:
            return None
        return {key: found.group(f"g{n}") for n, key in enumerate(self._names)}

    def __str__(self) -> str:
        return self.pattern


def check_container(container: str) -> None:
    if container != "$root" and not _CONTAINER.fullmatch(container):
        raise BlobPathError(f"Invalid container name: {container}")


def check_blob_name(name: str) -> None:
    """BlobNameValidationAttribute.IsValidBlobName, with its messages."""
    limits = "A blob name must be at least one character long and cannot be more than 1,024 characters long."
    if not name:
        raise BlobPathError(f"The given blob name '{name}' is too short. {limits}")
    if len(name) > 1024:
        raise BlobPathError(f"The given blob name '{name}' is too long. {limits}")
    if name.endswith((".", "/")):
        raise BlobPathError(
            f"The given blob name '{name}' has an invalid suffix. Avoid blob names that end with a dot ('.'), "
            "a forward slash ('/'), or a sequence or combination of the two."
        )
    if "\\" in name:
        raise BlobPathError(
            f"The given blob name '{name}' contain illegal characters. "
            "A blob name cannot the following character(s): '\\'."
        )


def parse_blob_path(value: str) -> BlobPath:
    """A resolved input/output path or a by-hand trigger input: `container/blob` or a
    blob's URL (WebJobs `BlobPath.ParseAndValidate`)."""
    if "://" in value and urlsplit(value).scheme:
        from azure.storage.blob import BlobClient

        try:
            client = BlobClient.from_blob_url(value)
        except ValueError as error:
            raise BlobPathError(f"Invalid absolute blob url: {value} ({error})") from None
        return BlobPath(client.container_name, client.blob_name)
    container, slash, name = value.partition("/")
    if not slash or not container or not name:
        raise BlobPathError(
            f"Invalid blob path specified : '{value}'. Blob identifiers must be in the format 'container/blob'."
        )
    check_container(container)
    check_blob_name(name)
    return BlobPath(container, name)
