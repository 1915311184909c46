"""Comments and docstrings point at what a clone of the repository has.

A comment that cites a protocol fact by number must find it in the numbered list of
tests/README.md, and no comment or docstring names a tracker entry by its number: it says what
it means instead.
"""

from __future__ import annotations

import ast
import functools
import io
import re
import tokenize
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "tests" / "README.md"
FACTS_HEADING = "## Discord protocol facts"
SOURCE_DIRS = ("bot", "cogs", "tests", "bench")

# "fact" or "facts", then a number, a range (a-b) or a list (a, b and c); any case.
CITATION = re.compile(r"\bfacts?\s+(\d+(?:\s*(?:[-–,]|and)\s*\d+)*)", re.IGNORECASE)
NUMBER_OR_RANGE = re.compile(r"(\d+)(?:\s*[-–]\s*(\d+))?")
# Notes that live outside the repository; a clone does not have them.
OUTSIDE_NOTES = re.compile(r"DISCORD_EMULATOR\.md")
# A tracker word (issue, task, ticket, PR, pull request, milestone) with a number, or a "#"
# number in brackets or after see/fixes/closes/resolves/refs. A channel mention "<#…>" is not one.
TRACKER = re.compile(
    r"\b(?:issues?|tasks?|tickets?|PRs?|pull\s+requests?|milestones?)\s*#?\s*\d+\b"
    r"|(?:[(\[]|\b(?:see|fix(?:es|ed)?|close[sd]?|resolve[sd]?|refs?)\s+)#\d+\b",
    re.IGNORECASE,
)


def defined_facts(readme: str) -> list[int]:
    """The item numbers of the README's numbered list of protocol facts, in order."""
    assert FACTS_HEADING in readme, f"tests/README.md has no {FACTS_HEADING!r} section"
    section = readme.split(FACTS_HEADING, 1)[1].split("\n## ", 1)[0]
    return [int(n) for n in re.findall(r"^(\d+)\. ", section, re.MULTILINE)]


Comment = tuple[int, str]  # (first line, text) of a ``#`` comment or a docstring


def comments(source: str) -> Iterator[Comment]:
    """Every ``#`` comment and every docstring of a module."""
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            docstring = ast.get_docstring(node, clean=False)
            if docstring is not None:
                yield node.body[0].lineno, docstring


@functools.cache
def file_comments(path: Path) -> tuple[Comment, ...]:
    """The comments of a file of the repository, parsed once per test run."""
    return tuple(comments(path.read_text(encoding="utf-8")))


def _where(name: str, comment: Comment, match: re.Match[str]) -> str:
    """``file:line`` of a match inside a comment or a docstring."""
    line, text = comment
    line += text.count("\n", 0, match.start())
    return f"{name}:{line}"


def cited_facts(text: str) -> Iterator[tuple[re.Match[str], int]]:
    """Each citation with each number it cites (a range cites every number in it)."""
    for citation in CITATION.finditer(text):
        for first, last in NUMBER_OR_RANGE.findall(citation.group(1)):
            for number in range(int(first), int(last or first) + 1):
                yield citation, number


def fact_problems(name: str, found: Iterable[Comment], defined: set[int]) -> list[str]:
    problems = []
    for comment in found:
        for citation, number in cited_facts(comment[1]):
            if number not in defined:
                where = _where(name, comment, citation)
                problems.append(f"{where}: cites fact {number}, which tests/README.md lacks")
        for outside in OUTSIDE_NOTES.finditer(comment[1]):
            where = _where(name, comment, outside)
            problems.append(f"{where}: points outside the repository; cite tests/README.md")
    return problems


def tracker_problems(name: str, found: Iterable[Comment]) -> list[str]:
    return [
        f"{_where(name, comment, match)}: cites {match.group(0)!r}; say what is meant instead"
        for comment in found
        for match in TRACKER.finditer(comment[1])
    ]


def python_files(*, with_tasks: bool = False) -> list[Path]:
    files = sorted(p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*.py"))
    return [*files, ROOT / "tasks.py"] if with_tasks else files


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_readme_numbers_its_protocol_facts_one_by_one() -> None:
    numbers = defined_facts(README.read_text(encoding="utf-8"))
    assert numbers, "tests/README.md lists no protocol facts"
    assert numbers == list(range(1, len(numbers) + 1))


def test_every_fact_a_comment_cites_is_in_the_readme() -> None:
    defined = set(defined_facts(README.read_text(encoding="utf-8")))
    problems = [
        problem
        for path in python_files()
        for problem in fact_problems(_name(path), file_comments(path), defined)
    ]
    assert not problems, "\n".join(problems)


def test_no_comment_or_docstring_cites_a_tracker_number() -> None:
    problems = [
        problem
        for path in python_files(with_tasks=True)
        for problem in tracker_problems(_name(path), file_comments(path))
    ]
    assert not problems, "\n".join(problems)


# The checks themselves: each sample is one that must be reported, or one that must pass.
BAD_FACTS = [
    "x = 1  # the header must be exact (tests/README.md, fact 99)\n",
    '"""Redirect both URLs (tests/README.md, facts 1-30)."""\n',
    "def f() -> None:\n    # Fact 40: required since 2.4.\n    pass\n",
    'class C:\n    """See facts 3, 5 and 77."""\n',
    "# Protocol facts: /work/shared/DISCORD_EMULATOR.md\n",
]
GOOD_FACTS = [
    "x = 1  # the header must be exact (tests/README.md, fact 5)\n",
    '"""Redirect both URLs (tests/README.md, facts 1-2)."""\n',
    'x = "fact 99"  # a string is not a comment\n',
    "# the facts of the case; a factory of 3 parts\n",
]
BAD_TRACKERS = [
    '"""Issue 4 end to end: ratings."""\n',
    '"""Ratings, as asked in task #3."""\n',
    "x = 1  # workaround for ticket 12\n",
    "x = 1  # fixes #4\n",
    'def f() -> None:\n    """Kept short (#17)."""\n',
]
GOOD_TRACKERS = [
    '"""Ratings end to end: reacting to rate, live cards."""\n',
    'TEXT = "issue 4"  # a string is not a comment\n',
    "# a mention of channel <#1> in sample text\n",
    "# the background task retries 3 times\n",
]


@pytest.mark.parametrize("source", BAD_FACTS)
def test_a_citation_of_a_missing_fact_is_reported(source: str) -> None:
    assert fact_problems("sample.py", comments(source), set(range(1, 26))) != []


@pytest.mark.parametrize("source", GOOD_FACTS)
def test_a_citation_of_a_listed_fact_passes(source: str) -> None:
    assert fact_problems("sample.py", comments(source), set(range(1, 26))) == []


@pytest.mark.parametrize("source", BAD_TRACKERS)
def test_a_tracker_number_is_reported(source: str) -> None:
    assert tracker_problems("sample.py", comments(source)) != []


@pytest.mark.parametrize("source", GOOD_TRACKERS)
def test_words_that_only_look_like_tracker_numbers_pass(source: str) -> None:
    assert tracker_problems("sample.py", comments(source)) == []


def test_the_readme_list_is_read_up_to_the_next_section() -> None:
    readme = f"# T\n\n1. no\n\n{FACTS_HEADING}\n\n1. one\n   more\n2. two\n\n## Next\n\n3. no\n"
    assert defined_facts(readme) == [1, 2]
