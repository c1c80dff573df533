"""Read outside files, check them, and write them through models/ in one transaction."""
