"""Retry options with exponential backoff, which the Python SDK's class cannot express.

The Durable extension reads `backoffCoefficient` and `maxRetryIntervalInMilliseconds`
from `retryOptions` (ext `RetryOptionsConverter.cs`), but `df.RetryOptions.to_json()`
only writes the first interval and the attempt count (docs/protocol.md D.1).
"""

from typing import Union

import azure.durable_functions as df


class BackoffRetryOptions(df.RetryOptions):
    """`df.RetryOptions` that also sends a backoff coefficient and a cap on the interval."""

    def __init__(
        self,
        first_retry_interval_in_milliseconds: int,
        max_number_of_attempts: int,
        *,
        backoff_coefficient: float,
        max_retry_interval_in_milliseconds: int,
    ) -> None:
        super().__init__(first_retry_interval_in_milliseconds, max_number_of_attempts)
        if backoff_coefficient < 1:
            raise ValueError("backoff_coefficient must be at least 1")
        if max_retry_interval_in_milliseconds < first_retry_interval_in_milliseconds:
            raise ValueError("max_retry_interval_in_milliseconds is below the first interval")
        self.backoff_coefficient = backoff_coefficient
        self.max_retry_interval_in_milliseconds = max_retry_interval_in_milliseconds

    def delay_before_retry_ms(self, failed_attempt: int) -> int:
        """The wait after the 1-based `failed_attempt`, as DTFx `RetryInterceptor` computes it."""
        delay = self.first_retry_interval_in_milliseconds * (
            self.backoff_coefficient ** (failed_attempt - 1)
        )
        return int(min(delay, self.max_retry_interval_in_milliseconds))

    def to_json(self) -> dict[str, Union[str, int]]:
        body = super().to_json()
        body["backoffCoefficient"] = self.backoff_coefficient  # type: ignore[assignment]
        body["maxRetryIntervalInMilliseconds"] = self.max_retry_interval_in_milliseconds
        return body
