package deviceflow

import java.io.IOException
import java.net.ConnectException
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpConnectTimeoutException
import java.net.http.HttpTimeoutException
import java.time.Duration
import javax.net.ssl.SSLException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.future.await
import kotlinx.coroutines.withContext
import java.net.http.HttpRequest as JavaRequest
import java.net.http.HttpResponse as JavaResponse

/**
 * Performs one HTTP request for the sans-IO machine. Return the response whatever
 * its status; throw (any exception) when there is no HTTP response at all.
 * Must be cancellable: coroutine cancellation has to abort a request in flight.
 */
fun interface HttpTransport {
    suspend fun send(request: HttpRequest): HttpResponse
}

/** The default transport: `java.net.http.HttpClient`, no redirects (RFC 8628 endpoints never redirect). */
class JavaHttpTransport(
    private val client: HttpClient = HttpClient.newBuilder()
        .connectTimeout(Duration.ofSeconds(10))
        .followRedirects(HttpClient.Redirect.NEVER)
        .build(),
    private val requestTimeout: Duration = Duration.ofSeconds(30),
) : HttpTransport {
    override suspend fun send(request: HttpRequest): HttpResponse {
        val builder = JavaRequest.newBuilder(URI.create(request.url)).timeout(requestTimeout)
        for (h in request.headers) builder.header(h.name, h.value)
        when (request.method) {
            HttpMethod.GET -> builder.GET()
            HttpMethod.POST -> builder.POST(JavaRequest.BodyPublishers.ofByteArray(request.body))
        }
        val response = client.sendAsync(builder.build(), JavaResponse.BodyHandlers.ofInputStream()).await()
        // Read at most MAX_BODY bytes: a hostile server cannot exhaust memory, and the
        // machine still sees "too big" (its own limit is lower) and fails cleanly.
        val body = withContext(Dispatchers.IO) { response.body().use { it.readNBytes(MAX_BODY) } }
        val headers = response.headers().map().flatMap { (name, values) -> values.map { Header(name, it) } }
        return HttpResponse(response.statusCode().toUShort(), headers, body)
    }

    companion object {
        const val MAX_BODY = 1 shl 20
    }
}

/** How a transport exception maps onto the machine's transport error kinds. */
internal fun transportErrorOf(e: Throwable): TransportError = when (e) {
    is HttpConnectTimeoutException -> TransportError.CONNECT
    is HttpTimeoutException -> TransportError.TIMEOUT
    is ConnectException -> TransportError.CONNECT
    is SSLException -> TransportError.TLS
    is IOException -> TransportError.IO
    else -> TransportError.OTHER
}
