"""Connecting to a Dask cluster (``--scheduler``), an optional extra: ``songnet[cluster]``.

Nothing here imports dask until :func:`connect` is called, so commands without
``--scheduler`` never load it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from songnet.core.errors import SongnetError
from songnet.core.numbers import parse_count
from songnet.core.params import check_workers
from songnet.core.threads import usable_cpus

__all__ = ["CLUSTER_HINT", "connect", "parse_scheduler"]

CLUSTER_HINT = 'pip install "songnet[cluster]"'
LOCAL_FLOOR = 2
"""Local worker processes ``local:N`` may always start, whatever the CPUs."""


def parse_scheduler(scheduler: str, *, per_worker_mb: int = 0) -> int | str:
    """``"local"`` or ``"local:N"`` -> the number of local worker processes (``local``: the
    CPUs this process may use); anything else is a scheduler address, returned as it is.

    ``local:N`` is capped like ``--workers`` (:func:`songnet.core.params.check_workers`):
    N at most the CPUs this process may use (2 always allowed) and, with
    ``per_worker_mb``, the memory available for that many workers.

    Raises
    ------
    SongnetError
        For N that is not a whole number in that range, naming the value and the limit.
    """
    if scheduler == "local":
        return usable_cpus()
    if scheduler.startswith("local:"):
        most = max(usable_cpus(), LOCAL_FLOOR)
        n = parse_count(scheduler.removeprefix("local:"), what=f"--scheduler {scheduler[:40]}",
                        high=most, why=" (local:N starts N worker processes, at most one per CPU)")
        return check_workers(n, option="--scheduler local:N", per_worker_mb=per_worker_mb,
                             floor=LOCAL_FLOOR)
    return scheduler


@contextlib.contextmanager
def connect(scheduler: str, *, per_worker_mb: int = 0) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for ``scheduler``, closed on leaving the context.

    Parameters
    ----------
    scheduler : str
        ``local[:N]``: a ``LocalCluster`` of N worker processes with one thread each;
        otherwise the address of a running scheduler (``tcp://host:8786``), as
        ``dask-jobqueue`` or ``dask-kubernetes`` start one.
    per_worker_mb : int
        Memory one local worker needs, in MiB (:func:`parse_scheduler`); 0: no check.

    Raises
    ------
    SongnetError
        When dask.distributed is not installed, or the scheduler cannot be reached.
    """
    where = parse_scheduler(scheduler, per_worker_mb=per_worker_mb)
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
