"""Blob trigger patterns and binding paths, as the WebJobs blob extension parses them."""

import pytest

from devhost.bindings.blob_paths import BlobPath, BlobPathError, BlobPattern, parse_blob_path, template_parameters


class TestPatternMatching:
    def test_a_capture_takes_what_lies_between_the_literals(self) -> None:
        pattern = BlobPattern("images/{name}.png")

        assert pattern.match("images", "cat.png") == {"name": "cat"}
        assert pattern.match("images", "cat.jpg") is None
        assert pattern.match("other", "cat.png") is None

    def test_captures_are_greedy_and_cross_slashes(self) -> None:
        pattern = BlobPattern("input/{folder}/{file}.{ext}")

        assert pattern.match("input", "a/b/c.tar.gz") == {"folder": "a/b", "file": "c.tar", "ext": "gz"}

    def test_the_blob_name_matches_case_sensitively(self) -> None:
        pattern = BlobPattern("docs/Report-{id}")

        assert pattern.match("docs", "Report-7") == {"id": "7"}
        assert pattern.match("docs", "report-7") is None

    def test_a_container_only_pattern_covers_every_blob_in_it(self) -> None:
        assert BlobPattern("docs").match("docs", "any/thing.bin") == {}

    def test_a_fixed_path_matches_that_blob_alone(self) -> None:
        pattern = BlobPattern("docs/readme.md")

        assert pattern.match("docs", "readme.md") == {}
        assert pattern.match("docs", "readme.md.bak") is None

    def test_doubled_braces_are_literal_braces(self) -> None:
        assert BlobPattern("docs/{{x}}-{name}").match("docs", "{x}-a") == {"name": "a"}

    def test_a_name_captured_twice_keeps_the_last(self) -> None:
        assert BlobPattern("docs/{n}-{n}").match("docs", "a-b") == {"n": "b"}


class TestPatternErrors:
    @pytest.mark.parametrize(
        ("pattern", "message"),
        [
            ("/name", "Invalid blob trigger path '/name'. Paths must be in the format 'container/blob'."),
            ("docs/", "Invalid blob trigger path 'docs/'. Paths must be in the format 'container/blob'."),
            ("{box}/x", "Invalid blob trigger path '{box}/x'. Container paths cannot contain {resolve} tokens."),
            ("Docs_1/{name}", "Invalid container name: Docs_1"),
            ("docs/{name", "Invalid template 'docs/{name'. Missing closing bracket at position 6."),
            ("docs/name}", "Invalid template 'docs/name}'. Missing opening bracket at position 10."),
            ("docs/{}", "Invalid template 'docs/{}'. The parameter name at position 6 is empty."),
            ("docs/{a.b}", "Capture expressions can't include dot operators"),
            ("docs/{a-b}", "The parameter name 'a-b' is invalid."),
            ("docs/x.", "has an invalid suffix"),
        ],
    )
    def test_a_pattern_the_extension_refuses_is_refused_with_its_message(self, pattern: str, message: str) -> None:
        with pytest.raises(BlobPathError) as refused:
            BlobPattern(pattern)
        assert message in str(refused.value)


class TestBindingPaths:
    def test_a_path_is_container_then_blob_name(self) -> None:
        assert parse_blob_path("docs/a/b.txt") == BlobPath("docs", "a/b.txt")

    def test_a_blob_url_names_its_container_and_blob(self) -> None:
        parsed = parse_blob_path("http://127.0.0.1:10000/devstoreaccount1/docs/a%20b.txt")

        assert parsed == BlobPath("docs", "a b.txt")

    @pytest.mark.parametrize("path", ["docs", "/docs/a", "docs/", "UPPER/a"])
    def test_a_path_that_names_no_blob_is_refused(self, path: str) -> None:
        with pytest.raises(BlobPathError):
            parse_blob_path(path)

    def test_template_parameters_are_the_expressions(self) -> None:
        assert template_parameters("out/{name}/{rand-guid}.{DateTime:yyyy}") == ["name", "rand-guid", "DateTime"]
