"""Answers for what ccxt's default ``load_markets`` / ``fetch_status`` ask beyond spot and USD-M:
wallet currencies, margin pairs (none) and the COIN-M exchangeInfo (no markets)."""

from __future__ import annotations

from aiohttp import web

from fks_fake_exchange.decimals import fmt8
from fks_fake_exchange.state import Exchange
from fks_fake_exchange.web import json_response, public, signed

routes = web.RouteTableDef()

_NAMES = {"BTC": "Bitcoin", "ETH": "Ethereum", "USDT": "TetherUS", "SOL": "Solana", "BNB": "BNB"}


def _assets(ex: Exchange) -> list[str]:
    assets = {m.base for m in ex.spot_markets.values()} | {
        m.quote for m in ex.spot_markets.values()
    }
    assets |= set(ex.spot.balances)
    return sorted(assets)


def coin_view(ex: Exchange, asset: str) -> dict[str, object]:
    bal = ex.spot.balance(asset)
    network: dict[str, object] = {
        "network": asset,
        "coin": asset,
        "withdrawIntegerMultiple": "0.00000001",
        "isDefault": True,
        "depositEnable": True,
        "withdrawEnable": True,
        "depositDesc": "",
        "withdrawDesc": "",
        "specialTips": "",
        "specialWithdrawTips": "",
        "name": _NAMES.get(asset, asset),
        "resetAddressStatus": False,
        "addressRegex": "^[0-9A-Za-z]{20,64}$",
        "memoRegex": "",
        "withdrawFee": "0",
        "withdrawMin": "0.0001",
        "withdrawMax": "9999999999.99999999",
        "depositDust": "0.00000001",
        "minConfirm": 1,
        "unLockConfirm": 0,
        "sameAddress": False,
        "estimatedArrivalTime": 1,
        "busy": False,
        "contractAddressUrl": "",
        "contractAddress": "",
        "denomination": 1,
    }
    return {
        "coin": asset,
        "depositAllEnable": True,
        "withdrawAllEnable": True,
        "name": _NAMES.get(asset, asset),
        "free": fmt8(bal.free),
        "locked": fmt8(bal.locked),
        "freeze": "0",
        "withdrawing": "0",
        "ipoing": "0",
        "ipoable": "0",
        "storage": "0",
        "isLegalMoney": False,
        "trading": True,
        "networkList": [network],
    }


@routes.get("/sapi/v1/system/status")
async def system_status(request: web.Request) -> web.Response:
    await public(request)
    return json_response({"status": 0, "msg": "normal"})


@routes.get("/sapi/v1/capital/config/getall")
async def all_coins(request: web.Request) -> web.Response:
    ex, _ = await signed(request)
    return json_response([coin_view(ex, a) for a in _assets(ex)])


@routes.get("/sapi/v1/margin/allPairs")
@routes.get("/sapi/v1/margin/isolated/allPairs")
async def margin_pairs(request: web.Request) -> web.Response:
    """Margin trading is not offered: no pairs (ccxt then marks no spot market as marginable)."""
    await signed(request)
    return json_response([])


@routes.get("/dapi/v1/ping")
async def dapi_ping(request: web.Request) -> web.Response:
    await public(request)
    return json_response({})


@routes.get("/dapi/v1/time")
async def dapi_time(request: web.Request) -> web.Response:
    ex, _ = await public(request)
    return json_response({"serverTime": ex.now()})


@routes.get("/dapi/v1/exchangeInfo")
async def dapi_exchange_info(request: web.Request) -> web.Response:
    """COIN-M futures are not offered: an exchangeInfo without symbols."""
    ex, _ = await public(request)
    return json_response(
        {
            "timezone": "UTC",
            "serverTime": ex.now(),
            "rateLimits": [],
            "exchangeFilters": [],
            "symbols": [],
        }
    )
