"""The training loop (chapter 8): SGD on a recipe's batches, the paper's schedules, history, checkpoints, resume.

A recipe (:mod:`reidlib.training.recipes`, ``TrainConfig.recipe``) says which batches a step takes and
which loss scores them: the paper's Siamese pairs with Eq. 4 (chapter 8), or PK batches with the
batch-hard triplet loss (chapter 13). The loop is the same for both: :func:`train` sets a run up, every
step is :func:`_step` (forward, loss, backward, clip, update), and :func:`_end_epoch` records the epoch,
steps the learning rate, validates and saves.
The step never waits for the device: the loss terms are summed where they are computed
and read back only every ``log_every`` steps and at the end of each epoch. Under
``torchrun`` the same loop runs data-parallel (see :mod:`reidlib.training.distributed`).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from ..models import model_device
from ..preprocess import PreprocessedDataset, channels, preprocess_dataset
from . import distributed
from .checkpoint import (
    atomic_write_text,
    check_same_run,
    clean_stale_temps,
    load_checkpoint,
    model_config,
    save_checkpoint,
    set_rng_state,
)
from .config import TrainConfig, schedule
from .pairs import PairSampler
from .pk import PKSampler
from .recipes import RECIPES, Batch, Recipe

CHECKPOINT = "checkpoint.pt"
HISTORY = "history.json"


def new_history(recipe: str = "siamese") -> dict:
    """Per-epoch lists (``epoch``, ``loss``, the recipe's loss terms besides the total, ``id_acc``, ``lr``,
    ``seconds``), ``val_epoch`` / ``val_rank1`` (monitoring), and ``first_loss`` (the loss of the run's
    first step: the yardstick of divergence)."""
    keys = ("epoch", "loss", *RECIPES[recipe].parts[1:], "id_acc", "lr", "seconds")
    return {**{k: [] for k in keys}, "val_epoch": [], "val_rank1": [], "first_loss": None}


class EpochBatches(torch.utils.data.Dataset):
    """The batches of one epoch as a Dataset (item ``i``: the :class:`Batch` of step ``i``), for a DataLoader
    with workers. It builds exactly the batches of the loop without workers (each pair, or each window of a
    PK batch, carries its own augmentation seed), on the cpu; the loop moves them to the device."""

    def __init__(self, batches: list, data, collate: Callable[..., Batch], visibility: bool):
        self.batches, self.data, self.collate, self.visibility = batches, data, collate, visibility

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> Batch:
        return self.collate(self.batches[i], self.data, self.visibility)


def _batches(batches: list, data, run: _Run) -> Iterator[Batch]:
    """The epoch's batches on the run's device: built here, or by ``workers`` processes."""
    collate, device = run.recipe.collate, run.device
    if run.cfg.workers == 0:
        for items in batches:
            yield collate(items, data, run.visibility).to(device)
        return
    loader = torch.utils.data.DataLoader(
        EpochBatches(batches, data, collate, run.visibility),
        batch_size=None,
        num_workers=run.cfg.workers,
        pin_memory=device.type == "cuda",
        generator=torch.Generator(),  # its own seed: the global generator (dropout's) is not touched
    )
    for batch in loader:
        yield batch.to(device)


@dataclass
class _Run:
    """A training run in progress: what its steps and epoch ends share."""

    cfg: TrainConfig
    recipe: Recipe
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    sampler: PairSampler | PKSampler
    data: PreprocessedDataset
    device: torch.device
    visibility: bool  # the batches carry the true visibility (the oracle head pools with it)
    identity: dict  # what defines the run besides cfg: a resumed run must match it
    out: Path | None
    history: dict
    start: int  # the first epoch to train (> 0 when resumed)
    rank: int
    world_size: int
    net: nn.Module | None = None  # the model's training forward pass (for DDP and torch.compile), once started
    bar: tqdm | None = None

    @property
    def main(self) -> bool:
        return self.rank == 0

    def save(self, epoch: int) -> None:
        """Write the checkpoint after ``epoch`` epochs and the history (the main rank, with an out_dir)."""
        if self.out is not None and self.main:
            state = (self.model, self.optimizer, self.scheduler, self.scaler)
            config = self.cfg.to_dict()
            save_checkpoint(
                self.out / CHECKPOINT, *state, epoch=epoch, history=self.history, config=config, **self.identity
            )
            atomic_write_text(self.out / HISTORY, json.dumps(self.history))


def train(
    model: nn.Module,
    dataset,
    split: int = 0,
    config: str | TrainConfig = "demo",
    *,
    data=None,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    device: str | torch.device | None = None,
    progress: bool = True,
    validate: Callable[[nn.Module], float] | None = None,
    on_step: Callable[[int, int, dict], None] | None = None,
    on_start: Callable[[], None] | None = None,
    **overrides,
) -> dict:
    """Train ``model`` on split ``split`` of ``dataset`` -> the history (a dict of per-epoch lists).

    The model is left in eval mode.

    Args:
        model: a :class:`reidlib.models.VideoReIDNet` with one class per training person;
            training runs on its device (move it first: ``model.to(reidlib.device())``).
        dataset: a :class:`reidlib.data.VideoReIDDataset`.
        config: a name in :data:`reidlib.training.SCHEDULES` or a :class:`TrainConfig`;
            ``overrides`` change single fields (``epochs=3``, ``batch_size=8``, ``recipe="triplet"``, ...).
        data: the dataset preprocessed (:func:`reidlib.preprocess.preprocess_dataset`);
            None preprocesses it here (cached on disk).
        out_dir: where to write ``checkpoint.pt`` (every ``save_every`` epochs and at the
            end) and ``history.json``; None keeps nothing on disk.
        resume: continue from ``out_dir/checkpoint.pt`` when it exists; the result equals
            an uninterrupted run (on the cpu: same weights). The run must be the same one: same
            data, preprocessing, model and training settings (epochs may grow), else an error
            lists the differences. A fresh run seeds torch's global generator with ``seed``.
        device: when given, must be the model's device.
        progress: show a progress bar.
        validate: ``validate(model) -> rank-1 (%)``, called every ``val_every`` epochs and
            recorded in the history (for monitoring; the caller decides on which persons).
        on_step: called as ``on_step(epoch, step, parts)`` after every optimiser step, with this
            rank's loss terms ``parts`` (0-d tensors on the device: reading them waits for it).
        on_start: called once on the main rank when every check has passed (a resumed run's
            included) and before anything is written to ``out_dir``: a caller's own files go there
            only for a run that will go ahead (``run_split`` writes ``config.yaml`` this way).

    Training stops with a ``FloatingPointError`` (and writes nothing more) when the loss or
    the weights stop being finite, or when the loss grows past ``diverge_factor`` times that
    of the first step: the last good checkpoint stays.

    Under ``torchrun`` (more than one process) it trains data-parallel: the process group is
    initialised when needed (nccl on cuda, gloo on cpu; destroyed at the end if created here),
    each rank trains on its share of every global batch of ``batch_size`` pairs, gradients
    are averaged, and only rank 0 writes files and shows progress. Every rank returns the
    same history (over all ranks' pairs). Each rank seeds its dropout by (seed, epoch, rank),
    so dropout masks differ from a single process.
    """
    cfg = schedule(config, **overrides)
    run = _setup(model, dataset, split, cfg, data, device, progress)
    created = distributed.setup(run.device) if run.world_size > 1 else False
    _open_out_dir(run, out_dir, resume)
    if on_start is not None and run.main:
        on_start()
    _start(run, progress)
    for epoch in range(run.start, cfg.epochs):
        t0 = time.perf_counter()
        totals = _train_epoch(run, epoch, on_step)
        _end_epoch(run, epoch, totals, t0, validate)
    run.bar.close()
    if run.start >= cfg.epochs:
        run.save(run.start)  # a finished run that is resumed rewrites its files
    model.eval()
    if created:
        distributed.dist.destroy_process_group()
    return run.history


def _setup(model: nn.Module, dataset, split: int, cfg: TrainConfig, data, device, progress: bool) -> _Run:
    """Check that the model, the data, the recipe and the processes fit together, then build the run."""
    dev, recipe = model_device(model, device), RECIPES[cfg.recipe](cfg)
    _check_processes(cfg, recipe, dev)
    sampler = recipe.sampler(dataset.split(split)[0])
    if model.classifier.out_features != len(sampler.pids):
        raise ValueError(
            f"the model has {model.classifier.out_features} identity classes but split {split} of {dataset.name!r} "
            f"has {len(sampler.pids)} training persons; build VideoReIDNet(num_classes={len(sampler.pids)})."
        )
    data = _prepared(model, dataset, data, progress)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    identity = dict(
        dataset=dataset.name,
        persons=dataset.persons,
        split=int(split),
        train_pids=sampler.pids,
        preprocessing=data.params,
        model_config=model_config(model),
    )
    rank, world_size, _ = distributed.world()
    return _Run(
        cfg=cfg,
        recipe=recipe,
        model=model,
        optimizer=optimizer,
        scheduler=torch.optim.lr_scheduler.MultiStepLR(optimizer, list(cfg.milestones), cfg.gamma),
        scaler=torch.amp.GradScaler(dev.type, enabled=cfg.amp),
        sampler=sampler,
        data=data,
        device=dev,
        visibility=getattr(model, "needs_visibility", False),
        identity=identity,
        out=None,
        history=new_history(cfg.recipe),
        start=0,
        rank=rank,
        world_size=world_size,
    )


def _check_processes(cfg: TrainConfig, recipe: Recipe, dev: torch.device) -> None:
    """Refuse settings that this device or this many processes (torchrun) cannot train."""
    rank, world_size, local_rank = distributed.world()
    if cfg.amp and dev.type != "cuda":
        raise ValueError(
            f"amp=True (mixed precision) needs a CUDA device; the model is on {dev}. "
            "Set amp=False, or move the model to a GPU."
        )
    if world_size > 1 and recipe.one_process:
        raise ValueError(
            f"recipe={recipe.name!r} trains in one process; this is one of {world_size} (torchrun). The batch-hard "
            "triplet loss mines within the whole PK batch, which a split of the batch over processes would change. "
            "Train it in one process (one GPU), or use recipe='siamese'."
        )
    if world_size > 1 and cfg.batch_size < world_size:
        raise ValueError(
            f"batch_size={cfg.batch_size} pairs per step cannot be shared by {world_size} processes; "
            f"use batch_size >= {world_size} (a multiple of {world_size} gives equal shares), or fewer "
            "processes."
        )
    if world_size > 1 and dev.type == "cuda" and dev.index != local_rank % torch.cuda.device_count():
        raise ValueError(
            f"rank {rank} (local rank {local_rank}) should train on its own GPU, "
            f"cuda:{local_rank % torch.cuda.device_count()}; the model is on {dev}. Move it with "
            "model.to(reidlib.training.distributed.rank_device())."
        )


def _prepared(model: nn.Module, dataset, data, progress: bool):
    """The preprocessed dataset the model takes: ``data`` when given (checked), else preprocessed here."""
    use_flow = model.cnn.in_channels == channels(True)
    if data is None:
        data = preprocess_dataset(dataset, use_flow=use_flow, progress=progress)
    if data.channels != model.cnn.in_channels:
        raise ValueError(
            f"the preprocessed data have {data.channels} channels but the model takes "
            f"{model.cnn.in_channels}; preprocess with use_flow={use_flow}."
        )
    return data


def _open_out_dir(run: _Run, out_dir, resume: bool) -> None:
    """Continue the run saved in ``out_dir`` (``resume``) or claim the folder for a new one; nothing is
    written before every check has passed."""
    if out_dir is None:
        if resume:
            raise ValueError("resume=True needs out_dir=, the folder of the run to continue.")
        return
    run.out = out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"out_dir {out} is a file; expected a folder for the run. Choose another path.")
    if resume and (out / CHECKPOINT).exists():
        ckpt = load_checkpoint(out / CHECKPOINT, run.model, run.optimizer, run.scheduler, run.scaler)
        check_same_run(ckpt, run.cfg, run.identity, out / CHECKPOINT)
        set_rng_state(ckpt["rng"])
        run.history, run.start = ckpt["history"], ckpt["epoch"]
    elif (out / CHECKPOINT).exists():
        raise FileExistsError(
            f"{out / CHECKPOINT} exists: pass resume=True to continue that run, or choose "
            "another out_dir (or delete it) to start afresh."
        )
    if run.main:  # every check has passed: from here on the run writes
        out.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(out)  # the parts of writes that a killed run left behind


def _start(run: _Run, progress: bool) -> None:
    """Seed a fresh run's dropout, wrap the model's forward pass for DDP and torch.compile, open the progress bar."""
    if run.start == 0:
        torch.manual_seed(run.cfg.seed)  # dropout draws from torch's global generator
    run.net = distributed.TrainingForward(run.model)
    dev = run.device
    if run.world_size > 1:  # built after any resume: DDP starts from rank 0's weights
        run.net = nn.parallel.DistributedDataParallel(run.net, device_ids=[dev.index] if dev.type == "cuda" else None)
    if run.cfg.compile:  # CUDA graphs on a GPU (the step's shapes are fixed: window and batch size)
        run.net = torch.compile(run.net, mode="reduce-overhead" if dev.type == "cuda" else "default")
    steps = len(run.recipe.batches(run.sampler, run.start))  # an epoch's batches depend on (seed, epoch) only
    total = (run.cfg.epochs - run.start) * steps
    run.bar = tqdm(total=total, disable=not progress or not run.main, desc="training", unit="step")


def _train_epoch(run: _Run, epoch: int, on_step: Callable[[int, int, dict], None] | None) -> list[float]:
    """Train one epoch -> its sums over every rank: loss terms x items, right identities, items."""
    run.model.train()
    global_batches = run.recipe.batches(run.sampler, epoch)
    if run.world_size > 1:  # a rank with no share of a batch trains on its first item with weight 0
        torch.manual_seed(distributed.epoch_seed(run.cfg.seed, epoch, run.rank))
        local = [distributed.share(b, run.rank, run.world_size) or b[:1] for b in global_batches]
        weights = [len(distributed.share(b, run.rank, run.world_size)) for b in global_batches]
    else:
        local, weights = global_batches, [len(b) for b in global_batches]
    sums = torch.zeros(len(run.recipe.parts) + 2, dtype=torch.float64, device=run.device)  # read only to log
    logged = sums.clone()
    for step, batch in enumerate(_batches(local, run.data, run)):
        stats, parts = _step(run, batch, weights[step], len(global_batches[step]))
        sums += stats
        run.bar.update()
        if run.history["first_loss"] is None:  # one read, on the run's first step
            run.history["first_loss"] = float(stats[0] / stats[-1])
        if (step + 1) % run.cfg.log_every == 0 and step + 1 < len(global_batches):
            interval = (sums - logged).tolist()  # the only read of the device in an epoch, with the end
            logged = sums.clone()
            _check_loss(interval[0] / interval[-1], run.history, run.cfg, epoch, run.optimizer)
            run.bar.set_postfix(epoch=epoch, loss=f"{interval[0] / interval[-1]:.3f}")
        if on_step is not None:
            on_step(epoch, step, {k: v.detach() for k, v in parts.items()})
    return sums.tolist()


def _step(run: _Run, batch: Batch, weight: int, global_size: int) -> tuple[torch.Tensor, dict]:
    """One optimiser step on this rank's ``batch``, ``weight`` of the ``global_size`` items of the step
    -> the step's sums over every rank (loss terms x items, right identities, items: float64 (len(parts) + 2,)
    on the device) and this rank's loss terms."""
    cfg, dev, optimizer, scaler = run.cfg, run.device, run.optimizer, run.scaler
    if cfg.compile and dev.type == "cuda":
        torch.compiler.cudagraph_mark_step_begin()  # the last step's graph outputs may be reused
    with torch.autocast(dev.type, enabled=cfg.amp):
        features, logits = run.net(batch.x, batch.mask, batch.visibility)  # (n, D), (n, classes)
        loss, parts = run.recipe.loss(features, logits, batch)
    correct = (logits.argmax(1) == batch.labels).sum() if weight else torch.zeros((), device=dev)
    stats = torch.stack([*(parts[k].detach().double() * weight for k in run.recipe.parts), correct.double()])
    stats = torch.cat([stats, torch.tensor([weight], dtype=torch.float64, device=dev)])
    if run.world_size > 1:  # DDP averages gradients over ranks: weight this rank's mean by its share
        loss = loss * (weight * run.world_size / global_size)
        distributed.dist.all_reduce(stats)  # the sums over the global batch, on every rank
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    if cfg.clip_value is not None:
        nn.utils.clip_grad_value_(run.model.parameters(), cfg.clip_value)
    if cfg.clip_norm is not None:
        nn.utils.clip_grad_norm_(run.model.parameters(), cfg.clip_norm)
    scaler.step(optimizer)
    scaler.update()
    return stats, parts


