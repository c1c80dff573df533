"""SQLAlchemy + GeoAlchemy2 tables, sessions, queries and migrations: the only place that knows SQL."""
