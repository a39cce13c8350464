"""Table input and output bindings written as the docs' Python v2 samples write them, for
holding devhost to what the Functions host reads and writes for them.

Notes are written under the route's keys (`POST /api/notes/{category}/{id}`, the body
as the entity) or in lists (`POST /api/batches/{category}`), and read back by keys
(`GET /api/notes/{category}/{id}`), by filter and take (`/api/scores/...`,
`/api/players/...`) or whole (`/api/tables/{table}`); each read answers the binding's
value as the function got it. `record_order` writes a row per step from an activity.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

CONNECTION = "AzureWebJobsStorage"


def _answer(value: str) -> func.HttpResponse:
    return func.HttpResponse(value, mimetype="application/json")


# --- output --------------------------------------------------------------------------


@app.route(route="notes/{category}/{id}", methods=["POST"])
@app.table_output(
    arg_name="note", connection=CONNECTION, table_name="Notes", partition_key="{category}", row_key="{id}"
)
def save_note(req: func.HttpRequest, note: func.Out[str]) -> func.HttpResponse:
    """Stores the request's JSON object under the route's keys."""
    note.set(req.get_body().decode())
    return func.HttpResponse(status_code=201)


@app.route(route="batches/{category}", methods=["POST"])
@app.table_output(arg_name="entities", connection=CONNECTION, table_name="Notes", partition_key="{category}")
def save_batch(req: func.HttpRequest, entities: func.Out[str]) -> func.HttpResponse:
    """Stores a JSON array of entities; those without a PartitionKey go under the route's."""
    entities.set(json.dumps(req.get_json()))
    return func.HttpResponse(status_code=201)


# --- input ---------------------------------------------------------------------------


@app.route(route="notes/{category}/{id}", methods=["GET"])
@app.table_input(
    arg_name="notes", connection=CONNECTION, table_name="Notes", partition_key="{category}", row_key="{id}"
)
def read_note(req: func.HttpRequest, notes: str) -> func.HttpResponse:
    """Answers what a binding by partition and row key hands the function."""
    return _answer(notes)


@app.route(route="scores/{league}/{minimum}", methods=["GET"])
@app.table_input(
    arg_name="scores",
    connection=CONNECTION,
    table_name="Scores",
    partition_key="{league}",
    filter="Score ge {minimum}",
    take=2,
)
def top_scores(req: func.HttpRequest, scores: str) -> func.HttpResponse:
    """At most two scores of the league at or above the route's minimum."""
    return _answer(scores)


@app.route(route="players/{name}", methods=["GET"])
@app.table_input(arg_name="players", connection=CONNECTION, table_name="Scores", filter="Name eq '{name}'")
def find_player(req: func.HttpRequest, players: str) -> func.HttpResponse:
    """The scores of the player named in the route, in any league."""
    return _answer(players)


@app.route(route="tables/{table}", methods=["GET"])
@app.table_input(arg_name="rows", connection=CONNECTION, table_name="{table}")
def read_table(req: func.HttpRequest, rows):  # type: ignore[no-untyped-def]
    """Every row of the table the route names (an unannotated parameter, as in the docs)."""
    return _answer(rows)


# --- an activity's output --------------------------------------------------------------


@app.activity_trigger(input_name="step")
@app.table_output(arg_name="row", connection=CONNECTION, table_name="Steps", partition_key="{order}")
def record_step(step: dict, row: func.Out[str]) -> str:
    """Writes one row per step, keyed by the order id of the activity's input."""
    row.set(json.dumps({"RowKey": step["step"], "Position": step["position"]}))
    return str(step["step"])


@app.orchestration_trigger(context_name="context")
def record_order(context: df.DurableOrchestrationContext) -> Generator[Any, Any, list[str]]:
    """Records an order's steps in turn; returns their names."""
    order = context.get_input()
    done = []
    for position, step in enumerate(("reserved", "paid", "shipped")):
        done.append((yield context.call_activity(record_step, {"order": order, "step": step, "position": position})))
    return done
