//! The hub download path (cargo feature `hub`) against a local HTTP server on 127.0.0.1 that
//! serves the committed tiny DeiT fixture under the hub's URL layout.
#![cfg(feature = "hub")]

use blindtuner_datasets::Images;
use blindtuner_features::FeatureExtractor;
use blindtuner_vision::{Family, VitExtractor, hub};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join("deit")
}

/// Serves `GET /test/tiny-deit/resolve/main/{file}` from the fixture, anything else as 404, one
/// request per connection; returns the endpoint and a count of requests served.
fn serve_fixture() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            // The headers end at the first empty line.
            let mut header = String::new();
            while reader.read_line(&mut header).unwrap() > 2 {
                header.clear();
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let path = request_line.split_whitespace().nth(1).unwrap_or_default();
            let body = path
                .strip_prefix("/test/tiny-deit/resolve/main/")
                .filter(|file| ["config.json", "model.safetensors"].contains(file))
                .map(|file| std::fs::read(fixture().join(file)).unwrap());
            let (status, body) = match body {
                Some(body) => ("200 OK", body),
                None => ("404 Not Found", b"Entry not found".to_vec()),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&body).unwrap();
        }
    });
    (endpoint, requests)
}

fn synthetic_images() -> Images {
    Images {
        count: 2,
        height: 12,
        width: 10,
        channels: 3,
        max_value: 255,
        pixels: (0..2 * 12 * 10 * 3).map(|i| (i * 37 % 256) as u8).collect(),
    }
}

#[test]
fn downloads_the_fixture_once_and_extracts_the_same_features() {
    let (endpoint, requests) = serve_fixture();
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("tiny-deit");
    hub::download(&endpoint, "test/tiny-deit", &dir).unwrap();
    for file in ["config.json", "model.safetensors"] {
        assert_eq!(
            std::fs::read(dir.join(file)).unwrap(),
            std::fs::read(fixture().join(file)).unwrap(),
            "{file}"
        );
    }
    assert_eq!(requests.load(Ordering::SeqCst), 2);
    // Files already there are not fetched again.
    hub::download(&endpoint, "test/tiny-deit", &dir).unwrap();
    assert_eq!(requests.load(Ordering::SeqCst), 2);

    let downloaded = VitExtractor::load_family(Family::Deit, "deit", &dir).unwrap();
    let local = VitExtractor::load_family(Family::Deit, "deit", &fixture()).unwrap();
    let images = synthetic_images();
    assert_eq!(downloaded.extract(&images).unwrap(), local.extract(&images).unwrap());
}

#[test]
fn a_missing_model_is_one_clear_line_and_leaves_nothing_behind() {
    let (endpoint, _) = serve_fixture();
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("missing");
    let err = hub::download(&endpoint, "test/missing", &dir).unwrap_err().to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("{endpoint}/test/missing/resolve/main/config.json")) && err.contains("404"),
        "{err}"
    );
    assert!(!dir.join("config.json").exists());
}

#[test]
fn an_unreachable_endpoint_is_one_line() {
    // A port just bound and released: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cache = tempfile::tempdir().unwrap();
    let err = hub::download(&format!("http://127.0.0.1:{port}"), "a/b", cache.path())
        .unwrap_err()
        .to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("127.0.0.1:{port}/a/b/resolve/main/config.json")),
        "{err}"
    );
}
