"""host.json `extensions.queues`, read as the Functions host binds it to WebJobs
`QueuesOptions`: keys ignoring case, numbers and TimeSpans from JSON numbers or strings
(the configuration binder converts text: `TimeSpan.Parse`, so `"00:00:02"` is two
seconds and a bare `2` is two days), the same defaults and limits. A value the host
would refuse stops the start with one line naming the setting.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import StartupError
from ..triggers.timespans import setting_seconds

BASE64 = "base64"
NONE = "none"

# WebJobs `QueuesOptions` and `QueuePollingIntervals`.
DEFAULT_BATCH_SIZE = 16
MAX_BATCH_SIZE = 32  # what one Get Messages call returns at most
DEFAULT_MAX_DEQUEUE_COUNT = 5
DEFAULT_MAX_POLLING_S = 60.0
MIN_POLLING_S = 0.1

_INTEGER = re.compile(r"\s*[-+]?\d+\s*")


@dataclass(frozen=True)
class QueuesOptions:
    batch_size: int = DEFAULT_BATCH_SIZE
    # Fetch more once no more than this many of the function's messages are running.
    new_batch_threshold: int = DEFAULT_BATCH_SIZE // 2
    max_polling_s: float = DEFAULT_MAX_POLLING_S
    # How long a message whose function failed stays invisible before its retry.
    visibility_timeout_s: float = 0.0
    max_dequeue_count: int = DEFAULT_MAX_DEQUEUE_COUNT
    message_encoding: str = BASE64

    @classmethod
    def of(cls, section: Mapping[str, Any], settings: Mapping[str, str]) -> QueuesOptions:
        """Raises StartupError for a value the host refuses."""
        values = {key.lower(): value for key, value in section.items()}
        batch_size = _integer(values, "batchSize", 1, MAX_BATCH_SIZE)
        batch_size = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
        max_dequeue_count = _integer(values, "maxDequeueCount", 1, None)
        threshold = _integer(values, "newBatchThreshold", 0, None)
        if threshold is None:
            # "BatchSize/2*processorCount"; a Consumption plan counts one processor (WebJobs `SkuUtility`).
            processors = 1 if settings.get("WEBSITE_SKU", "").lower() == "dynamic" else os.cpu_count() or 1
            threshold = batch_size // 2 * processors
        max_polling = _timespan(values, "maxPollingInterval", DEFAULT_MAX_POLLING_S)
        if max_polling < MIN_POLLING_S:
            raise _refused("maxPollingInterval", values["maxpollinginterval"], "at least 00:00:00.1")
        visibility = _timespan(values, "visibilityTimeout", 0.0)
        if visibility < 0:
            raise _refused("visibilityTimeout", values["visibilitytimeout"], "a TimeSpan of 0 or more")
        return cls(
            batch_size=batch_size,
            new_batch_threshold=threshold,
            max_polling_s=max_polling,
            visibility_timeout_s=visibility,
            max_dequeue_count=DEFAULT_MAX_DEQUEUE_COUNT if max_dequeue_count is None else max_dequeue_count,
            message_encoding=_encoding(values),
        )


def _refused(key: str, value: Any, expected: str) -> StartupError:
    return StartupError(f"host.json: 'extensions.queues.{key}' must be {expected}, not {value!r}.")


def _integer(values: Mapping[str, Any], key: str, low: int, high: int | None) -> int | None:
    """The setting as an integer within [low, high]; None if host.json leaves it out."""
    value = values.get(key.lower())
    if value is None:
        return None
    expected = f"an integer from {low} to {high}" if high is not None else f"an integer of at least {low}"
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _refused(key, value, expected)
    if isinstance(value, str) and not _INTEGER.fullmatch(value):
        raise _refused(key, value, expected)
    number = int(value)
    if number < low or (high is not None and number > high):
        raise _refused(key, value, expected)
    return number


def _timespan(values: Mapping[str, Any], key: str, default: float) -> float:
    value = values.get(key.lower())
    if value is None:
        return default
    seconds = setting_seconds(value)
    if seconds is None:
        raise _refused(key, value, 'a TimeSpan such as "00:00:02"')
    return seconds


def _encoding(values: Mapping[str, Any]) -> str:
    value = values.get("messageencoding")
    if value is None:
        return BASE64
    # An enum, parsed ignoring case (`QueueMessageEncoding.None`/`.Base64`).
    if isinstance(value, str) and value.strip().lower() in (BASE64, NONE):
        return value.strip().lower()
    raise _refused("messageEncoding", value, '"base64" or "none"')
