"""Reading input files safely: regular files only, a size limit, never blocking.

Every file nines reads from a user (scenario TOML, graph files, checkpoints) goes
through :func:`read_input`: devices (``/dev/zero``), FIFOs, sockets and folders
are refused with one message naming the file, and so is a file larger than its
limit, instead of reading until memory runs out or blocking forever.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> d = Path(tempfile.mkdtemp())
>>> _ = (d / "a.toml").write_text("name = 'a'")
>>> read_input(d / "a.toml", limit=100)
b"name = 'a'"
>>> read_input(d, limit=100)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
model.scenario.files.InputFileError: ...: is a directory, not a file
>>> read_input("/dev/zero", limit=100)
Traceback (most recent call last):
...
model.scenario.files.InputFileError: /dev/zero: is a character device, not a regular file
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["MAX_CHECKPOINT_BYTES", "MAX_GRAPH_BYTES", "MAX_SCENARIO_BYTES", "InputFileError", "read_input"]

#: Largest scenario file read (the bundled uk999.toml is about 140 kB).
MAX_SCENARIO_BYTES = 4 * 2**20
#: Largest graph file read (a 10^6-edge edge list is about 20 MB).
MAX_GRAPH_BYTES = 256 * 2**20
#: Largest checkpoint read (a 10^6-year simulation checkpoint is about 200 MB).
MAX_CHECKPOINT_BYTES = 512 * 2**20

_KINDS = ((stat.S_ISDIR, "a directory, not a file"), (stat.S_ISCHR, "a character device, not a regular file"),
          (stat.S_ISBLK, "a block device, not a regular file"), (stat.S_ISFIFO, "a FIFO (named pipe), not a "
          "regular file"), (stat.S_ISSOCK, "a socket, not a regular file"))


class InputFileError(ValueError):
    """An input file that cannot be read: the message names the file and why."""


def _size_text(n: int) -> str:
    return f"{n / 2**20:.3g} MiB" if n >= 2**20 else f"{n:,} bytes"


def read_input(path: str | os.PathLike[str], *, limit: int, shown: str | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    Parameters
    ----------
    path : path
    limit : int
        Largest size accepted, in bytes.
    shown : str, optional
        How the file is named in messages (default: the path).

    Raises
    ------
    InputFileError
        The file does not exist, is not a regular file (directory, device, FIFO,
        socket), is larger than ``limit`` or cannot be read.
    """
    p = Path(path)
    name = shown or str(p)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputFileError(f"{name}: no such file") from None
    except OSError as exc:
        raise InputFileError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    for test, what in _KINDS:
        if test(st.st_mode):
            raise InputFileError(f"{name}: is {what}")
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError(f"{name}: is not a regular file")
    if st.st_size > limit:
        raise InputFileError(f"{name}: is {_size_text(st.st_size)}; the limit for this kind of file is "
                             f"{_size_text(limit)}")
    try:  # O_NONBLOCK: a file swapped for a FIFO after the stat still cannot block the read
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputFileError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputFileError(f"{name}: is not a regular file")
        chunks, total = [], 0
        while True:
            try:
                b = os.read(fd, min(1 << 20, limit + 1 - total))
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    raise InputFileError(f"{name}: is not a regular file") from None
                raise InputFileError(f"{name}: cannot be read ({exc.strerror or exc})") from None
            if not b:
                break
            chunks.append(b)
            total += len(b)
            if total > limit:
                raise InputFileError(f"{name}: is larger than the limit for this kind of file "
                                     f"({_size_text(limit)})")
    finally:
        os.close(fd)
    return b"".join(chunks)
