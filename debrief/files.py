"""Files on disk, done one way: atomic writes, new files that never overwrite, the walk, the lock.

Every module that writes or walks files (the store, the entries folder, the outbox, derived
caches) uses these, so a kill, a full disk or a second writer is handled in one place.
A write goes to a hidden temporary file (".<name>.<random>.tmp") in the target's folder
first: readers and walks skip names starting with a dot, and sweep_temporary removes the ones
a killed process left behind.
"""

from __future__ import annotations

import datetime
import fcntl
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

TMP_SUFFIX = ".tmp"


def write_temporary(folder: Path, name: str, data: bytes, *, fsync: bool = True) -> Path:
    """A fully written hidden temporary file in `folder` (fsynced unless told not to)."""
    tmp = Path(folder) / f".{name}.{secrets.token_hex(4)}{TMP_SUFFIX}"
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
    except BaseException:
        # A full or read-only disk fails the write or the fsync: leave no empty or torn file.
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(
    path: Path, data: bytes, *, fsync: bool = True, fsync_folder: bool = False
) -> None:
    """Replace path's content so that readers see the old or the new file, never a mix.

    fsync=False for derived data (it is computed again if lost); fsync_folder for files whose
    very existence must survive a power cut (an entry, the source of truth).
    """
    path = Path(path)
    tmp = write_temporary(path.parent, path.name, data, fsync=fsync)
    try:
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if fsync_folder:
        fsync_dir(path.parent)


def write_new(folder: Path, names: Iterable[str], data: bytes, hint: str = "new") -> Path:
    """Write data under the first of `names` that no file in `folder` has; never overwrites.

    The content is complete before the name appears (a hard link of a finished temporary file),
    so two writers never take the same name and a reader never sees half a file. OSError when
    every name is taken. `hint` names the temporary file, for whoever finds one after a kill.
    """
    folder = Path(folder)
    tmp = write_temporary(folder, hint, data)
    try:
        for name in names:
            target = folder / name
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            except OSError:
                # No hard links on this file system: a plain rename, race-free only per process.
                if target.exists():
                    continue
                os.replace(tmp, target)
            fsync_dir(folder)
            return target
        raise FileExistsError(f"no free file name in {folder}")
    finally:
        tmp.unlink(missing_ok=True)


def fsync_dir(folder: Path) -> None:
    """Make a rename in folder durable; not every platform can open a folder, which is fine."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def file_lock(path: Path, wait: bool = True) -> Iterator[int]:
    """Hold an exclusive lock on path (created if missing), shared by threads and processes.

    Yields the open descriptor (the store keeps its counters in the lock file); closing it
    releases the lock, so a killed holder never leaves it taken. wait=False: BlockingIOError at
    once while another holds it (for work that one holder at a time is enough to do).
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield fd
    finally:
        os.close(fd)


Stats = dict[str, tuple[int, int]]


def scan(
    root: Path, start: str = ".", suffix: str | None = ".md", list_files: bool = True
) -> tuple[Stats, dict[str, int]]:
    """Files under root/start (relative path -> (mtime_ns, size)) and every folder's mtime_ns.

    Relative paths use "/" and are relative to root. Hidden files and folders (a write in
    progress, .git) and symlinks (which could point anywhere) are left out; suffix=None keeps
    every regular file; list_files=False lists folders only (no stat of each file).
    """
    files: Stats = {}
    folders: dict[str, int] = {}
    stack = [start]
    while stack:
        found = list_folder(root, stack.pop(), suffix, list_files)
        if found is not None:
            rel_folder, mtime, in_folder, subfolders = found
            folders[rel_folder] = mtime
            files.update(in_folder)
            stack += subfolders
    return files, folders


def list_folder(
    root: Path, rel: str, suffix: str | None = ".md", list_files: bool = True
) -> tuple[str, int, Stats, list[str]] | None:
    """One folder of scan(): (its relative path, mtime_ns, its files, its subfolders' relative
    paths), or None when it cannot be read (gone meanwhile)."""
    top = str(root)
    folder = top if rel == "." else os.path.join(top, rel)
    rel_folder = os.path.relpath(folder, top).replace(os.sep, "/")
    prefix = "" if rel_folder == "." else rel_folder + "/"
    files: Stats = {}
    subfolders = []
    try:
        mtime = os.stat(folder).st_mtime_ns
        with os.scandir(folder) as listing:  # one entry at a time: a folder may hold 50,000
            for item in listing:
                if item.name.startswith("."):
                    continue
                if item.is_dir(follow_symlinks=False):
                    subfolders.append(prefix + item.name)
                elif (
                    list_files
                    and (suffix is None or item.name.endswith(suffix))
                    and item.is_file(follow_symlinks=False)
                ):
                    try:
                        st = item.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    files[prefix + item.name] = (st.st_mtime_ns, st.st_size)
    except OSError:
        return None
    return rel_folder, mtime, files, subfolders


def walk(root: Path, suffix: str | None = ".md") -> Iterator[Path]:
    """The files scan() finds, as paths, in a stable order (folder by folder, names sorted)."""
    root = Path(root)
    files, _ = scan(root, suffix=suffix)
    for rel in sorted(files, key=lambda p: p.split("/")):
        yield root / rel


def sweep_temporary(root: Path, older_than: float = 60.0, deep: bool = True) -> int:
    """Remove the temporary files of writes cut off by a kill; how many were removed.

    Only files older than `older_than` seconds: a younger one may be a write in progress in
    another process. deep=False looks in the folder and the current year's folder only (where
    new entries are written), cheap enough for every start.
    """
    root = Path(root)
    if deep:
        # Folders only: `debrief init` sweeps before the index's sync stats every file.
        folders = [root] + [root / rel for rel in scan(root, list_files=False)[1] if rel != "."]
    else:
        folders = [root, root / f"{datetime.date.today().year:04d}"]
    limit = time.time() - older_than
    removed = 0
    for folder in folders:
        for tmp in folder.glob(f".*{TMP_SUFFIX}"):
            try:
                if tmp.is_file() and tmp.lstat().st_mtime <= limit:
                    tmp.unlink()
                    removed += 1
            except OSError:
                continue  # gone already, or a read-only folder: nothing to clean there
    return removed
