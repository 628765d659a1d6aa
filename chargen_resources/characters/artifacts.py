"""What each stage stores per character: small JSON documents beside native PNGs."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from chargen_resources.characters.analysis import CharacterAnalysis
from chargen_resources.characters.image_qa import QaResult
from chargen_resources.inbox.character_spec import CharacterSpec
from chargen_resources.inbox.style_spec import StyleSpec


def _legacy_mode(value: object) -> object:
    return "interactive" if value == "stream" else value  # records written before 2026-11-30


# Who answered: Google, another endpoint (a proxy), or chargen's emulator (drawings, not art).
Backend = Literal["google", "custom", "emulator"]


def stands_for(made_by: Backend | None, answering: Backend | None) -> bool:
    """Whether a stored result made by `made_by` may stand for one `answering` would make: an
    emulator's drawing only while the emulator answers. Once a real backend does, the result is
    asked for (and paid for) again, never kept as finished art."""
    return made_by != "emulator" or answering == "emulator"


# batch: half price, a job that takes minutes to a day; interactive: full price, seconds.
RequestMode = Annotated[Literal["batch", "interactive"], BeforeValidator(_legacy_mode)]


class TokenUsage(BaseModel):
    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    output_tokens: int = 0
    thoughts_tokens: int = 0

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.output_tokens + self.thoughts_tokens


class StoredImage(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    source_name: str
    sha256: str
    width: int
    height: int
    source_format: str
    size_bytes: int | None = None  # of the normalised PNG (records before 2026-11-30: None)


class SourceImages(BaseModel):
    """The normalised reference images of one character (`source_image`)."""

    character: str
    source_name: str
    spec: CharacterSpec | None = None
    images: list[StoredImage]
    content_hash: str = Field(description="sha256 over the normalised images and the sheet")

    @property
    def images_hash(self) -> str:
        """sha256 over the normalised images only: what the analysis looks at."""
        return hashlib.sha256("\n".join(i.sha256 for i in self.images).encode()).hexdigest()

    @property
    def locked(self) -> bool:
        """character.yaml says `locked: true`: an approved take, kept whatever changed."""
        return self.spec is not None and self.spec.locked

    skipped_files: list[str] = Field(
        default_factory=list, description="Files in the folder that were left out, and why."
    )


NO_STYLE = "no-style"  # the data version of cast_style without a _style/ folder


class CastStyle(BaseModel):
    """The cast's style guide as stored (`cast_style`): empty when the inbox has no _style/."""

    spec: StyleSpec = Field(default_factory=StyleSpec)
    images: list[StoredImage] = Field(default_factory=list)
    present: bool = False
    # The listed folder it was read from (`InboxCharacter.fingerprint`): a run tells from it
    # that the inbox's _style/ changed since (None: no folder, or stored before it was kept).
    folder_fingerprint: str | None = None

    @property
    def content_hash(self) -> str:
        """What every character's prompt depends on: the style.yaml and the style images."""
        if not self.present:
            return NO_STYLE
        parts = [self.spec.model_dump_json(), *(image.sha256 for image in self.images)]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class AnalysisRecord(BaseModel):
    """A validated analysis and where it came from (`character_analysis`)."""

    character: str
    analysis: CharacterAnalysis
    source_hash: str = Field(default="", description="SourceImages.images_hash it describes")
    request_version: str = Field(default="", description="ANALYSIS_REQUEST_VERSION used")
    model: str
    mode: RequestMode = "batch"
    batch_job: str | None
    usage: TokenUsage
    estimated_cost_usd: float | None
    made_at: datetime | None = Field(default=None, description="when the result arrived (UTC)")
    backend: Backend | None = Field(default=None, description="who answered the request")


class GeneratedImage(BaseModel):
    """The finished image of one character (`character_image`); the PNG sits at `image_key`."""

    character: str
    image_key: str
    image_uri: str
    width: int
    height: int
    bytes: int
    finish_reason: str | None
    model: str
    mode: RequestMode
    batch_job: str | None
    prompt_hash: str
    usage: TokenUsage
    estimated_cost_usd: float | None
    references: list[str] = Field(
        default_factory=list, description="the sketches sent with the request (file names)"
    )
    take: int | None = Field(default=None, description="this take's number among the kept takes")
    thumbnail: str | None = Field(
        default=None,
        description=(
            "Markdown with a small inline JPEG, in records made before the JPEG was stored "
            "beside its take (`takes/NN.jpg`)"
        ),
    )
    glance: str | None = Field(
        default=None, description="Markdown with a tiny WebP, short enough to show inline"
    )
    qa: list[QaResult] = Field(default_factory=list, description="image QA, checked when kept")
    made_at: datetime | None = Field(default=None, description="when the result arrived (UTC)")
    backend: Backend | None = Field(default=None, description="who answered the request")


class DeadLetter(BaseModel):
    """A character a stage could not finish, kept for inspection and a targeted re-run."""

    character: str
    stage: str
    reason: str
    batch_job: str | None = None
    detail: dict[str, str] = Field(default_factory=dict)
    # A refusal or bad input: the same inputs and code would fail again. The inbox sensor does
    # not re-send such a character until `inputs` (its inbox fingerprint) or `code` change.
    content: bool = False
    inputs: str | None = None
    code: str | None = None
    # The bytes of its files then (sha256): a copy or sync that only moves their times is no change.
    inputs_content: str | None = None
