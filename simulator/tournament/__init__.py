"""Tournaments: strategies, registry, games, formats, scores, ratings and standings."""
