"""Pure spatial logic on GeoDataFrames: no database, no Flask."""
