package deviceflow

import java.io.File
import java.util.Base64

/**
 * Replays every JSON file in `tests/vectors/` through the generated Kotlin API, mirroring
 * `core/tests/vectors.rs` (format: `tests/vectors/README.md`). The configs are
 * built as records and the actions read back field by field, so the test covers
 * the binding's mapping, not just the core.
 */
object Vectors {
    fun files(dir: File): List<File> =
        dir.listFiles { f -> f.isFile && f.name.endsWith(".json") }!!.sortedBy { it.name }

    /** Returns null on success, else what went wrong. */
    fun run(vector: Map<String, Any?>): String? {
        val start = (vector["start"] as JsonNumber?)?.let { u64(it) } ?: 0uL
        val kind = vector["operation"] as String? ?: "device_flow"
        val config = vector["config"] as Map<String, Any?>
        val op = try {
            Op.create(kind, config, start)
        } catch (e: FlowException) {
            // The core's refusal with its code, as the Python and JS runners check; a harness
            // failure (a config the records cannot hold) is never the expected error.
            val expected = vector["config_error"] == true && e.code() == "invalid_config"
            return if (expected) null else "constructor threw $e (code ${e.code()})"
        } catch (e: Exception) {
            return "constructor threw $e"
        }
        if (vector["config_error"] == true) return "expected a configuration error"
        var lastId: ULong? = null
        var lastSign: ULong? = null
        (vector["steps"] as List<*>).forEachIndexed { i, s ->
            val step = s as Map<String, Any?>
            val problem: String? = when {
                "poll" in step -> {
                    val action = op.poll(u64(step["poll"]))
                    if (action["type"] == "send") lastId = u64(action["id"])
                    if (action["type"] == "sign") lastSign = u64(action["id"])
                    subset(step["expect"], action, "action")?.let { "$it\n  actual: ${Json.write(action)}" }
                }
                "respond" in step -> {
                    val r = step["respond"] as Map<String, Any?>
                    val id = (r["id"]?.let { u64(it) } ?: lastId) ?: return "step $i: no request to answer"
                    misuse(step) { op.respond(id, response(r), u64(r["now"])) }
                }
                "transport_error" in step -> {
                    val t = step["transport_error"] as Map<String, Any?>
                    val id = (t["id"]?.let { u64(it) } ?: lastId) ?: return "step $i: no request"
                    val kind = TransportError.valueOf((t["kind"] as String).uppercase())
                    misuse(step) { op.transportError(id, kind, u64(t["now"])) }
                }
                "cancel" in step -> misuse(step) { op.cancel(u64(step["cancel"])) }
                "sign" in step -> {
                    val g = step["sign"] as Map<String, Any?>
                    val id = (g["id"]?.let { u64(it) } ?: lastSign) ?: return "step $i: nothing to sign"
                    val sig = hex((g["raw_hex"] ?: g["der_hex"]) as String)
                    misuse(step) { op.sign(id, sig, u64(g["now"])) }
                }
                else -> "unknown step ${Json.write(step)}"
            }
            if (problem != null) return "step $i: $problem"
        }
        return null
    }

    private fun misuse(step: Map<String, Any?>, call: () -> Unit): String? {
        val want = step["misuse"] as String?
        val got = try { call(); null } catch (e: FlowException) { e.code() }
        return if (want == got) null else "misuse: expected $want, got $got"
    }

