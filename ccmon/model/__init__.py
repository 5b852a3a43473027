"""Meaning, independent of wire formats and screens: decoding, temporality, aggregation,
persistence and the immutable snapshots views render. Imports no UI and no protocol code."""
