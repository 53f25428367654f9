"""What a file is, decided by its bytes, and whether it is fit for DashScope.

``probe`` identifies a file by content (Pillow for images, PyAV for videos),
never by its name or the client's Content-Type, reading headers only. The checks
decode pixels last, once the declared sizes have passed, so no picture or frame
of absurd dimensions is ever expanded in memory. ``check_input`` applies the
DashScope input limits (reference/dashscope.md, ``input.image_url`` and
``input.video_url``); ``check_playable`` is the weaker rule for mirrored results.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from storage.errors import (
    CorruptMedia,
    FileTooLarge,
    ImageTooLarge,
    ImageTooSmall,
    InvalidAspectRatio,
    InvalidDimensions,
    MediaTooLong,
    MediaTooShort,
    UnsupportedMedia,
)

if TYPE_CHECKING:
    import av

IMAGE_FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    # Phone cameras write multi-picture JPEGs; Pillow names them MPO.
    "MPO": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "BMP": ("image/bmp", "bmp"),
    "WEBP": ("image/webp", "webp"),
}
# What _container_type accepts: MP4, MOV and AVI.
VIDEO_CONTENT_TYPES = ("video/mp4", "video/quicktime", "video/x-msvideo")
IMAGE_MIN_SIDE, IMAGE_MAX_SIDE = 200, 4096
VIDEO_MIN_SIDE, VIDEO_MAX_SIDE = 200, 2048
VIDEO_MIN_SECONDS, VIDEO_MAX_SECONDS = 2.0, 30.0
MAX_ASPECT = 3.0
_MP4_DEMUXER = "mov,mp4,m4a,3gp,3g2,mj2"


@dataclass(frozen=True)
class MediaInfo:
    kind: str
    content_type: str
    extension: str
    width: int
    height: int
    duration: float | None = None
    fps: float | None = None
    has_audio: bool | None = None


_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM")


def looks_like_image(head: bytes) -> bool:
    """Whether ``head`` starts like a supported image. Only for early limits while
    bytes stream in; ``probe`` still decides what the file is."""
    return head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def probe(path: str | Path) -> MediaInfo:
    """Identify an image or a video by its content; 415 for anything else."""
    path = str(path)
    with open(path, "rb") as fh:
        head = fh.read(16)
    image = _probe_image(path)
    if image is not None:
        return image
    return _probe_video(path, head)


def check_input(info: MediaInfo, path: str | Path, *, kind: str, size: int) -> None:
    """Raise the precise error when a file is not an acceptable DashScope input of ``kind``."""
    if info.kind != kind:
        raise UnsupportedMedia(
            (
                _("Expected an image, but the file is %(type)s.")
                if kind == "image"
                else _("Expected a video, but the file is %(type)s.")
            )
            % {"type": info.content_type},
            attr="file",
            detected=info.content_type,
        )
    if kind == "image":
        _check_image(info, str(path), size)
    else:
        _check_video(info, size)
        _check_decodes(str(path))


def check_playable(info: MediaInfo, path: str | Path) -> None:
    """A mirrored result only has to be a video with a frame we can decode."""
    if info.kind != "video":
        raise UnsupportedMedia(f"Expected a video, but the file is {info.content_type}.")
    _check_decodes(str(path))


def _probe_image(path: str) -> MediaInfo | None:
    try:
        with Image.open(path) as im:
            fmt, (width, height) = im.format, im.size
    except UnidentifiedImageError:
        return None
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(str(exc), attr="file") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptMedia(attr="file") from exc
    if fmt not in IMAGE_FORMATS:
        raise UnsupportedMedia(
            _("%(format)s images are not supported; use JPEG, PNG, BMP or WEBP.") % {"format": fmt},
            attr="file",
            detected=Image.MIME.get(fmt or "", "application/octet-stream"),
        )
    content_type, extension = IMAGE_FORMATS[fmt]
    return MediaInfo("image", content_type, extension, width, height)


def _probe_video(path: str, head: bytes) -> MediaInfo:
    import av  # PyAV loads FFmpeg (~19 MB): a process imports it with its first video

    claims_video = head[4:8] == b"ftyp" or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")
    try:
        container = av.open(path, mode="r")
    except av.FFmpegError as exc:
        if claims_video:
            raise CorruptMedia(attr="file") from exc
        raise UnsupportedMedia(attr="file") from exc
    with container:
        content_type, extension = _container_type(container.format.name, head)
        if not container.streams.video:
            raise UnsupportedMedia(_("The file has no video stream."), attr="file")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if not width or not height:
            raise CorruptMedia("The video's dimensions could not be read.", attr="file")
        duration = _duration(container, stream)
        rate = stream.average_rate or stream.guessed_rate
        has_audio = bool(container.streams.audio)
    return MediaInfo(
        "video",
        content_type,
        extension,
        width,
        height,
        duration=duration,
        fps=round(float(rate), 3) if rate else None,
        has_audio=has_audio,
    )


def _check_decodes(path: str) -> None:
    # Run only after the size checks, so a frame of absurd dimensions is never decoded.
    import av

    try:
        with av.open(path, mode="r") as container:
            decoded = next(iter(container.decode(video=0)), None)
    except av.FFmpegError as exc:
        raise CorruptMedia(attr="file") from exc
    if decoded is None:
        raise CorruptMedia(_("No video frame could be decoded."), attr="file")


def _container_type(name: str, head: bytes) -> tuple[str, str]:
    if name == "avi":
        return "video/x-msvideo", "avi"
    if name == _MP4_DEMUXER:
        brand = head[8:12]
        if brand == b"qt  ":
            return "video/quicktime", "mov"
        if brand.startswith((b"3g", b"M4A", b"mj2")):
            raise UnsupportedMedia(
                f"{brand.decode(errors='replace').strip()} files are not supported."
            )
        return "video/mp4", "mp4"
    raise UnsupportedMedia(
        _("The %(name)s container is not supported; use MP4, MOV or AVI.") % {"name": name},
        attr="file",
    )


def _duration(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    # The video stream's own length: an audio track's codec padding must not count.
    if stream.duration is not None and stream.time_base is not None:
        return round(float(stream.duration * stream.time_base), 3)
    if container.duration is not None:
        return round(container.duration / 1_000_000, 3)  # FFmpeg's AV_TIME_BASE: microseconds
    return None


def _check_aspect(width: int, height: int) -> None:
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise InvalidAspectRatio(
            _("The aspect ratio %(width)sx%(height)s is outside 1:3 to 3:1.")
            % {"width": width, "height": height},
            attr="file",
            width=width,
            height=height,
        )


def _check_image(info: MediaInfo, path: str, size: int) -> None:
    limit = settings.STORAGE_MAX_IMAGE_BYTES
    if size > limit:
        raise FileTooLarge(
            _("Images may be at most %(limit)s bytes.") % {"limit": limit},
            attr="file",
            max_bytes=limit,
            size=size,
        )
    if min(info.width, info.height) < IMAGE_MIN_SIDE:
        raise ImageTooSmall(
            _("The image is %(width)sx%(height)s px; each side must be at least %(min)s px.")
            % {"width": info.width, "height": info.height, "min": IMAGE_MIN_SIDE},
            attr="file",
            width=info.width,
            height=info.height,
        )
    if max(info.width, info.height) > IMAGE_MAX_SIDE:
        raise ImageTooLarge(
            _("The image is %(width)sx%(height)s px; each side must be at most %(max)s px.")
            % {"width": info.width, "height": info.height, "max": IMAGE_MAX_SIDE},
            attr="file",
            width=info.width,
            height=info.height,
        )
    _check_aspect(info.width, info.height)
    # Decoding only after the size checks, so a huge picture is never expanded in memory.
    try:
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            im.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise CorruptMedia(attr="file") from exc


def _check_video(info: MediaInfo, size: int) -> None:
    limit = settings.STORAGE_MAX_VIDEO_BYTES
    if size > limit:
        raise FileTooLarge(
            _("Videos may be at most %(limit)s bytes.") % {"limit": limit},
            attr="file",
            max_bytes=limit,
            size=size,
        )
    if info.duration is None:
        raise CorruptMedia(_("The video's duration could not be read."), attr="file")
    if info.duration < VIDEO_MIN_SECONDS:
        raise MediaTooShort(
            _("The video lasts %(duration)g s; it must last at least %(min)g s.")
            % {"duration": info.duration, "min": VIDEO_MIN_SECONDS},
            attr="file",
            duration=info.duration,
        )
    if info.duration > VIDEO_MAX_SECONDS:
        raise MediaTooLong(
            _("The video lasts %(duration)g s; it may last at most %(max)g s.")
            % {"duration": info.duration, "max": VIDEO_MAX_SECONDS},
            attr="file",
            duration=info.duration,
        )
    sides = (info.width, info.height)
    if min(sides) < VIDEO_MIN_SIDE or max(sides) > VIDEO_MAX_SIDE:
        raise InvalidDimensions(
            _("The video is %(width)sx%(height)s px; each side must be %(min)s to %(max)s px.")
            % {
                "width": info.width,
                "height": info.height,
                "min": VIDEO_MIN_SIDE,
                "max": VIDEO_MAX_SIDE,
            },
            attr="file",
            width=info.width,
            height=info.height,
        )
    _check_aspect(info.width, info.height)
