//! infra/ (Terraform, read with hcl-rs) against the code:
//!
//! - every function crate has a Lambda in Terraform and every Lambda a crate;
//! - every environment variable a function reads is set for it (required ones must be; those
//!   with a default in the code may be absent);
//! - each function's IAM actions in Terraform equal the AWS operations drover-core says it calls;
//! - every Task of the state machine names a function that exists, and every placeholder of the
//!   ASL template is passed by `templatefile`.
//!
//! Each test collects every mismatch before it fails, so one run says all that is missing.
//! drover-core is read as source text, not linked: a function whose module does not exist yet
//! (a crate being written) is reported, it does not stop the crate from compiling.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hcl::expr::{Expression, ObjectKey, TraversalOperator};
use hcl::{Block, Body};
use regex::Regex;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

const ORCHESTRATOR: &str = "infra/modules/orchestrator/main.tf";
const ASL: &str = "infra/modules/orchestrator/failover.asl.json";

fn fail_with(problems: &[String], what: &str) {
    assert!(problems.is_empty(), "{what}:\n  - {}", problems.join("\n  - "));
}

// ---------------------------------------------------------------------------------------------
// Terraform, read with hcl-rs
// ---------------------------------------------------------------------------------------------

fn parse_tf(rel: &str) -> Body {
    hcl::parse(&read(rel)).unwrap_or_else(|e| panic!("{rel} is not HCL hcl-rs can read: {e}"))
}

/// Every `locals { … }` attribute of a module file.
fn locals(body: &Body) -> BTreeMap<String, Expression> {
    body.blocks()
        .filter(|b| b.identifier.as_str() == "locals")
        .flat_map(|b| b.body.attributes())
        .map(|a| (a.key.as_str().to_string(), a.expr.clone()))
        .collect()
}

fn local<'a>(locals: &'a BTreeMap<String, Expression>, name: &str) -> &'a Expression {
    locals.get(name).unwrap_or_else(|| panic!("{ORCHESTRATOR} has no local.{name}"))
}

/// `resource "<kind>" "<name>"` (or `data`) blocks of a body.
fn blocks<'a>(body: &'a Body, identifier: &str, kind: &str) -> Vec<&'a Block> {
    body.blocks()
        .filter(|b| b.identifier.as_str() == identifier && b.labels.first().is_some_and(|l| l.as_str() == kind))
        .collect()
}

fn block<'a>(body: &'a Body, identifier: &str, kind: &str, name: &str) -> &'a Block {
    blocks(body, identifier, kind)
        .into_iter()
        .find(|b| b.labels.get(1).is_some_and(|l| l.as_str() == name))
        .unwrap_or_else(|| panic!("{ORCHESTRATOR} has no {identifier} \"{kind}\" \"{name}\""))
}

fn attr<'a>(body: &'a Body, key: &str) -> Option<&'a Expression> {
    body.attributes().find(|a| a.key.as_str() == key).map(|a| &a.expr)
}

