package deviceflow

import java.security.SecureRandom

/**
 * A DPoP key (RFC 9449): its public half and ES256 signatures. Pass one as `dpop =` to
 * [login], [refresh] and [revoke], and to [dpopHeaders] for resource requests.
 *
 * [sign] returns the ES256 signature of `input` as raw `r||s` (64 bytes) or DER
 * (`SEQUENCE { INTEGER r, INTEGER s }`, what `java.security.Signature("SHA256withECDSA")`
 * and the Android Keystore return); the core converts DER. It may suspend, e.g. while a
 * biometric prompt unlocks a Keystore key; a blocking implementation is fine too.
 * [SoftwareDpopSigner] is the core's own in-memory key; see the README for the Android Keystore.
 */
interface DpopSigner {
    /** The EC P-256 public key (`x`, `y` base64url); the same on every call. */
    fun publicJwk(): PublicJwk

    /** ES256 over [input] (the proof's signing input), raw `r||s` or DER. */
    suspend fun sign(input: ByteArray): ByteArray
}

/**
 * The core's [SoftwareKey] as a [DpopSigner]: no keystore needed. Store `key.secret()` next
 * to the tokens it binds (a DPoP-bound refresh token is useless without the key) and load it
 * again with `SoftwareKey.fromSecret(..)`.
 */
class SoftwareDpopSigner(val key: SoftwareKey = generateSoftwareKey()) : DpopSigner {
    override fun publicJwk(): PublicJwk = key.publicJwk()
    override suspend fun sign(input: ByteArray): ByteArray = key.sign(input)
    override fun toString(): String = "SoftwareDpopSigner($key)"
}

/** A new [SoftwareKey] from 32 bytes of [random] (the core has no RNG of its own). */
fun generateSoftwareKey(random: SecureRandom = SecureRandom()): SoftwareKey {
    while (true) {
        val bytes = ByteArray(32).also(random::nextBytes)
        try {
            return SoftwareKey(bytes)
        } catch (e: FlowException) {
            // 0 or >= n: about 2^-128 likely; draw again
        } finally {
            bytes.fill(0)
        }
    }
}

/**
 * The [DpopConfig] for one operation: [signer]'s public key, 16 fresh random bytes for the
 * proofs' `jti`, and nonces already known per origin (e.g. `dpopNonces()` of a machine).
 */
fun dpopConfig(
    signer: DpopSigner,
    nonces: Map<String, String> = emptyMap(),
    deviceRequest: Boolean = true,
    random: SecureRandom = SecureRandom(),
): DpopConfig = DpopConfig(
    jwk = signer.publicJwk(),
    entropy = base64Url(ByteArray(16).also(random::nextBytes)),
    deviceRequest = deviceRequest,
    nonces = nonces,
)

/**
 * `Authorization: DPoP <token>` and `DPoP: <proof>` for one request to a resource server
 * (keys `"Authorization"` and `"DPoP"`), the proof carrying `ath` and `htu` = [url] without
 * query and fragment. When the server answers 401 with `WWW-Authenticate: DPoP
 * error="use_dpop_nonce"`, call again with [nonce] = its `DPoP-Nonce` header.
 * Throws [FlowException] `invalid_signature` when [signer] returns neither raw nor DER ES256.
 */
suspend fun dpopHeaders(
    method: String,
    url: String,
    accessToken: String,
    signer: DpopSigner,
    nonce: String? = null,
    clock: () -> ULong = { System.currentTimeMillis().toULong() },
): Map<String, String> = Dpop(dpopConfig(signer, deviceRequest = false)).use { dpop ->
    if (nonce != null) {
        // The core files the nonce under the URL's origin, as it would from a response.
        dpop.handleResponse(url, HttpResponse(200u, listOf(Header("DPoP-Nonce", nonce)), ByteArray(0)))
    }
    val input = dpop.resourceInput(method.uppercase(), url, accessToken, clock())
    val signature = signer.sign(input.encodeToByteArray())
    dpopResourceHeaders(input, signature, accessToken).associate { h ->
        (if (h.name == "dpop") "DPoP" else if (h.name == "authorization") "Authorization" else h.name) to h.value
    }
}

/** base64url without padding (RFC 4648 §5); here so that no Android API level matters. */
internal fun base64Url(bytes: ByteArray): String {
    val a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    val out = StringBuilder((bytes.size * 4 + 2) / 3)
    var i = 0
    while (i < bytes.size) {
        val n = minOf(3, bytes.size - i)
        var v = 0
        for (k in 0 until 3) v = (v shl 8) or (if (k < n) bytes[i + k].toInt() and 0xff else 0)
        for (k in 0..n) out.append(a[(v shr (18 - 6 * k)) and 63])
        i += 3
    }
    return out.toString()
}
