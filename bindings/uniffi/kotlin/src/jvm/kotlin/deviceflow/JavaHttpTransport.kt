package deviceflow

import java.io.ByteArrayOutputStream
import java.io.IOException
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpTimeoutException
import java.nio.ByteBuffer
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CompletionException
import java.util.concurrent.CompletionStage
import java.util.concurrent.Flow
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.withTimeoutOrNull
import java.net.http.HttpRequest as JavaRequest
import java.net.http.HttpResponse as JavaResponse

/**
 * The default transport on the JVM (this `src/jvm` source set; Android has no `java.net.http`
 * and gets [UrlConnectionTransport]): `java.net.http.HttpClient`, no redirects (RFC 8628
 * endpoints never redirect; a redirected POST could carry a client secret elsewhere).
 *
 * [requestTimeout] is a deadline for the whole exchange: connect, response headers **and**
 * body (`HttpRequest.timeout()` alone stops at the headers, so a body trickled one byte at a
 * time would never end). At most [maxBodyBytes] + 1 bytes of a body are read, then the
 * connection is dropped: the machine's own limit (`Timing.maxBodyBytes`, 64 KiB by default)
 * refuses the body as too big. Keep [maxBodyBytes] at or above that limit. `HttpClient`
 * never inflates `Content-Encoding: gzip` (nor asks for it), so the cap holds on the wire.
 */
class JavaHttpTransport(
    private val client: HttpClient = HttpClient.newBuilder()
        .connectTimeout(Duration.ofSeconds(10))
        .followRedirects(HttpClient.Redirect.NEVER)
        .build(),
    private val requestTimeout: Duration = Duration.ofSeconds(30),
    private val maxBodyBytes: Int = MAX_BODY,
) : HttpTransport {
    init {
        require(!requestTimeout.isNegative && !requestTimeout.isZero) { "requestTimeout must be positive" }
        require(maxBodyBytes in 0 until Int.MAX_VALUE) { "maxBodyBytes out of range" }
    }

    override suspend fun send(request: HttpRequest): HttpResponse {
        // The smaller of this transport's deadline and what is left of the operation's budget.
        val limitMs = minOf(requestTimeout.toMillis(), request.timeoutMs?.toLong() ?: Long.MAX_VALUE).coerceAtLeast(1)
        val builder = JavaRequest.newBuilder(URI.create(request.url)).timeout(Duration.ofMillis(limitMs))
        for (h in request.headers) builder.header(h.name, h.value)
        when (request.method) {
            HttpMethod.GET -> builder.GET()
            HttpMethod.POST -> builder.POST(JavaRequest.BodyPublishers.ofByteArray(request.body))
        }
        val body = CappedBody(maxBodyBytes + 1)
        val future = client.sendAsync(builder.build()) { body }
        try {
            // The future completes once the body is read (or capped): the deadline covers it all.
            val response = withTimeoutOrNull(limitMs) { future.awaitOrAbort() }
                ?: throw HttpTimeoutException("no complete response within $limitMs ms")
            val headers = response.headers().map().flatMap { (name, values) -> values.map { Header(name, it) } }
            return HttpResponse(response.statusCode().toUShort(), headers, response.body())
        } finally {
            // Deadline, coroutine cancellation or any failure: drop the exchange and its connection now.
            if (!future.isDone || future.isCompletedExceptionally) {
                body.abort()
                future.cancel(true)
            }
        }
    }

    companion object {
        /** The default read cap: 1 MiB. */
        const val MAX_BODY = 1 shl 20
    }
}

/**
 * Collects a response body up to [limit] bytes, then cancels the subscription (which closes
 * the connection) and completes with what it has; [abort] drops it at any time, before the
 * body starts (the subscription is then cancelled on arrival) or during it.
 */
private class CappedBody(private val limit: Int) : JavaResponse.BodySubscriber<ByteArray> {
    private val result = CompletableFuture<ByteArray>()
    private val out = ByteArrayOutputStream()
    private var subscription: Flow.Subscription? = null
    private var aborted = false

    override fun getBody(): CompletionStage<ByteArray> = result

    @Synchronized
    override fun onSubscribe(s: Flow.Subscription) {
        subscription = s
        if (aborted || result.isDone) s.cancel() else s.request(1)
    }

    @Synchronized
    override fun onNext(item: List<ByteBuffer>) {
        if (result.isDone) return
        for (b in item) {
            val n = minOf(b.remaining(), limit - out.size())
            if (n <= 0) break
            val bytes = ByteArray(n)
            b.get(bytes)
            out.write(bytes)
        }
        if (out.size() >= limit) {
            subscription?.cancel()
            result.complete(out.toByteArray())
        } else {
            subscription?.request(1)
        }
    }

    override fun onError(t: Throwable) {
        result.completeExceptionally(t)
    }

    @Synchronized
    override fun onComplete() {
        result.complete(out.toByteArray())
    }

    @Synchronized
    fun abort() {
        aborted = true
        subscription?.cancel()
        result.completeExceptionally(IOException("request abandoned"))
    }
}

/**
 * Awaits the exchange; cancelling the coroutine cancels it with `cancel(true)`, which is what
 * makes `HttpClient` (JDK 16+) abort the exchange and close its connection at once. (kotlinx's
 * `CompletableFuture.await()` calls `cancel(false)`: the connection then stays open, waiting
 * for headers, until `HttpRequest.timeout()` fires.)
 */
private suspend fun <T> CompletableFuture<T>.awaitOrAbort(): T = suspendCancellableCoroutine { cont ->
    whenComplete { value, error ->
        if (error == null) cont.resume(value)
        else cont.resumeWithException(if (error is CompletionException) error.cause ?: error else error)
    }
    cont.invokeOnCancellation { cancel(true) }
}
