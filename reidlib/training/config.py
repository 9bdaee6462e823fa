"""Training settings (chapter 8): one dataclass, and named schedules (the paper's, and CPU-sized ones)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from .recipes import RECIPES

# The recipe that each value of the settings it replaced names: configs, checkpoints and records
# written before recipes (reidlib.training.recipes) say sampler= and loss=.
OLD_NAMES = {"sampler": {"pairs": "siamese", "pk": "triplet"}, "loss": {"siamese": "siamese", "triplet": "triplet"}}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run, besides the data, the split and the model.

    Args:
        epochs: Number of epochs; an epoch is 2 x (training persons) pairs, half positive (recipe "siamese"),
            or one PK batch per pk_persons persons, each person once (recipe "triplet").
        lr: Learning rate of SGD.
        milestones: Epochs after which the learning rate is multiplied by ``gamma``.
        gamma: Factor of each learning-rate step.
        momentum: SGD momentum.
        weight_decay: L2 penalty of SGD.
        clip_value: Clamp every gradient element to [-clip_value, clip_value] (McLaughlin et al.
            use 5); None: off.
        clip_norm: Rescale the whole gradient to at most this norm; None: off.
        batch_size: Pairs per step (the paper: 1); recipe "siamese" only (a PK batch has pk_persons x pk_windows
            windows).
        window: Frames per training window (the paper: 16).
        margin: Margin m of the hinge on the feature distance (the paper: 2); recipe "siamese" only.
        squared_hinge: The paper's squared hinge (True) or McLaughlin et al.'s plain hinge; recipe "siamese" only.
        id_weight: Weight of the two identity terms of Eq. 4 (the paper: 1; 0: the hinge alone, an
            ablation); recipe "siamese" only.
        seed: Seed of the pairs, augmentation, dropout and initial weights.
        val_every: Epochs between the validation rank-1 recorded in the history (0: never).
        save_every: Epochs between checkpoints, when the run has an output folder (always at the end).
        log_every: Steps between progress updates; the only points (with epoch ends) where the
            loop waits for the device to read the loss.
        diverge_factor: Stop with an error when the mean loss since the last check (every log_every steps,
            and each epoch's end) exceeds this multiple of the loss of the run's first step (a diverged run);
            None: off. Non-finite losses and weights always stop it.
        amp: Automatic mixed precision (CUDA only).
        workers: DataLoader worker processes that prepare the batches (0: in the training process).
        compile: Run the Siamese forward pass and its backward through torch.compile; on CUDA in mode
            "reduce-overhead", which captures them in CUDA graphs and so removes the launch cost of the
            many small kernels of a step (a batch shape compiles once; the first steps are slow). On a CPU
            it only costs compile time. Test-time feature extraction (videos of any length) stays eager.
        recipe: How a step's batch is drawn and scored (reidlib.training.recipes): "siamese" (the paper:
            batch_size Siamese pairs, half positive; Eq. 4, identity + hinge on the pair's distance + identity)
            or "triplet" (chapter 13: PK batches of pk_persons persons x pk_windows windows, every training
            person once per epoch; batch-hard triplet loss on the video features + identity cross-entropy).
        pk_persons: P, the persons of a PK batch (at least 2); recipe "triplet" only.
        pk_windows: K, the windows of each person in a PK batch, from its cameras in turn (at least 2, for
            positives); recipe "triplet" only.
        triplet_margin: Margin of the batch-hard triplet loss on Euclidean feature distances (0.3, as Hermans et
            al. and torchreid); recipe "triplet" only.
        sampler: The old name of the recipe's batches, read so that configs and records written before
            recipes load: "pairs" (recipe "siamese") or "pk" (recipe "triplet"). When given it sets recipe
            and is then None; use recipe.
        loss: The old name of the recipe's loss, read as sampler is: "siamese" or "triplet"; use recipe.
    """

    epochs: int = 1400
    lr: float = 1e-4
    milestones: tuple[int, ...] = (1300,)
    gamma: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 0.0
    clip_value: float | None = 5.0
    clip_norm: float | None = None
    batch_size: int = 1
    window: int = 16
    margin: float = 2.0
    squared_hinge: bool = True
    id_weight: float = 1.0
    seed: int = 0
    val_every: int = 0
    save_every: int = 10
    log_every: int = 50
    diverge_factor: float | None = 100.0
    amp: bool = False
    workers: int = 0
    compile: bool = False
    recipe: str = "siamese"
    pk_persons: int = 4
    pk_windows: int = 4
    triplet_margin: float = 0.3
    sampler: str | None = field(default=None, repr=False, compare=False)
    loss: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "milestones", tuple(int(m) for m in self.milestones))
        object.__setattr__(self, "recipe", recipe_named(self.recipe, sampler=self.sampler, loss=self.loss))
        object.__setattr__(self, "sampler", None)
        object.__setattr__(self, "loss", None)
        checks = [
            ("epochs", self.epochs >= 1),
            ("lr", self.lr > 0),
            ("batch_size", self.batch_size >= 1),
            ("window", self.window >= 1),
            ("margin", self.margin > 0),
            ("gamma", self.gamma > 0),
            ("val_every", self.val_every >= 0),
            ("save_every", self.save_every >= 0),
            ("log_every", self.log_every >= 1),
            ("workers", self.workers >= 0),
            ("clip_value", self.clip_value is None or self.clip_value > 0),
            ("clip_norm", self.clip_norm is None or self.clip_norm > 0),
            ("diverge_factor", self.diverge_factor is None or self.diverge_factor > 1),
            ("milestones", list(self.milestones) == sorted(set(self.milestones))),
            ("recipe", self.recipe in RECIPES),
            ("pk_persons", self.pk_persons >= 2),
            ("pk_windows", self.pk_windows >= 2),
            ("triplet_margin", self.triplet_margin > 0),
            ("id_weight", self.id_weight >= 0),
        ]
        bad = [name for name, ok in checks if not ok]
        if bad:
            raise ValueError(
                f"invalid training setting(s) {bad} in {self}: epochs, batch_size, window, log_every >= 1; "
                "lr, margin, gamma, clip_*, triplet_margin > 0; diverge_factor > 1; val_every, save_every, workers, "
                f"id_weight >= 0; milestones increasing; pk_persons, pk_windows >= 2; recipe in {list(RECIPES)}."
            )

    def to_dict(self) -> dict:
        """The settings as plain values, without the old names of the recipe."""
        d = asdict(self)
        d["milestones"] = list(self.milestones)
        for old in OLD_NAMES:
            del d[old]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown training setting(s) {sorted(unknown)}; known: {[f.name for f in fields(cls)]}.")
        return cls(**d)


