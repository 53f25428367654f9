"""Real media made by the tests: Pillow images and short PyAV clips.

Other apps' tests import these (``from storage.tests.media import make_image,
make_video``). Results are cached per process because encoding is the slow part.
"""

from __future__ import annotations

import io
import math
import struct
from functools import lru_cache

import av
from PIL import Image

_AUDIO_RATE = 16000


@lru_cache(maxsize=64)
def make_image(w: int = 640, h: int = 480, fmt: str = "JPEG") -> bytes:
    """An image of ``w`` x ``h`` px in Pillow format ``fmt`` (JPEG, PNG, BMP, WEBP, GIF...)."""
    image = Image.new("RGB", (w, h), (40, 120, 200))
    # A second colour block keeps encoders from collapsing the picture to nothing.
    image.paste((220, 180, 40), (w // 4, h // 4, w // 2, h // 2))
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


@lru_cache(maxsize=64)
def make_video(
    seconds: float = 3,
    w: int = 320,
    h: int = 240,
    fps: int = 5,
    audio: bool = False,
    container: str = "mp4",
) -> bytes:
    """A ``seconds`` long clip (MPEG-4 Part 2 video, AAC audio when ``audio``) in
    ``container`` (mp4, mov or avi). Low resolution and frame rate keep it fast."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container) as out:
        video = out.add_stream("mpeg4", rate=fps)
        video.width, video.height = w, h
        video.pix_fmt = "yuv420p"
        sound = None
        if audio:
            sound = out.add_stream("aac", rate=_AUDIO_RATE)
            sound.layout = "mono"
        frames = max(1, round(seconds * fps))
        for i in range(frames):
            shade = 40 + (i * 7) % 180
            picture = Image.new("RGB", (w, h), (shade, 90, 255 - shade))
            frame = av.VideoFrame.from_image(picture)
            frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            _write_tone(out, sound, seconds)
    return buf.getvalue()


def _write_tone(out: av.container.OutputContainer, stream: av.AudioStream, seconds: float) -> None:
    samples_per_frame = 1024
    total = int(seconds * _AUDIO_RATE)
    pts = 0
    while pts < total:
        n = min(samples_per_frame, total - pts)
        tone = b"".join(
            struct.pack("<f", 0.2 * math.sin(2 * math.pi * 440 * (pts + k) / _AUDIO_RATE))
            for k in range(n)
        )
        frame = av.AudioFrame(format="flt", layout="mono", samples=n)
        frame.planes[0].update(tone)
        frame.sample_rate = _AUDIO_RATE
        frame.pts = pts
        pts += n
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