def _end_epoch(run: _Run, epoch: int, totals: list[float], t0: float, validate) -> None:
    """Record the epoch's means in the history, step the learning rate, validate and save when due."""
    cfg, history, parts = run.cfg, run.history, run.recipe.parts
    seen = totals[-1]
    _check_loss(totals[0] / seen, history, cfg, epoch, run.optimizer)
    history["epoch"].append(epoch)
    history["loss"].append(totals[0] / seen)
    for k, v in zip(parts[1:], totals[1 : len(parts)], strict=True):
        history[k].append(v / seen)
    history["id_acc"].append(totals[len(parts)] / (run.recipe.sequences_per_item * seen))
    history["lr"].append(run.optimizer.param_groups[0]["lr"])
    history["seconds"].append(time.perf_counter() - t0)
    run.bar.set_postfix(epoch=epoch, loss=f"{history['loss'][-1]:.3f}", id_acc=f"{history['id_acc'][-1]:.2f}")
    run.scheduler.step()
    last = epoch + 1 == cfg.epochs
    if validate is not None and cfg.val_every and ((epoch + 1) % cfg.val_every == 0 or last):
        history["val_epoch"].append(epoch)
        history["val_rank1"].append(float(validate(run.model)))
        run.bar.set_postfix(epoch=epoch, loss=f"{history['loss'][-1]:.3f}", rank1=f"{history['val_rank1'][-1]:.1f}")
    if last or (cfg.save_every and (epoch + 1) % cfg.save_every == 0):
        _check_weights(run.model, epoch)
        run.save(epoch + 1)


def _check_loss(loss: float, history: dict, cfg: TrainConfig, epoch: int, optimizer) -> None:
    """Stop a run whose loss is not finite, or has grown past ``diverge_factor`` x that of its first step."""
    lr = optimizer.param_groups[0]["lr"]
    advice = f"Lower the learning rate (now {lr:g}) or clip gradients (clip_value / clip_norm)."
    if not math.isfinite(loss):
        raise FloatingPointError(f"the loss became {loss} in epoch {epoch}: training diverged. {advice}")
    first = history["first_loss"]
    if cfg.diverge_factor is not None and first and loss > cfg.diverge_factor * first:
        raise FloatingPointError(
            f"the loss grew to {loss:.4g} in epoch {epoch}, over {cfg.diverge_factor:g} x that of the first "
            f"step ({first:.4g}): training diverged, and the last checkpoint is the last good one. {advice}"
        )


def _check_weights(model: nn.Module, epoch: int) -> None:
    """Refuse to save weights that are not finite (a NaN gradient on the last steps)."""
    bad = [n for n, p in model.named_parameters() if not bool(torch.isfinite(p).all())]
    if bad:
        raise FloatingPointError(
            f"after epoch {epoch} the weights {bad[:5]} are not finite (NaN or inf): a gradient blew up. "
            "Nothing was saved; the last checkpoint is the last good one. Lower the learning rate or clip gradients."
        )
