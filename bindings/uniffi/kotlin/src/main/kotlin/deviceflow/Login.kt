package deviceflow

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.delay
import kotlinx.coroutines.withContext

/** Unix epoch milliseconds: stored token expiries stay meaningful across processes. */
private fun unixMs(): ULong = System.currentTimeMillis().toULong()

/**
 * Logs in with the OAuth 2.0 device authorization grant (RFC 8628) and returns the tokens.
 *
 * [onPrompt] is called once with the user code and verification URI to show (§3.3).
 * Throws [FlowException] with a stable `code()` (`access_denied`, `expired_token`, ...).
 * Cancelling the coroutine stops at once: the request in flight or the wait is
 * abandoned and the machine is cancelled.
 *
 * [transport] defaults to the platform's: `JavaHttpTransport` (`java.net.http`) on the JVM,
 * [UrlConnectionTransport] on Android (`platformTransport()`, in `src/jvm` and `src/android`).
 *
 * ```
 * val tokens = login(FlowConfig(clientId = "my-app", issuer = "https://id.example.com")) { p ->
 *     println("Open ${p.verificationUri} and enter ${p.userCode}")
 * }
 * ```
 */
suspend fun login(
    config: FlowConfig,
    transport: HttpTransport = platformTransport(),
    clock: () -> ULong = ::unixMs,
    dpop: DpopSigner? = null,
    onPrompt: suspend (Prompt) -> Unit,
): TokenSet = DeviceFlow(withDpop(config, dpop), clock()).use { flow ->
    drive(SansIo.of(flow), transport, clock, dpop, onPrompt)
}

/**
 * Exchanges a refresh token for new tokens (RFC 6749 §6); `invalid_grant` means log in again.
 * A DPoP-bound refresh token needs the same [dpop] key that logged in.
 */
suspend fun refresh(
    config: RefreshConfig,
    transport: HttpTransport = platformTransport(),
    clock: () -> ULong = ::unixMs,
    dpop: DpopSigner? = null,
): TokenSet = Refresh(withDpop(config, dpop), clock()).use { drive(SansIo.of(it), transport, clock, dpop) {} }

/** Fetches an issuer's metadata (OpenID Connect Discovery 1.0 / RFC 8414). */
suspend fun discover(
    issuer: String,
    transport: HttpTransport = platformTransport(),
    clock: () -> ULong = ::unixMs,
): ServerMetadata = Discovery(issuer, clock()).use { drive(SansIo.of(it), transport, clock, null) {} }

/** Revokes a token (RFC 7009); with [dpop], every request carries a proof of that key. */
suspend fun revoke(
    config: RevocationConfig,
    transport: HttpTransport = platformTransport(),
    clock: () -> ULong = ::unixMs,
    dpop: DpopSigner? = null,
): Revoked = Revocation(withDpop(config, dpop), clock()).use { drive(SansIo.of(it), transport, clock, dpop) {} }

// A config's own `dpop` (nonces, deviceRequest = false) wins; the signer fills in the rest.
private fun withDpop(c: FlowConfig, s: DpopSigner?) =
    if (s == null || c.dpop != null) c.also { needSigner(it.dpop, s) } else c.copy(dpop = dpopConfig(s))
private fun withDpop(c: RefreshConfig, s: DpopSigner?) =
    if (s == null || c.dpop != null) c.also { needSigner(it.dpop, s) } else c.copy(dpop = dpopConfig(s))
private fun withDpop(c: RevocationConfig, s: DpopSigner?) =
    if (s == null || c.dpop != null) c.also { needSigner(it.dpop, s) } else c.copy(dpop = dpopConfig(s))
private fun needSigner(d: DpopConfig?, s: DpopSigner?) =
    require(d == null || s != null) { "config.dpop is set: pass the key that signs as dpop = ..." }

/** What every machine asks for, with the operation's result type [T]. */
internal sealed class Step<out T> {
    data class Send(val request: HttpRequest) : Step<Nothing>()
    class Sign(val id: ULong, val input: String) : Step<Nothing>()
    data class Show(val prompt: Prompt) : Step<Nothing>()
    data class Sleep(val ms: ULong) : Step<Nothing>()
    data class Finish<T>(val result: T) : Step<T>()
    data class Fail(val error: FlowException) : Step<Nothing>()
}

