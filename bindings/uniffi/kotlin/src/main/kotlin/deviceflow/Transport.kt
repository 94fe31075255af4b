package deviceflow

import java.io.IOException
import java.net.ConnectException
import java.net.SocketTimeoutException
import java.net.UnknownHostException
import javax.net.ssl.SSLException

/**
 * Performs one HTTP request for the sans-IO machine. Return the response whatever
 * its status; throw (any exception) when there is no HTTP response at all.
 * Must be cancellable: coroutine cancellation has to abort a request in flight.
 *
 * The default, `platformTransport()`, comes from the platform source set: `JavaHttpTransport`
 * (`src/jvm`, `java.net.http`) on the JVM, [UrlConnectionTransport] (`src/android`) on Android.
 */
fun interface HttpTransport {
    suspend fun send(request: HttpRequest): HttpResponse
}

/** The connect timeout, told apart from a read timeout (both are `SocketTimeoutException`). */
class ConnectTimeoutException(message: String, cause: Throwable? = null) : SocketTimeoutException(message) {
    init {
        if (cause != null) initCause(cause)
    }
}

/**
 * How a transport exception maps onto the machine's transport error kinds: the platform's own
 * exception types first (the JDK HttpClient's timeouts on the JVM), then `java.net`'s.
 */
internal fun transportErrorOf(e: Throwable): TransportError = platformTransportErrorOf(e) ?: when (e) {
    is ConnectTimeoutException -> TransportError.CONNECT
    is SocketTimeoutException -> TransportError.TIMEOUT
    is ConnectException -> TransportError.CONNECT
    is UnknownHostException -> TransportError.CONNECT
    is SSLException -> TransportError.TLS
    is IOException -> TransportError.IO
    else -> TransportError.OTHER
}
