"""The bare Starlette endpoint ``bench/intake.py`` compares the executor's intake against.

The server ``fks-executor`` runs (uvicorn, one worker, uvloop, httptools, no access log) without
its header limits (``fks_executor.serving``: their cost counts against the executor's ratio),
and the same framework (Starlette); the endpoint reads the raw body and answers a small JSON
document — the least any webhook endpoint does.
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_ANSWER = b'{"status":"ok","reason":null,"signal_id":null,"order":null}'


async def webhook(request: Request) -> Response:
    await request.body()
    return Response(content=_ANSWER, media_type="application/json")


async def health(_: Request) -> Response:
    return Response(content=b'{"status":"ok"}', media_type="application/json")


app = Starlette(
    routes=[
        Route("/webhook/tradingview", webhook, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
    ]
)


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
