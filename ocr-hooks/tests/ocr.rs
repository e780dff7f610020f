//! OCR with the real tesseract (Debian `tesseract-ocr`, `-fra`, `-eng`, `-osd`) on the pages of
//! `samples/ocr/`, and ImageMagick's `convert` for rotated copies. Nothing is mocked: these
//! tests fail when the programs are missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ocr_hooks::{
    recognize_pages, CommandEngine, CommandSpec, HookError, OcrEngine, OcrMyPdf, OcrPage,
    OcrRequest, OutputFormat, Tesseract,
};

const TIMEOUT: Duration = Duration::from_secs(60);

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples/ocr")
        .join(name)
}

fn normalise(text: &str) -> Vec<char> {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .collect()
}

/// Character error rate: Levenshtein distance over the whitespace-normalised texts, divided
/// by the ground truth's length.
fn cer(ocr: &str, truth: &str) -> f64 {
    let (a, b) = (normalise(ocr), normalise(truth));
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()] as f64 / b.len().max(1) as f64
}

async fn ocr(engine: &dyn OcrEngine, image: &Path, languages: &str) -> OcrPage {
    let started = Instant::now();
    let page = engine
        .recognize(OcrRequest {
            image,
            languages,
            dpi: None,
            timeout: TIMEOUT,
        })
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", image.display()));
    println!(
        "{} -l {languages}: {} words in {:.2} s",
        image.file_name().unwrap().to_string_lossy(),
        page.words.len(),
        started.elapsed().as_secs_f64()
    );
    page
}

fn assert_sane_words(page: &OcrPage) {
    assert!(page.width > 0 && page.height > 0);
    assert!(!page.words.is_empty());
    for w in &page.words {
        assert!(!w.text.trim().is_empty(), "{w:?}");
        assert!(w.width > 0 && w.height > 0, "{w:?}");
        assert!(w.left + w.width <= page.width, "{w:?}");
        assert!(w.top + w.height <= page.height, "{w:?}");
        assert!((0.0..=100.0).contains(&w.confidence), "{w:?}");
        assert!(w.block >= 1 && w.paragraph >= 1 && w.line >= 1, "{w:?}");
    }
    let mean = page.mean_confidence().unwrap();
    assert!((0.0..=100.0).contains(&mean));
}

async fn check_cer(image: &str, languages: &str, bound: f64) -> OcrPage {
    let page = ocr(&Tesseract::new(), &sample(image), languages).await;
    let truth_name = image.rsplit_once('.').unwrap().0.to_string() + ".txt";
    let truth = std::fs::read_to_string(sample(&truth_name)).unwrap();
    let rate = cer(&page.text(), &truth);
    println!(
        "CER {image} -l {languages}: {:.2} % (mean confidence {:.1})",
        rate * 100.0,
        page.mean_confidence().unwrap_or(0.0)
    );
    assert!(rate < bound, "CER {rate} for {image}");
    assert_sane_words(&page);
    page
}

#[test]
fn cer_is_levenshtein_over_normalised_text() {
    assert_eq!(cer("a  b\nc", "a b c"), 0.0);
    assert_eq!(cer("kitten", "sitting"), 3.0 / 7.0);
    assert_eq!(cer("", "abcd"), 1.0);
}

#[tokio::test]
async fn phototest_in_english() {
    let page = check_cer("phototest.tif", "eng", 0.05).await;
    assert_eq!((page.width, page.height), (640, 480));
    assert!(page.text().starts_with("This is a lot of 12 point text"));
}

#[tokio::test]
async fn eurotext_in_french_and_english() {
    let page = check_cer("eurotext.tif", "fra+eng", 0.08).await;
    let text = page.text();
    // French data brings the accents and guillemets (Spanish ones are lost: no spa data).
    assert!(text.contains("über") && text.contains("«rapide»"), "{text}");
}

#[tokio::test]
async fn a_full_300_dpi_scan() {
    // Most of its error rate is reading order across the columns (9.4 % measured before).
    let page = check_cer("8071_093.3B.tif", "eng", 0.15).await;
    assert_eq!((page.width, page.height), (3312, 2550));
}

fn convert(args: &[&str]) {
    let status = Command::new("convert").args(args).status().unwrap_or_else(|e| {
        panic!("ImageMagick's `convert` is needed for this test (apt-get install imagemagick): {e}")
    });
    assert!(status.success(), "convert {args:?}: {status}");
}

