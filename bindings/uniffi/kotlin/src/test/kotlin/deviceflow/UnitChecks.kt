package deviceflow

import java.io.IOException
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.withTimeout

/** Checks without a network: errors, redaction, the panic guard, the driver and cancellation. */
object UnitChecks {
    private const val ACCESS = "at-SECRET-0123456789"
    private const val REFRESH = "rt-SECRET-abcdef"
    private const val ID_TOKEN = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.sig-SECRET"
    private const val DEVICE_CODE = "dc-SECRET-GmRhmhcxhwAzkoEq"
    private const val CLIENT_SECRET = "cs-SECRET-hunter2"
    private val SECRETS = listOf(ACCESS, REFRESH, ID_TOKEN, DEVICE_CODE, CLIENT_SECRET, "SECRET")

    private fun noSecrets(label: String, text: String) {
        for (s in SECRETS) expect(!text.contains(s)) { "$label leaks $s: $text" }
    }

    private fun json(status: Int, body: String) =
        HttpResponse(status.toUShort(), listOf(Header("content-type", "application/json")), body.toByteArray())

    /** A scripted authorization server: device endpoint, then [polls] pending answers, then tokens. */
    private fun fakeServer(polls: Int, interval: Int = 1, onToken: suspend () -> Unit = {}): HttpTransport {
        var seen = 0
        return HttpTransport { req ->
            if (req.url.endsWith("/device")) {
                json(200, """{"device_code":"$DEVICE_CODE","user_code":"WDJB-MJHT","verification_uri":"https://as.example.com/device","expires_in":600,"interval":$interval}""")
            } else {
                onToken()
                if (seen++ < polls) json(400, """{"error":"authorization_pending"}""")
                else json(200, """{"access_token":"$ACCESS","token_type":"Bearer","expires_in":3600,"refresh_token":"$REFRESH","id_token":"$ID_TOKEN"}""")
            }
        }
    }

    private val config = FlowConfig(
        clientId = "tv-app",
        clientSecret = CLIENT_SECRET,
        clientAuth = ClientAuth.CLIENT_SECRET_POST,
        deviceAuthorizationEndpoint = "https://as.example.com/device",
        tokenEndpoint = "https://as.example.com/token",
        scope = "openid offline_access",
    )

    /** Short intervals for scripted servers that send `"interval": 0` (the default then applies). */
    private val fast = config.copy(timing = Timing(defaultIntervalMs = 10uL, retryBaseMs = 1uL))

