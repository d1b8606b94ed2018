//! `[resources]` lines for the tests' manifests: the presets they repeat ([`SMALL`],
//! [`FAULTY`]) and a `const` builder for the others ([`limits`]). A [`Resources`]
//! displays as the section's body, without its `[resources]` header.

use std::fmt;

/// 16 MiB of memory and a 1 MiB stack, no fuel or time limit of its own: room for the
/// small guests (`echo`, `counter`, `sandbox`).
pub const SMALL: Resources = limits("16MiB", "1MiB");

/// The `faulty` guest's usual limits: 32 MiB, a 512 KiB stack, 10 M fuel and 100 ms a
/// message, so `trap`, `burn`, `grow` and `sleep 5000` each meet their own limit quickly.
pub const FAULTY: Resources = limits("32MiB", "512KiB").fuel(10_000_000).time_ms(100);

/// `[resources]` lines: the sizes as the manifest writes them (`"32MiB"`) and, if set,
/// fuel and a deadline per message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    memory: &'static str,
    stack: &'static str,
    fuel: Option<u64>,
    time_ms: Option<u64>,
}

/// `max_memory` and `max_stack`, the two required lines; add [`Resources::fuel`] and
/// [`Resources::time_ms`] as needed.
pub const fn limits(memory: &'static str, stack: &'static str) -> Resources {
    Resources {
        memory,
        stack,
        fuel: None,
        time_ms: None,
    }
}

impl Resources {
    /// Sets `max_fuel_per_execution`.
    #[must_use]
    pub const fn fuel(self, fuel: u64) -> Resources {
        Resources {
            fuel: Some(fuel),
            ..self
        }
    }

    /// Sets `max_execution_time_ms`.
    #[must_use]
    pub const fn time_ms(self, time_ms: u64) -> Resources {
        Resources {
            time_ms: Some(time_ms),
            ..self
        }
    }
}

impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "max_memory = \"{}\"\nmax_stack = \"{}\"",
            self.memory, self.stack
        )?;
        if let Some(fuel) = self.fuel {
            write!(f, "\nmax_fuel_per_execution = {fuel}")?;
        }
        if let Some(time_ms) = self.time_ms {
            write!(f, "\nmax_execution_time_ms = {time_ms}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lines_are_those_the_tests_wrote_by_hand() {
        assert_eq!(
            SMALL.to_string(),
            "max_memory = \"16MiB\"\nmax_stack = \"1MiB\""
        );
        assert_eq!(
            FAULTY.to_string(),
            "max_memory = \"32MiB\"\nmax_stack = \"512KiB\"\nmax_fuel_per_execution = 10000000\nmax_execution_time_ms = 100"
        );
        assert_eq!(
            limits("32MiB", "512KiB").time_ms(50).to_string(),
            "max_memory = \"32MiB\"\nmax_stack = \"512KiB\"\nmax_execution_time_ms = 50"
        );
    }
}
