package deviceflow

// The Android side of the platform source sets: add src/main and this folder (not src/jvm,
// which uses java.net.http) to the Android library module. tests/dist/mobile_sources.py scans
// exactly these; tests/suites/kotlin.sh compiles them and logs in through them.

/**
 * The default `transport` of login / refresh / discover / revoke on Android: Android's
 * `HttpURLConnection` is OkHttp inside, which is expected to keep 4xx bodies in streaming mode,
 * refuse a truncated head and close the socket on `disconnect()` (the JDK's does none of the
 * three). Not verified on a device here (no Android runtime): the Kotlin suite compiles this
 * source set and logs in and refreshes through it on the JDK.
 */
internal fun platformTransport(): HttpTransport = UrlConnectionTransport()

/** Android's connection throws only `java.net`/`javax.net.ssl` exceptions: the shared mapping has them. */
@Suppress("UNUSED_PARAMETER")
internal fun platformTransportErrorOf(e: Throwable): TransportError? = null