    /** The four machines behind one shape; actions come back as serde-shaped maps. */
    private class Op(
        val poll: (ULong) -> Map<String, Any?>,
        val respond: (ULong, HttpResponse, ULong) -> Unit,
        val sign: (ULong, ByteArray, ULong) -> Unit,
        val transportError: (ULong, TransportError, ULong) -> Unit,
        val cancel: (ULong) -> Unit,
    ) {
        companion object {
            fun create(kind: String, c: Map<String, Any?>, now: ULong): Op = when (kind) {
                "device_flow" -> DeviceFlow(flowConfig(c), now).let { m ->
                    Op({ actionMap(m.pollAction(it)) }, m::handleResponse, m::handleSignature, m::handleTransportError, m::cancel)
                }
                "discovery" -> Discovery(c["issuer"] as String, now, timing(c["timing"])).let { m ->
                    Op({ actionMap(m.pollAction(it)) }, m::handleResponse, { _, _, _ -> error("discovery never signs") }, m::handleTransportError, m::cancel)
                }
                "refresh" -> Refresh(refreshConfig(c), now).let { m ->
                    Op({ actionMap(m.pollAction(it)) }, m::handleResponse, m::handleSignature, m::handleTransportError, m::cancel)
                }
                "revocation" -> Revocation(revocationConfig(c), now).let { m ->
                    Op({ actionMap(m.pollAction(it)) }, m::handleResponse, m::handleSignature, m::handleTransportError, m::cancel)
                }
                else -> error("unknown operation $kind")
            }
        }
    }

    // ---- JSON config -> records (the serde shape of the core's config types)

    private fun u64(v: Any?): ULong {
        val t = (v as JsonNumber).text
        require(Regex("\\d+").matches(t)) { "not an unsigned integer: $t" }
        return t.toULong()
    }

    private fun clientAuth(v: Any?): ClientAuth? = when (v) {
        null -> null
        "none" -> ClientAuth.PUBLIC
        "client_secret_basic" -> ClientAuth.CLIENT_SECRET_BASIC
        "client_secret_post" -> ClientAuth.CLIENT_SECRET_POST
        else -> error("unknown client_auth $v")
    }

    fun timing(v: Any?): Timing? {
        val t = v as Map<String, Any?>? ?: return null
        fun n(k: String) = t[k]?.let { u64(it) }
        return Timing(
            defaultIntervalMs = n("default_interval_ms"), marginMs = n("margin_ms"),
            maxBackoffMs = n("max_backoff_ms"), maxTransientFailures = n("max_transient_failures")?.toUInt(),
            retryBaseMs = n("retry_base_ms"), requestRetries = n("request_retries")?.toUInt(),
            requestBudgetMs = n("request_budget_ms"),
            maxIntervalS = n("max_interval_s"), maxExpiresInS = n("max_expires_in_s"),
            maxRetryAfterS = n("max_retry_after_s"), maxBodyBytes = n("max_body_bytes"),
        )
    }

    private fun params(v: Any?): List<Param> = when (v) {
        null -> emptyList()
        is Map<*, *> -> v.map { (k, x) -> Param(k as String, x as? String ?: Json.write(x)) }
        is List<*> -> v.map {
            when (it) {
                is Map<*, *> -> Param(it["name"] as String, it["value"] as String)
                is List<*> -> Param(it[0] as String, it[1] as String)
                else -> error("bad param $it")
            }
        }
        else -> error("bad params $v")
    }

    fun flowConfig(c: Map<String, Any?>) = FlowConfig(
        clientId = c["client_id"] as String,
        clientSecret = c["client_secret"] as String?,
        clientAuth = clientAuth(c["client_auth"]),
        issuer = c["issuer"] as String?,
        deviceAuthorizationEndpoint = c["device_authorization_endpoint"] as String?,
        tokenEndpoint = c["token_endpoint"] as String?,
        scope = c["scope"] as String?,
        params = params(c["params"]),
        timing = timing(c["timing"]),
        extraTokenTypes = strings(c["extra_token_types"]),
        dpop = dpop(c["dpop"]),
    )

    private fun hex(h: String) = ByteArray(h.length / 2) { h.substring(2 * it, 2 * it + 2).toInt(16).toByte() }

    private fun dpop(v: Any?): DpopConfig? {
        val d = v as Map<String, Any?>? ?: return null
        val j = d["jwk"] as Map<String, Any?>
        return DpopConfig(
            jwk = PublicJwk(x = j["x"] as String, y = j["y"] as String, kty = j["kty"] as String? ?: "EC", crv = j["crv"] as String? ?: "P-256"),
            entropy = d["entropy"] as String,
            deviceRequest = d["device_request"] as Boolean? ?: true,
            nonces = (d["nonces"] as Map<String, Any?>?)?.mapValues { it.value as String } ?: emptyMap(),
        )
    }

