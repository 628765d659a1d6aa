"""Validate a reference sketch and normalise it to a deterministic PNG.

Checks run from cheapest to most expensive, and the pixel count is checked from the header
before any pixel is decoded, so a small file claiming 100000x100000 pixels never allocates.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

SUPPORTED_FORMATS = ("PNG", "JPEG", "WEBP")
SUPPORTED_LIST = "PNG, JPEG or WEBP"
DEFAULT_MAX_SIDE = 2048
DEFAULT_MAX_PIXELS = 40_000_000
# Smaller than this on a side, a sketch shows no figure to follow (a 1x1 tracking pixel, an
# icon, a failed export) and its analysis would be paid for nothing.
MIN_SKETCH_SIDE = 32
# Python's warnings filters are process-wide: two threads changing them at once (sketches are
# normalised two at a time) can leave one's "error" filter in force for good, or lift it while
# the other decodes. Whoever turns Pillow's bomb warning into an error holds this.
_BOMB_WARNING_FILTER = threading.Lock()
# Pillow formats we let Image.open identify, so an unsupported file is named ("a GIF") rather
# than reported as "not an image". Only headers are parsed for the ones we then refuse.
_IDENTIFIABLE_FORMATS = (*SUPPORTED_FORMATS, "GIF", "BMP", "TIFF", "ICO", "PSD", "DDS", "TGA")
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


class SourceImageError(ValueError):
    """A reference image cannot be used. ``str()`` is the message for the user."""

    def __init__(self, *, file_name: str, reason: str, hint: str, character: str | None = None):
        self.character = character
        self.file_name = file_name
        self.reason = reason
        self.hint = hint
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"character '{self.character}', " if self.character else ""
        return f"{where}image '{self.file_name}': {self.reason}. {self.hint}"


@dataclass(frozen=True)
class NormalisedImage:
    png: bytes
    width: int
    height: int
    sha256: str  # of ``png``
    source_format: str  # "PNG", "JPEG" or "WEBP"
    source_name: str


def _fail(name: str, character: str | None, reason: str, hint: str) -> SourceImageError:
    return SourceImageError(file_name=name, reason=reason, hint=hint, character=character)


def _truncated(name: str, character: str | None, error: BaseException) -> SourceImageError:
    return _fail(
        name,
        character,
        f"the image data is damaged or cut short ({error})",
        "The file may still be copying, or was saved incompletely; export or copy it again",
    )


# "Image size (144000000 pixels) exceeds limit of ...": Pillow's words for a bomb.
_PILLOW_PIXEL_COUNT = re.compile(r"\((\d+) pixels\)")


def _open_header(
    data: bytes, name: str, character: str | None, max_pixels: int, min_side: int
) -> Image.Image:
    """Parse the header only, turning Pillow's bomb warnings and errors into ours."""
    too_big_hint = (
        f"Downscale it to at most {max_pixels / 1e6:g} megapixels (e.g. 4000x4000) and export again"
    )
    try:
        with _BOMB_WARNING_FILTER, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_IDENTIFIABLE_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow refused from the header alone; its message has the pixel count, not the sides.
        claimed = _PILLOW_PIXEL_COUNT.search(str(error))
        size = f" of {int(claimed[1]) / 1e6:.1f} megapixels" if claimed else ""
        raise _fail(
            name,
            character,
            f"the header claims an enormous picture{size}, far over {max_pixels / 1e6:g} "
            "megapixels (a possible decompression bomb); it was not decoded",
            too_big_hint,
        ) from error
    except UnidentifiedImageError as error:
        raise _fail(
            name,
            character,
            "not an image, or damaged beyond recognition",
            f"Replace it with a {SUPPORTED_LIST} file",
        ) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:  # broken or cut-off header
        raise _truncated(name, character, error) from error
    width, height = image.size
    if width <= 0 or height <= 0:
        raise _fail(
            name, character, f"the image has no pixels ({width}x{height})", "Export it again"
        )
    if min(width, height) < min_side:
        raise _fail(
            name,
            character,
            f"the image is {width}x{height} pixels, too small to show a character (each side "
            f"must be at least {min_side} pixels)",
            "It may be a thumbnail or a failed export; use the full-size sketch",
        )
    if width * height > max_pixels:
        raise _fail(
            name,
            character,
            f"the image is {width}x{height} ({width * height / 1e6:.1f} megapixels), over the "
            f"limit of {max_pixels / 1e6:g} megapixels",
            too_big_hint,
        )
    return image


