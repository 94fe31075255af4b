package deviceflow

import java.net.http.HttpConnectTimeoutException
import java.net.http.HttpTimeoutException

// The JVM side of the platform source sets: compiled with src/main into the JVM jar
// (bindings/uniffi/build.sh, build.gradle.kts), never for Android (src/android has its own).

/** The default `transport` of login / refresh / discover / revoke on the JVM. */
internal fun platformTransport(): HttpTransport = JavaHttpTransport()

/** The JDK HttpClient's own timeouts (subclasses of `IOException`, not of `SocketTimeoutException`). */
internal fun platformTransportErrorOf(e: Throwable): TransportError? = when (e) {
    is HttpConnectTimeoutException -> TransportError.CONNECT
    is HttpTimeoutException -> TransportError.TIMEOUT
    else -> null
}
