"""Blueprints: one per user group, plus the network overview and the JSON API."""