#[tokio::test]
async fn orientation_of_turned_pages() {
    let dir = tempfile::tempdir().unwrap();
    let original = sample("phototest.tif");
    let engine = Tesseract::new();
    // ImageMagick's -rotate turns clockwise; tesseract's answer is the clockwise turn that
    // makes the page upright again.
    for (turned_by, expected) in [(0, 0), (90, 270), (180, 180), (270, 90)] {
        let image = dir.path().join(format!("turned-{turned_by}.png"));
        convert(&[
            original.to_str().unwrap(),
            "-rotate",
            &turned_by.to_string(),
            image.to_str().unwrap(),
        ]);
        let started = Instant::now();
        let found = engine
            .orientation(&image, TIMEOUT)
            .await
            .unwrap()
            .expect("enough text for osd");
        println!(
            "turned {turned_by}° clockwise → rotate {} (confidence {:.2}) in {:.2} s",
            found.rotate,
            found.confidence,
            started.elapsed().as_secs_f64()
        );
        assert_eq!(found.rotate, expected, "page turned by {turned_by}");
        assert!(found.confidence > 1.0);
    }

    // A blank page: too few characters to tell.
    let blank = dir.path().join("blank.png");
    convert(&["-size", "600x400", "xc:white", blank.to_str().unwrap()]);
    assert_eq!(engine.orientation(&blank, TIMEOUT).await.unwrap(), None);
    // ... and OCR finds nothing there, which is an empty page, not an error.
    let page = ocr(&engine, &blank, "eng").await;
    assert!(page.words.is_empty() && page.width == 600);
}

/// A pid is alive when its /proc entry exists and is not a zombie.
fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next()),
            Some('Z' | 'X')
        ),
    }
}

#[tokio::test]
async fn a_hung_ocr_command_is_killed_at_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    // The shell records its pid, then becomes `sleep 30` (same pid).
    let spec = CommandSpec::new(
        "sh",
        [
            "-c",
            r#"echo $$ > "$1"; exec sleep 30"#,
            "{input}",
            pid_file.to_str().unwrap(),
        ],
    );
    let engine = CommandEngine::new("hung", spec, OutputFormat::Text).unwrap();
    let image = sample("phototest.tif");

    let started = Instant::now();
    let err = engine
        .recognize(OcrRequest {
            image: &image,
            languages: "eng",
            dpi: None,
            timeout: Duration::from_secs(1),
        })
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    println!("hung command: `{err}` after {:.2} s", elapsed.as_secs_f64());
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!(matches!(err, HookError::Timeout { .. }), "{err:?}");
    assert!(err.is_transient() && err.is_timeout());
    assert!(err.to_string().contains("timed out after 1000 ms"), "{err}");
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!is_alive(pid), "sleep {pid} survived");

    // Through recognize_pages: the error names the page, and no page comes back empty.
    let pages = [sample("phototest.tif"), sample("eurotext.tif")];
    let results = recognize_pages(&engine, &pages, "eng", Duration::from_secs(1), 2).await;
    assert_eq!(results.len(), 2);
    for (i, result) in results.iter().enumerate() {
        let err = result.as_ref().unwrap_err();
        let msg = err.to_string();
        println!("{msg}");
        assert!(err.is_transient() && err.is_timeout(), "{err:?}");
        assert!(msg.starts_with(&format!("page {} (", i + 1)), "{msg}");
        assert!(
            msg.contains(pages[i].to_str().unwrap()) && msg.contains("timed out"),
            "{msg}"
        );
    }
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!is_alive(pid), "sleep {pid} survived");
}

