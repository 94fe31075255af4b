import Foundation

/// A DPoP key (RFC 9449): its public half and ES256 signatures. Pass one as `dpop:` to
/// `login`, `refresh` and `revoke`, and to `dpopHeaders` for resource requests.
///
/// `sign` returns the ES256 signature of `input` as raw `r||s` (64 bytes, CryptoKit's
/// `rawRepresentation`) or DER (`SecKeyCreateSignature` with
/// `.ecdsaSignatureMessageX962SHA256`, as a Secure Enclave key gives it); the core converts
/// DER. `SoftwareDpopSigner` is the core's in-memory key; see the README for the Secure Enclave.
public protocol DpopSigner {
    /// The EC P-256 public key (`x`, `y` base64url); the same on every call.
    func publicJwk() throws -> PublicJwk
    /// ES256 over `input` (the proof's signing input), raw `r||s` or DER.
    func sign(_ input: Data) async throws -> Data
}

/// The core's `SoftwareKey` as a `DpopSigner`. Store `key.secret()` next to the tokens it
/// binds (a DPoP-bound refresh token is useless without it); load it with `SoftwareKey.fromSecret`.
public final class SoftwareDpopSigner: DpopSigner, CustomStringConvertible {
    public let key: SoftwareKey
    public init(key: SoftwareKey) { self.key = key }
    /// A new key from the system's random generator.
    public convenience init() { self.init(key: generateSoftwareKey()) }
    public func publicJwk() throws -> PublicJwk { try key.publicJwk() }
    public func sign(_ input: Data) async throws -> Data { try key.sign(input: input) }
    public var description: String { "SoftwareDpopSigner(\(key))" }
}

func randomBytes(_ n: Int) -> Data {
    var g = SystemRandomNumberGenerator()
    return Data((0..<n).map { _ in UInt8.random(in: 0...255, using: &g) })
}

/// A new `SoftwareKey` from 32 random bytes (the core has no RNG of its own).
public func generateSoftwareKey() -> SoftwareKey {
    while true {
        // 0 or >= n is about 2^-128 likely: draw again
        if let key = try? SoftwareKey(bytes: randomBytes(32)) { return key }
    }
}

/// The `DpopConfig` for one operation: the signer's public key, 16 fresh random bytes for
/// the proofs' `jti`, and nonces already known per origin (e.g. a machine's `dpopNonces()`).
public func dpopConfig(_ signer: DpopSigner, nonces: [String: String] = [:], deviceRequest: Bool = true) throws -> DpopConfig {
    let entropy = randomBytes(16).base64EncodedString()
        .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
    return DpopConfig(jwk: try signer.publicJwk(), entropy: entropy, deviceRequest: deviceRequest, nonces: nonces)
}

/// `Authorization: DPoP <token>` and `DPoP: <proof>` for one request to a resource server
/// (keys `"Authorization"` and `"DPoP"`), the proof carrying `ath` and `htu` = `url` without
/// query and fragment. When the server answers 401 with `WWW-Authenticate: DPoP
/// error="use_dpop_nonce"`, call again with `nonce:` its `DPoP-Nonce` header.
/// Throws `FlowError` `invalid_signature` when the signer returns neither raw nor DER ES256.
public func dpopHeaders(method: String, url: String, accessToken: String, signer: DpopSigner,
                        nonce: String? = nil, clock: () -> UInt64 = { unixMs() }) async throws -> [String: String] {
    let dpop = try Dpop(config: try dpopConfig(signer, deviceRequest: false))
    if let nonce {
        // The core files the nonce under the URL's origin, as it would from a response.
        _ = try dpop.handleResponse(url: url, response: HttpResponse(status: 200, headers: [Header(name: "DPoP-Nonce", value: nonce)], body: Data()))
    }
    let input = try dpop.resourceInput(method: method.uppercased(), url: url, accessToken: accessToken, now: clock())
    let signature = try await signer.sign(Data(input.utf8))
    var out: [String: String] = [:]
    for h in try dpopResourceHeaders(input: input, signature: signature, accessToken: accessToken) {
        out[h.name == "dpop" ? "DPoP" : h.name == "authorization" ? "Authorization" : h.name] = h.value
    }
    return out
}

// The records are immutable (uniffi.toml): copies with `dpop` set. Keep every field here
// when a record gains one.
extension FlowConfig {
    func with(dpop: DpopConfig?) -> FlowConfig {
        FlowConfig(clientId: clientId, clientSecret: clientSecret, clientAuth: clientAuth, issuer: issuer,
                   deviceAuthorizationEndpoint: deviceAuthorizationEndpoint, tokenEndpoint: tokenEndpoint,
                   scope: scope, params: params, timing: timing, extraTokenTypes: extraTokenTypes, dpop: dpop)
    }
}
extension RefreshConfig {
    func with(dpop: DpopConfig?) -> RefreshConfig {
        RefreshConfig(clientId: clientId, tokenEndpoint: tokenEndpoint, refreshToken: refreshToken,
                      clientSecret: clientSecret, clientAuth: clientAuth, scope: scope, timing: timing,
                      extraTokenTypes: extraTokenTypes, dpop: dpop)
    }
}
extension RevocationConfig {
    func with(dpop: DpopConfig?) -> RevocationConfig {
        RevocationConfig(clientId: clientId, revocationEndpoint: revocationEndpoint, token: token,
                         tokenTypeHint: tokenTypeHint, clientSecret: clientSecret, clientAuth: clientAuth,
                         timing: timing, dpop: dpop)
    }
}
