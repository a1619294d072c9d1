"""Bybit V5 account endpoints: API-key info (``uta: 1``), account info (UTA 2.0), coin info and
the unified wallet balance."""

from __future__ import annotations

from aiohttp import web

from fks_fake_exchange import bybit_views
from fks_fake_exchange.bybit_errors import BybitError
from fks_fake_exchange.bybit_web import bybit_of, ok, private

routes = web.RouteTableDef()
UID = 100_000_001
UTA_2_PRO = 6  # unifiedMarginStatus: 5 UTA 2.0, 6 UTA 2.0 pro


@routes.get("/v5/user/query-api")
async def query_api(request: web.Request) -> web.Response:
    ex, _ = await private(request)
    return ok(
        ex,
        {
            "id": "1",
            "note": "fks-fake-exchange",
            "apiKey": "",
            "readOnly": 0,
            "secret": "",
            "permissions": {
                "ContractTrade": ["Order", "Position"],
                "Spot": ["SpotTrade"],
                "Wallet": ["AccountTransfer"],
                "Options": [],
                "Derivatives": [],
                "CopyTrading": [],
                "BlockTrade": [],
                "Exchange": [],
                "NFT": [],
                "Affiliate": [],
            },
            "ips": ["*"],
            "type": 1,
            "deadlineDay": -2,
            "expiredAt": "",
            "createdAt": "2024-01-01T00:00:00Z",
            "unified": 0,
            "uta": 1,
            "userID": UID,
            "inviterID": 0,
            "vipLevel": "No VIP",
            "mktMakerLevel": "0",
            "affiliateID": 0,
            "rsaPublicKey": "",
            "isMaster": True,
            "parentUid": "0",
            "kycLevel": "LEVEL_DEFAULT",
            "kycRegion": "",
        },
    )


@routes.get("/v5/account/info")
async def account_info(request: web.Request) -> web.Response:
    ex, _ = await private(request)
    account = bybit_of(ex)
    return ok(
        ex,
        {
            "unifiedMarginStatus": UTA_2_PRO,
            "marginMode": account.margin_mode,
            "isMasterTrader": False,
            "spotHedgingStatus": "OFF",
            "updatedTime": "1700000000000",
            "dcpStatus": "OFF",
            "timeWindow": 10,
            "smpGroup": 0,
        },
    )


@routes.get("/v5/asset/coin/query-info")
async def coin_info(request: web.Request) -> web.Response:
    ex, params = await private(request)
    coins = sorted(
        {m.base for m in ex.spot_markets.values()}
        | {m.quote for m in ex.spot_markets.values()}
        | set(bybit_of(ex).spot.balances)
    )
    wanted = params.text("coin")
    rows = [
        {
            "name": coin,
            "coin": coin,
            "remainAmount": "1000000",
            "chains": [
                {
                    "chainType": coin,
                    "confirmation": "10",
                    "withdrawFee": "0",
                    "depositMin": "0",
                    "withdrawMin": "0",
                    "chain": coin,
                    "chainDeposit": "1",
                    "chainWithdraw": "1",
                    "minAccuracy": "8",
                    "withdrawPercentageFee": "0",
                    "contractAddress": "",
                }
            ],
        }
        for coin in coins
        if wanted is None or coin == wanted
    ]
    return ok(ex, {"rows": rows})


@routes.get("/v5/account/wallet-balance")
async def wallet_balance(request: web.Request) -> web.Response:
    ex, params = await private(request)
    account_type = params.text("accountType")
    if account_type is None:
        raise BybitError(10001, "Missing some parameters that must filled in, accountType")
    if account_type != "UNIFIED":
        raise BybitError(10001, "accountType only support UNIFIED.")
    coin = params.text("coin")
    coins = set(coin.split(",")) if coin is not None else None
    return ok(ex, bybit_views.wallet_view(bybit_of(ex), coins, ex.prices))
