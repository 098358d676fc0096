//! `make drill`: a failover game day against the drover AWS emulator, the state machine from
//! infra/ executed locally with the real function binaries as Lambdas. Prints the timeline and
//! writes it as Markdown and SVG under reports/.
//!
//! usage: drover-drill [--scenario unplanned|planned|drill|failback|route53-down|all]
//!                     [--speed N] [--primary REGION] [--standby REGION] [--reports DIR] [--no-build]

use drover_drill::{Options, Scenario, run};

fn args() -> Result<(Vec<Scenario>, Options), String> {
    let mut o = Options::default();
    let mut scenarios = vec![Scenario::Unplanned];
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--scenario" => {
                let v = value()?;
                scenarios = if v == "all" {
                    Scenario::ALL.to_vec()
                } else {
                    vec![Scenario::parse(&v).ok_or_else(|| format!("unknown scenario {v:?}: unplanned, planned, drill, failback, route53-down or all"))?]
                };
            }
            "--speed" => o.speed = value()?.parse().map_err(|e| format!("--speed: {e}"))?,
            "--primary" => o.primary = value()?,
            "--standby" => o.standby = value()?,
            "--reports" => o.reports = value()?.into(),
            "--no-build" => o.build = false,
            "--help" | "-h" => return Err("usage: drover-drill [--scenario unplanned|planned|drill|failback|route53-down|all] [--speed N] [--primary R] [--standby R] [--reports DIR] [--no-build]".into()),
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    if !(o.speed > 0.0) {
        return Err("--speed must be positive".into());
    }
    Ok((scenarios, o))
}

fn main() {
    let (scenarios, mut options) = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut failed = false;
    for s in scenarios {
        match run(s, &options) {
            Ok(outcome) => {
                println!("{}", outcome.report.text());
                match outcome.report.write(&options.reports, &format!("drill-{}", s.name())) {
                    Ok((md, svg)) => println!("report: {}\ntimeline: {}\n", md.display(), svg.display()),
                    Err(e) => eprintln!("could not write the report under {}: {e}", options.reports.display()),
                }
                if outcome.executions.iter().any(|e| !e.succeeded()) {
                    failed = true;
                }
            }
            Err(e) => {
                eprintln!("drill {} failed: {e}", s.name());
                failed = true;
            }
        }
        options.build = false;
    }
    if failed {
        std::process::exit(1);
    }
}
