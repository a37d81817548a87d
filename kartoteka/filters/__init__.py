"""What a reader asks for, compiled to SQL: the filter JSON (`compiler`) and sort keys
(`sorts`). Knows nothing of rights: callers pass them in (see `compiler.Rights`)."""