fn key_name(k: &ObjectKey) -> Option<String> {
    match k {
        ObjectKey::Identifier(i) => Some(i.as_str().to_string()),
        ObjectKey::Expression(Expression::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn object(e: &Expression) -> Option<BTreeMap<String, &Expression>> {
    match e {
        Expression::Object(o) => o.iter().map(|(k, v)| key_name(k).map(|k| (k, v))).collect(),
        Expression::Parenthesis(e) => object(e),
        _ => None,
    }
}

fn strings(e: &Expression) -> Option<BTreeSet<String>> {
    match e {
        Expression::Array(items) => items
            .iter()
            .map(|i| match i {
                Expression::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// `local.<name>` -> name.
fn local_ref(e: &Expression) -> Option<&str> {
    match e {
        Expression::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
            (Expression::Variable(v), [TraversalOperator::GetAttr(name)]) if v.as_str() == "local" => {
                Some(name.as_str())
            }
            _ => None,
        },
        _ => None,
    }
}

/// `local.<name>[each.key]`, `lookup(local.<name>, each.key, …)`, `try(local.<name>[each.key], …)`
/// -> name: a per-function map.
fn per_function_ref(e: &Expression) -> Option<&str> {
    let each_key = |e: &Expression| {
        matches!(e, Expression::Traversal(t)
        if matches!(&t.expr, Expression::Variable(v) if v.as_str() == "each")
        && matches!(t.operators.as_slice(), [TraversalOperator::GetAttr(k)] if k.as_str() == "key"))
    };
    match e {
        Expression::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
            (Expression::Variable(v), [TraversalOperator::GetAttr(name), TraversalOperator::Index(i)])
                if v.as_str() == "local" && each_key(i) =>
            {
                Some(name.as_str())
            }
            _ => None,
        },
        Expression::FuncCall(f) => match (f.name.name.as_str(), f.args.as_slice()) {
            ("lookup", [map, key, ..]) if each_key(key) => local_ref(map),
            ("try", [first, ..]) => per_function_ref(first),
            _ => None,
        },
        _ => None,
    }
}

/// The orchestrator module, as far as the contracts go.
struct Orchestrator {
    /// `local.function_actions`: function -> the AWS actions Terraform grants it.
    actions: BTreeMap<String, BTreeSet<String>>,
    /// `local.kms_for_sns`: granted on the topic key to every function with sns:Publish.
    kms_for_sns: BTreeSet<String>,
    /// function -> the environment variables its Lambda gets.
    environment: BTreeMap<String, BTreeSet<String>>,
    /// `templatefile(…failover.asl.json, { … })`: placeholder -> the function whose ARN it gets.
    template_vars: BTreeMap<String, Option<String>>,
}

fn orchestrator() -> Orchestrator {
    let body = parse_tf(ORCHESTRATOR);
    let locals = locals(&body);
    let module_call = orchestrator_call();

    let actions: BTreeMap<String, BTreeSet<String>> = object(local(&locals, "function_actions"))
        .expect("local.function_actions is an object literal: function -> [actions]")
        .into_iter()
        .map(|(f, e)| {
            let set = strings(e).unwrap_or_else(|| panic!("local.function_actions[{f}] is a list of string literals"));
            (f, set)
        })
        .collect();
    let kms_for_sns = strings(local(&locals, "kms_for_sns")).expect("local.kms_for_sns is a list of string literals");

    // The Lambdas are exactly the keys of function_actions: for_each = local.function_name,
    // itself `{ for f in keys(local.function_actions) : … }`.
    let lambda = block(&body, "resource", "aws_lambda_function", "this");
    assert_eq!(
        attr(&lambda.body, "for_each").and_then(local_ref),
        Some("function_name"),
        "aws_lambda_function.this must be for_each = local.function_name"
    );
    match local(&locals, "function_name") {
        Expression::ForExpr(f) => assert!(
            matches!(&f.collection_expr, Expression::FuncCall(c)
                if c.name.name.as_str() == "keys" && c.args.len() == 1 && local_ref(&c.args[0]) == Some("function_actions")),
            "local.function_name must iterate keys(local.function_actions)"
        ),
        other => panic!("local.function_name must be a for expression over keys(local.function_actions), is {other:?}"),
    }

    // environment { variables = local.environment | merge(local.environment, <per function>) }
    let variables = lambda
        .body
        .blocks()
        .find(|b| b.identifier.as_str() == "environment")
        .and_then(|b| attr(&b.body, "variables"))
        .expect("aws_lambda_function.this has environment { variables = … }");
    let parts: Vec<&Expression> = match variables {
        Expression::FuncCall(f) if f.name.name.as_str() == "merge" => f.args.iter().collect(),
        e => vec![e],
    };
    let mut environment: BTreeMap<String, BTreeSet<String>> =
        actions.keys().map(|f| (f.clone(), BTreeSet::new())).collect();
    for part in parts {
        if let Some(name) = local_ref(part) {
            let common = object(local(&locals, name)).unwrap_or_else(|| panic!("local.{name} is an object literal"));
            for vars in environment.values_mut() {
                vars.extend(common.keys().cloned());
            }
        } else if let Some(name) = per_function_ref(part) {
            let per = object(local(&locals, name)).unwrap_or_else(|| panic!("local.{name} is an object literal"));
            for (f, vars) in per {
                environment
                    .get_mut(&f)
                    .unwrap_or_else(|| panic!("local.{name} sets variables for {f}, which is not a function"))
                    .extend(static_keys(vars, &module_call));
            }
        } else {
            panic!(
                "environment.variables: cannot read {part:?} (use local.<common> and local.<per function>[each.key])"
            );
        }
    }

    let state_machine = block(&body, "resource", "aws_sfn_state_machine", "this");
    let template_vars = match attr(&state_machine.body, "definition") {
        Some(Expression::FuncCall(f)) if f.name.name.as_str() == "templatefile" && f.args.len() == 2 => {
            let vars = object(&f.args[1]).expect("templatefile's variables are an object literal");
            vars.into_iter().map(|(k, v)| (k, lambda_arn_of(v))).collect()
        }
        other => panic!("aws_sfn_state_machine.this.definition must be templatefile(<asl>, {{ … }}), is {other:?}"),
    };

    Orchestrator { actions, kms_for_sns, environment, template_vars }
}

/// The root module's `module "…" { source = "./modules/orchestrator" … }` arguments.
fn orchestrator_call() -> BTreeMap<String, Expression> {
    let body = parse_tf("infra/main.tf");
    let call = body
        .blocks()
        .find(|b| {
            b.identifier.as_str() == "module"
                && matches!(attr(&b.body, "source"), Some(Expression::String(s)) if s == "./modules/orchestrator")
        })
        .expect("infra/main.tf instantiates ./modules/orchestrator");
    call.body.attributes().map(|a| (a.key.as_str().to_string(), a.expr.clone())).collect()
}

/// The keys an environment map certainly has: object literals, `merge(…)` of them, and a
/// module variable (`var.x`) through what the root passes for it. Anything else (a variable
/// of the root, a function) may be empty, so it contributes nothing: what a function requires
/// must be visible in the code of infra/.
fn static_keys(e: &Expression, module_call: &BTreeMap<String, Expression>) -> BTreeSet<String> {
    match e {
        Expression::Object(_) => object(e).map(|o| o.into_keys().collect()).unwrap_or_default(),
        Expression::Parenthesis(e) => static_keys(e, module_call),
        Expression::FuncCall(f) if f.name.name.as_str() == "merge" => {
            f.args.iter().flat_map(|a| static_keys(a, module_call)).collect()
        }
        Expression::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
            (Expression::Variable(v), [TraversalOperator::GetAttr(name)]) if v.as_str() == "var" => {
                module_call.get(name.as_str()).map(|passed| static_keys(passed, &BTreeMap::new())).unwrap_or_default()
            }
            _ => BTreeSet::new(),
        },
        _ => BTreeSet::new(),
    }
}

/// `aws_lambda_function.this["<function>"].arn` -> function.
fn lambda_arn_of(e: &Expression) -> Option<String> {
    match e {
        Expression::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
            (
                Expression::Variable(v),
                [
                    TraversalOperator::GetAttr(this),
                    TraversalOperator::Index(Expression::String(f)),
                    TraversalOperator::GetAttr(arn),
                ],
            ) if v.as_str() == "aws_lambda_function" && this.as_str() == "this" && arn.as_str() == "arn" => {
                Some(f.clone())
            }
            _ => None,
        },
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// The Rust side
// ---------------------------------------------------------------------------------------------

/// The function crates: workspace members under functions/, and their package names.
fn function_crates() -> BTreeMap<String, String> {
    let manifest = read("Cargo.toml");
    let members = Regex::new(r#"(?s)members\s*=\s*\[(.*?)\]"#).unwrap();
    let body = members.captures(&manifest).expect("root Cargo.toml lists workspace members")[1].to_string();
    Regex::new(r#""(functions/[^"]+)""#)
        .unwrap()
        .captures_iter(&body)
        .map(|c| {
            let dir = c[1].to_string();
            let toml = read(&format!("{dir}/Cargo.toml"));
            let name = Regex::new(r#"(?m)^name\s*=\s*"([^"]+)""#).unwrap().captures(&toml).map(|c| c[1].to_string());
            (dir, name.unwrap_or_default())
        })
        .collect()
}

fn function_names() -> BTreeSet<String> {
    function_crates().into_values().collect()
}

fn snake(function: &str) -> String {
    function.replace('-', "_")
}

/// The drover-core source file that keeps a function's IAM_ACTIONS, next to its code.
fn iam_source(function: &str) -> Vec<String> {
    let s = snake(function);
    let mut candidates = match function {
        "probe" => vec!["shared/src/probe/mod.rs".to_string()],
        "decide" | "readiness" => vec![format!("shared/src/policy/{s}.rs")],
        "bluegreen-hook" => vec!["shared/src/deploy/hook.rs".to_string()],
        _ => vec![],
    };
    // A new step (verify) is found where the steps live.
    candidates.extend([
        format!("shared/src/steps/{s}.rs"),
        format!("shared/src/policy/{s}.rs"),
        format!("shared/src/{s}/mod.rs"),
    ]);
    candidates
}

/// The `pub const IAM_ACTIONS: &[&str] = &[…];` of a source file.
fn declared_actions(src: &str) -> Option<BTreeSet<String>> {
    let re = Regex::new(r#"(?s)pub const IAM_ACTIONS: &\[&str\]\s*=\s*&\[(.*?)\];"#).unwrap();
    let body = re.captures(src)?.get(1)?.as_str().to_string();
    Some(Regex::new(r#""([^"]+)""#).unwrap().captures_iter(&body).map(|c| c[1].to_string()).collect())
}

/// The IAM actions drover-core lists for a function, and the file it found them in.
fn code_actions(function: &str) -> Result<(String, BTreeSet<String>), String> {
    let tried = iam_source(function);
    for rel in &tried {
        if let Ok(src) = std::fs::read_to_string(root().join(rel))
            && let Some(actions) = declared_actions(&src)
        {
            return Ok((rel.clone(), actions));
        }
    }
    Err(format!("no IAM_ACTIONS list for {function} in drover-core (looked in {})", tried.join(", ")))
}

/// drover-core modules a main.rs reaches by path (`drover_core::a::b::…`), as source files.
fn modules_used(main: &str) -> BTreeSet<String> {
    let lib = read("shared/src/lib.rs");
    let mut files = BTreeSet::new();
    let reexport = Regex::new(r"pub use ([a-z_]+)::\{?([^};]*)\}?;").unwrap();
    let path = Regex::new(r"drover_core::((?:[a-z_][a-z0-9_]*::)*)(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)").unwrap();
    for c in path.captures_iter(main) {
        let mut segments: Vec<String> = c[1].split("::").filter(|s| !s.is_empty()).map(String::from).collect();
        let leaf = &c[2];
        if segments.is_empty() {
            // `drover_core::Topology`: a re-export at the crate root (`pub use config::{…}`).
            for r in reexport.captures_iter(&lib) {
                if r[2].split(',').any(|n| n.trim() == leaf) {
                    segments.push(r[1].to_string());
                }
            }
            if leaf.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                segments.push(leaf.to_string());
            }
        } else if leaf.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
            // `drover_core::steps::{…, promote_db}` or `drover_core::aws::codedeploy`: the leaf
            // may itself be a module.
            for l in leaf.trim_matches(|c| c == '{' || c == '}').split(',').map(str::trim) {
                if l.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                    let mut m = segments.clone();
                    m.push(l.to_string());
                    files.extend(module_file(&m));
                }
            }
        } else if leaf.starts_with('{') {
            for l in leaf.trim_matches(|c| c == '{' || c == '}').split(',').map(str::trim) {
                if l.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                    let mut m = segments.clone();
                    m.push(l.to_string());
                    files.extend(module_file(&m));
                }
            }
        }
        // Every prefix that is a module (`drover_core::aws::ClientFactory` -> aws/mod.rs).
        for n in 1..=segments.len() {
            files.extend(module_file(&segments[..n]));
        }
    }
    files
}

fn module_file(segments: &[String]) -> Option<String> {
    let base = format!("shared/src/{}", segments.join("/"));
    [format!("{base}.rs"), format!("{base}/mod.rs")].into_iter().find(|f| root().join(f).is_file())
}

// ---------------------------------------------------------------------------------------------
// 1. Functions: crates <-> Lambdas
// ---------------------------------------------------------------------------------------------

#[test]
fn every_function_crate_has_a_lambda_and_every_lambda_a_crate() {
    let crates = function_crates();
    let tf = orchestrator();
    let mut problems = Vec::new();

    for (dir, name) in &crates {
        let expected = dir.trim_start_matches("functions/");
        if name != expected {
            problems.push(format!(
                "{dir}: package name {name:?} differs from its directory; Terraform deploys target/lambda/<function>/bootstrap.zip under the crate's name"
            ));
        }
    }
    // A crate directory the workspace does not build is not deployed either.
    if let Ok(entries) = std::fs::read_dir(root().join("functions")) {
        for e in entries.flatten() {
            let dir = format!("functions/{}", e.file_name().to_string_lossy());
            if e.path().join("Cargo.toml").is_file() && !crates.contains_key(&dir) {
                problems.push(format!("{dir} has a Cargo.toml but is not a workspace member in Cargo.toml"));
            }
        }
    }

    let names: BTreeSet<String> = crates.values().cloned().collect();
    let lambdas: BTreeSet<String> = tf.actions.keys().cloned().collect();
    for f in names.difference(&lambdas) {
        problems.push(format!(
            "crate functions/{f} has no Lambda in Terraform: add `{f}` to local.function_actions in {ORCHESTRATOR}"
        ));
    }
    for f in lambdas.difference(&names) {
        problems.push(format!(
            "Terraform deploys Lambda `{f}` (local.function_actions in {ORCHESTRATOR}) but there is no crate functions/{f} in the workspace"
        ));
    }

    // No Lambda outside the orchestrator's map: this test could not see it.
    for rel in tf_files() {
        let body = parse_tf(&rel);
        for b in blocks(&body, "resource", "aws_lambda_function") {
            let name = b.labels.get(1).map(|l| l.as_str().to_string()).unwrap_or_default();
            if !(rel == ORCHESTRATOR && name == "this") {
                problems.push(format!(
                    "{rel}: aws_lambda_function.{name} is not driven by local.function_actions (the contracts cannot check it)"
                ));
            }
        }
    }

    fail_with(&problems, "function crates and Terraform Lambdas disagree");
}

fn tf_files() -> Vec<String> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let rel = format!("{rel}/{name}");
            if e.path().is_dir() && !name.starts_with('.') && name != "tests" {
                walk(&e.path(), &rel, out);
            } else if name.ends_with(".tf") {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("infra"), "infra", &mut out);
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// 2. Environment
// ---------------------------------------------------------------------------------------------

/// Variables the code reads with a default (or an off switch) when unset: Terraform may leave
/// them out. Everything else a function reads is required. Keep the reason with each.
const OPTIONAL_ENV: &[(&str, &str)] = &[
    ("RUST_LOG", "telemetry::init falls back to `info`"),
    ("DROVER_PROBE_COUNT", "probe: default 6 probes per run"),
    ("DROVER_PROBE_INTERVAL_MS", "probe: default 7000 ms"),
    ("DROVER_PROBE_TIMEOUT_MS", "probe: default 3000 ms"),
    ("DROVER_PROBE_DB_ENDPOINT", "probe: unset = no TCP check of the peer's Aurora writer"),
    ("DROVER_DECIDE_PEER_TIMEOUT_MS", "decide: default 5000 ms"),
    ("DROVER_HOOK_CONNECT_TO", "bluegreen-hook: unset = connect to the test URL's host"),
    ("DROVER_HOOK_HEALTH_PATH", "bluegreen-hook: default /healthz"),
    ("DROVER_HOOK_SMOKE_PATH", "bluegreen-hook: unset = no smoke request"),
    ("DROVER_HOOK_SMOKE_METHOD", "bluegreen-hook: default GET"),
    ("DROVER_HOOK_SMOKE_BODY", "bluegreen-hook: unset = no body"),
    ("DROVER_HOOK_SMOKE_EXPECT_STATUS", "bluegreen-hook: default 200"),
    ("DROVER_HOOK_SMOKE_EXPECT_BODY", "bluegreen-hook: unset = any body"),
    ("DROVER_HOOK_COUNT", "bluegreen-hook: default 5 rounds"),
    ("DROVER_HOOK_INTERVAL_MS", "bluegreen-hook: default 1000 ms"),
    ("DROVER_HOOK_TIMEOUT_MS", "bluegreen-hook: default 3000 ms"),
    // Not listed, so required: DROVER_DB_SECRET_ID. The code runs without it, but readiness then
    // skips its database-secret check, and a replicated secret is part of a ready standby.
];

/// Environment variables set by the Lambda runtime itself.
const RUNTIME_ENV: &[&str] = &["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME", "AWS_ENDPOINT_URL"];

/// `[pub] const NAME: &str = "VALUE";` in a source file.
fn env_consts(src: &str) -> BTreeMap<String, String> {
    Regex::new(r#"const ([A-Z][A-Z0-9_]*_ENV): &str = "([^"]+)";"#)
        .unwrap()
        .captures_iter(src)
        .map(|c| (c[1].to_string(), c[2].to_string()))
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Code of a file without its `#[cfg(test)] mod tests { … }` (test fixtures set variables too).
fn without_tests(src: &str) -> &str {
    src.find("#[cfg(test)]").map_or(src, |i| &src[..i])
}

/// The variables one source file reads: its own `*_ENV` constants and those it names by path,
/// and `env::var("LITERAL")`.
fn env_read_by(rel: &str, src: &str, all: &BTreeMap<(String, String), String>) -> Result<BTreeSet<String>, String> {
    let src = without_tests(src);
    let own = env_consts(src);
    let mut vars: BTreeSet<String> = own.values().cloned().collect();
    let literal = Regex::new(r#"env::var(?:_os)?\(\s*"([^"]+)"\s*\)"#).unwrap();
    vars.extend(literal.captures_iter(src).map(|c| c[1].to_string()));
    // Constants of other modules: `crate::config::REGION_SELF_ENV`, or imported and named bare.
    let named = Regex::new(r"\b((?:[a-z_][a-z0-9_]*::)*)([A-Z][A-Z0-9_]*_ENV)\b").unwrap();
    for c in named.captures_iter(src) {
        let name = &c[2];
        if own.contains_key(name) {
            continue;
        }
        let module = c[1].trim_end_matches("::").rsplit("::").next().unwrap_or("").to_string();
        let hits: Vec<&String> = all
            .iter()
            .filter(|((file, n), _)| n == name && (module.is_empty() || file_module(file) == module))
            .map(|(_, v)| v)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        match hits.as_slice() {
            [v] => {
                vars.insert((*v).clone());
            }
            [] => {
                return Err(format!("{rel}: {name} is not a constant this test can find in shared/src or functions/"));
            }
            _ => return Err(format!("{rel}: {name} is ambiguous ({hits:?}); name it by its module path")),
        }
    }
    Ok(vars)
}

/// shared/src/policy/decide.rs -> decide; shared/src/probe/mod.rs -> probe.
fn file_module(rel: &str) -> String {
    let p = Path::new(rel);
    let stem = p.file_stem().unwrap().to_string_lossy().to_string();
    if stem == "mod" || stem == "main" || stem == "lib" {
        p.parent().and_then(|d| d.file_name()).map(|d| d.to_string_lossy().to_string()).unwrap_or_default()
    } else {
        stem
    }
}

/// Variables the code makes required: `ConfigError::MissingEnv(<const>)`.
fn required_by_code(all: &BTreeMap<(String, String), String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let missing = Regex::new(r"MissingEnv\(\s*(?:[a-z_][a-z0-9_]*::)*([A-Z][A-Z0-9_]*_ENV)\s*\)").unwrap();
    for (rel, src) in sources() {
        let own = env_consts(&src);
        for c in missing.captures_iter(without_tests(&src)) {
            let name = &c[1];
            if let Some(v) = own.get(name) {
                out.insert(v.clone());
            } else {
                out.extend(all.iter().filter(|((_, n), _)| n == name).map(|(_, v)| v.clone()));
            }
            let _ = &rel;
        }
    }
    out
}

/// Every Rust source of drover-core and the functions, by path from the root.
fn sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&root().join("shared/src"), &mut files);
    rust_files(&root().join("functions"), &mut files);
    let r = root();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&r).unwrap().to_string_lossy().replace('\\', "/");
            let src = std::fs::read_to_string(&p).unwrap();
            (rel, src)
        })
        .collect()
}

#[test]
fn every_environment_variable_a_function_reads_is_set() {
    let all: BTreeMap<(String, String), String> = sources()
        .iter()
        .flat_map(|(rel, src)| env_consts(without_tests(src)).into_iter().map(move |(n, v)| ((rel.clone(), n), v)))
        .collect();
    let optional: BTreeMap<&str, &str> = OPTIONAL_ENV.iter().copied().collect();
    let required_in_code = required_by_code(&all);
    let tf = orchestrator();
    let mut problems = Vec::new();

    for v in &required_in_code {
        if optional.contains_key(v.as_str()) {
            problems
                .push(format!("{v} is listed as optional in this test, but the code fails without it (MissingEnv)"));
        }
    }

    for (dir, function) in function_crates() {
        let main_rel = format!("{dir}/src/main.rs");
        let Ok(main) = std::fs::read_to_string(root().join(&main_rel)) else {
            problems.push(format!("{main_rel} is missing"));
            continue;
        };
        // What main.rs reads itself, and what the drover-core modules it calls read.
        let mut files = vec![(main_rel.clone(), main.clone())];
        for rel in modules_used(&main) {
            files.push((rel.clone(), read(&rel)));
        }
        let mut reads = BTreeSet::new();
        for (rel, src) in &files {
            match env_read_by(rel, src, &all) {
                Ok(v) => reads.extend(v),
                Err(e) => problems.push(e),
            }
        }
        let Some(set) = tf.environment.get(&function) else {
            continue; // reported by the functions test
        };
        for v in &reads {
            if RUNTIME_ENV.contains(&v.as_str()) || optional.contains_key(v.as_str()) || set.contains(v) {
                continue;
            }
            let why = if required_in_code.contains(v) {
                "the function fails at cold start without it (ConfigError::MissingEnv)"
            } else {
                "it is not in this test's OPTIONAL_ENV list of variables with a default"
            };
            problems.push(format!(
                "{function} reads {v} but Terraform does not set it ({why}); set it in {ORCHESTRATOR} (local.environment or the function's own variables)"
            ));
        }
        // Terraform setting a variable no code reads is a typo or a leftover.
        for v in set {
            if !reads.contains(v) && v != "RUST_LOG" {
                problems.push(format!("Terraform sets {v} for {function}, which never reads it"));
            }
        }
    }

    fail_with(&problems, "function environments in Terraform disagree with the code");
}

// ---------------------------------------------------------------------------------------------
// 3. IAM actions
// ---------------------------------------------------------------------------------------------

#[test]
fn each_functions_iam_actions_equal_what_drover_core_says_it_calls() {
    let tf = orchestrator();
    let mut problems = Vec::new();

    for (function, granted) in &tf.actions {
        // Terraform does not list KMS: publishing to the encrypted topic gets kms_for_sns on the
        // topic key. drover-core lists those KMS actions with sns:Publish, so compare with them added.
        let mut effective = granted.clone();
        if granted.contains("sns:Publish") {
            effective.extend(tf.kms_for_sns.iter().cloned());
        }
        for a in granted.iter().filter(|a| a.starts_with("kms:")) {
            problems.push(format!(
                "local.function_actions[{function}] lists {a}: KMS on the topic key comes from kms_for_sns; other keys need their own statement"
            ));
        }
        let (source, calls) = match code_actions(function) {
            Ok(x) => x,
            Err(e) => {
                problems.push(format!("{function}: {e}; Terraform grants it {granted:?}"));
                continue;
            }
        };
        let missing: Vec<_> = calls.difference(&effective).collect();
        let extra: Vec<_> = effective.difference(&calls).collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{function} calls {missing:?} ({source}) but local.function_actions[{function}] does not grant them"
            ));
        }
        if !extra.is_empty() {
            problems.push(format!(
                "local.function_actions[{function}] grants {extra:?} that {function} never calls ({source}): least privilege"
            ));
        }

        // The adapters its main.rs builds itself must be covered by that list.
        let main =
            std::fs::read_to_string(root().join(format!("functions/{function}/src/main.rs"))).unwrap_or_default();
        for rel in modules_used(&main).into_iter().filter(|r| r.starts_with("shared/src/aws/")) {
            if let Some(adapter) = declared_actions(&read(&rel)) {
                let uncovered: Vec<_> = adapter.difference(&calls).collect();
                if !uncovered.is_empty() {
                    problems.push(format!("{function} builds {rel}, which calls {uncovered:?}, missing from {source}"));
                }
            }
        }
    }

    // A crate without a Lambda is reported by the functions test; its list must still exist.
    for f in function_names().difference(&tf.actions.keys().cloned().collect()) {
        if let Err(e) = code_actions(f) {
            problems.push(e);
        }
    }

    // Statements every function gets besides its list: runtime plumbing only, or the list
    // would not be the whole truth (and every role would get the extra action).
    let body = parse_tf(ORCHESTRATOR);
    let policy = block(&body, "data", "aws_iam_policy_document", "functions");
    for st in policy.body.blocks().filter(|b| b.identifier.as_str() == "statement") {
        let actions = attr(&st.body, "actions").and_then(strings).unwrap_or_default();
        let resources = attr(&st.body, "resources").map(refs).unwrap_or_default().join(", ");
        for a in &actions {
            let plumbing = match a.as_str() {
                "logs:CreateLogStream" | "logs:PutLogEvents" => {
                    resources.contains("aws_cloudwatch_log_group.functions")
                }
                "sqs:SendMessage" => resources == "aws_sqs_queue.dlq.arn",
                // The platform key: log group, environment and dead-letter encryption.
                "kms:Decrypt" | "kms:GenerateDataKey" => resources == "var.kms_key_arn",
                _ => false,
            };
            if !plumbing {
                problems.push(format!(
                    "data.aws_iam_policy_document.functions grants {a} on [{resources}] to EVERY function, outside local.function_actions"
                ));
            }
        }
    }

    // The policy really is generated from those lists.
    let src = read(ORCHESTRATOR);
    for needle in
        ["for_each = local.function_actions", "actions   = local.kms_for_sns", "contains(each.value, \"sns:Publish\")"]
    {
        if !src.contains(needle) {
            problems.push(format!("{ORCHESTRATOR}: the functions' policy no longer has `{needle}`"));
        }
    }

    fail_with(&problems, "IAM actions in Terraform disagree with drover-core");
}

/// The references in an expression, as dotted paths (`var.kms_key_arn`,
/// `aws_cloudwatch_log_group.functions[…].arn`); literals as themselves.
fn refs(e: &Expression) -> Vec<String> {
    match e {
        Expression::Array(items) => items.iter().flat_map(refs).collect(),
        Expression::String(s) => vec![s.clone()],
        Expression::Traversal(t) => {
            let mut path = match &t.expr {
                Expression::Variable(v) => v.as_str().to_string(),
                other => refs(other).join(""),
            };
            for op in &t.operators {
                match op {
                    TraversalOperator::GetAttr(a) => path.push_str(&format!(".{}", a.as_str())),
                    _ => path.push_str("[…]"),
                }
            }
            vec![path]
        }
        Expression::TemplateExpr(t) => vec![t.to_string()],
        Expression::FuncCall(f) => f.args.iter().flat_map(refs).collect(),
        _ => vec![format!("{e:?}")],
    }
}

// ---------------------------------------------------------------------------------------------
// 4. The state machine
// ---------------------------------------------------------------------------------------------

/// `${name}` placeholders of a Terraform template string (`$${` is a literal `${`).
fn placeholders(s: &str) -> Vec<String> {
    let re = Regex::new(r"(\$?)\$\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}").unwrap();
    re.captures_iter(s).filter(|c| c[1].is_empty()).map(|c| c[2].to_string()).collect()
}

/// Every state of a state machine, Parallel branches and Map processors included: (path, state).
fn states<'a>(machine: &'a Value, path: &str, out: &mut Vec<(String, &'a Value)>) {
    let Some(children) = machine.get("States").and_then(Value::as_object) else { return };
    for (name, state) in children {
        let here = if path.is_empty() { name.clone() } else { format!("{path}/{name}") };
        out.push((here.clone(), state));
        if let Some(branches) = state.get("Branches").and_then(Value::as_array) {
            for (i, b) in branches.iter().enumerate() {
                states(b, &format!("{here}[{i}]"), out);
            }
        }
        for key in ["ItemProcessor", "Iterator"] {
            if let Some(inner) = state.get(key) {
                states(inner, &here, out);
            }
        }
    }
}

/// The functions a Task invokes: `Resource: "${fn_x}"`, or the lambda:invoke integration with
/// `FunctionName` (JSONPath `Parameters` or JSONata `Arguments`). None: not a Lambda task.
fn task_functions(state: &Value) -> Option<Vec<String>> {
    let resource = state.get("Resource").and_then(Value::as_str).unwrap_or("");
    let direct = placeholders(resource);
    if !direct.is_empty() {
        return Some(direct);
    }
    if resource.contains(":states:::lambda:invoke") {
        let name = ["Parameters", "Arguments"]
            .iter()
            .filter_map(|k| state.get(k))
            .filter_map(|p| p.get("FunctionName").or_else(|| p.get("FunctionName.$")))
            .filter_map(Value::as_str)
            .flat_map(placeholders)
            .collect::<Vec<_>>();
        return Some(name);
    }
    None
}

/// The IAM action of an optimized or SDK integration: `arn:aws:states:::sns:publish.waitForTaskToken`
/// -> sns:Publish; `arn:aws:states:::aws-sdk:dynamodb:updateItem` -> dynamodb:UpdateItem.
fn integration_action(resource: &str) -> Option<String> {
    let rest = resource.split(":states:::").nth(1)?;
    let rest = rest.strip_prefix("aws-sdk:").unwrap_or(rest);
    let (service, op) = rest.split_once(':')?;
    let op = op.split('.').next()?;
    let mut c = op.chars();
    let op = c.next()?.to_ascii_uppercase().to_string() + c.as_str();
    Some(match (service, op.as_str()) {
        ("lambda", "Invoke") => "lambda:InvokeFunction".to_string(),
        ("states", "StartExecution") => "states:StartExecution".to_string(),
        _ => format!("{service}:{op}"),
    })
}

fn all_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| all_strings(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k);
            all_strings(x, out)
        }),
        _ => {}
    }
}

