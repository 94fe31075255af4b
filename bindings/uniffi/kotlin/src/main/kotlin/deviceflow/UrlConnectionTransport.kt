package deviceflow

import java.io.IOException
import java.io.InputStream
import java.net.HttpURLConnection
import java.net.SocketTimeoutException
import java.net.URL
import kotlin.concurrent.thread
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.withTimeoutOrNull

/**
 * The default transport on Android (`src/android`): `java.net.HttpURLConnection`, every API
 * level. No redirects (RFC 8628 endpoints never redirect; a redirected POST could carry a
 * client secret elsewhere): a 3xx is returned to the machine as it is.
 *
 * [requestTimeoutMs] is a deadline for the whole exchange: connect, response headers **and**
 * body (a socket read timeout alone restarts at every byte, so a body trickled one byte at a
 * time would never end). [connectTimeoutMs] bounds the TCP (and TLS) connect. At most
 * [maxBodyBytes] + 1 bytes of a body are read, then the connection is dropped: the machine's
 * own limit (`Timing.maxBodyBytes`, 64 KiB by default) refuses the body as too big. Keep
 * [maxBodyBytes] at or above that limit. `Accept-Encoding: identity` is sent, so Android's
 * connection does not inflate gzip behind our back and the cap holds on the wire.
 *
 * Each request runs on a thread of its own; the deadline or coroutine cancellation returns at
 * once and calls `disconnect()`, which closes the connection (Android: always; the JDK: at
 * once until the response headers are in, then after the read in progress).
 * [openConnection] opens the connection (e.g. `url.openConnection(proxy)`, or setting an
 * `SSLSocketFactory`); it must not connect it.
 *
 * It is in the JVM jar too, but the JVM's default is `JavaHttpTransport`: the JDK's own
 * `HttpURLConnection` (unlike Android's, which is OkHttp) drops the body of a 4xx answer to a
 * fixed-length streamed POST (an `invalid_client` then reads as `invalid_response`), accepts a
 * truncated response head, and on `disconnect()` in the middle of a body hands the socket to
 * its keep-alive cleaner, which goes on draining a trickled body.
 */
class UrlConnectionTransport(
    private val connectTimeoutMs: Long = 10_000,
    private val requestTimeoutMs: Long = 30_000,
    private val maxBodyBytes: Int = MAX_BODY,
    private val openConnection: (URL) -> HttpURLConnection = { it.openConnection() as HttpURLConnection },
) : HttpTransport {
    init {
        require(connectTimeoutMs > 0) { "connectTimeoutMs must be positive" }
        require(requestTimeoutMs > 0) { "requestTimeoutMs must be positive" }
        require(maxBodyBytes in 0 until Int.MAX_VALUE) { "maxBodyBytes out of range" }
    }

    override suspend fun send(request: HttpRequest): HttpResponse {
        // The smaller of this transport's deadline and what is left of the operation's budget.
        val limitMs = minOf(requestTimeoutMs, request.timeoutMs?.toLong() ?: Long.MAX_VALUE).coerceAtLeast(1)
        val exchange = Exchange(request, limitMs)
        return withTimeoutOrNull(limitMs) {
            suspendCancellableCoroutine { cont ->
                thread(isDaemon = true, name = "deviceflow-http") { cont.resumeWith(runCatching { exchange.run() }) }
                // Deadline or coroutine cancellation: drop the exchange and its connection now.
                cont.invokeOnCancellation { exchange.abort() }
            }
        } ?: throw SocketTimeoutException("no complete response within $limitMs ms")
    }

    /** One request on one connection, run on its own thread; [abort] may come from any thread. */
    private inner class Exchange(private val request: HttpRequest, private val limitMs: Long) {
        @Volatile private var conn: HttpURLConnection? = null
        @Volatile private var aborted = false

        fun run(): HttpResponse {
            val c = openConnection(URL(request.url))
            conn = c
            try {
                if (aborted) throw IOException("request abandoned")
                return exchange(c)
            } finally {
                // Also when the body is capped: a half-read response must not go back to a pool.
                if (aborted || !completed) c.disconnect()
            }
        }

        private var completed = false

        private fun exchange(c: HttpURLConnection): HttpResponse {
            c.instanceFollowRedirects = false
            c.useCaches = false
            c.connectTimeout = minOf(connectTimeoutMs, limitMs).toTimeout()
            c.readTimeout = limitMs.toTimeout() // the coroutine's deadline ends it earlier
            c.requestMethod = request.method.name
            for (h in request.headers) c.addRequestProperty(h.name, h.value)
            if (request.headers.none { it.name.equals("accept-encoding", ignoreCase = true) }) {
                c.setRequestProperty("Accept-Encoding", "identity")
            }
            val body = request.body.takeIf { request.method == HttpMethod.POST }
            if (body != null) {
                // A body of known length is streamed, never buffered by the connection: neither
                // the JDK (`sun.net.http.retryPost`, on a stale keep-alive socket) nor Android's
                // OkHttp retries a streamed request. A silently resent token or refresh request
                // could spend a rotated refresh token twice, so no retry may happen below us.
                c.doOutput = true
                c.setFixedLengthStreamingMode(body.size)
            }
            try {
                c.connect()
            } catch (e: SocketTimeoutException) {
                throw ConnectTimeoutException("connect timed out after ${c.connectTimeout} ms", e)
            }
            if (aborted) throw IOException("request abandoned")
            if (body != null) c.outputStream.use { it.write(body) }
            val status = c.responseCode
            if (aborted) throw IOException("request abandoned")
            if (status < 0) throw IOException("not a valid HTTP response")
            val headers = mutableListOf<Header>()
            var i = 0
            while (true) {
                // In wire order (headerFields reorders values); index 0 is the status line on the JDK.
                val value = c.getHeaderField(i) ?: break
                c.getHeaderFieldKey(i)?.let { headers += Header(it, value) }
                i++
            }
            // 4xx/5xx bodies (OAuth error responses) come from errorStream; inputStream throws.
            val stream = if (status >= 400) c.errorStream else c.inputStream
            val bytes = stream?.use { readCapped(it, maxBodyBytes + 1) } ?: ByteArray(0)
            if (aborted) throw IOException("request abandoned")
            completed = bytes.size <= maxBodyBytes
            return HttpResponse(status.toUShort(), headers, bytes)
        }

        /** Up to [limit] bytes of [input]; stops early when the exchange is aborted. */
        private fun readCapped(input: InputStream, limit: Int): ByteArray {
            val out = java.io.ByteArrayOutputStream()
            val buf = ByteArray(8192)
            while (out.size() < limit && !aborted) {
                val n = input.read(buf, 0, minOf(buf.size, limit - out.size()))
                if (n < 0) break
                out.write(buf, 0, n)
            }
            return out.toByteArray()
        }

        fun abort() {
            aborted = true
            // disconnect() may wait for a read in progress (JDK): never on the cancelling thread.
            conn?.let { c -> thread(isDaemon = true, name = "deviceflow-http-abort") { runCatching { c.disconnect() } } }
        }
    }

    companion object {
        /** The default read cap: 1 MiB. */
        const val MAX_BODY = 1 shl 20

        private fun Long.toTimeout(): Int = coerceIn(1L, Int.MAX_VALUE.toLong()).toInt()
    }
}
