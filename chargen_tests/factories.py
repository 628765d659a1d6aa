"""Records and resources the tests build by hand: sensible defaults, override what matters."""

from typing import Any

from chargen_assets.resources import GeminiBatchResource, InboxResource
from chargen_assets.storage import ChargenIOManager, ChargenStorage
from chargen_resources.characters.artifacts import GeneratedImage, TokenUsage
from chargen_resources.characters.prompt_compiler import CompiledPrompt


def compiled_prompt(**overrides: Any) -> CompiledPrompt:
    fields: dict[str, Any] = {
        "character": "ash",
        "text": "t",
        "aspect_ratio": "9:16",
        "image_size": "1K",
        "style": "s",
        "style_overridden": False,
        "template_version": "v1-x",
        "prompt_hash": "h",
    }
    return CompiledPrompt(**{**fields, **overrides})


def generated_image(**overrides: Any) -> GeneratedImage:
    fields: dict[str, Any] = {
        "character": "a",
        "image_key": "k.png",
        "image_uri": "file:///k.png",
        "width": 768,
        "height": 1376,
        "bytes": 10,
        "finish_reason": "STOP",
        "model": "m",
        "mode": "batch",
        "batch_job": "batches/1",
        "prompt_hash": "h",
        "usage": TokenUsage(prompt_tokens=10, output_tokens=1120),
        "estimated_cost_usd": 0.07,
    }
    return GeneratedImage(**{**fields, **overrides})


def catalog_resources(storage: ChargenStorage) -> dict[str, object]:
    """What materializing the catalog (and its checks) alone needs, over `storage`."""
    return {
        "storage": storage,
        "io_manager": ChargenIOManager(storage=storage),
        # Declared by the (unselected) pipeline step; never called by the catalog.
        "gemini": GeminiBatchResource(),
        "inbox": InboxResource(),
    }
