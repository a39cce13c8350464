"""The rule by which hosts in one process share its environment (devhost/environment.py)."""

from __future__ import annotations

import logging

import pytest

from devhost.environment import SharedEnvironment


def test_a_host_adds_what_is_unset_and_takes_it_back_when_it_stops() -> None:
    environ = {"GIVEN": "from the shell"}
    applied = SharedEnvironment(environ).apply({"GIVEN": "from the file", "ADDED": "from the file"})
    assert environ == {"GIVEN": "from the shell", "ADDED": "from the file"}
    applied.release()
    applied.release()
    assert environ == {"GIVEN": "from the shell"}


def test_the_first_host_s_value_holds_until_the_last_host_naming_it_stops(caplog: pytest.LogCaptureFixture) -> None:
    environ: dict[str, str] = {}
    shared = SharedEnvironment(environ)
    first = shared.apply({"QUEUE": "first-queue"})
    with caplog.at_level(logging.WARNING):
        second = shared.apply({"QUEUE": "second-queue"})
    assert environ == {"QUEUE": "first-queue"}
    assert "App setting QUEUE is 'first-queue', as another running host set it" in caplog.text
    first.release()
    assert environ == {"QUEUE": "first-queue"}
    second.release()
    assert environ == {}


def test_a_variable_changed_while_the_host_ran_is_left_as_it_was_changed() -> None:
    environ: dict[str, str] = {}
    applied = SharedEnvironment(environ).apply({"MODE": "from the file"})
    environ["MODE"] = "set by the test"
    applied.release()
    assert environ == {"MODE": "set by the test"}