#[test]
fn every_state_machine_task_names_a_function_that_exists() {
    let asl: Value = serde_json::from_str(&read(ASL)).unwrap_or_else(|e| panic!("{ASL} is not valid JSON: {e}"));
    let tf = orchestrator();
    let crates = function_names();
    let mut problems = Vec::new();

    let body = parse_tf(ORCHESTRATOR);
    let machine_actions: BTreeSet<String> = block(&body, "data", "aws_iam_policy_document", "state_machine")
        .body
        .blocks()
        .filter(|b| b.identifier.as_str() == "statement")
        .filter_map(|b| attr(&b.body, "actions").and_then(strings))
        .flatten()
        .collect();

    let mut all = Vec::new();
    states(&asl, "", &mut all);
    assert!(!all.is_empty(), "{ASL} has no States");
    let mut tasks = 0;
    for (path, state) in &all {
        if state.get("Type").and_then(Value::as_str) != Some("Task") {
            continue;
        }
        tasks += 1;
        match task_functions(state) {
            None => {
                // Another service integration: the state machine's own role must allow it.
                let resource = state.get("Resource").and_then(Value::as_str).unwrap_or("");
                match integration_action(resource) {
                    Some(action) if !machine_actions.contains(&action) => problems.push(format!(
                        "Task {path} calls {action} ({resource}) but data.aws_iam_policy_document.state_machine does not allow it"
                    )),
                    Some(action) if action.starts_with("sns:") && !machine_actions.contains("kms:GenerateDataKey") => {
                        problems.push(format!(
                            "Task {path} publishes to an encrypted topic but the state machine's role has no kms:GenerateDataKey"
                        ))
                    }
                    Some(_) => {}
                    None => problems.push(format!("Task {path}: cannot tell what {resource:?} calls")),
                }
            }
            Some(names) if names.is_empty() => problems.push(format!(
                "Task {path} invokes Lambda but its FunctionName is not a ${{fn_<function>}} placeholder"
            )),
            Some(names) => {
                for p in names {
                    let Some(function) = p.strip_prefix("fn_").map(|f| f.replace('_', "-")) else {
                        problems
                            .push(format!("Task {path} invokes ${{{p}}}, which is not a fn_<function> placeholder"));
                        continue;
                    };
                    if !crates.contains(&function) {
                        problems
                            .push(format!("Task {path} invokes {function} (${{{p}}}): no crate functions/{function}"));
                    }
                    if !tf.actions.contains_key(&function) {
                        problems.push(format!(
                            "Task {path} invokes {function} (${{{p}}}): no Lambda `{function}` in local.function_actions"
                        ));
                    }
                }
            }
        }
    }
    assert!(tasks > 0, "{ASL} has no Task state: is the walk still right?");

    // Every placeholder anywhere in the template is passed, and fn_x gets function x's ARN.
    let mut strings = Vec::new();
    all_strings(&asl, &mut strings);
    let used: BTreeSet<String> = strings.iter().flat_map(|s| placeholders(s)).collect();
    for p in &used {
        match tf.template_vars.get(p) {
            None => problems.push(format!("{ASL} uses ${{{p}}} but templatefile in {ORCHESTRATOR} does not pass it")),
            Some(target) => {
                if let Some(f) = p.strip_prefix("fn_").map(|f| f.replace('_', "-"))
                    && target.as_deref() != Some(f.as_str())
                {
                    problems.push(format!(
                        "templatefile passes {p} = {target:?}, expected aws_lambda_function.this[\"{f}\"].arn"
                    ));
                }
            }
        }
    }

    fail_with(&problems, "the state machine names functions that do not exist");
}

