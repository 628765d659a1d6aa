"""How counts and lists of names read."""

from chargen_resources.words import counted, shortened


def test_a_long_list_of_names_is_shortened_for_one_line() -> None:
    names = [f"c{n}" for n in range(25)]
    assert shortened(names) == ", ".join(names[:20]) + " and 5 more"
    assert shortened(names[:3]) == "c0, c1, c2"


def test_a_count_reads_as_english() -> None:
    assert counted(1, "character") == "1 character" and counted(0, "request") == "0 requests"
    assert counted(2, "character") == "2 characters"