    private fun strings(v: Any?): List<String> = (v as List<*>?)?.map { it as String } ?: emptyList()

    private fun refreshConfig(c: Map<String, Any?>) = RefreshConfig(
        clientId = c["client_id"] as String,
        tokenEndpoint = c["token_endpoint"] as String,
        refreshToken = c["refresh_token"] as String,
        clientSecret = c["client_secret"] as String?,
        clientAuth = clientAuth(c["client_auth"]),
        scope = c["scope"] as String?,
        timing = timing(c["timing"]),
        extraTokenTypes = strings(c["extra_token_types"]),
        dpop = dpop(c["dpop"]),
    )

    private fun revocationConfig(c: Map<String, Any?>) = RevocationConfig(
        clientId = c["client_id"] as String,
        revocationEndpoint = c["revocation_endpoint"] as String,
        token = c["token"] as String,
        tokenTypeHint = (c["token_type_hint"] as String?)?.let { TokenTypeHint.valueOf(it.uppercase()) },
        clientSecret = c["client_secret"] as String?,
        clientAuth = clientAuth(c["client_auth"]),
        timing = timing(c["timing"]),
        dpop = dpop(c["dpop"]),
    )

    private fun response(r: Map<String, Any?>): HttpResponse {
        val headers = (r["headers"] as Map<String, Any?>?)
            ?.map { (k, v) -> Header(k, v as String) }?.toMutableList() ?: mutableListOf()
        val body: ByteArray = when {
            "json" in r -> {
                if (r["headers"] == null) headers.add(Header("content-type", "application/json"))
                Json.write(r["json"]).toByteArray()
            }
            "text" in r -> (r["text"] as String).toByteArray()
            "base64" in r -> Base64.getDecoder().decode(r["base64"] as String)
            "repeat" in r -> (r["repeat"] as Map<String, Any?>).let {
                (it["text"] as String).repeat(u64(it["times"]).toInt()).toByteArray()
            }
            else -> ByteArray(0)
        }
        return HttpResponse(u64(r["status"]).toUShort(), headers, body)
    }

    // ---- generated types -> the serde JSON shape the vectors match against

    private fun num(v: Any?): JsonNumber? = v?.let { JsonNumber(it.toString()) }
    private fun snake(e: Enum<*>) = e.name.lowercase()

    private fun sendMap(r: HttpRequest) = mapOf(
        "type" to "send", "id" to num(r.id), "method" to r.method.name, "url" to r.url,
        "headers" to r.headers.map { mapOf("name" to it.name, "value" to it.value) },
        "body" to String(r.body, Charsets.UTF_8), "timeout_ms" to num(r.timeoutMs),
    )

    private fun waitMap(until: ULong, delay: ULong, reason: WaitReason) =
        mapOf("type" to "wait", "until" to num(until), "delay_ms" to num(delay), "reason" to snake(reason))

    private fun failedMap(e: FlowException) = mapOf(
        "type" to "failed", "code" to e.code(), "message" to e.message(), "error" to e.oauthError(),
        "error_description" to e.oauthErrorDescription(), "error_uri" to e.oauthErrorUri(), "status" to num(e.status()),
    )

    fun tokensMap(t: TokenSet) = mapOf(
        "access_token" to t.accessToken(), "token_type" to t.tokenType(), "expires_at" to num(t.expiresAt()),
        "expires_in" to num(t.expiresIn()), "refresh_token" to t.refreshToken(), "scope" to t.scope(),
        "id_token" to t.idToken(), "extra" to Json.parse(t.extraJson()),
    )

