"""Blob triggers, blob inputs and blob outputs, for tests/azurite/test_blob_*.py.

Every container comes from an app setting (BLOB_IN, BLOB_OUT, BLOB_FAIL, BLOB_DATA), so
each test watches and writes containers of its own on the session's one Azurite.
"""

import asyncio
import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


# --- triggers --------------------------------------------------------------------------


@app.blob_trigger(arg_name="blob", path="%BLOB_IN%/{name}.txt", connection="AzureWebJobsStorage")
@app.blob_output(arg_name="seen", path="%BLOB_OUT%/{name}/{rand-guid}.json", connection="AzureWebJobsStorage")
def describe_blob(blob: func.InputStream, seen: func.Out[str]) -> None:
    """Writes what the trigger gave, once per call: a new output blob each time."""
    properties = blob.blob_properties or {}
    seen.set(
        json.dumps(
            {
                "name": blob.name,
                "uri": blob.uri,
                "length": blob.length,
                "content": blob.read().decode("utf-8"),
                "metadata": blob.metadata,
                "contentType": properties.get("ContentType"),
            }
        )
    )


@app.blob_trigger(arg_name="blob", path="%BLOB_IN%/upper/{name}", connection="AzureWebJobsStorage")
@app.blob_output(arg_name="$return", path="%BLOB_OUT%/upper/{name}", connection="AzureWebJobsStorage")
def upper_blob(blob: bytes) -> str:
    """A `bytes` trigger and a `$return` output."""
    return blob.decode("utf-8").upper()


_LET_GO: dict[int, asyncio.Event] = {}


def let_go() -> asyncio.Event:
    """What held_blob waits for; the test sets it (one per event loop)."""
    return _LET_GO.setdefault(id(asyncio.get_running_loop()), asyncio.Event())


@app.blob_trigger(arg_name="blob", path="%BLOB_IN%/held/{name}", connection="AzureWebJobsStorage")
@app.blob_output(arg_name="done", path="%BLOB_OUT%/held/{name}", connection="AzureWebJobsStorage")
async def held_blob(blob: bytes, done: func.Out[str]) -> None:
    """A long call, which a test cuts short by stopping the host."""
    await let_go().wait()
    done.set(blob.decode("utf-8"))


@app.blob_trigger(arg_name="blob", path="%BLOB_FAIL%/{name}", connection="AzureWebJobsStorage")
def reject_blob(blob: func.InputStream) -> None:
    raise ValueError(f"cannot take {blob.name}")


# --- HTTP -------------------------------------------------------------------------------


@app.route(route="documents/{name}", methods=["PUT"])
@app.blob_output(arg_name="document", path="%BLOB_DATA%/{name}", connection="AzureWebJobsStorage")
def put_document(req: func.HttpRequest, document: func.Out[bytes]) -> func.HttpResponse:
    document.set(req.get_body())
    return func.HttpResponse(status_code=201)


@app.route(route="notes", methods=["POST"])
@app.blob_output(arg_name="note", path="%BLOB_DATA%/notes/{id}.txt", connection="AzureWebJobsStorage")
def post_note(req: func.HttpRequest, note: func.Out[str]) -> func.HttpResponse:
    """The output path takes `{id}` from the JSON body."""
    note.set(req.get_json()["text"])
    return func.HttpResponse(status_code=201)


@app.route(route="documents/{name}/text", methods=["GET"])
@app.blob_input(arg_name="text", path="%BLOB_DATA%/{name}", connection="AzureWebJobsStorage")
def get_text(req: func.HttpRequest, text: str) -> func.HttpResponse:
    if text is None:
        return func.HttpResponse("no such document", status_code=404)
    return func.HttpResponse(json.dumps({"type": type(text).__name__, "value": text}), mimetype="application/json")


@app.route(route="documents/{name}/binary", methods=["GET"])
@app.blob_input(arg_name="raw", path="%BLOB_DATA%/{name}", connection="AzureWebJobsStorage", data_type="binary")
def get_binary(req: func.HttpRequest, raw: bytes) -> func.HttpResponse:
    return func.HttpResponse(raw, headers={"x-python-type": type(raw).__name__})


@app.route(route="documents/{name}/stream", methods=["GET"])
@app.blob_input(arg_name="stream", path="%BLOB_DATA%/{name}", connection="AzureWebJobsStorage")
def get_stream(req: func.HttpRequest, stream: func.InputStream) -> func.HttpResponse:
    return func.HttpResponse(stream.read(), headers={"x-name": str(stream.name)})


# --- durable ----------------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def archive_document(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    return (yield context.call_activity("copy_document", context.get_input()))


@app.activity_trigger(input_name="request")
@app.blob_input(arg_name="source", path="%BLOB_DATA%/{name}", connection="AzureWebJobsStorage")
@app.blob_output(arg_name="archived", path="%BLOB_DATA%/archive/{name}", connection="AzureWebJobsStorage")
def copy_document(request: dict, source: str, archived: func.Out[str]) -> int:
    """Input and output paths take `{name}` from the activity's input."""
    archived.set(source)
    return len(source)
