-- POST /api/v1/auth/token, password grant for BENCH_EMAIL / BENCH_PASSWORD (one account).
local function encode(value)
  return (value:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=password&username=" .. encode(os.getenv("BENCH_EMAIL"))
  .. "&password=" .. encode(os.getenv("BENCH_PASSWORD"))
