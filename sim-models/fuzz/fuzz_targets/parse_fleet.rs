//! Fuzzes the fleet scenario parser: any text, read as TOML and as JSON, is
//! either refused with an error or loaded; loading never panics, and a
//! scenario that loads has an error-free hash and a well-formed config.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sim_models::{Format, load_fleet_scenario};

fn no_files(_: &str) -> Result<String, String> {
    Err("no files".into())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [Format::Toml, Format::Json] {
        match load_fleet_scenario(text, format, &[], &no_files) {
            // Rendering the error must not panic either.
            Err(e) => drop(e.to_string()),
            Ok(s) => {
                assert_eq!(s.hash.len(), 16);
                assert!(!s.config.regions.is_empty() && !s.config.populations.is_empty());
            }
        }
    }
});
