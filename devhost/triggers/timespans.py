"""TimeSpan strings as .NET's `TimeSpan.TryParse` reads them and `TimeSpan.ToString()` writes them.

A timer schedule that is not a crontab expression is one (`TimerSchedule.Create`). Modelled on
.NET's `TimeSpanParse.cs` with the invariant culture's separators, the culture the host runs in.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["format_timespan", "parse_timespan", "setting_seconds"]

TICKS_PER_SECOND = 10_000_000
_TICKS_PER_DAY = 86_400 * TICKS_PER_SECOND
_MAX_DAYS = 10_675_199
_MAX_MILLISECONDS = (2**63 - 1) // 10_000  # TimeSpan.MaxValue in milliseconds
_MAX_FRACTION_DIGITS = 7


@dataclass(frozen=True)
class _Number:
    """A `TimeSpanToken` of digits; leading zeroes count for a fraction (".05" is 0.05 s)."""

    value: int
    zeroes: int


_Token = _Number | str

# The literals around the numbers (`TimeSpanFormat.FormatLiterals`): start, day-hour,
# hour-minute, minute-second, second-fraction, end. The invariant ones are the "c" format's;
# the localized ones come from the culture's `FullTimeSpanPositivePattern`,
# d':'h':'mm':'ss'.'FFFFFFF, which is how "24:00:00" (an hour out of range) reads as 24 days.
_INVARIANT = ("", ".", ":", ":", ".", "")
_LOCALIZED = ("", ":", ":", ":", ".", "")
_START, _DAY_HOUR, _HOUR_MINUTE, _MINUTE_SECOND, _SECOND_FRACTION, _END = range(6)
_APP_COMPAT = -1  # minute-second then second-fraction, written as one literal (":.")

# For each count of numbers, the shapes `ProcessTerminal_*` tries in order: the literal
# between the numbers, and which component (d, h, m, s, f) each number is.
_SHAPES: dict[int, tuple[tuple[tuple[int, ...], str], ...]] = {
    1: (((_START, _END), "d"),),
    2: (((_START, _HOUR_MINUTE, _END), "hm"),),
    3: (
        ((_START, _HOUR_MINUTE, _MINUTE_SECOND, _END), "hms"),
        ((_START, _DAY_HOUR, _HOUR_MINUTE, _END), "dhm"),
        ((_START, _HOUR_MINUTE, _APP_COMPAT, _END), "hmf"),
    ),
    4: (
        ((_START, _HOUR_MINUTE, _MINUTE_SECOND, _SECOND_FRACTION, _END), "hmsf"),
        ((_START, _DAY_HOUR, _HOUR_MINUTE, _MINUTE_SECOND, _END), "dhms"),
        ((_START, _DAY_HOUR, _HOUR_MINUTE, _APP_COMPAT, _END), "dhmf"),
    ),
    5: (((_START, _DAY_HOUR, _HOUR_MINUTE, _MINUTE_SECOND, _SECOND_FRACTION, _END), "dhmsf"),),
}


def _tokens(text: str) -> list[_Token] | None:
    """`TimeSpanTokenizer.GetNextToken` and `TimeSpanRawInfo.ProcessToken`: numbers and the
    runs of other characters between them, an empty literal at either end that is a number,
    at most 5 numbers and 6 literals. None where .NET gives up (a number past 0x0FFFFFFF)."""
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        start = position
        if "0" <= text[position] <= "9":
            while position < len(text) and "0" <= text[position] <= "9":
                position += 1
            digits = text[start:position]
            value = int(digits)
            if value > 0x0FFFFFFF:
                return None
            if not tokens:
                tokens.append("")
            tokens.append(_Number(value, len(digits) - len(digits.lstrip("0")) if value else len(digits)))
        else:
            while position < len(text) and not "0" <= text[position] <= "9":
                position += 1
            tokens.append(text[start:position])
    if tokens and isinstance(tokens[-1], _Number):
        tokens.append("")
    numbers = sum(isinstance(token, _Number) for token in tokens)
    if numbers > 5 or len(tokens) - numbers > 6 or len(tokens) > 11:
        return None
    return tokens


def _fraction_ticks(number: _Number) -> int | None:
    """`TimeSpanToken.NormalizeAndValidateFraction`: the digits as seven, rounded half away."""
    if number.value == 0:
        return 0
    if number.zeroes == 0 and number.value > 9_999_999:
        return None
    digits = len(str(number.value)) + number.zeroes
    if digits <= _MAX_FRACTION_DIGITS:
        return number.value * int(10 ** (_MAX_FRACTION_DIGITS - digits))
    divisor = int(10 ** (digits - _MAX_FRACTION_DIGITS))
    quotient, remainder = divmod(number.value, divisor)
    return quotient + (2 * remainder >= divisor)


def _ticks(components: dict[str, _Number]) -> int | None:
    """`TimeSpanParse.TryTimeToTicks`: each component within its range, the whole within
    TimeSpan's."""

    def part(name: str) -> int:
        return components[name].value if name in components else 0

    days, hours, minutes, seconds = part("d"), part("h"), part("m"), part("s")
    fraction = _fraction_ticks(components["f"]) if "f" in components else 0
    if days > _MAX_DAYS or hours > 23 or minutes > 59 or seconds > 59 or fraction is None:
        return None
    milliseconds = (days * 86_400 + hours * 3_600 + minutes * 60 + seconds) * 1_000
    if milliseconds > _MAX_MILLISECONDS:
        return None
    ticks = milliseconds * 10_000 + fraction
    return ticks if ticks <= 2**63 - 1 else None


