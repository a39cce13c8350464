"""Activities of `monitor_job`: poll a job's status endpoint, alert when it ends.

A poll never raises: an unreachable endpoint or a body that is not JSON comes back as
`{"state": "unreachable", "error": ...}`, so one bad poll does not end the monitor.
"""

import logging
from typing import Any

import aiohttp
import azure.durable_functions as df

from . import gateways

bp = df.Blueprint()
logger = logging.getLogger(__name__)

POLL_TIMEOUT_SECONDS = 10


@bp.activity_trigger(input_name="status_url")
async def check_job_status(status_url: str) -> dict[str, Any]:
    """GETs the job's status: `{"state": <its "status">, "job": <body>, "http_status": int}`."""
    timeout = aiohttp.ClientTimeout(total=POLL_TIMEOUT_SECONDS)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(status_url, headers={"Accept": "application/json"}) as reply:
                if reply.status >= 400:
                    return _unreachable(status_url, f"HTTP {reply.status}")
                job = await reply.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError) as error:
        return _unreachable(status_url, f"{type(error).__name__}: {error}")
    except ValueError as error:  # the body is not JSON
        return _unreachable(status_url, f"response is not JSON: {error}")
    state = job.get("status") if isinstance(job, dict) else None
    return {
        "state": state if isinstance(state, str) else "unknown",
        "job": job,
        "http_status": reply.status,
    }


def _unreachable(status_url: str, error: str) -> dict[str, Any]:
    logger.warning("job status %s unreachable: %s", status_url, error)
    return {"state": "unreachable", "error": error}


@bp.activity_trigger(input_name="alert")
def send_alert(alert: dict[str, Any]) -> dict[str, Any]:
    """Tells the on-call team how the job ended."""
    return gateways.notify(to=alert["to"], subject=alert["subject"], body=alert["body"])
