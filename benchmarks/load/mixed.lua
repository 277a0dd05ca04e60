-- wrk: the mixed workload, clicks with 2% conversions: 49 redirects, then one postback with a unique
-- txid against a pre-made click (CLICKS), and so on. PATH_PREFIX, CLICKS, TOKEN, RUN from the environment.
dofile(os.getenv("HARNESS_DIR") .. "/report.lua")
local clicks = {}
for id in string.gmatch(os.getenv("CLICKS") or "", "[^,]+") do table.insert(clicks, id) end
local token, run = os.getenv("TOKEN"), os.getenv("RUN")
local path = os.getenv("PATH_PREFIX") .. "?sub1=harness-mixed"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
local counter, n = 0, 0
function setup(thread) thread:set("tid", n); n = n + 1 end
function request()
  counter = counter + 1
  if counter % 50 == 0 then
    return wrk.format("GET", "/postback?click_id=" .. clicks[(counter % #clicks) + 1] .. "&txid=" .. run .. "-" .. tid .. "-" .. counter .. "&amount=120.00&token=" .. token)
  end
  return wrk.format("GET", path)
end
