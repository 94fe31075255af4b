//! Turning `login` flags into a flow configuration: an issuer (discovery), explicit
//! endpoints, or a provider preset; client, secret, scope and extra parameters.

use crate::args::LoginArgs;
use crate::exit::CliError;
use crate::human;
use deviceflow::display::clean_text;
use deviceflow::{ClientAuth, Config, Provider, Secret};

/// What the flow needs plus what the profile records afterwards.
pub struct Plan {
    pub config: Config,
    pub provider: Option<String>,
    pub revocation_endpoint: Option<String>,
    /// Hosts a legitimate verification page may be on (`human::host_is_expected`).
    pub trusted_hosts: Vec<String>,
    /// `--dpop`: the key every request of this login proves possession of (RFC 9449).
    pub dpop_key: Option<deviceflow::SoftwareKey>,
}

/// Turns the flags into a flow configuration.
pub fn plan(args: &LoginArgs) -> Result<Plan, CliError> {
    let secret = args.client_secret.clone().or_else(|| {
        std::env::var("DEVICEFLOW_CLIENT_SECRET")
            .ok()
            .filter(|s| !s.is_empty())
    });
    let client_id = args
        .client_id
        .clone()
        .ok_or_else(|| CliError::input("--client-id is required (or set DEVICEFLOW_CLIENT_ID)"))?;
    let mut trusted = Vec::new();
    let (mut config, provider, mut revocation) = if let Some(name) = &args.provider {
        let p = Provider::from_name(name, args.tenant.as_deref()).ok_or_else(|| {
            CliError::input(format!(
                "unknown provider {:?}; known: {}",
                clean_text(name),
                Provider::NAMES.join(", ")
            ))
        })?;
        let info = p.info();
        trusted.extend(info.verification_hosts.iter().cloned());
        (
            p.config(client_id, secret),
            Some(info.name.clone()),
            info.revocation_endpoint.clone(),
        )
    } else {
        let mut c =
            match (&args.issuer, &args.device_endpoint, &args.token_endpoint) {
                (Some(issuer), _, _) => Config::from_issuer(client_id, issuer.clone()),
                (None, Some(d), Some(t)) => Config::new(client_id, d.clone(), t.clone()),
                _ => return Err(CliError::input(
                    "say where to sign in: --issuer URL, --device-endpoint and --token-endpoint, \
                     or --provider NAME",
                )),
            };
        c.client.client_secret = secret.map(Secret::new);
        (c, None, None)
    };
    if args.issuer.is_some() {
        config.device_authorization_endpoint = args.device_endpoint.clone();
        config.token_endpoint = args.token_endpoint.clone();
    }
    if let Some(method) = &args.client_auth {
        config.client.client_auth = Some(match method.as_str() {
            "basic" => ClientAuth::ClientSecretBasic,
            "post" => ClientAuth::ClientSecretPost,
            _ => ClientAuth::None,
        });
    }
    if config.client.client_secret.is_none() && config.client.auth_method() != ClientAuth::None {
        return Err(CliError::input(format!(
            "{} needs the client secret: set DEVICEFLOW_CLIENT_SECRET (or --client-secret)",
            config.client.auth_method().as_str()
        )));
    }
    if let Some(scope) = &args.scope {
        config.scope = Some(scope.clone()).filter(|s| !s.trim().is_empty());
    }
    for p in &args.params {
        let (name, value) = p
            .split_once('=')
            .filter(|(n, _)| !n.is_empty())
            .ok_or_else(|| {
                CliError::input(format!("--param wants NAME=VALUE, got {:?}", clean_text(p)))
            })?;
        config = config.with_param(name, value);
    }
    if args.revocation_endpoint.is_some() {
        revocation = args.revocation_endpoint.clone();
    }
    for url in [
        &config.issuer,
        &config.device_authorization_endpoint,
        &config.token_endpoint,
    ]
    .into_iter()
    .flatten()
    {
        trusted.extend(human::host_of(url));
    }
    Ok(Plan {
        config,
        provider,
        revocation_endpoint: revocation,
        trusted_hosts: trusted,
        dpop_key: if args.dpop {
            Some(crate::dpop::new_key()?)
        } else {
            None
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;

    fn plan_of(argv: &[&str]) -> Result<Plan, CliError> {
        let mut full = vec!["deviceflow", "login"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full).expect("arguments parse").command {
            Command::Login(a) => plan(&a),
            _ => unreachable!(),
        }
    }

    #[test]
    fn provider_presets_fill_the_endpoints() {
        let p = plan_of(&["--provider", "github", "--client-id", "Iv1.abc"]).unwrap();
        assert_eq!(
            p.config.device_authorization_endpoint.as_deref(),
            Some("https://github.com/login/device/code")
        );
        assert_eq!(p.provider.as_deref(), Some("github"));
        assert!(p.trusted_hosts.contains(&"github.com".to_string()));
        let p = plan_of(&[
            "--provider",
            "microsoft",
            "--tenant",
            "organizations",
            "--client-id",
            "x",
        ])
        .unwrap();
        assert!(p.config.token_endpoint.unwrap().contains("/organizations/"));
        assert!(plan_of(&["--provider", "myspace", "--client-id", "x"]).is_err());
    }

    #[test]
    fn issuer_endpoints_params_and_auth() {
        let p = plan_of(&[
            "--issuer",
            "https://auth.example.com",
            "--client-id",
            "cli",
            "--scope",
            "openid",
            "--param",
            "audience=https://api.example.com",
            "--param",
            "resource=a=b",
            "--client-secret",
            "s3",
            "--client-auth",
            "post",
        ])
        .unwrap();
        assert_eq!(p.config.issuer.as_deref(), Some("https://auth.example.com"));
        assert_eq!(p.config.params.len(), 2);
        assert_eq!(p.config.params[1].value, "a=b");
        assert_eq!(p.config.client.auth_method(), ClientAuth::ClientSecretPost);
        assert!(p.trusted_hosts.contains(&"auth.example.com".to_string()));
        let e = plan_of(&[
            "--issuer",
            "https://a.example",
            "--client-id",
            "c",
            "--param",
            "novalue",
        ]);
        assert_eq!(e.err().unwrap().exit, crate::exit::INVALID_INPUT);
        let e = plan_of(&[
            "--issuer",
            "https://a.example",
            "--client-id",
            "c",
            "--client-auth",
            "basic",
        ]);
        assert!(e
            .err()
            .unwrap()
            .message
            .contains("DEVICEFLOW_CLIENT_SECRET"));
        assert!(plan_of(&["--client-id", "c"]).is_err(), "no server given");
    }
}
