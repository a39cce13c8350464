"""The host's errors: each is a DevhostError with its HTTP status, and also the built-in
a caller who never imported devhost would catch."""

from __future__ import annotations

import pytest

from devhost.errors import (
    BadRequest,
    Conflict,
    DevhostError,
    Gone,
    HostStopped,
    NotFound,
    NotSettled,
    StartupError,
    StorageUnavailable,
)


@pytest.mark.parametrize(
    ("error", "builtin", "status"),
    [
        (NotFound, LookupError, 404),
        (BadRequest, ValueError, 400),
        (NotSettled, TimeoutError, 504),
        (StorageUnavailable, ConnectionError, 503),
        (HostStopped, RuntimeError, 503),
    ],
)
def test_each_error_is_caught_as_its_nearest_builtin(
    error: type[DevhostError], builtin: type[Exception], status: int
) -> None:
    cause = OSError("the storage socket closed")
    with pytest.raises(builtin) as raised:
        raise error("what happened", cause=cause)
    assert isinstance(raised.value, DevhostError)
    assert (str(raised.value), raised.value.message, raised.value.cause) == ("what happened", "what happened", cause)
    assert raised.value.status == status


@pytest.mark.parametrize("error", [Gone, Conflict, StartupError])
def test_errors_with_no_nearest_builtin_are_caught_only_as_devhost_errors(error: type[DevhostError]) -> None:
    assert error.__mro__[1:] == (DevhostError, Exception, BaseException, object)

