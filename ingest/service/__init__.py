"""The ingest process: receive, batch, write, supervise, report health."""
