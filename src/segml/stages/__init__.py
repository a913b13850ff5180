"""One module per stage, each with `run(cfg, catalog, engine)`. Imports nothing, so a DVC script
importing one stage depends only on the library modules that stage uses."""
