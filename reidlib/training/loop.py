"""Siamese training (chapter 8): SGD over pairs, the paper's schedule, history, checkpoints, resume.

One step takes ``batch_size`` pairs: both branches run through the same model in one
call (2B sequences, padded with a mask when their lengths differ), and the loss is
Eq. 4 of the paper (:func:`reidlib.losses.siamese_loss`), averaged over the pairs.
Under ``torchrun`` the same loop runs data-parallel (see :mod:`reidlib.training.distributed`).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..evaluation.features import model_device
from ..evaluation.protocol import evaluate_tracklets
from ..losses import siamese_loss
from ..models import pad_sequences
from . import distributed
from .checkpoint import load_checkpoint, model_config, save_checkpoint, set_rng_state
from .pairs import Pair, PairSampler
from .presets import TrainConfig, get_config

CHECKPOINT = "checkpoint.pt"
HISTORY_KEYS = ("epoch", "loss", "id1", "hinge", "id2", "id_acc", "lr", "seconds")


def new_history() -> dict:
    """Per-epoch lists (``HISTORY_KEYS``) plus ``val_epoch`` / ``val_rank1`` (monitoring on the test split)."""
    return {**{k: [] for k in HISTORY_KEYS}, "val_epoch": [], "val_rank1": []}


def _batch(pairs: list[Pair], data, device: torch.device):
    """Inputs of B pairs -> x (2B, T, C, 56, 40), mask (2B, T) or None, same (B,), labels (2B,)."""
    seqs = []
    for p in pairs:
        rng = np.random.default_rng(p.aug_seed)
        seqs.append(data.input(p.first, train=True, rng=rng, indices=p.idx1))
        seqs.append(data.input(p.second, train=True, rng=rng, indices=p.idx2))
    seqs = seqs[0::2] + seqs[1::2]  # branch 1 of every pair, then branch 2
    if len({len(s) for s in seqs}) == 1:
        x, mask = torch.stack(seqs), None
    else:
        x, mask = pad_sequences(seqs)
        mask = mask.to(device)
    same = torch.tensor([p.same for p in pairs], device=device)
    labels = torch.tensor([p.label1 for p in pairs] + [p.label2 for p in pairs], device=device)
    return x.to(device), mask, same, labels


def validate(model: nn.Module, query: list, gallery: list, data, chunk: int = 128) -> float:
    """Rank-1 (%) of ``model`` on query vs gallery tracklets."""
    return evaluate_tracklets(model, query, gallery, data=data, chunk=chunk)["rank1"]


def train(
    model: nn.Module,
    dataset,
    split: int = 0,
    preset: str | TrainConfig = "quick",
    *,
    data=None,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    device: str | torch.device | None = None,
    progress: bool = True,
    on_step: Callable[[int, int, dict], None] | None = None,
    **overrides,
) -> dict:
    """Train ``model`` on split ``split`` of ``dataset`` -> the history (a dict of per-epoch lists).

    The model is left in eval mode.

    Args:
        model: a :class:`reidlib.models.VideoReIDNet` with one class per training person;
            training runs on its device (move it first: ``model.to(reidlib.device())``).
        dataset: a :class:`reidlib.data.VideoReIDDataset`.
        preset: a name in :data:`reidlib.training.PRESETS` or a :class:`TrainConfig`;
            ``overrides`` change single fields (``epochs=3``, ``batch_size=8``, ...).
        data: the dataset preprocessed (:func:`reidlib.preprocess.preprocess_dataset`);
            None preprocesses it here (cached on disk).
        out_dir: where to write ``checkpoint.pt`` (every ``save_every`` epochs and at the
            end), ``config.json`` and ``history.json``; None keeps nothing on disk.
        resume: continue from ``out_dir/checkpoint.pt`` when it exists; the result equals
            an uninterrupted run (on the cpu: same weights). A fresh run seeds torch's
            global generator with ``seed`` (dropout uses it).
        device: when given, must be the model's device.
        on_step: called as ``on_step(epoch, step, parts)`` after every optimiser step.

    Under ``torchrun`` (more than one process) it trains data-parallel: the process group is
    initialised when needed (nccl on cuda, gloo on cpu; destroyed at the end if created here),
    each rank trains on its share of every global batch of ``batch_size`` pairs, gradients
    are averaged, and only rank 0 writes files and shows progress. Every rank returns the
    same history (over all ranks' pairs); ``on_step`` gets this rank's ``parts``. Each rank
    seeds its dropout by (seed, epoch, rank), so dropout masks differ from a single process.
    """
    cfg = get_config(preset, **overrides)
    dev = model_device(model, device)
    if cfg.amp and dev.type != "cuda":
        raise ValueError(
            f"amp=True (mixed precision) needs a CUDA device; the model is on {dev}. "
            "Set amp=False, or move the model to a GPU."
        )
    train_set, query, gallery = dataset.split(split)
    sampler = PairSampler(train_set, seed=cfg.seed, window=cfg.window)
    num_classes = model.classifier.out_features
    rank, world_size, local_rank = distributed.world()
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
    if data is None:
        from ..preprocess import preprocess_dataset

        data = preprocess_dataset(dataset, use_flow=model.cnn.in_channels == 5, progress=progress)
    if data.channels != model.cnn.in_channels:
        raise ValueError(
            f"the preprocessed data have {data.channels} channels but the model takes "
            f"{model.cnn.in_channels}; preprocess with use_flow={model.cnn.in_channels == 5}."
        )

    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(cfg.milestones), cfg.gamma)
    scaler = torch.amp.GradScaler("cuda") if cfg.amp else None
    history, start = new_history(), 0
    run = dict(dataset=dataset.name, split=int(split), train_pids=sampler.pids)
    out = None if out_dir is None else Path(out_dir)
    created = distributed.setup(dev) if world_size > 1 else False
    main = rank == 0
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
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
        if main:
            (out / "config.json").write_text(
                json.dumps(dict(config=cfg.to_dict(), model=model_config(model), **run), indent=1)
            )
    elif resume:
        raise ValueError("resume=True needs out_dir=, the folder of the run to continue.")
    if start == 0:
        torch.manual_seed(cfg.seed)  # dropout draws from torch's global generator
    net = distributed.SiameseForward(model)
    if world_size > 1:  # built after any resume: DDP starts from rank 0's weights
        net = nn.parallel.DistributedDataParallel(net, device_ids=[dev.index] if dev.type == "cuda" else None)

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
            (out / "history.json").write_text(json.dumps(history))

    steps = math.ceil(len(sampler) / cfg.batch_size)
    bar = tqdm(total=(cfg.epochs - start) * steps, disable=not progress or not main, desc="training", unit="step")
    for epoch in range(start, cfg.epochs):
        model.train()
        t0, sums, correct, seen = time.perf_counter(), dict(total=0.0, id1=0.0, hinge=0.0, id2=0.0), 0, 0
        pairs = sampler.epoch(epoch)
        if world_size > 1:
            torch.manual_seed(distributed.epoch_seed(cfg.seed, epoch, rank))
        for step in range(steps):
            batch = pairs[step * cfg.batch_size : (step + 1) * cfg.batch_size]
            local = distributed.share(batch, rank, world_size) if world_size > 1 else batch
            x, mask, same, labels = _batch(local or batch[:1], data, dev)  # no share: one pair, weight 0
            with torch.autocast(dev.type, enabled=cfg.amp):
                f, logits = net(x, mask)  # (2b, D), (2b, classes)
                h = len(x) // 2  # branch 1: rows [0, h), branch 2: rows [h, 2h)
                loss, parts = siamese_loss(
                    f[:h].float(),
                    f[h:].float(),
                    same,
                    logits[:h].float(),
                    logits[h:].float(),
                    labels[:h],
                    labels[h:],
                    cfg.margin,
                    cfg.squared_hinge,
                )
            b = len(local)
            stats = [parts[k] * b for k in sums] + [int((logits.argmax(1) == labels).sum()) if b else 0, b]
            if world_size > 1:  # DDP averages gradients over ranks: weight this rank's mean by its share
                loss = loss * (b * world_size / len(batch))
                stats = torch.tensor(stats, dtype=torch.float64, device=dev)
                distributed.dist.all_reduce(stats)  # the sums over the global batch, on every rank
                stats = stats.tolist()
                parts = dict(parts, total=stats[0] / stats[-1])
            if not math.isfinite(parts["total"]):
                raise FloatingPointError(
                    f"the loss became {parts['total']} at epoch {epoch}, step {step} (parts {parts}); training "
                    f"diverged. Lower the learning rate (now {optimizer.param_groups[0]['lr']:g}) or clip "
                    "gradients (clip_value / clip_norm)."
                )
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
            else:
                loss.backward()
            if cfg.clip_value is not None:
                nn.utils.clip_grad_value_(model.parameters(), cfg.clip_value)
            if cfg.clip_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm)
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            for k, v in zip(sums, stats):
                sums[k] += v
            correct += int(stats[-2])
            seen += int(stats[-1])
            bar.update()
            bar.set_postfix(epoch=epoch, loss=f"{sums['total'] / seen:.3f}", id_acc=f"{correct / (2 * seen):.2f}")
            if on_step is not None:
                on_step(epoch, step, parts)
        history["epoch"].append(epoch)
        history["loss"].append(sums.pop("total") / seen)
        for k, v in sums.items():
            history[k].append(v / seen)
        history["id_acc"].append(correct / (2 * seen))
        history["lr"].append(optimizer.param_groups[0]["lr"])
        history["seconds"].append(time.perf_counter() - t0)
        scheduler.step()
        last = epoch + 1 == cfg.epochs
        if cfg.val_every and ((epoch + 1) % cfg.val_every == 0 or last) and query:
            history["val_epoch"].append(epoch)
            history["val_rank1"].append(validate(model, query, gallery, data))
            bar.set_postfix(epoch=epoch, loss=f"{history['loss'][-1]:.3f}", rank1=f"{history['val_rank1'][-1]:.1f}")
        if last or (cfg.save_every and (epoch + 1) % cfg.save_every == 0):
            save(epoch + 1)
    bar.close()
    model.eval()
    if created:
        distributed.dist.destroy_process_group()
    return history


def _check_same_run(ckpt: dict, cfg: TrainConfig, run: dict, path: Path) -> None:
    """Resuming is only exact with the same settings: name every difference (``epochs`` may grow)."""
    old = ckpt.get("config", {})
    diff = [
        f"{k}: {old.get(k)!r} -> {v!r}"
        for k, v in cfg.to_dict().items()
        if k not in ("epochs", "val_every", "save_every") and old.get(k) != v
    ]
    diff += [f"{k}: {ckpt.get(k)!r} -> {v!r}" for k, v in run.items() if ckpt.get(k) != v]
    if diff:
        raise ValueError(
            f"cannot resume from {path}: the run's settings differ ({'; '.join(diff)}). Resume with the "
            "same settings, or start a new run in another out_dir."
        )
    if ckpt["epoch"] > cfg.epochs:
        raise ValueError(f"{path} is already at epoch {ckpt['epoch']}, past epochs={cfg.epochs}.")