    private fun actionMap(a: Action): Map<String, Any?> = when (a) {
        is Action.Sign -> mapOf("type" to "sign", "id" to num(a.id), "input" to a.input)
        is Action.Send -> sendMap(a.request)
        is Action.Display -> a.prompt.let {
            mapOf(
                "type" to "display", "user_code" to it.userCode, "verification_uri" to it.verificationUri,
                "verification_uri_complete" to it.verificationUriComplete, "verification_host" to it.verificationHost,
                "expires_at" to num(it.expiresAt), "expires_in" to num(it.expiresIn),
                "interval" to num(it.interval), "message" to it.message,
            )
        }
        is Action.Wait -> waitMap(a.until, a.delayMs, a.reason)
        is Action.AwaitingResponse -> mapOf("type" to "awaiting_response", "id" to num(a.id))
        is Action.Done -> mapOf("type" to "done") + tokensMap(a.tokens)
        is Action.Failed -> failedMap(a.error)
    }

    private fun actionMap(a: DiscoveryAction): Map<String, Any?> = when (a) {
        is DiscoveryAction.Send -> sendMap(a.request)
        is DiscoveryAction.Wait -> waitMap(a.until, a.delayMs, a.reason)
        is DiscoveryAction.AwaitingResponse -> mapOf("type" to "awaiting_response", "id" to num(a.id))
        is DiscoveryAction.Done -> a.metadata.let {
            mapOf(
                "type" to "done", "issuer" to it.issuer,
                "device_authorization_endpoint" to it.deviceAuthorizationEndpoint,
                "token_endpoint" to it.tokenEndpoint, "revocation_endpoint" to it.revocationEndpoint,
                "token_endpoint_auth_methods_supported" to it.tokenEndpointAuthMethodsSupported,
                "grant_types_supported" to it.grantTypesSupported, "scopes_supported" to it.scopesSupported,
                "source" to it.source,
            )
        }
        is DiscoveryAction.Failed -> failedMap(a.error)
    }

    private fun actionMap(a: RevocationAction): Map<String, Any?> = when (a) {
        is RevocationAction.Sign -> mapOf("type" to "sign", "id" to num(a.id), "input" to a.input)
        is RevocationAction.Send -> sendMap(a.request)
        is RevocationAction.Wait -> waitMap(a.until, a.delayMs, a.reason)
        is RevocationAction.AwaitingResponse -> mapOf("type" to "awaiting_response", "id" to num(a.id))
        is RevocationAction.Done -> mapOf("type" to "done", "status" to num(a.revoked.status))
        is RevocationAction.Failed -> failedMap(a.error)
    }

    /** `expected` ⊆ `actual`, exactly as `subset` in core/tests/vectors.rs. */
    fun subset(expected: Any?, actual: Any?, path: String): String? {
        if (expected is Map<*, *> && actual is Map<*, *>) {
            for ((k, ev) in expected) {
                val av = actual[k]
                if (k == "headers" && ev is Map<*, *> && av is List<*>) {
                    for ((name, want) in ev) {
                        val got = av.map { it as Map<*, *> }
                            .firstOrNull { (it["name"] as String).equals(name as String, ignoreCase = true) }?.get("value")
                        if (got != want) return "$path.headers.$name: expected $want, got $got"
                    }
                } else {
                    subset(ev, av, "$path.$k")?.let { return it }
                }
            }
            return null
        }
        if (expected is List<*> && actual is List<*>) {
            if (expected.size != actual.size) return "$path: expected ${Json.write(expected)}, got ${Json.write(actual)}"
            expected.indices.forEach { i -> equal(expected[i], actual[i], "$path[$i]")?.let { return it } }
            return null
        }
        return equal(expected, actual, path)
    }

    /** Plain equality (numbers by value); lists and objects compare in full. */
    private fun equal(e: Any?, a: Any?, path: String): String? {
        val same = when {
            e is JsonNumber && a is JsonNumber -> e.value.compareTo(a.value) == 0
            e is Map<*, *> && a is Map<*, *> -> e.keys == a.keys && e.keys.all { equal(e[it], a[it], path) == null }
            e is List<*> && a is List<*> -> e.size == a.size && e.indices.all { equal(e[it], a[it], path) == null }
            else -> e == a
        }
        return if (same) null else "$path: expected ${Json.write(e)}, got ${Json.write(a)}"
    }
}
