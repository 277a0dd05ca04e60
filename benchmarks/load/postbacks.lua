-- wrk: server-to-server postbacks spread over pre-made clicks, each with a unique txid, except that
-- every 10th request repeats an earlier txid (the advertiser's retry), which must answer "duplicate".
-- CLICKS (comma-separated click ids), TOKEN and RUN (a run id, so txids are unique across runs) come from the environment.
dofile(os.getenv("HARNESS_DIR") .. "/report.lua")
local clicks = {}
for id in string.gmatch(os.getenv("CLICKS") or "", "[^,]+") do table.insert(clicks, id) end
local token, run = os.getenv("TOKEN"), os.getenv("RUN")
local counter, n = 0, 0
function setup(thread) thread:set("tid", n); n = n + 1 end
function request()
  counter = counter + 1
  local k = counter
  if counter % 10 == 0 and counter > 20 then k = counter - 15 end
  local click = clicks[(k % #clicks) + 1]
  return wrk.format("GET", "/postback?click_id=" .. click .. "&txid=" .. run .. "-" .. tid .. "-" .. k .. "&amount=120.00&token=" .. token)
end
