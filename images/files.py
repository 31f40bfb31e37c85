"""Where generated pictures live: MEDIA_ROOT/generated/, under random names fixed per job.

The names come from the job's file_token, chosen once at its first run, so a job run twice
overwrites its own files instead of leaving a second copy behind.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from .pictures import CheckedPicture, make_thumbnail


@dataclass(frozen=True)
class StoredPicture:
    image_name: str
    thumbnail_name: str
    content_type: str
    width: int
    height: int
    file_bytes: int


def new_file_token() -> str:
    return secrets.token_hex(16)


def store_picture(*, token: str, picture: CheckedPicture) -> StoredPicture:
    """Write the picture and its thumbnail under names derived from token."""
    folder = f"generated/{token[:2]}"
    image_name = _write(f"{folder}/{token}.{picture.extension}", picture.data)
    thumbnail = make_thumbnail(picture, longest_side=settings.IMAGE_THUMBNAIL_SIZE)
    thumbnail_name = _write(f"{folder}/{token}-thumb.jpg", thumbnail)
    return StoredPicture(
        image_name=image_name,
        thumbnail_name=thumbnail_name,
        content_type=picture.content_type,
        width=picture.width,
        height=picture.height,
        file_bytes=len(picture.data),
    )


def delete_files(*names: str) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


def _write(name: str, data: bytes) -> str:
    # The storage would pick another name rather than overwrite; a rerun wants the same one.
    default_storage.delete(name)
    return default_storage.save(name, ContentFile(data))
