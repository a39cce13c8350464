"""Index a function app as the Python worker does, and print its functions as JSON.

    python -I scripts/index_functions.py APP_DIR

Run with the deployment's own environment (scripts/package.py makes it from
requirements.txt alone): this file imports only the standard library and what the app
imports. The steps are the worker's `loader.index_function_app` (azure-functions-python-worker
`azure_functions_worker/loader.py`): the app folder on `sys.path`, `function_app` imported,
exactly one top-level `FunctionRegister` (a `FunctionApp`, or `df.DFApp`) in it, its
`get_functions()`; then each function's bindings as the worker hands them to the host
(`get_raw_bindings`, in `process_indexed_function`).
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any


def index(app_dir: str) -> list[dict[str, Any]]:
    sys.path.insert(0, app_dir)
    module = importlib.import_module("function_app")
    from azure.functions import FunctionRegister

    apps = [value for value in vars(module).values() if isinstance(value, FunctionRegister)]
    if len(apps) != 1:
        raise SystemExit(f"function_app.py defines {len(apps)} top-level function apps; the worker needs exactly one")
    indexed = []
    for function in apps[0].get_functions():
        bindings = [json.loads(raw) for raw in function.get_raw_bindings()]
        indexed.append({"name": function.get_function_name(), "bindings": bindings})
    return indexed


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(json.dumps(index(sys.argv[1]), indent=1))
