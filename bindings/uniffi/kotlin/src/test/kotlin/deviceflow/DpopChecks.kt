package deviceflow

import java.util.Base64

/** DPoP without a network: the core's SoftwareKey, the resource helper, the driver's Sign handling. */
object DpopChecks {
    private val KEY_1_TO_32 = ByteArray(32) { (it + 1).toByte() } // the key of tests/vectors/dpop/

    private fun claims(proof: String): String =
        String(Base64.getUrlDecoder().decode(proof.split('.')[1]), Charsets.UTF_8)

    /** A scripted server that wants a proof on every POST and answers with a DPoP token. */
    private fun dpopServer(seen: MutableList<String>) = HttpTransport { req ->
        val proof = req.headers.firstOrNull { it.name.equals("dpop", ignoreCase = true) }?.value
        seen += proof ?: "none"
        val body = if (req.url.endsWith("/device")) {
            """{"device_code":"dc","user_code":"WDJB-MJHT","verification_uri":"https://as.example.com/device","expires_in":600,"interval":1}"""
        } else {
            """{"access_token":"at","token_type":"DPoP","expires_in":3600}"""
        }
        HttpResponse(200u, listOf(Header("content-type", "application/json")), body.toByteArray())
    }

    private val config = FlowConfig(
        clientId = "tv", deviceAuthorizationEndpoint = "https://as.example.com/device",
        tokenEndpoint = "https://as.example.com/token",
    )

    fun all(c: Checks) {
        c.check("dpop SoftwareKey: the vectors' key, secret round trip, 64-byte signatures, prints only its jkt") {
            val key = SoftwareKey(KEY_1_TO_32)
            val jwk = key.publicJwk()
            expect(jwk.x == "UVw9brnjlrkE0_7Kf1T9zQzB6Ze_N13KUVrQpsO0A18" && jwk.kty == "EC" && jwk.crv == "P-256") { "$jwk" }
            val again = SoftwareKey.fromSecret(key.secret())
            expect(again.thumbprint() == key.thumbprint()) { "round trip" }
            expect(key.sign("x".toByteArray()).size == 64) { "signature size" }
            expect(!key.toString().contains(key.secret()) && key.toString().contains(key.thumbprint())) { key.toString() }
            expect(generateSoftwareKey().thumbprint() != key.thumbprint()) { "generated key" }
        }

        c.check("dpop SoftwareKey: bad bytes and bad secrets -> invalid_config") {
            for (bytes in listOf(ByteArray(32), ByteArray(5), ByteArray(32) { -1 })) {
                val e = expectThrows<FlowException> { SoftwareKey(bytes) }
                expect(e.code() == "invalid_config") { e.toString() }
            }
            expect(expectThrows<FlowException> { SoftwareKey.fromSecret("!!") }.code() == "invalid_config") { "secret" }
        }

        c.check("dpop dpopHeaders(): Authorization DPoP, proof with ath, nonce and htu without query") {
            val signer = SoftwareDpopSigner(SoftwareKey(KEY_1_TO_32))
            val h = dpopHeaders("get", "https://rs.example/me?x=1#f", "tok", signer, nonce = "n-1")
            expect(h.keys == setOf("Authorization", "DPoP") && h["Authorization"] == "DPoP tok") { "$h" }
            val cl = claims(h["DPoP"]!!)
            expect(cl.contains("\"htm\":\"GET\"") && cl.contains("\"htu\":\"https://rs.example/me\"")) { cl }
            expect(cl.contains("\"nonce\":\"n-1\"") && cl.contains("\"ath\":")) { cl }
            expect(h["DPoP"]!!.split('.').size == 3) { "not a JWS" }
            expect(!claims(dpopHeaders("GET", "https://rs.example/me", "tok", signer)["DPoP"]!!).contains("nonce")) { "nonce without one" }
        }

        c.check("dpop: a signature neither raw nor DER -> invalid_signature") {
            val e = expectThrows<FlowException> { dpopResourceHeaders("a.b", ByteArray(3), "t") }
            expect(e.code() == "invalid_signature") { e.toString() }
            val bad = object : DpopSigner {
                override fun publicJwk() = SoftwareKey(KEY_1_TO_32).publicJwk()
                override suspend fun sign(input: ByteArray) = ByteArray(10)
            }
            val m = expectThrows<FlowException> { login(config, dpopServer(mutableListOf()), dpop = bad) {} }
            expect(m.code() == "invalid_signature") { m.toString() }
        }

        c.check("dpop driver: every POST carries a proof, DPoP token accepted; a config's dpop needs a signer") {
            val seen = mutableListOf<String>()
            val t = login(config, dpopServer(seen), dpop = SoftwareDpopSigner()) {}
            expect(t.tokenType() == "DPoP" && seen.size == 2 && seen.none { it == "none" }) { "$seen" }
            val off = mutableListOf<String>()
            val s = SoftwareDpopSigner()
            login(config.copy(dpop = dpopConfig(s, deviceRequest = false)), dpopServer(off), dpop = s) {}
            expect(off[0] == "none" && off[1] != "none") { "deviceRequest = false: $off" }
            expectThrows<IllegalArgumentException> {
                login(config.copy(dpop = dpopConfig(SoftwareDpopSigner())), dpopServer(mutableListOf())) {}
            }
            // Without DPoP, a DPoP token is refused as before.
            val e = expectThrows<FlowException> { login(config, dpopServer(mutableListOf())) {} }
            expect(e.code() == "invalid_response") { e.toString() }
        }

        c.check("dpop: DpopConfig prints the thumbprint, not the entropy") {
            val d = dpopConfig(SoftwareDpopSigner())
            expect(!d.toString().contains(d.entropy) && d.toString().contains("jkt")) { d.toString() }
        }
    }
}
