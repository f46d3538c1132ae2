//! Rendering: results to stdout, either human-readable or as exactly one JSON envelope
//! `{schema_version, ok, data, errors}`; logs and progress go to stderr elsewhere. A check
//! that fails still carries its report as `data` (`ok: false`), so scripts see every check.

use std::io::Write;

use serde::Serialize;

use crate::error::CliError;

/// Version of the `--json` envelope; bump on incompatible changes of any `data` shape.
pub const SCHEMA_VERSION: u32 = 1;

/// Something a command produced: serializable for `--json`, printable for people.
pub trait Report: Serialize {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()>;
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    schema_version: u32,
    ok: bool,
    data: Option<&'a T>,
    errors: Vec<ErrorEntry>,
}

#[derive(Serialize)]
struct ErrorEntry {
    kind: &'static str,
    message: String,
}

/// Where and how results are written.
#[derive(Clone, Debug)]
pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Print a command's result: the envelope under `--json`, the rendering otherwise.
    pub fn report<R: Report>(&self, report: &R) -> Result<(), CliError> {
        let mut stdout = std::io::stdout().lock();
        if self.json {
            write_envelope(&mut stdout, Some(report), Vec::new())?;
        } else {
            report.render(&mut stdout)?;
        }
        stdout.flush()?;
        Ok(())
    }

    /// A check that ran and failed, as the command's error (exit 1). People get the report
    /// now and `error: …` on stderr from `main`; under `--json` the report travels in the
    /// error, so `main` prints one envelope with `ok: false`, the report as `data` and
    /// `error` in `errors`.
    pub fn report_failed<R: Report>(&self, report: &R, error: anyhow::Error) -> CliError {
        if !self.json {
            return match self.report(report) {
                // Keeps a broken pipe a broken pipe (exit 0), as for a passing report.
                Err(print_error) => print_error,
                Ok(()) => CliError::failed(error),
            };
        }
        match serde_json::to_value(report) {
            Ok(data) => CliError::check_failed(error, data),
            // Only a map with non-string keys fails here; the error still gets out.
            Err(serialize) => CliError::failed(
                error.context(format!("the report could not be serialized ({serialize})")),
            ),
        }
    }

    /// Under `--json`, print `data` as an envelope line now: a long-running command's news
    /// that scripts need before it ends (`up`'s endpoints once they listen). Nothing
    /// otherwise: people get `line`s.
    pub fn json_line<T: Serialize>(&self, data: &T) -> Result<(), CliError> {
        if !self.json {
            return Ok(());
        }
        let mut stdout = std::io::stdout().lock();
        write_envelope(&mut stdout, Some(data), Vec::new())?;
        stdout.flush()?;
        Ok(())
    }

    /// Print a line of progressive human output (long-running commands); nothing under
    /// `--json`, whose single envelope comes at the end.
    pub fn line(&self, line: &str) -> Result<(), CliError> {
        if self.json {
            return Ok(());
        }
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{line}")?;
        stdout.flush()?;
        Ok(())
    }

    /// Report a failure: one envelope on stdout under `--json`, `error: ...` on stderr
    /// otherwise. Errors while printing are ignored: there is nowhere left to report them.
    pub fn error(&self, error: &CliError) {
        if self.json {
            let entry = ErrorEntry {
                kind: error.kind(),
                message: error.message(),
            };
            let mut stdout = std::io::stdout().lock();
            let _ = write_envelope(&mut stdout, error.report(), vec![entry]);
            let _ = stdout.flush();
        } else {
            eprintln!("error: {}", error.message());
        }
    }
}

fn write_envelope<T: Serialize>(
    out: &mut dyn Write,
    data: Option<&T>,
    errors: Vec<ErrorEntry>,
) -> std::io::Result<()> {
    let envelope = Envelope {
        schema_version: SCHEMA_VERSION,
        ok: errors.is_empty(),
        data,
        errors,
    };
    // One line, so that a reader of a long-running command's stdout can take it as soon as
    // it is printed.
    serde_json::to_writer(&mut *out, &envelope).map_err(std::io::Error::other)?;
    writeln!(out)
}

/// A plain table for human output.
pub fn table(header: &[&str]) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table
        .load_style(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.iter().map(|h| h.to_uppercase()));
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_envelope_shape() {
        let mut buf = Vec::new();
        write_envelope(&mut buf, Some(&serde_json::json!({"a": 1})), Vec::new()).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text.lines().count(), 1);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"schema_version": SCHEMA_VERSION, "ok": true, "data": {"a": 1}, "errors": []})
        );
    }

    #[test]
    fn error_envelope_shape() {
        let mut buf = Vec::new();
        let errors = vec![ErrorEntry {
            kind: "usage",
            message: "bad".into(),
        }];
        write_envelope::<()>(&mut buf, None, errors).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(value["ok"], false);
        assert_eq!(value["data"], serde_json::Value::Null);
        assert_eq!(value["errors"][0]["kind"], "usage");
    }

    #[test]
    fn a_failed_check_under_json_carries_its_report() {
        #[derive(Serialize)]
        struct Checks {
            passed: Vec<&'static str>,
            failed: Vec<&'static str>,
        }
        impl Report for Checks {
            fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
                writeln!(out, "{} failed", self.failed.len())
            }
        }
        let report = Checks {
            passed: vec!["chain id"],
            failed: vec!["gas price"],
        };
        let error = Output::new(true).report_failed(&report, anyhow::anyhow!("unhealthy"));
        assert_eq!(error.exit_code(), 1);

        let mut buf = Vec::new();
        let entry = ErrorEntry {
            kind: error.kind(),
            message: error.message(),
        };
        write_envelope(&mut buf, error.report(), vec![entry]).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "schema_version": SCHEMA_VERSION,
                "ok": false,
                "data": {"passed": ["chain id"], "failed": ["gas price"]},
                "errors": [{"kind": "failed", "message": "unhealthy"}],
            })
        );
    }
}
