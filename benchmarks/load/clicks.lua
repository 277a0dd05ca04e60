-- wrk: the redirect, GET PATH (a tracking link) with a browser user agent and a sub-id.
-- PATH comes from the environment (the harness makes a fresh link per run; for nginx any path).
dofile(os.getenv("HARNESS_DIR") .. "/report.lua")
local path = os.getenv("PATH_PREFIX") .. "?sub1=harness&sub2=wrk"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
function request() return wrk.format("GET", path) end
