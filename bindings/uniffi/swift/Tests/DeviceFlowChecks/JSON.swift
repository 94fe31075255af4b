import Foundation

/// A JSON value decoded with Foundation's JSONDecoder (which, unlike
/// JSONSerialization, never confuses `true` with `1`).
indirect enum JSON: Codable, Equatable {
    case null, bool(Bool), uint(UInt64), int(Int64), double(Double), string(String)
    case array([JSON]), object([String: JSON])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let u = try? c.decode(UInt64.self) { self = .uint(u) }
        else if let i = try? c.decode(Int64.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSON].self)) }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .uint(let u): try c.encode(u)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    static func parse(_ data: Data) throws -> JSON { try JSONDecoder().decode(JSON.self, from: data) }
    var text: String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
    }

    subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    var string: String? { if case .string(let s) = self { return s }; return nil }
    var uint: UInt64? { if case .uint(let u) = self { return u }; return nil }
    var isNull: Bool { self == .null }

    /// Numbers compare by value whatever their case.
    var number: Double? {
        switch self {
        case .uint(let u): return Double(u)
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
}

extension Optional where Wrapped == String { var json: JSON { map { .string($0) } ?? .null } }
extension Optional where Wrapped == UInt64 { var json: JSON { map { .uint($0) } ?? .null } }
extension Optional where Wrapped == UInt16 { var json: JSON { map { .uint(UInt64($0)) } ?? .null } }