#[tokio::test]
async fn pages_in_parallel_keep_their_order() {
    let pages = [
        sample("eurotext.tif"),
        sample("phototest.tif"),
        sample("8071_093.3B.tif"),
    ];
    let started = Instant::now();
    let results = recognize_pages(&Tesseract::new(), &pages, "fra+eng", TIMEOUT, 2).await;
    println!(
        "recognize_pages, 3 pages, parallel 2: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let texts: Vec<String> = results.into_iter().map(|r| r.unwrap().text()).collect();
    assert!(texts[0].contains("renard"), "{}", texts[0]);
    assert!(texts[1].starts_with("This is a lot"), "{}", texts[1]);
    assert!(texts[2].contains("sadness"), "{}", texts[2]);
}

#[tokio::test]
async fn missing_languages_are_permanent_errors_naming_them() {
    let image = sample("phototest.tif");
    for languages in ["xyz", "eng+xyz"] {
        let err = Tesseract::new()
            .recognize(OcrRequest {
                image: &image,
                languages,
                dpi: Some(300),
                timeout: TIMEOUT,
            })
            .await
            .unwrap_err();
        println!("-l {languages}: {err}");
        assert!(
            matches!(&err, HookError::MissingLanguage { language, .. } if language == "xyz"),
            "{err:?}"
        );
        assert!(!err.is_transient());
        assert!(err.to_string().contains("`xyz`"), "{err}");
    }
    let err = Tesseract::new()
        .recognize(OcrRequest {
            image: &image,
            languages: "eng -psm",
            dpi: None,
            timeout: TIMEOUT,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, HookError::BadRequest(_)), "{err:?}");
}

#[tokio::test]
async fn a_missing_tesseract_is_permanent() {
    let engine = Tesseract {
        program: "tesseract-not-installed-here".into(),
        ..Tesseract::new()
    };
    let image = sample("phototest.tif");
    let request = OcrRequest {
        image: &image,
        languages: "eng",
        dpi: None,
        timeout: TIMEOUT,
    };
    let err = engine.recognize(request).await.unwrap_err();
    println!("{err}");
    assert!(
        err.to_string().contains("tesseract is not installed"),
        "{err}"
    );
    assert!(!err.is_transient());
    let err = engine.orientation(&image, TIMEOUT).await.unwrap_err();
    assert!(matches!(err, HookError::NotInstalled { .. }), "{err:?}");
}

#[tokio::test]
async fn an_unreadable_image_is_a_permanent_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("not-an-image.png");
    std::fs::write(&bad, b"this is no png").unwrap();
    let err = Tesseract::new()
        .recognize(OcrRequest {
            image: &bad,
            languages: "eng",
            dpi: None,
            timeout: TIMEOUT,
        })
        .await
        .unwrap_err();
    println!("{err}");
    assert!(!err.is_transient(), "{err:?}");
}

/// The generic hook, fed by tesseract itself in its three output formats: the same words.
#[tokio::test]
async fn command_engine_reads_tsv_hocr_and_text() {
    let image = sample("phototest.tif");
    let reference = ocr(&Tesseract::new(), &image, "eng").await;
    for (config, format) in [
        ("tsv", OutputFormat::Tsv),
        ("hocr", OutputFormat::Hocr),
        ("txt", OutputFormat::Text),
    ] {
        // stdout as the result for tsv and hocr; a {output} file (tesseract adds .txt) for text.
        let spec = if format == OutputFormat::Text {
            CommandSpec::new(
                "sh",
                [
                    "-c",
                    r#"tesseract "$0" "$1" -l "$2" && mv "$1.txt" "$1""#,
                    "{input}",
                    "{output}",
                    "{lang}",
                ],
            )
        } else {
            CommandSpec::new("tesseract", ["{input}", "stdout", "-l", "{lang}", config])
        };
        let engine = CommandEngine::new(format!("tesseract-{config}"), spec, format).unwrap();
        let page = ocr(&engine, &image, "eng").await;
        let words = |p: &OcrPage| p.words.iter().map(|w| w.text.clone()).collect::<Vec<_>>();
        assert_eq!(words(&page), words(&reference), "{config}");
        assert_eq!(page.text(), reference.text(), "{config}");
        if format == OutputFormat::Text {
            assert!(page
                .words
                .iter()
                .all(|w| w.width == 0 && w.confidence == 0.0));
        } else {
            assert_sane_words(&page);
            for (a, b) in page.words.iter().zip(&reference.words) {
                assert_eq!(
                    (a.left, a.top, a.width, a.height),
                    (b.left, b.top, b.width, b.height),
                    "{config}"
                );
                assert!(
                    (a.confidence - b.confidence).abs() <= 1.0,
                    "{config}: {a:?} {b:?}"
                );
            }
        }
    }
}

fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is needed");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// ocrmypdf on an image-only PDF of the 300 dpi scan (made by img2pdf, an ocrmypdf
/// dependency): a text layer when tesseract has time, an error, not a silent page without
/// text, when it does not.
#[tokio::test]
async fn ocrmypdf_fails_instead_of_leaving_pages_without_text() {
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("scan.pdf");
    let status = Command::new("img2pdf")
        .arg(sample("8071_093.3B.tif"))
        .arg("-o")
        .arg(&scan)
        .status()
        .expect("img2pdf is needed (installed with ocrmypdf)");
    assert!(status.success());
    assert_eq!(pdftotext(&scan).trim(), "");

    let good = dir.path().join("good.pdf");
    let started = Instant::now();
    OcrMyPdf::default()
        .make_searchable(&scan, &good, "eng")
        .await
        .unwrap();
    println!(
        "ocrmypdf, one 300 dpi page: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let text = pdftotext(&good);
    assert!(text.contains("sadness"), "{text}");

    // Already searchable: --skip-text keeps the page as it is.
    let again = dir.path().join("again.pdf");
    OcrMyPdf::default()
        .make_searchable(&good, &again, "eng")
        .await
        .unwrap();
    assert!(pdftotext(&again).contains("sadness"));

    // tesseract needs ~2.3 s for this page: with 0.5 s, ocrmypdf itself would exit 0.
    let short = OcrMyPdf {
        page_timeout: Duration::from_millis(500),
        ..OcrMyPdf::default()
    };
    let bad = dir.path().join("bad.pdf");
    let err = short.make_searchable(&scan, &bad, "eng").await.unwrap_err();
    println!("{err}");
    assert!(
        matches!(&err, HookError::OcrPagesTimedOut { pages, .. } if pages == &[1]),
        "{err:?}"
    );
    assert!(err.is_transient() && err.is_timeout());
    assert!(
        err.to_string().contains("timed out after 0.5 s on page 1"),
        "{err}"
    );
    assert!(!bad.exists());

    let missing = OcrMyPdf {
        program: "ocrmypdf-not-installed-here".into(),
        ..OcrMyPdf::default()
    };
    let err = missing
        .make_searchable(&scan, &bad, "eng")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("ocrmypdf is not installed"),
        "{err}"
    );
}

/// Greffier's overhead against a bare shell loop, on ~10 pages rendered from samples/pdf at
/// 300 dpi grey. Prints a table; no timed assertion. Run with
/// `cargo test -p ocr-hooks --test ocr --release -- --ignored --nocapture overhead`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark, ~1 min"]
async fn overhead_against_a_shell_loop() {
    let dir = tempfile::tempdir().unwrap();
    let pdfs: Vec<PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/pdf"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
            .collect();
    let mut rendered = Vec::new();
    for (i, pdf) in pdfs.iter().enumerate() {
        let prefix = dir.path().join(format!("r{i}"));
        let status = Command::new("pdftoppm")
            .args(["-r", "300", "-gray", "-png"])
            .arg(pdf)
            .arg(&prefix)
            .status()
            .expect("pdftoppm (poppler-utils) is needed");
        assert!(status.success());
    }
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        rendered.push(entry.unwrap().path());
    }
    rendered.sort();
    // ~10 pages: copies of the rendered ones.
    let mut pages = Vec::new();
    for i in 0..10 {
        let page = dir.path().join(format!("page-{i:02}.png"));
        std::fs::copy(&rendered[i % rendered.len()], &page).unwrap();
        pages.push(page);
    }
    let list = dir.path().join("pages.txt");
    let names: Vec<String> = pages.iter().map(|p| p.display().to_string()).collect();
    std::fs::write(&list, names.join("\n") + "\n").unwrap();

    let shell = || {
        let started = Instant::now();
        let status = Command::new("sh")
            .arg("-c")
            .arg(r#"xargs -P2 -I{} sh -c 'OMP_THREAD_LIMIT=1 tesseract "$1" "$1.out" -l fra+eng tsv 2>/dev/null' _ {} < "$0""#)
            .arg(&list)
            .status()
            .unwrap();
        assert!(status.success());
        started.elapsed()
    };
    let engine = Tesseract::new();
    let ours = || async {
        let started = Instant::now();
        let results = recognize_pages(&engine, &pages, "fra+eng", TIMEOUT, 2).await;
        assert!(results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|p| !p.words.is_empty())));
        started.elapsed()
    };
    // One page alone, for the per-page figure.
    let single = Instant::now();
    ocr(&engine, &pages[0], "fra+eng").await;
    let single = single.elapsed();

    let (mut shell_runs, mut our_runs) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        shell_runs.push(shell());
        our_runs.push(ours().await);
    }
    let min = |runs: &[Duration]| runs.iter().min().copied().unwrap_or_default();
    let (s, o) = (min(&shell_runs), min(&our_runs));
    println!(
        "| {} pages, 300 dpi grey, fra+eng, 2 at a time | best of 3 | runs |",
        pages.len()
    );
    println!("|---|---|---|");
    println!(
        "| shell: xargs -P2 tesseract … tsv | {:.2} s | {shell_runs:.2?} |",
        s.as_secs_f64()
    );
    println!(
        "| recognize_pages(parallel 2) | {:.2} s | {our_runs:.2?} |",
        o.as_secs_f64()
    );
    println!(
        "| overhead | {:+.1} % | one page alone: {:.2} s; {:.1} pages/min |",
        (o.as_secs_f64() / s.as_secs_f64() - 1.0) * 100.0,
        single.as_secs_f64(),
        pages.len() as f64 / o.as_secs_f64() * 60.0
    );
}
