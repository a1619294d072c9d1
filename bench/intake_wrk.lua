-- wrk script for bench/intake.py: unique, token-authenticated alerts (TradingView style).
-- args: <passphrase> <run tag>. Each thread numbers its own requests, so every id is unique.
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  secret = args[1]
  tag = args[2]
  counter = 0
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"id":"%s-%d-%d","symbol":"BINANCE:BTCUSDT","action":"buy","price":68000,' ..
    '"timestamp":%d,"passphrase":"%s"}',
    tag, tid, counter, os.time(), secret)
  return wrk.format("POST", "/webhook/tradingview",
                    {["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
