"""Training recipes (reidlib.training.recipes): the Batch and Recipe types, the recipe setting, and the
old names of the recipe (sampler=, loss=) in shipped records, run folders, config files and command lines."""

import json
from pathlib import Path

import pytest
import torch
import yaml

import reidlib
from reidlib.cli import parse
from reidlib.experiments import ExperimentConfig, ModelConfig, load_config, save_config
from reidlib.experiments.run import claim_run_folder
from reidlib.experiments.shipped import recorded_experiment
from reidlib.training import schedule
from reidlib.training.loop import new_history
from reidlib.training.recipes import RECIPES, Batch, SiameseRecipe, TripletRecipe

WEIGHTS = Path(reidlib.__file__).parent / "weights"


def test_every_recipe_is_a_setting_and_shapes_the_history():
    assert {name: RECIPES[name](schedule("demo", recipe=name)).name for name in RECIPES} == {
        "siamese": "siamese",
        "triplet": "triplet",
    }
    assert set(new_history("siamese")) - set(new_history("triplet")) == {"id1", "hinge", "id2"}
    assert set(new_history("triplet")) - set(new_history("siamese")) == {"id", "triplet"}
    assert all(r.parts[0] == "total" for r in RECIPES.values())
    assert TripletRecipe.one_process and not SiameseRecipe.one_process


def test_a_batch_is_a_named_tuple_that_moves_to_a_device():
    x, labels = torch.zeros(2, 3, 5, 56, 40), torch.tensor([0, 1])
    batch = Batch(x, None, torch.tensor([True]), labels, None)
    x2, mask, same, labels2, vis = batch.to(torch.device("cpu"))
    assert x2 is x and labels2 is labels and mask is None and vis is None and same.tolist() == [True]
    assert batch._fields == ("x", "mask", "same", "labels", "visibility")


def test_the_siamese_batches_of_an_epoch_are_its_pairs_cut_by_batch_size(tiny):
    ds, _ = tiny
    recipe = SiameseRecipe(schedule("demo", batch_size=3, window=6))
    sampler = recipe.sampler(ds.split(0)[0])
    pairs, batches = sampler.epoch(2), recipe.batches(sampler, 2)
    assert [len(b) for b in batches] == [3, 3, 2] and len(pairs) == 8
    assert [repr(p) for b in batches for p in b] == [repr(p) for p in pairs]


def test_the_shipped_records_name_the_recipe_the_old_way_and_load():
    """Records written before recipes (some also before sampler and loss) load as the Siamese recipe."""
    records = [json.loads(path.read_text()) for path in sorted(WEIGHTS.glob("*.json"))]
    assert all("recipe" not in r["experiment"]["train"] for r in records)
    assert any(r["experiment"]["train"].get("sampler") == "pairs" for r in records)
    for record in records:
        train = recorded_experiment(record).train
        assert train.recipe == "siamese" and train.sampler is None and train.loss is None


def _old_config_file(folder: Path, config: ExperimentConfig, sampler: str, loss: str) -> Path:
    """A config.yaml as reidlib wrote it before recipes: sampler and loss instead of recipe."""
    d = config.to_dict()
    del d["train"]["recipe"]
    d["train"].update(sampler=sampler, loss=loss)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump({**d, "split": 0}, sort_keys=False))
    return folder / "config.yaml"


def test_a_run_folder_written_before_recipes_is_the_same_run(tmp_path):
    """An old run folder's config.yaml (sampler: pk, loss: triplet) loads as recipe triplet, and the folder
    is claimed by the same run (to resume it) but refused to a run of the other recipe."""
    config = ExperimentConfig(model=ModelConfig(head="mean"), train=schedule("demo", recipe="triplet"))
    path = _old_config_file(tmp_path / "run", config, "pk", "triplet")
    assert load_config(path) == (config, {"split": 0})
    with claim_run_folder(tmp_path / "run", config, resume=True, split=0):
        pass
    siamese = ExperimentConfig(model=ModelConfig(head="mean"), train=schedule("demo"))
    with pytest.raises(FileExistsError, match=r"holds a run of another configuration \(train\.recipe: 'triplet'"):
        with claim_run_folder(tmp_path / "run", siamese, resume=True, split=0):
            pass
    save_config(config, tmp_path / "new")
    assert "recipe: triplet" in (tmp_path / "new" / "config.yaml").read_text()
    assert "sampler" not in (tmp_path / "new" / "config.yaml").read_text()


def test_the_old_command_line_flags_are_aliases_of_the_recipe(tmp_path):
    base = ["train", "--data.preset", "tiny", "--schedule", "demo", "--out", str(tmp_path / "run")]
    _, new = parse([*base, "--train.recipe", "triplet"])
    _, old = parse([*base, "--train.sampler", "pk", "--train.loss", "triplet"])
    _, plain = parse(base)
    assert new.train == old.train == schedule("demo", recipe="triplet") and plain.train == schedule("demo")
    with pytest.raises(ValueError, match=r"sampler='pk' and loss='siamese' name different recipes"):
        parse([*base, "--train.sampler", "pk", "--train.loss", "siamese"])


def test_an_old_config_file_repeats_its_recipe_unless_the_command_line_names_another(tmp_path):
    config = ExperimentConfig(model=ModelConfig(head="mean"), train=schedule("demo", recipe="triplet"))
    path = _old_config_file(tmp_path / "old", config, "pk", "triplet")
    out = ["--out", str(tmp_path / "again")]
    assert parse(["train", "--config", str(path), *out])[1].train.recipe == "triplet"
    assert parse(["train", "--config", str(path), "--train.recipe", "siamese", *out])[1].train.recipe == "siamese"
    assert parse(["train", "--config", str(path), "--train.sampler", "pairs", *out])[1].train.recipe == "siamese"
