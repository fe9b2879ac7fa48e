"""Reading and writing files safely: the one place that opens user-named paths.

Reads are bounded and accept regular files only: a FIFO, a device (``/dev/zero`` behind a
symlink) or a directory is refused after ``open`` without reading a byte, and a file larger
than the stated limit is refused after reading one byte more than the limit.

Writes never clobber: the text goes to a unique temporary file created with :mod:`tempfile`
in the target's folder (``O_EXCL``, so a planted symlink is never followed), and is renamed
over the target at the end. A target that exists must be a regular file (not a FIFO, device,
symlink or directory), and its suffix must match the format being written.

Saved folders (:func:`save_folder`, :func:`read_saved_folder`) carry a marker and a manifest of
every file's size and SHA-256: a save replaces only a previous save, deletes only the files the
previous save's manifest lists, and removes the temporary folders of killed saves; a load
refuses a folder whose files do not match the manifest.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import tempfile
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Self

from iamg_forecast.errors import FileRefusedError, short_text

__all__ = ["read_bounded", "read_text_bounded", "write_atomic", "check_writable_target",
           "is_sqlite_or_absent", "MIB", "MARKER", "MANIFEST", "save_folder",
           "read_saved_folder", "check_save_target", "bundled_dir", "SQLiteHandle"]

MIB = 1024 * 1024


def bundled_dir(name: str) -> Path:
    """A data folder shipped with the package: ``_<name>`` inside the wheel, ``<name>/`` beside
    the package in a checkout (``priors``, ``backtests``).

    Examples
    --------
    >>> (bundled_dir("priors") / "reliability.yaml").exists()
    True
    """
    shipped = resources.files("iamg_forecast") / f"_{name}"
    if shipped.is_dir():
        return Path(str(shipped))
    return Path(__file__).resolve().parent.parent / name


#: What a file that is not a regular one is, by its mode.
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link"))


def _describe(mode: int) -> str:
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


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
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    except OSError as err:
        raise FileRefusedError(path, f"cannot inspect: {err.strerror or err}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise FileRefusedError(path, f"is {_describe(mode)}; refusing to replace it with a "
                               f"{what}")
    if suffixes is not None:
        allowed = tuple(s.lower() for s in suffixes)
        if path.suffix.lower() not in allowed:
            raise FileRefusedError(path, f"a {what} is written to a file ending in "
                                   f"{' or '.join(allowed)}, got {path.suffix or 'no suffix'!r}")
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
    except OSError:
        return True   # absent, or not openable: opening the database reports why
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


# ---- saved folders: a marker, a manifest of content hashes, atomic replacement ---------------
#: File every folder written by :func:`save_folder` holds (written first, so that a temporary
#: folder left by a killed save is recognisable as the library's own).
MARKER = ".iamg-save"
#: JSON listing every other file of a saved folder with its size and SHA-256.
MANIFEST = "manifest.json"
_TEMP_PREFIX = ".fc-"
_MANIFEST_LIMIT = 1 * MIB


def _sha256_file(path: Path, limit: int) -> tuple[str, int]:
    """SHA-256 and size of the regular file ``path`` (at most ``limit`` bytes), streamed."""
    import hashlib

    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(
        os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise FileRefusedError(path, f"cannot open: {err.strerror or err} (a saved file must "
                               "be a regular file, not a link)") from None
    h, total = hashlib.sha256(), 0
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FileRefusedError(path, "is not a regular file")
        while chunk := os.read(fd, MIB):
            total += len(chunk)
            if total > limit:
                raise FileRefusedError(path, f"larger than the limit of {limit:,} bytes")
            h.update(chunk)
    finally:
        os.close(fd)
    return h.hexdigest(), total


def _marker_text() -> str:
    import json
    import socket

    return json.dumps({"written_by": "iamg_forecast", "pid": os.getpid(),
                       "host": socket.gethostname()}) + "\n"


def _read_manifest(folder: Path) -> dict[str, dict[str, object]] | None:
    """The ``files`` of a folder's manifest, or None when it has no valid one."""
    import json

    try:
        data = json.loads(read_bounded(folder / MANIFEST, _MANIFEST_LIMIT, "manifest"))
    except (FileRefusedError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not all(
            isinstance(k, str) and "/" not in k and k not in (MARKER, MANIFEST, "", ".", "..")
            and isinstance(v, dict) for k, v in files.items()):
        return None
    return files


def _remove_own(folder: Path, extra: Iterable[str] = ()) -> bool:
    """Delete the files the library wrote in ``folder`` (its manifest's files, the manifest,
    the marker and ``extra``), then the folder if that left it empty. Nothing else is deleted.
    Returns whether the folder is gone.
    """
    names = set(extra) | {MARKER, MANIFEST} | set(_read_manifest(folder) or {})
    for name in names:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
            p = folder / name
            if p.is_symlink() or p.is_file():
                p.unlink()
    try:
        folder.rmdir()
    except OSError:
        return False
    return True


def _clean_stale_temps(parent: Path, own_files: Iterable[str]) -> None:
    """Remove temporary folders of killed saves in ``parent``: ``.fc-*`` folders holding the
    marker of a process on this host that no longer runs. A folder of a save still running,
    or holding anything the library did not write, is left alone.
    """
    import json
    import socket

    try:
        candidates = [p for p in parent.iterdir() if p.name.startswith(_TEMP_PREFIX)]
    except OSError:
        return
    host = socket.gethostname()
    for folder in candidates:
        if folder.is_symlink() or not folder.is_dir():
            continue
        try:
            marker = json.loads(read_bounded(folder / MARKER, 4096, "marker"))
            pid = int(marker["pid"])
            if marker.get("written_by") != "iamg_forecast" or marker.get("host") != host:
                continue
        except (FileRefusedError, ValueError, KeyError, TypeError):
            continue
        if pid == os.getpid() or _alive(pid):
            continue
        _remove_own(folder, own_files)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def check_save_target(dest: str | Path, what: str = "saved forecast") -> Path:
    """Refuse a save target that is a file, a link, or a folder holding anything but a
    previous save of the library (marker, manifest and the files it lists) or nothing.

    Raises
    ------
    FileRefusedError
        Naming what is in the way.
    """
    dest = Path(dest)
    if dest.is_symlink():
        raise FileRefusedError(dest, f"is a symbolic link; refusing to replace it with a {what}"
                               "; give the real folder")
    if not dest.exists():
        return dest
    if not dest.is_dir():
        raise FileRefusedError(dest, f"it is a file, expected a directory (new, empty, or "
                               f"holding a {what})")
    names = sorted(p.name for p in dest.iterdir())
    if not names:
        return dest
    listed = _read_manifest(dest) if MARKER in names else None
    allowed = {MARKER, MANIFEST} | set(listed or {})
    other = [n for n in names if n not in allowed] if listed is not None else [
        n for n in names if n not in (MARKER, MANIFEST)]
    if listed is None or other:
        shown = ", ".join(other[:5]) + (", ..." if len(other) > 5 else "")
        why = (f"it holds other files ({shown})" if other else
               "it has no valid marker and manifest of a save")
        raise FileRefusedError(dest, f"refusing to save the {what} over it: {why}; choose a "
                               "new directory")
    return dest


def save_folder(dest: str | Path, write: Callable[[Path], None],
                what: str = "saved forecast") -> Path:
    """Write a folder atomically: ``write(tmp)`` fills a fresh temporary folder beside
    ``dest``, which gets the marker and a manifest (size and SHA-256 of every file) and is
    then renamed to ``dest``.

    An existing ``dest`` is replaced only when :func:`check_save_target` accepts it; the
    previous save is moved aside until the new one is in place and then only the files its
    manifest lists are deleted. Temporary folders of killed saves are cleaned up first.

    Raises
    ------
    FileRefusedError
        See :func:`check_save_target`; also when ``write`` creates a folder or a link.
    """
    import json
    import shutil

    dest = check_save_target(dest, what)
    parent = dest.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX, dir=parent))
    try:
        (tmp / MARKER).write_text(_marker_text(), encoding="utf-8")
        write(tmp)
        files = {}
        for p in sorted(tmp.iterdir()):
            if p.name in (MARKER, MANIFEST):
                continue
            if p.is_symlink() or not p.is_file():
                raise FileRefusedError(p, "a save holds regular files only")
            digest, size = _sha256_file(p, 1 << 40)
            files[p.name] = {"sha256": digest, "bytes": size}
        (tmp / MANIFEST).write_text(json.dumps({"written_by": "iamg_forecast",
                                                "files": files}, indent=1, sort_keys=True),
                                    encoding="utf-8")
        _clean_stale_temps(parent, files)
        check_save_target(dest, what)   # nothing new in the way while we wrote
        old = None
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX + "old-", dir=parent))
            old.rmdir()
            dest.rename(old)
        try:
            tmp.rename(dest)
        except BaseException:
            if old is not None:
                old.rename(dest)
            raise
        if old is not None:
            _remove_own(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)   # created by mkdtemp here: all of it is ours
        raise
    return dest


