//! Embeds the web UI (`ui/dist`, built by `bash ui/build.sh`) into the binary: every file is
//! included as is and gzip-compressed, and listed in `$OUT_DIR/ui_assets.rs`. Without a built
//! UI the binary serves a page saying how to build it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dist = manifest.join("../ui/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    println!("cargo:rerun-if-changed=build.rs");
    // `sqlx::migrate!` embeds the migrations; a new file must rebuild the crate.
    println!("cargo:rerun-if-changed={}", manifest.join("../migrations").display());

    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        collect(&dist, &dist, &mut files);
    } else {
        println!("cargo:warning=ui/dist is missing: the binary serves no web UI; run `bash ui/build.sh` first");
    }
    files.sort();

    let gz_dir = out.join("ui-gz");
    let _ = fs::remove_dir_all(&gz_dir);
    fs::create_dir_all(&gz_dir).expect("create OUT_DIR/ui-gz");
    let mut table = String::from("&[\n");
    for (index, (route, path)) in files.iter().enumerate() {
        let bytes = fs::read(path).expect("read a ui/dist file");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&bytes).expect("gzip in memory");
        let gz = encoder.finish().expect("gzip in memory");
        let gz_path = gz_dir.join(format!("{index}.gz"));
        fs::write(&gz_path, &gz).expect("write OUT_DIR/ui-gz");
        // Only worth sending compressed when it saves something.
        let gzip = if gz.len() + 64 < bytes.len() {
            format!("Some(include_bytes!({:?}))", gz_path.display().to_string())
        } else {
            "None".to_owned()
        };
        table.push_str(&format!(
            "    Asset {{ path: {route:?}, body: include_bytes!({:?}), gzip: {gzip} }},\n",
            path.display().to_string()
        ));
    }
    table.push(']');
    fs::write(out.join("ui_assets.rs"), table).expect("write OUT_DIR/ui_assets.rs");
}

/// Every file under `dir`, as (`/relative/path`, absolute path).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let route = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            files.push((format!("/{route}"), path));
        }
    }
}
