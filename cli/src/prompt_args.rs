//! The flags that choose how the verification link is shown, shared by `login` and `demo`.

use clap::Args;

/// `--qr/--no-qr` and `--open/--no-open`: each is on, off, or left to the terminal (`None`).
#[derive(Args, Clone, Debug, Default)]
pub struct PromptArgs {
    /// Show a QR code of the verification link (default: when stderr is a terminal).
    #[arg(long, overrides_with = "no_qr")]
    qr: bool,
    /// Never show a QR code.
    #[arg(long, overrides_with = "qr")]
    no_qr: bool,
    /// Open the browser (default: only where one can exist: not over SSH, in CI or a
    /// container; never with `demo --auto-approve`).
    #[arg(long, overrides_with = "no_open")]
    open: bool,
    /// Never open a browser.
    #[arg(long, overrides_with = "open")]
    no_open: bool,
}

impl PromptArgs {
    /// Neither a QR code nor a browser, whatever the terminal (`deviceflow mcp`).
    pub fn neither() -> Self {
        PromptArgs {
            no_qr: true,
            no_open: true,
            ..Self::default()
        }
    }

    pub fn qr(&self) -> Option<bool> {
        tri(self.qr, self.no_qr)
    }

    pub fn open(&self) -> Option<bool> {
        tri(self.open, self.no_open)
    }
}

fn tri(on: bool, off: bool) -> Option<bool> {
    match (on, off) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::PromptArgs;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        prompt: PromptArgs,
    }

    fn parse(args: &[&str]) -> PromptArgs {
        Cmd::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .unwrap()
            .prompt
    }

    #[test]
    fn the_last_flag_wins_and_none_leaves_it_to_the_terminal() {
        assert_eq!(parse(&[]).qr(), None);
        assert_eq!(parse(&[]).open(), None);
        assert_eq!(parse(&["--qr"]).qr(), Some(true));
        assert_eq!(parse(&["--qr", "--no-qr"]).qr(), Some(false));
        assert_eq!(parse(&["--no-open", "--open"]).open(), Some(true));
        assert_eq!(parse(&["--no-open"]).open(), Some(false));
        assert_eq!(PromptArgs::neither().qr(), Some(false));
        assert_eq!(PromptArgs::neither().open(), Some(false));
    }
}
