//! The verification pages' HTML. Plain forms, no JavaScript; every value is escaped.

use crate::engine::PendingDevice;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d1f23;margin:0}
main{max-width:30rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:.75rem;
 box-shadow:0 1px 4px rgba(0,0,0,.1)}
h1{font-size:1.4rem;margin-top:0}
label{display:block;font-weight:600;margin:1rem 0 .3rem}
input[type=text]{width:100%;box-sizing:border-box;font-size:1.1rem;padding:.55rem;
 border:1px solid #9aa0a6;border-radius:.4rem}
input[name=user_code]{font-family:ui-monospace,monospace;letter-spacing:.15em;text-transform:uppercase}
button{font-size:1rem;padding:.7rem 1.2rem;border-radius:.4rem;border:2px solid #1d1f23;
 background:#fff;color:#1d1f23;cursor:pointer;min-width:9rem}
.row{display:flex;gap:1rem;margin-top:1.5rem}.row button{flex:1}
.code{font-family:ui-monospace,monospace;font-size:2rem;letter-spacing:.2em;text-align:center;
 padding:.6rem;border:2px dashed #9aa0a6;border-radius:.5rem}
.warn{background:#fff4e5;border-left:4px solid #e8a33d;padding:.7rem 1rem;margin:1rem 0}
.error{background:#fdecea;border-left:4px solid #d93025;padding:.7rem 1rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem}dt{font-weight:600}dd{margin:0}
.muted{color:#5f6368;font-size:.9rem}
";

fn layout(title: &str, outcome: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head>\
         <body><main data-outcome=\"{outcome}\">{body}</main></body></html>\n",
        title = escape(title),
    )
}

/// Code entry and the minimal local sign-in (a name; there are no accounts on this server).
pub fn entry_page(csrf: &str, user_code: &str, username: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in a device</h1>{error}\
         <p>Enter the code shown on your device.</p>\
         <form method=\"post\" action=\"/device\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"username\">Your name</label>\
         <input type=\"text\" id=\"username\" name=\"username\" value=\"{username}\" \
          autocomplete=\"username\" required maxlength=\"64\">\
         <label for=\"user_code\">Code</label>\
         <input type=\"text\" id=\"user_code\" name=\"user_code\" value=\"{code}\" \
          placeholder=\"XXXX-XXXX\" autocomplete=\"off\" autocapitalize=\"characters\" \
          spellcheck=\"false\" required maxlength=\"32\">\
         <div class=\"row\"><button type=\"submit\">Continue</button></div></form>\
         <p class=\"muted\">We will never e-mail, text or message you a code to enter here.</p>",
        csrf = escape(csrf),
        username = escape(username),
        code = escape(user_code),
    );
    layout("Sign in a device", "entry", &body)
}

/// The explicit confirmation (RFC 8628 §3.3, §5.4): who asks, for what, the code to compare,
/// when; deny and approve side by side, same size, neither focused.
///
/// `here` is the browser's own network (address key): when the device asked from another one,
/// the page says so (RFC 10027's proximity signal; a warning, never a block: a TV on Wi-Fi and a
/// phone on mobile data differ too).
pub fn confirm_page(
    csrf: &str,
    p: &PendingDevice,
    username: &str,
    here: &str,
    now_ms: i64,
) -> String {
    let scopes: String = p
        .scopes
        .iter()
        .map(|s| format!("<li><code>{}</code></li>", escape(s)))
        .collect();
    let claimed = if p.client_is_public {
        " <span class=\"muted\">(name given by the app itself)</span>"
    } else {
        ""
    };
    let ago = (now_ms - p.created_at_ms).max(0) / 1000;
    let elsewhere = if p.source == here {
        String::new()
    } else {
        format!(
            "<p class=\"warn\" id=\"other-network\">The device asked from another network \
             ({}) than this browser ({}). That is normal for a phone on mobile data; if the \
             device is not in front of you, deny.</p>",
            escape(&p.source),
            escape(here)
        )
    };
    let body = format!(
        "<h1>Sign in a device to {name}?</h1>\
         <p class=\"warn\"><strong>Only continue if you started this sign-in yourself, on a device \
          in front of you.</strong> If someone sent you this code, deny.</p>\
         <p>Check that this code matches the one on your device:</p>\
         <p class=\"code\" id=\"user-code\">{code}</p>\
         <dl><dt>App</dt><dd>{name}{claimed} <span class=\"muted\">({client_id})</span></dd>\
         <dt>Access</dt><dd><ul>{scopes}</ul></dd>\
         <dt>Requested</dt><dd>{when} ({ago} s ago) from {source}</dd>\
         <dt>Signed in as</dt><dd>{user}</dd></dl>{elsewhere}\
         <form method=\"post\" action=\"/device/confirm\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <div class=\"row\">\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
         </div></form>",
        name = escape(&p.client_name),
        client_id = escape(&p.client_id),
        code = escape(&p.user_code),
        when = utc(p.created_at_ms),
        source = escape(&p.source),
        user = escape(username),
        csrf = escape(csrf),
    );
    layout("Confirm device sign-in", "confirm", &body)
}

pub fn done_page(approved: bool, client_name: &str) -> String {
    let (title, outcome, text) = if approved {
        (
            "Device signed in",
            "approved",
            "You approved the request. You can return to your device.",
        )
    } else {
        (
            "Request denied",
            "denied",
            "You denied the request. The device will not be signed in.",
        )
    };
    let body = format!(
        "<h1>{title}</h1><p>{text}</p><p class=\"muted\">App: {}</p>",
        escape(client_name)
    );
    layout(title, outcome, &body)
}

pub fn forbidden_page() -> String {
    let body = "<h1>This form has expired</h1><p class=\"error\">The request could not be \
                verified. <a href=\"/device\">Start again</a>.</p>";
    layout("Start again", "forbidden", body)
}

/// `YYYY-MM-DD HH:MM:SS UTC` from Unix ms (Howard Hinnant's civil-from-days).
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
