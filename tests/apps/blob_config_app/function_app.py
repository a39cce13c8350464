"""A blob trigger and a blob input configured by app settings, so that tests of bad
configuration set one of them wrong at a time (tests/azurite/test_blob_configuration.py)."""

import azure.functions as func

app = func.FunctionApp()


@app.blob_trigger(arg_name="blob", path="%WATCHED_PATH%", connection="WATCHED_CONNECTION")
@app.blob_input(arg_name="extra", path="%EXTRA_PATH%", connection="AzureWebJobsStorage")
def watch(blob: func.InputStream, extra: str) -> None:
    """Never runs: the tests only start the host."""
