"""CPU threads: how many cores this process may use, and worker pools shared per process."""

from __future__ import annotations

import concurrent.futures
import functools
import os

__all__ = ["shared_pool", "usable_cpus"]


def usable_cpus() -> int:
    """The cores this process may run on: its CPU affinity (so ``taskset -c 0`` gives 1),
    or the machine's count where there is no affinity (macOS, Windows)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@functools.lru_cache(maxsize=8)
def shared_pool(name: str, threads: int) -> concurrent.futures.ThreadPoolExecutor:
    """One pool of ``threads`` workers per ``name`` and size, reused by every call in the
    process. Work submitted to one pool may wait on another, never on its own (a pool
    that waits on itself can run out of workers)."""
    return concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix=f"songnet-{name}")
