"""Loading files into Documents; a bad file is reported and skipped, the rest goes on."""

import os
from collections.abc import Collection, Iterable
from pathlib import Path

import pytest

from knowledge.chunking import chunk_document
from knowledge.errors import IngestError
from knowledge.ingest import ingest_path
from knowledge.loaders import (
    DEFAULT_EXCLUDE,
    DEFAULT_INCLUDE,
    DEFAULT_MAX_FILE_BYTES,
    load_folder,
    load_path,
    parse_markdown,
)
from knowledge.store import SyncSummary
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
    assert len(result.documents) == 38
    locales = [document.locale for document in result.documents]
    assert (locales.count("en"), locales.count("es"), locales.count("de")) == (32, 3, 3)
    for document in result.documents:
        folder, _, name = document.source.rpartition("/")
        slug = name.removesuffix(".md").removesuffix(".html")
        assert folder == ("" if document.locale == "en" else document.locale), document.source
        site = "https://help.brightleaf.example" + (f"/{folder}" if folder else "")
        assert document.url == f"{site}/articles/{slug}"
        assert document.title and document.format == "markdown"
        words = len(document.text.split())
        assert 150 <= words <= 400, (document.source, words)
        assert document.text.count("\n## ") >= 2, document.source


def test_the_demo_html_article_loses_its_site_chrome() -> None:
    [document] = load_path(DEMO_KB / "contacting-customer-support.html").documents

    assert document.title == "Contacting customer support"
    assert document.text.startswith("# Contacting customer support\n\n")
    assert "## Opening hours" in document.text
    chrome = ("Brightleaf Home Help Center", "Accept all", "Related articles", "Cookie settings")
    for text in (*chrome, "Tracking your order", "window.helpCenter", "analytics.js"):
        assert text not in document.text


# --- plain text ---------------------------------------------------------------------------


def test_plain_text_is_never_read_as_markdown(tmp_path: Path) -> None:
    body = "# of staff on duty: 3\n\n```\nnot code\n\nstill text"
    (tmp_path / "notes.txt").write_text(f"Opening hours\n\n{body}\n")

    [document] = load_folder(tmp_path).documents
    as_text = chunk_document(document, max_chars=12)
    as_markdown = chunk_document(Document("notes.md", "Opening hours", body), max_chars=12)

    assert (document.format, document.title, document.text) == ("text", "Opening hours", body)
    assert [(c.heading_path, c.text) for c in as_text] == [
        ((), "# of staff"),
        ((), "on duty: 3"),
        ((), "```\nnot code"),
        ((), "still text"),
    ]
    assert as_markdown[0].heading_path == ("of staff on duty: 3",)  # what .txt used to get


def test_markdown_keeps_its_headings_and_format() -> None:
    document = parse_markdown("# Title\n\n## Part\n\nBody.", "a.md", fallback_title="A")

    assert document.format == "markdown"
    assert [chunk.heading_path for chunk in chunk_document(document)] == [("Part",)]


def test_a_text_file_whose_first_line_is_a_sentence_takes_its_title_from_the_name(
    tmp_path: Path,
) -> None:
    (tmp_path / "returns_note.txt").write_text("Returns are free in the EU.\nAlways.\n")
    (tmp_path / "one-line.txt").write_text("Just a title-like line\n")

    documents = {document.source: document for document in load_folder(tmp_path).documents}

    assert documents["returns_note.txt"].title == "Returns note"
    assert documents["returns_note.txt"].text == "Returns are free in the EU.\nAlways."
    assert documents["one-line.txt"].title == "One line"  # nothing would be left as text
    assert documents["one-line.txt"].text == "Just a title-like line"


# --- bad input -----------------------------------------------------------------------------


