-- POST token polls (device_code grant), cycling through the pending device codes in $CODES.
local codes = {}
for line in io.lines(os.getenv("CODES")) do codes[#codes + 1] = line end
local client_id = os.getenv("CLIENT_ID")
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
request = function()
  i = i % #codes + 1
  return wrk.format(nil, nil, nil,
    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id="
      .. client_id .. "&device_code=" .. codes[i])
end
