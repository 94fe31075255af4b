package deviceflow

import java.io.File
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout

/**
 * End to end against the real node-oidc-provider (`tests/e2e/provider.mjs`) with the
 * default transport (`java.net.http` on the JVM); the user approves or denies through the
 * provider's own pages (`tests/e2e/approve.mjs`).
 */
object E2e {
    internal class Provider(root: File, env: Map<String, String>) : AutoCloseable {
        private val process: Process
        val issuer: String

        init {
            val log = File(root, "bindings/uniffi/build/provider-kotlin.log")
            process = ProcessBuilder("node", "tests/e2e/provider.mjs")
                .directory(root)
                .redirectError(ProcessBuilder.Redirect.appendTo(log))
                .also { it.environment().putAll(mapOf("PORT" to "0", "MAX_LIFETIME" to "240") + env) }
                .start()
            val line = process.inputStream.bufferedReader().readLine()
                ?: error("provider.mjs exited before printing its issuer (see $log)")
            issuer = Regex("\"issuer\":\"([^\"]+)\"").find(line)!!.groupValues[1]
        }

        override fun close() {
            process.outputStream.close() // provider.mjs exits on stdin EOF
            if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly()
        }
    }

    internal suspend fun approve(root: File, issuer: String, userCode: String, deny: Boolean) = withContext(Dispatchers.IO) {
        val cmd = listOf("node", "tests/e2e/approve.mjs", "--issuer", issuer, "--user-code", userCode) +
            (if (deny) listOf("--deny") else emptyList())
        val p = ProcessBuilder(cmd).directory(root).redirectErrorStream(true).start()
        val out = p.inputStream.bufferedReader().readText()
        check(p.waitFor() == 0 && out.contains("\"ok\":true")) { "approve.mjs failed: $out" }
    }

    /** Logs in, approving (or denying) from a second coroutine as a person would on their phone. */
    private suspend fun loginAs(root: File, config: FlowConfig, issuer: String, deny: Boolean = false): TokenSet = coroutineScope {
        login(config) { prompt -> launch { approve(root, issuer, prompt.userCode, deny) } }
    }

    /** node-oidc-provider with a 1 s interval, or null once the failure to start is recorded. */
    private fun startProvider(c: Checks, root: File): Provider? {
        File(root, "bindings/uniffi/build").mkdirs()
        return try {
            Provider(root, mapOf("DEVICE_INTERVAL" to "1"))
        } catch (e: Exception) {
            c.check("start node-oidc-provider") { throw e }
            null
        }
    }

