"""A disk that refuses writes under one folder, injected at the OS boundary (no code of ours is
replaced): the calls Python makes into the kernel fail as the kernel fails them.

- ENOSPC (full): files can still be created (empty), every byte written or flushed to them
  fails, and so do fsync, rename, link and mkdir into the folder.
- EROFS (read-only): opening a file there for writing, creating, renaming, linking or removing
  fails.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path

import pytest

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class _FullFile:
    """An open file on a full disk: created, but nothing written to it ever lands."""

    def __init__(self, file, path: str) -> None:
        self._file = file
        self._path = path

    def _refuse(self, *_args, **_kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self._path)

    write = writelines = flush = _refuse

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()

    def __getattr__(self, name: str):
        return getattr(self._file, name)


def refuse_writes(monkeypatch: pytest.MonkeyPatch, folder: Path, code: int) -> None:
    """Make every write under `folder` fail with OSError(code) (ENOSPC or EROFS)."""
    root = Path(folder).resolve()

    def under(path) -> bool:
        if isinstance(path, int):
            try:
                path = os.readlink(f"/proc/self/fd/{path}")
            except OSError:
                return False
        try:
            return Path(os.fsdecode(path)).resolve().is_relative_to(root)
        except (TypeError, ValueError, OSError):
            return False

    def refuse(path) -> None:
        raise OSError(
            code, os.strerror(code), os.fsdecode(path) if not isinstance(path, int) else None
        )

    real_open = builtins.open

    def fake_open(file, mode="r", *args, **kwargs):
        writing = any(c in mode for c in "wxa+")
        if writing and under(file):
            if code == errno.EROFS:
                refuse(file)
            return _FullFile(real_open(file, mode, *args, **kwargs), os.fsdecode(file))
        return real_open(file, mode, *args, **kwargs)

    names = ("open", "write", "pwrite", "fsync", "replace", "rename", "link", "mkdir", "unlink")
    real = {name: getattr(os, name) for name in names}

    def os_open(path, flags, *args, **kwargs):
        if flags & _WRITE_FLAGS and code == errno.EROFS and under(path):
            refuse(path)
        return real["open"](path, flags, *args, **kwargs)

    def on_fd(name):
        def call(fd, *args, **kwargs):
            if under(fd):
                refuse(fd)
            return real[name](fd, *args, **kwargs)

        return call

    def on_target(name):
        def call(src, dst, *args, **kwargs):
            if under(dst):
                refuse(dst)
            return real[name](src, dst, *args, **kwargs)

        return call

    def on_path(name, only_readonly=False):
        def call(path, *args, **kwargs):
            # An existing name is reported as such first (mkdir: EEXIST), as the kernel does.
            exists = name == "mkdir" and os.path.lexists(path)
            if under(path) and not exists and (code == errno.EROFS or not only_readonly):
                refuse(path)
            return real[name](path, *args, **kwargs)

        return call

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)
    monkeypatch.setattr(os, "open", os_open)
    for name in ("write", "pwrite", "fsync"):
        monkeypatch.setattr(os, name, on_fd(name))
    for name in ("replace", "rename", "link"):
        monkeypatch.setattr(os, name, on_target(name))
    monkeypatch.setattr(os, "mkdir", on_path("mkdir"))
    monkeypatch.setattr(os, "unlink", on_path("unlink", only_readonly=True))


def files_in(*folders: Path) -> dict[Path, bytes]:
    """Every file under the folders with its content (the store, the entries)."""
    return {p: p.read_bytes() for folder in folders for p in Path(folder).rglob("*") if p.is_file()}


def temporary_files(*folders: Path) -> list[Path]:
    """Hidden temporary files of atomic writes left under the folders."""
    return [p for folder in folders for p in Path(folder).rglob(".*.tmp")]
