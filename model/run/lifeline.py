"""Worker processes end when the process that started them dies, even by ``kill -9``.

A pool worker calls :func:`follow_parent` once: a daemon thread waits on the parent (a Linux
``pidfd`` when the system has it, else a poll every half second) and ends the worker with
``os._exit`` as soon as the parent is gone, so no orphaned workers keep memory and CPU after the
command that needed them was killed. (The fork server and the resource tracker of
:mod:`multiprocessing` end by themselves once their last client is gone.)

Examples
--------
>>> import os
>>> follow_parent(os.getpid())  # this process is alive: the thread just waits
True
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time

__all__ = ["follow_parent"]

_POLL_S = 0.5


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _watch(pid: int) -> None:
    fd = None
    with contextlib.suppress(AttributeError, OSError):  # no pidfd (old kernel, not Linux): poll
        fd = os.pidfd_open(pid)
    if fd is not None:
        select.select([fd], [], [])  # readable once the process has ended
    else:
        while _alive(pid):
            time.sleep(_POLL_S)
    os._exit(1)


def follow_parent(pid: int) -> bool:
    """End this process when process ``pid`` ends; False when it has already ended (and we exit)."""
    if not _alive(pid):
        os._exit(1)
    threading.Thread(target=_watch, args=(pid,), name="nines-lifeline", daemon=True).start()
    return True
