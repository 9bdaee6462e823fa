"""The shipped weights load and reproduce their recorded accuracy on their synthetic test split."""

import hashlib
import json
import shutil
import zipfile

import pytest

from reidlib.evaluation import evaluate_tracklets
from reidlib.experiments import (
    SHIPPED_HEADS,
    WEIGHTS_DIR,
    pretrained,
    recorded_experiment,
    recorded_test_split,
    shipped,
    weights_path,
)
from reidlib.preprocess import preprocess_dataset
from reidlib.training import load_model, model_config


@pytest.fixture(scope="module")
def test_split(tmp_path_factory):
    record = json.loads(weights_path("combined").with_suffix(".json").read_text())
    query, gallery = recorded_test_split(record)
    data = preprocess_dataset(query + gallery, cache_dir=tmp_path_factory.mktemp("cache"), progress=False)
    return record, query, gallery, data


@pytest.mark.slow
@pytest.mark.parametrize("head", SHIPPED_HEADS)
def test_shipped_weights_reproduce_their_rank1(head, test_split):
    _, query, gallery, data = test_split
    model, record = pretrained(head)
    assert model_config(model)["head"] == head and not model.training
    assert weights_path(head).stat().st_size < 3_000_000  # small enough to ship
    res = evaluate_tracklets(model, query, gallery, data=data)
    assert abs(res["rank1"] - record["results"]["rank1"]) <= 1.0, (res["rank1"], record["results"])
    assert abs(res["mAP"] - record["results"]["mAP"]) <= 1.0


@pytest.mark.slow
def test_all_shipped_records_share_one_recipe(test_split):
    record = test_split[0]
    base = recorded_experiment(record)
    for head in SHIPPED_HEADS:
        other = json.loads(weights_path(head).with_suffix(".json").read_text())
        exp = recorded_experiment(other)
        assert exp.model.head == head and other["split"] == record["split"]
        assert (exp.data, exp.train) == (base.data, base.train)


def test_unknown_head_is_explained():
    with pytest.raises(FileNotFoundError, match=r"no shipped weights for head 'max'; available: \["):
        pretrained("max")
    assert WEIGHTS_DIR.name == "weights"


@pytest.mark.slow
def test_recorded_test_split_can_render_the_first_persons_only(test_split):
    record, query, gallery, _ = test_split
    q3, g3 = recorded_test_split(record, persons=3)
    assert [t.pid for t in q3] == [t.pid for t in query[:3]] and [t.pid for t in g3] == [t.pid for t in gallery[:3]]
    for a, b in zip(q3 + g3, query[:3] + gallery[:3], strict=True):
        assert a.camid == b.camid and (a.frames == b.frames).all()  # rendered identically
    with pytest.raises(ValueError, match="persons must be >= 1"):
        recorded_test_split(record, persons=0)


def test_each_shipped_record_holds_its_files_sha256():
    for head in SHIPPED_HEADS:
        record = json.loads(weights_path(head).with_suffix(".json").read_text())
        assert record["sha256"] == hashlib.sha256(weights_path(head).read_bytes()).hexdigest()


def test_one_flipped_byte_in_a_weights_file_is_refused(tmp_path, monkeypatch):
    for suffix in (".pt", ".json"):
        shutil.copy(weights_path("mean").with_suffix(suffix), tmp_path / f"synthetic_mean{suffix}")
    monkeypatch.setattr(shipped, "WEIGHTS_DIR", tmp_path)  # where pretrained() looks
    intact, _ = pretrained("mean")  # the copy loads
    copy = tmp_path / "synthetic_mean.pt"
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, in the tensor data
    copy.write_bytes(bytes(data))
    with zipfile.ZipFile(copy) as z:  # torch.load itself would read it: only the zip's stored CRC-32 differs
        assert z.testzip() is not None
    with pytest.raises(ValueError, match=r"synthetic_mean\.pt is damaged: the bytes of its entry .* CRC-32"):
        load_model(copy)  # any checkpoint: its zip entries are checked before torch reads them
    with pytest.raises(ValueError, match=r"(?s)synthetic_mean\.pt have SHA-256 [0-9a-f]{64}, but .* expects .*damaged"):
        pretrained("mean")
