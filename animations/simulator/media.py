"""Input checks and result rendering for the DashScope simulator.

The checks mirror the documented input limits of wan2.2-animate (reference
§3) and fail with the documented ``InvalidFile.*`` codes. The result is a real
H.264 MP4 composed from the inputs with PyAV, so a client that mirrors and
plays it exercises the same code as against DashScope.
"""

from __future__ import annotations

import io
import ipaddress
from dataclasses import dataclass
from fractions import Fraction
from urllib.parse import urlsplit

import av
import httpx
from av.container import InputContainer
from av.video.stream import VideoStream
from PIL import Image, ImageDraw

IMAGE_FORMATS = {"JPEG", "PNG", "BMP", "WEBP"}
VIDEO_FORMATS = {"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "avi"}
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_VIDEO_BYTES = 200 * 1024 * 1024


class InputError(Exception):
    """A task-level failure with a DashScope error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    duration: float
    has_audio: bool


def is_loopback_url(url: str) -> bool:
    """Only loopback hosts may be fetched: the simulator never sends packets outside."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fetch(url: str, *, limit: int, timeout: float = 30.0) -> bytes:
    if not is_loopback_url(url):
        raise InputError(
            "InvalidParameter.DataInspection",
            "Unable to download the media resource during the data inspection process.",
        )
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=False) as response:
            if response.status_code != 200:
                raise InputError(
                    "BadRequest.InputDownloadFailed",
                    f"Failed to download the input file: HTTP {response.status_code}.",
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise InputError("InvalidFile.Size", _size_message(limit))
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.TimeoutException as exc:
        raise InputError("InvalidURL.Timeout", "Downloading the input file timed out.") from exc
    except httpx.HTTPError as exc:
        raise InputError("InvalidURL.ConnectionRefused", "The input URL is unreachable.") from exc


def _size_message(limit: int) -> str:
    if limit == MAX_IMAGE_BYTES:
        return "The image file size must be smaller than 5MB."
    return "The video file size must be less than 200MB."


def _check_dimensions(width: int, height: int, *, low: int, high: int, what: str) -> None:
    if not (low <= width <= high and low <= height <= high):
        raise InputError(
            "InvalidFile.Resolution",
            f"Invalid {what} resolution. The height or width of {what} must be {low} ~ {high}.",
        )
    if max(width, height) > 3 * min(width, height):
        raise InputError(
            "InvalidFile.AspectRatio",
            f"The aspect ratio of the {what} must be between 3:1 and 1:3.",
        )


def check_image(data: bytes) -> Image.Image:
    if len(data) > MAX_IMAGE_BYTES:
        raise InputError("InvalidFile.Size", _size_message(MAX_IMAGE_BYTES))
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:
        raise InputError("InvalidImage.FileFormat", "The image could not be decoded.") from exc
    if image.format not in IMAGE_FORMATS:
        raise InputError(
            "InvalidFile.Format", "Invalid file format: images must be JPEG, JPG, PNG, BMP or WEBP."
        )
    _check_dimensions(image.width, image.height, low=200, high=4096, what="image")
    return image.convert("RGB")


def _duration(container: InputContainer, stream: VideoStream) -> float:
    """Seconds: the container's duration, else the video stream's."""
    if container.duration is not None:
        return container.duration / av.time_base
    if stream.duration is None or stream.time_base is None:
        raise InputError("InvalidFile.Openerror", "The video could not be opened.")
    return float(stream.duration * stream.time_base)


def probe_video(data: bytes) -> VideoInfo:
    if len(data) > MAX_VIDEO_BYTES:
        raise InputError("InvalidFile.Size", _size_message(MAX_VIDEO_BYTES))
    try:
        with av.open(io.BytesIO(data), "r") as container:
            formats = set(container.format.name.split(","))
            if not container.streams.video:
                raise InputError("InvalidFile.Openerror", "The video has no video stream.")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            duration = _duration(container, stream)
            has_audio = bool(container.streams.audio)
    except InputError:
        raise
    except Exception as exc:
        raise InputError("InvalidFile.Openerror", "The video could not be opened.") from exc
    if not formats & VIDEO_FORMATS:
        raise InputError(
            "InvalidFile.Format", "Invalid file format: videos must be MP4, AVI or MOV."
        )
    if not 2.0 <= duration <= 30.0:
        raise InputError("InvalidFile.Duration", "The video duration must be 2 s ~ 30 s.")
    _check_dimensions(width, height, low=200, high=2048, what="video")
    return VideoInfo(width=width, height=height, duration=duration, has_audio=has_audio)


def _even(n: float) -> int:
    return max(2, round(n / 2) * 2)


def output_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """The 720P class: the short side is ``short_side``, the aspect follows the video."""
    if width >= height:
        return _even(short_side * width / height), _even(short_side)
    return _even(short_side), _even(short_side * height / width)


def _fit(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale to cover ``size`` and crop the centre, like a background would be."""
    w, h = size
    scale = max(w / image.width, h / image.height)
    scaled = image.resize((max(w, round(image.width * scale)), max(h, round(image.height * scale))))
    left, top = (scaled.width - w) // 2, (scaled.height - h) // 2
    return scaled.crop((left, top, left + w, top + h))


def render(
    *,
    model: str,
    image: Image.Image,
    video: bytes,
    fps: int,
    short_side: int,
    watermark: bool,
) -> tuple[bytes, float]:
    """Compose an MP4 (H.264, AAC when the video had audio) and return it with its duration.

    ``move`` keeps the image's background and moves the character with the
    video's frames; ``mix`` keeps the video's scene and puts the image's
    character into it. The duration follows the reference video.
    """
    source = av.open(io.BytesIO(video), "r")
    in_video = source.streams.video[0]
    duration = _duration(source, in_video)
    size = output_size(in_video.codec_context.width, in_video.codec_context.height, short_side)
    frames = [frame.to_image() for frame in source.decode(in_video)]
    has_audio = bool(source.streams.audio)
    audio_frames: list[av.AudioFrame] = []
    audio_rate = 0
    if has_audio:
        source.seek(0)
        in_audio = source.streams.audio[0]
        audio_rate = in_audio.codec_context.sample_rate
        audio_frames = list(source.decode(in_audio))
    source.close()

    total = max(1, round(duration * fps))
    background = _fit(image, size)
    inset_w, inset_h = size[0] // 3, size[1] // 3
    character = image.resize((inset_w, inset_h))
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        sound = None
        if has_audio:
            sound = out.add_stream("aac", rate=audio_rate)
            sound.layout = "mono"
        for i in range(total):
            src = frames[min(len(frames) - 1, int(i / fps * len(frames) / duration))]
            if model.endswith("move"):
                picture = background.copy()
                picture.paste(src.resize((inset_w, inset_h)), (size[0] - inset_w - 8, 8))
            else:
                picture = _fit(src, size)
                picture.paste(character, ((size[0] - inset_w) // 2, (size[1] - inset_h) // 2))
            if watermark:
                ImageDraw.Draw(picture).text(
                    (size[0] - 90, size[1] - 24), "AI generated", fill=(255, 255, 255)
                )
            frame = av.VideoFrame.from_image(picture)
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if sound is not None:
            _copy_audio(out, sound, audio_frames, audio_rate, duration)
    return buf.getvalue(), round(total / fps, 2)


def _copy_audio(
    out: av.container.OutputContainer,
    sound: av.AudioStream,
    frames: list[av.AudioFrame],
    rate: int,
    duration: float,
) -> None:
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=rate)
    limit = int(duration * rate)
    pts = 0
    for frame in frames:
        for resampled in resampler.resample(frame):
            if pts >= limit:
                break
            resampled.pts = pts
            resampled.time_base = Fraction(1, rate)
            pts += resampled.samples
            for packet in sound.encode(resampled):
                out.mux(packet)
    for packet in sound.encode(None):
        out.mux(packet)
