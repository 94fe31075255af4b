import DeviceFlowKit
import Foundation

/// DPoP without a network: the core's SoftwareKey, the resource helper, the driver's Sign handling.
enum DpopChecks {
    static let key1to32 = Data((1...32).map { UInt8($0) }) // the key of tests/vectors/dpop/

    static func claims(_ proof: String) -> String {
        var b = String(proof.split(separator: ".")[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b.count % 4 != 0 { b += "=" }
        return String(decoding: Data(base64Encoded: b) ?? Data(), as: UTF8.self)
    }

    /// A scripted server recording each request's DPoP header; answers with a DPoP token.
    final class Server: HttpTransport, @unchecked Sendable {
        var proofs: [String] = []
        func send(_ r: HttpRequest) async throws -> HttpResponse {
            proofs.append(r.headers.first { $0.name.lowercased() == "dpop" }?.value ?? "none")
            if r.url.hasSuffix("/device") { return UnitChecks.deviceResponse(interval: 0) }
            return UnitChecks.json(200, #"{"access_token":"at","token_type":"DPoP","expires_in":3600}"#)
        }
    }

    struct BadSigner: DpopSigner {
        func publicJwk() throws -> PublicJwk { try SoftwareKey(bytes: key1to32).publicJwk() }
        func sign(_ input: Data) async throws -> Data { Data(count: 10) }
    }

    static let config = FlowConfig(clientId: "tv", deviceAuthorizationEndpoint: "https://as.example.com/device",
                                   tokenEndpoint: "https://as.example.com/token")

    static func all(_ c: Checks) async {
        await c.check("dpop SoftwareKey: the vectors' key, secret round trip, 64-byte signatures, prints only its jkt") {
            let key = try SoftwareKey(bytes: key1to32)
            let jwk = try key.publicJwk()
            try expect(jwk.x == "UVw9brnjlrkE0_7Kf1T9zQzB6Ze_N13KUVrQpsO0A18" && jwk.kty == "EC" && jwk.crv == "P-256", "\(jwk)")
            try expect(try SoftwareKey.fromSecret(secret: try key.secret()).thumbprint() == key.thumbprint(), "round trip")
            try expect(try key.sign(input: Data("x".utf8)).count == 64, "signature size")
            let text = "\(key)"
            try expect(!text.contains(try key.secret()) && text.contains(try key.thumbprint()), text)
            try expect(try generateSoftwareKey().thumbprint() != key.thumbprint(), "generated key")
            try expect(UnitChecks.code { _ = try SoftwareKey(bytes: Data(count: 32)) } == "invalid_config", "zero key")
            try expect(UnitChecks.code { _ = try SoftwareKey(bytes: Data(count: 5)) } == "invalid_config", "short key")
        }

        await c.check("dpop dpopHeaders(): Authorization DPoP, proof with ath, nonce and htu without query") {
            let signer = SoftwareDpopSigner(key: try SoftwareKey(bytes: key1to32))
            let h = try await dpopHeaders(method: "get", url: "https://rs.example/me?x=1", accessToken: "tok", signer: signer, nonce: "n-1")
            try expect(Set(h.keys) == ["Authorization", "DPoP"] && h["Authorization"] == "DPoP tok", "\(h)")
            let cl = claims(h["DPoP"]!)
            try expect(cl.contains(#""htm":"GET""#) && cl.contains(#""htu":"https://rs.example/me""#), cl)
            try expect(cl.contains(#""nonce":"n-1""#) && cl.contains(#""ath":"#), cl)
            try expect(UnitChecks.code { _ = try dpopResourceHeaders(input: "a.b", signature: Data(count: 3), accessToken: "t") } == "invalid_signature", "bad signature")
        }

        await c.check("dpop driver: every POST carries a proof, DPoP token accepted; bad signatures and missing signers refused") {
            let server = Server()
            let t = try await login(config: config, transport: server, dpop: SoftwareDpopSigner()) { _ in }
            try expect(t.tokenType() == "DPoP" && server.proofs.count == 2 && !server.proofs.contains("none"), "\(server.proofs)")
            do {
                _ = try await login(config: config, transport: Server(), dpop: BadSigner()) { _ in }
                throw Failure(description: "a bad signature was accepted")
            } catch let e as FlowError {
                try expect(e.code() == "invalid_signature", "\(e)")
            }
            let withOwn = FlowConfig(clientId: "tv", deviceAuthorizationEndpoint: "https://as.example.com/device",
                                     tokenEndpoint: "https://as.example.com/token", dpop: try dpopConfig(SoftwareDpopSigner()))
            var refused: Error?
            do { _ = try await login(config: withOwn, transport: Server()) { _ in } } catch { refused = error }
            try expect(refused != nil && !(refused is FlowError) && "\(refused!)".contains("dpop:"), "missing signer: \(String(describing: refused))")
            do {
                _ = try await login(config: config, transport: Server()) { _ in }
                throw Failure(description: "a DPoP token without DPoP was accepted")
            } catch let e as FlowError {
                try expect(e.code() == "invalid_response", "\(e)")
            }
        }
    }
}
