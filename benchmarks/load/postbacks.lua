-- wrk script: server-to-server postbacks with a unique txid each, spread over pre-made clicks.
-- CLICKS (comma-separated click ids) and TOKEN come from the environment (see postbacks.sh).
local clicks = {}
for id in string.gmatch(os.getenv("CLICKS") or "", "[^,]+") do table.insert(clicks, id) end
local token = os.getenv("TOKEN")
local counter = 0
local thread_id = 0

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end

function request()
  counter = counter + 1
  local click = clicks[(counter % #clicks) + 1]
  return wrk.format("GET", "/postback?click_id=" .. click .. "&txid=load-" .. os.time() .. "-" .. tid .. "-" .. counter ..
    "&amount=120.00&token=" .. token)
end
