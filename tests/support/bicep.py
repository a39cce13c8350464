"""infra/'s Bicep, parsed by pycep and evaluated for given parameter values, for offline checks.

The Bicep CLI cannot be installed here (it downloads a binary), so the tests read what the
templates would hand Azure Resource Manager: parameter defaults and `@allowed` values, and
each module's parameters with the template's own variables, parameters and conditionals
resolved. What only Azure knows (another module's outputs, uniqueString) stays a `Ref`
naming the expression, which the tests compare against.

pycep writes an identifier and a string literal alike (`taskHubName` and `'managedidentity'`
are both the JSON string), so a string is read as a reference when it names a parameter,
variable or module of the template, and as text otherwise: the templates use no literal
that is also one of their names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"

# `${expression}` inside a Bicep string.
_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Ref:
    """A value only Azure knows when the template is deployed, by its expression."""

    expression: str


@cache
def parsed(name: str) -> dict[str, Any]:
    """The pycep JSON of `infra/<name>`; a file pycep cannot parse raises here."""
    return BicepParser().parse(file_path=INFRA / name)


def bicep_files() -> list[Path]:
    """Every Bicep file under infra/."""
    return sorted(INFRA.rglob("*.bicep"))


class Template:
    """One parsed template with values for its parameters (the rest take their defaults)."""

    def __init__(self, name: str, **parameters: Any) -> None:
        self.json = parsed(name)
        unknown = set(parameters) - set(self.json["parameters"])
        if unknown:
            raise KeyError(f"{name} has no parameters {sorted(unknown)}")
        self._parameters = parameters

    def module(self, name: str) -> dict[str, Any]:
        """A module's declaration: `path` (registry path or file), `tag` and evaluated `params`."""
        module = self.json["modules"][name]
        detail = module["detail"]
        return {
            "type": module["type"],
            "path": detail.get("path", detail.get("full")),
            "tag": detail.get("tag"),
            "params": self.value(module["config"]["params"]),
        }

    def parameter(self, name: str) -> Any:
        """A parameter's value: the one given, else its default."""
        if name in self._parameters:
            return self._parameters[name]
        return self.value(self.json["parameters"][name]["default"])

    def allowed(self, name: str) -> list[Any]:
        """A parameter's `@allowed` values (empty without the decorator)."""
        for decorator in self.json["parameters"][name]["decorators"]:
            if decorator["type"] == "allowed":
                return list(decorator["argument"])
        return []

    def variable(self, name: str) -> Any:
        """A variable, evaluated."""
        return self.value(self.json["variables"][name]["value"])

    def value(self, node: Any) -> Any:
        """Any expression of the template, evaluated as far as the template alone allows."""
        if isinstance(node, str):
            return self._string(node)
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if isinstance(node, Mapping):
            if set(node) == {"operator"}:
                return self._operator(node["operator"])
            if set(node) == {"function"}:
                return self._function(node["function"])
            return {key.strip("'"): self.value(item) for key, item in node.items()}
        return node

    def _string(self, text: str) -> Any:
        if text in self.json["parameters"]:
            return self.parameter(text)
        if text in self.json.get("variables", {}):
            return self.variable(text)
        if text in self.json.get("modules", {}) or text in self.json.get("resources", {}):
            return Ref(text)
        if _INTERPOLATION.search(text):
            return _INTERPOLATION.sub(lambda match: self._interpolated(match.group(1)), text)
        return text

    def _interpolated(self, expression: str) -> str:
        resolved = self._string(expression)
        if isinstance(resolved, Ref) or (resolved == expression and "." in expression):
            return "${" + expression + "}"  # known only in Azure: kept as written
        return str(resolved)

    def _operator(self, operator: Mapping[str, Any]) -> Any:
        kind, operands = operator["type"], operator["operands"]
        if kind == "conditional":
            chosen = "true_value" if self.value(operands["condition"]) is True else "false_value"
            return self.value(operands[chosen])
        if kind == "equals":
            return self.value(operands["operand_1"]) == self.value(operands["operand_2"])
        if kind == "not":
            return not self.value(operands["bool_value"])
        if kind == "and":
            return bool(self.value(operands["operand_1"])) and bool(self.value(operands["operand_2"]))
        if kind == "property_accessor":
            return Ref(self._path(operator))
        raise NotImplementedError(f"operator {kind!r} is not evaluated here")

    def _path(self, node: Any) -> str:
        """`identity.outputs.clientId` from pycep's nested property accessors."""
        if isinstance(node, str):
            return node
        if "operator" in node:
            node = node["operator"]
        if node.get("type") == "property_accessor":
            operands = node["operands"]
            return f"{self._path(operands['operand_1'])}.{self._path(operands['operand_2'])}"
        if "function" in node:
            return node["function"]["type"] + "()"
        raise NotImplementedError(f"no path for {node!r}")

    def _function(self, function: Mapping[str, Any]) -> Any:
        kind, arguments = function["type"], function["parameters"]
        if kind == "union":
            merged: dict[str, Any] = {}
            for argument in arguments.values():
                merged.update(self.value(argument))
            return merged
        if kind == "empty":
            item = self.value(arguments["item_to_test"])
            return not isinstance(item, Ref) and not item
        return Ref(f"{kind}()")
