//! drover-deploy: deploys an image to the application's ECS service through CodeDeploy
//! blue/green, in one region or several (one after the other; a region that does not
//! succeed stops the rest), and follows each deployment until it succeeds, rolls back or
//! times out. `make deploy IMAGE=… REGIONS=…` runs it.
//!
//! Names default to what `infra/` creates for `--app` (`drover-<app>-app`, group `app`,
//! hook `drover-<app>-bluegreen-hook`). Credentials and endpoint: the usual AWS chain and
//! `AWS_ENDPOINT_URL`.
//!
//! Exit status: 0 every region succeeded; 1 a deployment failed, rolled back or timed out;
//! 2 bad arguments or an AWS error before or while following.

use std::process::ExitCode;
use std::time::Duration;

use drover_core::aws::ClientFactory;
use drover_core::aws::bluegreen::AwsBlueGreenDeployer;
use drover_core::deploy::rollout::{DeployRequest, FollowOptions, HookEvent, Outcome, deploy_regions};
use drover_core::ports::BlueGreenDeployer;

const USAGE: &str = "usage: drover-deploy --image IMAGE --regions R1[,R2] [--app NAME]
       [--application NAME] [--deployment-group NAME] [--container NAME]
       [--hook FUNCTION | --no-hook] [--hook-events E1,E2] [--timeout-minutes N]
       [--poll-seconds N] [--description TEXT]

IMAGE: a tag (v42), a digest (@sha256:...) kept in each region's repository, or a full
reference (an ECR registry of another region is moved to the region deployed).
Defaults: --app from DROVER_APP; application drover-<app>-app; group app;
hook drover-<app>-bluegreen-hook on AfterAllowTestTraffic,BeforeAllowTraffic;
timeout 90 minutes; poll every 10 s.";

#[derive(Debug)]
struct Args {
    request: DeployRequest,
    regions: Vec<String>,
    options: FollowOptions,
}