/** One machine's sans-IO surface, whatever its generated action type. */
internal class SansIo<T>(
    val poll: (ULong) -> Step<T>,
    val respond: (ULong, HttpResponse, ULong) -> Unit,
    val sign: (ULong, ByteArray, ULong) -> Unit,
    val transportError: (ULong, TransportError, ULong) -> Unit,
    val cancel: (ULong) -> Unit,
) {
    companion object {
        fun of(m: DeviceFlow) = SansIo({ step(m.pollAction(it)) }, m::handleResponse, m::handleSignature, m::handleTransportError, m::cancel)
        fun of(m: Refresh) = SansIo({ step(m.pollAction(it)) }, m::handleResponse, m::handleSignature, m::handleTransportError, m::cancel)
        fun of(m: Discovery) = SansIo({ step(m.pollAction(it)) }, m::handleResponse, { _, _, _ -> error("discovery never signs") }, m::handleTransportError, m::cancel)
        fun of(m: Revocation) = SansIo({ step(m.pollAction(it)) }, m::handleResponse, m::handleSignature, m::handleTransportError, m::cancel)

        private fun step(a: Action): Step<TokenSet> = when (a) {
            is Action.Sign -> Step.Sign(a.id, a.input)
            is Action.Send -> Step.Send(a.request)
            is Action.Display -> Step.Show(a.prompt)
            is Action.Wait -> Step.Sleep(a.delayMs)
            is Action.AwaitingResponse -> throw IllegalStateException("request ${a.id} was never answered")
            is Action.Done -> Step.Finish(a.tokens)
            is Action.Failed -> Step.Fail(a.error)
        }
        private fun step(a: DiscoveryAction): Step<ServerMetadata> = when (a) {
            is DiscoveryAction.Send -> Step.Send(a.request)
            is DiscoveryAction.Wait -> Step.Sleep(a.delayMs)
            is DiscoveryAction.AwaitingResponse -> throw IllegalStateException("request ${a.id} was never answered")
            is DiscoveryAction.Done -> Step.Finish(a.metadata)
            is DiscoveryAction.Failed -> Step.Fail(a.error)
        }
        private fun step(a: RevocationAction): Step<Revoked> = when (a) {
            is RevocationAction.Sign -> Step.Sign(a.id, a.input)
            is RevocationAction.Send -> Step.Send(a.request)
            is RevocationAction.Wait -> Step.Sleep(a.delayMs)
            is RevocationAction.AwaitingResponse -> throw IllegalStateException("request ${a.id} was never answered")
            is RevocationAction.Done -> Step.Finish(a.revoked)
            is RevocationAction.Failed -> Step.Fail(a.error)
        }
    }
}

/** The driving loop of the crate docs: poll, do what it says, feed the answer back. */
internal suspend fun <T> drive(
    machine: SansIo<T>,
    transport: HttpTransport,
    clock: () -> ULong,
    signer: DpopSigner?,
    onPrompt: suspend (Prompt) -> Unit,
): T {
    try {
        while (true) {
            when (val step = machine.poll(clock())) {
                is Step.Send -> {
                    val id = step.request.id
                    val response = try {
                        transport.send(step.request)
                    } catch (e: CancellationException) {
                        throw e
                    } catch (e: Exception) {
                        machine.transportError(id, transportErrorOf(e), clock())
                        continue
                    }
                    machine.respond(id, response, clock())
                }
                is Step.Sign -> {
                    val s = signer ?: error("the machine asks for a DPoP signature but no signer was given")
                    machine.sign(step.id, s.sign(step.input.encodeToByteArray()), clock())
                }
                is Step.Show -> onPrompt(step.prompt)
                is Step.Sleep -> delay(step.ms.toLong())
                is Step.Finish -> return step.result
                is Step.Fail -> throw step.error
            }
        }
    } catch (e: CancellationException) {
        withContext(NonCancellable) { runCatching { machine.cancel(clock()) } }
        throw e
    }
}
