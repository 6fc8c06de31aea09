"""Loading files into Documents; a bad file is reported and skipped, the rest goes on."""

from pathlib import Path

import pytest

from knowledge.errors import IngestError
from knowledge.loaders import load_folder, load_path, parse_markdown
from knowledge.types import Document

DEMO_KB = Path(__file__).resolve().parents[3] / "agent" / "demo" / "kb"


def test_front_matter_sets_title_url_and_locale() -> None:
    text = (
        "---\ntitle: Refunds\nurl: https://help.example/refunds\nlocale: de\n---\n"
        "\n# Other\n\nBody."
    )

    document = parse_markdown(text, "refunds.md", fallback_title="Fallback")

    assert document.title == "Refunds"
    assert document.url == "https://help.example/refunds"
    assert document.locale == "de"
    assert document.text == "# Other\n\nBody."
    assert "title:" not in document.text


def test_the_first_level_one_heading_is_the_title_without_front_matter() -> None:
    text = "Intro line.\n\n```\n# not a heading\n```\n\n# Shipping times\n\n## Costs\n\nFree."

    document = parse_markdown(text, "shipping.md", fallback_title="Shipping")

    assert document.title == "Shipping times"
    assert document.url is None
    assert document.locale == "en"


def test_the_file_name_is_the_title_when_nothing_else_is(tmp_path: Path) -> None:
    (tmp_path / "opening-hours.md").write_text("## Weekdays\n\nNine to six.")
    (tmp_path / "store_policy.txt").write_text("We are open.\n")

    result = load_folder(tmp_path)

    titles = {document.source: document.title for document in result.documents}
    assert titles == {"opening-hours.md": "Opening hours", "store_policy.txt": "Store policy"}


def test_sources_are_relative_posix_paths_in_a_stable_order(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("# B\n\nb")
    (tmp_path / "guides" / "setup").mkdir(parents=True)
    (tmp_path / "guides" / "setup" / "a.md").write_text("# A\n\na")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "secret.md").write_text("# S\n\ns")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")

    result = load_folder(tmp_path)

    assert [document.source for document in result.documents] == ["b.md", "guides/setup/a.md"]
    assert result.failures == []


def test_undecodable_and_empty_files_are_reported_and_the_rest_loaded(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("# Good\n\nFine.")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "empty.md").write_text("---\ntitle: Empty\n---\n")
    (tmp_path / "broken.md").write_text("---\ntitle: [unclosed\n---\n\nBody")

    result = load_folder(tmp_path)

    assert [document.source for document in result.documents] == ["good.md"]
    reasons = dict(result.failures)
    assert set(reasons) == {"latin1.txt", "empty.md", "broken.md"}
    assert "UTF-8" in reasons["latin1.txt"]
    assert reasons["empty.md"] == "no text"
    assert "front matter" in reasons["broken.md"]


def test_an_unreadable_file_is_reported_by_name(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("# Good\n\nFine.")
    (tmp_path / "dangling.md").symlink_to(tmp_path / "nowhere.md")

    result = load_folder(tmp_path)

    assert [document.source for document in result.documents] == ["good.md"]
    assert [source for source, _ in result.failures] == ["dangling.md"]
    assert result.failures[0][1].startswith("cannot read")


def test_a_single_file_can_be_loaded(tmp_path: Path) -> None:
    file = tmp_path / "faq.md"
    file.write_text("# FAQ\n\nAnswers.")

    result = load_path(file)

    assert result.documents == [Document(source="faq.md", title="FAQ", text="# FAQ\n\nAnswers.")]


def test_a_missing_path_is_an_ingest_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="neither a file nor a folder"):
        load_path(tmp_path / "missing")


def test_content_hash_follows_everything_that_is_indexed() -> None:
    base = Document(source="a.md", title="T", text="body", url="https://x/a")

    assert base.content_hash == Document(**{**base.__dict__}).content_hash
    assert base.content_hash != Document(source="a.md", title="T", text="body!").content_hash
    assert base.content_hash != Document(source="a.md", title="T2", text="body").content_hash
    changed_url = Document(source="a.md", title="T", text="body", url="https://x/b")
    assert base.content_hash != changed_url.content_hash


def test_the_demo_articles_all_load_with_front_matter() -> None:
    result = load_folder(DEMO_KB)

    assert result.failures == []
    assert len(result.documents) == 12
    for document in result.documents:
        slug = document.source.removesuffix(".md")
        assert document.url == f"https://help.brightleaf.example/articles/{slug}"
        assert document.title and document.locale == "en"
        words = len(document.text.split())
        assert 150 <= words <= 400, (document.source, words)
        assert document.text.count("\n## ") >= 2, document.source