fn parse(argv: &[String], env_app: Option<String>) -> Result<Args, String> {
    let mut values = std::collections::BTreeMap::new();
    let mut no_hook = false;
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--no-hook" => no_hook = true,
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with("--") => {
                let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
                values.insert(flag.trim_start_matches("--").to_string(), v.clone());
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let known = [
        "image",
        "regions",
        "app",
        "application",
        "deployment-group",
        "container",
        "hook",
        "hook-events",
        "timeout-minutes",
        "poll-seconds",
        "description",
    ];
    if let Some(k) = values.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!("unknown option --{k}"));
    }
    let get = |k: &str| values.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let image = get("image").ok_or("--image is required (IMAGE=…)")?;
    let regions: Vec<String> = get("regions")
        .ok_or("--regions is required (REGIONS=us-east-1 or us-east-1,us-west-2)")?
        .split([',', ' '])
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    let app = get("app").or(env_app.filter(|a| !a.trim().is_empty()));
    let need_app = |what: &str| format!("--{what} or --app (DROVER_APP) is required");
    let application = get("application")
        .or_else(|| app.as_ref().map(|a| format!("drover-{a}-app")))
        .ok_or_else(|| need_app("application"))?;
    let deployment_group = get("deployment-group").unwrap_or_else(|| "app".to_string());
    let hooks = if no_hook {
        Vec::new()
    } else {
        let function = get("hook")
            .or_else(|| app.as_ref().map(|a| format!("drover-{a}-bluegreen-hook")))
            .ok_or_else(|| need_app("hook"))?;
        let events = get("hook-events").unwrap_or_else(|| "AfterAllowTestTraffic,BeforeAllowTraffic".into());
        events
            .split(',')
            .map(|e| {
                HookEvent::parse(e.trim())
                    .map(|h| (h, function.clone()))
                    .ok_or_else(|| format!("{e:?} is not a lifecycle event an ECS hook can run in"))
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    let number = |k: &str, default: u64, max: u64| -> Result<u64, String> {
        match get(k) {
            None => Ok(default),
            Some(v) => {
                v.parse::<u64>().ok().filter(|n| (1..=max).contains(n)).ok_or(format!("--{k} {v:?}: 1 to {max}"))
            }
        }
    };
    let options = FollowOptions {
        timeout: Duration::from_secs(number("timeout-minutes", 90, 24 * 60)? * 60),
        poll: Duration::from_secs(number("poll-seconds", 10, 600)?),
    };
    let description = get("description").unwrap_or_else(|| format!("drover-deploy {image}"));
    Ok(Args {
        request: DeployRequest {
            image,
            application,
            deployment_group,
            container: get("container"),
            hooks,
            description,
        },
        regions,
        options,
    })
}

fn say(line: &str) {
    println!("{} {line}", chrono::Utc::now().format("%H:%M:%S"));
}

#[tokio::main]
async fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&argv, std::env::var("DROVER_APP").ok()) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("drover-deploy: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let factory = ClientFactory::from_env();
    let mut deployers = Vec::new();
    for region in &args.regions {
        match factory.region(region).await {
            Ok(c) => deployers.push(AwsBlueGreenDeployer::new(&c)),
            Err(e) => {
                eprintln!("drover-deploy: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let refs: Vec<&dyn BlueGreenDeployer> = deployers.iter().map(|d| d as &dyn BlueGreenDeployer).collect();
    say(&format!(
        "deploying {} to {}/{} in {}",
        args.request.image,
        args.request.application,
        args.request.deployment_group,
        args.regions.join(" then ")
    ));
    let results = match deploy_regions(&refs, &args.request, args.options, &mut |l| say(l)).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("drover-deploy: {e}");
            return ExitCode::from(2);
        }
    };
    let mut ok = results.len() == args.regions.len();
    for r in &results {
        let verdict = match &r.outcome {
            Outcome::Succeeded => format!("succeeded: {} runs {}", r.task_definition, r.image),
            Outcome::RolledBack { code, message, rollback_deployment_id, rollback_status } => format!(
                "ROLLED BACK ({code}: {message}); rollback {rollback_deployment_id} {rollback_status}; {} serves again",
                r.previous_task_definition
            ),
            Outcome::Failed { status, code, message } => {
                format!("{status} without rollback ({code}: {message}); check the service by hand")
            }
            Outcome::TimedOut { status } => {
                format!("still {status} when the timeout ran out; it goes on: follow {} yourself", r.deployment_id)
            }
        };
        ok &= r.outcome.is_success();
        say(&format!("{}: {} {verdict}", r.region, r.deployment_id));
    }
    for region in args.regions.iter().skip(results.len()) {
        say(&format!("{region}: not deployed"));
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn defaults_follow_the_infra_names() {
        let a = parse(&args("--image v2 --regions us-east-1,us-west-2"), Some("shop".into())).unwrap();
        assert_eq!(a.regions, ["us-east-1", "us-west-2"]);
        assert_eq!(a.request.application, "drover-shop-app");
        assert_eq!(a.request.deployment_group, "app");
        assert_eq!(a.request.hooks.len(), 2);
        assert_eq!(a.request.hooks[0], (HookEvent::AfterAllowTestTraffic, "drover-shop-bluegreen-hook".to_string()));
        let a =
            parse(&args("--image v2 --regions us-east-1 --application x --no-hook --poll-seconds 1"), None).unwrap();
        assert!(a.request.hooks.is_empty());
        assert_eq!(a.options.poll, Duration::from_secs(1));
    }

    #[test]
    fn bad_arguments_are_named() {
        for (argv, want) in [
            ("--regions us-east-1", "--image"),
            ("--image v2", "--regions"),
            ("--image v2 --regions us-east-1", "--app"),
            ("--image v2 --regions us-east-1 --app s --hook-events Install", "Install"),
            ("--image v2 --regions us-east-1 --app s --timeout-minutes 0", "timeout-minutes"),
            ("--image v2 --regions us-east-1 --app s --colour red", "--colour"),
        ] {
            let e = parse(&args(argv), None).unwrap_err();
            assert!(e.contains(want), "{argv}: {e}");
        }
    }
}
