-- wrk script for bench/run.sh.
--
--   wrk ... -s bench/wrk.lua URL -- MANIFEST [HEADER ...]
--
-- MANIFEST is "-" for plain GETs of the URL, or a file of pre-signed requests, one per line:
--   METHOD<TAB>PATH<TAB>SIGNATURE<TAB>BODY_FILE
-- (wrk's LuaJIT has no HMAC, so run.sh signs every body beforehand with `crm-webhooks sign`).
-- Each thread cycles through the requests, starting at its own offset. Extra arguments are
-- request headers ("Name: value") added to every request.
--
-- wrk runs each thread's init() in its main thread, one thread after the other, starts each
-- thread as soon as its own init() is done, and starts its clock after the last one. Reading a
-- large manifest takes seconds per thread (about 4.5 s for 100,000 bodies), so the first thread
-- would load the server alone for that long, and those requests would be counted in a run that
-- did not time them. With WRK_READY set (a path that does not exist yet; bench/lib.sh's
-- run_wrk sets it) and WRK_THREADS the number of threads, the last thread's init() creates that
-- file and no thread sends its first request before it exists.
--
-- Every response is classified in response(); done() sums the per-thread counters (setup(thread)
-- + thread:get, as in wrk's scripting docs) and prints one machine-readable line:
--   BENCH_RESULT requests=.. duration_us=.. rps=.. p50_us=.. p90_us=.. p99_us=.. max_us=..
--                ok=.. non2xx=.. statuses=CODE:N,.. err_connect=.. err_read=.. err_write=..
--                err_timeout=..
-- plus "BENCH_SAMPLE <status> <body prefix>" for the first non-2xx answer seen, if any.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

local function split(line, sep)
  local out = {}
  local start = 1
  while true do
    local i = string.find(line, sep, start, true)
    if not i then
      table.insert(out, string.sub(line, start))
      return out
    end
    table.insert(out, string.sub(line, start, i - 1))
    start = i + #sep
  end
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

function init(args)
  ok = 0
  non2xx = 0
  first_bad = ""
  requests_built = {}
  local extra = {}
  for i = 2, #args do
    local name, value = string.match(args[i], "^([^:]+):%s*(.*)$")
    if name then extra[name] = value end
  end
  local manifest = args[1] or "-"
  if manifest == "-" then
    local headers = {}
    for k, v in pairs(extra) do headers[k] = v end
    table.insert(requests_built, wrk.format("GET", nil, headers, nil))
  else
    for line in io.lines(manifest) do
      if line ~= "" then
        local f = split(line, "\t")
        local headers = { ["Content-Type"] = "application/json", ["X-Webhook-Signature"] = f[3] }
        for k, v in pairs(extra) do headers[k] = v end
        table.insert(requests_built, wrk.format(f[1], f[2], headers, read_file(f[4])))
      end
    end
  end
  assert(#requests_built > 0, "no requests in " .. manifest)
  ready_file = os.getenv("WRK_READY")
  checked = (id or 1) ~= 1
  if ready_file and (id or 1) == tonumber(os.getenv("WRK_THREADS") or "1") then
    assert(io.open(ready_file, "w")):close()
  end
  -- Threads start at different offsets so they do not send the same sequence in lockstep.
  cursor = ((id or 1) - 1) * math.floor(#requests_built / 2 + 1)
end

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

function request()
  if checked and ready_file then
    -- Only until every thread is ready: this blocks the thread's event loop, as intended.
    while not exists(ready_file) do os.execute("sleep 0.01") end
    ready_file = nil
  end
  -- wrk calls the first thread's request() once in its main thread, to check the request,
  -- before the other threads' init(): that call must not wait.
  checked = true
  cursor = cursor + 1
  return requests_built[(cursor % #requests_built) + 1]
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    non2xx = non2xx + 1
    local key = "status_" .. status
    _G[key] = (_G[key] or 0) + 1
    if first_bad == "" then
      first_bad = status .. " " .. string.gsub(string.sub(body or "", 1, 300), "[\r\n]", " ")
    end
  end
end

function done(summary, latency, requests)
  local total_ok, total_bad, sample = 0, 0, ""
  local statuses = {}
  for _, thread in ipairs(threads) do
    total_ok = total_ok + (thread:get("ok") or 0)
    total_bad = total_bad + (thread:get("non2xx") or 0)
    local bad = thread:get("first_bad")
    if sample == "" and bad and bad ~= "" then sample = bad end
    for code = 100, 599 do
      local n = thread:get("status_" .. code)
      if n then statuses[code] = (statuses[code] or 0) + n end
    end
  end
  local parts = {}
  for code = 100, 599 do
    if statuses[code] then table.insert(parts, code .. ":" .. statuses[code]) end
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d ok=%d non2xx=%d statuses=%s err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    total_ok, total_bad, (#parts > 0 and table.concat(parts, ",") or "-"),
    e.connect, e.read, e.write, e.timeout))
  if sample ~= "" then io.write("BENCH_SAMPLE " .. sample .. "\n") end
end
