//! The verification pages' HTML. Plain forms, no JavaScript; every value is escaped, the
//! mount prefix (`base`) included.

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
.who{margin:0 0 1rem}.inline{display:inline}
button.link{border:0;padding:0;min-width:0;background:none;color:#1a56c4;text-decoration:underline;
 font-size:inherit;cursor:pointer}
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

/// Who the entry page is for.
pub enum Visitor<'a> {
    /// Dev sign-in, nobody yet: the form asks for a name (kept as typed on an error).
    AskName { username: &'a str },
    /// Signed in: shown with a "Not you?" button.
    SignedIn { name: &'a str },
}

/// "Not you?": forgets the user on these pages (POST, CSRF-protected).
fn not_you(base: &str, csrf: &str, label: &str) -> String {
    format!(
        "<form class=\"inline\" method=\"post\" action=\"{base}/device/signout\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <button type=\"submit\" class=\"link\" id=\"not-you\">{label}</button></form>",
        base = escape(base),
        csrf = escape(csrf),
    )
}

/// Code entry for a signed-in user (or, with the dev sign-in, a name and a code).
pub fn entry_page(
    base: &str,
    csrf: &str,
    user_code: &str,
    visitor: Visitor<'_>,
    error: Option<&str>,
) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let (who, name_box) = match visitor {
        Visitor::SignedIn { name } => (
            format!(
                "<div class=\"who\" id=\"signed-in\">Signed in as <strong>{}</strong>. {}</div>",
                escape(name),
                not_you(base, csrf, "Not you?")
            ),
            String::new(),
        ),
        Visitor::AskName { username } => (
            String::new(),
            format!(
                "<label for=\"username\">Your name</label>\
                 <input type=\"text\" id=\"username\" name=\"username\" value=\"{}\" \
                  autocomplete=\"username\" required maxlength=\"64\">",
                escape(username)
            ),
        ),
    };
    let body = format!(
        "<h1>Sign in a device</h1>{error}{who}\
         <p>Enter the code shown on your device.</p>\
         <form method=\"post\" action=\"{base}/device\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{name_box}\
         <label for=\"user_code\">Code</label>\
         <input type=\"text\" id=\"user_code\" name=\"user_code\" value=\"{code}\" \
          placeholder=\"XXXX-XXXX\" autocomplete=\"off\" autocapitalize=\"characters\" \
          spellcheck=\"false\" required maxlength=\"32\">\
         <div class=\"row\"><button type=\"submit\" id=\"continue\">Continue</button></div></form>\
         <p class=\"muted\">We will never e-mail, text or message you a code to enter here.</p>",
        base = escape(base),
        csrf = escape(csrf),
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
    base: &str,
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
         <dt>Signed in as</dt><dd>{user}, {not_you}</dd></dl>{elsewhere}\
         <form method=\"post\" action=\"{base}/device/confirm\">\
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
        not_you = not_you(base, csrf, "not you?"),
        base = escape(base),
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

pub fn forbidden_page(base: &str) -> String {
    let body = format!(
        "<h1>This form has expired</h1><p class=\"error\">The request could not be \
         verified. <a href=\"{}/device\">Start again</a>.</p>",
        escape(base)
    );
    layout("Start again", "forbidden", &body)
}

/// A page that only says something: `outcome` names it for tests (`data-outcome`), `link` is
/// where to go on (a link, never a redirect: see the sign-in pages).
pub fn message_page(
    title: &str,
    outcome: &str,
    text: &str,
    error: bool,
    link: Option<(&str, &str)>,
) -> String {
    let class = if error {
        " class=\"error\" role=\"alert\""
    } else {
        ""
    };
    let link = link
        .map(|(href, label)| {
            format!(
                "<p><a href=\"{}\" id=\"next\">{}</a></p>",
                escape(href),
                escape(label)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>{}</h1><p{class}>{}</p>{link}",
        escape(title),
        escape(text)
    );
    layout(title, outcome, &body)
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

/// "Your devices": each live grant with a Revoke button (a POST with the CSRF token).
pub fn grants_page(
    base: &str,
    csrf: &str,
    user: &str,
    rows: &[crate::engine::DeviceGrant],
) -> String {
    let items: String = rows
        .iter()
        .map(|r| {
            let g = &r.summary;
            let claimed = if r.client_is_public {
                " <span class=\"muted\">(name given by the app itself)</span>"
            } else {
                ""
            };
            let scopes: String = g
                .scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(|s| format!("<code>{}</code> ", escape(s)))
                .collect();
            format!(
                "<li class=\"grant\"><dl><dt>App</dt><dd>{name}{claimed}</dd>\
                 <dt>Access</dt><dd>{scopes}</dd>\
                 <dt>Approved</dt><dd>{approved}</dd>\
                 <dt>Device network</dt><dd>{from}</dd>\
                 <dt>Last used</dt><dd>{used}</dd></dl>\
                 <form method=\"post\" action=\"{base}/device/grants/revoke\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <input type=\"hidden\" name=\"grant\" value=\"{grant}\">\
                 <button type=\"submit\">Revoke</button></form></li>",
                name = escape(&r.client_name),
                approved = utc(g.approved_at_ms),
                from = escape(&g.device_source),
                used = utc(g.last_used_ms),
                base = escape(base),
                csrf = escape(csrf),
                grant = escape(&g.grant_id),
            )
        })
        .collect();
    let list = if rows.is_empty() {
        "<p id=\"no-devices\">No device is signed in with your account.</p>".to_owned()
    } else {
        format!("<ul class=\"grants\">{items}</ul>")
    };
    let body = format!(
        "<h1>Your devices</h1><p>Signed in as {user}. These devices can use your account; \
         revoke any you don't recognise: it is signed out at once.</p>{list}",
        user = escape(user)
    );
    layout("Your devices", "grants", &body)
}
