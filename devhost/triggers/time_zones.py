"""The zone WEBSITE_TIME_ZONE names: an IANA name, or a Windows one as the host on Windows takes.

The timer listener computes occurrences in the machine's local zone, which App Service sets
from WEBSITE_TIME_ZONE (UTC without it); this host has no such machine zone, so it asks here.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["find_time_zone"]

# Windows time zone ids (the "Microsoft Time Zone Index" names the docs point at) for the
# common zones, each with the IANA zone of the place the Windows zone is named for.
_WINDOWS_ZONES = {
    "UTC": "UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin",
    "Romance Standard Time": "Europe/Paris",
    "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw",
    "GTB Standard Time": "Europe/Bucharest",
    "FLE Standard Time": "Europe/Kyiv",
    "Russian Standard Time": "Europe/Moscow",
    "South Africa Standard Time": "Africa/Johannesburg",
    "Israel Standard Time": "Asia/Jerusalem",
    "Arabian Standard Time": "Asia/Dubai",
    "India Standard Time": "Asia/Kolkata",
    "China Standard Time": "Asia/Shanghai",
    "Singapore Standard Time": "Asia/Singapore",
    "Tokyo Standard Time": "Asia/Tokyo",
    "Korea Standard Time": "Asia/Seoul",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "New Zealand Standard Time": "Pacific/Auckland",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Alaskan Standard Time": "America/Anchorage",
    "Pacific Standard Time": "America/Los_Angeles",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time": "America/Denver",
    "Central Standard Time": "America/Chicago",
    "Eastern Standard Time": "America/New_York",
    "Atlantic Standard Time": "America/Halifax",
    "SA Pacific Standard Time": "America/Bogota",
    "Paraguay Standard Time": "America/Asuncion",
    "E. South America Standard Time": "America/Sao_Paulo",
    "Argentina Standard Time": "America/Argentina/Buenos_Aires",
}
# Windows looks its zone ids up case-insensitively.
_BY_FOLDED_NAME = {name.casefold(): iana for name, iana in _WINDOWS_ZONES.items()}


def find_time_zone(name: str | None) -> tzinfo | None:
    """The zone for a WEBSITE_TIME_ZONE value: UTC when it is unset or blank, None when
    neither the Windows table nor the IANA database knows the name."""
    if name is None or not name.strip():
        return UTC
    key = name.strip()
    try:
        return ZoneInfo(_BY_FOLDED_NAME.get(key.casefold(), key))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: not a valid key ("../x"); OSError: a folder of the database ("America").
        return None