    fun all(c: Checks, root: File) {
        val provider = startProvider(c, root) ?: return
        provider.use { p ->
            val issuer = p.issuer
            var tokens: TokenSet? = null

            c.check("e2e discover(): metadata of the real provider") {
                val meta = discover(issuer)
                expect(meta.issuer == issuer) { meta.issuer }
                expect(meta.deviceAuthorizationEndpoint == "$issuer/device/auth") { "$meta" }
                expect(meta.revocationEndpoint != null) { "no revocation endpoint" }
            }

            c.check("e2e login(): public client via discovery, user approves, tokens never print") {
                val t = loginAs(root, FlowConfig(clientId = "public-cli", issuer = issuer, scope = "openid offline_access"), issuer)
                expect(t.accessToken().isNotEmpty() && t.tokenType().equals("bearer", ignoreCase = true)) { "$t" }
                expect(t.refreshToken() != null) { "no refresh token with offline_access" }
                expect(!t.toString().contains(t.accessToken()) && !t.toString().contains(t.refreshToken()!!)) { "leak: $t" }
                val claims = Json.parse(t.idTokenClaimsUnverifiedJson()!!) as Map<*, *>
                expect(claims["sub"] == "alice") { "claims $claims" }
                expect(!t.needsRefresh(System.currentTimeMillis().toULong(), 0uL)) { "fresh token needs refresh?" }
                tokens = t
            }

            c.check("e2e refresh(): rotation gives a new refresh token; the old one is then refused") {
                val old = tokens!!
                val meta = discover(issuer)
                val cfg = RefreshConfig(clientId = "public-cli", tokenEndpoint = meta.tokenEndpoint!!, refreshToken = old.refreshToken()!!)
                val fresh = refresh(cfg)
                expect(fresh.accessToken() != old.accessToken()) { "same access token" }
                expect(fresh.refreshToken() != null && fresh.refreshToken() != old.refreshToken()) { "no rotation" }
                val reuse = expectThrows<FlowException> { refresh(cfg) }
                expect(reuse.code() == "invalid_grant" && reuse.requiresLogin()) { reuse.toString() }
                tokens = fresh
            }

            c.check("e2e revoke(): the refresh token is revoked, then refused") {
                val meta = discover(issuer)
                val rt = tokens!!.refreshToken()!!
                val revoked = revoke(RevocationConfig(clientId = "public-cli", revocationEndpoint = meta.revocationEndpoint!!, token = rt, tokenTypeHint = TokenTypeHint.REFRESH_TOKEN))
                expect(revoked.status.toInt() == 200) { "$revoked" }
                val e = expectThrows<FlowException> { refresh(RefreshConfig(clientId = "public-cli", tokenEndpoint = meta.tokenEndpoint!!, refreshToken = rt)) }
                expect(e.code() == "invalid_grant") { e.toString() }
            }

            c.check("e2e login(): the user denies -> FlowException(access_denied)") {
                val e = expectThrows<FlowException> { loginAs(root, FlowConfig(clientId = "public-cli", issuer = issuer, scope = "openid"), issuer, deny = true) }
                expect(e.code() == "access_denied") { e.toString() }
            }

            c.check("e2e login(): client_secret_basic and client_secret_post clients") {
                val basic = loginAs(root, FlowConfig(clientId = "basic-cli", clientSecret = "basic-secret", issuer = issuer, scope = "openid"), issuer)
                expect(basic.accessToken().isNotEmpty()) { "basic" }
                val post = loginAs(root, FlowConfig(clientId = "post-cli", clientSecret = "post-secret", clientAuth = ClientAuth.CLIENT_SECRET_POST, issuer = issuer, scope = "openid"), issuer)
                expect(post.accessToken().isNotEmpty()) { "post" }
            }

            c.check("e2e login(): a wrong client secret -> FlowException(invalid_client)") {
                val e = expectThrows<FlowException> { login(FlowConfig(clientId = "basic-cli", clientSecret = "wrong", issuer = issuer)) {} }
                expect(e.code() == "invalid_client") { e.toString() }
            }

            c.check("e2e login(): cancelling the coroutine while polling stops at once") {
                val shown = CompletableDeferred<Prompt>()
                coroutineScope {
                    val job = async { login(FlowConfig(clientId = "public-cli", issuer = issuer)) { shown.complete(it) } }
                    withTimeout(10_000) { shown.await() }
                    val t0 = System.nanoTime()
                    job.cancel()
                    expectThrows<CancellationException> { job.await() }
                    val ms = (System.nanoTime() - t0) / 1_000_000
                    expect(ms < 500) { "cancel took $ms ms" }
                }
            }
        }
    }

    /**
     * Run (`--android-e2e`) against the classes of the Android source set (generated + src/main +
     * src/android, compiled by tests/suites/kotlin.sh), where the default transport is
     * [UrlConnectionTransport]: a real login and refresh through it, on the JDK's
     * `HttpURLConnection`. Only these: the hostile cases and the wrong-secret check are not run
     * here, because the JDK's `HttpURLConnection` differs from Android's (OkHttp) exactly there:
     * it drops a 4xx body of a streamed POST (invalid_client reads as invalid_response), accepts
     * a truncated head, and drains a trickled body after `disconnect()`. Those results would
     * describe the JDK, not Android, which is why the JVM's default is JavaHttpTransport.
     */
    fun android(c: Checks, root: File) {
        c.check("android source set: the default transport is UrlConnectionTransport") {
            val default = Class.forName("deviceflow.PlatformTransportKt").getDeclaredMethod("platformTransport").invoke(null)
            expect(default is UrlConnectionTransport) { "platformTransport() is ${default?.javaClass}" }
        }
        val provider = startProvider(c, root) ?: return
        provider.use { p ->
            var tokens: TokenSet? = null
            c.check("android source set e2e login(): default transport, discovery, user approves") {
                val t = loginAs(root, FlowConfig(clientId = "public-cli", issuer = p.issuer, scope = "openid offline_access"), p.issuer)
                expect(t.accessToken().isNotEmpty() && t.refreshToken() != null) { "$t" }
                tokens = t
            }
            c.check("android source set e2e refresh(): default transport, rotation") {
                val old = tokens!!
                val cfg = RefreshConfig(clientId = "public-cli", tokenEndpoint = discover(p.issuer).tokenEndpoint!!, refreshToken = old.refreshToken()!!)
                val fresh = refresh(cfg)
                expect(fresh.accessToken() != old.accessToken()) { "same access token" }
                expect(fresh.refreshToken() != null && fresh.refreshToken() != old.refreshToken()) { "no rotation" }
            }
        }
    }
}
