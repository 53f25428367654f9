"""Storage's domain errors: each has a stable code a client can switch on."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from config.errors import DependencyUnavailable, DomainError


class UnsupportedMedia(DomainError):
    code = "unsupported_media"
    status_code = 415
    default_detail = _(
        "This file is not a supported image (JPEG, PNG, BMP, WEBP) or video (MP4, MOV, AVI)."
    )


class FileTooLarge(DomainError):
    code = "file_too_large"
    status_code = 413
    default_detail = _("The file is larger than allowed.")


class CorruptMedia(DomainError):
    code = "corrupt_media"
    default_detail = _("The file could not be decoded; it may be truncated or damaged.")


class MediaTooShort(DomainError):
    code = "media_too_short"
    default_detail = _("The video is too short.")


class MediaTooLong(DomainError):
    code = "media_too_long"
    default_detail = _("The video is too long.")


class ImageTooSmall(DomainError):
    code = "image_too_small"
    default_detail = _("The image is smaller than 200 px on a side.")


class ImageTooLarge(DomainError):
    code = "image_too_large"
    default_detail = _("The image is larger than 4096 px on a side.")


class InvalidDimensions(DomainError):
    code = "invalid_dimensions"
    default_detail = _("The video must be 200 to 2048 px on each side.")


class InvalidAspectRatio(DomainError):
    code = "invalid_aspect_ratio"
    default_detail = _("The aspect ratio must be between 1:3 and 3:1.")


class UnsafeUrl(DomainError):
    code = "unsafe_url"
    default_detail = _("This URL may not be fetched.")


class DownloadFailed(DomainError):
    """The remote answered, but not with the file (4xx, or still failing after retries)."""

    code = "download_failed"
    default_detail = _("The file could not be downloaded.")


class TransientDownloadError(DownloadFailed):
    """Worth another try: a 5xx, a timeout or a refused connection."""


class StorageUnavailable(DependencyUnavailable):
    code = "storage_unavailable"
    default_detail = _("File storage is unavailable; try again shortly.")
