-- wrk script for benchmarks/service_latency.py: signed Telegram updates with fresh update_ids, each
-- connection paced to its share of the target rate. Arguments: pace in ms, then the secret token.
local counter = 0
local thread_id = 0
function setup(thread) thread:set("id", thread_id); thread_id = thread_id + 1 end
function init(args) pace_ms = tonumber(args[1]); secret = args[2]; base = 70000000 + id * 10000000 end
function delay() return pace_ms end
function request()
  counter = counter + 1
  local n = base + counter
  local body = string.format('{"update_id": %d, "message": {"message_id": %d, "date": %d, '
    .. '"text": "How long does delivery take?", "from": {"id": %d, "is_bot": false, "first_name": "Bench"}, '
    .. '"chat": {"id": %d, "type": "private"}}}', n, n, os.time(), n, n)
  return wrk.format("POST", "/webhooks/telegram",
    {["Content-Type"] = "application/json", ["X-Telegram-Bot-Api-Secret-Token"] = secret}, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %d %d %.3f %.3f %.3f %.3f %.3f\n", summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.duration / 1e6))
end
