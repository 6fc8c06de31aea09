"""Find the files to load below a folder: include and exclude globs, in a stable order.

Patterns are matched case-insensitively. A pattern without ``/`` is matched against
names: for ``include`` the file's name, for ``exclude`` the file's name and the name of
every folder above it (so ``.*`` skips hidden files and folders, ``drafts`` a folder).
A pattern with ``/`` is matched against the whole path relative to the folder, posix
style, where ``*`` also matches across folders (``drafts/*``, ``*/archive/*``).

Symbolic links to folders are followed, but no real folder is walked twice, so a link
that points back up the tree cannot loop.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

DEFAULT_INCLUDE = ("*.md", "*.markdown", "*.txt", "*.html", "*.htm", "*.pdf", "*.json")
DEFAULT_EXCLUDE = (".*",)


@dataclass(frozen=True)
class Walk:
    """The matching files, sorted by relative path, and the folders that could not be read."""

    files: list[Path] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)


def matching_files(
    folder: Path, include: Sequence[str] = DEFAULT_INCLUDE, exclude: Sequence[str] = DEFAULT_EXCLUDE
) -> Walk:
    """Files below ``folder`` that match an ``include`` pattern and no ``exclude`` pattern."""
    walk = Walk()
    seen = {_folder_key(folder)}

    def unreadable(error: OSError) -> None:
        where = Path(error.filename or folder).relative_to(folder).as_posix()
        walk.failures.append((where, f"cannot read folder: {error.strerror or error}"))

    for current, folders, files in os.walk(folder, onerror=unreadable, followlinks=True):
        here = Path(current)
        folders[:] = [
            name for name in sorted(folders) if _enter(folder, here / name, exclude, seen)
        ]
        for name in files:
            relative = PurePosixPath((here / name).relative_to(folder).as_posix())
            if is_included(relative, include) and not is_excluded(relative, exclude):
                walk.files.append(here / name)
    walk.files.sort(key=lambda file: file.relative_to(folder).as_posix())
    walk.failures.sort()
    return walk


def is_included(relative: PurePosixPath, include: Sequence[str]) -> bool:
    """Whether a file's relative path matches one of the include patterns."""
    return any(_matches(relative, pattern, (relative.name,)) for pattern in include)


def is_excluded(relative: PurePosixPath, exclude: Sequence[str]) -> bool:
    """Whether the path, its name or one of its folders' names matches an exclude pattern."""
    return any(_matches(relative, pattern, relative.parts) for pattern in exclude)


def _matches(relative: PurePosixPath, pattern: str, names: Sequence[str]) -> bool:
    pattern = pattern.lower()
    if "/" in pattern:
        return fnmatchcase(relative.as_posix().lower(), pattern.strip("/"))
    return any(fnmatchcase(name.lower(), pattern) for name in names)


def _enter(
    root: Path, path: Path, exclude: Sequence[str], seen: set[tuple[int, int] | None]
) -> bool:
    """Walk into a folder unless it is excluded or (through a link) already walked."""
    if is_excluded(PurePosixPath(path.relative_to(root).as_posix()), exclude):
        return False
    key = _folder_key(path)
    if key is None or key in seen:
        return False
    seen.add(key)
    return True


def _folder_key(path: Path) -> tuple[int, int] | None:
    """The real folder's identity (device, inode), following links; None if unreachable."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino
