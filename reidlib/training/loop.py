"""Siamese training (chapter 8): SGD over pairs, the paper's schedule, history, checkpoints, resume.

One step takes ``batch_size`` pairs: both branches run through the same model in one
call (2B sequences, padded with a mask when their lengths differ), and the loss is
Eq. 4 of the paper (:func:`reidlib.losses.siamese_loss`), averaged over the pairs.
The modern recipe of chapter 13 (``sampler="pk"``, ``loss="triplet"``) differs in two
places only, the batch and the loss: a step takes one PK batch (:class:`PKSampler`: P
persons x K windows, in one call), and the loss is the batch-hard triplet loss on the
video features plus the identity cross-entropy of every window.
The step never waits for the device: the loss terms are summed where they are computed
and read back only every ``log_every`` steps and at the end of each epoch. Under
``torchrun`` the same loop runs data-parallel (see :mod:`reidlib.training.distributed`).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..losses import batch_hard_triplet, siamese_loss
from ..models import model_device, pad_sequences
from ..preprocess import channels, preprocess_dataset
from . import distributed
from .checkpoint import (
    atomic_write_text,
    clean_stale_temps,
    load_checkpoint,
    model_config,
    save_checkpoint,
    set_rng_state,
)
from .config import RUNTIME_FIELDS, TrainConfig, schedule
from .pairs import Pair, PairSampler
from .pk import PKBatch, PKSampler

CHECKPOINT = "checkpoint.pt"
HISTORY = "history.json"
PARTS = ("total", "id1", "hinge", "id2")  # the loss terms of Eq. 4, summed over an epoch
LOSS_PARTS = {"siamese": PARTS, "triplet": ("total", "id", "triplet")}  # the terms of each loss
HISTORY_KEYS = ("epoch", "loss", "id1", "hinge", "id2", "id_acc", "lr", "seconds")


def new_history(loss: str = "siamese") -> dict:
    """Per-epoch lists (``epoch``, ``loss``, the loss's terms ``LOSS_PARTS[loss][1:]``, ``id_acc``, ``lr``,
    ``seconds``; for Eq. 4 these are ``HISTORY_KEYS``), ``val_epoch`` / ``val_rank1`` (monitoring), and
    ``first_loss`` (the loss of the run's first step: the yardstick of divergence)."""
    keys = ("epoch", "loss", *LOSS_PARTS[loss][1:], "id_acc", "lr", "seconds")
    return {**{k: [] for k in keys}, "val_epoch": [], "val_rank1": [], "first_loss": None}


def _batch(pairs: list[Pair], data, device: torch.device, visibility: bool = False):
    """Inputs of B pairs -> x (2B, T, C, 56, 40), mask (2B, T) or None (no padding), same (B,), labels (2B,),
    visibility (2B, T) or None (only when asked for: the oracle head pools with it)."""
    seqs, vis = [], []
    for p in pairs:
        rng = np.random.default_rng(p.aug_seed)
        seqs.append(data.input(p.first, train=True, rng=rng, indices=p.idx1))
        seqs.append(data.input(p.second, train=True, rng=rng, indices=p.idx2))
        if visibility:
            vis += [_window_visibility(p.first, p.idx1), _window_visibility(p.second, p.idx2)]
    order = list(range(0, 2 * len(pairs), 2)) + list(range(1, 2 * len(pairs), 2))  # branch 1, then branch 2
    x, mask = pad_sequences([seqs[i] for i in order])
    v = pad_sequences([vis[i] for i in order])[0].to(device) if visibility else None
    if len({len(s) for s in seqs}) == 1:
        mask = None  # no padding: every masking step is skipped
    same = torch.tensor([p.same for p in pairs], device=device)
    labels = torch.tensor([p.label1 for p in pairs] + [p.label2 for p in pairs], device=device)
    return x.to(device, non_blocking=True), None if mask is None else mask.to(device), same, labels, v


def _pk_batch(batch: PKBatch, data, device: torch.device, visibility: bool = False):
    """Inputs of a PK batch of n windows -> x (n, T, C, 56, 40), mask (n, T) or None, None (no pair labels),
    labels (n,), visibility (n, T) or None; the tuple of :func:`_batch`."""
    seqs, vis = [], []
    for t, idx, seed in zip(batch.tracklets, batch.indices, batch.aug_seeds):
        seqs.append(data.input(t, train=True, rng=np.random.default_rng(int(seed)), indices=idx))
        if visibility:
            vis.append(_window_visibility(t, idx))
    x, mask = pad_sequences(seqs)
    v = pad_sequences(vis)[0].to(device) if visibility else None
    if len({len(s) for s in seqs}) == 1:
        mask = None
    labels = torch.as_tensor(batch.labels, device=device)
    return x.to(device, non_blocking=True), None if mask is None else mask.to(device), None, labels, v


def _make_batch(batch, data, device: torch.device, visibility: bool):
    """The inputs of one step: a list of pairs (:func:`_batch`) or a PK batch (:func:`_pk_batch`)."""
    make = _pk_batch if isinstance(batch, PKBatch) else _batch
    return make(batch, data, device, visibility)


def _loss(cfg: TrainConfig, f: torch.Tensor, logits: torch.Tensor, same: torch.Tensor | None, labels: torch.Tensor):
    """The loss of a step and its terms (0-d tensors, ``LOSS_PARTS[cfg.loss]``), from the distance features
    f (n, D) and the identity logits (n, classes) of the batch's n sequences."""
    if cfg.loss == "triplet":
        triplet = batch_hard_triplet(f.float(), labels, cfg.triplet_margin)
        ident = F.cross_entropy(logits.float(), labels)
        total = ident + triplet
        return total, {"total": total, "id": ident, "triplet": triplet}
    h = len(f) // 2  # branch 1: rows [0, h), branch 2: rows [h, 2h)
    return siamese_loss(
        f[:h].float(),
        f[h:].float(),
        same,
        logits[:h].float(),
        logits[h:].float(),
        labels[:h],
        labels[h:],
        cfg.margin,
        cfg.squared_hinge,
        cfg.id_weight,
    )


def _window_visibility(tracklet, idx: np.ndarray) -> torch.Tensor:
    if tracklet.visibility is None:
        raise ValueError(
            f"the oracle head trains with the true visibility of every frame, and {tracklet!r} has none: only "
            "the synthetic benchmark knows it. Train another head on real data."
        )
    return torch.as_tensor(np.asarray(tracklet.visibility)[idx], dtype=torch.float32)


class PairBatches(torch.utils.data.Dataset):
    """The batches of one epoch as a Dataset (item ``i`` = step ``i``), for a DataLoader with workers.

    It builds exactly the batches of the loop without workers (each pair, or each window of a PK
    batch, carries its own augmentation seed), on the CPU; the loop moves them to the device.
    """

    def __init__(self, batches: list[list[Pair]] | list[PKBatch], data, visibility: bool):
        self.batches, self.data, self.visibility = batches, data, visibility

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int):
        return _make_batch(self.batches[i], self.data, torch.device("cpu"), self.visibility)


def _batches(batches: list[list[Pair]] | list[PKBatch], data, device: torch.device, cfg: TrainConfig, visibility: bool):
    """Iterate over the epoch's batches on ``device``: built here, or by ``cfg.workers`` processes."""
    if cfg.workers == 0:
        for b in batches:
            yield _make_batch(b, data, device, visibility)
        return
    loader = torch.utils.data.DataLoader(
        PairBatches(batches, data, visibility),
        batch_size=None,
        num_workers=cfg.workers,
        pin_memory=device.type == "cuda",
        generator=torch.Generator(),  # its own seed: the global generator (dropout's) is not touched
    )
    for x, mask, same, labels, v in loader:
        move = dict(device=device, non_blocking=True)
        yield (
            x.to(**move),
            None if mask is None else mask.to(**move),
            None if same is None else same.to(**move),
            labels.to(**move),
            None if v is None else v.to(**move),
        )


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
            ``overrides`` change single fields (``epochs=3``, ``batch_size=8``, ...).
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
    dev = model_device(model, device)
    if cfg.amp and dev.type != "cuda":
        raise ValueError(
            f"amp=True (mixed precision) needs a CUDA device; the model is on {dev}. "
            "Set amp=False, or move the model to a GPU."
        )
    train_set = dataset.split(split)[0]
    if cfg.sampler == "pk":
        sampler = PKSampler(train_set, cfg.pk_persons, cfg.pk_windows, window=cfg.window, seed=cfg.seed)
    else:
        sampler = PairSampler(train_set, seed=cfg.seed, window=cfg.window)
    num_classes = model.classifier.out_features
    rank, world_size, local_rank = distributed.world()
    if world_size > 1 and cfg.sampler == "pk":
        raise ValueError(
            f"sampler='pk' trains in one process; this is one of {world_size} (torchrun). The batch-hard triplet "
            "loss mines within the whole PK batch, which a split of the batch over processes would change. "
            "Train it in one process (one GPU), or use sampler='pairs'."
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
    if num_classes != len(sampler.pids):
        raise ValueError(
            f"the model has {num_classes} identity classes but split {split} of {dataset.name!r} has "
            f"{len(sampler.pids)} training persons; build VideoReIDNet(num_classes={len(sampler.pids)})."
        )
    use_flow = model.cnn.in_channels == channels(True)
    if data is None:
        data = preprocess_dataset(dataset, use_flow=use_flow, progress=progress)
    if data.channels != model.cnn.in_channels:
        raise ValueError(
            f"the preprocessed data have {data.channels} channels but the model takes "
            f"{model.cnn.in_channels}; preprocess with use_flow={use_flow}."
        )

    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(cfg.milestones), cfg.gamma)
    scaler = torch.amp.GradScaler(dev.type, enabled=cfg.amp)
    history, start = new_history(cfg.loss), 0
    # What defines the run besides cfg: a resumed run must match it exactly.
    run = dict(
        dataset=dataset.name,
        persons=dataset.persons,
        split=int(split),
        train_pids=sampler.pids,
        preprocessing=data.params,
        model_config=model_config(model),
    )
    out = None if out_dir is None else Path(out_dir)
    created = distributed.setup(dev) if world_size > 1 else False
    main = rank == 0
    if out is not None:
        if out.exists() and not out.is_dir():
            raise NotADirectoryError(f"out_dir {out} is a file; expected a folder for the run. Choose another path.")
        if resume and (out / CHECKPOINT).exists():
            ckpt = load_checkpoint(out / CHECKPOINT, model, optimizer, scheduler, scaler)
            _check_same_run(ckpt, cfg, run, out / CHECKPOINT)
            set_rng_state(ckpt["rng"])
            history, start = ckpt["history"], ckpt["epoch"]
        elif (out / CHECKPOINT).exists():
            raise FileExistsError(
                f"{out / CHECKPOINT} exists: pass resume=True to continue that run, or choose "
                "another out_dir (or delete it) to start afresh."
            )
        if main:  # every check has passed: from here on the run writes
            out.mkdir(parents=True, exist_ok=True)
            clean_stale_temps(out)  # the parts of writes that a killed run left behind
    elif resume:
        raise ValueError("resume=True needs out_dir=, the folder of the run to continue.")
    if on_start is not None and main:
        on_start()
    if start == 0:
        torch.manual_seed(cfg.seed)  # dropout draws from torch's global generator
    net = distributed.SiameseForward(model)
    if world_size > 1:  # built after any resume: DDP starts from rank 0's weights
        net = nn.parallel.DistributedDataParallel(net, device_ids=[dev.index] if dev.type == "cuda" else None)
    if cfg.compile:  # CUDA graphs on a GPU (the step's shapes are fixed: window and batch size)
        net = torch.compile(net, mode="reduce-overhead" if dev.type == "cuda" else "default")

    def save(epoch: int) -> None:
        if out is not None and main:
            save_checkpoint(
                out / CHECKPOINT,
                model,
                optimizer,
                scheduler,
                scaler,
                epoch=epoch,
                history=history,
                config=cfg.to_dict(),
                **run,
            )
            atomic_write_text(out / HISTORY, json.dumps(history))

    steps = len(sampler) if cfg.sampler == "pk" else math.ceil(len(sampler) / cfg.batch_size)
    parts_of = LOSS_PARTS[cfg.loss]
    per_item = 1 if cfg.sampler == "pk" else 2  # sequences per item of a batch: a window, or a pair
    with_visibility = getattr(model, "needs_visibility", False)
    bar = tqdm(total=(cfg.epochs - start) * steps, disable=not progress or not main, desc="training", unit="step")
    for epoch in range(start, cfg.epochs):
        model.train()
        t0 = time.perf_counter()
        items = sampler.epoch(epoch)  # pairs, or PK batches
        if world_size > 1:
            torch.manual_seed(distributed.epoch_seed(cfg.seed, epoch, rank))
        if cfg.sampler == "pk":
            global_batches = items
        else:
            global_batches = [items[s * cfg.batch_size : (s + 1) * cfg.batch_size] for s in range(steps)]
        if world_size > 1:  # a rank with no share of a batch trains on its first pair with weight 0
            local = [distributed.share(b, rank, world_size) or b[:1] for b in global_batches]
            weight = [len(distributed.share(b, rank, world_size)) for b in global_batches]
        else:
            local, weight = global_batches, [len(b) for b in global_batches]
        # sums of (loss terms x items, right identities, items): on the device until read
        sums = torch.zeros(len(parts_of) + 2, dtype=torch.float64, device=dev)
        logged = sums.clone()
        batches = _batches(local, data, dev, cfg, with_visibility)
        for step, (x, mask, same, labels, vis) in enumerate(batches):
            if cfg.compile and dev.type == "cuda":
                torch.compiler.cudagraph_mark_step_begin()  # the last step's graph outputs may be reused
            with torch.autocast(dev.type, enabled=cfg.amp):
                f, logits = net(x, mask, vis)  # (n, D), (n, classes): n = 2b for pairs
                loss, parts = _loss(cfg, f, logits, same, labels)
            b = weight[step]
            correct = (logits.argmax(1) == labels).sum() if b else torch.zeros((), device=dev)
            stats = torch.stack([*(parts[k].detach().double() * b for k in parts_of), correct.double()])
            stats = torch.cat([stats, torch.tensor([b], dtype=torch.float64, device=dev)])
            if world_size > 1:  # DDP averages gradients over ranks: weight this rank's mean by its share
                loss = loss * (b * world_size / len(global_batches[step]))
                distributed.dist.all_reduce(stats)  # the sums over the global batch, on every rank
            sums += stats
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            if cfg.clip_value is not None:
                nn.utils.clip_grad_value_(model.parameters(), cfg.clip_value)
            if cfg.clip_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm)
            scaler.step(optimizer)
            scaler.update()
            bar.update()
            if history["first_loss"] is None:  # one read, on the run's first step
                history["first_loss"] = float(stats[0] / stats[-1])
            if (step + 1) % cfg.log_every == 0 and step + 1 < steps:
                interval = (sums - logged).tolist()  # the only read of the device in an epoch, with the end
                logged = sums.clone()
                _check_loss(interval[0] / interval[-1], history, cfg, epoch, optimizer)
                bar.set_postfix(epoch=epoch, loss=f"{interval[0] / interval[-1]:.3f}")
            if on_step is not None:
                on_step(epoch, step, {k: v.detach() for k, v in parts.items()})
        totals = sums.tolist()
        seen = totals[-1]
        _check_loss(totals[0] / seen, history, cfg, epoch, optimizer)
        history["epoch"].append(epoch)
        history["loss"].append(totals[0] / seen)
        for k, v in zip(parts_of[1:], totals[1 : len(parts_of)]):
            history[k].append(v / seen)
        history["id_acc"].append(totals[len(parts_of)] / (per_item * seen))
        history["lr"].append(optimizer.param_groups[0]["lr"])
        history["seconds"].append(time.perf_counter() - t0)
        bar.set_postfix(epoch=epoch, loss=f"{history['loss'][-1]:.3f}", id_acc=f"{history['id_acc'][-1]:.2f}")
        scheduler.step()
        last = epoch + 1 == cfg.epochs
        if validate is not None and cfg.val_every and ((epoch + 1) % cfg.val_every == 0 or last):
            history["val_epoch"].append(epoch)
            history["val_rank1"].append(float(validate(model)))
            bar.set_postfix(epoch=epoch, loss=f"{history['loss'][-1]:.3f}", rank1=f"{history['val_rank1'][-1]:.1f}")
        if last or (cfg.save_every and (epoch + 1) % cfg.save_every == 0):
            _check_weights(model, epoch)
            save(epoch + 1)
    bar.close()
    if start >= cfg.epochs:
        save(start)  # a finished run that is resumed rewrites its files
    model.eval()
    if created:
        distributed.dist.destroy_process_group()
    return history


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


