"""Settings: one source of defaults, every value validated in one place, messages name keys."""

from __future__ import annotations

from dataclasses import fields

import pytest
import yaml
from conftest import ROOT, workflow_config

from colorcnn.config import (
    ConfigError,
    DecodeLimits,
    HeadConfig,
    JobResources,
    PrepareOptions,
    TrainConfig,
    parse_config,
)

SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())


def test_config_yaml_documents_exactly_the_schema_keys():
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert set(cfg) == set(SCHEMA["properties"])
    for section, spec in SCHEMA["properties"].items():
        assert set(cfg[section]) == set(spec["properties"]), section
        assert set(spec["required"]) == set(cfg[section]), section


def test_schema_has_no_defaults_and_parses_descriptions():
    text = (ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text()
    assert "default:" not in text  # config.yaml is the one source of workflow values
    for spec in SCHEMA["properties"].values():
        for key, prop in spec["properties"].items():
            assert isinstance(prop.get("description"), str) and prop["description"], key


def test_library_defaults_are_the_paper_configuration():
    """The dataclasses' defaults equal config.yaml overridden by config/paper.yaml."""
    paper = workflow_config(ROOT / "config" / "paper.yaml")
    sections = {
        PrepareOptions: paper["data"],
        DecodeLimits: paper["data"],
        HeadConfig: paper["model"],
        TrainConfig: paper["train"],
        JobResources: paper["train"],
    }
    for cls, values in sections.items():
        for f in fields(cls):
            if f.name in values:
                default = f.default if f.default is not f.default_factory else None
                expected = values[f.name]
                if f.name == "taps":
                    expected = tuple(expected)
                assert default == expected, f"{cls.__name__}.{f.name}: {default} vs {expected}"
    assert TrainConfig().seed == paper["study"]["seeds"][0]


def test_shipped_configs_parse():
    for extra in ("paper.yaml", "demo-study.yaml", "demo-learnable.yaml"):
        s = parse_config(workflow_config(ROOT / "config" / extra), check_files=False)
        assert s.runs and s.reference in {r.variant for r in s.runs}
    s = parse_config(workflow_config(ROOT / "config" / "paper.yaml"), check_files=False)
    assert {r.variant for r in s.runs} == {
        "paper",
        "mse",
        "no_hypercolumn",
        "q_split_3x3",
        "q_split_even",
    }
    assert len(s.runs) == 10 and s.data.n_shards == 124


@pytest.mark.parametrize(
    "override, message",
    [
        ({"data": {"image_size": 30}}, "data.image_size must be a multiple of 4"),
        ({"data": {"resize": "pad"}}, "data.resize must be one of"),
        ({"data": {"n_images": 0}}, "data.n_images must be >= 1"),
        ({"model": {"a_kernel": 2}}, "model.a_kernel must be an odd kernel size"),
        ({"model": {"taps": ["conv4_3"]}}, "model.taps must be a non-empty list"),
        ({"train": {"lr": 0}}, "train.lr must be > 0"),
        ({"train": {"batch_size": 400}}, r"train.batch_size \(variant paper\) must be at most"),
        ({"train": {"val_every": 5}, "data": {"n_val_images": 0}}, "data.n_val_images is 0"),
        ({"study": {"seeds": []}}, "study.seeds must be a non-empty list"),
        ({"study": {"reference": "nope"}}, "study.reference must be a variant name"),
        ({"study": {"variants": {"data": {}}}}, "study.variants.data must be a name"),
        ({"study": {"variants": {"x": {"train": {"lrr": 1}}}}}, r"study.variants.x.train"),
        ({"colorize": {"png_compression": 10}}, "colorize.png_compression must be 0-9"),
        ({"gallery": {"thumb_size": 8}}, "gallery.thumb_size must be >= 16"),
        ({"gallery": {"per_page": 0}}, "gallery.per_page must be >= 1"),
    ],
)
def test_bad_values_fail_naming_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(workflow_config(override), check_files=False)


def test_missing_folders_and_files_fail_before_any_job(tmp_path):
    cases = [
        ({"data": {"source": "ilsvrc", "root": ""}}, "data.root is empty"),
        ({"data": {"source": "ilsvrc", "root": str(tmp_path / "nope")}}, "does not exist"),
        ({"data": {"source": "folder", "root": str(tmp_path / "f.txt")}}, "is not a folder"),
        ({"test": {"source": "sun397", "root": str(tmp_path)}, "data": {}}, None),
        (
            {"test": {"source": "sun397", "root": str(tmp_path), "list_file": "x.txt"}},
            "test.list_file 'x.txt' does not exist",
        ),
    ]
    (tmp_path / "f.txt").write_text("")
    for override, message in cases:
        cfg = workflow_config(override)
        if message is None:
            parse_config(cfg)
        else:
            with pytest.raises(ConfigError, match=message):
                parse_config(cfg)


def test_variants_override_the_model_and_training():
    cfg = workflow_config(
        {
            "study": {
                "seeds": [1, 2],
                "variants": {
                    "mse": {"train": {"loss": "mse"}},
                    "narrow": {"model": {"taps": ["conv3_3"], "a_channels": 8}},
                },
            }
        }
    )
    s = parse_config(cfg, check_files=False)
    assert [(r.variant, r.seed) for r in s.runs] == [
        ("paper", 1),
        ("paper", 2),
        ("mse", 1),
        ("mse", 2),
        ("narrow", 1),
        ("narrow", 2),
    ]
    assert s.run("mse", 2).train.loss == "mse" and s.run("paper", 1).train.loss == "bce"
    narrow = s.run("narrow", "1").head
    assert narrow.taps == ("conv3_3",) and narrow.t_channels == 256 and narrow.a_channels == 8
    assert s.run("paper", 1).head.t_channels == 451


def test_lr_decays_by_epochs_or_by_steps():
    """The paper's step decay (×lr_gamma every lr_step epochs), or Caffe's stepsize reading."""
    by_epoch = TrainConfig(lr=0.08, lr_step=2, lr_gamma=0.5)
    assert [by_epoch.lr_at(s, steps_per_epoch=10) for s in (0, 19, 20, 39, 40)] == [
        0.08,
        0.08,
        0.04,
        0.04,
        0.02,
    ]
    by_step = TrainConfig(lr=0.08, lr_step=2, lr_gamma=0.5, lr_step_unit="step")
    assert [by_step.lr_at(s, steps_per_epoch=10) for s in (0, 1, 2, 4)] == [0.08, 0.08, 0.04, 0.02]


@pytest.mark.parametrize(
    "override, key",
    [
        ({"study": {"variants": {"paper": {}, "x": {"train": {"lr": "1e-3"}}}}}, "x.train.lr"),
        ({"study": {"variants": {"paper": {}, "x": {"train": {"batch_size": "8"}}}}}, "batch_size"),
        ({"study": {"variants": {"paper": {}, "x": {"train": {"epochs": 1.5}}}}}, "x.train.epochs"),
        ({"study": {"variants": {"paper": {}, "x": {"model": {"a_channels": 8.0}}}}}, "a_channels"),
        ({"data": {"image_size": 32.0}}, "data.image_size"),
        ({"data": {"shard_size": 32.0}}, "data.shard_size"),
        ({"train": {"lr": "0.001"}}, "train.lr"),
        ({"colorize": {"batch_size": 0}}, "colorize.batch_size"),
        ({"colorize": {"batch_size": -1}}, "colorize.batch_size"),
        ({"colorize": {"threads": 0}}, "colorize.threads"),
        ({"data": {"threads": -2}}, "data.threads"),
        ({"test": {"threads": 0}}, "test.threads"),
        ({"score": {"threads": 0}}, "score.threads"),
        ({"train": {"threads": 0}}, "train.threads"),
    ],
)
def test_every_value_is_typed_and_ranged_before_any_job(override, key):
    """Values that passed the check and crashed a later job: variant overrides were never
    type-checked, JSON Schema's integer accepts 32.0, and several counts had no range."""
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_config(workflow_config(override), check_files=False)


def test_home_folders_and_trailing_slashes_in_paths_are_normalised(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "SUN397").mkdir()
    s = parse_config(
        workflow_config(
            {
                "paths": {"results": "~/out/results/"},
                "test": {"source": "sun397", "root": "~/SUN397/"},
            }
        )
    )
    assert s.paths.results == str(tmp_path / "out" / "results")
    assert s.test.root == str(tmp_path / "SUN397")


def test_a_duplicated_yaml_key_is_an_error_naming_it(tmp_path):
    """YAML lets the last of two equal keys win silently; a configuration file must not."""
    from colorcnn.config import check_config_file

    f = tmp_path / "my.yaml"
    f.write_text("train:\n  epochs: 2\n  lr: 0.1\n  epochs: 3\n")
    with pytest.raises(ConfigError, match=r"my\.yaml.*train\.epochs.*twice"):
        check_config_file(f)
    check_config_file(ROOT / "config" / "config.yaml")  # the shipped ones are fine
    check_config_file(ROOT / "config" / "paper.yaml")


def test_a_duplicated_key_deep_in_a_variant_is_named_with_its_path(tmp_path):
    from colorcnn.config import check_config_file

    f = tmp_path / "my.yaml"
    f.write_text("study:\n  variants:\n    x:\n      train: {lr: 0.1, lr: 0.2}\n")
    with pytest.raises(ConfigError, match=r"study\.variants\.x\.train\.lr is given twice"):
        check_config_file(f)
