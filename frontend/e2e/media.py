"""Media the journeys upload: a character picture and H.264 clips, which
Chromium can preview and play (storage's test clips are MPEG-4 Part 2)."""

from __future__ import annotations

import io
import math
from functools import lru_cache
from pathlib import Path

import av
from PIL import Image, ImageDraw


@lru_cache(maxsize=4)
def character_png(w: int = 480, h: int = 640) -> bytes:
    """A friendly figure on a gradient, large enough for DashScope's limits."""
    image = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(image)
    for y in range(h):
        shade = int(200 - 80 * y / h)
        draw.line([(0, y), (w, y)], fill=(shade, 170, 240))
    cx = w // 2
    draw.ellipse([cx - 70, 90, cx + 70, 230], fill=(255, 214, 170))  # head
    draw.ellipse([cx - 35, 140, cx - 15, 160], fill=(40, 40, 60))
    draw.ellipse([cx + 15, 140, cx + 35, 160], fill=(40, 40, 60))
    draw.arc([cx - 35, 160, cx + 35, 205], 20, 160, fill=(160, 60, 60), width=5)
    draw.rounded_rectangle([cx - 90, 250, cx + 90, 470], radius=40, fill=(67, 56, 202))  # body
    draw.rectangle([cx - 70, 470, cx - 25, 600], fill=(30, 41, 59))
    draw.rectangle([cx + 25, 470, cx + 70, 600], fill=(30, 41, 59))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


@lru_cache(maxsize=8)
def dance_mp4(seconds: float = 3, w: int = 480, h: int = 360, fps: int = 10) -> bytes:
    """A clip of a figure swaying, H.264 in MP4."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        for i in range(max(1, round(seconds * fps))):
            t = i / fps
            picture = Image.new("RGB", (w, h), (250, 236, 210))
            draw = ImageDraw.Draw(picture)
            x = w // 2 + int(60 * math.sin(t * 3))
            draw.ellipse([x - 30, 60, x + 30, 120], fill=(120, 80, 60))
            draw.line([(x, 120), (x, 230)], fill=(40, 40, 40), width=12)
            arm = int(50 * math.sin(t * 6))
            draw.line([(x, 150), (x - 60, 150 - arm)], fill=(40, 40, 40), width=10)
            draw.line([(x, 150), (x + 60, 150 + arm)], fill=(40, 40, 40), width=10)
            draw.line([(x, 230), (x - 40, 320)], fill=(40, 40, 40), width=10)
            draw.line([(x, 230), (x + 40, 320)], fill=(40, 40, 40), width=10)
            frame = av.VideoFrame.from_image(picture)
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def tiny_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (100, 100), (200, 60, 60)).save(buf, format="PNG")
    return buf.getvalue()


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path
