import DeviceFlowKit
import Foundation

/// End to end against the real node-oidc-provider with the default URLSession
/// transport. The test runs in a chroot without Node, so approval is handed to
/// tests/suites/swift.sh through files: `<id>.req` holds "USER-CODE approve|deny",
/// and the script runs tests/e2e/approve.mjs for it.
enum E2e {
    static func ask(_ dir: URL, _ code: String, deny: Bool) throws {
        let req = "\(code) \(deny ? "deny" : "approve")\n"
        let name = UUID().uuidString
        try Data(req.utf8).write(to: dir.appendingPathComponent("\(name).tmp"))
        try FileManager.default.moveItem(at: dir.appendingPathComponent("\(name).tmp"), to: dir.appendingPathComponent("\(name).req"))
    }

    static func all(_ c: Checks, issuer: String, handoff: URL) async {
        var saved: TokenSet?
        await c.check("e2e discover(): metadata of the real provider") {
            let meta = try await discover(issuer: issuer)
            try expect(meta.issuer == issuer && meta.deviceAuthorizationEndpoint == "\(issuer)/device/auth", "\(meta)")
        }
        await c.check("e2e login(): public client via discovery, user approves, tokens never print") {
            let t = try await login(config: FlowConfig(clientId: "public-cli", issuer: issuer, scope: "openid offline_access")) {
                try? ask(handoff, $0.userCode, deny: false)
            }
            try expect(!t.accessToken().isEmpty && t.refreshToken() != nil, "tokens")
            try expect(!"\(t)".contains(t.accessToken()) && !"\(t)".contains(t.refreshToken()!), "leak: \(t)")
            saved = t
        }
        await c.check("e2e refresh() rotates, revoke() revokes, then the token is refused") {
            guard let old = saved, let rt = old.refreshToken() else { throw Failure(description: "no tokens from the login check") }
            let meta = try await discover(issuer: issuer)
            let fresh = try await refresh(config: RefreshConfig(clientId: "public-cli", tokenEndpoint: meta.tokenEndpoint!, refreshToken: rt))
            try expect(fresh.refreshToken() != nil && fresh.refreshToken() != rt, "no rotation")
            let revoked = try await revoke(config: RevocationConfig(clientId: "public-cli", revocationEndpoint: meta.revocationEndpoint!,
                                                                    token: fresh.refreshToken()!, tokenTypeHint: .refreshToken))
            try expect(revoked.status == 200, "\(revoked)")
            do {
                _ = try await refresh(config: RefreshConfig(clientId: "public-cli", tokenEndpoint: meta.tokenEndpoint!, refreshToken: fresh.refreshToken()!))
                throw Failure(description: "revoked token accepted")
            } catch let e as FlowError {
                try expect(e.code() == "invalid_grant", "\(e)")
            }
        }
        await c.check("e2e login(): the user denies -> FlowError(access_denied)") {
            do {
                _ = try await login(config: FlowConfig(clientId: "public-cli", issuer: issuer, scope: "openid")) {
                    try? ask(handoff, $0.userCode, deny: true)
                }
                throw Failure(description: "no error")
            } catch let e as FlowError {
                try expect(e.code() == "access_denied", "\(e)")
            }
        }
        await c.check("e2e login(): client_secret_basic client; a wrong secret fails at once (invalid_client)") {
            let t = try await login(config: FlowConfig(clientId: "basic-cli", clientSecret: "basic-secret", issuer: issuer, scope: "openid")) {
                try? ask(handoff, $0.userCode, deny: false)
            }
            try expect(!t.accessToken().isEmpty, "token")
            do {
                _ = try await login(config: FlowConfig(clientId: "basic-cli", clientSecret: "wrong", issuer: issuer)) { _ in }
                throw Failure(description: "no error")
            } catch let e as FlowError {
                // The 401 (with WWW-Authenticate) reaches the machine on Linux too (see URLSessionTransport).
                try expect(e.code() == "invalid_client", "\(e)")
            }
        }
        await c.check("e2e login(): task cancellation while polling the real server stops at once") {
            try await UnitChecks.cancelsQuickly(after: 1.5) {
                try await login(config: FlowConfig(clientId: "public-cli", issuer: issuer)) { _ in }
            }
        }
    }
}
