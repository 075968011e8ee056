-- POST /api/v1/auth/register with a new email on every request: BENCH_RUN_ID, the wrk thread
-- and a per-thread counter make it unique across threads, cells and runs on one database.
local run = os.getenv("BENCH_RUN_ID") or tostring(os.time())
local password = os.getenv("BENCH_PASSWORD")
local threads = 0
local counter = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function request()
  counter = counter + 1
  local body = string.format('{"email":"reg-%s-%d-%d@example.com","password":"%s"}',
    run, thread_number, counter, password)
  return wrk.format("POST", "/api/v1/auth/register", {["Content-Type"] = "application/json"}, body)
end
