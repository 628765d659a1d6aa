"""Every character is a partition of this one dynamic partition set."""

import dagster as dg

CHARACTERS = "characters"
characters = dg.DynamicPartitionsDefinition(name=CHARACTERS)
