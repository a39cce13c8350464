"""Line, word and byte counting of streamed blobs, wherever the chunks happen to split."""

import hashlib

import pytest

from activities import TextStats


def stats_of(*chunks: bytes) -> dict:
    stats = TextStats()
    for chunk in chunks:
        stats.feed(chunk)
    return stats.finish()


@pytest.mark.parametrize(
    ("content", "lines", "words"),
    [
        (b"", 0, 0),
        (b"one", 1, 1),
        (b"one two\n", 1, 2),
        (b"one two\nthree", 2, 3),
        (b"\n\n", 2, 0),
        (b"  spaced   out \t words \r\n", 1, 3),
        ("naïve café — ok\n".encode(), 1, 4),
        (b"bad \xff\xfe bytes\n", 1, 3),
    ],
)
def test_counts_lines_words_and_bytes(content: bytes, lines: int, words: int) -> None:
    result = stats_of(content)

    assert (result["lines"], result["words"], result["size"]) == (lines, words, len(content))
    assert result["sha256"] == hashlib.sha256(content).hexdigest()


def test_every_split_point_gives_the_same_counts() -> None:
    content = "héllo wörld\nsecond  line ✓\n\nlast words".encode()
    whole = stats_of(content)

    for cut in range(len(content) + 1):
        assert stats_of(content[:cut], content[cut:]) == whole, f"split at byte {cut}"


def test_byte_by_byte_feeding_gives_the_same_counts() -> None:
    content = "a  b\tc\nδ ε\nζ".encode()

    assert stats_of(*[content[i : i + 1] for i in range(len(content))]) == stats_of(content)
    assert stats_of(content)["words"] == 6
    assert stats_of(content)["lines"] == 3
