#!/usr/bin/env python3
"""Writes the committed seed corpora, fuzz/corpus/<target>/ (a few dozen inputs each, the
same on every run): a few hand-made response bodies and an even spread of those in
tests/vectors/*.json, prefixed with the two bytes `response_from_bytes` reads (status index
0 = 200 or 5 = 400, content type 0 = JSON); text samples for display_text; fixed
pseudo-random bytes for the structure-aware server_script. tests/replay.rs replays them on
stable; bench/fuzz/run.sh starts its campaigns from them (writing to a scratch corpus)."""
import glob, hashlib, json, os, pathlib, shutil

here = pathlib.Path(__file__).resolve().parent
bodies = [
    b'{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device","verification_uri_complete":"https://example.com/device?c=WDJB-MJHT","expires_in":1800,"interval":5,"message":"Enter the code"}',
    b'{"device_code":"4/4-GMMhmHCXhWEzkobqIHGG_EnNYYsAkukHspeYUk9E8","user_code":"GQVQ-JKEC","verification_url":"https://www.google.com/device","expires_in":"1800","interval":"5"}',
    b'device_code=3584d83530557fdd1f46af8289938c8ef79f9dc5&expires_in=900&interval=5&user_code=WDJB-MJHT&verification_uri=https%3A%2F%2Fgithub.com%2Flogin%2Fdevice',
    b'{"error":"authorization_pending"}',
    b'{"error":"slow_down","interval":10,"error_description":"Too fast"}',
    b'{"error":"access_denied","error_description":"denied","error_uri":"https://example.com/e"}',
    b'{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer","expires_in":3600,"refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA","scope":"openid","id_token":"a.eyJzdWIiOiJ4In0.c"}',
    b'access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=repo&token_type=bearer',
    b'{"issuer":"https://as.example.com/tenant","device_authorization_endpoint":"https://as.example.com/device","token_endpoint":"https://as.example.com/token","revocation_endpoint":"https://as.example.com/revoke","grant_types_supported":["urn:ietf:params:oauth:grant-type:device_code"],"scopes_supported":["openid"]}',
]
HAND_MADE = len(bodies)
uris = []
for path in sorted(glob.glob(str(here.parent / "tests/vectors/*.json"))):
    for step in json.load(open(path)).get("steps", []):
        r = step.get("respond")
        if not r:
            continue
        if "json" in r:
            bodies.append(json.dumps(r["json"]).encode())
            if isinstance(r["json"], dict) and isinstance(r["json"].get("verification_uri"), str):
                uris.append(r["json"]["verification_uri"].encode())
        elif "text" in r:
            bodies.append(r["text"].encode())

from_vectors = list(dict.fromkeys(bodies[HAND_MADE:]))
step = max(1, len(from_vectors) // 24)
bodies = list(dict.fromkeys(bodies[:HAND_MADE] + from_vectors[::step][:24]))
texts = list(dict.fromkeys(uris))[:10] + [b"https://example.com/device", b"http://127.0.0.1:8080/x", b"http://[::1]/",
         b"Enter \x1b[31mWDJB\x1b[0m at https://example.com\n", "https://ex\u202eample.com/".encode(),
         "caf\u00e9 \u200b\u00ad".encode()]
shutil.rmtree(here / "corpus", ignore_errors=True)
targets = {"device_response": 0, "token_response": 0, "discovery": 0, "refresh_revocation": 1}
for target, lead in targets.items():
    out = here / "corpus" / target
    out.mkdir(parents=True, exist_ok=True)
    for i, body in enumerate(bodies):
        for status in (0, 5):
            (out / f"seed-{i}-{status}").write_bytes(bytes([0] * lead + [status, 0]) + body)
out = here / "corpus" / "json_reader"
out.mkdir(parents=True, exist_ok=True)
for i, body in enumerate(bodies):
    (out / f"seed-{i}").write_bytes(body)
out = here / "corpus" / "display_text"
out.mkdir(parents=True, exist_ok=True)
for i, t in enumerate(texts):
    (out / f"seed-{i}").write_bytes(t)
out = here / "corpus" / "server_script"
out.mkdir(parents=True, exist_ok=True)
for i in range(24):
    # arbitrary's decoding turns any bytes into a script; lengths 32..1504 give short and long ones.
    stream, block = b"", hashlib.sha256(b"server_script-%d" % i).digest()
    while len(stream) < 32 + 64 * i:
        stream += block
        block = hashlib.sha256(block).digest()
    (out / f"seed-{i}").write_bytes(stream[:32 + 64 * i])
