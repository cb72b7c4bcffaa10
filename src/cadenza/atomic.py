"""Write files and folders so that an interrupted run never leaves half-written output."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _default_mode(directory: bool) -> int:
    """The permissions a plain open()/mkdir() would give, under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it over `path`, else delete it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as error:  # a read-only folder: name the file asked for, not the temporary
        raise OSError(error.errno, error.strerror, str(target)) from None
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        os.chmod(temporary_path, _default_mode(directory=False))
        os.replace(temporary_path, target)
    finally:
        temporary_path.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a text file in one step (temporary file, then rename)."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


@contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; on success it replaces `path` as a whole.

    The old folder is moved aside before the new one takes its name, and removed only
    afterwards, so at every moment `path` is either the complete old or the complete new one.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        )
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(target)) from None
    try:
        yield staging
        os.chmod(staging, _default_mode(directory=True))
        retired = None
        if target.exists():
            retired = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
            )
            os.replace(target, retired / "previous")
        try:
            os.replace(staging, target)
        except BaseException:  # put the old folder back, whatever stopped the swap
            if retired is not None and not target.exists():
                os.replace(retired / "previous", target)
                shutil.rmtree(retired, ignore_errors=True)
            raise
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
