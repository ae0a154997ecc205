use std::path::PathBuf;

use super::*;

fn profile(name: &str, registry: &str) -> Profile {
    Profile { name: name.into(), registry: registry.into(), ..Default::default() }
}

#[test]
fn registry_choice_follows_flag_then_profile_then_environment_then_default() {
    let p = profile("prod", "https://mlflow.example.com");
    let (s, o) = RegistrySpec::select(Some("local:/tmp/r.sqlite"), Some(&p), Some("http://env:5000")).unwrap();
    assert_eq!((s, o), (RegistrySpec::Local("/tmp/r.sqlite".into()), Origin::Flag));
    let (s, o) = RegistrySpec::select(None, Some(&p), Some("http://env:5000")).unwrap();
    assert_eq!((s, o), (RegistrySpec::Mlflow(super::MlflowTarget { url: "https://mlflow.example.com".into(), ca_file: None, profile: Some("prod".into()) }), Origin::Profile("prod".into())));
    let (s, o) = RegistrySpec::select(None, None, Some("http://env:5000")).unwrap();
    assert_eq!((s, o), (RegistrySpec::mlflow("http://env:5000"), Origin::Environment));
    let (s, o) = RegistrySpec::select(None, None, Some("")).unwrap();
    assert_eq!((s, o), (RegistrySpec::HomeLocal, Origin::Default));
    assert!(RegistrySpec::select(None, None, Some("databricks")).unwrap_err().contains("MLFLOW_TRACKING_URI"));
    assert!(RegistrySpec::parse("ftp://x").is_err());
    assert!(RegistrySpec::parse("local:").is_err());
}

#[test]
fn profiles_round_trip_and_refuse_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::under(dir.path());
    let mut ps = Profiles::default();
    ps.upsert(Profile {
        endpoints: vec!["http://127.0.0.1:8080".into()],
        prometheus: Some("http://127.0.0.1:9090".into()),
        ..profile("staging", "http://127.0.0.1:5000")
    })
    .unwrap();
    ps.active = Some("staging".into());
    ps.save(&home).unwrap();
    let back = Profiles::load(&home).unwrap();
    assert_eq!(back, ps);
    assert_eq!(back.get("staging").unwrap().protected_aliases, vec!["champion", "production"]);

    let err = ps.upsert(profile("bad", "https://bob:hunter2@mlflow.example.com")).unwrap_err();
    assert!(err.contains("never store secrets") && !err.contains("hunter2"), "{err}");
    let text = std::fs::read_to_string(home.profiles_file()).unwrap();
    assert!(!text.contains("hunter2"));
}

fn binding() -> Binding {
    Binding {
        model: "income-classifier".into(),
        alias: "champion".into(),
        endpoint: "http://127.0.0.1:8080".into(),
        served_model: "income-classifier".into(),
        mode: BindingMode::Settings,
        settings_dir: "/srv/models/income-classifier".into(),
        version_dir: "/srv/versions/v{version}".into(),
        example: Some("/srv/examples/v{version}.json".into()),
        ready_timeout_secs: None,
    }
}

#[test]
fn bindings_round_trip_as_profile_binding_tables_and_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::under(dir.path());
    let mut ps = Profiles::default();
    ps.upsert(profile("prod", "http://127.0.0.1:5000")).unwrap();
    ps.bind("prod", binding()).unwrap();
    ps.bind("prod", Binding { served_model: "ic".into(), ..binding() }).unwrap(); // replaces
    ps.save(&home).unwrap();
    let text = std::fs::read_to_string(home.profiles_file()).unwrap();
    assert!(text.contains("[[profile.binding]]"), "{text}");
    let back = Profiles::load(&home).unwrap();
    let b = &back.get("prod").unwrap().bindings;
    assert_eq!((b.len(), b[0].served_model.as_str(), b[0].mode), (1, "ic", BindingMode::Settings));
    assert_eq!(b[0].version_dir_for(3), PathBuf::from("/srv/versions/v3"));
    assert_eq!(b[0].example_for(1), Some(PathBuf::from("/srv/examples/v1.json")));
    assert_eq!(b[0].ready_timeout(), DEFAULT_READY_TIMEOUT);

    let bad = [
        Binding { version_dir: "/srv/versions/current".into(), ..binding() },
        Binding { endpoint: "ftp://x".into(), ..binding() },
        Binding { settings_dir: "relative/dir".into(), ..binding() },
        Binding { served_model: " ".into(), ..binding() },
    ];
    for b in bad {
        assert!(ps.bind("prod", b.clone()).is_err(), "{b:?}");
    }
    assert!(ps.bind("nope", binding()).unwrap_err().contains("no profile"));
}

#[test]
fn a_broken_profiles_file_is_an_error_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::under(dir.path());
    std::fs::create_dir_all(&home.config).unwrap();
    std::fs::write(home.profiles_file(), "[[profile]\nname=").unwrap();
    let err = Profiles::load(&home).unwrap_err();
    assert!(err.contains("profiles.toml"), "{err}");
}
