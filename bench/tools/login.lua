-- bench/tools/login.lua - wrk script for B7's login flood: POST the JSON body given in the
-- environment variable BENCH_LOGIN_BODY ({"username": ..., "password": ...}).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_LOGIN_BODY")
