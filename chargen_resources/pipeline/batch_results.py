"""Turn the streamed events of a batch output file into one verdict per line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from chargen_resources.characters.artifacts import TokenUsage
from chargen_resources.streaming.types import (
    ImageBlock,
    ImageFailed,
    ImageMarkedThought,
    LineEnd,
    LineStart,
    TextDelta,
)
from chargen_resources.streaming.types import TokenUsage as WireUsage

# Refusals: the same request is refused again, so they are the content's failures.
CONTENT_FINISH_REASONS = {
    "SAFETY",
    "IMAGE_SAFETY",
    "PROHIBITED_CONTENT",
    "IMAGE_PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "RECITATION",
}
# Finish reasons that mean the model produced what was asked.
GOOD_FINISH_REASONS = {None, "STOP", "FINISH_REASON_UNSPECIFIED"}
# What to change when a request is refused for its content: an image request is the prompt
# (character.yaml's notes, the style), an analysis request only the sketches and the name.
IMAGE_REFUSAL_HINT = (
    "reword the character.yaml notes or the style override, then re-run this character"
)
ANALYSIS_REFUSAL_HINT = (
    "the analysis sends only the sketches and the character's folder name (not character.yaml), "
    "so change the sketches or rename the folder, then re-run this character"
)
FINISH_REASON_ADVICE = {
    "IMAGE_SAFETY": "Gemini's image safety filter blocked the result",
    "SAFETY": "Gemini's safety filter blocked the answer",
    "IMAGE_PROHIBITED_CONTENT": "Gemini refused the image as prohibited content",
    "PROHIBITED_CONTENT": "Gemini refused the request as prohibited content",
    "MAX_TOKENS": "the answer hit the output token limit before it was complete; re-run it",
    "NO_IMAGE": "the model answered without an image; re-run it",
    "RECITATION": "the answer was withheld for recitation",
    "STREAM_ENDED_EARLY": "the stream ended before Gemini finished; nothing was kept, re-run it",
}


@dataclass
class LineResult:
    """Everything one output line said, with the key only known at its end."""

    index: int
    key: str | None = None
    text: str = ""
    images: list[ImageBlock] = field(default_factory=list)
    image_problems: list[str] = field(default_factory=list)
    error: str | None = None
    finish_reason: str | None = None
    block_reason: str | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)

    @property
    def refused(self) -> bool:
        """The request was refused for its content (not an error worth retrying)."""
        return not self.error and (
            self.block_reason is not None or self.finish_reason in CONTENT_FINISH_REASONS
        )

    @property
    def problem(self) -> str | None:
        """Why this line (an image request's) gave no usable result, in words for the user;
        None when it did."""
        return self.problem_for(IMAGE_REFUSAL_HINT)

    def problem_for(self, refusal_hint: str) -> str | None:
        """`problem`, with `refusal_hint` as what to change when the content was refused."""
        if self.error:
            return self.error
        if self.block_reason:
            return f"the prompt was blocked (blockReason {self.block_reason}); {refusal_hint}"
        if self.finish_reason not in GOOD_FINISH_REASONS:
            advice = FINISH_REASON_ADVICE.get(self.finish_reason or "", "the model stopped early")
            if self.refused:
                advice = f"{advice}; {refusal_hint}"
            return f"{advice} (finishReason {self.finish_reason})"
        return None


def usage_from_wire(usage: WireUsage | None) -> TokenUsage:
    if usage is None:
        return TokenUsage()
    return TokenUsage(
        prompt_tokens=usage.prompt_token_count or 0,
        output_tokens=usage.candidates_token_count or 0,
        thoughts_tokens=usage.thoughts_token_count or 0,
    )


def line_results(events: Iterable[object]) -> Iterator[LineResult]:
    """Group events by line; text is gathered, stored images kept, thought images dropped."""
    current: LineResult | None = None
    for event in events:
        if isinstance(event, LineStart):
            current = LineResult(index=event.index)
        elif current is None:
            continue
        elif isinstance(event, TextDelta) and not event.thought:
            current.text += event.text
        elif isinstance(event, ImageBlock):
            current.images.append(event)
        elif isinstance(event, ImageMarkedThought) and current.images:
            current.images.pop()
        elif isinstance(event, ImageFailed):
            current.image_problems.append(event.reason)
        elif isinstance(event, LineEnd):
            current.key = event.key
            current.finish_reason = event.finish_reason
            current.block_reason = event.block_reason
            current.usage = usage_from_wire(event.usage)
            if event.error is not None:
                status = f"{event.error.status}: " if event.error.status else ""
                current.error = (
                    f"Gemini returned an error for this request ({status}{event.error.message})"
                    "; re-running this character sends it again"
                )
            yield current
            current = None
