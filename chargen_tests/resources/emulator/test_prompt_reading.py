"""Reading props, style and build from an image prompt."""

from chargen_resources.emulator.prompt_reading import build_in, props_in, style_in

PROMPT = (
    "Create a finished full-body character design of Oracle of the Ninth Tide, an oracle. "
    "Key features: teal attire. Silhouette: tall slender mage outline. Pose: arms out. "
    "Carries: carved staff, glowing orb, whistle. Render style: watercolour storybook "
    "illustration. Art director's notes: a sea priestess with a crown and a lantern."
)


def test_carried_props_notes_and_headgear_are_read_in_order() -> None:
    assert props_in(PROMPT) == ["staff", "orb", "item", "lantern", "crown"]


def test_without_a_carries_list_the_whole_prompt_names_the_props() -> None:
    assert props_in("a rogue with twin daggers and a hood") == ["daggers", "hood"]


def test_the_render_style_clause_wins_over_other_words() -> None:
    assert style_in(PROMPT) == "watercolour"
    assert style_in("neon robot. Render style: pixel art.") == "pixel"
    assert style_in("Render style: noir ink.") == "ink"
    assert style_in("Render style: detailed illustration.") == "painterly"


def test_the_silhouette_sets_the_build() -> None:
    assert build_in(PROMPT) == (0.8, 1.08)
    assert build_in("Silhouette: broad knight outline.") == (1.25, 1.0)
