//! The `ejtp` command-line node (a skeleton until the adapters issue fills it in).

fn main() {
    eprintln!("ejtp: no commands yet");
    std::process::exit(2);
}
