"""Batch routes: create (file or inline), get, list, cancel, delete."""

from __future__ import annotations

import json
import shutil
from typing import Any

from chargen_resources.emulator.batch_runner import count_input_lines
from chargen_resources.emulator.batch_store import BatchRecord
from chargen_resources.emulator.context import EmulatorContext
from chargen_resources.emulator.faults import batch_faults
from chargen_resources.emulator.http_types import HttpRequest, JsonResponse
from chargen_resources.emulator.inference import model_kind, unknown_model_error
from chargen_resources.emulator.store import atomic_write_json
from chargen_resources.emulator.wire import ApiError, paginate

MAX_INLINE_BYTES = 20 * 1024 * 1024


def _model_name(request: HttpRequest) -> str:
    return request.route[1].removeprefix("models/")


def create(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    version, model = request.route[0], _model_name(request)
    if model_kind(model) is None:
        raise unknown_model_error(model, version, "batchGenerateContent")
    body = request.json(allow_empty=False)
    batch = body.get("batch")
    if not isinstance(batch, dict):
        raise ApiError(400, "* BatchGenerateContentRequest.batch: batch is required.")
    input_config = batch.get("inputConfig")
    if not isinstance(input_config, dict):
        raise ApiError(400, "* GenerateContentBatch.input_config: input_config is required.")
    file_name, inline = input_config.get("fileName"), input_config.get("requests")
    if file_name is None and isinstance(inline, dict) and "fileName" in inline:
        # The batch guide's REST sample nests the file under "requests"; the service takes it.
        file_name, inline = inline["fileName"], None
    if (file_name is None) == (inline is None):
        raise ApiError(400, "input_config needs exactly one of file_name or requests.")
    display_name = batch.get("displayName")
    faults = batch_faults(str(display_name) if display_name is not None else None)
    settings = ctx.settings
    record = BatchRecord(
        id=ctx.batches.new_batch_id(),
        model=model,
        display_name=str(display_name) if display_name is not None else None,
        create_time=ctx.clock.now(),
        pending_seconds=settings.pending_seconds,
        running_seconds=settings.running_seconds,
        outcome=faults.outcome or settings.batch_outcome,
        late_output_seconds=(
            faults.late_output_seconds
            if faults.late_output_seconds is not None
            else settings.late_output_seconds
        ),
        input_file=None,
        request_count=0,
    )
    if file_name is not None:
        file_id = str(file_name).removeprefix("files/")
        if ctx.files.find(file_id) is None:
            raise ApiError(
                404,
                f"Input file files/{file_id} does not exist or has expired; "
                "upload the JSONL file first and pass its name (files/...).",
            )
        record.input_file = f"files/{file_id}"
        record.request_count = count_input_lines(ctx.files.data_path(file_id))
        # The job holds its input from now on: deleting the file after `create` must not undo
        # a job a client may already be billed for (a crash-safety test relies on this).
        shutil.copyfile(ctx.files.data_path(file_id), ctx.batches.input_snapshot_path(record.id))
    else:
        items = _inline_items(inline)
        record.request_count = len(items)
        atomic_write_json(ctx.batches.inline_requests_path(record.id), items)
    ctx.batches.save(record)
    return JsonResponse(200, ctx.batches.operation(record, just_created=True))


def _inline_items(inline: Any) -> list[dict[str, Any]]:
    items = inline.get("requests") if isinstance(inline, dict) else None
    if not isinstance(items, list) or not items:
        raise ApiError(400, "input_config.requests.requests must be a non-empty list.")
    if len(json.dumps(items)) > MAX_INLINE_BYTES:
        raise ApiError(400, "Inline batch requests exceed 20 MB; upload a JSONL file instead.")
    for number, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("request"), dict):
            raise ApiError(400, f"input_config.requests.requests[{number}].request is required.")
    return items


def _batch_id(request: HttpRequest) -> str:
    return request.route[-1]


def get(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    record = ctx.runner.settle(ctx.batches.load(_batch_id(request)))
    return JsonResponse(200, ctx.batches.operation(record))


def list_batches(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    page, token = paginate(
        ctx.batches.all(),
        request.query.get("pageSize"),
        request.query.get("pageToken"),
        default_size=10,
        max_size=1000,
    )
    operations = [ctx.batches.operation(ctx.runner.settle(record)) for record in page]
    body: dict[str, Any] = {"operations": operations} if operations else {}
    if token:
        body["nextPageToken"] = token
    return JsonResponse(200, body)


def cancel(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    ctx.batches.cancel(_batch_id(request))
    return JsonResponse(200, {})


def delete(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    ctx.batches.delete(_batch_id(request))
    return JsonResponse(200, {})