    fun all(c: Checks) {
        c.check("a Rust panic arrives as FlowException(internal) and the process survives") {
            val e = expectThrows<FlowException> { guardSelftestPanic() }
            expect(e.code() == "internal") { "code ${e.code()}" }
            expect(e.message().contains("self-test panic")) { e.message() }
            val again = expectThrows<FlowException> { guardSelftestPanic() }
            expect(again.code() == "internal") { "second call: ${again.code()}" }
        }

        c.check("bad config throws FlowException(invalid_config)") {
            val e = expectThrows<FlowException> { DeviceFlow(FlowConfig(clientId = "x"), 0uL) }
            expect(e.code() == "invalid_config") { e.code() }
            val http = expectThrows<FlowException> { DeviceFlow(FlowConfig(clientId = "x", issuer = "http://as.example.com"), 0uL) }
            expect(http.code() == "invalid_config") { http.code() }
            val secretless = expectThrows<FlowException> {
                Refresh(RefreshConfig(clientId = "x", tokenEndpoint = "https://as/t", refreshToken = "r", clientAuth = ClientAuth.CLIENT_SECRET_BASIC), 0uL)
            }
            expect(secretless.code() == "invalid_config") { secretless.code() }
        }

        c.check("misuse: unknown request id, then input after the end") {
            val flow = DeviceFlow(config, 0uL)
            val send = flow.pollAction(0uL) as Action.Send
            val e = expectThrows<FlowException> { flow.handleResponse(send.request.id + 7uL, json(200, "{}"), 1uL) }
            expect(e.code() == "unknown_request") { e.code() }
            flow.cancel(2uL)
            val failed = flow.pollAction(3uL) as Action.Failed
            expect(failed.error.code() == "cancelled") { failed.error.code() }
            val fin = expectThrows<FlowException> { flow.cancel(4uL) }
            expect(fin.code() == "finished") { fin.code() }
            expect(flow.isFinished()) { "not finished" }
        }

        c.check("redaction: configs, requests, responses, tokens and actions never print secrets") {
            noSecrets("FlowConfig", config.toString())
            expect(config.toString().contains("tv-app")) { "FlowConfig should still show the client id: $config" }
            noSecrets("RefreshConfig", RefreshConfig(clientId = "a", tokenEndpoint = "https://as/t", refreshToken = REFRESH, clientSecret = CLIENT_SECRET).toString())
            noSecrets("RevocationConfig", RevocationConfig(clientId = "a", revocationEndpoint = "https://as/r", token = ACCESS).toString())

            val post = DeviceFlow(config, 0uL)
            val send = post.pollAction(0uL) as Action.Send
            expect(String(send.request.body).contains(CLIENT_SECRET)) { "test premise: the body carries the secret" }
            noSecrets("HttpRequest", send.request.toString())
            noSecrets("Action.Send", send.toString())
            post.handleResponse(send.request.id, fakeServerResponse(), 10uL)
            expect(post.pollAction(10uL) is Action.Display) { "display" }
            val poll = post.pollAction(2000uL) as Action.Send
            expect(String(poll.request.body).contains(DEVICE_CODE)) { "test premise: the poll carries the device code" }
            noSecrets("token poll", poll.toString())

            val basic = DeviceFlow(config.copy(clientAuth = ClientAuth.CLIENT_SECRET_BASIC), 0uL)
            val req = (basic.pollAction(0uL) as Action.Send).request
            expect(req.headers.any { it.name.equals("authorization", true) }) { "test premise: basic auth header" }
            noSecrets("basic HttpRequest", req.toString().replace(Regex("Basic [A-Za-z0-9+/=]+"), "<<leak>>").also {
                expect(!it.contains("<<leak>>")) { "Authorization value printed: $req" }
            })
            req.headers.forEach { h -> expect(!h.toString().contains("Basic ")) { "Header prints credentials: $h" } }

            val tokenBody = """{"access_token":"$ACCESS","token_type":"Bearer","refresh_token":"$REFRESH","id_token":"$ID_TOKEN"}"""
            noSecrets("HttpResponse", json(200, tokenBody).toString())
            val tokens = TokenSet.fromJson(tokenBody)
            noSecrets("TokenSet", tokens.toString())
            noSecrets("Action.Done", Action.Done(tokens).toString())
            noSecrets("string template", "$tokens")
            expect(tokens.accessToken() == ACCESS && tokens.refreshToken() == REFRESH) { "accessors" }
            val restored = TokenSet.fromJson(tokens.toJson())
            expect(restored.accessToken() == ACCESS && restored.idToken() == ID_TOKEN) { "toJson/fromJson round trip" }
            expect(Json.parse(tokens.idTokenClaimsUnverifiedJson()!!) == mapOf("sub" to "alice")) { "claims" }
        }

        c.check("providerConfig fills in GitHub's endpoints; unknown provider is invalid_config") {
            val gh = providerConfig("github", "Iv1.abc")
            expect(gh.deviceAuthorizationEndpoint == "https://github.com/login/device/code") { "$gh" }
            val e = expectThrows<FlowException> { providerConfig("nope", "x") }
            expect(e.code() == "invalid_config") { e.code() }
        }

        c.check("login(): scripted server, 2 pending polls, tokens; prompt shown once") {
            val prompts = mutableListOf<Prompt>()
            val tokens = login(fast, fakeServer(polls = 2, interval = 0)) { prompts += it }
            expect(tokens.accessToken() == ACCESS) { "token" }
            expect(prompts.map { it.userCode } == listOf("WDJB-MJHT")) { "prompts $prompts" }
        }

        c.check("login(): transport exceptions back off and recover; FlowException(access_denied) is thrown") {
            var failures = 0
            val flaky = fakeServer(polls = 0, interval = 0)
            val tokens = login(fast, { req ->
                if (failures++ < 1) throw IOException("connection reset") else flaky.send(req)
            }) {}
            expect(tokens.accessToken() == ACCESS) { "token" }
            val denied = expectThrows<FlowException> {
                login(fast, { req ->
                    if (req.url.endsWith("/device")) fakeServerResponse(interval = 0) else json(400, """{"error":"access_denied"}""")
                }) {}
            }
            expect(denied.code() == "access_denied" && denied.requiresLogin()) { denied.toString() }
        }

        c.check("cancellation during a hanging request returns at once") {
            val entered = CompletableDeferred<Unit>()
            val hanging = HttpTransport { req ->
                if (req.url.endsWith("/device")) fakeServerResponse(interval = 0) else { entered.complete(Unit); awaitCancellation() }
            }
            coroutineScope {
                val job = async { login(fast, hanging) {} }
                withTimeout(5_000) { entered.await() }
                val t0 = System.nanoTime()
                job.cancel()
                expectThrows<CancellationException> { job.await() }
                val ms = (System.nanoTime() - t0) / 1_000_000
                expect(ms < 200) { "cancel took $ms ms" }
            }
        }

        c.check("cancellation during a poll wait returns at once") {
            val shown = CompletableDeferred<Unit>()
            coroutineScope {
                val job = async { login(config, fakeServer(polls = 100, interval = 5)) { shown.complete(Unit) } }
                withTimeout(5_000) { shown.await() }
                val t0 = System.nanoTime()
                job.cancel()
                expectThrows<CancellationException> { job.await() }
                val ms = (System.nanoTime() - t0) / 1_000_000
                expect(ms < 200) { "cancel took $ms ms" }
            }
        }
    }

    private fun fakeServerResponse(interval: Int = 1) =
        json(200, """{"device_code":"$DEVICE_CODE","user_code":"WDJB-MJHT","verification_uri":"https://as.example.com/device","expires_in":600,"interval":$interval}""")
}