def test_binary_empty_and_bom_files(tmp_path: Path) -> None:
    (tmp_path / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "zero.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text("  \n\n\t\n")
    (tmp_path / "bom.md").write_bytes("\ufeff# Caf\u00e9\n\nOpen daily.".encode())

    result = load_folder(tmp_path)

    assert [(d.source, d.title) for d in result.documents] == [("bom.md", "Caf\u00e9")]
    reasons = dict(result.failures)
    assert reasons["image.md"].startswith("binary data")
    assert reasons["zero.txt"] == "empty file"
    assert reasons["blank.md"] == "empty file"


def test_non_utf8_text_is_reported_with_the_offending_byte(tmp_path: Path) -> None:
    (tmp_path / "cp1252.txt").write_bytes("Price \u20ac5, caf\u00e9".encode("cp1252"))

    result = load_folder(tmp_path)

    assert result.documents == []
    assert result.failures == [
        ("cp1252.txt", "not UTF-8 text (byte 0x80 at offset 6); save it as UTF-8")
    ]


def test_a_file_over_the_size_limit_is_rejected_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "small.md").write_text("# Small\n\nFine.")
    with (tmp_path / "huge.txt").open("wb") as file:
        file.truncate(50 * 1024 * 1024)  # sparse: 50 MB that take no disk space
    opened: list[str] = []
    real_open = Path.open

    def spying_open(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        opened.append(self.name)
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", spying_open)

    result = load_folder(tmp_path)

    assert DEFAULT_MAX_FILE_BYTES == 20 * 1024 * 1024
    assert [document.source for document in result.documents] == ["small.md"]
    assert result.failures == [("huge.txt", "too large: 50.0 MB (the limit is 20.0 MB)")]
    assert opened == ["small.md"]


def test_the_size_limit_is_configurable(tmp_path: Path) -> None:
    (tmp_path / "at-limit.md").write_text("# A\n\n" + "a" * 95)  # 100 bytes
    (tmp_path / "over.md").write_text("# B\n\n" + "b" * 96)

    result = load_folder(tmp_path, max_file_bytes=100)

    assert [document.source for document in result.documents] == ["at-limit.md"]
    assert [source for source, _ in result.failures] == ["over.md"]
    assert result.failures[0][1].startswith("too large")
    with pytest.raises(IngestError, match="max_file_bytes"):
        load_folder(tmp_path, max_file_bytes=0)


def test_a_named_pipe_is_reported_instead_of_blocking_the_ingest(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("# Good\n\nFine.")
    os.mkfifo(tmp_path / "pipe.md")

    result = load_folder(tmp_path)

    assert [document.source for document in result.documents] == ["good.md"]
    assert result.failures == [("pipe.md", "not a regular file")]


def test_an_unexpected_loader_error_is_reported_and_the_rest_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.md").write_text("# A\n\nFine.")
    (tmp_path / "b.txt").write_text("B\n\nFine too.")

    def exploding(*args: object) -> Document:
        raise RuntimeError("loader bug")

    monkeypatch.setattr("knowledge.loaders.files.parse_markdown", exploding)

    result = load_folder(tmp_path)

    assert [document.source for document in result.documents] == ["b.txt"]
    assert result.failures == [("a.md", "cannot load (RuntimeError: loader bug)")]


# --- include / exclude and the folder walk ---------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in (
        "faq.md",
        "LOUD.MD",
        "notes.txt",
        "page.html",
        "data.csv",
        "drafts/wip.md",
        "guides/setup.md",
        "guides/archive/old.md",
        ".git/config.md",
        "guides/.cache.md",
    ):
        file = tmp_path / name
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(f"# {file.stem}\n\ntext of {name}")
    return tmp_path


def _sources(folder: Path, **options: object) -> list[str]:
    result = load_folder(folder, **options)  # type: ignore[arg-type]
    assert result.failures == []
    return [document.source for document in result.documents]


def test_default_include_takes_the_supported_formats_and_skips_hidden_paths(tree: Path) -> None:
    assert DEFAULT_INCLUDE == ("*.md", "*.markdown", "*.txt", "*.html", "*.htm", "*.pdf", "*.json")
    assert DEFAULT_EXCLUDE == (".*",)
    assert _sources(tree) == [
        "LOUD.MD",
        "drafts/wip.md",
        "faq.md",
        "guides/archive/old.md",
        "guides/setup.md",
        "notes.txt",
        "page.html",
    ]


def test_include_replaces_the_defaults(tree: Path) -> None:
    assert _sources(tree, include=["*.md"]) == [
        "LOUD.MD",
        "drafts/wip.md",
        "faq.md",
        "guides/archive/old.md",
        "guides/setup.md",
    ]
    assert _sources(tree, include=["guides/*.md"]) == ["guides/archive/old.md", "guides/setup.md"]
    assert _sources(tree, include=["*.csv"]) == ["data.csv"]  # unknown suffix: plain text


def test_exclude_matches_file_names_folder_names_and_paths(tree: Path) -> None:
    exclude = [*DEFAULT_EXCLUDE, "drafts", "*/archive/*", "notes.*"]

    assert _sources(tree, exclude=exclude) == ["LOUD.MD", "faq.md", "guides/setup.md", "page.html"]


def test_without_the_default_exclude_hidden_files_are_loaded(tree: Path) -> None:
    sources = _sources(tree, include=["*.md"], exclude=[])

    assert ".git/config.md" in sources
    assert "guides/.cache.md" in sources


def test_symlinked_folders_are_followed_once_and_loops_end(tmp_path: Path) -> None:
    (tmp_path / "kb" / "a").mkdir(parents=True)
    (tmp_path / "kb" / "a" / "one.md").write_text("# One\n\n1")
    (tmp_path / "kb" / "a" / "loop").symlink_to(tmp_path / "kb")  # points back up
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "two.md").write_text("# Two\n\n2")
    (tmp_path / "kb" / "linked").symlink_to(tmp_path / "shared")

    assert _sources(tmp_path / "kb") == ["a/one.md", "linked/two.md"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any folder")
def test_an_unreadable_folder_is_reported(tmp_path: Path) -> None:
    (tmp_path / "ok.md").write_text("# Ok\n\nFine.")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked").chmod(0)
    try:
        result = load_folder(tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)

    assert [document.source for document in result.documents] == ["ok.md"]
    assert [source for source, _ in result.failures] == ["locked"]


def test_the_cli_documents_the_loaders_defaults() -> None:
    from agent.cli import kb

    assert kb.DEFAULT_INCLUDE == DEFAULT_INCLUDE
    assert kb.DEFAULT_EXCLUDE == DEFAULT_EXCLUDE


def test_deskhand_ingest_passes_include_and_exclude_on(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from agent.cli import kb
    from agent.cli.main import app

    store = RecordingStore()
    monkeypatch.setattr(kb, "_open_store", lambda: store)
    args = ["ingest", str(tree), "--tenant", "acme"]

    default = CliRunner().invoke(app, args)
    chosen = CliRunner().invoke(
        app, [*args, "--include", "*.md", "--include", "*.txt", "--exclude", "guides"]
    )

    assert default.exit_code == 0, default.output
    assert "added 7" in default.output
    assert chosen.exit_code == 0, chosen.output
    assert [document.source for document in store.documents] == [
        "LOUD.MD",
        "drafts/wip.md",
        "faq.md",
        "notes.txt",
    ]
    assert "--include" in CliRunner().invoke(app, ["ingest", "--help"]).output


# --- ingest ---------------------------------------------------------------------------------


class RecordingStore:
    """Stands in for KnowledgeStore: records what a sync is asked to do."""

    def __init__(self) -> None:
        self.documents: list[Document] = []
        self.delete_missing: bool | None = None

    def sync_documents(
        self,
        tenant: str,
        documents: Iterable[Document],
        delete_missing: bool = False,
        keep_sources: Collection[str] = (),
        progress: object = None,
    ) -> SyncSummary:
        self.documents = list(documents)
        self.delete_missing = delete_missing
        return SyncSummary(added=len(self.documents))


def test_ingest_passes_include_exclude_and_the_size_limit_and_continues_past_failures(
    tree: Path,
) -> None:
    (tree / "latin1.md").write_bytes("caf\xe9".encode("latin-1"))
    (tree / "big.md").write_text("# Big\n\n" + "b" * 500)
    store = RecordingStore()

    report = ingest_path(
        store,  # type: ignore[arg-type]
        "demo",
        tree,
        delete_missing=True,
        include=["*.md"],
        exclude=[*DEFAULT_EXCLUDE, "drafts", "guides"],
        max_file_bytes=200,
    )

    assert [document.source for document in store.documents] == ["LOUD.MD", "faq.md"]
    assert report.summary.added == 2
    assert [source for source, _ in report.failures] == ["big.md", "latin1.md"]
    assert report.failed == 2
    # A file that failed may have held many documents: nothing is deleted this time.
    assert store.delete_missing is False and report.deletions_skipped


def test_ingest_keeps_its_defaults(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\nFine.")
    (tmp_path / ".hidden.md").write_text("# H\n\nHidden.")
    store = RecordingStore()

    report = ingest_path(store, "demo", tmp_path)  # type: ignore[arg-type]

    assert [document.source for document in store.documents] == ["a.md"]
    assert report.failed == 0
