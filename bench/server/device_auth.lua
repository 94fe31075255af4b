-- POST a device authorization request; CLIENT_ID from the environment.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "client_id=" .. os.getenv("CLIENT_ID") .. "&scope=openid"
