"""Timer functions that record each call, for devhost's timer trigger tests.

Each call appends what the function was given to `calls[<function name>]`, which tests
read through `DurableHost.app_module` (each host imports the module afresh).
"""

from typing import Any

import azure.functions as func

app = func.FunctionApp()

calls: dict[str, list[dict[str, Any]]] = {}


def _record(name: str, timer: func.TimerRequest) -> None:
    calls.setdefault(name, []).append(
        {"past_due": timer.past_due, "status": timer.schedule_status, "schedule": timer.schedule}
    )


@app.timer_trigger(arg_name="timer", schedule="0 0 2 * * *")
def nightly(timer: func.TimerRequest) -> None:
    """Every day at 02:00."""
    _record("nightly", timer)


@app.timer_trigger(arg_name="timer", schedule="%TIMER_APP_SCHEDULE%")
def configured(timer: func.TimerRequest) -> None:
    """The schedule an app setting holds."""
    _record("configured", timer)


@app.timer_trigger(arg_name="timer", schedule="06:00:00")
def every_six_hours(timer: func.TimerRequest) -> None:
    """A TimeSpan schedule: six hours after the last call."""
    _record("every_six_hours", timer)


@app.timer_trigger(arg_name="timer", schedule="0 30 9 * * *", run_on_startup=True)
def at_startup(timer: func.TimerRequest) -> None:
    """Every day at 09:30, and once as the host starts."""
    _record("at_startup", timer)


@app.timer_trigger(arg_name="timer", schedule="0 0 3 * * *")
def failing(timer: func.TimerRequest) -> None:
    """Every day at 03:00, and fails every time."""
    _record("failing", timer)
    raise RuntimeError("the nightly job failed")
