"""The shipped weights load and reproduce their recorded accuracy on their synthetic test split."""
import json

import pytest

from reidlib.evaluation import evaluate_tracklets
from reidlib.preprocess import preprocess_dataset
from reidlib.training import model_config
from reidlib.training.shipped import HEADS, WEIGHTS_DIR, pretrained, recorded_test_split, weights_path


@pytest.fixture(scope="module")
def test_split(tmp_path_factory):
    record = json.loads(weights_path("combined").with_suffix(".json").read_text())
    query, gallery = recorded_test_split(record)
    data = preprocess_dataset(query + gallery, cache_dir=tmp_path_factory.mktemp("cache"), progress=False)
    return record, query, gallery, data


@pytest.mark.parametrize("head", HEADS)
def test_shipped_weights_reproduce_their_rank1(head, test_split):
    _, query, gallery, data = test_split
    model, record = pretrained(head)
    assert model_config(model)["head"] == head and not model.training
    assert weights_path(head).stat().st_size < 3_000_000  # small enough to ship
    res = evaluate_tracklets(model, query, gallery, data=data)
    assert abs(res["rank1"] - record["results"]["rank1"]) <= 1.0, (res["rank1"], record["results"])
    assert abs(res["mAP"] - record["results"]["mAP"]) <= 1.0


def test_all_shipped_records_share_one_recipe(test_split):
    record = test_split[0]
    for head in HEADS:
        other = json.loads(weights_path(head).with_suffix(".json").read_text())
        assert (other["data"], other["split"], other["config"]) == (record["data"], record["split"], record["config"])


def test_unknown_head_is_explained():
    with pytest.raises(FileNotFoundError, match=r"no shipped weights for head 'max'; available: \["):
        pretrained("max")
    assert WEIGHTS_DIR.name == "weights"
