//! Writing to the terminal: one line to stdout that survives a closed pipe.

/// Writes one line to stdout; a closed stdout (`alphahive skill --list | head`) ends the
/// process quietly with 0 instead of panicking, as command-line tools do.
pub fn say(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// `println!` through [`say`]: a closed stdout ends the process quietly.
#[macro_export]
macro_rules! say {
    ($($t:tt)*) => { $crate::console::say(format_args!($($t)*)) };
}
