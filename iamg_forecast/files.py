"""Reading and writing files safely: the one place that opens user-named paths.

Reads are bounded and accept regular files only: a FIFO, a device (``/dev/zero`` behind a
symlink) or a directory is refused after ``open`` without reading a byte, and a file larger
than the stated limit is refused after reading one byte more than the limit.

Writes never clobber: the text goes to a unique temporary file created with :mod:`tempfile`
in the target's folder (``O_EXCL``, so a planted symlink is never followed), and is renamed
over the target at the end. A target that exists must be a regular file (not a FIFO, device,
symlink or directory), and its suffix must match the format being written.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from iamg_forecast.errors import FileRefusedError, short_text

__all__ = ["read_bounded", "read_text_bounded", "write_atomic", "check_writable_target",
           "is_sqlite_or_absent", "MIB"]

MIB = 1024 * 1024


def _describe(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


def read_bounded(path: str | Path, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, refusing anything else or anything larger.

    Parameters
    ----------
    path : str or Path
        The file (a symlink to a regular file is followed).
    limit : int
        Largest size accepted, in bytes.
    what : str
        What the file is, for the message (``"evidence file"``).

    Raises
    ------
    FileRefusedError
        When ``path`` is missing, not a regular file, unreadable, or larger than ``limit``.

    Examples
    --------
    >>> read_bounded("/dev/null", 10)
    Traceback (most recent call last):
    ...
    iamg_forecast.errors.FileRefusedError: /dev/null: is a character device; expected a regular file
    """
    p = short_text(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileRefusedError(p, "no such file") from None
    except IsADirectoryError:
        raise FileRefusedError(p, f"is a directory; expected a {what}") from None
    except OSError as err:
        raise FileRefusedError(p, f"cannot open: {err.strerror or err}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise FileRefusedError(p, f"is {_describe(mode)}; expected a regular file")
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(limit + 1 - total, MIB))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as err:
        raise FileRefusedError(p, f"cannot read: {err.strerror or err}") from None
    finally:
        os.close(fd)
    if total > limit:
        raise FileRefusedError(p, f"larger than the limit of {limit:,} bytes for a {what}")
    return b"".join(chunks)


def read_text_bounded(path: str | Path, limit: int, what: str = "file") -> str:
    """:func:`read_bounded` decoded as UTF-8 (a leading BOM is dropped).

    Raises
    ------
    FileRefusedError
        As :func:`read_bounded`, and when the bytes are not UTF-8.
    """
    data = read_bounded(path, limit, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise FileRefusedError(path, f"not UTF-8 text ({err.reason} at byte "
                               f"{err.start}); save the file as UTF-8") from None


def check_writable_target(path: str | Path, suffixes: Iterable[str] | None = None,
                          what: str = "file") -> Path:
    """Refuse a target that is not a new or regular file, or whose suffix does not match.

    Raises
    ------
    FileRefusedError
        For a directory, FIFO, device, socket or symlink at ``path``, or a suffix outside
        ``suffixes``.
    """
    path = Path(path)
    if suffixes is not None:
        allowed = tuple(s.lower() for s in suffixes)
        if path.suffix.lower() not in allowed:
            raise FileRefusedError(path, f"a {what} is written to a file ending "
                                   f"in {' or '.join(allowed)}, got {path.suffix or 'no suffix'!r}")
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return path
    except OSError as err:
        raise FileRefusedError(path, f"cannot inspect: {err.strerror or err}"
                               ) from None
    if not stat.S_ISREG(mode):
        raise FileRefusedError(path, f"is {_describe(mode)}; refusing to replace "
                               f"it with a {what}")
    return path


def write_atomic(path: str | Path, data: str | bytes, *, suffixes: Iterable[str] | None = None,
                 what: str = "file") -> Path:
    """Write ``data`` to ``path`` through a unique temporary file renamed at the end.

    A reader never sees a half-written file; a failed write leaves the target as it was and
    no temporary file behind.

    Parameters
    ----------
    path : str or Path
        The target: new, or an existing regular file (replaced).
    data : str or bytes
        Text is written as UTF-8, byte for byte (no newline translation).
    suffixes : iterable of str, optional
        Suffixes the target may have (``(".md", ".markdown")``).
    what : str
        What is written, for messages.

    Raises
    ------
    FileRefusedError
        See :func:`check_writable_target`; also when the folder cannot be written.

    Examples
    --------
    >>> import pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_atomic(d / "r.md", "# ok", suffixes=(".md",)).read_text()
    '# ok'
    """
    path = check_writable_target(path, suffixes, what)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp",
                                   dir=path.parent)
    except OSError as err:
        raise FileRefusedError(path, f"cannot write: {err.strerror or err}"
                               ) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        check_writable_target(path, suffixes, what)   # unchanged kind while we wrote
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def is_sqlite_or_absent(path: str | Path) -> bool:
    """True when ``path`` does not exist or starts with the SQLite header.

    An empty or unrelated file is not turned into a store.

    Examples
    --------
    >>> is_sqlite_or_absent("/surely/not/here.sqlite")
    True
    """
    try:
        head = read_bounded_prefix(path, 16)
    except FileNotFoundError:
        return True
    return head == b"SQLite format 3\x00"


def read_bounded_prefix(path: str | Path, n: int) -> bytes:
    """The first ``n`` bytes of a regular file (raises ``FileNotFoundError`` when missing)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        return os.read(fd, n)
    finally:
        os.close(fd)
