"""Names of the files the stages write, in one place (standard library only: the workflow
imports this while it builds the DAG)."""

#: File name of one kind of a shard's files; ``shard`` is the zero-padded shard number.
SHARD_NAME = "shard-{shard}.{kind}"
#: The four files of a shard: key (``ShardFiles`` field, rule output name) → suffix.
SHARD_KINDS = {"Y": "Y.npy", "UV": "UV.npy", "index": "index.tsv", "rejected": "rejected.tsv"}


def shard_id(k: int) -> str:
    return f"{k:05d}"
