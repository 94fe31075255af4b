package deviceflow

import java.io.File
import java.net.InetAddress
import java.net.ServerSocket
import java.time.Duration
import java.util.Collections
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull

/**
 * Every case of the shared hostile-server suite (`tests/hostile/`) through `login()` with the
 * default `java.net.http` transport, all at once: the outcome the case names, within its
 * budget, nothing unsafe reaching the prompt, the prompt shown once when tokens come back.
 */
object Hostile {
    private class Server(root: File) : AutoCloseable {
        private val process: Process
        val info: Map<String, Any?>

        init {
            val log = File(root, "bindings/uniffi/build/hostile-kotlin.log")
            process = ProcessBuilder("node", "tests/hostile/server.mjs")
                .directory(root)
                .redirectError(ProcessBuilder.Redirect.appendTo(log))
                .also { it.environment()["MAX_LIFETIME"] = "240" }
                .start() // stdin stays a pipe: server.mjs stops on its EOF (close(), or this JVM ending)
            val line = process.inputStream.bufferedReader().readLine()
                ?: error("tests/hostile/server.mjs exited before printing its JSON line (see $log)")
            @Suppress("UNCHECKED_CAST")
            info = Json.parse(line) as Map<String, Any?>
        }

        override fun close() {
            process.outputStream.close()
            if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly()
        }
    }

    /** The set of `isSafeText` in tests/hostile/harness.mjs: C0/C1 controls, DEL, BiDi and invisible format characters. */
    private val UNSAFE = Regex("[\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\ufeff\\ufff9-\\ufffb]")
    fun isSafeText(s: String) = !UNSAFE.containsMatchIn(s)

    private const val ACCESS = "hostile-access-token-0123456789"

    private class Outcome(val name: String, val outcome: String, val detail: String, val ms: Long, val problem: String?)

    private class Run(val base: String, val clientId: String, val timing: Timing, val timeoutMs: Long, val budgetMs: Long)

    /** [defaults]: the case runs with the default timing (and transport deadline), see cases.mjs. */
    private fun config(run: Run, word: String, name: String, defaults: Boolean = false) = FlowConfig(
        clientId = run.clientId,
        deviceAuthorizationEndpoint = "${run.base}/$word/$name/device",
        tokenEndpoint = "${run.base}/$word/$name/token",
        timing = if (defaults) null else run.timing,
    )

    private suspend fun runCase(scope: CoroutineScope, run: Run, case: Map<*, *>): Outcome {
        val name = case["name"] as String
        @Suppress("UNCHECKED_CAST")
        val expected = case["expect"] as List<String>
        val prompts = Collections.synchronizedList(mutableListOf<Prompt>())
        var detail = ""
        val defaults = case["defaults"] == true
        val budgetMs = (case["budget_ms"] as JsonNumber).value.toLong()
        val transport = if (defaults) JavaHttpTransport() else JavaHttpTransport(requestTimeout = Duration.ofMillis(run.timeoutMs))
        val t0 = System.nanoTime()
        val job = scope.async {
            try {
                val tokens = login(config(run, "kt", name, defaults), transport) { prompts += it }
                if (tokens.accessToken() == ACCESS) "done" else "done with the wrong access token"
            } catch (e: FlowException) {
                detail = e.message()
                e.code()
            } catch (e: CancellationException) {
                throw e
            } catch (e: Throwable) {
                "crash ($e)"
            }
        }
        // A hang is reported (not waited out) a little after the budget, even when the login
        // ignores cancellation: only the wait for it is cancelled here.
        val outcome = withTimeoutOrNull(budgetMs + 2_000) { job.await() } ?: "hang".also { job.cancel() }
        val ms = (System.nanoTime() - t0) / 1_000_000
        val problems = mutableListOf<String>()
        if (outcome !in expected) problems += "${case["about"]}: expected ${expected.joinToString(" or ")}, got $outcome"
        if (ms >= budgetMs) problems += "took $ms ms (budget $budgetMs ms${if (defaults) ", default timing" else ""})"
        for (p in prompts.toList()) {
            for (text in listOf(p.userCode, p.verificationUri, p.verificationUriComplete, p.verificationHost, p.message)) {
                if (text != null && !isSafeText(text)) problems += "unsafe text shown: ${Json.write(text)}"
            }
        }
        if (outcome == "done" && prompts.size != 1) problems += "the prompt was shown ${prompts.size} times, not once"
        if (name == "unsafe_message" && prompts.isNotEmpty() &&
            !Regex("Go to .*example and enter the code").containsMatchIn(prompts[0].message ?: "")
        ) problems += "message not shown cleaned: ${Json.write(prompts[0].message)}"
        return Outcome(name, outcome, detail, ms, problems.takeIf { it.isNotEmpty() }?.joinToString("; "))
    }

