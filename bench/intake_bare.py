"""The bare FastAPI endpoint ``bench/intake.py`` compares the executor's intake against.

Same server settings as ``fks-executor`` (uvicorn, one worker, uvloop, httptools, no access
log) and the same FastAPI settings (``FRAMEWORK_SETTINGS``); the endpoint reads the raw body
and answers a small JSON document — the least any webhook endpoint does.
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

from fks_executor.app import FRAMEWORK_SETTINGS

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, **FRAMEWORK_SETTINGS)
_ANSWER = b'{"status":"ok","reason":null,"signal_id":null,"order":null}'


@app.post("/webhook/tradingview")
async def webhook(request: Request) -> Response:
    await request.body()
    return Response(content=_ANSWER, media_type="application/json")


@app.get("/health")
async def health() -> Response:
    return Response(content=b'{"status":"ok"}', media_type="application/json")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        server_header=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
