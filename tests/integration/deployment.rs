//! Issue 12, item 11: fly.toml describes the processes, release command and checks the
//! service needs, and the Dockerfile builds (when a docker engine is reachable).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn fly_toml() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fly.toml");
    let text = std::fs::read_to_string(&path).expect("fly.toml at the repository root");
    basic_toml::from_str(&text).expect("fly.toml is valid TOML")
}

#[test]
fn fly_toml_has_web_and_worker_processes_the_migrate_release_command_and_health_checks() {
    let fly = fly_toml();
    assert_eq!(fly["processes"]["web"], "justtrades web");
    assert_eq!(fly["processes"]["worker"], "justtrades worker");
    assert_eq!(fly["deploy"]["release_command"], "justtrades migrate");
    assert_eq!(fly["kill_signal"], "SIGTERM");
    assert!(
        fly["kill_timeout"].as_str().is_some(),
        "a graceful-shutdown timeout"
    );

    let service = &fly["http_service"];
    assert_eq!(service["processes"], serde_json::json!(["web"]));
    assert_eq!(service["internal_port"], 8080);
    let bind = fly["env"]["JT_BIND"].as_str().unwrap();
    assert!(
        bind.ends_with(":8080") && bind.starts_with("0.0.0.0"),
        "{bind}"
    );
    assert!(
        fly["env"]["JT_BASE_URL"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let paths: Vec<&str> = service["checks"]
        .as_array()
        .expect("http_service.checks")
        .iter()
        .map(|check| check["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"/healthz") && paths.contains(&"/readyz"),
        "{paths:?}"
    );

    // The proxy stops at the server's own connection cap.
    let cap = i64::try_from(jt_web::ServerLimits::default().max_connections).unwrap();
    let concurrency = &service["concurrency"];
    assert_eq!(concurrency["type"], "connections");
    assert_eq!(concurrency["hard_limit"].as_i64(), Some(cap));
    assert!(concurrency["soft_limit"].as_i64().unwrap() < cap);

    let proxies = fly["env"]["JT_TRUSTED_PROXIES"].as_str().unwrap();
    assert!(
        proxies.parse::<jt_web::client_ip::TrustedProxies>().is_ok(),
        "{proxies}"
    );
}

#[test]
fn the_dockerfile_builds_when_a_docker_engine_is_reachable() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("USER nonroot"),
        "runs as a non-root user"
    );
    assert!(
        !dockerfile
            .to_lowercase()
            .contains("apt-get install postgresql"),
        "the runtime needs no PostgreSQL"
    );
    let info = Command::new("docker").arg("info").output();
    let reason = match &info {
        Err(error) => Some(format!("no docker client ({error})")),
        Ok(output) if !output.status.success() => Some(format!(
            "`docker info` failed: {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("no output")
        )),
        Ok(_) => None,
    };
    if let Some(reason) = reason {
        eprintln!(
            "\n==================== SKIPPED: docker build ====================\n\
             No docker engine is reachable, so the Dockerfile was NOT built: {reason}\n\
             Run `docker build .` where an engine runs to check it.\n\
             ================================================================\n"
        );
        return;
    }
    let build = Command::new("docker")
        .args(["build", "--tag", "justtrades:test", "."])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "docker build failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
}
