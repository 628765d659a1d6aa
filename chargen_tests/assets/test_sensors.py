from chargen_assets.sensors import contiguous_ranges


def test_contiguous_ranges_follow_partition_order() -> None:
    ordered = ["a", "b", "c", "d", "e"]
    assert contiguous_ranges(ordered, {"a", "b", "d"}) == [
        ("a", "b", ["a", "b"]),
        ("d", "d", ["d"]),
    ]
    assert contiguous_ranges(ordered, set()) == []
    assert contiguous_ranges(ordered, set(ordered)) == [("a", "e", ordered)]
