"""A timeline (`timeline.py`) drawn as plain SVG text: a page embeds it as it is, with no
script, and a browser test counts its bars by their data attributes.

Names, reasons and event names come from the instance, so every text is escaped; the
output stays bounded whatever the history holds.
"""

from __future__ import annotations

import html
import math
import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from .timeline import Bar, BarKind, Marker, Outcome

# At most this many bars (and markers) are drawn; a note says how many were left out.
MAX_BARS = 500

_WIDTH = 960
_LEFT = 12
_RIGHT = 12
_LEGEND = 28  # the legend row, with the start time
_AXIS = 24  # tick labels above the lanes
_LANE = 22
_BAR = 16
_MARKS = 18  # marker labels below the lanes
_NOTE = 20
_CHAR = 7.0  # a generous width of one character at 12px, to decide whether a label fits
_MIN_BAR = 3.0  # work that took no time (any under a virtual clock) stays visible
_LABEL_CHARS = 48
_DETAIL_CHARS = 300

# Fills with at least 4.5:1 against white (WCAG AA for text, so white labels on them
# read too); the outcome is shown by shape as well as colour.
_FILLS = {
    BarKind.ACTIVITY: "#1d4ed8",
    BarKind.TIMER: "#8a5a00",
    BarKind.SUB_ORCHESTRATION: "#7e22ce",
    BarKind.ENTITY_CALL: "#0f766e",
    BarKind.EVENT_WAIT: "#475569",
}
_INK = "#111827"
_FAILED = "#b91c1c"
_GRID = "#6b7280"
_HATCH_ID = "devhost-timeline-failed"
# Pale stripes over a failed bar: a failure shows without telling red from other hues.
_HATCH = (
    f'<defs><pattern id="{_HATCH_ID}" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="3" height="6" fill="#ffffff" '
    'fill-opacity="0.55"/></pattern></defs>'
)
_OUTLINES = {
    Outcome.FAILED: f'stroke="{_FAILED}" stroke-width="2"',
    Outcome.RUNNING: f'stroke="{_INK}" stroke-width="1.5" stroke-dasharray="4 2"',
    Outcome.UNFINISHED: f'stroke="{_INK}" stroke-width="1.5" stroke-dasharray="1 2"',
}

# Tick steps in milliseconds (1-2-5 below a second, then clock-friendly ones), and the
# units tick labels are written in.
_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500]
_STEPS += [s * 1000 for s in (1, 2, 5, 10, 15, 30)]
_STEPS += [m * 60_000 for m in (1, 2, 5, 10, 15, 30)]
_STEPS += [h * 3_600_000 for h in (1, 2, 3, 6, 12)]
_STEPS += [d * 86_400_000 for d in (1, 2, 7, 14, 30, 90, 180, 365)]
_UNITS = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "min"), (1000, "s"), (1, "ms")]
_MAX_TICKS = 6
# Durations of a minute or more: the unit, and the next smaller one beside it.
_COARSE = ((86_400, "d", 3600, "h"), (3600, "h", 60, "min"), (60, "min", 1, "s"))

