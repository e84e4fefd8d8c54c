//! What a typed line means: a broadcast, or one of the slash commands.

/// One line of input.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// Nothing to do (an empty line).
    Empty,
    /// Text for every member.
    Broadcast(String),
    /// `/msg NAME TEXT`: text for one member.
    Direct {
        /// The member's name.
        to: String,
        /// The text.
        text: String,
    },
    /// `/peers`: list the roster.
    Peers,
    /// `/exit`: leave and stop.
    Exit,
    /// A slash command this program does not know, or a `/msg` without text.
    Unknown(String),
}

/// Reads a line as typed (without its line ending).
pub(crate) fn parse(line: &str) -> Line {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Line::Empty;
    }
    let Some(command) = line.strip_prefix('/') else {
        return Line::Broadcast(line.to_string());
    };
    let (word, rest) = command.split_once(' ').unwrap_or((command, ""));
    match word {
        "peers" if rest.trim().is_empty() => Line::Peers,
        "exit" if rest.trim().is_empty() => Line::Exit,
        "msg" => match rest.trim_start().split_once(' ') {
            Some((to, text)) if !text.trim().is_empty() => Line::Direct {
                to: to.to_string(),
                text: text.to_string(),
            },
            _ => Line::Unknown(line.to_string()),
        },
        _ => Line::Unknown(line.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_broadcasts_unless_they_are_commands() {
        assert_eq!(
            parse("hello there\n"),
            Line::Broadcast("hello there".into())
        );
        assert_eq!(parse("   "), Line::Empty);
        assert_eq!(parse("/peers"), Line::Peers);
        assert_eq!(parse("/exit\r\n"), Line::Exit);
        assert_eq!(
            parse("/msg bob hi bob"),
            Line::Direct {
                to: "bob".into(),
                text: "hi bob".into()
            }
        );
        assert_eq!(parse("/msg bob"), Line::Unknown("/msg bob".into()));
        assert_eq!(parse("/nope"), Line::Unknown("/nope".into()));
    }
}
