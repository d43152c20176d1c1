"""The review page: look at and listen to every detection or discovered song, mark it,
and export the verdicts (verified.csv)."""
