"""Benchmark (i) of the speed work: data throughput with the S5 augmentation, side by side in one run.

    .venv/bin/python bench/data.py [--images 20000] [--batch_size 512] [--out bench/results]

Measures images per second delivered as normalised, augmented training batches by
  - torchvision's MNIST dataset + S5 transforms through a DataLoader (the reference pipeline), with
    `default_workers()` workers and with none;
  - `TensorMNIST` (uint8 tensor, one affine grid per batch) on the CPU.
Each pipeline first runs one warm-up batch. Writes data.json and data.md (a markdown table with the
machine, torch version and date) to --out. Not a test: it asserts nothing about speed.
"""
import argparse, datetime, json, sys, time
from pathlib import Path
import torch
from torch.utils.data import DataLoader
from mnist_s5.utils import get_datasets, default_workers, machine_info
from mnist_s5.fast import TensorMNIST

def throughput(loader, n_images:int) -> float:
    "Images per second over the first `n_images` of `loader` (after one warm-up batch)."
    it = iter(loader); next(it)
    seen, t0 = 0, time.perf_counter()
    for x, y in it:
        seen += len(x)
        if seen >= n_images: break
    return seen / (time.perf_counter() - t0)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--images', type=int, default=20_000)
    ap.add_argument('--batch_size', type=int, default=512)
    ap.add_argument('--out', default='bench/results')
    a = ap.parse_args(argv)
    train_ds, _ = get_datasets()
    torch.manual_seed(0)
    w = default_workers()
    rows = [(f"torchvision PIL pipeline, DataLoader, {w} workers", throughput(DataLoader(train_ds, a.batch_size, shuffle=True, num_workers=w), a.images)),
            ("torchvision PIL pipeline, DataLoader, 0 workers", throughput(DataLoader(train_ds, a.batch_size, shuffle=True, num_workers=0), a.images)),
            ("TensorMNIST, uint8 tensor + affine grid, CPU", throughput(TensorMNIST(train_ds.data, train_ds.targets, a.batch_size, shuffle=True, augment=True), a.images))]
    ref = rows[0][1]
    meta = dict(machine=machine_info(), torch=str(torch.__version__), date=datetime.date.today().isoformat(),
                images=a.images, batch_size=a.batch_size, command='.venv/bin/python bench/data.py ' + ' '.join(argv or sys.argv[1:]))
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    (out/'data.json').write_text(json.dumps(dict(meta, results={n: v for n, v in rows}), indent=1))
    md = [f"Data throughput with the S5 augmentation ({a.images:,} training images, batch {a.batch_size}); "
          f"{meta['machine']}; torch {meta['torch']}; {meta['date']}; `{meta['command'].strip()}`", '',
          '| pipeline | images/s | vs reference |', '|---|---:|---:|']
    md += [f"| {n} | {v:,.0f} | {v/ref:.1f}x |" for n, v in rows]
    (out/'data.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))

if __name__ == '__main__': main()
