"""Connecting to a Dask cluster (``--scheduler``), an optional extra: ``songnet[cluster]``.

Nothing here imports dask until :func:`connect` is called, so commands without
``--scheduler`` never load it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

from songnet.core.errors import SongnetError

__all__ = ["CLUSTER_HINT", "connect", "parse_scheduler"]

CLUSTER_HINT = 'pip install "songnet[cluster]"'


def parse_scheduler(scheduler: str) -> int | str:
    """``"local"`` or ``"local:N"`` -> the number of local worker processes (``local``: the
    cores); anything else is a scheduler address, returned as it is."""
    if scheduler == "local":
        return max(1, os.cpu_count() or 1)
    if scheduler.startswith("local:"):
        n = scheduler.removeprefix("local:")
        if not n.isdigit() or int(n) < 1:
            raise SongnetError(f"--scheduler {scheduler}: local:N needs N >= 1 worker "
                               "processes, e.g. local:4")
        return int(n)
    return scheduler


@contextlib.contextmanager
def connect(scheduler: str) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for ``scheduler``, closed on leaving the context.

    Parameters
    ----------
    scheduler : str
        ``local[:N]``: a ``LocalCluster`` of N worker processes with one thread each;
        otherwise the address of a running scheduler (``tcp://host:8786``), as
        ``dask-jobqueue`` or ``dask-kubernetes`` start one.

    Raises
    ------
    SongnetError
        When dask.distributed is not installed, or the scheduler cannot be reached.
    """
    where = parse_scheduler(scheduler)
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise SongnetError(f"--scheduler needs dask.distributed, which is not installed: "
                           f"{CLUSTER_HINT}") from exc
    if isinstance(where, int):
        with LocalCluster(n_workers=where, threads_per_worker=1, processes=True,
                          dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
                Client(cluster) as client:
            yield client
        return
    try:
        client = Client(where, timeout="30s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise SongnetError(f"--scheduler {where}: cannot reach the scheduler ({exc}); check "
                           "the address and that the scheduler is running") from exc
    with client:
        yield client