def _check_same_run(ckpt: dict, cfg: TrainConfig, run: dict, path: Path) -> None:
    """Resuming is only exact with the same run: name every difference (``epochs`` may grow)."""
    # a setting added after the checkpoint was written had its default value then
    old = {**{f.name: f.default for f in fields(TrainConfig)}, **ckpt.get("config", {})}
    diff = [
        f"{k}: {old.get(k)!r} -> {v!r}" for k, v in cfg.to_dict().items() if k not in RUNTIME_FIELDS and old.get(k) != v
    ]
    for k, v in run.items():
        if ckpt.get(k) != v:
            if isinstance(v, dict) and isinstance(ckpt.get(k), dict):
                diff += [
                    f"{k}.{f}: {ckpt[k].get(f)!r} -> {v.get(f)!r}"
                    for f in sorted(set(v) | set(ckpt[k]))
                    if ckpt[k].get(f) != v.get(f)
                ]
            else:
                diff.append(f"{k}: {_short(ckpt.get(k))} -> {_short(v)}")
    if diff:
        raise ValueError(
            f"cannot resume from {path}: the run's settings differ ({'; '.join(diff)}). Resume with the "
            "same settings, or start a new run in another out_dir."
        )
    if ckpt["epoch"] > cfg.epochs:
        raise ValueError(f"{path} is already at epoch {ckpt['epoch']}, past epochs={cfg.epochs}.")


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