def _check_format(image: Image.Image, name: str, character: str | None) -> str:
    source_format = image.format or "unknown"
    if source_format not in SUPPORTED_FORMATS:
        raise _fail(
            name,
            character,
            f"{source_format} images are not supported (only {SUPPORTED_LIST})",
            f"Export it as {SUPPORTED_LIST}",
        )
    frames = getattr(image, "n_frames", 1)
    if frames > 1 or getattr(image, "is_animated", False):
        raise _fail(
            name,
            character,
            f"the image is animated ({frames} frames); a reference must be a single still picture",
            "Export the frame you want as a still PNG",
        )
    return source_format


def _decode(image: Image.Image, name: str, character: str | None, max_side: int) -> Image.Image:
    if image.format == "JPEG":
        # Decode large JPEGs at a reduced scale (never below max_side) to save memory.
        image.draft(image.mode, (max_side, max_side))
    try:
        with _BOMB_WARNING_FILTER, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombWarning) as error:
        raise _truncated(name, character, error) from error
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode=output_mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # an unreadable profile: keep the pixels as they are
    return converted if converted is not None else image


def _to_rgb_or_rgba(image: Image.Image) -> Image.Image:
    if image.mode in _SIXTEEN_BIT_MODES:
        # Pillow clips 16-bit values when converting; scale them to 8 bits instead.
        image = image.point(lambda value: value / 257 + 0.5).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    image = _to_srgb(image)
    converted = image.convert("RGBA" if has_alpha else "RGB")
    if has_alpha and converted.getchannel("A").getextrema() == (255, 255):
        converted = converted.convert("RGB")  # fully opaque: the alpha channel is just weight
    return converted


def _fit(image: Image.Image, max_side: int) -> Image.Image:
    width, height = image.size
    longest = max(width, height)
    if longest <= max_side:
        return image
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def normalise_image(
    data: bytes,
    *,
    name: str,
    max_side: int = DEFAULT_MAX_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    min_side: int = MIN_SKETCH_SIDE,
    character: str | None = None,
) -> NormalisedImage:
    """Validate ``data`` and return it upright, at most ``max_side`` px, as RGB(A) PNG bytes.

    Raises ``SourceImageError`` for anything unusable: empty, not an image, unsupported or
    animated format, too few or too many pixels, truncated or corrupt data. The same input
    always gives the same bytes (metadata is dropped, encoder settings fixed).
    """
    if not data:
        raise _fail(
            name,
            character,
            "the file is empty (0 bytes)",
            "It may still be copying, or the export failed; save the image again",
        )
    header = _open_header(data, name, character, max_pixels, min_side)
    with header:
        source_format = _check_format(header, name, character)
        decoded = _decode(header, name, character, max_side)
        upright = ImageOps.exif_transpose(decoded)
        final = _fit(_to_rgb_or_rgba(upright), max_side)
    # Pixels are sRGB now; keep no metadata (profile, EXIF, text) so bytes depend on pixels only.
    final.info = {}
    buffer = io.BytesIO()
    final.save(buffer, format="PNG", compress_level=6)
    png = buffer.getvalue()
    return NormalisedImage(
        png=png,
        width=final.width,
        height=final.height,
        sha256=hashlib.sha256(png).hexdigest(),
        source_format=source_format,
        source_name=name,
    )
