"""Streaming engine: Gemini images flow to storage without ever being whole in memory.

Every step is a plain synchronous generator over the previous one (pull-based, so backpressure
comes for free), and a pipeline is written by naming each step::

    body = StreamingGenerateClient(GoogleGenAIApiAdapter(client)).stream(model, parts, config)
    sse = parse_sse(body)
    events = parse_gemini_events(sse)
    uploaded = upload_image_chunks(events, S3MultipartSink(s3, bucket), key_for)
    blocks = collect_text(uploaded)

and for a downloaded batch output file::

    events = read_batch_output(file_chunks)      # LineStart, Gemini events, LineEnd per line
    uploaded = upload_image_chunks(events, sink, key_for)

Decisions on the design note's open questions:

* ``collect_text`` is its own transform (``text.py``): it keeps the call sites to one loop over
  blocks, and it is where thought text is separated from the answer (``TextBlock.thought``).
* ``upload_image_chunks`` takes an abstract ``ImageSink`` (``sinks.py``), not an S3 client: the
  same transform then writes S3 multipart uploads, local files (the operator command), or a
  recording sink in tests. Both real sinks are all-or-nothing (abort / temp file + rename).
* Base64 decoding lives here in ``base64_decode.py`` as a generic transform: it has no Gemini
  knowledge, but it has no other user yet, and the package is the unit others import.
* Thought images are drained and not stored (``ThoughtImageSkipped``): the platform keeps only
  final images. The key of a batch line is only known at ``LineEnd``, so ``key_for`` receives an
  ``ImageContext`` (line index, image index, mime type) to name a staging key; moving it to the
  final key is the consumer's job.
"""

from chargen_resources.streaming.api_adapter import (
    GeminiApiAdapter,
    GoogleGenAIApiAdapter,
    RequestTarget,
)
from chargen_resources.streaming.base64_decode import decode_base64
from chargen_resources.streaming.batch_output import DEFAULT_SLICE_CHARS, read_batch_output
from chargen_resources.streaming.dimension_probe import DimensionProbe, Dimensions
from chargen_resources.streaming.errors import (
    Base64DecodeError,
    GeminiApiError,
    GeminiHttpError,
    GeminiProtocolError,
    GeminiStreamError,
    StorageKeyError,
    StreamingError,
    StreamTimeoutError,
)
from chargen_resources.streaming.gemini_events import parse_gemini_events, sniff_mime_type
from chargen_resources.streaming.sinks import (
    ImageSink,
    ImageWriter,
    LocalFileSink,
    S3MultipartSink,
    StoredObject,
)
from chargen_resources.streaming.sse import parse_sse
from chargen_resources.streaming.streaming_client import (
    InlineDataPart,
    RequestBody,
    RequestContent,
    RequestPart,
    SizedChunks,
    StreamingGenerateClient,
    TextPart,
    build_request_body,
)
from chargen_resources.streaming.text import collect_text
from chargen_resources.streaming.types import (
    BatchOutputEvent,
    GeminiEvent,
    ImageBlock,
    ImageDelta,
    ImageFailed,
    ImageMarkedThought,
    ImageStart,
    LineEnd,
    LineError,
    LineStart,
    OutputBlock,
    PipelineEvent,
    SseEvent,
    StreamDone,
    TextBlock,
    TextDelta,
    ThoughtImageSkipped,
    TokenUsage,
    UploadedEvent,
)
from chargen_resources.streaming.upload import ImageContext, upload_image_chunks

__all__ = [
    "DEFAULT_SLICE_CHARS",
    "Base64DecodeError",
    "BatchOutputEvent",
    "DimensionProbe",
    "Dimensions",
    "GeminiApiAdapter",
    "GeminiApiError",
    "GeminiEvent",
    "GeminiHttpError",
    "GeminiProtocolError",
    "GeminiStreamError",
    "GoogleGenAIApiAdapter",
    "ImageBlock",
    "ImageContext",
    "ImageDelta",
    "ImageFailed",
    "ImageMarkedThought",
    "ImageSink",
    "ImageStart",
    "ImageWriter",
    "InlineDataPart",
    "LineEnd",
    "LineError",
    "LineStart",
    "LocalFileSink",
    "OutputBlock",
    "PipelineEvent",
    "RequestBody",
    "RequestContent",
    "RequestPart",
    "RequestTarget",
    "S3MultipartSink",
    "SizedChunks",
    "SseEvent",
    "StorageKeyError",
    "StoredObject",
    "StreamDone",
    "StreamTimeoutError",
    "StreamingError",
    "StreamingGenerateClient",
    "TextBlock",
    "TextDelta",
    "TextPart",
    "ThoughtImageSkipped",
    "TokenUsage",
    "UploadedEvent",
    "build_request_body",
    "collect_text",
    "decode_base64",
    "parse_gemini_events",
    "parse_sse",
    "read_batch_output",
    "sniff_mime_type",
    "upload_image_chunks",
]