def read_saved_folder(src: str | Path, limits: dict[str, int], what: str = "saved forecast"
                      ) -> dict[str, Path]:
    """The files of a folder written by :func:`save_folder`, after checking every one.

    Parameters
    ----------
    src : str or Path
        The folder.
    limits : dict
        Name -> largest size in bytes of every file the folder must hold (and nothing else).

    Raises
    ------
    FileRefusedError
        When the folder has no marker or manifest, holds a file the manifest does not list
        or lacks one it lists, a file is not a regular file or larger than its limit, or a
        file's size or SHA-256 differs from the manifest (naming the file).
    """
    src = Path(src)
    if not src.is_dir():
        raise FileRefusedError(src, f"not a directory; expected a {what}")
    names = {p.name for p in src.iterdir()}
    if MARKER not in names or MANIFEST not in names:
        raise FileRefusedError(src, f"holds no {MARKER} marker and {MANIFEST}; not a {what} "
                               "(or one saved by an older version: re-run and save it again)")
    listed = _read_manifest(src)
    if listed is None:
        raise FileRefusedError(src / MANIFEST, "is not a valid manifest (altered?)")
    if set(listed) != set(limits):
        raise FileRefusedError(src / MANIFEST, f"lists {sorted(listed)}, expected "
                               f"{sorted(limits)} (altered?)")
    extra = sorted(names - set(listed) - {MARKER, MANIFEST})
    if extra:
        raise FileRefusedError(src, f"holds files the manifest does not list: "
                               f"{', '.join(extra[:5])} (added after saving?)")
    out = {}
    for name, limit in limits.items():
        digest, size = _sha256_file(src / name, limit)
        entry = listed[name]
        if entry.get("sha256") != digest or entry.get("bytes") != size:
            raise FileRefusedError(src / name, f"does not match its content hash in {MANIFEST} "
                                   "(edited or swapped after saving)")
        out[name] = src / name
    return out


class SQLiteHandle:
    """An open SQLite file (the evidence log, the ledger): ``with X.open(path) as x:`` closes
    its connection, ``_conn``, on the way out.

    Examples
    --------
    >>> class Store(SQLiteHandle):
    ...     def __init__(self):
    ...         self._conn = sqlite3.connect(":memory:")
    >>> with Store() as st:
    ...     st._conn.execute("SELECT 1").fetchone()
    (1,)
    """

    _conn: sqlite3.Connection

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