def parse_timespan(text: str) -> int | None:
    """The ticks (100 ns) of `TimeSpan.TryParse(text)`, or None where it returns false:
    `[ws][-]{ d | [d.]hh:mm[:ss[.fffffff]] | d:hh:mm[:ss[.fffffff]] }[ws]`, so "5" is five
    days, "01:30" ninety minutes and "24:00:00" twenty-four days."""
    tokens = _tokens(text.strip())
    if not tokens:
        return None
    literals = [token for token in tokens if isinstance(token, str)]
    numbers = [token for token in tokens if isinstance(token, _Number)]
    shapes = _SHAPES.get(len(numbers), ())
    # Invariant before localized, positive before negative (`ProcessTerminal_*`). With one,
    # two or five numbers the first shape whose literals match decides, even if its numbers
    # overflow; with three or four the next shape is tried after an overflow.
    first_match_decides = len(numbers) in (1, 2, 5)
    for base in (_INVARIANT, _LOCALIZED):
        for sign in ("", "-"):
            for separators, names in shapes:
                expected = [
                    base[_MINUTE_SECOND] + base[_SECOND_FRACTION]
                    if index == _APP_COMPAT
                    else sign + base[index]
                    if index == _START
                    else base[index]
                    for index in separators
                ]
                if expected != literals:
                    continue
                ticks = _ticks(dict(zip(names, numbers, strict=False)))
                if ticks is not None:
                    return -ticks if sign else ticks
                if first_match_decides:
                    return None
    return None


def format_timespan(ticks: int) -> str:
    """`TimeSpan.ToString()`, the "c" format: `[-][d.]hh:mm:ss[.fffffff]`."""
    sign = "-" if ticks < 0 else ""
    days, rest = divmod(abs(ticks), _TICKS_PER_DAY)
    hours, rest = divmod(rest, 3_600 * TICKS_PER_SECOND)
    minutes, rest = divmod(rest, 60 * TICKS_PER_SECOND)
    seconds, fraction = divmod(rest, TICKS_PER_SECOND)
    text = f"{sign}{f'{days}.' if days else ''}{hours:02d}:{minutes:02d}:{seconds:02d}"
    return f"{text}.{fraction:07d}" if fraction else text


def setting_seconds(value: object) -> float | None:
    """A host.json TimeSpan setting in seconds, as .NET's configuration binder reads one:
    a JSON string or integer alike as text (`2` is two days); None where it is no TimeSpan."""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return None
    ticks = parse_timespan(str(value))
    return None if ticks is None else ticks / TICKS_PER_SECOND
