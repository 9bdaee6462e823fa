import pytest


@pytest.fixture
def demo_train():
    """``demo_train(model, ds, data, **overrides)``: ``train`` on split 0 with the `demo` schedule and the
    preprocessed frames ``data``, without a progress bar; ``overrides`` are TrainConfig fields."""
    from reidlib.training import train

    def run(model, ds, data, **overrides):
        return train(model, ds, 0, "demo", data=data, progress=False, **overrides)

    return run