// ---------------------------------------------------------------------------------------------
// The readers themselves
// ---------------------------------------------------------------------------------------------

#[test]
fn readers_understand_the_shapes_they_rely_on() {
    assert_eq!(placeholders("${fn_promote_db}"), vec!["fn_promote_db"]);
    assert!(placeholders("$${fn_literal} and $.x").is_empty());

    let machine = serde_json::json!({"States": {
        "A": {"Type": "Task", "Resource": "${fn_a}", "Next": "P"},
        "P": {"Type": "Parallel", "Branches": [{"States": {
            "B": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "${fn_b_c}"}}
        }}]},
        "M": {"Type": "Map", "ItemProcessor": {"States": {"C": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem"}}}}
    }});
    let mut all = Vec::new();
    states(&machine, "", &mut all);
    let names: Vec<_> = all.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names, ["A", "M", "M/C", "P", "P[0]/B"]);
    let tasks: Vec<_> = all.iter().map(|(_, s)| task_functions(s)).collect();
    assert_eq!(tasks[0], Some(vec!["fn_a".to_string()]));
    assert_eq!(tasks[2], None);
    assert_eq!(tasks[4], Some(vec!["fn_b_c".to_string()]));
    assert_eq!(integration_action("arn:aws:states:::sns:publish.waitForTaskToken").as_deref(), Some("sns:Publish"));
    assert_eq!(
        integration_action("arn:aws:states:::aws-sdk:dynamodb:updateItem").as_deref(),
        Some("dynamodb:UpdateItem")
    );
    assert_eq!(integration_action("arn:aws:states:::dynamodb:getItem").as_deref(), Some("dynamodb:GetItem"));

    let body = hcl::parse(
        r#"locals {
  a = { promote-db = ["x:Y"], "b" = [] }
}
resource "r" "n" { v = lookup(local.per, each.key, {}) }"#,
    )
    .unwrap();
    let l = locals(&body);
    let a = object(&l["a"]).unwrap();
    assert_eq!(a.keys().collect::<Vec<_>>(), ["b", "promote-db"]);
    assert_eq!(strings(a["promote-db"]).unwrap(), BTreeSet::from(["x:Y".to_string()]));
    let r = block(&body, "resource", "r", "n");
    let passed =
        BTreeMap::from([("hook".to_string(), "merge({ A = \"1\" }, var.more)".parse::<Expression>().unwrap())]);
    let e: Expression = "merge({ B = 1 }, var.hook, var.unknown)".parse().unwrap();
    assert_eq!(static_keys(&e, &passed), BTreeSet::from(["A".to_string(), "B".to_string()]));
    assert_eq!(attr(&r.body, "v").and_then(per_function_ref), Some("per"));

    let main = "use drover_core::steps::{StepPorts, promote_db};\nuse drover_core::Topology;\nuse drover_core::aws::codedeploy::X;";
    let used = modules_used(main);
    for f in [
        "shared/src/steps/mod.rs",
        "shared/src/steps/promote_db.rs",
        "shared/src/config.rs",
        "shared/src/aws/codedeploy.rs",
    ] {
        assert!(used.contains(f), "{f} not in {used:?}");
    }
}