# XML 1.0 forbids these characters even escaped (and lone surrogates cannot be encoded
# at all); instance data, JSON-decoded, may hold any of them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render_svg(
    bars: Sequence[Bar],
    *,
    start: datetime,
    end: datetime,
    markers: Sequence[Marker] = (),
    episodes: int | None = None,
    limit: int = MAX_BARS,
) -> str:
    """The timeline from `start` to `end` (a `Timeline`'s span): the first `limit` bars
    and markers, in the order given. With `episodes` (a `Timeline`'s count), x is the
    episode rather than the time: the view for work a virtual clock gave no duration."""
    drawn, shown_markers = list(bars[:limit]), list(markers[:limit])
    omitted = len(bars) - len(drawn) + len(markers) - len(shown_markers)
    top = _LEGEND + _AXIS
    bottom = top + (max((bar.lane for bar in drawn), default=0) + 1) * _LANE
    below = bottom + (_MARKS if shown_markers else 0)
    height = below + (_NOTE if omitted or not bars else 0) + 4
    scale: _Scale = _TimeScale(start, end) if episodes is None else _EpisodeScale(episodes)
    summary = _esc(_summary(bars, len(drawn)))
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" '
            f'viewBox="0 0 {_WIDTH} {height}" width="{_WIDTH}" height="{height}" '
            f'font-family="system-ui, sans-serif" font-size="12" aria-label="{summary}">'
        ),
        f"<title>{summary}</title>",
        _HATCH,
        _legend(bars, scale.extent(start, end)),
        _axis(scale, top, bottom),
        '<g class="bars">',
        *_bars(drawn, scale, top),
        '</g><g class="markers">',
        *_markers(shown_markers, scale, top, bottom),
        "</g>",
    ]
    note = f"{omitted} more not drawn: the history lists every event." if omitted else ""
    if note or not bars:
        parts.append(
            f'<text class="note" x="{_LEFT}" y="{below + 14}" fill="{_INK}" data-omitted="{omitted}">'
            f"{note or 'Nothing scheduled, timed or awaited yet.'}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


class _Scale(ABC):
    """Where bars and markers go across, and the axis's ticks."""

    width = _WIDTH - _LEFT - _RIGHT

    def place(self, fraction: float) -> float:
        return _LEFT + min(max(fraction, 0.0), 1.0) * self.width

    def extent(self, start: datetime, end: datetime) -> str:
        """The legend's words for the whole span."""
        return f"from {_clock(start)} UTC, {_duration(end - start)}"

    @abstractmethod
    def bar(self, bar: Bar) -> tuple[float, float]:
        """x and width."""

    @abstractmethod
    def marker(self, marker: Marker) -> float: ...

    @abstractmethod
    def ticks(self) -> list[tuple[float, str]]: ...


class _TimeScale(_Scale):
    """Times to x; a span of no time (a chain under a virtual clock) is drawn as 1 ms."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start = start
        self.elapsed_ms = max(_ms(end - start), 0.0)
        self.span_ms = max(self.elapsed_ms, 1.0)

    def x(self, moment: datetime) -> float:
        return self.place(_ms(moment - self.start) / self.span_ms)

    def bar(self, bar: Bar) -> tuple[float, float]:
        return self.x(bar.start), max(self.x(bar.end) - self.x(bar.start), _MIN_BAR)

    def marker(self, marker: Marker) -> float:
        return self.x(marker.at)

    def ticks(self) -> list[tuple[float, str]]:
        """A few round steps of time since the start, labelled in one unit."""
        step = next((s for s in _STEPS if self.span_ms / s <= _MAX_TICKS), None)
        if step is None:  # beyond the table (years): whole multiples of its last step
            step = _STEPS[-1] * math.ceil(self.span_ms / _MAX_TICKS / _STEPS[-1])
        unit, unit_name = next((u for u in _UNITS if self.span_ms >= 2 * u[0]), _UNITS[-1])
        return [
            (self.place(n * step / self.span_ms), "0" if n == 0 else f"{n * step / unit:g} {unit_name}")
            for n in range(int(self.elapsed_ms // step) + 1)
        ]


class _EpisodeScale(_Scale):
    """Episodes to x, each a column: work runs from the episode that scheduled it to the
    one its result reached, so a chain steps along and a fan-out's bars overlap."""

    def __init__(self, episodes: int) -> None:
        self.episodes = max(episodes, 1)

    def bar(self, bar: Bar) -> tuple[float, float]:
        left, right = self._middle(bar.first_episode), self._middle(bar.last_episode)
        return left, max(right - left, _MIN_BAR)

    def marker(self, marker: Marker) -> float:
        return self._middle(marker.episode)

    def extent(self, start: datetime, end: datetime) -> str:
        plural = "" if self.episodes == 1 else "s"
        return f"{self.episodes} episode{plural} from {_clock(start)} UTC, {_duration(end - start)}"

    def ticks(self) -> list[tuple[float, str]]:
        every = math.ceil(self.episodes / _MAX_TICKS)
        return [(self._middle(n), f"episode {n}") for n in range(1, self.episodes + 1, every)]

    def _middle(self, episode: int) -> float:
        return self.place((episode - 0.5) / self.episodes)


def _bars(bars: list[Bar], scale: _Scale, top: int) -> list[str]:
    """One `<g>` per bar, the shortest drawn last: work that took no time stays visible
    over a long bar beside it (a failed attempt where its retry delay begins)."""
    extents = [scale.bar(bar) for bar in bars]
    labels = _labels(bars, extents, top)
    out: list[str] = []
    for index in sorted(range(len(bars)), key=lambda i: -extents[i][1]):
        bar, (x, width) = bars[index], extents[index]
        y = _bar_y(bar, top)
        attempt = f' data-attempt="{bar.attempt}"' if bar.attempt is not None else ""
        out.append(
            f'<g class="bar" data-kind="{bar.kind.value}" data-outcome="{bar.outcome.value}" '
            f'data-lane="{bar.lane}"{attempt}><title>{_esc(_tooltip(bar))}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{_BAR}" rx="2" '
            f'fill="{_FILLS[bar.kind]}" {_OUTLINES.get(bar.outcome, "")}/>'
        )
        if bar.outcome == Outcome.FAILED:
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{_BAR}" fill="url(#{_HATCH_ID})"/>')
        out.append(labels[index] + "</g>")
    return out


def _labels(bars: list[Bar], extents: list[tuple[float, float]], top: int) -> list[str]:
    """Each bar's label inside it when it fits, else just after it when no other bar of
    its lane and no label placed before lies there, else only in its tooltip."""
    lanes: dict[int, list[tuple[int, float, float]]] = {}
    for index, (bar, (x, width)) in enumerate(zip(bars, extents, strict=False)):
        lanes.setdefault(bar.lane, []).append((index, x, x + width))
    placed: dict[int, list[tuple[int, float, float]]] = {}
    labels: list[str] = []
    for index, (bar, (x, width)) in enumerate(zip(bars, extents, strict=False)):
        text = _clip(bar.label + (f" #{bar.attempt}" if bar.attempt is not None else ""), _LABEL_CHARS)
        needed = len(text) * _CHAR + 8
        baseline = _bar_y(bar, top) + 12
        if width >= needed:
            labels.append(f'<text x="{x + 4:.1f}" y="{baseline:.1f}" fill="#ffffff">{_esc(text)}</text>')
            continue
        left, right = x + width, x + width + needed
        nearby = lanes[bar.lane] + placed.get(bar.lane, [])
        if right > _WIDTH - _RIGHT or any(
            other != index and start < right and left < end for other, start, end in nearby
        ):
            labels.append("")
            continue
        placed.setdefault(bar.lane, []).append((-1, left, right))
        labels.append(f'<text x="{left + 4:.1f}" y="{baseline:.1f}" fill="{_INK}">{_esc(text)}</text>')
    return labels


def _bar_y(bar: Bar, top: int) -> float:
    return top + bar.lane * _LANE + (_LANE - _BAR) / 2


def _markers(markers: list[Marker], scale: _Scale, top: int, bottom: int) -> list[str]:
    """A line across the lanes per marker, its label below them unless that would
    overlap the label before (markers at one instant, as under a virtual clock)."""
    out: list[str] = []
    taken = -math.inf
    for marker in markers:
        x = scale.marker(marker)
        label = _clip(marker.label, _LABEL_CHARS)
        width = len(label) * _CHAR
        left = x - width - 4 if x > _WIDTH / 2 else x + 4
        tooltip = f"{marker.label} at {_clock(marker.at)} UTC"
        if marker.detail:
            tooltip += "\n" + _clip(marker.detail, _DETAIL_CHARS)
        out.append(
            f'<g class="marker" data-marker="{_esc(marker.label)}"><title>{_esc(tooltip)}</title>'
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom + 4}" stroke="{_INK}" stroke-width="2"/>'
        )
        if left > taken:
            out.append(f'<text x="{left:.1f}" y="{bottom + 15}" fill="{_INK}">{_esc(label)}</text>')
            taken = left + width + 8
        out.append("</g>")
    return out


def _legend(bars: Sequence[Bar], span: str) -> str:
    """The kinds present (and the failure mark when a bar failed), then the span."""
    kinds = [kind for kind in BarKind if any(bar.kind == kind for bar in bars)]
    items: list[str] = []
    x = float(_LEFT)
    for kind in kinds:
        items.append(
            f'<rect x="{x:.1f}" y="6" width="12" height="12" rx="2" fill="{_FILLS[kind]}"/>'
            f'<text x="{x + 16:.1f}" y="16" fill="{_INK}">{_esc(kind.display)}</text>'
        )
        x += 16 + len(kind.display) * _CHAR + 12
    if any(bar.outcome == Outcome.FAILED for bar in bars):
        items.append(
            f'<rect x="{x:.1f}" y="6" width="12" height="12" rx="2" fill="{_GRID}" stroke="{_FAILED}" '
            f'stroke-width="2"/><rect x="{x:.1f}" y="6" width="12" height="12" fill="url(#{_HATCH_ID})"/>'
            f'<text x="{x + 16:.1f}" y="16" fill="{_INK}">failed</text>'
        )
    items.append(f'<text x="{_WIDTH - _RIGHT}" y="16" text-anchor="end" fill="{_INK}">{_esc(span)}</text>')
    return '<g class="legend">' + "".join(items) + "</g>"


def _axis(scale: _Scale, top: int, bottom: int) -> str:
    ticks: list[str] = []
    for n, (x, label) in enumerate(scale.ticks()):
        anchor = "start" if n == 0 and x < _LEFT + 30 else "end" if x > _WIDTH - _RIGHT - 30 else "middle"
        ticks.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="{_GRID}" '
            f'stroke-width="0.5" stroke-dasharray="2 3"/>'
            f'<text x="{x:.1f}" y="{top - 8}" text-anchor="{anchor}" fill="{_INK}">{label}</text>'
        )
    return (
        f'<g class="axis"><line x1="{_LEFT}" y1="{top}" x2="{_WIDTH - _RIGHT}" y2="{top}" '
        f'stroke="{_GRID}"/>' + "".join(ticks) + "</g>"
    )


