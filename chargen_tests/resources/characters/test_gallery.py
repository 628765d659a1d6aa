"""The gallery page: failed characters first, every picture linked relative to the page."""

from __future__ import annotations

from chargen_resources.characters.artifacts import DeadLetter
from chargen_resources.characters.catalog import CharacterState
from chargen_resources.characters.gallery import gallery_card, render_gallery
from chargen_tests.factories import generated_image


def test_failed_first_with_their_reason_and_links_relative_to_the_page() -> None:
    states = [
        CharacterState(
            character="ash",
            image=generated_image(
                character="ash", image_key="team/chargen/character_image/ash.png"
            ),
        ),
        CharacterState(
            character="zed",
            dead_letter=DeadLetter(character="zed", stage="character_image", reason="<blocked>"),
        ),
        CharacterState(character="new"),
    ]
    page = render_gallery(
        [gallery_card(state, "team/chargen") for state in states], "s3://bucket/team/chargen"
    )
    assert page.index('id="zed"') < page.index('id="ash"') < page.index('id="new"')
    assert "&lt;blocked&gt;" in page and "<blocked>" not in page  # escaped
    assert 'src="../character_image/ash.png"' in page
    assert "1 done, 1 failed, 1 pending" in page


def test_a_card_shows_the_stored_thumbnail_linked_to_the_full_image() -> None:
    image = generated_image(character="ash", image_key="chargen/character_image/ash.png")
    image = image.model_copy(update={"glance": "![ash](data:image/webp;base64,AAAA)"})
    thumb = "chargen/character_image/ash/takes/01.jpg"
    card = gallery_card(CharacterState(character="ash", image=image), "chargen", thumb).html
    assert '<a href="../character_image/ash.png">' in card
    assert 'src="../character_image/ash/takes/01.jpg"' in card
    # No thumbnail was made (an image that did not decode): the full image itself.
    unmade = image.model_copy(update={"glance": None})
    card = gallery_card(CharacterState(character="ash", image=unmade), "chargen", thumb).html
    assert 'src="../character_image/ash.png"' in card
