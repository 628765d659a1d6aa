"""character_analysis: Gemini in JSON mode over each character's sketches.

In batch, the sketches go through the Files API (reused by content hash) and the requests in
one job; interactively, they go inline in one streamed `streamGenerateContent` call each.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime

from pydantic import ValidationError

from chargen_resources.characters.analysis import CharacterAnalysis
from chargen_resources.characters.artifacts import (
    AnalysisRecord,
    Backend,
    SourceImages,
    stands_for,
)
from chargen_resources.characters.prompt_compiler import Reference
from chargen_resources.characters.requests import (
    ANALYSIS_INSTRUCTION,
    ANALYSIS_REQUEST_VERSION,
    ImageReference,
    analysis_request,
)
from chargen_resources.gemini.batch_jobs import BatchLine, FinishedJob, Prepared
from chargen_resources.gemini.pricing import estimate_cost
from chargen_resources.gemini.uploads import UploadCache
from chargen_resources.pipeline import stage_names
from chargen_resources.pipeline.batch_results import (
    ANALYSIS_REFUSAL_HINT,
    LineResult,
    line_results,
)
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.pipeline.paid_stage import PaidStage
from chargen_resources.pipeline.references import uploaded_references
from chargen_resources.pipeline.streamed import streamed_line
from chargen_resources.storage.blob_store import BlobStore
from chargen_resources.streaming import (
    InlineDataPart,
    StreamingGenerateClient,
    TextPart,
    read_batch_output,
)

STAGE = stage_names.ANALYSIS


def still_valid(
    old: AnalysisRecord, source: SourceImages, model: str, answering: Backend | None
) -> bool:
    """A stored analysis that still describes these sketches, asked the same way, of a backend
    that may stand for `answering` (`stands_for`)."""
    return (
        old.source_hash == source.images_hash
        and old.request_version == ANALYSIS_REQUEST_VERSION
        and old.model == model
        and stands_for(old.backend, answering)
    )


def content_request(character: str, source: SourceImages) -> dict[str, object]:
    """The request with each sketch named by the hash of its bytes: the same in every run,
    whatever name the Files API gave its upload."""
    references = [
        ImageReference(uri=f"sha256:{image.sha256}", mime_type="image/png")
        for image in source.images
    ]
    return analysis_request(references, character)


def analysis_stage(
    sources: Mapping[str, SourceImages],
    *,
    store: BlobStore,
    uploads: UploadCache,
    client: StreamingGenerateClient,
    model: str,
    timeout_seconds: float,
    backend: Backend | None = None,
) -> PaidStage[SourceImages, AnalysisRecord]:
    def upload_and_build(group: Sequence[str]) -> Prepared:
        """Only for a new job: the sketches are uploaded (or reused while still on the
        service). They are left on the service when the job ends: the image job sends the
        same sketches as references and reuses these uploads (then deletes them). The
        requests are built as the input file is written."""
        sketches = {
            character: [Reference.of(image, "sketch") for image in sources[character].images]
            for character in group
        }
        sent = uploaded_references(sketches, uploads=uploads, store=store)
        lines = (
            BatchLine(key=character, request=analysis_request(references, character))
            for character, references in sent.by_character.items()
        )
        return Prepared(lines, shared_files=sent.file_names)

    def read_output(job: FinishedJob, chunks: Iterator[bytes]) -> Iterator[LineResult]:
        return line_results(read_batch_output(chunks))

    def send_interactive(character: str, source: SourceImages) -> Iterable[LineResult]:
        request = analysis_request([], character)
        parts: list[TextPart | InlineDataPart] = [
            TextPart(request["contents"][0]["parts"][0]["text"]),
            *(InlineDataPart("image/png", store.get_bytes(image.key)) for image in source.images),
        ]
        body = client.stream(
            model=model,
            contents=parts,
            generation_config=request["generationConfig"],
            system_instruction=ANALYSIS_INSTRUCTION,
            timeout=timeout_seconds,
        )
        return streamed_line(body, character)

    def keep(
        outcome: StageOutcome[AnalysisRecord],
        line: LineResult,
        character: str,
        source: SourceImages,
        job_name: str | None,
    ) -> None:
        _keep_analysis(outcome, line, character, model, job_name, source.images_hash, backend)

    return PaidStage(
        name=STAGE,
        model=model,
        job_display_name="chargen-analysis",
        content_request=content_request,
        read_output=read_output,
        send_interactive=send_interactive,
        keep=keep,
        prepare=upload_and_build,
    )


def _keep_analysis(
    outcome: StageOutcome[AnalysisRecord],
    line: LineResult,
    character: str,
    model: str,
    job_name: str | None,
    source_hash: str,
    backend: Backend | None = None,
) -> None:
    if problem := line.problem_for(ANALYSIS_REFUSAL_HINT):
        outcome.fail(character, problem, content=line.refused)
        return
    try:
        analysis = CharacterAnalysis.model_validate_json(line.text)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(whole answer)"
        outcome.fail(
            character,
            f"the analysis answer is not valid JSON for our schema ({where}: {first['msg']}); "
            "re-run to ask again",
            content=True,
        )
        return
    interactive = job_name is None
    outcome.succeeded[character] = AnalysisRecord(
        character=character,
        analysis=analysis,
        source_hash=source_hash,
        request_version=ANALYSIS_REQUEST_VERSION,
        model=model,
        mode="interactive" if interactive else "batch",
        batch_job=job_name,
        usage=line.usage,
        estimated_cost_usd=estimate_cost(
            model,
            line.usage.prompt_tokens,
            line.usage.output_tokens,
            thoughts_tokens=line.usage.thoughts_tokens,
            batch=not interactive,
        ),
        made_at=datetime.now(UTC),
        backend=backend,
    )
