"""The output folder of a run: written aside, put in place at once, replaced only when it is safe.

A run writes into a hidden sibling ``.NAME.partial-XXXXXXXX`` of its output folder ``NAME`` and
renames it into place once every file is written. While it writes, it holds a lock (``flock``) on
the marker file ``.bayesreg-run`` inside, so a later run can tell a partial folder that is being
written from one a killed run left behind (``kill -9``, a power cut): :func:`find_leftovers`.

When the run is complete, the marker lists every file the run wrote with its SHA-256. ``--force``
replaces an earlier run only while its folder holds exactly those files; anything a user added
or changed in it is named and the replacement refused, so nothing of the user's is deleted.

Only the standard library is imported here.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import socket
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: partial folders cannot be told apart
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "RUN_MARKER",
    "OutputExistsError",
    "OutputPathError",
    "PartialFolder",
    "check_replaceable",
    "find_leftovers",
    "foreign_entries",
    "remove_leftovers",
]

RUN_MARKER = ".bayesreg-run"
"""Written into every output folder: ``--force`` replaces only folders that carry it."""

_MARKER_HEADER = "written by `bayesreg run`; --force may replace this folder\n"
# The files a run writes: an older bayesreg's marker does not list them.
_OLD_RUN_FILES = re.compile(
    r"(report\.md|spec\.toml|sweep\.csv|regularization_path\.png)"
    r"|((sigma_[^/]+/)?(posterior\.nc|comparison\.csv|summary\.csv|coefficients\.png|rank\.png|trace\.png))"
)
# Errors of creating a folder that are the user's to fix: a file in the way, no permission.
_USAGE_ERRNOS = {errno.EEXIST, errno.ENOTDIR, errno.EACCES, errno.EPERM, errno.EROFS}
_SHOWN = 8  # at most this many names in one message


class OutputPathError(OSError):
    """The output path cannot be used as given (a usage mistake); the message names it."""


class OutputExistsError(OutputPathError, FileExistsError):
    """The output folder exists and may not be replaced (no ``force``, or not only a run's files)."""


def _listing(names: list[str]) -> str:
    """``a, b, c`` or ``a, b, ... and 12 more``."""
    shown = ", ".join(names[:_SHOWN])
    return shown if len(names) <= _SHOWN else f"{shown} and {len(names) - _SHOWN} more"


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _entries(folder: Path) -> list[str]:
    """Every file, symbolic link and empty folder under ``folder``, as ``/``-separated relative paths.

    Empty folders end in ``/``; the top-level marker is left out.
    """
    found = []
    for root, dirs, files in os.walk(folder):
        here = Path(root).relative_to(folder)
        links = [d for d in dirs if (Path(root) / d).is_symlink()]  # os.walk does not enter them
        found += [(here / name).as_posix() for name in (*files, *links)]
        if not dirs and not files and here != Path("."):
            found.append(here.as_posix() + "/")
    return sorted(e for e in found if e != RUN_MARKER)


def _written_files(marker: Path) -> dict[str, str] | None:
    """The files (relative path -> SHA-256) a marker lists; None for a marker without a list."""
    try:
        body = marker.read_text(encoding="utf-8").partition("\n")[2]
        files = json.loads(body)["files"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(files, dict):
        return None
    return {str(k): str(v) for k, v in files.items()}


def foreign_entries(run_dir: Path) -> list[str]:
    """What a finished run folder holds that its run did not write, or that changed since.

    Parameters
    ----------
    run_dir : pathlib.Path
        A folder with a ``.bayesreg-run`` marker.

    Returns
    -------
    list of str
        Relative paths, sorted; a changed file is ``"report.md (changed since the run)"``, an
        empty folder ends in ``/``. Markers of older runs list no files: then every name a run
        writes counts as the run's.
    """
    written = _written_files(run_dir / RUN_MARKER)
    found = _entries(run_dir)
    if written is None:
        return [e for e in found if not _OLD_RUN_FILES.fullmatch(e)]
    foreign = [e for e in found if e not in written or (run_dir / e).is_symlink()]
    changed = [e for e in found if e not in foreign and _sha256(run_dir / e) != written[e]]
    return sorted(foreign + [f"{e} (changed since the run)" for e in changed])


def _check_kind(out_dir: Path, force: bool) -> bool:
    """Refuse an existing ``out_dir`` unless ``force`` and it is empty or a run; True if it exists."""
    if not out_dir.exists() and not out_dir.is_symlink():
        return False
    if not out_dir.is_dir():
        raise OutputExistsError(f"output path {out_dir} exists and is not a folder")
    if not force:
        raise OutputExistsError(f"output folder {out_dir} exists; pass --force to replace it")
    if any(out_dir.iterdir()) and not (out_dir / RUN_MARKER).is_file():
        raise OutputExistsError(
            f"output folder {out_dir} was not written by `bayesreg run` (no {RUN_MARKER} file), so "
            "--force will not replace it; choose another --out"
        )
    return True


def _refuse_foreign(out_dir: Path, foreign: list[str]) -> OutputExistsError:
    return OutputExistsError(
        f"--force would delete files in {out_dir} that the earlier run did not write (or that "
        f"changed since): {_listing(foreign)}; move them out of the folder (or choose another "
        "--out) and run again"
    )


def check_replaceable(out_dir: Path, force: bool) -> None:
    """Refuse an ``out_dir`` that exists, unless ``force`` and it holds only an earlier run's files.

    Raises
    ------
    OutputExistsError
        ``out_dir`` exists and is not a folder; or ``force`` is False; or the folder was not
        written by ``bayesreg run``; or it holds files the run did not write or that changed since
        (they are named).
    """
    if _check_kind(out_dir, force) and (out_dir / RUN_MARKER).is_file():
        foreign = foreign_entries(out_dir)
        if foreign:
            raise _refuse_foreign(out_dir, foreign)


def _nearest_existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return path


def _unwritable(out_dir: Path, exc: OSError) -> OutputPathError:
    """The usage mistake behind a failed mkdir, naming ``out_dir`` as the user gave it."""
    blocker = _nearest_existing(out_dir.parent)
    if not blocker.is_dir():
        why = f"{blocker} is a file, not a folder"
    else:
        why = f"folder {blocker} is not writable ({exc.strerror or type(exc).__name__})"
    return OutputPathError(f"cannot create the output folder {out_dir}: {why}")


def _lock(marker: IO[str]) -> None:
    if fcntl is not None:
        try:
            fcntl.flock(marker.fileno(), fcntl.LOCK_EX)
        except OSError:  # a file system without locks: the folder just looks stale to others
            pass


def _in_use(folder: Path) -> bool:
    """True when a running process holds the lock on ``folder``'s marker."""
    if fcntl is None:
        return False
    try:
        fd = os.open(folder / RUN_MARKER, os.O_WRONLY)
    except OSError:  # no marker (killed before it was written), or not ours to open
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing releases a lock taken here
    return False


class PartialFolder:
    """A hidden sibling of the output folder that a run writes into, locked while it does.

    Parameters
    ----------
    out_dir : pathlib.Path
        The output folder, as the user gave it (messages name it).

    Examples
    --------
    >>> partial = PartialFolder(Path("runs/a"))  # doctest: +SKIP
    >>> tmp = partial.create()  # doctest: +SKIP
    >>> (tmp / "report.md").write_text("...")  # doctest: +SKIP
    >>> partial.commit(force=False)  # doctest: +SKIP
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.path = out_dir.parent / f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}"
        self._marker: IO[str] | None = None

    def create(self) -> Path:
        """Make the folder and lock its marker; return the folder.

        Raises
        ------
        OutputPathError
            A file is in the way of ``out_dir`` or its parent is not writable.
        """
        try:
            self.out_dir.parent.mkdir(parents=True, exist_ok=True)
            self.path.mkdir()  # honours the umask
        except OSError as exc:
            if exc.errno in _USAGE_ERRNOS:
                raise _unwritable(self.out_dir, exc) from None
            raise
        try:
            self._marker = open(self.path / RUN_MARKER, "w", encoding="utf-8")
            _lock(self._marker)
            started = datetime.now(UTC).isoformat(timespec="seconds")
            self._marker.write(
                f"being written by `bayesreg run` (process {os.getpid()} on {socket.gethostname()}, "
                f"started {started}); unfinished until renamed to {self.out_dir.name}\n"
            )
            self._marker.flush()
        except BaseException:
            self.discard()
            raise
        return self.path

    def _write_manifest(self) -> None:
        files = {e: _sha256(self.path / e) for e in _entries(self.path)}
        body = json.dumps({"files": files}, indent=1, sort_keys=True)
        marker = self._marker
        if marker is None:
            raise RuntimeError("PartialFolder.commit before create")
        marker.seek(0)
        marker.truncate()
        marker.write(_MARKER_HEADER + body + "\n")
        marker.flush()

    def commit(self, force: bool) -> None:
        """List the files in the marker and rename the folder to ``out_dir``.

        An earlier run at ``out_dir`` (``force``) is moved aside, checked once more for files of
        the user's (one may have been added during this run) and deleted only then.

        Raises
        ------
        OutputExistsError
            As :func:`check_replaceable`; the partial folder is left for :meth:`discard`.
        """
        self._write_manifest()
        if _check_kind(self.out_dir, force):
            old = self.out_dir.parent / f".{self.out_dir.name}.old-{uuid.uuid4().hex[:8]}"
            self.out_dir.rename(old)
            # A folder without a marker was empty when checked: whatever is in it now is the user's.
            foreign = foreign_entries(old) if (old / RUN_MARKER).is_file() else _entries(old)
            if foreign:
                old.rename(self.out_dir)
                raise _refuse_foreign(self.out_dir, foreign)
            self.path.rename(self.out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            self.path.rename(self.out_dir)
        self._close()

    def discard(self) -> None:
        """Delete the folder (after an error or an interrupt)."""
        shutil.rmtree(self.path, ignore_errors=True)
        self._close()

    def _close(self) -> None:
        if self._marker is not None:
            self._marker.close()  # releases the lock
            self._marker = None


def _leftover_pattern(out_dir: Path, kind: str) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(out_dir.name)}\.{kind}-[0-9a-f]{{8}}")


def _siblings(out_dir: Path, kind: str) -> list[Path]:
    parent = out_dir.parent
    if not out_dir.name or not parent.is_dir():
        return []
    pattern = _leftover_pattern(out_dir, kind)
    try:
        names = sorted(p.name for p in parent.iterdir())
    except OSError:
        return []
    return [parent / n for n in names if pattern.fullmatch(n) and (parent / n).is_dir()]


def find_leftovers(out_dir: Path) -> tuple[list[Path], list[Path]]:
    """What killed runs left beside ``out_dir``.

    Parameters
    ----------
    out_dir : pathlib.Path
        An output folder (it need not exist).

    Returns
    -------
    partial : list of pathlib.Path
        ``.NAME.partial-*`` folders that no running process is writing: unfinished output of a run
        that was killed (:func:`remove_leftovers` deletes them).
    old : list of pathlib.Path
        ``.NAME.old-*`` folders: an earlier run that a run killed while replacing it had moved
        aside. They are never deleted here; if ``out_dir`` is missing, one of them is its last
        complete output.

    Examples
    --------
    >>> find_leftovers(Path("no/such/folder/out"))
    ([], [])
    """
    partial = [p for p in _siblings(out_dir, "partial") if not _in_use(p)]
    return partial, _siblings(out_dir, "old")


def remove_leftovers(folders: list[Path]) -> list[Path]:
    """Delete the partial folders of :func:`find_leftovers` that are still unused; return those deleted."""
    removed = []
    for folder in folders:
        if folder.is_dir() and not folder.is_symlink() and not _in_use(folder):
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                removed.append(folder)
    return removed
