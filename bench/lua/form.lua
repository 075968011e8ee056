-- POST the form in BENCH_FORM (already form-encoded); headers such as Basic come from -H.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = os.getenv("BENCH_FORM")
