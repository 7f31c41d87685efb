-- wrk script for bench/loadgen.py: replay pre-built requests from a file, each sent once, in order.
--
--   wrk -t1 -c8 -d30s -s bench/replay.lua http://127.0.0.1:PORT -- FILE START [PATH] [CYCLE]
--
-- FILE holds records "<method> <path> <header count> <body length>\n", then one "<name>\t<value>\n"
-- per header, then the body and "\n". START: index (0-based) of the first request to send.
-- PATH, when not "-": send every body to this path instead. CYCLE = "1": start over when the
-- requests run out quietly; otherwise they start over too, but "exhausted" says so (the run then
-- sent some requests twice, and the caller must not count it). One wrk thread (-t1): the requests
-- go out in file order. The done() hook prints one line, "REPLAY {json}", that loadgen.py reads.

local requests, count, cycling = {}, 0, false
local threads = {}
-- globals, so that done() can read them from the thread with thread:get()
nxt, exhausted, statuses = 0, 0, {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local start, path, cycle = tonumber(args[2]) or 0, args[3], args[4] == "1"
  while true do
    local head = file:read("*l")
    if not head then break end
    local method, original, headers_n, body_n = head:match("^(%S+) (%S+) (%d+) (%d+)$")
    local headers = {}
    for _ = 1, tonumber(headers_n) do
      local name, value = file:read("*l"):match("^([^\t]+)\t(.*)$")
      headers[name] = value
    end
    local body = file:read(tonumber(body_n))
    file:read(1)
    count = count + 1
    requests[count] = wrk.format(method, (path and path ~= "-") and path or original, headers, body)
  end
  file:close()
  cycling, nxt = cycle, start
end

function request()
  if nxt >= count then
    if not cycling then exhausted = 1 end
    nxt = nxt % count
  end
  nxt = nxt + 1
  return requests[nxt]
end

function response(status)
  statuses[status] = (statuses[status] or 0) + 1
end

local function json_counts(t)
  local parts = {}
  for k, v in pairs(t) do table.insert(parts, string.format('"%d":%d', k, v)) end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, _)
  local merged, last, ran_out = {}, 0, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do merged[k] = (merged[k] or 0) + v end
    last = math.max(last, t:get("nxt"))
    ran_out = ran_out + t:get("exhausted")
  end
  local e = summary.errors
  io.write(string.format(
    'REPLAY {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"statuses":%s,"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"next":%d,"exhausted":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, json_counts(merged), e.connect, e.read, e.write, e.timeout, last, ran_out))
end
