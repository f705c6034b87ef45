"""``fmnist-tui predict`` on photo-like pictures of real test images, against the model on the
images themselves.

Each of N test images (class-balanced, seeded) is made into a picture as a user might have
one: enlarged tenfold to 280x280 (bicubic), negated to a dark garment on white, saved as a
JPEG (quality 90): the ``plain`` set. The ``framed`` set goes further, as a quick photo of a
print-out would be: lit to 240 instead of 255 (every grey scaled by 240/255), a margin of 60
pixels of that off-white, mild noise (sigma 3) and JPEG quality 80.

``fmnist-tui predict RUN_DIR FOLDER --json`` classifies each set (the real command, in a child
process), and its accuracy is compared with the model's accuracy on the same test images as
arrays, with how often the two agree and how far the 28x28 the command made is from the
original image.

``uv run python -m bench.predict_photos --run-dir RUN [--images 500] [--out FILE]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import ROOT, cli_command, code_version, find_data_dir, now_iso, progress

RESULT = ROOT / "bench" / "results" / "predict-photos.json"
SCALE = 10
MARGIN = 60
PAPER = 240.0


def make_pictures(images: np.ndarray, folder: Path, *, framed: bool, seed: int = 0) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    side = images.shape[1] * SCALE
    for number, image in enumerate(images):
        big = Image.fromarray(255 - image).resize((side, side), Image.Resampling.BICUBIC)
        if not framed:
            big.save(folder / f"{number:04d}.jpg", quality=90)
            continue
        # Paper lit to 240, not 255: every grey scales with the light, as in a photo.
        canvas = np.full((side + 2 * MARGIN, side + 2 * MARGIN), PAPER)
        canvas[MARGIN:-MARGIN, MARGIN:-MARGIN] = np.asarray(big, np.float64) * PAPER / 255
        canvas += rng.normal(0, 3, canvas.shape)
        photo = Image.fromarray(np.clip(canvas, 0, 255).round().astype(np.uint8))
        photo.save(folder / f"{number:04d}.jpg", quality=80)


def run_predict(run_dir: Path, folder: Path) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    done = subprocess.run(
        [*cli_command(), "predict", str(run_dir), str(folder), "--json"],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"predict exited {done.returncode}: {done.stderr.strip()[:500]}")
    return json.loads(done.stdout), seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.predict_photos", description=__doc__)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--work-dir", type=Path, help="keep the pictures here")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    data_dir = find_data_dir(args.data_dir)
    if data_dir is None:
        print("python -m bench.predict_photos: needs the real Fashion-MNIST", file=sys.stderr)
        return 2

    from core.data import balanced_subset, load_raw

    raw = load_raw(data_dir)
    chosen = balanced_subset(raw.y_test, args.images, seed=0)
    images, labels = raw.x_test[chosen], raw.y_test[chosen].astype(np.int64)

    from core.backend import select_backend
    from core.logs import quiet_tensorflow_env

    quiet_tensorflow_env()
    select_backend("tensorflow")
    from core.explain import class_probabilities
    from core.runs.catalogue import load_run
    from core.training import load_saved_model

    model = load_saved_model(load_run(args.run_dir).model_path)
    direct = class_probabilities(model, images).argmax(axis=1)
    direct_accuracy = float((direct == labels).mean())
    progress(f"model on the {len(labels)} test images as arrays: {direct_accuracy:.4f}")

    sets: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="fmnist-photos-") as scratch:
        work = args.work_dir or Path(scratch)
        for name in ("plain", "framed"):
            folder = work / name
            make_pictures(images, folder, framed=name == "framed")
            document, seconds = run_predict(args.run_dir, folder)
            pictures = document["pictures"]
            predicted = np.array([p["top"][0]["label"] for p in pictures])
            seen = np.array([p["image"] for p in pictures], dtype=np.int64)
            accuracy = float((predicted == labels).mean())
            sets[name] = {
                "accuracy": accuracy,
                "agreement_with_arrays": float((predicted == direct).mean()),
                "problems": len(document["problems"]),
                "mean_abs_pixel_difference": float(np.abs(seen - images).mean()),
                "command_seconds": seconds,
            }
            progress(
                f"{name}: predict accuracy {accuracy:.4f}, agrees with the arrays "
                f"{sets[name]['agreement_with_arrays']:.1%}, {seconds:.1f} s"
            )
    from bench.machine import describe_machine
    from core.files import write_json_file

    record = {
        "benchmark": "predict-photos",
        "date": now_iso(),
        "command": "uv run python -m bench.predict_photos "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "code": code_version(),
        "machine": describe_machine(),
        "run": str(args.run_dir),
        "images": len(labels),
        "pictures": "280x280 bicubic, negated, JPEG 90 (plain); scaled to 240/255, 60 px "
        "margin of 240, noise sigma 3, JPEG 80 (framed)",
        "array_accuracy": direct_accuracy,
        "sets": sets,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json_file(args.out, record)
    progress(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
