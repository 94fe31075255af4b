package deviceflow

import java.io.File
import java.math.BigInteger
import java.net.URI
import java.net.http.HttpClient
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import java.util.Base64
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.net.http.HttpRequest as JavaRequest
import java.net.http.HttpResponse as JavaResponse

/**
 * DPoP (RFC 9449) end to end against node-oidc-provider with `DPOP_NONCE=1` (every proof
 * needs a server nonce) and the client `dpop-cli` (`dpop_bound_access_tokens`): login,
 * userinfo (`/me`) with [dpopHeaders] and refused as Bearer, refresh with the same key
 * (refused with another), revocation, and a `java.security` signer that returns DER, as
 * the Android Keystore does.
 */
object E2eDpop {
    /** A JVM EC key signing with SHA256withECDSA: DER signatures (test code may use JVM APIs). */
    class DerSigner : DpopSigner {
        private val pair = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()
        var signatures = 0

        override fun publicJwk(): PublicJwk {
            val w = (pair.public as ECPublicKey).w
            val b64 = Base64.getUrlEncoder().withoutPadding()
            return PublicJwk(x = b64.encodeToString(coord(w.affineX)), y = b64.encodeToString(coord(w.affineY)))
        }

        override suspend fun sign(input: ByteArray): ByteArray = Signature.getInstance("SHA256withECDSA").run {
            initSign(pair.private)
            update(input)
            signatures++
            sign()
        }

        private fun coord(v: BigInteger): ByteArray {
            val b = v.toByteArray().dropWhile { it == 0.toByte() }.toByteArray()
            return ByteArray(32 - b.size) + b
        }
    }

    private val http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build()

    private suspend fun get(url: String, headers: Map<String, String>): JavaResponse<String> = withContext(Dispatchers.IO) {
        val b = JavaRequest.newBuilder(URI.create(url)).GET()
        headers.forEach { (k, v) -> b.header(k, v) }
        http.send(b.build(), JavaResponse.BodyHandlers.ofString())
    }

    /** GET with a proof; once more with the server's nonce when it asks for one (401 use_dpop_nonce). */
    private suspend fun getWithProof(url: String, token: String, signer: DpopSigner): JavaResponse<String> {
        val first = get(url, dpopHeaders("GET", url, token, signer))
        val nonce = first.headers().firstValue("dpop-nonce").orElse(null)
        val wants = first.statusCode() == 401 &&
            first.headers().allValues("www-authenticate").any { it.contains("use_dpop_nonce") }
        return if (wants && nonce != null) get(url, dpopHeaders("GET", url, token, signer, nonce = nonce)) else first
    }

    fun all(c: Checks, root: File) {
        val provider = try {
            E2e.Provider(root, mapOf("DEVICE_INTERVAL" to "1", "DPOP_NONCE" to "1"))
        } catch (e: Exception) {
            c.check("start node-oidc-provider (DPOP_NONCE=1)") { throw e }
            return
        }
        provider.use { p ->
            val issuer = p.issuer
            val me = "$issuer/me"
            val key = SoftwareDpopSigner()
            var tokens: TokenSet? = null
            suspend fun loginWith(signer: DpopSigner): TokenSet = coroutineScope {
                val cfg = FlowConfig(clientId = "dpop-cli", issuer = issuer, scope = "openid offline_access")
                login(cfg, dpop = signer) { prompt -> launch { E2e.approve(root, issuer, prompt.userCode, false) } }
            }

            c.check("e2e dpop login(): software key through use_dpop_nonce, token_type DPoP") {
                val t = loginWith(key)
                expect(t.tokenType().equals("DPoP", ignoreCase = true)) { "token_type ${t.tokenType()}" }
                expect(t.refreshToken() != null) { "no refresh token" }
                tokens = t
            }

            c.check("e2e dpop /me: dpopHeaders accepted (after the nonce), Bearer and a bare DPoP header refused") {
                val at = tokens!!.accessToken()
                val ok = getWithProof(me, at, key)
                expect(ok.statusCode() == 200 && ok.body().contains("\"sub\":\"alice\"")) { "${ok.statusCode()} ${ok.body()}" }
                val bearer = get(me, mapOf("Authorization" to "Bearer $at"))
                expect(bearer.statusCode() in listOf(400, 401)) { "Bearer got ${bearer.statusCode()}" }
                val bare = get(me, mapOf("Authorization" to "DPoP $at"))
                expect(bare.statusCode() in listOf(400, 401)) { "no proof got ${bare.statusCode()}" }
                val other = getWithProof(me, at, SoftwareDpopSigner())
                expect(other.statusCode() in listOf(400, 401)) { "another key got ${other.statusCode()}" }
            }

            c.check("e2e dpop refresh(): another key refused (invalid_grant), the same key accepted; revoke() with it") {
                val meta = discover(issuer)
                val cfg = RefreshConfig(clientId = "dpop-cli", tokenEndpoint = meta.tokenEndpoint!!, refreshToken = tokens!!.refreshToken()!!)
                val wrong = expectThrows<FlowException> { refresh(cfg, dpop = SoftwareDpopSigner()) }
                expect(wrong.code() == "invalid_grant") { wrong.toString() }
                val fresh = refresh(cfg, dpop = key)
                expect(fresh.tokenType().equals("DPoP", ignoreCase = true)) { fresh.tokenType() }
                expect(fresh.accessToken() != tokens!!.accessToken()) { "same access token" }
                expect(getWithProof(me, fresh.accessToken(), key).statusCode() == 200) { "refreshed token at /me" }
                val revoked = revoke(
                    RevocationConfig(clientId = "dpop-cli", revocationEndpoint = meta.revocationEndpoint!!, token = fresh.refreshToken()!!, tokenTypeHint = TokenTypeHint.REFRESH_TOKEN),
                    dpop = key,
                )
                expect(revoked.status.toInt() == 200) { "$revoked" }
                val after = expectThrows<FlowException> { refresh(cfg.copy(refreshToken = fresh.refreshToken()!!), dpop = key) }
                expect(after.code() == "invalid_grant") { after.toString() }
            }

            c.check("e2e dpop: a java.security signer returning DER (as the Android Keystore) logs in and reaches /me") {
                val der = DerSigner()
                val t = loginWith(der)
                expect(t.tokenType().equals("DPoP", ignoreCase = true)) { t.tokenType() }
                expect(der.signatures >= 3) { "signed ${der.signatures} times" }
                val ok = getWithProof(me, t.accessToken(), der)
                expect(ok.statusCode() == 200) { "${ok.statusCode()} ${ok.body()}" }
            }

            c.check("e2e dpop: dpop-cli without DPoP is refused") {
                val e = expectThrows<FlowException> {
                    coroutineScope {
                        login(FlowConfig(clientId = "dpop-cli", issuer = issuer, scope = "openid")) { prompt ->
                            launch { runCatching { E2e.approve(root, issuer, prompt.userCode, false) } }
                        }
                    }
                }
                expect(e.code() in listOf("invalid_grant", "invalid_request", "invalid_dpop_proof")) { e.toString() }
            }
        }
    }
}
