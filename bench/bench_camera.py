"""Camera figures: QR decoding per 1280x720 frame, page detection + deskew throughput."""

from __future__ import annotations

import time

import cv2
import numpy as np

from bench.common import BenchResult, percentile
from drivers.camera.document import find_page, straighten
from drivers.camera.qr import QRDecoder
from drivers.camera.scenes import document_scene

FRAMES = 200


def scenes(count: int) -> list[np.ndarray]:
    """Pages at varied angles, half of them carrying a receipt QR code."""
    rng = np.random.default_rng(7)
    base = np.array([[420, 80], [820, 110], [860, 660], [390, 640]], np.float32)
    frames = []
    for index in range(count):
        corners = base + rng.integers(-40, 40, (4, 2)).astype(np.float32)
        text = f"K511602-HALL-01-20261123-{index:06d}-Q" if index % 2 == 0 else None
        frames.append(document_scene(corners, text=text, seed=index))
    return frames


def run() -> list[BenchResult]:
    """Decode and detect over the same generated frames on one thread."""
    cv2.setNumThreads(1)  # the goal is per core
    frames = scenes(40)
    results = []
    for engine in QRDecoder.ENGINES:
        decoder = QRDecoder(engine)
        qr_ms, hits, misreads = [], 0, 0
        for index in range(FRAMES):
            scene = index % len(frames)
            expected = f"K511602-HALL-01-20261123-{scene:06d}-Q" if scene % 2 == 0 else None
            started = time.perf_counter()
            texts = [code.text for code in decoder.decode(frames[scene])]
            qr_ms.append((time.perf_counter() - started) * 1000)
            hits += expected in texts
            misreads += any(text != expected for text in texts)
        results.append(BenchResult(
            f"QR decode per 1280x720 frame, p95, engine {engine} (1 thread)",
            percentile(qr_ms, 95), "ms", goal=15,
            detail=f"p50 {percentile(qr_ms, 50):.1f} ms; read {hits} of {FRAMES // 2} "
            f"frames that carry a code, {misreads} misread"))
    started = time.perf_counter()
    for index in range(FRAMES):
        frame = frames[index % len(frames)]
        corners = find_page(frame)
        if corners is not None:
            straighten(frame, corners)
    fps = FRAMES / (time.perf_counter() - started)
    return [
        *results,
        BenchResult("page detect + deskew at 1280x720, 1 core", fps, "fps", goal=30,
                    higher_is_better=True),
    ]


if __name__ == "__main__":
    for result in run():
        print(f"{result.name}: {result.value:.2f} {result.unit} {result.detail}")
