"""Every character is a partition of this one dynamic partition set."""

import dagster as dg

characters = dg.DynamicPartitionsDefinition(name="characters")
