//! Flag spellings, environment, defaults, and refusal of unbuilt features.
use super::*;

fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Command, ConfigError> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    parse(&args, |k| {
        env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    })
}

#[test]
fn spellings_and_env() {
    let Command::Run(c) = run(&[], &[]).unwrap() else {
        panic!()
    };
    assert_eq!(c.http_addr, "0.0.0.0:9091");
    assert_eq!(c.auth_token, None);
    let Command::Run(c) = run(
        &["-http-addr", ":7000", "--auth-token=s3", "-shards", "3"],
        &[],
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(
        (c.http_addr.as_str(), c.auth_token.as_deref(), c.shards),
        ("0.0.0.0:7000", Some("s3"), 3)
    );
    let Command::Run(c) = run(
        &[],
        &[("KEKTOR_PORT", "127.0.0.1:1234"), ("KEKTOR_TOKEN", "t")],
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(
        (c.http_addr.as_str(), c.auth_token.as_deref()),
        ("127.0.0.1:1234", Some("t"))
    );
    assert_eq!(run(&["--help"], &[]).unwrap(), Command::Help);
    let Command::Run(c) = run(&["-fsync", "everysec", "-aof-path", "/d"], &[]).unwrap() else {
        panic!()
    };
    assert_eq!(
        (c.fsync, c.data_dir.as_deref()),
        (FsyncPolicy::EverySec, Some("/d"))
    );
    let Command::Run(c) = run(&["-in-memory"], &[("KEKTOR_DATA_DIR", "/x")]).unwrap() else {
        panic!()
    };
    assert_eq!(c.data_dir, None);
    assert!(matches!(
        run(&["-fsync", "sometimes"], &[]),
        Err(ConfigError::InvalidValue { .. })
    ));
    let Command::Run(c) = run(&["-save", "", "-aof-rewrite-percentage", "0"], &[]).unwrap() else {
        panic!()
    };
    assert_eq!((c.save, c.rewrite_percentage), (None, None));
    assert!(!c.log_direct);
    let Command::Run(c) = run(&["-log-direct"], &[]).unwrap() else {
        panic!()
    };
    assert!(c.log_direct);
    let Command::Run(c) = run(&["-save=30 5", "-aof-rewrite-percentage=50"], &[]).unwrap() else {
        panic!()
    };
    assert_eq!((c.save, c.rewrite_percentage), (Some((30, 5)), Some(50)));
    assert!(matches!(
        run(&["-save", "60"], &[]),
        Err(ConfigError::InvalidValue { .. })
    ));
    let Command::Run(c) = run(
        &[
            "-http-head-timeout",
            "2",
            "-http-idle-timeout=500ms",
            "-connections-max",
            "100",
            "-http-executors",
            "3",
        ],
        &[],
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(c.http.head_timeout, std::time::Duration::from_secs(2));
    assert_eq!(c.http.idle_timeout, std::time::Duration::from_millis(500));
    assert_eq!(c.http.connections_max, Some(100));
    assert_eq!(c.http.executors, Some(3));
    let Command::Run(c) = run(&["-http-executors=0"], &[]).unwrap() else {
        panic!()
    };
    assert_eq!(c.http.executors, Some(0));
    for bad in ["257", "-1", "many"] {
        assert!(matches!(
            run(&["-http-executors", bad], &[]),
            Err(ConfigError::InvalidValue { .. })
        ));
    }
    assert!(matches!(
        run(&["-http-write-timeout", "0"], &[]),
        Err(ConfigError::InvalidValue { .. })
    ));
    let Command::Run(c) = run(&[], &[]).unwrap() else {
        panic!()
    };
    assert_eq!(
        (c.embedder.as_str(), c.models_dir.as_str()),
        ("auto", "models")
    );
    let Command::Run(c) = run(
        &[
            "-embedder",
            "ollama_api",
            "-embedder-url=http://h:1/api/embed",
        ],
        &[("KEKTOR_MODELS_DIR", "/m"), ("KEKTOR_EMBEDDER_MODEL", "mx")],
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(c.embedder, "ollama_api");
    assert_eq!(c.embedder_url.as_deref(), Some("http://h:1/api/embed"));
    assert_eq!(c.embedder_model.as_deref(), Some("mx"));
    assert_eq!(c.models_dir, "/m");
    assert!(matches!(
        run(&["-embedder", "magic"], &[]),
        Err(ConfigError::InvalidValue { .. })
    ));
}

#[test]
fn errors() {
    assert_eq!(
        run(&["-bogus"], &[]),
        Err(ConfigError::UnknownFlag("-bogus".into()))
    );
    assert_eq!(
        run(&["-shards"], &[]),
        Err(ConfigError::MissingValue("shards".into()))
    );
    assert!(matches!(
        run(&["-shards", "0"], &[]),
        Err(ConfigError::InvalidValue { .. })
    ));
    match run(&["-vectorizers-config=v.yaml"], &[]) {
        Ok(Command::Run(c)) => assert_eq!(c.vectorizers_config.as_deref(), Some("v.yaml")),
        other => panic!("{other:?}"),
    }
    let Command::Run(c) = run(&["-enable-proxy"], &[]).unwrap() else {
        panic!()
    };
    assert!(c.proxy && c.proxy_config.is_none() && c.proxy_port.is_none());
    let Command::Run(c) = run(
        &["-proxy-config", "p.yaml", "--proxy-port=127.0.0.1:7"],
        &[],
    )
    .unwrap() else {
        panic!()
    };
    assert!(c.proxy);
    assert_eq!(
        (c.proxy_config.as_deref(), c.proxy_port.as_deref()),
        (Some("p.yaml"), Some("127.0.0.1:7"))
    );
    let Command::Run(c) = run(&[], &[("KEKTOR_ENABLE_PROXY", "true")]).unwrap() else {
        panic!()
    };
    assert!(c.proxy);
    let Command::Run(c) = run(&[], &[]).unwrap() else {
        panic!()
    };
    assert!(!c.proxy);
    assert!(matches!(
        run(&["-proxy-port", ""], &[]),
        Err(ConfigError::InvalidValue { .. })
    ));
}

#[test]
fn mcp_flags() {
    let Command::Run(c) = run(&[], &[]).unwrap() else {
        panic!()
    };
    assert!(!c.mcp && !c.http_addr_explicit);
    assert_eq!(c.mcp_tools, crate::mcp::select_tools("all").unwrap());
    let Command::Run(c) = run(&[], &[("KEKTOR_ENABLE_MCP", "true")]).unwrap() else {
        panic!()
    };
    assert!(c.mcp);
    let Command::Run(c) = run(
        &[
            "--mcp",
            "--mcp-log-file=/tmp/m.log",
            "--tools=admin,save_memory",
        ],
        &[
            ("MCP_EMBEDDER_URL", "http://o:1/api/embed"),
            ("MCP_EMBEDDER_MODEL", "nomic"),
        ],
    )
    .unwrap() else {
        panic!()
    };
    assert!(c.mcp && !c.http_addr_explicit);
    assert_eq!(c.mcp_log_file.as_deref(), Some("/tmp/m.log"));
    assert!(c.mcp_tools.iter().any(|t| t == "save_memory"));
    assert!(c.mcp_tools.iter().any(|t| t == "list_vectors"));
    assert!(!c.mcp_tools.iter().any(|t| t == "recall_memory"));
    assert_eq!(
        (
            c.embedder.as_str(),
            c.embedder_url.as_deref(),
            c.embedder_model.as_deref()
        ),
        ("ollama_api", Some("http://o:1/api/embed"), Some("nomic"))
    );
    let Command::Run(c) = run(&["-mcp", "-http-addr", ":9"], &[]).unwrap() else {
        panic!()
    };
    assert!(c.http_addr_explicit);
    match run(&["-tools", "agent,bogus,nope"], &[]) {
        Err(ConfigError::InvalidValue { reason, .. }) => {
            assert!(reason.contains("bogus, nope"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    match run(&["mcp-config", "-aof-path", "/d"], &[]) {
        Ok(Command::McpConfig(c)) => assert_eq!(c.data_dir.as_deref(), Some("/d")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        run(&["-aof-path", "/d", "mcp-config"], &[]),
        Err(ConfigError::UnknownFlag(_))
    ));
}