    fun all(c: Checks, root: File) {
        File(root, "bindings/uniffi/build").mkdirs()
        val server = try {
            Server(root)
        } catch (e: Exception) {
            c.check("start tests/hostile/server.mjs") { throw e }
            return
        }
        server.use { s ->
            @Suppress("UNCHECKED_CAST")
            val options = s.info["options"] as Map<String, Any?>
            val cases = (s.info["cases"] as List<*>).map { it as Map<*, *> }
            val run = Run(
                base = s.info["base"] as String,
                clientId = options["client_id"] as String,
                timing = Vectors.timing(options["timing"])!!,
                timeoutMs = (options["timeout_ms"] as JsonNumber).value.toLong(),
                budgetMs = (options["budget_ms"] as JsonNumber).value.toLong(),
            )
            c.check("hostile: the suite has its cases (${cases.size})") {
                expect(cases.size >= 35) { "only ${cases.size} cases" }
                val known = setOf(
                    "default_interval_ms", "margin_ms", "max_backoff_ms", "max_transient_failures", "retry_base_ms",
                    "request_retries", "request_budget_ms", "max_interval_s", "max_expires_in_s", "max_retry_after_s", "max_body_bytes",
                )
                val unknown = (options["timing"] as Map<*, *>).keys - known
                expect(unknown.isEmpty()) { "options.timing has fields the Timing record lacks: $unknown" }
            }

            var results = emptyList<Outcome>()
            c.check("hostile: all ${cases.size} cases at once (login(), JavaHttpTransport, ${run.timeoutMs} ms per request)") {
                // Not structured: a login that ignores cancellation must fail its case, not hang the suite.
                val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
                try {
                    results = runBlocking(Dispatchers.Default) { cases.map { async { runCase(scope, run, it) } }.awaitAll() }
                } finally {
                    scope.cancel()
                }
            }
            for (r in results) {
                val why = if (r.detail.isEmpty()) "" else " (${r.detail.take(100)})"
                c.check("hostile ${r.name} -> ${r.outcome} in ${r.ms} ms$why") { r.problem?.let { throw AssertionError(it) } }
            }

            for (trickle in listOf(false, true)) {
                val what = if (trickle) "a body trickles in" else "the server is silent"
                c.check("JavaHttpTransport: coroutine cancellation closes the connection at once ($what)") {
                    dropsConnection(trickle) { transport, request ->
                        val job = CoroutineScope(Dispatchers.Default).async { transport.send(request) }
                        delay(300)
                        job.cancel()
                        val ended = withTimeoutOrNull(2_000) { runCatching { job.await() } }
                        expect(ended?.exceptionOrNull() is CancellationException) { "send ended with $ended" }
                    }
                }
                c.check("JavaHttpTransport: the deadline ends the request and closes the connection ($what)") {
                    dropsConnection(trickle, timeoutMs = 400) { transport, request ->
                        val t0 = System.nanoTime()
                        val e = runCatching { transport.send(request) }.exceptionOrNull()
                        val ms = (System.nanoTime() - t0) / 1_000_000
                        expect(e is java.net.http.HttpTimeoutException) { "send ended with $e, not a timeout" }
                        expect(ms in 350..2000) { "the 400 ms deadline ended the request after $ms ms" }
                    }
                }
            }

            c.check("hostile: cancelling the coroutine while a body trickles in (slow_body) returns at once") {
                cancelsAtOnce(run, "slow_body", afterMs = 500)
            }
            c.check("hostile: cancelling the coroutine while the server is silent (silent) returns at once") {
                cancelsAtOnce(run, "silent", afterMs = 500)
            }
        }
    }

