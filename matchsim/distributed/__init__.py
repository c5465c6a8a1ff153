"""Scale-out: the same scenario on local processes or a Dask cluster.

``executor: local`` (the default) runs everything in this process and needs no Dask.
``processes`` runs census partitions and sweep points on local processes.
``dask`` runs census partitions, register partitions of a lookup and sweep points as tasks on
a Dask cluster (a new ``LocalCluster``, or an existing one given by ``--scheduler ADDRESS``);
install it with ``pip install 'matchsim[dask]'``.

Partitioned work gives exactly the local results: census partitions continue each other's
ids and serials, and lookups fit the model once on the whole register, then block, compare
and score each register partition against the broadcast requests.
"""

from matchsim.distributed.census import generate_census_partitioned, write_census_dataset
from matchsim.distributed.executors import EXECUTORS, Executor, open_executor
from matchsim.distributed.lookup import PartitionedRegister, check_partitionable

__all__ = [
    "EXECUTORS",
    "Executor",
    "PartitionedRegister",
    "check_partitionable",
    "generate_census_partitioned",
    "open_executor",
    "write_census_dataset",
]
