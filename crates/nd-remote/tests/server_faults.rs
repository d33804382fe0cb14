//! Faults against the loopback test servers of `.ci/servers.sh`: nginx (404, 403, a location
//! without byte ranges) and moto (S3: a missing key, missing credentials, anonymous reads of a private bucket).
//! Every request goes to 127.0.0.1; cloud metadata endpoints are disabled for the process too.

mod common;

use nd_core::ByteSource;
use nd_remote::{open_source, Error, RemoteOptions};

fn no_metadata() {
    // What nd does by default anyway (RemoteOptions::imds is false); set for any other code.
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
}

#[test]
fn nginx_404_and_403_are_one_plain_line() {
    no_metadata();
    let Some((url, _root)) = common::http("nginx_404_and_403_are_one_plain_line") else {
        return;
    };
    let o = RemoteOptions::default();
    let u = format!("{url}/fits/no-such-file.fits");
    let e = open_source(&u, &o).unwrap_err();
    assert_eq!(e.to_string(), format!("{u}: not found (HTTP 404)"));
    let u = format!("{url}/denied/x.fits");
    let e = open_source(&u, &o).unwrap_err();
    assert_eq!(e.to_string(), format!("{u}: access denied (HTTP 403)"));
}

#[test]
fn nginx_without_ranges_is_downloaded_once() {
    no_metadata();
    let Some((url, root)) = common::http("nginx_without_ranges_is_downloaded_once") else {
        return;
    };
    let bytes = common::fits_f32_image(64, 64);
    common::put_file(&root, "gen/norange-64.fits", &bytes);
    let o = RemoteOptions {
        block_size: 2880,
        ..Default::default()
    };
    let src = open_source(&format!("{url}/norange/gen/norange-64.fits"), &o).unwrap();
    assert_eq!(src.len(), bytes.len() as u64);
    assert_eq!(&src.read_range(5000..9000).unwrap()[..], &bytes[5000..9000]);
    let got = src
        .read_ranges(&[0..10, 3000..3100, 12_000..12_400])
        .unwrap();
    assert_eq!(&got[2][..], &bytes[12_000..12_400]);
    let log = o.stats.log();
    // the refused range request (200, body dropped unread), then one whole download
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.iter().all(|r| r.status == 200), "{log:?}");
    assert_eq!(o.stats.warnings().len(), 1);
    let mut small = o.clone();
    small.max_full_download = 1000;
    let e = open_source(&format!("{url}/norange/gen/norange-64.fits"), &small).unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
}

#[test]
fn moto_missing_key_missing_credentials_and_anonymous() {
    no_metadata();
    let Some((endpoint, bucket)) = common::s3("moto_missing_key_missing_credentials_and_anonymous")
    else {
        return;
    };
    let data = common::fits_f32_image(16, 16);
    common::s3_put(&endpoint, &bucket, "faults/small.fits", &data);
    let u = format!("s3://{bucket}/faults/missing.fits");
    let e = open_source(&u, &common::s3_options(&endpoint)).unwrap_err();
    assert_eq!(e.to_string(), format!("{u}: not found (HTTP 404)"));

    let bare = RemoteOptions::default()
        .with_option("aws_endpoint", endpoint.as_str())
        .with_option("aws_region", "us-east-1")
        .with_option("allow_http", "true");
    let u = format!("s3://{bucket}/faults/small.fits");
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        let e = open_source(&u, &bare).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{u}: no credentials: set AWS_ACCESS_KEY_ID")),
            "{e}"
        );
        assert_eq!(bare.stats.requests(), 0);
    }
    // anonymous (unsigned) reads of a private bucket: moto says 403
    let mut anon = bare.clone();
    anon.anonymous = true;
    let e = open_source(&u, &anon).unwrap_err();
    assert_eq!(e.to_string(), format!("{u}: access denied (HTTP 403)"));
    assert_eq!(anon.stats.requests(), 1);
    // signed, the same object reads
    let src = open_source(&u, &common::s3_options(&endpoint)).unwrap();
    assert_eq!(&src.read_range(0..2880).unwrap()[..], &data[..2880]);
}
