"""Rule `peer`: a published colorizer (study.peers: Zhang et al.'s eccv16 or siggraph17) from
its verified weights, on every test image's gray version, written as PNGs."""

import _bootstrap

_bootstrap.start(snakemake)

import json

import torch

from colorcnn.files import atomic_path
from colorcnn.peers import colorize_test_set, load_weights
from colorcnn.runtime import select_device
from colorcnn.tables import TEST_COLUMNS, read_rooted

sm = snakemake
p = sm.params
torch.set_num_threads(sm.threads)
net, record = load_weights(p.network, p.weights)
net = net.to(select_device(p.device))
root, rows = read_rooted(sm.input.table, TEST_COLUMNS)
colorize_test_set(
    net, root, rows, sm.output.images, batch_size=p.batch_size, compression=p.compression
)
with atomic_path(sm.output.record) as tmp:
    tmp.write_text(json.dumps({**record, "images": len(rows)}, indent=1) + "\n")
