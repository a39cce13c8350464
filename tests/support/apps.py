"""Test function apps the hosts under test load, by folder."""

from pathlib import Path

# The fixture app touching every feature of the host, for devhost's protocol tests.
PROTOCOL_APP = Path(__file__).resolve().parents[1] / "apps" / "protocol_app"
