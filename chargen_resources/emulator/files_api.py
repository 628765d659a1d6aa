"""Files API routes: resumable upload, get, list, delete, download."""

from __future__ import annotations

from chargen_resources.emulator.context import EmulatorContext
from chargen_resources.emulator.downloads import file_chunks, paced, requested_span, truncated
from chargen_resources.emulator.http_types import FileResponse, HttpRequest, JsonResponse
from chargen_resources.emulator.wire import ApiError, paginate

CHUNK_GRANULARITY = 8 * 1024 * 1024


def _file_id(request: HttpRequest) -> str:
    return request.route[-1].removeprefix("files/")


def upload(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    upload_id = request.query.get("upload_id")
    if upload_id:
        return _upload_chunk(ctx, request, upload_id)
    protocol = (request.header("x-goog-upload-protocol") or "").lower()
    command = (request.header("x-goog-upload-command") or "").lower()
    if protocol != "resumable" or command != "start":
        raise ApiError(
            400,
            "Only resumable uploads are supported: send X-Goog-Upload-Protocol: "
            "resumable and X-Goog-Upload-Command: start.",
        )
    declared = request.header("x-goog-upload-header-content-length")
    try:
        declared_size = int(declared) if declared is not None else None
    except ValueError:
        raise ApiError(400, f"Invalid X-Goog-Upload-Header-Content-Length '{declared}'.") from None
    body = request.json()
    meta = body.get("file") or {}
    if not isinstance(meta, dict):
        raise ApiError(400, "Invalid value at 'file': expected an object.")
    upload_id = ctx.files.start_upload(
        meta, declared_size, request.header("x-goog-upload-header-content-type")
    )
    version = request.route[0]
    url = (
        f"{request.host_url}/upload/{version}/files?upload_id={upload_id}&upload_protocol=resumable"
    )
    return JsonResponse(
        200,
        {},
        {
            "X-Goog-Upload-URL": url,
            "X-Goog-Upload-Status": "active",
            "X-Goog-Upload-Chunk-Granularity": str(CHUNK_GRANULARITY),
        },
    )


def _upload_chunk(ctx: EmulatorContext, request: HttpRequest, upload_id: str) -> JsonResponse:
    # Errors still carry X-Goog-Upload-Status (see http_server): without it the SDK retries for 7 s.
    commands = {
        c.strip() for c in (request.header("x-goog-upload-command") or "").lower().split(",")
    }
    if "query" in commands:
        part = ctx.files.uploads_dir / f"{upload_id}.part"
        received = part.stat().st_size if part.exists() else 0
        return JsonResponse(
            200,
            {},
            {"X-Goog-Upload-Status": "active", "X-Goog-Upload-Size-Received": str(received)},
        )
    if not commands & {"upload", "finalize"}:
        raise ApiError(400, "X-Goog-Upload-Command must be 'upload', 'finalize' or both.")
    raw_offset = request.header("x-goog-upload-offset") or "0"
    try:
        offset = int(raw_offset)
    except ValueError:
        raise ApiError(400, f"Invalid X-Goog-Upload-Offset '{raw_offset}'.") from None
    record = ctx.files.append_chunk(
        upload_id, offset, request.body_stream, request.content_length, "finalize" in commands
    )
    request.mark_consumed()
    if record is None:
        return JsonResponse(200, {}, {"X-Goog-Upload-Status": "active"})
    return JsonResponse(
        200, {"file": record.to_wire(request.host_url)}, {"X-Goog-Upload-Status": "final"}
    )


def get_file(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    return JsonResponse(200, ctx.files.get(_file_id(request)).to_wire(request.host_url))


def list_files(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    page, token = paginate(
        ctx.files.list_alive(), request.query.get("pageSize"), request.query.get("pageToken")
    )
    body: dict[str, object] = {"files": [r.to_wire(request.host_url) for r in page]}
    if token:
        body["nextPageToken"] = token
    return JsonResponse(200, body if page else ({"nextPageToken": token} if token else {}))


def delete_file(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    ctx.files.delete(_file_id(request))
    return JsonResponse(200, {})


def download_file(ctx: EmulatorContext, request: HttpRequest) -> FileResponse:
    """The file's bytes (a span of them with ``download_ranges``), paced to the configured
    bandwidth; the first ``cut_downloads`` downloads stop midway and drop the connection."""
    file_id = _file_id(request)
    record = ctx.files.get(file_id)
    if record.source != "GENERATED":
        raise ApiError(
            400,
            f"File files/{file_id} was uploaded, and only generated files (such "
            "as batch results) can be downloaded.",
        )
    path = ctx.files.data_path(file_id)
    settings = ctx.settings
    span = requested_span(
        request.header("range") if settings.download_ranges else None, path.stat().st_size
    )
    headers = {"Content-Disposition": f'attachment; filename="{path.stem}"'}
    if span.partial:
        headers["Content-Range"] = span.content_range()
    length = span.end - span.start
    body = file_chunks(path, span)
    if ctx.download_cuts.take():
        body = truncated(body, int(length * settings.cut_download_fraction))
    return FileResponse(
        chunks=paced(body, settings.download_bytes_per_second),
        length=length,
        content_type=record.mime_type,
        status=206 if span.partial else 200,
        headers=headers,
    )
