-- wrk script: every request is the order-tax POST with a small JSON body.
wrk.method = "POST"
wrk.body = '{"id":42,"value":100}'
wrk.headers["Content-Type"] = "application/json"