    /**
     * A one-connection server on 127.0.0.1 that never completes a response (silent, or headers
     * then one body byte every 200 ms): [body] makes the request end, then the server must see
     * the connection closed within 500 ms.
     */
    private suspend fun dropsConnection(trickle: Boolean, timeoutMs: Long = 30_000, body: suspend (HttpTransport, HttpRequest) -> Unit) {
        ServerSocket(0, 10, InetAddress.getLoopbackAddress()).use { server ->
            val accepted = CompletableDeferred<Unit>()
            val closedAt = CompletableDeferred<Long>()
            thread(isDaemon = true, name = "hostile-probe") {
                try {
                    server.accept().use { socket ->
                        accepted.complete(Unit)
                        if (trickle) thread(isDaemon = true) {
                            runCatching {
                                val out = socket.getOutputStream()
                                out.write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{".toByteArray())
                                while (true) { out.flush(); Thread.sleep(200); out.write(' '.code) }
                            }
                        }
                        val buf = ByteArray(4096)
                        while (socket.getInputStream().read(buf) >= 0) { /* the request, then EOF */ }
                    }
                } catch (_: Exception) {
                    // a reset is a close too
                }
                closedAt.complete(System.nanoTime())
            }
            val transport = JavaHttpTransport(requestTimeout = Duration.ofMillis(timeoutMs))
            val request = HttpRequest(1uL, HttpMethod.POST, "http://127.0.0.1:${server.localPort}/device",
                listOf(Header("content-type", "application/x-www-form-urlencoded")), "client_id=probe".toByteArray())
            val sending = CoroutineScope(Dispatchers.Default).async { body(transport, request) }
            withTimeoutOrNull(5_000) { accepted.await() } ?: throw AssertionError("no connection")
            withTimeoutOrNull(10_000) { sending.await() } ?: run { sending.cancel(); throw AssertionError("the request did not end within 10 s") }
            val ended = System.nanoTime()
            val closed = withTimeoutOrNull(2_000) { closedAt.await() }
            expect(closed != null) { "the connection was still open 2 s after the request ended" }
            val lag = (closed!! - ended) / 1_000_000
            expect(lag < 500) { "the connection closed $lag ms after the request ended" }
        }
    }

    /** Starts a login, cancels it [afterMs] later (inside its first request), and expects it to end within 200 ms. */
    private suspend fun cancelsAtOnce(run: Run, name: String, afterMs: Long) {
        // Not structured: a login that ignores cancellation must fail this check, not hang the suite.
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
        try {
            val started = CompletableDeferred<Unit>()
            val transport = JavaHttpTransport(requestTimeout = Duration.ofSeconds(30))
            val job = scope.async {
                started.complete(Unit)
                login(config(run, "kt-cancel", name), transport) {}
            }
            started.await()
            delay(afterMs)
            expect(job.isActive) { "login ended before the cancel" }
            val t0 = System.nanoTime()
            job.cancel()
            val ended = withTimeoutOrNull(5_000) { runCatching { job.await() } }
            val ms = (System.nanoTime() - t0) / 1_000_000
            expect(ended != null) { "still running 5 s after the cancel" }
            expect(ended!!.exceptionOrNull() is CancellationException) { "ended with $ended, not a CancellationException" }
            expect(ms < 200) { "cancel took $ms ms" }
        } finally {
            scope.cancel()
        }
    }
}