def _summary(bars: Sequence[Bar], drawn: int) -> str:
    """What a screen reader hears for the whole drawing: counts by kind and outcome."""
    if not bars:
        return "Timeline: nothing scheduled yet"
    kinds = Counter(bar.kind for bar in bars)
    outcomes = Counter(bar.outcome for bar in bars)
    by_kind = ", ".join(f"{kinds[kind]} {kind.display}" for kind in BarKind if kinds[kind])
    by_outcome = ", ".join(f"{outcomes[o]} {o.value}" for o in Outcome if outcomes[o])
    shown = f"; {drawn} of {len(bars)} drawn" if drawn < len(bars) else ""
    return f"Timeline of {len(bars)} bars: {by_kind}; {by_outcome}{shown}"


def _tooltip(bar: Bar) -> str:
    attempt = f" (attempt {bar.attempt})" if bar.attempt is not None else ""
    lines = [
        _clip(bar.label, _DETAIL_CHARS) + attempt,
        f"{bar.kind.display}, {_duration(bar.duration)}, {bar.outcome.value}",
        f"{_clock(bar.start)} to {_clock(bar.end)} UTC",
    ]
    if bar.detail:
        lines.append(_clip(bar.detail, _DETAIL_CHARS))
    return "\n".join(lines)


def _duration(span: timedelta) -> str:
    """`0 ms`, `250 ms`, `1.5 s`, `2 min 5 s`, `3 h 10 min`, `2 d 4 h`."""
    ms = _ms(span)
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.3g} s"
    seconds = int(ms // 1000)
    size, name, smaller, smaller_name = next(unit for unit in _COARSE if seconds >= unit[0])
    rest = (seconds % size) // smaller
    return f"{seconds // size} {name}" + (f" {rest} {smaller_name}" if rest else "")


def _clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _ms(span: timedelta) -> float:
    return span.total_seconds() * 1000


def _clip(text: str | None, most: int) -> str:
    text = text or ""
    return text if len(text) <= most else text[: most - 1] + "…"


def _esc(text: str) -> str:
    """Text fit for an SVG element or attribute, served as HTML or as XML."""
    return html.escape(_NOT_XML.sub("\ufffd", text), quote=True)
