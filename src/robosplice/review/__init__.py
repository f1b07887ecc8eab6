"""The review page: watch every episode, mark deletions and trims, apply them losslessly.

A thin layer over ops and recipes (DESIGN.md "Next layers"): `session.py` holds what one review
of one dataset knows (no web framework), `server.py` is the Starlette app over it, `serve.py`
runs it with uvicorn. Starlette and uvicorn come from the optional extra `robosplice[review]`
and are imported only by `server.py`/`serve.py`, so importing this package costs nothing.
The source dataset is only read; clips, stills and pending edits live in a cache outside it.
"""
