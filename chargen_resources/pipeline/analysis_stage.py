"""character_analysis: one Gemini batch job (JSON mode) over every character's sketches."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import ValidationError

from chargen_resources.characters.analysis import CharacterAnalysis
from chargen_resources.characters.artifacts import AnalysisRecord, SourceImages
from chargen_resources.characters.requests import (
    ANALYSIS_REQUEST_VERSION,
    ImageReference,
    analysis_request,
)
from chargen_resources.gemini.batch_jobs import (
    BatchJobRunner,
    BatchLine,
    Prepared,
    iter_file_chunks,
)
from chargen_resources.gemini.pricing import estimate_cost
from chargen_resources.gemini.uploads import UploadCache
from chargen_resources.pipeline.batch_results import LineResult, line_results
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.storage.blob_store import BlobStore
from chargen_resources.streaming import read_batch_output

STAGE = "character_analysis"


def analyse(
    sources: Mapping[str, SourceImages],
    *,
    store: BlobStore,
    runner: BatchJobRunner,
    uploads: UploadCache,
    model: str,
    delete_uploads: bool,
) -> StageOutcome[AnalysisRecord]:
    outcome: StageOutcome[AnalysisRecord] = StageOutcome(STAGE)
    if not sources:
        return outcome

    def by_content(key: str) -> list[ImageReference]:
        return [
            ImageReference(uri=f"sha256:{i.sha256}", mime_type="image/png")
            for i in sources[key].images
        ]

    def upload_and_build(group: Sequence[BatchLine]) -> Prepared:
        """Only for a new submission: a reattached job already has its images."""
        built = []
        uploaded: list[str] = []
        for line in group:
            references = []
            for image in sources[line.key].images:
                file = uploads.ensure_uploaded(
                    store.get_bytes(image.key), "image/png", f"{line.key}-{image.source_name}"
                )
                references.append(ImageReference(uri=file.uri, mime_type=file.mime_type))
                if not file.reused:  # a reused file belongs to the job that uploaded it
                    uploaded.append(file.name)
            built.append(BatchLine(key=line.key, request=analysis_request(references, line.key)))
        return Prepared(built, uploaded)

    # The request set is identified by image content, not by upload names, so a re-run after the
    # uploads were cleaned up still finds (and does not pay again for) the job it already ran.
    lines = [
        BatchLine(key=key, request=analysis_request(by_content(key), key))
        for key in sorted(sources)
    ]
    jobs = runner.run(
        stage=STAGE,
        model=model,
        lines=lines,
        display_name="chargen-analysis",
        prepare=upload_and_build,
    )
    for job in jobs:
        outcome.job_of.update(dict.fromkeys(job.keys, job.job_name))
        with tempfile.TemporaryDirectory(prefix="chargen-analysis-") as folder:
            output = runner.download_output(job, Path(folder) / "output.jsonl")
            seen = set()
            for line in line_results(read_batch_output(iter_file_chunks(output))):
                if line.key is None or line.key not in sources:
                    continue
                seen.add(line.key)
                _record_line(
                    outcome, line.key, line, model, job.job_name, sources[line.key].images_hash
                )
        for key in job.keys:
            if key not in seen:
                outcome.fail(key, f"batch job {job.job_name} returned no line for this character")
        deleted = runner.finish(job, delete_files=delete_uploads)
        uploads.forget_deleted(
            [image.sha256 for key in job.keys for image in sources[key].images], deleted
        )
    return outcome


def _record_line(
    outcome: StageOutcome[AnalysisRecord],
    key: str,
    line: LineResult,
    model: str,
    job_name: str,
    source_hash: str,
) -> None:
    if line.problem:
        outcome.fail(key, line.problem)
        return
    try:
        analysis = CharacterAnalysis.model_validate_json(line.text)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(whole answer)"
        outcome.fail(
            key,
            f"the analysis answer is not valid JSON for our schema ({where}: {first['msg']}); "
            "re-run to ask again",
        )
        return
    outcome.succeeded[key] = AnalysisRecord(
        character=key,
        analysis=analysis,
        source_hash=source_hash,
        request_version=ANALYSIS_REQUEST_VERSION,
        model=model,
        batch_job=job_name,
        usage=line.usage,
        estimated_cost_usd=estimate_cost(
            model, line.usage.prompt_tokens, line.usage.output_tokens + line.usage.thoughts_tokens
        ),
    )