def recipe_named(recipe: str, **old: str | None) -> str:
    """The recipe of a config that may name it the old way, by ``sampler=`` and ``loss=`` (None: not given):
    each old name given decides, and two must agree; else ``recipe``."""
    given = {k: v for k, v in old.items() if v is not None}
    for key, value in given.items():
        if value not in OLD_NAMES[key]:
            raise ValueError(
                f"{key}={value!r} is not one of {list(OLD_NAMES[key])}. The setting is now recipe= (one of "
                f"{list(RECIPES)}); {key} is its old name: {OLD_NAMES[key]}."
            )
    named = {OLD_NAMES[k][v] for k, v in given.items()}
    if len(named) > 1:
        raise ValueError(
            f"sampler={given['sampler']!r} and loss={given['loss']!r} name different recipes; the Siamese loss "
            "(Eq. 4) scores pairs, the batch-hard triplet loss mines the windows of a PK batch. Use recipe='siamese' "
            "(sampler 'pairs', loss 'siamese') or recipe='triplet' (sampler 'pk', loss 'triplet')."
        )
    return named.pop() if named else recipe


def current_names(settings: dict) -> dict:
    """Training settings as a dict written by any reidlib (a checkpoint's ``config``), in today's names:
    the old ``sampler`` and ``loss`` become ``recipe``."""
    old = {k: settings[k] for k in OLD_NAMES if k in settings}
    if not old:
        return dict(settings)
    rest = {k: v for k, v in settings.items() if k not in OLD_NAMES}
    return {**rest, "recipe": recipe_named(rest.get("recipe", TrainConfig.recipe), **old)}


# Fields that only say how a run is watched or fed, not what it computes: they may change on resume.
RUNTIME_FIELDS = ("epochs", "val_every", "save_every", "log_every", "workers", "compile")

_PAPER = dict(lr=1e-4, epochs=1400, momentum=0.9, batch_size=1)

# The paper's schedules (Sec. 4.2), and two sized for a CPU. "short" is the budget of
# `make weights` and benchmarks/bench_accuracy.py: 20 epochs on the synthetic "standard" data
# (150 training persons, 1,500 steps) take about 8 minutes per model on one core of a 2-core
# CPU, a minute or two on a GPU. To learn in so few epochs it takes a 200x larger learning
# rate than the paper, made stable by clipping the gradient norm. "demo" is a smoke test.
SCHEDULES: dict[str, TrainConfig] = {
    "ilidsvid": TrainConfig(**_PAPER, milestones=(1300,), val_every=100, save_every=50),
    "prid2011": TrainConfig(**_PAPER, milestones=(800, 1100), val_every=100, save_every=50),
    "sduvid": TrainConfig(**_PAPER, milestones=(1200,), val_every=100, save_every=50),
    "short": TrainConfig(
        lr=2e-2, epochs=20, milestones=(15,), batch_size=4, clip_value=None, clip_norm=1.0, val_every=5, save_every=5
    ),
    "demo": TrainConfig(lr=1e-3, epochs=2, milestones=(), batch_size=4, val_every=1, save_every=1),
}


def schedule(name: str | TrainConfig = "demo", **overrides) -> TrainConfig:
    """A schedule by name (or a TrainConfig), with any field overridden: ``schedule("prid2011", epochs=10)``."""
    if isinstance(name, TrainConfig):
        base = name
    elif name in SCHEDULES:
        base = SCHEDULES[name]
    else:
        raise ValueError(f"unknown training schedule {name!r}; choose one of {list(SCHEDULES)} or pass a TrainConfig.")
    unknown = set(overrides) - {f.name for f in fields(TrainConfig)}
    if unknown:
        raise ValueError(
            f"unknown training setting(s) {sorted(unknown)}; known: {[f.name for f in fields(TrainConfig)]}."
        )
    return replace(base, **overrides)
