"""Reply text helpers shared by the nodes: cutting to length, quoting a passage."""

from knowledge.types import Passage


def shorten(text: str, limit: int) -> str:
    """Cut at the last sentence end (or word) before ``limit`` characters."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "), cut.rfind("\n"))
    if end > limit // 3:  # a sentence end that keeps a fair share of the text
        return cut[: end + 1].rstrip()
    return cut.rsplit(" ", 1)[0].rstrip() + "…"


def quoted_answer(passage: Passage, limit: int) -> str:
    """The passage quoted for the customer, with its source."""
    paragraphs = [" ".join(p.split()) for p in passage.text.strip().split("\n\n") if p.strip()]
    quote = "\n>\n".join(f"> {paragraph}" for paragraph in paragraphs)
    source = f"{passage.title} — {passage.url}" if passage.url else passage.title
    intro = "Here is what our help center says about this:"
    return shorten(f"{intro}\n\n{quote}\n\nSource: {source}", limit)
