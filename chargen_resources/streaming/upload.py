"""``upload_image_chunks``: image events become one stored ``ImageBlock``; the rest passes through.

For each image run (``ImageStart`` and its ``ImageDelta`` events) the base64 flows through
``decode_base64`` and a ``DimensionProbe`` into ``sink.open(key_for(context), mime)``. Only one
base64 slice and one decoded slice (plus the sink's part buffer) exist at any moment. Text deltas
that arrive during an image are held aside and re-emitted after it.

The run ends at the first event that is neither an image delta nor a text delta. Then:

* ``ImageMarkedThought`` (a late thought flag) or a thought ``ImageStart``: nothing is stored,
  ``ThoughtImageSkipped`` is emitted (the platform keeps only final images);
* ``LineEnd`` with an error: the upload is aborted (the line failed; nothing half-written);
* otherwise the upload is committed and ``ImageBlock`` is emitted.

Invalid base64 aborts that image and emits ``ImageFailed``; reading goes on. Any other failure
(storage, upstream, the consumer closing the generator) aborts the upload and propagates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from chargen_resources.streaming.base64_decode import decode_base64
from chargen_resources.streaming.dimension_probe import DimensionProbe
from chargen_resources.streaming.errors import Base64DecodeError
from chargen_resources.streaming.sinks import ImageSink, ImageWriter
from chargen_resources.streaming.types import (
    ImageBlock,
    ImageDelta,
    ImageFailed,
    ImageMarkedThought,
    ImageStart,
    LineEnd,
    LineStart,
    PipelineEvent,
    TextDelta,
    ThoughtImageSkipped,
    UploadedEvent,
)


@dataclass(frozen=True, slots=True)
class ImageContext:
    """What is known when an image starts: enough to name a (staging) storage key.

    ``line_index`` is the batch output line (None for a ``streamGenerateContent`` stream);
    ``image_index`` counts stored-image candidates within that line or stream, from 0.
    """

    line_index: int | None
    image_index: int
    mime_type: str


class _ImageRun:
    """Pulls one image's deltas from the shared source; keeps text aside and the terminator."""

    def __init__(self, source: Iterator[PipelineEvent]) -> None:
        self.source = source
        self.aside: list[TextDelta] = []
        self.terminator: PipelineEvent | None = None
        self.base64_chars = 0

    def deltas(self) -> Iterator[str]:
        for event in self.source:
            if isinstance(event, ImageDelta):
                self.base64_chars += len(event.data)
                yield event.data
            elif isinstance(event, TextDelta):
                self.aside.append(event)
            else:
                self.terminator = event
                return

    def drain(self) -> None:
        for _ in self.deltas():
            pass


def upload_image_chunks(
    events: Iterable[PipelineEvent],
    sink: ImageSink,
    key_for: Callable[[ImageContext], str],
) -> Iterator[UploadedEvent]:
    """Replace every non-thought image run by one ``ImageBlock``; pass other events through."""
    source = iter(events)
    line_index: int | None = None
    image_index = 0
    pending: PipelineEvent | None = None
    while True:
        if pending is None:
            next_event = next(source, None)
            if next_event is None:
                return
            event = next_event
        else:
            event, pending = pending, None
        if isinstance(event, LineStart):
            line_index, image_index = event.index, 0
        if isinstance(event, ImageStart):
            run = _ImageRun(source)
            if event.thought:
                run.drain()
                yield ThoughtImageSkipped(event.mime_type, run.base64_chars)
            else:
                context = ImageContext(line_index, image_index, event.mime_type)
                image_index += 1
                yield from _store(run, context, sink, key_for(context))
            yield from run.aside
            if isinstance(run.terminator, ImageMarkedThought):
                continue  # consumed by _store
            pending = run.terminator
            if pending is None:
                return
            continue
        if isinstance(event, ImageDelta | ImageMarkedThought):
            continue  # stray: no image run is open (nothing to attach them to)
        yield event


def _store(
    run: _ImageRun, context: ImageContext, sink: ImageSink, key: str
) -> Iterator[ImageBlock | ThoughtImageSkipped | ImageFailed]:
    writer: ImageWriter = sink.open(key, context.mime_type)
    probe = DimensionProbe()
    try:
        for piece in probe.transform(decode_base64(run.deltas())):
            writer.write(piece)
    except Base64DecodeError as error:
        writer.abort()
        run.drain()
        yield ImageFailed(context.mime_type, f"image data is not valid base64: {error}")
        return
    except BaseException:
        writer.abort()
        raise
    if isinstance(run.terminator, ImageMarkedThought):
        writer.abort()
        yield ThoughtImageSkipped(context.mime_type, run.base64_chars)
        return
    if isinstance(run.terminator, LineEnd) and run.terminator.error is not None:
        writer.abort()
        return
    stored = writer.commit()
    found = probe.dimensions
    yield ImageBlock(
        url=stored.url,
        key=stored.key,
        bucket=stored.bucket,
        width=found.width if found else None,
        height=found.height if found else None,
        format=found.format if found else _format_from_mime(context.mime_type),
        content_type=context.mime_type,
        content_length=stored.content_length,
    )


def _format_from_mime(mime_type: str) -> str | None:
    kind, _, subtype = mime_type.partition("/")
    return subtype if kind == "image" and subtype else None
